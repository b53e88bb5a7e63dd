package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
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

// ids returns a queue event's list field as strings.
func ids(e hubtest.Event, k string) []string {
	var out []string
	for _, v := range e[k].([]any) {
		out = append(out, v.(string))
	}
	return out
}

// untilQueue returns the next queue event that satisfies match.
func untilQueue(p *hubtest.Peer, match func(hubtest.Event) bool) hubtest.Event {
	return p.Until(func(e hubtest.Event) bool { return e.Str("type") == "queue" && match(e) })
}

func errCode(t *testing.T, p *hubtest.Peer, e hubtest.Event, code string) {
	t.Helper()
	if r := p.Request(e); r.Str("code") != code {
		t.Fatalf("%v: got %v, want error %s", e, r, code)
	}
}

// The floor goes only to a raised hand: a facilitator's give_floor to a
// member who never raised a hand is refused with not_volunteered and
// changes nothing, and no frame lets anyone put another member in the queue
// or switch their presence.
func TestGiveFloorOnlyToVolunteers(t *testing.T) {
	n1, _, id, fac, ana, ben, anaID, benID := chatRoomWith(t, hubtest.Options{Unlimited: true})
	errCode(t, fac, hubtest.Event{"type": "give_floor", "room": id, "member_id": anaID}, "not_volunteered")
	errCode(t, fac, hubtest.Event{"type": "next_speaker", "room": id}, "queue_empty")
	// No way round it: a facilitator's raise_hand or set_presence naming a
	// member acts on nobody else.
	errCode(t, fac, hubtest.Event{"type": "raise_hand", "room": id, "member_id": anaID}, "forbidden")
	errCode(t, fac, hubtest.Event{"type": "set_presence", "room": id, "as": "observer", "member_id": anaID}, "forbidden")
	// Members cannot hand out the floor.
	req(t, ben, hubtest.Event{"type": "raise_hand", "room": id})
	errCode(t, ana, hubtest.Event{"type": "give_floor", "room": id, "member_id": benID}, "forbidden")

	// State unchanged for ana: a fresh connection's joined.share has only
	// ben's hand, no floor, no observers.
	q := untilQueue(ana, func(hubtest.Event) bool { return true })
	if got := ids(q, "queue"); !slices.Equal(got, []string{benID}) || q.Str("floor") != "" || len(ids(q, "observers")) != 0 {
		t.Fatalf("queue after ben raised = %v", q)
	}
	fresh := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	share := member(fresh.Join(id, "Ana"), "share")
	if share["floor"] != nil || len(share["observers"].([]any)) != 0 || fmt.Sprint(share["queue"]) != fmt.Sprint([]any{benID}) {
		t.Fatalf("joined.share after refused controls = %v", share)
	}
	// The volunteer does get the floor.
	req(t, fac, hubtest.Event{"type": "give_floor", "room": id, "member_id": benID})
	q = untilQueue(ana, func(e hubtest.Event) bool { return e.Str("floor") != "" })
	if q.Str("floor") != benID || len(ids(q, "queue")) != 0 || q.Str("turn_started") == "" {
		t.Fatalf("queue after give_floor = %v", q)
	}
}

// pass by the speaker frees the floor, and nothing any other member or the
// facilitator receives says that someone passed: they see a queue event of
// exactly the shape an ended turn makes.
func TestPassIsPrivate(t *testing.T) {
	_, _, id, fac, ana, ben, anaID, _ := chatRoomWith(t, hubtest.Options{Unlimited: true})
	req(t, fac, hubtest.Event{"type": "set_mode", "room": id, "mode": "rounds"})
	ana.Until(ofType("room_state")) // ana's node has heard of it
	req(t, ana, hubtest.Event{"type": "raise_hand", "room": id})
	req(t, fac, hubtest.Event{"type": "give_floor", "room": id, "member_id": anaID})
	untilQueue(ben, func(e hubtest.Event) bool { return e.Str("floor") == anaID })
	untilQueue(fac, func(e hubtest.Event) bool { return e.Str("floor") == anaID })

	req(t, ana, hubtest.Event{"type": "pass", "room": id})
	req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "marker after the turn"})
	var afterPass hubtest.Event
	for _, p := range []*hubtest.Peer{ben, fac} {
		for {
			e := p.Next()
			raw, _ := json.Marshal(e)
			if s := strings.ToLower(string(raw)); strings.Contains(s, `"pass`) || strings.Contains(s, `pass"`) || strings.Contains(s, "passed") {
				t.Fatalf("another person received a frame that mentions passing: %s", raw)
			}
			if e.Str("type") == "queue" && p == ben {
				afterPass = e
			}
			if e.Str("text") == "marker after the turn" {
				break
			}
		}
	}
	if afterPass == nil || afterPass.Str("floor") != "" {
		t.Fatalf("ben's queue event after the pass = %v, want the floor free", afterPass)
	}
	// Ana can no longer post in rounds mode.
	errCode(t, ana, hubtest.Event{"type": "send", "room": id, "text": "x"}, "not_your_turn")

	// The same turn ended by end_turn looks exactly alike.
	req(t, ana, hubtest.Event{"type": "raise_hand", "room": id})
	req(t, fac, hubtest.Event{"type": "give_floor", "room": id, "member_id": anaID})
	untilQueue(ben, func(e hubtest.Event) bool { return e.Str("floor") == anaID })
	req(t, ana, hubtest.Event{"type": "end_turn", "room": id})
	afterEnd := untilQueue(ben, func(e hubtest.Event) bool { return e.Str("floor") == "" })
	if a, b := slices.Sorted(maps.Keys(afterPass)), slices.Sorted(maps.Keys(afterEnd)); !slices.Equal(a, b) {
		t.Fatalf("a pass and an ended turn look different: %v vs %v", a, b)
	}
	// pass is always accepted, even with nothing to pass.
	req(t, ben, hubtest.Event{"type": "pass", "room": id})
	req(t, fac, hubtest.Event{"type": "pass", "room": id})
}

// In rounds mode only the floor holder and facilitators post; observers
// never post, in any mode, but may react and pass.
func TestRoundsModeAndObservers(t *testing.T) {
	n1, _, id, fac, ana, ben, anaID, benID := chatRoomWith(t, hubtest.Options{Unlimited: true})
	if err := addMembers(n1, id, "cleo"); err != nil {
		t.Fatal(err)
	}
	cleo := hubtest.Dial(t, n1.URL, hubtest.Token(t, "cleo", protocol.RoleMember))
	j := cleo.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "Cleo", "as": "observer"})
	cleoID := member(j, "you")["member_id"].(string)
	if obs := member(j, "share")["observers"].([]any); len(obs) != 1 || obs[0] != cleoID {
		t.Fatalf("joined.share of an observer = %v", member(j, "share"))
	}
	untilQueue(ana, func(e hubtest.Event) bool { return slices.Contains(ids(e, "observers"), cleoID) })

	errCode(t, cleo, hubtest.Event{"type": "send", "room": id, "text": "hi"}, "observer")
	errCode(t, cleo, hubtest.Event{"type": "raise_hand", "room": id}, "observer")
	m := ben.Request(hubtest.Event{"type": "send", "room": id, "text": "open mode"})
	if m.Str("type") != "ok" {
		t.Fatalf("send in open mode = %v", m)
	}
	cleo.Until(func(e hubtest.Event) bool { return e.Str("message_id") == m.Str("message_id") }) // she has seen it
	req(t, cleo, hubtest.Event{"type": "react", "room": id, "message_id": m.Str("message_id"), "reaction": "heart"})
	req(t, cleo, hubtest.Event{"type": "pass", "room": id})

	req(t, fac, hubtest.Event{"type": "set_mode", "room": id, "mode": "rounds"})
	for _, p := range []*hubtest.Peer{ana, ben} { // both nodes have heard of it
		if e := p.Until(ofType("room_state")); e.Str("mode") != "rounds" {
			t.Fatalf("room_state after set_mode = %v", e)
		}
	}
	errCode(t, ana, hubtest.Event{"type": "send", "room": id, "text": "no floor"}, "not_your_turn")
	errCode(t, ben, hubtest.Event{"type": "send", "room": id, "text": "no floor"}, "not_your_turn")
	req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "facilitators always may"})
	req(t, ana, hubtest.Event{"type": "raise_hand", "room": id})
	req(t, fac, hubtest.Event{"type": "give_floor", "room": id, "member_id": anaID})
	req(t, ana, hubtest.Event{"type": "send", "room": id, "text": "my turn"})
	errCode(t, ben, hubtest.Event{"type": "send", "room": id, "text": "not mine"}, "not_your_turn")
	errCode(t, cleo, hubtest.Event{"type": "send", "room": id, "text": "observer"}, "observer")
	errCode(t, ben, hubtest.Event{"type": "end_turn", "room": id}, "not_your_turn")
	req(t, fac, hubtest.Event{"type": "end_turn", "room": id})
	errCode(t, ana, hubtest.Event{"type": "send", "room": id, "text": "after my turn"}, "not_your_turn")

	// An observer who chooses to take part may raise a hand and be given
	// the floor; becoming an observer again lowers the hand.
	req(t, cleo, hubtest.Event{"type": "set_presence", "room": id, "as": "participant"})
	req(t, cleo, hubtest.Event{"type": "raise_hand", "room": id})
	req(t, ben, hubtest.Event{"type": "raise_hand", "room": id})
	req(t, fac, hubtest.Event{"type": "next_speaker", "room": id})
	q := untilQueue(ana, func(e hubtest.Event) bool { return e.Str("floor") != "" && e.Str("floor") != anaID })
	if q.Str("floor") != cleoID || !slices.Equal(ids(q, "queue"), []string{benID}) || len(ids(q, "observers")) != 0 {
		t.Fatalf("next_speaker = %v, want cleo (first raised) on the floor and ben waiting", q)
	}
	req(t, cleo, hubtest.Event{"type": "send", "room": id, "text": "sharing now"})
	req(t, cleo, hubtest.Event{"type": "set_presence", "room": id, "as": "observer"})
	q = untilQueue(ana, func(e hubtest.Event) bool { return slices.Contains(ids(e, "observers"), cleoID) })
	if q.Str("floor") != "" {
		t.Fatalf("an observer still holds the floor: %v", q)
	}

	// Back to open: members post again, the observer still does not.
	req(t, fac, hubtest.Event{"type": "set_mode", "room": id, "mode": "open"})
	ana.Until(func(e hubtest.Event) bool { return e.Str("type") == "room_state" && e.Str("mode") == "open" })
	req(t, ana, hubtest.Event{"type": "send", "room": id, "text": "open again"})
	errCode(t, cleo, hubtest.Event{"type": "send", "room": id, "text": "x"}, "observer")

	// Facilitators always take part; bad values are named.
	facTab := hubtest.Dial(t, n1.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	errCode(t, facTab, hubtest.Event{"type": "join", "room": id, "display_name": "Dr. Lee", "as": "observer"}, "forbidden")
	errCode(t, fac, hubtest.Event{"type": "set_mode", "room": id, "mode": "hot_seat"}, "bad_field")
	errCode(t, ana, hubtest.Event{"type": "set_presence", "room": id, "as": "lurker"}, "bad_field")
	errCode(t, ana, hubtest.Event{"type": "set_mode", "room": id, "mode": "rounds"}, "forbidden")
	errCode(t, fac, hubtest.Event{"type": "share_timer", "room": id, "seconds": 5}, "invalid_request")

	// A member who leaves leaves the queue and the observers.
	req(t, ben, hubtest.Event{"type": "leave", "room": id})
	req(t, cleo, hubtest.Event{"type": "leave", "room": id})
	untilQueue(ana, func(e hubtest.Event) bool {
		return len(ids(e, "queue")) == 0 && len(ids(e, "observers")) == 0
	})
}

// awaitOKs waits for n ok replies on p, failing on any error reply, and
// returns the last one.
func awaitOKs(t *testing.T, p *hubtest.Peer, n int) hubtest.Event {
	t.Helper()
	var last hubtest.Event
	for got := 0; got < n; {
		switch e := p.Next(); e.Str("type") {
		case "error":
			t.Fatalf("error reply: %v", e)
		case "ok":
			got, last = got+1, e
		}
	}
	return last
}

func addMembers(n *hubtest.Node, id string, users ...string) error {
	for _, u := range users {
		if _, err := n.Rooms.AddMember(context.Background(), room.Actor{UserID: "fac"}, id, u); err != nil {
			return err
		}
	}
	return nil
}

// groupOnTwoNodes starts two nodes over one private Redis and a room with an
// open session and n members joined, alternating between the nodes, plus a
// facilitator watching from each node.
func groupOnTwoNodes(t *testing.T, n int) (id string, watchers [2]*hubtest.Peer, members []*hubtest.Peer, memberIDs []string) {
	t.Helper()
	url := redistest.Start(t).URL()
	nodes := [2]*hubtest.Node{hubtest.StartNode(t, hubtest.Options{RedisURL: url, Unlimited: true}),
		hubtest.StartNode(t, hubtest.Options{RedisURL: url, Unlimited: true})}
	var users []string
	for i := range n {
		users = append(users, fmt.Sprint("m", i))
	}
	id = newRoom(t, nodes[0], room.CreateParams{Capacity: n}, append(users, "co")...)
	ctx := context.Background()
	if _, err := nodes[0].Rooms.AddFacilitator(ctx, room.Actor{UserID: "fac"}, id, "co"); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[0].Rooms.StartSession(ctx, room.Actor{UserID: "fac"}, id, 60); err != nil {
		t.Fatal(err)
	}
	for k, u := range []string{"fac", "co"} {
		watchers[k] = hubtest.Dial(t, nodes[k].URL, hubtest.Token(t, u, protocol.RoleFacilitator))
		watchers[k].Join(id, u)
	}
	for i, u := range users {
		p := hubtest.Dial(t, nodes[i%2].URL, hubtest.Token(t, u, protocol.RoleMember))
		members = append(members, p)
		memberIDs = append(memberIDs, member(p.Join(id, u), "you")["member_id"].(string))
	}
	return id, watchers, members, memberIDs
}

// Queue order and the floor are the same on two nodes under concurrent
// raise/lower from 12 members, and match what each member last did.
func TestQueueSameOnTwoNodesUnderConcurrency(t *testing.T) {
	const n, rounds = 12, 5
	id, watchers, members, memberIDs := groupOnTwoNodes(t, n)
	var wg sync.WaitGroup
	for i, p := range members {
		wg.Go(func() {
			for r := range rounds {
				p.Send(hubtest.Event{"type": "raise_hand", "room": id, "id": fmt.Sprint("r", r)})
				if r < rounds-1 || i%2 == 1 { // even members end with their hand up
					p.Send(hubtest.Event{"type": "lower_hand", "room": id, "id": fmt.Sprint("l", r)})
				}
			}
		})
	}
	wg.Wait()
	for i, p := range members { // every command answered ok
		awaitOKs(t, p, 2*rounds-1+i%2)
	}
	var wantSet []string
	for i, m := range memberIDs {
		if i%2 == 0 {
			wantSet = append(wantSet, m)
		}
	}
	slices.Sort(wantSet)
	// Then the facilitator on node 1 gives the floor to the first hand.
	req(t, watchers[0], hubtest.Event{"type": "next_speaker", "room": id})
	var finals [2]hubtest.Event
	for k, w := range watchers {
		finals[k] = untilQueue(w, func(e hubtest.Event) bool { return e.Str("floor") != "" })
		got := append(ids(finals[k], "queue"), finals[k].Str("floor"))
		slices.Sort(got)
		if !slices.Equal(got, wantSet) {
			t.Fatalf("node %d: queue+floor = %v, want the even members %v", k+1, got, wantSet)
		}
	}
	if fmt.Sprint(finals[0]) != fmt.Sprint(finals[1]) {
		t.Fatalf("the nodes disagree:\n node 1: %v\n node 2: %v", finals[0], finals[1])
	}
	// Queue events reached both nodes in the same order with increasing
	// versions (checked on what a fresh joiner on each node is told).
	for k := range watchers {
		if v := finals[k].Num("version"); v == 0 {
			t.Fatalf("node %d: queue event without a version: %v", k+1, finals[k])
		}
	}
}

// Reaction counts are right under concurrent toggles from two nodes, carry
// no member ids, and each reply says what the caller now has.
func TestReactionsUnderConcurrentToggles(t *testing.T) {
	const n = 12
	id, watchers, members, memberIDs := groupOnTwoNodes(t, n)
	msg := watchers[0].Request(hubtest.Event{"type": "send", "room": id, "text": "I made it through the week"})
	msgID := msg.Str("message_id")
	for _, p := range members {
		p.Until(func(e hubtest.Event) bool { return e.Str("message_id") == msgID })
	}
	var wg sync.WaitGroup
	for i, p := range members {
		wg.Go(func() {
			// heart three times (ends on), support twice (ends off), and
			// me_too once for even members.
			seq := []string{"heart", "support", "heart", "support", "heart"}
			if i%2 == 0 {
				seq = append(seq, "me_too")
			}
			for k, r := range seq {
				p.Send(hubtest.Event{"type": "react", "room": id, "message_id": msgID, "reaction": r, "id": fmt.Sprint("x", k)})
			}
		})
	}
	wg.Wait()
	for i, p := range members {
		mine := fmt.Sprint(awaitOKs(t, p, 5+1-i%2)["mine"])
		if (i%2 == 0 && mine != "[heart me_too]") || (i%2 == 1 && mine != "[heart]") {
			t.Fatalf("member %d: last reply mine = %s", i, mine)
		}
	}
	wantCounts := fmt.Sprint(map[string]any{"heart": float64(n), "me_too": float64(n / 2)})
	for k, w := range watchers {
		e := w.Until(func(e hubtest.Event) bool {
			return e.Str("type") == "reactions" && fmt.Sprint(e["counts"]) == wantCounts
		})
		raw, _ := json.Marshal(e)
		for _, m := range memberIDs {
			if strings.Contains(string(raw), m) {
				t.Fatalf("node %d: a reactions event names a member: %s", k+1, raw)
			}
		}
	}
	errCode(t, members[0], hubtest.Event{"type": "react", "room": id, "message_id": msgID, "reaction": "thumbs_down"}, "invalid_reaction")
	errCode(t, members[0], hubtest.Event{"type": "react", "room": id, "message_id": "nosuchmessage000", "reaction": "heart"}, "not_found")
}

// When a turn's soft time box runs out, the speaker and the facilitators
// get timer_elapsed — nobody else — and nothing is cut off; a timer for a
// turn that already ended does nothing.
func TestShareTimerElapsed(t *testing.T) {
	n1, _, id, fac, ana, ben, anaID, _ := chatRoomWith(t, hubtest.Options{Unlimited: true})
	req(t, fac, hubtest.Event{"type": "share_timer", "room": id, "seconds": 120})
	if e := ana.Until(ofType("room_state")); e.Num("share_timer_sec") != 120 {
		t.Fatalf("room_state = %v", e)
	}
	req(t, ana, hubtest.Event{"type": "raise_hand", "room": id})
	req(t, fac, hubtest.Event{"type": "give_floor", "room": id, "member_id": anaID})
	q := untilQueue(ben, func(e hubtest.Event) bool { return e.Str("floor") == anaID })
	if q.Num("timer_sec") != 120 || q.Str("turn_started") == "" {
		t.Fatalf("the time box is not shown to everyone: %v", q)
	}
	started, err := time.Parse(time.RFC3339Nano, q.Str("turn_started"))
	if err != nil {
		t.Fatal(err)
	}
	fire := func(memberID string, at time.Time) {
		p, _ := json.Marshal(map[string]any{"kind": "turn", "room": id, "member_id": memberID, "at": at})
		n1.Hub.OnTimer(p) // as the broker hands it over when the time box ends
	}
	fire(anaID, started.Add(-time.Second)) // another turn's timer: nothing
	fire(anaID, started)
	for _, p := range []*hubtest.Peer{ana, fac} {
		if e := p.UntilType("timer_elapsed"); e.Str("member_id") != anaID || e.Num("timer_sec") != 120 {
			t.Fatalf("timer_elapsed = %v", e)
		}
	}
	req(t, ana, hubtest.Event{"type": "send", "room": id, "text": "still sharing after the time box"})
	req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "marker"})
	noneUntil(t, ben, "marker", "timer_elapsed") // another member: never
	noneUntil(t, ana, "marker", "timer_elapsed") // the speaker: not again for an old turn's timer
}

// A member whose connection drops while holding the floor (or with a hand
// up, or observing) is taken out of all of it, so no one is left "speaking"
// who is not there.
func TestMemberWhoLeavesIsForgotten(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	id := newRoom(t, n, room.CreateParams{}, "ana", "ben", "cleo")
	if _, err := n.Rooms.StartSession(context.Background(), room.Actor{UserID: "fac"}, id, 60); err != nil {
		t.Fatal(err)
	}
	fac := hubtest.Dial(t, n.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	fac.Join(id, "Dr. Lee")
	ana := hubtest.Dial(t, n.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	anaID := member(ana.Join(id, "Ana"), "you")["member_id"].(string)
	ben := hubtest.Dial(t, n.URL, hubtest.Token(t, "ben", protocol.RoleMember))
	ben.Join(id, "Ben")
	req(t, ana, hubtest.Event{"type": "raise_hand", "room": id})
	req(t, fac, hubtest.Event{"type": "give_floor", "room": id, "member_id": anaID})
	untilQueue(ben, func(e hubtest.Event) bool { return e.Str("floor") == anaID })
	_ = ana.WS.CloseNow() // the connection drops
	untilQueue(ben, func(e hubtest.Event) bool { return e.Str("floor") == "" })
	// Someone who joins later finds the floor free.
	cleo := hubtest.Dial(t, n.URL, hubtest.Token(t, "cleo", protocol.RoleMember))
	if sh := member(cleo.Join(id, "Cleo"), "share"); sh["floor"] != nil {
		t.Fatalf("joined.share after the speaker left = %v", sh)
	}
}
