package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var secret = []byte("auth-test-secret-0123456789-0123456789")

func TestVerifyIssuerAndAudience(t *testing.T) {
	v, err := NewVerifier(Config{Secret: secret, Issuer: "clinic", Audience: "hearth"})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Unix()
	sign := func(c jwt.MapClaims) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
		return s
	}
	cases := []struct {
		name   string
		claims jwt.MapClaims
		ok     bool
	}{
		{"right iss and aud", jwt.MapClaims{"sub": "u", "exp": exp, "iss": "clinic", "aud": "hearth"}, true},
		{"aud as an array", jwt.MapClaims{"sub": "u", "exp": exp, "iss": "clinic", "aud": []string{"other", "hearth"}}, true},
		{"wrong iss", jwt.MapClaims{"sub": "u", "exp": exp, "iss": "evil", "aud": "hearth"}, false},
		{"no aud", jwt.MapClaims{"sub": "u", "exp": exp, "iss": "clinic"}, false},
		{"wrong aud", jwt.MapClaims{"sub": "u", "exp": exp, "iss": "clinic", "aud": "other"}, false},
		{"supervisor", jwt.MapClaims{"sub": "u", "exp": exp, "iss": "clinic", "aud": "hearth", "role": "supervisor"}, true},
		{"admin", jwt.MapClaims{"sub": "u", "exp": exp, "iss": "clinic", "aud": "hearth", "role": "admin"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(sign(tc.claims))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
		})
	}
	if _, err := v.Verify(strings.Repeat("a", 4097)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("over-long token: %v", err)
	}
}

func TestMintRoundTrip(t *testing.T) {
	cfg := Config{Secret: secret, Issuer: "clinic", Audience: "hearth"}
	tok, err := Mint(cfg, "u1", "facilitator", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewVerifier(cfg)
	id, err := v.Verify(tok)
	if err != nil || id.UserID != "u1" || id.Role != "facilitator" {
		t.Fatalf("Verify = %+v, %v", id, err)
	}
	if _, err := Mint(cfg, "u1", "admin", time.Hour, time.Now()); err == nil {
		t.Fatal("minted an unknown role")
	}
	if _, err := NewVerifier(Config{Secret: []byte("short")}); err == nil {
		t.Fatal("accepted a short secret")
	}
}

func TestMemberIDs(t *testing.T) {
	m := NewMemberIDs(DeriveMemberKey(secret))
	a, b := m.For("room1", "alice"), m.For("room2", "alice")
	if a != m.For("room1", "alice") || a == b || len(a) != 16 || strings.Contains(a, "alice") {
		t.Fatalf("member ids %q %q: want stable per room, different across rooms, 16 chars, opaque", a, b)
	}
	other := NewMemberIDs(DeriveMemberKey([]byte("another-secret-0123456789-0123456789")))
	if other.For("room1", "alice") == a {
		t.Fatal("member ids do not depend on the key")
	}
	// The room/user boundary is unambiguous: ("ab","c") and ("a","bc") differ.
	if m.For("ab", "c") == m.For("a", "bc") {
		t.Fatal("room and user run together")
	}
}
