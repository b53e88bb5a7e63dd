package crisis

import (
	"fmt"
	"runtime"
)

// Severity is how urgent a match is. The values are ordered: a higher one is
// more urgent.
type Severity int

// Severities, in order.
const (
	None     Severity = iota // nothing matched
	Gentle                   // negated, past, about someone else, a joke
	Elevated                 // passive wish, bare crisis words, current self-harm, hopelessness
	High                     // active ideation, intent, plan, method, preparation, goodbye, overdose intent
	Imminent                 // an act under way; ideation or intent with a time soon or the means at hand
)

func (s Severity) String() string {
	switch s {
	case None:
		return "none"
	case Gentle:
		return "gentle"
	case Elevated:
		return "elevated"
	case High:
		return "high"
	case Imminent:
		return "imminent"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Category is what kind of crisis language matched.
type Category string

// Categories.
const (
	Ideation       Category = "ideation"            // thoughts of, or intent of, suicide
	PassiveWish    Category = "passive_wish"        // wishing to be dead, not to wake up
	SelfHarm       Category = "self_harm"           // cutting, burning, hurting oneself
	MethodPlan     Category = "method_plan"         // a method, a plan, preparation
	ImminentDanger Category = "imminent_danger"     // an act under way, means at hand
	Goodbye        Category = "goodbye"             // farewells, giving things away
	Overdose       Category = "overdose"            // overdose intent or an overdose taken
	Hopelessness   Category = "hopelessness_burden" // no reason to live, being a burden
)

// Result is what the detector found in a message. The zero Result means
// nothing matched.
type Result struct {
	Matched  bool
	Severity Severity
	Category Category
}

// SafeDetect runs fn (Detect or Window.Check in a closure) and fails open: a
// panic inside it comes back as an error and a zero Result, so the caller can
// log the error — which never carries the message text — and deliver the
// message all the same.
func SafeDetect(fn func() Result) (r Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			r = Result{}
			// Only the panic's type, or a runtime error's own message, is
			// kept: a value passed to panic could in principle hold text.
			if re, ok := p.(runtime.Error); ok {
				err = fmt.Errorf("crisis: detector panicked: %s", re.Error())
			} else {
				err = fmt.Errorf("crisis: detector panicked (%T)", p)
			}
		}
	}()
	return fn(), nil
}
