package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeServer speaks just enough of protocol v1 to exercise the client. Its
// behaviour is chosen by the token and by the frames the client sends:
//
//	token "good"      welcome (heartbeat from fakeServer.heartbeatMS)
//	token "t-expired" error token_expired, then close 4401
//	token "t-silent"  close 4401 with no error frame
//	token "noisy"     welcome and a message event batched in one frame
//	bearer "good"     id-less welcome; any other bearer token: HTTP 401 JSON
//
//	join              joined (room "bad!" -> error invalid_room; room "agreed" ->
//	                  error agreement_required unless "agree" is agreedVersion;
//	                  display_name "Dr. Lee" -> error name_reserved); joined
//	                  carries epoch "e1" and the fake's seq; with resume_from
//	                  of epoch "e1" two messages after its seq follow joined
//	                  (resume replayed 2), of another epoch none (gap)
//	send              one frame: message event \n ok reply \n member_joined event
//	                  (text longer than 10 bytes -> error text_too_long)
//	leave             ok, or error not_joined for a room never joined
//	ping              pong
//	hold              no reply until the next "release", then the held reply, then ok
//	flood             as many member_left events as "room" says, in one frame
//	close             close with the code in "room"
//	drop              drop the TCP connection without a close frame
//	anything else     error unknown_type (bad_json without an id for non-JSON)
type fakeServer struct {
	*httptest.Server
	heartbeatMS int
	noSubproto  bool

	handlers sync.WaitGroup
	mu       sync.Mutex
	frames   []map[string]any // every client frame received, in order
	headers  []http.Header
}

func newFakeServer(t *testing.T, configure func(*fakeServer)) *fakeServer {
	t.Helper()
	fs := &fakeServer{heartbeatMS: 25000}
	if configure != nil {
		configure(fs)
	}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(func() {
		fs.Close()
		fs.handlers.Wait() // hijacked connections are not waited for by httptest
	})
	return fs
}

// agreedVersion is the version of the fake server's group agreement.
const agreedVersion = "0123456789abcdef"

func (fs *fakeServer) url() string { return "ws" + strings.TrimPrefix(fs.URL, "http") + "/ws" }

func (fs *fakeServer) received() []map[string]any {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]map[string]any(nil), fs.frames...)
}

func (fs *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.handlers.Add(1)
	defer fs.handlers.Done()
	fs.mu.Lock()
	fs.headers = append(fs.headers, r.Header.Clone())
	fs.mu.Unlock()

	bearer, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if hasBearer && bearer != "good" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"invalid_token","message":"Your sign-in token is not valid."}}`))
		return
	}
	opts := &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}, OriginPatterns: []string{"example.test"}}
	if fs.noSubproto {
		opts.Subprotocols = nil
	}
	conn, err := websocket.Accept(w, r, opts)
	if err != nil {
		return
	}
	defer func() { _ = conn.CloseNow() }()
	ctx := r.Context()
	write := func(lines ...string) bool {
		return conn.Write(ctx, websocket.MessageText, []byte(strings.Join(lines, "\n"))) == nil
	}
	welcome := `{"type":"welcome","role":"member","heartbeat_ms":` + strconv.Itoa(fs.heartbeatMS) + `}`

	if hasBearer {
		if !write(welcome) {
			return
		}
	} else {
		f, ok := fs.read(ctx, conn)
		if !ok {
			return
		}
		id, _ := f["id"].(string)
		welcome = `{"type":"welcome","id":` + strconv.Quote(id) + `,"role":"member","heartbeat_ms":` + strconv.Itoa(fs.heartbeatMS) + `}`
		switch f["token"] {
		case "good":
			write(welcome)
		case "noisy":
			write(welcome, `{"seq":1,"type":"message","room":"demo","message_id":"m0","from":{"member_id":"x","display_name":"X","role":"member"},"text":"early","ts":"2026-11-29T17:42:19.123Z"}`)
		case "t-expired":
			write(`{"type":"error","id":` + strconv.Quote(id) + `,"code":"token_expired","message":"Your sign-in token has expired. Please get a new link."}`)
			_ = conn.Close(4401, "unauthorized")
			return
		default:
			_ = conn.Close(4401, "unauthorized")
			return
		}
	}

	joined := map[string]bool{}
	var held string
	seq := 0
	for {
		f, ok := fs.read(ctx, conn)
		if !ok {
			return
		}
		if f == nil {
			write(`{"type":"error","code":"bad_json","message":"That frame is not a JSON object."}`)
			continue
		}
		id, _ := f["id"].(string)
		room, _ := f["room"].(string)
		qid, qroom := strconv.Quote(id), strconv.Quote(room)
		switch f["type"] {
		case "join":
			if room == "bad!" {
				write(`{"type":"error","id":` + qid + `,"room":` + qroom + `,"code":"invalid_room","message":"A room id is 1 to 64 letters, digits, '-' or '_'."}`)
				continue
			}
			if agree, _ := f["agree"].(string); room == "agreed" && agree != agreedVersion {
				write(`{"type":"error","id":` + qid + `,"room":` + qroom + `,"code":"agreement_required","message":"Please read the group agreement and accept it to join.",` +
					`"guidelines":{"text":"Our group agreement\n\nWhat is shared here stays here.\n- 988: call or text.","version":"` + agreedVersion + `"}}`)
				continue
			}
			name, _ := f["display_name"].(string)
			if name == "Dr. Lee" {
				write(`{"type":"error","id":` + qid + `,"room":` + qroom + `,"code":"name_reserved","message":"That name is kept for the group's facilitators or for Hearth itself. Please choose another."}`)
				continue
			}
			joined[room] = true
			me := `{"member_id":"k3v9","display_name":` + strconv.Quote(name) + `,"role":"member"}`
			var resume string
			var replay []string
			if rf, ok := f["resume_from"].(map[string]any); ok {
				resume = `,"resume":{"replayed":0,"gap":true}`
				if from, _ := rf["seq"].(float64); rf["epoch"] == "e1" {
					for i := range 2 {
						s := strconv.Itoa(int(from) + 1 + i)
						replay = append(replay, `{"seq":`+s+`,"type":"message","room":`+qroom+`,"message_id":"r`+s+`","from":{"member_id":"p0a8","display_name":"Dr. Lee","role":"facilitator"},"text":"missed `+s+`","ts":"2026-11-29T17:42:19.123Z"}`)
					}
					seq = max(seq, int(from)+2)
					resume = `,"resume":{"replayed":2,"gap":false}`
				}
			}
			write(append([]string{`{"type":"joined","id":` + qid + `,"room":` + qroom + `,"you":` + me +
				`,"members":[` + me + `,{"member_id":"p0a8","display_name":"Dr. Lee","role":"facilitator"}],"epoch":"e1","seq":` + strconv.Itoa(seq) + resume + `}`}, replay...)...)
		case "send":
			text, _ := f["text"].(string)
			if len(text) > 10 {
				write(`{"type":"error","id":` + qid + `,"room":` + qroom + `,"code":"text_too_long","message":"A message can be at most 10 characters long."}`)
				continue
			}
			seq++
			s := strconv.Itoa(seq)
			write(
				`{"seq":`+s+`,"type":"message","room":`+qroom+`,"message_id":"m`+s+`","from":{"member_id":"k3v9","display_name":"Robin","role":"member"},"text":`+strconv.Quote(text)+`,"ts":"2026-11-29T17:42:19.123Z"}`,
				`{"type":"ok","id":`+qid+`,"room":`+qroom+`,"message_id":"m`+s+`","seq":`+s+`}`,
				`{"seq":`+strconv.Itoa(seq+1)+`,"type":"member_joined","room":`+qroom+`,"member":{"member_id":"p0a8","display_name":"Dr. Lee","role":"facilitator"},"ts":"2026-11-29T17:42:20.001Z"}`,
			)
			seq++
		case "leave":
			if !joined[room] {
				write(`{"type":"error","id":` + qid + `,"room":` + qroom + `,"code":"not_joined","message":"You have not joined that room."}`)
				continue
			}
			delete(joined, room)
			write(`{"type":"ok","id":` + qid + `,"room":` + qroom + `}`)
		case "ping":
			write(`{"type":"pong","id":` + qid + `}`)
		case "hold":
			held = id
		case "release":
			write(`{"type":"pong","id":`+strconv.Quote(held)+`}`, `{"type":"ok","id":`+qid+`}`)
		case "flood":
			n, _ := strconv.Atoi(room)
			lines := make([]string, n)
			for i := range lines {
				lines[i] = `{"seq":` + strconv.Itoa(i+1) + `,"type":"member_left","room":"demo","member_id":"x","ts":"2026-11-29T17:45:00.500Z"}`
			}
			write(lines...)
		case "close":
			code, _ := strconv.Atoi(room)
			_ = conn.Close(websocket.StatusCode(code), "")
			return
		case "drop":
			return // the deferred CloseNow drops the connection without a close frame
		default:
			write(`{"type":"error","id":` + qid + `,"code":"unknown_type","message":"That frame type is not part of protocol hearth.v1."}`)
		}
	}
}

// read reads one client frame. It returns (nil, true) for a frame that is
// not a JSON object, and ok false when the connection ended.
func (fs *fakeServer) read(ctx context.Context, conn *websocket.Conn) (map[string]any, bool) {
	_, data, err := conn.Read(ctx)
	if err != nil {
		return nil, false
	}
	var f map[string]any
	if json.Unmarshal(data, &f) != nil {
		f = nil
	}
	fs.mu.Lock()
	fs.frames = append(fs.frames, f)
	fs.mu.Unlock()
	return f, true
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, fs *fakeServer, token string, opts *Options) *Client {
	t.Helper()
	c, err := Dial(testContext(t), fs.url(), token, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func nextEvent(t *testing.T, c *Client) Event {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		if !ok {
			t.Fatalf("Events closed: %v", c.Err())
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return Event{}
}

func noEvent(t *testing.T, c *Client) {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		if ok {
			t.Fatalf("unexpected event %s", ev.Raw)
		}
	case <-time.After(50 * time.Millisecond):
	}
}

func TestDialAuthFrame(t *testing.T) {
	fs := newFakeServer(t, func(fs *fakeServer) { fs.heartbeatMS = 30000 })
	c := dial(t, fs, "good", &Options{Header: http.Header{"Origin": {"http://example.test"}}})

	if got, want := c.Welcome(), (Welcome{Role: "member", HeartbeatMS: 30000}); got != want {
		t.Errorf("Welcome() = %+v, want %+v", got, want)
	}
	if got := c.Welcome().Heartbeat(); got != 30*time.Second {
		t.Errorf("Heartbeat() = %v, want 30s", got)
	}
	frames := fs.received()
	if len(frames) != 1 {
		t.Fatalf("server received %d frames, want 1 (auth)", len(frames))
	}
	auth := frames[0]
	if auth["type"] != "auth" || auth["token"] != "good" || auth["id"] == "" || auth["id"] == nil {
		t.Errorf("auth frame = %v, want type auth, token, and an id", auth)
	}
	if got := fs.headers[0].Get("Origin"); got != "http://example.test" {
		t.Errorf("Origin header = %q", got)
	}
	if got := fs.headers[0].Get("Sec-WebSocket-Protocol"); got != Subprotocol {
		t.Errorf("offered subprotocol = %q, want %q", got, Subprotocol)
	}
	if err, status := c.Err(), c.CloseStatus(); err != nil || status != 0 {
		t.Errorf("open connection: Err() = %v, CloseStatus() = %d; want nil, 0", err, status)
	}
}

func TestDialBearerHeader(t *testing.T) {
	fs := newFakeServer(t, nil)
	c := dial(t, fs, "good", &Options{BearerHeader: true})
	if got := fs.headers[0].Get("Authorization"); got != "Bearer good" {
		t.Errorf("Authorization = %q", got)
	}
	if err := c.Ping(testContext(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	frames := fs.received()
	if len(frames) != 1 || frames[0]["type"] != "ping" {
		t.Errorf("server received %v, want only the ping (no auth frame)", frames)
	}
}

func TestDialWelcomeBatchedWithEvent(t *testing.T) {
	fs := newFakeServer(t, nil)
	c := dial(t, fs, "noisy", nil)
	ev := nextEvent(t, c)
	if ev.Type != TypeMessage || ev.Text != "early" || ev.Seq != 1 {
		t.Errorf("event after welcome = %s", ev.Raw)
	}
}

func TestDialRefused(t *testing.T) {
	tests := []struct {
		name        string
		token       string
		opts        *Options
		noSubproto  bool
		httpStatus  int
		closeStatus int
		code        string // ServerError code; "" for none
	}{
		{name: "error frame then 4401", token: "t-expired", closeStatus: 4401, code: "token_expired"},
		{name: "4401 without error frame", token: "t-silent", closeStatus: 4401},
		{name: "bearer refused before upgrade", token: "t-forged", opts: &Options{BearerHeader: true}, httpStatus: 401, code: "invalid_token"},
		{name: "subprotocol not selected", token: "good", noSubproto: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer(t, func(fs *fakeServer) { fs.noSubproto = tt.noSubproto })
			c, err := Dial(testContext(t), fs.url(), tt.token, tt.opts)
			if err == nil {
				_ = c.Close()
				t.Fatal("Dial succeeded, want an error")
			}
			var de *DialError
			if !errors.As(err, &de) {
				t.Fatalf("Dial error %T %v is not a *DialError", err, err)
			}
			if de.HTTPStatus != tt.httpStatus || de.CloseStatus != tt.closeStatus {
				t.Errorf("HTTPStatus, CloseStatus = %d, %d; want %d, %d", de.HTTPStatus, de.CloseStatus, tt.httpStatus, tt.closeStatus)
			}
			var se *ServerError
			gotCode := ""
			if errors.As(err, &se) {
				gotCode = se.Code
				if se.Message == "" {
					t.Error("ServerError without a message")
				}
			}
			if gotCode != tt.code {
				t.Errorf("ServerError code = %q, want %q (err: %v)", gotCode, tt.code, err)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
}

// TestBatchedFrame checks that one server frame holding an event, a reply
// and another event, separated by '\n', is split, that the reply reaches the
// waiting Send, and that the two events arrive on Events in order.
func TestBatchedFrame(t *testing.T) {
	fs := newFakeServer(t, nil)
	c := dial(t, fs, "good", nil)
	ctx := testContext(t)

	j, err := c.Join(ctx, "demo", "Robin", nil)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	if j.Room != "demo" || j.You.DisplayName != "Robin" || len(j.Members) != 2 || j.Members[1].Role != RoleFacilitator {
		t.Errorf("Join = %+v", j)
	}

	res, err := c.Send(ctx, "demo", "Hello")
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res != (SendResult{MessageID: "m1", Seq: 1}) {
		t.Errorf("Send = %+v, want {m1 1}", res)
	}

	msg := nextEvent(t, c)
	if msg.Type != TypeMessage || msg.Room != "demo" || msg.Seq != 1 || msg.MessageID != "m1" ||
		msg.Text != "Hello" || msg.From != (Member{MemberID: "k3v9", DisplayName: "Robin", Role: RoleMember}) {
		t.Errorf("first event = %+v", msg)
	}
	if ts, err := msg.Time(); err != nil || !ts.Equal(time.Date(2026, 11, 29, 17, 42, 19, 123e6, time.UTC)) {
		t.Errorf("Time() = %v, %v", ts, err)
	}
	if !bytes.HasPrefix(msg.Raw, []byte(`{"seq":1,"type":"message"`)) || bytes.ContainsRune(msg.Raw, '\n') {
		t.Errorf("Raw = %s, want exactly the message line", msg.Raw)
	}
	joined := nextEvent(t, c)
	if joined.Type != TypeMemberJoined || joined.Seq != 2 || joined.Member.DisplayName != "Dr. Lee" {
		t.Errorf("second event = %+v", joined)
	}
	noEvent(t, c) // the ok reply went to Send, not to Events
}

func TestServerErrorReply(t *testing.T) {
	fs := newFakeServer(t, nil)
	c := dial(t, fs, "good", nil)
	ctx := testContext(t)
	if _, err := c.Join(ctx, "demo", "Robin", nil); err != nil {
		t.Fatalf("Join: %v", err)
	}
	tests := []struct {
		name string
		call func() error
		code string
		room string
	}{
		{"send too long", func() error { _, err := c.Send(ctx, "demo", "far too long a message"); return err }, "text_too_long", "demo"},
		{"join invalid room", func() error { _, err := c.Join(ctx, "bad!", "Robin", nil); return err }, "invalid_room", "bad!"},
		{"leave not joined", func() error { return c.Leave(ctx, "other") }, "not_joined", "other"},
		{"request unknown type", func() error {
			ev, err := c.Request(ctx, map[string]any{"type": "shout"})
			if ev.Type != TypeError {
				t.Errorf("Request returned event type %q, want error", ev.Type)
			}
			return err
		}, "unknown_type", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var se *ServerError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *ServerError", err)
			}
			if se.Code != tt.code || se.Room != tt.room || se.Message == "" {
				t.Errorf("ServerError = %+v, want code %q room %q", se, tt.code, tt.room)
			}
		})
	}
	// The connection is still usable and nothing leaked onto Events.
	if err := c.Leave(ctx, "demo"); err != nil {
		t.Errorf("Leave after errors: %v", err)
	}
	noEvent(t, c)
}

func TestRequestAndRaw(t *testing.T) {
	fs := newFakeServer(t, nil)
	c := dial(t, fs, "good", nil)
	ctx := testContext(t)

	// Request keeps a caller's id and matches the reply by it.
	ev, err := c.Request(ctx, map[string]any{"type": "ping", "id": "mine"})
	if err != nil || ev.Type != TypePong || ev.ID != "mine" {
		t.Errorf("Request with id = %+v, %v", ev, err)
	}
	// Request inserts an id into a struct frame that has none.
	ev, err = c.Request(ctx, struct {
		Type string `json:"type"`
	}{"ping"})
	if err != nil || ev.Type != TypePong || ev.ID == "" {
		t.Errorf("Request without id = %+v, %v", ev, err)
	}
	for _, bad := range []any{[]int{1}, map[string]any{"type": "ping", "id": 7}, map[string]any{"type": "ping", "id": ""}} {
		if _, err := c.Request(ctx, bad); err == nil {
			t.Errorf("Request(%v) succeeded, want an error", bad)
		}
	}

	// Replies to raw frames, and id-less errors, arrive on Events.
	if err := c.SendRaw(ctx, []byte(`{"type":"ping","id":"raw1"}`)); err != nil {
		t.Fatalf("SendRaw: %v", err)
	}
	if ev := nextEvent(t, c); ev.Type != TypePong || ev.ID != "raw1" {
		t.Errorf("reply to raw ping = %s", ev.Raw)
	}
	if err := c.SendRaw(ctx, []byte(`not json`)); err != nil {
		t.Fatalf("SendRaw: %v", err)
	}
	if ev := nextEvent(t, c); ev.Type != TypeError || ev.Code != "bad_json" || ev.ID != "" {
		t.Errorf("reply to malformed frame = %s", ev.Raw)
	}
	got := fs.received() // auth, ping "mine", ping with a generated id, raw1, not json
	if len(got) != 5 {
		t.Fatalf("server received %d frames, want 5: %v", len(got), got)
	}
	if id, _ := got[2]["id"].(string); id == "" || id == "mine" {
		t.Errorf("generated id = %q", id)
	}
	if got[3]["id"] != "raw1" || got[4] != nil {
		t.Errorf("raw frames = %v, %v", got[3], got[4])
	}
}

// TestAbandonedReply checks that a reply arriving after its request gave up
// is dropped rather than delivered on Events.
func TestAbandonedReply(t *testing.T) {
	fs := newFakeServer(t, nil)
	c := dial(t, fs, "good", nil)

	short, cancel := context.WithTimeout(testContext(t), 50*time.Millisecond)
	defer cancel()
	_, err := c.Request(short, map[string]any{"type": "hold"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("held request: err = %v, want DeadlineExceeded", err)
	}
	if _, err := c.Request(testContext(t), map[string]any{"type": "release"}); err != nil {
		t.Fatalf("release: %v", err)
	}
	noEvent(t, c)
}

func TestConnectionEnded(t *testing.T) {
	tests := []struct {
		name      string
		frame     string // sent with SendRaw to make the server end the connection
		status    int
		reconnect bool
	}{
		{"service restart", `{"type":"close","room":"1012"}`, 1012, true},
		{"try again later", `{"type":"close","room":"1013"}`, 1013, true},
		{"unauthorized", `{"type":"close","room":"4401"}`, 4401, false},
		{"hearth final", `{"type":"close","room":"4003"}`, 4003, false},
		{"hearth reconnect", `{"type":"close","room":"4503"}`, 4503, true},
		{"normal", `{"type":"close","room":"1000"}`, 1000, false},
		{"dropped", `{"type":"drop"}`, 1006, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer(t, nil)
			c := dial(t, fs, "good", nil)
			ctx := testContext(t)
			if err := c.SendRaw(ctx, []byte(tt.frame)); err != nil {
				t.Fatalf("SendRaw: %v", err)
			}
			for range c.Events() { // ends when Events is closed
			}
			if got := c.CloseStatus(); got != tt.status {
				t.Errorf("CloseStatus() = %d, want %d (Err: %v)", got, tt.status, c.Err())
			}
			if got := Reconnect(c.CloseStatus()); got != tt.reconnect {
				t.Errorf("Reconnect(%d) = %v, want %v", c.CloseStatus(), got, tt.reconnect)
			}
			if c.Err() == nil || errors.Is(c.Err(), ErrClosed) {
				t.Errorf("Err() = %v, want the reason the server ended it", c.Err())
			}
			if err := c.Ping(ctx); err == nil {
				t.Error("Ping after the connection ended succeeded")
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close after the connection ended: %v", err)
			}
		})
	}
}

func TestHeartbeat(t *testing.T) {
	t.Run("lost", func(t *testing.T) {
		// The fake server never pings; the client gives up after 2×40ms.
		fs := newFakeServer(t, func(fs *fakeServer) { fs.heartbeatMS = 40 })
		c := dial(t, fs, "good", nil)
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("connection without heartbeat stayed open")
		}
		if !errors.Is(c.Err(), ErrHeartbeatTimeout) || c.CloseStatus() != 1006 {
			t.Errorf("Err, CloseStatus = %v, %d; want ErrHeartbeatTimeout, 1006", c.Err(), c.CloseStatus())
		}
	})
	t.Run("not blamed while the consumer stalls", func(t *testing.T) {
		fs := newFakeServer(t, func(fs *fakeServer) { fs.heartbeatMS = 100 })
		c := dial(t, fs, "good", nil)
		flood(t, c, EventBuffer+1) // one more than Events holds: the reader waits
		select {
		case <-c.Done():
			t.Fatalf("connection ended while the reader was waiting for the consumer: %v", c.Err())
		case <-time.After(600 * time.Millisecond): // 3× the 200ms heartbeat timeout
		}
		for range EventBuffer + 1 {
			nextEvent(t, c)
		}
		select { // caught up: now the silent server is noticed
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("connection without heartbeat stayed open")
		}
		if !errors.Is(c.Err(), ErrHeartbeatTimeout) {
			t.Errorf("Err() = %v, want ErrHeartbeatTimeout", c.Err())
		}
	})
	t.Run("kept alive by traffic", func(t *testing.T) {
		fs := newFakeServer(t, func(fs *fakeServer) { fs.heartbeatMS = 100 })
		c := dial(t, fs, "good", nil)
		for range 8 { // 8×50ms: well past the 200ms timeout
			time.Sleep(50 * time.Millisecond)
			if err := c.Ping(testContext(t)); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		}
	})
}

func TestClose(t *testing.T) {
	fs := newFakeServer(t, nil)
	c, err := Dial(testContext(t), fs.url(), "good", nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	ctx := testContext(t)
	if _, err := c.Join(ctx, "demo", "Robin", nil); err != nil {
		t.Fatalf("Join: %v", err)
	}
	if _, err := c.Send(ctx, "demo", "hi"); err != nil { // leaves unread events buffered
		t.Fatalf("Send: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed after Close")
	}
	if !errors.Is(c.Err(), ErrClosed) || c.CloseStatus() != 1000 {
		t.Errorf("Err, CloseStatus = %v, %d; want ErrClosed, 1000", c.Err(), c.CloseStatus())
	}
	if _, err := c.Send(ctx, "demo", "late"); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
	fs.Close()
	fs.handlers.Wait()
	goleak.VerifyNone(t)
}

// A smaller Options.EventBuffer holds that many events, then the reader
// waits — it drops nothing — and every event still arrives, in order.
func TestOptionsEventBuffer(t *testing.T) {
	fs := newFakeServer(t, nil)
	c, err := Dial(testContext(t), fs.url(), "good", &Options{EventBuffer: 4})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if cap(c.Events()) != 4 {
		t.Fatalf("Events holds %d, want 4", cap(c.Events()))
	}
	flood(t, c, 50) // returns once Events holds its 4
	for i := range 50 {
		if ev := nextEvent(t, c); ev.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d: want every event, in order", i+1, ev.Seq)
		}
	}
}

// TestCloseWhileReaderBlocked checks that Close stops a reader goroutine
// that is waiting for room on a full Events channel.
func TestCloseWhileReaderBlocked(t *testing.T) {
	fs := newFakeServer(t, nil)
	c, err := Dial(testContext(t), fs.url(), "good", nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	flood(t, c, EventBuffer+1)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	fs.Close()
	fs.handlers.Wait()
	goleak.VerifyNone(t)
}

// flood makes the server send n events in one frame and waits until Events
// is full or holds them all.
func flood(t *testing.T, c *Client, n int) {
	t.Helper()
	if err := c.SendRaw(testContext(t), []byte(`{"type":"flood","room":"`+strconv.Itoa(n)+`"}`)); err != nil {
		t.Fatalf("SendRaw: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(c.Events()) < min(n, cap(c.Events())) {
		if time.Now().After(deadline) {
			t.Fatalf("Events holds %d events, want %d", len(c.Events()), min(n, cap(c.Events())))
		}
		time.Sleep(time.Millisecond)
	}
}

func TestReconnect(t *testing.T) {
	tests := []struct {
		code int
		want bool
	}{
		{1000, false}, {1001, true}, {1002, false}, {1003, false}, {1005, true},
		{1006, true}, {1008, false}, {1009, false}, {1010, false}, {1011, true},
		{1012, true}, {1013, true}, {1014, true}, {1015, false}, {4000, false},
		{4401, false}, {4499, false}, {4500, true}, {4999, true}, {5000, false},
		{0, false}, {-1, false},
	}
	for _, tt := range tests {
		if got := Reconnect(tt.code); got != tt.want {
			t.Errorf("Reconnect(%d) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		types []string
	}{
		{"one", `{"type":"pong","id":"p1"}`, []string{"pong"}},
		{"three", "{\"type\":\"a\"}\n{\"type\":\"b\"}\n{\"type\":\"c\"}", []string{"a", "b", "c"}},
		{"trailing newline and blank lines", "{\"type\":\"a\"}\n\n  \n{\"type\":\"b\"}\n", []string{"a", "b"}},
		{"not JSON keeps Raw", "{\"type\":\"a\"}\nnope\n{\"seq\":\"x\",\"type\":\"b\"}", []string{"a", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := decodeFrame([]byte(tt.frame))
			var types []string
			for _, ev := range evs {
				types = append(types, ev.Type)
				if len(ev.Raw) == 0 {
					t.Errorf("event without Raw")
				}
			}
			if strings.Join(types, ",") != strings.Join(tt.types, ",") {
				t.Errorf("types = %q, want %q", types, tt.types)
			}
		})
	}
}

func TestWithID(t *testing.T) {
	n := 0
	newID := func() string { n++; return "c" + strconv.Itoa(n) }
	tests := []struct {
		in, out, id string
	}{
		{`{"type":"ping"}`, `{"id":"c1","type":"ping"}`, "c1"},
		{`{}`, `{"id":"c2"}`, "c2"},
		{`{"id":"x","type":"ping"}`, `{"id":"x","type":"ping"}`, "x"},
	}
	for _, tt := range tests {
		out, id, err := withID([]byte(tt.in), newID)
		if err != nil || string(out) != tt.out || id != tt.id {
			t.Errorf("withID(%s) = %s, %q, %v; want %s, %q", tt.in, out, id, err, tt.out, tt.id)
		}
	}
}

// TestSharingState checks that room_state, queue and joined give their state
// the same shape (State, Share), and that Join sends JoinOptions.As as "as".
func TestSharingState(t *testing.T) {
	frame := strings.Join([]string{
		`{"type":"joined","id":"j1","room":"demo","you":{"member_id":"k3v9","display_name":"Robin","role":"member"},"members":[],` +
			`"state":{"type":"room_state","room":"demo","phase":"open","locked":false,"slow_mode_sec":0,"waiting_room":false,"mode":"open"},` +
			`"share":{"type":"queue","room":"demo","version":7,"queue":["b3n0"],"observers":["c1e0"]}}`,
		`{"seq":3,"type":"room_state","room":"demo","phase":"open","locked":true,"slow_mode_sec":0,"waiting_room":false,"mode":"rounds","share_timer_sec":120}`,
		`{"seq":4,"type":"queue","room":"demo","version":8,"queue":[],"floor":"b3n0","turn_started":"2026-11-29T19:02:10.000Z","timer_sec":120,"observers":[]}`,
		`{"type":"timer_elapsed","room":"demo","member_id":"b3n0","timer_sec":120}`,
		`{"seq":5,"type":"message","room":"demo","message_id":"m1","text":"hi"}`,
	}, "\n")
	evs := decodeFrame([]byte(frame))
	if len(evs) != 5 {
		t.Fatalf("%d events", len(evs))
	}
	j, rs, q, te, msg := evs[0], evs[1], evs[2], evs[3], evs[4]
	if j.State == nil || j.State.Mode != ModeOpen || j.Share == nil || j.Share.Version != 7 ||
		strings.Join(j.Share.Queue, ",") != "b3n0" || strings.Join(j.Share.Observers, ",") != "c1e0" {
		t.Errorf("joined: State %+v, Share %+v", j.State, j.Share)
	}
	if rs.State == nil || rs.State.Mode != ModeRounds || rs.State.ShareTimerSec != 120 || !rs.State.Locked || rs.Share != nil {
		t.Errorf("room_state: State %+v, Share %+v", rs.State, rs.Share)
	}
	if q.Share == nil || q.Share.Version != 8 || q.Share.Floor != "b3n0" || q.Share.TimerSec != 120 || len(q.Share.Queue) != 0 || q.State != nil {
		t.Errorf("queue: Share %+v, State %+v", q.Share, q.State)
	}
	if te.Type != TypeTimerElapsed || te.MemberID != "b3n0" || te.TimerSec != 120 {
		t.Errorf("timer_elapsed: %+v", te)
	}
	if msg.State != nil || msg.Share != nil {
		t.Errorf("message has State %+v, Share %+v", msg.State, msg.Share)
	}

	fs := newFakeServer(t, nil)
	c := dial(t, fs, "good", nil)
	if _, err := c.Join(testContext(t), "demo", "Robin", &JoinOptions{As: AsObserver}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Join(testContext(t), "other", "Robin", nil); err != nil {
		t.Fatal(err)
	}
	got := fs.received()
	if len(got) != 3 || got[1]["as"] != AsObserver {
		t.Fatalf("frames %v: Join did not send \"as\":\"observer\"", got)
	}
	if _, has := got[2]["as"]; has {
		t.Errorf("Join sent %v; want no \"as\" (keep the presence the member has)", got[2])
	}
}

// TestJoinAgreement checks that agreement_required comes back as a
// *ServerError carrying the agreement, that Join sends JoinOptions.Agree as
// "agree" (and nothing when it is empty), and that a name refusal carries
// the server's sentence and no agreement.
func TestJoinAgreement(t *testing.T) {
	fs := newFakeServer(t, nil)
	c := dial(t, fs, "good", nil)
	ctx := testContext(t)

	_, err := c.Join(ctx, "agreed", "Robin", nil)
	var se *ServerError
	if !errors.As(err, &se) || se.Code != "agreement_required" || se.Room != "agreed" || se.Message == "" {
		t.Fatalf("Join without agree: %v, want agreement_required", err)
	}
	if se.Guidelines == nil || se.Guidelines.Version != agreedVersion ||
		se.Guidelines.Text != "Our group agreement\n\nWhat is shared here stays here.\n- 988: call or text." {
		t.Fatalf("Guidelines = %+v", se.Guidelines)
	}
	if _, err := c.Join(ctx, "agreed", "Robin", &JoinOptions{Agree: "fedcba9876543210"}); !errors.As(err, &se) || se.Code != "agreement_required" {
		t.Fatalf("Join with an old version: %v, want agreement_required", err)
	}
	j, err := c.Join(ctx, "agreed", "Robin", &JoinOptions{Agree: se.Guidelines.Version})
	if err != nil || j.Room != "agreed" {
		t.Fatalf("Join with agree: %+v, %v", j, err)
	}

	_, err = c.Join(ctx, "demo", "Dr. Lee", nil)
	if !errors.As(err, &se) || se.Code != "name_reserved" || !strings.HasPrefix(se.Message, "That name is kept") || se.Guidelines != nil {
		t.Fatalf("Join as Dr. Lee: %v (%+v), want name_reserved without guidelines", err, se)
	}

	got := fs.received()
	var agrees []string
	for _, f := range got[1:] {
		a, has := f["agree"]
		if !has {
			a = "-"
		}
		agrees = append(agrees, a.(string))
	}
	if want := "-,fedcba9876543210," + agreedVersion + ",-"; strings.Join(agrees, ",") != want {
		t.Errorf("join frames had agree %q, want %q (absent: -)", strings.Join(agrees, ","), want)
	}
}

// TestJoinResume checks that Join sends JoinOptions.ResumeFrom as
// "resume_from" and Hidden as "hidden" (neither when unset), and returns
// joined's epoch, seq and resume, with the replayed events on Events.
func TestJoinResume(t *testing.T) {
	fs := newFakeServer(t, nil)
	c := dial(t, fs, "good", nil)
	ctx := testContext(t)

	j, err := c.Join(ctx, "demo", "Robin", nil)
	if err != nil || j.Epoch != "e1" || j.Seq != 0 || j.Resume != nil {
		t.Fatalf("Join = %+v, %v; want epoch e1, seq 0, no resume", j, err)
	}
	j, err = c.Join(ctx, "demo", "Robin", &JoinOptions{ResumeFrom: &ResumePoint{Epoch: j.Epoch, Seq: 40}, Hidden: []string{"s4m0"}})
	if err != nil || j.Epoch != "e1" || j.Seq != 42 || j.Resume == nil || *j.Resume != (Resume{Replayed: 2}) {
		t.Fatalf("resuming Join = %+v (resume %+v), %v; want seq 42, 2 replayed, no gap", j, j.Resume, err)
	}
	for _, want := range []uint64{41, 42} {
		if ev := nextEvent(t, c); ev.Type != TypeMessage || ev.Seq != want || ev.Text != fmt.Sprint("missed ", want) {
			t.Fatalf("replayed event = %+v, want the message of seq %d", ev, want)
		}
	}
	j, err = c.Join(ctx, "demo", "Robin", &JoinOptions{ResumeFrom: &ResumePoint{Epoch: "e0", Seq: 3}})
	if err != nil || j.Resume == nil || *j.Resume != (Resume{Gap: true}) {
		t.Fatalf("Join resuming another epoch = %+v (resume %+v), %v; want a gap", j, j.Resume, err)
	}
	noEvent(t, c)

	got := fs.received()
	if len(got) != 4 {
		t.Fatalf("frames %v", got)
	}
	for _, k := range []string{"resume_from", "hidden"} {
		if _, has := got[1][k]; has {
			t.Errorf("a plain Join sent %q: %v", k, got[1])
		}
	}
	if rf, _ := got[2]["resume_from"].(map[string]any); rf["epoch"] != "e1" || rf["seq"] != 40.0 || fmt.Sprint(got[2]["hidden"]) != "[s4m0]" {
		t.Errorf("resuming join frame = %v", got[2])
	}
	if _, has := got[3]["hidden"]; has {
		t.Errorf("Join without Hidden sent hidden: %v", got[3])
	}
}
