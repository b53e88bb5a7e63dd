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

/** True once wipePage has emptied the page ("Leave quickly"). */
let wiped = false;

/**
 * $ returns the element with this id, failing loudly if the page lacks it.
 * After wipePage, it returns a detached element instead: code still running
 * in the moment before the page is replaced draws nowhere and does not fail.
 */
export function $(id) {
  const el = document.getElementById(id);
  if (!el) {
    if (wiped) return document.createElement('div');
    throw new Error(`hearth: #${id} is missing from index.html`);
  }
  return el;
}

/**
 * wipePage takes everything off the page at once — every text, name,
 * message, dialog — and gives the tab a plain title.
 */
export function wipePage(title) {
  wiped = true;
  document.body.replaceChildren();
  document.title = title;
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

/**
 * formatWhen returns a local time for a sentence: "18:45" today,
 * "18:45 tomorrow", or a short date and time further away; '' if unreadable.
 */
export function formatWhen(ts, now = new Date()) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  const clock = formatClock(ts);
  const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((day(d) - day(now)) / 86_400_000);
  if (days === 0) return clock;
  if (days === 1) return `${clock} tomorrow`;
  return d.toLocaleString(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** minutesUntil returns whole minutes from now until ts (rounded up; negative once past), or NaN. */
export function minutesUntil(ts, now = Date.now()) {
  const t = new Date(ts).getTime();
  if (Number.isNaN(t)) return NaN;
  return Math.ceil((t - now) / 60_000);
}

/** button creates a <button type="button"> with text and optional class and attributes. */
export function button(text, { className = 'button button--small', attrs = {} } = {}) {
  return h('button', { className, text, attrs: { type: 'button', ...attrs } });
}

/** plural returns "1 minute" / "5 minutes". */
export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
