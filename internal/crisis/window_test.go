package crisis

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 29, 19, 0, 0, 0, time.UTC)

func TestWindowSplitMessage(t *testing.T) {
	w := NewWindow(WindowMessages, WindowAge)
	if r := w.Check("room|ana", "I want to", t0); r.Matched {
		t.Fatalf("first half alone = %+v, want no match", r)
	}
	r := w.Check("room|ana", "kill myself", t0.Add(30*time.Second))
	if !r.Matched || r.Severity < Elevated || r.Category != Ideation {
		t.Fatalf("second half = %+v, want ideation", r)
	}

	// Intent split across three messages reads as intent.
	w.Check("room|ben", "honestly", t0)
	w.Check("room|ben", "i'm going to", t0.Add(time.Minute))
	if r := w.Check("room|ben", "end it all", t0.Add(2*time.Minute)); r.Severity != High {
		t.Fatalf("split intent = %+v, want high", r)
	}

	// Letters sent one message at a time.
	for i, c := range []string{"k", "m"} {
		if r := w.Check("room|cy", c, t0.Add(time.Duration(i)*time.Second)); r.Matched {
			t.Fatalf("%q = %+v", c, r)
		}
	}
	if r := w.Check("room|cy", "s", t0.Add(3*time.Second)); !r.Matched {
		t.Fatalf("k / m / s = %+v, want a match", r)
	}
}

// Words that are crisis language only in context match when the author's
// recent messages give it.
func TestWindowContext(t *testing.T) {
	w := NewWindow(WindowMessages, WindowAge)
	if r := w.Check("a", "tonight im finally going to do it", t0); r.Matched {
		t.Fatalf("alone = %+v, want no match", r)
	}
	w.Check("b", "I've been saving my pills", t0)
	if r := w.Check("b", "tonight im finally going to do it", t0.Add(time.Minute)); r.Severity < High {
		t.Fatalf("after the pills = %+v, want high", r)
	}
	// Earlier words read more severely now.
	w.Check("c", "I'm going to kill myself", t0)
	if r := w.Check("c", "right now", t0.Add(time.Minute)); r.Severity != Imminent {
		t.Fatalf("… right now = %+v, want imminent", r)
	}
}

func TestWindowKeepsAuthorsApart(t *testing.T) {
	w := NewWindow(0, 0) // defaults
	w.Check("room|ana", "I want to", t0)
	if r := w.Check("room|ben", "kill myself", t0.Add(time.Second)); r.Severity != Elevated {
		t.Fatalf("ben alone = %+v, want elevated (his own words)", r)
	}
	w.Check("room1|ana", "I'm going to", t0)
	if r := w.Check("room2|ana", "kill myself", t0.Add(time.Second)); r.Severity != Elevated {
		t.Fatalf("another room = %+v, want elevated: rooms are apart", r)
	}
}

func TestWindowExpiry(t *testing.T) {
	w := NewWindow(WindowMessages, WindowAge)
	w.Check("a", "I'm going to", t0)
	if r := w.Check("a", "end it all", t0.Add(WindowAge+time.Second)); r.Severity != Elevated {
		t.Fatalf("after the window = %+v, want elevated (the earlier message has expired)", r)
	}
	// By count: only the last WindowMessages messages are joined.
	w.Check("b", "I'm going to", t0)
	for i := range WindowMessages {
		w.Check("b", "ok", t0.Add(time.Duration(i+1)*time.Second))
	}
	if r := w.Check("b", "end it all", t0.Add(time.Minute)); r.Severity != Elevated {
		t.Fatalf("after %d more messages = %+v, want elevated", WindowMessages, r)
	}
}

// A message after a reported one is not reported again because of it.
func TestWindowDoesNotRepeat(t *testing.T) {
	w := NewWindow(WindowMessages, WindowAge)
	if r := w.Check("a", "I'm going to kill myself", t0); r.Severity != High {
		t.Fatalf("= %+v", r)
	}
	if r := w.Check("a", "thank you for listening", t0.Add(time.Minute)); r.Matched {
		t.Fatalf("the next, ordinary message = %+v, want no match", r)
	}
	// Something new and more severe still is: the means at hand, after the
	// intent, make it imminent.
	if r := w.Check("a", "I have the pills ready", t0.Add(2*time.Minute)); r.Severity != Imminent {
		t.Fatalf("= %+v", r)
	}
}

func TestWindowBounded(t *testing.T) {
	w := NewWindow(WindowMessages, WindowAge)
	for i := range WindowMaxAuthors + 50 {
		w.Check(fmt.Sprint("member", i), "hello there", t0.Add(time.Duration(i)*time.Millisecond))
	}
	w.mu.Lock()
	n, l := len(w.authors), w.lru.Len()
	w.mu.Unlock()
	if n != WindowMaxAuthors || l != n {
		t.Fatalf("authors = %d (list %d), want at most %d", n, l, WindowMaxAuthors)
	}
	// Silent authors are forgotten once their window has passed.
	w.Check("late", "hello", t0.Add(time.Hour))
	w.mu.Lock()
	n = len(w.authors)
	w.mu.Unlock()
	if n != 1 {
		t.Fatalf("after an hour: %d authors remembered, want 1", n)
	}
	// An earlier message keeps only its end.
	long := ""
	for len(long) < 2000 {
		long += "word "
	}
	w.Check("long", long, t0.Add(time.Hour))
	w.mu.Lock()
	kept := w.authors["long"].Value.(*authorWindow).msgs[0].text
	w.mu.Unlock()
	if len(kept) > windowKeepBytes {
		t.Fatalf("kept %d bytes of a long message, want at most %d", len(kept), windowKeepBytes)
	}
}

func TestWindowSingleMessageKeepsNothing(t *testing.T) {
	w := NewWindow(1, time.Minute)
	w.Check("a", "I want to", t0)
	if r := w.Check("a", "kill myself", t0); r.Severity != Elevated {
		t.Fatalf("= %+v", r)
	}
	if len(w.authors) != 0 {
		t.Fatalf("a window of one message remembered %d authors", len(w.authors))
	}
}

func TestWindowConcurrent(t *testing.T) {
	w := NewWindow(WindowMessages, WindowAge)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				author := fmt.Sprint("m", (g*7+i)%13)
				w.Check(author, "I want to", t0.Add(time.Duration(i)*time.Second))
				w.Check(author, "talk about my day", t0.Add(time.Duration(i)*time.Second))
			}
		})
	}
	wg.Wait()
}

func TestSafeDetect(t *testing.T) {
	r, err := SafeDetect(func() Result { return Detect("I want to die") })
	if err != nil || r.Severity != Elevated {
		t.Fatalf("SafeDetect = %+v, %v", r, err)
	}
	r, err = SafeDetect(func() Result {
		var m map[string]int
		m["x"] = 1 // a runtime panic
		return Result{Matched: true}
	})
	if err == nil || r.Matched {
		t.Fatalf("SafeDetect after a panic = %+v, %v; want an error and no match", r, err)
	}
	_, err = SafeDetect(func() Result { panic("secret words of a member") })
	if err == nil || containsFold(err.Error(), "secret") {
		t.Fatalf("error %v: want an error that does not carry the panic's text", err)
	}
	// A Window still works after a panic inside a check (no lock held).
	w := NewWindow(WindowMessages, WindowAge)
	_, _ = SafeDetect(func() Result { w.Check("a", "hi", t0); panic("boom") })
	if r := w.Check("a", "I want to die", t0); r.Severity != Elevated {
		t.Fatalf("after a panic: %+v", r)
	}
}

func containsFold(s, sub string) bool {
	return len(s) >= len(sub) && (s == sub || len(sub) == 0 || indexFold(s, sub) >= 0)
}

func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if Normalize(s[i:i+len(sub)]) == Normalize(sub) {
			return i
		}
	}
	return -1
}

func TestSeverityString(t *testing.T) {
	for s, want := range map[Severity]string{None: "none", Gentle: "gentle", Elevated: "elevated", High: "high", Imminent: "imminent", 9: "Severity(9)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(s), s.String(), want)
		}
	}
	if !(None < Gentle && Gentle < Elevated && Elevated < High && High < Imminent) {
		t.Error("severities are not ordered")
	}
	for c, want := range map[Category]string{Ideation: "ideation", PassiveWish: "passive_wish", SelfHarm: "self_harm",
		MethodPlan: "method_plan", ImminentDanger: "imminent_danger", Goodbye: "goodbye", Overdose: "overdose",
		Hopelessness: "hopelessness_burden"} {
		if string(c) != want {
			t.Errorf("category %q, want %q", c, want)
		}
	}
}
