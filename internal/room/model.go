// Package room holds the rules of a facilitated group room: who may enter
// (roster, bans, capacity, the lobby), the session lifecycle, and what each
// facilitator control does to the room's durable state. It is a domain
// package: it does no transport and imports neither the hub nor httpapi. It
// declares the Store it needs; internal/store implements it.
package room

import (
	"context"
	"errors"
	"slices"
	"time"

	"hearth/internal/protocol"
)

// Kind is the kind of group a room holds.
type Kind string

// Kinds of group.
const (
	KindSupport Kind = "support"
	KindCBT     Kind = "cbt"
	KindDBT     Kind = "dbt"
	KindMBCT    Kind = "mbct"
	KindOther   Kind = "other"
)

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool {
	return slices.Contains([]Kind{KindSupport, KindCBT, KindDBT, KindMBCT, KindOther}, k)
}

// Phase is where a room's session lifecycle stands.
type Phase string

// Session phases: idle → open → closing → ended (→ open for the next
// session). Ended behaves like idle for joins.
const (
	PhaseIdle    Phase = "idle"
	PhaseOpen    Phase = "open"
	PhaseClosing Phase = "closing"
	PhaseEnded   Phase = "ended"
)

// Capacity limits: a room seats 2 to 50 members present at once (observers
// included, facilitators not); 15 when unset, the upper size of a typical
// therapy group.
const (
	DefaultCapacity = 15
	MinCapacity     = 2
	MaxCapacity     = 50
)

// Schedule is when a room usually meets; clients show the next session.
// Sessions never start by themselves.
type Schedule struct {
	Weekday     time.Weekday `json:"weekday"`      // 0 = Sunday
	StartLocal  string       `json:"start_local"`  // "19:00", 24-hour local time
	DurationMin int          `json:"duration_min"` // planned length in minutes
	TimeZone    string       `json:"time_zone"`    // IANA name, e.g. "America/Chicago"
}

// Mute is a member's mute: the reason shown to them, and when it lifts (zero
// time: until unmuted).
type Mute struct {
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason"`
}

// Waiting is a member held in the lobby, since when. DisplayName is a copy
// of the name they gave at the door, kept only while they wait and only
// when Room.Names has no name for them (AddWaiting copies nothing, and
// ClaimName clears the copy, once the name is in Names): read it through
// Room.DisplayName.
type Waiting struct {
	MemberID    string    `json:"member_id"`
	DisplayName string    `json:"display_name"`
	Since       time.Time `json:"since"`
}

// Session is the state of the current (or last) session.
type Session struct {
	StartedAt   time.Time `json:"started_at"`
	PlannedEnd  time.Time `json:"planned_end"`
	Locked      bool      `json:"locked"`
	SlowModeSec int       `json:"slow_mode_sec"`
	Pin         string    `json:"pin,omitempty"`
	// Mode is protocol.ModeOpen (also when empty) or protocol.ModeRounds.
	Mode string `json:"mode,omitempty"`
	// ShareTimerSec is the soft time box of each turn in seconds (0: off).
	ShareTimerSec int      `json:"share_timer_sec,omitempty"`
	Admitted      []string `json:"admitted,omitempty"` // member ids admitted in this session
	// AdmittedSeq is, per member id, the room seq when the member was last
	// admitted in this session (a removal ends an admission): a resume never
	// replays events from before it.
	AdmittedSeq map[string]uint64 `json:"admitted_seq,omitempty"`
	Waiting     []Waiting         `json:"waiting,omitempty"` // the lobby, in arrival order
}

// Room is a room's durable state. The store keeps it as one document and
// bumps Version on every change.
type Room struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Kind          Kind      `json:"kind"`
	Capacity      int       `json:"capacity"`
	WaitingRoom   bool      `json:"waiting_room"`
	AutoLockAfter int       `json:"auto_lock_after_min,omitempty"` // minutes into a session; 0 = never
	Schedule      *Schedule `json:"schedule,omitempty"`
	CreatedAt     time.Time `json:"created_at"`

	Facilitators []string `json:"facilitators"`     // user ids; the first is the creator; never empty
	Roster       []string `json:"roster"`           // member user ids
	Banned       []string `json:"banned,omitempty"` // member ids
	// Muted holds members' mutes by member id. A mute outlives the session
	// it was given in until it lifts or a facilitator unmutes.
	Muted map[string]Mute `json:"muted,omitempty"`

	// Names holds, by member id, the display name each person chose in
	// this room (members and facilitators; see ClaimName and SameName). It
	// is the only durable place of display names: an entry is deleted with
	// the membership (RemoveMember, LeaveGroup, RemoveFacilitator). A ban
	// keeps the member on the roster, and so keeps their name.
	Names map[string]string `json:"names,omitempty"`

	// Guidelines is the room's group agreement (trimmed, NFC); empty means
	// DefaultGuidelines. See CurrentGuidelines.
	Guidelines string `json:"guidelines,omitempty"`
	// Agreements records, by member id, which version of the group
	// agreement each member accepted and when (see Accept). Facilitators
	// need not accept. Deleted with the membership, like Names.
	Agreements map[string]Agreement `json:"agreements,omitempty"`

	Phase   Phase    `json:"phase"`
	Session *Session `json:"session,omitempty"`

	// Reports are members' reports not yet acknowledged: ids, reason and
	// time only, never the message text.
	Reports []Report `json:"reports,omitempty"`

	// Alerts are crisis alerts not yet acknowledged: ids, category,
	// severity and times only — never the text or a display name.
	Alerts []Alert `json:"alerts,omitempty"`

	Version uint64 `json:"version"`
}

// Report is a member's report of a message, kept until a facilitator or
// supervisor acknowledges it.
type Report struct {
	ID        string    `json:"id"`
	MessageID string    `json:"message_id"`
	About     string    `json:"about_member_id,omitempty"`
	Reporter  string    `json:"reporter_member_id"`
	Reason    string    `json:"reason,omitempty"`
	At        time.Time `json:"at"`
}

// Alert is an open crisis alert about one member: repeated matches from the
// same member add to it (Count, Severity rises, LastMessageID) instead of
// opening new ones.
type Alert struct {
	ID          string    `json:"id"`
	MemberID    string    `json:"member_id"`
	Category    string    `json:"category"`
	Severity    string    `json:"severity"` // gentle, elevated, high, imminent
	MessageID   string    `json:"message_id,omitempty"`
	OpenedAt    time.Time `json:"opened_at"`
	LastAt      time.Time `json:"last_at"`
	Count       int       `json:"count"`
	EscalatedAt time.Time `json:"escalated_at,omitzero"`
	// Requested is true once the member pressed "I need support" (category
	// CategoryMemberRequest), even if the alert was opened for their words.
	Requested     bool   `json:"requested,omitempty"`
	LastMessageID string `json:"last_message_id,omitempty"`
}

// CategoryMemberRequest is the alert category of a member's "I need
// support" request.
const CategoryMemberRequest = "member_request"

// Invite is a single-use code that adds whoever redeems it to a room's
// roster.
type Invite struct {
	Code   string `json:"code"`
	RoomID string `json:"room_id"`
	// CreatedBy is the member id, in RoomID, of the facilitator who made
	// the invite: a keyed one-way hash of their user id, never the user id
	// itself (invites stored before this rule hold the user id; they expire
	// within MaxInviteTTL, and DeleteUser deletes both kinds).
	CreatedBy string    `json:"created_by"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AuditEntry records one facilitator action, or one refusal: who, what,
// to whom, when — never message text, names or anything else the request
// carried.
type AuditEntry struct {
	Seq    uint64    `json:"seq"`              // assigned by the store, increasing per room
	Actor  string    `json:"actor"`            // member id (in this room) of who acted, or was refused
	Action string    `json:"action"`           // e.g. "mute", "ban", "add_member"; ActionDenied for a refusal
	Target string    `json:"target,omitempty"` // member id acted on (never set on a refusal)
	At     time.Time `json:"at"`
	// Command and Code describe a refusal (Action ActionDenied): the
	// command refused (a WebSocket frame type such as "mute", or the audit
	// name of a REST endpoint such as "read_audit") and the reason code
	// (see DenialCode). Empty on every other entry.
	Command string        `json:"command,omitempty"`
	Code    protocol.Code `json:"code,omitempty"`
}

// Store errors.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// Store keeps rooms, invites and audit logs durably. Every method is atomic.
type Store interface {
	// CreateRoom stores a new room with Version 1. Errors: ErrExists.
	CreateRoom(ctx context.Context, r Room) error
	// Room returns the room. Errors: ErrNotFound.
	Room(ctx context.Context, id string) (Room, error)
	// UpdateRoom applies fn to the current room and stores the result with
	// Version+1, atomically: concurrent updates are serialized, and fn may be
	// called again on a fresh copy if another update won a race. If fn
	// returns an error, nothing is stored and that error is returned.
	// Errors: ErrNotFound, fn's error.
	UpdateRoom(ctx context.Context, id string, fn func(*Room) error) (Room, error)
	// RoomsOf lists the ids of rooms where userID is a facilitator or on the
	// roster, sorted.
	RoomsOf(ctx context.Context, userID string) ([]string, error)

	// PutInvite stores an invite. Errors: ErrExists.
	PutInvite(ctx context.Context, inv Invite) error
	// TakeInvite removes and returns the invite with code, if it exists and
	// has not expired at now. Errors: ErrNotFound (also for an expired one).
	TakeInvite(ctx context.Context, code string, now time.Time) (Invite, error)
	// DeleteInvites deletes every stored invite for which match returns
	// true and returns how many it deleted. It reads every invite (there is
	// no index by creator), so it is for rare requests such as DeleteUser.
	// match must be quick and must not call the store.
	DeleteInvites(ctx context.Context, match func(Invite) bool) (int, error)

	// AppendAudit adds an entry to the room's audit log, assigning its Seq.
	AppendAudit(ctx context.Context, roomID string, e AuditEntry) error
	// Audit returns up to limit entries of the room's audit log, newest
	// first, with Seq below before (0: from the newest).
	Audit(ctx context.Context, roomID string, before uint64, limit int) ([]AuditEntry, error)
}
