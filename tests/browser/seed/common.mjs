// What the seed modules share: JSON calls on the daemon's HTTP API and
// waiting, with a deadline, for something to become true.
import assert from 'node:assert/strict';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One HTTP call on the daemon: `daemon` is startDaemon()'s result.
 * body: an object is sent as JSON, a string or Buffer as it is.
 * token: true for the daemon's operator token, a string for that token,
 * false/undefined for none.  expect: the status(es) that count as success
 * (default any 2xx); anything else fails with the server's answer.
 * Resolves with {status, headers, body} (body parsed when it is JSON).
 */
export async function call(daemon, method, path, { body, token, headers = {}, expect } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token === true ? daemon.token : token}`;
  let payload = body;
  if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
    payload = JSON.stringify(body);
    h['Content-Type'] ||= 'application/json';
  }
  const res = await fetch(`${daemon.url}${path}`, { method, headers: h, body: payload,
    signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let parsed = text;
  if ((res.headers.get('content-type') || '').includes('json') && text) parsed = JSON.parse(text);
  const ok = expect === undefined ? res.ok : [].concat(expect).includes(res.status);
  assert.ok(ok, `${method} ${path} answered ${res.status}: ${text.slice(0, 2000)}`);
  return { status: res.status, headers: res.headers, body: parsed };
}

/** GET path → its parsed JSON (token as in call()). */
export async function getJSON(daemon, path, { token } = {}) {
  return (await call(daemon, 'GET', path, { token })).body;
}

/** POST body as JSON → the parsed answer (token as in call(); operator by default). */
export async function postJSON(daemon, path, body, { token = true, expect } = {}) {
  return (await call(daemon, 'POST', path, { body, token, expect })).body;
}

/** PUT body as JSON → the parsed answer (operator token by default). */
export async function putJSON(daemon, path, body, { token = true, expect } = {}) {
  return (await call(daemon, 'PUT', path, { body, token, expect })).body;
}

/**
 * Calls fn until it returns without throwing (an AssertionError or any
 * other error) and resolves with what it returned; after `timeout` ms
 * rethrows its last error.  Generous by default: under ASan the daemon is
 * several times slower, and this is a deadline, not an expectation.
 */
export async function eventually(fn, { timeout = 20_000, every = 100 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await sleep(every);
  }
}
