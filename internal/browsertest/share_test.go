package browsertest

import (
	"regexp"
	"testing"
)

// Scenario 2: opt-in sharing. The facilitator switches to taking turns; a
// member raises her own hand; the facilitator gives her the floor from the
// facilitator tools; she shares and then passes. The other member's page
// shows who has the floor, and then that nobody has it — and nothing about
// her passing, anywhere.
func TestOptInSharing(t *testing.T) {
	g := newGroup(t, "sharing")
	g.joinAll()
	fac, a, b := g.fac, g.alice, g.bob

	fac.Click("button", "Start taking turns")
	for _, p := range []*Page{fac, a, b} {
		p.WaitFor("the mode to be taking turns", `document.getElementById('share-mode').textContent === 'Taking turns'`)
	}
	// Without the floor a member's message box says whose turn it is.
	b.WaitFor("Bob's message box to wait for a turn", `document.getElementById('composer-text').disabled &&
		document.getElementById('composer-hint').textContent.includes('taking turns')`)

	a.Click("button", "Raise hand")
	b.WaitFor("Alice's raised hand on Bob's page", `document.getElementById('share-queue').innerText.includes('Alice')`)
	fac.Click("button", "Give floor to Alice")
	a.WaitFor("Alice's turn", `document.getElementById('share-floor-text').textContent === 'It’s your turn'`)
	b.WaitFor("Bob's page to show Alice sharing", `document.getElementById('share-floor-text').textContent === 'Sharing now: Alice'`)
	fac.WaitFor("the facilitator's page to show Alice has the floor", `document.getElementById('fac-floor-status').textContent === 'Alice has the floor.'`)

	send(a, "Alice", "This week was hard, but I kept going.")
	waitMessage(b, "Alice", "This week was hard, but I kept going.")
	waitMessage(fac, "Alice", "This week was hard, but I kept going.")

	// Bob raises his hand too: the facilitator sees it, with Give floor.
	b.Click("button", "Raise hand")
	fac.Find("button", "Give floor to Bob")
	fac.Screenshot("facilitator-panel")

	a.Click("button", "Pass")
	a.WaitFor("Alice's own note that she passed", `document.getElementById('notices').innerText.includes('You passed')`)
	b.WaitFor("Bob's page to show the floor free", `document.getElementById('share-floor-text').textContent === 'Nobody is sharing right now'`)
	fac.WaitFor("the facilitator's page to show the floor free", `document.getElementById('fac-floor-status').textContent === 'Nobody has the floor.'`)

	// Nothing about Alice passing, on Bob's page or the facilitator's: not
	// in the conversation, the notices or what screen readers are told.
	// (Bob's own Pass button and its hint are his own controls.)
	passRE := regexp.MustCompile(`(?i)pass`)
	for _, p := range []*Page{b, fac} {
		for _, region := range []string{"#log", "#notices", "#share-live", "#announce-polite", "#announce-assertive", "#share-floor", "#share-queue-line", "#people-list", "#fac-share-group"} {
			var text string
			p.Eval(`document.querySelector(`+jsString(region)+`)?.textContent ?? ''`, &text)
			if passRE.MatchString(text) {
				t.Errorf("%s: %s mentions passing: %q", p.Name, region, text)
			}
		}
	}
	var facText string
	fac.Eval(`document.getElementById('screen-chat').innerText`, &facText)
	if passRE.MatchString(facText) {
		t.Errorf("facilitator: the page mentions passing:\n%s", facText)
	}
	// Bob is still in the queue; the floor can now go to him.
	fac.Click("button", "Give floor to Bob")
	b.WaitFor("Bob's turn", `document.getElementById('share-floor-text').textContent === 'It’s your turn'`)
	a.WaitFor("Alice's page to show Bob sharing", `document.getElementById('share-floor-text').textContent === 'Sharing now: Bob'`)
}
