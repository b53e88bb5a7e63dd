package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hearth/client"
	"hearth/internal/redistest"
)

// These tests run the baseline server in process and drive it with the
// load generator, as an operator would to compare it with Hearth. They
// never judge speed.

// startBaseline starts a baseline server with cfg on a free loopback port
// and returns it with its WebSocket URL. It is stopped (as by Ctrl-C) when
// the test ends, and must stop within a generous deadline.
func startBaseline(t *testing.T, cfg baselineConfig) (*baseline, string) {
	t.Helper()
	if cfg.Queue == 0 {
		cfg.Queue = baselineQueue
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = baselineHeartbeat
	}
	s, err := newBaseline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.closeRedis()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("baseline server: %v", err)
			}
		case <-time.After(time.Minute):
			t.Errorf("the baseline server did not stop within a minute of its context ending")
		}
	})
	return s, "ws://" + ln.Addr().String() + "/ws"
}

// runGenerator runs hearth-bench with args plus -json and returns its
// report (also as a generic JSON object, to check field names) and error.
func runGenerator(t *testing.T, args ...string) (report, map[string]any, error) {
	t.Helper()
	args = append([]string{"-json", "-progress", "1s", "-ramp", "500"}, args...)
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- run(context.Background(), args, envOf(map[string]string{"HEARTH_JWT_SECRET": testSecret}), &stdout, stderr)
	}()
	var err error
	select {
	case err = <-errc:
	case <-time.After(5 * time.Minute):
		t.Fatalf("hearth-bench did not stop within 5 minutes\n%s", stderr)
	}
	t.Logf("hearth-bench stderr:\n%s", stderr)
	var rep report
	var raw map[string]any
	if jerr := errors.Join(json.Unmarshal(stdout.Bytes(), &rep), json.Unmarshal(stdout.Bytes(), &raw)); jerr != nil {
		t.Fatalf("hearth-bench printed no JSON report (%v; run error %v)\nstdout: %s", jerr, err, stdout.String())
	}
	return rep, raw, err
}

// field returns the value at a dotted path of a JSON object, and whether
// it is there.
func field(obj map[string]any, path string) (any, bool) {
	var v any = obj
	for k := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// The load generator, unchanged, drives the baseline — one process, and
// two processes over one Redis with the members spread across them — for
// a few seconds at a small load: everyone joins, every message reaches
// every connection of its room once, and the report carries what the
// performance report needs, the server's memory and CPU included (the
// "server" is this test process here).
func TestBaselineCarriesTheGeneratorsRun(t *testing.T) {
	tests := []struct {
		name  string
		nodes func(t *testing.T) []string
	}{
		{"one process", func(t *testing.T) []string {
			_, url := startBaseline(t, baselineConfig{})
			return []string{url}
		}},
		{"two processes over Redis", func(t *testing.T) []string {
			live := redistest.Start(t)
			_, a := startBaseline(t, baselineConfig{RedisURL: live.URL()})
			_, b := startBaseline(t, baselineConfig{RedisURL: live.URL()})
			return []string{a, b}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			urls := tt.nodes(t)
			rep, raw, err := runGenerator(t, "-url", strings.Join(urls, ","), "-pid", strconv.Itoa(os.Getpid()),
				"-rooms", "5", "-members", "4", "-rate", "6", "-size", "150", "-warmup", "1s", "-duration", "3s")
			if err != nil {
				t.Fatalf("hearth-bench: %v", err)
			}
			if rep.Config.Mode != "chat" || rep.Connections.Planned != 25 || rep.Connections.Joined != 25 || rep.Connections.GaveUp != 0 {
				t.Errorf("config %+v, connections %+v: want a chat run with all 25 connections joined", rep.Config, rep.Connections)
			}
			d := rep.Deliveries
			if rep.Messages.Confirmed == 0 || d.Expected != rep.Messages.Confirmed*5 {
				t.Fatalf("messages %+v, deliveries %+v: want each confirmed message expected at all 5 connections of its room", rep.Messages, d)
			}
			if d.Received != d.Expected || d.Lost != 0 || d.Gap != 0 || d.Duplicated != 0 || d.PerSecond <= 0 {
				t.Errorf("deliveries %+v: want every one received once", d)
			}
			if rep.Latency.Samples != d.Received || rep.Latency.P99MS <= 0 || rep.Latency.MaxMS < rep.Latency.P99MS {
				t.Errorf("latency %+v: want one live sample per delivery", rep.Latency)
			}
			if len(rep.Servers) != 1 || !rep.Servers[0].Running || rep.Servers[0].PeakRSSBytes == 0 || rep.Memory == nil {
				t.Errorf("servers %+v, memory %+v: want the process read from /proc", rep.Servers, rep.Memory)
			}
			for _, f := range []string{"connections.planned", "connections.connect_p50_ms", "connections.connect_p99_ms",
				"messages.sent", "deliveries.expected", "deliveries.received", "deliveries.lost", "deliveries.duplicated",
				"deliveries.per_second", "latency.p50_ms", "latency.p90_ms", "latency.p99_ms", "latency.p999_ms",
				"latency.max_ms", "memory.server_rss_per_connection_bytes"} {
				if _, ok := field(raw, f); !ok {
					t.Errorf("the JSON report has no %s", f)
				}
			}
		})
	}
}

// -idle connects and holds without sending and reports memory per
// connection; -find-max steps the rate up from -rate to the highest the
// members may send (the bound is far beyond any latency here, so every
// step holds) and reports each step and the last rate that held.
func TestBaselineIdleAndFindMax(t *testing.T) {
	_, url := startBaseline(t, baselineConfig{})
	pid := strconv.Itoa(os.Getpid())
	rep, _, err := runGenerator(t, "-url", url, "-pid", pid, "-idle", "-rooms", "2", "-members", "2", "-duration", "1s")
	if err != nil {
		t.Fatalf("hearth-bench -idle: %v", err)
	}
	if rep.Config.Mode != "idle" || rep.Messages.Sent != 0 || rep.Connections.Joined != 6 || rep.Memory == nil || rep.FindMax != nil {
		t.Errorf("-idle: mode %q, messages %+v, joined %d, memory %+v, find_max %+v: want 6 connections held, nothing sent, memory reported",
			rep.Config.Mode, rep.Messages, rep.Connections.Joined, rep.Memory, rep.FindMax)
	}

	// 4 members may send 0.9 × 5 × 4 = 18 messages per second per room:
	// steps at 16 and 18.
	rep, _, err = runGenerator(t, "-url", url, "-pid", pid, "-rooms", "2", "-members", "4", "-rate", "16",
		"-find-max", "10s", "-warmup", "500ms", "-duration", "1s")
	if err != nil {
		t.Fatalf("hearth-bench -find-max: %v", err)
	}
	fm := rep.FindMax
	if fm == nil || rep.Config.Mode != "find_max" {
		t.Fatalf("-find-max: mode %q, no find_max in the report", rep.Config.Mode)
	}
	if len(fm.Steps) != 2 || fm.Steps[0].Rate != 16 || fm.Steps[1].Rate != 18 || fm.Stopped != stopRateCap || fm.HeldRate != 18 {
		t.Errorf("find_max %+v: want steps at 16 and 18 msg/s, stopped at the rate cap with 18 held", fm)
	}
	for i, st := range fm.Steps {
		if !st.Held || st.Received == 0 || st.Received != st.Expected || st.P99MS <= 0 || st.ServerCPUSeconds < 0 {
			t.Errorf("step %d %+v: want it held, every delivery received", i+1, st)
		}
		if st.BenchCPUSeconds <= 0 {
			t.Errorf("step %d: bench_cpu_seconds %v, want the generator's own CPU during the step", i+1, st.BenchCPUSeconds)
		}
	}
}

// dialRaw connects to url with the bare WebSocket library, signs in and
// joins room, reading only the replies: a client that then stops reading.
func dialRaw(ctx context.Context, t *testing.T, url, room string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{client.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{`{"type":"auth","id":"a1","token":"any"}`, `{"type":"join","id":"j1","room":"` + room + `","display_name":"Slow"}`} {
		if err := ws.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
			t.Fatal(err)
		}
		if _, data, err := ws.Read(ctx); err != nil || bytes.Contains(data, []byte(`"error"`)) {
			t.Fatalf("%s: %s, %v", f, data, err)
		}
	}
	return ws
}

// A member whose connection stops reading is cut off once its bounded
// queue is full; the sender is never held up, and a healthy member of the
// same room gets every message.
func TestBaselineCutsOffASlowReader(t *testing.T) {
	const queue = 32
	s, url := startBaseline(t, baselineConfig{Queue: queue})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const room = "slow-room"
	slow := dialRaw(ctx, t, url, room)
	defer slow.CloseNow()

	join := func(name string) *client.Client {
		c, err := client.Dial(ctx, url, "any-token", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if _, err := c.Join(ctx, room, name, nil); err != nil {
			t.Fatal(err)
		}
		return c
	}
	listener, sender := join("Listener"), join("Sender")
	var heard atomic.Int64
	go func() { // counts the messages the listener gets, until its connection ends
		for ev := range listener.Events() {
			if ev.Type == client.TypeMessage {
				heard.Add(1)
			}
		}
	}()
	go func() { // the sender's own copies
		for range sender.Events() {
		}
	}()

	// Big messages fill the slow reader's socket buffers, then its queue.
	text := strings.Repeat("x", 4000)
	const maxSends = 20000 // 80 MB: far beyond any socket buffer
	sent := 0
	for s.stats().SlowDisconnects == 0 {
		if sent == maxSends {
			t.Fatalf("the reader that stopped reading was not cut off after %d messages of 4000 bytes (queue %d)", sent, queue)
		}
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := sender.Send(sctx, room, text)
		scancel()
		if err != nil {
			t.Fatalf("send %d: %v: the sender was held up", sent+1, err)
		}
		sent++
	}
	t.Logf("cut off after %d messages", sent)
	for range 10 { // the room goes on without it
		if _, err := sender.Send(ctx, room, "after"); err != nil {
			t.Fatal(err)
		}
		sent++
	}

	// The slow connection has ended: reading it again comes, after what
	// its socket still held, to the end of the connection.
	for {
		if _, _, err := slow.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatalf("the cut-off connection is still open: %v", err)
			}
			break
		}
	}
	deadline := time.Now().Add(time.Minute)
	for (s.stats().Connections != 2 || heard.Load() < int64(sent)) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.stats(); st.Connections != 2 || st.SlowDisconnects != 1 {
		t.Errorf("stats %+v: want the two healthy connections left, one cut off", st)
	}
	if n := heard.Load(); n != int64(sent) {
		t.Errorf("the listener heard %d messages, want all %d", n, sent)
	}
}

// The baseline refuses to listen beyond loopback unless told to (it checks
// no token), and parses its flags.
func TestParseBaselineConfig(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{nil, ""},
		{[]string{"-addr", "127.0.0.1:0", "-redis", "redis://127.0.0.1:6379/0"}, ""},
		{[]string{"-addr", "[::1]:9000"}, ""},
		{[]string{"-addr", "0.0.0.0:9000"}, "not a loopback address"},
		{[]string{"-addr", ":9000"}, "not a loopback address"},
		{[]string{"-addr", "0.0.0.0:9000", "-allow-remote"}, ""},
		{[]string{"-addr", "localhost"}, "not host:port"},
		{[]string{"-redis", "http://x"}, "not a redis:// URL"},
		{[]string{"stray"}, "unexpected argument"},
	}
	// Regression: a bad -redis URL was echoed with its password, twice
	// (in the URL and in go-redis's error).
	for _, bad := range []string{"redis://user:s3cretpw@127.0.0.1:6379/abc", "redis://user:s3cretpw@127.0.0.1:notaport/0"} {
		_, err := parseBaselineConfig([]string{"-redis", bad}, io.Discard)
		if err == nil || strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("parseBaselineConfig(-redis with a password) = %v, want an error without the password", err)
		}
	}
	for _, tt := range tests {
		_, err := parseBaselineConfig(tt.args, io.Discard)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("parseBaselineConfig(%q) = %v, want no error", tt.args, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, errUsage)):
			t.Errorf("parseBaselineConfig(%q) = %v, want a usage error containing %q", tt.args, err, tt.wantErr)
		}
	}
}
