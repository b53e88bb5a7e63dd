package httpapi_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
	"hearth/internal/room"
)

// The authorization policy lives once, as the tables of docs/protocol.md
// ("Authorization"); this file reads the REST table and holds every
// endpoint to it, role by role, and checks that changes to a room's people
// made over REST reach the connections of the people concerned.

// The roles of the REST table, as its column headers name them.
const (
	roleNonMember = "non-member"
	roleMember    = "member"
	roleMuted     = "muted member"
	roleBanned    = "banned member"
	roleOtherFac  = "facilitator of another room"
	roleCo        = "co-facilitator"
	roleFac       = "facilitator"
	roleSup       = "supervisor"
)

// restEnv is one cell's world, built over REST and the room service: room A
// led by lead, with co-facilitator co and members mem, muted (muted), ban
// (banned) and tgt, each member with a check-in for A posted before the
// ban; an open report in A; an unused invite to A; room B led by otherfac.
type restEnv struct {
	api
	id, b    string
	users    map[string]string // by name, and the role's own under "actor"
	tokens   map[string]string
	checkins map[string]string // check-in id by user name
	report   string
	invite   string
}

func (e *restEnv) mid(name string) string { return e.n.Rooms.MemberID(e.id, e.users[name]) }

var restSeq atomic.Int64

func newRESTEnv(t *testing.T, n *hubtest.Node, role string) *restEnv {
	t.Helper()
	e := &restEnv{api: api{t, n}, users: map[string]string{}, tokens: map[string]string{}, checkins: map[string]string{}}
	p := fmt.Sprintf("r%d-", restSeq.Add(1))
	roles := map[string]string{"lead": protocol.RoleFacilitator, "co": protocol.RoleFacilitator, "otherfac": protocol.RoleFacilitator, "sup": protocol.RoleSupervisor}
	for _, k := range []string{"lead", "co", "mem", "muted", "ban", "tgt", "stranger", "otherfac", "sup"} {
		e.users[k] = p + k
		tokenRole, ok := roles[k]
		if !ok {
			tokenRole = protocol.RoleMember
		}
		e.tokens[k] = e.tok(e.users[k], tokenRole)
	}
	actor := map[string]string{roleNonMember: "stranger", roleMember: "mem", roleMuted: "muted", roleBanned: "ban",
		roleOtherFac: "otherfac", roleCo: "co", roleFac: "lead", roleSup: "sup"}[role]
	e.users["actor"], e.tokens["actor"] = e.users[actor], e.tokens[actor]

	va, _ := e.do("POST", "/api/rooms", e.tokens["lead"], `{"name":"Group A","kind":"support"}`).view(t, 201)
	e.id = va.ID
	e.do("POST", "/api/rooms/"+e.id+"/facilitators", e.tokens["lead"], `{"user_id":"`+e.users["co"]+`"}`).ok(t, 200)
	for _, k := range []string{"mem", "muted", "ban", "tgt"} {
		e.do("POST", "/api/rooms/"+e.id+"/members", e.tokens["lead"], `{"user_id":"`+e.users[k]+`"}`).ok(t, 200)
		m := e.do("POST", "/api/checkins", e.tokens[k], `{"mood":3,"rooms":["`+e.id+`"]}`).ok(t, 201)
		e.checkins[k] = m["id"].(string)
	}
	vb, _ := e.do("POST", "/api/rooms", e.tokens["otherfac"], `{"name":"Group B","kind":"cbt"}`).view(t, 201)
	e.b = vb.ID
	ctx := context.Background()
	lead := room.Actor{UserID: e.users["lead"], TokenRole: protocol.RoleFacilitator}
	if _, _, err := n.Rooms.Mute(ctx, lead, e.id, e.mid("muted"), 0, "A pause"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Rooms.Ban(ctx, lead, e.id, e.mid("ban")); err != nil {
		t.Fatal(err)
	}
	rep, err := n.Rooms.AddReport(ctx, e.id, room.Report{MessageID: "msg0000000000000", About: e.mid("tgt"), Reporter: e.mid("mem")})
	if err != nil {
		t.Fatal(err)
	}
	e.report = rep.ID
	e.invite = e.do("POST", "/api/rooms/"+e.id+"/invites", e.tokens["lead"], "").ok(t, 201)["code"].(string)
	return e
}

// restCall is how to exercise one row of the REST table.
type restCall func(e *restEnv) (method, path, body string)

var restRows = map[string]restCall{
	"POST /api/rooms": func(e *restEnv) (string, string, string) {
		return "POST", "/api/rooms", `{"name":"Another group","kind":"support"}`
	},
	"GET /api/rooms":      func(e *restEnv) (string, string, string) { return "GET", "/api/rooms", "" },
	"GET /api/rooms/{id}": func(e *restEnv) (string, string, string) { return "GET", "/api/rooms/" + e.id, "" },
	"POST /api/rooms/{id}/members": func(e *restEnv) (string, string, string) {
		return "POST", "/api/rooms/" + e.id + "/members", `{"user_id":"newbie"}`
	},
	"DELETE /api/rooms/{id}/members/{user_id}": func(e *restEnv) (string, string, string) {
		return "DELETE", "/api/rooms/" + e.id + "/members/" + e.users["tgt"], ""
	},
	"DELETE /api/rooms/{id}/members/me": func(e *restEnv) (string, string, string) {
		return "DELETE", "/api/rooms/" + e.id + "/members/me", ""
	},
	"POST /api/rooms/{id}/invites": func(e *restEnv) (string, string, string) {
		return "POST", "/api/rooms/" + e.id + "/invites", `{"ttl_hours":1}`
	},
	"POST /api/invites/{code}/redeem": func(e *restEnv) (string, string, string) {
		return "POST", "/api/invites/" + e.invite + "/redeem", ""
	},
	"POST /api/rooms/{id}/facilitators": func(e *restEnv) (string, string, string) {
		return "POST", "/api/rooms/" + e.id + "/facilitators", `{"user_id":"` + e.users["tgt"] + `"}`
	},
	"DELETE /api/rooms/{id}/facilitators/{user_id}": func(e *restEnv) (string, string, string) {
		return "DELETE", "/api/rooms/" + e.id + "/facilitators/" + e.users["co"], ""
	},
	"GET /api/rooms/{id}/audit":   func(e *restEnv) (string, string, string) { return "GET", "/api/rooms/" + e.id + "/audit", "" },
	"GET /api/rooms/{id}/reports": func(e *restEnv) (string, string, string) { return "GET", "/api/rooms/" + e.id + "/reports", "" },
	"POST /api/rooms/{id}/reports/{report_id}/ack": func(e *restEnv) (string, string, string) {
		return "POST", "/api/rooms/" + e.id + "/reports/" + e.report + "/ack", ""
	},
	"GET /api/rooms/{id}/guidelines": func(e *restEnv) (string, string, string) {
		return "GET", "/api/rooms/" + e.id + "/guidelines", ""
	},
	"PUT /api/rooms/{id}/guidelines": func(e *restEnv) (string, string, string) {
		return "PUT", "/api/rooms/" + e.id + "/guidelines", `{"text":"Be kind."}`
	},
	"GET /api/rooms/{id}/agreements": func(e *restEnv) (string, string, string) {
		return "GET", "/api/rooms/" + e.id + "/agreements", ""
	},
	"DELETE /api/me":          func(e *restEnv) (string, string, string) { return "DELETE", "/api/me", "" },
	"GET /api/checkins/moods": func(e *restEnv) (string, string, string) { return "GET", "/api/checkins/moods", "" },
	"POST /api/checkins (for this room)": func(e *restEnv) (string, string, string) {
		return "POST", "/api/checkins", `{"mood":4,"rooms":["` + e.id + `"]}`
	},
	"GET /api/checkins": func(e *restEnv) (string, string, string) { return "GET", "/api/checkins", "" },
	"DELETE /api/checkins/{id} (one's own)": func(e *restEnv) (string, string, string) {
		for k, u := range e.users {
			if k != "actor" && u == e.users["actor"] {
				return "DELETE", "/api/checkins/" + e.checkins[k], ""
			}
		}
		return "", "", ""
	},
	"DELETE /api/checkins/{id} (someone else's)": func(e *restEnv) (string, string, string) {
		return "DELETE", "/api/checkins/" + e.checkins["tgt"], ""
	},
	"GET /api/rooms/{id}/checkins": func(e *restEnv) (string, string, string) {
		return "GET", "/api/rooms/" + e.id + "/checkins", ""
	},
	"GET /api/rooms/{id}/checkins/summary": func(e *restEnv) (string, string, string) {
		return "GET", "/api/rooms/" + e.id + "/checkins/summary", ""
	},
}

// snapshot is what a refused request must leave as it was.
type snapshot struct {
	versionA, versionB uint64
	audit              int
	checkinsA, ownTgt  int
	actorRooms         string
}

func (e *restEnv) snapshot() snapshot {
	e.t.Helper()
	ctx := context.Background()
	var s snapshot
	for id, v := range map[string]*uint64{e.id: &s.versionA, e.b: &s.versionB} {
		r, err := e.n.Rooms.Load(ctx, id)
		if err != nil {
			e.t.Fatal(err)
		}
		*v = r.Version
	}
	es, err := e.n.Rooms.Audit(ctx, room.Actor{UserID: e.users["lead"]}, e.id, 0, room.MaxAuditLimit)
	if err != nil {
		e.t.Fatal(err)
	}
	s.audit = len(es)
	s.checkinsA = len(e.do("GET", "/api/rooms/"+e.id+"/checkins", e.tokens["lead"], "").ok(e.t, 200)["checkins"].([]any))
	s.ownTgt = len(e.do("GET", "/api/checkins", e.tokens["tgt"], "").ok(e.t, 200)["checkins"].([]any))
	s.actorRooms = string(e.do("GET", "/api/rooms", e.tokens["actor"], "").body)
	return s
}

// restAuditedAs returns the code a refusal is recorded under in room A,
// and whether it is recorded there: for an endpoint audited under a name,
// the refusals of the person, with the not_found of someone not in the
// room recorded as not_member.
func restAuditedAs(role, auditedAs, code string) (string, bool) {
	if auditedAs == "—" {
		return "", false
	}
	switch code {
	case "forbidden", "not_member", "banned", "target_facilitator", "not_in_room":
		return code, true
	case "not_found":
		if slices.Contains([]string{roleNonMember, roleOtherFac, roleSup}, role) {
			return "not_member", true
		}
	}
	return "", false
}

// TestRESTPolicyMatrix holds every REST endpoint, for every role, to the
// table in docs/protocol.md: allowed requests succeed; refused ones get the
// table's status and code, change nothing (the rooms, the check-ins, the
// caller's rooms), and — when they refuse the person in a room — add one
// audit entry to that room of metadata only; a room the caller is not in
// answers exactly like one that does not exist.
func TestRESTPolicyMatrix(t *testing.T) {
	roles, rows := hubtest.ReadPolicy(t, "### REST endpoints by role", 1)
	if want := []string{roleNonMember, roleMember, roleMuted, roleBanned, roleOtherFac, roleCo, roleFac, roleSup}; !slices.Equal(roles, want) {
		t.Fatalf("REST policy columns %q, want %q", roles, want)
	}
	// Every route the REST API registers has a row.
	norm := func(route string) string {
		route, _, _ = strings.Cut(route, " (")
		return regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(route, "{}")
	}
	var keys []string
	for _, r := range rows {
		keys = append(keys, norm(r.Key))
	}
	for _, file := range []string{"rooms.go", "checkins.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`handle\("([A-Z]+ /api/[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
			if !slices.Contains(keys, norm(m[1])) {
				t.Errorf("the route %s (%s) has no row in the REST policy table", m[1], file)
			}
		}
	}
	n := hubtest.StartNode(t, hubtest.Options{RedisURL: redistest.Start(t).URL()})
	for _, r := range rows {
		call, ok := restRows[r.Key]
		if !ok {
			t.Errorf("no exerciser for the REST policy row %q: teach authz_test.go how to send it", r.Key)
			continue
		}
		t.Run(r.Key, func(t *testing.T) {
			for _, role := range roles {
				want := r.Cells[role]
				if want == "—" {
					continue
				}
				t.Run(role, func(t *testing.T) {
					e := newRESTEnv(t, n, role)
					method, path, body := call(e)
					before := e.snapshot()
					res := e.do(method, path, e.tokens["actor"], body)
					if want == "allowed" {
						if res.status < 200 || res.status > 299 {
							t.Fatalf("%s by %s: status %d %s, want it allowed", r.Key, role, res.status, res.body)
						}
						return
					}
					status, code, _ := strings.Cut(want, " ")
					st, err := strconv.Atoi(status)
					if err != nil {
						t.Fatalf("cell %q is not a status and a code", want)
					}
					res.fails(t, st, protocol.Code(code))
					if after := e.snapshot(); after.versionA != before.versionA || after.versionB != before.versionB ||
						after.checkinsA != before.checkinsA || after.ownTgt != before.ownTgt || after.actorRooms != before.actorRooms {
						t.Errorf("refused %s changed something: %+v → %+v", r.Key, before, after)
					} else if rec, ok := restAuditedAs(role, r.Extra[0], code); !ok {
						if after.audit != before.audit {
							t.Errorf("refusal %s of %s was recorded", code, r.Key)
						}
					} else {
						es, err := n.Rooms.Audit(context.Background(), room.Actor{UserID: e.users["lead"]}, e.id, 0, 1)
						if err != nil {
							t.Fatal(err)
						}
						if after.audit != before.audit+1 || es[0].Action != room.ActionDenied || es[0].Command != r.Extra[0] ||
							string(es[0].Code) != rec || es[0].Actor != e.mid("actor") || es[0].Target != "" {
							t.Errorf("audit after the refusal: %d → %d entries, newest %+v; want one denied %s %s by %s",
								before.audit, after.audit, es[0], r.Extra[0], rec, e.mid("actor"))
						}
					}
					// A room the caller is not in answers like a room that
					// does not exist: the same status, code and body.
					if code == "not_found" && strings.Contains(path, e.id) {
						ghost := e.do(method, strings.ReplaceAll(path, e.id, "rnosuchroom00000"), e.tokens["actor"], body)
						if ghost.status != res.status || string(ghost.body) != string(res.body) {
							t.Errorf("a room the caller is not in answers %d %s, one that does not exist %d %s", res.status, res.body, ghost.status, ghost.body)
						}
					}
				})
			}
		})
	}
}

// tabs dials user's two connections, one on each node, and joins them.
func tabs(t *testing.T, nodes [2]*hubtest.Node, user, role, id, name string) [2]*hubtest.Peer {
	t.Helper()
	var ps [2]*hubtest.Peer
	for i, n := range nodes {
		ps[i] = hubtest.Dial(t, n.URL, hubtest.Token(t, user, role))
		ps[i].Join(id, name)
	}
	return ps
}

// Regression: removing a member from the roster, and DELETE /api/me, did
// not cut the member's open WebSocket connections (an erased user stayed
// in the room, and their name could be taken while they were still
// present). Every REST path that takes someone out of a room's people now
// takes every connection of theirs out of the room, on both nodes, before
// it answers — the removed notice, their commands refused, member_left for
// the others — and their next join is not_member.
func TestRESTRemovalCutsOpenConnections(t *testing.T) {
	cases := []struct {
		name, user, role string
		call             func(g group, id string) resp
	}{
		{"taken off the roster", "mem", protocol.RoleMember, func(g group, id string) resp {
			return g.do("DELETE", "/api/rooms/"+id+"/members/mem", g.lead, "")
		}},
		{"leaving the group", "mem", protocol.RoleMember, func(g group, id string) resp {
			return g.do("DELETE", "/api/rooms/"+id+"/members/me", g.mem, "")
		}},
		{"erasing themselves", "mem", protocol.RoleMember, func(g group, id string) resp { return g.do("DELETE", "/api/me", g.mem, "") }},
		{"stepped down as facilitator", "co", protocol.RoleFacilitator, func(g group, id string) resp {
			return g.do("DELETE", "/api/rooms/"+id+"/facilitators/co", g.lead, "")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := redistest.Start(t).URL()
			nodes := [2]*hubtest.Node{hubtest.StartNode(t, hubtest.Options{RedisURL: url}), hubtest.StartNode(t, hubtest.Options{RedisURL: url})}
			g := setup(t, nodes[0])
			if _, err := nodes[0].Rooms.StartSession(context.Background(), room.Actor{UserID: "lead"}, g.a, 60); err != nil {
				t.Fatal(err)
			}
			lead := hubtest.Dial(t, nodes[1].URL, g.lead)
			lead.Join(g.a, "Dr. Lee")
			gone := tabs(t, nodes, tc.user, tc.role, g.a, "Sam")
			goneID := nodes[0].Rooms.MemberID(g.a, tc.user)

			if res := tc.call(g, g.a); res.status != 200 && res.status != 204 {
				t.Fatalf("%s: %d %s", tc.name, res.status, res.body)
			}
			for k, p := range gone {
				if e := p.UntilType("removed"); e.Str("room") != g.a {
					t.Fatalf("tab %d: %v", k+1, e)
				}
				if r := p.Request(hubtest.Event{"type": "send", "room": g.a, "text": "still here?"}); r.Str("type") != "error" {
					t.Fatalf("tab %d: send after %s = %v", k+1, tc.name, r)
				}
			}
			lead.Until(func(e hubtest.Event) bool { return e.Str("type") == "member_left" && e.Str("member_id") == goneID })
			for k, p := range gone {
				if r := p.JoinFrame(hubtest.Event{"type": "join", "room": g.a, "display_name": "Sam"}); r.Str("code") != "not_member" {
					t.Fatalf("tab %d: join after %s = %v, want not_member", k+1, tc.name, r)
				}
			}
			// Their name went with them: someone else may have it now.
			mem2 := hubtest.Dial(t, nodes[1].URL, g.mem2)
			mem2.Join(g.a, "Sam")
		})
	}
}

// The other half of that regression: while someone is present, their name
// is theirs even if the room no longer keeps it — here the erasure reaches
// the store without the hub hearing of it (no REST), and the erased member
// is still in the room.
func TestNameOfSomeonePresentIsNotFree(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	g := setup(t, n)
	if _, err := n.Rooms.StartSession(context.Background(), room.Actor{UserID: "lead"}, g.a, 60); err != nil {
		t.Fatal(err)
	}
	sam := hubtest.Dial(t, n.URL, g.mem)
	sam.Join(g.a, "Sam")
	if _, err := n.Rooms.DeleteUser(context.Background(), "mem"); err != nil {
		t.Fatal(err)
	}
	other := hubtest.Dial(t, n.URL, g.mem2)
	for _, name := range []string{"Sam", "SAM", "S\u0430m"} {
		if r := other.JoinFrame(hubtest.Event{"type": "join", "room": g.a, "display_name": name}); r.Str("code") != "name_taken" {
			t.Fatalf("join as %q while Sam is present = %v, want name_taken", name, r)
		}
	}
}

// Regression: a banned member could still read the room over REST, and a
// room the caller is not in answered 403 where one that does not exist
// answered 404 (telling which rooms exist). Both are closed, over every
// room endpoint: the banned member gets banned (they may still leave the
// group), a stranger exactly what an unknown room gives.
func TestRESTBannedAndStrangersLearnNothing(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	g := setup(t, n)
	if _, err := n.Rooms.Ban(context.Background(), room.Actor{UserID: "lead"}, g.a, n.Rooms.MemberID(g.a, "mem")); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "/guidelines", "/checkins", "/checkins/summary", "/audit", "/reports", "/agreements"} {
		g.do("GET", "/api/rooms/"+g.a+suffix, g.mem, "").fails(t, 403, protocol.CodeBanned)
		known := g.do("GET", "/api/rooms/"+g.a+suffix, g.outsider, "")
		ghost := g.do("GET", "/api/rooms/rnosuchroom00000"+suffix, g.outsider, "")
		known.fails(t, 404, protocol.CodeNotFound)
		if known.status != ghost.status || string(known.body) != string(ghost.body) {
			t.Errorf("GET %s: a room the caller is not in %d %s; one that does not exist %d %s", suffix, known.status, known.body, ghost.status, ghost.body)
		}
	}
	if b := string(g.do("GET", "/api/rooms", g.mem, "").body); b != "{\"rooms\":[]}\n" {
		t.Errorf("a banned member's rooms: %s", b)
	}
	g.do("DELETE", "/api/rooms/"+g.a+"/members/me", g.mem, "").ok(t, 204)
}
