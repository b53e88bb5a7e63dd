package browsertest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// group is one scenario's people: a facilitator and two members, each in a
// browser context of their own, spread over two nodes that share one
// Redis.
type group struct {
	t       *testing.T
	c       *Cluster
	b       *Browser
	room    string
	fac     *Page // facilitator "Dr. Lee"
	alice   *Page // member "Alice"
	bob     *Page // member "Bob"
	members map[*Page]string
}

// newGroup starts Chromium (or skips), a private Redis, two nodes, and a
// room with an open session; the pages are opened but not yet signed in.
func newGroup(t *testing.T, roomID string) *group {
	t.Helper()
	b := Start(t) // first: skips without chromium before Redis is started
	c := StartCluster(t, 2)
	c.OpenRoom(t, roomID, "fac-"+roomID, "alice-"+roomID, "bob-"+roomID)
	return &group{
		t: t, c: c, b: b, room: roomID,
		fac:   b.NewPage("facilitator"),
		alice: b.NewPage("alice"),
		bob:   b.NewPage("bob"),
	}
}

// link is the sign-in link of user sub with role on base (a node's or a
// proxy's URL).
func (g *group) link(base, sub, role string) string {
	return Link(base, Token(g.t, sub, role), g.room)
}

// openAll opens each person's link: the facilitator and Bob on node 0,
// Alice on node 1.
func (g *group) openAll() {
	g.t.Helper()
	g.fac.Open(g.link(g.c.Nodes[0].HTTP, "fac-"+g.room, "facilitator"))
	g.alice.Open(g.link(g.c.Nodes[1].HTTP, "alice-"+g.room, "member"))
	g.bob.Open(g.link(g.c.Nodes[0].HTTP, "bob-"+g.room, "member"))
}

// joinAll signs everyone in through the page: the facilitator first.
func (g *group) joinAll() {
	g.t.Helper()
	g.openAll()
	joinAsFacilitator(g.fac, "Dr. Lee")
	joinAsMember(g.alice, "Alice")
	joinAsMember(g.bob, "Bob")
	// Everyone sees everyone before the scenario starts.
	for _, p := range []*Page{g.fac, g.alice, g.bob} {
		waitPeople(p, "Dr. Lee", "Alice", "Bob")
	}
}

// joinAsMember is the member's journey from an opened link into the room,
// with the mouse: the name screen, "Join the group", the group agreement
// ("Before you join"), "I agree and join", the chat.
func joinAsMember(p *Page, name string) {
	p.t.Helper()
	p.Type("Display name", name)
	p.Click("button", "Join the group")
	p.Find("dialog", "Before you join")
	p.Find("region", "The group agreement")
	p.Click("button", "I agree and join")
	waitInRoom(p, name)
}

// joinAsFacilitator: facilitators choose a name too, and have no
// agreement to accept.
func joinAsFacilitator(p *Page, name string) {
	p.t.Helper()
	p.Type("Display name", name)
	p.Click("button", "Join the group")
	waitInRoom(p, name)
}

func waitInRoom(p *Page, name string) {
	p.t.Helper()
	p.WaitFor("the chat screen", fmt.Sprintf(
		`!document.getElementById('screen-chat').hidden && document.getElementById('you-are').textContent === %s`,
		jsString("You are here as "+name+".")))
}

// waitPeople waits until the people list shows each name.
func waitPeople(p *Page, names ...string) {
	p.t.Helper()
	p.WaitFor("people: "+strings.Join(names, ", "), fmt.Sprintf(
		`(() => { const shown = [...document.querySelectorAll('#people-list .person-name')].map((e) => e.textContent);
		  return %s.every((n) => shown.includes(n)); })()`, jsJSON(names)))
}

// messages returns the texts of the messages shown in the conversation,
// in order (hidden ones left out).
func messages(p *Page) []string {
	p.t.Helper()
	var texts []string
	p.Eval(`[...document.querySelectorAll('#log .msg')].filter((m) => !m.hidden).map((m) => m.querySelector('.msg-text').textContent)`, &texts)
	return texts
}

// waitMessage waits until the conversation shows a message with exactly
// this text (from the author with this display name).
func waitMessage(p *Page, author, text string) {
	p.t.Helper()
	p.WaitFor(fmt.Sprintf("%s's message %q", author, text), fmt.Sprintf(
		`[...document.querySelectorAll('#log .msg')].some((m) => !m.hidden &&
		  m.querySelector('.msg-text').textContent === %s && m.dataset.authorName === %s)`, jsString(text), jsString(author)))
}

// send types a message in the message box and sends it with Enter, and
// waits until the page shows it (the server's broadcast came back).
func send(p *Page, author, text string) {
	p.t.Helper()
	p.Type("Your message", text+"\n")
	waitMessage(p, author, text)
	p.WaitFor("the message box to be emptied", `document.getElementById('composer-text').value === ''`)
}

// messageScope is a JavaScript expression for the message element with
// this text (to click inside it).
func messageScope(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#log .msg')].find((m) => m.querySelector('.msg-text').textContent === %s)`, jsString(text))
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

func jsJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
