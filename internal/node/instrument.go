package node

import (
	"context"
	"errors"
	"time"

	"hearth/internal/checkin"
	"hearth/internal/hub"
	"hearth/internal/metrics"
	"hearth/internal/protocol"
	"hearth/internal/room"
)

// This file wraps the broker and the stores so that every call reports to
// the node's metrics: failed publishes by kind, and each store operation's
// latency and failure by operation. The label values are the constants
// below, given to metrics.New: a fixed set, never a room id or text.

// Broker publish kinds: one per hub.Broker method that publishes.
const (
	pubEvent   = "event"   // Publish
	pubLimited = "limited" // PublishLimited (slow mode)
	pubControl = "control" // PublishControl
	pubEnter   = "enter"   // Enter (presence, member_joined)
	pubExit    = "exit"    // Exit (presence, member_left)
	pubUpdate  = "update"  // Update (shared values and their events)
)

var publishKinds = []string{pubEvent, pubLimited, pubControl, pubEnter, pubExit, pubUpdate}

// Store operations: one per method of room.Store and checkin.Store.
const (
	opCreateRoom       = "create_room"
	opRoom             = "room"
	opUpdateRoom       = "update_room"
	opRoomsOf          = "rooms_of"
	opPutInvite        = "put_invite"
	opTakeInvite       = "take_invite"
	opDeleteInvites    = "delete_invites"
	opAppendAudit      = "append_audit"
	opAudit            = "audit"
	opCheckinPut       = "checkin_put"
	opCheckinGet       = "checkin_get"
	opCheckinsByUser   = "checkin_list_by_user"
	opCheckinsByRoom   = "checkin_list_by_room"
	opCheckinDelete    = "checkin_delete"
	opCheckinsOfDelete = "checkin_delete_user"
)

var storeOps = []string{opCreateRoom, opRoom, opUpdateRoom, opRoomsOf, opPutInvite, opTakeInvite, opDeleteInvites,
	opAppendAudit, opAudit, opCheckinPut, opCheckinGet, opCheckinsByUser, opCheckinsByRoom, opCheckinDelete, opCheckinsOfDelete}

// failed reports whether err is a failure of the store or the broker: not
// nil, not one of the documented answers (not found, already exists), and
// not the caller giving up (a cancelled context; a deadline that passed
// while the store or broker was slow does count).
func failed(err error) bool {
	return err != nil && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, room.ErrNotFound) && !errors.Is(err, room.ErrExists) &&
		!errors.Is(err, checkin.ErrNotFound) && !errors.Is(err, checkin.ErrExists)
}

// countingBroker counts failed publishes of every kind in the node's
// metrics; everything else passes through.
type countingBroker struct {
	hub.Broker
	m *metrics.Metrics
}

// count counts *err, when a failure, as a failed publish of kind.
func (b countingBroker) count(kind string, err *error) {
	if failed(*err) {
		b.m.PublishError(kind)
	}
}

func (b countingBroker) Publish(ctx context.Context, room string, event []byte) (seq uint64, err error) {
	defer b.count(pubEvent, &err)
	return b.Broker.Publish(ctx, room, event)
}

func (b countingBroker) PublishLimited(ctx context.Context, room string, event []byte, key string, every time.Duration) (seq uint64, wait time.Duration, err error) {
	defer b.count(pubLimited, &err)
	return b.Broker.PublishLimited(ctx, room, event, key, every)
}

func (b countingBroker) PublishControl(ctx context.Context, room string, msg []byte) (err error) {
	defer b.count(pubControl, &err)
	return b.Broker.PublishControl(ctx, room, msg)
}

func (b countingBroker) Enter(ctx context.Context, room, connID string, member protocol.Member, joinedEvent []byte) (m protocol.Member, seq uint64, err error) {
	defer b.count(pubEnter, &err)
	return b.Broker.Enter(ctx, room, connID, member, joinedEvent)
}

func (b countingBroker) Exit(ctx context.Context, room, connID, memberID string, leftEvent []byte) (seq uint64, err error) {
	defer b.count(pubExit, &err)
	return b.Broker.Exit(ctx, room, connID, memberID, leftEvent)
}

// Update counts a failure of the broker, not fn's own error (a refusal,
// such as a full room, which Update returns unchanged).
func (b countingBroker) Update(ctx context.Context, room, key string, ttl time.Duration, fn func(old []byte) (val, event []byte, err error)) ([]byte, uint64, error) {
	var refused error
	cur, seq, err := b.Broker.Update(ctx, room, key, ttl, func(old []byte) ([]byte, []byte, error) {
		val, event, err := fn(old)
		refused = err
		return val, event, err
	})
	if refused == nil || !errors.Is(err, refused) {
		b.count(pubUpdate, &err)
	}
	return cur, seq, err
}

// timedStore reports every room.Store operation's latency and failures.
type timedStore struct {
	room.Store
	m *metrics.Metrics
}

// observe reports operation op, begun at start, that ended with *err.
func (s timedStore) observe(op string, start time.Time, err *error) {
	s.m.StoreOp(op, time.Since(start), failed(*err))
}

func (s timedStore) CreateRoom(ctx context.Context, r room.Room) (err error) {
	defer s.observe(opCreateRoom, time.Now(), &err)
	return s.Store.CreateRoom(ctx, r)
}

func (s timedStore) Room(ctx context.Context, id string) (r room.Room, err error) {
	defer s.observe(opRoom, time.Now(), &err)
	return s.Store.Room(ctx, id)
}

// UpdateRoom counts a failure of the store, not fn's own error (the
// change refused), which UpdateRoom returns unchanged.
func (s timedStore) UpdateRoom(ctx context.Context, id string, fn func(*room.Room) error) (room.Room, error) {
	start := time.Now()
	var refused error
	r, err := s.Store.UpdateRoom(ctx, id, func(r *room.Room) error {
		refused = fn(r)
		return refused
	})
	s.m.StoreOp(opUpdateRoom, time.Since(start), failed(err) && (refused == nil || !errors.Is(err, refused)))
	return r, err
}

func (s timedStore) RoomsOf(ctx context.Context, userID string) (ids []string, err error) {
	defer s.observe(opRoomsOf, time.Now(), &err)
	return s.Store.RoomsOf(ctx, userID)
}

func (s timedStore) PutInvite(ctx context.Context, inv room.Invite) (err error) {
	defer s.observe(opPutInvite, time.Now(), &err)
	return s.Store.PutInvite(ctx, inv)
}

func (s timedStore) TakeInvite(ctx context.Context, code string, now time.Time) (inv room.Invite, err error) {
	defer s.observe(opTakeInvite, time.Now(), &err)
	return s.Store.TakeInvite(ctx, code, now)
}

func (s timedStore) DeleteInvites(ctx context.Context, match func(room.Invite) bool) (n int, err error) {
	defer s.observe(opDeleteInvites, time.Now(), &err)
	return s.Store.DeleteInvites(ctx, match)
}

func (s timedStore) AppendAudit(ctx context.Context, roomID string, e room.AuditEntry) (err error) {
	defer s.observe(opAppendAudit, time.Now(), &err)
	return s.Store.AppendAudit(ctx, roomID, e)
}

func (s timedStore) Audit(ctx context.Context, roomID string, before uint64, limit int) (es []room.AuditEntry, err error) {
	defer s.observe(opAudit, time.Now(), &err)
	return s.Store.Audit(ctx, roomID, before, limit)
}

// timedCheckIns reports every checkin.Store operation's latency and
// failures.
type timedCheckIns struct {
	checkin.Store
	m *metrics.Metrics
}

func (s timedCheckIns) observe(op string, start time.Time, err *error) {
	s.m.StoreOp(op, time.Since(start), failed(*err))
}

func (s timedCheckIns) Put(ctx context.Context, c checkin.CheckIn) (err error) {
	defer s.observe(opCheckinPut, time.Now(), &err)
	return s.Store.Put(ctx, c)
}

func (s timedCheckIns) Get(ctx context.Context, id string) (c checkin.CheckIn, err error) {
	defer s.observe(opCheckinGet, time.Now(), &err)
	return s.Store.Get(ctx, id)
}

func (s timedCheckIns) ListByUser(ctx context.Context, userID string, before checkin.Cursor, limit int) (cs []checkin.CheckIn, err error) {
	defer s.observe(opCheckinsByUser, time.Now(), &err)
	return s.Store.ListByUser(ctx, userID, before, limit)
}

func (s timedCheckIns) ListByRoom(ctx context.Context, roomID string, before checkin.Cursor, limit int) (cs []checkin.CheckIn, err error) {
	defer s.observe(opCheckinsByRoom, time.Now(), &err)
	return s.Store.ListByRoom(ctx, roomID, before, limit)
}

func (s timedCheckIns) Delete(ctx context.Context, userID, id string) (err error) {
	defer s.observe(opCheckinDelete, time.Now(), &err)
	return s.Store.Delete(ctx, userID, id)
}

func (s timedCheckIns) DeleteUser(ctx context.Context, userID string) (n int, err error) {
	defer s.observe(opCheckinsOfDelete, time.Now(), &err)
	return s.Store.DeleteUser(ctx, userID)
}
