package hub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"hearth/client"
	"hearth/internal/auth"
	"hearth/internal/hub"
	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
)

// limitedNode starts a node with hub settings of the test's choosing
// (rates, connection cap), stopped when the test ends.
func limitedNode(t *testing.T, redisURL string, hc hub.Config) *hubtest.Node {
	t.Helper()
	return hubtest.StartNode(t, hubtest.Options{RedisURL: redisURL, Hub: hc})
}

// limitedPair returns two nodes of one deployment: one in-memory node twice
// ("one node"), or two nodes sharing a private Redis ("two nodes").
func limitedPair(t *testing.T, distributed bool, hc hub.Config) (*hubtest.Node, *hubtest.Node) {
	t.Helper()
	if !distributed {
		n := limitedNode(t, "", hc)
		return n, n
	}
	r := redistest.Start(t)
	return limitedNode(t, r.URL(), hc), limitedNode(t, r.URL(), hc)
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// TestConnectionsPerUserAreCapped: a user may have MaxConnsPerUser
// connections open at once, over every node; the next one is refused with
// too_many_connections and closed with 4409 — before any welcome, with a
// header or an auth frame — while other users connect freely; closing
// one makes room for another.
func TestConnectionsPerUserAreCapped(t *testing.T) {
	for _, distributed := range []bool{false, true} {
		t.Run(map[bool]string{false: "one node", true: "two nodes over Redis"}[distributed], func(t *testing.T) {
			a, b := limitedPair(t, distributed, hub.Config{})
			tok := hubtest.Token(t, "many-tabs", protocol.RoleMember)
			var open []*hubtest.Peer
			for i := range protocol.MaxConnsPerUser {
				open = append(open, hubtest.Dial(t, []*hubtest.Node{a, b}[i%2].URL, tok))
			}

			// One more, with an auth frame: refused, with its id, before any welcome.
			extra := hubtest.DialRaw(t, b.URL, nil)
			extra.Send(hubtest.Event{"type": "auth", "id": "a6", "token": tok})
			e := extra.Next()
			if e.Str("code") != "too_many_connections" || e.Str("id") != "a6" || e.Str("message") == "" {
				t.Fatalf("sixth connection's first event: %v, want too_many_connections for a6 with a sentence", e)
			}
			if code := extra.Closed(); int(code) != int(protocol.CloseTooManyConnections) {
				t.Fatalf("sixth connection closed with %d, want 4409", code)
			}

			// One more, with an Authorization header: refused before welcome.
			hdr := hubtest.DialRaw(t, a.URL, bearer(tok))
			if e := hdr.Next(); e.Str("code") != "too_many_connections" {
				t.Fatalf("first event of a header-authenticated sixth connection: %v, want too_many_connections", e)
			}
			if code := hdr.Closed(); int(code) != int(protocol.CloseTooManyConnections) {
				t.Fatalf("closed with %d, want 4409", code)
			}

			// Others are not affected, and the five still work.
			hubtest.Dial(t, a.URL, hubtest.Token(t, "someone-else", protocol.RoleMember))
			for _, p := range open {
				if r := p.Request(hubtest.Event{"type": "ping"}); r.Str("type") != "pong" {
					t.Fatalf("an open connection stopped answering: %v", r)
				}
			}

			// Closing one frees its place (once the server has seen it go).
			_ = open[0].WS.Close(websocket.StatusNormalClosure, "")
			deadline := time.Now().Add(15 * time.Second)
			for {
				p := hubtest.DialRaw(t, b.URL, bearer(tok))
				e := p.Next()
				if e.Str("type") == "welcome" {
					break
				}
				if e.Str("code") != "too_many_connections" || time.Now().After(deadline) {
					t.Fatalf("after closing one: %v", e)
				}
				p.Closed()
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// Regression: rate limits were per connection, so a member with two tabs
// (or a script with five connections) could send twice (five times) the
// rate. The send limit now holds for the user over all their connections
// and nodes: with a burst of 3 and one message a minute, three messages
// from two connections on two nodes go through and the fourth is refused
// with rate_limited and retry_after_ms; other members are unaffected.
func TestSendLimitIsPerUserAcrossConnectionsAndNodes(t *testing.T) {
	for _, distributed := range []bool{false, true} {
		t.Run(map[bool]string{false: "one node", true: "two nodes over Redis"}[distributed], func(t *testing.T) {
			a, b := limitedPair(t, distributed, hub.Config{SendRate: rate.Every(time.Minute), SendBurst: 3})
			a.OpenRoom(t, "demo", "fac", "fast", "other")
			tab1 := hubtest.Dial(t, a.URL, hubtest.Token(t, "fast", protocol.RoleMember))
			tab1.Join("demo", "Fast")
			tab2 := hubtest.Dial(t, b.URL, hubtest.Token(t, "fast", protocol.RoleMember))
			tab2.Join("demo", "Fast")
			other := hubtest.Dial(t, b.URL, hubtest.Token(t, "other", protocol.RoleMember))
			other.Join("demo", "Other")

			for i, p := range []*hubtest.Peer{tab1, tab2, tab1} {
				if r := p.Request(hubtest.Event{"type": "send", "room": "demo", "text": fmt.Sprint("message ", i)}); r.Str("type") != "ok" {
					t.Fatalf("message %d: %v", i+1, r)
				}
			}
			r := tab2.Request(hubtest.Event{"type": "send", "room": "demo", "text": "one too many"})
			if r.Str("code") != "rate_limited" || r.Num("retry_after_ms") <= 0 || r.Str("message") == "" {
				t.Fatalf("fourth message from the other connection: %v, want rate_limited with retry_after_ms", r)
			}
			if r := tab1.Request(hubtest.Event{"type": "react", "room": "demo", "message_id": "x", "reaction": "heart"}); r.Str("code") != "rate_limited" {
				t.Fatalf("a reaction after the limit: %v, want rate_limited (reactions count as sends)", r)
			}
			if r := other.Request(hubtest.Event{"type": "send", "room": "demo", "text": "hello"}); r.Str("type") != "ok" {
				t.Fatalf("another member was limited: %v", r)
			}
			if r := tab2.Request(hubtest.Event{"type": "ping"}); r.Str("type") != "pong" {
				t.Fatalf("the limited connection stopped answering: %v", r)
			}
		})
	}
}

// shortToken mints a token for sub whose life on a connection (exp plus
// auth.Leeway, as Verify allows) ends about life from now (exp has whole
// seconds: up to a second sooner).
func shortToken(t *testing.T, sub, role string, life time.Duration) string {
	t.Helper()
	tok, err := auth.Mint(auth.Config{Secret: hubtest.Secret}, sub, role, life-auth.Leeway, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestTokenExpiryClosesConnection: a connection lives as long as its token:
// when it runs out unrefreshed the connection gets token_expired and is
// closed with 4401, however it authenticated.
func TestTokenExpiryClosesConnection(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	cases := []struct {
		name string
		dial func(tok string) *hubtest.Peer
	}{
		{"auth frame", func(tok string) *hubtest.Peer { return hubtest.Dial(t, n.URL, tok) }},
		{"Authorization header", func(tok string) *hubtest.Peer {
			p := hubtest.DialRaw(t, n.URL, bearer(tok))
			if e := p.Next(); e.Str("type") != "welcome" {
				t.Fatalf("first event %v, want welcome", e)
			}
			return p
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.dial(shortToken(t, "short-lived", protocol.RoleMember, 3*time.Second))
			e := p.UntilType("error")
			if e.Str("code") != "token_expired" || e.Str("message") == "" {
				t.Fatalf("got %v, want token_expired", e)
			}
			if code := p.Closed(); int(code) != int(protocol.CloseUnauthorized) {
				t.Fatalf("closed with %d, want 4401", code)
			}
		})
	}
}

// TestRefreshKeepsConnectionOpen: a refresh with a new token for the same
// user and role is answered ok and the connection outlives its first
// token, while a connection that did not refresh is closed; the Go client
// does the same through Client.Refresh.
func TestRefreshKeepsConnectionOpen(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	short := shortToken(t, "refresher", protocol.RoleMember, 5*time.Second)
	refreshed := hubtest.Dial(t, n.URL, short)
	if r := refreshed.Request(hubtest.Event{"type": "refresh", "token": hubtest.Token(t, "refresher", protocol.RoleMember)}); r.Str("type") != "ok" {
		t.Fatalf("refresh: %v, want ok", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	gc, err := client.Dial(ctx, n.URL, short, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	var se *client.ServerError
	if err := gc.Refresh(ctx, hubtest.Token(t, "someone-else", protocol.RoleMember)); !errors.As(err, &se) || se.Code != "token_mismatch" {
		t.Fatalf("Client.Refresh with another user's token: %v, want token_mismatch", err)
	}
	if err := gc.Refresh(ctx, hubtest.Token(t, "refresher", protocol.RoleMember)); err != nil {
		t.Fatalf("Client.Refresh: %v", err)
	}

	// The same short token without a refresh: its end is the event to wait for.
	unrefreshed := hubtest.Dial(t, n.URL, short)
	if code := unrefreshed.Closed(); int(code) != int(protocol.CloseUnauthorized) {
		t.Fatalf("unrefreshed connection closed with %d, want 4401", code)
	}
	if r := refreshed.Request(hubtest.Event{"type": "ping"}); r.Str("type") != "pong" {
		t.Fatalf("the refreshed connection: %v, want pong", r)
	}
	if err := gc.Ping(ctx); err != nil {
		t.Fatalf("the Go client's refreshed connection: %v", err)
	}
}

// TestRefreshRefusals: a refresh that is not for the same user and role,
// or whose token is refused, gets the code that says why and changes
// nothing: the connection stays open with its token.
func TestRefreshRefusals(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	p := hubtest.Dial(t, n.URL, hubtest.Token(t, "u1", protocol.RoleMember))
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte("not-the-secret-not-the-secret-0000000"))
	expired, _ := auth.Mint(auth.Config{Secret: hubtest.Secret}, "u1", protocol.RoleMember, -time.Hour, time.Now())
	cases := []struct {
		name  string
		frame hubtest.Event
		code  string
	}{
		{"another user", hubtest.Event{"type": "refresh", "token": hubtest.Token(t, "u2", protocol.RoleMember)}, "token_mismatch"},
		{"another role", hubtest.Event{"type": "refresh", "token": hubtest.Token(t, "u1", protocol.RoleFacilitator)}, "token_mismatch"},
		{"forged", hubtest.Event{"type": "refresh", "token": forged}, "invalid_token"},
		{"expired", hubtest.Event{"type": "refresh", "token": expired}, "token_expired"},
		{"over 4 KiB", hubtest.Event{"type": "refresh", "token": strings.Repeat("a", protocol.MaxTokenBytes+1)}, "invalid_token"},
		{"no token", hubtest.Event{"type": "refresh"}, "missing_field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := p.Request(tc.frame); r.Str("code") != tc.code || r.Str("message") == "" {
				t.Fatalf("got %v, want %s with a sentence", r, tc.code)
			}
			if r := p.Request(hubtest.Event{"type": "ping"}); r.Str("type") != "pong" {
				t.Fatalf("connection unusable after a refused refresh: %v", r)
			}
		})
	}
	t.Run("before auth", func(t *testing.T) {
		raw := hubtest.DialRaw(t, n.URL, nil)
		if r := raw.Request(hubtest.Event{"type": "refresh", "token": hubtest.Token(t, "u1", protocol.RoleMember)}); r.Str("code") != "not_authenticated" {
			t.Fatalf("got %v, want not_authenticated", r)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// TestTokensNeverLogged: the debug log of whole connection lives — header
// and frame auth, join, send, refresh (accepted, mismatched, forged), a
// refused auth, an expiry and a connection over the cap — never holds a
// token or any part of one but the shared header segment.
func TestTokensNeverLogged(t *testing.T) {
	var logs syncBuffer
	n := hubtest.StartNode(t, hubtest.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	n.OpenRoom(t, "demo", "fac", "logged")
	tokens := []string{
		hubtest.Token(t, "logged", protocol.RoleMember),
		hubtest.Token(t, "logged", protocol.RoleMember) + "x", // differs: a forged signature
		hubtest.Token(t, "fac", protocol.RoleFacilitator),
		hubtest.Token(t, "intruder", protocol.RoleMember),
		shortToken(t, "logged", protocol.RoleMember, 3*time.Second),
		"not-a-jwt-but-secret-looking-9f8e7d6c5b4a",
	}
	p := hubtest.Dial(t, n.URL, tokens[0])
	p.Join("demo", "Logged")
	p.Request(hubtest.Event{"type": "send", "room": "demo", "text": "hello"})
	p.Request(hubtest.Event{"type": "refresh", "token": tokens[0]})
	p.Request(hubtest.Event{"type": "refresh", "token": tokens[1]})
	p.Request(hubtest.Event{"type": "refresh", "token": tokens[3]})
	h := hubtest.DialRaw(t, n.URL, bearer(tokens[2]))
	h.Next()
	bad := hubtest.DialRaw(t, n.URL, nil)
	bad.Send(hubtest.Event{"type": "auth", "token": tokens[5]})
	bad.Closed()
	short := hubtest.Dial(t, n.URL, tokens[4])
	short.Closed()
	for range 2 * protocol.MaxConnsPerUser { // until one is refused for the cap
		q := hubtest.DialRaw(t, n.URL, bearer(tokens[0]))
		if q.Next().Str("code") == "too_many_connections" {
			q.Closed()
			break
		}
	}
	_ = p.WS.Close(websocket.StatusNormalClosure, "")
	p.Closed()

	out := logs.String()
	if !strings.Contains(out, "conn=") {
		t.Fatalf("the log does not look like connection logs:\n%s", out)
	}
	for _, tok := range tokens {
		parts := strings.Split(tok, ".")
		for i, part := range parts {
			if i == 0 && len(parts) == 3 {
				continue // the JWT header segment is the same for every token
			}
			if len(part) >= 8 && strings.Contains(out, part) {
				t.Errorf("the log holds part %d of a token:\n%s", i, out)
			}
		}
	}
}

// TestHostileTextRefusedAndNothingLost: stacked marks, over-long texts and
// bad reactions are refused with their code; the room receives nothing of
// them, and the connection goes on working.
func TestHostileTextRefusedAndNothingLost(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{Unlimited: true})
	n.OpenRoom(t, "demo", "fac", "sender", "watcher")
	sender := hubtest.Dial(t, n.URL, hubtest.Token(t, "sender", protocol.RoleMember))
	sender.Join("demo", "Sender")
	fac := hubtest.Dial(t, n.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	facID := fac.Join("demo", "Dr. Lee")["you"].(map[string]any)["member_id"].(string)
	watcher := hubtest.Dial(t, n.URL, hubtest.Token(t, "watcher", protocol.RoleMember))
	watcher.Join("demo", "Watcher")

	zalgo := strings.Repeat("h\u0315\u0321\u0322\u0327\u0328\u0334\u0335\u0336\u0337", 20) // 9 marks a letter
	cases := []struct {
		name  string
		frame hubtest.Event
		code  string
	}{
		{"Zalgo message", hubtest.Event{"type": "send", "room": "demo", "text": zalgo}, "text_too_many_marks"},
		{"three marks on every letter", hubtest.Event{"type": "send", "room": "demo", "text": strings.Repeat("q\u0301\u0302\u0303", 50)}, "text_too_many_marks"},
		{"a chain of conjoining jamo", hubtest.Event{"type": "send", "room": "demo", "text": strings.Repeat("\u1100", 40) + "\u1161"}, "text_too_many_marks"},
		{"a chain of joined emoji", hubtest.Event{"type": "send", "room": "demo", "text": strings.Repeat("😀\u200d", 20) + "😀"}, "text_too_many_marks"},
		{"Zalgo private message", hubtest.Event{"type": "dm", "room": "demo", "member_id": facID, "text": zalgo}, "text_too_many_marks"},
		{"over 16 KiB", hubtest.Event{"type": "send", "room": "demo", "text": strings.Repeat("a", protocol.MaxTextBytes+1)}, "text_too_long"},
		{"4001 code points", hubtest.Event{"type": "send", "room": "demo", "text": strings.Repeat("é", protocol.MaxTextRunes+1)}, "text_too_long"},
		{"reaction outside the set", hubtest.Event{"type": "react", "room": "demo", "message_id": "m", "reaction": "thumbs_down"}, "invalid_reaction"},
		{"huge reaction", hubtest.Event{"type": "react", "room": "demo", "message_id": "m", "reaction": strings.Repeat("heart", 5000)}, "invalid_reaction"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := sender.Request(tc.frame)
			if r.Str("code") != tc.code || r.Str("message") == "" {
				t.Fatalf("got %v, want %s with a sentence", r, tc.code)
			}
			if strings.Contains(r.Str("message"), "\u0315") {
				t.Fatal("the refusal echoes the text")
			}
		})
	}
	// Real writing passes: pointed Hebrew, Vietnamese, Hindi, Tibetan,
	// Thai, emoji sequences with skin tones, flags and keycaps.
	for _, text := range []string{
		"בְּרֵאשִׁ֖ית בָּרָ֣א אֱלֹהִ֑ים", "Tiếng Việt có dấu", "नमस्ते, आप कैसे हैं?", "བཀྲ་ཤིས་བདེ་ལེགས།", "สวัสดีครับ",
		"👩🏻\u200d❤️\u200d💋\u200d👨🏼 👨\u200d👩\u200d👧\u200d👦 🏴󠁧󠁢󠁳󠁣󠁴󠁿 1️⃣2️⃣3️⃣", "Zoë ẞ ǅ",
	} {
		if r := sender.Request(hubtest.Event{"type": "send", "room": "demo", "text": text}); r.Str("type") != "ok" {
			t.Errorf("%q refused: %v", text, r)
		}
	}
	sender.Request(hubtest.Event{"type": "send", "room": "demo", "text": "the end"})
	// The watcher saw the accepted messages only, ending with "the end".
	for {
		m := watcher.UntilType("message")
		text := m.Str("text")
		if strings.ContainsRune(text, '\u0315') || strings.HasPrefix(text, "aaaa") || strings.HasPrefix(text, "q\u0301") || strings.Contains(text, "\u1100") {
			t.Fatalf("a refused message reached the room: %q", text[:min(len(text), 40)])
		}
		if text == "the end" {
			break
		}
	}
	// And a stacked display name is refused with name_invalid_char.
	other := hubtest.Dial(t, n.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	n.OpenRoom(t, "room2", "fac")
	if r := other.Request(hubtest.Event{"type": "join", "room": "room2", "display_name": "Z\u0315\u0321\u0322\u0327\u0328\u0334\u0335\u0336\u0337a"}); r.Str("code") != "name_invalid_char" {
		t.Fatalf("stacked display name: %v, want name_invalid_char", r)
	}
}

// When Redis cannot be reached the per-user limits fall back to each
// connection's own buckets: a connected person can still ping (and is still
// limited), rather than being cut off by the limiter itself. A frame
// refused for rate is answered with its request id, so a client waiting for
// that reply gets it.
func TestLimitsFallBackWhenRedisIsDown(t *testing.T) {
	r := redistest.Start(t)
	n := limitedNode(t, r.URL(), hub.Config{FrameRate: rate.Every(time.Minute), FrameBurst: 4})
	p := hubtest.Dial(t, n.URL, hubtest.Token(t, "steady", protocol.RoleMember))
	// A pong means the reader is past signing in (its personal channel is
	// subscribed), so Redis stops under a connection that is fully set up.
	if e := p.Request(hubtest.Event{"type": "ping"}); e.Str("type") != "pong" {
		t.Fatalf("ping: %v", e)
	}
	r.Stop()
	for i := range 3 { // of the connection's own four, the auth frame took one (the first ping was Redis's)
		if e := p.Request(hubtest.Event{"type": "ping"}); e.Str("type") != "pong" {
			t.Fatalf("ping %d with Redis down: %v", i+1, e)
		}
	}
	if e := p.Request(hubtest.Event{"type": "ping"}); e.Str("code") != "rate_limited" {
		t.Fatalf("with Redis down the connection's own limit applies: %v, want rate_limited", e)
	}
}
