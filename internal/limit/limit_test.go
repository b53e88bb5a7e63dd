package limit_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"golang.org/x/time/rate"

	"hearth/internal/limit"
	"hearth/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// limits is what both implementations offer (hub.Limiter's shape).
type limits interface {
	Allow(ctx context.Context, user, bucket string, r rate.Limit, burst int) (time.Duration, error)
	AllowAll(ctx context.Context, user string, buckets []limit.Bucket) (time.Duration, error)
	Acquire(ctx context.Context, user, connID string, most int, ttl time.Duration) (bool, error)
	Refresh(ctx context.Context, live map[string][]string, ttl time.Duration) error
	Release(ctx context.Context, user, connID string) error
}

// redisClient opens a client of s, closed when the test ends.
func redisClient(t *testing.T, s *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// wrapped returns limits in rdb, a client the test owns, stopped when the
// test ends (before rdb is closed, when rdb was opened first).
func wrapped(t *testing.T, rdb redis.Cmdable) *limit.Redis {
	t.Helper()
	l := limit.NewRedis(rdb)
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close of NewRedis's limits: %v", err)
		}
	})
	return l
}

// dialed returns limits in s on their own client (as nodes make them),
// closed when the test ends.
func dialed(t *testing.T, s *redistest.Server) *limit.Redis {
	t.Helper()
	return dialedURL(t, s.URL(), false)
}

// dialedURL returns limits in the Redis (or cluster) at url on their own
// client, closed when the test ends.
func dialedURL(t *testing.T, url string, cluster bool) *limit.Redis {
	t.Helper()
	l, err := limit.DialRedis(url, cluster)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// implementations returns each implementation, and for Redis (one server,
// and a three-master cluster) a second instance on its own client standing
// for another node.
func implementations(t *testing.T) map[string][2]limits {
	mem := limit.NewMemory()
	s := redistest.Start(t)
	c := redistest.StartCluster(t)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = cc.Close() })
	return map[string][2]limits{
		"memory":  {mem, mem},
		"redis":   {dialed(t, s), wrapped(t, redisClient(t, s))},
		"cluster": {dialedURL(t, c.URL(), true), wrapped(t, cc)},
	}
}

// TestAllowIsATokenBucketPerUser: a user's burst is allowed at once, the
// next event is refused with how long to wait (at most one refill
// interval), and is allowed after that wait; other users and other buckets
// are untouched; with Redis, two nodes draw from one bucket.
func TestAllowIsATokenBucketPerUser(t *testing.T) {
	ctx := context.Background()
	for name, impl := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			a, b := impl[0], impl[1]
			const r, burst = rate.Limit(5), 4
			for i := range burst {
				node := []limits{a, b}[i%2] // alternate nodes: one bucket
				if d, err := node.Allow(ctx, "user-1", "send", r, burst); err != nil || d != 0 {
					t.Fatalf("event %d of the burst: wait %v, err %v", i+1, d, err)
				}
			}
			d, err := a.Allow(ctx, "user-1", "send", r, burst)
			if err != nil || d <= 0 || d > 200*time.Millisecond {
				t.Fatalf("event past the burst: wait %v, err %v; want (0, 200ms]", d, err)
			}
			if d2, _ := b.Allow(ctx, "user-1", "send", r, burst); d2 <= 0 {
				t.Fatal("the other node allowed what the first refused: the bucket is not shared")
			}
			if d, err := a.Allow(ctx, "user-2", "send", r, burst); err != nil || d != 0 {
				t.Fatalf("another user was limited: %v, %v", d, err)
			}
			if d, err := a.Allow(ctx, "user-1", "frame", r, burst); err != nil || d != 0 {
				t.Fatalf("another bucket was limited: %v, %v", d, err)
			}
			time.Sleep(d)
			untilAllowed(t, func() (time.Duration, error) { return b.Allow(ctx, "user-1", "send", r, burst) })
			for range 100 {
				if d, err := a.Allow(ctx, "user-3", "send", rate.Inf, 1); err != nil || d != 0 {
					t.Fatalf("rate.Inf refused: %v, %v", d, err)
				}
			}
		})
	}
}

// TestConnectionCap: a user holds at most `most` connections across nodes;
// the next is refused until one is released; acquiring a held connection
// again is not a new one; users are counted apart.
func TestConnectionCap(t *testing.T) {
	ctx := context.Background()
	const most = 5
	for name, impl := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			a, b := impl[0], impl[1]
			ids := []string{"c1", "c2", "c3", "c4", "c5"}
			for i, id := range ids {
				node := []limits{a, b}[i%2]
				if ok, err := node.Acquire(ctx, "user-1", id, most, time.Minute); err != nil || !ok {
					t.Fatalf("connection %d refused: %v", i+1, err)
				}
			}
			if ok, err := b.Acquire(ctx, "user-1", "c6", most, time.Minute); err != nil || ok {
				t.Fatalf("the sixth connection: ok %v, err %v; want refused", ok, err)
			}
			if ok, err := a.Acquire(ctx, "user-1", "c3", most, time.Minute); err != nil || !ok {
				t.Fatalf("acquiring a held connection again: %v, %v", ok, err)
			}
			if ok, err := a.Acquire(ctx, "user-2", "d1", most, time.Minute); err != nil || !ok {
				t.Fatalf("another user refused: %v, %v", ok, err)
			}
			if err := a.Release(ctx, "user-1", "c2"); err != nil {
				t.Fatal(err)
			}
			if ok, err := b.Acquire(ctx, "user-1", "c6", most, time.Minute); err != nil || !ok {
				t.Fatalf("after a release: %v, %v; want a free place", ok, err)
			}
			if err := b.Release(ctx, "user-1", "never-held"); err != nil {
				t.Fatalf("releasing a connection not held: %v", err)
			}
		})
	}
}

// Regression: a node that dies without releasing its connections must not
// lock its users out. In Redis each entry lives for its ttl unless the
// node's heartbeat refreshes it: the dead node's entries age out, the live
// node's stay.
func TestDeadNodesConnectionsAgeOut(t *testing.T) {
	ctx := context.Background()
	s := redistest.Start(t)
	live, dead := dialed(t, s), dialed(t, s)
	const ttl = 600 * time.Millisecond
	for _, id := range []string{"dead-1", "dead-2", "dead-3"} {
		if ok, err := dead.Acquire(ctx, "user-1", id, 5, ttl); err != nil || !ok {
			t.Fatal(ok, err)
		}
	}
	for _, id := range []string{"live-1", "live-2"} {
		if ok, err := live.Acquire(ctx, "user-1", id, 5, ttl); err != nil || !ok {
			t.Fatal(ok, err)
		}
	}
	if ok, _ := live.Acquire(ctx, "user-1", "new-1", 5, ttl); ok {
		t.Fatal("a sixth connection was accepted")
	}
	// The live node's heartbeat keeps its entries; the dead node's lapse.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := live.Refresh(ctx, map[string][]string{"user-1": {"live-1", "live-2"}}, ttl); err != nil {
			t.Fatal(err)
		}
		ok, err := live.Acquire(ctx, "user-1", "new-1", 5, ttl)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dead node's connections never aged out")
		}
		time.Sleep(ttl / 4)
	}
	// Now live-1, live-2 and new-1 are held: two more fit, not three.
	for _, id := range []string{"new-2", "new-3"} {
		if ok, err := live.Acquire(ctx, "user-1", id, 5, time.Minute); err != nil || !ok {
			t.Fatalf("%s: %v, %v", id, ok, err)
		}
	}
	if ok, _ := live.Acquire(ctx, "user-1", "new-4", 5, time.Minute); ok {
		t.Fatal("the refreshed connections were not counted")
	}
}

// The Redis keys are per user, in one hash slot per user, and never hold
// the user id itself.
func TestRedisKeysHideTheUserID(t *testing.T) {
	ctx := context.Background()
	s := redistest.Start(t)
	l := wrapped(t, redisClient(t, s))
	const user = "alice@example.org"
	if _, err := l.Allow(ctx, user, "send", 5, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AllowAll(ctx, user, []limit.Bucket{{Name: "send", Rate: 5, Burst: 10}, {Name: "frames", Rate: 50, Burst: 100}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(ctx, user, "conn-1", 5, time.Minute); err != nil {
		t.Fatal(err)
	}
	keys, err := redisClient(t, s).Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("keys %q, want two buckets and a connection set", keys)
	}
	tag := ""
	for _, k := range keys {
		if !strings.HasPrefix(k, "hearth:limit:user:{") || strings.Contains(k, "alice") {
			t.Errorf("key %q: want hearth:limit:user:{<hash>}:…, without the user id", k)
		}
		if k[:strings.Index(k, "}")] != tag && tag != "" {
			t.Errorf("key %q is in another hash slot than %q", k, tag)
		}
		tag = k[:strings.Index(k, "}")]
	}
	if c := s.Contents(t); strings.Contains(c, "alice") {
		t.Errorf("Redis holds the user id:\n%s", c)
	}
}

// A rate that is not positive is a caller's mistake, reported as such;
// Redis errors are wrapped, and come without retries; a malformed URL is
// refused at once.
func TestRedisErrors(t *testing.T) {
	ctx := context.Background()
	s := redistest.Start(t)
	l := dialed(t, s)
	if _, err := l.Allow(ctx, "u", "send", 0, 1); !errors.Is(err, limit.ErrBadLimit) {
		t.Fatalf("rate 0: %v, want ErrBadLimit", err)
	}
	s.Stop()
	// Within the caller's deadline: the hub checks limits on every frame.
	dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := l.Allow(dctx, "u", "send", 5, 1); err == nil {
		t.Fatal("no error with Redis down")
	} else if !strings.Contains(err.Error(), "limit: rate of send") {
		t.Fatalf("error %q does not say what failed", err)
	}
	if _, err := l.AllowAll(dctx, "u", []limit.Bucket{{Name: "frames", Rate: 5, Burst: 1}, {Name: "sends", Rate: 1, Burst: 1}}); err == nil {
		t.Fatal("no error with Redis down")
	} else if !strings.Contains(err.Error(), "limit: rates of frames+sends") {
		t.Fatalf("error %q does not say what failed", err)
	}
	if _, err := l.Acquire(ctx, "u", "c", 5, time.Minute); err == nil {
		t.Fatal("no error with Redis down")
	}
	if _, err := limit.DialRedis("http://not-redis", false); err == nil {
		t.Fatal("DialRedis accepted a URL that is not redis://")
	}
	if _, err := limit.DialRedis("redis://h1:7000,h2", true); err == nil {
		t.Fatal("DialRedis accepted a cluster seed without a port")
	}
}

// TestAllowAllIsAllOrNothing: AllowAll takes one event from every bucket
// or none: a refusal by one bucket takes nothing from the others, the wait
// is the longest among the refusing buckets, and the buckets are Allow's
// (one user's bucket of one name, shared by both calls and, with Redis, by
// both nodes). Both implementations give the same answers.
func TestAllowAllIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	frames := limit.Bucket{Name: "frames", Rate: 1, Burst: 3} // one event a second: no refill within the test
	sends := limit.Bucket{Name: "sends", Rate: 5, Burst: 1}
	for name, impl := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			a, b := impl[0], impl[1]
			allowed := func(node limits, user string, bs ...limit.Bucket) {
				t.Helper()
				if d, err := node.AllowAll(ctx, user, bs); err != nil || d != 0 {
					t.Fatalf("AllowAll(%s, %v): wait %v, err %v; want allowed", user, bs, d, err)
				}
			}
			refused := func(node limits, user string, lo, hi time.Duration, bs ...limit.Bucket) time.Duration {
				t.Helper()
				d, err := node.AllowAll(ctx, user, bs)
				if err != nil || d <= lo || d > hi {
					t.Fatalf("AllowAll(%s, %v): wait %v, err %v; want (%v, %v]", user, bs, d, err, lo, hi)
				}
				return d
			}
			// Both allow: each takes one (frames 2 left, sends empty).
			allowed(a, "user-1", frames, sends)
			// sends refuses on the other node: frames keeps its 2.
			refused(b, "user-1", 0, 200*time.Millisecond, frames, sends)
			refused(a, "user-1", 0, 200*time.Millisecond, sends, frames) // order does not matter
			for i := range 2 {
				if d, err := []limits{a, b}[i].Allow(ctx, "user-1", "frames", frames.Rate, frames.Burst); err != nil || d != 0 {
					t.Fatalf("frames event %d after refusals: wait %v, err %v; a refusal took from frames", i+1, d, err)
				}
			}
			// Now frames refuses too: the wait is the longer one, frames'
			// (up to 1 s), not sends' (up to 200 ms).
			refused(b, "user-1", 500*time.Millisecond, time.Second, sends, frames)

			// Allow and AllowAll draw from the same buckets.
			if d, err := a.Allow(ctx, "user-2", "sends", sends.Rate, sends.Burst); err != nil || d != 0 {
				t.Fatalf("Allow: %v, %v", d, err)
			}
			d := refused(b, "user-2", 0, 200*time.Millisecond, frames, sends)
			for range frames.Burst {
				if d, err := a.Allow(ctx, "user-2", "frames", frames.Rate, frames.Burst); err != nil || d != 0 {
					t.Fatalf("frames after a refused AllowAll: %v, %v; want its whole burst", d, err)
				}
			}
			// Other users are untouched; rate.Inf and no buckets allow
			// everything.
			allowed(a, "user-3", frames, sends)
			for range 20 {
				allowed(b, "user-3", limit.Bucket{Name: "sends", Rate: rate.Inf})
				allowed(a, "user-3")
			}
			// A refused AllowAll is allowed after its wait.
			allowed(a, "user-4", sends)
			d = refused(b, "user-4", 0, 200*time.Millisecond, sends)
			time.Sleep(d)
			untilAllowed(t, func() (time.Duration, error) { return a.AllowAll(ctx, "user-4", []limit.Bucket{sends}) })
		})
	}
}

// AllowAll refuses buckets that cannot be checked — a rate that is not
// positive, a name given twice — in both implementations alike, and takes
// nothing then.
func TestAllowAllBadBuckets(t *testing.T) {
	ctx := context.Background()
	one := limit.Bucket{Name: "q", Rate: 1, Burst: 1}
	for name, impl := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			l := impl[0]
			if _, err := l.AllowAll(ctx, "u", []limit.Bucket{one, {Name: "z", Rate: 0, Burst: 1}}); !errors.Is(err, limit.ErrBadLimit) {
				t.Errorf("rate 0: %v, want ErrBadLimit", err)
			}
			if _, err := l.AllowAll(ctx, "u", []limit.Bucket{one, {Name: "n", Rate: rate.Limit(-1), Burst: 1}}); !errors.Is(err, limit.ErrBadLimit) {
				t.Errorf("negative rate: %v, want ErrBadLimit", err)
			}
			if _, err := l.AllowAll(ctx, "u", []limit.Bucket{one, one}); !errors.Is(err, limit.ErrDuplicateBucket) {
				t.Errorf("a bucket twice: %v, want ErrDuplicateBucket", err)
			}
			if d, err := l.Allow(ctx, "u", "q", one.Rate, one.Burst); err != nil || d != 0 {
				t.Errorf("after refused calls q gave %v, %v; want its event untaken", d, err)
			}
		})
	}
}

// BenchmarkRedisFrameAndSend: one op is one round of 64 users' goroutines
// each checking a chat send's two buckets (frames and sends) at once, on
// one Redis: with two Allow calls (two scripts) or one AllowAll (one
// script). Both go through the limiter's batcher. redis-cpu-µs/check is
// the Redis server's CPU (user+system, from INFO) per user's check.
func BenchmarkRedisFrameAndSend(b *testing.B) {
	s := redistest.Start(b)
	frames := limit.Bucket{Name: "frames", Rate: 1e6, Burst: 1e6}
	sends := limit.Bucket{Name: "sends", Rate: 1e6, Burst: 1e6}
	ctx := context.Background()
	for _, via := range []string{"Allow x2", "AllowAll"} {
		b.Run(via, func(b *testing.B) {
			l, err := limit.DialRedis(s.URL(), false)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			check := func(user string) error {
				_, err := l.AllowAll(ctx, user, []limit.Bucket{frames, sends})
				return err
			}
			if via == "Allow x2" {
				check = func(user string) error {
					if _, err := l.Allow(ctx, user, frames.Name, frames.Rate, frames.Burst); err != nil {
						return err
					}
					_, err := l.Allow(ctx, user, sends.Name, sends.Rate, sends.Burst)
					return err
				}
			}
			const users = 64
			if err := check("warm-up"); err != nil {
				b.Fatal(err)
			}
			info := redis.NewClient(&redis.Options{Addr: s.Addr()})
			defer info.Close()
			cpu0 := redistest.CPUSeconds(b, info)
			var wg sync.WaitGroup
			b.ReportAllocs()
			for b.Loop() {
				for u := range users {
					wg.Go(func() {
						if err := check("user-" + strconv.Itoa(u)); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
			b.StopTimer()
			b.ReportMetric((redistest.CPUSeconds(b, info)-cpu0)*1e6/float64(b.N*users), "redis-cpu-µs/check")
		})
	}
}

// untilAllowed asks allow again, after each wait it gives, until it allows
// (a bucket refilled), failing t after 10 s.
func untilAllowed(t *testing.T, allow func() (time.Duration, error)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := allow()
		if err != nil {
			t.Fatal(err)
		}
		if d == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the bucket never refilled")
		}
		time.Sleep(d)
	}
}
