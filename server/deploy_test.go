package main

// Checks of the deployment files and docs/operations.md against the code,
// since no Docker engine runs on the development machines: the compose
// file's settings against config.Settings (and config.Load), its Redis roles,
// ports, health checks and grace period; the Caddyfile it carries (with
// caddy itself when installed); the Dockerfile's text; and the generated
// tables of docs/operations.md (settings, metrics).

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"hearth/client"
	"hearth/internal/auth"
	"hearth/internal/config"
	"hearth/internal/node"
	"hearth/internal/redistest"
	"hearth/static"
)

var updateOpsDoc = flag.Bool("update-ops-doc", false, "rewrite the generated tables of docs/operations.md")

// composeFile is the part of the Compose specification docker-compose.yml
// uses; decoding is strict, so a misspelt key fails the test.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Configs  map[string]struct {
		Content string `yaml:"content"`
	} `yaml:"configs"`
	Volumes map[string]any `yaml:"volumes"`
	Ext     map[string]any `yaml:",inline"` // x- extension fields only
}

type composeService struct {
	Build           string            `yaml:"build"`
	Image           string            `yaml:"image"`
	Restart         string            `yaml:"restart"`
	Command         []string          `yaml:"command"`
	Environment     map[string]string `yaml:"environment"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
	Healthcheck     *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		StartPeriod string   `yaml:"start_period"`
		Retries     int      `yaml:"retries"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Volumes []string `yaml:"volumes"`
	Tmpfs   []string `yaml:"tmpfs"`
	Ports   []string `yaml:"ports"`
	Configs []struct {
		Source string `yaml:"source"`
		Target string `yaml:"target"`
	} `yaml:"configs"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for k := range c.Ext {
		if !strings.HasPrefix(k, "x-") {
			t.Errorf("docker-compose.yml: unknown top-level key %q", k)
		}
	}
	return c
}

var interpRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

// interpolate resolves compose's ${VAR}, ${VAR:-default} and ${VAR:?error}
// as `docker compose up` would in an environment that sets only the
// variables the file requires (${VAR:?…}, which get placeholder values).
// It returns the value and the names of the required variables.
func interpolate(t *testing.T, s string) (string, []string) {
	t.Helper()
	var required []string
	out := interpRE.ReplaceAllStringFunc(s, func(m string) string {
		g := interpRE.FindStringSubmatch(m)
		switch g[2] {
		case ":-", "-":
			return g[3]
		case ":?", "?":
			required = append(required, g[1])
			return strings.Repeat("x", 48) // e.g. a 48-byte secret
		}
		return ""
	})
	if strings.Contains(strings.ReplaceAll(out, "$$", ""), "$") {
		t.Errorf("docker-compose.yml: %q has a $ that is not ${VAR}, ${VAR:-default} or ${VAR:?message}", s)
	}
	return strings.ReplaceAll(out, "$$", "$"), required
}

// argAfter reports whether args holds flag immediately followed by value.
func argAfter(args []string, flag, value string) bool {
	for i := range len(args) - 1 {
		if args[i] == flag && args[i+1] == value {
			return true
		}
	}
	return false
}

func knownSetting(env string) bool {
	return slices.ContainsFunc(config.Settings, func(s config.Setting) bool { return s.Env == env })
}

// redisService returns the compose service a redis:// URL names, failing
// when it names none or another port than the service's.
func redisService(t *testing.T, c composeFile, role, raw string) (string, composeService) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "redis" {
		t.Fatalf("the %s Redis URL %q is not redis://host:port/db", role, raw)
	}
	s, ok := c.Services[u.Hostname()]
	if !ok {
		t.Fatalf("the %s Redis URL %q names %q, which is not a compose service", role, raw, u.Hostname())
	}
	port := "6379"
	for i, a := range s.Command {
		if a == "--port" && i+1 < len(s.Command) {
			port = s.Command[i+1]
		}
	}
	if u.Port() != port {
		t.Errorf("the %s Redis URL %q uses port %q; service %s listens on %s", role, raw, u.Port(), u.Hostname(), port)
	}
	return u.Hostname(), s
}

// caddySite is what the test reads from the Caddyfile: the site's listen
// port, the reverse_proxy upstreams and its subdirectives.
type caddySite struct {
	port      string
	upstreams []string
	proxy     map[string][]string // subdirective → its arguments
}

// parseCaddyfile reads the one site block with a reverse_proxy of a
// Caddyfile as simply as this file writes it: one directive per line,
// blocks opened by a trailing "{" and closed by a lone "}".
func parseCaddyfile(t *testing.T, text string) caddySite {
	t.Helper()
	site := caddySite{proxy: map[string][]string{}}
	var stack []string // the directive each open block belongs to
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[0] == "}" {
			if len(stack) == 0 {
				t.Fatalf("Caddyfile line %d: unbalanced }", i+1)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		opens := f[len(f)-1] == "{"
		if opens {
			f = f[:len(f)-1]
		}
		switch {
		case len(stack) == 0 && len(f) == 1 && strings.HasPrefix(f[0], ":"):
			site.port = strings.TrimPrefix(f[0], ":")
		case len(stack) == 1 && stack[0] != "" && f[0] == "reverse_proxy":
			site.upstreams = f[1:]
		case len(stack) == 2 && stack[1] == "reverse_proxy" && len(f) > 0:
			site.proxy[f[0]] = f[1:]
		}
		if opens {
			name := ""
			if len(f) > 0 {
				name = f[0]
			}
			stack = append(stack, name)
		}
	}
	if len(stack) != 0 {
		t.Fatalf("Caddyfile: %d blocks left open", len(stack))
	}
	return site
}

// caddyfile returns the Caddyfile the compose file gives the load balancer,
// and the load balancer's service name.
func caddyfile(t *testing.T, c composeFile) (string, string, composeService) {
	t.Helper()
	for name, s := range c.Services {
		for _, cf := range s.Configs {
			if cf.Target == "/etc/caddy/Caddyfile" {
				conf, ok := c.Configs[cf.Source]
				if !ok || conf.Content == "" {
					t.Fatalf("service %s mounts config %q, which has no content", name, cf.Source)
				}
				return conf.Content, name, s
			}
		}
	}
	t.Fatal("no service mounts a Caddyfile at /etc/caddy/Caddyfile")
	return "", "", composeService{}
}

// dockerfile is the Dockerfile as instructions: the keyword in upper case
// and the rest of the (joined) line.
type instruction struct{ op, args string }

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur string
	for line := range strings.SplitSeq(string(b), "\n") {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "#") || (l == "" && cur == "") {
			continue
		}
		if more, ok := strings.CutSuffix(l, "\\"); ok {
			cur += more + " "
			continue
		}
		cur += l
		op, args, _ := strings.Cut(cur, " ")
		out = append(out, instruction{strings.ToUpper(op), strings.TrimSpace(args)})
		cur = ""
	}
	return out
}

// The image: multi-stage on go.mod's Go version, a static build, a non-root
// user, and a health check through the binary's own subcommand on the port
// of HEARTH_ADDR, which is the exposed port and the compose file's.
func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goVer == nil {
		t.Fatal("go.mod has no go directive")
	}
	var froms []string
	var final []instruction // the last stage's instructions
	for _, in := range ins {
		if in.op == "FROM" {
			froms = append(froms, in.args)
			final = nil
		}
		final = append(final, in)
	}
	if len(froms) < 2 {
		t.Fatalf("FROM %q: want a multi-stage build", froms)
	}
	if want := "golang:" + string(goVer[1]) + " AS build"; froms[0] != want {
		t.Errorf("first stage FROM %q, want %q (go.mod's Go version)", froms[0], want)
	}
	if !strings.HasPrefix(froms[len(froms)-1], "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %q, want a static distroless image", froms[len(froms)-1])
	}
	has := func(list []instruction, op, args string) bool {
		return slices.ContainsFunc(list, func(in instruction) bool { return in.op == op && strings.Contains(in.args, args) })
	}
	if !has(ins, "RUN", "CGO_ENABLED=0 go build") || !has(ins, "RUN", "-o /out/hearth ./server") {
		t.Error("no RUN CGO_ENABLED=0 go build … -o /out/hearth ./server: the binary must be static")
	}
	if !has(final, "COPY", "--from=build /out/hearth /hearth") || !has(final, "ENTRYPOINT", `["/hearth"]`) {
		t.Error("the final stage must copy /out/hearth to /hearth and run it as ENTRYPOINT [\"/hearth\"]")
	}
	var user, healthcheck, expose string
	env := map[string]string{}
	for _, in := range final {
		switch in.op {
		case "USER":
			user = in.args
		case "HEALTHCHECK":
			healthcheck = in.args
		case "EXPOSE":
			expose = in.args
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		t.Errorf("USER %q: the image must run as a non-root user", user)
	}
	for k := range env {
		if strings.HasPrefix(k, "HEARTH_") && !knownSetting(k) {
			t.Errorf("ENV %s is not a setting in config.Settings", k)
		}
	}
	if !strings.HasSuffix(healthcheck, `CMD ["/hearth", "healthcheck"]`) {
		t.Errorf("HEALTHCHECK %q: want CMD [\"/hearth\", \"healthcheck\"] (exec form: the image has no shell)", healthcheck)
	}
	hu, err := healthURL(env["HEARTH_ADDR"])
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(hu); u.Port() != expose {
		t.Errorf("the health check probes port %s, the image EXPOSEs %q", u.Port(), expose)
	}
}

// The compose file, read as `docker compose up` would with only
// HEARTH_JWT_SECRET set: every HEARTH_* variable is a setting and the
// replicas' settings load; the live Redis keeps nothing on disk and the
// store Redis keeps an append-only file on a volume; the load balancer
// proxies to every replica on the port they listen on and checks /readyz;
// the health check probes that port; Docker waits longer than the
// replicas' graceful shutdown before killing them.
func TestComposeMatchesSettings(t *testing.T) {
	c := loadCompose(t)
	caddyText, lbName, lb := caddyfile(t, c)
	site := parseCaddyfile(t, caddyText)

	var replicas []string
	var drainDelay time.Duration // the replicas' HEARTH_DRAIN_DELAY
	var port string
	for name, s := range c.Services {
		if len(s.Environment) == 0 {
			continue
		}
		env := map[string]string{}
		for k, raw := range s.Environment {
			if !knownSetting(k) {
				t.Errorf("service %s sets %s, which is not a setting in config.Settings", name, k)
			}
			v, required := interpolate(t, raw)
			for _, r := range required {
				if r != "HEARTH_JWT_SECRET" {
					t.Errorf("service %s requires %s in the environment; only HEARTH_JWT_SECRET should be needed", name, r)
				}
			}
			env[k] = v
		}
		replicas = append(replicas, name)
		cfg, err := config.Load(nil, func(k string) string { return env[k] })
		if err != nil {
			t.Errorf("service %s: its settings do not load: %v", name, err)
			continue
		}
		if cfg.Dev || cfg.SecretGenerated || len(cfg.JWTSecret) == 0 {
			t.Errorf("service %s: runs in development mode or without HEARTH_JWT_SECRET", name)
		}
		if cfg.RedisURL == "" || cfg.RedisCluster {
			t.Errorf("service %s: not in distributed mode over one Redis (HEARTH_REDIS_URL %q)", name, cfg.RedisURL)
			continue
		}

		liveName, live := redisService(t, c, "live", cfg.RedisURL)
		storeName, store := redisService(t, c, "store", cfg.StoreURL)
		if liveName == storeName {
			t.Errorf("service %s: the live and store Redis are both %s; keep them apart so the live one needs no persistence", name, liveName)
		}
		if !argAfter(live.Command, "--save", "") || !argAfter(live.Command, "--appendonly", "no") {
			t.Errorf("live Redis %s: command %q must have --save \"\" and --appendonly no (messages never reach a disk)", liveName, live.Command)
		}
		if len(live.Volumes) > 0 || !slices.Contains(live.Tmpfs, "/data") {
			t.Errorf("live Redis %s: volumes %q, tmpfs %q; want no volume and /data in memory", liveName, live.Volumes, live.Tmpfs)
		}
		if !argAfter(store.Command, "--appendonly", "yes") {
			t.Errorf("store Redis %s: command %q must have --appendonly yes", storeName, store.Command)
		}
		vol := slices.IndexFunc(store.Volumes, func(v string) bool {
			src, dst, _ := strings.Cut(v, ":")
			_, declared := c.Volumes[src]
			return dst == "/data" && declared
		})
		if vol < 0 {
			t.Errorf("store Redis %s: volumes %q; want a named volume (declared under volumes:) on /data", storeName, store.Volumes)
		}
		for _, dep := range []string{liveName, storeName} {
			if s.DependsOn[dep].Condition != "service_healthy" {
				t.Errorf("service %s: depends_on %s is %q, want service_healthy", name, dep, s.DependsOn[dep].Condition)
			}
		}

		_, p, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			t.Fatalf("service %s: HEARTH_ADDR %q: %v", name, cfg.Addr, err)
		}
		if port != "" && p != port {
			t.Errorf("service %s listens on port %s, another replica on %s", name, p, port)
		}
		port = p

		if s.Healthcheck == nil || len(s.Healthcheck.Test) < 3 || !slices.Equal(s.Healthcheck.Test[:3], []string{"CMD", "/hearth", "healthcheck"}) {
			t.Errorf("service %s: healthcheck %+v, want [CMD /hearth healthcheck …]", name, s.Healthcheck)
		} else {
			probe, err := healthURL(env["HEARTH_ADDR"])
			for i, a := range s.Healthcheck.Test {
				if (a == "-url" || a == "--url") && i+1 < len(s.Healthcheck.Test) {
					probe = s.Healthcheck.Test[i+1]
				}
			}
			if u, uerr := url.Parse(probe); err != nil || uerr != nil || u.Port() != p {
				t.Errorf("service %s: the healthcheck probes %q (%v), not port %s", name, probe, err, p)
			}
		}

		drainDelay = cfg.DrainDelay
		grace, err := time.ParseDuration(s.StopGracePeriod)
		if err != nil || grace <= cfg.ShutdownTimeout {
			t.Errorf("service %s: stop_grace_period %q must be a duration longer than HEARTH_SHUTDOWN_TIMEOUT (%s)", name, s.StopGracePeriod, cfg.ShutdownTimeout)
		}
	}
	sort.Strings(replicas)
	if len(replicas) < 2 {
		t.Fatalf("Hearth replicas %q: want at least two", replicas)
	}

	// The load balancer.
	var upHosts []string
	for _, u := range site.upstreams {
		h, p, err := net.SplitHostPort(u)
		if err != nil {
			t.Errorf("Caddyfile upstream %q is not host:port", u)
			continue
		}
		if p != port {
			t.Errorf("Caddyfile upstream %q: the replicas listen on port %s", u, port)
		}
		upHosts = append(upHosts, h)
	}
	sort.Strings(upHosts)
	if !slices.Equal(upHosts, replicas) {
		t.Errorf("Caddyfile proxies to %q, want every replica %q", upHosts, replicas)
	}
	if got := site.proxy["health_uri"]; !slices.Equal(got, []string{"/readyz"}) {
		t.Errorf("Caddyfile health_uri %q, want /readyz (a stopping replica turns not-ready first)", got)
	}
	if hi := site.proxy["health_interval"]; len(hi) != 1 {
		t.Error("Caddyfile: reverse_proxy has no health_interval")
	} else if d, err := time.ParseDuration(hi[0]); err != nil || d >= drainDelay {
		t.Errorf("Caddyfile health_interval %q: must be shorter than the replicas' HEARTH_DRAIN_DELAY (%s), so the load balancer sees a stopping replica's /readyz fail before its clients reconnect", hi[0], drainDelay)
	}
	if site.port == "" || !slices.ContainsFunc(lb.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+site.port) }) {
		t.Errorf("load balancer %s: ports %q do not publish the Caddyfile's listen port %q", lbName, lb.Ports, site.port)
	}
	if !argAfter(lb.Command, "--config", "/etc/caddy/Caddyfile") {
		t.Errorf("load balancer %s: command %q does not read /etc/caddy/Caddyfile", lbName, lb.Command)
	}
	for _, r := range replicas {
		if _, ok := lb.DependsOn[r]; !ok {
			t.Errorf("load balancer %s does not depend on %s", lbName, r)
		}
	}
}

// The Caddyfile in the compose file is valid for Caddy itself (caddy
// validate), when caddy is installed (Debian: apt-get install caddy);
// a misspelt subdirective makes caddy, and so this test, fail.
func TestComposeCaddyfileValidates(t *testing.T) {
	bin, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy is not installed (Debian: apt-get install caddy); the Caddyfile is only checked by TestComposeMatchesSettings")
	}
	text, _, _ := caddyfile(t, loadCompose(t))
	validate := func(text string) (string, error) {
		dir := t.TempDir()
		path := filepath.Join(dir, "Caddyfile")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "validate", "--config", path, "--adapter", "caddyfile")
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := validate(text); err != nil {
		t.Fatalf("caddy validate: %v\n%s", err, out)
	}
	// The check can fail: a misspelt subdirective is refused.
	if out, err := validate(strings.Replace(text, "health_uri", "health_urii", 1)); err == nil {
		t.Fatalf("caddy validate accepted a misspelt subdirective:\n%s", out)
	}
}

// docSection returns the text between <!-- name:begin --> and
// <!-- name:end --> in doc, and the doc with that text replaced by repl.
func docSection(t *testing.T, doc, name, repl string) (string, string) {
	t.Helper()
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/operations.md has no %s…%s section", strings.TrimSpace(begin), end)
	}
	i += len(begin)
	return doc[i:j], doc[:i] + repl + doc[j:]
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// settingsTable is docs/operations.md's table of settings, generated from
// config.Settings.
func settingsTable() string {
	var b strings.Builder
	b.WriteString("| flag | variable | default | meaning |\n|---|---|---|---|\n")
	for _, s := range config.Settings {
		flagName, def := "—", "empty"
		if s.Flag != "" {
			flagName = "`-" + s.Flag + "`"
		}
		if s.Default != "" {
			def = "`" + s.Default + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", flagName, s.Env, def, mdCell(s.Usage))
	}
	return b.String()
}

// metricsTable is docs/operations.md's table of Hearth's own series,
// generated from the registries of a real embedded node and a real
// distributed node (the Go and process collectors' series are left out).
func metricsTable(t *testing.T) string {
	t.Helper()
	redis := redistest.Start(t)
	secret := auth.Config{Secret: []byte(strings.Repeat("k", 40))}
	families := map[string]*dto.MetricFamily{}
	for _, cfg := range []node.Config{
		{DataDir: t.TempDir(), Auth: secret, Static: static.FS},
		{RedisURL: redis.URL(), Auth: secret, Static: static.FS},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		n, err := node.New(ctx, cfg)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		got, err := n.Metrics.Registry().Gather()
		_ = n.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range got {
			if strings.HasPrefix(f.GetName(), "hearth_") {
				families[f.GetName()] = f
			}
		}
	}
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("| series | type | labels | meaning |\n|---|---|---|---|\n")
	for _, name := range names {
		f := families[name]
		labels := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		ls := "—"
		if len(labels) > 0 {
			var l []string
			for k := range labels {
				l = append(l, "`"+k+"`")
			}
			sort.Strings(l)
			ls = strings.Join(l, ", ")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", name, strings.ToLower(f.GetType().String()), ls, mdCell(f.GetHelp()))
	}
	return b.String()
}

// docs/operations.md lists every setting exactly as config.Settings does,
// and every Hearth series a node registers exactly as the registry
// describes it. `go test ./server -run TestOperationsDoc -update-ops-doc`
// rewrites both tables.
func TestOperationsDocTables(t *testing.T) {
	b, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	wantSettings, wantMetrics := settingsTable(), metricsTable(t)
	gotSettings, doc := docSection(t, doc, "settings", wantSettings)
	gotMetrics, doc := docSection(t, doc, "metrics", wantMetrics)
	if *updateOpsDoc {
		if err := os.WriteFile("../docs/operations.md", []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if gotSettings != wantSettings {
		t.Errorf("docs/operations.md's settings table differs from config.Settings; run go test ./server -run TestOperationsDoc -update-ops-doc.\nwant:\n%s", wantSettings)
	}
	if gotMetrics != wantMetrics {
		t.Errorf("docs/operations.md's metrics table differs from the series a node registers; run go test ./server -run TestOperationsDoc -update-ops-doc.\nwant:\n%s", wantMetrics)
	}
}

// lbNode is one in-process embedded node served on a loopback port, for
// the load balancer test.
type lbNode struct {
	n    *node.Node
	addr string // 127.0.0.1:port
}

func startLBNode(t *testing.T, secret auth.Config) *lbNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	n, err := node.New(ctx, node.Config{DataDir: t.TempDir(), Auth: secret, Static: static.FS})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: n.Handler, ReadHeaderTimeout: 10 * time.Second}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = n.Hub.Run(runCtx) })
	wg.Go(func() { _ = srv.Serve(ln) })
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Hub.Shutdown(sctx)
		_ = srv.Shutdown(sctx)
		stop()
		wg.Wait()
		_ = n.Close()
	})
	return &lbNode{n: n, addr: ln.Addr().String()}
}

// The compose file's Caddyfile, run by a real Caddy in front of two real
// nodes (its service names and ports replaced by loopback addresses, and
// nothing else changed): WebSocket upgrades pass, the nodes' same-origin
// check accepts the page's origin (Caddy passes Host through), new
// connections go to both replicas, and once a replica's /readyz turns 503
// (a node shutting down) they all go to the other one.
func TestComposeLoadBalancer(t *testing.T) {
	bin, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy is not installed (Debian: apt-get install caddy)")
	}
	text, _, _ := caddyfile(t, loadCompose(t))
	site := parseCaddyfile(t, text)
	if len(site.upstreams) != 2 {
		t.Fatalf("Caddyfile upstreams %q: the test expects two replicas", site.upstreams)
	}
	secret := auth.Config{Secret: []byte(strings.Repeat("k", 40))}
	nodes := []*lbNode{startLBNode(t, secret), startLBNode(t, secret)}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lbAddr := ln.Addr().String()
	_ = ln.Close()
	_, lbPort, _ := net.SplitHostPort(lbAddr)
	local := strings.Replace(text, ":"+site.port+" {", ":"+lbPort+" {", 1)
	for i, up := range site.upstreams {
		local = strings.Replace(local, up, nodes[i].addr, 1)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	var caddyOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &caddyOut, &caddyOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + lbAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Caddy did not answer /healthz within 30s (%v); its output:\n%s", err, caddyOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	conns := func(i int) int64 { return nodes[i].n.Hub.Stats().Connections }
	users := 0
	// dial connects a new user through Caddy as the web page would, and
	// says which node took the connection (-1: refused).
	dial := func() (int, *client.Client) {
		users++
		tok, err := auth.Mint(secret, fmt.Sprintf("lb-user-%d", users), "member", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		before := []int64{conns(0), conns(1)}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, "ws://"+lbAddr+"/ws", tok, &client.Options{Header: http.Header{"Origin": {"http://" + lbAddr}}})
		if err != nil {
			return -1, nil
		}
		t.Cleanup(func() { _ = c.Close() })
		for i := range nodes {
			if conns(i) > before[i] {
				return i, c
			}
		}
		t.Fatal("a connection through Caddy was welcomed, but neither node counts it")
		return -1, nil
	}

	landed := map[int]int{}
	for range 6 {
		i, _ := dial()
		if i < 0 {
			t.Fatalf("a WebSocket through Caddy (Origin http://%s) was refused; Caddy's output:\n%s", lbAddr, caddyOut.String())
		}
		landed[i]++
	}
	if landed[0] == 0 || landed[1] == 0 {
		t.Fatalf("connections through Caddy landed %v; want both replicas", landed)
	}

	// Node 0 starts shutting down: /readyz 503. Within Caddy's health
	// interval (generous deadline), every new connection goes to node 1.
	nodes[0].n.Stopping()
	deadline = time.Now().Add(30 * time.Second)
	for streak := 0; streak < 10; {
		if time.Now().After(deadline) {
			t.Fatalf("30s after node 0's /readyz turned 503, Caddy still sends connections elsewhere than node 1; its output:\n%s", caddyOut.String())
		}
		if i, _ := dial(); i == 1 {
			streak++
		} else {
			streak = 0
			time.Sleep(200 * time.Millisecond)
		}
	}
}
