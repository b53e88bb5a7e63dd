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
//   - welcome: ID (when answering auth), Role, HeartbeatMS
//   - joined: ID, Room, You, Members
//   - ok: ID, Room; after send also MessageID and Seq
//   - error: ID (when the failed frame had one), Room (when it named one), Code, Message
//   - pong: ID
//   - message: Seq, Room, MessageID, From, Text, TS
//   - member_joined: Seq, Room, Member, TS
//   - member_left: Seq, Room, MemberID, TS
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
	// increasing per room, so a jump means events were missed. Zero for
	// replies other than the ok to send, where it is the new message's seq.
	Seq uint64 `json:"seq,omitempty"`
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
	// MemberID is the member who left (member_left).
	MemberID string `json:"member_id,omitempty"`
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
	// HeartbeatMS is the server's WebSocket ping interval in milliseconds
	// (welcome).
	HeartbeatMS int64 `json:"heartbeat_ms,omitempty"`
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
