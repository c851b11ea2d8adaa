"""The GO/NO-GO report: every hard gate can fail, missing evidence is NO-GO, a healthy directory is GO.

The load evidence is real k6 output (tests/unit/fixtures/k6/, made by capture.py there): a run with
one fault window during which the server was degraded (slower, every 8th request 503)."""
from __future__ import annotations

import copy
import datetime
import json
import os
import re
import shutil
import stat
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.examday.ops.plugins.module_utils import _report as rp
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._evidence.names import UX_CHECKS

K6 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "k6")
GATE_NAMES = [g.name for g in rp.GATE_REGISTRY if not g.opt_in]  # the rehearsal's gates (no opt-in one)


def k6_fault():
    with open(os.path.join(K6, "faults.json"), encoding="utf-8") as fh:
        return json.load(fh)[0]


def tick(t: float, ok: bool = True, ready_ok: bool = True, **failure) -> dict:
    """One canary tick as the canary module writes it (_evidence.names.CANARY_KEYS)."""
    start = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    end = start + datetime.timedelta(seconds=0.04)
    row = {"start": start.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
           "end": end.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "ok": ok, "step": None,
           "status": None, "code": None, "error": None, "ready_ok": ready_ok,
           "ready_detail": "ok" if ready_ok else "HTTP 503", "request_id": f"canary-{t:.1f}"}
    row.update(failure)
    return row


def canary_ticks(failing: tuple = (), lying: tuple = ()) -> list[dict]:
    """Every 0.5 s from 22:15:25 to 22:15:40 (the k6 fixture's fault is 22:15:30-22:15:31.5); the ticks
    at the offsets in `failing` fail with a 503 on `answer`, and readiness says ok in those of `lying`."""
    base = datetime.datetime(2026, 11, 21, 22, 15, 25, tzinfo=datetime.timezone.utc).timestamp()
    out = []
    for i in range(31):
        offset = i * 0.5
        if offset in failing:
            out.append(tick(base + offset, ok=False, ready_ok=offset in lying, step="answer", status=503,
                            error="HTTP 503"))
        else:
            out.append(tick(base + offset))
    return out


def healthy() -> dict:
    """Every evidence file of a rehearsal that went well, as {relative path: content}."""
    fault = dict(k6_fault(), name="backend degraded", fault="degrade", targets=["exam_platform-backend-1"],
                 recovery_seconds=1.75, recovered=True, restored=True,
                 recovery_detail="GET /v1/ready answered ok", targets_healthy_after_s=0.4,
                 before={"exam_platform-backend-1": {"status": "running", "running": True, "health": "healthy"}},
                 after={"exam_platform-backend-1": {"status": "running", "running": True, "health": "healthy"}},
                 ledger_id="f-1")
    return {
        "run.json": {"playbook": "rehearsal.yml", "host": "lab", "environment": "local", "profile": "quick",
                     "started_at": "2026-11-21T22:15:20.000Z", "finished_at": "2026-11-21T22:16:00.000Z",
                     "thresholds": {"p95_ms": 500}},
        "freeze-lab-20261121_221500.json": {
            "direction": "freeze", "host": "lab", "environment": "local",
            "started": "2026-11-21T22:15:00Z", "finished": "2026-11-21T22:15:14Z",
            "verdict": {"check_mode": False, "direction": "freeze", "passed": True, "reasons": []},
            "exam_mode": {"changed": True, "mechanism": "api", "state": "enabled", "verified": True,
                          "evidence": {"seconds": 3.6, "verified": True,
                                       "probe": {"answers": 8, "settled": True, "recent": [423] * 8,
                                                 "last": "last answer HTTP 423 EXAM_MODE_ACTIVE",
                                                 "path": "/v1/admin/jobs/recompute-mastery?dry_run=true"},
                                       "worker": {"ok": True, "required": True,
                                                  "last": "no worker container is running, so no job can run"}}},
            "background_jobs": {"actions": [{"action": "stopped", "name": "exam_platform_worker"}],
                                "found": {"containers": [{"name": "exam_platform_worker", "running": False,
                                                          "paused": False, "status": "exited"}], "processes": []}},
            "status_after": {"checks": [{"name": "health", "passed": True, "detail": "ok"},
                                        {"name": "ready", "passed": True, "detail": "ok"}],
                             "verdict": {"passed": True}},
        },
        "faults.json": [fault],
        "load/answers/result.json": {
            "scenario": "answers", "started_at": "2026-11-21T22:15:28.600Z", "finished_at": "2026-11-21T22:15:32.700Z",
            "duration_s": 4.1, "http_reqs": 112, "rps": 27.3, "p50_ms": 16.9, "p95_ms": 83.8, "p99_ms": 87.6,
            "max_ms": 91.9, "error_rate": 0.0268, "checks": {"passes": 109, "fails": 3},
            "thresholds": {"http_req_duration{p(95)<500}": True}, "thresholds_passed": True, "dropped_iterations": 0,
            "vus_max": 4, "acks": {"session": 0, "answer": 109, "submit": 0},
            "exam": {"token_refreshes": 3, "logins": 4, "login_failures": 0, "rate_limited": 0,
                     "refresh_continued": {"passes": 3, "fails": 0}, "double_submit_same": {"passes": 0, "fails": 0}}},
        "load/answers/raw.json.gz": os.path.join(K6, "raw.json.gz"),
        "load/answers/summary.json": os.path.join(K6, "summary.json"),
        "integrity.json": {
            "passed": True,
            "checks": [{"name": n, "description": d, "count": 0, "expected": 0, "passed": True, "samples": []}
                       for n, d in (("orphaned_answers", "answers whose session does not exist"),
                                    ("missing_answers", "acknowledged answers not stored"),
                                    ("duplicate_submits", "sessions with more than one SESSION_SUBMITTED event"),
                                    ("inconsistent_status", "SUBMITTED sessions without submitted_at"),
                                    ("unscored_sessions", "SUBMITTED sessions without a score"),
                                    ("answers_not_in_session", "answers to questions outside the session"),
                                    ("orphaned_events", "events whose session does not exist"),
                                    ("duplicate_mastery_updates", "more than one mastery row per user and theme"))],
            "statistics": {"sessions": 50, "submitted_sessions": 50, "active_sessions": 0, "expired_sessions": 0,
                           "answers": 1000, "events": 150, "submitted_events": 50, "sessions_with_submit_event": 50},
            "reconciliation": {"acknowledged": {"session": 50, "answer": 1000, "submit": 50},
                               "lost": {"count": 0, "samples": []}, "mismatched": {"count": 0, "samples": []},
                               "duplicates": {"count": 0, "samples": []},
                               "unexpected": {"count": 2, "samples": [], "window": None}, "passed": True}},
        "metrics/metrics.json": {
            "db_pool": {"peak_connections": 14, "peak_all_connections": 15, "peak_app_connections": 12,
                        "peak_at": "2026-11-21T22:15:30Z", "max_connections": 100, "pct_of_max_connections": 14.0,
                        "app_pool_capacity": 40, "pct_of_app_pool": 30.0, "samples": 8, "sample_errors": 0},
            "traceability": {"sampled": 20, "found": 20, "pct": 100.0, "samples": ["a1b2"], "eligible": 112},
            "http_status": {"2xx": 10000, "3xx": 0, "4xx": 3, "5xx": 2, "other": 0, "total": 10005,
                            "source": "backend logs", "error_rate_pct": 0.02, "client_error_rate_pct": 0.03},
            "slow_sql": {"count_100ms": 4, "count_300ms": 0, "top": [{"duration_ms": 150.0, "statement": "SELECT 1"}]},
            "slow_requests": {"count_500ms": 1, "count_1500ms": 0, "top": []},
            "redis": {"configured": True, "redis_version": "7.0.15", "connected_clients": 4, "rejected_connections": 0,
                      "keyspace": {"db0": {"keys": 10}}, "keys": 10},
            "containers": {"exam_platform-backend-1": {
                "ts": ["2026-11-21T22:15:29.000Z", "2026-11-21T22:15:31.000Z"], "cpu_pct": [10.0, 35.5],
                "mem_bytes": [52428800, 53477376], "samples": 2, "cpu_max_pct": 35.5, "mem_max_bytes": 53477376,
                "mem_limit_bytes": 536870912, "mem_slope_bytes_per_min": 1000.0}},
            "edge_errors": {"5xx": 0, "upstream_errors": 0, "error_lines": 0, "error_rate_pct": 0.0, "samples": []},
            "sessions": {"active": 0, "submitted": 50},
            "prometheus": {"configured": False}},
        "metrics/stats.jsonl": [
            {"ts": "2026-11-21T22:15:29.000Z", "container": "exam_platform-backend-1", "cpu_pct": 10.0,
             "mem_bytes": 52428800, "mem_limit_bytes": 536870912},
            {"ts": "2026-11-21T22:15:31.000Z", "container": "exam_platform-backend-1", "cpu_pct": 35.5,
             "mem_bytes": 53477376, "mem_limit_bytes": 536870912},
            {"ts": "2026-11-21T22:15:31.000Z", "container": "exam_platform_redis", "cpu_pct": 1.0,
             "mem_bytes": 5000000, "mem_limit_bytes": 268435456}],
        "canary.jsonl": canary_ticks(),
        "ux.json": {"session_id": "6c2f1e99", "answered": 10, "passed": True,
                    "checks": {name: {"passed": True, "detail": "as expected"} for name in UX_CHECKS},
                    "steps": [{"step": "login", "status": 200, "ms": 24.0, "request_id": "r1", "method": "POST"},
                              {"step": "create_session", "status": 201, "ms": 26.4, "request_id": "r2", "method": "POST"},
                              {"step": "answer", "status": 200, "ms": 15.5, "request_id": "r3", "method": "POST"},
                              {"step": "submit", "status": 200, "ms": 30.1, "request_id": "r4", "method": "POST"}]},
    }


def write_dir(root, files: dict) -> str:
    for rel, content in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if rel.endswith(".jsonl"):
            with open(path, "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(row) + "\n" for row in content)
        elif isinstance(content, str) and os.path.isabs(content):
            shutil.copyfile(content, path)
        else:
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(content, fh)
    return str(root)


def report_of(tmp_path, files: dict, thresholds=None, check_mode=False) -> dict:
    return rp.run(write_dir(tmp_path, files), thresholds or {}, {"api_url": "http://127.0.0.1:18080",
                                                                 "conducted_by": "unit test"}, check_mode)


def gate(result: dict, name: str) -> dict:
    return next(g for g in result["gates"] if g["name"] == name)


PLACEHOLDER = re.compile(r"\[(Number|Date|URL|Name|Percentage|ms|Duration|Description|List[^\]]*|Brief[^\]]*|"
                         r"Finding[^\]]*|staging/prod|true/false|Explanation|Plan|High/Medium/Low|Location[^\]]*|"
                         r"Detailed[^\]]*|Any[^\]]*)\]")


# -- GO --------------------------------------------------------------------------------------------

def test_a_healthy_evidence_directory_is_go(tmp_path):
    result = report_of(tmp_path, healthy())
    assert result["verdict"] == "GO", [g for g in result["gates"] if g["passed"] is not True]
    assert [g["name"] for g in result["gates"]] == GATE_NAMES
    assert all(g["passed"] is True for g in result["gates"]) and result["failed_gates"] == []
    assert result["changed"] is True
    names = sorted(os.path.basename(f) for f in result["files"])
    assert names == ["report.html", "report.json", "report.md", "report.xml"]
    for path in result["files"]:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    latency = gate(result, "p95 latency outside fault windows")
    assert latency["value"] < 40 and latency["threshold"] == 500  # the fault window's 60 ms slowdown is left out
    budget = gate(result, "error budget inside fault windows")
    assert 0 < budget["value"] <= 20 and "backend degraded" in budget["detail"]


def test_the_markdown_follows_the_template_with_no_placeholder(tmp_path):
    report_of(tmp_path, healthy())
    md = (tmp_path / "report.md").read_text()
    for heading in ("## Executive Summary", "## Phase 1: Pre-Exam Freeze", "### EXAM_MODE Verification",
                    "## Phase 2: Load Generation", "### Database Connection Pool", "### Redis Status",
                    "## Phase 3: Failure Injection", "### A) backend degraded", "## Phase 4: Data Integrity Verification",
                    "### Summary Statistics", "## Phase 5: User Experience Validation",
                    "## Phase 6: Observability Review", "## Phase 7: Recovery Drill", "## Risk Register",
                    "## GO/NO-GO Decision", "### Hard Gates", "### Blockers", "## Sign-Off", "## Appendices"):
        assert heading in md, heading
    assert positions(md, "## Executive Summary", "## Phase 1", "## Phase 2", "## Phase 3", "## Phase 4", "## Phase 5",
                     "## Phase 6", "## Phase 7", "## Risk Register", "## GO/NO-GO Decision", "## Sign-Off")
    assert "**Status**: [x] GO  [ ] NO-GO" in md
    assert "- [x] No cron jobs running" in md and "- [x] `/health` accessible" in md
    assert "**Answer Submissions** (scenario `answers`, from raw k6 samples)" in md
    assert "- Total requests: 112" in md and "**Recovery Time**: 0.00 s (students" in md
    assert "- Total sessions: 50" in md and "- Total answers: 1000" in md and "**Conducted By**: unit test" in md
    assert "- Slow queries (>100ms): 4" in md and "- [x] Token refresh does not interrupt session" in md
    assert not PLACEHOLDER.search(md), PLACEHOLDER.search(md)


def positions(text, *parts):
    found = [text.index(p) for p in parts]
    return found == sorted(found)


def test_json_xml_and_html_hold_the_same_verdict(tmp_path):
    result = report_of(tmp_path, healthy())
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["verdict"] == "GO" and [g["name"] for g in data["gates"]] == GATE_NAMES
    assert data["load"]["scenarios"][0]["outside"]["errors"] == 0
    assert data["timeline"]["per_second"] and data["faults"][0]["window"]["requests"] > 0
    suite = ET.parse(tmp_path / "report.xml").getroot().find("testsuite")
    assert suite.get("name") == "examday.rehearsal" and suite.get("tests") == str(len(GATE_NAMES)) and suite.get("failures") == "0"
    assert [c.get("name") for c in suite.iter("testcase")] == GATE_NAMES
    page = (tmp_path / "report.html").read_text()
    assert page.count("<svg") >= 6 and "<script" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "").replace("http://127.0.0.1:18080", "")
    assert 'class="win"' in page and ">backend degraded</text>" in page  # the fault window, shaded and labelled
    assert "CPU per container" in page and "Recovery time per fault" in page
    assert result["verdict"] in page


def test_check_mode_computes_and_writes_nothing(tmp_path):
    result = report_of(tmp_path, healthy(), check_mode=True)
    assert result["verdict"] == "GO" and result["files"] == [] and result["changed"] is True
    assert not any(name.startswith("report.") for name in os.listdir(tmp_path))


def test_the_same_evidence_gives_the_same_files(tmp_path):
    first = report_of(tmp_path, healthy())
    again = rp.run(str(tmp_path), {}, {"api_url": "http://127.0.0.1:18080", "conducted_by": "unit test"}, False)
    assert first["changed"] is True and again["changed"] is False and again["files"] == first["files"]


# -- each gate can fail ----------------------------------------------------------------------------

def test_one_lost_acknowledged_write_is_no_go_naming_zero_data_loss(tmp_path):
    files = healthy()
    recon = files["integrity.json"]["reconciliation"]
    recon["lost"] = {"count": 1, "samples": [{"kind": "answer", "session_id": "s-9", "question_id": 4}]}
    recon["passed"] = False
    result = report_of(tmp_path, files)
    assert result["verdict"] == "NO-GO" and result["failed_gates"] == ["zero data loss"]
    lost = gate(result, "zero data loss")
    assert lost["passed"] is False and lost["value"] == 1 and "1 of 1100 acknowledged writes lost" in lost["detail"]
    assert "s-9" in lost["detail"]
    md = (tmp_path / "report.md").read_text()
    assert md.index("FAIL — zero data loss") < md.index("PASS — no corrupted sessions")  # failed gates first


def test_a_failing_data_loss_check_fails_zero_data_loss(tmp_path):
    files = healthy()
    check = files["integrity.json"]["checks"][0]
    check.update(count=2, passed=False)
    result = report_of(tmp_path, files)
    assert result["failed_gates"] == ["zero data loss"]
    assert "orphaned_answers (2)" in gate(result, "zero data loss")["detail"]


def test_corruption_checks_and_unknown_checks_fail_no_corrupted_sessions(tmp_path):
    files = healthy()
    files["integrity.json"]["checks"][2].update(count=1, passed=False)  # duplicate_submits
    files["integrity.json"]["checks"].append({"name": "Something New", "count": 3, "expected": 0, "passed": False})
    result = report_of(tmp_path, files)
    corrupted = gate(result, "no corrupted sessions")
    # a session with two submit events is also a double submit that was not idempotent
    assert result["failed_gates"] == ["no corrupted sessions", "idempotent submits"]
    assert corrupted["value"] == 3  # the largest single count: one session may fail several checks
    assert "duplicate_submits (1)" in corrupted["detail"] and "Something New (3)" in corrupted["detail"]
    assert "1 sessions with more than one submit event" in gate(result, "idempotent submits")["detail"]


def test_data_loss_checks_are_data(tmp_path):
    files = healthy()
    files["integrity.json"]["checks"].append({"name": "acked-but-absent", "count": 1, "expected": 0, "passed": False})
    result = report_of(tmp_path, files, {"data_loss_checks": ["orphaned_answers", "Acked but absent"]})
    assert result["failed_gates"] == ["zero data loss"]


def test_p95_above_the_limit_fails_latency(tmp_path):
    result = report_of(tmp_path, healthy(), {"p95_ms": 20})
    latency = gate(result, "p95 latency outside fault windows")
    assert result["failed_gates"] == ["p95 latency outside fault windows"]
    assert latency["passed"] is False and latency["value"] > 20 and latency["threshold"] == 20


def test_without_faults_json_every_error_counts_outside_and_fault_gates_have_no_evidence(tmp_path):
    files = healthy()
    del files["faults.json"]
    result = report_of(tmp_path, files)
    errors = gate(result, "error rate outside fault windows")
    assert errors["passed"] is False and errors["value"] > 1  # the degraded window's 503s now count
    for name in ("error budget inside fault windows", "recovery within budget"):
        assert gate(result, name)["passed"] is None
        assert gate(result, name)["detail"] == "no evidence: faults.json missing"
    assert result["verdict"] == "NO-GO"


def test_errors_inside_a_fault_window_above_the_budget_fail(tmp_path):
    result = report_of(tmp_path, healthy(), {"fault_error_budget_pct": 3})
    budget = gate(result, "error budget inside fault windows")
    assert budget["passed"] is False and budget["value"] > 3
    assert result["failed_gates"] == ["error budget inside fault windows"]


def test_a_fault_window_without_load_is_no_evidence(tmp_path):
    files = healthy()
    files["faults.json"][0].update(injected_at="2026-11-21T23:00:00.000Z", restored_at="2026-11-21T23:01:00.000Z")
    budget = gate(report_of(tmp_path, files), "error budget inside fault windows")
    assert budget["passed"] is None and "no request during the window" in budget["detail"]


def test_duplicates_fail_idempotent_submits_not_zero_data_loss(tmp_path):
    files = healthy()
    recon = files["integrity.json"]["reconciliation"]
    recon.update(duplicates={"count": 2, "sessions": 1, "samples": [{"session_id": "s-3", "submitted_events": 2}]},
                 passed=False)
    result = report_of(tmp_path, files)
    assert result["failed_gates"] == ["idempotent submits"]
    idem = gate(result, "idempotent submits")
    assert idem["value"] == 1 and "1 sessions with more than one submit event" in idem["detail"]


def test_double_submits_answered_differently_fail_idempotent_submits(tmp_path):
    files = healthy()
    files["load/answers/result.json"]["double_submits"] = {
        "pairs": 60, "differ": 19, "samples": [{"session_id": "s-7", "first": 200, "second": 409}]}
    result = report_of(tmp_path, files)
    idem = gate(result, "idempotent submits")
    assert result["failed_gates"] == ["idempotent submits"] and idem["value"] == 19
    assert "19 of 60 double submits answered differently" in idem["detail"] and "s-7" in idem["detail"]


def test_a_phase_that_failed_is_no_go_naming_it(tmp_path):
    files = healthy()
    files["run.json"]["problems"] = [{"phase": "integrity", "error": "invalid input syntax for type bigint"}]
    result = report_of(tmp_path, files)
    assert result["failed_gates"] == ["every phase ran to its end"]
    assert gate(result, "every phase ran to its end")["detail"] == "integrity: invalid input syntax for type bigint"
    md = (tmp_path / "report.md").read_text()
    assert "integrity: invalid input syntax for type bigint" in md


def test_an_unexplained_failed_reconciliation_fails_zero_data_loss(tmp_path):
    files = healthy()
    files["integrity.json"]["reconciliation"]["passed"] = False
    result = report_of(tmp_path, files)
    assert result["failed_gates"] == ["zero data loss"]
    assert "reconciliation did not pass" in gate(result, "zero data loss")["detail"]


def test_nothing_acknowledged_is_no_evidence_of_zero_data_loss(tmp_path):
    files = healthy()
    files["integrity.json"]["reconciliation"]["acknowledged"] = {"session": 0, "answer": 0, "submit": 0}
    lost = gate(report_of(tmp_path, files), "zero data loss")
    assert lost["passed"] is None and "no acknowledged write" in lost["detail"]


def test_recovery_without_the_canary_is_no_evidence(tmp_path):
    files = healthy()
    del files["canary.jsonl"]
    result = report_of(tmp_path, files)
    recovery = gate(result, "recovery within budget")
    assert recovery["passed"] is None and recovery["detail"].startswith("no evidence: canary.jsonl missing")
    assert gate(result, "readiness tells the truth")["passed"] is None
    assert result["verdict"] == "NO-GO"


def test_a_canary_without_ticks_during_the_fault_is_no_evidence(tmp_path):
    files = healthy()
    files["canary.jsonl"] = [t for t in files["canary.jsonl"] if t["start"] < "2026-11-21T22:15:29"]
    files["canary.jsonl"].append(tick(datetime.datetime(2026, 11, 21, 22, 20, tzinfo=datetime.timezone.utc).timestamp()))
    recovery = gate(report_of(tmp_path, files), "recovery within budget")
    assert recovery["passed"] is None and "the canary has no tick during it" in recovery["detail"]


def test_a_failed_refresh_under_load_is_a_ux_issue(tmp_path):
    files = healthy()
    files["load/answers/result.json"]["exam"]["refresh_continued"] = {"passes": 2, "fails": 1}
    report_of(tmp_path, files)
    md = (tmp_path / "report.md").read_text()
    line = next(x for x in md.splitlines() if "Token refresh does not interrupt session" in x)
    assert line.startswith("- [ ] ") and line.endswith("2 of 3 token refreshes during the load kept the session)")


def test_recovery_and_outage_are_what_the_canary_saw_not_what_readiness_said(tmp_path):
    files = healthy()
    # the fault is 22:15:29.98-22:15:31.28; the canary fails from 22:15:30.0 to 22:15:36.0 included
    files["canary.jsonl"] = canary_ticks(failing=tuple(x / 2 for x in range(10, 23)))
    result = report_of(tmp_path, files)
    recovery = gate(result, "recovery within budget")
    assert recovery["passed"] is True and recovery["value"] == 5.26  # 22:15:36.54 - 22:15:31.28
    assert "outage 6.54 s" in recovery["detail"] and "the platform said ready after 1.75 s" in recovery["detail"]
    fault = json.loads((tmp_path / "report.json").read_text())["faults"][0]
    assert fault["canary"]["outage_s"] == 6.54 and fault["canary"]["failures"] == 13
    md = (tmp_path / "report.md").read_text()
    assert "**Recovery Time**: 5.26 s" in md and "6.54 s" in md


@pytest.mark.parametrize("change, thresholds, words", [
    ({}, {"recovery_seconds": 4}, "(budget 4 s)"),
    ({"max_outage_s": 5}, {}, "(at most 5 s allowed)"),
    ({}, {"outage_seconds": 5}, "(at most 5 s allowed)"),
    ({"restored": False}, {}, "backend degraded: not undone"),
    ({"error": "docker stop timed out"}, {}, "the fault failed (docker stop timed out)"),
])
def test_slow_or_missing_recovery_fails(tmp_path, change, thresholds, words):
    files = healthy()
    files["canary.jsonl"] = canary_ticks(failing=tuple(x / 2 for x in range(10, 23)))
    files["faults.json"][0].update(change)
    result = report_of(tmp_path, files, thresholds)
    recovery = gate(result, "recovery within budget")
    assert recovery["passed"] is False and words in recovery["detail"], recovery["detail"]
    assert "recovery within budget" in result["failed_gates"]


def test_a_canary_that_never_recovers_fails(tmp_path):
    files = healthy()
    files["canary.jsonl"] = canary_ticks(failing=tuple(x / 2 for x in range(10, 31)))
    recovery = gate(report_of(tmp_path, files), "recovery within budget")
    assert recovery["passed"] is False and "outage not over, back never after its end" in recovery["detail"]


def test_a_planned_fault_without_a_result_fails_recovery(tmp_path):
    files = healthy()
    files["run.json"]["faults_planned"] = ["backend degraded", "redis stopped"]
    recovery = gate(report_of(tmp_path, files), "recovery within budget")
    assert recovery["passed"] is False and "redis stopped: planned but no result recorded" in recovery["detail"]


def test_an_empty_fault_schedule_passes_the_fault_gates_and_says_so(tmp_path):
    files = healthy()
    files["faults.json"] = []
    files["run.json"]["faults_planned"] = []
    result = report_of(tmp_path, files)
    for name in ("recovery within budget", "error budget inside fault windows"):
        assert gate(result, name)["passed"] is True
        assert gate(result, name)["detail"] == "no fault was planned (an empty fault schedule)"


def test_readiness_that_says_ok_while_students_fail_is_no_go(tmp_path):
    files = healthy()
    failing = tuple(x / 2 for x in range(10, 23))
    files["canary.jsonl"] = canary_ticks(failing=failing, lying=failing)
    result = report_of(tmp_path, files)
    truth = gate(result, "readiness tells the truth")
    assert result["failed_gates"] == ["readiness tells the truth"]
    assert truth["value"] == 6.04 and "1 times readiness said ok while students failed" in truth["detail"]
    assert "the canary's answer failed (HTTP 503" in truth["detail"]
    short = healthy()
    short["canary.jsonl"] = canary_ticks(failing=failing, lying=failing[:4])  # 1.54 s: under the 5 s allowed
    assert gate(report_of(tmp_path / "short", short), "readiness tells the truth")["passed"] is True


def test_untraceable_request_ids_fail_audit(tmp_path):
    files = healthy()
    files["metrics/metrics.json"]["traceability"] = {"sampled": 20, "found": 19}
    result = report_of(tmp_path, files)
    audit = gate(result, "logs sufficient for audit")
    assert audit["passed"] is False and audit["value"] == 95.0
    assert result["failed_gates"] == ["logs sufficient for audit"]


def test_missing_metrics_is_no_go_for_db_pool_and_traceability(tmp_path):
    files = healthy()
    del files["metrics/metrics.json"]
    result = report_of(tmp_path, files)
    assert result["verdict"] == "NO-GO"
    assert sorted(result["failed_gates"]) == ["DB pool below limit", "logs sufficient for audit"]
    for name in result["failed_gates"]:
        assert gate(result, name)["passed"] is None
        assert gate(result, name)["detail"] == "no evidence: metrics/metrics.json missing"
    suite = ET.parse(tmp_path / "report.xml").getroot().find("testsuite")
    failures = {c.get("name"): c.find("failure") for c in suite.iter("testcase")}
    assert failures["DB pool below limit"].get("type") == "no_evidence"
    assert failures["zero data loss"] is None


def test_exam_mode_not_verified_by_effect_fails(tmp_path):
    files = healthy()
    files["freeze-lab-20261121_221500.json"]["exam_mode"]["verified"] = False
    result = report_of(tmp_path, files)
    assert result["failed_gates"] == ["EXAM_MODE verified by effect"]
    assert gate(result, "EXAM_MODE verified by effect")["detail"].startswith("not verified")


def test_the_newest_freeze_record_counts(tmp_path):
    files = healthy()
    older = copy.deepcopy(files["freeze-lab-20261121_221500.json"])
    files["freeze-lab-20261121_221500.json"]["exam_mode"]["verified"] = False
    files["freeze-lab-20261121_210000.json"] = older
    result = report_of(tmp_path, files)
    exam = gate(result, "EXAM_MODE verified by effect")
    assert exam["passed"] is False and exam["evidence"] == ["freeze-lab-20261121_221500.json"]


def test_db_pool_at_the_limit_fails(tmp_path):
    files = healthy()
    files["metrics/metrics.json"]["db_pool"].update(pct_of_app_pool=80.0)
    result = report_of(tmp_path, files)
    assert result["failed_gates"] == ["DB pool below limit"]
    assert gate(result, "DB pool below limit")["value"] == 80.0


def test_an_empty_directory_is_no_go_with_no_evidence_for_every_gate(tmp_path):
    result = report_of(tmp_path, {})
    assert result["verdict"] == "NO-GO" and result["failed_gates"] == GATE_NAMES
    assert all(g["passed"] is None and g["detail"].startswith("no evidence:") for g in result["gates"])
    assert gate(result, "zero data loss")["detail"] == "no evidence: integrity.json missing"
    md = (tmp_path / "report.md").read_text()
    assert "not measured" in md and not PLACEHOLDER.search(md)
    assert "**Status**: [ ] GO  [x] NO-GO" in md
    suite = ET.parse(tmp_path / "report.xml").getroot().find("testsuite")
    assert suite.get("failures") == str(len(GATE_NAMES))
    assert {c.find("failure").get("type") for c in suite.iter("testcase")} == {"no_evidence"}
    assert "<svg" not in (tmp_path / "report.html").read_text()


def test_unreadable_evidence_is_named(tmp_path):
    files = healthy()
    del files["integrity.json"]
    write_dir(tmp_path, files)
    (tmp_path / "integrity.json").write_text("{not json")
    result = rp.run(str(tmp_path), {}, {}, False)
    assert gate(result, "zero data loss")["detail"].startswith("no evidence: integrity.json unreadable")


def test_without_raw_samples_result_json_counts_only_when_no_fault_overlaps(tmp_path):
    files = healthy()
    del files["load/answers/raw.json.gz"]
    result = report_of(tmp_path, files)
    assert gate(result, "p95 latency outside fault windows")["passed"] is None
    assert "spans a fault window" in gate(result, "p95 latency outside fault windows")["detail"]
    files["faults.json"][0].update(injected_at="2026-11-21T23:00:00.000Z", restored_at="2026-11-21T23:01:00.000Z")
    result = report_of(tmp_path, files)
    assert gate(result, "p95 latency outside fault windows")["passed"] is True
    assert gate(result, "p95 latency outside fault windows")["value"] == 83.8
    assert gate(result, "error rate outside fault windows")["passed"] is False  # 2.68 % over the whole run


# -- input, escaping, whitelisting ----------------------------------------------------------------

@pytest.mark.parametrize("thresholds, words", [
    ({"fault_error_budget_pct": -1}, "must be a number of 0 or more"),
    ({"error_rate_pct": 101}, "at most 100"),
    ({"db_pool_pct": 150.0}, "at most 100"),
    ({"p95_ms": 0}, "above 0"),
    ({"p95_ms": "fast"}, "must be a number"),
    ({"p59_ms": 1}, "Unknown threshold"),
    ({"data_loss_checks": "orphaned_answers"}, "list of integrity check names"),
])
def test_bad_thresholds_fail_with_one_sentence(thresholds, words):
    with pytest.raises(OpsError) as err:
        rp.resolve_thresholds(thresholds)
    assert words in err.value.msg and err.value.msg.endswith(".") and "\n" not in err.value.msg


def test_a_missing_directory_fails_with_one_sentence(tmp_path):
    with pytest.raises(OpsError, match="does not exist"):
        rp.run(str(tmp_path / "nope"), {}, {}, False)


def test_thresholds_default_and_merge():
    th = rp.resolve_thresholds({"p95_ms": 300, "recovery_seconds": None})
    assert th["p95_ms"] == 300.0 and th["recovery_seconds"] == 30.0 and th["error_rate_pct"] == 1.0


def test_hostile_text_is_escaped_everywhere(tmp_path):
    files = healthy()
    files["faults.json"][0]["name"] = 'redis <script>alert("x")</script> | & \x07 stop'
    result = report_of(tmp_path, files, check_mode=False)
    assert result["verdict"] == "GO"
    page = (tmp_path / "report.html").read_text()
    assert "<script" not in page and "&lt;script&gt;" in page
    ET.parse(tmp_path / "report.xml")  # still valid XML
    md = (tmp_path / "report.md").read_text()
    assert "\\|" in md


def test_only_whitelisted_fields_are_copied(tmp_path):
    files = healthy()
    files["metrics/metrics.json"]["redis"]["requirepass"] = "hunter2-redis"
    files["metrics/metrics.json"]["redis"]["info"] = {"password": "hunter2-nested"}
    files["metrics/metrics.json"]["slow_sql"]["sample_sql"] = "SELECT 'hunter2-sql'"
    files["integrity.json"]["statistics"]["dsn"] = "postgresql://u:hunter2-dsn@db/x"
    files["integrity.json"]["reconciliation"]["lost"]["samples"] = [{"session_id": "s", "token": "hunter2-token"}]
    files["run.json"]["db_password"] = "hunter2-run"
    files["ux.json"]["access_token"] = "hunter2-ux"
    report_of(tmp_path, files)
    for name in ("report.md", "report.json", "report.xml", "report.html"):
        assert "hunter2" not in (tmp_path / name).read_text(), name


def test_module_documentation_defaults_are_the_logic_defaults():
    import yaml
    from ansible_collections.examday.ops.plugins.doc_fragments.thresholds import ModuleDocFragment
    from ansible_collections.examday.ops.plugins.modules import report as module
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert "examday.ops.thresholds" in doc["extends_documentation_fragment"]
    subs = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["thresholds"]["suboptions"]
    assert {k: v["default"] for k, v in subs.items()} == rp.DEFAULT_THRESHOLDS
    assert doc["options"]["title"]["default"] == rp.DEFAULT_TITLE


# -- post-exam: a subset of gates, no acknowledged-write record -----------------------------------

POST_EXAM = ["run_complete", "zero_data_loss", "no_corrupted_sessions", "idempotent_submits", "audit_logs", "db_pool"]


def post_exam_files() -> dict:
    files = {k: v for k, v in healthy().items() if k in ("integrity.json", "metrics/metrics.json", "run.json")}
    files["integrity.json"]["reconciliation"]["acknowledged"] = {"session": 0, "answer": 0, "submit": 0}
    return files


def test_post_exam_judges_its_gates_on_the_checks_alone(tmp_path):
    result = rp.run(write_dir(tmp_path, post_exam_files()), {}, {}, False, POST_EXAM, False)
    assert result["verdict"] == "GO", result["gates"]
    assert [g["id"] for g in result["gates"]] == POST_EXAM
    assert "no record of acknowledged writes" in gate(result, "zero data loss")["detail"]
    assert "0 sessions with more than one submit event" in gate(result, "idempotent submits")["detail"]
    suite = ET.parse(tmp_path / "report.xml").getroot()
    assert len(suite.findall(".//testcase")) == len(POST_EXAM)


def test_post_exam_without_any_reconciliation(tmp_path):
    files = post_exam_files()
    del files["integrity.json"]["reconciliation"]
    result = rp.run(write_dir(tmp_path, files), {}, {}, False, POST_EXAM, False)
    assert result["verdict"] == "GO", result["gates"]


def test_post_exam_data_loss_check_can_fail(tmp_path):
    files = post_exam_files()
    files["integrity.json"]["checks"][0].update(count=3, passed=False)
    result = rp.run(write_dir(tmp_path, files), {}, {}, False, POST_EXAM, False)
    assert result["verdict"] == "NO-GO" and result["failed_gates"] == ["zero data loss"]
    # and with reconciliation required (a rehearsal), nothing acknowledged stays no evidence
    result = rp.run(write_dir(tmp_path, post_exam_files()), {}, {}, False, POST_EXAM, True)
    assert gate(result, "zero data loss")["passed"] is None


def test_unknown_gate_is_one_sentence(tmp_path):
    with pytest.raises(OpsError, match="unknown gate 'speed'"):
        rp.run(write_dir(tmp_path, post_exam_files()), {}, {}, True, ["speed"], True)


def test_a_planned_fault_without_a_result_fails_recovery(tmp_path):
    files = healthy()
    files["run.json"]["faults_planned"] = [f["name"] for f in files["faults.json"]] + ["Redis paused"]
    result = report_of(tmp_path, files)
    recovery = gate(result, "recovery within budget")
    assert recovery["passed"] is False and "Redis paused: planned but no result recorded" in recovery["detail"]


# -- compared with the previous rehearsal ---------------------------------------------------------

def test_a_worse_rehearsal_than_the_previous_one_flags_regressions_without_changing_the_verdict(tmp_path):
    before = report_of(tmp_path / "rehearsal-lab-1", healthy())
    assert before["comparison"]["rows"] == [] and "not compared" in before["comparison"]["note"]
    worse = healthy()
    worse["run.json"].update(started_at="2026-11-22T22:15:20.000Z")
    worse["metrics/metrics.json"]["db_pool"].update(pct_of_app_pool=60.0)  # 30 % -> 60 %
    worse["canary.jsonl"] = canary_ticks(failing=tuple(x / 2 for x in range(10, 23)))  # back 5.26 s after the end
    result = rp.run(write_dir(tmp_path / "rehearsal-lab-2", worse), {}, {"conducted_by": "unit test"}, False,
                    previous="auto")
    cmp = result["comparison"]
    assert result["verdict"] == "GO" and cmp["previous_dir"].endswith("rehearsal-lab-1")
    rows = {r["key"]: r for r in cmp["rows"]}
    assert rows["db_pool_pct"]["previous"] == 30.0 and rows["db_pool_pct"]["current"] == 60.0
    assert rows["db_pool_pct"]["delta_pct"] == 100.0 and rows["db_pool_pct"]["regression"] is True
    assert rows["recovery_s"]["regression"] is True and rows["p95_ms"]["regression"] is False
    assert sorted(cmp["regressions"]) == ["db_pool_pct", "outage_s", "recovery_s"]
    md = (tmp_path / "rehearsal-lab-2" / "report.md").read_text()
    assert "| DB pool peak | 30 % | 60 % | +30 % (+100 %) | REGRESSION |" in md
    assert "regression against the previous rehearsal: DB pool peak 30 % -> 60 %" in md
    assert "Compared with the previous rehearsal" in (tmp_path / "rehearsal-lab-2" / "report.html").read_text()


def test_auto_compares_only_with_an_earlier_rehearsal_of_the_same_environment(tmp_path):
    other_env = healthy()
    other_env["run.json"]["environment"] = "staging"
    report_of(tmp_path / "a", other_env)
    later = healthy()
    later["run.json"]["started_at"] = "2026-12-01T00:00:00.000Z"
    report_of(tmp_path / "b", later)
    other_host = healthy()
    other_host["run.json"].update(host="lab-b", started_at="2026-11-20T00:00:00.000Z")
    report_of(tmp_path / "d", other_host)
    recovery = healthy()  # a recovery verification of the same host: not a rehearsal to compare with
    recovery["run.json"].update(playbook="verify_recovery", started_at="2026-11-20T00:00:00.000Z")
    report_of(tmp_path / "e", recovery)
    result = rp.run(write_dir(tmp_path / "c", healthy()), {}, {}, False, previous="auto")
    assert result["comparison"]["rows"] == []
    assert result["comparison"]["note"] == "not compared: no earlier rehearsal of this environment and host next to this one"


@pytest.mark.parametrize("previous, words", [("missing", "cannot be read"), ("self", "own evidence directory")])
def test_a_bad_previous_is_one_sentence_and_writes_nothing(tmp_path, previous, words):
    evidence = write_dir(tmp_path / "now", healthy())
    given = str(tmp_path / "nope") if previous == "missing" else evidence
    with pytest.raises(OpsError) as err:
        rp.run(evidence, {}, {}, False, previous=given)
    assert words in err.value.msg and "\n" not in err.value.msg
    assert not any(n.startswith("report.") for n in os.listdir(evidence))
