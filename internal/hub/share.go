package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"time"

	"hearth/internal/protocol"
	"hearth/internal/room"
)

// Sharing (docs/protocol.md, "Sharing"): a room's share queue, floor and
// observers are one value kept by the broker under shareKey and changed only
// with Broker.Update, so every change is atomic across nodes and its queue
// event takes the next seq in the same step. Each node caches the latest
// state per local room (lr.share) for the checks on the hot path (may an
// observer send?). Reactions are one value per message under reactKey.
const (
	shareKey = "share"
	// shareTTL and reactTTL bound how long sharing state and reactions
	// (member ids only) outlive their last change; a session lasts at most
	// room.MaxSessionMinutes.
	shareTTL = 12 * time.Hour
	reactTTL = 12 * time.Hour

	timerTurn = "turn" // a turn's soft time box ran out
)

func reactKey(messageID string) string { return "react:" + messageID }

// queueEvent is the public form of s: member ids only, never why it changed.
func queueEvent(roomID string, s *room.Share) *protocol.QueueEvent {
	ev := &protocol.QueueEvent{Type: protocol.TypeQueue, Room: roomID, Version: s.V,
		Queue: make([]string, 0, len(s.Queue)), Observers: append([]string{}, s.Observers...)}
	for _, h := range s.Queue {
		ev.Queue = append(ev.Queue, h.MemberID)
	}
	if t := s.Floor; t != nil {
		ev.Floor, ev.TurnStarted, ev.TimerSec = t.MemberID, protocol.FormatTime(time.UnixMilli(t.StartedAt)), t.TimerSec
	}
	return ev
}

// setShare caches ev if it is newer than what is cached.
func (lr *localRoom) setShare(ev *protocol.QueueEvent) {
	for {
		old := lr.share.Load()
		if old != nil && old.Version >= ev.Version {
			return
		}
		if lr.share.CompareAndSwap(old, ev) {
			return
		}
	}
}

// observing reports whether memberID observes, as this node last heard.
func (lr *localRoom) observing(memberID string) bool {
	ev := lr.share.Load()
	return ev != nil && slices.Contains(ev.Observers, memberID)
}

// mentions reports whether memberID is in the cached sharing state at all.
func (lr *localRoom) mentions(memberID string) bool {
	ev := lr.share.Load()
	return ev != nil && (ev.Floor == memberID || slices.Contains(ev.Queue, memberID) || slices.Contains(ev.Observers, memberID))
}

// shareUpdate is Broker.Update's fn applying op to roomID's sharing state:
// when op changes it, the state's version is stamped with max(previous+1,
// now in Unix ms), so versions keep increasing even if the broker lost the
// state, and the queue event goes with it. op may run more than once.
func shareUpdate(roomID string, op func(*room.Share) error) func([]byte) ([]byte, []byte, error) {
	return func(old []byte) ([]byte, []byte, error) {
		s, err := room.DecodeShare(old)
		if err != nil {
			return nil, nil, err
		}
		v := s.V
		if err := op(&s); err != nil {
			return nil, nil, err
		}
		if s.V == v {
			return old, nil, nil
		}
		s.V = max(v+1, uint64(time.Now().UnixMilli()))
		return s.Encode(), protocol.Marshal(queueEvent(roomID, &s)), nil
	}
}

// resetShare empties roomID's sharing state (the session ended).
func resetShare(roomID string) func([]byte) ([]byte, []byte, error) {
	return shareUpdate(roomID, func(s *room.Share) error { s.Reset(); return nil })
}

// updateShare applies op to the room's sharing state, atomically across
// nodes, publishes a queue event if it changed, and caches the state in
// effect, which it returns. Errors: op's, the broker's.
func (h *Hub) updateShare(ctx context.Context, lr *localRoom, op func(*room.Share) error) (*protocol.QueueEvent, error) {
	cur, _, err := h.cfg.Broker.Update(ctx, lr.name, shareKey, shareTTL, shareUpdate(lr.name, op))
	if err != nil {
		return nil, err
	}
	s, err := room.DecodeShare(cur)
	if err != nil {
		return nil, err
	}
	ev := queueEvent(lr.name, &s)
	lr.setShare(ev)
	return ev, nil
}

// readShare returns the room's sharing state (and caches it).
func (h *Hub) readShare(ctx context.Context, lr *localRoom) (*protocol.QueueEvent, error) {
	return h.updateShare(ctx, lr, func(*room.Share) error { return nil })
}

// shareCommand carries out raise_hand, lower_hand, pass, give_floor,
// next_speaker, end_turn and set_presence for the caller. Only the member
// can put their own hand up or change their own presence; the floor goes
// only to a raised hand.
func (c *conn) shareCommand(ctx context.Context, f protocol.Frame, j *joined) error {
	me, facilitates := j.me.MemberID, c.facilitates(j)
	now := time.Now()
	var op func(*room.Share) error
	switch f.Type {
	case protocol.TypeRaiseHand:
		if facilitates {
			return protocol.Errf(protocol.CodeForbidden, "Facilitators may speak at any time; the share queue is for members.")
		}
		op = func(s *room.Share) error { return s.Raise(me, now) }
	case protocol.TypeLowerHand:
		op = func(s *room.Share) error { s.Lower(me); return nil }
	case protocol.TypePass:
		op = func(s *room.Share) error { s.Pass(me); return nil }
	case protocol.TypeSetPresence:
		if facilitates {
			return errFacilitatorsTakePart
		}
		op = func(s *room.Share) error { s.SetObserver(me, f.As == protocol.AsObserver); return nil }
	case protocol.TypeEndTurn:
		op = func(s *room.Share) error { return s.EndTurn(me, facilitates) }
	case protocol.TypeGiveFloor, protocol.TypeNextSpeaker:
		if !facilitates {
			return protocol.Err(protocol.CodeForbidden)
		}
		timerSec := 0
		if st := j.lr.state.Load(); st != nil && st.Session != nil {
			timerSec = st.Session.ShareTimerSec
		}
		op = func(s *room.Share) error {
			if f.Type == protocol.TypeNextSpeaker {
				_, err := s.Next(timerSec, now)
				return err
			}
			return s.GiveFloor(f.MemberID, timerSec, now)
		}
		ev, err := c.h.updateShare(ctx, j.lr, op)
		if err == nil && timerSec > 0 { // the turn started: its time box runs out once, on one node
			started := time.UnixMilli(now.UnixMilli())
			c.h.schedule(ctx, started.Add(time.Duration(timerSec)*time.Second), "turn:"+j.lr.name,
				timer{Kind: timerTurn, Room: j.lr.name, MemberID: ev.Floor, At: started})
		}
		return err
	}
	_, err := c.h.updateShare(ctx, j.lr, op)
	return err
}

var errFacilitatorsTakePart = protocol.Errf(protocol.CodeForbidden, "Facilitators always take part; observing is for members.")

// facilitates reports whether the caller facilitates the room now, from the
// node's cached room state (kept current by reload announcements), falling
// back to the role it joined with.
func (c *conn) facilitates(j *joined) bool {
	if st := j.lr.state.Load(); st != nil {
		return c.h.cfg.Rooms.IsFacilitatorMember(st, j.me.MemberID)
	}
	return j.role.Facilitates()
}

// react toggles the caller's reaction on a message the room saw this
// session and returns the reactions the caller now has on it. Everyone gets
// the new counts; nobody learns who reacted.
func (c *conn) react(ctx context.Context, f protocol.Frame, j *joined) ([]string, error) {
	if _, _, known := j.lr.recentMessage(f.MessageID); !known {
		return nil, protocol.Errf(protocol.CodeNotFound, "That message is no longer available to react to.")
	}
	var mine []string
	_, _, err := c.h.cfg.Broker.Update(ctx, f.Room, reactKey(f.MessageID), reactTTL, func(old []byte) ([]byte, []byte, error) {
		r, err := room.DecodeReactions(old)
		if err != nil {
			return nil, nil, err
		}
		r.Toggle(j.me.MemberID, f.Reaction)
		mine = r.Of(j.me.MemberID)
		return r.Encode(), protocol.Marshal(protocol.ReactionsEvent{Type: protocol.TypeReactions, Room: f.Room,
			MessageID: f.MessageID, Counts: r.Counts()}), nil
	})
	return mine, err
}

// forgetReactions deletes who reacted to a deleted message.
func (h *Hub) forgetReactions(ctx context.Context, roomID, messageID string) {
	if _, _, err := h.cfg.Broker.Update(ctx, roomID, reactKey(messageID), reactTTL, func([]byte) ([]byte, []byte, error) {
		return nil, nil, nil
	}); err != nil {
		h.logger(ctx).Warn("reactions of a deleted message not deleted; they expire", "room", roomID, "err", err)
	}
}

// sendInRounds publishes a member's message in rounds mode only while they
// hold the floor: the check and the publish are one atomic step across
// nodes, so a message can never slip in after the turn ended.
func (c *conn) sendInRounds(ctx context.Context, roomID, memberID string, ev []byte) (uint64, error) {
	_, seq, err := c.h.cfg.Broker.Update(ctx, roomID, shareKey, shareTTL, func(old []byte) ([]byte, []byte, error) {
		s, err := room.DecodeShare(old)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case s.Observing(memberID):
			return nil, nil, protocol.Err(protocol.CodeObserver)
		case !s.Holds(memberID):
			return nil, nil, protocol.Err(protocol.CodeNotYourTurn)
		}
		return old, ev, nil
	})
	return seq, err
}

// observeShare keeps the node's cached sharing state current from the
// room's stream, and makes the state forget a member who left the room
// (their last connection, on whichever node, or a node that died): their
// hand comes down, the floor is freed and they stop observing — unless they
// are back by the time the task runs. Every node that sees member_left may
// try; the update is idempotent, so only one queue event results. It runs on
// the broker's delivery goroutine, so broker calls go to a task.
func (h *Hub) observeShare(lr *localRoom, frame []byte) {
	head := frame[:min(len(frame), 48)]
	switch {
	case bytes.Contains(head, []byte(`"type":"queue"`)):
		var ev protocol.QueueEvent
		if json.Unmarshal(frame, &ev) == nil {
			lr.setShare(&ev)
		}
	case bytes.Contains(head, []byte(`"type":"member_left"`)):
		var ev protocol.MemberLeftEvent
		if json.Unmarshal(frame, &ev) != nil || !lr.mentions(ev.MemberID) {
			return
		}
		h.spawn(func(ctx context.Context) {
			present, err := h.cfg.Broker.Members(ctx, lr.name)
			if err != nil || slices.ContainsFunc(present, func(m protocol.Member) bool { return m.MemberID == ev.MemberID }) {
				return
			}
			h.forgetMember(ctx, lr, ev.MemberID)
		})
	}
}

// forgetMember takes a member who left out of the queue, the floor and the
// observers.
func (h *Hub) forgetMember(ctx context.Context, lr *localRoom, memberID string) {
	if _, err := h.updateShare(ctx, lr, func(s *room.Share) error { s.Forget(memberID); return nil }); err != nil {
		h.logger(ctx).Warn("sharing state not updated after a member left; it is corrected at the next join", "room", lr.name, "member_id", memberID, "err", err)
	}
}

// turnElapsed tells the speaker and the facilitators, gently, that the
// turn's soft time box ran out — if the same turn is still going.
func (h *Hub) turnElapsed(ctx context.Context, t timer) {
	cur, _, err := h.cfg.Broker.Update(ctx, t.Room, shareKey, shareTTL, func(old []byte) ([]byte, []byte, error) { return old, nil, nil })
	if err != nil {
		return
	}
	s, err := room.DecodeShare(cur)
	if err != nil || s.Floor == nil || s.Floor.MemberID != t.MemberID || s.Floor.StartedAt != t.At.UnixMilli() {
		return
	}
	ev := protocol.Marshal(protocol.TimerElapsedEvent{Type: protocol.TypeTimerElapsed, Room: t.Room, MemberID: s.Floor.MemberID, TimerSec: s.Floor.TimerSec})
	h.publishControl(ctx, t.Room, control{Ctl: ctlToMember, MemberID: s.Floor.MemberID, Frame: ev})
	h.publishControl(ctx, t.Room, control{Ctl: ctlToFacilitators, Frame: ev, Except: s.Floor.MemberID})
}
