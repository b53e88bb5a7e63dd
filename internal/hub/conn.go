package hub

import (
	"context"
	"errors"
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
	h  *Hub
	ws *websocket.Conn
	id string

	authState atomic.Int32
	ident     auth.Identity // written by the reader before authState becomes authDone

	send chan []byte // bounded send queue; written by anyone, read by the writer

	dead      atomic.Bool // set once a close is requested: nothing more is queued
	closeOnce sync.Once
	closeReq  chan struct{} // closed when a close is requested
	closeCode protocol.CloseCode
	flush     bool // write what is queued before closing

	mu    sync.Mutex         // held while a command or control action runs for this connection
	rooms map[string]*joined // guarded by mu
	wbuf  []byte             // the writer goroutine's scratch buffer

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

func newConn(h *Hub, ws *websocket.Conn) *conn {
	return &conn{
		h: h, ws: ws, id: newID(),
		send:     make(chan []byte, h.cfg.SendQueue),
		closeReq: make(chan struct{}),
		rooms:    make(map[string]*joined),
		frames:   newBucket(bucketFrames, h.cfg.FrameRate, h.cfg.FrameBurst),
		sends:    newBucket(bucketSends, h.cfg.SendRate, h.cfg.SendBurst),
		refusal:  rate.NewLimiter(1, protocol.FloodLimit),
	}
}

// enqueue queues one encoded event for the writer without blocking. A
// connection whose queue is full is a slow consumer: it is closed with 1013
// and never slows anyone else.
func (c *conn) enqueue(b []byte) {
	if c.dead.Load() {
		return
	}
	select {
	case c.send <- b:
	default:
		c.h.slowConsumers.Add(1)
		c.h.log.Info("slow consumer disconnected", "conn", c.id, "queued", len(c.send))
		c.close(protocol.CloseTryAgainLater, false)
	}
}

// close asks the writer to close the connection with code, after writing
// what is queued if flush. Only the first request counts.
func (c *conn) close(code protocol.CloseCode, flush bool) {
	c.closeOnce.Do(func() {
		c.closeCode, c.flush = code, flush
		c.dead.Store(true)
		close(c.closeReq)
	})
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
	c.h.log.Debug("connection ended", "conn", c.id, "status", int(websocket.CloseStatus(err)))

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
		c.h.release(lr)
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
				if err := c.writeQueued(ctx, nil); err != nil {
					return err
				}
			}
			_ = c.ws.Close(websocket.StatusCode(c.closeCode), c.closeCode.Reason())
			return errClosed
		case b := <-c.send:
			if err := c.writeQueued(ctx, b); err != nil {
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

// writeQueued writes first and then whatever else is queued, batched into
// frames of up to about maxBatchBytes, each event on its own line. The
// scratch buffer is kept between writes only while it is small, so an idle
// connection holds no large buffer.
func (c *conn) writeQueued(ctx context.Context, first []byte) error {
	buf := c.wbuf[:0]
	defer func() {
		if cap(buf) <= 8<<10 {
			c.wbuf = buf[:0]
		} else {
			c.wbuf = nil
		}
	}()
	if first != nil {
		buf = append(buf, first...)
	}
	for {
	fill:
		for len(buf) < maxBatchBytes {
			select {
			case b := <-c.send:
				buf = protocol.Batch(buf, b)
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
		if err != nil {
			return err
		}
		c.h.cfg.Observer.FrameOut()
		if len(c.send) == 0 {
			return nil
		}
		buf = buf[:0]
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
		c.h.log.Info("flooding connection closed", "conn", c.id)
		c.close(protocol.CloseTooManyRequests, true)
		return
	}
	e := protocol.Err(protocol.CodeRateLimited)
	e.RetryAfter = d
	c.replyErr(id, room, e)
}
