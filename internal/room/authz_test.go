package room_test

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"hearth/internal/protocol"
	"hearth/internal/room"
)

// Refusals of a person are recorded with metadata only, once per interval;
// anything else is not recorded, and a room that does not exist records
// nothing.
func TestDeniedRecordsMetadataOnce(t *testing.T) {
	e := newEnv(t)
	a, _ := fixture(t, e, room.CreateParams{})
	count := func() int { return len(auditOf(t)(e.svc.Audit(ctx, lead, a, 0, room.MaxAuditLimit))) }
	n := count()
	cases := []struct {
		name    string
		actor   room.Actor
		command string
		err     error
		code    protocol.Code // "" when not recorded
	}{
		{"forbidden", mem, "mute", protocol.Err(protocol.CodeForbidden), protocol.CodeForbidden},
		{"the same again, at once", mem, "mute", protocol.Err(protocol.CodeForbidden), ""},
		{"another command", mem, "ban", protocol.Err(protocol.CodeForbidden), protocol.CodeForbidden},
		{"a stranger's not_found", outsider, "read_room", func() error { _, _, err := e.svc.Get(ctx, outsider, a); return err }(), protocol.CodeNotMember},
		{"muted", mem2, "send", protocol.Err(protocol.CodeMuted), protocol.CodeMuted},
		{"bad input", lead, "mute", protocol.Err(protocol.CodeInvalidRequest), ""},
		{"an unknown member", lead, "mute", protocol.Err(protocol.CodeNotFound), ""},
		{"an outage", lead, "mute", errors.New("redis: connection refused"), ""},
	}
	for _, tc := range cases {
		recorded := e.svc.Denied(ctx, tc.actor, a, tc.command, tc.err)
		if recorded != (tc.code != "") {
			t.Errorf("%s: recorded = %v", tc.name, recorded)
		}
		if !recorded {
			if count() != n {
				t.Errorf("%s: an entry was added", tc.name)
			}
			continue
		}
		n++
		got := auditOf(t)(e.svc.Audit(ctx, lead, a, 0, 1))[0]
		want := room.AuditEntry{Seq: got.Seq, Actor: "m-" + tc.actor.UserID, Action: room.ActionDenied, Command: tc.command, Code: tc.code, At: got.At}
		if got != want || got.At.IsZero() {
			t.Errorf("%s: entry %+v, want %+v", tc.name, got, want)
		}
	}
	if e.svc.Denied(ctx, mem, "rnosuchroom", "mute", protocol.Err(protocol.CodeForbidden)) {
		t.Error("a refusal in a room that does not exist was recorded")
	}
}

// Regression: mute (and every control aimed at a member) accepted member
// ids of nobody in the group. They are refused with not_found and change
// nothing; unmute and unban still reach someone muted or banned who left
// the roster.
func TestControlsRefuseUnknownTargets(t *testing.T) {
	e := newEnv(t)
	a, _ := fixture(t, e, room.CreateParams{})
	must(t)(e.svc.StartSession(ctx, lead, a, 60))
	before := load(t, e, a)
	for name, call := range map[string]func() error{
		"warn":   func() error { _, _, err := e.svc.Warn(ctx, lead, a, "m-nobody", "r"); return err },
		"mute":   func() error { _, _, err := e.svc.Mute(ctx, lead, a, "m-nobody", 5, "r"); return err },
		"unmute": func() error { _, err := e.svc.Unmute(ctx, lead, a, "m-nobody"); return err },
		"remove": func() error { _, err := e.svc.Remove(ctx, lead, a, "m-nobody"); return err },
		"ban":    func() error { _, err := e.svc.Ban(ctx, lead, a, "m-nobody"); return err },
		"unban":  func() error { _, err := e.svc.Unban(ctx, lead, a, "m-nobody"); return err },
		"ban of someone off the roster": func() error {
			_, err := e.svc.Ban(ctx, lead, a, "m-outsider")
			return err
		},
	} {
		wantCode(t, call(), protocol.CodeNotFound)
		if after := load(t, e, a); after.Version != before.Version || len(after.Muted) != 0 || len(after.Banned) != 0 {
			t.Fatalf("%s of an unknown member changed the room: %+v", name, after)
		}
	}
	// Muted and banned, then gone from the roster: the facilitators can
	// still lift both.
	_, _, err := e.svc.Mute(ctx, lead, a, "m-mem", 0, "r")
	if err != nil {
		t.Fatal(err)
	}
	must(t)(e.svc.Ban(ctx, lead, a, "m-mem"))
	must(t)(e.svc.RemoveMember(ctx, lead, a, mem.UserID))
	must(t)(e.svc.Unmute(ctx, lead, a, "m-mem"))
	must(t)(e.svc.Unban(ctx, lead, a, "m-mem"))
	if r := load(t, e, a); len(r.Muted) != 0 || len(r.Banned) != 0 {
		t.Errorf("after unmute and unban: %+v %+v", r.Muted, r.Banned)
	}
}

// Admit lets in no more than the free seats, first come first in.
func TestAdmitKeepsToFreeSeats(t *testing.T) {
	e := newEnv(t)
	a, _ := fixture(t, e, room.CreateParams{})
	must(t)(e.svc.StartSession(ctx, lead, a, 60))
	for _, m := range []string{"m-w1", "m-w2", "m-w3"} { // in arrival order
		must(t)(e.svc.AddWaiting(ctx, a, m, ""))
	}
	_, _, err := e.svc.Admit(ctx, lead, a, "m-w1", 0)
	wantCode(t, err, protocol.CodeRoomFull)
	_, _, err = e.svc.Admit(ctx, lead, a, "", 0)
	wantCode(t, err, protocol.CodeRoomFull)
	r, admitted, err := e.svc.Admit(ctx, lead, a, "", 2)
	if err != nil || !slices.Equal(admitted, []string{"m-w1", "m-w2"}) || len(r.Session.Waiting) != 1 || r.Session.Waiting[0].MemberID != "m-w3" {
		t.Fatalf("admit_all with 2 seats: %v %v, waiting %+v", admitted, err, r.Session.Waiting)
	}
	_, admitted, err = e.svc.Admit(ctx, lead, a, "m-w3", 1)
	if err != nil || !slices.Equal(admitted, []string{"m-w3"}) {
		t.Fatalf("admit with a seat: %v %v", admitted, err)
	}
	if _, admitted, err = e.svc.Admit(ctx, lead, a, "", 0); err != nil || len(admitted) != 0 {
		t.Fatalf("admit_all with nobody waiting: %v %v", admitted, err)
	}
}

// A facilitator's first name in the room wins over members' (who lose
// it, audited); later, or for a facilitator with a name, it does not.
func TestFacilitatorFirstNameReleasesMembers(t *testing.T) {
	e := newEnv(t)
	a, _ := fixture(t, e, room.CreateParams{})
	must(t)(e.svc.ClaimName(ctx, a, mem.UserID, "Dr Lee"))
	must(t)(e.svc.ClaimName(ctx, a, mem2.UserID, "Robin"))
	must(t)(e.svc.ClaimName(ctx, a, co.UserID, "Kim"))

	r, released, err := e.svc.ClaimNameReleasing(ctx, a, lead.UserID, "Dr. Lee")
	if err != nil || !slices.Equal(released, []string{"m-mem"}) {
		t.Fatalf("lead's first claim: released %v, %v", released, err)
	}
	if want := map[string]string{"m-lead": "Dr. Lee", "m-mem2": "Robin", "m-co": "Kim"}; !maps.Equal(r.Names, want) {
		t.Errorf("names = %v, want %v", r.Names, want)
	}
	if es := auditOf(t)(e.svc.Audit(ctx, lead, a, 0, 1)); es[0].Action != room.ActionReleaseName || es[0].Actor != "m-lead" || es[0].Target != "m-mem" {
		t.Errorf("audit = %+v", es[0])
	}
	_, err = e.svc.ClaimName(ctx, a, mem.UserID, "DR LEE")
	wantCode(t, err, protocol.CodeNameReserved)
	// Named facilitators do not release: co has "Kim", the lead "Dr. Lee".
	v := load(t, e, a).Version
	_, err = e.svc.ClaimName(ctx, a, co.UserID, "Robin")
	wantCode(t, err, protocol.CodeNameTaken)
	_, err = e.svc.ClaimName(ctx, a, lead.UserID, "robin")
	wantCode(t, err, protocol.CodeNameTaken)
	if load(t, e, a).Version != v {
		t.Error("a refused claim changed the room")
	}
}

// A banned member reads nothing of the room and does not see it among
// their rooms, but may leave the group; someone not in the room is
// answered like a room that does not exist, and Standing tells the hub
// the same from the record.
func TestBannedMemberReadsNothing(t *testing.T) {
	e := newEnv(t)
	a, _ := fixture(t, e, room.CreateParams{})
	must(t)(e.svc.Ban(ctx, lead, a, "m-mem"))
	_, _, err := e.svc.Get(ctx, mem, a)
	wantCode(t, err, protocol.CodeBanned)
	_, _, err = e.svc.Guidelines(ctx, mem, a)
	wantCode(t, err, protocol.CodeBanned)
	_, err = e.svc.Audit(ctx, mem, a, 0, 0)
	wantCode(t, err, protocol.CodeBanned)
	if rs, err := e.svc.Mine(ctx, mem); err != nil || len(rs) != 0 {
		t.Errorf("a banned member's rooms: %v %v", rs, err)
	}
	r := load(t, e, a)
	for actor, want := range map[room.Actor]protocol.Code{mem: protocol.CodeBanned, outsider: protocol.CodeNotMember, otherFac: protocol.CodeNotMember} {
		_, err := e.svc.Standing(&r, actor.UserID, memberID(a, actor.UserID))
		wantCode(t, err, want)
	}
	if role, err := e.svc.Standing(&r, co.UserID, memberID(a, co.UserID)); err != nil || role != room.RoleCoFacilitator {
		t.Errorf("co's standing = %q, %v", role, err)
	}
	_, _, err = e.svc.Get(ctx, outsider, a)
	wantCode(t, err, protocol.CodeNotFound)
	if err := e.svc.LeaveGroup(ctx, mem, a); err != nil {
		t.Fatalf("a banned member leaving the group: %v", err)
	}
	if r := load(t, e, a); slices.Contains(r.Roster, mem.UserID) || !r.IsBanned("m-mem") {
		t.Errorf("after leaving: roster %v, banned %v (the ban stays)", r.Roster, r.Banned)
	}
}
