package browsertest

import (
	"strings"
	"testing"
)

// Scenario 3: moderation from the facilitator's page. Deleting a message
// takes it off every page; muting a member makes their message box say so;
// removing them takes them out, and their page says so.
func TestModeration(t *testing.T) {
	g := newGroup(t, "moderation")
	g.joinAll()
	fac, a, b := g.fac, g.alice, g.bob

	send(a, "Alice", "Something I should not have written.")
	send(b, "Bob", "Hi all.")
	for _, p := range []*Page{fac, a, b} {
		waitMessage(p, "Alice", "Something I should not have written.")
		waitMessage(p, "Bob", "Hi all.")
	}

	// Delete Alice's message for everyone.
	fac.ClickIn(messageScope("Something I should not have written."), "button", "Options for the message from Alice")
	fac.ClickIn(messageScope("Something I should not have written."), "button", "Delete for everyone")
	fac.Find("dialog", "Delete this message for everyone?")
	fac.Click("button", "Delete")
	for _, p := range []*Page{fac, a, b} {
		p.WaitFor("the deleted message to disappear", `![...document.querySelectorAll('#log .msg-text')].some((m) => m.textContent === 'Something I should not have written.')`)
		if got := messages(p); len(got) != 1 || got[0] != "Hi all." {
			t.Errorf("%s: messages after the delete: %q", p.Name, got)
		}
		if strings.Contains(p.VisibleText(), "Something I should not have written.") {
			t.Errorf("%s: the deleted text is still shown somewhere", p.Name)
		}
	}
	// Alice is told, privately, that a facilitator removed her message; Bob is not.
	a.WaitFor("Alice's note about her removed message", `document.getElementById('notices').innerText.includes('A facilitator removed one of your messages.')`)
	if strings.Contains(b.VisibleText(), "removed one of your messages") {
		t.Error("bob: sees the note meant for Alice")
	}

	// Mute Bob.
	fac.Click("button", "Actions for Bob")
	fac.Click("button", "Mute Bob…")
	fac.Find("dialog", "Mute Bob")
	fac.Type("Reason (optional)", "Let's pause for a few minutes.")
	fac.Click("button", "Mute")
	b.WaitFor("Bob's message box to be paused", `document.getElementById('composer-text').disabled`)
	box := b.Find("textbox", "Your message")
	if !box.Disabled || !strings.Contains(box.Description, "Your messages to the group are paused until") {
		t.Errorf("bob: the message box should be disabled and say why: disabled %v, description %q", box.Disabled, box.Description)
	}
	b.WaitFor("Bob's mute notice", `document.getElementById('notices').innerText.includes('A facilitator has paused your messages until')`)
	if n := b.Text("#notices"); !strings.Contains(n, "Let's pause for a few minutes.") {
		t.Errorf("bob: the mute notice does not give the reason: %q", n)
	}
	fac.WaitFor("Bob marked muted", `document.getElementById('people-list').innerText.includes('Muted until')`)
	b.Screenshot("member-muted")

	// Remove Bob.
	if !fac.Has("button", "Remove Bob…") {
		fac.Click("button", "Actions for Bob")
	}
	fac.Click("button", "Remove Bob…")
	fac.Find("dialog", "Remove Bob from the group?")
	fac.Click("button", "Remove")
	b.Find("heading", "A facilitator has removed you from the group")
	b.WaitFor("Bob's page to say he was removed", `document.getElementById('left-text').textContent.includes('You are no longer in the room')`)
	if got := messages(b); len(got) != 0 {
		t.Errorf("bob: the conversation is still on the page after removal: %q", got)
	}
	for _, p := range []*Page{fac, a} {
		p.WaitFor("Bob gone from the people list", `![...document.querySelectorAll('#people-list .person-name')].some((e) => e.textContent === 'Bob')`)
	}
	b.Screenshot("member-removed")
}
