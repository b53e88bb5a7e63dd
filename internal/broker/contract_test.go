package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"hearth/internal/hub"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// contractBroker is the broker surface the hub consumes; both
// implementations must satisfy it and pass the same suite.
type contractBroker = hub.Broker

var (
	_ contractBroker = (*Memory)(nil)
	_ contractBroker = (*Redis)(nil)
)

// sink collects delivered frames per room.
type sink struct {
	mu     sync.Mutex
	frames map[string][][]byte
	notify chan struct{}
}

func newSink() *sink { return &sink{frames: map[string][][]byte{}, notify: make(chan struct{}, 1)} }

func (s *sink) deliver(room string, frame []byte) {
	s.mu.Lock()
	s.frames[room] = append(s.frames[room], frame)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *sink) get(room string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.frames[room]...)
}

// waitFor waits (generously) until room has n frames and returns them.
func (s *sink) waitFor(t *testing.T, room string, n int) [][]byte {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if f := s.get(room); len(f) >= n {
			return f
		}
		select {
		case <-s.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("room %s: got %d frames, want %d", room, len(s.get(room)), n)
		}
	}
}

// nodes makes two brokers ("nodes") that share state the way the
// implementation shares it across processes, each with its own sink. For
// Memory there is one process, so both nodes are the same broker.
type nodesFunc func(t *testing.T) (a, b contractBroker, sa, sb *sink)

func memoryNodes(t *testing.T) (contractBroker, contractBroker, *sink, *sink) {
	s := newSink()
	m := NewMemory(s.deliver)
	return m, m, s, s
}

func redisNodes(t *testing.T) (contractBroker, contractBroker, *sink, *sink) {
	srv := redistest.Start(t)
	a, sa := redisNode(t, srv.URL(), 0)
	b, sb := redisNode(t, srv.URL(), 0)
	return a, b, sa, sb
}

func redisNode(t *testing.T, url string, refresh time.Duration) (*Redis, *sink) {
	t.Helper()
	s := newSink()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := NewRedis(ctx, RedisConfig{URL: url, Logger: slog.New(slog.DiscardHandler), PresenceRefresh: refresh}, s.deliver)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r, s
}

func TestContract(t *testing.T) {
	impls := map[string]nodesFunc{"memory": memoryNodes, "redis": redisNodes}
	for name, nodes := range impls {
		t.Run(name, func(t *testing.T) {
			t.Run("PublishAssignsSeqAndDeliversOnce", func(t *testing.T) { testPublish(t, nodes) })
			t.Run("NoDeliveryWithoutSubscription", func(t *testing.T) { testUnsubscribed(t, nodes) })
			t.Run("ConcurrentPublishersKeepSeqOrder", func(t *testing.T) { testConcurrent(t, nodes) })
			t.Run("PresenceCountsConnectionsNotTabs", func(t *testing.T) { testPresence(t, nodes) })
			t.Run("UpdateReadsSetsDeletes", func(t *testing.T) { testUpdateBasics(t, nodes) })
			t.Run("UpdateErrorAborts", func(t *testing.T) { testUpdateError(t, nodes) })
			t.Run("ConcurrentUpdatesAreAtomic", func(t *testing.T) { testUpdateConcurrent(t, nodes) })
			t.Run("UpdatePublishesOnlyWhatItSaw", func(t *testing.T) { testUpdateGuarded(t, nodes) })
			t.Run("UpdateValueExpires", func(t *testing.T) { testUpdateTTL(t, nodes) })
			if name == "redis" { // Memory ignores ctx: it never fails
				t.Run("UpdateWithCancelledContext", func(t *testing.T) { testUpdateCancelled(t, nodes) })
			}
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func ev(text string) []byte {
	return protocol.Marshal(protocol.MessageEvent{Type: protocol.TypeMessage, Room: "r1", MessageID: text, Text: text, TS: "t"})
}

func testPublish(t *testing.T, nodes nodesFunc) {
	a, b, _, sb := nodes(t)
	ctx := ctxT(t)
	if err := b.Subscribe(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		seq, err := a.Publish(ctx, "r1", ev(fmt.Sprint("m", i)))
		if err != nil {
			t.Fatal(err)
		}
		if seq != uint64(i) {
			t.Fatalf("publish %d got seq %d", i, seq)
		}
	}
	got := sb.waitFor(t, "r1", 3)
	for i, f := range got {
		want := protocol.WithSeq(ev(fmt.Sprint("m", i+1)), uint64(i+1))
		if string(f) != string(want) {
			t.Errorf("frame %d:\n got %s\nwant %s", i, f, want)
		}
	}
	time.Sleep(100 * time.Millisecond) // nothing more may arrive
	if n := len(sb.get("r1")); n != 3 {
		t.Fatalf("delivered %d frames, want exactly 3", n)
	}
}

func testUnsubscribed(t *testing.T, nodes nodesFunc) {
	a, b, _, sb := nodes(t)
	ctx := ctxT(t)
	if _, err := a.Publish(ctx, "r2", ev("before")); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish(ctx, "r2", ev("during")); err != nil {
		t.Fatal(err)
	}
	sb.waitFor(t, "r2", 1)
	if err := b.Unsubscribe(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	seq, err := a.Publish(ctx, "r2", ev("after"))
	if err != nil {
		t.Fatal(err)
	}
	if seq != 3 {
		t.Fatalf("seq %d, want 3 (the counter counts unsubscribed publishes too)", seq)
	}
	time.Sleep(100 * time.Millisecond)
	got := sb.get("r2")
	if len(got) != 1 {
		t.Fatalf("got %d frames, want only the one published while subscribed: %q", len(got), got)
	}
	if s, _ := protocol.SeqOf(got[0]); s != 2 {
		t.Fatalf("delivered seq %d, want 2", s)
	}
}

func testConcurrent(t *testing.T, nodes nodesFunc) {
	a, b, sa, sb := nodes(t)
	ctx := ctxT(t)
	for _, n := range []contractBroker{a, b} {
		if err := n.Subscribe(ctx, "r3"); err != nil {
			t.Fatal(err)
		}
		if a == b {
			break
		}
	}
	const per = 50
	var wg sync.WaitGroup
	for w := range 4 {
		pub := a
		if w%2 == 1 {
			pub = b
		}
		wg.Go(func() {
			for i := range per {
				if _, err := pub.Publish(ctx, "r3", ev(fmt.Sprint(w, "-", i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, s := range []*sink{sa, sb} {
		got := s.waitFor(t, "r3", 4*per)
		for i, f := range got {
			if seq, ok := protocol.SeqOf(f); !ok || seq != uint64(i+1) {
				t.Fatalf("frame %d has seq %d (ok=%v): delivery out of order or duplicated", i, seq, ok)
			}
		}
	}
}

func testPresence(t *testing.T, nodes nodesFunc) {
	a, b, _, sb := nodes(t)
	ctx := ctxT(t)
	if err := b.Subscribe(ctx, "r4"); err != nil {
		t.Fatal(err)
	}
	robin := protocol.Member{MemberID: "m1", DisplayName: "Robin", Role: protocol.RoleMember}
	joined := protocol.Marshal(protocol.MemberJoinedEvent{Type: protocol.TypeMemberJoined, Room: "r4", Member: robin})
	left := protocol.Marshal(protocol.MemberLeftEvent{Type: protocol.TypeMemberLeft, Room: "r4", MemberID: "m1"})

	got, seq, err := a.Enter(ctx, "r4", "c1", robin, joined)
	if err != nil || seq != 1 || got != robin {
		t.Fatalf("first Enter = %v, %d, %v; want Robin, seq 1", got, seq, err)
	}
	// A second tab, on the other node, with another name: one member, first name kept.
	other := robin
	other.DisplayName = "Robin2"
	got, seq, err = b.Enter(ctx, "r4", "c2", other, joined)
	if err != nil || seq != 0 || got.DisplayName != "Robin" {
		t.Fatalf("second Enter = %v, %d, %v; want existing Robin, seq 0", got, seq, err)
	}
	lee := protocol.Member{MemberID: "m2", DisplayName: "Dr. Lee", Role: protocol.RoleFacilitator}
	if _, _, err := b.Enter(ctx, "r4", "c3", lee, protocol.Marshal(protocol.MemberJoinedEvent{Type: protocol.TypeMemberJoined, Room: "r4", Member: lee})); err != nil {
		t.Fatal(err)
	}
	ms, err := a.Members(ctx, "r4")
	if err != nil || len(ms) != 2 || ms[0] != robin || ms[1] != lee {
		t.Fatalf("Members = %v, %v; want [Robin, Dr. Lee]", ms, err)
	}
	if seq, err := b.Exit(ctx, "r4", "c1", "m1", left); err != nil || seq != 0 {
		t.Fatalf("Exit of one tab = %d, %v; want 0 (still present)", seq, err)
	}
	if seq, err := a.Exit(ctx, "r4", "c2", "m1", left); err != nil || seq != 3 {
		t.Fatalf("Exit of last tab = %d, %v; want seq 3", seq, err)
	}
	if seq, err := a.Exit(ctx, "r4", "c2", "m1", left); err != nil || seq != 0 {
		t.Fatalf("repeated Exit = %d, %v; want 0 and no event", seq, err)
	}
	ms, _ = b.Members(ctx, "r4")
	if len(ms) != 1 || ms[0] != lee {
		t.Fatalf("Members after exit = %v, want [Dr. Lee]", ms)
	}
	frames := sb.waitFor(t, "r4", 3)
	time.Sleep(100 * time.Millisecond)
	frames = sb.get("r4")
	want := []string{string(protocol.WithSeq(joined, 1)), "", string(protocol.WithSeq(left, 3))}
	if len(frames) != 3 || string(frames[0]) != want[0] || string(frames[2]) != want[2] {
		t.Fatalf("presence events = %q", frames)
	}
}

// timerBroker is the timer surface both brokers offer.
type timerBroker interface {
	Schedule(ctx context.Context, due time.Time, id string, payload []byte) error
	SetTimerHandler(fn func(payload []byte))
}

// A timer fires once, at or after its due time, on exactly one node, even
// when every node is claiming; a timer replaced before it fires fires once
// with the new payload.
func TestTimersFireOnceAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	r1, _ := redisNode(t, srv.URL(), 0)
	r2, _ := redisNode(t, srv.URL(), 0)
	impls := map[string][]timerBroker{"memory": {NewMemory(func(string, []byte) {})}, "redis": {r1, r2}}
	for name, nodes := range impls {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			fired := map[string]int{}
			for _, n := range nodes {
				n.SetTimerHandler(func(p []byte) { mu.Lock(); fired[string(p)]++; mu.Unlock() })
			}
			ctx := ctxT(t)
			due := time.Now().Add(300 * time.Millisecond)
			for i := range 20 {
				if err := nodes[i%len(nodes)].Schedule(ctx, due, fmt.Sprint("t", i), []byte(fmt.Sprint("p", i))); err != nil {
					t.Fatal(err)
				}
			}
			_ = nodes[0].Schedule(ctx, due, "t0", []byte("p0-replaced"))
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				n := len(fired)
				mu.Unlock()
				if n >= 20 || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(time.Second) // a second claim round must find nothing more
			mu.Lock()
			defer mu.Unlock()
			if fired["p0"] != 0 || fired["p0-replaced"] != 1 {
				t.Fatalf("replaced timer: %v", fired)
			}
			for i := 1; i < 20; i++ {
				if c := fired[fmt.Sprint("p", i)]; c != 1 {
					t.Fatalf("timer %d fired %d times, want once: %v", i, c, fired)
				}
			}
			if time.Now().Before(due) {
				t.Fatal("timers fired before they were due")
			}
		})
	}
}

// PublishLimited holds a key's window across nodes and publishes nothing
// inside it; PublishControl is delivered without a seq and takes none.
func TestLimitedAndControlPublishing(t *testing.T) {
	impls := map[string]nodesFunc{"memory": memoryNodes, "redis": redisNodes}
	for name, nodes := range impls {
		t.Run(name, func(t *testing.T) {
			a, b, _, sb := nodes(t)
			ctx := ctxT(t)
			if err := b.Subscribe(ctx, "r9"); err != nil {
				t.Fatal(err)
			}
			seq, wait, err := a.PublishLimited(ctx, "r9", ev("one"), "slow:m1", time.Minute)
			if err != nil || seq != 1 || wait != 0 {
				t.Fatalf("first = %d, %v, %v", seq, wait, err)
			}
			seq, wait, err = b.PublishLimited(ctx, "r9", ev("two"), "slow:m1", time.Minute)
			if err != nil || seq != 0 || wait <= 0 || wait > time.Minute {
				t.Fatalf("second within the window = %d, %v, %v; want refused with time left", seq, wait, err)
			}
			if err := a.PublishControl(ctx, "r9", []byte(`{"ctl":"reload"}`)); err != nil {
				t.Fatal(err)
			}
			seq, err = a.Publish(ctx, "r9", ev("three"))
			if err != nil || seq != 2 {
				t.Fatalf("publish after a refused one and a control = %d, %v; want seq 2", seq, err)
			}
			got := sb.waitFor(t, "r9", 3)
			if string(got[1]) != `{"ctl":"reload"}` {
				t.Fatalf("frames = %q", got)
			}
		})
	}
}

// updateFn is the fn of Broker.Update.
type updateFn = func(old []byte) (val, event []byte, err error)

// set returns an fn that stores val and publishes event (nil: none).
func set(val string, event []byte) updateFn {
	return func([]byte) ([]byte, []byte, error) { return []byte(val), event, nil }
}

// read reads room's value under key through Update with an fn that changes
// nothing; nothing may be published.
func read(t *testing.T, n contractBroker, room, key string) []byte {
	t.Helper()
	cur, seq, err := n.Update(ctxT(t), room, key, 0, func(old []byte) ([]byte, []byte, error) { return old, nil, nil })
	if err != nil || seq != 0 {
		t.Fatalf("read of %s/%s = %q, %d, %v; want no seq, no error", room, key, cur, seq, err)
	}
	return cur
}

// stateEv is a room event carrying a value as Update's callers publish it.
func stateEv(v []byte) []byte {
	return protocol.Marshal(struct {
		Type string `json:"type"`
		V    string `json:"v"`
	}{"state", string(v)})
}

// An absent key reads as nil; a set value reads back on every node; an
// unchanged value with no event writes and publishes nothing (no seq is
// used); nil or empty deletes.
func testUpdateBasics(t *testing.T, nodes nodesFunc) {
	a, b, _, sb := nodes(t)
	ctx := ctxT(t)
	if err := b.Subscribe(ctx, "r5"); err != nil {
		t.Fatal(err)
	}
	saw := []byte("not called")
	cur, seq, err := a.Update(ctx, "r5", "k", 0, func(old []byte) ([]byte, []byte, error) { saw = old; return old, nil, nil })
	if err != nil || seq != 0 || cur != nil || saw != nil {
		t.Fatalf("read of an absent key = %q, %d, %v (fn saw %q); want nil, 0, nil", cur, seq, err, saw)
	}
	if cur, seq, err = a.Update(ctx, "r5", "k", 0, set("", nil)); err != nil || seq != 0 || cur != nil {
		t.Fatalf("empty over absent = %q, %d, %v; want nil, 0, nil (nil and empty are equal)", cur, seq, err)
	}
	if cur, seq, err = a.Update(ctx, "r5", "k", 0, set("v1", nil)); err != nil || seq != 0 || string(cur) != "v1" {
		t.Fatalf("set without event = %q, %d, %v; want v1, 0, nil", cur, seq, err)
	}
	if got := read(t, b, "r5", "k"); string(got) != "v1" {
		t.Fatalf("other node reads %q, want v1", got)
	}
	e := stateEv([]byte("v2"))
	if cur, seq, err = b.Update(ctx, "r5", "k", 0, set("v2", e)); err != nil || seq != 1 || string(cur) != "v2" {
		t.Fatalf("set with event = %q, %d, %v; want v2, seq 1", cur, seq, err)
	}
	if got := read(t, a, "r5", "k"); string(got) != "v2" {
		t.Fatalf("reads %q, want v2", got)
	}
	if got := read(t, a, "r5", "other"); got != nil {
		t.Fatalf("another key reads %q, want nil", got)
	}
	if cur, seq, err = a.Update(ctx, "r5", "k", 0, set("", nil)); err != nil || seq != 0 || cur != nil {
		t.Fatalf("delete = %q, %d, %v; want nil, 0, nil", cur, seq, err)
	}
	if got := read(t, b, "r5", "k"); got != nil {
		t.Fatalf("deleted key reads %q, want nil", got)
	}
	if seq, err = a.Publish(ctx, "r5", ev("after")); err != nil || seq != 2 {
		t.Fatalf("publish after updates = %d, %v; want seq 2 (only the event took a seq)", seq, err)
	}
	sb.waitFor(t, "r5", 2)
	time.Sleep(100 * time.Millisecond) // nothing more may arrive
	got := sb.get("r5")
	if len(got) != 2 || !bytes.Equal(got[0], protocol.WithSeq(e, 1)) {
		t.Fatalf("frames = %q; want the update's event with seq 1, then the publish", got)
	}
}

// updateErr is a caller's typed error, which must come back from Update as is.
type updateErr struct{ reason string }

func (e *updateErr) Error() string { return "update refused: " + e.reason }

// fn's error aborts: nothing stored, nothing published, no seq used, and the
// same error returned.
func testUpdateError(t *testing.T, nodes nodesFunc) {
	a, b, _, sb := nodes(t)
	ctx := ctxT(t)
	if err := b.Subscribe(ctx, "r6"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Update(ctx, "r6", "k", 0, set("v1", nil)); err != nil {
		t.Fatal(err)
	}
	refused := &updateErr{"phase"}
	for _, n := range []contractBroker{a, b} {
		cur, seq, err := n.Update(ctx, "r6", "k", 0, func([]byte) ([]byte, []byte, error) {
			return []byte("v2"), stateEv([]byte("v2")), refused
		})
		var ue *updateErr
		if !errors.As(err, &ue) || ue != refused || !errors.Is(err, refused) || seq != 0 || cur != nil {
			t.Fatalf("aborted update = %q, %d, %v; want nil, 0 and fn's own error", cur, seq, err)
		}
	}
	if got := read(t, b, "r6", "k"); string(got) != "v1" {
		t.Fatalf("after aborted updates the value is %q, want v1", got)
	}
	if seq, err := a.Publish(ctx, "r6", ev("after")); err != nil || seq != 1 {
		t.Fatalf("publish after aborted updates = %d, %v; want seq 1", seq, err)
	}
	sb.waitFor(t, "r6", 1)
	time.Sleep(100 * time.Millisecond)
	if got := sb.get("r6"); len(got) != 1 || !bytes.Equal(got[0], protocol.WithSeq(ev("after"), 1)) {
		t.Fatalf("frames = %q; want only the publish", got)
	}
}

// Two nodes × 6 goroutines × 20 increments of a counter held as the value,
// each publishing the new count: no increment is lost, and the events arrive
// in seq order carrying exactly 1..240.
func testUpdateConcurrent(t *testing.T, nodes nodesFunc) {
	a, b, _, sb := nodes(t)
	ctx := ctxT(t)
	if err := b.Subscribe(ctx, "r7"); err != nil {
		t.Fatal(err)
	}
	const workers, per = 6, 20
	const total = 2 * workers * per
	incr := func(old []byte) ([]byte, []byte, error) {
		n := 0
		if old != nil {
			if _, err := fmt.Sscan(string(old), &n); err != nil {
				return nil, nil, err
			}
		}
		n++
		return fmt.Append(nil, n), fmt.Appendf(nil, `{"type":"count","n":%d}`, n), nil
	}
	var wg sync.WaitGroup
	for _, n := range []contractBroker{a, b} {
		for range workers {
			wg.Go(func() {
				for range per {
					if _, seq, err := n.Update(ctx, "r7", "count", 0, incr); err != nil || seq == 0 {
						t.Errorf("increment: seq %d, %v", seq, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if got := read(t, a, "r7", "count"); string(got) != fmt.Sprint(total) {
		t.Fatalf("final count %q, want %d", got, total)
	}
	frames := sb.waitFor(t, "r7", total)
	var last uint64
	for i, f := range frames {
		var e struct {
			Seq  uint64 `json:"seq"`
			Type string `json:"type"`
			N    int    `json:"n"`
		}
		if err := json.Unmarshal(f, &e); err != nil || e.Type != "count" {
			t.Fatalf("frame %d = %s: %v", i, f, err)
		}
		if e.Seq <= last || e.N != i+1 {
			t.Fatalf("frame %d = %s after seq %d; want seqs increasing and n = %d", i, f, last, i+1)
		}
		last = e.Seq
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(sb.get("r7")); n != total {
		t.Fatalf("delivered %d events, want %d", n, total)
	}
}

// An unchanged value with an event publishes it only while the value is
// what fn saw. The value changes from "a" to "b" after fn has read "a":
// in Redis the other update lands between the read and the write, so the
// stale event is not published and fn runs again with "b"; in Memory fn runs
// under the room's lock, so the other update waits and the event (with "a")
// is published while the value is still "a".
func testUpdateGuarded(t *testing.T, nodes nodesFunc) {
	a, b, _, sb := nodes(t)
	ctx := ctxT(t)
	if err := b.Subscribe(ctx, "r8"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Update(ctx, "r8", "k", 0, set("a", nil)); err != nil {
		t.Fatal(err)
	}
	// Without interference the guarded publish goes out and leaves the value.
	cur, seq, err := a.Update(ctx, "r8", "k", 0, func(old []byte) ([]byte, []byte, error) { return old, stateEv(old), nil })
	if err != nil || seq != 1 || string(cur) != "a" {
		t.Fatalf("guarded publish = %q, %d, %v; want a, seq 1", cur, seq, err)
	}

	_, serial := a.(*Memory)
	var seen []string
	other := make(chan error, 1)
	cur, seq, err = a.Update(ctx, "r8", "k", 0, func(old []byte) ([]byte, []byte, error) {
		seen = append(seen, string(old))
		if len(seen) == 1 {
			go func() {
				_, _, err := b.Update(ctx, "r8", "k", 0, set("b", nil))
				other <- err
			}()
			if !serial {
				if err := <-other; err != nil {
					return nil, nil, err
				}
			}
		}
		return old, stateEv(old), nil
	})
	if serial {
		if err := <-other; err != nil {
			t.Fatal(err)
		}
	}
	want, wantSeen := "b", []string{"a", "b"}
	if serial {
		want, wantSeen = "a", []string{"a"}
	}
	if err != nil || seq != 2 || string(cur) != want || !slices.Equal(seen, wantSeen) {
		t.Fatalf("guarded publish under a concurrent change = %q, %d, %v, fn saw %q; want %s, seq 2, fn saw %q", cur, seq, err, seen, want, wantSeen)
	}
	if got := read(t, a, "r8", "k"); string(got) != "b" {
		t.Fatalf("value %q, want b", got)
	}
	frames := sb.waitFor(t, "r8", 2)
	time.Sleep(100 * time.Millisecond)
	frames = sb.get("r8")
	if len(frames) != 2 || !bytes.Equal(frames[1], protocol.WithSeq(stateEv([]byte(want)), 2)) {
		t.Fatalf("frames = %q; want the second event to carry %q", frames, want)
	}
}

// A value stored with a ttl is gone after it; one stored without stays.
func testUpdateTTL(t *testing.T, nodes nodesFunc) {
	a, b, _, _ := nodes(t)
	ctx := ctxT(t)
	if cur, _, err := a.Update(ctx, "r10", "keep", 0, set("k", nil)); err != nil || string(cur) != "k" {
		t.Fatalf("set = %q, %v", cur, err)
	}
	if cur, _, err := a.Update(ctx, "r10", "brief", 300*time.Millisecond, set("v", nil)); err != nil || string(cur) != "v" {
		t.Fatalf("set with ttl = %q, %v", cur, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for read(t, b, "r10", "brief") != nil {
		if time.Now().After(deadline) {
			t.Fatal("a value with a 300 ms ttl is still there after 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := read(t, b, "r10", "keep"); string(got) != "k" {
		t.Fatalf("value without ttl = %q, want k", got)
	}
}

// With a cancelled ctx Update fails and stores and publishes nothing.
func testUpdateCancelled(t *testing.T, nodes nodesFunc) {
	a, b, _, sb := nodes(t)
	ctx := ctxT(t)
	if err := b.Subscribe(ctx, "r11"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Update(ctx, "r11", "k", 0, set("v1", nil)); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	cur, seq, err := a.Update(cancelled, "r11", "k", 0, set("v2", stateEv([]byte("v2"))))
	if err == nil || seq != 0 || cur != nil {
		t.Fatalf("update with a cancelled ctx = %q, %d, %v; want an error", cur, seq, err)
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if got := read(t, b, "r11", "k"); string(got) != "v1" {
		t.Fatalf("value %q, want v1", got)
	}
	time.Sleep(100 * time.Millisecond)
	if got := sb.get("r11"); len(got) != 0 {
		t.Fatalf("frames = %q, want none", got)
	}
}

// Memory drops expired values as it goes, not only when they are read.
func TestMemoryUpdateSweepsExpiredValues(t *testing.T) {
	m := NewMemory(func(string, []byte) {})
	ctx := ctxT(t)
	for i := range 100 {
		if _, _, err := m.Update(ctx, "r1", fmt.Sprint("k", i), time.Millisecond, set("v", nil)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond)
	r := m.room("r1")
	r.mu.Lock()
	r.swept = time.Time{} // as if the last sweep were long ago
	r.mu.Unlock()
	if _, _, err := m.Update(ctx, "r1", "live", 0, set("v", nil)); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	n := len(r.values)
	r.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d values kept, want only the live one", n)
	}
}
