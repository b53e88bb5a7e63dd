package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedWriter collects a server's log lines for a test.
type lockedWriter struct {
	mu sync.Mutex
	sb strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sb.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sb.String()
}

// -debug-addr serves the profiler on its own loopback listener, and only
// there: the public listener does not answer /debug/pprof/.
func TestDebugListener(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedWriter{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-debug-addr", "127.0.0.1:0", "-data", t.TempDir(), "-log-format", "json", "-drain-delay", "0s"},
			func(k string) string { return map[string]string{"HEARTH_JWT_SECRET": strings.Repeat("k", 40)}[k] }, out)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	addrs := map[string]string{}
	deadline := time.Now().Add(20 * time.Second)
	for len(addrs) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Addr != "" {
				addrs[line.Msg] = line.Addr
			}
		}
	}
	pub, dbg := addrs["hearth listening"], addrs["debug listener"]
	if pub == "" || dbg == "" {
		t.Fatalf("listeners not logged: %q", out.String())
	}
	get := func(u string) (int, string) {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("http://" + dbg + "/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Errorf("debug listener: %d %.200q, want the goroutine profile", code, body)
	}
	if code, body := get("http://" + pub + "/debug/pprof/goroutine?debug=1"); code == 200 && strings.Contains(body, "goroutine profile") {
		t.Errorf("the public listener serves the profiler")
	}
}
