package hub

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"hearth/internal/protocol"
	"hearth/internal/room"
)

// handle carries out one client frame, as decoded (f, or the decoding's
// error perr) and charged to the user's rate limits (readLoop: frames,
// and for a frame broadcast to a room sends too). It runs on the reader
// goroutine, so one connection's commands are handled in the order sent.
func (c *conn) handle(ctx context.Context, f protocol.Frame, perr *protocol.Error) {
	if perr != nil {
		c.log.Debug("frame refused", "code", perr.Code) // never the frame: it may hold text
		c.replyErr(f.ID, f.Room, perr)
		return
	}
	if c.authState.Load() != authDone {
		c.authenticate(ctx, f)
		return
	}
	switch f.Type {
	case protocol.TypeAuth:
		c.replyErr(f.ID, "", protocol.Err(protocol.CodeAlreadyAuthed))
		return
	case protocol.TypePing:
		c.reply(protocol.Pong{Type: protocol.TypePong, ID: f.ID})
		return
	case protocol.TypeRefresh:
		c.refresh(ctx, f)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch f.Type {
	case protocol.TypeJoin:
		c.join(ctx, f)
		return
	case protocol.TypeAckAlert:
		// A facilitator acknowledges alerts of any room they facilitate,
		// joined or not (alerts reach them wherever they are).
		if err := c.ackAlert(ctx, f); err != nil {
			c.refuse(ctx, f, err)
			return
		}
		c.ok(f)
		return
	}
	j, ok := c.rooms[f.Room]
	if !ok {
		c.replyErr(f.ID, f.Room, protocol.Err(protocol.CodeNotJoined))
		return
	}
	if f.Type == protocol.TypeLeave {
		if gone := c.leave(ctx, f.Room); gone && j.role == room.RoleMember {
			// Leaving on purpose ends the admission: a later resume gets
			// nothing of what was said while they were away.
			c.h.cfg.Rooms.EndAdmission(ctx, f.Room, j.me.MemberID)
		}
		c.ok(f)
		return
	}
	if err := c.standing(f, j); err != nil {
		c.refuse(ctx, f, err)
		return
	}
	if j.waiting {
		if f.Type == protocol.TypePass { // always accepted; nothing to pass from the lobby
			c.ok(f)
			return
		}
		c.replyErr(f.ID, f.Room, protocol.Err(protocol.CodeWaiting))
		return
	}
	var err error
	switch f.Type {
	case protocol.TypeSend:
		c.sendMessage(ctx, f, j)
		return
	case protocol.TypeHide, protocol.TypeUnhide:
		j.lr.setHidden(c, f.MemberID, f.Type == protocol.TypeHide)
	case protocol.TypeReport:
		err = c.report(ctx, f, j)
	case protocol.TypeDM:
		err = c.dm(ctx, f, j)
	case protocol.TypeRequestSupport:
		err = c.requestSupport(ctx, j)
	case protocol.TypeDeleteMessage:
		err = c.deleteMessage(ctx, f, j)
	case protocol.TypeRaiseHand, protocol.TypeLowerHand, protocol.TypePass, protocol.TypeGiveFloor,
		protocol.TypeNextSpeaker, protocol.TypeEndTurn, protocol.TypeSetPresence:
		err = c.shareCommand(ctx, f, j)
	case protocol.TypeReact:
		var mine []string
		if mine, err = c.react(ctx, f, j); err == nil {
			if f.ID != "" {
				c.reply(protocol.OK{Type: protocol.TypeOK, ID: f.ID, Room: f.Room, MessageID: f.MessageID, Mine: mine})
			}
			return
		}
	default:
		err = c.control(ctx, f, j)
	}
	if err != nil {
		c.refuse(ctx, f, err)
		return
	}
	c.ok(f)
}

// refuse answers a command with its error. A refusal of the person for who
// they are in the room (room.DenialCode: their role, a ban, a mute, …) is
// recorded in the room's audit log — actor, command, reason code; nothing of
// the frame — and logged with ids only.
func (c *conn) refuse(ctx context.Context, f protocol.Frame, err error) {
	e := protocol.AsError(err)
	c.log.Info("command refused", "room", f.Room, "type", f.Type, "code", e.Code)
	c.h.cfg.Rooms.Denied(ctx, c.actor(), f.Room, f.Type, err)
	c.replyErr(f.ID, f.Room, e)
}

// standing checks, before any room command but leave, that the connection
// may still act in the room, and brings its role up to date: it was not
// taken out of the room — removed, banned, turned away at the door, the
// session ended — which happens on the broker's delivery goroutine the moment
// the control message arrives, before the task that finishes leaving runs
// (not_joined); and the room's record, as this node last heard it, still
// counts the user among its people (not_member, banned). The role used by
// the command is the record's, not the one the connection joined with.
func (c *conn) standing(f protocol.Frame, j *joined) error {
	if !j.lr.has(c) {
		return protocol.Err(protocol.CodeNotJoined)
	}
	st := j.lr.state.Load()
	if st == nil {
		return nil
	}
	role, err := c.h.cfg.Rooms.Standing(st, c.ident.UserID, j.me.MemberID)
	if err != nil {
		return err
	}
	if !j.waiting {
		j.role = role
	}
	return nil
}

// has reports whether c is in the room (or at its door, or joining): not
// taken out of it by a control message.
func (lr *localRoom) has(c *conn) bool {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	_, ok := lr.members[c]
	return ok
}

// limitedLikeSend are the frames that count against the per-connection send
// limit: each one is broadcast to the room.
var limitedLikeSend = map[string]bool{
	protocol.TypeSend: true, protocol.TypeDM: true, protocol.TypeRaiseHand: true,
	protocol.TypeLowerHand: true, protocol.TypeSetPresence: true, protocol.TypeReact: true,
}

func (c *conn) ok(f protocol.Frame) {
	if f.ID != "" {
		c.reply(protocol.OK{Type: protocol.TypeOK, ID: f.ID, Room: f.Room})
	}
}

func (c *conn) authenticate(ctx context.Context, f protocol.Frame) {
	if f.Type != protocol.TypeAuth {
		c.replyErr(f.ID, f.Room, protocol.Err(protocol.CodeNotAuthenticated))
		return
	}
	ident, err := c.h.cfg.Auth.Verify(ctx, f.Token)
	if err != nil {
		if c.authState.CompareAndSwap(authPending, authFailed) {
			pe := protocol.AsError(err)
			c.log.Info("auth refused", "code", pe.Code)
			c.replyErr(f.ID, "", pe)
			if pe.Code == protocol.CodeUnavailable {
				// The token could not be checked (a sign-in ticket's
				// store did not answer): not the person's fault, so the
				// client may try again, with a new ticket.
				c.close(protocol.CloseInternalError, true)
				return
			}
			c.close(protocol.CloseUnauthorized, true)
		}
		return
	}
	c.ident = ident
	if !c.authState.CompareAndSwap(authPending, authDone) {
		return // the auth timeout fired first
	}
	c.log.Debug("authenticated", "identity", ident)
	// A place among the user's connections before anything else: the
	// sixth is refused (with the auth id) before any welcome.
	if !c.authorized(ctx, f.ID) {
		return
	}
	c.reply(c.h.welcome(f.ID, ident.Role))
	c.attached(context.Background())
}

// welcome is the reply to a successful auth.
func (h *Hub) welcome(id, role string) protocol.Welcome {
	w := protocol.Welcome{Type: protocol.TypeWelcome, ID: id, Role: role, HeartbeatMS: h.cfg.Heartbeat.Milliseconds()}
	if h.cfg.Crisis != nil {
		w.Resources = h.cfg.Crisis.Resources(CrisisMatch{})
	}
	return w
}

func now() string { return protocol.FormatTime(time.Now()) }

// join runs the room's checks in order — roster, ban, agreement, name,
// capacity, lobby — then either holds the connection at the door (waiting)
// or enters it. Any failure undoes every step: nothing is half-joined.
func (c *conn) join(ctx context.Context, f protocol.Frame) {
	if _, ok := c.rooms[f.Room]; ok {
		c.replyErr(f.ID, f.Room, protocol.Err(protocol.CodeAlreadyJoined))
		return
	}
	if len(c.rooms) >= protocol.MaxRoomsPerConn {
		c.replyErr(f.ID, f.Room, protocol.Err(protocol.CodeTooManyRooms))
		return
	}
	if c.ident.Role == protocol.RoleSupervisor {
		c.failJoin(ctx, f, protocol.Errf(protocol.CodeForbidden, "Supervisors read reports and audit logs; they do not join groups."))
		return
	}
	adm, err := c.h.cfg.Rooms.CheckJoin(ctx, f.Room, c.ident.UserID)
	if err != nil {
		c.failJoin(ctx, f, err)
		return
	}
	if adm.Role.Facilitates() && f.As == protocol.AsObserver {
		c.failJoin(ctx, f, errFacilitatorsTakePart)
		return
	}
	me := protocol.Member{MemberID: c.h.cfg.MemberIDs.For(f.Room, c.ident.UserID), DisplayName: f.DisplayName, Role: string(adm.Role)}
	// The group agreement first (it explains how names are kept), then the
	// name: a member present in another tab keeps the name the room knows;
	// otherwise the chosen one is claimed (unique in the room, not reserved),
	// atomically in the store.
	if _, err := c.h.cfg.Rooms.Accept(ctx, f.Room, c.ident.UserID, f.Agree); err != nil {
		c.failJoin(ctx, f, err)
		return
	}
	present, err := c.h.cfg.Broker.Members(ctx, f.Room)
	if err != nil {
		c.failJoin(ctx, f, err)
		return
	}
	if i := slices.IndexFunc(present, func(m protocol.Member) bool { return m.MemberID == me.MemberID }); i >= 0 {
		me.DisplayName = present[i].DisplayName
	} else {
		// A name someone present uses stays theirs while they are here,
		// even when the room no longer keeps it (they were just erased or
		// taken off the roster, and are being taken out of the room). A
		// facilitator's first name is settled by ClaimNameReleasing.
		if !adm.Role.Facilitates() {
			if i := slices.IndexFunc(present, func(m protocol.Member) bool {
				return m.MemberID != me.MemberID && room.SameName(f.DisplayName, m.DisplayName)
			}); i >= 0 {
				code := protocol.CodeNameTaken
				if present[i].Role != protocol.RoleMember {
					code = protocol.CodeNameReserved
				}
				c.failJoin(ctx, f, protocol.Err(code))
				return
			}
		}
		r, released, err := c.h.cfg.Rooms.ClaimNameReleasing(ctx, f.Room, c.ident.UserID, f.DisplayName)
		if err != nil {
			c.failJoin(ctx, f, err)
			return
		}
		// A facilitator's first name in the room took it back from members
		// who had it: they leave the room now and choose another name at
		// their next join, so nobody is seen under a facilitator's name.
		for _, m := range released {
			c.h.publishControl(ctx, f.Room, control{Ctl: ctlRemove, MemberID: m,
				Frame: protocol.Marshal(protocol.NoticeEvent{Type: protocol.TypeRemoved, Room: f.Room})})
		}
		adm.Room, me.DisplayName = r, r.DisplayName(me.MemberID)
		if !adm.Role.Facilitates() {
			// Refused at the door already when full (entering takes the seat
			// atomically, see takeSeat).
			held, err := c.h.seatsHeld(ctx, f.Room, present)
			if err != nil {
				c.failJoin(ctx, f, err)
				return
			}
			// A member whose own seat is still held (another tab, or a
			// reconnect inside seatGrace) is not refused for it.
			if _, mine := held[me.MemberID]; !mine && len(held) >= adm.Room.Capacity {
				c.failJoin(ctx, f, protocol.Err(protocol.CodeRoomFull))
				return
			}
		}
	}
	lr, err := c.h.acquire(ctx, f.Room)
	if err != nil {
		c.failJoin(ctx, f, err)
		return
	}
	lr.setState(adm.Room)
	j := &joined{lr: lr, me: me, role: adm.Role, as: f.As, resume: f.ResumeFrom, hidden: f.Hidden, doc: &adm.Room}
	c.rooms[f.Room] = j
	if adm.Wait {
		j.waiting = true
		lr.addWaiting(c, me.MemberID)
		r, err := c.h.cfg.Rooms.AddWaiting(ctx, f.Room, me.MemberID, me.DisplayName)
		if err != nil {
			c.leave(ctx, f.Room)
			c.failJoin(ctx, f, err)
			return
		}
		c.h.publishFacilitatorState(ctx, r)
		c.reply(protocol.WaitingReply{Type: protocol.TypeWaiting, ID: f.ID, Room: f.Room, You: me})
		c.log.Debug("waiting in the lobby", "room", f.Room, "member_id", me.MemberID)
		return
	}
	if err := c.enter(ctx, f.ID, j); err != nil {
		c.failJoin(ctx, f, err)
	}
}

// Seats: a room seats Capacity members at once (observers included,
// facilitators not; another tab of a member present is not a newcomer).
// Counting who is present and then entering would let two members on two
// nodes both take the last seat, so each member takes a seat as they enter,
// atomically across nodes, in the broker's shared value seatsKey of the
// room (a JSON object: member id → when the seat was taken, Unix ms), and
// gives it back when their last connection leaves. Who holds a seat is
// everyone present (presence is the truth: a seat value lost or left
// behind by a node that died corrects itself) and whoever took a seat in
// the last seatGrace without being present yet (entering now).
const (
	seatsKey  = "seats"
	seatsTTL  = shareTTL         // the value outlives its last change by this at most
	seatGrace = 30 * time.Second // a seat taken by someone not present (yet) is held this long
)

// heldSeats returns who holds a seat: the members (role member) present,
// and the entries of the stored value old that are younger than seatGrace.
// Malformed or missing values count as empty.
func heldSeats(old []byte, present []protocol.Member, now time.Time) map[string]int64 {
	held := map[string]int64{}
	_ = json.Unmarshal(old, &held)
	for m, at := range held {
		if now.UnixMilli()-at >= seatGrace.Milliseconds() {
			delete(held, m)
		}
	}
	for _, m := range present {
		if _, ok := held[m.MemberID]; !ok && m.Role == protocol.RoleMember {
			held[m.MemberID] = now.UnixMilli()
		}
	}
	return held
}

// seatsHeld reads who holds a seat in roomID now, given the members present
// (see heldSeats). Errors: the broker's.
func (h *Hub) seatsHeld(ctx context.Context, roomID string, present []protocol.Member) (map[string]int64, error) {
	var held map[string]int64
	_, _, err := h.cfg.Broker.Update(ctx, roomID, seatsKey, seatsTTL, func(old []byte) ([]byte, []byte, error) {
		held = heldSeats(old, present, time.Now())
		return old, nil, nil // a plain read
	})
	return held, err
}

// freeSeats returns how many more members roomID seats now (0 when full).
// Errors: the broker's.
func (h *Hub) freeSeats(ctx context.Context, roomID string, capacity int) (int, error) {
	present, err := h.cfg.Broker.Members(ctx, roomID)
	if err != nil {
		return 0, err
	}
	held, err := h.seatsHeld(ctx, roomID, present)
	if err != nil {
		return 0, err
	}
	return max(0, capacity-len(held)), nil
}

// takeSeat gives memberID a seat in roomID, atomically across nodes: a
// member who holds one already (another tab) keeps it; otherwise the seat
// is taken only while fewer than capacity are held. Errors: room_full,
// the broker's.
func (h *Hub) takeSeat(ctx context.Context, roomID, memberID string, capacity int) error {
	present, err := h.cfg.Broker.Members(ctx, roomID)
	if err != nil {
		return err
	}
	_, _, err = h.cfg.Broker.Update(ctx, roomID, seatsKey, seatsTTL, func(old []byte) ([]byte, []byte, error) {
		now := time.Now()
		held := heldSeats(old, present, now)
		if _, ok := held[memberID]; ok {
			return old, nil, nil
		}
		if len(held) >= capacity {
			return nil, nil, protocol.Err(protocol.CodeRoomFull)
		}
		held[memberID] = now.UnixMilli()
		return protocol.Marshal(held), nil, nil
	})
	return err
}

// releaseSeat gives memberID's seat in roomID back (their last connection
// left, or their entering failed). Best effort: a seat not given back is
// free again once they are not present for seatGrace.
func (h *Hub) releaseSeat(ctx context.Context, roomID, memberID string) {
	if _, _, err := h.cfg.Broker.Update(ctx, roomID, seatsKey, seatsTTL, func(old []byte) ([]byte, []byte, error) {
		held := map[string]int64{}
		if json.Unmarshal(old, &held) != nil {
			return nil, nil, nil
		}
		if _, ok := held[memberID]; !ok {
			return old, nil, nil
		}
		delete(held, memberID)
		if len(held) == 0 {
			return nil, nil, nil
		}
		return protocol.Marshal(held), nil, nil
	}); err != nil {
		h.logger(ctx).Warn("seat not given back; it frees itself", "room", roomID, "member_id", memberID, "err", err)
	}
}

// enter takes j from the door (or nowhere) into the room: hold room events
// for this connection, read the room's record again (a ban or removal
// decided since the join's checks is refused here; one decided later
// reaches the connection as a control message, which it now hears), take a
// member's seat, record presence (member_joined for a member's first
// connection), read who is present, then queue joined (with the room's state)
// followed by the held events. On failure the connection is out of the room
// again and j is forgotten. Errors: not_member, banned, room_full, the
// broker's and the store's.
func (c *conn) enter(ctx context.Context, reqID string, j *joined) (err error) {
	roomID := j.lr.name
	j.lr.addPending(c, j.me.MemberID, j.role.Facilitates(), j.hidden)
	undo := func() {
		j.waiting = false
		delete(c.rooms, roomID)
		j.lr.remove(c)
		c.h.release(ctx, j.lr)
	}
	r, err := c.h.cfg.Rooms.Load(ctx, roomID)
	if err != nil {
		undo()
		return err
	}
	j.lr.setState(r)
	role, err := c.h.cfg.Rooms.Standing(&r, c.ident.UserID, j.me.MemberID)
	if err != nil {
		undo()
		return err
	}
	if role.Facilitates() != j.role.Facilitates() { // promoted or stepped down since the join's checks
		j.lr.each(func(o *conn, rc *roomConn) {
			if o == c {
				rc.facilitates = role.Facilitates()
			}
		})
	}
	j.role, j.me.Role, j.doc = role, string(role), &r
	if role == room.RoleMember {
		if err := c.h.takeSeat(ctx, roomID, j.me.MemberID, r.Capacity); err != nil {
			undo()
			return err
		}
		defer func() {
			if err != nil {
				c.h.releaseSeat(ctx, roomID, j.me.MemberID)
			}
		}()
	}
	ev := protocol.Marshal(protocol.MemberJoinedEvent{Type: protocol.TypeMemberJoined, Room: roomID, Member: j.me, TS: now()})
	me, _, err := c.h.cfg.Broker.Enter(ctx, roomID, c.id, j.me, ev)
	if err != nil {
		undo()
		return err
	}
	j.me, j.waiting = me, false
	members, err := c.h.cfg.Broker.Members(ctx, roomID)
	if err != nil {
		c.leave(ctx, roomID)
		return err
	}
	// The presence asked for (if any) is applied after member_joined, so
	// everyone hears of an observer as soon as of the member.
	// Anyone the state still mentions who is not present (their node died
	// before it could say so) is forgotten here.
	share, err := c.h.updateShare(ctx, j.lr, func(s *room.Share) error {
		s.ForgetAbsent(func(id string) bool {
			return slices.ContainsFunc(members, func(m protocol.Member) bool { return m.MemberID == id })
		})
		if j.as != "" {
			s.SetObserver(me.MemberID, j.as == protocol.AsObserver)
		}
		return nil
	})
	if err != nil {
		c.leave(ctx, roomID)
		return err
	}
	epoch, seq, err := c.h.cfg.Broker.Epoch(ctx, roomID)
	if err != nil {
		c.leave(ctx, roomID)
		return err
	}
	st := j.lr.state.Load()
	if st == nil || j.doc.Version > st.Version {
		st = j.doc
	}
	replayed, resume, through, err := c.replay(ctx, j, st, epoch, seq)
	if err != nil {
		c.leave(ctx, roomID)
		return err
	}
	replies := [][]byte{protocol.Marshal(protocol.Joined{Type: protocol.TypeJoined, ID: reqID, Room: roomID, You: me, Members: members,
		State: roomState(st), Share: share, Epoch: epoch, Seq: seq, Resume: resume})}
	if j.role.Facilitates() {
		replies = append(replies, facilitatorState(st))
	} else if st != nil {
		if m, muted := st.ActiveMute(me.MemberID, time.Now()); muted {
			replies = append(replies, mutedNotice(roomID, m)) // a mute outlives sessions: say so on entry
		}
	}
	j.lr.activate(c, through, append(replies, batchLines(replayed, maxBatchBytes)...)...)
	// What the join asked for has been used, and the local room caches
	// the state (setState above): a connection does not keep its own copy
	// of the room (about 5 KiB each in workload C's heap profile,
	// docs/performance.md) for as long as it stays.
	j.doc, j.resume, j.hidden = nil, nil, nil
	if j.role == room.RoleMember {
		c.h.cfg.Rooms.MarkAdmitted(ctx, roomID, me.MemberID, seq)
	}
	c.log.Debug("joined", "room", roomID, "member_id", me.MemberID, "replayed", len(replayed))
	return nil
}

// batchLines joins frames into newline-separated batches of up to about
// limit bytes, so a replay of hundreds of events takes a few places in the
// connection's bounded queue instead of overflowing it.
func batchLines(frames [][]byte, limit int) [][]byte {
	var out [][]byte
	var cur []byte
	for _, f := range frames {
		if len(cur) > 0 && len(cur)+1+len(f) > limit {
			out, cur = append(out, cur), nil
		}
		if len(cur) > 0 {
			cur = append(cur, '\n')
		}
		cur = append(cur, f...)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// replay answers a join's resume_from: the events of the session buffer
// after the resume point — never from before the member's latest admission
// (facilitators see the whole session), with hidden members' messages as
// stand-ins — and whether some could not be recovered, and the seq through
// which the connection now has every event (0: none; live copies of those
// are dropped). Without resume_from it returns nothing.
func (c *conn) replay(ctx context.Context, j *joined, st *room.Room, epoch string, seq uint64) ([][]byte, *protocol.ResumeResult, uint64, error) {
	rp := j.resume
	if rp == nil {
		return nil, nil, 0, nil
	}
	after := rp.Seq
	if !j.role.Facilitates() {
		floor, admitted := uint64(0), false
		if st != nil {
			floor, admitted = st.AdmittedSince(j.me.MemberID)
		}
		if !admitted {
			floor = seq // a new admission: nothing before it
		}
		if rp.Epoch == epoch {
			after = max(after, floor)
		}
	}
	events, gap, err := c.h.cfg.Broker.Replay(ctx, j.lr.name, rp.Epoch, after)
	if err != nil {
		return nil, nil, 0, err
	}
	through := uint64(0)
	if rp.Epoch == epoch {
		through = after // the client has everything up to its resume point
	}
	hidden := map[string]bool{}
	for _, m := range j.hidden {
		hidden[m] = true
	}
	for i, ev := range events {
		events[i] = standInIfHidden(j.lr.name, ev, hidden)
		if s, ok := protocol.SeqOf(ev); ok {
			through = max(through, s)
		}
	}
	return events, &protocol.ResumeResult{Replayed: len(events), Gap: gap}, through, nil
}

// failJoin answers a join with its error; a refusal of the person (not on
// the roster, banned, a supervisor) is audited like any command's (refuse).
func (c *conn) failJoin(ctx context.Context, f protocol.Frame, err error) {
	c.log.Info("join refused", "room", f.Room, "code", protocol.AsError(err).Code)
	c.h.cfg.Rooms.Denied(ctx, c.actor(), f.Room, f.Type, err)
	c.replyErr(f.ID, f.Room, protocol.AsError(err))
}

// leave takes this connection out of room (or away from its door): stop
// local delivery, remove its presence (publishing member_left for the
// member's last connection) or its place in the lobby, and release the
// node's subscription if it was the last local connection. It reports
// whether the member is no longer present (this was their last connection).
func (c *conn) leave(ctx context.Context, roomID string) (gone bool) {
	j, ok := c.rooms[roomID]
	if !ok {
		return false
	}
	delete(c.rooms, roomID)
	j.lr.remove(c)
	if j.waiting {
		if r, err := c.h.cfg.Rooms.RemoveWaiting(ctx, roomID, j.me.MemberID); err == nil {
			c.h.publishFacilitatorState(ctx, r)
		}
	} else {
		ev := protocol.Marshal(protocol.MemberLeftEvent{Type: protocol.TypeMemberLeft, Room: roomID, MemberID: j.me.MemberID, TS: now()})
		seq, err := c.h.cfg.Broker.Exit(ctx, roomID, c.id, j.me.MemberID, ev)
		if err != nil {
			c.log.Warn("presence exit failed; the entry will expire", "room", roomID, "err", err)
		}
		gone = seq > 0
		if gone && j.role == room.RoleMember {
			c.h.releaseSeat(ctx, roomID, j.me.MemberID)
		}
		if gone && j.lr.mentions(j.me.MemberID) {
			// Their last connection: hand down, floor freed, not observing —
			// here, because this node may be the room's last and unsubscribe
			// before it hears its own member_left.
			c.h.forgetMember(ctx, j.lr, j.me.MemberID)
		}
	}
	c.h.release(ctx, j.lr)
	return gone
}

// sendMessage publishes a chat message, after the room's checks: a muted
// member is refused with the reason and when it lifts; in slow mode a member
// may send once per N seconds across all their connections and nodes.
func (c *conn) sendMessage(ctx context.Context, f protocol.Frame, j *joined) {
	msgID := newID()
	ev := protocol.Marshal(protocol.MessageEvent{Type: protocol.TypeMessage, Room: f.Room, MessageID: msgID, From: j.me, Text: f.Text, TS: now()})
	var seq uint64
	var err error
	st := j.lr.state.Load()
	switch {
	case j.role.Facilitates() || st == nil:
		seq, err = c.h.cfg.Broker.Publish(ctx, f.Room, ev)
	default:
		if m, muted := st.ActiveMute(j.me.MemberID, time.Now()); muted {
			e := protocol.Err(protocol.CodeMuted)
			e.Reason, e.Until = m.Reason, m.Until
			c.refuse(ctx, f, e)
			return
		}
		if j.lr.observing(j.me.MemberID) {
			c.refuse(ctx, f, protocol.Err(protocol.CodeObserver))
			return
		}
		if st.Rounds() {
			// Taking turns: only the floor holder posts, checked with the
			// publish itself (slow mode does not apply to them).
			seq, err = c.sendInRounds(ctx, f.Room, j.me.MemberID, ev)
		} else if st.Session != nil && st.Session.SlowModeSec > 0 {
			var wait time.Duration
			seq, wait, err = c.h.cfg.Broker.PublishLimited(ctx, f.Room, ev, "slow:"+j.me.MemberID, time.Duration(st.Session.SlowModeSec)*time.Second)
			if err == nil && wait > 0 {
				e := protocol.Err(protocol.CodeSlowMode)
				e.RetryAfter = wait
				c.replyErr(f.ID, f.Room, e)
				return
			}
		} else {
			seq, err = c.h.cfg.Broker.Publish(ctx, f.Room, ev)
		}
	}
	if err != nil {
		if _, denied := room.DenialCode(err); denied { // not your turn, observing
			c.refuse(ctx, f, err)
			return
		}
		c.log.Warn("send failed", "room", f.Room, "err", err)
		c.replyErr(f.ID, f.Room, protocol.AsError(err))
		return
	}
	if f.ID != "" {
		c.reply(protocol.OK{Type: protocol.TypeOK, ID: f.ID, Room: f.Room, MessageID: msgID, Seq: seq})
	}
	c.crisisCheck(ctx, j, msgID, f.Text)
}

// actor is the connection's user as the room service sees them.
func (c *conn) actor() room.Actor { return room.Actor{UserID: c.ident.UserID, TokenRole: c.ident.Role} }

// control carries out a facilitator control. The room service checks the
// caller's role from the store (forbidden for anyone else) and changes the
// durable state; this function then tells every node and the people
// concerned.
func (c *conn) control(ctx context.Context, f protocol.Frame, j *joined) error {
	h, svc, a, id := c.h, c.h.cfg.Rooms, c.actor(), f.Room
	var r room.Room
	var err error
	switch f.Type {
	case protocol.TypeStartSession:
		if r, err = svc.StartSession(ctx, a, id, f.Minutes); err == nil {
			h.SessionStarted(ctx, r)
			h.publishState(ctx, r)
		}
	case protocol.TypeBeginClosing:
		if r, err = svc.BeginClosing(ctx, a, id); err == nil {
			h.publishState(ctx, r)
		}
	case protocol.TypeEndSession:
		if r, err = svc.EndSession(ctx, a, id, f.Force); err == nil {
			err = h.sessionEnded(ctx, r)
		}
	case protocol.TypeSetMode:
		if r, err = svc.SetMode(ctx, a, id, f.Mode); err == nil {
			h.publishState(ctx, r)
		}
	case protocol.TypeShareTimer:
		if r, err = svc.SetShareTimer(ctx, a, id, f.Seconds); err == nil {
			h.publishState(ctx, r)
		}
	case protocol.TypeLock, protocol.TypeUnlock:
		if r, err = svc.SetLock(ctx, a, id, f.Type == protocol.TypeLock); err == nil {
			h.publishState(ctx, r)
		}
	case protocol.TypeSlowMode:
		if r, err = svc.SetSlowMode(ctx, a, id, f.Seconds); err == nil {
			h.publishState(ctx, r)
		}
	case protocol.TypePin, protocol.TypeUnpin:
		text := f.Text
		if f.Type == protocol.TypeUnpin {
			text = ""
		}
		if r, err = svc.SetPin(ctx, a, id, text); err == nil {
			h.publishState(ctx, r)
		}
	case protocol.TypeAdmit, protocol.TypeAdmitAll:
		member := f.MemberID
		if f.Type == protocol.TypeAdmitAll {
			member = ""
		}
		// No more than the free seats: the rest stay waiting (each admitted
		// member then takes their seat atomically as they enter).
		var free int
		if free, err = h.freeSeats(ctx, id, capacityOf(j)); err != nil {
			break
		}
		var admitted []string
		if r, admitted, err = svc.Admit(ctx, a, id, member, free); err == nil && len(admitted) > 0 {
			h.publishReload(ctx, r)
			h.publishControl(ctx, id, control{Ctl: ctlAdmit, MemberIDs: admitted})
			h.publishFacilitatorState(ctx, r)
		}
	case protocol.TypeDeny:
		if r, err = svc.Deny(ctx, a, id, f.MemberID); err == nil {
			h.publishReload(ctx, r)
			h.publishControl(ctx, id, control{Ctl: ctlDeny, MemberID: f.MemberID,
				Frame: protocol.Marshal(protocol.NoticeEvent{Type: protocol.TypeDenied, Room: id})})
			h.publishFacilitatorState(ctx, r)
		}
	case protocol.TypeWarn:
		var reason string
		if _, reason, err = svc.Warn(ctx, a, id, f.MemberID, f.Reason); err == nil {
			h.publishControl(ctx, id, control{Ctl: ctlToMember, MemberID: f.MemberID,
				Frame: protocol.Marshal(protocol.NoticeEvent{Type: protocol.TypeWarned, Room: id, Reason: reason})})
		}
	case protocol.TypeMute:
		var m room.Mute
		if r, m, err = svc.Mute(ctx, a, id, f.MemberID, f.Minutes, f.Reason); err == nil {
			h.publishReload(ctx, r)
			h.publishControl(ctx, id, control{Ctl: ctlToMember, MemberID: f.MemberID, Frame: mutedNotice(id, m)})
			h.publishFacilitatorState(ctx, r)
			if !m.Until.IsZero() {
				h.schedule(ctx, m.Until, "mute:"+id+":"+f.MemberID, timer{Kind: timerMuteLift, Room: id, MemberID: f.MemberID, At: m.Until})
			}
		}
	case protocol.TypeUnmute:
		if r, err = svc.Unmute(ctx, a, id, f.MemberID); err == nil {
			h.publishReload(ctx, r)
			h.publishControl(ctx, id, control{Ctl: ctlToMember, MemberID: f.MemberID,
				Frame: protocol.Marshal(protocol.NoticeEvent{Type: protocol.TypeUnmutedNotice, Room: id})})
			h.publishFacilitatorState(ctx, r)
		}
	case protocol.TypeRemove:
		if _, err = svc.Remove(ctx, a, id, f.MemberID); err == nil {
			h.publishControl(ctx, id, control{Ctl: ctlRemove, MemberID: f.MemberID,
				Frame: protocol.Marshal(protocol.NoticeEvent{Type: protocol.TypeRemoved, Room: id})})
		}
	case protocol.TypeBan:
		if r, err = svc.Ban(ctx, a, id, f.MemberID); err == nil {
			h.publishReload(ctx, r)
			h.publishControl(ctx, id, control{Ctl: ctlRemove, MemberID: f.MemberID,
				Frame: protocol.Marshal(protocol.NoticeEvent{Type: protocol.TypeRemoved, Room: id, Banned: true})})
			h.publishFacilitatorState(ctx, r)
		}
	case protocol.TypeUnban:
		if r, err = svc.Unban(ctx, a, id, f.MemberID); err == nil {
			h.publishReload(ctx, r)
			h.publishFacilitatorState(ctx, r)
		}
	default:
		err = protocol.Errf(protocol.CodeUnknownType, "The frame type %q is not handled.", f.Type)
	}
	return err
}

// capacityOf is the room's capacity as this node last heard it.
func capacityOf(j *joined) int {
	if st := j.lr.state.Load(); st != nil { // set at join, before j exists, and never unset
		return st.Capacity
	}
	if j.doc != nil {
		return j.doc.Capacity
	}
	return 0
}

func mutedNotice(room string, m room.Mute) []byte {
	n := protocol.NoticeEvent{Type: protocol.TypeMutedNotice, Room: room, Reason: m.Reason}
	if !m.Until.IsZero() {
		n.Until = protocol.FormatTime(m.Until)
	}
	return protocol.Marshal(n)
}

// deleteMessage: facilitators may delete any message, members their own (as
// far as this node saw it). The message leaves the session buffer (a
// resume gets its stand-in), then everyone, on every node, gets
// message_deleted, and every node forgets it (no report or reaction can
// reach it). Errors: forbidden, the broker's (then nothing was announced:
// deleting again is safe).
func (c *conn) deleteMessage(ctx context.Context, f protocol.Frame, j *joined) error {
	author, _, known := j.lr.recentMessage(f.MessageID)
	if own := known && author == j.me.MemberID; !own {
		if !j.role.Facilitates() {
			return protocol.Errf(protocol.CodeForbidden, "Members can delete only their own messages.")
		}
		if _, err := c.h.cfg.Rooms.Audited(ctx, c.actor(), f.Room, "delete_message", author); err != nil {
			return err
		}
	}
	// The session buffer first: from here on no resume replays the text
	// (it gets the stand-in), and only then is everyone told, so that nobody
	// who is told of the deletion can still be handed the message.
	if err := c.h.cfg.Broker.Forget(ctx, f.Room, f.MessageID); err != nil {
		return err
	}
	_, err := c.h.cfg.Broker.Publish(ctx, f.Room, protocol.Marshal(protocol.MessageDeletedEvent{Type: protocol.TypeMessageDeleted, Room: f.Room, MessageID: f.MessageID}))
	if err == nil {
		c.h.forgetReactions(ctx, f.Room, f.MessageID)
	}
	return err
}

// dm sends a private message: a facilitator to any member, a member only to
// a facilitator. Both sides' connections, on every node, get the same event.
func (c *conn) dm(ctx context.Context, f protocol.Frame, j *joined) error {
	st := j.lr.state.Load()
	if st == nil {
		return protocol.Err(protocol.CodeUnavailable)
	}
	if j.role.Facilitates() {
		if _, err := c.h.cfg.Rooms.Audited(ctx, c.actor(), f.Room, "dm", f.MemberID); err != nil {
			return err
		}
	} else if !c.h.cfg.Rooms.IsFacilitatorMember(st, f.MemberID) {
		return protocol.Errf(protocol.CodeForbidden, "Members can send private messages to facilitators only.")
	}
	present, err := c.h.cfg.Broker.Members(ctx, f.Room)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(present, func(m protocol.Member) bool { return m.MemberID == f.MemberID }) {
		return protocol.Err(protocol.CodeNotPresent)
	}
	dmID := newID()
	ev := protocol.Marshal(protocol.DMEvent{Type: "dm", Room: f.Room, MessageID: dmID, From: j.me, To: f.MemberID, Text: f.Text, TS: now()})
	c.h.publishControl(ctx, f.Room, control{Ctl: ctlToMember, MemberID: f.MemberID, Frame: ev})
	if f.MemberID != j.me.MemberID {
		c.h.publishControl(ctx, f.Room, control{Ctl: ctlToMember, MemberID: j.me.MemberID, Frame: ev})
	}
	c.crisisCheck(ctx, j, dmID, f.Text) // a member's words to a facilitator count too
	return nil
}

// report sends a message report to the room's facilitators only (never to
// the reported member; a report about a facilitator's message is not sent
// to that facilitator). The reporter is named to facilitators only.
func (c *conn) report(ctx context.Context, f protocol.Frame, j *joined) error {
	reason, err := room.CheckReason(f.Reason)
	if err != nil {
		return err
	}
	author, text, known := j.lr.recentMessage(f.MessageID)
	if !known {
		return protocol.Errf(protocol.CodeNotFound, "That message is no longer available to report.")
	}
	rep, err := c.h.cfg.Rooms.AddReport(ctx, f.Room, room.Report{MessageID: f.MessageID, About: author, Reporter: j.me.MemberID, Reason: reason})
	if err != nil {
		return err
	}
	ev := protocol.Marshal(protocol.ReportEvent{Type: protocol.TypeReportEvent, ReportID: rep.ID, Room: f.Room, MessageID: f.MessageID,
		About: author, ReporterID: j.me.MemberID, Reason: reason, Text: text, TS: protocol.FormatTime(rep.At)})
	c.h.publishControl(ctx, f.Room, control{Ctl: ctlToFacilitators, Frame: ev, Except: author})
	if st := j.lr.state.Load(); st != nil && c.h.cfg.Rooms.IsFacilitatorMember(st, author) {
		// About a facilitator: their supervisors hear of it too.
		c.h.publishControl(ctx, supervisorsRoom, control{Ctl: ctlToFacilitators, Frame: ev})
	}
	return nil
}
