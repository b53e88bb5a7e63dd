package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

const goodSecret = "0123456789abcdef0123456789abcdef!"

func TestLoad(t *testing.T) {
	c, err := Load([]string{"-addr", "127.0.0.1:9000", "-shutdown-timeout", "3s"}, env(map[string]string{
		"HEARTH_JWT_SECRET": goodSecret, "HEARTH_ADDR": ":1", "HEARTH_REDIS_URL": "redis://127.0.0.1:6379/0",
		"HEARTH_ALLOWED_ORIGINS": "https://Chat.Example.org, http://localhost:8080",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" {
		t.Errorf("flag must win over env: addr %q", c.Addr)
	}
	if c.ShutdownTimeout != 3*time.Second || c.RedisURL == "" || c.Dev {
		t.Errorf("config %+v", c)
	}
	if c.CheckInRetention != 30*24*time.Hour {
		t.Errorf("check-in retention %v, want 30 days by default", c.CheckInRetention)
	}
	if c.StoreURL != c.RedisURL || c.SessionMax != 4*time.Hour {
		t.Errorf("store %q (want the Redis URL when unset), session max %v (want 4h)", c.StoreURL, c.SessionMax)
	}
	if want := []string{"https://chat.example.org:443", "http://localhost:8080"}; strings.Join(c.AllowedOrigins, " ") != strings.Join(want, " ") {
		t.Errorf("origins %v, want %v", c.AllowedOrigins, want)
	}
}

func TestDevMakesASecret(t *testing.T) {
	c, err := Load([]string{"-dev", "-addr", ":0"}, env(nil))
	if err != nil || !c.Dev || !c.SecretGenerated || len(c.JWTSecret) < 32 || c.Addr != ":0" {
		t.Fatalf("Load -dev = %+v, %v", c, err)
	}
}

func TestLoadRefusesBadSettings(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no secret", nil, nil, "HEARTH_JWT_SECRET is not set"},
		{"short secret", nil, map[string]string{"HEARTH_JWT_SECRET": "short"}, "at least 32"},
		{"bad redis url", []string{"-redis", "localhost:6379"}, map[string]string{"HEARTH_JWT_SECRET": goodSecret}, "redis:// or rediss://"},
		{"bad origin", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_ALLOWED_ORIGINS": "null"}, "HEARTH_ALLOWED_ORIGINS"},
		{"origin with path", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_ALLOWED_ORIGINS": "https://a.org/x"}, "HEARTH_ALLOWED_ORIGINS"},
		{"bad timeout", []string{"-shutdown-timeout", "soon"}, map[string]string{"HEARTH_JWT_SECRET": goodSecret}, "shutdown-timeout"},
		{"bad log level", []string{"-log-level", "loud"}, map[string]string{"HEARTH_JWT_SECRET": goodSecret}, "log-level"},
		{"bad dev", nil, map[string]string{"HEARTH_DEV": "maybe"}, "HEARTH_DEV"},
		{"unknown flag", []string{"-nope"}, nil, "flag provided but not defined"},
		{"store without redis", []string{"-store", "redis://127.0.0.1:6380/0"}, map[string]string{"HEARTH_JWT_SECRET": goodSecret}, "needs HEARTH_REDIS_URL"},
		{"bad store url", []string{"-redis", "redis://a:1", "-store", "a:1"}, map[string]string{"HEARTH_JWT_SECRET": goodSecret}, "HEARTH_STORE_URL must be"},
		{"session max too long", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_SESSION_MAX": "48h"}, "HEARTH_SESSION_MAX"},
		{"session max not a duration", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_SESSION_MAX": "4"}, "HEARTH_SESSION_MAX"},
		{"stray argument", []string{"serve"}, map[string]string{"HEARTH_JWT_SECRET": goodSecret}, "unexpected argument"},
		{"check-in retention not a duration", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_CHECKIN_RETENTION": "a month"}, "HEARTH_CHECKIN_RETENTION"},
		{"check-in retention too short", []string{"-checkin-retention", "30m"}, map[string]string{"HEARTH_JWT_SECRET": goodSecret}, "HEARTH_CHECKIN_RETENTION"},
		{"cluster without store", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_REDIS_URL": "redis+cluster://a:1,b:2"}, "HEARTH_STORE_URL must name the single Redis"},
		{"cluster flag without redis", []string{"-redis-cluster"}, map[string]string{"HEARTH_JWT_SECRET": goodSecret}, "needs HEARTH_REDIS_URL"},
		{"missing public key file", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_JWT_PUBLIC_KEY": "/nonexistent/key.pem"}, "HEARTH_JWT_PUBLIC_KEY"},
		{"plain-http JWKS", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_JWT_JWKS_URL": "http://idp.example.org/jwks"}, "HEARTH_JWT_JWKS_URL must be an https URL"},
		{"empty role claim path", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_JWT_ROLE_CLAIM": "realm_access..roles"}, "HEARTH_JWT_ROLE_CLAIM"},
		{"OIDC without client id", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_OIDC_ISSUER": "https://idp.example.org", "HEARTH_PUBLIC_URL": "https://h.example.org"}, "needs HEARTH_OIDC_CLIENT_ID"},
		{"OIDC without public URL", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_OIDC_ISSUER": "https://idp.example.org", "HEARTH_OIDC_CLIENT_ID": "hearth"}, "needs HEARTH_PUBLIC_URL"},
		{"OIDC client without issuer", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_OIDC_CLIENT_ID": "hearth"}, "need HEARTH_OIDC_ISSUER"},
		{"public debug address", []string{"-debug-addr", ":6060"}, map[string]string{"HEARTH_JWT_SECRET": goodSecret}, "must be a loopback host:port"},
		{"debug address on a LAN", []string{"-debug-addr", "10.0.0.5:6060"}, map[string]string{"HEARTH_JWT_SECRET": goodSecret}, "must be a loopback host:port"},
		{"public URL with path", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_PUBLIC_URL": "https://h.example.org/app"}, "HEARTH_PUBLIC_URL"},
		{"check-in retention too long", nil, map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_CHECKIN_RETENTION": "400d"}, "out of range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.args, env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestIdentityAndClusterSettings(t *testing.T) {
	c, err := Load(nil, env(map[string]string{
		"HEARTH_JWT_SECRET": goodSecret, "HEARTH_REDIS_URL": "redis+cluster://10.0.0.1:7000,10.0.0.2:7000", "HEARTH_STORE_URL": "redis://store:6379/0",
		"HEARTH_JWT_JWKS_URL": "http://127.0.0.1:9999/jwks", "HEARTH_JWT_ROLE_CLAIM": "realm_access.roles",
		"HEARTH_OIDC_ISSUER": "https://idp.example.org/realms/clinic", "HEARTH_OIDC_CLIENT_ID": "hearth", "HEARTH_PUBLIC_URL": "https://hearth.example.org/",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.RedisCluster || c.RedisURL != "redis://10.0.0.1:7000,10.0.0.2:7000" || c.StoreURL != "redis://store:6379/0" {
		t.Errorf("cluster %v, redis %q, store %q", c.RedisCluster, c.RedisURL, c.StoreURL)
	}
	if c.JWTRoleClaim != "realm_access.roles" || c.JWTJWKSURL == "" || c.PublicURL != "https://hearth.example.org" || c.OIDCClientID != "hearth" {
		t.Errorf("identity settings %+v", c)
	}
	if strings.Join(c.AllowedOrigins, " ") != "https://hearth.example.org:443" {
		t.Errorf("allowed origins %v: want the public URL's origin, so its pages may open WebSockets behind a Host-rewriting proxy", c.AllowedOrigins)
	}
	notAKey := t.TempDir() + "/key.pem"
	if err := os.WriteFile(notAKey, []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIB\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(nil, env(map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_JWT_PUBLIC_KEY": notAKey})); err == nil ||
		!strings.Contains(err.Error(), "HEARTH_JWT_PUBLIC_KEY ("+notAKey+")") || !strings.Contains(err.Error(), "private key is refused") {
		t.Errorf("a private key as HEARTH_JWT_PUBLIC_KEY: %v; want it refused at start, naming the setting and the file", err)
	}
	if c, err := Load(nil, env(map[string]string{"HEARTH_JWT_SECRET": goodSecret})); err != nil || c.JWTRoleClaim != "role" || c.RedisCluster {
		t.Errorf("defaults: role claim %q, cluster %v, %v", c.JWTRoleClaim, c.RedisCluster, err)
	}
}

func TestNormalizeOrigin(t *testing.T) {
	cases := map[string]string{
		"https://chat.example.org":      "https://chat.example.org:443",
		"http://LOCALHOST:8080":         "http://localhost:8080",
		"http://[::1]:8080":             "http://[::1]:8080",
		"null":                          "",
		"file://x":                      "",
		"https://user@chat.example.org": "",
		"https://chat.example.org/path": "",
		"chat.example.org":              "",
	}
	for in, want := range cases {
		got, ok := NormalizeOrigin(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestCrisisResourcesFile(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/ok.json"
	bad := dir + "/bad.json"
	if err := os.WriteFile(good, []byte(`[{"id":"samaritans","name":"Samaritans","summary":"Call 116 123","actions":[{"label":"Call 116 123","href":"tel:116123"}],"source":"samaritans.org"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`[{"id":"x","name":"X","actions":[{"label":"Run","href":"javascript:alert(1)"}]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(nil, env(map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_CRISIS_RESOURCES": good}))
	if err != nil || len(c.CrisisResources) != 1 || c.CrisisResources[0].ID != "samaritans" {
		t.Fatalf("Load with a resources file = %+v, %v", c.CrisisResources, err)
	}
	if c, err := Load(nil, env(map[string]string{"HEARTH_JWT_SECRET": goodSecret})); err != nil || c.CrisisResources[0].ID != "911" || c.EscalateAfter != 3*time.Minute {
		t.Fatalf("defaults = %+v, %v", c.CrisisResources, err)
	}
	for _, tc := range []struct{ env map[string]string }{
		{map[string]string{"HEARTH_CRISIS_RESOURCES": bad}},
		{map[string]string{"HEARTH_CRISIS_RESOURCES": dir + "/missing.json"}},
		{map[string]string{"HEARTH_ALERT_ESCALATE_AFTER": "soon"}},
		{map[string]string{"HEARTH_ALERT_WEBHOOK_URL": "https://oncall.example.org/hook"}},
	} {
		tc.env["HEARTH_JWT_SECRET"] = goodSecret
		if _, err := Load(nil, env(tc.env)); err == nil {
			t.Errorf("Load(%v) accepted a bad setting", tc.env)
		}
	}
}

func TestParseRetention(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		in   string
		want time.Duration // 0: refused
	}{
		{"30d", 30 * day}, {"1d", day}, {"365d", 365 * day}, {"36h", 36 * time.Hour}, {"1h", time.Hour}, {"90m", 90 * time.Minute},
		{"8760h", 365 * day},
		{"", 0}, {"0d", 0}, {"0", 0}, {"59m", 0}, {"366d", 0}, {"-1d", 0}, {"1.5d", 0}, {"d", 0}, {"30 d", 0}, {"soon", 0},
		{"99999999999999999999d", 0}, {"8761h", 0},
	}
	for _, tc := range cases {
		got, err := ParseRetention(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("ParseRetention(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	c, err := Load([]string{"-checkin-retention", "7d"}, env(map[string]string{"HEARTH_JWT_SECRET": goodSecret, "HEARTH_CHECKIN_RETENTION": "90d"}))
	if err != nil || c.CheckInRetention != 7*day {
		t.Errorf("Load with -checkin-retention 7d: %v, %v (the flag must win)", c.CheckInRetention, err)
	}
}
