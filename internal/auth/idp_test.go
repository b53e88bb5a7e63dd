package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testKeys are an identity provider's signing keys, generated once.
type testKeys struct {
	rsa, rsa2, rsa1024 *rsa.PrivateKey
	ec, ec384          *ecdsa.PrivateKey
	ed                 ed25519.PrivateKey
}

var (
	keysOnce sync.Once
	keysVal  testKeys
)

func keys(t *testing.T) testKeys {
	t.Helper()
	keysOnce.Do(func() {
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		var err error
		keysVal.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keysVal.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keysVal.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024)
		must(err)
		keysVal.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		keysVal.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		must(err)
		_, keysVal.ed, err = ed25519.GenerateKey(rand.Reader)
		must(err)
	})
	return keysVal
}

// jwk describes one key of the served JWKS: its public half (or, for an
// "oct" key, the secret bytes), kid and use.
func jwk(t *testing.T, key any, kid string, use jwkset.USE) jwkset.JWKMarshal {
	t.Helper()
	if s, ok := key.(crypto.Signer); ok {
		key = s.Public()
	}
	opts := jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, USE: use}}
	if _, ok := key.([]byte); ok {
		opts.Marshal.Private = true
	}
	j, err := jwkset.NewJWKFromKey(key, opts)
	if err != nil {
		t.Fatal(err)
	}
	return j.Marshal()
}

// idp serves a JWKS over HTTP that a test may change, counting fetches.
type idp struct {
	srv  *httptest.Server
	mu   sync.Mutex
	keys []jwkset.JWKMarshal
	down atomic.Bool // answer 503 instead
	hits atomic.Int32
}

func newIDP(t *testing.T, keys ...jwkset.JWKMarshal) *idp {
	t.Helper()
	p := &idp{keys: keys}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.hits.Add(1)
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		p.mu.Lock()
		body, _ := json.Marshal(jwkset.JWKSMarshal{Keys: p.keys})
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) set(keys ...jwkset.JWKMarshal) {
	p.mu.Lock()
	p.keys = keys
	p.mu.Unlock()
}

func (p *idp) url() string { return p.srv.URL + "/realms/clinic/protocol/openid-connect/certs" }

// newTestVerifier builds a Verifier and closes it when the test ends.
func newTestVerifier(t *testing.T, cfg Config) *Verifier {
	t.Helper()
	if cfg.Secret == nil {
		cfg.Secret = secret
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// signed returns a token of method signed with key, with kid (when not
// empty) and any extra headers.
func signed(t *testing.T, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims, hdr ...map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	for _, h := range hdr {
		for k, v := range h {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pubPEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func valid(sub string) jwt.MapClaims {
	return jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()}
}

// TestIdPTokensFromJWKS: RS256, ES256 and EdDSA tokens verify with the key
// their kid names in the identity provider's JWKS, and Hearth's own HS256
// tokens still verify with the secret beside them.
func TestIdPTokensFromJWKS(t *testing.T) {
	k := keys(t)
	p := newIDP(t, jwk(t, k.rsa, "rsa-1", jwkset.UseSig), jwk(t, k.ec, "ec-1", ""), jwk(t, k.ed, "ed-1", jwkset.UseSig))
	v := newTestVerifier(t, Config{JWKSURL: p.url()})
	if !v.KeysLoaded(context.Background()) {
		t.Fatal("KeysLoaded = false after the JWKS was served")
	}
	cases := []struct {
		name  string
		token string
	}{
		{"RS256", signed(t, jwt.SigningMethodRS256, k.rsa, "rsa-1", valid("alice"))},
		{"ES256", signed(t, jwt.SigningMethodES256, k.ec, "ec-1", valid("alice"))},
		{"EdDSA", signed(t, jwt.SigningMethodEdDSA, k.ed, "ed-1", valid("alice"))},
		{"RS256 without a kid", signed(t, jwt.SigningMethodRS256, k.rsa, "", valid("alice"))},
		{"HS256 minted by Hearth", signed(t, jwt.SigningMethodHS256, secret, "", valid("alice"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Verify(tc.token)
			if err != nil || id.UserID != "alice" || id.Role != "member" {
				t.Fatalf("Verify = %+v, %v", id, err)
			}
		})
	}
}

// TestIdPTokensFromPublicKeyFile: a PEM public key verifies tokens of its
// own algorithm only, and the file is refused at start when it holds a
// private key, a weak RSA key, another curve, or no key at all.
func TestIdPTokensFromPublicKeyFile(t *testing.T) {
	k := keys(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)})
	cases := []struct {
		name string
		pem  []byte
		good string // a token it must accept
		bad  string // a token of another algorithm, signed by the right party, refused
	}{
		{"RSA PKIX", pubPEM(t, &k.rsa.PublicKey), signed(t, jwt.SigningMethodRS256, k.rsa, "", valid("u")), signed(t, jwt.SigningMethodES256, k.ec, "", valid("u"))},
		{"RSA PKCS1", pkcs1, signed(t, jwt.SigningMethodRS256, k.rsa, "any-kid", valid("u")), signed(t, jwt.SigningMethodRS256, k.rsa2, "", valid("u"))},
		{"ECDSA P-256", pubPEM(t, &k.ec.PublicKey), signed(t, jwt.SigningMethodES256, k.ec, "", valid("u")), signed(t, jwt.SigningMethodEdDSA, k.ed, "", valid("u"))},
		{"Ed25519", pubPEM(t, k.ed.Public()), signed(t, jwt.SigningMethodEdDSA, k.ed, "", valid("u")), signed(t, jwt.SigningMethodRS256, k.rsa, "", valid("u"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, Config{PublicKey: tc.pem})
			if id, err := v.Verify(tc.good); err != nil || id.UserID != "u" {
				t.Fatalf("good token: %+v, %v", id, err)
			}
			if _, err := v.Verify(tc.bad); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("token of another key or algorithm: err = %v, want ErrInvalidToken", err)
			}
		})
	}
	privDER, _ := x509.MarshalPKCS8PrivateKey(k.rsa)
	for name, pemBytes := range map[string][]byte{
		"private key":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}),
		"RSA 1024":     pubPEM(t, &k.rsa1024.PublicKey),
		"ECDSA P-384":  pubPEM(t, &k.ec384.PublicKey),
		"not PEM":      []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA"),
		"empty block":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY"}),
		"the secret":   secret,
		"garbage body": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("garbage")}),
	} {
		if _, err := NewVerifier(Config{Secret: secret, PublicKey: pemBytes}); err == nil {
			t.Errorf("%s: accepted as the JWT public key", name)
		}
	}
}

// TestIdPAlgorithmConfusion: HS256 verifies only with the secret, each
// asymmetric algorithm only with a key of its own type (and size), "none"
// never, and no key comes from the token's headers.
func TestIdPAlgorithmConfusion(t *testing.T) {
	k := keys(t)
	oct := []byte("a-symmetric-key-in-the-jwks-0123456789")
	p := newIDP(t,
		jwk(t, k.rsa, "rsa-1", jwkset.UseSig),
		jwk(t, k.ec384, "ec-384", jwkset.UseSig),
		jwk(t, k.rsa1024, "rsa-1024", jwkset.UseSig),
		jwk(t, k.rsa2, "rsa-enc", jwkset.UseEnc),
		jwk(t, oct, "oct-1", ""),
	)
	rsaPEM := pubPEM(t, &k.rsa.PublicKey)
	v := newTestVerifier(t, Config{PublicKey: rsaPEM, JWKSURL: p.url()})
	_, attackerEd, _ := ed25519.GenerateKey(rand.Reader)
	c := valid("mallory")
	cases := []struct {
		name  string
		token string
	}{
		{"HS256 signed with the RSA public key PEM as the HMAC secret", signed(t, jwt.SigningMethodHS256, rsaPEM, "", c)},
		{"HS256 signed with the RSA public key PEM, kid of the RSA key", signed(t, jwt.SigningMethodHS256, rsaPEM, "rsa-1", c)},
		{"HS256 signed with the JWKS's oct key, kid naming it", signed(t, jwt.SigningMethodHS256, oct, "oct-1", c)},
		{"RS256 header, HMAC with the JWKS's oct key, kid naming it", rawToken(t, map[string]any{"alg": "RS256", "kid": "oct-1"}, c, oct)},
		{"alg none", rawToken(t, map[string]any{"alg": "none"}, c, nil)},
		{"alg none with a kid from the JWKS", rawToken(t, map[string]any{"alg": "none", "kid": "rsa-1"}, c, nil)},
		{"RS256 with the JWKS's kid, signed by another key", signed(t, jwt.SigningMethodRS256, k.rsa2, "rsa-1", c)},
		{"RS256 without a kid, signed by another key", signed(t, jwt.SigningMethodRS256, k.rsa2, "", c)},
		{"RS256 by a key the JWKS marks for encryption", signed(t, jwt.SigningMethodRS256, k.rsa2, "rsa-enc", c)},
		{"RS256 by a 1024-bit key from the JWKS", signed(t, jwt.SigningMethodRS256, k.rsa1024, "rsa-1024", c)},
		{"ES256 header with the kid of a P-384 key, signed by it", es256WithP384(t, k.ec384, "ec-384", c)},
		{"EdDSA with the kid of an RSA key", signed(t, jwt.SigningMethodEdDSA, attackerEd, "rsa-1", c)},
		{"RS512 by the right key", signed(t, jwt.SigningMethodRS512, k.rsa, "rsa-1", c)},
		{"PS256 by the right key", signed(t, jwt.SigningMethodPS256, k.rsa, "rsa-1", c)},
		{"embedded jwk of the attacker's key", signed(t, jwt.SigningMethodEdDSA, attackerEd, "", c, map[string]any{"jwk": jwk(t, attackerEd, "", "")})},
		{"jku naming the attacker's JWKS", signed(t, jwt.SigningMethodEdDSA, attackerEd, "evil", c, map[string]any{"jku": "https://evil.example/jwks.json"})},
		{"x5u naming the attacker's certificate", signed(t, jwt.SigningMethodEdDSA, attackerEd, "", c, map[string]any{"x5u": "https://evil.example/cert.pem"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Verify(tc.token)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", id, err)
			}
		})
	}
	// The control: the right key does verify, so the refusals above are
	// about the attack and not about a broken set-up.
	if _, err := v.Verify(signed(t, jwt.SigningMethodRS256, k.rsa, "rsa-1", c)); err != nil {
		t.Fatalf("the genuine RS256 token: %v", err)
	}
}

// es256WithP384 signs a token claiming ES256 with a P-384 key (SHA-256,
// r||s of 48 bytes each), which golang-jwt refuses to produce.
func es256WithP384(t *testing.T, key *ecdsa.PrivateKey, kid string, c jwt.MapClaims) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(map[string]any{"alg": "ES256", "kid": kid}) + "." + enc(c)
	h := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 96)
	r.FillBytes(sig[:48])
	s.FillBytes(sig[48:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestIdPKeyRotation: when the identity provider rotates its key, a token
// naming the new kid makes the verifier fetch the JWKS again and is
// accepted; the old kid, gone from the fetched JWKS, is then refused; and
// tokens with made-up kids cause at most one extra fetch per
// JWKSUnknownKIDEvery.
func TestIdPKeyRotation(t *testing.T) {
	k := keys(t)
	p := newIDP(t, jwk(t, k.rsa, "2026-01", jwkset.UseSig))
	v := newTestVerifier(t, Config{JWKSURL: p.url()})
	oldTok := signed(t, jwt.SigningMethodRS256, k.rsa, "2026-01", valid("alice"))
	newTok := signed(t, jwt.SigningMethodRS256, k.rsa2, "2026-02", valid("alice"))
	if _, err := v.Verify(oldTok); err != nil {
		t.Fatalf("token of the current key: %v", err)
	}
	if got := p.hits.Load(); got != 1 {
		t.Fatalf("%d fetches after start, want 1", got)
	}

	p.set(jwk(t, k.rsa2, "2026-02", jwkset.UseSig)) // rotated; the old key withdrawn
	if _, err := v.Verify(newTok); err != nil {
		t.Fatalf("token of the new key after rotation: %v", err)
	}
	if got := p.hits.Load(); got != 2 {
		t.Fatalf("%d fetches after the new kid, want 2", got)
	}
	if _, err := v.Verify(oldTok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of the withdrawn key: err = %v, want ErrInvalidToken", err)
	}
	for _, kid := range []string{"made-up-1", "made-up-2", "made-up-3"} {
		if _, err := v.Verify(signed(t, jwt.SigningMethodRS256, k.rsa2, kid, valid("alice"))); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("kid %s: err = %v, want ErrInvalidToken", kid, err)
		}
	}
	if got := p.hits.Load(); got != 2 {
		t.Fatalf("%d fetches after unknown kids within JWKSUnknownKIDEvery, want still 2", got)
	}
	if _, err := v.Verify(newTok); err != nil {
		t.Fatalf("the new key after the refused kids: %v", err)
	}
}

// TestIdPUnknownKID: a token whose kid is in no version of the JWKS is
// refused as invalid_token after one fetch.
func TestIdPUnknownKID(t *testing.T) {
	k := keys(t)
	p := newIDP(t, jwk(t, k.rsa, "rsa-1", jwkset.UseSig))
	v := newTestVerifier(t, Config{JWKSURL: p.url()})
	_, err := v.Verify(signed(t, jwt.SigningMethodRS256, k.rsa, "no-such-kid", valid("alice")))
	if !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrExpired) {
		t.Fatalf("err = %v, want ErrInvalidToken", err)
	}
	if got := p.hits.Load(); got != 2 {
		t.Fatalf("%d fetches, want 2 (start, then one for the unknown kid)", got)
	}
}

// TestIdPDownAtStart: a node starts while the identity provider is down,
// the failure is logged (with the URL, without any token), KeysLoaded says
// so, and the first token naming a kid once the provider is back loads
// the keys.
func TestIdPDownAtStart(t *testing.T) {
	k := keys(t)
	p := newIDP(t, jwk(t, k.ec, "ec-1", jwkset.UseSig))
	p.down.Store(true)
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))
	v := newTestVerifier(t, Config{JWKSURL: p.url(), Logger: log})
	if v.KeysLoaded(context.Background()) {
		t.Fatal("KeysLoaded = true with the provider down")
	}
	mu.Lock()
	got := logs.String()
	mu.Unlock()
	if !strings.Contains(got, `"level":"ERROR"`) || !strings.Contains(got, "JWKS") || !strings.Contains(got, p.srv.URL) {
		t.Fatalf("log after a failed first fetch: %q", got)
	}
	tok := signed(t, jwt.SigningMethodES256, k.ec, "ec-1", valid("alice"))
	p.down.Store(false)
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("token after the provider came back: %v", err)
	}
	if !v.KeysLoaded(context.Background()) {
		t.Fatal("KeysLoaded = false after the keys arrived")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), "alice") {
		t.Fatal("the log holds the token or its subject")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestIdPClaimsChecked: issuer, audience, exp and sub are checked on
// identity-provider tokens as on Hearth's own, and a forged expired token
// is reported as forged.
func TestIdPClaimsChecked(t *testing.T) {
	k := keys(t)
	p := newIDP(t, jwk(t, k.rsa, "rsa-1", jwkset.UseSig))
	v := newTestVerifier(t, Config{JWKSURL: p.url(), Issuer: "https://idp.example.org/realms/clinic", Audience: "hearth"})
	now := time.Now()
	iss, exp := "https://idp.example.org/realms/clinic", now.Add(time.Hour).Unix()
	cases := []struct {
		name string
		key  *rsa.PrivateKey
		c    jwt.MapClaims
		want error
	}{
		{"right iss and aud", k.rsa, jwt.MapClaims{"sub": "u", "exp": exp, "iss": iss, "aud": []string{"account", "hearth"}}, nil},
		{"wrong iss", k.rsa, jwt.MapClaims{"sub": "u", "exp": exp, "iss": "https://idp.example.org/realms/other", "aud": "hearth"}, ErrInvalidToken},
		{"wrong aud", k.rsa, jwt.MapClaims{"sub": "u", "exp": exp, "iss": iss, "aud": "account"}, ErrInvalidToken},
		{"no sub", k.rsa, jwt.MapClaims{"exp": exp, "iss": iss, "aud": "hearth"}, ErrInvalidToken},
		{"no exp", k.rsa, jwt.MapClaims{"sub": "u", "iss": iss, "aud": "hearth"}, ErrInvalidToken},
		{"expired", k.rsa, jwt.MapClaims{"sub": "u", "exp": now.Add(-time.Hour).Unix(), "iss": iss, "aud": "hearth"}, ErrExpired},
		{"forged and expired", k.rsa2, jwt.MapClaims{"sub": "u", "exp": now.Add(-time.Hour).Unix(), "iss": iss, "aud": "hearth"}, ErrInvalidToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(signed(t, jwt.SigningMethodRS256, tc.key, "rsa-1", tc.c))
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if errors.Is(tc.want, ErrInvalidToken) && errors.Is(err, ErrExpired) {
				t.Fatalf("err = %v: a forged token reported as expired", err)
			}
		})
	}
}

// TestIdPRoleClaim: the role comes from the configured claim of an
// identity provider's token — a string, an array (Keycloak's
// realm_access.roles), a nested path, a dotted top-level name — while
// Hearth's own HS256 tokens keep theirs in "role".
func TestIdPRoleClaim(t *testing.T) {
	k := keys(t)
	p := newIDP(t, jwk(t, k.ed, "ed-1", jwkset.UseSig))
	exp := time.Now().Add(time.Hour).Unix()
	keycloak := func(roles ...any) jwt.MapClaims {
		return jwt.MapClaims{"sub": "u", "exp": exp, "realm_access": map[string]any{"roles": roles}}
	}
	cases := []struct {
		name  string
		claim string
		c     jwt.MapClaims
		want  string // "" means refused with ErrInvalidToken
	}{
		{"default claim, string", "", jwt.MapClaims{"sub": "u", "exp": exp, "role": "facilitator"}, "facilitator"},
		{"default claim absent", "", jwt.MapClaims{"sub": "u", "exp": exp}, "member"},
		{"default claim empty", "", jwt.MapClaims{"sub": "u", "exp": exp, "role": ""}, "member"},
		{"default claim, unknown role", "", jwt.MapClaims{"sub": "u", "exp": exp, "role": "admin"}, ""},
		{"default claim, a number", "", jwt.MapClaims{"sub": "u", "exp": exp, "role": 3}, ""},
		{"named claim, array", "groups", jwt.MapClaims{"sub": "u", "exp": exp, "groups": []string{"staff", "supervisor"}}, "supervisor"},
		{"Keycloak roles with facilitator", "realm_access.roles", keycloak("offline_access", "uma_authorization", "facilitator"), "facilitator"},
		{"Keycloak roles, all three", "realm_access.roles", keycloak("member", "supervisor", "facilitator"), "supervisor"},
		{"Keycloak roles, none of Hearth's", "realm_access.roles", keycloak("offline_access", "uma_authorization"), "member"},
		{"Keycloak roles, non-strings ignored", "realm_access.roles", keycloak(7, map[string]any{"x": 1}, "facilitator"), "facilitator"},
		{"Keycloak roles, empty", "realm_access.roles", keycloak(), "member"},
		{"Keycloak roles absent", "realm_access.roles", jwt.MapClaims{"sub": "u", "exp": exp}, "member"},
		{"path through a string", "realm_access.roles", jwt.MapClaims{"sub": "u", "exp": exp, "realm_access": "x"}, "member"},
		{"nested string", "hearth.role", jwt.MapClaims{"sub": "u", "exp": exp, "hearth": map[string]any{"role": "facilitator"}}, "facilitator"},
		{"nested unknown string", "hearth.role", jwt.MapClaims{"sub": "u", "exp": exp, "hearth": map[string]any{"role": "root"}}, ""},
		{"nested object", "hearth", jwt.MapClaims{"sub": "u", "exp": exp, "hearth": map[string]any{"role": "facilitator"}}, ""},
		{"dotted top-level name", "https://hearth.example/roles", jwt.MapClaims{"sub": "u", "exp": exp, "https://hearth.example/roles": []string{"facilitator"}}, "facilitator"},
		{"the default claim is not read when another is set", "realm_access.roles", jwt.MapClaims{"sub": "u", "exp": exp, "role": "supervisor"}, "member"},
		{"case matters", "", jwt.MapClaims{"sub": "u", "exp": exp, "role": "Facilitator"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, Config{JWKSURL: p.url(), RoleClaim: tc.claim})
			id, err := v.Verify(signed(t, jwt.SigningMethodEdDSA, k.ed, "ed-1", tc.c))
			switch {
			case tc.want == "" && !errors.Is(err, ErrInvalidToken):
				t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", id, err)
			case tc.want != "" && (err != nil || id.Role != tc.want):
				t.Fatalf("Verify = %+v, %v; want role %s", id, err, tc.want)
			}
		})
	}
	t.Run("Hearth's own token with a role claim configured", func(t *testing.T) {
		cfg := Config{Secret: secret, JWKSURL: p.url(), RoleClaim: "realm_access.roles"}
		tok, err := Mint(cfg, "u", "facilitator", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		id, err := newTestVerifier(t, cfg).Verify(tok)
		if err != nil || id.Role != "facilitator" {
			t.Fatalf("Verify = %+v, %v; want facilitator", id, err)
		}
	})
}

// TestRoleFromClaims: the rules shared with OIDC sign-in, on claims as
// encoding/json decodes them.
func TestRoleFromClaims(t *testing.T) {
	decode := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	cases := []struct {
		claims, claim, want string // want "" means an error wrapping ErrInvalidToken
	}{
		{`{}`, "", "member"},
		{`{"role":null}`, "role", "member"},
		{`{"role":"supervisor"}`, "", "supervisor"},
		{`{"role":"co_facilitator"}`, "", ""},
		{`{"role":true}`, "", ""},
		{`{"realm_access":{"roles":["offline_access","uma_authorization","facilitator"]}}`, "realm_access.roles", "facilitator"},
		{`{"realm_access":{"roles":["facilitator","supervisor"]}}`, "realm_access.roles", "supervisor"},
		{`{"realm_access":{"roles":["admin"]}}`, "realm_access.roles", "member"},
		{`{"realm_access":{"roles":"facilitator"}}`, "realm_access.roles", "facilitator"},
		{`{"resource_access":{"hearth":{"roles":["facilitator"]}}}`, "resource_access.hearth.roles", "facilitator"},
		{`{"a.b":"facilitator","a":{"b":"supervisor"}}`, "a.b", "facilitator"},
	}
	for _, tc := range cases {
		got, err := RoleFromClaims(decode(tc.claims), tc.claim)
		if tc.want == "" {
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("RoleFromClaims(%s, %q) = %q, %v; want ErrInvalidToken", tc.claims, tc.claim, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("RoleFromClaims(%s, %q) = %q, %v; want %q", tc.claims, tc.claim, got, err, tc.want)
		}
	}
}

// TestVerifierCloseStopsRefresh: Close ends the JWKS refresh goroutine.
func TestVerifierCloseStopsRefresh(t *testing.T) {
	k := keys(t)
	p := newIDP(t, jwk(t, k.rsa, "rsa-1", jwkset.UseSig))
	ignore := goleak.IgnoreCurrent()
	v, err := NewVerifier(Config{Secret: secret, JWKSURL: p.url()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(signed(t, jwt.SigningMethodRS256, k.rsa, "rsa-1", valid("u"))); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, ignore)
	if err := v.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
