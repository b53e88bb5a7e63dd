// Package signin is the web client's sign-in through an identity provider:
// Hearth as an OpenID Connect relying party. It runs the authorization code
// flow with PKCE (S256), state and nonce against the provider, verifies the
// ID token, maps its subject and role claim to a Hearth identity, and keeps
// that identity in a session cookie holding a short-lived Hearth token
// (HS256, minted with the server's secret) for REST, and in one-time tickets
// the page sends on the WebSocket instead of a token.
//
// Its routes are mounted under /auth/ by internal/httpapi:
//
//	GET  /auth/login?next=/path  to the provider (state kept in a cookie)
//	GET  /auth/callback          back from the provider: the session cookie, then 303 to next
//	GET  /auth/session           {"sign_in":true,"signed_in":…,"role":…,"expires":…}
//	POST /auth/ticket            {"ticket":"hst_…","expires_in":60,"session_expires":…}
//	POST /auth/logout            clears the session cookie
//
// Nothing here logs or shows a token, a ticket, a code or a claim other
// than the role: failures are logged with a stable code.
package signin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"hearth/internal/auth"
	"hearth/internal/httpapi"
	"hearth/internal/protocol"
)

// Paths of the sign-in routes.
const (
	LoginPath    = "/auth/login"
	CallbackPath = "/auth/callback"
	SessionPath  = "/auth/session"
	TicketPath   = "/auth/ticket"
	LogoutPath   = "/auth/logout"
)

// CookieName is the session cookie: a Hearth token, HttpOnly,
// SameSite=Strict, Path=/, Secure when PublicURL is https.
const CookieName = "hearth_session"

// SessionTTL is how long a sign-in lasts: the session token's lifetime and
// the cookie's Max-Age. Eight hours covers a facilitator's working day of
// groups, and a member's longest default session (HEARTH_SESSION_MAX, 4
// h) twice over, so nobody is asked to sign in again in the middle of a
// group; and a browser left signed in on a shared computer — a library, a
// family laptop, which matters to someone in a support group — is signed
// out the same day. There is no sliding renewal: signing in again (in
// another tab) gives a fresh cookie, which the page's next ticket picks up.
const SessionTTL = 8 * time.Hour

// loginTTL bounds the time between leaving for the provider and coming
// back: the login-state cookie's lifetime.
const loginTTL = 10 * time.Minute

// loginCookie keeps a sign-in's state, nonce, PKCE verifier and next path
// between /auth/login and /auth/callback: an HS256 JWT under a key derived
// from the server's secret, HttpOnly, SameSite=Lax (so that it comes back
// with the provider's redirect), Path=/auth/.
const loginCookie = "hearth_signin"

// providerTimeout bounds every request to the identity provider:
// discovery, its keys and the code exchange.
const providerTimeout = 10 * time.Second

// maxNextBytes bounds the next parameter of /auth/login.
const maxNextBytes = 1024

// Config configures a Service.
type Config struct {
	// Issuer is the provider's issuer URL (HEARTH_OIDC_ISSUER); its
	// discovery document is read at the first sign-in, not at start, so
	// a node starts while the provider is briefly away.
	Issuer string
	// ClientID and ClientSecret are the client registered with the
	// provider; an empty secret is a public client (PKCE protects it).
	ClientID     string
	ClientSecret string
	// PublicURL is the address people open (https://hearth.example.org),
	// without a path: the callback is PublicURL + CallbackPath, and its
	// origin is the one unsafe requests with the cookie must come from.
	PublicURL string
	// Token is the configuration session tokens are minted with (the
	// server's HS256 secret, issuer and audience): Verifier accepts them.
	Token auth.Config
	// Verifier verifies session tokens.
	Verifier TokenVerifier
	// Tickets keeps tickets (MemoryTickets on one node, RedisTickets
	// across nodes).
	Tickets TicketStore
	// TicketTTL is how long a ticket may be redeemed (TicketTTL when 0).
	TicketTTL time.Duration
	// Logger receives codes and ids only.
	Logger *slog.Logger
}

// Service is the relying party. It is safe for concurrent use; Close
// releases its connections to the provider.
type Service struct {
	cfg         Config
	log         *slog.Logger
	secure      bool
	stateKey    []byte
	transport   *http.Transport
	client      *http.Client
	cop         *http.CrossOriginProtection
	prov        atomic.Pointer[provider]
	discovering singleflight.Group
}

// provider is what discovery gives: the endpoints and the ID token verifier.
type provider struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// New returns a Service for cfg. Errors: a missing issuer, client id,
// public URL, verifier or ticket store, or a secret too short to mint with.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Issuer == "" || cfg.ClientID == "":
		return nil, errors.New("signin: the issuer and the client id are required")
	case cfg.Verifier == nil || cfg.Tickets == nil:
		return nil, errors.New("signin: a token verifier and a ticket store are required")
	case len(cfg.Token.Secret) < auth.MinSecretBytes:
		return nil, fmt.Errorf("signin: the token secret must be at least %d bytes", auth.MinSecretBytes)
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" || strings.Trim(pub.Path, "/") != "" {
		return nil, errors.New("signin: the public URL must be an http(s) address without a path")
	}
	cfg.PublicURL = pub.Scheme + "://" + pub.Host
	if cfg.TicketTTL <= 0 {
		cfg.TicketTTL = TicketTTL
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin(cfg.PublicURL); err != nil {
		return nil, fmt.Errorf("signin: public URL: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	m := hmac.New(sha256.New, cfg.Token.Secret)
	m.Write([]byte("hearth sign-in state key v1"))
	return &Service{
		cfg: cfg, log: log, secure: pub.Scheme == "https", stateKey: m.Sum(nil), cop: cop,
		transport: tr, client: &http.Client{Transport: tr, Timeout: providerTimeout},
	}, nil
}

// Close closes idle connections to the provider. Requests in flight end
// by themselves within providerTimeout.
func (s *Service) Close() { s.transport.CloseIdleConnections() }

// Routes registers the sign-in routes on mux (httpapi.SignIn).
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+LoginPath, s.login)
	mux.HandleFunc("GET "+CallbackPath, s.callback)
	mux.HandleFunc("GET "+SessionPath, s.session)
	mux.HandleFunc("POST "+TicketPath, s.ticket)
	mux.HandleFunc("POST "+LogoutPath, s.logout)
}

// Session returns the identity of r's session cookie (httpapi.SignIn). ok
// is false when r carries none. With the cookie, an unsafe request (any
// method but GET, HEAD and OPTIONS) must come from the site's own pages —
// Sec-Fetch-Site same-origin, or an Origin of PublicURL or of r's own
// host — or err is cross_origin; a cookie whose token is invalid or
// expired gives not_signed_in.
func (s *Service) Session(r *http.Request) (auth.Identity, bool, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return auth.Identity{}, false, nil
	}
	if err := s.sameOrigin(r); err != nil {
		return auth.Identity{}, true, err
	}
	id, err := s.cfg.Verifier.VerifyContext(r.Context(), c.Value)
	if err != nil {
		return auth.Identity{}, true, fmt.Errorf("%w (%v)", protocol.Err(protocol.CodeNotSignedIn), protocol.AsError(err).Code)
	}
	return id, true, nil
}

// sameOrigin is the cookie's CSRF defence in depth (SameSite=Strict is the
// first): http.CrossOriginProtection (Sec-Fetch-Site, else Origin against
// Host, with PublicURL trusted), and a request that carries neither header
// is refused too.
func (s *Service) sameOrigin(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == "" {
		return protocol.Err(protocol.CodeCrossOrigin)
	}
	if err := s.cop.Check(r); err != nil {
		return fmt.Errorf("%w (%v)", protocol.Err(protocol.CodeCrossOrigin), err)
	}
	return nil
}

// discover returns the provider, reading its discovery document once it
// answers; until then every sign-in tries again (one request at a time).
func (s *Service) discover() (*provider, error) {
	if p := s.prov.Load(); p != nil {
		return p, nil
	}
	v, err, _ := s.discovering.Do("", func() (any, error) {
		if p := s.prov.Load(); p != nil {
			return p, nil
		}
		// The provider keeps this context (without its deadline) for
		// fetching its keys later, with s.client and its timeout.
		ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), s.client), providerTimeout)
		defer cancel()
		op, err := oidc.NewProvider(ctx, s.cfg.Issuer)
		if err != nil {
			return nil, err
		}
		ep := op.Endpoint()
		if s.cfg.ClientSecret == "" {
			ep.AuthStyle = oauth2.AuthStyleInParams // a public client sends only its id
		}
		p := &provider{
			oauth: oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, Endpoint: ep,
				RedirectURL: s.cfg.PublicURL + CallbackPath, Scopes: []string{oidc.ScopeOpenID}},
			verifier: op.Verifier(&oidc.Config{ClientID: s.cfg.ClientID}),
		}
		s.prov.Store(p)
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*provider), nil
}

// loginState is what the login cookie carries.
type loginState struct {
	State    string `json:"st"`
	Nonce    string `json:"no"`
	Verifier string `json:"pv"` // the PKCE code verifier
	Next     string `json:"nx"`
	jwt.RegisteredClaims
}

// login starts a sign-in: the login cookie, then the provider's
// authorization endpoint.
func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	next, ok := SafeNext(r.URL.Query().Get("next"))
	if !ok {
		s.fail(w, r, failBadNext, nil)
		return
	}
	p, err := s.discover()
	if err != nil {
		s.fail(w, r, failUnreachable, err)
		return
	}
	now := time.Now()
	st := loginState{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(), Next: next,
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now.Add(loginTTL))}}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, st).SignedString(s.stateKey)
	if err != nil {
		s.fail(w, r, failInternal, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: signed, Path: "/auth/", MaxAge: int(loginTTL.Seconds()),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, p.oauth.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

// callback finishes a sign-in: it checks the state against the login
// cookie, exchanges the code with the PKCE verifier, verifies the ID token
// (issuer, audience, expiry, signature, nonce), maps it to an identity and
// sets the session cookie, then sends the browser on to next.
func (s *Service) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	st, stateErr := s.readLogin(r)
	// The login cookie is for one use, whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/auth/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			s.fail(w, r, failDenied, nil)
		} else {
			s.fail(w, r, failProviderError, fmt.Errorf("the provider answered error=%.64q", e))
		}
		return
	}
	if stateErr != nil || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 || st.State == "" {
		s.fail(w, r, failBadState, stateErr)
		return
	}
	code := q.Get("code")
	if code == "" {
		s.fail(w, r, failProviderError, errors.New("no code in the callback"))
		return
	}
	p, err := s.discover()
	if err != nil {
		s.fail(w, r, failUnreachable, err)
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, s.client)
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) { // the provider refused: its error code only, never the body
			s.fail(w, r, failProviderError, fmt.Errorf("the token endpoint refused the code: %.64q", re.ErrorCode))
		} else {
			s.fail(w, r, failUnreachable, err)
		}
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		s.fail(w, r, failBadIDToken, errors.New("no id_token in the token response"))
		return
	}
	idt, err := p.verifier.Verify(oidc.ClientContext(r.Context(), s.client), raw)
	if err != nil {
		s.fail(w, r, failBadIDToken, err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		s.fail(w, r, failBadIDToken, errors.New("the nonce does not match"))
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil || idt.Subject == "" {
		s.fail(w, r, failBadIDToken, errors.New("no subject"))
		return
	}
	role, err := auth.RoleFromClaims(claims, s.cfg.Token.RoleClaim)
	if err != nil {
		s.fail(w, r, failBadRole, err)
		return
	}
	// The subject is the user id as it is, not prefixed with the issuer:
	// the same person then is the same user whether they sign in here or
	// bring a token from the same provider (HEARTH_JWT_JWKS_URL), and
	// facilitators add people to rosters by the id the provider shows.
	session, err := auth.Mint(s.cfg.Token, idt.Subject, role, SessionTTL, time.Now())
	if err != nil {
		s.fail(w, r, failInternal, err)
		return
	}
	http.SetCookie(w, s.sessionCookie(session, int(SessionTTL.Seconds())))
	httpapi.RequestLogger(r.Context(), s.log).Info("signed in", "role", role)
	http.Redirect(w, r, st.Next, http.StatusSeeOther)
}

// sessionCookie is the session cookie with value, for maxAge seconds
// (negative: delete it).
func (s *Service) sessionCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode}
}

// readLogin reads and checks the login cookie.
func (s *Service) readLogin(r *http.Request) (loginState, error) {
	c, err := r.Cookie(loginCookie)
	if err != nil {
		return loginState{}, errors.New("no login cookie")
	}
	var st loginState
	_, err = jwt.ParseWithClaims(c.Value, &st, func(*jwt.Token) (any, error) { return s.stateKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired())
	if err != nil {
		return loginState{}, fmt.Errorf("login cookie: %w", err)
	}
	if _, ok := SafeNext(st.Next); !ok {
		return loginState{}, errors.New("login cookie: bad next")
	}
	return st, nil
}

// sessionView is the answer of GET /auth/session.
type sessionView struct {
	SignIn   bool   `json:"sign_in"`
	SignedIn bool   `json:"signed_in"`
	Role     string `json:"role,omitempty"`
	Expires  string `json:"expires,omitempty"`
}

func (s *Service) session(w http.ResponseWriter, r *http.Request) {
	v := sessionView{SignIn: true}
	if id, ok, err := s.Session(r); ok && err == nil {
		v.SignedIn, v.Role, v.Expires = true, id.Role, id.Expires.UTC().Format(time.RFC3339)
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

// ticket issues a one-time ticket for the session cookie's identity.
func (s *Service) ticket(w http.ResponseWriter, r *http.Request) {
	id, ok, err := s.Session(r)
	if !ok {
		err = protocol.Err(protocol.CodeNotSignedIn)
	}
	if err != nil {
		e := protocol.AsError(err)
		httpapi.WriteError(w, e.Code.HTTPStatus(), e)
		return
	}
	t := newTicket()
	if err := s.cfg.Tickets.Put(r.Context(), t, id, s.cfg.TicketTTL); err != nil {
		httpapi.RequestLogger(r.Context(), s.log).Warn("ticket not issued", "code", protocol.CodeUnavailable, "err", err)
		httpapi.WriteError(w, http.StatusServiceUnavailable, protocol.Err(protocol.CodeUnavailable))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"ticket": t, "expires_in": int(math.Ceil(s.cfg.TicketTTL.Seconds())), "session_expires": id.Expires.UTC().Format(time.RFC3339),
	})
}

// logout clears the session cookie (204). With a cookie, the request must
// come from the site's own pages.
func (s *Service) logout(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(CookieName); err == nil {
		if err := s.sameOrigin(r); err != nil {
			httpapi.WriteError(w, http.StatusForbidden, protocol.AsError(err))
			return
		}
	}
	http.SetCookie(w, s.sessionCookie("", -1))
	w.WriteHeader(http.StatusNoContent)
}

// SafeNext returns next as a path on this site to send the browser to
// after signing in ("/" when empty), and false for anything that could
// lead elsewhere: not starting with "/", starting with "//" or "/\"
// (browsers read both as another host), a scheme or host, control
// characters or backslashes anywhere, or longer than maxNextBytes. A
// fragment (/#invite=CODE) is kept.
func SafeNext(next string) (string, bool) {
	if next == "" {
		return "/", true
	}
	if len(next) > maxNextBytes || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\") {
		return "", false
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return "", false
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "", false
	}
	return next, true
}
