package room

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"hearth/internal/protocol"
)

// Authorization. Who may do what in a room is decided from the room's
// stored record — roster, facilitators, bans, mutes — read when the request
// is handled, never from the token (whose role only decides who may create
// rooms, and who is a supervisor). The whole policy, command by command and
// role by role, is the table in docs/protocol.md ("Authorization"); the
// tests read that table.
//
// Someone who is not one of a room's people is answered as if the room did
// not exist (not_found over REST; not_member for a WebSocket join), so
// nobody can probe which rooms exist. Refusals of a person for who they are
// in the room (DenialCode) are recorded in the room's audit log: actor,
// command, reason code and time, nothing of the request.

// ActionDenied is the audit action of a refusal; the entry's Command and
// Code say what was refused and why.
const ActionDenied = "denied"

// DenialInterval is how often one refusal is recorded: repeats of the same
// refusal (same room, actor, command and code) within it, on one node, are
// recorded once, so that nobody can flood a room's audit log.
const DenialInterval = time.Minute

// maxDenialKeys bounds the memory of recent refusals; when it is full the
// expired ones are dropped, and if none are, all are forgotten.
const maxDenialKeys = 4096

// ErrNotInRoom marks the not_found answer given to someone who is not one of
// a room's people — the same answer as for a room that does not exist — so
// that the audit log can tell the two apart: errors.Is(err, ErrNotInRoom).
var ErrNotInRoom = errors.New("room: not one of the room's people")

// notInRoom is the error for someone who is not one of a room's people:
// not_found on the wire, ErrNotInRoom for errors.Is.
func notInRoom() error {
	return fmt.Errorf("%w (%w)", protocol.Err(protocol.CodeNotFound), ErrNotInRoom)
}

// denialCodes are the codes that refuse a person for who they are in the
// room: their role, a ban, a mute, observing, someone else's turn.
var denialCodes = []protocol.Code{
	protocol.CodeForbidden, protocol.CodeNotMember, protocol.CodeBanned, protocol.CodeNotFacilitator,
	protocol.CodeMuted, protocol.CodeObserver, protocol.CodeNotYourTurn, protocol.CodeNotInRoom,
}

// DenialCode returns the reason code to record for err and whether err is a
// refusal to record at all: one of the codes above, or the not_found of
// someone who is not in the room (recorded as not_member). Anything else —
// bad input, an unknown member or message, the wrong phase, an outage — is
// not a decision about the person and is not recorded.
func DenialCode(err error) (protocol.Code, bool) {
	if err == nil {
		return "", false
	}
	if errors.Is(err, ErrNotInRoom) {
		return protocol.CodeNotMember, true
	}
	code := protocol.AsError(err).Code
	return code, slices.Contains(denialCodes, code)
}

// denials remembers when each refusal was last recorded (see
// DenialInterval).
type denials struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due reports whether the refusal key should be recorded at now, and if so
// remembers it.
func (d *denials) due(key string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil {
		d.last = map[string]time.Time{}
	}
	if at, ok := d.last[key]; ok && now.Sub(at) < DenialInterval {
		return false
	}
	if len(d.last) >= maxDenialKeys {
		for k, at := range d.last {
			if now.Sub(at) >= DenialInterval {
				delete(d.last, k)
			}
		}
		if len(d.last) >= maxDenialKeys {
			clear(d.last)
		}
	}
	d.last[key] = now
	return true
}

// Denied records in room id's audit log that the actor was refused command
// (a WebSocket frame type, or a REST endpoint's audit name) for reason err,
// when err is a refusal to record (DenialCode): an entry with Action
// ActionDenied, the actor's member id, Command and Code — nothing else of
// the request. A room that does not exist records nothing. Repeats within
// DenialInterval are recorded once. Best effort, like every audit entry: it
// never fails the caller, and it reports whether it recorded the refusal.
func (s *Service) Denied(ctx context.Context, a Actor, id, command string, err error) bool {
	code, ok := DenialCode(err)
	if !ok || id == "" {
		return false
	}
	actor := s.memberID(id, a.UserID)
	now := s.now().UTC()
	if !s.denials.due(id+"\x00"+actor+"\x00"+command+"\x00"+string(code), now) {
		return false
	}
	return s.store.AppendAudit(ctx, id, AuditEntry{Actor: actor, Action: ActionDenied, Command: command, Code: code, At: now}) == nil
}

// authorize returns the actor's role in r once allow accepts it. Someone
// who is not one of the room's people gets not_found (ErrNotInRoom: the
// answer for a room that does not exist), a banned member banned, and a
// role that allow refuses forbidden.
func (s *Service) authorize(r *Room, a Actor, allow func(Role) bool) (Role, error) {
	role := r.RoleOf(a.UserID)
	switch {
	case role == RoleNone:
		return RoleNone, notInRoom()
	case role == RoleMember && r.IsBanned(s.memberID(r.ID, a.UserID)):
		return RoleNone, protocol.Err(protocol.CodeBanned)
	case !allow(role):
		return RoleNone, protocol.Err(protocol.CodeForbidden)
	}
	return role, nil
}

// IsBanned reports whether memberID is banned from the room.
func (r *Room) IsBanned(memberID string) bool { return slices.Contains(r.Banned, memberID) }

// Standing is what a person may still do in a room right now, read from
// the room's record: their role, or why they may no longer act there.
// memberID is userID's member id in r (the memberID function NewService
// was given), which a connection holds already: Standing runs for every
// message, and computing it (an HMAC) each time is what it avoids.
// Errors: not_member (they are no longer one of its people), banned.
func (s *Service) Standing(r *Room, userID, memberID string) (Role, error) {
	role := r.RoleOf(userID)
	switch {
	case role == RoleNone:
		return RoleNone, protocol.Err(protocol.CodeNotMember)
	case role == RoleMember && r.IsBanned(memberID):
		return RoleNone, protocol.Err(protocol.CodeBanned)
	}
	return role, nil
}

// knownTarget reports whether target names someone action may be aimed
// at in r: a member on the roster; for unmute also anyone muted, and for
// unban anyone banned (a mute or a ban outlives the place on the roster).
// admit and deny check the lobby themselves.
func (s *Service) knownTarget(r *Room, action, target string) bool {
	switch action {
	case "admit", "deny":
		return true
	case "unmute":
		if _, ok := r.Muted[target]; ok {
			return true
		}
	case "unban":
		if r.IsBanned(target) {
			return true
		}
	}
	return slices.ContainsFunc(r.Roster, func(u string) bool { return s.memberID(r.ID, u) == target })
}
