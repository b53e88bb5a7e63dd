// facilitator.js — the facilitator's tools, shown only to a facilitator or
// co-facilitator of the room:
//
//   * the waiting room (facilitator_state.waiting): Admit, Deny, Admit all;
//   * session controls: Start session (planned minutes), Begin closing,
//     End session (confirmed first; refused with `open_alerts` while a
//     crisis alert is unacknowledged, then offered again as "End anyway",
//     which sends `force: true`);
//   * Lock / Unlock, slow mode (off, 10, 30, 60 seconds), the pinned
//     announcement (Pin / Unpin);
//   * sharing: the mode (open sharing / taking turns), the raised hands in
//     order with "Give floor" next to each, Next speaker, End turn, and the
//     time guide for each turn (off, 1, 2, 3, 5 minutes). The floor can only
//     go to someone who raised their own hand: there is no control that puts
//     anyone in the queue or gives the floor to anyone else (and the server
//     refuses it: `not_volunteered`);
//   * the dialogs behind the people list's Warn…, Mute…, Remove…, Ban…;
//   * the room's audit log (GET /api/rooms/{id}/audit over REST, read when
//     asked for, 50 at a time, "Show more" going further back with
//     `before`): a time, who did what in words, names from the room where
//     known (member ids otherwise). Text only.
//
// Every control shows its command's `error` reply as the server's sentence
// right under the control that sent it. The server re-checks the role on
// every command; hiding these tools from members is only tidiness.

import { h, $, setText, button, formatClock, formatWhen, plural } from './dom.js';
import {
  PHASE_OPEN, MODE_OPEN, MODE_ROUNDS, sessionIsOpen, MAX_REASON_CODE_POINTS, MAX_PIN_CODE_POINTS,
  MIN_SESSION_MINUTES, MAX_SESSION_MINUTES, DEFAULT_SESSION_MINUTES,
} from './room.js';
import { phaseLabel, slowModeText } from './roomstate.js';
import { SHARE_TEXT, SHARE_TIMER_CHOICES, timerLabel, nameIn } from './share.js';
import { openDialog } from './dialog.js';
import { restCall } from './rest.js';

/** @type {{send: (frame: object) => Promise<any>, getRoom: () => any, token: () => string, openAlerts: (roomId: string) => string[]}} */
let ctx = null;

/**
 * run sends a command from a control: while it is out the control says so;
 * a failure shows the server's sentence in errorEl. Resolves true on success.
 */
async function run(frame, errorEl, control = null) {
  setText(errorEl, '');
  if (control) control.setAttribute('aria-disabled', 'true');
  try {
    await ctx.send(frame);
    return true;
  } catch (err) {
    setText(errorEl, err?.message || 'That did not work. Please try again.');
    return false;
  } finally {
    if (control) control.removeAttribute('aria-disabled');
  }
}

/** busy reports whether a control is waiting for its reply (a second press is ignored). */
function busy(control) {
  return control.getAttribute('aria-disabled') === 'true';
}

/** initFacilitator wires the panel and the waiting room (once, at start-up). */
export function initFacilitator(context) {
  ctx = context;
  bindDisclosure('fac-toggle', 'fac-body');
  bindDisclosure('waiting-toggle', 'waiting-body');

  const minutes = $('fac-minutes');
  minutes.min = String(MIN_SESSION_MINUTES);
  minutes.max = String(MAX_SESSION_MINUTES);
  minutes.value = String(DEFAULT_SESSION_MINUTES);
  $('fac-start-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const b = $('fac-start');
    if (busy(b)) return;
    const n = Number(minutes.value);
    if (!Number.isInteger(n) || n < MIN_SESSION_MINUTES || n > MAX_SESSION_MINUTES) {
      setText($('fac-session-error'), `Please give a length from ${MIN_SESSION_MINUTES} to ${MAX_SESSION_MINUTES} minutes.`);
      minutes.setAttribute('aria-invalid', 'true');
      minutes.focus();
      return;
    }
    minutes.removeAttribute('aria-invalid');
    await run({ type: 'start_session', minutes: n }, $('fac-session-error'), b);
  });
  $('fac-closing').addEventListener('click', (event) => {
    if (!busy(event.currentTarget)) run({ type: 'begin_closing' }, $('fac-session-error'), event.currentTarget);
  });
  $('fac-end').addEventListener('click', () => {
    openDialog({
      title: 'End the session for everyone?',
      text: 'The conversation is cleared from everyone’s page and members leave the room. Nothing is kept. This cannot be undone.',
      confirmLabel: 'End session',
      danger: true,
      onConfirm: async () => {
        try {
          await ctx.send({ type: 'end_session' });
        } catch (err) {
          if (err?.code !== 'open_alerts') throw err;
          confirmEndAnyway(err.message);
        }
      },
      fallbackFocus: () => $('fac-heading').querySelector('button'),
    });
  });
  $('fac-lock').addEventListener('click', (event) => {
    const locked = ctx.getRoom()?.state?.locked === true;
    if (!busy(event.currentTarget)) run({ type: locked ? 'unlock' : 'lock' }, $('fac-lock-error'), event.currentTarget);
  });
  $('fac-slow-apply').addEventListener('click', (event) => {
    if (!busy(event.currentTarget)) run({ type: 'slow_mode', seconds: Number($('fac-slow').value) }, $('fac-slow-error'), event.currentTarget);
  });
  $('fac-pin-text').maxLength = MAX_PIN_CODE_POINTS;
  $('fac-pin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const b = $('fac-pin');
    const text = $('fac-pin-text').value.trim();
    if (busy(b)) return;
    if (text === '') {
      setText($('fac-pin-error'), 'Write the announcement first, or use Unpin to remove the current one.');
      $('fac-pin-text').focus();
      return;
    }
    await run({ type: 'pin', text }, $('fac-pin-error'), b);
  });
  $('fac-unpin').addEventListener('click', async (event) => {
    if (busy(event.currentTarget)) return;
    if (await run({ type: 'unpin' }, $('fac-pin-error'), event.currentTarget)) $('fac-pin-text').value = '';
  });

  // Sharing.
  $('fac-share-timer').replaceChildren(...SHARE_TIMER_CHOICES.map((sec) => h('option', { text: timerLabel(sec), attrs: { value: String(sec) } })));
  setText($('fac-next'), SHARE_TEXT.facNext);
  setText($('fac-next-hint'), SHARE_TEXT.facNextHint);
  setText($('fac-end-turn'), SHARE_TEXT.facEndTurn);
  $('fac-mode').addEventListener('click', (event) => {
    const rounds = ctx.getRoom()?.state?.mode === MODE_ROUNDS;
    if (!busy(event.currentTarget)) run({ type: 'set_mode', mode: rounds ? MODE_OPEN : MODE_ROUNDS }, $('fac-mode-error'), event.currentTarget);
  });
  $('fac-next').addEventListener('click', (event) => {
    if (!busy(event.currentTarget)) run({ type: 'next_speaker' }, $('fac-turn-error'), event.currentTarget);
  });
  $('fac-end-turn').addEventListener('click', (event) => {
    if (!busy(event.currentTarget)) run({ type: 'end_turn' }, $('fac-turn-error'), event.currentTarget);
  });
  $('fac-queue').addEventListener('click', (event) => {
    const b = event.target instanceof Element ? event.target.closest('button[data-action="give_floor"]') : null;
    const li = b?.closest('li[data-member-id]');
    if (!b || !li || busy(b)) return;
    run({ type: 'give_floor', member_id: li.dataset.memberId }, $('fac-turn-error'), b);
  });
  $('fac-share-timer-apply').addEventListener('click', (event) => {
    if (!busy(event.currentTarget)) run({ type: 'share_timer', seconds: Number($('fac-share-timer').value) }, $('fac-timer-error'), event.currentTarget);
  });

  $('fac-audit-load').addEventListener('click', (event) => {
    if (!busy(event.currentTarget)) loadAudit(false);
  });
  $('fac-audit-more').addEventListener('click', (event) => {
    if (!busy(event.currentTarget)) loadAudit(true);
  });

  $('admit-all').addEventListener('click', (event) => {
    if (!busy(event.currentTarget)) run({ type: 'admit_all' }, $('waiting-error'), event.currentTarget);
  });
  $('waiting-list').addEventListener('click', (event) => {
    const b = event.target instanceof Element ? event.target.closest('button[data-action]') : null;
    const li = b?.closest('li[data-member-id]');
    if (!b || !li || busy(b)) return;
    run({ type: b.dataset.action, member_id: li.dataset.memberId }, $('waiting-error'), b);
  });
}

/**
 * confirmEndAnyway: the server refused to end the session because a crisis
 * alert is unacknowledged. Say so (the server's sentence and which alerts),
 * and offer "End anyway", which sends end_session with force.
 */
function confirmEndAnyway(serverMessage) {
  const room = ctx.getRoom();
  const open = room ? ctx.openAlerts(room.id) : [];
  const which = open.length > 0 ? `Open now: ${open.join('; ')}.` : '';
  openDialog({
    title: 'A crisis alert is still open',
    text: [
      serverMessage || 'A crisis alert in this room has not been acknowledged yet.',
      which,
      'If you end anyway, members leave the room and the alert stays open until someone acknowledges it.',
    ].filter(Boolean).join(' '),
    confirmLabel: 'End anyway',
    danger: true,
    onConfirm: () => ctx.send({ type: 'end_session', force: true }),
    fallbackFocus: () => $('alerts-toggle'),
  });
}

function bindDisclosure(toggleId, bodyId) {
  $(toggleId).addEventListener('click', () => {
    const open = $(toggleId).getAttribute('aria-expanded') !== 'true';
    setDisclosure(toggleId, bodyId, open);
  });
}

function setDisclosure(toggleId, bodyId, open) {
  $(toggleId).setAttribute('aria-expanded', String(open));
  $(bodyId).hidden = !open;
}

/** setFacilitatorExpanded opens or closes both facilitator sections (wide screens start open). */
export function setFacilitatorExpanded(open) {
  setDisclosure('fac-toggle', 'fac-body', open);
  setDisclosure('waiting-toggle', 'waiting-body', open);
}

/** renderFacilitator shows or hides the tools and brings them up to date with the room. */
export function renderFacilitator(room) {
  const show = room?.facilitating === true;
  $('fac-section').hidden = !show;
  $('waiting-section').hidden = !show;
  if (!show || audit.roomId !== room.id) clearAudit();
  if (!show) return;
  renderSession(room);
  renderSharing(room);
  renderWaiting(room);
}

/** The phase last drawn: when it changes, earlier error sentences no longer apply. */
let drawnPhase = '';

function renderSession(room) {
  const st = room.state ?? { phase: 'idle', locked: false, slowModeSec: 0, pin: '', plannedEnd: '' };
  const running = sessionIsOpen(st.phase);
  if (st.phase !== drawnPhase) {
    drawnPhase = st.phase;
    for (const id of ['fac-session-error', 'fac-lock-error', 'fac-slow-error', 'fac-pin-error', 'waiting-error',
      'fac-mode-error', 'fac-turn-error', 'fac-timer-error']) setText($(id), '');
  }
  let status = phaseLabel(st.phase);
  if (running && st.plannedEnd) status += `, planned to end at ${formatClock(st.plannedEnd)}`;
  setText($('fac-session-status'), `${status}.`);

  const active = document.activeElement;
  const hadFocus = active instanceof HTMLElement && $('fac-session-buttons').contains(active);
  $('fac-start-form').hidden = running;
  $('fac-closing').hidden = st.phase !== PHASE_OPEN;
  $('fac-end').hidden = !running;
  $('fac-session-buttons').hidden = !running;
  // A button that just disappeared (the session ended) must not take the focus with it.
  if (hadFocus && active.closest('[hidden]')) (running ? $('fac-end') : $('fac-start')).focus();

  $('fac-room-group').hidden = !running;
  $('fac-share-group').hidden = !running;
  $('fac-pin-group').hidden = !running;
  $('fac-not-running').hidden = running;

  setText($('fac-lock'), st.locked ? 'Unlock the group' : 'Lock the group');
  setText($('fac-lock-status'), st.locked
    ? 'Locked: people who arrive now wait until you let them in.'
    : 'Unlocked: members on the roster come straight in.');
  if (st.waitingRoom) setText($('fac-lock-status'), `${st.locked ? 'Locked' : 'Unlocked'}. This group has a waiting room, so newcomers always wait for you.`);

  const slow = $('fac-slow');
  if (document.activeElement !== slow) {
    const value = String(st.slowModeSec);
    if (![...slow.options].some((o) => o.value === value)) {
      slow.append(h('option', { text: `${st.slowModeSec} seconds`, attrs: { value } }));
    }
    slow.value = value;
  }
  setText($('fac-slow-status'), st.slowModeSec > 0 ? `Slow mode is on: ${slowModeText(st.slowModeSec)}.` : 'Slow mode is off.');

  const pinText = $('fac-pin-text');
  if (document.activeElement !== pinText && pinText.dataset.shown !== st.pin) {
    pinText.value = st.pin;
  }
  pinText.dataset.shown = st.pin;
  $('fac-unpin').hidden = st.pin === '';
  setText($('fac-pin'), st.pin ? 'Update pin' : 'Pin');
}

/** renderSharing draws the mode switch, the floor, the raised hands (each with Give floor) and the time guide. */
function renderSharing(room) {
  const st = room.state;
  if (!st || !sessionIsOpen(st.phase)) return;
  const share = room.share;
  const rounds = st.mode === MODE_ROUNDS;
  setText($('fac-mode-status'), rounds ? SHARE_TEXT.facModeRounds : SHARE_TEXT.facModeOpen);
  setText($('fac-mode'), rounds ? SHARE_TEXT.facToOpen : SHARE_TEXT.facToRounds);

  const floorName = share.floor ? nameIn(room, share.floor) : '';
  setText($('fac-floor-status'), share.floor ? SHARE_TEXT.facFloor(floorName) : SHARE_TEXT.facFloorFree);
  const endTurn = $('fac-end-turn');
  const endHadFocus = document.activeElement === endTurn;
  endTurn.hidden = !share.floor;
  if (share.floor) endTurn.setAttribute('aria-label', SHARE_TEXT.facEndTurnOf(floorName));
  if (endHadFocus && endTurn.hidden) $('fac-next').focus();

  // Raised hands only: "Give floor" exists for nobody else.
  const list = $('fac-queue');
  const active = document.activeElement;
  const focusLi = active instanceof Element && list.contains(active) ? active.closest('li[data-member-id]') : null;
  const items = share.queue.map((id) => {
    const name = nameIn(room, id);
    return h('li', { className: 'fac-queue-item', attrs: { 'data-member-id': id } },
      h('span', { className: 'fac-queue-name person-name', text: name, attrs: { dir: 'auto' } }),
      button(SHARE_TEXT.facGiveFloor, { className: 'button button--small button--primary', attrs: { 'data-action': 'give_floor', 'aria-label': SHARE_TEXT.facGiveFloorTo(name) } }));
  });
  list.replaceChildren(...items);
  list.hidden = items.length === 0;
  setText($('fac-queue-empty'), SHARE_TEXT.facQueueEmpty);
  $('fac-queue-empty').hidden = items.length > 0;
  if (focusLi) {
    // The person whose button had the focus may have left the queue (given the floor): stay near.
    const again = items.find((el) => el.dataset.memberId === focusLi.dataset.memberId);
    (again?.querySelector('button') ?? items[0]?.querySelector('button') ?? $('fac-next')).focus();
  }

  const timer = $('fac-share-timer');
  if (document.activeElement !== timer) {
    const value = String(st.shareTimerSec);
    if (![...timer.options].some((o) => o.value === value)) {
      timer.append(h('option', { text: timerLabel(st.shareTimerSec), attrs: { value } }));
    }
    timer.value = value;
  }
  setText($('fac-share-timer-status'), SHARE_TEXT.facTimerStatus(st.shareTimerSec));
}

function renderWaiting(room) {
  const waiting = room.waiting;
  const running = sessionIsOpen(room.state?.phase);
  setText($('waiting-count'), waiting.length ? `(${waiting.length})` : '');
  $('waiting-toggle').classList.toggle('disclosure--attention', waiting.length > 0);
  $('waiting-empty').hidden = waiting.length > 0;
  $('waiting-closed').hidden = waiting.length === 0 || running;
  $('admit-all').hidden = waiting.length < 2;

  const list = $('waiting-list');
  const active = document.activeElement;
  const focusLi = active instanceof Element && list.contains(active) ? active.closest('li[data-member-id]') : null;
  const focus = focusLi ? { id: focusLi.dataset.memberId, action: active.dataset.action } : null;
  const items = waiting.map((w) => {
    const name = w.display_name || 'Someone';
    const li = h('li', { className: 'waiting-person', attrs: { 'data-member-id': w.member_id } },
      h('p', { className: 'waiting-line' },
        h('span', { className: 'person-name', text: name, attrs: { dir: 'auto' } }),
        w.since ? h('span', { className: 'waiting-since', text: ` waiting since ${formatWhen(w.since)}` }) : null),
      h('div', { className: 'waiting-actions' },
        button('Admit', { className: 'button button--small button--primary', attrs: { 'data-action': 'admit', 'aria-label': `Admit ${name}` } }),
        button('Deny', { attrs: { 'data-action': 'deny', 'aria-label': `Deny ${name}` } })));
    return li;
  });
  list.replaceChildren(...items);
  if (focus) {
    const li = items.find((el) => el.dataset.memberId === focus.id);
    (li?.querySelector(`button[data-action="${focus.action}"]`) ?? $('waiting-toggle')).focus();
  }
}

/**
 * personAction opens the dialog behind one of the people list's facilitator
 * actions (warn, mute, remove, ban) or runs unmute. errorFor(text) shows a
 * sentence under that person.
 */
export function personAction(action, member, errorFor) {
  const name = member.display_name || 'this member';
  // The list is redrawn when the control takes effect, so the button that
  // opened the dialog may be gone: go back to that person's Actions button.
  const fallbackFocus = () => {
    for (const li of $('people-list').children) {
      if (li.dataset.memberId === member.member_id) return li.querySelector('button[data-action="toggle"]');
    }
    return $('people-toggle');
  };
  switch (action) {
    case 'warn':
      openDialog({
        title: `Warn ${name}`,
        text: `${name} alone sees this note, privately. Nobody else is told.`,
        fields: [{
          name: 'reason', label: 'What would you like them to know?', type: 'textarea', required: true,
          requiredMessage: 'Please write a reason: it is what they will read.', maxlength: MAX_REASON_CODE_POINTS,
          hint: `Up to ${MAX_REASON_CODE_POINTS} characters.`,
        }],
        confirmLabel: 'Send warning',
        onConfirm: ({ reason }) => ctx.send({ type: 'warn', member_id: member.member_id, reason: reason.trim() }),
        fallbackFocus,
      });
      break;
    case 'mute':
      openDialog({
        title: `Mute ${name}`,
        text: `${name} can still read the conversation and write privately to facilitators, but cannot send messages to the group.`,
        fields: [
          {
            name: 'minutes', label: 'For how long?', type: 'select', value: '15',
            options: [
              { value: '5', label: '5 minutes' }, { value: '15', label: '15 minutes' },
              { value: '60', label: '60 minutes' }, { value: '0', label: 'Until I unmute them' },
            ],
          },
          {
            name: 'reason', label: 'Reason (optional)', type: 'textarea', maxlength: MAX_REASON_CODE_POINTS,
            hint: `${name} will see this. Up to ${MAX_REASON_CODE_POINTS} characters.`,
          },
        ],
        confirmLabel: 'Mute',
        onConfirm: ({ minutes, reason }) => {
          const frame = { type: 'mute', member_id: member.member_id, minutes: Number(minutes) };
          if (reason.trim()) frame.reason = reason.trim();
          return ctx.send(frame);
        },
        fallbackFocus,
      });
      break;
    case 'unmute':
      ctx.send({ type: 'unmute', member_id: member.member_id }).catch((err) => errorFor(err?.message || 'That did not work.'));
      break;
    case 'remove':
      openDialog({
        title: `Remove ${name} from the group?`,
        text: `${name} leaves the room now. They may join again later.`,
        confirmLabel: 'Remove',
        danger: true,
        onConfirm: () => ctx.send({ type: 'remove', member_id: member.member_id }),
        fallbackFocus,
      });
      break;
    case 'ban':
      openDialog({
        title: `Ban ${name}?`,
        text: `${name} leaves the room now and cannot join this group again until a facilitator lifts the ban.`,
        confirmLabel: 'Ban',
        danger: true,
        onConfirm: () => ctx.send({ type: 'ban', member_id: member.member_id }),
        fallbackFocus,
      });
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------------------
// The audit log

const AUDIT_PAGE = 50;

/** The audit log as shown: its room, and the `before` of the next page ('' when none). */
const audit = { roomId: '', nextBefore: '' };

/** What each action did, in words (t is the target's name, 'someone' when none; e the entry). */
const AUDIT_WORDS = {
  create_room: () => 'created the group',
  add_member: (t) => `added ${t} to the group`,
  remove_member: (t) => `took ${t} off the group`,
  add_facilitator: (t) => `made ${t} a facilitator`,
  remove_facilitator: (t) => `ended ${t}’s role as facilitator`,
  create_invite: () => 'made an invite link',
  redeem_invite: () => 'joined with an invite link',
  leave_group: () => 'left the group',
  left_service: () => 'left the service; their data was erased',
  set_guidelines: () => 'changed the group agreement',
  admit: (t) => `let ${t} in`,
  admit_all: () => 'let everyone waiting in',
  deny: (t) => `turned ${t} away at the door`,
  warn: (t) => `warned ${t}`,
  mute: (t) => `muted ${t}`,
  unmute: (t) => `unmuted ${t}`,
  remove: (t) => `removed ${t} from the room`,
  ban: (t) => `banned ${t}`,
  unban: (t) => `lifted the ban on ${t}`,
  lock: () => 'locked the group',
  unlock: () => 'unlocked the group',
  slow_mode: () => 'changed slow mode',
  pin: () => 'pinned an announcement',
  unpin: () => 'removed the pinned announcement',
  start_session: () => 'started a session',
  begin_closing: () => 'began closing the session',
  end_session: () => 'ended the session',
  session_max: () => 'ended the session: it reached its longest allowed length',
  set_mode: () => 'changed the sharing mode',
  share_timer: () => 'changed the time for each turn',
  ack_alert: () => 'acknowledged a crisis alert',
  ack_report: () => 'acknowledged a report',
  delete_message: (t) => `deleted a message by ${t}`,
  dm: (t) => `wrote privately to ${t}`,
  release_name: (t) => `took back the name ${t} had been using`,
  denied: (t, e) => `was refused: ${String(e.command ?? 'an action').replaceAll('_', ' ')}`,
};

/** auditName is a member's name as known in the room, or their member id. */
function auditName(room, memberId) {
  if (memberId === 'system') return 'Automatically';
  const name = room?.nameOf(memberId) ?? '';
  return name || `member ${memberId}`;
}

/** auditSentence says one entry in words: "Dr. Lee muted Bob". */
export function auditSentence(room, e) {
  const actor = auditName(room, String(e.actor_member_id ?? ''));
  const target = e.target_member_id ? auditName(room, String(e.target_member_id)) : 'someone';
  const action = String(e.action ?? '');
  const words = AUDIT_WORDS[action]?.(target, e) ?? `${action.replaceAll('_', ' ')}${e.target_member_id ? ` (${target})` : ''}`;
  return actor === 'Automatically' ? `Automatically: ${words}` : `${actor} ${words}`;
}

/** loadAudit reads the first page of the audit log afresh, or (more) the next one. */
async function loadAudit(more) {
  const room = ctx.getRoom();
  if (!room) return;
  const control = more ? $('fac-audit-more') : $('fac-audit-load');
  const error = $('fac-audit-error');
  setText(error, '');
  const params = new URLSearchParams({ limit: String(AUDIT_PAGE) });
  if (more && audit.roomId === room.id && audit.nextBefore) params.set('before', audit.nextBefore);
  control.setAttribute('aria-disabled', 'true');
  let data;
  try {
    data = await restCall('GET', `/api/rooms/${encodeURIComponent(room.id)}/audit?${params}`, {
      token: ctx.token(),
      offline: 'The audit log could not be reached. Check your connection and try again.',
      fallback: 'The audit log could not be read. Please try again.',
    });
  } catch (err) {
    setText(error, err.message);
    return;
  } finally {
    control.removeAttribute('aria-disabled');
  }
  if (ctx.getRoom() !== room) return; // left meanwhile
  const entries = Array.isArray(data?.entries) ? data.entries : [];
  const list = $('fac-audit-list');
  const items = entries.map((e) => h('li', { className: 'fac-audit-item' },
    h('time', { className: 'fac-audit-time', text: formatWhen(e.at), attrs: { datetime: String(e.at ?? '') } }),
    ' ',
    h('span', { className: 'fac-audit-what', text: auditSentence(room, e), attrs: { dir: 'auto' } })));
  if (more && audit.roomId === room.id) list.append(...items);
  else list.replaceChildren(...items);
  audit.roomId = room.id;
  audit.nextBefore = typeof data?.next_before === 'string' ? data.next_before : '';
  list.hidden = list.children.length === 0;
  $('fac-audit-empty').hidden = list.children.length > 0;
  setText($('fac-audit-load'), 'Refresh audit log');
  const moreButton = $('fac-audit-more');
  const hadFocus = document.activeElement === moreButton;
  moreButton.hidden = audit.nextBefore === '';
  if (hadFocus && moreButton.hidden) $('fac-audit-load').focus();
  else if (more && items[0]) {
    // The first entry added takes the focus, so reading goes on from there.
    items[0].setAttribute('tabindex', '-1');
    items[0].focus();
  }
}

/** clearAudit takes the audit log off the page (out of the room). */
function clearAudit() {
  audit.roomId = '';
  audit.nextBefore = '';
  $('fac-audit-list').replaceChildren();
  $('fac-audit-list').hidden = true;
  $('fac-audit-empty').hidden = true;
  $('fac-audit-more').hidden = true;
  setText($('fac-audit-error'), '');
  setText($('fac-audit-load'), 'Show audit log');
}

/** waitingSentence announces newcomers at the door. */
export function waitingSentence(newcomers) {
  if (newcomers.length === 1) return `${newcomers[0].display_name || 'Someone'} is waiting to be let in.`;
  return `${plural(newcomers.length, 'person', 'people')} are waiting to be let in.`;
}
