# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One student's whole exam through the API, with evidence for each step."""
from __future__ import annotations

import datetime
import threading
import uuid

from ansible_collections.examday.ops.plugins.module_utils._platform_api import ApiResponse, PlatformClient


class FlowFailed(Exception):
    def __init__(self, message: str, evidence: dict):
        super().__init__(message)
        self.evidence = evidence


def choose_index(position: int) -> int:
    """A deterministic answer for a question position (so a rerun is comparable)."""
    return (position * 7 + 3) % 5


def _concurrently(*calls):
    results: list = [None] * len(calls)
    errors: list = []

    def run(i, fn):
        try:
            results[i] = fn()
        except Exception as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _ts(value) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def timer_consistent(created: dict, resumed: dict, duration_seconds) -> bool:
    """The attempt's timer: expires_at is started_at + the duration asked for (within 2 s), and a
    reload shows the same expires_at (a refresh of the page must not reset or shorten the timer)."""
    resumed = resumed.get("session", resumed)  # GET /v1/sessions/{id} nests the session's fields
    started, expires = _ts(created.get("started_at")), _ts(created.get("expires_at"))
    if started is None or expires is None or created.get("expires_at") != resumed.get("expires_at"):
        return False
    return duration_seconds is None or abs((expires - started).total_seconds() - float(duration_seconds)) <= 2


def run_student_flow(client: PlatformClient, email: str, password: str, spec: dict,
                     answer_count: int | None = None, double_submit: bool = True, experience: bool = False) -> dict:
    """Runs login, create, read, answer, resume check and (double) submit. Returns evidence;
    raises FlowFailed naming the first step that did not behave. With experience=True, before the
    submit: the timer is consistent across a reload, a token refresh does not interrupt the attempt
    (the new token answers and sees the same progress), and after a logout and a new login the
    attempt is still there with the same progress."""
    steps: list = []
    evidence: dict = {"steps": steps, "session_id": None, "checks": {}}

    def record(resp: ApiResponse, *ok_codes: int) -> ApiResponse:
        steps.append(resp.evidence())
        if not resp.ok(*ok_codes):
            detail = resp.body.get("detail") if isinstance(resp.body, dict) else resp.body
            raise FlowFailed(f"step '{resp.name}' answered HTTP {resp.status}"
                             + (f" ({detail})" if detail else ""), evidence)
        return resp

    login = record(client.login(email, password))
    token = login.body["tokens"]["access_token"]

    created = record(client.create_session(token, spec), 200, 201)
    session_id = created.body["session_id"]
    evidence["session_id"] = session_id

    view = record(client.read_session(token, session_id))
    questions = view.body["questions"]
    count = len(questions) if answer_count is None else min(answer_count, len(questions))
    answered = {}
    for q in questions[:count]:
        idx = choose_index(q["position"])
        record(client.answer(token, session_id, q["question_id"], idx))
        answered[q["question_id"]] = idx
    evidence["answered"] = len(answered)

    resumed = record(client.read_session(token, session_id))
    got = {q["question_id"] for q in resumed.body["questions"] if q.get("has_answer")}
    progress = resumed.body.get("progress", {})
    evidence["checks"]["resume_consistent"] = got == set(answered) and progress.get("answered_count") == len(answered)
    if not evidence["checks"]["resume_consistent"]:
        raise FlowFailed(f"resumed session shows {len(got)} answered questions, {len(answered)} were acknowledged",
                         evidence)

    if experience:
        token = _experience_checks(client, record, evidence, login.body["tokens"], created.body, resumed.body,
                                   spec, email, password, session_id, answered)

    key = uuid.uuid4().hex
    if double_submit:
        first, second = _concurrently(lambda: client.submit(token, session_id, key),
                                      lambda: client.submit(token, session_id, key))
        record(first)
        record(second)
        same = first.body == second.body
        evidence["checks"]["submit_idempotent"] = same
        if not same:
            raise FlowFailed("two concurrent submits with one Idempotency-Key answered different bodies", evidence)
        submitted = first
    else:
        submitted = record(client.submit(token, session_id, key))
    body = submitted.body
    evidence["submit"] = {k: body.get(k) for k in ("status", "score_correct", "score_total", "score_pct",
                                                   "submitted_at")}
    evidence["checks"]["submitted"] = body.get("status") == "SUBMITTED"
    if not evidence["checks"]["submitted"]:
        raise FlowFailed(f"submit answered status {body.get('status')!r}, not SUBMITTED", evidence)
    return evidence


def _experience_checks(client, record, evidence, tokens, created, resumed, spec, email, password, session_id, answered) -> str:
    checks = evidence["checks"]
    checks["timer_consistent"] = timer_consistent(created, resumed, spec.get("duration_seconds"))
    if not checks["timer_consistent"]:
        raise FlowFailed(f"the timer is not consistent: started {created.get('started_at')}, expires {created.get('expires_at')}, "
                         f"after a reload expires {resumed.get('expires_at')}", evidence)

    refreshed = record(client.refresh(tokens["refresh_token"]))
    new_tokens = refreshed.body["tokens"]
    if answered:
        qid, idx = next(iter(answered.items()))
        record(client.answer(new_tokens["access_token"], session_id, qid, idx))
    view = record(client.read_session(new_tokens["access_token"], session_id))
    same = {q["question_id"] for q in view.body["questions"] if q.get("has_answer")} == set(answered)
    checks["refresh_continues_attempt"] = same and (view.body.get("session") or view.body).get("status") == "ACTIVE"
    if not checks["refresh_continues_attempt"]:
        raise FlowFailed("after a token refresh the attempt was not the same (progress or status changed)", evidence)

    record(client.logout(new_tokens["refresh_token"]))
    again = record(client.login_patiently(email, password))
    token = again.body["tokens"]["access_token"]
    view = record(client.read_session(token, session_id))
    same = {q["question_id"] for q in view.body["questions"] if q.get("has_answer")} == set(answered)
    checks["logout_keeps_attempt"] = same and (view.body.get("session") or view.body).get("status") == "ACTIVE"
    if not checks["logout_keeps_attempt"]:
        raise FlowFailed("after logout and a new login the attempt's progress was not the same", evidence)
    return token
