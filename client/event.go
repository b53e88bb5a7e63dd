package client

import (
	"fmt"
	"time"
)

// Event types sent by the server in protocol v1 (the "type" field).
const (
	TypeWelcome      = "welcome"       // reply to auth (or first event of a bearer-header connection)
	TypeJoined       = "joined"        // reply to join
	TypeOK           = "ok"            // generic success reply
	TypeError        = "error"         // error reply, or an error about a frame without an id
	TypePong         = "pong"          // reply to ping
	TypeMessage      = "message"       // a chat message in a room
	TypeMemberJoined = "member_joined" // a member is now present in a room
	TypeMemberLeft   = "member_left"   // a member is no longer present in a room
	TypeRoomState    = "room_state"    // the room's public state changed (phase, mode, …)
	TypeQueue        = "queue"         // the share queue, the floor or the observers changed
	TypeTimerElapsed = "timer_elapsed" // a turn's soft time box ran out (speaker and facilitators only)
	TypeHidden       = "hidden"        // stands in, with its Seq, for a message of a member this connection hides
)

// Room modes (RoomState.Mode while a session is open): in ModeOpen anyone
// taking part may post; in ModeRounds only the member holding the floor, and
// facilitators.
const (
	ModeOpen   = "open"
	ModeRounds = "rounds"
)

// Presence in a room (see JoinOptions.As, and the "set_presence" frame): taking
// part, or observing (receiving everything without posting or raising a
// hand). Only the member can change their own presence.
const (
	AsParticipant = "participant"
	AsObserver    = "observer"
)

// Roles a member can have.
const (
	RoleMember      = "member"
	RoleFacilitator = "facilitator"
)

// Member is how a person in a room is seen by the others: a member id
// (stable for one user in one room, revealing nothing of the user id), the
// display name they chose, and their role (RoleMember or RoleFacilitator).
type Member struct {
	MemberID    string `json:"member_id"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
}

// Event is one JSON object sent by the server: one line of a server frame.
// It holds the union of the fields of every server event type; only the
// fields of its Type are set, the others are zero.
//
//   - welcome: ID (when answering auth), Role, HeartbeatMS, Resources
//   - joined: ID, Room, You, Members, State, Share, Epoch, Seq; Resume when
//     the join had JoinOptions.ResumeFrom
//   - ok: ID, Room; after send also MessageID and Seq
//   - error: ID (when the failed frame had one), Room (when it named one), Code, Message;
//     Guidelines for agreement_required
//   - pong: ID
//   - message: Seq, Room, MessageID, From, Text, TS
//   - member_joined: Seq, Room, Member, TS
//   - member_left: Seq, Room, MemberID, TS
//   - room_state: Seq, Room, State
//   - queue: Seq, Room, Share
//   - timer_elapsed: Room, MemberID (the speaker), TimerSec
//   - hidden: Seq, Room
//   - crisis_resources: Room (absent for a check-in's note), Resources; its
//     other fields (severity, gentle) are in Raw
//
// A line that is not a JSON object is delivered with an empty Type and the
// line in Raw, so that a test can see exactly what the server sent.
type Event struct {
	Type string `json:"type"`
	// ID is the request id this event answers; empty for room events.
	ID string `json:"id,omitempty"`
	// Room is the room the event is about.
	Room string `json:"room,omitempty"`
	// Seq is the per-room sequence number of a room event: strictly
	// increasing per room, so a jump means events were missed. In joined
	// it is the room's counter when the join was answered; in the ok to
	// send, the new message's seq; zero for other replies.
	Seq uint64 `json:"seq,omitempty"`
	// Epoch names the room's seq counter (joined); a seq means something
	// only with its epoch. See JoinOptions.ResumeFrom.
	Epoch string `json:"epoch,omitempty"`
	// Resume says how a resuming join went (joined); nil otherwise.
	Resume *Resume `json:"resume,omitempty"`
	// MessageID names a message (message events, and the ok to send).
	MessageID string `json:"message_id,omitempty"`
	// From is the author of a message.
	From Member `json:"from,omitzero"`
	// Text is a message's text, NFC-normalized by the server. It is
	// untrusted input: it may contain control characters.
	Text string `json:"text,omitempty"`
	// TS is when the server accepted the event, RFC 3339 UTC with
	// milliseconds ("2026-11-29T17:42:19.123Z"); see Time.
	TS string `json:"ts,omitempty"`
	// Member is the member who joined (member_joined).
	Member Member `json:"member,omitzero"`
	// MemberID is the member who left (member_left), or whose turn's
	// time box ran out (timer_elapsed).
	MemberID string `json:"member_id,omitempty"`
	// TimerSec is the turn's soft time box in seconds (timer_elapsed; a
	// queue event's is also in Share).
	TimerSec int `json:"timer_sec,omitempty"`
	// State is the room's public state: as it was on entry (joined), or
	// after a change (room_state, whose fields it holds). Nil otherwise.
	State *RoomState `json:"state,omitempty"`
	// Share is the room's sharing state: as it was on entry (joined), or
	// after a change (queue, whose fields it holds). Nil otherwise.
	Share *Share `json:"share,omitempty"`
	// You is this connection as the room sees it (joined).
	You Member `json:"you,omitzero"`
	// Members are the members present when the join completed, this
	// connection's member included (joined).
	Members []Member `json:"members,omitempty"`
	// Role is the authenticated user's role (welcome).
	Role string `json:"role,omitempty"`
	// Code is the stable, snake_case error code (error), e.g. "text_too_long".
	Code string `json:"code,omitempty"`
	// Message is the human sentence explaining Code (error).
	Message string `json:"message,omitempty"`
	// Guidelines is the room's group agreement to accept (an error with
	// Code "agreement_required"); nil otherwise.
	Guidelines *Guidelines `json:"guidelines,omitempty"`
	// HeartbeatMS is the server's WebSocket ping interval in milliseconds
	// (welcome).
	HeartbeatMS int64 `json:"heartbeat_ms,omitempty"`
	// Resources are crisis resources, in the order to show them: the
	// deployment's, in their usual order (welcome), or those for this
	// moment (crisis_resources). Names, summaries and labels are text from
	// the server: sanitize them before printing them on a terminal.
	Resources []Resource `json:"resources,omitempty"`
	// Raw is the line exactly as received, without the '\n' separator.
	Raw []byte `json:"-"`
}

// Time parses TS. It returns an error when TS is empty or not RFC 3339.
func (e Event) Time() (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, e.TS)
	if err != nil {
		return time.Time{}, fmt.Errorf("client: event ts: %w", err)
	}
	return t, nil
}

// RoomState is a room's public state, as carried by room_state events and
// by joined. Times are RFC 3339 UTC, empty when no session has run.
type RoomState struct {
	// Phase is the session phase: "idle", "open", "closing" or "ended".
	Phase      string `json:"phase"`
	StartedAt  string `json:"started_at,omitempty"`
	PlannedEnd string `json:"planned_end,omitempty"`
	// Locked: newcomers wait in the lobby.
	Locked bool `json:"locked"`
	// SlowModeSec is how often, in seconds, a member may post; 0 is off.
	SlowModeSec int `json:"slow_mode_sec"`
	// Pin is the facilitators' announcement, if any.
	Pin         string `json:"pin,omitempty"`
	WaitingRoom bool   `json:"waiting_room"`
	// Mode is ModeOpen or ModeRounds while a session is open, else empty.
	Mode string `json:"mode,omitempty"`
	// ShareTimerSec is the soft time box of a turn in seconds; 0 is off.
	ShareTimerSec int `json:"share_timer_sec,omitempty"`
}

// Share is a room's sharing state, as carried by queue events and by
// joined: who has raised a hand, who holds the floor, who is observing —
// member ids only, and never why it changed (a pass looks like a lowered
// hand or an ended turn). Apply it only if Version is not lower than the
// last one applied: joined's Share may be older than a queue event that
// follows it.
type Share struct {
	// Version increases with every change.
	Version uint64 `json:"version"`
	// Queue holds the member ids of raised hands, first raised first.
	Queue []string `json:"queue"`
	// Floor is the member id holding the floor; empty when it is free.
	Floor string `json:"floor,omitempty"`
	// TurnStarted (RFC 3339 UTC) and TimerSec (the soft time box, in
	// seconds) describe the current turn; empty and 0 when the floor is
	// free or no time box applies.
	TurnStarted string `json:"turn_started,omitempty"`
	TimerSec    int    `json:"timer_sec,omitempty"`
	// Observers holds the member ids present as observers.
	Observers []string `json:"observers"`
}

// Welcome is the server's answer to a successful authentication.
type Welcome struct {
	// Role is the authenticated user's role: RoleMember or RoleFacilitator.
	Role string
	// HeartbeatMS is the interval, in milliseconds, at which the server sends
	// WebSocket pings. Zero if the server did not say.
	HeartbeatMS int64
}

// Heartbeat returns HeartbeatMS as a time.Duration.
func (w Welcome) Heartbeat() time.Duration {
	return time.Duration(w.HeartbeatMS) * time.Millisecond
}

// Joined is the result of a successful Join.
type Joined struct {
	// Room is the room joined.
	Room string
	// You is this connection's member as the room sees it. When another
	// connection of the same user is already in the room, its display name
	// is kept and You says which name this connection has.
	You Member
	// Members are the members present now, You included.
	Members []Member
	// State is the room's public state on entry; nil if the server sent
	// none.
	State *RoomState
	// Share is the room's sharing state on entry (queue, floor, observers);
	// nil if the server sent none.
	Share *Share
	// Epoch and Seq are the room's seq counter when the join was answered:
	// every room event after Seq reaches this connection. To resume after a
	// dropped connection, join with JoinOptions.ResumeFrom set to this Epoch
	// and the Seq of the last room event seen since (this Seq if none).
	// Epoch is empty when the server sent none (nothing to resume from).
	Epoch string
	Seq   uint64
	// Resume says how a join with JoinOptions.ResumeFrom went; nil for a
	// join without it.
	Resume *Resume
}

// Resume answers a join with JoinOptions.ResumeFrom.
type Resume struct {
	// Replayed is how many missed room events follow the joined reply on
	// Events, in order, before any live event.
	Replayed int `json:"replayed"`
	// Gap is true when some events since the resume point could not be
	// recovered: the server no longer holds them, or the epoch is not the
	// current one (then nothing is replayed). Tell the person so ("Some
	// messages could not be recovered.").
	Gap bool `json:"gap"`
}

// SendResult is the result of a successful Send.
type SendResult struct {
	// MessageID names the new message everywhere later.
	MessageID string
	// Seq is the room sequence number the message was given; the message
	// event broadcast to the room (this connection included) carries the
	// same seq and may arrive before or after the reply.
	Seq uint64
}
