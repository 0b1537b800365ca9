// The management API, on this same origin: relative URLs, no CORS. The key
// lives in this tab's sessionStorage only (never a cookie or storage that
// outlives the tab), so closing the tab forgets it.

const KEY = 'logstream.apiKey';

export function getKey() {
  return sessionStorage.getItem(KEY);
}

export function setKey(key) {
  sessionStorage.setItem(KEY, key);
}

// clearKey forgets the key, and anything else this tab kept: sign-out
// leaves nothing behind.
export function clearKey() {
  sessionStorage.clear();
}

// ApiError is an answer that was not a success: logstream's
// {"error":{"code","message","field"}}, API Gateway's {"message"}, or no
// answer at all (code "network").
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || '';
  }

  // plain is the error in words for people; codes the API documents map
  // to sentences, anything else falls back to the API's own message.
  get plain() {
    return plainWords(this);
  }
}

const SENTENCES = {
  unauthenticated: 'This API key was not accepted: it may be mistyped, revoked or expired. Sign in with a valid key.',
  forbidden: 'This key may not do that. Read keys can look but not change anything, and only the admin key manages keys.',
  not_found: 'Not found. It may have been deleted, or it belongs to a project this key cannot see.',
  route_not_found: 'This logstream deployment does not offer that yet (the API has no such route).',
  precondition_failed: 'This stream was changed by someone else — reloaded. Check it and try again.',
  conflict: 'The stream kept changing while this was saved. Reload it and try again.',
  stream_limit_reached: 'This project has as many streams as it may have. Delete one first.',
  payload_too_large: 'That is too large for the API to take.',
  unsupported_media_type: 'The API refused the request format.',
  not_implemented: 'Test events cannot be sent to this destination type yet.',
  test_unavailable: 'The test event could not be handed to the delivery function. Try again in a moment.',
  dead_letters_unavailable: 'Dead letters are not available in this deployment, or the request timed out.',
  replay_unavailable: 'Replay is not available in this deployment, or the request timed out.',
  backfill_not_started: 'The backfill could not be stored, so the stream was not created. Try again.',
  too_many_replays: 'This project already runs as many replays as it may. Wait for one to end, or cancel one.',
  replay_ended: 'That replay has already ended; there is nothing to cancel.',
  stream_not_active: 'Replays go to active streams only. Enable the stream first.',
  idempotency_key_reused: 'That request was already used for another job. Try again.',
  internal: 'Something went wrong inside logstream. Try again; if it keeps failing, check the API function\u2019s logs.',
  network: 'The API could not be reached. Check your connection and try again.',
  gateway_throttled: 'Too many requests right now. Wait a moment and try again.',
  gateway_failed: 'The API did not answer in time or failed. Try again in a moment.',
};

export function plainWords(err) {
  if (!(err instanceof ApiError)) return 'Something went wrong in the console: ' + String(err && err.message ? err.message : err);
  if (err.code === 'invalid_request' || err.code === 'invalid_body' || err.code === 'invalid_idempotency_key') {
    return 'The API refused this request: ' + err.message;
  }
  return SENTENCES[err.code] || err.message || `The API answered ${err.status}.`;
}

// onUnauthenticated is called when a signed-in key stops working (revoked):
// the app signs out and says why.
let unauthenticatedHandler = null;
export function onUnauthenticated(fn) {
  unauthenticatedHandler = fn;
}

// request calls the API. opts: body (JSON), etag (If-Match), headers,
// query (object; empty values left out), key (a key to try instead of the
// stored one, for sign-in). Resolves {status, data, etag, location}.
export async function request(method, path, opts = {}) {
  const key = opts.key || getKey();
  const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
  if (key) headers.Authorization = 'Bearer ' + key;
  if (opts.etag) headers['If-Match'] = opts.etag;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let url = path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const qs = q.toString();
    if (qs) url += '?' + qs;
  }
  let resp;
  try {
    resp = await fetch(url, { method, headers, body, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer', signal: opts.signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'network error: ' + (e && e.message ? e.message : e));
  }
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) {
    const err = toError(resp.status, data, text);
    if (err.code === 'unauthenticated' && !opts.key && unauthenticatedHandler) unauthenticatedHandler(err);
    throw err;
  }
  return { status: resp.status, data, etag: resp.headers.get('ETag'), location: resp.headers.get('Location') };
}

function toError(status, data, text) {
  if (data && data.error && typeof data.error === 'object') {
    return new ApiError(status, data.error.code || 'error', data.error.message || '', data.error.field);
  }
  if (data && typeof data.message === 'string') {
    // API Gateway's own answer.
    const code = status === 429 ? 'gateway_throttled' : status >= 500 ? 'gateway_failed' : status === 401 ? 'unauthenticated' : 'gateway';
    return new ApiError(status, code, data.message);
  }
  if (status === 401) return new ApiError(status, 'unauthenticated', 'unauthenticated');
  return new ApiError(status, status >= 500 ? 'gateway_failed' : 'http_' + status, (text || '').slice(0, 200) || `HTTP ${status}`);
}

// Path builders, each id escaped.
const e = encodeURIComponent;
export const paths = {
  whoami: () => '/v1/whoami',
  projects: () => '/v1/projects',
  keys: () => '/v1/keys',
  key: (id) => `/v1/keys/${e(id)}`,
  streams: (p) => `/v1/projects/${e(p)}/streams`,
  stream: (p, s) => `/v1/projects/${e(p)}/streams/${e(s)}`,
  enable: (p, s) => `/v1/projects/${e(p)}/streams/${e(s)}/enable`,
  disable: (p, s) => `/v1/projects/${e(p)}/streams/${e(s)}/disable`,
  health: (p, s) => `/v1/projects/${e(p)}/streams/${e(s)}/health`,
  test: (p, s) => `/v1/projects/${e(p)}/streams/${e(s)}/test`,
  replay: (p, s) => `/v1/projects/${e(p)}/streams/${e(s)}/replay`,
  deadLetters: (p) => `/v1/projects/${e(p)}/dead-letters`,
  deadLetterEvents: (p) => `/v1/projects/${e(p)}/dead-letters/events`,
  redrive: (p) => `/v1/projects/${e(p)}/dead-letters/redrive`,
  purge: (p) => `/v1/projects/${e(p)}/dead-letters/purge`,
  deadLetterJobs: (p) => `/v1/projects/${e(p)}/dead-letters/jobs`,
  deadLetterJob: (p, j) => `/v1/projects/${e(p)}/dead-letters/jobs/${e(j)}`,
  replays: (p) => `/v1/projects/${e(p)}/replays`,
  replayJob: (p, j) => `/v1/projects/${e(p)}/replays/${e(j)}`,
  replayCancel: (p, j) => `/v1/projects/${e(p)}/replays/${e(j)}/cancel`,
};

// listStreams follows next_cursor (a project has at most a few dozen).
export async function listStreams(project, signal) {
  const out = [];
  let cursor;
  for (let page = 0; page < 50; page++) {
    const { data } = await request('GET', paths.streams(project), { query: { limit: 100, cursor }, signal });
    out.push(...(data.data || []));
    cursor = data.next_cursor;
    if (!cursor) break;
  }
  return out;
}
