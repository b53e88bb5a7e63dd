package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"hearth/client"
)

// Bounds on how long the chat waits for the server.
const (
	joinTimeout  = 30 * time.Second // for the join reply
	sendTimeout  = 15 * time.Second // for each send or command reply
	leaveTimeout = 5 * time.Second  // for the leave reply on /quit
	sendQueue    = 64               // lines and commands typed but not yet sent
)

// chat is one chat session in one room, across reconnects.
type chat struct {
	url, token, room, name string
	opts                   *client.Options // for Dial; nil for defaults
	observe                bool            // join as an observer (just listening)
	askName                bool            // the name was typed at a prompt: ask again when the room refuses it
	agreed                 string          // the version of the group agreement accepted in this run; "" if none

	in   *bufio.Reader
	out  *printer
	view *view

	minDelay, maxDelay time.Duration // reconnect backoff bounds
}

// errQuit ends a session because the user quit (/quit or end of input).
var errQuit = errors.New("quit")

// retryError ends a session in a way that calls for reconnecting.
type retryError struct{ reason string }

func (e *retryError) Error() string { return e.reason }

// finalError ends the chat: msg is shown to the user, err is the cause.
type finalError struct {
	msg string
	err error
}

func (e *finalError) Error() string { return e.msg }
func (e *finalError) Unwrap() error { return e.err }

// run connects, joins and chats until the user quits, ctx ends, or the
// server ends the session for good; it reconnects with backoff in between.
//
// It starts the goroutine reading stdin and stops it when it returns; a read
// already blocked on a terminal cannot be interrupted, so that goroutine
// ends at the next line or end of input (for the command, when the process
// exits right after).
func (ch *chat) run(ctx context.Context) error {
	linesCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	lines := make(chan string)
	go readLines(linesCtx, ch.in, lines)

	everJoined := false
	attempt := 0
	for {
		started := time.Now()
		joined, err := ch.session(ctx, lines, everJoined)
		everJoined = everJoined || joined
		if ctx.Err() != nil || errors.Is(err, errQuit) {
			return nil
		}
		var re *retryError
		if !errors.As(err, &re) {
			return err
		}
		if joined && time.Since(started) >= ch.maxDelay {
			attempt = 0 // the connection was good for a while: start over
		}
		delay := ch.backoff(attempt)
		attempt++
		ch.out.printf("* %s; reconnecting in %s", re.reason, delay.Round(100*time.Millisecond))
		if ch.wait(ctx, lines, delay) {
			return nil
		}
	}
}

// backoff returns the delay before reconnect attempt n (from 0): minDelay
// doubling up to maxDelay, with jitter taking it down by up to half.
func (ch *chat) backoff(n int) time.Duration {
	d := ch.maxDelay
	if n < 30 && ch.minDelay<<n < ch.maxDelay {
		d = ch.minDelay << n
	}
	return d/2 + rand.N(d/2+1)
}

// wait waits for delay before reconnecting. It reports true if the user
// quit meanwhile; lines typed while disconnected are not sent.
func (ch *chat) wait(ctx context.Context, lines <-chan string, delay time.Duration) (quit bool) {
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return true
		case <-t.C:
			return false
		case line, ok := <-lines:
			if !ok {
				return true
			}
			switch in := parseInput(line); in.kind {
			case inputQuit:
				return true
			case inputHelp:
				ch.out.lines(helpLines()...)
			case inputHelpNow:
				ch.out.lines(ch.view.helpNowLines()...)
			case inputUnknown:
				ch.out.lines(unknownLine(in.text))
			case inputMessage:
				ch.out.lines("! not connected; that message was not sent")
			case inputCommand:
				ch.out.lines("! not connected; " + in.cmd.name + " was not sent")
			}
		}
	}
}

// session makes one connection: dial, join, then print events and send
// typed lines until it ends. joined reports whether the join succeeded.
// The error is errQuit, a *retryError, or a final error.
func (ch *chat) session(ctx context.Context, lines <-chan string, rejoin bool) (joined bool, err error) {
	c, err := client.Dial(ctx, ch.url, ch.token, ch.opts)
	if err != nil {
		return false, dialFailure(err)
	}
	defer func() { _ = c.Close() }() // close code 1000 leaves the room too
	if rs := c.Resources(); len(rs) > 0 {
		ch.view.resources = rs // for /help-now
	}

	// Observing is kept across reconnects: the server forgets the presence
	// of someone who left, and a dropped connection must not quietly turn a
	// listener into a participant.
	as := ""
	if (!rejoin && ch.observe) || (rejoin && ch.view.observing()) {
		as = client.AsObserver
	}
	// A rejoin resumes where the dropped connection left off: the server
	// sends what was said meanwhile (or says it cannot) right after joined.
	var from *client.ResumePoint
	if rejoin {
		from = ch.view.resumePoint()
	}
	j, err := ch.join(ctx, c, lines, as, from)
	if err != nil {
		return false, err
	}
	ch.out.lines(ch.view.joined(j, rejoin)...)

	queue := make(chan input, sendQueue)
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	var sender sync.WaitGroup
	sender.Go(func() { ch.sendLoop(sendCtx, c, queue) })
	// stopSender stops the sender goroutine; with drain it first lets it
	// send what is queued.
	stopped := false
	stopSender := func(drain bool) {
		if stopped {
			return
		}
		stopped = true
		if !drain {
			stopSending()
		}
		close(queue)
		sender.Wait()
	}
	defer stopSender(false)

	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case ev, ok := <-c.Events():
			if !ok {
				return true, ended(c)
			}
			ch.out.lines(ch.view.event(ev)...)
			if ch.view.over {
				// Removed, not let in, or (for a member) the session
				// ended: the server has taken this person out of the
				// room, so the chat ends here, calmly, instead of
				// sending into a room they are no longer in.
				return true, errQuit
			}
		case line, ok := <-lines:
			in := parseInput(line)
			if !ok || in.kind == inputQuit {
				stopSender(true)
				lctx, cancel := context.WithTimeout(ctx, leaveTimeout)
				err := c.Leave(lctx, ch.room)
				cancel()
				if err == nil {
					ch.out.lines("* You left " + sanitize(ch.room) + ".")
				}
				return true, errQuit
			}
			switch in.kind {
			case inputEmpty:
				continue
			case inputHelp:
				ch.out.lines(helpLines()...)
				continue
			case inputHelpNow:
				ch.out.lines(ch.view.helpNowLines()...)
				continue
			case inputUnknown:
				ch.out.lines(unknownLine(in.text))
				continue
			case inputCommand:
				if in.cmd.args != "" {
					var why []string
					if in, why = ch.view.prepare(in); in.frame == nil {
						ch.out.lines(why...)
						continue
					}
				} else if in.cmd.typ == "request_support" {
					ch.view.asked = true // the card that answers says the facilitators were told
				}
			}
			select {
			case queue <- in:
			default:
				ch.out.lines("! too many messages waiting to be sent; that one was not sent")
			}
		}
	}
}

// Prompts for what join asks the person.
const (
	agreePrompt = "Type yes to agree and join, or anything else to leave: "
	namePrompt  = "Display name: "
)

// join joins the room on c, resuming from from when it is not nil, and
// asks the person along the way: to accept the room's group agreement when
// the server asks for it (the first time, and again on a reconnect if its
// text changed meanwhile), and for another display name when the room
// refuses the one given, if it was typed at the prompt (a name from -name
// ends the chat with the server's sentence). When the room's waiting room
// holds a member, it waits there for a facilitator (see lobby). The error
// is errQuit when the person chose not to go on or was not let in, else a
// *retryError or a final error.
func (ch *chat) join(ctx context.Context, c *client.Client, lines <-chan string, as string, from *client.ResumePoint) (client.Joined, error) {
	for {
		ev, err := ch.sendJoin(ctx, c, as, from)
		if err == nil {
			switch ev.Type {
			case client.TypeJoined:
				return joinedOf(ev), nil
			case typeWaiting:
				return ch.lobby(ctx, c, lines)
			}
			return client.Joined{}, &finalError{msg: "the server answered the join with " + strconv.Quote(sanitize(ev.Type)) +
				", which this client does not understand; it may be out of date", err: client.ErrUnexpectedReply}
		}
		var se *client.ServerError
		switch {
		case errors.As(err, &se) && se.Code == "agreement_required" && se.Guidelines != nil:
			ch.out.lines(agreementLines(ch.room, se.Guidelines.Text, ch.agreed != "")...)
			answer, ok := ch.ask(ctx, lines, agreePrompt)
			if !ok || !strings.EqualFold(answer, "yes") {
				ch.out.lines("* You have not joined " + sanitize(ch.room) + ". You are welcome to come back whenever you are ready.")
				return client.Joined{}, errQuit
			}
			ch.agreed = se.Guidelines.Version
		case errors.As(err, &se) && nameRefused(se.Code) && ch.askName:
			ch.out.lines("! " + sanitize(se.Message))
			name, ok := ch.ask(ctx, lines, namePrompt)
			if !ok || parseInput(name).kind == inputQuit {
				return client.Joined{}, errQuit
			}
			ch.name = name
		default:
			return client.Joined{}, ch.joinFailure(c, err)
		}
	}
}

// sendJoin sends the join frame and returns the server's answer: joined,
// waiting (the room's lobby), or an error. Hides are sent again: they last
// as long as a connection.
func (ch *chat) sendJoin(ctx context.Context, c *client.Client, as string, from *client.ResumePoint) (client.Event, error) {
	f := map[string]any{"type": "join", "room": ch.room, "display_name": ch.name}
	if as != "" {
		f["as"] = as
	}
	if ch.agreed != "" {
		f["agree"] = ch.agreed
	}
	if from != nil {
		f["resume_from"] = from
	}
	if len(ch.view.hidden) > 0 {
		f["hidden"] = slices.Sorted(maps.Keys(ch.view.hidden))
	}
	jctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	return c.Request(jctx, f)
}

// joinedOf is the Joined a joined event (the reply to join, or the one a
// facilitator's admit sends) says.
func joinedOf(ev client.Event) client.Joined {
	return client.Joined{Room: ev.Room, You: ev.You, Members: ev.Members, State: ev.State, Share: ev.Share,
		Epoch: ev.Epoch, Seq: ev.Seq, Resume: ev.Resume}
}

// lobby waits in the room's waiting room until a facilitator lets this
// person in (joined) or not (denied: the chat ends calmly), without
// reconnecting: waiting is an answer, not a failure. Lines typed meanwhile
// are not sent; /quit (or end of input) leaves the waiting room.
func (ch *chat) lobby(ctx context.Context, c *client.Client, lines <-chan string) (client.Joined, error) {
	ch.out.lines(waitingLine(ch.room))
	for {
		select {
		case <-ctx.Done():
			return client.Joined{}, ctx.Err()
		case ev, ok := <-c.Events():
			if !ok {
				return client.Joined{}, ended(c)
			}
			if ev.Room == ch.room {
				switch ev.Type {
				case client.TypeJoined:
					ch.out.lines("* A facilitator has let you in.")
					return joinedOf(ev), nil
				case typeDenied:
					ch.out.lines(deniedLines(ch.room)...)
					return client.Joined{}, errQuit
				}
			}
			ch.out.lines(ch.view.event(ev)...) // an error, or crisis resources
		case line, ok := <-lines:
			in := parseInput(line)
			switch {
			case !ok || in.kind == inputQuit:
				lctx, cancel := context.WithTimeout(ctx, leaveTimeout)
				_ = c.Leave(lctx, ch.room)
				cancel()
				ch.out.lines("* You have left the waiting room. You are welcome to come back whenever you are ready.")
				return client.Joined{}, errQuit
			case in.kind == inputEmpty:
			case in.kind == inputHelp:
				ch.out.lines(helpLines()...)
			case in.kind == inputHelpNow:
				ch.out.lines(ch.view.helpNowLines()...)
			case in.kind == inputUnknown:
				ch.out.lines(unknownLine(in.text))
			default:
				ch.out.lines("! You are still waiting to be let in, so that was not sent. (/help-now shows crisis lines you can reach any time)")
			}
		}
	}
}

// ask shows prompt and waits for the next typed line, trimmed. ok is false
// at end of input or when ctx ends.
func (ch *chat) ask(ctx context.Context, lines <-chan string, prompt string) (answer string, ok bool) {
	ch.out.prompt(prompt)
	select {
	case <-ctx.Done():
		return "", false
	case line, ok := <-lines:
		if !ok {
			ch.out.lines("")
			return "", false
		}
		return strings.TrimSpace(line), true
	}
}

// nameRefused reports whether an error code says the room refused the
// display name (the server's message then says why, for people).
func nameRefused(code string) bool {
	switch code {
	case "name_taken", "name_reserved", "name_invisible", "name_invalid_char", "name_too_long", "name_empty":
		return true
	}
	return false
}

// sendLoop sends the queued messages and commands in order, printing a
// command's confirmation or why something failed. It returns when queue is
// closed and drained.
func (ch *chat) sendLoop(ctx context.Context, c *client.Client, queue <-chan input) {
	for in := range queue {
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		var err error
		what := "a message"
		done := ""
		switch {
		case in.frame != nil:
			what, done = in.cmd.name, in.done
			_, err = c.Request(sctx, in.frame)
		case in.cmd != nil:
			what, done = in.cmd.name, in.cmd.done
			_, err = c.Request(sctx, in.cmd.frame(ch.room))
		default:
			_, err = c.Send(sctx, ch.room, in.text)
		}
		cancel()
		if err == nil {
			if done != "" {
				ch.out.lines(done)
			}
			continue
		}
		if ctx.Err() != nil {
			continue
		}
		var se *client.ServerError
		switch {
		case errors.As(err, &se):
			ch.out.lines(errorLine(se.Code, se.Message))
			if hint := errorHint(se.Code); hint != "" {
				ch.out.lines(hint)
			}
		case errors.Is(err, context.DeadlineExceeded):
			ch.out.lines("! the server did not confirm " + what + " in time; it may not have been sent")
		default:
			ch.out.lines("! " + what + " was not sent: the connection was lost")
		}
	}
}

// readLines sends each line of in (without its line end) on out, and closes
// out at end of input or when ctx ends.
func readLines(ctx context.Context, in *bufio.Reader, out chan<- string) {
	defer close(out)
	for {
		line, err := in.ReadString('\n')
		if line != "" {
			select {
			case out <- strings.TrimRight(line, "\r\n"):
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// tokenRefused is what the user is told when the server refuses the token.
const tokenRefused = "your token was refused; get a new link"

// dialFailure classifies a failed Dial as a *retryError or a final error.
func dialFailure(err error) error {
	var de *client.DialError
	if !errors.As(err, &de) {
		return &retryError{reason: "cannot connect"}
	}
	if de.CloseStatus == 4401 || de.HTTPStatus == 401 || (de.Server != nil && authCode(de.Server.Code)) {
		msg := tokenRefused
		if de.Server != nil {
			msg += " (" + sanitize(de.Server.Message) + ")"
		}
		return &finalError{msg: msg, err: err}
	}
	switch {
	case de.HTTPStatus >= 500:
		return &retryError{reason: fmt.Sprintf("the server is unavailable (HTTP %d)", de.HTTPStatus)}
	case de.HTTPStatus != 0:
		msg := fmt.Sprintf("the server refused the connection (HTTP %d)", de.HTTPStatus)
		if de.Server != nil {
			msg += ": " + sanitize(de.Server.Message)
		}
		return &finalError{msg: msg, err: err}
	case de.CloseStatus != 0 && !client.Reconnect(de.CloseStatus):
		return &finalError{msg: closeMessage(de.CloseStatus), err: err}
	case de.CloseStatus != 0:
		return &retryError{reason: "connection lost while signing in (" + closeReason(de.CloseStatus, nil) + ")"}
	}
	return &retryError{reason: "cannot connect: " + sanitize(de.Error())}
}

func authCode(code string) bool {
	switch code {
	case "invalid_token", "token_expired", "auth_timeout", "unauthorized":
		return true
	}
	return false
}

// joinFailure classifies a failed Join.
func (ch *chat) joinFailure(c *client.Client, err error) error {
	var se *client.ServerError
	if errors.As(err, &se) {
		switch se.Code {
		case "unavailable", "internal", "shutting_down":
			return &retryError{reason: "the server is briefly unavailable"}
		}
		msg := "could not join " + sanitize(ch.room) + ": " + sanitize(se.Message)
		if nameRefused(se.Code) {
			msg += " (choose another name with -name)"
		}
		return &finalError{msg: msg, err: err}
	}
	select {
	case <-c.Done():
		return ended(c)
	default:
		return &retryError{reason: "no answer to join"}
	}
}

// ended classifies a connection that ended by its close code.
func ended(c *client.Client) error {
	status := c.CloseStatus()
	if client.Reconnect(status) {
		return &retryError{reason: "connection lost (" + closeReason(status, c.Err()) + ")"}
	}
	return &finalError{msg: closeMessage(status), err: c.Err()}
}

// closeReason names a reconnect-class close code for people.
func closeReason(status int, err error) string {
	switch {
	case errors.Is(err, client.ErrHeartbeatTimeout):
		return "the server stopped answering"
	case status == 1001:
		return "the server is going away"
	case status == 1005, status == 1006:
		return "the network connection dropped"
	case status == 1011:
		return "server error"
	case status == 1012:
		return "the server is restarting"
	case status == 1013:
		return "the server is busy, or this terminal fell behind"
	}
	return fmt.Sprintf("close code %d", status)
}

// closeMessage explains a final close code to people.
func closeMessage(status int) string {
	switch {
	case status == 4401:
		return tokenRefused
	case status == 1000:
		return "the server ended the connection"
	case status == 1002:
		return "the server reported a protocol error; this client may be out of date (close code 1002)"
	case status == 1009:
		return "a message was too large for the server (close code 1009)"
	case status >= 4000 && status <= 4499:
		return fmt.Sprintf("the server ended the session (close code %d)", status)
	}
	return fmt.Sprintf("the connection was closed (close code %d)", status)
}
