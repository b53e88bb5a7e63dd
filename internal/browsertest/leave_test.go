package browsertest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp/kb"

	"hearth/internal/httpapi"
)

// "Leave quickly": pressing the button (Alice) or Escape twice (Bob) at
// once replaces the page with the neutral one, with nothing of the group
// left in the document; the history entry is replaced, not added to, and
// Back does not lead to the group. An Escape that closes a dialog does not
// count towards the two.
func TestLeaveQuickly(t *testing.T) {
	g := newGroup(t, "leave")
	g.joinAll()
	a, b := g.alice, g.bob

	const secret = "Something private about my week."
	send(a, "Alice", secret)
	send(b, "Bob", "Thank you for telling us.")
	waitMessage(a, "Bob", "Thank you for telling us.")
	waitMessage(b, "Alice", secret)

	// Alice opens the check-in page (a history entry of its own), then leaves quickly.
	a.Eval(`location.hash = '#checkin'`, nil)
	a.Find("heading", "Check in")
	var before int
	a.Eval(`history.length`, &before)
	a.Click("button", "Leave quickly: hides this page at once")
	waitNeutral(a)
	noTrace(a, secret, "Alice", "Bob")
	var after int
	a.Eval(`history.length`, &after)
	if after != before {
		t.Errorf("alice: leaving added a history entry (%d → %d): it must replace the page's own", before, after)
	}
	// The neutral page is served with the same security headers.
	var headers []string
	a.Eval(`fetch('neutral.html', {cache: 'no-store'}).then((r) => ['content-security-policy', 'referrer-policy', 'x-content-type-options'].map((h) => r.headers.get(h)))`, &headers)
	if want := []string{httpapi.ContentSecurityPolicy, "no-referrer", "nosniff"}; strings.Join(headers, "|") != strings.Join(want, "|") {
		t.Errorf("neutral.html headers = %q, want %q", headers, want)
	}
	a.Screenshot("leave-quickly-neutral")

	// Back goes to the entry before the check-in page — the group's address —
	// which shows the neutral page again rather than anything of the group.
	// Nothing of the group's page is drawn on the way, not even for a moment
	// (early.js leaves before the body is read).
	painted := len(a.Painted())
	a.Eval(`window.leaveTestMarker = true; history.back()`, nil)
	waitNeutral(a)
	noTrace(a, secret, "Alice", "Bob")
	// (Whether the neutral page's own paint is reported varies with how
	// Chromium restores it; the group's page must never be among them.)
	for _, u := range a.Painted()[painted:] {
		if !strings.HasSuffix(u, "/neutral.html") {
			t.Errorf("alice: Back after leaving drew %q; only the neutral page may be drawn", u)
		}
	}

	// The others see Alice go: her connection closed at once.
	waitGone(g.fac, "Alice")
	waitGone(b, "Alice")

	// Bob: Escape closes a dialog first, and that Escape does not count.
	b.ClickIn(messageScope(secret), "button", "Options for the message from Alice")
	b.ClickIn(messageScope(secret), "button", "Report")
	b.Find("dialog", "Report this message from Alice")
	b.Keys(kb.Escape)
	b.WaitFor("the dialog to close", `!document.getElementById('dialog').open`)
	var path string
	b.Eval(`location.pathname`, &path)
	if path != "/" || len(messages(b)) != 2 {
		t.Fatalf("bob: one Escape that closed a dialog left the page (%s, messages %q)", path, messages(b))
	}
	b.Keys(kb.Escape + kb.Escape)
	waitNeutral(b)
	noTrace(b, secret, "Alice", "Bob")
	waitGone(g.fac, "Bob")
}

// waitNeutral waits until the page is the neutral one, loaded afresh (not
// the document a marker was set in).
func waitNeutral(p *Page) {
	p.t.Helper()
	p.WaitFor("the neutral page", `location.pathname === '/neutral.html' && document.readyState === 'complete' &&
		document.title === 'Weather' && !window.leaveTestMarker`)
}

// noTrace fails the test if the document still holds any of these texts,
// or any word of the group.
func noTrace(p *Page, texts ...string) {
	p.t.Helper()
	var doc string
	p.Eval(`document.documentElement.textContent + ' ' + document.title`, &doc)
	for _, s := range append(texts, "Hearth", "group", "Leave quickly") {
		if strings.Contains(doc, s) {
			p.t.Errorf("%s: after leaving quickly the page still holds %q:\n%s", p.Name, s, doc)
		}
	}
}

// waitGone waits until the people list no longer shows name.
func waitGone(p *Page, name string) {
	p.t.Helper()
	p.WaitFor(name+" gone from the people list", `![...document.querySelectorAll('#people-list .person-name')].some((e) => e.textContent === `+jsString(name)+`)`)
}

// The facilitator's audit log lists a mute in words, with the names from
// the room, and a time.
func TestFacilitatorAuditLog(t *testing.T) {
	g := newGroup(t, "audit")
	g.joinAll()
	fac := g.fac

	fac.Click("button", "Actions for Bob")
	fac.Click("button", "Mute Bob…")
	fac.Find("dialog", "Mute Bob")
	fac.Click("button", "Mute")
	g.bob.WaitFor("Bob's message box to be paused", `document.getElementById('composer-text').disabled`)

	fac.Click("button", "Show audit log")
	fac.WaitFor("the mute in the audit log", `[...document.querySelectorAll('#fac-audit-list li')].some((li) => li.textContent.includes('Dr. Lee muted Bob'))`)
	var first string
	fac.Eval(`document.querySelector('#fac-audit-list li').innerText`, &first)
	if !strings.Contains(first, "Dr. Lee muted Bob") || fac.Text("#fac-audit-list time") == "" {
		t.Errorf("the newest audit entry should be the mute, with its time: %q", first)
	}
	if !fac.Has("button", "Refresh audit log") {
		t.Error(`the audit log offers no "Refresh audit log"`)
	}
	fac.Eval(`document.getElementById('fac-audit-group').scrollIntoView()`, nil)
	fac.Screenshot("facilitator-audit-log")
}
