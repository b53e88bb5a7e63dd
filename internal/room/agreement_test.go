package room_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"hearth/internal/protocol"
	"hearth/internal/room"
)

// TestDefaultGuidelines: the shipped agreement says what the product
// promises, at a readable length, and its version is its hash.
func TestDefaultGuidelines(t *testing.T) {
	text := room.DefaultGuidelines()
	if n := len(strings.Fields(text)); n < 200 || n > 350 {
		t.Errorf("the default agreement has %d words, want 200 to 350", n)
	}
	for _, must := range []string{
		"stays here", "judgement", "pass at any time", "just listening",
		"not stored after the session", "500", "4 hours", "display name is kept for this group only", "never anyone's words",
		"checked automatically", "facilitators are told privately", "not watching around the clock",
		"988", "call or text 988", "1-800-662-4357", "911",
	} {
		if !strings.Contains(text, must) {
			t.Errorf("the default agreement does not say %q", must)
		}
	}
	if text != strings.TrimSpace(text) || strings.Contains(text, "**") || strings.HasPrefix(text, "#") {
		t.Error("the default agreement must be trimmed plain text (clients show it as text, not markup)")
	}
	v := room.GuidelinesVersion(text)
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(v) {
		t.Errorf("version = %q, want 16 hex characters", v)
	}
	var r room.Room
	if gt, gv := r.CurrentGuidelines(); gt != text || gv != v {
		t.Errorf("a room without its own text has %q, %q; want the default", gv, gt[:20])
	}
	// The version is of the NFC text, and changes with any change.
	if room.GuidelinesVersion("Zoe\u0308") != room.GuidelinesVersion("Zoë") || room.GuidelinesVersion("a") == room.GuidelinesVersion("a.") {
		t.Error("GuidelinesVersion is not a hash of the NFC text")
	}
}

// wantAgreementRequired fails unless err is agreement_required carrying
// text and version.
func wantAgreementRequired(t *testing.T, err error, text, version string) {
	t.Helper()
	wantCode(t, err, protocol.CodeAgreementRequired)
	var pe *protocol.Error
	errors.As(err, &pe)
	if pe.Guidelines == nil || pe.Guidelines.Text != text || pe.Guidelines.Version != version {
		t.Fatalf("agreement_required carries %+v, want version %s and the text", pe.Guidelines, version)
	}
}

func TestAccept(t *testing.T) {
	e := newEnv(t)
	a, _ := fixture(t, e, room.CreateParams{})
	text, v1 := room.DefaultGuidelines(), room.GuidelinesVersion(room.DefaultGuidelines())

	// Without the current version: refused with the agreement, nothing written.
	before := load(t, e, a)
	for _, version := range []string{"", "0123456789abcdef", strings.ToUpper(v1)} {
		_, err := e.svc.Accept(ctx, a, mem.UserID, version)
		wantAgreementRequired(t, err, text, v1)
	}
	if after := load(t, e, a); after.Version != before.Version || len(after.Agreements) != 0 {
		t.Fatalf("refused acceptances changed the room: %+v", after.Agreements)
	}

	// With it: recorded once.
	start := time.Now().Add(-time.Millisecond)
	r := must(t)(e.svc.Accept(ctx, a, mem.UserID, v1))
	ag := r.Agreements["m-mem"]
	if ag.Version != v1 || ag.At.Before(start) || ag.At.After(time.Now()) || ag.At.Location() != time.UTC || r.Version != before.Version+1 {
		t.Fatalf("after accepting: %+v, version %d", r.Agreements, r.Version)
	}
	for _, version := range []string{v1, "", "old"} { // already current: nothing to do
		r = must(t)(e.svc.Accept(ctx, a, mem.UserID, version))
		if r.Version != before.Version+1 || !r.Agreements["m-mem"].At.Equal(ag.At) {
			t.Fatalf("accepting again (%q) wrote: version %d, %+v", version, r.Version, r.Agreements)
		}
	}

	// Facilitators need not accept, and nothing is written for them.
	for _, f := range []room.Actor{lead, co} {
		if _, err := e.svc.Accept(ctx, a, f.UserID, ""); err != nil {
			t.Errorf("Accept by %s: %v", f.UserID, err)
		}
	}
	if r := load(t, e, a); r.Version != before.Version+1 || len(r.Agreements) != 1 {
		t.Errorf("facilitators' Accept wrote: %+v", r.Agreements)
	}

	// People outside the room, a missing room, a banned member.
	_, err := e.svc.Accept(ctx, a, outsider.UserID, v1)
	wantCode(t, err, protocol.CodeNotMember)
	_, err = e.svc.Accept(ctx, "rnosuchroom", mem.UserID, v1)
	wantCode(t, err, protocol.CodeNotMember)
	must(t)(e.svc.Ban(ctx, lead, a, "m-mem2"))
	_, err = e.svc.Accept(ctx, a, mem2.UserID, v1)
	wantCode(t, err, protocol.CodeBanned)
	must(t)(e.svc.Unban(ctx, lead, a, "m-mem2"))

	// New text: the old acceptance is no longer current.
	newText := "Be kind.\n\nWhat is said here stays here."
	r = must(t)(e.svc.SetGuidelines(ctx, co, a, "  "+newText+"\n"))
	gt, v2 := r.CurrentGuidelines()
	if gt != newText || v2 != room.GuidelinesVersion(newText) || v2 == v1 {
		t.Fatalf("after SetGuidelines: %q %s", gt, v2)
	}
	for _, version := range []string{"", v1} {
		_, err = e.svc.Accept(ctx, a, mem.UserID, version)
		wantAgreementRequired(t, err, newText, v2)
	}
	sts, err := e.svc.Agreements(ctx, lead, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 2 || sts[0].MemberID != "m-mem" || sts[0].Version != v1 || sts[0].Current || sts[1].Version != "" || sts[1].Current {
		t.Fatalf("agreements after the change = %+v", sts)
	}
	r = must(t)(e.svc.Accept(ctx, a, mem.UserID, v2))
	if r.Agreements["m-mem"].Version != v2 {
		t.Fatalf("agreements = %+v", r.Agreements)
	}
	must(t)(e.svc.ClaimName(ctx, a, mem.UserID, "Sam"))
	sts, _ = e.svc.Agreements(ctx, co, a)
	want := []room.AgreementStatus{
		{MemberID: "m-mem", DisplayName: "Sam", Version: v2, Current: true, At: r.Agreements["m-mem"].At},
		{MemberID: "m-mem2"},
	}
	if len(sts) != len(want) || sts[0] != want[0] || sts[1] != want[1] {
		t.Errorf("agreements = %+v, want %+v", sts, want)
	}
	for _, actor := range []room.Actor{mem, outsider, otherFac} {
		_, err := e.svc.Agreements(ctx, actor, a)
		wantCode(t, err, refusal(actor))
	}
	_, err = e.svc.Agreements(ctx, lead, "rnosuchroom")
	wantCode(t, err, protocol.CodeNotFound)

	// Restoring the default makes the first acceptance of the default
	// current again (the version is the text's hash).
	r = must(t)(e.svc.SetGuidelines(ctx, lead, a, ""))
	if r.Guidelines != "" {
		t.Errorf("stored guidelines = %q after restoring the default", r.Guidelines)
	}
	_, err = e.svc.Accept(ctx, a, mem.UserID, "")
	wantAgreementRequired(t, err, text, v1) // m-mem accepted v2 last
}

func TestSetGuidelines(t *testing.T) {
	e := newEnv(t)
	a, _ := fixture(t, e, room.CreateParams{})
	cases := []struct {
		name  string
		actor room.Actor
		text  string
		code  protocol.Code
	}{
		{"member", mem, "Be kind.", protocol.CodeForbidden},
		{"outsider", outsider, "Be kind.", protocol.CodeNotFound},
		{"facilitator of another room", otherFac, "Be kind.", protocol.CodeNotFound},
		{"supervisor", room.Actor{UserID: "sup", TokenRole: room.RoleSupervisor}, "Be kind.", protocol.CodeNotFound},
		{"8001 characters", lead, strings.Repeat("é", room.MaxGuidelinesRunes+1), protocol.CodeInvalidRequest},
		{"a NUL", lead, "Be kind.\x00", protocol.CodeInvalidRequest},
		{"an escape sequence", lead, "Be \x1b[31mkind", protocol.CodeInvalidRequest},
	}
	before := load(t, e, a)
	audit, _ := e.svc.Audit(ctx, lead, a, 0, 200)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.SetGuidelines(ctx, tc.actor, a, tc.text)
			wantCode(t, err, tc.code)
			if after := load(t, e, a); after.Version != before.Version || after.Guidelines != "" {
				t.Fatalf("refused SetGuidelines changed the room: %+v", after)
			}
		})
	}
	_, err := e.svc.SetGuidelines(ctx, lead, "rnosuchroom", "x")
	wantCode(t, err, protocol.CodeNotFound)
	if es, _ := e.svc.Audit(ctx, lead, a, 0, 200); len(es) != len(audit) {
		t.Errorf("refused changes were audited")
	}

	long := strings.Repeat("é", room.MaxGuidelinesRunes)
	r := must(t)(e.svc.SetGuidelines(ctx, co, a, long+"\n\n"))
	if r.Guidelines != long || r.Version != before.Version+1 {
		t.Fatalf("8000 characters: stored %d runes, version %d", len([]rune(r.Guidelines)), r.Version)
	}
	// The same text again: no write, no audit.
	r = must(t)(e.svc.SetGuidelines(ctx, lead, a, long))
	if r.Version != before.Version+1 {
		t.Errorf("setting the same text bumped the version to %d", r.Version)
	}
	// Tabs and line breaks are text.
	must(t)(e.svc.SetGuidelines(ctx, lead, a, "One:\n\t- be kind\r\n\t- pass any time"))
	// The default's own text is stored as "the default".
	r = must(t)(e.svc.SetGuidelines(ctx, lead, a, "\n"+room.DefaultGuidelines()))
	if r.Guidelines != "" {
		t.Errorf("the default text was stored as the room's own")
	}
	es, _ := e.svc.Audit(ctx, lead, a, 0, 3)
	for i, want := range []struct{ actor, action string }{{"m-lead", "set_guidelines"}, {"m-lead", "set_guidelines"}, {"m-co", "set_guidelines"}} {
		if es[i].Actor != want.actor || es[i].Action != want.action || es[i].Target != "" {
			t.Errorf("audit %d = %+v, want %+v without a target", i, es[i], want)
		}
	}
	if es, _ := e.svc.Audit(ctx, lead, a, 0, 200); len(es) != len(audit)+3 {
		t.Errorf("%d audit entries, want %d (the unchanged text is not audited)", len(es), len(audit)+3)
	}

	// Anyone in the room reads the agreement; nobody else.
	for _, actor := range []room.Actor{lead, co, mem, mem2} {
		text, version, err := e.svc.Guidelines(ctx, actor, a)
		if err != nil || text != room.DefaultGuidelines() || version != room.GuidelinesVersion(text) {
			t.Errorf("Guidelines as %s = %q…, %q, %v", actor.UserID, text[:min(10, len(text))], version, err)
		}
	}
	for _, actor := range []room.Actor{outsider, otherFac} {
		_, _, err := e.svc.Guidelines(ctx, actor, a)
		wantCode(t, err, refusal(actor))
	}
}
