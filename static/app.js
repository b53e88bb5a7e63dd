// app.js — the Hearth web client's user interface.
//
// Flow: read the sign-in link (or, without one, sign in through the
// organisation's identity provider: signin.js) → connect and sign in (connection.js) →
// choose a display name → join the room, accepting its group agreement
// first when the server asks (agreement.js), perhaps waiting in the lobby →
// chat. The page never stores anything: the token, the name and the
// conversation live in memory only and are gone when the tab closes, and
// the conversation is cleared from the page as soon as the person is out of
// the room (left, removed, or the session ended).
//
// Layout of this file:
//   1. start-up: reading the link
//   2. screens and the connection status
//   3. connection lifecycle (ready, state, final)
//   4. joining with a display name and the group agreement, and the lobby
//   5. room events: one handler per event type (add new types to roomEventHandlers)
//   6. drawing the room: people, state, composer
//   7. sending, leaving, commands
//   8. members' safety tools (report, hide) and message deletion
//
// Other modules: connection.js (the socket), room.js (per-room state, no
// DOM), log.js (the conversation log), people.js (who is here), roomstate.js
// (phase, clock, lock, slow mode, pin), notices.js (private notices,
// announcements), dms.js (private messages), facilitator.js (facilitator
// tools), crisis.js ("Get help now", crisis resources, "I need support",
// facilitators' crisis alerts), share.js (sharing: the mode, raised hands,
// the floor, Pass, taking part or just listening), reactions.js (supportive
// reactions under messages), agreement.js (the group agreement), checkins.js
// (between-session check-ins: the #checkin page, over REST, and check-ins
// shown live in the room), dialog.js (confirmations, short forms and the
// agreement), dom.js (helpers).
//
// Safety: everything from people or the server is inserted as text
// (textContent / text nodes via dom.js), never as HTML.

import { HearthConnection } from './connection.js';
import { restCall } from './rest.js';
import {
  RoomState, ROOM_ID_RE, MAX_TEXT_CODE_POINTS, MAX_REASON_CODE_POINTS, codePoints,
  PRESENCE_PARTICIPANT, PRESENCE_OBSERVER, MAX_HIDDEN,
} from './room.js';
import { h, $, setText, formatClock, formatWhen, minutesUntil, plural, wipePage } from './dom.js';
import {
  initLog, addMessage, addNote, clearLog, removeMessage, findMessage, setAuthorHidden, setMessageError,
} from './log.js';
import { initPeople, renderPeople, setPersonError } from './people.js';
import { renderRoomState, stateChangeNotes } from './roomstate.js';
import { initNotices, addNotice, removeNotice, clearNotices, allNotices, announce } from './notices.js';
import { initDms, onDm, openDmWith, renderDms, clearDms, setExpanded as setDmsExpanded } from './dms.js';
import {
  initFacilitator, renderFacilitator, personAction, waitingSentence, setFacilitatorExpanded,
} from './facilitator.js';
import { initDialog, openDialog, closeDialog, closeDialogFor } from './dialog.js';
import {
  initShare, renderShare, composerBlock, composerHint, focusAfterBlock, announceShareChanges, onTimerElapsed,
} from './share.js';
import { initReactions, onReactions } from './reactions.js';
import { showAgreement } from './agreement.js';
import {
  initCrisis, onCrisisEvent, renderCrisis, setAlertsExpanded, hasOpenAlerts, openAlertsIn, alertSummary,
  setDeploymentResources,
} from './crisis.js';
import {
  initCheckins, openCheckinPage, onCheckinEvent, onAlertChange, renderCheckinsPanel, setCheckinsExpanded,
} from './checkins.js';
import {
  SIGNIN_TEXT, RENEWED_FRAGMENT, loginHref, fetchSession, fetchTicket, logout, watchSession,
} from './signin.js';

// ---------------------------------------------------------------------------
// 1. Start-up

const DEFAULT_ROOM = 'demo';

/** Sentences shown to people, kept in one place. */
const TEXT = {
  noToken: 'Open the link your facilitator sent you.',
  badRoom: 'This link does not name a valid group. Ask your facilitator for a new link.',
  expired: 'Your link has expired or is not valid. Ask your facilitator for a new one.',
  tooLarge: 'The connection was closed because something sent was too large.',
  tooFast: 'The connection was closed because too much was sent too quickly. You can try again in a moment.',
  tooManyConnections: 'Hearth is already open in 5 tabs or devices with this link. Close one of them, then press Try again.',
  closed: 'The connection was closed and will not reopen by itself.',
  firstTrouble: 'We are having trouble reaching Hearth. We will keep trying.',
  notConnected: 'You are not connected right now. Please wait a moment and try again.',
  notConnectedSend: 'You are not connected right now. Your message is still here; send it once you are connected again.',
  lostSend: 'The connection dropped before your message was confirmed. It is still here; check the conversation before sending it again.',
  lostJoin: 'The connection dropped while joining. Please try again.',
  lostCommand: 'The connection dropped before an answer came. Check whether it took effect before trying again.',
  missing: 'Some messages may be missing.',
  notRecovered: 'Some messages could not be recovered.',
  restored: 'Connection restored.',
  somethingWrong: 'Something went wrong. Please try again.',
  composerHint: 'Enter sends. Shift + Enter starts a new line.',
  lobbyTrouble: 'Something went wrong while letting you in.',
  notJoined: 'You have not joined the group. Whenever you are ready, choose “Join the group” to read the agreement again.',
  confidentialTitle: 'What is shared here stays here.',
  confidentialText: 'Messages are not kept after the session.',
};

/** The error codes of a display name the room refuses; the server's message says why. */
const NAME_CODES = new Set(['name_empty', 'name_too_long', 'name_invalid_char', 'name_invisible', 'name_reserved', 'name_taken']);

/** The app's whole state, in memory only. */
const app = {
  /** @type {HearthConnection|null} */
  conn: null,
  /** Ids of messages this person asked to delete (so their own deletion is not told as a facilitator's). */
  ownDeletes: new Set(),
  /** The sign-in token from the link, for the REST calls of the check-in page (memory only). */
  token: '',
  /**
   * The check-in page (#checkin) covers the other screens without ending
   * them: behindCheckin is the screen to show when it is closed (a screen
   * asked for meanwhile, such as "This session has ended", waits there),
   * checkinOpener what had the focus, checkinPushed whether opening it
   * added a history entry (then Back goes back through history).
   */
  behindCheckin: 'name',
  checkinOpener: null,
  checkinPushed: false,
  roomId: DEFAULT_ROOM,
  /** The name the person chose, used again when re-joining after a reconnect. */
  displayName: '',
  /**
   * How this person is here — taking part or just listening — as they last
   * chose it (on the join form or with the switch in the room, here or in
   * another tab): a re-join after a reconnect asks for the same.
   */
  presence: PRESENCE_PARTICIPANT,
  /** The composer's last refusal about sharing (not_your_turn, observer), cleared once it no longer applies. */
  shareRefusal: '',
  /** @type {RoomState|null} the room while the person is in it (also while reconnecting). */
  room: null,
  /** True while waiting in the room's lobby (then room is null). */
  lobby: false,
  screen: 'connecting',
  /** Text of a send waiting for its reply (one at a time). */
  sending: null,
  joining: false,
  /** The close code of a final close, while no new connection has been started. */
  finalCode: null,
  /**
   * member_ids this person has hidden ("Hide this person"). The server
   * forgets a hide with the connection, so each join carries them
   * (`hidden`, applied from the start, replayed messages included); any
   * beyond what a join can carry are sent again after it (resendHides).
   */
  hidden: new Set(),
  /** The `hidden` of the last join sent. */
  hiddenSent: [],
  /** Timers: a mute's end (a fallback for a missed `unmuted`), slow mode's wait. */
  muteTimer: 0,
  slowTimer: 0,
  /** True once "Leave quickly" ran. */
  gone: false,
  /**
   * Signed in through the identity provider (no token: REST goes with the
   * session cookie, each connection with a fresh ticket). sessionExpires is
   * when the sign-in ends (ms); stopWatch stops watching for that end;
   * ticketRetries counts connections refused in a row while still signed in.
   */
  signedIn: false,
  /** The server signs people in (then "Leave quickly" also signs this browser out). */
  signInOn: false,
  sessionExpires: 0,
  stopWatch: null,
  ticketRetries: 0,
};

/**
 * readLink takes `token` and `room` from the URL fragment (#token=…&room=…)
 * and removes the fragment from the address bar at once, so the token is
 * not left in view, in history entries or in screenshots. For someone
 * signing in through the identity provider, the fragment may instead hold
 * an invite (#invite=CODE: redeemed once signed in) or say that this is the
 * tab opened to sign in again (#signed-in).
 */
function readLink() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  if (location.hash !== '') {
    history.replaceState(null, '', location.pathname + location.search);
  }
  return {
    token: params.get('token') ?? '',
    room: params.get('room') || DEFAULT_ROOM,
    roomGiven: params.has('room'),
    invite: params.get('invite') ?? '',
    renewed: params.has(RENEWED_FRAGMENT),
  };
}

function start() {
  // Back (or Forward) to this page without a link: early.js is already
  // taking it to the neutral page.
  if (window.hearthLeaving) return;
  window.addEventListener('pageshow', (event) => {
    if (event.persisted && app.gone) location.replace(NEUTRAL_PAGE);
  });
  window.addEventListener('keydown', onEscapeKey, true);
  $('leave-quickly').addEventListener('click', leaveQuickly);

  const link = readLink();
  bindUi();

  // A new link pasted into this tab changes only the fragment: start over
  // with it. #checkin opens the check-in page; leaving it (Back) closes it.
  window.addEventListener('hashchange', () => {
    const fresh = new URLSearchParams(location.hash.replace(/^#/, ''));
    if (fresh.has('token') || fresh.has('invite')) {
      location.reload();
      return;
    }
    if (location.hash === '#checkin') openCheckin();
    else if (app.screen === 'checkin' && location.hash !== '#help') closeCheckin();
  });

  if (link.token === '') {
    $('connection').hidden = true; // nothing to connect to (yet): no status to show
    startWithoutToken(link);
    return;
  }
  if (!ROOM_ID_RE.test(link.room)) {
    $('connection').hidden = true;
    showNotice('This link does not work', TEXT.badRoom, { focus: false });
    return;
  }
  app.token = link.token;
  connect(link.room, link.token);
}

/**
 * connect opens the connection to room roomId, signing in with token: a
 * token from the link, or the function that fetches a ticket.
 */
function connect(roomId, token) {
  app.roomId = roomId;
  $('connection').hidden = false;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  app.conn = new HearthConnection({ url: `${scheme}//${location.host}/ws`, token });
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

/**
 * startWithoutToken runs when the link holds no token: when the server
 * signs people in through the organisation's identity provider, the person
 * signs in (or is signed in already), an invite in the link is redeemed with
 * the session cookie, and the page connects with tickets. Without sign-in,
 * the calm "open your link" notice stays.
 */
async function startWithoutToken(link) {
  showScreen('connecting');
  const session = await fetchSession();
  if (app.gone) return;
  if (!session?.signIn) {
    showNotice('Welcome to Hearth', TEXT.noToken, { focus: false });
    return;
  }
  app.signInOn = true;
  if (link.renewed) {
    showNotice(SIGNIN_TEXT.renewedTitle, SIGNIN_TEXT.renewed, { focus: false });
    return;
  }
  // Where to come back to after signing in: the invite, or the group named.
  const next = link.invite ? `/#invite=${encodeURIComponent(link.invite)}` : link.roomGiven ? `/#room=${encodeURIComponent(link.room)}` : '/';
  if (!session.signedIn) {
    showNotice(SIGNIN_TEXT.signInTitle, link.invite ? SIGNIN_TEXT.signInInvite : SIGNIN_TEXT.signIn, { focus: false, signIn: next });
    return;
  }
  app.signedIn = true;
  app.sessionExpires = session.expires;
  let roomId = link.roomGiven ? link.room : '';
  try {
    if (link.invite) {
      roomId = (await cookieApi('POST', `/api/invites/${encodeURIComponent(link.invite)}/redeem`))?.id ?? '';
    } else if (!roomId) {
      const rooms = (await cookieApi('GET', '/api/rooms'))?.rooms ?? [];
      if (rooms.length === 0) {
        showNotice(SIGNIN_TEXT.noGroupTitle, SIGNIN_TEXT.noGroup, { focus: false });
        return;
      }
      if (rooms.length > 1) {
        chooseRoom(rooms);
        return;
      }
      roomId = rooms[0].id;
    }
  } catch (err) {
    if (app.gone) return;
    const title = link.invite ? SIGNIN_TEXT.inviteTitle : 'You are not connected';
    showNotice(title, err.message || TEXT.somethingWrong, { focus: false, signIn: err.code === 'not_signed_in' ? next : '' });
    return;
  }
  if (app.gone) return;
  if (!ROOM_ID_RE.test(roomId)) {
    showNotice('This link does not work', TEXT.badRoom, { focus: false });
    return;
  }
  connect(roomId, fetchTicket);
}

/** chooseRoom lists the groups of someone signed in who is in more than one. */
function chooseRoom(rooms) {
  const list = $('notice-rooms');
  list.replaceChildren();
  for (const r of rooms) {
    if (!ROOM_ID_RE.test(String(r.id))) continue;
    const button = h('button', { className: 'button', text: String(r.name || r.id), attrs: { type: 'button' } });
    button.addEventListener('click', () => {
      list.replaceChildren();
      list.hidden = true;
      connect(String(r.id), fetchTicket);
    });
    list.append(h('li', {}, button));
  }
  showNotice(SIGNIN_TEXT.chooseGroupTitle, SIGNIN_TEXT.chooseGroup, { focus: false });
  list.hidden = false;
}

/**
 * cookieApi makes one REST call with the session cookie (no token): it
 * resolves with the JSON answer, or rejects with an Error carrying the
 * server's sentence and code.
 */
async function cookieApi(method, path) {
  return restCall(method, path, { offline: SIGNIN_TEXT.unreachable, fallback: TEXT.somethingWrong });
}

/**
 * watchSignIn, once a signed-in connection is ready, watches for the end
 * of the sign-in (signin.js): a later sign-in moves the connection onto it;
 * else the person is told, with a way to sign in again in a new tab.
 */
function watchSignIn() {
  if (!app.signedIn || app.stopWatch) return;
  app.stopWatch = watchSession(app.sessionExpires, {
    refresh: async () => {
      await app.conn.refreshToken();
      const s = await fetchSession();
      if (s?.signedIn) app.sessionExpires = s.expires;
    },
    onEnding: (expires) => {
      const note = $('signin-ending');
      setText($('signin-ending-text'), SIGNIN_TEXT.ending(formatClock(new Date(expires).toISOString())));
      note.hidden = false;
    },
    onRenewed: () => {
      $('signin-ending').hidden = true;
    },
  });
}

/** signedInFinal: a signed-in connection was refused (a ticket, or the sign-in ended). */
async function signedInFinal() {
  const s = await fetchSession();
  if (app.gone) return;
  if (s?.signedIn && app.ticketRetries < 3) {
    app.ticketRetries++;
    app.finalCode = null;
    app.conn.start(); // a fresh ticket
    return;
  }
  app.stopWatch?.();
  app.stopWatch = null;
  const next = `/#room=${encodeURIComponent(app.roomId)}`;
  if (app.room || app.lobby) leaveLocally();
  showNotice(SIGNIN_TEXT.endedTitle, SIGNIN_TEXT.ended, { focus: true, signIn: next, force: true });
}

// ---------------------------------------------------------------------------
// 2. Screens and the connection status

const SCREENS = ['connecting', 'notice', 'name', 'lobby', 'chat', 'left', 'checkin'];

/**
 * showScreen shows one screen and hides the others. With focus, it moves the
 * keyboard focus to that element (usually the screen's heading or its first
 * field), so that keyboard and screen reader users land on the new content.
 */
function showScreen(name, { focus, force = false } = {}) {
  if (app.screen === 'checkin' && name !== 'checkin' && !force) {
    // The check-in page stays until the person leaves it; this screen waits behind it.
    app.behindCheckin = name;
    return;
  }
  app.screen = name;
  for (const s of SCREENS) $(`screen-${s}`).hidden = s !== name;
  if (name !== 'chat') closeDialog();
  if (focus) focus.focus();
}

/**
 * showNotice shows a calm notice. With signIn (a path on this site to come
 * back to), it offers "Sign in" through the identity provider.
 */
function showNotice(title, text, { retry = false, focus = true, signIn = '', force = false } = {}) {
  setText($('notice-title'), title);
  setText($('notice-text'), text);
  $('notice-retry').hidden = !retry;
  const link = $('notice-signin');
  link.hidden = !signIn;
  if (signIn) link.setAttribute('href', loginHref(signIn));
  $('notice-rooms').hidden = true;
  showScreen('notice', { focus: focus ? $('notice-title') : undefined, force });
}

/**
 * showAway shows the card for having left the room: by choice, removed,
 * banned, denied at the door, or the session having ended. rejoin names the
 * button that joins again (none: no button — no retry loop after a denial or
 * a ban).
 */
function showAway(title, text, { rejoin = null, assertive = false } = {}) {
  setText($('left-title'), title);
  setText($('left-text'), text);
  $('rejoin').hidden = rejoin === null;
  if (rejoin) setText($('rejoin'), rejoin);
  showScreen('left', { focus: $('left-title') });
  if (assertive) announce(`${title}. ${text}`, { assertive: true });
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
function onConnectionReady({ welcome } = {}) {
  setDeploymentResources(welcome?.resources);
  app.ticketRetries = 0;
  watchSignIn();
  // Connected again: "you are not connected" under the message box no longer holds.
  if ($('composer-error').textContent === TEXT.notConnectedSend || $('composer-error').textContent === TEXT.notConnected) {
    setComposerError('You are connected again. You can send your message now.');
  }
  if (app.room || app.lobby) {
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

/**
 * rejoin joins the room (or its lobby) again after a reconnect, with the
 * same display name; with agree, accepting that version of the group
 * agreement. If the server asks for the agreement again (its text changed
 * while the person was away), it is shown again. The promise settles when
 * the answer has been handled; it rejects only when the connection dropped
 * before an answer came while agreeing (the dialog then says so).
 */
function rejoin(agree = '') {
  const room = app.room;
  const wasLobby = app.lobby;
  const stillThere = () => (room ? app.room === room : app.lobby === wasLobby && app.lobby);
  // Facilitators always take part (the server refuses them as observers).
  const as = room?.facilitating ? PRESENCE_PARTICIPANT : app.presence;
  const frame = withHidden({ type: 'join', room: app.roomId, display_name: app.displayName, as });
  if (agree) frame.agree = agree;
  // Back in the room after a drop: resume where this page left off, so the
  // server sends what was said meanwhile (after `joined`, before anything
  // live), or says that it cannot.
  const from = room?.resumePoint() ?? null;
  if (from) frame.resume_from = from;
  return app.conn.request(
    frame,
    {
      onReply: (reply) => {
        if (!stillThere()) return; // left meanwhile
        if (reply.type === 'waiting') {
          enterLobby();
          return;
        }
        if (!room) {
          enterRoom(reply);
          return;
        }
        resendHides(room);
        if (!from) {
          room.noteJoined(reply);
          room.markRejoined();
          addNote(TEXT.restored);
          applyRejoined(room, reply);
          return;
        }
        const { gap, replaying } = room.beginResume(reply, from);
        addNote(TEXT.restored);
        if (gap) addNote(TEXT.notRecovered, 'note--warn');
        // With events to replay, the room stays as it was until they have
        // been applied (replayStep); then joined's picture is applied.
        if (replaying === 0) applyRejoined(room, reply);
      },
    },
  ).catch((err) => {
    if (!stillThere()) return;
    const code = String(err?.code ?? '');
    if (code === 'connection_lost' || code === 'not_connected' || code === 'timeout') {
      // The next 'ready' tries again; while agreeing, the dialog says what happened.
      if (agree) throw new Error(TEXT.lostJoin);
      return;
    }
    if (code === 'already_joined') return; // a late reply: we are in the room
    if (code === 'agreement_required' && err.guidelines) {
      // The agreement changed while the person was away: they accept it again, or leave.
      showAgreement(err.guidelines, {
        changed: true,
        onAgree: (version) => (stillThere() ? rejoin(version) : Promise.resolve()),
        onNotNow: () => {
          if (!stillThere()) return;
          leaveLocally();
          backToStart();
        },
        focusAfter: () => (app.screen === 'name' ? $('name-input') : null),
      });
      return;
    }
    if (code === 'forbidden' && as === PRESENCE_OBSERVER) {
      // This person now facilitates the room, and facilitators always take part.
      app.presence = PRESENCE_PARTICIPANT;
      rejoin();
      return;
    }
    if (NAME_CODES.has(code)) {
      // The name is no longer accepted (someone else took it meanwhile): ask for one again.
      leaveLocally();
      backToStart();
      setNameError(err.message || TEXT.somethingWrong);
      return;
    }
    if (code === 'banned') {
      leaveLocally();
      showAway('You can no longer join this group', err.message || TEXT.somethingWrong);
      return;
    }
    if (app.lobby) {
      setText($('lobby-error'), err?.message || TEXT.somethingWrong);
      return;
    }
    showBanner(err?.message || TEXT.somethingWrong, { retry: false });
  });
}

/**
 * applyRejoined applies the `joined` of a re-join (at once, or after the
 * events it replays): who is here, the room's state and sharing, and notes
 * for what changed.
 */
function applyRejoined(room, joined) {
  const changes = room.applyJoined(joined);
  syncPresence(room, joined.share);
  drawRoom();
  for (const note of stateChangeNotes(room.state, changes)) addNote(note);
}

/** onConnectionFinal: the connection closed with a final code and will not come back by itself. */
function onConnectionFinal({ code }) {
  app.finalCode = code;
  if (app.signedIn && code === 4401) {
    // Not "this link no longer works": a ticket was refused (try a fresh
    // one while still signed in), or the sign-in ended (sign in again).
    signedInFinal();
    return;
  }
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
  if (code === 4429) {
    title = 'You are not connected';
    text = TEXT.tooFast;
  }
  if (code === 4409) {
    title = 'Hearth is open in too many places';
    text = TEXT.tooManyConnections;
  }
  if (app.screen === 'chat' || (app.screen === 'checkin' && app.room)) {
    // Keep the conversation readable; explain above it.
    showBanner(text, { retry });
    updateComposer();
  } else {
    showNotice(title, text, { retry });
  }
}

/** retryAfterFinal starts a fresh connection with the same in-memory token. */
function retryAfterFinal() {
  app.finalCode = null;
  clearBanner();
  updateComposer();
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
// 4. Joining with a display name, and the lobby

async function onJoinSubmit(event) {
  event.preventDefault();
  if (app.joining) return;
  const input = $('name-input');
  const name = input.value;
  const as = $('as-observer').checked ? PRESENCE_OBSERVER : PRESENCE_PARTICIPANT;
  clearNameError();
  setText($('name-note'), '');
  if (!app.conn?.ready) {
    setNameError(TEXT.notConnected);
    return;
  }
  // "Taking part" is not sent: a join without `as` keeps the presence
  // this person already has here (another tab), else taking part.
  const frame = withHidden({ type: 'join', room: app.roomId, display_name: name });
  if (as === PRESENCE_OBSERVER) frame.as = as;
  app.joining = true;
  $('name-submit').setAttribute('aria-disabled', 'true');
  try {
    await join(frame);
  } catch (err) {
    joinRefused(err, frame);
  } finally {
    app.joining = false;
    $('name-submit').removeAttribute('aria-disabled');
  }
}

/**
 * join sends a join from the name screen and, once answered, enters the
 * room or its lobby. It rejects with the server's error (or a local one).
 */
function join(frame) {
  return app.conn.request(frame, {
    // Applied synchronously so events right behind `joined` find the room.
    onReply: (reply) => {
      app.displayName = frame.display_name;
      const observing = reply.share?.observers?.includes(reply.you?.member_id);
      app.presence = reply.type === 'joined' ? (observing ? PRESENCE_OBSERVER : PRESENCE_PARTICIPANT) : (frame.as ?? PRESENCE_PARTICIPANT);
      if (reply.type === 'waiting') enterLobby();
      else enterRoom(reply);
    },
  });
}

/**
 * joinRefused explains a refused join on the name screen: the group
 * agreement to accept first (in the dialog), or the server's sentence next
 * to the name field, with the focus back in the field.
 */
function joinRefused(err, frame) {
  const code = String(err?.code ?? '');
  if (code === 'agreement_required' && err.guidelines) {
    showAgreement(err.guidelines, {
      onAgree: (version) => agreeAndJoin({ ...frame, agree: version }),
      onNotNow: () => setText($('name-note'), TEXT.notJoined),
      // After a refusal the field holds the focus (with its sentence); else the button.
      focusAfter: () => (app.screen === 'name' ? $($('name-error').textContent ? 'name-input' : 'name-submit') : null),
    });
    return;
  }
  let text = err?.message || TEXT.somethingWrong;
  if (code === 'not_connected') text = TEXT.notConnected;
  if (code === 'connection_lost' || code === 'timeout') text = TEXT.lostJoin;
  setNameError(text);
  if (app.screen === 'name') $('name-input').focus();
}

/**
 * agreeAndJoin is "I agree and join": the join again, with `agree`. A
 * dropped connection is said inside the dialog (it stays open, to try
 * again); any other refusal closes it and is explained on the name screen
 * (a changed agreement opens it anew).
 */
async function agreeAndJoin(frame) {
  if (!app.conn?.ready) throw new Error(TEXT.notConnected);
  app.joining = true;
  try {
    await join(frame);
  } catch (err) {
    const code = String(err?.code ?? '');
    if (code === 'connection_lost' || code === 'timeout' || code === 'not_connected') throw new Error(TEXT.lostJoin);
    if (code !== 'agreement_required' && app.screen !== 'name') backToStart();
    const asked = { ...frame };
    delete asked.agree; // a changed agreement is accepted anew
    joinRefused(err, asked);
  } finally {
    app.joining = false;
  }
}

/** backToStart shows the name screen (the start screen), with the name last used. */
function backToStart() {
  const input = $('name-input');
  if (app.displayName) input.value = app.displayName;
  $(app.presence === PRESENCE_OBSERVER ? 'as-observer' : 'as-participant').checked = true;
  clearNameError();
  setText($('name-note'), '');
  showScreen('name', { focus: input });
}

/** setNameError shows a sentence next to the name field (the server's, for a refused name). */
function setNameError(text) {
  setText($('name-error'), text);
  $('name-input').setAttribute('aria-invalid', 'true');
}

function clearNameError() {
  setText($('name-error'), '');
  $('name-input').removeAttribute('aria-invalid');
}

/**
 * enterLobby shows the waiting room: the join was answered `waiting`, and
 * nothing comes from the room until a facilitator's admit (`joined`) or deny
 * (`denied`).
 */
function enterLobby() {
  if (app.room) leaveLocally(); // back at the door (the session ended while we were away)
  app.lobby = true;
  setText($('lobby-you'), app.displayName ? `You are here as ${app.displayName}.` : '');
  setText($('lobby-error'), '');
  $('lobby-rejoin').hidden = true;
  if (app.screen !== 'lobby') showScreen('lobby', { focus: $('lobby-title') });
}

/** enterRoom takes a `joined` (the reply to join, or the admit from the lobby) into the room. */
function enterRoom(joined) {
  const room = new RoomState(app.roomId);
  room.applyJoined(joined);
  room.noteJoined(joined);
  syncPresence(room, joined.share);
  app.room = room;
  app.lobby = false;
  resendHides(room);
  enterChat();
  // Once on entering, above the conversation; a re-join after a reconnect
  // keeps the room (and this note, unless dismissed) and does not add it again.
  addNotice({ key: 'confidential', tone: 'info', title: TEXT.confidentialTitle, text: TEXT.confidentialText });
}

function enterChat() {
  clearConversation();
  setText($('room-name'), app.room.id);
  // Facilitators read check-ins; members write them.
  setText($('checkin-link'), app.room.facilitating ? 'Check-ins' : 'Check in');
  document.title = `${app.room.id} · Hearth`;
  renderYouAre();
  drawRoom();
  // On a phone, focusing the text box would cover the screen with the keyboard.
  const focus = isTouch() || $('composer-text').disabled ? $('room-title') : $('composer-text');
  showScreen('chat', { focus });
}

function renderYouAre() {
  const you = app.room?.you;
  setText($('you-are'), you ? `You are here as ${you.display_name}.` : '');
}

/** leaveLobby: "Leave the waiting room". */
function leaveLobby() {
  if (!app.lobby) return;
  app.lobby = false;
  if (app.conn.ready) app.conn.request({ type: 'leave', room: app.roomId }).catch(() => {});
  showAway('You have left the waiting room', 'Nothing was kept on this page. You can come back whenever you are ready.', { rejoin: 'Join again' });
}

/** Events while waiting at the door: only `joined` (admitted) and `denied` matter. */
function onLobbyEvent(event) {
  if (event.type === 'joined') {
    enterRoom(event);
    announce('A facilitator has let you in.');
  } else if (event.type === 'denied') {
    app.lobby = false;
    showAway('You were not let in this time',
      'A facilitator was not able to let you into the group just now. Thank you for your patience. If you think this is a mistake, please contact your facilitator.');
  } else if (event.type === 'error') {
    // Being let in failed on the server's side: offer to knock again.
    setText($('lobby-error'), `${TEXT.lobbyTrouble} ${event.message || ''}`.trim());
    $('lobby-rejoin').hidden = false;
  }
}

// ---------------------------------------------------------------------------
// 5. Room events
//
// Every event about a room carries `room`; room events carry `seq` too.
// onServerEvent checks that it is about our room, notes the seq (and says so
// when some were missed), then calls the handler for its type. Unknown types
// are ignored, so a newer server can add events without breaking this client.

/** @type {Record<string, (event: any, room: RoomState) => void>} */
const roomEventHandlers = {
  message: onMessage,
  member_joined: onMemberJoined,
  member_left: onMemberLeft,
  room_state: onRoomState,
  facilitator_state: onFacilitatorState,
  message_deleted: onMessageDeleted,
  session_ended: onSessionEnded,
  session_ending_soon: onSessionEndingSoon,
  warned: onWarned,
  muted: onMuted,
  unmuted: onUnmuted,
  removed: onRemoved,
  dm: (event) => onDm(event),
  report: onReport,
  queue: onQueue,
  reactions: (event, room) => onReactions(event, room),
  timer_elapsed: (event, room) => onTimerElapsed(event, room),
};

function onServerEvent(event) {
  // Crisis resources and alerts are personal: they may come before any join,
  // or be about another room (a facilitator's alerts), and carry no seq.
  if (onCrisisEvent(event)) {
    onAlertChange(event); // a check-in summary's flag may change
    return;
  }
  // Check-ins come to facilitators wherever they are (checkins.js).
  if (onCheckinEvent(event)) return;
  if (app.lobby && event.room === app.roomId) {
    onLobbyEvent(event);
    return;
  }
  if (event.type === 'error') {
    // An error for a frame without an id (this client always sends ids).
    console.warn('hearth: server error without a request:', event.code, event.message);
    return;
  }
  const room = app.room;
  if (!room || typeof event.room !== 'string' || event.room !== room.id) return;
  // After a resumed join, the replayed events come first, applied like
  // live ones (each handler is idempotent: a message already shown is not
  // shown again); joined's picture of the room is applied once they have.
  const pastReplay = room.replayStep(event.seq, false);
  if (pastReplay) applyRejoined(room, pastReplay);
  const gap = room.noteSeq(event.seq);
  // A hidden member's messages arrive as {"type":"hidden"} stand-ins that
  // carry their seq, so hiding someone leaves no gap; only excuseGap (set
  // where the room says a gap is expected) silences the note.
  const excused = room.excuseGap && Number.isSafeInteger(event.seq);
  if (Number.isSafeInteger(event.seq)) room.excuseGap = false;
  if (gap && !excused) addNote(TEXT.missing, 'note--warn');
  roomEventHandlers[event.type]?.(event, room);
  const replayed = app.room === room ? room.replayStep(event.seq, true) : null;
  if (replayed) applyRejoined(room, replayed);
}

function onMessage(event, room) {
  if (typeof event.message_id === 'string') {
    if (room.seenMessages.has(event.message_id)) return;
    room.seenMessages.add(event.message_id);
  }
  addMessage(event, room, { hidden: app.hidden.has(event.from?.member_id) });
}

function onMemberJoined(event, room) {
  const member = room.addMember(event.member);
  drawPresence();
  if (member && !room.isYou(member.member_id)) {
    addNote(`${member.display_name || 'Someone'} joined.`);
  }
}

function onMemberLeft(event, room) {
  const member = room.removeMember(event.member_id);
  drawPresence();
  if (member && !room.isYou(member.member_id)) {
    addNote(`${member.display_name || 'Someone'} left.`);
  }
}

function onRoomState(event, room) {
  const changes = room.applyState(event);
  renderRoomState(room);
  renderFacilitator(room);
  renderShare(room);
  updateComposer();
  for (const note of stateChangeNotes(room.state, changes)) addNote(note);
}

/**
 * queue: raised hands, the floor, the turn's time guide and who is
 * listening — the whole state each time, so applying one twice (or a late
 * one) changes nothing.
 */
function onQueue(event, room) {
  const changes = room.applyShare(event);
  if (!changes) return;
  syncPresence(room, event);
  announceShareChanges(room, changes);
  drawShare();
}

/**
 * syncPresence keeps app.presence (what a re-join asks for) equal to what
 * the server says, when it says it: the switch may have been used in another
 * tab of the same person.
 */
function syncPresence(room, share) {
  if (room.facilitating || !share || typeof share !== 'object' || !Array.isArray(share.observers)) return;
  app.presence = room.observing ? PRESENCE_OBSERVER : PRESENCE_PARTICIPANT;
}

/** setPresence: the server accepted this person's "Taking part" / "Just listening". */
function setPresence(as) {
  const room = app.room;
  app.presence = as;
  if (!room?.you) return;
  // The `queue` event that follows says the same; draw it now.
  if (as === PRESENCE_OBSERVER) room.share.observers.add(room.you.member_id);
  else room.share.observers.delete(room.you.member_id);
  drawShare();
}

/** drawShare redraws what depends on the sharing state. */
function drawShare() {
  renderShare(app.room);
  renderPeople(app.room, app.hidden);
  renderFacilitator(app.room);
  updateComposer();
}

function onFacilitatorState(event, room) {
  if (!room.facilitating) return;
  const newcomers = room.applyFacilitatorState(event);
  drawPresence();
  if (newcomers.length > 0) announce(waitingSentence(newcomers));
}

function onMessageDeleted(event, room) {
  const id = event.message_id;
  if (typeof id !== 'string') return;
  room.seenMessages.add(id); // a late copy must not bring it back
  room.reactions.delete(id);
  // A member's own message deleted by a facilitator: say so, privately and
  // calmly, rather than let it vanish without a word.
  const item = findMessage(id);
  if (item && room.you && item.dataset.authorId === room.you.member_id && !app.ownDeletes.has(id) && !room.facilitating) {
    addNotice({
      key: `deleted:${id}`,
      title: 'A facilitator removed one of your messages.',
      text: 'Only you see this note. If you would like to talk about it, you can message a facilitator privately.',
    });
  }
  app.ownDeletes.delete(id);
  removeMessage(id);
  closeDialogFor(`msg:${id}`);
  // Reports quoting it lose the text too: it is gone from the page everywhere.
  for (const notice of allNotices()) {
    if (notice.dataset.aboutMessage !== id) continue;
    const quote = notice.querySelector('.quote');
    if (quote) setText(quote, 'This message has been deleted.');
    for (const b of notice.querySelectorAll('button[data-needs-message]')) b.remove();
  }
}

/**
 * session_ended: the conversation is cleared from the page (nothing is
 * kept). Members are then taken out of the room by the server; facilitators
 * stay, to start the next session.
 */
function onSessionEnded(event, room) {
  if (!room.facilitating) {
    leaveLocally();
    showAway('This session has ended',
      'Thank you for being here today. The conversation has been cleared from this page; nothing is kept.',
      { rejoin: 'Join the next session' });
    return;
  }
  closeDialog();
  room.clearConversation();
  room.forgetResumePoint(); // the session's events are gone: the next join is a fresh one
  clearLog();
  clearDms();
  clearNotices();
  renderDms();
  addNote('The session has ended. The conversation has been cleared from this page; nothing is kept.');
}

function onSessionEndingSoon(event, room) {
  if (!room.facilitating) return;
  const end = typeof event.planned_end === 'string' ? event.planned_end : room.state?.plannedEnd;
  const left = end ? minutesUntil(end) : NaN;
  addNotice({
    key: 'ending-soon',
    tone: 'info',
    label: 'Only facilitators see this',
    title: end ? `The session is planned to end at ${formatClock(end)}` : 'The session is planned to end soon',
    text: `${left > 0 ? `That is about ${plural(left, 'minute')} from now. ` : ''}Nothing ends by itself: use “End session” in the facilitator tools when you are ready.`,
  });
}

function onWarned(event) {
  const reason = typeof event.reason === 'string' ? event.reason : '';
  addNotice({
    key: `warned-${Date.now()}`,
    tone: 'warn',
    title: 'A private note from a facilitator',
    label: 'Only you see this',
    text: reason || 'Please keep the group’s agreements in mind.',
  });
}

function onMuted(event, room) {
  applyMute(room, {
    reason: typeof event.reason === 'string' ? event.reason : '',
    until: typeof event.until === 'string' ? event.until : '',
  });
}

function onUnmuted(event, room) {
  if (!room.myMute) return;
  liftMute(room);
}

/** removed: taken out of the room by a facilitator (with banned: for good). */
function onRemoved(event) {
  const banned = event.banned === true;
  leaveLocally();
  if (banned) {
    showAway('You can no longer join this group',
      'A facilitator has removed you from this group, and you cannot rejoin it. The conversation has been cleared from this page. If you have questions, please contact your facilitator.',
      { assertive: true });
  } else {
    showAway('A facilitator has removed you from the group',
      'You are no longer in the room, and the conversation has been cleared from this page. You may join again later if you wish.',
      { rejoin: 'Join again', assertive: true });
  }
}

function onReport(event, room) {
  if (!room.facilitating || typeof event.message_id !== 'string') return;
  const id = event.message_id;
  const reporter = room.nameOf(event.reporter_member_id) || 'A member';
  const about = room.nameOf(event.about_member_id);
  const reason = typeof event.reason === 'string' && event.reason.trim() ? event.reason : '';
  const actions = [];
  if (findMessage(id)) {
    actions.push({
      label: 'Show message',
      onClick: () => {
        const item = findMessage(id);
        if (!item) return;
        item.scrollIntoView({ block: 'center' });
        item.querySelector('.msg-more')?.focus();
      },
    });
    actions.push({
      label: 'Delete message',
      onClick: () => {
        const item = findMessage(id);
        if (item) confirmDelete({ messageId: id, text: item.querySelector('.msg-text')?.textContent ?? '', own: false });
      },
    });
  }
  const notice = addNotice({
    key: `report-${id}-${event.reporter_member_id}`,
    tone: 'warn',
    label: 'Only facilitators see this',
    title: about ? `${reporter} reported a message from ${about}` : `${reporter} reported a message`,
    text: reason ? `Their reason: ${reason}` : 'No reason was given.',
    quote: typeof event.text === 'string' && event.text !== '' ? event.text : 'The message is no longer available.',
    actions,
    data: { aboutMessage: id },
  });
  for (const b of notice.querySelectorAll('.notice-actions button')) {
    if (b.textContent !== 'Dismiss') b.dataset.needsMessage = '';
  }
}

// ---------------------------------------------------------------------------
// 6. Drawing the room

/** drawRoom draws everything about the room (after entering or re-joining). */
function drawRoom() {
  const room = app.room;
  renderRoomState(room);
  renderFacilitator(room);
  drawPresence();
  updateComposer();
}

/** drawPresence redraws what depends on who is here (people list, private messages, waiting room). */
function drawPresence() {
  renderPeople(app.room, app.hidden);
  renderDms();
  renderFacilitator(app.room);
  renderShare(app.room);
  renderCrisis(app.room);
  renderCheckinsPanel(app.room);
}

/** The people list starts open on wide screens and closed on phones. */
function setPeopleExpanded(expanded) {
  $('people-toggle').setAttribute('aria-expanded', String(expanded));
  $('people-list').hidden = !expanded;
}

/**
 * updateComposer enables the message box unless the connection closed for
 * good, this person is muted, just listening, or waiting for their turn
 * ("Taking turns"), and says why in the hint under it.
 */
function updateComposer() {
  const room = app.room;
  const mute = room?.myMute ?? null;
  const block = mute === null ? composerBlock(room) : null;
  const enabled = app.finalCode === null && mute === null && block === null;
  const textarea = $('composer-text');
  const hadFocus = document.activeElement === textarea || document.activeElement === $('composer-send');
  const wasEnabled = !textarea.disabled;
  textarea.disabled = !enabled;
  $('composer-send').disabled = !enabled;
  $('composer').classList.toggle('composer--muted', mute !== null);
  $('composer').classList.toggle('composer--waiting', block !== null);
  const hint = mute ? mutedHint(mute) : (block?.text ?? (composerHint(room) || TEXT.composerHint));
  if ($('composer-hint').textContent !== hint) setText($('composer-hint'), hint);
  if (hadFocus && !enabled) {
    // The box can no longer hold the focus: put it on what explains why
    // (the mute notice, or the sharing controls).
    const notice = mute ? allNotices().find((n) => n.dataset.key === 'muted') : null;
    (notice?.querySelector('button') ?? (block ? focusAfterBlock() : null) ?? $('room-title')).focus();
  }
  // A refusal about sharing no longer applies once the box can be used again.
  if (enabled && !wasEnabled && app.shareRefusal !== '') {
    if ($('composer-error').textContent === app.shareRefusal) setComposerError('');
    app.shareRefusal = '';
  }
}

function mutedHint(mute) {
  return mute.until
    ? `Your messages to the group are paused until ${formatWhen(mute.until)}.`
    : 'Your messages to the group are paused until a facilitator lets you send again.';
}

/** applyMute disables the message box and says why and until when (local time). */
function applyMute(room, mute) {
  const same = room.myMute && room.myMute.until === mute.until && room.myMute.reason === mute.reason;
  room.myMute = mute;
  clearTimeout(app.muteTimer);
  if (mute.until) {
    const ms = new Date(mute.until).getTime() - Date.now();
    // A fallback for an `unmuted` that never came (say, across a reconnect):
    // the server lets a timed mute lapse at its end either way.
    if (Number.isFinite(ms)) app.muteTimer = setTimeout(() => { if (app.room === room && room.myMute === mute) liftMute(room); }, Math.max(0, ms) + 2_000);
  }
  if (!same) {
    removeNotice('unmuted');
    addNotice({
      key: 'muted',
      tone: 'alert',
      assertive: true,
      title: mute.until ? `A facilitator has paused your messages until ${formatWhen(mute.until)}` : 'A facilitator has paused your messages for now',
      label: 'Only you see this',
      text: `${mute.reason ? `Reason: ${sentence(mute.reason)} ` : ''}${mute.until ? '' : 'A facilitator will let you send again. '}You can still read the conversation and write privately to a facilitator.`,
    });
  }
  updateComposer();
}

/** sentence ends a piece of text with a full stop unless it already ends with punctuation. */
function sentence(text) {
  const t = text.trim();
  return /[.!?…)"”’]$/.test(t) ? t : `${t}.`;
}

function liftMute(room) {
  clearTimeout(app.muteTimer);
  room.myMute = null;
  removeNotice('muted');
  addNotice({ key: 'unmuted', tone: 'ok', title: 'You can send messages to the group again.', fadeAfterMs: 30_000 });
  updateComposer();
}

/** clearConversation removes the whole conversation from the page. */
function clearConversation() {
  clearLog();
  clearDms();
  clearNotices();
  renderPeople(null, app.hidden);
  setText($('you-are'), '');
  setText($('room-name'), '');
  $('composer-text').value = '';
  setComposerError('');
  clearBanner();
  renderRoomState(null);
  renderFacilitator(null);
  renderShare(null);
  renderCrisis(null);
  renderCheckinsPanel(null);
  $('dm-section').hidden = true;
  document.title = 'Hearth';
}

// ---------------------------------------------------------------------------
// 7. Sending, leaving, commands

/**
 * send sends a room command and resolves with its reply; it rejects with an
 * Error whose message is a sentence to show next to the control (the
 * server's own sentence for an `error` reply).
 */
function send(frame) {
  const room = app.room;
  if (!room || !app.conn?.ready) return Promise.reject(Object.assign(new Error(TEXT.notConnected), { code: 'not_connected' }));
  return request({ ...frame, room: room.id }).catch((err) => {
    if (err.code === 'in_lobby' && app.room === room) enterLobby();
    throw err;
  });
}

/**
 * request sends a frame that names its own room (a facilitator's alert may
 * be about another room), with the same error sentences as send.
 */
function request(frame) {
  if (!app.conn?.ready) return Promise.reject(Object.assign(new Error(TEXT.notConnected), { code: 'not_connected' }));
  return app.conn.request(frame).catch((err) => {
    const code = String(err?.code ?? '');
    let message = err?.message || TEXT.somethingWrong;
    if (code === 'not_connected') message = TEXT.notConnected;
    if (code === 'connection_lost' || code === 'timeout') message = TEXT.lostCommand;
    throw Object.assign(new Error(message), { code, reason: err?.reason ?? '', until: err?.until ?? '', retryAfterMs: err?.retryAfterMs ?? 0 });
  });
}

async function onSendSubmit(event) {
  event.preventDefault();
  const textarea = $('composer-text');
  const text = textarea.value;
  if (text.trim() === '' || app.sending !== null || textarea.disabled) return;

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
    if (code === 'muted' && app.room === room) {
      // We may have missed the `muted` notice (it is sent once); the error carries the same facts.
      message = 'Your message was not sent: a facilitator has paused your messages. It is still in the box.';
      applyMute(room, { reason: err.reason ?? '', until: err.until ?? '' });
    }
    if (code === 'slow_mode') message = waitMessage('Slow mode is on', err.retryAfterMs);
    if (code === 'rate_limited') message = waitMessage('That was a lot at once', err.retryAfterMs);
    if (code === 'in_lobby' && app.room === room) enterLobby();
    if (code === 'not_your_turn' || code === 'observer') app.shareRefusal = message;
    setComposerError(message); // the text stays in the box
  } finally {
    app.sending = null;
    $('composer-send').removeAttribute('aria-disabled');
  }
}

/**
 * waitMessage says when one may send again (slow mode, rate_limited), and
 * says so again once that time comes.
 */
function waitMessage(why, retryAfterMs) {
  const seconds = Math.max(1, Math.ceil((retryAfterMs || 1000) / 1000));
  const message = `${why}: you can send again in ${plural(seconds, 'second')}. Your message is still in the box.`;
  clearTimeout(app.slowTimer);
  app.slowTimer = setTimeout(() => {
    if ($('composer-error').textContent === message) setComposerError('You can send your message now.');
  }, seconds * 1000);
  return message;
}

/** Enter sends; Shift+Enter (and Enter while composing with an input method) makes a new line. */
function onComposerKeydown(event) {
  if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  event.preventDefault();
  $('composer').requestSubmit();
}

function setComposerError(text) {
  setText($('composer-error'), text);
  if (text && text !== 'You can send your message now.') $('composer-text').setAttribute('aria-invalid', 'true');
  else $('composer-text').removeAttribute('aria-invalid');
}

/** leaveLocally forgets the room on this page (no `leave` is sent: the server already took us out). */
function leaveLocally() {
  app.room = null;
  app.lobby = false;
  clearTimeout(app.muteTimer);
  clearTimeout(app.slowTimer);
  clearConversation();
}

function leaveRoom() {
  const room = app.room;
  if (!room) return;
  leaveLocally(); // from now on, events and re-joins for it are ignored
  if (app.conn.ready) app.conn.request({ type: 'leave', room: room.id }).catch(() => {});
  showAway('You have left the group',
    'The conversation has been cleared from this page. Thank you for being here today.',
    { rejoin: 'Join again' });
}

function joinAgain() {
  if (app.finalCode !== null) {
    // The connection closed for good while in the room: explain that first.
    onConnectionFinal({ code: app.finalCode });
    return;
  }
  backToStart();
}

// ---------------------------------------------------------------------------
// 8. Members' safety tools, and deleting messages

/** onMessageAction runs an action chosen on a message in the log. */
function onMessageAction(action, target) {
  const room = app.room;
  if (!room) return;
  const { messageId, authorId, authorName, text, element } = target;
  if (action === 'delete') {
    confirmDelete({ messageId, text, own: room.isYou(authorId) });
  } else if (action === 'report') {
    openDialog({
      key: `msg:${messageId}`,
      title: `Report this message from ${authorName}`,
      text: 'Only the facilitators see your report. The person who wrote it is not told.',
      quote: text,
      fields: [{
        name: 'reason', label: 'What worries you about it? (optional)', type: 'textarea',
        maxlength: MAX_REASON_CODE_POINTS, hint: `You can leave this empty. Up to ${MAX_REASON_CODE_POINTS} characters.`,
      }],
      confirmLabel: 'Send report',
      onConfirm: async ({ reason }) => {
        const frame = { type: 'report', message_id: messageId };
        if (reason.trim()) frame.reason = reason.trim();
        await send(frame);
        addNotice({ key: `reported-${messageId}`, tone: 'ok', title: 'Thank you. Your report was sent to the facilitators.', label: 'Only you see this', fadeAfterMs: 20_000 });
      },
      fallbackFocus: () => $('log'),
    });
  } else if (action === 'hide') {
    hidePerson(authorId, authorName, element);
  }
}

function confirmDelete({ messageId, text, own }) {
  openDialog({
    key: `msg:${messageId}`,
    title: own ? 'Delete your message?' : 'Delete this message for everyone?',
    text: 'It will be removed from everyone’s screen.',
    quote: text,
    confirmLabel: 'Delete',
    danger: true,
    onConfirm: () => {
      app.ownDeletes.add(messageId);
      return send({ type: 'delete_message', message_id: messageId });
    },
    fallbackFocus: () => $('log'),
  });
}

/** hidePerson: "Hide this person" — their later messages do not come; nobody is told. */
async function hidePerson(memberId, name, element) {
  try {
    await send({ type: 'hide', member_id: memberId });
  } catch (err) {
    setMessageError(element, err.message);
    return;
  }
  app.hidden.add(memberId);
  setAuthorHidden(memberId, true);
  renderPeople(app.room, app.hidden);
  const note = addNote(`You hid ${name}’s messages. Only you know this.`, 'note--hidden', {
    label: 'Show again',
    ariaLabel: `Show again: ${name}’s messages`,
    onClick: () => unhidePerson(memberId, name),
  });
  note.dataset.unhide = memberId;
  note.querySelector('button')?.focus();
}

/** unhidePerson: "Show again". Messages sent while hidden never came, so they stay unseen. */
async function unhidePerson(memberId, name) {
  try {
    await send({ type: 'unhide', member_id: memberId });
  } catch (err) {
    setPersonError(memberId, err.message);
    announce(err.message);
    return;
  }
  app.hidden.delete(memberId);
  setAuthorHidden(memberId, false);
  for (const note of $('log').querySelectorAll('.note')) {
    if (note.dataset.unhide === memberId) note.querySelector('button')?.remove();
  }
  renderPeople(app.room, app.hidden);
  addNote(`You are seeing ${name}’s messages again. Messages they sent while hidden are not shown.`);
  $('log').focus();
}

/**
 * withHidden adds to a join frame who this person has hidden (the server
 * forgets a hide with the connection), so that it applies from the start —
 * to replayed messages too — and notes what was sent.
 */
function withHidden(frame) {
  app.hiddenSent = [...app.hidden].slice(0, MAX_HIDDEN);
  if (app.hiddenSent.length > 0) frame.hidden = app.hiddenSent;
  return frame;
}

/** resendHides sends, after a join, the hides the join could not carry (more than MAX_HIDDEN, or hidden since it was sent). */
function resendHides(room) {
  const sent = new Set(app.hiddenSent);
  for (const memberId of app.hidden) {
    if (sent.has(memberId)) continue;
    app.conn.request({ type: 'hide', room: room.id, member_id: memberId }).catch(() => {});
  }
}

/** onPersonAction runs an action chosen on someone in the people list. */
function onPersonAction(action, member) {
  if (action === 'dm') {
    openDmWith(member.member_id);
  } else if (action === 'unhide') {
    unhidePerson(member.member_id, member.display_name || 'this person');
  } else {
    personAction(action, member, (text) => setPersonError(member.member_id, text));
  }
}

// ---------------------------------------------------------------------------
// 9. The check-in page (#checkin)
//
// Between sessions, no live session needed: the page speaks REST with the
// token held in memory (checkins.js). It covers whatever screen was showing
// — the room too, which goes on behind it — and Back returns there.

/** openCheckin shows the check-in page (the #checkin route) and loads it afresh. */
function openCheckin() {
  if (!app.token && !app.signedIn) return; // no link and not signed in: nothing to sign in with
  if (app.screen !== 'checkin') {
    app.behindCheckin = app.screen;
    const active = document.activeElement;
    app.checkinOpener = active instanceof HTMLElement && active !== document.body ? active : null;
  }
  app.checkinPushed = true;
  showScreen('checkin', { focus: $('checkin-title') });
  document.title = 'Check in · Hearth';
  openCheckinPage();
}

/** leaveCheckin is the page's Back: back through history when opening it added an entry. */
function leaveCheckin() {
  if (location.hash === '#checkin' && app.checkinPushed) {
    history.back(); // hashchange closes the page
    return;
  }
  if (location.hash === '#checkin') history.replaceState(null, '', location.pathname + location.search);
  closeCheckin();
}

/** closeCheckin shows again the screen behind the check-in page (or the one asked for meanwhile). */
function closeCheckin() {
  if (app.screen !== 'checkin') return;
  app.checkinPushed = false;
  let target = app.behindCheckin;
  if (app.room) target = 'chat';
  else if (app.lobby) target = 'lobby';
  else if (target === 'chat' || target === 'checkin' || (target === 'connecting' && app.conn?.ready)) target = 'name';
  const heading = document.querySelector(`#screen-${target} h1`);
  const opener = app.checkinOpener;
  app.checkinOpener = null;
  showScreen(target, { force: true });
  document.title = app.room ? `${app.room.id} · Hearth` : 'Hearth';
  const usable = opener && opener.isConnected && !opener.closest('[hidden]');
  (usable ? opener : heading)?.focus();
}

// ---------------------------------------------------------------------------
// 10. Leave quickly
//
// People may be somewhere where being seen in a support group is unsafe.
// "Leave quickly" in the top bar, or Escape pressed twice within a second,
// at once — without waiting for the server — closes the socket, takes every
// text off the page (messages, names, private messages, check-in notes,
// dialogs), forgets the token and the room, and replaces this history entry
// with neutral.html (a plain weather page) by location.replace. Not with
// history.replaceState first: Chromium then counts the page's earlier entries
// (the same document) as the neutral page's, and Back shows it under the
// group's address, where a reload brings the group's page back. Earlier
// entries of the group's address, reached by Back, load the neutral page
// again before anything is drawn (early.js). Escape closes an open dialog
// first: an Escape pressed while a dialog is open only closes it and does
// not count; two more leave. (An Escape that closes the support list or a
// message's menu does count.)

const NEUTRAL_PAGE = 'neutral.html';
const ESCAPE_TWICE_MS = 1000;
/** When the last Escape that counts was pressed (performance.now()), or 0. */
let lastEscape = 0;

function onEscapeKey(event) {
  if (event.key !== 'Escape') return;
  if (document.querySelector('dialog[open]')) {
    lastEscape = 0; // this Escape closes the dialog
    return;
  }
  const now = performance.now();
  if (lastEscape !== 0 && now - lastEscape <= ESCAPE_TWICE_MS) {
    event.preventDefault();
    leaveQuickly();
    return;
  }
  lastEscape = now;
}

function leaveQuickly() {
  if (app.gone) return;
  app.gone = true;
  try {
    app.conn?.destroy();
  } catch {
    /* leaving matters more */
  }
  // No timer of this page may draw again (timer ids count up from 1).
  const last = setTimeout(() => {}, 0);
  for (let id = 1; id <= last; id++) {
    clearTimeout(id);
    clearInterval(id);
  }
  wipePage('Weather');
  // Signed in through the identity provider: the session cookie goes too,
  // so this browser does not stay signed in to the group.
  if (app.signInOn) logout();
  app.stopWatch?.();
  app.signedIn = false;
  app.conn = null;
  app.token = '';
  app.room = null;
  app.lobby = false;
  app.displayName = '';
  app.sending = null;
  app.checkinOpener = null;
  app.hidden.clear();
  app.hiddenSent = [];
  location.replace(NEUTRAL_PAGE);
}

// ---------------------------------------------------------------------------

function bindUi() {
  initDialog();
  initNotices({ focusFallback: () => (app.screen === 'chat' ? $('room-title') : null) });
  initLog({ onAction: onMessageAction });
  initPeople({ onAction: onPersonAction });
  const context = { send, getRoom: () => app.room };
  initDms(context);
  initShare({ ...context, setPresence });
  initReactions(context);
  initFacilitator({ ...context, token: () => app.token, openAlerts: (roomId) => openAlertsIn(roomId).map(alertSummary) });
  initCrisis({
    ...context,
    request,
    openDm: openDmWith,
    hasMessage: (id) => findMessage(id) !== null,
    showMessage: (id) => {
      const item = findMessage(id);
      if (!item || item.hidden) return false;
      item.scrollIntoView({ block: 'center' });
      item.querySelector('.msg-more')?.focus();
      return true;
    },
  });

  // After initCrisis: the page shows the same "Get help now" resources.
  initCheckins({ token: () => app.token, getRoom: () => app.room, onBack: leaveCheckin });

  $('name-form').addEventListener('submit', onJoinSubmit);
  $('composer').addEventListener('submit', onSendSubmit);
  $('composer-text').addEventListener('keydown', onComposerKeydown);
  $('leave').addEventListener('click', leaveRoom);
  $('rejoin').addEventListener('click', joinAgain);
  $('lobby-leave').addEventListener('click', leaveLobby);
  $('lobby-rejoin').addEventListener('click', () => {
    $('lobby-rejoin').hidden = true;
    setText($('lobby-error'), '');
    if (app.conn.ready) {
      // Knock again: leave the door and join anew.
      app.conn.request({ type: 'leave', room: app.roomId }).catch(() => {}).finally(() => rejoin());
    }
  });
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
  const applyWidth = (matches) => {
    setPeopleExpanded(matches);
    setFacilitatorExpanded(matches);
    setDmsExpanded(matches);
    setAlertsExpanded(matches || hasOpenAlerts());
    setCheckinsExpanded(matches);
  };
  applyWidth(wide.matches);
  wide.addEventListener('change', (e) => applyWidth(e.matches));
}

start();
