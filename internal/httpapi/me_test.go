package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
	"hearth/internal/room"
)

// auditEntries is room id's audit log as its lead reads it, newest first.
func (g group) auditEntries(id, token string) []map[string]any {
	g.t.Helper()
	r := g.do("GET", "/api/rooms/"+id+"/audit?limit=200", token, "")
	r.ok(g.t, 200)
	var p struct{ Entries []map[string]any }
	if err := json.Unmarshal(r.body, &p); err != nil {
		g.t.Fatal(err)
	}
	return p.Entries
}

// DELETE /api/me: the member is on no roster, lists no room, cannot join,
// their name and agreement are gone and the name is free for someone else;
// the audit log keeps their member id and says left_service. The only
// facilitator of a room is refused and nothing changes; a co-facilitator's
// invites stop working.
func TestRESTDeleteMe(t *testing.T) {
	eachMode(t, func(t *testing.T, n *hubtest.Node) {
		g := setup(t, n)
		base := "/api/rooms/" + g.a
		mid := func(u string) string { return n.Rooms.MemberID(g.a, u) }
		if _, err := n.Rooms.StartSession(context.Background(), room.Actor{UserID: "lead"}, g.a, 60); err != nil {
			t.Fatal(err)
		}
		p := hubtest.Dial(t, n.URL, g.mem)
		p.Join(g.a, "Sam") // claims the name and accepts the agreement
		settled(t, p)
		_ = p.WS.CloseNow()
		if b := string(g.do("GET", base+"/agreements", g.lead, "").body); !strings.Contains(b, `"member_id":"`+mid("mem")+`","display_name":"Sam"`) {
			t.Fatalf("agreements before: %s", b)
		}

		g.do("POST", "/api/checkins", g.mem, `{"mood":3,"note":"a note between sessions"}`).ok(t, 201)
		if b := string(g.do("GET", base+"/checkins", g.lead, "").body); !strings.Contains(b, "a note between sessions") {
			t.Fatalf("the lead does not see the check-in before: %s", b)
		}

		g.do("DELETE", "/api/me", g.mem, "").ok(t, 204)
		if b := string(g.do("GET", "/api/checkins", g.mem, "").body); strings.Contains(b, "a note between sessions") {
			t.Errorf("the member's check-ins after DELETE /api/me: %s", b)
		}
		if b := string(g.do("GET", base+"/checkins", g.lead, "").body); strings.Contains(b, "a note between sessions") {
			t.Errorf("the lead still sees the check-in: %s", b)
		}
		if b := string(g.do("GET", "/api/rooms", g.mem, "").body); b != "{\"rooms\":[]}\n" {
			t.Errorf("rooms after DELETE /api/me: %s", b)
		}
		g.do("GET", base, g.mem, "").fails(t, 404, protocol.CodeNotFound)
		if st := g.state(); !slices.Equal(st.Roster, []string{"mem2"}) {
			t.Errorf("roster = %v", st.Roster)
		}
		if b := string(g.do("GET", base+"/agreements", g.lead, "").body); strings.Contains(b, mid("mem")) || strings.Contains(b, "Sam") {
			t.Errorf("agreements still show the member: %s", b)
		}
		if typ, code := joinCode(t, n, "mem", protocol.RoleMember, g.a); code != string(protocol.CodeNotMember) {
			t.Errorf("join after DELETE /api/me = %s %s, want not_member", typ, code)
		}
		p2 := hubtest.Dial(t, n.URL, g.mem2)
		if j := p2.Join(g.a, "sam"); j["you"].(map[string]any)["display_name"] != "sam" {
			t.Errorf("the freed name: %v", j)
		}
		settled(t, p2)
		e := g.auditEntries(g.a, g.lead)
		if !slices.ContainsFunc(e, func(e map[string]any) bool {
			return e["action"] == room.ActionLeftService && e["actor_member_id"] == mid("mem") && e["target_member_id"] == nil
		}) {
			t.Errorf("no left_service entry for %s: %v", mid("mem"), e)
		}
		g.do("DELETE", "/api/me", g.mem, "").ok(t, 204) // nothing left: still fine
		g.do("DELETE", "/api/me", "", "").fails(t, 401, protocol.CodeUnauthorized)
		g.do("GET", "/api/me", g.mem, "").fails(t, 404, protocol.CodeNotFound)

		// The only facilitator of B (and a co-facilitator of A): refused,
		// naming B, with nothing changed in either room.
		g.do("POST", base+"/facilitators", g.lead, `{"user_id":"otherfac"}`).ok(t, 200)
		va, vb := g.state(), g.roomAs(g.b, g.otherFac)
		audit := len(g.auditEntries(g.a, g.lead))
		r := g.do("DELETE", "/api/me", g.otherFac, "")
		r.fails(t, 409, protocol.CodeLastFacilitator)
		if !strings.Contains(string(r.body), g.b) || strings.Contains(string(r.body), g.a) {
			t.Errorf("refusal should name room B only: %s", r.body)
		}
		if a2, b2 := g.state(), g.roomAs(g.b, g.otherFac); a2.Version != va.Version || b2.Version != vb.Version ||
			!slices.Contains(a2.Facilitators, "otherfac") || len(g.auditEntries(g.a, g.lead)) != audit {
			t.Errorf("the refused request changed something: A %+v, B %+v", a2, b2)
		}

		// A co-facilitator leaves: out of the facilitators, their invite
		// no longer works, the lead's does.
		coInv := g.do("POST", base+"/invites", g.co, "").ok(t, 201)["code"].(string)
		leadInv := g.do("POST", base+"/invites", g.lead, "").ok(t, 201)["code"].(string)
		g.do("DELETE", "/api/me", g.co, "").ok(t, 204)
		if st := g.state(); !slices.Equal(st.Facilitators, []string{"lead", "otherfac"}) {
			t.Errorf("facilitators = %v", st.Facilitators)
		}
		g.do("POST", "/api/invites/"+coInv+"/redeem", g.outsider, "").fails(t, 404, protocol.CodeInviteInvalid)
		g.do("POST", "/api/invites/"+leadInv+"/redeem", g.outsider, "").ok(t, 200)
		if !slices.ContainsFunc(g.auditEntries(g.a, g.lead), func(e map[string]any) bool {
			return e["action"] == room.ActionLeftService && e["actor_member_id"] == mid("co")
		}) {
			t.Error("no left_service entry for the co-facilitator")
		}
	})
}

// settled returns once the connection's earlier commands are done: a
// join's last store write (its admission) runs after the joined reply, and
// the reader handles one frame at a time, so a ping's pong comes after it.
func settled(t *testing.T, p *hubtest.Peer) {
	t.Helper()
	if r := p.Request(hubtest.Event{"type": "ping"}); r.Str("type") != "pong" {
		t.Fatalf("ping = %v", r)
	}
}

// roomAs is room id as token sees it.
func (g group) roomAs(id, token string) view {
	g.t.Helper()
	v, _ := g.do("GET", "/api/rooms/"+id, token, "").view(g.t, 200)
	return v
}

// After DELETE /api/me, no key name or value in the Redis store holds the
// user's id: the per-user index key is gone with the memberships, and
// invites name their creator by member id.
func TestDeleteMeLeavesNoUserIDInRedis(t *testing.T) {
	srv := redistest.Start(t)
	n := hubtest.StartNode(t, hubtest.Options{RedisURL: srv.URL()})
	c := api{t, n}
	const user = "user-erase-7f3a9c"
	lead, me := c.tok("lead", protocol.RoleFacilitator), c.tok(user, protocol.RoleFacilitator)
	var ids []string
	for i := range 2 {
		v, _ := c.do("POST", "/api/rooms", lead, fmt.Sprintf(`{"name":"Group %d","kind":"support"}`, i)).view(t, 201)
		ids = append(ids, v.ID)
	}
	c.do("POST", "/api/rooms/"+ids[0]+"/members", lead, `{"user_id":"`+user+`"}`).ok(t, 200)
	c.do("POST", "/api/rooms/"+ids[1]+"/facilitators", lead, `{"user_id":"`+user+`"}`).ok(t, 200)
	c.do("POST", "/api/rooms/"+ids[1]+"/invites", me, "").ok(t, 201)
	if _, err := n.Rooms.StartSession(context.Background(), room.Actor{UserID: "lead"}, ids[0], 60); err != nil {
		t.Fatal(err)
	}
	p := hubtest.Dial(t, n.URL, me)
	p.Join(ids[0], "Robin")
	p.Join(ids[1], "Robin")
	settled(t, p)
	_ = p.WS.CloseNow()
	c.do("POST", "/api/checkins", me, `{"mood":4}`).ok(t, 201) // keys hearth:user:<id>:checkins, hearth:checkin:<id>
	if !strings.Contains(srv.Contents(t), user) {
		t.Fatal("the user id is not in Redis before: the reading misses it")
	}

	c.do("DELETE", "/api/me", me, "").ok(t, 204)
	if dump := srv.Contents(t); strings.Contains(dump, user) {
		i := strings.Index(dump, user)
		t.Errorf("Redis still holds the user id: …%s…", dump[max(0, i-200):min(len(dump), i+200)])
	}
}
