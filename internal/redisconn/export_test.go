package redisconn

import "github.com/redis/go-redis/v9"

// NewBatcherHeld is NewBatcher whose goroutine calls hold after taking the
// first call of each pipeline, before gathering the others waiting, so a
// test can let calls queue up behind it.
func NewBatcherHeld(rdb redis.Cmdable, o BatcherOptions, hold func()) *Batcher {
	o.hold = hold
	return NewBatcher(rdb, o)
}

// Queued returns how many calls wait for b's goroutine.
func Queued(b *Batcher) int { return len(b.reqs) }

// Closing reports whether Close has ended b's pipelines' context.
func Closing(b *Batcher) bool { return b.runCtx.Err() != nil }

// NewBatcherSending is NewBatcher whose pipelines' goroutines call sending
// before they send, so a test can hold one pipeline on its way.
func NewBatcherSending(rdb redis.Cmdable, o BatcherOptions, sending func()) *Batcher {
	o.sending = sending
	return NewBatcher(rdb, o)
}
