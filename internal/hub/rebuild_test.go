package hub_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
)

// rebuildNodes starts two nodes whose broker Redis (returned) can be
// restarted empty while the rooms stay in a durable store of their own, and
// opens room "r" with "fac" leading it and ana and ben on its roster.
func rebuildNodes(t *testing.T, o hubtest.Options) (rds *redistest.Server, n1, n2 *hubtest.Node) {
	t.Helper()
	rds = redistest.Start(t)                           // the broker's: restarted empty
	store := redistest.Start(t, "--appendonly", "yes") // the rooms': stays up
	o.RedisURL, o.StoreURL, o.Unlimited = rds.URL(), store.URL(), true
	n1, n2 = hubtest.StartNode(t, o), hubtest.StartNode(t, o)
	n1.OpenRoom(t, "r", "fac", "ana", "ben")
	return rds, n1, n2
}

// awaitResumed drains each tracked connection until its node has asked it
// to resume (closed it with a reconnect code) and it has resumed, for up to
// 30 s.
func awaitResumed(t *testing.T, all ...*tracked) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, m := range all {
		for m.resumes == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s was not asked to resume within 30 s of Redis coming back", m.name)
			}
			m.drain(50 * time.Millisecond)
		}
	}
}

// A Redis restart without persistence loses the broker's timers and the
// session buffer's flag; the nodes rebuild both from the room record when
// they resubscribe. An unacknowledged crisis alert raised just before the
// restart is still escalated to the facilitator after it, and a member who
// resumes from a seq given after the restart gets everything since — no
// gap for the rest of the session.
func TestRedisRestartRebuildsTimersAndBuffer(t *testing.T) {
	const escalateAfter = 4 * time.Second
	rds, n1, n2 := rebuildNodes(t, hubtest.Options{EscalateAfter: escalateAfter})
	fac := track(t, n1.URL, "fac", protocol.RoleFacilitator, "r", "Dr. Lee")
	ana := track(t, n2.URL, "ana", protocol.RoleMember, "r", "Ana")
	ben := track(t, n2.URL, "ben", protocol.RoleMember, "r", "Ben")

	ana.sendUntilOK(trigger)
	raised := time.Now()
	alert := fac.until(func(e hubtest.Event) bool { return e.Str("type") == "crisis_alert" })
	if alert["escalated"] == true {
		t.Fatalf("first alert already escalated: %v", alert)
	}
	alertID := alert.Str("alert_id")
	// The escalation timer is in Redis (the alert goes out before it is
	// scheduled; a Schedule still in flight at the restart would land on
	// the new server and hide the loss).
	rdb := redis.NewClient(&redis.Options{Addr: rds.Addr()})
	for rdb.ZScore(context.Background(), "hearth:timers", "escalate:"+alertID).Err() != nil {
		if time.Since(raised) > escalateAfter/2 {
			t.Fatal("the escalation timer was not scheduled in Redis")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = rdb.Close()

	// Redis goes and comes back empty well before the escalation is due:
	// its timer is gone with everything else.
	rds.Stop()
	time.Sleep(500 * time.Millisecond)
	rds.Restart()
	if time.Since(raised) >= escalateAfter {
		t.Fatalf("Redis came back %v after the alert, not before its escalation (%v)", time.Since(raised), escalateAfter)
	}
	awaitResumed(t, fac, ana, ben)

	// The escalation still comes (live, or with the open alerts on a
	// facilitator's resuming join).
	esc := fac.until(func(e hubtest.Event) bool {
		return e.Str("type") == "crisis_alert" && e.Str("alert_id") == alertID && e["escalated"] == true
	})
	t.Logf("escalated %v after the alert was raised: %v", time.Since(raised).Round(time.Millisecond), esc)

	// Resumes after the restart are complete again: ana drops after
	// seeing a message sent after the restart and comes back from it.
	fac.sendUntilOK("after the restart")
	ana.await("after the restart")
	epoch, point := ana.epoch, ana.point
	_ = ana.p.WS.CloseNow()
	for i := range 5 {
		fac.sendUntilOK(fmt.Sprint("while ana was away ", i))
	}
	p := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	r := p.JoinFrame(hubtest.Event{"type": "join", "room": "r", "display_name": "Ana",
		"resume_from": map[string]any{"epoch": epoch, "seq": point}})
	if res := member(r, "resume"); r.Str("type") != "joined" || r.Str("epoch") != epoch || res["gap"] != false {
		t.Fatalf("resume from seq %d of %s, given after the restart = %v; want joined, same epoch, gap false", point, epoch, r)
	}
	for i := range 5 {
		want := fmt.Sprint("while ana was away ", i)
		if e := p.Until(func(e hubtest.Event) bool { return e.Str("type") == "message" }); e.Str("text") != want {
			t.Fatalf("replayed %v, want %q", e, want)
		}
	}
}

// Resync after a reconnect where Redis kept its data (a network blip)
// leaves the session buffer as it is: a resume from before it is still
// complete. It schedules the alert's escalation again under the same id,
// which fires once.
func TestResyncKeepsASurvivingBuffer(t *testing.T) {
	_, n1, n2 := rebuildNodes(t, hubtest.Options{EscalateAfter: 1500 * time.Millisecond})
	fac := track(t, n1.URL, "fac", protocol.RoleFacilitator, "r", "Dr. Lee")
	ana := track(t, n2.URL, "ana", protocol.RoleMember, "r", "Ana")

	ana.sendUntilOK(trigger)
	alert := fac.until(func(e hubtest.Event) bool { return e.Str("type") == "crisis_alert" })
	fac.sendUntilOK("before the blip")
	ana.await("before the blip")
	epoch, point := ana.epoch, ana.point
	_ = ana.p.WS.CloseNow()
	fac.sendUntilOK("missed 1")
	for _, n := range []*hubtest.Node{n1, n2} {
		n.Hub.Resync("r")
	}
	time.Sleep(300 * time.Millisecond) // Resync runs in a task of its own
	fac.sendUntilOK("missed 2")

	p := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	r := p.JoinFrame(hubtest.Event{"type": "join", "room": "r", "display_name": "Ana",
		"resume_from": map[string]any{"epoch": epoch, "seq": point}})
	if res := member(r, "resume"); r.Str("type") != "joined" || res["gap"] != false {
		t.Fatalf("resume from before Resync = %v; want gap false (the buffer survived)", r)
	}
	for _, want := range []string{"missed 1", "missed 2"} {
		if e := p.Until(func(e hubtest.Event) bool { return e.Str("type") == "message" }); e.Str("text") != want {
			t.Fatalf("replayed %v, want %q", e, want)
		}
	}

	escalated := 0
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		if e, ok := fac.p.Poll(100 * time.Millisecond); ok {
			fac.take(e)
			if e.Str("type") == "crisis_alert" && e.Str("alert_id") == alert.Str("alert_id") && e["escalated"] == true {
				escalated++
			}
		}
	}
	if escalated != 1 {
		t.Fatalf("the alert was escalated %d times; want once", escalated)
	}
}

// Regression: when an open alert's severity rose ("I want to die", then "I
// want to end my life"), its escalation was scheduled afresh from that
// moment — later than it was already due. A more serious alert must never
// wait longer: the escalation stays due EscalateAfter after the alert
// opened.
func TestRisingAlertIsNotEscalatedLater(t *testing.T) {
	rds, n1, n2 := rebuildNodes(t, hubtest.Options{EscalateAfter: time.Hour})
	fac := track(t, n1.URL, "fac", protocol.RoleFacilitator, "r", "Dr. Lee")
	ana := track(t, n2.URL, "ana", protocol.RoleMember, "r", "Ana")
	rdb := redis.NewClient(&redis.Options{Addr: rds.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	ana.sendUntilOK("I want to die")
	first := fac.until(func(e hubtest.Event) bool { return e.Str("type") == "crisis_alert" })
	key := "escalate:" + first.Str("alert_id")
	var due float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := rdb.ZScore(ctx, "hearth:timers", key).Result()
		if err == nil {
			due = s
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the escalation was never scheduled")
		}
		time.Sleep(10 * time.Millisecond)
	}

	time.Sleep(100 * time.Millisecond) // so that "from now" would be visibly later
	ana.sendUntilOK("I want to end my life")
	rose := fac.until(func(e hubtest.Event) bool {
		return e.Str("type") == "crisis_alert" && e.Str("alert_id") == first.Str("alert_id") && e.Str("severity") != first.Str("severity")
	})
	if rose["escalated"] == true {
		t.Fatalf("escalated already: %v", rose)
	}
	// The rise re-schedules right after telling the facilitators: watch
	// the due time for a while.
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if s, err := rdb.ZScore(ctx, "hearth:timers", key).Result(); err == nil && s > due {
			t.Fatalf("the escalation moved %v later when the alert grew more severe", time.Duration(s-due)*time.Millisecond)
		}
	}
}
