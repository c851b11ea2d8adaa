# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""This rehearsal against the previous one: the figures that say whether the platform got worse
(p95 and error rate outside the fault windows, the error rate inside them, the students' worst
recovery and outage, the DB pool peak), their deltas, and the regressions: a figure worse by more
than `regression_pct` percent of the previous value and by more than a floor of its unit (so 0.0 s to
0.2 s is not a regression). The previous rehearsal is read from its report.json only; its evidence
is not judged again."""
from __future__ import annotations

import json
import os
from typing import Any

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._report.values import as_dict, as_list, as_num, clip, rounded

REPORT_JSON = "report.json"
AUTO = "auto"
# (key, title, unit, how it is read from a report's content); lower is better for every figure.
FIGURES = (
    ("p95_ms", "p95 latency outside fault windows", "ms", lambda r: _gate_value(r, "latency_p95")),
    ("error_rate_pct", "error rate outside fault windows", "%", lambda r: _gate_value(r, "error_rate")),
    ("fault_error_rate_pct", "worst error rate inside a fault window", "%", lambda r: _gate_value(r, "fault_error_budget")),
    ("recovery_s", "slowest recovery seen by students", "s", lambda r: _worst_fault(r, "recovery_s")),
    ("outage_s", "longest outage seen by students", "s", lambda r: _worst_fault(r, "outage_s")),
    ("db_pool_pct", "DB pool peak", "%", lambda r: _gate_value(r, "db_pool")),
)
FLOORS = {"ms": 10.0, "%": 0.5, "s": 1.0}  # a smaller absolute change is never a regression


def _gate_value(report: dict, gid: str) -> float | None:
    for gate in as_list(report.get("gates")):
        gate = as_dict(gate)
        if gate.get("id") == gid:
            return as_num(gate.get("value"))
    return None


def _worst_fault(report: dict, key: str) -> float | None:
    values = [as_num(as_dict(as_dict(f).get("canary")).get(key)) for f in as_list(report.get("faults"))]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def find_previous(evidence_dir: str, environment: str | None, my_start: str | None, host: str | None = None,
                  playbook: str | None = None) -> str | None:
    """The newest sibling evidence directory (by its report's start time) with a report.json of the same
    playbook (a rehearsal is compared with a rehearsal, never with a recovery verification), environment
    and host that started before this one (`my_start`); None when there is none."""
    here = os.path.realpath(evidence_dir)
    parent = os.path.dirname(here)
    best = None
    for name in os.listdir(parent):
        path = os.path.join(parent, name)
        if os.path.realpath(path) == here or not os.path.isfile(os.path.join(path, REPORT_JSON)):
            continue
        other = read_report(path, quiet=True)
        if not other or (environment and other.get("environment") != environment):
            continue
        if host and as_dict(other.get("run")).get("host") != host:
            continue
        if playbook and as_dict(other.get("run")).get("playbook") != playbook:
            continue
        started = as_dict(other.get("run")).get("started_at")
        if not isinstance(started, str) or (isinstance(my_start, str) and started >= my_start):
            continue
        if best is None or started > best[0]:
            best = (started, path)
    return best[1] if best else None


def read_report(directory: str, quiet: bool = False) -> dict | None:
    """A previous rehearsal's report.json; a missing or unreadable one is one sentence (or None when quiet)."""
    path = os.path.join(directory, REPORT_JSON)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        if quiet:
            return None
        raise OpsError(f"The previous rehearsal's {path} cannot be read ({clip(exc, 120)}); give the evidence "
                       "directory of a finished rehearsal as previous, or leave it unset.") from None
    if not isinstance(data, dict):
        if quiet:
            return None
        raise OpsError(f"The previous rehearsal's {path} is not a report (not a JSON object).")
    return data


def compare(current: dict, previous: dict, previous_dir: str, regression_pct: float) -> dict:
    """The comparison shown in the report: one row per figure both reports measured."""
    rows, regressions = [], []
    for key, title, unit, read in FIGURES:
        now, before = read(current), read(previous)
        row: dict[str, Any] = {"key": key, "title": title, "unit": unit, "previous": rounded(before),
                               "current": rounded(now), "delta": None, "delta_pct": None, "regression": None}
        if now is not None and before is not None:
            delta = now - before
            row["delta"] = rounded(delta)
            row["delta_pct"] = rounded(100.0 * delta / before) if before else None
            row["regression"] = delta > FLOORS[unit] and (before == 0 or delta > before * regression_pct / 100.0)
            if row["regression"]:
                regressions.append(row)
        rows.append(row)
    return {"previous_dir": previous_dir, "previous_date": clip(previous.get("date"), 20),
            "previous_verdict": clip(previous.get("verdict"), 10), "regression_pct": regression_pct,
            "rows": rows, "regressions": [r["key"] for r in regressions]}


def attach(report: dict, comparison: dict | None, note: str | None = None) -> dict:
    """The comparison into the report's content, each regression a risk of its own; `note` says why there
    is none (no previous rehearsal found)."""
    report["comparison"] = comparison or {"previous_dir": None, "note": note or "not compared", "rows": [],
                                          "regressions": []}
    for row in (comparison or {}).get("rows", []):
        if row["regression"]:
            report["risks"].append({
                "risk": f"regression against the previous rehearsal: {row['title']} {row['previous']:g} {row['unit']} -> "
                        f"{row['current']:g} {row['unit']}",
                "impact": "Medium", "likelihood": "High",
                "mitigation": "Find what changed since the previous rehearsal (versions, limits, data volume) and "
                              "rehearse again.", "gate": None})
    return report
