"""playbooks/post_exam.yml on the lab: after a freeze it verifies integrity, unfreezes (verified by
effect), captures metrics and reports GO; it is safe to run twice; a corrupted session (a second
SESSION_SUBMITTED event) makes it NO-GO naming the gate."""
from __future__ import annotations

import glob
import json
import os
import time

from tests.integration.conftest import ROOT
from tests.integration.test_rehearsal import artifacts, assert_no_secret

REPORTS = os.path.join(ROOT, "reports")


def run_post_exam(lab, since: str):
    before = set(glob.glob(os.path.join(REPORTS, f"post_exam-{lab.host}-[0-9]*")))
    proc = lab.playbook("post_exam.yml", "-e", f"post_exam_since={since}", check=False)
    made = sorted(set(glob.glob(os.path.join(REPORTS, f"post_exam-{lab.host}-[0-9]*"))) - before)
    assert len(made) == 1, proc.stdout[-3000:]
    with open(os.path.join(made[0], "report.json"), encoding="utf-8") as fh:
        return proc, made[0], json.load(fh)


def test_post_exam_unfreezes_verifies_and_reports(lab3):
    lab = lab3  # the third copy of the lab, in lab-b's worker
    # the exam's window starts now (earlier tests planted defects on purpose; events are append-only)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    lab.playbook("freeze.yml")
    assert lab.flag() is True and not lab.worker_running()
    # one student's real exam during the window
    rc, flow = lab.module("student_flow", {"api_url": "{{ examday_api_url }}", "email": "{{ examday_student_email }}",
                                           "password": "{{ examday_student_password }}",
                                           "experience_checks": False})
    assert rc == 0, flow

    proc, directory, report = run_post_exam(lab, since)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["verdict"] == "GO" and [g["id"] for g in report["gates"]] == [
        "run_complete", "zero_data_loss", "no_corrupted_sessions", "idempotent_submits", "audit_logs", "db_pool"]
    assert lab.flag() in (None, False, "false") and lab.worker_running()
    assert glob.glob(os.path.join(directory, "unfreeze-*.json")) and os.path.exists(os.path.join(directory, "report.html"))
    assert_no_secret({**artifacts(directory), "ansible stdout": proc.stdout})

    proc, _directory, report = run_post_exam(lab, since)  # safe to run twice
    assert proc.returncode == 0 and report["verdict"] == "GO", proc.stdout[-3000:]
    assert "unfreeze" in proc.stdout and lab.flag() in (None, False, "false")

    # a corrupted session: a second SESSION_SUBMITTED event for the flow's session (events are append-only)
    lab.sql("INSERT INTO attempt_events (session_id, user_id, event_type, request_id) "
            "SELECT id, user_id, 'SESSION_SUBMITTED', 'examday-test-duplicate' FROM test_sessions WHERE id = %s",
            (flow["session_id"],))
    proc, directory, report = run_post_exam(lab, since)
    assert proc.returncode != 0 and report["verdict"] == "NO-GO"
    assert report["failed_gates"] == ["no corrupted sessions", "idempotent submits"], report["failed_gates"]
    assert "duplicate_submits" in next(g for g in report["gates"] if g["id"] == "no_corrupted_sessions")["detail"]
    idem = next(g for g in report["gates"] if g["id"] == "idempotent_submits")
    assert idem["value"] == 1 and "1 sessions with more than one submit event" in idem["detail"]
    with open(os.path.join(directory, "integrity.json"), encoding="utf-8") as fh:
        integrity = json.load(fh)
    dup = next(c for c in integrity["checks"] if c["name"] == "duplicate_submits")
    assert dup["count"] == 1 and flow["session_id"] in json.dumps(dup["samples"])
