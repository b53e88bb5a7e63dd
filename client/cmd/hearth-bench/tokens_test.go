package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// idpKey signs the tests' tokens as an identity provider would (ES256):
// hearth-bench has no key for them and must not need one.
var idpKey = func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}()

// idpToken returns an ES256 token with claims.
func idpToken(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodES256, claims).SignedString(idpKey)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// userToken returns an ES256 token for sub, valid for ttl.
func userToken(t *testing.T, sub string, ttl time.Duration) string {
	t.Helper()
	return idpToken(t, jwt.MapClaims{"sub": sub, "exp": time.Now().Add(ttl).Unix(), "realm_access": map[string]any{"roles": []string{"x"}}})
}

// writeTokenFile writes lines to a file of its own and returns its path.
func writeTokenFile(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// jwtLike finds anything shaped like a JWT (three base64url segments).
var jwtLike = regexp.MustCompile(`[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)

// TestParseConfigTokenFile: a -tokens file replaces HEARTH_JWT_SECRET
// (needed no more, and ignored when set); the run takes the first
// facilitator tokens, one per room, and the first member tokens, room by
// room, with the members' user ids from their sub; comments, blank lines,
// tokens beyond what the run takes (even expired or repeated ones) are
// ignored; printing the config prints no token.
func TestParseConfigTokenFile(t *testing.T) {
	const hour = time.Hour
	lines := []string{
		"# tokens from the identity provider",
		"",
		"facilitator " + userToken(t, "lead-a", hour),
		"member " + userToken(t, "m1", hour),
		"  member   " + userToken(t, "m2", hour) + "  ",
		"member " + userToken(t, "m3", hour),
		"facilitator " + userToken(t, "lead-b", hour),
		"\t# another comment",
		"member " + userToken(t, "m4", hour),
		"facilitator " + userToken(t, "lead-c", -hour), // not taken: expired is fine
		"member " + userToken(t, "m1", hour),           // not taken: a repeated user is fine
	}
	path := writeTokenFile(t, lines...)
	for _, env := range []map[string]string{nil, {"HEARTH_JWT_SECRET": testSecret, "HEARTH_JWT_ISSUER": "https://idp.example"}} {
		cfg, err := parseConfig([]string{"-tokens", path, "-rooms", "2", "-members", "2"}, envOf(env), io.Discard)
		if err != nil {
			t.Fatalf("parseConfig (HEARTH_JWT_SECRET set: %v): %v", env != nil, err)
		}
		if cfg.Secret != nil || cfg.Issuer != "" || cfg.Audience != "" {
			t.Errorf("with -tokens: secret %d bytes, issuer %q, audience %q; want none used", len(cfg.Secret), cfg.Issuer, cfg.Audience)
		}
		subs := func(ts []fileToken) (s []string) {
			for _, tk := range ts {
				s = append(s, fmt.Sprintf("%s@%d", tk.Sub, tk.Line))
			}
			return s
		}
		if got, want := subs(cfg.Tokens.Facilitators), []string{"lead-a@3", "lead-b@7"}; !slices.Equal(got, want) {
			t.Errorf("facilitators %v, want %v", got, want)
		}
		if got, want := subs(cfg.Tokens.Members), []string{"m1@4", "m2@5", "m3@6", "m4@9"}; !slices.Equal(got, want) {
			t.Errorf("members %v, want %v", got, want)
		}
		if cfg.Tokens.Members[1].raw != strings.Fields(lines[4])[1] {
			t.Error("member m2's token is not the one on its line")
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if s := fmt.Sprintf(verb, cfg); jwtLike.MatchString(s) {
				t.Errorf("printing the config with %s prints a token", verb)
			}
		}
		if got := reportConfigOf(cfg).Tokens; got != "file" {
			t.Errorf("report config tokens %q, want file", got)
		}
	}

	// Through the bench's token source: room by room, the file's subs.
	cfg, err := parseConfig([]string{"-tokens", path, "-rooms", "2", "-members", "2"}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	src := (&bench{cfg: cfg}).tokenSource()
	for _, c := range []struct {
		room, slot int
		user       string
		line       int
	}{{0, -1, "lead-a", 2}, {1, -1, "lead-b", 6}, {0, 0, "m1", 3}, {0, 1, "m2", 4}, {1, 0, "m3", 5}, {1, 1, "m4", 8}} {
		user, tok, err := src(c.room, c.slot)
		if err != nil || user != c.user || tok != strings.Fields(lines[c.line])[1] {
			t.Errorf("room %d slot %d: user %q, error %v; want %q with the token of line %d", c.room, c.slot, user, err, c.user, c.line+1)
		}
	}
}

// TestParseConfigTokenFileErrors: every way a -tokens file is refused is a
// usage error (exit status 2) naming the file and, where there is one, the
// line, and none quotes a token.
func TestParseConfigTokenFileErrors(t *testing.T) {
	const hour = time.Hour
	fac := func(sub string) string { return "facilitator " + userToken(t, sub, hour) }
	mem := func(sub string) string { return "member " + userToken(t, sub, hour) }
	tok := func(sub string) string { return userToken(t, sub, hour) }
	tests := []struct {
		name    string
		lines   []string // nil: no file at all
		args    []string // besides -tokens FILE
		wantErr string   // a part of the error, after "-tokens FILE"
	}{
		{"unreadable", nil, nil, ": open "},
		{"one field", []string{fac("f"), "member"}, nil, " line 2: want ROLE TOKEN"},
		{"a token alone", []string{fac("f"), tok("m")}, nil, " line 2: want ROLE TOKEN"},
		{"three fields", []string{fac("f"), "member " + tok("m") + " extra"}, nil, " line 2: want ROLE TOKEN"},
		{"unknown role", []string{fac("f"), "supervisor " + tok("m")}, nil, " line 2: the role (the first field) must be facilitator or member"},
		{"role in capitals", []string{"# x", "Facilitator " + tok("f")}, nil, " line 2: the role"},
		{"role and token swapped", []string{tok("f") + " facilitator"}, nil, " line 1: the role"},
		{"not a JWT", []string{fac("f"), "member not-a-token"}, nil, " line 2: the token is not a JWT"},
		{"not base64", []string{fac("f"), "member abc!.def.ghi"}, nil, " line 2: the token is not a JWT"},
		{"no sub", []string{fac("f"), "member " + idpToken(t, jwt.MapClaims{"exp": time.Now().Add(hour).Unix()})}, nil, " line 2: the token has no sub"},
		{"empty sub", []string{"member " + idpToken(t, jwt.MapClaims{"sub": "", "exp": time.Now().Add(hour).Unix()})}, nil, " line 1: the token has no sub"},
		{"sub not a string", []string{"member " + idpToken(t, jwt.MapClaims{"sub": 42, "exp": time.Now().Add(hour).Unix()})}, nil, " line 1: the token has no sub"},
		{"no exp", []string{"member " + idpToken(t, jwt.MapClaims{"sub": "m"})}, nil, " line 1: the token has no exp"},
		{"token too long", []string{"member " + idpToken(t, jwt.MapClaims{"sub": "m", "exp": time.Now().Add(hour).Unix(), "pad": strings.Repeat("x", 3200)})}, nil, " line 1: the token is"},
		{"line too long", []string{fac("f"), "# " + strings.Repeat("x", maxTokenLine)}, nil, " line 2: longer than"},
		{"the same member twice", []string{fac("f"), mem("m1"), mem("m1")}, nil, " line 3: the same user (sub) as line 2"},
		{"a facilitator as a member", []string{fac("f"), mem("m1"), mem("f")}, nil, " line 3: the same user (sub) as line 1"},
		{"two rooms, one lead", []string{fac("f1"), fac("f1"), mem("a"), mem("b"), mem("c"), mem("d")}, []string{"-rooms", "2"}, " line 2: the same user (sub) as line 1"},
		{"too few facilitators", []string{fac("f1"), fac("f2"), fac("f3"), mem("a"), mem("b")}, []string{"-rooms", "5"}, " has 3 facilitator tokens; -rooms 5 needs 5"},
		{"no facilitator", []string{mem("a"), mem("b")}, nil, " has 0 facilitator tokens; -rooms 1 needs 1"},
		{"too few members", []string{fac("f1"), fac("f2"), mem("a"), mem("b"), mem("c")}, []string{"-rooms", "2"}, " has 3 member tokens; -rooms 2 × -members 2 needs 4"},
		{"empty file", []string{"# nothing yet"}, nil, " has 0 facilitator tokens"},
		{"expired", []string{fac("f"), mem("a"), "member " + userToken(t, "b", -time.Minute)}, nil, " line 3: the token expires "},
		{"expires during the run", []string{fac("f"), mem("a"), "member " + userToken(t, "b", 90*time.Second)},
			[]string{"-duration", "2m"}, " line 3: the token expires "},
		{"the first to expire is named", []string{"facilitator " + userToken(t, "f", time.Minute), mem("a"), "member " + userToken(t, "b", 10*time.Second)},
			[]string{"-duration", "2m"}, " line 3: the token expires "},
		{"find-max plans every step", []string{fac("f"), mem("a"), mem("b")}, []string{"-find-max", "50ms", "-duration", "2m"}, " line 1: the token expires "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "missing.txt")
			if tt.lines != nil {
				path = writeTokenFile(t, tt.lines...)
			}
			args := append([]string{"-tokens", path, "-rooms", "1", "-members", "2"}, tt.args...)
			_, err := parseConfig(args, envOf(nil), io.Discard)
			want := "-tokens " + path + tt.wantErr
			switch {
			case err == nil || !strings.Contains(err.Error(), want):
				t.Fatalf("parseConfig(%q) = %v, want an error containing %q", tt.args, err, want)
			case !errors.Is(err, errUsage):
				t.Fatalf("error %v does not wrap errUsage (exit status 2)", err)
			case jwtLike.MatchString(err.Error()):
				t.Fatalf("the error quotes a token: %v", err)
			}
			if tt.lines == nil && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v does not wrap fs.ErrNotExist", err)
			}
		})
	}
}

// TestTokenExpiryMargin: the expiry error says by how much the token
// falls short of the planned end of the run, and how many others do, and
// a token valid just past the planned end is taken.
func TestTokenExpiryMargin(t *testing.T) {
	cfg, err := parseConfig([]string{"-rooms", "1", "-members", "2", "-duration", "10m", "-warmup", "0s", "-drain", "20s", "-ramp", "3"},
		envOf(map[string]string{"HEARTH_JWT_SECRET": testSecret}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.plannedRun(), time.Second+setupSlack+10*time.Minute+20*time.Second; got != want {
		t.Fatalf("plannedRun = %s, want %s (3 connections at 3/s + slack + duration + drain)", got, want)
	}
	end := time.Now().Add(cfg.plannedRun()).Truncate(time.Second) // exp is in whole seconds
	lines := []string{
		"facilitator " + idpToken(t, jwt.MapClaims{"sub": "f", "exp": end.Add(-5 * time.Minute).Unix()}),
		"member " + idpToken(t, jwt.MapClaims{"sub": "a", "exp": end.Add(-11 * time.Minute).Unix()}),
		"member " + idpToken(t, jwt.MapClaims{"sub": "b", "exp": end.Add(time.Minute).Unix()}),
	}
	path := writeTokenFile(t, lines...)
	_, err = readTokenFile(path, 1, 2, end)
	want := fmt.Sprintf("-tokens %s line 2: the token expires 11m0s before the planned end of the run (and 1 more of the tokens the run takes)", path)
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, errUsage) {
		t.Fatalf("readTokenFile = %v, want a usage error containing %q", err, want)
	}
	lines[0] = "facilitator " + idpToken(t, jwt.MapClaims{"sub": "f", "exp": end.Add(time.Second).Unix()})
	lines[1] = "member " + idpToken(t, jwt.MapClaims{"sub": "a", "exp": end.Add(time.Second).Unix()})
	if _, err := readTokenFile(writeTokenFile(t, lines...), 1, 2, end); err != nil {
		t.Fatalf("tokens valid past the planned end: %v", err)
	}
}
