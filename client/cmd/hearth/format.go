package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"hearth/client"
)

// sanitize makes untrusted text (message text, display names, anything else
// the server relays) safe to print on a terminal: every C0 control (newline
// and tab included), DEL and every C1 control is replaced by a visible
// escape such as \x1b, so no escape sequence can reach the terminal; bidi
// controls and line/paragraph separators, which can reorder or break what a
// terminal shows, become \u escapes; invalid UTF-8 becomes U+FFFD. Callers
// that want to keep line structure split on '\n' first (see messageLines).
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch {
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r) // utf8.RuneError from an invalid byte is written as U+FFFD
		}
	}
	return b.String()
}

// unsafeRune reports whether r must not be printed as is.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL, C1
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f: // arabic letter mark, LRM, RLM
		return true
	case r >= 0x202a && r <= 0x202e: // LRE, RLE, PDF, LRO, RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}

// timeWidth is the width of the "[15:04:05] " prefix of a message line;
// continuation lines of a multi-line message are indented by it.
const timeWidth = len("[15:04:05] ")

// messageLines formats a chat message as one line per line of its text:
// "[17:42:19] Robin: Hello everyone", continuation lines indented. The
// sender's name and every line of text are sanitized; "\r\n" line ends
// count as one.
func messageLines(ts time.Time, from client.Member, text string) []string {
	return textLines(stamp(ts)+label(from)+": ", text)
}

// stamp is the "[15:04:05] " prefix of a message line ("[--:--:--] " when
// the time is unknown).
func stamp(ts time.Time) string {
	if ts.IsZero() {
		return "[--:--:--] "
	}
	return "[" + ts.Format("15:04:05") + "] "
}

// textLines formats text that a person wrote as one line per line of it:
// the first after head (which the caller has sanitized), the others
// indented by timeWidth. Every line is sanitized; "\r\n" counts as one line
// end.
func textLines(head, text string) []string {
	parts := strings.Split(text, "\n")
	lines := make([]string, len(parts))
	for i, part := range parts {
		part = sanitize(strings.TrimSuffix(part, "\r"))
		if i == 0 {
			lines[i] = head + part
		} else {
			lines[i] = strings.Repeat(" ", timeWidth) + part
		}
	}
	return lines
}

// roleCoFacilitator is the role of a room's co-facilitators (the lead has
// client.RoleFacilitator).
const roleCoFacilitator = "co_facilitator"

// facilitates reports whether a role in a room is a facilitator's.
func facilitates(role string) bool {
	return role == client.RoleFacilitator || role == roleCoFacilitator
}

// label is how a member is named on screen: their sanitized display name,
// with " (facilitator)" for facilitators and " (co-facilitator)" for
// co-facilitators.
func label(m client.Member) string {
	name := sanitize(m.DisplayName)
	if name == "" {
		name = "someone"
	}
	switch m.Role {
	case client.RoleFacilitator:
		name += " (facilitator)"
	case roleCoFacilitator:
		name += " (co-facilitator)"
	}
	return name
}

// agreementWidth is the width, in characters, to which agreementLines
// wraps the group agreement (terminals are at least 80 wide).
const agreementWidth = 76

// agreementLines formats a room's group agreement for the terminal: a line
// saying what it is (changed: it changed since this person accepted it),
// then the text, sanitized, indented by two spaces and wrapped at
// agreementWidth, its blank lines kept; a "- " bullet's continuation lines
// are indented under its text.
func agreementLines(room, text string, changed bool) []string {
	head := "* Before you join " + sanitize(room) + ", please read the group agreement:"
	if changed {
		head = "* The group agreement of " + sanitize(room) + " has changed since you accepted it. Please read it again:"
	}
	lines := []string{head, ""}
	for line := range strings.SplitSeq(strings.TrimSpace(text), "\n") {
		line = strings.TrimRight(strings.ReplaceAll(line, "\t", "    "), " \r")
		if line == "" {
			lines = append(lines, "")
			continue
		}
		hang := "  "
		if strings.HasPrefix(strings.TrimLeft(line, " "), "- ") {
			hang = "    "
		}
		lines = append(lines, wrap(sanitize(line), "  ", hang, agreementWidth)...)
	}
	return append(lines, "")
}

// wrap breaks text at spaces into lines of at most width characters (a
// longer word gets a line of its own): the first line starts with first,
// the others with hang.
func wrap(text, first, hang string, width int) []string {
	var lines []string
	line := first
	empty := true // line holds no word yet
	for word := range strings.FieldsSeq(text) {
		if !empty && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			lines = append(lines, line)
			line, empty = hang, true
		}
		if !empty {
			line += " "
		}
		line += word
		empty = false
	}
	return append(lines, line)
}

// errorLine formats an error from the server: "! error code: message".
func errorLine(code, message string) string {
	return "! error " + sanitize(code) + ": " + sanitize(message)
}

// view turns one room's events into lines for the terminal. It remembers
// who is present (member id -> label) so that member_left, the share queue
// and the floor, which carry only member ids, can be printed with names,
// and the room's mode and sharing state, so that it prints only what
// changed. It also keeps the point a join after a dropped connection
// resumes from (see resumePoint), and the messages already printed, so
// that none is printed twice; and what the safety features need (see
// safety). Events that end this person's place in the room set over.
type view struct {
	room    string
	loc     *time.Location // time zone for message times
	me      string         // this connection's member id
	names   map[string]string
	lastSeq uint64        // highest room seq seen in the current epoch; 0 before any
	mode    string        // the room's mode as last shown; "" before a session
	share   *client.Share // the sharing state last applied; nil before any

	myRole string                   // this connection's role in the room
	people map[string]client.Member // who is present, by member id (for /dm and /hide)
	state  *client.RoomState        // the room state last shown; nil before any

	// The resume point, kept in memory only: epoch is the last joined's
	// ("" when there is nothing to resume from: before a join, from a
	// server without resuming, or once the session has ended), joinedSeq
	// its seq once that counts as seen. The seq is max(lastSeq, joinedSeq).
	epoch     string
	joinedSeq uint64
	// While a resuming join's replay arrives: how many replayed events are
	// still to come, and the seq of that joined (room state and sharing
	// events up to it are older than what joined showed).
	replaying int
	replayTo  uint64
	// resumedFrom is the seq the last join resumed from: a room event up to
	// it was seen before the drop, so a repeat of it is not printed.
	resumedFrom uint64
	excuseJump  bool // the next jump in seq was already told as a gap

	printed      map[string]bool // message ids printed, the newest maxRemembered
	printedOrder []string
	mine         map[string]string // of those, this person's messages: id -> the start of the text

	safety
}

// safety is what a view keeps for the safety features: the crisis
// resources, private messages, hides, and a facilitator's alerts and
// waiting room. It lives in memory only, like everything in the view.
type safety struct {
	resources []client.Resource // the deployment's, from welcome; nil if none came
	asked     bool              // /support was sent: the next card answers it
	lastDM    string            // member id of the last person who wrote privately
	dmHinted  bool              // "/reply answers" was said
	hidden    map[string]string // member ids this person hides -> their label
	alerts    []alert           // crisis alerts seen (facilitators), numbered from 1
	waiting   []string          // who waits in the lobby, as last shown (facilitators)
	// over is set once an event ended this person's place in the room for
	// good (removed, banned, denied, or — for a member — the session
	// ended): the chat then ends, calmly.
	over bool
}

// alert is a crisis alert a facilitator has seen; /ack N acknowledges the
// Nth.
type alert struct {
	id, room, name string
	acked          bool
}

// maxRemembered bounds how many message ids a view remembers to print each
// message once (a resume never replays more than 500 events).
const maxRemembered = 2048

// gapLine tells the person that some of what was said while the connection
// was down could not be recovered.
const gapLine = "* Some messages could not be recovered."

func newView(room string, loc *time.Location) *view {
	return &view{room: room, loc: loc, names: make(map[string]string), people: make(map[string]client.Member),
		printed: make(map[string]bool), mine: make(map[string]string), safety: safety{hidden: make(map[string]string)}}
}

// resumePoint returns where a join after a dropped connection resumes
// from, or nil when there is nothing to resume from (then the join is a
// fresh one: only what is sent from then on is seen).
func (v *view) resumePoint() *client.ResumePoint {
	if v.epoch == "" {
		return nil
	}
	return &client.ResumePoint{Epoch: v.epoch, Seq: max(v.lastSeq, v.joinedSeq)}
}

// forgetResumePoint makes the next join a fresh one.
func (v *view) forgetResumePoint() {
	v.epoch, v.joinedSeq, v.replaying, v.replayTo = "", 0, 0, 0
}

// joined records the members present after a (re)join and returns the
// lines announcing it. After a join with a resume point, the replayed
// events follow it; when some could not be recovered (the server says so,
// or the room's seq counter is not the one resumed from), it says so.
func (v *view) joined(j client.Joined, rejoin bool) []string {
	v.me, v.myRole = j.You.MemberID, j.You.Role
	v.replaying, v.replayTo, v.resumedFrom, v.excuseJump = 0, 0, 0, false
	gap := false
	switch {
	case j.Resume != nil && j.Epoch != "" && j.Epoch == v.epoch:
		// The replay continues from the resume point; people who left
		// meanwhile keep their names for the member_left to come.
		v.lastSeq = max(v.lastSeq, v.joinedSeq)
		v.resumedFrom = v.lastSeq
		v.replaying, v.replayTo = j.Resume.Replayed, j.Seq
		v.joinedSeq = 0
		if v.replaying <= 0 {
			v.endReplay()
		}
		gap = j.Resume.Gap
		v.excuseJump = gap
	case j.Resume != nil:
		gap = true // another epoch: nothing could be replayed
		fallthrough
	default:
		v.lastSeq = 0 // seqs missed while disconnected are not reported as a gap
		v.joinedSeq = j.Seq
		clear(v.names)
		clear(v.people)
	}
	v.epoch = j.Epoch
	var others []string
	for _, m := range j.Members {
		v.names[m.MemberID] = label(m)
		v.people[m.MemberID] = m
		if m.MemberID != j.You.MemberID {
			others = append(others, label(m))
		}
	}
	head := "* You joined " + sanitize(j.Room) + " as " + sanitize(j.You.DisplayName) + "."
	if rejoin {
		head = "* Reconnected to " + sanitize(j.Room) + "."
	}
	if len(others) == 0 {
		head += " No one else is here yet."
	} else {
		head += " Here now: " + strings.Join(others, ", ") + "."
	}
	lines := []string{head}
	if gap {
		lines = append(lines, gapLine)
	}
	if !rejoin {
		lines = append(lines, "* Type /help for the commands.")
	}
	v.mode, v.share, v.state, v.waiting = "", nil, nil, nil
	lines = append(lines, v.roomState(j.State)...)
	return append(lines, v.applyShare(j.Share)...)
}

// observing reports whether this connection's member was observing, as the
// last sharing state applied says.
func (v *view) observing() bool {
	return v.share != nil && v.me != "" && slices.Contains(v.share.Observers, v.me)
}

// roomState notes the room's state and returns the lines announcing what
// changed: the session's phase, the mode, the pinned note, slow mode and
// the lock. The first state after joining prints only what is there (the
// mode, a pin, slow mode), not what it changed from.
func (v *view) roomState(st *client.RoomState) []string {
	if st == nil {
		return nil
	}
	old := v.state
	v.state = st
	first := old == nil
	if first {
		old = &client.RoomState{Phase: st.Phase, Locked: st.Locked}
	}
	var lines []string
	if st.Phase != old.Phase {
		switch st.Phase {
		case "open":
			lines = append(lines, "* The session has started.")
		case "closing":
			lines = append(lines, "* The session is coming to a close: a time for reflections.")
		}
	}
	if st.Mode != v.mode {
		v.mode = st.Mode
		switch st.Mode {
		case client.ModeOpen:
			lines = append(lines, "* The group is in open sharing.")
		case client.ModeRounds:
			lines = append(lines, "* The group is taking turns.")
		}
		// no session, or a mode this client does not know: nothing to say
	}
	if st.Pin != old.Pin {
		if st.Pin == "" {
			lines = append(lines, "* The pinned note was taken down.")
		} else {
			lines = append(lines, textLines("* Pinned by the facilitators: ", st.Pin)...)
		}
	}
	if st.SlowModeSec != old.SlowModeSec {
		if st.SlowModeSec > 0 {
			lines = append(lines, "* Slow mode: each person can send one message every "+duration(st.SlowModeSec)+".")
		} else {
			lines = append(lines, "* Slow mode is off.")
		}
	}
	if st.Locked != old.Locked {
		if st.Locked {
			lines = append(lines, "* The room is now locked: newcomers wait for a facilitator to let them in.")
		} else {
			lines = append(lines, "* The room is unlocked.")
		}
	}
	return lines
}

// duration says a number of seconds in words: "30 seconds", "2 minutes".
func duration(sec int) string {
	switch {
	case sec == 1:
		return "second"
	case sec%60 == 0 && sec >= 120:
		return strconv.Itoa(sec/60) + " minutes"
	case sec == 60:
		return "minute"
	}
	return strconv.Itoa(sec) + " seconds"
}

// applyShare applies a sharing state (from joined or a queue event) unless
// it is older than the one applied last, and returns lines for what
// changed: the floor, the raised hands, who else is listening. Applying the
// same state again prints nothing. The first state after joining prints
// only what is there (no "The floor is free.").
func (v *view) applyShare(s *client.Share) []string {
	if s == nil || (v.share != nil && s.Version < v.share.Version) {
		return nil
	}
	old := v.share
	v.share = s
	first := old == nil
	if first {
		old = &client.Share{}
	}
	var lines []string
	if s.Floor != old.Floor && (s.Floor != "" || !first) {
		switch s.Floor {
		case "":
			lines = append(lines, "* The floor is free.")
		case v.me:
			lines = append(lines, "* You have the floor. (/pass hands it back)")
		default:
			lines = append(lines, "* "+v.name(s.Floor)+" has the floor.")
		}
	}
	if !slices.Equal(s.Queue, old.Queue) && (len(s.Queue) > 0 || !first) {
		if len(s.Queue) == 0 {
			lines = append(lines, "* No hands are raised now.")
		} else {
			lines = append(lines, "* Hands raised: "+v.nameList(s.Queue))
		}
	}
	meObserving := slices.Contains(s.Observers, v.me)
	if first && meObserving {
		lines = append(lines, "* You are just listening. (/takepart to take part)")
	}
	others, oldOthers := v.without(s.Observers, v.me), v.without(old.Observers, v.me)
	if !sameSet(others, oldOthers) && (len(others) > 0 || !first) {
		switch {
		case len(others) > 0:
			lines = append(lines, "* Listening: "+v.nameList(others))
		case meObserving:
			lines = append(lines, "* No one else is just listening.")
		default:
			lines = append(lines, "* No one is just listening now.")
		}
	}
	return lines
}

// name is how member id is named in sharing lines: "you", a display name
// from the roster, or "someone" (never the id).
func (v *view) name(id string) string {
	if id == v.me {
		return "you"
	}
	if n, ok := v.names[id]; ok {
		return n
	}
	return "someone"
}

// nameList joins the names of ids with ", ".
func (v *view) nameList(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = v.name(id)
	}
	return strings.Join(out, ", ")
}

// without returns ids without id.
func (v *view) without(ids []string, id string) []string {
	return slices.DeleteFunc(slices.Clone(ids), func(x string) bool { return x == id })
}

// sameSet reports whether a and b hold the same ids, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// event returns the lines to print for ev (none for events that are not
// shown, such as replies and other rooms' events).
func (v *view) event(ev client.Event) []string {
	if ev.Type == client.TypeError {
		return []string{errorLine(ev.Code, ev.Message)}
	}
	if lines, ok := v.personal(ev); ok {
		return lines
	}
	if ev.Room != v.room {
		return nil
	}
	var lines []string
	stale := false // a replayed room state or sharing state older than joined's
	if ev.Seq != 0 {
		if v.resumedFrom != 0 && ev.Seq <= v.resumedFrom {
			return nil // seen before the connection dropped
		}
		if v.replaying > 0 && ev.Seq > v.replayTo {
			v.endReplay() // fewer came than announced
		}
		stale = v.replaying > 0
		if v.lastSeq != 0 && ev.Seq > v.lastSeq+1 && !v.excuseJump {
			lines = append(lines, fmt.Sprintf("* (%d room events were missed)", ev.Seq-v.lastSeq-1))
		}
		v.excuseJump = false
		if ev.Seq > v.lastSeq {
			v.lastSeq = ev.Seq
		}
		if v.replaying > 0 {
			if v.replaying--; v.replaying == 0 {
				v.endReplay()
			}
		}
	}
	switch ev.Type {
	case client.TypeMessage:
		if !v.firstPrint(ev.MessageID) {
			return lines
		}
		if ev.From.MemberID == v.me && ev.MessageID != "" {
			v.mine[ev.MessageID] = snippet(ev.Text)
		}
		lines = append(lines, messageLines(v.time(ev.TS), ev.From, ev.Text)...)
	case client.TypeMemberJoined:
		v.names[ev.Member.MemberID] = label(ev.Member)
		v.people[ev.Member.MemberID] = ev.Member
		if ev.Member.MemberID != v.me {
			lines = append(lines, "* "+label(ev.Member)+" joined")
		}
	case client.TypeMemberLeft:
		name, ok := v.names[ev.MemberID]
		if !ok {
			name = "someone"
		}
		delete(v.names, ev.MemberID)
		delete(v.people, ev.MemberID)
		if ev.MemberID != v.me {
			lines = append(lines, "* "+name+" left")
		}
	case client.TypeRoomState:
		if !stale {
			lines = append(lines, v.roomState(ev.State)...)
		}
	case client.TypeQueue:
		if !stale {
			lines = append(lines, v.applyShare(ev.Share)...)
		}
	case typeSessionEnded:
		v.forgetResumePoint() // a later join is a fresh one
		if facilitates(v.myRole) {
			lines = append(lines, "* The session has ended. The members have left the room; you are still in it.")
		} else {
			// The server takes members out of the room: this chat is over.
			lines = append(lines, "* This session has ended. Thank you for being here today.")
			v.over = true
		}
	case client.TypeTimerElapsed:
		// Only the speaker and the facilitators get this.
		if ev.MemberID == v.me {
			lines = append(lines, "* Your time is up — take the time you need to finish.")
		} else {
			lines = append(lines, "* "+v.name(ev.MemberID)+"'s time is up (only they and the facilitators are told).")
		}
	default:
		lines = append(lines, v.notice(ev)...)
	}
	return lines
}

// endReplay ends a resuming join's replay: from now on the joined's seq
// counts as seen.
func (v *view) endReplay() {
	v.replaying = 0
	v.joinedSeq = v.replayTo
	v.lastSeq = max(v.lastSeq, v.replayTo)
}

// firstPrint reports whether the message id has not been printed yet, and
// remembers it. Messages without an id are always printed.
func (v *view) firstPrint(id string) bool {
	if id == "" {
		return true
	}
	if v.printed[id] {
		return false
	}
	v.printed[id] = true
	v.printedOrder = append(v.printedOrder, id)
	if len(v.printedOrder) > maxRemembered {
		delete(v.printed, v.printedOrder[0])
		delete(v.mine, v.printedOrder[0])
		v.printedOrder = v.printedOrder[1:]
	}
	return true
}

// printer writes whole lines to the terminal; it is shared by the goroutines
// of a chat, so lines never interleave.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) lines(lines ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range lines {
		_, _ = io.WriteString(p.w, l+"\n") // nowhere to report a broken terminal
	}
}

// prompt writes s without a line end, for the answer to follow it.
func (p *printer) prompt(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = io.WriteString(p.w, s)
}

func (p *printer) printf(format string, args ...any) {
	p.lines(fmt.Sprintf(format, args...))
}

// Event types the view shows beyond those package client names.
const (
	typeWaiting           = "waiting"
	typeDenied            = "denied"
	typeRemoved           = "removed"
	typeWarned            = "warned"
	typeMuted             = "muted"
	typeUnmuted           = "unmuted"
	typeMessageDeleted    = "message_deleted"
	typeSessionEnded      = "session_ended"
	typeSessionEndingSoon = "session_ending_soon"
	typeReactions         = "reactions"
	typeDM                = "dm"
	typeReport            = "report"
	typeFacilitatorState  = "facilitator_state"
	typeCrisisResources   = "crisis_resources"
	typeCrisisAlert       = "crisis_alert"
	typeAlertAcked        = "alert_acked"
	typeCheckin           = "checkin"
)

// extra holds the fields of the events that client.Event does not decode
// (they are read from Event.Raw).
type extra struct {
	Severity   string `json:"severity"`    // crisis_resources, crisis_alert
	Gentle     bool   `json:"gentle"`      // crisis_resources
	Reason     string `json:"reason"`      // warned, muted, report
	Until      string `json:"until"`       // muted
	Banned     bool   `json:"banned"`      // removed
	PlannedEnd string `json:"planned_end"` // session_ending_soon
	To         string `json:"to"`          // dm
	// crisis_alert, alert_acked
	AlertID       string `json:"alert_id"`
	DisplayName   string `json:"display_name"` // also checkin
	Category      string `json:"category"`
	Priority      string `json:"priority"`
	Count         int    `json:"count"`
	Escalated     bool   `json:"escalated"`
	MemberRequest bool   `json:"member_request"`
	// report
	About    string `json:"about_member_id"`
	Reporter string `json:"reporter_member_id"`
	// facilitator_state
	Waiting []client.Member `json:"waiting"`
	// reactions
	Counts map[string]int `json:"counts"`
	// checkin
	Mood       int    `json:"mood"`
	MoodLabel  string `json:"mood_label"`
	Note       string `json:"note"`
	Visibility string `json:"visibility"`
}

func extras(ev client.Event) extra {
	var x extra
	_ = json.Unmarshal(ev.Raw, &x) // a field that does not fit stays empty
	return x
}

// time parses an event's RFC 3339 time into the view's time zone; zero
// when it is missing or malformed.
func (v *view) time(ts string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}
	}
	return t.In(v.loc)
}

// when says an RFC 3339 time for people: "18:30" today, "Sun 29 Nov 18:30"
// another day; "" when it is missing or malformed.
func (v *view) when(ts string) string {
	t := v.time(ts)
	if t.IsZero() {
		return ""
	}
	now := time.Now().In(v.loc)
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("Mon 2 Jan 15:04")
}

// snippet is the start of a message's text, on one line, to name it by.
func snippet(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > 40 {
		text = string(r[:40]) + "…"
	}
	return text
}

// sentence ends text with a full stop unless it ends with punctuation.
func sentence(text string) string {
	text = strings.TrimSpace(text)
	if text == "" || strings.ContainsAny(text[len(text)-1:], ".!?)\"'") || strings.HasSuffix(text, "…") ||
		strings.HasSuffix(text, "”") || strings.HasSuffix(text, "’") {
		return text
	}
	return text + "."
}

// inRoom is " in <room>" for an event about another room than this chat's
// ("" for this one).
func (v *view) inRoom(room string) string {
	if room == "" || room == v.room {
		return ""
	}
	return " in " + sanitize(room)
}

// personal handles the events that are about this person wherever they
// come from — crisis resources (also after a check-in's note, without a
// room) and, for facilitators, crisis alerts and check-ins of any of
// their rooms — and reports whether ev was one.
func (v *view) personal(ev client.Event) ([]string, bool) {
	switch ev.Type {
	case typeCrisisResources:
		x := extras(ev)
		card := cardCrisis
		switch {
		case v.asked:
			card, v.asked = cardRequested, false
		case x.Gentle:
			card = cardGentle
		}
		rs := ev.Resources
		if len(rs) == 0 {
			rs = v.resources
		}
		return resourceLines(rs, card), true
	case typeCrisisAlert:
		return v.alertLines(ev), true
	case typeAlertAcked:
		x := extras(ev)
		for i := range v.alerts {
			if a := &v.alerts[i]; a.id == x.AlertID && !a.acked {
				a.acked = true
				return []string{fmt.Sprintf("* Crisis alert %d (about %s%s) was acknowledged.", i+1, a.name, v.inRoom(a.room))}, true
			}
		}
		return []string{"* A crisis alert" + v.inRoom(ev.Room) + " was acknowledged."}, true
	case typeCheckin:
		return v.checkinLines(ev), true
	}
	return nil, false
}

// notice returns the lines for this room's events that the switch in
// event does not handle itself: private notices, private messages, and
// what facilitators alone are told.
func (v *view) notice(ev client.Event) []string {
	x := extras(ev)
	switch ev.Type {
	case typeDM:
		if !v.firstPrint(ev.MessageID) {
			return nil
		}
		ts := v.time(ev.TS)
		if ev.From.MemberID == v.me {
			return textLines(stamp(ts)+"[private] you → "+v.name(x.To)+": ", ev.Text)
		}
		v.lastDM = ev.From.MemberID
		lines := textLines(stamp(ts)+"[private] "+label(ev.From)+": ", ev.Text)
		if !v.dmHinted {
			v.dmHinted = true
			lines = append(lines, "* (Only you can see this. To answer privately: /reply <message>)")
		}
		return lines
	case client.TypeHidden:
		if len(v.hidden) == 0 {
			return nil // not asked for: nothing to say
		}
		return []string{"* (a message from someone you hid)"}
	case typeMessageDeleted:
		if snip, ok := v.mine[ev.MessageID]; ok {
			delete(v.mine, ev.MessageID)
			return []string{"* Your message “" + sanitize(snip) + "” was deleted."}
		}
		return []string{"* A message was deleted."}
	case typeReactions:
		snip, ok := v.mine[ev.MessageID]
		if !ok || len(x.Counts) == 0 {
			return nil // only reactions to one's own messages are told
		}
		var parts []string
		for _, r := range []string{"heart", "support", "thanks", "me_too", "strength"} {
			if n := x.Counts[r]; n > 0 {
				parts = append(parts, strings.ReplaceAll(r, "_", " ")+" "+strconv.Itoa(n))
			}
		}
		if len(parts) == 0 {
			return nil
		}
		return []string{"* Reactions to your message “" + sanitize(snip) + "”: " + strings.Join(parts, ", ")}
	case typeWarned:
		reason := "Please keep the group's agreements in mind."
		if strings.TrimSpace(x.Reason) != "" {
			reason = sentence(sanitize(x.Reason))
		}
		return []string{"* A private note from a facilitator (only you see this): " + reason}
	case typeMuted:
		head := "* A facilitator has paused your messages to the group for now (only you see this)."
		if w := v.when(x.Until); w != "" {
			head = "* A facilitator has paused your messages to the group until " + w + " (only you see this)."
		}
		lines := []string{head}
		if strings.TrimSpace(x.Reason) != "" {
			lines = append(lines, "*   Reason: "+sentence(sanitize(x.Reason)))
		}
		return append(lines, "*   You can still read the conversation, and write privately to a facilitator: /dm <name> <message>")
	case typeUnmuted:
		return []string{"* You can send messages to the group again."}
	case typeRemoved:
		v.over = true
		if x.Banned {
			return []string{"* A facilitator has removed you from " + sanitize(v.room) + ", and you cannot rejoin it.",
				"* If you have questions, please contact your facilitator."}
		}
		return []string{"* A facilitator has removed you from " + sanitize(v.room) + " for now.",
			"* You may join again later if you wish."}
	case typeDenied:
		v.over = true
		return deniedLines(v.room)
	case typeSessionEndingSoon:
		end := v.when(x.PlannedEnd)
		if end == "" && v.state != nil {
			end = v.when(v.state.PlannedEnd)
		}
		head := "* The session is planned to end soon"
		if end != "" {
			head = "* The session is planned to end at " + end
		}
		return []string{head + " (only facilitators see this). Nothing ends by itself."}
	case typeReport:
		reporter := v.name(x.Reporter)
		if reporter == "someone" {
			reporter = "A member"
		}
		head := "* Report (only facilitators see this): " + capitalize(reporter) + " reported a message"
		if x.About != "" {
			head += " from " + v.name(x.About)
		}
		lines := []string{head + "."}
		if ev.Text != "" {
			lines = append(lines, textLines("*   The message: ", ev.Text)...)
		}
		if strings.TrimSpace(x.Reason) != "" {
			return append(lines, "*   Their reason: "+sentence(sanitize(x.Reason)))
		}
		return append(lines, "*   No reason was given.")
	case typeFacilitatorState:
		var names []string
		for _, m := range x.Waiting {
			names = append(names, label(m))
		}
		if slices.Equal(names, v.waiting) || (v.waiting == nil && len(names) == 0) {
			v.waiting = names
			return nil
		}
		v.waiting = names
		if len(names) == 0 {
			return []string{"* No one is waiting to be let in now."}
		}
		return []string{"* Waiting to be let in: " + strings.Join(names, ", ") + "."}
	}
	return nil
}

// capitalize upper-cases the first letter of s ("you" -> "You").
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// deniedLines tells a waiting member that they were not let in.
func deniedLines(room string) []string {
	return []string{"* A facilitator was not able to let you into " + sanitize(room) + " just now. Thank you for your patience.",
		"* If you think this is a mistake, please contact your facilitator."}
}

// waitingLine tells a member that they wait in the lobby.
func waitingLine(room string) string {
	return "* You are waiting for a facilitator to let you in to " + sanitize(room) + ". Please stay; you will be let in here. (/quit to leave)"
}

// Crisis alerts in words (as the web client says them).
var (
	categoryText = map[string]string{
		"ideation":            "thoughts of suicide",
		"passive_wish":        "wishing not to be alive",
		"self_harm":           "self-harm",
		"method_plan":         "a plan or means",
		"imminent_danger":     "immediate danger",
		"goodbye":             "saying goodbye",
		"overdose":            "overdose",
		"hopelessness_burden": "hopelessness / feeling a burden",
		"member_request":      "asked for support",
	}
	severityText = map[string]string{"gentle": "low", "elevated": "raised", "high": "high", "imminent": "imminent"}
)

// words says a code from the server in words, from table when it is there.
func words(table map[string]string, code, none string) string {
	if w, ok := table[code]; ok {
		return w
	}
	if code == "" {
		return none
	}
	return sanitize(strings.ReplaceAll(code, "_", " "))
}

// alertLines formats a crisis alert for a facilitator: clearly marked,
// private, who and how severe, and what they can do. A repeat of an alert
// (an update, or an escalation) keeps its number.
func (v *view) alertLines(ev client.Event) []string {
	x := extras(ev)
	name := sanitize(x.DisplayName)
	if name == "" {
		if n, ok := v.names[ev.MemberID]; ok && ev.Room == v.room {
			name = n
		} else {
			name = "a member"
		}
	}
	n := 0
	for i, a := range v.alerts {
		if a.id == x.AlertID {
			n = i + 1
			v.alerts[i].acked, v.alerts[i].name = false, name
		}
	}
	if n == 0 {
		v.alerts = append(v.alerts, alert{id: x.AlertID, room: ev.Room, name: name})
		n = len(v.alerts)
	}
	where := sanitize(ev.Room)
	what := words(categoryText, x.Category, "a concern")
	sev := words(severityText, x.Severity, "unknown")
	at := ""
	if t := v.time(ev.TS); !t.IsZero() {
		at = " at " + t.Format("15:04")
	}
	if x.Priority == "note" {
		return []string{fmt.Sprintf("* Gentle note %d, private (only facilitators see this), in %s: %s's words touched on %s (low; no escalation)%s. /ack %d to clear it.",
			n, where, name, what, at, n)}
	}
	head := fmt.Sprintf("!! Crisis alert %d — private: only facilitators see this — in %s", n, where)
	if x.Escalated {
		head = fmt.Sprintf("!! Crisis alert %d, NOT YET ACKNOWLEDGED — private: only facilitators see this — in %s", n, where)
	}
	about := name + ": " + what
	if x.Category == "member_request" || x.MemberRequest {
		about = name + " asked for support"
	}
	about += ", severity " + sev
	if x.Count > 1 {
		about += fmt.Sprintf(" (%d times)", x.Count)
	}
	lines := []string{head, "!!   " + about + at + "."}
	reach := ""
	if ev.Room == v.room && ev.MemberID != "" {
		if m, ok := v.people[ev.MemberID]; ok {
			reach = "Reach out privately: /dm " + sanitize(m.DisplayName) + " <message>. "
		}
	}
	return append(lines, fmt.Sprintf("!!   %sOnce someone is with them: /ack %d", reach, n))
}

// checkinLines formats a check-in as it arrives live: to facilitators, and
// to the members of a group a check-in is shared with.
func (v *view) checkinLines(ev client.Event) []string {
	x := extras(ev)
	name := sanitize(x.DisplayName)
	if name == "" {
		name = v.name(ev.MemberID)
	}
	mood := sanitize(x.MoodLabel)
	if mood == "" {
		mood = "mood"
	}
	who := "for the facilitators"
	if x.Visibility == client.VisibilityGroup {
		who = "shared with the group"
	}
	lines := []string{fmt.Sprintf("* Check-in from %s%s: %s (%d), %s.", name, v.inRoom(ev.Room), mood, x.Mood, who)}
	if x.Note != "" {
		lines = append(lines, textLines("*   Note: ", x.Note)...)
	}
	return lines
}

// Kinds of crisis resources card: what its first sentence says.
const (
	cardBrowse    = iota // /help-now, before or without any crisis
	cardCrisis           // crisis_resources
	cardGentle           // crisis_resources with gentle: the softer card
	cardRequested        // crisis_resources answering /support
)

// cardIntro is the first sentence of each kind of card (the web client's).
var cardIntro = map[int]string{
	cardBrowse:    "These services are free and confidential, and there for you any time, day or night:",
	cardCrisis:    "It sounds like things are really hard right now. You don't have to go through this alone — these people are there for you, any time, free and confidential:",
	cardGentle:    "If this ever changes, or things feel heavy, these are always there:",
	cardRequested: "Your facilitators have been told privately. Here is support you can reach right now:",
}

// toldLine is said on a crisis card: the member's facilitators were told.
const toldLine = "Your facilitators have been told privately, so they can check in with you."

// fallbackResources are said by /help-now when the server sent none (not
// connected yet, or a server without them): the U.S. lines the web page
// shows before it has heard from the server.
var fallbackResources = []client.Resource{
	{Name: "988 Suicide & Crisis Lifeline", Actions: []client.ResourceAction{{Label: "Call 988", Href: "tel:988"}, {Label: "Text 988", Href: "sms:988"}, {Label: "Chat at 988lifeline.org", Href: "https://988lifeline.org/chat/"}}},
	{Name: "911", Summary: "If you are in immediate danger, or have already hurt yourself, call 911 now.", Actions: []client.ResourceAction{{Label: "Call 911", Href: "tel:911"}}},
}

// cardRule marks the top and bottom of a resources card.
const cardRule = "* ─────────────────────────────────────────────────────────────────"

// resourceLines formats crisis resources as a clearly marked block: the
// card's first sentence, then each resource's name, the ways to reach it
// (numbers and links written out: "call 988", "text 988", a URL) and its
// summary. Everything from the server is sanitized.
func resourceLines(rs []client.Resource, card int) []string {
	var items []string
	for _, r := range rs {
		items = append(items, resourceItem(r)...)
	}
	if len(items) == 0 { // none sent, or none that can be reached
		for _, r := range fallbackResources {
			items = append(items, resourceItem(r)...)
		}
	}
	lines := []string{cardRule}
	lines = append(lines, wrap(cardIntro[card], "* ", "* ", agreementWidth)...)
	lines = append(lines, items...)
	lines = append(lines, "*")
	if card == cardCrisis {
		lines = append(lines, wrap(toldLine, "* ", "* ", agreementWidth)...)
	}
	if card != cardBrowse {
		lines = append(lines, "* (/help-now shows these again, any time.)")
	}
	return append(lines, cardRule)
}

// resourceItem is one resource of a card: a blank line, its name, the ways
// to reach it, and its summary; nothing when it has no name or no way to
// reach it that a terminal can show (the web client leaves those out too).
func resourceItem(r client.Resource) []string {
	name := sanitize(strings.TrimSpace(r.Name))
	var ways []string
	for _, a := range r.Actions {
		if w := actionText(a); w != "" {
			ways = append(ways, w)
		}
	}
	if name == "" || len(ways) == 0 {
		return nil
	}
	lines := []string{"*", "*   " + name, "*     " + strings.Join(ways, " · ")}
	if s := strings.TrimSpace(r.Summary); s != "" {
		lines = append(lines, wrap(sanitize(s), "*     ", "*     ", agreementWidth)...)
	}
	return lines
}

// actionText writes one way to reach a resource out for a terminal, where
// nothing can be tapped: tel: as "call <number>", sms: as "text <number>",
// an https link as its URL. A label that spells out the same number
// ("Call 1-800-662-4357", "Text HOME to 741741") is used as it is, being
// easier to read. Any other kind of link is left out.
func actionText(a client.ResourceAction) string {
	href := strings.TrimSpace(a.Href)
	lower := strings.ToLower(href)
	verb := ""
	switch {
	case strings.HasPrefix(lower, "https://"):
		return sanitize(href)
	case strings.HasPrefix(lower, "tel:"):
		verb = "call "
	case strings.HasPrefix(lower, "sms:"):
		verb = "text "
	default:
		return ""
	}
	number, _, _ := strings.Cut(href[4:], "?")
	number = strings.TrimSpace(number)
	if number == "" {
		return ""
	}
	if l := strings.TrimSpace(a.Label); l != "" && digits(l) != "" && digits(l) == digits(number) {
		return sanitize(lowerFirst(l))
	}
	return verb + sanitize(number)
}

// digits returns the ASCII digits of s.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// lowerFirst lower-cases a capitalized first word ("Call 988" -> "call
// 988") and leaves an acronym ("TTY 1-800-…") as it is.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	next, _ := utf8.DecodeRuneInString(s[n:])
	if unicode.IsUpper(r) && unicode.IsLower(next) {
		return string(unicode.ToLower(r)) + s[n:]
	}
	return s
}

// helpNowLines are what /help-now prints: the deployment's crisis
// resources, in their usual order.
func (v *view) helpNowLines() []string {
	return resourceLines(v.resources, cardBrowse)
}
