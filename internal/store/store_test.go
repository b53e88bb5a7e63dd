package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"hearth/internal/redistest"
	"hearth/internal/room"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestBoltConformance runs the suite against Bolt; reopen closes the file and
// opens it again.
func TestBoltConformance(t *testing.T) {
	var (
		mu    sync.Mutex
		paths = map[*testing.T]string{}
		open  = map[*testing.T]*Bolt{}
	)
	openAt := func(t *testing.T, path string) room.Store {
		t.Helper()
		s, err := OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		mu.Lock()
		paths[t], open[t] = path, s
		mu.Unlock()
		return s
	}
	runConformance(t,
		func(t *testing.T) room.Store {
			return openAt(t, filepath.Join(t.TempDir(), "data", "hearth.db"))
		},
		func(t *testing.T) room.Store {
			mu.Lock()
			path, old := paths[t], open[t]
			mu.Unlock()
			if err := old.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			return openAt(t, path)
		})
}

// redisNode is a Redis store under test; otherNode connects a second client
// (another Hearth node) to the same server.
type redisNode struct {
	*Redis
	h *redisHarness
}

func (n redisNode) otherNode(t *testing.T) room.Store { return n.h.connect(t) }

// redisHarness is one test's private redis-server and the clients on it.
type redisHarness struct {
	srv     *redistest.Server
	mu      sync.Mutex
	clients []*Redis
}

func (h *redisHarness) connect(t *testing.T) room.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := NewRedis(ctx, h.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	h.mu.Lock()
	h.clients = append(h.clients, s)
	h.mu.Unlock()
	return redisNode{Redis: s, h: h}
}

// TestRedisConformance runs the suite against Redis, each test on its own
// redis-server with an fsync'ed append-only file; reopen closes the clients,
// kills and restarts the server, and connects a new client.
func TestRedisConformance(t *testing.T) {
	var (
		mu        sync.Mutex
		harnesses = map[*testing.T]*redisHarness{}
	)
	runConformance(t,
		func(t *testing.T) room.Store {
			// appendfsync always: Restart kills the server with SIGKILL, and
			// with everysec Redis may acknowledge a write it has not yet
			// handed to the kernel.
			h := &redisHarness{srv: redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")}
			mu.Lock()
			harnesses[t] = h
			mu.Unlock()
			return h.connect(t)
		},
		func(t *testing.T) room.Store {
			mu.Lock()
			h := harnesses[t]
			mu.Unlock()
			h.mu.Lock()
			for _, c := range h.clients {
				_ = c.Close()
			}
			h.clients = nil
			h.mu.Unlock()
			h.srv.Restart() // returns once the server answers PING, i.e. has loaded the AOF
			return h.connect(t)
		})
}

// multiNode is implemented by stores that can run on several nodes at once:
// otherNode returns another node's store on the same data.
type multiNode interface {
	otherNode(t *testing.T) room.Store
}

type storeFunc = func(t *testing.T) room.Store

// runConformance runs the behaviour every room.Store must have. open returns
// a store on fresh, empty data; reopen closes the store open returned for
// the same t and returns a new one on the same data, as after a restart.
func runConformance(t *testing.T, open, reopen storeFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, open, reopen storeFunc)
	}{
		{"CreateGetExistsNotFound", testCreateGet},
		{"VersionStartsAt1AndBumpsPerUpdate", testVersions},
		{"UpdateErrorStoresNothing", testUpdateError},
		{"UpdateGetsADeepCopy", testUpdateDeepCopy},
		{"ConcurrentUpdatesLoseNothing", testConcurrentUpdates},
		{"RoomsOfFollowsRosterAndFacilitators", testRoomsOf},
		{"InvitesAreSingleUse", testInvites},
		{"InviteTakenOnceUnderRace", testInviteRace},
		{"DeleteInvitesByMatch", testDeleteInvites},
		{"AuditPagesNewestFirst", testAudit},
		{"AuditPageIsCapped", testAuditCap},
		{"Durable", testDurable},
		{"CanceledContext", testCanceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, open, reopen)
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var t0 = time.Date(2026, 3, 4, 19, 0, 0, 0, time.UTC)

func sampleRoom(id string) room.Room {
	return room.Room{
		ID:           id,
		Name:         "Tuesday evening group",
		Kind:         room.KindCBT,
		Capacity:     12,
		WaitingRoom:  true,
		Schedule:     &room.Schedule{Weekday: time.Tuesday, StartLocal: "19:00", DurationMin: 90, TimeZone: "America/Chicago"},
		CreatedAt:    t0,
		Facilitators: []string{"fac-1"},
		Roster:       []string{"mem-1", "mem-2"},
		Muted:        map[string]room.Mute{"mem-2": {Until: t0.Add(time.Minute), Reason: "cool down"}},
		Names:        map[string]string{"fac-1": "Dr. Lee", "mem-1": "Zoë 🌻"},
		Guidelines:   "Be kind.\n\n- What is said here stays here.",
		Agreements:   map[string]room.Agreement{"mem-1": {Version: "0123456789abcdef", At: t0.Add(time.Second)}},
		Phase:        room.PhaseOpen,
		Session: &room.Session{
			StartedAt:  t0,
			PlannedEnd: t0.Add(90 * time.Minute),
			Waiting:    []room.Waiting{{MemberID: "mem-1", DisplayName: "Sam", Since: t0}},
		},
	}
}

// sameRoom fails unless got and want encode to the same JSON.
func sameRoom(t *testing.T, got, want room.Room) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("room mismatch\n got: %s\nwant: %s", g, w)
	}
}

func mustCreate(t *testing.T, s room.Store, r room.Room) {
	t.Helper()
	if err := s.CreateRoom(ctxT(t), r); err != nil {
		t.Fatalf("CreateRoom(%s): %v", r.ID, err)
	}
}

func mustGet(t *testing.T, s room.Store, id string) room.Room {
	t.Helper()
	r, err := s.Room(ctxT(t), id)
	if err != nil {
		t.Fatalf("Room(%s): %v", id, err)
	}
	return r
}

func mustUpdate(t *testing.T, s room.Store, id string, fn func(*room.Room) error) room.Room {
	t.Helper()
	r, err := s.UpdateRoom(ctxT(t), id, fn)
	if err != nil {
		t.Fatalf("UpdateRoom(%s): %v", id, err)
	}
	return r
}

func testCreateGet(t *testing.T, open, _ storeFunc) {
	s := open(t)
	ctx := ctxT(t)
	r := sampleRoom("r1")
	r.Version = 7 // ignored
	mustCreate(t, s, r)

	want := r
	want.Version = 1
	sameRoom(t, mustGet(t, s, "r1"), want)

	other := sampleRoom("r1")
	other.Name = "impostor"
	if err := s.CreateRoom(ctx, other); !errors.Is(err, room.ErrExists) {
		t.Fatalf("second CreateRoom: err = %v, want ErrExists", err)
	}
	sameRoom(t, mustGet(t, s, "r1"), want) // the first one is untouched

	notFound := []struct {
		name string
		call func() error
	}{
		{"Room", func() error { _, err := s.Room(ctx, "nope"); return err }},
		{"UpdateRoom", func() error {
			_, err := s.UpdateRoom(ctx, "nope", func(*room.Room) error { t.Error("fn called for a missing room"); return nil })
			return err
		}},
		{"AppendAudit", func() error { return s.AppendAudit(ctx, "nope", room.AuditEntry{Actor: "fac-1", Action: "mute"}) }},
	}
	for _, tc := range notFound {
		if err := tc.call(); !errors.Is(err, room.ErrNotFound) {
			t.Errorf("%s of a missing room: err = %v, want ErrNotFound", tc.name, err)
		}
	}
	if err := s.CreateRoom(ctx, room.Room{}); err == nil {
		t.Error("CreateRoom with an empty id succeeded")
	}
}

func testVersions(t *testing.T, open, _ storeFunc) {
	s := open(t)
	mustCreate(t, s, sampleRoom("r1"))
	if v := mustGet(t, s, "r1").Version; v != 1 {
		t.Fatalf("version after create = %d, want 1", v)
	}
	for want := uint64(2); want <= 4; want++ {
		name := fmt.Sprintf("name %d", want)
		got := mustUpdate(t, s, "r1", func(r *room.Room) error {
			r.Name = name
			r.Version = 1000 // the store decides the version
			return nil
		})
		if got.Version != want || got.Name != name {
			t.Fatalf("UpdateRoom returned version %d name %q, want %d %q", got.Version, got.Name, want, name)
		}
		sameRoom(t, mustGet(t, s, "r1"), got)
	}
}

func testUpdateError(t *testing.T, open, _ storeFunc) {
	s := open(t)
	ctx := ctxT(t)
	orig := sampleRoom("r1")
	mustCreate(t, s, orig)
	before := mustUpdate(t, s, "r1", func(r *room.Room) error { r.Name = "v2"; return nil })

	errVeto := errors.New("facilitator only")
	tests := []struct {
		name    string
		fn      func(*room.Room) error
		wantErr error
	}{
		{"fn error", func(r *room.Room) error {
			r.Name = "half done"
			r.Roster = append(r.Roster, "intruder")
			r.Facilitators = nil
			return fmt.Errorf("deny: %w", errVeto)
		}, errVeto},
		{"id changed", func(r *room.Room) error {
			r.ID = "r2"
			r.Roster = append(r.Roster, "intruder")
			return nil
		}, ErrIDChanged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateRoom(ctx, "r1", tc.fn)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			sameRoom(t, mustGet(t, s, "r1"), before)
			for _, u := range []string{"intruder", "fac-1", "mem-1"} {
				ids, err := s.RoomsOf(ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				want := []string{"r1"}
				if u == "intruder" {
					want = []string{}
				}
				if !slices.Equal(ids, want) {
					t.Errorf("RoomsOf(%s) = %v, want %v", u, ids, want)
				}
			}
			if _, err := s.Room(ctx, "r2"); !errors.Is(err, room.ErrNotFound) {
				t.Errorf("Room(r2): err = %v, want ErrNotFound", err)
			}
		})
	}
}

// fn works on a copy: what an aborted fn did to slices, maps and pointed-to
// structs is not seen by the next fn, nor by readers.
func testUpdateDeepCopy(t *testing.T, open, _ storeFunc) {
	s := open(t)
	orig := sampleRoom("r1")
	mustCreate(t, s, orig)
	_, err := s.UpdateRoom(ctxT(t), "r1", func(r *room.Room) error {
		r.Roster[0] = "changed"
		r.Muted["mem-1"] = room.Mute{Reason: "x"}
		r.Names["mem-1"] = "changed"
		delete(r.Names, "fac-1")
		r.Agreements["mem-2"] = room.Agreement{Version: "x"}
		r.Session.Waiting[0].DisplayName = "changed"
		r.Schedule.StartLocal = "06:00"
		return errors.New("abort")
	})
	if err == nil {
		t.Fatal("UpdateRoom: fn error not returned")
	}
	got := mustUpdate(t, s, "r1", func(r *room.Room) error {
		if r.Roster[0] != "mem-1" || len(r.Muted) != 1 || r.Session.Waiting[0].DisplayName != "Sam" || r.Schedule.StartLocal != "19:00" ||
			len(r.Names) != 2 || r.Names["mem-1"] != "Zoë 🌻" || len(r.Agreements) != 1 {
			t.Errorf("fn saw an earlier fn's changes: %+v", r)
		}
		return nil
	})
	want := orig
	want.Version = 2
	sameRoom(t, got, want)
	// The returned room is the caller's own too.
	got.Roster[0] = "mine"
	got.Muted["x"] = room.Mute{}
	got.Names["x"] = "mine"
	got.Agreements["x"] = room.Agreement{}
	sameRoom(t, mustGet(t, s, "r1"), want)
}

func testConcurrentUpdates(t *testing.T, open, _ storeFunc) {
	s := open(t)
	nodes := []room.Store{s}
	if m, ok := s.(multiNode); ok {
		nodes = append(nodes, m.otherNode(t))
	}
	r := sampleRoom("r1")
	r.Roster = nil
	mustCreate(t, s, r)

	const n = 50
	ctx := ctxT(t)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		user := fmt.Sprintf("user-%02d", i)
		node := nodes[i%len(nodes)]
		wg.Go(func() {
			_, err := node.UpdateRoom(ctx, "r1", func(r *room.Room) error {
				r.Roster = append(r.Roster, user)
				return nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("UpdateRoom: %v", err)
		}
	}
	got := mustGet(t, nodes[len(nodes)-1], "r1")
	if got.Version != n+1 {
		t.Errorf("version = %d, want %d", got.Version, n+1)
	}
	roster := slices.Sorted(slices.Values(got.Roster))
	if len(roster) != n || len(slices.Compact(roster)) != n {
		t.Fatalf("roster has %d entries, want %d distinct: %v", len(got.Roster), n, got.Roster)
	}
	for i := range n {
		ids, err := s.RoomsOf(ctx, fmt.Sprintf("user-%02d", i))
		if err != nil || !slices.Equal(ids, []string{"r1"}) {
			t.Fatalf("RoomsOf(user-%02d) = %v, %v; want [r1]", i, ids, err)
		}
	}
}

func testRoomsOf(t *testing.T, open, _ storeFunc) {
	s := open(t)
	ctx := ctxT(t)
	// Created out of order, to see RoomsOf sort.
	b := sampleRoom("room-b")
	b.Facilitators, b.Roster = []string{"f1"}, []string{"m2"}
	a := sampleRoom("room-a")
	a.Facilitators, a.Roster = []string{"f1"}, []string{"m1", "both"}
	mustCreate(t, s, b)
	mustCreate(t, s, a)

	steps := []struct {
		name   string
		update func(*room.Room) error // applied to room-a
		want   map[string][]string    // user → RoomsOf
	}{
		{"after create", nil, map[string][]string{
			"f1": {"room-a", "room-b"}, "m1": {"room-a"}, "m2": {"room-b"}, "both": {"room-a"}, "nobody": {},
		}},
		{"roster member removed, another added", func(r *room.Room) error {
			r.Roster = []string{"m2", "both"}
			return nil
		}, map[string][]string{
			"m1": {}, "m2": {"room-a", "room-b"}, "both": {"room-a"},
		}},
		{"facilitator handed over", func(r *room.Room) error {
			r.Facilitators = []string{"f2"}
			return nil
		}, map[string][]string{
			"f1": {"room-b"}, "f2": {"room-a"},
		}},
		{"member promoted to facilitator, then off the roster", func(r *room.Room) error {
			r.Facilitators = append(r.Facilitators, "both")
			r.Roster = []string{"m2"}
			return nil
		}, map[string][]string{
			"both": {"room-a"}, "m2": {"room-a", "room-b"},
		}},
		{"facilitator removed", func(r *room.Room) error {
			r.Facilitators = []string{"f2"}
			return nil
		}, map[string][]string{
			"both": {}, "f2": {"room-a"}, "f1": {"room-b"},
		}},
	}
	for _, st := range steps {
		if st.update != nil {
			mustUpdate(t, s, "room-a", st.update)
		}
		for user, want := range st.want {
			got, err := s.RoomsOf(ctx, user)
			if err != nil {
				t.Fatalf("%s: RoomsOf(%s): %v", st.name, user, err)
			}
			if got == nil || !slices.Equal(got, want) {
				t.Errorf("%s: RoomsOf(%s) = %#v, want %v", st.name, user, got, want)
			}
		}
	}
}

func testInvites(t *testing.T, open, _ storeFunc) {
	s := open(t)
	ctx := ctxT(t)
	now := time.Now()
	inv := room.Invite{Code: "c0de-1", RoomID: "r1", CreatedBy: "fac-1", ExpiresAt: now.Add(time.Hour).Truncate(time.Millisecond).UTC()}
	short := room.Invite{Code: "c0de-2", RoomID: "r1", CreatedBy: "fac-1", ExpiresAt: now.Add(time.Hour).UTC()}
	brief := room.Invite{Code: "c0de-3", RoomID: "r1", CreatedBy: "fac-1", ExpiresAt: now.Add(300 * time.Millisecond).UTC()}
	for _, i := range []room.Invite{inv, short, brief} {
		if err := s.PutInvite(ctx, i); err != nil {
			t.Fatalf("PutInvite: %v", err)
		}
	}
	if err := s.PutInvite(ctx, room.Invite{Code: inv.Code, RoomID: "r2", ExpiresAt: inv.ExpiresAt}); !errors.Is(err, room.ErrExists) {
		t.Fatalf("PutInvite of a used code: err = %v, want ErrExists", err)
	}
	if err := s.PutInvite(ctx, room.Invite{Code: "c0de-4", RoomID: "r1"}); err == nil {
		t.Error("PutInvite without an expiry succeeded")
	}

	steps := []struct {
		name    string
		code    string
		now     time.Time
		want    *room.Invite
		wantErr error
	}{
		{"first take", inv.Code, now, &inv, nil},
		{"second take", inv.Code, now, nil, room.ErrNotFound},
		{"unknown code", "never-issued", now, nil, room.ErrNotFound},
		{"taken at its expiry", short.Code, short.ExpiresAt, nil, room.ErrNotFound},
		{"expired one is gone even for an earlier clock", short.Code, now, nil, room.ErrNotFound},
	}
	for _, st := range steps {
		got, err := s.TakeInvite(ctx, st.code, st.now)
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if st.want != nil && got != *st.want {
			t.Fatalf("%s: got %+v, want %+v", st.name, got, *st.want)
		}
	}

	// Once past its expiry by the store's own clock, a code can be issued
	// again.
	time.Sleep(time.Until(brief.ExpiresAt) + 100*time.Millisecond)
	again := room.Invite{Code: brief.Code, RoomID: "r9", CreatedBy: "fac-2", ExpiresAt: time.Now().Add(time.Hour).UTC()}
	if err := s.PutInvite(ctx, again); err != nil {
		t.Fatalf("PutInvite of an expired code: %v", err)
	}
	got, err := s.TakeInvite(ctx, brief.Code, time.Now())
	if err != nil || got.RoomID != "r9" {
		t.Fatalf("TakeInvite of the reissued code = %+v, %v; want room r9", got, err)
	}
}

// DeleteInvites deletes exactly the invites match picks, whoever stored
// them (another node included), and only those; it survives a restart.
func testDeleteInvites(t *testing.T, open, reopen storeFunc) {
	s := open(t)
	ctx := ctxT(t)
	other := s
	if m, ok := s.(multiNode); ok {
		other = m.otherNode(t)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	invs := []room.Invite{
		{Code: "d-1", RoomID: "r1", CreatedBy: "fac-1", ExpiresAt: exp},
		{Code: "d-2", RoomID: "r2", CreatedBy: "fac-1", ExpiresAt: exp},
		{Code: "d-3", RoomID: "r1", CreatedBy: "fac-2", ExpiresAt: exp},
		{Code: "d-4", RoomID: "r1", CreatedBy: "m-fac-1", ExpiresAt: exp},
	}
	for i, inv := range invs {
		if err := []room.Store{s, other}[i%2].PutInvite(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeleteInvites(ctx, func(room.Invite) bool { return false }); n != 0 || err != nil {
		t.Fatalf("DeleteInvites(none) = %d, %v", n, err)
	}
	var seen []string
	n, err := s.DeleteInvites(ctx, func(inv room.Invite) bool {
		seen = append(seen, inv.Code)
		return inv.CreatedBy == "fac-1" || inv.CreatedBy == "m-fac-1"
	})
	if n != 3 || err != nil {
		t.Fatalf("DeleteInvites(fac-1) = %d, %v; want 3", n, err)
	}
	slices.Sort(seen)
	if !slices.Equal(slices.Compact(seen), []string{"d-1", "d-2", "d-3", "d-4"}) {
		t.Errorf("match saw %v, want every invite", seen)
	}
	s = reopen(t)
	for _, inv := range invs {
		got, err := s.TakeInvite(ctx, inv.Code, time.Now())
		if inv.Code == "d-3" {
			if err != nil || got != inv {
				t.Errorf("the other facilitator's invite: %+v, %v", got, err)
			}
		} else if !errors.Is(err, room.ErrNotFound) {
			t.Errorf("invite %s after DeleteInvites: %+v, %v; want ErrNotFound", inv.Code, got, err)
		}
	}
	if n, err := s.DeleteInvites(ctx, func(room.Invite) bool { return true }); n != 0 || err != nil {
		t.Errorf("DeleteInvites on no invites = %d, %v", n, err)
	}
	// A code deleted is free to be issued again.
	if err := s.PutInvite(ctx, invs[0]); err != nil {
		t.Errorf("PutInvite of a deleted code: %v", err)
	}
}

func testInviteRace(t *testing.T, open, _ storeFunc) {
	s := open(t)
	nodes := []room.Store{s}
	if m, ok := s.(multiNode); ok {
		nodes = append(nodes, m.otherNode(t))
	}
	ctx := ctxT(t)
	if err := s.PutInvite(ctx, room.Invite{Code: "once", RoomID: "r1", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		won, lost int
	)
	for i := range n {
		node := nodes[i%len(nodes)]
		wg.Go(func() {
			_, err := node.TakeInvite(ctx, "once", time.Now())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, room.ErrNotFound):
				lost++
			default:
				t.Errorf("TakeInvite: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != n-1 {
		t.Fatalf("%d takes succeeded and %d found nothing, want 1 and %d", won, lost, n-1)
	}
}

func appendN(t *testing.T, s room.Store, roomID string, n int) {
	t.Helper()
	for i := range n {
		e := room.AuditEntry{Seq: 999, Actor: "fac-1", Action: fmt.Sprintf("action-%d", i+1), Target: "mem-1", At: t0.Add(time.Duration(i) * time.Second)}
		if err := s.AppendAudit(ctxT(t), roomID, e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
}

func seqs(es []room.AuditEntry) []uint64 {
	out := []uint64{}
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func testAudit(t *testing.T, open, _ storeFunc) {
	s := open(t)
	ctx := ctxT(t)
	mustCreate(t, s, sampleRoom("r1"))
	mustCreate(t, s, sampleRoom("r2"))
	appendN(t, s, "r1", 5)
	appendN(t, s, "r2", 1)

	tests := []struct {
		room   string
		before uint64
		limit  int
		want   []uint64
	}{
		{"r1", 0, 2, []uint64{5, 4}},
		{"r1", 4, 10, []uint64{3, 2, 1}},
		{"r1", 0, 10, []uint64{5, 4, 3, 2, 1}},
		{"r1", 6, 1, []uint64{5}},
		{"r1", 100, 2, []uint64{5, 4}},
		{"r1", 1, 10, []uint64{}},
		{"r1", 0, 0, []uint64{}},
		{"r1", 0, -1, []uint64{}},
		{"r2", 0, 10, []uint64{1}},
		{"no-such-room", 0, 10, []uint64{}},
	}
	for _, tc := range tests {
		got, err := s.Audit(ctx, tc.room, tc.before, tc.limit)
		if err != nil {
			t.Fatalf("Audit(%s, %d, %d): %v", tc.room, tc.before, tc.limit, err)
		}
		if got == nil || !slices.Equal(seqs(got), tc.want) {
			t.Errorf("Audit(%s, %d, %d) seqs = %v, want %v", tc.room, tc.before, tc.limit, seqs(got), tc.want)
		}
	}
	got, err := s.Audit(ctx, "r1", 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := room.AuditEntry{Seq: 3, Actor: "fac-1", Action: "action-3", Target: "mem-1", At: t0.Add(2 * time.Second)}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("Audit(r1, 4, 1) = %+v, want [%+v]", got, want)
	}
}

func testAuditCap(t *testing.T, open, _ storeFunc) {
	s := open(t)
	mustCreate(t, s, sampleRoom("r1"))
	appendN(t, s, "r1", MaxAuditPage+5)
	got, err := s.Audit(ctxT(t), "r1", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxAuditPage || got[0].Seq != MaxAuditPage+5 || got[len(got)-1].Seq != 6 {
		t.Fatalf("Audit(0, 1000) gave %d entries, seq %v … %v; want %d, %d … 6",
			len(got), got[0].Seq, got[len(got)-1].Seq, MaxAuditPage, MaxAuditPage+5)
	}
}

func testDurable(t *testing.T, open, reopen storeFunc) {
	s := open(t)
	ctx := ctxT(t)
	mustCreate(t, s, sampleRoom("r1"))
	want := mustUpdate(t, s, "r1", func(r *room.Room) error {
		r.Roster = append(r.Roster, "mem-3")
		r.Facilitators = append(r.Facilitators, "fac-2")
		return nil
	})
	appendN(t, s, "r1", 3)
	inv := room.Invite{Code: "keep", RoomID: "r1", CreatedBy: "fac-1", ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()}
	if err := s.PutInvite(ctx, inv); err != nil {
		t.Fatal(err)
	}

	s = reopen(t)
	sameRoom(t, mustGet(t, s, "r1"), want)
	for _, u := range []string{"mem-3", "fac-2", "mem-1"} {
		if ids, err := s.RoomsOf(ctx, u); err != nil || !slices.Equal(ids, []string{"r1"}) {
			t.Errorf("RoomsOf(%s) after reopen = %v, %v; want [r1]", u, ids, err)
		}
	}
	if got, err := s.Audit(ctx, "r1", 0, 10); err != nil || !slices.Equal(seqs(got), []uint64{3, 2, 1}) {
		t.Errorf("Audit after reopen = %v, %v; want seqs 3 2 1", seqs(got), err)
	}
	// Counters carry on where they were.
	appendN(t, s, "r1", 1)
	if got, err := s.Audit(ctx, "r1", 0, 1); err != nil || !slices.Equal(seqs(got), []uint64{4}) {
		t.Errorf("seq after reopen = %v, %v; want 4", seqs(got), err)
	}
	if got := mustUpdate(t, s, "r1", func(*room.Room) error { return nil }); got.Version != 3 {
		t.Errorf("version after reopen = %d, want 3", got.Version)
	}
	if err := s.CreateRoom(ctx, sampleRoom("r1")); !errors.Is(err, room.ErrExists) {
		t.Errorf("CreateRoom after reopen: err = %v, want ErrExists", err)
	}
	if got, err := s.TakeInvite(ctx, "keep", time.Now()); err != nil || got != inv {
		t.Errorf("TakeInvite after reopen = %+v, %v; want %+v", got, err, inv)
	}
}

func testCanceled(t *testing.T, open, _ storeFunc) {
	s := open(t)
	mustCreate(t, s, sampleRoom("r1"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"Room", func() error { _, err := s.Room(ctx, "r1"); return err }},
		{"UpdateRoom", func() error { _, err := s.UpdateRoom(ctx, "r1", func(*room.Room) error { return nil }); return err }},
		{"CreateRoom", func() error { return s.CreateRoom(ctx, sampleRoom("r2")) }},
		{"AppendAudit", func() error { return s.AppendAudit(ctx, "r1", room.AuditEntry{Action: "mute"}) }},
		{"DeleteInvites", func() error { _, err := s.DeleteInvites(ctx, func(room.Invite) bool { return true }); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: err = %v, want context.Canceled", c.name, err)
		}
	}
	if got := mustGet(t, s, "r1"); got.Version != 1 {
		t.Errorf("version = %d after canceled calls, want 1", got.Version)
	}
	if _, err := s.Room(ctxT(t), "r2"); !errors.Is(err, room.ErrNotFound) {
		t.Errorf("Room(r2): err = %v, want ErrNotFound", err)
	}
}
