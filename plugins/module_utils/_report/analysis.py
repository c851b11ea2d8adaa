# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load side of the evidence: fault windows from faults.json, and per scenario the numbers of
its raw k6 samples outside and inside those windows (merged exactly by _k6_samples, never averaged
p95s), else the whitelisted fields of its result.json."""
from __future__ import annotations

import math
import os
from typing import Any, Iterable

from ansible_collections.examday.ops.plugins.module_utils._k6_samples import K6Samples, parse_iso
from ansible_collections.examday.ops.plugins.module_utils._report.values import (
    as_dict, as_int, as_list, as_num, clip, numeric_fields, rounded,
)

SCENARIO_TITLES = {"sessions": "Session Creation", "answers": "Answer Submissions", "submit": "Session Submits"}
SCENARIO_ORDER = ("sessions", "answers", "submit")


def _scenario_order(names: Iterable[str]) -> list[str]:
    names = list(names)
    known = [n for n in SCENARIO_ORDER if n in names]
    return known + sorted(n for n in names if n not in SCENARIO_ORDER)


def fault_windows(faults: Any, run_end: float | None = None) -> list[tuple[float, float, str]]:
    """Each fault's window [injected_at, restored_at + recovery_seconds] (docs/evidence.md)."""
    windows = []
    for i, fault in enumerate(as_list(faults)):
        fault = as_dict(fault)
        start = parse_iso(fault.get("injected_at"))
        if start is None:
            continue
        end = parse_iso(fault.get("restored_at"))
        if end is None and as_num(fault.get("duration_s")) is not None:
            end = start + float(fault["duration_s"])
        if end is None:
            end = run_end if run_end is not None else math.inf
        end += as_num(fault.get("recovery_seconds")) or 0.0
        windows.append((start, end, clip(fault.get("name") or f"fault {i + 1}", 80)))
    return windows


def analyse_load(ev: dict) -> dict:
    """Per scenario: numbers from the raw samples (outside/inside the fault windows), else from result.json."""
    run = as_dict(ev.get("run"))
    windows = fault_windows(ev.get("faults"), parse_iso(run.get("finished_at")))
    samples = K6Samples(windows)
    scenarios = {}
    problems = {}
    for name in _scenario_order(ev["load"]):
        entry = ev["load"][name]
        if entry["raw"]:
            try:
                for path in entry["raw"]:  # every load generator's samples: one exact merge
                    samples.feed_file(path, name)
            except (OSError, EOFError, ValueError) as exc:
                problems[name] = f"raw samples unreadable ({clip(exc, 120)})"
    for name in _scenario_order(ev["load"]):
        entry = ev["load"][name]
        result = as_dict(entry["result"])
        scen = _result_fields(result)
        scen["name"] = name
        scen["title"] = SCENARIO_TITLES.get(name, name.replace("_", " ").title())
        scen["files"] = entry["files"]
        scen["raw_files"] = [os.path.relpath(path, ev["dir"]) for path in entry["raw"]]  # every generator's
        if name in samples.groups and name not in problems:
            summary = samples.summary(name)
            scen["source"] = "raw"
            scen.update(_part(summary))
            scen["outside"] = _part(summary["outside"])
            scen["inside"] = _part(summary["inside"])
            scen["skipped_lines"] = samples.skipped_lines
        elif entry["result"] is not None:
            scen["source"] = "result"
            start, end = parse_iso(result.get("started_at")), parse_iso(result.get("finished_at"))
            overlaps = any(start is None or end is None or (w[0] <= end and w[1] >= start) for w in windows)
            scen["outside"] = None if overlaps else {k: scen.get(k) for k in ("requests", "errors", "error_rate_pct",
                                                                              "p50_ms", "p95_ms", "p99_ms")}
            scen["inside"] = None
        else:
            scen["source"] = None
            scen["outside"] = scen["inside"] = None
        if name in problems or entry.get("problem"):
            scen["problem"] = problems.get(name) or entry["problem"]
        requests, errors = scen.get("requests"), scen.get("errors")
        scen["success_rate_pct"] = rounded(100.0 * (requests - errors) / requests) if requests and errors is not None else None
        scenarios[name] = scen
    merged = samples.summary() if samples.groups else None
    return {
        "scenarios": scenarios,
        "windows": [{"label": w[2], "start": w[0], "end": w[1] if math.isfinite(w[1]) else None} for w in windows],
        "merged": _part(merged) | {"windows": [_part(w) | {"label": w["label"]} for w in merged["windows"]]}
        if merged else None,
        "per_second": samples.per_second() if samples.groups else [],
        "first_ts": merged["first_ts"] if merged else None,
        "last_ts": merged["last_ts"] if merged else None,
    }


def _part(summary: dict) -> dict:
    out = {k: as_int(summary.get(k)) for k in ("requests", "errors") if k in summary}
    out.update({k: rounded(summary.get(k)) for k in ("error_rate_pct", "p50_ms", "p95_ms", "p99_ms", "max_ms") if k in summary})
    return out


def _result_fields(result: dict) -> dict:
    """Whitelisted fields of a load module's result.json."""
    requests = as_int(result.get("http_reqs"))
    rate = as_num(result.get("error_rate"))
    checks = as_dict(result.get("checks"))
    return {
        "requests": requests,
        "errors": int(round(requests * rate)) if requests is not None and rate is not None else None,
        "error_rate_pct": rounded(rate * 100) if rate is not None else None,
        "p50_ms": rounded(result.get("p50_ms")), "p95_ms": rounded(result.get("p95_ms")), "p99_ms": rounded(result.get("p99_ms")),
        "max_ms": rounded(result.get("max_ms")),
        "started_at": result.get("started_at") if isinstance(result.get("started_at"), str) else None,
        "finished_at": result.get("finished_at") if isinstance(result.get("finished_at"), str) else None,
        "duration_s": rounded(result.get("duration_s")), "rps": rounded(result.get("rps")),
        "vus_max": as_int(result.get("vus_max")), "dropped_iterations": as_int(result.get("dropped_iterations")),
        "checks": {"passes": as_int(checks.get("passes")), "fails": as_int(checks.get("fails"))} if checks else None,
        "thresholds": {clip(k, 120): v for k, v in as_dict(result.get("thresholds")).items() if isinstance(v, bool)},
        "thresholds_passed": result.get("thresholds_passed") if isinstance(result.get("thresholds_passed"), bool) else None,
        "acks": numeric_fields(result.get("acks")),
        "exam": _exam_fields(result.get("exam")),
        "generators": _generator_fields(result.get("generators")),
        "start_spread_s": rounded(result.get("start_spread_s")),
    }


def _generator_fields(gens: Any) -> list[dict]:
    """The load generators of a merged result (load/<scenario>/<generator>/): each one's share and health."""
    out = []
    for name, g in sorted(as_dict(gens).items()):
        g = as_dict(g)
        out.append({"name": clip(name, 63), "segment": clip(g.get("segment") or "", 20),
                    "http_reqs": as_int(g.get("http_reqs")), "p95_ms": rounded(g.get("p95_ms")),
                    "cpu_pct": rounded(g.get("cpu_pct")), "cores": as_int(g.get("cores")),
                    "k6_peak_rss_mib": rounded(g.get("k6_peak_rss_mib")),
                    "dropped_iterations": as_int(g.get("dropped_iterations")),
                    "warnings": [clip(w, 200) for w in as_list(g.get("warnings"))[:5]],
                    "saturated": g.get("saturated") is True, "why": clip(g.get("why") or "", 200)})
    return out


def _exam_fields(exam: Any) -> dict | None:
    """The load scripts' exam-specific counters (token refreshes, double submits), when present."""
    if not isinstance(exam, dict):
        return None
    out: dict[str, Any] = numeric_fields(exam)
    for key in ("refresh_continued", "double_submit_same"):
        part = as_dict(exam.get(key))
        if part:
            out[key] = {"passes": as_int(part.get("passes")), "fails": as_int(part.get("fails"))}
    return out
