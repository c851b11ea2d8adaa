"""lab-b, the second reference platform (docs/lab-b.md), driven through its inventory alone
(inventories/lab-b): the freeze with each EXAM_MODE mechanism (admin API, switch row, env var and a
restart) proven by effect, a rehearsal that is GO when lab-b is healthy and NO-GO naming the right
gates with its defects on, and the post-exam run. Nothing in the collection knows lab-b: every fact
is its profile's. The module deploys lab-b with playbooks/lab.yml and removes it at the end."""
from __future__ import annotations

import glob
import json
import os
import subprocess
import time

import psycopg
import pytest
import requests
import yaml

from tests.integration.conftest import ROOT, VENV_BIN, exclusive
from tests.integration.test_rehearsal import active_faults, artifacts, assert_followed, assert_no_secret

INVENTORY = os.path.join(ROOT, "inventories", "lab-b")
STATE = os.path.join(ROOT, ".lab", "b")
LEDGER_B = os.path.join(STATE, "faults")  # lab-b's own fault ledger (examday_fault_ledger_dir of inventories/lab-b)
API = "http://127.0.0.1:18180/api/v2"
REPORTS = os.path.join(ROOT, "reports")


class LabB:
    """lab-b as its tests see it: playbooks with its inventory, its database, its admin API."""

    def __init__(self):
        self.http = requests.Session()

    def secret(self, name: str) -> str:
        with open(os.path.join(STATE, "secrets", name), encoding="utf-8") as fh:
            return fh.read().strip()

    def playbook(self, playbook: str, *args: str, check: bool = True):
        cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", INVENTORY, os.path.join(ROOT, "playbooks", playbook),
               *args]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
                              env={**os.environ, "PWD": ROOT})
        if check and proc.returncode != 0:
            raise AssertionError(f"{playbook} failed (rc {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
        return proc

    def sql(self, query: str, params=None) -> list[tuple]:
        with psycopg.connect(host="127.0.0.1", port=15532, dbname="assess", user="assess_app",
                             password=self.secret("db_password"), connect_timeout=5) as conn:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description else []

    def switch(self) -> bool:
        return self.sql("SELECT enabled FROM feature_switches WHERE name = 'exam_lock'")[0][0]

    def env_lock(self) -> str:
        with open(os.path.join(STATE, "api.env"), encoding="utf-8") as fh:
            return next(line.split("=", 1)[1].strip().strip('"') for line in fh if line.startswith("EXAM_LOCK="))

    def needs_up(self) -> bool:
        """A defect switch is on (in the env file or in the running API container), or a container of
        lab-b is not running: the lab role's `up` must put lab-b back as its other tests expect it."""
        with open(os.path.join(STATE, "api.env"), encoding="utf-8") as fh:
            switches = [line.strip() for line in fh if line.startswith("LABB_DEFECT_")]
        env = subprocess.run(["docker", "inspect", "--format", "{{json .Config.Env}}", "assess_api"],
                             capture_output=True, text=True, timeout=30, check=False).stdout
        states = subprocess.run(["docker", "ps", "--all", "--filter", "label=com.docker.compose.project=assess",
                                 "--format", "{{.State}}"], capture_output=True, text=True, timeout=30,
                                check=False).stdout.split()
        running_env = json.loads(env) if env.strip() else []
        defect_on = any(s.endswith('"true"') for s in switches) or any(
            e.startswith("LABB_DEFECT_") and e.endswith("=true") for e in running_env)
        return defect_on or not states or any(state != "running" for state in states)

    def operator_token(self) -> str:
        body = {"login": "ops@assess.lab-b.test", "secret": self.secret("admin_password")}
        resp = self.http.post(f"{API}/auth/token", json=body, timeout=10)
        resp.raise_for_status()
        return resp.json()["data"]["token"]

    def rebuild(self) -> tuple[int, str | None]:
        """The heavy job's answer (the probe's request): 503 EXAM_LOCK_ON while locked, 422 otherwise."""
        resp = self.http.post(f"{API}/ops/reports/rebuild", headers={"X-Api-Token": self.operator_token()}, timeout=10)
        return resp.status_code, (resp.json() or {}).get("error_code")

    def cron_logs_since(self, since: float, wait: float = 0) -> list[dict]:
        """The cron process's records since `since` (waiting up to `wait` s for the first)."""
        deadline = time.monotonic() + wait
        while True:
            out = subprocess.run(["docker", "logs", "--since", str(int(since)), "assess_api"], capture_output=True,
                                 text=True, timeout=30, check=True).stdout
            rows = []
            for line in out.splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if str(row.get("msg", "")).startswith("cron."):
                    rows.append(row)
            if rows or time.monotonic() >= deadline:
                return rows
            time.sleep(1)

    def cron_paused(self) -> bool:
        """The cron process inside the API container is stopped (SIGSTOP: state T)."""
        out = subprocess.run(["docker", "exec", "assess_api", "ps", "-eo", "stat,args"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        (line,) = [x for x in out.splitlines() if "examlab_b.cron" in x and "ps -eo" not in x]
        return line.strip().startswith("T")


def locked_by_effect(lab: LabB, want: bool, timeout: float = 30) -> None:
    """Every worker process caches the lock (lab_flag_cache_seconds): several answers in a row must agree."""
    deadline, streak = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        status, code = lab.rebuild()
        streak = streak + 1 if ((status, code) == (503, "EXAM_LOCK_ON")) == want else 0
        if streak >= 6:
            return
        time.sleep(0.3)
    raise AssertionError(f"the exam lock is not {'on' if want else 'off'} by effect (last answer {status} {code})")


@pytest.fixture(scope="module")
def labb():
    with exclusive("lab-b"):
        lab = LabB()
        lab.playbook("lab.yml", "-e", "lab_action=reset")
        yield lab
        lab.playbook("lab.yml", "-e", "lab_action=down", check=False)
        lab.http.close()


@pytest.fixture
def clean_b(labb):
    yield labb
    if labb.needs_up():
        labb.playbook("lab.yml", "-e", "lab_action=up", check=False)  # defects off again, every service up
    if labb.switch() or labb.env_lock() != "false":
        labb.playbook("unfreeze.yml", check=False)


def newest_record(kind: str) -> dict:
    path = max(glob.glob(os.path.join(REPORTS, f"{kind}-lab-b-*.json")), key=os.path.getmtime)
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def profile_with(**flag) -> dict:
    with open(os.path.join(INVENTORY, "group_vars", "all", "profile.yml"), encoding="utf-8") as fh:
        platform = yaml.safe_load(fh)["examday_platform"]
    platform["exam_mode"]["flag"].update(flag)
    return platform


@pytest.mark.parametrize("mechanism", ["api", "flag", "env"])
def test_each_exam_mode_mechanism_freezes_and_unfreezes_by_effect(clean_b, mechanism):
    lab = clean_b
    extra = ["-e", f"freeze_exam_mode_mechanism={mechanism}"]
    if mechanism == "flag":  # the switch row's changed_by is an operator's UUID
        (operator,) = lab.sql("SELECT id FROM accounts WHERE kind = 'operator' LIMIT 1")[0]
        extra += ["-e", json.dumps({"examday_platform": profile_with(updated_by=str(operator))})]
    proc = lab.playbook("freeze.yml", *extra)
    assert "FREEZE: VERIFIED" in proc.stdout, proc.stdout[-3000:]
    locked_by_effect(lab, True)
    if mechanism == "env":
        assert lab.env_lock() == "true" and lab.switch() is False
    else:
        assert lab.switch() is True
    record = newest_record("freeze")
    assert record["exam_mode"]["evidence"]["worker"]["last"].startswith("newest job-runner record: cron.skip")
    assert [a["action"] for a in record["background_jobs"]["actions"]] == ["sigstop"]  # the cron process
    assert lab.cron_paused()
    if mechanism == "flag":
        by = lab.sql("SELECT changed_by::text FROM feature_switches WHERE name = 'exam_lock'")[0][0]
        assert by == str(operator)
    proc = lab.playbook("unfreeze.yml", *extra)
    assert "UNFREEZE: VERIFIED" in proc.stdout, proc.stdout[-3000:]
    locked_by_effect(lab, False)
    assert lab.switch() is False and lab.env_lock() == "false"
    assert not lab.cron_paused()
    cron = lab.cron_logs_since(time.time() - 1, wait=10)
    assert cron and cron[-1]["msg"] == "cron.ran", cron[-5:]  # jobs run again


def small(**extra) -> str:
    return json.dumps({
        "rehearsal_profile": "ci",
        "rehearsal_load_profiles": {"ci": {
            "sessions": {"vus": 5, "duration": "10s", "pace": 6.5},
            "answers": {"vus": 10, "think_time": 1},
            "submit": {"vus": 10, "duration": "15s", "pace": 13}}},
        "rehearsal_fault_profiles": {"ci": {"scale": 1, "gap": 5}},
        "rehearsal_faults": [
            {"name": "cache stopped", "fault": "stop", "target": {"role": "redis"}, "duration": 8, "allowance": 10},
            {"name": "full restart (recovery drill)", "fault": "restart", "target": {"roles": ["db", "redis", "backend", "edge"]},
             "duration": 10, "allowance": 30, "drill": True}],
        "rehearsal_compare_with": "",
        **extra,
    })


def run_rehearsal(lab: LabB, *extra: str):
    before = set(glob.glob(os.path.join(REPORTS, "rehearsal-lab-b-*")))
    proc = lab.playbook("rehearsal.yml", *extra, check=False)
    made = sorted(set(glob.glob(os.path.join(REPORTS, "rehearsal-lab-b-*"))) - before)
    assert len(made) == 1, f"one evidence directory expected, got {made}:\n{proc.stdout[-3000:]}"
    with open(os.path.join(made[0], "report.json"), encoding="utf-8") as fh:
        return proc, made[0], json.load(fh)


def test_a_healthy_lab_b_rehearses_go(clean_b):
    lab = clean_b
    proc, directory, report = run_rehearsal(lab, "-e", small())
    gates = {g["id"]: g for g in report["gates"]}
    assert report["verdict"] == "GO", {k: g["detail"] for k, g in gates.items() if g["passed"] is not True}
    assert proc.returncode == 0, proc.stdout[-3000:]
    # UUID ids round-tripped through k6, the acks and reconciliation; nested readiness judged by body
    recon = report["integrity"]["reconciliation"]
    assert recon["acknowledged"]["answer"] > 50 and recon["lost"]["count"] == 0
    # k6 ran on the controller, the default load generator: one generator's folder, merged as one
    with open(os.path.join(directory, "load", "answers", "result.json"), encoding="utf-8") as fh:
        merged = json.load(fh)
    assert list(merged["generators"]) == ["localhost"] and merged["generators"]["localhost"]["segment"] == "0:1"
    assert_followed(proc.stdout, directory, "submit", "submit", ["localhost"])
    with open(os.path.join(directory, "load", "answers", "localhost", "acks.jsonl"), encoding="utf-8") as fh:
        first = json.loads(next(line for line in fh if '"answer"' in line))
    assert len(first["question_id"]) == 36 and len(first["session_id"]) == 36
    assert report["faults"][-1]["canary"]["recovery_s"] is not None and report["canary"]["lies"] == []
    assert gates["exam_mode"]["passed"] and "cron.skip" in gates["exam_mode"]["detail"]
    assert gates["audit_logs"]["passed"] and gates["db_pool"]["passed"]
    assert not active_faults(LEDGER_B) and lab.switch() is False
    assert_no_secret({**artifacts(directory), "ansible stdout": proc.stdout})


def test_lab_b_defects_are_no_go_naming_the_gates(clean_b):
    lab = clean_b
    lab.playbook("lab.yml", "-e", json.dumps({"lab_defects": ["lost_response", "racy_finish"]}))
    proc, _directory, report = run_rehearsal(lab, "-e", small(rehearsal_faults=[]))
    assert proc.returncode != 0 and report["verdict"] == "NO-GO"
    failed = {g["id"] for g in report["gates"] if g["passed"] is not True}
    assert {"zero_data_loss", "idempotent_submits"} <= failed, failed
    gates = {g["id"]: g for g in report["gates"]}
    assert "acknowledged writes lost" in gates["zero_data_loss"]["detail"]
    assert report["integrity"]["reconciliation"]["lost"]["count"] > 0
    assert report["idempotency"]["differ"] > 0
    assert not active_faults(LEDGER_B)


def test_post_exam_on_lab_b(clean_b):
    lab = clean_b
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    lab.playbook("freeze.yml")
    args = json.dumps({"api_url": "{{ examday_api_url }}", "platform": "{{ examday_platform }}",
                       "email": "{{ examday_student_email }}", "password": "{{ examday_student_password }}"})
    flow = subprocess.run([os.path.join(VENV_BIN, "ansible"), "lab-b", "-i", INVENTORY, "-m", "examday.ops.student_flow",
                           "-a", args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "PWD": ROOT})
    assert flow.returncode == 0, flow.stdout[-3000:]  # one candidate's whole exam during the window
    before = set(glob.glob(os.path.join(REPORTS, "post_exam-lab-b-*")))
    proc = lab.playbook("post_exam.yml", "-e", f"post_exam_since={since}", check=False)
    made = sorted(set(glob.glob(os.path.join(REPORTS, "post_exam-lab-b-*"))) - before)
    assert len(made) == 1, proc.stdout[-3000:]
    with open(os.path.join(made[0], "report.json"), encoding="utf-8") as fh:
        report = json.load(fh)
    assert report["verdict"] == "GO", [g for g in report["gates"] if g["passed"] is not True]
    assert proc.returncode == 0 and lab.switch() is False
