// Package protocol defines Hearth's wire protocol v1: the frames a client
// sends, the events a server sends, their validation, the limits that bound
// them, the error codes and the WebSocket close codes. It does no I/O.
//
// The protocol is described for people in docs/protocol.md; this package is
// its single source of truth in code: every limit and every user-facing
// sentence lives here once.
package protocol

import "time"

// Subprotocol is the WebSocket subprotocol (Sec-WebSocket-Protocol) a client
// must offer on the upgrade to /ws. A later, incompatible protocol gets a new
// name ("hearth.v2") so that old and new clients can be told apart.
const Subprotocol = "hearth.v1"

// Limits of protocol v1. Each is enforced by the server before the value is
// used; a client that exceeds one gets the error code named beside it.
const (
	// MaxFrameBytes is the WebSocket read limit for one client frame, in
	// bytes (64 KiB). A larger frame closes the connection with
	// CloseMessageTooBig (1009): the frame is abusive, not a typo.
	MaxFrameBytes = 64 << 10

	// MaxTextBytes is the most UTF-8 bytes a message text (send, dm) may
	// have as sent, before anything else is done with it (16 KiB: 4000 code
	// points of 4 bytes each fit). It is checked first, so a long text is
	// refused before it is normalized or copied (CodeTextTooLong).
	MaxTextBytes = 16 << 10

	// MaxTextRunes is the longest message text, in Unicode code points after
	// NFC normalization (CodeTextTooLong).
	MaxTextRunes = 4000

	// MaxCharRunes is the most code points one user-perceived character
	// may hold: an extended grapheme cluster (Unicode UAX #29, segmented by
	// github.com/rivo/uniseg). The longest emoji sequences have 10 (a kiss
	// with two skin tones), Indic conjuncts and Tibetan stacks fewer; a
	// longer cluster (a chain of conjoining jamo, joiners or variation
	// selectors) is a stack built to spill over other lines
	// (CodeTextTooManyMarks; for display names, CodeNameInvalidChar).
	MaxCharRunes = 16

	// MaxMarksPerChar is the most combining marks (categories Mn and Me) on
	// one user-perceived character ("Zalgo" text piles dozens); real
	// scripts need at most four or five (pointed Hebrew with cantillation)
	// (CodeTextTooManyMarks; for display names, CodeNameInvalidChar).
	MaxMarksPerChar = 8

	// MaxMarksPerCharAvg bounds combining marks over a whole text (a
	// message or a display name): at most MaxMarksPerCharAvg per character
	// on average, plus MaxMarksPerChar, so a text of n characters may carry
	// 2n+8 marks. Fully pointed Hebrew or voweled Arabic averages under
	// two per letter; a line of letters each stacked with three or more
	// marks does not pass (CodeTextTooManyMarks; for display names,
	// CodeNameInvalidChar).
	MaxMarksPerCharAvg = 2

	// MaxDisplayNameRunes is the longest display name, in code points after
	// trimming and NFC normalization (CodeNameTooLong).
	MaxDisplayNameRunes = 32

	// MaxNameMarksPerChar is the most combining marks (Mn, Me) one
	// character of a display name may carry after NFC
	// (CodeNameInvalidChar): two covers real names (a vowel with a
	// diacritic and a tone mark); more is decoration that draws over the
	// names around it.
	MaxNameMarksPerChar = 2

	// MaxRoomIDBytes is the longest room id, in bytes; a room id is 1 to 64
	// characters from [A-Za-z0-9_-], starting with a letter or digit
	// (CodeInvalidRoom).
	MaxRoomIDBytes = 64

	// MaxRequestIDBytes is the longest request "id" a client may attach to a
	// frame, in bytes (CodeBadField).
	MaxRequestIDBytes = 64

	// MaxTokenBytes is the longest bearer token accepted, in bytes (4 KiB);
	// a longer one is refused before any parsing (CodeInvalidToken), in an
	// auth or refresh frame and in an Authorization header alike.
	MaxTokenBytes = 4 << 10

	// MaxRoomsPerConn is how many rooms one connection may have joined at
	// once (CodeTooManyRooms).
	MaxRoomsPerConn = 5

	// MaxConnsPerUser is how many connections one user (a token's sub) may
	// have open at once, over every node of a deployment: tabs, devices and
	// the terminal client together. The next one is refused with
	// CodeTooManyConnections and closed with CloseTooManyConnections.
	MaxConnsPerUser = 5

	// SendRate and SendBurst bound one user's messages and other frames
	// broadcast to a room (send, dm, raise_hand, lower_hand, set_presence,
	// react), over all of the user's connections and nodes: a person typing
	// sends far less; a paste of a few lines fits the burst. Excess is
	// refused with CodeRateLimited and retry_after_ms.
	SendRate  = 5 // per second
	SendBurst = 10

	// FrameRate and FrameBurst bound all of one user's frames, over all of
	// their connections and nodes (before auth: the connection's own).
	FrameRate  = 30 // per second
	FrameBurst = 60

	// FloodLimit is how many frames one connection may have refused for
	// rate (one more forgiven each second) before it is closed with
	// CloseTooManyRequests.
	FloodLimit = 100

	// AuthTimeout is how long a connection may stay unauthenticated after
	// the upgrade before it is closed with CloseUnauthorized (4401).
	AuthTimeout = 10 * time.Second
)

// MaxHidden bounds join's hidden list: more members than a room can seat
// (room capacity is at most 50, plus facilitators).
const MaxHidden = 64

// Limits of between-session check-ins (internal/checkin, REST /api/checkins).
const (
	// MinMood and MaxMood bound a check-in's mood: 1 (very low) to 5 (very
	// good) (CodeInvalidMood).
	MinMood = 1
	MaxMood = 5
	// MaxCheckInNoteRunes is the longest check-in note, in code points
	// after trimming and NFC normalization (CodeNoteTooLong).
	MaxCheckInNoteRunes = 500
)
