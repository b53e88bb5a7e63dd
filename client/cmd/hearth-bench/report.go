package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report is the result of a run, printed as a table or as JSON (-json,
// -out). Durations are in milliseconds or seconds, sizes in bytes, as each
// field's JSON name says.
type report struct {
	Config          reportConfig `json:"config"`
	Started         time.Time    `json:"started"`
	Interrupted     bool         `json:"interrupted"` // Ctrl-C stopped the run early
	SetupSeconds    float64      `json:"setup_seconds"`
	MeasuredSeconds float64      `json:"measured_seconds"`
	DrainSeconds    float64      `json:"drain_seconds"`

	Connections struct {
		Planned         int               `json:"planned"`
		Joined          int               `json:"joined"`  // joined at least once
		GaveUp          uint64            `json:"gave_up"` // stopped on a final error
		GaveUpReasons   map[string]uint64 `json:"gave_up_reasons"`
		ConnectFailures uint64            `json:"connect_failures"` // dials or joins retried
		ConnectP50MS    float64           `json:"connect_p50_ms"`   // first dial to first joined, retries included
		ConnectP99MS    float64           `json:"connect_p99_ms"`
	} `json:"connections"`

	Messages struct {
		Sent            uint64            `json:"sent"`             // measured send attempts
		Confirmed       uint64            `json:"confirmed"`        // answered ok
		Refused         map[string]uint64 `json:"refused"`          // answered error, by code
		Unconfirmed     uint64            `json:"unconfirmed"`      // no answer
		UnconfirmedSeen uint64            `json:"unconfirmed_seen"` // no answer, but delivered: they went out
		Skipped         uint64            `json:"skipped"`          // a tick with no connected, idle sender
	} `json:"messages"`

	Deliveries struct {
		Expected   uint64  `json:"expected"`
		Received   uint64  `json:"received"`
		Lost       uint64  `json:"lost"`                   // missing, and never reported
		Gap        uint64  `json:"reported_as_gap"`        // missing, in a window a resume reported as a gap
		GaveUp     uint64  `json:"to_members_who_gave_up"` // missing, sent after the member stopped on a final error
		Duplicated uint64  `json:"duplicated"`
		Recovered  uint64  `json:"recovered"` // received from a resume's replay
		PerSecond  float64 `json:"per_second"`
	} `json:"deliveries"`

	Latency struct {
		Samples uint64  `json:"samples"` // live deliveries of measured messages
		P50MS   float64 `json:"p50_ms"`
		P90MS   float64 `json:"p90_ms"`
		P99MS   float64 `json:"p99_ms"`
		P999MS  float64 `json:"p999_ms"`
		MaxMS   float64 `json:"max_ms"`
	} `json:"latency"`

	Reconnects struct {
		Count          uint64            `json:"count"`       // connections ended with a reconnect code
		CloseCodes     map[string]uint64 `json:"close_codes"` // every close seen, by code
		Resumes        uint64            `json:"resumes"`
		GapResumes     uint64            `json:"gap_resumes"`
		ReplayedEvents uint64            `json:"replayed_events"`
		DownP50MS      float64           `json:"down_p50_ms"` // dropped to joined again
		DownP99MS      float64           `json:"down_p99_ms"`
		DownMaxMS      float64           `json:"down_max_ms"`
	} `json:"reconnects"`

	Anomalies struct {
		SessionsEnded uint64 `json:"sessions_ended"` // session_ended seen during the run
		Foreign       uint64 `json:"foreign"`        // messages not from this run
	} `json:"anomalies"`

	// Memory is the servers' memory per connection; nil unless the
	// servers (-pid, -pidfile) were read before connecting and at the
	// end of the measurement.
	Memory *memoryReport `json:"memory,omitempty"`
	// FindMax is the steps of -find-max; nil without it.
	FindMax *findMaxReport `json:"find_max,omitempty"`

	Servers   []procStats `json:"servers"`
	Snapshots []snapshot  `json:"snapshots"`
}

// memoryReport is the servers' resident memory, summed over the server
// processes, before connecting and at the end of the measurement (every
// connection still open), and the growth per connection joined: what
// docs/performance.md calls RSS per connection.
type memoryReport struct {
	ServerRSSIdleBytes uint64  `json:"server_rss_idle_bytes"`
	ServerRSSBytes     uint64  `json:"server_rss_bytes"`
	PerConnectionBytes float64 `json:"server_rss_per_connection_bytes"` // may be negative when the servers gave memory back
}

// findMaxReport is what -find-max found: each step, and the last rate that
// held. Rates are messages per second per room.
type findMaxReport struct {
	P99BoundMS float64 `json:"p99_bound_ms"`
	// HeldRate is the rate of the last step of the unbroken run of steps
	// that held from the first; 0 when the first did not hold.
	HeldRate                float64 `json:"held_rate_per_room"`
	HeldDeliveriesPerSecond float64 `json:"held_deliveries_per_second"`
	HeldP99MS               float64 `json:"held_p99_ms"`
	// Stopped says why the stepping stopped: a step's reason for not
	// holding (p99_over_bound, loss, duplicates, reconnects, gave_up,
	// skipped_ticks, no_deliveries), rate_cap (the last step held at the
	// highest rate -members allows), max_steps or interrupted.
	Stopped string       `json:"stopped"`
	Steps   []stepReport `json:"steps"`
}

// stepReport is one -find-max step, accounted exactly from its messages.
type stepReport struct {
	Rate                float64 `json:"rate_per_room"`
	MeasuredSeconds     float64 `json:"measured_seconds"`
	Sent                uint64  `json:"sent"`    // measured send attempts
	Skipped             uint64  `json:"skipped"` // ticks with every sender busy or down
	Expected            uint64  `json:"expected"`
	Received            uint64  `json:"received"`
	Missing             uint64  `json:"missing"` // lost, reported as a gap, or to members who gave up
	Duplicated          uint64  `json:"duplicated"`
	Reconnects          uint64  `json:"reconnects"`
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
	P50MS               float64 `json:"p50_ms"`
	P99MS               float64 `json:"p99_ms"`
	MaxMS               float64 `json:"max_ms"`
	// ServerCPUSeconds is the servers' CPU time during the measurement,
	// and ServerCPUPerDeliveryUS the same per delivery received, in
	// microseconds; 0 when the servers were not read.
	ServerCPUSeconds       float64 `json:"server_cpu_seconds"`
	ServerCPUPerDeliveryUS float64 `json:"server_cpu_us_per_delivery"`
	// BenchCPUSeconds is hearth-bench's own CPU time during the
	// measurement (from /proc/self; 0 when it could not be read): near the
	// measured seconds, the generator's core was full and it, not the
	// server, may have limited the step.
	BenchCPUSeconds float64 `json:"bench_cpu_seconds"`
	Held            bool    `json:"held"`
	NotHeldBecause  string  `json:"not_held_because,omitempty"`
}

// reportConfig is the run's settings as the report shows them (no secret).
type reportConfig struct {
	Mode            string   `json:"mode"` // chat, idle or find_max
	URLs            []string `json:"urls"`
	Rooms           int      `json:"rooms"`
	Members         int      `json:"members_per_room"`
	Connections     int      `json:"connections"`
	Rate            float64  `json:"rate_per_room"`
	Size            int      `json:"size_bytes"`
	DurationSeconds float64  `json:"duration_seconds"`
	WarmupSeconds   float64  `json:"warmup_seconds"`
	Ramp            float64  `json:"ramp_per_second"`
	FindMaxP99MS    float64  `json:"find_max_p99_ms,omitempty"`
	// Tokens says where the tokens came from: "minted" (HS256, with
	// HEARTH_JWT_SECRET) or "file" (-tokens; perhaps RS256 or ES256, whose
	// verification costs the servers more).
	Tokens string `json:"tokens"`
}

func reportConfigOf(c config) reportConfig {
	return reportConfig{Mode: c.mode(), URLs: c.URLs, Rooms: c.Rooms, Members: c.Members, Connections: c.connections(), Rate: c.Rate,
		Size: c.Size, DurationSeconds: c.Duration.Seconds(), WarmupSeconds: c.Warmup.Seconds(), Ramp: c.Ramp, FindMaxP99MS: ms(c.FindMax),
		Tokens: c.tokenOrigin()}
}

// tokenOrigin is the report's name for where c's tokens come from.
func (c config) tokenOrigin() string {
	if c.TokenFile != "" {
		return "file"
	}
	return "minted"
}

// snapshot is the state of this process and the servers at one moment:
// idle (before connecting), connected (every connection joined),
// measure_start, measure_end (after the drain, connections still open)
// and closed (every connection closed, after a short settle).
type snapshot struct {
	Name            string    `json:"name"`
	At              time.Time `json:"at"`
	BenchGoroutines int       `json:"bench_goroutines"`
	BenchRSSBytes   uint64    `json:"bench_rss_bytes"`
	BenchCPUSeconds float64   `json:"bench_cpu_seconds"` // since hearth-bench started
	ServerProcesses int       `json:"server_processes"`  // server processes read
	ServerRSSBytes  uint64    `json:"server_rss_bytes"`  // their RSS, summed
	ServerThreads   int       `json:"server_threads"`    // their OS threads, summed
	// ServerCPUSeconds is their CPU time since each started, summed.
	ServerCPUSeconds float64 `json:"server_cpu_seconds"`
}

// snapshot records the state now under name.
func (r *report) snapshot(name string, procs *procWatch) {
	s := snapshot{Name: name, At: time.Now().UTC(), BenchGoroutines: goroutines()}
	if self, err := readProc("/proc", os.Getpid()); err == nil {
		s.BenchRSSBytes, s.BenchCPUSeconds = self.RSS, self.CPU.Seconds()
	}
	if procs.enabled() {
		var cpu time.Duration
		s.ServerRSSBytes, s.ServerThreads, s.ServerProcesses, cpu = procs.snapshot()
		s.ServerCPUSeconds = cpu.Seconds()
	}
	r.Snapshots = append(r.Snapshots, s)
}

// fill completes the report from the run's ledgers and counters, its
// traffic steps and, with -find-max, why the stepping stopped. Call it
// once every goroutine of the run has stopped.
func (b *bench) fill(r *report, rooms []*benchRoom, procs *procWatch, steps []*step, stopped string, interrupted bool) {
	r.Interrupted = interrupted
	var measured time.Duration
	for _, st := range steps {
		measured += st.measured
	}
	r.MeasuredSeconds = measured.Seconds()
	ledgers := make([]*roomLedger, len(rooms))
	for i, rm := range rooms {
		ledgers[i] = rm.ledger
		for _, rc := range rm.ledger.receivers {
			if rc.joined {
				r.Connections.Joined++
			}
			r.Anomalies.Foreign += rc.foreign
		}
	}
	t := account(ledgers, -1)
	s := &b.stats
	r.Connections.Planned = b.cfg.connections()
	r.Connections.GaveUpReasons = b.gaveUp.snapshot()
	r.Connections.GaveUp = sum(r.Connections.GaveUpReasons)
	r.Connections.ConnectFailures = s.connectFailures.Load()
	r.Connections.ConnectP50MS = ms(b.connectTime.quantile(0.50))
	r.Connections.ConnectP99MS = ms(b.connectTime.quantile(0.99))

	r.Messages.Sent, r.Messages.Confirmed, r.Messages.Refused = t.Sent, t.Confirmed, t.Refused
	r.Messages.Unconfirmed, r.Messages.UnconfirmedSeen = t.Unconfirmed, t.UnconfirmedSeen
	r.Messages.Skipped = s.skipped.Load()

	d := &r.Deliveries
	d.Expected, d.Received, d.Lost, d.Gap, d.GaveUp = t.Expected, t.Received, t.Lost, t.Gap, t.GaveUp
	d.Duplicated, d.Recovered = t.Duplicated, t.Recovered
	if measured > 0 {
		d.PerSecond = float64(t.Received) / measured.Seconds()
	}

	l := &r.Latency
	l.Samples = b.latency.count()
	l.P50MS, l.P90MS, l.P99MS = ms(b.latency.quantile(0.50)), ms(b.latency.quantile(0.90)), ms(b.latency.quantile(0.99))
	l.P999MS, l.MaxMS = ms(b.latency.quantile(0.999)), ms(b.latency.maxValue())

	rc := &r.Reconnects
	rc.Count, rc.CloseCodes = s.reconnects.Load(), b.closeCodes.snapshot()
	rc.Resumes, rc.GapResumes, rc.ReplayedEvents = s.resumes.Load(), s.gapResumes.Load(), s.replayedEvents.Load()
	rc.DownP50MS, rc.DownP99MS, rc.DownMaxMS = ms(b.reconnectTime.quantile(0.5)), ms(b.reconnectTime.quantile(0.99)), ms(b.reconnectTime.maxValue())

	r.Anomalies.SessionsEnded = s.sessionsEnded.Load()
	r.Servers = procs.stats()
	r.Memory = memoryOf(r.Snapshots, r.Connections.Joined)
	if b.cfg.FindMax > 0 {
		r.FindMax = b.findMaxReport(ledgers, steps, stopped)
	}
}

// memoryOf is the servers' memory per connection, from the snapshots
// "idle" and "measure_end"; nil unless the same number of server
// processes was read at both.
func memoryOf(snaps []snapshot, joined int) *memoryReport {
	var idle, end *snapshot
	for i := range snaps {
		switch snaps[i].Name {
		case "idle":
			idle = &snaps[i]
		case "measure_end":
			end = &snaps[i]
		}
	}
	if idle == nil || end == nil || idle.ServerProcesses == 0 || idle.ServerProcesses != end.ServerProcesses || joined == 0 {
		return nil
	}
	return &memoryReport{ServerRSSIdleBytes: idle.ServerRSSBytes, ServerRSSBytes: end.ServerRSSBytes,
		PerConnectionBytes: (float64(end.ServerRSSBytes) - float64(idle.ServerRSSBytes)) / float64(joined)}
}

// findMaxReport accounts each step exactly and finds the last rate that
// held.
func (b *bench) findMaxReport(ledgers []*roomLedger, steps []*step, stopped string) *findMaxReport {
	fm := &findMaxReport{P99BoundMS: ms(b.cfg.FindMax), Stopped: stopped}
	unbroken := true
	for _, st := range steps {
		t := account(ledgers, st.index)
		sr := stepReport{Rate: st.rate, MeasuredSeconds: st.measured.Seconds(), Sent: t.Sent, Skipped: st.skipped,
			Expected: t.Expected, Received: t.Received, Missing: t.Lost + t.Gap + t.GaveUp, Duplicated: t.Duplicated,
			Reconnects: st.reconnects, P50MS: ms(st.latency.quantile(0.5)), P99MS: ms(st.p99), MaxMS: ms(st.latency.maxValue()),
			ServerCPUSeconds: st.serverCPU.Seconds(), BenchCPUSeconds: st.benchCPU.Seconds()}
		if st.measured > 0 {
			sr.DeliveriesPerSecond = float64(t.Received) / st.measured.Seconds()
		}
		if t.Received > 0 {
			sr.ServerCPUPerDeliveryUS = float64(st.serverCPU.Microseconds()) / float64(t.Received)
		}
		sr.NotHeldBecause = judgeStep(b.cfg.FindMax, st.p99, st.latency.count(), sr.Missing, sr.Duplicated, st.reconnects, st.gaveUp, t.Sent, st.skipped)
		if st.measured == 0 && sr.NotHeldBecause == "" {
			sr.NotHeldBecause = notHeldNothing
		}
		sr.Held = sr.NotHeldBecause == ""
		unbroken = unbroken && sr.Held
		if unbroken {
			fm.HeldRate, fm.HeldDeliveriesPerSecond, fm.HeldP99MS = sr.Rate, sr.DeliveriesPerSecond, sr.P99MS
		}
		fm.Steps = append(fm.Steps, sr)
	}
	return fm
}

// ms converts d to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// failed reports whether the run saw deliveries lost without a gap report,
// deliveries duplicated, or members who gave up (a final close code or
// refusal: a person would have been put out of the room). With -find-max,
// where the last step is expected to fail, it reports whether members gave
// up or no step held. An interrupted run is not judged.
func (r *report) failed() bool {
	switch {
	case r.Interrupted:
		return false
	case r.FindMax != nil:
		return r.Connections.GaveUp > 0 || r.FindMax.HeldRate == 0
	}
	return r.Deliveries.Lost > 0 || r.Deliveries.Duplicated > 0 || r.Connections.GaveUp > 0
}

// writeJSON writes the report as indented JSON.
func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write the JSON report: %w", err)
	}
	return nil
}

// writeTable writes the report as a table for people.
func (r *report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	c := r.Config
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	title := "hearth-bench report"
	if r.Interrupted {
		title += " (INTERRUPTED: the numbers cover the run until Ctrl-C; losses are not judged)"
	}
	fmt.Fprintln(tw, title)
	row("run", "%s, %s, %d node(s); %d rooms × (%d members + 1 facilitator); %g msg/s per room, %d B; %s measured after %s warmup",
		r.Started.Format(time.RFC3339), c.Mode, len(c.URLs), c.Rooms, c.Members, c.Rate, c.Size,
		time.Duration(r.MeasuredSeconds*float64(time.Second)).Round(time.Millisecond), time.Duration(c.WarmupSeconds*float64(time.Second)))
	cn := r.Connections
	row("connections", "%d of %d joined (%d gave up%s, %d attempts retried); connect p50 %s p99 %s; setup %.1fs",
		cn.Joined, cn.Planned, cn.GaveUp, byCode(cn.GaveUpReasons), cn.ConnectFailures, fmtMS(cn.ConnectP50MS), fmtMS(cn.ConnectP99MS), r.SetupSeconds)
	m := r.Messages
	row("messages sent", "%d (%d confirmed, %d refused%s, %d unanswered of which %d delivered); %d ticks skipped",
		m.Sent, m.Confirmed, sum(m.Refused), byCode(m.Refused), m.Unconfirmed, m.UnconfirmedSeen, m.Skipped)
	d := r.Deliveries
	row("deliveries", "expected %d, received %d, lost %d, reported as gap %d, to members who gave up %d, duplicated %d (recovered by resume %d)",
		d.Expected, d.Received, d.Lost, d.Gap, d.GaveUp, d.Duplicated, d.Recovered)
	row("throughput", "%.1f deliveries/s", d.PerSecond)
	l := r.Latency
	row("latency (live)", "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (%d samples)",
		fmtMS(l.P50MS), fmtMS(l.P90MS), fmtMS(l.P99MS), fmtMS(l.P999MS), fmtMS(l.MaxMS), l.Samples)
	rc := r.Reconnects
	row("reconnects", "%d (close codes%s); %d resumed, %d with a gap, %d events replayed; down p50 %s p99 %s max %s",
		rc.Count, byCode(rc.CloseCodes), rc.Resumes, rc.GapResumes, rc.ReplayedEvents, fmtMS(rc.DownP50MS), fmtMS(rc.DownP99MS), fmtMS(rc.DownMaxMS))
	a := r.Anomalies
	row("anomalies", "%d session_ended, %d foreign messages", a.SessionsEnded, a.Foreign)
	if mr := r.Memory; mr != nil {
		row("server memory", "RSS %s before connecting, %s at the end of the measurement: %.1f KiB per connection",
			fmtBytes(mr.ServerRSSIdleBytes), fmtBytes(mr.ServerRSSBytes), mr.PerConnectionBytes/1024)
	}
	if fm := r.FindMax; fm != nil {
		for i, st := range fm.Steps {
			held := "held"
			if !st.Held {
				held = "not held: " + st.NotHeldBecause
			}
			row(fmt.Sprintf("step %d", i+1), "%g msg/s per room: %.1f deliveries/s, p50 %s p99 %s max %s; missing %d, duplicated %d, reconnects %d, skipped %d; server cpu %.1fs (%.1f µs per delivery), bench cpu %.1fs; %s",
				st.Rate, st.DeliveriesPerSecond, fmtMS(st.P50MS), fmtMS(st.P99MS), fmtMS(st.MaxMS), st.Missing, st.Duplicated,
				st.Reconnects, st.Skipped, st.ServerCPUSeconds, st.ServerCPUPerDeliveryUS, st.BenchCPUSeconds, held)
		}
		row("find-max", "held %g msg/s per room (%.1f deliveries/s, p99 %s ≤ %s); stopped: %s",
			fm.HeldRate, fm.HeldDeliveriesPerSecond, fmtMS(fm.HeldP99MS), fmtMS(fm.P99BoundMS), fm.Stopped)
	}
	for _, s := range r.Servers {
		state := "running"
		if !s.Running {
			state = "exited"
		}
		row("server pid "+fmt.Sprint(s.PID), "cpu %.1fs, peak RSS %s (%s, %s)", s.CPUSeconds, fmtBytes(s.PeakRSSBytes), s.Source, state)
	}
	for _, s := range r.Snapshots {
		srv := "servers not read"
		if s.ServerProcesses > 0 {
			srv = fmt.Sprintf("servers RSS %s, %d threads (%d processes)", fmtBytes(s.ServerRSSBytes), s.ServerThreads, s.ServerProcesses)
		}
		row("at "+s.Name, "bench %d goroutines, RSS %s, cpu %.1fs; %s", s.BenchGoroutines, fmtBytes(s.BenchRSSBytes), s.BenchCPUSeconds, srv)
	}
	verdict := "PASS: nothing lost without a gap report, nothing duplicated, nobody put out"
	switch {
	case r.Interrupted:
		verdict = "not judged (interrupted)"
	case r.FindMax != nil && r.failed():
		verdict = fmt.Sprintf("FAIL: no step held (%d members gave up)", cn.GaveUp)
	case r.FindMax != nil:
		verdict = fmt.Sprintf("PASS: %g msg/s per room held (the last step is expected not to)", r.FindMax.HeldRate)
	case r.failed():
		verdict = fmt.Sprintf("FAIL: %d lost without a gap report, %d duplicated, %d members gave up", d.Lost, d.Duplicated, cn.GaveUp)
	}
	row("verdict", "%s", verdict)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

// byCode formats counts by code as ": 1012 ×3, 1006 ×1", in code order;
// empty for none.
func byCode(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return ": " + strings.Join(parts, ", ")
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

// fmtMS formats milliseconds for people: "0.84ms", "12.3ms", "1.52s".
func fmtMS(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.2fms", v)
	}
}

// fmtBytes formats a size in MiB.
func fmtBytes(b uint64) string {
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
