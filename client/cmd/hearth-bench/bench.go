package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
)

// Bounds of the phases of a run.
const (
	// restConcurrency is how many rooms are set up over REST at once.
	restConcurrency = 8
	// setupSlack is added to connections/-ramp to bound the setup.
	setupSlack = time.Minute
	// interruptDrain bounds the wait for in-flight deliveries after Ctrl-C.
	interruptDrain = 3 * time.Second
	// tokenSlack is added to the run's planned length for the tokens'
	// lifetime (a token must still be valid when a member reconnects).
	tokenSlack = time.Hour
	// settle is how long the run waits after closing every connection
	// before reading the servers a last time.
	settle = 2 * time.Second
	// drainQuiet ends the drain early once every member is connected and
	// no delivery has arrived for this long.
	drainQuiet = 2 * time.Second
	// maxWarnings bounds the warnings printed on stderr.
	maxWarnings = 20
)

// errLoss is returned (after the report is printed) when measured
// deliveries were lost without being reported as a gap, or duplicated, or
// members gave up.
var errLoss = errors.New("deliveries were lost or duplicated, or members gave up")

// stats are the run's counters, updated by many goroutines.
type stats struct {
	connected       atomic.Int64  // connections joined now
	down            atomic.Int64  // members between a dropped connection and the next join (or giving up)
	connectFailures atomic.Uint64 // dials or joins that failed and were retried
	reconnects      atomic.Uint64 // connections that ended with a reconnect code
	resumes         atomic.Uint64 // joins with resume_from that succeeded
	gapResumes      atomic.Uint64 // of those, reporting a gap (or a new epoch)
	replayedEvents  atomic.Uint64 // room events replayed by resumes
	sessionsEnded   atomic.Uint64 // session_ended events seen (the session ended under the run)
	skipped         atomic.Uint64 // measured sends not made: the chosen senders were all disconnected or busy
	sent            atomic.Uint64 // measured send attempts made
	expected        atomic.Uint64 // measured deliveries expected so far (approximate: for the drain)
	received        atomic.Uint64 // measured deliveries received so far (not duplicates)
}

// counts counts occurrences by key (a close code, an error code); safe
// for concurrent use.
type counts struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (c *counts) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]uint64{}
	}
	c.m[key]++
}

func (c *counts) snapshot() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

// benchRoom is one room of the run.
type benchRoom struct {
	idx         int
	id          string // the server's room id
	facilitator *member
	members     []*member // the senders, by slot
	ledger      *roomLedger
	next        int // the next sender slot to try; the room's driver's own
}

// bench is one run.
type bench struct {
	cfg    config
	http   *http.Client
	stderr io.Writer

	stats         stats
	closeCodes    counts    // every close of a joined connection, by code
	gaveUp        counts    // members that stopped on a final error, by reason
	latency       histogram // live deliveries of measured messages
	connectTime   histogram // first dial to joined
	reconnectTime histogram // connection dropped to joined again

	stepLatency atomic.Pointer[histogram] // the current traffic step's share of latency
	stepIndex   atomic.Int64              // the current traffic step, from 0
	inflight    sync.WaitGroup            // send orders given and not yet done

	warnMu sync.Mutex
	warns  int
}

// warnf prints a warning on stderr (at most maxWarnings of them). Warnings
// name rooms by index and say what failed; never a token or a message.
func (b *bench) warnf(format string, args ...any) {
	b.warnMu.Lock()
	defer b.warnMu.Unlock()
	b.warns++
	switch {
	case b.warns < maxWarnings:
		fmt.Fprintf(b.stderr, "hearth-bench: "+format+"\n", args...)
	case b.warns == maxWarnings:
		fmt.Fprintf(b.stderr, "hearth-bench: (further warnings not shown)\n")
	}
}

// progressf prints one progress line on stderr.
func (b *bench) progressf(format string, args ...any) {
	if b.cfg.Progress > 0 {
		fmt.Fprintf(b.stderr, "hearth-bench: "+format+"\n", args...)
	}
}

// runBench runs cfg against the nodes and returns its report. ctx ending
// (Ctrl-C) stops the run early: traffic stops, deliveries in flight get a
// few seconds, every connection is closed, and the report says it was
// interrupted. An error is returned only when the run could not be set up.
func runBench(ctx context.Context, cfg config, stderr io.Writer) (*report, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: restConcurrency, IdleConnTimeout: 30 * time.Second}
	defer transport.CloseIdleConnections()
	b := &bench{cfg: cfg, http: &http.Client{Transport: transport}, stderr: stderr}
	rep := &report{Config: reportConfigOf(cfg), Started: time.Now().UTC()}

	procs := newProcWatch(cfg.PIDs, cfg.PIDFiles)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	var watchers sync.WaitGroup
	defer func() { stopWatch(); watchers.Wait() }()
	rep.snapshot("idle", procs)
	if procs.enabled() {
		watchers.Go(func() { procs.run(watchCtx) })
	}

	// Members live until the end of the run, whatever ctx does, so that an
	// interrupted run still closes them in order.
	memberCtx, stopMembers := context.WithCancel(context.WithoutCancel(ctx))
	facCtx, stopFacilitators := context.WithCancel(context.WithoutCancel(ctx))
	var members, facilitators, senders sync.WaitGroup
	stopAll := func() {
		stopMembers()
		members.Wait()
		stopFacilitators()
		facilitators.Wait()
	}

	// Setup: tokens, rooms and rosters over REST.
	planned := cfg.setupBound()
	rooms, err := b.setup(ctx, b.tokenSource())
	transport.CloseIdleConnections() // REST is done; only WebSockets from here
	if err != nil {
		return nil, err
	}
	b.progressf("set up %d rooms over REST; connecting %d facilitators and %d members at %g per second",
		len(rooms), len(rooms), len(rooms)*cfg.Members, cfg.Ramp)

	// Connections: facilitators first (they open the sessions), then members.
	limiter := rate.NewLimiter(rate.Limit(cfg.Ramp), 1)
	setupCtx, cancelSetup := context.WithTimeout(ctx, planned)
	defer cancelSetup()
	for _, rm := range rooms {
		facilitators.Go(func() { rm.facilitator.run(facCtx, limiter.Wait) })
	}
	if err := waitReady(setupCtx, rooms, true); err != nil {
		stopAll()
		return nil, fmt.Errorf("%s opening the sessions: %w", setupStopped(ctx), err)
	}
	for _, rm := range rooms {
		for _, m := range rm.members {
			members.Go(func() { m.run(memberCtx, limiter.Wait) })
			senders.Go(func() { m.sendLoop(cfg.Size) })
		}
	}
	stopSenders := func() {
		for _, rm := range rooms {
			for _, m := range rm.members {
				close(m.sendq)
			}
		}
		senders.Wait()
	}
	if err := waitReady(setupCtx, rooms, false); err != nil {
		stopSenders()
		stopAll()
		return nil, fmt.Errorf("%s connecting the members: %w", setupStopped(ctx), err)
	}
	rep.SetupSeconds = time.Since(rep.Started).Seconds()
	rep.snapshot("connected", procs)
	b.progressf("%d connections joined in %.1fs", b.stats.connected.Load(), rep.SetupSeconds)

	// Traffic: one step at -rate, or with -find-max steps of rising rate
	// until one does not hold; each a warmup, a measurement and a drain.
	var steps []*step
	stopped := ""
	for i, stepRate := 0, cfg.Rate; ; i++ {
		st := &step{index: i, rate: stepRate}
		steps = append(steps, st)
		b.runStep(ctx, rooms, st, rep, procs)
		switch {
		case ctx.Err() != nil:
			stopped = stopInterrupted
		case cfg.FindMax == 0:
		case st.why != "":
			stopped = st.why
		case stepRate >= cfg.rateCap():
			stopped = stopRateCap
		case i+1 >= maxFindMaxSteps:
			stopped = stopMaxSteps
		default:
			next := stepRate * findMaxFactor
			if next >= 1 {
				next = math.Round(next*100) / 100 // two decimals, for people
			}
			stepRate = min(next, cfg.rateCap())
			b.progressf("step %d held at %g messages per second per room (p99 %s); next: %g", i+1, st.rate, st.p99, stepRate)
			continue
		}
		break
	}
	interrupted := ctx.Err() != nil
	stopSenders()
	rep.snapshot("measure_end", procs)

	// Stop: members, then facilitators (who end their sessions).
	stopAll()
	if !interrupted {
		sleepUntil(ctx, time.Now().Add(settle))
	}
	rep.snapshot("closed", procs)
	stopWatch()
	watchers.Wait()

	b.fill(rep, rooms, procs, steps, stopped, interrupted)
	return rep, nil
}

// setupStopped says why the setup stopped: "interrupted" when ctx ended
// (Ctrl-C), else "failed".
func setupStopped(ctx context.Context) string {
	if ctx.Err() != nil {
		return "interrupted while"
	}
	return "failed while"
}

// tokenSource gives the user id and token of room's facilitator (slot
// -1) or of its member in slot.
type tokenSource func(room, slot int) (user, token string, err error)

// tokenSource returns the run's tokens: those of the -tokens file, or
// tokens minted with HEARTH_JWT_SECRET for users unique to the run, valid
// for the planned run and tokenSlack.
func (b *bench) tokenSource() tokenSource {
	cfg := b.cfg
	if cfg.TokenFile != "" {
		return func(room, slot int) (string, string, error) {
			t := cfg.Tokens.Facilitators[room]
			if slot >= 0 {
				t = cfg.Tokens.Members[room*cfg.Members+slot]
			}
			return t.Sub, t.raw, nil
		}
	}
	mint := minter{secret: cfg.Secret, issuer: cfg.Issuer, audience: cfg.Audience, ttl: cfg.plannedRun() + tokenSlack}
	run := runID()
	return func(room, slot int) (string, string, error) {
		user, role := fmt.Sprintf("bench-%s-f%d", run, room), roleFacilitator
		if slot >= 0 {
			user, role = fmt.Sprintf("bench-%s-r%d-m%d", run, room, slot), roleMember
		}
		tok, err := mint.mint(user, role)
		return user, tok, err
	}
}

// setup takes the tokens from tokens and creates the rooms and their
// rosters over REST, restConcurrency rooms at a time, each on the node its
// index picks.
func (b *bench) setup(ctx context.Context, tokens tokenSource) ([]*benchRoom, error) {
	cfg := b.cfg
	rooms := make([]*benchRoom, cfg.Rooms)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(restConcurrency)
	conn := 0 // global connection index, for spreading across nodes
	for i := range rooms {
		rm := &benchRoom{idx: i, ledger: &roomLedger{senders: make([][]sendRecord, cfg.Members)}}
		rooms[i] = rm
		newMember := func(slot int, name string) (*member, string, error) {
			user, tok, err := tokens(i, slot)
			if err != nil {
				return nil, "", err
			}
			m := &member{b: b, room: rm, slot: slot, token: tok, name: name,
				home: conn % len(cfg.URLs), recv: newReceiver(cfg.Members), ready: make(chan struct{})}
			conn++
			if slot >= 0 {
				m.records, m.sendq = &rm.ledger.senders[slot], make(chan sendOrder, 1)
			}
			rm.ledger.receivers = append(rm.ledger.receivers, m.recv)
			return m, user, nil
		}
		var err error
		if rm.facilitator, _, err = newMember(-1, "Lead"); err != nil {
			return nil, err
		}
		users := make([]string, cfg.Members)
		for s := range users {
			var m *member
			if m, users[s], err = newMember(s, fmt.Sprintf("Member %d", s+1)); err != nil {
				return nil, err
			}
			rm.members = append(rm.members, m)
		}
		base, err := restBase(cfg.URLs[i%len(cfg.URLs)])
		if err != nil {
			return nil, err
		}
		api := rest{http: b.http, base: base}
		g.Go(func() error {
			id, err := api.createRoom(gctx, rm.facilitator.token, fmt.Sprintf("Bench room %d", i+1), cfg.Members, users)
			if err != nil {
				return fmt.Errorf("room %d: %w", i, err)
			}
			rm.id = id
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("setting up the rooms over REST: %w", err)
	}
	return rooms, nil
}

// waitReady waits until every facilitator (or every member) has joined
// once or given up. A facilitator that gave up fails the run; members that
// gave up are counted and the run goes on without them.
func waitReady(ctx context.Context, rooms []*benchRoom, facilitators bool) error {
	for _, rm := range rooms {
		ms := rm.members
		if facilitators {
			ms = []*member{rm.facilitator}
		}
		for _, m := range ms {
			select {
			case <-m.ready:
				if facilitators && m.err != nil {
					return fmt.Errorf("the facilitator of room %d: %w", rm.idx, m.err)
				}
			case <-ctx.Done():
				return fmt.Errorf("not every connection joined in time: %w", context.Cause(ctx))
			}
		}
	}
	return nil
}

// drive asks the room's senders, in turn, to send rate messages per
// second, for traffic step step, until ctx ends: warmup messages until
// warmupEnd, measured ones after. A sender that is disconnected or still
// waiting for its last answer is passed over for the next.
func (b *bench) drive(ctx context.Context, rm *benchRoom, rate float64, step int, warmupEnd time.Time) {
	if rate == 0 {
		<-ctx.Done()
		return
	}
	interval := time.Duration(float64(time.Second) / rate)
	if !sleep(ctx, rand.N(interval)) { // rooms out of step with each other
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		phase := byte(phaseMeasure)
		if time.Now().Before(warmupEnd) {
			phase = phaseWarmup
		}
		sent := false
		for k := range len(rm.members) {
			m := rm.members[(rm.next+k)%len(rm.members)]
			if m.conn.Load() == nil {
				continue
			}
			b.inflight.Add(1)
			select {
			case m.sendq <- sendOrder{phase: phase, step: step}:
				rm.next, sent = (rm.next+k+1)%len(rm.members), true
			default:
				b.inflight.Done()
			}
			if sent {
				break
			}
		}
		if !sent && phase == phaseMeasure {
			b.stats.skipped.Add(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// progress prints a line every -progress until ctx ends.
func (b *bench) progress(ctx context.Context, warmupEnd, end time.Time) {
	label := ""
	if b.cfg.FindMax > 0 {
		label = fmt.Sprintf("step %d, ", b.stepIndex.Load()+1)
	}
	if b.cfg.Progress <= 0 {
		return
	}
	t := time.NewTicker(b.cfg.Progress)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			phase := "measuring"
			if now.Before(warmupEnd) {
				phase = "warming up"
			}
			b.progressf("%s%s, %s left: %d connected, %d reconnects (%d resumed, %d with a gap), deliveries %d of ~%d",
				label, phase, end.Sub(now).Round(time.Second), b.stats.connected.Load(), b.stats.reconnects.Load(),
				b.stats.resumes.Load(), b.stats.gapResumes.Load(), b.stats.received.Load(), b.stats.expected.Load())
		}
	}
}

// waitDrained waits, for at most d, until every expected measured
// delivery arrived, or until nothing more can come: no member is between
// connections and no delivery arrived for drainQuiet (what a resume
// reported as a gap never arrives).
func (b *bench) waitDrained(d time.Duration) {
	deadline := time.Now().Add(d)
	last, quietSince := b.stats.received.Load(), time.Now()
	for time.Now().Before(deadline) {
		got := b.stats.received.Load()
		if got >= b.stats.expected.Load() {
			return
		}
		if got != last || b.stats.down.Load() > 0 {
			last, quietSince = got, time.Now()
		} else if time.Since(quietSince) >= drainQuiet {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sleepUntil waits until t; it reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	return sleep(ctx, time.Until(t))
}

// goroutines returns the number of goroutines of this process.
func goroutines() int { return runtime.NumGoroutine() }
