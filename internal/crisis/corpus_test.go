package crisis

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// The corpus (testdata/corpus.tsv) is labelled text written apart from the
// patterns: each row is a trigger (with the category and severity a
// clinician would give it) or a quiet message that must not match. The
// detector is measured on it, not fitted to it: a miss is fixed by a pattern
// that generalizes, or left and explained.
const (
	minRecall = 0.97
	maxFPRate = 0.05
)

type corpusRow struct {
	line                            int
	label, category, severity, text string
}

func readCorpus(t *testing.T) []corpusRow {
	t.Helper()
	f, err := os.Open("testdata/corpus.tsv")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("testdata/corpus.tsv does not exist yet: the labelled corpus is written separately; skipping")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []corpusRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			if !strings.HasPrefix(text, "label\tcategory\tseverity\ttext") {
				t.Fatalf("corpus header = %q, want label, category, severity, text", text)
			}
			continue
		}
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.SplitN(text, "\t", 4)
		if len(f) != 4 {
			t.Fatalf("corpus line %d: want 4 tab-separated fields, got %d", line, len(f))
		}
		rows = append(rows, corpusRow{line, f[0], f[1], f[2], f[3]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestCorpus(t *testing.T) {
	rows := readCorpus(t)
	var tp, fn, fp, tn, sevSame, catSame, catComparable int
	sevConf := map[string]map[string]int{} // label severity -> detected severity -> count
	var misses, falsePos, sevOff []string
	for _, r := range rows {
		got := Detect(r.text)
		switch r.label {
		case "trigger":
			if !got.Matched {
				fn++
				misses = append(misses, r.fmt(got))
				continue
			}
			tp++
			if sevConf[r.severity] == nil {
				sevConf[r.severity] = map[string]int{}
			}
			sevConf[r.severity][got.Severity.String()]++
			if got.Severity.String() == r.severity {
				sevSame++
			} else {
				sevOff = append(sevOff, r.fmt(got))
			}
			// The corpus names the modifier (negated, past, about_others,
			// bereavement) as the category of gentle rows, and "imminent"
			// for imminent_danger: compare categories where they mean the
			// same thing.
			want := r.category
			if want == "imminent" {
				want = string(ImminentDanger)
			}
			if isCategory(want) {
				catComparable++
				if string(got.Category) == want {
					catSame++
				}
			}
		case "quiet":
			if got.Matched {
				fp++
				falsePos = append(falsePos, r.fmt(got))
			} else {
				tn++
			}
		default:
			t.Fatalf("corpus line %d: label %q is neither trigger nor quiet", r.line, r.label)
		}
	}
	recall := ratio(tp, tp+fn)
	fpRate := ratio(fp, fp+tn)
	t.Logf("confusion: %d trigger rows, %d quiet rows", tp+fn, fp+tn)
	t.Logf("                 matched   not matched")
	t.Logf("  trigger        %7d   %11d", tp, fn)
	t.Logf("  quiet          %7d   %11d", fp, tn)
	t.Logf("recall %.3f (min %.2f), false-positive rate %.3f (max %.2f)", recall, minRecall, fpRate, maxFPRate)
	t.Logf("severity agrees on %d of %d matched triggers (%.3f); category on %d of %d comparable (%.3f)",
		sevSame, tp, ratio(sevSame, tp), catSame, catComparable, ratio(catSame, catComparable))
	for _, want := range []string{"imminent", "high", "elevated", "gentle"} {
		var parts []string
		for _, got := range []string{"imminent", "high", "elevated", "gentle"} {
			parts = append(parts, got+"="+itoa(sevConf[want][got]))
		}
		t.Logf("  labelled %-8s → detected %s", want, strings.Join(parts, " "))
	}
	for _, m := range misses {
		t.Logf("MISS  %s", m)
	}
	for _, m := range falsePos {
		t.Logf("FALSE POSITIVE  %s", m)
	}
	for _, m := range sevOff {
		t.Logf("severity differs  %s", m)
	}
	if recall < minRecall {
		t.Errorf("recall %.3f is below %.2f", recall, minRecall)
	}
	if fpRate > maxFPRate {
		t.Errorf("false-positive rate %.3f is above %.2f", fpRate, maxFPRate)
	}
}

func (r corpusRow) fmt(got Result) string {
	return "line " + itoa(r.line) + " [" + r.label + " " + r.category + " " + r.severity + "] got " +
		got.Severity.String() + " " + string(got.Category) + ": " + r.text
}

func isCategory(c string) bool {
	switch Category(c) {
	case Ideation, PassiveWish, SelfHarm, MethodPlan, ImminentDanger, Goodbye, Overdose, Hopelessness:
		return true
	}
	return false
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}
