package main

import (
	"fmt"
	"io"
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

// errorLine formats an error from the server: "! error code: message".
func errorLine(code, message string) string {
	return "! error " + sanitize(code) + ": " + sanitize(message)
}

// view turns one room's events into lines for the terminal. It remembers
// who is present (member id -> label) so that member_left, which carries
// only a member id, can be printed with a name.
type view struct {
	room    string
	loc     *time.Location // time zone for message times
	me      string         // this connection's member id
	names   map[string]string
	lastSeq uint64 // last room seq seen on this connection; 0 before any
}

func newView(room string, loc *time.Location) *view {
	return &view{room: room, loc: loc, names: make(map[string]string)}
}

// joined records the members present after a (re)join and returns the
// lines announcing it.
func (v *view) joined(j client.Joined, rejoin bool) []string {
	v.me = j.You.MemberID
	v.lastSeq = 0 // seqs missed while disconnected are not reported as a gap
	clear(v.names)
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
		return []string{head + " No one else is here yet."}
	}
	return []string{head + " Here now: " + strings.Join(others, ", ") + "."}
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
	if ev.Seq != 0 {
		if v.lastSeq != 0 && ev.Seq > v.lastSeq+1 {
			lines = append(lines, fmt.Sprintf("* (%d room events were missed)", ev.Seq-v.lastSeq-1))
		}
		if ev.Seq > v.lastSeq {
			v.lastSeq = ev.Seq
		}
	}
	switch ev.Type {
	case client.TypeMessage:
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
	}
	return lines
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

func (p *printer) printf(format string, args ...any) {
	p.lines(fmt.Sprintf(format, args...))
}
