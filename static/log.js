// log.js — the conversation log: messages, quiet notes, and the actions on
// each message.
//
// Each message has an "Options" button (a disclosure, reachable by
// keyboard) that reveals the actions this person may take on it:
//   members, on someone else's message: Report, Hide this person;
//   members, on their own message:     Delete;
//   facilitators, on any message:       Delete.
// The click is handed to the onAction callback given to initLog, which
// sends the command; the log itself knows nothing of the connection.
// Under each message's text sit its reactions (reactions.js).
//
// Everything from people goes in as text (dom.js), never as markup.

import { h, $, button, formatClock, formatFullTime } from './dom.js';
import { facilitates, ROLE_FACILITATOR } from './room.js';
import { reactionBar } from './reactions.js';

/**
 * Whether the log follows new items: true while the person is at (or near)
 * the bottom; false once they scroll up to read, so nothing jumps under them.
 */
let followLog = true;
let nextActionsId = 1;

/** @type {(action: string, target: object) => void} */
let onAction = () => {};

/** roleLabel names a role in words (colour is only ever a second cue). */
export function roleLabel(role) {
  if (role === ROLE_FACILITATOR) return 'Facilitator';
  if (role === 'co_facilitator') return 'Co-facilitator';
  if (role === 'member') return 'Member';
  return role.charAt(0).toUpperCase() + role.slice(1).replace(/_/g, ' ');
}

/** initLog wires scrolling and the message actions (once, at start-up). */
export function initLog(options) {
  onAction = options.onAction;
  const log = $('log');
  log.addEventListener('scroll', () => {
    followLog = log.scrollHeight - log.scrollTop - log.clientHeight < 96;
  }, { passive: true });
  log.addEventListener('click', onLogClick);
  log.addEventListener('keydown', onLogKeydown);
}

/** appendToLog adds an item and keeps the view at the bottom if it was there. */
function appendToLog(item, { forceScroll = false } = {}) {
  const log = $('log');
  $('log-empty').hidden = true;
  log.append(item);
  if (followLog || forceScroll) {
    log.scrollTop = log.scrollHeight;
    followLog = true;
  }
}

/**
 * addMessage shows a `message` event.
 * @param {object} event the message event
 * @param {import('./room.js').RoomState} room
 * @param {{hidden?: boolean}} [opts] hidden: the author is hidden by this person
 */
export function addMessage(event, room, { hidden = false } = {}) {
  const from = event.from && typeof event.from === 'object' ? event.from : {};
  const own = room.isYou(from.member_id);
  const facilitator = facilitates(from.role);
  const name = typeof from.display_name === 'string' && from.display_name !== '' ? from.display_name : 'Someone';
  const ts = typeof event.ts === 'string' ? event.ts : '';
  const text = typeof event.text === 'string' ? event.text : '';

  const meta = h('p', { className: 'msg-meta' },
    h('span', { className: 'msg-author', text: name, attrs: { dir: 'auto' } }),
    own ? h('span', { className: 'msg-you', text: ' (you)' }) : null,
    facilitator ? h('span', { className: 'badge badge--facilitator', text: roleLabel(from.role) }) : null,
    h('span', { className: 'visually-hidden', text: ', ' }),
    ts ? h('time', { className: 'msg-time', text: formatClock(ts), attrs: { datetime: ts, title: formatFullTime(ts) } }) : null,
    h('span', { className: 'visually-hidden', text: ':' }),
  );
  const body = h('p', { className: 'msg-text', text, attrs: { dir: 'auto' } });

  let className = 'msg';
  if (own) className += ' msg--own';
  if (facilitator) className += ' msg--facilitator';
  const item = h('div', { className, attrs: { 'data-message-id': event.message_id, 'data-author-id': from.member_id } });
  item.dataset.authorName = name;

  const reactions = typeof event.message_id === 'string' && event.message_id !== ''
    ? [reactionBar(room, event.message_id, name, own)] : [];
  const actions = messageActions(room, own);
  if (actions.length > 0 && typeof event.message_id === 'string') {
    const id = `msg-actions-${nextActionsId++}`;
    const more = h('button', {
      className: 'msg-more',
      attrs: { type: 'button', 'aria-expanded': 'false', 'aria-controls': id, 'aria-label': own ? 'Options for your message' : `Options for the message from ${name}`, 'data-action': 'more' },
    }, h('span', { className: 'msg-more-dots', text: '⋯', attrs: { 'aria-hidden': 'true' } }));
    item.append(h('div', { className: 'msg-head' }, meta, more), body, ...reactions,
      h('div', { className: 'msg-actions', attrs: { id, hidden: true } },
        ...actions.map(([action, label]) => button(label, { attrs: { 'data-action': action } }))),
      h('p', { className: 'field-error msg-error', attrs: { 'aria-live': 'polite' } }));
  } else {
    item.append(meta, body, ...reactions, h('p', { className: 'field-error msg-error', attrs: { 'aria-live': 'polite' } }));
  }
  if (hidden) item.hidden = true;
  appendToLog(item, { forceScroll: own });
}

/** messageActions lists [action, label] pairs for a message, by the viewer's role. */
function messageActions(room, own) {
  if (room.facilitating) return [['delete', own ? 'Delete' : 'Delete for everyone']];
  if (own) return [['delete', 'Delete']];
  return [['report', 'Report'], ['hide', 'Hide this person']];
}

function onLogClick(event) {
  const b = event.target instanceof Element ? event.target.closest('button[data-action]') : null;
  if (!b) return;
  const item = b.closest('.msg');
  if (b.dataset.action === 'more') {
    setActionsOpen(item, b.getAttribute('aria-expanded') !== 'true');
    return;
  }
  if (b.closest('.note')) return; // note buttons have their own handlers
  if (!item) return;
  setMessageError(item, '');
  onAction(b.dataset.action, {
    messageId: item.dataset.messageId,
    authorId: item.dataset.authorId,
    authorName: item.dataset.authorName,
    text: item.querySelector('.msg-text')?.textContent ?? '',
    element: item,
  });
}

/** Escape inside a message's actions closes them and returns to its Options button. */
function onLogKeydown(event) {
  if (event.key !== 'Escape' || !(event.target instanceof Element)) return;
  const actions = event.target.closest('.msg-actions');
  if (!actions) return;
  const item = actions.closest('.msg');
  setActionsOpen(item, false);
  item.querySelector('.msg-more')?.focus();
}

function setActionsOpen(item, open) {
  const more = item?.querySelector('.msg-more');
  const actions = item?.querySelector('.msg-actions');
  if (!more || !actions) return;
  more.setAttribute('aria-expanded', String(open));
  actions.hidden = !open;
  if (open) item.scrollIntoView({ block: 'nearest' });
}

/** setMessageError shows a sentence under a message (a failed delete, report, hide). */
export function setMessageError(item, text) {
  const error = item?.querySelector('.msg-error');
  if (error) error.textContent = text;
}

/** findMessage returns the element of a message on the page, or null. */
export function findMessage(messageId) {
  for (const el of $('log').querySelectorAll('.msg')) {
    if (el.dataset.messageId === messageId) return el;
  }
  return null;
}

/** removeMessage takes a message off the page; focus inside it goes to the log. */
export function removeMessage(messageId) {
  const item = findMessage(messageId);
  if (!item) return false;
  const hadFocus = item.contains(document.activeElement);
  item.remove();
  showEmptyIfEmpty();
  if (hadFocus) $('log').focus();
  return true;
}

/** setAuthorHidden hides or shows again, on this page, every message of one person. */
export function setAuthorHidden(memberId, hidden) {
  for (const el of $('log').querySelectorAll('.msg')) {
    if (el.dataset.authorId === memberId) {
      if (hidden && el.contains(document.activeElement)) $('log').focus();
      el.hidden = hidden;
    }
  }
}

/**
 * addNote adds a quiet line to the log: joins, leaves, reconnects, gaps,
 * changes of the room's state. With action, the note carries one button.
 */
export function addNote(text, extraClass = '', action = null) {
  const note = h('p', { className: `note ${extraClass}`.trim(), text });
  if (action) {
    const b = button(action.label, { attrs: { 'aria-label': action.ariaLabel } });
    b.addEventListener('click', () => action.onClick(note, b));
    note.append(' ', b);
  }
  appendToLog(note);
  return note;
}

function showEmptyIfEmpty() {
  const log = $('log');
  const empty = $('log-empty');
  empty.hidden = [...log.children].some((c) => c !== empty);
}

/** clearLog removes the whole conversation from the page. */
export function clearLog() {
  const empty = $('log-empty');
  empty.hidden = false;
  $('log').replaceChildren(empty);
  followLog = true;
}
