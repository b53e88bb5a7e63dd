package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Benchmark inputs: what a client typically sends (a send frame with about
// 150 bytes of text, an auth frame with a JWT-sized token) and the message
// event the hub builds for it (internal/hub/commands.go, sendMessage).
const (
	benchText = "Thanks for listening tonight. The breathing exercise helped a bit, and I went for a walk " +
		"with my sister on Sunday. I'll try the sleep routine again."
	// benchTextAccents is benchText's length with non-ASCII letters, so
	// normalization has work to do beyond the ASCII fast path.
	benchTextAccents = "Merci à tous pour l'écoute ce soir. L'exercice de respiration m'a aidée un peu, et " +
		"j'ai marché avec ma sœur dimanche. Je réessaierai la routine."
	// benchToken has the shape and size of an HS256 JWT; DecodeFrame only
	// checks that it is present (the hub verifies it).
	benchToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLWFsaWNlLTc3MzEiLCJyb2xlIjoibWVtYmVy" +
		"IiwiaWF0IjoxNzY0NDM4MTM5LCJleHAiOjE3NjQ0NDE3Mzl9.3q2-7wQxq8mJ0c9cYy1s0b1dXo2Qm9yZ3ZmUGd1b0V4cGE"
)

var (
	benchSendFrame        = []byte(`{"type":"send","id":"r42","room":"demo-group","text":"` + benchText + `"}`)
	benchSendAccentsFrame = []byte(`{"type":"send","id":"r43","room":"demo-group","text":"` + benchTextAccents + `"}`)
	benchAuthFrame        = []byte(`{"type":"auth","id":"auth","token":"` + benchToken + `"}`)

	benchFrom    = Member{MemberID: "q3k9v2m8x1c7b4n6", DisplayName: "Alice", Role: RoleMember}
	benchMessage = MessageEvent{Type: TypeMessage, Room: "demo-group", MessageID: "h7d2k9s4m1x8c3v6", From: benchFrom,
		Text: benchText, TS: "2026-11-29T17:42:19.123Z"}
)

// TestBenchInputs checks that the benchmarks below measure the success
// path: their frames decode without error to what was sent, and the events
// they encode read back as the events they were built from.
func TestBenchInputs(t *testing.T) {
	if n := len(benchText); n < 140 || n > 160 {
		t.Errorf("benchText is %d bytes, want about 150", n)
	}
	if n := len(benchTextAccents); n < 140 || n > 170 {
		t.Errorf("benchTextAccents is %d bytes, want about 150", n)
	}
	for _, c := range []struct {
		frame []byte
		want  Frame
	}{
		{benchSendFrame, Frame{Type: TypeSend, ID: "r42", Room: "demo-group", Text: benchText}},
		{benchSendAccentsFrame, Frame{Type: TypeSend, ID: "r43", Room: "demo-group", Text: benchTextAccents}},
		{benchAuthFrame, Frame{Type: TypeAuth, ID: "auth", Token: benchToken}},
	} {
		f, e := DecodeFrame(c.frame)
		if e != nil {
			t.Errorf("DecodeFrame(%.40s…) = error %v", c.frame, e)
			continue
		}
		if f.Type != c.want.Type || f.ID != c.want.ID || f.Room != c.want.Room || f.Text != c.want.Text || f.Token != c.want.Token {
			t.Errorf("DecodeFrame(%.40s…) = %+v, want %+v", c.frame, f, c.want)
		}
	}

	ev := Marshal(benchMessage)
	var back MessageEvent
	if err := json.Unmarshal(ev, &back); err != nil || back != benchMessage {
		t.Fatalf("Marshal(message) = %s, reads back as %+v (%v)", ev, back, err)
	}
	withSeq := WithSeq(ev, 123456)
	back = MessageEvent{}
	if err := json.Unmarshal(withSeq, &back); err != nil || back.Seq != 123456 || back.Text != benchText {
		t.Fatalf("WithSeq = %s, reads back as %+v (%v)", withSeq, back, err)
	}
	if s, ok := SeqOf(withSeq); !ok || s != 123456 {
		t.Fatalf("SeqOf(WithSeq(ev, 123456)) = %d, %v", s, ok)
	}

	events := benchBatchEvents()
	frame := Batch(nil, events...)
	lines := bytes.Split(frame, []byte("\n"))
	if len(lines) != len(events) {
		t.Fatalf("Batch of %d events has %d lines: %q", len(events), len(lines), frame)
	}
	for i, l := range lines {
		if !bytes.Equal(l, events[i]) || !json.Valid(l) {
			t.Errorf("Batch line %d = %s, want %s", i, l, events[i])
		}
	}
}

// benchBatchEvents is what a writer typically batches after a burst: four
// chat messages, each with its seq.
func benchBatchEvents() [][]byte {
	ev := Marshal(benchMessage)
	out := make([][]byte, 4)
	for i := range out {
		out[i] = WithSeq(ev, uint64(1000+i))
	}
	return out
}

// BenchmarkDecodeFrame measures DecodeFrame on the frames a client sends
// most: a send of about 150 bytes of text (ASCII, and with accented
// letters), and auth.
func BenchmarkDecodeFrame(b *testing.B) {
	for _, c := range []struct {
		name  string
		frame []byte
	}{
		{"send150", benchSendFrame},
		{"send150_accents", benchSendAccentsFrame},
		{"auth", benchAuthFrame},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.frame)))
			for b.Loop() {
				if _, e := DecodeFrame(c.frame); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}

// BenchmarkMarshalMessage measures encoding a chat message event as the
// hub's sendMessage does: Marshal of a MessageEvent whose ts is
// FormatTime(time.Now()).
func BenchmarkMarshalMessage(b *testing.B) {
	ev := benchMessage
	b.ReportAllocs()
	for b.Loop() {
		ev.TS = FormatTime(time.Now())
		Marshal(ev)
	}
}

// BenchmarkWithSeq measures inserting the seq into an encoded message
// event, as the in-memory broker does once per published room event.
func BenchmarkWithSeq(b *testing.B) {
	ev := Marshal(benchMessage)
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		seq++
		WithSeq(ev, seq)
	}
}

// BenchmarkBatch measures joining four encoded message events into one
// frame, reusing the frame buffer as a connection's writer does.
func BenchmarkBatch(b *testing.B) {
	events := benchBatchEvents()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = Batch(buf[:0], events...)
	}
	if !strings.HasSuffix(string(buf), string(events[len(events)-1])) {
		b.Fatalf("Batch lost the last event: %q", buf)
	}
}
