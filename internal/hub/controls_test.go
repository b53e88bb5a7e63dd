package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
	"hearth/internal/room"
)

// twoNodes starts two nodes over one private Redis.
func twoNodes(t *testing.T) (*hubtest.Node, *hubtest.Node) {
	t.Helper()
	rds := redistest.Start(t)
	return hubtest.StartNode(t, hubtest.Options{RedisURL: rds.URL()}), hubtest.StartNode(t, hubtest.Options{RedisURL: rds.URL()})
}

// newRoom creates a room led by "fac" with members on its roster.
func newRoom(t *testing.T, n *hubtest.Node, p room.CreateParams, members ...string) string {
	t.Helper()
	ctx := context.Background()
	fac := room.Actor{UserID: "fac", TokenRole: protocol.RoleFacilitator}
	if p.Name == "" {
		p.Name, p.Kind = "Tuesday group", room.KindSupport
	}
	r, err := n.Rooms.Create(ctx, fac, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if _, err := n.Rooms.AddMember(ctx, fac, r.ID, m); err != nil {
			t.Fatal(err)
		}
	}
	return r.ID
}

// noneUntil reads p's events up to the message whose text is marker,
// failing if an event of one of types arrives before it: what p must never
// be told (the marker, sent after the event under test, proves p would have
// had it by then).
func noneUntil(t *testing.T, p *hubtest.Peer, marker string, types ...string) {
	t.Helper()
	p.Until(func(e hubtest.Event) bool {
		if slices.Contains(types, e.Str("type")) {
			t.Fatalf("%s arrived, which this connection must never get: %v", e.Str("type"), e)
		}
		return e.Str("text") == marker
	})
}

func member(e hubtest.Event, k string) map[string]any { m, _ := e[k].(map[string]any); return m }

func ofType(typ string) func(hubtest.Event) bool {
	return func(e hubtest.Event) bool { return e.Str("type") == typ }
}

// req sends a command and fails the test unless it is answered ok.
func req(t *testing.T, p *hubtest.Peer, e hubtest.Event) {
	t.Helper()
	if r := p.Request(e); r.Str("type") != "ok" {
		t.Fatalf("%v: got %v", e, r)
	}
}

// The whole session lifecycle with a waiting room, facilitator on node 1 and
// members on node 2: idle rooms hold members in the lobby; facilitators see
// who waits; admit lets one in, deny turns one away; end_session takes the
// members out.
func TestLobbyAndSessionAcrossNodes(t *testing.T) {
	n1, n2 := twoNodes(t)
	id := newRoom(t, n1, room.CreateParams{WaitingRoom: true}, "ana", "ben")
	fac := hubtest.Dial(t, n1.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	j := fac.Join(id, "Dr. Lee")
	if st := member(j, "state"); st["phase"] != "idle" {
		t.Fatalf("joined.state = %v, want phase idle", st)
	}
	fac.UntilType("facilitator_state")

	ana := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	w := ana.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "Ana"})
	if w.Str("type") != "waiting" {
		t.Fatalf("join of an idle room = %v, want waiting", w)
	}
	anaID := member(w, "you")["member_id"].(string)
	fs := fac.Until(func(e hubtest.Event) bool {
		return e.Str("type") == "facilitator_state" && len(e["waiting"].([]any)) == 1
	})
	if wm := fs["waiting"].([]any)[0].(map[string]any); wm["member_id"] != anaID || wm["display_name"] != "Ana" {
		t.Fatalf("facilitator sees waiting %v", wm)
	}
	if r := ana.Request(hubtest.Event{"type": "send", "room": id, "text": "hello?"}); r.Str("code") != "in_lobby" {
		t.Fatalf("send from the lobby = %v, want in_lobby", r)
	}
	// A member cannot admit.
	if r := ana.Request(hubtest.Event{"type": "admit", "room": id, "member_id": anaID}); r.Str("code") != "in_lobby" {
		t.Fatalf("admit from the lobby = %v", r)
	}
	if r := fac.Request(hubtest.Event{"type": "admit", "room": id, "member_id": anaID}); r.Str("code") != "no_session" {
		t.Fatalf("admit before a session = %v, want no_session", r)
	}
	req(t, fac, hubtest.Event{"type": "start_session", "room": id, "minutes": 60})
	rs := fac.Until(func(e hubtest.Event) bool { return e.Str("type") == "room_state" && e.Str("phase") == "open" })
	if rs.Str("planned_end") == "" || rs.Num("seq") == 0 {
		t.Fatalf("room_state = %v", rs)
	}
	req(t, fac, hubtest.Event{"type": "admit", "room": id, "member_id": anaID})
	jn := ana.UntilType("joined")
	if member(jn, "state")["phase"] != "open" || len(jn["members"].([]any)) != 2 {
		t.Fatalf("admitted member's joined = %v", jn)
	}

	ben := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ben", protocol.RoleMember))
	wb := ben.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "Ben"})
	if wb.Str("type") != "waiting" {
		t.Fatalf("join with a waiting room = %v, want waiting", wb)
	}
	req(t, fac, hubtest.Event{"type": "deny", "room": id, "member_id": member(wb, "you")["member_id"]})
	if e := ben.UntilType("denied"); e.Str("room") != id {
		t.Fatalf("denied = %v", e)
	}
	// Refused either way: in_lobby while the node finishes turning him
	// away (the notice is queued first), not_joined after.
	if r := ben.Request(hubtest.Event{"type": "send", "room": id, "text": "x"}); r.Str("code") != "not_joined" && r.Str("code") != "in_lobby" {
		t.Fatalf("after deny: %v", r)
	}

	// Ana was admitted in this session: a reconnect is not held at the door.
	ana2 := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	if r := ana2.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "Ana"}); r.Str("type") != "joined" {
		t.Fatalf("reconnect of an admitted member = %v, want joined", r)
	}

	req(t, fac, hubtest.Event{"type": "end_session", "room": id})
	for _, p := range []*hubtest.Peer{ana, ana2, fac} {
		p.UntilType("session_ended")
	}
	for _, p := range []*hubtest.Peer{ana, ana2} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			if r := p.Request(hubtest.Event{"type": "send", "room": id, "text": "still here"}); r.Str("code") == "not_joined" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("member still in the room after end_session")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if r := fac.Request(hubtest.Event{"type": "send", "room": id, "text": "notes"}); r.Str("type") != "ok" {
		t.Fatalf("facilitator after end_session = %v (facilitators stay)", r)
	}
}

// chatRoom starts two nodes and a room with an open session, a facilitator
// on node 1 and members ana (node 2) and ben (node 1), all joined.
func chatRoom(t *testing.T) (n1, n2 *hubtest.Node, id string, fac, ana, ben *hubtest.Peer, anaID, benID string) {
	t.Helper()
	return chatRoomWith(t, hubtest.Options{})
}

// chatRoomWith is chatRoom with node options (the Redis URL is its own).
func chatRoomWith(t *testing.T, o hubtest.Options) (n1, n2 *hubtest.Node, id string, fac, ana, ben *hubtest.Peer, anaID, benID string) {
	t.Helper()
	o.RedisURL = redistest.Start(t).URL()
	n1, n2 = hubtest.StartNode(t, o), hubtest.StartNode(t, o)
	id = newRoom(t, n1, room.CreateParams{}, "ana", "ben")
	if _, err := n1.Rooms.StartSession(context.Background(), room.Actor{UserID: "fac"}, id, 60); err != nil {
		t.Fatal(err)
	}
	fac = hubtest.Dial(t, n1.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	fac.Join(id, "Dr. Lee")
	ana = hubtest.Dial(t, n2.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	anaID = member(ana.Join(id, "Ana"), "you")["member_id"].(string)
	ben = hubtest.Dial(t, n1.URL, hubtest.Token(t, "ben", protocol.RoleMember))
	benID = member(ben.Join(id, "Ben"), "you")["member_id"].(string)
	return
}

// Every control works with the facilitator on node 1 and the member on
// node 2, and only the member concerned is told what concerns them.
func TestControlsAcrossNodes(t *testing.T) {
	n1, n2, id, fac, ana, ben, anaID, benID := chatRoom(t)

	t.Run("warn reaches the member alone", func(t *testing.T) {
		req(t, fac, hubtest.Event{"type": "warn", "room": id, "member_id": anaID, "reason": "Please keep to the agreement."})
		if e := ana.UntilType("warned"); e.Str("reason") != "Please keep to the agreement." {
			t.Fatalf("warned = %v", e)
		}
		req(t, ben, hubtest.Event{"type": "send", "room": id, "text": "marker-warn"})
		noneUntil(t, ben, "marker-warn", "warned")
	})

	t.Run("mute and unmute", func(t *testing.T) {
		req(t, fac, hubtest.Event{"type": "mute", "room": id, "member_id": anaID, "minutes": 0, "reason": "Take a breath"})
		if e := ana.UntilType("muted"); e.Str("reason") != "Take a breath" || e.Str("until") != "" {
			t.Fatalf("muted notice = %v", e)
		}
		fs := fac.Until(func(e hubtest.Event) bool {
			return e.Str("type") == "facilitator_state" && len(e["muted"].([]any)) == 1
		})
		if fs["muted"].([]any)[0].(map[string]any)["member_id"] != anaID {
			t.Fatalf("facilitator_state = %v", fs)
		}
		if r := ana.Request(hubtest.Event{"type": "send", "room": id, "text": "can I?"}); r.Str("code") != "muted" || r.Str("reason") != "Take a breath" {
			t.Fatalf("send while muted = %v", r)
		}
		req(t, fac, hubtest.Event{"type": "unmute", "room": id, "member_id": anaID})
		ana.UntilType("unmuted")
		deadline := time.Now().Add(10 * time.Second)
		for ana.Request(hubtest.Event{"type": "send", "room": id, "text": "thanks"}).Str("type") != "ok" {
			if time.Now().After(deadline) {
				t.Fatal("still muted after unmute")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("timed mute carries its end and lifts by its timer", func(t *testing.T) {
		req(t, fac, hubtest.Event{"type": "mute", "room": id, "member_id": benID, "minutes": 5, "reason": "Cool down"})
		e := ben.UntilType("muted")
		until, err := time.Parse(time.RFC3339Nano, e.Str("until"))
		if err != nil || time.Until(until) < 4*time.Minute {
			t.Fatalf("timed mute notice = %v", e)
		}
		if r := ben.Request(hubtest.Event{"type": "send", "room": id, "text": "x"}); r.Str("code") != "muted" || r.Str("until") == "" {
			t.Fatalf("send while timed-muted = %v", r)
		}
		// A mute outlives the connection: a new tab is told on entry.
		ben2 := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ben", protocol.RoleMember))
		ben2.Join(id, "Ben")
		if e := ben2.UntilType("muted"); e.Str("until") == "" {
			t.Fatalf("muted notice on entry = %v", e)
		}
		req(t, fac, hubtest.Event{"type": "unmute", "room": id, "member_id": benID})
		ben.UntilType("unmuted")
	})

	t.Run("slow mode", func(t *testing.T) {
		req(t, fac, hubtest.Event{"type": "slow_mode", "room": id, "seconds": 60})
		ana.Until(func(e hubtest.Event) bool { return e.Str("type") == "room_state" && e.Num("slow_mode_sec") == 60 })
		req(t, ana, hubtest.Event{"type": "send", "room": id, "text": "first"})
		r := ana.Request(hubtest.Event{"type": "send", "room": id, "text": "second"})
		if r.Str("code") != "slow_mode" || r.Num("retry_after_ms") <= 0 || r.Num("retry_after_ms") > 60000 {
			t.Fatalf("second send in slow mode = %v", r)
		}
		req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "facilitators are not slowed"})
		req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "facilitators are not slowed 2"})
		req(t, fac, hubtest.Event{"type": "slow_mode", "room": id, "seconds": 0})
	})

	t.Run("pin and unpin", func(t *testing.T) {
		req(t, fac, hubtest.Event{"type": "pin", "room": id, "text": "Tonight: sleep and routines"})
		if e := ana.Until(func(e hubtest.Event) bool { return e.Str("type") == "room_state" && e.Str("pin") != "" }); e.Str("pin") != "Tonight: sleep and routines" {
			t.Fatalf("room_state = %v", e)
		}
		req(t, fac, hubtest.Event{"type": "unpin", "room": id})
		ana.Until(func(e hubtest.Event) bool { return e.Str("type") == "room_state" && e.Str("pin") == "" })
	})

	t.Run("delete message", func(t *testing.T) {
		ok := ana.Request(hubtest.Event{"type": "send", "room": id, "text": "oops"})
		mid := ok.Str("message_id")
		ben.Until(func(e hubtest.Event) bool { return e.Str("message_id") == mid })
		if r := ben.Request(hubtest.Event{"type": "delete_message", "room": id, "message_id": mid}); r.Str("code") != "forbidden" {
			t.Fatalf("member deleting another's message = %v", r)
		}
		req(t, ana, hubtest.Event{"type": "delete_message", "room": id, "message_id": mid})
		for _, p := range []*hubtest.Peer{fac, ben, ana} {
			p.Until(func(e hubtest.Event) bool { return e.Str("type") == "message_deleted" && e.Str("message_id") == mid })
		}
		ok = ben.Request(hubtest.Event{"type": "send", "room": id, "text": "to be removed by a facilitator"})
		req(t, fac, hubtest.Event{"type": "delete_message", "room": id, "message_id": ok.Str("message_id")})
		ana.Until(func(e hubtest.Event) bool {
			return e.Str("type") == "message_deleted" && e.Str("message_id") == ok.Str("message_id")
		})
	})

	t.Run("dm to someone not present", func(t *testing.T) {
		if r := fac.Request(hubtest.Event{"type": "dm", "room": id, "member_id": "nobody0000000000", "text": "hello?"}); r.Str("code") != "not_present" {
			t.Fatalf("dm to an absent member = %v, want not_present", r)
		}
	})

	t.Run("dm", func(t *testing.T) {
		facID := ""
		req(t, fac, hubtest.Event{"type": "dm", "room": id, "member_id": anaID, "text": "How are you doing?"})
		e := ana.UntilType("dm")
		facID = member(e, "from")["member_id"].(string)
		if e.Str("text") != "How are you doing?" || e.Str("to") != anaID {
			t.Fatalf("dm = %v", e)
		}
		req(t, ana, hubtest.Event{"type": "dm", "room": id, "member_id": facID, "text": "Better, thanks"})
		if e := fac.Until(func(e hubtest.Event) bool { return e.Str("type") == "dm" && e.Str("to") == facID }); e.Str("text") != "Better, thanks" {
			t.Fatalf("reply dm = %v", e)
		}
		if r := ana.Request(hubtest.Event{"type": "dm", "room": id, "member_id": benID, "text": "psst"}); r.Str("code") != "forbidden" {
			t.Fatalf("member-to-member dm = %v", r)
		}
		req(t, ben, hubtest.Event{"type": "send", "room": id, "text": "marker-dm"})
		noneUntil(t, ben, "marker-dm", "dm")
	})

	t.Run("report goes to facilitators only", func(t *testing.T) {
		ok := ben.Request(hubtest.Event{"type": "send", "room": id, "text": "something hurtful"})
		ana.Until(func(e hubtest.Event) bool { return e.Str("message_id") == ok.Str("message_id") })
		req(t, ana, hubtest.Event{"type": "report", "room": id, "message_id": ok.Str("message_id"), "reason": "unkind"})
		e := fac.UntilType("report")
		if e.Str("reporter_member_id") != anaID || e.Str("about_member_id") != benID || e.Str("text") != "something hurtful" {
			t.Fatalf("report = %v", e)
		}
		req(t, ana, hubtest.Event{"type": "send", "room": id, "text": "marker-report"})
		noneUntil(t, ben, "marker-report", "report")
	})

	t.Run("hide is personal", func(t *testing.T) {
		req(t, ana, hubtest.Event{"type": "hide", "room": id, "member_id": benID})
		hid := ben.Request(hubtest.Event{"type": "send", "room": id, "text": "hidden from ana"})
		if e := ana.Until(ofType("hidden")); e.Num("seq") != hid.Num("seq") || len(e) != 3 {
			t.Fatalf("stand-in for a hidden message = %v, want only seq %v, type and room", e, hid.Num("seq"))
		}
		fac.Until(func(e hubtest.Event) bool { return e.Str("text") == "hidden from ana" })
		req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "marker-hide"})
		ana.Until(func(e hubtest.Event) bool {
			if e.Str("text") == "hidden from ana" {
				t.Fatal("a hidden member's message was delivered")
			}
			return e.Str("text") == "marker-hide"
		})
		req(t, ana, hubtest.Event{"type": "unhide", "room": id, "member_id": benID})
	})

	t.Run("remove, then they may rejoin", func(t *testing.T) {
		req(t, fac, hubtest.Event{"type": "remove", "room": id, "member_id": benID})
		if e := ben.UntilType("removed"); e["banned"] == true {
			t.Fatalf("removed = %v", e)
		}
		fac.Until(func(e hubtest.Event) bool { return e.Str("type") == "member_left" && e.Str("member_id") == benID })
		if r := ben.Request(hubtest.Event{"type": "send", "room": id, "text": "x"}); r.Str("code") != "not_joined" {
			t.Fatalf("send after removal = %v", r)
		}
		ben.Join(id, "Ben")
	})

	t.Run("ban and unban", func(t *testing.T) {
		req(t, fac, hubtest.Event{"type": "ban", "room": id, "member_id": anaID})
		if e := ana.UntilType("removed"); e["banned"] != true {
			t.Fatalf("removed = %v", e)
		}
		if r := ana.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "Ana"}); r.Str("code") != "banned" {
			t.Fatalf("rejoin after ban = %v", r)
		}
		req(t, fac, hubtest.Event{"type": "unban", "room": id, "member_id": anaID})
		ana.Join(id, "Ana")
	})

	t.Run("lock holds newcomers at the door", func(t *testing.T) {
		req(t, fac, hubtest.Event{"type": "lock", "room": id})
		fac.Until(func(e hubtest.Event) bool { return e.Str("type") == "room_state" && e["locked"] == true })
		if _, err := n1.Rooms.AddMember(context.Background(), room.Actor{UserID: "fac"}, id, "cal"); err != nil {
			t.Fatal(err)
		}
		cal := hubtest.Dial(t, n2.URL, hubtest.Token(t, "cal", protocol.RoleMember))
		if r := cal.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "Cal"}); r.Str("type") != "waiting" {
			t.Fatalf("newcomer while locked = %v, want waiting", r)
		}
		ana2 := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ana", protocol.RoleMember))
		if r := ana2.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "Ana"}); r.Str("type") != "joined" {
			t.Fatalf("admitted member reconnecting while locked = %v, want joined", r)
		}
		req(t, fac, hubtest.Event{"type": "unlock", "room": id})
	})
}

// A member may not use any facilitator control, and a facilitator of one
// room is a plain member in another.
func TestMembersCannotUseFacilitatorControls(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	id := newRoom(t, n, room.CreateParams{}, "ana", "ben", "lee")
	other := room.Actor{UserID: "lee", TokenRole: protocol.RoleFacilitator}
	if _, err := n.Rooms.Create(context.Background(), other, room.CreateParams{Name: "Lee's own group", Kind: room.KindCBT}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Rooms.StartSession(context.Background(), room.Actor{UserID: "fac"}, id, 60); err != nil {
		t.Fatal(err)
	}
	fac := hubtest.Dial(t, n.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	fac.Join(id, "Fac")
	ben := hubtest.Dial(t, n.URL, hubtest.Token(t, "ben", protocol.RoleMember))
	benID := member(ben.Join(id, "Ben"), "you")["member_id"].(string)
	for _, who := range []struct{ sub, role string }{{"ana", protocol.RoleMember}, {"lee", protocol.RoleFacilitator}} {
		p := hubtest.Dial(t, n.URL, hubtest.Token(t, who.sub, who.role))
		p.Join(id, "P "+who.sub)
		for _, typ := range []string{"start_session", "begin_closing", "end_session", "admit", "admit_all", "deny", "warn", "mute",
			"unmute", "remove", "ban", "unban", "lock", "unlock", "slow_mode", "pin", "unpin"} {
			r := p.Request(hubtest.Event{"type": typ, "room": id, "member_id": benID, "reason": "r", "text": "t", "seconds": 5, "minutes": 5})
			if r.Str("code") != "forbidden" {
				t.Errorf("%s (token role %s) %s: got %v, want forbidden", who.sub, who.role, typ, r)
			}
		}
	}
	// Nothing changed: ben can still send, the room is not locked, nobody is banned.
	req(t, ben, hubtest.Event{"type": "send", "room": id, "text": "still fine"})
	r, err := n.Rooms.Load(context.Background(), id)
	if err != nil || len(r.Banned) > 0 || len(r.Muted) > 0 || r.Session.Locked || r.Phase != room.PhaseOpen {
		t.Fatalf("state changed by refused commands: %+v, %v", r, err)
	}
	if r := hubtest.Dial(t, n.URL, hubtest.Token(t, "stranger", protocol.RoleFacilitator)).JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "S"}); r.Str("code") != "not_member" {
		t.Fatalf("a non-member joining = %v, want not_member", r)
	}
}

func TestRoomFull(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	var subs []string
	for i := range 16 {
		subs = append(subs, fmt.Sprint("m", i))
	}
	id := newRoom(t, n, room.CreateParams{Capacity: 15}, subs...)
	if _, err := n.Rooms.StartSession(context.Background(), room.Actor{UserID: "fac"}, id, 60); err != nil {
		t.Fatal(err)
	}
	fac := hubtest.Dial(t, n.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	fac.Join(id, "Facilitators do not count")
	for i, s := range subs {
		p := hubtest.Dial(t, n.URL, hubtest.Token(t, s, protocol.RoleMember))
		r := p.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": s})
		want := "joined"
		if i == 15 {
			want = "room_full"
		}
		if got := r.Str("type"); got != want && r.Str("code") != want {
			t.Fatalf("member %d: %v, want %s", i+1, r, want)
		}
	}
}

// 50 concurrent controls from two facilitators on two nodes lose nothing:
// every mute and every ban lands, and the room's version counts every change.
func TestConcurrentControlsLoseNothing(t *testing.T) {
	n1, n2 := twoNodes(t)
	var members []string
	for i := range 50 {
		members = append(members, fmt.Sprint("target", i))
	}
	id := newRoom(t, n1, room.CreateParams{Capacity: 50}, append(members, "co")...)
	ctx := context.Background()
	if _, err := n1.Rooms.AddFacilitator(ctx, room.Actor{UserID: "fac"}, id, "co"); err != nil {
		t.Fatal(err)
	}
	if _, err := n1.Rooms.StartSession(ctx, room.Actor{UserID: "fac"}, id, 60); err != nil {
		t.Fatal(err)
	}
	f1 := hubtest.Dial(t, n1.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	f1.Join(id, "F1")
	f2 := hubtest.Dial(t, n2.URL, hubtest.Token(t, "co", protocol.RoleFacilitator))
	f2.Join(id, "F2")
	before, _ := n1.Rooms.Load(ctx, id)
	var wg sync.WaitGroup
	for k, p := range []*hubtest.Peer{f1, f2} {
		wg.Go(func() {
			for i := k; i < 50; i += 2 {
				typ := "mute"
				if k == 1 {
					typ = "ban"
				}
				p.Send(hubtest.Event{"type": typ, "room": id, "member_id": n1.Rooms.MemberID(id, members[i]), "id": fmt.Sprint(typ, i)})
			}
		})
	}
	wg.Wait()
	for k, p := range []*hubtest.Peer{f1, f2} {
		for n := 0; n < 25; {
			e := p.Next()
			if e.Str("type") == "error" {
				t.Fatalf("facilitator %d: %v", k, e)
			}
			if e.Str("type") == "ok" {
				n++
			}
		}
	}
	after, err := n1.Rooms.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Muted) != 25 || len(after.Banned) != 25 || after.Version != before.Version+50 {
		t.Fatalf("after 50 controls: %d muted, %d banned, version %d → %d; want 25, 25, +50", len(after.Muted), len(after.Banned), before.Version, after.Version)
	}
}

// The mute timer lifts a timed mute once, telling the member; a newer mute
// is not lifted by an old timer.
func TestMuteTimerLiftsTheMute(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	id := newRoom(t, n, room.CreateParams{}, "ana")
	ctx := context.Background()
	if _, err := n.Rooms.StartSession(ctx, room.Actor{UserID: "fac"}, id, 60); err != nil {
		t.Fatal(err)
	}
	ana := hubtest.Dial(t, n.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	anaID := member(ana.Join(id, "Ana"), "you")["member_id"].(string)
	_, m, err := n.Rooms.Mute(ctx, room.Actor{UserID: "fac"}, id, anaID, 3, "pause")
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"kind": "mute_lift", "room": id, "member_id": anaID, "at": m.Until})
	n.Hub.OnTimer(payload) // the timer firing, as the broker would hand it over at m.Until
	if e := ana.UntilType("unmuted"); e.Str("room") != id {
		t.Fatalf("unmuted = %v", e)
	}
	r, _ := n.Rooms.Load(ctx, id)
	if _, muted := r.Muted[anaID]; muted {
		t.Fatal("the mute is still recorded after its timer fired")
	}
	if !strings.Contains(string(payload), anaID) {
		t.Fatal("payload lost the member id")
	}
}

// A report about a facilitator's message goes to the other facilitators and
// to supervisors (on another node), not to that facilitator; what is stored
// is ids, reason and time — never the text — until acknowledged.
func TestReportAboutAFacilitatorReachesSupervisors(t *testing.T) {
	n1, n2 := twoNodes(t)
	id := newRoom(t, n1, room.CreateParams{}, "ana", "co")
	ctx := context.Background()
	lead := room.Actor{UserID: "fac"}
	if _, err := n1.Rooms.AddFacilitator(ctx, lead, id, "co"); err != nil {
		t.Fatal(err)
	}
	if _, err := n1.Rooms.StartSession(ctx, lead, id, 60); err != nil {
		t.Fatal(err)
	}
	sup := hubtest.Dial(t, n2.URL, hubtest.Token(t, "sup", protocol.RoleSupervisor))
	if r := sup.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "Sup"}); r.Str("code") != "forbidden" {
		t.Fatalf("supervisor join = %v, want forbidden", r)
	}
	fac := hubtest.Dial(t, n1.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	fac.Join(id, "Lead")
	co := hubtest.Dial(t, n1.URL, hubtest.Token(t, "co", protocol.RoleFacilitator))
	co.Join(id, "Co")
	ana := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	ana.Join(id, "Ana")

	ok := fac.Request(hubtest.Event{"type": "send", "room": id, "text": "a careless remark"})
	ana.Until(func(e hubtest.Event) bool { return e.Str("message_id") == ok.Str("message_id") })
	req(t, ana, hubtest.Event{"type": "report", "room": id, "message_id": ok.Str("message_id"), "reason": "dismissive"})
	for name, p := range map[string]*hubtest.Peer{"co-facilitator": co, "supervisor": sup} {
		if e := p.UntilType("report"); e.Str("text") != "a careless remark" || e.Str("report_id") == "" {
			t.Fatalf("%s got %v", name, e)
		}
	}
	req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "marker"})
	noneUntil(t, fac, "marker", "report")

	supActor := room.Actor{UserID: "sup", TokenRole: protocol.RoleSupervisor}
	reps, err := n2.Rooms.Reports(ctx, supActor, id)
	if err != nil || len(reps) != 1 || reps[0].Reason != "dismissive" {
		t.Fatalf("stored reports = %+v, %v", reps, err)
	}
	if raw, _ := json.Marshal(reps); strings.Contains(string(raw), "careless") {
		t.Fatalf("a stored report holds the message text: %s", raw)
	}
	if _, err := n2.Rooms.Audit(ctx, supActor, id, 0, 10); err != nil {
		t.Fatalf("supervisor reading the audit log: %v", err)
	}
	if _, err := n2.Rooms.Reports(ctx, room.Actor{UserID: "ana", TokenRole: protocol.RoleMember}, id); err == nil {
		t.Fatal("a member read the reports")
	}
	if err := n1.Rooms.AckReport(ctx, supActor, id, reps[0].ID); err != nil {
		t.Fatal(err)
	}
	if reps, _ := n1.Rooms.Reports(ctx, lead, id); len(reps) != 0 {
		t.Fatalf("reports after ack = %+v", reps)
	}
}

// The session timers, as the broker hands them over when due: the
// 10-minute notice reaches facilitators only, auto-lock locks the session it
// was set for (and not a later one).
func TestSessionTimers(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	id := newRoom(t, n, room.CreateParams{AutoLockAfter: 20}, "ana")
	ctx := context.Background()
	r, err := n.Rooms.StartSession(ctx, room.Actor{UserID: "fac"}, id, 60)
	if err != nil {
		t.Fatal(err)
	}
	fac := hubtest.Dial(t, n.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	fac.Join(id, "Fac")
	ana := hubtest.Dial(t, n.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	ana.Join(id, "Ana")
	fire := func(kind string, startedAt time.Time) {
		p, _ := json.Marshal(map[string]any{"kind": kind, "room": id, "started_at": startedAt})
		n.Hub.OnTimer(p)
	}
	fire("ending_soon", r.Session.StartedAt)
	if e := fac.UntilType("session_ending_soon"); e.Str("planned_end") == "" {
		t.Fatalf("session_ending_soon = %v", e)
	}
	fire("auto_lock", r.Session.StartedAt.Add(-time.Hour)) // an older session's timer: nothing happens
	fire("auto_lock", r.Session.StartedAt)
	if e := ana.Until(func(e hubtest.Event) bool { return e.Str("type") == "room_state" }); e["locked"] != true {
		t.Fatalf("room_state after auto-lock = %v", e)
	}
	req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "marker"})
	noneUntil(t, ana, "marker", "session_ending_soon")
}

// A session that reaches the maximum session length ends by itself, once:
// members are told and taken out of the room; an older session's timer
// does nothing.
func TestSessionEndsAtMax(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	id := newRoom(t, n, room.CreateParams{}, "ana")
	ctx := context.Background()
	r, err := n.Rooms.StartSession(ctx, room.Actor{UserID: "fac"}, id, 60)
	if err != nil {
		t.Fatal(err)
	}
	ana := hubtest.Dial(t, n.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	ana.Join(id, "Ana")
	fire := func(startedAt time.Time) {
		p, _ := json.Marshal(map[string]any{"kind": "session_max", "room": id, "started_at": startedAt})
		n.Hub.OnTimer(p)
	}
	fire(r.Session.StartedAt.Add(-time.Hour)) // another session's: nothing
	req(t, ana, hubtest.Event{"type": "send", "room": id, "text": "still open"})
	fire(r.Session.StartedAt)
	ana.UntilType("session_ended")
	if e := ana.Until(ofType("room_state")); e.Str("phase") != "ended" {
		t.Fatalf("room_state = %v", e)
	}
	entries, err := n.Rooms.Audit(ctx, room.Actor{UserID: "fac"}, id, 0, 10)
	if err != nil || len(entries) == 0 || entries[0].Action != "session_max" || entries[0].Actor != room.SystemActor {
		t.Fatalf("audit = %v, %v", entries, err)
	}
}
