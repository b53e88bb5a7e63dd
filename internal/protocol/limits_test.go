package protocol

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// TestNormalizeTextLimits: every cap on a message's text — bytes as sent,
// code points after NFC, code points per character, marks per character,
// marks over the text — refuses with the code that says which; the world's
// scripts and emoji sequences pass.
func TestNormalizeTextLimits(t *testing.T) {
	marks := func(n int) string {
		return strings.Repeat("\u0300\u0301\u0302\u0303\u0304\u0306\u0307\u0308\u030a", 2)[:2*n]
	}
	tests := []struct {
		name, text string
		code       Code // "" = accepted
	}{
		{"plain", "Hello everyone", ""},
		{"4000 code points of 4 bytes (16000 bytes)", strings.Repeat("😀", MaxTextRunes), ""},
		{"over MaxTextBytes as sent", strings.Repeat("a", MaxTextBytes+1), CodeTextTooLong},
		{"4001 code points", strings.Repeat("a", MaxTextRunes+1), CodeTextTooLong},
		{"4000 after NFC though 8000 as sent", strings.Repeat("e\u0301", MaxTextRunes), ""},
		{"8 marks on one letter", "x" + marks(8), ""},
		{"9 marks on one letter", "x" + marks(9), CodeTextTooManyMarks},
		{"Zalgo word", strings.Repeat("q"+marks(5), 12), CodeTextTooManyMarks},
		{"two marks on every letter", strings.Repeat("q\u0301\u0308", 200), ""},
		{"three marks on every letter", strings.Repeat("q\u0301\u0308\u0302", 200), CodeTextTooManyMarks},
		{"marks before any letter", marks(9) + "abc", CodeTextTooManyMarks},
		{"17 code points in one cluster after NFC (jamo)", strings.Repeat("\u1100", 17) + "\u1161", CodeTextTooManyMarks},
		{"16 code points in one cluster after NFC (jamo)", strings.Repeat("\u1100", 16) + "\u1161", ""},
		{"joiner chain", strings.Repeat("😀\u200d", 9) + "😀", CodeTextTooManyMarks},
		{"variation selector run", "a" + strings.Repeat("\ufe0f", 9), CodeTextTooManyMarks},
		{"kiss with two skin tones (10 code points)", "👩🏻\u200d❤️\u200d💋\u200d👨🏼", ""},
		{"family of four with skin tones (11)", "👨🏻\u200d👩🏻\u200d👧🏻\u200d👦🏻", ""},
		{"flag of Scotland (tag sequence, 7)", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", ""},
		{"keycaps", strings.Repeat("1️⃣", 100), ""},
		{"pointed Hebrew with cantillation", strings.Repeat("בְּרֵאשִׁ֖ית בָּרָ֣א אֱלֹהִ֑ים ", 60), ""},
		{"voweled Arabic", strings.Repeat("بِسْمِ ٱللَّٰهِ ٱلرَّحْمَٰنِ ٱلرَّحِيمِ ", 60), ""},
		{"Devanagari", strings.Repeat("क्षत्रिय स्त्री ", 100), ""},
		{"Tibetan", strings.Repeat("བསྒྲུབས་ ", 100), ""},
		{"Thai", strings.Repeat("สวัสดีครับ ", 100), ""},
		{"Vietnamese, decomposed", norm.NFD.String(strings.Repeat("Tiếng Việt ", 100)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeText(tt.text)
			var code Code
			if err != nil {
				code = err.Code
				if err.Message != code.Message() {
					t.Errorf("error %s without its sentence: %q", code, err.Message)
				}
			}
			if code != tt.code {
				t.Fatalf("NormalizeText = %q; want %q", code, tt.code)
			}
			if err == nil && !norm.NFC.IsNormalString(got) {
				t.Fatal("accepted text is not NFC")
			}
		})
	}
}

// TestStackedDisplayNames: a display name may not stack marks either; it
// is refused with name_invalid_char and a sentence saying why.
func TestStackedDisplayNames(t *testing.T) {
	for name, want := range map[string]Code{
		"Zoë":            "",
		"Nguyễn Thị Ánh": "",
		"שָׁלוֹם":        "",
		"Z\u0315\u0321\u0322\u0327\u0328\u0334\u0335\u0336\u0337a": CodeNameInvalidChar,
		strings.Repeat("q\u0301\u0308\u0302\u0303", 5):             CodeNameInvalidChar,
		strings.Repeat("\u1100", 17) + "\u1161":                    CodeNameInvalidChar,
		// Names get a tighter rule than text (found by a tester: 8 strike
		// marks on one letter passed): at most MaxNameMarksPerChar.
		"Z" + strings.Repeat("\u0336", 8) + "oe": CodeNameInvalidChar,
		"Zo\u0301\u0308\u0302\u0303e":            CodeNameInvalidChar, // NFC: ó and three marks
		"Zo\u0301\u0323e":                        "",
	} {
		_, err := NormalizeDisplayName(name)
		var code Code
		if err != nil {
			code = err.Code
		}
		if code != want {
			t.Errorf("%q: %q, want %q", name, code, want)
		}
		if code == CodeNameInvalidChar && !strings.Contains(err.Message, "accent") {
			t.Errorf("%q: sentence %q does not say what is wrong", name, err.Message)
		}
	}
}

// TestRefreshFrame: refresh carries a token, like auth.
func TestRefreshFrame(t *testing.T) {
	f, err := DecodeFrame([]byte(`{"type":"refresh","id":"r1","token":"eyJ.x.y"}`))
	if err != nil || f.Type != TypeRefresh || f.Token != "eyJ.x.y" || f.ID != "r1" {
		t.Fatalf("refresh: %+v, %v", f, err)
	}
	if _, err := DecodeFrame([]byte(`{"type":"refresh","id":"r2"}`)); err == nil || err.Code != CodeMissingField {
		t.Fatalf("refresh without token: %v, want missing_field", err)
	}
}

// TestLimitCodes: the codes of the limits have their HTTP statuses and
// close codes their classes and reasons.
func TestLimitCodes(t *testing.T) {
	if CodeTooManyConnections.HTTPStatus() != 429 || CodeRateLimited.HTTPStatus() != 429 {
		t.Error("rate and connection limits answer 429 over HTTP")
	}
	if CloseTooManyConnections.Reconnect() || CloseTooManyConnections.Reason() == "" || len(CloseTooManyConnections.Reason()) > 123 {
		t.Error("4409 is final, with a short reason")
	}
	if MaxTextBytes < 4*MaxTextRunes {
		t.Errorf("MaxTextBytes %d refuses some texts of %d code points", MaxTextBytes, MaxTextRunes)
	}
}

// FuzzNormalizeDisplayName: no input panics; an accepted name is trimmed,
// NFC, valid UTF-8, 1 to MaxDisplayNameRunes code points, has a visible
// character, holds no control, format, separator, private-use or
// default-ignorable character (variation selectors aside), is not stacked,
// and is accepted unchanged again; a refused one has a name_ code and a
// sentence.
func FuzzNormalizeDisplayName(f *testing.F) {
	for _, s := range []string{"Robin", "  Zoe\u0308 ", "Dr. Lee", "Sam \u2764\uFE0F", "\u3164", "Sa\u200Bm", "\u202ESam",
		"Z\u0315\u0321\u0322\u0327\u0328\u0334\u0335\u0336\u0337a", "\xff", "", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "ᄀᄀᄀ가", "Ǆemal"} {
		f.Add(s)
	}
	nameCodes := []Code{CodeNameEmpty, CodeNameTooLong, CodeNameInvalidChar, CodeNameInvisible}
	f.Fuzz(func(t *testing.T, in string) {
		name, err := NormalizeDisplayName(in)
		if err != nil {
			if !slices.Contains(nameCodes, err.Code) || err.Message == "" {
				t.Fatalf("%q: refused with %+v", in, err)
			}
			return
		}
		switch {
		case !utf8.ValidString(name), !norm.NFC.IsNormalString(name), strings.TrimSpace(name) != name:
			t.Fatalf("%q accepted as %q: not valid, NFC and trimmed", in, name)
		case name == "", utf8.RuneCountInString(name) > MaxDisplayNameRunes:
			t.Fatalf("%q accepted as %q: length out of range", in, name)
		case !strings.ContainsFunc(name, IsVisible):
			t.Fatalf("%q accepted as %q: nothing visible", in, name)
		case Stacked(name):
			t.Fatalf("%q accepted as %q: stacked", in, name)
		}
		for _, r := range name {
			if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Cs) || r == utf8.RuneError ||
				isBlank(r) || (IsDefaultIgnorable(r) && !unicode.Is(unicode.Variation_Selector, r)) {
				t.Fatalf("%q accepted as %q, which holds %U", in, name, r)
			}
		}
		if again, err := NormalizeDisplayName(name); err != nil || again != name {
			t.Fatalf("accepted %q, but not again: %q, %v", name, again, err)
		}
	})
}

// TestRequestID: the id of a frame refused unread is found without
// decoding the rest, and only when it is a string within the limit.
func TestRequestID(t *testing.T) {
	for frame, want := range map[string]string{
		`{"type":"ping","id":"p1"}`: "p1",
		`{"id":"s2","type":"send","text":` + `"` + strings.Repeat("x", 1000) + `"}`: "s2",
		`{"type":"ping"}`:        "",
		`{"type":"ping","id":7}`: "",
		`{"type":"ping","id":"` + strings.Repeat("i", MaxRequestIDBytes+1) + `"}`: "",
		`not json`: "",
	} {
		if got := RequestID([]byte(frame)); got != want {
			t.Errorf("RequestID(%.40s…) = %q, want %q", frame, got, want)
		}
	}
}
