package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hearth/internal/redistest"
)

// These tests run hearth-bench for a few seconds against real server
// processes (built from ./server by the go command, so that this package
// imports nothing of the server) on two nodes over private redis-servers,
// and judge what a user would notice: every message delivered once,
// whatever happens to a node or to Redis. They never judge speed.

// The server binary, built once for all the tests of this package.
var (
	serverOnce sync.Once
	serverDir  string
	serverBin  string
	serverErr  error
)

// buildServer builds the server binary (once) and returns its path.
func buildServer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real server")
	}
	serverOnce.Do(func() {
		if serverDir, serverErr = os.MkdirTemp("", "hearth-bench-test-"); serverErr != nil {
			return
		}
		serverBin = filepath.Join(serverDir, "hearth-server")
		if out, err := exec.Command("go", "build", "-o", serverBin, "hearth/server").CombinedOutput(); err != nil {
			serverErr = fmt.Errorf("go build hearth/server: %w\n%s", err, out)
		}
	})
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	return serverBin
}

// removeServerBuild removes the binary built by buildServer, if any.
func removeServerBuild() {
	if serverDir != "" {
		_ = os.RemoveAll(serverDir)
	}
}

// maxLogLines bounds the server log kept for a failure message.
const maxLogLines = 200

// serverNode is one running server process.
type serverNode struct {
	cmd  *exec.Cmd
	url  string // ws://127.0.0.1:port/ws
	done chan struct{}
}

// startNode starts the server binary on a free loopback port in
// distributed mode over live (pub/sub, presence, session buffer) and store
// (rooms, rosters), and waits until it listens. It is killed when the test
// ends, if still running.
func startNode(t *testing.T, bin string, live, store *redistest.Server) *serverNode {
	t.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", t.TempDir())
	cmd.Env = append(os.Environ(), "HEARTH_JWT_SECRET="+testSecret, "HEARTH_REDIS_URL="+live.URL(),
		"HEARTH_STORE_URL="+store.URL(), "HEARTH_LOG_FORMAT=json", "HEARTH_LOG_LEVEL=info",
		"HEARTH_JWT_ISSUER=", "HEARTH_JWT_AUDIENCE=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &serverNode{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	var log []string // its log (ids and codes, never text), for a failure message
	go func() {
		defer close(n.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "hearth listening" {
				addr <- line.Addr
			}
			if len(log) < maxLogLines {
				log = append(log, sc.Text())
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-n.done
		if t.Failed() {
			t.Logf("log of the server on %s (first %d lines):\n%s\nstderr: %s", n.url, maxLogLines, strings.Join(log, "\n"), stderr.String())
		}
	})
	select {
	case a := <-addr:
		n.url = "ws://" + a + "/ws"
	case <-n.done:
		t.Fatalf("the server exited before listening (%v)", cmd.ProcessState) // its log follows (Cleanup)
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not listen within 60s")
	}
	return n
}

// stop stops the node the way an operator does (SIGTERM: every WebSocket
// is closed with 1012) and waits for it to exit.
func (n *serverNode) stop(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.done:
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not exit within 60s of SIGTERM")
	}
}

// cluster starts a durable store Redis, a live Redis and two nodes.
func cluster(t *testing.T) (live *redistest.Server, nodes []*serverNode) {
	t.Helper()
	store := redistest.Start(t, "--appendonly", "yes")
	live = redistest.Start(t)
	bin := buildServer(t)
	return live, []*serverNode{startNode(t, bin, live, store), startNode(t, bin, live, store)}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// stderrWatch is hearth-bench's stderr: it keeps the lines and closes
// measuring when the measurement starts.
type stderrWatch struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	measuring chan struct{}
	seen      bool
}

func newStderrWatch() *stderrWatch { return &stderrWatch{measuring: make(chan struct{})} }

func (w *stderrWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.seen && strings.Contains(w.buf.String(), "hearth-bench: measuring for ") {
		w.seen = true
		close(w.measuring)
	}
	return len(p), nil
}

func (w *stderrWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// runBenchJSON runs hearth-bench with args plus -json against nodes, with
// HEARTH_JWT_SECRET set to the nodes' secret, and returns its report and
// error. during, when not nil, runs once the measurement has started.
func runBenchJSON(ctx context.Context, t *testing.T, nodes []*serverNode, during func(), args ...string) (report, error) {
	t.Helper()
	return runBenchJSONEnv(ctx, t, nodes, envOf(map[string]string{"HEARTH_JWT_SECRET": testSecret}), during, args...)
}

// runBenchJSONEnv is runBenchJSON with the environment getenv.
func runBenchJSONEnv(ctx context.Context, t *testing.T, nodes []*serverNode, getenv func(string) string, during func(), args ...string) (report, error) {
	t.Helper()
	var urls, pids []string
	for _, n := range nodes {
		urls = append(urls, n.url)
		pids = append(pids, strconv.Itoa(n.cmd.Process.Pid))
	}
	args = append([]string{"-url", strings.Join(urls, ","), "-pid", strings.Join(pids, ","), "-json", "-progress", "1s"}, args...)
	var stdout bytes.Buffer
	stderr := newStderrWatch()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, args, getenv, &stdout, stderr)
	}()
	if during != nil {
		select {
		case <-stderr.measuring:
			during()
		case err := <-errc:
			t.Fatalf("hearth-bench ended before measuring: %v\n%s", err, stderr)
		case <-time.After(2 * time.Minute):
			t.Fatalf("hearth-bench did not start measuring within 2 minutes\n%s", stderr)
		}
	}
	var err error
	select {
	case err = <-errc:
	case <-time.After(5 * time.Minute):
		t.Fatalf("hearth-bench did not stop within 5 minutes\n%s", stderr)
	}
	var rep report
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil {
		t.Fatalf("hearth-bench printed no JSON report (%v; run error %v)\nstdout: %s\nstderr: %s", jerr, err, stdout.String(), stderr)
	}
	t.Logf("hearth-bench stderr:\n%s", stderr)
	return rep, err
}

// checkDelivered fails unless every measured message reached every
// connection of its room exactly once, with nothing reported as a gap.
func checkDelivered(t *testing.T, rep report) {
	t.Helper()
	d := rep.Deliveries
	if rep.Connections.Joined != rep.Connections.Planned || rep.Connections.GaveUp != 0 {
		t.Errorf("connections: %+v, want all %d joined", rep.Connections, rep.Connections.Planned)
	}
	if rep.Messages.Confirmed == 0 || d.Expected == 0 {
		t.Fatalf("nothing was sent: messages %+v, deliveries %+v", rep.Messages, d)
	}
	if d.Lost != 0 || d.Duplicated != 0 || d.Gap != 0 || d.Received != d.Expected {
		t.Errorf("deliveries %+v: want every expected one received once, none lost or reported as a gap", d)
	}
}

// Two nodes over Redis, a few rooms whose members are spread across both,
// a few seconds of steady traffic: every message reaches every connection
// of its room (the sender's and the facilitator's included) exactly once,
// and the report reads both server processes from /proc.
func TestBenchTwoNodesDeliversEveryMessageOnce(t *testing.T) {
	_, nodes := cluster(t)
	rep, err := runBenchJSON(context.Background(), t, nodes, nil,
		"-rooms", "3", "-members", "4", "-rate", "4", "-duration", "3s", "-warmup", "1s")
	if err != nil {
		t.Fatalf("hearth-bench: %v", err)
	}
	checkDelivered(t, rep)
	if want := rep.Messages.Confirmed * 5; rep.Deliveries.Expected != want {
		t.Errorf("expected deliveries %d, want %d (each confirmed message to all 5 connections of its room)", rep.Deliveries.Expected, want)
	}
	if rep.Latency.Samples != rep.Deliveries.Received {
		t.Errorf("latency samples %d, want one per live delivery (%d)", rep.Latency.Samples, rep.Deliveries.Received)
	}
	if len(rep.Servers) != 2 {
		t.Fatalf("servers %+v, want both processes", rep.Servers)
	}
	for _, s := range rep.Servers {
		if !s.Running || s.PeakRSSBytes == 0 {
			t.Errorf("server %+v: want it read from /proc, running, with a peak RSS", s)
		}
	}
}

// A node is stopped (SIGTERM) in the middle of the traffic: its members'
// connections close with 1012, they reconnect to the other node and resume
// from where they were, and the session buffer gives them what was said
// meanwhile. Nothing is lost, nothing is reported as a gap, nothing comes
// twice.
func TestBenchNodeStopResumesWithoutLoss(t *testing.T) {
	_, nodes := cluster(t)
	rep, err := runBenchJSON(context.Background(), t, nodes, func() {
		time.Sleep(time.Second)
		nodes[1].stop(t)
	}, "-rooms", "3", "-members", "4", "-rate", "4", "-duration", "6s", "-warmup", "1s")
	if err != nil {
		t.Fatalf("hearth-bench: %v", err)
	}
	checkDelivered(t, rep)
	rc := rep.Reconnects
	if rc.CloseCodes["1012"] == 0 || rc.Resumes == 0 || rc.GapResumes != 0 {
		t.Errorf("reconnects %+v: want connections closed with 1012 and resumed without a gap", rc)
	}
}

// Redis (the live one: pub/sub, seq counters, session buffers; kept
// without persistence) is killed and started again, empty, in the middle
// of the traffic. The nodes close their connections so that clients
// resume; what cannot be recovered is reported as a gap, never lost in
// silence, and nothing comes twice.
func TestBenchRedisRestartLosesNothingSilently(t *testing.T) {
	live, nodes := cluster(t)
	rep, err := runBenchJSON(context.Background(), t, nodes, func() {
		time.Sleep(time.Second)
		live.Restart()
	}, "-rooms", "3", "-members", "4", "-rate", "4", "-duration", "8s", "-warmup", "1s")
	if err != nil {
		t.Fatalf("hearth-bench: %v", err)
	}
	d := rep.Deliveries
	if d.Expected == 0 || d.Lost != 0 || d.Duplicated != 0 || d.Received+d.Gap != d.Expected {
		t.Errorf("deliveries %+v: want each one received or reported as a gap, and none twice", d)
	}
	if rep.Connections.GaveUp != 0 {
		t.Errorf("connections %+v: want nobody put out of the room", rep.Connections)
	}
	if rep.Reconnects.Resumes == 0 || rep.Reconnects.GapResumes == 0 {
		t.Errorf("reconnects %+v: want the members to resume and be told of a gap (Redis lost the counters)", rep.Reconnects)
	}
}

// Ctrl-C in the middle of a long run: hearth-bench stops the traffic,
// closes every connection, prints a report marked interrupted and returns
// without an error; TestMain's goleak check finds none of its goroutines
// left.
func TestBenchInterruptStopsCleanly(t *testing.T) {
	_, nodes := cluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep, err := runBenchJSON(ctx, t, nodes, func() {
		time.Sleep(time.Second)
		cancel()
	}, "-rooms", "2", "-members", "3", "-rate", "2", "-duration", "10m", "-warmup", "0s")
	if err != nil {
		t.Fatalf("hearth-bench after Ctrl-C: %v, want a report and no error", err)
	}
	if !rep.Interrupted || rep.MeasuredSeconds >= 60 {
		t.Errorf("report: interrupted %v after %.1fs measured, want an interrupted report", rep.Interrupted, rep.MeasuredSeconds)
	}
	if closed := rep.Snapshots[len(rep.Snapshots)-1]; closed.Name != "closed" {
		t.Errorf("last snapshot %q, want closed", closed.Name)
	}
}

// serverToken mints a token with the server binary's `token` subcommand
// and the nodes' secret, as an operator would.
func serverToken(t *testing.T, bin, sub, role string) string {
	t.Helper()
	cmd := exec.Command(bin, "token", "-sub", sub, "-role", role, "-ttl", "1h")
	cmd.Env = append(os.Environ(), "HEARTH_JWT_SECRET="+testSecret, "HEARTH_JWT_ISSUER=", "HEARTH_JWT_AUDIENCE=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("server token -sub %s -role %s: %v", sub, role, err)
	}
	return strings.TrimSpace(string(out))
}

// With -tokens the run takes its tokens from a file, as it must against
// servers whose tokens come from an identity provider, and HEARTH_JWT_SECRET
// is not in its environment: the file's facilitators create the rooms, its
// members (their sub) go on the rosters and join, and every message
// reaches every connection of its room once. The report holds no token.
func TestBenchTokensFromFile(t *testing.T) {
	store := redistest.Start(t, "--appendonly", "yes")
	live := redistest.Start(t)
	bin := buildServer(t)
	node := startNode(t, bin, live, store)

	lines := []string{"# ROLE TOKEN, from `server token`", ""}
	for r := range 2 {
		lines = append(lines, "facilitator "+serverToken(t, bin, fmt.Sprintf("lead-%d", r), roleFacilitator))
	}
	for m := range 4 {
		lines = append(lines, "member "+serverToken(t, bin, fmt.Sprintf("person-%d", m), roleMember))
	}
	path := filepath.Join(t.TempDir(), "tokens.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := runBenchJSONEnv(context.Background(), t, []*serverNode{node}, envOf(nil), nil,
		"-tokens", path, "-rooms", "2", "-members", "2", "-rate", "4", "-duration", "2s", "-warmup", "1s")
	if err != nil {
		t.Fatalf("hearth-bench -tokens: %v", err)
	}
	checkDelivered(t, rep)
	if rep.Connections.Planned != 6 || rep.Config.Tokens != "file" {
		t.Errorf("planned %d connections, tokens %q; want 6 from the file", rep.Connections.Planned, rep.Config.Tokens)
	}
	if out, err := json.Marshal(rep); err != nil || jwtLike.Match(out) {
		t.Errorf("the report holds a token (or does not encode: %v)", err)
	}
}
