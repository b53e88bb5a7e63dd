// Package checkin holds the rules of between-session check-ins: a member
// says how they are doing — a mood from 1 to 5 and, if they like, a short
// note — for the facilitators of their groups (or the whole group) to read
// before the next session.
//
// It is a domain package: no I/O, no transport. It validates a check-in
// (New), decides who may read it (Visible), computes the facilitators'
// summary (Summarize) and declares the Store it needs; internal/store
// implements it in bbolt and Redis, internal/httpapi serves it, and
// internal/hub delivers it live and runs the crisis detector on the note.
//
// Confidentiality: a CheckIn carries its author's user id so that the author
// can list and delete their own and so that DELETE /api/me can erase them;
// nobody else is ever shown it. Others see the author as their member id in
// each room (auth.MemberIDs) and under the display name they have in that
// room now, looked up when read: no display name is ever copied into a
// check-in. Nothing in this package logs, and no error it returns carries a
// note or a name.
package checkin

import (
	"crypto/rand"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"hearth/internal/protocol"
)

// Limits of a check-in. The numbers live in internal/protocol (with the
// sentences of their error codes) and are repeated here under domain names.
const (
	// MinMood and MaxMood bound Mood: 1 (very low) to 5 (very good).
	MinMood = protocol.MinMood
	MaxMood = protocol.MaxMood
	// MaxNoteRunes is the longest note, in Unicode code points after
	// trimming and NFC normalization.
	MaxNoteRunes = protocol.MaxCheckInNoteRunes
	// MaxDraftRooms bounds the rooms list of a Draft before it is checked
	// (a member of more groups than this leaves rooms out for "all").
	MaxDraftRooms = 64
	// DefaultRetention is how long a check-in is kept when
	// HEARTH_CHECKIN_RETENTION is not set: 30 days.
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultPageLimit and MaxPageLimit bound one page of a REST listing.
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// Visibility says who may read a check-in besides its author.
type Visibility string

// Visibilities. Facilitators always see every check-in of their rooms.
const (
	// VisibilityFacilitators (the default): only the facilitators and
	// co-facilitators of the check-in's rooms.
	VisibilityFacilitators Visibility = "facilitators"
	// VisibilityGroup: also the other members of those rooms.
	VisibilityGroup Visibility = "group"
)

// Valid reports whether v is one of the visibilities above.
func (v Visibility) Valid() bool { return v == VisibilityFacilitators || v == VisibilityGroup }

// Mood is one point of the mood scale with the words clients show for it.
type Mood struct {
	Value int    `json:"value"` // MinMood to MaxMood
	Label string `json:"label"` // e.g. "Okay"
}

// moodLabels is the one place the mood words live; clients get them from
// the server (GET /api/checkins/moods, and mood_label on every check-in).
var moodLabels = [MaxMood + 1]string{1: "Very low", 2: "Low", 3: "Okay", 4: "Good", 5: "Very good"}

// Moods returns the mood scale, from MinMood to MaxMood, with its labels.
func Moods() []Mood {
	out := make([]Mood, 0, MaxMood-MinMood+1)
	for v := MinMood; v <= MaxMood; v++ {
		out = append(out, Mood{Value: v, Label: moodLabels[v]})
	}
	return out
}

// MoodLabel returns the words for mood ("Very low" … "Very good"), or ""
// for a value outside MinMood–MaxMood.
func MoodLabel(mood int) string {
	if mood < MinMood || mood > MaxMood {
		return ""
	}
	return moodLabels[mood]
}

// CheckIn is one stored check-in. Check-ins never change once stored; they
// are deleted by their author, with their author's account, or by the store
// when the retention ends. The JSON tags are the stores' encoding, not an
// API shape: REST responses are built from these fields and never show
// UserID.
type CheckIn struct {
	// ID is random (NewID): "c" and 26 lowercase base32 characters.
	ID string `json:"id"`
	// UserID is the author's user id (the token's subject). Never shown to
	// anyone else: others see the member id of the author in each room.
	UserID string `json:"user_id"`
	// Mood is MinMood to MaxMood.
	Mood int `json:"mood"`
	// Note is optional ("" when none): trimmed, NFC, at most MaxNoteRunes
	// code points, no control characters but tab and line breaks.
	Note string `json:"note,omitempty"`
	// Visibility is VisibilityFacilitators or VisibilityGroup.
	Visibility Visibility `json:"visibility"`
	// Rooms are the ids of the groups the check-in is for, sorted, without
	// duplicates, never empty: rooms whose roster the author was on (and
	// not banned from) when they posted it.
	Rooms []string `json:"rooms"`
	// CreatedAt is when it was posted, UTC, truncated to the millisecond
	// (so that it survives JSON and the sort key unchanged).
	CreatedAt time.Time `json:"created_at"`
}

// In reports whether the check-in is for room.
func (c CheckIn) In(room string) bool { return slices.Contains(c.Rooms, room) }

// Cursor returns the check-in's place in newest-first listings: pass it as
// the before of the next page.
func (c CheckIn) Cursor() Cursor { return Cursor{At: c.CreatedAt, ID: c.ID} }

// ExpiresAt returns when a store keeping check-ins for retention deletes c:
// CreatedAt + retention.
func (c CheckIn) ExpiresAt(retention time.Duration) time.Time { return c.CreatedAt.Add(retention) }

// Expired reports whether c has outlived retention at now (now is at or
// after ExpiresAt).
func (c CheckIn) Expired(retention time.Duration, now time.Time) bool {
	return !now.Before(c.ExpiresAt(retention))
}

// Visible reports whether someone whose role in room is facilitates
// (facilitator or co-facilitator: true; member: false) may read c in
// room's listing: facilitators every check-in for the room, members only
// the group-visible ones. The caller has checked that the reader belongs to
// room (on the roster and not banned, or facilitating it), and decides
// separately whether the author still does.
func Visible(c CheckIn, room string, facilitates bool) bool {
	return c.In(room) && (facilitates || c.Visibility == VisibilityGroup)
}

// Draft is a check-in as a member sends it (the body of POST
// /api/checkins).
type Draft struct {
	// Mood is required: MinMood to MaxMood.
	Mood int `json:"mood"`
	// Note is optional, at most MaxNoteRunes code points after trimming
	// and NFC normalization.
	Note string `json:"note"`
	// Visibility is optional: VisibilityFacilitators when empty.
	Visibility Visibility `json:"visibility"`
	// Rooms names the groups the check-in is for; absent (nil) means every
	// group the member may check in with. An empty list is refused.
	Rooms []string `json:"rooms"`
}

// NewID returns a random check-in id: "c" and 26 lowercase base32
// characters (130 random bits).
func NewID() string { return "c" + strings.ToLower(rand.Text()) }

// New validates d as a check-in by userID at now and returns it ready to
// store, with a new ID. eligible lists the rooms userID may check in with:
// those whose roster they are on and that have not banned them (the caller
// reads them from the room documents; facilitators check in as members
// only, in groups where they are on the roster). The checks run in this
// order, and the first that fails is returned as a *protocol.Error:
//
//   - invalid_mood: Mood outside MinMood–MaxMood;
//   - invalid_note: Note is not valid UTF-8, or holds a control character
//     other than tab, line feed or carriage return;
//   - note_too_long: over MaxNoteRunes code points after trimming and NFC;
//   - invalid_visibility: Visibility not empty, "facilitators" or "group";
//   - invalid_request: Rooms is an empty list, or longer than
//     MaxDraftRooms;
//   - not_in_room: a room of Rooms is not in eligible, or Rooms is absent
//     and eligible is empty.
func New(userID string, d Draft, eligible []string, now time.Time) (CheckIn, error) {
	if d.Mood < MinMood || d.Mood > MaxMood {
		return CheckIn{}, protocol.Err(protocol.CodeInvalidMood)
	}
	note, err := normalizeNote(d.Note)
	if err != nil {
		return CheckIn{}, err
	}
	vis := d.Visibility
	if vis == "" {
		vis = VisibilityFacilitators
	}
	if !vis.Valid() {
		return CheckIn{}, protocol.Err(protocol.CodeInvalidVisibility)
	}
	rooms, err := chooseRooms(d.Rooms, eligible)
	if err != nil {
		return CheckIn{}, err
	}
	return CheckIn{
		ID: NewID(), UserID: userID, Mood: d.Mood, Note: note, Visibility: vis, Rooms: rooms,
		CreatedAt: now.UTC().Truncate(time.Millisecond),
	}, nil
}

// normalizeNote trims and NFC-normalizes a note and checks it. Its byte
// length is bounded first (8 bytes for each code point allowed, room
// enough for decomposed input), so a huge note is refused before it is
// normalized.
func normalizeNote(note string) (string, error) {
	if !utf8.ValidString(note) {
		return "", protocol.Err(protocol.CodeInvalidNote)
	}
	if len(note) > 8*MaxNoteRunes {
		return "", protocol.Err(protocol.CodeNoteTooLong)
	}
	note = strings.TrimSpace(norm.NFC.String(note))
	for _, r := range note {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return "", protocol.Err(protocol.CodeInvalidNote)
		}
	}
	if utf8.RuneCountInString(note) > MaxNoteRunes {
		return "", protocol.Err(protocol.CodeNoteTooLong)
	}
	return note, nil
}

// chooseRooms returns the rooms a check-in is for: asked (deduplicated and
// sorted) when every one of them is eligible, or every eligible room when
// asked is nil.
func chooseRooms(asked, eligible []string) ([]string, error) {
	if asked == nil {
		if len(eligible) == 0 {
			return nil, protocol.Errf(protocol.CodeNotInRoom, "You are not a member of any group yet, so a check-in would have nobody to go to.")
		}
		out := slices.Clone(eligible)
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	if len(asked) == 0 {
		return nil, protocol.Errf(protocol.CodeInvalidRequest, "The field \"rooms\" names no group: leave it out to check in with all of your groups.")
	}
	if len(asked) > MaxDraftRooms {
		return nil, protocol.Errf(protocol.CodeInvalidRequest, "The field \"rooms\" can name at most %d groups; leave it out to check in with all of them.", MaxDraftRooms)
	}
	for _, r := range asked {
		if !slices.Contains(eligible, r) {
			return nil, protocol.Err(protocol.CodeNotInRoom)
		}
	}
	out := slices.Clone(asked)
	slices.Sort(out)
	return slices.Compact(out), nil
}
