// A scenario of a team's own (docs/load.md): each student answers a whole session in reverse
// order and records, next to the shipped "answer" writes, a kind of its own, "progress": the
// number of answered questions the platform acknowledged after each answer. Reconciliation of
// "progress" is data (examday_platform.reconcile.progress), so the collection needs no code for it.
import * as examday from './examday.js';

export function progress() {
  const st = examday.student();
  if (!examday.ensureToken(st)) {
    examday.think();
    return;
  }
  const sid = examday.createSession(st);
  const questions = sid === null ? null : examday.questionsOf(st, sid);
  if (!questions) {
    examday.think();
    return;
  }
  const sess = { id: sid, answered: {}, closed: false };
  for (let i = questions.length - 1; i >= 0 && !sess.closed; i -= 1) {
    const sentAt = examday.now();
    const version = examday.nextVersion();
    const res = examday.request(st, 'answer', { session_id: sid, question_id: questions[i], selected_index: i % 4,
      version, position: i + 1 });
    examday.recordWrite('answer', { session_id: sid, question_id: questions[i], selected_index: i % 4 }, res, sentAt,
      { version });
    const count = examday.read('answer', 'answered_count', examday.jsonOf(res));
    if (count !== undefined && count !== null) {
      examday.recordWrite('progress', { session_id: sid, answered: count }, res, sentAt, { version });
    }
    examday.think();
  }
}
