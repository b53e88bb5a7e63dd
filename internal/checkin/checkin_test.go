package checkin

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"hearth/internal/protocol"
)

var t0 = time.Date(2026, 11, 29, 17, 42, 19, 123456789, time.UTC)

func TestMoods(t *testing.T) {
	want := []Mood{{1, "Very low"}, {2, "Low"}, {3, "Okay"}, {4, "Good"}, {5, "Very good"}}
	if got := Moods(); !slices.Equal(got, want) {
		t.Errorf("Moods() = %v, want %v", got, want)
	}
	for _, c := range []struct {
		mood int
		want string
	}{{0, ""}, {1, "Very low"}, {3, "Okay"}, {5, "Very good"}, {6, ""}, {-1, ""}} {
		if got := MoodLabel(c.mood); got != c.want {
			t.Errorf("MoodLabel(%d) = %q, want %q", c.mood, got, c.want)
		}
	}
}

func TestNew(t *testing.T) {
	eligible := []string{"r2", "r1"}
	cases := []struct {
		name      string
		draft     Draft
		eligible  []string
		wantCode  protocol.Code
		wantNote  string
		wantVis   Visibility
		wantRooms []string
	}{
		{name: "defaults", draft: Draft{Mood: 3}, wantVis: VisibilityFacilitators, wantRooms: []string{"r1", "r2"}},
		{name: "all fields", draft: Draft{Mood: 1, Note: "  rough week\n", Visibility: VisibilityGroup, Rooms: []string{"r2"}},
			wantNote: "rough week", wantVis: VisibilityGroup, wantRooms: []string{"r2"}},
		{name: "duplicate rooms", draft: Draft{Mood: 5, Rooms: []string{"r2", "r1", "r2"}}, wantVis: VisibilityFacilitators, wantRooms: []string{"r1", "r2"}},
		{name: "NFC", draft: Draft{Mood: 4, Note: "cafe\u0301"}, wantNote: "caf\u00e9", wantVis: VisibilityFacilitators, wantRooms: []string{"r1", "r2"}},
		{name: "tabs and line breaks", draft: Draft{Mood: 4, Note: "a\tb\r\nc"}, wantNote: "a\tb\r\nc", wantVis: VisibilityFacilitators, wantRooms: []string{"r1", "r2"}},
		{name: "500 after NFC", draft: Draft{Mood: 2, Note: strings.Repeat("e\u0301", MaxNoteRunes)}, wantNote: strings.Repeat("\u00e9", MaxNoteRunes),
			wantVis: VisibilityFacilitators, wantRooms: []string{"r1", "r2"}},
		{name: "500 after trimming", draft: Draft{Mood: 2, Note: "  " + strings.Repeat("x", MaxNoteRunes) + "  "}, wantNote: strings.Repeat("x", MaxNoteRunes),
			wantVis: VisibilityFacilitators, wantRooms: []string{"r1", "r2"}},

		{name: "mood missing", draft: Draft{}, wantCode: protocol.CodeInvalidMood},
		{name: "mood 6", draft: Draft{Mood: 6}, wantCode: protocol.CodeInvalidMood},
		{name: "mood -1", draft: Draft{Mood: -1}, wantCode: protocol.CodeInvalidMood},
		{name: "note 501", draft: Draft{Mood: 3, Note: strings.Repeat("é", MaxNoteRunes+1)}, wantCode: protocol.CodeNoteTooLong},
		{name: "note huge", draft: Draft{Mood: 3, Note: strings.Repeat("x", 1<<20)}, wantCode: protocol.CodeNoteTooLong},
		{name: "note not UTF-8", draft: Draft{Mood: 3, Note: "ok \xff\xfe"}, wantCode: protocol.CodeInvalidNote},
		{name: "note with NUL", draft: Draft{Mood: 3, Note: "a\x00b"}, wantCode: protocol.CodeInvalidNote},
		{name: "note with escape", draft: Draft{Mood: 3, Note: "a\x1b[31mb"}, wantCode: protocol.CodeInvalidNote},
		{name: "note with C1 control", draft: Draft{Mood: 3, Note: "a\u0085b"}, wantCode: protocol.CodeInvalidNote},
		{name: "visibility unknown", draft: Draft{Mood: 3, Visibility: "everyone"}, wantCode: protocol.CodeInvalidVisibility},
		{name: "visibility case", draft: Draft{Mood: 3, Visibility: "Group"}, wantCode: protocol.CodeInvalidVisibility},
		{name: "rooms empty list", draft: Draft{Mood: 3, Rooms: []string{}}, wantCode: protocol.CodeInvalidRequest},
		{name: "rooms too many", draft: Draft{Mood: 3, Rooms: slices.Repeat([]string{"r1"}, MaxDraftRooms+1)}, wantCode: protocol.CodeInvalidRequest},
		{name: "room not eligible", draft: Draft{Mood: 3, Rooms: []string{"r1", "r9"}}, wantCode: protocol.CodeNotInRoom},
		{name: "no groups at all", draft: Draft{Mood: 3}, eligible: []string{}, wantCode: protocol.CodeNotInRoom},
		{name: "mood checked first", draft: Draft{Mood: 9, Note: strings.Repeat("x", 600), Visibility: "x", Rooms: []string{"r9"}}, wantCode: protocol.CodeInvalidMood},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			el := eligible
			if tc.eligible != nil {
				el = tc.eligible
			}
			c, err := New("user-1", tc.draft, el, t0)
			if tc.wantCode != "" {
				var pe *protocol.Error
				if !errors.As(err, &pe) || pe.Code != tc.wantCode {
					t.Fatalf("err = %v, want %s", err, tc.wantCode)
				}
				if pe.Message == "" || strings.Contains(pe.Message, tc.draft.Note) && tc.draft.Note != "" {
					t.Errorf("message %q is empty or echoes the note", pe.Message)
				}
				if pe.Code.HTTPStatus() != 422 && pe.Code.HTTPStatus() != 403 {
					t.Errorf("%s answers HTTP %d", pe.Code, pe.Code.HTTPStatus())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.UserID != "user-1" || c.Mood != tc.draft.Mood || c.Note != tc.wantNote || c.Visibility != tc.wantVis || !slices.Equal(c.Rooms, tc.wantRooms) {
				t.Errorf("New = %+v", c)
			}
			if !ValidID(c.ID) || len(c.ID) != 27 || c.ID[0] != 'c' {
				t.Errorf("id %q", c.ID)
			}
			if want := t0.Truncate(time.Millisecond); !c.CreatedAt.Equal(want) || c.CreatedAt.Location() != time.UTC {
				t.Errorf("CreatedAt = %v, want %v UTC", c.CreatedAt, want)
			}
		})
	}
}

func TestNewIDsDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if seen[id] || !ValidID(id) {
			t.Fatalf("id %q repeated or invalid", id)
		}
		seen[id] = true
	}
}

func TestVisible(t *testing.T) {
	fac := CheckIn{Visibility: VisibilityFacilitators, Rooms: []string{"a", "b"}}
	grp := CheckIn{Visibility: VisibilityGroup, Rooms: []string{"a"}}
	cases := []struct {
		name        string
		c           CheckIn
		room        string
		facilitates bool
		want        bool
	}{
		{"facilitator sees facilitators-only", fac, "a", true, true},
		{"facilitator sees group", grp, "a", true, true},
		{"member does not see facilitators-only", fac, "a", false, false},
		{"member sees group", grp, "a", false, true},
		{"member of another room sees nothing", grp, "b", false, false},
		{"facilitator of another room sees nothing", grp, "c", true, false},
	}
	for _, tc := range cases {
		if got := Visible(tc.c, tc.room, tc.facilitates); got != tc.want {
			t.Errorf("%s: Visible = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCursor(t *testing.T) {
	at := time.Date(2026, 11, 29, 17, 42, 19, 123000000, time.UTC)
	c := Cursor{At: at, ID: "cabc234"}
	if got, want := c.String(), "0001795974139123:cabc234"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	back, err := ParseCursor(c.String())
	if err != nil || !back.At.Equal(at) || back.ID != c.ID {
		t.Errorf("ParseCursor = %+v, %v", back, err)
	}
	if z, err := ParseCursor(""); err != nil || !z.IsZero() || z.Key() != "" {
		t.Errorf("ParseCursor(\"\") = %+v, %v", z, err)
	}
	for _, bad := range []string{"x", "123:abc", "0001795974139123:", "0001795974139123:ABC", "000179606013912x:abc", "-001796060139123:abc",
		"0001795974139123:abc:d", "0001795974139123:" + strings.Repeat("a", 65)} {
		if _, err := ParseCursor(bad); !errors.Is(err, protocol.Err(protocol.CodeInvalidRequest)) {
			t.Errorf("ParseCursor(%q) err = %v, want invalid_request", bad, err)
		}
	}
	// Keys sort as (At, ID).
	keys := []Cursor{{at, "b"}, {at.Add(-time.Millisecond), "z"}, {at, "a"}, {at.Add(time.Hour), "a"}}
	slices.SortFunc(keys, func(a, b Cursor) int { return strings.Compare(a.Key(), b.Key()) })
	for i := 1; i < len(keys); i++ {
		if !keys[i-1].Less(keys[i]) {
			t.Errorf("key order %v disagrees with Less", keys)
		}
	}
}

func TestExpired(t *testing.T) {
	c := CheckIn{CreatedAt: t0}
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{{t0, false}, {t0.Add(time.Hour - time.Nanosecond), false}, {t0.Add(time.Hour), true}, {t0.Add(2 * time.Hour), true}} {
		if got := c.Expired(time.Hour, tc.now); got != tc.want {
			t.Errorf("Expired at %v = %v, want %v", tc.now.Sub(t0), got, tc.want)
		}
	}
}
