package hub_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
)

// resumeRoom starts two nodes over a private Redis and an open room "r"
// (session buffer on) with a facilitator on node 1 and ana and ben on
// node 2.
func resumeRoom(t *testing.T, o hubtest.Options) (rds *redistest.Server, n1, n2 *hubtest.Node, fac, ana, ben *hubtest.Peer, j hubtest.Event, benID string) {
	t.Helper()
	rds = redistest.Start(t)
	o.RedisURL, o.Unlimited = rds.URL(), true
	n1, n2 = hubtest.StartNode(t, o), hubtest.StartNode(t, o)
	n1.OpenRoom(t, "r", "fac", "ana", "ben")
	fac = hubtest.Dial(t, n1.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	fac.Join("r", "Dr. Lee")
	ana = hubtest.Dial(t, n2.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	j = ana.Join("r", "Ana")
	ben = hubtest.Dial(t, n2.URL, hubtest.Token(t, "ben", protocol.RoleMember))
	benID = member(ben.Join("r", "Ben"), "you")["member_id"].(string)
	return
}

// lastSeq reads p's events until the message with text, returning its seq.
func seqOf(p *hubtest.Peer, text string) uint64 {
	e := p.Until(func(e hubtest.Event) bool { return e.Str("text") == text })
	return uint64(e.Num("seq"))
}

// A member whose connection drops resumes from the last seq they saw and
// gets exactly what they missed — here 20 messages sent on the other node —
// in order, once, then live events; nothing of a hidden member's words.
func TestResumeGetsExactlyWhatWasMissed(t *testing.T) {
	_, n1, _, fac, ana, ben, j, benID := resumeRoom(t, hubtest.Options{})
	epoch := j.Str("epoch")
	if epoch == "" || j.Num("seq") == 0 {
		t.Fatalf("joined without epoch or seq: %v", j)
	}
	req(t, fac, hubtest.Event{"type": "send", "room": "r", "text": "before the drop"})
	last := seqOf(ana, "before the drop")
	_ = ana.WS.CloseNow()
	for i := range 20 {
		p := fac
		if i%5 == 4 {
			p = ben // a few from ben, whom ana hides
		}
		req(t, p, hubtest.Event{"type": "send", "room": "r", "text": fmt.Sprint("missed ", i)})
	}
	ana2 := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	r := ana2.JoinFrame(hubtest.Event{"type": "join", "room": "r", "display_name": "Ana", "hidden": []string{benID},
		"resume_from": map[string]any{"epoch": epoch, "seq": last}})
	if r.Str("type") != "joined" || member(r, "resume")["gap"] != false {
		t.Fatalf("resume = %v", r)
	}
	var got []string
	prev := last
	for len(got) < 20 {
		e := ana2.Next()
		if s := uint64(e.Num("seq")); s != 0 {
			if s <= prev {
				t.Fatalf("seq %d after %d: out of order or twice", s, prev)
			}
			prev = s
		}
		switch e.Str("type") {
		case "message":
			got = append(got, e.Str("text"))
		case "hidden":
			got = append(got, "(hidden)")
		}
	}
	for i, text := range got {
		want := fmt.Sprint("missed ", i)
		if i%5 == 4 {
			want = "(hidden)"
		}
		if text != want {
			t.Fatalf("replayed %q at %d, want %q; all: %v", text, i, want, got)
		}
	}
	req(t, fac, hubtest.Event{"type": "send", "room": "r", "text": "live again"})
	if e := ana2.Until(func(e hubtest.Event) bool { return e.Str("type") == "message" }); e.Str("text") != "live again" {
		t.Fatalf("after the replay: %v", e)
	}
}

// Resuming from further back than the session buffer holds (500 events)
// says gap: the client tells the member some messages could not be
// recovered; so does a resume from another epoch.
func TestResumeBeyondTheBufferIsAGap(t *testing.T) {
	_, n1, _, fac, ana, _, j, _ := resumeRoom(t, hubtest.Options{})
	_ = ana.WS.CloseNow()
	for i := range 510 {
		fac.Send(hubtest.Event{"type": "send", "room": "r", "text": fmt.Sprint("m", i), "id": fmt.Sprint("s", i)})
		if i%50 == 49 { // in steps, as a reader that keeps up would
			awaitOKs(t, fac, 50)
		}
	}
	awaitOKs(t, fac, 10)
	ana2 := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	r := ana2.JoinFrame(hubtest.Event{"type": "join", "room": "r", "display_name": "Ana",
		"resume_from": map[string]any{"epoch": j.Str("epoch"), "seq": j.Num("seq")}})
	if res := member(r, "resume"); r.Str("type") != "joined" || res["gap"] != true || res["replayed"].(float64) > 500 {
		t.Fatalf("resume from beyond the buffer = %v", r)
	}
	req(t, ana2, hubtest.Event{"type": "leave", "room": "r"})
	r = ana2.JoinFrame(hubtest.Event{"type": "join", "room": "r", "display_name": "Ana",
		"resume_from": map[string]any{"epoch": "e-from-before-a-redis-restart", "seq": 3}})
	if res := member(r, "resume"); r.Str("type") != "joined" || res["gap"] != true || res["replayed"].(float64) != 0 {
		t.Fatalf("resume from another epoch = %v", r)
	}
}

// A member removed from the room and let back in resumes nothing from
// before they were back, whatever seq they ask for.
func TestResumeNeverReplaysBeforeAdmission(t *testing.T) {
	_, n1, _, fac, ana, _, j, _ := resumeRoom(t, hubtest.Options{})
	anaID := member(j, "you")["member_id"].(string)
	req(t, fac, hubtest.Event{"type": "remove", "room": "r", "member_id": anaID})
	ana.UntilType("removed")
	req(t, fac, hubtest.Event{"type": "send", "room": "r", "text": "said while ana was out"})
	ana2 := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	r := ana2.JoinFrame(hubtest.Event{"type": "join", "room": "r", "display_name": "Ana",
		"resume_from": map[string]any{"epoch": j.Str("epoch"), "seq": j.Num("seq")}})
	if res := member(r, "resume"); r.Str("type") != "joined" || res["replayed"].(float64) != 0 {
		t.Fatalf("resume after removal = %v", r)
	}
	req(t, fac, hubtest.Event{"type": "send", "room": "r", "text": "marker"})
	ana2.Until(func(e hubtest.Event) bool {
		if e.Str("text") == "said while ana was out" {
			t.Fatal("a removed member got what was said while they were out")
		}
		return e.Str("text") == "marker"
	})
}

// The session buffer lives only as long as the session: after end_session
// no key of it remains in Redis, and at HEARTH_SESSION_MAX it goes by
// itself (the session ends then too).
func TestSessionBufferGoesWithTheSession(t *testing.T) {
	rds, _, _, fac, _, _, _, _ := resumeRoom(t, hubtest.Options{SessionMax: 3 * time.Second})
	rdb := redis.NewClient(&redis.Options{Addr: rds.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	bufferKeys := func() []string {
		keys, err := rdb.Keys(ctx, "hearth:{r}:buf*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	req(t, fac, hubtest.Event{"type": "send", "room": "r", "text": "in the session"})
	if len(bufferKeys()) == 0 {
		t.Fatal("no session buffer while the session is open")
	}
	fac.UntilType("session_ended") // SessionMax: the session ends by itself
	deadline := time.Now().Add(10 * time.Second)
	for len(bufferKeys()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("buffer keys left after the session maximum: %v", bufferKeys())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// And end_session deletes it at once.
	req(t, fac, hubtest.Event{"type": "start_session", "room": "r", "minutes": 60})
	req(t, fac, hubtest.Event{"type": "send", "room": "r", "text": "second session"})
	if len(bufferKeys()) == 0 {
		all, _ := rdb.Keys(ctx, "*").Result()
		t.Fatalf("no session buffer in the second session; keys %v", all)
	}
	req(t, fac, hubtest.Event{"type": "end_session", "room": "r"})
	if keys := bufferKeys(); len(keys) > 0 {
		t.Fatalf("after end_session: %v", keys)
	}
	if strings.Contains(rds.Contents(t), "second session") {
		t.Fatal("the message text survives in Redis after end_session")
	}
}

// Regression (found by a fresh tester): a member who left on purpose and
// came back with resume_from got what was said while they were away.
// Leaving ends the admission; only a dropped connection resumes.
func TestResumeAfterLeavingReplaysNothing(t *testing.T) {
	_, n1, _, fac, ana, _, j, _ := resumeRoom(t, hubtest.Options{})
	req(t, fac, hubtest.Event{"type": "send", "room": "r", "text": "before ana left"})
	last := seqOf(ana, "before ana left")
	req(t, ana, hubtest.Event{"type": "leave", "room": "r"})
	fac.Until(func(e hubtest.Event) bool { return e.Str("type") == "member_left" })
	req(t, fac, hubtest.Event{"type": "send", "room": "r", "text": "said after ana left"})
	ana2 := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	r := ana2.JoinFrame(hubtest.Event{"type": "join", "room": "r", "display_name": "Ana",
		"resume_from": map[string]any{"epoch": j.Str("epoch"), "seq": last}})
	if res := member(r, "resume"); r.Str("type") != "joined" || res["replayed"].(float64) != 0 {
		t.Fatalf("resume after leaving = %v", r)
	}
	req(t, fac, hubtest.Event{"type": "send", "room": "r", "text": "marker"})
	ana2.Until(func(e hubtest.Event) bool {
		if e.Str("text") == "said after ana left" {
			t.Fatal("a member who left got what was said while she was away")
		}
		return e.Str("text") == "marker"
	})
}
