package httpapi_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hearth/internal/auth"
	"hearth/internal/config"
	"hearth/internal/hubtest"
	"hearth/internal/node"
	"hearth/internal/protocol"
	"hearth/static"
)

// realNode starts a whole embedded node — hub, rooms, check-ins and the
// real web client — serving the handler under test, with the allowed
// origins given (nil: the server's own host only). It stops when the test
// ends.
func realNode(t *testing.T, origins ...string) *httptest.Server {
	t.Helper()
	allowed, err := config.ParseOrigins(strings.Join(origins, ","))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nd, err := node.New(ctx, node.Config{DataDir: t.TempDir(), Auth: auth.Config{Secret: hubtest.Secret}, AllowedOrigins: allowed, Static: static.FS})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(nd.Handler)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = nd.Hub.Shutdown(sctx)
		srv.Close()
		_ = nd.Close()
	})
	return srv
}

func wsURL(s *httptest.Server) string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/ws" }

// dialWS upgrades with the given headers, offering hearth.v1; it returns the
// connection (nil when refused), the HTTP status and the refusal's code.
func dialWS(t *testing.T, url string, h http.Header, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, string) {
	t.Helper()
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	opts.HTTPHeader, opts.Subprotocols = h, []string{protocol.Subprotocol}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		var body struct{ Error struct{ Code string } }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return nil, resp, body.Error.Code
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	return ws, resp, ""
}

// roundTrip writes frame and returns the next server event.
func roundTrip(t *testing.T, ws *websocket.Conn, frame string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	_, data, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(string(data), "\n", 2)[0]), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestOriginsOnTheRealEndpoint: with HEARTH_ALLOWED_ORIGINS set, only those
// origins open a WebSocket at the real /ws — compared on scheme, host and
// port, so look-alike hosts, the other scheme, another port, "null", user
// info and lists are refused with 403 origin_refused; an accepted one then
// authenticates as usual. Without the list only the server's own host and
// port may. A request without Origin (no browser sends one) is upgraded, and
// must still authenticate.
func TestOriginsOnTheRealEndpoint(t *testing.T) {
	listed := realNode(t, "https://example.com", "http://localhost:5173")
	same := realNode(t)
	sameHost := strings.TrimPrefix(same.URL, "http://")
	token := hubtest.Token(t, "u1", protocol.RoleMember)
	cases := []struct {
		name    string
		srv     *httptest.Server
		origins []string // Origin headers sent; none: no header
		ok      bool
	}{
		{"listed origin", listed, []string{"https://example.com"}, true},
		{"listed origin, default port written out", listed, []string{"https://example.com:443"}, true},
		{"listed origin in capitals", listed, []string{"https://EXAMPLE.com"}, true},
		{"second listed origin", listed, []string{"http://localhost:5173"}, true},
		{"http instead of https", listed, []string{"http://example.com"}, false},
		{"https instead of http", listed, []string{"https://localhost:5173"}, false},
		{"another port", listed, []string{"https://example.com:8443"}, false},
		{"port with a leading zero", listed, []string{"https://example.com:0443"}, false},
		{"look-alike: evil-example.com", listed, []string{"https://evil-example.com"}, false},
		{"look-alike: example.com.evil.net", listed, []string{"https://example.com.evil.net"}, false},
		{"look-alike: sub.example.com", listed, []string{"https://www.example.com"}, false},
		{"look-alike: trailing dot", listed, []string{"https://example.com."}, false},
		{"look-alike: Cyrillic a", listed, []string{"https://ex\u0430mple.com"}, false},
		{"look-alike: punycode", listed, []string{"https://xn--exmple-4nf.com"}, false},
		{"user info", listed, []string{"https://example.com@evil.net"}, false},
		{"a path", listed, []string{"https://example.com/chat"}, false},
		{"a list in one header", listed, []string{"https://example.com https://evil.net"}, false},
		{"two Origin headers", listed, []string{"https://example.com", "https://evil.net"}, false},
		{"Origin: null", listed, []string{"null"}, false},
		{"empty Origin", listed, []string{""}, false},
		{"another scheme", listed, []string{"file://example.com"}, false},
		{"the server's own host, when a list is set", listed, []string{"http://" + strings.TrimPrefix(listed.URL, "http://")}, false},
		{"no Origin (a non-browser client)", listed, nil, true},
		{"same host and port", same, []string{"http://" + sameHost}, true},
		{"same host, another port", same, []string{"http://127.0.0.1:1"}, false},
		{"same port, another host", same, []string{"http://evil.example:" + strings.Split(sameHost, ":")[1]}, false},
		{"Origin: null, no list", same, []string{"null"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, o := range tc.origins {
				h.Add("Origin", o)
			}
			ws, resp, code := dialWS(t, wsURL(tc.srv), h, nil)
			if !tc.ok {
				if ws != nil || resp.StatusCode != http.StatusForbidden || code != string(protocol.CodeOriginRefused) {
					t.Fatalf("got %d %q, want 403 origin_refused", resp.StatusCode, code)
				}
				return
			}
			if ws == nil {
				t.Fatalf("refused: %d %q", resp.StatusCode, code)
			}
			if ev := roundTrip(t, ws, `{"type":"join","id":"j","room":"demo","display_name":"X"}`); ev["code"] != "not_authenticated" {
				t.Fatalf("a command before auth: %v, want not_authenticated", ev)
			}
			if ev := roundTrip(t, ws, `{"type":"auth","id":"a","token":"`+token+`"}`); ev["type"] != "welcome" {
				t.Fatalf("auth: %v, want welcome", ev)
			}
		})
	}
}

// TestCompressionIsNeverNegotiated: a client offering permessage-deflate
// gets an upgrade without it (compressed frames of secret text next to
// attacker-chosen text leak through their length, as in CRIME/BREACH).
func TestCompressionIsNeverNegotiated(t *testing.T) {
	srv := realNode(t)
	for _, mode := range []websocket.CompressionMode{websocket.CompressionContextTakeover, websocket.CompressionNoContextTakeover} {
		ws, resp, code := dialWS(t, wsURL(srv), nil, &websocket.DialOptions{CompressionMode: mode})
		if ws == nil {
			t.Fatalf("refused: %d %s", resp.StatusCode, code)
		}
		if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
			t.Fatalf("the server negotiated %q", ext)
		}
	}
	// And a raw upgrade offering it, as a browser does.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ws", nil)
	for k, v := range map[string]string{
		"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": protocol.Subprotocol,
		"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Extensions") != "" {
		t.Fatalf("status %d, extensions %q; want 101 without extensions", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Extensions"))
	}
}

// TestTokensAreNotReadFromURLs: a token in the query string is ignored by
// the WebSocket (the connection is not authenticated by it) and by the REST
// API (401): tokens would end up in access logs, proxies and histories.
func TestTokensAreNotReadFromURLs(t *testing.T) {
	srv := realNode(t)
	token := hubtest.Token(t, "u1", protocol.RoleFacilitator)
	ws, resp, code := dialWS(t, wsURL(srv)+"?token="+token+"&access_token="+token, nil, nil)
	if ws == nil {
		t.Fatalf("refused: %d %s", resp.StatusCode, code)
	}
	if ev := roundTrip(t, ws, `{"type":"join","id":"j","room":"demo","display_name":"X"}`); ev["code"] != "not_authenticated" {
		t.Fatalf("with a token in the URL: %v, want not_authenticated", ev)
	}
	for _, q := range []string{"?token=", "?access_token=", "?jwt="} {
		resp, err := http.Get(srv.URL + "/api/rooms" + q + token)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /api/rooms%s<token>: %d, want 401", q, resp.StatusCode)
		}
	}
}

// routePattern finds the routes registered in this package's source:
// mux.HandleFunc("GET /ws", …), handle("POST /api/rooms", …) and the like.
var routePattern = regexp.MustCompile(`(?:HandleFunc|Handle|handle)\("([A-Z]+) (/[^"]*)"`)

// sourceRoutes lists "METHOD /path" of every route registered in the
// package's non-test files.
func sourceRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range routePattern.FindAllStringSubmatch(string(b), -1) {
			routes = append(routes, m[1]+" "+m[2])
		}
	}
	slices.Sort(routes)
	return routes
}

// TestSecurityHeadersOnEveryRealRoute: every response of the real handler
// — every route registered in this package (found in its source, so a new
// route cannot be forgotten here), each with and without a token, every
// static file of the web client, the refused /ws upgrades, 404s and 405s —
// carries the security headers: CSP default-src 'self' and
// frame-ancestors 'none', Referrer-Policy no-referrer,
// X-Content-Type-Options nosniff, X-Frame-Options DENY.
func TestSecurityHeadersOnEveryRealRoute(t *testing.T) {
	srv := realNode(t)
	// Every route, with a sample for each path value ({id}, {user}, …).
	pathValue := regexp.MustCompile(`\{[A-Za-z_]+\}`)
	routes := sourceRoutes(t)
	if len(routes) < 20 {
		t.Fatalf("found only %d routes in the source; the pattern no longer matches how routes are registered", len(routes))
	}
	type req struct{ method, path string }
	var reqs []req
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		path = pathValue.ReplaceAllString(path, "x1")
		reqs = append(reqs, req{method, path})
	}
	// Every static file.
	if err := fs.WalkDir(static.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			reqs = append(reqs, req{"GET", "/" + p})
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Errors and refusals.
	reqs = append(reqs, req{"GET", "/no-such-file"}, req{"GET", "/api/no-such-route"}, req{"POST", "/api/no-such-route"},
		req{"POST", "/healthz"}, req{"DELETE", "/"}, req{"PUT", "/ws"}, req{"GET", "/ws"}, req{"GET", "/../../etc/passwd"})

	token := hubtest.Token(t, "header-check", protocol.RoleFacilitator)
	check := func(name string, resp *http.Response) {
		t.Helper()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s (%d): security headers missing: CSP %q, Referrer-Policy %q, X-Content-Type-Options %q, X-Frame-Options %q",
				name, resp.StatusCode, csp, h.Get("Referrer-Policy"), h.Get("X-Content-Type-Options"), h.Get("X-Frame-Options"))
		}
	}
	for _, r := range reqs {
		for _, authz := range []string{"", "Bearer " + token} {
			hr, _ := http.NewRequest(r.method, srv.URL+r.path, nil)
			if authz != "" {
				hr.Header.Set("Authorization", authz)
			}
			resp, err := http.DefaultClient.Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			check(r.method+" "+r.path+map[bool]string{true: " (with a token)", false: ""}[authz != ""], resp)
		}
	}
	// Upgrades refused before the hub: no subprotocol, a foreign origin, a
	// bad bearer token.
	for name, h := range map[string]http.Header{
		"foreign origin":   {"Origin": {"https://evil.example"}},
		"bad bearer token": {"Authorization": {"Bearer nope"}},
	} {
		ws, resp, _ := dialWS(t, wsURL(srv), h, nil)
		if ws != nil {
			t.Fatalf("%s: upgraded", name)
		}
		check("/ws upgrade with a "+name, resp)
	}
	_, resp, _ := websocket.Dial(context.Background(), wsURL(srv), nil) // no subprotocol
	if resp == nil {
		t.Fatal("no response to an upgrade without subprotocol")
	}
	check("/ws upgrade without subprotocol", resp)
}
