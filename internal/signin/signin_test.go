package signin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"hearth/internal/hubtest"
	"hearth/internal/oidctest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
	"hearth/internal/signin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// browser is a cookie-keeping HTTP client that follows redirects one by
// one, so a test sees every hop (and every Set-Cookie) of a sign-in.
type browser struct {
	t      *testing.T
	c      *http.Client
	origin string // sent as Origin on POSTs; empty: none
}

func newBrowser(t *testing.T, origin string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{t: t, origin: origin, c: &http.Client{Jar: jar, Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// hop is one response of a redirect chain, its body read.
type hop struct {
	url     string
	status  int
	header  http.Header
	cookies []*http.Cookie
	body    string
}

func (b *browser) get(u string) hop {
	b.t.Helper()
	return b.do(http.MethodGet, u, "")
}

func (b *browser) do(method, u, body string) hop {
	b.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if method != http.MethodGet && b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return hop{url: u, status: res.StatusCode, header: res.Header, cookies: res.Cookies(), body: string(data)}
}

// follow GETs u and follows redirects (at most 10), returning every hop.
func (b *browser) follow(u string) []hop {
	b.t.Helper()
	var hops []hop
	for range 10 {
		h := b.get(u)
		hops = append(hops, h)
		loc := h.header.Get("Location")
		if h.status < 300 || h.status > 399 || loc == "" {
			return hops
		}
		next, err := url.Parse(u)
		if err != nil {
			b.t.Fatal(err)
		}
		ref, err := next.Parse(loc)
		if err != nil {
			b.t.Fatal(err)
		}
		ref.Fragment = "" // a browser keeps it for the page, never sends it
		u = ref.String()
	}
	b.t.Fatalf("more than 10 redirects from %s", hops[0].url)
	return nil
}

// jsonOf decodes a hop's JSON body.
func (h hop) jsonOf(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(h.body), &m); err != nil {
		t.Fatalf("%s: %d %q is not JSON: %v", h.url, h.status, h.body, err)
	}
	return m
}

// errCode is the code of a JSON error body.
func (h hop) errCode(t *testing.T) string {
	t.Helper()
	e, _ := h.jsonOf(t)["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// setup starts a test provider and a node that signs in through it.
type setup struct {
	idp  *oidctest.Provider
	node *hubtest.Node
}

func start(t *testing.T, redisURL string, ticketTTL time.Duration) setup {
	t.Helper()
	idp := oidctest.Start(t, oidctest.Options{ClientSecret: "test-client-secret-0123456789"})
	n := hubtest.StartNode(t, hubtest.Options{RedisURL: redisURL, OIDCIssuer: idp.URL, OIDCClientID: idp.ClientID,
		OIDCClientSecret: idp.ClientSecret, SignInTicketTTL: ticketTTL})
	idp.AllowRedirect(n.HTTP + signin.CallbackPath)
	return setup{idp: idp, node: n}
}

// signIn runs the whole sign-in from the page's Sign in link and returns
// its hops; the last is the page at next.
func (s setup) signIn(t *testing.T, b *browser, next string) []hop {
	t.Helper()
	hops := b.follow(s.node.HTTP + signin.LoginPath + "?next=" + url.QueryEscape(next))
	if len(hops) != 4 {
		t.Fatalf("sign-in took %d hops, want 4 (login, provider, callback, page): %v", len(hops), statuses(hops))
	}
	return hops
}

func last(hops []hop) hop { return hops[len(hops)-1] }

func statuses(hops []hop) []string {
	var out []string
	for _, h := range hops {
		out = append(out, h.url+" "+http.StatusText(h.status))
	}
	return out
}

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ticket asks for a ticket with the session cookie.
func (s setup) ticket(t *testing.T, b *browser) string {
	t.Helper()
	h := b.do(http.MethodPost, s.node.HTTP+signin.TicketPath, "")
	if h.status != http.StatusOK {
		t.Fatalf("POST /auth/ticket: %d %s", h.status, h.body)
	}
	m := h.jsonOf(t)
	tk, _ := m["ticket"].(string)
	if !strings.HasPrefix(tk, signin.TicketPrefix) || len(tk) < len(signin.TicketPrefix)+22 {
		t.Fatalf("ticket %q: want %s and at least 128 random bits", tk, signin.TicketPrefix)
	}
	if n, _ := m["expires_in"].(float64); n <= 0 || n > signin.TicketTTL.Seconds() {
		t.Fatalf("ticket answer %v: want expires_in in seconds, at most %v", m, signin.TicketTTL)
	}
	return tk
}

// openWith opens a WebSocket and sends an auth frame with token; it returns
// the reply and the peer.
func openWith(t *testing.T, n *hubtest.Node, token string) (hubtest.Event, *hubtest.Peer) {
	t.Helper()
	p := hubtest.DialRaw(t, n.URL, nil)
	return p.Request(hubtest.Event{"type": "auth", "token": token}), p
}

func TestSignInEndToEnd(t *testing.T) {
	for _, mode := range []string{"embedded", "distributed"} {
		t.Run(mode, func(t *testing.T) {
			redisURL := ""
			if mode == "distributed" {
				redisURL = redistest.Start(t).URL()
			}
			s := start(t, redisURL, 0)
			s.idp.SetUser("idp|robin-7", map[string]any{"role": "member", "name": "Robin Example"})
			b := newBrowser(t, s.node.HTTP)

			if m := b.get(s.node.HTTP + signin.SessionPath).jsonOf(t); m["sign_in"] != true || m["signed_in"] != false {
				t.Fatalf("session before signing in: %v", m)
			}

			// Sign in, on the way to an invite link's page.
			hops := s.signIn(t, b, "/#invite=CODE")
			login, provider, callback, page := hops[0], hops[1], hops[2], hops[3]
			if login.status != http.StatusFound || !strings.HasPrefix(login.header.Get("Location"), s.idp.URL+"/auth?") {
				t.Fatalf("login: %d to %q, want 302 to the provider", login.status, login.header.Get("Location"))
			}
			q, _ := url.ParseQuery(strings.SplitN(login.header.Get("Location"), "?", 2)[1])
			if q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("scope") != "openid" {
				t.Errorf("authorization request %v: want PKCE S256, state, nonce and scope openid only", q)
			}
			lc := cookieNamed(login.cookies, "hearth_signin")
			if lc == nil || !lc.HttpOnly || lc.SameSite != http.SameSiteLaxMode || lc.Secure {
				t.Errorf("login-state cookie %+v: want HttpOnly, SameSite=Lax, not Secure on http", lc)
			}
			if provider.status != http.StatusFound || !strings.HasPrefix(provider.header.Get("Location"), s.node.HTTP+signin.CallbackPath) {
				t.Fatalf("provider: %d to %q", provider.status, provider.header.Get("Location"))
			}
			if callback.status != http.StatusSeeOther || callback.header.Get("Location") != "/#invite=CODE" {
				t.Fatalf("callback: %d to %q, want 303 to /#invite=CODE (%s)", callback.status, callback.header.Get("Location"), callback.body)
			}
			sc := cookieNamed(callback.cookies, signin.CookieName)
			if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/" || sc.Secure ||
				sc.MaxAge <= 0 || time.Duration(sc.MaxAge)*time.Second > 12*time.Hour {
				t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/, at most 12 h", sc)
			}
			if page.status != http.StatusOK {
				t.Fatalf("page after sign-in: %d", page.status)
			}

			m := b.get(s.node.HTTP + signin.SessionPath).jsonOf(t)
			exp, err := time.Parse(time.RFC3339, m["expires"].(string))
			if m["signed_in"] != true || m["role"] != "member" || err != nil ||
				exp.Before(time.Now().Add(signin.SessionTTL-time.Minute)) || exp.After(time.Now().Add(signin.SessionTTL+time.Minute)) {
				t.Fatalf("session after signing in: %v", m)
			}
			if strings.Contains(b.get(s.node.HTTP+signin.SessionPath).body, "Robin") {
				t.Error("the session answer carries a name")
			}

			// A ticket opens a WebSocket once.
			tk := s.ticket(t, b)
			if e, _ := openWith(t, s.node, tk); e.Str("type") != "welcome" || e.Str("role") != "member" {
				t.Fatalf("auth with a ticket: %v", e)
			}
			e, again := openWith(t, s.node, tk)
			if e.Str("type") != "error" || e.Str("code") != string(protocol.CodeInvalidToken) {
				t.Fatalf("auth with a used ticket: %v, want invalid_token", e)
			}
			if code := again.Closed(); code != 4401 {
				t.Errorf("used ticket: closed with %d, want 4401", code)
			}

			// An invite redeemed with the cookie by someone the room never
			// knew, then the room joined with a ticket.
			lead := hubtest.Token(t, "lead-1", "facilitator")
			s.node.OpenRoom(t, "circle", "lead-1")
			req, _ := http.NewRequest(http.MethodPost, s.node.HTTP+"/api/rooms/circle/invites", strings.NewReader(`{}`))
			req.Header.Set("Authorization", "Bearer "+lead)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var inv struct{ Code string }
			_ = json.NewDecoder(res.Body).Decode(&inv)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated || inv.Code == "" {
				t.Fatalf("create invite: %d", res.StatusCode)
			}
			noOrigin := &browser{t: t, c: b.c} // the same cookie, no Origin
			if h := noOrigin.do(http.MethodPost, s.node.HTTP+"/api/invites/"+inv.Code+"/redeem", ""); h.status != http.StatusForbidden || h.errCode(t) != string(protocol.CodeCrossOrigin) {
				t.Fatalf("redeem with the cookie and no Origin: %d %s, want 403 cross_origin", h.status, h.body)
			}
			evil := &browser{t: t, c: b.c, origin: "http://evil.example"}
			if h := evil.do(http.MethodPost, s.node.HTTP+"/api/invites/"+inv.Code+"/redeem", ""); h.status != http.StatusForbidden || h.errCode(t) != string(protocol.CodeCrossOrigin) {
				t.Fatalf("redeem with the cookie from another origin: %d %s, want 403 cross_origin", h.status, h.body)
			}
			if h := b.do(http.MethodPost, s.node.HTTP+"/api/invites/"+inv.Code+"/redeem", ""); h.status != http.StatusOK || h.jsonOf(t)["id"] != "circle" {
				t.Fatalf("redeem with the cookie: %d %s", h.status, h.body)
			}
			welcome, p := openWith(t, s.node, s.ticket(t, b))
			if welcome.Str("type") != "welcome" {
				t.Fatalf("auth: %v", welcome)
			}
			p.Join("circle", "Robin")

			// A refresh with a fresh ticket keeps the connection; a used one
			// is refused without closing it.
			fresh := s.ticket(t, b)
			if r := p.Request(hubtest.Event{"type": "refresh", "token": fresh}); r.Str("type") != "ok" {
				t.Fatalf("refresh with a ticket: %v", r)
			}
			if r := p.Request(hubtest.Event{"type": "refresh", "token": fresh}); r.Str("code") != string(protocol.CodeInvalidToken) {
				t.Fatalf("refresh with a used ticket: %v, want invalid_token", r)
			}
			if r := p.Request(hubtest.Event{"type": "ping"}); r.Str("type") != "pong" {
				t.Fatalf("after a refused refresh: %v", r)
			}

			// A GET with the cookie needs no Origin.
			if h := noOrigin.get(s.node.HTTP + "/api/rooms"); h.status != http.StatusOK || !strings.Contains(h.body, "circle") {
				t.Fatalf("GET /api/rooms with the cookie: %d %s", h.status, h.body)
			}

			// Logging out needs the site's own page too, and then the
			// cookie is gone.
			if h := noOrigin.do(http.MethodPost, s.node.HTTP+signin.LogoutPath, ""); h.status != http.StatusForbidden {
				t.Fatalf("logout without Origin: %d", h.status)
			}
			if h := b.do(http.MethodPost, s.node.HTTP+signin.LogoutPath, ""); h.status != http.StatusNoContent {
				t.Fatalf("logout: %d %s", h.status, h.body)
			}
			if m := b.get(s.node.HTTP + signin.SessionPath).jsonOf(t); m["signed_in"] != false {
				t.Fatalf("session after logout: %v", m)
			}
			if h := b.do(http.MethodPost, s.node.HTTP+signin.TicketPath, ""); h.status != http.StatusUnauthorized || h.errCode(t) != string(protocol.CodeNotSignedIn) {
				t.Fatalf("ticket after logout: %d %s, want 401 not_signed_in", h.status, h.body)
			}
		})
	}
}

// A ticket is one-time across nodes: issued on one, redeemed on another,
// refused on the first after that.
func TestTicketAcrossNodes(t *testing.T) {
	rs := redistest.Start(t)
	s := start(t, rs.URL(), 0)
	other := hubtest.StartNode(t, hubtest.Options{RedisURL: rs.URL(), OIDCIssuer: s.idp.URL, OIDCClientID: s.idp.ClientID,
		OIDCClientSecret: s.idp.ClientSecret})
	b := newBrowser(t, s.node.HTTP)
	s.signIn(t, b, "/")
	tk := s.ticket(t, b)
	if e, _ := openWith(t, other, tk); e.Str("type") != "welcome" {
		t.Fatalf("ticket on the other node: %v", e)
	}
	if e, _ := openWith(t, s.node, tk); e.Str("code") != string(protocol.CodeInvalidToken) {
		t.Fatalf("the same ticket back on the first node: %v, want invalid_token", e)
	}
}

func TestExpiredTicketRefused(t *testing.T) {
	for _, mode := range []string{"embedded", "distributed"} {
		t.Run(mode, func(t *testing.T) {
			redisURL := ""
			if mode == "distributed" {
				redisURL = redistest.Start(t).URL()
			}
			s := start(t, redisURL, 500*time.Millisecond)
			b := newBrowser(t, s.node.HTTP)
			s.signIn(t, b, "/")
			tk := s.ticket(t, b)
			time.Sleep(time.Second) // past the ticket's life
			if e, _ := openWith(t, s.node, tk); e.Str("code") != string(protocol.CodeInvalidToken) {
				t.Fatalf("expired ticket: %v, want invalid_token", e)
			}
		})
	}
}

// Sign-ins that must not end signed in: each shows a page with a sentence
// and a way back, sets no session cookie, and never redirects off the site.
func TestSignInRefusals(t *testing.T) {
	s := start(t, "", 0)
	cases := []struct {
		name   string
		status int
		says   string
		run    func(t *testing.T, b *browser) hop // the last hop
	}{
		{"denied consent", http.StatusForbidden, "You chose not to sign in", func(t *testing.T, b *browser) hop {
			s.idp.Deny()
			defer s.idp.SetUser("oidc-user", nil)
			return last(b.follow(s.node.HTTP + signin.LoginPath))
		}},
		{"bad state", http.StatusBadRequest, "could not be matched to this browser", func(t *testing.T, b *browser) hop {
			login := b.get(s.node.HTTP + signin.LoginPath)
			back := b.get(login.header.Get("Location")).header.Get("Location")
			u, _ := url.Parse(back)
			q := u.Query()
			q.Set("state", "forged-"+q.Get("state"))
			u.RawQuery = q.Encode()
			return b.get(u.String())
		}},
		{"callback without its login cookie", http.StatusBadRequest, "could not be matched", func(t *testing.T, b *browser) hop {
			login := b.get(s.node.HTTP + signin.LoginPath)
			back := b.get(login.header.Get("Location")).header.Get("Location")
			return newBrowser(t, s.node.HTTP).get(back) // another browser brings the code back
		}},
		{"ID token for another client", http.StatusBadGateway, "could not be checked", func(t *testing.T, b *browser) hop {
			s.idp.Tamper(func(c map[string]any) { c["aud"] = "someone-else" })
			defer s.idp.Tamper(nil)
			return last(b.follow(s.node.HTTP + signin.LoginPath))
		}},
		{"ID token with another nonce", http.StatusBadGateway, "could not be checked", func(t *testing.T, b *browser) hop {
			s.idp.Tamper(func(c map[string]any) { c["nonce"] = "replayed" })
			defer s.idp.Tamper(nil)
			return last(b.follow(s.node.HTTP + signin.LoginPath))
		}},
		{"expired ID token", http.StatusBadGateway, "could not be checked", func(t *testing.T, b *browser) hop {
			s.idp.Tamper(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
			defer s.idp.Tamper(nil)
			return last(b.follow(s.node.HTTP + signin.LoginPath))
		}},
		{"ID token from another issuer", http.StatusBadGateway, "could not be checked", func(t *testing.T, b *browser) hop {
			s.idp.Tamper(func(c map[string]any) { c["iss"] = "http://127.0.0.1:1" })
			defer s.idp.Tamper(nil)
			return last(b.follow(s.node.HTTP + signin.LoginPath))
		}},
		{"a role Hearth does not know", http.StatusForbidden, "role Hearth does not know", func(t *testing.T, b *browser) hop {
			s.idp.SetUser("idp|sam", map[string]any{"role": "admin"})
			defer s.idp.SetUser("oidc-user", nil)
			return last(b.follow(s.node.HTTP + signin.LoginPath))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, s.node.HTTP)
			h := tc.run(t, b)
			if h.status != tc.status || !strings.Contains(h.body, tc.says) || !strings.Contains(h.body, `href="/"`) {
				t.Fatalf("got %d %q, want %d with %q and a link back", h.status, h.body, tc.status, tc.says)
			}
			if h.header.Get("Location") != "" {
				t.Errorf("a refused sign-in redirects to %q", h.header.Get("Location"))
			}
			if c := cookieNamed(h.cookies, signin.CookieName); c != nil && c.MaxAge >= 0 {
				t.Error("a refused sign-in set the session cookie")
			}
			if m := b.get(s.node.HTTP + signin.SessionPath).jsonOf(t); m["signed_in"] != false {
				t.Errorf("session after a refused sign-in: %v", m)
			}
		})
	}
}

// next must stay on the site: anything that a browser could read as
// another host is refused before the browser is sent to the provider.
func TestOpenRedirectRefused(t *testing.T) {
	s := start(t, "", 0)
	b := newBrowser(t, s.node.HTTP)
	for _, next := range []string{"//evil.example/", "/\\evil.example", "https://evil.example/", "evil.example",
		"javascript:alert(1)", "/\t/evil.example", "/x\r\nSet-Cookie: a=b", "\\/evil.example"} {
		h := b.get(s.node.HTTP + signin.LoginPath + "?next=" + url.QueryEscape(next))
		if h.status != http.StatusBadRequest || h.header.Get("Location") != "" || !strings.Contains(h.body, "points away from Hearth") {
			t.Errorf("next=%q: %d to %q, want 400 with a sentence", next, h.status, h.header.Get("Location"))
		}
	}
	before := s.idp.Exchanges()
	hops := s.signIn(t, b, "/rooms?x=1#invite=abc")
	if hops[2].header.Get("Location") != "/rooms?x=1#invite=abc" || s.idp.Exchanges() != before+1 {
		t.Fatalf("a same-site next: callback to %q", hops[2].header.Get("Location"))
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct {
		next, want string
		ok         bool
	}{
		{"", "/", true},
		{"/", "/", true},
		{"/#invite=ABC", "/#invite=ABC", true},
		{"/a/b?c=d", "/a/b?c=d", true},
		{"//evil.example", "", false},
		{"/\\evil.example", "", false},
		{"/a\\b", "", false},
		{"https://evil.example", "", false},
		{"relative", "", false},
		{"/a\nb", "", false},
		{"/" + strings.Repeat("a", 2000), "", false},
	} {
		got, ok := signin.SafeNext(tc.next)
		if got != tc.want || ok != tc.ok {
			t.Errorf("SafeNext(%q) = %q, %v; want %q, %v", tc.next, got, ok, tc.want, tc.ok)
		}
	}
}

// The provider down at the first sign-in: a page says so, and the node
// itself started and serves.
func TestProviderDown(t *testing.T) {
	s := start(t, "", 0)
	s.idp.Close()
	b := newBrowser(t, s.node.HTTP)
	h := b.get(s.node.HTTP + signin.LoginPath)
	if h.status != http.StatusBadGateway || !strings.Contains(h.body, "could not be reached") {
		t.Fatalf("login with the provider down: %d %q", h.status, h.body)
	}
	if e, _ := openWith(t, s.node, hubtest.Token(t, "someone", "member")); e.Str("type") != "welcome" {
		t.Fatalf("tokens still work: %v", e)
	}
}

// Without sign-in configured, the page is told so and tickets are refused.
func TestSignInOff(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	b := newBrowser(t, n.HTTP)
	if m := b.get(n.HTTP + signin.SessionPath).jsonOf(t); m["sign_in"] != false || m["signed_in"] != false {
		t.Fatalf("session with sign-in off: %v", m)
	}
	if h := b.get(n.HTTP + signin.LoginPath); h.status != http.StatusNotFound || h.errCode(t) != string(protocol.CodeNotFound) {
		t.Fatalf("login with sign-in off: %d %s, want 404 not_found in the API's error shape", h.status, h.body)
	}
	if h := b.do(http.MethodPost, n.HTTP+signin.TicketPath, ""); h.status != http.StatusNotFound || h.errCode(t) != string(protocol.CodeNotFound) {
		t.Fatalf("ticket with sign-in off: %d %s, want 404 not_found in the API's error shape", h.status, h.body)
	}
	if e, _ := openWith(t, n, signin.TicketPrefix+"ABCDEFGHIJKLMNOPQRSTUVWXYZ"); e.Str("code") != string(protocol.CodeInvalidToken) {
		t.Fatalf("a ticket with sign-in off: %v", e)
	}
}

// A wrong method on a sign-in route answers in the API's error shape, not
// the mux's plain text.
func TestSignInWrongMethod(t *testing.T) {
	s := start(t, "", 0)
	b := newBrowser(t, s.node.HTTP)
	for _, h := range []hop{b.get(s.node.HTTP + signin.TicketPath), b.get(s.node.HTTP + signin.LogoutPath), b.do(http.MethodPut, s.node.HTTP+signin.TicketPath, "")} {
		if h.status != http.StatusNotFound || h.errCode(t) != string(protocol.CodeNotFound) {
			t.Errorf("%s: %d %s, want 404 not_found as JSON", h.url, h.status, h.body)
		}
	}
}

// A public client (no secret) signs in with its id and the PKCE verifier.
func TestPublicClient(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{})
	idp.SetUser("idp|pat", map[string]any{"role": []any{"offline_access", "facilitator"}})
	n := hubtest.StartNode(t, hubtest.Options{OIDCIssuer: idp.URL, OIDCClientID: idp.ClientID})
	idp.AllowRedirect(n.HTTP + signin.CallbackPath)
	s := setup{idp: idp, node: n}
	b := newBrowser(t, n.HTTP)
	s.signIn(t, b, "/")
	if m := b.get(n.HTTP + signin.SessionPath).jsonOf(t); m["signed_in"] != true || m["role"] != "facilitator" {
		t.Fatalf("session of a public client's sign-in: %v", m)
	}
}

// Regression: a ticket that cannot be checked because the live Redis is
// down closed the connection with 4401, which clients treat as final ("this
// link no longer works"), though nothing was wrong with the sign-in. It is
// now refused with unavailable and closed with 1011, so the page tries
// again with a new ticket.
func TestTicketStoreDownIsNotFinal(t *testing.T) {
	rs := redistest.Start(t)
	s := start(t, rs.URL(), 0)
	b := newBrowser(t, s.node.HTTP)
	s.signIn(t, b, "/")
	tk := s.ticket(t, b)
	rs.Stop()
	e, p := openWith(t, s.node, tk)
	if e.Str("code") != string(protocol.CodeUnavailable) {
		t.Fatalf("auth with a ticket while Redis is down: %v, want unavailable", e)
	}
	if got := p.Closed(); got != websocket.StatusCode(protocol.CloseInternalError) {
		t.Fatalf("closed with %d, want %d (reconnect)", got, protocol.CloseInternalError)
	}
}
