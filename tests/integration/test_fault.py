"""examday.ops.fault on the lab: every fault type injects (its effect observed) and restores (state
checked before and after); bad input changes nothing; a fault whose playbook is SIGKILLed is undone
by the host-side watchdog within deadline + grace."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import pytest
import redis

from tests.integration.conftest import ROOT, VENV_BIN, lab_image

LEDGER = os.path.join(ROOT, ".lab", "faults")
COMMON = {"ledger_dir": "{{ examday_fault_ledger_dir }}", "api_url": "{{ examday_api_url }}",
          "net_tool_image": "{{ examday_net_tool_image }}"}


def fault(lab, *flags, **args):
    return lab.module("fault", {**COMMON, **args}, *flags)


def active_entries() -> list[dict]:
    out = []
    if os.path.isdir(LEDGER):
        for name in os.listdir(LEDGER):
            if name.endswith(".json"):
                with open(os.path.join(LEDGER, name), encoding="utf-8") as fh:
                    entry = json.load(fh)
                if entry["status"] == "active":
                    out.append(entry)
    return out


@pytest.fixture
def faults(lab):
    """No fault active before; whatever a test leaves, undone after (and the lab ready again)."""
    assert not active_entries(), active_entries()
    yield lab
    rc, result = fault(lab, state="restored")
    assert rc == 0, result
    assert not active_entries()
    lab.wait_ready(120)


def tcp_from(container, host: str, port: int, timeout: float = 1.5) -> bool:
    code = (f"import socket,sys\ns=socket.socket();s.settimeout({timeout})\n"
            f"try:\n s.connect(({host!r},{port}));print('ok')\nexcept Exception as e:\n print('fail',e)")
    out = container.exec_run(["python3", "-c", code]).output.decode()
    return out.startswith("ok")


def state_of(lab, container) -> dict:
    container.reload()
    return {"status": container.status, "nano_cpus": container.attrs["HostConfig"]["NanoCpus"]}


def test_stop_held_then_restored_with_recovery(faults):
    lab = faults
    redis_c = lab.containers("redis")[0]
    rc, result = fault(lab, fault="stop", target={"service": "redis"}, duration=3, name="redis stopped")
    assert rc == 0, result
    assert result["targets"] == ["exam_platform_redis"]
    assert result["before"]["exam_platform_redis"]["running"] is True
    assert result["after"]["exam_platform_redis"]["running"] is True
    assert result["restored"] is True and result["recovered"] is True
    assert 0 <= result["recovery_seconds"] < 120
    assert result["injected_at"] < result["restored_at"]
    assert state_of(lab, redis_c)["status"] == "running"
    assert not active_entries()


def test_stop_kept_then_state_restored(faults):
    lab = faults
    rc, result = fault(lab, fault="stop", target={"service": "redis"}, duration=60, wait=False)
    assert rc == 0, result
    assert lab.containers("redis") == []  # stopped, observed from outside
    assert [e["id"] for e in active_entries()] == [result["ledger_id"]]
    rc, listed = fault(lab, state="listed", fail_if_active=True)
    assert rc != 0 and "still active" in listed["msg"] and listed["msg"].endswith(".") and ". " not in listed["msg"]
    rc, restored = fault(lab, state="restored")
    assert rc == 0 and restored["restored_ids"] == [result["ledger_id"]], restored
    assert restored["recovery_seconds"] is not None
    assert len(lab.containers("redis")) == 1
    rc, again = fault(lab, state="restored")
    assert rc == 0 and again["changed"] is False


def test_kill_pause_and_cpu_restore_prior_state(faults):
    lab = faults
    rc, result = fault(lab, fault="kill", target={"service": "backend", "pick": "one"}, params={"signal": "KILL"}, duration=2)
    assert rc == 0, result
    assert result["after"][result["targets"][0]]["running"] is True
    assert result["after"][result["targets"][0]]["started_at"] != result["before"][result["targets"][0]]["started_at"]

    backend = lab.containers("backend")[0]
    rc, result = fault(lab, fault="pause", target={"container": backend.name}, duration=30, wait=False)
    assert rc == 0, result
    assert state_of(lab, backend)["status"] == "paused"
    assert fault(lab, state="restored")[0] == 0
    assert state_of(lab, backend)["status"] == "running"

    prior = state_of(lab, backend)["nano_cpus"]
    rc, result = fault(lab, fault="cpu", target={"container": backend.name}, params={"cpus": 0.1}, duration=30, wait=False)
    assert rc == 0, result
    assert state_of(lab, backend)["nano_cpus"] == 100_000_000
    assert fault(lab, state="restored")[0] == 0
    assert state_of(lab, backend)["nano_cpus"] == prior


def test_ordered_restart_is_the_recovery_drill(faults):
    lab = faults
    rc, result = fault(lab, fault="restart", target={"services": ["redis", "backend"]}, name="full restart", duration=0)
    assert rc == 0, result
    assert result["details"]["order"] == ["redis", "backend"]
    assert all(s["healthy_after_s"] is not None for s in result["details"]["services"])
    assert sorted(result["targets"]) == ["exam_platform-backend-1", "exam_platform-backend-2", "exam_platform_redis"]
    for name, after in result["after"].items():
        assert after["running"] and after["started_at"] != result["before"][name]["started_at"], name
    assert result["recovered"] is True


def test_partition_and_loss_take_effect_and_are_removed(faults):
    lab = faults
    backend = lab.containers("backend")[0]
    assert tcp_from(backend, "postgres", 5432)
    rc, result = fault(lab, fault="partition", target={"container": backend.name}, params={"peer": "exam_platform_postgres"},
                       duration=60, wait=False)
    assert rc == 0, result
    assert not tcp_from(backend, "postgres", 5432)
    assert tcp_from(backend, "redis", 6379)  # only the peer is cut off
    assert fault(lab, state="restored")[0] == 0
    assert tcp_from(backend, "postgres", 5432)

    rc, result = fault(lab, fault="loss", target={"container": backend.name}, params={"loss_pct": 100}, duration=60, wait=False)
    assert rc == 0, result
    assert not tcp_from(backend, "redis", 6379)
    assert fault(lab, state="restored")[0] == 0
    assert tcp_from(backend, "redis", 6379)


def qdisc(lab, container) -> str:
    image = lab_image()
    return subprocess.run(["docker", "run", "--rm", "--network", f"container:{container.id}", "--entrypoint", "tc", image,
                           "qdisc", "show"], capture_output=True, text=True, check=True).stdout


def netem_available() -> bool:
    image = lab_image()
    return subprocess.run(["docker", "run", "--rm", "--network", "none", "--cap-add", "NET_ADMIN", "--entrypoint", "sh", image,
                           "-c", "tc qdisc add dev lo root netem delay 1ms"], capture_output=True, check=False).returncode == 0


def test_bandwidth_and_delay(faults):
    lab = faults
    backend = lab.containers("backend")[0]
    assert "tbf" not in qdisc(lab, backend)
    rc, result = fault(lab, fault="bandwidth", target={"container": backend.name}, params={"rate": "1mbit"}, duration=60, wait=False)
    assert rc == 0, result
    assert "tbf" in qdisc(lab, backend) and "rate 1Mbit" in qdisc(lab, backend)
    assert fault(lab, state="restored")[0] == 0
    assert "tbf" not in qdisc(lab, backend)

    rc, result = fault(lab, fault="delay", target={"container": backend.name}, params={"delay_ms": 100, "jitter_ms": 20},
                       duration=60, wait=False)
    if netem_available():
        assert rc == 0, result
        assert "netem" in qdisc(lab, backend)
    else:
        assert rc != 0
        assert "no netem" in result["msg"] and "nothing was changed" in result["msg"]
        assert not active_entries()
        assert "netem" not in qdisc(lab, backend)


def test_db_faults(faults):
    lab = faults
    db = "{{ examday_db }}"
    before = lab.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name ~ '^exam_backend'")[0][0]
    assert before > 0
    rc, result = fault(lab, fault="db_terminate", db=db, params={"application_name": "^exam_backend", "every": 1}, duration=2)
    assert rc == 0, result
    assert result["details"]["terminated"] >= 1 and result["details"]["rounds"] == 3 and result["recovered"] is True

    holder: dict = {}

    def hold(**args):
        holder["result"] = fault(lab, **args)

    thread = threading.Thread(target=hold, kwargs={"fault": "db_lock", "db": db, "duration": 6, "params": {"table": "session_answers"}})
    thread.start()
    seen = None
    for _i in range(40):
        seen = lab.sql("SELECT l.mode FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                       "WHERE a.application_name = 'examday.fault' AND l.relation = 'session_answers'::regclass")
        if seen:
            break
        time.sleep(0.25)
    assert seen == [("ExclusiveLock",)]
    thread.join(60)
    assert holder["result"][0] == 0, holder
    assert lab.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'examday.fault'")[0][0] == 0

    thread = threading.Thread(target=hold, kwargs={"fault": "db_connections", "db": db, "duration": 6,
                                                   "params": {"connections_pct": 60}})
    thread.start()
    peak = 0
    for _i in range(40):
        peak = max(peak, lab.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'examday.fault'")[0][0])
        time.sleep(0.25)
        if not thread.is_alive():
            break
    thread.join(60)
    rc, result = holder["result"]
    assert rc == 0, result
    max_c = int(lab.sql("SHOW max_connections")[0][0])
    assert peak == result["details"]["occupied"] and peak >= 1
    assert result["details"]["in_use_pct_during"] >= 60 or peak == max_c - 3 - result["details"]["in_use_before"] - 1
    assert lab.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'examday.fault'")[0][0] == 0


def test_redis_pause(faults):
    lab = faults
    client = redis.Redis(host="127.0.0.1", port=16379, socket_timeout=10)
    holder: dict = {}

    def hold():
        holder["result"] = fault(lab, fault="redis_pause", duration=4, redis="{{ examday_redis }}")

    thread = threading.Thread(target=hold)
    thread.start()
    blocked = 0.0
    while thread.is_alive() and blocked < 1.0:  # bounded by the module's run (4 s pause)
        start = time.monotonic()
        client.set("examday:test:pause", "1")
        blocked = max(blocked, time.monotonic() - start)
        time.sleep(0.1)
    thread.join(60)
    assert holder["result"][0] == 0, holder
    assert blocked >= 1.0, f"no write was held by CLIENT PAUSE (longest {blocked:.2f} s)"
    start = time.monotonic()
    client.set("examday:test:pause", "2")
    assert time.monotonic() - start < 0.5
    client.delete("examday:test:pause")


@pytest.mark.parametrize("args, words", [
    ({"fault": "stop", "target": {"container": "exam_platform_nosuch"}}, "unknown container exam_platform_nosuch"),
    ({"fault": "stop", "target": {"service": "nosuch"}}, "no running container of service nosuch"),
    ({"fault": "loss", "target": {"service": "backend"}, "params": {"loss_pct": 300}}, "between 0.1 and 100"),
    ({"fault": "bandwidth", "target": {"service": "backend"}, "params": {"rate": "fast"}}, "must look like 1mbit"),
    ({"fault": "db_lock", "params": {"table": "answers; DROP TABLE users"}}, "a table name"),
    ({"fault": "stop", "target": {"service": "redis"}, "duration": 0}, "between 1 and 3600"),
    ({"fault": "db_lock", "params": {"table": "session_answers"}, "wait": False}, "needs wait=true"),
])
def test_bad_input_is_one_sentence_and_changes_nothing(faults, args, words):
    lab = faults
    before = {c.name: c.attrs["State"]["StartedAt"] for s in ("redis", "backend") for c in lab.containers(s)}
    rc, result = fault(lab, **args)
    assert rc != 0
    assert words in result["msg"], result["msg"]
    assert result["msg"].endswith(".") and result["msg"].count(". ") == 0
    assert not active_entries()
    after = {c.name: c.attrs["State"]["StartedAt"] for s in ("redis", "backend") for c in lab.containers(s)}
    assert after == before


def test_check_mode_changes_nothing(faults):
    lab = faults
    rc, result = fault(lab, "--check", fault="stop", target={"service": "redis"}, duration=30)
    assert rc == 0 and result["changed"] is True
    assert result["planned"] == ["stop exam_platform_redis"]
    assert len(lab.containers("redis")) == 1 and not active_entries()


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", encoding="utf-8") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def test_sigkilled_playbook_is_restored_by_the_host(faults, tmp_path):
    """The playbook holding a 12 s Redis stop is killed (every process of it, SIGKILL) 4 s in; the
    watchdog on the host starts Redis again at deadline + grace (12 + 5 + 3 s after injection)."""
    lab = faults
    book = tmp_path / "hold.yml"
    book.write_text("- hosts: lab\n  gather_facts: false\n  tasks:\n    - examday.ops.fault:\n"
                    "        fault: stop\n        target: {service: redis}\n        duration: 12\n        grace: 3\n"
                    "        ledger_dir: '{{ examday_fault_ledger_dir }}'\n")
    proc = subprocess.Popen([os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventories", "local"), str(book)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not active_entries() or lab.containers("redis"):
        assert time.monotonic() < deadline and proc.poll() is None, "the fault was never injected"
        time.sleep(0.25)
    injected = time.monotonic()
    time.sleep(4)
    for pid in descendants(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(10)
    assert not lab.containers("redis"), "redis must still be stopped right after the kill"
    [entry] = active_entries()
    limit = entry["deadline"] + entry["grace"]
    while not lab.containers("redis"):
        assert time.monotonic() - injected < 12 + 5 + 3 + 15, "the host did not restore the fault"
        time.sleep(0.25)
    restored_after = time.monotonic() - injected
    while active_entries():
        time.sleep(0.25)
    with open(os.path.join(LEDGER, f"{entry['id']}.json"), encoding="utf-8") as fh:
        final = json.load(fh)
    assert final["restored_by"] == "watchdog"
    assert final["restored_at"] >= limit
    assert restored_after >= 12
