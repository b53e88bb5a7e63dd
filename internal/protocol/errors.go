package protocol

import (
	"errors"
	"fmt"
)

// Code is a stable, snake_case error code sent to clients in error frames
// and REST error bodies. Clients switch on the code; the accompanying
// message is a human sentence that may be reworded.
type Code string

// Error codes of protocol v1. The sentence shown to people for each lives in
// messages below, in one place.
const (
	CodeBadJSON          Code = "bad_json"          // the frame is not a JSON object
	CodeBinaryFrame      Code = "binary_frame"      // a binary WebSocket frame was sent
	CodeInvalidUTF8      Code = "invalid_utf8"      // the frame is not valid UTF-8
	CodeUnknownType      Code = "unknown_type"      // "type" names no command
	CodeMissingField     Code = "missing_field"     // a required field is absent or empty
	CodeBadField         Code = "bad_field"         // a field has the wrong JSON type or shape
	CodeTextEmpty        Code = "text_empty"        // the message text is empty or only spaces
	CodeTextTooLong      Code = "text_too_long"     // the message text exceeds MaxTextRunes
	CodeInvalidRoom      Code = "invalid_room"      // the room id is not of the allowed form
	CodeNameEmpty        Code = "name_empty"        // the display name is empty after trimming
	CodeNameTooLong      Code = "name_too_long"     // the display name exceeds MaxDisplayNameRunes
	CodeNameInvalidChar  Code = "name_invalid_char" // the display name holds a control or invisible character
	CodeNotAuthenticated Code = "not_authenticated" // a command came before a successful auth
	CodeAlreadyAuthed    Code = "already_authenticated"
	CodeInvalidToken     Code = "invalid_token"  // the token is malformed, forged or of a refused algorithm
	CodeTokenExpired     Code = "token_expired"  // the token's exp has passed
	CodeAuthTimeout      Code = "auth_timeout"   // no auth frame within AuthTimeout
	CodeNotJoined        Code = "not_joined"     // a room command for a room this connection has not joined
	CodeAlreadyJoined    Code = "already_joined" // join for a room this connection has already joined
	CodeTooManyRooms     Code = "too_many_rooms" // join beyond MaxRoomsPerConn
	CodeUnavailable      Code = "unavailable"    // the broker or store cannot be reached; nothing was done
	CodeInternal         Code = "internal"       // an unexpected server fault; nothing was done
	CodeSubprotocol      Code = "subprotocol_required"
	CodeOriginRefused    Code = "origin_refused"
	CodeUnauthorized     Code = "unauthorized"
)

var messages = map[Code]string{
	CodeBadJSON:          "That frame is not a JSON object.",
	CodeBinaryFrame:      "Binary frames are not accepted; send JSON in text frames.",
	CodeInvalidUTF8:      "That frame is not valid UTF-8 text.",
	CodeUnknownType:      "That frame type is not part of protocol hearth.v1.",
	CodeMissingField:     "A required field is missing.",
	CodeBadField:         "A field has the wrong type or form.",
	CodeTextEmpty:        "A message cannot be empty.",
	CodeTextTooLong:      fmt.Sprintf("A message can be at most %d characters long.", MaxTextRunes),
	CodeInvalidRoom:      fmt.Sprintf("A room id is 1 to %d letters, digits, '-' or '_'.", MaxRoomIDBytes),
	CodeNameEmpty:        "Please choose a display name.",
	CodeNameTooLong:      fmt.Sprintf("A display name can be at most %d characters long.", MaxDisplayNameRunes),
	CodeNameInvalidChar:  "A display name cannot contain control or invisible characters.",
	CodeNotAuthenticated: "Please sign in first: send an auth frame with your token.",
	CodeAlreadyAuthed:    "This connection is already signed in.",
	CodeInvalidToken:     "Your sign-in token is not valid. Please get a new link.",
	CodeTokenExpired:     "Your sign-in token has expired. Please get a new link.",
	CodeAuthTimeout:      "No sign-in arrived in time.",
	CodeNotJoined:        "You have not joined that room.",
	CodeAlreadyJoined:    "You are already in that room.",
	CodeTooManyRooms:     fmt.Sprintf("One connection can be in at most %d rooms at once.", MaxRoomsPerConn),
	CodeUnavailable:      "The service is briefly unavailable; nothing was sent. Please try again.",
	CodeInternal:         "Something went wrong on our side; nothing was sent.",
	CodeSubprotocol:      "The WebSocket must offer the subprotocol " + Subprotocol + ".",
	CodeOriginRefused:    "Connections from this site are not allowed.",
	CodeUnauthorized:     "A valid bearer token is required.",
}

// Message returns the human sentence for code, or a generic sentence for a
// code that has none.
func (c Code) Message() string {
	if m, ok := messages[c]; ok {
		return m
	}
	return "The request could not be carried out."
}

// Error is a protocol error: a stable Code and a human sentence. It is what
// a client sees in an error frame or a REST error body, so it never carries
// message text, tokens or display names.
type Error struct {
	Code    Code
	Message string
}

// Error implements error.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, protocol.Err(protocol.CodeNotJoined)) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Err returns the *Error for code with its standard sentence.
func Err(code Code) *Error { return &Error{Code: code, Message: code.Message()} }

// Errf returns the *Error for code with a specific sentence (for example one
// naming the missing field).
func Errf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error when it is one (or wraps one), and
// otherwise the generic CodeInternal error, so that no unexpected error text
// ever reaches a client.
func AsError(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return Err(CodeInternal)
}
