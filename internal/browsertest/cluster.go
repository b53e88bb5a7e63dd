package browsertest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"hearth/internal/auth"
	"hearth/internal/node"
	"hearth/internal/redistest"
	"hearth/internal/room"
	"hearth/static"
)

// secret is the HS256 key every node of a Cluster shares.
var secret = []byte("browsertest-secret-0123456789-abcdefghijklmnop")

// Cluster is a set of real Hearth nodes serving the real web client
// (static.FS) over one private redis-server, as in production with several
// replicas behind a load balancer.
type Cluster struct {
	Redis *redistest.Server
	Nodes []*Node
}

// Node is one running node: its HTTP base URL (the page and /ws), its room
// service (to set rooms up) and its hub.
type Node struct {
	HTTP string // http://127.0.0.1:port
	Node *node.Node
	stop func()
	once sync.Once
}

// StartCluster starts a private redis-server (skipping or failing the test
// as internal/redistest does when there is none) and n nodes over it. Each
// stops when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	rs := redistest.Start(t)
	c := &Cluster{Redis: rs}
	for i := range n {
		c.Nodes = append(c.Nodes, startNode(t, rs.URL(), i))
	}
	return c
}

func startNode(t testing.TB, redisURL string, index int) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	nd, err := node.New(ctx, node.Config{
		RedisURL: redisURL, DataDir: t.TempDir(), Auth: auth.Config{Secret: secret},
		Static: static.FS, Logger: slog.New(slog.DiscardHandler),
	})
	cancel()
	if err != nil {
		t.Fatalf("start node %d: %v", index, err)
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = nd.Hub.Run(runCtx); close(done) }()
	srv := httptest.NewServer(nd.Handler)
	n := &Node{HTTP: srv.URL, Node: nd}
	n.stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = nd.Hub.Shutdown(ctx)
		srv.Close()
		stopRun()
		<-done
		_ = nd.Close()
	}
	t.Cleanup(n.Stop)
	return n
}

// Stop shuts the node down gracefully (its WebSockets close with 1012).
// Stopping twice does nothing.
func (n *Node) Stop() { n.once.Do(n.stop) }

// Addr is the node's host:port.
func (n *Node) Addr() string { u, _ := url.Parse(n.HTTP); return u.Host }

// OpenRoom makes room id exist with facilitator (a user id) as its lead
// facilitator and members (user ids) on its roster, with an open session
// and no waiting room. The room lives in Redis, so every node serves it.
func (c *Cluster) OpenRoom(t testing.TB, id, facilitator string, members ...string) {
	t.Helper()
	nd := c.Nodes[0].Node
	r, err := nd.Rooms.Ensure(context.Background(), id, facilitator, members, room.CreateParams{Name: "Test group " + id, Kind: room.KindSupport})
	if err != nil {
		t.Fatalf("open room %s: %v", id, err)
	}
	nd.Hub.SessionStarted(context.Background(), r)
}

// Token mints a sign-in token for user sub with role ("member" or
// "facilitator"), valid for an hour.
func Token(t testing.TB, sub, role string) string {
	t.Helper()
	tok, err := auth.Mint(auth.Config{Secret: secret}, sub, role, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Link is the sign-in link a facilitator would send: the page at base
// (a node's or a proxy's HTTP URL, the origin the page then connects its
// WebSocket to) with the token and room in the fragment.
func Link(base, token, roomID string) string {
	return base + "/#token=" + url.QueryEscape(token) + "&room=" + url.QueryEscape(roomID)
}

// Proxy is a TCP proxy in front of a node, so that a test can cut a
// browser's connections from the server's side of the network (the page,
// loaded through the proxy, reconnects to the proxy: its own origin).
type Proxy struct {
	HTTP   string // http://127.0.0.1:port, the origin to load the page from
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	paused bool
	held   []net.Conn
	closed bool
	wg     sync.WaitGroup
}

// StartProxy listens on a free loopback port and forwards every connection
// to target (host:port). It stops when the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{HTTP: "http://" + ln.Addr().String(), ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		switch {
		case p.closed:
			_ = c.Close()
		case p.paused:
			p.held = append(p.held, c) // forwarded on Resume
		default:
			p.wg.Add(1)
			go p.serve(c)
		}
		p.mu.Unlock()
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	backend, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = client.Close()
		_ = backend.Close()
		return
	}
	p.conns[client], p.conns[backend] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			_ = client.Close()
			_ = backend.Close()
			p.mu.Lock()
			delete(p.conns, client)
			delete(p.conns, backend)
			p.mu.Unlock()
		})
	}
	done := make(chan struct{})
	go func() { _, _ = io.Copy(backend, client); closeBoth(); close(done) }()
	_, _ = io.Copy(client, backend)
	closeBoth()
	<-done
}

// Cut closes every connection through the proxy at once, both ways: to the
// browser it looks like the server dropped the connection (close 1006).
func (p *Proxy) Cut() {
	p.mu.Lock()
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Pause holds new connections (accepted, not forwarded) until Resume: the
// page's reconnect attempts wait, as over a network that is down.
func (p *Proxy) Pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

// Resume forwards the held connections and every new one.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = false
	for _, c := range p.held {
		p.wg.Add(1)
		go p.serve(c)
	}
	p.held = nil
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	held := p.held
	p.held = nil
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range held {
		_ = c.Close()
	}
	p.Cut()
	p.wg.Wait()
}
