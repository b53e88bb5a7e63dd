package hub

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"hearth/internal/protocol"
	"hearth/internal/room"
)

// Control messages travel on a room's broker channel like room events, but
// without a seq: they are for the nodes, which act on them, and clients
// never see them (so the seq a client sees has no holes). They are
// published after the state change they announce, on the same channel, so
// every node sees them in order with the room's events.
const (
	ctlReload         = "reload"          // Room: the room's new state, for every node's cache
	ctlToMember       = "to_member"       // deliver Frame to MemberID's connections in the room
	ctlToFacilitators = "to_facilitators" // deliver Frame to the room's facilitators (but Except)
	ctlToMembers      = "to_members"      // deliver Frame to the members in the room (not facilitators, not the lobby)
	ctlAdmit          = "admit"           // let MemberIDs (or MemberID) in: those the store admitted
	ctlDeny           = "deny"            // turn MemberID away with Frame
	ctlRemove         = "remove"          // take MemberID out of the room with Frame
	ctlEndSession     = "end_session"     // members' connections leave the room; the node forgets the session's messages
)

// control is one control message.
type control struct {
	Ctl      string `json:"ctl"`
	MemberID string `json:"member_id,omitempty"`
	// MemberIDs (admit) are the members the store admitted; a message with
	// neither (from a node before this field) admits everyone waiting.
	MemberIDs []string        `json:"member_ids,omitempty"`
	Except    string          `json:"except,omitempty"`
	Frame     json.RawMessage `json:"frame,omitempty"`
	Room      *room.Room      `json:"room,omitempty"`
}

var ctlPrefix = []byte(`{"ctl":`)

func (h *Hub) publishControl(ctx context.Context, roomID string, c control) {
	if err := h.cfg.Broker.PublishControl(ctx, roomID, protocol.Marshal(c)); err != nil {
		h.logger(ctx).Warn("control message not published", "room", roomID, "ctl", c.Ctl, "err", err)
	}
}

// publishReload tells every node the room's new state — this one at once,
// so a facilitator's next command here already sees its own change.
func (h *Hub) publishReload(ctx context.Context, r room.Room) {
	h.roomsMu.RLock()
	lr := h.rooms[r.ID]
	h.roomsMu.RUnlock()
	if lr != nil {
		lr.setState(r)
	}
	h.publishControl(ctx, r.ID, control{Ctl: ctlReload, Room: &r})
}

// publishState tells every node the new state and everyone in the room its
// public part (room_state).
func (h *Hub) publishState(ctx context.Context, r room.Room) {
	h.publishReload(ctx, r)
	if _, err := h.cfg.Broker.Publish(ctx, r.ID, protocol.Marshal(roomState(&r))); err != nil {
		h.logger(ctx).Warn("room_state not published", "room", r.ID, "err", err)
	}
	h.publishFacilitatorState(ctx, r)
}

// publishFacilitatorState sends the room's facilitators who is muted, who
// waits and who is banned.
func (h *Hub) publishFacilitatorState(ctx context.Context, r room.Room) {
	h.publishControl(ctx, r.ID, control{Ctl: ctlToFacilitators, Frame: facilitatorState(&r)})
}

func roomState(r *room.Room) *protocol.RoomStateEvent {
	if r == nil {
		return nil
	}
	ev := &protocol.RoomStateEvent{Type: protocol.TypeRoomState, Room: r.ID, Phase: string(r.Phase), WaitingRoom: r.WaitingRoom}
	if s := r.Session; s != nil {
		if !s.StartedAt.IsZero() {
			ev.StartedAt, ev.PlannedEnd = protocol.FormatTime(s.StartedAt), protocol.FormatTime(s.PlannedEnd)
		}
		ev.Locked, ev.SlowModeSec, ev.Pin, ev.ShareTimerSec = s.Locked, s.SlowModeSec, s.Pin, s.ShareTimerSec
		if r.Phase == room.PhaseOpen || r.Phase == room.PhaseClosing {
			ev.Mode = cmp.Or(s.Mode, protocol.ModeOpen)
		}
	}
	return ev
}

func facilitatorState(r *room.Room) []byte {
	ev := protocol.FacilitatorStateEvent{Type: protocol.TypeFacilitatorState, Muted: []protocol.MutedMember{},
		Waiting: []protocol.WaitingMember{}, Banned: []string{}}
	if r != nil {
		ev.Room = r.ID
		for id, m := range r.MutedNow(time.Now()) {
			mm := protocol.MutedMember{MemberID: id, Reason: m.Reason}
			if !m.Until.IsZero() {
				mm.Until = protocol.FormatTime(m.Until)
			}
			ev.Muted = append(ev.Muted, mm)
		}
		if r.Session != nil {
			for _, w := range r.Session.Waiting {
				ev.Waiting = append(ev.Waiting, protocol.WaitingMember{MemberID: w.MemberID, DisplayName: r.DisplayName(w.MemberID), Since: protocol.FormatTime(w.Since)})
			}
		}
		ev.Banned = append(ev.Banned, r.Banned...)
	}
	return protocol.Marshal(ev)
}

// onControl acts on a control message for a local room. It runs on the
// broker's delivery goroutine, so it only queues frames and hands anything
// that needs the broker or the store to a task.
func (h *Hub) onControl(lr *localRoom, frame []byte) {
	var c control
	if err := json.Unmarshal(frame, &c); err != nil {
		h.log.Warn("malformed control message ignored", "room", lr.name)
		return
	}
	switch c.Ctl {
	case ctlReload:
		if c.Room != nil {
			lr.setState(*c.Room)
			// Who receives what is for facilitators follows the record:
			// someone who became (or stopped being) a facilitator.
			if st := lr.state.Load(); st != nil {
				lr.each(func(_ *conn, rc *roomConn) {
					if rc.memberID != "" && !rc.waiting {
						rc.facilitates = h.cfg.Rooms.IsFacilitatorMember(st, rc.memberID)
					}
				})
			}
		}
	case ctlToMember:
		lr.each(func(conn *conn, rc *roomConn) {
			if rc.memberID == c.MemberID {
				conn.enqueue(c.Frame)
			}
		})
	case ctlToFacilitators:
		lr.each(func(conn *conn, rc *roomConn) {
			if rc.facilitates && !rc.waiting && (c.Except == "" || rc.memberID != c.Except) {
				conn.enqueue(c.Frame)
			}
		})
	case ctlToMembers:
		lr.each(func(conn *conn, rc *roomConn) {
			if !rc.facilitates && !rc.waiting {
				conn.enqueue(c.Frame)
			}
		})
	case ctlAdmit:
		lr.each(func(conn *conn, rc *roomConn) {
			all := c.MemberID == "" && c.MemberIDs == nil
			if rc.waiting && (all || rc.memberID == c.MemberID || slices.Contains(c.MemberIDs, rc.memberID)) {
				conn.spawn(func(ctx context.Context) { conn.admitted(ctx, lr.name) })
			}
		})
	case ctlDeny, ctlRemove:
		h.takeOut(lr, c.Frame, func(rc *roomConn) bool {
			return rc.memberID == c.MemberID && (c.Ctl == ctlRemove || rc.waiting)
		})
	case ctlEndSession:
		lr.forgetSession()
		h.takeOut(lr, nil, func(rc *roomConn) bool { return !rc.facilitates && !rc.waiting })
	}
}

// takeOut takes the local connections for which match is true out of lr at
// once, on the broker's delivery goroutine, in order with the room's
// events: each gets notice (when not nil), and after it nothing more of the
// room — no event, no private frame — and its commands there are refused
// (standing: not_joined), before the task that finishes its leaving
// (presence, member_left, the seat) has run. A connection still joining
// (pending) is taken out by its task, after its join is answered, notice
// first.
func (h *Hub) takeOut(lr *localRoom, notice []byte, match func(*roomConn) bool) {
	var out, joining []*conn
	lr.each(func(conn *conn, rc *roomConn) {
		switch {
		case !match(rc):
		case rc.pending:
			joining = append(joining, conn)
		default:
			if notice != nil {
				conn.enqueue(notice)
			}
			out = append(out, conn)
		}
	})
	for _, conn := range out {
		lr.remove(conn)
		conn.spawn(func(ctx context.Context) { conn.drop(ctx, lr, nil, false) })
	}
	for _, conn := range joining {
		conn.spawn(func(ctx context.Context) { conn.drop(ctx, lr, notice, true) })
	}
}

// spawn runs a control task in its own goroutine, owned by the hub:
// Shutdown waits for it, and it gets a bounded context.
func (h *Hub) spawn(fn func(ctx context.Context)) { h.spawnFor(taskTimeout, fn) }

// spawn runs a control task for c (see Hub.spawn), its context carrying
// c's logger.
func (c *conn) spawn(fn func(ctx context.Context)) {
	c.h.spawn(func(ctx context.Context) { fn(withLog(ctx, c.log)) })
}

// spawnFor is spawn with a context bounded by d instead of taskTimeout.
func (h *Hub) spawnFor(d time.Duration, fn func(ctx context.Context)) {
	h.tasks.add()
	go func() {
		defer h.tasks.done()
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		fn(ctx)
	}()
}

// admitted completes the join of a connection waiting at room's door,
// once it has a seat: when the room filled up meanwhile (someone else took
// the last seat after the facilitator admitted this member), the member
// stays waiting — back in the lobby, which the facilitators are shown.
func (c *conn) admitted(ctx context.Context, roomID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.rooms[roomID]
	if !ok || !j.waiting || c.dead.Load() || !j.lr.has(c) {
		return
	}
	if err := c.h.takeSeat(ctx, roomID, j.me.MemberID, capacityOf(j)); err != nil {
		if protocol.AsError(err).Code == protocol.CodeRoomFull {
			if r, err := c.h.cfg.Rooms.AddWaiting(ctx, roomID, j.me.MemberID, j.me.DisplayName); err == nil {
				c.h.publishFacilitatorState(ctx, r)
			}
			return
		}
		c.replyErr("", roomID, protocol.AsError(err))
		return
	}
	j.lr.removeWaiting(c)
	if err := c.enter(ctx, "", j); err != nil {
		c.replyErr("", roomID, protocol.AsError(err))
	}
}

// drop finishes taking the connection out of the local room lr (removed,
// banned, denied, session ended; see takeOut): it queues notice, if any,
// and leaves the room — unless the connection left lr meanwhile, or, when
// takeOut took it out already (not joining), left and came back: then it
// is in lr again, by a new join, which stays.
func (c *conn) drop(ctx context.Context, lr *localRoom, notice []byte, joining bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.rooms[lr.name]
	if !ok || j.lr != lr || (!joining && lr.has(c)) {
		return
	}
	if notice != nil {
		c.enqueue(notice)
	}
	if j.waiting {
		// Denied or banned at the door: the lobby entry is already gone
		// from the store.
		delete(c.rooms, lr.name)
		j.lr.remove(c)
		c.h.release(ctx, j.lr)
		return
	}
	c.leave(ctx, lr.name)
}

// RosterChanged tells every node that the people of room roomID changed
// by other means than a WebSocket command — over REST: a member added or
// taken off the roster, a facilitator added or stepping down, a member
// leaving the group, a user erasing themselves (httpapi.Hub). It reads the
// room from the store and announces it (each node's copy, against which
// every command is checked), and takes every connection of each user in
// removed — user ids who no longer belong to the room — out of the room,
// on every node, with {"type":"removed","room":…}, as a facilitator's remove
// does: nobody keeps a place, or a name, in a room they no longer belong
// to. A room that no longer exists only has those connections taken out.
// Failures are logged (ids only): the change itself is made already. ctx
// bounds the store and broker calls.
func (h *Hub) RosterChanged(ctx context.Context, roomID string, removed ...string) {
	if r, err := h.cfg.Rooms.Load(ctx, roomID); err == nil {
		h.publishReload(ctx, r)
		h.publishFacilitatorState(ctx, r)
	} else {
		h.logger(ctx).Warn("room not reloaded after a roster change", "room", roomID, "err", err)
	}
	for _, u := range removed {
		h.publishControl(ctx, roomID, control{Ctl: ctlRemove, MemberID: h.cfg.MemberIDs.For(roomID, u),
			Frame: protocol.Marshal(protocol.NoticeEvent{Type: protocol.TypeRemoved, Room: roomID})})
	}
}

// Timers: effects that fire later, exactly once across all nodes (the
// broker claims each timer for one node).
const (
	timerMuteLift   = "mute_lift"   // a timed mute ends
	timerEndingSoon = "ending_soon" // 10 minutes before a session's planned end
	timerAutoLock   = "auto_lock"   // a session has run auto_lock_after minutes
	timerSessionMax = "session_max" // a session has run the maximum session length: it ends
)

type timer struct {
	Kind      string    `json:"kind"`
	Room      string    `json:"room"`
	MemberID  string    `json:"member_id,omitempty"`
	AlertID   string    `json:"alert_id,omitempty"`  // escalate
	At        time.Time `json:"at,omitzero"`         // mute_lift: the mute's end; turn: when the turn started
	StartedAt time.Time `json:"started_at,omitzero"` // session timers: which session
}

func (h *Hub) schedule(ctx context.Context, due time.Time, id string, t timer) {
	if err := h.cfg.Broker.Schedule(ctx, due, id, protocol.Marshal(t)); err != nil {
		h.logger(ctx).Warn("timer not scheduled", "room", t.Room, "kind", t.Kind, "err", err)
	}
}

// SessionStarted starts what a session needs besides its state: the
// session buffer (for resumes; it lives at most SessionMax) and the
// session's timers. The start_session command calls it; so does whoever
// opens a session by other means (the -dev demo room).
func (h *Hub) SessionStarted(ctx context.Context, r room.Room) {
	if err := h.cfg.Broker.OpenBuffer(ctx, r.ID, h.cfg.SessionMax); err != nil {
		h.logger(ctx).Warn("session buffer not opened: resumes will report a gap", "room", r.ID, "err", err)
	}
	h.scheduleSessionTimers(ctx, r)
}

func (h *Hub) scheduleSessionTimers(ctx context.Context, r room.Room) {
	h.scheduleSessionTimersAfter(ctx, r, time.Time{})
}

// scheduleSessionTimersAfter schedules r's session timers; with a non-zero
// after (a rebuild), only those due after it, except the session maximum,
// which is always scheduled (overdue, it fires at once; EndAtMax ends a
// session at most once): ending soon and auto lock already fired once, and
// auto lock again would undo a facilitator's unlock.
func (h *Hub) scheduleSessionTimersAfter(ctx context.Context, r room.Room, after time.Time) {
	s := r.Session
	if s == nil {
		return
	}
	ahead := func(due time.Time) bool { return after.IsZero() || due.After(after) }
	h.schedule(ctx, s.StartedAt.Add(h.cfg.SessionMax), "sessionmax:"+r.ID, timer{Kind: timerSessionMax, Room: r.ID, StartedAt: s.StartedAt})
	if due := s.PlannedEnd.Add(-room.EndingSoonNotice); ahead(due) {
		h.schedule(ctx, due, "ending:"+r.ID, timer{Kind: timerEndingSoon, Room: r.ID, StartedAt: s.StartedAt})
	}
	if r.AutoLockAfter > 0 {
		if due := s.StartedAt.Add(time.Duration(r.AutoLockAfter) * time.Minute); ahead(due) {
			h.schedule(ctx, due, "autolock:"+r.ID, timer{Kind: timerAutoLock, Room: r.ID, StartedAt: s.StartedAt})
		}
	}
}

// OnTimer handles a fired timer's payload; pass it to the broker's
// SetTimerHandler.
func (h *Hub) OnTimer(payload []byte) {
	var t timer
	if err := json.Unmarshal(payload, &t); err != nil {
		h.log.Warn("malformed timer ignored")
		return
	}
	h.spawn(func(ctx context.Context) {
		svc := h.cfg.Rooms
		switch t.Kind {
		case timerMuteLift:
			r, lifted, err := svc.LiftExpiredMute(ctx, t.Room, t.MemberID, t.At)
			if err != nil || !lifted {
				return
			}
			h.publishReload(ctx, r)
			h.publishControl(ctx, t.Room, control{Ctl: ctlToMember, MemberID: t.MemberID,
				Frame: protocol.Marshal(protocol.NoticeEvent{Type: protocol.TypeUnmutedNotice, Room: t.Room})})
			h.publishFacilitatorState(ctx, r)
		case timerEndingSoon:
			r, err := svc.Load(ctx, t.Room)
			if err != nil || r.Session == nil || !r.Session.StartedAt.Equal(t.StartedAt) || (r.Phase != room.PhaseOpen && r.Phase != room.PhaseClosing) {
				return
			}
			h.publishControl(ctx, t.Room, control{Ctl: ctlToFacilitators, Frame: protocol.Marshal(protocol.NoticeEvent{
				Type: protocol.TypeSessionEndingSoon, Room: t.Room, PlannedEnd: protocol.FormatTime(r.Session.PlannedEnd)})})
		case timerEscalate:
			h.escalate(ctx, t.Room, t.AlertID)
		case timerTurn:
			h.turnElapsed(ctx, t)
		case timerSessionMax:
			if r, ended, err := svc.EndAtMax(ctx, t.Room, t.StartedAt); err == nil && ended {
				_ = h.sessionEnded(ctx, r)
			}
		case timerAutoLock:
			r, locked, err := svc.AutoLock(ctx, t.Room, t.StartedAt)
			if err == nil && locked {
				h.publishState(ctx, r)
			}
		}
	})
}

// sessionEnded tells everyone that r's session ended (session_ended, the
// new state), takes members' connections out of the room on every node,
// empties the sharing state and deletes the session buffer. Errors: the broker's, for session_ended.
func (h *Hub) sessionEnded(ctx context.Context, r room.Room) error {
	// First: what was said in the session goes with it, and nothing
	// published from here on is kept (a new session started by someone who
	// saw session_ended opens a fresh buffer that this cannot delete).
	if berr := h.cfg.Broker.CloseBuffer(ctx, r.ID); berr != nil {
		h.logger(ctx).Warn("session buffer not deleted; it expires at the session maximum", "room", r.ID, "err", berr)
	}
	_, err := h.cfg.Broker.Publish(ctx, r.ID, protocol.Marshal(protocol.SessionEndedEvent{Type: protocol.TypeSessionEnded, Room: r.ID}))
	h.publishState(ctx, r)
	h.publishControl(ctx, r.ID, control{Ctl: ctlEndSession})
	if _, _, serr := h.cfg.Broker.Update(ctx, r.ID, shareKey, shareTTL, resetShare(r.ID)); serr != nil {
		h.logger(ctx).Warn("sharing state not reset at the end of the session; it expires", "room", r.ID, "err", serr)
	}
	return err
}

// isControl reports whether a frame from the broker is a control message.
func isControl(frame []byte) bool { return bytes.HasPrefix(frame, ctlPrefix) }

// Resync reloads a local room's cached state from the store, for when this
// node may have missed announcements (its broker resubscribed after a
// reconnect). Pass it to the Redis broker's SetResubscribeHandler.
func (h *Hub) Resync(roomID string) {
	h.roomsMu.RLock()
	lr := h.rooms[roomID]
	h.roomsMu.RUnlock()
	if lr == nil || strings.HasPrefix(roomID, "_") {
		return // personal channels (userRoomPrefix, supervisorsRoom) have no room record
	}
	h.spawn(func(ctx context.Context) {
		r, err := h.cfg.Rooms.Load(ctx, roomID)
		if err != nil {
			h.logger(ctx).Warn("room state not reloaded after reconnect", "room", roomID, "err", err)
			return
		}
		lr.setState(r)
		h.rebuild(ctx, r)
	})
}

// rebuild restores what r implies in the broker and the broker may have
// lost (a Redis restart without persistence: docs/architecture.md,
// "Delivery under faults"), without disturbing what survived (a reconnect
// after a network blip, where Redis kept everything):
//
//   - while a session is open, its buffer is turned on if it is off
//     (EnsureBuffer: never emptied), for what is left of the session
//     maximum, so resumes from after the rebuild are complete;
//   - the timers r implies are scheduled again under their ids (Schedule
//     by the same id replaces a pending timer, so none fires twice): the
//     session timers still ahead, each timed mute still running, and the
//     escalation of every open, unescalated, non-gentle alert — at
//     OpenedAt + EscalateAfter, or at once when that has passed: an
//     escalation is never lost, and its handler escalates an alert at most
//     once (room.Service.Escalate).
//
// Every node that resubscribes calls it; the timers' handlers ignore a
// timer whose effect happened already (a session ended, a mute lifted, an
// alert escalated or acknowledged), and the one-shot notices (ending soon,
// auto lock) are only scheduled while still ahead.
func (h *Hub) rebuild(ctx context.Context, r room.Room) {
	now := time.Now()
	if s := r.Session; s != nil && (r.Phase == room.PhaseOpen || r.Phase == room.PhaseClosing) {
		if left := s.StartedAt.Add(h.cfg.SessionMax).Sub(now); left > 0 {
			if err := h.cfg.Broker.EnsureBuffer(ctx, r.ID, left); err != nil {
				h.logger(ctx).Warn("session buffer not rebuilt: resumes will report a gap", "room", r.ID, "err", err)
			}
		}
		h.scheduleSessionTimersAfter(ctx, r, now)
	}
	for id, m := range r.Muted {
		if !m.Until.IsZero() && m.Until.After(now) {
			h.schedule(ctx, m.Until, "mute:"+r.ID+":"+id, timer{Kind: timerMuteLift, Room: r.ID, MemberID: id, At: m.Until})
		}
	}
	for _, a := range r.Alerts {
		if a.Severity == "gentle" || !a.EscalatedAt.IsZero() {
			continue
		}
		due := a.OpenedAt.Add(h.cfg.EscalateAfter)
		if due.Before(now) {
			due = now // overdue: it must still go
		}
		h.schedule(ctx, due, "escalate:"+a.ID, timer{Kind: timerEscalate, Room: r.ID, AlertID: a.ID})
	}
}

// taskGroup counts running control tasks. Unlike a sync.WaitGroup it may
// gain a task while someone waits for it to be empty (a task spawned by
// the broker's delivery goroutine during Shutdown): WaitGroup forbids an
// Add from zero concurrent with Wait, and the race detector caught it
// (TestGiveFloorOnlyToVolunteers, at a test's Shutdown).
type taskGroup struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; made anew when it rises from 0
}

func (g *taskGroup) add() {
	g.mu.Lock()
	if g.n == 0 {
		g.idle = make(chan struct{})
	}
	g.n++
	g.mu.Unlock()
}

func (g *taskGroup) done() {
	g.mu.Lock()
	g.n--
	if g.n == 0 {
		close(g.idle)
	}
	g.mu.Unlock()
}

// wait returns once no task is running.
func (g *taskGroup) wait() {
	for {
		g.mu.Lock()
		if g.n == 0 {
			g.mu.Unlock()
			return
		}
		idle := g.idle
		g.mu.Unlock()
		<-idle
	}
}
