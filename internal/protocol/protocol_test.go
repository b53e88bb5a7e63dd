package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWithSeq(t *testing.T) {
	ev := Marshal(MemberLeftEvent{Type: TypeMemberLeft, Room: "r", MemberID: "m", TS: "t"})
	got := WithSeq(ev, 42)
	var back MemberLeftEvent
	if err := json.Unmarshal(got, &back); err != nil || back.Seq != 42 || back.MemberID != "m" {
		t.Fatalf("WithSeq = %s (%v)", got, err)
	}
	if !bytes.HasPrefix(got, []byte(`{"seq":42,"type"`)) {
		t.Fatalf("seq is not the first field: %s", got)
	}
	if s, ok := SeqOf(got); !ok || s != 42 {
		t.Fatalf("SeqOf = %d, %v", s, ok)
	}
	if _, ok := SeqOf(ev); ok {
		t.Fatal("SeqOf found a seq in an event without one")
	}
	if got := string(WithSeq([]byte("{}"), 7)); got != `{"seq":7}` {
		t.Fatalf("WithSeq({}) = %s", got)
	}
}

func TestBatchIsNewlineSeparated(t *testing.T) {
	a, b := Marshal(Pong{Type: TypePong, ID: "1"}), Marshal(MessageEvent{Type: TypeMessage, Text: "line one\nline two"})
	frame := Batch(nil, a, b)
	lines := bytes.Split(frame, []byte("\n"))
	if len(lines) != 2 || !bytes.Equal(lines[0], a) || !bytes.Equal(lines[1], b) {
		t.Fatalf("Batch = %q: a newline in text must stay escaped", frame)
	}
}

func TestDecodeFrameNormalizes(t *testing.T) {
	f, err := DecodeFrame([]byte(`{"type":"join","room":"demo","display_name":"  Zoe\u0308 "}`))
	if err != nil || f.DisplayName != "Zoë" {
		t.Fatalf("got %q, %v; want NFC, trimmed", f.DisplayName, err)
	}
	f, err = DecodeFrame([]byte(`{"type":"send","room":"demo","text":"e\u0301"}`))
	if err != nil || f.Text != "é" {
		t.Fatalf("got %q, %v", f.Text, err)
	}
	// 4000 code points is fine even when each is 4 bytes.
	if _, err := DecodeFrame([]byte(`{"type":"send","room":"r","text":"` + strings.Repeat("😀", MaxTextRunes) + `"}`)); err != nil {
		t.Fatalf("4000 emoji: %v", err)
	}
}

func TestCloseCodeClasses(t *testing.T) {
	for code, reconnect := range map[CloseCode]bool{
		CloseNormal: false, CloseGoingAway: true, CloseProtocolError: false, 1006: true, CloseMessageTooBig: false,
		CloseInternalError: true, CloseServiceRestart: true, CloseTryAgainLater: true, CloseUnauthorized: false,
		4000: false, 4499: false, 4500: true, 4999: true,
	} {
		if code.Reconnect() != reconnect {
			t.Errorf("%d: Reconnect() = %v, want %v", code, !reconnect, reconnect)
		}
	}
}

func TestValidRoomID(t *testing.T) {
	for id, ok := range map[string]bool{
		"demo": true, "group-7_b": true, "A1": true, "": false, "-x": false, "_x": false, "a b": false,
		"a:b": false, "a{b}": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false, "ü": false,
	} {
		if ValidRoomID(id) != ok {
			t.Errorf("ValidRoomID(%q) = %v", id, !ok)
		}
	}
}

// FuzzDecodeFrame: no input panics; a frame either decodes with valid,
// normalized fields or yields a coded error with a sentence.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"auth","token":"x"}`, `{"type":"join","room":"demo","display_name":"A"}`,
		`{"type":"send","id":"1","room":"demo","text":"hi"}`, `{"type":"send","text":42}`, `[`, "\xff", `{"type":"ping"}`,
		`{"type":"refresh","id":"r","token":"x"}`, `{"type":"send","room":"r","text":"z\u0315\u0321\u0322\u0327\u0328\u0334\u0335\u0336\u0337"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeFrame(data)
		if err != nil {
			if err.Code == "" || err.Message == "" {
				t.Fatalf("error without code or sentence: %+v", err)
			}
			return
		}
		if _, ok := frameRules[fr.Type]; !ok {
			t.Fatalf("accepted unknown type %q", fr.Type)
		}
		if !utf8.ValidString(fr.Text) || utf8.RuneCountInString(fr.Text) > MaxTextRunes || len(fr.ID) > MaxRequestIDBytes {
			t.Fatalf("accepted bad fields: %+v", fr)
		}
		if fr.Type == TypeSend && strings.TrimSpace(fr.Text) == "" {
			t.Fatal("accepted empty text")
		}
		if (fr.Type == TypeSend || fr.Type == TypeDM) && Stacked(fr.Text) {
			t.Fatalf("accepted stacked text %q", fr.Text)
		}
	})
}

// The sharing frames name precisely what is wrong with them.
func TestDecodeSharingFrames(t *testing.T) {
	tests := []struct {
		frame string
		code  Code // "" = valid
	}{
		{`{"type":"set_mode","room":"r1","mode":"rounds"}`, ""},
		{`{"type":"set_mode","room":"r1","mode":"hot_seat"}`, CodeBadField},
		{`{"type":"set_mode","room":"r1"}`, CodeMissingField},
		{`{"type":"join","room":"r1","display_name":"Robin"}`, ""},
		{`{"type":"join","room":"r1","display_name":"Robin","as":"observer"}`, ""},
		{`{"type":"join","room":"r1","display_name":"Robin","as":"lurker"}`, CodeBadField},
		{`{"type":"set_presence","room":"r1","as":"participant"}`, ""},
		{`{"type":"set_presence","room":"r1"}`, CodeMissingField},
		{`{"type":"react","room":"r1","message_id":"m1","reaction":"me_too"}`, ""},
		{`{"type":"react","room":"r1","message_id":"m1","reaction":"thumbs_down"}`, CodeInvalidReaction},
		{`{"type":"react","room":"r1","message_id":"m1"}`, CodeMissingField},
		{`{"type":"react","room":"r1","reaction":"heart"}`, CodeMissingField},
		{`{"type":"give_floor","room":"r1"}`, CodeMissingField},
		{`{"type":"pass","room":"r1"}`, ""},
		{`{"type":"share_timer","room":"r1","seconds":"60"}`, CodeBadField},
		{`{"type":"join","room":"r1","display_name":"A","hidden":["k3v9q2m7x1c8d0fa"],"resume_from":{"epoch":"e1","seq":4}}`, ""},
		{`{"type":"join","room":"r1","display_name":"A","hidden":[""]}`, CodeBadField},
		{`{"type":"join","room":"r1","display_name":"A","hidden":["` + strings.Repeat("x", 65) + `"]}`, CodeBadField},
		{`{"type":"join","room":"r1","display_name":"A","hidden":[` + strings.Repeat(`"m",`, MaxHidden) + `"m"]}`, CodeBadField},
		{`{"type":"join","room":"r1","display_name":"A","resume_from":{"seq":4}}`, CodeBadField},
		{`{"type":"send","room":"r1","text":"\u200b\u2800\u3164"}`, CodeTextEmpty},
	}
	for _, tt := range tests {
		_, err := DecodeFrame([]byte(tt.frame))
		var got Code
		if err != nil {
			got = err.Code
		}
		if got != tt.code {
			t.Errorf("%s: got %q (%v), want %q", tt.frame, got, err, tt.code)
		}
	}
}

// TestNormalizeDisplayName: every refused display name gets the code that
// says why, and accepted ones come back trimmed and in NFC.
func TestNormalizeDisplayName(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // accepted form; "" when refused
		code     Code
	}{
		{"plain", "Robin", "Robin", ""},
		{"trimmed and NFC", "  Zoe\u0308 ", "Zoë", ""},
		{"inner spaces kept", "Dr. Lee", "Dr. Lee", ""},
		{"emoji with a variation selector", "Sam \u2764\uFE0F", "Sam \u2764\uFE0F", ""},
		{"emoji only", "🌻", "🌻", ""},
		{"punctuation only", "...", "...", ""},
		{"32 characters of 4 bytes", strings.Repeat("😀", MaxDisplayNameRunes), strings.Repeat("😀", MaxDisplayNameRunes), ""},
		{"no-break space inside", "Dr.\u00A0Lee", "Dr.\u00A0Lee", ""},
		{"empty", "", "", CodeNameEmpty},
		{"white space only", " \t\u3000\u00A0", "", CodeNameEmpty},
		{"33 characters", strings.Repeat("a", MaxDisplayNameRunes+1), "", CodeNameTooLong},
		{"huge", strings.Repeat("a", 10000), "", CodeNameTooLong},
		{"newline", "Sam\nLee", "", CodeNameInvalidChar},
		{"NUL", "Sam\x00", "", CodeNameInvalidChar},
		{"invalid UTF-8", "Sam\xff", "", CodeNameInvalidChar},
		{"private use", "Sam\uE000", "", CodeNameInvalidChar},
		{"noncharacter", "Sam\uFDD0", "", CodeNameInvalidChar},
		{"line separator", "Sam\u2028Lee", "", CodeNameInvalidChar},
		{"zero-width space U+200B", "Sa\u200Bm", "", CodeNameInvalidChar},
		{"zero-width non-joiner U+200C", "Sa\u200Cm", "", CodeNameInvalidChar},
		{"zero-width joiner U+200D", "Sa\u200Dm", "", CodeNameInvalidChar},
		{"left-to-right mark U+200E", "\u200ESam", "", CodeNameInvalidChar},
		{"right-to-left mark U+200F", "Sam\u200F", "", CodeNameInvalidChar},
		{"LRE U+202A", "\u202ASam", "", CodeNameInvalidChar},
		{"RLE U+202B", "\u202BSam", "", CodeNameInvalidChar},
		{"PDF U+202C", "Sam\u202C", "", CodeNameInvalidChar},
		{"LRO U+202D", "\u202DSam", "", CodeNameInvalidChar},
		{"RLO U+202E", "Sam\u202Emaxe", "", CodeNameInvalidChar},
		{"LRI U+2066", "\u2066Sam", "", CodeNameInvalidChar},
		{"RLI U+2067", "\u2067Sam", "", CodeNameInvalidChar},
		{"FSI U+2068", "\u2068Sam", "", CodeNameInvalidChar},
		{"PDI U+2069", "Sam\u2069", "", CodeNameInvalidChar},
		{"word joiner U+2060", "Sa\u2060m", "", CodeNameInvalidChar},
		{"byte order mark U+FEFF", "\uFEFFSam", "", CodeNameInvalidChar},
		{"soft hyphen", "Sa\u00ADm", "", CodeNameInvalidChar},
		{"Mongolian vowel separator U+180E", "\u180E", "", CodeNameInvalidChar},
		{"tag characters", "Sam\U000E0041", "", CodeNameInvalidChar},
		{"U+3164 HANGUL FILLER alone", "\u3164", "", CodeNameInvisible},
		{"U+2800 BRAILLE PATTERN BLANK alone", "\u2800", "", CodeNameInvisible},
		{"U+115F and U+1160 fillers", "\u115F\u1160", "", CodeNameInvisible},
		{"U+FFA0 HALFWIDTH HANGUL FILLER", "\uFFA0", "", CodeNameInvisible},
		{"U+1D159 null notehead", "\U0001D159", "", CodeNameInvisible},
		{"U+034F combining grapheme joiner", "\u034F", "", CodeNameInvisible},
		{"variation selector alone", "\uFE0F", "", CodeNameInvisible},
		{"combining marks alone", "\u0301\u0308", "", CodeNameInvisible},
		{"fillers between spaces", "\u3164 \u3164", "", CodeNameInvisible},
		{"Hangul filler inside a name", "Sam\u3164", "", CodeNameInvalidChar},
		{"braille blank between words", "Dr.\u2800Lee", "", CodeNameInvalidChar},
		{"Khmer inherent vowel U+17B4", "Sam\u17B4", "", CodeNameInvalidChar},
	}
	for _, tt := range tests {
		got, err := NormalizeDisplayName(tt.in)
		var code Code
		if err != nil {
			code = err.Code
			if err.Message == "" || err.Message != code.Message() {
				t.Errorf("%s: error %s without its sentence: %q", tt.name, code, err.Message)
			}
		}
		if code != tt.code || got != tt.want {
			t.Errorf("%s: NormalizeDisplayName(%q) = %q, %q; want %q, %q", tt.name, tt.in, got, code, tt.want, tt.code)
		}
	}
	// The frame path applies the same rules.
	_, err := DecodeFrame([]byte(`{"type":"join","room":"r1","display_name":"\u3164"}`))
	if err == nil || err.Code != CodeNameInvisible {
		t.Errorf("join with U+3164 as name: %v, want name_invisible", err)
	}
}

// TestDefaultIgnorable: IsDefaultIgnorable follows Unicode's derived
// Default_Ignorable_Code_Point on the characters that matter here.
func TestDefaultIgnorable(t *testing.T) {
	for r, want := range map[rune]bool{
		0x00AD: true, 0x034F: true, 0x115F: true, 0x1160: true, 0x17B4: true, 0x180E: true, 0x200B: true, 0x200D: true,
		0x202E: true, 0x2060: true, 0x2066: true, 0x3164: true, 0xFE0F: true, 0xFEFF: true, 0xFFA0: true, 0xE0041: true,
		'a': false, ' ': false, 0x00A0: false, 0x0600: false, 0xFFF9: false, 0x2800: false, 0x3000: false,
	} {
		if IsDefaultIgnorable(r) != want {
			t.Errorf("IsDefaultIgnorable(%U) = %v, want %v", r, !want, want)
		}
	}
}

// TestAgreementRequiredFrame: the error carries the agreement to show, and
// other errors carry no "guidelines" at all.
func TestAgreementRequiredFrame(t *testing.T) {
	frame := ErrorFrame("j1", "demo", AgreementRequired("Be kind.\nPass any time.", "0123456789abcdef"))
	var ev struct {
		Type, ID, Room, Message string
		Code                    Code
		Guidelines              *struct{ Text, Version string }
	}
	if err := json.Unmarshal(frame, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != TypeError || ev.ID != "j1" || ev.Room != "demo" || ev.Code != CodeAgreementRequired || ev.Message == "" ||
		ev.Guidelines == nil || ev.Guidelines.Text != "Be kind.\nPass any time." || ev.Guidelines.Version != "0123456789abcdef" {
		t.Fatalf("frame = %s", frame)
	}
	if !bytes.Contains(frame, []byte(`"guidelines":{"text":"Be kind.\nPass any time.","version":"0123456789abcdef"}`)) {
		t.Errorf("wire form = %s", frame)
	}
	if f := ErrorFrame("", "demo", Err(CodeNameTaken)); bytes.Contains(f, []byte("guidelines")) {
		t.Errorf("another error carries guidelines: %s", f)
	}
	if s := CodeAgreementRequired.HTTPStatus(); s != 403 {
		t.Errorf("agreement_required status = %d", s)
	}
}

// TestJoinAgree: join takes an optional "agree" of at most 64 bytes.
func TestJoinAgree(t *testing.T) {
	f, err := DecodeFrame([]byte(`{"type":"join","room":"r1","display_name":"Robin","agree":"0123456789abcdef"}`))
	if err != nil || f.Agree != "0123456789abcdef" {
		t.Fatalf("join with agree: %+v, %v", f, err)
	}
	if f, err := DecodeFrame([]byte(`{"type":"join","room":"r1","display_name":"Robin"}`)); err != nil || f.Agree != "" {
		t.Fatalf("join without agree: %+v, %v", f, err)
	}
	for frame, code := range map[string]Code{
		`{"type":"join","room":"r1","display_name":"Robin","agree":"` + strings.Repeat("a", 65) + `"}`: CodeBadField,
		`{"type":"join","room":"r1","display_name":"Robin","agree":5}`:                                 CodeBadField,
	} {
		if _, err := DecodeFrame([]byte(frame)); err == nil || err.Code != code {
			t.Errorf("%s: %v, want %s", frame, err, code)
		}
	}
}
