// app.js — the Hearth web client's user interface.
//
// Flow: read the sign-in link → connect and sign in (connection.js) →
// choose a display name → join the room → chat. The page never stores
// anything: the token, the name and the conversation live in memory only and
// are gone when the tab closes.
//
// Layout of this file:
//   1. start-up: reading the link
//   2. screens and the connection status
//   3. connection lifecycle (ready, state, final)
//   4. joining with a display name
//   5. room events: one handler per event type (add new types to roomEventHandlers)
//   6. the conversation log and the member list
//   7. sending, leaving
//
// Safety: everything from people or the server is inserted as text
// (textContent / text nodes via dom.js), never as HTML.

import { HearthConnection } from './connection.js';
import {
  RoomState, ROOM_ID_RE, ROLE_FACILITATOR, ROLE_MEMBER,
  MAX_TEXT_CODE_POINTS, codePoints,
} from './room.js';
import { h, $, setText, formatClock, formatFullTime } from './dom.js';

// ---------------------------------------------------------------------------
// 1. Start-up

const DEFAULT_ROOM = 'demo';

/** Sentences shown to people, kept in one place. */
const TEXT = {
  noToken: 'Open the link your facilitator sent you.',
  badRoom: 'This link does not name a valid group. Ask your facilitator for a new link.',
  expired: 'Your link has expired or is not valid. Ask your facilitator for a new one.',
  tooLarge: 'The connection was closed because something sent was too large.',
  closed: 'The connection was closed and will not reopen by itself.',
  firstTrouble: 'We are having trouble reaching Hearth. We will keep trying.',
  notConnected: 'You are not connected right now. Please wait a moment and try again.',
  notConnectedSend: 'You are not connected right now. Your message is still here; send it once you are connected again.',
  lostSend: 'The connection dropped before your message was confirmed. It is still here; check the conversation before sending it again.',
  lostJoin: 'The connection dropped while joining. Please try again.',
  missing: 'Some messages may be missing.',
  restored: 'Connection restored.',
  somethingWrong: 'Something went wrong. Please try again.',
};

/** The app's whole state, in memory only. */
const app = {
  /** @type {HearthConnection|null} */
  conn: null,
  roomId: DEFAULT_ROOM,
  /** The name the person chose, used again when re-joining after a reconnect. */
  displayName: '',
  /** @type {RoomState|null} the room while the person is in it (also while reconnecting). */
  room: null,
  screen: 'connecting',
  /** Text of a send waiting for its reply (one at a time). */
  sending: null,
  joining: false,
  /** The close code of a final close, while no new connection has been started. */
  finalCode: null,
};

/**
 * readLink takes `token` and `room` from the URL fragment (#token=…&room=…)
 * and removes the fragment from the address bar at once, so the token is
 * not left in view, in history entries or in screenshots.
 */
function readLink() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  if (location.hash !== '') {
    history.replaceState(null, '', location.pathname + location.search);
  }
  return {
    token: params.get('token') ?? '',
    room: params.get('room') || DEFAULT_ROOM,
  };
}

function start() {
  const link = readLink();
  bindUi();

  // A new link pasted into this tab changes only the fragment: start over with it.
  window.addEventListener('hashchange', () => {
    if (new URLSearchParams(location.hash.replace(/^#/, '')).has('token')) location.reload();
  });

  if (link.token === '') {
    $('connection').hidden = true; // nothing to connect to: no status to show
    showNotice('Welcome to Hearth', TEXT.noToken, { focus: false });
    return;
  }
  if (!ROOM_ID_RE.test(link.room)) {
    $('connection').hidden = true;
    showNotice('This link does not work', TEXT.badRoom, { focus: false });
    return;
  }
  app.roomId = link.room;

  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  app.conn = new HearthConnection({ url: `${scheme}//${location.host}/ws`, token: link.token });
  app.conn.on('state', onConnectionState);
  app.conn.on('ready', onConnectionReady);
  app.conn.on('final', onConnectionFinal);
  app.conn.on('event', onServerEvent);

  // Coming back online or back to the tab: do not sit out a long backoff.
  window.addEventListener('online', () => app.conn.retryNow());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') app.conn.retryNow();
  });

  showScreen('connecting');
  app.conn.start();
}

// ---------------------------------------------------------------------------
// 2. Screens and the connection status

const SCREENS = ['connecting', 'notice', 'name', 'chat', 'left'];

/**
 * showScreen shows one screen and hides the others. With focus, it moves the
 * keyboard focus to that element (usually the screen's heading or its first
 * field), so that keyboard and screen reader users land on the new content.
 */
function showScreen(name, { focus } = {}) {
  app.screen = name;
  for (const s of SCREENS) $(`screen-${s}`).hidden = s !== name;
  if (focus) focus.focus();
}

function showNotice(title, text, { retry = false, focus = true } = {}) {
  setText($('notice-title'), title);
  setText($('notice-text'), text);
  $('notice-retry').hidden = !retry;
  showScreen('notice', { focus: focus ? $('notice-title') : undefined });
}

const STATUS_TEXT = {
  idle: 'Connecting…',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  disconnected: 'Disconnected',
};

/** setStatus updates the role="status" indicator (in words; the dot is decoration). */
function setStatus(state, { waiting = false } = {}) {
  const status = $('status');
  status.className = `status status--${state}`;
  // Rewriting the same words would make screen readers repeat them on every retry.
  const text = STATUS_TEXT[state] ?? state;
  if ($('status-text').textContent !== text) setText($('status-text'), text);
  $('retry-now').hidden = !waiting;
}

/** isTouch guesses whether the main pointer is a finger (then we avoid popping up the keyboard). */
function isTouch() {
  return window.matchMedia('(pointer: coarse)').matches;
}

// ---------------------------------------------------------------------------
// 3. Connection lifecycle

function onConnectionState({ state, delayMs }) {
  const waiting = (state === 'reconnecting' || state === 'connecting') && delayMs !== undefined;
  setStatus(state, { waiting });
  if (state === 'connecting' && delayMs !== undefined && app.screen === 'connecting') {
    setText($('connecting-text'), TEXT.firstTrouble);
  }
  if (state === 'connected') clearBanner();
}

/** onConnectionReady runs after every successful sign-in (the first and each reconnect). */
function onConnectionReady() {
  if (app.room) {
    rejoin();
    return;
  }
  if (app.screen === 'connecting' || app.screen === 'notice') {
    showScreen('name', { focus: $('name-input') });
  }
  // On the name screen, a "not connected" error from before no longer applies.
  if (app.screen === 'name' && $('name-error').textContent === TEXT.notConnected) {
    clearNameError();
  }
}

/** rejoin joins the room again after a reconnect, with the same display name. */
function rejoin() {
  const room = app.room;
  app.conn.request(
    { type: 'join', room: room.id, display_name: app.displayName },
    {
      onReply: (joined) => {
        if (app.room !== room) return; // left meanwhile
        room.applyJoined(joined);
        room.markRejoined();
        renderMembers();
        renderYouAre();
        addNote(TEXT.restored);
      },
    },
  ).catch((err) => {
    if (app.room !== room) return;
    const code = String(err?.code ?? '');
    if (code === 'connection_lost' || code === 'not_connected') return; // the next 'ready' tries again
    if (code === 'already_joined') return; // a late reply: we are in the room
    if (code.startsWith('name_')) {
      // The name is no longer accepted (rules changed): ask for one again.
      app.room = null;
      clearConversation();
      showScreen('name', { focus: $('name-input') });
      setNameError(err.message || TEXT.somethingWrong);
      return;
    }
    showBanner(err?.message || TEXT.somethingWrong, { retry: false });
  });
}

/** onConnectionFinal: the connection closed with a final code and will not come back by itself. */
function onConnectionFinal({ code }) {
  app.finalCode = code;
  let title = 'You are not connected';
  let text = TEXT.closed;
  let retry = true;
  if (code === 4401 || (code >= 4000 && code <= 4499)) {
    title = 'This link no longer works';
    text = code === 4401 ? TEXT.expired : TEXT.closed;
    retry = code !== 4401;
  } else if (code === 1009) {
    text = TEXT.tooLarge;
  }
  if (app.screen === 'chat') {
    // Keep the conversation readable; explain above it.
    showBanner(text, { retry });
    setComposerEnabled(false);
  } else {
    showNotice(title, text, { retry });
  }
}

/** retryAfterFinal starts a fresh connection with the same in-memory token. */
function retryAfterFinal() {
  app.finalCode = null;
  clearBanner();
  setComposerEnabled(true);
  if (app.screen === 'notice') {
    setText($('connecting-text'), 'This usually takes a moment.');
    showScreen('connecting', { focus: $('connecting-title') });
  }
  app.conn.start();
}

// The banner above the conversation (role="alert"; empty when all is well).
function showBanner(text, { retry }) {
  const banner = $('chat-banner');
  banner.replaceChildren(h('p', { text }));
  if (retry) {
    const button = h('button', { className: 'button button--small', text: 'Try again', attrs: { type: 'button' } });
    button.addEventListener('click', retryAfterFinal);
    banner.append(button);
  }
}

function clearBanner() {
  $('chat-banner').replaceChildren();
}

// ---------------------------------------------------------------------------
// 4. Joining with a display name

async function onJoinSubmit(event) {
  event.preventDefault();
  if (app.joining) return;
  const input = $('name-input');
  const name = input.value;
  clearNameError();
  if (!app.conn?.ready) {
    setNameError(TEXT.notConnected);
    return;
  }

  app.joining = true;
  $('name-submit').setAttribute('aria-disabled', 'true');
  try {
    await app.conn.request(
      { type: 'join', room: app.roomId, display_name: name },
      {
        // Applied synchronously so events right behind `joined` find the room.
        onReply: (joined) => {
          const room = new RoomState(app.roomId);
          room.applyJoined(joined);
          app.room = room;
          app.displayName = name;
        },
      },
    );
    enterChat();
  } catch (err) {
    const code = err?.code ?? '';
    let text = err?.message || TEXT.somethingWrong;
    if (code === 'not_connected') text = TEXT.notConnected;
    if (code === 'connection_lost' || code === 'timeout') text = TEXT.lostJoin;
    setNameError(text);
    input.focus();
  } finally {
    app.joining = false;
    $('name-submit').removeAttribute('aria-disabled');
  }
}

function setNameError(text) {
  setText($('name-error'), text);
  $('name-input').setAttribute('aria-invalid', 'true');
}

function clearNameError() {
  setText($('name-error'), '');
  $('name-input').removeAttribute('aria-invalid');
}

function enterChat() {
  clearConversation();
  setText($('room-name'), app.room.id);
  document.title = `${app.room.id} · Hearth`;
  renderYouAre();
  renderMembers();
  setComposerEnabled(true);
  // On a phone, focusing the text box would cover the screen with the keyboard.
  showScreen('chat', { focus: isTouch() ? $('room-title') : $('composer-text') });
}

function renderYouAre() {
  const you = app.room?.you;
  setText($('you-are'), you ? `You are here as ${you.display_name}.` : '');
}

// ---------------------------------------------------------------------------
// 5. Room events
//
// Every event about a room carries `room` and `seq`. onServerEvent checks
// that it is about our room, notes the seq (and says so when some were
// missed), then calls the handler for its type. Unknown types are ignored, so
// a newer server can add events without breaking this client.

/** @type {Record<string, (event: any, room: RoomState) => void>} */
const roomEventHandlers = {
  message: onMessage,
  member_joined: onMemberJoined,
  member_left: onMemberLeft,
};

function onServerEvent(event) {
  if (event.type === 'error') {
    // An error for a frame without an id (this client always sends ids).
    console.warn('hearth: server error without a request:', event.code, event.message);
    return;
  }
  const room = app.room;
  if (!room || typeof event.room !== 'string' || event.room !== room.id) return;
  if (room.noteSeq(event.seq)) addNote(TEXT.missing, 'note--warn');
  roomEventHandlers[event.type]?.(event, room);
}

function onMessage(event, room) {
  if (typeof event.message_id === 'string') {
    if (room.seenMessages.has(event.message_id)) return;
    room.seenMessages.add(event.message_id);
  }
  addMessage(event, room);
}

function onMemberJoined(event, room) {
  const member = room.addMember(event.member);
  renderMembers();
  if (member && !room.isYou(member.member_id)) {
    addNote(`${member.display_name || 'Someone'} joined.`);
  }
}

function onMemberLeft(event, room) {
  const member = room.removeMember(event.member_id);
  renderMembers();
  if (member && !room.isYou(member.member_id)) {
    addNote(`${member.display_name || 'Someone'} left.`);
  }
}

// ---------------------------------------------------------------------------
// 6. The conversation log and the member list

/** roleLabel names a role in words (colour is only ever a second cue). */
function roleLabel(role) {
  if (role === ROLE_FACILITATOR) return 'Facilitator';
  if (role === ROLE_MEMBER) return 'Member';
  return role.charAt(0).toUpperCase() + role.slice(1);
}

/**
 * Whether the log follows new items: true while the person is at (or near)
 * the bottom; false once they scroll up to read, so nothing jumps under them.
 */
let followLog = true;

function onLogScroll() {
  const log = $('log');
  followLog = log.scrollHeight - log.scrollTop - log.clientHeight < 96;
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

function addMessage(event, room) {
  const from = event.from && typeof event.from === 'object' ? event.from : {};
  const own = room.isYou(from.member_id);
  const facilitator = from.role === ROLE_FACILITATOR;
  const name = typeof from.display_name === 'string' && from.display_name !== '' ? from.display_name : 'Someone';
  const ts = typeof event.ts === 'string' ? event.ts : '';

  const meta = h('p', { className: 'msg-meta' },
    h('span', { className: 'msg-author', text: name, attrs: { dir: 'auto' } }),
    own ? h('span', { className: 'msg-you', text: ' (you)' }) : null,
    facilitator ? h('span', { className: 'badge badge--facilitator', text: 'Facilitator' }) : null,
    h('span', { className: 'visually-hidden', text: ', ' }),
    ts ? h('time', { className: 'msg-time', text: formatClock(ts), attrs: { datetime: ts, title: formatFullTime(ts) } }) : null,
    h('span', { className: 'visually-hidden', text: ':' }),
  );
  const body = h('p', { className: 'msg-text', text: typeof event.text === 'string' ? event.text : '', attrs: { dir: 'auto' } });

  let className = 'msg';
  if (own) className += ' msg--own';
  if (facilitator) className += ' msg--facilitator';
  const item = h('div', { className, attrs: { 'data-message-id': event.message_id } }, meta, body);
  appendToLog(item, { forceScroll: own });
}

/** addNote adds a quiet line to the log: joins, leaves, reconnects, gaps. */
function addNote(text, extraClass = '') {
  appendToLog(h('p', { className: `note ${extraClass}`.trim(), text }));
}

function renderMembers() {
  const room = app.room;
  const list = $('people-list');
  if (!room) {
    list.replaceChildren();
    setText($('people-count'), '');
    return;
  }
  const items = room.sortedMembers().map((m) => {
    const facilitator = m.role === ROLE_FACILITATOR;
    return h('li', { className: facilitator ? 'person person--facilitator' : 'person' },
      h('span', { className: 'person-name', text: m.display_name || 'Someone', attrs: { dir: 'auto' } }),
      room.isYou(m.member_id) ? h('span', { className: 'person-you', text: ' (you)' }) : null,
      h('span', { className: 'visually-hidden', text: ', ' }),
      h('span', { className: facilitator ? 'badge badge--facilitator' : 'person-role', text: roleLabel(m.role) }),
    );
  });
  list.replaceChildren(...items);
  setText($('people-count'), `(${room.members.size})`);
}

/** The people list starts open on wide screens and closed on phones. */
function setPeopleExpanded(expanded) {
  $('people-toggle').setAttribute('aria-expanded', String(expanded));
  $('people-list').hidden = !expanded;
}

/** clearConversation removes the whole conversation from the page. */
function clearConversation() {
  const empty = $('log-empty');
  empty.hidden = false;
  $('log').replaceChildren(empty);
  followLog = true;
  $('people-list').replaceChildren();
  setText($('people-count'), '');
  setText($('you-are'), '');
  setText($('room-name'), '');
  $('composer-text').value = '';
  setComposerError('');
  clearBanner();
  document.title = 'Hearth';
}

// ---------------------------------------------------------------------------
// 7. Sending and leaving

async function onSendSubmit(event) {
  event.preventDefault();
  const textarea = $('composer-text');
  const text = textarea.value;
  if (text.trim() === '' || app.sending !== null) return;

  const length = codePoints(text);
  if (length > MAX_TEXT_CODE_POINTS) {
    // Checked here too: a huge paste must not become an oversized frame (close 1009).
    setComposerError(`A message can be at most ${MAX_TEXT_CODE_POINTS} characters long. This one has ${length}.`);
    return;
  }
  const room = app.room;
  if (!room || !app.conn.ready) {
    setComposerError(TEXT.notConnectedSend);
    return;
  }

  app.sending = text;
  $('composer-send').setAttribute('aria-disabled', 'true');
  try {
    await app.conn.request({ type: 'send', room: room.id, text });
    setComposerError('');
    // Clear only what was sent; if it was edited meanwhile, keep the edit.
    if (textarea.value === text) textarea.value = '';
  } catch (err) {
    const code = err?.code ?? '';
    let message = err?.message || TEXT.somethingWrong;
    if (code === 'not_connected') message = TEXT.notConnectedSend;
    if (code === 'connection_lost' || code === 'timeout') message = TEXT.lostSend;
    setComposerError(message); // the text stays in the box
  } finally {
    app.sending = null;
    $('composer-send').removeAttribute('aria-disabled');
  }
}

/** Enter sends; Shift+Enter (and Enter while composing with an input method) makes a new line. */
function onComposerKeydown(event) {
  if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  event.preventDefault();
  $('composer').requestSubmit();
}

function setComposerError(text) {
  setText($('composer-error'), text);
  if (text) $('composer-text').setAttribute('aria-invalid', 'true');
  else $('composer-text').removeAttribute('aria-invalid');
}

function setComposerEnabled(enabled) {
  $('composer-text').disabled = !enabled;
  $('composer-send').disabled = !enabled;
}

function leaveRoom() {
  const room = app.room;
  if (!room) return;
  app.room = null; // from now on, events and re-joins for it are ignored
  if (app.conn.ready) app.conn.request({ type: 'leave', room: room.id }).catch(() => {});
  clearConversation();
  showScreen('left', { focus: $('left-title') });
}

function joinAgain() {
  if (app.finalCode !== null) {
    // The connection closed for good while in the room: explain that first.
    onConnectionFinal({ code: app.finalCode });
    return;
  }
  const input = $('name-input');
  input.value = app.displayName;
  clearNameError();
  showScreen('name', { focus: input });
}

// ---------------------------------------------------------------------------

function bindUi() {
  $('name-form').addEventListener('submit', onJoinSubmit);
  $('composer').addEventListener('submit', onSendSubmit);
  $('composer-text').addEventListener('keydown', onComposerKeydown);
  $('log').addEventListener('scroll', onLogScroll, { passive: true });
  $('leave').addEventListener('click', leaveRoom);
  $('rejoin').addEventListener('click', joinAgain);
  $('notice-retry').addEventListener('click', retryAfterFinal);
  $('retry-now').addEventListener('click', () => {
    // The button hides itself once the attempt starts; keep the focus on the page.
    const heading = document.querySelector(`#screen-${app.screen} h1`);
    if (heading) heading.focus();
    app.conn?.retryNow();
  });
  $('people-toggle').addEventListener('click', () => {
    setPeopleExpanded($('people-toggle').getAttribute('aria-expanded') !== 'true');
  });
  const wide = window.matchMedia('(min-width: 52rem)');
  setPeopleExpanded(wide.matches);
  wide.addEventListener('change', (e) => setPeopleExpanded(e.matches));
}

start();
