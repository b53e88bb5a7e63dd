package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"hearth/internal/auth"
	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
	"hearth/internal/room"
)

// eachMode runs fn against a fresh embedded node and a fresh distributed
// node (with its own private redis-server).
func eachMode(t *testing.T, fn func(t *testing.T, n *hubtest.Node)) {
	t.Helper()
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		fn(t, hubtest.StartNode(t, hubtest.Options{}))
	})
	t.Run("distributed", func(t *testing.T) {
		t.Parallel()
		srv := redistest.Start(t)
		fn(t, hubtest.StartNode(t, hubtest.Options{RedisURL: srv.URL()}))
	})
}

// api is a REST client of one node.
type api struct {
	t *testing.T
	n *hubtest.Node
}

// resp is one REST response.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// tok mints a token; the user id is also the token's subject.
func (c api) tok(sub, role string) string { return hubtest.Token(c.t, sub, role) }

// do sends method path with the Authorization header auth ("" for none;
// a bare token gets "Bearer ") and body ("" for none).
func (c api) do(method, path, authz, body string) resp {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.n.HTTP+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if authz != "" {
		if !strings.Contains(authz, " ") {
			authz = "Bearer " + authz
		}
		req.Header.Set("Authorization", authz)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

// ok fails unless r has status; it returns the body decoded into a map.
func (r resp) ok(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if status == http.StatusNoContent {
		if len(r.body) != 0 {
			t.Errorf("204 with a body: %s", r.body)
		}
		return nil
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %s", r.body)
	}
	return m
}

// fails checks the JSON error shape {"error":{"code":…,"message":…}} (and
// nothing else) with status and code.
func (r resp) fails(t *testing.T, status int, code protocol.Code) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (%s); body %s", r.status, status, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &outer); err != nil || len(outer) != 1 || outer["error"] == nil {
		t.Fatalf("body %s is not {\"error\":{…}}", r.body)
	}
	var inner map[string]any
	if err := json.Unmarshal(outer["error"], &inner); err != nil || len(inner) != 2 {
		t.Fatalf("error %s is not {\"code\",\"message\"}", outer["error"])
	}
	got, _ := inner["code"].(string)
	msg, _ := inner["message"].(string)
	if got != string(code) {
		t.Fatalf("code = %q, want %q (status %d, body %s)", got, code, r.status, r.body)
	}
	if msg == "" {
		t.Errorf("empty message for %s", code)
	}
}

// view is a room as the REST API shows it.
type view struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Kind         string   `json:"kind"`
	Capacity     int      `json:"capacity"`
	WaitingRoom  bool     `json:"waiting_room"`
	Phase        string   `json:"phase"`
	YourRole     string   `json:"your_role"`
	Facilitators []string `json:"facilitators"`
	Roster       []string `json:"roster"`
	Banned       []string `json:"banned"`
	Version      uint64   `json:"version"`
}

func (r resp) view(t *testing.T, status int) (view, map[string]any) {
	t.Helper()
	m := r.ok(t, status)
	var v view
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	return v, m
}

// group is the usual cast: room A led by "lead" with co-facilitator "co"
// and members "mem" and "mem2"; room B led by "otherfac".
type group struct {
	api
	a, b                                    string
	lead, co, mem, mem2, outsider, otherFac string // tokens
}

func setup(t *testing.T, n *hubtest.Node) group {
	t.Helper()
	c := api{t, n}
	g := group{api: c,
		lead: c.tok("lead", protocol.RoleFacilitator), co: c.tok("co", protocol.RoleFacilitator),
		mem: c.tok("mem", protocol.RoleMember), mem2: c.tok("mem2", protocol.RoleMember),
		outsider: c.tok("outsider", protocol.RoleMember), otherFac: c.tok("otherfac", protocol.RoleFacilitator)}
	va, _ := c.do("POST", "/api/rooms", g.lead, `{"name":"Tuesday group","kind":"support"}`).view(t, 201)
	g.a = va.ID
	c.do("POST", "/api/rooms/"+g.a+"/facilitators", g.lead, `{"user_id":"co"}`).ok(t, 200)
	c.do("POST", "/api/rooms/"+g.a+"/members", g.lead, `{"user_id":"mem"}`).ok(t, 200)
	c.do("POST", "/api/rooms/"+g.a+"/members", g.lead, `{"user_id":"mem2"}`).ok(t, 200)
	vb, _ := c.do("POST", "/api/rooms", g.otherFac, `{"name":"Other group","kind":"cbt"}`).view(t, 201)
	g.b = vb.ID
	return g
}

// state is room A as its lead sees it.
func (g group) state() view {
	g.t.Helper()
	v, _ := g.do("GET", "/api/rooms/"+g.a, g.lead, "").view(g.t, 200)
	return v
}

func (g group) auditLen() int {
	g.t.Helper()
	m := g.do("GET", "/api/rooms/"+g.a+"/audit?limit=200", g.lead, "").ok(g.t, 200)
	return len(m["entries"].([]any))
}

func TestRESTCreateAndGet(t *testing.T) {
	eachMode(t, func(t *testing.T, n *hubtest.Node) {
		c := api{t, n}
		lead, mem, stranger := c.tok("lead", "facilitator"), c.tok("mem", "member"), c.tok("stranger", "member")

		v, raw := c.do("POST", "/api/rooms", lead, `{"name":"  Evening circle ","kind":"dbt","waiting_room":true}`).view(t, 201)
		if v.ID == "" || v.Name != "Evening circle" || v.Kind != "dbt" || v.Capacity != 15 || !v.WaitingRoom ||
			v.Phase != "idle" || v.YourRole != "facilitator" || !slices.Equal(v.Facilitators, []string{"lead"}) ||
			len(v.Roster) != 0 || v.Version != 1 {
			t.Fatalf("created %s", raw)
		}
		if b, ok := raw["banned"].([]any); !ok || len(b) != 0 {
			t.Errorf("a facilitator's view must show banned as [] when nobody is banned: %v", raw)
		}

		// Listed for its facilitator, not for anyone else.
		m := c.do("GET", "/api/rooms", lead, "").ok(t, 200)
		if rs := m["rooms"].([]any); len(rs) != 1 || rs[0].(map[string]any)["id"] != v.ID || rs[0].(map[string]any)["your_role"] != "facilitator" {
			t.Fatalf("rooms of lead = %v", m)
		}
		if string(c.do("GET", "/api/rooms", stranger, "").body) != "{\"rooms\":[]}\n" {
			t.Errorf("rooms of a stranger is not an empty list")
		}

		v2, _ := c.do("POST", "/api/rooms/"+v.ID+"/members", lead, `{"user_id":"mem"}`).view(t, 200)
		if !slices.Equal(v2.Roster, []string{"mem"}) || v2.Version != 2 {
			t.Fatalf("after add: %+v", v2)
		}

		// The facilitator sees the roster and facilitators; a member sees neither.
		vf, _ := c.do("GET", "/api/rooms/"+v.ID, lead, "").view(t, 200)
		if !slices.Equal(vf.Roster, []string{"mem"}) || !slices.Equal(vf.Facilitators, []string{"lead"}) || vf.YourRole != "facilitator" {
			t.Errorf("facilitator view = %+v", vf)
		}
		vm, rawm := c.do("GET", "/api/rooms/"+v.ID, mem, "").view(t, 200)
		if vm.YourRole != "member" || vm.Name != "Evening circle" || vm.Version != 2 {
			t.Errorf("member view = %+v", vm)
		}
		for _, k := range []string{"roster", "facilitators", "banned"} {
			if _, ok := rawm[k]; ok {
				t.Errorf("a member sees %q: %s", k, rawm)
			}
		}
		m = c.do("GET", "/api/rooms", mem, "").ok(t, 200)
		rs := m["rooms"].([]any)
		if len(rs) != 1 {
			t.Fatalf("rooms of mem = %v", m)
		}
		for _, k := range []string{"roster", "facilitators", "banned"} {
			if _, ok := rs[0].(map[string]any)[k]; ok {
				t.Errorf("a member's room list shows %q", k)
			}
		}

		// A room the caller is not in answers like one that does not exist.
		c.do("GET", "/api/rooms/"+v.ID, stranger, "").fails(t, 404, protocol.CodeNotFound)
		c.do("GET", "/api/rooms/rnosuchroom", lead, "").fails(t, 404, protocol.CodeNotFound)
		c.do("GET", "/api/rooms/"+v.ID, "", "").fails(t, 401, protocol.CodeUnauthorized)
		c.do("GET", "/api/rooms", "", "").fails(t, 401, protocol.CodeUnauthorized)
	})
}

func TestRESTCreateRefused(t *testing.T) {
	eachMode(t, func(t *testing.T, n *hubtest.Node) {
		c := api{t, n}
		lead := c.tok("lead", "facilitator")
		expired, err := auth.Mint(auth.Config{Secret: hubtest.Secret}, "lead", "facilitator", time.Hour, time.Now().Add(-2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		forged, err := auth.Mint(auth.Config{Secret: []byte("another-secret-0123456789-abcdefghijklmnop")}, "lead", "facilitator", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		good := `{"name":"Group","kind":"support"}`
		cases := []struct {
			name   string
			authz  string
			body   string
			status int
			code   protocol.Code
		}{
			{"no token", "", good, 401, protocol.CodeUnauthorized},
			{"not a bearer", "Basic bGVhZDpwdw==", good, 401, protocol.CodeUnauthorized},
			{"Bearer without a token", "Bearer ", good, 401, protocol.CodeUnauthorized},
			{"garbage token", "Bearer not.a.token", good, 401, protocol.CodeInvalidToken},
			{"forged token", forged, good, 401, protocol.CodeInvalidToken},
			{"expired token", expired, good, 401, protocol.CodeTokenExpired},
			{"member token", c.tok("lead", "member"), good, 403, protocol.CodeForbidden},
			{"bad JSON", lead, `{"name":"Group",`, 400, protocol.CodeBadJSON},
			{"not JSON", lead, `name=Group`, 400, protocol.CodeBadJSON},
			{"two JSON values", lead, good + good, 400, protocol.CodeBadJSON},
			{"name is a number", lead, `{"name":5,"kind":"support"}`, 422, protocol.CodeInvalidRequest},
			{"capacity is a string", lead, `{"name":"G","kind":"support","capacity":"15"}`, 422, protocol.CodeInvalidRequest},
			{"capacity is fractional", lead, `{"name":"G","kind":"support","capacity":1.5}`, 422, protocol.CodeInvalidRequest},
			{"waiting_room is a string", lead, `{"name":"G","kind":"support","waiting_room":"yes"}`, 422, protocol.CodeInvalidRequest},
			{"schedule is a string", lead, `{"name":"G","kind":"support","schedule":"tuesdays"}`, 422, protocol.CodeInvalidRequest},
			{"empty body", lead, ``, 422, protocol.CodeInvalidRequest},
			{"empty object", lead, `{}`, 422, protocol.CodeInvalidRequest},
			{"empty name", lead, `{"name":"  ","kind":"support"}`, 422, protocol.CodeInvalidRequest},
			{"name too long", lead, `{"name":"` + strings.Repeat("n", 81) + `","kind":"support"}`, 422, protocol.CodeInvalidRequest},
			{"bad kind", lead, `{"name":"G","kind":"chat"}`, 422, protocol.CodeInvalidRequest},
			{"capacity 1", lead, `{"name":"G","kind":"support","capacity":1}`, 422, protocol.CodeInvalidRequest},
			{"capacity 51", lead, `{"name":"G","kind":"support","capacity":51}`, 422, protocol.CodeInvalidRequest},
			{"bad schedule", lead, `{"name":"G","kind":"support","schedule":{"weekday":2,"start_local":"19:00","duration_min":60,"time_zone":"Nowhere/Else"}}`, 422, protocol.CodeInvalidRequest},
			{"oversized body", lead, `{"name":"G","kind":"support","pad":"` + strings.Repeat("a", 64<<10) + `"}`, 413, protocol.CodeInvalidRequest},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := api{t, n}
				c.do("POST", "/api/rooms", tc.authz, tc.body).fails(t, tc.status, tc.code)
			})
		}
		// Nothing refused was created.
		if b := string(c.do("GET", "/api/rooms", lead, "").body); b != "{\"rooms\":[]}\n" {
			t.Errorf("rooms after refused creates: %s", b)
		}
		// A body of exactly 64 KiB is accepted.
		body := good + strings.Repeat(" ", 64<<10-len(good))
		c.do("POST", "/api/rooms", lead, body).ok(t, 201)
	})
}

func TestRESTMembers(t *testing.T) {
	eachMode(t, func(t *testing.T, n *hubtest.Node) {
		g := setup(t, n)
		base := "/api/rooms/" + g.a

		v, _ := g.do("POST", base+"/members", g.co, `{"user_id":"new1"}`).view(t, 200)
		if !slices.Contains(v.Roster, "new1") || v.YourRole != "co_facilitator" {
			t.Fatalf("co-facilitator's add: %+v", v)
		}
		v, _ = g.do("POST", base+"/members", g.lead, `{"user_id":"new1"}`).view(t, 200) // idempotent
		if n := len(slices.DeleteFunc(slices.Clone(v.Roster), func(u string) bool { return u != "new1" })); n != 1 {
			t.Errorf("roster = %v", v.Roster)
		}
		v, _ = g.do("DELETE", base+"/members/new1", g.lead, "").view(t, 200)
		if slices.Contains(v.Roster, "new1") {
			t.Fatalf("after delete: %v", v.Roster)
		}
		g.do("DELETE", base+"/members/new1", g.lead, "").fails(t, 404, protocol.CodeNotFound)
		g.do("DELETE", base+"/members/co", g.lead, "").fails(t, 404, protocol.CodeNotFound) // not on the roster
		g.do("POST", base+"/members", g.lead, ``).fails(t, 422, protocol.CodeInvalidRequest)
		g.do("POST", base+"/members", g.lead, `{"user_id":""}`).fails(t, 422, protocol.CodeInvalidRequest)
		g.do("POST", base+"/members", g.lead, `{"user_id":"`+strings.Repeat("u", 257)+`"}`).fails(t, 422, protocol.CodeInvalidRequest)
		g.do("POST", "/api/rooms/rnosuchroom/members", g.lead, `{"user_id":"x"}`).fails(t, 404, protocol.CodeNotFound)
		g.do("DELETE", "/api/rooms/rnosuchroom/members/x", g.lead, "").fails(t, 404, protocol.CodeNotFound)

		// A user id with a slash is managed through its escaped form.
		g.do("POST", base+"/members", g.lead, `{"user_id":"org/alice"}`).ok(t, 200)
		v, _ = g.do("DELETE", base+"/members/org%2Falice", g.lead, "").view(t, 200)
		if slices.Contains(v.Roster, "org/alice") {
			t.Errorf("org/alice still on the roster: %v", v.Roster)
		}

		// Leaving: members/me.
		g.do("DELETE", base+"/members/me", g.mem, "").ok(t, 204)
		g.do("GET", base, g.mem, "").fails(t, 404, protocol.CodeNotFound)
		if b := string(g.do("GET", "/api/rooms", g.mem, "").body); b != "{\"rooms\":[]}\n" {
			t.Errorf("rooms after leaving: %s", b)
		}
		g.do("DELETE", base+"/members/me", g.mem, "").fails(t, 404, protocol.CodeNotFound)
		g.do("DELETE", base+"/members/me", g.outsider, "").fails(t, 404, protocol.CodeNotFound)
		g.do("DELETE", base+"/members/me", g.lead, "").fails(t, 403, protocol.CodeForbidden)
		g.do("DELETE", base+"/members/me", g.co, "").fails(t, 403, protocol.CodeForbidden)
		g.do("DELETE", "/api/rooms/rnosuchroom/members/me", g.mem2, "").fails(t, 404, protocol.CodeNotFound)
		g.do("DELETE", base+"/members/me", "", "").fails(t, 401, protocol.CodeUnauthorized)
		st := g.state()
		if !slices.Equal(st.Roster, []string{"mem2"}) || !slices.Equal(st.Facilitators, []string{"lead", "co"}) {
			t.Errorf("final state: %+v", st)
		}
	})
}

func TestRESTFacilitators(t *testing.T) {
	eachMode(t, func(t *testing.T, n *hubtest.Node) {
		g := setup(t, n)
		base := "/api/rooms/" + g.a

		v, _ := g.do("POST", base+"/facilitators", g.lead, `{"user_id":"mem2"}`).view(t, 200)
		if !slices.Equal(v.Facilitators, []string{"lead", "co", "mem2"}) || slices.Contains(v.Roster, "mem2") {
			t.Fatalf("after promotion: %+v", v)
		}
		vm, _ := g.do("GET", base, g.mem2, "").view(t, 200)
		if vm.YourRole != "co_facilitator" || !slices.Contains(vm.Roster, "mem") {
			t.Errorf("promoted member's view: %+v", vm)
		}
		g.do("POST", base+"/facilitators", g.co, `{"user_id":"mem"}`).fails(t, 403, protocol.CodeForbidden)
		g.do("DELETE", base+"/facilitators/mem2", g.co, "").fails(t, 403, protocol.CodeForbidden)
		g.do("POST", base+"/facilitators", g.lead, `{}`).fails(t, 422, protocol.CodeInvalidRequest)
		g.do("DELETE", base+"/facilitators/nobody", g.lead, "").fails(t, 404, protocol.CodeNotFound)

		v, _ = g.do("DELETE", base+"/facilitators/mem2", g.lead, "").view(t, 200)
		if !slices.Equal(v.Facilitators, []string{"lead", "co"}) {
			t.Errorf("after demotion: %v", v.Facilitators)
		}

		// The only facilitator of B cannot step down.
		vb, _ := g.do("GET", "/api/rooms/"+g.b, g.otherFac, "").view(t, 200)
		g.do("DELETE", "/api/rooms/"+g.b+"/facilitators/otherfac", g.otherFac, "").fails(t, 409, protocol.CodeLastFacilitator)
		vb2, _ := g.do("GET", "/api/rooms/"+g.b, g.otherFac, "").view(t, 200)
		if vb2.Version != vb.Version || !slices.Equal(vb2.Facilitators, []string{"otherfac"}) {
			t.Errorf("refused step-down changed B: %+v", vb2)
		}

		// The lead of A steps down; co leads and the old lead sees nothing.
		v, raw := g.do("DELETE", base+"/facilitators/lead", g.lead, "").view(t, 200)
		if v.YourRole != "" || raw["roster"] != nil || raw["facilitators"] != nil {
			t.Errorf("response to a lead who stepped down: %s", raw)
		}
		vc, _ := g.do("GET", base, g.co, "").view(t, 200)
		if vc.YourRole != "facilitator" || !slices.Equal(vc.Facilitators, []string{"co"}) {
			t.Errorf("after the lead stepped down: %+v", vc)
		}
		g.do("GET", base, g.lead, "").fails(t, 404, protocol.CodeNotFound)
		g.do("DELETE", base+"/facilitators/co", g.co, "").fails(t, 409, protocol.CodeLastFacilitator)
	})
}

func TestRESTInvites(t *testing.T) {
	eachMode(t, func(t *testing.T, n *hubtest.Node) {
		g := setup(t, n)
		base := "/api/rooms/" + g.a
		start := time.Now()

		m := g.do("POST", base+"/invites", g.lead, "").ok(t, 201)
		code, _ := m["code"].(string)
		if code == "" || m["room_id"] != g.a || len(m) != 3 {
			t.Fatalf("invite = %v", m)
		}
		exp, err := time.Parse(time.RFC3339, m["expires_at"].(string))
		if err != nil || exp.Sub(start) < room.DefaultInviteTTL-time.Minute || exp.Sub(start) > room.DefaultInviteTTL+time.Minute {
			t.Errorf("default expires_at = %v (%v)", m["expires_at"], err)
		}
		m = g.do("POST", base+"/invites", g.co, `{"ttl_hours":2}`).ok(t, 201)
		code2 := m["code"].(string)
		exp, _ = time.Parse(time.RFC3339, m["expires_at"].(string))
		if d := exp.Sub(start); d < 2*time.Hour-time.Minute || d > 2*time.Hour+time.Minute {
			t.Errorf("ttl_hours 2 expires in %v", d)
		}
		if code2 == code {
			t.Error("two invites share a code")
		}
		for _, body := range []string{`{"ttl_hours":0.001}`, `{"ttl_hours":721}`, `{"ttl_hours":-1}`, `{"ttl_hours":1e300}`} {
			g.do("POST", base+"/invites", g.lead, body).fails(t, 422, protocol.CodeInvalidRequest)
		}
		g.do("POST", base+"/invites", g.lead, `{"ttl_hours":"2"}`).fails(t, 422, protocol.CodeInvalidRequest)
		g.do("POST", base+"/invites", g.lead, `{"ttl_hours":`).fails(t, 400, protocol.CodeBadJSON)
		g.do("POST", base+"/invites", g.lead, `{"ttl_hours":720}`).ok(t, 201)
		g.do("POST", "/api/rooms/rnosuchroom/invites", g.lead, "").fails(t, 404, protocol.CodeNotFound)

		newbie := g.tok("newbie", "member")
		v, raw := g.do("POST", "/api/invites/"+code+"/redeem", newbie, "").view(t, 200)
		if v.ID != g.a || v.YourRole != "member" || raw["roster"] != nil {
			t.Fatalf("redeemed: %s", raw)
		}
		g.do("GET", base, newbie, "").ok(t, 200)
		if st := g.state(); !slices.Contains(st.Roster, "newbie") {
			t.Errorf("roster after redeem = %v", st.Roster)
		}
		g.do("POST", "/api/invites/"+code+"/redeem", newbie, "").fails(t, 404, protocol.CodeInviteInvalid)
		g.do("POST", "/api/invites/"+code+"/redeem", g.outsider, "").fails(t, 404, protocol.CodeInviteInvalid)
		g.do("POST", "/api/invites/nosuchcode/redeem", g.outsider, "").fails(t, 404, protocol.CodeInviteInvalid)
		g.do("POST", "/api/invites/"+strings.Repeat("a", 65)+"/redeem", g.outsider, "").fails(t, 404, protocol.CodeInviteInvalid)
		g.do("POST", "/api/invites/"+code2+"/redeem", "", "").fails(t, 401, protocol.CodeUnauthorized)
		g.do("GET", "/api/invites/"+code2+"/redeem", g.outsider, "").fails(t, 404, protocol.CodeNotFound)
		// The unauthenticated and wrong-method attempts did not use code2.
		v, _ = g.do("POST", "/api/invites/"+code2+"/redeem", g.outsider, "").view(t, 200)
		if v.YourRole != "member" {
			t.Errorf("outsider after redeem: %+v", v)
		}
	})
}

func TestRESTAudit(t *testing.T) {
	eachMode(t, func(t *testing.T, n *hubtest.Node) {
		g := setup(t, n)
		base := "/api/rooms/" + g.a
		g.do("POST", base+"/invites", g.co, "").ok(t, 201)
		g.do("DELETE", base+"/members/mem2", g.co, "").ok(t, 200)
		mid := func(u string) string { return n.Rooms.MemberID(g.a, u) }

		type entry struct {
			Seq     uint64 `json:"seq"`
			Actor   string `json:"actor_member_id"`
			Action  string `json:"action"`
			Target  string `json:"target_member_id"`
			At      string `json:"at"`
			Command string `json:"command"`
			Code    string `json:"code"`
		}
		type page struct {
			Entries    []entry `json:"entries"`
			NextBefore string  `json:"next_before"`
		}
		get := func(query, token string) (page, resp) {
			t.Helper()
			r := g.do("GET", base+"/audit"+query, token, "")
			r.ok(t, 200)
			var p page
			if err := json.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
			return p, r
		}
		want := []entry{
			{6, mid("co"), "remove_member", mid("mem2"), "", "", ""},
			{5, mid("co"), "create_invite", "", "", "", ""},
			{4, mid("lead"), "add_member", mid("mem2"), "", "", ""},
			{3, mid("lead"), "add_member", mid("mem"), "", "", ""},
			{2, mid("lead"), "add_facilitator", mid("co"), "", "", ""},
			{1, mid("lead"), "create_room", "", "", "", ""},
		}
		p, r := get("", g.lead)
		if len(p.Entries) != len(want) || p.NextBefore != "" {
			t.Fatalf("audit = %s", r.body)
		}
		for i, w := range want {
			e := p.Entries[i]
			if e.Seq != w.Seq || e.Actor != w.Actor || e.Action != w.Action || e.Target != w.Target {
				t.Errorf("entry %d = %+v, want %+v", i, e, w)
			}
			at, err := time.Parse("2006-01-02T15:04:05.000Z", e.At)
			if err != nil || time.Since(at) > time.Minute {
				t.Errorf("entry %d at = %q (%v)", i, e.At, err)
			}
		}
		for _, u := range []string{"lead", "co", "mem", "mem2"} {
			if strings.Contains(string(r.body), `"`+u+`"`) {
				t.Errorf("the audit log names user id %q: %s", u, r.body)
			}
		}
		var raw map[string][]map[string]any
		_ = json.Unmarshal(r.body, &raw)
		if _, ok := raw["entries"][1]["target_member_id"]; ok {
			t.Errorf("an entry without target has target_member_id: %v", raw["entries"][1])
		}

		// Paging.
		var seqs [][]uint64
		var nexts []string
		q := "?limit=2"
		for range 10 {
			p, _ := get(q, g.co)
			var s []uint64
			for _, e := range p.Entries {
				s = append(s, e.Seq)
			}
			seqs, nexts = append(seqs, s), append(nexts, p.NextBefore)
			if p.NextBefore == "" {
				break
			}
			q = "?limit=2&before=" + p.NextBefore
		}
		if fmt.Sprint(seqs) != "[[6 5] [4 3] [2 1]]" || fmt.Sprint(nexts) != "[5 3 ]" {
			t.Errorf("pages %v, next_before %q", seqs, nexts)
		}
		if p, _ := get("?before=4", g.lead); len(p.Entries) != 3 || p.Entries[0].Seq != 3 {
			t.Errorf("before=4: %+v", p)
		}
		if p, _ := get("?before=1", g.lead); len(p.Entries) != 0 || p.NextBefore != "" {
			t.Errorf("before=1: %+v", p)
		}
		if p, _ := get("?limit=1", g.lead); len(p.Entries) != 1 || p.NextBefore != "6" {
			t.Errorf("limit=1: %+v", p)
		}
		if p, _ := get("?limit=0", g.lead); len(p.Entries) != 6 {
			t.Errorf("limit=0: %+v", p)
		}

		// Refusals: a member is forbidden; someone not in the room is told
		// what a room that does not exist would tell them. Each refusal is
		// recorded (metadata only), the not_found of a stranger as
		// not_member; an invalid request is not a refusal of the person.
		g.do("GET", base+"/audit", g.mem, "").fails(t, 403, protocol.CodeForbidden)
		g.do("GET", base+"/audit", g.otherFac, "").fails(t, 404, protocol.CodeNotFound)
		g.do("GET", base+"/audit", g.outsider, "").fails(t, 404, protocol.CodeNotFound)
		g.do("GET", "/api/rooms/rnosuchroom/audit", g.lead, "").fails(t, 404, protocol.CodeNotFound)
		g.do("POST", base+"/members", g.lead, `{"user_id":5}`).fails(t, 422, protocol.CodeInvalidRequest)
		p, r = get("?limit=3", g.lead)
		wantDenied := []entry{
			{9, mid("outsider"), "denied", "", "", "read_audit", "not_member"},
			{8, mid("otherfac"), "denied", "", "", "read_audit", "not_member"},
			{7, mid("mem"), "denied", "", "", "read_audit", "forbidden"},
		}
		if len(p.Entries) != len(wantDenied) {
			t.Fatalf("audit after refusals = %s", r.body)
		}
		for i, w := range wantDenied {
			e := p.Entries[i]
			e.At = ""
			if e != w {
				t.Errorf("refusal entry %d = %+v, want %+v", i, e, w)
			}
		}
		g.do("GET", base+"/audit", "", "").fails(t, 401, protocol.CodeUnauthorized)
	})
}

// TestRESTAuthorization: every facilitator endpoint refuses a member
// (forbidden) and answers a stranger and a facilitator of another room as
// if the room did not exist (not_found), and the lead-only endpoints refuse
// a co-facilitator, with nothing applied and every refusal audited. (The
// whole policy, role by role, is TestRESTPolicyMatrix's.)
func TestRESTAuthorization(t *testing.T) {
	eachMode(t, func(t *testing.T, n *hubtest.Node) {
		g := setup(t, n)
		base := "/api/rooms/" + g.a
		before := g.state()
		audit := g.auditLen()
		type call struct{ method, path, body string }
		facilitatorCalls := []call{
			{"POST", base + "/members", `{"user_id":"intruder"}`},
			{"DELETE", base + "/members/mem2", ""},
			{"POST", base + "/invites", ""},
			{"GET", base + "/audit", ""},
			{"PUT", base + "/guidelines", `{"text":"Anything goes."}`},
			{"GET", base + "/agreements", ""},
		}
		leadCalls := []call{
			{"POST", base + "/facilitators", `{"user_id":"mem2"}`},
			{"DELETE", base + "/facilitators/co", ""},
		}
		who := []struct {
			name, token string
			status      int
			code        protocol.Code
		}{
			{"member", g.mem, 403, protocol.CodeForbidden},
			{"stranger", g.outsider, 404, protocol.CodeNotFound},
			{"facilitator of room B", g.otherFac, 404, protocol.CodeNotFound},
		}
		refusals := 0
		for _, w := range who {
			for _, c := range append(slices.Clone(facilitatorCalls), leadCalls...) {
				t.Run(w.name+" "+c.method+" "+strings.TrimPrefix(c.path, base), func(t *testing.T) {
					api{t, n}.do(c.method, c.path, w.token, c.body).fails(t, w.status, w.code)
				})
				refusals++
			}
		}
		for _, c := range leadCalls {
			g.do(c.method, c.path, g.co, c.body).fails(t, 403, protocol.CodeForbidden)
			refusals++
		}
		g.do("GET", base, g.otherFac, "").fails(t, 404, protocol.CodeNotFound)
		refusals++
		// The lead of A has no power over B either.
		g.do("POST", "/api/rooms/"+g.b+"/members", g.lead, `{"user_id":"mem"}`).fails(t, 404, protocol.CodeNotFound)
		g.do("POST", "/api/rooms/"+g.b+"/invites", g.co, "").fails(t, 404, protocol.CodeNotFound)

		after := g.state()
		if after.Version != before.Version || !slices.Equal(after.Roster, before.Roster) || !slices.Equal(after.Facilitators, before.Facilitators) {
			t.Errorf("refused calls changed the room: %+v → %+v", before, after)
		}
		// Every refusal is one entry (action "denied"), and nothing else
		// was recorded: no refused change was applied.
		m := g.do("GET", "/api/rooms/"+g.a+"/audit?limit=200", g.lead, "").ok(t, 200)
		entries := m["entries"].([]any)
		if got := len(entries) - audit; got != refusals {
			t.Errorf("refused calls added %d audit entries, want %d (one per refusal)", got, refusals)
		}
		for _, e := range entries[:len(entries)-audit] {
			if e := e.(map[string]any); e["action"] != room.ActionDenied || e["command"] == "" || e["code"] == "" || e["target_member_id"] != nil {
				t.Errorf("entry after the refusals is not a refusal: %v", e)
			}
		}
	})
}

// TestRESTRefusedInputChangesNothing: bad bodies are refused with the right
// status and nothing is half-applied.
func TestRESTRefusedInputChangesNothing(t *testing.T) {
	eachMode(t, func(t *testing.T, n *hubtest.Node) {
		g := setup(t, n)
		base := "/api/rooms/" + g.a
		before := g.state()
		audit := g.auditLen()
		big := strings.Repeat("x", 64<<10)
		cases := []struct {
			name, method, path, body string
			status                   int
			code                     protocol.Code
		}{
			{"member id is a number", "POST", base + "/members", `{"user_id":5}`, 422, protocol.CodeInvalidRequest},
			{"member id is a list", "POST", base + "/members", `{"user_id":["a","b"]}`, 422, protocol.CodeInvalidRequest},
			{"member body truncated", "POST", base + "/members", `{"user_id":"x"`, 400, protocol.CodeBadJSON},
			{"member body doubled", "POST", base + "/members", `{"user_id":"a"}{"user_id":"b"}`, 400, protocol.CodeBadJSON},
			{"member body oversized", "POST", base + "/members", `{"user_id":"big","pad":"` + big + `"}`, 413, protocol.CodeInvalidRequest},
			{"facilitator id is a number", "POST", base + "/facilitators", `{"user_id":7}`, 422, protocol.CodeInvalidRequest},
			{"facilitator body truncated", "POST", base + "/facilitators", `{"user_id":`, 400, protocol.CodeBadJSON},
			{"facilitator body oversized", "POST", base + "/facilitators", `{"user_id":"mem","pad":"` + big + `"}`, 413, protocol.CodeInvalidRequest},
			{"ttl is a string", "POST", base + "/invites", `{"ttl_hours":"24"}`, 422, protocol.CodeInvalidRequest},
			{"ttl out of range", "POST", base + "/invites", `{"ttl_hours":1000}`, 422, protocol.CodeInvalidRequest},
			{"invite body oversized", "POST", base + "/invites", `{"ttl_hours":1,"pad":"` + big + `"}`, 413, protocol.CodeInvalidRequest},
			{"invite body not JSON", "POST", base + "/invites", `ttl=1`, 400, protocol.CodeBadJSON},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				api{t, n}.do(tc.method, tc.path, g.lead, tc.body).fails(t, tc.status, tc.code)
			})
		}
		after := g.state()
		if after.Version != before.Version || !slices.Equal(after.Roster, before.Roster) || !slices.Equal(after.Facilitators, before.Facilitators) {
			t.Errorf("refused input changed the room: %+v → %+v", before, after)
		}
		if got := g.auditLen(); got != audit {
			t.Errorf("refused input was audited (e.g. an invite made): %d → %d entries", audit, got)
		}
		// The 64 KiB boundary: exactly the limit is read; one byte more is not.
		ok := `{"user_id":"edge"}`
		g.do("POST", base+"/members", g.lead, ok+strings.Repeat(" ", 64<<10-len(ok)+1)).fails(t, 413, protocol.CodeInvalidRequest)
		v, _ := g.do("POST", base+"/members", g.lead, ok+strings.Repeat(" ", 64<<10-len(ok))).view(t, 200)
		if !slices.Contains(v.Roster, "edge") || v.Version != before.Version+1 {
			t.Errorf("a body of exactly 64 KiB: %+v", v)
		}
	})
}

func TestRESTUnknownRoutes(t *testing.T) {
	eachMode(t, func(t *testing.T, n *hubtest.Node) {
		g := setup(t, n)
		base := "/api/rooms/" + g.a
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/nope"},
			{"GET", "/api/"},
			{"POST", "/api/rooms/" + g.a},
			{"PUT", base},
			{"PATCH", "/api/rooms"},
			{"DELETE", base},
			{"DELETE", "/api/rooms"},
			{"GET", base + "/members"},
			{"PUT", base + "/members/mem"},
			{"GET", base + "/facilitators"},
			{"GET", base + "/invites"},
			{"POST", base + "/audit"},
			{"POST", base + "/guidelines"},
			{"DELETE", base + "/guidelines"},
			{"PUT", base + "/agreements"},
			{"GET", base + "/agreements/m1"},
			{"POST", "/api/invites/abc"},
			{"POST", "/api/rooms/" + g.a + "/members/mem/extra"},
		} {
			for _, token := range []string{g.lead, ""} {
				t.Run(fmt.Sprintf("%s %s auth=%v", c.method, strings.ReplaceAll(c.path, g.a, "{id}"), token != ""), func(t *testing.T) {
					api{t, n}.do(c.method, c.path, token, "").fails(t, 404, protocol.CodeNotFound)
				})
			}
		}
		if st := g.state(); st.Version != 4 {
			t.Errorf("version = %d after unknown routes, want 4", st.Version)
		}
	})
}

// joinCode joins room as user over a WebSocket and returns the reply's type
// and error code.
func joinCode(t *testing.T, n *hubtest.Node, user, role, id string) (string, string) {
	t.Helper()
	p := hubtest.Dial(t, n.URL, hubtest.Token(t, user, role))
	e := p.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": user})
	_ = p.WS.CloseNow()
	return e.Str("type"), e.Str("code")
}

// banAndRestart creates a room on the first node, bans a member with the
// room service, and checks on the second node — the same durable state
// after a restart — that the member's join is refused with banned while the
// room and everyone else are intact.
func banAndRestart(t *testing.T, first func() *hubtest.Node, restart func(), second func() *hubtest.Node) {
	n1 := first()
	c := api{t, n1}
	lead := c.tok("lead", "facilitator")
	v, _ := c.do("POST", "/api/rooms", lead, `{"name":"Persistent group","kind":"support"}`).view(t, 201)
	c.do("POST", "/api/rooms/"+v.ID+"/members", lead, `{"user_id":"mem"}`).ok(t, 200)
	c.do("POST", "/api/rooms/"+v.ID+"/members", lead, `{"user_id":"mem2"}`).ok(t, 200)
	banned := n1.Rooms.MemberID(v.ID, "mem")
	r, err := n1.Rooms.Ban(context.Background(), room.Actor{UserID: "lead", TokenRole: protocol.RoleFacilitator}, v.ID, banned)
	if err != nil || !slices.Equal(r.Banned, []string{banned}) {
		t.Fatalf("ban: %v, %v", r.Banned, err)
	}
	if typ, code := joinCode(t, n1, "mem", "member", v.ID); code != "banned" {
		t.Fatalf("join before the restart: %s %s, want banned", typ, code)
	}
	n1.Stop()
	restart()
	n2 := second()
	if n2.Rooms.MemberID(v.ID, "mem") != banned {
		t.Fatal("member ids differ between nodes")
	}
	if typ, code := joinCode(t, n2, "mem", "member", v.ID); typ != "error" || code != "banned" {
		t.Errorf("banned member's join after the restart: type %q code %q, want error banned", typ, code)
	}
	if typ, code := joinCode(t, n2, "lead", "facilitator", v.ID); typ != "joined" {
		t.Errorf("lead's join after the restart: %s %s", typ, code)
	}
	if typ, code := joinCode(t, n2, "mem2", "member", v.ID); typ != "waiting" { // idle room: the lobby
		t.Errorf("other member's join after the restart: %s %s, want waiting", typ, code)
	}
	if typ, code := joinCode(t, n2, "stranger", "member", v.ID); code != "not_member" {
		t.Errorf("stranger's join after the restart: %s %s", typ, code)
	}
	c2 := api{t, n2}
	v2, _ := c2.do("GET", "/api/rooms/"+v.ID, lead, "").view(t, 200)
	if !slices.Equal(v2.Banned, []string{banned}) || !slices.Equal(v2.Roster, []string{"mem", "mem2"}) {
		t.Errorf("room after the restart: %+v", v2)
	}
	// The ban, and after it the refused joins (banned, then the stranger
	// answered not_member), in the log that survived the restart.
	m := c2.do("GET", "/api/rooms/"+v.ID+"/audit", lead, "").ok(t, 200)
	var actions []string
	for _, e := range m["entries"].([]any) {
		e := e.(map[string]any)
		a, _ := e["action"].(string)
		if code, ok := e["code"].(string); ok {
			a += ":" + code
		}
		if e["action"] == "ban" && e["target_member_id"] != banned {
			t.Errorf("ban entry %v does not name the banned member", e)
		}
		actions = append(actions, a)
	}
	if want := []string{"denied:not_member", "denied:banned", "denied:banned", "ban"}; len(actions) < len(want) || !slices.Equal(actions[:len(want)], want) {
		t.Errorf("audit after the restart: %v, want it to start with %v", actions, want)
	}
}

func TestBanPersistsAcrossRestart(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		start := func() *hubtest.Node { return hubtest.StartNode(t, hubtest.Options{DataDir: dir}) }
		banAndRestart(t, start, func() {}, start)
	})
	t.Run("distributed", func(t *testing.T) {
		t.Parallel()
		srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
		start := func() *hubtest.Node { return hubtest.StartNode(t, hubtest.Options{RedisURL: srv.URL()}) }
		banAndRestart(t, start, srv.Restart, start)
	})
}

// TestRESTFacilitatorSeesEmptyRoster: viewOf turns a nil roster into [] so
// that a facilitator can tell "no members yet" from "not shown to you", but
// the roomView field is tagged omitempty, which drops an empty slice too.
func TestRESTFacilitatorSeesEmptyRoster(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	c := api{t, n}
	lead := c.tok("lead", "facilitator")
	_, raw := c.do("POST", "/api/rooms", lead, `{"name":"Empty","kind":"support"}`).view(t, 201)
	if rs, ok := raw["roster"].([]any); !ok || len(rs) != 0 {
		t.Errorf("facilitator's view of a new room: roster = %v (present: %v), want []", raw["roster"], ok)
	}
}

// TestRESTReportsAndSupervisors covers the reports routes and the
// supervisor token role: supervisors read every room's audit log and
// reports, and acknowledge reports, but see and manage nothing else.
func TestRESTReportsAndSupervisors(t *testing.T) {
	eachMode(t, func(t *testing.T, n *hubtest.Node) {
		g := setup(t, n)
		base := "/api/rooms/" + g.a
		sup := g.tok("sup", protocol.RoleSupervisor)
		mid := func(u string) string { return n.Rooms.MemberID(g.a, u) }

		if b := string(g.do("GET", base+"/reports", g.lead, "").body); b != "{\"reports\":[]}\n" {
			t.Errorf("reports of a new room: %s", b)
		}
		rep, err := n.Rooms.AddReport(context.Background(), g.a, room.Report{MessageID: "msg1", About: mid("mem2"), Reporter: mid("mem"), Reason: "unkind"})
		if err != nil {
			t.Fatal(err)
		}
		rep2, err := n.Rooms.AddReport(context.Background(), g.a, room.Report{MessageID: "msg2", Reporter: mid("mem2")})
		if err != nil {
			t.Fatal(err)
		}
		type report struct {
			ID        string `json:"id"`
			MessageID string `json:"message_id"`
			About     string `json:"about_member_id"`
			Reporter  string `json:"reporter_member_id"`
			Reason    string `json:"reason"`
			At        string `json:"at"`
		}
		list := func(token string) []report {
			t.Helper()
			r := g.do("GET", base+"/reports", token, "")
			r.ok(t, 200)
			var out struct{ Reports []report }
			if err := json.Unmarshal(r.body, &out); err != nil {
				t.Fatal(err)
			}
			return out.Reports
		}
		for _, token := range []string{g.lead, g.co, sup} {
			rs := list(token)
			if len(rs) != 2 || rs[0].ID != rep.ID || rs[0].MessageID != "msg1" || rs[0].About != mid("mem2") ||
				rs[0].Reporter != mid("mem") || rs[0].Reason != "unkind" || rs[1].ID != rep2.ID || rs[1].About != "" {
				t.Errorf("reports = %+v", rs)
			}
			if _, err := time.Parse("2006-01-02T15:04:05.000Z", rs[0].At); err != nil {
				t.Errorf("at = %q", rs[0].At)
			}
		}
		g.do("GET", base+"/reports", g.mem, "").fails(t, 403, protocol.CodeForbidden)
		g.do("POST", base+"/reports/"+rep.ID+"/ack", g.mem, "").fails(t, 403, protocol.CodeForbidden)
		for _, token := range []string{g.outsider, g.otherFac} { // not in the room: as if it did not exist
			g.do("GET", base+"/reports", token, "").fails(t, 404, protocol.CodeNotFound)
			g.do("POST", base+"/reports/"+rep.ID+"/ack", token, "").fails(t, 404, protocol.CodeNotFound)
		}
		g.do("GET", base+"/reports", "", "").fails(t, 401, protocol.CodeUnauthorized)
		g.do("GET", "/api/rooms/rnosuchroom/reports", sup, "").fails(t, 404, protocol.CodeNotFound)
		g.do("POST", base+"/reports/nosuchreport/ack", g.lead, "").fails(t, 404, protocol.CodeNotFound)
		g.do("GET", base+"/reports/"+rep.ID+"/ack", g.lead, "").fails(t, 404, protocol.CodeNotFound)

		g.do("POST", base+"/reports/"+rep.ID+"/ack", sup, "").ok(t, 204)
		if rs := list(g.lead); len(rs) != 1 || rs[0].ID != rep2.ID {
			t.Errorf("reports after ack = %+v", rs)
		}
		g.do("POST", base+"/reports/"+rep.ID+"/ack", g.lead, "").fails(t, 404, protocol.CodeNotFound)
		g.do("POST", base+"/reports/"+rep2.ID+"/ack", g.co, "").ok(t, 204)

		// Supervisors read the audit log of any room, including the acks.
		m := g.do("GET", base+"/audit?limit=2", sup, "").ok(t, 200)
		es := m["entries"].([]any)
		if len(es) != 2 || es[0].(map[string]any)["action"] != "ack_report" || es[0].(map[string]any)["actor_member_id"] != mid("co") ||
			es[1].(map[string]any)["actor_member_id"] != mid("sup") {
			t.Errorf("audit seen by a supervisor: %v", m)
		}
		g.do("GET", "/api/rooms/"+g.b+"/audit", sup, "").ok(t, 200)

		// But they are none of the room's people.
		before := g.state()
		g.do("GET", base, sup, "").fails(t, 404, protocol.CodeNotFound)
		g.do("POST", base+"/members", sup, `{"user_id":"x"}`).fails(t, 404, protocol.CodeNotFound)
		g.do("DELETE", base+"/members/mem", sup, "").fails(t, 404, protocol.CodeNotFound)
		g.do("POST", base+"/facilitators", sup, `{"user_id":"sup"}`).fails(t, 404, protocol.CodeNotFound)
		g.do("DELETE", base+"/facilitators/co", sup, "").fails(t, 404, protocol.CodeNotFound)
		g.do("POST", base+"/invites", sup, "").fails(t, 404, protocol.CodeNotFound)
		g.do("POST", "/api/rooms", sup, `{"name":"G","kind":"support"}`).fails(t, 403, protocol.CodeForbidden)
		if b := string(g.do("GET", "/api/rooms", sup, "").body); b != "{\"rooms\":[]}\n" {
			t.Errorf("rooms of a supervisor: %s", b)
		}
		if after := g.state(); after.Version != before.Version || !slices.Equal(after.Roster, before.Roster) {
			t.Errorf("supervisor's refused calls changed the room")
		}
	})
}

// The Authorization scheme is case-insensitive (RFC 7235 section 2.1).
func TestRESTBearerSchemeIsCaseInsensitive(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	c := api{t, n}
	lead := c.tok("lead", "facilitator")
	c.do("POST", "/api/rooms", "bearer "+lead, `{"name":"Group","kind":"support"}`).view(t, 201)
}

// TestRESTGuidelines covers the group agreement: anyone in the room reads
// it, facilitators change it (audited without the text), and facilitators
// see who accepted which version.
func TestRESTGuidelines(t *testing.T) {
	eachMode(t, func(t *testing.T, n *hubtest.Node) {
		g := setup(t, n)
		base := "/api/rooms/" + g.a
		sup := g.tok("sup", protocol.RoleSupervisor)
		mid := func(u string) string { return n.Rooms.MemberID(g.a, u) }
		type guidelines struct{ Text, Version string }
		get := func(token string) guidelines {
			t.Helper()
			r := g.do("GET", base+"/guidelines", token, "")
			if m := r.ok(t, 200); len(m) != 2 {
				t.Errorf("guidelines = %v, want only text and version", m)
			}
			var out guidelines
			if err := json.Unmarshal(r.body, &out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		def := guidelines{room.DefaultGuidelines(), room.GuidelinesVersion(room.DefaultGuidelines())}
		for _, token := range []string{g.lead, g.co, g.mem, g.mem2} {
			if got := get(token); got != def {
				t.Errorf("GET guidelines = %+v, want the default", got.Version)
			}
		}
		for _, token := range []string{g.outsider, g.otherFac, sup} { // not in the room: as if it did not exist
			g.do("GET", base+"/guidelines", token, "").fails(t, 404, protocol.CodeNotFound)
		}
		g.do("GET", base+"/guidelines", "", "").fails(t, 401, protocol.CodeUnauthorized)
		g.do("GET", "/api/rooms/rnosuchroom/guidelines", g.lead, "").fails(t, 404, protocol.CodeNotFound)

		type agreement struct {
			MemberID    string  `json:"member_id"`
			DisplayName string  `json:"display_name"`
			Version     string  `json:"version"`
			Current     bool    `json:"current"`
			At          *string `json:"at"`
		}
		agreements := func(token string) []agreement {
			t.Helper()
			r := g.do("GET", base+"/agreements", token, "")
			r.ok(t, 200)
			var out struct{ Agreements []agreement }
			if err := json.Unmarshal(r.body, &out); err != nil {
				t.Fatal(err)
			}
			return out.Agreements
		}
		// Nobody has accepted yet.
		for _, token := range []string{g.lead, g.co} {
			as := agreements(token)
			if len(as) != 2 || as[0].MemberID != mid("mem") || as[1].MemberID != mid("mem2") ||
				as[0].Version != "" || as[0].Current || as[0].At != nil || as[0].DisplayName != "" {
				t.Fatalf("agreements = %+v", as)
			}
		}
		if b := string(g.do("GET", base+"/agreements", g.lead, "").body); !strings.Contains(b, `"display_name":"","version":"","current":false}`) {
			t.Errorf("a member who never accepted: %s", b)
		}
		// mem accepts (as a join does) and chooses a name.
		bg := context.Background()
		if _, err := n.Rooms.Accept(bg, g.a, "mem", def.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Rooms.ClaimName(bg, g.a, "mem", "Sam"); err != nil {
			t.Fatal(err)
		}
		as := agreements(g.lead)
		if as[0].DisplayName != "Sam" || as[0].Version != def.Version || !as[0].Current || as[0].At == nil || as[1].Current {
			t.Fatalf("agreements after mem accepted = %+v", as)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", *as[0].At); err != nil {
			t.Errorf("at = %q", *as[0].At)
		}
		for _, token := range []string{g.mem, g.mem2} {
			g.do("GET", base+"/agreements", token, "").fails(t, 403, protocol.CodeForbidden)
		}
		for _, token := range []string{g.outsider, g.otherFac, sup} { // not in the room: as if it did not exist
			g.do("GET", base+"/agreements", token, "").fails(t, 404, protocol.CodeNotFound)
		}
		g.do("GET", base+"/agreements", "", "").fails(t, 401, protocol.CodeUnauthorized)
		g.do("GET", "/api/rooms/rnosuchroom/agreements", g.lead, "").fails(t, 404, protocol.CodeNotFound)

		// Only facilitators change it; refused bodies change nothing.
		before := g.state()
		audit := g.auditLen()
		for _, token := range []string{g.mem, g.mem2} {
			g.do("PUT", base+"/guidelines", token, `{"text":"Anything goes."}`).fails(t, 403, protocol.CodeForbidden)
		}
		for _, token := range []string{g.outsider, g.otherFac, sup} { // not in the room: as if it did not exist
			g.do("PUT", base+"/guidelines", token, `{"text":"Anything goes."}`).fails(t, 404, protocol.CodeNotFound)
		}
		audit += 5 // the five refusals of the person (recorded), not the bad bodies below
		for body, want := range map[string]struct {
			status int
			code   protocol.Code
		}{
			``:                                  {422, protocol.CodeInvalidRequest},
			`{}`:                                {422, protocol.CodeInvalidRequest},
			`{"text":5}`:                        {422, protocol.CodeInvalidRequest},
			`{"text":"Be kind.","version":"x"}`: {422, protocol.CodeInvalidRequest},
			`{"text":"Be kind.\u0000"}`:         {422, protocol.CodeInvalidRequest},
			`{"text":"` + strings.Repeat("a", room.MaxGuidelinesRunes+1) + `"}`: {422, protocol.CodeInvalidRequest},
			`{"text":"Be kind.`: {400, protocol.CodeBadJSON},
		} {
			g.do("PUT", base+"/guidelines", g.lead, body).fails(t, want.status, want.code)
		}
		g.do("PUT", "/api/rooms/rnosuchroom/guidelines", g.lead, `{"text":"x"}`).fails(t, 404, protocol.CodeNotFound)
		g.do("PUT", base+"/guidelines", "", `{"text":"x"}`).fails(t, 401, protocol.CodeUnauthorized)
		if after := g.state(); after.Version != before.Version || g.auditLen() != audit {
			t.Fatalf("refused PUTs changed the room, or bad bodies were audited: %d entries, want %d", g.auditLen(), audit)
		}

		secret := "Be kind. Nobody has to share. What is said here stays here."
		r := g.do("PUT", base+"/guidelines", g.co, `{"text":"  `+secret+`\n"}`)
		r.ok(t, 200)
		var put guidelines
		if err := json.Unmarshal(r.body, &put); err != nil || put.Text != secret || put.Version != room.GuidelinesVersion(secret) {
			t.Fatalf("PUT = %s", r.body)
		}
		if got := get(g.mem); got != put {
			t.Errorf("GET after PUT = %+v, want %+v", got, put)
		}
		if as := agreements(g.co); as[0].Current || as[0].Version != def.Version {
			t.Errorf("mem's acceptance is still current after the text changed: %+v", as[0])
		}
		ar := g.do("GET", base+"/audit?limit=1", g.lead, "")
		m := ar.ok(t, 200)
		e := m["entries"].([]any)[0].(map[string]any)
		if e["action"] != "set_guidelines" || e["actor_member_id"] != mid("co") || e["target_member_id"] != nil || strings.Contains(string(ar.body), "kind") {
			t.Errorf("audit of the change = %s", ar.body)
		}
		// The same text again is no change; "" restores the default.
		v := g.state().Version
		g.do("PUT", base+"/guidelines", g.lead, `{"text":"`+secret+`"}`).ok(t, 200)
		if g.state().Version != v {
			t.Error("PUT of the same text changed the room")
		}
		r = g.do("PUT", base+"/guidelines", g.lead, `{"text":""}`)
		r.ok(t, 200)
		if err := json.Unmarshal(r.body, &put); err != nil || put != def {
			t.Errorf("PUT of \"\" = %s, want the default", r.body)
		}
		if as := agreements(g.lead); !as[0].Current {
			t.Errorf("mem accepted the default, which is current again: %+v", as[0])
		}
	})
}
