package node_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
)

// noLeaks checks, once the test and all its cleanups are done (nodes
// stopped, Redis gone), that no goroutine it started is left. Call it
// first.
func noLeaks(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })
}

// syncBuffer is a bytes.Buffer safe for the node's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A connection driven through sign-in, join, a message, a crisis word, a
// bad frame and its close leaves, at debug level, only JSON lines; every
// one of them names the connection (conn) or the HTTP request (request_id)
// it belongs to, and none holds the text, the display name or the token.
func TestLogsAreJSONWithIDsAndNoContent(t *testing.T) {
	noLeaks(t)
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n := hubtest.StartNode(t, hubtest.Options{Logger: log})
	const roomID, name = "room-logs", "Quokka Marigold"
	const text, trigger = "my cat is called Persimmon", "i want to kill myself"
	const badText = "half a frame about Tangerine"
	n.OpenRoom(t, roomID, "fac", "ana")
	start := len(buf.String()) // from here on, everything is the connection's doing

	token := hubtest.Token(t, "ana", protocol.RoleMember)
	ana := hubtest.Dial(t, n.URL, token)
	ana.Join(roomID, name)
	if e := ana.Request(hubtest.Event{"type": "send", "room": roomID, "text": text}); e.Str("type") != "ok" {
		t.Fatalf("send: %v", e)
	}
	if e := ana.Request(hubtest.Event{"type": "send", "room": roomID, "text": trigger}); e.Str("type") != "ok" {
		t.Fatalf("send: %v", e)
	}
	ana.UntilType(protocol.TypeCrisisResources)
	ana.WriteRaw([]byte(`{"type":"send","room":"` + roomID + `","text":"` + badText))
	ana.UntilType(protocol.TypeError)
	if err := ana.WS.CloseNow(); err != nil {
		t.Fatal(err)
	}
	// The connection's last line comes once the node has let it go.
	var lines []map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; {
		lines = nil
		for i, line := range strings.Split(strings.TrimSpace(buf.String()[start:]), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("line %d is not JSON: %v\n%s", i, err, line)
			}
			lines = append(lines, m)
		}
		if lines[len(lines)-1]["msg"] == "request" && n.Hub.Stats().Connections == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the connection's end was not logged within 30s:\n%s", buf.String()[start:])
		}
		time.Sleep(20 * time.Millisecond)
	}

	conns := map[any]bool{}
	seen := map[string]bool{}
	for _, m := range lines {
		msg, _ := m["msg"].(string)
		seen[msg] = true
		switch {
		case m["conn"] != nil:
			conns[m["conn"]] = true
		case m["request_id"] != nil:
			if msg != "request" || m["route"] != "GET /ws" || m["status"] != float64(http.StatusSwitchingProtocols) {
				t.Errorf("an HTTP line other than the upgrade's: %v", m)
			}
		default:
			t.Errorf("a line names neither the connection nor the request: %v", m)
		}
	}
	if len(conns) != 1 {
		t.Errorf("the lines name %d connections, want 1: %v", len(conns), conns)
	}
	// Not blind: the connection's steps are there, at debug level.
	for _, msg := range []string{"authenticated", "joined", "crisis alert", "frame refused", "connection ended", "request"} {
		if !seen[msg] {
			t.Errorf("no %q line:\n%s", msg, buf.String()[start:])
		}
	}
	all := buf.String()
	for _, secret := range []string{text, "Persimmon", trigger, "kill myself", badText, "Tangerine", name, "Quokka", token, token[len(token)-20:]} {
		if strings.Contains(all, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}
