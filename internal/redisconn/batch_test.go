package redisconn_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"hearth/internal/redisconn"
	"hearth/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// incrScript counts its calls in KEYS[1] and answers {KEYS[1], ARGV[1]*2,
// the count}.
var incrScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
return {KEYS[1], tonumber(ARGV[1]) * 2, n}`)

// echoScript answers ARGV[1] (a second script, so a pipeline mixes two).
var echoScript = redis.NewScript(`return ARGV[1]`)

// client opens a client of s (FailFast, as the limits'), closed when the
// test ends.
func client(t testing.TB, s *redistest.Server) redis.UniversalClient {
	t.Helper()
	c, err := redisconn.Open(s.URL(), false, redisconn.Options{FailFast: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// batcher starts a Batcher on rdb, closed when the test ends.
func batcher(t testing.TB, rdb redis.Cmdable) *redisconn.Batcher {
	t.Helper()
	b := redisconn.NewBatcher(rdb, redisconn.BatcherOptions{})
	t.Cleanup(b.Close)
	return b
}

// held starts a Batcher whose goroutine, after taking the first call of
// each pipeline, reports on taken and waits for release (or the test's
// end) before gathering the others.
func held(t *testing.T, rdb redis.Cmdable) (b *redisconn.Batcher, taken <-chan struct{}, release func()) {
	t.Helper()
	tk, rel := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(rel) }) }
	b = redisconn.NewBatcherHeld(rdb, redisconn.BatcherOptions{}, func() {
		select {
		case tk <- struct{}{}:
		default:
		}
		<-rel
	})
	t.Cleanup(func() { release(); b.Close() })
	return b, tk, release
}

// load loads scripts into rdb's script cache, so that their first
// EVALSHA finds them.
func load(t *testing.T, rdb redis.Cmdable, scripts ...*redis.Script) {
	t.Helper()
	for _, sc := range scripts {
		if err := sc.Load(context.Background(), rdb).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// waitQueued waits until n calls wait for b's goroutine.
func waitQueued(t *testing.T, b *redisconn.Batcher, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for redisconn.Queued(b) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", redisconn.Queued(b), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// pipelines returns b's pipelines and calls sent so far.
func pipelines(b *redisconn.Batcher) (pipelines, calls uint64) {
	st := b.Stats()
	return st.Pipelines, st.Calls
}

// checkIncr checks cmd is incrScript's answer for key and arg.
func checkIncr(cmd *redis.Cmd, key string, arg int) error {
	res, err := cmd.Slice()
	if err != nil {
		return err
	}
	if len(res) != 3 || res[0] != key || res[1] != int64(2*arg) {
		return fmt.Errorf("answer %v, want [%s %d n]", res, key, 2*arg)
	}
	return nil
}

// Many goroutines calling at once each get the answer to their own call,
// exactly once each, on one server and on a cluster (whose client splits
// a pipeline by slot).
func TestBatcherAnswersEveryCaller(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := redistest.Start(t)
	c := redistest.StartCluster(t)
	cc, err := redisconn.Open(c.URL(), true, redisconn.Options{FailFast: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	for name, rdb := range map[string]redis.UniversalClient{"server": client(t, s), "cluster": cc} {
		t.Run(name, func(t *testing.T) {
			b := batcher(t, rdb)
			const callers, calls = 64, 20
			var wg sync.WaitGroup
			errs := make(chan error, callers*calls)
			for g := range callers {
				wg.Go(func() {
					for i := range calls {
						key := "k:" + strconv.Itoa(g) + ":" + strconv.Itoa(i%4)
						if err := checkIncr(b.Run(ctx, incrScript, []string{key}, g*1000+i), key, g*1000+i); err != nil {
							errs <- fmt.Errorf("caller %d call %d: %w", g, i, err)
						}
						want := "e" + strconv.Itoa(g)
						if got, err := b.Run(ctx, echoScript, nil, want).Text(); err != nil || got != want {
							errs <- fmt.Errorf("caller %d echo: %q, %v", g, got, err)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			// Each call ran exactly once: every key counted its calls.
			for g := range callers {
				key := "k:" + strconv.Itoa(g) + ":0"
				if n, err := rdb.Get(ctx, key).Int(); err != nil || n != calls/4 {
					t.Fatalf("%s counted %d, %v; want %d", key, n, err, calls/4)
				}
			}
			if p, n := pipelines(b); n != 2*callers*calls || p > n {
				t.Errorf("%d pipelines carried %d calls; want %d calls", p, n, 2*callers*calls)
			}
		})
	}
}

// Calls made while the batcher's goroutine is busy go out together: with
// the goroutine held on a first call while 49 more queue up, one pipeline
// carries all 50 and each gets its own answer.
func TestBatcherSharesOnePipeline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := redistest.Start(t)
	rdb := client(t, s)
	load(t, rdb, incrScript)
	b, taken, release := held(t, rdb)
	const n = 50
	inOnePipeline(t, b, taken, release, n, "", func(i int) error {
		key := "k" + strconv.Itoa(i)
		return checkIncr(b.Run(ctx, incrScript, []string{key}, i), key, i)
	})
	if p, c := pipelines(b); p != 1 || c != n {
		t.Fatalf("%d pipelines carried %d calls; want 1 pipeline of %d", p, c, n)
	}
}

// After SCRIPT FLUSH (as after a Redis restart) every call of a pipeline
// answered NOSCRIPT is run again with EVAL, in one more pipeline, and
// answers as Script.Run would; the next call finds the script loaded.
func TestBatcherReloadsFlushedScripts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := redistest.Start(t)
	rdb := client(t, s)
	b, taken, release := held(t, rdb)
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	const n = 10
	inOnePipeline(t, b, taken, release, n, " after SCRIPT FLUSH", func(i int) error {
		if i%2 == 1 {
			if got, err := b.Run(ctx, echoScript, nil, "x").Text(); err != nil || got != "x" {
				return fmt.Errorf("echo: %q, %v", got, err)
			}
			return nil
		}
		key := "k" + strconv.Itoa(i)
		return checkIncr(b.Run(ctx, incrScript, []string{key}, i), key, i)
	})
	if p, c := pipelines(b); p != 2 || c != n {
		t.Errorf("%d pipelines, %d calls; want the EVALSHA pipeline and one EVAL re-run, %d calls", p, c, n)
	}
	for i := range n / 2 {
		if n, err := rdb.Get(ctx, "k"+strconv.Itoa(2*i)).Int(); err != nil || n != 1 {
			t.Errorf("k%d counted %d, %v; want each call run once", 2*i, n, err)
		}
	}
	// Loaded now: one EVALSHA pipeline, no re-run.
	if err := checkIncr(b.Run(ctx, incrScript, []string{"k0"}, 7), "k0", 7); err != nil {
		t.Fatal(err)
	}
	if p, _ := pipelines(b); p != 3 {
		t.Errorf("%d pipelines after the reload, want 3", p)
	}
}

// Redis's answers to a call — an error reply, a nil — come back as
// Script.Run gives them, unwrapped, and do not fail the other calls of the
// pipeline.
func TestBatcherRepliesAsScriptRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := redistest.Start(t)
	rdb := client(t, s)
	b := batcher(t, rdb)
	boom := redis.NewScript(`return redis.error_reply('BOOM no such thing')`)
	nothing := redis.NewScript(`return false`)
	direct, batched := boom.Run(ctx, rdb, nil).Err(), b.Run(ctx, boom, nil).Err()
	if batched == nil || direct == nil || batched.Error() != direct.Error() || !redis.HasErrorPrefix(batched, "BOOM") {
		t.Errorf("error reply through the batcher %v; Script.Run gives %v", batched, direct)
	}
	if err := b.Run(ctx, nothing, nil).Err(); err != redis.Nil { //nolint:errorlint // exactly as Script.Run gives it
		t.Errorf("nil reply through the batcher: %v, want redis.Nil", err)
	}
	if got, err := b.Run(ctx, echoScript, nil, "still").Text(); err != nil || got != "still" {
		t.Errorf("after error replies: %q, %v", got, err)
	}
}

// A caller whose context ends gets its error at once, while its call
// waits behind a pipeline; a call given up before it was sent is never
// sent.
func TestBatcherCallerContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := redistest.Start(t)
	rdb := client(t, s)
	load(t, rdb, incrScript)
	b, taken, release := held(t, rdb)
	first := make(chan error, 1)
	go func() { first <- checkIncr(b.Run(ctx, incrScript, []string{"first"}, 1), "first", 1) }()
	<-taken
	cctx, ccancel := context.WithCancel(ctx)
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- b.Run(cctx, incrScript, []string{"given-up"}, 2).Err() }()
	waitQueued(t, b, 1)
	ccancel()
	select {
	case err := <-gaveUp:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled caller still waits for the held pipeline")
	}
	dctx, dcancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer dcancel()
	if err := b.Run(dctx, incrScript, []string{"given-up"}, 3).Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller past its deadline: %v, want context.DeadlineExceeded", err)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, "given-up").Result(); err != nil || n != 0 {
		t.Fatalf("a call given up before it was sent ran (exists %d, %v)", n, err)
	}
	if p, c := pipelines(b); p != 1 || c != 1 {
		t.Fatalf("%d pipelines carried %d calls; want only the first call sent", p, c)
	}
}

// With Redis down every caller — those in the pipeline and those waiting
// behind it — gets an error that still says why (errors.As finds the
// dial's *net.OpError), and none hangs; when Redis is back, calls work
// again.
func TestBatcherRedisDown(t *testing.T) {
	s := redistest.Start(t)
	rdb := client(t, s)
	b := batcher(t, rdb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := checkIncr(b.Run(ctx, incrScript, []string{"k"}, 1), "k", 1); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	const callers = 40
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { errs <- b.Run(ctx, incrScript, []string{"k"}, i).Err() })
	}
	wg.Wait() // a hang fails the test at ctx's deadline: errors would be DeadlineExceeded
	close(errs)
	for err := range errs {
		var op *net.OpError
		if err == nil || errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &op) {
			t.Fatalf("call with Redis down: %v; want the connection's error", err)
		}
		if !strings.Contains(err.Error(), "redisconn: pipeline of") {
			t.Fatalf("error %q does not say it failed with its pipeline", err)
		}
	}
	s.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := checkIncr(b.Run(ctx, incrScript, []string{"k"}, 2), "k", 2)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer after Redis came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close answers the calls not yet sent with ErrBatcherClosed, as it does
// every later call, and stops the goroutine (goleak checks at the end).
func TestBatcherClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := redistest.Start(t)
	rdb := client(t, s)
	b, taken, release := held(t, rdb)
	errs := make(chan error, 2)
	go func() { errs <- b.Run(ctx, echoScript, nil, "a").Err() }()
	<-taken
	go func() { errs <- b.Run(ctx, echoScript, nil, "b").Err() }()
	waitQueued(t, b, 1)
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	// Close ends the pipelines' context; the held goroutine then finds
	// it ended and sends nothing.
	deadline := time.Now().Add(10 * time.Second)
	for !redisconn.Closing(b) {
		if time.Now().After(deadline) {
			t.Fatal("Close did not end the batcher's context")
		}
		time.Sleep(time.Millisecond)
	}
	release()
	<-closed
	for range 2 {
		if err := <-errs; !errors.Is(err, redisconn.ErrBatcherClosed) {
			t.Errorf("call pending at Close: %v, want ErrBatcherClosed", err)
		}
	}
	if err := b.Run(ctx, echoScript, nil, "c").Err(); !errors.Is(err, redisconn.ErrBatcherClosed) {
		t.Errorf("call after Close: %v, want ErrBatcherClosed", err)
	}
	b.Close() // twice: nothing more
	if p, _ := pipelines(b); p != 0 {
		t.Errorf("%d pipelines sent after Close began", p)
	}
}

// BenchmarkScriptCalls: one op is one round of `callers` goroutines each
// making one script call (a GCRA-sized script: TIME, GET, SET) at once,
// through a Batcher or each with Script.Run on the shared client. What
// counts is Redis's side: roundtrips/op (pipelines, or calls for direct)
// and redis-cpu-µs/call (the server's user+system CPU, from INFO, per
// call).
func BenchmarkScriptCalls(b *testing.B) {
	s := redistest.Start(b)
	rdb := client(b, s)
	script := redis.NewScript(`
local t = redis.call('TIME')
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
redis.call('SET', KEYS[1], v + 1, 'PX', 60000)
return t[2]`)
	ctx := context.Background()
	for _, callers := range []int{1, 16, 64} {
		for _, via := range []string{"direct", "batcher"} {
			b.Run(fmt.Sprintf("callers=%d/%s", callers, via), func(b *testing.B) {
				bt := redisconn.NewBatcher(rdb, redisconn.BatcherOptions{})
				defer bt.Close()
				run := func(key string) error { return bt.Run(ctx, script, []string{key}).Err() }
				if via == "direct" {
					run = func(key string) error { return script.Run(ctx, rdb, []string{key}).Err() }
				}
				keys := make([]string, callers)
				for i := range keys {
					keys[i] = "bench:" + strconv.Itoa(i)
				}
				if err := run(keys[0]); err != nil { // the script loaded
					b.Fatal(err)
				}
				p0, _ := pipelines(bt)
				cpu0 := redistest.CPUSeconds(b, rdb)
				var wg sync.WaitGroup
				b.ReportAllocs()
				for b.Loop() {
					for _, k := range keys {
						wg.Go(func() {
							if err := run(k); err != nil {
								b.Error(err)
							}
						})
					}
					wg.Wait()
				}
				b.StopTimer()
				calls := float64(b.N * callers)
				trips := calls
				if via == "batcher" {
					p, _ := pipelines(bt)
					trips = float64(p - p0)
				}
				b.ReportMetric(trips/float64(b.N), "roundtrips/op")
				b.ReportMetric((redistest.CPUSeconds(b, rdb)-cpu0)*1e6/calls, "redis-cpu-µs/call")
			})
		}
	}
}

// inOnePipeline runs call(0) … call(n-1), each on its own goroutine, so
// that all n are in one pipeline: call(0) is taken by the held batcher
// (see held) while the others queue, then it is released. When every call
// has returned, each error is reported, with when (" after …") in it.
func inOnePipeline(t *testing.T, b *redisconn.Batcher, taken <-chan struct{}, release func(), n int, when string, call func(i int) error) {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = call(0) })
	<-taken
	for i := 1; i < n; i++ {
		wg.Go(func() { errs[i] = call(i) })
	}
	waitQueued(t, b, n-1)
	release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d%s: %v", i, when, err)
		}
	}
}

// One pipeline held on its way (a large reply, a master failing over) does
// not hold up the calls made after it: they go in another pipeline. With
// MaxInFlight 1 they wait for it.
func TestBatcherSlowPipelineDoesNotBlockOthers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := redistest.Start(t)
	rdb := client(t, s)
	for _, inFlight := range []int{2, 1} {
		entered, release := make(chan struct{}, 8), make(chan struct{})
		var once sync.Once
		b := redisconn.NewBatcherSending(rdb, redisconn.BatcherOptions{MaxInFlight: inFlight}, func() {
			first := false
			once.Do(func() { first = true })
			entered <- struct{}{}
			if first {
				<-release
			}
		})
		slow := make(chan error, 1)
		go func() { slow <- b.Run(ctx, echoScript, nil, "slow").Err() }()
		<-entered // the first pipeline is on its way, held
		quick := make(chan error, 1)
		go func() { quick <- b.Run(ctx, echoScript, nil, "quick").Err() }()
		select {
		case err := <-quick:
			if inFlight == 1 {
				t.Fatalf("MaxInFlight 1: a call was answered while the only pipeline was held (%v)", err)
			}
			if err != nil {
				t.Fatalf("quick call: %v", err)
			}
		case <-time.After(map[bool]time.Duration{true: 20 * time.Second, false: time.Second}[inFlight > 1]):
			// A generous wait for the answer that must come; a short one
			// for the answer that must not (it cannot come early by chance).
			if inFlight > 1 {
				t.Fatalf("MaxInFlight %d: the second call waited for the held pipeline", inFlight)
			}
		}
		close(release)
		if err := <-slow; err != nil {
			t.Fatalf("slow call: %v", err)
		}
		if inFlight == 1 {
			if err := <-quick; err != nil {
				t.Fatalf("quick call after the release: %v", err)
			}
		}
		b.Close()
	}
}
