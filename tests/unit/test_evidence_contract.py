"""The evidence contract (plugins/module_utils/_evidence/): every writer produces only what the reader
(the report) knows. Each test runs a real writer (or scans the code that writes) and fails when it
produces a file, a key or a record the contract does not name."""
from __future__ import annotations

import glob
import io
import json
import os
import re

import pytest

from ansible_collections.examday.ops.plugins.module_utils._canary import Canary
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._evidence import acks, names, write
from ansible_collections.examday.ops.plugins.module_utils._platform.api import PlatformClient
from ansible_collections.examday.ops.plugins.module_utils._report import canary as report_canary
from ansible_collections.examday.ops.plugins.module_utils._report import evidence as report_evidence
from ansible_collections.examday.ops.plugins.module_utils._student_flow import run_student_flow
from tests.unit import profiles
from tests.unit.replay import Replay, load

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures")
EVIDENCE_NAME = re.compile(r"[A-Za-z_][\w.-]*\.(?:jsonl|json\.gz|json)\b(?!\()")  # not res.json()
# JSON files the code names that are not evidence of a run: the background_jobs module's state file
# on the host, the load module's temporary k6 options.
NOT_EVIDENCE = {"background_jobs.json", "k6-options.json"}


def contract_files() -> set[str]:
    return {names.RUN, names.FAULTS, names.INTEGRITY, names.UX, names.CANARY, names.PREVIOUS, names.METRICS,
            names.STATS, names.DB_SAMPLES, names.PROMETHEUS, names.LOAD_RAW_PLAIN, names.SMOKE_FLOW,
            names.WATCH_TIMELINE, names.WATCH_RECORD, names.WATCH_PAGE, names.STATUS, names.LOAD_PROGRESS,
            *names.LOAD_FILES.values(),
            *names.REPORT_FILES}


def code_files() -> list[str]:
    out = []
    for pattern in ("plugins/**/*.py", "roles/**/*.yml", "playbooks/*.yml", "files/k6/*.js"):
        out += glob.glob(os.path.join(ROOT, pattern), recursive=True)
    return [p for p in out if not p.endswith(os.path.join("_evidence", "names.py"))]


def test_every_evidence_file_the_code_names_is_in_the_contract():
    """A writer that invents a file (or a reader that looks for one) no one else knows fails here."""
    known = contract_files()
    unknown = {}
    for path in code_files():
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        for name in set(EVIDENCE_NAME.findall(text)):
            base = os.path.basename(name)
            if base not in known and base not in NOT_EVIDENCE and not base.startswith(("freeze-", "unfreeze-")):
                unknown.setdefault(base, []).append(os.path.relpath(path, ROOT))
    assert not unknown, f"evidence files outside _evidence/names.py: {unknown}"


def test_the_report_reads_the_contract_names():
    assert report_evidence.RUN_JSON == names.RUN and report_evidence.CANARY_JSONL == names.CANARY
    assert report_evidence.ACKS_JSONL == names.LOAD_ACKS and report_evidence.RAW_JSON_GZ == names.LOAD_RAW
    assert report_evidence.METRICS_JSON == f"{names.METRICS_DIR}/{names.METRICS}"


def test_the_problems_every_role_records_have_the_contract_keys():
    """Every {'phase': ..., 'error': ...} a role or playbook appends to the run's problems."""
    found = 0
    for path in glob.glob(os.path.join(ROOT, "roles", "**", "*.yml"), recursive=True) + \
            glob.glob(os.path.join(ROOT, "playbooks", "*.yml")):
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        for entry in re.findall(r"\[\{('phase'.*?)\}\]", text, flags=re.S):
            keys = re.findall(r"'(\w+)':", entry)
            assert tuple(keys) == names.PROBLEM_KEYS, (path, entry)
            found += 1
    assert found >= 10  # every phase of the rehearsal and the post-exam run records its failure
    with pytest.raises(OpsError, match="exactly phase, error"):
        write.check("run", {"problems": [{"phase": "load", "message": "x"}]})


def test_the_student_flow_writes_only_known_checks(tmp_path):
    replay = Replay(load("lab_student_flow_experience.json")[1:])  # a real flow of the lab, without /v1/ready
    spec = {"mode": "EXAM", "year": 2026, "blocks": ["A"], "count": 4, "duration_seconds": 600}
    flow = run_student_flow(PlatformClient("http://lab.invalid", replay, profiles.lab()), "s@x.invalid", "pw",
                            spec, answer_count=3, experience=True)
    record = write.ux_record({**flow, "changed": True})
    assert set(record["checks"]) == set(names.UX_CHECKS), record["checks"]
    assert all(set(c) == {"passed", "detail"} for c in record["checks"].values())
    assert set(names.UX_TITLES) == set(names.UX_CHECKS)
    path = write.write(str(tmp_path), "ux", record)
    assert os.path.basename(path) == names.UX
    ev = report_evidence.load_evidence(str(tmp_path))
    assert ev["ux"]["checks"] == json.loads(json.dumps(record["checks"]))


def test_a_canary_tick_has_exactly_the_contract_keys_and_the_report_reads_it():
    def down(method, url, headers, data, timeout):  # the platform answers 503 to everything
        return 503, {"Content-Type": "application/json"}, b'{"status": "down", "error_code": "DB_UNAVAILABLE"}'

    canary = Canary(PlatformClient("http://lab.invalid", down, profiles.lab()), "s@x.invalid", "pw")
    record = canary.tick()
    assert set(record) == set(names.CANARY_KEYS) | {"ms"}
    (tick,) = report_canary.read_ticks([record])
    assert tick["ok"] is False and tick["server_side"] is True and tick["step"] == "login"


def test_every_recorded_write_of_the_shipped_scenarios_is_a_valid_ack():
    """Real console output of the shipped k6 scripts (tests/unit/fixtures/k6_load/)."""
    kinds = set()
    for path in glob.glob(os.path.join(FIXTURES, "k6_load", "*.console.log")):
        out = io.StringIO()
        with open(path, encoding="utf-8") as fh:
            counts = acks.extract(fh, out)
        assert not counts.get("malformed"), (path, counts)
        for i, line in enumerate(out.getvalue().splitlines()):
            raw = json.loads(line)
            record = acks.parse_record(raw, f"{os.path.basename(path)} line {i + 1}")
            kinds.add(record["kind"])
            assert record["outcome"] in acks.OUTCOMES
            fields = {"session_id", "question_id", "selected_index", "user", "idempotency_key", "score_correct",
                      "position"}
            assert set(raw) <= set(acks.META_FIELDS) | fields
    assert kinds == set(acks.KINDS)
