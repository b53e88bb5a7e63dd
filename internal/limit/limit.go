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
	burst = max(burst, 1)
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
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
	res := l.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, nil
	}
	return 0, nil
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
// matter; each script touches one key, so on a Redis Cluster it runs on the
// master of that user's slot. Redis is safe for concurrent use and runs no
// goroutine.
type Redis struct {
	rdb   redis.Cmdable
	owned redis.UniversalClient // closed by Close when DialRedis made it
}

// NewRedis returns limits kept in rdb (a client the caller owns and
// closes: a *redis.Client, or a *redis.ClusterClient).
func NewRedis(rdb redis.Cmdable) *Redis { return &Redis{rdb: rdb} }

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
// does not contact Redis: errors are a malformed URL only. Close closes
// the client.
func DialRedis(url string, cluster bool) (*Redis, error) {
	c, err := redisconn.Open(url, cluster, redisconn.Options{FailFast: ioTimeout})
	if err != nil {
		return nil, fmt.Errorf("limit: %w", err)
	}
	return &Redis{rdb: c, owned: c}, nil
}

// Close closes the client DialRedis made; for NewRedis it does nothing.
func (l *Redis) Close() error {
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
// answers as a token bucket refilling one event every ARGV[1]
// microseconds up to ARGV[2] events. KEYS[1] holds the theoretical arrival
// time (TAT). It returns 0 (allowed, TAT moved on) or the microseconds until
// an event would be allowed (nothing changed).
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new = tat + interval
local wait = new - burst * interval - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1)
return 0
`)

// Allow takes one event from user's bucket named bucket, shared by every
// node: r events per second, up to burst at once, the same answers as
// Memory.Allow. It returns 0 when allowed, or how long until an event would
// be (nothing taken). r == rate.Inf allows everything without a round trip;
// burst below 1 counts as 1. Errors: ErrBadLimit, or Redis's (wrapped).
func (l *Redis) Allow(ctx context.Context, user, bucket string, r rate.Limit, burst int) (time.Duration, error) {
	if r == rate.Inf {
		return 0, nil
	}
	if r <= 0 || math.IsNaN(float64(r)) {
		return 0, ErrBadLimit
	}
	interval := max(int64(1e6/float64(r)), 1)
	wait, err := gcraScript.Run(ctx, l.rdb, []string{userKey(user) + bucket}, interval, max(burst, 1)).Int64()
	if err != nil {
		return 0, fmt.Errorf("limit: rate of %s: %w", bucket, err)
	}
	return time.Duration(wait) * time.Microsecond, nil
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
