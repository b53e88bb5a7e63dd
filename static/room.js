// room.js — what the client knows about one room, without any DOM.
//
// A RoomState keeps the members present now (from `joined`, `member_joined`,
// `member_left`), who "you" are in the room, the messages already shown (so a
// repeated event is not shown twice) and the last room `seq` seen, to notice
// missed events and to resume after a dropped connection (with the epoch of
// `joined`; in memory only); the room's public state (`room_state`: phase, session clock,
// lock, slow mode, pin), what facilitators alone are told
// (`facilitator_state`: who is muted, who waits), this person's own mute, and
// the private-message threads, the sharing state (`queue` / `joined.share`:
// raised hands, the floor, the turn's time box, who is listening) and the
// reaction counts of messages (`reactions`, plus this person's own from the
// `ok` to `react`).

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

/** Room modes (docs/protocol.md, "Sharing"): anyone may post, or only the floor holder (and facilitators). */
export const MODE_OPEN = 'open';
export const MODE_ROUNDS = 'rounds';

/** How a member is present: taking part, or just listening (an observer). */
export const PRESENCE_PARTICIPANT = 'participant';
export const PRESENCE_OBSERVER = 'observer';

/** The fixed, kind set of reactions, in the order they are shown. */
export const REACTIONS = ['heart', 'support', 'thanks', 'me_too', 'strength'];

/** Limits of the facilitator controls (internal/room/controls.go). */
export const MAX_PIN_CODE_POINTS = 500;
export const MAX_REASON_CODE_POINTS = 300;
export const MIN_SESSION_MINUTES = 1;
export const MAX_SESSION_MINUTES = 240;
export const DEFAULT_SESSION_MINUTES = 90;

/** ROOM_ID_RE is the room id form of protocol v1: 1–64 of [A-Za-z0-9_-], starting with a letter or digit. */
export const ROOM_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** How many hidden members a join can carry (`hidden`, protocol.MaxHidden). */
export const MAX_HIDDEN = 64;

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
    /**
     * The resume point (see resumePoint): the epoch of the room's seq
     * counter, from the last `joined` (null: nothing to resume from), and
     * that joined's seq once it counts as seen. Like everything here it
     * lives in memory only — nothing is kept in the browser — so a page
     * reload is a fresh join, and so is a join after leaving the room or
     * after the session ended (the RoomState is gone, or forgetResumePoint).
     */
    this.epoch = null;
    this.joinedSeq = null;
    /**
     * While the events a resumed join replays are arriving:
     * {left: how many are still to come, seq: that joined's seq, joined};
     * null otherwise (see beginResume).
     */
    this.replay = null;
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
    /** The sharing state (queue / joined.share); see applyShare. */
    this.share = emptyShare();
    /** The version (and seq) of the sharing state shown, so a late one cannot undo a newer one. */
    this.shareVersion = null;
    this.shareSeq = null;
    /**
     * Reactions by message_id: {counts: {reaction: n}, mine: Set, seq}. Counts
     * only: who reacted is never known here.
     */
    this.reactions = new Map();
  }

  /** Whether this person is present as an observer ("just listening"). */
  get observing() {
    return this.you !== null && this.share.observers.has(this.you.member_id);
  }

  /** Whether this person holds the floor. */
  get holdingFloor() {
    return this.you !== null && this.share.floor === this.you.member_id;
  }

  /** handPosition returns a member's place in the share queue (1 = next), or 0 when their hand is not raised. */
  handPosition(memberId) {
    return this.share.queue.indexOf(memberId) + 1;
  }

  /**
   * applyShare takes a `queue` event (or `joined.share`) and returns
   * {prev, next, queue, floor, observers} (each flag true when that part
   * changed), or null when the event is older than one already applied.
   * Each event carries the whole state, so applying one twice changes nothing.
   */
  applyShare(ev) {
    if (!ev || typeof ev !== 'object') return null;
    // The server numbers sharing states (`version`); a state older than the
    // one shown is ignored (joined's may even be newer than a queue event
    // that arrives after it). Without a version, the room seq decides.
    const version = Number.isSafeInteger(ev.version) ? ev.version : null;
    if (version !== null && this.shareVersion !== null) {
      if (version < this.shareVersion) return null;
    } else if (Number.isSafeInteger(ev.seq) && this.shareSeq !== null && ev.seq <= this.shareSeq) {
      return null;
    }
    if (version !== null) this.shareVersion = version;
    if (Number.isSafeInteger(ev.seq)) this.shareSeq = ev.seq;
    const prev = this.share;
    const ids = (list) => (Array.isArray(list) ? list.filter((x) => typeof x === 'string' && x !== '') : []);
    const floor = typeof ev.floor === 'string' ? ev.floor : '';
    const turnStarted = floor && typeof ev.turn_started === 'string' ? ev.turn_started : '';
    const timerSec = floor && Number.isSafeInteger(ev.timer_sec) && ev.timer_sec > 0 ? ev.timer_sec : 0;
    // Where the turn began on this computer's clock: the server's start,
    // never later than now (a clock behind the server's would otherwise
    // show more time than the turn has).
    let turnAnchor = 0;
    if (floor && turnStarted) {
      turnAnchor = prev.floor === floor && prev.turnStarted === turnStarted && prev.turnAnchor
        ? prev.turnAnchor
        : Math.min(Date.now(), new Date(turnStarted).getTime() || Date.now());
    } else if (floor) {
      turnAnchor = prev.floor === floor ? prev.turnAnchor : Date.now();
    }
    const next = {
      queue: [...new Set(ids(ev.queue))],
      floor,
      turnStarted,
      timerSec,
      turnAnchor,
      observers: new Set(ids(ev.observers)),
    };
    this.share = next;
    return {
      prev,
      next,
      queue: prev.queue.join('\n') !== next.queue.join('\n'),
      floor: prev.floor !== next.floor || prev.turnStarted !== next.turnStarted,
      observers: [...prev.observers].sort().join('\n') !== [...next.observers].sort().join('\n'),
    };
  }

  /** reactionsOf returns a message's reactions ({counts, mine, seq}), creating an empty entry. */
  reactionsOf(messageId) {
    let r = this.reactions.get(messageId);
    if (!r) {
      r = { counts: {}, mine: new Set(), seq: null };
      this.reactions.set(messageId, r);
    }
    return r;
  }

  /**
   * applyReactions takes a `reactions` event (counts only) and returns the
   * message_id it was about, or '' when it was malformed or older than the
   * counts already shown. A reaction nobody has any more cannot be ours.
   */
  applyReactions(ev) {
    if (typeof ev.message_id !== 'string' || ev.message_id === '') return '';
    const r = this.reactionsOf(ev.message_id);
    if (Number.isSafeInteger(ev.seq)) {
      if (r.seq !== null && ev.seq <= r.seq) return '';
      r.seq = ev.seq;
    }
    const counts = {};
    const given = ev.counts && typeof ev.counts === 'object' ? ev.counts : {};
    for (const name of REACTIONS) {
      const n = given[name];
      if (Number.isSafeInteger(n) && n > 0) counts[name] = n;
    }
    r.counts = counts;
    for (const name of [...r.mine]) if (!counts[name]) r.mine.delete(name);
    return ev.message_id;
  }

  /** setMyReactions records which reactions this person now has on a message (the `mine` of the ok to `react`). */
  setMyReactions(messageId, mine) {
    const r = this.reactionsOf(messageId);
    r.mine = new Set(Array.isArray(mine) ? mine.filter((x) => REACTIONS.includes(x)) : []);
    // The ok may come before the counts: one's own reaction counts at least once.
    for (const name of r.mine) if (!r.counts[name]) r.counts[name] = 1;
  }

  /** Whether this connection's role in the room may use the facilitator controls. */
  get facilitating() {
    return this.you !== null && facilitates(this.you.role);
  }

  /** applyJoined replaces the member list (and the state, if given) with those of a `joined` reply. */
  applyJoined(joined) {
    this.you = cleanMember(joined.you);
    // joined's sharing state is the new starting point (the server's
    // numbering may have started again, say after a restart).
    this.shareVersion = null;
    this.shareSeq = null;
    this.applyShare(joined.share && typeof joined.share === 'object' ? joined.share : {});
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
   * changed — {phase, locked, slow, pin, clock, mode, shareTimer} flags, each true when that
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
      mode: ev.mode === MODE_ROUNDS ? MODE_ROUNDS : MODE_OPEN,
      shareTimerSec: Number.isSafeInteger(ev.share_timer_sec) && ev.share_timer_sec > 0 ? ev.share_timer_sec : 0,
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
      mode: prev.mode !== next.mode,
      shareTimer: prev.shareTimerSec !== next.shareTimerSec,
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
    this.reactions.clear();
  }

  /** nameOf returns a member's display name as known here, or ''. */
  nameOf(memberId) {
    return this.members.get(memberId)?.display_name
      || this.dms.get(memberId)?.display_name
      || this.waiting.find((w) => w.member_id === memberId)?.display_name
      || '';
  }

  /** noteJoined records the resume point of a join without resume_from: the epoch and seq of its `joined`. */
  noteJoined(joined) {
    this.replay = null;
    this.epoch = typeof joined?.epoch === 'string' && joined.epoch !== '' ? joined.epoch : null;
    this.joinedSeq = Number.isSafeInteger(joined?.seq) ? joined.seq : null;
  }

  /**
   * resumePoint returns the `resume_from` of a join after a dropped
   * connection — {epoch, seq}: the highest room seq seen, counting the last
   * joined's seq as seen — or null when there is nothing to resume from
   * (the join is then a fresh one). While a replay is under way the joined's
   * seq does not count yet, so a drop during the replay loses nothing.
   */
  resumePoint() {
    if (this.epoch === null) return null;
    return { epoch: this.epoch, seq: Math.max(this.lastSeq ?? 0, this.joinedSeq ?? 0) };
  }

  /** forgetResumePoint makes the next join a fresh one (after the session ended). */
  forgetResumePoint() {
    this.epoch = null;
    this.joinedSeq = null;
  }

  /**
   * beginResume takes the `joined` that answered a join with resume_from
   * `from`, and returns {gap, replaying}: gap is true when some events
   * since `from` could not be recovered — the server says so, or the epoch
   * is not the one resumed from (the counter was lost: nothing is
   * replayed); replaying is how many replayed room events follow, in
   * order, before live ones. While they arrive, the room keeps what it
   * knew before the drop, so that each replayed event is applied like a
   * live one; replayStep ends the replay and returns the joined to apply.
   */
  beginResume(joined, from) {
    const resume = joined.resume && typeof joined.resume === 'object' ? joined.resume : null;
    const epoch = typeof joined.epoch === 'string' && joined.epoch !== '' ? joined.epoch : null;
    const seq = Number.isSafeInteger(joined.seq) ? joined.seq : null;
    this.rejoined = false;
    this.replay = null;
    this.epoch = epoch;
    if (resume === null || epoch === null || epoch !== from.epoch) {
      // Another counter (or no answer to resume_from): seqs start afresh.
      this.lastSeq = seq;
      this.joinedSeq = seq;
      return { gap: true, replaying: 0 };
    }
    const gap = resume.gap === true;
    // The first replayed event follows the resume point, unless events
    // could not be recovered: then the jump is the gap already told.
    this.lastSeq = from.seq;
    this.excuseGap = gap;
    const replaying = Number.isSafeInteger(resume.replayed) && resume.replayed > 0 && seq !== null ? resume.replayed : 0;
    if (replaying > 0) {
      this.joinedSeq = null;
      this.replay = { left: replaying, seq, joined };
    } else {
      this.joinedSeq = seq;
      if (seq !== null) this.lastSeq = Math.max(from.seq, seq);
    }
    return { gap, replaying };
  }

  /**
   * replayStep is called for each room event with a seq while a replay is
   * under way: before the event is applied (done false) and after it
   * (done true). It returns the resumed `joined` when the replay is over —
   * after its last event, or before an event past the joined's seq (fewer
   * came than announced) — for the caller to apply; else null.
   */
  replayStep(seq, done) {
    const replay = this.replay;
    if (replay === null || !Number.isSafeInteger(seq)) return null;
    if (!done && seq <= replay.seq) return null;
    if (done && --replay.left > 0) return null;
    this.replay = null;
    this.joinedSeq = replay.seq;
    this.lastSeq = Math.max(this.lastSeq ?? 0, replay.seq);
    return replay.joined;
  }

  /** markRejoined is called when the room is joined again after a reconnect without resuming. */
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

/** emptyShare is the sharing state before anything is known: no hands, a free floor, nobody listening. */
function emptyShare() {
  return { queue: [], floor: '', turnStarted: '', timerSec: 0, turnAnchor: 0, observers: new Set() };
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
