package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// rawToken builds a JWT by hand — any header, any claims — signed with
// HMAC-SHA256 under key whatever the header's alg says (nil key: an empty
// signature), so a test can forge what a library would refuse to produce.
func rawToken(t *testing.T, header, claims map[string]any, key []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	if key == nil {
		return input + "."
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestVerifyRefusesHostileTokens: the signing method is pinned to HS256,
// exp is required, the key never comes from the token's headers, a token
// that is both forged and expired is reported as forged, and iss/aud are
// checked when configured. Every refusal wraps ErrInvalidToken or
// ErrExpired, matched with errors.Is.
func TestVerifyRefusesHostileTokens(t *testing.T) {
	v, err := NewVerifier(Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	exp := now.Add(time.Hour).Unix()
	attacker := []byte("attacker-key-attacker-key-0123456789")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	lib := func(m jwt.SigningMethod, key any, c jwt.MapClaims, hdr map[string]any) string {
		tok := jwt.NewWithClaims(m, c)
		for k, v := range hdr {
			tok.Header[k] = v
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := jwt.MapClaims{"sub": "u1", "exp": exp}
	hs256 := map[string]any{"alg": "HS256", "typ": "JWT"}
	cases := []struct {
		name  string
		token string
		want  error // nil: accepted
	}{
		{"HS256 with our secret", lib(jwt.SigningMethodHS256, secret, valid, nil), nil},
		{"HS512 with our secret", lib(jwt.SigningMethodHS512, secret, valid, nil), ErrInvalidToken},
		{"HS384 with our secret", lib(jwt.SigningMethodHS384, secret, valid, nil), ErrInvalidToken},
		{"alg none", rawToken(t, map[string]any{"alg": "none"}, valid, nil), ErrInvalidToken},
		{"alg None, signed anyway", rawToken(t, map[string]any{"alg": "None"}, valid, secret), ErrInvalidToken},
		{"RS256 header, HMAC with our secret as the key", rawToken(t, map[string]any{"alg": "RS256"}, valid, secret), ErrInvalidToken},
		{"RS256 for real", lib(jwt.SigningMethodRS256, rsaKey, valid, nil), ErrInvalidToken},
		{"HS256 with another key", lib(jwt.SigningMethodHS256, attacker, valid, nil), ErrInvalidToken},
		{"jku pointing at the attacker's key set", lib(jwt.SigningMethodHS256, attacker, valid, map[string]any{"jku": "https://evil.example/jwks.json", "kid": "evil"}), ErrInvalidToken},
		{"x5u pointing at the attacker's certificate", lib(jwt.SigningMethodHS256, attacker, valid, map[string]any{"x5u": "https://evil.example/cert.pem"}), ErrInvalidToken},
		{"embedded jwk of the attacker's key", lib(jwt.SigningMethodHS256, attacker, valid, map[string]any{"jwk": map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(attacker)}}), ErrInvalidToken},
		{"kid naming a file, signed with its empty content", lib(jwt.SigningMethodHS256, []byte{0}, valid, map[string]any{"kid": "../../../../dev/null"}), ErrInvalidToken},
		{"kid on a token signed with our secret (ignored)", lib(jwt.SigningMethodHS256, secret, valid, map[string]any{"kid": "anything"}), nil},
		{"no exp", rawToken(t, hs256, map[string]any{"sub": "u1"}, secret), ErrInvalidToken},
		{"exp as a string", rawToken(t, hs256, map[string]any{"sub": "u1", "exp": "tomorrow"}, secret), ErrInvalidToken},
		{"no sub", rawToken(t, hs256, map[string]any{"exp": exp}, secret), ErrInvalidToken},
		{"expired an hour ago", lib(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "u1", "exp": now.Add(-time.Hour).Unix()}, nil), ErrExpired},
		{"forged and expired is forged", lib(jwt.SigningMethodHS256, attacker, jwt.MapClaims{"sub": "u1", "exp": now.Add(-time.Hour).Unix()}, nil), ErrInvalidToken},
		{"expired within the leeway", lib(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "u1", "exp": now.Add(-Leeway / 2).Unix()}, nil), nil},
		{"expired just past the leeway", lib(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "u1", "exp": now.Add(-Leeway - 3*time.Second).Unix()}, nil), ErrExpired},
		{"not valid before tomorrow", lib(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "u1", "exp": exp, "nbf": now.Add(24 * time.Hour).Unix()}, nil), ErrInvalidToken},
		{"signature stripped", strings.TrimRight(lib(jwt.SigningMethodHS256, secret, valid, nil), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), ErrInvalidToken},
		{"validly signed but over 4 KiB", lib(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "u1", "exp": exp, "pad": strings.Repeat("p", 4<<10)}, nil), ErrInvalidToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Verify(tc.token)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == nil && id.UserID != "u1":
				t.Fatalf("identity %+v", id)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			case errors.Is(tc.want, ErrInvalidToken) && errors.Is(err, ErrExpired):
				t.Fatalf("err = %v: reported as expired, which tells a forger the signature was good", err)
			}
		})
	}
}

// TestLeewayIsSmall: clock skew tolerance stays at most 30 seconds, so an
// expired token is not usable for long.
func TestLeewayIsSmall(t *testing.T) {
	if Leeway <= 0 || Leeway > 30*time.Second {
		t.Fatalf("Leeway = %v, want between 0 and 30s", Leeway)
	}
}

// TestVerifyAudienceArrays: with an audience configured, a token's aud
// (string or array) must contain it; with an issuer configured, iss must
// equal it exactly.
func TestVerifyAudienceArrays(t *testing.T) {
	v, err := NewVerifier(Config{Secret: secret, Issuer: "https://idp.example.org", Audience: "hearth"})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Unix()
	hs := map[string]any{"alg": "HS256", "typ": "JWT"}
	cases := []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"aud string", map[string]any{"sub": "u", "exp": exp, "iss": "https://idp.example.org", "aud": "hearth"}, true},
		{"aud array holding it last", map[string]any{"sub": "u", "exp": exp, "iss": "https://idp.example.org", "aud": []string{"billing", "hearth"}}, true},
		{"aud array without it", map[string]any{"sub": "u", "exp": exp, "iss": "https://idp.example.org", "aud": []string{"billing", "hearth-admin"}}, false},
		{"aud empty array", map[string]any{"sub": "u", "exp": exp, "iss": "https://idp.example.org", "aud": []string{}}, false},
		{"aud differing in case", map[string]any{"sub": "u", "exp": exp, "iss": "https://idp.example.org", "aud": "Hearth"}, false},
		{"aud a number", map[string]any{"sub": "u", "exp": exp, "iss": "https://idp.example.org", "aud": 7}, false},
		{"iss with a trailing slash", map[string]any{"sub": "u", "exp": exp, "iss": "https://idp.example.org/", "aud": "hearth"}, false},
		{"iss missing", map[string]any{"sub": "u", "exp": exp, "aud": "hearth"}, false},
		{"iss as an array", map[string]any{"sub": "u", "exp": exp, "iss": []string{"https://idp.example.org"}, "aud": "hearth"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(rawToken(t, hs, tc.claims, secret))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
		})
	}
}
