// share.js — sharing in the group (docs/protocol.md, "Sharing: modes, the
// share queue, the floor, observers, reactions"):
//
//   * the Sharing bar above the conversation, for everyone: the room's mode
//     in plain words ("Open sharing" / "Taking turns"), who has the floor,
//     a calm countdown when the turn has a soft time box ("about 2 min
//     left", refreshed quietly, never flashing), and the raised hands in
//     order;
//   * a member's own controls in that bar: Raise hand / Lower hand (or
//     "I'm finished" while holding the floor), Pass (always there, always
//     quiet: only the person who passed is ever told), and how they are
//     here: "Taking part" or "Just listening" (`set_presence`);
//   * what the message box says when it cannot be used: while listening,
//     and in "Taking turns" for a member without the floor;
//   * the private `timer_elapsed` notice (the speaker and facilitators only);
//   * every sentence about sharing, in SHARE_TEXT (facilitator.js draws the
//     facilitators' controls with them, roomstate.js the log notes).
//
// Nobody is ever made to share: nothing here (nor anywhere in the client)
// can put someone else's hand up, give the floor to someone who did not
// raise their hand, or change someone else's presence. Changes to the queue
// and the floor are told through one polite live region (#share-live); the
// bar itself is not live, so the countdown does not keep talking. Who passed
// is never shown or announced: to everyone else a pass looks exactly like a
// lowered hand or an ended turn, and this client does not announce those.
//
// Text from people and the server goes in as text only (dom.js).

import { $, h, setText, plural } from './dom.js';
import {
  MODE_ROUNDS, PRESENCE_OBSERVER, PRESENCE_PARTICIPANT, sessionIsOpen,
} from './room.js';
import { addNotice, removeNotice } from './notices.js';

// ---------------------------------------------------------------------------
// Wording (one place for every sentence about sharing)

export const SHARE_TEXT = {
  modeOpen: 'Open sharing',
  modeRounds: 'Taking turns',
  modeOpenNote: 'Open sharing: anyone taking part can write.',
  modeRoundsNote: 'The group is now taking turns: one person shares at a time. You can raise your hand if you’d like to share.',
  timerNote: (seconds) => `Each turn now has a gentle time guide of ${timerLabel(seconds)}. Nothing is cut off.`,
  timerOffNote: 'Turns no longer have a time guide.',

  floorYou: 'It’s your turn',
  floorOther: (name) => `Sharing now: ${name}`,
  floorFree: 'Nobody is sharing right now',
  queueLabel: 'Hands raised:',
  queueEmpty: 'none',
  timeLeft: (ms) => (ms >= 30_000 ? `about ${Math.max(1, Math.round(ms / 60_000))} min left` : 'less than a minute left'),
  timeReached: 'suggested time reached — no rush',

  raiseHand: 'Raise hand',
  lowerHand: 'Lower hand',
  finished: 'I’m finished',
  pass: 'Pass',
  passHint: 'You never have to share. Pass any time — only you see it.',
  participant: 'Taking part',
  observer: 'Just listening',
  presenceLabel: 'You are:',
  handUp: (position) => (position === 1 ? 'Your hand is raised: you’re next.' : `Your hand is raised: ${ordinal(position)} in line.`),
  holding: 'You have the floor. Take the time you need.',
  observingWhy: 'You’re just listening: writing and raising your hand are off. Reactions and Pass still work.',

  passed: 'You passed — that’s always OK.',
  passedText: 'Nobody else is told. You can raise your hand whenever you’re ready, or not at all.',
  nowListening: 'You’re just listening now. You can still react and pass, and switch back at any time.',
  nowTakingPart: 'You’re taking part now.',

  composerObserving: 'You’re just listening, so writing is off. Choose “Taking part” above to write or raise your hand.',
  composerTurn: (name) => `It’s ${name}’s turn. You can raise your hand to share next.`,
  composerTurnHandUp: (name) => `It’s ${name}’s turn. Your hand is raised: you can write when it’s your turn.`,
  composerNobody: 'The group is taking turns. You can raise your hand to share next.',
  composerNobodyHandUp: 'The group is taking turns. Your hand is raised: you can write when it’s your turn.',
  composerYourTurn: 'It’s your turn. Take the time you need. Enter sends; Shift + Enter starts a new line.',
  composerFacilitator: 'The group is taking turns; as a facilitator you can always write. Enter sends.',

  sayYourTurn: 'It’s your turn to share. Take the time you need.',
  sayTurnEnded: 'Your turn has ended. Thank you for sharing.',
  saySharing: (name) => `${name} is sharing now.`,
  sayFloorFree: 'Nobody is sharing right now.',
  sayRaised: (name) => `${name} raised a hand.`,
  sayHandUp: (position) => `Your hand is raised. ${position === 1 ? 'You’re next.' : `You’re ${ordinal(position)} in line.`}`,
  sayHandDown: 'Your hand is lowered.',

  timerYou: 'Your time is up — take the time you need to finish.',
  timerYouText: 'Nothing is cut off. When you’re done, you can choose “I’m finished”.',
  timerFacilitator: (name) => `${name}’s suggested time is up`,
  timerFacilitatorText: (name) => `${name} has a gentle note too; nobody else is told. Nothing is cut off: when it feels right, you can move on with “End turn” or “Next speaker”.`,
  onlyYou: 'Only you see this',
  onlyFacilitators: 'Only facilitators see this',

  // Facilitators' controls (facilitator.js).
  facModeOpen: 'Open sharing: anyone taking part can write.',
  facModeRounds: 'Taking turns: only the person with the floor, and facilitators, can write.',
  facToRounds: 'Start taking turns',
  facToOpen: 'Back to open sharing',
  facFloor: (name) => `${name} has the floor.`,
  facFloorFree: 'Nobody has the floor.',
  facQueueEmpty: 'No hands raised. Members raise their own hands; nobody is put forward.',
  facGiveFloor: 'Give floor',
  // Accessible names start with the visible words ("Give floor", "End turn"), so
  // that speech control ("click Give floor") works (WCAG 2.5.3 Label in Name).
  facGiveFloorTo: (name) => `Give floor to ${name}`,
  facNext: 'Next speaker',
  facNextHint: 'Gives the floor to the first raised hand.',
  facEndTurn: 'End turn',
  facEndTurnOf: (name) => `End turn for ${name}`,
  facTimerStatus: (seconds) => (seconds > 0
    ? `Each turn has a gentle guide of ${timerLabel(seconds)} (for turns that start from now on). Nothing is cut off.`
    : 'Turns have no time guide.'),
};

/** The share timer choices offered to facilitators, in seconds (0 = off). */
export const SHARE_TIMER_CHOICES = [0, 60, 120, 180, 300];

/** modeLabel names a room mode in plain words. */
export function modeLabel(mode) {
  return mode === MODE_ROUNDS ? SHARE_TEXT.modeRounds : SHARE_TEXT.modeOpen;
}

/** timerLabel says a share timer briefly: "Off", "1 minute", "90 seconds". */
export function timerLabel(seconds) {
  if (!seconds) return 'Off';
  if (seconds % 60 === 0) return plural(seconds / 60, 'minute');
  return plural(seconds, 'second');
}

/** ordinal: 2 → "2nd". */
function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** nameIn returns a member's display name in the room, or "Someone". */
export function nameIn(room, memberId) {
  return room?.nameOf(memberId) || 'Someone';
}

/**
 * shareStateNotes turns changes of the room's mode and share timer (from
 * RoomState.applyState) into sentences for the conversation log.
 */
export function shareStateNotes(st, changes) {
  if (!st || !changes || changes.phase || !sessionIsOpen(st.phase)) return [];
  const notes = [];
  if (changes.mode) notes.push(st.mode === MODE_ROUNDS ? SHARE_TEXT.modeRoundsNote : SHARE_TEXT.modeOpenNote);
  if (changes.shareTimer) notes.push(st.shareTimerSec > 0 ? SHARE_TEXT.timerNote(st.shareTimerSec) : SHARE_TEXT.timerOffNote);
  return notes;
}

// ---------------------------------------------------------------------------
// The message box

/**
 * composerBlock says why this person cannot write to the group now because
 * of sharing — {reason: 'observer'|'turn', text} — or returns null.
 * Facilitators can always write.
 */
export function composerBlock(room) {
  if (!room?.you || room.facilitating || !sessionIsOpen(room.state?.phase)) return null;
  if (room.observing) return { reason: 'observer', text: SHARE_TEXT.composerObserving };
  if (room.state.mode !== MODE_ROUNDS || room.holdingFloor) return null;
  const handUp = room.handPosition(room.you.member_id) > 0;
  const floor = room.share.floor;
  if (floor) {
    const name = nameIn(room, floor);
    return { reason: 'turn', text: handUp ? SHARE_TEXT.composerTurnHandUp(name) : SHARE_TEXT.composerTurn(name) };
  }
  return { reason: 'turn', text: handUp ? SHARE_TEXT.composerNobodyHandUp : SHARE_TEXT.composerNobody };
}

/** composerHint returns the message box's hint in "Taking turns" when it can be used, or ''. */
export function composerHint(room) {
  if (!room?.you || room.state?.mode !== MODE_ROUNDS || !sessionIsOpen(room.state.phase)) return '';
  if (room.facilitating) return SHARE_TEXT.composerFacilitator;
  if (room.holdingFloor) return SHARE_TEXT.composerYourTurn;
  return '';
}

/** focusAfterBlock returns where the keyboard focus goes when the message box stops being usable. */
export function focusAfterBlock() {
  const hand = $('share-hand');
  if (!$('share').hidden && !hand.hidden && !hand.disabled) return hand;
  if (!$('share').hidden) return $('share-heading');
  return null;
}

// ---------------------------------------------------------------------------
// State of this module (memory only)

/**
 * @type {{
 *   send: (frame: object) => Promise<any>,
 *   getRoom: () => any,
 *   setPresence: (as: string) => void,
 * }}
 */
let ctx = null;
/** The room drawn last (for the countdown's refresh). */
let shown = null;
let tick = 0;
/**
 * Until when changes to one's own hand and turn are not announced: this
 * person's own action (lower hand, pass, "I'm finished") is confirmed by that
 * action itself.
 */
let ownActionUntil = 0;

/** initShare wires the member's controls (once, at start-up). */
export function initShare(context) {
  ctx = context;
  setText($('share-queue-label'), SHARE_TEXT.queueLabel);
  setText($('share-done'), SHARE_TEXT.finished);
  setText($('share-pass'), SHARE_TEXT.pass);
  setText($('share-pass-hint'), SHARE_TEXT.passHint);
  setText($('presence-label'), SHARE_TEXT.presenceLabel);
  setText($('presence-participant'), SHARE_TEXT.participant);
  setText($('presence-observer'), SHARE_TEXT.observer);
  $('share-hand').addEventListener('click', (event) => {
    const room = ctx.getRoom();
    if (!room?.you) return;
    const up = room.handPosition(room.you.member_id) > 0;
    if (!up && room.observing) return;
    if (up) ownActionUntil = Date.now() + 5_000;
    run({ type: up ? 'lower_hand' : 'raise_hand' }, event.currentTarget);
  });
  $('share-done').addEventListener('click', (event) => {
    ownActionUntil = Date.now() + 5_000;
    run({ type: 'end_turn' }, event.currentTarget);
  });
  $('share-pass').addEventListener('click', async (event) => {
    ownActionUntil = Date.now() + 5_000;
    if (await run({ type: 'pass' }, event.currentTarget)) {
      addNotice({
        key: 'passed', tone: 'ok', title: SHARE_TEXT.passed, text: SHARE_TEXT.passedText,
        label: SHARE_TEXT.onlyYou, fadeAfterMs: 20_000,
      });
    }
  });
  for (const [id, as] of [['presence-participant', PRESENCE_PARTICIPANT], ['presence-observer', PRESENCE_OBSERVER]]) {
    $(id).addEventListener('click', async (event) => {
      const room = ctx.getRoom();
      if (!room?.you || (as === PRESENCE_OBSERVER) === room.observing) return;
      if (as === PRESENCE_OBSERVER) ownActionUntil = Date.now() + 5_000;
      if (await run({ type: 'set_presence', as }, event.currentTarget)) {
        ctx.setPresence(as);
        say(as === PRESENCE_OBSERVER ? SHARE_TEXT.nowListening : SHARE_TEXT.nowTakingPart);
      }
    });
  }
}

/**
 * run sends a member's command; while it is out the button says so (a
 * second press is ignored), and a refusal shows the server's sentence under
 * the controls. Resolves true on success.
 */
async function run(frame, control) {
  if (control.getAttribute('aria-disabled') === 'true') return false;
  setText($('share-error'), '');
  control.setAttribute('aria-disabled', 'true');
  try {
    await ctx.send(frame);
    return true;
  } catch (err) {
    setText($('share-error'), err?.message || 'That did not work. Please try again.');
    return false;
  } finally {
    control.removeAttribute('aria-disabled');
  }
}

/**
 * say speaks a sentence through the Sharing bar's polite live region
 * (emptied first, so a repeat is spoken), and empties it again a little
 * later: read afterwards, an old "Your hand is raised" would be wrong.
 */
let sayClear = 0;
function say(text) {
  const region = $('share-live');
  setText(region, '');
  clearTimeout(sayClear);
  setTimeout(() => setText(region, text), 50);
  sayClear = setTimeout(() => { if (region.textContent === text) setText(region, ''); }, 8000);
}

// ---------------------------------------------------------------------------
// Events

/**
 * announceShareChanges tells, politely, what a `queue` event changed: who
 * has the floor now, and whose hand went up. Lowered hands and ended turns
 * of others are not announced (the bar shows them), so a pass is never
 * singled out.
 */
export function announceShareChanges(room, changes) {
  if (!changes || !room?.you) return;
  const me = room.you.member_id;
  const { prev, next } = changes;
  const own = Date.now() < ownActionUntil;
  const parts = [];
  if (changes.floor) {
    removeNotice('timer-elapsed');
    if (prev.floor === me && next.floor !== me && !own) parts.push(SHARE_TEXT.sayTurnEnded);
    if (next.floor === me) parts.push(SHARE_TEXT.sayYourTurn);
    else if (next.floor) parts.push(SHARE_TEXT.saySharing(nameIn(room, next.floor)));
    else if (prev.floor && prev.floor !== me) parts.push(SHARE_TEXT.sayFloorFree);
  }
  if (changes.queue) {
    const before = new Set(prev.queue);
    for (const id of next.queue) {
      if (before.has(id)) continue;
      parts.push(id === me ? SHARE_TEXT.sayHandUp(next.queue.indexOf(id) + 1) : SHARE_TEXT.sayRaised(nameIn(room, id)));
    }
    if (before.has(me) && !next.queue.includes(me) && next.floor !== me && !own) parts.push(SHARE_TEXT.sayHandDown);
  }
  if (parts.length > 0) say(parts.join(' '));
}

/**
 * onTimerElapsed: the turn's soft time box ran out. The speaker and the
 * facilitators (nobody else) get it; it is said gently and nothing stops.
 */
export function onTimerElapsed(event, room) {
  // A late notice about a turn that has already ended: nothing to say.
  if (typeof event.member_id !== 'string' || room.share.floor !== event.member_id) return;
  if (room.isYou(event.member_id)) {
    addNotice({ key: 'timer-elapsed', tone: 'info', title: SHARE_TEXT.timerYou, text: SHARE_TEXT.timerYouText, label: SHARE_TEXT.onlyYou });
  } else if (room.facilitating) {
    addNotice({
      key: 'timer-elapsed', tone: 'info', title: SHARE_TEXT.timerFacilitator(nameIn(room, event.member_id)),
      text: SHARE_TEXT.timerFacilitatorText(nameIn(room, event.member_id)), label: SHARE_TEXT.onlyFacilitators,
    });
  }
}

// ---------------------------------------------------------------------------
// Drawing

/** renderShare draws the Sharing bar and the member's controls (hidden outside an open session). */
export function renderShare(room) {
  shown = room;
  const st = room?.state ?? null;
  const open = Boolean(room?.you) && st !== null && sessionIsOpen(st.phase);
  $('share').hidden = !open;
  if (!open) {
    stopTick();
    setText($('share-error'), '');
    return;
  }
  const share = room.share;
  const rounds = st.mode === MODE_ROUNDS;

  const mode = $('share-mode');
  setText(mode, modeLabel(st.mode));
  mode.className = rounds ? 'chip chip--mode chip--rounds' : 'chip chip--mode';

  // Who has the floor (always said in "Taking turns"; in open sharing only when someone has it).
  const floorLine = $('share-floor');
  floorLine.hidden = !share.floor && !rounds;
  setText($('share-floor-text'), share.floor
    ? (room.isYou(share.floor) ? SHARE_TEXT.floorYou : SHARE_TEXT.floorOther(nameIn(room, share.floor)))
    : SHARE_TEXT.floorFree);
  floorLine.classList.toggle('share-floor--you', room.isYou(share.floor));
  renderTimer();
  if (share.floor && share.timerSec > 0) startTick();
  else stopTick();

  // The raised hands, in order.
  const queue = $('share-queue');
  queue.replaceChildren(...share.queue.map((id) => h('li', { className: room.isYou(id) ? 'share-hand share-hand--you' : 'share-hand' },
    h('span', { text: nameIn(room, id), attrs: { dir: 'auto' } }),
    room.isYou(id) ? h('span', { className: 'person-you', text: ' (you)' }) : null)));
  queue.hidden = share.queue.length === 0;
  setText($('share-queue-empty'), share.queue.length === 0 ? SHARE_TEXT.queueEmpty : '');
  $('share-queue-empty').hidden = share.queue.length > 0;
  $('share-queue-line').hidden = share.queue.length === 0 && !rounds;

  renderMemberControls(room);
}

/** renderMemberControls draws Raise hand / Lower hand / I'm finished, Pass and the presence switch (members only). */
function renderMemberControls(room) {
  const member = !room.facilitating;
  $('share-member').hidden = !member;
  if (!member) return;
  const me = room.you.member_id;
  const position = room.handPosition(me);
  const holding = room.holdingFloor;
  const observing = room.observing;

  const hand = $('share-hand');
  const done = $('share-done');
  const hadFocus = document.activeElement === hand || document.activeElement === done;
  hand.hidden = holding;
  done.hidden = !holding;
  setText(hand, position > 0 ? SHARE_TEXT.lowerHand : SHARE_TEXT.raiseHand);
  hand.classList.toggle('button--hand-up', position > 0);
  // While listening, raising a hand is off (a raised hand was lowered by the server anyway).
  hand.disabled = observing && position === 0;
  if (hadFocus) {
    // The button that had the focus may have changed into the other one, or been disabled.
    const target = holding ? done : hand;
    (target.disabled ? $('share-pass') : target).focus();
  }

  $('presence-participant').setAttribute('aria-pressed', String(!observing));
  $('presence-observer').setAttribute('aria-pressed', String(observing));

  let why = '';
  if (observing) why = SHARE_TEXT.observingWhy;
  else if (holding) why = SHARE_TEXT.holding;
  else if (position > 0) why = SHARE_TEXT.handUp(position);
  setText($('share-you'), why);
  $('share-you').hidden = why === '';
  $('share').classList.toggle('share--listening', observing);
}

/** renderTimer writes the countdown of a timed turn: calm words, no live region, no flashing. */
function renderTimer() {
  const el = $('share-timer');
  const share = shown?.share;
  if (!share || !share.floor || !share.timerSec || !share.turnAnchor) {
    el.hidden = true;
    setText(el, '');
    return;
  }
  const leftMs = share.turnAnchor + share.timerSec * 1000 - Date.now();
  // Time reached is for the speaker and the facilitators only (as the
  // server's timer_elapsed is): the rest of the group is never told.
  const told = shown.facilitating || shown.you?.member_id === share.floor;
  if (leftMs <= 0 && !told) {
    el.hidden = true;
    setText(el, '');
    return;
  }
  el.hidden = false;
  setText(el, ` · ${leftMs > 0 ? SHARE_TEXT.timeLeft(leftMs) : SHARE_TEXT.timeReached}`);
}

function startTick() {
  if (tick) return;
  tick = setInterval(renderTimer, 10_000);
}

function stopTick() {
  clearInterval(tick);
  tick = 0;
}
