"""Unit tests of one scenario over several load generators (_load/generators.py): k6 execution
segments, the common start, a generator's health, and the exact merge of the generators' results
on real outputs of two generators that ran one scenario against the lab together
(tests/unit/fixtures/k6_generators/, copied from a rehearsal's evidence, see its README)."""
from __future__ import annotations

import datetime
import gzip
import json
import os
import shutil

import pytest

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._evidence import acks as _acks
from ansible_collections.examday.ops.plugins.module_utils._evidence import names
from ansible_collections.examday.ops.plugins.module_utils._k6_samples import percentile
from ansible_collections.examday.ops.plugins.module_utils._load import generators as gen
from ansible_collections.examday.ops.plugins.module_utils._report import evidence as report_evidence

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "k6_generators")
SCENARIO = "submit"
GENS = ("gen1", "gen2")
NOW = datetime.datetime(2026, 12, 1, 9, 0, 0, tzinfo=datetime.timezone.utc)


def _durations(path: str) -> list[float]:
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            if obj.get("type") == "Point" and obj.get("metric") == "http_req_duration":
                out.append(float(obj["data"]["value"]))
    return out


def _results() -> dict:
    out = {}
    for g in GENS:
        with open(os.path.join(FIX, g, names.LOAD_RESULT), encoding="utf-8") as fh:
            out[g] = json.load(fh)
    return out


def _raws(expected=GENS) -> dict:
    return {g: os.path.join(FIX, g, names.LOAD_RAW) for g in expected if os.path.exists(os.path.join(FIX, g, names.LOAD_RAW))}


def _merge(results=None, expected=GENS, raws=None, spread_limit_s=5.0) -> dict:
    expected = list(expected)
    acks = [os.path.join(FIX, g, names.LOAD_ACKS) for g in expected]
    return gen.merge(SCENARIO, _results() if results is None else results, expected,
                     _raws(expected) if raws is None else raws, acks, spread_limit_s)


# ------------------------------------------------------------------ segments and start
def test_segments_split_a_scenario_into_equal_parts_of_one_sequence():
    assert gen.segments(1) == ("0,1", ["0:1"])
    assert gen.segments(2) == ("0,1/2,1", ["0:1/2", "1/2:1"])
    assert gen.segments(3) == ("0,1/3,2/3,1", ["0:1/3", "1/3:2/3", "2/3:1"])
    assert gen.segments(4)[0] == "0,1/4,1/2,3/4,1"
    assert gen.segment_argv(0, 1) == []  # one generator runs the whole scenario, as before
    assert gen.segment_argv(1, 3) == ["--execution-segment", "1/3:2/3", "--execution-segment-sequence",
                                      "0,1/3,2/3,1"]


@pytest.mark.parametrize("count", [0, 65, True, "2"])
def test_a_bad_number_of_generators_is_refused(count):
    with pytest.raises(OpsError, match="number of load generators must be 1 to 64"):
        gen.segments(count)


def test_a_bad_index_or_name_is_refused():
    with pytest.raises(OpsError, match="generator index must be 0 to 1"):
        gen.segment_argv(2, 2)
    with pytest.raises(OpsError, match="letters, digits"):
        gen.generator_name("../etc")
    assert gen.generator_name("loadgen-1.example") == "loadgen-1.example"


def test_the_common_start_is_waited_for_within_ten_minutes():
    assert gen.start_delay(None, NOW) == 0.0
    assert gen.start_delay("2026-12-01T09:00:07Z", NOW) == pytest.approx(7.0)
    assert gen.start_delay("2026-12-01T08:59:00Z", NOW) == 0.0  # already passed: start now
    with pytest.raises(OpsError, match="is 3600s away; at most 600s"):
        gen.start_delay("2026-12-01T10:00:00Z", NOW)
    with pytest.raises(OpsError, match="not an ISO 8601 time"):
        gen.start_delay("tomorrow", NOW)


# ------------------------------------------------------------------ health
def test_health_is_cpu_over_the_run_as_a_share_of_the_cores():
    h = gen.health({"dropped_iterations": 0}, cpu_s=30.0, elapsed_s=60.0, cores=2, stderr="", cpu_limit_pct=85)
    assert h["cpu_pct"] == 25.0 and not h["saturated"] and h["why"] == ""
    # k6 --quiet --log-format raw prints only its warnings and errors, as they are (seen with k6 1.1.0)
    hot = gen.health({"dropped_iterations": 12}, cpu_s=110.0, elapsed_s=60.0, cores=2,
                     stderr="Insufficient VUs, reached 40 active VUs and cannot initialize more\n\n",
                     cpu_limit_pct=85, late_s=-0.01)
    assert hot["saturated"] and hot["cpu_pct"] == 91.7 and hot["dropped_iterations"] == 12
    assert hot["why"] == "k6 used 91.7 % of its 2 core(s) (limit 85 %)" and hot["late_s"] == 0.0
    assert hot["warnings"] == ["Insufficient VUs, reached 40 active VUs and cannot initialize more"]
    unknown = gen.health({}, cpu_s=None, elapsed_s=60.0, cores=2, stderr="", cpu_limit_pct=85)
    assert unknown["cpu_pct"] is None and not unknown["saturated"]


# ------------------------------------------------------------------ merge, on two real generators
def test_the_fixture_is_two_generators_of_one_run_with_disjoint_students():
    results = _results()
    assert [results[g]["generator"]["segment"] for g in GENS] == ["0:1/2", "1/2:1"]
    students = {}
    for g in GENS:
        with open(os.path.join(FIX, g, names.LOAD_ACKS), encoding="utf-8") as fh:
            students[g] = {r["user"] for r in _acks.iter_records(fh) if r.get("kind") == "session"}
    assert students["gen1"] and students["gen2"]
    assert not students["gen1"] & students["gen2"], "k6 gave both generators the same VU id"


def test_merged_counts_are_the_sums_and_percentiles_are_over_the_union_of_samples():
    results = _results()
    merged = _merge()
    for key in ("http_reqs", "iterations", "dropped_iterations", "vus_max"):
        assert merged[key] == sum(results[g][key] for g in GENS), key
    assert merged["checks"] == {k: sum(results[g]["checks"][k] for g in GENS) for k in ("passes", "fails")}
    for kind in ("session", "answer", "submit"):
        assert merged["acks"].get(kind, 0) == sum(results[g]["acks"].get(kind, 0) for g in GENS), kind
    union = sorted(_durations(os.path.join(FIX, GENS[0], names.LOAD_RAW))
                   + _durations(os.path.join(FIX, GENS[1], names.LOAD_RAW)))
    assert merged["raw_requests"] == len(union) == merged["http_reqs"]
    for key, p in (("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99)):
        assert merged[key] == pytest.approx(percentile(union, p), rel=1e-12), key
    mean_of_p95 = (results["gen1"]["p95_ms"] + results["gen2"]["p95_ms"]) / 2
    assert merged["p95_ms"] != pytest.approx(mean_of_p95, rel=1e-9)  # never an average of percentiles
    assert merged["started_at"] == min(results[g]["started_at"] for g in GENS)
    assert merged["finished_at"] == max(results[g]["finished_at"] for g in GENS)
    assert 0 <= merged["start_spread_s"] < 5
    assert set(merged["generators"]) == set(GENS) and merged["saturated"] == []
    pairs = sum(results[g]["double_submits"]["pairs"] for g in GENS)
    assert merged["double_submits"]["pairs"] == pairs > 0
    assert merged["files"]["gen2"]["raw"] == f"load/{SCENARIO}/gen2/{names.LOAD_RAW}"


def test_a_generator_without_a_result_fails_the_merge_by_name():
    results = _results()
    del results["gen2"]
    with pytest.raises(OpsError, match="no result from load generator\\(s\\) gen2"):
        _merge(results)
    with pytest.raises(OpsError, match="gen3"):
        gen.merge(SCENARIO, _results(), [*GENS, "gen3"], _raws(), [], 5.0)


def test_a_generator_without_all_its_raw_samples_fails_the_merge_by_name(tmp_path):
    with pytest.raises(OpsError, match="no raw samples from load generator\\(s\\) gen2"):
        _merge(raws={"gen1": os.path.join(FIX, "gen1", names.LOAD_RAW)})
    cut = tmp_path / "raw.json"  # gen2's samples cut in half, as a disk that filled up would leave them
    with gzip.open(os.path.join(FIX, "gen2", names.LOAD_RAW), "rb") as fh:
        lines = fh.read().split(b"\n")
    cut.write_bytes(b"\n".join(lines[: len(lines) // 2]))
    with pytest.raises(OpsError, match=r"do not hold every request: gen2 \(\d+ of 220 requests\)"):
        _merge(raws={**_raws(), "gen2": str(cut)})


def test_generators_that_started_apart_are_a_problem_of_the_run():
    results = _results()
    results["gen2"] = {**results["gen2"], "started_at": "2026-12-01T03:10:09.500Z"}
    merged = _merge(results, spread_limit_s=5.0)
    assert merged["start_spread_s"] == 7.5 and merged["problems"] == [
        f"the load generators started {merged['start_spread_s']:g} s apart (limit loadgen_start_spread_s 5 s; gen2 "
        "last): the scenario ran with less concurrency than planned"]
    assert _merge()["problems"] == []


def test_a_saturated_generator_is_named():
    results = _results()
    health = {**results["gen2"]["generator"], "saturated": True, "why": "k6 used 97 % of its 2 core(s) (limit 85 %)"}
    results["gen2"] = {**results["gen2"], "generator": health}
    merged = _merge(results)
    assert merged["saturated"] == ["gen2"] and "97 %" in merged["generators"]["gen2"]["why"]


def test_the_report_reads_every_generators_samples_and_acks(tmp_path):
    sdir = tmp_path / names.LOAD_DIR / SCENARIO
    for g in GENS:
        shutil.copytree(os.path.join(FIX, g), sdir / g)
    assert gen.raw_files(str(sdir)) == [str(sdir / g / names.LOAD_RAW) for g in GENS]
    with open(sdir / names.LOAD_RESULT, "w", encoding="utf-8") as fh:
        json.dump(_merge(), fh)
    ev = report_evidence.load_evidence(str(tmp_path))
    entry = ev["load"][SCENARIO]
    assert entry["raw"] == [str(sdir / g / names.LOAD_RAW) for g in GENS]
    assert entry["acks"] == [str(sdir / g / names.LOAD_ACKS) for g in GENS]
    assert f"gen1/{names.LOAD_RAW}" in entry["files"] and names.LOAD_RESULT in entry["files"]


# ------------------------------------------------------------------ a run as one generator
def test_a_run_as_one_generator_runs_its_segment_at_the_common_start_without_touching_the_cohort(tmp_path):
    from ansible_collections.examday.ops.plugins.module_utils._load.manager import LoadManager
    from tests.unit.test_load import FakeK6, exam_params, manager

    k6 = FakeK6("answers")
    slept, cpu = [], iter([5.0, 17.5])
    clock = iter([NOW, NOW, NOW + datetime.timedelta(seconds=3), NOW + datetime.timedelta(seconds=33)])
    mgr, commands = manager(tmp_path, {**exam_params(), "generator": "gen2", "generator_index": 1,
                                       "generator_count": 2, "start_at": "2026-12-01T09:00:03Z"}, k6)
    mgr.sleep, mgr.cpu, mgr.clock, mgr.peak_rss = slept.append, lambda: next(cpu), lambda: next(clock), lambda: 181.44
    assert isinstance(mgr, LoadManager)
    res = mgr.run()
    argv = k6.calls[0]["argv"]
    assert argv[argv.index("--execution-segment") + 1] == "1/2:1"
    assert argv[argv.index("--execution-segment-sequence") + 1] == "0,1/2,1"
    assert slept == [pytest.approx(3.0)]
    out = tmp_path / "ev" / "load" / "answers" / "gen2"
    assert (out / "result.json").exists() and (out / "acks.jsonl").exists()
    assert res["files"]["raw"] == "load/answers/gen2/raw.json.gz"
    assert not [c for c in commands if "cohort" in c["argv"] or "cohort-retire" in c["argv"]]  # the play's job
    h = res["generator"]
    assert h["name"] == "gen2" and h["segment"] == "1/2:1" and h["cpu_s"] == 12.5 and h["cores"] >= 1
    assert h["cpu_limit_pct"] == 85.0 and h["warnings"] == [] and h["dropped_iterations"] == 0
    assert h["k6_peak_rss_mib"] == 181.4 and h["late_s"] == 0.0


def test_a_generator_with_a_start_too_far_away_is_refused_before_anything(tmp_path):
    from tests.unit.test_load import FakeK6, exam_params, manager

    k6 = FakeK6("answers")
    mgr, commands = manager(tmp_path, {**exam_params(), "generator": "gen1", "generator_count": 2,
                                       "start_at": "2099-01-01T00:00:00Z"}, k6)
    with pytest.raises(OpsError, match="at most 600s is allowed"):
        mgr.run()
    assert not k6.calls and not commands and not (tmp_path / "ev").exists()


def test_the_report_shows_each_generator_and_names_a_saturated_one(tmp_path):
    from ansible_collections.examday.ops.plugins.module_utils._report.runner import make_report

    sdir = tmp_path / names.LOAD_DIR / SCENARIO
    for g in GENS:
        shutil.copytree(os.path.join(FIX, g), sdir / g)
    merged = _merge()
    merged["generators"]["gen2"].update(saturated=True, why="k6 used 97 % of its 2 core(s) (limit 85 %)")
    with open(sdir / names.LOAD_RESULT, "w", encoding="utf-8") as fh:
        json.dump(merged, fh)
    made = make_report(str(tmp_path), {}, {"title": "generators"})
    md = made["contents"]["report.md"]
    assert "- Load generators (2, started within" in md
    assert "`gen1` segment 0:1/2:" in md and "`gen2` segment 1/2:1:" in md and "**saturated**" in md
    risks = [r["risk"] for r in made["report"]["risks"]]
    assert any(r.startswith("load generator gen2 was saturated in scenario submit") for r in risks), risks
    scen = next(s for s in made["report"]["load"]["scenarios"] if s["name"] == SCENARIO)
    assert scen["source"] == "raw" and scen["requests"] == merged["http_reqs"]  # every generator's samples


def test_an_evidence_folder_that_cannot_be_written_is_one_sentence_in_the_dry_run(tmp_path):
    from tests.unit.test_load import FakeK6, exam_params, manager

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    k6 = FakeK6("answers")
    mgr, _commands = manager(tmp_path, {**exam_params(), "generator": "gen1"}, k6, check_mode=True)
    mgr.p["evidence_dir"] = str(blocker / "reports")
    with pytest.raises(OpsError, match=r"cannot be written on this host \(.*not-a-folder is not a writable folder\)"):
        mgr.run()
    assert not k6.calls


def test_a_scenario_a_generator_failed_is_not_measured_from_the_others_part(tmp_path):
    """No merged result.json (the merge was skipped because gen2 failed): the report does not show gen1's
    half of the load as the scenario, it says the scenario was not measured and why."""
    from ansible_collections.examday.ops.plugins.module_utils._report.runner import make_report

    sdir = tmp_path / names.LOAD_DIR / SCENARIO
    shutil.copytree(os.path.join(FIX, "gen1"), sdir / "gen1")
    ev = report_evidence.load_evidence(str(tmp_path))
    assert ev["load"][SCENARIO]["raw"] == [] and "not merged over its load generators (gen1)" in ev["load"][SCENARIO]["problem"]
    made = make_report(str(tmp_path), {}, {"title": "a failed generator"})
    scen = next(s for s in made["report"]["load"]["scenarios"] if s["name"] == SCENARIO)
    assert scen["source"] is None and scen["requests"] is None and "not merged" in scen["problem"]
    latency = next(g for g in made["report"]["gates"] if g["id"] == "latency_p95")
    assert latency["passed"] is not True and "not merged over its load generators" in latency["detail"], latency


def test_the_cores_of_a_generator_follow_a_container_cpu_quota(tmp_path):
    from ansible_collections.examday.ops.plugins.module_utils._load.manager import cores

    mine = len(os.sched_getaffinity(0))
    quota = tmp_path / "cpu.max"
    quota.write_text("max 100000\n")
    assert cores(str(quota)) == mine
    quota.write_text("50000 100000\n")  # --cpus 0.5: one core at most
    assert cores(str(quota)) == 1
    assert cores(str(tmp_path / "absent")) == mine
