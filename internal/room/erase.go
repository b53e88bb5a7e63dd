package room

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"hearth/internal/protocol"
)

// ActionLeftService is the audit action DeleteUser records in each room the
// user belonged to, with their member id as the actor.
const ActionLeftService = "left_service"

// DeleteUser erases what Hearth keeps about userID (DELETE /api/me): in
// every room where they are a facilitator or on the roster it takes them
// off the roster and out of the facilitators (a lead facilitator's place
// goes to the next co-facilitator) and deletes their display name (Names),
// their acceptance of the group agreement (Agreements), their place in the
// lobby, their mute and their admission to the current session; it records
// ActionLeftService in that room's audit log (their member id, which the
// log already holds and which is a keyed one-way hash of the user id); and
// it deletes every invite they created that has not been redeemed yet. The
// user→rooms index entries go with the memberships (the store updates the
// index in the same transaction), so no per-user key is left.
//
// It keeps, by member id only: a ban (erasing oneself must not lift it),
// open reports and crisis alerts (safety records, kept until a facilitator
// or supervisor acknowledges them), the audit log, and reactions and the
// sharing state held by the broker for at most 12 hours. A connection still
// open in one of those rooms is for the caller to take out (the REST API
// asks the hub to, with the rooms returned); its next join is refused with
// not_member.
//
// A room is never left without a facilitator. Every room is checked before
// anything changes: if userID is the only facilitator of one or more
// rooms, the request is refused with last_facilitator naming those rooms,
// and nothing is deleted. The check and the erasure are not one
// transaction across rooms (the stores have none), so if another
// facilitator of a room steps down in between, that room's own atomic
// update refuses with last_facilitator too; the rooms erased before it
// stay erased, and the request can be repeated once the room has another
// facilitator. DeleteUser is idempotent: after it succeeds, calling it
// again changes nothing and succeeds.
//
// It returns the ids of the rooms it took the user out of (also with an
// error: those erased before it), so that the caller can take their open
// connections out of those rooms too.
//
// Errors: last_facilitator, invalid_request (an empty user id),
// unavailable (the store failed; what was erased stays erased, and
// repeating the request finishes the job).
func (s *Service) DeleteUser(ctx context.Context, userID string) ([]string, error) {
	if userID == "" {
		return nil, invalid("A user id is required.")
	}
	ids, err := s.store.RoomsOf(ctx, userID)
	if err != nil {
		return nil, storeErr(err)
	}
	// Check every room first, so that a refusal changes nothing.
	var only []string
	for _, id := range ids {
		r, err := s.store.Room(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, storeErr(err)
		}
		if onlyFacilitator(&r, userID) {
			only = append(only, fmt.Sprintf("%q (room %s)", r.Name, r.ID))
		}
	}
	if len(only) > 0 {
		return nil, protocol.Errf(protocol.CodeLastFacilitator,
			"You are the only facilitator of %s. Make someone else a facilitator there first; nothing was deleted.",
			strings.Join(only, ", "))
	}
	var erased []string
	for _, id := range ids {
		_, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
			if r.RoleOf(userID) == RoleNone {
				return errUnchanged
			}
			if onlyFacilitator(r, userID) {
				return protocol.Errf(protocol.CodeLastFacilitator,
					"You became the only facilitator of %q (room %s) while your data was being deleted. Make someone else a facilitator there, then ask again to finish.",
					r.Name, r.ID)
			}
			s.erase(r, userID)
			return nil
		})
		switch {
		case errors.Is(err, errUnchanged), errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			return erased, storeErr(err)
		}
		erased = append(erased, id)
		s.audit(ctx, id, userID, ActionLeftService, "")
	}
	// Check-ins are not room data: the DELETE /api/me handler
	// (internal/httpapi) erases them from the check-in store after this
	// returns nil (a refusal above must still change nothing).
	if _, err := s.store.DeleteInvites(ctx, func(inv Invite) bool {
		// Invites made before CreatedBy held member ids hold the user id.
		return inv.CreatedBy == userID || inv.CreatedBy == s.memberID(inv.RoomID, userID)
	}); err != nil {
		return erased, storeErr(err)
	}
	return erased, nil
}

// onlyFacilitator reports whether userID is the room's only facilitator.
func onlyFacilitator(r *Room, userID string) bool {
	return len(r.Facilitators) == 1 && r.Facilitators[0] == userID
}

// erase takes userID out of the room entirely: off the roster, out of the
// facilitators, and everything forget deletes, plus their mute and their
// admission to the current session (all keyed by member id).
func (s *Service) erase(r *Room, userID string) {
	r.Roster = slices.DeleteFunc(r.Roster, func(u string) bool { return u == userID })
	r.Facilitators = slices.DeleteFunc(r.Facilitators, func(u string) bool { return u == userID })
	s.forget(r, userID)
	m := s.memberID(r.ID, userID)
	delete(r.Muted, m)
	if r.Session != nil {
		r.Session.Admitted = slices.DeleteFunc(r.Session.Admitted, func(a string) bool { return a == m })
		delete(r.Session.AdmittedSeq, m)
	}
}
