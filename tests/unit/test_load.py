"""Unit tests of examday.ops.load's logic, on outputs of real k6 runs against the lab
(tests/unit/fixtures/k6_load/, re-recorded with capture.py there)."""
from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import stat

import pytest

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._evidence import acks as _acks
from ansible_collections.examday.ops.plugins.module_utils._load import plan as _load
from ansible_collections.examday.ops.plugins.module_utils._load.cohort import CohortManager
from ansible_collections.examday.ops.plugins.module_utils._load.manager import LoadManager, iso
from ansible_collections.examday.ops.plugins.module_utils._load.scripts import SCRIPTS
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import fill
from tests.unit import profiles

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "k6_load")
ROOT = os.path.dirname(os.path.dirname(HERE))
PASSWORD = "Coh0rtPassw0rdForTests"


def fixture(name: str) -> str:
    return os.path.join(FIX, name)


def summary(name: str) -> dict:
    with open(fixture(f"{name}.summary.json"), encoding="utf-8") as fh:
        return json.load(fh)


def runs() -> dict:
    with open(fixture("runs.json"), encoding="utf-8") as fh:
        return json.load(fh)


LAB = profiles.lab()


def exam_params(**over) -> dict:
    p = {"scenario": "answers", "api_url": "http://127.0.0.1:18080", "platform": LAB,
         "cohort": {"password": PASSWORD}, "compose_project": "exam_platform"}
    p.update(over)
    return p


# ------------------------------------------------------------------------------ durations, numbers
@pytest.mark.parametrize("value,seconds", [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1m30s", 90), ("500ms", 0.5),
                                           (45, 45), ("45", 45), (2.5, 2.5)])
def test_parse_duration(value, seconds):
    assert _load.parse_duration(value, "d") == pytest.approx(seconds)


@pytest.mark.parametrize("value,phrase", [("-5s", "more than 0"), (-1, "more than 0"), ("abc", "duration such as"),
                                          (0, "more than 0"), ("", "duration such as"), (True, "duration such as"),
                                          ("5x", "duration such as"), ("5h", "more than the bound")])
def test_parse_duration_rejects(value, phrase):
    with pytest.raises(OpsError) as exc:
        _load.parse_duration(value, "profile.duration", maximum=4 * 3600 - 1)
    assert phrase in exc.value.msg and exc.value.msg.count(".") >= 1 and "\n" not in exc.value.msg


def test_zero_allowed_where_it_means_none():
    assert _load.parse_duration("0s", "ramp", allow_zero=True) == 0


def test_k6_duration_formats():
    assert _load.k6_duration(90) == "90s"
    assert _load.k6_duration(0.5) == "500ms"


@pytest.mark.parametrize("rate,expected", [(20, (20, "1s")), (2.5, (150, "60s")), (0.5, (30, "60s")),
                                           (1 / 3600, (1, "3600s"))])
def test_rate_units(rate, expected):
    assert _load.rate_units(rate) == expected


# ------------------------------------------------------------------------------ profiles, executors
def test_profile_defaults_per_scenario():
    prof = _load.resolve_profile("submit", {})
    assert prof["vus"] == 20 and prof["duration_s"] == 30 and prof["pace_s"] == 13 and prof["rate"] is None
    assert prof["max_vus"] == 20


@pytest.mark.parametrize("given,phrase", [
    ({"vus": -3}, "profile.vus must be at least 1"),
    ({"vus": 0}, "profile.vus must be at least 1"),
    ({"vus": 100000}, "at most 5000"),
    ({"rate": -1}, "profile.rate must be more than 0"),
    ({"rate": 0}, "profile.rate must be more than 0"),
    ({"duration": "-1m"}, "profile.duration must be more than 0"),
    ({"ramp_up": "-10s"}, "profile.ramp_up must be 0 or more"),
    ({"think_time": -1}, "profile.think_time must be at least 0"),
    ({"max_vus": 5}, "set profile.rate as well"),
    ({"rate": 5, "vus": 10, "max_vus": 5}, "must not be less than profile.vus"),
    ({"vus": 2.5}, "whole number"),
    ({"bogus": 1}, "unknown profile key"),
])
def test_profile_rejects_with_one_sentence(given, phrase):
    with pytest.raises(OpsError) as exc:
        _load.resolve_profile("answers", given)
    assert phrase in exc.value.msg and exc.value.msg.endswith(".")


def test_closed_model_executors():
    flat = _load.executor("smoke", "hit", _load.resolve_profile("smoke", {"vus": 3, "duration": "10s"}))
    assert flat == {"executor": "constant-vus", "vus": 3, "duration": "10s", "exec": "hit", "gracefulStop": "10s",
                    "tags": {"examday_run": "smoke"}}
    ramp = _load.executor("stress", "hit", _load.resolve_profile("stress", {}))
    assert ramp["executor"] == "ramping-vus" and ramp["startVUs"] == 0
    assert ramp["stages"] == [{"target": 100, "duration": "120s"}, {"target": 100, "duration": "300s"},
                              {"target": 0, "duration": "60s"}]


def test_open_model_executors():
    const = _load.executor("sessions", "sessions",
                           _load.resolve_profile("sessions", {"rate": 50, "vus": 100, "max_vus": 400, "ramp_up": 0}))
    assert const["executor"] == "constant-arrival-rate"
    assert (const["rate"], const["timeUnit"], const["preAllocatedVUs"], const["maxVUs"]) == (50, "1s", 100, 400)
    ramp = _load.executor("sessions", "sessions",
                          _load.resolve_profile("sessions", {"rate": 2.5, "vus": 10, "ramp_up": "1m"}))
    assert ramp["executor"] == "ramping-arrival-rate" and ramp["timeUnit"] == "60s" and ramp["startRate"] == 0
    assert ramp["stages"] == [{"target": 150, "duration": "60s"}, {"target": 150, "duration": "30s"}]


def test_expected_seconds_includes_ramps_and_graceful_stop():
    prof = _load.resolve_profile("soak", {"duration": "10m", "ramp_up": "1m", "ramp_down": "1m",
                                          "graceful_stop": "30s"})
    assert _load.expected_seconds(prof) == 60 + 600 + 60 + 30


# ------------------------------------------------------------------------------ thresholds
def test_valid_thresholds_pass_through():
    got = _load.validate_thresholds({
        "http_req_duration": ["p(95)<500", "p(99.9) < 1500", {"threshold": "max<3000", "abortOnFail": True,
                                                              "delayAbortEval": "10s"}],
        "http_req_duration{scenario:answers}": "avg<200",
        "http_req_failed": ["rate<0.01"], "checks": ["rate>0.99"], "dropped_iterations": ["count<=0"],
        "examday_double_submit_same": ["rate==1"], "http_reqs": ["count>100", "rate>5"], "vus_max": ["value<=400"],
    }, exam=True)
    assert got["http_req_duration"][2] == {"threshold": "max<3000", "abortOnFail": True, "delayAbortEval": "10s"}
    assert got["http_req_duration{scenario:answers}"] == ["avg<200"]


@pytest.mark.parametrize("thresholds,phrase", [
    ({"http_req_duration": ["p(95)<abc"]}, "must compare with a number, not 'abc'"),
    ({"http_req_duration": ["rate<0.01"]}, "which a trend metric does not have"),
    ({"http_req_failed": ["p(95)<1"]}, "which a rate metric does not have"),
    ({"http_req_failed": ["rate<1.5"]}, "fraction from 0 to 1"),
    ({"http_req_duration": ["p(101)<5"]}, "percentile above 0 and at most 100"),
    ({"http_req_duration": ["p(x)<5"]}, "percentile number"),
    ({"http_req_duration": ["avg<=-5"]}, "number of 0 or more"),
    ({"http_req_duration": ["fast"]}, "not an expression"),
    ({"nosuch": ["rate<0.01"]}, "is not a k6 or scenario metric"),
    ({"examday_double_submit_same": ["rate==1"]}, "is not a k6 or scenario metric"),  # generic: no exam metric
    ({"http_req_duration{scenario}": ["avg<1"]}, "{name:value,...}"),
    ({"http_req_duration": []}, "has no expression"),
    ({"http_req_duration": [5]}, "must be a string"),
    ({"http_req_duration": [{"abortOnFail": True}]}, "needs 'threshold'"),
    (["p(95)<500"], "must be a mapping"),
])
def test_invalid_thresholds_fail_with_one_sentence(thresholds, phrase):
    with pytest.raises(OpsError) as exc:
        _load.validate_thresholds(thresholds, exam=False)
    assert phrase in exc.value.msg
    assert exc.value.msg.endswith(".") and "\n" not in exc.value.msg


def test_k6_itself_rejects_what_we_reject_first():
    # the real k6's words for two of the options above (captured): both are caught before k6 runs
    assert runs()["inspect_bad_threshold"]["rc"] == 104
    with open(fixture("inspect_bad_threshold.stderr"), encoding="utf-8") as fh:
        assert "p(95)<abc" in _load.k6_error_line(fh.read())
    with open(fixture("inspect_bad_exec.stderr"), encoding="utf-8") as fh:
        assert _load.k6_error_line(fh.read()) == (
            "There were problems with the specified script configuration: executor x: function 'nohit' not found in exports")


# ------------------------------------------------------------------------------ targets, plan
@pytest.mark.parametrize("url,ok", [("http://127.0.0.1:18080", True), ("http://localhost/x", True),
                                    ("http://[::1]:80", True), ("http://127.8.0.1", True),
                                    ("https://api.example.com", False), ("http://10.0.0.5", False),
                                    ("http://192.0.2.10", False)])
def test_only_loopback_without_allow_remote(url, ok):
    assert _load.is_loopback(url) is ok
    if ok:
        assert _load.check_url(url, "api_url", False) == url
    else:
        with pytest.raises(OpsError, match="set allow_remote to true"):
            _load.check_url(url, "api_url", False)
        assert _load.check_url(url, "api_url", True) == url


def test_exam_plan_carries_no_secret():
    plan = _load.build_plan(exam_params(), "run1")
    assert plan["exam"] and plan["script"] == "exam.js" and plan["exec"] == "answers"
    dumped = json.dumps([plan["options"], plan["config"], plan["cohort"],
                         _load.k6_argv("/k6", "/s/exam.js", {"config": "c", "summary": "s", "raw": "r", "console": "o"}),
                         _load.config_env(plan)])
    assert PASSWORD not in dumped
    cfg = plan["config"]
    assert cfg["cohort"] == {"prefix": "load", "domain": "cohort.examday.invalid", "count": 20, "pad": 5, "first": 1}
    assert cfg["api"]["calls"]["submit"]["path"] == "sessions/{session_id}/submit" and cfg["api"]["prefix"] == "/v1"
    assert cfg["api"]["calls"]["answer"]["body"]["client_version"] == "{version}"
    assert cfg["max_vus"] == 20 and cfg["open_model"] is False and cfg["refresh_after_s"] == 600
    # k6's thresholds are derived from the one threshold source (the seeds' targets by default)
    assert plan["options"]["thresholds"] == {
        "http_req_duration": ["p(95)<500", "p(99)<1000"], "http_req_failed": ["rate<0.01"], "checks": ["rate>0.99"],
        "examday_double_submit_same": ["rate==1"], "examday_refresh_continued": ["rate==1"]}
    assert "p(99)" in plan["options"]["summaryTrendStats"]
    assert plan["target"] == "http://127.0.0.1:18080/health"
    assert plan["hard_timeout_s"] == plan["expected_s"] + 60


def test_thresholds_come_from_the_one_source_with_extra_k6_expressions():
    plan = _load.build_plan(exam_params(thresholds={"p95_ms": 350, "error_rate_pct": 2},
                                        k6_thresholds={"http_req_duration{endpoint:submit}": ["p(95)<800"]}), "r")
    th = plan["options"]["thresholds"]
    assert th["http_req_duration"] == ["p(95)<350", "p(99)<1000"] and th["http_req_failed"] == ["rate<0.02"]
    assert th["http_req_duration{endpoint:submit}"] == ["p(95)<800"]
    assert plan["limits"]["p95_ms"] == 350.0
    with pytest.raises(OpsError, match="Unknown threshold 'p95'"):
        _load.build_plan(exam_params(thresholds={"p95": 1}), "r")
    with pytest.raises(OpsError, match="must compare with a number"):
        _load.build_plan(exam_params(k6_thresholds={"http_req_duration": ["p(95)<abc"]}), "r")


def test_generic_plan_and_targets():
    plan = _load.build_plan({"scenario": "smoke", "api_url": "http://127.0.0.1:18080/", "target": "/v1/ready",
                             "expect_status": [200, 204], "headers": {"X-Token": "abc"}, "platform": LAB}, "r")
    assert plan["config"]["url"] == "http://127.0.0.1:18080/v1/ready"
    assert "checks" not in plan["options"]["thresholds"] and plan["options"]["discardResponseBodies"] is True
    assert _load.shown_config(plan["config"])["headers"] == {"X-Token": "<masked>"}
    with pytest.raises(OpsError, match="not a loopback address"):
        _load.build_plan({"scenario": "smoke", "api_url": "http://127.0.0.1:1", "target": "http://example.com/x",
                          "platform": LAB}, "r")
    with pytest.raises(OpsError, match="path starting with /"):
        _load.build_plan({"scenario": "smoke", "api_url": "http://127.0.0.1:1", "target": "health", "platform": LAB},
                         "r")


def test_a_users_own_script():
    plan = _load.build_plan(exam_params(scenario="reviews", script="/srv/k6/reviews.js", exec="mark"), "r")
    assert (plan["script"], plan["exec"], plan["exam"], plan["user_script"]) == (
        "reviews.js", "mark", True, "/srv/k6/reviews.js")
    assert plan["options"]["scenarios"]["reviews"]["exec"] == "mark"
    with pytest.raises(OpsError, match="must be a k6 JavaScript file"):
        _load.build_plan(exam_params(scenario="x", script="/srv/k6/x.py"), "r")
    with pytest.raises(OpsError, match="exec '1bad' must name the function"):
        _load.build_plan(exam_params(scenario="x", script="/srv/x.js", exec="1bad"), "r")


@pytest.mark.parametrize("over,phrase", [
    ({"scenario": "bogus"}, "scenario must be one of"),
    ({"name": "a b"}, "name 'a b' must be"),
    ({"cohort": {"password": "x", "count": 0}}, "cohort.count must be at least 1"),
    ({"cohort": {"password": "x", "first": 0}}, "cohort.first must be at least 1"),
    ({"platform": profiles.with_(LAB, **{"cohort.tag": "bad tag"})}, "examday_platform.cohort.tag"),
    ({"token_refresh_after": "20m"}, "more than the bound"),
    ({"revise_ratio": 2}, "revise_ratio must be"),
    ({"api_url": "ftp://127.0.0.1"}, "http:// or https://"),
])
def test_plan_rejects(over, phrase):
    with pytest.raises(OpsError) as exc:
        _load.build_plan(exam_params(**over), "r")
    assert phrase in exc.value.msg


def test_cohort_identity_and_addresses():
    cohort = _load.resolve_cohort({**LAB["cohort"], "prefix": "s"}, {"count": 3}, None)
    assert _load.cohort_emails(cohort) == ["s00001@cohort.examday.invalid", "s00002@cohort.examday.invalid",
                                           "s00003@cohort.examday.invalid"]
    assert _load.cohort_emails(_load.resolve_cohort(LAB["cohort"], {"count": 2, "first": 7}, None)) == [
        "load00007@cohort.examday.invalid", "load00008@cohort.examday.invalid"]
    assert _load.resolve_cohort(LAB["cohort"], {}, 40)["count"] == 40
    with pytest.raises(OpsError, match="cohort.count is needed"):
        _load.resolve_cohort(LAB["cohort"], {}, None)
    assert 0 <= _load.ip_offset("load", "cohort.examday.invalid") < 762
    assert _load.ip_offset("a", "d.invalid") != _load.ip_offset("b", "d.invalid")


# ------------------------------------------------------------------------------ summaries (real k6)
def test_result_from_real_answers_summary():
    raw = summary("answers")
    counts = {"session": {"acked": 9, "unknown": 0}, "answer": {"acked": 48, "unknown": 2},
              "submit": {"acked": 7, "unknown": 0}}
    res = _load.result_from_summary(raw, "answers", "s", "f", 9.04, counts, {"summary": "load/answers/summary.json"})
    m = raw["metrics"]
    assert res["http_reqs"] == m["http_reqs"]["count"]
    assert res["p95_ms"] == round(m["http_req_duration"]["p(95)"], 3)
    assert res["p99_ms"] == round(m["http_req_duration"]["p(99)"], 3)
    assert res["p50_ms"] == round(m["http_req_duration"]["p(50)"], 3)
    assert res["error_rate"] == 0 and res["checks"] == {"passes": m["checks"]["passes"], "fails": 0}
    assert res["thresholds"] == {"http_req_duration{p(95)<500}": True, "http_req_duration{p(99)<1000}": True,
                                 "http_req_failed{rate<0.01}": True}
    assert res["thresholds_passed"] is True and res["dropped_iterations"] == 0 and res["vus_max"] == 3
    assert res["exam"]["token_refreshes"] == m["examday_token_refreshes"]["count"] > 0
    assert res["exam"]["refresh_continued"] == {"passes": 5, "fails": 0}
    assert res["acks"] == {"session": 9, "answer": 48, "submit": 7} and res["duration_s"] == 9.0
    assert res["unknown_writes"] == {"answer": 2}
    assert set(res["checks_by_name"]) == {"login ok", "session created", "session readable", "answer saved", "submit ok"}
    # the evidence contract's keys (docs/evidence.md) are all there
    for key in ("scenario", "started_at", "finished_at", "duration_s", "http_reqs", "rps", "p50_ms", "p95_ms", "p99_ms",
                "max_ms", "error_rate", "checks", "thresholds", "thresholds_passed", "dropped_iterations", "vus_max",
                "acks", "files"):
        assert key in res


def test_failed_thresholds_are_inverted_from_the_legacy_summary():
    res = _load.result_from_summary(summary("smoke_failed"), "smoke", "s", "f", 2.0)
    # k6 --summary-export marks a FAILED threshold as true
    assert summary("smoke_failed")["metrics"]["http_req_duration"]["thresholds"] == {"p(95)<0.001": True}
    assert res["thresholds"] == {"checks{rate>0.99}": True, "http_req_duration{p(95)<0.001}": False}
    assert res["thresholds_passed"] is False and runs()["smoke_failed"]["rc"] == 99
    assert "exam" not in res


def test_submit_summary_double_submits():
    res = _load.result_from_summary(summary("submit"), "submit", "s", "f", 6.0)
    assert res["exam"]["double_submit_same"] == {"passes": 6, "fails": 0}
    assert res["checks_by_name"]["double submit answered the same"] == {"passes": 6, "fails": 0}


def test_empty_summary_gives_zeros_not_errors():
    res = _load.result_from_summary({}, "x", "s", "f", 0.0)
    assert res["http_reqs"] == 0 and res["p95_ms"] is None and res["thresholds_passed"] is True


# ------------------------------------------------------------------------------ acks
@pytest.mark.parametrize("run", ["sessions", "answers", "submit"])
def test_acks_from_real_console_match_k6s_own_counter(run):
    out = io.StringIO()
    with open(fixture(f"{run}.console.log"), encoding="utf-8") as fh:
        got = _acks.extract(fh, out)
    assert got["malformed"] == 0 and _acks.acked_counts(got["counts"]) == runs()[run]["acks"]
    acked = sum(c["acked"] for c in got["counts"].values())
    assert acked == summary(run)["metrics"]["examday_acks"]["count"]
    assert _acks.count_lines(io.StringIO(out.getvalue())) == got["counts"]
    records, ignored = _acks.parse_lines(io.StringIO(out.getvalue()), "acks.jsonl")
    assert ignored == 0 and len(records) == sum(sum(c.values()) for c in got["counts"].values())
    for rec in records:  # every record of the real run fits the contract (parse_record validates it)
        assert rec["kind"] in _acks.KINDS and rec["fields"]["session_id"] and rec["ts"] is not None
        if rec["kind"] == "answer":
            assert 0 <= rec["fields"]["selected_index"] <= 4 and rec["fields"]["question_id"]


def test_submit_acks_one_per_session_with_its_key():
    with open(fixture("submit.console.log"), encoding="utf-8") as fh:
        recs = [r for r in (_acks.from_console_line(line) for line in fh) if r and r["kind"] == "submit"]
    assert len({r["session_id"] for r in recs}) == len(recs)
    assert len({r["idempotency_key"] for r in recs}) == len(recs)


def test_acks_from_text_log_format():
    with open(fixture("sessions.console-text.log"), encoding="utf-8") as fh:
        recs = [r for r in (_acks.from_console_line(line) for line in fh) if r is not None]
    assert recs and all(r and r["kind"] == "session" and r["user"].endswith("@cohort.examday.invalid") for r in recs)


def test_marker_lines_that_are_not_records():
    lines = ["noise\n", 'EXAMDAY_ACK {"kind": "answer"\n', 'EXAMDAY_ACK {"session_id": "x"}\n',
             'EXAMDAY_ACK {"kind": "session", "session_id": "s1", "user": "u", "ts": "t"}\n',
             'EXAMDAY_ACK {"kind": "answer", "outcome": "maybe", "session_id": "s1"}\n',
             'EXAMDAY_ACK ["list"]\n']
    out = io.StringIO()
    got = _acks.extract(iter(lines), out)
    assert got == {"counts": {"session": {"acked": 1, "unknown": 0}}, "malformed": 4}
    assert json.loads(out.getvalue())["session_id"] == "s1"


def test_double_submits_that_answered_differently_count_sessions_once():
    lines = [json.dumps({"kind": "submit", "session_id": s, "ts": "2026-11-30T10:00:00Z",
                         "double": {"same": same, "statuses": [200, 200], "request_ids": ["a", "b"]}})
             for s, same in (("s1", True), ("s2", False), ("s2", False), ("s3", False))]
    got = _acks.double_submits(lines)
    assert (got["pairs"], got["differ"]) == (4, 2)
    assert [x["session_id"] for x in got["samples"]] == ["s2", "s3"]


def test_contains_secret_across_chunks():
    data = b"x" * 1000 + PASSWORD.encode() + b"y" * 10
    for chunk in (7, 64, 1000, 1005, 1 << 20):
        assert _load.contains_secret(io.BytesIO(data), PASSWORD, chunk)
    assert not _load.contains_secret(io.BytesIO(b"x" * 5000), PASSWORD, 16)


def test_real_fixtures_hold_no_password_or_token():
    for name in os.listdir(FIX):
        with open(fixture(name), "rb") as fh:
            text = fh.read()
        assert b"access_token" not in text and b"Bearer " not in text


def test_k6_error_line_prefers_errors():
    err = 'time="t" level=info msg="x"\ntime="t" level=error msg="GoError: boom \\"quoted\\""\n'
    assert _load.k6_error_line(err) == 'GoError: boom "quoted"'
    assert _load.k6_error_line("", "plain failure here") == "plain failure here"


# ------------------------------------------------------------------------------ scripts
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_embedded_scripts_match_files_k6(name):
    with open(os.path.join(ROOT, "files", "k6", name), encoding="utf-8") as fh:
        assert SCRIPTS[name] == fh.read(), "run .venv/bin/python files/k6/embed.py"


def test_scripts_never_log_the_password():
    lib, exam = SCRIPTS["examday.js"], SCRIPTS["exam.js"]
    assert "console.log(MARK + JSON.stringify(record))" in lib
    assert lib.count("console.log") == 1 and lib.count("__ENV.EXAMDAY_COHORT_PASSWORD") == 1
    assert "console.log" not in exam and "__ENV" not in exam
    # the marker the script prints is the acks format's
    assert f"'{_acks.MARKER}'" in lib


# ------------------------------------------------------------------------------ cohort
class FakeRunner:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, argv, data=None, env=None):
        self.calls.append({"argv": argv, "data": data})
        return self.answers.pop(0)


def cohort_mgr(method="command", recipe=None, runner=None, check_mode=False, password_hash=None, **kw):
    platform = profiles.with_(LAB, **{"cohort.method": method, "cohort.tag": "t1", "cohort.prefix": "p",
                                      **{f"cohort.{k}": v for k, v in (recipe or {}).items()}})
    cohort = _load.resolve_cohort(platform["cohort"], {"count": 3}, None)
    return CohortManager(cohort, platform, PASSWORD, password_hash, check_mode, runner=runner,
                         compose_project="exam_platform", **kw)


def test_command_provision_password_on_stdin_only():
    runner = FakeRunner([(0, "aaa111\nbbb222\n", ""), (0, '{"users": 3, "created": 3, "updated": 0}\n', "")])
    got = cohort_mgr(runner=runner).provision()
    assert got["changed"] is True and got["container"] == "aaa111"
    ps, exec_ = runner.calls
    assert "label=com.docker.compose.service=backend" in ps["argv"] and "status=running" in ps["argv"]
    assert exec_["argv"][:4] == ["docker", "exec", "-i", "aaa111"]
    assert exec_["argv"][4:] == ["python3", "-m", "examlab.manage", "cohort", "--count", "3", "--first", "1",
                                 "--tag", "t1", "--prefix", "p", "--domain", "cohort.examday.invalid"]
    assert exec_["data"] == PASSWORD and PASSWORD not in json.dumps(got)


def test_command_second_provision_is_not_a_change_and_falls_over_to_next_replica():
    runner = FakeRunner([(0, "aaa\nbbb\n", ""), (1, "", f"Error: container aaa is paused {PASSWORD}"),
                         (0, '{"users": 3, "created": 0, "updated": 3}', "")])
    got = cohort_mgr(runner=runner).provision()
    assert got["changed"] is False and got["container"] == "bbb"


def test_command_failure_is_one_sentence_without_password():
    runner = FakeRunner([(0, "aaa\n", ""), (1, "", f"boom {PASSWORD}\nSystemExit: no such module")])
    with pytest.raises(OpsError) as exc:
        cohort_mgr(runner=runner).retire()
    assert exc.value.msg == "the cohort retire command failed in backend: SystemExit: no such module."


def test_command_retire_and_no_container():
    runner = FakeRunner([(0, "aaa\n", ""), (0, '{"cohort": "t1", "retired": 0}', "")])
    got = cohort_mgr(runner=runner).retire()
    assert got["changed"] is False and runner.calls[1]["data"] is None
    with pytest.raises(OpsError, match="no running container of service backend"):
        cohort_mgr(runner=FakeRunner([(0, "", "")])).provision()


def test_command_check_mode_runs_nothing_in_the_container():
    runner = FakeRunner([(0, "aaa\n", "")])
    got = cohort_mgr(runner=runner, check_mode=True).provision()
    assert got["changed"] is True and len(runner.calls) == 1


def test_placeholders_are_checked():
    recipe = {"command": {"service": None, "container": None, "provision": ["x", "{password}"], "retire": None}}
    with pytest.raises(OpsError, match=r"examday_platform.cohort.command.provision uses \{password\}, which has no value"):
        cohort_mgr(recipe=recipe).validate("provision")
    assert fill({"a": ["{tag}-{index}"], "b": 3}, {"tag": "t", "index": 2}, "w") == {"a": ["t-2"], "b": 3}


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.rowcount = -1

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def execute(self, query, params=None):
        self.conn.log.append((query, params))

    def executemany(self, query, rows):
        self.conn.log.append((query, list(rows)))
        self.rowcount = self.conn.rowcount


class FakeConn:
    def __init__(self, rowcount):
        self.rowcount = rowcount
        self.log = []
        self.done = None

    def cursor(self):
        return FakeCursor(self)

    def commit(self):
        self.done = "commit"

    def rollback(self):
        self.done = "rollback"

    def close(self):
        pass


def test_sql_provision_per_student_fits_the_real_users_table():
    conn = FakeConn(3)
    got = cohort_mgr("sql", password_hash="$argon2id$x", db_connect=lambda: conn).provision()
    assert got == {"action": "provision", "changed": True, "rows": 3} and conn.done == "commit"
    query, rows = conn.log[1]
    # PLATFORM.md's users: full_name, role, is_active, email_verified, onboarding_completed; no cohort column
    assert "email_verified" in query and "onboarding_completed" in query and "cohort" not in query
    assert [r["email"] for r in rows][0] == "p00001@cohort.examday.invalid"
    assert rows[2]["index"] == 3 and rows[0]["password_hash"] == "$argon2id$x" and rows[0]["full_name"]


def test_sql_retire_once_by_email_pattern_and_check_mode_rolls_back():
    conn = FakeConn(0)
    got = cohort_mgr("sql", db_connect=lambda: conn, check_mode=True).retire()
    assert got["changed"] is False and conn.done == "rollback" and len(conn.log[1][1]) == 1
    assert conn.log[1][1][0]["email_like"] == "p%@cohort.examday.invalid"
    with pytest.raises(OpsError, match="password hash"):
        cohort_mgr("sql", db_connect=lambda: conn).validate("provision")


def test_api_method_logs_in_and_posts_per_student():
    sent = []

    def transport(method, url, headers, data, timeout):
        sent.append((method, url, headers, json.loads(data) if data else None))
        if url.endswith("/v1/auth/login"):
            return 200, {}, b'{"tokens": {"access_token": "tok"}}'
        return (409 if len(sent) == 2 else 201), {}, b"{}"

    api = dict(LAB["cohort"]["api"], provision_path="admin/users",
               provision_body={"email": "{email}", "password": "{password}", "role": "student", "cohort": "{tag}"})
    mgr = cohort_mgr("api", {"api": api}, transport=transport, api_url="http://127.0.0.1:1",
                     admin={"email": "a@x", "password": "adm"})
    got = mgr.provision()
    assert got == {"action": "provision", "changed": True, "requests": 3, "done": 2, "unchanged": 1}
    assert sent[1][1] == "http://127.0.0.1:1/v1/admin/users" and sent[1][2]["Authorization"] == "Bearer tok"
    assert sent[1][3] == {"email": "p00001@cohort.examday.invalid", "password": PASSWORD, "role": "student",
                          "cohort": "t1"}
    assert PASSWORD not in json.dumps(got)
    with pytest.raises(OpsError, match="retire_path"):
        mgr.validate("retire")


def test_none_method_does_nothing():
    assert cohort_mgr("none").provision()["changed"] is False


# ------------------------------------------------------------------------------ manager
class FakeK6:
    """Stands in for the k6 process: copies a real run's summary and console into place."""

    def __init__(self, run: str, rc: int = 0, stderr: str = "", timed_out: bool = False):
        self.run, self.rc, self.stderr, self.timed_out = run, rc, stderr, timed_out
        self.calls = []

    def __call__(self, argv, env, timeout_s, stdout_path, stderr_path, on_tick=None):
        self.calls.append({"argv": argv, "env": env, "timeout": timeout_s})
        opt = {argv[i]: argv[i + 1] for i in range(len(argv) - 1) if argv[i].startswith("--")}
        if self.rc in (0, 99, 105):
            shutil.copy(fixture(f"{self.run}.summary.json"), opt["--summary-export"])
            with gzip.open(opt["--out"].split("=", 1)[1], "wt") as fh:
                fh.write("{}\n")
            if os.path.exists(fixture(f"{self.run}.console.log")):
                shutil.copy(fixture(f"{self.run}.console.log"), opt["--console-output"])
        with open(stderr_path, "w", encoding="utf-8") as fh:
            fh.write(self.stderr)
        open(stdout_path, "w", encoding="utf-8").close()
        return self.rc, self.timed_out


def manager(tmp_path, params, process, check_mode=False, inspect_rc=0, probe_ok=True):
    commands = []

    def run_cmd(argv, data=None, env=None):
        commands.append({"argv": argv, "data": data, "env": env})
        if "inspect" in argv:
            return inspect_rc, "", 'level=error msg="executor x: function \'nohit\' not found in exports"'
        if argv[:2] == ["docker", "ps"]:
            return 0, "cid1\n", ""
        if "cohort-retire" in argv:
            return 0, '{"retired": 3}', ""
        return 0, '{"created": 3}', ""

    def probe(url, timeout):
        if not probe_ok:
            raise OSError("connection refused")
        return 200

    k6 = tmp_path / "k6"
    k6.write_text("#!/bin/sh\n")
    k6.chmod(0o755)
    mgr = LoadManager({**params, "evidence_dir": str(tmp_path / "ev")}, check_mode, str(k6), run_cmd, probe,
                      process=process, run_id="rid")
    return mgr, commands


def test_manager_runs_and_writes_the_evidence(tmp_path):
    k6 = FakeK6("answers")
    mgr, commands = manager(tmp_path, exam_params(), k6)
    res = mgr.run()
    out = tmp_path / "ev" / "load" / "answers"
    assert res["changed"] and res["acks"] == runs()["answers"]["acks"] and res["thresholds_passed"]
    assert res["files"] == {"summary": "load/answers/summary.json", "raw": "load/answers/raw.json.gz",
                            "acks": "load/answers/acks.jsonl"}
    for name in ("summary.json", "raw.json.gz", "acks.jsonl", "result.json"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    written = json.loads((out / "result.json").read_text())
    assert written["cohort"]["provisioned"]["changed"] and written["cohort"]["retired"]["changed"]
    assert written["p95_ms"] == res["p95_ms"]
    # the password went to k6 by environment only, and to the provisioning command by stdin only
    call = k6.calls[0]
    assert call["env"][_load.PASSWORD_ENV] == PASSWORD and PASSWORD not in json.dumps(call["argv"])
    assert call["timeout"] == res["hard_timeout_s"]
    assert [c["data"] for c in commands if "cohort" in c["argv"]] == [PASSWORD]
    assert PASSWORD not in json.dumps(res) and PASSWORD not in (out / "result.json").read_text()
    order = [("inspect" in c["argv"] and "inspect") or ("cohort" in c["argv"] and "provision")
             or ("cohort-retire" in c["argv"] and "retire") for c in commands]
    assert [o for o in order if o] == ["inspect", "provision", "retire"]


def test_thresholds_failing_is_a_result_not_a_failure(tmp_path):
    params = {"scenario": "smoke", "api_url": "http://127.0.0.1:18080", "platform": LAB,
              "k6_thresholds": {"http_req_duration": ["p(95)<0.001"]}}
    res = manager(tmp_path, params, FakeK6("smoke_failed", rc=99))[0].run()
    assert res["thresholds_passed"] is False and res["k6"]["exit_reason"] == "thresholds failed"
    with pytest.raises(OpsError) as exc:
        manager(tmp_path, {**params, "fail_on_thresholds": True}, FakeK6("smoke_failed", rc=99))[0].run()
    assert exc.value.msg.startswith("the smoke load failed its thresholds: ")
    assert "http_req_duration{p(95)<0.001}" in exc.value.msg
    assert exc.value.details["thresholds_passed"] is False
    assert (tmp_path / "ev" / "load" / "smoke" / "result.json").exists()


def test_k6_crash_fails_and_still_retires(tmp_path):
    k6 = FakeK6("answers", rc=107, stderr='time="t" level=error msg="TypeError: x is undefined at answers"\n')
    mgr, commands = manager(tmp_path, exam_params(), k6)
    with pytest.raises(OpsError) as exc:
        mgr.run()
    assert exc.value.msg == "k6 stopped with exit code 107 (script exception): TypeError: x is undefined at answers."
    assert any("cohort-retire" in c["argv"] for c in commands)


def test_hard_timeout_keeps_the_results_with_a_warning(tmp_path):
    mgr = manager(tmp_path, {"scenario": "smoke", "api_url": "http://127.0.0.1:1", "platform": LAB},
                  FakeK6("smoke", rc=105, timed_out=True))[0]
    res = mgr.run()
    assert res["k6"]["timed_out"] is True and any("interrupted" in w for w in res["warnings"])


def test_invalid_threshold_runs_nothing(tmp_path):
    k6 = FakeK6("smoke")
    mgr, commands = manager(tmp_path, exam_params(k6_thresholds={"http_req_duration": ["p(95)<abc"]}), k6)
    with pytest.raises(OpsError, match="must compare with a number"):
        mgr.run()
    assert not commands and not k6.calls and not (tmp_path / "ev").exists()


def test_rejected_script_and_unreachable_target_send_nothing(tmp_path):
    k6 = FakeK6("smoke")
    mgr, commands = manager(tmp_path, exam_params(), k6, inspect_rc=104)
    with pytest.raises(OpsError) as exc:
        mgr.run()
    assert exc.value.msg == ("k6 rejected the answers scenario before running it: "
                             "executor x: function 'nohit' not found in exports.")
    mgr, commands = manager(tmp_path, exam_params(), k6, probe_ok=False)
    with pytest.raises(OpsError, match=r"cannot reach http://127.0.0.1:18080/health before the load \(connection "
                                       r"refused\); nothing was sent."):
        mgr.run()
    assert not k6.calls and not (tmp_path / "ev").exists()
    assert not any("cohort" in c["argv"] for c in commands)


def test_check_mode_sends_no_load_and_writes_nothing(tmp_path):
    k6 = FakeK6("answers")
    mgr, commands = manager(tmp_path, exam_params(), k6, check_mode=True)
    res = mgr.run()
    assert res["changed"] and res["msg"].startswith("would run k6 answers") and res["command"][1] == "run"
    assert not k6.calls and not (tmp_path / "ev").exists()
    assert [c["argv"][1] for c in commands] == ["inspect"]


def test_password_needed_and_leak_guard(tmp_path):
    with pytest.raises(OpsError, match="cohort.password is needed"):
        manager(tmp_path, exam_params(cohort={"count": 3}), FakeK6("answers"))[0].run()
    leaky = tmp_path / "console"
    leaky.write_text(f"EXAMDAY_ACK x {PASSWORD}\n")
    with pytest.raises(OpsError, match="appeared in console"):
        LoadManager._refuse_leak(PASSWORD, [str(leaky)])
    assert not leaky.exists()


def test_cohort_only_actions(tmp_path):
    mgr, commands = manager(tmp_path, exam_params(action="provision", scenario="sessions", profile={"vus": 7},
                                                  cohort={"password": PASSWORD, "retire_after": False}),
                            FakeK6("x"))
    res = mgr.run()
    assert res["changed"] and res["cohort"]["count"] == 7 and "--count" in commands[1]["argv"]
    mgr, commands = manager(tmp_path, exam_params(action="retire", cohort={"count": 5}), FakeK6("x"))
    assert mgr.run()["cohort"]["retire"]["changed"] is True
    # check mode (the rehearsal's validation): the settings are checked, nothing is run
    mgr, commands = manager(tmp_path, exam_params(action="provision", cohort={"count": 5, "password": PASSWORD}),
                            FakeK6("x"), check_mode=True)
    res = mgr.run()
    assert commands == [] and "nothing was run" in res["cohort"]["provision"]["detail"]
    with pytest.raises(OpsError, match="password is needed"):
        manager(tmp_path, exam_params(action="provision", cohort={"count": 5}), FakeK6("x"), check_mode=True)[0].run()


def test_iso_timestamps():
    import datetime
    ts = datetime.datetime(2026, 11, 21, 22, 10, 3, 412999, tzinfo=datetime.timezone.utc)
    assert iso(ts) == "2026-11-21T22:10:03.412Z"


def test_a_failing_retire_does_not_hide_the_load(tmp_path):
    mgr, commands = manager(tmp_path, exam_params(), FakeK6("answers", rc=107, stderr="boom"))
    original = mgr.run_cmd

    def run_cmd(argv, data=None, env=None):
        if "cohort-retire" in argv:
            return 1, "", "retire exploded"
        return original(argv, data, env)

    mgr.run_cmd = run_cmd  # the cohort manager is built with it at run time
    with pytest.raises(OpsError, match="exit code 107"):
        mgr.run()
    assert any("retiring the cohort failed" in w for w in mgr.warnings)
    mgr2, _c = manager(tmp_path, exam_params(), FakeK6("answers"))
    mgr2.run_cmd = run_cmd
    res = mgr2.run()
    assert res["cohort"]["retired"]["error"].startswith("the cohort retire command failed")
    assert res["acks"]["answer"] == runs()["answers"]["acks"]["answer"]
