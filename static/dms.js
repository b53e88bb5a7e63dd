// dms.js — the private-messages panel: one conversation per person
// (facilitators: one per member they write with; members: one per
// facilitator), never mixed into the group's conversation.
//
// The thread data lives in RoomState.dms (room.js); this module draws it.
// Each thread has its own log element, created once and shown or hidden, so
// that switching threads does not make screen readers read a whole thread
// out again. A private message that arrives while its thread is not in view
// is counted as unread: the count is shown on the thread's button and on the
// panel's heading, and a notice above the conversation says who wrote, with
// a button that opens the thread (never the text itself: someone may be
// looking over the person's shoulder). On a phone the panel is below the
// message box, out of sight: the notice is how the person learns of it.
//
// DMs are never stored: leaving, or the session ending, clears them.

import { h, $, setText, formatClock, formatFullTime } from './dom.js';
import { codePoints, facilitates, MAX_TEXT_CODE_POINTS } from './room.js';
import { addNotice, removeNotice } from './notices.js';

/** @type {{send: (frame: object) => Promise<any>, getRoom: () => any}} */
let ctx = null;
/** member_id of the thread in view (or the last chosen). */
let selectedId = '';
/** member_id → the thread's log element. */
const logs = new Map();
let sending = false;

/** initDms wires the panel (once, at start-up). */
export function initDms(context) {
  ctx = context;
  $('dm-toggle').addEventListener('click', () => setExpanded($('dm-toggle').getAttribute('aria-expanded') !== 'true'));
  $('dm-threads').addEventListener('click', (event) => {
    const b = event.target instanceof Element ? event.target.closest('button[data-member-id]') : null;
    if (b) selectThread(b.dataset.memberId, { focus: false });
  });
  $('dm-form').addEventListener('submit', onSubmit);
  $('dm-text').addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    $('dm-form').requestSubmit();
  });
  $('dm-section').addEventListener('focusin', () => markSelectedRead());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') markSelectedRead();
  });
}

function expanded() {
  return $('dm-toggle').getAttribute('aria-expanded') === 'true';
}

/** setExpanded opens or closes the panel. */
export function setExpanded(open) {
  $('dm-toggle').setAttribute('aria-expanded', String(open));
  $('dm-body').hidden = !open;
  if (open) markSelectedRead();
}

/**
 * inView reports whether the person is looking at a thread now: it is the
 * one shown, the panel is open, the tab is visible, and the person is in the
 * panel (the focus is inside it). A private message arriving while they are
 * busy in the group conversation stays marked unread until they come to it.
 */
function inView(memberId) {
  return expanded() && selectedId === memberId && document.visibilityState === 'visible'
    && $('dm-section').contains(document.activeElement);
}

/**
 * onDm handles a `dm` event: file it, draw it, and mark it unread unless its
 * thread is in view.
 */
export function onDm(event) {
  const room = ctx.getRoom();
  const added = room?.addDm(event);
  if (!added) return;
  const { thread, item } = added;
  if (!selectedId || !room.dms.has(selectedId)) selectedId = thread.member_id;
  logFor(thread).append(dmItem(thread, item));
  if (!item.fromYou && !inView(thread.member_id)) {
    thread.unread += 1;
    const name = thread.display_name || 'someone';
    addNotice({
      key: dmNoticeKey(thread.member_id),
      title: `New private message from ${name}.`,
      actions: [{ label: 'Open', ariaLabel: `Open the private messages with ${name}`, onClick: () => openDmWith(thread.member_id) }],
    });
  }
  renderDms();
  scrollToEnd(thread.member_id);
}

/** openDmWith opens the panel on the thread with a member and puts the focus in its text box. */
export function openDmWith(memberId) {
  const room = ctx.getRoom();
  if (!room?.dmThread(memberId)) return;
  removeNotice(dmNoticeKey(memberId));
  setExpanded(true);
  selectThread(memberId, { focus: true });
  $('dm-section').scrollIntoView({ block: 'nearest' });
}

function selectThread(memberId, { focus }) {
  selectedId = memberId;
  markSelectedRead();
  renderDms();
  if (focus) {
    const text = $('dm-text');
    if (!text.disabled) text.focus();
    else $('dm-thread-title').focus();
  }
}

/** dmNoticeKey is the key of the notice about unread private messages from a member. */
function dmNoticeKey(memberId) {
  return `dm:${memberId}`;
}

function markSelectedRead() {
  const thread = ctx?.getRoom()?.dms.get(selectedId);
  if (thread && thread.unread > 0 && inView(selectedId)) {
    thread.unread = 0;
    removeNotice(dmNoticeKey(selectedId));
    renderDms();
  }
  if (thread && inView(selectedId)) scrollToEnd(selectedId);
}

function scrollToEnd(memberId) {
  const log = logs.get(memberId);
  if (log && !log.hidden) log.scrollTop = log.scrollHeight;
}

/** logFor returns (creating once) the log element of a thread. */
function logFor(thread) {
  let log = logs.get(thread.member_id);
  if (!log) {
    log = h('div', { className: 'dm-log', attrs: { role: 'log', 'aria-live': 'polite', 'aria-labelledby': 'dm-thread-title', tabindex: '0', hidden: true } });
    logs.set(thread.member_id, log);
    $('dm-logs').append(log);
  }
  return log;
}

function dmItem(thread, item) {
  const name = item.fromYou ? 'You' : (thread.display_name || 'Someone');
  return h('div', { className: item.fromYou ? 'dm dm--own' : 'dm' },
    h('p', { className: 'msg-meta' },
      h('span', { className: 'msg-author', text: name, attrs: { dir: 'auto' } }),
      h('span', { className: 'visually-hidden', text: ', ' }),
      item.ts ? h('time', { className: 'msg-time', text: formatClock(item.ts), attrs: { datetime: item.ts, title: formatFullTime(item.ts) } }) : null,
      h('span', { className: 'visually-hidden', text: ':' })),
    h('p', { className: 'msg-text', text: item.text, attrs: { dir: 'auto' } }));
}

/** renderDms draws the thread list, the thread in view and the unread markers. */
export function renderDms() {
  const room = ctx.getRoom();
  const section = $('dm-section');
  if (!room || !room.you) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  const facilitating = room.facilitating;

  // Members may write to every facilitator present: offer those threads even before a first message.
  if (!facilitating) {
    for (const m of room.members.values()) {
      if (facilitates(m.role) && !room.isYou(m.member_id)) room.dmThread(m.member_id);
    }
  }
  const threads = [...room.dms.values()];
  if (!room.dms.has(selectedId)) selectedId = threads[0]?.member_id ?? '';

  setText($('dm-intro'), facilitating
    ? 'Seen only by you and the other person; not saved. Start one from a person’s Actions in the people list.'
    : 'Seen only by you and the facilitator; not saved.');
  if (!facilitating && threads.length === 0) setText($('dm-intro'), 'You can write privately to a facilitator once one is here. These messages are not saved.');

  // Redrawing the thread buttons must not lose the keyboard focus.
  const active = document.activeElement;
  const focusId = active instanceof HTMLElement && $('dm-threads').contains(active) ? active.dataset.memberId : null;
  $('dm-threads').replaceChildren(...threads.map((t) => {
    const present = room.members.has(t.member_id);
    const name = t.display_name || 'Someone';
    return h('li', {},
      h('button', {
        className: 'dm-thread-button',
        attrs: { type: 'button', 'data-member-id': t.member_id, 'aria-current': t.member_id === selectedId ? 'true' : undefined },
      },
      h('span', { className: 'dm-thread-name', text: name, attrs: { dir: 'auto' } }),
      present ? null : h('span', { className: 'dm-thread-away', text: ' (not here)' }),
      t.unread > 0 ? h('span', { className: 'unread', text: `${t.unread} new` }) : null));
  }));
  $('dm-threads').hidden = threads.length === 0;
  if (focusId) {
    const again = [...$('dm-threads').querySelectorAll('button')].find((b) => b.dataset.memberId === focusId);
    (again ?? $('dm-toggle')).focus();
  }

  const total = room.unreadDms();
  const badge = $('dm-unread');
  badge.hidden = total === 0;
  setText(badge, total > 0 ? `${total} new` : '');

  const thread = room.dms.get(selectedId);
  $('dm-thread').hidden = !thread;
  for (const [id, log] of logs) log.hidden = id !== selectedId;
  if (!thread) return;
  logFor(thread).hidden = false;
  const name = thread.display_name || 'Someone';
  setText($('dm-thread-title'), `Private conversation with ${name}`);
  setText($('dm-label'), `Private message to ${name}`);
  const present = room.members.has(thread.member_id);
  const absent = $('dm-absent');
  absent.hidden = present;
  setText(absent, present ? '' : `${name} is not in the group right now, so they cannot receive private messages.`);
  $('dm-text').disabled = !present;
  $('dm-send').disabled = !present;
  $('dm-empty').hidden = thread.items.length > 0;
}

async function onSubmit(event) {
  event.preventDefault();
  const room = ctx.getRoom();
  const thread = room?.dms.get(selectedId);
  const textarea = $('dm-text');
  const text = textarea.value;
  if (!thread || sending || text.trim() === '') return;
  const length = codePoints(text);
  if (length > MAX_TEXT_CODE_POINTS) {
    setError(`A message can be at most ${MAX_TEXT_CODE_POINTS} characters long. This one has ${length}.`);
    return;
  }
  sending = true;
  $('dm-send').setAttribute('aria-disabled', 'true');
  setError('');
  try {
    await ctx.send({ type: 'dm', member_id: thread.member_id, text });
    if (textarea.value === text) textarea.value = '';
  } catch (err) {
    setError(err?.message || 'Your private message was not sent. Please try again.');
  } finally {
    sending = false;
    $('dm-send').removeAttribute('aria-disabled');
  }
}

function setError(text) {
  setText($('dm-error'), text);
  if (text) $('dm-text').setAttribute('aria-invalid', 'true');
  else $('dm-text').removeAttribute('aria-invalid');
}

/** clearDms forgets every private message on the page. */
export function clearDms() {
  for (const log of logs.values()) log.remove();
  logs.clear();
  selectedId = '';
  $('dm-text').value = '';
  setError('');
  $('dm-thread').hidden = true;
  $('dm-threads').replaceChildren();
  $('dm-unread').hidden = true;
}
