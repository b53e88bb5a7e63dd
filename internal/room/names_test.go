package room_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"hearth/internal/protocol"
	"hearth/internal/redistest"
	"hearth/internal/room"
	"hearth/internal/store"
)

// TestSameName: names are compared ignoring case, spacing, punctuation and
// look-alike characters (UTS #39 skeletons), and nothing more.
func TestSameName(t *testing.T) {
	cases := []struct {
		a, b string
		same bool
	}{
		{"Dr. Lee", "dr. lee", true},
		{"Dr. Lee", "Dr. L\u0435\u0435", true}, // Cyrillic е
		{"Dr. Lee", "Dr.  Lee", true},          // two spaces
		{"Dr. Lee", "Dr Lee", true},
		{"Dr. Lee", "DR.LEE", true},
		{"Dr. Lee", "Ｄｒ． Ｌｅｅ", true},         // fullwidth
		{"Dr. Lee", "𝐃𝐫. 𝐋𝐞𝐞", true},         // mathematical bold
		{"Dr. Lee", "Dr. Le\u200Be", true},   // a zero-width space is nothing
		{"facilitator", "Facilitat0r", true}, // digit zero looks like O
		{"Alex", "AIex", true},               // capital I looks like l
		{"Kate", "\u039Aate", true},          // Greek capital Kappa
		{"Tom", "\u0422om", true},            // Cyrillic capital Te
		{"Robin", "R0bin", true},
		{"Lily", "LiIy", true},
		{"Fern", "Fem", true}, // "rn" looks like "m"
		{"Jo Ann", "Joann", true},
		{"Zoë", "Zoe\u0308", true}, // NFC and NFD
		{"Sam", "Sam 2", false},
		{"Ian", "Lan", false},
		{"Vic", "Nic", false},
		{"Amy", "Amr", false},
		{"Eli", "Ell", false},
		// An accent or a dot added makes no new name: read quickly it is the
		// same (found trying "Dr. Lée" beside the facilitator "Dr. Lee").
		{"Zoë", "Zoe", true},
		{"Dr. Lee", "Dr. Lée", true},
		{"Dr. Lee", "Dr. Leẹ", true},
		{"Alex", "Alex́", true},
		{"Ana", "Anna", false},
		{"🌻", "🌼", false},
		{"...", "!!!", false},
	}
	for _, tc := range cases {
		if got := room.SameName(tc.a, tc.b); got != tc.same {
			t.Errorf("SameName(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
		if got := room.SameName(tc.b, tc.a); got != tc.same {
			t.Errorf("SameName(%q, %q) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.same)
		}
	}
	// The examples of the rule share one key, not only SameName.
	for _, n := range []string{"dr. lee", "Dr. L\u0435\u0435", "Dr.  Lee"} {
		if room.NameKey(n) != room.NameKey("Dr. Lee") {
			t.Errorf("NameKey(%q) = %q, want NameKey(\"Dr. Lee\") = %q", n, room.NameKey(n), room.NameKey("Dr. Lee"))
		}
	}
	if room.NameKey("Facilitat0r") != room.NameKey("facilitator") {
		t.Errorf("NameKey(Facilitat0r) = %q", room.NameKey("Facilitat0r"))
	}
}

// names returns a copy of the room's Names.
func names(t *testing.T, e env, id string) map[string]string {
	t.Helper()
	return maps.Clone(load(t, e, id).Names)
}

// TestClaimNameRefused: every refused name gets its own code and leaves the
// room document exactly as it was.
func TestClaimNameRefused(t *testing.T) {
	e := newEnv(t)
	a, _ := fixture(t, e, room.CreateParams{})
	must(t)(e.svc.ClaimName(ctx, a, lead.UserID, "Dr. Lee"))
	must(t)(e.svc.ClaimName(ctx, a, co.UserID, "Robin"))
	must(t)(e.svc.ClaimName(ctx, a, mem.UserID, "Sam"))

	cases := []struct {
		name  string
		who   room.Actor
		claim string
		code  protocol.Code
	}{
		{"right-to-left override", mem2, "Sam\u202Emaxe", protocol.CodeNameInvalidChar},
		{"left-to-right isolate", mem2, "\u2066Kim\u2069", protocol.CodeNameInvalidChar},
		{"zero-width joiner", mem2, "Al\u200Dex", protocol.CodeNameInvalidChar},
		{"zero-width space", mem2, "Kim\u200B", protocol.CodeNameInvalidChar},
		{"byte order mark", mem2, "\uFEFFKim", protocol.CodeNameInvalidChar},
		{"Mongolian vowel separator", mem2, "\u180E", protocol.CodeNameInvalidChar},
		{"Hangul filler inside a name", mem2, "Kim\u3164", protocol.CodeNameInvalidChar},
		{"U+3164 alone", mem2, "\u3164", protocol.CodeNameInvisible},
		{"braille blank alone", mem2, "\u2800\u2800", protocol.CodeNameInvisible},
		{"Hangul choseong and jungseong fillers", mem2, "\u115F\u1160", protocol.CodeNameInvisible},
		{"halfwidth Hangul filler", mem2, "\uFFA0", protocol.CodeNameInvisible},
		{"33 characters", mem2, strings.Repeat("k", 33), protocol.CodeNameTooLong},
		{"empty", mem2, "", protocol.CodeNameEmpty},
		{"white space only", mem2, " \u3000 ", protocol.CodeNameEmpty},
		{"Admin", mem2, "Admin", protocol.CodeNameReserved},
		{"MODERATOR", mem2, "MODERATOR", protocol.CodeNameReserved},
		{"facilitator with a digit zero", mem2, "Facilitat0r", protocol.CodeNameReserved},
		{"co-facilitator spaced", mem2, "Co Facilitator", protocol.CodeNameReserved},
		{"role as a word", mem2, "Kim (facilitator)", protocol.CodeNameReserved},
		{"support team", mem2, "Support-Team", protocol.CodeNameReserved},
		{"the service's name", mem2, "Hearth", protocol.CodeNameReserved},
		{"a facilitator may not be admin either", lead, "admin", protocol.CodeNameReserved},
		{"a facilitator's name", mem2, "Dr. Lee", protocol.CodeNameReserved},
		{"a facilitator's name in capitals", mem2, "DR. LEE", protocol.CodeNameReserved},
		{"a facilitator's name with Cyrillic е", mem2, "Dr. L\u0435\u0435", protocol.CodeNameReserved},
		{"a facilitator's name with two spaces", mem2, "Dr.  Lee", protocol.CodeNameReserved},
		{"a co-facilitator's name", mem2, "R0bin", protocol.CodeNameReserved},
		{"another facilitator's name, by a facilitator", co, "Dr Lee", protocol.CodeNameReserved},
		{"a member's name", mem2, "Sam", protocol.CodeNameTaken},
		{"a member's name in another case", mem2, "sAM", protocol.CodeNameTaken},
		{"a member's name with Cyrillic а", mem2, "S\u0430m", protocol.CodeNameTaken},
		{"a member's name in fullwidth", mem2, "Ｓａｍ", protocol.CodeNameTaken},
		{"a member's name, by a facilitator", co, "SAM", protocol.CodeNameTaken},
		{"not in the room", outsider, "Kim", protocol.CodeNotMember},
	}
	before := load(t, e, a)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.ClaimName(ctx, a, tc.who.UserID, tc.claim)
			wantCode(t, err, tc.code)
			after := load(t, e, a)
			if after.Version != before.Version || !maps.Equal(after.Names, before.Names) {
				t.Fatalf("refused claim changed the room: version %d → %d, names %v → %v", before.Version, after.Version, before.Names, after.Names)
			}
		})
	}
	_, err := e.svc.ClaimName(ctx, "rnosuchroom", mem.UserID, "Kim")
	wantCode(t, err, protocol.CodeNotMember)
	// A banned member keeps their name but may not claim another.
	must(t)(e.svc.Ban(ctx, lead, a, "m-mem"))
	_, err = e.svc.ClaimName(ctx, a, mem.UserID, "Sammy")
	wantCode(t, err, protocol.CodeBanned)
	if got := names(t, e, a)["m-mem"]; got != "Sam" {
		t.Errorf("a banned member's name = %q, want Sam kept", got)
	}
}

func TestClaimName(t *testing.T) {
	e := newEnv(t)
	a, b := fixture(t, e, room.CreateParams{})
	v := load(t, e, a).Version

	r := must(t)(e.svc.ClaimName(ctx, a, mem.UserID, "  Zoe\u0308 "))
	if r.Names["m-mem"] != "Zoë" || r.Version != v+1 || len(r.Names) != 1 {
		t.Fatalf("after a claim: names %v version %d (was %d)", r.Names, r.Version, v)
	}
	if r.DisplayName("m-mem") != "Zoë" || r.DisplayName("m-mem2") != "" {
		t.Errorf("DisplayName = %q, %q", r.DisplayName("m-mem"), r.DisplayName("m-mem2"))
	}
	// The same name again (even unnormalized) is no write.
	for _, again := range []string{"Zoë", "Zoe\u0308", " Zoë "} {
		r = must(t)(e.svc.ClaimName(ctx, a, mem.UserID, again))
		if r.Version != v+1 || load(t, e, a).Version != v+1 {
			t.Fatalf("re-claiming %q bumped the version to %d", again, load(t, e, a).Version)
		}
	}
	// One's own name may change, also to a variant of itself.
	for _, next := range []string{"Zoey", "ZOEY", "Sam"} {
		r = must(t)(e.svc.ClaimName(ctx, a, mem.UserID, next))
		if r.Names["m-mem"] != next {
			t.Fatalf("after renaming to %q: %v", next, r.Names)
		}
	}
	// The old name is free again.
	must(t)(e.svc.ClaimName(ctx, a, mem2.UserID, "zoey"))
	// Facilitators claim names too, and may vary their own.
	must(t)(e.svc.ClaimName(ctx, a, lead.UserID, "Dr. Lee"))
	r = must(t)(e.svc.ClaimName(ctx, a, lead.UserID, "DR. LEE"))
	want := map[string]string{"m-mem": "Sam", "m-mem2": "zoey", "m-lead": "DR. LEE"}
	if !maps.Equal(r.Names, want) {
		t.Errorf("names = %v, want %v", r.Names, want)
	}
	// Names are per room: the same person, or the same name, elsewhere is free.
	must(t)(e.svc.AddMember(ctx, otherFac, b, mem.UserID))
	must(t)(e.svc.ClaimName(ctx, b, mem.UserID, "DR. LEE"))
	must(t)(e.svc.ClaimName(ctx, b, otherFac.UserID, "Sam"))
	if got := names(t, e, a); !maps.Equal(got, want) {
		t.Errorf("room A's names changed with B's: %v", got)
	}
	// Claiming is not a facilitator action: nothing is audited.
	es, _ := e.svc.Audit(ctx, lead, a, 0, 1)
	if es[0].Action != "add_member" {
		t.Errorf("last audit entry = %+v, want add_member (claims are not audited)", es[0])
	}
}

// TestNamesDeletedWithMembership: whatever takes a person out of the group
// deletes their name (and agreement), so another may take the name; a ban,
// which keeps them on the roster, keeps it.
func TestNamesDeletedWithMembership(t *testing.T) {
	cases := []struct {
		name   string
		remove func(e env, a string) error
		gone   string // member id whose name goes
		kept   bool
	}{
		{"RemoveMember", func(e env, a string) error { _, err := e.svc.RemoveMember(ctx, co, a, mem.UserID); return err }, "m-mem", false},
		{"LeaveGroup", func(e env, a string) error { return e.svc.LeaveGroup(ctx, mem, a) }, "m-mem", false},
		{"RemoveFacilitator", func(e env, a string) error { _, err := e.svc.RemoveFacilitator(ctx, lead, a, co.UserID); return err }, "m-co", false},
		{"Ban", func(e env, a string) error { _, err := e.svc.Ban(ctx, lead, a, "m-mem"); return err }, "m-mem", true},
		{"Remove (from the live room)", func(e env, a string) error { _, err := e.svc.Remove(ctx, lead, a, "m-mem"); return err }, "m-mem", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			a, _ := fixture(t, e, room.CreateParams{WaitingRoom: true})
			must(t)(e.svc.ClaimName(ctx, a, mem.UserID, "Sam"))
			must(t)(e.svc.ClaimName(ctx, a, co.UserID, "Robin"))
			must(t)(e.svc.Accept(ctx, a, mem.UserID, currentVersion(t, e, a)))
			must(t)(e.svc.StartSession(ctx, lead, a, 0))
			must(t)(e.svc.AddWaiting(ctx, a, "m-mem", "Sam"))
			taken := map[string]string{"m-mem": "Sam", "m-co": "Robin"}[tc.gone]

			if err := tc.remove(e, a); err != nil {
				t.Fatal(err)
			}
			r := load(t, e, a)
			_, hasName := r.Names[tc.gone]
			if hasName != tc.kept {
				t.Fatalf("after %s: names %v, want %s's name kept=%v", tc.name, r.Names, tc.gone, tc.kept)
			}
			if tc.gone == "m-mem" {
				if _, ok := r.Agreements["m-mem"]; ok != tc.kept {
					t.Errorf("after %s: agreements %v, want kept=%v", tc.name, r.Agreements, tc.kept)
				}
			}
			if tc.kept {
				_, err := e.svc.ClaimName(ctx, a, mem2.UserID, taken)
				wantCode(t, err, map[bool]protocol.Code{true: protocol.CodeNameTaken, false: protocol.CodeNameReserved}[tc.gone == "m-mem"])
				return
			}
			if slices.ContainsFunc(r.Session.Waiting, func(w room.Waiting) bool { return w.MemberID == tc.gone }) {
				t.Errorf("the removed person still waits in the lobby: %+v", r.Session.Waiting)
			}
			// Another member may now take the name.
			r = must(t)(e.svc.ClaimName(ctx, a, mem2.UserID, taken))
			if r.Names["m-mem2"] != taken {
				t.Errorf("names = %v, want m-mem2 as %s", r.Names, taken)
			}
		})
	}
}

// TestLobbyNames: a name kept in Names is not copied into the lobby; a name
// given before any claim is, and is cleared when the member claims one.
func TestLobbyNames(t *testing.T) {
	e := newEnv(t)
	a, _ := fixture(t, e, room.CreateParams{WaitingRoom: true})
	must(t)(e.svc.StartSession(ctx, lead, a, 0))
	must(t)(e.svc.ClaimName(ctx, a, mem.UserID, "Sam"))
	r := must(t)(e.svc.AddWaiting(ctx, a, "m-mem", "Sam"))
	r = must(t)(e.svc.AddWaiting(ctx, a, "m-mem2", "Alex"))
	if w := r.Session.Waiting; len(w) != 2 || w[0].DisplayName != "" || w[1].DisplayName != "Alex" {
		t.Fatalf("lobby = %+v, want Sam's name not copied, Alex's copied", w)
	}
	if r.DisplayName("m-mem") != "Sam" || r.DisplayName("m-mem2") != "Alex" {
		t.Errorf("DisplayName = %q, %q", r.DisplayName("m-mem"), r.DisplayName("m-mem2"))
	}
	// Alex's copy is the one name outside Names; claiming clears it.
	r = must(t)(e.svc.ClaimName(ctx, a, mem2.UserID, "Alex"))
	if r.Session.Waiting[1].DisplayName != "" || r.Names["m-mem2"] != "Alex" || r.DisplayName("m-mem2") != "Alex" {
		t.Errorf("after the claim: lobby %+v names %v", r.Session.Waiting, r.Names)
	}
	// Claiming the same name once more is no write.
	v := r.Version
	if r := must(t)(e.svc.ClaimName(ctx, a, mem2.UserID, "Alex")); r.Version != v {
		t.Errorf("version %d → %d", v, r.Version)
	}
}

// TestClaimNameRace: many members claiming look-alike names at once, through
// several services (nodes) on one store, and exactly one wins — on bolt and
// on Redis.
func TestClaimNameRace(t *testing.T) {
	variants := []string{"Robin", "robin", "ROBIN", "R0bin", "Rob\u0456n", "Ｒｏｂｉｎ", "Robin.", "R o b i n", "R\u043Ebin", "𝐑𝐨𝐛𝐢𝐧"}
	for _, x := range variants {
		for _, y := range variants {
			if !room.SameName(x, y) {
				t.Fatalf("SameName(%q, %q) is false: the race needs names that all clash", x, y)
			}
		}
	}
	run := func(t *testing.T, stores []room.Store) {
		nodes := make([]*room.Service, len(stores))
		for i, st := range stores {
			nodes[i] = room.NewService(st, memberID)
		}
		r, err := nodes[0].Create(ctx, lead, room.CreateParams{Name: "Race", Kind: room.KindSupport})
		if err != nil {
			t.Fatal(err)
		}
		for i := range variants {
			if _, err := nodes[0].AddMember(ctx, lead, r.ID, fmt.Sprintf("u%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			won, lost int
		)
		for i, name := range variants {
			wg.Go(func() {
				_, err := nodes[i%len(nodes)].ClaimName(ctx, r.ID, fmt.Sprintf("u%d", i), name)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					won++
					return
				}
				lost++
				if protocol.AsError(err).Code != protocol.CodeNameTaken {
					t.Errorf("claim of %q: %v, want name_taken", name, err)
				}
			})
		}
		wg.Wait()
		got, err := nodes[0].Load(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if won != 1 || lost != len(variants)-1 || len(got.Names) != 1 {
			t.Fatalf("%d claims won, %d lost, names %v; want exactly one", won, lost, got.Names)
		}
	}
	t.Run("bolt", func(t *testing.T) {
		e := newEnv(t)
		run(t, []room.Store{e.bolt, e.bolt})
	})
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		var stores []room.Store
		for range 2 {
			st, err := store.NewRedis(ctx, srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			stores = append(stores, st)
		}
		run(t, stores)
	})
}

// currentVersion is room id's current guidelines version.
func currentVersion(t *testing.T, e env, id string) string {
	t.Helper()
	r := load(t, e, id)
	_, v := r.CurrentGuidelines()
	return v
}

// staleStore answers Room with an old copy, as a read that lost a race
// would, while UpdateRoom sees the store as it is.
type staleStore struct {
	room.Store
	old room.Room
}

func (s staleStore) Room(context.Context, string) (room.Room, error) { return s.old, nil }

// TestNoWriteWhenARaceMadeItUnchanged: when the plain read says a change is
// needed but, by the time of the update, someone else made it (the same
// claim, the same acceptance from another tab), nothing is written.
func TestNoWriteWhenARaceMadeItUnchanged(t *testing.T) {
	e := newEnv(t)
	a, _ := fixture(t, e, room.CreateParams{})
	old := load(t, e, a)
	must(t)(e.svc.ClaimName(ctx, a, mem.UserID, "Sam"))
	_, version := old.CurrentGuidelines()
	must(t)(e.svc.Accept(ctx, a, mem.UserID, version))
	v := load(t, e, a).Version

	stale := room.NewService(staleStore{Store: e.bolt, old: old}, memberID)
	r := must(t)(stale.ClaimName(ctx, a, mem.UserID, "Sam"))
	if r.Version != v || r.Names["m-mem"] != "Sam" {
		t.Errorf("ClaimName after a lost race: version %d (want %d), names %v", r.Version, v, r.Names)
	}
	r = must(t)(stale.Accept(ctx, a, mem.UserID, version))
	if r.Version != v || r.Agreements["m-mem"].Version != version {
		t.Errorf("Accept after a lost race: version %d (want %d), %v", r.Version, v, r.Agreements)
	}
	if got := load(t, e, a).Version; got != v {
		t.Errorf("version %d → %d: something was written", v, got)
	}
	// And a real change still lands through the stale read.
	if r := must(t)(stale.ClaimName(ctx, a, mem2.UserID, "Kim")); r.Version != v+1 || r.Names["m-mem2"] != "Kim" {
		t.Errorf("a real claim after a stale read: %+v", r.Names)
	}
}
