// examday.ops: the exam scenarios, on any platform the profile describes (examday.js does the
// calls, the students and the record of writes).
//
// Run by the module examday.ops.load, which writes the k6 options (scenario, executor,
// thresholds) into a --config file and everything else into EXAMDAY_CONFIG (JSON, no secret).
//
// Scenarios (exported functions): sessions (session burst), answers (steady answers with think
// time, some answers revised, a timed-out answer answered again as a student would), submit
// (submit spike with double submits sharing one idempotency key).
import * as examday from './examday.js';

const CFG = examday.CFG;
const CHOICES = Math.max(2, (CFG.api || {}).answer_choices || 5);

export function sessions() {
  const t0 = Date.now();
  const st = examday.student();
  examday.nextIteration();
  if (examday.ensureToken(st)) {
    const sid = examday.createSession(st);
    if (sid !== null) {
      examday.questionsOf(st, sid);
    }
  }
  examday.finish(t0);
}

function openSession(st) {
  const sid = examday.createSession(st);
  if (sid === null) {
    return null;
  }
  st.session = { id: sid, questions: null, answered: {}, next: 0, tries: 0, closed: false, retry: null };
  return st.session;
}

export function answers() {
  const t0 = Date.now();
  const st = examday.student();
  examday.nextIteration();
  if (!examday.ensureToken(st)) {
    return examday.finish(t0);
  }
  let sess = st.session;
  if (!sess || sess.closed) {
    st.session = null;
    sess = openSession(st);
    if (!sess) {
      return examday.finish(t0);
    }
  }
  if (!sess.questions) {
    sess.questions = examday.questionsOf(st, sess.id);
    if (!sess.questions) {
      return examday.finish(t0);
    }
  }
  if (sess.retry) {
    // The last write's outcome is unknown (no answer in time): the student clicks again, on the
    // same question, choosing again.
    const q = sess.retry;
    sess.retry = null;
    if (examday.answer(st, sess, q.qid, examday.rnd(CHOICES), q.position) === 'unknown') {
      sess.retry = q;
    }
    return examday.finish(t0);
  }
  if (sess.next >= sess.questions.length) {
    examday.submitOnce(st, sess);
    st.session = null;
    return examday.finish(t0);
  }
  const done = Object.keys(sess.answered);
  if (done.length > 0 && Math.random() < (CFG.revise_ratio || 0)) {
    // a student changes an earlier answer: the last acknowledged value is the one to keep
    const prev = sess.answered[done[examday.rnd(done.length)]];
    const outcome = examday.answer(st, sess, prev.qid, (prev.idx + 1 + examday.rnd(CHOICES - 1)) % CHOICES);
    if (outcome === 'unknown') {
      sess.retry = { qid: prev.qid, position: null };
    }
  } else {
    const position = sess.next + 1;
    const outcome = examday.answer(st, sess, sess.questions[sess.next], examday.rnd(CHOICES), position);
    if (outcome === 'unknown') {
      sess.retry = { qid: sess.questions[sess.next], position };
    }
    sess.tries = outcome === 'acked' ? 0 : sess.tries + 1;
    if (outcome !== 'refused' || sess.tries >= 3) {
      sess.next += 1;
      sess.tries = 0;
    }
  }
  return examday.finish(t0);
}

export function submit() {
  const t0 = Date.now();
  const st = examday.student();
  examday.nextIteration();
  if (!examday.ensureToken(st)) {
    return examday.finish(t0);
  }
  const sid = examday.createSession(st);
  const questions = sid !== null ? examday.questionsOf(st, sid) : null;
  if (questions) {
    const sess = { id: sid, questions, answered: {}, closed: false };
    st.session = sess;
    const count = Math.min(CFG.answers_before_submit || 0, questions.length);
    for (let i = 0; i < count && !sess.closed; i += 1) {
      examday.answer(st, sess, questions[i], examday.rnd(CHOICES), i + 1);
    }
    if (CFG.double_submit === false) {
      examday.submitOnce(st, sess);
    } else {
      examday.submitTwice(st, sess);
    }
    st.session = null;
  }
  return examday.finish(t0);
}
