package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"hearth/internal/checkin"
	"hearth/internal/redistest"
)

// checkInOpen returns a check-in store on fresh, empty data; checkInReopen
// closes the one open returned for the same t and opens a new one on the
// same data (as after a restart), with opts.
type checkInOpen = func(t *testing.T, opts CheckInOptions) checkin.Store

// TestBoltCheckInConformance runs the check-in suite against BoltCheckIns;
// reopen closes the check-in store and the file, and opens both again.
func TestBoltCheckInConformance(t *testing.T) {
	type opened struct {
		path string
		b    *Bolt
		ci   *BoltCheckIns
	}
	var (
		mu   sync.Mutex
		open = map[*testing.T]opened{}
	)
	openAt := func(t *testing.T, path string, opts CheckInOptions) checkin.Store {
		t.Helper()
		b, err := OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		ci, err := OpenBoltCheckIns(b, opts)
		if err != nil {
			_ = b.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ci.Close(); _ = b.Close() })
		mu.Lock()
		open[t] = opened{path, b, ci}
		mu.Unlock()
		return ci
	}
	runCheckInConformance(t,
		func(t *testing.T, opts CheckInOptions) checkin.Store {
			return openAt(t, filepath.Join(t.TempDir(), "data", "hearth.db"), opts)
		},
		func(t *testing.T, opts CheckInOptions) checkin.Store {
			mu.Lock()
			o := open[t]
			mu.Unlock()
			if err := errors.Join(o.ci.Close(), o.b.Close()); err != nil {
				t.Fatalf("close: %v", err)
			}
			return openAt(t, o.path, opts)
		})
}

// TestRedisCheckInConformance runs the suite against RedisCheckIns, each
// test on its own redis-server with an fsync'ed append-only file; reopen
// closes the client, kills and restarts the server, and connects again.
func TestRedisCheckInConformance(t *testing.T) {
	type opened struct {
		srv *redistest.Server
		r   *Redis
	}
	var (
		mu   sync.Mutex
		open = map[*testing.T]opened{}
	)
	connect := func(t *testing.T, srv *redistest.Server, opts CheckInOptions) checkin.Store {
		t.Helper()
		r := newRedisT(t, srv.URL())
		mu.Lock()
		open[t] = opened{srv, r}
		mu.Unlock()
		return NewRedisCheckIns(r, opts)
	}
	runCheckInConformance(t,
		func(t *testing.T, opts CheckInOptions) checkin.Store {
			return connect(t, redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always"), opts)
		},
		func(t *testing.T, opts CheckInOptions) checkin.Store {
			mu.Lock()
			o := open[t]
			mu.Unlock()
			_ = o.r.Close()
			o.srv.Restart() // returns once the server answers PING, i.e. has loaded the AOF
			return connect(t, o.srv, opts)
		})
}

// runCheckInConformance runs the behaviour every checkin.Store must have.
func runCheckInConformance(t *testing.T, open, reopen checkInOpen) {
	tests := []struct {
		name string
		run  func(t *testing.T, open, reopen checkInOpen)
	}{
		{"PutGetExistsNotFound", testCheckInPutGet},
		{"PutRefusesIncompleteCheckIns", testCheckInBadPut},
		{"ListByUserNewestFirstPaginated", testCheckInListByUser},
		{"ListByRoom", testCheckInListByRoom},
		{"DeleteOwnOnly", testCheckInDelete},
		{"DeleteUser", testCheckInDeleteUser},
		{"RetentionExpiry", testCheckInRetention},
		{"DurableAcrossReopen", testCheckInDurable},
		{"ConcurrentPuts", testCheckInConcurrent},
		{"CanceledContext", testCheckInCanceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, open, reopen)
		})
	}
}

// mkCheckIn returns a check-in by user at at for rooms, as checkin.New
// would make it.
func mkCheckIn(user string, mood int, at time.Time, rooms ...string) checkin.CheckIn {
	return checkin.CheckIn{ID: checkin.NewID(), UserID: user, Mood: mood, Note: fmt.Sprintf("note %d", mood),
		Visibility: checkin.VisibilityFacilitators, Rooms: rooms, CreatedAt: at.UTC().Truncate(time.Millisecond)}
}

func mustPut(t *testing.T, s checkin.Store, cs ...checkin.CheckIn) {
	t.Helper()
	for _, c := range cs {
		if err := s.Put(ctxT(t), c); err != nil {
			t.Fatalf("Put %s: %v", c.ID, err)
		}
	}
}

func ids(cs []checkin.CheckIn) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// newestFirst returns the ids of cs sorted newest first in Cursor order.
func newestFirst(cs ...checkin.CheckIn) []string {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(a, b checkin.CheckIn) int {
		switch {
		case b.Cursor().Less(a.Cursor()):
			return -1
		case a.Cursor().Less(b.Cursor()):
			return 1
		}
		return 0
	})
	return ids(cs)
}

// allPages lists every check-in of list by following cursors, pages of n.
func allPages(t *testing.T, n int, list func(before checkin.Cursor, limit int) ([]checkin.CheckIn, error)) []string {
	t.Helper()
	var out []string
	var before checkin.Cursor
	for range 1000 {
		page, err := list(before, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > n {
			t.Fatalf("page of %d, limit %d", len(page), n)
		}
		out = append(out, ids(page)...)
		if len(page) < n {
			return out
		}
		before = page[len(page)-1].Cursor()
	}
	t.Fatal("pagination does not end")
	return nil
}

func byUser(s checkin.Store, ctx context.Context, user string) func(checkin.Cursor, int) ([]checkin.CheckIn, error) {
	return func(b checkin.Cursor, n int) ([]checkin.CheckIn, error) { return s.ListByUser(ctx, user, b, n) }
}

func byRoom(s checkin.Store, ctx context.Context, room string) func(checkin.Cursor, int) ([]checkin.CheckIn, error) {
	return func(b checkin.Cursor, n int) ([]checkin.CheckIn, error) { return s.ListByRoom(ctx, room, b, n) }
}

func testCheckInPutGet(t *testing.T, open, _ checkInOpen) {
	s, ctx := open(t, CheckInOptions{}), ctxT(t)
	c := mkCheckIn("u1", 2, time.Now(), "r1", "r2")
	c.Note, c.Visibility = "A hard week — sleeping badly. ✨", checkin.VisibilityGroup
	mustPut(t, s, c)
	got, err := s.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("Get = %+v, want %+v", got, c)
	}
	again := c
	again.Mood = 5
	if err := s.Put(ctx, again); !errors.Is(err, checkin.ErrExists) {
		t.Errorf("second Put err = %v, want ErrExists", err)
	}
	if got, _ := s.Get(ctx, c.ID); got.Mood != 2 {
		t.Errorf("a refused Put changed the stored check-in: mood %d", got.Mood)
	}
	for _, id := range []string{"cnosuchcheckin", ""} {
		if _, err := s.Get(ctx, id); !errors.Is(err, checkin.ErrNotFound) {
			t.Errorf("Get(%q) err = %v, want ErrNotFound", id, err)
		}
	}
}

func testCheckInBadPut(t *testing.T, open, _ checkInOpen) {
	s, ctx := open(t, CheckInOptions{}), ctxT(t)
	good := mkCheckIn("u1", 3, time.Now(), "r1")
	cases := map[string]func(c *checkin.CheckIn){
		"no id":       func(c *checkin.CheckIn) { c.ID = "" },
		"bad id":      func(c *checkin.CheckIn) { c.ID = "Not:an id" },
		"no user":     func(c *checkin.CheckIn) { c.UserID = "" },
		"no rooms":    func(c *checkin.CheckIn) { c.Rooms = nil },
		"empty room":  func(c *checkin.CheckIn) { c.Rooms = []string{"r1", ""} },
		"no time":     func(c *checkin.CheckIn) { c.CreatedAt = time.Time{} },
		"nothing set": func(c *checkin.CheckIn) { *c = checkin.CheckIn{} },
	}
	for name, mutate := range cases {
		c := good
		c.Rooms = slices.Clone(good.Rooms)
		mutate(&c)
		if err := s.Put(ctx, c); err == nil {
			t.Errorf("%s: Put succeeded", name)
		}
	}
	if got, err := s.ListByUser(ctx, "u1", checkin.Cursor{}, 10); err != nil || len(got) != 0 {
		t.Errorf("after refused Puts, u1 has %v, %v", ids(got), err)
	}
	if got, err := s.ListByRoom(ctx, "r1", checkin.Cursor{}, 10); err != nil || len(got) != 0 {
		t.Errorf("after refused Puts, r1 has %v, %v", ids(got), err)
	}
}

func testCheckInListByUser(t *testing.T, open, _ checkInOpen) {
	s, ctx := open(t, CheckInOptions{}), ctxT(t)
	base := time.Now().Add(-time.Hour)
	var mine []checkin.CheckIn
	for i := range 7 {
		mine = append(mine, mkCheckIn("u1", 1+i%5, base.Add(time.Duration(i)*time.Minute), "r1"))
	}
	// Two more at the same millisecond as the newest: the id orders them.
	mine = append(mine, mkCheckIn("u1", 3, base.Add(6*time.Minute), "r2"), mkCheckIn("u1", 4, base.Add(6*time.Minute), "r1", "r2"))
	theirs := []checkin.CheckIn{mkCheckIn("u2", 5, base, "r1"), mkCheckIn("u2", 5, base.Add(time.Second), "r1")}
	for _, i := range []int{3, 0, 8, 5, 1, 7, 2, 6, 4} { // stored out of order
		mustPut(t, s, mine[i])
	}
	mustPut(t, s, theirs...)

	want := newestFirst(mine...)
	for _, n := range []int{1, 2, 3, 9, 10, 100} {
		if got := allPages(t, n, byUser(s, ctx, "u1")); !slices.Equal(got, want) {
			t.Errorf("pages of %d: %v, want %v", n, got, want)
		}
	}
	page, err := s.ListByUser(ctx, "u1", checkin.Cursor{}, 3)
	if err != nil || !slices.Equal(ids(page), want[:3]) {
		t.Errorf("first page %v, %v; want %v", ids(page), err, want[:3])
	}
	if !reflect.DeepEqual(page[0], mine[slices.Index(ids(mine), want[0])]) {
		t.Errorf("listed check-in %+v differs from the stored one", page[0])
	}
	if got := allPages(t, 2, byUser(s, ctx, "u2")); !slices.Equal(got, newestFirst(theirs...)) {
		t.Errorf("u2: %v", got)
	}
	// A cursor between stored keys, and one older than everything.
	mid := checkin.Cursor{At: base.Add(3*time.Minute + 30*time.Second).UTC().Truncate(time.Millisecond), ID: "c"}
	if got, _ := s.ListByUser(ctx, "u1", mid, 100); !slices.Equal(ids(got), want[len(want)-4:]) {
		t.Errorf("before the middle: %v, want %v", ids(got), want[len(want)-4:])
	}
	if got, _ := s.ListByUser(ctx, "u1", checkin.Cursor{At: base.Add(-time.Hour), ID: "c"}, 100); len(got) != 0 {
		t.Errorf("before everything: %v", ids(got))
	}
	for _, c := range []struct {
		user  string
		limit int
	}{{"u1", 0}, {"u1", -1}, {"nobody", 10}, {"", 10}} {
		got, err := s.ListByUser(ctx, c.user, checkin.Cursor{}, c.limit)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("ListByUser(%q, %d) = %v, %v; want an empty, non-nil slice", c.user, c.limit, got, err)
		}
	}
}

func testCheckInListByRoom(t *testing.T, open, _ checkInOpen) {
	s, ctx := open(t, CheckInOptions{}), ctxT(t)
	now := time.Now()
	a := mkCheckIn("u1", 2, now.Add(-3*time.Minute), "r1")
	b := mkCheckIn("u2", 3, now.Add(-2*time.Minute), "r1", "r2")
	c := mkCheckIn("u1", 4, now.Add(-1*time.Minute), "r2")
	d := mkCheckIn("u3", 5, now, "r3")
	d.Visibility = checkin.VisibilityGroup
	mustPut(t, s, a, b, c, d)
	for room, want := range map[string][]string{
		"r1": newestFirst(a, b), "r2": newestFirst(b, c), "r3": {d.ID}, "r4": nil,
	} {
		if got := allPages(t, 1, byRoom(s, ctx, room)); !slices.Equal(got, want) {
			t.Errorf("room %s: %v, want %v", room, got, want)
		}
	}
}

func testCheckInDelete(t *testing.T, open, _ checkInOpen) {
	s, ctx := open(t, CheckInOptions{}), ctxT(t)
	now := time.Now()
	mine := mkCheckIn("u1", 2, now.Add(-time.Minute), "r1", "r2")
	other := mkCheckIn("u1", 3, now, "r1")
	theirs := mkCheckIn("u2", 4, now, "r1")
	mustPut(t, s, mine, other, theirs)

	if err := s.Delete(ctx, "u2", mine.ID); !errors.Is(err, checkin.ErrNotFound) {
		t.Errorf("Delete of someone else's: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, mine.ID); err != nil {
		t.Errorf("someone else's Delete removed it: %v", err)
	}
	if err := s.Delete(ctx, "u1", mine.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, mine.ID); !errors.Is(err, checkin.ErrNotFound) {
		t.Errorf("Get after Delete: err = %v", err)
	}
	if err := s.Delete(ctx, "u1", mine.ID); !errors.Is(err, checkin.ErrNotFound) {
		t.Errorf("second Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "u1", "cnosuch"); !errors.Is(err, checkin.ErrNotFound) {
		t.Errorf("Delete of an unknown id: err = %v, want ErrNotFound", err)
	}
	for name, list := range map[string]func(checkin.Cursor, int) ([]checkin.CheckIn, error){
		"u1": byUser(s, ctx, "u1"), "r1": byRoom(s, ctx, "r1"), "r2": byRoom(s, ctx, "r2"),
	} {
		if got := allPages(t, 10, list); slices.Contains(got, mine.ID) {
			t.Errorf("%s still lists the deleted check-in: %v", name, got)
		}
	}
	if got := allPages(t, 10, byRoom(s, ctx, "r1")); !slices.Equal(got, newestFirst(other, theirs)) {
		t.Errorf("r1 after Delete: %v", got)
	}
}

func testCheckInDeleteUser(t *testing.T, open, _ checkInOpen) {
	s, ctx := open(t, CheckInOptions{}), ctxT(t)
	now := time.Now()
	var mine []checkin.CheckIn
	for i := range 12 {
		mine = append(mine, mkCheckIn("u1", 1+i%5, now.Add(-time.Duration(i)*time.Minute), "r1", "r2"))
	}
	theirs := mkCheckIn("u2", 4, now, "r1")
	mustPut(t, s, mine...)
	mustPut(t, s, theirs)
	n, err := s.DeleteUser(ctx, "u1")
	if err != nil || n != len(mine) {
		t.Fatalf("DeleteUser = %d, %v; want %d", n, err, len(mine))
	}
	for _, c := range mine {
		if _, err := s.Get(ctx, c.ID); !errors.Is(err, checkin.ErrNotFound) {
			t.Errorf("Get %s after DeleteUser: %v", c.ID, err)
		}
	}
	if got := allPages(t, 5, byUser(s, ctx, "u1")); len(got) != 0 {
		t.Errorf("u1 still has %v", got)
	}
	if got := allPages(t, 5, byRoom(s, ctx, "r1")); !slices.Equal(got, []string{theirs.ID}) {
		t.Errorf("r1 = %v, want only u2's", got)
	}
	if got := allPages(t, 5, byRoom(s, ctx, "r2")); len(got) != 0 {
		t.Errorf("r2 = %v, want nothing", got)
	}
	if n, err := s.DeleteUser(ctx, "u1"); err != nil || n != 0 {
		t.Errorf("second DeleteUser = %d, %v", n, err)
	}
	if n, err := s.DeleteUser(ctx, "nobody"); err != nil || n != 0 {
		t.Errorf("DeleteUser of nobody = %d, %v", n, err)
	}
}

// Retention: a check-in is gone once CreatedAt + retention has passed —
// from Get and from every list — while a newer one stays. The retention is
// an hour, and the expiring check-ins are posted as if an hour ago, less
// a moment.
func testCheckInRetention(t *testing.T, open, _ checkInOpen) {
	const retention = time.Hour
	s, ctx := open(t, CheckInOptions{Retention: retention, SweepEvery: 50 * time.Millisecond}), ctxT(t)
	now := time.Now()
	soon := mkCheckIn("u1", 1, now.Add(-retention+700*time.Millisecond), "r1")
	soon2 := mkCheckIn("u2", 2, now.Add(-retention+800*time.Millisecond), "r1", "r2")
	fresh := mkCheckIn("u1", 5, now, "r1")
	past := mkCheckIn("u1", 3, now.Add(-retention-time.Second), "r1")
	mustPut(t, s, soon, soon2, fresh, past)

	if _, err := s.Get(ctx, past.ID); !errors.Is(err, checkin.ErrNotFound) {
		t.Errorf("a check-in already past its retention was stored (err %v)", err)
	}
	if got := allPages(t, 10, byUser(s, ctx, "u1")); !slices.Equal(got, newestFirst(fresh, soon)) {
		t.Fatalf("before expiry u1 = %v", got)
	}
	time.Sleep(time.Until(now.Add(900 * time.Millisecond)))
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err1 := s.Get(ctx, soon.ID)
		_, err2 := s.Get(ctx, soon2.ID)
		if errors.Is(err1, checkin.ErrNotFound) && errors.Is(err2, checkin.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired check-ins still there: %v, %v", err1, err2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for name, c := range map[string]struct {
		list func(checkin.Cursor, int) ([]checkin.CheckIn, error)
		want []string
	}{
		"u1": {byUser(s, ctx, "u1"), []string{fresh.ID}},
		"u2": {byUser(s, ctx, "u2"), nil},
		"r1": {byRoom(s, ctx, "r1"), []string{fresh.ID}},
		"r2": {byRoom(s, ctx, "r2"), nil},
	} {
		if got := allPages(t, 1, c.list); !slices.Equal(got, c.want) {
			t.Errorf("after expiry %s = %v, want %v", name, got, c.want)
		}
	}
	if err := s.Delete(ctx, "u1", soon.ID); !errors.Is(err, checkin.ErrNotFound) {
		t.Errorf("Delete of an expired check-in: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, fresh.ID); err != nil {
		t.Errorf("the fresh check-in: %v", err)
	}
}

// Durable: every check-in, index and deletion survives a restart.
func testCheckInDurable(t *testing.T, open, reopen checkInOpen) {
	s := open(t, CheckInOptions{})
	now := time.Now()
	var all []checkin.CheckIn
	for i := range 6 {
		all = append(all, mkCheckIn(fmt.Sprintf("u%d", i%2), 1+i%5, now.Add(-time.Duration(i)*time.Minute), "r1", fmt.Sprintf("r%d", 2+i%2)))
	}
	mustPut(t, s, all...)
	if err := s.Delete(ctxT(t), all[0].UserID, all[0].ID); err != nil {
		t.Fatal(err)
	}
	kept := all[1:]

	for round := range 2 {
		s = reopen(t, CheckInOptions{})
		ctx := ctxT(t)
		for _, c := range kept {
			got, err := s.Get(ctx, c.ID)
			if err != nil || !reflect.DeepEqual(got, c) {
				t.Errorf("round %d: Get %s = %+v, %v; want %+v", round, c.ID, got, err, c)
			}
		}
		if _, err := s.Get(ctx, all[0].ID); !errors.Is(err, checkin.ErrNotFound) {
			t.Errorf("round %d: the deleted check-in came back: %v", round, err)
		}
		want := func(keep func(checkin.CheckIn) bool) []string {
			var cs []checkin.CheckIn
			for _, c := range kept {
				if keep(c) {
					cs = append(cs, c)
				}
			}
			return newestFirst(cs...)
		}
		if got := allPages(t, 2, byUser(s, ctx, "u1")); !slices.Equal(got, want(func(c checkin.CheckIn) bool { return c.UserID == "u1" })) {
			t.Errorf("round %d: u1 = %v", round, got)
		}
		if got := allPages(t, 2, byRoom(s, ctx, "r3")); !slices.Equal(got, want(func(c checkin.CheckIn) bool { return c.In("r3") })) {
			t.Errorf("round %d: r3 = %v", round, got)
		}
		if got := allPages(t, 2, byRoom(s, ctx, "r1")); !slices.Equal(got, want(func(checkin.CheckIn) bool { return true })) {
			t.Errorf("round %d: r1 = %v", round, got)
		}
	}
	// A retention set at the next start applies to what is stored.
	s = reopen(t, CheckInOptions{Retention: 2*time.Minute + 30*time.Second})
	if got := allPages(t, 10, byRoom(s, ctxT(t), "r1")); len(got) != 2 {
		t.Errorf("with a retention of 2.5 minutes, r1 lists %d check-ins, want the 2 of the last 2.5 minutes", len(got))
	}
}

func testCheckInConcurrent(t *testing.T, open, _ checkInOpen) {
	s := open(t, CheckInOptions{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []checkin.CheckIn
	errs := make(chan error, 80)
	for g := range 16 {
		wg.Go(func() {
			for range 5 {
				c := mkCheckIn("u1", 1+g%5, time.Now(), "r1", fmt.Sprintf("g%d", g))
				if err := s.Put(context.Background(), c); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				all = append(all, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if got := allPages(t, 7, byUser(s, ctx, "u1")); !slices.Equal(got, newestFirst(all...)) {
		t.Errorf("u1 lists %d check-ins, want %d in order", len(got), len(all))
	}
	if got := allPages(t, 7, byRoom(s, ctx, "r1")); len(got) != 80 {
		t.Errorf("r1 lists %d check-ins, want 80", len(got))
	}
}

func testCheckInCanceled(t *testing.T, open, _ checkInOpen) {
	s := open(t, CheckInOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := mkCheckIn("u1", 3, time.Now(), "r1")
	if err := s.Put(ctx, c); err == nil {
		t.Error("Put with a canceled context succeeded")
	}
	if _, err := s.Get(ctx, c.ID); err == nil || errors.Is(err, checkin.ErrNotFound) {
		t.Errorf("Get with a canceled context: err = %v, want the context's", err)
	}
	if _, err := s.ListByUser(ctx, "u1", checkin.Cursor{}, 10); err == nil {
		t.Error("ListByUser with a canceled context succeeded")
	}
	if _, err := s.Get(ctxT(t), c.ID); !errors.Is(err, checkin.ErrNotFound) {
		t.Errorf("a Put with a canceled context stored something: %v", err)
	}
}
