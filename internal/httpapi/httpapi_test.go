package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/coder/websocket"

	"hearth/internal/auth"
	"hearth/internal/httpapi"
	"hearth/internal/protocol"
)

// acceptingHub answers every upgraded socket with a normal close, so a test
// can tell an accepted upgrade from a refused one.
type acceptingHub struct{}

func (acceptingHub) Serve(_ context.Context, ws *websocket.Conn, _ *auth.Identity) {
	_ = ws.Close(websocket.StatusNormalClosure, "")
}

func server(t *testing.T, origins []string) *httptest.Server {
	v, err := auth.NewVerifier(auth.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(httpapi.New(httpapi.Config{
		Hub: acceptingHub{}, Verifier: v, AllowedOrigins: origins,
		Static: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}},
	}))
	t.Cleanup(s.Close)
	return s
}

// upgrade attempts a WebSocket upgrade and returns the HTTP status and the
// error code of a refusal.
func upgrade(t *testing.T, url, origin string, subprotocols ...string) (int, string) {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ws, resp, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(url, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: h, Subprotocols: subprotocols})
	if err == nil {
		_ = ws.CloseNow()
		return http.StatusSwitchingProtocols, ""
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	var body struct{ Error struct{ Code string } }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error.Code
}

func TestUpgradeChecks(t *testing.T) {
	same := server(t, nil)
	host := strings.TrimPrefix(same.URL, "http://")
	listed := server(t, []string{"https://chat.example.org:443"})
	cases := []struct {
		name   string
		srv    *httptest.Server
		origin string
		subs   []string
		status int
		code   string
	}{
		{"no subprotocol", same, "", nil, 400, "subprotocol_required"},
		{"other subprotocol", same, "", []string{"chat.v2"}, 400, "subprotocol_required"},
		{"no Origin (non-browser client)", same, "", []string{protocol.Subprotocol}, 101, ""},
		{"same host", same, "http://" + host, []string{protocol.Subprotocol}, 101, ""},
		{"same host, other port", same, "http://127.0.0.1:1", []string{protocol.Subprotocol}, 403, "origin_refused"},
		{"other host", same, "http://evil.example", []string{protocol.Subprotocol}, 403, "origin_refused"},
		{"Origin null", same, "null", []string{protocol.Subprotocol}, 403, "origin_refused"},
		{"listed origin", listed, "https://chat.example.org", []string{protocol.Subprotocol}, 101, ""},
		{"listed host, other scheme", listed, "http://chat.example.org", []string{protocol.Subprotocol}, 403, "origin_refused"},
		{"look-alike host", listed, "https://chat.example.org.evil.example", []string{protocol.Subprotocol}, 403, "origin_refused"},
		{"own host when a list is set", listed, "http://" + strings.TrimPrefix(listed.URL, "http://"), []string{protocol.Subprotocol}, 403, "origin_refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, code := upgrade(t, tc.srv.URL, tc.origin, tc.subs...)
			if status != tc.status || code != tc.code {
				t.Fatalf("got %d %q, want %d %q", status, code, tc.status, tc.code)
			}
		})
	}
}

func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	s := server(t, nil)
	for _, path := range []string{"/", "/index.html", "/healthz", "/readyz", "/ws", "/no-such-file"} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for k, want := range map[string]string{
			"Content-Security-Policy": httpapi.ContentSecurityPolicy,
			"Referrer-Policy":         "no-referrer",
			"X-Content-Type-Options":  "nosniff",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
}
