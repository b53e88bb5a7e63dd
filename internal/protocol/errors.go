package protocol

import (
	"errors"
	"fmt"
	"time"
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
	CodeTextTooLong      Code = "text_too_long"     // the message text exceeds MaxTextBytes or MaxTextRunes
	CodeInvalidRoom      Code = "invalid_room"      // the room id is not of the allowed form
	CodeNameEmpty        Code = "name_empty"        // the display name is empty after trimming
	CodeNameTooLong      Code = "name_too_long"     // the display name exceeds MaxDisplayNameRunes
	CodeNameInvalidChar  Code = "name_invalid_char" // the display name holds a control, format, bidi, zero-width or blank character
	CodeNameInvisible    Code = "name_invisible"    // the display name has no visible character at all (e.g. only U+3164 HANGUL FILLER)
	CodeNameReserved     Code = "name_reserved"     // the display name is a role word ("facilitator", "admin", …) or a facilitator's name
	CodeNameTaken        Code = "name_taken"        // another person in the room has this display name (compared ignoring case and look-alike letters)
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

	// Rooms and their controls.
	CodeForbidden       Code = "forbidden"          // the caller's role in the room does not allow this
	CodeNotMember       Code = "not_member"         // join by someone neither on the roster nor a facilitator
	CodeBanned          Code = "banned"             // join by a member banned from the room
	CodeRoomFull        Code = "room_full"          // join when the room's capacity is reached
	CodeNotFound        Code = "not_found"          // no such room, invite, member or route
	CodeInvalidRequest  Code = "invalid_request"    // a REST body field is missing or out of range (the message names it)
	CodeLastFacilitator Code = "last_facilitator"   // removing the room's only facilitator
	CodeInviteInvalid   Code = "invite_invalid"     // an invite code that does not exist, was used, or expired
	CodeRateLimited     Code = "rate_limited"       // too many requests; retry later
	CodeNoSession       Code = "no_session"         // a session control while no session is open
	CodeSessionOpen     Code = "session_open"       // start_session while a session is already open
	CodeMuted           Code = "muted"              // send by a muted member (reason and until are given)
	CodeSlowMode        Code = "slow_mode"          // send sooner than slow mode allows (retry_after_ms is given)
	CodeNotWaiting      Code = "not_waiting"        // admit or deny of someone not in the lobby
	CodeNotFacilitator  Code = "target_facilitator" // a control aimed at a facilitator
	CodeNotPresent      Code = "not_present"        // a dm to someone not in the room now
	CodeOpenAlerts      Code = "open_alerts"        // end_session while a crisis alert is unacknowledged (force: true overrides)
	CodeWaiting         Code = "in_lobby"           // a room command while waiting in the lobby
	CodeNotYourTurn     Code = "not_your_turn"      // send in rounds mode without the floor; end_turn by someone else
	CodeNotVolunteered  Code = "not_volunteered"    // give_floor to a member whose hand is not raised
	CodeQueueEmpty      Code = "queue_empty"        // next_speaker while no hand is raised
	CodeObserver        Code = "observer"           // send or raise_hand while observing
	CodeInvalidReaction Code = "invalid_reaction"   // a reaction outside the fixed set
	// CodeAgreementRequired refuses a join until the member accepts the
	// room's current group agreement; the error carries it (Error.Guidelines).
	CodeAgreementRequired Code = "agreement_required"

	// Between-session check-ins (internal/checkin).
	CodeInvalidMood       Code = "invalid_mood"       // a mood outside MinMood–MaxMood
	CodeNoteTooLong       Code = "note_too_long"      // a note over MaxCheckInNoteRunes
	CodeInvalidNote       Code = "invalid_note"       // a note (or check-in body) that is not valid UTF-8, or holds control characters
	CodeInvalidVisibility Code = "invalid_visibility" // a visibility other than "facilitators" or "group"
	CodeNotInRoom         Code = "not_in_room"        // a check-in for a group the member is not on the roster of (or is banned from)

	// Hostile input and limits (docs/security.md).

	// CodeTextTooManyMarks refuses a message (send, dm) that stacks
	// combining marks or joined symbols beyond MaxCharRunes,
	// MaxMarksPerChar or MaxMarksPerCharAvg ("Zalgo" text).
	CodeTextTooManyMarks Code = "text_too_many_marks"
	// CodeTooManyConnections refuses a connection beyond MaxConnsPerUser,
	// which is then closed with CloseTooManyConnections.
	CodeTooManyConnections Code = "too_many_connections"
	// CodeTokenMismatch refuses a refresh whose token is for another user,
	// or for another role, than the connection's; the connection keeps its
	// current token.
	CodeTokenMismatch Code = "token_mismatch"
	// CodeShuttingDown refuses a WebSocket upgrade (HTTP 503) on a node
	// that is shutting down: connect again, to another node.
	CodeShuttingDown Code = "shutting_down"

	// Sign-in for the web client (internal/signin).

	// CodeNotSignedIn refuses a request that needs the session cookie
	// when it is missing, invalid or expired.
	CodeNotSignedIn Code = "not_signed_in"
	// CodeCrossOrigin refuses an unsafe request (POST, PUT, DELETE)
	// carrying the session cookie that did not come from the site's own
	// pages (Sec-Fetch-Site, Origin).
	CodeCrossOrigin Code = "cross_origin"
)

var messages = map[Code]string{
	CodeNotYourTurn:      "The group is taking turns right now: you can raise your hand to share next.",
	CodeNotVolunteered:   "The floor can only go to someone who has raised their hand.",
	CodeQueueEmpty:       "Nobody has raised their hand.",
	CodeObserver:         "You are just listening right now. Choose \"Taking part\" if you would like to share.",
	CodeInvalidReaction:  "That reaction is not one of the group's reactions: heart, support, thanks, me too, strength.",
	CodeOpenAlerts:       "A crisis alert in this room has not been acknowledged yet. Please acknowledge it first, or choose to end the session anyway.",
	CodeNotPresent:       "That person is not in the room right now, so the private message was not sent.",
	CodeNoSession:        "No session is open in this room.",
	CodeSessionOpen:      "A session is already open in this room.",
	CodeMuted:            "A facilitator has muted you for now.",
	CodeSlowMode:         "Slow mode is on: please wait a little before sending again.",
	CodeNotWaiting:       "That person is not waiting in the lobby.",
	CodeNotFacilitator:   "Facilitators cannot be the target of that control.",
	CodeWaiting:          "You are waiting for a facilitator to let you in.",
	CodeForbidden:        "You do not have permission to do that in this room.",
	CodeNotMember:        "You are not on this group's roster. Ask a facilitator for an invite.",
	CodeBanned:           "You cannot join this group.",
	CodeRoomFull:         "This group is full right now. Please try again later or contact a facilitator.",
	CodeNotFound:         "Nothing was found here.",
	CodeInvalidRequest:   "The request is missing a field or has one out of range.",
	CodeLastFacilitator:  "A group always keeps at least one facilitator.",
	CodeInviteInvalid:    "This invite is not valid: it may have been used already or have expired.",
	CodeRateLimited:      "Too many requests; please wait a moment.",
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
	CodeNameInvalidChar:  "A display name cannot contain control, formatting or invisible characters (such as zero-width spaces, direction marks or blank fillers).",
	CodeNameInvisible:    "A display name needs at least one visible letter, number or symbol.",
	CodeNameReserved:     "That name is kept for the group's facilitators or for Hearth itself. Please choose another.",
	CodeNameTaken:        "Someone in this group already uses that name, or one that looks the same. Please choose another.",
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

	CodeAgreementRequired: "Please read the group agreement and accept it to join.",

	CodeInvalidMood:       fmt.Sprintf("Please choose a mood from %d (very low) to %d (very good).", MinMood, MaxMood),
	CodeNoteTooLong:       fmt.Sprintf("A check-in note can be at most %d characters long.", MaxCheckInNoteRunes),
	CodeInvalidNote:       "A check-in note must be plain text (valid UTF-8, without control characters).",
	CodeInvalidVisibility: "Choose who sees a check-in: \"facilitators\" (only your group's facilitators) or \"group\" (the other members too).",
	CodeNotInRoom:         "You can only check in with groups you are a member of.",

	CodeTextTooManyMarks:   "A message cannot pile so many accent marks or joined symbols onto its characters. Please write it plainly.",
	CodeTooManyConnections: fmt.Sprintf("You already have Hearth open in %d places. Please close one of them and try again.", MaxConnsPerUser),
	CodeTokenMismatch:      "The new sign-in token is for someone else, or for another role; this connection keeps its current one.",
	CodeShuttingDown:       "This server is restarting. Please connect again in a moment.",

	CodeNotSignedIn: "You are not signed in, or your sign-in has ended. Please sign in again.",
	CodeCrossOrigin: "This request did not come from Hearth's own page, so it was refused.",
}

// errNameStacked is the name_invalid_char refusal of a display name that
// stacks combining marks or joined symbols (see MaxMarksPerChar): the code
// clients already handle, with a sentence that says what is wrong.
var errNameStacked = &Error{Code: CodeNameInvalidChar,
	Message: "A display name cannot pile so many accent marks or joined symbols onto its letters."}

// HTTPStatus is the status a REST response carries with this code.
func (c Code) HTTPStatus() int {
	switch c {
	case CodeUnauthorized, CodeInvalidToken, CodeTokenExpired, CodeNotAuthenticated, CodeNotSignedIn:
		return 401
	case CodeForbidden, CodeNotMember, CodeBanned, CodeOriginRefused, CodeAgreementRequired, CodeNotInRoom, CodeCrossOrigin:
		return 403
	case CodeNotFound, CodeInviteInvalid:
		return 404
	case CodeLastFacilitator, CodeRoomFull, CodeAlreadyJoined, CodeNoSession, CodeSessionOpen, CodeNotWaiting, CodeOpenAlerts,
		CodeNameTaken, CodeNameReserved:
		return 409
	case CodeInvalidRequest, CodeMissingField, CodeBadField, CodeInvalidRoom,
		CodeInvalidMood, CodeNoteTooLong, CodeInvalidNote, CodeInvalidVisibility:
		return 422
	case CodeRateLimited, CodeTooManyConnections:
		return 429
	case CodeUnavailable, CodeShuttingDown:
		return 503
	case CodeInternal:
		return 500
	}
	return 400
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
// message text, tokens or display names. Some codes carry details: muted
// (Reason, Until), slow_mode (RetryAfter), agreement_required (Guidelines).
type Error struct {
	Code       Code
	Message    string
	Reason     string        // muted: the facilitator's reason
	Until      time.Time     // muted: when the mute lifts (zero: until unmuted)
	RetryAfter time.Duration // slow_mode, rate_limited: when to try again
	// Guidelines (agreement_required) is the room's current group agreement
	// — its text and version — for the client to show before joining again
	// with "agree" set to the version.
	Guidelines *Guidelines
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

// AgreementRequired returns the agreement_required error carrying the
// room's current group agreement: text and version (see Guidelines).
func AgreementRequired(text, version string) *Error {
	e := Err(CodeAgreementRequired)
	e.Guidelines = &Guidelines{Text: text, Version: version}
	return e
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
