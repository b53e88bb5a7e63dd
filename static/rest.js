// rest.js: the page's one way to call Hearth's REST API and read its
// answers and errors. A call carries the bearer token when the page has one
// (from its link), and otherwise the session cookie of a sign-in through
// the identity provider; the referrer is never sent.

/**
 * restCall makes one REST call and resolves with the JSON answer (null for
 * 204 or an empty body). It rejects with an Error whose message is the
 * server's sentence (or `fallback` when there is none, `offline` when the
 * server could not be reached), carrying `code` (the server's stable code;
 * 'network' when unreachable; '' when none) and `status` (0 when
 * unreachable).
 * @param {string} method
 * @param {string} path same-origin path, already encoded
 * @param {{token?: string, body?: unknown, offline: string, fallback: string}} options
 */
export async function restCall(method, path, { token = '', body, offline, fallback }) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: token ? 'omit' : 'same-origin',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw Object.assign(new Error(offline), { code: 'network', status: 0 });
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = data && typeof data === 'object' ? data.error : null;
    const message = typeof e?.message === 'string' && e.message !== '' ? e.message : fallback;
    throw Object.assign(new Error(message), { code: typeof e?.code === 'string' ? e.code : '', status: res.status });
  }
  return data;
}
