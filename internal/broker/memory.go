package broker

import (
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
}

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
