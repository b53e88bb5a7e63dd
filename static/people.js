// people.js — the list of people present, with what this person may do
// about each of them:
//
//   members see "Message privately" on each facilitator, and "Show again"
//   on anyone they have hidden;
//   facilitators see an "Actions" disclosure on everyone else: Message
//   privately, and for members Warn…, Mute… / Unmute, Remove…, Ban….
//
// Muted members are marked (facilitators' view, from facilitator_state), in
// words; so are, for everyone, who has the floor ("sharing now"), raised
// hands ("hand raised") and observers ("listening"). The list is redrawn on every change; which action rows are open and
// where the keyboard focus was are kept across redraws.

import { h, $, setText, button, formatWhen } from './dom.js';
import { facilitates } from './room.js';
import { roleLabel } from './log.js';

/** @type {(action: string, member: object) => void} */
let onAction = () => {};
/** member_ids whose action row is open. */
const open = new Set();
/** member_id → a sentence under that person (a failed control). */
const errors = new Map();

/** initPeople wires the list (once, at start-up). */
export function initPeople(options) {
  onAction = options.onAction;
  const list = $('people-list');
  list.addEventListener('click', (event) => {
    const b = event.target instanceof Element ? event.target.closest('button[data-action]') : null;
    const li = b?.closest('li[data-member-id]');
    if (!b || !li) return;
    const memberId = li.dataset.memberId;
    if (b.dataset.action === 'toggle') {
      if (open.has(memberId)) open.delete(memberId);
      else open.add(memberId);
      const expanded = open.has(memberId);
      b.setAttribute('aria-expanded', String(expanded));
      li.querySelector('.person-actions').hidden = !expanded;
      // Opened at the bottom of a scrolling column: bring the actions into view.
      if (expanded) li.scrollIntoView({ block: 'nearest' });
      return;
    }
    setPersonError(memberId, '');
    onAction(b.dataset.action, { member_id: memberId, display_name: li.dataset.name, role: li.dataset.role });
  });
  list.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !(event.target instanceof Element)) return;
    const row = event.target.closest('.person-actions');
    const li = row?.closest('li[data-member-id]');
    if (!li) return;
    open.delete(li.dataset.memberId);
    row.hidden = true;
    const toggle = li.querySelector('button[data-action="toggle"]');
    toggle?.setAttribute('aria-expanded', 'false');
    toggle?.focus();
  });
}

/** setPersonError shows (or clears) a sentence under one person's entry. */
export function setPersonError(memberId, text) {
  if (text) errors.set(memberId, text);
  else errors.delete(memberId);
  for (const li of $('people-list').children) {
    if (li.dataset.memberId === memberId) setText(li.querySelector('.person-error'), text);
  }
}

/**
 * renderPeople draws the list.
 * @param {import('./room.js').RoomState|null} room
 * @param {Set<string>} hidden member_ids this person has hidden
 */
export function renderPeople(room, hidden) {
  const list = $('people-list');
  if (!room) {
    list.replaceChildren();
    setText($('people-count'), '');
    open.clear();
    errors.clear();
    return;
  }
  // Where the focus is, to put it back after the redraw.
  const active = document.activeElement;
  const focusLi = active instanceof Element && list.contains(active) ? active.closest('li[data-member-id]') : null;
  const focusMember = focusLi?.dataset.memberId ?? null;
  const focusAction = active instanceof HTMLElement ? active.dataset.action ?? null : null;

  for (const id of [...open]) if (!room.members.has(id)) open.delete(id);
  for (const id of [...errors.keys()]) if (!room.members.has(id)) errors.delete(id);

  const items = room.sortedMembers().map((m, i) => personItem(room, m, i, hidden));
  list.replaceChildren(...items);
  setText($('people-count'), `(${room.members.size})`);

  if (focusMember !== null) {
    const li = items.find((el) => el.dataset.memberId === focusMember);
    const target = (li && (li.querySelector(`button[data-action="${focusAction}"]`) ?? li.querySelector('button[data-action="toggle"]') ?? li.querySelector('button')))
      ?? $('people-toggle');
    target.focus();
  }
}

/** shareTags marks, in words, who has the floor, whose hand is raised and who is listening. */
function shareTags(room, memberId) {
  const tags = [];
  if (room.share.floor === memberId) tags.push(h('span', { className: 'tag tag--floor', text: 'sharing now' }));
  if (room.handPosition(memberId) > 0) tags.push(h('span', { className: 'tag tag--hand', text: 'hand raised' }));
  if (room.share.observers.has(memberId)) tags.push(h('span', { className: 'tag tag--listening', text: 'listening' }));
  return tags;
}

function personItem(room, m, index, hidden) {
  const isFac = facilitates(m.role);
  const you = room.isYou(m.member_id);
  const name = m.display_name || 'Someone';
  const li = h('li', { className: isFac ? 'person person--facilitator' : 'person', attrs: { 'data-member-id': m.member_id, 'data-role': m.role } });
  li.dataset.name = name;

  const mute = room.facilitating ? room.muted.get(m.member_id) : null;
  const line = h('div', { className: 'person-line' },
    h('span', { className: 'person-name', text: name, attrs: { dir: 'auto' } }),
    you ? h('span', { className: 'person-you', text: ' (you)' }) : null,
    h('span', { className: 'visually-hidden', text: ', ' }),
    h('span', { className: isFac ? 'badge badge--facilitator' : 'person-role', text: roleLabel(m.role) }),
    mute ? h('span', { className: 'tag tag--muted', text: mute.until ? `Muted until ${formatWhen(mute.until)}` : 'Muted until unmuted' }) : null,
    hidden.has(m.member_id) ? h('span', { className: 'tag', text: 'Hidden by you' }) : null,
    ...shareTags(room, m.member_id),
  );
  li.append(line);
  if (you) return li;

  if (room.facilitating) {
    const rowId = `person-actions-${index}`;
    const expanded = open.has(m.member_id);
    const toggle = button('Actions', {
      className: 'button button--small person-toggle',
      attrs: { 'data-action': 'toggle', 'aria-expanded': String(expanded), 'aria-controls': rowId, 'aria-label': `Actions for ${name}` },
    });
    line.append(toggle);
    const actions = [['dm', 'Message privately', `Message privately to ${name}`]];
    if (!isFac) {
      actions.push(['warn', 'Warn…', `Warn ${name}…`]);
      actions.push(mute ? ['unmute', 'Unmute', `Unmute ${name}`] : ['mute', 'Mute…', `Mute ${name}…`]);
      actions.push(['remove', 'Remove…', `Remove ${name}…`], ['ban', 'Ban…', `Ban ${name}…`]);
    }
    li.append(h('div', { className: 'person-actions', attrs: { id: rowId, hidden: !expanded } },
      ...actions.map(([action, label, aria]) => button(label, {
        className: action === 'ban' || action === 'remove' ? 'button button--small button--danger-outline' : 'button button--small',
        attrs: { 'data-action': action, 'aria-label': aria },
      }))));
  } else {
    const actions = [];
    if (isFac) actions.push(['dm', 'Message privately', `Message privately to ${name}`]);
    if (hidden.has(m.member_id)) actions.push(['unhide', 'Show again', `Show again: ${name}’s messages`]);
    if (actions.length) {
      li.append(h('div', { className: 'person-actions' },
        ...actions.map(([action, label, aria]) => button(label, { attrs: { 'data-action': action, 'aria-label': aria } }))));
    }
  }
  li.append(h('p', { className: 'field-error person-error', text: errors.get(m.member_id) ?? '', attrs: { 'aria-live': 'polite' } }));
  return li;
}
