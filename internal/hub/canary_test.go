package hub_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
	"hearth/internal/room"
)

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a
// logger shared by several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// captureLogs returns a logger that writes everything from DEBUG up, both
// as text and as JSON, and a function returning all that was written.
func captureLogs() (*slog.Logger, func() string) {
	var text, js lockedBuffer
	opts := &slog.HandlerOptions{Level: slog.LevelDebug, AddSource: true}
	log := slog.New(slog.NewMultiHandler(slog.NewTextHandler(&text, opts), slog.NewJSONHandler(&js, opts)))
	return log, func() string { return text.String() + "\n" + js.String() }
}

// canaries are three unique strings a session carries: in a member's
// message, in a facilitator's DM, and in a member's display name (letters
// only, as display names allow).
type canaries struct{ msg, dm, name string }

func newCanaries() canaries {
	letters := strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return -1
	}, rand.Text()+rand.Text())
	return canaries{
		msg:  "canary-msg-" + rand.Text(),
		dm:   "canary-dm-" + rand.Text(),
		name: "Zq" + letters[:14],
	}
}

// canarySession runs one whole session over the nodes given (peers are
// spread over them in turn): a facilitator and two members join, one member
// with the name canary; slow mode is on; a member sends the message canary;
// the facilitator DMs the DM canary; the other member reports the message,
// reacts to it, raises a hand, then writes words of crisis (with the message
// canary) and DMs the facilitator (with the DM canary), so that an alert is
// raised, stored and logged; beforeEnd runs (if not nil); the facilitator
// ends the session. The facilitator's peer opens the session itself
// (start_session), so the session buffer is used and then deleted as in
// production.
func canarySession(t *testing.T, c canaries, beforeEnd func(), nodes ...*hubtest.Node) {
	t.Helper()
	ctx := context.Background()
	fac := room.Actor{UserID: "user-fac-canary", TokenRole: protocol.RoleFacilitator}
	r, err := nodes[0].Rooms.Create(ctx, fac, room.CreateParams{Name: "Canary group", Kind: room.KindSupport})
	if err != nil {
		t.Fatal(err)
	}
	id := r.ID
	for _, u := range []string{"user-ana-canary", "user-ben-canary"} {
		if _, err := nodes[0].Rooms.AddMember(ctx, fac, id, u); err != nil {
			t.Fatal(err)
		}
	}
	node := func(i int) *hubtest.Node { return nodes[i%len(nodes)] }

	f := hubtest.Dial(t, node(0).URL, hubtest.Token(t, fac.UserID, protocol.RoleFacilitator))
	facMemberID := member(f.Join(id, "Dr. Lee"), "you")["member_id"].(string)
	req(t, f, hubtest.Event{"type": "start_session", "room": id, "minutes": 60})
	req(t, f, hubtest.Event{"type": "slow_mode", "room": id, "seconds": 5})
	ana := hubtest.Dial(t, node(1).URL, hubtest.Token(t, "user-ana-canary", protocol.RoleMember))
	anaID := member(ana.Join(id, "Ana"), "you")["member_id"].(string)
	ben := hubtest.Dial(t, node(2).URL, hubtest.Token(t, "user-ben-canary", protocol.RoleMember))
	if you := member(ben.Join(id, c.name), "you"); you["display_name"] != c.name {
		t.Fatalf("joined as %v, want the canary name", you)
	}

	sent := ana.Request(hubtest.Event{"type": "send", "room": id, "text": "Tonight I want to say " + c.msg + " to the group."})
	msgID := sent.Str("message_id")
	if sent.Str("type") != "ok" || msgID == "" {
		t.Fatalf("send = %v", sent)
	}
	// Everyone has the message before anyone refers to it (each node keeps
	// the messages it saw, for reports and reactions).
	for _, p := range []*hubtest.Peer{f, ana, ben} {
		p.Until(func(e hubtest.Event) bool { return e.Str("type") == "message" && e.Str("message_id") == msgID })
	}
	req(t, f, hubtest.Event{"type": "dm", "room": id, "member_id": anaID, "text": "Checking in privately: " + c.dm})
	if dm := ana.UntilType("dm"); !strings.Contains(dm.Str("text"), c.dm) {
		t.Fatalf("dm = %v", dm)
	}
	req(t, ben, hubtest.Event{"type": "report", "room": id, "message_id": msgID, "reason": "off topic"})
	if rep := f.UntilType("report"); rep.Str("message_id") != msgID {
		t.Fatalf("report = %v", rep)
	}
	if r := ben.Request(hubtest.Event{"type": "react", "room": id, "message_id": msgID, "reaction": "heart"}); r.Str("type") != "ok" {
		t.Fatalf("react = %v", r)
	}
	req(t, ben, hubtest.Event{"type": "raise_hand", "room": id})
	f.UntilType("queue")
	// The crisis path too: words of crisis in a message and a DM to the
	// facilitator, from the member whose name is a canary — an alert is
	// stored, logged and sent, all by ids.
	crisis := ben.Request(hubtest.Event{"type": "send", "room": id, "text": "i want to kill myself " + c.msg})
	if crisis.Str("type") != "ok" {
		t.Fatalf("send = %v", crisis)
	}
	if a := f.UntilType("crisis_alert"); a.Str("display_name") != c.name {
		t.Fatalf("crisis_alert = %v", a)
	}
	req(t, ben, hubtest.Event{"type": "dm", "room": id, "member_id": facMemberID, "text": "can we talk after " + c.dm})
	f.Until(func(e hubtest.Event) bool { return e.Str("type") == "dm" && strings.Contains(e.Str("text"), c.dm) })

	if beforeEnd != nil {
		beforeEnd()
	}
	req(t, f, hubtest.Event{"type": "end_session", "room": id, "force": true})
	for _, p := range []*hubtest.Peer{f, ana, ben} {
		p.UntilType("session_ended")
	}
}

// assertNoCanary fails the test if any of the canaries appears in what
// (case-insensitively: a log may change case, a name is compared without
// it).
func assertNoCanary(t *testing.T, where, what string, cs ...string) {
	t.Helper()
	low := strings.ToLower(what)
	for _, c := range cs {
		if i := strings.Index(low, strings.ToLower(c)); i >= 0 {
			t.Errorf("%s holds the canary %q: …%s…", where, c, low[max(0, i-200):min(len(low), i+len(c)+200)])
		}
	}
}

// assertLogsClean checks that logging happened at all (so the check below
// is not vacuous) and that no canary is in it.
func assertLogsClean(t *testing.T, logs string, c canaries) {
	t.Helper()
	for _, want := range []string{`msg=joined`, `"msg":"joined"`, "level=DEBUG"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the captured log has no %s: the logger did not capture DEBUG output", want)
		}
	}
	assertNoCanary(t, "the log", logs, c.msg, c.dm, c.name)
}

// No message text, DM text or display name reaches the log (at DEBUG, as
// text and JSON), and no message or DM text reaches the embedded store's
// file — raw bytes, free pages included — in embedded mode.
func TestCanaryEmbedded(t *testing.T) {
	c := newCanaries()
	log, logs := captureLogs()
	dir := t.TempDir()
	n := hubtest.StartNode(t, hubtest.Options{DataDir: dir, Logger: log})
	canarySession(t, c, nil, n)
	n.Stop() // closes the bbolt file

	assertLogsClean(t, logs(), c)
	raw, err := os.ReadFile(filepath.Join(dir, "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("Canary group")) {
		t.Fatal("the data file does not hold the room: wrong file?")
	}
	assertNoCanary(t, "the bbolt file", string(raw), c.msg, c.dm)
}

// The same across two nodes over one Redis: nothing in the logs of either
// node, and no key name or value left in Redis after the session holds the
// message or DM text. Every key is read decoded, by its type.
func TestCanaryDistributed(t *testing.T) {
	c := newCanaries()
	rds := redistest.Start(t)
	log, logs := captureLogs()
	n1 := hubtest.StartNode(t, hubtest.Options{RedisURL: rds.URL(), Logger: log.With("node", 1)})
	n2 := hubtest.StartNode(t, hubtest.Options{RedisURL: rds.URL(), Logger: log.With("node", 2)})
	canarySession(t, c, func() {
		// The reading below is not blind: while the session runs, the
		// session buffer (a list) holds the message — but never a DM.
		during := rds.Contents(t)
		if !strings.Contains(during, c.msg) {
			t.Fatal("the message canary is not in the session buffer during the session: the Redis reading misses it")
		}
		assertNoCanary(t, "Redis during the session", during, c.dm)
	}, n1, n2)
	n1.Stop()
	n2.Stop()

	assertLogsClean(t, logs(), c)
	dump := rds.Contents(t)
	if !strings.Contains(dump, "Canary group") {
		t.Fatal("Redis does not hold the room: wrong server?")
	}
	assertNoCanary(t, "Redis", dump, c.msg, c.dm)
}

// Regression (found by the confidentiality review): each node kept the
// last 500 messages of a room — text included — in memory for as long as
// anyone stayed connected there, so after end_session a facilitator still
// present could report an ended session's message (the report carries its
// text, republished to the facilitators) or react to it, even in the next
// session. Now every node forgets a room's messages when its session ends.
func TestSessionMessagesForgottenAtEnd(t *testing.T) {
	n1, n2, id, fac, ana, _, _, _ := chatRoom(t)
	if _, err := n1.Rooms.AddFacilitator(context.Background(), room.Actor{UserID: "fac"}, id, "co"); err != nil {
		t.Fatal(err)
	}
	co := hubtest.Dial(t, n2.URL, hubtest.Token(t, "co", protocol.RoleFacilitator)) // on ana's node
	co.Join(id, "Kim")
	sent := ana.Request(hubtest.Event{"type": "send", "room": id, "text": "said in this session only"})
	msgID := sent.Str("message_id")
	for _, p := range []*hubtest.Peer{fac, co} {
		p.Until(func(e hubtest.Event) bool { return e.Str("message_id") == msgID })
	}
	req(t, fac, hubtest.Event{"type": "end_session", "room": id})
	for name, p := range map[string]*hubtest.Peer{"node 1": fac, "node 2": co} {
		p.UntilType("session_ended")
		// The control that makes a node forget follows session_ended on
		// the room's channel; give it the moment it needs to arrive.
		deadline := time.Now().Add(5 * time.Second)
		for {
			r := p.Request(hubtest.Event{"type": "react", "room": id, "message_id": msgID, "reaction": "heart"})
			if r.Str("code") == "not_found" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: react to an ended session's message = %v, want not_found", name, r)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if r := p.Request(hubtest.Event{"type": "report", "room": id, "message_id": msgID}); r.Str("code") != "not_found" {
			t.Errorf("%s: report of an ended session's message = %v, want not_found", name, r)
		}
	}
	req(t, fac, hubtest.Event{"type": "start_session", "room": id, "minutes": 60})
	if r := fac.Request(hubtest.Event{"type": "react", "room": id, "message_id": msgID, "reaction": "heart"}); r.Str("code") != "not_found" {
		t.Errorf("react in the next session to the last one's message = %v, want not_found", r)
	}
}
