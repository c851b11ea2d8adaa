"""Pure logic of examday.ops.fault: validation, plans, the ledger, the watchdog loop, and the order
of operations of FaultManager (fake runner, clock and spawn; real `docker inspect` output)."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.examday.ops.plugins.module_utils import _fault_plan as plan
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._fault_ledger import Ledger, run_steps, watch
from ansible_collections.examday.ops.plugins.module_utils._fault_manager import (
    FaultManager, connections_to_occupy, pick_targets, wait_recovered)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "docker")
with open(os.path.join(FIXTURES, "inspect_redis.json"), encoding="utf-8") as _fh:
    INSPECT_REDIS = _fh.read()
REDIS_ID = json.loads(INSPECT_REDIS)[0]["Id"]


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Runner:
    """Answers docker commands like the engine did for the lab's Redis container."""

    def __init__(self, fail_on: str | None = None):
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def __call__(self, argv):
        self.calls.append(list(argv))
        if self.fail_on and self.fail_on in argv:
            return 1, "", f"Error response from daemon: cannot {self.fail_on}"
        if argv[:2] == ["docker", "ps"]:
            return 0, REDIS_ID + "\n", ""
        if argv[:2] == ["docker", "inspect"]:
            return 0, INSPECT_REDIS, ""
        return 0, "", ""


def params(tmp_path, **kw) -> dict:
    base = {"state": "injected", "fault": "stop", "name": None, "target": {"project": "exam_platform", "service": "redis", "pick": "all"},
            "params": {}, "duration": 10.0, "grace": 5.0, "wait": True, "ledger_dir": str(tmp_path / "ledger"),
            "net_tool_image": "tools:1", "recovery_timeout": 5.0, "recovery_interval": 0.25, "fail_if_active": False}
    base.update(kw)
    return base


# ---------------------------------------------------------------- validation and plans
@pytest.mark.parametrize("fault, p, words", [
    ("loss", {"loss_pct": 0}, "between 0.1 and 100"),
    ("loss", {"loss_pct": "lots"}, "must be a number"),
    ("bandwidth", {"rate": "10 mbit"}, "must look like 1mbit"),
    ("kill", {"signal": "SIGSTOP"}, "params.signal must be one of"),
    ("partition", {}, "needs params.peer"),
    ("db_lock", {"table": "x; drop table y"}, "a table name"),
    ("db_lock", {"table": "t", "mode": "NOWAIT"}, "params.mode of fault db_lock"),
    ("db_terminate", {"application_name": "("}, "not a valid regular expression"),
    ("nosuch", {}, "unknown fault"),
])
def test_validation_is_one_sentence(fault, p, words):
    with pytest.raises(OpsError) as exc:
        plan.validate(fault, p, 10, True)
    assert words in exc.value.msg and exc.value.msg.endswith(".")


def test_validation_normalises():
    assert plan.validate("kill", {"signal": "term"}, 5, True)["signal"] == "SIGTERM"
    assert plan.validate("delay", {"delay_ms": "100"}, 5, True) == {"delay_ms": 100, "jitter_ms": 0}
    assert plan.validate("db_lock", {"table": "public.session_answers"}, 5, True)["mode"] == "EXCLUSIVE"
    assert plan.validate("restart", {}, 0, True)["stop_timeout"] == 10  # instantaneous: no duration needed
    with pytest.raises(OpsError, match="needs wait=true"):
        plan.validate("redis_pause", {}, 5, False)


def test_container_plans_undo_what_they_do():
    targets = [{"id": "abc", "name": "c1", "limits": {"nano_cpus": 500_000_000}},
               {"id": "def", "name": "c2", "limits": {"nano_cpus": 0}}]
    p = plan.container_plan("cpu", {"cpus": 0.1}, targets, host_cpus=8)
    assert [s["argv"] for s in p["apply"]] == [["docker", "update", "--cpus", "0.1", "abc"], ["docker", "update", "--cpus", "0.1", "def"]]
    assert [s["argv"] for s in p["undo"]] == [["docker", "update", "--cpus", "0.5", "abc"], ["docker", "update", "--cpus", "8", "def"]]
    assert "had no limit" in p["undo"][1]["what"]
    p = plan.container_plan("pause", {}, targets[:1], 1)
    assert p["undo"][0]["argv"] == ["docker", "unpause", "abc"]
    assert {"is not paused", "No such container"} <= set(p["undo"][0]["tolerate"])


def test_network_scripts_use_own_chains_and_verify_their_undo():
    apply, undo = plan.network_scripts("partition", {"port": 5432}, "20261121-abcdef", ["172.18.0.5"])
    cin, cout = plan.chain_names("20261121-abcdef")
    assert f"iptables -A {cin} -s 172.18.0.5 -p tcp --sport 5432 -j DROP" in apply
    assert f"iptables -A {cout} -d 172.18.0.5 -p tcp --dport 5432 -j DROP" in apply
    assert f"iptables -I INPUT 1 -j {cin}" in apply
    assert "rules still present" in undo and f"iptables -X {cout}" in undo
    apply, _undo = plan.network_scripts("loss", {"loss_pct": 12.5}, "x", [])
    assert "--probability 0.1250" in apply and "! -o lo" in apply
    apply, undo = plan.network_scripts("delay", {"delay_ms": 100, "jitter_ms": 20}, "x", [])
    assert "netem delay 100ms 20ms distribution normal" in apply and "still has netem" in undo
    assert plan.chain_names("20261121230000-aaaaaa") != plan.chain_names("20261121230000-bbbbbb")
    argv = plan.netns_argv("abc", "tools:1", "true")
    assert argv[argv.index("--network") + 1] == "container:abc" and "NET_ADMIN" in argv and "ALL" in argv


def test_peer_addresses():
    assert plan.peer_addresses("10.0.0.0/8", lambda n: []) == ["10.0.0.0/8"]
    assert plan.peer_addresses("postgres", lambda n: ["172.18.0.2"]) == ["172.18.0.2"]
    with pytest.raises(OpsError, match="neither an address nor a container"):
        plan.peer_addresses("nosuch", lambda n: [])


def test_connections_to_occupy_keeps_a_way_in():
    assert connections_to_occupy(80, 100, 3, 10) == 70
    assert connections_to_occupy(100, 100, 3, 10) == 86  # never the reserved slots nor the last free one
    assert connections_to_occupy(5, 100, 3, 10) == 0


def test_pick_targets():
    cs = [{"name": "b"}, {"name": "a"}]
    assert pick_targets(cs, "one") == [{"name": "a"}]
    assert pick_targets(cs, "all") == [{"name": "a"}, {"name": "b"}]
    assert pick_targets(cs, "random", chooser=lambda xs: xs[-1]) == [{"name": "b"}]


def test_wait_recovered_polls_at_most_every_250ms():
    clock = Clock()
    answers = iter([(False, "down"), (False, "down"), (True, "ok")])
    seconds, detail = wait_recovered(lambda: next(answers), clock, clock.sleep, timeout=10, interval=1.0)
    assert seconds == 0.5 and detail == "ok" and clock.slept == [0.25, 0.25]
    clock = Clock()
    seconds, detail = wait_recovered(lambda: (False, "still down"), clock, clock.sleep, timeout=1)
    assert seconds is None and detail == "still down"


# ---------------------------------------------------------------- ledger and watchdog
def test_run_steps_tolerates_already_undone():
    def runner(argv):
        return (1, "", "Error response from daemon: Container abc is not paused") if argv[1] == "unpause" else (1, "", "boom")
    results = run_steps([plan.step(["docker", "unpause", "abc"], "unpause", ("is not paused",)),
                         plan.step(["docker", "start", "abc"], "start")], runner)
    assert results[0]["ok"] and results[0]["note"].startswith("already undone")
    assert not results[1]["ok"] and results[1]["note"] == "boom"


def entry(tmp_path, **kw) -> tuple[Ledger, dict]:
    ledger = Ledger(str(tmp_path / "ledger"))
    e = {"id": "f1", "name": "stop redis", "status": "active", "deadline": 100.0, "grace": 5.0, "targets": [],
         "undo": [plan.step(["docker", "start", "abc"], "start abc")], "injected_at": 90.0}
    e.update(kw)
    with ledger.locked():
        ledger.write(e)
    return ledger, e


def test_watchdog_restores_at_deadline_plus_grace(tmp_path):
    ledger, _e = entry(tmp_path)
    clock = Clock(90.0)
    runner = Runner()
    final = watch(ledger, "f1", runner, clock, clock.sleep)
    assert final["status"] == "restored" and final["restored_by"] == "watchdog"
    assert final["restored_at"] >= 105.0
    assert runner.calls == [["docker", "start", "abc"]]
    assert oct(os.stat(os.path.join(ledger.path, "f1.json")).st_mode & 0o777) == "0o600"


def test_watchdog_stands_down_when_the_module_restored(tmp_path):
    ledger, _e = entry(tmp_path)
    clock = Clock(90.0)
    runner = Runner()

    def sleep(seconds):
        clock.sleep(seconds)
        if clock.now >= 95:
            ledger.restore("f1", runner, "module", clock)
    final = watch(ledger, "f1", runner, clock, sleep)
    assert final["restored_by"] == "module" and clock.now < 100
    assert len(runner.calls) == 1


def test_an_undo_that_fails_stays_active_and_is_retried(tmp_path):
    ledger, _e = entry(tmp_path)
    clock = Clock(200.0)
    final = watch(ledger, "f1", Runner(fail_on="start"), clock, clock.sleep)
    assert final["status"] == "active" and "cannot start" in final["last_error"]
    assert [e["id"] for e in ledger.active()] == ["f1"]


# ---------------------------------------------------------------- manager
def manager(tmp_path, runner=None, clock=None, probe=lambda: (True, "ok"), **kw):
    clock = clock or Clock()
    spawned = []
    m = FaultManager(params(tmp_path, **kw), runner or Runner(), clock, clock.sleep, probe=probe,
                     spawn=lambda work: spawned.append(work) or 4242)
    return m, clock, spawned


def test_inject_writes_ledger_and_arms_watchdog_before_changing_anything(tmp_path):
    runner = Runner()
    m, clock, spawned = manager(tmp_path, runner)
    order = []
    real_run = m.run

    def spy(argv):
        if argv[:2] == ["docker", "stop"]:
            order.append(("stop", len(spawned), [e["status"] for e in m.ledger.entries()]))
        return real_run(argv)
    m.run = spy
    result = m.inject()
    assert order == [("stop", 1, ["active"])]
    assert result["restored"] and result["recovered"] and result["recovery_seconds"] == 0
    assert result["targets"] == ["exam_platform_redis"]
    assert ["docker", "stop", "-t", "10", REDIS_ID] in runner.calls and ["docker", "start", REDIS_ID] in runner.calls
    assert 10.0 in clock.slept  # held for its duration
    [e] = m.ledger.entries()
    assert e["status"] == "restored" and e["restored_by"] == "module" and e["watchdog_pid"] == 4242


def test_a_failed_injection_is_undone_and_said_in_one_sentence(tmp_path):
    m, _clock, _spawned = manager(tmp_path, Runner(fail_on="stop"))
    with pytest.raises(OpsError) as exc:
        m.inject()
    assert "stop exam_platform_redis failed" in exc.value.msg and exc.value.msg.endswith("the fault was undone.")
    assert m.ledger.active() == []


def test_check_mode_plans_without_touching(tmp_path):
    runner = Runner()
    clock = Clock()
    m = FaultManager(params(tmp_path), runner, clock, clock.sleep, check_mode=True, spawn=lambda w: pytest.fail("spawned"))
    result = m.inject()
    assert result["planned"] == ["stop exam_platform_redis"]
    assert all(c[:2] in (["docker", "ps"], ["docker", "inspect"]) for c in runner.calls)
    assert not os.path.exists(m.ledger.path)


def test_overlapping_fault_on_the_same_container_is_refused(tmp_path):
    m, _clock, _spawned = manager(tmp_path, wait=False)
    m.inject()
    with pytest.raises(OpsError, match="still active on exam_platform_redis; restore it first"):
        m.inject()
    restored = FaultManager(params(tmp_path, state="restored"), Runner(), Clock(), Clock().sleep).run_state()
    assert len(restored["restored_ids"]) == 1
    assert FaultManager(params(tmp_path, state="listed", fail_if_active=True), Runner(), Clock(), Clock().sleep).run_state()["active"] == []


def test_netem_missing_fails_before_any_change(tmp_path):
    def runner(argv):
        if "--network" in argv and "none" in argv:
            return 2, "", "Error: Specified qdisc kind is unknown."
        return Runner()(argv)
    m, _clock, spawned = manager(tmp_path, runner, fault="delay", params={"delay_ms": 100})
    with pytest.raises(OpsError, match="no netem queueing discipline"):
        m.inject()
    assert not spawned and m.ledger.entries() == []


def test_watchdog_follows_a_deadline_moved_once_the_fault_is_in_place(tmp_path):
    """Applying took long (the module held the lock); it then moved the deadline: the watchdog must
    not undo the fault before the new deadline + grace."""
    ledger, _e = entry(tmp_path)
    clock = Clock(90.0)
    runner = Runner()

    def sleep(seconds):
        clock.sleep(seconds)
        if 104 <= clock.now < 105:
            ledger.update("f1", deadline=200.0)
    final = watch(ledger, "f1", runner, clock, sleep)
    assert final["restored_by"] == "watchdog" and final["restored_at"] >= 205.0
    assert runner.calls == [["docker", "start", "abc"]]


def test_a_restart_is_timed_from_its_end_and_observed_for_its_duration(tmp_path):
    clock = Clock()
    probes = []

    def probe():
        probes.append(clock.now)
        return len(probes) > 4, "ok"  # healthy 1 s after the restart returned
    m = FaultManager(params(tmp_path, fault="restart", duration=8.0), Runner(), clock, clock.sleep, probe=probe,
                     spawn=lambda work: 1)
    result = m.inject()
    assert result["recovery_seconds"] == 1.0
    assert result["restored"] and probes[0] < probes[-1] <= clock.now
    assert sum(clock.slept) >= 8.0  # observed for its duration after the restart
    [e] = m.ledger.entries()
    assert e["deadline"] >= 1_800_000_000.0 + 8.0
