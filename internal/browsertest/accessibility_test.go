package browsertest

import (
	"testing"

	"github.com/chromedp/chromedp/kb"
)

// Scenario 6a: axe-core (vendored, see testdata/axe-core) on each main
// screen of the web client, as people reach them: no serious or critical
// violation anywhere. Each screen is also saved as a screenshot.
func TestAccessibility(t *testing.T) {
	g := newGroup(t, "access")
	fac, a, b := g.fac, g.alice, g.bob

	// The page opened without a link.
	b.Open(g.c.Nodes[0].HTTP + "/")
	b.Find("heading", "Welcome to Hearth")
	b.CheckAxe("start without a link")

	g.openAll()
	joinAsFacilitator(fac, "Dr. Lee")

	// The start: choosing a name.
	a.Find("heading", "Choose your name for this group")
	a.CheckAxe("start: the name screen")
	a.Type("Display name", "Alice")
	a.Click("button", "Join the group")
	a.Find("dialog", "Before you join")
	a.CheckAxe("the group agreement")
	a.Click("button", "I agree and join")
	waitInRoom(a, "Alice")
	joinAsMember(b, "Bob")
	waitPeople(a, "Dr. Lee", "Alice", "Bob")

	send(a, "Alice", "Hello, everyone.")
	send(b, "Bob", "Hi Alice.")
	waitMessage(a, "Bob", "Hi Alice.")
	a.CheckAxe("member chat")
	// A message's options open, and "Get help now" open before any crisis.
	a.ClickIn(messageScope("Hi Alice."), "button", "Options for the message from Bob")
	a.Find("button", "Hide this person")
	a.Click("link", "Get help now")
	a.Find("heading", "Support, any time")
	a.CheckAxe("member chat with a message's options and “Get help now” open")
	a.Screenshot("member-help-open")
	a.Click("button", "Close the support list")

	// The facilitator's panel while taking turns, with a raised hand.
	fac.Click("button", "Start taking turns")
	a.WaitFor("taking turns", `document.getElementById('share-mode').textContent === 'Taking turns'`)
	a.Click("button", "Raise hand")
	fac.Find("button", "Give floor to Alice")
	// With a person's actions and a message's options open too.
	fac.Click("button", "Actions for Bob")
	fac.Find("button", "Mute Bob…")
	fac.ClickIn(messageScope("Hi Alice."), "button", "Options for the message from Bob")
	fac.Find("button", "Delete for everyone")
	fac.CheckAxe("facilitator panel")
	a.CheckAxe("member chat, taking turns with a raised hand")
	fac.Click("button", "Give floor to Alice")
	a.WaitFor("Alice's turn", `document.getElementById('share-floor-text').textContent === 'It’s your turn'`)

	// The crisis panel, and the facilitator's alert.
	send(a, "Alice", "I want to end my life")
	a.WaitFor("the crisis panel", `document.getElementById('help').classList.contains('help--open')`)
	a.CheckAxe("crisis panel")
	fac.WaitFor("the alert", `document.getElementById('alerts-list').innerText.includes('Alice')`)
	fac.CheckAxe("facilitator panel with a crisis alert")

	// The check-in page, where the web client has one (#checkin).
	a.Click("button", "Close the support list")
	t.Run("check-in page", func(t *testing.T) {
		if !a.Has("link", "Check in") {
			t.Skip("the web client has no check-in page yet (no “Check in” link in the room)")
		}
		for _, p := range []*Page{a, fac} {
			p.ClickAny("link", "Check in", "Check-ins")
			p.WaitFor("the check-in screen", `!document.getElementById('screen-checkin').hidden`)
			p.WaitFor("the check-in screen to load", `(document.getElementById('checkin-loading')?.textContent ?? '') === ''`)
			p.CheckAxe("check-in page")
		}
		a.Screenshot("checkin-page")
		fac.Screenshot("checkin-facilitator")
	})

	// Leaving: the card that says the conversation was cleared.
	b.Click("button", "Leave")
	b.Find("heading", "You have left the group")
	b.CheckAxe("after leaving")
}

// Scenario 6b: the member's journey with the keyboard alone — Tab, Enter,
// Space and typed text; no click anywhere on Alice's page.
func TestKeyboardOnlyJourney(t *testing.T) {
	g := newGroup(t, "keyboard")
	g.openAll()
	joinAsFacilitator(g.fac, "Dr. Lee")
	joinAsMember(g.bob, "Bob")
	a := g.alice

	// The name field has the focus when the name screen opens.
	a.Find("heading", "Choose your name for this group")
	a.TabTo("textbox", "Display name", 10, false)
	a.Keys("Alice")
	a.TabTo("button", "Join the group", 10, false)
	a.Keys(kb.Enter)

	// The agreement: its text takes the focus first, to be read from the top.
	a.Find("dialog", "Before you join")
	if f := a.Focused(); f.Name != "The group agreement" {
		t.Errorf("alice: the agreement opened with the focus on %s %q, want its text", f.Role, f.Name)
	}
	a.TabTo("button", "I agree and join", 5, false)
	a.Keys(" ") // Space
	waitInRoom(a, "Alice")

	// In the room the message box has the focus; Enter sends.
	a.TabTo("textbox", "Your message", 60, false)
	a.Keys("Hello, typed with the keyboard only.")
	a.Keys(kb.Enter)
	waitMessage(a, "Alice", "Hello, typed with the keyboard only.")
	waitMessage(g.bob, "Alice", "Hello, typed with the keyboard only.")
	waitMessage(g.fac, "Alice", "Hello, typed with the keyboard only.")

	// "Get help now" is reachable from the keyboard too, and Escape closes it.
	a.TabTo("link", "Get help now", 80, true)
	a.Keys(kb.Enter)
	a.WaitFor("the help panel", `document.getElementById('help').classList.contains('help--open')`)
	if f := a.Focused(); f.Role != "heading" || f.Name != "Support, any time" {
		t.Errorf("alice: opening help put the focus on %s %q, want its heading", f.Role, f.Name)
	}
	a.Keys(kb.Escape)
	a.WaitFor("the help panel to close", `!document.getElementById('help').classList.contains('help--open')`)
}
