package hub

import (
	"bytes"
	"cmp"
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

	// The send queue, bounded by Config.SendQueue: written by anyone (put),
	// taken whole by the writer. It holds no memory while empty: the
	// slice is allocated as events arrive and only a small one is kept
	// between bursts (see writeQueued), so an idle connection costs no
	// queue. qmu is a leaf lock (taken under localRoom.mu by deliver).
	qmu   sync.Mutex
	queue []queued      // guarded by qmu
	wake  chan struct{} // capacity 1: something was queued or a close was asked for

	dead      atomic.Bool // set once a close is requested: nothing more is queued
	closeOnce sync.Once
	closeReq  chan struct{} // closed when a close is requested
	closeCode protocol.CloseCode
	flush     bool // write what is queued before closing

	mu    sync.Mutex         // held while a command or control action runs for this connection
	rooms map[string]*joined // guarded by mu
	spare []queued           // the writer goroutine's: a small emptied queue slice to reuse
	// writing is when the socket write under way began (Hub.clock), 0
	// between writes: the hub's write watchdog cuts a connection whose
	// write has taken longer than WriteTimeout (see Hub.cutStuckWriters).
	writing atomic.Int64

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
	// messages to hide from the start, and the room as read at join; all
	// three let go once entered.
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
		wake:     make(chan struct{}, 1),
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
	c.qmu.Lock()
	if c.dead.Load() {
		c.qmu.Unlock()
		c.h.cfg.Observer.Dropped(DropClosing, 1)
		return false
	}
	if n := len(c.queue); n >= c.h.cfg.SendQueue {
		c.qmu.Unlock()
		c.h.cfg.Observer.Dropped(DropQueueFull, 1)
		if c.close(protocol.CloseTryAgainLater, false) {
			c.h.slowConsumers.Add(1)
			c.log.Info("slow consumer disconnected", "queued", n)
		}
		return false
	}
	c.queue = append(c.queue, q)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // the writer has been woken already and will take this too
	}
	return true
}

// take hands the writer everything queued, leaving spare (emptied) as the
// new queue.
func (c *conn) take(spare []queued) []queued {
	c.qmu.Lock()
	q := c.queue
	c.queue = spare[:0]
	c.qmu.Unlock()
	return q
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
// they belong to are done with on this connection.
func (c *conn) discard() {
	c.qmu.Lock()
	c.dead.Store(true) // under qmu: no put can queue after the queue is taken
	q := c.queue
	c.queue = nil
	c.qmu.Unlock()
	c.giveUp(q)
}

// giveUp counts events that will not be written as unsent and is done with
// their fan-outs on this connection.
func (c *conn) giveUp(q []queued) {
	for _, e := range q {
		if e.fan != nil {
			e.fan.done()
		}
	}
	if len(q) > 0 {
		c.h.cfg.Observer.Dropped(DropUnsent, len(q))
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
	// The reader runs on this goroutine (the HTTP handler's, which would
	// otherwise only wait), the writer on one of its own: two goroutines
	// and two stacks per connection, not three. Whichever ends first
	// cancels the other; err is the first one's.
	rctx, cancel := context.WithCancelCause(ctx)
	c.ctx = rctx
	var g errgroup.Group
	g.Go(func() error {
		err := c.writeLoop(rctx)
		cancel(cmp.Or(err, context.Canceled))
		return err
	})
	cancel(cmp.Or(c.readLoop(rctx), context.Canceled))
	_ = g.Wait()
	err := context.Cause(rctx)
	_ = c.ws.CloseNow()
	c.discard()
	c.log.Debug("connection ended", "status", int(websocket.CloseStatus(err)))

	c.stopExpiry()
	lctx, lcancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
	defer lcancel()
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

// readLoop is the reader: it reads and handles one frame at a time until
// a read fails. Reads get a context that is never cancelled, so that
// coder/websocket arms no AfterFunc per read; the connection is closed
// instead (once) when ctx ends — when either the reader or the writer has
// ended — which fails the read or write under way.
func (c *conn) readLoop(ctx context.Context) error {
	// Not stopped when the reader returns: run cancels ctx then, and the
	// socket must close so that a write under way fails at once.
	context.AfterFunc(ctx, func() { _ = c.ws.CloseNow() })
	rctx := context.WithoutCancel(ctx)
	for {
		if err := c.readFrame(ctx, rctx); err != nil {
			return err // also a frame over the read limit: the library closes with 1009
		}
	}
}

// readBufs holds the buffers frames are read into: a connection holds one
// only while it reads and handles a frame.
var readBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readFrame reads one frame (with rctx) into a pooled buffer and handles
// it (with ctx). Nothing handle keeps refers to the buffer: DecodeFrame
// copies every string out of it.
func (c *conn) readFrame(ctx, rctx context.Context) error {
	typ, r, err := c.ws.Reader(rctx)
	if err != nil {
		return err
	}
	buf := readBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= protocol.MaxFrameBytes {
			readBufs.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	data := buf.Bytes()
	if c.dead.Load() {
		return nil // closing: read until the peer's close frame, act on nothing
	}
	if typ != websocket.MessageText {
		if d := c.wait(c.frames); d > 0 {
			c.refuseRate(d, protocol.RequestID(data), "")
			return nil
		}
		c.replyErr("", "", protocol.Err(protocol.CodeBinaryFrame))
		return nil
	}
	// Decoded before the rate check, so that a frame broadcast to a room
	// is charged to both of the user's buckets in one Limiter call. A
	// flood costs at most FloodLimit decodes (and one more a second)
	// before the connection is closed.
	f, perr := protocol.DecodeFrame(data)
	c.h.cfg.Observer.FrameIn(f.Type)
	var d time.Duration
	if perr == nil && limitedLikeSend[f.Type] && c.authState.Load() == authDone {
		d = c.wait(c.frames, c.sends)
	} else {
		d = c.wait(c.frames)
	}
	if d > 0 {
		if perr != nil {
			f.ID, f.Room = protocol.RequestID(data), ""
		}
		c.refuseRate(d, f.ID, f.Room)
		return nil
	}
	c.handle(ctx, f, perr) // an auth frame takes the user's connection place there (authenticate)
	return nil
}

// writeLoop is the writer goroutine. Socket writes get wctx, which has no
// deadline and is never cancelled, so that coder/websocket arms no timer
// per write (context.WithDeadlineCause alone was 7 % of a loaded server's
// CPU in the first runs' profile, docs/performance.md): the hub's write
// watchdog closes a connection whose write outlasts WriteTimeout, and a
// socket closed by the reader's end fails the write at once.
func (c *conn) writeLoop(ctx context.Context) error {
	wctx := context.WithoutCancel(ctx)
	for {
		beat := *c.h.beat.Load()
		select {
		case <-ctx.Done():
			return nil
		case <-c.closeReq:
			if c.flush {
				if err := c.writeQueued(wctx, true); err != nil {
					return err
				}
			}
			_ = c.ws.Close(websocket.StatusCode(c.closeCode), c.closeCode.Reason())
			return errClosed
		case <-c.wake:
			if err := c.writeQueued(wctx, false); err != nil {
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

// writeQueued writes whatever is queued until the queue is empty, events
// batched into frames of up to about maxBatchBytes, each event on its own
// line. A lone event is written as it is, without a copy; a batch is
// joined in a pooled buffer, so an idle connection holds no write buffer.
// Every chat message is done with once the write of its frame returns,
// written or not (see fanOut); after a failed write, it and every event
// still queued count as unsent. Once a close has been asked for, only the
// close itself (closing, when it flushes) writes what is queued: a slow
// consumer's queue is not written after its 1013 was decided, so what it
// held counts as unsent (discard) however the writer was scheduled.
func (c *conn) writeQueued(ctx context.Context, closing bool) error {
	for {
		if !closing && c.dead.Load() {
			return nil
		}
		q := c.take(c.spare)
		if len(q) == 0 {
			c.spare = q
			return nil
		}
		err := c.writeBatches(ctx, q, closing)
		clear(q) // let the written events go
		c.spare = nil
		if cap(q) <= keptQueue {
			c.spare = q[:0]
		}
		if err != nil {
			return err
		}
	}
}

// keptQueue is the largest queue slice (in events) a connection keeps for
// the next burst; a larger one is let go once written.
const keptQueue = 16

// frameBufs holds the buffers batches are joined in.
var frameBufs = sync.Pool{New: func() any { return new([]byte) }}

// writeBatches writes q in frames of up to about maxBatchBytes. ctx has no
// deadline and cannot be cancelled (see writeLoop): the write watchdog
// bounds each write instead.
func (c *conn) writeBatches(ctx context.Context, q []queued, closing bool) error {
	bp := frameBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 2*maxBatchBytes {
			frameBufs.Put(bp)
		}
	}()
	for len(q) > 0 {
		if !closing && c.dead.Load() { // a close was asked for meanwhile (see writeQueued)
			c.giveUp(q)
			return nil
		}
		frame, n := q[0].b, 1
		if len(q) > 1 && len(frame) < maxBatchBytes {
			buf := (*bp)[:0]
			for n = 0; n < len(q) && len(buf) < maxBatchBytes; n++ {
				buf = protocol.Batch(buf, q[n].b)
			}
			*bp, frame = buf, buf
		}
		c.writing.Store(c.h.clock())
		err := c.ws.Write(ctx, websocket.MessageText, frame)
		c.writing.Store(0)
		if err != nil {
			c.giveUp(q)
			return err
		}
		for _, e := range q[:n] {
			if e.fan != nil {
				e.fan.done()
			}
		}
		c.h.cfg.Observer.FrameOut(n)
		q = q[n:]
	}
	return nil
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
