package hub

import (
	"context"

	"hearth/internal/protocol"
	"hearth/internal/room"
)

// Events that concern a user rather than a room — crisis alerts and their
// escalation, acknowledgements — travel on a per-user channel, so they reach
// a facilitator wherever they are connected, in the room or not. Every
// authenticated connection subscribes to its user's channel; supervisors
// also to the supervisors' channel. These channel names cannot be room ids
// (room ids start with a letter or digit), so nobody can join them.
const (
	supervisorsRoom = "_supervisors"
	userRoomPrefix  = "_u"
)

// userRoom is the channel of one user: a keyed hash of the user id, so the
// id itself never appears in Redis channel names.
func (h *Hub) userRoom(userID string) string {
	return userRoomPrefix + h.cfg.MemberIDs.For(userRoomPrefix, userID)
}

// attached runs once a connection is authenticated: it subscribes it to its
// personal channels and hands a facilitator the open crisis alerts of their
// rooms. Called on the reader goroutine (or before it starts).
//
// A connection whose personal channel cannot be subscribed (Redis away)
// would never hear of a crisis alert or its escalation, with nothing to
// show it: it is closed with 1012 instead (after welcome), so the client
// reconnects, with backoff, until the channel can be had.
func (c *conn) attached(ctx context.Context) {
	// Bounded: a Redis that stopped answering (rather than refusing) would
	// otherwise hold the reader until the connection ends.
	ctx, cancel := context.WithTimeout(ctx, taskTimeout)
	defer cancel()
	names := []string{c.h.userRoom(c.ident.UserID)}
	if c.ident.Role == protocol.RoleSupervisor {
		names = append(names, supervisorsRoom)
	}
	for _, name := range names {
		lr, err := c.h.acquire(ctx, name)
		if err != nil {
			c.log.Warn("personal channel not subscribed; connection closed so the client retries", "err", err)
			c.close(protocol.CloseServiceRestart, true)
			return
		}
		lr.addPending(c, "", true, nil)
		lr.activate(c, 0)
		c.personal = append(c.personal, lr)
	}
	c.sendOpenAlerts(ctx)
}

// toUser delivers frame to every connection of userID, on every node.
func (h *Hub) toUser(ctx context.Context, userID string, frame []byte) {
	h.publishControl(ctx, h.userRoom(userID), control{Ctl: ctlToFacilitators, Frame: frame})
}

// toFacilitatorUsers delivers frame to every facilitator and co-facilitator
// of r, wherever they are connected.
func (h *Hub) toFacilitatorUsers(ctx context.Context, r *room.Room, frame []byte) {
	for _, u := range r.Facilitators {
		h.toUser(ctx, u, frame)
	}
}

// sendOpenAlerts gives a facilitator who connects every unacknowledged alert
// of the rooms they facilitate.
func (c *conn) sendOpenAlerts(ctx context.Context) {
	svc := c.h.cfg.Rooms
	rooms, err := svc.Mine(ctx, room.Actor{UserID: c.ident.UserID, TokenRole: c.ident.Role})
	if err != nil {
		c.log.Warn("open alerts not loaded", "err", err)
		return
	}
	for i := range rooms {
		r := &rooms[i]
		if len(r.Alerts) == 0 || !r.RoleOf(c.ident.UserID).Facilitates() {
			continue
		}
		names := c.h.presentNames(ctx, r.ID)
		for _, a := range r.Alerts {
			c.enqueue(alertFrame(r.ID, a, names[a.MemberID]))
		}
	}
}

// presentNames maps member ids to the display names of the members present
// in room now (empty on failure: a name is a courtesy, not a need).
func (h *Hub) presentNames(ctx context.Context, roomID string) map[string]string {
	names := map[string]string{}
	if ms, err := h.cfg.Broker.Members(ctx, roomID); err == nil {
		for _, m := range ms {
			names[m.MemberID] = m.DisplayName
		}
	}
	return names
}
