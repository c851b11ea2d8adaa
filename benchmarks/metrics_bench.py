# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of metrics_capture's log parsing (_metrics.logscan's BackendScan and EdgeScan, _metrics.scrub).

Builds a synthetic `docker logs --timestamps` text of a backend in the lab's exact line format
(tests/unit/fixtures/metrics/backend-1.log): by default 1,000,000 JSON lines, 97 % `request`
records, 2 % slow requests (warning/error level), 1 % `slow_sql`, with 3 % 4xx and 0.5 % 5xx. Then,
in a fresh child process each (so that peak memory is its own), it runs what `action: capture` does
with one backend's `docker logs` output:

1. scrub the text, then BackendScan over it (status classes, slow SQL/requests, 20 wanted ids);
2. EdgeScan over an edge access log of the same number of lines (reservoir sample of 20 ids).

It prints wall time, CPU time, lines per second, the text's size, and peak resident memory
(resource.getrusage ru_maxrss; on Linux the peak is reset after the text is built, so the figure
is the text plus what parsing adds), and checks the counts against the generator's own numbers.

    .venv/bin/python benchmarks/metrics_bench.py                # 1,000,000 lines
    .venv/bin/python benchmarks/metrics_bench.py --lines 200000

Not part of the test suite; nothing here asserts a timing."""
from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import random
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "collections"))

from ansible_collections.examday.ops.plugins.module_utils._metrics.logscan import BackendScan, EdgeScan  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.examday.ops.plugins.module_utils._metrics.scrub import scrub  # noqa: E402  pylint: disable=wrong-import-position

ROUTES = [("POST", "/v1/sessions/{sid}/answer", "answer"), ("GET", "/v1/sessions/{sid}", "session_read"),
          ("POST", "/v1/sessions/{sid}/submit", "submit"), ("POST", "/v1/auth/login", "login"),
          ("GET", "/health", "health")]
STATEMENT = "SELECT *, (expires_at IS NOT NULL AND now() > expires_at) AS expired FROM test_sessions WHERE id = %s FOR SHARE"


def backend_text(lines: int, seed: int = 7) -> tuple[str, dict, list[str]]:
    rng = random.Random(seed)
    t0 = datetime.datetime(2026, 11, 21, 22, 0, tzinfo=datetime.timezone.utc)
    out, expect, ids = [], {"requests": 0, "4xx": 0, "5xx": 0, "slow_500": 0, "slow_sql": 0}, []
    for n in range(lines):
        now = t0 + datetime.timedelta(microseconds=1800 * n)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
        ts = now.isoformat(timespec="milliseconds")
        rid = f"{rng.getrandbits(128):032x}"
        roll = rng.random()
        if roll < 0.01:
            record = {"ts": ts, "level": "warning", "event": "slow_sql", "replica": "49ad428bd6eb",
                      "duration_ms": round(100 + rng.random() * 900, 1), "statement": STATEMENT, "request_id": rid}
            expect["slow_sql"] += 1
        else:
            method, path, route = ROUTES[rng.randrange(len(ROUTES))]
            status = 200
            r = rng.random()
            if r < 0.005:
                status = 503
                expect["5xx"] += 1
            elif r < 0.035:
                status = 404
                expect["4xx"] += 1
            slow = roll < 0.03
            total_ms = round(500 + rng.random() * 2000, 2) if slow else round(rng.random() * 50, 2)
            expect["slow_500"] += slow
            record = {"ts": ts, "level": ("error" if total_ms >= 1500 else "warning") if slow else "info",
                      "event": "request", "replica": "49ad428bd6eb", "request_id": rid, "method": method,
                      "path": path.format(sid="ce57f137-8019-4a0a-ac4d-35accced1812"), "route": route,
                      "status_code": status, "total_ms": total_ms, "user_id": n % 400 + 1, "client_ip": "172.20.0.1"}
            expect["requests"] += 1
            if len(ids) < 20 and n % 50000 == 0:
                ids.append(rid)
        out.append(stamp + " " + json.dumps(record, separators=(",", ":")) + "\n")
    return "".join(out), expect, ids


def edge_text(lines: int) -> str:
    out = []
    for n in range(lines):
        record = {"ts": "2026-11-21T22:00:00+00:00", "logger": "edge", "request_id": f"{n:032x}",
                  "remote_addr": "172.20.0.1", "method": "POST", "uri": "/v1/auth/login", "status_code": 200,
                  "upstream_addr": "172.20.0.5:8000", "upstream_status": "200", "request_time_s": 0.011,
                  "upstream_response_time": "0.010"}
        out.append(f"2026-11-21T22:00:00.{n % 1000000:06d}000Z " + json.dumps(record, separators=(",", ":")) + "\n")
    return "".join(out)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak() -> bool:
    """Linux: the peak RSS restarts from the current RSS, so that the parse's peak is not hidden under
    the peak of building the synthetic text (which holds the lines and their join at once)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def clock() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), usage.ru_utime + usage.ru_stime


def run_backend(lines: int, queue) -> None:
    text, expect, ids = backend_text(lines)
    reset_peak()
    before = rss_mib()
    wall0, cpu0 = clock()
    cleaned = scrub(text)
    wall1, _cpu = clock()
    del text
    scan = BackendScan(ids)
    scan.add_text(cleaned, "backend-1")
    wall2, cpu2 = clock()
    status, slow_sql, slow = scan.http_status(), scan.slow_sql_summary(), scan.slow_requests_summary()
    ok = (status["total"] == expect["requests"] and status["4xx"] == expect["4xx"] and status["5xx"] == expect["5xx"]
          and slow["count_500ms"] == expect["slow_500"] and slow_sql["count_100ms"] == expect["slow_sql"]
          and scan.found == set(ids))
    queue.put({"what": "backend log: scrub + BackendScan", "lines": lines, "text_mib": len(cleaned) / 2 ** 20,
               "scrub_s": wall1 - wall0, "wall_s": wall2 - wall0, "cpu_s": cpu2 - cpu0, "rss_before_mib": before,
               "rss_peak_mib": rss_mib(), "counts_match": ok})


def run_edge(lines: int, queue) -> None:
    text = edge_text(lines)
    reset_peak()
    before = rss_mib()
    wall0, cpu0 = clock()
    edge = EdgeScan(sample_size=20)
    edge.add_text(scrub(text), "edge")
    wall1, cpu1 = clock()
    queue.put({"what": "edge log: scrub + EdgeScan", "lines": lines, "text_mib": len(text) / 2 ** 20, "scrub_s": None,
               "wall_s": wall1 - wall0, "cpu_s": cpu1 - cpu0, "rss_before_mib": before, "rss_peak_mib": rss_mib(),
               "counts_match": edge.requests == lines and len(edge.sampled_ids()) == 20})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    args = ap.parse_args()
    ctx = multiprocessing.get_context("spawn")
    for target in (run_backend, run_edge):
        queue = ctx.Queue()
        proc = ctx.Process(target=target, args=(args.lines, queue))
        proc.start()
        r = queue.get()
        proc.join()
        scrub = f", scrub {r['scrub_s']:.2f} s" if r["scrub_s"] is not None else ""
        print(f"{r['what']}: {r['lines']:,} lines ({r['text_mib']:.0f} MiB): wall {r['wall_s']:.2f} s{scrub}, "
              f"cpu {r['cpu_s']:.2f} s, {r['lines'] / r['wall_s']:,.0f} lines/s; peak RSS {r['rss_peak_mib']:.0f} MiB "
              f"(with the text alone {r['rss_before_mib']:.0f} MiB); counts match: {r['counts_match']}")


if __name__ == "__main__":
    main()
