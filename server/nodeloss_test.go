package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hearth/client"
	"hearth/internal/auth"
	"hearth/internal/redistest"
)

// logBuffer collects a process's stdout and stderr, safe for the two
// copying goroutines of exec.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startLogged is startProcess keeping everything the process writes, on
// stdout and stderr, for the canary check; it returns once the process
// has printed its four -dev links.
func startLogged(t *testing.T, bin string, env []string, args ...string) (*exec.Cmd, string, *logBuffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &logBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := linkRE.FindAllStringSubmatch(out.String(), -1); len(m) == 4 {
			return cmd, m[0][2], out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server printed no links within 30s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// resumer is a member's client the way an application uses hearth/client:
// it keeps the epoch of its joined reply and the highest seq seen, and
// after a drop joins again with JoinOptions.ResumeFrom.
type resumer struct {
	t     *testing.T
	name  string
	token string
	c     *client.Client
	epoch string
	point uint64   // the resume point: highest seq seen, joined.seq counted once its replay is in
	last  uint64   // the highest seq of an event received, for the order check
	texts []string // the messages received, in order
}

// take checks and records one event.
func (r *resumer) take(ev client.Event) {
	r.t.Helper()
	if ev.Seq > 0 && ev.ID == "" {
		if ev.Seq <= r.last {
			r.t.Fatalf("%s: seq %d after %d: twice or out of order (%s %q)", r.name, ev.Seq, r.last, ev.Type, ev.Text)
		}
		r.last, r.point = ev.Seq, max(r.point, ev.Seq)
	}
	if ev.Type == client.TypeMessage {
		r.texts = append(r.texts, ev.Text)
	}
}

// until takes events until one matches, failing after 30 s or when the
// connection ends first.
func (r *resumer) until(ctx context.Context, match func(client.Event) bool) {
	r.t.Helper()
	for {
		select {
		case ev, ok := <-r.c.Events():
			if !ok {
				r.t.Fatalf("%s: the connection ended (%d) while waiting", r.name, r.c.CloseStatus())
			}
			r.take(ev)
			if match(ev) {
				return
			}
		case <-ctx.Done():
			r.t.Fatalf("%s: nothing awaited arrived: %v", r.name, ctx.Err())
		}
	}
}

// dropped waits until the connection has ended and takes what arrived
// before.
func (r *resumer) dropped(ctx context.Context) {
	r.t.Helper()
	for {
		select {
		case ev, ok := <-r.c.Events():
			if !ok {
				if code := r.c.CloseStatus(); !client.Reconnect(code) {
					r.t.Fatalf("%s: closed with %d, which is not a reconnect code", r.name, code)
				}
				return
			}
			r.take(ev)
		case <-ctx.Done():
			r.t.Fatalf("%s: still connected to the killed node", r.name)
		}
	}
}

// resume connects to url and joins the demo room again from the resume
// point: nothing may be missing (gap false, same epoch).
func (r *resumer) resume(ctx context.Context, url string) {
	r.t.Helper()
	c, err := client.Dial(ctx, url, r.token, nil)
	if err != nil {
		r.t.Fatalf("%s: reconnect: %v", r.name, err)
	}
	r.t.Cleanup(func() { _ = c.Close() })
	r.c = c
	j, err := c.Join(ctx, "demo", r.name, &client.JoinOptions{ResumeFrom: &client.ResumePoint{Epoch: r.epoch, Seq: r.point}})
	if err != nil {
		r.t.Fatalf("%s: resume: %v", r.name, err)
	}
	if j.Resume == nil || j.Resume.Gap || j.Epoch != r.epoch {
		r.t.Fatalf("%s: resume from %s/%d answered epoch %s, %+v; want everything recovered", r.name, r.epoch, r.point, j.Epoch, j.Resume)
	}
	for range j.Resume.Replayed {
		select {
		case ev := <-c.Events():
			r.take(ev)
		case <-ctx.Done():
			r.t.Fatalf("%s: the replay did not arrive", r.name)
		}
	}
	r.point = max(r.point, j.Seq)
}

// A node killed with SIGKILL — two real server processes over one private
// Redis, the room's members on the node that dies, their facilitator on
// the other — loses nobody anything: the members reconnect to the
// surviving node with ResumeFrom and get, exactly once and in order, every
// message sent meanwhile (while the node was dying, between their
// reconnects, and after), then live ones. A canary message sent while the
// node is dead reaches no log of either process (stdout and stderr, at
// debug level), no file of theirs or Redis's, and no Redis key once the
// session has ended.
func TestNodeKilledMembersResumeOnTheOtherNode(t *testing.T) {
	rds := redistest.Start(t)
	bin := buildServer(t)
	secret := "nodeloss-secret-0123456789-0123456789-ab"
	env := []string{"HEARTH_JWT_SECRET=" + secret, "HEARTH_REDIS_URL=" + rds.URL(), "HEARTH_LOG_LEVEL=debug"}
	dataA, dataB := t.TempDir(), t.TempDir()
	cmdA, baseA, logA := startLogged(t, bin, env, "-dev", "-addr", "127.0.0.1:0", "-data", dataA)
	cmdB, baseB, logB := startLogged(t, bin, env, "-dev", "-addr", "127.0.0.1:0", "-data", dataB)
	wsA, wsB := "ws"+strings.TrimPrefix(baseA, "http")+"ws", "ws"+strings.TrimPrefix(baseB, "http")+"ws"
	canary := "canary-nodeloss-" + rand.Text()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tok := func(sub, role string) string {
		s, err := auth.Mint(auth.Config{Secret: []byte(secret)}, sub, role, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	fac, err := client.Dial(ctx, wsB, tok("dev-facilitator", "facilitator"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fac.Close()
	go func() { // the facilitator reads nothing here; keep its events flowing
		for range fac.Events() {
		}
	}()
	if _, err := fac.Join(ctx, "demo", "Dr. Lee", nil); err != nil {
		t.Fatal(err)
	}
	var members []*resumer
	for i, name := range []string{"Robin", "Sam"} {
		r := &resumer{t: t, name: name, token: tok(fmt.Sprint("dev-member-", i+1), "member")}
		if r.c, err = client.Dial(ctx, wsA, r.token, nil); err != nil {
			t.Fatal(err)
		}
		j := joinAccepting(ctx, t, r.c, "demo", name)
		r.epoch, r.point = j.Epoch, j.Seq
		members = append(members, r)
	}
	var want []string
	say := func(text string) {
		t.Helper()
		for { // as a person typing: at most a few messages a second
			_, err := fac.Send(ctx, "demo", text)
			var se *client.ServerError
			if errors.As(err, &se) && se.Code == "rate_limited" {
				time.Sleep(250 * time.Millisecond)
				continue
			}
			if err != nil {
				t.Fatalf("send %q: %v", text, err)
			}
			break
		}
		want = append(want, text)
	}
	for i := range 3 {
		say(fmt.Sprint("before ", i))
	}
	for _, m := range members {
		m.until(ctx, func(ev client.Event) bool { return ev.Text == "before 2" })
	}

	if err := cmdA.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmdA.Wait()
	for i := range 10 { // while the members' connections are dying
		text := fmt.Sprint("meanwhile ", i)
		if i == 5 {
			text += " " + canary
		}
		say(text)
	}
	for _, m := range members {
		m.dropped(ctx)
	}
	members[0].resume(ctx, wsB)
	for i := range 5 { // one member back, the other not yet
		say(fmt.Sprint("between ", i))
	}
	members[1].resume(ctx, wsB)
	for i := range 5 {
		say(fmt.Sprint("after ", i))
	}
	for _, m := range members {
		m.until(ctx, func(ev client.Event) bool { return ev.Text == "after 4" })
		if strings.Join(m.texts, "|") != strings.Join(want, "|") {
			t.Errorf("%s received, in this order:\n%q\nwant, each once:\n%q", m.name, m.texts, want)
		}
	}

	if _, err := fac.Request(ctx, map[string]any{"type": "end_session", "room": "demo", "force": true}); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		m.until(ctx, func(ev client.Event) bool { return ev.Type == "session_ended" })
	}
	if err := cmdB.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmdB.Wait(); err != nil {
		t.Fatalf("the surviving node's exit after SIGTERM: %v", err)
	}

	for name, logs := range map[string]string{"the killed node's log": logA.String(), "the surviving node's log": logB.String()} {
		if !strings.Contains(logs, "level=DEBUG") || !strings.Contains(logs, "msg=joined") {
			t.Fatalf("%s has no debug lines about joins: the check below would be blind:\n%s", name, logs)
		}
		noCanary(t, name, logs, canary)
	}
	noCanary(t, "Redis", rds.Contents(t), canary)
	for _, dir := range []string{dataA, dataB, rds.Dir()} {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			noCanary(t, path, string(b), canary)
			return nil
		})
	}
}

// noCanary fails the test if what holds canary.
func noCanary(t *testing.T, where, what, canary string) {
	t.Helper()
	if i := strings.Index(what, canary); i >= 0 {
		t.Errorf("%s holds the canary: …%s…", where, what[max(0, i-200):min(len(what), i+len(canary)+200)])
	}
}
