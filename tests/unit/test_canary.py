"""What students saw, measured from real canary runs of quick rehearsals of the healthy lab (2026-11-30):
tests/unit/fixtures/canary/ (five faults, one failed tick: a 503 during the full restart's database
restart, readiness down in the same tick) and tests/unit/fixtures/canary_loss/ (a 7 s timeout during the
packet loss and a single 503 while the app's connections were terminated, readiness ok in both ticks:
the run a first rule judged NO-GO for a readiness that lied)."""
from __future__ import annotations

import json
import os

from ansible_collections.examday.ops.plugins.module_utils._report import canary as cn
from ansible_collections.examday.ops.plugins.module_utils._thresholds import resolve

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "canary")  # and canary_loss


def evidence(name: str = "canary") -> dict:
    folder = os.path.join(os.path.dirname(FIXTURES), name)
    with open(os.path.join(folder, "canary.jsonl"), encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    with open(os.path.join(folder, "faults.json"), encoding="utf-8") as fh:
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


def test_single_failed_requests_while_readiness_says_ok_are_not_a_lie():
    ev = evidence("canary_loss")
    ticks = cn.read_ticks(ev["canary"])
    lying_ticks = [t for t in ticks if not t["ok"] and t["ready_ok"]]
    assert [t["status"] for t in lying_ticks] == [0, 503]  # a client timeout, one 503: transient
    assert cn.readiness_lies(ticks) == []


def test_two_5xx_in_a_row_while_readiness_says_ok_are_a_lie():
    ev = evidence()
    rows = ev["canary"]
    at = next(i for i, row in enumerate(rows) if row["ok"] is False)
    for row in rows[at:at + 3]:
        row.update(ok=False, step="answer", status=503, code="DB_UNAVAILABLE", ready_ok=True, ready_detail="ok")
    lies = cn.readiness_lies(cn.read_ticks(rows))
    assert len(lies) == 1 and lies[0]["ticks"] == 3 and lies[0]["samples"][0]["code"] == "DB_UNAVAILABLE"
    assert 1.0 < lies[0]["seconds"] < 1.2  # three ticks 0.5 s apart, from the first start to the last end


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
