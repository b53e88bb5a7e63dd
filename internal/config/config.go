// Package config reads and validates the server's settings: command-line
// flags, each with an environment-variable fallback, checked up front so a
// misconfigured server refuses to start with a clear sentence instead of
// failing later. Settings lists every setting once; docs and the compose
// file are checked against it.
package config

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"hearth/internal/auth"
	"hearth/internal/crisis"
)

// Config is the server's whole configuration.
type Config struct {
	Addr        string        // listen address, host:port
	RedisURL    string        // empty: embedded mode (in-memory broker, bbolt store); redis:// or rediss://: distributed mode (pub/sub, presence, session buffer: live, unpersisted)
	StoreURL    string        // distributed mode's durable store (rooms, rosters, audit); RedisURL when unset
	SessionMax  time.Duration // a session ends by itself after this long; its buffer expires with it
	DataDir     string        // embedded mode's store directory
	JWTSecret   []byte        // HS256 key, at least auth.MinSecretBytes
	JWTIssuer   string        // checked against iss when set
	JWTAudience string        // checked against aud when set
	// JWTPublicKey is the PEM public key (RSA, ECDSA P-256 or Ed25519) read
	// from the file HEARTH_JWT_PUBLIC_KEY names; RS256, ES256 or EdDSA
	// tokens are verified with it. Empty when unset.
	JWTPublicKey []byte
	// JWTJWKSURL is an identity provider's JWKS endpoint; RS256, ES256 and
	// EdDSA tokens are verified with the key their kid names. https, or
	// http on a loopback address. Empty when unset.
	JWTJWKSURL string
	// JWTRoleClaim names the claim that carries the role: a top-level claim
	// ("role", the default) or a dotted path into nested objects
	// ("realm_access.roles", as Keycloak emits); its value may be a string
	// or an array of strings.
	JWTRoleClaim string
	// RedisCluster is true when RedisURL names a Redis Cluster
	// (redis+cluster://host1:port,host2:port or -redis-cluster): rooms then
	// use sharded pub/sub and each room's keys share one hash slot.
	RedisCluster bool
	// PublicURL is the address people open (https://hearth.example.org),
	// without a path; the OIDC callback is PublicURL + "/auth/callback".
	PublicURL string
	// OIDCIssuer, OIDCClientID and OIDCClientSecret make the server an
	// OpenID Connect relying party for the web client's sign-in (empty:
	// sign-in is off). The secret may be empty for a public client; PKCE is
	// always used.
	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	AllowedOrigins   []string      // normalized "scheme://host:port" origins; empty: same host only
	Dev              bool          // development mode: random secret when none is set, demo room, printed links
	ShutdownTimeout  time.Duration // bound on graceful shutdown
	// DrainDelay is how long a node shutting down keeps its WebSockets
	// open after /readyz turns 503 and upgrades are refused, so the load
	// balancer's health check sees it first; less than ShutdownTimeout.
	DrainDelay time.Duration
	// DebugAddr, when set, is a loopback host:port serving Go's profiler
	// (/debug/pprof/: goroutines, heap, CPU) apart from Addr. Empty: none.
	DebugAddr string
	LogLevel  slog.Level // debug, info, warn, error
	LogFormat string     // "text" or "json"

	CrisisResources []crisis.Resource // the resources to show, in their listed order
	EscalateAfter   time.Duration     // unacknowledged alerts are escalated after this
	WebhookURL      string            // escalated alerts are POSTed here when set
	WebhookSecret   []byte            // signs the webhook body

	// CheckInRetention is how long between-session check-ins are kept
	// before the store deletes them (MinCheckInRetention to
	// MaxCheckInRetention; 30 days by default).
	CheckInRetention time.Duration

	// SecretGenerated is true when Dev made up a random JWTSecret.
	SecretGenerated bool
}

// Setting describes one setting: its flag (empty when it has none, as for
// secrets, which must not appear in a process list), its environment
// variable, its default and its meaning.
type Setting struct {
	Flag, Env, Default, Usage string
}

// Settings lists every setting the server reads, in the order of
// docs/operations.md.
var Settings = []Setting{
	{"addr", "HEARTH_ADDR", ":8080", "listen address (host:port)"},
	{"redis", "HEARTH_REDIS_URL", "", "Redis URL for distributed mode (redis://host:6379/0): pub/sub, presence and the session buffer, best run without persistence; empty runs one node with an in-memory broker"},
	{"redis-cluster", "HEARTH_REDIS_CLUSTER", "false", "HEARTH_REDIS_URL names a Redis Cluster (seed nodes: redis://host1:port,host2:port); the same as a redis+cluster:// URL"},
	{"store", "HEARTH_STORE_URL", "", "Redis URL of the durable store in distributed mode (rooms, rosters, agreements, audit; run with appendonly); HEARTH_REDIS_URL when empty"},
	{"session-max", "HEARTH_SESSION_MAX", "4h", "the longest a session may run: it then ends by itself, and its message buffer expires with it"},
	{"checkin-retention", "HEARTH_CHECKIN_RETENTION", "30d", "how long between-session check-ins are kept before they are deleted: whole days (30d) or a duration (36h), from 1h to 365d"},
	{"data", "HEARTH_DATA_DIR", "./data", "directory of the embedded store (hearth.db, bbolt) used in embedded mode"},
	{"", "HEARTH_JWT_SECRET", "", "HS256 key for tokens, at least 32 bytes; required unless -dev"},
	{"", "HEARTH_JWT_ISSUER", "", "when set, tokens must carry this iss"},
	{"", "HEARTH_JWT_AUDIENCE", "", "when set, tokens must carry this aud"},
	{"", "HEARTH_JWT_PUBLIC_KEY", "", "PEM file of a public key (RSA, ECDSA P-256 or Ed25519): RS256, ES256 or EdDSA tokens signed with its private key are accepted besides HS256 ones"},
	{"", "HEARTH_JWT_JWKS_URL", "", "an identity provider's JWKS URL (https): RS256, ES256 or EdDSA tokens are verified with the key their kid names; keys are cached and refreshed"},
	{"", "HEARTH_JWT_ROLE_CLAIM", "role", "the token claim that carries the role (member, facilitator or supervisor): a claim name or a dotted path such as realm_access.roles; a string or an array of strings"},
	{"", "HEARTH_PUBLIC_URL", "", "the address people open (https://hearth.example.org); required with OIDC sign-in, whose callback is <this>/auth/callback"},
	{"", "HEARTH_OIDC_ISSUER", "", "OpenID Connect issuer URL: the web client's Sign in goes to this identity provider (authorization code with PKCE)"},
	{"", "HEARTH_OIDC_CLIENT_ID", "", "the client id registered with the OIDC issuer; required with HEARTH_OIDC_ISSUER"},
	{"", "HEARTH_OIDC_CLIENT_SECRET", "", "the client secret, for a confidential client; empty for a public client"},
	{"", "HEARTH_ALLOWED_ORIGINS", "", "comma-separated origins (scheme://host[:port]) allowed to open WebSockets, besides HEARTH_PUBLIC_URL's; with neither, the server's own host only"},
	{"", "HEARTH_CRISIS_RESOURCES", "", "JSON file of crisis resources that replaces the U.S. defaults (988, SAMHSA, 911, Crisis Text Line), for other regions"},
	{"", "HEARTH_ALERT_ESCALATE_AFTER", "3m", "how long a crisis alert may stay unacknowledged before it is sent again, escalated, to every facilitator"},
	{"", "HEARTH_ALERT_WEBHOOK_URL", "", "when set, escalated alerts are also POSTed here (ids, room, severity, times; signed)"},
	{"", "HEARTH_ALERT_WEBHOOK_SECRET", "", "HMAC-SHA256 key for the webhook signature; required with the URL"},
	{"dev", "HEARTH_DEV", "false", "development mode: a random JWT secret if none is set, a demo room, and printed sign-in links"},
	{"shutdown-timeout", "HEARTH_SHUTDOWN_TIMEOUT", "15s", "how long a graceful shutdown may take before remaining connections are cut"},
	{"drain-delay", "HEARTH_DRAIN_DELAY", "2s", "on shutdown, how long /readyz answers 503 (and new WebSockets are refused) before the open ones are closed with 1012: at least the load balancer's health-check interval; less than the shutdown timeout"},
	{"debug-addr", "HEARTH_DEBUG_ADDR", "", "a loopback host:port (127.0.0.1:6060) serving Go's profiler at /debug/pprof/ (goroutines, heap, CPU) for diagnosis; empty serves none; never a public address"},
	{"log-level", "HEARTH_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"log-format", "HEARTH_LOG_FORMAT", "text", "text or json"},
}

// Load parses args (without the program name) with each flag's default taken
// from its environment variable when set, then validates the result.
// Errors name the offending setting and say what is expected.
func Load(args []string, getenv func(string) string) (Config, error) {
	fs := flag.NewFlagSet("hearth", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vals := map[string]*string{}
	for _, s := range Settings {
		v := s.Default
		if e := getenv(s.Env); e != "" {
			v = e
		}
		if s.Flag == "" {
			vals[s.Env] = &v
			continue
		}
		p := &v
		vals[s.Env] = p
		if s.Default == "false" || s.Default == "true" {
			fs.Var((*boolFlag)(p), s.Flag, s.Usage+" ($"+s.Env+")")
		} else {
			fs.StringVar(p, s.Flag, v, s.Usage+" ($"+s.Env+")")
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, fmt.Errorf("config: %w (run with -h for the list of flags)", err)
	}
	explicitAddr := getenv("HEARTH_ADDR") != ""
	fs.Visit(func(f *flag.Flag) { explicitAddr = explicitAddr || f.Name == "addr" })
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("config: unexpected argument %q", fs.Arg(0))
	}
	get := func(env string) string { return strings.TrimSpace(*vals[env]) }

	var c Config
	var errs []error
	c.Addr = get("HEARTH_ADDR")
	c.RedisURL = get("HEARTH_REDIS_URL")
	c.StoreURL = get("HEARTH_STORE_URL")
	var err error
	if c.RedisCluster, err = parseBool(get("HEARTH_REDIS_CLUSTER")); err != nil {
		errs = append(errs, fmt.Errorf("-redis-cluster / HEARTH_REDIS_CLUSTER: %w", err))
	}
	if rest, ok := strings.CutPrefix(c.RedisURL, "redis+cluster://"); ok {
		c.RedisURL, c.RedisCluster = "redis://"+rest, true
	} else if rest, ok := strings.CutPrefix(c.RedisURL, "rediss+cluster://"); ok {
		c.RedisURL, c.RedisCluster = "rediss://"+rest, true
	}
	switch {
	case c.RedisCluster && c.RedisURL == "":
		errs = append(errs, errors.New("-redis-cluster needs HEARTH_REDIS_URL to name the cluster's seed nodes (redis://host1:port,host2:port)"))
	case c.RedisCluster && c.StoreURL == "":
		errs = append(errs, errors.New("with a Redis Cluster, HEARTH_STORE_URL must name the single Redis (with appendonly) that keeps rooms, rosters and the audit log"))
	}
	switch {
	case c.StoreURL != "" && c.RedisURL == "":
		errs = append(errs, errors.New("-store / HEARTH_STORE_URL needs HEARTH_REDIS_URL: embedded mode keeps its store in HEARTH_DATA_DIR"))
	case c.StoreURL != "" && !strings.HasPrefix(c.StoreURL, "redis://") && !strings.HasPrefix(c.StoreURL, "rediss://"):
		errs = append(errs, errors.New("-store / HEARTH_STORE_URL must be a redis:// or rediss:// URL"))
	case c.StoreURL == "":
		c.StoreURL = c.RedisURL
	}
	c.DataDir = get("HEARTH_DATA_DIR")
	if c.DataDir == "" {
		errs = append(errs, errors.New("-data / HEARTH_DATA_DIR must name a directory"))
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		errs = append(errs, errors.New("-redis / HEARTH_REDIS_URL must be a redis:// or rediss:// URL"))
	}
	c.JWTSecret = []byte(*vals["HEARTH_JWT_SECRET"])
	c.JWTIssuer = get("HEARTH_JWT_ISSUER")
	c.JWTAudience = get("HEARTH_JWT_AUDIENCE")
	if path := get("HEARTH_JWT_PUBLIC_KEY"); path != "" {
		var rerr error
		if c.JWTPublicKey, rerr = os.ReadFile(path); rerr == nil {
			rerr = auth.CheckPublicKey(c.JWTPublicKey)
		}
		if rerr != nil {
			errs = append(errs, fmt.Errorf("HEARTH_JWT_PUBLIC_KEY (%s): %w", path, rerr))
		}
	}
	if c.JWTJWKSURL = get("HEARTH_JWT_JWKS_URL"); c.JWTJWKSURL != "" && !secureURL(c.JWTJWKSURL) {
		errs = append(errs, errors.New("HEARTH_JWT_JWKS_URL must be an https URL (http only on a loopback address)"))
	}
	if c.JWTRoleClaim = get("HEARTH_JWT_ROLE_CLAIM"); c.JWTRoleClaim == "" || strings.HasPrefix(c.JWTRoleClaim, ".") || strings.HasSuffix(c.JWTRoleClaim, ".") || strings.Contains(c.JWTRoleClaim, "..") {
		errs = append(errs, errors.New("HEARTH_JWT_ROLE_CLAIM must name a claim, such as role or realm_access.roles"))
	}
	c.PublicURL = strings.TrimSuffix(get("HEARTH_PUBLIC_URL"), "/")
	if c.PublicURL != "" {
		if _, ok := NormalizeOrigin(c.PublicURL); !ok {
			errs = append(errs, errors.New("HEARTH_PUBLIC_URL must be an http(s) address without a path, such as https://hearth.example.org"))
		}
	}
	c.OIDCIssuer, c.OIDCClientID, c.OIDCClientSecret = get("HEARTH_OIDC_ISSUER"), get("HEARTH_OIDC_CLIENT_ID"), *vals["HEARTH_OIDC_CLIENT_SECRET"]
	switch {
	case c.OIDCIssuer == "" && (c.OIDCClientID != "" || c.OIDCClientSecret != ""):
		errs = append(errs, errors.New("HEARTH_OIDC_CLIENT_ID and HEARTH_OIDC_CLIENT_SECRET need HEARTH_OIDC_ISSUER"))
	case c.OIDCIssuer == "":
	case !secureURL(c.OIDCIssuer):
		errs = append(errs, errors.New("HEARTH_OIDC_ISSUER must be an https URL (http only on a loopback address)"))
	case c.OIDCClientID == "":
		errs = append(errs, errors.New("HEARTH_OIDC_ISSUER needs HEARTH_OIDC_CLIENT_ID"))
	case c.PublicURL == "":
		errs = append(errs, errors.New("HEARTH_OIDC_ISSUER needs HEARTH_PUBLIC_URL, the address people open: the sign-in callback is <HEARTH_PUBLIC_URL>/auth/callback"))
	}
	if c.Dev, err = parseBool(get("HEARTH_DEV")); err != nil {
		errs = append(errs, fmt.Errorf("-dev / HEARTH_DEV: %w", err))
	}
	switch {
	case len(c.JWTSecret) == 0 && c.Dev:
		c.JWTSecret, c.SecretGenerated = []byte(rand.Text()+rand.Text()), true
	case len(c.JWTSecret) == 0:
		errs = append(errs, errors.New("HEARTH_JWT_SECRET is not set: set a random key of at least 32 bytes (for example `openssl rand -base64 48`), or run with -dev"))
	case len(c.JWTSecret) < auth.MinSecretBytes:
		errs = append(errs, fmt.Errorf("HEARTH_JWT_SECRET is %d bytes; it must be at least %d", len(c.JWTSecret), auth.MinSecretBytes))
	}
	if c.AllowedOrigins, err = ParseOrigins(get("HEARTH_ALLOWED_ORIGINS")); err != nil {
		errs = append(errs, fmt.Errorf("HEARTH_ALLOWED_ORIGINS: %w", err))
	}
	if o, ok := NormalizeOrigin(c.PublicURL); ok && !slices.Contains(c.AllowedOrigins, o) {
		// The page people open may use WebSockets even behind a proxy
		// that rewrites Host, as it may send its cookie.
		c.AllowedOrigins = append(c.AllowedOrigins, o)
	}
	if c.ShutdownTimeout, err = time.ParseDuration(get("HEARTH_SHUTDOWN_TIMEOUT")); err != nil || c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("-shutdown-timeout / HEARTH_SHUTDOWN_TIMEOUT must be a positive duration such as 15s"))
	}
	if c.DrainDelay, err = time.ParseDuration(get("HEARTH_DRAIN_DELAY")); err != nil || c.DrainDelay < 0 || (c.ShutdownTimeout > 0 && c.DrainDelay >= c.ShutdownTimeout) {
		errs = append(errs, fmt.Errorf("-drain-delay / HEARTH_DRAIN_DELAY (%s) must be a duration such as 2s, from 0 to less than the shutdown timeout (%s)", get("HEARTH_DRAIN_DELAY"), get("HEARTH_SHUTDOWN_TIMEOUT")))
	}
	if c.DebugAddr = get("HEARTH_DEBUG_ADDR"); c.DebugAddr != "" && !loopbackAddr(c.DebugAddr) {
		errs = append(errs, fmt.Errorf("-debug-addr / HEARTH_DEBUG_ADDR (%s) must be a loopback host:port such as 127.0.0.1:6060: the profiler shows the process's memory", c.DebugAddr))
	}
	if c.SessionMax, err = time.ParseDuration(get("HEARTH_SESSION_MAX")); err != nil || c.SessionMax < time.Minute || c.SessionMax > 24*time.Hour {
		errs = append(errs, errors.New("-session-max / HEARTH_SESSION_MAX must be a duration from 1m to 24h, such as 4h"))
	}
	if c.CheckInRetention, err = ParseRetention(get("HEARTH_CHECKIN_RETENTION")); err != nil {
		errs = append(errs, fmt.Errorf("-checkin-retention / HEARTH_CHECKIN_RETENTION: %w", err))
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("HEARTH_LOG_LEVEL"))); err != nil {
		errs = append(errs, errors.New("-log-level / HEARTH_LOG_LEVEL must be debug, info, warn or error"))
	}
	c.CrisisResources = crisis.DefaultResources()
	if path := get("HEARTH_CRISIS_RESOURCES"); path != "" {
		b, rerr := os.ReadFile(path)
		if rerr == nil {
			c.CrisisResources, rerr = crisis.ParseResources(b)
		}
		if rerr != nil {
			errs = append(errs, fmt.Errorf("HEARTH_CRISIS_RESOURCES (%s): %w", path, rerr))
		}
	}
	if c.EscalateAfter, err = time.ParseDuration(get("HEARTH_ALERT_ESCALATE_AFTER")); err != nil || c.EscalateAfter <= 0 {
		errs = append(errs, errors.New("HEARTH_ALERT_ESCALATE_AFTER must be a positive duration such as 3m"))
	}
	c.WebhookURL, c.WebhookSecret = get("HEARTH_ALERT_WEBHOOK_URL"), []byte(*vals["HEARTH_ALERT_WEBHOOK_SECRET"])
	if c.WebhookURL != "" {
		if u, err := url.Parse(c.WebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, errors.New("HEARTH_ALERT_WEBHOOK_URL must be an http(s) URL"))
		}
		if len(c.WebhookSecret) < 16 {
			errs = append(errs, errors.New("HEARTH_ALERT_WEBHOOK_SECRET must be set (at least 16 bytes) with HEARTH_ALERT_WEBHOOK_URL"))
		}
	}
	c.LogFormat = get("HEARTH_LOG_FORMAT")
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, errors.New("-log-format / HEARTH_LOG_FORMAT must be text or json"))
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("config: %w", errors.Join(errs...))
	}
	if c.Dev && !explicitAddr {
		c.Addr = DevAddr // a development server is not for the network unless asked
	}
	return c, nil
}

// Bounds of HEARTH_CHECKIN_RETENTION.
const (
	MinCheckInRetention = time.Hour
	MaxCheckInRetention = 365 * 24 * time.Hour
)

// ParseRetention reads a check-in retention: whole days with a "d" suffix
// ("30d") or a Go duration ("36h", "90m"), from MinCheckInRetention to
// MaxCheckInRetention. Errors say what is expected.
func ParseRetention(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || strings.HasPrefix(days, "+") {
			return 0, fmt.Errorf("%q is not a number of days such as 30d", s)
		}
		d = time.Duration(min(n, 1<<20)) * 24 * time.Hour // no overflow: anything that long is out of range below
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not whole days (30d) or a duration (36h)", s)
		}
	}
	if d < MinCheckInRetention || d > MaxCheckInRetention {
		return 0, fmt.Errorf("%s is out of range: check-ins are kept from 1h to 365d", s)
	}
	return d, nil
}

// loopbackAddr reports whether addr is host:port with a loopback host
// (127.0.0.0/8, ::1 or localhost).
func loopbackAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return false
	}
	return loopbackHost(host)
}

// loopbackHost reports whether host is localhost (any case) or a loopback
// IP address.
func loopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback())
}

// secureURL reports whether s is an https URL with a host, or an http URL
// on a loopback address (a test's identity provider).
func secureURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	return u.Scheme == "http" && loopbackHost(u.Hostname())
}

// DevAddr is where -dev listens when no address is given: loopback only.
const DevAddr = "127.0.0.1:8080"

// Usage describes every setting, for -h.
func Usage() string {
	var b strings.Builder
	b.WriteString("Usage: hearth [flags]        run a Hearth node\n" +
		"       hearth token -sub ID [-role member|facilitator|supervisor] [-ttl 8h]   mint a token (needs HEARTH_JWT_SECRET)\n" +
		"       hearth healthcheck [-url URL] [-timeout 3s]   exit 0 when the node's /healthz answers 200 (for container health checks)\n" +
		"       hearth backup -out FILE [-data DIR]   copy the embedded store of a stopped node\n" +
		"\nSettings (a flag wins over its environment variable):\n")
	for _, s := range Settings {
		name := "-" + s.Flag
		if s.Flag == "" {
			name = "(no flag)"
		}
		def := s.Default
		if def == "" {
			def = "empty"
		}
		fmt.Fprintf(&b, "  %-18s %-24s default %s\n      %s\n", name, s.Env, def, s.Usage)
	}
	return b.String()
}

// boolFlag is a string-valued flag that may be given without a value
// ("-dev"), like a flag.Bool, while its value is validated with the rest.
type boolFlag string

func (b *boolFlag) String() string     { return string(*b) }
func (b *boolFlag) Set(v string) error { *b = boolFlag(v); return nil }
func (b *boolFlag) IsBoolFlag() bool   { return true }

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "0", "false", "no":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

// ParseOrigins parses a comma-separated list of origins into normalized
// "scheme://host:port" strings (lowercase, explicit port: 80 for http, 443
// for https). Errors: an entry that is not an http(s) origin without path.
func ParseOrigins(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		n, ok := NormalizeOrigin(o)
		if !ok {
			return nil, fmt.Errorf("%q is not an origin like https://chat.example.org", o)
		}
		out = append(out, n)
	}
	return out, nil
}

// NormalizeOrigin returns origin as "scheme://host:port" with the default
// port filled in, and false for anything that is not an http or https origin
// (including "null" and origins with a path, user info, query or fragment).
func NormalizeOrigin(origin string) (string, bool) {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port), true
}
