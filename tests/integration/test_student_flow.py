"""The lab behaves like PLATFORM.md for a student: the full flow, auth, idempotent submits."""
from __future__ import annotations

import json
import os
import threading
import time

from tests.integration.conftest import ROOT


def test_smoke_playbook_completes_a_session_through_the_edge(lab, tmp_path):
    proc = lab.playbook("smoke.yml", "-e", f"examday_evidence_dir={tmp_path}")
    with open(tmp_path / "smoke-flow.json", encoding="utf-8") as fh:
        flow = json.load(fh)
    assert flow["changed"] is True
    assert {k: v["passed"] for k, v in flow["checks"].items()} == {
        "resume_consistent": True, "timer_consistent": True, "refresh_continues_attempt": True,
        "logout_keeps_attempt": True, "submit_idempotent": True, "submitted": True}
    sid = flow["session_id"]
    assert lab.sql("SELECT status FROM test_sessions WHERE id = %s", (sid,)) == [("SUBMITTED",)]
    assert lab.sql("SELECT count(*) FROM session_answers WHERE session_id = %s", (sid,)) == [(flow["answered"],)]
    assert lab.submitted_events([sid]) == {sid: 1}
    # The password and tokens never reach the output.
    evidence = (tmp_path / "smoke-flow.json").read_text()
    assert lab.secret("student_password") not in proc.stdout + proc.stderr + evidence
    assert "access_token" not in proc.stdout + evidence


def test_smoke_playbook_check_mode_creates_nothing(lab):
    before = lab.sql("SELECT count(*) FROM test_sessions")
    lab.playbook("smoke.yml", "--check")
    assert lab.sql("SELECT count(*) FROM test_sessions") == before


def test_unreachable_url_gives_one_clear_error(lab):
    proc = lab.playbook("smoke.yml", "-e", "examday_api_url=http://127.0.0.1:9", check=False)
    assert proc.returncode != 0
    assert "cannot reach http://127.0.0.1:9/v1/auth/login" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_the_lab_orders_writes_by_the_clients_version(lab):
    """A write the client gave up on arrives after a newer one: refused with 409 STALE_WRITE, so
    the newer acknowledged answer stays stored (the unordered_writes defect drops this)."""
    token = lab.token()
    sid = lab.new_session(token, count=2)["session_id"]
    qid = lab.questions(token, sid)[0]["question_id"]
    newer = lab.post(f"/v1/sessions/{sid}/answer", {"question_id": qid, "selected_index": 1, "client_version": 20},
                     token)
    assert newer.status_code == 200
    stale = lab.post(f"/v1/sessions/{sid}/answer", {"question_id": qid, "selected_index": 2, "client_version": 10},
                     token)
    assert stale.status_code == 409 and stale.json()["code"] == "STALE_WRITE"
    assert lab.sql("SELECT selected_index, client_version FROM session_answers WHERE session_id = %s", (sid,)) == [(1, 20)]
    later = lab.post(f"/v1/sessions/{sid}/answer", {"question_id": qid, "selected_index": 3, "client_version": 30},
                     token)
    assert later.status_code == 200 and later.json()["answer"]["selected_index"] == 3
    # a client that sends no version is not ordered (the last write wins, as before)
    plain = lab.post(f"/v1/sessions/{sid}/answer", {"question_id": qid, "selected_index": 0}, token)
    assert plain.status_code == 200
    assert lab.sql("SELECT selected_index FROM session_answers WHERE session_id = %s", (sid,)) == [(0,)]


def test_full_student_flow_with_resume_change_and_review_marks(lab):
    token = lab.token()
    session = lab.new_session(token, count=5)
    sid = session["session_id"]
    assert session["status"] == "ACTIVE" and session["total_questions"] == 5
    assert session["progress"] == {"answered_count": 0, "marked_for_review_count": 0, "current_position": 1}
    qs = lab.questions(token, sid)
    assert [q["position"] for q in qs] == [1, 2, 3, 4, 5]

    first = lab.post(f"/v1/sessions/{sid}/answer", {"question_id": qs[0]["question_id"], "selected_index": 1}, token)
    assert first.status_code == 200 and first.json()["answer"]["changed_count"] == 0
    changed = lab.post(f"/v1/sessions/{sid}/answer",
                       {"question_id": qs[0]["question_id"], "selected_index": 3, "marked_for_review": True}, token)
    assert changed.json()["answer"]["changed_count"] == 1
    assert changed.json()["progress"]["marked_for_review_count"] == 1
    lab.post(f"/v1/sessions/{sid}/answer", {"question_id": qs[1]["question_id"], "selected_index": None}, token)

    view = lab.get(f"/v1/sessions/{sid}", token).json()   # a "refresh": the same progress comes back
    assert view["progress"] == {"answered_count": 1, "marked_for_review_count": 1, "current_position": 3}
    assert [q["has_answer"] for q in view["questions"]] == [True, False, False, False, False]
    assert view["current_question"]["position"] == 3 and "correct_index" not in view["current_question"]

    foreign = lab.post(f"/v1/sessions/{sid}/answer", {"question_id": 999999, "selected_index": 1}, token)
    assert (foreign.status_code, foreign.json()["code"]) == (400, "QUESTION_NOT_IN_SESSION")
    other = lab.token()
    assert lab.get(f"/v1/sessions/{sid}", other).status_code == 404   # not someone else's session

    done = lab.post(f"/v1/sessions/{sid}/submit", None, token)
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "SUBMITTED" and body["score_total"] == 5 and body["submitted_at"]
    closed = lab.post(f"/v1/sessions/{sid}/answer", {"question_id": qs[2]["question_id"], "selected_index": 1}, token)
    assert (closed.status_code, closed.json()["code"]) == (400, "SESSION_CLOSED")
    again = lab.post(f"/v1/sessions/{sid}/submit", None, token)
    assert again.status_code == 200 and again.json() == body


def test_token_refresh_rotates_detects_reuse_and_logout_keeps_attempt_state(lab):
    login = lab.login()
    access, refresh = login["tokens"]["access_token"], login["tokens"]["refresh_token"]
    sid = lab.new_session(access, count=3)["session_id"]
    q = lab.questions(access, sid)[0]
    lab.post(f"/v1/sessions/{sid}/answer", {"question_id": q["question_id"], "selected_index": 2}, access)

    rotated = lab.post("/v1/auth/refresh", {"refresh_token": refresh})
    assert rotated.status_code == 200
    new = rotated.json()["tokens"]
    assert new["refresh_token"] != refresh
    # The attempt goes on with the new access token.
    assert lab.get(f"/v1/sessions/{sid}", new["access_token"]).json()["progress"]["answered_count"] == 1

    reuse = lab.post("/v1/auth/refresh", {"refresh_token": refresh})
    assert (reuse.status_code, reuse.json()["code"]) == (401, "REFRESH_TOKEN_REUSED")
    # Reuse revokes the whole family, the rotated token included.
    assert lab.post("/v1/auth/refresh", {"refresh_token": new["refresh_token"]}).status_code == 401

    login2 = lab.login(*lab_student_again(lab, login))
    assert lab.post("/v1/auth/logout", {"refresh_token": login2["tokens"]["refresh_token"]}).status_code == 200
    assert lab.post("/v1/auth/refresh", {"refresh_token": login2["tokens"]["refresh_token"]}).status_code == 401
    # Logout does not delete attempt state; the access token stays valid until it expires.
    after = lab.get(f"/v1/sessions/{sid}", login2["tokens"]["access_token"])
    assert after.status_code == 200 and after.json()["progress"]["answered_count"] == 1


def lab_student_again(lab, login):
    return login["user"]["email"], lab.secret("cohort_password")


def test_wrong_password_and_unverified_users_are_refused(lab):
    email, password = lab.next_student()
    bad = lab.post("/v1/auth/login", {"email": email, "password": password + "x"},
                   headers={"X-Forwarded-For": lab.next_ip()})
    assert (bad.status_code, bad.json()["code"]) == (401, "INVALID_CREDENTIALS")
    lab.sql("UPDATE users SET is_verified = false WHERE email = %s", (email,))
    try:
        refused = lab.post("/v1/auth/login", {"email": email, "password": password},
                           headers={"X-Forwarded-For": lab.next_ip()})
        assert refused.status_code == 403
    finally:
        lab.sql("UPDATE users SET is_verified = true WHERE email = %s", (email,))
    assert lab.get("/v1/sessions/00000000-0000-0000-0000-000000000000").status_code == 401


def test_twenty_sessions_with_concurrent_double_submits_have_one_submit_event_each(lab):
    sessions = []
    for _attempt in range(20):
        token = lab.token()
        sid = lab.new_session(token, count=3)["session_id"]
        q = lab.questions(token, sid)[0]
        lab.post(f"/v1/sessions/{sid}/answer", {"question_id": q["question_id"], "selected_index": 0}, token)
        sessions.append((token, sid))

    results: dict = {}
    barrier = threading.Barrier(40)

    def submit(token, sid, n):
        barrier.wait()
        results[(sid, n)] = lab.post(f"/v1/sessions/{sid}/submit", None, token, headers={"Idempotency-Key": sid})

    threads = [threading.Thread(target=submit, args=(t, s, n)) for t, s in sessions for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _token, sid in sessions:
        a, b = results[(sid, 1)], results[(sid, 2)]
        assert a.status_code == b.status_code == 200
        assert a.json() == b.json() and a.json()["status"] == "SUBMITTED"
    assert lab.submitted_events([sid for _token, sid in sessions]) == {sid: 1 for _token, sid in sessions}


def test_edge_retries_idempotent_requests_on_the_other_replica(lab):
    replicas = lab.containers("backend")
    assert len(replicas) >= 2, "the lab runs at least two backend replicas"
    victim = replicas[0]
    statuses = []
    victim.stop(timeout=10)
    try:
        for _attempt in range(60):
            statuses.append(lab.get("/v1/health").status_code)
            time.sleep(0.02)
    finally:
        victim.start()
    assert statuses == [200] * 60
    lab.wait_ready()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        victim.reload()
        if victim.attrs["State"].get("Health", {}).get("Status") == "healthy":
            break
        time.sleep(0.5)
    assert victim.attrs["State"]["Health"]["Status"] == "healthy"


def test_cohort_provisioning_gives_many_loginable_students(lab):
    rows = lab.sql("SELECT count(*) FROM users WHERE cohort = 'lab-cohort' AND is_active")
    assert rows[0][0] >= 200
    # Student 200 logs in like student 1 (the cohort shares one password, kept in .lab/secrets).
    assert lab.token("student00200@cohort.examday.invalid", lab.secret("cohort_password"))
    assert not os.stat(os.path.join(ROOT, ".lab", "secrets", "cohort_password")).st_mode & 0o077
