"""What students saw, measured from a real canary run (tests/unit/fixtures/canary/: canary.jsonl and
faults.json of a quick rehearsal of the lab, 2026-11-30): five faults, one failed tick (a 503 during the
full restart's database restart), readiness down in the same tick."""
from __future__ import annotations

import json
import os

from ansible_collections.examday.ops.plugins.module_utils._report import canary as cn
from ansible_collections.examday.ops.plugins.module_utils._thresholds import resolve

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "canary")


def evidence() -> dict:
    with open(os.path.join(FIXTURES, "canary.jsonl"), encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    with open(os.path.join(FIXTURES, "faults.json"), encoding="utf-8") as fh:
        faults = json.load(fh)
    return {"canary": rows, "faults": faults}


def test_a_failure_belongs_to_the_fault_it_happened_in_only():
    seen = cn.what_students_saw(evidence(), resolve({}))
    names = [f["name"] for f in evidence()["faults"]]
    effects = dict(zip(names, seen["faults"]))
    drill = effects["full restart, infrastructure first (recovery drill)"]
    assert drill["failures"] == 1 and drill["outage_s"] == 0.573  # 17:31:59.347 failed, 17:31:59.920 ok again
    assert drill["first_failure"]["code"] == "DB_UNAVAILABLE" and drill["recovery_s"] == 0.0
    for name in names[:4]:  # the failure is within 30 s of their ends, but after the next fault began
        assert effects[name]["measured"] is True and effects[name]["failures"] == 0 and effects[name]["outage_s"] == 0.0


def test_readiness_said_down_in_the_failed_tick_so_it_did_not_lie():
    seen = cn.what_students_saw(evidence(), resolve({}))
    assert seen["lies"] == []
    assert seen["summary"]["ticks"] == 447 and seen["summary"]["failures"] == 1
    assert seen["summary"]["failed_steps"] == {"read_session": 1} and seen["summary"]["interval_s"] == 0.5


def test_the_same_failure_with_readiness_saying_ok_is_a_lie_of_one_tick():
    ev = evidence()
    for row in ev["canary"]:
        if row["ok"] is False:
            row.update(ready_ok=True, ready_detail="ok")
    lies = cn.readiness_lies(cn.read_ticks(ev["canary"]))
    assert len(lies) == 1 and lies[0]["ticks"] == 1 and lies[0]["samples"][0]["code"] == "DB_UNAVAILABLE"


def test_a_canary_that_stops_answering_has_no_recovery():
    ev = evidence()
    cut = "2026-11-30T17:31:59"
    ev["canary"] = [r for r in ev["canary"] if r["start"] < cut] + [
        dict(r, ok=False, step="answer", status=None, error="timed out") for r in ev["canary"] if r["start"] >= cut]
    drill = cn.what_students_saw(ev, resolve({}))["faults"][-1]
    assert drill["outage_s"] is None and drill["recovery_s"] is None


def test_the_timeline_is_thinned_evenly_to_its_limit():
    ticks = cn.read_ticks(evidence()["canary"])
    points = cn.timeline(ticks, limit=100)
    assert 80 <= len(points) <= 100 and abs(points[0][0] - ticks[0]["start"]) < 0.01
