package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
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

	fac, err := client.Dial(ctx, wsURL, tokens["facilitator"], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fac.Close()
	if _, err := fac.Join(ctx, "demo", "Dr. Lee", nil); err != nil {
		t.Fatal(err)
	}

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
