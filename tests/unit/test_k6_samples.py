"""The k6 raw-sample parser against real k6 output (tests/unit/fixtures/k6/, made by capture.py there)."""
from __future__ import annotations

import gzip
import json
import math
import os
import random

import pytest

from ansible_collections.examday.ops.plugins.module_utils import _k6_samples as k6

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "k6")
RAW = os.path.join(FIXTURES, "raw.json.gz")


def load_json(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as fh:
        return json.load(fh)


def fixture_windows():
    fault = load_json("faults.json")[0]
    return [(k6.parse_iso(fault["injected_at"]), k6.parse_iso(fault["restored_at"]), fault["name"])]


def naive_points(metric, tag=None):
    """Independent reading of the same file: every Point of `metric` as (epoch, value, tags)."""
    out = []
    with gzip.open(RAW, "rt", encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            if obj["type"] == "Point" and obj["metric"] == metric:
                tags = obj["data"]["tags"]
                if tag is None or all(tags.get(k) == v for k, v in tag.items()):
                    out.append((k6.parse_iso(obj["data"]["time"]), obj["data"]["value"], tags))
    return out


def naive_percentile(values, p):
    values = sorted(values)
    i = p * (len(values) - 1)
    lo = int(i)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (i - lo)


def test_overall_numbers_equal_k6s_own_summary():
    summary = load_json("summary.json")["metrics"]
    samples = k6.K6Samples()
    samples.feed_file(RAW)
    got = samples.summary()
    duration = summary["http_req_duration"]
    assert got["p50_ms"] == pytest.approx(duration["p(50)"], rel=1e-12)
    assert got["p95_ms"] == pytest.approx(duration["p(95)"], rel=1e-12)
    assert got["p99_ms"] == pytest.approx(duration["p(99)"], rel=1e-12)
    assert got["max_ms"] == pytest.approx(duration["max"], rel=1e-12)
    assert got["requests"] == summary["http_reqs"]["count"] == got["durations"]
    assert got["errors"] == summary["http_req_failed"]["passes"]  # k6 counts failed requests as "passes" of the rate
    assert got["error_rate_pct"] == pytest.approx(100 * summary["http_req_failed"]["value"])
    assert samples.skipped_lines == 0


def test_gzip_and_plain_files_give_the_same_result(tmp_path):
    plain = tmp_path / "raw.json"
    with gzip.open(RAW, "rb") as src:
        plain.write_bytes(src.read())
    a, b = k6.K6Samples(fixture_windows()), k6.K6Samples(fixture_windows())
    a.feed_file(RAW)
    b.feed_file(str(plain))
    assert a.summary() == b.summary()
    assert a.per_second() == b.per_second()


def test_fault_window_splits_inside_and_outside_like_a_naive_count():
    windows = fixture_windows()
    start, end, _label = windows[0]
    samples = k6.K6Samples(windows)
    samples.feed_file(RAW)
    got = samples.summary()
    failed = naive_points("http_req_failed")
    durations = naive_points("http_req_duration")
    inside = [v for t, v, _tags in failed if start <= t <= end]
    outside = [v for t, v, _tags in failed if not start <= t <= end]
    assert (got["inside"]["requests"], got["inside"]["errors"]) == (len(inside), sum(inside))
    assert (got["outside"]["requests"], got["outside"]["errors"]) == (len(outside), sum(outside))
    # the capture degrades the server only inside the window: every error is inside it
    assert got["outside"]["errors"] == 0 and got["inside"]["errors"] > 0
    out_values = [v for t, v, _tags in durations if not start <= t <= end]
    assert got["outside"]["p95_ms"] == pytest.approx(naive_percentile(out_values, 0.95), rel=1e-12)
    assert got["outside"]["p95_ms"] < got["inside"]["p95_ms"]  # the fault made requests 60 ms slower
    in_values = [v for t, v, _tags in durations if start <= t <= end]
    assert got["windows"] == [{"label": "backend degraded", "start": start, "end": end, "requests": len(inside),
                               "errors": sum(inside), "error_rate_pct": 100 * sum(inside) / len(inside),
                               "durations": len(in_values), "p50_ms": naive_percentile(in_values, 0.5),
                               "p95_ms": naive_percentile(in_values, 0.95), "p99_ms": naive_percentile(in_values, 0.99)}]


def test_tag_filter_keeps_one_scenario():
    totals = k6.K6Samples()
    totals.feed_file(RAW)
    counts = 0
    for scenario in ("answers", "sessions"):
        one = k6.K6Samples(tags={"scenario": scenario})
        one.feed_file(RAW)
        got = one.summary()
        expected = naive_points("http_req_failed", {"scenario": scenario})
        values = [v for _t, v, _tags in naive_points("http_req_duration", {"scenario": scenario})]
        assert got["requests"] == len(expected) > 0
        assert got["p95_ms"] == pytest.approx(naive_percentile(values, 0.95), rel=1e-12)
        counts += got["requests"]
    assert counts == totals.summary()["requests"]


def test_per_second_buckets_match_a_naive_grouping():
    samples = k6.K6Samples()
    samples.feed_file(RAW)
    rows = samples.per_second()
    by_second = {}
    for t, v, _tags in naive_points("http_req_duration"):
        by_second.setdefault(math.floor(t), []).append(v)
    assert [r["t"] for r in rows] == sorted(by_second)
    for row in rows:
        values = by_second[row["t"]]
        assert row["durations"] == len(values)
        assert row["p95_ms"] == pytest.approx(naive_percentile(values, 0.95), rel=1e-12)
        assert row["max_ms"] == max(values)
    assert sum(r["requests"] for r in rows) == samples.summary()["requests"]
    assert sum(r["errors"] for r in rows) == samples.summary()["errors"]


def test_groups_are_kept_apart_and_merged():
    samples = k6.K6Samples()
    samples.feed_file(RAW, "first")
    samples.feed_file(RAW, "second")
    one = k6.K6Samples()
    one.feed_file(RAW)
    assert samples.groups == ["first", "second"]
    assert samples.summary("first")["p95_ms"] == one.summary()["p95_ms"]
    assert samples.summary()["requests"] == 2 * one.summary()["requests"]
    values = [v for _t, v, _tags in naive_points("http_req_duration")] * 2
    assert samples.summary()["p95_ms"] == pytest.approx(naive_percentile(values, 0.95), rel=1e-12)


def point(metric, time, value, scenario="default"):
    return json.dumps({"metric": metric, "type": "Point",
                       "data": {"time": time, "value": value, "tags": {"scenario": scenario, "status": "200"}}})


def test_exact_percentiles_with_zeros_and_many_equal_bins():
    rng = random.Random(3)
    values = [0.0] * 50 + [rng.choice([5.0, 5.001, 5.002]) for _i in range(2000)] + \
        [rng.uniform(0.01, 3000.0) for _i in range(3000)]
    lines = [point("http_req_duration", f"2026-11-21T22:00:{i % 60:02d}.{i:06d}Z", v) for i, v in enumerate(values)]
    samples = k6.K6Samples()
    samples.feed_lines(lines)
    got = samples.summary()
    for name, p in k6.PERCENTILES:
        assert got[name] == pytest.approx(naive_percentile(values, p), rel=1e-12), name
    assert got["max_ms"] == max(values)


def test_times_with_offsets_and_without_fraction_are_the_same_instant():
    parse = k6.TimeParser()
    assert parse("2026-11-21T22:11:33.475769749Z") == pytest.approx(parse("2026-11-21T23:11:33.475769749+01:00"))
    assert parse("2026-11-21T22:11:33Z") == k6.parse_iso("2026-11-21T22:11:33Z")
    assert parse("2026-11-21T17:11:33.5-05:00") == k6.parse_iso("2026-11-21T22:11:33.5Z")
    lines = [point("http_req_failed", "2026-11-21T23:00:00.2+01:00", 1),
             point("http_req_failed", "2026-11-21T22:00:00.7Z", 0)]
    samples = k6.K6Samples()
    samples.feed_lines(lines)
    assert [(r["t"], r["requests"], r["errors"]) for r in samples.per_second()] == \
        [(int(k6.parse_iso("2026-11-21T22:00:00Z")), 2, 1)]


def test_a_truncated_last_line_and_other_metrics_are_skipped():
    lines = [point("http_req_waiting", "2026-11-21T22:00:00Z", 3.0),
             point("http_req_duration", "2026-11-21T22:00:00Z", 4.0),
             point("http_req_duration", "2026-11-21T22:00:01Z", 6.0)[:-12]]
    samples = k6.K6Samples()
    samples.feed_lines(lines)
    assert (samples.points, samples.skipped_lines, samples.lines) == (1, 1, 3)
    assert samples.summary()["p50_ms"] == 4.0


def test_empty_input_gives_none_not_zero():
    samples = k6.K6Samples([(0, 1, "w")])
    samples.feed_lines([])
    got = samples.summary()
    assert got["requests"] == 0 and got["p95_ms"] is None and got["error_rate_pct"] is None
    assert got["windows"][0]["error_rate_pct"] is None and samples.per_second() == []


def test_percentile_follows_k6():
    assert k6.percentile([], 0.95) is None
    assert k6.percentile([7.0], 0.95) == 7.0
    assert k6.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert k6.percentile([0.0, 10.0], 0.95) == pytest.approx(9.5)


def test_summarize_file_for_the_benchmark():
    got = k6.summarize_file(RAW, fixture_windows())
    assert got["summary"]["requests"] == load_json("summary.json")["metrics"]["http_reqs"]["count"]
    assert got["lines"] > got["points"] > 0 and got["per_second"]


def _state(samples: k6.K6Samples) -> tuple:
    return (samples.summary(), samples.per_second(), samples.lines, samples.points, samples.skipped_lines)


def test_the_block_reader_gives_what_the_line_reader_gives_on_real_output(tmp_path):
    windows = fixture_windows()
    by_block, by_line = k6.K6Samples(windows), k6.K6Samples(windows)
    by_block.feed_file(RAW)
    with gzip.open(RAW, "rb") as fh:
        by_line.feed_lines(fh.read().split(b"\n")[:-1])
    assert by_block.points > 0 and _state(by_block) == _state(by_line)


def test_a_block_with_other_layouts_is_read_line_by_line(tmp_path):
    """Definition lines, a name inside a tag, another key order, a truncated last line: the block's
    regular expression misses some of them, so that block is read line by line, to the same result."""
    with gzip.open(RAW, "rb") as fh:
        real = fh.read().split(b"\n")[:-1]
    odd = [
        b'{"type":"Metric","data":{"name":"http_req_duration","type":"trend"},"metric":"http_req_duration"}',
        b'{"metric":"checks","type":"Point","data":{"time":"2026-11-22T21:00:01.5Z","value":1,'
        b'"tags":{"name":"http_req_failed"}}}',
        b'{"type":"Point","metric":"http_req_duration","data":{"value":12.5,"time":"2026-11-22T21:00:01.25Z"}}',
        b'{"metric":"http_req_failed","type":"Point","data":{"time":"2026-11-22T21:00:02.000000001+01:00","value":1}}',
    ]
    lines = real[:200] + odd + real[200:] + [b'{"metric":"http_req_duration","type":"Point","data":{"time":"2026-11-']
    path = tmp_path / "odd.json"
    path.write_bytes(b"\n".join(lines))  # no newline at the end: the truncated line is the rest
    by_block, by_line = k6.K6Samples(), k6.K6Samples()
    by_block.feed_file(str(path))
    by_line.feed_lines(lines)
    assert _state(by_block) == _state(by_line)
    assert by_block.skipped_lines == 1 and by_block.lines == len(lines)
    small = k6.K6Samples()  # the same through many small blocks, split anywhere
    with open(path, "rb") as fh:
        small._consume(small._points_from_blocks(fh, size=97), "")  # pylint: disable=protected-access
    assert _state(small) == _state(by_line)
