# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of merging load generators' raw samples: what `load action=merge` and the report do
with one scenario run by several generators.

Writes 4 synthetic k6 `--out json` files (gzip, the line format of real k6 1.x output, as
report_bench.py writes it: 5 points per request, two fault windows) holding 10,000,000 samples in
all, as 4 generators of one 30-minute scenario would. Then, each in a fresh child process so that
peak memory is its own, it measures wall time, CPU time and peak resident memory of:

1. merged: one K6Samples fed with the 4 files (summary with the fault windows, per-second rows);
2. single file: the same samples in one file (the 4 gzip members concatenated), the one-generator path;
3. the floor: `zcat` of the 4 files to /dev/null (decompression alone, no parsing).

It prints samples per second per core (samples / CPU seconds) for each, and checks that the merged
p95 outside the windows equals the exact p95 over the union of the generated values and the
single file's p95. Targets (issue 11): at least 1 M samples/s per core, at most 200 MB peak.

    .venv/bin/python benchmarks/loadgen_bench.py                       # 4 x 2,500,000 samples
    .venv/bin/python benchmarks/loadgen_bench.py --samples 1000000 --generators 2

Not part of the test suite; nothing here asserts a timing."""
from __future__ import annotations

import argparse
import os
from array import array
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import report_bench as rb  # noqa: E402  pylint: disable=wrong-import-position

k6 = rb.k6


def generate_one(path: str, samples: int, seed: int) -> None:
    """One generator's file, and next to it its durations outside the windows as written (doubles),
    for the exact p95 over the union. Nothing big goes back to the parent, whose memory every
    measured child would otherwise inherit as its peak (ru_maxrss survives exec)."""
    truth = rb.generate(path, samples, seed=seed, keep_outside=True)
    with open(path + ".outside", "wb") as fh:
        array("d", truth["outside"]).tofile(fh)


def exact_job(paths: list[str]) -> float:
    values = array("d")
    for path in paths:
        with open(path + ".outside", "rb") as fh:
            values.frombytes(fh.read())
    return k6.percentile(sorted(values), 0.95)


def merge_job(paths: list[str]) -> dict:
    samples = k6.K6Samples(rb.WINDOWS)
    for path in paths:
        samples.feed_file(path, "scenario")
    summary = samples.summary("scenario")
    return {"points": samples.points, "lines": samples.lines, "p95_outside": summary["outside"]["p95_ms"],
            "requests": summary["requests"], "seconds": len(samples.per_second("scenario"))}


def zcat_job(paths: list[str]) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.devnull, "wb") as null:
        subprocess.run(["zcat", *paths], stdout=null, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"zcat_cpu_s": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
            "zcat_peak_rss_mib": after.ru_maxrss / 1024}


def line(name: str, run: dict, samples: int, cpu_s: float | None = None, rss: float | None = None) -> str:
    cpu = run["cpu_s"] if cpu_s is None else cpu_s
    peak = run["peak_rss_mib"] if rss is None else rss
    return (f"{name:<12} {run['wall_s']:7.1f} s wall {cpu:7.1f} s CPU {peak:6.0f} MiB peak "
            f"{samples / cpu / 1e6:6.2f} M samples/s per core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000_000, help="k6 samples (lines) in all")
    parser.add_argument("--generators", type=int, default=4, help="generator files they are split into")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="examday_loadgen_bench_")
    try:
        paths = []
        t0 = time.monotonic()
        for i in range(args.generators):
            path = os.path.join(work, f"gen{i + 1}.json.gz")
            rb.in_child(generate_one, path, args.samples // args.generators, 11 + i)
            paths.append(path)
        single = os.path.join(work, "single.json.gz")
        with open(single, "wb") as out:
            for path in paths:
                with open(path, "rb") as fh:
                    shutil.copyfileobj(fh, out)
        size = sum(os.path.getsize(p) for p in paths) / 1048576
        exact = rb.in_child(exact_job, paths)["result"]
        total = (args.samples // args.generators) * args.generators
        print(f"generated {total:,} samples in {args.generators} generator files ({size:.0f} MiB gzip) "
              f"in {time.monotonic() - t0:.0f} s")
        merged = rb.in_child(merge_job, paths)
        one = rb.in_child(merge_job, [single])
        floor = rb.in_child(zcat_job, paths)
        idle = rb.in_child(rb.idle_job)
        print(line("merged", merged, total))
        print(line("single file", one, total))
        print(line("zcat (floor)", floor, total, floor["result"]["zcat_cpu_s"], floor["result"]["zcat_peak_rss_mib"]))
        print(f"baseline: a child doing nothing peaks at {idle['peak_rss_mib']:.0f} MiB")
        got = merged["result"]
        print(f"merged p95 outside the windows {got['p95_outside']:.6f} ms, exact over the union {exact:.6f} ms, "
              f"single file {one['result']['p95_outside']:.6f} ms; {got['requests']:,} requests, "
              f"{got['points']:,} points used of {got['lines']:,} lines, {got['seconds']} seconds")
        if got["p95_outside"] != exact or one["result"]["p95_outside"] != exact:
            print("MISMATCH: the merged p95 is not the exact p95 over the union")
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
