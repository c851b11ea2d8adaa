"""examday.ops.load against the lab with the real k6 binary: each exam scenario for about 10 s with
a few VUs, a generic smoke profile, validation before anything runs, an async run that stops by
itself, and idempotent cohort provisioning. Acknowledged writes are checked in the database."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import time
import uuid

import pytest

from tests.integration.conftest import ROOT, VENV_BIN

SESSION = {"mode": "EXAM", "year": 2026, "blocks": ["A"], "count": 5, "duration_seconds": 900}
# Users outlive a lab reset (retired ones stay for audit): each run of this file has its own cohorts.
RUN = uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def evidence(tmp_path_factory):
    return tmp_path_factory.mktemp("evidence")


def platform(**changes) -> str:
    """The lab's profile with changes (a template over the inventory, resolved by Ansible)."""
    return "{{ examday_platform | combine(%s, recursive=true) }}" % json.dumps(changes)


def cohort_of(name: str) -> dict:
    return {"tag": f"it-{name}-{RUN}", "prefix": f"it-{name}-{RUN}-"}


def exam_args(scenario: str, evidence, profile: dict, **over) -> dict:
    args = {"scenario": scenario, "api_url": "{{ examday_api_url }}", "evidence_dir": str(evidence),
            "profile": {"graceful_stop": "3s", "ramp_up": 0, **profile}, "compose_project": "exam_platform",
            "platform": platform(cohort=cohort_of(scenario), api={"session": SESSION}),
            "cohort": {"password": "{{ lab_cohort_password }}"}}
    args.update(over)
    return args


def run_load(lab, args: dict, *flags: str) -> dict:
    rc, result, out = lab.module_output("load", args, *flags)
    assert lab.secret("cohort_password") not in out
    assert rc == 0, result.get("msg")
    return result


def files_of(evidence, name: str) -> dict:
    base = os.path.join(str(evidence), "load", name)
    return {f: os.path.join(base, f) for f in ("summary.json", "raw.json.gz", "acks.jsonl", "result.json")}


def acks(evidence, name: str) -> list[dict]:
    with open(files_of(evidence, name)["acks.jsonl"], encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def assert_evidence(lab, evidence, name: str, result: dict) -> None:
    """The four files exist, are private, parse, agree with the result, and hold no secret."""
    paths = files_of(evidence, name)
    password = lab.secret("cohort_password").encode()
    for path in paths.values():
        assert oct(os.stat(path).st_mode & 0o777) == "0o600", path
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as fh:
            data = fh.read()
        # no secret: neither the password nor a token (JWTs start with eyJ)
        assert password not in data and b'"access_token": "ey' not in data and b"Bearer ey" not in data, path
    with gzip.open(paths["raw.json.gz"], "rt", encoding="utf-8") as fh:
        first = [json.loads(next(fh)) for _n in range(3)]
    assert {"type", "metric"} <= set(first[0])
    with open(paths["result.json"], encoding="utf-8") as fh:
        written = json.load(fh)
    assert written["http_reqs"] == result["http_reqs"] > 0 and written["acks"] == result["acks"]
    with open(paths["summary.json"], encoding="utf-8") as fh:
        assert json.load(fh)["metrics"]["http_reqs"]["count"] == result["http_reqs"]


def cohort_active(lab, tag: str) -> list[bool]:
    return [row[0] for row in lab.sql("SELECT is_active FROM users WHERE cohort = %s", (tag,))]


def test_check_mode_sends_nothing(lab, evidence):
    result = run_load(lab, exam_args("answers", evidence, {"vus": 2, "duration": "5s"}), "--check")
    assert result["changed"] is True and result["command"][1] == "run"
    assert result["msg"].startswith("would run k6 answers")
    assert not os.path.exists(os.path.join(str(evidence), "load", "answers"))
    assert cohort_active(lab, f"it-answers-{RUN}") == []


def test_session_burst(lab, evidence):
    result = run_load(lab, exam_args("sessions", evidence, {"vus": 4, "duration": "10s", "pace": 2}))
    assert_evidence(lab, evidence, "sessions", result)
    records = acks(evidence, "sessions")
    assert result["acks"]["session"] == len(records) > 0 and result["checks"]["fails"] == 0
    rows = dict(lab.sql("SELECT s.id::text, u.email FROM test_sessions s JOIN users u ON u.id = s.user_id "
                        "WHERE s.id = ANY(%s::uuid[])", ([r["session_id"] for r in records],)))
    assert {r["session_id"]: r["user"] for r in records} == rows  # every acknowledged session is stored, by its student
    assert len(set(rows.values())) == 4
    assert result["cohort"]["provisioned"]["changed"] is True
    assert cohort_active(lab, f"it-sessions-{RUN}") == [False] * 4  # retired after the run (rows kept)


def test_steady_answers_with_token_refresh_mid_attempt(lab, evidence):
    result = run_load(lab, exam_args("answers", evidence, {"vus": 4, "duration": "12s", "think_time": 0.3},
                                     token_refresh_after=3))
    assert_evidence(lab, evidence, "answers", result)
    records = acks(evidence, "answers")
    last = {}
    for rec in sorted(records, key=lambda r: r["sent_at"]):
        if rec["kind"] == "answer" and rec["outcome"] == "acked":
            last[(rec["session_id"], rec["question_id"])] = rec["selected_index"]
    # every record says when it was sent, what the platform answered, and under which request id
    assert all(r["sent_at"] and r["request_id"] and 200 <= r["status"] < 300 for r in records if r["outcome"] == "acked")
    assert len(last) > 10 and result["acks"]["answer"] >= len(last)
    stored = {(sid, qid): idx for sid, qid, idx in lab.sql(
        "SELECT session_id::text, question_id, selected_index FROM session_answers WHERE session_id = ANY(%s::uuid[])",
        (list({sid for sid, _q in last}),))}
    assert {k: stored.get(k) for k in last} == last  # the last acknowledged value is the stored one
    exam = result["exam"]
    assert exam["token_refreshes"] > 0 and exam["refresh_continued"]["passes"] > 0
    assert exam["refresh_continued"]["fails"] == 0


def test_submit_spike_double_submits_are_idempotent(lab, evidence):
    result = run_load(lab, exam_args("submit", evidence, {"vus": 4, "duration": "10s", "pace": 3}))
    assert_evidence(lab, evidence, "submit", result)
    submits = [r for r in acks(evidence, "submit") if r["kind"] == "submit"]
    assert submits and len({r["idempotency_key"] for r in submits}) == len(submits)
    assert result["exam"]["double_submit_same"] == {"passes": len(submits), "fails": 0}
    events = lab.submitted_events([r["session_id"] for r in submits])
    assert set(events.values()) == {1}  # two concurrent submits, one SESSION_SUBMITTED each
    statuses = lab.sql("SELECT DISTINCT status FROM test_sessions WHERE id = ANY(%s::uuid[])",
                       ([r["session_id"] for r in submits],))
    assert statuses == [("SUBMITTED",)]
    assert result["double_submits"] == {"pairs": len(submits), "differ": 0, "samples": []}
    assert all(r["double"]["same"] is True and len(r["double"]["request_ids"]) == 2 for r in submits)


def test_generic_smoke_profile(lab, evidence):
    result = run_load(lab, {"scenario": "smoke", "api_url": "{{ examday_api_url }}", "target": "/health",
                            "evidence_dir": str(evidence), "profile": {"vus": 2, "duration": "5s", "think_time": 0.2},
                            "exam": False})
    assert result["thresholds_passed"] is True and result["error_rate"] == 0 and result["http_reqs"] > 0
    assert result["checks_by_name"]["status is expected"]["fails"] == 0
    assert result["acks"] == {"session": 0, "answer": 0, "submit": 0}
    assert_evidence(lab, evidence, "smoke", result)


def test_invalid_threshold_fails_before_anything_runs(lab, evidence):
    args = exam_args("sessions", evidence, {"vus": 2, "duration": "5s"}, name="never",
                     k6_thresholds={"http_req_duration": ["p(95)<abc"]}, platform=platform(cohort=cohort_of("never")))
    rc, result = lab.module("load", args)
    assert rc != 0
    assert result["msg"] == "threshold 'p(95)<abc' on 'http_req_duration' must compare with a number, not 'abc'."
    assert not os.path.exists(os.path.join(str(evidence), "load", "never"))
    assert cohort_active(lab, f"it-never-{RUN}") == []  # no cohort provisioned, so no student could have logged in


def test_async_run_stops_at_its_duration_and_failed_thresholds_are_a_result(lab, evidence):
    args = {"scenario": "smoke", "name": "async-smoke", "api_url": "{{ examday_api_url }}",
            "evidence_dir": str(evidence), "profile": {"vus": 1, "duration": "6s", "think_time": 0.2},
            "thresholds": {"p95_ms": 0.001}}
    started = lab.module("load", args, "-B", "120", "-P", "0")[1]
    jid = started["ansible_job_id"]
    deadline = time.monotonic() + 90
    status = {}
    while time.monotonic() < deadline:
        proc = subprocess.run([os.path.join(VENV_BIN, "ansible"), "lab", "-i", os.path.join(ROOT, "inventories", "local"),
                               "-m", "ansible.builtin.async_status", "-a", f"jid={jid}", "-o"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=False,
                              env={**os.environ, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})
        status = json.loads(proc.stdout.split("=>", 1)[1])
        if status.get("finished"):
            break
        time.sleep(1)
    assert status.get("finished") == 1, status
    assert not status.get("failed"), status.get("msg")
    assert status["k6"]["timed_out"] is False and status["k6"]["rc"] == 99  # stopped by itself at its duration
    assert status["thresholds_passed"] is False
    assert status["thresholds"]["http_req_duration{p(95)<0.001}"] is False
    assert os.path.exists(files_of(evidence, "async-smoke")["result.json"])


def test_cohort_provisioning_is_idempotent(lab):
    args = {"api_url": "{{ examday_api_url }}", "platform": platform(cohort=cohort_of("cohort")),
            "compose_project": "exam_platform", "cohort": {"password": "{{ lab_cohort_password }}", "count": 3}}
    first = lab.module("load", {**args, "action": "provision"})[1]
    again = lab.module("load", {**args, "action": "provision"})[1]
    assert first["changed"] is True and again["changed"] is False
    assert cohort_active(lab, f"it-cohort-{RUN}") == [True] * 3
    retired = lab.module("load", {**args, "action": "retire"})[1]
    retired_again = lab.module("load", {**args, "action": "retire"})[1]
    assert retired["changed"] is True and retired_again["changed"] is False
    assert cohort_active(lab, f"it-cohort-{RUN}") == [False] * 3


PROGRESS_SQL = ("SELECT s.id::text AS session_id, (SELECT count(*) FROM session_answers a WHERE a.session_id = s.id) "
                "AS answered FROM jsonb_to_recordset(%(keys)s::jsonb) AS k(session_id text) "
                "JOIN test_sessions s ON s.id = k.session_id::uuid")


def test_a_scenario_of_your_own_with_a_write_kind_of_its_own_is_reconciled(lab, evidence):
    """A user's k6 script (tests/integration/k6/progress.js) imports examday.js and records a kind of
    its own; its reconciliation is one query in the profile. Healthy, every kind reconciles; with one
    stored answer removed, the answer is lost and the session's progress is stored with another value."""
    script = os.path.join(ROOT, "tests", "integration", "k6", "progress.js")
    result = run_load(lab, exam_args("answers", evidence, {"vus": 2, "duration": "6s", "think_time": 0.2},
                                     script=script, exec="progress", platform=platform(
                                         cohort=cohort_of("progress"), api={"session": SESSION})))
    records = acks(evidence, "answers")
    kinds = {r["kind"] for r in records}
    assert {"session", "answer", "progress"} <= kinds, kinds
    reconcile = {"progress": {"key": ["session_id"], "compare": ["answered"], "sql": PROGRESS_SQL}}
    args = {"db": "{{ examday_db }}", "acks": [files_of(evidence, "answers")["acks.jsonl"]],
            "platform": platform(reconcile=reconcile), "since": result["started_at"]}
    rc, healthy = lab.module("integrity_check", args)
    assert rc == 0, healthy.get("msg")
    recon = healthy["reconciliation"]
    assert recon["acknowledged"]["progress"] > 0 and recon["passed"] is True, recon
    sid = next(r["session_id"] for r in records if r["kind"] == "progress")
    lab.sql("DELETE FROM session_answers WHERE ctid = (SELECT ctid FROM session_answers WHERE session_id = %s LIMIT 1)",
            (sid,))
    rc, broken = lab.module("integrity_check", args)
    assert rc == 0, broken.get("msg")
    recon = broken["reconciliation"]
    assert recon["passed"] is False and recon["lost"]["count"] == 1
    assert sid in json.dumps(recon["mismatched"]["samples"]) and recon["mismatched"]["count"] >= 1
