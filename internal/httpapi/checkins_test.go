package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/coder/websocket"

	"hearth/internal/auth"
	"hearth/internal/checkin"
	"hearth/internal/httpapi"
	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
	"hearth/internal/room"
	"hearth/internal/store"
)

// CheckinPosted makes the upgrade tests' hub an httpapi.Hub.
func (acceptingHub) CheckinPosted(context.Context, checkin.CheckIn) json.RawMessage { return nil }

// RosterChanged (REST changes to a room's people) means nothing to the
// upgrade tests' hub, which serves no room.
func (acceptingHub) RosterChanged(context.Context, string, ...string) {}

// crisisWord is the note text on which the test hub answers with crisis
// resources, standing in for the detector (which the hub runs).
const crisisWord = "TRIP-THE-DETECTOR"

var testResources = json.RawMessage(`[{"name":"988 Suicide & Crisis Lifeline","call":"988"}]`)

// recordingHub is the hub side of check-ins in these tests: it records
// every CheckinPosted and returns resources when the note has crisisWord.
type recordingHub struct {
	mu     sync.Mutex
	posted []checkin.CheckIn
}

func (*recordingHub) Serve(_ context.Context, ws *websocket.Conn, _ *auth.Identity) {
	_ = ws.Close(websocket.StatusNormalClosure, "")
}

func (h *recordingHub) CheckinPosted(ctx context.Context, c checkin.CheckIn) json.RawMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.posted = append(h.posted, c)
	if ctx.Err() != nil {
		panic("CheckinPosted got a finished context")
	}
	if strings.Contains(c.Note, crisisWord) {
		return testResources
	}
	return nil
}

// RosterChanged means nothing here: no connection is in a room.
func (*recordingHub) RosterChanged(context.Context, string, ...string) {}

func (h *recordingHub) calls() []checkin.CheckIn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.posted)
}

// ciEnv is an HTTP handler over real parts — a bbolt file or a private
// redis-server for the rooms and the check-ins, the room service, the
// token verifier — with the recording hub.
type ciEnv struct {
	t       *testing.T
	url     string
	rooms   *room.Service
	store   checkin.Store
	hub     *recordingHub
	a, b    string // rooms: a led by "lead" with co-facilitator "co"; b led by "leadb"
	members auth.MemberIDs
}

const ciRetention = 30 * 24 * time.Hour

// eachStore runs fn against an embedded-mode and a distributed-mode
// environment (see ciEnv and ciSetup).
func eachStore(t *testing.T, fn func(t *testing.T, e *ciEnv)) {
	t.Helper()
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		b, err := store.OpenBolt(filepath.Join(t.TempDir(), "hearth.db"))
		if err != nil {
			t.Fatal(err)
		}
		ci, err := store.OpenBoltCheckIns(b, store.CheckInOptions{Retention: ciRetention})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ci.Close(); _ = b.Close() })
		fn(t, ciSetup(t, b, ci))
	})
	t.Run("distributed", func(t *testing.T) {
		t.Parallel()
		srv := redistest.Start(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := store.NewRedis(ctx, srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		fn(t, ciSetup(t, r, store.NewRedisCheckIns(r, store.CheckInOptions{Retention: ciRetention})))
	})
}

// ciSetup serves the API over st and ci, with two rooms:
//
//	a: lead (lead facilitator), co (co-facilitator); roster robin, sam, banned-bo (banned)
//	b: leadb (lead facilitator); roster robin, kim
//
// Display names: robin is "Robin" in a and "Sky" in b; sam is "Sam" in a.
func ciSetup(t *testing.T, st room.Store, ci checkin.Store) *ciEnv {
	t.Helper()
	members := auth.NewMemberIDs(auth.DeriveMemberKey(hubtest.Secret))
	rooms := room.NewService(st, members.For)
	v, err := auth.NewVerifier(auth.Config{Secret: hubtest.Secret})
	if err != nil {
		t.Fatal(err)
	}
	hub := &recordingHub{}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{
		Hub: hub, Verifier: v, Rooms: rooms, CheckIns: ci, CheckInRetention: ciRetention,
		Static: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}},
	}))
	t.Cleanup(srv.Close)
	e := &ciEnv{t: t, url: srv.URL, rooms: rooms, store: ci, hub: hub, a: "ra", b: "rb", members: members}
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p := room.CreateParams{Name: "Tuesday group", Kind: room.KindSupport}
	must(rooms.Ensure(ctx, e.a, "lead", []string{"robin", "sam", "banned-bo"}, p))
	must(rooms.AddFacilitator(ctx, room.Actor{UserID: "lead"}, e.a, "co"))
	must(rooms.Ban(ctx, room.Actor{UserID: "lead"}, e.a, e.mid(e.a, "banned-bo")))
	must(rooms.Ensure(ctx, e.b, "leadb", []string{"robin", "kim"}, p))
	must(rooms.ClaimName(ctx, e.a, "robin", "Robin"))
	must(rooms.ClaimName(ctx, e.b, "robin", "Sky"))
	must(rooms.ClaimName(ctx, e.a, "sam", "Sam"))
	return e
}

func (e *ciEnv) mid(roomID, user string) string { return e.members.For(roomID, user) }

// ciResp is one response.
type ciResp struct {
	status int
	header http.Header
	body   []byte
}

// do sends method path as user (a member token, or a facilitator token for
// users whose name starts with "lead"; "" sends no token) with body.
func (e *ciEnv) do(method, path, user, body string) ciResp {
	e.t.Helper()
	return ciDo(e.t, e.url, method, path, user, []byte(body))
}

func ciDo(t *testing.T, base, method, path, user string, body []byte) ciResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		role := protocol.RoleMember
		if strings.HasPrefix(user, "lead") || user == "co" {
			role = protocol.RoleFacilitator
		}
		req.Header.Set("Authorization", "Bearer "+hubtest.Token(t, user, role))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return ciResp{res.StatusCode, res.Header, b}
}

// into checks the status and decodes the body into v.
func (r ciResp) into(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
}

// refused checks the JSON error shape with status and code.
func (r ciResp) refused(t *testing.T, status int, code protocol.Code) string {
	t.Helper()
	var b struct {
		Error struct{ Code, Message string }
	}
	if r.status != status {
		t.Fatalf("status %d, want %d (%s); body %s", r.status, status, code, r.body)
	}
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error.Code != string(code) || b.Error.Message == "" {
		t.Fatalf("body %s, want error %s with a sentence", r.body, code)
	}
	return b.Error.Message
}

type ownView struct {
	ID         string `json:"id"`
	Mood       int    `json:"mood"`
	MoodLabel  string `json:"mood_label"`
	Note       string `json:"note"`
	Visibility string `json:"visibility"`
	Rooms      []struct {
		Room     string `json:"room"`
		MemberID string `json:"member_id"`
	} `json:"rooms"`
	CreatedAt string          `json:"created_at"`
	ExpiresAt string          `json:"expires_at"`
	Resources json.RawMessage `json:"resources"`
}

type ownPage struct {
	CheckIns   []ownView `json:"checkins"`
	NextBefore string    `json:"next_before"`
}

type roomView struct {
	ID          string `json:"id"`
	MemberID    string `json:"member_id"`
	DisplayName string `json:"display_name"`
	Mood        int    `json:"mood"`
	MoodLabel   string `json:"mood_label"`
	Note        string `json:"note"`
	Visibility  string `json:"visibility"`
	CreatedAt   string `json:"created_at"`
}

type roomPage struct {
	CheckIns   []roomView `json:"checkins"`
	NextBefore string     `json:"next_before"`
}

// post posts a check-in as user and returns it.
func (e *ciEnv) post(user, body string) ownView {
	e.t.Helper()
	var v ownView
	e.do("POST", "/api/checkins", user, body).into(e.t, 201, &v)
	return v
}

// mine follows next_before through user's own check-ins, pages of limit.
func (e *ciEnv) mine(user string, limit int) []string {
	e.t.Helper()
	var out []string
	before := ""
	for range 100 {
		var p ownPage
		e.do("GET", fmt.Sprintf("/api/checkins?limit=%d&before=%s", limit, before), user, "").into(e.t, 200, &p)
		for _, c := range p.CheckIns {
			out = append(out, c.ID)
		}
		if p.NextBefore == "" {
			return out
		}
		before = p.NextBefore
	}
	e.t.Fatal("pagination does not end")
	return nil
}

// roomList follows next_before through room's check-ins as user sees
// them, pages of limit.
func (e *ciEnv) roomList(roomID, user string, limit int) []roomView {
	e.t.Helper()
	var out []roomView
	before := ""
	for range 100 {
		var p roomPage
		e.do("GET", fmt.Sprintf("/api/rooms/%s/checkins?limit=%d&before=%s", roomID, limit, before), user, "").into(e.t, 200, &p)
		if len(p.CheckIns) > limit {
			e.t.Fatalf("page of %d, limit %d", len(p.CheckIns), limit)
		}
		out = append(out, p.CheckIns...)
		if p.NextBefore == "" {
			return out
		}
		before = p.NextBefore
	}
	e.t.Fatal("pagination does not end")
	return nil
}

// newestFirst returns the ids of vs in listing order: newest first, and by
// id between check-ins of the same millisecond.
func newestFirst(vs ...ownView) []string {
	vs = slices.Clone(vs)
	slices.SortFunc(vs, func(a, b ownView) int {
		if c := strings.Compare(b.CreatedAt, a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

func roomIDs(vs []roomView) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

// noUserIDs fails if body holds any of the users' ids as a JSON string.
func noUserIDs(t *testing.T, body []byte) {
	t.Helper()
	for _, u := range []string{"robin", "sam", "kim", "lead", "co", "leadb", "banned-bo"} {
		if bytes.Contains(body, []byte(`"`+u+`"`)) {
			t.Errorf("a response shows the user id %q: %s", u, body)
		}
	}
}

func TestCheckInsMoods(t *testing.T) {
	eachStore(t, func(t *testing.T, e *ciEnv) {
		var m struct{ Moods []checkin.Mood }
		e.do("GET", "/api/checkins/moods", "robin", "").into(t, 200, &m)
		if !slices.Equal(m.Moods, checkin.Moods()) || len(m.Moods) != 5 || m.Moods[0].Label != "Very low" || m.Moods[4].Label != "Very good" {
			t.Errorf("moods = %+v", m.Moods)
		}
		e.do("GET", "/api/checkins/moods", "", "").refused(t, 401, protocol.CodeUnauthorized)
	})
}

// Post, list (newest first, paginated), delete (mine only, for real).
func TestCheckInsPostListDelete(t *testing.T) {
	eachStore(t, func(t *testing.T, e *ciEnv) {
		r := e.do("POST", "/api/checkins", "robin", `{"mood":2,"note":"  Rough week, slept badly.  ","visibility":"group","rooms":["rb"]}`)
		var c ownView
		r.into(t, 201, &c)
		noUserIDs(t, r.body)
		if c.Mood != 2 || c.MoodLabel != "Low" || c.Note != "Rough week, slept badly." || c.Visibility != "group" ||
			len(c.Rooms) != 1 || c.Rooms[0].Room != "rb" || c.Rooms[0].MemberID != e.mid("rb", "robin") || c.Resources != nil {
			t.Errorf("posted %s", r.body)
		}
		created, err1 := time.Parse(time.RFC3339, c.CreatedAt)
		expires, err2 := time.Parse(time.RFC3339, c.ExpiresAt)
		if err1 != nil || err2 != nil || time.Since(created) > time.Minute || !expires.Equal(created.Add(ciRetention)) {
			t.Errorf("created_at %q, expires_at %q", c.CreatedAt, c.ExpiresAt)
		}
		if bytes.Contains(r.body, []byte("resources")) {
			t.Errorf("resources without a crisis: %s", r.body)
		}
		// The hub heard of the stored check-in, after it was stored.
		calls := e.hub.calls()
		if len(calls) != 1 || calls[0].ID != c.ID || calls[0].UserID != "robin" || calls[0].Note != c.Note {
			t.Fatalf("hub calls %+v", calls)
		}
		stored, err := e.store.Get(context.Background(), c.ID)
		if err != nil || stored.UserID != "robin" || stored.Mood != 2 || !slices.Equal(stored.Rooms, []string{"rb"}) {
			t.Errorf("stored %+v, %v", stored, err)
		}

		// Defaults: only the facilitators, every group robin is a member of.
		d := e.post("robin", `{"mood":4}`)
		if d.Visibility != "facilitators" || len(d.Rooms) != 2 || d.Rooms[0].Room != "ra" || d.Rooms[1].Room != "rb" ||
			d.Rooms[0].MemberID != e.mid("ra", "robin") || d.Note != "" {
			t.Errorf("defaults: %+v", d)
		}
		posted := []ownView{c, d}
		for i := range 5 {
			posted = append(posted, e.post("robin", fmt.Sprintf(`{"mood":%d}`, 1+i)))
		}
		want := newestFirst(posted...)
		e.post("sam", `{"mood":3}`)
		for _, limit := range []int{1, 3, 7, 100} {
			if got := e.mine("robin", limit); !slices.Equal(got, want) {
				t.Errorf("robin's check-ins in pages of %d: %v, want %v", limit, got, want)
			}
		}
		var p ownPage
		e.do("GET", "/api/checkins", "kim", "").into(t, 200, &p)
		if p.CheckIns == nil || len(p.CheckIns) != 0 || p.NextBefore != "" {
			t.Errorf("kim's check-ins: %+v", p)
		}

		// Delete: someone else's is not found (and stays); mine is gone for real.
		e.do("DELETE", "/api/checkins/"+c.ID, "sam", "").refused(t, 404, protocol.CodeNotFound)
		e.do("DELETE", "/api/checkins/"+c.ID, "leadb", "").refused(t, 404, protocol.CodeNotFound)
		if _, err := e.store.Get(context.Background(), c.ID); err != nil {
			t.Fatalf("someone else's delete removed it: %v", err)
		}
		if r := e.do("DELETE", "/api/checkins/"+c.ID, "robin", ""); r.status != 204 || len(r.body) != 0 {
			t.Fatalf("DELETE = %d %s", r.status, r.body)
		}
		if _, err := e.store.Get(context.Background(), c.ID); !errors.Is(err, checkin.ErrNotFound) {
			t.Errorf("after DELETE the store still has it: %v", err)
		}
		if got := e.mine("robin", 100); slices.Contains(got, c.ID) || len(got) != len(want)-1 {
			t.Errorf("after DELETE robin lists %v", got)
		}
		if got := roomIDs(e.roomList("rb", "leadb", 100)); slices.Contains(got, c.ID) {
			t.Errorf("after DELETE room b lists %v", got)
		}
		e.do("DELETE", "/api/checkins/"+c.ID, "robin", "").refused(t, 404, protocol.CodeNotFound)
		e.do("DELETE", "/api/checkins/Not-An-Id", "robin", "").refused(t, 404, protocol.CodeNotFound)
		e.do("DELETE", "/api/checkins/"+d.ID, "", "").refused(t, 401, protocol.CodeUnauthorized)
	})
}

// A note that trips the crisis detector: the response carries the
// resources the hub returns.
func TestCheckInsCrisisResources(t *testing.T) {
	eachStore(t, func(t *testing.T, e *ciEnv) {
		r := e.do("POST", "/api/checkins", "sam", `{"mood":1,"note":"`+crisisWord+`","visibility":"group"}`)
		var c ownView
		r.into(t, 201, &c)
		var got, want any
		_ = json.Unmarshal(c.Resources, &got)
		_ = json.Unmarshal(testResources, &want)
		if got == nil || !reflect.DeepEqual(got, want) || c.Visibility != "group" {
			t.Errorf("response %s, want the resources", r.body)
		}
		if calls := e.hub.calls(); len(calls) != 1 || calls[0].ID != c.ID || !slices.Equal(calls[0].Rooms, []string{"ra"}) {
			t.Errorf("hub calls %+v", calls)
		}
		var p ownPage // the resources are the response's, not the check-in's
		e.do("GET", "/api/checkins", "sam", "").into(t, 200, &p)
		if len(p.CheckIns) != 1 || p.CheckIns[0].Resources != nil {
			t.Errorf("listed %+v", p)
		}
	})
}

// Visibility: facilitators see every check-in of their room; members only
// the group-visible ones of the rooms they belong to — never those of
// another room, never facilitators-only ones. Each shows the member id and
// the display name the member has in that room now.
func TestCheckInsVisibility(t *testing.T) {
	eachStore(t, func(t *testing.T, e *ciEnv) {
		robinBothGroup := e.post("robin", `{"mood":3,"note":"both groups","visibility":"group"}`)
		robinAFac := e.post("robin", `{"mood":2,"note":"for the facilitators of a","rooms":["ra"]}`)
		samAGroup := e.post("sam", `{"mood":4,"note":"sam to a","visibility":"group"}`)
		samAFac := e.post("sam", `{"mood":1,"note":"sam, facilitators only"}`)
		kimBGroup := e.post("kim", `{"mood":5,"note":"kim to b","visibility":"group"}`)
		kimBFac := e.post("kim", `{"mood":2,"note":"kim, facilitators only"}`)

		cases := []struct {
			name, room, user string
			want             []ownView
		}{
			{"lead of a sees all of a", "ra", "lead", []ownView{samAFac, samAGroup, robinAFac, robinBothGroup}},
			{"co-facilitator of a sees all of a", "ra", "co", []ownView{samAFac, samAGroup, robinAFac, robinBothGroup}},
			{"member sam sees the group ones of a", "ra", "sam", []ownView{samAGroup, robinBothGroup}},
			{"member robin sees the group ones of a", "ra", "robin", []ownView{samAGroup, robinBothGroup}},
			{"lead of b sees all of b", "rb", "leadb", []ownView{kimBFac, kimBGroup, robinBothGroup}},
			{"member kim sees the group ones of b", "rb", "kim", []ownView{kimBGroup, robinBothGroup}},
			{"member robin sees the group ones of b", "rb", "robin", []ownView{kimBGroup, robinBothGroup}},
		}
		for _, tc := range cases {
			for _, limit := range []int{1, 2, 50} {
				r := e.do("GET", fmt.Sprintf("/api/rooms/%s/checkins?limit=%d", tc.room, limit), tc.user, "")
				noUserIDs(t, r.body)
				got := e.roomList(tc.room, tc.user, limit)
				want := newestFirst(tc.want...)
				if !slices.Equal(roomIDs(got), want) {
					t.Errorf("%s (pages of %d): %v, want %v", tc.name, limit, roomIDs(got), want)
				}
			}
		}
		// One check-in, two rooms: a member id and a display name per room,
		// and nothing of the other room.
		find := func(vs []roomView, id string) roomView {
			for _, v := range vs {
				if v.ID == id {
					return v
				}
			}
			t.Fatalf("check-in %s not listed", id)
			return roomView{}
		}
		inA := find(e.roomList("ra", "sam", 50), robinBothGroup.ID)
		inB := find(e.roomList("rb", "kim", 50), robinBothGroup.ID)
		if inA.MemberID != e.mid("ra", "robin") || inA.DisplayName != "Robin" || inA.Mood != 3 || inA.MoodLabel != "Okay" ||
			inA.Note != "both groups" || inA.Visibility != "group" || inA.CreatedAt != robinBothGroup.CreatedAt {
			t.Errorf("in room a: %+v", inA)
		}
		if inB.MemberID != e.mid("rb", "robin") || inB.DisplayName != "Sky" {
			t.Errorf("in room b: %+v", inB)
		}
		if r := e.do("GET", "/api/rooms/ra/checkins", "sam", ""); bytes.Contains(r.body, []byte(`"rb"`)) || bytes.Contains(r.body, []byte("Sky")) {
			t.Errorf("room a's listing mentions room b: %s", r.body)
		}
		// The name is looked up when read: a new name shows at once.
		if _, err := e.rooms.ClaimName(context.Background(), "ra", "robin", "Robin B."); err != nil {
			t.Fatal(err)
		}
		if got := find(e.roomList("ra", "lead", 50), robinBothGroup.ID); got.DisplayName != "Robin B." {
			t.Errorf("after renaming: %+v", got)
		}

		// Outsiders of a room, a banned member, an unknown room.
		e.do("GET", "/api/rooms/ra/checkins", "kim", "").refused(t, 404, protocol.CodeNotFound)
		e.do("GET", "/api/rooms/ra/checkins", "leadb", "").refused(t, 404, protocol.CodeNotFound)
		e.do("GET", "/api/rooms/ra/checkins", "banned-bo", "").refused(t, 403, protocol.CodeBanned)
		e.do("GET", "/api/rooms/rnosuch/checkins", "lead", "").refused(t, 404, protocol.CodeNotFound)
		e.do("GET", "/api/rooms/ra/checkins", "", "").refused(t, 401, protocol.CodeUnauthorized)

		// A member who leaves the group takes their check-ins out of its view.
		if err := e.rooms.LeaveGroup(context.Background(), room.Actor{UserID: "sam"}, "ra"); err != nil {
			t.Fatal(err)
		}
		if got := roomIDs(e.roomList("ra", "lead", 50)); !slices.Equal(got, newestFirst(robinAFac, robinBothGroup)) {
			t.Errorf("after sam left, a lists %v", got)
		}
		e.do("GET", "/api/rooms/ra/checkins", "sam", "").refused(t, 404, protocol.CodeNotFound)
		if got := e.mine("sam", 10); len(got) != 2 {
			t.Errorf("sam's own list after leaving: %v", got)
		}
	})
}

type summaryView struct {
	Room        string `json:"room"`
	At          string `json:"at"`
	TrendWindow int    `json:"trend_window"`
	Members     []struct {
		MemberID    string `json:"member_id"`
		DisplayName string `json:"display_name"`
		CheckIns    int    `json:"checkins"`
		Latest      *struct {
			ID         string `json:"id"`
			Mood       int    `json:"mood"`
			MoodLabel  string `json:"mood_label"`
			Visibility string `json:"visibility"`
			At         string `json:"at"`
		} `json:"latest"`
		DaysSinceLast *int `json:"days_since_last"`
		Trend         *struct {
			Direction string  `json:"direction"`
			Slope     float64 `json:"slope"`
			Over      int     `json:"over"`
		} `json:"trend"`
		CrisisAlert bool `json:"crisis_alert"`
	} `json:"members"`
}

// The summary's figures on a known series, stored with known times.
func TestCheckInsSummary(t *testing.T) {
	eachStore(t, func(t *testing.T, e *ciEnv) {
		ctx := context.Background()
		day := 24 * time.Hour
		now := time.Now()
		put := func(user string, mood int, ago time.Duration, rooms ...string) checkin.CheckIn {
			c := checkin.CheckIn{ID: checkin.NewID(), UserID: user, Mood: mood, Visibility: checkin.VisibilityFacilitators,
				Rooms: rooms, CreatedAt: now.Add(-ago).UTC().Truncate(time.Millisecond)}
			if err := e.store.Put(ctx, c); err != nil {
				t.Fatal(err)
			}
			return c
		}
		// robin in a: moods 2, 3, 3, 4, 5, 5, the last 2 days and 3 hours
		// ago. The last five, 3 3 4 5 5: x̄ = 2, ȳ = 4,
		// Σ(x−x̄)(y−ȳ) = 2+1+0+1+2 = 6, Σ(x−x̄)² = 10: slope 0.6, rising.
		for i, m := range []int{2, 3, 3, 4, 5} {
			put("robin", m, time.Duration(7-i)*day+3*time.Hour, "ra")
		}
		latest := put("robin", 5, 2*day+3*time.Hour, "ra", "rb")
		put("robin", 1, time.Hour, "rb") // room b only: not in a's figures
		// sam in a: one check-in 30 hours ago, and an open crisis alert.
		put("sam", 1, 30*time.Hour, "ra")
		if _, _, _, err := e.rooms.RaiseAlert(ctx, "ra", e.mid("ra", "sam"), "ideation", "high", ""); err != nil {
			t.Fatal(err)
		}
		// banned-bo: none. kim is not in a.
		put("kim", 1, time.Hour, "rb")

		var s summaryView
		r := e.do("GET", "/api/rooms/ra/checkins/summary", "lead", "")
		r.into(t, 200, &s)
		noUserIDs(t, r.body)
		if s.Room != "ra" || s.TrendWindow != 5 || len(s.Members) != 3 {
			t.Fatalf("summary %s", r.body)
		}
		robin, sam, bo := s.Members[0], s.Members[1], s.Members[2] // roster order
		if robin.MemberID != e.mid("ra", "robin") || robin.DisplayName != "Robin" || robin.CheckIns != 6 ||
			robin.Latest == nil || robin.Latest.ID != latest.ID || robin.Latest.Mood != 5 || robin.Latest.MoodLabel != "Very good" ||
			robin.Latest.At != protocol.FormatTime(latest.CreatedAt) || robin.DaysSinceLast == nil || *robin.DaysSinceLast != 2 ||
			robin.Trend == nil || robin.Trend.Direction != "rising" || robin.Trend.Slope != 0.6 || robin.Trend.Over != 5 || robin.CrisisAlert {
			t.Errorf("robin's line: %s", r.body)
		}
		if sam.MemberID != e.mid("ra", "sam") || sam.DisplayName != "Sam" || sam.CheckIns != 1 || sam.Latest == nil || sam.Latest.Mood != 1 ||
			sam.DaysSinceLast == nil || *sam.DaysSinceLast != 1 || sam.Trend != nil || !sam.CrisisAlert {
			t.Errorf("sam's line: %s", r.body)
		}
		if bo.MemberID != e.mid("ra", "banned-bo") || bo.DisplayName != "" || bo.CheckIns != 0 || bo.Latest != nil || bo.DaysSinceLast != nil ||
			bo.Trend != nil || bo.CrisisAlert {
			t.Errorf("banned-bo's line: %s", r.body)
		}
		if !bytes.Contains(r.body, []byte(`"latest":null,"days_since_last":null,"trend":null`)) {
			t.Errorf("a member without check-ins shows nulls: %s", r.body)
		}

		// Once the alert is acknowledged, the flag is down.
		rm, _, err := e.rooms.Get(ctx, room.Actor{UserID: "lead"}, "ra")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.rooms.AckAlert(ctx, room.Actor{UserID: "co"}, "ra", rm.Alerts[0].ID); err != nil {
			t.Fatal(err)
		}
		e.do("GET", "/api/rooms/ra/checkins/summary", "co", "").into(t, 200, &s)
		if s.Members[1].CrisisAlert {
			t.Error("the flag is still up after the alert was acknowledged")
		}

		// Facilitators only.
		e.do("GET", "/api/rooms/ra/checkins/summary", "robin", "").refused(t, 403, protocol.CodeForbidden)
		e.do("GET", "/api/rooms/ra/checkins/summary", "leadb", "").refused(t, 404, protocol.CodeNotFound)
		e.do("GET", "/api/rooms/rnosuch/checkins/summary", "lead", "").refused(t, 404, protocol.CodeNotFound)
	})
}

// Bad input: each code with its status, and nothing stored — the store
// has no check-in and the hub heard of none.
func TestCheckInsBadInput(t *testing.T) {
	eachStore(t, func(t *testing.T, e *ciEnv) {
		long := strings.Repeat("é", checkin.MaxNoteRunes+1)
		cases := []struct {
			name   string
			user   string
			body   []byte
			status int
			code   protocol.Code
		}{
			{"no mood", "robin", []byte(`{"note":"hello"}`), 422, protocol.CodeInvalidMood},
			{"empty body", "robin", nil, 422, protocol.CodeInvalidMood},
			{"mood 0", "robin", []byte(`{"mood":0}`), 422, protocol.CodeInvalidMood},
			{"mood 6", "robin", []byte(`{"mood":6}`), 422, protocol.CodeInvalidMood},
			{"mood -2", "robin", []byte(`{"mood":-2}`), 422, protocol.CodeInvalidMood},
			{"mood 3.5", "robin", []byte(`{"mood":3.5}`), 422, protocol.CodeInvalidMood},
			{"mood as text", "robin", []byte(`{"mood":"3"}`), 422, protocol.CodeInvalidMood},
			{"mood null", "robin", []byte(`{"mood":null}`), 422, protocol.CodeInvalidMood},
			{"note too long", "robin", []byte(`{"mood":3,"note":"` + long + `"}`), 422, protocol.CodeNoteTooLong},
			{"note not UTF-8", "robin", []byte("{\"mood\":3,\"note\":\"bad \xff\xfe bytes\"}"), 422, protocol.CodeInvalidNote},
			{"note with a control character", "robin", []byte(`{"mood":3,"note":"a\u001bb"}`), 422, protocol.CodeInvalidNote},
			{"unknown visibility", "robin", []byte(`{"mood":3,"visibility":"everyone"}`), 422, protocol.CodeInvalidVisibility},
			{"a room robin is not in", "sam", []byte(`{"mood":3,"rooms":["rb"]}`), 403, protocol.CodeNotInRoom},
			{"an unknown room", "robin", []byte(`{"mood":3,"rooms":["ra","rnosuch"]}`), 403, protocol.CodeNotInRoom},
			{"a room one facilitates", "lead", []byte(`{"mood":3,"rooms":["ra"]}`), 403, protocol.CodeNotInRoom},
			{"a facilitator with no roster", "lead", []byte(`{"mood":3}`), 403, protocol.CodeNotInRoom},
			{"a banned member", "banned-bo", []byte(`{"mood":3,"rooms":["ra"]}`), 403, protocol.CodeNotInRoom},
			{"a banned member, all groups", "banned-bo", []byte(`{"mood":3}`), 403, protocol.CodeNotInRoom},
			{"no groups at all", "stranger", []byte(`{"mood":3}`), 403, protocol.CodeNotInRoom},
			{"rooms empty", "robin", []byte(`{"mood":3,"rooms":[]}`), 422, protocol.CodeInvalidRequest},
			{"rooms not a list", "robin", []byte(`{"mood":3,"rooms":"ra"}`), 422, protocol.CodeInvalidRequest},
			{"unknown field", "robin", []byte(`{"mood":3,"user_id":"sam"}`), 422, protocol.CodeInvalidRequest},
			{"not JSON", "robin", []byte(`mood=3`), 400, protocol.CodeBadJSON},
			{"no token", "", []byte(`{"mood":3}`), 401, protocol.CodeUnauthorized},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := ciDo(t, e.url, "POST", "/api/checkins", tc.user, tc.body)
				msg := r.refused(t, tc.status, tc.code)
				if strings.Contains(string(r.body), "é") || strings.Contains(msg, "hello") {
					t.Errorf("the error echoes the note: %s", r.body)
				}
			})
		}
		big := append([]byte(`{"mood":3,"note":"`), bytes.Repeat([]byte("x"), 70<<10)...)
		ciDo(t, e.url, "POST", "/api/checkins", "robin", append(big, `"}`...)).refused(t, 413, protocol.CodeInvalidRequest)

		for _, user := range []string{"robin", "sam", "lead", "banned-bo", "stranger"} {
			if got, err := e.store.ListByUser(context.Background(), user, checkin.Cursor{}, 10); err != nil || len(got) != 0 {
				t.Errorf("%s has %d check-ins stored after refusals (%v)", user, len(got), err)
			}
		}
		for _, rm := range []string{"ra", "rb"} {
			if got, err := e.store.ListByRoom(context.Background(), rm, checkin.Cursor{}, 10); err != nil || len(got) != 0 {
				t.Errorf("room %s has %d check-ins stored after refusals (%v)", rm, len(got), err)
			}
		}
		if calls := e.hub.calls(); len(calls) != 0 {
			t.Errorf("the hub heard of %d refused check-ins", len(calls))
		}

		// Bad pages.
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "limit=-1", "before=yesterday", "before=0001795974139123:NOT"} {
			e.do("GET", "/api/checkins?"+q, "robin", "").refused(t, 422, protocol.CodeInvalidRequest)
			e.do("GET", "/api/rooms/ra/checkins?"+q, "lead", "").refused(t, 422, protocol.CodeInvalidRequest)
		}
	})
}

// Durable across a restart in both modes: a node restarted on the same
// data directory, or on the same Redis (itself restarted from its
// append-only file), still has every check-in, and the routes are wired by
// internal/node.
func TestCheckInsDurableAcrossRestart(t *testing.T) {
	run := func(t *testing.T, opts hubtest.Options, between func()) {
		n := hubtest.StartNode(t, opts)
		n.OpenRoom(t, "ra", "lead", "robin", "sam")
		var c ownView
		ciDo(t, n.HTTP, "POST", "/api/checkins", "robin", []byte(`{"mood":2,"note":"before the restart","visibility":"group"}`)).into(t, 201, &c)
		var gone ownView
		ciDo(t, n.HTTP, "POST", "/api/checkins", "robin", []byte(`{"mood":4}`)).into(t, 201, &gone)
		if r := ciDo(t, n.HTTP, "DELETE", "/api/checkins/"+gone.ID, "robin", nil); r.status != 204 {
			t.Fatalf("DELETE = %d %s", r.status, r.body)
		}
		n.Stop()
		between()

		n2 := hubtest.StartNode(t, opts)
		var mine ownPage
		ciDo(t, n2.HTTP, "GET", "/api/checkins", "robin", nil).into(t, 200, &mine)
		if len(mine.CheckIns) != 1 || mine.CheckIns[0].ID != c.ID || mine.CheckIns[0].Note != "before the restart" ||
			mine.CheckIns[0].CreatedAt != c.CreatedAt || mine.CheckIns[0].ExpiresAt == "" {
			t.Fatalf("after the restart robin has %+v, want %s only", mine, c.ID)
		}
		var rp roomPage
		ciDo(t, n2.HTTP, "GET", "/api/rooms/ra/checkins", "sam", nil).into(t, 200, &rp)
		if len(rp.CheckIns) != 1 || rp.CheckIns[0].ID != c.ID {
			t.Errorf("after the restart sam sees %+v", rp)
		}
	}
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		run(t, hubtest.Options{DataDir: dir}, func() {})
	})
	t.Run("distributed", func(t *testing.T) {
		t.Parallel()
		srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
		run(t, hubtest.Options{RedisURL: srv.URL()}, srv.Restart)
	})
}
