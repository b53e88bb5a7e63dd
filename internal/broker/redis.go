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
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"hearth/internal/protocol"
)

// DefaultPresenceRefresh is how often a node extends the expiry of its own
// connections' presence entries in distributed mode. An entry not refreshed
// for three times this long (a node that died without saying goodbye) is
// purged by whichever node refreshes next, which publishes member_left.
const DefaultPresenceRefresh = 15 * time.Second

// RedisConfig configures NewRedis.
type RedisConfig struct {
	// URL is a redis:// or rediss:// URL.
	URL string
	// Logger receives operational messages (ids only, never content).
	Logger *slog.Logger
	// PresenceRefresh overrides DefaultPresenceRefresh (tests shorten it).
	PresenceRefresh time.Duration
}

// Redis keys of one room. The room id sits in a hash tag so every key of a
// room lands in one Redis Cluster slot.
func seqKey(room string) string      { return "hearth:{" + room + "}:seq" }
func presenceKey(room string) string { return "hearth:{" + room + "}:presence" }
func membersKey(room string) string  { return "hearth:{" + room + "}:members" }
func channel(room string) string     { return ChannelPrefix + room }

// valueKey is the Redis key of room's shared value key (see Redis.Update),
// in the room's hash slot.
func valueKey(room, key string) string { return "hearth:{" + room + "}:v:" + key }

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

// luaPublish defines publish(event): INCR the room's seq, PUBLISH the event
// with "seq" inserted as its first field (as protocol.WithSeq does), return
// the seq. INCR and PUBLISH in one script, so seqs reach subscribers in order.
const luaPublish = `local function publish(channel, event)
  local seq = redis.call('INCR', KEYS[1])
  local rest = string.sub(event, 2)
  local sep = ','
  if string.sub(rest, 1, 1) == '}' then sep = '' end
  redis.call('PUBLISH', channel, '{"seq":' .. seq .. sep .. rest)
  return seq
end
`

// KEYS: seq. ARGV: channel, event.
var publishScript = redis.NewScript(luaPublish + `return publish(ARGV[1], ARGV[2])`)

// KEYS: seq, presence, members. ARGV: entry, member id, ttl ms, member json,
// channel, joined event. Returns {seq or 0, member json in effect}. The
// presence keys expire after four ttls unless refreshed, so display names of
// a room whose nodes all died do not linger — and a late refresh still finds
// the expired entries to purge (and tell the room about).
var enterScript = redis.NewScript(luaNow + luaOthers + luaPublish + `
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], 4 * tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[3], 4 * tonumber(ARGV[3]))
if others(ARGV[2], ARGV[1]) > 0 then
  local info = redis.call('HGET', KEYS[3], ARGV[2])
  if info then return {0, info} end
end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
return {publish(ARGV[5], ARGV[6]), ARGV[4]}`)

// KEYS: seq, presence, members. ARGV: entry, member id, channel, left event.
// Returns the seq of member_left, or 0 when the member is still present.
var exitScript = redis.NewScript(luaNow + luaOthers + luaPublish + `
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
if others(ARGV[2], ARGV[1]) > 0 then return 0 end
redis.call('HDEL', KEYS[3], ARGV[2])
return publish(ARGV[3], ARGV[4])`)

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

// Redis is the distributed broker. It owns three goroutines — the pub/sub
// receive loop, the presence refresher and the timer claimer — started by
// NewRedis and stopped by Close. It is safe for concurrent use.
type Redis struct {
	rdb     *redis.Client
	ps      *redis.PubSub
	deliver DeliverFunc
	log     *slog.Logger
	node    string
	every   time.Duration
	ttl     time.Duration

	cancel context.CancelFunc
	wg     sync.WaitGroup

	subs sync.Map // room -> struct{}: rooms subscribed; messages of others are dropped

	mu            sync.Mutex
	waiting       map[string][]chan struct{}     // channel -> Subscribe calls awaiting confirmation
	entries       map[string]map[string]struct{} // room -> presence entries this node owns
	onTimer       func(payload []byte)
	onResubscribe func(room string)
}

// NewRedis connects to the Redis at cfg.URL, checks that it answers,
// subscribes to nothing yet, and starts delivering events of subscribed
// rooms to deliver. Errors: a malformed URL, or Redis not answering within
// ctx.
func NewRedis(ctx context.Context, cfg RedisConfig, deliver DeliverFunc) (*Redis, error) {
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("broker: bad Redis URL: %w", err)
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("broker: Redis at %s does not answer: %w", opts.Addr, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r := &Redis{
		rdb:     rdb,
		ps:      rdb.Subscribe(ctx),
		deliver: deliver,
		log:     cfg.Logger,
		node:    rand.Text()[:10],
		every:   cmp.Or(cfg.PresenceRefresh, DefaultPresenceRefresh),
		cancel:  cancel,
		waiting: make(map[string][]chan struct{}),
		entries: make(map[string]map[string]struct{}),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.ttl = 3 * r.every
	msgs := r.ps.ChannelWithSubscriptions(redis.WithChannelSize(4096))
	r.wg.Add(3)
	go r.receive(msgs)
	go r.refreshLoop(runCtx)
	go r.timerLoop(runCtx)
	return r, nil
}

// Close stops both goroutines and closes the Redis connections. It does not
// remove this node's presence entries; callers leave their rooms first.
func (r *Redis) Close() error {
	r.cancel()
	err := r.ps.Close()
	r.wg.Wait()
	return errors.Join(err, r.rdb.Close())
}

// Client returns the underlying Redis client, for health checks.
func (r *Redis) Client() *redis.Client { return r.rdb }

func (r *Redis) receive(msgs <-chan any) {
	defer r.wg.Done()
	for msg := range msgs { // closed by ps.Close
		switch m := msg.(type) {
		case *redis.Message:
			// A message can still arrive after Unsubscribe returned (Redis
			// has not yet processed it): the contract is "until
			// Unsubscribe", so drop it.
			if room, ok := strings.CutPrefix(m.Channel, ChannelPrefix); ok {
				if _, sub := r.subs.Load(room); sub {
					r.deliver(room, []byte(m.Payload))
				}
			}
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			r.mu.Lock()
			ws := r.waiting[m.Channel]
			delete(r.waiting, m.Channel)
			r.mu.Unlock()
			if len(ws) == 0 {
				// go-redis resubscribes every channel after a reconnect;
				// whatever was announced meanwhile was missed.
				room := strings.TrimPrefix(m.Channel, ChannelPrefix)
				r.log.Info("broker: resubscribed after reconnect", "room", room)
				r.mu.Lock()
				fn := r.onResubscribe
				r.mu.Unlock()
				if fn != nil {
					fn(room)
				}
			}
			for _, w := range ws {
				close(w)
			}
		}
	}
}

// Subscribe subscribes this node to room's channel and returns once Redis
// has confirmed the subscription, so nothing published after it returns is
// missed. Errors: ErrUnavailable, or ctx's error.
func (r *Redis) Subscribe(ctx context.Context, room string) error {
	ch := channel(room)
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
// reconnect). Errors: ErrUnavailable.
func (r *Redis) Unsubscribe(ctx context.Context, room string) error {
	r.subs.Delete(room)
	if err := r.ps.Unsubscribe(ctx, channel(room)); err != nil {
		return unavailable("unsubscribe", err)
	}
	return nil
}

// Publish assigns room's next seq to event and publishes it, in one Redis
// round trip (one Lua script). Errors: ErrUnavailable; then nothing was
// published.
func (r *Redis) Publish(ctx context.Context, room string, event []byte) (uint64, error) {
	seq, err := publishScript.Run(ctx, r.rdb, []string{seqKey(room)}, channel(room), event).Uint64()
	if err != nil {
		return 0, unavailable("publish", err)
	}
	return seq, nil
}

func roomKeys(room string) []string {
	return []string{seqKey(room), presenceKey(room), membersKey(room)}
}

// Enter records connection connID of member in room, atomically: if it is
// the member's first live connection, member becomes present and
// joinedEvent is published (its seq returned); otherwise seq is 0 and the
// member's existing presence is returned. Errors: ErrUnavailable.
func (r *Redis) Enter(ctx context.Context, room, connID string, member protocol.Member, joinedEvent []byte) (protocol.Member, uint64, error) {
	entry := presenceEntry(member.MemberID, connID)
	res, err := enterScript.Run(ctx, r.rdb, roomKeys(room), entry, member.MemberID,
		r.ttl.Milliseconds(), protocol.Marshal(member), channel(room), joinedEvent).Slice()
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
	seq, err := exitScript.Run(ctx, r.rdb, roomKeys(room), entry, memberID, channel(room), leftEvent).Uint64()
	if err != nil {
		return 0, unavailable("exit", err)
	}
	return seq, nil
}

// Members returns the members with a live connection in room, ordered by
// member id. Errors: ErrUnavailable.
func (r *Redis) Members(ctx context.Context, room string) ([]protocol.Member, error) {
	res, err := membersScript.Run(ctx, r.rdb, roomKeys(room)).Slice()
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
		gone, err := refreshScript.Run(ctx, r.rdb, roomKeys(room), args...).StringSlice()
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
	if err := r.rdb.Publish(ctx, channel(room), msg).Err(); err != nil {
		return unavailable("publish control", err)
	}
	return nil
}

// KEYS: seq, limit key. ARGV: channel, event, window ms. Returns {seq, 0} or
// {0, ms left} when the limit key is still set.
var limitedScript = redis.NewScript(luaPublish + `
local left = redis.call('PTTL', KEYS[2])
if left > 0 then return {0, left} end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
return {publish(ARGV[1], ARGV[2]), 0}`)

// PublishLimited is Publish, unless key was used within every: then nothing
// is published and the time left is returned. The check, the new window and
// the publish are one Lua script, so the limit holds across nodes.
// Errors: ErrUnavailable.
func (r *Redis) PublishLimited(ctx context.Context, room string, event []byte, key string, every time.Duration) (uint64, time.Duration, error) {
	res, err := limitedScript.Run(ctx, r.rdb, []string{seqKey(room), "hearth:{" + room + "}:limit:" + key},
		channel(room), event, every.Milliseconds()).Int64Slice()
	if err != nil || len(res) != 2 {
		return 0, 0, unavailable("publish", err)
	}
	return uint64(res[0]), time.Duration(res[1]) * time.Millisecond, nil
}

// KEYS: seq, value. ARGV: expected value, new value, ttl ms (0 = no
// expiry), channel, event. An empty string stands for an absent value (GET
// returning nil compares equal to it), for deleting the key, and for no
// event. Compare and set: returns -1 (updateConflict) and changes nothing
// when the value is not the expected one; otherwise stores the new value
// (unless it is the expected one), publishes the event and returns its seq,
// or 0.
var updateScript = redis.NewScript(luaPublish + `
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
return publish(ARGV[4], ARGV[5])`)

// Update's retries when another writer changed the value between its read
// and its compare-and-set.
const (
	updateConflict = -1 // updateScript's answer when the value changed
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
	keys := []string{seqKey(room), valueKey(room, key)}
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
		res, err := updateScript.Run(ctx, r.rdb, keys, old, val, ms, channel(room), event).Int64()
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

// Timer keys: a sorted set of timer ids scored by due time (unix ms) and a
// hash of their payloads.
const (
	timersKey        = "hearth:timers"
	timerPayloadsKey = "hearth:timers:payloads"
	timerPoll        = 500 * time.Millisecond
	timerBatch       = 50
)

// KEYS: timers, payloads. ARGV: limit. Claims due timers atomically: each is
// removed and returned by exactly one caller, on whichever node.
var claimScript = redis.NewScript(luaNow + `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
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
		p.ZAdd(ctx, timersKey, redis.Z{Score: float64(due.UnixMilli()), Member: id})
		p.HSet(ctx, timerPayloadsKey, id, payload)
		return nil
	})
	if err != nil {
		return unavailable("schedule", err)
	}
	return nil
}

// SetResubscribeHandler sets the function told of each room resubscribed
// after a reconnect (anything published meanwhile was missed, so the node
// reloads what it caches). It is called from the receive goroutine and
// must not block.
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
// timer or connection.
func (r *Redis) timerLoop(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTicker(timerPoll)
	defer t.Stop()
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
		payloads, err := claimScript.Run(ctx, r.rdb, []string{timersKey, timerPayloadsKey}, timerBatch).StringSlice()
		if err != nil {
			continue // Redis away: the timers wait in Redis for the next poll
		}
		for _, p := range payloads {
			fn([]byte(p))
		}
	}
}
