# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The GO/NO-GO report: reads one evidence directory (docs/evidence.md), decides the hard gates and
renders the report as Markdown (the seed template's sections), JSON, JUnit XML and a self-contained
HTML page with inline SVG charts.

Everything here is a pure function of the evidence files and the thresholds, except
`load_evidence` (reads files) and `write_files` (writes them). Missing evidence for a gate gives
`passed=None` with "no evidence: ...", which counts as failed: never a silent pass.

Only chosen fields of each evidence file are copied into the report (numbers, states, names), never
a whole dictionary of unknown content.
"""
from __future__ import annotations

import datetime
import html
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from typing import Any, Callable, Iterable

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe, write_private
from ansible_collections.examday.ops.plugins.module_utils._k6_samples import K6Samples, parse_iso

DEFAULT_TITLE = "Exam-Day Rehearsal Report"
SUITE_NAME = "examday.rehearsal"
NOT_MEASURED = "not measured"

# Names of integrity checks that count towards "zero data loss"; every other check counts towards
# "no corrupted sessions". Compared after normalisation (lower case, non-alphanumerics to "_").
DATA_LOSS_CHECKS = ["orphaned_answers", "orphan_answers", "missing_answers", "lost_answers"]

DEFAULT_THRESHOLDS: dict[str, Any] = {
    "p95_ms": 500.0,
    "error_rate_pct": 1.0,
    "fault_error_budget_pct": 20.0,
    "recovery_seconds": 30.0,
    "db_pool_pct": 80.0,
    "traceability_min_pct": 100.0,
    "data_loss_checks": DATA_LOSS_CHECKS,
}
_PCT_THRESHOLDS = ("error_rate_pct", "fault_error_budget_pct", "db_pool_pct", "traceability_min_pct")

# (id, name) in report order.
GATES = (
    ("zero_data_loss", "zero data loss"),
    ("no_corrupted_sessions", "no corrupted sessions"),
    ("latency_p95", "p95 latency outside fault windows"),
    ("error_rate", "error rate outside fault windows"),
    ("fault_error_budget", "error budget inside fault windows"),
    ("recovery", "recovery within budget"),
    ("audit_logs", "logs sufficient for audit"),
    ("exam_mode", "EXAM_MODE verified by effect"),
    ("db_pool", "DB pool below limit"),
)

MITIGATIONS = {
    "zero_data_loss": "Find why acknowledged writes are missing (transactions committed after the 2xx, "
                      "retries on another replica); fix and rehearse again before the exam.",
    "no_corrupted_sessions": "Fix the failing integrity checks at their cause (row locks or unique constraints "
                             "for submits, scoring on submit); repair the affected rows.",
    "latency_p95": "Profile the slow endpoints (slow SQL, pool waits), add capacity or indexes; rehearse at the "
                   "same load again.",
    "error_rate": "Read the failing requests' status codes and request ids in the backend logs; fix the cause.",
    "fault_error_budget": "Make the platform degrade gracefully during that fault (retries on idempotent calls, "
                          "fail-open dependencies, health-aware routing).",
    "recovery": "Shorten recovery (health checks, restart policies, start order); document the manual steps.",
    "audit_logs": "Make every request log its request id end to end (edge, backend) and keep logs for the audit.",
    "exam_mode": "Run the freeze again and do not start the exam until EXAM_MODE is verified by effect.",
    "db_pool": "Raise max_connections or lower per-process pools; check for connection leaks.",
}

SCENARIO_TITLES = {"sessions": "Session Creation", "answers": "Answer Submissions", "submit": "Session Submits"}
SCENARIO_ORDER = ("sessions", "answers", "submit")

# Seed 001's Phase 4 items, matched against integrity check names after normalisation.
SEED_CHECKS = (
    ("Orphaned Answers", ("orphaned_answers", "orphan_answers")),
    ("Duplicate Submits", ("duplicate_submits", "duplicate_submit", "duplicate_submit_events")),
    ("Missing Answers", ("missing_answers", "lost_answers")),
    ("Unscored Sessions", ("unscored_sessions", "unscored_submitted_sessions")),
    ("Answer/Question Mismatches", ("answer_question_mismatches", "answers_not_in_session",
                                    "answers_outside_session_questions", "answer_not_in_session_questions")),
    ("Orphaned Events", ("orphaned_events", "orphan_events")),
    ("Inconsistent Status", ("inconsistent_status", "inconsistent_statuses")),
    ("Duplicate Mastery Updates", ("duplicate_mastery_updates", "duplicate_mastery")),
)
SEED_STATISTICS = (
    ("Total sessions", ("total_sessions", "sessions")),
    ("Submitted sessions", ("submitted_sessions", "submitted")),
    ("Total answers", ("total_answers", "answers")),
    ("Total events", ("total_events", "events")),
    ("Sessions with submit event", ("sessions_with_submit_event", "sessions_with_submit_events")),
)
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_SECRET_KEY = re.compile(r"pass|secret|token|auth|cookie|dsn|credential|private", re.I)
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# -- small helpers -------------------------------------------------------------------------------

def _norm(name: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


def _num(value: Any) -> float | None:
    """A finite number, or None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    number = _num(value)
    return int(number) if number is not None else None


def _r(value: Any, digits: int = 3) -> float | None:
    number = _num(value)
    return None if number is None else round(number, digits)


def _text(value: Any, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _pick(source: Any, keys: Iterable[str]) -> Any:
    """The first of `keys` present in `source` with a number."""
    source = _dict(source)
    for key in keys:
        if _num(source.get(key)) is not None:
            return source[key]
    return None


def numeric_fields(source: Any) -> dict:
    """Only the scalar numbers and booleans of a dict, under safe, non-secret-looking keys."""
    out = {}
    for key, value in _dict(source).items():
        if not isinstance(key, str) or not _SAFE_KEY.match(key) or _SECRET_KEY.search(key):
            continue
        if isinstance(value, bool) or _num(value) is not None:
            out[key] = value if isinstance(value, bool) else _r(value)
    return out


def _scalar_sample(sample: Any) -> Any:
    """A sample row reduced to short scalar values under safe keys (for lost writes and the like)."""
    if isinstance(sample, dict):
        return {k: (_text(v, 80) if isinstance(v, str) else v) for k, v in sample.items()
                if isinstance(k, str) and _SAFE_KEY.match(k) and not _SECRET_KEY.search(k)
                and (isinstance(v, (str, bool)) or _num(v) is not None)}
    if isinstance(sample, str):
        return _text(sample, 80)
    return sample if isinstance(sample, bool) or _num(sample) is not None else None


def _count(part: Any) -> int | None:
    """`{"count": n}` or a bare number."""
    if isinstance(part, dict):
        return _int(part.get("count"))
    return _int(part)


def fmt_ms(value: Any) -> str:
    return NOT_MEASURED if _num(value) is None else f"{value:.1f} ms"


def fmt_pct(value: Any) -> str:
    return NOT_MEASURED if _num(value) is None else f"{value:.2f} %"


def fmt_s(value: Any) -> str:
    return NOT_MEASURED if _num(value) is None else f"{value:.2f} s"


def fmt_n(value: Any) -> str:
    if _num(value) is None:
        return NOT_MEASURED
    return f"{int(value)}" if float(value).is_integer() else f"{value:.2f}"


def fmt_time(epoch: float | None) -> str:
    if epoch is None or not math.isfinite(epoch):
        return NOT_MEASURED
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clock(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%H:%M:%S")


# -- thresholds ----------------------------------------------------------------------------------

def resolve_thresholds(given: dict | None) -> dict:
    """Defaults overlaid with the given values; a bad value raises OpsError (one sentence)."""
    out = dict(DEFAULT_THRESHOLDS)
    for key, value in (given or {}).items():
        if value is None:
            continue
        if key not in DEFAULT_THRESHOLDS:
            raise OpsError(f"Unknown threshold {key!r}; known thresholds are {', '.join(sorted(DEFAULT_THRESHOLDS))}.")
        out[key] = value
    for key, value in out.items():
        if key == "data_loss_checks":
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise OpsError("Threshold data_loss_checks must be a list of integrity check names.")
            out[key] = [_norm(v) for v in value]
            continue
        number = _num(value)
        if number is None:
            raise OpsError(f"Threshold {key} must be a number, got {value!r}.")
        if number < 0:
            raise OpsError(f"Threshold {key} must not be negative, got {number:g}.")
        if key in _PCT_THRESHOLDS and number > 100:
            raise OpsError(f"Threshold {key} is a percentage and must be at most 100, got {number:g}.")
        if key in ("p95_ms", "recovery_seconds") and number == 0:
            raise OpsError(f"Threshold {key} must be above 0.")
        out[key] = number
    return out


# -- evidence ------------------------------------------------------------------------------------

def _read_json(path: str) -> tuple[Any, str | None]:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh), None
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        return None, f"unreadable ({_text(exc, 120)})"


def _read_jsonl(path: str) -> tuple[list | None, str | None]:
    if not os.path.exists(path):
        return None, None
    rows, bad = [], 0
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    bad += 1
                    continue
                if isinstance(row, dict):
                    rows.append(row)
    except OSError as exc:
        return None, f"unreadable ({_text(exc, 120)})"
    return rows, (f"{bad} unreadable lines skipped" if bad else None)


def load_evidence(evidence_dir: str) -> dict:
    """Reads every file of the evidence contract that is present; absent files stay None."""
    if not os.path.isdir(evidence_dir):
        raise OpsError(f"Evidence directory {evidence_dir} does not exist or is not a directory.")
    ev: dict[str, Any] = {"dir": evidence_dir, "problems": {}}

    def get(rel: str) -> Any:
        data, problem = _read_json(os.path.join(evidence_dir, rel))
        if problem:
            ev["problems"][rel] = problem
        return data

    ev["run"] = get("run.json")
    ev["faults"] = get("faults.json")
    ev["integrity"] = get("integrity.json")
    ev["metrics"] = get("metrics/metrics.json")
    ev["ux"] = get("ux.json")
    stats, problem = _read_jsonl(os.path.join(evidence_dir, "metrics", "stats.jsonl"))
    if problem:
        ev["problems"]["metrics/stats.jsonl"] = problem
    ev["stats"] = stats
    freezes = sorted(n for n in os.listdir(evidence_dir) if n.startswith("freeze-") and n.endswith(".json"))
    ev["freeze"], ev["freeze_file"] = None, None
    for name in reversed(freezes):  # the newest freeze (names end with a sortable time)
        record = get(name)
        if isinstance(record, dict) and record.get("direction", "freeze") == "freeze":
            ev["freeze"], ev["freeze_file"] = record, name
            break
    ev["load"] = {}
    load_dir = os.path.join(evidence_dir, "load")
    if os.path.isdir(load_dir):
        for name in sorted(os.listdir(load_dir)):
            sdir = os.path.join(load_dir, name)
            if not os.path.isdir(sdir):
                continue
            raw = next((os.path.join(sdir, f) for f in ("raw.json.gz", "raw.json") if os.path.isfile(os.path.join(sdir, f))),
                       None)
            entry = {"result": get(f"load/{name}/result.json"), "raw": raw,
                     "files": sorted(f for f in os.listdir(sdir) if os.path.isfile(os.path.join(sdir, f)))}
            if entry["result"] is not None or raw:
                ev["load"][name] = entry
    ev["metrics_files"] = sorted(os.listdir(os.path.join(evidence_dir, "metrics"))) \
        if os.path.isdir(os.path.join(evidence_dir, "metrics")) else []
    return ev


def _scenario_order(names: Iterable[str]) -> list[str]:
    names = list(names)
    known = [n for n in SCENARIO_ORDER if n in names]
    return known + sorted(n for n in names if n not in SCENARIO_ORDER)


def fault_windows(faults: Any, run_end: float | None = None) -> list[tuple[float, float, str]]:
    """Each fault's window [injected_at, restored_at + recovery_seconds] (docs/evidence.md)."""
    windows = []
    for i, fault in enumerate(_list(faults)):
        fault = _dict(fault)
        start = parse_iso(fault.get("injected_at"))
        if start is None:
            continue
        end = parse_iso(fault.get("restored_at"))
        if end is None and _num(fault.get("duration_s")) is not None:
            end = start + float(fault["duration_s"])
        if end is None:
            end = run_end if run_end is not None else math.inf
        end += _num(fault.get("recovery_seconds")) or 0.0
        windows.append((start, end, _text(fault.get("name") or f"fault {i + 1}", 80)))
    return windows


def analyse_load(ev: dict) -> dict:
    """Per scenario: numbers from the raw samples (outside/inside the fault windows), else from result.json."""
    run = _dict(ev.get("run"))
    windows = fault_windows(ev.get("faults"), parse_iso(run.get("finished_at")))
    samples = K6Samples(windows)
    scenarios = {}
    problems = {}
    for name in _scenario_order(ev["load"]):
        entry = ev["load"][name]
        if entry["raw"]:
            try:
                samples.feed_file(entry["raw"], name)
            except (OSError, EOFError, ValueError) as exc:
                problems[name] = f"raw samples unreadable ({_text(exc, 120)})"
    for name in _scenario_order(ev["load"]):
        entry = ev["load"][name]
        result = _dict(entry["result"])
        scen = _result_fields(result)
        scen["name"] = name
        scen["title"] = SCENARIO_TITLES.get(name, name.replace("_", " ").title())
        scen["files"] = entry["files"]
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
        if name in problems:
            scen["problem"] = problems[name]
        requests, errors = scen.get("requests"), scen.get("errors")
        scen["success_rate_pct"] = _r(100.0 * (requests - errors) / requests) if requests and errors is not None else None
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
    out = {k: _int(summary.get(k)) for k in ("requests", "errors") if k in summary}
    out.update({k: _r(summary.get(k)) for k in ("error_rate_pct", "p50_ms", "p95_ms", "p99_ms", "max_ms") if k in summary})
    return out


def _result_fields(result: dict) -> dict:
    """Whitelisted fields of a load module's result.json."""
    requests = _int(result.get("http_reqs"))
    rate = _num(result.get("error_rate"))
    checks = _dict(result.get("checks"))
    return {
        "requests": requests,
        "errors": int(round(requests * rate)) if requests is not None and rate is not None else None,
        "error_rate_pct": _r(rate * 100) if rate is not None else None,
        "p50_ms": _r(result.get("p50_ms")), "p95_ms": _r(result.get("p95_ms")), "p99_ms": _r(result.get("p99_ms")),
        "max_ms": _r(result.get("max_ms")),
        "started_at": result.get("started_at") if isinstance(result.get("started_at"), str) else None,
        "finished_at": result.get("finished_at") if isinstance(result.get("finished_at"), str) else None,
        "duration_s": _r(result.get("duration_s")), "rps": _r(result.get("rps")),
        "vus_max": _int(result.get("vus_max")), "dropped_iterations": _int(result.get("dropped_iterations")),
        "checks": {"passes": _int(checks.get("passes")), "fails": _int(checks.get("fails"))} if checks else None,
        "thresholds": {_text(k, 120): v for k, v in _dict(result.get("thresholds")).items() if isinstance(v, bool)},
        "thresholds_passed": result.get("thresholds_passed") if isinstance(result.get("thresholds_passed"), bool) else None,
        "acks": numeric_fields(result.get("acks")),
        "exam": _exam_fields(result.get("exam")),
    }


def _exam_fields(exam: Any) -> dict | None:
    """The load scripts' exam-specific counters (token refreshes, double submits), when present."""
    if not isinstance(exam, dict):
        return None
    out: dict[str, Any] = numeric_fields(exam)
    for key in ("refresh_continued", "double_submit_same"):
        part = _dict(exam.get(key))
        if part:
            out[key] = {"passes": _int(part.get("passes")), "fails": _int(part.get("fails"))}
    return out


# -- gates ---------------------------------------------------------------------------------------

UNITS = {"zero_data_loss": "writes", "no_corrupted_sessions": "rows", "latency_p95": "ms", "error_rate": "%",
         "fault_error_budget": "%", "recovery": "s", "audit_logs": "%", "exam_mode": "", "db_pool": "%"}


def _gate(gid: str, passed: bool | None, value: Any, threshold: Any, rule: str, evidence: list[str],
          detail: str) -> dict:
    return {"id": gid, "name": dict(GATES)[gid], "passed": passed, "value": value, "threshold": threshold,
            "unit": UNITS[gid], "rule": rule, "evidence": evidence, "detail": detail}


def _missing(ev: dict, rel: str) -> str:
    problem = ev["problems"].get(rel)
    return f"no evidence: {rel} {problem}" if problem else f"no evidence: {rel} missing"


def _integrity_parts(ev: dict, th: dict) -> tuple[list, list]:
    loss_names = set(th["data_loss_checks"])
    checks = [c for c in _list(_dict(ev["integrity"]).get("checks")) if isinstance(c, dict) and c.get("name")]
    loss = [c for c in checks if _norm(c["name"]) in loss_names]
    other = [c for c in checks if _norm(c["name"]) not in loss_names]
    return loss, other


def _failed_checks(checks: list) -> list:
    return [c for c in checks if c.get("passed") is not True]


def _check_label(check: dict) -> str:
    count = _int(check.get("count"))
    return f"{_text(check.get('name'), 60)} ({count if count is not None else 'not counted'})"


def gate_zero_data_loss(ev: dict, th: dict, require_reconciliation: bool = True) -> dict:
    rule, files = "0 acknowledged writes lost or changed; data-loss checks pass", ["integrity.json"]
    integrity = ev["integrity"]
    if not isinstance(integrity, dict):
        return _gate("zero_data_loss", None, None, 0, rule, files, _missing(ev, "integrity.json"))
    recon = integrity.get("reconciliation")
    loss_checks, _other = _integrity_parts(ev, th)
    failed = _failed_checks(loss_checks)
    if not isinstance(recon, dict) and require_reconciliation:
        return _gate("zero_data_loss", None, None, 0, rule, files, "no evidence: integrity.json has no reconciliation")
    recon = _dict(recon)
    acked = sum(v for v in numeric_fields(recon.get("acknowledged")).values() if not isinstance(v, bool))
    lost, mismatched = _count(recon.get("lost")), _count(recon.get("mismatched"))
    if acked == 0 and not require_reconciliation:
        # After a real exam there is no record of acknowledged writes: the data-loss checks decide.
        if not loss_checks:
            return _gate("zero_data_loss", None, None, 0, "data-loss checks pass", files,
                         "no evidence: integrity.json has none of the data-loss checks")
        value = sum(_int(c.get("count")) or 0 for c in failed)
        detail = ("no record of acknowledged writes (no load ran), judged on the data-loss checks: "
                  + ("failed " + ", ".join(_check_label(c) for c in failed) if failed
                     else "passed " + ", ".join(_text(c["name"], 60) for c in loss_checks)))
        return _gate("zero_data_loss", not failed, value, 0, "data-loss checks pass", files, detail)
    if acked == 0:
        return _gate("zero_data_loss", None, None, 0, rule, files,
                     "no evidence: integrity.json reconciled no acknowledged write")
    if lost is None or mismatched is None:
        return _gate("zero_data_loss", None, None, 0, rule, files,
                     "no evidence: integrity.json does not count lost and mismatched writes")
    value = lost + mismatched + sum(_int(c.get("count")) or 0 for c in failed)
    # duplicates also fail the reconciliation; they belong to "no corrupted sessions"
    unexplained = recon.get("passed") is not True and not _count(recon.get("duplicates"))
    passed = lost == 0 and mismatched == 0 and not failed and not unexplained
    parts = [f"{lost} of {int(acked)} acknowledged writes lost", f"{mismatched} stored with another value"]
    if failed:
        parts.append("checks failed: " + ", ".join(_check_label(c) for c in failed))
    elif loss_checks:
        parts.append("checks passed: " + ", ".join(_text(c["name"], 60) for c in loss_checks))
    if unexplained and lost == 0 and mismatched == 0:
        parts.append("reconciliation did not pass")
    samples = [_scalar_sample(s) for s in _list(_dict(recon.get("lost")).get("samples"))[:3]]
    if lost and samples:
        parts.append("lost e.g. " + json.dumps(samples, sort_keys=True))
    return _gate("zero_data_loss", passed, value, 0, rule, files, "; ".join(parts))


def gate_no_corrupted_sessions(ev: dict, th: dict) -> dict:
    rule, files = "every corruption check passes; 0 duplicate writes", ["integrity.json"]
    integrity = ev["integrity"]
    if not isinstance(integrity, dict):
        return _gate("no_corrupted_sessions", None, None, 0, rule, files, _missing(ev, "integrity.json"))
    _loss, checks = _integrity_parts(ev, th)
    duplicates = _count(_dict(integrity.get("reconciliation")).get("duplicates"))
    if not checks:
        return _gate("no_corrupted_sessions", None, None, 0, rule, files,
                     "no evidence: integrity.json has no corruption checks")
    failed = _failed_checks(checks)
    value = sum(_int(c.get("count")) or 0 for c in failed) + (duplicates or 0)
    passed = not failed and not duplicates
    if failed:
        detail = "checks failed: " + ", ".join(_check_label(c) for c in failed)
    else:
        detail = f"{len(checks)} checks passed"
    if duplicates:
        detail += f"; {duplicates} writes stored twice"
    return _gate("no_corrupted_sessions", passed, value, 0, rule, files, detail)


def _load_gate(gid: str, ev: dict, load: dict, measure: Callable[[dict], tuple[float | None, str]],
               limit: float, rule: str) -> dict:
    """A gate over every scenario's numbers outside the fault windows; the worst scenario is the value."""
    files = [f"load/{n}/{'raw.json.gz' if s['source'] == 'raw' else 'result.json'}" for n, s in load["scenarios"].items()]
    if isinstance(ev["faults"], list):
        files.append("faults.json")
    if not load["scenarios"]:
        return _gate(gid, None, None, limit, rule, ["load/"], "no evidence: load/<scenario>/raw.json.gz missing")
    results, worst, unmeasured = [], None, []
    for name, scen in load["scenarios"].items():
        outside = scen.get("outside")
        value, text = measure(outside) if outside else (None, "")
        if value is None:
            reason = scen.get("problem") or ("no request outside the fault windows" if outside else
                                             "raw.json.gz missing and result.json spans a fault window"
                                             if scen["source"] == "result" else "no samples")
            unmeasured.append(f"{name}: {reason}")
            continue
        worst = value if worst is None else max(worst, value)
        results.append((name, value, text))
    failing = [n for n, v, _t in results if not v < limit]
    measured = "; ".join(f"{n} {t}" for n, _v, t in results)
    missing = "no evidence for " + "; ".join(unmeasured) if unmeasured else ""
    if not results:
        passed, detail = None, "no evidence: " + "; ".join(unmeasured)
    else:
        passed = False if failing else (None if unmeasured else True)
        detail = "; ".join(p for p in (measured, missing) if p)
    return _gate(gid, passed, _r(worst), limit, rule, files, detail)


def gate_latency(ev: dict, load: dict, th: dict) -> dict:
    def measure(part: dict) -> tuple[float | None, str]:
        p95 = _num(part.get("p95_ms"))
        return p95, f"p95 {fmt_ms(p95)}"
    return _load_gate("latency_p95", ev, load, measure, th["p95_ms"], f"p95 < {th['p95_ms']:g} ms in every scenario")


def gate_error_rate(ev: dict, load: dict, th: dict) -> dict:
    def measure(part: dict) -> tuple[float | None, str]:
        rate = _num(part.get("error_rate_pct")) if part.get("requests") else None
        return rate, f"{fmt_n(part.get('errors'))} of {fmt_n(part.get('requests'))} failed ({fmt_pct(rate)})"
    return _load_gate("error_rate", ev, load, measure, th["error_rate_pct"],
                      f"errors < {th['error_rate_pct']:g} % in every scenario")


def gate_fault_error_budget(ev: dict, load: dict, th: dict) -> dict:
    limit = th["fault_error_budget_pct"]
    rule = f"errors <= {limit:g} % inside each fault window"
    files = ["faults.json"] + [f"load/{n}/raw.json.gz" for n, s in load["scenarios"].items() if s["source"] == "raw"]
    faults = ev["faults"]
    if not isinstance(faults, list):
        return _gate("fault_error_budget", None, None, limit, rule, files, _missing(ev, "faults.json"))
    if not faults:
        return _gate("fault_error_budget", None, None, limit, rule, files, "no evidence: faults.json lists no fault")
    if not load["merged"]:
        return _gate("fault_error_budget", None, None, limit, rule, files,
                     "no evidence: load/<scenario>/raw.json.gz missing")
    windows = load["merged"]["windows"]
    if len(windows) < len(faults):
        return _gate("fault_error_budget", None, None, limit, rule, files,
                     f"no evidence: {len(faults) - len(windows)} faults in faults.json have no injected_at")
    parts, worst, unmeasured, failing = [], None, False, False
    for w in windows:
        rate = _num(w.get("error_rate_pct"))
        if not w.get("requests"):
            unmeasured = True
            parts.append(f"{w['label']}: no request during the window")
            continue
        worst = rate if worst is None else max(worst, rate)
        failing = failing or rate > limit
        parts.append(f"{w['label']}: {w['errors']} of {w['requests']} failed ({fmt_pct(rate)})")
    passed = False if failing else (None if unmeasured else True)
    return _gate("fault_error_budget", passed, _r(worst), limit, rule, files, "; ".join(parts))


def gate_recovery(ev: dict, th: dict) -> dict:
    budget = th["recovery_seconds"]
    rule, files = f"every fault restored and healthy again within {budget:g} s", ["faults.json"]
    faults = ev["faults"]
    if not isinstance(faults, list):
        return _gate("recovery", None, None, budget, rule, files, _missing(ev, "faults.json"))
    if not faults:
        return _gate("recovery", None, None, budget, rule, files, "no evidence: faults.json lists no fault")
    parts, worst, failed, unmeasured = [], None, False, False
    for i, fault in enumerate(faults):
        fault = _dict(fault)
        name = _text(fault.get("name") or f"fault {i + 1}", 80)
        seconds = _num(fault.get("recovery_seconds"))
        if seconds is not None:
            worst = seconds if worst is None else max(worst, seconds)
        if fault.get("restored") is not True:
            failed = True
            parts.append(f"{name}: not restored")
        elif fault.get("recovered") is None and seconds is None:
            unmeasured = True  # the fault module had no health probe
            parts.append(f"{name}: recovery not measured")
        elif fault.get("recovered") is not True or seconds is None:
            failed = True
            parts.append(f"{name}: not healthy again")
        elif seconds > budget:
            failed = True
            parts.append(f"{name}: healthy again after {fmt_s(seconds)}")
        else:
            parts.append(f"{name}: {fmt_s(seconds)}")
    planned = [_text(n, 80) for n in _list(_dict(ev["run"]).get("faults_planned")) if isinstance(n, str)]
    recorded = {_text(_dict(f).get("name"), 80) for f in faults}
    for name in planned:
        if name not in recorded:  # the fault's task failed: its result never reached faults.json
            failed = True
            parts.append(f"{name}: planned but no result recorded")
    passed = False if failed else (None if unmeasured else True)
    detail = "; ".join(parts)
    return _gate("recovery", passed, _r(worst), budget, rule, files,
                 detail if passed is not None else "no evidence: " + detail)


def gate_audit_logs(ev: dict, th: dict) -> dict:
    limit = th["traceability_min_pct"]
    rule, files = f"request ids traceable in the logs for >= {limit:g} % of sampled requests", ["metrics/metrics.json"]
    metrics = ev["metrics"]
    if not isinstance(metrics, dict):
        return _gate("audit_logs", None, None, limit, rule, files, _missing(ev, "metrics/metrics.json"))
    trace = _dict(metrics.get("traceability"))
    sampled, found = _int(trace.get("sampled")), _int(trace.get("found"))
    pct = _num(trace.get("pct"))
    if pct is None and sampled and found is not None:
        pct = 100.0 * found / sampled
    if not sampled or pct is None:
        return _gate("audit_logs", None, None, limit, rule, files,
                     "no evidence: metrics/metrics.json sampled no request id")
    detail = f"{fmt_n(found)} of {sampled} sampled request ids found in the logs ({fmt_pct(pct)})"
    return _gate("audit_logs", pct >= limit, _r(pct), limit, rule, files, detail)


def gate_exam_mode(ev: dict) -> dict:
    rule = "heavy jobs refused and the job runner idle (verified by effect during the freeze)"
    record = ev["freeze"]
    if not isinstance(record, dict):
        return _gate("exam_mode", None, None, True, rule, ["freeze-*.json"], "no evidence: freeze-*.json missing")
    files = [ev["freeze_file"]]
    em = _dict(record.get("exam_mode"))
    verified = em.get("verified") is True and em.get("state", "enabled") == "enabled"
    evidence = _dict(em.get("evidence"))
    probe, worker = _dict(evidence.get("probe")), _dict(evidence.get("worker"))
    parts = []
    if em.get("mechanism"):
        parts.append(f"mechanism {_text(em['mechanism'], 20)}")
    if probe:
        parts.append(f"probe: {_text(probe.get('last') or NOT_MEASURED, 120)} ({fmt_n(probe.get('answers'))} answers)")
    if worker:
        parts.append(f"job runner: {_text(worker.get('last') or NOT_MEASURED, 120)}")
    if _num(evidence.get("seconds")) is not None:
        parts.append(f"in {fmt_s(evidence['seconds'])}")
    if not em:
        parts.append("the freeze record has no EXAM_MODE result")
    detail = ("verified by effect: " if verified else "not verified: ") + ("; ".join(parts) or "no detail")
    return _gate("exam_mode", verified, verified, True, rule, files, detail)


def gate_db_pool(ev: dict, th: dict) -> dict:
    limit = th["db_pool_pct"]
    rule, files = f"peak connections < {limit:g} % of the app pool and of max_connections", ["metrics/metrics.json"]
    metrics = ev["metrics"]
    if not isinstance(metrics, dict):
        return _gate("db_pool", None, None, limit, rule, files, _missing(ev, "metrics/metrics.json"))
    pool = _dict(metrics.get("db_pool"))
    peak = _num(pool.get("peak_connections"))
    peak_app = _num(pool.get("peak_app_connections"))
    app, maxc = _num(pool.get("pct_of_app_pool")), _num(pool.get("pct_of_max_connections"))
    if app is None and _num(pool.get("app_pool_capacity")) and (peak_app if peak_app is not None else peak) is not None:
        app = 100.0 * (peak_app if peak_app is not None else peak) / pool["app_pool_capacity"]
    if maxc is None and peak is not None and _num(pool.get("max_connections")):
        maxc = 100.0 * peak / pool["max_connections"]
    measured = [v for v in (app, maxc) if v is not None]
    if not measured:
        return _gate("db_pool", None, None, limit, rule, files, "no evidence: metrics/metrics.json has no db_pool usage")
    worst = max(measured)
    detail = (f"peak {fmt_n(peak_app if peak_app is not None else peak)} app connections = {fmt_pct(app)} of the app "
              f"pool ({fmt_n(pool.get('app_pool_capacity'))}); peak {fmt_n(peak)} on the database = {fmt_pct(maxc)} of "
              f"max_connections ({fmt_n(pool.get('max_connections'))})")
    return _gate("db_pool", worst < limit, _r(worst), limit, rule, files, detail)


def evaluate_gates(ev: dict, load: dict, th: dict, only: list[str] | None = None,
                   require_reconciliation: bool = True) -> list[dict]:
    """The hard gates, in report order; `only` keeps the listed gate ids (a post-exam report has no
    load and no faults, so it judges integrity, audit logs and the DB pool only)."""
    unknown = sorted(set(only or []) - set(dict(GATES)))
    if unknown:
        raise OpsError(f"unknown gate {unknown[0]!r}; the gates are {', '.join(g for g, _n in GATES)}.")
    gates = [
        gate_zero_data_loss(ev, th, require_reconciliation),
        gate_no_corrupted_sessions(ev, th),
        gate_latency(ev, load, th),
        gate_error_rate(ev, load, th),
        gate_fault_error_budget(ev, load, th),
        gate_recovery(ev, th),
        gate_audit_logs(ev, th),
        gate_exam_mode(ev),
        gate_db_pool(ev, th),
    ]
    return [g for g in gates if not only or g["id"] in only]


def verdict(gates: list[dict]) -> str:
    return "GO" if gates and all(g["passed"] is True for g in gates) else "NO-GO"


# -- report content (the JSON, from which every rendering is made) ------------------------------

def _freeze_section(ev: dict) -> dict | None:
    record = ev["freeze"]
    if not isinstance(record, dict):
        return None
    em = _dict(record.get("exam_mode"))
    evidence = _dict(em.get("evidence"))
    probe, worker = _dict(evidence.get("probe")), _dict(evidence.get("worker"))
    record_jobs = _dict(record.get("background_jobs"))
    jobs = _dict(record_jobs.get("after")) or _dict(record_jobs.get("found"))  # the state after the freeze
    checks = {_text(c.get("name"), 40): {"passed": c.get("passed") if isinstance(c.get("passed"), bool) else None,
                                         "detail": _text(c.get("detail", ""), 200)}
              for c in _list(_dict(record.get("status_after")).get("checks")) if isinstance(c, dict) and c.get("name")}
    containers = [{"name": _text(c.get("name"), 80), "running": c.get("running") is True,
                   "paused": c.get("paused") is True, "status": _text(c.get("status", ""), 20)}
                  for c in _list(jobs.get("containers")) if isinstance(c, dict)]
    verdict_ = _dict(record.get("verdict"))
    return {
        "file": ev["freeze_file"],
        "started": record.get("started") if isinstance(record.get("started"), str) else None,
        "finished": record.get("finished") if isinstance(record.get("finished"), str) else None,
        "passed": verdict_.get("passed") if isinstance(verdict_.get("passed"), bool) else None,
        "reasons": [_text(r, 300) for r in _list(verdict_.get("reasons")) if isinstance(r, str)],
        "exam_mode": {
            "state": _text(em.get("state"), 20) if em.get("state") else None,
            "mechanism": _text(em.get("mechanism"), 20) if em.get("mechanism") else None,
            "verified": em.get("verified") is True,
            "seconds": _r(evidence.get("seconds")),
            "probe": {"answers": _int(probe.get("answers")), "settled": probe.get("settled") is True,
                      "last": _text(probe.get("last"), 200) if probe.get("last") else None,
                      "statuses": [s for s in _list(probe.get("recent")) if _int(s) is not None][:20]} if probe else None,
            "worker": {"ok": worker.get("ok") is True,
                       "last": _text(worker.get("last"), 200) if worker.get("last") else None} if worker else None,
        },
        "job_containers": containers,
        "job_processes": len(_list(jobs.get("processes"))),
        "checks_after": checks,
    }


def _fault_section(ev: dict, load: dict, th: dict) -> list[dict]:
    faults = _list(ev["faults"])
    windows = iter(_list(_dict(load.get("merged")).get("windows")))  # one per fault with an injected_at
    out = []
    for i, fault in enumerate(faults):
        fault = _dict(fault)
        start, end = parse_iso(fault.get("injected_at")), parse_iso(fault.get("restored_at"))
        window = next(windows, None) if start is not None else None
        seconds = _num(fault.get("recovery_seconds"))
        states = {}
        for when in ("before", "after"):
            states[when] = {_text(k, 80): {"state": _text(_dict(v).get("state") or _dict(v).get("status") or "", 20) or None,
                                           "health": _text(_dict(v).get("health") or "", 20) or None}
                            for k, v in _dict(fault.get(when)).items()}
        out.append({
            "name": _text(fault.get("name") or f"fault {i + 1}", 80),
            "fault": _text(fault.get("fault"), 40) if fault.get("fault") else None,
            "targets": [_text(t, 80) for t in _list(fault.get("targets")) if isinstance(t, str)],
            "injected_at": fault.get("injected_at") if start is not None else None,
            "restored_at": fault.get("restored_at") if end is not None else None,
            "duration_s": _r(fault.get("duration_s")),
            "outage_s": _r(end - start) if start is not None and end is not None else None,
            "restored": fault.get("restored") if isinstance(fault.get("restored"), bool) else None,
            "recovered": fault.get("recovered") if isinstance(fault.get("recovered"), bool) else None,
            "recovery_seconds": _r(seconds),
            "recovery_detail": _text(fault["recovery_detail"], 200) if isinstance(fault.get("recovery_detail"), str) else None,
            "within_budget": (seconds is not None and seconds <= th["recovery_seconds"]
                              and fault.get("recovered") is True) if fault.get("recovered") is not None else None,
            "window": window,
            "window_within_budget": (window["error_rate_pct"] <= th["fault_error_budget_pct"])
            if window and window.get("requests") else None,
            "before": states["before"], "after": states["after"],
        })
    return out


def _integrity_section(ev: dict, th: dict) -> dict | None:
    integrity = ev["integrity"]
    if not isinstance(integrity, dict):
        return None
    loss_names = set(th["data_loss_checks"])
    checks = [{"name": _text(c.get("name"), 80), "description": _text(c.get("description") or "", 200),
               "count": _int(c.get("count")), "expected": _int(c.get("expected")) if _int(c.get("expected")) is not None else 0,
               "passed": c.get("passed") if isinstance(c.get("passed"), bool) else None,
               "gate": "zero_data_loss" if _norm(c.get("name")) in loss_names else "no_corrupted_sessions",
               "samples": [_scalar_sample(s) for s in _list(c.get("samples"))[:3]]}
              for c in _list(integrity.get("checks")) if isinstance(c, dict) and c.get("name")]
    recon = _dict(integrity.get("reconciliation"))
    reconciliation = {
        "passed": recon.get("passed") if isinstance(recon.get("passed"), bool) else None,
        "acknowledged": numeric_fields(recon.get("acknowledged")),
    }
    for part in ("lost", "mismatched", "duplicates", "unexpected"):
        reconciliation[part] = {"count": _count(recon.get(part)),
                                "samples": [_scalar_sample(s) for s in _list(_dict(recon.get(part)).get("samples"))[:5]]}
    return {"passed": integrity.get("passed") if isinstance(integrity.get("passed"), bool) else None,
            "checks": checks, "statistics": numeric_fields(integrity.get("statistics")),
            "reconciliation": reconciliation}


def _metrics_section(ev: dict) -> dict | None:
    metrics = ev["metrics"]
    if not isinstance(metrics, dict):
        return None
    containers = {}
    for name, c in _dict(metrics.get("containers")).items():
        c = _dict(c)
        cpu = [v for v in _list(c.get("cpu_pct")) if _num(v) is not None]
        mem = [v for v in _list(c.get("mem_bytes")) if _num(v) is not None]
        containers[_text(name, 80)] = {"cpu_pct_max": _r(max(cpu)) if cpu else None,
                                       "cpu_pct_avg": _r(sum(cpu) / len(cpu)) if cpu else None,
                                       "mem_bytes_max": _int(max(mem)) if mem else None,
                                       "mem_slope_bytes_per_min": _r(c.get("mem_slope_bytes_per_min")),
                                       "samples": _int(c.get("samples"))}
    prometheus = _dict(metrics.get("prometheus"))
    return {
        "db_pool": numeric_fields(metrics.get("db_pool")),
        "traceability": numeric_fields(metrics.get("traceability")),
        "http_status": numeric_fields(metrics.get("http_status")),
        "slow_sql": numeric_fields(metrics.get("slow_sql")),
        "slow_requests": numeric_fields(metrics.get("slow_requests")),
        "redis": numeric_fields(metrics.get("redis")),
        "edge_errors": numeric_fields(metrics.get("edge_errors")),
        "sessions": numeric_fields(metrics.get("sessions")),
        "prometheus": numeric_fields(prometheus) if prometheus else None,
        "containers": containers,
    }


def _ux_section(ev: dict) -> dict | None:
    ux = ev["ux"]
    if not isinstance(ux, dict):
        return None
    steps = [{"step": _text(s.get("step"), 40), "status": _int(s.get("status")), "ms": _r(s.get("ms"))}
             for s in _list(ux.get("steps")) if isinstance(s, dict) and s.get("step")]
    passed = ux.get("passed")
    if not isinstance(passed, bool):
        passed = (not ux.get("failed")) if isinstance(ux.get("failed"), bool) else None
    checks = {_text(k, 60): v for k, v in _dict(ux.get("checks")).items() if isinstance(v, bool)}
    if passed is None and checks:
        passed = all(checks.values())
    return {"passed": passed, "checks": checks, "steps": steps,
            "msg": _text(ux["msg"], 300) if isinstance(ux.get("msg"), str) else None}


def _stats_series(ev: dict) -> dict:
    """stats.jsonl as per-container time series of CPU % and memory bytes."""
    series: dict[str, dict[str, list]] = {}
    for row in ev["stats"] or []:
        t = parse_iso(row.get("ts"))
        name = row.get("container")
        if t is None or not isinstance(name, str):
            continue
        entry = series.setdefault(_text(name, 80), {"cpu": [], "mem": [], "limit": None})
        if _num(row.get("cpu_pct")) is not None:
            entry["cpu"].append((t, float(row["cpu_pct"])))
        if _num(row.get("mem_bytes")) is not None:
            entry["mem"].append((t, float(row["mem_bytes"])))
        if _num(row.get("mem_limit_bytes")):
            entry["limit"] = float(row["mem_limit_bytes"])
    for entry in series.values():
        entry["cpu"].sort()
        entry["mem"].sort()
    return series


def _risks(gates: list[dict], report: dict) -> list[dict]:
    risks = []
    for g in gates:
        if g["passed"] is not True:
            risks.append({"risk": f"{g['name']}: {g['detail']}", "impact": "High",
                          "likelihood": "High" if g["passed"] is False else "Unknown (not measured)",
                          "mitigation": MITIGATIONS[g["id"]] if g["passed"] is False else
                          f"Collect the missing evidence ({', '.join(g['evidence'])}) and rehearse again.",
                          "gate": g["id"]})
    for scen in report["load"]["scenarios"]:
        if scen.get("thresholds_passed") is False:
            failed = [k for k, v in (scen.get("thresholds") or {}).items() if v is False]
            risks.append({"risk": f"k6 thresholds crossed in scenario {scen['name']}"
                                  + (f" ({', '.join(failed)})" if failed else ""),
                          "impact": "Medium", "likelihood": "High",
                          "mitigation": "Read the scenario's summary.json; fix the slow or failing endpoint.", "gate": None})
        if scen.get("dropped_iterations"):
            risks.append({"risk": f"{scen['dropped_iterations']} iterations dropped in scenario {scen['name']} "
                                  "(the load generator could not keep the planned rate)",
                          "impact": "Medium", "likelihood": "Medium",
                          "mitigation": "Give the load generator more VUs or CPU; rehearse the scenario again.", "gate": None})
    metrics = report.get("metrics") or {}
    for name, c in (metrics.get("containers") or {}).items():
        slope = c.get("mem_slope_bytes_per_min")
        if slope is not None and slope > 1024 * 1024:
            risks.append({"risk": f"memory of {name} grew by {slope / 1048576:.1f} MiB/min during the run",
                          "impact": "Medium", "likelihood": "Medium",
                          "mitigation": "Run a soak test on that service and look for a leak before a long exam.",
                          "gate": None})
    return risks


def build_report(ev: dict, load: dict, gates: list[dict], th: dict, meta: dict) -> dict:
    """The report's whole content (the JSON file); Markdown, JUnit and HTML are renderings of it."""
    run = _dict(ev["run"])
    started = parse_iso(run.get("started_at")) or load.get("first_ts")
    finished = parse_iso(run.get("finished_at")) or load.get("last_ts")
    scenarios = [load["scenarios"][n] for n in load["scenarios"]]
    report: dict[str, Any] = {
        "title": meta.get("title") or DEFAULT_TITLE,
        "date": fmt_time(started)[:10] if started else NOT_MEASURED,
        "environment": meta.get("environment") or (_text(run["environment"], 40) if run.get("environment") else None),
        "api_url": meta.get("api_url"),
        "conducted_by": meta.get("conducted_by"),
        "evidence_dir": ev["dir"],
        "run": {"playbook": _text(run.get("playbook"), 80) if run.get("playbook") else None,
                "host": _text(run.get("host"), 80) if run.get("host") else None,
                "profile": _text(run.get("profile"), 40) if run.get("profile") else None,
                "started_at": fmt_time(started) if started else None,
                "finished_at": fmt_time(finished) if finished else None},
        "verdict": verdict(gates),
        "gates": gates,
        "failed_gates": [g["name"] for g in gates if g["passed"] is not True],
        "thresholds": th,
        "evidence_problems": dict(ev["problems"]),
        "freeze": _freeze_section(ev),
        "load": {"scenarios": scenarios, "overall": load["merged"], "windows": load["windows"]},
        "faults": _fault_section(ev, load, th) if isinstance(ev["faults"], list) else None,
        "integrity": _integrity_section(ev, th),
        "metrics": _metrics_section(ev),
        "ux": _ux_section(ev),
        "timeline": {"per_second": [{k: _r(v) if k != "t" else v for k, v in row.items()} for row in load["per_second"]]},
        "files_present": _present_files(ev),
    }
    report["risks"] = _risks(gates, report)
    return json_safe(report)


def _present_files(ev: dict) -> dict:
    out = {}
    for rel in ("run.json", "faults.json", "integrity.json", "ux.json"):
        out[rel] = os.path.isfile(os.path.join(ev["dir"], rel))
    out["freeze"] = ev["freeze_file"]
    out["load"] = {n: e["files"] for n, e in ev["load"].items()}
    out["metrics"] = ev["metrics_files"]
    return out


# -- Markdown ------------------------------------------------------------------------------------

def _box(flag: Any) -> str:
    return "[x]" if flag is True else "[ ]"


def _item(text: str, flag: Any, note: str = "") -> str:
    """A checkbox line; unknown (None) says "not measured" instead of pretending either way."""
    if flag is None:
        return f"- [ ] {text} ({NOT_MEASURED}{': ' + note if note else ''})"
    return f"- {_box(flag)} {text}" + (f" ({note})" if note else "")


def _md(value: Any) -> str:
    """Evidence text inside Markdown: one line, no table-breaking pipes."""
    return _text(value, 400).replace("|", "\\|") if value is not None else NOT_MEASURED


def _gate_result(g: dict) -> str:
    return "PASS" if g["passed"] is True else ("FAIL" if g["passed"] is False else "NO EVIDENCE")


def _findings(report: dict) -> list[str]:
    gates = report["gates"]
    ordered = ([g for g in gates if g["passed"] is False] + [g for g in gates if g["passed"] is None]
               + [g for g in gates if g["passed"] is True])
    return [f"{_gate_result(g)} — {g['name']}: {_strip_no_evidence(g['detail'])}" for g in ordered]


def _strip_no_evidence(detail: str) -> str:
    return detail[len("no evidence: "):] if detail.startswith("no evidence: ") else detail


def _assessment(report: dict) -> str:
    gates = report["gates"]
    failed = [g["name"] for g in gates if g["passed"] is False]
    missing = [g["name"] for g in gates if g["passed"] is None]
    if report["verdict"] == "GO":
        return f"GO: all {len(gates)} hard gates passed on the evidence of this rehearsal."
    parts = []
    if failed:
        parts.append(f"{len(failed)} of {len(gates)} hard gates failed ({', '.join(failed)})")
    if missing:
        parts.append(f"{len(missing)} of {len(gates)} had no evidence ({', '.join(missing)})")
    return "NO-GO: " + " and ".join(parts) + "."


def _issues(items: list[str]) -> list[str]:
    if not items:
        return ["**Issues Found**: none"]
    return ["**Issues Found**:"] + [f"- {_md(i)}" for i in items]


def _gate_by_id(report: dict, gid: str) -> dict:
    found = [g for g in report["gates"] if g["id"] == gid]
    # a gate left out of this report (post-exam: no load, no faults) is shown as not judged
    return found[0] if found else _gate(gid, None, None, None, "not judged in this report", [], "not judged in this report")


def _ux_step_ok(ux: dict | None, step: str) -> bool | None:
    if not ux:
        return None
    statuses = [s["status"] for s in ux["steps"] if s["step"] == step and s["status"] is not None]
    return all(200 <= s < 300 for s in statuses) if statuses else None


def _md_header(report: dict) -> list[str]:
    run = report["run"]
    lines = [f"# {_md(report['title'])}", "",
             f"**Date**: {report['date']}",
             f"**Environment**: {_md(report['environment'] or 'not recorded')}",
             f"**API URL**: {_md(report['api_url'] or 'not recorded')}",
             f"**Conducted By**: {_md(report['conducted_by'] or 'not recorded')}",
             f"**Run**: {_md(run['playbook'] or 'playbook not recorded')} on {_md(run['host'] or 'host not recorded')}, "
             f"profile {_md(run['profile'] or 'not recorded')}, {run['started_at'] or NOT_MEASURED} to "
             f"{run['finished_at'] or NOT_MEASURED}",
             f"**Evidence**: `{report['evidence_dir']}`", "", "---", "",
             "## Executive Summary", "",
             f"**Status**: {_box(report['verdict'] == 'GO')} GO  {_box(report['verdict'] == 'NO-GO')} NO-GO", "",
             f"**Overall Assessment**: {_md(_assessment(report))}", "", "**Key Findings**:"]
    lines += [f"- {_md(f)}" for f in _findings(report)]
    if report["evidence_problems"]:
        lines += ["", "**Unreadable evidence**:"] + [f"- `{k}`: {_md(v)}" for k, v in report["evidence_problems"].items()]
    return lines + ["", "---", ""]


def _md_freeze(report: dict) -> list[str]:
    fr, ux = report["freeze"], report["ux"]
    lines = ["## Phase 1: Pre-Exam Freeze", "", "### EXAM_MODE Verification", ""]
    if not fr:
        lines += [f"**EXAM_MODE Status**: {NOT_MEASURED} (no freeze-*.json in the evidence)", "",
                  "**Background Jobs**:", _item("No cron jobs running", None), _item("No scheduled tasks active", None),
                  _item("Heavy analytics disabled", None), "", "**Critical Endpoints**:",
                  _item("`/health` accessible", None), _item("`/v1/ready` accessible", None),
                  _item("Session creation works", _ux_step_ok(ux, "sessions"), "ux.json" if ux else "no ux.json"),
                  _item("Answer submission works", _ux_step_ok(ux, "answer"), "ux.json" if ux else "no ux.json"), ""]
        return lines + _issues(["no freeze record: EXAM_MODE and background jobs were not verified"]) + ["", "---", ""]
    em = fr["exam_mode"]
    probe, worker = em.get("probe") or {}, em.get("worker") or {}
    state = em["state"] or NOT_MEASURED
    verified = f"verified by effect in {fmt_s(em['seconds'])}" if em["verified"] else "NOT verified by effect"
    lines += [f"**EXAM_MODE Status**: {_md(state)} ({verified}; mechanism {_md(em['mechanism'] or NOT_MEASURED)}; "
              f"record `{fr['file']}`)", ""]
    if probe:
        lines += [f"Probe: {fmt_n(probe.get('answers'))} answers, last: {_md(probe.get('last'))}; statuses "
                  f"{', '.join(str(s) for s in probe.get('statuses') or []) or NOT_MEASURED}", ""]
    running = [c["name"] for c in fr["job_containers"] if c["running"] and not c["paused"]]
    jobs_note = (", ".join(f"{c['name']}: {'paused' if c['paused'] else c['status']}" for c in fr["job_containers"])
                 or "no job container found")
    if fr["job_processes"]:
        jobs_note += f"; {fr['job_processes']} job processes paused"
    lines += ["**Background Jobs**:",
              _item("No cron jobs running", not running, jobs_note),
              _item("No scheduled tasks active", worker.get("ok") if worker else None,
                    _md(worker.get("last")) if worker else "no job-runner evidence"),
              _item("Heavy analytics disabled", (probe.get("settled") is True and em["verified"]) if probe else None,
                    "heavy-job probe refused" if probe and em["verified"] else "heavy-job probe"),
              "", "**Critical Endpoints**:"]
    checks = fr["checks_after"]
    for label, name in (("`/health` accessible", "health"), ("`/v1/ready` accessible", "ready")):
        check = checks.get(name)
        lines.append(_item(label, check["passed"] if check else None, _md(check["detail"]) if check else "not checked"))
    lines += [_item("Session creation works", _ux_step_ok(ux, "sessions"), "ux.json" if ux else "no ux.json"),
              _item("Answer submission works", _ux_step_ok(ux, "answer"), "ux.json" if ux else "no ux.json"), ""]
    issues = list(fr["reasons"])
    if fr["passed"] is False and not issues:
        issues.append("the freeze verdict did not pass")
    return lines + _issues(issues) + ["", "---", ""]


def _md_load(report: dict) -> list[str]:
    scenarios = report["load"]["scenarios"]
    metrics = report["metrics"] or {}
    lines = ["## Phase 2: Load Generation", "", "### Test Parameters", ""]
    if not scenarios:
        lines += [f"- **Concurrent Users**: {NOT_MEASURED}", f"- **Duration**: {NOT_MEASURED}",
                  f"- **Test Type**: {NOT_MEASURED} (no load/<scenario>/ in the evidence)"]
    else:
        lines += ["- **Concurrent Users**: " + ", ".join(f"{s['name']} {fmt_n(s.get('vus_max'))} VUs" for s in scenarios),
                  "- **Duration**: " + ", ".join(f"{s['name']} {fmt_s(s.get('duration_s'))}" for s in scenarios),
                  "- **Test Type**: " + " / ".join(s["title"] for s in scenarios)]
    lines += ["", "### Results", ""]
    issues = []
    for s in scenarios:
        source = {"raw": "raw k6 samples", "result": "result.json (no raw samples)"}.get(s["source"], "no numbers")
        lines += [f"**{_md(s['title'])}** (scenario `{_md(s['name'])}`, from {source}):",
                  f"- Total requests: {fmt_n(s.get('requests'))}",
                  f"- Success rate: {fmt_pct(s.get('success_rate_pct'))}",
                  f"- p50 latency: {fmt_ms(s.get('p50_ms'))}",
                  f"- p95 latency: {fmt_ms(s.get('p95_ms'))}",
                  f"- p99 latency: {fmt_ms(s.get('p99_ms'))}",
                  f"- Errors: {fmt_n(s.get('errors'))} ({fmt_pct(s.get('error_rate_pct'))})"]
        out, inn = s.get("outside"), s.get("inside")
        if out:
            lines.append(f"- Outside fault windows: p95 {fmt_ms(out.get('p95_ms'))}, errors {fmt_n(out.get('errors'))} "
                         f"of {fmt_n(out.get('requests'))} ({fmt_pct(out.get('error_rate_pct'))})")
        else:
            lines.append(f"- Outside fault windows: {NOT_MEASURED}")
        if inn and inn.get("requests"):
            lines.append(f"- Inside fault windows: p95 {fmt_ms(inn.get('p95_ms'))}, errors {fmt_n(inn.get('errors'))} "
                         f"of {fmt_n(inn.get('requests'))} ({fmt_pct(inn.get('error_rate_pct'))})")
        if s.get("thresholds_passed") is not None:
            lines.append(f"- k6 thresholds: {'passed' if s['thresholds_passed'] else 'crossed'}")
        if s.get("dropped_iterations") is not None:
            lines.append(f"- Dropped iterations: {s['dropped_iterations']}")
        if s.get("acks"):
            lines.append("- Acknowledged writes: " + ", ".join(f"{k} {fmt_n(v)}" for k, v in s["acks"].items()))
        lines.append("")
        if s.get("problem"):
            issues.append(f"{s['name']}: {s['problem']}")
        if s.get("thresholds_passed") is False:
            issues.append(f"{s['name']}: k6 thresholds crossed")
    pool = metrics.get("db_pool") or {}
    pct_app = pool.get("pct_of_app_pool")
    lines += ["### Database Connection Pool", "",
              f"- Peak connections: {fmt_n(pool.get('peak_connections'))}",
              f"- Pool size: {fmt_n(pool.get('pool_size', pool.get('app_pool_capacity')))}"
              + (" (app pool capacity: pool_size + max_overflow per process)" if "pool_size" not in pool
                 and pool.get("app_pool_capacity") is not None else ""),
              f"- Max overflow: {fmt_n(pool.get('max_overflow'))}",
              f"- max_connections: {fmt_n(pool.get('max_connections'))} (peak {fmt_pct(pool.get('pct_of_max_connections'))})",
              "- Pool exhaustion: " + (f"[{'x' if pct_app >= 100 else ' '}] Yes  [{' ' if pct_app >= 100 else 'x'}] No "
                                       f"(peak {fmt_pct(pct_app)} of the app pool)" if pct_app is not None else
                                       f"[ ] Yes  [ ] No ({NOT_MEASURED})"), ""]
    redis = metrics.get("redis") or {}
    redis_fault = [f for f in report["faults"] or [] if "redis" in (f["name"] + " " + " ".join(f["targets"])).lower()]
    handled = None
    if redis_fault:
        flags = [f["window_within_budget"] for f in redis_fault] + [f["within_budget"] for f in redis_fault]
        handled = False if False in flags else (None if None in flags else True)
    lines += ["### Redis Status", "",
              f"- Connection failures: {fmt_n(_pick(redis, ('connection_failures', 'rejected_connections', 'connection_errors')))}",
              f"- Reconnect attempts: {fmt_n(_pick(redis, ('reconnects', 'reconnect_attempts', 'redis_reconnects')))}",
              "- Degradation handled: " + (f"[{'x' if handled else ' '}] Yes  [{' ' if handled else 'x'}] No "
                                           "(Redis fault recovered and within the error budget)" if handled is not None
                                           else f"[ ] Yes  [ ] No ({NOT_MEASURED}: no Redis fault measured)"), ""]
    gate = _gate_by_id(report, "db_pool")
    if gate["passed"] is False:
        issues.append(f"DB pool: {gate['detail']}")
    return lines + _issues(issues) + ["", "---", ""]


def _md_faults(report: dict) -> list[str]:
    lines = ["## Phase 3: Failure Injection", ""]
    faults = report["faults"]
    th = report["thresholds"]
    if faults is None:
        return lines + [f"No fault was measured: faults.json is missing ({NOT_MEASURED}).", "",
                        *_issues(["no failure injection evidence"]), "", "---", ""]
    if not faults:
        return lines + ["faults.json lists no fault: failure handling was not exercised.", "",
                        *_issues(["no fault injected"]), "", "---", ""]
    for i, f in enumerate(faults):
        letter = chr(ord("A") + i) if i < 26 else str(i + 1)
        w = f["window"]
        what = f"{_md(f['fault'] or 'fault')} on {_md(', '.join(f['targets']) or 'no target recorded')}"
        lines += [f"### {letter}) {_md(f['name'])}", "",
                  f"**Scenario**: {what} for {fmt_s(f['duration_s'])} (injected {_md(f['injected_at'])}, "
                  f"restored {_md(f['restored_at'])})", "", "**Expected Behavior**:",
                  _item("Target restored after the fault", f["restored"]),
                  _item(f"Healthy again within {th['recovery_seconds']:g} s", f["within_budget"],
                        f"after {fmt_s(f['recovery_seconds'])}" if f["recovery_seconds"] is not None else ""),
                  _item(f"Requests during the fault within the error budget ({th['fault_error_budget_pct']:g} %)",
                        f["window_within_budget"],
                        f"{w['errors']} of {w['requests']} failed" if w and w.get("requests") else
                        "no request during the window"),
                  ""]
        actual = []
        if w and w.get("requests"):
            actual.append(f"{w['requests']} requests in the window, {w['errors']} failed ({fmt_pct(w['error_rate_pct'])}), "
                          f"p95 {fmt_ms(w.get('p95_ms'))}")
        else:
            actual.append(f"load during the window {NOT_MEASURED}")
        if f["recovery_detail"]:
            actual.append(f"recovery: {f['recovery_detail']}")
        for when in ("before", "after"):
            if f[when]:
                actual.append(f"{when}: " + ", ".join(f"{k} {v['state'] or '?'}/{v['health'] or 'no health check'}"
                                                      for k, v in f[when].items()))
        lines += [f"**Actual Behavior**: {_md('; '.join(actual))}", "",
                  f"**Recovery Time**: {fmt_s(f['recovery_seconds'])}"
                  + (" (not recovered)" if f["recovered"] is False else ""), ""]
        issues = []
        if f["restored"] is False:
            issues.append("the fault was not undone")
        if f["recovered"] is False:
            issues.append("the platform did not become healthy again")
        elif f["within_budget"] is False:
            issues.append(f"recovery took longer than {th['recovery_seconds']:g} s")
        if f["window_within_budget"] is False:
            issues.append(f"error rate during the fault above {th['fault_error_budget_pct']:g} %")
        lines += _issues(issues) + [""]
    return lines + ["---", ""]


def _check_title(check: dict) -> str:
    for title, names in SEED_CHECKS:
        if _norm(check["name"]) in names:
            return title
    return check["description"] or check["name"].replace("_", " ").capitalize()


def _md_integrity(report: dict) -> list[str]:
    lines = ["## Phase 4: Data Integrity Verification", "", "### Verification Results", ""]
    integ = report["integrity"]
    if not integ:
        lines += [f"**{title}**: {NOT_MEASURED} (Expected: 0)" for title, _names in SEED_CHECKS]
        lines += ["", "### Summary Statistics", ""] + [f"- {t}: {NOT_MEASURED}" for t, _n in SEED_STATISTICS]
        return lines + ["", *_issues(["integrity.json missing: data integrity not verified"]), "", "---", ""]
    issues = []
    covered = set()
    for check in integ["checks"]:
        covered.add(_norm(check["name"]))
        mark = "" if check["passed"] is True else (" FAILED" if check["passed"] is False else " (no verdict)")
        lines += [f"**{_md(_check_title(check))}** (`{_md(check['name'])}`): {fmt_n(check['count'])} "
                  f"(Expected: {check['expected']}){mark}", ""]
        if check["passed"] is not True:
            sample = f"; e.g. {json.dumps(check['samples'], sort_keys=True)}" if check["samples"] else ""
            issues.append(f"{check['name']}: {fmt_n(check['count'])} rows{sample}")
    for title, names in SEED_CHECKS:
        if not covered.intersection(names):
            lines += [f"**{title}**: {NOT_MEASURED} (no such check in integrity.json) (Expected: 0)", ""]
    rec = integ["reconciliation"]
    acked = ", ".join(f"{k} {fmt_n(v)}" for k, v in rec["acknowledged"].items()) or NOT_MEASURED
    lines += ["### Reconciliation with acknowledged writes", "",
              f"- Acknowledged: {acked}",
              f"- Lost: {fmt_n(rec['lost']['count'])} (Expected: 0)",
              f"- Stored with another value: {fmt_n(rec['mismatched']['count'])} (Expected: 0)",
              f"- Stored twice: {fmt_n(rec['duplicates']['count'])} (Expected: 0)",
              f"- Stored without an acknowledgement: {fmt_n(rec['unexpected']['count'])}",
              f"- Reconciliation: {'passed' if rec['passed'] else ('failed' if rec['passed'] is False else NOT_MEASURED)}",
              ""]
    for part in ("lost", "mismatched", "duplicates"):
        if rec[part]["count"]:
            sample = f"; e.g. {json.dumps(rec[part]['samples'], sort_keys=True)}" if rec[part]["samples"] else ""
            issues.append(f"{rec[part]['count']} acknowledged writes {part}{sample}")
    stats = integ["statistics"]
    lines += ["### Summary Statistics", ""]
    shown = set()
    for title, names in SEED_STATISTICS:
        key = next((n for n in names if n in stats), None)
        shown.add(key)
        lines.append(f"- {title}: {fmt_n(stats[key]) if key else NOT_MEASURED}")
    lines += [f"- {k.replace('_', ' ').capitalize()}: {fmt_n(v) if not isinstance(v, bool) else v}"
              for k, v in stats.items() if k not in shown]
    return lines + ["", *_issues(issues), "", "---", ""]


def _md_ux(report: dict) -> list[str]:
    ux = report["ux"]
    checks = (ux or {}).get("checks") or {}

    def flag(*names: str) -> bool | None:
        for name in names:
            if name in checks:
                return checks[name]
        return None
    refresh, refresh_note = _load_rate(report, "refresh_continued", "token refreshes during the load kept the session")
    double, double_note = _load_rate(report, "double_submit_same", "double submits during the load got the same answer")
    token = flag("token_refresh", "refresh_keeps_session")
    idempotent = flag("submit_idempotent")
    lines = ["## Phase 5: User Experience Validation", "",
             "API-level checks by `examday.ops.student_flow` (ux.json) and the load scripts; what a browser shows "
             "is not measured here.", "",
             "### Frontend Checks", "",
             _item("No spinner hangs", None, "browser not driven"),
             _item("Graceful error messages on retries", None, "browser not driven"),
             _item("Resume works after refresh", flag("resume_consistent", "resume_works"),
                   "session read again shows the same progress" if ux else "no ux.json"),
             _item("Timer behaves correctly", flag("timer_consistent", "timer_ok"), "" if ux else "no ux.json"),
             _item("Submit is idempotent (same answer twice, one submit)", _both(idempotent, double),
                   "; ".join(n for n in ("ux.json" if idempotent is not None else "", double_note) if n)),
             "", "### Auth Checks", "",
             _item("Token refresh does not interrupt session", _both(token, refresh),
                   "; ".join(n for n in ("ux.json" if token is not None else "", refresh_note) if n)),
             _item("Logout does not delete active attempt state", flag("logout_keeps_attempt", "logout_keeps_state"),
                   "" if ux else "no ux.json"),
             ""]
    issues = [note for ok, note in ((refresh, refresh_note), (double, double_note)) if ok is False]
    if ux is None:
        issues.append("ux.json missing: the student flow was not measured")
    else:
        if ux["passed"] is False:
            issues.append(ux["msg"] or "the student flow failed")
        issues += [f"check {k} failed" for k, v in checks.items() if v is False]
        slow = [s for s in ux["steps"] if s["status"] is not None and not 200 <= s["status"] < 300]
        issues += [f"step {s['step']} answered HTTP {s['status']}" for s in slow[:5]]
    return lines + _issues(issues) + ["", "---", ""]


def _both(a: bool | None, b: bool | None) -> bool | None:
    """Two pieces of evidence for one item: either failing fails it, none measured stays unknown."""
    if a is False or b is False:
        return False
    return True if a or b else None


def _load_rate(report: dict, key: str, what: str) -> tuple[bool | None, str]:
    """A k6 rate of the load scripts summed over the scenarios: (all passed, note)."""
    passes = fails = 0
    for scen in report["load"]["scenarios"]:
        part = (scen.get("exam") or {}).get(key) or {}
        passes += part.get("passes") or 0
        fails += part.get("fails") or 0
    if not passes and not fails:
        return None, ""
    return fails == 0, f"{passes} of {passes + fails} {what}"


def _md_observability(report: dict) -> list[str]:
    overall = report["load"]["overall"] or {}
    m = report["metrics"]
    lines = ["## Phase 6: Observability Review", "", "### Metrics Captured", "",
             "**Request Duration** (all k6 samples of the run, merged):",
             f"- p50: {fmt_ms(overall.get('p50_ms'))}", f"- p95: {fmt_ms(overall.get('p95_ms'))}",
             f"- p99: {fmt_ms(overall.get('p99_ms'))}", ""]
    issues = []
    if not m:
        lines += ["**Database Query Duration**:", f"- Slow queries (>100ms): {NOT_MEASURED}",
                  f"- Very slow queries (>300ms): {NOT_MEASURED}", "", "**Error Rates**:",
                  f"- Total errors: {fmt_n(overall.get('errors'))} (k6)", f"- 5xx errors: {NOT_MEASURED}",
                  f"- Error rate: {fmt_pct(overall.get('error_rate_pct'))} (k6)", "", "**Database Pool Usage**:",
                  f"- Peak usage: {NOT_MEASURED}", f"- Average usage: {NOT_MEASURED}", "",
                  f"**Redis Reconnects**: {NOT_MEASURED}", "",
                  f"**Request ID Traceability**: [ ] Yes  [ ] No ({NOT_MEASURED})", ""]
        return lines + _issues(["metrics/metrics.json missing: observability not captured"]) + ["", "---", ""]
    sql, status, pool, redis = m["slow_sql"], m["http_status"], m["db_pool"], m["redis"]
    slow_warn = _pick(sql, ("count_100ms", "over_100ms", "warn", "warnings", "gt_100ms"))
    slow_err = _pick(sql, ("count_300ms", "over_300ms", "error", "errors", "gt_300ms"))
    errors_5xx = status.get("5xx")
    total_errors = (status.get("4xx") or 0) + (status.get("5xx") or 0) if ("4xx" in status or "5xx" in status) else None
    peak_pct = max([v for v in (pool.get("pct_of_app_pool"), pool.get("pct_of_max_connections")) if v is not None],
                   default=None)
    gate = _gate_by_id(report, "audit_logs")
    trace = m["traceability"]
    lines += ["**Database Query Duration**:",
              f"- Slow queries (>100ms): {fmt_n(slow_warn)}", f"- Very slow queries (>300ms): {fmt_n(slow_err)}", "",
              "**Slow Requests** (backend log): " + (", ".join(f"{k} {fmt_n(v)}" for k, v in m["slow_requests"].items())
                                                     or NOT_MEASURED), "",
              "**Error Rates** (backend log):",
              f"- Total errors: {fmt_n(total_errors)} (4xx + 5xx)", f"- 5xx errors: {fmt_n(errors_5xx)}",
              f"- Error rate: {fmt_pct(status.get('error_rate_pct'))}", "",
              "**Database Pool Usage**:",
              f"- Peak usage: {fmt_pct(peak_pct)}",
              f"- Average usage: {fmt_pct(_pick(pool, ('avg_pct_of_app_pool', 'avg_pct', 'average_pct')))}", "",
              f"**Redis Reconnects**: {fmt_n(_pick(redis, ('reconnects', 'reconnect_attempts', 'redis_reconnects')))}", "",
              "**Request ID Traceability**: " + (f"[{'x' if gate['passed'] else ' '}] Yes  [{' ' if gate['passed'] else 'x'}] No"
                                                 if gate["passed"] is not None else f"[ ] Yes  [ ] No ({NOT_MEASURED})")
              + f" ({fmt_n(trace.get('found'))} of {fmt_n(trace.get('sampled'))} sampled request ids found)", ""]
    if m["edge_errors"]:
        lines += ["**Edge proxy**: " + ", ".join(f"{k} {fmt_n(v)}" for k, v in m["edge_errors"].items()), ""]
    if m["sessions"]:
        lines += ["**Sessions**: " + ", ".join(f"{k} {fmt_n(v)}" for k, v in m["sessions"].items()), ""]
    lines += ["**Prometheus**: " + ("not configured" if m["prometheus"] is None or m["prometheus"].get("configured") is False
                                    else ", ".join(f"{k} {v}" for k, v in m["prometheus"].items()) or "configured"), ""]
    if m["containers"]:
        lines += ["**Containers**:", "", "| container | CPU max | CPU avg | memory max | memory slope |",
                  "|---|---|---|---|---|"]
        for name, c in m["containers"].items():
            mem = f"{c['mem_bytes_max'] / 1048576:.1f} MiB" if c["mem_bytes_max"] is not None else NOT_MEASURED
            slope = (f"{c['mem_slope_bytes_per_min'] / 1048576:+.2f} MiB/min" if c["mem_slope_bytes_per_min"] is not None
                     else NOT_MEASURED)
            lines.append(f"| {_md(name)} | {fmt_pct(c['cpu_pct_max'])} | {fmt_pct(c['cpu_pct_avg'])} | {mem} | {slope} |")
        lines.append("")
    if gate["passed"] is not True:
        issues.append(f"traceability: {gate['detail']}")
    if slow_err:
        issues.append(f"{fmt_n(slow_err)} very slow queries (>300 ms)")
    return lines + _issues(issues) + ["", "---", ""]


def _md_recovery(report: dict) -> list[str]:
    faults = report["faults"] or []
    ux = report["ux"]
    th = report["thresholds"]
    lines = ["## Phase 7: Recovery Drill", "", "### Full Backend Restart", ""]
    restarts = [f for f in faults if "restart" in f"{f['fault']} {f['name']}".lower()]
    full = max(restarts, key=lambda f: (("full" in f["name"].lower()) * 100 + len(f["targets"]))) if restarts else None
    integrity_ok = [_gate_by_id(report, "zero_data_loss")["passed"], _gate_by_id(report, "no_corrupted_sessions")["passed"]]
    if full:
        lines += [f"Fault: {_md(full['name'])} ({_md(', '.join(full['targets']) or 'no target recorded')})", "",
                  f"**Restart Time**: {fmt_s(full['outage_s'])}", "",
                  f"**Recovery Time**: {fmt_s(full['recovery_seconds'])}", ""]
    else:
        lines += [f"**Restart Time**: {NOT_MEASURED} (no restart among the faults)", "",
                  f"**Recovery Time**: {NOT_MEASURED}", ""]
    lines += ["**Services Restored**:",
              _item("Health endpoint", (full["recovered"] if full else None), "healthy again after the restart"
                    if full else "no restart measured"),
              _item("Ready endpoint", None, "not probed separately after the restart"),
              _item("Session creation", _ux_step_ok(ux, "sessions"), "ux.json" if ux else "no ux.json"),
              _item("Answer submission", _ux_step_ok(ux, "answer"), "ux.json" if ux else "no ux.json"),
              _item("Session submit", _ux_step_ok(ux, "submit"), "ux.json" if ux else "no ux.json"), "",
              "**Data Consistency**: " + (
                  "[x] Verified  [ ] Issues found" if all(v is True for v in integrity_ok) else
                  "[ ] Verified  [x] Issues found" if False in integrity_ok else
                  f"[ ] Verified  [ ] Issues found ({NOT_MEASURED})"), ""]
    if faults:
        lines += ["### Recovery per fault", "", "| fault | restored | healthy again after | within budget |",
                  "|---|---|---|---|"]
        for f in faults:
            ok = {True: "yes", False: "no", None: NOT_MEASURED}
            lines.append(f"| {_md(f['name'])} | {ok[f['restored']]} | {fmt_s(f['recovery_seconds'])} | "
                         f"{ok[f['within_budget']]} (budget {th['recovery_seconds']:g} s) |")
        lines.append("")
    gate = _gate_by_id(report, "recovery")
    return lines + _issues([] if gate["passed"] is True else [gate["detail"]]) + ["", "---", ""]


def _md_risks(report: dict) -> list[str]:
    lines = ["## Risk Register", "", "### Observed Weak Points", ""]
    risks = report["risks"]
    if not risks:
        lines += ["No weak point observed in this rehearsal's evidence.", ""]
    for i, r in enumerate(risks, 1):
        lines += [f"{i}. **Risk**: {_md(r['risk'])}", f"   - **Impact**: {r['impact']}",
                  f"   - **Likelihood**: {r['likelihood']}", f"   - **Mitigation**: {_md(r['mitigation'])}", ""]
    lines += ["### Mitigation Plan", ""]
    lines += [f"{i}. {_md(r['mitigation'])}" for i, r in enumerate(risks, 1)] or ["Nothing to mitigate."]
    return lines + ["", "---", ""]


def _md_decision(report: dict) -> list[str]:
    lines = ["## GO/NO-GO Decision", "", "### Hard Gates", ""]
    for g in report["gates"]:
        lines.append(f"- {_box(g['passed'])} **{g['name']}** ({_md(g['rule'])}): {_gate_result(g)}, {_md(g['detail'])}")
    lines += ["", "| gate | result | value | threshold | evidence |", "|---|---|---|---|---|"]
    for g in report["gates"]:
        lines.append(f"| {g['name']} | {_gate_result(g)} | {_md(_fmt_value(g['value'], g['unit']))} | "
                     f"{_md(_fmt_value(g['threshold'], g['unit']))} | {_md(', '.join(g['evidence']))} |")
    blockers = [g for g in report["gates"] if g["passed"] is not True]
    lines += ["", "### Blockers", ""]
    lines += [f"- {g['name']}: {_md(g['detail'])}" for g in blockers] or ["None."]
    go = report["verdict"] == "GO"
    lines += ["", "### Decision", "",
              f"**Status**: {_box(go)} GO  {_box(not go)} NO-GO", "",
              f"**Rationale**: {_md(_assessment(report))} Thresholds: "
              + ", ".join(f"{k} {v:g}" for k, v in report["thresholds"].items() if isinstance(v, (int, float))) + ".", "",
              "**Conditions**: " + ("none beyond the rehearsed configuration: exam day must run the same versions, "
                                    "limits and inventory." if go else
                                    "fix every blocker and rehearse again; GO needs every hard gate passed on new "
                                    "evidence."), "", "---", ""]
    return lines


def _fmt_value(value: Any, unit: str = "") -> str:
    if value is None:
        return NOT_MEASURED
    if isinstance(value, bool):
        return "verified" if value else "not verified"
    if _num(value) is None:
        return str(value)
    return f"{fmt_n(value)} {unit}".rstrip()


def _md_signoff_appendix(report: dict) -> list[str]:
    files = report["files_present"]
    load_files = [f"`load/{n}/{f}`" for n, fs in files["load"].items() for f in fs]
    metrics_files = [f"`metrics/{f}`" for f in files["metrics"] if "log" not in f]
    log_files = [f"`metrics/{f}`" for f in files["metrics"] if "log" in f]
    return ["## Sign-Off", "",
            f"**Conducted By**: {_md(report['conducted_by'] or '_________________')}  **Date**: {report['date']}", "",
            "**Reviewed By**: _________________  **Date**: _______________", "",
            "**Approved By**: _________________  **Date**: _______________", "", "---", "",
            "## Appendices", "",
            f"Paths relative to `{report['evidence_dir']}`.", "",
            "### A) Load Test Scripts", "",
            ("k6 outputs: " + ", ".join(load_files)) if load_files else f"{NOT_MEASURED} (no load/ evidence)", "",
            "### B) Failure Injection Logs", "",
            "`faults.json`" if files["faults.json"] else f"{NOT_MEASURED} (no faults.json)", "",
            "### C) Data Integrity SQL Results", "",
            "`integrity.json`" if files["integrity.json"] else f"{NOT_MEASURED} (no integrity.json)", "",
            "### D) Observability Metrics", "",
            ", ".join(metrics_files) if metrics_files else f"{NOT_MEASURED} (no metrics/ evidence)", "",
            "### E) System Logs", "",
            (", ".join(log_files) or f"{NOT_MEASURED} (no log capture in metrics/)")
            + (f"; freeze record `{files['freeze']}`" if files["freeze"] else ""), ""]


def render_markdown(report: dict) -> str:
    lines = (_md_header(report) + _md_freeze(report) + _md_load(report) + _md_faults(report) + _md_integrity(report)
             + _md_ux(report) + _md_observability(report) + _md_recovery(report) + _md_risks(report)
             + _md_decision(report) + _md_signoff_appendix(report))
    return "\n".join(lines).rstrip() + "\n"


# -- JUnit ---------------------------------------------------------------------------------------

def _xml_text(value: Any) -> str:
    return _XML_BAD.sub("?", str(value))


def render_junit(report: dict) -> str:
    """One <testcase> per hard gate; a failure element (with the detail) when failed or without evidence."""
    gates = report["gates"]
    failures = sum(1 for g in gates if g["passed"] is not True)
    attrs = {"name": SUITE_NAME, "tests": str(len(gates)), "failures": str(failures), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", attrs)
    suite_attrs = dict(attrs, hostname=_xml_text(report["run"]["host"] or "unknown"))
    if report["run"]["started_at"]:
        suite_attrs["timestamp"] = report["run"]["started_at"]
    suite = ET.SubElement(root, "testsuite", suite_attrs)
    props = ET.SubElement(suite, "properties")
    for name, value in (("verdict", report["verdict"]), ("environment", report["environment"] or ""),
                        ("evidence_dir", report["evidence_dir"])):
        ET.SubElement(props, "property", {"name": name, "value": _xml_text(value)})
    for g in gates:
        case = ET.SubElement(suite, "testcase", {"classname": f"{SUITE_NAME}.gates", "name": _xml_text(g["name"]),
                                                 "time": "0"})
        if g["passed"] is not True:
            kind = "gate_failed" if g["passed"] is False else "no_evidence"
            failure = ET.SubElement(case, "failure", {"type": kind, "message": _xml_text(g["detail"])})
            failure.text = _xml_text(f"{g['rule']}\nvalue: {_fmt_value(g['value'], g['unit'])}; threshold: {_fmt_value(g['threshold'], g['unit'])}\n"
                                     f"evidence: {', '.join(g['evidence'])}\n{g['detail']}")
        out = ET.SubElement(case, "system-out")
        out.text = _xml_text(f"value: {_fmt_value(g['value'], g['unit'])}; threshold: {_fmt_value(g['threshold'], g['unit'])}; "
                             f"evidence: {', '.join(g['evidence'])}; {g['detail']}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- HTML with inline SVG ------------------------------------------------------------------------

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
_W, _H, _L, _R, _T, _B = 920, 250, 64, 36, 42, 34  # size, then margins: left, right, top (title + legend), bottom


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _nice_step(value: float, ticks: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) such that `ticks` steps cover `value`."""
    if value <= 0:
        return 0.25
    raw = value / ticks
    exp = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 2.5, 5, 10):
        if raw <= step * exp:
            return step * exp
    return 10 * exp


def _legend(items: list[tuple[str, str]]) -> str:
    parts, x = [], _L
    for name, color in items:
        parts.append(f'<rect x="{x}" y="22" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14}" y="31" class="lg">{_e(name)}</text>')
        x += 24 + 7 * len(name)
    return "".join(parts)


def _downsample(points: list, limit: int = 1500) -> list:
    if len(points) <= limit:
        return points
    step = math.ceil(len(points) / limit)
    return points[::step]


def svg_line_chart(title: str, series: list[tuple[str, str, list]], x0: float, x1: float, unit: str,
                   windows: Iterable[dict] = (), hlines: Iterable[tuple[str, float]] = ()) -> str:
    """Lines over time (epoch seconds) with shaded, labelled windows and dashed reference lines."""
    data = [y for _n, _c, pts in series for _x, y in pts]
    top = max(data, default=0.0)
    # a reference line far above the data would flatten it: such a line is named in the title instead
    off_scale = [label for label, value in hlines if top and value > 2 * top]
    hlines = [(label, value) for label, value in hlines if not top or value <= 2 * top]
    if off_scale:
        title = f"{title} ({', '.join(off_scale)}: above the scale)"
    ys = data + [v for _l, v in hlines]
    step = _nice_step(max(ys, default=1.0) * 1.05)
    y_max = 4 * step
    x1 = max(x1, x0 + 1)
    pw, ph = _W - _L - _R, _H - _T - _B

    def px(x: float) -> float:
        return _L + (min(max(x, x0), x1) - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return _T + ph - min(max(y, 0.0), y_max) / y_max * ph
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
             f'role="img" aria-label="{_e(title)}">',
             f'<text x="{_L}" y="14" class="t">{_e(title)}</text>', _legend([(n, c) for n, c, _p in series])]
    for number, w in enumerate(windows, start=1):
        start, end = w.get("start"), w.get("end") if w.get("end") is not None else x1
        if start is None or end < x0 or start > x1:
            continue
        a, b = px(start), px(end)
        parts.append(f'<rect x="{a:.1f}" y="{_T}" width="{max(b - a, 1):.1f}" height="{ph}" class="win">'
                     f'<title>{_e(w["label"])}</title></rect>')
        parts.append(f'<text x="{a + 2:.1f}" y="{_T + 11}" class="wl">{number}</text>')  # named below the chart
    for i in range(5):
        v = step * i
        parts.append(f'<line x1="{_L}" x2="{_W - _R}" y1="{py(v):.1f}" y2="{py(v):.1f}" class="grid"/>')
        parts.append(f'<text x="{_L - 4}" y="{py(v) + 4:.1f}" class="yl">{_e(_tick(v, step))}</text>')
    for i in range(6):
        x = x0 + (x1 - x0) * i / 5
        parts.append(f'<text x="{px(x):.1f}" y="{_H - _B + 16}" class="xl">{_e(_clock(x))}</text>')
    parts.append(f'<text x="{_W - _R}" y="{_H - 4}" class="yl">UTC; {_e(unit)}</text>')
    for label, value in hlines:
        parts.append(f'<line x1="{_L}" x2="{_W - _R}" y1="{py(value):.1f}" y2="{py(value):.1f}" class="limit"/>'
                     f'<text x="{_W - _R - 2}" y="{py(value) - 3:.1f}" class="yl">{_e(label)}</text>')
    for _name, color, pts in series:
        for run_pts in _runs(_downsample(pts)):
            coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in run_pts)
            if len(run_pts) == 1:
                x, y = run_pts[0]
                parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="1.5" fill="{color}"/>')
            else:
                parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.4"/>')
    parts.append(f'<rect x="{_L}" y="{_T}" width="{pw}" height="{ph}" class="frame"/></svg>')
    return "".join(parts)


def _runs(points: list) -> list[list]:
    """Splits a series where samples are missing (a gap of more than 2.5 usual intervals): no line across gaps."""
    steps = sorted(b[0] - a[0] for a, b in zip(points, points[1:]))
    gap = max(2.0, 2.5 * steps[len(steps) // 2]) if steps else 2.0
    runs: list[list] = []
    for p in points:
        if runs and p[0] - runs[-1][-1][0] <= gap:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def _tick(value: float, step: float) -> str:
    if float(step).is_integer():
        return f"{value:.0f}"
    return f"{value:.1f}" if float(step * 10).is_integer() else f"{value:.2f}"


def svg_bar_chart(title: str, bars: list[tuple[str, float | None]], unit: str, limit: float | None = None) -> str:
    """Horizontal bars (None drawn as "not measured"), with a dashed limit line."""
    row, left = 26, 260
    height = _T + row * max(len(bars), 1) + 24
    top = max([v for _n, v in bars if v is not None] + ([limit] if limit else []), default=1.0)
    x_max = 4 * _nice_step(top * 1.1)
    pw = _W - left - _R - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" viewBox="0 0 {_W} {height}" '
             f'role="img" aria-label="{_e(title)}">', f'<text x="{_L}" y="14" class="t">{_e(title)}</text>']
    for i, (name, value) in enumerate(bars):
        y = _T + i * row
        parts.append(f'<text x="{left - 6}" y="{y + 15}" class="yl">{_e(_text(name, 40))}</text>')
        if value is None:
            parts.append(f'<text x="{left + 4}" y="{y + 15}" class="lg">{NOT_MEASURED}</text>')
            continue
        over = limit is not None and value > limit
        width = max(value / x_max * pw, 1)
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{width:.1f}" height="16" '
                     f'fill="{"#d62728" if over else "#2ca02c"}"><title>{_e(name)}: {value:.2f} {_e(unit)}</title></rect>'
                     f'<text x="{left + width + 4:.1f}" y="{y + 16}" class="lg">{value:.2f} {_e(unit)}</text>')
    if limit is not None:
        x = left + limit / x_max * pw
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_T}" y2="{height - 20}" class="limit"/>'
                     f'<text x="{x:.1f}" y="{height - 6}" class="xl">budget {limit:g} {_e(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{margin-bottom:4px}.meta{color:#555;margin-top:0}
.verdict{display:inline-block;padding:6px 14px;border-radius:4px;color:#fff;font-weight:bold;font-size:1.3em}
.GO{background:#2ca02c}.NO-GO{background:#d62728}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.92em}th,td{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}
.pass{color:#1a7f1a;font-weight:bold}.fail{color:#c00;font-weight:bold}.none{color:#b36b00;font-weight:bold}
svg{display:block;margin:8px 0 18px}svg .t{font-weight:bold;font-size:13px}
svg .yl{font-size:10px;text-anchor:end;fill:#444}svg .xl{font-size:10px;text-anchor:middle;fill:#444}
svg .lg{font-size:11px;fill:#222}svg .wl{font-size:10px;fill:#8a1c1c}
svg .grid{stroke:#e5e5e5}svg .frame{fill:none;stroke:#999}svg .win{fill:#f4b6b6;fill-opacity:.45}
svg .limit{stroke:#d62728;stroke-dasharray:5 4}
"""


def render_html(report: dict, stats: dict | None = None) -> str:
    """A self-contained page: verdict, gates, per-second latency and errors with fault windows, recovery
    times, container CPU and memory. No script, no external resource."""
    stats = stats or {}
    rows = report["timeline"]["per_second"]
    windows = report["load"]["windows"]
    xs = [r["t"] for r in rows] + [r["t"] + 1 for r in rows] + [w["start"] for w in windows if w["start"] is not None]
    xs += [w["end"] for w in windows if w["end"] is not None]
    for entry in stats.values():
        xs += [t for t, _v in entry["cpu"]] + [t for t, _v in entry["mem"]]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    th = report["thresholds"]
    body = [f"<h1>{_e(report['title'])}</h1>",
            f'<p class="meta">{_e(report["date"])} · environment {_e(report["environment"] or "not recorded")} · '
            f'API {_e(report["api_url"] or "not recorded")} · conducted by {_e(report["conducted_by"] or "not recorded")}'
            f'<br>evidence {_e(report["evidence_dir"])}</p>',
            f'<p><span class="verdict {_e(report["verdict"])}">{_e(report["verdict"])}</span> {_e(_assessment(report))}</p>',
            "<h2>Hard gates</h2><table><tr><th>gate</th><th>result</th><th>value</th><th>threshold</th>"
            "<th>evidence</th><th>detail</th></tr>"]
    for g in report["gates"]:
        cls = "pass" if g["passed"] is True else ("fail" if g["passed"] is False else "none")
        body.append(f'<tr><td>{_e(g["name"])}</td><td class="{cls}">{_e(_gate_result(g))}</td>'
                    f'<td>{_e(_fmt_value(g["value"], g["unit"]))}</td><td>{_e(g["rule"])}</td>'
                    f'<td>{_e(", ".join(g["evidence"]))}</td><td>{_e(g["detail"])}</td></tr>')
    body.append("</table><h2>Load over the run</h2>")
    if rows:
        lat = [(f"p{q}", color, [(r["t"] + 0.5, r[f"p{q}_ms"]) for r in rows if r[f"p{q}_ms"] is not None])
               for q, color in (("50", _PALETTE[0]), ("95", _PALETTE[3]), ("99", _PALETTE[1]))]
        body.append(svg_line_chart("Latency per second (http_req_duration)", lat, x0, x1, "ms", windows,
                                   [(f"p95 limit {th['p95_ms']:g} ms", th["p95_ms"])]))
        err = [("error rate", _PALETTE[1], [(r["t"] + 0.5, r["error_rate_pct"]) for r in rows
                                            if r["error_rate_pct"] is not None])]
        body.append(svg_line_chart("Error rate per second (http_req_failed)", err, x0, x1, "%", windows,
                                   [(f"budget {th['fault_error_budget_pct']:g} %", th["fault_error_budget_pct"]),
                                    (f"limit {th['error_rate_pct']:g} %", th["error_rate_pct"])]))
        rps = [("requests/s", _PALETTE[2], [(r["t"] + 0.5, float(r["requests"])) for r in rows])]
        body.append(svg_line_chart("Requests per second", rps, x0, x1, "req/s", windows))
        if windows:
            body.append("<p>Shaded fault windows: " + "; ".join(f"{i} = {_e(w['label'])}" for i, w in enumerate(windows, start=1))
                        + ".</p>")
    else:
        body.append(f"<p>Per-second load: {NOT_MEASURED} (no raw k6 samples).</p>")
    body.append(_html_scenarios(report))
    body.append("<h2>Faults and recovery</h2>")
    faults = report["faults"]
    if faults:
        body.append(svg_bar_chart("Recovery time per fault", [(f["name"], f["recovery_seconds"]) for f in faults], "s",
                                  th["recovery_seconds"]))
        body.append("<table><tr><th>fault</th><th>targets</th><th>injected</th><th>restored</th><th>recovery</th>"
                    "<th>requests in window</th><th>errors in window</th></tr>")
        for f in faults:
            w = f["window"] or {}
            body.append(f"<tr><td>{_e(f['name'])}</td><td>{_e(', '.join(f['targets']))}</td>"
                        f"<td>{_e(f['injected_at'] or NOT_MEASURED)}</td><td>{_e(f['restored_at'] or NOT_MEASURED)}</td>"
                        f"<td>{_e(fmt_s(f['recovery_seconds']))}</td><td>{_e(fmt_n(w.get('requests')))}</td>"
                        f"<td>{_e(fmt_pct(w.get('error_rate_pct')))}</td></tr>")
        body.append("</table>")
    else:
        body.append(f"<p>Faults: {NOT_MEASURED} ({'faults.json missing' if faults is None else 'no fault injected'}).</p>")
    body.append("<h2>Containers</h2>")
    if stats:
        names = sorted(stats)
        colors = {n: _PALETTE[i % len(_PALETTE)] for i, n in enumerate(names)}
        body.append(svg_line_chart("CPU per container", [(n, colors[n], stats[n]["cpu"]) for n in names], x0, x1, "%",
                                   windows))
        body.append(svg_line_chart("Memory per container", [(n, colors[n], [(t, v / 1048576) for t, v in stats[n]["mem"]])
                                                            for n in names], x0, x1, "MiB", windows))
    else:
        body.append(f"<p>Container samples: {NOT_MEASURED} (no metrics/stats.jsonl).</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(report['title'])}: {_e(report['verdict'])}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _html_scenarios(report: dict) -> str:
    scenarios = report["load"]["scenarios"]
    if not scenarios:
        return f"<p>Scenarios: {NOT_MEASURED}.</p>"
    out = ["<table><tr><th>scenario</th><th>requests</th><th>errors</th><th>p50</th><th>p95</th><th>p99</th>"
           "<th>p95 outside faults</th><th>errors outside faults</th></tr>"]
    for s in scenarios:
        o = s.get("outside") or {}
        out.append(f"<tr><td>{_e(s['name'])}</td><td>{_e(fmt_n(s.get('requests')))}</td>"
                   f"<td>{_e(fmt_pct(s.get('error_rate_pct')))}</td><td>{_e(fmt_ms(s.get('p50_ms')))}</td>"
                   f"<td>{_e(fmt_ms(s.get('p95_ms')))}</td><td>{_e(fmt_ms(s.get('p99_ms')))}</td>"
                   f"<td>{_e(fmt_ms(o.get('p95_ms')))}</td><td>{_e(fmt_pct(o.get('error_rate_pct')))}</td></tr>")
    out.append("</table>")
    return "".join(out)


# -- files and the whole run ---------------------------------------------------------------------

def write_files(directory: str, contents: dict[str, str], check_mode: bool) -> tuple[list[str], bool]:
    """Writes each file (mode 0600, atomically) whose content or mode differs; returns (paths, changed)."""
    changed, paths = False, []
    for name, text in contents.items():
        path = os.path.join(directory, name)
        data = text.encode("utf-8")
        try:
            with open(path, "rb") as fh:
                same = fh.read() == data and (os.stat(path).st_mode & 0o777) == 0o600
        except OSError:
            same = False
        changed = changed or not same
        if check_mode:
            continue
        if not same:
            write_private(path, data, path)
        paths.append(path)
    return paths, changed


def make_report(evidence_dir: str, thresholds: dict | None = None, meta: dict | None = None,
                gates: list[str] | None = None, require_reconciliation: bool = True) -> dict:
    """Everything but writing: the report content and the four renderings."""
    th = resolve_thresholds(thresholds)
    ev = load_evidence(evidence_dir)
    load = analyse_load(ev)
    gates = evaluate_gates(ev, load, th, gates, require_reconciliation)
    report = build_report(ev, load, gates, th, meta or {})
    return {
        "report": report,
        "contents": {
            "report.md": render_markdown(report),
            "report.json": json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
            "report.xml": render_junit(report),
            "report.html": render_html(report, _stats_series(ev)),
        },
    }


def run(evidence_dir: str, thresholds: dict | None, meta: dict, check_mode: bool,
        gates: list[str] | None = None, require_reconciliation: bool = True) -> dict:
    """The module's work: the verdict, the gates, and the files written (none in check mode)."""
    made = make_report(evidence_dir, thresholds, meta, gates, require_reconciliation)
    report = made["report"]
    files, changed = write_files(evidence_dir, made["contents"], check_mode)
    return {"changed": changed, "verdict": report["verdict"], "gates": report["gates"],
            "failed_gates": report["failed_gates"], "files": files, "thresholds": report["thresholds"]}
