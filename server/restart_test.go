package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"hearth/client"
	"hearth/internal/auth"
	"hearth/internal/hubtest"
	"hearth/internal/redistest"
)

// roller is one person in the rolling-restart test, the way an application
// uses hearth/client: one goroutine reads the connection's events and,
// when the server closes it with a reconnect code, dials the other node
// and joins again with ResumeFrom; another sends a message every so often
// on whatever connection is current. Failures are kept for the test
// goroutine (t.Fatal may not be called from these goroutines).
type roller struct {
	name, token string

	mu      sync.Mutex
	c       *client.Client
	epoch   string
	last    uint64            // the highest seq received (the resume point)
	texts   []string          // messages received, in order
	closes  []int             // close codes the server ended connections with
	sent    int               // texts "<name> 0" … "<name> sent-1" were sent, acknowledged or not
	acked   map[string]uint64 // text -> seq, of the sends the server acknowledged
	failure error
	resumed chan struct{} // closed once connected again after a close
}

func (r *roller) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failure == nil {
		r.failure = fmt.Errorf("%s: "+format, append([]any{r.name}, args...)...)
	}
}

func (r *roller) client() *client.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c
}

// take records one event: every seq once, in increasing order, with no
// hole (every room event reaches every member of the room).
func (r *roller) take(ev client.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.Seq > 0 && ev.ID == "" {
		if r.last != 0 && ev.Seq != r.last+1 && r.failure == nil {
			r.failure = fmt.Errorf("%s: seq %d after %d: missed, twice or out of order (%s %q)", r.name, ev.Seq, r.last, ev.Type, ev.Text)
		}
		r.last = ev.Seq
	}
	if ev.Type == client.TypeMessage {
		r.texts = append(r.texts, ev.Text)
	}
}

// read takes events until the test ends (done), reconnecting to url with
// ResumeFrom whenever the server closes with a reconnect code.
func (r *roller) read(ctx context.Context, done *atomic.Bool, url string) {
	for {
		c := r.client()
		for ev := range c.Events() {
			r.take(ev)
		}
		if done.Load() {
			return
		}
		code := c.CloseStatus()
		r.mu.Lock()
		r.closes = append(r.closes, code)
		point := client.ResumePoint{Epoch: r.epoch, Seq: r.last}
		r.mu.Unlock()
		if !client.Reconnect(code) {
			r.fail("closed with %d, which is not a reconnect code", code)
			return
		}
		nc, err := client.Dial(ctx, url, r.token, nil)
		if err != nil {
			r.fail("reconnect: %v", err)
			return
		}
		j, err := nc.Join(ctx, "demo", r.name, &client.JoinOptions{ResumeFrom: &point})
		if err != nil {
			r.fail("resume: %v", err)
			_ = nc.Close()
			return
		}
		if j.Resume == nil || j.Resume.Gap || j.Epoch != point.Epoch {
			r.fail("resume from %s/%d answered epoch %s, %+v; want everything recovered", point.Epoch, point.Seq, j.Epoch, j.Resume)
		}
		r.mu.Lock()
		r.c = nc
		close(r.resumed)
		r.mu.Unlock()
	}
}

// send sends "<name> <i>" every interval until stop, on the current
// connection; a send whose connection ended waits for the next one (and
// is not sent again: it may or may not have been published).
func (r *roller) send(ctx context.Context, stop *atomic.Bool, interval time.Duration) {
	for i := 0; !stop.Load(); i++ {
		text := fmt.Sprint(r.name, " ", i)
		r.mu.Lock()
		r.sent = i + 1
		r.mu.Unlock()
		for {
			c := r.client()
			res, err := c.Send(ctx, "demo", text)
			var se *client.ServerError
			switch {
			case err == nil:
				r.mu.Lock()
				r.acked[text] = res.Seq
				r.mu.Unlock()
			case errors.As(err, &se) && se.Code == "rate_limited":
				time.Sleep(250 * time.Millisecond)
				continue
			case errors.As(err, &se):
				r.fail("send %q: %v", text, err)
				return
			default: // the connection ended: wait for the next one
				select {
				case <-r.resumed:
				case <-ctx.Done():
					return
				}
			}
			break
		}
		time.Sleep(interval)
	}
}

// A rolling restart, for real: two server processes over one private
// Redis, the demo room's people on both, messages flowing from both. On
// SIGTERM node 1's /readyz answers 503 before the process goes, a
// WebSocket upgrade offered to it from then on is refused (503
// shutting_down), each of its clients is closed with 1012, and it exits
// with status 0 within -shutdown-timeout. Its members reconnect to node 2
// with ResumeFrom (as a hearth/client application does; the web client
// reconnects to the same URL, which a load balancer routes to a node that
// is ready) and every member ends on node 2 with every message exactly
// once, in seq order: none lost, whichever node it was sent on.
func TestGracefulRestartMovesMembersToTheOtherNode(t *testing.T) {
	// Registered first, so it runs last: after the processes and Redis
	// are gone.
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })
	rds := redistest.Start(t)
	bin := buildServer(t)
	secret := "restart-secret-0123456789-0123456789-abc"
	const shutdownTimeout = 15 * time.Second
	env := []string{"HEARTH_JWT_SECRET=" + secret, "HEARTH_REDIS_URL=" + rds.URL(), "HEARTH_SHUTDOWN_TIMEOUT=" + shutdownTimeout.String()}
	cmd1, base1, log1 := startLogged(t, bin, env, "-dev", "-addr", "127.0.0.1:0", "-data", t.TempDir())
	_, base2, _ := startLogged(t, bin, env, "-dev", "-addr", "127.0.0.1:0", "-data", t.TempDir())
	ws1, ws2 := "ws"+strings.TrimPrefix(base1, "http")+"ws", "ws"+strings.TrimPrefix(base2, "http")+"ws"

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	tok := func(sub, role string) string {
		s, err := auth.Mint(auth.Config{Secret: []byte(secret)}, sub, role, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The facilitator and one member on node 2, two members on node 1.
	people := []*roller{
		{name: "Dr. Lee", token: tok("dev-facilitator", "facilitator")},
		{name: "Robin", token: tok("dev-member-1", "member")},
		{name: "Sam", token: tok("dev-member-2", "member")},
		{name: "Kai", token: tok("dev-member-3", "member")},
	}
	fac, onNode1 := people[0], people[1:3]
	for i, p := range people {
		p.acked, p.resumed = map[string]uint64{}, make(chan struct{})
		url := ws2
		if slices.Contains(onNode1, p) {
			url = ws1
		}
		c, err := client.Dial(ctx, url, p.token, nil)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		t.Cleanup(func() { _ = p.client().Close() })
		var j client.Joined
		if i == 0 {
			if j, err = c.Join(ctx, "demo", p.name, nil); err != nil {
				t.Fatal(err)
			}
		} else {
			j = joinAccepting(ctx, t, c, "demo", p.name)
		}
		p.c, p.epoch = c, j.Epoch
	}

	var done, stop atomic.Bool
	var readers, senders sync.WaitGroup
	for _, p := range people {
		readers.Go(func() { p.read(ctx, &done, ws2) })
	}
	for _, p := range people {
		senders.Go(func() { p.send(ctx, &stop, 250*time.Millisecond) })
	}
	received := func(p *roller) int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.texts)
	}
	for received(fac) < 12 { // the conversation is under way
		select {
		case <-ctx.Done():
			t.Fatalf("the conversation did not start: %v", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}

	// Node 1's readiness, watched from before the signal until it is gone.
	var ready200, ready503 atomic.Bool
	saw503 := make(chan struct{})
	go func() {
		for {
			resp, err := http.Get(base1 + "readyz")
			if err != nil {
				if ready503.Load() || ctx.Err() != nil {
					return // gone
				}
				time.Sleep(5 * time.Millisecond)
				continue
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				ready200.Store(true)
			case http.StatusServiceUnavailable:
				if ready200.Load() && !ready503.Swap(true) {
					close(saw503)
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for !ready200.Load() {
		time.Sleep(5 * time.Millisecond)
	}

	ackedBefore := map[*roller]int{}
	for _, p := range onNode1 {
		p.mu.Lock()
		ackedBefore[p] = len(p.acked)
		p.mu.Unlock()
	}
	exited := make(chan error, 1)
	signalled := time.Now()
	if err := cmd1.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- cmd1.Wait() }()
	select {
	case <-saw503:
	case <-time.After(shutdownTimeout):
		t.Fatalf("node 1's /readyz never answered 503 after SIGTERM:\n%s", log1)
	}
	// A new upgrade is refused from then on.
	if c, err := client.Dial(ctx, ws1, people[1].token, nil); err == nil {
		_ = c.Close()
		t.Fatal("node 1 accepted a WebSocket after SIGTERM, with /readyz at 503")
	} else if de := (*client.DialError)(nil); !errors.As(err, &de) || de.HTTPStatus != http.StatusServiceUnavailable || de.Server == nil || de.Server.Code != "shutting_down" {
		t.Fatalf("upgrade after SIGTERM: %v, want 503 shutting_down", err)
	}
	var exitedAfter time.Duration
	select {
	case err := <-exited:
		if exitedAfter = time.Since(signalled); err != nil || exitedAfter > shutdownTimeout {
			t.Fatalf("node 1 exited after %v with %v; want status 0 within %v:\n%s", exitedAfter, err, shutdownTimeout, log1)
		}
	case <-time.After(2 * shutdownTimeout):
		t.Fatalf("node 1 still running %v after SIGTERM:\n%s", 2*shutdownTimeout, log1)
	}
	for _, p := range onNode1 {
		select {
		case <-p.resumed:
		case <-ctx.Done():
			p.mu.Lock()
			t.Fatalf("%s did not reconnect to node 2 (closes %v, %v)", p.name, p.closes, p.failure)
		}
	}

	// The conversation goes on, all of it on node 2; then it ends with a
	// last word everyone must get.
	for n := received(fac) + 12; received(fac) < n && ctx.Err() == nil; {
		time.Sleep(20 * time.Millisecond)
	}
	stop.Store(true)
	senders.Wait()
	if _, err := fac.client().Send(ctx, "demo", "the end"); err != nil {
		t.Fatal(err)
	}
	for _, p := range people {
		for {
			p.mu.Lock()
			last := len(p.texts) > 0 && p.texts[len(p.texts)-1] == "the end"
			failure := p.failure
			p.mu.Unlock()
			if last || failure != nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s never got the last message", p.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	done.Store(true)
	for _, p := range people {
		_ = p.client().Close()
	}
	readers.Wait()

	for _, p := range people {
		if p.failure != nil {
			t.Error(p.failure)
		}
	}
	for _, p := range onNode1 {
		if !slices.Equal(p.closes, []int{1012}) {
			t.Errorf("%s's connections were closed with %v, want one 1012", p.name, p.closes)
		}
	}
	for _, p := range []*roller{fac, people[3]} {
		if len(p.closes) != 0 {
			t.Errorf("%s, on node 2, was disconnected: %v", p.name, p.closes)
		}
	}
	// The facilitator's stream, never interrupted, is the conversation:
	// each message once, each sender's in the order sent, every
	// acknowledged one there.
	want := fac.texts
	pos := map[string]int{}
	for i, text := range want {
		if _, twice := pos[text]; twice {
			t.Errorf("%q reached the facilitator twice", text)
		}
		pos[text] = i
	}
	for _, p := range people {
		prev := -1
		for i := range p.sent {
			text := fmt.Sprint(p.name, " ", i)
			at, delivered := pos[text]
			seq, acked := p.acked[text]
			switch {
			case acked && !delivered:
				t.Errorf("%q was acknowledged (seq %d) and never delivered", text, seq)
			case !delivered: // in flight when its connection closed, and not published
			case at < prev:
				t.Errorf("%q arrived before an earlier message of %s", text, p.name)
			default:
				prev = at
			}
		}
		if !slices.Equal(p.texts, want) {
			t.Errorf("%s received, in this order:\n%q\nwant, each once:\n%q", p.name, p.texts, want)
		}
	}
	// Not blind: node 1's members spoke before the restart, and again
	// after it, from node 2.
	for _, p := range onNode1 {
		if ackedBefore[p] == 0 || len(p.acked) <= ackedBefore[p] {
			t.Errorf("%s had %d messages acknowledged before SIGTERM and %d in all: too little traffic to tell", p.name, ackedBefore[p], len(p.acked))
		}
	}
	t.Logf("%d messages in all; node 1 exited %v after SIGTERM", len(want), exitedAfter)
}

// A client that stops reading — it never answers the close handshake —
// does not hold a node that is shutting down: with the default
// -shutdown-timeout the process still exits, with status 0, within it.
func TestShutdownWithAClientThatDoesNotRead(t *testing.T) {
	bin := buildServer(t)
	secret := "stalled-secret-0123456789-0123456789-abc"
	env := []string{"HEARTH_JWT_SECRET=" + secret, "HEARTH_LOG_LEVEL=debug"}
	cmd, base, logs := startLogged(t, bin, env, "-dev", "-addr", "127.0.0.1:0", "-data", t.TempDir())
	tok, err := auth.Mint(auth.Config{Secret: []byte(secret)}, "dev-member-1", "member", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hubtest.DialPaused(t, "ws"+strings.TrimPrefix(base, "http")+"ws", tok) // authenticates, then reads nothing
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), "msg=authenticated"); {
		if time.Now().After(deadline) {
			t.Fatalf("the node did not take the connection within 30s:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}

	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	const timeout = 15 * time.Second // -shutdown-timeout's default
	select {
	case err := <-exited:
		took := time.Since(signalled)
		if err != nil || took > timeout {
			t.Fatalf("exited after %v with %v; want status 0 within %v:\n%s", took, err, timeout, logs)
		}
		t.Logf("exited %v after SIGTERM", took)
	case <-time.After(2 * timeout):
		t.Fatalf("still running %v after SIGTERM:\n%s", 2*timeout, logs)
	}
}
