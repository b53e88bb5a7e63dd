// room.js — what the client knows about one room, without any DOM.
//
// A RoomState keeps the members present now (from `joined`, `member_joined`,
// `member_left`), who "you" are in the room, the messages already shown (so a
// repeated event is not shown twice) and the last room `seq` seen, to notice
// missed events; the room's public state (`room_state`: phase, session clock,
// lock, slow mode, pin), what facilitators alone are told
// (`facilitator_state`: who is muted, who waits), this person's own mute, and
// the private-message threads. Later features (reactions, the share queue)
// can keep their per-room state here too.

export const ROLE_FACILITATOR = 'facilitator';
export const ROLE_CO_FACILITATOR = 'co_facilitator';
export const ROLE_MEMBER = 'member';

/** facilitates reports whether a room role may use the facilitator controls. */
export function facilitates(role) {
  return role === ROLE_FACILITATOR || role === ROLE_CO_FACILITATOR;
}

/** Session phases (docs/protocol.md, "State events"). */
export const PHASE_IDLE = 'idle';
export const PHASE_OPEN = 'open';
export const PHASE_CLOSING = 'closing';
export const PHASE_ENDED = 'ended';

/** sessionIsOpen reports whether a phase is one where the session runs (open or closing). */
export function sessionIsOpen(phase) {
  return phase === PHASE_OPEN || phase === PHASE_CLOSING;
}

/** Limits of the facilitator controls (internal/room/controls.go). */
export const MAX_PIN_CODE_POINTS = 500;
export const MAX_REASON_CODE_POINTS = 300;
export const MIN_SESSION_MINUTES = 1;
export const MAX_SESSION_MINUTES = 240;
export const DEFAULT_SESSION_MINUTES = 90;

/** ROOM_ID_RE is the room id form of protocol v1: 1–64 of [A-Za-z0-9_-], starting with a letter or digit. */
export const ROOM_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Longest message text and display name, in Unicode code points after NFC. */
export const MAX_TEXT_CODE_POINTS = 4000;
export const MAX_NAME_CODE_POINTS = 32;

/** codePoints counts the Unicode code points of s after NFC, as the server does. */
export function codePoints(s) {
  let n = 0;
  for (const _ of s.normalize('NFC')) n++;
  return n;
}

export class RoomState {
  /** @param {string} id the room id */
  constructor(id) {
    this.id = id;
    /** member_id → {member_id, display_name, role} */
    this.members = new Map();
    /** This connection's member, from `joined.you`. */
    this.you = null;
    /** The highest room seq seen, or null before the first event. */
    this.lastSeq = null;
    /** True from a re-join until the first event after it (see noteSeq). */
    this.rejoined = false;
    /** True from "Show again" until the next room event: a seq gap then comes from the hide. */
    this.excuseGap = false;
    /** message_ids already shown. */
    this.seenMessages = new Set();
    /** The public room state (room_state / joined.state); null until known. */
    this.state = null;
    /** What facilitators alone are told (facilitator_state); empty for members. */
    this.muted = new Map(); // member_id → {until, reason}
    this.waiting = []; // [{member_id, display_name, since}] in arrival order
    this.banned = [];
    /** This person's own mute ({reason, until}) as last told, or null. */
    this.myMute = null;
    /**
     * Private-message threads, by the other person's member_id:
     * {member_id, display_name, role, items: [{message_id, fromYou, text, ts}], unread}.
     */
    this.dms = new Map();
  }

  /** Whether this connection's role in the room may use the facilitator controls. */
  get facilitating() {
    return this.you !== null && facilitates(this.you.role);
  }

  /** applyJoined replaces the member list (and the state, if given) with those of a `joined` reply. */
  applyJoined(joined) {
    this.you = cleanMember(joined.you);
    this.members.clear();
    for (const m of Array.isArray(joined.members) ? joined.members : []) {
      const member = cleanMember(m);
      if (member) this.members.set(member.member_id, member);
    }
    if (this.you && !this.members.has(this.you.member_id)) {
      this.members.set(this.you.member_id, this.you);
    }
    if (joined.state && typeof joined.state === 'object') return this.applyState(joined.state);
    return null;
  }

  /**
   * applyState takes a `room_state` (or `joined.state`) and returns what
   * changed — {phase, locked, slow, pin, clock} flags, each true when that
   * part differs from before — or null when the state was not known before
   * (the first state is not news).
   */
  applyState(ev) {
    const next = {
      phase: typeof ev.phase === 'string' ? ev.phase : PHASE_IDLE,
      startedAt: typeof ev.started_at === 'string' ? ev.started_at : '',
      plannedEnd: typeof ev.planned_end === 'string' ? ev.planned_end : '',
      locked: ev.locked === true,
      slowModeSec: Number.isSafeInteger(ev.slow_mode_sec) && ev.slow_mode_sec > 0 ? ev.slow_mode_sec : 0,
      pin: typeof ev.pin === 'string' ? ev.pin : '',
      waitingRoom: ev.waiting_room === true,
    };
    const prev = this.state;
    this.state = next;
    if (prev === null) return null;
    return {
      phase: prev.phase !== next.phase,
      locked: prev.locked !== next.locked,
      slow: prev.slowModeSec !== next.slowModeSec,
      pin: prev.pin !== next.pin,
      clock: prev.startedAt !== next.startedAt || prev.plannedEnd !== next.plannedEnd,
    };
  }

  /**
   * applyFacilitatorState takes a `facilitator_state` and returns the
   * members who started waiting since the last one (to announce them).
   */
  applyFacilitatorState(ev) {
    this.muted.clear();
    for (const m of Array.isArray(ev.muted) ? ev.muted : []) {
      if (!m || typeof m.member_id !== 'string') continue;
      this.muted.set(m.member_id, {
        until: typeof m.until === 'string' ? m.until : '',
        reason: typeof m.reason === 'string' ? m.reason : '',
      });
    }
    const before = new Set(this.waiting.map((w) => w.member_id));
    this.waiting = [];
    for (const w of Array.isArray(ev.waiting) ? ev.waiting : []) {
      if (!w || typeof w.member_id !== 'string' || w.member_id === '') continue;
      this.waiting.push({
        member_id: w.member_id,
        display_name: typeof w.display_name === 'string' ? w.display_name : '',
        since: typeof w.since === 'string' ? w.since : '',
      });
    }
    this.banned = Array.isArray(ev.banned) ? ev.banned.filter((b) => typeof b === 'string') : [];
    return this.waiting.filter((w) => !before.has(w.member_id));
  }

  /**
   * addDm files a `dm` event under the thread with the other person and
   * returns {thread, item}, or null when the event is malformed or not ours.
   */
  addDm(ev) {
    const from = cleanMember(ev.from);
    if (!from || typeof ev.to !== 'string' || typeof ev.text !== 'string' || this.you === null) return null;
    const fromYou = from.member_id === this.you.member_id;
    if (!fromYou && ev.to !== this.you.member_id) return null;
    const otherId = fromYou ? ev.to : from.member_id;
    const thread = this.dmThread(otherId, fromYou ? null : from);
    if (!thread) return null;
    const id = typeof ev.message_id === 'string' ? ev.message_id : '';
    if (id !== '' && thread.items.some((i) => i.message_id === id)) return null; // a repeat
    const item = { message_id: id, fromYou, text: ev.text, ts: typeof ev.ts === 'string' ? ev.ts : '' };
    thread.items.push(item);
    return { thread, item };
  }

  /** dmThread returns the thread with a member, creating it (with what is known of them) if needed. */
  dmThread(memberId, known = null) {
    if (typeof memberId !== 'string' || memberId === '') return null;
    let thread = this.dms.get(memberId);
    const person = known ?? this.members.get(memberId) ?? null;
    if (!thread) {
      thread = { member_id: memberId, display_name: '', role: ROLE_MEMBER, items: [], unread: 0 };
      this.dms.set(memberId, thread);
    }
    if (person) {
      if (person.display_name) thread.display_name = person.display_name;
      thread.role = person.role;
    }
    return thread;
  }

  /** unreadDms counts unread private messages over all threads. */
  unreadDms() {
    let n = 0;
    for (const t of this.dms.values()) n += t.unread;
    return n;
  }

  /** clearConversation forgets everything said (messages, private messages), keeping presence and state. */
  clearConversation() {
    this.seenMessages.clear();
    this.dms.clear();
  }

  /** nameOf returns a member's display name as known here, or ''. */
  nameOf(memberId) {
    return this.members.get(memberId)?.display_name
      || this.dms.get(memberId)?.display_name
      || this.waiting.find((w) => w.member_id === memberId)?.display_name
      || '';
  }

  /** markRejoined is called when the room is joined again after a reconnect. */
  markRejoined() {
    this.rejoined = true;
  }

  /**
   * noteSeq records the seq of a room event and reports whether events were
   * probably missed before it:
   *   - the first event ever: no (there is nothing to compare with);
   *   - seq > last + 1: yes, something in between never arrived;
   *   - the first event after a re-join that is not last + 1: yes (events
   *     were broadcast while we were away, or the room's counter restarted);
   *   - otherwise seq <= last is a late or repeated event and changes nothing.
   * Events without a seq are not counted.
   */
  noteSeq(seq) {
    if (!Number.isSafeInteger(seq) || seq < 0) return false;
    const last = this.lastSeq;
    const rejoined = this.rejoined;
    this.rejoined = false;
    if (last === null) {
      this.lastSeq = seq;
      return false;
    }
    if (rejoined) {
      this.lastSeq = seq;
      return seq !== last + 1;
    }
    if (seq > last) {
      this.lastSeq = seq;
      return seq > last + 1;
    }
    return false;
  }

  /**
   * addMember adds or updates a present member. It returns the member when
   * they were not present before, and null when they were (or the event was
   * malformed), so a "joined" note is shown once.
   */
  addMember(m) {
    const member = cleanMember(m);
    if (!member) return null;
    const known = this.members.has(member.member_id);
    this.members.set(member.member_id, member);
    return known ? null : member;
  }

  /** removeMember removes a member and returns who it was (or null if unknown). */
  removeMember(memberId) {
    const member = this.members.get(memberId) ?? null;
    this.members.delete(memberId);
    return member;
  }

  /** isYou reports whether a member_id is this connection's own member. */
  isYou(memberId) {
    return this.you !== null && this.you.member_id === memberId;
  }

  /** sortedMembers lists the lead facilitator, then co-facilitators, then everyone else, each by name. */
  sortedMembers() {
    const collator = new Intl.Collator(undefined, { sensitivity: 'base' });
    const rank = (role) => (role === ROLE_FACILITATOR ? 0 : role === ROLE_CO_FACILITATOR ? 1 : 2);
    return [...this.members.values()].sort((a, b) =>
      rank(a.role) - rank(b.role) || collator.compare(a.display_name, b.display_name));
  }
}

/** cleanMember keeps only the string fields of a member object from the server. */
function cleanMember(m) {
  if (!m || typeof m !== 'object' || typeof m.member_id !== 'string' || m.member_id === '') return null;
  return {
    member_id: m.member_id,
    display_name: typeof m.display_name === 'string' ? m.display_name : '',
    role: typeof m.role === 'string' && m.role !== '' ? m.role : ROLE_MEMBER,
  };
}
