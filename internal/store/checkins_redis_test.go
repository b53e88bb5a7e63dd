package store

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"hearth/internal/checkin"
	"hearth/internal/redistest"
)

// The check-in key layout is part of the deployment contract: each key's
// name, type, members and expiry.
func TestRedisCheckInKeyLayout(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedisT(t, srv.URL())
	const retention = 48 * time.Hour
	s := NewRedisCheckIns(r, CheckInOptions{Retention: retention})
	ctx := ctxT(t)
	now := time.Now()
	a := mkCheckIn("u1", 2, now.Add(-time.Hour), "r1", "r2")
	b := mkCheckIn("u1", 4, now, "r1")
	mustPut(t, s, a, b)

	for key, typ := range map[string]string{
		"hearth:checkin:" + a.ID:  "string",
		"hearth:checkin:" + b.ID:  "string",
		"hearth:user:u1:checkins": "zset",
		"hearth:{r1}:checkins":    "zset",
		"hearth:{r2}:checkins":    "zset",
	} {
		if got := r.rdb.Type(ctx, key).Val(); got != typ {
			t.Errorf("TYPE %s = %q, want %q", key, got, typ)
		}
	}
	for key, want := range map[string][]string{
		"hearth:user:u1:checkins": {a.Cursor().Key(), b.Cursor().Key()},
		"hearth:{r1}:checkins":    {a.Cursor().Key(), b.Cursor().Key()},
		"hearth:{r2}:checkins":    {a.Cursor().Key()},
	} {
		zs := r.rdb.ZRangeWithScores(ctx, key, 0, -1).Val()
		var got []string
		for _, z := range zs {
			if z.Score != 0 {
				t.Errorf("%s: %v has score %v, want 0", key, z.Member, z.Score)
			}
			got = append(got, z.Member.(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	// Each check-in expires at CreatedAt + retention; each index with its
	// newest entry.
	for key, at := range map[string]time.Time{
		"hearth:checkin:" + a.ID:  a.ExpiresAt(retention),
		"hearth:checkin:" + b.ID:  b.ExpiresAt(retention),
		"hearth:user:u1:checkins": b.ExpiresAt(retention),
		"hearth:{r1}:checkins":    b.ExpiresAt(retention),
		"hearth:{r2}:checkins":    a.ExpiresAt(retention),
	} {
		if got := r.rdb.PExpireTime(ctx, key).Val().Milliseconds(); got != at.UnixMilli() {
			t.Errorf("%s expires at %d ms, want %d", key, got, at.UnixMilli())
		}
	}
	if doc := r.rdb.Get(ctx, "hearth:checkin:"+a.ID).Val(); doc != "" {
		if got, err := decodeCheckIn(a.ID, []byte(doc)); err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("stored JSON %s decodes to %+v, %v", doc, got, err)
		}
	} else {
		t.Error("no JSON stored")
	}
}

// Expired entries leave the indexes when they are read, and their keys
// are deleted with them — also when the retention was shortened after
// they were stored, so their own expiry is still far.
func TestRedisCheckInIndexCleanup(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedisT(t, srv.URL())
	ctx := ctxT(t)
	now := time.Now()
	long := NewRedisCheckIns(r, CheckInOptions{Retention: time.Hour})
	old := mkCheckIn("u1", 2, now.Add(-10*time.Minute), "r1")
	fresh := mkCheckIn("u1", 4, now, "r1")
	mustPut(t, long, old, fresh)

	short := NewRedisCheckIns(r, CheckInOptions{Retention: 5 * time.Minute})
	if _, err := short.Get(ctx, old.ID); err != checkin.ErrNotFound {
		t.Errorf("Get of a check-in past the shortened retention: %v", err)
	}
	got, err := short.ListByUser(ctx, "u1", checkin.Cursor{}, 10)
	if err != nil || !slices.Equal(ids(got), []string{fresh.ID}) {
		t.Fatalf("ListByUser = %v, %v", ids(got), err)
	}
	if n := r.rdb.ZCard(ctx, "hearth:user:u1:checkins").Val(); n != 1 {
		t.Errorf("the user index still has %d entries", n)
	}
	if n := r.rdb.Exists(ctx, "hearth:checkin:"+old.ID).Val(); n != 0 {
		t.Error("the expired check-in's key is still there")
	}
	if _, err := short.ListByRoom(ctx, "r1", checkin.Cursor{}, 10); err != nil {
		t.Fatal(err)
	}
	if n := r.rdb.ZCard(ctx, "hearth:{r1}:checkins").Val(); n != 1 {
		t.Errorf("the room index still has %d entries", n)
	}
}
