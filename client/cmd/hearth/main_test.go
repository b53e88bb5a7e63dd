package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

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
	return welcomeAndJoinWith(recv, send, "", others...)
}

// welcomeAndJoinWith is welcomeAndJoin with extra fields for joined, such
// as `,"state":{…},"share":{…}`.
func welcomeAndJoinWith(recv func() map[string]any, send func(...string), extra string, others ...string) map[string]any {
	auth := recv()
	send(`{"type":"welcome","id":` + strconv.Quote(str(auth["id"])) + `,"role":"member","heartbeat_ms":25000}`)
	join := recv()
	me := `{"member_id":"k3v9","display_name":` + strconv.Quote(str(join["display_name"])) + `,"role":"member"}`
	members := append([]string{me}, others...)
	send(`{"type":"joined","id":` + strconv.Quote(str(join["id"])) + `,"room":"demo","you":` + me + `,"members":[` + strings.Join(members, ",") + `]` + extra + `}`)
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

func TestParseInput(t *testing.T) {
	tests := []struct {
		line string
		kind inputKind
		text string // message text or unknown word
		cmd  string // command name
	}{
		{"", inputEmpty, "", ""},
		{"   ", inputEmpty, "", ""},
		{"Hello everyone", inputMessage, "Hello everyone", ""},
		{"  indented", inputMessage, "  indented", ""},
		{"I feel 1/2 better", inputMessage, "I feel 1/2 better", ""},
		{"/hand", inputCommand, "", "/hand"},
		{"  /HAND  ", inputCommand, "", "/hand"},
		{"/lower", inputCommand, "", "/lower"},
		{"/pass", inputCommand, "", "/pass"},
		{"/listen", inputCommand, "", "/listen"},
		{"/takepart", inputCommand, "", "/takepart"},
		{"/help", inputHelp, "", ""},
		{"/quit", inputQuit, "", ""},
		{"/hnad", inputUnknown, "/hnad", ""},
		{"/hand please", inputUnknown, "/hand please", ""},
		{"/", inputUnknown, "/", ""},
		{"//shrug", inputMessage, "/shrug", ""},
		{"  //etc/hosts is a path", inputMessage, "/etc/hosts is a path", ""},
	}
	for _, tt := range tests {
		in := parseInput(tt.line)
		name := ""
		if in.cmd != nil {
			name = in.cmd.name
		}
		if in.kind != tt.kind || in.text != tt.text || name != tt.cmd {
			t.Errorf("parseInput(%q) = kind %d, text %q, cmd %q; want kind %d, text %q, cmd %q", tt.line, in.kind, in.text, name, tt.kind, tt.text, tt.cmd)
		}
	}
	if got := unknownLine("/x\x1b[2J"); strings.ContainsRune(got, 0x1b) {
		t.Errorf("unknownLine let ESC through: %q", got)
	}
}

// TestViewSharing checks the lines for the room's mode, the floor, the raised
// hands, listeners and the time box, as a member and as a facilitator.
func TestViewSharing(t *testing.T) {
	robin := client.Member{MemberID: "k3v9", DisplayName: "Robin", Role: client.RoleMember}
	ben := client.Member{MemberID: "b3n0", DisplayName: "Ben", Role: client.RoleMember}
	cleo := client.Member{MemberID: "c1e0", DisplayName: "Cleo", Role: client.RoleMember}
	eve := client.Member{MemberID: "e4e4", DisplayName: "Eve\x1b[2J", Role: client.RoleMember}
	lee := client.Member{MemberID: "p0a8", DisplayName: "Dr. Lee", Role: client.RoleFacilitator}
	share := func(v uint64, floor string, queue, observers []string) *client.Share {
		return &client.Share{Version: v, Floor: floor, Queue: queue, Observers: observers}
	}
	queue := func(seq uint64, s *client.Share) client.Event {
		return client.Event{Type: client.TypeQueue, Room: "demo", Seq: seq, Share: s}
	}
	mode := func(seq uint64, m string) client.Event {
		return client.Event{Type: client.TypeRoomState, Room: "demo", Seq: seq, State: &client.RoomState{Phase: "open", Mode: m}}
	}

	v := newView("demo", time.UTC)
	got := v.joined(client.Joined{Room: "demo", You: robin, Members: []client.Member{robin, ben, cleo, eve, lee},
		State: &client.RoomState{Phase: "open", Mode: client.ModeOpen},
		Share: share(5, "", []string{"b3n0"}, []string{"c1e0"})}, false)
	want := []string{
		`* You joined demo as Robin. Here now: Ben, Cleo, Eve\x1b[2J, Dr. Lee (facilitator).`,
		"* Type /help for the commands.",
		"* The group is in open sharing.",
		"* Hands raised: Ben",
		"* Listening: Cleo",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("joined lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	steps := []struct {
		name string
		ev   client.Event
		want []string
	}{
		{"same mode again", mode(1, client.ModeOpen), nil},
		{"rounds", mode(2, client.ModeRounds), []string{"* The group is taking turns."}},
		{"my hand goes up", queue(3, share(6, "", []string{"b3n0", "k3v9"}, []string{"c1e0"})), []string{"* Hands raised: Ben, you"}},
		{"same state again", queue(4, share(6, "", []string{"b3n0", "k3v9"}, []string{"c1e0"})), nil},
		{"Ben gets the floor", queue(5, share(7, "b3n0", []string{"k3v9"}, []string{"c1e0"})), []string{"* Ben has the floor.", "* Hands raised: you"}},
		{"an older state is ignored", queue(6, share(6, "", []string{"b3n0", "k3v9"}, nil)), nil},
		{"I get the floor", queue(7, share(9, "k3v9", []string{}, []string{"c1e0"})), []string{"* You have the floor. (/pass hands it back)", "* No hands are raised now."}},
		{"my time box", client.Event{Type: client.TypeTimerElapsed, Room: "demo", MemberID: "k3v9", TimerSec: 120}, []string{"* Your time is up — take the time you need to finish."}},
		{"floor free", queue(8, share(10, "", []string{}, []string{"c1e0"})), []string{"* The floor is free."}},
		{"hostile name raises a hand", queue(9, share(11, "", []string{"e4e4", "zzzz"}, []string{"c1e0"})), []string{`* Hands raised: Eve\x1b[2J, someone`}},
		{"Cleo takes part, Eve listens", queue(10, share(12, "", []string{}, []string{"e4e4"})), []string{"* No hands are raised now.", `* Listening: Eve\x1b[2J`}},
		{"nobody listens", queue(11, share(13, "", []string{}, []string{})), []string{"* No one is just listening now."}},
		{"I listen: not a change in who else listens", queue(12, share(14, "", []string{}, []string{"k3v9"})), nil},
		{"Cleo joins me listening", queue(13, share(15, "", []string{}, []string{"k3v9", "c1e0"})), []string{"* Listening: Cleo"}},
		{"Cleo stops", queue(14, share(16, "", []string{}, []string{"k3v9"})), []string{"* No one else is just listening."}},
		{"session ends: no mode line", mode(15, ""), nil},
		{"open again", mode(16, client.ModeOpen), []string{"* The group is in open sharing."}},
		{"another room's queue", client.Event{Type: client.TypeQueue, Room: "other", Share: share(99, "k3v9", nil, nil)}, nil},
	}
	for _, s := range steps {
		if got := v.event(s.ev); strings.Join(got, "|") != strings.Join(s.want, "|") {
			t.Errorf("%s: lines = %q, want %q", s.name, got, s.want)
		}
	}
	if !v.observing() {
		t.Error("observing() = false after the state listed me as an observer")
	}

	// A facilitator is told, privately, when a member's time box runs out.
	f := newView("demo", time.UTC)
	f.joined(client.Joined{Room: "demo", You: lee, Members: []client.Member{lee, ben},
		Share: share(1, "b3n0", nil, nil)}, false)
	if got := f.event(client.Event{Type: client.TypeTimerElapsed, Room: "demo", MemberID: "b3n0", TimerSec: 60}); len(got) != 1 || !strings.HasPrefix(got[0], "* Ben's time is up") {
		t.Errorf("facilitator's timer line = %q", got)
	}

	// Joining as an observer says so, once.
	o := newView("demo", time.UTC)
	got = o.joined(client.Joined{Room: "demo", You: robin, Members: []client.Member{robin},
		Share: share(1, "", nil, []string{"k3v9"})}, false)
	if !slices.Contains(got, "* You are just listening. (/takepart to take part)") || slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "* Listening") }) {
		t.Errorf("joined as observer: %q", got)
	}
}

// sharingServer is a chatServer that answers the sharing commands roughly
// like the real server, recording every frame it receives. After the first
// raise_hand it also plays a facilitator switching to rounds and giving the
// floor to the member (with a stale queue event and a time box notice).
func sharingServer(t *testing.T, frames *[]map[string]any, mu *sync.Mutex) *chatServer {
	const (
		ben  = `{"member_id":"b3n0","display_name":"Ben","role":"member"}`
		cleo = `{"member_id":"c1e0","display_name":"Cleo","role":"member"}`
		lee  = `{"member_id":"p0a8","display_name":"Dr. Lee","role":"facilitator"}`
	)
	return newChatServer(t, func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string)) {
		join := welcomeAndJoinWith(recv, send,
			`,"state":{"type":"room_state","room":"demo","phase":"open","locked":false,"slow_mode_sec":0,"waiting_room":false,"mode":"open"}`+
				`,"share":{"type":"queue","room":"demo","version":5,"queue":["b3n0"],"observers":["c1e0"]}`,
			ben, cleo, lee)
		mu.Lock()
		*frames = append(*frames, join)
		mu.Unlock()
		seq, version := 0, 5
		observing, raised := false, 0
		queue := func(floor string, q, obs []string) string {
			seq++
			version++
			b, _ := json.Marshal(map[string]any{"seq": seq, "type": "queue", "room": "demo", "version": version, "floor": floor, "queue": q, "observers": obs})
			return string(b)
		}
		observers := func() []string {
			if observing {
				return []string{"c1e0", "k3v9"}
			}
			return []string{}
		}
		for {
			f := recv()
			if f == nil {
				return
			}
			mu.Lock()
			*frames = append(*frames, f)
			mu.Unlock()
			id := strconv.Quote(str(f["id"]))
			ok := `{"type":"ok","id":` + id + `,"room":"demo"}`
			switch f["type"] {
			case "raise_hand":
				if observing {
					send(`{"type":"error","id":` + id + `,"room":"demo","code":"observer","message":"You are just listening right now. Choose \"Taking part\" if you would like to share."}`)
					continue
				}
				raised++
				send(ok, queue("", []string{"b3n0", "k3v9"}, []string{"c1e0"}))
				if raised == 1 {
					seq++
					send(`{"seq":`+strconv.Itoa(seq)+`,"type":"room_state","room":"demo","phase":"open","locked":false,"slow_mode_sec":0,"waiting_room":false,"mode":"rounds"}`,
						queue("k3v9", []string{"b3n0"}, []string{"c1e0"}))
					version -= 2 // a late, older state: must be ignored
					stale := queue("b3n0", []string{}, []string{"c1e0"})
					version += 2
					send(stale, `{"type":"timer_elapsed","room":"demo","member_id":"k3v9","timer_sec":30}`)
				}
			case "pass":
				send(ok, queue("", []string{"b3n0"}, []string{"c1e0"}))
			case "lower_hand":
				send(ok) // the hand was already down: nothing changed, no queue event
			case "set_presence":
				observing = f["as"] == "observer"
				send(ok, queue("", []string{"b3n0"}, observers()))
			case "send":
				seq++
				send(`{"type":"ok","id":`+id+`,"room":"demo","message_id":"m1","seq":`+strconv.Itoa(seq)+`}`,
					`{"seq":`+strconv.Itoa(seq)+`,"type":"message","room":"demo","message_id":"m1","from":{"member_id":"k3v9","display_name":"Robin","role":"member"},"text":`+strconv.Quote(str(f["text"]))+`,"ts":"2026-11-29T17:42:23.000Z"}`)
			case "leave":
				send(ok)
			default:
				send(`{"type":"error","id":` + id + `,"code":"unknown_type","message":"That frame type is not part of protocol hearth.v1."}`)
			}
		}
	})
}

// TestRunSharing types every sharing command into run and checks the frames
// the server receives and the lines the user sees.
func TestRunSharing(t *testing.T) {
	var (
		mu     sync.Mutex
		frames []map[string]any
	)
	cs := sharingServer(t, &frames, &mu)
	typing, out, errc := startTerminal(t, cs.wsURL(), "-name", "Robin")

	type step struct {
		typed string
		want  []string // each must appear (in any order: replies and events race)
	}
	for _, s := range []step{
		{"", []string{`\* You joined demo as Robin\. Here now: Ben, Cleo, Dr\. Lee \(facilitator\)\.\n\* Type /help for the commands\.\n`,
			`\* The group is in open sharing\.\n`, `\* Hands raised: Ben\n`, `\* Listening: Cleo\n`}},
		{"/help\n", []string{`\* Commands:\n`, `\*   /hand +raise your hand`, `\*   /pass +pass`, `\*   /listen `, `\*   /takepart `, `\*   /quit +leave`}},
		{"/hnad\n", []string{`! /hnad is not a command, so it was not sent\. Type /help`}},
		{"/hand\n", []string{`\* Your hand is raised\. \(/lower to lower it\)\n`, `\* Hands raised: Ben, you\n`,
			`\* The group is taking turns\.\n`, `\* You have the floor\. \(/pass hands it back\)\n`, `\* Hands raised: Ben\n(.|\n)*` +
				`\* Your time is up — take the time you need to finish\.\n`}},
		{"/pass\n", []string{`\* You passed — that's always OK\.\n`, `\* The floor is free\.\n`}},
		{"/lower\n", []string{`\* Your hand is lowered\.\n`}},
		{"/listen\n", []string{`\* You are just listening now\. \(/takepart to take part\)\n`}},
		{"/hand\n", []string{`! error observer: You are just listening right now\. Choose "Taking part" if you would like to share\.\n\* You are just listening: type /takepart to take part\.\n`}},
		{"/takepart\n", []string{`\* You are taking part\.\n`, `\* No one is just listening now\.\n`}},
		{"//shrug\n", []string{`\] Robin: /shrug\n`}},
		{"/quit\n", []string{`\* You left demo\.\n`}},
	} {
		if s.typed != "" {
			if _, err := io.WriteString(typing, s.typed); err != nil {
				t.Fatalf("typing %q: %v", s.typed, err)
			}
		}
		for _, w := range s.want {
			waitFor(t, out, w)
		}
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

	text := out.String()
	for _, never := range []string{"Ben has the floor", "b3n0", "c1e0", "k3v9", "p0a8"} {
		if strings.Contains(text, never) {
			t.Errorf("output contains %q (a stale state, or a member id):\n%s", never, text)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, f := range frames {
		g := str(f["type"])
		if as := str(f["as"]); as != "" {
			g += " as " + as
		}
		if text := str(f["text"]); text != "" {
			g += " " + text
		}
		if f["type"] != "join" && f["room"] != "demo" {
			g += " (room " + str(f["room"]) + ")"
		}
		got = append(got, g)
	}
	want := []string{"join", "raise_hand", "pass", "lower_hand", "set_presence as observer", "raise_hand", "set_presence as participant", "send /shrug", "leave"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("server received %q,\nwant %q (unknown commands and /help are never sent)", got, want)
	}
}

// TestRunObserve checks that -observe joins as an observer, and that a
// listener who is reconnected rejoins still listening.
func TestRunObserve(t *testing.T) {
	var joins []string
	var mu sync.Mutex
	cs := newChatServer(t, func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string)) {
		auth := recv()
		send(`{"type":"welcome","id":` + strconv.Quote(str(auth["id"])) + `,"role":"member","heartbeat_ms":25000}`)
		join := recv()
		mu.Lock()
		joins = append(joins, str(join["as"]))
		mu.Unlock()
		me := `{"member_id":"k3v9","display_name":"Robin","role":"member"}`
		observers := `[]`
		if join["as"] == "observer" {
			observers = `["k3v9"]`
		}
		send(`{"type":"joined","id":` + strconv.Quote(str(join["id"])) + `,"room":"demo","you":` + me + `,"members":[` + me + `],` +
			`"share":{"type":"queue","room":"demo","version":` + strconv.Itoa(n) + `,"queue":[],"observers":` + observers + `}}`)
		if n == 1 {
			_ = conn.Close(websocket.StatusServiceRestart, "service restart")
			return
		}
		for f := recv(); f != nil; f = recv() {
			if f["type"] == "leave" {
				send(`{"type":"ok","id":` + strconv.Quote(str(f["id"])) + `,"room":"demo"}`)
			}
		}
	})
	typing, out, errc := startTerminal(t, cs.wsURL(), "-name", "Robin", "-observe")
	waitFor(t, out, `\* You joined demo as Robin\. No one else is here yet\.\n\* Type /help for the commands\.\n\* You are just listening\. \(/takepart to take part\)\n`)
	waitFor(t, out, `\* Reconnected to demo\. No one else is here yet\.\n\* You are just listening\.`)
	if _, err := io.WriteString(typing, "/quit\n"); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
	_ = typing.Close()
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(joins, ",") != "observer,observer" {
		t.Errorf(`joins had "as" = %q, want observer both times`, joins)
	}
}

// TestRunAgreement checks the group agreement: printed (sanitized, wrapped)
// when the server asks for it, joined with "agree" once the member types
// yes; after a reconnect the remembered version is sent, and when the text
// has changed meanwhile it is shown again, and an answer other than yes
// ends the chat calmly, without joining.
func TestRunAgreement(t *testing.T) {
	var (
		mu     sync.Mutex
		agrees []string
	)
	refusal := func(id, text, version string) string {
		b, _ := json.Marshal(map[string]any{"type": "error", "id": id, "room": "demo", "code": "agreement_required",
			"message": "Please read the group agreement and accept it to join.", "guidelines": map[string]string{"text": text, "version": version}})
		return string(b)
	}
	first := "Our group agreement\n\nWhat is shared here stays here. " + strings.Repeat("We listen. ", 12) + "\n- \x1b[2Jno escapes reach the terminal\n- 988: call or text, any time."
	cs := newChatServer(t, func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string)) {
		auth := recv()
		send(`{"type":"welcome","id":` + strconv.Quote(str(auth["id"])) + `,"role":"member","heartbeat_ms":25000}`)
		for join := recv(); join != nil; join = recv() {
			if join["type"] != "join" {
				continue
			}
			agree := str(join["agree"])
			mu.Lock()
			agrees = append(agrees, agree)
			mu.Unlock()
			id := str(join["id"])
			switch {
			case n == 1 && agree != "v1":
				send(refusal(id, first, "v1"))
			case n == 1:
				me := `{"member_id":"k3v9","display_name":"Robin","role":"member"}`
				send(`{"type":"joined","id":` + strconv.Quote(id) + `,"room":"demo","you":` + me + `,"members":[` + me + `]}`)
				_ = conn.Close(websocket.StatusServiceRestart, "service restart")
				return
			default: // the facilitators changed the text meanwhile
				send(refusal(id, "Our new agreement\n\nBe gentle.", "v2"))
			}
		}
	})
	typing, out, errc := startTerminal(t, cs.wsURL(), "-name", "Robin")

	waitFor(t, out, `^\* Before you join demo, please read the group agreement:\n\n  Our group agreement\n\n  What is shared here stays here\. We listen\.`)
	waitFor(t, out, `\n  - \\x1b\[2Jno escapes reach the terminal\n  - 988: call or text, any time\.\n\nType yes to agree and join, or anything else to leave: $`)
	for _, l := range strings.Split(out.String(), "\n") {
		if n := utf8.RuneCountInString(l); n > agreementWidth+len("Type yes to agree and join, or anything else to leave: ") {
			t.Errorf("line of %d characters: %q", n, l)
		}
	}
	if _, err := io.WriteString(typing, " YES \n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, `\* You joined demo as Robin\. No one else is here yet\.\n`)
	waitFor(t, out, `\* connection lost \(the server is restarting\); reconnecting in .*\n`+
		`\* The group agreement of demo has changed since you accepted it\. Please read it again:\n\n  Our new agreement\n\n  Be gentle\.\n\n`+
		`Type yes to agree and join, or anything else to leave: $`)
	if _, err := io.WriteString(typing, "not now\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, `\* You have not joined demo\. You are welcome to come back whenever you are ready\.\n$`)
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v, want nil (leaving calmly)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after the agreement was declined")
	}
	_ = typing.Close()
	if strings.ContainsRune(out.String(), 0x1b) {
		t.Error("an ESC character reached the terminal")
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(agrees, ","); got != ",v1,v1" {
		t.Errorf(`joins had "agree" = %q, want "", "v1", then the remembered "v1"`, got)
	}
}

// TestRunNameRefused checks that a name typed at the prompt and refused by
// the room is followed by the server's sentence and the prompt again, until
// one is accepted; a name refused after -name ends the chat with the
// sentence.
func TestRunNameRefused(t *testing.T) {
	var (
		mu    sync.Mutex
		names []string
	)
	sentences := map[string]string{
		"Dr. Lee": `"code":"name_reserved","message":"That name is kept for the group's facilitators or for Hearth itself. Please choose another."`,
		"Sam":     `"code":"name_taken","message":"Someone in this group already uses that name, or one that looks the same. Please choose another."`,
		"":        `"code":"name_empty","message":"Please choose a display name."`,
	}
	cs := newChatServer(t, func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string)) {
		auth := recv()
		send(`{"type":"welcome","id":` + strconv.Quote(str(auth["id"])) + `,"role":"member","heartbeat_ms":25000}`)
		for f := recv(); f != nil; f = recv() {
			id := strconv.Quote(str(f["id"]))
			switch f["type"] {
			case "join":
				name := str(f["display_name"])
				mu.Lock()
				names = append(names, name)
				mu.Unlock()
				if s, ok := sentences[name]; ok {
					send(`{"type":"error","id":` + id + `,"room":"demo",` + s + `}`)
					continue
				}
				me := `{"member_id":"k3v9","display_name":` + strconv.Quote(name) + `,"role":"member"}`
				send(`{"type":"joined","id":` + id + `,"room":"demo","you":` + me + `,"members":[` + me + `]}`)
			case "leave":
				send(`{"type":"ok","id":` + id + `,"room":"demo"}`)
			}
		}
	})
	env := func(k string) string { return map[string]string{"HEARTH_TOKEN": "tok"}[k] }

	t.Run("typed", func(t *testing.T) {
		stdin, typing := io.Pipe()
		defer stdin.Close()
		var out syncBuffer
		errc := make(chan error, 1)
		go func() { errc <- run(t.Context(), []string{"-url", cs.wsURL(), "-room", "demo"}, env, stdin, &out) }()
		for _, s := range []struct{ typed, want string }{
			{"", `^Display name: $`},
			{"Dr. Lee\n", `^Display name: ! That name is kept for the group's facilitators or for Hearth itself\. Please choose another\.\nDisplay name: $`},
			{"Sam\n", `Display name: ! Someone in this group already uses that name, or one that looks the same\. Please choose another\.\nDisplay name: $`},
			{"   \n", `Display name: ! Please choose a display name\.\nDisplay name: $`},
			{"  Robin \n", `Display name: \* You joined demo as Robin\. No one else is here yet\.\n`},
			{"/quit\n", `\* You left demo\.\n`},
		} {
			if s.typed != "" {
				if _, err := io.WriteString(typing, s.typed); err != nil {
					t.Fatalf("typing %q: %v", s.typed, err)
				}
			}
			waitFor(t, &out, s.want)
		}
		if err := <-errc; err != nil {
			t.Fatalf("run: %v", err)
		}
		_ = typing.Close()
	})

	t.Run("flag", func(t *testing.T) {
		var out syncBuffer
		err := run(t.Context(), []string{"-url", cs.wsURL(), "-room", "demo", "-name", "Dr. Lee"}, env, strings.NewReader("Robin\n"), &out)
		var fe *finalError
		if !errors.As(err, &fe) || err.Error() != "could not join demo: That name is kept for the group's facilitators or for Hearth itself. Please choose another. (choose another name with -name)" {
			t.Fatalf("run error = %v, want the server's sentence", err)
		}
		if strings.Contains(out.String(), "Display name:") {
			t.Errorf("asked for a name although -name was given:\n%s", out.String())
		}
	})

	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(names, "|"); got != "Dr. Lee|Sam||Robin|Dr. Lee" {
		t.Errorf("joins had names %q", got)
	}
}

// TestRunResume checks resuming after a dropped connection: the rejoin
// carries resume_from (the joined's epoch and the last seq seen), the
// replayed events are printed like live ones, a message that comes twice is
// printed once, and a resume the server cannot serve in full (here a new
// epoch) says that some messages could not be recovered, without a line
// about missed events. After session_ended the next join is a fresh one
// (Robin facilitates here: a member's chat ends with the session).
func TestRunResume(t *testing.T) {
	const lee = `"from":{"member_id":"p0a8","display_name":"Dr. Lee","role":"facilitator"}`
	msg := func(seq int, id, text string) string {
		return `{"seq":` + strconv.Itoa(seq) + `,"type":"message","room":"demo","message_id":"` + id + `",` + lee + `,"text":"` + text + `","ts":"2026-11-29T17:42:21.000Z"}`
	}
	var (
		mu      sync.Mutex
		resumes []string // each join's resume_from, as "epoch/seq" ("-" when absent)
	)
	drop := make([]chan struct{}, 4)
	for i := range drop {
		drop[i] = make(chan struct{})
	}
	cs := newChatServer(t, func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string)) {
		if n > len(drop) {
			return
		}
		auth := recv()
		send(`{"type":"welcome","id":` + strconv.Quote(str(auth["id"])) + `,"role":"member","heartbeat_ms":25000}`)
		join := recv()
		from := "-"
		if rf, ok := join["resume_from"].(map[string]any); ok {
			from = fmt.Sprintf("%v/%v", rf["epoch"], rf["seq"])
		}
		mu.Lock()
		resumes = append(resumes, from)
		mu.Unlock()
		me := `{"member_id":"k3v9","display_name":"Robin","role":"facilitator"}`
		joined := func(extra string) string {
			return `{"type":"joined","id":` + strconv.Quote(str(join["id"])) + `,"room":"demo","you":` + me + `,"members":[` + me + `]` + extra + `}`
		}
		switch n {
		case 1:
			send(joined(`,"epoch":"e1","seq":10`),
				msg(11, "m1", "before the drop"),
				`{"seq":12,"type":"member_joined","room":"demo","member":{"member_id":"s4m0","display_name":"Sam","role":"member"},"ts":"2026-11-29T17:42:20.001Z"}`)
		case 2:
			send(joined(`,"epoch":"e1","seq":16,"resume":{"replayed":4,"gap":false}`),
				msg(13, "m2", "while away 1"),
				`{"seq":14,"type":"member_left","room":"demo","member_id":"s4m0","ts":"2026-11-29T17:42:22.000Z"}`,
				`{"seq":15,"type":"hidden","room":"demo"}`,
				msg(16, "m3", "while away 2"))
			send(msg(17, "m4", "live again"), msg(16, "m3", "while away 2"))
		case 3:
			send(joined(`,"epoch":"e2","seq":3,"resume":{"replayed":0,"gap":true}`), msg(4, "n1", "a fresh start"))
			send(`{"seq":5,"type":"session_ended","room":"demo"}`)
		case 4:
			send(joined(`,"epoch":"e2","seq":6`))
		}
		select {
		case <-drop[n-1]:
		case <-ctx.Done():
		}
		// Returning drops the connection without a close frame (1006).
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
	errc := make(chan error, 1)
	go func() { errc <- c.run(t.Context()) }()

	waitFor(t, &out, `\] Dr\. Lee \(facilitator\): before the drop\n\* Sam joined\n$`)
	close(drop[0])
	waitFor(t, &out, `\* connection lost \(the network connection dropped\); reconnecting in .*\n`+
		`\* Reconnected to demo\. No one else is here yet\.\n`+
		`\[17:42:21\] Dr\. Lee \(facilitator\): while away 1\n`+
		`\* Sam left\n`+
		`\[17:42:21\] Dr\. Lee \(facilitator\): while away 2\n`+
		`\[17:42:21\] Dr\. Lee \(facilitator\): live again\n$`)
	time.Sleep(50 * time.Millisecond) // the repeat of "while away 2" must not be printed
	close(drop[1])
	waitFor(t, &out, `\* Reconnected to demo\. No one else is here yet\.\n`+
		regexp.QuoteMeta(gapLine)+`\n`+
		`\[17:42:21\] Dr\. Lee \(facilitator\): a fresh start\n\* The session has ended\..*\n$`)
	close(drop[2])
	waitFor(t, &out, `a fresh start\n\* The session has ended\..*\n\* connection lost .*\n\* Reconnected to demo\. No one else is here yet\.\n$`)
	close(drop[3])
	_ = typing.Close() // end of input: quit
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return at the end of input")
	}
	text := out.String()
	if n := strings.Count(text, "while away 2"); n != 1 {
		t.Errorf("a replayed message was printed %d times:\n%s", n, text)
	}
	if strings.Contains(text, "were missed") {
		t.Errorf("a resumed stream was reported as missing events:\n%s", text)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(resumes, " "); got != "- e1/12 e1/17 -" {
		t.Errorf("joins resumed from %q, want a fresh join, e1/12, e1/17, then (after session_ended) a fresh join", got)
	}
}

// TestViewResume checks the view's resume point across joins: the
// joined's seq until events come, the last event seen after them, the
// resume point itself while a replay is under way (so a drop during it
// loses nothing), and nothing after the session ended.
func TestViewResume(t *testing.T) {
	v := newView("demo", time.UTC)
	robin := client.Member{MemberID: "k3v9", DisplayName: "Robin", Role: client.RoleMember}
	point := func() string {
		if p := v.resumePoint(); p != nil {
			return fmt.Sprintf("%s/%d", p.Epoch, p.Seq)
		}
		return "-"
	}
	ev := func(seq uint64) client.Event {
		return client.Event{Type: client.TypeMessage, Room: "demo", Seq: seq, MessageID: fmt.Sprint("m", seq), Text: "hi"}
	}
	if got := point(); got != "-" {
		t.Errorf("before joining: %s", got)
	}
	v.joined(client.Joined{Room: "demo", You: robin, Epoch: "e1", Seq: 10}, false)
	if got := point(); got != "e1/10" {
		t.Errorf("after joined: %s, want e1/10", got)
	}
	v.event(client.Event{Type: client.TypeMemberJoined, Room: "demo", Seq: 9, Member: robin}) // held for the joiner
	v.event(ev(11))
	if got := point(); got != "e1/11" {
		t.Errorf("after seq 11: %s", got)
	}
	v.joined(client.Joined{Room: "demo", You: robin, Epoch: "e1", Seq: 20, Resume: &client.Resume{Replayed: 3}}, true)
	if got := point(); got != "e1/11" {
		t.Errorf("replay announced: %s, want still e1/11", got)
	}
	if got := v.event(ev(12)); len(got) != 1 {
		t.Errorf("replayed message: %q", got)
	}
	if got := point(); got != "e1/12" {
		t.Errorf("during the replay: %s, want e1/12", got)
	}
	v.event(ev(13))
	v.event(client.Event{Type: client.TypeHidden, Room: "demo", Seq: 14})
	if got := point(); got != "e1/20" {
		t.Errorf("after the replay: %s, want e1/20", got)
	}
	if got := v.event(ev(11)); got != nil {
		t.Errorf("an event from before the resume point was printed: %q", got)
	}
	v.event(client.Event{Type: "session_ended", Room: "demo", Seq: 21})
	if got := point(); got != "-" {
		t.Errorf("after session_ended: %s, want none", got)
	}
}

// checkinAPI is a fake of the check-in REST API for runCheckin: it records
// each request's method, path, bearer token and body, and answers with
// reply(body) (status and JSON).
type checkinAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []checkinRequest
}

type checkinRequest struct {
	method, path, auth string
	body               map[string]any
}

func newCheckinAPI(t *testing.T, reply func(body map[string]any) (int, string)) *checkinAPI {
	t.Helper()
	api := &checkinAPI{}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := checkinRequest{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization")}
		if r.Method == http.MethodPost {
			_ = json.NewDecoder(r.Body).Decode(&req.body)
		}
		api.mu.Lock()
		api.requests = append(api.requests, req)
		api.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/checkins/moods" {
			_, _ = io.WriteString(w, `{"moods":[{"value":1,"label":"Very low"},{"value":2,"label":"Low"},{"value":3,"label":"Okay"},{"value":4,"label":"Good"},{"value":5,"label":"Very good"}]}`)
			return
		}
		if r.URL.Path != "/api/checkins" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		status, body := reply(req.body)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(api.Close)
	return api
}

func (api *checkinAPI) sent() []checkinRequest {
	api.mu.Lock()
	defer api.mu.Unlock()
	return slices.Clone(api.requests)
}

// storedCheckin answers a post like the real server: the check-in as
// stored, with resources when the note says "end my life".
func storedCheckin(body map[string]any) (int, string) {
	labels := map[float64]string{1: "Very low", 2: "Low", 3: "Okay", 4: "Good", 5: "Very good"}
	mood, _ := body["mood"].(float64)
	if labels[mood] == "" {
		return http.StatusUnprocessableEntity, `{"error":{"code":"invalid_mood","message":"Please choose a mood from 1 (very low) to 5 (very good)."}}`
	}
	note, _ := body["note"].(string)
	vis, _ := body["visibility"].(string)
	if vis == "" {
		vis = "facilitators"
	}
	rooms := `[{"room":"demo","member_id":"k3v9"}]`
	if rs, ok := body["rooms"].([]any); ok {
		var parts []string
		for _, r := range rs {
			parts = append(parts, `{"room":`+strconv.Quote(r.(string))+`,"member_id":"m"}`)
		}
		rooms = "[" + strings.Join(parts, ",") + "]"
	}
	resources := ""
	if strings.Contains(note, "end my life") {
		resources = `,"resources":[{"id":"988","name":"988 Suicide & Crisis Lifeline","summary":"Call or text 988, or chat at 988lifeline.org. Free, confidential, 24/7.","actions":[{"label":"Call 988","href":"tel:988"},{"label":"Text 988","href":"sms:988"}],"source":"s"},` +
			`{"id":"samhsa","name":"SAMHSA National Helpline","summary":"","actions":[{"label":"Call 1-800-662-4357","href":"tel:18006624357"}],"source":"s"}]`
	}
	out := `{"id":"c1","mood":` + strconv.Itoa(int(mood)) + `,"mood_label":` + strconv.Quote(labels[mood]) + `,"visibility":` + strconv.Quote(vis) +
		`,"rooms":` + rooms + `,"created_at":"2026-11-29T17:42:19.123Z","expires_at":"2026-12-29T17:42:19.123Z"`
	if note != "" {
		out += `,"note":` + strconv.Quote(strings.TrimSpace(note))
	}
	return http.StatusCreated, out + resources + `}`
}

func TestRunCheckin(t *testing.T) {
	api := newCheckinAPI(t, storedCheckin)
	wsURL := "ws" + strings.TrimPrefix(api.URL, "http") + "/ws"
	env := func(k string) string { return map[string]string{"HEARTH_TOKEN": "tok-123"}[k] }

	var out strings.Builder
	err := run(t.Context(), []string{"checkin", "-url", wsURL, "-mood", "3", "-note", "A quiet week.\nWalked twice."}, env, strings.NewReader(""), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := "* Thank you for checking in. You said: Okay (3).\n" +
		"* It is for your facilitators in demo.\n" +
		"  Your note:\n    A quiet week.\n    Walked twice.\n" +
		"* It is deleted by itself on " + time.Date(2026, 12, 29, 17, 42, 19, 0, time.UTC).In(time.Local).Format("Mon 2 Jan 2006") + "; only you can delete it sooner.\n" +
		"* Facilitators read check-ins when they can — they are not watched around the clock.\n"
	if out.String() != want {
		t.Errorf("output =\n%s\nwant\n%s", out.String(), want)
	}
	reqs := api.sent()
	if len(reqs) != 1 || reqs[0].method != "POST" || reqs[0].path != "/api/checkins" || reqs[0].auth != "Bearer tok-123" {
		t.Fatalf("requests = %+v", reqs)
	}
	if b := reqs[0].body; !reflect.DeepEqual(b, map[string]any{"mood": 3.0, "note": "A quiet week.\nWalked twice."}) {
		t.Errorf("body = %v (visibility and rooms are the server's defaults)", b)
	}

	// group-visible, for two groups, the note from stdin, an http:// URL and -token.
	out.Reset()
	err = run(t.Context(), []string{"checkin", "-url", api.URL, "-token", "tok-9", "-mood", "4", "-note", "-", "-visibility", "group", "-room", "demo", "-room", "evening"},
		func(string) string { return "" }, strings.NewReader("From stdin.\n"), &out)
	if err != nil {
		t.Fatal(err)
	}
	if b := api.sent()[1]; b.auth != "Bearer tok-9" || !reflect.DeepEqual(b.body, map[string]any{"mood": 4.0, "note": "From stdin.\n", "visibility": "group", "rooms": []any{"demo", "evening"}}) {
		t.Errorf("second request = %+v", b)
	}
	if !strings.Contains(out.String(), "* It is for your facilitators and your group in demo, evening.\n") || !strings.Contains(out.String(), "You said: Good (4).") {
		t.Errorf("output =\n%s", out.String())
	}
}

func TestRunCheckinCrisis(t *testing.T) {
	api := newCheckinAPI(t, storedCheckin)
	var out strings.Builder
	err := run(t.Context(), []string{"checkin", "-url", api.URL, "-mood", "1", "-note", "I want to end my life"}, func(string) string { return "tok" }, strings.NewReader(""), &out)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"* Thank you for checking in. You said: Very low (1).\n",
		"\n* It sounds like things are really hard right now. You don't have to go\n  through this alone — these people are there for you, any time, free and\n  confidential:\n",
		"\n  988 Suicide & Crisis Lifeline\n    - Call 988: tel:988\n    - Text 988: sms:988\n    Call or text 988, or chat at 988lifeline.org. Free, confidential, 24/7.\n",
		"\n  SAMHSA National Helpline\n    - Call 1-800-662-4357: tel:18006624357\n\n",
		"* Your facilitators have been told privately, so they can check in with you.\n  Facilitators read check-ins when they can — they are not watched around\n  the clock. If you need help now, use the numbers above.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "they are not watched around") != 1 {
		t.Errorf("the reminder is printed more than once:\n%s", got)
	}
}

func TestRunCheckinRefused(t *testing.T) {
	api := newCheckinAPI(t, func(body map[string]any) (int, string) {
		if body["visibility"] == "everyone" {
			return http.StatusUnprocessableEntity, `{"error":{"code":"invalid_visibility","message":"Choose who sees a check-in: \"facilitators\" or \"group\"."}}`
		}
		if body["rooms"] != nil {
			return http.StatusForbidden, `{"error":{"code":"not_in_room","message":"You can only check in with groups you are a member of.\u001b[2J"}}`
		}
		return storedCheckin(body)
	})
	env := func(string) string { return "tok" }
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"mood out of range", []string{"-mood", "7"}, "Please choose a mood from 1 (very low) to 5 (very good)."},
		{"visibility", []string{"-mood", "3", "-visibility", "everyone"}, `Choose who sees a check-in: "facilitators" or "group".`},
		{"room, sentence sanitized", []string{"-mood", "3", "-room", "other"}, `You can only check in with groups you are a member of.\x1b[2J`},
		{"no mood: the server's scale", nil, "-mood is required: how you are doing, one of 1 Very low, 2 Low, 3 Okay, 4 Good, 5 Very good"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := run(t.Context(), append([]string{"checkin", "-url", api.URL}, tt.args...), env, strings.NewReader(""), &out)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q for a refused check-in", out.String())
			}
		})
	}

	// A server that cannot be reached, and a refused token from the real
	// error shape: the sentence, and a non-nil error (exit status 1).
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	var out strings.Builder
	err := run(t.Context(), []string{"checkin", "-url", dead.URL, "-mood", "3"}, env, strings.NewReader(""), &out)
	if err == nil || !strings.HasPrefix(err.Error(), "could not reach the server at "+dead.URL) || !strings.HasSuffix(err.Error(), "your check-in was not sent") {
		t.Errorf("unreachable: error = %v", err)
	}
}

func TestRunCheckinArguments(t *testing.T) {
	noEnv := func(string) string { return "" }
	withToken := func(string) string { return "tok" }
	tests := []struct {
		name string
		args []string
		env  func(string) string
		want string
	}{
		{"no token", []string{"checkin", "-mood", "3"}, noEnv, "no token"},
		{"bad url", []string{"checkin", "-mood", "3", "-url", "localhost:8080"}, withToken, "-url must be the server's address"},
		{"stray argument", []string{"checkin", "-mood", "3", "a", "note"}, withToken, `unexpected argument "a" (quote the note`},
		{"empty room", []string{"checkin", "-mood", "3", "-room", " "}, withToken, "a -room needs a group's id"},
		{"bad mood flag", []string{"checkin", "-mood", "three"}, withToken, "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := run(t.Context(), tt.args, tt.env, strings.NewReader(""), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	// -note - refuses what is not text.
	api := newCheckinAPI(t, storedCheckin)
	var out strings.Builder
	err := run(t.Context(), []string{"checkin", "-url", api.URL, "-mood", "3", "-note", "-"}, withToken, strings.NewReader("a\xffb"), &out)
	if err == nil || !strings.Contains(err.Error(), "not valid UTF-8") || len(api.sent()) != 0 {
		t.Errorf("invalid UTF-8 on stdin: error = %v, requests = %d", err, len(api.sent()))
	}
}

func TestCheckinLinesSanitized(t *testing.T) {
	c := client.Checkin{Mood: 2, MoodLabel: "Low\x1b[31m", Note: "line one\r\n\x1b]0;pwned\x07two", Visibility: "group",
		Rooms:     []client.CheckinRoom{{Room: "demo\u202e"}},
		Resources: []client.Resource{{Name: "Help\x1b[2J", Summary: "Call \x07now", Actions: []client.ResourceAction{{Label: "Call\x1b", Href: "tel:1\n2"}}}}}
	got := strings.Join(checkinLines(c, time.UTC), "\n")
	for _, r := range got {
		if r != '\n' && (r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x202e) {
			t.Fatalf("unsanitized %U in:\n%s", r, got)
		}
	}
	for _, want := range []string{`You said: Low\x1b[31m (2).`, `in demo\u202e.`, "    line one\n    " + `\x1b]0;pwned\x07two`, `  Help\x1b[2J`, `    - Call\x1b: tel:1\x0a2`} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// startTerminal runs the terminal client against the fake server at wsURL
// in room demo with token "tok" and the extra args, on its own goroutine:
// lines written to typing are what the user types, out collects what it
// prints, and errc receives run's result. Typing ends when the test does.
func startTerminal(t *testing.T, wsURL string, args ...string) (typing *io.PipeWriter, out *syncBuffer, errc chan error) {
	t.Helper()
	stdin, typing := io.Pipe()
	t.Cleanup(func() { _ = stdin.Close() })
	out, errc = &syncBuffer{}, make(chan error, 1)
	go func() {
		errc <- run(t.Context(), append([]string{"-url", wsURL, "-room", "demo"}, args...),
			func(k string) string { return map[string]string{"HEARTH_TOKEN": "tok"}[k] }, stdin, out)
	}()
	return typing, out, errc
}
