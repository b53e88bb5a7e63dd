package broker

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"hearth/internal/protocol"
	"hearth/internal/redisconn"
)

// DefaultPresenceRefresh is how often a node extends the expiry of its own
// connections' presence entries in distributed mode. An entry not refreshed
// for three times this long (a node that died without saying goodbye) is
// purged by whichever node refreshes next, which publishes member_left.
const DefaultPresenceRefresh = 15 * time.Second

// RedisConfig configures NewRedis.
type RedisConfig struct {
	// URL is a redis:// or rediss:// URL: one server, or with Cluster the
	// seed nodes of a Redis Cluster, comma-separated
	// (redis://host1:port,host2:port; see redisconn.Open).
	URL string
	// Cluster says URL names a Redis Cluster (Redis 7 or later). Each
	// room's keys and its channel then share one hash slot, that of the
	// room's bucket (hash tag {b<k>}, k = a hash of the room id modulo
	// shardBuckets, so each script touches one slot), rooms use sharded
	// pub/sub (SPUBLISH, and SSUBSCRIBE on one connection per bucket with
	// subscribed rooms, to the master of its slot; see sharded.go), and
	// the timers live under the hash tag {timers}. On one server the keys,
	// channels and timer keys keep their historical names and
	// PUBLISH/SUBSCRIBE.
	Cluster bool
	// Logger receives operational messages (ids only, never content).
	Logger *slog.Logger
	// PresenceRefresh overrides DefaultPresenceRefresh (tests shorten it).
	PresenceRefresh time.Duration
	// BufferSize is how many events a room's session buffer keeps (see
	// Redis.OpenBuffer); DefaultBufferSize when <= 0. Every node of a
	// deployment should use the same size: each trims the buffer to its own
	// size when it publishes.
	BufferSize int
}

// key is room's Redis key named name: "hearth:{<id>}:<name>" on one server
// (the historical names), "hearth:{b<k>}{<id>}:<name>" on a cluster (see
// roomTag), so every key of a room — and on a cluster every key of its
// bucket — lands in one Redis Cluster slot.
func (r *Redis) key(room, name string) string {
	return "hearth:" + roomTag(room, r.cluster != nil) + ":" + name
}

// Redis keys of one room: its seq counter, presence entries and members.
func (r *Redis) seqKey(room string) string      { return r.key(room, "seq") }
func (r *Redis) presenceKey(room string) string { return r.key(room, "presence") }
func (r *Redis) membersKey(room string) string  { return r.key(room, "members") }

// channel is room's pub/sub channel: "hearth:room:<id>" on one server
// (PUBLISH, SUBSCRIBE), "hearth:room:{b<k>}{<id>}" on a cluster (SPUBLISH,
// SSUBSCRIBE), where the hash tag puts the channel in the slot of the
// room's keys — the scripts that publish touch that one slot — and on the
// master that holds them.
func (r *Redis) channel(room string) string {
	if r.cluster != nil {
		return ChannelPrefix + roomTag(room, true)
	}
	return ChannelPrefix + room
}

// Session buffer keys of one room (see Redis.OpenBuffer and Redis.Epoch):
// the epoch of the seq counter (a string), the buffer (a list of frames, in
// seq order) and the flag whose existence means buffering is on (its TTL
// is the buffer's maximum age).
func (r *Redis) epochKey(room string) string { return r.key(room, "epoch") }
func (r *Redis) bufKey(room string) string   { return r.key(room, "buf") }
func (r *Redis) bufOnKey(room string) string { return r.key(room, "bufon") }

// publishKeys are the KEYS of a script that publishes (see luaPublish):
// seq, then the script's own keys, then epoch, buf, bufon.
func (r *Redis) publishKeys(room string, own ...string) []string {
	keys := append([]string{r.seqKey(room)}, own...)
	return append(keys, r.epochKey(room), r.bufKey(room), r.bufOnKey(room))
}

// valueKey is the Redis key of room's shared value key (see Redis.Update),
// in the room's hash slot.
func (r *Redis) valueKey(room, key string) string { return r.key(room, "v:"+key) }

// luaNow sets `now` to the Redis server's clock in milliseconds, so that
// presence expiry does not depend on the nodes' clocks agreeing.
const luaNow = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// luaOthers defines others(member, except): how many live presence entries
// member has besides the entry except.
const luaOthers = `local function others(member, except)
  local prefix = member .. '|'
  local n = 0
  for _, e in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], now, '+inf')) do
    if e ~= except and string.sub(e, 1, #prefix) == prefix then n = n + 1 end
  end
  return n
end
`

// luaEpoch defines ensureEpoch(seqKey, epochKey, bufKey), which makes sure
// the room's seq counter has an epoch. A counter that does not exist (new,
// or lost: Redis restarted without persistence, or the key was deleted)
// is about to be created: it gets a new epoch, and the buffer — whose seqs
// belong to the old counter — is deleted. A counter whose epoch key alone is
// missing (written before epochs existed) gets a new epoch too; the buffer
// stays, as its seqs are still this counter's. The epoch is "e" and the
// Redis server's TIME in microseconds (seconds, then microseconds as six
// digits): unique for a counter created later, as long as the server's
// clock does not step back to that very microsecond. (Not math.random: Lua
// scripts seed it identically on every call.) Returns true when it made a
// new epoch.
const luaEpoch = `local function ensureEpoch(seqKey, epochKey, bufKey)
  if redis.call('EXISTS', seqKey, epochKey) == 2 then return false end
  if redis.call('EXISTS', seqKey) == 0 then redis.call('DEL', bufKey) end
  local t = redis.call('TIME')
  redis.call('SET', epochKey, 'e' .. t[1] .. string.format('%06d', tonumber(t[2])))
  return true
end
`

// luaPublish defines publish(channel, event): make sure the counter has an
// epoch (ensureEpoch), INCR the room's seq, publish the event (with
// pubcmd: PUBLISH or SPUBLISH, see scriptSet) with "seq"
// inserted as its first field (as protocol.WithSeq does), append that same
// frame to the session buffer if buffering is on, and return the seq. All in
// one script, so seqs reach subscribers — and the buffer — in order.
//
// Conventions of every script that publishes: KEYS[1] is the seq key and
// the last three KEYS are epoch, buf and bufon (publishKeys); the last ARGV
// is the buffer capacity. Buffering is on while the bufon flag exists with a
// TTL: the frame is RPUSHed, the list trimmed to the capacity (oldest
// dropped) and given the flag's remaining TTL, so it never outlives the
// flag. (A flag without a TTL is not one OpenBuffer sets; it is ignored, so
// no buffer can be made that never expires.)
const luaPublish = luaEpoch + `local function publish(channel, event)
  local n = #KEYS
  local epochKey, bufKey, onKey = KEYS[n - 2], KEYS[n - 1], KEYS[n]
  ensureEpoch(KEYS[1], epochKey, bufKey)
  local seq = redis.call('INCR', KEYS[1])
  local rest = string.sub(event, 2)
  local sep = ','
  if string.sub(rest, 1, 1) == '}' then sep = '' end
  local frame = '{"seq":' .. seq .. sep .. rest
  redis.call(pubcmd, channel, frame)
  local ttl = redis.call('PTTL', onKey)
  if ttl > 0 then
    redis.call('RPUSH', bufKey, frame)
    redis.call('LTRIM', bufKey, -tonumber(ARGV[#ARGV]), -1)
    redis.call('PEXPIRE', bufKey, ttl)
  end
  return seq
end
`

// KEYS: seq, epoch, buf, bufon. ARGV: channel, event, buffer capacity.
const publishSrc = luaPublish + `return publish(ARGV[1], ARGV[2])`

// KEYS: seq, presence, members, epoch, buf, bufon. ARGV: entry, member id,
// ttl ms, member json, channel, joined event, buffer capacity. Returns
// {seq or 0, member json in effect}. The
// presence keys expire after four ttls unless refreshed, so display names of
// a room whose nodes all died do not linger — and a late refresh still finds
// the expired entries to purge (and tell the room about).
const enterSrc = luaNow + luaOthers + luaPublish + `
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], 4 * tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[3], 4 * tonumber(ARGV[3]))
if others(ARGV[2], ARGV[1]) > 0 then
  local info = redis.call('HGET', KEYS[3], ARGV[2])
  if info then return {0, info} end
end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
return {publish(ARGV[5], ARGV[6]), ARGV[4]}`

// KEYS: seq, presence, members, epoch, buf, bufon. ARGV: entry, member id,
// channel, left event, buffer capacity. Returns the seq of member_left, or 0
// when the member is still present.
const exitSrc = luaNow + luaOthers + luaPublish + `
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
if others(ARGV[2], ARGV[1]) > 0 then return 0 end
redis.call('HDEL', KEYS[3], ARGV[2])
return publish(ARGV[3], ARGV[4])`

// KEYS: seq, presence, members. ARGV: ttl ms, entries this node owns...
// Extends this node's entries and purges expired ones; returns the member
// ids that are no longer present at all (their member_left is published by
// the caller).
var refreshScript = redis.NewScript(luaNow + luaOthers + `
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[1]), ARGV[i])
end
if #ARGV > 1 then
  redis.call('PEXPIRE', KEYS[2], 4 * tonumber(ARGV[1]))
  redis.call('PEXPIRE', KEYS[3], 4 * tonumber(ARGV[1]))
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
if #expired == 0 then return {} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
local gone, seen = {}, {}
for _, e in ipairs(expired) do
  local m = string.match(e, '^([^|]+)|')
  if m and not seen[m] then
    seen[m] = true
    if others(m, '') == 0 then
      redis.call('HDEL', KEYS[3], m)
      gone[#gone + 1] = m
    end
  end
end
return gone`)

// KEYS: seq, presence, members. Returns the member json of every member with
// a live entry.
var membersScript = redis.NewScript(luaNow + `
local ids, seen = {}, {}
for _, e in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], now, '+inf')) do
  local m = string.match(e, '^([^|]+)|')
  if m and not seen[m] then seen[m] = true; ids[#ids + 1] = m end
end
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[3], unpack(ids))`)

// Redis is the distributed broker. It owns its goroutines — the pub/sub
// receive loop, the presence refresher, the timer claimer and the script
// batcher's, and on a cluster one forwarder per bucket with subscribed
// rooms and, while a bucket's slot moves, its re-subscriber — started by
// NewRedis (and Subscribe) and stopped by Close. It is safe for concurrent
// use.
//
// The scripts of the request paths (Publish, PublishLimited, Update,
// Enter, Exit, Members, Epoch, Replay, Forget) go through a
// redisconn.Batcher: the calls that many connections make at the same
// moment are sent as one pipeline, one round trip (on a cluster, one per
// master involved), while a call made alone costs one round trip as
// before. Each script is still atomic on its own; a caller waits for its
// answer, so one caller's calls run in the order it makes them (unless a
// caller's ctx ends after its call was sent: its next call may then
// overtake it in another pipeline). The timer claimer and the presence
// refresher's own scripts are called directly; the member_left events the
// refresher publishes go through Publish.
type Redis struct {
	rdb     redis.UniversalClient
	batch   *redisconn.Batcher    // the request paths' scripts (see NewRedis), on brdb
	brdb    redis.UniversalClient // the batcher's client: no retries (see redisconn.Options.NoRetry)
	cluster *redis.ClusterClient  // nil on one server
	scripts *scriptSet            // plainScripts, or shardedScripts on a cluster
	timers  timerKeys
	ps      *redis.PubSub // one server: the node's one subscription connection; nil on a cluster
	deliver DeliverFunc
	log     *slog.Logger
	node    string
	every   time.Duration
	ttl     time.Duration
	bufSize int // session buffer capacity, in events

	runCtx   context.Context // ends at Close: the loops and re-subscribers
	cancel   context.CancelFunc
	wg       sync.WaitGroup // refresher, timer claimer, re-subscribers
	recvDone chan struct{}  // closed when the receive loop has returned

	// On a cluster: what the forwarders hand the receive loop, and the
	// forwarders themselves (Close waits for them before closing in).
	in  chan shardMsg
	fwg sync.WaitGroup

	subs sync.Map // room -> struct{}: rooms subscribed; messages of others are dropped

	mu            sync.Mutex
	closed        bool                           // Close has begun: no new subscription or goroutine
	waiting       map[string][]chan struct{}     // one server: channel -> Subscribe calls awaiting confirmation
	buckets       map[int]*bucketSub             // cluster: bucket -> its sharded subscription, while it has rooms
	entries       map[string]map[string]struct{} // room -> presence entries this node owns
	onTimer       func(payload []byte)
	onResubscribe func(room string)
}

// NewRedis connects to the Redis at cfg.URL (one server, or a cluster's
// seed nodes with cfg.Cluster), checks that it answers — on a cluster,
// that it offers sharded pub/sub — subscribes to nothing yet, and starts
// delivering events of subscribed rooms to deliver. Errors: a malformed
// URL, Redis not answering within ctx, a cluster older than Redis 7.
func NewRedis(ctx context.Context, cfg RedisConfig, deliver DeliverFunc) (*Redis, error) {
	rdb, err := redisconn.Open(cfg.URL, cfg.Cluster, redisconn.Options{})
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("broker: cannot use the live Redis: %w", err)
	}
	// The request paths' scripts go through a client of their own that
	// never re-sends: a pipeline whose reply timed out may have run, and
	// sending it again would publish its events twice.
	brdb, err := redisconn.Open(cfg.URL, cfg.Cluster, redisconn.Options{NoRetry: true})
	if err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r := &Redis{
		rdb:      rdb,
		brdb:     brdb,
		batch:    redisconn.NewBatcher(brdb, redisconn.BatcherOptions{}),
		scripts:  plainScripts,
		timers:   plainTimers,
		deliver:  deliver,
		log:      cfg.Logger,
		node:     rand.Text()[:10],
		every:    cmp.Or(cfg.PresenceRefresh, DefaultPresenceRefresh),
		bufSize:  bufferSize(cfg.BufferSize),
		runCtx:   runCtx,
		cancel:   cancel,
		recvDone: make(chan struct{}),
		waiting:  make(map[string][]chan struct{}),
		buckets:  make(map[int]*bucketSub),
		entries:  make(map[string]map[string]struct{}),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.ttl = 3 * r.every
	if c, ok := rdb.(*redis.ClusterClient); ok {
		if err := checkSharded(ctx, c); err != nil {
			cancel()
			r.batch.Close()
			_ = errors.Join(rdb.Close(), brdb.Close())
			return nil, err
		}
		r.cluster, r.scripts, r.timers = c, shardedScripts, clusterTimers
		r.in = make(chan shardMsg, receiveBuffer)
		go r.receiveShards()
	} else {
		r.ps = rdb.(*redis.Client).Subscribe(ctx)
		go r.receive(r.ps.ChannelWithSubscriptions(redis.WithChannelSize(receiveBuffer)))
	}
	r.wg.Add(2)
	go r.refreshLoop(runCtx)
	go r.timerLoop(runCtx)
	return r, nil
}

// receiveBuffer is how many pub/sub messages wait for the receive loop
// (go-redis's channel on one server; the forwarders' on a cluster).
const receiveBuffer = 4096

// Close stops the broker's goroutines and closes its Redis connections.
// It does not remove this node's presence entries; callers leave their
// rooms first.
func (r *Redis) Close() error {
	r.mu.Lock()
	r.closed = true
	var pss []*redis.PubSub
	for _, b := range r.buckets {
		b.gone = true // no forwarder starts, no re-subscriber swaps ps
		pss = append(pss, b.ps)
	}
	r.buckets = map[int]*bucketSub{}
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait() // no re-subscriber makes a new subscription from here on
	var err error
	if r.cluster != nil {
		for _, ps := range pss {
			_ = ps.Close()
		}
		r.fwg.Wait()
		close(r.in)
	} else {
		err = r.ps.Close()
	}
	<-r.recvDone
	r.batch.Close() // after the loops: refresh publishes through it
	return errors.Join(err, r.brdb.Close(), r.rdb.Close())
}

// Client returns the underlying Redis client, for health checks: a
// *redis.Client, or a *redis.ClusterClient on a cluster.
func (r *Redis) Client() redis.UniversalClient { return r.rdb }

// receive is the pub/sub receive loop on one server: it hands each message
// of a subscribed room to deliver, wakes Subscribe calls when Redis
// confirms them, and tells deliver (a nil frame) whenever delivery of a
// room was interrupted — a resubscription after a reconnect, or an event
// whose seq does not follow the last one delivered. last (the seq of the
// last event delivered per room, 0: none since the subscription was
// confirmed) is this goroutine's own.
func (r *Redis) receive(msgs <-chan any) {
	defer close(r.recvDone)
	last := map[string]uint64{}
	for msg := range msgs { // closed by ps.Close
		switch m := msg.(type) {
		case *redis.Message:
			// A message can still arrive after Unsubscribe returned (Redis
			// has not yet processed it): the contract is "until
			// Unsubscribe", so drop it.
			room, ok := strings.CutPrefix(m.Channel, ChannelPrefix)
			if !ok {
				continue
			}
			if _, sub := r.subs.Load(room); !sub {
				continue
			}
			prev := last[room]
			r.event(room, []byte(m.Payload), &prev)
			last[room] = prev
		case *redis.Subscription:
			room := strings.TrimPrefix(m.Channel, ChannelPrefix)
			if m.Kind != "subscribe" {
				delete(last, room) // unsubscribed: forget, so the map stays bounded
				continue
			}
			// A new subscription: its first event has no predecessor to
			// follow (stale messages of an earlier subscription of the
			// same channel arrive before this confirmation, never after).
			delete(last, room)
			r.mu.Lock()
			ws := r.waiting[m.Channel]
			delete(r.waiting, m.Channel)
			r.mu.Unlock()
			if len(ws) == 0 {
				// go-redis resubscribes every channel after a reconnect;
				// whatever was announced meanwhile was missed, and Redis
				// may have lost the room's counter. Tell the hub before
				// any event published after this confirmation.
				r.interrupted(room)
			}
			for _, w := range ws {
				close(w)
			}
		}
	}
}

// event hands frame, an event or control message of room, to deliver;
// when frame's seq does not follow *last (the seq of the last event
// delivered under the current subscription, 0 for none), it first tells
// deliver that delivery was interrupted (a nil frame). It sets *last to
// frame's seq. Called by the receive loop only.
func (r *Redis) event(room string, frame []byte, last *uint64) {
	if seq, ok := protocol.SeqOf(frame); ok { // control messages carry none
		if prev := *last; prev != 0 && seq != prev+1 {
			// Not the next seq: events were lost (go-redis dropped
			// some) or the counter started again (Redis lost it).
			r.log.Warn("broker: seq jumped; delivery interrupted", "room", room, "after", prev, "got", seq)
			r.deliver(room, nil)
		}
		*last = seq
	}
	r.deliver(room, frame)
}

// interrupted tells deliver (a nil frame) and the resubscribe handler that
// room was subscribed again after its subscription was lost — a
// reconnect, or on a cluster a slot that moved — so events published
// meanwhile were missed and Redis may have lost the room's counter. Called
// by the receive loop only, before any event of the new subscription.
func (r *Redis) interrupted(room string) {
	r.log.Info("broker: resubscribed after reconnect", "room", room)
	if _, sub := r.subs.Load(room); sub {
		r.deliver(room, nil)
	}
	r.mu.Lock()
	fn := r.onResubscribe
	r.mu.Unlock()
	if fn != nil {
		fn(room)
	}
}

// Subscribe subscribes this node to room's channel and returns once Redis
// has confirmed the subscription, so nothing published after it returns is
// missed. On a cluster the room's channel joins the connection of its
// bucket, to the master of the bucket's slot (see bucketSub). Errors:
// ErrUnavailable, or ctx's error.
func (r *Redis) Subscribe(ctx context.Context, room string) error {
	if r.cluster != nil {
		return r.subscribeShard(ctx, room)
	}
	ch := r.channel(room)
	w := make(chan struct{})
	r.mu.Lock()
	r.waiting[ch] = append(r.waiting[ch], w)
	r.mu.Unlock()
	r.subs.Store(room, struct{}{})
	err := r.ps.Subscribe(ctx, ch)
	if err == nil {
		select {
		case <-w:
			return nil
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	r.mu.Lock()
	r.waiting[ch] = slices.DeleteFunc(r.waiting[ch], func(c chan struct{}) bool { return c == w })
	r.mu.Unlock()
	r.subs.Delete(room)
	// Forget the channel so go-redis does not resubscribe it later.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = r.ps.Unsubscribe(uctx, ch)
	return unavailable("subscribe", err)
}

// Unsubscribe unsubscribes this node from room's channel. The channel is
// forgotten even if Redis cannot be told (it will not be resubscribed on
// reconnect). On a cluster the channel leaves its bucket's connection,
// which is closed when it was the bucket's last. Errors: ErrUnavailable.
func (r *Redis) Unsubscribe(ctx context.Context, room string) error {
	r.subs.Delete(room)
	if r.cluster != nil {
		return r.dropShard(ctx, room, nil)
	}
	if err := r.ps.Unsubscribe(ctx, r.channel(room)); err != nil {
		return unavailable("unsubscribe", err)
	}
	return nil
}

// Publish assigns room's next seq to event and publishes it, with one Lua
// script, sent in the batcher's next pipeline (one round trip, shared with
// the scripts other callers make at the same moment). Errors:
// ErrUnavailable; then nothing was published — unless ctx ended, or the
// connection failed, after the script was sent (then it may have run, as
// with any command whose reply is lost).
func (r *Redis) Publish(ctx context.Context, room string, event []byte) (uint64, error) {
	seq, err := r.batch.Run(ctx, r.scripts.publish, r.publishKeys(room), r.channel(room), event, r.bufSize).Uint64()
	if err != nil {
		return 0, unavailable("publish", err)
	}
	return seq, nil
}

func (r *Redis) roomKeys(room string) []string {
	return []string{r.seqKey(room), r.presenceKey(room), r.membersKey(room)}
}

// Enter records connection connID of member in room, atomically: if it is
// the member's first live connection, member becomes present and
// joinedEvent is published (its seq returned); otherwise seq is 0 and the
// member's existing presence is returned. Errors: ErrUnavailable.
func (r *Redis) Enter(ctx context.Context, room, connID string, member protocol.Member, joinedEvent []byte) (protocol.Member, uint64, error) {
	entry := presenceEntry(member.MemberID, connID)
	res, err := r.batch.Run(ctx, r.scripts.enter, r.publishKeys(room, r.presenceKey(room), r.membersKey(room)), entry, member.MemberID,
		r.ttl.Milliseconds(), protocol.Marshal(member), r.channel(room), joinedEvent, r.bufSize).Slice()
	if err != nil || len(res) != 2 {
		return protocol.Member{}, 0, unavailable("enter", err)
	}
	seq, _ := res[0].(int64)
	info, _ := res[1].(string)
	var in protocol.Member
	if err := json.Unmarshal([]byte(info), &in); err != nil {
		return protocol.Member{}, 0, fmt.Errorf("broker: bad presence record: %w", err)
	}
	r.mu.Lock()
	if r.entries[room] == nil {
		r.entries[room] = make(map[string]struct{})
	}
	r.entries[room][entry] = struct{}{}
	r.mu.Unlock()
	return in, uint64(seq), nil
}

// Exit removes connection connID of memberID from room, atomically: if it
// was the member's last live connection, leftEvent is published (its seq
// returned). Errors: ErrUnavailable; the entry is then left to expire after
// three refresh periods.
func (r *Redis) Exit(ctx context.Context, room, connID, memberID string, leftEvent []byte) (uint64, error) {
	entry := presenceEntry(memberID, connID)
	r.mu.Lock()
	delete(r.entries[room], entry)
	if len(r.entries[room]) == 0 {
		delete(r.entries, room)
	}
	r.mu.Unlock()
	seq, err := r.batch.Run(ctx, r.scripts.exit, r.publishKeys(room, r.presenceKey(room), r.membersKey(room)),
		entry, memberID, r.channel(room), leftEvent, r.bufSize).Uint64()
	if err != nil {
		return 0, unavailable("exit", err)
	}
	return seq, nil
}

// Members returns the members with a live connection in room, ordered by
// member id. Errors: ErrUnavailable.
func (r *Redis) Members(ctx context.Context, room string) ([]protocol.Member, error) {
	res, err := r.batch.Run(ctx, membersScript, r.roomKeys(room)).Slice()
	if err != nil {
		return nil, unavailable("members", err)
	}
	out := make([]protocol.Member, 0, len(res))
	for _, v := range res {
		s, ok := v.(string)
		if !ok {
			continue // an entry whose record was purged meanwhile
		}
		var m protocol.Member
		if json.Unmarshal([]byte(s), &m) == nil {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b protocol.Member) int { return strings.Compare(a.MemberID, b.MemberID) })
	return out, nil
}

// refreshLoop extends this node's presence entries every refresh period and
// purges entries that other (dead) nodes left behind, publishing member_left
// for members who are gone. One ticker per node, not per connection.
func (r *Redis) refreshLoop(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.refresh(ctx)
		}
	}
}

func (r *Redis) refresh(ctx context.Context) {
	r.mu.Lock()
	rooms := make(map[string][]any, len(r.entries))
	for room, es := range r.entries {
		args := []any{r.ttl.Milliseconds()}
		for e := range es {
			args = append(args, e)
		}
		rooms[room] = args
	}
	r.mu.Unlock()
	for room, args := range rooms {
		gone, err := refreshScript.Run(ctx, r.rdb, r.roomKeys(room), args...).StringSlice()
		if err != nil {
			r.log.Warn("broker: presence refresh failed", "room", room, "err", err)
			continue
		}
		for _, m := range gone {
			ev := protocol.Marshal(protocol.MemberLeftEvent{Type: protocol.TypeMemberLeft, Room: room, MemberID: m, TS: protocol.FormatTime(time.Now())})
			if _, err := r.Publish(ctx, room, ev); err != nil {
				r.log.Warn("broker: member_left for a vanished member not published", "room", room, "member_id", m, "err", err)
			}
		}
	}
}

// String identifies this node in logs.
func (r *Redis) String() string { return "redis-broker(node=" + r.node + ")" }

// PublishControl publishes msg, a control message for the nodes (no seq;
// clients never see it), on room's channel, after any event published
// before it. Errors: ErrUnavailable.
func (r *Redis) PublishControl(ctx context.Context, room string, msg []byte) error {
	var err error
	if r.cluster != nil {
		err = r.rdb.SPublish(ctx, r.channel(room), msg).Err()
	} else {
		err = r.rdb.Publish(ctx, r.channel(room), msg).Err()
	}
	if err != nil {
		return unavailable("publish control", err)
	}
	return nil
}

// KEYS: seq, limit key, epoch, buf, bufon. ARGV: channel, event, window ms,
// buffer capacity. Returns {seq, 0} or {0, ms left} when the limit key is
// still set.
const limitedSrc = luaPublish + `
local left = redis.call('PTTL', KEYS[2])
if left > 0 then return {0, left} end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
return {publish(ARGV[1], ARGV[2]), 0}`

// PublishLimited is Publish, unless key was used within every: then nothing
// is published and the time left is returned. The check, the new window and
// the publish are one Lua script, so the limit holds across nodes.
// Errors: ErrUnavailable.
func (r *Redis) PublishLimited(ctx context.Context, room string, event []byte, key string, every time.Duration) (uint64, time.Duration, error) {
	res, err := r.batch.Run(ctx, r.scripts.limited, r.publishKeys(room, r.key(room, "limit:"+key)),
		r.channel(room), event, every.Milliseconds(), r.bufSize).Int64Slice()
	if err != nil || len(res) != 2 {
		return 0, 0, unavailable("publish", err)
	}
	return uint64(res[0]), time.Duration(res[1]) * time.Millisecond, nil
}

// KEYS: seq, value, epoch, buf, bufon. ARGV: expected value, new value, ttl
// ms (0 = no expiry), channel, event, buffer capacity. An empty string stands for an absent value (GET
// returning nil compares equal to it), for deleting the key, and for no
// event. Compare and set: returns -1 (updateConflict) and changes nothing
// when the value is not the expected one; otherwise stores the new value
// (unless it is the expected one), publishes the event and returns its seq,
// or 0.
const updateSrc = luaPublish + `
local cur = redis.call('GET', KEYS[2]) or ''
if cur ~= ARGV[1] then return -1 end
if ARGV[2] ~= ARGV[1] then
  if ARGV[2] == '' then
    redis.call('DEL', KEYS[2])
  elseif tonumber(ARGV[3]) > 0 then
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  else
    redis.call('SET', KEYS[2], ARGV[2])
  end
end
if ARGV[5] == '' then return 0 end
return publish(ARGV[4], ARGV[5])`

// scriptSet is every script that publishes, for one kind of pub/sub: each
// is its source after a first line that sets pubcmd, the command luaPublish
// publishes with.
type scriptSet struct{ publish, enter, exit, limited, update *redis.Script }

func newScriptSet(pubcmd string) *scriptSet {
	head := "local pubcmd = '" + pubcmd + "'\n"
	return &scriptSet{
		publish: redis.NewScript(head + publishSrc),
		enter:   redis.NewScript(head + enterSrc),
		exit:    redis.NewScript(head + exitSrc),
		limited: redis.NewScript(head + limitedSrc),
		update:  redis.NewScript(head + updateSrc),
	}
}

// The scripts of one server (PUBLISH) and of a cluster (SPUBLISH: sharded
// pub/sub, delivered within the room's shard only).
var (
	plainScripts   = newScriptSet("PUBLISH")
	shardedScripts = newScriptSet("SPUBLISH")
)

// Update's retries when another writer changed the value between its read
// and its compare-and-set.
const (
	updateConflict = -1 // the update script's answer when the value changed
	updateAttempts = 50 // compare-and-set attempts before giving up
)

// Update changes room's shared value under key atomically across nodes. It
// reads the value (old is nil when absent or expired), calls fn, and applies
// fn's result in one Lua script that first checks the value is still old:
//
//   - err != nil: nothing is stored or published; Update returns err
//     unchanged.
//   - val equal to old (bytes.Equal; nil and empty are equal) and no event
//     (nil or empty): nothing is written (no script runs); Update returns
//     (old, 0, nil), so an fn that returns old unchanged is a plain read.
//   - val equal to old with an event: the value is not rewritten (its
//     expiry stays) and the event is published only if the value is still
//     old at that moment.
//   - val different from old: val is stored with expiry ttl (none when
//     ttl <= 0; nil or empty val deletes the key) and, in the same script,
//     the event (if any) is published with room's next seq exactly like
//     Publish, reaching subscribed nodes in seq order with the room's other
//     events.
//
// When the value changed between the read and the script (another node or
// goroutine), nothing is done and Update reads again and calls fn again,
// after a short jittered pause, up to updateAttempts times: fn may run more
// than once and must have no side effects. It returns the value now stored
// (nil when none) and the event's seq (0 when nothing was published).
// Errors: fn's error, unchanged; ErrUnavailable when Redis fails, ctx ends
// or the value stays contended for every attempt — then nothing was stored
// or published, except that a failure while the script itself was running
// leaves it unknown whether it ran.
func (r *Redis) Update(ctx context.Context, room, key string, ttl time.Duration, fn func(old []byte) (val, event []byte, err error)) ([]byte, uint64, error) {
	keys := r.publishKeys(room, r.valueKey(room, key))
	var ms int64
	if ttl > 0 {
		ms = (ttl + time.Millisecond - 1).Milliseconds() // round up: a ttl never means "no expiry"
	}
	for attempt := 1; ; attempt++ {
		old, err := r.rdb.Get(ctx, keys[1]).Bytes()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		if err != nil {
			return nil, 0, unavailable("update", err)
		}
		if len(old) == 0 {
			old = nil
		}
		val, event, err := fn(old)
		if err != nil {
			return nil, 0, err
		}
		if len(val) == 0 {
			val = nil
		}
		if bytes.Equal(val, old) && len(event) == 0 {
			return old, 0, nil
		}
		res, err := r.batch.Run(ctx, r.scripts.update, keys, old, val, ms, r.channel(room), event, r.bufSize).Int64()
		if err != nil {
			return nil, 0, unavailable("update", err)
		}
		if res != updateConflict {
			return val, uint64(res), nil
		}
		if attempt == updateAttempts {
			return nil, 0, unavailable("update", fmt.Errorf("value %q contended: changed by another writer in each of %d attempts", key, attempt))
		}
		// 1–2 ms at first, growing to 1–5 ms: jittered so that contenders
		// spread out rather than collide again.
		pause := time.Millisecond + mrand.N(time.Duration(min(1+attempt/4, 4))*time.Millisecond)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, 0, unavailable("update", ctx.Err())
		case <-t.C:
		}
	}
}

// KEYS: seq, epoch, buf. Creates the counter (at 0) with a new epoch if it
// does not exist (see luaEpoch); returns {epoch, seq}.
var epochScript = redis.NewScript(luaEpoch + `
ensureEpoch(KEYS[1], KEYS[2], KEYS[3])
redis.call('SET', KEYS[1], 0, 'NX')
return {redis.call('GET', KEYS[2]), redis.call('GET', KEYS[1])}`)

// Epoch returns room's epoch — the id of its seq counter, "e" followed by
// the Redis server's time in microseconds when the counter was created —
// and the last seq assigned (0 before any event). If the counter does not
// exist (a new room, or Redis lost it) it is created now, at 0, with a new
// epoch, so that the epoch a member is given before the room's next event
// stays valid for that event; a counter created later (after a loss) always
// gets a different epoch. Errors: ErrUnavailable.
func (r *Redis) Epoch(ctx context.Context, room string) (string, uint64, error) {
	res, err := r.batch.Run(ctx, epochScript, []string{r.seqKey(room), r.epochKey(room), r.bufKey(room)}).StringSlice()
	if err != nil || len(res) != 2 {
		return "", 0, unavailable("epoch", err)
	}
	seq, err := strconv.ParseUint(res[1], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("broker: bad seq counter of room %s: %w", room, err)
	}
	return res[0], seq, nil
}

// OpenBuffer turns room's session buffer on, empty, for maxAge (the session
// maximum), across nodes: until CloseBuffer or maxAge has passed, every
// event published to room with a seq is kept (the last
// RedisConfig.BufferSize of them) for Replay. It deletes any earlier buffer
// and sets the flag
// hearth:{<room>}:bufon (on a cluster hearth:{b<k>}{<room>}:bufon) with TTL maxAge (rounded up to whole ms) in one
// MULTI; the buffer hearth:{<room>}:buf takes the flag's remaining TTL at
// every append, so Redis drops both by maxAge at the latest. Events
// published before are not in it; calling it again empties the buffer and
// restarts maxAge, so call it once, when a session starts. Errors: maxAge
// <= 0; ErrUnavailable (then it is unknown whether buffering is on).
func (r *Redis) OpenBuffer(ctx context.Context, room string, maxAge time.Duration) error {
	if err := checkMaxAge(maxAge); err != nil {
		return err
	}
	ms := (maxAge + time.Millisecond - 1).Milliseconds()
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.bufKey(room))
		p.Set(ctx, r.bufOnKey(room), "1", time.Duration(ms)*time.Millisecond)
		return nil
	})
	if err != nil {
		return unavailable("open buffer", err)
	}
	return nil
}

// EnsureBuffer turns room's session buffer on for maxAge if it is off, and
// does nothing if it is on: it never deletes buffered events and never
// changes a running buffer's expiry. It is one SET hearth:{<room>}:bufon
// NX PX maxAge (rounded up to whole ms), atomic with every publish, so the
// buffer holds every event with a seq published after it returns, in seq
// order, and an existing buffer keeps what it held. Call it to rebuild what
// a Redis restart without persistence lost (the flag) while a session is
// open, with maxAge the time left of the session maximum; after a mere
// reconnect, with the flag still there, it changes nothing. Errors: maxAge
// <= 0; ErrUnavailable (then it is unknown whether buffering is on).
func (r *Redis) EnsureBuffer(ctx context.Context, room string, maxAge time.Duration) error {
	if err := checkMaxAge(maxAge); err != nil {
		return err
	}
	ms := (maxAge + time.Millisecond - 1).Milliseconds()
	if err := r.rdb.SetNX(ctx, r.bufOnKey(room), "1", time.Duration(ms)*time.Millisecond).Err(); err != nil {
		return unavailable("ensure buffer", err)
	}
	return nil
}

// CloseBuffer turns room's session buffer off and deletes it, in one
// command (DEL of the flag and the buffer): events published afterwards are
// not buffered, and no key of the buffer remains. Closing a closed buffer
// does nothing. Errors: ErrUnavailable (the buffer then still expires with
// its maxAge).
func (r *Redis) CloseBuffer(ctx context.Context, room string) error {
	if err := r.rdb.Del(ctx, r.bufOnKey(room), r.bufKey(room)).Err(); err != nil {
		return unavailable("close buffer", err)
	}
	return nil
}

// KEYS: seq, epoch, buf. ARGV: epoch, after. Returns {current epoch (empty
// when none), current seq (0 when none), frames...}: the frames from the
// one that should carry seq after+1 on (the buffer's seqs are consecutive;
// replayFrom checks), none when the epoch differs or nothing is newer than
// after. Read-only.
var replayScript = redis.NewScript(`
local epoch = redis.call('GET', KEYS[2]) or ''
local seq = redis.call('GET', KEYS[1]) or '0'
local out = {epoch, seq}
local after = tonumber(ARGV[2])
if epoch ~= ARGV[1] or after >= tonumber(seq) then return out end
local first = redis.call('LINDEX', KEYS[3], 0)
if not first then return out end
local start = 0
local fs = string.match(first, '^{"seq":(%d+)')
if fs then start = math.max(0, after + 1 - tonumber(fs)) end
for _, f in ipairs(redis.call('LRANGE', KEYS[3], start, -1)) do out[#out + 1] = f end
return out`)

// Replay returns the buffered events of room with seq > after, in seq
// order, each byte for byte as it was delivered live (seq inserted; a
// forgotten message as its stand-in), for a member reconnecting whose last
// event was seq after of epoch; one read-only script, so it is a
// consistent snapshot. gap reports that events after `after` are missing
// from events:
//
//   - epoch is empty or not room's current epoch (its counter was lost and
//     started again, or the room has no counter now), or after is beyond the
//     current seq: events is nil and gap is true — even if the new counter's
//     buffer holds events, their seqs cannot be compared with after. Epoch
//     and Replay(newEpoch, 0) then give what the new counter's buffer holds.
//   - after is the current seq: nil, false — nothing was missed.
//   - otherwise gap is false only if the buffer holds every event from
//     after+1 to the current seq. When it does not (buffering was off, or
//     expired, or the oldest wanted events were evicted by newer ones),
//     gap is true and events are those the buffer does hold after `after`
//     (possibly none), so the client can show them and say that some
//     messages could not be recovered.
//
// Errors: ErrUnavailable.
func (r *Redis) Replay(ctx context.Context, room, epoch string, after uint64) ([][]byte, bool, error) {
	res, err := r.batch.Run(ctx, replayScript, []string{r.seqKey(room), r.epochKey(room), r.bufKey(room)}, epoch, after).StringSlice()
	if err != nil || len(res) < 2 {
		return nil, false, unavailable("replay", err)
	}
	cur, err := strconv.ParseUint(res[1], 10, 64)
	if err != nil {
		return nil, false, fmt.Errorf("broker: bad seq counter of room %s: %w", room, err)
	}
	buf := make([][]byte, len(res)-2)
	for i, f := range res[2:] {
		buf[i] = []byte(f)
	}
	events, gap := replayFrom(epoch, after, res[0], cur, buf)
	return events, gap, nil
}

// KEYS: buf. ARGV: message id, stand-in event without seq. Replaces every
// `message` event with that message_id by the stand-in with the message's
// seq; returns how many. Entries are decoded (cjson) only when they contain
// "type":"message", which JSON escaping keeps out of any string value.
var forgetScript = redis.NewScript(`
local n = 0
for i, f in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if string.find(f, '"type":"message"', 1, true) then
    local ok, e = pcall(cjson.decode, f)
    if ok and type(e) == 'table' and e.type == 'message' and e.message_id == ARGV[1] then
      local seq = string.match(f, '^{"seq":(%d+)')
      local stand = ARGV[2]
      if seq then stand = '{"seq":' .. seq .. ',' .. string.sub(ARGV[2], 2) end
      redis.call('LSET', KEYS[1], i - 1, stand)
      n = n + 1
    end
  end
end
return n`)

// Forget removes a deleted message from room's session buffer, in one Lua
// script: the buffered `message` event with messageID is replaced (LSET) by
// {"seq":N,"type":"message_deleted","room":room,"message_id":messageID}
// with the message's own seq N, so a replay has no hole in its seqs and the
// buffer keeps no trace of the text. Nothing else is changed; a message not
// in the buffer (or no buffer) is not an error. Errors: ErrUnavailable.
func (r *Redis) Forget(ctx context.Context, room, messageID string) error {
	if err := r.batch.Run(ctx, forgetScript, []string{r.bufKey(room)}, messageID, standIn(room, messageID)).Err(); err != nil {
		return unavailable("forget", err)
	}
	return nil
}

// timerKeys are the keys of the timers: a sorted set of timer ids scored
// by due time (unix ms), a hash of their payloads, and the epoch of the two
// (a string made when the claim script first finds it missing: a new one
// says the timers were lost).
type timerKeys struct{ set, payloads, epoch string }

// The timers' keys on one server (their historical names) and on a
// cluster, where the hash tag {timers} keeps the three in one slot.
var (
	plainTimers   = timerKeys{"hearth:timers", "hearth:timers:payloads", "hearth:timers:epoch"}
	clusterTimers = timerKeys{"hearth:{timers}", "hearth:{timers}:payloads", "hearth:{timers}:epoch"}
)

// How often each node claims due timers, and how many at most per claim.
const (
	timerPoll  = 500 * time.Millisecond
	timerBatch = 50
)

// KEYS: timers, payloads, epoch. ARGV: limit. Claims due timers
// atomically: each is removed and returned by exactly one caller, on
// whichever node. Returns {epoch, payloads...}, making the epoch ("e" and
// the server's TIME in microseconds, t of luaNow) when it is missing.
var claimScript = redis.NewScript(luaNow + `
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = 'e' .. t[1] .. string.format('%06d', tonumber(t[2]))
  redis.call('SET', KEYS[3], epoch)
end
local out = {epoch}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local p = redis.call('HGET', KEYS[2], id)
  redis.call('HDEL', KEYS[2], id)
  if p then out[#out + 1] = p end
end
return out`)

// Schedule arranges for payload to be handed, once across all nodes, to the
// timer handler of whichever node claims it first at or after due. A timer
// with the same id replaces the earlier one. Errors: ErrUnavailable.
func (r *Redis) Schedule(ctx context.Context, due time.Time, id string, payload []byte) error {
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, r.timers.set, redis.Z{Score: float64(due.UnixMilli()), Member: id})
		p.HSet(ctx, r.timers.payloads, id, payload)
		return nil
	})
	if err != nil {
		return unavailable("schedule", err)
	}
	return nil
}

// SetResubscribeHandler sets the function told of each room resubscribed
// after a reconnect (anything published meanwhile was missed, so the node
// reloads what it caches and schedules again the timers the room's record
// implies). It is called from the receive goroutine, right after the
// DeliverFunc got the interruption (a nil frame) for the room. On a
// cluster it is also called, from the timer goroutine, for every
// subscribed room when the timers were lost (the master of the {timers}
// slot restarted empty) while the rooms' own masters, and so their
// subscriptions, stayed. It must not block.
func (r *Redis) SetResubscribeHandler(fn func(room string)) {
	r.mu.Lock()
	r.onResubscribe = fn
	r.mu.Unlock()
}

// SetTimerHandler sets the function that receives claimed timers'
// payloads, called from the broker's timer goroutine.
func (r *Redis) SetTimerHandler(fn func(payload []byte)) {
	r.mu.Lock()
	r.onTimer = fn
	r.mu.Unlock()
}

// timerLoop claims due timers every timerPoll — one poll per node, not per
// timer or connection. On a cluster it also watches the timers' epoch: when
// it changes, the timers were lost while this node ran, and timersLost
// has them rebuilt.
func (r *Redis) timerLoop(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTicker(timerPoll)
	defer t.Stop()
	epoch := "" // the timers' epoch at the last claim
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		fn := r.onTimer
		r.mu.Unlock()
		if fn == nil {
			continue
		}
		res, err := claimScript.Run(ctx, r.rdb, []string{r.timers.set, r.timers.payloads, r.timers.epoch}, timerBatch).StringSlice()
		if err != nil || len(res) == 0 {
			continue // Redis away: the timers wait in Redis for the next poll
		}
		if epoch != "" && res[0] != epoch && r.cluster != nil {
			r.timersLost()
		}
		epoch = res[0]
		for _, p := range res[1:] {
			fn([]byte(p))
		}
	}
}

// timersLost has the timers of every room this node is subscribed to
// scheduled again, through the resubscribe handler (Hub.Resync rebuilds a
// room's timers from its record). On one server a loss of the timers is a
// loss of everything, and the resubscriptions already do this; on a
// cluster the master of the {timers} slot may restart empty while the
// rooms' masters — and the rooms' subscriptions — stay up.
func (r *Redis) timersLost() {
	r.mu.Lock()
	fn := r.onResubscribe
	r.mu.Unlock()
	n := 0
	r.subs.Range(func(room, _ any) bool {
		if fn != nil {
			fn(room.(string))
		}
		n++
		return true
	})
	r.log.Warn("broker: timers were lost (their Redis restarted empty); rebuilding those of this node's rooms", "rooms", n)
}
