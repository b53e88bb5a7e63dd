// Command hearth is a terminal client for Hearth group chat.
//
//	hearth [chat] -url ws://localhost:8080/ws -room demo [-name Robin] [-observe] [-token T]
//	hearth checkin -mood 3 [-note "…" | -note -] [-visibility group] [-room ID …] [-url ws://localhost:8080/ws] [-token T]
//
// checkin posts one between-session check-in over the REST API (no
// session needs to be open): the mood (a number on the server's scale),
// an optional note (-note - reads it from standard input, which keeps it
// out of the process list), who can read it (facilitators, the default,
// or group) and for which groups (-room, repeatable; default all). It
// prints the check-in as stored, with the server's words for the mood,
// and — when the note tripped the server's crisis detector — the crisis
// resources with their numbers. A refusal prints the server's sentence and
// exits with status 1. The rest of this comment is about chat.
//
// The token is read from HEARTH_TOKEN when -token is empty (prefer the
// environment: command-line arguments are visible to other local users). If
// -name is empty, hearth asks for a display name, and asks again when the
// room refuses it (taken, or kept for the facilitators), printing the
// server's reason; a name given with -name that the room refuses ends
// hearth with that reason. Before a member's first join, and again whenever
// the room's group agreement has changed, hearth prints the agreement and
// joins only if the member types "yes". With -observe the member
// joins just listening (an observer). Every line typed is sent to the room;
// empty lines are ignored; a line starting with "/" is a command and never
// sent ("//" sends a line starting with "/"): /hand and /lower raise and
// lower a hand to share, /pass passes (or ends one's turn), /listen and
// /takepart switch between listening and taking part, /help lists them, and
// "/quit" (or end of input) leaves the room and exits. The room's mode, the
// floor, the raised hands and who is listening are shown as they change.
// The connection is re-established with backoff when the server restarts or
// the network drops (a listener rejoins listening), and the rejoin resumes
// where the dropped connection left off: what was said meanwhile is printed
// like live events, each message once, or "* Some messages could not be
// recovered." says that some of it is lost; hearth stops with a message
// when the server's close code is final (for example a refused token).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "hearth:", err)
		os.Exit(1)
	}
}

// run runs the hearth command with args (without the program name), env to
// look up environment variables, and the terminal's stdin and stdout. It
// returns when the user quits (nil), ctx ends (nil), or the session cannot
// go on (an error to show the user).
func run(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout io.Writer) error {
	cmd := "chat"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "chat":
		return runChat(ctx, args, env, stdin, stdout)
	case "checkin":
		return runCheckin(ctx, args, env, stdin, stdout)
	default:
		return fmt.Errorf("unknown command %q (known commands: chat, checkin)", cmd)
	}
}

// runChat parses the chat command's flags and runs a chat until the user
// quits.
func runChat(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("hearth chat", flag.ContinueOnError)
	fs.SetOutput(stdout)
	wsURL := fs.String("url", "ws://localhost:8080/ws", "Hearth WebSocket `URL`")
	token := fs.String("token", "", "sign-in `token` (default: $HEARTH_TOKEN, which is safer: arguments are visible to other users)")
	room := fs.String("room", "", "`room` to join (required)")
	name := fs.String("name", "", "display `name` (asked for when empty)")
	observe := fs.Bool("observe", false, "join just listening, as an observer (type /takepart to take part)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *room == "" {
		return errors.New("-room is required")
	}
	if u, err := url.Parse(*wsURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("-url must be a ws:// or wss:// URL, like ws://localhost:8080/ws")
	}
	if *token == "" {
		*token = env("HEARTH_TOKEN")
	}
	if *token == "" {
		return errors.New("no token: set HEARTH_TOKEN (or pass -token)")
	}
	in := bufio.NewReader(stdin)
	askName := strings.TrimSpace(*name) == ""
	if askName {
		n, err := promptLine(in, stdout, namePrompt)
		if err != nil {
			return fmt.Errorf("reading display name: %w", err)
		}
		if n == "" {
			return errors.New("a display name is required")
		}
		*name = n
	}
	c := &chat{
		url:      *wsURL,
		token:    *token,
		room:     *room,
		name:     strings.TrimSpace(*name),
		askName:  askName,
		observe:  *observe,
		in:       in,
		out:      &printer{w: stdout},
		view:     newView(*room, time.Local),
		minDelay: 500 * time.Millisecond,
		maxDelay: 30 * time.Second,
	}
	return c.run(ctx)
}

// promptLine writes prompt and reads one line, trimmed.
func promptLine(in *bufio.Reader, out io.Writer, prompt string) (string, error) {
	if _, err := io.WriteString(out, prompt); err != nil {
		return "", fmt.Errorf("write prompt: %w", err)
	}
	line, err := in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", err
	}
	return strings.TrimSpace(line), nil
}
