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
