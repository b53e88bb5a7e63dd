package httpapi_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"hearth/internal/auth"
	"hearth/internal/httpapi"
	"hearth/internal/protocol"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logged starts a handler for cfg (Hub, Verifier and Static filled in
// when empty) that logs JSON at debug level into the returned buffer.
func logged(t *testing.T, cfg httpapi.Config) (*httptest.Server, *lockedBuffer) {
	t.Helper()
	v, err := auth.NewVerifier(auth.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	buf := &lockedBuffer{}
	cfg.Hub, cfg.Verifier = acceptingHub{}, v
	cfg.Static = fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}}
	cfg.Logger = slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := httptest.NewServer(httpapi.New(cfg))
	t.Cleanup(s.Close)
	return s, buf
}

// Every response carries a request id, the caller's own when it looks like
// an id and a fresh one otherwise, and the request's log line carries the
// same id, the route pattern and the status — never the path or the
// query, which may hold codes.
func TestRequestID(t *testing.T) {
	s, buf := logged(t, httpapi.Config{})
	for _, tc := range []struct {
		name, in string
		kept     bool
	}{
		{"none", "", false},
		{"a uuid", "3f2b8c1e-9a4d-4b7e-8f10-2c6d5e7a9b01", true},
		{"nginx hex", "9f86d081884c7d659a2feaa0c55ad015", true},
		{"words", "my secret words", false},
		{"a quote", `x"y`, false},
		{"too long", strings.Repeat("a", 65), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/healthz?code=invite-Q7Z", nil)
			if tc.in != "" {
				req.Header.Set(httpapi.RequestIDHeader, tc.in)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			id := resp.Header.Get(httpapi.RequestIDHeader)
			if tc.kept && id != tc.in || !tc.kept && (id == "" || id == tc.in || len(id) > 64) {
				t.Fatalf("X-Request-Id sent %q, answered %q", tc.in, id)
			}
			var line map[string]any
			for l := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("not JSON: %q", l)
				}
				if m["request_id"] == id {
					line = m
				}
			}
			if line == nil {
				t.Fatalf("no log line with request_id %q:\n%s", id, buf.String())
			}
			if line["msg"] != "request" || line["route"] != "GET /healthz" || line["status"] != float64(200) || line["method"] != "GET" {
				t.Errorf("request line %v", line)
			}
		})
	}
	if all := buf.String(); strings.Contains(all, "invite-Q7Z") || strings.Contains(all, "secret words") {
		t.Errorf("the log holds the query or a refused id:\n%s", all)
	}
}

// /metrics is served only when the node gives a Metrics handler: without
// one the route does not exist.
func TestMetricsRouteOnlyWhenConfigured(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hearth_up 1\n")) })
	for _, tc := range []struct {
		name    string
		handler http.Handler
		want    int
	}{{"nil", nil, http.StatusNotFound}, {"set", metrics, http.StatusOK}} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := logged(t, httpapi.Config{Metrics: tc.handler})
			resp, err := http.Get(s.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("GET /metrics = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// Once the node is draining, WebSocket upgrades are refused with 503
// shutting_down (and the TCP connection closed, so the client's next try
// goes through the load balancer again); the rest is still served.
func TestUpgradeRefusedWhileDraining(t *testing.T) {
	var draining atomic.Bool
	s, _ := logged(t, httpapi.Config{Draining: draining.Load})
	if status, code := upgrade(t, s.URL, "", protocol.Subprotocol); status != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade before draining: %d %s", status, code)
	}
	draining.Store(true)
	if status, code := upgrade(t, s.URL, "", protocol.Subprotocol); status != http.StatusServiceUnavailable || code != string(protocol.CodeShuttingDown) {
		t.Fatalf("upgrade while draining: %d %q, want 503 shutting_down", status, code)
	}
	resp, err := http.Get(s.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !resp.Close {
		t.Error("the refusal keeps the TCP connection open")
	}
	if resp, err := http.Get(s.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz while draining: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// Regression: a refused WebSocket's Origin header was logged whole, so a
// client could write 60 KB into the log with every request. It is cut to
// a bound.
func TestRefusedOriginLoggedShort(t *testing.T) {
	s, buf := logged(t, httpapi.Config{AllowedOrigins: []string{"https://chat.example.org:443"}})
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/ws", nil)
	for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": protocol.Subprotocol, "Origin": "https://" + strings.Repeat("a", 60_000) + ".example"} {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", res.StatusCode)
	}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if len(line) > 2000 {
			t.Errorf("a log line of %d bytes: %.200s…", len(line), line)
		}
	}
	if !strings.Contains(buf.String(), "websocket origin refused") {
		t.Fatalf("no refusal logged: %s", buf.String())
	}
}
