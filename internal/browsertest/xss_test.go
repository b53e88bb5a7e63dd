package browsertest

import (
	"strings"
	"testing"
)

// Scenario 7: markup in a message and in display names is shown as text
// and runs nothing, on any page. The facilitator's and Alice's pages run
// with the Content-Security-Policy turned off, so that markup wrongly put
// on the page as HTML would really run there; Bob's keeps it on, where an
// attempt would show as a policy violation (which fails any test).
func TestMarkupIsText(t *testing.T) {
	g := newGroup(t, "xss")
	fac, a, b := g.fac, g.alice, g.bob
	fac.BypassCSP()
	a.BypassCSP()
	g.openAll()

	// Display names are at most 32 characters: a global assignment in the
	// handler sets window.__pwned just the same.
	const imgName = "<img src=x onerror=__pwned=1>"
	const scriptName = "<script>__pwned=1</script>"
	const imgText = "<img src=x onerror=window.__pwned=1>"
	const scriptText = "<script>window.__pwned=1</script>"

	joinAsFacilitator(fac, "Dr. Lee")
	joinAsMember(a, imgName)
	joinAsMember(b, scriptName)
	for _, p := range []*Page{fac, a, b} {
		waitPeople(p, "Dr. Lee", imgName, scriptName)
	}
	send(a, imgName, imgText)
	send(b, scriptName, scriptText)
	send(a, imgName, "Both: "+imgText+" "+scriptText)
	for _, p := range []*Page{fac, a, b} {
		waitMessage(p, imgName, imgText)
		waitMessage(p, scriptName, scriptText)
		waitMessage(p, imgName, "Both: "+imgText+" "+scriptText)
	}
	// The facilitator's crisis alert names the member too.
	send(a, imgName, "I want to end my life")
	fac.WaitFor("the crisis alert", `document.getElementById('alerts-list').textContent.includes(`+jsString(imgName)+`)`)
	// Give a broken image's onerror every chance to have run: wait for a
	// real image load error on each page first.
	for _, p := range []*Page{fac, a, b} {
		p.Eval(`new Promise((done) => { const i = new Image(); i.onload = i.onerror = () => done(true); i.src = '/no-such-image-' + Math.random(); })`, nil)
	}
	for _, p := range []*Page{fac, a, b} {
		var pwned string
		p.Eval(`typeof window.__pwned`, &pwned)
		if pwned != "undefined" {
			t.Errorf("%s: window.__pwned is %s: markup ran", p.Name, pwned)
		}
		var injected int
		p.Eval(`document.querySelectorAll('img[src="x"], main script, #log script, #people-list script, #people-list img, #log img').length`, &injected)
		if injected != 0 {
			t.Errorf("%s: %d elements came from people's text", p.Name, injected)
		}
		log := p.Text("#log")
		for _, s := range []string{imgText, scriptText, imgName, scriptName} {
			if !strings.Contains(log, s) {
				t.Errorf("%s: the conversation does not show %q as text", p.Name, s)
			}
		}
		people := p.Text("#people-list")
		for _, s := range []string{imgName, scriptName} {
			if !strings.Contains(people, s) {
				t.Errorf("%s: the people list does not show %q as text", p.Name, s)
			}
		}
	}
	fac.Screenshot("xss-as-text")
}
