package hub

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"hearth/internal/auth"
	"hearth/internal/protocol"
	"hearth/internal/room"
)

// Authentication states of a connection.
const (
	authPending int32 = iota
	authDone
	authFailed
)

// conn is one WebSocket connection. Fields without a comment are set once.
type conn struct {
	h   *Hub
	ws  *websocket.Conn
	id  string
	log *slog.Logger // the hub's logger with this connection's id: every line the connection causes carries it

	authState atomic.Int32
	ident     auth.Identity // written by the reader before authState becomes authDone

	send chan queued // bounded send queue; written by anyone, read by the writer

	dead      atomic.Bool // set once a close is requested: nothing more is queued
	closeOnce sync.Once
	closeReq  chan struct{} // closed when a close is requested
	closeCode protocol.CloseCode
	flush     bool // write what is queued before closing

	mu    sync.Mutex         // held while a command or control action runs for this connection
	rooms map[string]*joined // guarded by mu
	wbuf  []byte             // the writer goroutine's scratch buffer
	wfans []*fanOut          // the writer goroutine's: fan-outs of the events in the batch being written

	personal []*localRoom // the user's own channel (and supervisors'); set by the reader at auth, released by run

	ctx     context.Context // the reader's context (set by run before the reader starts), for its Limiter calls
	frames  *bucket         // every frame; per user once authenticated (see limits.go)
	sends   *bucket         // frames broadcast to a room (limitedLikeSend); per user once authenticated
	refusal *rate.Limiter   // budget of refusals (FloodLimit, refilled 1/s): spent, the connection is closed

	// Owned by the reader: the Limiter failed once (logged once), when to
	// ask it again after a failure, and authorized has run.
	limitFailed    bool
	limitDownUntil time.Time
	authorizedOnce bool
	// slot is set once the connection holds a place among its user's
	// connections (Limiter.Acquire); read by Run's heartbeat.
	slot atomic.Bool

	// The token's expiry (limits.go): one timer while authenticated.
	expMu      sync.Mutex
	expiry     *time.Timer // guarded by expMu; nil until authenticated
	expiresAt  time.Time   // guarded by expMu: exp + auth.Leeway of the current token
	expStopped bool        // guarded by expMu: the connection has ended
}

// joined is a room this connection is in, or waits at the door of.
type joined struct {
	lr      *localRoom
	me      protocol.Member // as the room sees this member
	role    room.Role
	waiting bool   // in the lobby
	as      string // the presence asked for at join ("": keep), applied on entering
	// Asked for at join, used on entering: where to resume from, whose
	// messages to hide from the start, and the room as read at join.
	resume *protocol.ResumePoint
	hidden []string
	doc    *room.Room
}

// queued is one entry of a connection's send queue: an encoded event and,
// for a chat message delivered live, the fan-out it is part of.
type queued struct {
	b   []byte
	fan *fanOut // nil but for live chat messages (localRoom.deliver)
}

func newConn(h *Hub, ws *websocket.Conn) *conn {
	id := newID()
	return &conn{
		h: h, ws: ws, id: id, log: h.log.With("conn", id),
		send:     make(chan queued, h.cfg.SendQueue),
		closeReq: make(chan struct{}),
		rooms:    make(map[string]*joined),
		frames:   newBucket(bucketFrames, h.cfg.FrameRate, h.cfg.FrameBurst),
		sends:    newBucket(bucketSends, h.cfg.SendRate, h.cfg.SendBurst),
		refusal:  rate.NewLimiter(1, protocol.FloodLimit),
	}
}

// enqueue queues one encoded event for the writer without blocking (see
// put).
func (c *conn) enqueue(b []byte) { c.put(queued{b: b}) }

// put queues q for the writer without blocking, and reports whether it
// did. A connection whose queue is full is a slow consumer: it is closed
// with 1013 and never slows anyone else. Nothing is queued to a connection
// being closed.
func (c *conn) put(q queued) bool {
	if c.dead.Load() {
		c.h.cfg.Observer.Dropped(DropClosing, 1)
		return false
	}
	select {
	case c.send <- q:
		return true
	default:
		c.h.cfg.Observer.Dropped(DropQueueFull, 1)
		if c.close(protocol.CloseTryAgainLater, false) {
			c.h.slowConsumers.Add(1)
			c.log.Info("slow consumer disconnected", "queued", len(c.send))
		}
		return false
	}
}

// close asks the writer to close the connection with code, after writing
// what is queued if flush. Only the first request counts; it reports
// whether this one was it.
func (c *conn) close(code protocol.CloseCode, flush bool) (first bool) {
	c.closeOnce.Do(func() {
		c.closeCode, c.flush = code, flush
		c.dead.Store(true)
		close(c.closeReq)
		first = true
	})
	return first
}

// discard empties the send queue of a connection that has ended (nothing
// is queued to it any more): its events count as unsent, and the fan-outs
// they belong to are done with on this connection. An event queued in the
// instant between the end and dead being set stays in the queue, unseen:
// its message's fan-out is then not observed.
func (c *conn) discard() {
	c.dead.Store(true)
	n := 0
	for {
		select {
		case q := <-c.send:
			n++
			if q.fan != nil {
				q.fan.done()
			}
		default:
			if n > 0 {
				c.h.cfg.Observer.Dropped(DropUnsent, n)
			}
			return
		}
	}
}

// reply queues a reply frame.
func (c *conn) reply(v any) { c.enqueue(protocol.Marshal(v)) }

// replyErr queues an error reply.
func (c *conn) replyErr(id, room string, e *protocol.Error) {
	c.enqueue(protocol.ErrorFrame(id, room, e))
}

// run owns the reader and writer goroutines and, once both have stopped,
// leaves every room, stops the token's expiry timer and gives back the
// connection's place among its user's connections.
func (c *conn) run(ctx context.Context, ident *auth.Identity) {
	c.ws.SetReadLimit(protocol.MaxFrameBytes)
	ctx = withLog(ctx, c.log) // lines of the hub's functions run for this connection carry its id too
	c.ctx = ctx
	if ident != nil {
		c.ident = *ident
		c.authState.Store(authDone)
		if c.authorized(ctx, "") {
			c.reply(c.h.welcome("", ident.Role))
			c.attached(ctx)
		}
	} else {
		t := time.AfterFunc(c.h.cfg.AuthTimeout, func() {
			if c.authState.CompareAndSwap(authPending, authFailed) {
				c.replyErr("", "", protocol.Err(protocol.CodeAuthTimeout))
				c.close(protocol.CloseUnauthorized, true)
			}
		})
		defer t.Stop()
	}
	g, gctx := errgroup.WithContext(ctx)
	c.ctx = gctx
	g.Go(func() error { return c.readLoop(gctx) })
	g.Go(func() error { return c.writeLoop(gctx) })
	err := g.Wait()
	_ = c.ws.CloseNow()
	c.discard()
	c.log.Debug("connection ended", "status", int(websocket.CloseStatus(err)))

	c.stopExpiry()
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
	defer cancel()
	c.releaseSlot(lctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	for room := range c.rooms {
		c.leave(lctx, room)
	}
	for _, lr := range c.personal {
		lr.remove(c)
		c.h.release(lctx, lr)
	}
}

// errClosed ends the reader or writer when the connection is closed on
// purpose.
var errClosed = errors.New("connection closed")

func (c *conn) readLoop(ctx context.Context) error {
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return err // also a frame over the read limit: the library closes with 1009
		}
		if c.dead.Load() {
			continue // closing: read until the peer's close frame, act on nothing
		}
		if d := c.wait(c.frames); d > 0 {
			c.refuseRate(d, protocol.RequestID(data), "")
			continue
		}
		if typ != websocket.MessageText {
			c.replyErr("", "", protocol.Err(protocol.CodeBinaryFrame))
			continue
		}
		c.handle(ctx, data) // an auth frame takes the user's connection place there (authenticate)
	}
}

func (c *conn) writeLoop(ctx context.Context) error {
	for {
		beat := *c.h.beat.Load()
		select {
		case <-ctx.Done():
			return nil
		case <-c.closeReq:
			if c.flush {
				if err := c.writeQueued(ctx, queued{}); err != nil {
					return err
				}
			}
			_ = c.ws.Close(websocket.StatusCode(c.closeCode), c.closeCode.Reason())
			return errClosed
		case q := <-c.send:
			if err := c.writeQueued(ctx, q); err != nil {
				return err
			}
		case <-beat:
			pctx, cancel := context.WithTimeout(ctx, c.h.cfg.PingTimeout)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil {
				return err // the peer stopped answering
			}
		}
	}
}

// writeQueued writes first (unless empty) and then whatever else is
// queued, batched into frames of up to about maxBatchBytes, each event on
// its own line. The scratch buffer is kept between writes only while it is
// small, so an idle connection holds no large buffer. Every chat message
// in a batch is done with once the batch's write returns, written or not
// (see fanOut); the events of a failed write count as unsent.
func (c *conn) writeQueued(ctx context.Context, first queued) error {
	buf := c.wbuf[:0]
	defer func() {
		if cap(buf) <= 8<<10 {
			c.wbuf = buf[:0]
		} else {
			c.wbuf = nil
		}
	}()
	n := 0
	if first.b != nil {
		buf = append(buf, first.b...)
		n = 1
		if first.fan != nil {
			c.wfans = append(c.wfans, first.fan)
		}
	}
	for {
	fill:
		for len(buf) < maxBatchBytes {
			select {
			case q := <-c.send:
				buf = protocol.Batch(buf, q.b)
				n++
				if q.fan != nil {
					c.wfans = append(c.wfans, q.fan)
				}
			default:
				break fill
			}
		}
		if len(buf) == 0 {
			return nil
		}
		wctx, cancel := context.WithTimeout(ctx, c.h.cfg.WriteTimeout)
		err := c.ws.Write(wctx, websocket.MessageText, buf)
		cancel()
		for i, f := range c.wfans {
			f.done()
			c.wfans[i] = nil
		}
		c.wfans = c.wfans[:0]
		if err != nil {
			c.h.cfg.Observer.Dropped(DropUnsent, n)
			return err
		}
		c.h.cfg.Observer.FrameOut(n)
		if len(c.send) == 0 {
			return nil
		}
		buf, n = buf[:0], 0
	}
}

// allow takes one event from b — the user's bucket, over all their
// connections and nodes, once authenticated — or refuses the frame with
// rate_limited (carrying when to retry). A connection that keeps flooding
// after being told — more than FloodLimit refusals, with one forgiven per
// second — is closed with CloseTooManyRequests. Runs on the reader
// goroutine.
func (c *conn) allow(b *bucket, id, room string) bool {
	d := c.wait(b)
	if d == 0 {
		return true
	}
	c.refuseRate(d, id, room)
	return false
}

// refuseRate answers a frame refused for rate: rate_limited with
// retry_after_ms d, or, once the connection has spent its FloodLimit
// refusals, close with CloseTooManyRequests. Runs on the reader goroutine.
func (c *conn) refuseRate(d time.Duration, id, room string) {
	if !c.refusal.Allow() {
		c.log.Info("flooding connection closed")
		c.close(protocol.CloseTooManyRequests, true)
		return
	}
	e := protocol.Err(protocol.CodeRateLimited)
	e.RetryAfter = d
	c.replyErr(id, room, e)
}
