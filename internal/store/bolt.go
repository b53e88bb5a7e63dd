package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"hearth/internal/room"
)

// boltOpenTimeout is how long OpenBolt waits for the data file's lock before
// concluding that another process holds it.
const boltOpenTimeout = 2 * time.Second

// inviteSweep is how many expired invites one PutInvite deletes at most.
const inviteSweep = 64

// Top-level buckets of the bbolt file.
var (
	// room id → room JSON.
	bucketRooms = []byte("rooms")
	// invite code → invite JSON.
	bucketInvites = []byte("invites")
	// 8-byte big-endian ExpiresAt in Unix milliseconds + invite code → empty,
	// so expired invites are found from the start of a cursor.
	bucketInviteExpiry = []byte("invite_expiry")
	// room id → sub-bucket: 8-byte big-endian seq → audit entry JSON.
	bucketAudit = []byte("audit")
	// user id → sub-bucket: room id → empty.
	bucketUserRooms = []byte("user_rooms")
)

// Bolt is a room.Store in one bbolt file, for a single Hearth node
// (embedded mode). Each method is one bbolt transaction; a write is synced
// to disk before the method returns. It is safe for concurrent use.
type Bolt struct {
	db *bolt.DB
}

var _ room.Store = (*Bolt)(nil)

// OpenBolt opens the bbolt data file at path, creating it (mode 0600) and its
// parent directory (mode 0700) if needed. Only one process may hold the
// file: if another does, OpenBolt gives up after 2 seconds with an error
// wrapping ErrInUse. Close the Bolt when done.
func OpenBolt(path string) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: boltOpenTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: %w", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketRooms, bucketInvites, bucketInviteExpiry, bucketAudit, bucketUserRooms} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: initialize %s: %w", path, err)
	}
	return &Bolt{db: db}, nil
}

// Close closes the data file, waiting for running transactions. Closing a
// closed Bolt does nothing.
func (s *Bolt) Close() error {
	return s.db.Close()
}

func be64(n uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, n)
}

// CreateRoom stores r with Version 1 (r.Version is ignored) and indexes it
// under its facilitators and roster. Errors: room.ErrExists.
func (s *Bolt) CreateRoom(ctx context.Context, r room.Room) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.ID == "" {
		return errNoRoomID
	}
	r.Version = 1
	doc, err := encodeRoom(&r)
	if err != nil {
		return err
	}
	added, _ := indexDiff(nil, &r)
	return s.db.Update(func(tx *bolt.Tx) error {
		rooms := tx.Bucket(bucketRooms)
		if rooms.Get([]byte(r.ID)) != nil {
			return room.ErrExists
		}
		if err := rooms.Put([]byte(r.ID), doc); err != nil {
			return fmt.Errorf("store: create room %s: %w", r.ID, err)
		}
		return updateIndex(tx, r.ID, added, nil)
	})
}

// updateIndex adds roomID to the user→rooms index under each user in added
// and removes it under each user in removed.
func updateIndex(tx *bolt.Tx, roomID string, added, removed []string) error {
	users := tx.Bucket(bucketUserRooms)
	for _, u := range added {
		b, err := users.CreateBucketIfNotExists([]byte(u))
		if err != nil {
			return fmt.Errorf("store: index room %s under one of its people: %w", roomID, err)
		}
		if err := b.Put([]byte(roomID), []byte{}); err != nil {
			return fmt.Errorf("store: index room %s under one of its people: %w", roomID, err)
		}
	}
	for _, u := range removed {
		b := users.Bucket([]byte(u))
		if b == nil {
			continue
		}
		if err := b.Delete([]byte(roomID)); err != nil {
			return fmt.Errorf("store: unindex room %s under one of its former people: %w", roomID, err)
		}
		if k, _ := b.Cursor().First(); k == nil { // the user's last room
			if err := users.DeleteBucket([]byte(u)); err != nil {
				return fmt.Errorf("store: unindex a former person of room %s: %w", roomID, err)
			}
		}
	}
	return nil
}

// Room returns the room with id. Errors: room.ErrNotFound.
func (s *Bolt) Room(ctx context.Context, id string) (room.Room, error) {
	if err := ctx.Err(); err != nil {
		return room.Room{}, err
	}
	var r room.Room
	err := s.db.View(func(tx *bolt.Tx) error {
		doc := tx.Bucket(bucketRooms).Get([]byte(id))
		if doc == nil {
			return room.ErrNotFound
		}
		var err error
		r, err = decodeRoom(id, doc)
		return err
	})
	return r, err
}

// UpdateRoom runs fn on a deep copy of the room with id and stores the
// result with Version+1, in one write transaction (so updates are
// serialized and fn runs once). fn must be quick and must not call the
// store: it runs while the file's write lock is held. If fn returns an
// error, nothing is stored and that error is returned as is; if it changes
// the room's ID, ErrIDChanged. Returns the stored room. Errors:
// room.ErrNotFound.
func (s *Bolt) UpdateRoom(ctx context.Context, id string, fn func(*room.Room) error) (room.Room, error) {
	if err := ctx.Err(); err != nil {
		return room.Room{}, err
	}
	var stored room.Room
	err := s.db.Update(func(tx *bolt.Tx) error {
		rooms := tx.Bucket(bucketRooms)
		doc := rooms.Get([]byte(id))
		if doc == nil {
			return room.ErrNotFound
		}
		newDoc, added, removed, err := applyUpdate(id, doc, fn)
		if err != nil {
			return err
		}
		if err := rooms.Put([]byte(id), newDoc); err != nil {
			return fmt.Errorf("store: update room %s: %w", id, err)
		}
		if err := updateIndex(tx, id, added, removed); err != nil {
			return err
		}
		stored, err = decodeRoom(id, newDoc)
		return err
	})
	if err != nil {
		return room.Room{}, err
	}
	return stored, nil
}

// RoomsOf returns the ids of the rooms where userID is a facilitator or on
// the roster, sorted (never nil).
func (s *Bolt) RoomsOf(ctx context.Context, userID string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids := []string{}
	err := s.db.View(func(tx *bolt.Tx) error {
		if userID == "" {
			return nil
		}
		b := tx.Bucket(bucketUserRooms).Bucket([]byte(userID))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error { // keys are in byte order
			ids = append(ids, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// expiryKey is the invite_expiry key of inv.
func expiryKey(inv room.Invite) []byte {
	return append(be64(uint64(max(inv.ExpiresAt.UnixMilli(), 0))), inv.Code...)
}

// PutInvite stores inv. An existing invite with the same code that has
// expired by the local clock is replaced; on the way, up to 64 other expired
// invites are deleted. inv.ExpiresAt must be set. It does not check that
// inv.RoomID exists. Errors: room.ErrExists.
func (s *Bolt) PutInvite(ctx context.Context, inv room.Invite) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	doc, err := encodeInvite(inv)
	if err != nil {
		return err
	}
	now := time.Now()
	return s.db.Update(func(tx *bolt.Tx) error {
		invites, expiry := tx.Bucket(bucketInvites), tx.Bucket(bucketInviteExpiry)
		if err := sweepInvites(invites, expiry, now); err != nil {
			return err
		}
		if old := invites.Get([]byte(inv.Code)); old != nil {
			prev, err := decodeInvite(old)
			if err != nil {
				return err
			}
			if now.Before(prev.ExpiresAt) {
				return room.ErrExists
			}
			if err := expiry.Delete(expiryKey(prev)); err != nil {
				return fmt.Errorf("store: replace expired invite: %w", err)
			}
		}
		if err := invites.Put([]byte(inv.Code), doc); err != nil {
			return fmt.Errorf("store: put invite for room %s: %w", inv.RoomID, err)
		}
		if err := expiry.Put(expiryKey(inv), []byte{}); err != nil {
			return fmt.Errorf("store: put invite for room %s: %w", inv.RoomID, err)
		}
		return nil
	})
}

// sweepInvites deletes up to inviteSweep invites that expired before now.
func sweepInvites(invites, expiry *bolt.Bucket, now time.Time) error {
	limit := be64(uint64(max(now.UnixMilli(), 0)))
	var keys [][]byte
	c := expiry.Cursor()
	for k, _ := c.First(); k != nil && len(keys) < inviteSweep && bytes.Compare(k[:8], limit) < 0; k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := invites.Delete(k[8:]); err != nil {
			return fmt.Errorf("store: sweep expired invites: %w", err)
		}
		if err := expiry.Delete(k); err != nil {
			return fmt.Errorf("store: sweep expired invites: %w", err)
		}
	}
	return nil
}

// TakeInvite removes the invite with code and returns it if it has not
// expired at now (an expired one is removed too). Errors: room.ErrNotFound,
// also for an expired invite.
func (s *Bolt) TakeInvite(ctx context.Context, code string, now time.Time) (room.Invite, error) {
	if err := ctx.Err(); err != nil {
		return room.Invite{}, err
	}
	if code == "" {
		return room.Invite{}, room.ErrNotFound
	}
	var inv room.Invite
	err := s.db.Update(func(tx *bolt.Tx) error {
		invites := tx.Bucket(bucketInvites)
		doc := invites.Get([]byte(code))
		if doc == nil {
			return room.ErrNotFound
		}
		var err error
		if inv, err = decodeInvite(doc); err != nil {
			return err
		}
		if err := invites.Delete([]byte(code)); err != nil {
			return fmt.Errorf("store: take invite: %w", err)
		}
		if err := tx.Bucket(bucketInviteExpiry).Delete(expiryKey(inv)); err != nil {
			return fmt.Errorf("store: take invite: %w", err)
		}
		return nil
	})
	if err != nil {
		return room.Invite{}, err
	}
	if !now.Before(inv.ExpiresAt) {
		return room.Invite{}, room.ErrNotFound
	}
	return inv, nil
}

// DeleteInvites deletes every stored invite for which match returns true
// (expired ones not yet swept included), with their expiry entries, in one
// write transaction that reads every invite; it returns how many it
// deleted. match runs while the file's write lock is held: it must be quick
// and must not call the store.
func (s *Bolt) DeleteInvites(ctx context.Context, match func(room.Invite) bool) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int
	err := s.db.Update(func(tx *bolt.Tx) error {
		invites, expiry := tx.Bucket(bucketInvites), tx.Bucket(bucketInviteExpiry)
		var doomed []room.Invite
		err := invites.ForEach(func(_, doc []byte) error {
			inv, err := decodeInvite(doc)
			if err != nil {
				return err
			}
			if match(inv) {
				doomed = append(doomed, inv)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, inv := range doomed { // not while iterating: bbolt forbids deleting under ForEach
			if err := invites.Delete([]byte(inv.Code)); err != nil {
				return fmt.Errorf("store: delete invite of room %s: %w", inv.RoomID, err)
			}
			if err := expiry.Delete(expiryKey(inv)); err != nil {
				return fmt.Errorf("store: delete invite of room %s: %w", inv.RoomID, err)
			}
		}
		n = len(doomed)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// AppendAudit appends e to the audit log of the room with roomID, assigning
// e.Seq (1, 2, 3, … per room; the caller's Seq is ignored). Errors:
// room.ErrNotFound if the room does not exist.
func (s *Bolt) AppendAudit(ctx context.Context, roomID string, e room.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketRooms).Get([]byte(roomID)) == nil {
			return room.ErrNotFound
		}
		log, err := tx.Bucket(bucketAudit).CreateBucketIfNotExists([]byte(roomID))
		if err != nil {
			return fmt.Errorf("store: audit log of room %s: %w", roomID, err)
		}
		if e.Seq, err = log.NextSequence(); err != nil {
			return fmt.Errorf("store: audit log of room %s: %w", roomID, err)
		}
		doc, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("store: encode audit entry of room %s: %w", roomID, err)
		}
		if err := log.Put(be64(e.Seq), doc); err != nil {
			return fmt.Errorf("store: append audit entry to room %s: %w", roomID, err)
		}
		return nil
	})
}

// Audit returns up to limit entries (capped at MaxAuditPage) of the room's
// audit log, newest first, with Seq below before (0: from the newest). A
// room without entries, or an unknown room, gives an empty slice (never
// nil).
func (s *Bolt) Audit(ctx context.Context, roomID string, before uint64, limit int) ([]room.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit = auditPage(limit)
	out := []room.AuditEntry{}
	if limit == 0 || roomID == "" {
		return out, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		log := tx.Bucket(bucketAudit).Bucket([]byte(roomID))
		if log == nil {
			return nil
		}
		c := log.Cursor()
		var k, v []byte
		if before == 0 {
			k, v = c.Last()
		} else if k, _ = c.Seek(be64(before)); k == nil { // every seq is below before
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && len(out) < limit; k, v = c.Prev() {
			e, err := decodeAudit(roomID, v)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
