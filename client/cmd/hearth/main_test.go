package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"hearth/client"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Hello everyone", "Hello everyone"},
		{"unicode kept", "Grüße 👋🏽 日本語 👩‍👩‍👧", "Grüße 👋🏽 日本語 👩‍👩‍👧"},
		{"ESC sequence", "hi \x1b[2J\x1b]0;pwned\x07", `hi \x1b[2J\x1b]0;pwned\x07`},
		{"newline, CR and tab", "a\nb\rc\td", `a\x0ab\x0dc\x09d`},
		{"NUL and DEL", "a\x00b\x7f", `a\x00b\x7f`},
		{"C1 CSI and OSC", "a\u009b31mb\u009d", `a\x9b31mb\x9d`},
		{"bidi override", "abc\u202edcba", `abc\u202edcba`},
		{"bidi isolate", "\u2066x\u2069", `\u2066x\u2069`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"raw C1 byte is invalid UTF-8", "a\x9bb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sanitize(tt.in)
			if got != tt.want {
				t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, r := range got {
				if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
					t.Errorf("sanitize(%q) still holds control %U", tt.in, r)
				}
			}
		})
	}
}

func TestMessageLines(t *testing.T) {
	ts := time.Date(2026, 11, 29, 17, 42, 19, 123e6, time.UTC)
	robin := client.Member{MemberID: "k3v9", DisplayName: "Robin", Role: client.RoleMember}
	lee := client.Member{MemberID: "p0a8", DisplayName: "Dr. Lee", Role: client.RoleFacilitator}
	tests := []struct {
		name string
		ts   time.Time
		from client.Member
		text string
		want []string
	}{
		{"member", ts, robin, "Hello everyone", []string{"[17:42:19] Robin: Hello everyone"}},
		{"facilitator", ts, lee, "Welcome", []string{"[17:42:19] Dr. Lee (facilitator): Welcome"}},
		{"multi-line", ts, robin, "one\r\ntwo\nthree", []string{"[17:42:19] Robin: one", "           two", "           three"}},
		{"hostile text", ts, robin, "\x1b[31mred", []string{`[17:42:19] Robin: \x1b[31mred`}},
		{"hostile name", ts, client.Member{DisplayName: "Eve\x1b[2J"}, "hi", []string{`[17:42:19] Eve\x1b[2J: hi`}},
		{"no time", time.Time{}, robin, "hi", []string{"[--:--:--] Robin: hi"}},
		{"empty name", ts, client.Member{}, "hi", []string{"[17:42:19] someone: hi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := messageLines(tt.ts, tt.from, tt.text)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("messageLines = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestView(t *testing.T) {
	v := newView("demo", time.UTC)
	robin := client.Member{MemberID: "k3v9", DisplayName: "Robin", Role: client.RoleMember}
	lee := client.Member{MemberID: "p0a8", DisplayName: "Dr. Lee", Role: client.RoleFacilitator}
	sam := client.Member{MemberID: "s4m0", DisplayName: "Sam", Role: client.RoleMember}

	if got := v.joined(client.Joined{Room: "demo", You: robin, Members: []client.Member{robin}}, false); got[0] != "* You joined demo as Robin. No one else is here yet." {
		t.Errorf("joined alone = %q", got)
	}
	got := v.joined(client.Joined{Room: "demo", You: robin, Members: []client.Member{robin, lee}}, false)
	if want := "* You joined demo as Robin. Here now: Dr. Lee (facilitator)."; got[0] != want {
		t.Errorf("joined = %q, want %q", got, want)
	}

	steps := []struct {
		ev   client.Event
		want []string
	}{
		{client.Event{Type: "message", Room: "demo", Seq: 1, From: lee, Text: "Hello", TS: "2026-11-29T17:42:19.123Z"}, []string{"[17:42:19] Dr. Lee (facilitator): Hello"}},
		{client.Event{Type: "member_joined", Room: "demo", Seq: 2, Member: sam}, []string{"* Sam joined"}},
		{client.Event{Type: "member_joined", Room: "demo", Seq: 3, Member: robin}, nil}, // ourselves: already announced
		{client.Event{Type: "member_left", Room: "demo", Seq: 4, MemberID: "s4m0"}, []string{"* Sam left"}},
		{client.Event{Type: "member_left", Room: "demo", Seq: 5, MemberID: "p0a8"}, []string{"* Dr. Lee (facilitator) left"}},
		{client.Event{Type: "member_left", Room: "demo", Seq: 6, MemberID: "zzzz"}, []string{"* someone left"}},
		{client.Event{Type: "message", Room: "other", Seq: 9, From: sam, Text: "elsewhere"}, nil},
		{client.Event{Type: "error", Code: "text_too_long", Message: "A message can be at most 4000 characters long."}, []string{"! error text_too_long: A message can be at most 4000 characters long."}},
		{client.Event{Type: "member_joined", Room: "demo", Seq: 9, Member: sam}, []string{"* (2 room events were missed)", "* Sam joined"}},
		{client.Event{Type: "pong", ID: "x"}, nil},
	}
	for i, s := range steps {
		if got := v.event(s.ev); strings.Join(got, "|") != strings.Join(s.want, "|") {
			t.Errorf("step %d (%s): lines = %q, want %q", i, s.ev.Type, got, s.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	ch := &chat{minDelay: 500 * time.Millisecond, maxDelay: 30 * time.Second}
	for n, hi := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second} {
		for range 50 {
			if d := ch.backoff(n); d < hi/2 || d > hi {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, d, hi/2, hi)
			}
		}
	}
	if d := ch.backoff(1000); d < 15*time.Second || d > 30*time.Second {
		t.Errorf("backoff(1000) = %v", d)
	}
}

func TestRunArguments(t *testing.T) {
	noEnv := func(string) string { return "" }
	tests := []struct {
		name string
		args []string
		env  func(string) string
		want string
	}{
		{"unknown command", []string{"dance"}, noEnv, `unknown command "dance"`},
		{"no room", []string{"-token", "x"}, noEnv, "-room is required"},
		{"no token", []string{"-room", "demo"}, noEnv, "no token"},
		{"bad url", []string{"-room", "demo", "-token", "x", "-url", "http://x/ws"}, noEnv, "ws:// or wss://"},
		{"empty name", []string{"chat", "-room", "demo"}, func(string) string { return "tok" }, "display name is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := run(t.Context(), tt.args, tt.env, strings.NewReader("\n"), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// chatServer is a small protocol v1 server for end-to-end tests of run.
// Connection n (from 1) is handled by script(n, …).
type chatServer struct {
	*httptest.Server
	conns    atomic.Int32
	handlers sync.WaitGroup
	script   func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string))
}

func newChatServer(t *testing.T, script func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string))) *chatServer {
	cs := &chatServer{script: script}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.handlers.Add(1)
		defer cs.handlers.Done()
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{client.Subprotocol}})
		if err != nil {
			return
		}
		defer func() { _ = conn.CloseNow() }()
		ctx := r.Context()
		recv := func() map[string]any {
			var f map[string]any
			_, data, err := conn.Read(ctx)
			if err != nil {
				return nil
			}
			_ = json.Unmarshal(data, &f)
			return f
		}
		send := func(lines ...string) {
			_ = conn.Write(ctx, websocket.MessageText, []byte(strings.Join(lines, "\n")))
		}
		cs.script(ctx, int(cs.conns.Add(1)), conn, recv, send)
	}))
	t.Cleanup(func() {
		cs.Close()
		cs.handlers.Wait()
	})
	return cs
}

func (cs *chatServer) wsURL() string { return "ws" + strings.TrimPrefix(cs.URL, "http") + "/ws" }

// welcomeAndJoin answers auth and join like the real server, and returns
// the join frame.
func welcomeAndJoin(recv func() map[string]any, send func(...string), others ...string) map[string]any {
	auth := recv()
	send(`{"type":"welcome","id":` + strconv.Quote(str(auth["id"])) + `,"role":"member","heartbeat_ms":25000}`)
	join := recv()
	me := `{"member_id":"k3v9","display_name":` + strconv.Quote(str(join["display_name"])) + `,"role":"member"}`
	members := append([]string{me}, others...)
	send(`{"type":"joined","id":` + strconv.Quote(str(join["id"])) + `,"room":"demo","you":` + me + `,"members":[` + strings.Join(members, ",") + `]}`)
	return join
}

func str(v any) string { s, _ := v.(string); return s }

// syncBuffer is an io.Writer whose contents can be read while run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until out matches re.
func waitFor(t *testing.T, out *syncBuffer, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(5 * time.Second)
	for !rx.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("output never matched %q:\n%s", re, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunChat(t *testing.T) {
	const lee = `{"member_id":"p0a8","display_name":"Dr. Lee","role":"facilitator"}`
	var sent []string
	var mu sync.Mutex
	cs := newChatServer(t, func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string)) {
		welcomeAndJoin(recv, send, lee)
		send(
			`{"seq":1,"type":"member_joined","room":"demo","member":{"member_id":"s4m0","display_name":"Sam","role":"member"},"ts":"2026-11-29T17:42:20.001Z"}`,
			`{"seq":2,"type":"message","room":"demo","message_id":"m1","from":{"member_id":"s4m0","display_name":"Sam","role":"member"},"text":"\u001b[2Jgotcha","ts":"2026-11-29T17:42:21.000Z"}`,
			`{"seq":3,"type":"member_left","room":"demo","member_id":"s4m0","ts":"2026-11-29T17:42:22.000Z"}`,
		)
		for {
			f := recv()
			if f == nil {
				return
			}
			id := strconv.Quote(str(f["id"]))
			switch f["type"] {
			case "send":
				text := str(f["text"])
				mu.Lock()
				sent = append(sent, text)
				mu.Unlock()
				if len(text) > 20 {
					send(`{"type":"error","id":` + id + `,"room":"demo","code":"text_too_long","message":"A message can be at most 20 characters long."}`)
					continue
				}
				send(`{"type":"ok","id":`+id+`,"room":"demo","message_id":"m2","seq":4}`,
					`{"seq":4,"type":"message","room":"demo","message_id":"m2","from":{"member_id":"k3v9","display_name":"Robin","role":"member"},"text":`+strconv.Quote(text)+`,"ts":"2026-11-29T17:42:23.000Z"}`)
			case "leave":
				send(`{"type":"ok","id":` + id + `,"room":"demo"}`)
			}
		}
	})

	stdin, typing := io.Pipe()
	defer stdin.Close()
	var out syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- run(t.Context(), []string{"-url", cs.wsURL(), "-room", "demo"}, func(k string) string {
			if k == "HEARTH_TOKEN" {
				return "tok"
			}
			return ""
		}, stdin, &out)
	}()

	type step struct{ typed, want string }
	for _, s := range []step{
		{"Robin\n", `\* You joined demo as Robin\. Here now: Dr\. Lee \(facilitator\)\.`},
		{"", `\* Sam joined\n\[\d\d:\d\d:\d\d\] Sam: \\x1b\[2Jgotcha\n\* Sam left\n`},
		{"\n   \nHello everyone\n", `\[\d\d:\d\d:\d\d\] Robin: Hello everyone\n`},
		{"this message is much too long\n", `! error text_too_long: A message can be at most 20 characters long\.\n`},
		{"/quit\n", `\* You left demo\.\n`},
	} {
		if s.typed != "" {
			if _, err := io.WriteString(typing, s.typed); err != nil {
				t.Fatalf("typing %q: %v", s.typed, err)
			}
		}
		waitFor(t, &out, s.want)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after /quit")
	}
	_ = typing.Close()
	if !strings.HasPrefix(out.String(), "Display name: ") {
		t.Errorf("output does not start with the prompt:\n%s", out.String())
	}
	if strings.ContainsRune(out.String(), 0x1b) {
		t.Error("an ESC character reached the terminal")
	}
	if strings.Contains(out.String(), "tok") {
		t.Error("the token was printed")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(sent, "|") != "Hello everyone|this message is much too long" {
		t.Errorf("server received sends %q; empty lines must be skipped", sent)
	}
}

// TestRunReconnect checks that a restart close (1012) leads to a reconnect
// and rejoin, and that a refused token (4401) then ends run with the
// message to get a new link.
func TestRunReconnect(t *testing.T) {
	var joins atomic.Int32
	cs := newChatServer(t, func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string)) {
		switch n {
		case 1, 2:
			welcomeAndJoin(recv, send)
			joins.Add(1)
			_ = conn.Close(websocket.StatusServiceRestart, "service restart")
		default:
			auth := recv()
			send(`{"type":"error","id":` + strconv.Quote(str(auth["id"])) + `,"code":"token_expired","message":"Your sign-in token has expired. Please get a new link."}`)
			_ = conn.Close(4401, "unauthorized")
		}
	})
	stdin, typing := io.Pipe()
	defer typing.Close()
	var out syncBuffer
	c := &chat{
		url: cs.wsURL(), token: "tok", room: "demo", name: "Robin",
		in:       bufio.NewReader(stdin),
		out:      &printer{w: &out},
		view:     newView("demo", time.UTC),
		minDelay: 10 * time.Millisecond, maxDelay: 40 * time.Millisecond,
	}

	err := c.run(t.Context())
	var fe *finalError
	if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), tokenRefused) {
		t.Fatalf("run error = %v, want %q", err, tokenRefused)
	}
	if got := joins.Load(); got != 2 {
		t.Errorf("joins = %d, want 2", got)
	}
	want := []string{
		"* You joined demo as Robin.",
		"* connection lost (the server is restarting); reconnecting in",
		"* Reconnected to demo.",
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	_ = typing.Close()
}

func TestDialFailure(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		final bool
		msg   string
	}{
		{"4401", &client.DialError{CloseStatus: 4401}, true, tokenRefused},
		{"expired", &client.DialError{Server: &client.ServerError{Code: "token_expired", Message: "expired"}, CloseStatus: 4401}, true, tokenRefused + " (expired)"},
		{"bearer 401", &client.DialError{HTTPStatus: 401}, true, tokenRefused},
		{"origin", &client.DialError{HTTPStatus: 403, Server: &client.ServerError{Code: "origin_refused", Message: "no"}}, true, "the server refused the connection (HTTP 403): no"},
		{"bad gateway", &client.DialError{HTTPStatus: 502}, false, "the server is unavailable (HTTP 502)"},
		{"restart during auth", &client.DialError{CloseStatus: 1012}, false, "connection lost while signing in (the server is restarting)"},
		{"protocol error", &client.DialError{CloseStatus: 1002}, true, closeMessage(1002)},
		{"network", &client.DialError{Err: errors.New("connection refused")}, false, "cannot connect: client: dial: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dialFailure(tt.err)
			var re *retryError
			if final := !errors.As(err, &re); final != tt.final {
				t.Errorf("final = %v, want %v", final, tt.final)
			}
			if err.Error() != tt.msg {
				t.Errorf("message = %q, want %q", err.Error(), tt.msg)
			}
		})
	}
}
