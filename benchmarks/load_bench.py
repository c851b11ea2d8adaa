# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of examday.ops.load's post-processing of a long run: extracting the acknowledged
writes from k6's console file into acks.jsonl, counting them, and scanning for the password.

Writes a synthetic console file shaped like a real one (k6's raw log format; ack lines as the
scenario script prints them, with some k6 warnings in between; or k6's text format with
--format text), then runs each step in a child process and reports its wall time and that
child's peak memory (resource.getrusage ru_maxrss). A full 30-minute answers run at 300 VUs
prints about 200,000 lines; the default here is 1,000,000.

    .venv/bin/python benchmarks/load_bench.py                 # 1,000,000 lines
    .venv/bin/python benchmarks/load_bench.py --lines 200000 --format text

The 'naive' row (read everything, parse into a list) is there for comparison only.
Not part of the test suite; nothing here asserts a timing."""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "collections"))

from ansible_collections.examday.ops.plugins.module_utils import _load  # noqa: E402  pylint: disable=wrong-import-position


def write_console(path: str, lines: int, fmt: str) -> None:
    rng = random.Random(7)
    sessions = [str(uuid.UUID(int=rng.getrandbits(128))) for _n in range(2000)]
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(lines):
            sid = sessions[i % len(sessions)]
            roll = i % 20
            if roll == 0:
                msg = 'Request Failed error="Post \\"http://127.0.0.1:18080/v1/sessions\\": EOF"'
                fh.write(f'time="2026-11-21T22:10:03Z" level=warning msg="{msg}"\n' if fmt == "text" else msg + "\n")
                continue
            if roll == 1:
                rec = {"kind": "session", "session_id": sid, "user": f"load{i % 400:05d}@cohort.examday.invalid",
                       "ts": "2026-11-21T22:10:03.412Z"}
            elif roll == 2:
                rec = {"kind": "submit", "session_id": sid, "idempotency_key": f"run-{i}", "ts": "2026-11-21T22:10:03.412Z",
                       "score_correct": i % 10}
            else:
                rec = {"kind": "answer", "session_id": sid, "question_id": 1000 + i % 3600, "selected_index": i % 5,
                       "ts": "2026-11-21T22:10:03.412Z"}
            line = _load.ACK_MARKER + json.dumps(rec, separators=(",", ":"))
            if fmt == "text":
                line = 'time="2026-11-21T22:10:03Z" level=info msg=' + json.dumps(line) + " source=console"
            fh.write(line + "\n")


def step(name: str, path: str) -> dict:
    t0 = time.perf_counter()
    if name == "extract":
        with open(path, encoding="utf-8") as console, open(path + ".acks", "w", encoding="utf-8") as out:
            got = _load.extract_acks(console, out)
        detail = {"acks": sum(got["counts"].values()), "malformed": got["malformed"]}
    elif name == "count":
        with open(path + ".acks", encoding="utf-8") as fh:
            detail = {"acks": sum(_load.count_acks(fh).values())}
    elif name == "secret_scan":
        with open(path, "rb") as fh:
            detail = {"found": _load.contains_secret(fh, "Coh0rtPassw0rdNotThere")}
    else:  # naive: everything in memory at once
        with open(path, encoding="utf-8") as fh:
            records = [r for r in _load.iter_acks(io.StringIO(fh.read())) if r]
        detail = {"acks": len(records)}
    return {"step": name, "seconds": round(time.perf_counter() - t0, 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), **detail}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("raw", "text"), default="raw")
    parser.add_argument("--child", nargs=2, metavar=("STEP", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(step(*args.child)))
        return
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
        path = os.path.join(tmp, "console.log")
        t0 = time.perf_counter()
        write_console(path, args.lines, args.format)
        size = os.path.getsize(path)
        print(f"console: {args.lines} lines, {size / 1e6:.1f} MB, {args.format} format "
              f"(written in {time.perf_counter() - t0:.1f}s)")
        baseline = json.loads(subprocess.run([sys.executable, "-c", (
            "import resource, sys; sys.path.insert(0, %r); "
            "from ansible_collections.examday.ops.plugins.module_utils import _load; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)") % os.path.join(ROOT, "collections")],
            capture_output=True, text=True, check=True).stdout)
        print(f"{'step':12} {'seconds':>8} {'peak RSS MB':>12}  detail   (interpreter + imports alone: {baseline:.1f} MB)")
        for name in ("extract", "count", "secret_scan", "naive"):
            out = subprocess.run([sys.executable, __file__, "--child", name, path], capture_output=True, text=True,
                                 check=True).stdout
            row = json.loads(out)
            detail = {k: v for k, v in row.items() if k not in ("step", "seconds", "peak_rss_mb")}
            print(f"{row['step']:12} {row['seconds']:8.2f} {row['peak_rss_mb']:12.1f}  {detail}")


if __name__ == "__main__":
    main()
