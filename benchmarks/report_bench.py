# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the report's k6 raw-sample parser (_k6_samples) and of the whole report.

Writes a synthetic k6 `--out json` file (gzip) in the exact line format of real k6 1.x output
(see tests/unit/fixtures/k6/raw.json.gz): per request the points http_reqs, http_req_duration,
http_req_waiting, http_req_failed and checks, with realistic tags, spread over a 30-minute run at
a constant rate, with two fault windows where latency and errors rise. Default: 3,000,000 samples
(600,000 requests). Then, each in a fresh child process so that peak memory is its own:

1. `summarize_file()` on the file (per-second buckets, percentiles outside/inside the windows);
2. the whole report (`make_report`) on an evidence directory holding that file as one scenario.

It prints the wall time, CPU time and peak resident memory (resource.getrusage ru_maxrss) of each,
next to the same figure for a child that does nothing (the floor),
and checks the parser's p95 against an exact computation over the generated values (done with the
generator's own numbers, not by re-reading the file).

    .venv/bin/python benchmarks/report_bench.py                      # 3,000,000 samples
    .venv/bin/python benchmarks/report_bench.py --samples 300000

Not part of the test suite; nothing here asserts a timing."""
from __future__ import annotations

import argparse
import datetime
import gzip
import json
import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "collections"))

from ansible_collections.examday.ops.plugins.module_utils import _k6_samples as k6  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.examday.ops.plugins.module_utils._report.runner import make_report  # noqa: E402  pylint: disable=wrong-import-position

PER_REQUEST = ("http_reqs", "http_req_duration", "http_req_waiting", "http_req_failed", "checks")
RUN_SECONDS = 1800
START = datetime.datetime(2026, 11, 21, 22, 0, 0, tzinfo=datetime.timezone.utc).timestamp()
WINDOWS = [(START + 600, START + 660, "redis stopped"), (START + 1200, START + 1215, "backend-1 restarted")]


def rfc3339(epoch: float) -> str:
    """Go's RFC 3339 with nanoseconds, as k6 writes it."""
    whole = int(epoch)
    nanos = int(round((epoch - whole) * 1e9))
    stamp = datetime.datetime.fromtimestamp(whole, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def generate(path: str, samples: int, seed: int = 11, keep_outside: bool = False) -> dict:
    """Writes the file; returns what the parser must find (exact p95 outside the windows, counts, and
    with keep_outside the durations outside the windows as written)."""
    rng = random.Random(seed)
    requests = samples // len(PER_REQUEST)
    step = RUN_SECONDS / requests
    outside = []
    errors_outside = 0
    names = ("answers", "sessions", "submit")
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as fh:
        for metric, kind in (("http_reqs", "counter"), ("http_req_duration", "trend"), ("http_req_waiting", "trend"),
                             ("http_req_failed", "rate"), ("checks", "rate")):
            fh.write(json.dumps({"type": "Metric", "data": {"name": metric, "type": kind, "contains": "default",
                                                            "thresholds": [], "submetrics": None},
                                 "metric": metric}, separators=(",", ":")) + "\n")
        for i in range(requests):
            t = START + i * step
            inside = any(a <= t <= b for a, b, _n in WINDOWS)
            duration = rng.lognormvariate(3.0, 0.6) * (6 if inside else 1)
            failed = 1 if rng.random() < (0.15 if inside else 0.002) else 0
            if not inside:
                outside.append(duration)
                errors_outside += failed
            scenario = names[i % 3]
            url = f"http://127.0.0.1:18080/v1/sessions/{i % 5000:08d}/answer"
            tags = {"expected_response": "false" if failed else "true", "group": "", "method": "POST", "name": url,
                    "proto": "HTTP/1.1", "scenario": scenario, "status": "500" if failed else "200", "url": url}
            stamp = rfc3339(t)
            for metric, value in (("http_reqs", 1), ("http_req_duration", round(duration, 6)),
                                  ("http_req_waiting", round(duration * 0.9, 6)), ("http_req_failed", failed)):
                fh.write(json.dumps({"metric": metric, "type": "Point",
                                     "data": {"time": stamp, "value": value, "tags": tags}}, separators=(",", ":")) + "\n")
            fh.write(json.dumps({"metric": "checks", "type": "Point",
                                 "data": {"time": stamp, "value": 1 - failed,
                                          "tags": {"check": "answer ok", "group": "", "scenario": scenario}}},
                                separators=(",", ":")) + "\n")
    written = sorted(round(v, 6) for v in outside)
    return {"requests": requests, "samples": requests * len(PER_REQUEST),
            "p95_outside": k6.percentile(written, 0.95), "errors_outside": errors_outside,
            **({"outside": written} if keep_outside else {})}


def _measure(job, args, queue) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic()
    result = job(*args)
    after = resource.getrusage(resource.RUSAGE_SELF)
    queue.put({"wall_s": time.monotonic() - wall, "cpu_s": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
               "peak_rss_mib": after.ru_maxrss / 1024, "result": result})


def parse_job(path: str) -> dict:
    got = k6.summarize_file(path, WINDOWS)
    return {"summary": {k: got["summary"][k] for k in ("requests", "errors", "p95_ms")},
            "outside": got["summary"]["outside"], "seconds": len(got["per_second"]), "lines": got["lines"],
            "points": got["points"]}


def report_job(evidence_dir: str) -> dict:
    made = make_report(evidence_dir, {}, {"title": "benchmark"})
    return {"verdict": made["report"]["verdict"], "bytes": {k: len(v) for k, v in made["contents"].items()}}


def idle_job() -> None:
    return None


def in_child(job, *args) -> dict:
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: its peak memory is the job's own
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(job, args, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=3_000_000, help="k6 samples (lines) to generate")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="examday_report_bench_")
    try:
        evidence = os.path.join(work, "evidence")
        os.makedirs(os.path.join(evidence, "load", "answers"))
        raw = os.path.join(evidence, "load", "answers", "raw.json.gz")
        made = in_child(generate, raw, args.samples)  # in a child too: this process stays small
        truth = made["result"]
        print(f"generated {truth['samples']:,} samples ({truth['requests']:,} requests over {RUN_SECONDS} s, "
              f"{len(WINDOWS)} fault windows): {os.path.getsize(raw) / 1048576:.1f} MiB gzip in {made['wall_s']:.1f} s")
        with open(os.path.join(evidence, "faults.json"), "w", encoding="utf-8") as fh:
            json.dump([{"name": n, "fault": "stop", "targets": [], "injected_at": rfc3339(a)[:23] + "Z",
                        "restored_at": rfc3339(b)[:23] + "Z", "restored": True, "recovery_seconds": 0.0,
                        "recovered": True} for a, b, n in WINDOWS], fh)
        parsed = in_child(parse_job, raw)
        got = parsed["result"]
        print(f"parse (summarize_file): {parsed['wall_s']:.1f} s wall, {parsed['cpu_s']:.1f} s CPU, "
              f"peak RSS {parsed['peak_rss_mib']:.0f} MiB; {got['lines']:,} lines, {got['points']:,} points used, "
              f"{got['seconds']} per-second buckets; "
              f"{got['lines'] / parsed['wall_s'] / 1e6:.2f} M lines/s")
        print(f"  p95 outside the windows {got['outside']['p95_ms']:.6f} ms (exact: {truth['p95_outside']:.6f}), "
              f"errors outside {got['outside']['errors']} (generated: {truth['errors_outside']})")
        whole = in_child(report_job, evidence)
        print(f"whole report (make_report, 4 renderings): {whole['wall_s']:.1f} s wall, {whole['cpu_s']:.1f} s CPU, "
              f"peak RSS {whole['peak_rss_mib']:.0f} MiB; verdict {whole['result']['verdict']} (most evidence absent); "
              f"sizes {whole['result']['bytes']}")
        idle = in_child(idle_job)
        print(f"baseline: a child doing nothing peaks at {idle['peak_rss_mib']:.0f} MiB (interpreter, imports and "
              "what it inherits at fork; ru_maxrss keeps the high-water mark across exec)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
