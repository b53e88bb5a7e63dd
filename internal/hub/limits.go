package hub

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"hearth/internal/auth"
	"hearth/internal/protocol"
)

// Limiter holds the limits that belong to a user rather than to one
// connection, shared by all of the user's connections — on every node when
// the implementation is (internal/limit: Memory for one node, Redis across
// nodes). User ids are tokens' sub claims.
type Limiter interface {
	// AllowAll takes one event from each of user's buckets, all or
	// nothing: it returns 0 when every bucket allowed it (each took one),
	// or the longest wait among the buckets that refused (then none took
	// anything). Buckets with rate.Inf allow everything. An error (the
	// shared store cannot be reached) makes the hub fall back to the
	// connection's own buckets.
	AllowAll(ctx context.Context, user string, buckets []Bucket) (retryAfter time.Duration, err error)
	// Acquire records connection connID of user as live for ttl unless
	// user already has most live connections; ok reports whether it did.
	// An error lets the connection in (the hub fails open, and logs it).
	Acquire(ctx context.Context, user, connID string, most int, ttl time.Duration) (ok bool, err error)
	// Refresh extends, to ttl from now, the life of this node's live
	// connections, given as user id → connection ids. The hub calls it on
	// every heartbeat, so a node that dies stops holding its users'
	// places once ttl has passed.
	Refresh(ctx context.Context, live map[string][]string, ttl time.Duration) error
	// Release forgets connection connID of user.
	Release(ctx context.Context, user, connID string) error
}

// Bucket is one of a user's rate limits, as the Limiter is asked about
// it: the bucket named Name refills at Rate events per second up to Burst
// events at once.
type Bucket struct {
	Name  string
	Rate  rate.Limit
	Burst int
}

// Buckets of the per-user rate limits.
const (
	bucketFrames = "frames" // every frame
	bucketSends  = "sends"  // frames broadcast to a room (see limitedLikeSend)
)

// limitTimeout bounds one call to the Limiter on a connection's reader;
// after a failed call the connection uses its own buckets for
// limitBackoff before asking the Limiter again, so an outage does not slow
// every frame by limitTimeout.
const (
	limitTimeout = 2 * time.Second
	limitBackoff = 5 * time.Second
)

// slotTTL is how long a connection's place in its user's connection count
// lives without a heartbeat refreshing it: three heartbeats, so one late
// refresh loses nothing.
func (h *Hub) slotTTL() time.Duration { return 3 * h.cfg.Heartbeat }

// bucket is one of a connection's rate limits: shared by the user's
// connections through the hub's Limiter once the connection is
// authenticated, and its own (local) before that or while the Limiter
// cannot be reached.
type bucket struct {
	name  string
	rate  rate.Limit
	burst int
	local *rate.Limiter
}

func newBucket(name string, r rate.Limit, burst int) *bucket {
	return &bucket{name: name, rate: r, burst: burst, local: rate.NewLimiter(r, burst)}
}

// wait takes one event from each of bs, all or nothing, and returns 0, or
// how long until every one would allow it (then nothing is taken). Once
// authenticated the buckets are the user's, asked of the Limiter in one
// call (one Redis round trip in distributed mode, however many buckets);
// before that, or while the Limiter cannot be reached, the connection's
// own. Runs on the reader goroutine.
func (c *conn) wait(bs ...*bucket) time.Duration {
	var specs [2]Bucket
	ask := specs[:0]
	for _, b := range bs {
		if b.rate != rate.Inf {
			ask = append(ask, Bucket{Name: b.name, Rate: b.rate, Burst: b.burst})
		}
	}
	if len(ask) == 0 {
		return 0
	}
	if l := c.h.cfg.Limiter; l != nil && c.authState.Load() == authDone && !time.Now().Before(c.limitDownUntil) {
		ctx, cancel := context.WithTimeout(c.ctx, limitTimeout)
		d, err := l.AllowAll(ctx, c.ident.UserID, ask)
		cancel()
		if err == nil {
			return d
		}
		c.limitDownUntil = time.Now().Add(limitBackoff)
		if !c.limitFailed {
			c.limitFailed = true // once per connection: a Redis outage must not flood the log
			c.log.Warn("shared rate limit unavailable; the connection's own applies", "err", err)
		}
	}
	// One instant for every reservation and its cancellation, so that a
	// cancelled reservation gives its token back (CancelAt returns nothing
	// for a reservation whose time has passed).
	now := time.Now()
	var held [2]*rate.Reservation
	taken := held[:0]
	var d time.Duration
	for _, b := range bs {
		r := b.local.ReserveN(now, 1)
		taken = append(taken, r)
		d = max(d, r.DelayFrom(now))
	}
	if d > 0 {
		for _, r := range taken {
			r.CancelAt(now)
		}
	}
	return d
}

// authorized runs once per connection, when it is authenticated: it takes
// the connection's place among its user's connections and arms the token's
// expiry. When the user already has MaxConnsPerUser connections it queues
// too_many_connections (carrying reqID), asks to close with
// CloseTooManyConnections and returns false. Runs on the reader goroutine
// (or in run before it starts).
func (c *conn) authorized(ctx context.Context, reqID string) bool {
	if c.authorizedOnce {
		return !c.dead.Load()
	}
	c.authorizedOnce = true
	if l := c.h.cfg.Limiter; l != nil {
		actx, cancel := context.WithTimeout(ctx, limitTimeout)
		ok, err := l.Acquire(actx, c.ident.UserID, c.id, c.h.cfg.MaxConnsPerUser, c.h.slotTTL())
		cancel()
		switch {
		case err != nil:
			c.log.Warn("connection count unavailable; connection let in", "err", err)
			c.slot.Store(true) // release it anyway, in case it was recorded
		case !ok:
			c.log.Info("connection refused: too many connections for one user")
			c.replyErr(reqID, "", protocol.Err(protocol.CodeTooManyConnections))
			c.close(protocol.CloseTooManyConnections, true)
			return false
		default:
			c.slot.Store(true)
		}
	}
	c.armExpiry(c.ident.Expires)
	return true
}

// armExpiry starts the connection's one expiry timer: when the token (with
// auth.Leeway, as Verify allows) runs out before a refresh, the connection
// gets token_expired and is closed with CloseUnauthorized. A zero exp arms
// nothing. Stopped by stopExpiry when the connection ends.
func (c *conn) armExpiry(exp time.Time) {
	if exp.IsZero() {
		return
	}
	c.expMu.Lock()
	defer c.expMu.Unlock()
	if c.expStopped {
		return
	}
	c.expiresAt = exp.Add(auth.Leeway)
	c.expiry = time.AfterFunc(time.Until(c.expiresAt), c.tokenExpired)
}

// tokenExpired is the expiry timer's function.
func (c *conn) tokenExpired() {
	c.expMu.Lock()
	early := time.Now().Before(c.expiresAt) || c.expStopped // refreshed meanwhile, or ending
	c.expMu.Unlock()
	if early {
		return
	}
	c.log.Info("token expired; connection closed")
	c.replyErr("", "", protocol.Err(protocol.CodeTokenExpired))
	c.close(protocol.CloseUnauthorized, true)
}

// stopExpiry stops the expiry timer for good.
func (c *conn) stopExpiry() {
	c.expMu.Lock()
	defer c.expMu.Unlock()
	c.expStopped = true
	if c.expiry != nil {
		c.expiry.Stop()
	}
}

// refresh handles the refresh frame: a new token for the same user and
// role moves the connection's expiry to the new token's. A token refused
// by the Authenticator gets its error (invalid_token, token_expired) and
// one for someone else token_mismatch; either way the connection keeps its
// current token and stays open. Runs on the reader goroutine.
func (c *conn) refresh(ctx context.Context, f protocol.Frame) {
	ident, err := c.h.cfg.Auth.Verify(ctx, f.Token)
	if err != nil {
		c.log.Info("refresh refused", "code", protocol.AsError(err).Code)
		c.replyErr(f.ID, "", protocol.AsError(err))
		return
	}
	if ident.UserID != c.ident.UserID || ident.Role != c.ident.Role {
		c.log.Info("refresh refused", "code", protocol.CodeTokenMismatch)
		c.replyErr(f.ID, "", protocol.Err(protocol.CodeTokenMismatch))
		return
	}
	c.expMu.Lock()
	if c.expiry != nil && !ident.Expires.IsZero() {
		c.expiresAt = ident.Expires.Add(auth.Leeway)
		c.expiry.Reset(time.Until(c.expiresAt))
	}
	c.expMu.Unlock()
	c.log.Debug("token refreshed")
	c.ok(f)
}

// releaseSlot gives the connection's place among its user's connections
// back. Called once, when the connection has ended.
func (c *conn) releaseSlot(ctx context.Context) {
	if !c.slot.Load() {
		return
	}
	if err := c.h.cfg.Limiter.Release(ctx, c.ident.UserID, c.id); err != nil {
		c.log.Warn("connection place not released; it lapses by itself", "err", err)
	}
}

// refreshSlots tells the Limiter that this node's connections are alive.
// Called by Run on every heartbeat.
func (h *Hub) refreshSlots(ctx context.Context) {
	if h.cfg.Limiter == nil {
		return
	}
	live := map[string][]string{}
	h.connsMu.Lock()
	for c := range h.conns {
		if c.slot.Load() {
			live[c.ident.UserID] = append(live[c.ident.UserID], c.id)
		}
	}
	h.connsMu.Unlock()
	if len(live) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, h.cfg.Heartbeat/2)
	defer cancel()
	if err := h.cfg.Limiter.Refresh(rctx, live, h.slotTTL()); err != nil {
		h.logger(ctx).Warn("connection places not refreshed", "err", err)
	}
}
