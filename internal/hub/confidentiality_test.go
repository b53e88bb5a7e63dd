package hub_test

import (
	"context"
	"strings"
	"testing"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/room"
)

// A member enters only after accepting the current group agreement: a join
// without it, or with an old version, is refused with the text and version
// to show; accepting is remembered, and asked again when the text changes.
// Facilitators are not asked.
func TestJoinAsksForTheAgreement(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	id := newRoom(t, n, room.CreateParams{}, "ana")
	ctx := context.Background()
	fac := room.Actor{UserID: "fac", TokenRole: protocol.RoleFacilitator}
	if _, err := n.Rooms.StartSession(ctx, fac, id, 60); err != nil {
		t.Fatal(err)
	}
	f := hubtest.Dial(t, n.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	if r := f.Request(hubtest.Event{"type": "join", "room": id, "display_name": "Dr. Lee"}); r.Str("type") != "joined" {
		t.Fatalf("a facilitator was asked: %v", r)
	}
	ana := hubtest.Dial(t, n.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	join := hubtest.Event{"type": "join", "room": id, "display_name": "Ana"}
	r := ana.Request(join)
	g, _ := r["guidelines"].(map[string]any)
	if r.Str("code") != "agreement_required" || g == nil || !strings.Contains(g["text"].(string), "988") || g["version"] == "" {
		t.Fatalf("join without agreeing = %v", r)
	}
	v1 := g["version"].(string)
	join["agree"] = "0123456789abcdef"
	if r := ana.Request(join); r.Str("code") != "agreement_required" {
		t.Fatalf("join agreeing to another version = %v", r)
	}
	join["agree"] = v1
	if r := ana.Request(join); r.Str("type") != "joined" {
		t.Fatalf("join agreeing to the current version = %v", r)
	}
	req(t, ana, hubtest.Event{"type": "leave", "room": id})
	delete(join, "agree")
	if r := ana.Request(join); r.Str("type") != "joined" { // remembered
		t.Fatalf("join after having agreed = %v", r)
	}
	req(t, ana, hubtest.Event{"type": "leave", "room": id})
	if _, err := n.Rooms.SetGuidelines(ctx, fac, id, "Our own agreement: what is said here stays here. Call or text 988 in a crisis."); err != nil {
		t.Fatal(err)
	}
	r = ana.Request(join)
	g, _ = r["guidelines"].(map[string]any)
	if r.Str("code") != "agreement_required" || g["version"] == v1 || !strings.HasPrefix(g["text"].(string), "Our own agreement") {
		t.Fatalf("join after the text changed = %v", r)
	}
}

// Display names are claimed at join: unique in the room (also by case and
// look-alike letters), never a reserved word or a facilitator's name, never
// invisible; another tab of the same member keeps the name the room knows.
func TestNamesAtJoin(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	id := newRoom(t, n, room.CreateParams{}, "ana", "ben")
	if _, err := n.Rooms.StartSession(context.Background(), room.Actor{UserID: "fac"}, id, 60); err != nil {
		t.Fatal(err)
	}
	hubtest.Dial(t, n.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator)).Join(id, "Dr. Lee")
	ana := hubtest.Dial(t, n.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	ana.Join(id, "Ana")
	ben := hubtest.Dial(t, n.URL, hubtest.Token(t, "ben", protocol.RoleMember))
	for _, tc := range []struct{ name, code string }{
		{"ana", "name_taken"},
		{"Dr. Lее", "name_reserved"}, // Cyrillic е: a facilitator's name
		{"dr lee", "name_reserved"},
		{"Dr. Lée", "name_reserved"}, // an accent added: the same name read quickly
		{"Aná", "name_taken"},
		{"Z" + strings.Repeat("\u0336", 8) + "oe", "name_invalid_char"}, // marks stacked on a letter
		{"Moderator", "name_reserved"},
		{"Ben\u202Eevil", "name_invalid_char"},
		{"Be\u200Dn", "name_invalid_char"},
		{"\u3164", "name_invisible"},
		{strings.Repeat("b", 33), "name_too_long"},
		{"", "name_empty"},
	} {
		if r := ben.JoinFrame(hubtest.Event{"type": "join", "room": id, "display_name": tc.name}); r.Str("code") != tc.code {
			t.Errorf("name %q: got %v, want %s", tc.name, r, tc.code)
		}
	}
	if j := ben.Join(id, "Ben"); member(j, "you")["display_name"] != "Ben" {
		t.Fatalf("joined = %v", j)
	}
	tab := hubtest.Dial(t, n.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	if j := tab.Join(id, "Someone else"); member(j, "you")["display_name"] != "Ana" {
		t.Fatalf("a second tab renamed the member: %v", member(j, "you"))
	}
}
