from __future__ import annotations

import json

import pytest

from ansible_collections.examday.ops.plugins.module_utils._platform.api import PlatformClient
from ansible_collections.examday.ops.plugins.module_utils._student_flow import (
    FlowFailed, choose_index, run_student_flow)
from tests.unit import profiles
from tests.unit.replay import Replay, load

SPEC = {"mode": "EXAM", "year": 2026, "blocks": ["A"], "count": 4, "duration_seconds": 600}


def flow_exchanges():
    return load("lab_student_flow.json")[1:]  # without the leading /v1/ready


def test_recorded_flow_gives_full_evidence():
    replay = Replay(flow_exchanges())
    ev = run_student_flow(PlatformClient("http://lab.invalid", replay, profiles.lab()), "s@x.invalid", "pw", SPEC, answer_count=3)
    assert ev["answered"] == 3
    assert {k: v["passed"] for k, v in ev["checks"].items()} == {"resume_consistent": True, "submit_idempotent": True,
                                                                 "submitted": True}
    assert ev["submit"]["status"] == "SUBMITTED"
    assert [s["step"] for s in ev["steps"]] == ["login", "create_session", "read_session", "answer", "answer",
                                                "answer", "read_session", "submit", "submit"]
    # Both submits carried the same Idempotency-Key, and answers followed choose_index().
    submits = [s for s in replay.sent if s["path"].endswith("/submit")]
    assert len({s["headers"]["Idempotency-Key"] for s in submits}) == 1
    answers = [s["body"] for s in replay.sent if s["path"].endswith("/answer")]
    assert [a["selected_index"] for a in answers] == [choose_index(p) for p in (1, 2, 3)]
    # The lab orders writes: every answer carries a version that grows.
    versions = [a["client_version"] for a in answers]
    assert versions == sorted(versions) and len(set(versions)) == 3


def test_differing_double_submit_bodies_fail_the_flow():
    exchanges = flow_exchanges()
    second = json.loads(exchanges[-1]["body"])
    second["score_correct"] = 99
    exchanges[-1]["body"] = json.dumps(second)
    with pytest.raises(FlowFailed, match="different bodies") as err:
        run_student_flow(PlatformClient("http://lab.invalid", Replay(exchanges), profiles.lab()), "s", "pw", SPEC, answer_count=3)
    assert err.value.evidence["checks"]["submit_idempotent"]["passed"] is False


def test_lost_answer_fails_the_resume_check():
    exchanges = flow_exchanges()
    resumed = json.loads(exchanges[6]["body"])
    resumed["questions"][0]["has_answer"] = False
    resumed["progress"]["answered_count"] = 2
    exchanges[6]["body"] = json.dumps(resumed)
    with pytest.raises(FlowFailed, match="after a reload 2 answered questions, 3 were acknowledged"):
        run_student_flow(PlatformClient("http://lab.invalid", Replay(exchanges), profiles.lab()), "s", "pw", SPEC, answer_count=3)


def test_a_refused_step_is_named():
    exchanges = flow_exchanges()
    exchanges[3] = {**exchanges[3], "status": 423,
                    "body": json.dumps({"code": "FREEZE_UPDATES_ACTIVE", "detail": "updates are frozen"})}
    with pytest.raises(FlowFailed, match=r"answered HTTP 423 FREEZE_UPDATES_ACTIVE \(updates are frozen\)") as err:
        run_student_flow(PlatformClient("http://lab.invalid", Replay(exchanges), profiles.lab()), "s", "pw", SPEC,
                         answer_count=3)
    assert err.value.evidence["steps"][3]["code"] == "FREEZE_UPDATES_ACTIVE"
    assert err.value.evidence["checks"]["resume_consistent"]["passed"] is False


def experience_exchanges():
    return load("lab_student_flow_experience.json")[1:]


def test_recorded_experience_checks():
    replay = Replay(experience_exchanges())
    ev = run_student_flow(PlatformClient("http://lab.invalid", replay, profiles.lab()), "s@x.invalid", "pw", SPEC, answer_count=3,
                          experience=True)
    assert {k: v["passed"] for k, v in ev["checks"].items()} == {
        "resume_consistent": True, "timer_consistent": True, "refresh_continues_attempt": True,
        "logout_keeps_attempt": True, "submit_idempotent": True, "submitted": True}
    assert [s["step"] for s in ev["steps"]][7:] == ["refresh", "answer", "read_session", "logout", "login",
                                                    "read_session", "submit", "submit"]
    # The refresh sent the login's refresh token; the logout the refreshed one.
    sent = {s["path"].rsplit("/", 1)[-1]: s for s in replay.sent}
    assert sent["refresh"]["body"] == {"refresh_token": "<redacted>"} and sent["logout"]["body"] == {"refresh_token": "<redacted>"}


def test_a_reset_timer_fails_the_experience_checks():
    exchanges = experience_exchanges()
    resumed = json.loads(exchanges[6]["body"])
    resumed["session"]["expires_at"] = resumed["session"]["started_at"]
    exchanges[6]["body"] = json.dumps(resumed)
    with pytest.raises(FlowFailed, match="timer_consistent: expires .* after a reload expires") as err:
        run_student_flow(PlatformClient("http://lab.invalid", Replay(exchanges), profiles.lab()), "s", "pw", SPEC,
                         answer_count=3, experience=True)
    assert err.value.evidence["checks"]["timer_consistent"]["passed"] is False
    # the flow went on: the other checks were still measured
    assert err.value.evidence["checks"]["logout_keeps_attempt"]["passed"] is True


def test_an_attempt_lost_at_logout_fails_the_experience_checks():
    exchanges = experience_exchanges()
    after = json.loads(exchanges[12]["body"])
    for q in after["questions"]:
        q["has_answer"] = False
    exchanges[12]["body"] = json.dumps(after)
    with pytest.raises(FlowFailed, match="after logout and a new login"):
        run_student_flow(PlatformClient("http://lab.invalid", Replay(exchanges), profiles.lab()), "s", "pw", SPEC, answer_count=3, experience=True)


def test_a_broken_refresh_is_a_failed_check_and_the_other_checks_still_run():
    """The real platform's refresh answers 422 for every body: reported, not a crash."""
    exchanges = experience_exchanges()
    exchanges[7] = {**exchanges[7], "status": 422, "body": json.dumps({"error_code": "VALIDATION_ERROR"})}
    # the answer and read after the refresh are not sent; the logout goes on with the login's refresh token
    del exchanges[8:10]
    with pytest.raises(FlowFailed, match="refresh_continues_attempt: the token refresh answered HTTP 422") as err:
        run_student_flow(PlatformClient("http://lab.invalid", Replay(exchanges), profiles.lab()), "s", "pw", SPEC,
                         answer_count=3, experience=True)
    checks = err.value.evidence["checks"]
    assert checks["refresh_continues_attempt"]["passed"] is False
    assert checks["logout_keeps_attempt"]["passed"] is True and checks["submitted"]["passed"] is True


def test_a_platform_without_refresh_says_not_measured():
    exchanges = experience_exchanges()
    del exchanges[7:10]
    no_refresh = profiles.with_(profiles.lab(), **{"api.calls.refresh.path": ""})
    ev = run_student_flow(PlatformClient("http://lab.invalid", Replay(exchanges), no_refresh), "s", "pw", SPEC,
                          answer_count=3, experience=True)
    assert ev["checks"]["refresh_continues_attempt"] == {
        "passed": None, "detail": "not measured: the profile has no refresh call"}
