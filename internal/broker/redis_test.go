package broker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hearth/internal/protocol"
	"hearth/internal/redistest"
)

// After a Redis restart the node resubscribes by itself and delivery goes on;
// a publish during the outage fails with ErrUnavailable rather than a false ok.
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
	// reconnects on its own schedule); everything it then receives is in order.
	deadline := time.Now().Add(20 * time.Second)
	for len(sb.get("r1")) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no delivery after Redis restart: node did not resubscribe")
		}
		_, _ = a.Publish(ctx, "r1", ev("after"))
		time.Sleep(100 * time.Millisecond)
	}
	got := sb.get("r1")
	if s, _ := protocol.SeqOf(got[1]); s == 0 {
		t.Fatalf("frame after restart has no seq: %s", got[1])
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
}
