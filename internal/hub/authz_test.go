package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
	"hearth/internal/room"
)

// The authorization policy lives once, as the tables of docs/protocol.md
// ("Authorization"); these tests read the WebSocket table and hold the
// server to every cell of it.

// clientCommands lists the client frame types (protocol's Type* constants
// in client.go), but auth: every one must have a row in the table.
func clientCommands(t *testing.T) []string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "../protocol/client.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Type") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if v, _ := strconv.Unquote(lit.Value); v != protocol.TypeAuth {
						out = append(out, v)
					}
				}
			}
		}
	}
	return out
}

// The roles of the tables, as their column headers name them.
const (
	roleNonMember = "non-member"
	roleMember    = "member"
	roleMuted     = "muted member"
	roleObserver  = "observer"
	roleBanned    = "banned member"
	roleOtherFac  = "facilitator of another room"
	roleCo        = "co-facilitator"
	roleFac       = "facilitator"
	roleSup       = "supervisor"
)

// inRoom reports whether role is one of the room's people (who may join).
func inRoom(role string) bool {
	return slices.Contains([]string{roleMember, roleMuted, roleObserver, roleCo, roleFac}, role)
}

// auditedAs returns the code a refusal in cell is recorded under, and
// whether it is recorded at all (see "Authorization" in docs/protocol.md):
// refusals of the person are, and the not_found that hides a room from
// someone not in it is recorded as not_member.
func auditedAs(role, code string) (string, bool) {
	switch code {
	case "forbidden", "not_member", "banned", "target_facilitator", "muted", "observer", "not_your_turn", "not_in_room":
		return code, true
	case "not_found":
		if !inRoom(role) && role != roleBanned {
			return "not_member", true
		}
	}
	return "", false
}

// wsEnv is one cell's world: room A led by lead, with co-facilitator co
// and members (mem, muted, obs, ban, tgt and wai) on its roster; room B led
// by otherfac; a session open unless the row asks for none. Watchers —
// a connection of the lead and one of tgt — see everything the room does;
// actor is the role's own connection.
type wsEnv struct {
	t      *testing.T
	n      *hubtest.Node
	id     string
	users  map[string]string // "lead", "co", "tgt", "wai", "muted", "ban", and the role's user under "actor"
	role   string
	actor  *hubtest.Peer
	leadW  *hubtest.Peer
	tgt    *hubtest.Peer
	joined bool // actor is in the room (not at the door)

	ownMsg, otherMsg, alertID string
}

func (e *wsEnv) mid(key string) string { return e.n.Rooms.MemberID(e.id, e.users[key]) }

// watchers are the connections in the room whose streams must show no
// trace of a refusal.
func (e *wsEnv) watchers() []*hubtest.Peer {
	ps := []*hubtest.Peer{e.leadW}
	if e.tgt != nil {
		ps = append(ps, e.tgt)
	}
	if e.joined {
		ps = append(ps, e.actor)
	}
	return ps
}

// req sends frame from p and fails unless it is answered ok (or joined).
func (e *wsEnv) req(p *hubtest.Peer, frame hubtest.Event) hubtest.Event {
	e.t.Helper()
	frame["room"] = e.id
	r := p.Request(frame)
	if typ := r.Str("type"); typ != "ok" {
		e.t.Fatalf("setup %v: got %v", frame, r)
	}
	return r
}

// say sends a message from p and waits until every watcher has it (so
// that its node knows the message for reports, reactions and deletion).
func (e *wsEnv) say(p *hubtest.Peer, text string) string {
	e.t.Helper()
	id := e.req(p, hubtest.Event{"type": "send", "text": text}).Str("message_id")
	for _, w := range e.watchers() {
		w.Until(func(ev hubtest.Event) bool { return ev.Str("message_id") == id && ev.Str("type") == "message" })
	}
	return id
}

// wsRow is how to exercise one row of the WebSocket table: the state the
// command needs (noSession; early runs before the role's mute or observing
// begins, setup after) and the frame itself.
type wsRow struct {
	noSession bool
	early     func(e *wsEnv)
	setup     func(e *wsEnv)
	frame     func(e *wsEnv) hubtest.Event
}

func simple(typ string, kv ...any) wsRow {
	return wsRow{frame: func(e *wsEnv) hubtest.Event {
		f := hubtest.Event{"type": typ}
		for i := 0; i < len(kv); i += 2 {
			f[kv[i].(string)] = kv[i+1]
		}
		return f
	}}
}

func aimed(typ, at string, kv ...any) wsRow {
	return wsRow{frame: func(e *wsEnv) hubtest.Event {
		f := hubtest.Event{"type": typ, "member_id": e.mid(at)}
		for i := 0; i < len(kv); i += 2 {
			f[kv[i].(string)] = kv[i+1]
		}
		return f
	}}
}

func (r wsRow) with(setup func(e *wsEnv)) wsRow { r.setup = setup; return r }

// lobby: the room is locked and wai waits at the door.
func lobby(e *wsEnv) {
	e.req(e.leadW, hubtest.Event{"type": "lock"})
	p := hubtest.Dial(e.t, e.n.URL, hubtest.Token(e.t, e.users["wai"], protocol.RoleMember))
	if r := p.JoinFrame(hubtest.Event{"type": "join", "room": e.id, "display_name": "Wai"}); r.Str("type") != "waiting" {
		e.t.Fatalf("wai's join while locked: %v", r)
	}
}

func otherMessage(e *wsEnv) { e.otherMsg = e.say(e.tgt, "tgt's words") }

func raisedHand(e *wsEnv) { e.req(e.tgt, hubtest.Event{"type": "raise_hand"}) }

var wsRows = map[string]wsRow{
	"join":                                   {frame: func(e *wsEnv) hubtest.Event { return nil }}, // the join itself; see runWSCell
	"send":                                   simple("send", "text", "the actor's words"),
	"leave":                                  simple("leave"),
	"ping":                                   simple("ping"),
	"refresh (a new token of the same user)": {frame: func(e *wsEnv) hubtest.Event { return hubtest.Event{"type": "refresh", "token": e.token()} }},

	"start_session (no session open)":           {noSession: true, frame: simple("start_session", "minutes", 30).frame},
	"begin_closing":                             simple("begin_closing"),
	"end_session":                               simple("end_session"),
	"admit (someone waiting)":                   aimed("admit", "wai").with(lobby),
	"admit_all (someone waiting)":               simple("admit_all").with(lobby),
	"deny (someone waiting)":                    aimed("deny", "wai").with(lobby),
	"warn (a member)":                           aimed("warn", "tgt", "reason", "Please keep to the agreement."),
	"mute (a member)":                           aimed("mute", "tgt", "minutes", 0, "reason", "A pause"),
	"mute (a facilitator)":                      aimed("mute", "lead", "minutes", 0, "reason", "A pause"),
	"mute (a member id of nobody in the group)": simple("mute", "member_id", "nobody0000000000", "minutes", 0),
	"unmute (a muted member)":                   aimed("unmute", "muted"),
	"remove (a member)":                         aimed("remove", "tgt"),
	"ban (a member)":                            aimed("ban", "tgt"),
	"unban (a banned member)":                   aimed("unban", "ban"),
	"lock":                                      simple("lock"),
	"unlock (a locked session)":                 simple("unlock").with(func(e *wsEnv) { e.req(e.leadW, hubtest.Event{"type": "lock"}) }),
	"slow_mode":                                 simple("slow_mode", "seconds", 5),
	"pin":                                       simple("pin", "text", "Tonight: rest"),
	"unpin":                                     simple("unpin"),
	"set_mode":                                  simple("set_mode", "mode", protocol.ModeRounds),
	"share_timer":                               simple("share_timer", "seconds", 60),
	"delete_message (one's own message)": {
		early: func(e *wsEnv) { e.ownMsg = e.say(e.actor, "the actor's own words") },
		frame: func(e *wsEnv) hubtest.Event { return hubtest.Event{"type": "delete_message", "message_id": e.ownMsg} },
	},
	"delete_message (someone else's message)": {setup: otherMessage,
		frame: func(e *wsEnv) hubtest.Event { return hubtest.Event{"type": "delete_message", "message_id": e.otherMsg} }},
	"dm (to a facilitator)": aimed("dm", "lead", "text", "Can we talk?"),
	"dm (to a member)":      aimed("dm", "tgt", "text", "Psst"),
	"report (someone else's message)": {setup: otherMessage,
		frame: func(e *wsEnv) hubtest.Event {
			return hubtest.Event{"type": "report", "message_id": e.otherMsg, "reason": "unkind"}
		}},
	"hide (a member)":   aimed("hide", "tgt"),
	"unhide (a member)": aimed("unhide", "tgt"),
	"request_support":   simple("request_support"),
	"ack_alert (an open alert)": {
		setup: func(e *wsEnv) {
			a, _, _, err := e.n.Rooms.RaiseAlert(context.Background(), e.id, e.mid("tgt"), "ideation", "high", "")
			if err != nil {
				e.t.Fatal(err)
			}
			e.alertID = a.ID
		},
		frame: func(e *wsEnv) hubtest.Event { return hubtest.Event{"type": "ack_alert", "alert_id": e.alertID} },
	},
	"raise_hand":                   simple("raise_hand"),
	"lower_hand":                   simple("lower_hand"),
	"pass":                         simple("pass"),
	"give_floor (a raised hand)":   aimed("give_floor", "tgt").with(raisedHand),
	"next_speaker (a raised hand)": simple("next_speaker").with(raisedHand),
	"end_turn (someone else's turn)": simple("end_turn").with(func(e *wsEnv) {
		raisedHand(e)
		e.req(e.leadW, hubtest.Event{"type": "give_floor", "member_id": e.mid("tgt")})
	}),
	"set_presence": simple("set_presence", "as", protocol.AsObserver),
	"react (someone else's message)": {setup: otherMessage,
		frame: func(e *wsEnv) hubtest.Event {
			return hubtest.Event{"type": "react", "message_id": e.otherMsg, "reaction": "heart"}
		}},
}

// token is a fresh token of the actor's user (refresh).
func (e *wsEnv) token() string { return hubtest.Token(e.t, e.users["actor"], e.tokenRole()) }

func (e *wsEnv) tokenRole() string {
	switch e.role {
	case roleOtherFac, roleCo, roleFac:
		return protocol.RoleFacilitator
	case roleSup:
		return protocol.RoleSupervisor
	}
	return protocol.RoleMember
}

var envSeq atomic.Int64

// newWSEnv builds a cell's world for role and row key.
func newWSEnv(t *testing.T, n *hubtest.Node, role, key string, spec wsRow) *wsEnv {
	t.Helper()
	ctx := context.Background()
	p := fmt.Sprintf("w%d-", envSeq.Add(1))
	e := &wsEnv{t: t, n: n, role: role, users: map[string]string{}}
	for _, k := range []string{"lead", "co", "mem", "muted", "obs", "ban", "tgt", "wai", "stranger", "otherfac", "sup"} {
		e.users[k] = p + k
	}
	e.users["actor"] = map[string]string{roleNonMember: e.users["stranger"], roleMember: e.users["mem"], roleMuted: e.users["muted"],
		roleObserver: e.users["obs"], roleBanned: e.users["ban"], roleOtherFac: e.users["otherfac"], roleCo: e.users["co"],
		roleFac: e.users["lead"], roleSup: e.users["sup"]}[role]
	lead := room.Actor{UserID: e.users["lead"], TokenRole: protocol.RoleFacilitator}
	r, err := n.Rooms.Create(ctx, lead, room.CreateParams{Name: "Group A", Kind: room.KindSupport})
	if err != nil {
		t.Fatal(err)
	}
	e.id = r.ID
	if _, err := n.Rooms.AddFacilitator(ctx, lead, e.id, e.users["co"]); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"mem", "muted", "obs", "ban", "tgt", "wai"} {
		if _, err := n.Rooms.AddMember(ctx, lead, e.id, e.users[k]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.Rooms.Create(ctx, room.Actor{UserID: e.users["otherfac"], TokenRole: protocol.RoleFacilitator}, room.CreateParams{Name: "Group B", Kind: room.KindCBT}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Rooms.Ban(ctx, lead, e.id, e.mid("ban")); err != nil {
		t.Fatal(err)
	}
	if !spec.noSession {
		r, err := n.Rooms.StartSession(ctx, lead, e.id, 60)
		if err != nil {
			t.Fatal(err)
		}
		n.Hub.SessionStarted(ctx, r)
	}
	e.leadW = hubtest.Dial(t, n.URL, hubtest.Token(t, e.users["lead"], protocol.RoleFacilitator))
	e.leadW.Join(e.id, "Dr. Lee")
	e.tgt = hubtest.Dial(t, n.URL, hubtest.Token(t, e.users["tgt"], protocol.RoleMember))
	if r := e.tgt.JoinFrame(hubtest.Event{"type": "join", "room": e.id, "display_name": "Tia"}); r.Str("type") != "joined" {
		e.tgt = nil // at the door: no session
	}
	e.actor = hubtest.Dial(t, n.URL, hubtest.Token(t, e.users["actor"], e.tokenRole()))
	if key != "join" && inRoom(role) {
		r := e.actor.JoinFrame(hubtest.Event{"type": "join", "room": e.id, "display_name": "Actor"})
		switch r.Str("type") {
		case "joined":
			e.joined = true
		case "waiting":
		default:
			t.Fatalf("the actor's join: %v", r)
		}
	}
	e.ownMsg = "nomessage0000000" // for those who cannot say anything in the room
	if spec.early != nil && e.joined {
		spec.early(e)
	}
	e.req(e.leadW, hubtest.Event{"type": "mute", "member_id": e.mid("muted"), "minutes": 0, "reason": "A pause"})
	if role == roleObserver && e.joined {
		e.req(e.actor, hubtest.Event{"type": "set_presence", "as": protocol.AsObserver})
	}
	if spec.setup != nil {
		spec.setup(e)
	}
	// A join records the admission in the store after answering: a ping on
	// each connection (read after its join is handled) lets those writes
	// land before the cell reads the room.
	for _, p := range []*hubtest.Peer{e.leadW, e.tgt, e.actor} {
		if p != nil {
			if r := p.Request(hubtest.Event{"type": "ping"}); r.Str("type") != "pong" {
				t.Fatalf("ping: %v", r)
			}
		}
	}
	return e
}

// marker sends a message from the lead's connection and returns its seq,
// once every watcher has it: their streams are read up to it.
func (e *wsEnv) marker(text string) uint64 {
	e.t.Helper()
	seq := uint64(e.req(e.leadW, hubtest.Event{"type": "send", "text": text}).Num("seq"))
	for _, w := range e.watchers() {
		w.Until(func(ev hubtest.Event) bool { return ev.Str("text") == text })
	}
	return seq
}

// runWSCell exercises one cell and holds it to want.
func runWSCell(t *testing.T, n *hubtest.Node, role, key, want string) {
	spec, ok := wsRows[key]
	if !ok {
		t.Fatalf("no exerciser for the policy row %q: teach authz_test.go how to send it", key)
	}
	e := newWSEnv(t, n, role, key, spec)
	ctx := context.Background()
	lead := room.Actor{UserID: e.users["lead"], TokenRole: protocol.RoleFacilitator}
	before, err := n.Rooms.Load(ctx, e.id)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := n.Rooms.Audit(ctx, lead, e.id, 0, room.MaxAuditLimit)
	if err != nil {
		t.Fatal(err)
	}
	pre := e.marker("before the command")

	var reply hubtest.Event
	if key == "join" {
		f := hubtest.Event{"type": "join", "room": e.id, "display_name": "Actor"}
		if role == roleObserver {
			f["as"] = protocol.AsObserver
		}
		reply = e.actor.JoinFrame(f)
	} else {
		f := spec.frame(e)
		if f["type"] != protocol.TypePing && f["type"] != protocol.TypeRefresh {
			f["room"] = e.id
		}
		reply = e.actor.Request(f)
	}

	if want == "allowed" {
		if typ := reply.Str("type"); typ != "ok" && typ != "joined" && typ != "pong" {
			t.Fatalf("%s by %s: got %v, want it allowed", key, role, reply)
		}
		return
	}
	if reply.Str("type") != "error" || reply.Str("code") != want {
		t.Fatalf("%s by %s: got %v, want error %s", key, role, reply, want)
	}
	if reply.Str("message") == "" {
		t.Errorf("refusal %s without a sentence", want)
	}
	// Nothing changed: the record, and every stream in the room (the next
	// room event anyone gets is the marker after the refusal, with the next
	// seq).
	after, err := n.Rooms.Load(ctx, e.id)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version {
		t.Errorf("refused %s changed the room: version %d → %d", key, before.Version, after.Version)
	}
	post := uint64(e.req(e.leadW, hubtest.Event{"type": "send", "text": "after the command"}).Num("seq"))
	if post != pre+1 {
		t.Errorf("refused %s published something: seq %d → %d", key, pre, post)
	}
	for i, w := range e.watchers() {
		ev := w.Until(func(ev hubtest.Event) bool { return ev.Str("room") == e.id })
		if ev.Str("text") != "after the command" {
			t.Errorf("watcher %d got %v after the refused %s, before the marker", i, ev, key)
		}
	}
	// Recorded when it refuses the person, with metadata only.
	audit2, err := n.Rooms.Audit(ctx, lead, e.id, 0, room.MaxAuditLimit)
	if err != nil {
		t.Fatal(err)
	}
	code, recorded := auditedAs(role, want)
	if !recorded {
		if len(audit2) != len(audit) {
			t.Errorf("refusal %s of %s recorded: %+v", want, key, audit2[0])
		}
		return
	}
	if len(audit2) != len(audit)+1 {
		t.Fatalf("refusal %s of %s: %d audit entries → %d, want one more", want, key, len(audit), len(audit2))
	}
	got := audit2[0]
	cmd := strings.Fields(key)[0]
	if got.Action != room.ActionDenied || got.Command != cmd || string(got.Code) != code || got.Actor != e.mid("actor") || got.Target != "" {
		t.Errorf("audit entry %+v, want denied %s %s by %s", got, cmd, code, e.mid("actor"))
	}
}

// TestWebSocketPolicyMatrix holds every WebSocket command, for every role,
// to the table in docs/protocol.md: allowed ones are answered ok; refused
// ones with the table's code, changing nothing (the room's record, and not
// one event in anyone's stream), and — when they refuse the person — with
// one audit entry of metadata only.
func TestWebSocketPolicyMatrix(t *testing.T) {
	roles, rows := hubtest.ReadPolicy(t, "### WebSocket commands by role", 0)
	if want := []string{roleNonMember, roleMember, roleMuted, roleObserver, roleBanned, roleOtherFac, roleCo, roleFac, roleSup}; !slices.Equal(roles, want) {
		t.Fatalf("WebSocket policy columns %q, want %q", roles, want)
	}
	var keys []string
	for _, r := range rows {
		keys = append(keys, r.Key)
	}
	for _, cmd := range clientCommands(t) {
		if !slices.ContainsFunc(keys, func(k string) bool { return strings.Fields(k)[0] == cmd }) {
			t.Errorf("client command %q has no row in the WebSocket policy table", cmd)
		}
	}
	n := hubtest.StartNode(t, hubtest.Options{RedisURL: redistest.Start(t).URL(), Unlimited: true})
	for _, r := range rows {
		t.Run(r.Key, func(t *testing.T) {
			for _, role := range roles {
				t.Run(role, func(t *testing.T) { runWSCell(t, n, role, r.Key, r.Cells[role]) })
			}
		})
	}
}

// openRoomOn creates a room led by "fac" with members, opens a session with
// its buffer (for resumes), and returns its id.
func openRoomOn(t *testing.T, n *hubtest.Node, p room.CreateParams, members ...string) string {
	t.Helper()
	id := newRoom(t, n, p, members...)
	r, err := n.Rooms.StartSession(context.Background(), room.Actor{UserID: "fac"}, id, 60)
	if err != nil {
		t.Fatal(err)
	}
	n.Hub.SessionStarted(context.Background(), r)
	return id
}

// quietUntilPong pings p and fails if any event of the room arrives before
// the pong: everything queued for p before the ping comes first, so a room
// event delivered to p's node earlier would show.
func quietUntilPong(t *testing.T, p *hubtest.Peer, roomID, why string) {
	t.Helper()
	p.Send(hubtest.Event{"type": "ping", "id": "quiet"})
	p.Until(func(e hubtest.Event) bool {
		if e.Str("room") == roomID {
			t.Fatalf("%s: %v reached a connection taken out of the room", why, e)
		}
		return e.Str("type") == "pong"
	})
}

// Regression: a removed member could still send in the window between the
// removed event and the task that drops their connection; REST and other
// tabs aside, a removal or ban must reach every connection of the member on
// every node. Here the member has two tabs on two nodes over one real
// Redis: both are told, both are refused at once, nothing more of the room
// reaches either, a resume from before replays nothing of what was said
// while they were out, and the ban is read from the store (a token minted
// after it changes nothing).
func TestRemovalAndBanReachEveryTabOnEveryNode(t *testing.T) {
	for _, tc := range []struct {
		cmd    string
		banned bool
	}{{"remove", false}, {"ban", true}} {
		t.Run(tc.cmd, func(t *testing.T) {
			n1, n2 := twoNodes(t)
			id := openRoomOn(t, n1, room.CreateParams{}, "ana", "ben")
			fac := hubtest.Dial(t, n1.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
			fac.Join(id, "Dr. Lee")
			ben := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ben", protocol.RoleMember))
			ben.Join(id, "Ben")
			ana1 := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ana", protocol.RoleMember))
			j := ana1.Join(id, "Ana")
			anaID, epoch := member(j, "you")["member_id"].(string), j.Str("epoch")
			ana2 := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ana", protocol.RoleMember))
			ana2.Join(id, "Ana")
			seen := uint64(fac.Request(hubtest.Event{"type": "send", "room": id, "text": "said before"}).Num("seq"))
			for _, p := range []*hubtest.Peer{ana1, ana2, ben} {
				p.Until(func(e hubtest.Event) bool { return e.Str("text") == "said before" })
			}

			req(t, fac, hubtest.Event{"type": tc.cmd, "room": id, "member_id": anaID})
			for k, p := range []*hubtest.Peer{ana1, ana2} {
				if e := p.UntilType("removed"); e.Str("room") != id || (e["banned"] == true) != tc.banned {
					t.Fatalf("tab %d: removed = %v", k+1, e)
				}
				// Refused the moment they are told, not after the drop.
				if r := p.Request(hubtest.Event{"type": "send", "room": id, "text": "am I still here?"}); r.Str("code") != "not_joined" && r.Str("code") != "banned" {
					t.Fatalf("tab %d: send right after removed = %v, want it refused", k+1, r)
				}
				if r := p.Request(hubtest.Event{"type": "raise_hand", "room": id}); r.Str("type") != "error" {
					t.Fatalf("tab %d: raise_hand after removed = %v, want it refused", k+1, r)
				}
			}
			fac.Until(func(e hubtest.Event) bool { return e.Str("type") == "member_left" && e.Str("member_id") == anaID })
			req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "said while they are out"})
			ben.Until(func(e hubtest.Event) bool { return e.Str("text") == "said while they are out" })
			fac.Until(func(e hubtest.Event) bool { return e.Str("text") == "said while they are out" })
			quietUntilPong(t, ana1, id, "node 1")
			quietUntilPong(t, ana2, id, "node 2")
			ben.Send(hubtest.Event{"type": "ping", "id": "p"})
			ben.Until(func(e hubtest.Event) bool {
				if e.Str("text") == "am I still here?" {
					t.Fatalf("a refused message was delivered: %v", e)
				}
				return e.Str("type") == "pong"
			})

			resume := hubtest.Event{"type": "join", "room": id, "display_name": "Ana", "resume_from": map[string]any{"epoch": epoch, "seq": seen}}
			if tc.banned {
				// The ban is the store's: a new token (no claim about bans
				// exists) on the other node is refused, resume or not.
				if r, err := n2.Rooms.Load(context.Background(), id); err != nil || !r.IsBanned(anaID) {
					t.Fatalf("the store does not hold the ban: %v %v", r.Banned, err)
				}
				ana3 := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ana", protocol.RoleMember))
				if r := ana3.JoinFrame(resume); r.Str("code") != "banned" {
					t.Fatalf("resume while banned = %v, want banned", r)
				}
				req(t, fac, hubtest.Event{"type": "unban", "room": id, "member_id": anaID})
			}
			ana4 := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ana", protocol.RoleMember))
			r := ana4.JoinFrame(resume)
			if r.Str("type") != "joined" || member(r, "resume")["replayed"] != 0.0 {
				t.Fatalf("resume from before the %s = %v, want joined with nothing replayed", tc.cmd, r)
			}
			req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "welcome back"})
			ana4.Until(func(e hubtest.Event) bool {
				if e.Str("text") == "said while they are out" || e.Str("text") == "said before" {
					t.Fatalf("replayed from before the %s: %v", tc.cmd, e)
				}
				return e.Str("text") == "welcome back"
			})
		})
	}
}

// Deletion is total: a deleted message leaves the session buffer (a resume
// gets the stand-in, never the text; Redis holds it nowhere), every
// connection on both nodes gets message_deleted, and nobody who joins or
// resumes afterwards sees it, reports it or reacts to it.
func TestDeletedMessageIsGoneEverywhere(t *testing.T) {
	rds := redistest.Start(t)
	o := hubtest.Options{RedisURL: rds.URL(), Unlimited: true}
	n1, n2 := hubtest.StartNode(t, o), hubtest.StartNode(t, o)
	id := openRoomOn(t, n1, room.CreateParams{}, "ana", "ben", "cal", "dan")
	fac := hubtest.Dial(t, n1.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	fac.Join(id, "Dr. Lee")
	ana := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	ana.Join(id, "Ana")
	ben := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ben", protocol.RoleMember))
	ben.Join(id, "Ben")
	cal := hubtest.Dial(t, n2.URL, hubtest.Token(t, "cal", protocol.RoleMember))
	epoch := cal.Join(id, "Cal").Str("epoch")
	seen := uint64(fac.Request(hubtest.Event{"type": "send", "room": id, "text": "before"}).Num("seq"))
	cal.Until(func(e hubtest.Event) bool { return e.Str("text") == "before" })
	_ = cal.WS.CloseNow() // cal's connection drops; they resume later

	const own, others = "a message Ana takes back 7f3k", "a message of Ben's taken down 9q2z"
	ids := map[string]string{}
	for _, m := range []struct {
		by   *hubtest.Peer
		text string
	}{{ana, own}, {ben, others}} {
		ids[m.text] = m.by.Request(hubtest.Event{"type": "send", "room": id, "text": m.text}).Str("message_id")
		for _, p := range []*hubtest.Peer{fac, ana, ben} {
			p.Until(func(e hubtest.Event) bool { return e.Str("message_id") == ids[m.text] })
		}
	}
	req(t, ana, hubtest.Event{"type": "delete_message", "room": id, "message_id": ids[own]})
	req(t, fac, hubtest.Event{"type": "delete_message", "room": id, "message_id": ids[others]})
	for _, p := range []*hubtest.Peer{fac, ben, ana} { // node 1, node 1, node 2
		for _, text := range []string{own, others} {
			p.Until(func(e hubtest.Event) bool {
				return e.Str("type") == "message_deleted" && e.Str("message_id") == ids[text]
			})
		}
	}

	// Nowhere in Redis: the buffer holds the stand-in.
	if c := rds.Contents(t); strings.Contains(c, "7f3k") || strings.Contains(c, "9q2z") {
		t.Fatalf("a deleted message is still in Redis:\n%s", c)
	}
	// A resume from before them (on node 1) gets the stand-ins, not the
	// words; a member who joins afterwards (node 2) has nothing to see,
	// report or react to — on either node.
	cal2 := hubtest.Dial(t, n1.URL, hubtest.Token(t, "cal", protocol.RoleMember))
	r := cal2.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "Cal", "resume_from": map[string]any{"epoch": epoch, "seq": seen}})
	if r.Str("type") != "joined" || member(r, "resume")["replayed"].(float64) < 2 {
		t.Fatalf("resume = %v", r)
	}
	dan := hubtest.Dial(t, n2.URL, hubtest.Token(t, "dan", protocol.RoleMember))
	dan.Join(id, "Dan")
	req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "marker"})
	for _, p := range []*hubtest.Peer{cal2, dan} {
		p.Until(func(e hubtest.Event) bool {
			if txt := e.Str("text"); txt == own || txt == others {
				t.Fatalf("a deleted message reached a later connection: %v", e)
			}
			return e.Str("text") == "marker"
		})
	}
	for _, p := range []*hubtest.Peer{cal2, dan} {
		for _, text := range []string{own, others} {
			if r := p.Request(hubtest.Event{"type": "report", "room": id, "message_id": ids[text]}); r.Str("code") != "not_found" {
				t.Errorf("report of a deleted message = %v, want not_found", r)
			}
			if r := p.Request(hubtest.Event{"type": "react", "room": id, "message_id": ids[text], "reaction": "heart"}); r.Str("code") != "not_found" {
				t.Errorf("reaction to a deleted message = %v, want not_found", r)
			}
		}
	}
}

// Regression: admit_all ignored the room's capacity. It lets in only as
// many as there are free seats, in arrival order, and the others stay
// waiting; admitting one more when full is room_full, changing nothing.
func TestAdmitAllKeepsToCapacity(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	users := []string{"m1", "m2", "m3", "m4"}
	id := openRoomOn(t, n, room.CreateParams{Capacity: 2, WaitingRoom: true}, users...)
	fac := hubtest.Dial(t, n.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	fac.Join(id, "Dr. Lee")
	var peers []*hubtest.Peer
	var ids []string
	for _, u := range users {
		p := hubtest.Dial(t, n.URL, hubtest.Token(t, u, protocol.RoleMember))
		w := p.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": u})
		if w.Str("type") != "waiting" {
			t.Fatalf("%s: %v, want waiting", u, w)
		}
		peers, ids = append(peers, p), append(ids, member(w, "you")["member_id"].(string))
	}
	req(t, fac, hubtest.Event{"type": "admit_all", "room": id})
	for _, p := range peers[:2] {
		p.UntilType("joined")
		// The admission is recorded after joined, while the connection's
		// commands wait: one more command lets it land.
		req(t, p, hubtest.Event{"type": "unhide", "room": id, "member_id": "nobody0000000000"})
	}
	load := func() room.Room {
		r, err := n.Rooms.Load(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	var waiting []string
	for _, w := range load().Session.Waiting {
		waiting = append(waiting, w.MemberID)
	}
	if !slices.Equal(waiting, ids[2:]) {
		t.Fatalf("still waiting: %v, want the last two to arrive, %v", waiting, ids[2:])
	}
	v := func() uint64 { return load().Version }
	before := v()
	for _, f := range []hubtest.Event{{"type": "admit", "member_id": ids[2]}, {"type": "admit_all"}} {
		f["room"] = id
		if r := fac.Request(f); r.Str("code") != "room_full" {
			t.Fatalf("%v in a full room = %v, want room_full", f, r)
		}
	}
	if v() != before {
		t.Fatal("a refused admit changed the room")
	}
	for _, p := range peers[2:] {
		if r := p.Request(hubtest.Event{"type": "send", "room": id, "text": "x"}); r.Str("code") != "in_lobby" {
			t.Fatalf("a member left waiting: %v", r)
		}
	}
	// A seat frees: the next one may come in.
	req(t, peers[0], hubtest.Event{"type": "leave", "room": id})
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := fac.Request(hubtest.Event{"type": "admit_all", "room": id})
		if r.Str("type") == "ok" {
			break
		}
		if r.Str("code") != "room_full" || time.Now().After(deadline) {
			t.Fatalf("admit_all after a member left = %v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	peers[2].UntilType("joined")
}

// Regression: the capacity check and the entering were two steps, so
// members joining at once on two nodes could all take the last seat.
// Twelve members race for three seats: exactly three get in.
func TestConcurrentJoinsNeverExceedCapacity(t *testing.T) {
	n1, n2 := twoNodes(t)
	var users []string
	for i := range 12 {
		users = append(users, fmt.Sprint("m", i))
	}
	id := openRoomOn(t, n1, room.CreateParams{Capacity: 3}, users...)
	ctx := context.Background()
	r, err := n1.Rooms.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	_, version := r.CurrentGuidelines()
	peers := make([]*hubtest.Peer, len(users))
	for i, u := range users {
		if _, err := n1.Rooms.Accept(ctx, id, u, version); err != nil { // one request each: a tight race
			t.Fatal(err)
		}
		peers[i] = hubtest.Dial(t, []*hubtest.Node{n1, n2}[i%2].URL, hubtest.Token(t, u, protocol.RoleMember))
	}
	replies := make([]hubtest.Event, len(users))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() { replies[i] = p.Request(hubtest.Event{"type": "join", "room": id, "display_name": users[i]}) })
	}
	wg.Wait()
	joined := 0
	for i, r := range replies {
		switch {
		case r.Str("type") == "joined":
			joined++
		case r.Str("code") != "room_full":
			t.Errorf("%s: %v", users[i], r)
		}
	}
	if joined != 3 {
		t.Fatalf("%d members joined a room of 3 seats", joined)
	}
}

// Regression: a member could claim a facilitator's display name before the
// facilitator first joined. A facilitator's first name in the room is
// theirs: the member who had it leaves the room (removed) and must choose
// another; the release is audited. A facilitator who already has a name
// cannot take a member's.
func TestFacilitatorNameIsTheirsBeforeTheyFirstJoin(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	id := openRoomOn(t, n, room.CreateParams{}, "ana", "ben", "co")
	ctx := context.Background()
	if _, err := n.Rooms.AddFacilitator(ctx, room.Actor{UserID: "fac"}, id, "co"); err != nil {
		t.Fatal(err)
	}
	ana := hubtest.Dial(t, n.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	anaID := member(ana.Join(id, "Dr Lee"), "you")["member_id"].(string) // nobody can know yet
	ben := hubtest.Dial(t, n.URL, hubtest.Token(t, "ben", protocol.RoleMember))
	ben.Join(id, "Ben")

	fac := hubtest.Dial(t, n.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	if j := fac.Join(id, "Dr. Lee"); member(j, "you")["display_name"] != "Dr. Lee" {
		t.Fatalf("facilitator's first join = %v", j)
	}
	ana.UntilType("removed")
	ben.Until(func(e hubtest.Event) bool { return e.Str("type") == "member_left" && e.Str("member_id") == anaID })
	for _, name := range []string{"Dr Lee", "dr. lee", "Dr. L\u0435\u0435"} {
		if r := ana.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": name}); r.Str("code") != "name_reserved" {
			t.Fatalf("member rejoining as %q = %v, want name_reserved", name, r)
		}
	}
	ana.Join(id, "Ana")
	es, err := n.Rooms.Audit(ctx, room.Actor{UserID: "fac"}, id, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(es, func(e room.AuditEntry) bool { return e.Action == room.ActionReleaseName && e.Target == anaID }) {
		t.Errorf("the release is not audited: %+v", es)
	}
	// Only a facilitator's first name wins: co takes one, then cannot take
	// a member's.
	co := hubtest.Dial(t, n.URL, hubtest.Token(t, "co", protocol.RoleFacilitator))
	co.Join(id, "Robin")
	req(t, co, hubtest.Event{"type": "leave", "room": id})
	if r := co.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "Ben"}); r.Str("code") != "name_taken" {
		t.Fatalf("a named facilitator taking a member's name = %v, want name_taken", r)
	}
}

// Regression (seen in the soak run): a member whose node went down
// reconnected, within the seat's grace, to a full room and was refused
// room_full by their own seat, still held for them. Their seat is theirs:
// they come back in, and a newcomer still cannot.
func TestOwnHeldSeatInAFullRoom(t *testing.T) {
	rds := redistest.Start(t)
	n1 := hubtest.StartNode(t, hubtest.Options{RedisURL: rds.URL()})
	n2 := hubtest.StartNode(t, hubtest.Options{RedisURL: rds.URL()})
	id := openRoomOn(t, n1, room.CreateParams{Capacity: 2}, "ana", "ben", "cy")
	ana := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	anaID := member(ana.Join(id, "Ana"), "you")["member_id"].(string)
	ben := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ben", protocol.RoleMember))
	benID := member(ben.Join(id, "Ben"), "you")["member_id"].(string)
	req(t, ana, hubtest.Event{"type": "leave", "room": id})

	// As after a node crash: Ana is no longer present, her seat still held.
	opt, err := redis.ParseURL(rds.URL())
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	now := time.Now().UnixMilli()
	seats, _ := json.Marshal(map[string]int64{anaID: now, benID: now})
	if err := rc.Set(context.Background(), "hearth:{"+id+"}:v:seats", seats, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}

	again := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	if j := again.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "Ana"}); j.Str("type") != "joined" {
		t.Fatalf("ana back to her own held seat = %v", j)
	}
	cy := hubtest.Dial(t, n1.URL, hubtest.Token(t, "cy", protocol.RoleMember))
	if j := cy.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": "Cy"}); j.Str("code") != "room_full" {
		t.Fatalf("a third member in a room of 2 = %v, want room_full", j)
	}
}
