package crisis

import (
	"strings"
	"testing"
	"time"
)

// Two 300-character messages: an everyday one (nothing to find: the
// prefilter's path) and one that triggers (the full path).
var (
	benchEveryday = pad("Thanks everyone for listening tonight. This week was hard at work and I kept putting off the " +
		"breathing exercises, but I did the thought record on Tuesday and it helped a bit. My sister visited on " +
		"Sunday and we went for a long walk by the river. I'm going to try the sleep routine again and see how it goes. ")
	benchTrigger = pad("Honestly this week has been really hard and I don't know who else to tell. I stopped going to " +
		"work on Tuesday and I haven't eaten much. I keep thinking that everyone would be better off without me and " +
		"tonight I feel like I want to kill myself. I have been saving up my pills for a while now and I'm scared. ")
)

func pad(s string) string {
	for len(s) < 300 {
		s += " ok"
	}
	return s[:300]
}

func TestBenchMessages(t *testing.T) {
	if len(benchEveryday) != 300 || len(benchTrigger) != 300 {
		t.Fatalf("bench messages are %d and %d characters, want 300", len(benchEveryday), len(benchTrigger))
	}
	if r := Detect(benchEveryday); r.Matched {
		t.Errorf("everyday bench message matched: %+v", r)
	}
	if r := Detect(benchTrigger); !r.Matched || r.Severity < High {
		t.Errorf("trigger bench message = %+v, want high", r)
	}
}

func BenchmarkDetect(b *testing.B) {
	for _, c := range []struct{ name, text string }{
		{"everyday300", benchEveryday},
		{"trigger300", benchTrigger},
		{"everyday300_unicode", strings.Replace(benchEveryday, "Thanks", "Thañks ’", 1)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Detect(c.text)
			}
		})
	}
}

func BenchmarkWindowCheck(b *testing.B) {
	w := NewWindow(WindowMessages, WindowAge)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		w.Check("room|member", benchEveryday, now)
	}
}
