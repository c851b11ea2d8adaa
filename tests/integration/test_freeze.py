"""The freeze and unfreeze playbooks and the exam_mode module against the lab."""
from __future__ import annotations

import glob
import json
import os
import re

import pytest

from tests.integration.conftest import ROOT
from tests.integration.test_exam_mode import heavy_job_state

ADMIN = {"api_url": "{{ examday_api_url }}", "admin_email": "{{ examday_admin_email }}",
         "admin_password": "{{ examday_admin_password }}"}
DB = {"db": "{{ examday_db }}"}
ENV = {"env": "{{ examday_exam_mode_env }}"}


def recap(stdout: str) -> dict:
    m = re.search(r"lab\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", stdout)
    assert m, stdout[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups())))


def records(kind: str) -> set:
    return set(glob.glob(os.path.join(ROOT, "reports", f"{kind}-lab-[0-9]*.json")))


def newest(paths: set) -> dict:
    with open(max(paths, key=os.path.getmtime), encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture
def unfrozen(lab):
    """Leaves the lab unfrozen (EXAM_MODE off, worker running) whatever the test did."""
    yield lab
    if lab.flag() is True or not lab.worker_running():
        lab.playbook("unfreeze.yml", check=False)
    assert lab.flag() in (None, False) and lab.worker_running()


def test_freeze_in_check_mode_changes_nothing(unfrozen):
    lab = unfrozen
    before_flag, before_records = lab.flag(), records("freeze")
    proc = lab.playbook("freeze.yml", "--check", "--diff")
    assert "would set EXAM_MODE on via api" in proc.stdout
    assert "'stop'" in proc.stdout  # names the job container it would stop
    assert lab.flag() == before_flag and lab.worker_running()
    assert records("freeze") == before_records
    heavy_job_state(lab, lab.admin_token(), active=False, timeout=15)


def test_freeze_twice_then_unfreeze_twice(unfrozen):
    lab = unfrozen
    first = lab.playbook("freeze.yml")
    assert recap(first.stdout)["changed"] >= 2
    heavy_job_state(lab, lab.admin_token(), active=True, timeout=15)
    assert lab.flag() is True and not lab.worker_running()
    record = newest(records("freeze"))
    assert record["verdict"]["passed"] is True and record["exam_mode"]["verified"] is True
    assert record["exam_mode"]["evidence"]["probe"]["recent"] == [423] * 8
    assert {c["name"]: c["passed"] for c in record["status_after"]["checks"]} == {
        "health": True, "ready": True, "edge": True, "services": True, "resource_limits": True,
        "db_connections": True}
    second = lab.playbook("freeze.yml")
    assert recap(second.stdout)["changed"] == 0
    # the freeze and unfreeze records (files); other runs' records are directories with their own checks
    text = "".join(open(p, encoding="utf-8").read() for p in glob.glob(os.path.join(ROOT, "reports", "*freeze-lab-[0-9]*")))
    for secret in ("admin_password", "db_password", "jwt_secret"):
        assert lab.secret(secret) not in text

    third = lab.playbook("unfreeze.yml")
    assert recap(third.stdout)["changed"] >= 2
    assert lab.flag() is False and lab.worker_running()
    heavy_job_state(lab, lab.admin_token(), active=False, timeout=15)
    assert recap(lab.playbook("unfreeze.yml").stdout)["changed"] == 0


@pytest.mark.parametrize("mechanism, extra", [("api", {}), ("flag", DB), ("env", ENV)])
def test_exam_mode_module_is_verified_by_effect_and_idempotent(unfrozen, mechanism, extra):
    lab = unfrozen
    if mechanism == "env":
        lab.sql("DELETE FROM system_flags WHERE key = 'EXAM_MODE'")  # the env var is the default only without a row
    args = {**ADMIN, **extra, "mechanism": mechanism, "compose_project": "exam_platform"}
    try:
        rc, on, printed = lab.module_output("exam_mode", {**args, "state": "enabled"}, "--diff")
        assert rc == 0, on
        assert on["changed"] is True and on["verified"] is True
        assert on["evidence"]["probe"]["settled"] is True and on["evidence"]["worker"]["ok"] is True
        if mechanism == "env":
            # --diff shows the env file's line before and after
            assert '-EXAM_MODE="false"' in printed and '+EXAM_MODE="true"' in printed
            # ... and nothing else of a file that holds secrets
            for secret in ("db_password", "jwt_secret"):
                assert lab.secret(secret) not in printed
            assert on["applied"]["backup"] and os.path.exists(on["applied"]["backup"])
            os.remove(on["applied"]["backup"])
        rc, again = lab.module("exam_mode", {**args, "state": "enabled"})
        assert rc == 0 and again["changed"] is False and again["verified"] is True
    finally:
        rc, off = lab.module("exam_mode", {**args, "state": "disabled"})
    assert rc == 0 and off["changed"] is True and off["verified"] is True
    assert off["evidence"]["probe"]["recent"][-1] == 200


def test_exam_mode_refuses_freeze_updates_unless_asked(lab):
    rc, out = lab.module("exam_mode", {**ADMIN, **DB, "state": "enabled", "mechanism": "flag", "platform": (
        "{{ examday_platform | combine({'exam_mode': {'flag': {'key': 'FREEZE_UPDATES'}}}, recursive=true) }}")})
    assert rc != 0 and "blocks every student" in out["msg"]
    assert lab.flag("FREEZE_UPDATES") is None


def test_freeze_fails_and_names_the_evidence_when_the_worker_ignores_exam_mode(clean_defects, unfrozen):
    lab = clean_defects
    lab.set_defects("worker_ignores_exam_mode")
    proc = lab.playbook("freeze.yml", "-e", "examday_exam_mode_verify_timeout=12", check=False)  # 3x what the lab needs
    assert proc.returncode != 0
    assert "the job runner never logged job_runner_idle (newest job-runner record: job_run)" in proc.stdout
    record = newest(records("freeze"))
    assert record["verdict"]["passed"] is False
    assert "job_runner_idle" in record["verdict"]["reasons"][0]


@pytest.mark.parametrize("extra, message", [
    ({"freeze_platform": "{{ examday_platform | combine({'jobs': {'services': ['nope']}}, recursive=true) }}"},
     "no container of service nope in compose project exam_platform"),
    ({"freeze_platform": "{{ examday_platform | combine({'api': {'calls': {'login': {'methd': 'POST'}}}}, "
                         "recursive=true) }}"}, "platform.api.calls.login.methd"),
    ({"examday_admin_password": "wrong-password"}, "admin login as admin@lab.examday.invalid failed with HTTP 401"),
    ({"examday_api_url": "http://127.0.0.1:9"}, "cannot reach http://127.0.0.1:9/health"),
    ({"examday_thresholds": {"db_pool_pct": 120}},
     "Threshold db_pool_pct is a percentage and must be at most 100, got 120"),
    ({"examday_exam_mode_mechanism": "env", "examday_exam_mode_env": {"file": "/nonexistent/backend.env"}},
     "the env file /nonexistent/backend.env does not exist"),
])
def test_bad_input_gives_one_clear_error_and_changes_nothing(unfrozen, extra, message):
    lab = unfrozen
    before = lab.flag()
    proc = lab.playbook("freeze.yml", "-e", json.dumps(extra), check=False)
    assert proc.returncode != 0
    assert message in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert lab.flag() == before and lab.worker_running()


def proc_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
        text = fh.read()
    return text[text.rindex(")") + 2:].split()[0]


def test_background_jobs_pauses_and_resumes_job_processes_found_by_pattern(unfrozen, tmp_path):
    lab = unfrozen
    backend = lab.containers("backend")[0]
    backend.exec_run(["cp", "/bin/sleep", "/tmp/cron"])
    backend.exec_run(["/tmp/cron", "300"], detach=True)
    args = {"compose_project": "exam_platform", "state_file": str(tmp_path / "jobs.json")}
    try:
        rc, off = lab.module("background_jobs", {**args, "state": "stopped"})
        assert rc == 0 and off["changed"] is True, off
        (paused,) = [a for a in off["actions"] if a["action"] == "sigstop"]
        assert paused["args"] == "/tmp/cron 300" and paused["container"] == backend.name
        assert {a["action"] for a in off["actions"]} == {"sigstop", "stop"}
        assert proc_state(paused["pid"]) == "T" and not lab.worker_running()
        rc, again = lab.module("background_jobs", {**args, "state": "stopped"})
        assert rc == 0 and again["changed"] is False

        rc, on = lab.module("background_jobs", {**args, "state": "started"})
        assert rc == 0 and {a["action"] for a in on["actions"]} == {"sigcont", "start"}
        assert proc_state(paused["pid"]) in "RS" and lab.worker_running()
        rc, again = lab.module("background_jobs", {**args, "state": "started"})
        assert rc == 0 and again["changed"] is False
    finally:
        backend.exec_run(["pkill", "-CONT", "-f", "/tmp/cron"])
        backend.exec_run(["pkill", "-f", "/tmp/cron"])
        backend.exec_run(["rm", "-f", "/tmp/cron"])
        if not lab.worker_running():
            lab.containers("worker", all_states=True)[0].start()
