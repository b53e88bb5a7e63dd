package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"hearth/internal/auth"
	"hearth/internal/config"
	"hearth/internal/hub"
	"hearth/internal/node"
	"hearth/internal/protocol"
	"hearth/internal/redisconn"
	"hearth/internal/room"
	"hearth/static"
)

// demoRoom is the room -dev mode prepares and links to.
const demoRoom = "demo"

// maxTokenTTL bounds `server token -ttl`: 30 days. A token cannot be
// revoked before its exp, and changing the secret that would void it also
// changes every member id (auth.DeriveMemberKey).
const maxTokenTTL = 30 * 24 * time.Hour

// devTokenTTL is how long the tokens in -dev links stay valid.
const devTokenTTL = 12 * time.Hour

// run is the whole program: `token …` mints a token, `healthcheck …`
// probes a running server (healthcheck.go), `backup …` copies a stopped
// server's embedded store (backup.go), anything else serves.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "token":
			return runToken(args[1:], getenv, stdout)
		case "healthcheck":
			return runHealthcheck(ctx, args[1:], getenv, stdout)
		case "backup":
			return runBackup(ctx, args[1:], getenv, stdout)
		}
	}
	cfg, err := config.Load(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		_, err = io.WriteString(stdout, config.Usage())
		return err
	}
	if err != nil {
		return err
	}
	return serve(ctx, cfg, stdout)
}

// runToken implements `server token -sub ID [-role member|facilitator] [-ttl 8h]`.
func runToken(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stdout)
	sub := fs.String("sub", "", "user id (the token's sub claim); required")
	role := fs.String("role", protocol.RoleMember, "member, facilitator (may create rooms) or supervisor")
	ttl := fs.Duration("ttl", 8*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // the usage is printed
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected argument %q (flags come before nothing else: token -sub ID -role ROLE -ttl 8h)", fs.Arg(0))
	}
	if *ttl <= 0 || *ttl > maxTokenTTL {
		return fmt.Errorf("token: -ttl must be positive and at most %s, such as 8h: a token cannot be revoked before it expires, short of changing HEARTH_JWT_SECRET", maxTokenTTL)
	}
	secret := getenv("HEARTH_JWT_SECRET")
	if secret == "" {
		return errors.New("token: HEARTH_JWT_SECRET is not set; the token must be signed with the server's key")
	}
	tok, err := auth.Mint(authConfig(config.Config{JWTSecret: []byte(secret),
		JWTIssuer: getenv("HEARTH_JWT_ISSUER"), JWTAudience: getenv("HEARTH_JWT_AUDIENCE")}), *sub, *role, *ttl, time.Now())
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

func authConfig(cfg config.Config) auth.Config {
	return auth.Config{Secret: cfg.JWTSecret, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
		PublicKey: cfg.JWTPublicKey, JWKSURL: cfg.JWTJWKSURL, RoleClaim: cfg.JWTRoleClaim}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the node until ctx ends, then shuts down gracefully within
// cfg.ShutdownTimeout.
func serve(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	log := newLogger(cfg, stdout)
	redisconn.SetLogger(log)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	n, err := node.New(cctx, node.Config{
		RedisURL: cfg.RedisURL, RedisCluster: cfg.RedisCluster, StoreURL: cfg.StoreURL, DataDir: cfg.DataDir, Auth: authConfig(cfg),
		AllowedOrigins: cfg.AllowedOrigins, Static: static.FS, Logger: log,
		CrisisResources: cfg.CrisisResources, EscalateAfter: cfg.EscalateAfter,
		WebhookURL: cfg.WebhookURL, WebhookSecret: cfg.WebhookSecret, SessionMax: cfg.SessionMax,
		CheckInRetention: cfg.CheckInRetention, PublicURL: cfg.PublicURL,
		OIDCIssuer: cfg.OIDCIssuer, OIDCClientID: cfg.OIDCClientID, OIDCClientSecret: cfg.OIDCClientSecret,
	})
	cancel()
	if err != nil {
		return err
	}
	defer n.Close()
	if cfg.Dev {
		if err := ensureDemoRoom(ctx, n.Rooms, n.Hub); err != nil {
			return err
		}
	}
	h, mode := n.Hub, n.Mode

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: n.Handler, ReadHeaderTimeout: 10 * time.Second}
	log.Info("hearth listening", "addr", ln.Addr().String(), "mode", mode, "dev", cfg.Dev)
	if cfg.Dev {
		if err := printDevLinks(stdout, cfg, ln.Addr()); err != nil {
			_ = ln.Close()
			return err
		}
	}

	var debugLn net.Listener
	if cfg.DebugAddr != "" {
		if debugLn, err = net.Listen("tcp", cfg.DebugAddr); err != nil {
			_ = ln.Close()
			return fmt.Errorf("listen on the debug address %s: %w", cfg.DebugAddr, err)
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return h.Run(gctx) })
	if debugLn != nil {
		serveDebug(gctx, g, debugLn, log)
	}
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		n.Stopping() // /readyz answers 503 and upgrades are refused from here
		drain := cfg.DrainDelay
		log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String(), "drain_delay", drain.String())
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		// The load balancer sees /readyz fail before the clients, closed
		// with 1012, reconnect through it: to another node.
		select {
		case <-time.After(drain):
		case <-sctx.Done():
		}
		herr := h.Shutdown(sctx) // closes every WebSocket with 1012
		serr := srv.Shutdown(sctx)
		return errors.Join(herr, serr)
	})
	err = g.Wait()
	log.Info("stopped")
	return err
}

// Users of the -dev demo room.
var devUsers = []struct{ sub, role, label string }{
	{"dev-facilitator", protocol.RoleFacilitator, "facilitator"},
	{"dev-member-1", protocol.RoleMember, "member 1"},
	{"dev-member-2", protocol.RoleMember, "member 2"},
	{"dev-member-3", protocol.RoleMember, "member 3"},
}

// ensureDemoRoom makes the demo room exist with the dev users on its roster,
// a session open and no waiting room, so a printed link leads straight into
// the conversation.
func ensureDemoRoom(ctx context.Context, rooms *room.Service, h *hub.Hub) error {
	var roster []string
	for _, u := range devUsers[1:] {
		roster = append(roster, u.sub)
	}
	r, err := rooms.Ensure(ctx, demoRoom, devUsers[0].sub, roster, room.CreateParams{Name: "Demo group", Kind: room.KindSupport})
	if err != nil {
		return fmt.Errorf("preparing the demo room: %w", err)
	}
	h.SessionStarted(ctx, r) // its session buffer and timers
	return nil
}

// printDevLinks prints one facilitator and three member sign-in links to the
// demo room. The token rides in the URL fragment, which browsers never send
// to a server, so it stays out of access logs.
func printDevLinks(w io.Writer, cfg config.Config, addr net.Addr) error {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	base := "http://" + net.JoinHostPort(host, port) + "/"
	var sb strings.Builder
	sb.WriteString("\nHearth is running in development mode. Open these links (each in its own browser profile or window):\n\n")
	for _, u := range devUsers {
		tok, err := auth.Mint(authConfig(cfg), u.sub, u.role, devTokenTTL, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(&sb, "  %-12s %s#token=%s&room=%s\n", u.label+":", base, tok, demoRoom)
	}
	if cfg.SecretGenerated {
		sb.WriteString("\n(The JWT secret is random for this run: these links stop working when the server restarts.)\n")
	}
	sb.WriteString("\n")
	_, err := io.WriteString(w, sb.String())
	return err
}
