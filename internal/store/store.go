// Package store keeps Hearth's durable state — rooms, invites and the
// facilitators' audit logs — behind the room.Store interface. It has two
// implementations that pass one conformance suite: Bolt, an embedded bbolt
// file for a single node, and Redis, shared by every node in distributed
// mode. Between-session check-ins live beside them behind checkin.Store:
// BoltCheckIns in the same bbolt file, RedisCheckIns in the same Redis
// database, with their own conformance suite (checkins*.go); their errors
// carry check-in ids at most, never a note, and the only log line is the
// bbolt sweep's failure (its error).
//
// Privacy: no method logs, and no error message carries a display name, a
// message text, an invite code or a user id (errors may reach a log); room
// ids may appear.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"hearth/internal/room"
)

// MaxAuditPage is the most entries one Audit call returns; a larger limit is
// capped to it.
const MaxAuditPage = 200

// ErrIDChanged is returned by UpdateRoom when fn changed the room's ID;
// nothing is stored.
var ErrIDChanged = errors.New("store: UpdateRoom fn must not change the room id")

// ErrInUse is returned (wrapped) by OpenBolt when another process holds the
// data file's lock.
var ErrInUse = errors.New("the data file is in use by another Hearth process")

// errNoRoomID and errNoInviteCode reject empty keys.
var (
	errNoRoomID     = errors.New("store: room id is empty")
	errNoInviteCode = errors.New("store: invite code is empty")
	errNoExpiry     = errors.New("store: invite has no expiry time")
)

// auditPage returns limit capped to [0, MaxAuditPage].
func auditPage(limit int) int {
	return min(max(limit, 0), MaxAuditPage)
}

// members returns the set of user ids a room is indexed under: its
// facilitators and roster, ignoring empty ids.
func members(r *room.Room) map[string]struct{} {
	m := make(map[string]struct{}, len(r.Facilitators)+len(r.Roster))
	for _, ids := range [][]string{r.Facilitators, r.Roster} {
		for _, id := range ids {
			if id != "" {
				m[id] = struct{}{}
			}
		}
	}
	return m
}

// indexDiff returns, sorted, the user ids under which the room must be added
// to and removed from the user→rooms index when it changes from old to cur.
// old nil means the room is new.
func indexDiff(old, cur *room.Room) (added, removed []string) {
	before := map[string]struct{}{}
	if old != nil {
		before = members(old)
	}
	after := members(cur)
	for id := range after {
		if _, ok := before[id]; !ok {
			added = append(added, id)
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			removed = append(removed, id)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

func encodeRoom(r *room.Room) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("store: encode room %s: %w", r.ID, err)
	}
	return b, nil
}

// decodeRoom decodes a stored room document into a fresh value: nothing in
// it shares memory with any other decoded copy.
func decodeRoom(id string, b []byte) (room.Room, error) {
	var r room.Room
	if err := json.Unmarshal(b, &r); err != nil {
		return room.Room{}, fmt.Errorf("store: decode room %s: %w", id, err)
	}
	return r, nil
}

// applyUpdate runs fn on a fresh copy decoded from the stored document doc
// and returns the new document and the index changes. fn's error is
// returned as is.
func applyUpdate(id string, doc []byte, fn func(*room.Room) error) (newDoc []byte, added, removed []string, err error) {
	old, err := decodeRoom(id, doc)
	if err != nil {
		return nil, nil, nil, err
	}
	cur, err := decodeRoom(id, doc) // a second decode is a deep copy
	if err != nil {
		return nil, nil, nil, err
	}
	if err := fn(&cur); err != nil {
		return nil, nil, nil, err
	}
	if cur.ID != old.ID {
		return nil, nil, nil, ErrIDChanged
	}
	cur.Version = old.Version + 1
	newDoc, err = encodeRoom(&cur)
	if err != nil {
		return nil, nil, nil, err
	}
	added, removed = indexDiff(&old, &cur)
	return newDoc, added, removed, nil
}

func encodeInvite(inv room.Invite) ([]byte, error) {
	if inv.Code == "" {
		return nil, errNoInviteCode
	}
	if inv.ExpiresAt.IsZero() {
		return nil, errNoExpiry
	}
	b, err := json.Marshal(inv)
	if err != nil { // the error names no field values but the time
		return nil, fmt.Errorf("store: encode invite for room %s: %w", inv.RoomID, err)
	}
	return b, nil
}

func decodeInvite(b []byte) (room.Invite, error) {
	var inv room.Invite
	if err := json.Unmarshal(b, &inv); err != nil {
		return room.Invite{}, fmt.Errorf("store: decode invite: %w", err)
	}
	return inv, nil
}

func decodeAudit(roomID string, b []byte) (room.AuditEntry, error) {
	var e room.AuditEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return room.AuditEntry{}, fmt.Errorf("store: decode audit entry of room %s: %w", roomID, err)
	}
	return e, nil
}
