package main

import (
	"slices"
	"strconv"
	"strings"
	"unicode"

	"hearth/client"
)

// command is a slash command that sends one frame about the room. Sharing
// is always the member's own choice: no command here puts anyone else in
// the queue, and the server would refuse one that tried.
type command struct {
	name string // as typed, e.g. "/hand"
	typ  string // the frame's type
	as   string // set_presence: client.AsObserver or client.AsParticipant
	args string // the arguments it takes, for /help ("<name> <message>"); "" for none
	help string // for /help
	done string // printed when the server confirms; empty: the room's events say it
}

// commands are the frame-sending slash commands, in the order /help lists
// them.
var commands = []command{
	{name: "/hand", typ: "raise_hand", help: "raise your hand to share when it is your turn",
		done: "* Your hand is raised. (/lower to lower it)"},
	{name: "/lower", typ: "lower_hand", help: "lower your hand",
		done: "* Your hand is lowered."},
	{name: "/pass", typ: "pass", help: "pass, or end your turn (always OK; nobody else is told)",
		done: "* You passed — that's always OK."},
	{name: "/listen", typ: "set_presence", as: client.AsObserver, help: "just listen for now (you will not post or raise a hand)",
		done: "* You are just listening now. (/takepart to take part)"},
	{name: "/takepart", typ: "set_presence", as: client.AsParticipant, help: "take part again",
		done: "* You are taking part."},
	{name: "/dm", typ: "dm", args: "<name> <message>", help: "write privately to a facilitator (facilitators: to anyone here)"},
	{name: "/reply", typ: "dm", args: "<message>", help: "answer the last private message privately"},
	{name: "/support", typ: "request_support", help: "tell your facilitators privately that you need support, and see who you can reach now"},
	{name: "/hide", typ: "hide", args: "<name>", help: "stop seeing someone's messages (nobody is told; until you quit)"},
	{name: "/unhide", typ: "unhide", args: "<name>", help: "see their messages again"},
	{name: "/ack", typ: "ack_alert", args: "[number]", help: "facilitators: acknowledge a crisis alert (the latest if no number)"},
}

// Commands that need no server, in /help's words.
const (
	helpNowName = "/help-now"
	helpNowHelp = "show crisis lines you can reach any time (free, confidential)"
)

// inputKind says what a typed line asks for.
type inputKind int

const (
	inputEmpty   inputKind = iota // blank: ignored
	inputMessage                  // text to send to the room
	inputCommand                  // a frame-sending command (cmd)
	inputHelp                     // /help: list the commands
	inputQuit                     // /quit: leave the room
	inputUnknown                  // a line starting with "/" that names no command
	inputHelpNow                  // /help-now: show the crisis resources
)

// input is one typed line, parsed.
type input struct {
	kind inputKind
	text string   // inputMessage: the text to send; inputUnknown: the word typed
	cmd  *command // inputCommand
	args string   // inputCommand: what follows the command's name, trimmed

	// Set by view.prepare for a command with arguments: the frame to send
	// and what to print when the server confirms it.
	frame map[string]any
	done  string
}

// parseInput parses a typed line. A line whose first non-blank character is
// "/" is a command, never a message, so a mistyped command is not sent to
// the group; "//" sends the rest of the line from its second "/" on, for a
// message that starts with "/".
func parseInput(line string) input {
	trimmed := strings.TrimSpace(line)
	switch {
	case trimmed == "":
		return input{kind: inputEmpty}
	case strings.HasPrefix(trimmed, "//"):
		return input{kind: inputMessage, text: strings.TrimLeft(line, " \t")[1:]}
	case !strings.HasPrefix(trimmed, "/"):
		return input{kind: inputMessage, text: line}
	}
	word := strings.ToLower(trimmed)
	switch word {
	case "/quit":
		return input{kind: inputQuit}
	case "/help", "/?":
		return input{kind: inputHelp}
	case helpNowName, "/helpnow":
		return input{kind: inputHelpNow}
	}
	first, rest, _ := strings.Cut(trimmed, " ")
	first = strings.ToLower(first)
	for i := range commands {
		switch c := &commands[i]; {
		case c.name == word && c.args == "":
			return input{kind: inputCommand, cmd: c}
		case c.args != "" && (c.name == word || c.name == first):
			return input{kind: inputCommand, cmd: c, args: strings.TrimSpace(rest)}
		}
	}
	return input{kind: inputUnknown, text: trimmed}
}

// frame is the client frame cmd sends for room (Client.Request adds the id);
// commands with arguments get theirs from view.prepare.
func (cmd *command) frame(room string) map[string]any {
	f := map[string]any{"type": cmd.typ, "room": room}
	if cmd.as != "" {
		f["as"] = cmd.as
	}
	return f
}

// helpLines lists the commands.
func helpLines() []string {
	usage := func(c command) string {
		if c.args == "" {
			return c.name
		}
		return c.name + " " + c.args
	}
	width := len(helpNowName) + 2
	for _, c := range commands {
		width = max(width, len(usage(c))+2)
	}
	lines := []string{"* Commands:", "*   " + padRight(helpNowName, width) + helpNowHelp}
	for _, c := range commands {
		lines = append(lines, "*   "+padRight(usage(c), width)+c.help)
	}
	return append(lines,
		"*   "+padRight("/help", width)+"show this list",
		"*   "+padRight("/quit", width)+"leave the room",
		"* Any other line is sent to the group (begin it with // to send a line starting with /).",
	)
}

func padRight(s string, n int) string {
	if len(s) >= n {
		return s + " "
	}
	return s + strings.Repeat(" ", n-len(s))
}

// unknownLine is the hint for a line that looks like a command but is not
// one. word is what was typed, sanitized here.
func unknownLine(word string) string {
	if r := []rune(word); len(r) > 40 {
		word = string(r[:40]) + "…"
	}
	return "! " + sanitize(word) + " is not a command, so it was not sent. Type /help for the commands, or // to send a line starting with /."
}

// errorHint is an extra line for server errors a terminal user can act on
// with a command (the server's sentences speak of the web client's buttons).
func errorHint(code string) string {
	switch code {
	case "observer":
		return "* You are just listening: type /takepart to take part."
	case "not_your_turn":
		return "* Type /hand to raise your hand."
	case "muted":
		return "* You can still write privately to a facilitator: /dm <name> <message>"
	}
	return ""
}

// prepare turns a command with arguments into the frame to send, finding
// the person it names among those present (or, for /unhide, those
// hidden). When it cannot, it returns in without a frame and the lines
// saying why (or how to use it). It runs on the chat's goroutine, which
// owns the view.
func (v *view) prepare(in input) (input, []string) {
	f := map[string]any{"type": in.cmd.typ, "room": v.room}
	switch in.cmd.name {
	case "/dm":
		id, m, text := v.findPerson(in.args, v.people)
		switch {
		case in.args == "":
			return in, []string{"! To write privately: /dm <name> <message>" + v.facilitatorsHere()}
		case id == "":
			return in, []string{"! No one called " + quote(firstWord(in.args)) + " is here now." + v.facilitatorsHere()}
		case strings.TrimSpace(text) == "":
			return in, []string{"! What would you like to say to " + label(m) + "? /dm " + sanitize(m.DisplayName) + " <message>"}
		}
		f["member_id"], f["text"] = id, text
	case "/reply":
		switch {
		case v.lastDM == "":
			return in, []string{"! No one has written to you privately yet. To write to a facilitator: /dm <name> <message>"}
		case in.args == "":
			return in, []string{"! To answer privately: /reply <message>"}
		}
		f["member_id"], f["text"] = v.lastDM, in.args
	case "/hide", "/unhide":
		pool := v.people
		if in.cmd.name == "/unhide" {
			pool = make(map[string]client.Member, len(v.hidden))
			for id := range v.hidden {
				if m, ok := v.people[id]; ok {
					pool[id] = m
				} else {
					pool[id] = client.Member{MemberID: id, DisplayName: v.hidden[id]}
				}
			}
		}
		id, m, rest := v.findPerson(in.args, pool)
		switch {
		case in.args == "":
			return in, []string{"! Whose messages? " + in.cmd.name + " <name>"}
		case id == "" || strings.TrimSpace(rest) != "":
			if in.cmd.name == "/unhide" {
				return in, []string{"! You are not hiding anyone called " + quote(in.args) + "."}
			}
			return in, []string{"! No one called " + quote(in.args) + " is here now."}
		}
		name := label(m)
		f["member_id"] = id
		if in.cmd.name == "/hide" {
			v.hidden[id] = name
			in.done = "* You will not see messages from " + name + ". Nobody is told. (/unhide " + sanitize(m.DisplayName) + " to see them again)"
		} else {
			delete(v.hidden, id)
			in.done = "* You will see messages from " + name + " again."
		}
	case "/ack":
		n := 0
		if in.args == "" {
			for i, a := range v.alerts {
				if !a.acked {
					n = i + 1 // the latest open one
				}
			}
		} else if k, err := strconv.Atoi(strings.TrimPrefix(in.args, "#")); err == nil && k >= 1 && k <= len(v.alerts) {
			n = k
		}
		if n == 0 {
			if in.args == "" {
				return in, []string{"! There is no open crisis alert to acknowledge."}
			}
			return in, []string{"! There is no crisis alert " + quote(in.args) + "."}
		}
		a := v.alerts[n-1]
		f["room"], f["alert_id"] = a.room, a.id
	default:
		return in, []string{"! " + in.cmd.name + " takes no arguments."}
	}
	in.frame = f
	return in, nil
}

// facilitatorsHere names the facilitators present, for a member looking
// for whom to write to (" Facilitators here: Dr. Lee."), or "".
func (v *view) facilitatorsHere() string {
	var names []string
	for _, m := range v.people {
		if facilitates(m.Role) && m.MemberID != v.me {
			names = append(names, sanitize(m.DisplayName))
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return " Facilitators here: " + strings.Join(names, ", ") + "."
}

// findPerson finds the person whose display name begins args — the
// longest run of its first words that names someone in pool, other than
// this connection's member, compared ignoring case, spaces and
// punctuation ("dr lee" is "Dr. Lee"; an "@" before it is allowed) — and
// returns their id and what follows the name. id is "" when no one is
// named.
func (v *view) findPerson(args string, pool map[string]client.Member) (id string, m client.Member, rest string) {
	words := strings.Fields(args)
	for n := len(words); n >= 1; n-- {
		want := nameKey(strings.TrimPrefix(strings.Join(words[:n], " "), "@"))
		if want == "" {
			continue
		}
		for mid, p := range pool {
			if mid != v.me && nameKey(p.DisplayName) == want {
				return mid, p, afterWords(args, n)
			}
		}
	}
	return "", client.Member{}, ""
}

// nameKey is a display name reduced to its letters and digits, lower-cased.
func nameKey(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}

// afterWords returns s after its first n words, without the blanks that
// separate them from the rest (the rest is kept as typed).
func afterWords(s string, n int) string {
	for range n {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
			s = s[i:]
		} else {
			s = ""
		}
	}
	return strings.TrimLeftFunc(s, unicode.IsSpace)
}

// firstWord is the first word of s.
func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

// quote puts what someone typed in quotes for a line, sanitized and cut
// short.
func quote(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return "“" + sanitize(s) + "”"
}
