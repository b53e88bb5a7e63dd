package hub_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestChatInOneRoom(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	n.OpenRoom(t, "demo", "user-lee-0042", "user-alice-7731")
	alice := hubtest.Dial(t, n.URL, hubtest.Token(t, "user-alice-7731", protocol.RoleMember))
	lee := hubtest.Dial(t, n.URL, hubtest.Token(t, "user-lee-0042", protocol.RoleFacilitator))

	ja := alice.Join("demo", "  Alice  ")
	you := ja["you"].(map[string]any)
	if you["display_name"] != "Alice" || you["role"] != "member" || len(you["member_id"].(string)) != 16 {
		t.Fatalf("joined.you = %v; want trimmed name, role member, a 16-char member_id", you)
	}
	jl := lee.Join("demo", "Dr. Lee")
	if got := len(jl["members"].([]any)); got != 2 {
		t.Fatalf("second joiner sees %d members, want 2: %v", got, jl)
	}
	mj := alice.Until(func(e hubtest.Event) bool {
		return e.Str("type") == "member_joined" && e["member"].(map[string]any)["display_name"] == "Dr. Lee"
	})
	if mj.Num("seq") == 0 || mj["member"].(map[string]any)["role"] != "facilitator" {
		t.Fatalf("member_joined = %v", mj)
	}

	ok := alice.Request(hubtest.Event{"type": "send", "room": "demo", "text": "Hello everyone"})
	if ok.Str("type") != "ok" || ok.Str("message_id") == "" || ok.Num("seq") == 0 {
		t.Fatalf("send reply = %v", ok)
	}
	for _, p := range []*hubtest.Peer{alice, lee} {
		m := p.UntilType("message")
		from := m["from"].(map[string]any)
		if m.Str("text") != "Hello everyone" || from["display_name"] != "Alice" || from["member_id"] != you["member_id"] ||
			m.Str("message_id") != ok.Str("message_id") || m.Num("seq") != ok.Num("seq") || m.Str("room") != "demo" {
			t.Fatalf("message = %v (ok was %v)", m, ok)
		}
		if _, err := time.Parse(time.RFC3339Nano, m.Str("ts")); err != nil || !strings.HasSuffix(m.Str("ts"), "Z") {
			t.Fatalf("ts %q is not RFC 3339 UTC", m.Str("ts"))
		}
	}

	if r := lee.Request(hubtest.Event{"type": "leave", "room": "demo"}); r.Str("type") != "ok" {
		t.Fatalf("leave = %v", r)
	}
	left := alice.UntilType("member_left")
	if left.Str("member_id") != jl["you"].(map[string]any)["member_id"] || left.Num("seq") <= ok.Num("seq") {
		t.Fatalf("member_left = %v", left)
	}
	if r := lee.Request(hubtest.Event{"type": "send", "room": "demo", "text": "still here?"}); r.Str("code") != "not_joined" {
		t.Fatalf("send after leave = %v, want not_joined", r)
	}
}

// A user's id (the token's sub) never reaches another member; the member id
// is stable for a user in a room and differs between rooms.
func TestUserIDNeverSentToOthers(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	const secretSub = "sub-7f3a-private-identifier"
	n.OpenRoom(t, "r1", "fac", secretSub, "someone-else")
	n.OpenRoom(t, "r2", "fac", secretSub)
	a := hubtest.Dial(t, n.URL, hubtest.Token(t, secretSub, protocol.RoleMember))
	b := hubtest.Dial(t, n.URL, hubtest.Token(t, "someone-else", protocol.RoleMember))
	id1 := a.Join("r1", "A")["you"].(map[string]any)["member_id"]
	id2 := a.Join("r2", "A")["you"].(map[string]any)["member_id"]
	jb := b.Join("r1", "B")
	a.Request(hubtest.Event{"type": "send", "room": "r1", "text": "hi"})
	seen := []hubtest.Event{jb, b.UntilType("message")}
	for _, e := range seen {
		raw, _ := json.Marshal(e)
		if strings.Contains(string(raw), secretSub) {
			t.Fatalf("another member saw the user id: %s", raw)
		}
	}
	a2 := hubtest.Dial(t, n.URL, hubtest.Token(t, secretSub, protocol.RoleMember))
	if again := a2.Join("r1", "A")["you"].(map[string]any)["member_id"]; again != id1 || id1 == id2 {
		t.Fatalf("member ids: r1 %v, r1 again %v, r2 %v; want stable per room and different across rooms", id1, again, id2)
	}
}

// Two tabs of one user are one member: one member_joined, the first display
// name kept, and member_left only when the last tab goes.
func TestTabsOfOneUserAreOneMember(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	n.OpenRoom(t, "demo", "fac", "w", "tabby")
	watcher := hubtest.Dial(t, n.URL, hubtest.Token(t, "w", protocol.RoleMember))
	watcher.Join("demo", "Watcher")
	tok := hubtest.Token(t, "tabby", protocol.RoleMember)
	tab1 := hubtest.Dial(t, n.URL, tok)
	tab1.Join("demo", "Sam")
	tab2 := hubtest.Dial(t, n.URL, tok)
	if name := tab2.Join("demo", "Samuel")["you"].(map[string]any)["display_name"]; name != "Sam" {
		t.Fatalf("second tab's name = %v, want the member's existing name Sam", name)
	}
	watcher.Until(func(e hubtest.Event) bool {
		return e.Str("type") == "member_joined" && e["member"].(map[string]any)["display_name"] == "Sam"
	})
	tab1.Request(hubtest.Event{"type": "leave", "room": "demo"})
	watcher.Request(hubtest.Event{"type": "send", "room": "demo", "text": "marker"})
	if e := watcher.UntilType("message"); e.Str("text") != "marker" {
		t.Fatalf("got %v", e)
	}
	if e, quiet := watcher.Quiet(200 * time.Millisecond); !quiet {
		t.Fatalf("unexpected event while a tab is still present: %v", e)
	}
	_ = tab2.WS.Close(websocket.StatusNormalClosure, "")
	if e := watcher.UntilType("member_left"); e.Str("member_id") == "" {
		t.Fatalf("member_left = %v", e)
	}
}

func TestRoomsAreIsolated(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	n.OpenRoom(t, "r1", "fac", "a")
	n.OpenRoom(t, "r2", "fac", "b")
	a := hubtest.Dial(t, n.URL, hubtest.Token(t, "a", protocol.RoleMember))
	b := hubtest.Dial(t, n.URL, hubtest.Token(t, "b", protocol.RoleMember))
	a.Join("r1", "A")
	b.Join("r2", "B")
	a.Request(hubtest.Event{"type": "send", "room": "r1", "text": "only r1"})
	b.Request(hubtest.Event{"type": "send", "room": "r2", "text": "only r2"})
	if e := b.UntilType("message"); e.Str("text") != "only r2" {
		t.Fatalf("member of r2 received %v", e)
	}
}

// Bad input gets a precise error and the connection stays usable.
func TestBadInputGetsErrorAndConnectionStays(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	for _, r := range []string{"demo", "room2", "room3", "room4", "room5", "one-too-many"} {
		n.OpenRoom(t, r, "fac", "u1")
	}
	p := hubtest.Dial(t, n.URL, hubtest.Token(t, "u1", protocol.RoleMember))
	p.Join("demo", "Pat")
	cases := []struct {
		name  string
		frame string
		code  string
	}{
		{"malformed JSON", `{"type":"send",`, "bad_json"},
		{"not an object", `["send"]`, "bad_json"},
		{"unknown type", `{"type":"shout","id":"x1"}`, "unknown_type"},
		{"missing type", `{"id":"x2"}`, "missing_field"},
		{"missing room", `{"type":"send","id":"x3","text":"hi"}`, "missing_field"},
		{"missing text", `{"type":"send","id":"x4","room":"demo"}`, "text_empty"},
		{"blank text", `{"type":"send","id":"x5","room":"demo","text":"   \n "}`, "text_empty"},
		{"text too long", `{"type":"send","id":"x6","room":"demo","text":"` + strings.Repeat("é", 4001) + `"}`, "text_too_long"},
		{"wrong field type", `{"type":"send","id":"x7","room":"demo","text":42}`, "bad_field"},
		{"bad room id", `{"type":"join","id":"x8","room":"../etc","display_name":"P"}`, "invalid_room"},
		{"name with bidi override", `{"type":"join","id":"x9","room":"r2","display_name":"Pat\u202e"}`, "name_invalid_char"},
		{"name too long", `{"type":"join","id":"x10","room":"r2","display_name":"` + strings.Repeat("n", 33) + `"}`, "name_too_long"},
		{"send to a room not joined", `{"type":"send","id":"x11","room":"other","text":"hi"}`, "not_joined"},
		{"join twice", `{"type":"join","id":"x12","room":"demo","display_name":"Pat"}`, "already_joined"},
		{"second auth", `{"type":"auth","id":"x13","token":"abc"}`, "already_authenticated"},
		{"id too long", `{"type":"ping","id":"` + strings.Repeat("i", 65) + `"}`, "bad_field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.WriteRaw([]byte(tc.frame))
			e := p.UntilType("error")
			if e.Str("code") != tc.code || e.Str("message") == "" {
				t.Fatalf("got %v, want code %s with a sentence", e, tc.code)
			}
			var sent map[string]any
			if json.Unmarshal([]byte(tc.frame), &sent) == nil {
				if id, _ := sent["id"].(string); id != "" && len(id) <= 64 && e.Str("id") != id {
					t.Fatalf("error reply id %q, want %q", e.Str("id"), id)
				}
			}
			if r := p.Request(hubtest.Event{"type": "ping"}); r.Str("type") != "pong" {
				t.Fatalf("connection unusable after bad input: %v", r)
			}
		})
	}
	t.Run("invalid UTF-8", func(t *testing.T) {
		p.WriteRaw([]byte("{\"type\":\"send\",\"room\":\"demo\",\"text\":\"\xff\xfe\"}"))
		if e := p.UntilType("error"); e.Str("code") != "invalid_utf8" {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("binary frame", func(t *testing.T) {
		if err := p.WS.Write(t.Context(), websocket.MessageBinary, []byte(`{"type":"ping"}`)); err != nil {
			t.Fatal(err)
		}
		if e := p.UntilType("error"); e.Str("code") != "binary_frame" {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("too many rooms", func(t *testing.T) {
		for i := 2; i <= protocol.MaxRoomsPerConn; i++ {
			p.Join(fmt.Sprint("room", i), "Pat")
		}
		if e := p.JoinFrame(hubtest.Event{"type": "join", "room": "one-too-many", "display_name": "Pat"}); e.Str("code") != "too_many_rooms" {
			t.Fatalf("got %v", e)
		}
	})
}

func TestOversizedFrameClosesWith1009(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	p := hubtest.Dial(t, n.URL, hubtest.Token(t, "u1", protocol.RoleMember))
	p.WriteRaw([]byte(`{"type":"send","room":"demo","text":"` + strings.Repeat("x", protocol.MaxFrameBytes) + `"}`))
	if code := p.Closed(); code != websocket.StatusMessageTooBig {
		t.Fatalf("close status %d, want 1009", code)
	}
}

func TestCommandBeforeAuthIsRefused(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	p := hubtest.DialRaw(t, n.URL, nil)
	if e := p.JoinFrame(hubtest.Event{"type": "join", "room": "demo", "display_name": "X"}); e.Str("code") != "not_authenticated" {
		t.Fatalf("got %v", e)
	}
	if e := p.Request(hubtest.Event{"type": "auth", "token": hubtest.Token(t, "u", protocol.RoleMember)}); e.Str("type") != "welcome" || e.Str("role") != "member" {
		t.Fatalf("got %v", e)
	}
}

func signed(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthFailuresClose4401(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{AuthTimeout: 300 * time.Millisecond})
	exp := time.Now().Add(time.Hour).Unix()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "u", "exp": exp}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	cases := []struct {
		name, token, code string
	}{
		{"bad signature", signed(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-000000"), jwt.MapClaims{"sub": "u", "exp": exp}), "invalid_token"},
		{"expired", signed(t, jwt.SigningMethodHS256, hubtest.Secret, jwt.MapClaims{"sub": "u", "exp": time.Now().Add(-time.Hour).Unix()}), "token_expired"},
		{"forged and expired", signed(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-000000"), jwt.MapClaims{"sub": "u", "exp": time.Now().Add(-time.Hour).Unix()}), "invalid_token"},
		{"alg none", none, "invalid_token"},
		{"RS256 signed", signed(t, jwt.SigningMethodRS256, rsaKey, jwt.MapClaims{"sub": "u", "exp": exp}), "invalid_token"},
		{"ES256 signed", signed(t, jwt.SigningMethodES256, ecKey, jwt.MapClaims{"sub": "u", "exp": exp}), "invalid_token"},
		{"missing sub", signed(t, jwt.SigningMethodHS256, hubtest.Secret, jwt.MapClaims{"exp": exp}), "invalid_token"},
		{"missing exp", signed(t, jwt.SigningMethodHS256, hubtest.Secret, jwt.MapClaims{"sub": "u"}), "invalid_token"},
		{"unknown role", signed(t, jwt.SigningMethodHS256, hubtest.Secret, jwt.MapClaims{"sub": "u", "exp": exp, "role": "admin"}), "invalid_token"},
		{"garbage", "not.a.token", "invalid_token"},
		{"over 4 KiB", strings.Repeat("a", protocol.MaxTokenBytes+1), "invalid_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := hubtest.DialRaw(t, n.URL, nil)
			if e := p.Request(hubtest.Event{"type": "auth", "token": tc.token}); e.Str("code") != tc.code {
				t.Fatalf("got %v, want %s", e, tc.code)
			}
			if code := p.Closed(); int(code) != int(protocol.CloseUnauthorized) {
				t.Fatalf("close status %d, want 4401", code)
			}
		})
	}
	t.Run("no auth within the timeout", func(t *testing.T) {
		p := hubtest.DialRaw(t, n.URL, nil)
		if e := p.UntilType("error"); e.Str("code") != "auth_timeout" {
			t.Fatalf("got %v", e)
		}
		if code := p.Closed(); int(code) != int(protocol.CloseUnauthorized) {
			t.Fatalf("close status %d, want 4401", code)
		}
	})
}

func TestAuthorizationHeader(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	h := http.Header{"Authorization": {"Bearer " + hubtest.Token(t, "u", protocol.RoleFacilitator)}}
	p := hubtest.DialRaw(t, n.URL, h)
	if e := p.Next(); e.Str("type") != "welcome" || e.Str("role") != "facilitator" {
		t.Fatalf("first event %v, want welcome", e)
	}
	for _, bad := range []string{"Bearer nope", "Basic dTpw", "Bearer " + signed(t, jwt.SigningMethodHS256, hubtest.Secret, jwt.MapClaims{"sub": "u", "exp": time.Now().Add(-time.Hour).Unix()})} {
		req, _ := http.NewRequest("GET", n.HTTP+"/ws", nil)
		req.Header.Set("Authorization", bad)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		req.Header.Set("Sec-WebSocket-Protocol", protocol.Subprotocol)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || body.Error.Code == "" || body.Error.Message == "" {
			t.Fatalf("%q: status %d body %+v, want 401 with a JSON error", bad[:10], resp.StatusCode, body)
		}
	}
}

// A client that never reads is cut off with 1013; everyone else in the room
// keeps receiving every message.
func TestSlowConsumerIsDisconnected(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{Unlimited: true})
	r := n.OpenRoom(t, "demo", "fac", "slow", "sender", "reader0", "reader1", "reader2")
	_, agreement := r.CurrentGuidelines()
	slow, resume := hubtest.DialPaused(t, n.URL, hubtest.Token(t, "slow", protocol.RoleMember))
	slow.Send(hubtest.Event{"type": "join", "room": "demo", "display_name": "Slow", "id": "j", "agree": agreement})
	sender := hubtest.Dial(t, n.URL, hubtest.Token(t, "sender", protocol.RoleMember))
	sender.Join("demo", "Sender")
	readers := []*hubtest.Peer{sender}
	for i := range 3 {
		r := hubtest.Dial(t, n.URL, hubtest.Token(t, fmt.Sprint("reader", i), protocol.RoleMember))
		r.Join("demo", fmt.Sprint("Reader ", i))
		readers = append(readers, r)
	}
	text := strings.Repeat("x", 3900)
	// Up to ~24 MB: far more than the socket buffers of a reader that never
	// reads. The sender waits for each ok, as a person typing would, so the
	// readers' queues are not flooded by one burst.
	const total = 6000
	sent := 0
	for ; sent < total && n.Hub.Stats().SlowConsumers == 0; sent++ {
		if r := sender.Request(hubtest.Event{"type": "send", "room": "demo", "text": text}); r.Str("type") != "ok" {
			t.Fatalf("send %d: %v", sent, r)
		}
	}
	if n.Hub.Stats().SlowConsumers == 0 {
		t.Fatalf("after %d messages the reader that never reads was not cut off", sent)
	}
	for range 20 { // a few more after the cut, which the others must still get
		sender.Request(hubtest.Event{"type": "send", "room": "demo", "text": text})
		sent++
	}
	resume()
	for i, r := range readers {
		for k := range sent {
			if e := r.UntilType("message"); e.Str("text") != text {
				t.Fatalf("reader %d message %d: %v", i, k, e)
			}
		}
	}
	if code := slow.Closed(); int(code) != int(protocol.CloseTryAgainLater) {
		t.Fatalf("slow consumer close status %d, want 1013", code)
	}
}

// Graceful shutdown closes every WebSocket with 1012, which clients treat as
// "reconnect".
func TestShutdownClosesWith1012(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	n.OpenRoom(t, "demo", "fac", "u")
	p := hubtest.Dial(t, n.URL, hubtest.Token(t, "u", protocol.RoleMember))
	p.Join("demo", "U")
	n.Stop()
	if code := p.Closed(); int(code) != int(protocol.CloseServiceRestart) {
		t.Fatalf("close status %d, want 1012", code)
	}
	if !protocol.CloseServiceRestart.Reconnect() {
		t.Fatal("1012 must be a reconnect code")
	}
}

// A peer that stops answering pings is closed by the heartbeat.
func TestHeartbeatClosesDeadPeer(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{Heartbeat: 50 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
	_, _ = hubtest.DialPaused(t, n.URL, hubtest.Token(t, "u", protocol.RoleMember)) // reads nothing, so never answers a ping
	deadline := time.Now().Add(40 * time.Second)
	for n.Hub.Stats().Connections > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a peer that answers no ping is still connected")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two nodes over one real Redis: A on node 1 and B on node 2 each receive
// every message exactly once, with seq strictly increasing.
func TestTwoNodesOverRedis(t *testing.T) {
	rds := redistest.Start(t)
	n1 := hubtest.StartNode(t, hubtest.Options{RedisURL: rds.URL(), Unlimited: true})
	n2 := hubtest.StartNode(t, hubtest.Options{RedisURL: rds.URL(), Unlimited: true})
	n1.OpenRoom(t, "demo", "fac", "alice", "bob")
	a := hubtest.Dial(t, n1.URL, hubtest.Token(t, "alice", protocol.RoleMember))
	b := hubtest.Dial(t, n2.URL, hubtest.Token(t, "bob", protocol.RoleMember))
	a.Join("demo", "Alice")
	jb := b.Join("demo", "Bob")
	if got := len(jb["members"].([]any)); got != 2 {
		t.Fatalf("Bob on node 2 sees %d members present, want 2 (Alice is on node 1)", got)
	}
	a.UntilType("member_joined")

	const total = 100
	seen := map[*hubtest.Peer][]hubtest.Event{}
	// collect reads p's stream, keeping every message, up to the one with text.
	collect := func(p *hubtest.Peer, text string) {
		for {
			e := p.Next()
			if e.Str("type") != "message" {
				continue
			}
			seen[p] = append(seen[p], e)
			if e.Str("text") == text {
				return
			}
		}
	}
	var worst time.Duration
	for i := range total {
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		text := fmt.Sprint("message ", i)
		start := time.Now()
		from.Send(hubtest.Event{"type": "send", "room": "demo", "text": text})
		collect(to, text)
		worst = max(worst, time.Since(start))
	}
	t.Logf("slowest cross-node delivery of %d: %v (goal 1 s; measured, not asserted)", total, worst)
	b.Send(hubtest.Event{"type": "send", "room": "demo", "text": "end"})
	for name, p := range map[string]*hubtest.Peer{"alice": a, "bob": b} {
		collect(p, "end")
		var last float64
		got := map[string]int{}
		for _, e := range seen[p] {
			if e.Num("seq") <= last {
				t.Fatalf("%s: seq %v after %v", name, e.Num("seq"), last)
			}
			last = e.Num("seq")
			got[e.Str("text")]++
		}
		for i := range total {
			if c := got[fmt.Sprint("message ", i)]; c != 1 {
				t.Fatalf("%s received message %d %d times, want exactly once", name, i, c)
			}
		}
		if len(seen[p]) != total+1 {
			t.Fatalf("%s received %d messages, want %d", name, len(seen[p]), total+1)
		}
	}
}

// Regression (found by a fresh-eyes flood): one member sending 2,000
// messages at once cut other members off as slow consumers. Sends are now
// rate limited per connection: the excess is refused with rate_limited and
// retry_after_ms, readers are unaffected, and a connection that keeps
// flooding is closed with 4429.
func TestFloodIsRateLimitedAndOthersStayConnected(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	n.OpenRoom(t, "demo", "fac", "flooder", "reader")
	flooder := hubtest.Dial(t, n.URL, hubtest.Token(t, "flooder", protocol.RoleMember))
	flooder.Join("demo", "F")
	reader := hubtest.Dial(t, n.URL, hubtest.Token(t, "reader", protocol.RoleMember))
	reader.Join("demo", "R")
	text := strings.Repeat("x", 3000)
	for i := range 2000 {
		frame, _ := json.Marshal(hubtest.Event{"type": "send", "room": "demo", "text": text, "id": fmt.Sprint("f", i)})
		if flooder.WS.Write(t.Context(), websocket.MessageText, frame) != nil {
			break // closed for flooding
		}
	}
	e := flooder.Until(func(e hubtest.Event) bool { return e.Str("code") == "rate_limited" })
	if e.Num("retry_after_ms") <= 0 {
		t.Fatalf("rate_limited without retry_after_ms: %v", e)
	}
	if code := flooder.Closed(); int(code) != int(protocol.CloseTooManyRequests) {
		t.Fatalf("flooder close status %d, want 4429", code)
	}
	if r := reader.Request(hubtest.Event{"type": "ping"}); r.Str("type") != "pong" {
		t.Fatalf("the reader was affected: %v", r)
	}
	if n.Hub.Stats().SlowConsumers != 0 {
		t.Fatalf("%d slow-consumer disconnects; the flood must not cut readers off", n.Hub.Stats().SlowConsumers)
	}
}
