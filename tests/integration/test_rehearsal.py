"""playbooks/rehearsal.yml end to end on the lab: the quick rehearsal of a healthy lab is GO with
every gate passed on evidence and leaves nothing behind; with the lab's defects on, the report is
NO-GO and names the failing gates. No secret appears in any artifact or in the playbook's output."""
from __future__ import annotations

import glob
import gzip
import json
import os
import re
import xml.etree.ElementTree as ET

import pytest

from tests.integration.conftest import COPIES, ROOT, VENV_BIN, flat, lab_image

REPORTS = os.path.join(ROOT, "reports")
LEDGER = os.path.join(ROOT, ".lab", "faults")


def secrets() -> dict[str, str]:
    out = {}
    for path in [p for state in [os.path.join(ROOT, ".lab")] + [c["state_dir"] for c in COPIES.values()]
                 for p in glob.glob(os.path.join(state, "secrets", "*"))]:  # the lab's, and its copies'
        with open(path, encoding="utf-8") as fh:
            out[os.path.relpath(path, ROOT)] = fh.read().strip()  # by path: every copy's own is checked
    return out


def assert_no_secret(texts: dict[str, str]) -> None:
    for name, value in secrets().items():
        assert len(value) >= 16
        leaks = [where for where, text in texts.items() if value in text]
        assert not leaks, f"secret {name} found in {leaks}"
    for where, text in texts.items():
        assert "Bearer ey" not in text and '"access_token": "ey' not in text, where


def artifacts(directory: str) -> dict[str, str]:
    texts = {}
    for path in glob.glob(os.path.join(directory, "**", "*"), recursive=True):
        if os.path.isfile(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
                texts[os.path.relpath(path, directory)] = fh.read()
    return texts


def run_rehearsal(lab, *extra: str):
    pattern = os.path.join(REPORTS, f"rehearsal-{lab.host}-[0-9]*")
    before = set(glob.glob(pattern))
    proc = lab.playbook("rehearsal.yml", *extra, check=False)
    made = sorted(set(glob.glob(pattern)) - before)
    assert len(made) == 1, f"one evidence directory expected, got {made}:\n{proc.stdout[-3000:]}"
    with open(os.path.join(made[0], "report.json"), encoding="utf-8") as fh:
        report = json.load(fh)
    return proc, made[0], report


def active_faults(ledger: str = LEDGER) -> list[str]:
    """The active entries of a fault ledger (the lab's by default: lab-b has its own, and its tests must
    never read the lab's, which the other worker's tests fill while lab-b's run)."""
    out = []
    for path in glob.glob(os.path.join(ledger, "*.json")):
        with open(path, encoding="utf-8") as fh:
            if json.load(fh)["status"] == "active":
                out.append(path)
    return out


def assert_split_over_generators(directory: str, gens: list[str]) -> None:
    """Every scenario ran on each generator (its own segment, raw samples, acks), the merged result's
    counts are the generators' sums and its p95 is over the union of their samples; no student was
    logged in by two generators."""
    users: dict = {}
    for scenario in ("sessions", "answers", "submit"):
        sdir = os.path.join(directory, "load", scenario)
        with open(os.path.join(sdir, "result.json"), encoding="utf-8") as fh:
            merged = json.load(fh)
        parts = {}
        for gen in gens:
            with open(os.path.join(sdir, gen, "result.json"), encoding="utf-8") as fh:
                parts[gen] = json.load(fh)
            assert os.path.getsize(os.path.join(sdir, gen, "raw.json.gz")) > 0
            with open(os.path.join(sdir, gen, "acks.jsonl"), encoding="utf-8") as fh:
                users.setdefault(gen, set()).update(
                    r["user"] for r in map(json.loads, fh) if r.get("kind") == "session")
        assert sorted(merged["generators"]) == gens and merged["saturated"] == [], merged["generators"]
        assert [parts[g]["generator"]["segment"] for g in gens] == ["0:1/2", "1/2:1"]
        assert merged["http_reqs"] == sum(p["http_reqs"] for p in parts.values()) == merged["raw_requests"] > 0
        assert merged["iterations"] == sum(p["iterations"] for p in parts.values())
        assert all(p["http_reqs"] > 0 for p in parts.values()), scenario  # both really sent load
        assert merged["start_spread_s"] is not None and merged["start_spread_s"] < 5, merged["start_spread_s"]
    assert users[gens[0]] and users[gens[1]] and not users[gens[0]] & users[gens[1]]


def assert_followed(stdout: str, directory: str, scenario: str, label: str, gens: list[str]) -> None:
    """While it ran, the load was followed: a line per round (the generators' own, then the merged
    one), the last saying it ended and counting exactly the requests of the merged raw samples; the
    wait after it found every generator ended (no retry lines); no terminal control codes."""
    with open(os.path.join(directory, "load", scenario, "result.json"), encoding="utf-8") as fh:
        merged = json.load(fh)
    lines = re.findall(r"=> \(item=(" + re.escape(label) + r": .*)\)$", stdout, flags=re.M)
    assert len(lines) >= 2 and lines[-1].startswith(f"{label}: ended after "), lines
    assert lines[-1].endswith(f" of {merged['raw_requests']:,} requests)"), (lines[-1], merged["raw_requests"])
    assert re.search(r", p95 [0-9.,]+ ms, errors [0-9.]+ % ", lines[-1]), lines[-1]
    if len(gens) > 1:  # each generator's own line, but the last one's item carries the merged line
        for gen in gens[:-1]:
            assert re.search(r"=> \(item=" + re.escape(f"{scenario} on {gen}: "), stdout), gen
    assert not re.search(r"FAILED - RETRYING: \[[^]]*\]: Wait on each load generator, " + scenario, stdout)
    assert "\x1b" not in stdout


def test_quick_rehearsal_of_a_healthy_lab_is_go(lab2, loadgen):
    """The rehearsal with k6 on two load-generator hosts of the test's own (containers reached through
    community.docker's connection plugin): GO, with each scenario split over both and merged exactly.
    The default, k6 on the controller, is lab-b's rehearsal (test_lab_b.py). On the second copy of the
    lab, in a worker of its own."""
    lab = lab2
    proc, directory, report = run_rehearsal(lab, "-i", loadgen)
    assert_split_over_generators(directory, ["gen1", "gen2"])
    for scenario in ("sessions", "submit"):
        assert_followed(proc.stdout, directory, scenario, f"{scenario} (2 load generators)", ["gen1", "gen2"])
    assert [g["name"] for g in report["load"]["scenarios"][1]["generators"]] == ["gen1", "gen2"]
    gates = {g["name"]: g for g in report["gates"]}
    assert report["verdict"] == "GO", {n: g["detail"] for n, g in gates.items() if g["passed"] is not True}
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert len(gates) == 13 and all(g["passed"] is True for g in gates.values())
    for name in ("report.md", "report.html", "report.xml", "run.json", "integrity.json", "ux.json", "faults.json",
                 "canary.jsonl", "metrics/metrics.json", "metrics/stats.jsonl", "load/answers/gen1/acks.jsonl",
                 "load/answers/result.json", "load/submit/gen2/raw.json.gz"):
        assert os.path.getsize(os.path.join(directory, name)) > 0, name

    suite = ET.parse(os.path.join(directory, "report.xml")).getroot()
    cases = suite.findall(".//testcase")
    assert len(cases) == 13 and not suite.findall(".//failure")

    with open(os.path.join(directory, "faults.json"), encoding="utf-8") as fh:
        faults = json.load(fh)
    assert [f["fault"] for f in faults] == ["stop", "restart", "loss", "db_terminate", "restart"]
    assert all(f["restored"] and f["recovered"] and f["recovery_seconds"] < 30 for f in faults)
    assert faults[-1]["details"]["order"] == ["postgres", "redis", "backend", "traefik"]
    # what students saw, per fault, measured by the canary (a fail-open Redis must not interrupt them at all)
    seen = report["faults"]
    assert all(f["canary"] is not None and f["canary"]["recovery_s"] is not None for f in seen), seen
    assert seen[0]["canary"]["outage_s"] == 0 and seen[0]["max_outage_s"] == 0
    assert seen[-1]["drill"] is True and seen[-1]["restart_s"] > 1  # the drill restarts five services in order
    assert report["canary"]["summary"]["ticks"] > 100 and report["canary"]["lies"] == []
    assert report["problems"] == [] and report["idempotency"]["pairs"] > 0 and report["idempotency"]["differ"] == 0

    with open(os.path.join(directory, "integrity.json"), encoding="utf-8") as fh:
        integrity = json.load(fh)
    acked = integrity["reconciliation"]["acknowledged"]
    assert acked["answer"] > 100 and acked["submit"] > 10 and integrity["reconciliation"]["lost"]["count"] == 0

    with open(os.path.join(directory, "report.md"), encoding="utf-8") as fh:
        markdown = fh.read()
    assert "**Status**: [x] GO  [ ] NO-GO" in markdown and "[Number]" not in markdown

    # Nothing left behind: no active fault, EXAM_MODE off again, the worker back, every service up.
    assert not active_faults(lab.ledger)
    assert lab.flag() in (None, False, "false")
    assert lab.worker_running()
    assert len(lab.containers("backend")) == 2 and lab.containers("redis") and lab.containers("postgres")
    assert_no_secret({**artifacts(directory), "ansible stdout": proc.stdout, "ansible stderr": proc.stderr})


def small(faults: list | None = None, load: dict | None = None, **extra) -> str:
    """A CI-sized rehearsal: short scenarios, the given faults (default none) at full length."""
    return json.dumps({
        "rehearsal_profile": "ci",
        "rehearsal_load_profiles": {"ci": load or {
            "sessions": {"vus": 5, "duration": "10s", "pace": 6.5},
            "answers": {"vus": 10, "think_time": 1, "duration": "30s"},  # its length when no fault is planned
            "submit": {"vus": 10, "duration": "15s", "pace": 13}}},
        "rehearsal_fault_profiles": {"ci": {"scale": 1, "gap": 5}},
        "rehearsal_faults": faults or [],
        "rehearsal_compare_with": "",
        **extra,
    })


def test_defects_stale_overwrites_and_lying_readiness_are_each_named(clean_defects2, loadgen):
    """One rehearsal of a lab with five defects, each caught by its own gate with its own evidence:
    - submits that are not idempotent, the database's duplicate-submit check switched off, so the load's
      own evidence (double submits answered differently) decides "idempotent submits";
    - answers acknowledged but lost while Redis is stopped: "zero data loss" names the lost writes;
    - no write ordering, and every 40th answer held 12 s by the backend (the client gives up after 10 s
      and answers again): the held request lands later and overwrites the acknowledged answer, named
      with both request ids;
    - readiness that says ok while the database is stopped for 10 s: "readiness tells the truth" fails
      with the times, and the students' outage and recovery are measured.
    The load comes from two load-generator hosts: reconciliation reads both generators' writes. On the
    second copy of the lab, in the second worker."""
    lab = clean_defects2
    lab.set_defects("nonidempotent_submit", "answers_lost_without_redis", "unordered_writes", "slow_answers",
                    "ready_lies")
    faults = [{"name": "Redis stopped", "fault": "stop", "target": {"role": "redis"}, "duration": 10, "allowance": 5},
              {"name": "database stopped", "fault": "stop", "target": {"role": "db"}, "duration": 10, "allowance": 20}]
    proc, directory, report = run_rehearsal(lab, "-i", loadgen, "-e", small(faults, rehearsal_integrity_checks=[
        {"name": "duplicate_submits", "enabled": False}]))
    assert proc.returncode != 0 and report["verdict"] == "NO-GO"
    assert {"zero data loss", "idempotent submits", "readiness tells the truth"} <= set(report["failed_gates"]), \
        report["failed_gates"]
    assert "NO-GO" in proc.stdout and "zero data loss" in proc.stdout
    gates = {g["id"]: g for g in report["gates"]}

    loss = gates["zero_data_loss"]
    assert loss["passed"] is False and "integrity.json" in loss["evidence"]
    with open(os.path.join(directory, "integrity.json"), encoding="utf-8") as fh:
        integrity = json.load(fh)
    recon = integrity["reconciliation"]
    assert recon["lost"]["count"] > 0 and recon["lost"]["samples"] and "lost e.g." in loss["detail"], loss
    lost_text = json.dumps(recon["lost"]["samples"])  # found in the generators' own acks files
    assert "/load/answers/gen1/acks.jsonl" in lost_text or "/load/answers/gen2/acks.jsonl" in lost_text, lost_text
    assert recon["unexpected"]["count"] == 0  # every stored session was acknowledged by one of the generators
    stale = recon["stale_overwrites"]
    assert stale["count"] > 0 and "overwritten by a stale write" in loss["detail"], recon
    first = stale["samples"][0]
    for rid in (first["stale_write"]["request_id"], first["acknowledged_write"]["request_id"]):
        assert rid and rid in loss["detail"]
    # the planted cause, not a fault's: an answer held past the client's timeout landed late
    assert any("timeout" in (s["stale_write"].get("error") or "") for s in stale["samples"]), stale["samples"]

    idem = gates["idempotent_submits"]
    assert "double submits answered differently" in idem["detail"] and idem["value"] > 0, idem
    assert report["idempotency"]["differ"] > 0
    assert "duplicate_submits" not in [c["name"] for c in integrity["checks"] if c.get("passed") is not None]

    truth = gates["readiness_truth"]
    assert truth["passed"] is False and truth["value"] > 5 and "while students failed" in truth["detail"], truth
    db = next(f for f in report["faults"] if f["name"] == "database stopped")
    assert report["canary"]["lies"] and db["canary"]["recovery_s"] is not None and db["canary"]["outage_s"] > 5, db
    with open(os.path.join(directory, "report.md"), encoding="utf-8") as fh:
        assert "readiness said ok while students failed" in fh.read()

    assert not active_faults(lab.ledger) and lab.containers("postgres") and lab.containers("redis")
    assert lab.flag() in (None, False, "false")
    assert_no_secret({**artifacts(directory), "ansible stdout": proc.stdout, "ansible stderr": proc.stderr})


def test_a_crashed_phase_the_inventory_p95_and_an_empty_fault_schedule_are_each_named(lab3):
    """A healthy lab, a short load and no fault at all: a custom integrity check with a typo crashes the
    integrity phase, which is named with its error while the gates that lost their evidence say so; the
    inventory's p95 of 1 ms fails both k6's threshold and the latency gate (one threshold source); the
    fault gates pass and say that no fault was planned. On the third copy of the lab."""
    lab = lab3
    tiny = {"sessions": {"vus": 3, "duration": "5s", "pace": 6.5},
            "answers": {"vus": 5, "think_time": 1, "duration": "10s"},
            "submit": {"vus": 5, "duration": "5s", "pace": 13}}
    proc, directory, report = run_rehearsal(lab, "-e", small(
        None, tiny, examday_thresholds={"p95_ms": 1},
        rehearsal_integrity_checks=[{"name": "typo", "sql": "SELECT id FROM no_such_table"}]))
    assert proc.returncode != 0 and report["verdict"] == "NO-GO"
    gates = {g["id"]: g for g in report["gates"]}
    crashed = gates["run_complete"]
    assert crashed["passed"] is False and "integrity:" in crashed["detail"] and "no_such_table" in crashed["detail"]
    assert report["problems"][0]["phase"] == "integrity"
    assert gates["zero_data_loss"]["passed"] is None  # its evidence is gone, said out loud
    latency = gates["latency_p95"]
    assert latency["passed"] is False and latency["threshold"] == 1
    with open(os.path.join(directory, "load", "answers", "result.json"), encoding="utf-8") as fh:
        k6 = json.load(fh)["thresholds"]
    assert k6 and any("p(95)<1" in name and passed is False for name, passed in k6.items()), k6
    for gid in ("recovery", "fault_error_budget"):
        assert gates[gid]["passed"] is True and "empty fault schedule" in gates[gid]["detail"], gates[gid]
    with open(os.path.join(directory, "faults.json"), encoding="utf-8") as fh:
        assert json.load(fh) == []
    with open(os.path.join(directory, "report.md"), encoding="utf-8") as fh:
        assert "**Phases that failed**" in fh.read()
    assert "NO-GO" in proc.stdout and "integrity" in proc.stdout
    assert not active_faults(lab.ledger) and lab.flag() in (None, False, "false")


@pytest.mark.parametrize("extra, words", [
    ({"examday_environment": "prod"}, "This inventory is prod"),
    ({"examday_environment": "prod", "rehearsal_prod_approved": True, "rehearsal_prod_confirmation": "yes"}, "This inventory is prod"),
    ({"rehearsal_profile": "nosuch"}, "Unknown or invalid rehearsal profile nosuch"),
    ({"rehearsal_faults": [{"name": "bad", "fault": "loss", "target": {"service": "backend"}, "params": {"loss_pct": 300}}]},
     "between 0.1 and 100"),
])
def test_guardrails_refuse_before_anything_changes(lab, extra, words):
    before = {c.name: c.attrs["State"]["StartedAt"] for s in ("redis", "backend", "worker") for c in lab.containers(s)}
    flag = lab.flag()
    proc = lab.playbook("rehearsal.yml", "-e", json.dumps(extra), check=False)
    assert proc.returncode != 0
    assert words in proc.stdout, proc.stdout[-3000:]
    assert lab.flag() == flag and not active_faults()
    after = {c.name: c.attrs["State"]["StartedAt"] for s in ("redis", "backend", "worker") for c in lab.containers(s)}
    assert after == before


def test_an_unreachable_load_generator_is_named_before_anything_changes(lab, loadgen, tmp_path):
    """A load generator that cannot be reached (a container that does not exist) is named by the
    validation, in one sentence, and nothing is frozen, injected or loaded."""
    with open(loadgen, encoding="utf-8") as fh:
        inventory = json.load(fh)
    hosts = inventory["all"]["children"]["examday_loadgen"]["hosts"]
    hosts["ghost"] = {**hosts["gen2"], "ansible_host": "examday-no-such-generator"}
    path = tmp_path / "ghost.yml"
    path.write_text(json.dumps(inventory), encoding="utf-8")
    before = {c.name: c.attrs["State"]["StartedAt"] for s in ("redis", "backend", "worker") for c in lab.containers(s)}
    made_before = set(glob.glob(os.path.join(REPORTS, "rehearsal-lab-[0-9]*")))
    flag = lab.flag()
    proc = lab.playbook("rehearsal.yml", "-i", str(path), check=False)
    assert proc.returncode != 0
    assert "Load generator(s) ghost cannot be reached; nothing was changed." in flat(proc.stdout), proc.stdout[-3000:]
    assert lab.flag() == flag and not active_faults()
    after = {c.name: c.attrs["State"]["StartedAt"] for s in ("redis", "backend", "worker") for c in lab.containers(s)}
    assert after == before
    for made in set(glob.glob(os.path.join(REPORTS, "rehearsal-lab-[0-9]*"))) - made_before:
        assert not os.path.exists(os.path.join(made, "load")), made


def test_a_load_generator_that_fails_while_loading_is_a_named_problem(lab2, loadgen, tmp_path):
    """A generator whose k6 passes the dry run (`k6 inspect`) but fails every run, as an OOM-killed or
    broken k6 would: each scenario is a problem naming that generator and k6's own message, no
    scenario gets a merged result from the other generator's part of the load alone, and the
    rehearsal still ends as it must (NO-GO, EXAM_MODE off, no fault left). On the second copy of the lab."""
    lab = lab2
    with open(loadgen, encoding="utf-8") as fh:
        inventory = json.load(fh)
    hosts = inventory["all"]["children"]["examday_loadgen"]["hosts"]
    wrapper = tmp_path / "k6"
    wrapper.write_text('#!/bin/sh\nif [ "$1" = run ]; then echo "planted: this k6 cannot run" >&2; exit 107; fi\n'
                       'exec /opt/k6 "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    broken = lab.docker.containers.run(
        lab_image(), ["600"], entrypoint="sleep", detach=True, network_mode="host", labels={"examday.test": "loadgen"},
        volumes={os.path.join(VENV_BIN, "k6"): {"bind": "/opt/k6", "mode": "ro"},
                 str(wrapper): {"bind": "/usr/local/bin/k6", "mode": "ro"}})
    try:
        hosts["gen2"] = {**hosts["gen2"], "ansible_host": broken.id}
        path = tmp_path / "broken.yml"
        path.write_text(json.dumps(inventory), encoding="utf-8")
        tiny = {"sessions": {"vus": 2, "duration": "5s", "pace": 6.5},
                "answers": {"vus": 4, "think_time": 1, "duration": "10s"},
                "submit": {"vus": 2, "duration": "5s", "pace": 13}}
        proc, directory, report = run_rehearsal(lab, "-i", str(path), "-e", small(None, tiny))
    finally:
        broken.remove(force=True)
    assert proc.returncode != 0 and report["verdict"] == "NO-GO"
    problems = {p["phase"]: p["error"] for p in report["problems"]}
    for scenario in ("sessions", "answers", "submit"):
        error = problems[f"load ({scenario})"]
        assert error.startswith("load generator gen2: k6 stopped with exit code 107") and "planted" in error, error
        assert not os.path.exists(os.path.join(directory, "load", scenario, "result.json"))
        assert os.path.exists(os.path.join(directory, "load", scenario, "gen1", "result.json"))  # gen1 did its part
    assert "run_complete" in [g["id"] for g in report["gates"] if g["passed"] is False]
    assert lab.flag() in (None, False, "false") and not active_faults(lab.ledger) and lab.worker_running()
