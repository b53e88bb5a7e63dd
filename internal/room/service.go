package room

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"hearth/internal/protocol"
)

// Role is a person's role in one room, decided by the store's record of the
// room, never by the token (the token's role only decides who may create
// rooms).
type Role string

// Roles in a room. The lead facilitator is the first in Room.Facilitators
// (the creator, until they step down); co-facilitators have every power of a
// facilitator except managing facilitators.
const (
	RoleNone          Role = ""
	RoleMember        Role = "member"
	RoleCoFacilitator Role = "co_facilitator"
	RoleFacilitator   Role = "facilitator"
)

// Facilitates reports whether the role leads the group (facilitator or
// co-facilitator).
func (r Role) Facilitates() bool { return r == RoleFacilitator || r == RoleCoFacilitator }

// RoleOf returns userID's role in the room.
func (r *Room) RoleOf(userID string) Role {
	switch i := slices.Index(r.Facilitators, userID); {
	case i == 0:
		return RoleFacilitator
	case i > 0:
		return RoleCoFacilitator
	case slices.Contains(r.Roster, userID):
		return RoleMember
	}
	return RoleNone
}

// Limits of room settings.
const (
	MaxNameRunes      = 80                 // a room name, after trimming
	DefaultInviteTTL  = 7 * 24 * time.Hour // an invite's life when none is given
	MaxInviteTTL      = 30 * 24 * time.Hour
	MaxAutoLockMin    = 24 * 60
	DefaultAuditLimit = 50
	MaxAuditLimit     = 200
)

// Actor is who is asking: the user id and the role claimed by their token.
type Actor struct {
	UserID    string
	TokenRole string
}

// Service applies the rules of rooms to the store. It is safe for
// concurrent use.
type Service struct {
	store    Store
	memberID func(room, user string) string
	now      func() time.Time
	denials  denials // refusals recorded lately (see Denied)
}

// NewService returns a Service over st; memberID derives the member id of a
// user in a room (auth.MemberIDs.For).
func NewService(st Store, memberID func(room, user string) string) *Service {
	return &Service{store: st, memberID: memberID, now: time.Now}
}

// MemberID returns userID's member id in room.
func (s *Service) MemberID(room, userID string) string { return s.memberID(room, userID) }

func invalid(format string, args ...any) *protocol.Error {
	return protocol.Errf(protocol.CodeInvalidRequest, format, args...)
}

// storeErr maps store errors to protocol errors.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return protocol.Err(protocol.CodeNotFound)
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%w (store: %v)", protocol.Err(protocol.CodeUnavailable), err)
}

// CreateParams are the settings of a new room.
type CreateParams struct {
	Name          string    `json:"name"`
	Kind          Kind      `json:"kind"`
	Capacity      int       `json:"capacity"`
	WaitingRoom   bool      `json:"waiting_room"`
	AutoLockAfter int       `json:"auto_lock_after_min"`
	Schedule      *Schedule `json:"schedule"`
}

func (p *CreateParams) validate() error {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" || utf8.RuneCountInString(p.Name) > MaxNameRunes {
		return invalid("A room name is 1 to %d characters.", MaxNameRunes)
	}
	for _, r := range p.Name {
		if r < 0x20 || r == 0x7f {
			return invalid("A room name cannot contain control characters.")
		}
	}
	if !p.Kind.Valid() {
		return invalid("kind must be one of support, cbt, dbt, mbct, other.")
	}
	if p.Capacity == 0 {
		p.Capacity = DefaultCapacity
	}
	if p.Capacity < MinCapacity || p.Capacity > MaxCapacity {
		return invalid("capacity must be between %d and %d.", MinCapacity, MaxCapacity)
	}
	if p.AutoLockAfter < 0 || p.AutoLockAfter > MaxAutoLockMin {
		return invalid("auto_lock_after_min must be between 0 and %d.", MaxAutoLockMin)
	}
	if sc := p.Schedule; sc != nil {
		if _, err := time.LoadLocation(sc.TimeZone); err != nil || sc.TimeZone == "" {
			return invalid("schedule.time_zone must be an IANA time zone such as America/Chicago.")
		}
		if _, err := time.Parse("15:04", sc.StartLocal); err != nil {
			return invalid("schedule.start_local must be a 24-hour time such as 19:00.")
		}
		if sc.Weekday < time.Sunday || sc.Weekday > time.Saturday || sc.DurationMin < 1 || sc.DurationMin > 24*60 {
			return invalid("schedule.weekday is 0 (Sunday) to 6, and duration_min 1 to 1440.")
		}
	}
	return nil
}

// NewRoomID returns a random room id: "r" and 15 lowercase base32
// characters.
func NewRoomID() string { return "r" + strings.ToLower(rand.Text()[:15]) }

// Create makes a room whose first facilitator is the actor. Only users whose
// token role is facilitator may create rooms. Errors: forbidden,
// invalid_request, unavailable.
func (s *Service) Create(ctx context.Context, a Actor, p CreateParams) (Room, error) {
	if a.TokenRole != protocol.RoleFacilitator {
		return Room{}, protocol.Err(protocol.CodeForbidden)
	}
	if err := p.validate(); err != nil {
		return Room{}, err
	}
	return s.create(ctx, a, NewRoomID(), p)
}

func (s *Service) create(ctx context.Context, a Actor, id string, p CreateParams) (Room, error) {
	r := Room{
		ID: id, Name: p.Name, Kind: p.Kind, Capacity: p.Capacity, WaitingRoom: p.WaitingRoom,
		AutoLockAfter: p.AutoLockAfter, Schedule: p.Schedule, CreatedAt: s.now().UTC(),
		Facilitators: []string{a.UserID}, Roster: []string{}, Phase: PhaseIdle,
	}
	if err := s.store.CreateRoom(ctx, r); err != nil {
		if errors.Is(err, ErrExists) {
			return Room{}, fmt.Errorf("%w: room %s exists", ErrExists, id)
		}
		return Room{}, storeErr(err)
	}
	s.audit(ctx, id, a.UserID, "create_room", "")
	return s.store.Room(ctx, id)
}

// Ensure creates a room with a given id if it does not exist (used by -dev
// mode for the demo room), with the given facilitator and roster, and an
// open session without waiting room. It returns the room as stored.
func (s *Service) Ensure(ctx context.Context, id string, facilitator string, roster []string, p CreateParams) (Room, error) {
	if err := p.validate(); err != nil {
		return Room{}, err
	}
	if _, err := s.create(ctx, Actor{UserID: facilitator, TokenRole: protocol.RoleFacilitator}, id, p); err != nil && !errors.Is(err, ErrExists) {
		return Room{}, err
	}
	r, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
		for _, u := range roster {
			if !slices.Contains(r.Roster, u) {
				r.Roster = append(r.Roster, u)
			}
		}
		if r.Phase != PhaseOpen {
			now := s.now().UTC()
			r.Phase = PhaseOpen
			r.Session = &Session{StartedAt: now, PlannedEnd: now.Add(90 * time.Minute)}
		}
		return nil
	})
	return r, storeErr(err)
}

// Get returns the room and the actor's role in it, for one of the room's
// people. Errors: not_found (no such room, or the actor is not one of its
// people: the same answer, so that nobody can tell which rooms exist; the
// second wraps ErrNotInRoom), banned (a banned member), unavailable.
func (s *Service) Get(ctx context.Context, a Actor, id string) (Room, Role, error) {
	r, err := s.store.Room(ctx, id)
	if err != nil {
		return Room{}, RoleNone, storeErr(err)
	}
	role, err := s.authorize(&r, a, func(Role) bool { return true })
	if err != nil {
		return Room{}, RoleNone, err
	}
	return r, role, nil
}

// Mine returns the rooms where the actor is a facilitator or on the roster,
// except those that banned them.
func (s *Service) Mine(ctx context.Context, a Actor) ([]Room, error) {
	ids, err := s.store.RoomsOf(ctx, a.UserID)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]Room, 0, len(ids))
	for _, id := range ids {
		r, err := s.store.Room(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, storeErr(err)
		}
		if r.RoleOf(a.UserID) == RoleMember && r.IsBanned(s.memberID(id, a.UserID)) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// update applies fn to room id after checking that the actor's role passes
// allow (see authorize: not_found for someone not in the room, banned,
// forbidden); fn sees the actor's role. It records action in the audit log,
// naming the target user by their member id.
func (s *Service) update(ctx context.Context, a Actor, id, action, targetUser string, allow func(Role) bool, fn func(*Room, Role) error) (Room, error) {
	target := ""
	if targetUser != "" {
		target = s.memberID(id, targetUser)
	}
	return s.updateMember(ctx, a, id, action, target, allow, fn)
}

// updateMember is update for an action whose target is a member id.
func (s *Service) updateMember(ctx context.Context, a Actor, id, action, targetMember string, allow func(Role) bool, fn func(*Room, Role) error) (Room, error) {
	r, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
		role, err := s.authorize(r, a, allow)
		if err != nil {
			return err
		}
		return fn(r, role)
	})
	if err != nil {
		return Room{}, storeErr(err)
	}
	s.audit(ctx, id, a.UserID, action, targetMember)
	return r, nil
}

func facilitates(r Role) bool { return r.Facilitates() }
func leads(r Role) bool       { return r == RoleFacilitator }

// audit records an action by actorUser; the log holds member ids only.
// A failure to record is not the caller's failure: the action happened.
func (s *Service) audit(ctx context.Context, id, actorUser, action, target string) {
	_ = s.store.AppendAudit(ctx, id, AuditEntry{Actor: s.memberID(id, actorUser), Action: action, Target: target, At: s.now().UTC()})
}

func checkUserID(u string) error {
	if u == "" || len(u) > 256 {
		return invalid("user_id is required (at most 256 bytes).")
	}
	if u == "me" {
		return invalid("\"me\" is reserved and cannot be a user id.")
	}
	return nil
}

// AddMember puts userID on the roster (facilitators only; idempotent).
func (s *Service) AddMember(ctx context.Context, a Actor, id, userID string) (Room, error) {
	if err := checkUserID(userID); err != nil {
		return Room{}, err
	}
	return s.update(ctx, a, id, "add_member", userID, facilitates, func(r *Room, _ Role) error {
		if !slices.Contains(r.Roster, userID) && !slices.Contains(r.Facilitators, userID) {
			r.Roster = append(r.Roster, userID)
		}
		return nil
	})
}

// RemoveMember takes userID off the roster (facilitators only), and
// forgets their display name, their acceptance of the group agreement and
// their place in the lobby. Errors: not_found when they are not on it.
func (s *Service) RemoveMember(ctx context.Context, a Actor, id, userID string) (Room, error) {
	return s.update(ctx, a, id, "remove_member", userID, facilitates, func(r *Room, _ Role) error {
		i := slices.Index(r.Roster, userID)
		if i < 0 {
			return protocol.Err(protocol.CodeNotFound)
		}
		r.Roster = slices.Delete(r.Roster, i, i+1)
		s.forget(r, userID)
		return nil
	})
}

// LeaveGroup takes the actor off the roster of room id and, like
// RemoveMember, forgets their display name and acceptance. A banned member
// may leave too (the ban, by member id, stays). A facilitator leaves
// through RemoveFacilitator (never the last one). Errors: not_found when
// the actor is not a member (wrapping ErrNotInRoom), forbidden for a
// facilitator.
func (s *Service) LeaveGroup(ctx context.Context, a Actor, id string) error {
	_, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
		switch role := r.RoleOf(a.UserID); {
		case role == RoleNone:
			return notInRoom()
		case role.Facilitates():
			return protocol.Errf(protocol.CodeForbidden, "Facilitators step down through the facilitators endpoint.")
		}
		r.Roster = slices.DeleteFunc(r.Roster, func(u string) bool { return u == a.UserID })
		s.forget(r, a.UserID)
		return nil
	})
	if err != nil {
		return storeErr(err)
	}
	s.audit(ctx, id, a.UserID, "leave_group", "")
	return nil
}

// AddFacilitator makes userID a co-facilitator (the lead facilitator only).
func (s *Service) AddFacilitator(ctx context.Context, a Actor, id, userID string) (Room, error) {
	if err := checkUserID(userID); err != nil {
		return Room{}, err
	}
	return s.update(ctx, a, id, "add_facilitator", userID, leads, func(r *Room, _ Role) error {
		if !slices.Contains(r.Facilitators, userID) {
			r.Facilitators = append(r.Facilitators, userID)
			r.Roster = slices.DeleteFunc(r.Roster, func(u string) bool { return u == userID })
			// A facilitator is never banned or muted (those controls cannot
			// reach facilitators, so nothing could lift them later).
			m := s.memberID(id, userID)
			r.Banned = slices.DeleteFunc(r.Banned, func(b string) bool { return b == m })
			delete(r.Muted, m)
		}
		return nil
	})
}

// RemoveFacilitator removes userID from the facilitators (the lead
// facilitator only), never the last one, and forgets their display name.
// Errors: last_facilitator, not_found.
func (s *Service) RemoveFacilitator(ctx context.Context, a Actor, id, userID string) (Room, error) {
	return s.update(ctx, a, id, "remove_facilitator", userID, leads, func(r *Room, _ Role) error {
		i := slices.Index(r.Facilitators, userID)
		if i < 0 {
			return protocol.Err(protocol.CodeNotFound)
		}
		if len(r.Facilitators) == 1 {
			return protocol.Err(protocol.CodeLastFacilitator)
		}
		r.Facilitators = slices.Delete(r.Facilitators, i, i+1)
		s.forget(r, userID)
		return nil
	})
}

// CreateInvite makes a single-use invite to room id, valid for ttl (0:
// DefaultInviteTTL; at most MaxInviteTTL). Facilitators only.
func (s *Service) CreateInvite(ctx context.Context, a Actor, id string, ttl time.Duration) (Invite, error) {
	if ttl == 0 {
		ttl = DefaultInviteTTL
	}
	if ttl < time.Minute || ttl > MaxInviteTTL {
		return Invite{}, invalid("An invite is valid for 1 minute to %d days.", int(MaxInviteTTL.Hours()/24))
	}
	r, role, err := s.Get(ctx, a, id)
	if err != nil {
		return Invite{}, err
	}
	if !role.Facilitates() {
		return Invite{}, protocol.Err(protocol.CodeForbidden)
	}
	inv := Invite{Code: strings.ToLower(rand.Text()), RoomID: r.ID, CreatedBy: s.memberID(r.ID, a.UserID), ExpiresAt: s.now().Add(ttl).UTC()}
	if err := s.store.PutInvite(ctx, inv); err != nil {
		return Invite{}, storeErr(err)
	}
	s.audit(ctx, id, a.UserID, "create_invite", "")
	return inv, nil
}

// RedeemInvite uses an invite: the actor joins the roster of its room.
// Errors: invite_invalid (unknown, used or expired).
func (s *Service) RedeemInvite(ctx context.Context, a Actor, code string) (Room, error) {
	if code == "" || len(code) > 64 {
		return Room{}, protocol.Err(protocol.CodeInviteInvalid)
	}
	inv, err := s.store.TakeInvite(ctx, code, s.now())
	if errors.Is(err, ErrNotFound) {
		return Room{}, protocol.Err(protocol.CodeInviteInvalid)
	}
	if err != nil {
		return Room{}, storeErr(err)
	}
	r, err := s.store.UpdateRoom(ctx, inv.RoomID, func(r *Room) error {
		if !slices.Contains(r.Roster, a.UserID) && !slices.Contains(r.Facilitators, a.UserID) {
			r.Roster = append(r.Roster, a.UserID)
		}
		return nil
	})
	if err != nil {
		_ = s.store.PutInvite(ctx, inv) // give the invite back: nothing was used
		return Room{}, storeErr(err)
	}
	s.audit(ctx, r.ID, a.UserID, "redeem_invite", "")
	return r, nil
}

// Audit returns the room's audit log, newest first (facilitators and
// supervisors).
func (s *Service) Audit(ctx context.Context, a Actor, id string, before uint64, limit int) ([]AuditEntry, error) {
	if _, err := s.oversees(ctx, a, id); err != nil {
		return nil, err
	}
	switch {
	case limit <= 0:
		limit = DefaultAuditLimit
	case limit > MaxAuditLimit:
		limit = MaxAuditLimit
	}
	es, err := s.store.Audit(ctx, id, before, limit)
	return es, storeErr(err)
}

// Admission is the outcome of a join's room checks.
type Admission struct {
	Room Room
	Role Role
	// Wait is true when the member must wait in the lobby for a facilitator.
	Wait bool
}

// CheckJoin runs a join's room checks, in order: on the roster or a facilitator
// (not_member), not banned (banned), then the lobby decision. The capacity
// check needs live presence and is the caller's (see Room.Capacity).
func (s *Service) CheckJoin(ctx context.Context, id, userID string) (Admission, error) {
	r, err := s.store.Room(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Admission{}, protocol.Err(protocol.CodeNotMember)
	}
	if err != nil {
		return Admission{}, storeErr(err)
	}
	role := r.RoleOf(userID)
	if role == RoleNone {
		return Admission{}, protocol.Err(protocol.CodeNotMember)
	}
	memberID := s.memberID(id, userID)
	if slices.Contains(r.Banned, memberID) {
		return Admission{}, protocol.Err(protocol.CodeBanned)
	}
	return Admission{Room: r, Role: role, Wait: r.mustWait(memberID, role)}, nil
}

// mustWait decides the lobby: facilitators never wait; members wait while no
// session is open, and, in an open session, when the room has a waiting room
// or is locked — unless they were already admitted in this session.
func (r *Room) mustWait(memberID string, role Role) bool {
	if role.Facilitates() {
		return false
	}
	if r.Phase != PhaseOpen && r.Phase != PhaseClosing {
		return true
	}
	if r.Session != nil && slices.Contains(r.Session.Admitted, memberID) {
		return false
	}
	return r.WaitingRoom || (r.Session != nil && r.Session.Locked)
}
