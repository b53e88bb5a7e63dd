package main

// The bare baseline: `hearth-bench baseline` runs a minimal fan-out server
// for benchmarking only, so that a run of the load generator against it,
// beside a run against Hearth on the same machine and workload, says how
// close Hearth comes to the limit of the socket library.
//
// It speaks just enough of protocol v1 that the generator's code path for
// Hearth runs unchanged against it: the REST setup (POST /api/rooms and
// POST /api/rooms/{id}/members, answered without storing anything), the
// auth frame and its welcome, join and joined (the session already open,
// so no start_session is needed), send with its ok and the message event
// fanned out to the room, leave, ping, and an ok for start_session and
// end_session. It checks no token, keeps no roster, no presence events, no
// session buffer (a resuming join is answered without "resume", which the
// generator counts as a gap), no moderation, no crisis detection.
//
// What it does as well as it can: coder/websocket; rooms as plain maps;
// each message marshalled once and the same bytes queued to every local
// recipient; a bounded queue per connection (a reader that falls behind
// is cut off with 1013 and never slows the others); everything queued to
// one socket written together as one frame of newline-separated events;
// one writer goroutine per connection, owned by the connection's handler;
// one heartbeat ticker for all connections; frame buffers from a
// sync.Pool, queues allocated only while events wait. With -redis, the
// message bytes go through Redis pub/sub (one PUBLISH per message, one
// subscription per room with local members, one pub/sub connection per
// process), so that two baseline processes over one Redis are a
// two-node baseline.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"hearth/client"
)

// Limits and timing of the baseline server, in one place. Where Hearth has
// the same setting, the value is Hearth's default (internal/hub), kept in
// step by hand: this command imports nothing of the server.
const (
	// baselineAddr is the default listen address: loopback only.
	baselineAddr = "127.0.0.1:8090"
	// baselineQueue is how many events may wait for one connection's
	// writer before the connection is cut off as a slow reader (the hub's
	// DefaultSendQueue).
	baselineQueue = 256
	// baselineBatchBytes is about the largest frame the writer builds
	// from queued events (the hub's maxBatchBytes).
	baselineBatchBytes = 64 << 10
	// baselineKeepSlots: a drained queue is kept for reuse only up to
	// this capacity, so an idle connection holds no large slice.
	baselineKeepSlots = 16
	// baselineWriteTimeout bounds every socket write (the hub's
	// DefaultWriteTimeout).
	baselineWriteTimeout = 10 * time.Second
	// baselineHeartbeat is the WebSocket ping interval, one ticker for all
	// connections, and baselinePingTimeout the wait for its pong (the
	// hub's DefaultHeartbeat and DefaultPingTimeout).
	baselineHeartbeat   = 25 * time.Second
	baselinePingTimeout = 15 * time.Second
	// baselineAuthTimeout is how long a new connection may take to send
	// its auth frame.
	baselineAuthTimeout = 10 * time.Second
	// baselineMaxFrame is the largest client frame read, in bytes (the
	// protocol's MaxFrameBytes); a larger one ends the connection (1009).
	baselineMaxFrame = 64 << 10
	// baselineMaxText is the longest message text, in bytes (the
	// protocol's MaxTextBytes).
	baselineMaxText = 16 << 10
	// baselineMaxName is the longest display name, in bytes.
	baselineMaxName = 128
	// baselineRoomsPerConn is how many rooms one connection may be in
	// (as in Hearth).
	baselineRoomsPerConn = 5
	// baselineMaxConns bounds the connections held at once: room for two
	// load generators at their largest.
	baselineMaxConns = 2 * maxConnections
	// baselineShutdown bounds the graceful part of a shutdown; what is
	// still open then is closed at once.
	baselineShutdown = 10 * time.Second
	// baselineRedisTimeout bounds a PUBLISH and the wait for Redis to
	// confirm a subscription.
	baselineRedisTimeout = 5 * time.Second
	// baselineRedisRetry is the pause after a pub/sub read error before
	// reading again (go-redis reconnects and resubscribes meanwhile).
	baselineRedisRetry = 200 * time.Millisecond
	// baselineChannelPrefix prefixes a room's id to name its Redis
	// channel; it is apart from Hearth's "hearth:room:".
	baselineChannelPrefix = "hearth-baseline:room:"
)

// Close codes the baseline sends (the protocol's).
const (
	closeTryAgainLater websocket.StatusCode = 1013 // the reader fell behind: reconnect with backoff
	closeUnauthorized  websocket.StatusCode = 4401 // no auth frame in time
)

// baselineErrors are the error codes the baseline answers with, and the
// sentence for each: the stable code and a human sentence, as in Hearth.
var baselineErrors = map[string]string{
	"auth_required":        "Send an auth frame first.",
	"auth_timeout":         "No auth frame came in time.",
	"already_authed":       "This connection is already signed in.",
	"bad_frame":            "The frame is not a JSON object with a type.",
	"binary_frame":         "Frames are JSON text; binary frames are not read.",
	"unsupported":          "The baseline server knows only auth, join, leave, send, ping, start_session and end_session.",
	"invalid_room":         "A room id is 1 to 64 letters, digits, '-' or '_', starting with a letter or digit.",
	"name_empty":           "Choose a display name.",
	"name_too_long":        "The display name is too long.",
	"already_joined":       "This connection is already in that room.",
	"too_many_rooms":       "A connection may be in at most 5 rooms.",
	"not_joined":           "Join the room first.",
	"text_empty":           "The message is empty.",
	"text_too_long":        "The message is too long.",
	"unavailable":          "The message could not be passed on; try again.",
	"subprotocol_required": "Offer the WebSocket subprotocol hearth.v1.",
	"too_many_connections": "The baseline server holds as many connections as it may.",
	"shutting_down":        "The baseline server is shutting down.",
}

// baselineConfig is the baseline server's validated settings.
type baselineConfig struct {
	Addr        string        // listen address, host:port
	RedisURL    string        // redis:// URL for pub/sub between baseline processes; empty for one process
	AllowRemote bool          // listen on an address that is not loopback
	Queue       int           // events queued per connection before it is cut off
	Heartbeat   time.Duration // WebSocket ping interval
}

// parseBaselineConfig parses the arguments of `hearth-bench baseline`
// (after the word baseline). Help goes to out; it returns flag.ErrHelp for
// -h and an error wrapping errUsage for a bad value.
func parseBaselineConfig(args []string, out io.Writer) (baselineConfig, error) {
	fs := flag.NewFlagSet("hearth-bench baseline", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", baselineAddr, "listen `address` (host:port; port 0 picks a free one)")
	redisURL := fs.String("redis", "", "redis:// `URL`: pass messages through Redis pub/sub, for a baseline of several processes (empty: one process)")
	allowRemote := fs.Bool("allow-remote", false, "listen on an address that is not loopback (the baseline checks no token: anyone who reaches it can use it)")
	if err := fs.Parse(args); err != nil {
		return baselineConfig{}, err
	}
	if fs.NArg() > 0 {
		return baselineConfig{}, usageError("unexpected argument %q", fs.Arg(0))
	}
	c := baselineConfig{Addr: *addr, RedisURL: *redisURL, AllowRemote: *allowRemote, Queue: baselineQueue, Heartbeat: baselineHeartbeat}
	host, _, err := net.SplitHostPort(c.Addr)
	switch {
	case err != nil:
		return baselineConfig{}, usageError("-addr %q is not host:port, such as %s", c.Addr, baselineAddr)
	case !c.AllowRemote && !isLoopback(host):
		return baselineConfig{}, usageError("-addr %q is not a loopback address; the baseline checks no token, so pass -allow-remote to listen there on purpose", c.Addr)
	}
	if c.RedisURL != "" {
		if _, err := redis.ParseURL(c.RedisURL); err != nil {
			// Neither the URL nor go-redis's error is printed as given: both
			// may carry the password.
			return baselineConfig{}, usageError("-redis %q is not a redis:// URL (redis://[user:password@]host:port[/db])", redactURL(c.RedisURL))
		}
	}
	return c, nil
}

// runBaseline runs `hearth-bench baseline` until ctx ends (SIGINT,
// SIGTERM): it listens, prints one line with its URL on stdout, and on the
// way out prints what it served on stderr (counts only).
func runBaseline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseBaselineConfig(args, stderr)
	if err != nil {
		return err
	}
	s, err := newBaseline(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		s.closeRedis()
		return fmt.Errorf("baseline: listen: %w", err)
	}
	mode := "one process"
	if cfg.RedisURL != "" {
		mode = "Redis pub/sub"
	}
	fmt.Fprintf(stdout, "hearth-bench baseline listening on ws://%s/ws (%s); Ctrl-C stops it\n", ln.Addr(), mode)
	err = s.serve(ctx, ln)
	st := s.stats()
	fmt.Fprintf(stderr, "hearth-bench baseline: stopped after %d connections, %d messages, %d slow readers cut off\n",
		st.ConnectionsTotal, st.Messages, st.SlowDisconnects)
	return err
}

// baseline is the baseline server.
type baseline struct {
	cfg   baselineConfig
	node  string // random, names this process in member and message ids
	epoch string // the "epoch" of every room's seq here (seqs are per process)

	mu      sync.Mutex
	rooms   map[string]*bRoom             // rooms with local members
	conns   map[*bConn]struct{}           // open connections
	pending map[string][]chan struct{}    // Redis channel → subscriptions sent, waiting for Redis to confirm, in order
	closing bool                          // no new connections
	connWG  sync.WaitGroup                // one per open connection's handler
	beat    atomic.Pointer[chan struct{}] // closed and replaced at every heartbeat tick
	nextID  atomic.Uint64                 // connection ids
	counts  struct{ conns, msgs, slow atomic.Uint64 }

	rdb       *redis.Client // nil in one process
	ps        *redis.PubSub
	closeOnce sync.Once // of rdb and ps
}

// bRoom is one room with local members. Its members set and seq are
// guarded by mu; the room is removed from baseline.rooms when its last
// local member leaves.
type bRoom struct {
	id      string
	mu      sync.Mutex
	seq     uint64
	members map[*bConn]struct{}
	ready   chan struct{} // closed once Redis confirmed the room's subscription (at once in one process)
}

// newBaseline returns a baseline server for cfg; with cfg.RedisURL it
// connects to Redis (checked with a PING).
func newBaseline(cfg baselineConfig) (*baseline, error) {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	s := &baseline{cfg: cfg, node: hex.EncodeToString(b[:]), rooms: map[string]*bRoom{}, conns: map[*bConn]struct{}{},
		pending: map[string][]chan struct{}{}}
	s.epoch = "b" + s.node
	beat := make(chan struct{})
	s.beat.Store(&beat)
	if cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, usageError("-redis: %v", err)
		}
		s.rdb = redis.NewClient(opt)
		ctx, cancel := context.WithTimeout(context.Background(), baselineRedisTimeout)
		defer cancel()
		if err := s.rdb.Ping(ctx).Err(); err != nil {
			_ = s.rdb.Close()
			return nil, fmt.Errorf("baseline: Redis at -redis does not answer: %w", err)
		}
		s.ps = s.rdb.Subscribe(context.Background())
	}
	return s, nil
}

// closeRedis closes the Redis connections, if any.
func (s *baseline) closeRedis() {
	if s.rdb != nil {
		s.closeOnce.Do(func() {
			_ = s.ps.Close()
			_ = s.rdb.Close()
		})
	}
}

// baselineStats are the server's counters (GET /stats).
type baselineStats struct {
	Connections      int    `json:"connections"`       // open now
	Rooms            int    `json:"rooms"`             // with local members now
	ConnectionsTotal uint64 `json:"connections_total"` // accepted since start
	Messages         uint64 `json:"messages"`          // sends accepted since start
	SlowDisconnects  uint64 `json:"slow_disconnects"`  // connections cut off for reading too slowly
}

func (s *baseline) stats() baselineStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return baselineStats{Connections: len(s.conns), Rooms: len(s.rooms), ConnectionsTotal: s.counts.conns.Load(),
		Messages: s.counts.msgs.Load(), SlowDisconnects: s.counts.slow.Load()}
}

// serve serves on ln until ctx ends, then shuts down: it stops accepting,
// closes every WebSocket with 1012 (service restart: clients reconnect)
// after writing what is queued, waits for the connections at most
// baselineShutdown, closes the rest at once, and stops its goroutines.
// It closes ln and the Redis connections.
func (s *baseline) serve(ctx context.Context, ln net.Listener) error {
	defer s.closeRedis()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("POST /api/rooms", s.createRoom)
	mux.HandleFunc("POST /api/rooms/{id}/members", s.addMember)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.stats()) })
	connCtx, stopConns := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConns()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return connCtx }}

	var bg sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(context.Background())
	bg.Go(func() { s.heartbeat(bgCtx) })
	if s.ps != nil {
		bg.Go(func() { s.receive(bgCtx) })
	}
	errc := make(chan error, 1)
	bg.Go(func() { errc <- srv.Serve(ln) })

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("baseline: serve: %w", err)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), baselineShutdown)
	defer cancel()
	_ = srv.Shutdown(shutCtx) // stops the listener; WebSockets are hijacked and not waited for
	s.mu.Lock()
	s.closing = true
	for c := range s.conns {
		c.close(websocket.StatusServiceRestart, true)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutCtx.Done():
		stopConns() // every read and write ends; the handlers return
		<-done
	}
	stopBG()
	s.closeRedis() // ends the pub/sub receive loop
	bg.Wait()
	return err
}

// heartbeat wakes every connection's writer to ping, every cfg.Heartbeat,
// until ctx ends: one ticker however many connections.
func (s *baseline) heartbeat(ctx context.Context) {
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			next := make(chan struct{})
			close(*s.beat.Swap(&next))
		}
	}
}

// writeJSON writes v as a JSON answer with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeRESTError writes an error answer in the REST API's shape.
func writeRESTError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": baselineErrors[code]}})
}

// createRoom answers POST /api/rooms with a new random room id; nothing is
// stored (a room exists while it has members, on any baseline process).
func (s *baseline) createRoom(w http.ResponseWriter, _ *http.Request) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	writeJSON(w, http.StatusCreated, map[string]string{"id": "b" + hex.EncodeToString(b[:])})
}

// addMember answers POST /api/rooms/{id}/members: anyone may join any
// room, so there is nothing to store.
func (s *baseline) addMember(w http.ResponseWriter, r *http.Request) {
	if !validRoomID(r.PathValue("id")) {
		writeRESTError(w, http.StatusBadRequest, "invalid_room")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serveWS upgrades GET /ws and runs the connection until it ends.
func (s *baseline) serveWS(w http.ResponseWriter, r *http.Request) {
	offered := false
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			offered = offered || strings.TrimSpace(p) == client.Subprotocol
		}
	}
	if !offered {
		writeRESTError(w, http.StatusBadRequest, "subprotocol_required")
		return
	}
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		writeRESTError(w, http.StatusServiceUnavailable, "shutting_down")
		return
	case len(s.conns) >= baselineMaxConns:
		s.mu.Unlock()
		writeRESTError(w, http.StatusServiceUnavailable, "too_many_connections")
		return
	}
	c := &bConn{s: s, id: s.node + "-" + strconv.FormatUint(s.nextID.Add(1), 36), wake: make(chan struct{}, 1),
		closeReq: make(chan struct{}), rooms: map[string]*bMember{}}
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.connWG.Done()
	}()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{client.Subprotocol}})
	if err != nil {
		return // Accept has answered the request
	}
	s.counts.conns.Add(1)
	c.ws = ws
	c.run(r.Context())
}

// bConn is one WebSocket connection. Fields without a comment are set
// before its goroutines start.
type bConn struct {
	s  *baseline
	ws *websocket.Conn
	id string // member id, the same in every room

	qmu   sync.Mutex
	q     [][]byte // events waiting for the writer, guarded by qmu; nil while none ever waited
	spare [][]byte // a drained queue kept for reuse (small), guarded by qmu
	dead  bool     // guarded by qmu: a close was requested, nothing more is queued
	wake  chan struct{}

	closeOnce   sync.Once
	closeReq    chan struct{} // closed when a close is requested
	closeCode   websocket.StatusCode
	flush       bool               // write what is queued before closing
	cancelWrite context.CancelFunc // abandons a write in progress (a close without flush)

	auth atomic.Int32 // authPending, then authDone (the auth frame came) or authFailed (it did not, in time)

	rooms map[string]*bMember // owned by the reader goroutine
}

// Authentication states of a connection.
const (
	authPending int32 = iota
	authDone
	authFailed
)

// bMember is a connection in one room.
type bMember struct {
	room *bRoom
	me   client.Member
}

// enqueue queues one encoded event for the writer without blocking. A
// connection with cfg.Queue events already waiting reads too slowly: it is
// cut off with 1013 and never slows anyone else. ev is shared with other
// connections and never changed.
func (c *bConn) enqueue(ev []byte) {
	c.qmu.Lock()
	if c.dead {
		c.qmu.Unlock()
		return
	}
	if len(c.q) >= c.s.cfg.Queue {
		c.qmu.Unlock()
		c.s.counts.slow.Add(1)
		c.close(closeTryAgainLater, false)
		return
	}
	c.q = append(c.q, ev)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // the writer is already woken
	}
}

// close asks the writer to close the connection with code: after writing
// what is queued if flush, else at once (a write in progress is
// abandoned). Only the first request counts.
func (c *bConn) close(code websocket.StatusCode, flush bool) {
	c.closeOnce.Do(func() {
		c.qmu.Lock()
		c.dead = true
		c.qmu.Unlock()
		c.closeCode, c.flush = code, flush
		if !flush {
			c.cancelWrite()
		}
		close(c.closeReq)
	})
}

// errConnClosed ends the reader or writer when the connection is closed on
// purpose.
var errConnClosed = errors.New("connection closed")

// run owns the connection's reader (this goroutine) and writer; it returns
// once both have stopped and the connection has left its rooms.
func (c *bConn) run(ctx context.Context) {
	c.ws.SetReadLimit(baselineMaxFrame)
	g, gctx := errgroup.WithContext(ctx)
	wctx, cancelWrite := context.WithCancel(gctx)
	defer cancelWrite()
	c.cancelWrite = cancelWrite
	auth := time.AfterFunc(baselineAuthTimeout, func() {
		if c.auth.CompareAndSwap(authPending, authFailed) {
			c.enqueue(errorFrame("", "", "auth_timeout"))
			c.close(closeUnauthorized, true)
		}
	})
	defer auth.Stop()
	g.Go(func() error { return c.writeLoop(gctx, wctx) })
	g.Go(func() error { return c.readLoop(gctx) })
	_ = g.Wait()
	_ = c.ws.CloseNow()
	for id := range c.rooms {
		c.leave(id)
	}
}

// readLoop reads and handles client frames until the connection ends.
func (c *bConn) readLoop(ctx context.Context) error {
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return err // also a frame over the read limit: the library closes with 1009
		}
		c.qmu.Lock()
		dead := c.dead
		c.qmu.Unlock()
		if dead {
			continue // closing: read until the peer's close frame, act on nothing
		}
		if typ != websocket.MessageText {
			c.enqueue(errorFrame("", "", "binary_frame"))
			continue
		}
		c.handle(ctx, data)
	}
}

// writeLoop writes what is queued, pings at every heartbeat and closes the
// connection when asked, until ctx ends. Writes and pings use wctx, which
// a close without flush cancels.
func (c *bConn) writeLoop(ctx, wctx context.Context) error {
	closeNow := func() error {
		if c.flush {
			if err := c.writeQueued(wctx); err != nil {
				return err
			}
		}
		_ = c.ws.Close(c.closeCode, "") // bounded by the library (5 s to write, 5 s to hear back)
		return errConnClosed
	}
	for {
		select { // a close request goes first: a cut-off reader gets nothing more
		case <-c.closeReq:
			return closeNow()
		default:
		}
		beat := *c.s.beat.Load()
		select {
		case <-ctx.Done():
			return nil
		case <-c.closeReq:
			return closeNow()
		case <-c.wake:
			if err := c.writeQueued(wctx); err != nil {
				return err
			}
		case <-beat:
			pctx, cancel := context.WithTimeout(wctx, baselinePingTimeout)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil {
				return err // the peer stopped answering
			}
		}
	}
}

// framePool holds the writer's frame buffers.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// writeQueued writes everything queued, events joined by '\n' into frames
// of up to about baselineBatchBytes, until the queue is empty.
func (c *bConn) writeQueued(ctx context.Context) error {
	for {
		c.qmu.Lock()
		batch := c.q
		c.q, c.spare = c.spare, nil
		c.qmu.Unlock()
		if len(batch) == 0 {
			c.qmu.Lock()
			c.spare = batch
			c.qmu.Unlock()
			return nil
		}
		bufp := framePool.Get().(*[]byte)
		buf := (*bufp)[:0]
		var err error
		for i, ev := range batch {
			if len(buf) > 0 && len(buf)+1+len(ev) > baselineBatchBytes {
				if err = c.write(ctx, buf); err != nil {
					break
				}
				buf = buf[:0]
			}
			if len(buf) > 0 {
				buf = append(buf, '\n')
			}
			buf = append(buf, ev...)
			batch[i] = nil
		}
		if err == nil {
			err = c.write(ctx, buf)
		}
		if cap(buf) <= 2*baselineBatchBytes {
			*bufp = buf[:0]
			framePool.Put(bufp)
		}
		if err != nil {
			return err
		}
		if cap(batch) <= baselineKeepSlots {
			clear(batch[:cap(batch)][len(batch):]) // nothing is left past len, but be sure
			c.qmu.Lock()
			c.spare = batch[:0]
			c.qmu.Unlock()
		}
	}
}

// write writes one frame within baselineWriteTimeout.
func (c *bConn) write(ctx context.Context, frame []byte) error {
	ctx, cancel := context.WithTimeout(ctx, baselineWriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame)
}

// clientFrame is the union of the client frames the baseline reads.
type clientFrame struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	Token       string `json:"token"` // read, never checked, never logged
	Room        string `json:"room"`
	DisplayName string `json:"display_name"`
	Text        string `json:"text"`
}

// Server events, as Hearth shapes them (see docs/protocol.md).
type (
	welcomeEvent struct {
		Type        string `json:"type"`
		ID          string `json:"id,omitempty"`
		Role        string `json:"role"`
		HeartbeatMS int64  `json:"heartbeat_ms"`
	}
	joinedEvent struct {
		Type    string           `json:"type"`
		ID      string           `json:"id"`
		Room    string           `json:"room"`
		You     client.Member    `json:"you"`
		Members []client.Member  `json:"members"`
		State   client.RoomState `json:"state"`
		Epoch   string           `json:"epoch"`
		Seq     uint64           `json:"seq"`
	}
	okEvent struct {
		Type      string `json:"type"`
		ID        string `json:"id,omitempty"`
		Room      string `json:"room,omitempty"`
		MessageID string `json:"message_id,omitempty"`
		Seq       uint64 `json:"seq,omitempty"`
	}
	errorEvent struct {
		Type    string `json:"type"`
		ID      string `json:"id,omitempty"`
		Room    string `json:"room,omitempty"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	messageEvent struct {
		Type      string        `json:"type"`
		Seq       uint64        `json:"seq"`
		Room      string        `json:"room"`
		MessageID string        `json:"message_id"`
		From      client.Member `json:"from"`
		Text      string        `json:"text"`
		TS        string        `json:"ts"`
	}
)

// marshal encodes a server event; the events above always encode.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("baseline: cannot marshal a server event: " + err.Error()) // a programming error: only fixed types come here
	}
	return b
}

// errorFrame encodes the error reply with code.
func errorFrame(id, room, code string) []byte {
	return marshal(errorEvent{Type: client.TypeError, ID: id, Room: room, Code: code, Message: baselineErrors[code]})
}

// handle acts on one client frame; runs on the reader goroutine.
func (c *bConn) handle(ctx context.Context, data []byte) {
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil || f.Type == "" {
		c.enqueue(errorFrame("", "", "bad_frame"))
		return
	}
	if c.auth.Load() != authDone {
		if f.Type != "auth" {
			c.enqueue(errorFrame(f.ID, "", "auth_required"))
			return
		}
		if !c.auth.CompareAndSwap(authPending, authDone) {
			return // too late: closing with auth_timeout
		}
		c.enqueue(marshal(welcomeEvent{Type: client.TypeWelcome, ID: f.ID, Role: client.RoleMember, HeartbeatMS: c.s.cfg.Heartbeat.Milliseconds()}))
		return
	}
	switch f.Type {
	case "auth":
		c.enqueue(errorFrame(f.ID, "", "already_authed"))
	case "ping":
		c.enqueue(marshal(okEvent{Type: client.TypePong, ID: f.ID}))
	case "join":
		c.join(ctx, f)
	case "leave":
		if c.rooms[f.Room] == nil {
			c.enqueue(errorFrame(f.ID, f.Room, "not_joined"))
			return
		}
		c.leave(f.Room)
		c.replyOK(f.ID, f.Room)
	case "send":
		c.send(ctx, f)
	case "start_session", "end_session":
		// The session is always open here; ending it changes nothing.
		if c.rooms[f.Room] == nil {
			c.enqueue(errorFrame(f.ID, f.Room, "not_joined"))
			return
		}
		c.replyOK(f.ID, f.Room)
	default:
		c.enqueue(errorFrame(f.ID, f.Room, "unsupported"))
	}
}

// replyOK queues an ok for request id (none when the frame had no id).
func (c *bConn) replyOK(id, room string) {
	if id != "" {
		c.enqueue(marshal(okEvent{Type: client.TypeOK, ID: id, Room: room}))
	}
}

// validRoomID reports whether id is 1–64 characters from [A-Za-z0-9_-],
// starting with a letter or a digit (as in Hearth).
func validRoomID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		alnum := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9'
		if !alnum && (i == 0 || ch != '-' && ch != '_') {
			return false
		}
	}
	return true
}

// join adds the connection to room f.Room (creating it here if it has no
// local member yet, and, with Redis, subscribing to its channel and
// waiting for Redis to confirm) and answers joined, the session open.
func (c *bConn) join(ctx context.Context, f clientFrame) {
	code := ""
	switch {
	case !validRoomID(f.Room):
		code = "invalid_room"
	case strings.TrimSpace(f.DisplayName) == "":
		code = "name_empty"
	case len(f.DisplayName) > baselineMaxName:
		code = "name_too_long"
	case c.rooms[f.Room] != nil:
		code = "already_joined"
	case len(c.rooms) >= baselineRoomsPerConn:
		code = "too_many_rooms"
	}
	if code != "" {
		c.enqueue(errorFrame(f.ID, f.Room, code))
		return
	}
	r, err := c.s.enter(ctx, f.Room, c)
	if err != nil {
		c.enqueue(errorFrame(f.ID, f.Room, "unavailable"))
		return
	}
	me := client.Member{MemberID: c.id, DisplayName: f.DisplayName, Role: client.RoleMember}
	c.rooms[f.Room] = &bMember{room: r, me: me}
	r.mu.Lock()
	seq := r.seq
	r.mu.Unlock()
	c.enqueue(marshal(joinedEvent{Type: client.TypeJoined, ID: f.ID, Room: f.Room, You: me, Members: []client.Member{me},
		State: client.RoomState{Phase: "open", Mode: client.ModeOpen}, Epoch: c.s.epoch, Seq: seq}))
}

// leave takes the connection out of room id.
func (c *bConn) leave(id string) {
	m := c.rooms[id]
	delete(c.rooms, id)
	c.s.exit(m.room, c)
}

// send checks f, marshals the message event once and passes the same
// bytes to every member of the room: directly here, or through Redis to
// every baseline process with members in it. The sender gets ok.
func (c *bConn) send(ctx context.Context, f clientFrame) {
	m := c.rooms[f.Room]
	code := ""
	switch {
	case m == nil:
		code = "not_joined"
	case strings.TrimSpace(f.Text) == "":
		code = "text_empty"
	case len(f.Text) > baselineMaxText:
		code = "text_too_long"
	}
	if code != "" {
		c.enqueue(errorFrame(f.ID, f.Room, code))
		return
	}
	r, s := m.room, c.s
	ev := messageEvent{Type: client.TypeMessage, Room: r.id, From: m.me, Text: f.Text}
	var seq uint64
	if s.rdb == nil {
		r.mu.Lock() // seq and enqueue in one critical section: every member gets the room's events in seq order
		r.seq++
		seq = r.seq
		ev.Seq, ev.MessageID, ev.TS = seq, s.node+"-"+strconv.FormatUint(seq, 36), nowTS()
		line := marshal(ev)
		for to := range r.members {
			to.enqueue(line)
		}
		r.mu.Unlock()
	} else {
		// The seq is this process's own count for the room: only
		// non-zero, not an order across processes.
		r.mu.Lock()
		r.seq++
		seq = r.seq
		r.mu.Unlock()
		ev.Seq, ev.MessageID, ev.TS = seq, s.node+"-"+strconv.FormatUint(seq, 36), nowTS()
		pctx, cancel := context.WithTimeout(ctx, baselineRedisTimeout)
		err := s.rdb.Publish(pctx, baselineChannelPrefix+r.id, marshal(ev)).Err()
		cancel()
		if err != nil {
			c.enqueue(errorFrame(f.ID, f.Room, "unavailable"))
			return
		}
	}
	s.counts.msgs.Add(1)
	if f.ID != "" {
		c.enqueue(marshal(okEvent{Type: client.TypeOK, ID: f.ID, Room: r.id, MessageID: ev.MessageID, Seq: seq}))
	}
}

// nowTS is the time now as the protocol writes it: RFC 3339 UTC with
// milliseconds.
func nowTS() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// enter adds c to room id, creating the room if it has no local member;
// with Redis, it waits (at most baselineRedisTimeout, or until ctx ends)
// for Redis to confirm the room's subscription, so that nothing published
// after the join is missed.
func (s *baseline) enter(ctx context.Context, id string, c *bConn) (*bRoom, error) {
	s.mu.Lock()
	r := s.rooms[id]
	if r == nil {
		r = &bRoom{id: id, members: map[*bConn]struct{}{}, ready: make(chan struct{})}
		s.rooms[id] = r
		if s.ps == nil {
			close(r.ready)
		} else {
			// Sent under s.mu, so that subscribes and unsubscribes of one
			// channel reach Redis in the order of the rooms' lives, and
			// confirmations match the pending list in order.
			ch := baselineChannelPrefix + id
			s.pending[ch] = append(s.pending[ch], r.ready)
			if err := s.ps.Subscribe(ctx, ch); err != nil {
				s.pending[ch] = s.pending[ch][:len(s.pending[ch])-1]
				delete(s.rooms, id)
				s.mu.Unlock()
				return nil, fmt.Errorf("subscribe: %w", err)
			}
		}
	}
	r.mu.Lock()
	r.members[c] = struct{}{}
	r.mu.Unlock()
	s.mu.Unlock()
	t := time.NewTimer(baselineRedisTimeout)
	defer t.Stop()
	select {
	case <-r.ready:
		return r, nil
	case <-t.C:
	case <-ctx.Done():
	}
	s.exit(r, c)
	return nil, errors.New("redis did not confirm the subscription in time")
}

// exit takes c out of room r; the last local member out removes the room
// (and, with Redis, unsubscribes from its channel).
func (s *baseline) exit(r *bRoom, c *bConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.mu.Lock()
	delete(r.members, c)
	empty := len(r.members) == 0
	r.mu.Unlock()
	if !empty || s.rooms[r.id] != r {
		return
	}
	delete(s.rooms, r.id)
	if s.ps != nil {
		// An error here leaves a subscription whose messages find no room
		// and are dropped; go-redis drops it on its next reconnect.
		_ = s.ps.Unsubscribe(context.Background(), baselineChannelPrefix+r.id)
	}
}

// receive reads the Redis subscription until ctx ends (after closeRedis):
// it marks subscriptions confirmed and passes each message's bytes, as
// they came, to the local members of its room.
func (s *baseline) receive(ctx context.Context) {
	for ctx.Err() == nil {
		msg, err := s.ps.Receive(ctx)
		if err != nil {
			if errors.Is(err, redis.ErrClosed) || ctx.Err() != nil {
				return
			}
			select { // go-redis reconnects and resubscribes on the next Receive
			case <-ctx.Done():
				return
			case <-time.After(baselineRedisRetry):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			s.mu.Lock()
			if q := s.pending[m.Channel]; len(q) > 0 {
				close(q[0])
				if len(q) == 1 {
					delete(s.pending, m.Channel)
				} else {
					s.pending[m.Channel] = q[1:]
				}
			}
			s.mu.Unlock()
		case *redis.Message:
			id, ok := strings.CutPrefix(m.Channel, baselineChannelPrefix)
			if !ok {
				continue
			}
			s.mu.Lock()
			r := s.rooms[id]
			s.mu.Unlock()
			if r == nil {
				continue
			}
			line := []byte(m.Payload) // one copy, shared by every local member
			r.mu.Lock()
			for to := range r.members {
				to.enqueue(line)
			}
			r.mu.Unlock()
		}
	}
}

// redactURL returns raw with any password replaced by "xxxxx", or a
// placeholder when raw does not parse as a URL (it may still hold one).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
