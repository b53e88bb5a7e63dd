package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sharded pub/sub on a Redis Cluster (RedisConfig.Cluster).
//
// A room's channel, "hearth:room:{<id>}", lives in the slot of the room's
// keys; SPUBLISH (in the same scripts that assign the seq) delivers it
// within that slot's shard only. go-redis's ClusterClient.SSubscribe makes
// a PubSub whose one connection goes to the master of its first channel's
// slot, and after a reconnect it sends all of its channels in one
// SSUBSCRIBE, which Redis refuses (CROSSSLOT) when they are in different
// slots. So each subscribed room has a PubSub of its own (a shardSub): its
// connection is always to the right master, go-redis reconnects and
// re-subscribes it by itself when that master restarts, and nothing else
// is touched. The cost is one connection per subscribed room per node (a
// node subscribes only to rooms with local connections).
//
// Each shardSub's forwarder goroutine hands its messages, tagged with the
// shardSub, to the broker's one receive loop (receiveShards), so events
// still reach the DeliverFunc from a single goroutine, in seq order per
// room; messages of a shardSub that is no longer the room's current one
// are dropped there. Interruptions are told as on one server: a
// confirmation that no Subscribe is waiting for (go-redis re-subscribed
// after a reconnect) and a seq that does not follow deliver a nil frame and
// call the resubscribe handler. When Redis itself ends a subscription (a
// "sunsubscribe" it sends when the room's slot moved to another master:
// resharding, failover), the room is interrupted at once and re-subscribed
// on a new connection (rehome), routed by the cluster's refreshed slot map.

// shardSub is one room's sharded subscription on a cluster.
type shardSub struct {
	room      string
	ps        *redis.PubSub
	confirmed chan struct{} // closed by the receive loop at the first confirmation
	quiet     bool          // the first confirmation answers Subscribe, not an interruption; set before the forwarder starts

	// The receive loop's own.
	seen bool   // a confirmation has come
	last uint64 // seq of the last event delivered since the latest confirmation (0: none)
}

// shardMsg is what a forwarder hands the receive loop: a *redis.Message
// or *redis.Subscription of sub's PubSub.
type shardMsg struct {
	sub *shardSub
	msg any
}

// rehomeWait is how long a re-subscription waits for Redis's
// confirmation before it tries again on a fresh connection, and
// rehomePause the longest pause between tries.
const (
	rehomeWait  = 5 * time.Second
	rehomePause = 2 * time.Second
)

// errStale says a re-subscription was overtaken: the room was
// unsubscribed or subscribed afresh, or the broker is closing.
var errStale = errors.New("broker: subscription replaced")

// checkSharded checks that the cluster knows SPUBLISH (Redis 7 or later).
func checkSharded(ctx context.Context, c *redis.ClusterClient) error {
	info, err := c.Do(ctx, "COMMAND", "INFO", "SPUBLISH").Slice()
	if err != nil {
		return fmt.Errorf("broker: Redis Cluster does not answer COMMAND INFO: %w", err)
	}
	if len(info) != 1 || info[0] == nil {
		return errors.New("broker: this Redis Cluster has no sharded pub/sub (SPUBLISH): Hearth needs Redis 7 or later on a cluster")
	}
	return nil
}

// subscribeShard is Subscribe on a cluster.
func (r *Redis) subscribeShard(ctx context.Context, room string) error {
	r.subs.Store(room, struct{}{})
	sub, err := r.startShard(ctx, room, true, nil)
	if err == nil {
		select {
		case <-sub.confirmed:
			return nil
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	r.subs.Delete(room)
	if sub != nil {
		r.dropShard(room, sub)
	}
	return unavailable("subscribe", err)
}

// startShard opens a sharded subscription of room on a connection of its
// own and makes it the room's current one, closing the one it replaces.
// quiet says its first confirmation is awaited by Subscribe (not an
// interruption). When replace is not nil, it gives up with errStale unless
// replace is still the room's current subscription. It does not wait for
// Redis's confirmation (sub.confirmed). Errors: errStale, or go-redis's
// (the connection could not be made); sub is then current all the same
// (go-redis keeps trying) unless the error is errStale.
func (r *Redis) startShard(ctx context.Context, room string, quiet bool, replace *shardSub) (*shardSub, error) {
	sub := &shardSub{room: room, confirmed: make(chan struct{}), quiet: quiet}
	sub.ps = r.cluster.SSubscribe(ctx) // no channel yet: no connection yet
	r.mu.Lock()
	if r.closed || (replace != nil && r.shards[room] != replace) {
		r.mu.Unlock()
		_ = sub.ps.Close()
		return nil, errStale
	}
	old := r.shards[room]
	r.shards[room] = sub
	r.fwg.Add(1)
	r.mu.Unlock()
	if old != nil {
		_ = old.ps.Close()
	}
	// The channel first, then the reader: go-redis routes the connection
	// by the PubSub's channels, and a reader started first would connect
	// to a random node.
	err := sub.ps.SSubscribe(ctx, r.channel(room))
	go r.forward(sub, sub.ps.ChannelWithSubscriptions(redis.WithChannelSize(receiveBuffer)))
	return sub, err
}

// dropShard closes room's current subscription, if it is sub (any, when
// sub is nil), and forgets it.
func (r *Redis) dropShard(room string, sub *shardSub) {
	r.mu.Lock()
	cur := r.shards[room]
	if cur == nil || (sub != nil && cur != sub) {
		r.mu.Unlock()
		return
	}
	delete(r.shards, room)
	r.mu.Unlock()
	_ = cur.ps.Close()
}

// forward hands every message of sub's PubSub to the receive loop, until
// the PubSub is closed (which closes msgs).
func (r *Redis) forward(sub *shardSub, msgs <-chan any) {
	defer r.fwg.Done()
	for m := range msgs {
		r.in <- shardMsg{sub, m}
	}
}

// receiveShards is the receive loop on a cluster (see receive): it
// delivers the events of each room's current subscription, wakes
// Subscribe at its confirmation, and tells deliver of interruptions. It
// returns when Close has closed r.in.
func (r *Redis) receiveShards() {
	defer close(r.recvDone)
	for it := range r.in {
		sub := it.sub
		r.mu.Lock()
		current := r.shards[sub.room] == sub
		r.mu.Unlock()
		if !current {
			continue // replaced or dropped: its messages are no longer wanted
		}
		switch m := it.msg.(type) {
		case *redis.Message:
			r.event(sub.room, []byte(m.Payload), &sub.last)
		case *redis.Subscription:
			switch m.Kind {
			case "ssubscribe":
				// Stale messages of an earlier connection arrive before
				// this confirmation, never after: count afresh.
				sub.last = 0
				first := !sub.seen
				if first {
					sub.seen = true
					close(sub.confirmed)
				}
				if first && sub.quiet {
					continue
				}
				r.interrupted(sub.room) // go-redis re-subscribed after a reconnect, or a rehome
			case "sunsubscribe":
				// Redis ended the subscription: the slot moved to another
				// master. Nothing more arrives on this connection.
				sub.last = 0
				r.log.Warn("broker: Redis ended a room's subscription (its slot moved); subscribing again", "room", sub.room)
				if _, ok := r.subs.Load(sub.room); ok {
					r.deliver(sub.room, nil)
				}
				r.rehome(sub)
			}
		}
	}
}

// rehome subscribes room again on a fresh connection, in a goroutine of
// its own (owned by the broker: Close stops it), after Redis ended old:
// it has go-redis refresh its slot map, subscribes, and waits for the
// confirmation (which the receive loop treats as an interruption, so the
// hub is told and resyncs); without one within rehomeWait it tries again,
// with growing pauses, until it is confirmed, the room is unsubscribed or
// subscribed afresh, or the broker closes.
func (r *Redis) rehome(old *shardSub) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		cur := old
		for attempt := 1; ; attempt++ {
			r.cluster.ReloadState(r.runCtx)
			pause := min(time.Duration(attempt)*100*time.Millisecond, rehomePause)
			select {
			case <-r.runCtx.Done():
				return
			case <-time.After(pause): // let the slot map reload
			}
			ctx, cancel := context.WithTimeout(r.runCtx, rehomeWait)
			sub, err := r.startShard(ctx, old.room, false, cur)
			if errors.Is(err, errStale) {
				cancel()
				return
			}
			select {
			case <-sub.confirmed:
				cancel()
				return
			case <-ctx.Done():
			}
			cancel()
			if r.runCtx.Err() != nil {
				return
			}
			r.log.Warn("broker: room not yet subscribed again after its slot moved; trying again", "room", old.room, "attempt", attempt)
			cur = sub
		}
	}()
}
