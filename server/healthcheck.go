package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"hearth/internal/config"
)

// healthcheckTimeout bounds one probe of `hearth healthcheck` when -timeout
// is not given. The Dockerfile's HEALTHCHECK --timeout is longer, so the
// subcommand, not Docker, says what went wrong.
const healthcheckTimeout = 3 * time.Second

// runHealthcheck implements `hearth healthcheck [-url URL] [-timeout 3s]`:
// it GETs the URL (by default /healthz on the port of HEARTH_ADDR, on the
// loopback address unless HEARTH_ADDR names a host) and returns nil when it
// answers 200 within the timeout, else an error sentence naming the URL
// and what happened (main prints it and exits with status 1). It is meant
// for container health checks: distroless images have no shell or curl.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stdout)
	target := fs.String("url", "", "URL to probe (default: http://127.0.0.1:<port of $HEARTH_ADDR>/healthz)")
	timeout := fs.Duration("timeout", healthcheckTimeout, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // the usage is printed
		}
		return fmt.Errorf("healthcheck: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("healthcheck: unexpected argument %q", fs.Arg(0))
	}
	if *timeout <= 0 {
		return errors.New("healthcheck: -timeout must be positive, such as 3s")
	}
	if *target == "" {
		u, err := healthURL(getenv("HEARTH_ADDR"))
		if err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		*target = u
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %q is not a URL to probe: %w", *target, err)
	}
	// A transport of its own: no proxy from the environment, no idle
	// connection left behind, no redirect followed.
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: no answer from %s within %s: %w", *target, *timeout, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %q, not 200 OK", *target, resp.Status)
	}
	_, err = fmt.Fprintf(stdout, "ok: %s answered 200 OK\n", *target)
	return err
}

// healthURL returns the /healthz URL of a server listening on addr (the
// value of HEARTH_ADDR; its default from config.Settings when empty): the
// loopback address when addr has no host or a wildcard one, its host
// otherwise. Errors: addr is not host:port, or its port is 0.
func healthURL(addr string) (string, error) {
	if addr == "" {
		addr = settingDefault("HEARTH_ADDR")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("HEARTH_ADDR %q is not host:port, such as :8080: %w", addr, err)
	}
	if port == "0" || port == "" {
		return "", fmt.Errorf("HEARTH_ADDR %q has no fixed port: give -url", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

// settingDefault returns the default of the setting read from env, as
// config.Settings lists it ("" for an unknown variable).
func settingDefault(env string) string {
	for _, s := range config.Settings {
		if s.Env == env {
			return s.Default
		}
	}
	return ""
}
