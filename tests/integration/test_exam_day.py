"""Exam day against the lab: the emergency restart (the runbook's order, each service healthy before
the next, the students' outage measured by the canary, then the recovery verification, GO) and its
prod guard; verify_recovery after a planted lost write is NO-GO naming it."""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import time

from tests.integration.conftest import ROOT, VENV_BIN, flat
from tests.integration.test_rehearsal import artifacts, assert_no_secret

REPORTS = os.path.join(ROOT, "reports")


def run(lab, playbook: str, prefix: str, *extra: str):
    before = set(glob.glob(os.path.join(REPORTS, f"{prefix}-lab-[0-9]*")))
    proc = lab.playbook(playbook, *extra, check=False)
    made = sorted(set(glob.glob(os.path.join(REPORTS, f"{prefix}-lab-[0-9]*"))) - before)
    assert len(made) == 1, f"one record directory expected, got {made}:\n{proc.stdout[-3000:]}"
    with open(os.path.join(made[0], "report.json"), encoding="utf-8") as fh:
        return proc, made[0], json.load(fh)


def project_containers(lab) -> list:
    return lab.docker.containers.list(all=True, filters={"label": ["com.docker.compose.project=exam_platform"]})


def started_at(lab) -> dict:
    return {c.name: c.attrs["State"]["StartedAt"] for c in project_containers(lab)}


def test_emergency_restart_restarts_in_order_measures_the_outage_and_verifies_recovery(lab):
    # the incident's window starts now (other tests plant corrupted sessions on purpose; events are append-only)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    before = started_at(lab)
    # prod is refused without the typed confirmation, before anything is restarted
    for extra in ([], ["-e", "restart_confirmation=RESTART PROD somewhere-else"]):
        proc = lab.playbook("emergency_restart.yml", "-e", "examday_environment=prod", *extra, check=False)
        assert proc.returncode != 0
        assert "This inventory is prod: the restart runs only with the typed confirmation RESTART PROD lab" in flat(proc.stdout)
    assert started_at(lab) == before

    proc, directory, report = run(lab, "emergency_restart.yml", "emergency_restart", "-e", "restart_observe_seconds=10",
                                  "-e", f"restart_since={since}")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["verdict"] == "GO" and [g["id"] for g in report["gates"]] == [
        "run_complete", "zero_data_loss", "no_corrupted_sessions", "idempotent_submits", "recovery", "readiness_truth",
        "audit_logs", "user_experience", "db_pool", "platform_status"]
    with open(os.path.join(directory, "faults.json"), encoding="utf-8") as fh:
        (restart,) = json.load(fh)
    # the runbook's order: infrastructure first, then the application, each timed
    assert restart["details"]["order"] == ["postgres", "redis", "traefik", "backend"]
    assert all(s["healthy_after_s"] is not None and s["restart_s"] > 0 for s in restart["details"]["services"])
    assert restart["restored"] is True and restart["max_outage_s"] > sum(s["restart_s"] for s in restart["details"]["services"])
    for service in ("postgres: ", "redis: ", "traefik: ", "backend: "):
        assert service in proc.stdout
    # every container was restarted and runs again; nothing is left in the ledger
    after = started_at(lab)
    assert all(after[name] > before[name] for name in after if not name.endswith("worker"))
    assert all(c.status == "running" for c in project_containers(lab) if not c.name.endswith("worker"))
    rc, listed = lab.module("fault", {"state": "listed", "ledger_dir": "{{ examday_fault_ledger_dir }}"})
    assert rc == 0 and listed["active"] == [], listed
    # what the students saw: the canary ticked through the restart and the recovery gate measured it
    with open(os.path.join(directory, "canary.jsonl"), encoding="utf-8") as fh:
        ticks = [json.loads(line) for line in fh]
    assert ticks[0]["start"] < restart["injected_at"] and ticks[-1]["start"] > restart["ended_at"]
    recovery = next(g for g in report["gates"] if g["id"] == "recovery")
    assert recovery["detail"].startswith("emergency restart: outage ") and "after its end" in recovery["detail"]
    with open(os.path.join(directory, "report.md"), encoding="utf-8") as fh:
        record = fh.read()
    assert record.startswith("# Emergency Restart\n\n**Verdict**: **GO**\n") and "  - postgres: restarted in " in record
    assert_no_secret({**artifacts(directory), "ansible stdout": proc.stdout})


def test_verify_recovery_after_a_planted_lost_write_is_no_go_naming_it(lab, tmp_path):
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))  # the incident's window starts now
    # a student of this test answers one question right (the lab's answer key) and submits: an acknowledged,
    # scored write that can be lost
    token = lab.token(*lab.next_student())
    sid = lab.new_session(token, count=5)["session_id"]
    question = lab.questions(token, sid)[0]["question_id"]
    (right,) = lab.sql("SELECT correct_index FROM questions WHERE id = %s", (question,))[0]
    answered = lab.post(f"/v1/sessions/{sid}/answer", {"question_id": question, "selected_index": right}, token)
    assert answered.status_code in (200, 201), answered.text
    submitted = lab.post(f"/v1/sessions/{sid}/submit", None, token)
    assert submitted.status_code == 200 and submitted.json()["score_correct"] == 1, submitted.text
    row = (sid, question)
    saved = lab.sql("SELECT * FROM session_answers WHERE session_id = %s AND question_id = %s", row)
    columns = [r[0] for r in lab.sql("SELECT column_name FROM information_schema.columns WHERE table_name = "
                                     "'session_answers' ORDER BY ordinal_position")]
    lab.sql("DELETE FROM session_answers WHERE session_id = %s AND question_id = %s", row)  # an acknowledged answer lost
    (worker,) = lab.containers("worker", all_states=True)
    worker.stop(timeout=10)  # as the freeze leaves it during the exam: a job service down is no finding
    try:
        proc, directory, report = run(lab, "verify_recovery.yml", "verify_recovery", "-e", f"recovery_since={since}")
    finally:
        lab.sql(f"INSERT INTO session_answers ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                saved[0])
        worker.start()
    assert proc.returncode != 0 and report["verdict"] == "NO-GO", proc.stdout[-3000:]
    assert report["failed_gates"] == ["zero data loss"], report["failed_gates"]
    loss = next(g for g in report["gates"] if g["id"] == "zero_data_loss")
    assert "missing_answers" in loss["detail"]
    with open(os.path.join(directory, "integrity.json"), encoding="utf-8") as fh:
        missing = next(c for c in json.load(fh)["checks"] if c["name"] == "missing_answers")
    assert missing["count"] == 1 and str(sid) in json.dumps(missing["samples"])
    assert "NO-GO: zero data loss" in flat(proc.stdout)
    with open(os.path.join(directory, "report.md"), encoding="utf-8") as fh:
        record = fh.read()
    assert record.startswith("# Recovery Verification\n\n**Verdict**: **NO-GO**: zero data loss\n")
    assert "## What failed\n\n- **zero data loss**: " in record and "| missing_answers | FAIL | 1 |" in record
    # the platform itself is healthy (the stopped job runner is the freeze's): health, readiness, the student's
    # session continuity all passed
    assert all(g["passed"] for g in report["gates"] if g["id"] in ("platform_status", "user_experience", "run_complete"))
    status = next(g for g in report["gates"] if g["id"] == "platform_status")
    assert status["detail"] == "5 of 5 checks passed", status

    # the day's lessons-learned record lists it, from this record alone
    day = tmp_path / "reports"
    shutil.copytree(directory, day / os.path.basename(directory))
    stamp = os.path.basename(directory).rsplit("-", 1)[1]  # YYYYMMDD_HHMMSS (UTC)
    lab.playbook("lessons_learned.yml", "-e", f"examday_reports_dir={day}", "-e",
                 f"lessons_date={stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}")
    (lessons,) = glob.glob(str(day / "lessons-learned-*-lab.md"))
    with open(lessons, encoding="utf-8") as fh:
        text = fh.read()
    assert "recovery verification: zero data loss - " in text and "missing_answers" in text
    assert "Recovery verified at " in text and "NO-GO (failed: zero_data_loss)" in text
    assert "| recovery verification | lab | NO-GO: zero_data_loss failed |" in text


def test_the_rollback_guard_stops_new_sessions_by_effect_counts_the_running_ones_and_opens_again(lab, tmp_path):
    # a platform without a switch (lab-b's profile, like the real platform) is told so before anything is asked
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventories", "lab-b"),
                           os.path.join(ROOT, "playbooks", "rollback_guard.yml")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False, env={**os.environ, "PWD": ROOT})
    assert proc.returncode != 0 and ("has no switch that stops new sessions (examday_platform.rollback."
                                     "new_sessions_flag is empty), so the rollback guard changed nothing.") in flat(proc.stdout)
    # prod is refused without the typed confirmation
    proc = lab.playbook("rollback_guard.yml", "-e", "examday_environment=prod", check=False)
    assert proc.returncode != 0 and "stopping new sessions needs -e 'rollback_confirmation=STOP NEW SESSIONS lab'" \
        in flat(proc.stdout)
    assert lab.flag("NEW_SESSIONS_CLOSED") in (None, False)

    # one running session of a student of this test: the drain cannot end while it runs
    email, password = lab.next_student()
    token = lab.token(email, password)
    running = lab.new_session(token)
    reports = tmp_path / "reports"
    reports.mkdir()
    try:
        proc = lab.playbook("rollback_guard.yml", "-e", "rollback_drain_minutes=0.1", "-e",
                            f"examday_reports_dir={reports}", check=False)
        active = lab.sql("SELECT count(*) FROM test_sessions WHERE status = 'ACTIVE'")[0][0]
        assert proc.returncode != 0 and active >= 1
        assert f"new sessions are closed, but {active} sessions were still active after 0.1 minutes" in flat(proc.stdout)
        assert lab.flag("NEW_SESSIONS_CLOSED") in (True, "true")
        # proven by effect: another student cannot start, the running session goes on
        other = lab.token(*lab.next_student())
        refused = lab.post("/v1/sessions", {"mode": "EXAM", "year": 2026, "blocks": ["A"], "count": 5}, other)
        assert refused.status_code == 423 and refused.json()["code"] == "NEW_SESSIONS_CLOSED"
        assert lab.get(f"/v1/sessions/{running['session_id']}", token).status_code == 200
    finally:
        proc = lab.playbook("rollback_guard.yml", "-e", "rollback_state=open", "-e", f"examday_reports_dir={reports}",
                            check=False)
        if proc.returncode != 0:  # the next tests need sessions: the row this test's guard set goes (the test fails below)
            lab.sql("DELETE FROM system_flags WHERE key = 'NEW_SESSIONS_CLOSED'")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "new sessions open" in flat(proc.stdout) and lab.flag("NEW_SESSIONS_CLOSED") in (False, "false")
    assert lab.new_session(lab.token(*lab.next_student()))["session_id"]
    closing, opening = sorted(glob.glob(str(reports / "rollback_guard-lab-*.json")))  # the failed drain is kept too
    with open(closing, encoding="utf-8") as fh:
        closed = json.load(fh)
    assert closed["failed"] is True and closed["msg"].startswith("new sessions are closed, but ")
    with open(opening, encoding="utf-8") as fh:
        opened = json.load(fh)
    assert opened["state"] == "open" and opened["before"] == "closed" and opened["verification"]["verified"]
    assert opened["verification"]["probe_sessions_submitted"] >= 8  # what the probe was given, it submitted
    assert_no_secret({"records": json.dumps([closed, opened]), "ansible stdout": proc.stdout})
