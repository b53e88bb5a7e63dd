package browsertest

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Scenario 4: a member writes words that trip the crisis detector. Her own
// page opens the crisis resources, with call and text links a phone can
// follow; the facilitator's page shows the alert; the other member's page
// shows the message like any other, and nothing about a crisis.
func TestCrisis(t *testing.T) {
	g := newGroup(t, "tuesday")
	g.joinAll()
	fac, a, b := g.fac, g.alice, g.bob

	const words = "I want to end my life"
	send(a, "Alice", words)

	// Alice: the resources panel, opened for her.
	a.WaitFor("the crisis resources on Alice's page", `document.getElementById('help').classList.contains('help--open') &&
		document.getElementById('help-intro').textContent.startsWith('It sounds like things are really hard right now')`)
	if told := a.Text("#help-told"); !strings.Contains(told, "Your facilitators have been told privately") {
		t.Errorf("alice: the panel does not say the facilitators were told: %q", told)
	}
	var hrefs []string
	a.Eval(`[...document.querySelectorAll('#help a')].filter((l) => l.getClientRects().length > 0).map((l) => l.getAttribute('href'))`, &hrefs)
	// 911 is always on the card (last unless the danger is imminent).
	for _, want := range []string{"tel:988", "sms:988", "tel:911"} {
		if !slices.Contains(hrefs, want) {
			t.Errorf("alice: no visible link to %s in the crisis panel; links: %q", want, hrefs)
		}
	}
	// The links a person would use, by their accessible names.
	for name, href := range map[string]string{"Call 988": "tel:988", "Text 988": "sms:988", "Call 911": "tel:911"} {
		a.Find("link", name)
		var got string
		a.Eval(`[...document.querySelectorAll('#help a')].find((l) => l.textContent.trim() === `+jsString(name)+`)?.getAttribute('href') ?? ''`, &got)
		if got != href {
			t.Errorf("alice: link %q goes to %q, want %q", name, got, href)
		}
	}
	a.Screenshot("crisis-panel")

	// The facilitator: an alert about Alice, with Acknowledge.
	fac.WaitFor("the crisis alert on the facilitator's page", `!document.getElementById('alerts-section').hidden &&
		document.getElementById('alerts-list').innerText.includes('Alice')`)
	if alert := fac.Text("#alerts-list"); !strings.Contains(alert, "thoughts of suicide") {
		t.Errorf("facilitator: the alert does not say what it is about: %q", alert)
	}
	fac.Find("button", "Acknowledge the alert about Alice")
	fac.Screenshot("facilitator-alert")

	// Bob: the message, and nothing else. A later message from the
	// facilitator, once it reaches Bob, shows that what was sent before it
	// has had its chance to arrive.
	waitMessage(b, "Alice", words)
	send(fac, "Dr. Lee", "Thank you for telling us, Alice.")
	waitMessage(b, "Dr. Lee", "Thank you for telling us, Alice.")
	b.WaitFor("Bob's page to settle", `true`)
	var helpOpen, alertsShown bool
	b.Eval(`document.getElementById('help').classList.contains('help--open')`, &helpOpen)
	b.Eval(`!document.getElementById('alerts-section').hidden`, &alertsShown)
	if helpOpen || alertsShown {
		t.Errorf("bob: crisis panel open %v, alerts shown %v; want neither", helpOpen, alertsShown)
	}
	text := strings.ReplaceAll(b.VisibleText(), "Get help now", "")
	if m := regexp.MustCompile(`(?i)crisis|alert|told privately|really hard right now|thoughts of suicide|988|lifeline`).FindString(text); m != "" {
		t.Errorf("bob: the page says %q, something about a crisis:\n%s", m, text)
	}
	for _, region := range []string{"#announce-polite", "#announce-assertive", "#notices"} {
		if s := b.Text(region); regexp.MustCompile(`(?i)crisis|alert|support`).MatchString(s) {
			t.Errorf("bob: %s says %q", region, s)
		}
	}

	// Acknowledging takes the alert away.
	fac.Click("button", "Acknowledge the alert about Alice")
	fac.WaitFor("the alert to be acknowledged", `!document.getElementById('alerts-list').innerText.includes('Alice')`)
}
