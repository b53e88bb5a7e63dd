package broker

import (
	"context"
	"fmt"
	"log/slog"
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
