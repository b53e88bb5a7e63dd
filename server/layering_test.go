package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedImports is the dependency direction of the module, written down:
// for each package, the hearth packages it may import directly (test files
// excluded). A package missing from this table fails the test, so every new
// package gets a deliberate place. "server" wires everything; nothing
// imports it.
var allowedImports = map[string][]string{
	"hearth/server":            {"*"},
	"hearth/internal/protocol": {},
	"hearth/internal/auth":     {"hearth/internal/protocol"},
	"hearth/internal/config":   {"hearth/internal/auth", "hearth/internal/crisis"},
	"hearth/internal/crisis":   {},
	"hearth/internal/webhook":  {"hearth/internal/room"},
	"hearth/internal/broker":   {"hearth/internal/protocol", "hearth/internal/redisconn"},
	"hearth/internal/room":     {"hearth/internal/protocol"},
	"hearth/internal/checkin":  {"hearth/internal/protocol"},
	"hearth/internal/store":    {"hearth/internal/room", "hearth/internal/checkin"},
	"hearth/internal/hub":      {"hearth/internal/auth", "hearth/internal/protocol", "hearth/internal/room", "hearth/internal/checkin"},
	"hearth/internal/httpapi": {"hearth/internal/auth", "hearth/internal/config", "hearth/internal/protocol", "hearth/internal/room",
		"hearth/internal/checkin"},
	"hearth/internal/node": {"hearth/internal/auth", "hearth/internal/broker", "hearth/internal/crisis", "hearth/internal/httpapi",
		"hearth/internal/hub", "hearth/internal/room", "hearth/internal/store", "hearth/internal/webhook", "hearth/internal/checkin",
		"hearth/internal/limit", "hearth/internal/metrics", "hearth/internal/protocol", "hearth/internal/signin"},
	// The web client's sign-in through an OpenID Connect provider: its
	// routes are mounted by httpapi, which declares the interface (so
	// httpapi does not import it); it writes httpapi's JSON error shape.
	"hearth/internal/signin": {"hearth/internal/auth", "hearth/internal/httpapi", "hearth/internal/protocol"},
	// The node's Prometheus series; the hub reports through hub.Observer
	// and hub.Stats and does not know this package.
	"hearth/internal/metrics": {"hearth/internal/protocol"},
	// Per-user limits (rates, connections), in memory or Redis; the hub
	// declares the interface it uses.
	"hearth/internal/limit": {"hearth/internal/redisconn"},
	// Opens the live Redis (one server or a Redis Cluster) for the broker
	// and the limits, so both read a cluster's URL the same way.
	"hearth/internal/redisconn": {},
	// Test-only helpers.
	"hearth/internal/redistest": {},
	// A small OpenID Connect provider for tests.
	"hearth/internal/oidctest": {},
	"hearth/internal/hubtest": {"hearth/internal/auth", "hearth/internal/hub", "hearth/internal/node",
		"hearth/internal/protocol", "hearth/internal/room"},
	// Drives the web client in Chromium against real nodes (end-to-end tests).
	"hearth/internal/browsertest": {"hearth/internal/auth", "hearth/internal/node", "hearth/internal/redistest",
		"hearth/internal/room", "hearth/static"},
	// The client is a standalone package a third party could copy: it shares
	// nothing with the server but the protocol document.
	"hearth/client":            {},
	"hearth/client/cmd/hearth": {"hearth/client"},
	"hearth/static":            {},
	// The load generator drives servers through the client package only.
	"hearth/client/cmd/hearth-bench": {"hearth/client"},
}

// forbidden are arrows that must never exist, even indirectly, whatever the
// table above grows into: domain packages do not reach transport, and
// nothing under internal or client reaches the server's main package.
var forbidden = []struct{ from, to string }{
	{"hearth/internal/", "hearth/server"},
	{"hearth/client", "hearth/internal/"},
	{"hearth/internal/room", "hearth/internal/hub"},
	{"hearth/internal/room", "hearth/internal/httpapi"},
	{"hearth/internal/room", "hearth/internal/broker"},
	{"hearth/internal/room", "hearth/internal/store"},
	{"hearth/internal/crisis", "hearth/internal/"},
	{"hearth/internal/checkin", "hearth/internal/hub"},
	{"hearth/internal/checkin", "hearth/internal/httpapi"},
	{"hearth/internal/checkin", "hearth/internal/broker"},
	{"hearth/internal/checkin", "hearth/internal/store"},
	{"hearth/internal/checkin", "hearth/internal/room"},
	{"hearth/internal/protocol", "hearth/"},
}

func goList(t *testing.T, format string) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", format, "hearth/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		var deps []string
		for _, d := range f[1:] {
			if d == "hearth" || strings.HasPrefix(d, "hearth/") {
				deps = append(deps, d)
			}
		}
		m[f[0]] = deps
	}
	return m
}

func TestImportDirection(t *testing.T) {
	direct := goList(t, `{{.ImportPath}} {{join .Imports " "}}`)
	for pkg, imports := range direct {
		allowed, ok := allowedImports[pkg]
		if !ok {
			t.Errorf("package %s is not in allowedImports: decide where it sits in the layering", pkg)
			continue
		}
		if slices.Contains(allowed, "*") {
			continue
		}
		for _, imp := range imports {
			if !slices.Contains(allowed, imp) {
				t.Errorf("%s imports %s: that arrow points the wrong way (see docs/architecture.md)", pkg, imp)
			}
		}
	}
	transitive := goList(t, `{{.ImportPath}} {{join .Deps " "}}`)
	for pkg, deps := range transitive {
		for _, dep := range deps {
			for _, f := range forbidden {
				if strings.HasPrefix(pkg, f.from) && strings.HasPrefix(dep, f.to) && pkg != dep {
					t.Errorf("%s depends on %s (forbidden: %s → %s)", pkg, dep, f.from, f.to)
				}
			}
		}
	}
}
