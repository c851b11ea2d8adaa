"""EXAM_MODE through each mechanism (env default at start, admin API, flag row), seen by effect."""
from __future__ import annotations

import json
import os
import re
import time

import pytest

from tests.integration.conftest import ROOT

ENV_FILE = os.path.join(ROOT, ".lab", "backend.env")
STREAK = 8  # answers in a row through the edge: both replicas, whose flag caches expire separately


def heavy_job_state(lab, admin: str, active: bool, timeout: float = 30.0) -> list[int]:
    """Polls the heavy-job endpoint until STREAK answers in a row show the wanted state."""
    deadline = time.monotonic() + timeout
    seen: list[int] = []
    streak = 0
    while time.monotonic() < deadline:
        resp = lab.heavy_job(admin)
        seen.append(resp.status_code)
        refused = resp.status_code == 423 and resp.json()["code"] == "EXAM_MODE_ACTIVE"
        streak = streak + 1 if refused == active else 0
        if streak >= STREAK:
            return seen
        time.sleep(0.25)
    raise AssertionError(f"heavy job never showed EXAM_MODE {'on' if active else 'off'} within {timeout}s: {seen[-20:]}")


def worker_events_since(lab, since: float, event: str, timeout: float = 30.0) -> list[dict]:
    (worker,) = lab.containers("worker")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in lab.logs_since(worker, since) if r.get("event") == event]
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"the worker logged no {event} within {timeout}s")


def set_by_api(lab, admin: str, enabled: bool):
    phrase = "ENABLE EXAM MODE" if enabled else "DISABLE EXAM MODE"
    resp = lab.post("/v1/admin/system/exam-mode", {"enabled": enabled, "reason": "integration test",
                                                   "confirmation_phrase": phrase}, admin)
    assert resp.status_code == 200, resp.text
    assert resp.json()["enabled"] is enabled


def set_by_flag(lab, admin: str, enabled: bool):
    lab.sql("INSERT INTO system_flags (key, value, updated_by, reason) VALUES ('EXAM_MODE', to_jsonb(%s::boolean), "
            "'examday-tests', 'integration test') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
            "updated_at = now(), updated_by = EXCLUDED.updated_by, reason = EXCLUDED.reason", (enabled,))


def set_by_env(lab, admin: str, enabled: bool):
    # The env var is only the default when no flag row exists (that is what the lab models).
    lab.sql("DELETE FROM system_flags WHERE key = 'EXAM_MODE'")
    with open(ENV_FILE, encoding="utf-8") as fh:
        text = fh.read()
    with open(ENV_FILE, "w", encoding="utf-8") as fh:
        fh.write(re.sub(r'^EXAM_MODE=.*$', f'EXAM_MODE="{str(enabled).lower()}"', text, flags=re.M))
    lab.compose("up", "--detach", "--no-deps", "--wait", "backend", "worker")
    lab.wait_ready()


MECHANISMS = {"api": set_by_api, "flag": set_by_flag, "env": set_by_env}


@pytest.mark.parametrize("mechanism", sorted(MECHANISMS))
def test_exam_mode_takes_effect_by_each_mechanism(lab, mechanism):
    admin = lab.admin_token()
    toggle = MECHANISMS[mechanism]
    heavy_job_state(lab, admin, active=False)
    t_on = time.time()
    toggle(lab, admin, True)
    try:
        heavy_job_state(lab, admin, active=True)
        admin = lab.admin_token()  # the env mechanism recreated the backends; tokens stay valid anyway
        idle = worker_events_since(lab, t_on, "job_runner_idle")
        assert idle[-1]["reason"] == "EXAM_MODE_ACTIVE"
        assert idle[-1]["source"] == ("env" if mechanism == "env" else "flag")
        # Student endpoints are unaffected; new sessions record the mode.
        token = lab.token()
        session = lab.new_session(token, count=2)
        assert session["exam_mode_at_start"] is True
        q = lab.questions(token, session["session_id"])[0]
        assert lab.post(f"/v1/sessions/{session['session_id']}/answer",
                        {"question_id": q["question_id"], "selected_index": 1}, token).status_code == 200
        assert lab.post(f"/v1/sessions/{session['session_id']}/submit", None, token).status_code == 200
    finally:
        toggle(lab, admin, False)
    heavy_job_state(lab, admin, active=False)
    t_off = time.time()
    assert worker_events_since(lab, t_off, "job_run")


def test_admin_toggle_needs_admin_and_the_confirmation_phrase(lab):
    admin = lab.admin_token()
    wrong = lab.post("/v1/admin/system/exam-mode", {"enabled": True, "reason": "x",
                                                    "confirmation_phrase": "yes please"}, admin)
    assert (wrong.status_code, wrong.json()["code"]) == (400, "CONFIRMATION_REQUIRED")
    student = lab.post("/v1/admin/system/exam-mode", {"enabled": True, "reason": "x",
                                                      "confirmation_phrase": "ENABLE EXAM MODE"}, lab.token())
    assert student.status_code == 403
    assert lab.sql("SELECT count(*) FROM system_flags WHERE key = 'EXAM_MODE' AND value = 'true'::jsonb") == [(0,)]


def test_freeze_updates_is_a_different_flag_that_blocks_students(lab):
    token = lab.token()
    sid = lab.new_session(token, count=2)["session_id"]
    q = lab.questions(token, sid)[0]
    lab.sql("INSERT INTO system_flags (key, value, updated_by, reason) VALUES ('FREEZE_UPDATES', 'true'::jsonb, "
            "'examday-tests', 'integration test') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")
    try:
        deadline = time.monotonic() + 30
        codes = []
        while time.monotonic() < deadline:
            resp = lab.post(f"/v1/sessions/{sid}/answer", {"question_id": q["question_id"], "selected_index": 0}, token)
            codes.append(resp.status_code)
            if codes[-STREAK:] == [423] * STREAK:
                break
            time.sleep(0.25)
        assert codes[-STREAK:] == [423] * STREAK
        assert resp.json()["code"] == "FREEZE_UPDATES_ACTIVE"
        assert lab.post(f"/v1/sessions/{sid}/submit", None, token).status_code == 423
        # FREEZE_UPDATES is not EXAM_MODE: heavy jobs still run.
        assert lab.heavy_job(lab.admin_token()).status_code == 200
    finally:
        lab.sql("DELETE FROM system_flags WHERE key = 'FREEZE_UPDATES'")
    # Unfrozen only when every replica agrees (each has its own flag cache): a streak of answers.
    deadline = time.monotonic() + 30
    codes = []
    while codes[-STREAK:] != [200] * STREAK:
        assert time.monotonic() < deadline, f"answers still frozen 30 s after the flag was removed: {codes[-20:]}"
        codes.append(lab.post(f"/v1/sessions/{sid}/answer", {"question_id": q["question_id"], "selected_index": 1},
                              token).status_code)
        time.sleep(0.25)
    assert lab.post(f"/v1/sessions/{sid}/submit", None, token).status_code == 200


def test_exam_mode_state_is_readable_by_the_admin(lab):
    body = lab.get("/v1/admin/system/exam-mode", lab.admin_token()).json()
    assert set(body) >= {"enabled", "source", "flag", "cache_seconds"}
    assert json.dumps(body)  # JSON-safe
