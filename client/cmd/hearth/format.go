package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
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
	stamp := "--:--:--"
	if !ts.IsZero() {
		stamp = ts.Format("15:04:05")
	}
	parts := strings.Split(text, "\n")
	lines := make([]string, len(parts))
	for i, part := range parts {
		part = sanitize(strings.TrimSuffix(part, "\r"))
		if i == 0 {
			lines[i] = "[" + stamp + "] " + label(from) + ": " + part
		} else {
			lines[i] = strings.Repeat(" ", timeWidth) + part
		}
	}
	return lines
}

// label is how a member is named on screen: their sanitized display name,
// with " (facilitator)" for facilitators.
func label(m client.Member) string {
	name := sanitize(m.DisplayName)
	if name == "" {
		name = "someone"
	}
	if m.Role == client.RoleFacilitator {
		name += " (facilitator)"
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
// that none is printed twice.
type view struct {
	room    string
	loc     *time.Location // time zone for message times
	me      string         // this connection's member id
	names   map[string]string
	lastSeq uint64        // highest room seq seen in the current epoch; 0 before any
	mode    string        // the room's mode as last shown; "" before a session
	share   *client.Share // the sharing state last applied; nil before any

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
}

// maxRemembered bounds how many message ids a view remembers to print each
// message once (a resume never replays more than 500 events).
const maxRemembered = 2048

// gapLine tells the person that some of what was said while the connection
// was down could not be recovered.
const gapLine = "* Some messages could not be recovered."

func newView(room string, loc *time.Location) *view {
	return &view{room: room, loc: loc, names: make(map[string]string), printed: make(map[string]bool)}
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
	v.me = j.You.MemberID
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
	}
	v.epoch = j.Epoch
	var others []string
	for _, m := range j.Members {
		v.names[m.MemberID] = label(m)
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
	v.mode, v.share = "", nil
	lines = append(lines, v.roomState(j.State)...)
	return append(lines, v.applyShare(j.Share)...)
}

// observing reports whether this connection's member was observing, as the
// last sharing state applied says.
func (v *view) observing() bool {
	return v.share != nil && v.me != "" && slices.Contains(v.share.Observers, v.me)
}

// roomState notes the room's state and returns the line announcing its
// mode if that changed.
func (v *view) roomState(st *client.RoomState) []string {
	if st == nil || st.Mode == v.mode {
		return nil
	}
	v.mode = st.Mode
	switch st.Mode {
	case client.ModeOpen:
		return []string{"* The group is in open sharing."}
	case client.ModeRounds:
		return []string{"* The group is taking turns."}
	}
	return nil // no session, or a mode this client does not know
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
		ts, err := ev.Time()
		if err == nil {
			ts = ts.In(v.loc)
		}
		lines = append(lines, messageLines(ts, ev.From, ev.Text)...)
	case client.TypeMemberJoined:
		v.names[ev.Member.MemberID] = label(ev.Member)
		if ev.Member.MemberID != v.me {
			lines = append(lines, "* "+label(ev.Member)+" joined")
		}
	case client.TypeMemberLeft:
		name, ok := v.names[ev.MemberID]
		if !ok {
			name = "someone"
		}
		delete(v.names, ev.MemberID)
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
	case "session_ended":
		v.forgetResumePoint() // a later join is a fresh one
	case client.TypeTimerElapsed:
		// Only the speaker and the facilitators get this.
		if ev.MemberID == v.me {
			lines = append(lines, "* Your time is up — take the time you need to finish.")
		} else {
			lines = append(lines, "* "+v.name(ev.MemberID)+"'s time is up (only they and the facilitators are told).")
		}
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
