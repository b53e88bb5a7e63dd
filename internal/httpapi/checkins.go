package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"hearth/internal/checkin"
	"hearth/internal/protocol"
	"hearth/internal/room"
)

// checkinPostedTimeout bounds Hub.CheckinPosted: the check-in is stored
// already, and the member is waiting for the response.
const checkinPostedTimeout = 10 * time.Second

// maxRoomScan bounds how many of a room's check-ins one listing or summary
// reads from the store (retention bounds them anyway: 15 members checking
// in daily for 30 days are 450).
const maxRoomScan = 20 * checkin.MaxStorePage

// ownCheckIn is a check-in as its author sees it: never their user id, and
// for each room the member id they have there.
type ownCheckIn struct {
	ID         string             `json:"id"`
	Mood       int                `json:"mood"`
	MoodLabel  string             `json:"mood_label"`
	Note       string             `json:"note,omitempty"`
	Visibility checkin.Visibility `json:"visibility"`
	Rooms      []ownRoom          `json:"rooms"`
	CreatedAt  string             `json:"created_at"`
	ExpiresAt  string             `json:"expires_at,omitempty"` // when the store deletes it
	// Resources (POST only) are the crisis resources when the note tripped
	// the crisis detector.
	Resources json.RawMessage `json:"resources,omitempty"`
}

type ownRoom struct {
	Room     string `json:"room"`
	MemberID string `json:"member_id"`
}

// roomCheckIn is a check-in as the people of one room see it: the author
// as their member id there and the display name they have there now; never
// the user id, nor the author's other rooms.
type roomCheckIn struct {
	ID          string             `json:"id"`
	MemberID    string             `json:"member_id"`
	DisplayName string             `json:"display_name"`
	Mood        int                `json:"mood"`
	MoodLabel   string             `json:"mood_label"`
	Note        string             `json:"note,omitempty"`
	Visibility  checkin.Visibility `json:"visibility"`
	CreatedAt   string             `json:"created_at"`
}

// summaryLine is one member's line of a room's summary.
type summaryLine struct {
	MemberID      string        `json:"member_id"`
	DisplayName   string        `json:"display_name"`
	CheckIns      int           `json:"checkins"`
	Latest        *summaryLast  `json:"latest"`          // null: no check-in yet
	DaysSinceLast *int          `json:"days_since_last"` // null: no check-in yet
	Trend         *summaryTrend `json:"trend"`           // null: fewer than two check-ins
	CrisisAlert   bool          `json:"crisis_alert"`
}

type summaryLast struct {
	ID         string             `json:"id"`
	Mood       int                `json:"mood"`
	MoodLabel  string             `json:"mood_label"`
	Visibility checkin.Visibility `json:"visibility"`
	At         string             `json:"at"`
}

type summaryTrend struct {
	Direction checkin.Direction `json:"direction"`
	Slope     float64           `json:"slope"`
	Over      int               `json:"over"`
}

// checkInDraft is the body of POST /api/checkins: checkin.Draft with the
// mood read by hand, so that 3.5, "3" or true are invalid_mood rather than
// a type error.
type checkInDraft struct {
	Mood       json.RawMessage    `json:"mood"`
	Note       string             `json:"note"`
	Visibility checkin.Visibility `json:"visibility"`
	Rooms      []string           `json:"rooms"`
}

// checkInErr maps a check-in store error to a protocol error, logging a
// failure with the request's id (ctx: the request's context).
func (cfg Config) checkInErr(ctx context.Context, err error) error {
	var pe *protocol.Error
	switch {
	case errors.Is(err, checkin.ErrNotFound):
		return protocol.Err(protocol.CodeNotFound)
	case errors.As(err, &pe):
		return err
	}
	cfg.logCtx(ctx).Warn("check-in store failed", "err", err) // ids at most, never a note
	return protocol.Err(protocol.CodeUnavailable)
}

// page reads ?before=&limit=. Errors: invalid_request.
func page(r *http.Request) (checkin.Cursor, int, error) {
	q := r.URL.Query()
	before, err := checkin.ParseCursor(q.Get("before"))
	if err != nil {
		return checkin.Cursor{}, 0, err
	}
	limit := checkin.DefaultPageLimit
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > checkin.MaxPageLimit {
			return checkin.Cursor{}, 0, protocol.Errf(protocol.CodeInvalidRequest, "The field \"limit\" is a whole number from 1 to %d.", checkin.MaxPageLimit)
		}
	}
	return before, limit, nil
}

// eligibleRooms returns the rooms the actor may check in with: those whose
// roster they are on and that have not banned them. Facilitating a room
// does not make it eligible: facilitators read check-ins, they do not post
// them to their own groups.
func (cfg Config) eligibleRooms(ctx context.Context, a room.Actor) ([]string, error) {
	rooms, err := cfg.Rooms.Mine(ctx, a)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rm := range rooms {
		if rm.RoleOf(a.UserID) == room.RoleMember && !slices.Contains(rm.Banned, cfg.Rooms.MemberID(rm.ID, a.UserID)) {
			out = append(out, rm.ID)
		}
	}
	return out, nil
}

func (cfg Config) ownView(c checkin.CheckIn, retention time.Duration) ownCheckIn {
	v := ownCheckIn{ID: c.ID, Mood: c.Mood, MoodLabel: checkin.MoodLabel(c.Mood), Note: c.Note, Visibility: c.Visibility,
		Rooms: make([]ownRoom, 0, len(c.Rooms)), CreatedAt: protocol.FormatTime(c.CreatedAt)}
	for _, r := range c.Rooms {
		v.Rooms = append(v.Rooms, ownRoom{Room: r, MemberID: cfg.Rooms.MemberID(r, c.UserID)})
	}
	if retention > 0 {
		v.ExpiresAt = protocol.FormatTime(c.ExpiresAt(retention))
	}
	return v
}

// roomReader returns room id and whether the actor facilitates it, for a
// reader of its check-ins. Errors: not_found (no such room, or not one of
// its people: the same answer), banned.
func (cfg Config) roomReader(ctx context.Context, a room.Actor, id string) (room.Room, bool, error) {
	rm, role, err := cfg.Rooms.Get(ctx, a, id)
	if err != nil {
		return room.Room{}, false, err
	}
	return rm, role.Facilitates(), nil
}

// scanRoom calls keep on the room's check-ins, newest first from before,
// until keep returns false, the store has no more, or maxRoomScan were
// read. It reports whether the store may hold more.
func (cfg Config) scanRoom(ctx context.Context, roomID string, before checkin.Cursor, keep func(checkin.CheckIn) bool) (more bool, err error) {
	for read := 0; read < maxRoomScan; {
		cs, err := cfg.CheckIns.ListByRoom(ctx, roomID, before, checkin.MaxStorePage)
		if err != nil {
			return false, cfg.checkInErr(ctx, err)
		}
		for _, c := range cs {
			read++
			if !keep(c) {
				return true, nil
			}
		}
		if len(cs) < checkin.MaxStorePage {
			return false, nil
		}
		before = cs[len(cs)-1].Cursor()
	}
	return true, nil
}

// checkInRoutes registers the check-in REST API on mux (see the README's
// REST table and docs/protocol.md).
func (cfg Config) checkInRoutes(mux *http.ServeMux) {
	handle := func(pattern string, h func(http.ResponseWriter, *http.Request, room.Actor)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if a, ok := cfg.actor(w, r); ok {
				h(w, r, a)
			}
		})
	}
	handle("GET /api/checkins/moods", func(w http.ResponseWriter, r *http.Request, _ room.Actor) {
		WriteJSON(w, http.StatusOK, map[string]any{"moods": checkin.Moods()})
	})
	handle("POST /api/checkins", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			WriteError(w, http.StatusRequestEntityTooLarge, protocol.Errf(protocol.CodeInvalidRequest, "The request body is larger than %d bytes.", maxBodyBytes))
			return
		}
		if !utf8.Valid(body) { // the JSON decoder would quietly turn the bad bytes into U+FFFD
			fail(w, protocol.Errf(protocol.CodeInvalidNote, "A check-in must be valid UTF-8 text."))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var b checkInDraft
		if !decode(w, r, &b) {
			return
		}
		d := checkin.Draft{Note: b.Note, Visibility: b.Visibility, Rooms: b.Rooms}
		if d.Mood, err = strconv.Atoi(string(b.Mood)); err != nil {
			d.Mood = 0 // absent, null, a fraction, a string: invalid_mood below
		}
		eligible, err := cfg.eligibleRooms(r.Context(), a)
		if err != nil {
			fail(w, err)
			return
		}
		c, err := checkin.New(a.UserID, d, eligible, time.Now())
		if err != nil {
			if protocol.AsError(err).Code == protocol.CodeNotInRoom {
				// Audited in each group asked for that the caller may not
				// check in with (none asked for: about no room, logged).
				for _, id := range d.Rooms {
					if !slices.Contains(eligible, id) && protocol.ValidRoomID(id) {
						cfg.Rooms.Denied(r.Context(), a, id, "post_checkin", err)
					}
				}
				if len(d.Rooms) == 0 {
					cfg.logFor(r).Info("request refused", "command", "post_checkin", "code", protocol.CodeNotInRoom)
				}
			}
			fail(w, err)
			return
		}
		if err := cfg.CheckIns.Put(r.Context(), c); err != nil {
			fail(w, cfg.checkInErr(r.Context(), err))
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), checkinPostedTimeout)
		resources := cfg.Hub.CheckinPosted(ctx, c)
		cancel()
		v := cfg.ownView(c, cfg.CheckInRetention)
		v.Resources = resources
		WriteJSON(w, http.StatusCreated, v)
	})
	handle("GET /api/checkins", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		before, limit, err := page(r)
		if err != nil {
			fail(w, err)
			return
		}
		cs, err := cfg.CheckIns.ListByUser(r.Context(), a.UserID, before, limit)
		if err != nil {
			fail(w, cfg.checkInErr(r.Context(), err))
			return
		}
		out := make([]ownCheckIn, 0, len(cs))
		for _, c := range cs {
			out = append(out, cfg.ownView(c, cfg.CheckInRetention))
		}
		next := ""
		if len(cs) == limit {
			next = cs[len(cs)-1].Cursor().String()
		}
		WriteJSON(w, http.StatusOK, map[string]any{"checkins": out, "next_before": next})
	})
	handle("DELETE /api/checkins/{id}", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		id := r.PathValue("id")
		if !checkin.ValidID(id) {
			fail(w, protocol.Err(protocol.CodeNotFound))
			return
		}
		if err := cfg.CheckIns.Delete(r.Context(), a.UserID, id); err != nil {
			fail(w, cfg.checkInErr(r.Context(), err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	handle("GET /api/rooms/{id}/checkins", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		before, limit, err := page(r)
		if err != nil {
			fail(w, err)
			return
		}
		rm, facilitates, err := cfg.roomReader(r.Context(), a, r.PathValue("id"))
		if err != nil {
			cfg.refuse(w, r, a, r.PathValue("id"), "read_checkins", err)
			return
		}
		out := make([]roomCheckIn, 0, limit)
		var last checkin.CheckIn
		more, err := cfg.scanRoom(r.Context(), rm.ID, before, func(c checkin.CheckIn) bool {
			// Only check-ins the reader may see, by people still in the
			// group: one who leaves takes their check-ins out of its view.
			if checkin.Visible(c, rm.ID, facilitates) && rm.RoleOf(c.UserID) != room.RoleNone {
				m := cfg.Rooms.MemberID(rm.ID, c.UserID)
				out = append(out, roomCheckIn{ID: c.ID, MemberID: m, DisplayName: rm.DisplayName(m), Mood: c.Mood,
					MoodLabel: checkin.MoodLabel(c.Mood), Note: c.Note, Visibility: c.Visibility, CreatedAt: protocol.FormatTime(c.CreatedAt)})
				last = c
			}
			return len(out) < limit
		})
		if err != nil {
			fail(w, err)
			return
		}
		next := ""
		if more && len(out) == limit {
			next = last.Cursor().String()
		}
		WriteJSON(w, http.StatusOK, map[string]any{"checkins": out, "next_before": next})
	})
	handle("GET /api/rooms/{id}/checkins/summary", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		rm, facilitates, err := cfg.roomReader(r.Context(), a, r.PathValue("id"))
		if err == nil && !facilitates {
			err = protocol.Err(protocol.CodeForbidden)
		}
		if err != nil {
			cfg.refuse(w, r, a, r.PathValue("id"), "read_checkin_summary", err)
			return
		}
		var all []checkin.CheckIn
		if _, err := cfg.scanRoom(r.Context(), rm.ID, checkin.Cursor{}, func(c checkin.CheckIn) bool {
			all = append(all, c)
			return true
		}); err != nil {
			fail(w, err)
			return
		}
		members := make([]string, 0, len(rm.Roster))
		for _, u := range rm.Roster {
			members = append(members, cfg.Rooms.MemberID(rm.ID, u))
		}
		now := time.Now()
		sums := checkin.Summarize(members, all, func(u string) string { return cfg.Rooms.MemberID(rm.ID, u) }, now)
		alerted := map[string]bool{}
		for _, al := range rm.Alerts { // open alerts: acknowledged ones are deleted
			alerted[al.MemberID] = true
		}
		out := make([]summaryLine, 0, len(sums))
		for _, s := range sums {
			line := summaryLine{MemberID: s.MemberID, DisplayName: rm.DisplayName(s.MemberID), CheckIns: s.Count, CrisisAlert: alerted[s.MemberID]}
			if s.Latest != nil {
				line.Latest = &summaryLast{ID: s.Latest.ID, Mood: s.Latest.Mood, MoodLabel: checkin.MoodLabel(s.Latest.Mood),
					Visibility: s.Latest.Visibility, At: protocol.FormatTime(s.Latest.CreatedAt)}
				days := s.DaysSinceLast
				line.DaysSinceLast = &days
			}
			if s.Trend != nil {
				line.Trend = &summaryTrend{Direction: s.Trend.Direction, Slope: s.Trend.Slope, Over: s.Trend.Count}
			}
			out = append(out, line)
		}
		WriteJSON(w, http.StatusOK, map[string]any{"room": rm.ID, "at": protocol.FormatTime(now), "trend_window": checkin.TrendWindow, "members": out})
	})
}
