package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/coder/websocket"
)

// Client frames of protocol v1, as sent by the request methods.
type (
	authFrame struct {
		Type  string `json:"type"`
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	joinFrame struct {
		Type        string       `json:"type"`
		ID          string       `json:"id"`
		Room        string       `json:"room"`
		DisplayName string       `json:"display_name"`
		As          string       `json:"as,omitempty"`
		Agree       string       `json:"agree,omitempty"`
		ResumeFrom  *ResumePoint `json:"resume_from,omitempty"`
		Hidden      []string     `json:"hidden,omitempty"`
	}
	sendFrame struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Room string `json:"room"`
		Text string `json:"text"`
	}
	roomFrame struct { // leave
		Type string `json:"type"`
		ID   string `json:"id"`
		Room string `json:"room"`
	}
	pingFrame struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
)

// refreshFrame hands the connection a new token (protocol v1 "refresh").
type refreshFrame struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Token string `json:"token"`
}

// JoinOptions are Join's optional settings. A nil *JoinOptions is the same
// as the zero value: take part (or keep the presence the member already has
// in the room), accepting no group agreement.
type JoinOptions struct {
	// As is the presence to join with: AsObserver to only listen (receive
	// everything, neither post nor raise a hand), AsParticipant to take
	// part, or "" to keep the presence the member already has in the room
	// (from another connection), else take part. Facilitators always take
	// part: as an observer they are refused with forbidden.
	As string
	// Agree is the version of the room's group agreement the person
	// accepts: the Guidelines.Version of an agreement_required error, sent
	// only once the person has read Guidelines.Text and said yes. Empty
	// accepts nothing; a member who accepted the current version before
	// need not send it again.
	Agree string
	// ResumeFrom, when not nil, asks for the room events this member missed
	// while their connection was down: after joined (whose Resume then says
	// how it went), the server sends, in order and exactly once, the room
	// events after ResumeFrom that it still holds, then live events. Set it
	// when joining again after a dropped connection (see ResumePoint). Nil
	// joins as a late joiner, who sees only what is sent from now on; so
	// does a join after leaving the room or after its session ended.
	ResumeFrom *ResumePoint
	// Hidden are the member ids whose messages this connection hides from
	// the start, replayed ones included (at most 64): each such message
	// arrives as an event of type TypeHidden that carries only its Seq. A
	// hide lasts as long as the connection, so pass the hides again on
	// every join after a reconnect.
	Hidden []string
}

// ResumePoint is the last room event a client saw: its Seq, with the Epoch
// of the room's seq counter that the seq belongs to (from Joined). A seq
// means something only with its epoch.
type ResumePoint struct {
	// Epoch is the Joined.Epoch of the connection that saw the events.
	Epoch string `json:"epoch"`
	// Seq is the highest seq of the room events seen on that connection,
	// counting its Joined.Seq as seen — except while the events a resume
	// replays are still arriving: the Joined.Seq of a resuming join counts
	// only once all Resume.Replayed of them have come.
	Seq uint64 `json:"seq"`
}

// Join joins room (1–64 characters from [A-Za-z0-9_-], starting with a
// letter or digit) under displayName (1–32 code points, no control or
// invisible characters), with opts (nil for none). From then on the room's
// events arrive on Events.
//
// A refusal is returned as a wrapped *ServerError: invalid_room,
// already_joined, too_many_rooms, not_member, banned, room_full; a display
// name problem (name_empty, name_too_long, name_invalid_char,
// name_invisible, name_reserved, name_taken), whose Message is a sentence
// to show the person before asking for another name; or
// agreement_required, when a member has not accepted the room's current
// group agreement: ServerError.Guidelines then holds the agreement to show,
// and once the person accepts it, Join again with JoinOptions.Agree set to
// its Version.
//
// With JoinOptions.ResumeFrom, the events missed since that point follow
// the reply on Events (see Joined.Resume); with it or without, Joined.Epoch
// and Joined.Seq are where a later join resumes from if nothing else comes.
func (c *Client) Join(ctx context.Context, room, displayName string, opts *JoinOptions) (Joined, error) {
	var o JoinOptions
	if opts != nil {
		o = *opts
	}
	id := c.newID()
	ev, err := c.call(ctx, TypeJoined, joinFrame{Type: "join", ID: id, Room: room, DisplayName: displayName,
		As: o.As, Agree: o.Agree, ResumeFrom: o.ResumeFrom, Hidden: o.Hidden})
	if err != nil {
		return Joined{}, fmt.Errorf("client: join: %w", err)
	}
	return Joined{Room: ev.Room, You: ev.You, Members: ev.Members, State: ev.State, Share: ev.Share,
		Epoch: ev.Epoch, Seq: ev.Seq, Resume: ev.Resume}, nil
}

// Send sends text (1–4000 code points, not only white space) to room, which
// this connection must have joined. It returns the new message's id and
// room seq once the server has accepted it; the message event itself also
// arrives on Events, before or after Send returns. A refusal (text_too_long,
// not_joined, unavailable, …) is returned as a wrapped *ServerError.
func (c *Client) Send(ctx context.Context, room, text string) (SendResult, error) {
	id := c.newID()
	ev, err := c.call(ctx, TypeOK, sendFrame{Type: "send", ID: id, Room: room, Text: text})
	if err != nil {
		return SendResult{}, fmt.Errorf("client: send: %w", err)
	}
	return SendResult{MessageID: ev.MessageID, Seq: ev.Seq}, nil
}

// Leave leaves room. Its events stop arriving on Events (some already sent
// may still arrive). Closing the connection leaves every room.
func (c *Client) Leave(ctx context.Context, room string) error {
	id := c.newID()
	if _, err := c.call(ctx, TypeOK, roomFrame{Type: "leave", ID: id, Room: room}); err != nil {
		return fmt.Errorf("client: leave: %w", err)
	}
	return nil
}

// Ping sends an application-level ping and waits for the pong, proving the
// server is answering requests on this connection.
func (c *Client) Ping(ctx context.Context) error {
	id := c.newID()
	if _, err := c.call(ctx, TypePong, pingFrame{Type: "ping", ID: id}); err != nil {
		return fmt.Errorf("client: ping: %w", err)
	}
	return nil
}

// Refresh hands the server a new token for this connection before the one
// it signed in with expires: the server closes a connection whose token
// runs out (error token_expired, then close code 4401). The new token must
// be for the same user (sub) and role; the connection then lives until the
// new token's exp. A refusal is returned as a wrapped *ServerError —
// token_mismatch (another user or role), invalid_token, token_expired —
// and the connection keeps its current token. The token is sent in a
// frame, never in a URL.
func (c *Client) Refresh(ctx context.Context, token string) error {
	id := c.newID()
	if _, err := c.call(ctx, TypeOK, refreshFrame{Type: "refresh", ID: id, Token: token}); err != nil {
		return fmt.Errorf("client: refresh: %w", err)
	}
	return nil
}

// call sends f (whose ID is set) and waits for a reply of type want.
func (c *Client) call(ctx context.Context, want string, f any) (Event, error) {
	data, err := json.Marshal(f)
	if err != nil {
		return Event{}, fmt.Errorf("encode frame: %w", err)
	}
	ev, err := c.roundTrip(ctx, idOf(f), data)
	if err != nil {
		return ev, err
	}
	if ev.Type != want {
		return ev, fmt.Errorf("%w: %q, want %q", ErrUnexpectedReply, ev.Type, want)
	}
	return ev, nil
}

func idOf(f any) string {
	switch f := f.(type) {
	case joinFrame:
		return f.ID
	case sendFrame:
		return f.ID
	case roomFrame:
		return f.ID
	case pingFrame:
		return f.ID
	case refreshFrame:
		return f.ID
	}
	panic(fmt.Sprintf("client: idOf(%T)", f))
}

// Request sends frame, which must encode (with encoding/json) to a JSON
// object such as map[string]any{"type": "join", "room": "demo", …}, a
// struct, or a json.RawMessage, and returns the server's reply. If the
// object has no "id", a fresh one is inserted; an "id" already present must
// be a non-empty string, and is used to match the reply. An error reply is
// returned as the Event together with a *ServerError (not wrapped). Use
// SendRaw for frames that must not be touched, such as malformed ones.
func (c *Client) Request(ctx context.Context, frame any) (Event, error) {
	data, err := json.Marshal(frame)
	if err != nil {
		return Event{}, fmt.Errorf("client: request: encode frame: %w", err)
	}
	data, id, err := withID(data, c.newID)
	if err != nil {
		return Event{}, fmt.Errorf("client: request: %w", err)
	}
	return c.roundTrip(ctx, id, data)
}

// withID returns the JSON object data with a request id, inserting one made
// by newID as the first field when it has none, and the id.
func withID(data []byte, newID func() string) ([]byte, string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return nil, "", errors.New("frame is not a JSON object")
	}
	if raw, ok := fields["id"]; ok {
		var id string
		if err := json.Unmarshal(raw, &id); err != nil || id == "" {
			return nil, "", errors.New(`frame "id" must be a non-empty string (use SendRaw for malformed frames)`)
		}
		return data, id, nil
	}
	id := newID()
	data = bytes.TrimSpace(data) // json.Marshal output: starts with '{'
	out := make([]byte, 0, len(data)+len(id)+10)
	out = append(out, `{"id":`...)
	out = strconv.AppendQuote(out, id)
	if len(fields) > 0 {
		out = append(out, ',')
	}
	out = append(out, data[1:]...)
	return out, id, nil
}

// SendRaw sends data as one text frame, unchanged and unchecked (it may be
// malformed JSON or invalid UTF-8, for testing the server). Replies to it
// are not matched to a request: they arrive on Events, like error frames
// without an id. If ctx ends while the frame is being written, the
// connection is closed, since a partly written frame cannot be recovered.
func (c *Client) SendRaw(ctx context.Context, data []byte) error {
	return c.write(ctx, websocket.MessageText, data)
}

// SendBinary sends data as one binary frame, which protocol v1 refuses
// (error binary_frame, on Events); it exists for testing servers.
func (c *Client) SendBinary(ctx context.Context, data []byte) error {
	return c.write(ctx, websocket.MessageBinary, data)
}

func (c *Client) write(ctx context.Context, typ websocket.MessageType, data []byte) error {
	select {
	case <-c.closing:
		return ErrClosed
	case <-c.done:
		return c.err
	default:
	}
	if err := c.conn.Write(ctx, typ, data); err != nil {
		select {
		case <-c.done:
			return c.err
		default:
		}
		return fmt.Errorf("client: write: %w", err)
	}
	return nil
}

// roundTrip registers id, writes data and waits for the reply with that id.
// An error reply is returned as the Event and a *ServerError.
func (c *Client) roundTrip(ctx context.Context, id string, data []byte) (Event, error) {
	reply := make(chan Event, 1)
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return Event{}, c.err
	}
	if _, dup := c.pending[id]; dup {
		c.mu.Unlock()
		return Event{}, fmt.Errorf("client: request id %q is already waiting for a reply", id)
	}
	c.pending[id] = reply
	c.mu.Unlock()

	if err := c.write(ctx, websocket.MessageText, data); err != nil {
		c.forget(id, reply, false)
		return Event{}, err
	}
	select {
	case ev := <-reply:
		return ev, replyError(ev)
	case <-ctx.Done():
		if ev, ok := c.forget(id, reply, true); ok {
			return ev, replyError(ev)
		}
		return Event{}, fmt.Errorf("client: waiting for reply: %w", ctx.Err())
	case <-c.done:
		select {
		case ev := <-reply:
			return ev, replyError(ev)
		default:
			return Event{}, c.err
		}
	}
}

// forget unregisters the request id. If its reply was delivered meanwhile it
// returns it; otherwise, with abandon, the late reply will be dropped.
func (c *Client) forget(id string, reply <-chan Event, abandon bool) (Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, waiting := c.pending[id]; !waiting {
		// The reader delivered the reply (under mu) before we got here.
		select {
		case ev := <-reply:
			return ev, true
		default:
			return Event{}, false
		}
	}
	delete(c.pending, id)
	if abandon && !c.ended {
		c.abandoned[id] = struct{}{}
	}
	return Event{}, false
}

func replyError(ev Event) error {
	if ev.Type == TypeError {
		return serverError(ev)
	}
	return nil
}

func serverError(ev Event) *ServerError {
	return &ServerError{Code: ev.Code, Message: ev.Message, Room: ev.Room, Guidelines: ev.Guidelines}
}
