// examday.ops k6 library: a platform client driven by the platform profile, the synthetic
// students of the cohort, and the record of every write (acks). The shipped scenarios (exam.js)
// are built on it; a scenario of your own imports it the same way:
//
//   import * as examday from './examday.js';
//   export function mine() {
//     const st = examday.student();
//     if (!examday.ensureToken(st)) { return; }
//     const sid = examday.createSession(st);
//     ...
//     const res = examday.request(st, 'answer', { session_id: sid, question_id: q, selected_index: 1 });
//     examday.recordWrite('answer', { session_id: sid, question_id: q, selected_index: 1 }, res);
//   }
//
// The module examday.ops.load writes this file next to every script it runs and passes the
// configuration in EXAMDAY_CONFIG (JSON, no secret: the profile's API calls, the cohort, the
// timings). The cohort password comes only from the environment (EXAMDAY_COHORT_PASSWORD).
//
// The acks format (docs/evidence.md): one console line "EXAMDAY_ACK {json}" per write, with
// outcome "acked" (a 2xx) or "unknown" (a timeout, a connection error, a 5xx: the client cannot
// know whether the platform applied it). Ids are opaque: they are sent back exactly as read.
import http from 'k6/http';
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { Counter, Rate } from 'k6/metrics';

export const CFG = JSON.parse(__ENV.EXAMDAY_CONFIG || '{}');
const API = CFG.api || {};
const CALLS = API.calls || {};
const MARK = CFG.ack_marker || 'EXAMDAY_ACK ';
const BASE = String(CFG.api_url || '').replace(/\/+$/, '');
const COHORT = CFG.cohort || { prefix: 'load', domain: 'cohort.example.com', count: 1, pad: 5 };
export const OPEN = !!CFG.open_model;
// Documentation address ranges (RFC 5737): a header only, all traffic goes to api_url.
const RANGES = ['192.0.2', '198.51.100', '203.0.113'];
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHOLE = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export const metrics = {
  logins: new Counter('examday_logins'),
  loginFailures: new Counter('examday_login_failures'),
  refreshes: new Counter('examday_token_refreshes'),
  refreshContinued: new Rate('examday_refresh_continued'),
  rateLimited: new Counter('examday_rate_limited'),
  doubleSubmitSame: new Rate('examday_double_submit_same'),
  acks: new Counter('examday_acks'),
  unknownWrites: new Counter('examday_unknown_writes'),
  staleRefused: new Counter('examday_stale_refused'),
};

const students = {}; // this VU's students, by cohort index
let iteration = 0; // this VU's iterations
let lastVersion = 0;

export function now() {
  return new Date().toISOString();
}

export function nextIteration() {
  iteration += 1;
  return iteration;
}

export function rnd(n) {
  return Math.floor(Math.random() * n);
}

export function jsonOf(res) {
  try {
    return res.json();
  } catch (e) {
    return null;
  }
}

// ------------------------------------------------------------------ profile data
// The value at a dotted path (a.b[0].c); undefined when a step is missing; the object itself for ''.
export function get(obj, path) {
  if (path === undefined || path === null || path === '' || path === '$') {
    return obj;
  }
  let cur = obj;
  const parts = String(path).split('.');
  for (let i = 0; i < parts.length; i += 1) {
    const m = /^([A-Za-z0-9_\-$@]+)(\[(-?\d+)\])?$/.exec(parts[i]);
    if (!m || cur === null || typeof cur !== 'object' || !(m[1] in cur)) {
      return undefined;
    }
    cur = cur[m[1]];
    if (m[2] !== undefined) {
      if (!Array.isArray(cur)) {
        return undefined;
      }
      cur = cur[parseInt(m[3], 10)];
    }
  }
  return cur;
}

function asText(value) {
  if (value === null || value === undefined) {
    return '';
  }
  return String(value);
}

// A template filled: a string that is exactly {name} becomes the value (typed), {name} inside
// text becomes its text; arrays and objects recursively (as the Python side does).
export function fill(template, values) {
  if (typeof template === 'string') {
    const whole = WHOLE.exec(template);
    if (whole) {
      return values[whole[1]];
    }
    return template.replace(PLACEHOLDER, (m, name) => asText(values[name]));
  }
  if (Array.isArray(template)) {
    return template.map((t) => fill(t, values));
  }
  if (template !== null && typeof template === 'object') {
    const out = {};
    Object.keys(template).forEach((k) => {
      out[k] = fill(template[k], values);
    });
    return out;
  }
  return template;
}

export function callPath(name, values) {
  const path = String((CALLS[name] || {}).path || '');
  const full = path.charAt(0) === '/' ? path : `${String(API.prefix || '').replace(/\/+$/, '')}/${path}`;
  return full.replace(PLACEHOLDER, (m, key) => encodeURIComponent(asText(values[key])));
}

export function read(name, key, body) {
  const path = ((CALLS[name] || {}).read || {})[key];
  if (!path) {
    return undefined;
  }
  return get(body, path);
}

export function errorCode(res) {
  const body = jsonOf(res);
  if (!body || typeof body !== 'object') {
    return null;
  }
  const paths = API.error_code || [];
  for (let i = 0; i < paths.length; i += 1) {
    const value = get(body, paths[i]);
    if (value !== undefined && value !== null && value !== '' && typeof value !== 'object') {
      return String(value);
    }
  }
  return null;
}

// An id as the platform wants it back (api.ids: auto sends it as read).
export function asId(value) {
  if (API.ids === 'string' && value !== null && value !== undefined) {
    return String(value);
  }
  if (API.ids === 'integer' && value !== null && value !== undefined) {
    return Number(value);
  }
  return value;
}

export function okStatus(name, res) {
  const ok = (CALLS[name] || {}).ok || [200];
  return ok.indexOf(res.status) >= 0;
}

// A number that grows with every write of this VU (the platform may refuse an older one).
export function nextVersion() {
  lastVersion = Math.max(lastVersion + 1, Date.now() * 1000);
  return lastVersion;
}

export function requestId() {
  const hex = () => Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
  return `${hex()}${hex()}${hex()}${hex()}`;
}

// ------------------------------------------------------------------ students
// Closed model: VU v is student v (it logs in once and keeps its token). Open model: VU v owns
// the students v, v + V, v + 2V, ... (V = the most VUs) and takes them in turn, so the arrival
// rate spreads over the whole cohort and no two VUs log in as the same student.
function studentIndex() {
  const count = Math.max(1, COHORT.count);
  const span = Math.max(1, CFG.max_vus || 1);
  const first = ((exec.vu.idInTest - 1) % count) + 1;
  const owned = !OPEN || span >= count ? 1 : Math.floor((count - first) / span) + 1;
  return first + (iteration % owned) * span + (COHORT.first || 1) - 1;
}

export function student() {
  const s = studentIndex();
  if (!students[s]) {
    const i = (s - 1 + (CFG.ip_offset || 0)) % (RANGES.length * 254);
    students[s] = {
      index: s,
      email: `${COHORT.prefix}${String(s).padStart(COHORT.pad || 5, '0')}@${COHORT.domain}`,
      ip: `${RANGES[Math.floor(i / 254)]}.${(i % 254) + 1}`,
      access: null,
      refresh: null,
      issued: 0,
      session: null,
      refreshedMidAttempt: false,
    };
  }
  return students[s];
}

function headersFor(st, name, extra, rid) {
  const headers = { Accept: 'application/json', 'Content-Type': 'application/json', 'X-Forwarded-For': st.ip };
  const auth = API.auth || { header: 'Authorization', scheme: 'Bearer' };
  if (st.access && name !== 'login' && name !== 'refresh') {
    headers[auth.header] = `${auth.scheme ? `${auth.scheme} ` : ''}${st.access}`;
  }
  headers[API.request_id_header || 'X-Request-ID'] = rid;
  Object.assign(headers, extra || {});
  return headers;
}

function paramsFor(st, name, extra, rid) {
  return {
    headers: headersFor(st, name, extra, rid),
    timeout: CFG.timeout || '10s',
    tags: { name: `${name} ${(CALLS[name] || {}).path || ''}`, endpoint: name },
  };
}

// One profile call as a request description (for http.batch) and its request id.
export function describe(st, name, values, extra) {
  const call = CALLS[name] || {};
  const rid = requestId();
  const body = call.body === null || call.body === undefined ? null : JSON.stringify(fill(call.body, values));
  const headers = Object.assign({}, fill(call.headers || {}, values), extra || {});
  return {
    rid,
    req: { method: call.method || 'GET', url: BASE + callPath(name, values), body, params: paramsFor(st, name, headers, rid) },
  };
}

// A response header, whatever its case.
export function header(res, name) {
  const want = String(name).toLowerCase();
  const keys = Object.keys((res && res.headers) || {});
  for (let i = 0; i < keys.length; i += 1) {
    if (keys[i].toLowerCase() === want) {
      return res.headers[keys[i]];
    }
  }
  return null;
}

// k6's responses are host objects: what the collection adds travels in a wrapper of its own,
// which has what the scripts read of a response (status, body, headers, error, json()).
export function wrap(res, rid) {
  return {
    res,
    status: res.status,
    body: res.body,
    headers: res.headers,
    error: res.error,
    json: () => res.json(),
    requestId: rid,
    platformId: header(res, API.request_id_header || 'X-Request-ID'),
  };
}

function send(st, name, values, extra) {
  const d = describe(st, name, values, extra);
  return wrap(http.request(d.req.method, d.req.url, d.req.body, d.req.params), d.rid);
}

function keepTokens(st, name, body) {
  const access = read(name, 'access_token', body);
  if (!access) {
    return false;
  }
  st.access = access;
  const refresh = read(name, 'refresh_token', body);
  st.refresh = refresh || null;
  st.issued = Date.now();
  if (st.session) {
    st.refreshedMidAttempt = true;
  }
  return true;
}

export function login(st) {
  const res = send(st, 'login', { email: st.email, password: __ENV.EXAMDAY_COHORT_PASSWORD || '' });
  const ok = okStatus('login', res) && keepTokens(st, 'login', jsonOf(res));
  check(res, { 'login ok': () => ok });
  if (ok) {
    metrics.logins.add(1);
    return true;
  }
  metrics.loginFailures.add(1);
  if (res.status === 429) {
    metrics.rateLimited.add(1, { endpoint: 'login' });
    if (!OPEN) {
      const wait = parseFloat(res.headers['Retry-After'] || '5');
      sleep(Math.min(isNaN(wait) ? 5 : wait, CFG.max_login_wait || 10));
    }
  } else if (!OPEN) {
    sleep(1);
  }
  return false;
}

// A new token pair; on failure (no refresh call, revoked, reused, rate limited) a new login.
export function renew(st, reason) {
  if (st.refresh && (CALLS.refresh || {}).path) {
    const res = send(st, 'refresh', { refresh_token: st.refresh });
    if (okStatus('refresh', res) && keepTokens(st, 'refresh', jsonOf(res))) {
      metrics.refreshes.add(1, { reason });
      return true;
    }
    if (res.status === 429) {
      metrics.rateLimited.add(1, { endpoint: 'refresh' });
    }
  }
  st.access = null;
  st.refresh = null;
  return login(st);
}

export function ensureToken(st) {
  if (!st.access) {
    return login(st);
  }
  if (CFG.refresh_after_s > 0 && Date.now() - st.issued >= CFG.refresh_after_s * 1000) {
    return renew(st, 'age');
  }
  return true;
}

// One profile call; an expired or refused token (401) is renewed once and the call repeated.
export function request(st, name, values, extra) {
  let res = send(st, name, values || {}, extra);
  if (res.status === 401 && name !== 'login' && renew(st, 'expired')) {
    res = send(st, name, values || {}, extra);
  }
  if (res.status === 429) {
    metrics.rateLimited.add(1, { endpoint: name });
  }
  return res;
}

// ------------------------------------------------------------------ the record of writes
function emit(record) {
  console.log(MARK + JSON.stringify(record));
}

// Whether the client cannot know what happened to a write: no answer, or a server error.
export function indeterminate(res) {
  return !res || res.status === 0 || res.status >= 500;
}

// Records a write: acknowledged on a 2xx, of unknown outcome on a timeout, a connection error or
// a 5xx; nothing when the platform refused it (4xx: it was not applied). Returns the outcome.
export function recordWrite(kind, fields, res, sentAt, extra) {
  const base = Object.assign({ kind }, fields, extra || {});
  base.request_id = res ? res.requestId : null;
  if (res && res.platformId && res.platformId !== res.requestId) {
    base.platform_request_id = res.platformId;
  }
  base.sent_at = sentAt || null;
  base.ts = now();
  base.status = res ? res.status : 0;
  if (res && res.status >= 200 && res.status < 300) {
    base.outcome = 'acked';
    emit(base);
    metrics.acks.add(1, { kind });
    return 'acked';
  }
  if (indeterminate(res)) {
    base.outcome = 'unknown';
    base.error = res && res.error ? String(res.error).slice(0, 200) : (res ? `HTTP ${res.status}` : 'no answer');
    emit(base);
    metrics.unknownWrites.add(1, { kind });
    return 'unknown';
  }
  return 'refused';
}

// ------------------------------------------------------------------ exam steps
export function createSession(st) {
  const sentAt = now();
  const res = request(st, 'create_session', { session: API.session || {} });
  const body = jsonOf(res);
  const sid = okStatus('create_session', res) ? read('create_session', 'session_id', body) : undefined;
  const ok = sid !== undefined && sid !== null && sid !== '';
  check(res, { 'session created': () => ok });
  if (ok) {
    recordWrite('session', { session_id: sid, user: st.email }, res, sentAt);
    return asId(sid);
  }
  return null;
}

// The session's question ids (as the platform gave them), or null.
export function questionsOf(st, sid) {
  const res = request(st, 'read_session', { session_id: sid });
  const body = jsonOf(res);
  const items = okStatus('read_session', res) ? read('read_session', 'questions', body) : undefined;
  const ok = Array.isArray(items) && items.length > 0;
  check(res, { 'session readable': () => ok });
  if (!ok) {
    return null;
  }
  return items.map((q) => asId(read('read_session', 'question_id', q)));
}

function closedBy(res) {
  const closed = API.closed || {};
  const code = errorCode(res);
  return (closed.status || []).indexOf(res.status) >= 0 || (code !== null && (closed.codes || []).indexOf(code) >= 0);
}

function staleBy(res) {
  const stale = API.stale || {};
  const code = errorCode(res);
  return (stale.status || []).indexOf(res.status) >= 0 && (!(stale.codes || []).length || (stale.codes || []).indexOf(code) >= 0);
}

// After a token renewal in the middle of an attempt, the next write on it must still succeed.
function afterWrite(st, ok) {
  if (st.refreshedMidAttempt) {
    metrics.refreshContinued.add(ok);
    st.refreshedMidAttempt = false;
  }
}

// Answers one question; returns 'acked', 'unknown' or 'refused'. sess: {id, answered, closed}.
export function answer(st, sess, qid, idx, position) {
  const version = nextVersion();
  const sentAt = now();
  const res = request(st, 'answer', { session_id: sess.id, question_id: qid, selected_index: idx, version, position });
  const outcome = recordWrite('answer', { session_id: sess.id, question_id: qid, selected_index: idx }, res, sentAt,
    { version });
  const ok = outcome === 'acked';
  check(res, { 'answer saved': () => ok || staleBy(res) });
  afterWrite(st, ok);
  if (ok) {
    sess.answered[String(qid)] = { qid, idx };
  } else if (staleBy(res)) {
    metrics.staleRefused.add(1);
  } else if (!indeterminate(res) && closedBy(res)) {
    sess.closed = true;
  }
  return outcome;
}

export function idempotencyKey() {
  const tail = Math.random().toString(16).slice(2, 10);
  return `${CFG.run_id || 'run'}-${exec.vu.idInTest}-${iteration}-${tail}`;
}

function submitFields(sess, key, res) {
  const body = res ? jsonOf(res) : null;
  const score = body ? read('submit', 'score', body) : undefined;
  return { session_id: sess.id, idempotency_key: key, score_correct: score === undefined ? null : score };
}

function idempotencyHeader(key) {
  const header = (CALLS.submit || {}).idempotency_header;
  const out = {};
  if (header) {
    out[header] = key;
  }
  return out;
}

export function submitOnce(st, sess) {
  const key = idempotencyKey();
  const sentAt = now();
  const res = request(st, 'submit', { session_id: sess.id, idempotency_key: key }, idempotencyHeader(key));
  const ok = okStatus('submit', res);
  check(res, { 'submit ok': () => ok });
  afterWrite(st, ok);
  recordWrite('submit', submitFields(sess, key, ok ? res : null), res, sentAt);
  return ok;
}

// Two submits at the same instant with one idempotency key: both must answer the same. The
// submit record carries what the pair answered ({same, statuses}), for the idempotency judgement.
export function submitTwice(st, sess) {
  const key = idempotencyKey();
  const values = { session_id: sess.id, idempotency_key: key };
  const sentAt = now();
  let a = describe(st, 'submit', values, idempotencyHeader(key));
  let b = describe(st, 'submit', values, idempotencyHeader(key));
  let raw = http.batch([a.req, b.req]);
  if ((raw[0].status === 401 || raw[1].status === 401) && renew(st, 'expired')) {
    a = describe(st, 'submit', values, idempotencyHeader(key));
    b = describe(st, 'submit', values, idempotencyHeader(key));
    raw = http.batch([a.req, b.req]);
  }
  const pair = [wrap(raw[0], a.rid), wrap(raw[1], b.rid)];
  const [first, second] = pair;
  pair.forEach((res) => {
    if (res.status === 429) {
      metrics.rateLimited.add(1, { endpoint: 'submit' });
    }
  });
  const bothOk = okStatus('submit', first) && okStatus('submit', second);
  const same = first.status === second.status && first.body === second.body;
  check(first.res, { 'submit ok': () => bothOk, 'double submit answered the same': () => same });
  metrics.doubleSubmitSame.add(same);
  afterWrite(st, bothOk);
  const acked = [first, second].find((res) => okStatus('submit', res));
  const unknown = [first, second].find((res) => indeterminate(res));
  const double = { same, statuses: [first.status, second.status], request_ids: [a.rid, b.rid] };
  recordWrite('submit', submitFields(sess, key, acked || null), acked || unknown || first, sentAt, { double });
  return bothOk;
}

export function think() {
  return CFG.think_time > 0 ? CFG.think_time * (0.5 + Math.random()) : 0;
}

// Closed model: think, and keep at least `pace` seconds per iteration (per-user rate limits).
// Open model: the arrival rate is the pacing; no sleep.
export function finish(t0) {
  if (OPEN) {
    return;
  }
  const rest = Math.max(think(), (CFG.pace || 0) - (Date.now() - t0) / 1000);
  if (rest > 0) {
    sleep(rest);
  }
}
