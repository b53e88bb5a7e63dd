package broker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
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
	return memoryNodesSized(0)(t)
}

// memoryNodesSized is memoryNodes with a session buffer of size events
// (the default when 0).
func memoryNodesSized(size int) nodesFunc {
	return func(t *testing.T) (contractBroker, contractBroker, *sink, *sink) {
		s := newSink()
		m := NewMemory(s.deliver, WithBufferSize(size))
		return m, m, s, s
	}
}

func redisNodes(t *testing.T) (contractBroker, contractBroker, *sink, *sink) {
	return redisNodesSized(0)(t)
}

// redisNodesSized is redisNodes with a session buffer of size events (the
// default when 0).
func redisNodesSized(size int) nodesFunc {
	return func(t *testing.T) (contractBroker, contractBroker, *sink, *sink) {
		srv := redistest.Start(t)
		a, sa := redisNodeCfg(t, RedisConfig{URL: srv.URL(), BufferSize: size})
		b, sb := redisNodeCfg(t, RedisConfig{URL: srv.URL(), BufferSize: size})
		return a, b, sa, sb
	}
}

// clusterNodes is clusterNodesSized with the default buffer size.
func clusterNodes(c *redistest.Cluster) nodesFunc { return clusterNodesSized(c)(0) }

// clusterNodesSized is redisNodesSized on the three-master cluster c,
// emptied first (FLUSHALL on every master): the subtests of a test share
// one cluster, as starting one takes seconds.
func clusterNodesSized(c *redistest.Cluster) func(size int) nodesFunc {
	return func(size int) nodesFunc {
		return func(t *testing.T) (contractBroker, contractBroker, *sink, *sink) {
			flushCluster(t, c)
			a, sa := redisNodeCfg(t, RedisConfig{URL: c.URL(), Cluster: true, BufferSize: size})
			b, sb := redisNodeCfg(t, RedisConfig{URL: c.URL(), Cluster: true, BufferSize: size})
			return a, b, sa, sb
		}
	}
}

// flushCluster empties every master of c.
func flushCluster(t *testing.T, c *redistest.Cluster) {
	t.Helper()
	for _, addr := range c.Addrs() {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		err := rdb.FlushAll(ctxT(t)).Err()
		_ = rdb.Close()
		if err != nil {
			t.Fatalf("FLUSHALL on %s: %v", addr, err)
		}
	}
}

// flushAll empties the Redis behind n's client: every master of a cluster.
func flushAll(ctx context.Context, n *Redis) error {
	if c, ok := n.Client().(*redis.ClusterClient); ok {
		return c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.FlushAll(ctx).Err() })
	}
	return n.Client().FlushAll(ctx).Err()
}

func redisNode(t *testing.T, url string, refresh time.Duration) (*Redis, *sink) {
	t.Helper()
	return redisNodeCfg(t, RedisConfig{URL: url, PresenceRefresh: refresh})
}

func redisNodeCfg(t *testing.T, cfg RedisConfig) (*Redis, *sink) {
	t.Helper()
	s := newSink()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg.Logger = slog.New(slog.DiscardHandler)
	r, err := NewRedis(ctx, cfg, s.deliver)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r, s
}

// TestContract runs the broker's contract against Memory, Redis on one
// server, and Redis on a three-master Redis Cluster (sharded pub/sub).
func TestContract(t *testing.T) {
	impls := map[string]func(bufferSize int) nodesFunc{"memory": memoryNodesSized, "redis": redisNodesSized}
	for name, sized := range impls {
		t.Run(name, func(t *testing.T) { contractSuite(t, name, sized) })
	}
	t.Run("cluster", func(t *testing.T) { contractSuite(t, "cluster", clusterNodesSized(redistest.StartCluster(t))) })
}

// contractSuite is the contract, for the implementation name whose nodes
// sized makes.
func contractSuite(t *testing.T, name string, sized func(bufferSize int) nodesFunc) {
	nodes := sized(0)
	t.Run("PublishAssignsSeqAndDeliversOnce", func(t *testing.T) { testPublish(t, nodes) })
	t.Run("NoDeliveryWithoutSubscription", func(t *testing.T) { testUnsubscribed(t, nodes) })
	t.Run("ConcurrentPublishersKeepSeqOrder", func(t *testing.T) { testConcurrent(t, nodes) })
	t.Run("PresenceCountsConnectionsNotTabs", func(t *testing.T) { testPresence(t, nodes) })
	t.Run("UpdateReadsSetsDeletes", func(t *testing.T) { testUpdateBasics(t, nodes) })
	t.Run("UpdateErrorAborts", func(t *testing.T) { testUpdateError(t, nodes) })
	t.Run("ConcurrentUpdatesAreAtomic", func(t *testing.T) { testUpdateConcurrent(t, nodes) })
	t.Run("UpdatePublishesOnlyWhatItSaw", func(t *testing.T) { testUpdateGuarded(t, nodes) })
	t.Run("UpdateValueExpires", func(t *testing.T) { testUpdateTTL(t, nodes) })
	t.Run("EpochIsMadeWithTheCounter", func(t *testing.T) { testEpoch(t, nodes) })
	t.Run("ReplayWithoutBuffer", func(t *testing.T) { testBufferOff(t, nodes) })
	t.Run("ReplayReturnsWhatWasMissed", func(t *testing.T) { testBufferReplay(t, nodes) })
	t.Run("BufferKeepsTheLastN", func(t *testing.T) { testBufferCapacity(t, sized(10)) })
	t.Run("CloseBufferLeavesNothing", func(t *testing.T) { testBufferClose(t, nodes) })
	t.Run("BufferExpiresWithMaxAge", func(t *testing.T) { testBufferTTL(t, nodes) })
	t.Run("EnsureBufferKeepsEvents", func(t *testing.T) { testBufferEnsure(t, nodes) })
	t.Run("ForgetLeavesAStandIn", func(t *testing.T) { testForget(t, nodes) })
	if name != "memory" { // Memory ignores ctx: it never fails; nor does it lose counters
		t.Run("UpdateWithCancelledContext", func(t *testing.T) { testUpdateCancelled(t, nodes) })
		t.Run("BufferCallsWithCancelledContext", func(t *testing.T) { testBufferCancelled(t, nodes) })
		t.Run("EpochChangesWhenCounterLost", func(t *testing.T) { testEpochLost(t, nodes) })
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
// with the new payload. On one server and on a cluster alike.
func TestTimersFireOnceAcrossNodes(t *testing.T) {
	twoNodes := func(t *testing.T, cfg RedisConfig) []timerBroker {
		r1, _ := redisNodeCfg(t, cfg)
		r2, _ := redisNodeCfg(t, cfg)
		return []timerBroker{r1, r2}
	}
	impls := map[string]func(t *testing.T) []timerBroker{
		"memory": func(*testing.T) []timerBroker { return []timerBroker{NewMemory(func(string, []byte) {})} },
		"redis":  func(t *testing.T) []timerBroker { return twoNodes(t, RedisConfig{URL: redistest.Start(t).URL()}) },
		"cluster": func(t *testing.T) []timerBroker {
			return twoNodes(t, RedisConfig{URL: redistest.StartCluster(t).URL(), Cluster: true})
		},
	}
	for name, start := range impls {
		t.Run(name, func(t *testing.T) {
			nodes := start(t)
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
	impls := map[string]nodesFunc{"memory": memoryNodes, "redis": redisNodes, "cluster": func(t *testing.T) (contractBroker, contractBroker, *sink, *sink) {
		return clusterNodes(redistest.StartCluster(t))(t)
	}}
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

// --- Session buffer and epoch ---

// rawBuffer reads room's session buffer as stored, bypassing Replay:
// whether buffering is on, the buffered frames, and the names of the room's
// buffer keys that exist (Redis: the buf and bufon keys, from KEYS on the
// test's private server; Memory: none — its check is that nothing is held).
// For Redis the flag and the list are read in one MULTI.
func rawBuffer(t *testing.T, n contractBroker, room string) (on bool, frames []string, keys []string) {
	t.Helper()
	switch b := n.(type) {
	case *Memory:
		r := b.room(room)
		r.mu.Lock()
		defer r.mu.Unlock()
		on = r.bufferOnLocked(b, time.Now())
		for _, f := range r.buf {
			frames = append(frames, string(f))
		}
		b.mu.Lock()
		_, listed := b.buffered[r]
		b.mu.Unlock()
		if listed != on {
			t.Fatalf("room %s: buffering on = %v but listed for sweeping = %v", room, on, listed)
		}
		if !on && r.buf != nil {
			t.Fatalf("room %s: buffering off but %d frames held", room, len(r.buf))
		}
		return on, frames, nil
	case *Redis:
		ctx := ctxT(t)
		c := b.Client()
		var exists *redis.IntCmd
		var list *redis.StringSliceCmd
		var all *redis.StringSliceCmd
		if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			exists = p.Exists(ctx, b.bufOnKey(room))
			list = p.LRange(ctx, b.bufKey(room), 0, -1)
			all = p.Keys(ctx, b.key(room, "*"))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, k := range all.Val() {
			if strings.HasSuffix(k, ":buf") || strings.HasSuffix(k, ":bufon") {
				keys = append(keys, k)
			}
		}
		if len(list.Val()) > 0 {
			frames = list.Val()
		}
		return exists.Val() == 1, frames, keys
	}
	t.Fatalf("unknown broker %T", n)
	return false, nil, nil
}

// replay calls Replay and fails the test on an error.
func replay(t *testing.T, n contractBroker, room, epoch string, after uint64) ([][]byte, bool) {
	t.Helper()
	events, gap, err := n.Replay(ctxT(t), room, epoch, after)
	if err != nil {
		t.Fatalf("Replay(%s, %q, %d): %v", room, epoch, after, err)
	}
	return events, gap
}

// epochOf calls Epoch and fails the test on an error.
func epochOf(t *testing.T, n contractBroker, room string) (string, uint64) {
	t.Helper()
	epoch, seq, err := n.Epoch(ctxT(t), room)
	if err != nil {
		t.Fatalf("Epoch(%s): %v", room, err)
	}
	return epoch, seq
}

// seqFrames returns the frames that carry a seq (room events, not control
// messages), in order.
func seqFrames(frames [][]byte) [][]byte {
	var out [][]byte
	for _, f := range frames {
		if _, ok := protocol.SeqOf(f); ok {
			out = append(out, f)
		}
	}
	return out
}

// msgEv is a message event of room with id and text, as the hub marshals it.
func msgEv(room, id, text string) []byte {
	return protocol.Marshal(protocol.MessageEvent{Type: protocol.TypeMessage, Room: room, MessageID: id, Text: text, TS: "t"})
}

// publishN publishes n messages to room, alternating nodes, and returns
// their seqs' last value.
func publishN(t *testing.T, room string, n int, nodes ...contractBroker) uint64 {
	t.Helper()
	var seq uint64
	for i := range n {
		var err error
		seq, err = nodes[i%len(nodes)].Publish(ctxT(t), room, msgEv(room, fmt.Sprint("id", i), fmt.Sprint("text ", i)))
		if err != nil {
			t.Fatal(err)
		}
	}
	return seq
}

// The epoch exists before the room's first event (Epoch creates the counter
// at 0), is the same on every node, and stays as events are published.
func testEpoch(t *testing.T, nodes nodesFunc) {
	a, b, _, _ := nodes(t)
	ctx := ctxT(t)
	e1, s1 := epochOf(t, a, "e1")
	if e1 == "" || s1 != 0 {
		t.Fatalf("Epoch of a new room = %q, %d; want an epoch and seq 0", e1, s1)
	}
	if e, s := epochOf(t, b, "e1"); e != e1 || s != 0 {
		t.Fatalf("Epoch on the other node = %q, %d; want %q, 0", e, s, e1)
	}
	if seq, err := b.Publish(ctx, "e1", ev("one")); err != nil || seq != 1 {
		t.Fatalf("first publish after Epoch = %d, %v; want seq 1", seq, err)
	}
	if e, s := epochOf(t, a, "e1"); e != e1 || s != 1 {
		t.Fatalf("Epoch after a publish = %q, %d; want %q, 1", e, s, e1)
	}
	// A room whose first event comes before any Epoch call gets one too.
	if _, err := a.Publish(ctx, "e2", ev("one")); err != nil {
		t.Fatal(err)
	}
	if e, s := epochOf(t, b, "e2"); e == "" || s != 1 {
		t.Fatalf("Epoch of a room with one event = %q, %d", e, s)
	}
}

// With buffering off nothing is kept: Replay answers gap whenever events
// exist after `after`, and never with events; a foreign or empty epoch, or a
// seq beyond the current one, is a gap.
func testBufferOff(t *testing.T, nodes nodesFunc) {
	a, b, _, sb := nodes(t)
	ctx := ctxT(t)
	if err := b.Subscribe(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	ep, _ := epochOf(t, a, "b1")
	if events, gap := replay(t, b, "b1", ep, 0); events != nil || gap {
		t.Fatalf("Replay of an empty room = %q, %v; want nothing, no gap", events, gap)
	}
	publishN(t, "b1", 3, a, b)
	sb.waitFor(t, "b1", 3)
	if e, s := epochOf(t, b, "b1"); e != ep || s != 3 {
		t.Fatalf("Epoch = %q, %d; want %q, 3", e, s, ep)
	}
	for _, c := range []struct {
		epoch string
		after uint64
		gap   bool
	}{
		{ep, 3, false},      // up to date
		{ep, 2, true},       // one missed, not buffered
		{ep, 0, true},       // all missed
		{ep, 4, true},       // beyond the current seq
		{"x" + ep, 3, true}, // another counter's seq
		{"", 3, true},       // no epoch at all
		{"", 0, true},       // no epoch at all
		{"x" + ep, 0, true}, // another counter's seq
		{ep + "x", 2, true}, // another counter's seq
		{ep[:len(ep)-1], 1, true},
	} {
		for _, n := range []contractBroker{a, b} {
			if events, gap := replay(t, n, "b1", c.epoch, c.after); events != nil || gap != c.gap {
				t.Fatalf("Replay(%q, %d) without buffer = %q, %v; want no events, gap %v", c.epoch, c.after, events, gap, c.gap)
			}
		}
	}
	if on, frames, keys := rawBuffer(t, a, "b1"); on || frames != nil || keys != nil {
		t.Fatalf("buffer off, but stored: on=%v frames=%q keys=%q", on, frames, keys)
	}
	if err := a.OpenBuffer(ctx, "b1", 0); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("OpenBuffer with maxAge 0 = %v; want an argument error", err)
	}
	if on, _, _ := rawBuffer(t, a, "b1"); on {
		t.Fatal("OpenBuffer with maxAge 0 turned buffering on")
	}
}

// 30 events of every kind that takes a seq, published from both nodes
// (with a refused PublishLimited, a second tab's Enter, an Update without
// event and control messages in between, none of which may be buffered):
// Replay(after=k) returns exactly events k+1..30, byte-identical to the
// frames the subscribed node received live.
func testBufferReplay(t *testing.T, nodes nodesFunc) {
	a, b, _, sb := nodes(t)
	ctx := ctxT(t)
	const room, total = "b2", 30
	if err := b.Subscribe(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := a.OpenBuffer(ctx, room, time.Minute); err != nil {
		t.Fatal(err)
	}
	ep, _ := epochOf(t, b, room)
	member := func(i int) protocol.Member {
		return protocol.Member{MemberID: fmt.Sprint("m", i), DisplayName: fmt.Sprint("Name", i), Role: protocol.RoleMember}
	}
	controls := 0
	for i := range total {
		n, other := a, b
		if i%2 == 1 {
			n, other = b, a
		}
		var seq uint64
		var err error
		switch i % 5 {
		case 0:
			seq, err = n.Publish(ctx, room, msgEv(room, fmt.Sprint("id", i), fmt.Sprint("text ", i)))
		case 1:
			key := fmt.Sprint("slow:", i)
			seq, _, err = n.PublishLimited(ctx, room, msgEv(room, fmt.Sprint("id", i), "limited"), key, time.Minute)
			if s, wait, err := other.PublishLimited(ctx, room, msgEv(room, "refused", "refused"), key, time.Minute); err != nil || s != 0 || wait <= 0 {
				t.Fatalf("refused PublishLimited = %d, %v, %v", s, wait, err)
			}
		case 2:
			m := member(i)
			_, seq, err = n.Enter(ctx, room, fmt.Sprint("c", i), m, protocol.Marshal(protocol.MemberJoinedEvent{Type: protocol.TypeMemberJoined, Room: room, Member: m}))
			if _, s, err := other.Enter(ctx, room, fmt.Sprint("c", i, "b"), m, []byte(`{"type":"never"}`)); err != nil || s != 0 {
				t.Fatalf("second tab's Enter = %d, %v; want no event", s, err)
			}
		case 3:
			m := member(i - 1)
			left := protocol.Marshal(protocol.MemberLeftEvent{Type: protocol.TypeMemberLeft, Room: room, MemberID: m.MemberID})
			if s, err := other.Exit(ctx, room, fmt.Sprint("c", i-1, "b"), m.MemberID, left); err != nil || s != 0 {
				t.Fatalf("Exit of one tab = %d, %v; want no event", s, err)
			}
			seq, err = n.Exit(ctx, room, fmt.Sprint("c", i-1), m.MemberID, left)
		case 4:
			if _, s, err := other.Update(ctx, room, "k", 0, set(fmt.Sprint("quiet", i), nil)); err != nil || s != 0 {
				t.Fatalf("Update without event = %d, %v", s, err)
			}
			_, seq, err = n.Update(ctx, room, "k", 0, set(fmt.Sprint("v", i), stateEv(fmt.Append(nil, i))))
			if err == nil && i%10 == 4 {
				err = other.PublishControl(ctx, room, []byte(`{"ctl":"reload","n":`+fmt.Sprint(i)+`}`))
				controls++
			}
		}
		if err != nil || seq != uint64(i+1) {
			t.Fatalf("event %d: seq %d, %v; want seq %d", i, seq, err, i+1)
		}
	}
	live := seqFrames(sb.waitFor(t, room, total+controls))
	if len(live) != total {
		t.Fatalf("received %d events live, want %d", len(live), total)
	}
	if e, s := epochOf(t, a, room); e != ep || s != total {
		t.Fatalf("Epoch = %q, %d; want %q, %d", e, s, ep, total)
	}
	for k := 0; k <= total; k++ {
		n := []contractBroker{a, b}[k%2]
		events, gap := replay(t, n, room, ep, uint64(k))
		if gap {
			t.Fatalf("Replay(after=%d): gap, want none", k)
		}
		if len(events) != total-k {
			t.Fatalf("Replay(after=%d) returned %d events, want %d", k, len(events), total-k)
		}
		for i, e := range events {
			if !bytes.Equal(e, live[k+i]) {
				t.Fatalf("Replay(after=%d) event %d:\n got %s\nwant %s (as delivered live)", k, i, e, live[k+i])
			}
		}
	}
	_, frames, _ := rawBuffer(t, a, room)
	if len(frames) != total {
		t.Fatalf("buffer holds %d frames, want %d (controls and refused events are not buffered)", len(frames), total)
	}
	for _, f := range frames {
		if _, ok := protocol.SeqOf([]byte(f)); !ok {
			t.Fatalf("buffered frame without seq: %s", f)
		}
	}
}

// With a buffer of 10, only the last 10 events are kept: a replay that
// needs an evicted event reports a gap and still returns what the buffer
// has after `after`.
func testBufferCapacity(t *testing.T, nodes nodesFunc) {
	a, b, _, sb := nodes(t)
	ctx := ctxT(t)
	const room = "b3"
	if err := b.Subscribe(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := a.OpenBuffer(ctx, room, time.Minute); err != nil {
		t.Fatal(err)
	}
	publishN(t, room, 25, a, b)
	live := sb.waitFor(t, room, 25)
	ep, _ := epochOf(t, a, room)
	_, frames, _ := rawBuffer(t, b, room)
	if len(frames) != 10 || frames[0] != string(live[15]) || frames[9] != string(live[24]) {
		t.Fatalf("buffer holds %d frames; want the last 10 (seqs 16..25)", len(frames))
	}
	for _, c := range []struct {
		after uint64
		from  int // index in live of the first event returned
		gap   bool
	}{
		{24, 24, false},
		{15, 15, false}, // 16..25: all buffered
		{14, 15, true},  // 15 was evicted: 16..25 and a gap
		{3, 15, true},
		{0, 15, true},
	} {
		events, gap := replay(t, []contractBroker{a, b}[c.after%2], room, ep, c.after)
		if gap != c.gap || len(events) != 25-c.from {
			t.Fatalf("Replay(after=%d) = %d events, gap %v; want %d, gap %v", c.after, len(events), gap, 25-c.from, c.gap)
		}
		for i, e := range events {
			if !bytes.Equal(e, live[c.from+i]) {
				t.Fatalf("Replay(after=%d) event %d = %s, want %s", c.after, i, e, live[c.from+i])
			}
		}
	}
}

// CloseBuffer leaves no trace of the buffer (no key in Redis) and later
// events are not buffered; opening again starts an empty buffer.
func testBufferClose(t *testing.T, nodes nodesFunc) {
	a, b, _, _ := nodes(t)
	ctx := ctxT(t)
	const room = "b4"
	if err := a.OpenBuffer(ctx, room, time.Minute); err != nil {
		t.Fatal(err)
	}
	publishN(t, room, 5, a, b)
	ep, _ := epochOf(t, a, room)
	if on, frames, _ := rawBuffer(t, a, room); !on || len(frames) != 5 {
		t.Fatalf("open buffer: on=%v, %d frames; want on, 5", on, len(frames))
	}
	if err := b.CloseBuffer(ctx, room); err != nil {
		t.Fatal(err)
	}
	if on, frames, keys := rawBuffer(t, a, room); on || frames != nil || keys != nil {
		t.Fatalf("after CloseBuffer: on=%v frames=%q keys=%q; want nothing left", on, frames, keys)
	}
	if events, gap := replay(t, a, room, ep, 3); events != nil || !gap {
		t.Fatalf("Replay after CloseBuffer = %q, %v; want nothing, gap", events, gap)
	}
	publishN(t, room, 3, b, a)
	if on, frames, keys := rawBuffer(t, b, room); on || frames != nil || keys != nil {
		t.Fatalf("events after CloseBuffer were buffered: on=%v frames=%q keys=%q", on, frames, keys)
	}
	if events, gap := replay(t, b, room, ep, 5); events != nil || !gap {
		t.Fatalf("Replay of unbuffered events = %q, %v; want nothing, gap", events, gap)
	}
	if events, gap := replay(t, b, room, ep, 8); events != nil || gap {
		t.Fatalf("Replay when up to date = %q, %v; want nothing, no gap", events, gap)
	}
	if err := a.CloseBuffer(ctx, room); err != nil {
		t.Fatalf("closing a closed buffer: %v", err)
	}

	// Open again: only what is published from now on.
	if err := a.OpenBuffer(ctx, room, time.Minute); err != nil {
		t.Fatal(err)
	}
	if events, gap := replay(t, b, room, ep, 8); events != nil || gap {
		t.Fatalf("Replay right after reopening = %q, %v; want nothing, no gap", events, gap)
	}
	publishN(t, room, 1, b)
	if events, gap := replay(t, a, room, ep, 8); len(events) != 1 || gap {
		t.Fatalf("Replay after reopening = %d events, gap %v; want seq 9, no gap", len(events), gap)
	}
	if events, gap := replay(t, a, room, ep, 5); len(events) != 1 || !gap {
		t.Fatalf("Replay reaching before reopening = %d events, gap %v; want seq 9 and a gap", len(events), gap)
	}
	// Opening again empties it.
	if err := b.OpenBuffer(ctx, room, time.Minute); err != nil {
		t.Fatal(err)
	}
	if on, frames, _ := rawBuffer(t, a, room); !on || frames != nil {
		t.Fatalf("after a second OpenBuffer: on=%v frames=%q; want on and empty", on, frames)
	}
	if events, gap := replay(t, a, room, ep, 8); events != nil || !gap {
		t.Fatalf("Replay after a second OpenBuffer = %q, %v; want nothing, gap", events, gap)
	}
	if err := a.CloseBuffer(ctx, room); err != nil {
		t.Fatal(err)
	}
	if on, frames, keys := rawBuffer(t, b, room); on || frames != nil || keys != nil {
		t.Fatalf("after the last CloseBuffer: on=%v frames=%q keys=%q", on, frames, keys)
	}
}

// A buffer opened with a maxAge of 500 ms is gone, flag and events, some
// time after it (polled with a generous deadline); it never expires
// earlier, and in Redis the list never lacks an expiry.
func testBufferTTL(t *testing.T, nodes nodesFunc) {
	a, b, _, _ := nodes(t)
	ctx := ctxT(t)
	const room, maxAge = "b5", 500 * time.Millisecond
	opened := time.Now()
	if err := a.OpenBuffer(ctx, room, maxAge); err != nil {
		t.Fatal(err)
	}
	publishN(t, room, 3, a, b)
	ep, _ := epochOf(t, a, room)
	on, frames, _ := rawBuffer(t, b, room)
	if time.Since(opened) < maxAge*4/5 && (!on || len(frames) != 3) {
		t.Fatalf("buffer before its maxAge: on=%v, %d frames; want on, 3", on, len(frames))
	}
	if r, ok := a.(*Redis); ok {
		for _, k := range []string{r.bufKey(room), r.bufOnKey(room)} {
			if ttl := r.Client().PTTL(ctx, k).Val(); ttl == -time.Nanosecond || ttl > maxAge {
				t.Fatalf("%s has TTL %v; want at most %v (-2 ns: already gone)", k, ttl, maxAge)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		on, frames, keys := rawBuffer(t, a, room)
		if !on && frames == nil && keys == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("buffer with a maxAge of %v still there after 10 s: on=%v, %d frames, keys %q", maxAge, on, len(frames), keys)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if events, gap := replay(t, b, room, ep, 0); events != nil || !gap {
		t.Fatalf("Replay after expiry = %q, %v; want nothing, gap", events, gap)
	}
	publishN(t, room, 1, b)
	if on, frames, keys := rawBuffer(t, a, room); on || frames != nil || keys != nil {
		t.Fatalf("an event after expiry was buffered: on=%v frames=%q keys=%q", on, frames, keys)
	}
}

// EnsureBuffer turns an off buffer on, empty, and leaves an open one as it
// is: its events stay (a resume from before the call is complete) and its
// expiry is not pushed back. Turned on after CloseBuffer it keeps only what
// comes next; maxAge must be positive.
func testBufferEnsure(t *testing.T, nodes nodesFunc) {
	a, b, _, _ := nodes(t)
	ctx := ctxT(t)
	const room = "b9"
	if err := a.EnsureBuffer(ctx, room, 0); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("EnsureBuffer with maxAge 0 = %v; want an argument error", err)
	}
	publishN(t, room, 2, a) // before any buffer: not kept
	if err := a.EnsureBuffer(ctx, room, time.Minute); err != nil {
		t.Fatal(err)
	}
	if on, frames, _ := rawBuffer(t, b, room); !on || frames != nil {
		t.Fatalf("after EnsureBuffer on an off buffer: on=%v frames=%q; want on and empty", on, frames)
	}
	publishN(t, room, 3, a, b)
	ep, cur := epochOf(t, a, room)
	if cur != 5 {
		t.Fatalf("seq = %d, want 5", cur)
	}
	// Again, from the other node, with a longer maxAge: nothing changes.
	if err := b.EnsureBuffer(ctx, room, time.Hour); err != nil {
		t.Fatal(err)
	}
	if on, frames, _ := rawBuffer(t, a, room); !on || len(frames) != 3 {
		t.Fatalf("after EnsureBuffer on an open buffer: on=%v, %d frames; want on, the 3 events kept", on, len(frames))
	}
	if events, gap := replay(t, b, room, ep, 2); len(events) != 3 || gap {
		t.Fatalf("Replay after EnsureBuffer = %d events, gap %v; want 3, no gap", len(events), gap)
	}
	switch x := a.(type) {
	case *Redis:
		if ttl := x.Client().PTTL(ctx, x.bufOnKey(room)).Val(); ttl <= 0 || ttl > time.Minute {
			t.Fatalf("flag TTL after EnsureBuffer on an open buffer = %v; want at most the first maxAge (1m)", ttl)
		}
	case *Memory:
		r := x.room(room)
		r.mu.Lock()
		until := r.bufUntil
		r.mu.Unlock()
		if time.Until(until) > time.Minute {
			t.Fatalf("buffer expiry pushed back by EnsureBuffer: %v from now", time.Until(until))
		}
	}
	publishN(t, room, 1, b)
	if err := a.CloseBuffer(ctx, room); err != nil {
		t.Fatal(err)
	}
	publishN(t, room, 1, a) // seq 7, not buffered
	if err := b.EnsureBuffer(ctx, room, time.Minute); err != nil {
		t.Fatal(err)
	}
	if on, frames, _ := rawBuffer(t, a, room); !on || frames != nil {
		t.Fatalf("EnsureBuffer after CloseBuffer: on=%v frames=%q; want on and empty", on, frames)
	}
	publishN(t, room, 2, a, b) // seqs 8, 9
	if events, gap := replay(t, a, room, ep, 7); len(events) != 2 || gap {
		t.Fatalf("Replay from after EnsureBuffer = %d events, gap %v; want 2, no gap", len(events), gap)
	}
	if events, gap := replay(t, a, room, ep, 5); len(events) != 2 || !gap {
		t.Fatalf("Replay from before EnsureBuffer = %d events, gap %v; want 2 and a gap", len(events), gap)
	}
	if err := a.CloseBuffer(ctx, room); err != nil {
		t.Fatal(err)
	}
}

// Forget replaces the deleted message, and only it, by a message_deleted
// stand-in with its seq; its text is nowhere in the stored buffer. Events of
// other types with the same message_id, and a message whose text merely
// looks like the id, stay as they were.
func testForget(t *testing.T, nodes nodesFunc) {
	a, b, _, sb := nodes(t)
	ctx := ctxT(t)
	const room = "b6"
	if err := b.Subscribe(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := a.OpenBuffer(ctx, room, time.Minute); err != nil {
		t.Fatal(err)
	}
	secret := "secret-" + rand.Text()
	reactions := []byte(`{"type":"reactions","room":"b6","message_id":"del1","counts":{"heart":1}}`)
	for i, e := range [][]byte{
		msgEv(room, "keep1", "hello"),
		msgEv(room, "del1", secret),
		reactions,
		msgEv(room, "keep2", `"type":"message","message_id":"del1"`),
		protocol.Marshal(protocol.MessageDeletedEvent{Type: protocol.TypeMessageDeleted, Room: room, MessageID: "del1"}),
	} {
		if _, err := []contractBroker{a, b}[i%2].Publish(ctx, room, e); err != nil {
			t.Fatal(err)
		}
	}
	live := sb.waitFor(t, room, 5)
	ep, _ := epochOf(t, a, room)
	if err := b.Forget(ctx, room, "del1"); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(live)
	want[1] = protocol.WithSeq(protocol.Marshal(protocol.MessageDeletedEvent{Type: protocol.TypeMessageDeleted, Room: room, MessageID: "del1"}), 2)
	events, gap := replay(t, a, room, ep, 0)
	if gap || len(events) != 5 {
		t.Fatalf("Replay after Forget = %d events, gap %v; want 5, no gap", len(events), gap)
	}
	for i := range want {
		if !bytes.Equal(events[i], want[i]) {
			t.Fatalf("event %d after Forget:\n got %s\nwant %s", i, events[i], want[i])
		}
	}
	_, frames, _ := rawBuffer(t, b, room)
	if len(frames) != 5 {
		t.Fatalf("buffer holds %d frames, want 5", len(frames))
	}
	for _, f := range frames {
		if strings.Contains(f, secret) {
			t.Fatalf("the deleted message's text is still in the buffer: %s", f)
		}
	}
	// Forgetting an unknown message, or twice, changes nothing; so does
	// forgetting in a room without a buffer.
	for _, id := range []string{"nope", "del1", ""} {
		if err := a.Forget(ctx, room, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, again, _ := rawBuffer(t, a, room); !slices.Equal(again, frames) {
		t.Fatalf("buffer changed by a Forget of nothing:\n%q\n%q", again, frames)
	}
	if err := a.Forget(ctx, "b6-none", "del1"); err != nil {
		t.Fatal(err)
	}
	if on, frames, keys := rawBuffer(t, a, "b6-none"); on || frames != nil || keys != nil {
		t.Fatalf("Forget without a buffer stored something: on=%v frames=%q keys=%q", on, frames, keys)
	}
}

// With a cancelled ctx every buffer call fails with ErrUnavailable.
func testBufferCancelled(t *testing.T, nodes nodesFunc) {
	a, _, _, _ := nodes(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	_, _, errEpoch := a.Epoch(ctx, "b7")
	_, _, errReplay := a.Replay(ctx, "b7", "e1", 0)
	for name, err := range map[string]error{
		"Epoch":        errEpoch,
		"OpenBuffer":   a.OpenBuffer(ctx, "b7", time.Minute),
		"CloseBuffer":  a.CloseBuffer(ctx, "b7"),
		"EnsureBuffer": a.EnsureBuffer(ctx, "b7", time.Minute),
		"Replay":       errReplay,
		"Forget":       a.Forget(ctx, "b7", "m1"),
	} {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with a cancelled ctx: %v; want ErrUnavailable", name, err)
		}
	}
}

// When Redis loses a room's counter (FLUSHALL: a restart without
// persistence; or the seq key alone deleted) the counter starts again under
// a new epoch: a replay with the old epoch is a gap with no events, even
// though the new buffer holds events (it holds none of the old counter's).
func testEpochLost(t *testing.T, nodes nodesFunc) {
	a, b, _, _ := nodes(t)
	ctx := ctxT(t)
	const room = "b8"
	ra := a.(*Redis)
	c := ra.Client()
	if err := a.OpenBuffer(ctx, room, time.Minute); err != nil {
		t.Fatal(err)
	}
	publishN(t, room, 3, a, b)
	ep1, s1 := epochOf(t, b, room)
	if s1 != 3 {
		t.Fatalf("seq %d, want 3", s1)
	}
	if err := flushAll(ctx, ra); err != nil {
		t.Fatal(err)
	}
	if err := b.OpenBuffer(ctx, room, time.Minute); err != nil { // the session goes on
		t.Fatal(err)
	}
	if seq := publishN(t, room, 2, b, a); seq != 2 {
		t.Fatalf("after FLUSHALL the counter is at %d, want 2", seq)
	}
	ep2, s2 := epochOf(t, a, room)
	if ep2 == ep1 || ep2 == "" || s2 != 2 {
		t.Fatalf("Epoch after the counter was lost = %q, %d; want a new epoch (not %q), seq 2", ep2, s2, ep1)
	}
	for _, after := range []uint64{0, 1, 2, 3} {
		if events, gap := replay(t, a, room, ep1, after); events != nil || !gap {
			t.Fatalf("Replay(old epoch, %d) = %q, %v; want nothing, gap", after, events, gap)
		}
	}
	if events, gap := replay(t, b, room, ep2, 0); len(events) != 2 || gap {
		t.Fatalf("Replay(new epoch, 0) = %d events, %v; want 2, no gap", len(events), gap)
	}

	// The seq key alone is lost: the next publish makes a new epoch and
	// drops the buffer, whose seqs belong to the lost counter.
	if err := c.Del(ctx, ra.seqKey(room)).Err(); err != nil {
		t.Fatal(err)
	}
	if seq := publishN(t, room, 1, a); seq != 1 {
		t.Fatalf("seq %d after the counter was deleted, want 1", seq)
	}
	ep3, _ := epochOf(t, b, room)
	if ep3 == ep2 || ep3 == ep1 {
		t.Fatalf("epoch %q after the counter was deleted; want a new one", ep3)
	}
	events, gap := replay(t, a, room, ep3, 0)
	if len(events) != 1 || gap {
		t.Fatalf("Replay(newest epoch, 0) = %q, %v; want only the new event", events, gap)
	}
	if s, _ := protocol.SeqOf(events[0]); s != 1 {
		t.Fatalf("replayed %s, want seq 1", events[0])
	}

	// Lost again with no publish: Epoch itself creates the counter, with an
	// epoch that the next event keeps.
	if err := flushAll(ctx, ra); err != nil {
		t.Fatal(err)
	}
	ep4, s4 := epochOf(t, a, room)
	if ep4 == "" || ep4 == ep3 || ep4 == ep2 || ep4 == ep1 || s4 != 0 {
		t.Fatalf("Epoch of a lost counter = %q, %d; want a new epoch, 0", ep4, s4)
	}
	publishN(t, room, 1, b)
	if e, s := epochOf(t, b, room); e != ep4 || s != 1 {
		t.Fatalf("Epoch after the first event = %q, %d; want %q, 1", e, s, ep4)
	}
}

// A restarted process has new epochs for every room.
func TestMemoryEpochIsNewPerProcess(t *testing.T) {
	ctx := ctxT(t)
	e1, _, _ := NewMemory(func(string, []byte) {}).Epoch(ctx, "r1")
	e2, _, _ := NewMemory(func(string, []byte) {}).Epoch(ctx, "r1")
	if e1 == "" || e1 == e2 {
		t.Fatalf("epochs %q and %q; want two different ones", e1, e2)
	}
}

// Memory drops every room's expired buffer on a later call about any room,
// not only when its own room is touched again.
func TestMemorySweepsExpiredBuffers(t *testing.T) {
	m := NewMemory(func(string, []byte) {})
	ctx := ctxT(t)
	if err := m.OpenBuffer(ctx, "r1", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r := m.room("r1")
	r.mu.Lock()
	r.buf = append(r.buf, []byte(`{"seq":1,"type":"message","text":"x"}`)) // as if published just in time
	r.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	m.mu.Lock()
	m.bufSwept = time.Time{} // as if the last sweep were long ago
	m.mu.Unlock()
	_ = m.Subscribe(ctx, "r2")
	r.mu.Lock()
	held := r.buf
	r.mu.Unlock()
	m.mu.Lock()
	n := len(m.buffered)
	m.mu.Unlock()
	if held != nil || n != 0 {
		t.Fatalf("after a sweep: %d frames held, %d buffers listed; want none", len(held), n)
	}
}
