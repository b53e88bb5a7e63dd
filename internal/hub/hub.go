// Package hub serves WebSocket connections on one node: it authenticates
// them, runs their reader and writer goroutines, keeps which local
// connection is in which room, and fans room events out from the broker to
// local sockets. Everything shared between nodes (seq, presence, delivery to
// other nodes) goes through the Broker.
//
// Concurrency (see docs/architecture.md): each connection has one reader
// goroutine (which handles its commands in order) and one writer goroutine
// (the only one that writes to the socket), both owned by Serve and stopped
// when the connection ends. The hub's own goroutine is the heartbeat ticker
// run by Run. Lock order: localRoom.subMu → Hub.roomsMu; localRoom.mu and
// Hub.connsMu are leaves.
package hub

import (
	"cmp"
	"context"
	"crypto/rand"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"hearth/internal/auth"
	"hearth/internal/protocol"
	"hearth/internal/room"
)

// Broker is what the hub needs from the cross-node layer. Implementations
// (internal/broker) document their delivery guarantee; the hub relies on
// this: after Subscribe(room) returns nil, every event published to room is
// handed to Hub.Deliver once, in seq order, until Unsubscribe(room) — or
// Deliver(room, nil) first tells that delivery was interrupted (see
// broker.DeliverFunc).
type Broker interface {
	// Subscribe starts delivery of room's events to this node, returning
	// once the subscription is confirmed.
	Subscribe(ctx context.Context, room string) error
	// Unsubscribe stops delivery of room's events to this node.
	Unsubscribe(ctx context.Context, room string) error
	// Publish assigns room's next seq to event (a JSON object without seq)
	// and delivers it to every subscribed node; it returns the seq.
	Publish(ctx context.Context, room string, event []byte) (uint64, error)
	// Enter records connection connID of member in room; if it is the
	// member's first connection there, joinedEvent is published. It returns
	// the member's presence in effect (the first connection's display name).
	Enter(ctx context.Context, room, connID string, member protocol.Member, joinedEvent []byte) (protocol.Member, uint64, error)
	// Exit removes connection connID of memberID from room; if it was the
	// member's last connection, leftEvent is published.
	Exit(ctx context.Context, room, connID, memberID string, leftEvent []byte) (uint64, error)
	// Members lists the members present in room.
	Members(ctx context.Context, room string) ([]protocol.Member, error)
	// PublishControl delivers msg to every subscribed node, in order with
	// room's events but without a seq; clients never see it.
	PublishControl(ctx context.Context, room string, msg []byte) error
	// PublishLimited is Publish unless key was used within every, in which
	// case nothing is published and the time left is returned.
	PublishLimited(ctx context.Context, room string, event []byte, key string, every time.Duration) (uint64, time.Duration, error)
	// Schedule hands payload to one node's timer handler at due, once.
	Schedule(ctx context.Context, due time.Time, id string, payload []byte) error
	// Update changes room's shared value under key atomically across nodes.
	// fn gets the current value (old: nil when absent or expired) and
	// returns the new value (nil or empty deletes the key), an event to
	// publish with it (a JSON object without seq, or nil for none) and an
	// error; an error aborts — nothing stored, nothing published — and is
	// returned unchanged. If val equals old (nil and empty are equal) and
	// there is no event, nothing is written: (old, 0, nil), a plain read. A
	// changed val is stored with expiry ttl (none when ttl <= 0) atomically
	// with publishing the event with room's next seq, exactly like Publish
	// (delivered in seq order with the room's other events); an unchanged
	// val with an event publishes it only while the value is still old. fn
	// may be called more than once (the value changed meanwhile) and must
	// have no side effects. It returns the value now stored and the event's
	// seq (0 when none).
	Update(ctx context.Context, room, key string, ttl time.Duration, fn func(old []byte) (val, event []byte, err error)) (cur []byte, seq uint64, err error)

	// Epoch returns the epoch of room's seq counter (an opaque non-empty
	// id, different for every counter ever created: a counter lost and
	// started again, as when Redis restarts without persistence, gets a new
	// one) and the last seq assigned (0 before any event). A seq means
	// something only with its epoch. If the room has no counter it is
	// created, at 0, so the epoch given out stays valid for the next event.
	Epoch(ctx context.Context, room string) (epoch string, seq uint64, err error)
	// OpenBuffer turns room's session buffer on, empty, for at most maxAge
	// (> 0; the session maximum): until CloseBuffer or maxAge, every event
	// that takes a seq (not control messages) is also kept, exactly as
	// delivered, in seq order — the most recent broker.DefaultBufferSize
	// (configurable) of them. Calling it again empties the buffer and
	// restarts maxAge: call it once, when a session starts.
	OpenBuffer(ctx context.Context, room string, maxAge time.Duration) error
	// EnsureBuffer turns room's session buffer on, empty, for at most maxAge
	// (> 0) if it is off, and does nothing if it is on: it never deletes
	// buffered events nor restarts a running buffer's maxAge. From its
	// return every event that takes a seq is buffered as OpenBuffer says.
	// Call it to rebuild buffering lost with the broker's state (a Redis
	// restart without persistence) while a session is open, with maxAge
	// what is left of the session maximum.
	EnsureBuffer(ctx context.Context, room string, maxAge time.Duration) error
	// CloseBuffer turns room's session buffer off and deletes it in one
	// atomic step: nothing of it remains, and later events are not
	// buffered. Call it when the session ends.
	CloseBuffer(ctx context.Context, room string) error
	// Replay returns the buffered events of room with seq > after, in seq
	// order, byte-identical to the live frames (seq inserted; forgotten
	// messages as their stand-ins), for a reconnecting member whose last
	// event was seq after of epoch. gap is true when events after `after`
	// are missing from the answer: epoch is empty or not the current one,
	// or after is beyond the current seq (then events is nil — never an
	// empty "all recovered" after the counter was lost), or the buffer does
	// not hold everything from after+1 to the current seq (off, expired,
	// evicted — then events are whatever it holds after `after`, possibly
	// none). after equal to the current seq of the current epoch gives nil,
	// false.
	Replay(ctx context.Context, room, epoch string, after uint64) (events [][]byte, gap bool, err error)
	// Forget replaces the buffered `message` event with messageID by a
	// message_deleted stand-in with the same seq, so no replay carries its
	// text. A message not in the buffer is not an error.
	Forget(ctx context.Context, room, messageID string) error
}

// Authenticator verifies what an auth or refresh frame carries: a bearer
// token, or a one-time sign-in ticket (internal/signin's Tokens), which
// takes a lookup bounded by ctx.
type Authenticator interface {
	// Verify returns the identity token stands for, or an error wrapping a
	// *protocol.Error (invalid_token, token_expired; unavailable when a
	// ticket cannot be looked up).
	Verify(ctx context.Context, token string) (auth.Identity, error)
}

// Defaults for Config's zero fields.
const (
	DefaultSendQueue    = 256              // events queued per connection before it counts as a slow consumer
	DefaultHeartbeat    = 25 * time.Second // WebSocket ping interval, one shared ticker for all connections
	DefaultPingTimeout  = 15 * time.Second // a pong must arrive within this, or the connection is closed
	DefaultWriteTimeout = 10 * time.Second // deadline of every socket write (enforced by Run's write watchdog, within 1.5×)
	maxBatchBytes       = 64 << 10         // events batched into one frame up to about this size
	leaveTimeout        = 5 * time.Second  // bound on the broker calls made when a connection ends
	taskTimeout         = 10 * time.Second // bound on a control task (admit, remove, a timer)
	// DefaultSessionMax is HEARTH_SESSION_MAX's default: 4 hours, twice the
	// longest usual group session (1–2 hours), room for overruns.
	DefaultSessionMax = 4 * time.Hour
)

// Config configures a Hub. Broker, Auth, MemberIDs and Rooms are required.
type Config struct {
	Broker    Broker
	Auth      Authenticator
	MemberIDs auth.MemberIDs
	Rooms     *room.Service
	Logger    *slog.Logger

	SendQueue    int           // DefaultSendQueue when 0
	Heartbeat    time.Duration // DefaultHeartbeat when 0
	PingTimeout  time.Duration // DefaultPingTimeout when 0
	WriteTimeout time.Duration // DefaultWriteTimeout when 0; a write is cut after 1 to 1.5 times it
	AuthTimeout  time.Duration // protocol.AuthTimeout when 0

	// Crisis checks members' messages; nil turns the crisis path off.
	Crisis Crisis
	// AlertSink hears of escalated alerts (a webhook); may be nil.
	AlertSink AlertSink
	// EscalateAfter is how long an alert may stay unacknowledged before it
	// is escalated; DefaultEscalateAfter when 0.
	EscalateAfter time.Duration

	// SessionMax is the longest a session may run before it ends by itself;
	// DefaultSessionMax when 0.
	SessionMax time.Duration

	// Rate limits per user, over all of the user's connections (events per
	// second and burst); the protocol's SendRate/SendBurst and
	// FrameRate/FrameBurst when 0; rate.Inf turns one off.
	SendRate, FrameRate   rate.Limit
	SendBurst, FrameBurst int

	// Limiter shares the rate limits among a user's connections and
	// counts them against MaxConnsPerUser (internal/limit: in memory for
	// one node, in Redis across nodes). Nil: each connection has rate
	// limits of its own and a user may open any number of connections.
	Limiter Limiter
	// MaxConnsPerUser is how many connections one user may have open at
	// once; protocol.MaxConnsPerUser when 0.
	MaxConnsPerUser int

	// Observer hears of frames and fan-out, for metrics; nil hears nothing.
	Observer Observer
}

// Observer hears of what the hub does, for metrics (internal/metrics
// implements it; the hub does not know Prometheus). It is called on the
// connections' and the broker's goroutines, so it must be safe for
// concurrent use, cheap and non-blocking. It is never given a room id, a
// name or any text.
type Observer interface {
	// FrameIn is one text frame read from a client, with its type as the
	// client sent it (possibly empty or unknown: the implementation maps it
	// to a bounded set).
	FrameIn(typ string)
	// FrameOut is one WebSocket frame written to a client, carrying events
	// events (replies and room events batched together; at least 1).
	FrameOut(events int)
	// FanOut is one chat message done with on every local connection it
	// was queued to — written to the last of their sockets, or given up on
	// when that connection ended first — d after the send was accepted
	// (the event's ts, so across nodes it includes the clocks'
	// difference). A message queued to no local connection is not
	// observed.
	FanOut(d time.Duration)
	// Dropped is n events that never reached a connection's socket, for
	// reason (one of DropReasons).
	Dropped(reason string, n int)
}

// Reasons an event never reaches a connection's socket (Observer.Dropped).
const (
	// DropQueueFull: the connection's send queue was full; the connection
	// is closed as a slow consumer (1013).
	DropQueueFull = "queue_full"
	// DropClosing: the connection was already being closed (or had ended)
	// when the event was offered.
	DropClosing = "closing"
	// DropUnsent: the event was queued, but the connection ended (or its
	// write failed) before it was written.
	DropUnsent = "unsent"
)

// DropReasons lists every reason Observer.Dropped is given.
var DropReasons = []string{DropQueueFull, DropClosing, DropUnsent}

type noObserver struct{}

func (noObserver) FrameIn(string)       {}
func (noObserver) FrameOut(int)         {}
func (noObserver) FanOut(time.Duration) {}
func (noObserver) Dropped(string, int)  {}

// Stats are the hub's counters, read with Hub.Stats.
type Stats struct {
	Connections   int64  // connections open now
	SlowConsumers uint64 // connections closed with 1013 because their queue overflowed
	Rooms         int    // rooms (and personal channels) with at least one local connection
	SessionsOpen  int    // of those rooms, the ones whose session is open or closing, as this node last heard
	CrisisMatches uint64 // members' messages that matched the crisis detector, or asked for support
}

// Hub is one node's connection registry and fan-out. Create it with New,
// run its heartbeat with Run, pass Deliver to the broker, hand each upgraded
// WebSocket to Serve, and call Shutdown to close everything.
type Hub struct {
	cfg Config
	log *slog.Logger

	connsMu sync.Mutex
	conns   map[*conn]struct{}
	closing bool
	serving sync.WaitGroup
	tasks   taskGroup // control tasks (see spawn)
	epoch   time.Time // when the hub was made: the write watchdog's clock (see clock)

	roomsMu sync.RWMutex
	rooms   map[string]*localRoom

	beat atomic.Pointer[chan struct{}] // closed and replaced at every heartbeat tick

	connections   atomic.Int64
	slowConsumers atomic.Uint64
	crisisMatches atomic.Uint64 // a count, nothing more

	cards cards // crisis cards shown lately
}

// New returns a Hub for cfg, filling defaults.
func New(cfg Config) *Hub {
	cfg.SendQueue = cmp.Or(cfg.SendQueue, DefaultSendQueue)
	cfg.Heartbeat = cmp.Or(cfg.Heartbeat, DefaultHeartbeat)
	cfg.PingTimeout = cmp.Or(cfg.PingTimeout, DefaultPingTimeout)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout)
	cfg.AuthTimeout = cmp.Or(cfg.AuthTimeout, protocol.AuthTimeout)
	cfg.EscalateAfter = cmp.Or(cfg.EscalateAfter, DefaultEscalateAfter)
	cfg.SessionMax = cmp.Or(cfg.SessionMax, DefaultSessionMax)
	cfg.SendRate = cmp.Or(cfg.SendRate, protocol.SendRate)
	cfg.SendBurst = cmp.Or(cfg.SendBurst, protocol.SendBurst)
	cfg.FrameRate = cmp.Or(cfg.FrameRate, protocol.FrameRate)
	cfg.FrameBurst = cmp.Or(cfg.FrameBurst, protocol.FrameBurst)
	cfg.MaxConnsPerUser = cmp.Or(cfg.MaxConnsPerUser, protocol.MaxConnsPerUser)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	h := &Hub{cfg: cfg, log: cfg.Logger, conns: make(map[*conn]struct{}), rooms: make(map[string]*localRoom), epoch: time.Now()}
	beat := make(chan struct{})
	h.beat.Store(&beat)
	return h
}

// Run drives the heartbeat: every Heartbeat it wakes every connection's
// writer to ping its peer, then tells the Limiter that this node's
// connections are alive (so a node that dies stops holding its users'
// places); every WriteTimeout/2 it runs the write watchdog
// (cutStuckWriters). Two tickers for the whole node, not a timer per
// connection or per write. A hub must be Run while it serves. It returns
// when ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	t := time.NewTicker(h.cfg.Heartbeat)
	defer t.Stop()
	w := time.NewTicker(h.watchdogEvery())
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			next := make(chan struct{})
			close(*h.beat.Swap(&next))
			h.refreshSlots(ctx)
		case <-w.C:
			h.cutStuckWriters()
		}
	}
}

// watchdogEvery is how often the write watchdog looks: WriteTimeout/2, at
// least a millisecond.
func (h *Hub) watchdogEvery() time.Duration { return max(h.cfg.WriteTimeout/2, time.Millisecond) }

// clock is the monotonic time since the hub was made, in nanoseconds (at
// least 1, so that 0 can mean "not writing"): a step of the wall clock
// neither cuts a healthy write nor spares a stuck one.
func (h *Hub) clock() int64 { return max(int64(time.Since(h.epoch)), 1) }

// cutStuckWriters is the write watchdog, run by Run (and during Shutdown)
// every watchdogEvery:
// it closes, without a handshake, every connection whose socket write
// began more than WriteTimeout before now (a peer that stopped reading
// with the socket's buffers full), so a write is bounded by between one
// and one and a half WriteTimeouts. One check for the whole node instead of
// a deadline armed per write; it reads one atomic per connection.
func (h *Hub) cutStuckWriters() {
	limit := h.clock() - int64(h.cfg.WriteTimeout)
	var stuck []*conn
	h.connsMu.Lock()
	for c := range h.conns {
		if w := c.writing.Load(); w != 0 && w < limit {
			stuck = append(stuck, c)
		}
	}
	h.connsMu.Unlock()
	for _, c := range stuck {
		c.log.Info("write deadline passed; connection cut")
		_ = c.ws.CloseNow()
	}
}

// Stats returns the hub's counters now. It looks at every local room
// (under the rooms' read lock), so call it at most a few times a scrape.
func (h *Hub) Stats() Stats {
	h.roomsMu.RLock()
	rooms, sessions := len(h.rooms), 0
	for _, lr := range h.rooms {
		if st := lr.state.Load(); st != nil && (st.Phase == room.PhaseOpen || st.Phase == room.PhaseClosing) {
			sessions++
		}
	}
	h.roomsMu.RUnlock()
	return Stats{Connections: h.connections.Load(), SlowConsumers: h.slowConsumers.Load(), Rooms: rooms,
		SessionsOpen: sessions, CrisisMatches: h.crisisMatches.Load()}
}

// Deliver hands one room event from the broker to every local connection in
// the room: the same bytes are queued to each, without blocking. It is the
// broker's DeliverFunc.
func (h *Hub) Deliver(room string, frame []byte) {
	h.roomsMu.RLock()
	lr := h.rooms[room]
	h.roomsMu.RUnlock()
	if lr == nil {
		return
	}
	if frame == nil { // delivery was interrupted: see localRoom.interrupted
		lr.deliver(nil, nil)
		return
	}
	if isControl(frame) {
		h.onControl(lr, frame)
		return
	}
	lr.deliver(frame, h.cfg.Observer)
	h.observeShare(lr, frame)
}

// Shutdown closes every connection with 1012 (service restart, so clients
// reconnect, to another node if there is one) and refuses new ones. It
// returns when every Serve call has returned, or when ctx ends, in which
// case the remaining sockets are closed without a handshake. net/http's
// Server.Shutdown does not close hijacked connections; this does.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.connsMu.Lock()
	h.closing = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.connsMu.Unlock()
	for _, c := range conns {
		c.close(protocol.CloseServiceRestart, false)
	}
	done := make(chan struct{})
	go func() { h.serving.Wait(); h.tasks.wait(); close(done) }()
	// Run has usually stopped by now: the write watchdog goes on here, so
	// a peer that stopped reading cannot hold its writer (and Shutdown)
	// past WriteTimeout.
	w := time.NewTicker(h.watchdogEvery())
	defer w.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-w.C:
			h.cutStuckWriters()
		case <-ctx.Done():
			h.log.Warn("shutdown timed out; remaining connections cut without a close handshake")
			for _, c := range conns {
				_ = c.ws.CloseNow()
			}
			<-done
			return ctx.Err()
		}
	}
}

func (h *Hub) register(c *conn) bool {
	h.connsMu.Lock()
	defer h.connsMu.Unlock()
	if h.closing {
		return false
	}
	h.conns[c] = struct{}{}
	h.serving.Add(1)
	h.connections.Add(1)
	return true
}

func (h *Hub) unregister(c *conn) {
	h.connsMu.Lock()
	delete(h.conns, c)
	h.connsMu.Unlock()
	h.connections.Add(-1)
	h.serving.Done()
}

// logKey is the context key of the logger of the connection that work
// bounded by the context is done for.
type logKey struct{}

// withLog returns ctx carrying l, the logger of the connection whose work
// ctx bounds.
func withLog(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, logKey{}, l)
}

// logger returns the logger for work bounded by ctx: the connection's
// (carrying its id) when ctx was made for one, else the hub's. Functions
// of the hub that a connection's command or task may call log through it,
// so their lines name the connection.
func (h *Hub) logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(logKey{}).(*slog.Logger); ok {
		return l
	}
	return h.log
}

// newID returns a random 16-character base32 id (80 bits), for connection
// and message ids.
func newID() string { return rand.Text()[:16] }

// Serve runs one upgraded WebSocket until it ends. ident is the identity
// from an Authorization header checked before the upgrade, or nil, in which
// case the first frame must be auth. Serve owns the connection's reader and
// writer goroutines and returns only when both have stopped and the
// connection has left its rooms. The caller must not use ws afterwards.
func (h *Hub) Serve(ctx context.Context, ws *websocket.Conn, ident *auth.Identity) {
	c := newConn(h, ws)
	if !h.register(c) {
		_ = ws.Close(websocket.StatusCode(protocol.CloseServiceRestart), protocol.CloseServiceRestart.Reason())
		return
	}
	defer h.unregister(c)
	c.run(ctx, ident)
}
