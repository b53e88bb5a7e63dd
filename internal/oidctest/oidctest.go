// Package oidctest runs a small OpenID Connect provider inside tests, on a
// loopback httptest server with a signing key generated for the test: the
// discovery document and the JWKS (served by go-oidc's own oidctest
// server), an authorization endpoint that approves a configured user at
// once (or refuses, when told to) and redirects back with a code, and a
// token endpoint that checks the client, the redirect URI and the PKCE
// verifier before it issues an ID token carrying the nonce and the
// configured claims. It is used by tests only.
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	oidcserver "github.com/coreos/go-oidc/v3/oidc/oidctest"
	"golang.org/x/oauth2"
)

// Options configure a Provider.
type Options struct {
	// ClientID is the one client the provider knows ("hearth" when empty).
	ClientID string
	// ClientSecret is its secret; empty makes it a public client, which
	// authenticates with its id and the PKCE verifier only.
	ClientSecret string
	// Host names the provider in its issuer URL: "127.0.0.1" (the default)
	// or "localhost" — another site than a Hearth node on 127.0.0.1, as a
	// real provider is.
	Host string
}

// Provider is a running test provider.
type Provider struct {
	// URL is the issuer URL (http://host:port, no trailing slash).
	URL          string
	ClientID     string
	ClientSecret string

	srv  *httptest.Server
	key  *ecdsa.PrivateKey
	disc *oidcserver.Server

	mu        sync.Mutex
	redirects map[string]bool
	sub       string
	claims    map[string]any
	deny      bool
	tamper    func(claims map[string]any)
	codes     map[string]grant
	exchanges int
}

// grant is an authorization code's state, until it is exchanged.
type grant struct {
	clientID, redirectURI, challenge, nonce, sub string
	claims                                       map[string]any
	expires                                      time.Time
}

// keyID names the provider's one signing key.
const keyID = "oidctest-key-1"

// Start starts a provider and stops it when the test ends. It approves
// the user "oidc-user" with no other claims until SetUser says otherwise.
func Start(t testing.TB, o Options) *Provider {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{ClientID: o.ClientID, ClientSecret: o.ClientSecret, key: key, redirects: map[string]bool{},
		sub: "oidc-user", codes: map[string]grant{}}
	if p.ClientID == "" {
		p.ClientID = "hearth"
	}
	p.disc = &oidcserver.Server{
		PublicKeys: []oidcserver.PublicKey{{PublicKey: key.Public(), KeyID: keyID, Algorithm: oidc.ES256}},
		Algorithms: []string{oidc.ES256},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.Handle("/", p.disc) // discovery and keys
	p.srv = httptest.NewServer(mux)
	_, port, _ := net.SplitHostPort(p.srv.Listener.Addr().String())
	host := o.Host
	if host == "" {
		host = "127.0.0.1"
	}
	p.URL = "http://" + net.JoinHostPort(host, port)
	p.disc.SetIssuer(p.URL)
	t.Cleanup(p.srv.Close)
	return p
}

// Close stops the provider now (a provider that is down).
func (p *Provider) Close() { p.srv.Close() }

// AllowRedirect registers uri as one of the client's redirect URIs; the
// authorization endpoint refuses any other.
func (p *Provider) AllowRedirect(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redirects[uri] = true
}

// SetUser makes the next sign-ins approve the user sub, whose ID token
// also carries claims (a role claim, for example).
func (p *Provider) SetUser(sub string, claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sub, p.claims, p.deny = sub, maps.Clone(claims), false
}

// Deny makes the next sign-ins end as if the user declined:
// error=access_denied, back to the client.
func (p *Provider) Deny() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deny = true
}

// Tamper makes the next ID tokens go through fn before they are signed
// (a wrong audience, an expired exp, another nonce); nil stops it.
func (p *Provider) Tamper(fn func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = fn
}

// Exchanges is how many codes the token endpoint has exchanged for tokens.
func (p *Provider) Exchanges() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exchanges
}

// authorize is the authorization endpoint: it checks the request and
// approves at once (no login form), redirecting back with a code.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	redirect := q.Get("redirect_uri")
	if q.Get("client_id") != p.ClientID || !p.redirects[redirect] {
		// Never redirect to a URI that is not registered.
		http.Error(w, "unknown client or redirect_uri", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(redirect)
	v := url.Values{"state": {q.Get("state")}}
	switch {
	case p.deny:
		v.Set("error", "access_denied")
	case q.Get("response_type") != "code" || !hasScope(q.Get("scope"), oidc.ScopeOpenID):
		v.Set("error", "invalid_request")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		v.Set("error", "invalid_request")
		v.Set("error_description", "PKCE with S256 is required")
	default:
		code := rand.Text()
		p.codes[code] = grant{clientID: p.ClientID, redirectURI: redirect, challenge: q.Get("code_challenge"),
			nonce: q.Get("nonce"), sub: p.sub, claims: maps.Clone(p.claims), expires: time.Now().Add(time.Minute)}
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func hasScope(scopes, want string) bool { return slices.Contains(strings.Fields(scopes), want) }

// token is the token endpoint: the authorization code grant, with the
// client's credentials (HTTP Basic or in the form), the same redirect_uri
// and the PKCE verifier of the code's challenge.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	code := r.PostForm.Get("code")
	g, ok := p.codes[code]
	delete(p.codes, code) // a code is used once, right or wrong
	switch {
	case id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1:
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
		return
	case r.PostForm.Get("grant_type") != "authorization_code" || !ok || time.Now().After(g.expires) ||
		g.clientID != id || g.redirectURI != r.PostForm.Get("redirect_uri"):
		tokenError(w, "invalid_grant")
		return
	case oauth2.S256ChallengeFromVerifier(r.PostForm.Get("code_verifier")) != g.challenge:
		tokenError(w, "invalid_grant") // PKCE: the verifier does not match the challenge
		return
	}
	now := time.Now()
	claims := maps.Clone(g.claims)
	if claims == nil {
		claims = map[string]any{}
	}
	claims["iss"], claims["aud"], claims["sub"] = p.URL, p.ClientID, g.sub
	claims["iat"], claims["exp"] = now.Unix(), now.Add(5*time.Minute).Unix()
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if p.tamper != nil {
		p.tamper(claims)
	}
	raw, err := json.Marshal(claims)
	if err != nil {
		tokenError(w, "server_error")
		return
	}
	p.exchanges++
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 300,
		"id_token": oidcserver.SignIDToken(p.key, keyID, oidc.ES256, string(raw)),
	})
}

func tokenError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}
