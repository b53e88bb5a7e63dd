package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hearth/internal/protocol"
	"hearth/internal/room"
)

// maxBodyBytes bounds every REST request body.
const maxBodyBytes = 64 << 10

// rosterChangedTimeout bounds telling the hub of a roster change (a store
// read and a few publishes); the change itself is made already.
const rosterChangedTimeout = 10 * time.Second

// rosterChanged tells the hub that room roomID's people changed (see
// Hub.RosterChanged), before the response is written, with a context that
// the client going away does not cancel.
func (cfg Config) rosterChanged(r *http.Request, roomID string, removed ...string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), rosterChangedTimeout)
	defer cancel()
	cfg.Hub.RosterChanged(ctx, roomID, removed...)
}

// refuse writes err in the JSON error shape and, when it refuses the caller
// for who they are in room roomID (room.DenialCode: not one of its people —
// answered not_found, like a room that does not exist — banned, forbidden,
// …), records the refusal in that room's audit log under command, the
// endpoint's audit name (metadata only: actor member id, command, code).
func (cfg Config) refuse(w http.ResponseWriter, r *http.Request, a room.Actor, roomID, command string, err error) {
	cfg.Rooms.Denied(r.Context(), a, roomID, command, err)
	fail(w, err)
}

// roomView is a room as the REST API shows it to one caller. Facilitators
// also see the roster, the facilitators (user ids: they manage people by user
// id) and the banned member ids; members see neither.
type roomView struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Kind          room.Kind      `json:"kind"`
	Capacity      int            `json:"capacity"`
	WaitingRoom   bool           `json:"waiting_room"`
	AutoLockAfter int            `json:"auto_lock_after_min,omitempty"`
	Schedule      *room.Schedule `json:"schedule,omitempty"`
	Phase         room.Phase     `json:"phase"`
	YourRole      room.Role      `json:"your_role"`
	Facilitators  *[]string      `json:"facilitators,omitempty"` // facilitators' view only
	Roster        *[]string      `json:"roster,omitempty"`       // facilitators' view only; [] when empty
	Banned        *[]string      `json:"banned,omitempty"`       // facilitators' view only
	Version       uint64         `json:"version"`
}

func viewOf(r room.Room, role room.Role) roomView {
	v := roomView{ID: r.ID, Name: r.Name, Kind: r.Kind, Capacity: r.Capacity, WaitingRoom: r.WaitingRoom,
		AutoLockAfter: r.AutoLockAfter, Schedule: r.Schedule, Phase: r.Phase, YourRole: role, Version: r.Version}
	if role.Facilitates() {
		nonNil := func(s []string) *[]string {
			if s == nil {
				s = []string{}
			}
			return &s
		}
		v.Facilitators, v.Roster, v.Banned = nonNil(r.Facilitators), nonNil(r.Roster), nonNil(r.Banned)
	}
	return v
}

// actor authenticates a REST request by its bearer token or, without an
// Authorization header, by the sign-in session cookie (see SignIn.Session),
// writing the refusal (401, or 403 cross_origin) itself when it fails.
func (cfg Config) actor(w http.ResponseWriter, r *http.Request) (room.Actor, bool) {
	if cfg.SignIn != nil && r.Header.Get("Authorization") == "" {
		if id, ok, err := cfg.SignIn.Session(r); ok {
			if err != nil {
				fail(w, err)
				return room.Actor{}, false
			}
			return room.Actor{UserID: id.UserID, TokenRole: id.Role}, true
		}
	}
	token, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		WriteError(w, http.StatusUnauthorized, protocol.Err(protocol.CodeUnauthorized))
		return room.Actor{}, false
	}
	id, err := cfg.Verifier.Verify(token)
	if err != nil {
		WriteError(w, http.StatusUnauthorized, protocol.AsError(err))
		return room.Actor{}, false
	}
	return room.Actor{UserID: id.UserID, TokenRole: id.Role}, true
}

// fail writes err in the JSON error shape with the status its code carries.
func fail(w http.ResponseWriter, err error) {
	e := protocol.AsError(err)
	WriteError(w, e.Code.HTTPStatus(), e)
}

// WriteJSON writes v as a JSON answer with status: the success shape of
// every HTTP route (WriteError is the error shape).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body into v. An empty body leaves v as it is.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		WriteError(w, http.StatusRequestEntityTooLarge, protocol.Errf(protocol.CodeInvalidRequest, "The request body is larger than %d bytes.", maxBodyBytes))
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields() // a misspelt field is an error, not silently ignored
	err = dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		var te *json.UnmarshalTypeError
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			WriteError(w, http.StatusUnprocessableEntity, protocol.Errf(protocol.CodeInvalidRequest, "The field %s is not part of this request.", strings.TrimPrefix(err.Error(), "json: unknown field ")))
			return false
		}
		if errors.As(err, &te) && te.Field != "" {
			WriteError(w, http.StatusUnprocessableEntity, protocol.Errf(protocol.CodeInvalidRequest, "The field %q has the wrong type.", te.Field))
			return false
		}
		WriteError(w, http.StatusBadRequest, protocol.Err(protocol.CodeBadJSON))
		return false
	}
	return true
}

// roomRoutes registers the REST API for rooms on mux.
func (cfg Config) roomRoutes(mux *http.ServeMux) {
	s := cfg.Rooms
	handle := func(pattern string, h func(http.ResponseWriter, *http.Request, room.Actor)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if a, ok := cfg.actor(w, r); ok {
				h(w, r, a)
			}
		})
	}
	handle("POST /api/rooms", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		var p room.CreateParams
		if !decode(w, r, &p) {
			return
		}
		rm, err := s.Create(r.Context(), a, p)
		if err != nil {
			if _, denied := room.DenialCode(err); denied { // about no room: logged, ids and codes only
				cfg.logFor(r).Info("request refused", "command", "create_room", "token_role", a.TokenRole, "code", protocol.AsError(err).Code)
			}
			fail(w, err)
			return
		}
		WriteJSON(w, http.StatusCreated, viewOf(rm, room.RoleFacilitator))
	})
	handle("GET /api/rooms", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		rooms, err := s.Mine(r.Context(), a)
		if err != nil {
			fail(w, err)
			return
		}
		out := make([]roomView, 0, len(rooms))
		for _, rm := range rooms {
			out = append(out, viewOf(rm, rm.RoleOf(a.UserID)))
		}
		WriteJSON(w, http.StatusOK, map[string]any{"rooms": out})
	})
	handle("GET /api/rooms/{id}", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		rm, role, err := s.Get(r.Context(), a, r.PathValue("id"))
		if err != nil {
			cfg.refuse(w, r, a, r.PathValue("id"), "read_room", err)
			return
		}
		WriteJSON(w, http.StatusOK, viewOf(rm, role))
	})
	type userBody struct {
		UserID string `json:"user_id"`
	}
	// roomResult answers a change to room id: the room as the caller now
	// sees it, after telling the hub of the change (the connections of the
	// users in removed leave the room); or the refusal, audited as command.
	roomResult := func(w http.ResponseWriter, r *http.Request, a room.Actor, command string, rm room.Room, err error, removed ...string) {
		if err != nil {
			cfg.refuse(w, r, a, r.PathValue("id"), command, err)
			return
		}
		cfg.rosterChanged(r, rm.ID, removed...)
		WriteJSON(w, http.StatusOK, viewOf(rm, rm.RoleOf(a.UserID)))
	}
	handle("POST /api/rooms/{id}/members", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		var b userBody
		if decode(w, r, &b) {
			rm, err := s.AddMember(r.Context(), a, r.PathValue("id"), b.UserID)
			roomResult(w, r, a, "add_member", rm, err)
		}
	})
	handle("DELETE /api/rooms/{id}/members/{user}", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		id := r.PathValue("id")
		if r.PathValue("user") == "me" {
			if err := s.LeaveGroup(r.Context(), a, id); err != nil {
				cfg.refuse(w, r, a, id, "leave_group", err)
				return
			}
			cfg.rosterChanged(r, id, a.UserID)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		rm, err := s.RemoveMember(r.Context(), a, id, r.PathValue("user"))
		roomResult(w, r, a, "remove_member", rm, err, r.PathValue("user"))
	})
	// DELETE /api/me erases the caller from every room, deletes the invites
	// they created (room.Service.DeleteUser) and their check-ins: 204, or 409
	// last_facilitator naming the rooms they alone facilitate, with nothing
	// deleted. Their open connections leave every room they were erased
	// from, on every node, before the answer.
	handle("DELETE /api/me", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		erased, err := s.DeleteUser(r.Context(), a.UserID)
		for _, id := range erased { // also when it failed midway: those rooms are erased
			cfg.rosterChanged(r, id, a.UserID)
		}
		if err != nil {
			fail(w, err)
			return
		}
		// Then their check-ins, every one, in every room.
		if cfg.CheckIns != nil {
			if _, err := cfg.CheckIns.DeleteUser(r.Context(), a.UserID); err != nil {
				fail(w, cfg.checkInErr(r.Context(), err))
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	handle("POST /api/rooms/{id}/facilitators", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		var b userBody
		if decode(w, r, &b) {
			rm, err := s.AddFacilitator(r.Context(), a, r.PathValue("id"), b.UserID)
			roomResult(w, r, a, "add_facilitator", rm, err)
		}
	})
	handle("DELETE /api/rooms/{id}/facilitators/{user}", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		rm, err := s.RemoveFacilitator(r.Context(), a, r.PathValue("id"), r.PathValue("user"))
		roomResult(w, r, a, "remove_facilitator", rm, err, r.PathValue("user"))
	})
	handle("POST /api/rooms/{id}/invites", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		var b struct {
			TTLHours float64 `json:"ttl_hours"`
		}
		if !decode(w, r, &b) {
			return
		}
		ttl := time.Duration(b.TTLHours * float64(time.Hour))
		if b.TTLHours != 0 && ttl == 0 {
			ttl = time.Nanosecond // too short: refused below, not taken as "the default"
		}
		inv, err := s.CreateInvite(r.Context(), a, r.PathValue("id"), ttl)
		if err != nil {
			cfg.refuse(w, r, a, r.PathValue("id"), "create_invite", err)
			return
		}
		WriteJSON(w, http.StatusCreated, map[string]any{"code": inv.Code, "room_id": inv.RoomID, "expires_at": protocol.FormatTime(inv.ExpiresAt)})
	})
	handle("POST /api/invites/{code}/redeem", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		rm, err := s.RedeemInvite(r.Context(), a, r.PathValue("code"))
		if err != nil {
			fail(w, err) // invite_invalid: about the code, not about a room
			return
		}
		cfg.rosterChanged(r, rm.ID)
		WriteJSON(w, http.StatusOK, viewOf(rm, rm.RoleOf(a.UserID)))
	})
	handle("GET /api/rooms/{id}/audit", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		q := r.URL.Query()
		before, err1 := strconv.ParseUint(cmpOr(q.Get("before"), "0"), 10, 64)
		limit, err2 := strconv.Atoi(cmpOr(q.Get("limit"), "0"))
		if err1 != nil || err2 != nil || limit < 0 {
			WriteError(w, http.StatusUnprocessableEntity, protocol.Errf(protocol.CodeInvalidRequest, "before and limit must be whole numbers."))
			return
		}
		es, err := s.Audit(r.Context(), a, r.PathValue("id"), before, limit)
		if err != nil {
			cfg.refuse(w, r, a, r.PathValue("id"), "read_audit", err)
			return
		}
		// A refusal (action "denied") carries the command refused and the
		// reason code.
		type entry struct {
			Seq     uint64        `json:"seq"`
			Actor   string        `json:"actor_member_id"`
			Action  string        `json:"action"`
			Target  string        `json:"target_member_id,omitempty"`
			Command string        `json:"command,omitempty"`
			Code    protocol.Code `json:"code,omitempty"`
			At      string        `json:"at"`
		}
		out := make([]entry, 0, len(es))
		for _, e := range es {
			out = append(out, entry{e.Seq, e.Actor, e.Action, e.Target, e.Command, e.Code, protocol.FormatTime(e.At)})
		}
		next := ""
		if len(es) > 0 && es[len(es)-1].Seq > 1 {
			next = strconv.FormatUint(es[len(es)-1].Seq, 10)
		}
		WriteJSON(w, http.StatusOK, map[string]any{"entries": out, "next_before": next})
	})
	handle("GET /api/rooms/{id}/reports", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		reps, err := s.Reports(r.Context(), a, r.PathValue("id"))
		if err != nil {
			cfg.refuse(w, r, a, r.PathValue("id"), "read_reports", err)
			return
		}
		type report struct {
			ID        string `json:"id"`
			MessageID string `json:"message_id"`
			About     string `json:"about_member_id,omitempty"`
			Reporter  string `json:"reporter_member_id"`
			Reason    string `json:"reason,omitempty"`
			At        string `json:"at"`
		}
		out := make([]report, 0, len(reps))
		for _, p := range reps {
			out = append(out, report{p.ID, p.MessageID, p.About, p.Reporter, p.Reason, protocol.FormatTime(p.At)})
		}
		WriteJSON(w, http.StatusOK, map[string]any{"reports": out})
	})
	handle("POST /api/rooms/{id}/reports/{report}/ack", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		if err := s.AckReport(r.Context(), a, r.PathValue("id"), r.PathValue("report")); err != nil {
			cfg.refuse(w, r, a, r.PathValue("id"), "ack_report", err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	guidelines := func(w http.ResponseWriter, text, version string) {
		WriteJSON(w, http.StatusOK, protocol.Guidelines{Text: text, Version: version})
	}
	handle("GET /api/rooms/{id}/guidelines", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		text, version, err := s.Guidelines(r.Context(), a, r.PathValue("id"))
		if err != nil {
			cfg.refuse(w, r, a, r.PathValue("id"), "read_guidelines", err)
			return
		}
		guidelines(w, text, version)
	})
	handle("PUT /api/rooms/{id}/guidelines", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		var b struct {
			Text *string `json:"text"`
		}
		if !decode(w, r, &b) {
			return
		}
		if b.Text == nil {
			fail(w, protocol.Errf(protocol.CodeInvalidRequest, "The field \"text\" is required (\"\" restores the default agreement)."))
			return
		}
		rm, err := s.SetGuidelines(r.Context(), a, r.PathValue("id"), *b.Text)
		if err != nil {
			cfg.refuse(w, r, a, r.PathValue("id"), "set_guidelines", err)
			return
		}
		text, version := rm.CurrentGuidelines()
		guidelines(w, text, version)
	})
	handle("GET /api/rooms/{id}/agreements", func(w http.ResponseWriter, r *http.Request, a room.Actor) {
		sts, err := s.Agreements(r.Context(), a, r.PathValue("id"))
		if err != nil {
			cfg.refuse(w, r, a, r.PathValue("id"), "read_agreements", err)
			return
		}
		type agreement struct {
			MemberID    string `json:"member_id"`
			DisplayName string `json:"display_name"`
			Version     string `json:"version"`
			Current     bool   `json:"current"`
			At          string `json:"at,omitempty"`
		}
		out := make([]agreement, 0, len(sts))
		for _, st := range sts {
			ag := agreement{MemberID: st.MemberID, DisplayName: st.DisplayName, Version: st.Version, Current: st.Current}
			if !st.At.IsZero() {
				ag.At = protocol.FormatTime(st.At)
			}
			out = append(out, ag)
		}
		WriteJSON(w, http.StatusOK, map[string]any{"agreements": out})
	})
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		mux.HandleFunc(m+" /api/", func(w http.ResponseWriter, r *http.Request) {
			WriteError(w, http.StatusNotFound, protocol.Err(protocol.CodeNotFound))
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
