package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"hearth/internal/protocol"
	"hearth/internal/room"
)

// localRoom is one room as seen by this node: the local connections in it
// (or at its door), a cache of the room's durable state, and the messages
// recently seen in it. A node is subscribed exactly while it has local
// connections in the room (or joining it).
type localRoom struct {
	name string

	// subMu serializes Subscribe/Unsubscribe for this room; held across the
	// broker call. refs is guarded by Hub.roomsMu.
	subMu      sync.Mutex
	subscribed bool
	refs       int

	// state is the room's durable state as last loaded or announced; the
	// newest version wins.
	state atomic.Pointer[room.Room]
	// share is the room's sharing state as last heard (see share.go); the
	// highest version wins.
	share atomic.Pointer[protocol.QueueEvent]

	mu      sync.Mutex // guards members and recent; a leaf lock held while queueing
	members map[*conn]*roomConn
	recent  recentMessages
}

// roomConn is one connection's state in a local room. While pending (its
// join is still being answered) events are held in buf, so the joiner gets
// its joined reply first and misses nothing published after it entered.
// While waiting (in the lobby) it receives no room events.
type roomConn struct {
	memberID    string
	facilitates bool
	pending     bool
	waiting     bool
	buf         [][]byte
	hidden      map[string]bool // member ids whose messages this connection does not want
	// skipThrough: events with a seq up to it were replayed to this
	// connection already; copies still arriving live are dropped.
	skipThrough uint64
}

// setState caches r if it is newer than what is cached.
func (lr *localRoom) setState(r room.Room) {
	for {
		old := lr.state.Load()
		if old != nil && old.Version >= r.Version {
			return
		}
		if lr.state.CompareAndSwap(old, &r) {
			return
		}
	}
}

// deliver hands one room event from the broker to the local connections in
// the room: queued to those in it, held for those still joining, nothing
// for those at the door. A nil frame is the broker's word that delivery was
// interrupted (see broker.DeliverFunc): then every local connection is asked
// to resume instead (interrupted). A chat message queued to connections is
// followed to their sockets for obs's fan-out latency (see fanOut).
func (lr *localRoom) deliver(frame []byte, obs Observer) {
	if frame == nil {
		lr.interrupted()
		return
	}
	msg, isMsg := parseMessage(frame)
	var fan *fanOut
	if isMsg && msg.Type == protocol.TypeMessage {
		if ts, err := time.Parse(time.RFC3339Nano, msg.TS); err == nil {
			fan = &fanOut{accepted: ts, obs: obs}
		}
	}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	switch {
	case isMsg && msg.Type == protocol.TypeMessage:
		lr.recent.add(msg.MessageID, msg.From.MemberID, msg.Text)
	case isMsg && msg.Type == protocol.TypeMessageDeleted:
		lr.recent.forget(msg.MessageID)
	}
	if fan != nil {
		// Every member may get it; those that do not are taken off below,
		// in one step, so a writer can never bring it to zero early.
		fan.remaining.Store(int64(len(lr.members)))
	}
	var stand []byte // what a connection hiding the author gets instead, made once
	skipped := 0
	for c, rc := range lr.members {
		if rc.skipThrough > 0 {
			if seq, ok := protocol.SeqOf(frame); ok && seq <= rc.skipThrough {
				skipped++
				continue
			}
			rc.skipThrough = 0 // events arrive in seq order: no more copies
		}
		f := frame
		if msg.From.MemberID != "" && rc.hidden[msg.From.MemberID] {
			if stand == nil {
				seq, _ := protocol.SeqOf(frame)
				stand = protocol.Marshal(protocol.HiddenEvent{Seq: seq, Type: protocol.TypeHidden, Room: lr.name})
			}
			f = stand
		}
		switch {
		case rc.waiting:
			skipped++
		case rc.pending:
			rc.buf = append(rc.buf, f)
			skipped++
		default:
			if !c.put(queued{b: f, fan: fan}) {
				skipped++
			}
		}
	}
	if fan != nil && skipped > 0 {
		fan.skip(skipped, skipped < len(lr.members))
	}
}

// fanOut follows one chat message to the local connections it was queued
// to: remaining counts those that have not yet written it (or given up on
// it), and whoever brings it to zero — the writer of the last socket —
// reports the fan-out latency. One atomic operation per delivery.
type fanOut struct {
	remaining atomic.Int64
	accepted  time.Time // the message's ts
	obs       Observer
}

// done is one connection finished with the message: written, or given up.
func (f *fanOut) done() {
	if f.remaining.Add(-1) == 0 {
		f.obs.FanOut(time.Since(f.accepted))
	}
}

// skip takes n members that were not given the message off the count; if
// that brings it to zero, every writer finished already, and the latency
// is reported when anyone was given it at all (given).
func (f *fanOut) skip(n int, given bool) {
	if f.remaining.Add(-int64(n)) == 0 && given {
		f.obs.FanOut(time.Since(f.accepted))
	}
}

// interrupted runs when this node's delivery of the room was interrupted
// (the broker lost its subscription and re-established it, or saw the
// room's seq jump): events published meanwhile never reached this node's
// connections, and the room's counter may have started again under a new
// epoch. Nothing that follows can be handed to them as if it continued what
// they had, so every local connection in the room — members and
// facilitators, those still joining, those at the door, and on a personal
// channel every connection of its user — is closed with 1012 after what is
// already queued for it is written. Clients reconnect at once (1012 is a
// reconnect code) and join again with resume_from: the session buffer gives
// them what they missed, or the joined reply says gap — never a silent hole,
// and never an event of a new epoch under the old one. Called on the
// broker's delivery goroutine: it only marks connections.
func (lr *localRoom) interrupted() {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	for c := range lr.members {
		c.close(protocol.CloseServiceRestart, true)
	}
}

// each calls fn for every local connection in (or at the door of) the room,
// under the room lock: fn may only queue.
func (lr *localRoom) each(fn func(*conn, *roomConn)) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	for c, rc := range lr.members {
		fn(c, rc)
	}
}

// addWaiting puts c at the door: it gets no room events.
func (lr *localRoom) addWaiting(c *conn, memberID string) {
	lr.mu.Lock()
	lr.members[c] = &roomConn{memberID: memberID, waiting: true}
	lr.mu.Unlock()
}

// removeWaiting forgets c at the door.
func (lr *localRoom) removeWaiting(c *conn) {
	lr.mu.Lock()
	if rc, ok := lr.members[c]; ok && rc.waiting {
		delete(lr.members, c)
	}
	lr.mu.Unlock()
}

// addPending starts holding room events for c, hiding the messages of
// hidden members from the start.
func (lr *localRoom) addPending(c *conn, memberID string, facilitates bool, hidden []string) {
	rc := &roomConn{memberID: memberID, facilitates: facilitates, pending: true}
	for _, m := range hidden {
		if rc.hidden == nil {
			rc.hidden = map[string]bool{}
		}
		rc.hidden[m] = true
	}
	lr.mu.Lock()
	lr.members[c] = rc
	lr.mu.Unlock()
}

// activate queues first (the joined reply, what goes with it and any
// replayed events), then every event held while c was pending except those
// with a seq up to replayedThrough (already replayed), then lets events flow
// to c directly — all under one lock, so no event overtakes the reply, is
// lost between, or arrives twice.
func (lr *localRoom) activate(c *conn, replayedThrough uint64, first ...[]byte) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	rc := lr.members[c]
	for _, f := range first {
		c.enqueue(f)
	}
	for _, f := range rc.buf {
		if seq, ok := protocol.SeqOf(f); ok && seq <= replayedThrough {
			continue
		}
		c.enqueue(f)
	}
	rc.pending, rc.buf, rc.skipThrough = false, nil, replayedThrough
}

// standInIfHidden returns the hidden stand-in for frame if it is a message
// by one of hidden, else frame.
func standInIfHidden(roomID string, frame []byte, hidden map[string]bool) []byte {
	if len(hidden) == 0 {
		return frame
	}
	if msg, ok := parseMessage(frame); ok && msg.Type == protocol.TypeMessage && hidden[msg.From.MemberID] {
		seq, _ := protocol.SeqOf(frame)
		return protocol.Marshal(protocol.HiddenEvent{Seq: seq, Type: protocol.TypeHidden, Room: roomID})
	}
	return frame
}

func (lr *localRoom) remove(c *conn) {
	lr.mu.Lock()
	delete(lr.members, c)
	lr.mu.Unlock()
}

// setHidden hides or shows memberID's messages for c (a personal mute that
// nobody else is told of).
func (lr *localRoom) setHidden(c *conn, memberID string, hide bool) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	rc, ok := lr.members[c]
	if !ok {
		return
	}
	if hide {
		if rc.hidden == nil {
			rc.hidden = map[string]bool{}
		}
		rc.hidden[memberID] = true
	} else {
		delete(rc.hidden, memberID)
	}
}

// recentMessage returns the author and text of a message this node saw in
// the room recently.
func (lr *localRoom) recentMessage(id string) (author, text string, ok bool) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return lr.recent.get(id)
}

// recentLimit bounds the messages a node remembers per room, in memory
// only, for deletion rights and reports during the live session.
const recentLimit = 500

// recentMessages is a bounded in-memory ring of a room's latest messages.
type recentMessages struct {
	order []string
	byID  map[string][2]string // id -> author member id, text
}

func (r *recentMessages) add(id, author, text string) {
	if r.byID == nil {
		r.byID = map[string][2]string{}
	}
	if len(r.order) >= recentLimit {
		delete(r.byID, r.order[0])
		r.order = r.order[1:]
	}
	r.order = append(r.order, id)
	r.byID[id] = [2]string{author, text}
}

func (r *recentMessages) forget(id string) { delete(r.byID, id) }

// forgetSession drops every message this node remembers of the room: the
// session they were said in has ended, and its words go with it (no
// report, reaction or deletion can reach them afterwards, and no report
// can carry their text).
func (lr *localRoom) forgetSession() {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	clear(lr.recent.byID)
	lr.recent = recentMessages{}
}

func (r *recentMessages) get(id string) (string, string, bool) {
	v, ok := r.byID[id]
	return v[0], v[1], ok
}

// parsedEvent is what the hub reads of a room event: enough to keep the
// recent-messages ring and to honour hides.
type parsedEvent struct {
	Type      string `json:"type"`
	MessageID string `json:"message_id"`
	Text      string `json:"text"`
	TS        string `json:"ts"`
	From      struct {
		MemberID string `json:"member_id"`
	} `json:"from"`
}

// parseMessage decodes a room event only when it is a message or a deletion
// (the type follows the seq at the start of the frame).
func parseMessage(frame []byte) (parsedEvent, bool) {
	var ev parsedEvent
	head := frame[:min(len(frame), 48)]
	if !bytes.Contains(head, []byte(`"type":"message`)) {
		return ev, false
	}
	if json.Unmarshal(frame, &ev) != nil {
		return parsedEvent{}, false
	}
	return ev, true
}

// acquire returns the local room, subscribing this node to it first if no
// local connection was in it. Errors: the broker's (then nothing is held).
func (h *Hub) acquire(ctx context.Context, roomID string) (*localRoom, error) {
	h.roomsMu.Lock()
	lr, ok := h.rooms[roomID]
	if !ok {
		lr = &localRoom{name: roomID, members: make(map[*conn]*roomConn)}
		h.rooms[roomID] = lr
	}
	lr.refs++
	h.roomsMu.Unlock()

	lr.subMu.Lock()
	var err error
	if !lr.subscribed {
		if err = h.cfg.Broker.Subscribe(ctx, roomID); err == nil {
			lr.subscribed = true
		}
	}
	lr.subMu.Unlock()
	if err != nil {
		h.release(ctx, lr)
		return nil, err
	}
	return lr, nil
}

// release drops one reference to lr; the last one unsubscribes the node and
// forgets the room. A join that arrives meanwhile either finds lr still in
// the map (and resubscribes it under subMu) or creates a fresh one after the
// unsubscribe has finished, so subscriptions never cross. ctx is for the
// log only: the unsubscribe gets leaveTimeout, cancelled or not.
func (h *Hub) release(ctx context.Context, lr *localRoom) {
	h.roomsMu.Lock()
	lr.refs--
	h.roomsMu.Unlock()

	lr.subMu.Lock()
	defer lr.subMu.Unlock()
	h.roomsMu.RLock()
	idle := lr.refs == 0
	h.roomsMu.RUnlock()
	if idle && lr.subscribed {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
		if err := h.cfg.Broker.Unsubscribe(uctx, lr.name); err != nil {
			h.logger(ctx).Warn("unsubscribe failed", "room", lr.name, "err", err)
		}
		cancel()
		lr.subscribed = false
	}
	h.roomsMu.Lock()
	if lr.refs == 0 && !lr.subscribed && h.rooms[lr.name] == lr {
		delete(h.rooms, lr.name)
	}
	h.roomsMu.Unlock()
}
