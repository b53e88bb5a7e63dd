package hub

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"hearth/internal/protocol"
	"hearth/internal/room"
)

// CrisisMatch is what the crisis detector found in a member's words.
type CrisisMatch struct {
	Matched  bool
	Severity string // gentle, elevated, high, imminent
	Category string // ideation, passive_wish, self_harm, …, member_request
}

// Crisis checks members' words and chooses the resources to show
// (internal/crisis, wrapped by internal/node, implements it).
type Crisis interface {
	// Check looks at one message of author (a room-scoped member key) and
	// the author's recent ones. An error means detection failed; the
	// message is delivered all the same (fail open).
	Check(author, text string, now time.Time) (CrisisMatch, error)
	// Resources returns the JSON array of resources to show for a match,
	// in order.
	Resources(m CrisisMatch) json.RawMessage
}

// AlertSink hears of escalated alerts outside the app (a webhook). It gets
// ids, room, category, severity and times — never text or names.
type AlertSink interface {
	Escalated(ctx context.Context, roomID string, a room.Alert) error
}

// Crisis timing.
const (
	DefaultEscalateAfter = 3 * time.Minute  // an unacknowledged alert is sent again, marked escalated
	CardInterval         = 30 * time.Minute // at most one card per member per room in this time, unless the severity rises
	timerEscalate        = "escalate"
	sinkTimeout          = 2 * time.Minute // bound on delivering one escalation to the alert sink, retries included
)

// CategoryMemberRequest is the alert category of "I need support".
const CategoryMemberRequest = room.CategoryMemberRequest

// cards remembers, per room and member, when the last card was shown and at
// which severity, so a member is not shown the card on every message.
type cards struct {
	mu   sync.Mutex
	last map[string]cardShown
}

type cardShown struct {
	at       time.Time
	severity int
}

func rank(sev string) int {
	switch sev {
	case "gentle":
		return 1
	case "elevated":
		return 2
	case "high":
		return 3
	case "imminent":
		return 4
	}
	return 0
}

// due reports whether a card at sev should be shown to key now, and if so
// records it.
func (cs *cards) due(key, sev string, now time.Time) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.last == nil {
		cs.last = map[string]cardShown{}
	}
	if len(cs.last) > 10000 { // forget the expired ones before growing further
		for k, v := range cs.last {
			if now.Sub(v.at) >= CardInterval {
				delete(cs.last, k)
			}
		}
	}
	prev, ok := cs.last[key]
	if ok && now.Sub(prev.at) < CardInterval && rank(sev) <= prev.severity {
		return false
	}
	cs.last[key] = cardShown{at: now, severity: rank(sev)}
	return true
}

func alertFrame(roomID string, a room.Alert, name string) []byte {
	priority := "alert"
	if a.Severity == "gentle" {
		priority = "note"
	}
	return protocol.Marshal(protocol.CrisisAlertEvent{Type: protocol.TypeCrisisAlert, AlertID: a.ID, Room: roomID,
		MemberID: a.MemberID, DisplayName: name, Category: a.Category, Severity: a.Severity, Priority: priority,
		MessageID: a.LastMessageID, Count: a.Count, Escalated: !a.EscalatedAt.IsZero(), MemberRequest: a.Requested, TS: protocol.FormatTime(a.LastAt)})
}

// crisisCheck looks at a member's words after their message was delivered.
// On a match the member alone gets the crisis resources (on every one of
// their connections, after the message), and the room's facilitators are
// alerted privately, wherever they are. Nobody else is told anything. It
// fails open: a detector error is logged (without the text) and nothing
// else happens.
func (c *conn) crisisCheck(ctx context.Context, j *joined, messageID, text string) {
	if c.h.cfg.Crisis == nil || j.role.Facilitates() {
		return // facilitators quote resources and talk about safety
	}
	roomID := j.lr.name
	m, err := c.h.cfg.Crisis.Check(roomID+"|"+j.me.MemberID, text, time.Now())
	if err != nil {
		c.log.Error("crisis detection failed; message delivered without a check", "room", roomID, "err", err)
		return
	}
	if !m.Matched {
		return
	}
	c.h.crisisMatched(ctx, roomID, j.me, m, messageID)
}

// crisisMatched shows the card (rate-limited) and raises or updates the
// alert.
func (h *Hub) crisisMatched(ctx context.Context, roomID string, me protocol.Member, m CrisisMatch, messageID string) {
	h.crisisMatches.Add(1)
	// Someone who asks always gets the card, and asking does not count as
	// a card shown: words that signal a crisis afterwards get theirs too
	// (regression: TestCardAfterSupportRequest).
	asked := m.Category == CategoryMemberRequest
	if asked || h.cards.due(roomID+"|"+me.MemberID, m.Severity, time.Now()) {
		card := protocol.Marshal(protocol.CrisisResourcesEvent{Type: protocol.TypeCrisisResources, Room: roomID,
			Severity: m.Severity, Gentle: m.Severity == "gentle", Resources: h.cfg.Crisis.Resources(m)})
		h.publishControl(ctx, roomID, control{Ctl: ctlToMember, MemberID: me.MemberID, Frame: card})
	}
	h.raiseAlert(ctx, roomID, me.MemberID, me.DisplayName, m, messageID)
}

// raiseAlert stores (or updates) the member's open alert in the room and
// sends it to the room's facilitators wherever they are connected, with the
// escalation timer for a new or more severe one (due EscalateAfter after it
// opened).
func (h *Hub) raiseAlert(ctx context.Context, roomID, memberID, name string, m CrisisMatch, messageID string) {
	a, created, rose, err := h.cfg.Rooms.RaiseAlert(ctx, roomID, memberID, m.Category, m.Severity, messageID)
	if err != nil {
		h.logger(ctx).Error("crisis alert not stored", "room", roomID, "member_id", memberID, "err", err)
		return
	}
	r, err := h.cfg.Rooms.Load(ctx, roomID)
	if err != nil {
		h.logger(ctx).Error("crisis alert not delivered: room not loaded", "room", roomID, "err", err)
		return
	}
	h.logger(ctx).Info("crisis alert", "room", roomID, "member_id", memberID, "alert_id", a.ID, "severity", a.Severity, "category", a.Category, "new", created)
	h.toFacilitatorUsers(ctx, &r, alertFrame(roomID, a, name))
	// Escalation is due EscalateAfter from when the alert opened: a rise in
	// severity (or a gentle note becoming an alert) schedules it then — at
	// once if that has passed — and never pushes it later (regression:
	// TestRisingAlertIsNotEscalatedLater).
	if a.Severity != "gentle" && (created || rose) && a.EscalatedAt.IsZero() {
		h.schedule(ctx, a.OpenedAt.Add(h.cfg.EscalateAfter), "escalate:"+a.ID, timer{Kind: timerEscalate, Room: roomID, AlertID: a.ID})
	}
}

// requestSupport is the "I need support" button: the member sees the card
// and the facilitators get a private alert, without the member having to
// type anything.
func (c *conn) requestSupport(ctx context.Context, j *joined) error {
	if c.h.cfg.Crisis == nil {
		return protocol.Err(protocol.CodeUnavailable)
	}
	if j.role.Facilitates() {
		return protocol.Errf(protocol.CodeForbidden, "Facilitators are alerted by members' requests; they do not send them.")
	}
	c.h.crisisMatched(ctx, j.lr.name, j.me, CrisisMatch{Matched: true, Severity: "elevated", Category: CategoryMemberRequest}, "")
	return nil
}

// ackAlert acknowledges an alert; every facilitator of the room is told.
func (c *conn) ackAlert(ctx context.Context, f protocol.Frame) error {
	r, _, err := c.h.cfg.Rooms.AckAlert(ctx, c.actor(), f.Room, f.AlertID)
	if err != nil {
		return err
	}
	c.h.toFacilitatorUsers(ctx, &r, protocol.Marshal(protocol.AlertAckedEvent{Type: protocol.TypeAlertAcked, Room: f.Room, AlertID: f.AlertID}))
	return nil
}

// escalate runs when an alert's escalation timer fires (on one node): if
// nobody acknowledged it, it goes again, marked escalated, to every
// facilitator and co-facilitator of the room, and to the alert sink.
func (h *Hub) escalate(ctx context.Context, roomID, alertID string) {
	r, a, done, err := h.cfg.Rooms.Escalate(ctx, roomID, alertID)
	if err != nil || !done {
		return
	}
	h.logger(ctx).Warn("crisis alert escalated: not acknowledged in time", "room", roomID, "alert_id", alertID, "severity", a.Severity)
	h.toFacilitatorUsers(ctx, &r, alertFrame(roomID, a, h.presentNames(ctx, roomID)[a.MemberID]))
	if h.cfg.AlertSink != nil {
		// The sink retries with backoff for longer than a control task may
		// run, so it gets a task of its own.
		h.spawnFor(sinkTimeout, func(ctx context.Context) {
			if err := h.cfg.AlertSink.Escalated(ctx, roomID, a); err != nil {
				h.logger(ctx).Error("escalated alert not delivered to the webhook", "room", roomID, "alert_id", alertID, "err", err)
			}
		})
	}
}
