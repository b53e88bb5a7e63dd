package browsertest

import (
	"strings"
	"testing"
)

// Scenario 1: a member opens their link, reads and accepts the group
// agreement, chooses a display name, joins, and sends a message that the
// other member's page — on the other node — shows.
func TestMemberJourney(t *testing.T) {
	g := newGroup(t, "journey")
	g.openAll()
	joinAsFacilitator(g.fac, "Dr. Lee")

	// Alice, on node 1: the name screen first.
	a := g.alice
	a.Find("heading", "Choose your name for this group")
	a.Screenshot("member-start-name")
	a.Type("Display name", "Alice")
	a.Click("button", "Join the group")
	// The group agreement, as text, before anything of the room.
	a.Find("dialog", "Before you join")
	agreement := a.Text("#dialog-body")
	for _, want := range []string{"988"} {
		if !strings.Contains(agreement, want) {
			t.Errorf("alice: the agreement does not mention %q:\n%s", want, agreement)
		}
	}
	if !a.Has("button", "Not now") {
		t.Error(`alice: the agreement offers no "Not now"`)
	}
	a.Screenshot("member-agreement")
	a.Click("button", "I agree and join")
	waitInRoom(a, "Alice")
	a.WaitFor("the confidentiality reminder", `document.getElementById('notices').innerText.includes('What is shared here stays here.')`)

	// Bob, on node 0.
	joinAsMember(g.bob, "Bob")
	waitPeople(a, "Dr. Lee", "Alice", "Bob")

	send(a, "Alice", "Hello everyone, it's good to be here.")
	waitMessage(g.bob, "Alice", "Hello everyone, it's good to be here.")
	waitMessage(g.fac, "Alice", "Hello everyone, it's good to be here.")
	send(g.bob, "Bob", "Welcome, Alice.")
	waitMessage(a, "Bob", "Welcome, Alice.")

	for _, p := range []*Page{a, g.bob, g.fac} {
		if got := messages(p); strings.Join(got, "|") != "Hello everyone, it's good to be here.|Welcome, Alice." {
			t.Errorf("%s: messages %q", p.Name, got)
		}
	}
	a.Screenshot("member-chat")

	// On a phone the conversation comes before people, private messages and
	// tools: at the top of the page it starts on the first screen (it used to
	// start below people and private messages, a screen further down).
	a.Viewport(360, 780)
	a.WaitFor("the conversation on Alice's first screen", `(() => {
		document.querySelector('.main').scrollTop = 0;
		const log = document.getElementById('log').getBoundingClientRect();
		const side = document.querySelector('.side').getBoundingClientRect();
		return log.top >= 0 && log.top < innerHeight - 80 && side.top > log.bottom;
	})()`)
	a.Screenshot("member-chat-phone-360")

	// A private message from the facilitator reaches Alice on her phone:
	// a notice above the conversation (the panel is below the message box)
	// opens the thread, and she answers.
	fac := g.fac
	fac.Click("button", "Actions for Alice")
	fac.Click("button", "Message privately to Alice")
	fac.Type("Private message to Alice", "How are you doing, Alice?\n")
	a.Find("button", "Open the private messages with Dr. Lee")
	if doc := a.Text("#log"); strings.Contains(doc, "How are you doing") {
		t.Errorf("alice: the private message shows in the group conversation:\n%s", doc)
	}
	a.Screenshot("member-dm-notice-phone-360")
	a.Click("button", "Open the private messages with Dr. Lee")
	a.WaitFor("the private message in Alice's thread", `document.getElementById('dm-logs').innerText.includes('How are you doing, Alice?')`)
	a.Type("Private message to Dr. Lee", "Better than last week, thank you.\n")
	fac.WaitFor("Alice's answer in the facilitator's thread", `document.getElementById('dm-logs').innerText.includes('Better than last week, thank you.')`)
	if a.Has("button", "Open the private messages with Dr. Lee") {
		t.Error("alice: the notice about the private message stayed after she opened it")
	}
	for _, p := range []*Page{g.bob} {
		if doc := p.VisibleText(); strings.Contains(doc, "How are you doing") || strings.Contains(doc, "Better than last week") {
			t.Errorf("%s: sees the private conversation:\n%s", p.Name, doc)
		}
	}
	a.Viewport(0, 0)
}
