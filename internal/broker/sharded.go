package broker

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sharded pub/sub on a Redis Cluster (RedisConfig.Cluster).
//
// go-redis's ClusterClient.SSubscribe makes a PubSub whose one connection
// goes to the master of its first channel's slot, and after a reconnect it
// sends all of its channels in one SSUBSCRIBE, which Redis refuses
// (CROSSSLOT) when they are in different slots: channels that share a
// PubSub must share a slot. One PubSub per channel would cost a node one
// Redis connection (with its own health-check ping) per room with local
// people and per connected person's personal channel — thousands — against
// the masters' maxclients.
//
// So on a cluster every room (a personal channel is a room to the broker)
// belongs to one of shardBuckets buckets, a stable hash of its id, and the
// bucket's hash tag "{b<k>}" comes first in the room's keys and channel:
// hearth:{b<k>}{<id>}:seq, hearth:room:{b<k>}{<id>}. All rooms of a bucket
// live in one slot — each script that publishes still touches one slot —
// and one PubSub per bucket with subscribed rooms (a bucketSub) carries all
// of them: SSUBSCRIBE and SUNSUBSCRIBE add and remove a room's channel,
// and the PubSub is closed when its last channel goes. A node holds at
// most shardBuckets subscription connections, however many people it
// serves; go-redis reconnects and re-subscribes a bucket by itself when
// its master restarts.
//
// Each bucketSub's forwarder goroutine hands its messages, tagged with the
// PubSub they came from, to the broker's one receive loop
// (receiveShards), so events still reach the DeliverFunc from a single
// goroutine, in seq order per room; messages of a PubSub that is no
// longer its bucket's, of a room no longer subscribed, and of a room whose
// current subscription Redis has not yet confirmed (an earlier
// subscription of the same channel on the same connection) are dropped
// there. Interruptions are told as on one server: a confirmation of a
// room's channel that no Subscribe is waiting for (go-redis re-sent every
// channel of the bucket after a reconnect, so each room gets its own) and
// a seq that does not follow deliver a nil frame and call the resubscribe
// handler. When Redis itself ends the subscriptions of a slot (a
// "sunsubscribe" for each channel of the bucket: the slot moved to another
// master by resharding or failover), each room is interrupted at once and
// the whole bucket is subscribed again on a new connection (rehome),
// routed by the cluster's refreshed slot map.

// shardBuckets is how many buckets the rooms and personal channels are
// hashed into on a cluster, and so the most subscription connections a
// node holds (one per bucket with a subscribed channel). Fewer buckets
// mean fewer connections per node; more mean a finer balance of rooms —
// and of publishing load — across masters, and finer resharding (a bucket
// is one slot and moves as one). 256 puts about 85 buckets on each of
// three masters and about 26 on each of ten: with N nodes each master
// holds at most about 256·N/masters subscription connections (10 nodes on
// 3 masters: about 850, well below the default maxclients of 10,000); how
// evenly the buckets' slots fall on the masters is not measured. Changing
// it renames every cluster key and channel: all nodes of a deployment must
// agree.
const shardBuckets = 256

// bucketOf is room's bucket on a cluster: FNV-1a (32 bits) of the id,
// modulo shardBuckets — the same on every node and every build.
func bucketOf(room string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(room))
	return int(h.Sum32() % shardBuckets)
}

// roomTag is what follows "hearth:" in every key of room, and
// ChannelPrefix in its channel on a cluster: "{<id>}" on one server (the
// historical names), "{b<k>}{<id>}" on a cluster, where the first brace
// pair — the hash tag — is the room's bucket k, and the second keeps the
// id apart from the key's suffix.
func roomTag(room string, cluster bool) string {
	if cluster {
		return "{b" + strconv.Itoa(bucketOf(room)) + "}{" + room + "}"
	}
	return "{" + room + "}"
}

// roomOfChannel is the room of a cluster channel
// (hearth:room:{b<k>}{<id>}), and false for any other name.
func roomOfChannel(ch string) (string, bool) {
	rest, ok := strings.CutPrefix(ch, ChannelPrefix+"{b")
	if !ok {
		return "", false
	}
	_, rest, ok = strings.Cut(rest, "}")
	if !ok || !strings.HasPrefix(rest, "{") || !strings.HasSuffix(rest, "}") || len(rest) < 2 {
		return "", false
	}
	return rest[1 : len(rest)-1], true
}

// bucketSub is the sharded subscription of one bucket on a cluster: one
// PubSub (one connection, to the master of the bucket's slot) carrying the
// channels of the bucket's subscribed rooms.
type bucketSub struct {
	k int

	// ops orders the bucket's SSUBSCRIBE and SUNSUBSCRIBE, and a rehome's
	// swap of ps, with the changes of rooms they go with, so Redis sees
	// one room's subscriptions in the order the broker made them. Taken
	// before Redis.mu, never after.
	ops     sync.Mutex
	started bool // a forwarder reads ps (under ops)

	// Under Redis.mu; ps changes only with ops held too.
	ps      *redis.PubSub
	rooms   map[string]*shardSub // rooms whose channel is on ps
	gone    bool                 // closed (no room left, or Close): no channel is added to it
	moving  bool                 // Redis ended its subscriptions; a rehome is under way
	settled chan struct{}        // a rehome's: closed at the first confirmation on the new ps
}

// shardSub is one room's subscription within its bucket.
type shardSub struct {
	room      string
	confirmed chan struct{} // closed by the receive loop at the first confirmation
	quiet     bool          // the first confirmation answers Subscribe, not an interruption

	// The receive loop's own.
	seen bool   // a confirmation has come
	last uint64 // seq of the last event delivered since the latest confirmation (0: none)
}

// shardMsg is what a forwarder hands the receive loop: a *redis.Message
// or *redis.Subscription of ps, b's PubSub when it was read.
type shardMsg struct {
	b   *bucketSub
	ps  *redis.PubSub
	msg any
}

// rehomeWait is how long a re-subscription waits for Redis's
// confirmation before it tries again on a fresh connection, and
// rehomePause the longest pause between tries.
const (
	rehomeWait  = 5 * time.Second
	rehomePause = 2 * time.Second
)

// errClosed says the broker is closing.
var errClosed = errors.New("broker: closed")

// checkSharded checks that the cluster knows SPUBLISH (Redis 7 or later).
func checkSharded(ctx context.Context, c *redis.ClusterClient) error {
	info, err := c.Do(ctx, "COMMAND", "INFO", "SPUBLISH").Slice()
	if err != nil {
		return fmt.Errorf("broker: the Redis Cluster does not offer sharded pub/sub (COMMAND INFO: %w); is it a Redis 7 cluster?", err)
	}
	if len(info) != 1 || info[0] == nil {
		return errors.New("broker: this Redis Cluster has no sharded pub/sub (SPUBLISH): Hearth needs Redis 7 or later on a cluster")
	}
	return nil
}

// subscribeShard is Subscribe on a cluster.
func (r *Redis) subscribeShard(ctx context.Context, room string) error {
	r.subs.Store(room, struct{}{})
	sub, err := r.addShard(ctx, room)
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
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = r.dropShard(uctx, room, sub)
		cancel()
	}
	return unavailable("subscribe", err)
}

// lockBucket returns bucket k's bucketSub with its ops held and not gone,
// making it (with a PubSub that has no connection yet) when create is
// set; nil, with nothing held, when there is none (or the broker is
// closing).
func (r *Redis) lockBucket(k int, create bool) *bucketSub {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil
		}
		b := r.buckets[k]
		if b == nil {
			if !create {
				r.mu.Unlock()
				return nil
			}
			b = &bucketSub{k: k, ps: r.cluster.SSubscribe(r.runCtx), rooms: map[string]*shardSub{}}
			r.buckets[k] = b
		}
		r.mu.Unlock()
		b.ops.Lock()
		r.mu.Lock()
		gone := b.gone
		r.mu.Unlock()
		if !gone {
			return b
		}
		b.ops.Unlock() // closed meanwhile: take the bucket's next bucketSub
	}
}

// addShard adds room's channel to its bucket's PubSub (making the bucket
// when it has none) and makes a new shardSub the room's current one. It
// does not wait for Redis's confirmation (sub.confirmed). Errors:
// errClosed, or go-redis's (the command could not be sent); sub is then
// current all the same (go-redis keeps trying) unless sub is nil.
func (r *Redis) addShard(ctx context.Context, room string) (*shardSub, error) {
	b := r.lockBucket(bucketOf(room), true)
	if b == nil {
		return nil, errClosed
	}
	defer b.ops.Unlock()
	sub := &shardSub{room: room, confirmed: make(chan struct{}), quiet: true}
	r.mu.Lock()
	b.rooms[room] = sub
	ps := b.ps
	r.mu.Unlock()
	err := ps.SSubscribe(ctx, r.channel(room))
	// The channel first, then the reader: go-redis routes the connection
	// by the PubSub's channels, and a reader started first would connect
	// to a random node.
	r.startForwarder(b, ps)
	return sub, err
}

// startForwarder starts the goroutine that reads ps, b's PubSub, unless
// one does already or b was closed or ps replaced meanwhile (then ps is
// closed by whoever did). Called with b.ops held.
func (r *Redis) startForwarder(b *bucketSub, ps *redis.PubSub) {
	if b.started {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if b.gone || b.ps != ps {
		return
	}
	b.started = true
	r.fwg.Add(1)
	go r.forward(b, ps, ps.ChannelWithSubscriptions(redis.WithChannelSize(receiveBuffer)))
}

// dropShard removes room's channel from its bucket — if sub is the room's
// current subscription (any, when sub is nil) — and closes the bucket's
// PubSub when it was the last. Errors: ErrUnavailable when the
// SUNSUBSCRIBE could not be sent (the channel is forgotten all the same:
// go-redis will not subscribe it again, and its messages are dropped).
func (r *Redis) dropShard(ctx context.Context, room string, sub *shardSub) error {
	b := r.lockBucket(bucketOf(room), false)
	if b == nil {
		return nil
	}
	defer b.ops.Unlock()
	r.mu.Lock()
	cur := b.rooms[room]
	if cur == nil || (sub != nil && cur != sub) {
		r.mu.Unlock()
		return nil
	}
	delete(b.rooms, room)
	last := len(b.rooms) == 0
	if last {
		b.gone = true
		delete(r.buckets, b.k)
	}
	ps := b.ps
	r.mu.Unlock()
	if last {
		_ = ps.Close()
		return nil
	}
	if err := ps.SUnsubscribe(ctx, r.channel(room)); err != nil {
		return unavailable("unsubscribe", err)
	}
	return nil
}

// forward hands every message of ps, b's PubSub, to the receive loop,
// until ps is closed (which closes msgs).
func (r *Redis) forward(b *bucketSub, ps *redis.PubSub, msgs <-chan any) {
	defer r.fwg.Done()
	for m := range msgs {
		r.in <- shardMsg{b, ps, m}
	}
}

// receiveShards is the receive loop on a cluster (see receive): it
// delivers the events of each subscribed room, wakes Subscribe at its
// confirmation, and tells deliver of interruptions. It returns when Close
// has closed r.in.
func (r *Redis) receiveShards() {
	defer close(r.recvDone)
	for it := range r.in {
		var ch string
		switch m := it.msg.(type) {
		case *redis.Message:
			ch = m.Channel
		case *redis.Subscription:
			ch = m.Channel
		default:
			continue // a pong
		}
		room, ok := roomOfChannel(ch)
		if !ok {
			continue
		}
		b := it.b
		r.mu.Lock()
		current := !b.gone && b.ps == it.ps
		sub := b.rooms[room]
		if s, ok := it.msg.(*redis.Subscription); ok && current && s.Kind == "ssubscribe" && b.settled != nil {
			close(b.settled) // the rehome's SSUBSCRIBE was accepted (one slot: all or none)
			b.settled, b.moving = nil, false
		}
		r.mu.Unlock()
		if !current || sub == nil {
			continue // replaced, closed or unsubscribed: its messages are no longer wanted
		}
		switch m := it.msg.(type) {
		case *redis.Message:
			if !sub.seen {
				continue // of an earlier subscription of this channel on this connection
			}
			r.event(room, []byte(m.Payload), &sub.last)
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
				r.interrupted(room) // go-redis re-subscribed after a reconnect, or a rehome
			case "sunsubscribe":
				if !sub.seen {
					// The answer to this node's own SUNSUBSCRIBE of an
					// earlier subscription, which came before the
					// current one's SSUBSCRIBE.
					continue
				}
				// Redis ended the subscription: the slot moved to another
				// master. Nothing more of this bucket arrives on this
				// connection.
				sub.last = 0
				r.log.Warn("broker: Redis ended a room's subscription (its slot moved); subscribing again", "room", room, "bucket", b.k)
				if _, ok := r.subs.Load(room); ok {
					r.deliver(room, nil)
				}
				r.mu.Lock()
				start := !b.moving
				b.moving = true
				r.mu.Unlock()
				if start {
					r.rehome(b)
				}
			}
		}
	}
}

// rehome subscribes bucket b's rooms again on a fresh connection, in a
// goroutine of its own (owned by the broker: Close stops it), after Redis
// ended b's subscriptions: it has go-redis refresh its slot map, swaps b's
// PubSub for a new one with every channel of b in one SSUBSCRIBE, and
// waits for a confirmation (the receive loop treats each room's as an
// interruption, so the hub is told and resyncs); without one within
// rehomeWait it tries again, with growing pauses, until one comes, b has
// no room left, or the broker closes.
func (r *Redis) rehome(b *bucketSub) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		for attempt := 1; ; attempt++ {
			r.cluster.ReloadState(r.runCtx)
			pause := min(time.Duration(attempt)*100*time.Millisecond, rehomePause)
			select {
			case <-r.runCtx.Done():
				return
			case <-time.After(pause): // let the slot map reload
			}
			settled, ok := r.resubscribeBucket(b)
			if !ok {
				return
			}
			t := time.NewTimer(rehomeWait)
			select {
			case <-settled:
				t.Stop()
				return
			case <-r.runCtx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			r.log.Warn("broker: bucket not yet subscribed again after its slot moved; trying again", "bucket", b.k, "attempt", attempt)
		}
	}()
}

// resubscribeBucket replaces b's PubSub by a new one subscribed to every
// channel of b's rooms, closes the old one, and returns the channel the
// receive loop closes at the new one's first confirmation. ok is false
// when b is closed (no room left, or the broker closing).
func (r *Redis) resubscribeBucket(b *bucketSub) (settled <-chan struct{}, ok bool) {
	b.ops.Lock()
	defer b.ops.Unlock()
	ps := r.cluster.SSubscribe(r.runCtx) // no channel yet: no connection yet
	r.mu.Lock()
	if b.gone {
		r.mu.Unlock()
		_ = ps.Close()
		return nil, false
	}
	old := b.ps
	b.ps, b.started = ps, false
	s := make(chan struct{})
	b.settled = s
	chans := make([]string, 0, len(b.rooms))
	for room := range b.rooms {
		chans = append(chans, r.channel(room))
	}
	r.mu.Unlock()
	_ = old.Close()
	ctx, cancel := context.WithTimeout(r.runCtx, rehomeWait)
	_ = ps.SSubscribe(ctx, chans...) // on failure go-redis connects again, with these channels, when the forwarder reads
	cancel()
	r.startForwarder(b, ps)
	return s, true
}
