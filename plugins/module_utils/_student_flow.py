# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One student's whole exam through the API (the profile's calls), with evidence for each step and
a verdict for each user-experience check. A check that fails is recorded and the flow goes on where
it can, so one broken call (a refresh answering 422) does not hide the others."""
from __future__ import annotations

import datetime
import threading
import uuid

from ansible_collections.examday.ops.plugins.module_utils._evidence.names import UX_CHECKS
from ansible_collections.examday.ops.plugins.module_utils._platform.api import ApiResponse, PlatformClient


class FlowFailed(Exception):
    """A step without which the flow cannot go on (login, session creation, reading it)."""

    def __init__(self, message: str, evidence: dict):
        super().__init__(message)
        self.evidence = evidence


def choose_index(position, choices: int = 5) -> int:
    """A deterministic answer for a question position (so a rerun is comparable)."""
    try:
        pos = int(position)
    except (TypeError, ValueError):
        pos = 1
    return (pos * 7 + 3) % choices


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


def timer_consistent(started, expires, expires_after_reload, duration_seconds) -> tuple[bool | None, str]:
    """The attempt's timer: expires is started + the duration asked for (within 2 s), and a reload
    shows the same expiry (a refresh of the page must not reset or shorten the timer)."""
    if expires is None and expires_after_reload is None:
        return None, "not measured: the platform's answers carry no expiry (examday_platform.api.calls.*.read)"
    if _ts(expires) is None or _ts(expires_after_reload) is None or str(expires) != str(expires_after_reload):
        return False, f"expires {expires}, after a reload expires {expires_after_reload}"
    if duration_seconds is not None and _ts(started) is not None:
        span = (_ts(expires) - _ts(started)).total_seconds()
        if abs(span - float(duration_seconds)) > 2:
            return False, f"started {started}, expires {expires}: {span:.0f} s, not the {duration_seconds} s asked for"
    return True, f"expires {expires}, the same after a reload"


class Flow:
    def __init__(self, client: PlatformClient, email: str, password: str):
        self.client = client
        self.email, self.password = email, password
        self.steps: list = []
        self.checks: dict = {}
        self.evidence: dict = {"steps": self.steps, "session_id": None, "checks": self.checks}

    def record(self, resp: ApiResponse, name: str | None = None) -> tuple[ApiResponse, bool]:
        self.steps.append(resp.evidence())
        return resp, self.client.ok(name or resp.name, resp)

    def need(self, resp: ApiResponse) -> ApiResponse:
        """A step the flow cannot go on without."""
        resp, ok = self.record(resp)
        if not ok:
            raise FlowFailed(f"step '{resp.name}' answered {resp.describe()}", self.evidence)
        return resp

    def check(self, name: str, passed: bool | None, detail: str) -> None:
        self.checks[name] = {"passed": passed, "detail": detail}

    def answered_ids(self, view: ApiResponse) -> set | None:
        questions = self.client.questions(view)
        if not questions or all(q["has_answer"] is None for q in questions):
            return None
        return {str(q["question_id"]) for q in questions if q["has_answer"]}


def run_student_flow(client: PlatformClient, email: str, password: str, spec: dict | None = None,
                     answer_count: int | None = None, double_submit: bool = True, experience: bool = False) -> dict:
    """Runs login, create, read, answer, resume check, the experience checks (timer, token refresh,
    logout) and the (double) submit. Returns evidence with every check's verdict; raises FlowFailed
    when a step the flow needs failed, or when any check failed (with all the evidence)."""
    f = Flow(client, email, password)
    login = f.need(client.login(email, password))
    tokens = client.tokens("login", login)
    token = tokens["access_token"]

    created = f.need(client.create_session(token, spec))
    session_id = client.value("create_session", "session_id", created)
    f.evidence["session_id"] = session_id
    view = f.need(client.read_session(token, session_id))
    questions = client.questions(view)
    if not questions:
        raise FlowFailed("the session has no questions the profile can read (examday_platform.api.calls."
                         "read_session.read.questions)", f.evidence)
    count = len(questions) if answer_count is None else min(answer_count, len(questions))
    choices = client.profile["api"]["answer_choices"]
    answered: dict = {}
    for q in questions[:count]:
        idx = choose_index(q["position"], choices)
        resp, ok = f.record(client.answer(token, session_id, q["question_id"], idx, position=q["position"]))
        if ok:
            answered[str(q["question_id"])] = (q["question_id"], idx)
        else:
            f.check("resume_consistent", False, f"answering question {q['question_id']} answered {resp.describe()}")
    f.evidence["answered"] = len(answered)

    resumed = f.need(client.read_session(token, session_id))
    if "resume_consistent" not in f.checks:
        got = f.answered_ids(resumed)
        count_after = client.value("read_session", "answered_count", resumed)
        if got is None and count_after is None:
            f.check("resume_consistent", None, "not measured: the profile reads neither has_answer nor answered_count")
        else:
            same = (got is None or got == set(answered)) and (count_after is None or count_after == len(answered))
            f.check("resume_consistent", same, f"after a reload {len(got) if got is not None else count_after} answered "
                                               f"questions, {len(answered)} were acknowledged")

    if experience:
        token = _experience_checks(f, tokens, created, resumed, spec, session_id, answered)

    key = uuid.uuid4().hex
    if double_submit:
        first, second = _concurrently(lambda: client.submit(token, session_id, key),
                                      lambda: client.submit(token, session_id, key))
        f.record(first)
        f.record(second)
        same = first.status == second.status and first.body == second.body
        f.check("submit_idempotent", same, "both submits answered the same" if same else
                f"two concurrent submits with one idempotency key answered {first.describe()} and "
                f"{second.describe()}" + ("" if first.status != second.status else " with different bodies"))
        submitted = first if client.ok("submit", first) else second
    else:
        submitted = client.submit(token, session_id, key)
        f.record(submitted)
    status = client.value("submit", "status", submitted)
    want = client.profile["api"]["statuses"]["submitted"]
    ok = client.ok("submit", submitted) and (status is None or str(status) == want)
    f.evidence["submit"] = {"http_status": submitted.status, "status": status,
                            "score": client.value("submit", "score", submitted)}
    f.check("submitted", ok, f"submit answered {submitted.describe()}" + (f", status {status}" if status else ""))
    failed = [name for name in UX_CHECKS if (f.checks.get(name) or {}).get("passed") is False]
    if failed:
        raise FlowFailed("; ".join(f"{name}: {f.checks[name]['detail']}" for name in failed), f.evidence)
    return f.evidence


def _experience_checks(f: Flow, tokens: dict, created: ApiResponse, resumed: ApiResponse, spec, session_id,
                       answered: dict) -> str:
    client = f.client
    duration = (spec if spec is not None else client.profile["api"]["session"]).get("duration_seconds")
    f.check("timer_consistent", *timer_consistent(client.value("create_session", "started_at", created),
                                                  client.value("create_session", "expires_at", created),
                                                  client.value("read_session", "expires_at", resumed), duration))
    token = tokens["access_token"]
    refresh = tokens.get("refresh_token")
    active = client.profile["api"]["statuses"]["active"]
    if not client.has("refresh"):
        f.check("refresh_continues_attempt", None, "not measured: the profile has no refresh call")
    elif not refresh:
        f.check("refresh_continues_attempt", None, "not measured: the login answer carries no refresh token "
                                                   "(examday_platform.api.calls.login.read.refresh_token)")
    else:
        resp, ok = f.record(client.refresh(refresh))
        new = client.tokens("refresh", resp) if ok else {}
        if not ok or not new.get("access_token"):
            f.check("refresh_continues_attempt", False, f"the token refresh answered {resp.describe()}")
        else:
            token, refresh = new["access_token"], new.get("refresh_token") or refresh
            ok_write = True
            if answered:
                qid, idx = next(iter(answered.values()))
                write, ok_write = f.record(client.answer(token, session_id, qid, idx))
            view, ok_read = f.record(client.read_session(token, session_id))
            got = f.answered_ids(view) if ok_read else None
            status = client.value("read_session", "status", view) if ok_read else None
            same = ok_write and ok_read and (got is None or got == set(answered)) and (status is None or status == active)
            f.check("refresh_continues_attempt", same, "after a token refresh the attempt went on with the same progress"
                    if same else "after a token refresh the attempt was not the same (a write or read failed, or the "
                                 "progress or status changed)")
    if not client.has("logout") or not refresh:
        f.check("logout_keeps_attempt", None, "not measured: the profile has no logout call or no refresh token")
        return token
    f.record(client.logout(refresh))
    again, ok = f.record(client.login_patiently(f.email, f.password))
    if not ok:
        f.check("logout_keeps_attempt", False, f"logging in again after the logout answered {again.describe()}")
        return token
    token = client.tokens("login", again)["access_token"]
    view, ok_read = f.record(client.read_session(token, session_id))
    got = f.answered_ids(view) if ok_read else None
    status = client.value("read_session", "status", view) if ok_read else None
    same = ok_read and (got is None or got == set(answered)) and (status is None or status == active)
    f.check("logout_keeps_attempt", same, "after logout and a new login the attempt was there with the same progress"
            if same else "after logout and a new login the attempt's progress or status was not the same")
    return token
