package browsertest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Scenario 5: a member's connection is dropped from the server's side of
// the network while the others keep writing. Her page reconnects by itself
// (to its own origin) and, resuming from the last event it saw, shows every
// message it missed, once each, in order.
func TestReconnectRecoversMissedMessages(t *testing.T) {
	g := newGroup(t, "reconnect")
	// Bob's page comes through a proxy in front of node 1, so that his
	// connections can be cut; the facilitator is on node 1 directly and
	// Alice on node 0.
	proxy := StartProxy(t, g.c.Nodes[1].Addr())
	g.fac.Open(g.link(g.c.Nodes[1].HTTP, "fac-"+g.room, "facilitator"))
	g.alice.Open(g.link(g.c.Nodes[0].HTTP, "alice-"+g.room, "member"))
	g.bob.Open(g.link(proxy.HTTP, "bob-"+g.room, "member"))
	joinAsFacilitator(g.fac, "Dr. Lee")
	joinAsMember(g.alice, "Alice")
	joinAsMember(g.bob, "Bob")
	fac, a, b := g.fac, g.alice, g.bob
	waitPeople(b, "Dr. Lee", "Alice", "Bob")

	want := []string{"Before the drop."}
	send(a, "Alice", want[0])
	waitMessage(b, "Alice", want[0])

	// The network between Bob and the server goes down.
	proxy.Pause()
	proxy.Cut()
	b.WaitFor("Bob's page to notice the drop", `document.getElementById('status-text').textContent === 'Reconnecting…'`)

	// Meanwhile the group goes on, on both nodes.
	for i := 1; i <= 3; i++ {
		text := fmt.Sprintf("While Bob was away, %d.", i)
		send(a, "Alice", text)
		want = append(want, text)
	}
	send(fac, "Dr. Lee", "A word from the facilitator while Bob was away.")
	want = append(want, "A word from the facilitator while Bob was away.")
	if got := messages(b); !slices.Equal(got, want[:1]) {
		t.Fatalf("bob: while disconnected the page shows %q", got)
	}

	// The network comes back: the page reconnects and catches up.
	proxy.Resume()
	b.WaitFor("Bob's page to reconnect", `document.getElementById('status-text').textContent === 'Connected'`)
	b.WaitFor("the missed messages", fmt.Sprintf(`[...document.querySelectorAll('#log .msg-text')].length >= %d`, len(want)))
	b.WaitFor("the note that the connection is back", `[...document.querySelectorAll('#log .note')].some((n) => n.textContent === 'Connection restored.')`)
	send(a, "Alice", "After Bob came back.")
	want = append(want, "After Bob came back.")
	waitMessage(b, "Alice", "After Bob came back.")
	if got := messages(b); !slices.Equal(got, want) {
		t.Errorf("bob: messages after the reconnect\n got %q\nwant %q", got, want)
	}
	var notes []string
	b.Eval(`[...document.querySelectorAll('#log .note')].map((n) => n.textContent)`, &notes)
	for _, n := range notes {
		if strings.Contains(n, "could not be recovered") || strings.Contains(n, "may be missing") {
			t.Errorf("bob: the page says %q, but nothing was lost", n)
		}
	}
	// Bob can write again, and the others see it.
	send(b, "Bob", "Thanks, I'm back.")
	waitMessage(a, "Bob", "Thanks, I'm back.")
	b.Screenshot("member-reconnected")
}
