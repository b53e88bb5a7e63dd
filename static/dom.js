// dom.js — small, safe DOM helpers.
//
// Everything that comes from people (message text, display names) or from
// the server is put on the page as text only: these helpers use textContent
// and never innerHTML, so "<img src=x onerror=alert(1)>" shows as those
// characters. Styling goes through classes only (the page is served with
// Content-Security-Policy: default-src 'self', which forbids inline styles).

/**
 * h creates an element.
 *   h('p', {className: 'note', text: 'Hello'})
 *   h('li', {attrs: {dir: 'auto'}}, child1, 'some text', child2)
 * Children may be nodes or strings (strings become text nodes). Only the
 * attributes named in `attrs` are set, with setAttribute (never `style` or
 * event-handler attributes: callers pass fixed names, not user input).
 */
export function h(tag, { className = '', text, attrs = {} } = {}, ...children) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) el.setAttribute(name, value === true ? '' : String(value));
  }
  if (text !== undefined) el.textContent = String(text);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** $ returns the element with this id, failing loudly if the page lacks it. */
export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`hearth: #${id} is missing from index.html`);
  return el;
}

/** setText replaces an element's content with plain text. */
export function setText(el, text) {
  el.textContent = text ?? '';
}

/** formatClock returns the local time of an RFC 3339 timestamp as HH:MM (24-hour), or '' if unreadable. */
export function formatClock(ts) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** formatFullTime returns a longer local date and time for a tooltip, or ''. */
export function formatFullTime(ts) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
