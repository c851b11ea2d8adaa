# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container CPU and memory: `docker stats` snapshots as stats.jsonl lines, and the series per
container over the window with a least-squares memory slope."""
from __future__ import annotations

import datetime

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils._metrics.constants import NOT_MEASURED
from ansible_collections.examday.ops.plugins.module_utils._metrics.timewin import UTC, parse_ts


def stats_lines(ts: str, stats_output: str) -> list[dict]:
    """`docker stats --no-stream --format '{{json .}}'` output as stats.jsonl lines."""
    out = []
    for s in _docker_cli.parse_stats(_docker_cli.parse_json_stream(stats_output)):
        out.append({"ts": ts, "container": s["name"], "cpu_pct": s["cpu_pct"], "mem_bytes": s["mem_bytes"],
                    "mem_limit_bytes": s["mem_limit_bytes"], "pids": s["pids"]})
    return out


def slope_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, per minute; None with fewer than two distinct times."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _y in points) / n
    my = sum(y for _x, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _y in points)
    if sxx == 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in points)
    return round(60.0 * sxy / sxx, 3)


def container_series(samples: list[dict]) -> dict:
    """Per container: the CPU and memory series over the window, maxima, and the memory slope
    (bytes per minute, least squares), so a leak shows as a slope rather than one snapshot."""
    by_name: dict = {}
    for s in sorted(samples, key=lambda r: parse_ts(r.get("ts")) or datetime.datetime.min.replace(tzinfo=UTC)):
        if s.get("container"):
            by_name.setdefault(s["container"], []).append(s)
    out = {}
    for name in sorted(by_name):
        rows = by_name[name]
        t0 = parse_ts(rows[0]["ts"])
        cpu = [r.get("cpu_pct") for r in rows]
        mem = [r.get("mem_bytes") for r in rows]
        points = [((parse_ts(r["ts"]) - t0).total_seconds(), r["mem_bytes"]) for r in rows
                  if r.get("mem_bytes") is not None]
        cpu_known = [c for c in cpu if c is not None]
        mem_known = [m for m in mem if m is not None]
        limits = [r.get("mem_limit_bytes") for r in rows if r.get("mem_limit_bytes")]
        entry = {"ts": [r["ts"] for r in rows], "cpu_pct": cpu, "mem_bytes": mem, "samples": len(rows),
                 "cpu_max_pct": max(cpu_known) if cpu_known else None,
                 "mem_max_bytes": max(mem_known) if mem_known else None,
                 "mem_limit_bytes": limits[-1] if limits else None,
                 "mem_slope_bytes_per_min": slope_per_minute(points)}
        if entry["mem_slope_bytes_per_min"] is None:
            entry["note"] = NOT_MEASURED + "a memory slope needs two samples or more"
        out[name] = entry
    return out
