package client

import (
	"errors"
	"fmt"
	"strings"
)

// ErrClosed is returned by requests made after Close, and by Err once Close
// has ended the connection.
var ErrClosed = errors.New("client: closed")

// ErrHeartbeatTimeout is the reason (see Err) a connection was ended by the
// client because the server sent no WebSocket ping for twice the heartbeat
// interval announced in welcome. CloseStatus is then 1006, a reconnect code.
var ErrHeartbeatTimeout = errors.New("client: no heartbeat from server")

// ErrUnexpectedReply is wrapped by the error a request returns when the
// server answered with a reply type that does not fit the request (for
// example "ok" to join). It means the server and client disagree on the
// protocol.
var ErrUnexpectedReply = errors.New("client: unexpected reply")

// ServerError is an error reported by the server: the error reply to a
// request, the error frame sent before the server refuses authentication,
// or the JSON body of a refused WebSocket upgrade. Match it with errors.As
// and switch on Code, which is stable; Message is a human sentence that may
// be reworded.
type ServerError struct {
	// Code is the stable, snake_case error code, e.g. "text_too_long".
	Code string
	// Message is the server's sentence for people.
	Message string
	// Room is the room the failed request named, if any.
	Room string
	// Guidelines is the room's group agreement when Code is
	// "agreement_required" (see Join), and nil otherwise.
	Guidelines *Guidelines
}

// Guidelines is a room's group agreement, as an agreement_required error
// carries it.
type Guidelines struct {
	// Text is the agreement: plain text in paragraphs separated by blank
	// lines, with "- " bullets. Show it as text, never as markup or
	// terminal control sequences: it is written by the room's facilitators.
	Text string `json:"text"`
	// Version names this text (16 hex characters); it changes whenever the
	// text does. Send it as JoinOptions.Agree to accept the agreement.
	Version string `json:"version"`
}

// Error implements error as "hearth: <code>: <message>".
func (e *ServerError) Error() string {
	return "hearth: " + e.Code + ": " + e.Message
}

// DialError is returned by Dial when no authenticated connection could be
// made. Match it with errors.As to read HTTPStatus and CloseStatus; errors.As
// with a *ServerError also finds Server when the server said why.
type DialError struct {
	// HTTPStatus is the HTTP status of a refused WebSocket upgrade (401 for a
	// bad bearer header, 400 when the subprotocol was not offered, 403 for a
	// refused Origin). Zero when the upgrade succeeded or no HTTP response
	// arrived (e.g. the server could not be reached).
	HTTPStatus int
	// CloseStatus is the WebSocket close code the connection ended with
	// during authentication: 4401 when the token was refused, 1006 when the
	// connection dropped without a close frame. Zero when no WebSocket was
	// established or Dial gave up first (context ended).
	CloseStatus int
	// Server is the server's own explanation (an error frame, or the JSON
	// body of a refused upgrade), or nil if it gave none.
	Server *ServerError
	// Err is the underlying error, or nil when Server says it all.
	Err error
}

// Error implements error.
func (e *DialError) Error() string {
	var b strings.Builder
	b.WriteString("client: dial")
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
	}
	if e.Server != nil {
		b.WriteString(": ")
		b.WriteString(e.Server.Code)
		b.WriteString(": ")
		b.WriteString(e.Server.Message)
	}
	if e.CloseStatus != 0 {
		fmt.Fprintf(&b, " (close %d)", e.CloseStatus)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Server and Err (those not nil), for errors.Is and errors.As.
func (e *DialError) Unwrap() []error {
	var errs []error
	if e.Server != nil {
		errs = append(errs, e.Server)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Reconnect reports whether a client should reconnect (with backoff, then
// authenticate and join its rooms again) after the connection ended with
// close code code, following the table in docs/protocol.md: 1001, 1005,
// 1006, 1011–1014 and Hearth's 4500–4999 reconnect; everything else,
// including 1000, 1002, 1009 and 4401, is final.
func Reconnect(code int) bool {
	switch {
	case code == 1001, code == 1005, code == 1006:
		return true
	case code >= 1011 && code <= 1014:
		return true
	case code >= 4500 && code <= 4999:
		return true
	}
	return false
}
