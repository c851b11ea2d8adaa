# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The k6 scripts of examday.ops.load, embedded (modules reach the target without files/).

GENERATED from files/k6/*.js by files/k6/embed.py: edit the .js files, then run it."""
from __future__ import annotations

SCRIPTS = {}

SCRIPTS['exam.js'] = r'''// examday.ops: exam scenarios against a platform shaped like PLATFORM.md.
//
// Run by the module examday.ops.load, which writes the k6 options (scenario, executor,
// thresholds) into a --config file and passes everything else in EXAMDAY_CONFIG (JSON, no secret).
// The cohort password comes only from the process environment (EXAMDAY_COHORT_PASSWORD) and is
// never logged. Every write the platform acknowledged (2xx) is printed as one console line
// "EXAMDAY_ACK {json}"; the module extracts those lines into acks.jsonl.
//
// Scenarios (exported functions): sessions (session burst), answers (steady answers with think
// time), submit (submit spike with double submits sharing one Idempotency-Key).
import http from 'k6/http';
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { Counter, Rate } from 'k6/metrics';

const CFG = JSON.parse(__ENV.EXAMDAY_CONFIG || '{}');
const MARK = CFG.ack_marker || 'EXAMDAY_ACK ';
const BASE = String(CFG.api_url || '').replace(/\/+$/, '');
const PATHS = CFG.paths || {};
const COHORT = CFG.cohort || { prefix: 'load', domain: 'cohort.examday.invalid', count: 1, pad: 5 };
const OPEN = !!CFG.open_model;
// Documentation address ranges (RFC 5737): a header only, all traffic goes to api_url.
const RANGES = ['192.0.2', '198.51.100', '203.0.113'];

const logins = new Counter('examday_logins');
const loginFailures = new Counter('examday_login_failures');
const refreshes = new Counter('examday_token_refreshes');
const refreshContinued = new Rate('examday_refresh_continued');
const rateLimited = new Counter('examday_rate_limited');
const doubleSubmitSame = new Rate('examday_double_submit_same');
const acks = new Counter('examday_acks');

const students = {}; // this VU's students, by cohort index
let iteration = 0; // this VU's iterations

function now() {
  return new Date().toISOString();
}

function jsonOf(res) {
  try {
    return res.json();
  } catch (e) {
    return null;
  }
}

function rnd(n) {
  return Math.floor(Math.random() * n);
}

// Closed model: VU v is student v (it logs in once and keeps its token). Open model: VU v owns
// the students v, v + V, v + 2V, ... (V = the most VUs) and takes them in turn, so the arrival
// rate spreads over the whole cohort and no two VUs log in as the same student.
function studentIndex() {
  const count = Math.max(1, COHORT.count);
  const span = Math.max(1, CFG.max_vus || 1);
  const first = ((exec.vu.idInTest - 1) % count) + 1;
  const owned = !OPEN || span >= count ? 1 : Math.floor((count - first) / span) + 1;
  return first + (iteration % owned) * span;
}

function student() {
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

function url(name, sid) {
  return BASE + String(PATHS[name]).replace('{session_id}', sid || '');
}

function params(st, name, extra) {
  const headers = { Accept: 'application/json', 'Content-Type': 'application/json', 'X-Forwarded-For': st.ip };
  if (st.access && name !== 'login' && name !== 'refresh') {
    headers.Authorization = `Bearer ${st.access}`;
  }
  Object.assign(headers, extra || {});
  return { headers, timeout: CFG.timeout || '10s', tags: { name: `${name} ${PATHS[name]}`, endpoint: name } };
}

function ack(record) {
  console.log(MARK + JSON.stringify(record));
  acks.add(1, { kind: record.kind });
}

function keepTokens(st, body) {
  const tokens = body && body.tokens;
  if (!tokens || !tokens.access_token) {
    return false;
  }
  st.access = tokens.access_token;
  st.refresh = tokens.refresh_token;
  st.issued = Date.now();
  if (st.session) {
    st.refreshedMidAttempt = true;
  }
  return true;
}

function login(st) {
  const res = http.post(url('login'), JSON.stringify({ email: st.email, password: __ENV.EXAMDAY_COHORT_PASSWORD || '' }),
    params(st, 'login'));
  const ok = res.status === 200 && keepTokens(st, jsonOf(res));
  check(res, { 'login ok': () => ok });
  if (ok) {
    logins.add(1);
    return true;
  }
  loginFailures.add(1);
  if (res.status === 429) {
    rateLimited.add(1, { endpoint: 'login' });
    if (!OPEN) {
      const wait = parseFloat(res.headers['Retry-After'] || '5');
      sleep(Math.min(isNaN(wait) ? 5 : wait, CFG.max_login_wait || 10));
    }
  } else if (!OPEN) {
    sleep(1);
  }
  return false;
}

// A new token pair; on failure (revoked, reused, rate limited) the student logs in again.
function renew(st, reason) {
  if (st.refresh) {
    const res = http.post(url('refresh'), JSON.stringify({ refresh_token: st.refresh }), params(st, 'refresh'));
    if (res.status === 200 && keepTokens(st, jsonOf(res))) {
      refreshes.add(1, { reason });
      return true;
    }
    if (res.status === 429) {
      rateLimited.add(1, { endpoint: 'refresh' });
    }
  }
  st.access = null;
  st.refresh = null;
  return login(st);
}

function ensureToken(st) {
  if (!st.access) {
    return login(st);
  }
  if (CFG.refresh_after_s > 0 && Date.now() - st.issued >= CFG.refresh_after_s * 1000) {
    return renew(st, 'age');
  }
  return true;
}

// One API call; an expired or refused token (401) is renewed once and the call repeated.
function call(st, method, name, sid, body, extra) {
  const send = () => http.request(method, url(name, sid), body === undefined ? null : JSON.stringify(body),
    params(st, name, extra));
  let res = send();
  if (res.status === 401 && renew(st, 'expired')) {
    res = send();
  }
  if (res.status === 429) {
    rateLimited.add(1, { endpoint: name });
  }
  return res;
}

// After a token renewal in the middle of an attempt, the next write on it must still succeed.
function afterWrite(st, ok) {
  if (st.refreshedMidAttempt) {
    refreshContinued.add(ok);
    st.refreshedMidAttempt = false;
  }
}

function createSession(st) {
  const res = call(st, 'POST', 'sessions', null, CFG.session);
  const body = jsonOf(res);
  const ok = (res.status === 201 || res.status === 200) && !!(body && body.session_id);
  check(res, { 'session created': () => ok });
  if (!ok) {
    return null;
  }
  ack({ kind: 'session', session_id: body.session_id, user: st.email, ts: now() });
  return body.session_id;
}

function questionsOf(st, sid) {
  const res = call(st, 'GET', 'session', sid);
  const body = jsonOf(res);
  const ok = res.status === 200 && !!body && Array.isArray(body.questions) && body.questions.length > 0;
  check(res, { 'session readable': () => ok });
  return ok ? body.questions.map((q) => q.question_id) : null;
}

function answer(st, sess, qid, idx) {
  const res = call(st, 'POST', 'answer', sess.id, { question_id: qid, selected_index: idx });
  const ok = res.status === 200;
  check(res, { 'answer saved': () => ok });
  afterWrite(st, ok);
  if (ok) {
    sess.answered[qid] = idx;
    ack({ kind: 'answer', session_id: sess.id, question_id: qid, selected_index: idx, ts: now() });
  } else {
    const body = jsonOf(res);
    if (res.status === 404 || (body && body.code === 'SESSION_CLOSED')) {
      sess.closed = true;
    }
  }
  return ok;
}

function idempotencyKey() {
  const tail = Math.random().toString(16).slice(2, 10);
  return `${CFG.run_id || 'run'}-${exec.vu.idInTest}-${iteration}-${tail}`;
}

function ackSubmit(sess, key, res) {
  const body = jsonOf(res);
  ack({ kind: 'submit', session_id: sess.id, idempotency_key: key, ts: now(),
    score_correct: body ? body.score_correct : null });
}

function submitOnce(st, sess) {
  const key = idempotencyKey();
  const res = call(st, 'POST', 'submit', sess.id, undefined, { 'Idempotency-Key': key });
  const ok = res.status === 200;
  check(res, { 'submit ok': () => ok });
  afterWrite(st, ok);
  if (ok) {
    ackSubmit(sess, key, res);
  }
  return ok;
}

// Two submits at the same instant with one Idempotency-Key: both must answer the same.
function submitTwice(st, sess) {
  const key = idempotencyKey();
  const request = () => ({ method: 'POST', url: url('submit', sess.id), body: null,
    params: params(st, 'submit', { 'Idempotency-Key': key }) });
  let pair = http.batch([request(), request()]);
  if ((pair[0].status === 401 || pair[1].status === 401) && renew(st, 'expired')) {
    pair = http.batch([request(), request()]);
  }
  const [first, second] = pair;
  pair.forEach((res) => {
    if (res.status === 429) {
      rateLimited.add(1, { endpoint: 'submit' });
    }
  });
  const bothOk = first.status === 200 && second.status === 200;
  const same = first.status === second.status && first.body === second.body;
  check(first, { 'submit ok': () => bothOk, 'double submit answered the same': () => same });
  doubleSubmitSame.add(same);
  afterWrite(st, bothOk);
  const acked = [first, second].find((res) => res.status >= 200 && res.status < 300);
  if (acked) {
    ackSubmit(sess, key, acked);
  }
  return bothOk;
}

function think() {
  return CFG.think_time > 0 ? CFG.think_time * (0.5 + Math.random()) : 0;
}

// Closed model: think, and keep at least `pace` seconds per iteration (per-user rate limits).
// Open model: the arrival rate is the pacing; no sleep.
function finish(t0) {
  if (OPEN) {
    return;
  }
  const rest = Math.max(think(), (CFG.pace || 0) - (Date.now() - t0) / 1000);
  if (rest > 0) {
    sleep(rest);
  }
}

export function sessions() {
  const t0 = Date.now();
  const st = student();
  iteration += 1;
  if (ensureToken(st)) {
    const sid = createSession(st);
    if (sid) {
      questionsOf(st, sid);
    }
  }
  finish(t0);
}

export function answers() {
  const t0 = Date.now();
  const st = student();
  iteration += 1;
  if (!ensureToken(st)) {
    return finish(t0);
  }
  let sess = st.session;
  if (!sess || sess.closed) {
    st.session = null;
    const sid = createSession(st);
    if (!sid) {
      return finish(t0);
    }
    sess = { id: sid, questions: null, answered: {}, next: 0, tries: 0, closed: false };
    st.session = sess;
  }
  if (!sess.questions) {
    sess.questions = questionsOf(st, sess.id);
    if (!sess.questions) {
      return finish(t0);
    }
  }
  if (sess.next >= sess.questions.length) {
    submitOnce(st, sess);
    st.session = null;
    return finish(t0);
  }
  const done = Object.keys(sess.answered);
  if (done.length > 0 && Math.random() < (CFG.revise_ratio || 0)) {
    // a student changes an earlier answer: the last acknowledged value is the one to keep
    const qid = Number(done[rnd(done.length)]);
    answer(st, sess, qid, (sess.answered[qid] + 1 + rnd(4)) % 5);
  } else {
    const ok = answer(st, sess, sess.questions[sess.next], rnd(5));
    sess.tries = ok ? 0 : sess.tries + 1;
    if (ok || sess.tries >= 3) {
      sess.next += 1;
      sess.tries = 0;
    }
  }
  return finish(t0);
}

export function submit() {
  const t0 = Date.now();
  const st = student();
  iteration += 1;
  if (!ensureToken(st)) {
    return finish(t0);
  }
  const sid = createSession(st);
  const questions = sid ? questionsOf(st, sid) : null;
  if (questions) {
    const sess = { id: sid, questions, answered: {}, closed: false };
    st.session = sess;
    const count = Math.min(CFG.answers_before_submit || 0, questions.length);
    for (let i = 0; i < count && !sess.closed; i += 1) {
      answer(st, sess, questions[i], rnd(5));
    }
    if (CFG.double_submit === false) {
      submitOnce(st, sess);
    } else {
      submitTwice(st, sess);
    }
    st.session = null;
  }
  return finish(t0);
}
'''

SCRIPTS['generic.js'] = r'''// examday.ops: generic smoke / stress / soak profiles for any HTTP endpoint.
//
// Run by the module examday.ops.load: the executor (constant or ramping VUs, or an arrival rate)
// and the thresholds are in the --config file; the request is described by EXAMDAY_CONFIG (JSON).
import http from 'k6/http';
import { check, sleep } from 'k6';

const CFG = JSON.parse(__ENV.EXAMDAY_CONFIG || '{}');
const EXPECT = (CFG.expect_status && CFG.expect_status.length) ? CFG.expect_status : [200];
const BODY = CFG.body === undefined || CFG.body === null ? null
  : (typeof CFG.body === 'string' ? CFG.body : JSON.stringify(CFG.body));

// A request counts as failed (http_req_failed) when its status is not an expected one.
http.setResponseCallback(http.expectedStatuses(...EXPECT));

export function hit() {
  const res = http.request(CFG.method || 'GET', CFG.url, BODY, {
    headers: CFG.headers || {},
    timeout: CFG.timeout || '10s',
    tags: { name: `${CFG.method || 'GET'} ${CFG.name || CFG.url}` },
  });
  check(res, { 'status is expected': (r) => EXPECT.indexOf(r.status) >= 0 });
  if (!CFG.open_model && CFG.think_time > 0) {
    sleep(CFG.think_time * (0.5 + Math.random()));
  }
}
'''
