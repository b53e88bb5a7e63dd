package store

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"hearth/internal/checkin"
)

// Buckets of the bbolt file that hold check-ins. Index keys are sort keys
// (checkin.Cursor.Key: 16 zero-padded digits of CreatedAt in Unix
// milliseconds, ":", the id), so a cursor walks them in time order.
var (
	// check-in id → check-in JSON (checkin.CheckIn).
	bucketCheckIns = []byte("checkins")
	// user id → sub-bucket: sort key → empty.
	bucketCheckInUsers = []byte("checkin_users")
	// room id → sub-bucket: sort key → empty.
	bucketCheckInRooms = []byte("checkin_rooms")
	// sort key → empty, every check-in: the sweep deletes from the start.
	bucketCheckInTimes = []byte("checkin_times")
)

// checkInSweepBatch is how many check-ins one sweep transaction deletes at
// most, so a large backlog does not hold the write lock for long.
const checkInSweepBatch = 500

// BoltCheckIns is a checkin.Store in the Bolt store's bbolt file (embedded
// mode). Each method is one bbolt transaction; a write is synced before it
// returns, so a restart loses nothing. A goroutine it owns deletes the
// check-ins whose retention has ended, at open and then every SweepEvery;
// reads never return those in between. Close stops it. It is safe for
// concurrent use.
type BoltCheckIns struct {
	db        *bolt.DB
	retention time.Duration
	log       *slog.Logger

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ checkin.Store = (*BoltCheckIns)(nil)

// OpenBoltCheckIns opens the check-in store in b's file, creating its
// buckets, and starts its sweep goroutine. Close it before closing b.
func OpenBoltCheckIns(b *Bolt, opts CheckInOptions) (*BoltCheckIns, error) {
	opts = opts.withDefaults()
	err := b.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketCheckIns, bucketCheckInUsers, bucketCheckInRooms, bucketCheckInTimes} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: initialize check-ins: %w", err)
	}
	s := &BoltCheckIns{db: b.db, retention: opts.Retention, log: opts.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	go s.sweepLoop(opts.SweepEvery)
	return s, nil
}

// Close stops the sweep goroutine and waits for it (and for a sweep in
// progress). It does not close the file: the Bolt store does. Closing
// twice does nothing.
func (s *BoltCheckIns) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

func (s *BoltCheckIns) sweepLoop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Sweep(time.Now()); err != nil {
			s.log.Warn("check-in sweep failed", "err", err)
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// Sweep deletes every check-in whose retention has ended at now, with its
// index entries, in transactions of at most 500, and returns how many it
// deleted. The sweep goroutine calls it; tests may too.
func (s *BoltCheckIns) Sweep(now time.Time) (int, error) {
	cutoff := []byte(cutoffKey(now, s.retention))
	total := 0
	for {
		n := 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			var keys [][]byte
			c := tx.Bucket(bucketCheckInTimes).Cursor()
			for k, _ := c.First(); k != nil && len(keys) < checkInSweepBatch && bytes.Compare(k, cutoff) < 0; k, _ = c.Next() {
				keys = append(keys, bytes.Clone(k))
			}
			for _, k := range keys {
				_, id, _ := strings.Cut(string(k), ":")
				if err := deleteCheckInTx(tx, id, k); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < checkInSweepBatch {
			return total, nil
		}
		select {
		case <-s.stop: // closing: the next open sweeps the rest
			return total, nil
		default:
		}
	}
}

// deleteCheckInTx deletes check-in id (whose sort key is key) and its
// index entries. A check-in already gone is no error: only its time entry
// is removed.
func deleteCheckInTx(tx *bolt.Tx, id string, key []byte) error {
	docs := tx.Bucket(bucketCheckIns)
	if doc := docs.Get([]byte(id)); doc != nil {
		c, err := decodeCheckIn(id, doc)
		if err != nil {
			return err
		}
		if err := docs.Delete([]byte(id)); err != nil {
			return fmt.Errorf("store: delete check-in %s: %w", id, err)
		}
		if err := unindexCheckIn(tx.Bucket(bucketCheckInUsers), c.UserID, key); err != nil {
			return err
		}
		for _, r := range c.Rooms {
			if err := unindexCheckIn(tx.Bucket(bucketCheckInRooms), r, key); err != nil {
				return err
			}
		}
	}
	if err := tx.Bucket(bucketCheckInTimes).Delete(key); err != nil {
		return fmt.Errorf("store: delete check-in %s: %w", id, err)
	}
	return nil
}

// unindexCheckIn removes key from parent's sub-bucket name, and the sub-bucket
// when it is left empty.
func unindexCheckIn(parent *bolt.Bucket, name string, key []byte) error {
	b := parent.Bucket([]byte(name))
	if b == nil {
		return nil
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("store: unindex check-in: %w", err)
	}
	if k, _ := b.Cursor().First(); k == nil {
		if err := parent.DeleteBucket([]byte(name)); err != nil {
			return fmt.Errorf("store: unindex check-in: %w", err)
		}
	}
	return nil
}

// indexCheckIn adds key to parent's sub-bucket name, creating it.
func indexCheckIn(parent *bolt.Bucket, name string, key []byte) error {
	b, err := parent.CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return fmt.Errorf("store: index check-in: %w", err)
	}
	if err := b.Put(key, []byte{}); err != nil {
		return fmt.Errorf("store: index check-in: %w", err)
	}
	return nil
}

// Put stores c and indexes it under its author, each of its rooms and its
// time. A check-in already past its retention is not stored (it would be
// deleted at once). Errors: checkin.ErrExists, and an error for a check-in
// without id, user, room or time.
func (s *BoltCheckIns) Put(ctx context.Context, c checkin.CheckIn) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPut(c); err != nil {
		return err
	}
	doc, err := encodeCheckIn(c)
	if err != nil {
		return err
	}
	key := []byte(c.Cursor().Key())
	expired := c.Expired(s.retention, time.Now())
	return s.db.Update(func(tx *bolt.Tx) error {
		docs := tx.Bucket(bucketCheckIns)
		if docs.Get([]byte(c.ID)) != nil {
			return checkin.ErrExists
		}
		if expired {
			return nil
		}
		if err := docs.Put([]byte(c.ID), doc); err != nil {
			return fmt.Errorf("store: put check-in %s: %w", c.ID, err)
		}
		if err := indexCheckIn(tx.Bucket(bucketCheckInUsers), c.UserID, key); err != nil {
			return err
		}
		for _, r := range c.Rooms {
			if err := indexCheckIn(tx.Bucket(bucketCheckInRooms), r, key); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketCheckInTimes).Put(key, []byte{}); err != nil {
			return fmt.Errorf("store: put check-in %s: %w", c.ID, err)
		}
		return nil
	})
}

// Get returns the check-in with id. Errors: checkin.ErrNotFound, also when
// its retention has ended.
func (s *BoltCheckIns) Get(ctx context.Context, id string) (checkin.CheckIn, error) {
	if err := ctx.Err(); err != nil {
		return checkin.CheckIn{}, err
	}
	var c checkin.CheckIn
	err := s.db.View(func(tx *bolt.Tx) error {
		doc := tx.Bucket(bucketCheckIns).Get([]byte(id))
		if doc == nil {
			return checkin.ErrNotFound
		}
		var err error
		c, err = decodeCheckIn(id, doc)
		return err
	})
	if err != nil {
		return checkin.CheckIn{}, err
	}
	if c.Expired(s.retention, time.Now()) {
		return checkin.CheckIn{}, checkin.ErrNotFound
	}
	return c, nil
}

// ListByUser returns up to limit of userID's check-ins, newest first,
// older than before (see checkin.Store). Never nil.
func (s *BoltCheckIns) ListByUser(ctx context.Context, userID string, before checkin.Cursor, limit int) ([]checkin.CheckIn, error) {
	return s.list(ctx, bucketCheckInUsers, userID, before, limit)
}

// ListByRoom returns up to limit of the check-ins for roomID, newest
// first, older than before (see checkin.Store). Never nil.
func (s *BoltCheckIns) ListByRoom(ctx context.Context, roomID string, before checkin.Cursor, limit int) ([]checkin.CheckIn, error) {
	return s.list(ctx, bucketCheckInRooms, roomID, before, limit)
}

func (s *BoltCheckIns) list(ctx context.Context, parent []byte, name string, before checkin.Cursor, limit int) ([]checkin.CheckIn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit = checkInPage(limit)
	out := []checkin.CheckIn{}
	if limit == 0 || name == "" {
		return out, nil
	}
	cutoff := []byte(cutoffKey(time.Now(), s.retention))
	err := s.db.View(func(tx *bolt.Tx) error {
		idx := tx.Bucket(parent).Bucket([]byte(name))
		if idx == nil {
			return nil
		}
		docs := tx.Bucket(bucketCheckIns)
		c := idx.Cursor()
		var k []byte
		if before.IsZero() {
			k, _ = c.Last()
		} else if k, _ = c.Seek([]byte(before.Key())); k == nil { // every key is below before
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && len(out) < limit && bytes.Compare(k, cutoff) >= 0; k, _ = c.Prev() {
			_, id, _ := strings.Cut(string(k), ":")
			doc := docs.Get([]byte(id))
			if doc == nil {
				continue
			}
			ci, err := decodeCheckIn(id, doc)
			if err != nil {
				return err
			}
			out = append(out, ci)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Delete deletes userID's check-in id and its index entries. Errors:
// checkin.ErrNotFound, also for someone else's check-in (left as it is)
// and for one whose retention has ended (deleted all the same).
func (s *BoltCheckIns) Delete(ctx context.Context, userID, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	expired := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		doc := tx.Bucket(bucketCheckIns).Get([]byte(id))
		if doc == nil {
			return checkin.ErrNotFound
		}
		c, err := decodeCheckIn(id, doc)
		if err != nil {
			return err
		}
		if c.UserID != userID {
			return checkin.ErrNotFound
		}
		expired = c.Expired(s.retention, time.Now())
		return deleteCheckInTx(tx, id, []byte(c.Cursor().Key()))
	})
	if err == nil && expired {
		return checkin.ErrNotFound // for the caller it was already gone
	}
	return err
}

// DeleteUser deletes every check-in of userID in one transaction and
// returns how many there were.
func (s *BoltCheckIns) DeleteUser(ctx context.Context, userID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketCheckInUsers).Bucket([]byte(userID))
		if userID == "" || idx == nil {
			return nil
		}
		var keys [][]byte
		if err := idx.ForEach(func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			_, id, _ := strings.Cut(string(k), ":")
			if err := deleteCheckInTx(tx, id, k); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
