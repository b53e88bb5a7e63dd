package node

import (
	"encoding/json"
	"time"

	"hearth/internal/crisis"
	"hearth/internal/hub"
)

// crisisChecker adapts the crisis package to the hub: a per-author window
// over the detector, failing open, and the resource cards precomputed for
// each ordering (they are data; only four orders exist).
type crisisChecker struct {
	window *crisis.Window
	cards  map[[2]bool]json.RawMessage // [imminent, substance] -> resources JSON
}

func newCrisisChecker(resources []crisis.Resource) *crisisChecker {
	if resources == nil {
		resources = crisis.DefaultResources()
	}
	c := &crisisChecker{window: crisis.NewWindow(crisis.WindowMessages, crisis.WindowAge), cards: map[[2]bool]json.RawMessage{}}
	for _, imminent := range []bool{false, true} {
		for _, substance := range []bool{false, true} {
			b, err := json.Marshal(crisis.Order(resources, imminent, substance))
			if err != nil {
				panic("node: crisis resources do not encode: " + err.Error())
			}
			c.cards[[2]bool{imminent, substance}] = b
		}
	}
	return c
}

// Check implements hub.Crisis. A panic in the detector comes back as an
// error: the message has been delivered regardless.
func (c *crisisChecker) Check(author, text string, now time.Time) (hub.CrisisMatch, error) {
	r, err := crisis.SafeDetect(func() crisis.Result { return c.window.Check(author, text, now) })
	if err != nil || !r.Matched {
		return hub.CrisisMatch{}, err
	}
	return hub.CrisisMatch{Matched: true, Severity: r.Severity.String(), Category: string(r.Category)}, nil
}

// Resources implements hub.Crisis: 911 first at imminent severity, the
// SAMHSA Helpline right after 988 for substance-related matches.
func (c *crisisChecker) Resources(m hub.CrisisMatch) json.RawMessage {
	return c.cards[[2]bool{m.Severity == "imminent", m.Category == string(crisis.Overdose)}]
}
