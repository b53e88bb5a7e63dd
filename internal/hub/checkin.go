package hub

import (
	"context"
	"encoding/json"
	"time"

	"hearth/internal/checkin"
	"hearth/internal/protocol"
)

// CheckinPosted hears of a check-in that POST /api/checkins has just stored
// (httpapi.Hub) and tells whoever may see it, live: each chosen room's
// facilitators wherever they are connected, and, for a group-visible one,
// the members connected to that room (never the members of other rooms).
// The author's display name in each room is looked up now, not copied.
//
// When the note trips the crisis detector, the author's connections get the
// crisis resources (on their personal channel: they need not be in a room),
// each chosen room's facilitators get a stored crisis_alert — whatever the
// visibility: the group is never told — and the resources are returned for
// the POST response. Otherwise it returns nil. Detection fails open: an
// error is logged without the text and the check-in stands.
func (h *Hub) CheckinPosted(ctx context.Context, c checkin.CheckIn) (resources json.RawMessage) {
	var m CrisisMatch
	if h.cfg.Crisis != nil && c.Note != "" {
		var err error
		if m, err = h.cfg.Crisis.Check("checkin|"+c.ID, c.Note, time.Now()); err != nil {
			h.logger(ctx).Error("crisis detection failed on a check-in; stored without a check", "checkin", c.ID, "err", err)
			m = CrisisMatch{}
		}
	}
	if m.Matched {
		h.crisisMatches.Add(1)
		resources = h.cfg.Crisis.Resources(m)
		h.toUser(ctx, c.UserID, protocol.Marshal(protocol.CrisisResourcesEvent{Type: protocol.TypeCrisisResources,
			Severity: m.Severity, Gentle: m.Severity == "gentle", Resources: resources}))
	}
	for _, roomID := range c.Rooms {
		r, err := h.cfg.Rooms.Load(ctx, roomID)
		if err != nil {
			h.logger(ctx).Warn("check-in not delivered live: room not loaded", "room", roomID, "checkin", c.ID, "err", err)
			continue
		}
		memberID := h.cfg.MemberIDs.For(roomID, c.UserID)
		name := r.DisplayName(memberID)
		ev := protocol.Marshal(protocol.CheckinEvent{Type: protocol.TypeCheckin, Room: roomID, CheckinID: c.ID, MemberID: memberID,
			DisplayName: name, Mood: c.Mood, MoodLabel: checkin.MoodLabel(c.Mood), Note: c.Note, Visibility: string(c.Visibility),
			TS: protocol.FormatTime(c.CreatedAt)})
		h.toFacilitatorUsers(ctx, &r, ev)
		if c.Visibility == checkin.VisibilityGroup {
			h.publishControl(ctx, roomID, control{Ctl: ctlToMembers, Frame: ev})
		}
		if m.Matched {
			h.raiseAlert(ctx, roomID, memberID, name, m, "")
		}
	}
	return resources
}
