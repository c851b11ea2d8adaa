# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every threshold, defined once (the inventory's examday_thresholds): the report's gates judge by
them and k6's thresholds are derived from them, so editing the inventory's p95 moves both.
Defaults are the seeds' targets (p95 < 500 ms, p99 < 1000 ms, errors < 1 %, DB pool < 80 %,
recovery within 30 s)."""
from __future__ import annotations

import math

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError

# Integrity checks that count towards "zero data loss" (the others towards "no corrupted sessions").
DATA_LOSS_CHECKS = ["orphaned_answers", "orphan_answers", "missing_answers", "lost_answers"]

# key -> (default, kind, description); kinds: ms, pct, s, count, bool, list, pair
SPEC: dict = {
    "p95_ms": (500.0, "ms", "Limit (ms) of the p95 latency outside fault windows in every scenario, and k6's "
                            "http_req_duration p(95)"),
    "p99_ms": (1000.0, "ms", "Limit (ms) of k6's http_req_duration p(99)"),
    "error_rate_pct": (1.0, "pct", "Limit (%) of failed requests outside fault windows in every scenario, and k6's "
                                   "http_req_failed"),
    "checks_pass_pct": (99.0, "pct", "Least share (%) of k6 checks that pass in the exam scenarios"),
    "fault_error_budget_pct": (20.0, "pct", "Most failed requests (%) allowed inside each fault window"),
    "recovery_seconds": (30.0, "s", "Most seconds from a fault's end to the canary student's first complete "
                                    "success"),
    "outage_seconds": (60.0, "s", "Longest outage (s) the canary student may see during a fault (a fault may set "
                                  "its own max_outage_s)"),
    "readiness_lie_seconds": (5.0, "s", "Longest time (s) readiness may say ok while the canary student fails on "
                                        "the server side"),
    "db_pool_pct": (80.0, "pct", "Limit (%) of peak DB connections against the backends' pool capacity and "
                                 "max_connections"),
    "traceability_min_pct": (100.0, "pct", "Least share (%) of sampled request ids found in the logs"),
    "loadgen_cpu_pct": (85.0, "pct", "CPU use (%) of a load generator's cores over a scenario above which it counts as "
                                     "saturated: its latencies include its own queueing"),
    "loadgen_start_spread_s": (5.0, "s", "Most seconds between the first and the last load generator's start of a "
                                         "scenario; more means less concurrency than planned"),
    "regression_pct": (20.0, "pct", "Worsening (%) against the previous rehearsal flagged as a regression"),
    "stale_overwrite_fails": (True, "bool", "Whether a stale write applied after a newer acknowledged one fails zero "
                                            "data loss (the student's last acknowledged answer is not stored)"),
    "slow_sql_ms": ([100.0, 300.0], "pair", "Slow SQL in the backend logs, [warn, error] in ms"),
    "slow_request_ms": ([500.0, 1500.0], "pair", "Slow requests in the backend logs, [warn, error] in ms"),
    "data_loss_checks": (DATA_LOSS_CHECKS, "list", "Integrity checks that count towards zero data loss (the others "
                                                   "towards no corrupted sessions), compared in lower case with "
                                                   "non-alphanumerics as _"),
}
DEFAULTS = {key: value[0] for key, value in SPEC.items()}


def _norm(name) -> str:
    return "".join(c if c.isalnum() else "_" for c in str(name).strip().lower())


def _number(key: str, value) -> float:
    if isinstance(value, bool) or value is None:
        raise OpsError(f"Threshold {key} must be a number, got {value!r}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OpsError(f"Threshold {key} must be a number, got {value!r}.") from None
    if not math.isfinite(number) or number < 0:
        raise OpsError(f"Threshold {key} must be a number of 0 or more, got {value!r}.")
    return number


def resolve(given: dict | None) -> dict:
    """The defaults overlaid with the given values, validated; raises OpsError (one sentence)."""
    if given is not None and not isinstance(given, dict):
        raise OpsError("examday_thresholds must be a mapping of threshold name to value.")
    out = dict(DEFAULTS)
    for key, value in (given or {}).items():
        if key not in SPEC:
            raise OpsError(f"Unknown threshold {key!r}; known thresholds are {', '.join(sorted(SPEC))}.")
        if value is not None:
            out[key] = value
    for key, (_default, kind, _text) in SPEC.items():
        value = out[key]
        if kind == "bool":
            if not isinstance(value, bool):
                raise OpsError(f"Threshold {key} must be true or false, got {value!r}.")
        elif kind == "list":
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise OpsError(f"Threshold {key} must be a list of integrity check names.")
            out[key] = [_norm(v) for v in value]
        elif kind == "pair":
            if not isinstance(value, list) or len(value) != 2:
                raise OpsError(f"Threshold {key} must be two numbers [warn, error], got {value!r}.")
            pair = [_number(key, v) for v in value]
            if pair[0] > pair[1]:
                raise OpsError(f"Threshold {key} must be [warn, error] with warn <= error, got {value!r}.")
            out[key] = pair
        else:
            number = _number(key, value)
            if kind == "pct" and number > 100:
                raise OpsError(f"Threshold {key} is a percentage and must be at most 100, got {number:g}.")
            if kind in ("ms", "s") and number == 0 and key != "readiness_lie_seconds":
                raise OpsError(f"Threshold {key} must be above 0.")
            out[key] = number
    return out


_ARG_TYPES = {"bool": {"type": "bool"}, "list": {"type": "list", "elements": "str"},
              "pair": {"type": "list", "elements": "float"}}


def threshold_argument_spec() -> dict:
    """The modules' `thresholds` option (the inventory's examday_thresholds), built from SPEC; its
    documentation (plugins/doc_fragments/thresholds.py) is generated from the same SPEC."""
    options = {}
    for key, (default, kind, _text) in SPEC.items():
        option = dict(_ARG_TYPES.get(kind, {"type": "float"}))
        option["default"] = list(default) if isinstance(default, list) else default
        option["no_log"] = False  # names like checks_pass_pct look like secrets to Ansible's sanity test
        options[key] = option
    return {"thresholds": {"type": "dict", "default": {}, "options": options}}


def _fmt(number: float) -> str:
    return f"{number:g}"


def k6_thresholds(th: dict, exam: bool, extra: dict | None = None) -> dict:
    """k6's thresholds derived from the resolved thresholds (the same numbers the gates use),
    with extra raw k6 expressions (e.g. per-endpoint tags) merged in."""
    out = {
        "http_req_duration": [f"p(95)<{_fmt(th['p95_ms'])}", f"p(99)<{_fmt(th['p99_ms'])}"],
        "http_req_failed": [f"rate<{_fmt(th['error_rate_pct'] / 100.0)}"],
    }
    if exam:
        out["checks"] = [f"rate>{_fmt(th['checks_pass_pct'] / 100.0)}"]
        out["examday_double_submit_same"] = ["rate==1"]
        out["examday_refresh_continued"] = ["rate==1"]
    for key, exprs in (extra or {}).items():
        items = exprs if isinstance(exprs, list) else [exprs]
        out[key] = list(out.get(key, [])) + [e for e in items if e not in out.get(key, [])]
    return out
