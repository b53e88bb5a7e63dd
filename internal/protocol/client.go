package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
	"golang.org/x/text/unicode/norm"
)

// Client frame types of protocol v1.
const (
	TypeAuth  = "auth"
	TypeJoin  = "join"
	TypeSend  = "send"
	TypeLeave = "leave"
	TypePing  = "ping"

	// TypeRefresh hands an authenticated connection a new token for the
	// same user and role before its current one expires; answered ok. A
	// connection whose token expires unrefreshed gets token_expired and is
	// closed with CloseUnauthorized.
	TypeRefresh = "refresh"

	// Facilitator controls (each carries room).
	TypeStartSession  = "start_session"
	TypeBeginClosing  = "begin_closing"
	TypeEndSession    = "end_session"
	TypeAdmit         = "admit"
	TypeAdmitAll      = "admit_all"
	TypeDeny          = "deny"
	TypeWarn          = "warn"
	TypeMute          = "mute"
	TypeUnmute        = "unmute"
	TypeRemove        = "remove"
	TypeBan           = "ban"
	TypeUnban         = "unban"
	TypeDeleteMessage = "delete_message"
	TypeLock          = "lock"
	TypeUnlock        = "unlock"
	TypeSlowMode      = "slow_mode"
	TypePin           = "pin"
	TypeUnpin         = "unpin"
	TypeDM            = "dm"

	// Members' own safety tools.
	TypeReport         = "report"
	TypeHide           = "hide"
	TypeUnhide         = "unhide"
	TypeRequestSupport = "request_support"

	// Crisis alerts (facilitators).
	TypeAckAlert = "ack_alert"

	// Sharing (see docs/protocol.md, "Sharing"): modes and the share timer
	// (facilitators), the share queue and the floor, observers, reactions.
	TypeSetMode     = "set_mode"
	TypeShareTimer  = "share_timer"
	TypeRaiseHand   = "raise_hand"
	TypeLowerHand   = "lower_hand"
	TypePass        = "pass"
	TypeGiveFloor   = "give_floor"
	TypeNextSpeaker = "next_speaker"
	TypeEndTurn     = "end_turn"
	TypeSetPresence = "set_presence"
	TypeReact       = "react"
)

// Room modes (set_mode): in ModeOpen anyone present, not muted and not
// observing may post; in ModeRounds only the member holding the floor, and
// facilitators.
const (
	ModeOpen   = "open"
	ModeRounds = "rounds"
)

// Presence in a room (join's and set_presence's "as"): taking part, or
// observing (receives everything, may react and pass, may not post or raise a
// hand).
const (
	AsParticipant = "participant"
	AsObserver    = "observer"
)

// Reactions is the fixed, kind set of supportive reactions, in the order
// clients show them. Anything else is refused with invalid_reaction.
var Reactions = []string{"heart", "support", "thanks", "me_too", "strength"}

// Frame is one decoded client frame. Every client frame is a JSON object with
// a "type" and an optional request "id"; the other fields are used by the
// types that name them and ignored by the others (so that a newer client can
// add fields without breaking an older server).
type Frame struct {
	Type        string `json:"type"`
	ID          string `json:"id,omitempty"`
	Token       string `json:"token,omitempty"`        // auth, refresh
	Room        string `json:"room,omitempty"`         // join, send, leave
	DisplayName string `json:"display_name,omitempty"` // join: NFC, trimmed by DecodeFrame
	Text        string `json:"text,omitempty"`         // send, dm: NFC-normalized by DecodeFrame; pin
	MemberID    string `json:"member_id,omitempty"`    // controls aimed at a member, dm, hide
	MessageID   string `json:"message_id,omitempty"`   // delete_message, report
	Reason      string `json:"reason,omitempty"`       // warn, mute, report
	Minutes     int    `json:"minutes,omitempty"`      // start_session (planned length), mute (0: until unmuted)
	Seconds     int    `json:"seconds,omitempty"`      // slow_mode (0: off)
	AlertID     string `json:"alert_id,omitempty"`     // ack_alert
	Force       bool   `json:"force,omitempty"`        // end_session despite open alerts
	Mode        string `json:"mode,omitempty"`         // set_mode: ModeOpen or ModeRounds
	As          string `json:"as,omitempty"`           // join (optional), set_presence: AsParticipant or AsObserver
	Reaction    string `json:"reaction,omitempty"`     // react: one of Reactions
	// ResumeFrom (join, optional) asks for the room events missed since the
	// last one this member saw on an earlier connection.
	ResumeFrom *ResumePoint `json:"resume_from,omitempty"`
	// Hidden (join, optional) are member ids whose messages this connection
	// hides from the start, replayed ones included (at most MaxHidden).
	Hidden []string `json:"hidden,omitempty"`
	// Agree (join, optional) is the version of the room's group agreement
	// the person accepts: the "version" of the Guidelines carried by an
	// agreement_required error (at most MaxRequestIDBytes bytes).
	Agree string `json:"agree,omitempty"`
}

// ResumePoint is the last room event a client saw: its seq, with the
// epoch of the room's seq counter that the seq belongs to (from joined).
type ResumePoint struct {
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

// fieldCheck validates one field of a decoded frame in place.
type fieldCheck func(f *Frame) *Error

// frameRules lists, per client frame type, the checks its fields must pass,
// in the order they are reported.
var frameRules = map[string][]fieldCheck{
	TypeAuth:  {required("token", func(f *Frame) string { return f.Token })},
	TypeJoin:  {checkRoom, checkDisplayName, checkAs(false), checkAgree, checkResume},
	TypeSend:  {checkRoom, checkText},
	TypeLeave: {checkRoom},
	TypePing:  nil,

	TypeRefresh: {required("token", func(f *Frame) string { return f.Token })},

	TypeStartSession:   {checkRoom},
	TypeBeginClosing:   {checkRoom},
	TypeEndSession:     {checkRoom},
	TypeAdmit:          {checkRoom, checkMemberID},
	TypeAdmitAll:       {checkRoom},
	TypeDeny:           {checkRoom, checkMemberID},
	TypeWarn:           {checkRoom, checkMemberID},
	TypeMute:           {checkRoom, checkMemberID},
	TypeUnmute:         {checkRoom, checkMemberID},
	TypeRemove:         {checkRoom, checkMemberID},
	TypeBan:            {checkRoom, checkMemberID},
	TypeUnban:          {checkRoom, checkMemberID},
	TypeDeleteMessage:  {checkRoom, checkMessageID},
	TypeLock:           {checkRoom},
	TypeUnlock:         {checkRoom},
	TypeSlowMode:       {checkRoom},
	TypePin:            {checkRoom},
	TypeUnpin:          {checkRoom},
	TypeDM:             {checkRoom, checkMemberID, checkText},
	TypeReport:         {checkRoom, checkMessageID},
	TypeHide:           {checkRoom, checkMemberID},
	TypeUnhide:         {checkRoom, checkMemberID},
	TypeRequestSupport: {checkRoom},
	TypeAckAlert:       {checkRoom, checkID("alert_id", func(f *Frame) string { return f.AlertID })},

	TypeSetMode:     {checkRoom, checkOneOf("mode", func(f *Frame) string { return f.Mode }, ModeOpen, ModeRounds)},
	TypeShareTimer:  {checkRoom},
	TypeRaiseHand:   {checkRoom},
	TypeLowerHand:   {checkRoom},
	TypePass:        {checkRoom},
	TypeGiveFloor:   {checkRoom, checkMemberID},
	TypeNextSpeaker: {checkRoom},
	TypeEndTurn:     {checkRoom},
	TypeSetPresence: {checkRoom, checkAs(true)},
	TypeReact:       {checkRoom, checkMessageID, checkReaction},
}

// checkOneOf requires field name to be one of values.
func checkOneOf(name string, get func(*Frame) string, values ...string) fieldCheck {
	return func(f *Frame) *Error {
		v := get(f)
		if v == "" {
			return Errf(CodeMissingField, "The field %q is required.", name)
		}
		if !slices.Contains(values, v) {
			return Errf(CodeBadField, "The field %q must be one of: %s.", name, strings.Join(values, ", "))
		}
		return nil
	}
}

// checkAs validates "as" (AsParticipant or AsObserver); join may omit it.
func checkAs(required bool) fieldCheck {
	one := checkOneOf("as", func(f *Frame) string { return f.As }, AsParticipant, AsObserver)
	return func(f *Frame) *Error {
		if f.As == "" && !required {
			return nil
		}
		return one(f)
	}
}

// checkAgree bounds join's optional "agree" (a guidelines version is 16
// characters; anything over 64 bytes is refused).
func checkAgree(f *Frame) *Error {
	if len(f.Agree) > MaxRequestIDBytes {
		return Errf(CodeBadField, "The field \"agree\" can be at most %d bytes long.", MaxRequestIDBytes)
	}
	return nil
}

// checkResume bounds join's resume_from and hidden.
func checkResume(f *Frame) *Error {
	if r := f.ResumeFrom; r != nil && (r.Epoch == "" || len(r.Epoch) > 64) {
		return Errf(CodeBadField, "The field \"resume_from.epoch\" must be the epoch from joined.")
	}
	if len(f.Hidden) > MaxHidden {
		return Errf(CodeBadField, "The field \"hidden\" can list at most %d members.", MaxHidden)
	}
	for _, m := range f.Hidden {
		if m == "" || len(m) > 64 {
			return Errf(CodeBadField, "The field \"hidden\" must list member ids.")
		}
	}
	return nil
}

func checkReaction(f *Frame) *Error {
	if f.Reaction == "" {
		return Errf(CodeMissingField, "The field \"reaction\" is required.")
	}
	if !slices.Contains(Reactions, f.Reaction) {
		return Err(CodeInvalidReaction)
	}
	return nil
}

// checkID requires a short opaque id field (member ids and message ids are
// 16 characters; anything over 64 bytes is refused).
func checkID(name string, get func(*Frame) string) fieldCheck {
	return func(f *Frame) *Error {
		v := get(f)
		if v == "" {
			return Errf(CodeMissingField, "The field %q is required.", name)
		}
		if len(v) > 64 {
			return Errf(CodeBadField, "The field %q is too long.", name)
		}
		return nil
	}
}

var (
	checkMemberID  = checkID("member_id", func(f *Frame) string { return f.MemberID })
	checkMessageID = checkID("message_id", func(f *Frame) string { return f.MessageID })
)

// DecodeFrame parses and validates one client frame. It never panics and
// never returns a partly valid frame: either every field the type needs is
// present and valid (text and display name normalized to NFC), or the
// *Error says precisely what is wrong. The returned Frame carries the
// request id whenever it could be read, so that the error reply can name it.
func DecodeFrame(data []byte) (Frame, *Error) {
	var f Frame
	if !utf8.Valid(data) {
		return f, Err(CodeInvalidUTF8)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return f, Err(CodeBadJSON)
	}
	if err := json.Unmarshal(trimmed, &f); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			f.ID = salvageID(trimmed)
			return f, Errf(CodeBadField, "The field %q has the wrong type.", te.Field)
		}
		return Frame{}, Err(CodeBadJSON)
	}
	if len(f.ID) > MaxRequestIDBytes {
		f.ID = ""
		return f, Errf(CodeBadField, "The field \"id\" can be at most %d bytes long.", MaxRequestIDBytes)
	}
	if f.Type == "" {
		return f, Errf(CodeMissingField, "The field \"type\" is required.")
	}
	rules, ok := frameRules[f.Type]
	if !ok {
		return f, Errf(CodeUnknownType, "The frame type %q is not part of protocol %s.", clip(f.Type, 32), Subprotocol)
	}
	for _, check := range rules {
		if e := check(&f); e != nil {
			return f, e
		}
	}
	return f, nil
}

// RequestID returns the request "id" of a client frame without decoding
// the rest of it, or "" when it has none, or none that is a string of at
// most MaxRequestIDBytes. The server uses it to answer a frame it refuses
// unread (rate_limited) with the id the client waits for.
func RequestID(data []byte) string { return salvageID(data) }

// salvageID reads just the request id of a frame whose other fields failed
// to decode, so the error reply can still carry it.
func salvageID(data []byte) string {
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(data, &v) != nil {
		return ""
	}
	var id string
	if json.Unmarshal(v.ID, &id) != nil || len(id) > MaxRequestIDBytes {
		return ""
	}
	return id
}

func required(name string, get func(*Frame) string) fieldCheck {
	return func(f *Frame) *Error {
		if get(f) == "" {
			return Errf(CodeMissingField, "The field %q is required.", name)
		}
		return nil
	}
}

func checkRoom(f *Frame) *Error {
	if f.Room == "" {
		return Errf(CodeMissingField, "The field \"room\" is required.")
	}
	if !ValidRoomID(f.Room) {
		return Err(CodeInvalidRoom)
	}
	return nil
}

func checkText(f *Frame) *Error {
	text, e := NormalizeText(f.Text)
	if e != nil {
		return e
	}
	f.Text = text
	return nil
}

func checkDisplayName(f *Frame) *Error {
	name, e := NormalizeDisplayName(f.DisplayName)
	if e != nil {
		return e
	}
	f.DisplayName = name
	return nil
}

// ValidRoomID reports whether id is 1 to MaxRoomIDBytes characters from
// [A-Za-z0-9_-] starting with a letter or digit. Room ids appear in Redis key
// and channel names, so nothing else is allowed.
func ValidRoomID(id string) bool {
	if id == "" || len(id) > MaxRoomIDBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// NormalizeText returns message text in NFC and checks it, in this order:
// at most MaxTextBytes bytes as sent (CodeTextTooLong: checked first, so a
// huge text is refused before it is normalized); not only white space or
// invisible characters (CodeTextEmpty); at most MaxTextRunes code points
// after NFC (CodeTextTooLong); no character stacked beyond MaxCharRunes or
// MaxMarksPerChar, and no more combining marks than MaxMarksPerCharAvg
// allows (CodeTextTooManyMarks; see Stacked).
func NormalizeText(text string) (string, *Error) {
	if len(text) > MaxTextBytes {
		return "", Err(CodeTextTooLong)
	}
	text = norm.NFC.String(text)
	if strings.TrimSpace(text) == "" || !strings.ContainsFunc(text, IsVisible) {
		return "", Err(CodeTextEmpty) // only white space or invisible characters
	}
	if utf8.RuneCountInString(text) > MaxTextRunes {
		return "", Err(CodeTextTooLong)
	}
	if Stacked(text) {
		return "", Err(CodeTextTooManyMarks)
	}
	return text, nil
}

// Stacked reports whether s (in NFC) piles up combining marks or joined
// symbols: a user-perceived character (an extended grapheme cluster,
// segmented by github.com/rivo/uniseg) of more than MaxCharRunes code
// points or with more than MaxMarksPerChar combining marks (Mn, Me), or
// more marks over the whole of s than MaxMarksPerCharAvg per character
// plus MaxMarksPerChar. This is "Zalgo" text, which draws over the lines
// around it; no real script needs it.
func Stacked(s string) bool {
	chars, marks := 0, 0
	state := -1
	for rest := s; rest != ""; {
		var cluster string
		cluster, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		chars++
		n, m := 0, 0
		for _, r := range cluster {
			n++
			if unicode.In(r, unicode.Mn, unicode.Me) {
				m++
			}
		}
		if n > MaxCharRunes || m > MaxMarksPerChar {
			return true
		}
		marks += m
	}
	return marks > MaxMarksPerCharAvg*chars+MaxMarksPerChar
}

// NormalizeDisplayName trims and NFC-normalizes a display name and checks
// it, in this order:
//
//   - 1 to MaxDisplayNameRunes code points after trimming white space
//     (CodeNameEmpty, CodeNameTooLong);
//   - no control (Cc), format (Cf: zero-width space, joiner and non-joiner
//     U+200B–200D, direction marks U+200E–200F, bidi embeddings and
//     overrides U+202A–202E, isolates U+2066–2069, word joiner U+2060, BOM
//     U+FEFF, soft hyphen, Mongolian vowel separator U+180E, tags), line or
//     paragraph separator, private-use or surrogate code point, noncharacter
//     or U+FFFD (CodeNameInvalidChar);
//   - at least one visible character (CodeNameInvisible): a letter, number,
//     punctuation or symbol that is not white space, not a combining mark on
//     its own, not Default_Ignorable_Code_Point (Unicode's set of code points
//     that render as nothing: the Hangul fillers U+115F, U+1160, U+3164,
//     U+FFA0, variation selectors, …) and not a blank-looking symbol
//     (U+2800 BRAILLE PATTERN BLANK, U+1D159 MUSICAL SYMBOL NULL NOTEHEAD);
//   - none of those blank or default-ignorable characters anywhere, except
//     variation selectors, which emoji such as "❤️" need
//     (CodeNameInvalidChar);
//   - no letter stacked with combining marks or joined symbols (Stacked;
//     CodeNameInvalidChar with its own sentence).
//
// Names that pass can still be refused by a room (reserved words, names
// taken): see room.NameKey.
func NormalizeDisplayName(name string) (string, *Error) {
	if len(name) > 4*MaxDisplayNameRunes*4 {
		return "", Err(CodeNameTooLong)
	}
	name = strings.TrimSpace(norm.NFC.String(name))
	if name == "" {
		return "", Err(CodeNameEmpty)
	}
	if utf8.RuneCountInString(name) > MaxDisplayNameRunes {
		return "", Err(CodeNameTooLong)
	}
	visible := false
	for _, r := range name {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Cs) ||
			r == utf8.RuneError || isNoncharacter(r) {
			return "", Err(CodeNameInvalidChar)
		}
		visible = visible || IsVisible(r)
	}
	if !visible {
		return "", Err(CodeNameInvisible)
	}
	for _, r := range name {
		if isBlank(r) || (IsDefaultIgnorable(r) && !unicode.Is(unicode.Variation_Selector, r)) {
			return "", Err(CodeNameInvalidChar)
		}
	}
	if Stacked(name) || nameMarksStacked(name) {
		return "", errNameStacked
	}
	return name, nil
}

// nameMarksStacked reports whether a display name (NFC already) has a
// character (grapheme cluster) with more than MaxNameMarksPerChar
// combining marks: names are short and shown beside every message, so they
// get a tighter rule than message text. Writing systems need at most two
// on one letter after NFC (Vietnamese "ệ" is precomposed; a tone mark on a
// vowel with a diacritic is the most).
func nameMarksStacked(name string) bool {
	state := -1
	for rest := name; rest != ""; {
		var cluster string
		cluster, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		m := 0
		for _, r := range cluster {
			if unicode.In(r, unicode.Mn, unicode.Me) {
				m++
			}
		}
		if m > MaxNameMarksPerChar {
			return true
		}
	}
	return false
}

// IsDefaultIgnorable reports whether r has Unicode's
// Default_Ignorable_Code_Point property (derived, as in
// DerivedCoreProperties.txt: Other_Default_Ignorable_Code_Point, format
// characters and variation selectors, less the few format characters that
// are visible or white space). Such code points render as nothing.
func IsDefaultIgnorable(r rune) bool {
	switch {
	case unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r), unicode.Is(unicode.Variation_Selector, r):
		return true
	case !unicode.Is(unicode.Cf, r), unicode.IsSpace(r):
		return false
	case r >= 0xFFF9 && r <= 0xFFFB, r >= 0x13430 && r <= 0x1343F: // interlinear annotation, Egyptian format controls
		return false
	case r >= 0x0600 && r <= 0x0605, r == 0x06DD, r == 0x070F, r == 0x0890, r == 0x0891, r == 0x08E2, r == 0x110BD, r == 0x110CD:
		return false // prepended concatenation marks, which are visible
	}
	return true
}

// IsVisible reports whether r shows as something on its own: a graphic
// character that is not white space, not a combining mark (Mn, Me), not
// default-ignorable and not blank-looking.
func IsVisible(r rune) bool {
	return unicode.IsGraphic(r) && !unicode.IsSpace(r) && !unicode.In(r, unicode.Mn, unicode.Me) &&
		!IsDefaultIgnorable(r) && !isBlank(r)
}

// isBlank reports the symbols that are graphic by category but draw as
// empty space, so they make invisible or space-padded names.
func isBlank(r rune) bool { return r == 0x2800 || r == 0x1D159 }

// isNoncharacter reports Unicode's 66 noncharacters (U+FDD0–FDEF and the
// last two code points of every plane).
func isNoncharacter(r rune) bool {
	return (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
