package store

import (
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// boltCounts counts the check-in records in the file: documents, time
// entries, and the entries of each user's and room's index.
func boltCounts(t *testing.T, b *Bolt) (docs, times int, users, rooms map[string]int) {
	t.Helper()
	users, rooms = map[string]int{}, map[string]int{}
	err := b.db.View(func(tx *bolt.Tx) error {
		docs = tx.Bucket(bucketCheckIns).Stats().KeyN
		times = tx.Bucket(bucketCheckInTimes).Stats().KeyN
		for parent, into := range map[string]map[string]int{string(bucketCheckInUsers): users, string(bucketCheckInRooms): rooms} {
			err := tx.Bucket([]byte(parent)).ForEachBucket(func(k []byte) error {
				into[string(k)] = tx.Bucket([]byte(parent)).Bucket(k).Stats().KeyN
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs, times, users, rooms
}

// The sweep goroutine deletes expired check-ins from the file — document,
// time entry and index entries, and the indexes left empty — and Close
// stops it (TestMain's goleak checks that nothing is left running).
func TestBoltCheckInSweep(t *testing.T) {
	b, err := OpenBolt(filepath.Join(t.TempDir(), "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const retention = time.Hour
	s, err := OpenBoltCheckIns(b, CheckInOptions{Retention: retention, SweepEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	old := mkCheckIn("u1", 1, now.Add(-retention+300*time.Millisecond), "r1", "r2")
	fresh := mkCheckIn("u2", 4, now, "r1")
	mustPut(t, s, old, fresh)
	if docs, times, users, rooms := boltCounts(t, b); docs != 2 || times != 2 || users["u1"] != 1 || rooms["r1"] != 2 || rooms["r2"] != 1 {
		t.Fatalf("before the sweep: %d docs, %d times, users %v, rooms %v", docs, times, users, rooms)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		docs, times, users, rooms := boltCounts(t, b)
		if docs == 1 && times == 1 && len(users) == 1 && users["u2"] == 1 && len(rooms) == 1 && rooms["r1"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the sweep: %d docs, %d times, users %v, rooms %v", docs, times, users, rooms)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Sweep on its own, as at a later time: the rest goes, in batches.
	for range 2*checkInSweepBatch + 3 {
		mustPut(t, s, mkCheckIn("u3", 3, now, "r3"))
	}
	n, err := s.Sweep(now.Add(retention + time.Second))
	if err != nil || n != 2*checkInSweepBatch+4 {
		t.Errorf("Sweep = %d, %v; want %d", n, err, 2*checkInSweepBatch+4)
	}
	if docs, times, users, rooms := boltCounts(t, b); docs+times+len(users)+len(rooms) != 0 {
		t.Errorf("left after the sweep: %d docs, %d times, users %v, rooms %v", docs, times, users, rooms)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
