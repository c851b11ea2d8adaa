"""Exam day against the lab: the emergency restart (the runbook's order, each service healthy before
the next, the students' outage measured by the canary, then the recovery verification, GO) and its
prod guard; verify_recovery after a planted lost write is NO-GO naming it."""
from __future__ import annotations

import glob
import json
import os
import time

from tests.integration.conftest import ROOT
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
    before = started_at(lab)
    # prod is refused without the typed confirmation, before anything is restarted
    for extra in ([], ["-e", "restart_confirmation=RESTART PROD somewhere-else"]):
        proc = lab.playbook("emergency_restart.yml", "-e", "examday_environment=prod", *extra, check=False)
        assert proc.returncode != 0
        assert "This inventory is prod: the restart runs only with the typed confirmation RESTART PROD lab" in proc.stdout
    assert started_at(lab) == before

    proc, directory, report = run(lab, "emergency_restart.yml", "emergency_restart", "-e", "restart_observe_seconds=10")
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


def test_verify_recovery_after_a_planted_lost_write_is_no_go_naming_it(lab):
    rc, flow = lab.module("student_flow", {"api_url": "{{ examday_api_url }}", "email": "{{ examday_student_email }}",
                                           "password": "{{ examday_student_password }}", "experience_checks": False})
    assert rc == 0, flow
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    (row,) = lab.sql("SELECT session_id, question_id FROM session_answers WHERE session_id = %s AND is_correct "
                     "LIMIT 1", (flow["session_id"],)) or [(None, None)]
    assert row[0] is not None, "the flow's session has no correct answer to lose"
    saved = lab.sql("SELECT * FROM session_answers WHERE session_id = %s AND question_id = %s", row)
    columns = [r[0] for r in lab.sql("SELECT column_name FROM information_schema.columns WHERE table_name = "
                                     "'session_answers' ORDER BY ordinal_position")]
    lab.sql("DELETE FROM session_answers WHERE session_id = %s AND question_id = %s", row)  # an acknowledged answer lost
    try:
        proc, directory, report = run(lab, "verify_recovery.yml", "verify_recovery", "-e", f"recovery_since={since}")
    finally:
        lab.sql(f"INSERT INTO session_answers ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                saved[0])
    assert proc.returncode != 0 and report["verdict"] == "NO-GO", proc.stdout[-3000:]
    assert report["failed_gates"] == ["zero data loss"], report["failed_gates"]
    loss = next(g for g in report["gates"] if g["id"] == "zero_data_loss")
    assert "missing_answers" in loss["detail"]
    with open(os.path.join(directory, "integrity.json"), encoding="utf-8") as fh:
        missing = next(c for c in json.load(fh)["checks"] if c["name"] == "missing_answers")
    assert missing["count"] == 1 and str(flow["session_id"]) in json.dumps(missing["samples"])
    assert "NO-GO: zero data loss" in proc.stdout
    with open(os.path.join(directory, "report.md"), encoding="utf-8") as fh:
        record = fh.read()
    assert record.startswith("# Recovery Verification\n\n**Verdict**: **NO-GO**: zero data loss\n")
    assert "## What failed\n\n- **zero data loss**: " in record and "| missing_answers | FAIL | 1 |" in record
    # the platform itself is healthy: health, readiness, the student's session continuity all passed
    assert all(g["passed"] for g in report["gates"] if g["id"] in ("platform_status", "user_experience", "run_complete"))
