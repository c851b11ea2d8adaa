"""The lessons-learned record, pre-filled from a day's records: real records of the lab (a watch
that saw Redis stopped, an emergency restart, a verification that named a lost write, a freeze)
reduced to what the record reads."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.examday.ops.plugins.module_utils import _lessons
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError

RAISED = {"event": "raised", "rule": "redis", "name": "Redis unreachable", "at": "2026-06-01T09:31:15.02Z",
          "value": False, "limit": None, "unit": "", "samples": 2,
          "detail": "cannot read Redis INFO from 127.0.0.1:16379: Error 111 connecting to 127.0.0.1:16379. Connection refused",
          "runbook": {"section": "Redis Failure", "steps": ["Expected: rate limiting is bypassed, sign-in still works."]}}
CLEARED = dict(RAISED, event="cleared", at="2026-06-01T09:33:45.01Z", value=True, worst=False,
               raised_at=RAISED["at"], samples=2)


def write(path, data) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh)


@pytest.fixture
def day(tmp_path):
    r = tmp_path / "reports"
    write(str(r / "freeze-lab-20260601_080010.json"), {"verdict": {"passed": True, "reasons": []}})
    write(str(r / "watch-lab-20260601_083000" / "watch.json"),
          {"alerts": [RAISED, CLEARED, dict(RAISED, rule="exam_mode", name="EXAM_MODE is off", at="2026-06-01T10:10:00Z",
                                            detail="the admin API (stored)", runbook={"section": "Exam Mode Lost"})],
           "samples": 720, "stopped_by": "bound", "failed_samples": 0})
    write(str(r / "emergency_restart-lab-20260601_094210" / "report.json"), {
        "verdict": "GO", "gates": [{"id": "recovery", "name": "recovery within budget", "passed": True}], "problems": [],
        "faults": [{"name": "emergency restart", "services": [{"service": "postgres", "restart_s": 4.51},
                                                              {"service": "backend", "restart_s": 2.99}],
                    "canary": {"outage_s": 6.5, "recovery_s": 0.5}}]})
    write(str(r / "verify_recovery-lab-20260601_100000" / "report.json"), {
        "verdict": "NO-GO", "problems": [],
        "gates": [{"id": "zero_data_loss", "name": "zero data loss", "passed": False,
                   "detail": "data-loss checks failed: missing_answers (1)"}]})
    write(str(r / "rollback_guard-lab-20260601_101500.json"), {"msg": "new sessions closed, no session active"})
    write(str(r / "rollback_guard-lab-20260601_101000.json"),
          {"failed": True, "msg": "new sessions are closed, but 3 sessions were still active after 1 minutes; wait longer "
                                  "(drain_minutes) before the rollback."})
    os.makedirs(r / "post_exam-lab-20260601_130000")  # a run that crashed before its report
    write(str(r / "freeze-lab-20260531_080000.json"), {"verdict": {"passed": False, "reasons": ["the day before"]}})
    write(str(r / "watch-other-20260601_083000" / "watch.json"), {"alerts": [RAISED], "samples": 3})
    return str(r)


def test_the_record_is_pre_filled_from_the_days_records_only(day):
    model = _lessons.day_model(day, "2026-06-01", "lab")
    assert [(e["at"], e["what"]) for e in model["entries"]] == [
        ("08:00:10", "freeze"), ("08:30:00", "live watch"), ("09:42:10", "emergency restart"),
        ("10:00:00", "recovery verification"), ("10:10:00", "rollback guard"), ("10:15:00", "rollback guard"),
        ("13:00:00", "post-exam")]
    assert model["issues"] == [
        "10:00:00 recovery verification: zero data loss - data-loss checks failed: missing_answers (1)",
        "10:10:00 the rollback guard failed: new sessions are closed, but 3 sessions were still active after 1 minutes; "
        "wait longer (drain_minutes) before the rollback.",
        "13:00:00 post-exam left no verdict: report.json is missing",
        "2026-06-01T09:31:15.02Z live watch alert: Redis unreachable, no (cannot read Redis INFO from 127.0.0.1:16379: "
        "Error 111 connecting to 127.0.0.1:16379. Connection refused)",
        "2026-06-01T10:10:00Z live watch alert: EXAM_MODE is off, no (the admin API (stored))"]
    assert model["resolutions"] == [
        "Redis unreachable: cleared at 2026-06-01T09:33:45.01Z (worst no).",
        "EXAM_MODE is off: still active when the watch ended.",
        "Emergency restart at 09:42:10 (postgres 4.51 s, backend 2.99 s): the students' outage 6.5 s, back 0.5 s after "
        "it; verdict GO.",
        "Recovery verified at 10:00:00: NO-GO (failed: zero_data_loss).",
        "Rollback guard at 10:15:00: new sessions closed, no session active."]
    md = _lessons.render(model)
    assert md.startswith("# Lessons Learned: 2026-06-01 (lab)\n\n- **Date**: 2026-06-01\n- **Issues Encountered**:\n")
    assert "  - zero_data_loss: " in md and "  - Redis Failure: see the runbook's Common Issues steps" in md
    assert md.count(_lessons.TO_FILL) == 3 and "| 13:00:00 | post-exam | lab | no verdict (report.json is missing) |" in md
    assert "| 2026-06-01T09:31:15.02Z | 2026-06-01T09:33:45.01Z | Redis unreachable |" in md


def test_an_existing_record_is_never_replaced_without_force(day):
    model = _lessons.day_model(day, "2026-06-01")
    assert {e["host"] for e in model["entries"]} == {"lab", "other"}
    dest = os.path.join(day, "lessons.md")
    assert _lessons.write(model, dest)
    with open(dest, "a", encoding="utf-8") as fh:
        fh.write("the team's own notes\n")
    with pytest.raises(OpsError, match="exists \\(the team may have filled it in\\); set force to replace it"):
        _lessons.write(model, dest)
    assert _lessons.write(model, dest, force=True) and "the team's own notes" not in open(dest).read()
    assert oct(os.stat(dest).st_mode & 0o777) == "0o600"


def test_bad_input_is_one_sentence(tmp_path):
    with pytest.raises(OpsError, match=r"^date must be YYYY-MM-DD, not '1 June'\.$"):
        _lessons.day_model(str(tmp_path), "1 June")
    with pytest.raises(OpsError, match=r"^the reports directory .*nope does not exist\.$"):
        _lessons.day_model(str(tmp_path / "nope"), "2026-06-01")
    empty = _lessons.render(_lessons.day_model(str(tmp_path), "2026-06-01"))
    assert "None recorded by the day's records." in empty and "no record of this day in" in empty
