package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"hearth/client"
	"hearth/internal/auth"
	"hearth/internal/redistest"
)

// buildServer builds this package's binary once per test run.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hearth")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var linkRE = regexp.MustCompile(`(facilitator|member \d):\s+(http://\S+)#token=([^&\s]+)&room=(\w+)`)

// startProcess runs the server binary with args and env, and returns the
// links it prints (label -> token) and its base URL once it listens.
func startProcess(t *testing.T, bin string, env []string, args ...string) (*exec.Cmd, string, map[string]string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	links := map[string]string{}
	base := ""
	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if m := linkRE.FindStringSubmatch(sc.Text()); m != nil {
				links[m[1]], base = m[3], m[2]
				if len(links) == 4 {
					close(found)
				}
			}
		}
	}()
	select {
	case <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("the server printed no links within 30s")
	}
	return cmd, base, links
}

// joinAccepting joins room as a member who has not yet accepted the group
// agreement, the way a real client does: the first join is refused with
// agreement_required carrying the agreement (whose default text names the
// 988 Lifeline), and the join again with agree set to its version succeeds.
func joinAccepting(ctx context.Context, t *testing.T, c *client.Client, room, name string) client.Joined {
	t.Helper()
	_, err := c.Join(ctx, room, name, nil)
	var se *client.ServerError
	if !errors.As(err, &se) || se.Code != "agreement_required" {
		t.Fatalf("first join: %v, want agreement_required", err)
	}
	if se.Guidelines == nil || se.Guidelines.Version == "" || !strings.Contains(se.Guidelines.Text, "988") {
		t.Fatalf("agreement_required carries %+v, want the agreement, naming 988", se.Guidelines)
	}
	j, err := c.Join(ctx, room, name, &client.JoinOptions{Agree: se.Guidelines.Version})
	if err != nil {
		t.Fatalf("join accepting the agreement: %v", err)
	}
	return j
}

// The README's first command, for real: the built binary in -dev mode
// prints four links; their tokens let the Go client join the demo room (the
// member accepting the group agreement first) and chat; SIGTERM closes the clients with 1012 and the process exits cleanly.
func TestDevServerEndToEnd(t *testing.T) {
	bin := buildServer(t)
	cmd, base, links := startProcess(t, bin, []string{"HEARTH_JWT_SECRET="}, "-dev", "-addr", "127.0.0.1:0", "-data", t.TempDir())
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("link base %q", base)
	}
	resp, err := http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("GET / = %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "ws"
	fac, err := client.Dial(ctx, wsURL, links["facilitator"], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fac.Close()
	mem, err := client.Dial(ctx, wsURL, links["member 1"], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if fac.Welcome().Role != "facilitator" || mem.Welcome().Role != "member" {
		t.Fatalf("roles: %q, %q", fac.Welcome().Role, mem.Welcome().Role)
	}
	if _, err := fac.Join(ctx, "demo", "Dr. Lee", nil); err != nil {
		t.Fatal(err)
	}
	j := joinAccepting(ctx, t, mem, "demo", "Robin")
	if len(j.Members) != 2 {
		t.Fatalf("joined.members = %v, want the facilitator and me", j.Members)
	}
	if _, err := mem.Send(ctx, "demo", "Hello from the terminal"); err != nil {
		t.Fatal(err)
	}
	for ev := range fac.Events() {
		if ev.Type == client.TypeMessage {
			if ev.Text != "Hello from the terminal" || ev.From.DisplayName != "Robin" {
				t.Fatalf("facilitator got %+v", ev)
			}
			break
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-mem.Done():
	case <-ctx.Done():
		t.Fatal("the client was not closed on SIGTERM")
	}
	if code := mem.CloseStatus(); code != 1012 || !client.Reconnect(code) {
		t.Fatalf("close status on SIGTERM = %d, want 1012 (reconnect)", code)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("server exit after SIGTERM: %v", err)
	}
}

// Two server processes over one private Redis, in distributed mode, with a
// shared secret: a member on each chats with the other in the demo room both
// prepared in the shared store.
func TestTwoProcessesOverRedis(t *testing.T) {
	rds := redistest.Start(t)
	bin := buildServer(t)
	secret := "e2e-secret-0123456789-0123456789-abcdef"
	env := []string{"HEARTH_JWT_SECRET=" + secret, "HEARTH_REDIS_URL=" + rds.URL()}
	_, base1, _ := startProcess(t, bin, env, "-dev", "-addr", "127.0.0.1:0")
	_, base2, _ := startProcess(t, bin, env, "-dev", "-addr", "127.0.0.1:0")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok := func(sub string) string {
		s, err := auth.Mint(auth.Config{Secret: []byte(secret)}, sub, "member", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, err := client.Dial(ctx, "ws"+strings.TrimPrefix(base1, "http")+"ws", tok("dev-member-1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := client.Dial(ctx, "ws"+strings.TrimPrefix(base2, "http")+"ws", tok("dev-member-2"), &client.Options{BearerHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	joinAccepting(ctx, t, a, "demo", "A")
	joinAccepting(ctx, t, b, "demo", "B")
	for i := range 5 {
		if _, err := a.Send(ctx, "demo", fmt.Sprint("ping ", i)); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	for ev := range b.Events() {
		if ev.Type == client.TypeMessage && ev.Text == fmt.Sprint("ping ", got) {
			if got++; got == 5 {
				break
			}
		}
	}
}

func TestTokenSubcommand(t *testing.T) {
	secret := "token-secret-0123456789-0123456789-abc"
	var out strings.Builder
	env := func(k string) string {
		return map[string]string{"HEARTH_JWT_SECRET": secret, "HEARTH_JWT_ISSUER": "clinic"}[k]
	}
	if err := run(context.Background(), []string{"token", "-sub", "u1", "-role", "facilitator", "-ttl", "8h"}, env, &out); err != nil {
		t.Fatal(err)
	}
	v, _ := auth.NewVerifier(auth.Config{Secret: []byte(secret), Issuer: "clinic"})
	id, err := v.Verify(strings.TrimSpace(out.String()))
	if err != nil || id.UserID != "u1" || id.Role != "facilitator" || time.Until(id.Expires) < 7*time.Hour {
		t.Fatalf("minted token verifies as %+v, %v", id, err)
	}
	err = run(context.Background(), []string{"token", "-sub", "u1"}, func(string) string { return "" }, &out)
	if err == nil || !strings.Contains(err.Error(), "HEARTH_JWT_SECRET") {
		t.Fatalf("without a secret: %v", err)
	}
	// Refused, not silently minted: a token that outlives any need, and a
	// stray argument that was meant as a flag.
	for _, args := range [][]string{{"token", "-sub", "u1", "-ttl", "100000h"}, {"token", "-sub", "u1", "facilitator"}} {
		out.Reset()
		if err := run(context.Background(), args, env, &out); err == nil || out.Len() != 0 {
			t.Errorf("%q: err %v, printed %q; want an error and no token", args, err, out.String())
		}
	}
}

func TestServerRefusesToStartWithoutSecret(t *testing.T) {
	err := run(context.Background(), nil, func(string) string { return "" }, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "HEARTH_JWT_SECRET is not set") {
		t.Fatalf("run without a secret: %v", err)
	}
}
