package main

import (
	"strings"

	"hearth/client"
)

// command is a slash command that sends one frame about the room. Sharing
// is always the member's own choice: no command here puts anyone else in
// the queue, and the server would refuse one that tried.
type command struct {
	name string // as typed, e.g. "/hand"
	typ  string // the frame's type
	as   string // set_presence: client.AsObserver or client.AsParticipant
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
}

// inputKind says what a typed line asks for.
type inputKind int

const (
	inputEmpty   inputKind = iota // blank: ignored
	inputMessage                  // text to send to the room
	inputCommand                  // a frame-sending command (cmd)
	inputHelp                     // /help: list the commands
	inputQuit                     // /quit: leave the room
	inputUnknown                  // a line starting with "/" that names no command
)

// input is one typed line, parsed.
type input struct {
	kind inputKind
	text string   // inputMessage: the text to send; inputUnknown: the word typed
	cmd  *command // inputCommand
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
	}
	for i := range commands {
		if commands[i].name == word {
			return input{kind: inputCommand, cmd: &commands[i]}
		}
	}
	return input{kind: inputUnknown, text: trimmed}
}

// frame is the client frame cmd sends for room (Client.Request adds the id).
func (cmd *command) frame(room string) map[string]any {
	f := map[string]any{"type": cmd.typ, "room": room}
	if cmd.as != "" {
		f["as"] = cmd.as
	}
	return f
}

// helpLines lists the commands.
func helpLines() []string {
	lines := []string{"* Commands:"}
	for _, c := range commands {
		lines = append(lines, "*   "+padRight(c.name, 11)+c.help)
	}
	return append(lines,
		"*   "+padRight("/help", 11)+"show this list",
		"*   "+padRight("/quit", 11)+"leave the room",
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
	}
	return ""
}
