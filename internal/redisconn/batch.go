package redisconn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// DefaultMaxBatch is how many script calls a Batcher sends in one pipeline
// at most, when BatcherOptions.MaxBatch is not set.
const DefaultMaxBatch = 128

// DefaultMaxInFlight is how many pipelines a Batcher has on their way at
// once, when BatcherOptions.MaxInFlight is not set: enough that one slow
// pipeline (a large reply, a cluster master failing over) does not hold
// up every other call of the node, few enough that calls still gather
// into pipelines under load.
const DefaultMaxInFlight = 4

// ErrBatcherClosed is the error of a call made, or still waiting to be
// sent, when its Batcher is closed.
var ErrBatcherClosed = errors.New("redisconn: script batcher closed")

// BatcherOptions tune NewBatcher. The zero value is the defaults.
type BatcherOptions struct {
	// MaxBatch caps how many calls one pipeline carries, and how many calls
	// may wait for the batcher's goroutine before Run blocks (on its
	// context) to hand one over; DefaultMaxBatch when <= 0.
	MaxBatch int
	// MaxInFlight caps how many pipelines are on their way at once;
	// DefaultMaxInFlight when <= 0.
	MaxInFlight int

	// hold, when set (tests only), is called by the batcher's goroutine
	// after it has taken the first call of a pipeline and before it
	// gathers the others waiting.
	hold func()
	// sending, when set (tests only), is called by a pipeline's goroutine
	// before it sends the pipeline.
	sending func()
}

// Batcher runs Lua scripts (EVALSHA) for many goroutines at once: the calls
// made while a pipeline is on its way are sent together in the next one, so
// under load they share round trips — and Redis's read and write system
// calls — while a call made alone costs what Script.Run costs. There is no
// timer and no added delay: once fewer than MaxInFlight pipelines are on
// their way, the batcher's goroutine takes one call, then every other call
// already waiting (up to MaxBatch), and sends them as one pipeline
// (rdb.Pipeline(); a *redis.ClusterClient splits it by slot, one pipeline
// per master, sent in parallel) on a goroutine of its own, which answers
// each caller. While MaxInFlight pipelines are on their way, calls gather
// for the next.
//
// The batcher's goroutine is started by NewBatcher and stopped by Close;
// it starts each pipeline's goroutine and waits for them before it
// returns. A Batcher is safe for concurrent use.
type Batcher struct {
	rdb      redis.Cmdable
	max      int
	inFlight int
	hold     func()
	sending  func()
	reqs     chan *call

	runCtx context.Context // the pipelines' context; ends at Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine has returned

	pipelines atomic.Uint64 // pipelines sent, NOSCRIPT re-runs included
	sent      atomic.Uint64 // calls sent (a call re-run after NOSCRIPT counts once)
}

// States of a call: waiting in the queue, taken into a pipeline by the
// batcher's goroutine, or given up by its caller before that.
const (
	callQueued int32 = iota
	callSent
	callAbandoned
)

// call is one Run waiting for its answer.
type call struct {
	script *redis.Script
	keys   []string
	args   []any
	state  atomic.Int32  // callQueued → callSent (goroutine) or callAbandoned (caller)
	cmd    *redis.Cmd    // the answer, set by the goroutine before done is closed
	done   chan struct{} // closed once cmd is set
}

// NewBatcher starts a Batcher of script calls on rdb (a *redis.Client or a
// *redis.ClusterClient, which the caller owns and closes after Close).
// Close stops its goroutine.
func NewBatcher(rdb redis.Cmdable, o BatcherOptions) *Batcher {
	n := o.MaxBatch
	if n <= 0 {
		n = DefaultMaxBatch
	}
	runCtx, cancel := context.WithCancel(context.Background())
	b := &Batcher{
		rdb:      rdb,
		max:      n,
		inFlight: cmp.Or(max(o.MaxInFlight, 0), DefaultMaxInFlight),
		hold:     o.hold,
		sending:  o.sending,
		reqs:     make(chan *call, n),
		runCtx:   runCtx,
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	go b.loop()
	return b
}

// Close stops the batcher's goroutine and waits for it: a pipeline on its
// way is given up (its context ends; go-redis may still wait out a read
// timeout) and its calls get an error, and calls not yet sent, or made
// later, get ErrBatcherClosed. It does not close rdb. Closing twice does
// nothing more.
func (b *Batcher) Close() {
	b.cancel()
	<-b.done
}

// BatcherStats count what a Batcher has sent since it started.
type BatcherStats struct {
	// Calls is how many calls were sent (a call sent again after
	// NOSCRIPT counts once; calls given up before they were sent, or
	// refused after Close, not at all).
	Calls uint64
	// Pipelines is how many pipelines carried them, NOSCRIPT re-runs
	// included: the round trips (on a cluster, a pipeline whose calls are
	// on several masters takes one round trip to each, in parallel).
	Pipelines uint64
}

// Stats returns what b has sent so far: Calls/Pipelines is how many calls
// share a round trip on average.
func (b *Batcher) Stats() BatcherStats {
	return BatcherStats{Calls: b.sent.Load(), Pipelines: b.pipelines.Load()}
}

// Run runs script s with keys and args, as s.Run(ctx, rdb, keys, args...)
// would, in the batcher's next pipeline, and returns its answer: read it
// with the *redis.Cmd's methods (Int64, Uint64, Slice, StringSlice, ...),
// as Script.Run's. A script missing from Redis's cache (NOSCRIPT: Redis
// restarted or its cache was flushed) is sent again with EVAL, in one
// pipeline for every such call of the batch, which loads it for the next
// calls — the answer is then EVAL's, as with Script.Run.
//
// Errors, from the Cmd's Err (and its readers):
//
//   - Redis's answer to this call (a script error, redis.Nil), as
//     Script.Run gives it;
//   - a failure of the whole pipeline (connection refused, an I/O timeout,
//     the pipeline's context ending at Close), the same for every call of
//     the pipeline, wrapped with %w (errors.Is and errors.As see through);
//   - ctx's error, as soon as ctx ends (Run does not wait for the pipeline
//     then). A call whose ctx ended before the batcher's goroutine took it
//     is never sent; one already taken may still run in Redis — as a
//     direct call may when its reply is not awaited;
//   - ErrBatcherClosed after Close.
//
// The pipeline runs with the batcher's own context, which ends only at
// Close: the callers' contexts do not bound it (each caller waits with its
// own); its I/O is bounded by the client's dial, read and write timeouts
// (Options.FailFast for clients that fail fast).
func (b *Batcher) Run(ctx context.Context, s *redis.Script, keys []string, args ...any) *redis.Cmd {
	if err := ctx.Err(); err != nil {
		return failed(ctx, err)
	}
	c := &call{script: s, keys: keys, args: args, done: make(chan struct{})}
	select {
	case b.reqs <- c:
	case <-ctx.Done():
		return failed(ctx, ctx.Err())
	case <-b.done:
		return failed(ctx, ErrBatcherClosed)
	}
	select {
	case <-c.done:
		return c.cmd
	case <-ctx.Done():
		c.state.CompareAndSwap(callQueued, callAbandoned) // not sent yet: it never will be
		return answered(ctx, c, ctx.Err())
	case <-b.done:
		return answered(ctx, c, ErrBatcherClosed)
	}
}

// answered returns c's answer if it has come, or a Cmd failed with err.
func answered(ctx context.Context, c *call, err error) *redis.Cmd {
	select {
	case <-c.done:
		return c.cmd
	default:
		return failed(ctx, err)
	}
}

// failed returns a Cmd whose error is err.
func failed(ctx context.Context, err error) *redis.Cmd {
	cmd := redis.NewCmd(ctx)
	cmd.SetErr(err)
	return cmd
}

// loop is the batcher's goroutine: while fewer than inFlight pipelines
// are on their way, it takes one call, then every other call already
// waiting, up to max, and runs them as one pipeline on a goroutine of its
// own; until Close. Every call it takes is answered, and every pipeline's
// goroutine has returned, before it returns.
func (b *Batcher) loop() {
	defer close(b.done)
	var pipes sync.WaitGroup
	defer pipes.Wait()
	slots := make(chan struct{}, b.inFlight)
	for {
		select {
		case <-b.runCtx.Done():
			return
		case slots <- struct{}{}:
		}
		var first *call
		select {
		case <-b.runCtx.Done():
			return
		case first = <-b.reqs:
		}
		if b.hold != nil {
			b.hold()
		}
		batch := []*call{first}
	gather:
		for len(batch) < b.max {
			select {
			case c := <-b.reqs:
				batch = append(batch, c)
			default:
				break gather
			}
		}
		pipes.Go(func() {
			defer func() { <-slots }()
			if b.sending != nil {
				b.sending()
			}
			b.exec(batch)
		})
	}
}

// exec sends the calls of batch that are still wanted as one pipeline of
// EVALSHA, then those answered NOSCRIPT as one pipeline of EVAL, and
// answers each call.
func (b *Batcher) exec(batch []*call) {
	live := batch[:0]
	for _, c := range batch {
		if c.state.CompareAndSwap(callQueued, callSent) {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return
	}
	defer func() {
		for _, c := range live {
			close(c.done)
		}
	}()
	if b.runCtx.Err() != nil {
		for _, c := range live {
			c.cmd = failed(b.runCtx, ErrBatcherClosed)
		}
		return
	}
	b.sent.Add(uint64(len(live)))
	pipe := b.rdb.Pipeline()
	for _, c := range live {
		c.cmd = c.script.EvalSha(b.runCtx, pipe, c.keys, c.args...)
	}
	b.pipelines.Add(1)
	if _, err := pipe.Exec(b.runCtx); err == nil {
		return
	}
	var again []*call
	for _, c := range live {
		if isNoScript(c.cmd.Err()) {
			again = append(again, c)
		}
	}
	if len(again) > 0 {
		pipe := b.rdb.Pipeline()
		for _, c := range again {
			c.cmd = c.script.Eval(b.runCtx, pipe, c.keys, c.args...)
		}
		b.pipelines.Add(1)
		_, _ = pipe.Exec(b.runCtx) // each Cmd holds its own outcome
	}
	for _, c := range live {
		if err := c.cmd.Err(); err != nil && !isReply(err) {
			c.cmd.SetErr(fmt.Errorf("redisconn: pipeline of %d script calls: %w", len(live), err))
		}
	}
}

// isNoScript reports whether err is Redis's NOSCRIPT: the script is not in
// its cache.
func isNoScript(err error) bool {
	return err != nil && (errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT"))
}

// isReply reports whether err is Redis's answer to the call itself (an
// error reply, or redis.Nil), which Run returns as Script.Run would —
// rather than a failure of the whole pipeline.
func isReply(err error) bool {
	var re redis.Error
	return errors.Is(err, redis.Nil) || errors.As(err, &re)
}
