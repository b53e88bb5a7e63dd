// Package limit holds the limits that belong to a user rather than to one
// connection: rate limits over all of a user's connections (token buckets,
// golang.org/x/time/rate semantics) and the cap on how many connections a
// user may have open at once. Memory serves one node; Redis serves every
// node of a deployment from one Redis or a Redis Cluster (each user's keys
// share one hash slot), so the limits hold across nodes.
// Both satisfy hub.Limiter (declared where it is used, in internal/hub).
//
// User ids (a token's sub, from the identity provider) never appear in
// Redis: keys carry a SHA-256 of the id.
package limit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"hearth/internal/redisconn"
)

// sweepEvery is how often, at most, Memory drops the token buckets that
// have refilled completely (a full bucket is the same as a new one).
const sweepEvery = time.Minute

// Memory keeps the limits in this process: right for one node (embedded
// mode). The zero value is not usable; use NewMemory. It is safe for
// concurrent use and runs no goroutine.
type Memory struct {
	mu        sync.Mutex
	buckets   map[bucketKey]*rate.Limiter
	conns     map[string]map[string]struct{} // user id → live connection ids
	lastSweep time.Time
}

type bucketKey struct{ user, bucket string }

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{buckets: map[bucketKey]*rate.Limiter{}, conns: map[string]map[string]struct{}{}}
}

// Allow takes one event from user's bucket named bucket, which refills at r
// events per second up to burst (a rate.Limiter). It returns 0 when the
// event is allowed, or how long until it would be, in which case nothing is
// taken. r == rate.Inf allows everything; burst below 1 counts as 1. It
// never fails.
func (m *Memory) Allow(_ context.Context, user, bucket string, r rate.Limit, burst int) (time.Duration, error) {
	if r == rate.Inf {
		return 0, nil
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	res := m.limiter(now, user, bucket, r, burst).ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, nil
	}
	return 0, nil
}

// AllowAll takes one event from each of user's buckets, all or nothing:
// when every bucket allows it, each takes one and AllowAll returns 0;
// otherwise nothing is taken from any, and it returns the longest wait
// among the buckets that refuse (each bucket as Allow would answer alone).
// Buckets with rate.Inf allow everything; a burst below 1 counts as 1; no
// buckets (or only rate.Inf) means 0. Errors (then nothing is taken):
// ErrBadLimit for a rate that is not positive, ErrDuplicateBucket for a
// bucket named twice — as Redis.AllowAll's.
func (m *Memory) AllowAll(_ context.Context, user string, buckets []Bucket) (time.Duration, error) {
	if err := checkBuckets(buckets); err != nil {
		return 0, err
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var wait time.Duration
	var buf [4]*rate.Reservation
	taken := buf[:0]
	for _, b := range buckets {
		if b.Rate == rate.Inf {
			continue
		}
		res := m.limiter(now, user, b.Name, b.Rate, b.Burst).ReserveN(now, 1)
		if d := res.DelayFrom(now); d > 0 {
			res.CancelAt(now)
			wait = max(wait, d)
			continue
		}
		taken = append(taken, res)
	}
	if wait > 0 {
		// Each bucket is its own limiter holding this one reservation:
		// cancelling it gives back exactly the event it took.
		for _, res := range taken {
			res.CancelAt(now)
		}
	}
	return wait, nil
}

// limiter returns user's bucket named bucket, set to r and burst (at least
// 1), made if new; and drops, at most every sweepEvery, the buckets that
// have refilled. m.mu must be held.
func (m *Memory) limiter(now time.Time, user, bucket string, r rate.Limit, burst int) *rate.Limiter {
	burst = max(burst, 1)
	if now.Sub(m.lastSweep) >= sweepEvery {
		m.lastSweep = now
		for k, l := range m.buckets {
			if l.TokensAt(now) >= float64(l.Burst()) {
				delete(m.buckets, k)
			}
		}
	}
	k := bucketKey{user, bucket}
	l := m.buckets[k]
	if l == nil {
		l = rate.NewLimiter(r, burst)
		m.buckets[k] = l
	} else if l.Limit() != r || l.Burst() != burst {
		l.SetLimitAt(now, r)
		l.SetBurstAt(now, burst)
	}
	return l
}

// Acquire records connection connID of user as live unless user already has
// most live connections (connID itself not counted), and reports whether it
// did. ttl is ignored: in one process a connection is always released. It
// never fails.
func (m *Memory) Acquire(_ context.Context, user, connID string, most int, _ time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	live := m.conns[user]
	if _, ok := live[connID]; !ok && len(live) >= most {
		return false, nil
	}
	if live == nil {
		live = map[string]struct{}{}
		m.conns[user] = live
	}
	live[connID] = struct{}{}
	return true, nil
}

// Refresh does nothing: Memory's connections do not expire.
func (m *Memory) Refresh(context.Context, map[string][]string, time.Duration) error { return nil }

// Release forgets connection connID of user. Releasing one not held does
// nothing. It never fails.
func (m *Memory) Release(_ context.Context, user, connID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.conns[user], connID)
	if len(m.conns[user]) == 0 {
		delete(m.conns, user)
	}
	return nil
}

// Bucket is one of a user's rate limits, for AllowAll: the bucket named
// Name refills at Rate events per second up to Burst events (below 1
// counts as 1); rate.Inf allows everything.
type Bucket struct {
	Name  string
	Rate  rate.Limit
	Burst int
}

// ErrDuplicateBucket is returned by AllowAll when two buckets have one
// name.
var ErrDuplicateBucket = errors.New("limit: a bucket is named twice")

// checkBuckets returns ErrBadLimit when a bucket's rate is not positive
// (rate.Inf is), ErrDuplicateBucket when a name is given twice.
func checkBuckets(buckets []Bucket) error {
	for i, b := range buckets {
		if b.Rate <= 0 || math.IsNaN(float64(b.Rate)) {
			return fmt.Errorf("%w (bucket %s)", ErrBadLimit, b.Name)
		}
		for _, o := range buckets[:i] {
			if o.Name == b.Name {
				return fmt.Errorf("%w: %s", ErrDuplicateBucket, b.Name)
			}
		}
	}
	return nil
}

// Redis keeps the limits in Redis, shared by every node that uses the same
// Redis. Keys, one hash tag per user so that a Redis Cluster keeps a user's
// keys in one slot:
//
//   - hearth:limit:user:{<h>}:<bucket> — a GCRA token bucket: the
//     theoretical arrival time of the next event, in microseconds of the
//     Redis server's clock, expiring when the bucket is full again;
//   - hearth:limit:user:{<h>}:conns — a sorted set of live connection ids
//     scored by when each expires (Unix milliseconds of the Redis clock);
//     the key expires with its newest entry.
//
// <h> is the first 32 hex digits of the SHA-256 of the user id. Every check
// is one Lua script using the Redis server's TIME, so nodes' clocks do not
// matter; a script touches only one user's keys (AllowAll several buckets
// of one user), so on a Redis Cluster it runs on the master of that user's
// slot. The rate checks (Allow, AllowAll) go through a redisconn.Batcher:
// checks made at once by many connections share a pipeline, one round trip.
// Redis is safe for concurrent use; it runs one goroutine, the batcher's,
// stopped by Close.
type Redis struct {
	rdb   redis.Cmdable
	batch *redisconn.Batcher
	owned redis.UniversalClient // closed by Close when DialRedis made it
}

// NewRedis returns limits kept in rdb (a client the caller owns and
// closes, after Close: a *redis.Client, or a *redis.ClusterClient). It
// starts the batcher's goroutine: call Close when done, which does not
// close rdb.
func NewRedis(rdb redis.Cmdable) *Redis {
	return &Redis{rdb: rdb, batch: redisconn.NewBatcher(rdb, redisconn.BatcherOptions{})}
}

// ioTimeout is the timeout (dial, read, write, pool) of the client
// DialRedis makes: a limit is checked on a connection's reader for every
// frame, so when Redis does not answer it must fail fast (the hub then
// falls back to per-connection limits) rather than wait out go-redis's
// default retries.
const ioTimeout = time.Second

// DialRedis returns limits kept in the Redis at url (redis:// or
// rediss://, as HEARTH_REDIS_URL; with cluster, a Redis Cluster's seed
// nodes, redis://host1:port,host2:port — see redisconn.Open), on a client
// of their own that honours each call's context, gives up after ioTimeout
// and does not retry (a cluster client still follows MOVED redirects). It
// does not contact Redis: errors are a malformed URL only. Close stops the
// batcher's goroutine and closes the client.
func DialRedis(url string, cluster bool) (*Redis, error) {
	c, err := redisconn.Open(url, cluster, redisconn.Options{FailFast: ioTimeout})
	if err != nil {
		return nil, fmt.Errorf("limit: %w", err)
	}
	l := NewRedis(c)
	l.owned = c
	return l, nil
}

// Close stops the batcher's goroutine (rate checks still waiting fail),
// then closes the client DialRedis made; a client given to NewRedis is left
// open. Calling it twice closes nothing more, but the second close of
// DialRedis's client returns its error.
func (l *Redis) Close() error {
	l.batch.Close()
	if l.owned == nil {
		return nil
	}
	return l.owned.Close()
}

// userKey is the key prefix of one user's limits.
func userKey(user string) string {
	sum := sha256.Sum256([]byte(user))
	return "hearth:limit:user:{" + hex.EncodeToString(sum[:16]) + "}:"
}

// ErrBadLimit is returned for a rate or burst that cannot describe a bucket
// (a rate that is not positive).
var ErrBadLimit = errors.New("limit: the rate must be positive")

// gcraScript is the Generic Cell Rate Algorithm, which gives the same
// answers as a token bucket, for every bucket KEYS[i] at once, all or
// nothing: bucket i refills one event every ARGV[2i-1] microseconds up to
// ARGV[2i] events, and KEYS[i] holds its theoretical arrival time (TAT).
// It returns 0 when every bucket allows an event (each TAT moved on, the
// key expiring when the bucket is full again), or the longest wait among
// the buckets that refuse, in microseconds (nothing changed).
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local news, wait = {}, 0
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local new = tat + interval
  local w = new - burst * interval - now
  if w > wait then wait = w end
  news[i] = new
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.0f', news[i]), 'PX', math.ceil((news[i] - now) / 1000) + 1)
end
return 0
`)

// interval is gcraScript's refill interval of rate r (positive, finite):
// microseconds per event, at least 1.
func interval(r rate.Limit) int64 { return max(int64(1e6/float64(r)), 1) }

// gcra runs gcraScript over keys with args (interval, burst per key) and
// returns its answer as a duration.
func (l *Redis) gcra(ctx context.Context, keys []string, args []any) (time.Duration, error) {
	wait, err := l.batch.Run(ctx, gcraScript, keys, args...).Int64()
	if err != nil {
		return 0, err
	}
	return time.Duration(wait) * time.Microsecond, nil
}

// Allow takes one event from user's bucket named bucket, shared by every
// node: r events per second, up to burst at once, the same answers as
// Memory.Allow. It returns 0 when allowed, or how long until an event would
// be (nothing taken). r == rate.Inf allows everything without a round trip;
// burst below 1 counts as 1. Errors: ErrBadLimit, or Redis's (wrapped; see
// redisconn.Batcher.Run: ctx's error as soon as ctx ends).
func (l *Redis) Allow(ctx context.Context, user, bucket string, r rate.Limit, burst int) (time.Duration, error) {
	if r == rate.Inf {
		return 0, nil
	}
	if r <= 0 || math.IsNaN(float64(r)) {
		return 0, ErrBadLimit
	}
	wait, err := l.gcra(ctx, []string{userKey(user) + bucket}, []any{interval(r), max(burst, 1)})
	if err != nil {
		return 0, fmt.Errorf("limit: rate of %s: %w", bucket, err)
	}
	return wait, nil
}

// AllowAll takes one event from each of user's buckets, shared by every
// node, all or nothing, in one script (one round trip, shared with other
// checks made at once): when every bucket allows it, each takes one and
// AllowAll returns 0; otherwise nothing is taken from any and it returns
// the longest wait among the buckets that refuse — the same answers as
// Memory.AllowAll. Buckets with rate.Inf are skipped; burst below 1 counts
// as 1; no buckets (or only rate.Inf) means 0 without a round trip.
// Errors: ErrBadLimit, ErrDuplicateBucket (then nothing is sent), or
// Redis's (wrapped, as Allow's).
func (l *Redis) AllowAll(ctx context.Context, user string, buckets []Bucket) (time.Duration, error) {
	if err := checkBuckets(buckets); err != nil {
		return 0, err
	}
	prefix := userKey(user)
	keys := make([]string, 0, len(buckets))
	args := make([]any, 0, 2*len(buckets))
	for _, b := range buckets {
		if b.Rate != rate.Inf {
			keys = append(keys, prefix+b.Name)
			args = append(args, interval(b.Rate), max(b.Burst, 1))
		}
	}
	if len(keys) == 0 {
		return 0, nil
	}
	wait, err := l.gcra(ctx, keys, args)
	if err != nil {
		return 0, fmt.Errorf("limit: rates of %s: %w", bucketNames(buckets), err)
	}
	return wait, nil
}

// bucketNames is the buckets' names joined by "+", for errors.
func bucketNames(buckets []Bucket) string {
	names := make([]string, len(buckets))
	for i, b := range buckets {
		names[i] = b.Name
	}
	return strings.Join(names, "+")
}

// acquireScript drops expired entries of the set KEYS[1], then adds ARGV[1]
// expiring in ARGV[3] ms unless the set already holds ARGV[2] others. It
// returns 1 when added (or renewed), 0 when refused.
var acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// refreshScript moves the expiry of the connections ARGV[2..] of the set
// KEYS[1] to ARGV[1] ms from now (adding any that aged out meanwhile: they
// are live), and the key's with them.
var refreshScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`)

// Acquire records connection connID of user as live, on every node, for
// ttl, unless user already has most live connections (connID itself not
// counted, and entries whose ttl ran out — a node that died — not counted
// either). It reports whether it did. The caller refreshes its live
// connections with Refresh well within ttl (ttl is rounded up to whole
// milliseconds). Errors are Redis's, wrapped.
func (l *Redis) Acquire(ctx context.Context, user, connID string, most int, ttl time.Duration) (bool, error) {
	ok, err := acquireScript.Run(ctx, l.rdb, []string{userKey(user) + "conns"}, connID, most, ms(ttl)).Int()
	if err != nil {
		return false, fmt.Errorf("limit: acquire connection: %w", err)
	}
	return ok == 1, nil
}

// Refresh extends, to ttl from now, the life of the live connections given
// as user id → connection ids (this node's), one round trip per user.
// Errors are Redis's, wrapped and joined; the other users are still
// refreshed.
func (l *Redis) Refresh(ctx context.Context, live map[string][]string, ttl time.Duration) error {
	var errs []error
	for user, ids := range live {
		args := make([]any, 0, len(ids)+1)
		args = append(args, ms(ttl))
		for _, id := range ids {
			args = append(args, id)
		}
		if err := refreshScript.Run(ctx, l.rdb, []string{userKey(user) + "conns"}, args...).Err(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("limit: refresh connections: %w", errors.Join(errs...))
	}
	return nil
}

// Release forgets connection connID of user, on every node. Errors are
// Redis's, wrapped (the entry then ages out with its ttl).
func (l *Redis) Release(ctx context.Context, user, connID string) error {
	if err := l.rdb.ZRem(ctx, userKey(user)+"conns", connID).Err(); err != nil {
		return fmt.Errorf("limit: release connection: %w", err)
	}
	return nil
}

// ms is d in whole milliseconds, rounded up, at least 1.
func ms(d time.Duration) int64 { return max(int64((d+time.Millisecond-1)/time.Millisecond), 1) }
