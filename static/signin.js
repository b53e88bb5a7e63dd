// signin.js — signing in through the organisation's identity provider.
//
// When the server has an identity provider (HEARTH_OIDC_ISSUER), a person
// without a link holding a token signs in: "Sign in" goes to
// /auth/login?next=…, the provider, and back to this page with a session
// cookie the page cannot read (HttpOnly). From then on:
//
//   * REST calls go with the cookie (credentials: 'same-origin', no
//     Authorization header); the browser marks them same-origin
//     (Sec-Fetch-Site), which the server requires of a POST with the cookie;
//   * every WebSocket connection — the first and each reconnect — signs in
//     with a fresh one-time ticket from POST /auth/ticket, never a token;
//   * before the sign-in ends (SESSION_WARN_MS ahead), the page looks for a
//     later one (signed in again in another tab) and moves the connection
//     onto it with a `refresh` frame; otherwise it says when the sign-in ends
//     and offers to sign in again in a new tab, so the group is not left.
//
// Nothing is stored in the browser by this page: the cookie is the
// server's, and "Leave quickly" asks the server to clear it (logout).

/** Sentences shown to people about signing in, kept in one place. */
export const SIGNIN_TEXT = {
  signInTitle: 'Welcome to Hearth',
  signIn: 'Sign in with your organisation’s account to join your group.',
  signInInvite: 'Sign in with your organisation’s account to accept your invite and join the group.',
  endedTitle: 'Your sign-in has ended',
  ended: 'Please sign in again to go on.',
  inviteTitle: 'This invite does not work',
  noGroupTitle: 'You are signed in',
  noGroup: 'You are not in a group yet. Open the invite link your facilitator sent you.',
  chooseGroupTitle: 'Choose your group',
  chooseGroup: 'You are in more than one group. Which one would you like to join?',
  renewedTitle: 'You are signed in again',
  renewed: 'You can close this tab and go back to your group.',
  unreachable: 'Hearth cannot be reached right now. Please try again in a moment.',
  ending: (clock) => `Your sign-in ends at ${clock}. To stay in the group after that, sign in again in a new tab.`,
  signInAgain: 'Sign in again',
  newTab: ' (opens in a new tab)',
};

/** How long before the sign-in ends the page starts looking for a later one. */
export const SESSION_WARN_MS = 10 * 60_000;

/** How often, once the end is near, the page checks for a later sign-in. */
export const SESSION_POLL_MS = 30_000;

/** The fragment of the tab opened by "Sign in again". */
export const RENEWED_FRAGMENT = 'signed-in';

/**
 * loginHref is the address of "Sign in": the provider, then back to
 * `next`, a path on this site (with its fragment: /#invite=CODE).
 */
export function loginHref(next = '/') {
  return `/auth/login?next=${encodeURIComponent(next)}`;
}

/**
 * fetchSession asks the server about signing in: {sign_in, signed_in,
 * role, expires}. It resolves null when the server cannot be reached.
 */
export async function fetchSession() {
  try {
    const res = await fetch('/auth/session', { cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) return null;
    const s = await res.json();
    if (!s || typeof s !== 'object') return null;
    return {
      signIn: s.sign_in === true,
      signedIn: s.signed_in === true,
      role: typeof s.role === 'string' ? s.role : '',
      expires: typeof s.expires === 'string' ? Date.parse(s.expires) || 0 : 0,
    };
  } catch {
    return null;
  }
}

/**
 * fetchTicket gets a one-time ticket for the WebSocket. It rejects with an
 * Error whose `final` is true when the person is not signed in any more
 * (no point retrying), and false when the server could not be reached.
 * The ticket is only ever held in this call's result.
 */
export async function fetchTicket() {
  let res;
  try {
    res = await fetch('/auth/ticket', { method: 'POST', cache: 'no-store', credentials: 'same-origin' });
  } catch {
    throw Object.assign(new Error(SIGNIN_TEXT.unreachable), { code: 'network', final: false });
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.ok && typeof data?.ticket === 'string') {
    return data.ticket;
  }
  const e = data && typeof data === 'object' ? data.error : null;
  const code = typeof e?.code === 'string' ? e.code : 'error';
  const final = res.status === 401 || res.status === 403;
  throw Object.assign(new Error(typeof e?.message === 'string' ? e.message : SIGNIN_TEXT.unreachable), { code, final });
}

/**
 * logout asks the server to clear the session cookie, in a way that
 * survives the page going away at once ("Leave quickly").
 */
export function logout() {
  try {
    if (navigator.sendBeacon && navigator.sendBeacon('/auth/logout')) return;
  } catch {
    /* fall through */
  }
  fetch('/auth/logout', { method: 'POST', credentials: 'same-origin', keepalive: true }).catch(() => {});
}

/**
 * watchSession keeps a signed-in connection alive across the end of its
 * sign-in. expires is the sign-in's end (ms since the epoch). Some time
 * before it, it asks the server for the current sign-in: a later one (from
 * another tab) is handed to refresh (which sends a `refresh` frame with a
 * fresh ticket); otherwise onEnding(expires) tells the person, and it keeps
 * checking until the end. It returns a function that stops watching.
 */
export function watchSession(expires, { refresh, onEnding, onRenewed }) {
  let timer = 0;
  let stopped = false;
  let current = expires;
  let told = false;
  const schedule = (delay) => {
    clearTimeout(timer);
    timer = setTimeout(check, Math.max(1_000, delay));
  };
  const check = async () => {
    if (stopped) return;
    const s = await fetchSession();
    if (stopped) return;
    if (s?.signedIn && s.expires > current) {
      try {
        await refresh();
        current = s.expires;
        if (told) onRenewed();
        told = false;
      } catch {
        schedule(SESSION_POLL_MS);
        return;
      }
      schedule(current - Date.now() - SESSION_WARN_MS);
      return;
    }
    if (!told) {
      told = true;
      onEnding(current);
    }
    if (Date.now() < current) schedule(SESSION_POLL_MS);
  };
  schedule(current - Date.now() - SESSION_WARN_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
