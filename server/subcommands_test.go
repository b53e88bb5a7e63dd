package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"hearth/internal/room"
	"hearth/internal/store"
)

// `hearth healthcheck` succeeds only on a 200 within its timeout, and says
// what went wrong otherwise: the container's health status follows it.
func TestHealthcheckSubcommand(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			_, _ = w.Write([]byte("ok\n"))
		case "/readyz":
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		case "/moved":
			http.Redirect(w, r, "/healthz", http.StatusFound)
		case "/hang":
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(hang)
	// A port nothing listens on: listen, note it, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()
	_, srvPort, _ := net.SplitHostPort(srv.Listener.Addr().String())

	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // "" for success
	}{
		{"healthy", []string{"-url", srv.URL + "/healthz"}, nil, ""},
		{"port from HEARTH_ADDR", nil, map[string]string{"HEARTH_ADDR": ":" + srvPort}, ""},
		{"host and port from HEARTH_ADDR", nil, map[string]string{"HEARTH_ADDR": "127.0.0.1:" + srvPort}, ""},
		{"503", []string{"-url", srv.URL + "/readyz"}, nil, `answered "503 Service Unavailable", not 200 OK`},
		{"redirect is not followed", []string{"-url", srv.URL + "/moved"}, nil, `answered "302 Found"`},
		{"unreachable", []string{"-url", "http://" + closed + "/healthz"}, nil, "no answer from http://" + closed + "/healthz"},
		{"too slow", []string{"-url", srv.URL + "/hang", "-timeout", "200ms"}, nil, "no answer from " + srv.URL + "/hang within 200ms"},
		{"bad HEARTH_ADDR", nil, map[string]string{"HEARTH_ADDR": "8080"}, `HEARTH_ADDR "8080" is not host:port`},
		{"bad timeout", []string{"-timeout", "0s"}, nil, "-timeout must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"healthcheck"}, tc.args...), func(k string) string { return tc.env[k] }, &out)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("healthcheck: %v", err)
			case tc.wantErr == "" && !strings.Contains(out.String(), "answered 200 OK"):
				t.Fatalf("healthcheck printed %q", out.String())
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("healthcheck: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// The default URL follows HEARTH_ADDR (and its default in config.Settings).
func TestHealthURL(t *testing.T) {
	for addr, want := range map[string]string{
		"":               "http://127.0.0.1:8080/healthz",
		":9090":          "http://127.0.0.1:9090/healthz",
		"0.0.0.0:8081":   "http://127.0.0.1:8081/healthz",
		"[::]:8082":      "http://127.0.0.1:8082/healthz",
		"10.1.2.3:8083":  "http://10.1.2.3:8083/healthz",
		"[fd00::1]:8084": "http://[fd00::1]:8084/healthz",
	} {
		if got, err := healthURL(addr); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := healthURL(":0"); err == nil {
		t.Error("healthURL(\":0\") succeeded; a random port cannot be probed")
	}
}

// `hearth backup` copies a stopped server's store into a file the server
// opens with every room in it, without the freed pages that may still hold
// deleted names; it refuses while a server holds the file, and never
// overwrites a file.
func TestBackupSubcommand(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	db, err := store.OpenBolt(filepath.Join(dataDir, "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	const canary = "canary-deleted-name-7d1e"
	if err := db.CreateRoom(ctx, room.Room{ID: "r1", Name: canary, Facilitators: []string{"u1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateRoom(ctx, "r1", func(r *room.Room) error { r.Name = "Tuesday group"; return nil }); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string { return map[string]string{"HEARTH_DATA_DIR": dataDir}[k] }
	out := filepath.Join(t.TempDir(), "copy.db")

	// While the store is open (a running server), the copy is refused.
	err = run(ctx, []string{"backup", "-out", out}, env, &bytes.Buffer{})
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), "stop the server first") {
		t.Fatalf("backup of a file in use: %v, want ErrInUse and a sentence", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused backup left %s behind (%v)", out, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(canary)) {
		t.Fatal("the data file no longer holds the deleted name in a freed page; the compaction check below would prove nothing")
	}

	var stdout bytes.Buffer
	if err := run(ctx, []string{"backup", "-out", out}, env, &stdout); err != nil {
		t.Fatalf("backup: %v", err)
	}
	if !strings.Contains(stdout.String(), "backed up") {
		t.Errorf("backup printed %q", stdout.String())
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the copy has mode %v, want 0600", st.Mode().Perm())
	}
	copied, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(copied, []byte(canary)) {
		t.Error("the copy still holds a deleted room name: it was not compacted")
	}

	// Restoring is putting the copy in place: a server opens it and finds
	// the room as it was.
	restored := t.TempDir()
	if err := os.WriteFile(filepath.Join(restored, "hearth.db"), copied, 0o600); err != nil {
		t.Fatal(err)
	}
	rdb, err := store.OpenBolt(filepath.Join(restored, "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := rdb.Room(ctx, "r1")
	_ = rdb.Close()
	if err != nil || r.Name != "Tuesday group" || len(r.Facilitators) != 1 || r.Version != 2 {
		t.Fatalf("restored room: %+v, %v", r, err)
	}

	// Never over an existing file, and a missing store is named.
	if err := run(ctx, []string{"backup", "-out", out}, env, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup over an existing file: %v", err)
	}
	empty := t.TempDir()
	err = run(ctx, []string{"backup", "-data", empty, "-out", filepath.Join(empty, "x.db")}, env, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no data file at") {
		t.Errorf("backup without a store: %v", err)
	}
	if err := run(ctx, []string{"backup"}, env, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "-out") {
		t.Errorf("backup without -out: %v", err)
	}
}
