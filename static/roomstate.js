// roomstate.js — the room's public state on the page: the session phase in
// words (the sharing mode is drawn by share.js), the session clock ("ends at 19:30 · 42 min left", refreshed every
// 20 seconds), whether the group is locked, slow mode, and the pinned
// announcement in its own labelled region.
//
// The state bar is not a live region (a ticking clock would keep talking);
// changes are told once, as quiet notes in the conversation log, from
// stateChangeNotes.

import { h, $, setText, formatClock, formatFullTime, minutesUntil, plural } from './dom.js';
import { PHASE_IDLE, PHASE_OPEN, PHASE_CLOSING, PHASE_ENDED, sessionIsOpen } from './room.js';
import { shareStateNotes } from './share.js';

const PHASE_TEXT = {
  [PHASE_IDLE]: 'Session not started',
  [PHASE_OPEN]: 'Session open',
  [PHASE_CLOSING]: 'Closing reflections',
  [PHASE_ENDED]: 'Session ended',
};

/** phaseLabel names a phase in words. */
export function phaseLabel(phase) {
  return PHASE_TEXT[phase] ?? 'Session not started';
}

/** slowModeText says how often one may send: "one message every 30 seconds". */
export function slowModeText(seconds) {
  if (seconds % 60 === 0) {
    const m = seconds / 60;
    return m === 1 ? 'one message a minute' : `one message every ${m} minutes`;
  }
  return `one message every ${seconds} seconds`;
}

/** The room whose state is shown (for the clock's refresh). */
let shown = null;
let clockTimer = 0;

/** renderRoomState shows room.state (or hides the bar when it is unknown). */
export function renderRoomState(room) {
  shown = room;
  const st = room?.state ?? null;
  $('room-state').hidden = st === null;
  if (st === null) {
    $('pin').hidden = true;
    stopClock();
    return;
  }
  const phase = $('state-phase');
  setText(phase, phaseLabel(st.phase));
  phase.className = `chip chip--phase chip--${st.phase}`;

  $('state-lock').hidden = !(st.locked && sessionIsOpen(st.phase));
  const slow = $('state-slow');
  slow.hidden = !(st.slowModeSec > 0 && sessionIsOpen(st.phase));
  if (st.slowModeSec > 0) setText(slow, `Slow mode: ${slowModeText(st.slowModeSec)}`);

  setText($('pin-text'), st.pin);
  $('pin').hidden = st.pin === '' || !sessionIsOpen(st.phase);

  renderClock();
  if (sessionIsOpen(st.phase) && st.plannedEnd) startClock();
  else stopClock();
}

function renderClock() {
  const st = shown?.state;
  const clock = $('state-clock');
  if (!st || !sessionIsOpen(st.phase) || !st.plannedEnd) {
    clock.hidden = true;
    clock.replaceChildren();
    return;
  }
  clock.hidden = false;
  const left = minutesUntil(st.plannedEnd);
  const parts = [];
  if (st.startedAt) {
    parts.push(h('span', { className: 'clock-started' },
      'Started ', h('time', { text: formatClock(st.startedAt), attrs: { datetime: st.startedAt, title: formatFullTime(st.startedAt) } }), ' · '));
  }
  parts.push(st.startedAt ? 'ends at ' : 'Ends at ', h('time', { className: 'clock-end', text: formatClock(st.plannedEnd), attrs: { datetime: st.plannedEnd, title: formatFullTime(st.plannedEnd) } }));
  if (Number.isFinite(left)) {
    parts.push(h('span', { className: 'clock-left', text: left > 0 ? ` · ${durationText(left)} left` : ' · planned end reached' }));
  }
  clock.replaceChildren(...parts.map((p) => (typeof p === 'string' ? document.createTextNode(p) : p)));
}

/** durationText says a number of minutes briefly: "45 min", "1 h", "1 h 30 min". */
function durationText(minutes) {
  if (minutes <= 60) return plural(minutes, 'min', 'min');
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

function startClock() {
  if (clockTimer) return;
  clockTimer = setInterval(renderClock, 20_000);
}

function stopClock() {
  clearInterval(clockTimer);
  clockTimer = 0;
}

/**
 * stateChangeNotes turns the changes applyState reported into sentences for
 * the conversation log (which is a polite live region).
 */
export function stateChangeNotes(st, changes) {
  if (!changes || !st) return [];
  const notes = [];
  if (changes.phase) {
    if (st.phase === PHASE_OPEN) {
      notes.push(st.plannedEnd ? `The session has started. It is planned to end at ${formatClock(st.plannedEnd)}.` : 'The session has started.');
    } else if (st.phase === PHASE_CLOSING) {
      notes.push('Closing reflections have begun.');
    }
  } else if (changes.clock && sessionIsOpen(st.phase) && st.plannedEnd) {
    notes.push(`The session is now planned to end at ${formatClock(st.plannedEnd)}.`);
  }
  if (changes.locked && sessionIsOpen(st.phase)) {
    notes.push(st.locked ? 'The group is now locked: new people wait to be let in.' : 'The group is unlocked.');
  }
  if (changes.slow && sessionIsOpen(st.phase)) {
    notes.push(st.slowModeSec > 0 ? `Slow mode is on: ${slowModeText(st.slowModeSec)}.` : 'Slow mode is off.');
  }
  if (changes.pin && sessionIsOpen(st.phase)) {
    notes.push(st.pin ? `New pinned announcement: ${st.pin}` : 'The pinned announcement was removed.');
  }
  notes.push(...shareStateNotes(st, changes));
  return notes;
}
