// notices.js — private notices above the conversation, and announcements
// for screen readers.
//
// A notice is for this person only (a facilitator's warning, being muted, a
// report for facilitators, "the session ends in 10 minutes"). Notices live in
// two live regions: #notices-polite for most, #notices-assertive only for
// being muted (being removed changes the whole screen instead). Each can be
// dismissed; dismissing moves the focus to the next notice, or to a
// fallback, never to nowhere.
//
// announce() speaks a short sentence through a visually hidden live region
// without showing anything (for changes already visible elsewhere, such as a
// new private message marked unread).
//
// Text from the server goes in as text only.

import { h, $, button, setText } from './dom.js';

/** @type {() => HTMLElement|null} where focus goes when the last notice is dismissed */
let fallbackFocus = () => null;

/** initNotices sets where the focus goes after the last notice is dismissed. */
export function initNotices({ focusFallback }) {
  fallbackFocus = focusFallback;
}

/**
 * addNotice shows a notice, replacing any notice with the same key.
 * @param {object} o
 * @param {string} o.key
 * @param {'info'|'warn'|'alert'|'ok'} [o.tone]
 * @param {string} o.title
 * @param {string} [o.text]
 * @param {string} [o.quote]            quoted text (a reported message)
 * @param {string} [o.label]            a small tag such as "Only facilitators see this"
 * @param {boolean} [o.assertive]       announce at once (being muted)
 * @param {{label: string, onClick: (notice: HTMLElement) => void, ariaLabel?: string}[]} [o.actions]
 * @param {boolean} [o.dismissible]     default true
 * @param {Record<string,string>} [o.data] data-* attributes (for example the message a report is about)
 * @param {number} [o.fadeAfterMs]      remove by itself after this long (simple confirmations only)
 * @returns {HTMLElement}
 */
export function addNotice(o) {
  removeNotice(o.key, { moveFocus: false });
  const tone = o.tone ?? 'info';
  const actions = (o.actions ?? []).map((a) => {
    const b = button(a.label, { attrs: { 'aria-label': a.ariaLabel } });
    b.addEventListener('click', () => a.onClick(notice));
    return b;
  });
  if (o.dismissible !== false) {
    const dismiss = button('Dismiss', { attrs: { 'aria-label': `Dismiss: ${o.title}` } });
    dismiss.addEventListener('click', () => removeNotice(o.key, { moveFocus: true }));
    actions.push(dismiss);
  }
  const notice = h('div', { className: `notice notice--${tone}`, attrs: { 'data-key': o.key } },
    h('p', { className: 'notice-title' },
      h('span', { text: o.title }),
      o.label ? h('span', { className: 'notice-label', text: o.label }) : null),
    o.text ? h('p', { className: 'notice-text', text: o.text, attrs: { dir: 'auto' } }) : null,
    o.quote ? h('blockquote', { className: 'quote', text: o.quote, attrs: { dir: 'auto' } }) : null,
    actions.length ? h('div', { className: 'notice-actions' }, ...actions) : null,
  );
  for (const [k, v] of Object.entries(o.data ?? {})) notice.dataset[k] = v;
  $(o.assertive ? 'notices-assertive' : 'notices-polite').append(notice);
  if (o.fadeAfterMs) {
    // A simple confirmation ("Your report was sent") goes away by itself,
    // unless the person is on it.
    const later = () => {
      if (!notice.isConnected) return;
      if (notice.contains(document.activeElement)) setTimeout(later, 5_000);
      else removeNotice(o.key);
    };
    setTimeout(later, o.fadeAfterMs);
  }
  return notice;
}

/** findNotice returns the notice with this key, or null. */
export function findNotice(key) {
  for (const n of allNotices()) if (n.dataset.key === key) return n;
  return null;
}

/** allNotices lists the notices shown now, assertive ones first. */
export function allNotices() {
  return [...$('notices-assertive').children, ...$('notices-polite').children];
}

/** removeNotice removes the notice with this key; with moveFocus, the focus goes to the next one. */
export function removeNotice(key, { moveFocus = false } = {}) {
  const notice = findNotice(key);
  if (!notice) return;
  const list = allNotices();
  const index = list.indexOf(notice);
  const hadFocus = notice.contains(document.activeElement);
  notice.remove();
  if (!moveFocus && !hadFocus) return;
  const rest = allNotices();
  const next = rest[Math.min(index, rest.length - 1)];
  const target = next?.querySelector('button') ?? fallbackFocus();
  target?.focus();
}

/** clearNotices removes every notice (leaving the room, the session ending). */
export function clearNotices() {
  $('notices-polite').replaceChildren();
  $('notices-assertive').replaceChildren();
}

/**
 * announce speaks a sentence through a hidden live region. The region is
 * emptied first, so the same sentence twice is spoken twice.
 */
export function announce(text, { assertive = false } = {}) {
  const region = $(assertive ? 'announce-assertive' : 'announce-polite');
  setText(region, '');
  setTimeout(() => setText(region, text), 50);
}
