package room

import (
	"context"
	"crypto/rand"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"hearth/internal/protocol"
)

// Limits of facilitator controls.
const (
	DefaultSessionMinutes = 90      // start_session without minutes
	MaxSessionMinutes     = 4 * 60  // the longest planned session
	MaxMuteMinutes        = 24 * 60 // a timed mute lasts at most a day
	MaxSlowModeSeconds    = 3600
	MaxPinRunes           = 500
	MaxReasonRunes        = 300 // warn, mute and report reasons
	EndingSoonNotice      = 10 * time.Minute
)

func sessionOpen(r *Room) bool {
	return (r.Phase == PhaseOpen || r.Phase == PhaseClosing) && r.Session != nil
}

// IsFacilitatorMember reports whether memberID belongs to one of the room's
// facilitators.
func (s *Service) IsFacilitatorMember(r *Room, memberID string) bool {
	return slices.ContainsFunc(r.Facilitators, func(u string) bool { return s.memberID(r.ID, u) == memberID })
}

// checkReason trims a reason and bounds its length. Reasons are shown to the
// member concerned; they are not message text and are never logged.
func checkReason(reason string, required bool) (string, error) {
	reason = strings.TrimSpace(reason)
	if required && reason == "" {
		return "", protocol.Errf(protocol.CodeMissingField, "The field \"reason\" is required.")
	}
	if utf8.RuneCountInString(reason) > MaxReasonRunes {
		return "", protocol.Errf(protocol.CodeBadField, "A reason can be at most %d characters long.", MaxReasonRunes)
	}
	return reason, nil
}

// CheckReason trims an optional reason (a report's) and bounds its length.
func CheckReason(reason string) (string, error) { return checkReason(reason, false) }

// MarkAdmitted records that memberID is in the current session, so a
// reconnect is not held at the door if the room is locked later, and, when
// they had no admission yet, the room seq at which they entered (see
// Session.AdmittedSeq). Best effort: a failure only means a later lock may
// hold them, or a resume replays nothing.
func (s *Service) MarkAdmitted(ctx context.Context, id, memberID string, seq uint64) {
	marked := func(r *Room) bool {
		_, ok := r.Session.AdmittedSeq[memberID]
		return !sessionOpen(r) || (slices.Contains(r.Session.Admitted, memberID) && ok)
	}
	r, err := s.store.Room(ctx, id)
	if err != nil || marked(&r) {
		return
	}
	_, _ = s.store.UpdateRoom(ctx, id, func(r *Room) error {
		if marked(r) {
			return nil
		}
		if !slices.Contains(r.Session.Admitted, memberID) {
			r.Session.Admitted = append(r.Session.Admitted, memberID)
		}
		if _, ok := r.Session.AdmittedSeq[memberID]; !ok {
			if r.Session.AdmittedSeq == nil {
				r.Session.AdmittedSeq = map[string]uint64{}
			}
			r.Session.AdmittedSeq[memberID] = seq
		}
		return nil
	})
}

// AdmittedSince returns the room seq at which memberID was last admitted
// in the open session, and false when they have no admission in it.
func (r *Room) AdmittedSince(memberID string) (uint64, bool) {
	if r.Session == nil {
		return 0, false
	}
	seq, ok := r.Session.AdmittedSeq[memberID]
	return seq, ok
}

// EndAdmission ends memberID's admission in the open session (they left
// the room on purpose): a later resume replays nothing from before they are
// back. Best effort, like MarkAdmitted.
func (s *Service) EndAdmission(ctx context.Context, id, memberID string) {
	_, _ = s.store.UpdateRoom(ctx, id, func(r *Room) error {
		if _, ok := r.AdmittedSince(memberID); !ok {
			return errUnchanged
		}
		endAdmission(r, memberID)
		return nil
	})
}

// endAdmission forgets memberID's admission in the open session (removed
// or banned): a later resume replays nothing from before they are back.
func endAdmission(r *Room, memberID string) {
	if r.Session != nil {
		delete(r.Session.AdmittedSeq, memberID)
	}
}

// memberActions are the controls that must name a member.
var memberActions = map[string]bool{"admit": true, "deny": true, "warn": true, "mute": true, "unmute": true, "remove": true, "ban": true, "unban": true}

// control is a facilitator control on a member: after the actor's role
// (forbidden for anyone but the room's facilitators), it refuses controls
// aimed at a facilitator (target_facilitator) or at someone who does not
// belong to the room (not_found, see knownTarget), then applies fn.
func (s *Service) control(ctx context.Context, a Actor, id, action, target string, fn func(*Room) error) (Room, error) {
	if target == "" && memberActions[action] {
		return Room{}, protocol.Errf(protocol.CodeMissingField, "The field \"member_id\" is required.")
	}
	return s.updateMember(ctx, a, id, action, target, facilitates, func(r *Room, _ Role) error {
		if target != "" && s.IsFacilitatorMember(r, target) {
			return protocol.Err(protocol.CodeNotFacilitator)
		}
		if target != "" && !s.knownTarget(r, action, target) {
			return protocol.Err(protocol.CodeNotFound)
		}
		return fn(r)
	})
}

// StartSession opens a session of the given planned length in minutes (0:
// DefaultSessionMinutes). Errors: session_open, invalid_request.
func (s *Service) StartSession(ctx context.Context, a Actor, id string, minutes int) (Room, error) {
	if minutes == 0 {
		minutes = DefaultSessionMinutes
	}
	if minutes < 1 || minutes > MaxSessionMinutes {
		return Room{}, invalid("minutes must be between 1 and %d.", MaxSessionMinutes)
	}
	return s.control(ctx, a, id, "start_session", "", func(r *Room) error {
		if sessionOpen(r) {
			return protocol.Err(protocol.CodeSessionOpen)
		}
		now := s.now().UTC()
		var waiting []Waiting
		if r.Session != nil {
			waiting = r.Session.Waiting // people at the door stay there
		}
		r.Phase = PhaseOpen
		r.Session = &Session{StartedAt: now, PlannedEnd: now.Add(time.Duration(minutes) * time.Minute), Waiting: waiting}
		return nil
	})
}

// BeginClosing moves an open session to its closing phase. Errors:
// no_session.
func (s *Service) BeginClosing(ctx context.Context, a Actor, id string) (Room, error) {
	return s.control(ctx, a, id, "begin_closing", "", func(r *Room) error {
		if r.Phase != PhaseOpen || r.Session == nil {
			return protocol.Err(protocol.CodeNoSession)
		}
		r.Phase = PhaseClosing
		return nil
	})
}

// EndSession ends the session. While a crisis alert of the room is not
// acknowledged it is refused with open_alerts, unless force. Errors:
// no_session, open_alerts.
func (s *Service) EndSession(ctx context.Context, a Actor, id string, force bool) (Room, error) {
	return s.control(ctx, a, id, "end_session", "", func(r *Room) error {
		if !sessionOpen(r) {
			return protocol.Err(protocol.CodeNoSession)
		}
		if len(r.Alerts) > 0 && !force {
			return protocol.Err(protocol.CodeOpenAlerts)
		}
		r.Phase = PhaseEnded
		r.Session = &Session{StartedAt: r.Session.StartedAt, PlannedEnd: r.Session.PlannedEnd, Waiting: r.Session.Waiting}
		return nil
	})
}

// AddWaiting records a member at the door (no role check: the join path
// calls it for the member themselves). displayName is copied into the
// Waiting entry only when Names has no name for the member (a name claimed
// with ClaimName is not copied: read it through Room.DisplayName).
func (s *Service) AddWaiting(ctx context.Context, id, memberID, displayName string) (Room, error) {
	r, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
		if r.Session == nil {
			r.Session = &Session{}
		}
		if !slices.ContainsFunc(r.Session.Waiting, func(w Waiting) bool { return w.MemberID == memberID }) {
			name := displayName
			if _, ok := r.Names[memberID]; ok {
				name = ""
			}
			r.Session.Waiting = append(r.Session.Waiting, Waiting{MemberID: memberID, DisplayName: name, Since: s.now().UTC()})
		}
		return nil
	})
	return r, storeErr(err)
}

// RemoveWaiting forgets a member at the door (they left before being let
// in). It is not an error if they were not there.
func (s *Service) RemoveWaiting(ctx context.Context, id, memberID string) (Room, error) {
	r, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
		if r.Session != nil {
			r.Session.Waiting = slices.DeleteFunc(r.Session.Waiting, func(w Waiting) bool { return w.MemberID == memberID })
		}
		return nil
	})
	return r, storeErr(err)
}

// Admit lets waiting members in: one member id, or everyone waiting when
// memberID is empty — but no more than free of them, the seats left in the
// room (capacity less the members present or entering, which the caller
// counts from live presence; the hub then takes each seat atomically as the
// member enters). admit_all lets in the first free members in arrival order
// and leaves the others waiting. It returns the room and the member ids
// admitted. Errors: no_session, not_waiting, room_full (one member and no
// free seat, or people waiting and no free seat; nothing changes).
func (s *Service) Admit(ctx context.Context, a Actor, id, memberID string, free int) (Room, []string, error) {
	var admitted []string
	action := "admit"
	if memberID == "" {
		action = "admit_all"
	}
	r, err := s.control(ctx, a, id, action, memberID, func(r *Room) error {
		admitted = nil
		if !sessionOpen(r) {
			return protocol.Err(protocol.CodeNoSession)
		}
		keep := r.Session.Waiting[:0:0]
		full := false
		for _, w := range r.Session.Waiting {
			if memberID == "" || w.MemberID == memberID {
				if len(admitted) >= free {
					full = true
					keep = append(keep, w)
					continue
				}
				admitted = append(admitted, w.MemberID)
				if !slices.Contains(r.Session.Admitted, w.MemberID) {
					r.Session.Admitted = append(r.Session.Admitted, w.MemberID)
				}
				continue
			}
			keep = append(keep, w)
		}
		switch {
		case memberID != "" && len(admitted) == 0 && !full:
			return protocol.Err(protocol.CodeNotWaiting)
		case full && len(admitted) == 0:
			return protocol.Err(protocol.CodeRoomFull)
		}
		r.Session.Waiting = keep
		return nil
	})
	return r, admitted, err
}

// Deny turns a waiting member away. Errors: not_waiting.
func (s *Service) Deny(ctx context.Context, a Actor, id, memberID string) (Room, error) {
	return s.control(ctx, a, id, "deny", memberID, func(r *Room) error {
		if r.Session == nil || !slices.ContainsFunc(r.Session.Waiting, func(w Waiting) bool { return w.MemberID == memberID }) {
			return protocol.Err(protocol.CodeNotWaiting)
		}
		r.Session.Waiting = slices.DeleteFunc(r.Session.Waiting, func(w Waiting) bool { return w.MemberID == memberID })
		return nil
	})
}

// Warn records a warning (the reason goes to the member alone; the audit log
// keeps only that it happened).
func (s *Service) Warn(ctx context.Context, a Actor, id, memberID, reason string) (Room, string, error) {
	reason, err := checkReason(reason, true)
	if err != nil {
		return Room{}, "", err
	}
	r, err := s.control(ctx, a, id, "warn", memberID, func(*Room) error { return nil })
	return r, reason, err
}

// Mute mutes a member for minutes (0: until unmuted) with a reason.
func (s *Service) Mute(ctx context.Context, a Actor, id, memberID string, minutes int, reason string) (Room, Mute, error) {
	reason, err := checkReason(reason, false)
	if err != nil {
		return Room{}, Mute{}, err
	}
	if minutes < 0 || minutes > MaxMuteMinutes {
		return Room{}, Mute{}, invalid("minutes must be between 0 (until unmuted) and %d.", MaxMuteMinutes)
	}
	m := Mute{Reason: reason}
	if minutes > 0 {
		m.Until = s.now().Add(time.Duration(minutes) * time.Minute).UTC().Truncate(time.Millisecond)
	}
	r, err := s.control(ctx, a, id, "mute", memberID, func(r *Room) error {
		if r.Muted == nil {
			r.Muted = map[string]Mute{}
		}
		r.Muted[memberID] = m
		return nil
	})
	return r, m, err
}

// Unmute lifts a member's mute (not an error if there was none).
func (s *Service) Unmute(ctx context.Context, a Actor, id, memberID string) (Room, error) {
	return s.control(ctx, a, id, "unmute", memberID, func(r *Room) error {
		delete(r.Muted, memberID)
		return nil
	})
}

// LiftExpiredMute removes memberID's mute if it is the timed mute that ends
// at until (a timer firing; a newer mute or an unmute meanwhile wins). It
// reports whether it lifted anything.
func (s *Service) LiftExpiredMute(ctx context.Context, id, memberID string, until time.Time) (Room, bool, error) {
	lifted := false
	r, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
		lifted = false
		if m, ok := r.Muted[memberID]; ok && m.Until.Equal(until) {
			delete(r.Muted, memberID)
			lifted = true
		}
		return nil
	})
	return r, lifted, storeErr(err)
}

// ActiveMute returns memberID's mute if it is in force at now.
func (r *Room) ActiveMute(memberID string, now time.Time) (Mute, bool) {
	m, ok := r.Muted[memberID]
	if !ok || (!m.Until.IsZero() && !now.Before(m.Until)) {
		return Mute{}, false
	}
	return m, true
}

// Remove records that a member was removed from the live room (they may
// rejoin).
func (s *Service) Remove(ctx context.Context, a Actor, id, memberID string) (Room, error) {
	return s.control(ctx, a, id, "remove", memberID, func(r *Room) error { endAdmission(r, memberID); return nil })
}

// Ban bans a member: they are removed from the live room and the lobby and
// cannot rejoin until unbanned. Persisted. A banned member stays on the
// roster (a ban can be lifted), so their display name and acceptance of
// the group agreement are kept; RemoveMember deletes them.
func (s *Service) Ban(ctx context.Context, a Actor, id, memberID string) (Room, error) {
	return s.control(ctx, a, id, "ban", memberID, func(r *Room) error {
		if !slices.Contains(r.Banned, memberID) {
			r.Banned = append(r.Banned, memberID)
		}
		endAdmission(r, memberID)
		if r.Session != nil {
			r.Session.Admitted = slices.DeleteFunc(r.Session.Admitted, func(m string) bool { return m == memberID })
			r.Session.Waiting = slices.DeleteFunc(r.Session.Waiting, func(w Waiting) bool { return w.MemberID == memberID })
		}
		return nil
	})
}

// Unban lifts a ban.
func (s *Service) Unban(ctx context.Context, a Actor, id, memberID string) (Room, error) {
	return s.control(ctx, a, id, "unban", memberID, func(r *Room) error {
		r.Banned = slices.DeleteFunc(r.Banned, func(m string) bool { return m == memberID })
		return nil
	})
}

// SetLock locks or unlocks the session: while locked, newcomers wait in the
// lobby. Errors: no_session.
func (s *Service) SetLock(ctx context.Context, a Actor, id string, locked bool) (Room, error) {
	action := map[bool]string{true: "lock", false: "unlock"}[locked]
	return s.control(ctx, a, id, action, "", func(r *Room) error {
		if !sessionOpen(r) {
			return protocol.Err(protocol.CodeNoSession)
		}
		r.Session.Locked = locked
		return nil
	})
}

// AutoLock locks the session if it is still the one that started at
// startedAt (a timer firing). It reports whether it locked it.
func (s *Service) AutoLock(ctx context.Context, id string, startedAt time.Time) (Room, bool, error) {
	locked := false
	r, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
		locked = false
		if sessionOpen(r) && r.Session.StartedAt.Equal(startedAt) && !r.Session.Locked {
			r.Session.Locked, locked = true, true
		}
		return nil
	})
	return r, locked, storeErr(err)
}

// SetSlowMode sets slow mode to seconds (0: off). Errors: no_session,
// invalid_request.
func (s *Service) SetSlowMode(ctx context.Context, a Actor, id string, seconds int) (Room, error) {
	if seconds < 0 || seconds > MaxSlowModeSeconds {
		return Room{}, invalid("seconds must be between 0 and %d.", MaxSlowModeSeconds)
	}
	return s.control(ctx, a, id, "slow_mode", "", func(r *Room) error {
		if !sessionOpen(r) {
			return protocol.Err(protocol.CodeNoSession)
		}
		r.Session.SlowModeSec = seconds
		return nil
	})
}

// SetMode sets the session's mode: protocol.ModeOpen or ModeRounds.
// Errors: no_session, invalid_request (another mode).
func (s *Service) SetMode(ctx context.Context, a Actor, id, mode string) (Room, error) {
	if mode != protocol.ModeOpen && mode != protocol.ModeRounds {
		return Room{}, invalid("mode must be %q or %q.", protocol.ModeOpen, protocol.ModeRounds)
	}
	return s.control(ctx, a, id, "set_mode", "", func(r *Room) error {
		if !sessionOpen(r) {
			return protocol.Err(protocol.CodeNoSession)
		}
		r.Session.Mode = mode
		return nil
	})
}

// SetShareTimer sets the soft time box of turns that start from now on:
// 0 (off) or MinShareTimerSeconds to MaxShareTimerSeconds. Errors:
// no_session, invalid_request.
func (s *Service) SetShareTimer(ctx context.Context, a Actor, id string, seconds int) (Room, error) {
	if seconds != 0 && (seconds < MinShareTimerSeconds || seconds > MaxShareTimerSeconds) {
		return Room{}, invalid("seconds must be 0 (off) or between %d and %d.", MinShareTimerSeconds, MaxShareTimerSeconds)
	}
	return s.control(ctx, a, id, "share_timer", "", func(r *Room) error {
		if !sessionOpen(r) {
			return protocol.Err(protocol.CodeNoSession)
		}
		r.Session.ShareTimerSec = seconds
		return nil
	})
}

// Rounds reports whether the room's open session takes turns (only the
// floor holder and facilitators may post).
func (r *Room) Rounds() bool { return r.Session != nil && r.Session.Mode == protocol.ModeRounds }

// SetPin sets (or, with "", clears) the announcement shown to everyone.
// Errors: no_session, text_too_long.
func (s *Service) SetPin(ctx context.Context, a Actor, id, text string) (Room, error) {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) > MaxPinRunes {
		return Room{}, protocol.Errf(protocol.CodeTextTooLong, "A pinned announcement can be at most %d characters long.", MaxPinRunes)
	}
	action := "pin"
	if text == "" {
		action = "unpin"
	}
	return s.control(ctx, a, id, action, "", func(r *Room) error {
		if !sessionOpen(r) {
			return protocol.Err(protocol.CodeNoSession)
		}
		r.Session.Pin = text
		return nil
	})
}

// Audited records a control that changes no durable state (delete_message,
// dm) after checking the actor facilitates the room.
func (s *Service) Audited(ctx context.Context, a Actor, id, action, target string) (Room, error) {
	return s.updateMember(ctx, a, id, action, target, facilitates, func(*Room, Role) error { return nil })
}

// Role returns userID's role in room id. Errors: not_found.
func (s *Service) Role(ctx context.Context, id, userID string) (Room, Role, error) {
	r, err := s.store.Room(ctx, id)
	if err != nil {
		return Room{}, RoleNone, storeErr(err)
	}
	return r, r.RoleOf(userID), nil
}

// Load returns room id as stored.
func (s *Service) Load(ctx context.Context, id string) (Room, error) {
	r, err := s.store.Room(ctx, id)
	return r, storeErr(err)
}

// MutedNow lists the mutes in force at now, by member id.
func (r *Room) MutedNow(now time.Time) map[string]Mute {
	out := map[string]Mute{}
	for _, k := range slices.Sorted(maps.Keys(r.Muted)) {
		if m, ok := r.ActiveMute(k, now); ok {
			out[k] = m
		}
	}
	return out
}

// MaxOpenReports bounds the unacknowledged reports kept per room; the
// oldest give way.
const MaxOpenReports = 200

// RoleSupervisor is the token role of people who may read the audit logs
// and reports of every room but join none.
const RoleSupervisor = protocol.RoleSupervisor

// AddReport keeps a member's report (ids, reason, time) until acknowledged.
func (s *Service) AddReport(ctx context.Context, id string, rep Report) (Report, error) {
	rep.ID = strings.ToLower(rand.Text()[:16])
	rep.At = s.now().UTC()
	_, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
		r.Reports = append(r.Reports, rep)
		if len(r.Reports) > MaxOpenReports {
			r.Reports = r.Reports[len(r.Reports)-MaxOpenReports:]
		}
		return nil
	})
	return rep, storeErr(err)
}

// oversees reports whether the actor may read the room's audit log and
// reports: its facilitators, and supervisors. Errors: not_found (no such
// room; or, for anyone else not in the room, wrapping ErrNotInRoom),
// banned, forbidden.
func (s *Service) oversees(ctx context.Context, a Actor, id string) (Room, error) {
	r, err := s.store.Room(ctx, id)
	if err != nil {
		return Room{}, storeErr(err)
	}
	if a.TokenRole == RoleSupervisor {
		return r, nil
	}
	if _, err := s.authorize(&r, a, facilitates); err != nil {
		return Room{}, err
	}
	return r, nil
}

// Reports lists the room's unacknowledged reports, oldest first
// (facilitators and supervisors).
//
// A facilitator never sees reports about their own messages: those are for
// the room's other facilitators and for supervisors.
func (s *Service) Reports(ctx context.Context, a Actor, id string) ([]Report, error) {
	r, err := s.oversees(ctx, a, id)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(append([]Report{}, r.Reports...), func(rep Report) bool { return s.aboutSelf(a, id, rep) }), nil
}

// aboutSelf reports whether rep is about a's own message (a facilitator's;
// supervisors are not in rooms).
func (s *Service) aboutSelf(a Actor, id string, rep Report) bool {
	return a.TokenRole != RoleSupervisor && rep.About != "" && rep.About == s.memberID(id, a.UserID)
}

// AckReport acknowledges (and forgets) a report. Errors: not_found (also
// for a report about the caller's own message).
func (s *Service) AckReport(ctx context.Context, a Actor, id, reportID string) error {
	if _, err := s.oversees(ctx, a, id); err != nil {
		return err
	}
	_, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
		n := len(r.Reports)
		// A report about the caller's own message is not theirs to close
		// (and, for them, does not exist).
		r.Reports = slices.DeleteFunc(r.Reports, func(rep Report) bool { return rep.ID == reportID && !s.aboutSelf(a, id, rep) })
		if len(r.Reports) == n {
			return protocol.Err(protocol.CodeNotFound)
		}
		return nil
	})
	if err != nil {
		return storeErr(err)
	}
	s.audit(ctx, id, a.UserID, "ack_report", "")
	return nil
}

// severityRank orders crisis severities; unknown ones rank lowest.
func severityRank(s string) int {
	return slices.Index([]string{"gentle", "elevated", "high", "imminent"}, s) + 1
}

// MaxOpenAlerts bounds the open alerts kept per room; the oldest give way.
const MaxOpenAlerts = 200

// RaiseAlert records a crisis match for memberID: a new alert, or the
// member's open one updated (count, last message, severity raised if
// higher). It reports whether the alert is new and whether its severity
// rose. Nothing of the text is kept.
func (s *Service) RaiseAlert(ctx context.Context, id, memberID, category, severity, messageID string) (Alert, bool, bool, error) {
	var out Alert
	var created, rose bool
	_, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
		now := s.now().UTC()
		created, rose = false, false
		for i := range r.Alerts {
			a := &r.Alerts[i]
			if a.MemberID != memberID {
				continue
			}
			a.Count++
			a.LastAt = now
			if messageID != "" { // "I need support" has no message: keep the last one
				a.LastMessageID = messageID
			}
			if category == CategoryMemberRequest && !a.Requested {
				// The member asked for support themselves: that must show,
				// whatever the alert was opened for.
				a.Requested, rose = true, true
			}
			if severityRank(severity) > severityRank(a.Severity) {
				a.Severity, a.Category, rose = severity, category, true
			} else if a.Category == CategoryMemberRequest && category != CategoryMemberRequest && severityRank(severity) == severityRank(a.Severity) {
				// Opened by "I need support", then words that signal a
				// crisis: the facilitators must see what the words were
				// about (Requested keeps the request showing).
				a.Category, rose = category, true
			}
			out = *a
			return nil
		}
		out = Alert{ID: strings.ToLower(rand.Text()[:16]), MemberID: memberID, Category: category, Severity: severity,
			MessageID: messageID, LastMessageID: messageID, OpenedAt: now, LastAt: now, Count: 1, Requested: category == CategoryMemberRequest}
		r.Alerts = append(r.Alerts, out)
		if len(r.Alerts) > MaxOpenAlerts {
			r.Alerts = r.Alerts[len(r.Alerts)-MaxOpenAlerts:]
		}
		created = true
		return nil
	})
	return out, created, rose, storeErr(err)
}

// AckAlert acknowledges (and forgets) an open alert (facilitators). Errors:
// not_found.
func (s *Service) AckAlert(ctx context.Context, a Actor, id, alertID string) (Room, Alert, error) {
	var acked Alert
	r, err := s.updateMember(ctx, a, id, "ack_alert", "", facilitates, func(r *Room, _ Role) error {
		i := slices.IndexFunc(r.Alerts, func(al Alert) bool { return al.ID == alertID })
		if i < 0 {
			return protocol.Errf(protocol.CodeNotFound, "That alert is not open (it may have been acknowledged already).")
		}
		acked = r.Alerts[i]
		r.Alerts = slices.Delete(r.Alerts, i, i+1)
		return nil
	})
	return r, acked, err
}

// Escalate marks an alert escalated if it is still open and was not
// escalated before (a timer firing, on whichever node). It reports whether
// it did.
func (s *Service) Escalate(ctx context.Context, id, alertID string) (Room, Alert, bool, error) {
	var out Alert
	done := false
	r, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
		done = false
		for i := range r.Alerts {
			if a := &r.Alerts[i]; a.ID == alertID && a.EscalatedAt.IsZero() {
				a.EscalatedAt = s.now().UTC()
				out, done = *a, true
			}
		}
		return nil
	})
	return r, out, done, storeErr(err)
}
