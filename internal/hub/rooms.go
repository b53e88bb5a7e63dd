package hub

import (
	"context"
	"sync"
)

// localRoom is one room as seen by this node: the local connections in it,
// and whether this node is subscribed to its broker channel. A node is
// subscribed exactly while it has local connections in the room (or joining
// it).
type localRoom struct {
	name string

	// subMu serializes Subscribe/Unsubscribe for this room; held across the
	// broker call. refs is guarded by Hub.roomsMu.
	subMu      sync.Mutex
	subscribed bool
	refs       int

	mu      sync.Mutex // guards members; a leaf lock held while queueing
	members map[*conn]*roomConn
}

// roomConn is one connection's state in a local room. While pending (the
// join is still being answered) events are held in buf, so the joiner gets
// its joined reply first and misses nothing published after it entered.
type roomConn struct {
	pending bool
	buf     [][]byte
}

func (lr *localRoom) deliver(frame []byte) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	for c, rc := range lr.members {
		if rc.pending {
			rc.buf = append(rc.buf, frame)
			continue
		}
		c.enqueue(frame)
	}
}

// addPending starts holding room events for c.
func (lr *localRoom) addPending(c *conn) {
	lr.mu.Lock()
	lr.members[c] = &roomConn{pending: true}
	lr.mu.Unlock()
}

// activate queues first (the joined reply), then every event held while c
// was pending, then lets events flow to c directly — all under one lock, so
// no event overtakes the reply or is lost in between.
func (lr *localRoom) activate(c *conn, first []byte) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	rc := lr.members[c]
	c.enqueue(first)
	for _, f := range rc.buf {
		c.enqueue(f)
	}
	rc.pending, rc.buf = false, nil
}

func (lr *localRoom) remove(c *conn) {
	lr.mu.Lock()
	delete(lr.members, c)
	lr.mu.Unlock()
}

// acquire returns the local room, subscribing this node to it first if no
// local connection was in it. Errors: the broker's (then nothing is held).
func (h *Hub) acquire(ctx context.Context, room string) (*localRoom, error) {
	h.roomsMu.Lock()
	lr, ok := h.rooms[room]
	if !ok {
		lr = &localRoom{name: room, members: make(map[*conn]*roomConn)}
		h.rooms[room] = lr
	}
	lr.refs++
	h.roomsMu.Unlock()

	lr.subMu.Lock()
	var err error
	if !lr.subscribed {
		if err = h.cfg.Broker.Subscribe(ctx, room); err == nil {
			lr.subscribed = true
		}
	}
	lr.subMu.Unlock()
	if err != nil {
		h.release(lr)
		return nil, err
	}
	return lr, nil
}

// release drops one reference to lr; the last one unsubscribes the node and
// forgets the room. A join that arrives meanwhile either finds lr still in
// the map (and resubscribes it under subMu) or creates a fresh one after the
// unsubscribe has finished, so subscriptions never cross.
func (h *Hub) release(lr *localRoom) {
	h.roomsMu.Lock()
	lr.refs--
	h.roomsMu.Unlock()

	lr.subMu.Lock()
	defer lr.subMu.Unlock()
	h.roomsMu.RLock()
	idle := lr.refs == 0
	h.roomsMu.RUnlock()
	if idle && lr.subscribed {
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		if err := h.cfg.Broker.Unsubscribe(ctx, lr.name); err != nil {
			h.log.Warn("unsubscribe failed", "room", lr.name, "err", err)
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
