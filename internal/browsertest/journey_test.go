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
	a.Viewport(360, 780)
	a.Screenshot("member-chat-phone-360")
	a.Viewport(0, 0)
}
