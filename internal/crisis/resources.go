package crisis

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Action is one way to reach a resource: a link a phone can follow
// (tel:, sms: or https:) and its label.
type Action struct {
	Label string `json:"label"`
	Href  string `json:"href"`
}

// Resource is one crisis or support service shown to a member.
type Resource struct {
	ID      string   `json:"id"`   // stable: "911", "988", "samhsa", "crisis_text_line"
	Name    string   `json:"name"` // as the service names itself
	Summary string   `json:"summary"`
	Actions []Action `json:"actions"`
	Source  string   `json:"source"` // where the numbers and wording come from
}

// Resource ids the ordering rules refer to.
const (
	Resource911      = "911"
	Resource988      = "988"
	ResourceSAMHSA   = "samhsa"
	ResourceTextLine = "crisis_text_line"
)

// DefaultResources are the United States resources, checked against each
// service's own published pages (named in Source) on 2026-11-29. A
// deployment elsewhere replaces them with HEARTH_CRISIS_RESOURCES (a JSON
// array of Resource).
func DefaultResources() []Resource {
	return []Resource{
		{
			ID: Resource911, Name: "911",
			Summary: "If you are in immediate danger, or have already hurt yourself, call 911 now.",
			Actions: []Action{{Label: "Call 911", Href: "tel:911"}},
			Source:  "U.S. emergency number (911.gov)",
		},
		{
			ID: Resource988, Name: "988 Suicide & Crisis Lifeline",
			Summary: "Call or text 988, or chat at 988lifeline.org. Free, confidential, 24/7. " +
				"Press 1 for the Veterans Crisis Line (or text 838255); press 2 for Spanish (or text AYUDA to 988). " +
				"Deaf and hard of hearing: ASL Now at 988lifeline.org, or dial 711 then 988.",
			Actions: []Action{
				{Label: "Call 988", Href: "tel:988"},
				{Label: "Text 988", Href: "sms:988"},
				{Label: "Chat at 988lifeline.org", Href: "https://988lifeline.org/chat/"},
			},
			Source: "988lifeline.org (Substance Abuse and Mental Health Services Administration)",
		},
		{
			ID: ResourceSAMHSA, Name: "SAMHSA National Helpline",
			Summary: "1-800-662-HELP (4357), TTY 1-800-487-4889. Free, confidential, 24/7, 365 days a year, " +
				"in English and Spanish: treatment referral and information for mental health and substance use. " +
				"It is not a crisis counselling line — in a crisis, call or text 988.",
			Actions: []Action{
				{Label: "Call 1-800-662-4357", Href: "tel:18006624357"},
				{Label: "TTY 1-800-487-4889", Href: "tel:18004874889"},
			},
			Source: "samhsa.gov/find-help/helplines/national-helpline",
		},
		{
			ID: ResourceTextLine, Name: "Crisis Text Line",
			Summary: "Text HOME to 741741 to reach a trained crisis counselor, 24/7.",
			Actions: []Action{{Label: "Text HOME to 741741", Href: "sms:741741?&body=HOME"}},
			Source:  "crisistextline.org",
		},
	}
}

// ParseResources reads a JSON array of Resource (the contents of the file
// named by HEARTH_CRISIS_RESOURCES; the caller reads it, this package does
// no I/O), checking that every resource has an id, a name and at least one
// tel:, sms: or https: action. Other regions have other lifelines, so no
// particular id is required; the ordering rules apply to the ids above when
// present.
func ParseResources(b []byte) ([]Resource, error) {
	var rs []Resource
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("crisis resources: not a JSON array of resources: %w", err)
	}
	if len(rs) == 0 {
		return nil, errors.New("crisis resources: the file lists no resource")
	}
	for i, r := range rs {
		if r.ID == "" || r.Name == "" || len(r.Actions) == 0 {
			return nil, fmt.Errorf("crisis resources: entry %d needs an id, a name and at least one action", i)
		}
		for _, a := range r.Actions {
			if !strings.HasPrefix(a.Href, "tel:") && !strings.HasPrefix(a.Href, "sms:") && !strings.HasPrefix(a.Href, "https://") {
				return nil, fmt.Errorf("crisis resources: %s: action %q must be a tel:, sms: or https: link", r.ID, a.Label)
			}
		}
	}
	return rs, nil
}

// Order returns the resources to show, in order: 911 first when the danger
// is imminent, and last otherwise (an emergency can come at any time); 988
// first otherwise; the SAMHSA Helpline right after 988 when the match is
// about substances (overdose); the rest in their listed order.
func Order(all []Resource, imminent, substance bool) []Resource {
	byID := map[string]Resource{}
	var rest []Resource
	for _, r := range all {
		byID[r.ID] = r
		switch r.ID {
		case Resource911, Resource988, ResourceSAMHSA:
		default:
			rest = append(rest, r)
		}
	}
	var out []Resource
	add := func(id string) {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	if imminent {
		add(Resource911)
	}
	add(Resource988)
	if substance {
		add(ResourceSAMHSA)
		out = append(out, rest...)
	} else {
		out = append(out, rest...)
		add(ResourceSAMHSA)
	}
	if !imminent {
		add(Resource911) // always there, last: an emergency can come at any time
	}
	return out
}
