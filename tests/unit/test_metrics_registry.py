"""The capture registry of metrics_capture (_metrics.registry) and the Capture manager that drives it:
every entry complete, names unique, each registered capture run once on the inputs it declares, a new
capture added with one entry, and failures kept as they were before the registry."""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re

import pytest

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._metrics.capture import Capture
from ansible_collections.examday.ops.plugins.module_utils._metrics.constants import METRICS_FILE, NOT_MEASURED
from ansible_collections.examday.ops.plugins.module_utils._metrics.registry import (
    CAPTURES, INPUT_NAMES, INPUTS, KINDS, RESERVED_KEYS, CaptureEntry, needed_inputs)
from ansible_collections.examday.ops.plugins.module_utils._metrics.timewin import parse_ts
from tests.unit.test_metrics import FakeConn, FakeDocker, capture_params, fixture, session_answers

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "metrics.md")
# The seeds' nine captures (seed 000's capture-metrics) and Prometheus, by the names the entries carry.
SEED_CAPTURES = {"DB pool", "slow SQL", "slow requests", "status codes", "Redis", "container CPU/memory",
                 "edge errors", "sessions", "request-id traceability", "Prometheus"}


def documented_keys() -> set[str]:
    """The keys in the first column of docs/metrics.md's `metrics.json` table."""
    with open(DOCS, encoding="utf-8") as fh:
        section = fh.read().split("## `metrics.json`", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return set(re.findall(r"`([a-z_]+)`", "".join(rows)))


def until() -> datetime.datetime | None:
    return parse_ts(json.loads(fixture("manifest.json"))["window"]["until"])


class Recorder:
    """Counts the calls of the services the capture may use."""

    def __init__(self):
        self.connects = 0
        self.redis_reads = 0

    def connect(self):
        self.connects += 1
        return FakeConn(session_answers())

    def redis(self):
        self.redis_reads += 1
        return fixture("redis-info.txt")


def capture(tmp_path, captures=CAPTURES, write=True, docker=None, recorder=None, **extra) -> Capture:
    recorder = recorder or Recorder()
    return Capture(docker or FakeDocker(), capture_params(str(tmp_path / "metrics"), **extra),
                   db_connect=recorder.connect, redis_reader=recorder.redis, now=until, write=write,
                   captures=captures)


def counted(entries, calls: dict, seen: dict) -> tuple[CaptureEntry, ...]:
    """The entries with their function wrapped to count its calls and record the inputs it got."""
    def wrap(entry):
        def produce(context):
            calls[entry.key] = calls.get(entry.key, 0) + 1
            seen[entry.key] = set(context.inputs)
            return entry.produce(context)
        return dataclasses.replace(entry, produce=produce)
    return tuple(wrap(e) for e in entries)


# ---------------------------------------------------------------------------------------- registry


def test_every_entry_is_complete():
    for entry in CAPTURES:
        assert entry.key and entry.key == entry.key.strip() and entry.key not in RESERVED_KEYS, entry
        assert entry.name and entry.name == entry.name.strip(), entry
        assert isinstance(entry.needs, tuple) and entry.needs, entry
        assert set(entry.needs) <= set(INPUT_NAMES) and len(set(entry.needs)) == len(entry.needs), entry
        assert callable(entry.produce) and callable(entry.note), entry


def test_keys_and_names_are_unique():
    keys = [e.key for e in CAPTURES]
    names = [e.name for e in CAPTURES]
    assert len(keys) == len(set(keys)) and len(names) == len(set(names))
    assert len(INPUT_NAMES) == len(set(INPUT_NAMES))


def test_the_registry_holds_the_documented_sections_and_the_seeds_captures():
    # docs/metrics.md's table and the registry are held together: a new capture is documented there.
    assert {e.key for e in CAPTURES} | set(RESERVED_KEYS) == documented_keys()
    assert SEED_CAPTURES <= {e.name for e in CAPTURES}


def test_inputs_come_in_kind_order_need_only_earlier_inputs_and_each_has_a_gatherer(tmp_path):
    kinds = [KINDS.index(i.kind) for i in INPUTS]
    assert kinds == sorted(kinds)
    for n, item in enumerate(INPUTS):
        assert set(item.needs) <= set(INPUT_NAMES[:n]) and item.what, item
    assert set(capture(tmp_path)._gatherers) == set(INPUT_NAMES)  # pylint: disable=protected-access


def test_needed_inputs_follow_what_inputs_need_and_refuse_unknown_names():
    traceability = [e for e in CAPTURES if e.key == "traceability"]
    assert needed_inputs(traceability) == {"edge_logs", "backend_logs"}
    http_status = [e for e in CAPTURES if e.key == "http_status"]
    assert needed_inputs(http_status) == {"edge_logs", "backend_logs"}  # the backends look for the edge's ids
    with pytest.raises(ValueError, match="unknown metrics input 'nope'"):
        needed_inputs([CaptureEntry("x", "x", ("nope",), lambda c: {})])


# ----------------------------------------------------------------------------------------- Capture


def test_capture_runs_each_registered_capture_once_with_the_inputs_it_declares(tmp_path):
    calls: dict = {}
    seen: dict = {}
    metrics = capture(tmp_path, captures=counted(CAPTURES, calls, seen)).run()
    assert calls == {e.key: 1 for e in CAPTURES}
    assert seen == {e.key: set(e.needs) for e in CAPTURES}
    assert set(metrics) == {e.key for e in CAPTURES} | set(RESERVED_KEYS)


def test_capture_gathers_only_what_the_registered_captures_need(tmp_path):
    recorder, docker = Recorder(), FakeDocker()
    containers = tuple(e for e in CAPTURES if e.key == "containers")
    metrics = capture(tmp_path, captures=containers, docker=docker, recorder=recorder).run()
    assert set(metrics) == {"containers"} | set(RESERVED_KEYS)
    assert (recorder.connects, recorder.redis_reads, docker.calls) == (0, 0, [])
    note = NOT_MEASURED + "no container stats samples in the window (run action=sample during the load)"
    assert metrics["notes"] == {"containers": note}


def test_a_capture_is_added_with_one_entry(tmp_path):
    def peak_cpu(c):
        cpu = [s["cpu_pct"] for s in c.inputs["stats"] if s.get("cpu_pct") is not None]
        if not cpu:
            return {"max_pct": None, "note": NOT_MEASURED + "no container stats samples in the window"}
        return {"max_pct": max(cpu)}

    entry = CaptureEntry("peak_cpu", "peak CPU of any container", ("stats",), peak_cpu)
    metrics = capture(tmp_path, captures=CAPTURES + (entry,)).run()
    with open(os.path.join(str(tmp_path / "metrics"), METRICS_FILE), encoding="utf-8") as fh:
        assert json.load(fh)["peak_cpu"] == metrics["peak_cpu"] == {
            "max_pct": None, "note": NOT_MEASURED + "no container stats samples in the window"}
    assert metrics["notes"]["peak_cpu"] == NOT_MEASURED + "no container stats samples in the window"
    assert set(metrics) == documented_keys() | {"peak_cpu"}


def test_a_capture_that_cannot_measure_is_null_with_its_note_never_zero(tmp_path):
    metrics = capture(tmp_path, write=False, edge_service="", redis={}).run()
    for key in ("db_pool", "traceability", "edge_errors", "redis", "containers"):
        assert metrics["notes"][key].startswith(NOT_MEASURED), key
    assert metrics["traceability"]["pct"] is None and metrics["edge_errors"]["5xx"] is None
    assert metrics["redis"]["note"] == metrics["notes"]["redis"]


def test_a_capture_that_raises_fails_the_whole_capture_with_its_sentence(tmp_path):
    # As before the registry: an error is the module's one-sentence failure, not a "not measured" note
    # (those are for what could not be measured), and no metrics.json is written.
    def broken(c):
        raise OpsError("the broken capture failed: no such thing.")

    entries = CAPTURES + (CaptureEntry("broken", "broken", ("stats",), broken),)
    with pytest.raises(OpsError, match=r"^the broken capture failed: no such thing\.$"):
        capture(tmp_path, captures=entries).run()
    assert not os.path.exists(os.path.join(str(tmp_path / "metrics"), METRICS_FILE))


def test_a_failing_service_fails_before_any_raw_file_is_written(tmp_path):
    class DownDb(Recorder):
        def connect(self):
            raise OpsError("cannot connect to database exam_platform on 127.0.0.1:5432 as exam_user: refused.")

    with pytest.raises(OpsError, match="^cannot connect to database"):
        capture(tmp_path, recorder=DownDb()).run()
    assert os.listdir(str(tmp_path / "metrics")) == []
