// reactions.js — supportive reactions under each message (docs/protocol.md,
// "Supportive reactions").
//
// Under every message: one button for each reaction of the fixed, kind set
// (heart, support, thanks, me too, strength), showing an emoji and how many
// people gave it — never who. A button is pressed (aria-pressed) when this
// person has given that reaction, as the `ok` to `react` says (`mine`);
// pressing it again takes the reaction back. Counts come from `reactions`
// events and replace what was shown (applying one twice changes nothing).
//
// Each message's buttons are one toolbar with a single Tab stop: the arrow
// keys (and Home / End) move between them, so the conversation does not
// become a long walk through buttons. Each button's accessible name says
// what it does and the count ("Send heart, 2 so far"); the emoji is hidden
// from screen readers. A refused reaction shows the server's sentence under
// that message, like the message's other actions.

import { h, $, setText } from './dom.js';
import { REACTIONS } from './room.js';

/** How each reaction looks and is named (one place for this wording). */
const REACTION_TEXT = {
  heart: { emoji: '❤️', word: 'Heart', send: 'Send heart' },
  support: { emoji: '🤗', word: 'Support', send: 'Send support' },
  thanks: { emoji: '🙏', word: 'Thanks', send: 'Send thanks' },
  me_too: { emoji: '🫂', word: 'Me too', send: 'Send “me too”' },
  strength: { emoji: '💪', word: 'Strength', send: 'Send strength' },
};

/** @type {{send: (frame: object) => Promise<any>, getRoom: () => any}} */
let ctx = null;

/** initReactions wires clicks and the arrow keys in the conversation log (once, at start-up). */
export function initReactions(context) {
  ctx = context;
  const log = $('log');
  log.addEventListener('click', onClick);
  log.addEventListener('keydown', onKeydown);
  // The button last focused in a toolbar is its Tab stop.
  log.addEventListener('focusin', (event) => {
    const b = reactionButton(event.target);
    if (b) setTabStop(b);
  });
}

/**
 * reactionBar builds the toolbar for a message.
 * @param {import('./room.js').RoomState} room
 * @param {string} messageId
 * @param {string} authorName
 * @param {boolean} own the message is this person's own
 */
export function reactionBar(room, messageId, authorName, own) {
  const bar = h('div', {
    className: 'reactions',
    attrs: {
      role: 'toolbar',
      'aria-label': own ? 'Reactions to your message' : `Reactions to ${authorName}’s message`,
      'data-message-id': messageId,
    },
  }, ...REACTIONS.map((name, i) => h('button', {
    className: 'reaction',
    attrs: { type: 'button', 'data-reaction': name, tabindex: i === 0 ? '0' : '-1', title: REACTION_TEXT[name].word },
  },
  h('span', { className: 'reaction-emoji', text: REACTION_TEXT[name].emoji, attrs: { 'aria-hidden': 'true' } }),
  h('span', { className: 'reaction-word', text: REACTION_TEXT[name].word, attrs: { 'aria-hidden': 'true' } }),
  h('span', { className: 'reaction-count', attrs: { 'aria-hidden': 'true' } }))));
  drawBar(bar, room.reactions.get(messageId));
  return bar;
}

/** drawBar writes counts and pressed states into a toolbar. */
function drawBar(bar, entry) {
  for (const b of bar.querySelectorAll('button[data-reaction]')) {
    const name = b.dataset.reaction;
    const count = entry?.counts[name] ?? 0;
    const mine = entry?.mine.has(name) === true;
    b.setAttribute('aria-pressed', String(mine));
    b.setAttribute('aria-label', count > 0 ? `${REACTION_TEXT[name].send}, ${count} so far` : REACTION_TEXT[name].send);
    b.classList.toggle('reaction--counted', count > 0);
    setText(b.querySelector('.reaction-count'), count > 0 ? String(count) : '');
  }
}

/** findBar returns a message's toolbar on the page, or null. */
function findBar(messageId) {
  for (const bar of $('log').querySelectorAll('.reactions')) {
    if (bar.dataset.messageId === messageId) return bar;
  }
  return null;
}

/** redrawReactions brings a message's toolbar up to date with the room. */
export function redrawReactions(room, messageId) {
  const bar = findBar(messageId);
  if (bar) drawBar(bar, room.reactions.get(messageId));
}

/** onReactions handles a `reactions` event (counts only). */
export function onReactions(event, room) {
  const id = room.applyReactions(event);
  if (id) redrawReactions(room, id);
}

function reactionButton(target) {
  return target instanceof Element ? target.closest('.reactions button[data-reaction]') : null;
}

function setTabStop(b) {
  for (const other of b.closest('.reactions').querySelectorAll('button[data-reaction]')) {
    other.setAttribute('tabindex', other === b ? '0' : '-1');
  }
}

async function onClick(event) {
  const b = reactionButton(event.target);
  if (!b || b.getAttribute('aria-disabled') === 'true') return;
  const room = ctx.getRoom();
  const bar = b.closest('.reactions');
  const messageId = bar?.dataset.messageId;
  if (!room || !messageId) return;
  const reaction = b.dataset.reaction;
  const error = bar.closest('.msg')?.querySelector('.msg-error');
  if (error) setText(error, '');
  b.setAttribute('aria-disabled', 'true');
  try {
    const reply = await ctx.send({ type: 'react', message_id: messageId, reaction });
    if (ctx.getRoom() !== room) return;
    // `mine` lists the reactions this person now has on the message (absent: none).
    room.setMyReactions(messageId, Array.isArray(reply?.mine) ? reply.mine : []);
    redrawReactions(room, messageId);
  } catch (err) {
    if (error) setText(error, err?.message || 'That did not work. Please try again.');
  } finally {
    b.removeAttribute('aria-disabled');
  }
}

/** Arrow keys, Home and End move within a message's reactions. */
function onKeydown(event) {
  const b = reactionButton(event.target);
  if (!b) return;
  const buttons = [...b.closest('.reactions').querySelectorAll('button[data-reaction]')];
  const i = buttons.indexOf(b);
  let next = -1;
  if (event.key === 'ArrowRight' || event.key === 'ArrowDown') next = (i + 1) % buttons.length;
  else if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') next = (i - 1 + buttons.length) % buttons.length;
  else if (event.key === 'Home') next = 0;
  else if (event.key === 'End') next = buttons.length - 1;
  if (next < 0) return;
  event.preventDefault();
  setTabStop(buttons[next]);
  buttons[next].focus();
}
