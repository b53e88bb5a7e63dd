package checkin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"hearth/internal/protocol"
)

// Store errors.
var (
	// ErrNotFound: no such check-in (never stored, deleted, expired, or —
	// for Delete — not the caller's).
	ErrNotFound = errors.New("check-in not found")
	// ErrExists: Put of an id that is already stored.
	ErrExists = errors.New("check-in already exists")
)

// MaxStorePage is the most check-ins one List call returns; a larger limit
// is capped to it.
const MaxStorePage = 500

// Store keeps check-ins durably (a restart loses none) for a retention
// period fixed when the store is opened (HEARTH_CHECKIN_RETENTION), after
// which it deletes them by itself. A check-in whose retention has ended is
// never returned, even before it is physically deleted. Every method is
// atomic; none logs; errors carry ids, never a note.
type Store interface {
	// Put stores c, a check-in made by New (its ID set, Rooms not empty),
	// and indexes it under its author and each of its rooms. One already
	// past its retention is accepted and gone at once. Errors: ErrExists.
	Put(ctx context.Context, c CheckIn) error
	// Get returns the check-in with id. Errors: ErrNotFound.
	Get(ctx context.Context, id string) (CheckIn, error)
	// ListByUser returns up to limit (capped at MaxStorePage; 0 or less
	// gives none) of userID's check-ins, newest first, each older than
	// before in Cursor order (the zero Cursor: from the newest). Never nil.
	ListByUser(ctx context.Context, userID string, before Cursor, limit int) ([]CheckIn, error)
	// ListByRoom is ListByUser for the check-ins whose Rooms include
	// roomID, whoever wrote them and whatever their visibility.
	ListByRoom(ctx context.Context, roomID string, before Cursor, limit int) ([]CheckIn, error)
	// Delete deletes userID's check-in id, with its index entries, for
	// real. Errors: ErrNotFound, also when the check-in is someone else's
	// (which is left as it is).
	Delete(ctx context.Context, userID, id string) error
	// DeleteUser deletes every check-in of userID (their account is being
	// deleted) and returns how many there were.
	DeleteUser(ctx context.Context, userID string) (int, error)
}

// Cursor is a place in a newest-first listing: check-ins are ordered by
// CreatedAt and then by ID. The zero Cursor stands before the newest.
type Cursor struct {
	At time.Time // a CreatedAt (millisecond precision)
	ID string    // a check-in id
}

// IsZero reports whether c is the zero Cursor.
func (c Cursor) IsZero() bool { return c.At.IsZero() && c.ID == "" }

// keyDigits is the width of the zero-padded Unix-millisecond part of a
// sort key: enough for any time a check-in can carry.
const keyDigits = 16

// Key returns c's sort key: the Unix time in milliseconds as keyDigits
// decimal digits, ":", and the id, e.g. "0001796000530000:cabc…". Keys
// compare as byte strings in the order of (At, ID), so both stores use
// them as index entries (bbolt keys, Redis sorted-set members). The zero
// Cursor's key is "".
func (c Cursor) Key() string {
	if c.IsZero() {
		return ""
	}
	return fmt.Sprintf("%0*d:%s", keyDigits, max(c.At.UnixMilli(), 0), c.ID)
}

// String returns c as it travels in REST (next_before, ?before=): its Key.
func (c Cursor) String() string { return c.Key() }

// Less reports whether a sorts before b in (At, ID) order.
func (c Cursor) Less(o Cursor) bool {
	if !c.At.Equal(o.At) {
		return c.At.Before(o.At)
	}
	return c.ID < o.ID
}

// ParseCursor reads a Cursor written by String; "" is the zero Cursor.
// Errors: invalid_request (a *protocol.Error) for anything else.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := protocol.Errf(protocol.CodeInvalidRequest, "The field \"before\" is not a cursor this server gave out (use next_before).")
	ms, id, ok := strings.Cut(s, ":")
	if !ok || len(ms) != keyDigits || !ValidID(id) {
		return Cursor{}, bad
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n < 0 {
		return Cursor{}, bad
	}
	return Cursor{At: time.UnixMilli(n).UTC(), ID: id}, nil
}

// ValidID reports whether id has the form of a check-in id: 1 to 64
// lowercase letters and digits (NewID makes 27). A REST path segment that
// does not is answered with not_found without asking the store.
func ValidID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
