package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"hearth/client"
)

// checkinTimeout bounds the whole checkin command (one or two REST calls).
const checkinTimeout = 30 * time.Second

// maxNoteBytes bounds a note read from standard input ("-note -"): well
// above the server's 500 characters, so that the server says what is too
// long, and small enough that nothing huge is read.
const maxNoteBytes = 64 << 10

// roomList is a repeatable -room flag.
type roomList []string

func (r *roomList) String() string { return strings.Join(*r, ",") }

func (r *roomList) Set(v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return errors.New("a -room needs a group's id")
	}
	*r = append(*r, v)
	return nil
}

// runCheckin implements
//
//	hearth checkin -mood N [-note TEXT | -note -] [-visibility facilitators|group] [-room ID …] [-url URL] [-token T]
//
// It posts one between-session check-in, prints it as stored (with the
// server's words for the mood) and, when the note tripped the server's
// crisis detector, the crisis resources the answer carries. A refusal
// returns the server's own sentence, and hearth exits non-zero.
func runCheckin(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("hearth checkin", flag.ContinueOnError)
	fs.SetOutput(stdout)
	serverURL := fs.String("url", "ws://localhost:8080/ws", "Hearth server `URL`: the chat's ws:// URL (or the http:// address of the server)")
	token := fs.String("token", "", "sign-in `token` (default: $HEARTH_TOKEN, which is safer: arguments are visible to other users)")
	mood := fs.Int("mood", 0, "how you are doing: a `number` on the server's mood scale, 1 the lowest; required (without it, hearth shows the scale)")
	note := fs.String("note", "", "a few `words` for your facilitators, at most 500 characters (optional); - reads them from standard input, which keeps them out of the process list")
	visibility := fs.String("visibility", "", "who can read it: facilitators (only your facilitators; the default) or group (your group too)")
	var rooms roomList
	fs.Var(&rooms, "room", "a `group` to check in with; repeat for several (default: all your groups)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (quote the note: -note \"…\")", fs.Arg(0))
	}
	base, err := client.HTTPBase(*serverURL)
	if err != nil {
		return errors.New("-url must be the server's address, like ws://localhost:8080/ws")
	}
	if *token == "" {
		*token = env("HEARTH_TOKEN")
	}
	if *token == "" {
		return errors.New("no token: set HEARTH_TOKEN (or pass -token)")
	}
	ctx, cancel := context.WithTimeout(ctx, checkinTimeout)
	defer cancel()

	moodSet := false
	fs.Visit(func(f *flag.Flag) { moodSet = moodSet || f.Name == "mood" })
	if !moodSet {
		return moodRequired(ctx, base, *token)
	}
	if *note == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, maxNoteBytes+1))
		if err != nil {
			return fmt.Errorf("reading the note from standard input: %w", err)
		}
		if len(b) > maxNoteBytes {
			return fmt.Errorf("the note on standard input is longer than %d bytes; a check-in note is at most 500 characters", maxNoteBytes)
		}
		if !utf8.Valid(b) {
			return errors.New("the note on standard input is not valid UTF-8 text")
		}
		*note = string(b)
	}
	var roomIDs []string
	if len(rooms) > 0 {
		roomIDs = rooms
	}
	c, err := client.PostCheckin(ctx, base, *token, client.CheckinParams{Mood: *mood, Note: *note, Visibility: strings.TrimSpace(*visibility), Rooms: roomIDs})
	if err != nil {
		return checkinFailure(err, base)
	}
	p := &printer{w: stdout}
	p.lines(checkinLines(c, time.Local)...)
	return nil
}

// moodRequired explains a missing -mood with the server's own scale (the
// words for each mood live on the server), or without it when the server
// cannot say.
func moodRequired(ctx context.Context, base, token string) error {
	moods, err := client.Moods(ctx, base, token)
	if err != nil || len(moods) == 0 {
		return errors.New("-mood is required: how you are doing, a number on the server's mood scale (1 is the lowest)")
	}
	scale := make([]string, 0, len(moods))
	for _, m := range moods {
		scale = append(scale, fmt.Sprintf("%d %s", m.Value, sanitize(m.Label)))
	}
	return errors.New("-mood is required: how you are doing, one of " + strings.Join(scale, ", "))
}

// checkinFailure turns a failed post into the sentence to show: the
// server's own for a refusal (nothing was stored), or what went wrong on
// the way.
func checkinFailure(err error, base string) error {
	var se *client.ServerError
	if errors.As(err, &se) {
		msg := sanitize(se.Message)
		if msg == "" {
			msg = "the server refused the check-in (" + sanitize(se.Code) + ")"
		}
		return &checkinError{msg: msg, err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &checkinError{msg: "no answer from " + base + " in time; your check-in may not have been saved", err: err}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &checkinError{msg: "could not reach the server at " + base + " (" + ue.Err.Error() + "); your check-in was not sent", err: err}
	}
	return &checkinError{msg: "could not send the check-in to " + base + ": " + err.Error(), err: err}
}

// checkinError is a failed check-in: msg for the person, err the cause.
type checkinError struct {
	msg string
	err error
}

func (e *checkinError) Error() string { return e.msg }
func (e *checkinError) Unwrap() error { return e.err }

// notWatched is said after every check-in: nobody is on call.
const notWatched = "Facilitators read check-ins when they can — they are not watched around the clock."

// checkinLines formats a stored check-in for the terminal, calmly: the
// mood in the server's words, who can read it and in which groups, the
// note, how long it is kept; then, when the answer carries crisis
// resources, each of them with its ways to reach it. Everything from the
// server is sanitized.
func checkinLines(c client.Checkin, loc *time.Location) []string {
	who := "your facilitators"
	if c.Visibility == client.VisibilityGroup {
		who = "your facilitators and your group"
	}
	var groups []string
	for _, r := range c.Rooms {
		groups = append(groups, sanitize(r.Room))
	}
	head := "* Thank you for checking in. You said: " + sanitize(c.MoodLabel) + fmt.Sprintf(" (%d).", c.Mood)
	if c.MoodLabel == "" {
		head = fmt.Sprintf("* Thank you for checking in. Your mood: %d.", c.Mood)
	}
	lines := []string{head}
	seen := "* It is for " + who
	if len(groups) > 0 {
		seen += " in " + strings.Join(groups, ", ")
	}
	lines = append(lines, seen+".")
	if c.Note != "" {
		lines = append(lines, "  Your note:")
		for part := range strings.SplitSeq(c.Note, "\n") {
			lines = append(lines, "    "+sanitize(strings.TrimSuffix(part, "\r")))
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, c.ExpiresAt); err == nil {
		lines = append(lines, "* It is deleted by itself on "+t.In(loc).Format("Mon 2 Jan 2006")+"; only you can delete it sooner.")
	}
	if len(c.Resources) == 0 {
		return append(lines, "* "+notWatched)
	}
	lines = append(lines, "")
	lines = append(lines, wrap("It sounds like things are really hard right now. You don't have to go through this alone — these people are there for you, any time, free and confidential:", "* ", "  ", agreementWidth)...)
	lines = append(lines, "")
	for _, r := range c.Resources {
		lines = append(lines, "  "+sanitize(r.Name))
		for _, a := range r.Actions {
			lines = append(lines, "    - "+sanitize(a.Label)+": "+sanitize(a.Href))
		}
		if r.Summary != "" {
			lines = append(lines, wrap(sanitize(r.Summary), "    ", "    ", agreementWidth)...)
		}
		lines = append(lines, "")
	}
	return append(lines, wrap("Your facilitators have been told privately, so they can check in with you. "+notWatched+" If you need help now, use the numbers above.", "* ", "  ", agreementWidth)...)
}
