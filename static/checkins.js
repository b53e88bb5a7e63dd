// checkins.js — between-session check-ins (README, "Check-ins between
// sessions"; docs/protocol.md). Groups meet once a week; in between, a
// member says how they are doing — a mood and, if they like, a few words —
// and the facilitators see who may be struggling before the next session.
//
//   * The check-in page (#screen-checkin, route #checkin) needs no live
//     session: it speaks REST (/api/checkins, /api/rooms/…) with the token
//     the page holds in memory. It says plainly that check-ins are not
//     watched in real time, and shows the "Get help now" resources beside
//     the form (crisis.js renderHelpInto).
//   * The form: a mood (radios, with the server's words: GET
//     /api/checkins/moods — never written here), the note (counted to 500
//     characters), who can read it, and for which groups (default: all).
//     A refusal shows the server's sentence next to the field it concerns.
//     A note that trips the crisis detector brings `resources` in the
//     answer: the crisis panel opens, as for the live crisis card.
//   * "My check-ins": newest first, "Show more", Delete (confirmed first).
//   * Each group the person facilitates: the summary (latest mood, trend in
//     words, days since the last check-in, a calm flag for an open crisis
//     alert) and the group's check-ins. Each group they are a member of:
//     what others shared with the group.
//   * Live (`checkin` events): the page brings itself up to date; in the
//     room, facilitators see them in a side section, members a quiet line
//     in the conversation for the group-visible ones of their room.
//
// Nothing is ever stored in the browser. Text from people and the server is
// put on the page as text only.

import { h, $, setText, button, formatFullTime, formatClock, plural } from './dom.js';
import { codePoints, facilitates } from './room.js';
import { openDialog } from './dialog.js';
import { restCall } from './rest.js';
import { announce } from './notices.js';
import { addNote } from './log.js';
import { renderHelpInto, showCheckinResources, noteCheckinPosting } from './crisis.js';

/** The longest note, in code points after trimming and NFC (the server's MaxCheckInNoteRunes). */
export const MAX_NOTE_CODE_POINTS = 500;

/** How many of one's own check-ins, and of a group's, one page shows. */
const PAGE_SIZE = 20;

/** How many live check-ins the room's side section keeps (memory only). */
const MAX_LIVE = 30;

/** Sentences shown to people, kept in one place. */
const TEXT = {
  loading: 'Loading…',
  leadMember: 'How have you been since the last session? A number and, if you like, a few words.',
  leadFacilitator: 'How the members of your groups have been doing between sessions.',
  watchMember: 'Facilitators read check-ins when they can — they are not watched around the clock. If you need help now, use the numbers under “Get help now” on this page.',
  watchFacilitator: 'Members are told that facilitators read check-ins when they can — they are not watched around the clock — and are shown the numbers to call if they need help now.',
  somethingWrong: 'Something went wrong. Please try again.',
  offline: 'We could not reach Hearth. Please check your connection and try again.',
  lostPost: 'The connection dropped before an answer came, so we cannot tell whether your check-in was saved. Look under “My check-ins” before sending it again.',
  chooseMood: 'Please choose how you are doing.',
  chooseRoom: 'Please choose at least one group.',
  noRooms: 'You are not in a group yet. Once a facilitator adds you to one, you can check in here.',
  savedTitle: 'Thank you for checking in.',
  savedFacilitators: 'Your facilitators will read it when they can.',
  savedGroup: 'Your facilitators and your group can read it.',
  savedHelp: 'Support you can reach right now is under “Get help now” on this page.',
  deleted: 'Your check-in was deleted.',
  noName: 'No name yet',
  someone: 'Someone',
  alertFlag: 'Open alert',
  alertLegend: '“Open alert”: a crisis alert about this member has not been acknowledged yet. Reach out when you can, then acknowledge it under Alerts in the group.',
};

/** Who can read a check-in, in words. */
const VISIBILITY_TEXT = {
  facilitators: 'Only your facilitators',
  group: 'Your facilitators and your group',
};
const VISIBILITY_TEXT_FACILITATOR = {
  facilitators: 'Facilitators only',
  group: 'Shared with the group',
};

/** A trend's direction in words (an arrow beside them is decoration). */
const TREND = {
  rising: { word: 'Rising', arrow: '↗' },
  falling: { word: 'Falling', arrow: '↘' },
  steady: { word: 'Steady', arrow: '→' },
};

/** Error codes of POST /api/checkins, by the field they concern. */
const FIELD_OF_CODE = {
  invalid_mood: 'mood',
  note_too_long: 'note',
  invalid_note: 'note',
  invalid_visibility: 'visibility',
  not_in_room: 'rooms',
};

/**
 * @type {{
 *   token: () => string,
 *   getRoom: () => any,
 *   onBack: () => void,
 * }}
 */
let ctx = null;

/** The page's state, in memory only. */
const page = {
  /** Bumped by every load, so that answers to an older one are dropped. */
  generation: 0,
  /** @type {{value: number, label: string}[]|null} the mood scale, from the server */
  moods: null,
  /** The rooms of GET /api/rooms. */
  rooms: [],
  /** Rooms unticked in the form (ticked is the default), by id. */
  unticked: new Set(),
  /** My check-ins shown, newest first, and the cursor of the next page ('' for none). */
  mine: [],
  mineNext: '',
  mineLoading: false,
  posting: false,
  /** room id → the view of one group (see roomView). */
  views: new Map(),
  /** Whether the note was over the limit at the last keystroke (to say so once). */
  noteOver: false,
};

/** Live check-ins for the room's side section (facilitators), newest first, and the ids seen. */
const live = { items: [], seen: new Set() };

// ---------------------------------------------------------------------------
// REST

/**
 * api makes one REST call with the bearer token (or, signed in through the
 * identity provider, the session cookie) and resolves with the JSON
 * answer (null for 204). It rejects with an Error whose message is the
 * server's sentence (or ours when there is none), with `code` and `status`.
 */
async function api(method, path, body) {
  return restCall(method, path, { token: ctx.token(), body, offline: TEXT.offline, fallback: TEXT.somethingWrong });
}

// ---------------------------------------------------------------------------
// Start-up and the page

/** initCheckins wires the page and the room's side section (once, at start-up). */
export function initCheckins(context) {
  ctx = context;
  renderHelpInto($('checkin-help-list'), $('checkin-help-danger'));
  $('checkin-back').addEventListener('click', () => ctx.onBack());
  $('checkin-form').addEventListener('submit', onSubmit);
  $('checkin-note').addEventListener('input', updateCounter);
  $('checkin-mood-options').addEventListener('change', () => clearFieldError('mood'));
  $('checkin-room-options').addEventListener('change', (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement)) return;
    if (box.checked) page.unticked.delete(box.value);
    else page.unticked.add(box.value);
    clearFieldError('rooms');
  });
  $('checkin-more').addEventListener('click', () => loadMine(false));
  $('checkin-mine').addEventListener('click', onMineClick);
  $('checkins-toggle').addEventListener('click', () => {
    setCheckinsExpanded($('checkins-toggle').getAttribute('aria-expanded') !== 'true');
  });
  updateCounter();
}

/** pageShown reports whether the check-in page is on screen. */
function pageShown() {
  return !$('screen-checkin').hidden;
}

/**
 * openCheckinPage (re)loads what the page shows: the mood scale, the
 * person's groups, their check-ins and each group's view. What was typed
 * in the form stays.
 */
/** loadMoods fetches the mood scale once (its words live on the server). */
async function loadMoods() {
  page.moods ??= readMoods((await api('GET', '/api/checkins/moods'))?.moods);
  return page.moods;
}

export async function openCheckinPage() {
  const gen = ++page.generation;
  setLoading(TEXT.loading);
  let moods;
  let rooms;
  try {
    [moods, rooms] = await Promise.all([
      loadMoods(),
      api('GET', '/api/rooms').then((b) => (Array.isArray(b?.rooms) ? b.rooms.filter(validRoom) : [])),
    ]);
  } catch (err) {
    if (gen !== page.generation) return;
    setLoading(err.message, { retry: true });
    return;
  }
  if (gen !== page.generation) return;
  page.moods = moods;
  page.rooms = rooms;
  setLoading('');
  drawForm();
  drawRoomViews(gen);
  await loadMine(true, gen);
}

function readMoods(moods) {
  if (!Array.isArray(moods)) throw new Error(TEXT.somethingWrong);
  const out = moods.filter((m) => m && Number.isSafeInteger(m.value) && typeof m.label === 'string' && m.label !== '');
  if (out.length === 0) throw new Error(TEXT.somethingWrong);
  return out;
}

function validRoom(r) {
  return r && typeof r === 'object' && typeof r.id === 'string' && r.id !== '';
}

function roomName(id) {
  const r = page.rooms.find((x) => x.id === id);
  return r && typeof r.name === 'string' && r.name.trim() !== '' ? r.name : id;
}

/** The rooms the person may check in with: those they are a member of (facilitating does not count). */
function memberRooms() {
  return page.rooms.filter((r) => r.your_role === 'member');
}

/** setLoading shows a line above the page's sections (empty: none), with "Try again" after a failure. */
function setLoading(text, { retry = false } = {}) {
  const el = $('checkin-loading');
  setText(el, text);
  if (retry) {
    const again = button('Try again');
    again.addEventListener('click', () => openCheckinPage());
    el.append(' ', again);
  }
}

/** The highest mood ("3 of 5"). */
function moodMax() {
  return page.moods && page.moods.length ? Math.max(...page.moods.map((m) => m.value)) : 0;
}

/** moodBadge shows a mood in words, with its place on the scale; the dots are decoration. */
function moodBadge(mood, label) {
  const max = moodMax();
  const dots = h('span', { className: 'mood-dots', attrs: { 'aria-hidden': 'true' } });
  for (let i = 1; i <= max; i++) dots.append(h('span', { className: i <= mood ? 'mood-dot mood-dot--on' : 'mood-dot' }));
  return h('span', { className: 'mood-badge' },
    max ? dots : null,
    h('span', { className: 'mood-word', text: label || String(mood) }),
    max ? h('span', { className: 'mood-of', text: ` (${mood} of ${max})` }) : null);
}

/** timeEl is a <time> saying when, in the person's own time: "Today, 18:45", "Yesterday, 09:10", "Tue 3 Dec, 18:45". */
function timeEl(ts) {
  return h('time', { className: 'checkin-time', text: dayAndTime(ts), attrs: { datetime: ts, title: formatFullTime(ts) } });
}

export function dayAndTime(ts, now = new Date()) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((day(now) - day(d)) / 86_400_000);
  if (days === 0) return `Today, ${formatClock(ts)}`;
  if (days === 1) return `Yesterday, ${formatClock(ts)}`;
  return `${d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' })}, ${formatClock(ts)}`;
}

function dateOnly(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleDateString(undefined, { day: 'numeric', month: 'long' });
}

// ---------------------------------------------------------------------------
// The form

function drawForm() {
  const rooms = memberRooms();
  const onlyFacilitating = rooms.length === 0 && page.rooms.some((r) => facilitates(r.your_role));
  $('checkin-new').hidden = onlyFacilitating;
  $('checkin-not-member').hidden = !onlyFacilitating;
  // A facilitator reads check-ins; a member writes them.
  setText($('checkin-title'), onlyFacilitating ? 'Check-ins' : 'Check in');
  setText($('checkin-lead'), onlyFacilitating ? TEXT.leadFacilitator : TEXT.leadMember);
  setText($('checkin-watch'), onlyFacilitating ? TEXT.watchFacilitator : TEXT.watchMember);

  // The moods, with the server's words; a choice already made stays.
  const chosen = $('checkin-form').querySelector('input[name="mood"]:checked')?.value ?? '';
  $('checkin-mood-options').replaceChildren(...page.moods.map((m) => {
    const id = `checkin-mood-${m.value}`;
    const input = h('input', { attrs: { id, type: 'radio', name: 'mood', value: m.value } });
    input.checked = String(m.value) === chosen;
    return h('div', { className: 'mood-option' },
      input,
      h('label', { attrs: { for: id } },
        h('span', { className: 'mood-option-value', text: String(m.value) }),
        h('span', { className: 'mood-option-label', text: m.label })));
  }));

  // The groups: all ticked unless the person unticked one.
  const names = new Map();
  for (const r of rooms) names.set(roomName(r.id), (names.get(roomName(r.id)) ?? 0) + 1);
  $('checkin-room-options').replaceChildren(...rooms.map((r) => {
    const id = `checkin-room-${r.id}`;
    const input = h('input', { attrs: { id, type: 'checkbox', name: 'rooms', value: r.id } });
    input.checked = !page.unticked.has(r.id);
    const name = roomName(r.id);
    return h('div', { className: 'choice-option' },
      input,
      h('label', { attrs: { for: id } },
        h('span', { text: name, attrs: { dir: 'auto' } }),
        names.get(name) > 1 ? h('span', { className: 'label-aside', text: ` (${r.id})` }) : null));
  }));
  $('checkin-rooms').hidden = rooms.length === 0;
  if (rooms.length === 0) setFieldError('form', TEXT.noRooms);
  else if ($('checkin-error').textContent === TEXT.noRooms) setFieldError('form', '');
}

/** updateCounter says how long the note is, and when it is too long (once, politely). */
function updateCounter() {
  const n = codePoints($('checkin-note').value.trim());
  const over = n > MAX_NOTE_CODE_POINTS;
  const counter = $('checkin-note-count');
  setText(counter, over
    ? `${n} of ${MAX_NOTE_CODE_POINTS} characters — ${plural(n - MAX_NOTE_CODE_POINTS, 'character')} too many`
    : `${n} of ${MAX_NOTE_CODE_POINTS} characters`);
  counter.classList.toggle('counter--over', over);
  if (over && !page.noteOver) announce(`The note is over ${MAX_NOTE_CODE_POINTS} characters.`);
  page.noteOver = over;
  if (!over && $('checkin-note-error').textContent !== '') clearFieldError('note');
}

const FIELD = {
  mood: { error: 'checkin-mood-error', control: () => $('checkin-form').querySelector('input[name="mood"]:checked') ?? $('checkin-form').querySelector('input[name="mood"]') },
  note: { error: 'checkin-note-error', control: () => $('checkin-note') },
  visibility: { error: 'checkin-visibility-error', control: () => $('checkin-form').querySelector('input[name="visibility"]:checked') },
  rooms: { error: 'checkin-rooms-error', control: () => $('checkin-room-options').querySelector('input') },
  form: { error: 'checkin-error', control: () => $('checkin-submit') },
};

/** setFieldError shows a sentence next to a field (the server's, for a refusal) and marks the field. */
function setFieldError(field, text) {
  const f = FIELD[field];
  setText($(f.error), text);
  const marked = field === 'note' ? [$('checkin-note')]
    : field === 'mood' ? [...$('checkin-form').querySelectorAll('input[name="mood"]')]
      : field === 'rooms' ? [...$('checkin-room-options').querySelectorAll('input')] : [];
  for (const el of marked) {
    if (text) el.setAttribute('aria-invalid', 'true');
    else el.removeAttribute('aria-invalid');
  }
}

function clearFieldError(field) {
  setFieldError(field, '');
}

function clearErrors() {
  for (const field of Object.keys(FIELD)) clearFieldError(field);
}

async function onSubmit(event) {
  event.preventDefault();
  if (page.posting) return;
  clearErrors();
  const form = $('checkin-form');
  const mood = form.querySelector('input[name="mood"]:checked');
  if (!mood) {
    setFieldError('mood', TEXT.chooseMood);
    FIELD.mood.control()?.focus();
    return;
  }
  const boxes = [...$('checkin-room-options').querySelectorAll('input')];
  const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
  if (boxes.length > 0 && chosen.length === 0) {
    setFieldError('rooms', TEXT.chooseRoom);
    boxes[0].focus();
    return;
  }
  const visibility = $('checkin-vis-group').checked ? 'group' : 'facilitators';
  const body = { mood: Number(mood.value), note: $('checkin-note').value, visibility };
  // All ticked: leave `rooms` out, which means every group the person may
  // check in with now (a group that banned them meanwhile is left out).
  if (chosen.length < boxes.length) body.rooms = chosen;

  page.posting = true;
  const submit = $('checkin-submit');
  submit.setAttribute('aria-disabled', 'true');
  $('checkin-done').replaceChildren();
  noteCheckinPosting();
  try {
    const saved = await api('POST', '/api/checkins', body);
    posted(saved);
  } catch (err) {
    refused(err);
  } finally {
    page.posting = false;
    submit.removeAttribute('aria-disabled');
  }
}

/** posted: the check-in is stored. Say so calmly, clear the form, and open the crisis panel if the answer carries resources. */
function posted(c) {
  const form = $('checkin-form');
  for (const r of form.querySelectorAll('input[name="mood"]')) r.checked = false;
  $('checkin-note').value = '';
  $('checkin-vis-facilitators').checked = true; // each check-in starts private
  updateCounter();

  const resources = Array.isArray(c?.resources) && c.resources.length > 0 ? c.resources : null;
  const label = typeof c?.mood_label === 'string' ? c.mood_label : '';
  const done = [
    h('p', { className: 'checkin-done-title', text: TEXT.savedTitle }),
    h('p', { text: `${label ? `You said: ${label}. ` : ''}${c?.visibility === 'group' ? TEXT.savedGroup : TEXT.savedFacilitators}` }),
  ];
  if (resources) done.push(h('p', { text: TEXT.savedHelp }));
  $('checkin-done').replaceChildren(...done);

  if (c && typeof c.id === 'string') {
    page.mine = [c, ...page.mine.filter((x) => x.id !== c.id)];
    drawMine();
    refreshViewsOf(c);
  }
  if (resources) showCheckinResources(resources);
}

/** refreshViewsOf brings up to date the groups' views that show c (a check-in of mine, just posted or deleted). */
function refreshViewsOf(c) {
  for (const r of Array.isArray(c.rooms) ? c.rooms : []) {
    const view = page.views.get(r?.room);
    if (view && (view.facilitator || c.visibility === 'group')) refreshView(view);
  }
}

/** refused explains a check-in that was not stored, next to the field it concerns. */
function refused(err) {
  const code = String(err?.code ?? '');
  let field = FIELD_OF_CODE[code] ?? 'form';
  if (code === 'invalid_request' && /rooms/.test(err.message)) field = 'rooms';
  let text = err?.message || TEXT.somethingWrong;
  if (code === 'network') {
    text = TEXT.lostPost;
    loadMine(true);
  }
  setFieldError(field, text);
  FIELD[field].control()?.focus();
}

// ---------------------------------------------------------------------------
// My check-ins

/** loadMine loads the first page of my check-ins (first) or the next one. */
async function loadMine(first, gen = page.generation) {
  if (page.mineLoading && !first) return;
  page.mineLoading = true;
  const more = $('checkin-more');
  more.setAttribute('aria-disabled', 'true');
  setText($('checkin-history-error'), '');
  const before = first ? '' : page.mineNext;
  try {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (before) q.set('before', before);
    const b = await api('GET', `/api/checkins?${q}`);
    if (gen !== page.generation) return;
    const items = Array.isArray(b?.checkins) ? b.checkins.filter((c) => c && typeof c.id === 'string') : [];
    const focusAt = first ? -1 : page.mine.length;
    page.mine = first ? items : [...page.mine, ...items.filter((c) => !page.mine.some((x) => x.id === c.id))];
    page.mineNext = typeof b?.next_before === 'string' ? b.next_before : '';
    drawMine();
    // "Show more": the keyboard goes on from the first new one.
    if (focusAt >= 0) $('checkin-mine').children[focusAt]?.querySelector('button')?.focus();
  } catch (err) {
    if (gen !== page.generation) return;
    $('checkin-history').hidden = false;
    setText($('checkin-history-error'), err.message);
  } finally {
    page.mineLoading = false;
    more.removeAttribute('aria-disabled');
  }
}

function drawMine() {
  const member = memberRooms().length > 0;
  $('checkin-history').hidden = !member && page.mine.length === 0;
  $('checkin-history-empty').hidden = page.mine.length > 0;
  $('checkin-mine').replaceChildren(...page.mine.map(ownItem));
  $('checkin-more').hidden = page.mineNext === '';
}

function ownItem(c) {
  const when = dayAndTime(c.created_at);
  const rooms = Array.isArray(c.rooms) ? c.rooms.map((r) => roomName(r?.room)).filter(Boolean) : [];
  const meta = [VISIBILITY_TEXT[c.visibility] ?? String(c.visibility ?? '')];
  if (rooms.length) meta.push(rooms.join(', '));
  if (c.expires_at) meta.push(`Deleted by itself on ${dateOnly(c.expires_at)}`);
  return h('li', { className: 'checkin-item', attrs: { 'data-id': c.id } },
    h('p', { className: 'checkin-item-head' }, moodBadge(c.mood, c.mood_label), ' ', timeEl(c.created_at)),
    typeof c.note === 'string' && c.note !== '' ? h('p', { className: 'checkin-note-text', text: c.note, attrs: { dir: 'auto' } }) : null,
    h('p', { className: 'checkin-item-meta', text: meta.join(' · ') }),
    h('div', { className: 'checkin-item-actions' },
      button('Delete', { attrs: { 'data-action': 'delete', 'aria-label': `Delete your check-in of ${when}` } })),
    h('p', { className: 'field-error checkin-item-error', attrs: { 'aria-live': 'polite' } }));
}

function onMineClick(event) {
  const b = event.target instanceof Element ? event.target.closest('button[data-action="delete"]') : null;
  const li = b?.closest('li[data-id]');
  const c = li ? page.mine.find((x) => x.id === li.dataset.id) : null;
  if (!c) return;
  openDialog({
    key: `checkin:${c.id}`,
    title: 'Delete this check-in?',
    text: `Your check-in of ${dayAndTime(c.created_at)} (${c.mood_label}) will be deleted for good: your facilitators${c.visibility === 'group' ? ' and your group' : ''} will no longer see it.`,
    quote: typeof c.note === 'string' && c.note !== '' ? c.note : undefined,
    confirmLabel: 'Delete',
    danger: true,
    onConfirm: async () => {
      try {
        await api('DELETE', `/api/checkins/${encodeURIComponent(c.id)}`);
      } catch (err) {
        if (err.code !== 'not_found') throw err; // gone already: take it off the list too
      }
      removeMine(c.id);
      refreshViewsOf(c);
      announce(TEXT.deleted);
    },
    // The Delete button is gone with its check-in: go on to the next one.
    fallbackFocus: () => nextAfterDelete,
  });
}

/** Where the keyboard goes after a check-in is deleted. */
let nextAfterDelete = null;

function removeMine(id) {
  const items = [...$('checkin-mine').children];
  const index = items.findIndex((li) => li.dataset.id === id);
  page.mine = page.mine.filter((x) => x.id !== id);
  drawMine();
  const rest = [...$('checkin-mine').children];
  nextAfterDelete = rest[Math.min(index, rest.length - 1)]?.querySelector('button') ?? $('checkin-history-title');
}

// ---------------------------------------------------------------------------
// Each group: the summary and the check-ins (facilitators), or what the
// group shared (members)

/**
 * drawRoomViews builds one section per group: for a facilitator the
 * summary and every check-in of the group; for a member what others shared
 * with the group (only group-visible ones come).
 */
function drawRoomViews(gen) {
  const container = $('checkin-rooms-views');
  page.views.clear();
  const rooms = [...page.rooms].sort((a, b) => Number(facilitates(b.your_role)) - Number(facilitates(a.your_role)));
  const sections = [];
  rooms.forEach((r, i) => {
    const view = roomView(r, i);
    page.views.set(r.id, view);
    sections.push(view.el);
  });
  container.replaceChildren(...sections);
  for (const view of page.views.values()) {
    if (view.facilitator) loadSummary(view, gen);
    loadRoomList(view, true, gen);
  }
}

function roomView(r, index) {
  const facilitator = facilitates(r.your_role);
  const name = roomName(r.id);
  const id = `checkin-view-${index}`;
  const view = {
    room: r.id, name, facilitator, items: [], next: '', loading: false, refreshTimer: 0,
    summaryEl: h('div', { className: 'checkin-summary' }, h('p', { className: 'hint', text: TEXT.loading })),
    list: h('ul', { className: 'checkin-list' }),
    empty: h('p', { className: 'hint', text: facilitator ? 'No check-ins in this group yet.' : 'Nothing has been shared with the group yet.', attrs: { hidden: true } }),
    more: button('Show more', { attrs: { hidden: true } }),
    error: h('p', { className: 'field-error', attrs: { 'aria-live': 'polite' } }),
    el: null,
  };
  view.more.addEventListener('click', () => loadRoomList(view, false));
  view.el = h('section', { className: 'checkin-card checkin-room', attrs: { 'aria-labelledby': id } },
    h('h2', { attrs: { id } },
      facilitator ? 'How ' : 'Shared in ',
      h('span', { text: name, attrs: { dir: 'auto' } }),
      facilitator ? ' is doing' : ''),
    facilitator
      ? h('p', { className: 'hint', text: 'Only facilitators see this. Each member’s latest mood, the trend over their last check-ins, and how long since they last checked in.' })
      : h('p', { className: 'hint', text: 'Check-ins the members of this group chose to share with everyone in it.' }),
    facilitator ? view.summaryEl : null,
    facilitator ? h('h3', { className: 'checkin-subheading', text: 'Check-ins' }) : null,
    view.empty,
    view.list,
    h('div', { className: 'actions' }, view.more),
    view.error);
  return view;
}

async function loadSummary(view, gen = page.generation) {
  try {
    const b = await api('GET', `/api/rooms/${encodeURIComponent(view.room)}/checkins/summary`);
    if (gen !== page.generation || page.views.get(view.room) !== view) return;
    view.summaryEl.replaceChildren(...summaryNodes(view, b));
  } catch (err) {
    if (gen !== page.generation) return;
    view.summaryEl.replaceChildren(h('p', { className: 'field-error', text: err.message }));
  }
}

/** summaryNodes draws the summary: a table (cards on a phone), and what the flag means when one shows. */
function summaryNodes(view, b) {
  const members = Array.isArray(b?.members) ? b.members.filter((m) => m && typeof m === 'object') : [];
  if (members.length === 0) return [h('p', { className: 'hint', text: 'Nobody is on this group’s roster yet.' })];
  const trendWindow = Number.isSafeInteger(b.trend_window) ? b.trend_window : 0;
  const th = (text) => h('th', { text, attrs: { scope: 'col', role: 'columnheader' } });
  const rows = members.map((m) => {
    const name = typeof m.display_name === 'string' && m.display_name !== '' ? m.display_name : '';
    const latest = m.latest && typeof m.latest === 'object' ? m.latest : null;
    const cell = (label, ...children) => h('td', { attrs: { 'data-label': label, role: 'cell' } }, ...children);
    return h('tr', { className: m.crisis_alert === true ? 'summary-row summary-row--alert' : 'summary-row', attrs: { role: 'row' } },
      h('th', { attrs: { scope: 'row', role: 'rowheader' } },
        name ? h('span', { className: 'summary-name', text: name, attrs: { dir: 'auto' } }) : h('span', { className: 'summary-name summary-name--none', text: TEXT.noName }),
        m.crisis_alert === true ? h('span', { className: 'checkin-flag', text: TEXT.alertFlag }) : null),
      cell('Latest mood', latest ? moodBadge(latest.mood, latest.mood_label) : h('span', { className: 'summary-none', text: 'No check-ins yet' })),
      cell('Trend', trendNodes(m.trend, trendWindow)),
      cell('Last check-in', h('span', { text: daysText(m.days_since_last) })),
      cell('Check-ins', h('span', { text: Number.isSafeInteger(m.checkins) ? String(m.checkins) : '0' })));
  });
  const table = h('table', { className: 'summary-table', attrs: { role: 'table' } },
    h('caption', { className: 'visually-hidden', text: `How each member of ${view.name} is doing` }),
    h('thead', { attrs: { role: 'rowgroup' } },
      h('tr', { attrs: { role: 'row' } }, th('Member'), th('Latest mood'), th('Trend'), th('Last check-in'), th('Check-ins'))),
    h('tbody', { attrs: { role: 'rowgroup' } }, ...rows));
  const nodes = [table];
  if (members.some((m) => m.crisis_alert === true)) nodes.push(h('p', { className: 'hint checkin-flag-legend', text: TEXT.alertLegend }));
  return nodes;
}

/** trendNodes says a trend in words ("Falling, over 5 check-ins"); the arrow is decoration. */
function trendNodes(trend, trendWindow) {
  if (!trend || typeof trend !== 'object' || !TREND[trend.direction]) {
    return h('span', { className: 'summary-none', text: 'Not enough check-ins yet' });
  }
  const t = TREND[trend.direction];
  const over = Number.isSafeInteger(trend.over) && trend.over > 0 ? trend.over : trendWindow;
  return h('span', { className: `trend trend--${trend.direction}` },
    h('span', { className: 'trend-arrow', text: t.arrow, attrs: { 'aria-hidden': 'true' } }),
    ' ',
    h('span', { className: 'trend-word', text: t.word }),
    over ? h('span', { className: 'trend-over', text: `, over ${plural(over, 'check-in')}` }) : null);
}

/** daysText: whole 24-hour days since the last check-in, in words. */
export function daysText(days) {
  if (!Number.isSafeInteger(days) || days < 0) return 'Never';
  if (days === 0) return 'Within the last day';
  return `${plural(days, 'day')} ago`;
}

async function loadRoomList(view, first, gen = page.generation) {
  if (view.loading && !first) return;
  view.loading = true;
  view.more.setAttribute('aria-disabled', 'true');
  setText(view.error, '');
  try {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (!first && view.next) q.set('before', view.next);
    const b = await api('GET', `/api/rooms/${encodeURIComponent(view.room)}/checkins?${q}`);
    if (gen !== page.generation || page.views.get(view.room) !== view) return;
    const items = Array.isArray(b?.checkins) ? b.checkins.filter((c) => c && typeof c.id === 'string') : [];
    const focusAt = first ? -1 : view.items.length;
    view.items = first ? items : [...view.items, ...items.filter((c) => !view.items.some((x) => x.id === c.id))];
    view.next = typeof b?.next_before === 'string' ? b.next_before : '';
    drawRoomList(view);
    if (focusAt >= 0) view.list.children[focusAt]?.setAttribute('tabindex', '-1');
    if (focusAt >= 0) view.list.children[focusAt]?.focus();
  } catch (err) {
    if (gen !== page.generation) return;
    setText(view.error, err.message);
  } finally {
    view.loading = false;
    view.more.removeAttribute('aria-disabled');
  }
}

function drawRoomList(view) {
  view.empty.hidden = view.items.length > 0;
  view.list.replaceChildren(...view.items.map((c) => roomItem(c, view.facilitator)));
  view.more.hidden = view.next === '';
}

/** roomItem is one check-in as a group's people see it: under the name the author has there now. */
function roomItem(c, facilitator) {
  const name = typeof c.display_name === 'string' && c.display_name !== '' ? c.display_name : TEXT.noName;
  return h('li', { className: 'checkin-item' },
    h('p', { className: 'checkin-item-head' },
      h('span', { className: 'checkin-author', text: name, attrs: { dir: 'auto' } }),
      ' ', moodBadge(c.mood, c.mood_label), ' ', timeEl(c.created_at)),
    typeof c.note === 'string' && c.note !== '' ? h('p', { className: 'checkin-note-text', text: c.note, attrs: { dir: 'auto' } }) : null,
    facilitator ? h('p', { className: 'checkin-item-meta', text: VISIBILITY_TEXT_FACILITATOR[c.visibility] ?? '' }) : null);
}

/** refreshView brings a group's view up to date soon (several events in a burst make one refresh). */
function refreshView(view, { list = true } = {}) {
  clearTimeout(view.refreshTimer);
  view.refreshList = view.refreshList || list;
  view.refreshTimer = setTimeout(() => {
    if (page.views.get(view.room) !== view || !pageShown()) return;
    if (view.facilitator) loadSummary(view);
    if (view.refreshList) loadRoomList(view, true);
    view.refreshList = false;
  }, 400);
}

// ---------------------------------------------------------------------------
// Live

/**
 * onCheckinEvent handles a `checkin` event and reports whether it was one.
 * It comes to facilitators wherever they are connected, and to the members
 * connected to a room for its group-visible check-ins.
 */
export function onCheckinEvent(event) {
  if (event?.type !== 'checkin') return false;
  if (typeof event.room !== 'string' || typeof event.checkin_id !== 'string') return true;
  const key = `${event.room}/${event.checkin_id}`;
  if (live.seen.has(key)) return true; // the same check-in, twice (a facilitator in the room)
  live.seen.add(key);

  const view = page.views.get(event.room);
  if (view && pageShown()) refreshView(view);

  const room = ctx.getRoom();
  if (!room) return true;
  const item = {
    room: event.room,
    member_id: typeof event.member_id === 'string' ? event.member_id : '',
    display_name: typeof event.display_name === 'string' ? event.display_name : '',
    mood: Number.isSafeInteger(event.mood) ? event.mood : 0,
    mood_label: typeof event.mood_label === 'string' ? event.mood_label : '',
    note: typeof event.note === 'string' ? event.note : '',
    visibility: event.visibility === 'group' ? 'group' : 'facilitators',
    ts: typeof event.ts === 'string' ? event.ts : '',
  };
  if (event.room !== room.id || room.facilitating) {
    // A facilitator: in the side section (from their other groups too).
    if (!room.facilitating) return true;
    live.items = [item, ...live.items].slice(0, MAX_LIVE);
    renderCheckinsPanel(room);
    // The scale ("2 of 5") once it is known.
    if (!page.moods) loadMoods().then(() => renderCheckinsPanel(ctx.getRoom()), () => {});
    announce(`${liveName(item, room)} checked in: ${item.mood_label}.`);
    return true;
  }
  // A member: a quiet line in the conversation, for what the group may read.
  if (item.visibility !== 'group') return true;
  const who = room.isYou(item.member_id) ? 'You' : liveName(item, room);
  const note = addNote(`${who} checked in: ${item.mood_label}`, 'note--checkin');
  if (item.note) note.append(h('span', { className: 'note-detail', text: item.note, attrs: { dir: 'auto' } }));
  return true;
}

function liveName(item, room) {
  if (item.display_name) return item.display_name;
  if (room && item.room === room.id) return room.nameOf(item.member_id) || TEXT.someone;
  return TEXT.someone;
}

/**
 * onAlertChange hears crisis_alert and alert_acked: the summary's flag of
 * that group changes.
 */
export function onAlertChange(event) {
  if (event?.type !== 'crisis_alert' && event?.type !== 'alert_acked') return;
  const view = typeof event.room === 'string' ? page.views.get(event.room) : null;
  if (view && view.facilitator && pageShown()) refreshView(view, { list: false });
}

/** renderCheckinsPanel draws the room's side section of live check-ins (facilitators only); null clears it. */
export function renderCheckinsPanel(room) {
  const section = $('checkins-section');
  if (!room) {
    live.items = [];
    live.seen.clear();
  }
  section.hidden = !room?.facilitating;
  if (section.hidden) {
    $('checkins-live').replaceChildren();
    return;
  }
  setText($('checkins-count'), live.items.length ? `(${live.items.length})` : '');
  $('checkins-empty').hidden = live.items.length > 0;
  $('checkins-live').replaceChildren(...live.items.map((item) => {
    const elsewhere = item.room !== room.id;
    return h('li', { className: 'checkin-item' },
      h('p', { className: 'checkin-item-head' },
        h('span', { className: 'checkin-author', text: liveName(item, room), attrs: { dir: 'auto' } }),
        ' ', moodBadge(item.mood, item.mood_label),
        item.ts ? h('span', { className: 'checkin-time' }, ' · ', h('time', { text: formatClock(item.ts), attrs: { datetime: item.ts, title: formatFullTime(item.ts) } })) : null),
      item.note ? h('p', { className: 'checkin-note-text', text: item.note, attrs: { dir: 'auto' } }) : null,
      h('p', { className: 'checkin-item-meta' },
        VISIBILITY_TEXT_FACILITATOR[item.visibility],
        elsewhere ? ' · Group ' : '',
        elsewhere ? h('span', { text: item.room, attrs: { dir: 'auto' } }) : null));
  }));
}

/** setCheckinsExpanded opens or closes the room's Check-ins section. */
export function setCheckinsExpanded(open) {
  $('checkins-toggle').setAttribute('aria-expanded', String(open));
  $('checkins-body').hidden = !open;
}
