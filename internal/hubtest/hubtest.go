// Package hubtest runs real Hearth nodes inside tests — hub, broker and HTTP
// handler on a loopback httptest server — and drives them with raw
// WebSocket peers that see exactly the frames a client would. It is used by
// tests only.
package hubtest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"hearth/internal/auth"
	"hearth/internal/hub"
	"hearth/internal/node"
	"hearth/internal/protocol"
	"hearth/internal/room"
)

// Secret is the HS256 key every test node shares.
var Secret = []byte("hubtest-secret-0123456789-abcdefghijklmnop")

// Token mints a valid token for sub with role, for an hour.
func Token(t testing.TB, sub, role string) string {
	t.Helper()
	tok, err := auth.Mint(auth.Config{Secret: Secret}, sub, role, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Options tune a test node.
type Options struct {
	RedisURL string // empty: in-memory broker
	// RedisCluster says RedisURL names a Redis Cluster's seed nodes
	// (redistest.Cluster.URL); StoreURL must then name a single Redis.
	RedisCluster bool
	// StoreURL is the durable store's Redis in distributed mode; empty:
	// the same Redis as RedisURL. A test that restarts the broker's Redis
	// without persistence keeps the rooms in a store of their own.
	StoreURL    string
	SendQueue   int           // hub send queue; 0 for the default
	AuthTimeout time.Duration // 0 for the default
	Heartbeat   time.Duration // 0 for the default
	PingTimeout time.Duration // 0 for the default
	// WriteTimeout bounds every socket write of the hub; 0 for the default.
	WriteTimeout time.Duration
	DataDir      string // embedded store directory; a fresh temp dir when empty
	Unlimited    bool   // no per-connection rate limits (for tests that send fast on purpose)
	// NoRun leaves the hub's Run (heartbeat, write watchdog) unstarted:
	// for tests of what Shutdown does on its own.
	NoRun  bool
	Crisis hub.Crisis // replaces the crisis detector (to inject failures); nil: the real one
	// EscalateAfter shortens alert escalation; WebhookURL/WebhookSecret
	// send escalations to a test receiver.
	EscalateAfter time.Duration
	WebhookURL    string
	WebhookSecret []byte
	Logger        *slog.Logger
	SessionMax    time.Duration // the longest session (and buffer life); 0 for the default
	// Hub is the hub's configuration to start from (rates, the connection
	// cap, …); the fields above, when set, take precedence.
	Hub hub.Config
	// OIDCIssuer, OIDCClientID and OIDCClientSecret turn on the web
	// client's sign-in (see node.Config), with the node's own address as
	// its public URL; SignInTicketTTL shortens the tickets' life.
	OIDCIssuer, OIDCClientID, OIDCClientSecret string
	SignInTicketTTL                            time.Duration
}

// Node is one running Hearth node.
type Node struct {
	URL    string // ws://127.0.0.1:port/ws
	HTTP   string // http://127.0.0.1:port
	Hub    *hub.Hub
	Rooms  *room.Service
	cancel context.CancelFunc
	done   chan struct{}
	srv    *httptest.Server
	close  func() error
}

// StartNode starts a node and stops it when the test ends.
func StartNode(t testing.TB, o Options) *Node {
	t.Helper()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := o.DataDir
	if dir == "" {
		dir = t.TempDir()
	}
	hc := o.Hub
	hc.SendQueue = cmp.Or(o.SendQueue, hc.SendQueue)
	hc.AuthTimeout = cmp.Or(o.AuthTimeout, hc.AuthTimeout)
	hc.Heartbeat = cmp.Or(o.Heartbeat, hc.Heartbeat)
	hc.PingTimeout = cmp.Or(o.PingTimeout, hc.PingTimeout)
	hc.WriteTimeout = cmp.Or(o.WriteTimeout, hc.WriteTimeout)
	if o.Unlimited {
		hc.SendRate, hc.FrameRate = rate.Inf, rate.Inf
	}
	// The server's address is known before the node is built: sign-in
	// needs it (the callback URL).
	srv := httptest.NewUnstartedServer(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	nd, err := node.New(ctx, node.Config{
		RedisURL: o.RedisURL, RedisCluster: o.RedisCluster, StoreURL: o.StoreURL, DataDir: dir, Auth: auth.Config{Secret: Secret}, Logger: log, Hub: hc,
		Crisis: o.Crisis, EscalateAfter: o.EscalateAfter, WebhookURL: o.WebhookURL, WebhookSecret: o.WebhookSecret, SessionMax: o.SessionMax,
		Static:     fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>Hearth</title>")}},
		OIDCIssuer: o.OIDCIssuer, OIDCClientID: o.OIDCClientID, OIDCClientSecret: o.OIDCClientSecret,
		PublicURL: "http://" + srv.Listener.Addr().String(), SignInTicketTTL: o.SignInTicketTTL,
	})
	cancel()
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	n := &Node{Hub: nd.Hub, Rooms: nd.Rooms, cancel: stop, done: make(chan struct{}), close: nd.Close}
	if o.NoRun {
		close(n.done)
	} else {
		go func() { _ = nd.Hub.Run(runCtx); close(n.done) }()
	}
	srv.Config.Handler = nd.Handler
	srv.Start()
	n.srv = srv
	n.HTTP = n.srv.URL
	n.URL = "ws" + strings.TrimPrefix(n.srv.URL, "http") + "/ws"
	t.Cleanup(n.Stop)
	return n
}

// Stop shuts the node down gracefully (clients see 1012). Stopping twice
// does nothing.
func (n *Node) Stop() {
	if n.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = n.Hub.Shutdown(ctx)
	n.srv.Close()
	n.cancel()
	<-n.done
	_ = n.close()
	n.srv = nil
}

// OpenRoom makes room id exist (if it does not) with facilitator as its
// lead facilitator and members on its roster, an open session and no
// waiting room — the state a test usually wants to chat in.
func (n *Node) OpenRoom(t testing.TB, id, facilitator string, members ...string) room.Room {
	t.Helper()
	r, err := n.Rooms.Ensure(context.Background(), id, facilitator, members, room.CreateParams{Name: "Test group " + id, Kind: room.KindSupport})
	if err != nil {
		t.Fatalf("open room %s: %v", id, err)
	}
	n.Hub.SessionStarted(context.Background(), r)
	return r
}

// Event is one decoded server event.
type Event map[string]any

// Str returns field k as a string ("" when absent).
func (e Event) Str(k string) string { s, _ := e[k].(string); return s }

// Num returns field k as a number (0 when absent).
func (e Event) Num(k string) float64 { f, _ := e[k].(float64); return f }

// Peer is a raw WebSocket client: it sends exactly the bytes it is given and
// records every event the server sends, one per line of each frame.
type Peer struct {
	t       testing.TB
	WS      *websocket.Conn
	events  chan Event
	backlog []Event // events read by Request while waiting for its reply
	done    chan struct{}
	err     error
}

// DialRaw opens a WebSocket to url offering the hearth.v1 subprotocol,
// with extra headers, without authenticating. The peer's reader runs until
// the connection ends; the peer is closed when the test ends.
func DialRaw(t testing.TB, url string, header http.Header) *Peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{protocol.Subprotocol}, HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	ws.SetReadLimit(1 << 24)
	p := &Peer{t: t, WS: ws, events: make(chan Event, 20000), done: make(chan struct{})}
	go p.read()
	t.Cleanup(func() { _ = ws.CloseNow(); <-p.done })
	return p
}

// Dial opens a WebSocket and authenticates with token, failing the test
// unless the server answers welcome.
func Dial(t testing.TB, url, token string) *Peer {
	t.Helper()
	p := DialRaw(t, url, nil)
	if e := p.Request(Event{"type": "auth", "token": token}); e.Str("type") != "welcome" {
		t.Fatalf("auth: got %v, want welcome", e)
	}
	return p
}

// DialPaused is Dial for a peer that reads nothing until Resume: its
// events pile up in the server's queue and the kernel's buffers.
func DialPaused(t testing.TB, url, token string) (*Peer, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{protocol.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 24)
	p := &Peer{t: t, WS: ws, events: make(chan Event, 200000), done: make(chan struct{})}
	p.write(Event{"type": "auth", "token": token, "id": "auth"})
	var once sync.Once
	resume := func() { once.Do(func() { go p.read() }) }
	t.Cleanup(func() {
		_ = ws.CloseNow()
		resume() // the reader sees the closed socket and ends
		<-p.done
	})
	return p, resume
}

func (p *Peer) read() {
	defer close(p.done)
	for {
		_, data, err := p.WS.Read(context.Background())
		if err != nil {
			p.err = err
			return
		}
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			var e Event
			if err := json.Unmarshal(line, &e); err != nil {
				p.t.Errorf("server sent a line that is not JSON: %q", line)
				continue
			}
			p.events <- e
		}
	}
}

func (p *Peer) write(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		p.t.Fatal(err)
	}
	p.WriteRaw(b)
}

// WriteRaw sends data as one text frame.
func (p *Peer) WriteRaw(data []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WS.Write(ctx, websocket.MessageText, data); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// Send sends a frame without waiting for anything.
func (p *Peer) Send(e Event) { p.write(e) }

var reqSeq atomic.Int64

// Request sends e with a fresh id and returns the reply carrying that id;
// other events that arrive meanwhile are kept, in order, for Next.
func (p *Peer) Request(e Event) Event {
	p.t.Helper()
	id := "r" + strconv.FormatInt(reqSeq.Add(1), 10)
	e["id"] = id
	p.write(e)
	var kept []Event
	defer func() { p.backlog = append(p.backlog, kept...) }()
	for {
		ev := p.receive()
		if ev.Str("id") == id {
			return ev
		}
		kept = append(kept, ev)
	}
}

// Next returns the next event, failing the test after a generous deadline.
func (p *Peer) Next() Event {
	p.t.Helper()
	if len(p.backlog) > 0 {
		e := p.backlog[0]
		p.backlog = p.backlog[1:]
		return e
	}
	return p.receive()
}

func (p *Peer) receive() Event {
	p.t.Helper()
	select {
	case e := <-p.events:
		return e
	case <-time.After(10 * time.Second):
		p.t.Fatalf("no event within 10s (connection error: %v)", p.err)
		return nil
	}
}

// Until returns the first event for which match is true, discarding the
// ones before it.
func (p *Peer) Until(match func(Event) bool) Event {
	p.t.Helper()
	for {
		if e := p.Next(); match(e) {
			return e
		}
	}
}

// UntilType returns the next event of type typ.
func (p *Peer) UntilType(typ string) Event {
	p.t.Helper()
	return p.Until(func(e Event) bool { return e.Str("type") == typ })
}

// Quiet reports whether no event arrives within d (used only to check that
// something did NOT happen, never as a speed assertion).
func (p *Peer) Quiet(d time.Duration) (Event, bool) {
	if len(p.backlog) > 0 {
		return p.Next(), false
	}
	select {
	case e := <-p.events:
		return e, false
	case <-time.After(d):
		return nil, true
	}
}

// Join joins room with name, accepting the group agreement when asked (as
// a member does after reading it), and returns the joined reply.
func (p *Peer) Join(room, name string) Event {
	p.t.Helper()
	e := p.JoinFrame(Event{"type": "join", "room": room, "display_name": name})
	if e.Str("type") != "joined" {
		p.t.Fatalf("join %s: got %v", room, e)
	}
	return e
}

// JoinFrame sends the join frame e and, if the reply asks for the group
// agreement, sends it again accepting the version asked for. It returns the
// last reply, whatever it is (joined, waiting, an error).
func (p *Peer) JoinFrame(e Event) Event {
	p.t.Helper()
	r := p.Request(e)
	if r.Str("code") == "agreement_required" {
		g, _ := r["guidelines"].(map[string]any)
		e["agree"] = g["version"]
		r = p.Request(e)
	}
	return r
}

// Poll returns the next event if one arrives within d. It returns false
// when none does, or when the connection has ended and every event it
// delivered has been returned — it never fails the test, for tests that
// expect the connection to be closed under them.
func (p *Peer) Poll(d time.Duration) (Event, bool) {
	if len(p.backlog) > 0 {
		e := p.backlog[0]
		p.backlog = p.backlog[1:]
		return e, true
	}
	select {
	case e := <-p.events:
		return e, true
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case e := <-p.events:
		return e, true
	case <-p.done:
		select { // the reader queues every event before it ends
		case e := <-p.events:
			return e, true
		default:
			return nil, false
		}
	case <-t.C:
		return nil, false
	}
}

// TryRequest is Request for a connection that may end under it: it sends e
// with a fresh id and returns the reply, keeping other events for Next and
// Poll; it returns false, without failing the test, when the frame cannot
// be written or the connection ends (or d passes) before the reply.
func (p *Peer) TryRequest(e Event, d time.Duration) (Event, bool) {
	id := "r" + strconv.FormatInt(reqSeq.Add(1), 10)
	e["id"] = id
	b, err := json.Marshal(e)
	if err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := p.WS.Write(ctx, websocket.MessageText, b); err != nil {
		return nil, false
	}
	var kept []Event
	defer func() { p.backlog = append(p.backlog, kept...) }()
	for {
		select {
		case ev := <-p.events:
			if ev.Str("id") == id {
				return ev, true
			}
			kept = append(kept, ev)
		case <-p.done:
			for {
				select {
				case ev := <-p.events:
					if ev.Str("id") == id {
						return ev, true
					}
					kept = append(kept, ev)
				default:
					return nil, false
				}
			}
		case <-ctx.Done():
			return nil, false
		}
	}
}

// Done is closed when the connection has ended (its events may still be
// waiting for Next or Poll).
func (p *Peer) Done() <-chan struct{} { return p.done }

// CloseStatus is the connection's close status once Done is closed (-1
// when it ended without a close frame).
func (p *Peer) CloseStatus() websocket.StatusCode {
	<-p.done
	return websocket.CloseStatus(p.err)
}

// Closed waits for the connection to end and returns its close status
// (-1 when it ended without a close frame).
func (p *Peer) Closed() websocket.StatusCode {
	p.t.Helper()
	select {
	case <-p.done:
		return websocket.CloseStatus(p.err)
	case <-time.After(20 * time.Second):
		p.t.Fatal("connection still open after 20s")
		return 0
	}
}
