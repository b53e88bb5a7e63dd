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
)

// Roles a person can have, as carried in tokens and shown to others.
const (
	RoleMember      = "member"
	RoleFacilitator = "facilitator"
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
}

// Joined is the reply to join: the room, the joiner as others see them, and
// the members present now (the joiner included).
type Joined struct {
	Type    string   `json:"type"`
	ID      string   `json:"id,omitempty"`
	Room    string   `json:"room"`
	You     Member   `json:"you"`
	Members []Member `json:"members"`
}

// OK is the generic success reply to a frame with an id. Fields that do not
// apply to the command are omitted.
type OK struct {
	Type      string `json:"type"`
	ID        string `json:"id,omitempty"`
	Room      string `json:"room,omitempty"`
	MessageID string `json:"message_id,omitempty"` // send: the id of the new message
	Seq       uint64 `json:"seq,omitempty"`        // send: the room seq it was given
}

// ErrorEvent is the error reply. ID is the request id when the failed frame
// had one (or could be read far enough to find it).
type ErrorEvent struct {
	Type    string `json:"type"`
	ID      string `json:"id,omitempty"`
	Room    string `json:"room,omitempty"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
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
	return Marshal(ErrorEvent{Type: TypeError, ID: id, Room: room, Code: e.Code, Message: e.Message})
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
