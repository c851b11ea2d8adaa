"""Each opt-in defect switch of the lab really produces its defect (so each gate can fail).

The three defects touch separate paths (the submit lock, the answer path while Redis is down, the
worker), so one deployment with all three on serves the three tests: two lab redeploys instead of six."""
from __future__ import annotations

import threading
import time

import pytest

from tests.integration.test_exam_mode import set_by_flag, worker_events_since
from tests.integration.test_redis import redis_stopped, wait_redis_down_in_ready


def test_defects_are_off_by_default(lab):
    (worker,) = lab.containers("worker")
    for container in lab.containers("backend") + [worker]:
        env = dict(e.split("=", 1) for e in container.attrs["Config"]["Env"])
        switches = [env[k] for k in sorted(env) if k.startswith("LAB_DEFECT_")]
        assert len(switches) == 6 and set(switches) == {"false"}


@pytest.fixture(scope="module")
def defective(lab):
    lab.set_defects("nonidempotent_submit", "answers_lost_without_redis", "worker_ignores_exam_mode")
    yield lab
    lab.set_defects()


def test_nonidempotent_submit_produces_duplicate_submit_events(defective):
    lab = defective
    sessions = []
    for _attempt in range(10):
        token = lab.token()
        sessions.append((token, lab.new_session(token, count=2)["session_id"]))
    barrier = threading.Barrier(20)

    def submit(token, sid):
        barrier.wait()
        lab.post(f"/v1/sessions/{sid}/submit", None, token, headers={"Idempotency-Key": sid})

    threads = [threading.Thread(target=submit, args=(t, s)) for t, s in sessions for _copy in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = lab.submitted_events([sid for _token, sid in sessions])
    assert max(counts.values()) == 2, f"no duplicate SESSION_SUBMITTED with the defect on: {counts}"


def test_answers_lost_while_redis_is_down_are_acknowledged_but_not_stored(defective):
    lab = defective
    token = lab.token()
    sid = lab.new_session(token, count=3)["session_id"]
    qs = lab.questions(token, sid)
    ok = lab.post(f"/v1/sessions/{sid}/answer", {"question_id": qs[0]["question_id"], "selected_index": 1}, token)
    assert ok.status_code == 200
    with redis_stopped(lab):
        wait_redis_down_in_ready(lab)
        acked = [lab.post(f"/v1/sessions/{sid}/answer", {"question_id": q["question_id"], "selected_index": 2}, token)
                 for q in qs[1:]]
        assert [r.status_code for r in acked] == [200, 200]
    stored = lab.sql("SELECT question_id FROM session_answers WHERE session_id = %s", (sid,))
    assert stored == [(qs[0]["question_id"],)], "the two answers acknowledged without Redis must be missing"


def test_worker_ignoring_exam_mode_keeps_running_jobs(defective):
    lab = defective
    admin = lab.admin_token()
    cache_s = lab.get("/v1/admin/system/exam-mode", admin).json()["cache_seconds"]
    set_by_flag(lab, admin, True)
    try:
        since = time.time() + cache_s + 1  # past the worker's flag cache: it knows EXAM_MODE is on
        runs = worker_events_since(lab, since, "job_run", timeout=40)
        assert runs[-1]["exam_mode_active"] is True
        (worker,) = lab.containers("worker")
        assert not [r for r in lab.logs_since(worker, since) if r.get("event") == "job_runner_idle"]
    finally:
        set_by_flag(lab, admin, False)
