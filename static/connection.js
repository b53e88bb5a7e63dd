// connection.js — the Hearth protocol v1 transport (docs/protocol.md).
//
// One HearthConnection owns one WebSocket at a time and hides everything
// about the wire from the UI:
//
//   * opening the socket at /ws with the `hearth.v1` subprotocol,
//   * sending `auth` first and waiting for `welcome`,
//   * numbering request ids and routing each reply (ok / welcome / joined /
//     waiting / pong / error) back to the promise of the request that asked
//     for it,
//   * splitting every server frame on '\n' (a frame may hold several events),
//   * an application-level ping so that a dead connection (a phone changing
//     networks, a laptop waking up) is noticed and replaced,
//   * reconnecting with backoff on the close codes the protocol marks
//     "reconnect", and stopping on the final ones.
//
// It knows nothing about rooms or the page. The UI listens to:
//
//   conn.on('state', ({state, code, delayMs}) => …)  connecting | connected |
//                                                   reconnecting | disconnected
//   conn.on('ready', ({welcome, reconnected}) => …) after each successful auth;
//                                                   join rooms (again) here
//   conn.on('event', (event) => …)                  every server event that is
//                                                   not a reply (message,
//                                                   member_joined, …)
//   conn.on('final', ({code, authError}) => …)      closed for good; do not retry
//
// The token lives only in this object's memory; nothing is ever stored. A
// page signed in through the identity provider has no token: it passes a
// function that fetches a one-time sign-in ticket (signin.js), called
// before every connection and for refresh().

/** The WebSocket subprotocol of Hearth protocol v1. */
export const SUBPROTOCOL = 'hearth.v1';

/** Backoff: the first retry waits about BACKOFF_START_MS, doubling up to BACKOFF_MAX_MS. */
const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** A connection that stayed up this long resets the backoff to its start. */
const STABLE_AFTER_MS = 10_000;

/** How long to wait for `welcome` after the socket opens before giving up on it. */
const AUTH_REPLY_TIMEOUT_MS = 15_000;

/** Default time a request may wait for its reply. */
const REQUEST_TIMEOUT_MS = 20_000;

/** Heartbeat used until the server's `welcome` tells us its own. */
const DEFAULT_HEARTBEAT_MS = 25_000;

/**
 * isReconnectCode reports whether a WebSocket close code means "reconnect"
 * (see the close code table in docs/protocol.md and internal/protocol/close.go):
 * 1001, 1005, 1006, 1011–1014 and Hearth's reconnect range 4500–4999.
 * Every other code is final.
 */
export function isReconnectCode(code) {
  return code === 1001 || code === 1005 || code === 1006 ||
    (code >= 1011 && code <= 1014) ||
    (code >= 4500 && code <= 4999);
}

/**
 * ProtocolError is how a failed request rejects: either the server's `error`
 * reply (code and message straight from the server) or a client-side failure
 * with one of the codes below, which never come from the server:
 *   not_connected    the request could not be sent (no open, signed-in socket)
 *   connection_lost  the socket closed before the reply arrived
 *   timeout          no reply in time
 */
export class ProtocolError extends Error {
  /**
   * @param {object} [details] the `error` event itself, for the codes that
   *   carry more: `muted` (reason, until), `slow_mode` (retry_after_ms) and
   *   `agreement_required` (guidelines: the group agreement's text and version).
   */
  constructor(code, message, room, details = {}) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.room = room;
    this.reason = typeof details.reason === 'string' ? details.reason : '';
    this.until = typeof details.until === 'string' ? details.until : '';
    this.retryAfterMs = Number.isFinite(details.retry_after_ms) ? details.retry_after_ms : 0;
    /** @type {{text: string, version: string}|null} */
    this.guidelines = null;
    const g = details.guidelines;
    if (g && typeof g === 'object' && typeof g.text === 'string' && typeof g.version === 'string' && g.version !== '') {
      this.guidelines = { text: g.text, version: g.version };
    }
  }
}

export class HearthConnection {
  #url;
  /** The token (a string), or a function returning a promise of a fresh ticket. */
  #token;
  /** Counts #open calls and stops, so a ticket arriving late opens nothing. */
  #openSeq = 0;
  #ws = null;
  #authed = false;
  #everConnected = false;
  #stopped = true;
  #state = 'idle';

  #nextId = 1;
  /** request id → {resolve, reject, timer} */
  #pending = new Map();
  /** listener name → Set of functions */
  #listeners = new Map();

  #attempt = 0;
  #retryTimer = 0;
  #authTimer = 0;
  #heartbeatTimer = 0;
  #heartbeatMs = DEFAULT_HEARTBEAT_MS;
  #pingOutstanding = false;
  #connectedAt = 0;
  /** The `error` reply to our `auth`, kept to explain the 4401 close that follows. */
  #authError = null;

  /**
   * @param {{url: string, token: string|(() => Promise<string>)}} options url
   *   is the full ws(s) URL of /ws; token is a token, or a function that
   *   fetches a fresh one-time ticket for each connection (it rejects with
   *   an Error whose `final` is true when signing in cannot succeed).
   */
  constructor({ url, token }) {
    this.#url = url;
    this.#token = token;
  }

  /** The current state: idle, connecting, connected, reconnecting or disconnected. */
  get state() {
    return this.#state;
  }

  /** Whether requests can be sent now (socket open and signed in). */
  get ready() {
    return this.#authed && this.#ws !== null && this.#ws.readyState === WebSocket.OPEN;
  }

  /** on subscribes fn to a listener name; it returns a function that unsubscribes. */
  on(name, fn) {
    if (!this.#listeners.has(name)) this.#listeners.set(name, new Set());
    this.#listeners.get(name).add(fn);
    return () => this.#listeners.get(name)?.delete(fn);
  }

  /** start opens the first connection (or a fresh one after a final close). */
  start() {
    this.#stopped = false;
    this.#attempt = 0;
    this.#everConnected = false;
    clearTimeout(this.#retryTimer);
    this.#open();
  }

  /** retryNow skips the rest of a backoff wait (a "Try now" button, the browser coming back online). */
  retryNow() {
    if (this.#stopped || this.#ws !== null) return; // only while waiting to retry
    clearTimeout(this.#retryTimer);
    this.#open();
  }

  /** stop closes the connection on purpose; it will not reconnect. */
  stop() {
    this.#stopped = true;
    this.#openSeq++;
    clearTimeout(this.#retryTimer);
    const ws = this.#ws;
    this.#teardown(new ProtocolError('connection_lost', 'The connection was closed.'));
    if (ws) ws.close(1000);
    this.#setState('disconnected', { code: 1000 });
  }

  /**
   * destroy ends the connection at once and for good ("Leave quickly"): the
   * socket is closed, nothing more is emitted, requests still waiting are
   * dropped without settling (so no handler runs to draw on the page), and
   * the token is forgotten.
   */
  destroy() {
    this.#stopped = true;
    this.#openSeq++;
    clearTimeout(this.#retryTimer);
    this.#listeners.clear();
    for (const { timer } of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
    const ws = this.#ws;
    this.#teardown(null);
    try {
      ws?.close(1000);
    } catch {
      /* already closing */
    }
    this.#token = '';
  }

  /**
   * request sends one client frame with a fresh request id and resolves with
   * the reply that carries that id (ok, welcome, joined, waiting or pong), or rejects
   * with a ProtocolError (the server's `error` reply, or a local failure).
   *
   * onReply, if given, is called synchronously with a successful reply at
   * the moment it is read, before the next event of the same frame is
   * handled. Promise callbacks run later (as microtasks), after the whole
   * frame has been handled; so state that later events depend on (the
   * member list of `joined`) must be applied in onReply, not in `.then`.
   */
  request(frame, { timeoutMs = REQUEST_TIMEOUT_MS, onReply } = {}) {
    const isAuth = frame.type === 'auth';
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || (!isAuth && !this.#authed)) {
      return Promise.reject(new ProtocolError('not_connected', 'You are not connected right now.', frame.room));
    }
    const id = String(this.#nextId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ProtocolError('timeout', 'There was no answer in time.', frame.room));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, onReply });
      ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  // --- internals -----------------------------------------------------------

  #emit(name, detail) {
    for (const fn of this.#listeners.get(name) ?? []) {
      try {
        fn(detail);
      } catch (err) {
        console.error('hearth: listener for', name, 'failed:', err);
      }
    }
  }

  #setState(state, extra = {}) {
    this.#state = state;
    this.#emit('state', { state, ...extra });
  }

  /**
   * refreshToken moves this connection onto a fresh ticket (a `refresh`
   * frame): for a page signed in through the identity provider, whose
   * sign-in was renewed meanwhile. It resolves with the server's `ok`, and
   * rejects when there is no ticket source, no open connection, or the
   * server refuses.
   */
  async refreshToken() {
    if (typeof this.#token !== 'function') throw new ProtocolError('not_connected', 'There is nothing to refresh.');
    const token = await this.#token();
    return this.request({ type: 'refresh', token });
  }

  #open() {
    this.#authed = false;
    this.#authError = null;
    this.#setState(this.#everConnected ? 'reconnecting' : 'connecting', { attempt: this.#attempt });
    if (typeof this.#token !== 'function') {
      this.#dial(this.#token);
      return;
    }
    // A fresh ticket for every connection (one use each), fetched before
    // the socket opens so the server's 10 s for `auth` are not spent on it.
    const seq = ++this.#openSeq;
    this.#token().then(
      (ticket) => {
        if (seq === this.#openSeq && !this.#stopped) this.#dial(ticket);
      },
      (err) => {
        if (seq !== this.#openSeq || this.#stopped) return;
        if (err?.final) {
          // Not signed in any more: final, like a refused token (4401).
          this.#stopped = true;
          this.#setState('disconnected', { code: 4401 });
          this.#emit('final', { code: 4401, authError: new ProtocolError(String(err.code ?? 'not_signed_in'), String(err.message ?? '')) });
          return;
        }
        this.#handleClose(1006); // the server could not be reached: try again with backoff
      },
    );
  }

  #dial(token) {
    let ws;
    try {
      ws = new WebSocket(this.#url, SUBPROTOCOL);
    } catch (err) {
      console.error('hearth: cannot open WebSocket:', err);
      this.#handleClose(1006);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;

    ws.onopen = () => this.#authenticate(ws, token);
    ws.onmessage = (ev) => this.#onFrame(ev);
    ws.onclose = (ev) => {
      if (this.#ws === ws) this.#handleClose(ev.code);
    };
    // An 'error' event is always followed by 'close'; the close code decides.
    ws.onerror = () => {};
  }

  #authenticate(ws, token) {
    this.#authTimer = setTimeout(() => this.#abandon(ws), AUTH_REPLY_TIMEOUT_MS);
    this.request({ type: 'auth', token }, { timeoutMs: AUTH_REPLY_TIMEOUT_MS })
      .then((welcome) => {
        clearTimeout(this.#authTimer);
        if (this.#ws !== ws) return;
        this.#authed = true;
        this.#connectedAt = Date.now();
        const reconnected = this.#everConnected;
        this.#everConnected = true;
        if (Number.isFinite(welcome.heartbeat_ms) && welcome.heartbeat_ms > 0) {
          this.#heartbeatMs = Math.max(5_000, welcome.heartbeat_ms);
        }
        this.#startHeartbeat(ws);
        this.#setState('connected');
        this.#emit('ready', { welcome, reconnected });
      })
      .catch((err) => {
        // An auth `error` is followed by close 4401 from the server; keep it
        // so the final close can be explained. Local failures end in a close too.
        if (err instanceof ProtocolError && !['not_connected', 'connection_lost', 'timeout'].includes(err.code)) {
          this.#authError = err;
        }
      });
  }

  /** #onFrame splits one server frame into its '\n'-separated JSON events. */
  #onFrame(ev) {
    if (typeof ev.data !== 'string') return; // the server only sends text frames
    for (const line of ev.data.split('\n')) {
      if (line.trim() === '') continue;
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        console.warn('hearth: ignoring a line that is not JSON');
        continue;
      }
      if (event === null || typeof event !== 'object' || Array.isArray(event)) continue;
      this.#route(event);
    }
  }

  /** #route hands a reply to the request waiting for it, and any other event to listeners. */
  #route(event) {
    if (typeof event.id === 'string' && event.id !== '') {
      const waiting = this.#pending.get(event.id);
      if (waiting) {
        this.#pending.delete(event.id);
        clearTimeout(waiting.timer);
        if (event.type === 'error') {
          waiting.reject(new ProtocolError(String(event.code ?? 'error'), String(event.message ?? ''), event.room, event));
        } else {
          if (waiting.onReply) {
            try {
              waiting.onReply(event);
            } catch (err) {
              console.error('hearth: reply handler failed:', err);
            }
          }
          waiting.resolve(event);
        }
        return;
      }
      // A reply nobody waits for any more (it timed out): nothing to do,
      // except that the heartbeat's pong has no waiter by design.
      if (event.type !== 'pong') return;
    }
    if (event.type === 'pong') {
      this.#pingOutstanding = false;
      return;
    }
    this.#emit('event', event);
  }

  /**
   * #startHeartbeat sends a `ping` every heartbeat interval. If the previous
   * ping is still unanswered when the next is due, the connection is dead
   * (the browser may take minutes to notice on its own), so replace it.
   */
  #startHeartbeat(ws) {
    clearInterval(this.#heartbeatTimer);
    this.#pingOutstanding = false;
    this.#heartbeatTimer = setInterval(() => {
      if (this.#ws !== ws) return;
      if (this.#pingOutstanding) {
        this.#abandon(ws);
        return;
      }
      this.#pingOutstanding = true;
      // The pong is routed to the promise; either way it clears the flag.
      this.request({ type: 'ping' }, { timeoutMs: this.#heartbeatMs * 2 })
        .then(() => { this.#pingOutstanding = false; })
        .catch(() => {});
    }, this.#heartbeatMs);
  }

  /** #abandon gives up on a socket that stopped answering and reconnects. */
  #abandon(ws) {
    if (this.#ws !== ws) return;
    try {
      ws.close(4000); // our own choice; the close event is ignored below
    } catch {
      /* already closing */
    }
    this.#handleClose(1006);
  }

  /** #teardown forgets the current socket, its timers and its waiting requests. */
  #teardown(reason) {
    clearTimeout(this.#authTimer);
    clearInterval(this.#heartbeatTimer);
    if (this.#ws) {
      this.#ws.onopen = this.#ws.onmessage = this.#ws.onclose = this.#ws.onerror = null;
    }
    this.#ws = null;
    this.#authed = false;
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(reason);
    }
    this.#pending.clear();
  }

  #handleClose(code) {
    const authError = this.#authError;
    const wasStable = this.#connectedAt !== 0 && Date.now() - this.#connectedAt >= STABLE_AFTER_MS;
    this.#connectedAt = 0;
    this.#teardown(new ProtocolError('connection_lost', 'The connection was lost before an answer came.'));
    if (this.#stopped) {
      this.#setState('disconnected', { code });
      return;
    }
    if (!isReconnectCode(code)) {
      this.#stopped = true;
      this.#setState('disconnected', { code });
      this.#emit('final', { code, authError });
      return;
    }
    if (wasStable) this.#attempt = 0;
    const delayMs = backoffDelay(this.#attempt++);
    // Until the first `welcome` this is still "connecting"; afterwards "reconnecting".
    this.#setState(this.#everConnected ? 'reconnecting' : 'connecting', { code, delayMs });
    this.#retryTimer = setTimeout(() => this.#open(), delayMs);
  }
}

/**
 * backoffDelay returns the wait before retry number `attempt` (0-based):
 * 0.5 s doubling up to 30 s, with "equal jitter" (between half and all of it)
 * so that many clients dropped at once do not return at the same instant.
 */
export function backoffDelay(attempt) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}
