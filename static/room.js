// room.js — what the client knows about one room, without any DOM.
//
// A RoomState keeps the members present now (from `joined`, `member_joined`,
// `member_left`), who "you" are in the room, the messages already shown (so a
// repeated event is not shown twice) and the last room `seq` seen, to notice
// missed events. Later features (reactions, the share queue, facilitator
// tools) can keep their per-room state here too.

export const ROLE_FACILITATOR = 'facilitator';
export const ROLE_MEMBER = 'member';

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
    /** message_ids already shown. */
    this.seenMessages = new Set();
  }

  /** applyJoined replaces the member list with the one in a `joined` reply. */
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

  /** sortedMembers lists facilitators first, then everyone else, each by name. */
  sortedMembers() {
    const collator = new Intl.Collator(undefined, { sensitivity: 'base' });
    return [...this.members.values()].sort((a, b) => {
      const fa = a.role === ROLE_FACILITATOR ? 0 : 1;
      const fb = b.role === ROLE_FACILITATOR ? 0 : 1;
      return fa - fb || collator.compare(a.display_name, b.display_name);
    });
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
