package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/client"
)

// devLinkRE matches the sign-in links the server prints in -dev mode.
var devLinkRE = regexp.MustCompile(`(facilitator|member \d):\s+(http://\S+)#token=([^&\s]+)&room=(\w+)`)

// startDevServer builds the real server (by running the go command, so that
// this package imports nothing under internal/), starts it in -dev mode on
// a free loopback port, and returns its WebSocket URL and the printed
// tokens by label ("facilitator", "member 1", …).
func startDevServer(t *testing.T) (string, map[string]string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real server")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hearth-server")
	if out, err := exec.Command("go", "build", "-o", bin, "hearth/server").CombinedOutput(); err != nil {
		t.Fatalf("go build hearth/server: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-dev", "-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "HEARTH_JWT_SECRET=", "HEARTH_LOG_LEVEL=warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type links struct {
		base   string
		tokens map[string]string
	}
	found := make(chan links, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		l := links{tokens: map[string]string{}}
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if m := devLinkRE.FindStringSubmatch(sc.Text()); m != nil && len(l.tokens) < 4 {
				l.base, l.tokens[m[1]] = m[2], m[3]
				if len(l.tokens) == 4 {
					found <- l
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-scanned // the pipe reaches EOF once the process is gone
		_ = cmd.Wait()
	})
	select {
	case l := <-found:
		return "ws" + strings.TrimPrefix(l.base, "http") + "ws", l.tokens
	case <-time.After(30 * time.Second):
		t.Fatal("the server printed no links within 30s")
	}
	return "", nil
}

// TestRealServerSharing runs the terminal client against the real server in
// -dev mode. A member types the facilitator's name, is shown the group
// agreement and accepts it by typing yes, is told the name is kept for the
// facilitators and types another; then raises a hand, a facilitator
// (package client) switches to taking turns and gives the member the floor,
// the member passes, then listens, is refused a hand while listening, and
// takes part again. After leaving, the member joins once more: the
// agreement is not asked for again.
func TestRealServerSharing(t *testing.T) {
	wsURL, tokens := startDevServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	fac := dialFacilitator(t, ctx, wsURL, tokens, "demo")

	stdin, typing := io.Pipe()
	defer stdin.Close()
	var out syncBuffer
	errc := make(chan error, 1)
	env := func(k string) string { return map[string]string{"HEARTH_TOKEN": tokens["member 1"]}[k] }
	go func() {
		errc <- run(ctx, []string{"-url", wsURL, "-room", "demo"}, env, stdin, &out)
	}()
	typeLine := func(line string) {
		t.Helper()
		if _, err := io.WriteString(typing, line+"\n"); err != nil {
			t.Fatalf("typing %q: %v", line, err)
		}
	}
	request := func(frame map[string]any) {
		t.Helper()
		if _, err := fac.Request(ctx, frame); err != nil {
			t.Fatalf("facilitator %v: %v", frame["type"], err)
		}
	}

	waitFor(t, &out, `^Display name: $`)
	typeLine("Dr Lee")
	waitFor(t, &out, `\* Before you join demo, please read the group agreement:\n\n  Our group agreement\n\n  Welcome\.`)
	waitFor(t, &out, `988.*\n(.*\n)*\nType yes to agree and join, or anything else to leave: $`)
	typeLine("yes")
	waitFor(t, &out, `! That name is kept for the group's facilitators or for Hearth itself\. Please choose another\.\nDisplay name: $`)
	typeLine("Robin")
	waitFor(t, &out, `\* You joined demo as Robin\. Here now: Dr\. Lee \(facilitator\)\.`)
	waitFor(t, &out, `\* The group is in open sharing\.\n`)
	robin := ""
	for robin == "" {
		select {
		case ev := <-fac.Events():
			if ev.Type == client.TypeMemberJoined && ev.Member.DisplayName == "Robin" {
				robin = ev.Member.MemberID
			}
		case <-ctx.Done():
			t.Fatal("the facilitator never saw Robin join")
		}
	}

	typeLine("/hand")
	waitFor(t, &out, `\* Your hand is raised\.`)
	waitFor(t, &out, `\* Hands raised: you\n`)

	request(map[string]any{"type": "set_mode", "room": "demo", "mode": client.ModeRounds})
	waitFor(t, &out, `\* The group is taking turns\.\n`)
	request(map[string]any{"type": "give_floor", "room": "demo", "member_id": robin})
	waitFor(t, &out, `\* You have the floor\.`)
	waitFor(t, &out, `\* No hands are raised now\.\n`)

	typeLine("Thank you, I would like to share something.")
	waitFor(t, &out, `\] Robin: Thank you, I would like to share something\.\n`)
	typeLine("/pass")
	waitFor(t, &out, `\* You passed — that's always OK\.\n`)
	waitFor(t, &out, `\* The floor is free\.\n`)
	typeLine("Can I add one thing?")
	waitFor(t, &out, `! error not_your_turn: .*\n\* Type /hand to raise your hand\.\n`)

	typeLine("/listen")
	waitFor(t, &out, `\* You are just listening now\.`)
	typeLine("/hand")
	waitFor(t, &out, `! error observer: .*\n\* You are just listening: type /takepart to take part\.\n`)
	typeLine("/takepart")
	waitFor(t, &out, `\* You are taking part\.\n`)
	typeLine("/quit")
	waitFor(t, &out, `\* You left demo\.\n`)
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
	_ = typing.Close()
	if text := out.String(); strings.Contains(text, robin) || strings.Contains(text, tokens["member 1"]) {
		t.Errorf("a member id or the token was printed:\n%s", text)
	}
	t.Logf("the member's terminal:\n%s", out.String())

	// The acceptance is remembered: joining again asks nothing.
	var again syncBuffer
	if err := run(ctx, []string{"-url", wsURL, "-room", "demo", "-name", "Robin"}, env, strings.NewReader("/quit\n"), &again); err != nil {
		t.Fatalf("run again: %v", err)
	}
	if text := again.String(); strings.Contains(text, "agreement") || !strings.Contains(text, "* You joined demo as Robin.") {
		t.Errorf("the second join:\n%s", text)
	}
}

// dropProxy forwards TCP connections to target. Down cuts every connection
// it carries, without a close frame (a network drop, close code 1006 for
// both ends), and refuses new ones until it is up again.
type dropProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func newDropProxy(t *testing.T, target string) *dropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, target: target}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		_ = ln.Close()
		p.setDown(true)
		p.wg.Wait()
	})
	return p
}

func (p *dropProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
		}
		p.wg.Go(func() { pipe(up, c) })
		p.wg.Go(func() { pipe(c, up) })
	}
}

// setDown cuts every connection and refuses new ones (down), or lets them
// through again.
func (p *dropProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.conns = nil
	}
}

// TestRealServerResume runs the terminal client against the real server
// through a proxy that cuts its connection: what the facilitator says
// while the member is away is printed after the reconnect, in order, once,
// with no line about missed events or lost messages.
func TestRealServerResume(t *testing.T) {
	wsURL, tokens := startDevServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	u, err := url.Parse(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newDropProxy(t, u.Host)

	fac := dialFacilitator(t, ctx, wsURL, tokens, "demo")
	go func() { // the facilitator's events are not looked at
		for range fac.Events() {
		}
	}()
	say := func(text string) {
		t.Helper()
		if _, err := fac.Send(ctx, "demo", text); err != nil {
			t.Fatalf("facilitator send: %v", err)
		}
	}

	stdin, typing := io.Pipe()
	defer stdin.Close()
	var out syncBuffer
	c := &chat{
		url: "ws://" + proxy.ln.Addr().String() + u.Path, token: tokens["member 2"], room: "demo", name: "Robin",
		in:       bufio.NewReader(stdin),
		out:      &printer{w: &out},
		view:     newView("demo", time.Local),
		minDelay: 50 * time.Millisecond, maxDelay: 200 * time.Millisecond,
	}
	errc := make(chan error, 1)
	go func() { errc <- c.run(ctx) }()
	waitFor(t, &out, `Type yes to agree and join, or anything else to leave: $`)
	if _, err := io.WriteString(typing, "yes\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &out, `\* You joined demo as Robin\.`)
	say("before the drop")
	waitFor(t, &out, `\] Dr\. Lee \(facilitator\): before the drop\n`)

	proxy.setDown(true)
	waitFor(t, &out, `\* connection lost \(the network connection dropped\); reconnecting in`)
	for i := 1; i <= 5; i++ {
		say(fmt.Sprintf("while you were away %d", i))
	}
	proxy.setDown(false)
	waitFor(t, &out, `\* Reconnected to demo\. Here now: Dr\. Lee \(facilitator\)\.\n(.*\n)*`+
		`\[[\d:]+\] Dr\. Lee \(facilitator\): while you were away 1\n`+
		`\[[\d:]+\] Dr\. Lee \(facilitator\): while you were away 2\n`+
		`\[[\d:]+\] Dr\. Lee \(facilitator\): while you were away 3\n`+
		`\[[\d:]+\] Dr\. Lee \(facilitator\): while you were away 4\n`+
		`\[[\d:]+\] Dr\. Lee \(facilitator\): while you were away 5\n`)
	say("live again")
	waitFor(t, &out, `\] Dr\. Lee \(facilitator\): live again\n`)
	if _, err := io.WriteString(typing, "/quit\n"); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
	text := out.String()
	t.Logf("the member's terminal:\n%s", text)
	for i := 1; i <= 5; i++ {
		if n := strings.Count(text, fmt.Sprintf("while you were away %d\n", i)); n != 1 {
			t.Errorf("message %d printed %d times", i, n)
		}
	}
	if strings.Contains(text, "were missed") || strings.Contains(text, gapLine) {
		t.Errorf("the resume was reported as incomplete:\n%s", text)
	}
}

// TestRealServerCheckin posts check-ins with the checkin command to the
// real server in -dev mode, as a member who never joins a room (no session
// is needed): the stored check-in is printed with the server's words for
// the mood, a facilitator connected anywhere hears of it live, a note that
// trips the crisis detector prints the crisis resources and raises an
// alert for the facilitator, and refusals end with the server's sentence.
func TestRealServerCheckin(t *testing.T) {
	wsURL, tokens := startDevServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	fac := dialFacilitator(t, ctx, wsURL, tokens, "")
	waitEvent := func(typ, contains string) {
		t.Helper()
		for {
			select {
			case ev, ok := <-fac.Events():
				if !ok {
					t.Fatalf("the facilitator's connection ended waiting for %s", typ)
				}
				if ev.Type == typ && strings.Contains(string(ev.Raw), contains) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no %s event with %q", typ, contains)
			}
		}
	}
	env := func(k string) string { return map[string]string{"HEARTH_TOKEN": tokens["member 2"]}[k] }
	checkin := func(stdin string, args ...string) (string, error) {
		var out strings.Builder
		err := run(ctx, append([]string{"checkin", "-url", wsURL}, args...), env, strings.NewReader(stdin), &out)
		return out.String(), err
	}

	out, err := checkin("", "-mood", "4", "-note", "A good week: two walks.", "-room", "demo")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"* Thank you for checking in. You said: Good (4).\n", "* It is for your facilitators in demo.\n",
		"    A good week: two walks.\n", "they are not watched around the clock."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	waitEvent("checkin", `"note":"A good week: two walks."`)

	out, err = checkin("I want to end my life\n", "-mood", "1", "-note", "-", "-visibility", "group")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"You said: Very low (1).", "your facilitators and your group in demo", "988 Suicide & Crisis Lifeline", "- Call 988: tel:988",
		"Your facilitators have been told privately"} {
		if !strings.Contains(out, want) {
			t.Errorf("crisis output lacks %q:\n%s", want, out)
		}
	}
	waitEvent("crisis_alert", `"room":"demo"`)

	if _, err := checkin("", "-mood", "9"); err == nil || err.Error() != "Please choose a mood from 1 (very low) to 5 (very good)." {
		t.Errorf("mood 9: error = %v", err)
	}
	if _, err := checkin("", "-mood", "3", "-room", "elsewhere"); err == nil || !strings.Contains(err.Error(), "only check in with groups you are a member of") {
		t.Errorf("another group: error = %v", err)
	}
	if _, err := checkin(""); err == nil || err.Error() != "-mood is required: how you are doing, one of 1 Very low, 2 Low, 3 Okay, 4 Good, 5 Very good" {
		t.Errorf("no mood: error = %v", err)
	}
}

// dialFacilitator connects the dev server's facilitator with package
// client, joined to room as "Dr. Lee" unless room is empty; the connection
// closes when the test ends.
func dialFacilitator(t *testing.T, ctx context.Context, wsURL string, tokens map[string]string, room string) *client.Client {
	t.Helper()
	fac, err := client.Dial(ctx, wsURL, tokens["facilitator"], nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fac.Close() })
	if room != "" {
		if _, err := fac.Join(ctx, room, "Dr. Lee", nil); err != nil {
			t.Fatal(err)
		}
	}
	return fac
}
