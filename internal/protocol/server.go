package protocol

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Server event types of protocol v1.
const (
	TypeWelcome      = "welcome"
	TypeJoined       = "joined"
	TypeOK           = "ok"
	TypeError        = "error"
	TypePong         = "pong"
	TypeMessage      = "message"
	TypeMemberJoined = "member_joined"
	TypeMemberLeft   = "member_left"
	TypeWaiting      = "waiting"

	TypeRoomState         = "room_state"
	TypeFacilitatorState  = "facilitator_state"
	TypeDenied            = "denied"
	TypeRemoved           = "removed"
	TypeWarned            = "warned"
	TypeMutedNotice       = "muted"
	TypeUnmutedNotice     = "unmuted"
	TypeMessageDeleted    = "message_deleted"
	TypeSessionEnded      = "session_ended"
	TypeSessionEndingSoon = "session_ending_soon"
	TypeReportEvent       = "report"
	TypeHidden            = "hidden"
	TypeCrisisResources   = "crisis_resources"
	TypeCrisisAlert       = "crisis_alert"
	TypeAlertAcked        = "alert_acked"

	TypeQueue        = "queue"         // the share queue, the floor and observers changed (room event)
	TypeReactions    = "reactions"     // a message's reaction counts changed (room event)
	TypeTimerElapsed = "timer_elapsed" // a turn's soft time box ran out (speaker and facilitators only)
	TypeCheckin      = "checkin"       // a check-in between sessions (facilitators; members for group-visible ones)
)

// Roles a person can have. Tokens carry member or facilitator (which decides
// who may create rooms); in a room, the role shown to others comes from the
// room's record and may also be co_facilitator.
const (
	RoleMember        = "member"
	RoleFacilitator   = "facilitator"
	RoleCoFacilitator = "co_facilitator"
	// RoleSupervisor (token only) may read every room's audit log and
	// reports, and receives reports about facilitators' messages, but joins
	// no room.
	RoleSupervisor = "supervisor"
)

// Member is how one person in a room is seen by the others: a member_id
// (stable for one user in one room, revealing nothing of the user id), the
// display name they chose, and their role. Never the user id.
type Member struct {
	MemberID    string `json:"member_id"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
}

// Welcome is the reply to a successful auth.
type Welcome struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	Role string `json:"role"`
	// HeartbeatMS is the server's WebSocket ping interval in milliseconds;
	// a client may use it to notice a dead connection (no ping within twice
	// this time).
	HeartbeatMS int64 `json:"heartbeat_ms"`
	// Resources are this deployment's crisis resources in their usual order
	// (988 first), so "Get help now" works before any crisis.
	Resources json.RawMessage `json:"resources,omitempty"`
}

// Joined is the reply to join: the room, the joiner as others see them, and
// the members present now (the joiner included).
type Joined struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Room    string          `json:"room"`
	You     Member          `json:"you"`
	Members []Member        `json:"members"`
	State   *RoomStateEvent `json:"state,omitempty"` // the room's phase, lock, slow mode, pin, mode and share timer
	Share   *QueueEvent     `json:"share,omitempty"` // the share queue, the floor and observers now
	// Epoch and Seq are the room's seq counter when the join was answered:
	// every room event after Seq reaches this connection. A client resumes
	// later from the last seq it saw (Seq if none) with this epoch.
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
	// Resume answers resume_from (absent without it).
	Resume *ResumeResult `json:"resume,omitempty"`
}

// ResumeResult says how a resume went: Replayed events follow joined, in
// order, before anything live; Gap is true when some events since the
// resume point could not be recovered (the session buffer no longer holds
// them, or the room's seq counter was lost) — the client then says so.
type ResumeResult struct {
	Replayed int  `json:"replayed"`
	Gap      bool `json:"gap"`
}

// OK is the generic success reply to a frame with an id. Fields that do not
// apply to the command are omitted.
type OK struct {
	Type      string `json:"type"`
	ID        string `json:"id,omitempty"`
	Room      string `json:"room,omitempty"`
	MessageID string `json:"message_id,omitempty"` // send: the id of the new message
	Seq       uint64 `json:"seq,omitempty"`        // send: the room seq it was given
	// Mine (react) lists the reactions the caller now has on the message;
	// absent when none.
	Mine []string `json:"mine,omitempty"`
}

// ErrorEvent is the error reply. ID is the request id when the failed frame
// had one (or could be read far enough to find it).
type ErrorEvent struct {
	Type         string      `json:"type"`
	ID           string      `json:"id,omitempty"`
	Room         string      `json:"room,omitempty"`
	Code         Code        `json:"code"`
	Message      string      `json:"message"`
	Reason       string      `json:"reason,omitempty"`         // muted
	Until        string      `json:"until,omitempty"`          // muted with an end
	RetryAfterMS int64       `json:"retry_after_ms,omitempty"` // slow_mode, rate_limited
	Guidelines   *Guidelines `json:"guidelines,omitempty"`     // agreement_required: the agreement to accept
}

// Guidelines is a room's group agreement as clients see it: the plain text
// to show (paragraphs separated by blank lines, "- " bullets; render as
// text, never as markup) and its version, 16 lowercase hex characters (the
// first 8 bytes of the SHA-256 of the text in NFC). A join accepts it by
// sending the version as "agree". It is carried by the agreement_required
// error and by GET/PUT /api/rooms/{id}/guidelines.
type Guidelines struct {
	Text    string `json:"text"`
	Version string `json:"version"`
}

// Pong is the reply to ping.
type Pong struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
}

// MessageEvent is a chat message broadcast to everyone in a room, the sender
// included. Seq is assigned by the broker (see WithSeq); TS is when the
// server accepted it (RFC 3339 UTC with milliseconds).
type MessageEvent struct {
	Seq       uint64 `json:"seq,omitempty"`
	Type      string `json:"type"`
	Room      string `json:"room"`
	MessageID string `json:"message_id"`
	From      Member `json:"from"`
	Text      string `json:"text"`
	TS        string `json:"ts"`
}

// MemberJoinedEvent tells a room that a member is now present (their first
// connection to the room; more tabs of the same member send nothing).
type MemberJoinedEvent struct {
	Seq    uint64 `json:"seq,omitempty"`
	Type   string `json:"type"`
	Room   string `json:"room"`
	Member Member `json:"member"`
	TS     string `json:"ts"`
}

// MemberLeftEvent tells a room that a member is no longer present (their
// last connection left or dropped).
type MemberLeftEvent struct {
	Seq      uint64 `json:"seq,omitempty"`
	Type     string `json:"type"`
	Room     string `json:"room"`
	MemberID string `json:"member_id"`
	TS       string `json:"ts"`
}

// Marshal encodes a server event as one JSON object. Server events are plain
// structs of strings and numbers, so encoding cannot fail; a failure is a
// programming error and panics.
func Marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("protocol: cannot marshal " + err.Error())
	}
	return b
}

// ErrorFrame encodes the error reply for e, carrying request id and room.
func ErrorFrame(id, room string, e *Error) []byte {
	ev := ErrorEvent{Type: TypeError, ID: id, Room: room, Code: e.Code, Message: e.Message, Reason: e.Reason,
		RetryAfterMS: e.RetryAfter.Milliseconds(), Guidelines: e.Guidelines}
	if !e.Until.IsZero() {
		ev.Until = FormatTime(e.Until)
	}
	return Marshal(ev)
}

// FormatTime formats t as protocol v1 writes times: RFC 3339, UTC, with
// milliseconds ("2026-11-29T17:42:19.123Z").
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// WithSeq returns a copy of a marshalled room event with "seq":seq as its
// first field. Room events are marshalled without seq; the broker that
// assigns the seq inserts it (the Redis broker does the same in Lua), so one
// encoding serves every recipient. event must be a JSON object.
func WithSeq(event []byte, seq uint64) []byte {
	out := make([]byte, 0, len(event)+28)
	out = append(out, `{"seq":`...)
	out = strconv.AppendUint(out, seq, 10)
	rest := event[1:]
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}

// SeqOf reads the seq of a room event produced by WithSeq, and reports
// whether there was one.
func SeqOf(frame []byte) (uint64, bool) {
	const prefix = `{"seq":`
	if !bytes.HasPrefix(frame, []byte(prefix)) {
		return 0, false
	}
	rest := frame[len(prefix):]
	end := bytes.IndexAny(rest, ",}")
	if end <= 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(rest[:end]), 10, 64)
	return n, err == nil
}

// Batch joins several encoded server events into one WebSocket frame,
// separated by '\n' (JSON never holds a raw newline, so clients split on it).
func Batch(dst []byte, events ...[]byte) []byte {
	for i, e := range events {
		if i > 0 || len(dst) > 0 {
			dst = append(dst, '\n')
		}
		dst = append(dst, e...)
	}
	return dst
}

// HiddenEvent stands in, for one connection, for a room event it asked not
// to see (a message from a member it hides), so its seq stays without holes.
type HiddenEvent struct {
	Seq  uint64 `json:"seq"`
	Type string `json:"type"`
	Room string `json:"room"`
}

// WaitingReply answers a join that must wait in the lobby; a facilitator's
// admit later sends joined, and deny sends denied.
type WaitingReply struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	Room string `json:"room"`
	You  Member `json:"you"`
}

// RoomStateEvent tells everyone in a room its public state. Times are empty
// when no session has run.
type RoomStateEvent struct {
	Seq           uint64 `json:"seq,omitempty"`
	Type          string `json:"type"`
	Room          string `json:"room"`
	Phase         string `json:"phase"`
	StartedAt     string `json:"started_at,omitempty"`
	PlannedEnd    string `json:"planned_end,omitempty"`
	Locked        bool   `json:"locked"`
	SlowModeSec   int    `json:"slow_mode_sec"`
	Pin           string `json:"pin,omitempty"`
	WaitingRoom   bool   `json:"waiting_room"`
	Mode          string `json:"mode,omitempty"`            // ModeOpen or ModeRounds while a session is open
	ShareTimerSec int    `json:"share_timer_sec,omitempty"` // soft time box of a turn in seconds; absent: off
}

// QueueEvent (a room event) is the room's sharing state after a change:
// Queue lists the member ids of raised hands, first raised first; Floor the
// member id holding the floor (empty: free); TurnStarted and TimerSec the
// start (RFC 3339, UTC, ms) and soft time box (seconds) of the current turn;
// Observers the member ids present as observers. Version increases with
// every change, so a client can ignore an older state (joined's Share may
// be older than a queue event that follows it). It never says why the state
// changed: a pass looks exactly like a lowered hand or an ended turn.
type QueueEvent struct {
	Seq         uint64   `json:"seq,omitempty"`
	Type        string   `json:"type"`
	Room        string   `json:"room"`
	Version     uint64   `json:"version"`
	Queue       []string `json:"queue"`
	Floor       string   `json:"floor,omitempty"`
	TurnStarted string   `json:"turn_started,omitempty"`
	TimerSec    int      `json:"timer_sec,omitempty"`
	Observers   []string `json:"observers"`
}

// ReactionsEvent (a room event) carries a message's reaction counts by
// reaction (only reactions with a count above zero) — never who reacted.
type ReactionsEvent struct {
	Seq       uint64         `json:"seq,omitempty"`
	Type      string         `json:"type"`
	Room      string         `json:"room"`
	MessageID string         `json:"message_id"`
	Counts    map[string]int `json:"counts"`
}

// TimerElapsedEvent tells the speaker and the facilitators (privately,
// without seq) that the current turn's soft time box ran out. Nothing is cut
// off.
type TimerElapsedEvent struct {
	Type     string `json:"type"`
	Room     string `json:"room"`
	MemberID string `json:"member_id"`
	TimerSec int    `json:"timer_sec"`
}

// MutedMember is one entry of FacilitatorStateEvent.Muted.
type MutedMember struct {
	MemberID string `json:"member_id"`
	Until    string `json:"until,omitempty"` // empty: until unmuted
	Reason   string `json:"reason,omitempty"`
}

// WaitingMember is one entry of FacilitatorStateEvent.Waiting.
type WaitingMember struct {
	MemberID    string `json:"member_id"`
	DisplayName string `json:"display_name"`
	Since       string `json:"since"`
}

// FacilitatorStateEvent goes to a room's facilitators only: who is muted,
// who waits in the lobby, who is banned.
type FacilitatorStateEvent struct {
	Type    string          `json:"type"`
	Room    string          `json:"room"`
	Muted   []MutedMember   `json:"muted"`
	Waiting []WaitingMember `json:"waiting"`
	Banned  []string        `json:"banned"`
}

// NoticeEvent is a private notice to one member or to facilitators:
// denied, removed (Banned true for a ban), warned (Reason), muted (Reason,
// Until), unmuted, session_ending_soon (PlannedEnd).
type NoticeEvent struct {
	Type       string `json:"type"`
	Room       string `json:"room"`
	Reason     string `json:"reason,omitempty"`
	Until      string `json:"until,omitempty"`
	Banned     bool   `json:"banned,omitempty"`
	PlannedEnd string `json:"planned_end,omitempty"`
}

// MessageDeletedEvent tells a room that a message is gone.
type MessageDeletedEvent struct {
	Seq       uint64 `json:"seq,omitempty"`
	Type      string `json:"type"`
	Room      string `json:"room"`
	MessageID string `json:"message_id"`
}

// SessionEndedEvent tells a room its session has ended; members' connections
// then leave the room.
type SessionEndedEvent struct {
	Seq  uint64 `json:"seq,omitempty"`
	Type string `json:"type"`
	Room string `json:"room"`
}

// DMEvent is a private message between a facilitator and one member,
// delivered to both (every connection of each).
type DMEvent struct {
	Type      string `json:"type"`
	Room      string `json:"room"`
	MessageID string `json:"message_id"`
	From      Member `json:"from"`
	To        string `json:"to"` // member id
	Text      string `json:"text"`
	TS        string `json:"ts"`
}

// ReportEvent goes to a room's facilitators: a member reported a message.
// The reporter is named to facilitators only; the reported member is never
// told. Text is the message as it was, while the session lasts.
type ReportEvent struct {
	Type       string `json:"type"`
	ReportID   string `json:"report_id"`
	Room       string `json:"room"`
	MessageID  string `json:"message_id"`
	About      string `json:"about_member_id,omitempty"`
	ReporterID string `json:"reporter_member_id"`
	Reason     string `json:"reason,omitempty"`
	Text       string `json:"text,omitempty"`
	TS         string `json:"ts"`
}

// CrisisResourcesEvent goes to one member only: the crisis resources, in
// the order to show them. Gentle is true for the softer card ("if this ever
// changes…").
type CrisisResourcesEvent struct {
	Type      string          `json:"type"`
	Room      string          `json:"room,omitempty"` // absent for a check-in's note`
	Severity  string          `json:"severity"`
	Gentle    bool            `json:"gentle"`
	Resources json.RawMessage `json:"resources"`
}

// CheckinEvent tells who may see it of a check-in just posted: the room's
// facilitators wherever they are connected, and, for a group-visible one,
// the members connected to the room. It carries no seq (it is not a room
// event and is not kept in the session buffer). DisplayName is the author's
// current name in the room, looked up when sent; Mood is 1–5 with its
// label; TS is when it was posted.
type CheckinEvent struct {
	Type        string `json:"type"`
	Room        string `json:"room"`
	CheckinID   string `json:"checkin_id"`
	MemberID    string `json:"member_id"`
	DisplayName string `json:"display_name,omitempty"`
	Mood        int    `json:"mood"`
	MoodLabel   string `json:"mood_label"`
	Note        string `json:"note,omitempty"`
	Visibility  string `json:"visibility"`
	TS          string `json:"ts"`
}

// CrisisAlertEvent goes privately to a room's facilitators (and
// co-facilitators), wherever they are connected. Nothing in it is stored but
// ids, category, severity and times; DisplayName is looked up when sent.
// Priority is "note" for gentle matches (no escalation) and "alert"
// otherwise.
type CrisisAlertEvent struct {
	Type        string `json:"type"`
	AlertID     string `json:"alert_id"`
	Room        string `json:"room"`
	MemberID    string `json:"member_id"`
	DisplayName string `json:"display_name,omitempty"`
	Category    string `json:"category"`
	Severity    string `json:"severity"`
	Priority    string `json:"priority"`
	MessageID   string `json:"message_id,omitempty"`
	Count       int    `json:"count"`
	Escalated   bool   `json:"escalated"`
	// MemberRequest is true when the member pressed "I need support"
	// themselves, whatever the alert was opened for.
	MemberRequest bool   `json:"member_request,omitempty"`
	TS            string `json:"ts"`
}

// AlertAckedEvent tells a room's facilitators that an alert was
// acknowledged.
type AlertAckedEvent struct {
	Type    string `json:"type"`
	Room    string `json:"room"`
	AlertID string `json:"alert_id"`
}
