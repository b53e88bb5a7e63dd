package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/internal/protocol"
	"hearth/internal/redistest"
)

// After a Redis restart the node resubscribes by itself and delivery goes on,
// after a nil frame that tells the hub its delivery was interrupted (before
// any event published after the restart); a publish during the outage fails
// with ErrUnavailable rather than a false ok.
func TestRedisResubscribesAfterRestart(t *testing.T) {
	srv := redistest.Start(t)
	a, _ := redisNode(t, srv.URL(), 0)
	b, sb := redisNode(t, srv.URL(), 0)
	ctx := ctxT(t)
	if err := b.Subscribe(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish(ctx, "r1", ev("before")); err != nil {
		t.Fatal(err)
	}
	sb.waitFor(t, "r1", 1)

	srv.Stop()
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := a.Publish(short, "r1", ev("during"))
	cancel()
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("publish during outage: err = %v, want ErrUnavailable", err)
	}
	srv.Restart()

	// Keep publishing until the resubscribed node receives one (go-redis
	// reconnects on its own schedule): first the interruption, then events
	// in order.
	deadline := time.Now().Add(20 * time.Second)
	for len(sb.get("r1")) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no delivery after Redis restart: node did not resubscribe (got %q)", sb.get("r1"))
		}
		_, _ = a.Publish(ctx, "r1", ev("after"))
		time.Sleep(100 * time.Millisecond)
	}
	got := sb.get("r1")
	if got[1] != nil {
		t.Fatalf("first delivery after the restart = %s, want the interruption (nil)", got[1])
	}
	if s, _ := protocol.SeqOf(got[2]); s == 0 {
		t.Fatalf("frame after restart has no seq: %s", got[2])
	}
}

// Regression (issue 9, delivery under faults): a room whose seq counter was
// lost while a node stayed subscribed (here deleted by hand; in production
// evicted, or restored older) went on delivering the new counter's seq 1,
// 2, … to members who had seen higher seqs of the old epoch, silently. Now
// the broker sees that the seq does not follow the last one it delivered and
// delivers the interruption (nil) first; a gap of missed seqs does the same.
func TestRedisSeqJumpInterruptsDelivery(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(ctx context.Context, a *Redis) error
	}{
		{"counter lost", func(ctx context.Context, a *Redis) error {
			return a.Client().Del(ctx, "hearth:{r1}:seq", "hearth:{r1}:epoch").Err()
		}},
		{"seqs skipped", func(ctx context.Context, a *Redis) error {
			return a.Client().IncrBy(ctx, "hearth:{r1}:seq", 5).Err()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			a, _ := redisNode(t, srv.URL(), 0)
			b, sb := redisNode(t, srv.URL(), 0)
			ctx := ctxT(t)
			if err := b.Subscribe(ctx, "r1"); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if _, err := a.Publish(ctx, "r1", ev("before")); err != nil {
					t.Fatal(err)
				}
			}
			sb.waitFor(t, "r1", 3)
			if err := tc.fault(ctx, a); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := a.Publish(ctx, "r1", ev("after")); err != nil {
					t.Fatal(err)
				}
			}
			got := sb.waitFor(t, "r1", 6)
			for i, f := range got[:3] {
				if f == nil {
					t.Fatalf("frame %d is an interruption before the fault", i)
				}
			}
			if got[3] != nil {
				t.Fatalf("first delivery after the fault = %s, want the interruption (nil)", got[3])
			}
			if got[4] == nil || got[5] == nil {
				t.Fatalf("after the interruption: %q, want two events", got[4:])
			}
		})
	}
}

// Unsubscribing and subscribing again (the node's last local connection
// left, then someone joined) is no interruption, even when events were
// published in between: the new subscription starts afresh.
func TestRedisResubscribeByHandIsNoInterruption(t *testing.T) {
	srv := redistest.Start(t)
	a, _ := redisNode(t, srv.URL(), 0)
	b, sb := redisNode(t, srv.URL(), 0)
	ctx := ctxT(t)
	for round := range 20 {
		if err := b.Subscribe(ctx, "r1"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Publish(ctx, "r1", ev("while subscribed")); err != nil {
			t.Fatal(err)
		}
		sb.waitFor(t, "r1", round+1)
		if err := b.Unsubscribe(ctx, "r1"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Publish(ctx, "r1", ev("while away")); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range sb.get("r1") {
		if f == nil {
			t.Fatalf("delivery %d is an interruption", i)
		}
	}
}

// A node that dies without leaving (no Exit) has its members purged after
// three refresh periods by a surviving node, which tells the room.
func TestRedisPurgesPresenceOfDeadNode(t *testing.T) {
	srv := redistest.Start(t)
	dead, _ := redisNode(t, srv.URL(), 100*time.Millisecond)
	live, sl := redisNode(t, srv.URL(), 100*time.Millisecond)
	ctx := ctxT(t)
	if err := live.Subscribe(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := live.OpenBuffer(ctx, "r1", time.Minute); err != nil {
		t.Fatal(err)
	}
	ghost := protocol.Member{MemberID: "m1", DisplayName: "Gone", Role: protocol.RoleMember}
	stay := protocol.Member{MemberID: "m2", DisplayName: "Here", Role: protocol.RoleMember}
	joined := func(m protocol.Member) []byte {
		return protocol.Marshal(protocol.MemberJoinedEvent{Type: protocol.TypeMemberJoined, Room: "r1", Member: m})
	}
	if _, _, err := dead.Enter(ctx, "r1", "c1", ghost, joined(ghost)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := live.Enter(ctx, "r1", "c2", stay, joined(stay)); err != nil {
		t.Fatal(err)
	}
	_ = dead.Close() // the node dies: its entry is never refreshed or removed

	frames := sl.waitFor(t, "r1", 3)
	if got := string(frames[2]); !strings.Contains(got, `"type":"member_left"`) || !strings.Contains(got, `"member_id":"m1"`) {
		t.Fatalf("third event = %s, want member_left of m1", got)
	}
	ms, err := live.Members(ctx, "r1")
	if err != nil || len(ms) != 1 || ms[0] != stay {
		t.Fatalf("Members = %v, %v; want only the live member", ms, err)
	}
	// The purge's member_left is buffered like every event with a seq.
	ep, _, err := live.Epoch(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	events, gap, err := live.Replay(ctx, "r1", ep, 0)
	if err != nil || gap || len(events) != 3 || !bytes.Equal(events[2], frames[2]) {
		t.Fatalf("Replay = %q, %v, %v; want the three events as delivered", events, gap, err)
	}
}

// A Redis restarted without persistence has lost the room's counter: the
// next event starts it again under a new epoch, and a member replaying
// with the old epoch is told of a gap rather than answered "nothing
// missed".
func TestRedisEpochChangesAfterRestart(t *testing.T) {
	srv := redistest.Start(t)
	a, _ := redisNode(t, srv.URL(), 0)
	ctx := ctxT(t)
	if err := a.OpenBuffer(ctx, "r1", time.Minute); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := a.Publish(ctx, "r1", ev("before")); err != nil {
			t.Fatal(err)
		}
	}
	ep1, seq1, err := a.Epoch(ctx, "r1")
	if err != nil || seq1 != 2 {
		t.Fatalf("Epoch = %q, %d, %v", ep1, seq1, err)
	}
	srv.Restart()
	deadline := time.Now().Add(20 * time.Second)
	for { // go-redis reconnects on its own schedule
		short, cancel := context.WithTimeout(ctx, time.Second)
		_, err := a.Publish(short, "r1", ev("after"))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no publish after the restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ep2, seq2, err := a.Epoch(ctx, "r1")
	if err != nil || ep2 == ep1 || seq2 != 1 {
		t.Fatalf("Epoch after restart = %q, %d, %v; want a new epoch (not %q) at seq 1", ep2, seq2, err, ep1)
	}
	for _, after := range []uint64{0, 1, 2} {
		events, gap, err := a.Replay(ctx, "r1", ep1, after)
		if err != nil || events != nil || !gap {
			t.Fatalf("Replay(old epoch, %d) = %q, %v, %v; want nothing, gap", after, events, gap, err)
		}
	}
}

// A counter written before epochs existed (no epoch key) gets an epoch,
// keeping its seq.
func TestRedisEpochForCounterWithoutOne(t *testing.T) {
	srv := redistest.Start(t)
	a, _ := redisNode(t, srv.URL(), 0)
	ctx := ctxT(t)
	if err := a.Client().Set(ctx, "hearth:{old}:seq", 7, 0).Err(); err != nil { // the historical name (rolling upgrades)
		t.Fatal(err)
	}
	ep, seq, err := a.Epoch(ctx, "old")
	if err != nil || ep == "" || seq != 7 {
		t.Fatalf("Epoch = %q, %d, %v; want an epoch at seq 7", ep, seq, err)
	}
	if seq, err := a.Publish(ctx, "old", ev("next")); err != nil || seq != 8 {
		t.Fatalf("Publish = %d, %v; want 8", seq, err)
	}
	if e, _, _ := a.Epoch(ctx, "old"); e != ep {
		t.Fatalf("epoch changed from %q to %q without the counter being lost", ep, e)
	}
	// The same for a counter whose first event comes without an Epoch call.
	if err := a.Client().Set(ctx, "hearth:{old2}:seq", 3, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if seq, err := a.Publish(ctx, "old2", ev("next")); err != nil || seq != 4 {
		t.Fatalf("Publish = %d, %v; want 4", seq, err)
	}
	if e, seq, err := a.Epoch(ctx, "old2"); err != nil || e == "" || seq != 4 {
		t.Fatalf("Epoch = %q, %d, %v; want an epoch at seq 4", e, seq, err)
	}
}

// Publishes made at once by many connections go through the broker's
// script batcher (sharing pipelines): every one is sent, each caller gets
// its own seq, subscribers get every event once, in seq order, with no
// interruption — also when Redis has just lost its script cache (SCRIPT
// FLUSH, as after a restart) — and after Close a publish fails with
// ErrUnavailable.
func TestRedisConcurrentPublishesThroughTheBatcher(t *testing.T) {
	srv := redistest.Start(t)
	a, _ := redisNode(t, srv.URL(), 0)
	b, sb := redisNode(t, srv.URL(), 0)
	ctx := ctxT(t)
	rooms := []string{"p1", "p2", "p3"}
	for _, room := range rooms {
		if err := b.Subscribe(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Client().ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	const publishers, per = 48, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	seqs := map[string]map[uint64]bool{}
	for p := range publishers {
		room := rooms[p%len(rooms)]
		wg.Go(func() {
			for i := range per {
				seq, err := a.Publish(ctx, room, ev(fmt.Sprint(p, "-", i)))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seqs[room] == nil {
					seqs[room] = map[uint64]bool{}
				}
				if seqs[room][seq] {
					t.Errorf("room %s: seq %d given twice", room, seq)
				}
				seqs[room][seq] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	want := publishers / len(rooms) * per
	for _, room := range rooms {
		got := sb.waitFor(t, room, want)
		if len(got) != want {
			t.Fatalf("room %s: %d frames, want %d", room, len(got), want)
		}
		for i, f := range got {
			if seq, ok := protocol.SeqOf(f); !ok || seq != uint64(i+1) {
				t.Fatalf("room %s: frame %d has seq %d (ok=%v): out of order, duplicated or interrupted", room, i, seq, ok)
			}
		}
	}
	st := a.batch.Stats()
	if st.Calls != publishers*per {
		t.Errorf("the batcher sent %d calls, want the %d publishes", st.Calls, publishers*per)
	}
	t.Logf("%d publishes in %d pipelines", st.Calls, st.Pipelines)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish(ctx, "p1", ev("late")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("publish after Close: %v, want ErrUnavailable", err)
	}
}
