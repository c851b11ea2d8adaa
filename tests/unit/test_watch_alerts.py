"""The live watch's alerts: raised after N broken samples in a row, cleared after M good ones, judged
on the rehearsal's thresholds, naming the runbook's steps; unmeasured values neither raise nor clear."""
from __future__ import annotations

import json

import pytest

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._thresholds import resolve
from ansible_collections.examday.ops.plugins.module_utils._watch import alerts

HEALTHY = {"observed_ok": True, "p95_ms": 120.0, "error_rate_pct": 0.0, "db_pool_pct": 20.0, "health_ok": True, "ready_ok": True,
           "redis_ok": True, "backend_missing": 0, "restarts": 0, "exam_mode_on": True}


def at(i: int) -> str:
    return f"2026-12-01T09:00:{i:02d}Z"


def run(tracker, samples):
    out = []
    for i, sample in enumerate(samples):
        out.extend(tracker.feed({**HEALTHY, **sample}, at(i)))
    return out


def test_raised_after_n_broken_samples_and_cleared_after_m_good_ones():
    tracker = alerts.Tracker(resolve({}), raise_after=3, clear_after=2)
    events = run(tracker, [{"error_rate_pct": 4.0}, {"error_rate_pct": 7.5}, {}, {"error_rate_pct": 2},
                           {"error_rate_pct": 3}, {"error_rate_pct": 9}, {}, {"error_rate_pct": 5}, {}, {}])
    assert [(e["event"], e["rule"], e["at"]) for e in events] == [
        ("raised", "error_rate", at(5)), ("cleared", "error_rate", at(9))]
    raised, cleared = events
    assert raised["value"] == 9 and raised["limit"] == 1.0 and raised["runbook"]["section"] == "High Error Rate"
    assert cleared["raised_at"] == at(5) and cleared["worst"] == 9 and tracker.active() == []
    assert alerts.line(raised).startswith(f"ALERT {at(5)} high error rate: 9% (must stay below 1%) in 3 samples "
                                          "in a row. Runbook, High Error Rate: 1. Check the backend logs")
    assert alerts.line(cleared) == f"CLEARED {at(9)} high error rate: 0% (below 1%) in 2 samples in a row " \
                                   f"(raised {at(5)}, worst 9%)."


def test_limits_are_the_rehearsal_thresholds():
    tracker = alerts.Tracker(resolve({"p95_ms": 200}), raise_after=1)
    (event,) = run(tracker, [{"p95_ms": 250.0}])
    assert event["rule"] == "latency_p95" and event["limit"] == 200.0
    assert "250 ms (must stay below 200 ms)" in alerts.line(event)
    assert run(alerts.Tracker(resolve({}), raise_after=1), [{"p95_ms": 250.0}]) == []  # under the default 500


def test_unmeasured_values_neither_raise_nor_clear():
    tracker = alerts.Tracker(resolve({}), raise_after=2, clear_after=1)
    down = {"redis_ok": False, "errors": {"redis": "cannot read Redis INFO from 127.0.0.1:16379: Connection refused"}}
    events = run(tracker, [down, {"redis_ok": None}, down, {"redis_ok": None}, {"redis_ok": None}])
    assert [(e["event"], e["at"]) for e in events] == [("raised", at(2))]
    assert tracker.active() == ["redis"]
    assert ("Redis unreachable: in 2 samples in a row (cannot read Redis INFO from 127.0.0.1:16379: Connection "
            "refused). Runbook, Redis Failure: 1. Expected") in alerts.line(events[0])
    (cleared,) = run(tracker, [{"redis_ok": True}])
    assert cleared["event"] == "cleared"
    assert alerts.line(cleared) == f"CLEARED {at(0)} Redis unreachable: ok again in 1 samples in a row (raised {at(2)})."


def test_an_outage_raises_every_broken_rule_once():
    tracker = alerts.Tracker(resolve({}), raise_after=2, clear_after=2)
    down = {"health_ok": False, "ready_ok": False, "error_rate_pct": 100.0, "p95_ms": None, "backend_missing": 2,
            "exam_mode_on": None}
    events = run(tracker, [down, down, down, down, {}, {}])
    raised = [e["rule"] for e in events if e["event"] == "raised"]
    cleared = [e["rule"] for e in events if e["event"] == "cleared"]
    assert sorted(raised) == sorted(cleared) == ["backends", "error_rate", "health", "readiness"]
    assert all(e["at"] == at(1) for e in events if e["event"] == "raised")


def test_rules_can_be_chosen_and_bad_settings_are_one_sentence():
    tracker = alerts.Tracker(resolve({}), raise_after=1, rules=["exam_mode"])
    (event,) = run(tracker, [{"exam_mode_on": False, "error_rate_pct": 50.0}])
    assert event["rule"] == "exam_mode" and "playbooks/freeze.yml" in alerts.line(event)
    with pytest.raises(OpsError, match=r"^Unknown watch rule 'cpu'; known rules are observation, latency_p95, "):
        alerts.Tracker(resolve({}), rules=["cpu"])
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(OpsError, match=r"^watch raise_after must be a whole number of samples of 1 or more"):
            alerts.Tracker(resolve({}), raise_after=bad)


def test_webhook_payloads():
    (event,) = run(alerts.Tracker(resolve({}), raise_after=1), [{"db_pool_pct": 91.0}])
    body = json.loads(alerts.payload(event, "json", source="prod"))
    assert body["source"] == "prod" and body["rule"] == "db_pool" and body["value"] == 91.0
    slack = json.loads(alerts.payload(event, "slack", source="prod"))
    assert list(slack) == ["text"] and slack["text"].startswith("[prod] ALERT ") and "91% (must stay below 80%)" in \
        slack["text"]
    with pytest.raises(OpsError, match="must be json or slack"):
        alerts.payload(event, "xml")


def test_every_rule_names_a_runbook_section_with_steps():
    for rule in alerts.RULES:
        assert alerts.RUNBOOK[rule.runbook], rule.id
        assert rule.boolean or rule.threshold or rule.limit is not None, rule.id
        assert rule.threshold is None or rule.threshold in resolve({}), rule.id


def test_a_threshold_is_broken_at_the_limit_as_the_gates_judge_it_and_a_count_above_it():
    tracker = alerts.Tracker(resolve({}), raise_after=1)
    raised = {e["rule"] for e in run(tracker, [{"db_pool_pct": 80.0, "p95_ms": 499.9, "backend_missing": 0}])}
    assert raised == {"db_pool"}  # the gate fails at 80 % too; no backend missing is fine
    (event,) = run(alerts.Tracker(resolve({}), raise_after=1), [{"backend_missing": 1}])
    assert "backend instances missing: 1 (must stay at most 0) in 1 samples" in alerts.line(event)


def test_a_restart_is_raised_at_once_and_cleared_when_none_follows():
    tracker = alerts.Tracker(resolve({}), raise_after=3, clear_after=2)
    events = run(tracker, [{"restarts": 1}, {"restarts": 0}, {"restarts": 1}, {"restarts": 0}, {"restarts": 0}])
    assert [(e["event"], e["at"]) for e in events] == [("raised", at(0)), ("cleared", at(4))]
    assert events[1]["worst"] == 1


def test_a_platform_that_cannot_be_observed_is_an_alert():
    tracker = alerts.Tracker(resolve({}), raise_after=2)
    failed = {"at": "x", "observed_ok": False, "error": "connection refused"}
    events = [e for i in range(3) for e in tracker.feed(dict(failed), at(i))]
    assert [(e["event"], e["rule"], e["at"]) for e in events] == [("raised", "observation", at(1))]
    assert alerts.line(events[0]).startswith(
        f"ALERT {at(1)} the platform could not be observed: in 2 samples in a row (connection refused). Runbook")
