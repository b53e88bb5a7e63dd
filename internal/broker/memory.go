package broker

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"hearth/internal/protocol"
)

// Memory is the single-process broker: seq counters, presence and delivery
// all live in this process. It starts no goroutines and is safe for
// concurrent use. The zero value is not usable; use NewMemory.
type Memory struct {
	deliver DeliverFunc

	mu    sync.Mutex // guards rooms (the map only)
	rooms map[string]*memRoom

	timersMu sync.Mutex // guards the fields below
	timers   map[string]*time.Timer
	onTimer  func(payload []byte)
	closed   bool
}

type memRoom struct {
	mu         sync.Mutex // guards everything below; held while delivering so order is seq order
	seq        uint64
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

// NewMemory returns an empty in-memory broker that hands events to deliver.
func NewMemory(deliver DeliverFunc) *Memory {
	return &Memory{deliver: deliver, rooms: make(map[string]*memRoom), timers: make(map[string]*time.Timer)}
}

func (m *Memory) room(id string) *memRoom {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[id]
	if !ok {
		r = &memRoom{members: make(map[string]*memMember)}
		m.rooms[id] = r
	}
	return r
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
	return r.publishLocked(m.deliver, room, event), nil
}

func (r *memRoom) publishLocked(deliver DeliverFunc, room string, event []byte) uint64 {
	r.seq++
	if r.subscribed {
		deliver(room, protocol.WithSeq(event, r.seq))
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
	return member, r.publishLocked(m.deliver, room, joinedEvent), nil
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
	return r.publishLocked(m.deliver, room, leftEvent), nil
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
	return r.publishLocked(m.deliver, room, event), 0, nil
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
		seq = r.publishLocked(m.deliver, room, event)
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
