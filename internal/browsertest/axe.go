package browsertest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// AxeVersion is the vendored axe-core (testdata/axe-core, with its licence).
const AxeVersion = "4.14.1"

var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(filepath.Join(testdataDir(), "axe-core", "axe.min.js"))
	return string(b), err
})

// AxeViolation is one rule axe-core found broken, with the elements.
type AxeViolation struct {
	ID          string    `json:"id"`
	Impact      string    `json:"impact"`
	Help        string    `json:"help"`
	HelpURL     string    `json:"helpUrl"`
	Nodes       []AxeNode `json:"nodes"`
	Description string    `json:"description"`
}

// AxeNode is one element breaking a rule.
type AxeNode struct {
	Target  []string `json:"target"`
	HTML    string   `json:"html"`
	Summary string   `json:"failureSummary"`
}

// Axe injects axe-core into the page (through the DevTools protocol: the
// page itself never loads it, and its Content-Security-Policy stays on)
// and runs it on the whole document as it is now. It returns every
// violation, of any impact.
func (p *Page) Axe() []AxeViolation {
	p.t.Helper()
	src, err := axeSource()
	if err != nil {
		p.t.Fatalf("axe-core is not vendored: %v", err)
	}
	var loaded bool
	p.Eval(`typeof window.axe === 'object'`, &loaded)
	if !loaded {
		p.Eval(src+"\n;true", nil)
	}
	var violations []AxeViolation
	p.Eval(`axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations.map((v) => ({
		id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, description: v.description,
		nodes: v.nodes.map((n) => ({target: n.target.map(String), html: n.html, failureSummary: n.failureSummary})),
	})))`, &violations)
	return violations
}

// CheckAxe runs axe-core on the screen shown now and fails the test for
// every serious or critical violation, printing each; minor and moderate
// ones are logged.
func (p *Page) CheckAxe(screen string) {
	p.t.Helper()
	violations := p.Axe()
	serious := 0
	for _, v := range violations {
		line := formatViolation(v)
		if v.Impact == "serious" || v.Impact == "critical" {
			serious++
			p.t.Errorf("%s, %s: axe-core %s violation %s", p.Name, screen, v.Impact, line)
		} else {
			p.t.Logf("%s, %s: axe-core %s violation (not failing) %s", p.Name, screen, v.Impact, line)
		}
	}
	if serious == 0 {
		p.t.Logf("%s, %s: axe-core %s: no serious or critical violation (%d minor or moderate)", p.Name, screen, AxeVersion, len(violations))
	}
}

func formatViolation(v AxeViolation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (%s)", v.ID, v.Help, v.HelpURL)
	for i, n := range v.Nodes {
		if i == 5 {
			fmt.Fprintf(&b, "\n    … and %d more", len(v.Nodes)-5)
			break
		}
		target, _ := json.Marshal(n.Target)
		fmt.Fprintf(&b, "\n    %s %s\n      %s", target, n.HTML, strings.ReplaceAll(n.Summary, "\n", "\n      "))
	}
	return b.String()
}
