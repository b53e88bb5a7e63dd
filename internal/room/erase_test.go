package room_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"hearth/internal/protocol"
	"hearth/internal/room"
)

// DeleteUser takes a member out of every room — roster, name, agreement,
// lobby, mute, admission, index — keeps the audit log's member ids and adds
// left_service, and is idempotent; a facilitator's invites go too (member
// id or, from before, user id), and the lead's place passes on.
func TestDeleteUser(t *testing.T) {
	e := newEnv(t)
	a, b := fixture(t, e, room.CreateParams{})
	must(t)(e.svc.AddMember(ctx, otherFac, b, mem.UserID))
	must(t)(e.svc.StartSession(ctx, lead, a, 60))
	ra := load(t, e, a)
	_, v := ra.CurrentGuidelines()
	for _, id := range []string{a, b} {
		must(t)(e.svc.Accept(ctx, id, mem.UserID, v))
		must(t)(e.svc.ClaimName(ctx, id, mem.UserID, "Sam"))
	}
	must(t)(e.svc.AddWaiting(ctx, a, "m-mem", "Sam"))
	if _, _, err := e.svc.Admit(ctx, lead, a, "m-mem", room.MaxCapacity); err != nil {
		t.Fatal(err)
	}
	e.svc.MarkAdmitted(ctx, a, "m-mem", 7)
	if _, _, err := e.svc.Mute(ctx, lead, a, "m-mem", 0, "a pause"); err != nil {
		t.Fatal(err)
	}
	must(t)(e.svc.Ban(ctx, otherFac, b, "m-mem"))
	rep, err := e.svc.AddReport(ctx, a, room.Report{MessageID: "msg1", About: "m-mem2", Reporter: "m-mem"})
	if err != nil {
		t.Fatal(err)
	}

	rooms, err := e.svc.DeleteUser(ctx, mem.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{a, b}; !slices.Equal(slices.Sorted(slices.Values(rooms)), slices.Sorted(slices.Values(want))) {
		t.Errorf("DeleteUser reports rooms %v, want %v (the rooms to take their connections out of)", rooms, want)
	}
	for _, id := range []string{a, b} {
		r := load(t, e, id)
		_, named := r.Names["m-mem"]
		_, agreed := r.Agreements["m-mem"]
		_, muted := r.Muted["m-mem"]
		if slices.Contains(r.Roster, mem.UserID) || named || agreed || muted {
			t.Errorf("room %s still holds mem: roster %v names %v agreements %v muted %v", id, r.Roster, r.Names, r.Agreements, r.Muted)
		}
		if s := r.Session; s != nil {
			_, seq := s.AdmittedSeq["m-mem"]
			if slices.Contains(s.Admitted, "m-mem") || seq || slices.ContainsFunc(s.Waiting, func(w room.Waiting) bool { return w.MemberID == "m-mem" }) {
				t.Errorf("room %s session still holds mem: %+v", id, s)
			}
		}
		_, err := e.svc.CheckJoin(ctx, id, mem.UserID)
		wantCode(t, err, protocol.CodeNotMember)
		auditor := lead
		if id == b {
			auditor = otherFac
		}
		es := auditOf(t)(e.svc.Audit(ctx, auditor, id, 0, 1))
		if es[0].Action != room.ActionLeftService || es[0].Actor != "m-mem" || es[0].Target != "" {
			t.Errorf("room %s audit = %+v, want left_service by m-mem", id, es[0])
		}
	}
	// Kept: the ban (by member id), the open report, the audit log.
	if rb := load(t, e, b); !slices.Contains(rb.Banned, "m-mem") {
		t.Errorf("the ban was lifted by erasing: %v", rb.Banned)
	}
	if reps, _ := e.svc.Reports(ctx, lead, a); len(reps) != 1 || reps[0].ID != rep.ID {
		t.Errorf("reports = %+v", reps)
	}
	if ids, err := e.bolt.RoomsOf(ctx, mem.UserID); err != nil || len(ids) != 0 {
		t.Errorf("RoomsOf(mem) = %v, %v; want none", ids, err)
	}
	// Their name is free.
	must(t)(e.svc.ClaimName(ctx, a, mem2.UserID, "Sam"))

	// Idempotent: nothing more to change, nothing audited.
	before := load(t, e, a)
	n := len(auditOf(t)(e.svc.Audit(ctx, lead, a, 0, 200)))
	if err := erased(e.svc.DeleteUser(ctx, mem.UserID)); err != nil {
		t.Fatal(err)
	}
	if load(t, e, a).Version != before.Version || len(auditOf(t)(e.svc.Audit(ctx, lead, a, 0, 200))) != n {
		t.Error("a second DeleteUser changed something")
	}

	// A co-facilitator: out of the facilitators, invites gone (new and old
	// style); the lead's invite stays.
	coInv, err := e.svc.CreateInvite(ctx, co, a, 0)
	if err != nil {
		t.Fatal(err)
	}
	leadInv, err := e.svc.CreateInvite(ctx, lead, a, 0)
	if err != nil {
		t.Fatal(err)
	}
	legacy := room.Invite{Code: "legacy-co-invite", RoomID: a, CreatedBy: co.UserID, ExpiresAt: time.Now().Add(time.Hour)}
	if err := e.bolt.PutInvite(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	if err := erased(e.svc.DeleteUser(ctx, co.UserID)); err != nil {
		t.Fatal(err)
	}
	if r := load(t, e, a); !slices.Equal(r.Facilitators, []string{lead.UserID}) {
		t.Errorf("facilitators = %v", r.Facilitators)
	}
	for _, code := range []string{coInv.Code, legacy.Code} {
		if _, err := e.bolt.TakeInvite(ctx, code, time.Now()); !errors.Is(err, room.ErrNotFound) {
			t.Errorf("invite %s of the erased facilitator: %v", code, err)
		}
	}
	if _, err := e.bolt.TakeInvite(ctx, leadInv.Code, time.Now()); err != nil {
		t.Errorf("the lead's invite: %v", err)
	}

	// The lead of a room with a co-facilitator: the co-facilitator leads.
	must(t)(e.svc.AddFacilitator(ctx, lead, a, otherFac.UserID))
	if err := erased(e.svc.DeleteUser(ctx, lead.UserID)); err != nil {
		t.Fatal(err)
	}
	if r := load(t, e, a); !slices.Equal(r.Facilitators, []string{otherFac.UserID}) || r.RoleOf(otherFac.UserID) != room.RoleFacilitator {
		t.Errorf("after the lead left: facilitators %v", r.Facilitators)
	}

	wantCode(t, erased(e.svc.DeleteUser(ctx, "")), protocol.CodeInvalidRequest)
}

// erased drops DeleteUser's rooms, for checks of its error alone.
func erased(_ []string, err error) error { return err }

func auditOf(t *testing.T) func([]room.AuditEntry, error) []room.AuditEntry {
	return func(v []room.AuditEntry, err error) []room.AuditEntry {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// The only facilitator of any room is refused, naming the room, and nothing
// changes anywhere — not even in the rooms checked before it.
func TestDeleteUserNeverLeavesARoomWithoutFacilitator(t *testing.T) {
	e := newEnv(t)
	a, b := fixture(t, e, room.CreateParams{})
	must(t)(e.svc.AddFacilitator(ctx, lead, a, otherFac.UserID)) // a co-facilitator of A, alone in B
	ra, rb := load(t, e, a), load(t, e, b)
	audit := len(auditOf(t)(e.svc.Audit(ctx, lead, a, 0, 200)))

	err := erased(e.svc.DeleteUser(ctx, otherFac.UserID))
	wantCode(t, err, protocol.CodeLastFacilitator)
	if msg := protocol.AsError(err).Message; !strings.Contains(msg, b) || !strings.Contains(msg, "Other group") || strings.Contains(msg, a) {
		t.Errorf("message %q should name room B only", msg)
	}
	if load(t, e, a).Version != ra.Version || load(t, e, b).Version != rb.Version ||
		len(auditOf(t)(e.svc.Audit(ctx, lead, a, 0, 200))) != audit {
		t.Error("a refused DeleteUser changed something")
	}

	// Between the check and the update, the other facilitator of A steps
	// down: A's own update refuses, and A is unchanged.
	must(t)(e.svc.RemoveFacilitator(ctx, lead, a, co.UserID)) // A: lead and otherFac
	stale := room.NewService(staleStore{Store: e.bolt, old: load(t, e, a)}, memberID)
	must(t)(e.svc.RemoveFacilitator(ctx, lead, a, otherFac.UserID))
	v := load(t, e, a).Version
	wantCode(t, erased(stale.DeleteUser(ctx, lead.UserID)), protocol.CodeLastFacilitator)
	if r := load(t, e, a); r.Version != v || !slices.Equal(r.Facilitators, []string{lead.UserID}) {
		t.Errorf("room A after a refused update: %+v", r.Facilitators)
	}
}
