package broker

import (
	"bytes"
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"sync"
	"time"

	"hearth/internal/protocol"
)

// Memory is the single-process broker: seq counters, presence, delivery
// and session buffers all live in this process. It starts no goroutines and
// is safe for concurrent use. The zero value is not usable; use NewMemory.
//
// Lock order: memRoom.mu → Memory.mu (a room's lock may be held while the
// set of open buffers is updated; Memory.mu is never held while a room's
// lock is taken).
type Memory struct {
	deliver DeliverFunc
	bufSize int // session buffer capacity, in events

	mu       sync.Mutex // guards the fields below
	rooms    map[string]*memRoom
	buffered map[*memRoom]struct{} // rooms whose session buffer is open
	bufSwept time.Time             // when expired buffers were last swept

	timersMu sync.Mutex // guards the fields below
	timers   map[string]*time.Timer
	onTimer  func(payload []byte)
	closed   bool
}

type memRoom struct {
	mu         sync.Mutex // guards everything below; held while delivering so order is seq order
	epoch      string     // the counter's epoch, made with the room: Memory never loses a counter
	seq        uint64
	bufUntil   time.Time // when the session buffer expires; zero: buffering off
	buf        [][]byte  // the session buffer: the last bufSize events, with seq, in seq order
	subscribed bool
	members    map[string]*memMember // by member id
	limits     map[string]time.Time  // PublishLimited windows: key -> end
	values     map[string]memValue   // Update's shared values: key -> value
	swept      time.Time             // when expired values were last swept
}

// memValue is one shared value of a room (see Memory.Update).
type memValue struct {
	val   []byte
	until time.Time // zero: no expiry
}

func (v memValue) live(now time.Time) bool { return v.until.IsZero() || now.Before(v.until) }

// memSweepEvery bounds how often Update sweeps a room's expired values, so
// they do not accumulate and an Update is not O(all keys).
const memSweepEvery = time.Second

type memMember struct {
	info  protocol.Member
	conns map[string]struct{}
}

// MemoryOption configures NewMemory.
type MemoryOption func(*Memory)

// WithBufferSize sets how many events a room's session buffer keeps (see
// Memory.OpenBuffer); DefaultBufferSize when n <= 0.
func WithBufferSize(n int) MemoryOption {
	return func(m *Memory) { m.bufSize = bufferSize(n) }
}

// NewMemory returns an empty in-memory broker that hands events to deliver.
func NewMemory(deliver DeliverFunc, opts ...MemoryOption) *Memory {
	m := &Memory{deliver: deliver, bufSize: DefaultBufferSize, rooms: make(map[string]*memRoom),
		buffered: make(map[*memRoom]struct{}), timers: make(map[string]*time.Timer)}
	for _, o := range opts {
		o(m)
	}
	return m
}

// room returns room id's state, creating it (with a new epoch) on first
// use. At most once per memSweepEvery it also drops every room's expired
// session buffer, so an expired buffer does not stay in memory just because
// its room is never touched again — without a goroutine.
func (m *Memory) room(id string) *memRoom {
	m.mu.Lock()
	r, ok := m.rooms[id]
	if !ok {
		r = &memRoom{epoch: "m" + rand.Text(), members: make(map[string]*memMember)}
		m.rooms[id] = r
	}
	var sweep []*memRoom
	if len(m.buffered) > 0 {
		if now := time.Now(); now.Sub(m.bufSwept) >= memSweepEvery {
			m.bufSwept = now
			for br := range m.buffered {
				sweep = append(sweep, br)
			}
		}
	}
	m.mu.Unlock()
	for _, br := range sweep {
		br.mu.Lock()
		br.bufferOnLocked(m, time.Now())
		br.mu.Unlock()
	}
	return r
}

// bufferOnLocked reports whether r's session buffer is open at now; an
// expired one is dropped (its events cleared) first.
func (r *memRoom) bufferOnLocked(m *Memory, now time.Time) bool {
	if r.bufUntil.IsZero() {
		return false
	}
	if now.Before(r.bufUntil) {
		return true
	}
	r.dropBufferLocked(m)
	return false
}

// dropBufferLocked turns r's buffering off and clears its events.
func (r *memRoom) dropBufferLocked(m *Memory) {
	clear(r.buf) // no reference to an event's text stays in the backing array
	r.buf, r.bufUntil = nil, time.Time{}
	m.mu.Lock()
	delete(m.buffered, r)
	m.mu.Unlock()
}

// Subscribe starts delivery of room's events to this node. It never fails.
func (m *Memory) Subscribe(_ context.Context, room string) error {
	r := m.room(room)
	r.mu.Lock()
	r.subscribed = true
	r.mu.Unlock()
	return nil
}

// Unsubscribe stops delivery of room's events. It never fails.
func (m *Memory) Unsubscribe(_ context.Context, room string) error {
	r := m.room(room)
	r.mu.Lock()
	r.subscribed = false
	r.mu.Unlock()
	return nil
}

// Publish assigns room's next seq to event and delivers it if the room is
// subscribed. It returns the seq. It never fails.
func (m *Memory) Publish(_ context.Context, room string, event []byte) (uint64, error) {
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.publishLocked(m, room, event), nil
}

// publishLocked assigns r's next seq to event, delivers it if r is
// subscribed and appends it to r's session buffer if that is open, evicting
// the oldest event beyond m.bufSize.
func (r *memRoom) publishLocked(m *Memory, room string, event []byte) uint64 {
	r.seq++
	buffer := r.bufferOnLocked(m, time.Now())
	if !r.subscribed && !buffer {
		return r.seq
	}
	frame := protocol.WithSeq(event, r.seq)
	if r.subscribed {
		m.deliver(room, frame) // frame is never modified afterwards, so the buffer may share it
	}
	if buffer {
		r.buf = append(r.buf, frame)
		if over := len(r.buf) - m.bufSize; over > 0 {
			r.buf = slices.Delete(r.buf, 0, over) // clears the vacated tail
		}
	}
	return r.seq
}

// Enter records connection connID of member in room. If it is the member's
// first connection there, member becomes present and joinedEvent is
// published (its seq is returned); otherwise nothing is published, seq is 0
// and the member's existing presence (the display name of their first
// connection) is returned. It never fails.
func (m *Memory) Enter(_ context.Context, room, connID string, member protocol.Member, joinedEvent []byte) (protocol.Member, uint64, error) {
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	if mm, ok := r.members[member.MemberID]; ok {
		mm.conns[connID] = struct{}{}
		return mm.info, 0, nil
	}
	r.members[member.MemberID] = &memMember{info: member, conns: map[string]struct{}{connID: {}}}
	return member, r.publishLocked(m, room, joinedEvent), nil
}

// Exit removes connection connID of memberID from room. If it was the
// member's last connection, they stop being present and leftEvent is
// published (its seq is returned); otherwise seq is 0. It never fails.
func (m *Memory) Exit(_ context.Context, room, connID, memberID string, leftEvent []byte) (uint64, error) {
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	mm, ok := r.members[memberID]
	if !ok {
		return 0, nil
	}
	if _, ok := mm.conns[connID]; !ok {
		return 0, nil
	}
	delete(mm.conns, connID)
	if len(mm.conns) > 0 {
		return 0, nil
	}
	delete(r.members, memberID)
	return r.publishLocked(m, room, leftEvent), nil
}

// Members returns the members present in room, ordered by member id. It
// never fails.
func (m *Memory) Members(_ context.Context, room string) ([]protocol.Member, error) {
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]protocol.Member, 0, len(r.members))
	for _, mm := range r.members {
		out = append(out, mm.info)
	}
	slices.SortFunc(out, func(a, b protocol.Member) int { return strings.Compare(a.MemberID, b.MemberID) })
	return out, nil
}

// PublishControl delivers msg, a control message for the nodes (not a room
// event: it takes no seq and clients never see it), to this node if it is
// subscribed to room. It never fails.
func (m *Memory) PublishControl(_ context.Context, room string, msg []byte) error {
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.subscribed {
		m.deliver(room, msg)
	}
	return nil
}

// PublishLimited is Publish, unless key was used within every: then nothing
// is published and the time left is returned. A successful publish starts a
// new window for key. It never fails.
func (m *Memory) PublishLimited(ctx context.Context, room string, event []byte, key string, every time.Duration) (uint64, time.Duration, error) {
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if until, ok := r.limits[key]; ok && now.Before(until) {
		return 0, until.Sub(now), nil
	}
	if r.limits == nil {
		r.limits = map[string]time.Time{}
	}
	for k, until := range r.limits { // keep the map as small as the live windows
		if !now.Before(until) {
			delete(r.limits, k)
		}
	}
	r.limits[key] = now.Add(every)
	return r.publishLocked(m, room, event), 0, nil
}

// Update changes room's shared value under key atomically: under the room's
// lock it reads the value (old is nil when absent or expired), calls fn
// once, and applies fn's result:
//
//   - err != nil: nothing is stored or published; Update returns err
//     unchanged.
//   - val equal to old (bytes.Equal; nil and empty are equal) and no event
//     (nil or empty): nothing is written; Update returns (old, 0, nil), so
//     an fn that returns old unchanged is a plain read.
//   - val equal to old with an event: the value is not rewritten (its
//     expiry stays) and the event is published, as the value is still the
//     one fn saw.
//   - val different from old: val is stored with expiry ttl (none when
//     ttl <= 0; nil or empty val deletes the key) and, in the same step, the
//     event (if any) is published with room's next seq exactly like Publish,
//     in seq order with the room's other events.
//
// It returns the value now stored (nil when none), the event's seq (0 when
// nothing was published) and fn's error. fn runs under the broker's room
// lock, with delivery of the room's events held: it must be quick and must
// not call the broker. fn receives its own copy of the value and may keep
// it; val is copied. Apart from fn's error, it never fails.
func (m *Memory) Update(_ context.Context, room, key string, ttl time.Duration, fn func(old []byte) (val, event []byte, err error)) ([]byte, uint64, error) {
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.sweepLocked(now)
	var old []byte
	if v, ok := r.values[key]; ok {
		if v.live(now) {
			old = bytes.Clone(v.val)
		} else {
			delete(r.values, key)
		}
	}
	val, event, err := fn(old)
	if err != nil {
		return nil, 0, err
	}
	if len(val) == 0 {
		val = nil
	}
	if !bytes.Equal(val, old) {
		if val == nil {
			delete(r.values, key)
		} else {
			v := memValue{val: bytes.Clone(val)}
			if ttl > 0 {
				v.until = now.Add(ttl)
			}
			if r.values == nil {
				r.values = make(map[string]memValue)
			}
			r.values[key] = v
		}
	} else if len(event) == 0 {
		return old, 0, nil
	}
	var seq uint64
	if len(event) > 0 {
		seq = r.publishLocked(m, room, event)
	}
	return val, seq, nil
}

// sweepLocked drops the room's expired values, at most once per
// memSweepEvery.
func (r *memRoom) sweepLocked(now time.Time) {
	if len(r.values) == 0 || now.Sub(r.swept) < memSweepEvery {
		return
	}
	r.swept = now
	for k, v := range r.values {
		if !v.live(now) {
			delete(r.values, k)
		}
	}
}

// Epoch returns room's epoch (the id of its seq counter, "m" and 26
// random base-32 characters, made when the room is first used; a new Memory
// — a restarted process — gives every room a new one) and the last seq
// assigned (0 before any event). Creating the counter eagerly means the
// epoch a member is given before the room's first event stays valid for
// that event. It never fails.
func (m *Memory) Epoch(_ context.Context, room string) (string, uint64, error) {
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.epoch, r.seq, nil
}

// OpenBuffer turns room's session buffer on, empty, for maxAge: until
// CloseBuffer or maxAge has passed, every event published to room with a
// seq is kept (the most recent WithBufferSize of them, DefaultBufferSize
// unless set) for Replay. Events published
// before are not in it; calling it again empties the buffer and restarts
// maxAge, so call it once, when a session starts. The buffer's events are
// dropped when it expires (checked on access to the room, and for all rooms
// at most once a second on any call). Errors: maxAge <= 0.
func (m *Memory) OpenBuffer(_ context.Context, room string, maxAge time.Duration) error {
	if err := checkMaxAge(maxAge); err != nil {
		return err
	}
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	m.openBufferLocked(r, maxAge)
	return nil
}

// openBufferLocked empties r's buffer and turns it on for maxAge; r.mu is
// held.
func (m *Memory) openBufferLocked(r *memRoom, maxAge time.Duration) {
	clear(r.buf)
	r.buf, r.bufUntil = nil, time.Now().Add(maxAge)
	m.mu.Lock()
	m.buffered[r] = struct{}{}
	m.mu.Unlock()
}

// EnsureBuffer turns room's session buffer on, empty, for maxAge if it is
// off (never opened, closed or expired), and does nothing if it is on: it
// never drops buffered events and never changes a running buffer's expiry.
// From its return every event published to room with a seq is kept, as
// OpenBuffer describes. Errors: maxAge <= 0.
func (m *Memory) EnsureBuffer(_ context.Context, room string, maxAge time.Duration) error {
	if err := checkMaxAge(maxAge); err != nil {
		return err
	}
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bufferOnLocked(m, time.Now()) {
		return nil
	}
	m.openBufferLocked(r, maxAge)
	return nil
}

// CloseBuffer turns room's session buffer off and drops its events, in one
// step under the room's lock: events published afterwards are not
// buffered, and nothing of the buffer remains. Closing a closed buffer does
// nothing. It never fails.
func (m *Memory) CloseBuffer(_ context.Context, room string) error {
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.bufUntil.IsZero() || r.buf != nil {
		r.dropBufferLocked(m)
	}
	return nil
}

// Replay returns the buffered events of room with seq > after, in seq
// order, each byte for byte as it was delivered live (seq inserted; a
// forgotten message as its stand-in), for a member reconnecting whose last
// event was seq after of epoch. gap reports that events after `after` are
// missing from events:
//
//   - epoch is empty or not room's current epoch (one of another counter:
//     here, of an earlier process), or after is beyond the current seq:
//     events is nil and gap is true — seqs of another counter cannot be
//     compared with after. Epoch and Replay(newEpoch, 0) then give what the
//     current counter's buffer holds.
//   - after is the current seq: nil, false — nothing was missed.
//   - otherwise gap is false only if the buffer holds every event from
//     after+1 to the current seq. When it does not (buffering was off, or
//     expired, or the oldest wanted events were evicted by newer ones),
//     gap is true and events are those the buffer does hold after `after`
//     (possibly none), so the client can show them and say that some
//     messages could not be recovered.
//
// The returned slices are the caller's. It never fails.
func (m *Memory) Replay(_ context.Context, room, epoch string, after uint64) ([][]byte, bool, error) {
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bufferOnLocked(m, time.Now())
	events, gap := replayFrom(epoch, after, r.epoch, r.seq, r.buf)
	for i, e := range events {
		events[i] = bytes.Clone(e)
	}
	return events, gap, nil
}

// Forget removes a deleted message from room's session buffer: the
// buffered `message` event with messageID is replaced by
// {"seq":N,"type":"message_deleted","room":room,"message_id":messageID}
// with the message's own seq N, so a replay has no hole in its seqs and no
// trace of the text. Nothing else is changed; a message not in the buffer
// (or no buffer) is not an error. It never fails.
func (m *Memory) Forget(_ context.Context, room, messageID string) error {
	r := m.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.bufferOnLocked(m, time.Now()) {
		return nil
	}
	for i, f := range r.buf {
		if isMessage(f, messageID) {
			r.buf[i] = standIn(room, messageID)
			if seq, ok := protocol.SeqOf(f); ok {
				r.buf[i] = protocol.WithSeq(r.buf[i], seq)
			}
		}
	}
	return nil
}

// Schedule arranges for payload to be handed to the timer handler (see
// SetTimerHandler) at due, once. A timer with the same id replaces the
// earlier one. It never fails.
func (m *Memory) Schedule(_ context.Context, due time.Time, id string, payload []byte) error {
	m.timersMu.Lock()
	defer m.timersMu.Unlock()
	if m.closed {
		return nil
	}
	if t, ok := m.timers[id]; ok {
		t.Stop()
	}
	m.timers[id] = time.AfterFunc(time.Until(due), func() {
		m.timersMu.Lock()
		delete(m.timers, id)
		fn := m.onTimer
		closed := m.closed
		m.timersMu.Unlock()
		if fn != nil && !closed {
			fn(payload)
		}
	})
	return nil
}

// SetTimerHandler sets the function that receives fired timers' payloads.
// It is called from a timer's own goroutine and may block briefly.
func (m *Memory) SetTimerHandler(fn func(payload []byte)) {
	m.timersMu.Lock()
	m.onTimer = fn
	m.timersMu.Unlock()
}

// Close stops every pending timer; none fires afterwards.
func (m *Memory) Close() error {
	m.timersMu.Lock()
	defer m.timersMu.Unlock()
	m.closed = true
	for id, t := range m.timers {
		t.Stop()
		delete(m.timers, id)
	}
	return nil
}
