# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hard gates: each judged by a pure function of the evidence, the load analysis and the
thresholds. A gate is `passed: True`, `False`, or `None` when its evidence is missing or unreadable
(detail "no evidence: ..."), which counts as failed: never a silent pass."""
from __future__ import annotations

import json
from typing import Any, Callable

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._report.fmt import NOT_MEASURED, fmt_ms, fmt_n, fmt_pct, fmt_s
from ansible_collections.examday.ops.plugins.module_utils._report.values import (
    as_dict, as_int, as_list, as_num, clip, count_of, norm_name, numeric_fields, rounded, scalar_sample,
)

NOT_JUDGED = "not judged in this report"

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
    checks = [c for c in as_list(as_dict(ev["integrity"]).get("checks")) if isinstance(c, dict) and c.get("name")]
    loss = [c for c in checks if norm_name(c["name"]) in loss_names]
    other = [c for c in checks if norm_name(c["name"]) not in loss_names]
    return loss, other


def _failed_checks(checks: list) -> list:
    return [c for c in checks if c.get("passed") is not True]


def _check_label(check: dict) -> str:
    count = as_int(check.get("count"))
    return f"{clip(check.get('name'), 60)} ({count if count is not None else 'not counted'})"


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
    recon = as_dict(recon)
    acked = sum(v for v in numeric_fields(recon.get("acknowledged")).values() if not isinstance(v, bool))
    lost, mismatched = count_of(recon.get("lost")), count_of(recon.get("mismatched"))
    if acked == 0 and not require_reconciliation:
        # After a real exam there is no record of acknowledged writes: the data-loss checks decide.
        if not loss_checks:
            return _gate("zero_data_loss", None, None, 0, "data-loss checks pass", files,
                         "no evidence: integrity.json has none of the data-loss checks")
        value = sum(as_int(c.get("count")) or 0 for c in failed)
        detail = ("no record of acknowledged writes (no load ran), judged on the data-loss checks: "
                  + ("failed " + ", ".join(_check_label(c) for c in failed) if failed
                     else "passed " + ", ".join(clip(c["name"], 60) for c in loss_checks)))
        return _gate("zero_data_loss", not failed, value, 0, "data-loss checks pass", files, detail)
    if acked == 0:
        return _gate("zero_data_loss", None, None, 0, rule, files,
                     "no evidence: integrity.json reconciled no acknowledged write")
    if lost is None or mismatched is None:
        return _gate("zero_data_loss", None, None, 0, rule, files,
                     "no evidence: integrity.json does not count lost and mismatched writes")
    value = lost + mismatched + sum(as_int(c.get("count")) or 0 for c in failed)
    # duplicates also fail the reconciliation; they belong to "no corrupted sessions"
    unexplained = recon.get("passed") is not True and not count_of(recon.get("duplicates"))
    passed = lost == 0 and mismatched == 0 and not failed and not unexplained
    parts = [f"{lost} of {int(acked)} acknowledged writes lost", f"{mismatched} stored with another value"]
    if failed:
        parts.append("checks failed: " + ", ".join(_check_label(c) for c in failed))
    elif loss_checks:
        parts.append("checks passed: " + ", ".join(clip(c["name"], 60) for c in loss_checks))
    if unexplained and lost == 0 and mismatched == 0:
        parts.append("reconciliation did not pass")
    samples = [scalar_sample(s) for s in as_list(as_dict(recon.get("lost")).get("samples"))[:3]]
    if lost and samples:
        parts.append("lost e.g. " + json.dumps(samples, sort_keys=True))
    return _gate("zero_data_loss", passed, value, 0, rule, files, "; ".join(parts))


def gate_no_corrupted_sessions(ev: dict, th: dict) -> dict:
    rule, files = "every corruption check passes; 0 duplicate writes", ["integrity.json"]
    integrity = ev["integrity"]
    if not isinstance(integrity, dict):
        return _gate("no_corrupted_sessions", None, None, 0, rule, files, _missing(ev, "integrity.json"))
    _loss, checks = _integrity_parts(ev, th)
    duplicates = count_of(as_dict(integrity.get("reconciliation")).get("duplicates"))
    if not checks:
        return _gate("no_corrupted_sessions", None, None, 0, rule, files,
                     "no evidence: integrity.json has no corruption checks")
    failed = _failed_checks(checks)
    value = sum(as_int(c.get("count")) or 0 for c in failed) + (duplicates or 0)
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
    return _gate(gid, passed, rounded(worst), limit, rule, files, detail)


def gate_latency(ev: dict, load: dict, th: dict) -> dict:
    def measure(part: dict) -> tuple[float | None, str]:
        p95 = as_num(part.get("p95_ms"))
        return p95, f"p95 {fmt_ms(p95)}"
    return _load_gate("latency_p95", ev, load, measure, th["p95_ms"], f"p95 < {th['p95_ms']:g} ms in every scenario")


def gate_error_rate(ev: dict, load: dict, th: dict) -> dict:
    def measure(part: dict) -> tuple[float | None, str]:
        rate = as_num(part.get("error_rate_pct")) if part.get("requests") else None
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
        rate = as_num(w.get("error_rate_pct"))
        if not w.get("requests"):
            unmeasured = True
            parts.append(f"{w['label']}: no request during the window")
            continue
        worst = rate if worst is None else max(worst, rate)
        failing = failing or rate > limit
        parts.append(f"{w['label']}: {w['errors']} of {w['requests']} failed ({fmt_pct(rate)})")
    passed = False if failing else (None if unmeasured else True)
    return _gate("fault_error_budget", passed, rounded(worst), limit, rule, files, "; ".join(parts))


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
        fault = as_dict(fault)
        name = clip(fault.get("name") or f"fault {i + 1}", 80)
        seconds = as_num(fault.get("recovery_seconds"))
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
    planned = [clip(n, 80) for n in as_list(as_dict(ev["run"]).get("faults_planned")) if isinstance(n, str)]
    recorded = {clip(as_dict(f).get("name"), 80) for f in faults}
    for name in planned:
        if name not in recorded:  # the fault's task failed: its result never reached faults.json
            failed = True
            parts.append(f"{name}: planned but no result recorded")
    passed = False if failed else (None if unmeasured else True)
    detail = "; ".join(parts)
    return _gate("recovery", passed, rounded(worst), budget, rule, files,
                 detail if passed is not None else "no evidence: " + detail)


def gate_audit_logs(ev: dict, th: dict) -> dict:
    limit = th["traceability_min_pct"]
    rule, files = f"request ids traceable in the logs for >= {limit:g} % of sampled requests", ["metrics/metrics.json"]
    metrics = ev["metrics"]
    if not isinstance(metrics, dict):
        return _gate("audit_logs", None, None, limit, rule, files, _missing(ev, "metrics/metrics.json"))
    trace = as_dict(metrics.get("traceability"))
    sampled, found = as_int(trace.get("sampled")), as_int(trace.get("found"))
    pct = as_num(trace.get("pct"))
    if pct is None and sampled and found is not None:
        pct = 100.0 * found / sampled
    if not sampled or pct is None:
        return _gate("audit_logs", None, None, limit, rule, files,
                     "no evidence: metrics/metrics.json sampled no request id")
    detail = f"{fmt_n(found)} of {sampled} sampled request ids found in the logs ({fmt_pct(pct)})"
    return _gate("audit_logs", pct >= limit, rounded(pct), limit, rule, files, detail)


def gate_exam_mode(ev: dict) -> dict:
    rule = "heavy jobs refused and the job runner idle (verified by effect during the freeze)"
    record = ev["freeze"]
    if not isinstance(record, dict):
        return _gate("exam_mode", None, None, True, rule, ["freeze-*.json"], "no evidence: freeze-*.json missing")
    files = [ev["freeze_file"]]
    em = as_dict(record.get("exam_mode"))
    verified = em.get("verified") is True and em.get("state", "enabled") == "enabled"
    evidence = as_dict(em.get("evidence"))
    probe, worker = as_dict(evidence.get("probe")), as_dict(evidence.get("worker"))
    parts = []
    if em.get("mechanism"):
        parts.append(f"mechanism {clip(em['mechanism'], 20)}")
    if probe:
        parts.append(f"probe: {clip(probe.get('last') or NOT_MEASURED, 120)} ({fmt_n(probe.get('answers'))} answers)")
    if worker:
        parts.append(f"job runner: {clip(worker.get('last') or NOT_MEASURED, 120)}")
    if as_num(evidence.get("seconds")) is not None:
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
    pool = as_dict(metrics.get("db_pool"))
    peak = as_num(pool.get("peak_connections"))
    peak_app = as_num(pool.get("peak_app_connections"))
    app, maxc = as_num(pool.get("pct_of_app_pool")), as_num(pool.get("pct_of_max_connections"))
    if app is None and as_num(pool.get("app_pool_capacity")) and (peak_app if peak_app is not None else peak) is not None:
        app = 100.0 * (peak_app if peak_app is not None else peak) / pool["app_pool_capacity"]
    if maxc is None and peak is not None and as_num(pool.get("max_connections")):
        maxc = 100.0 * peak / pool["max_connections"]
    measured = [v for v in (app, maxc) if v is not None]
    if not measured:
        return _gate("db_pool", None, None, limit, rule, files, "no evidence: metrics/metrics.json has no db_pool usage")
    worst = max(measured)
    detail = (f"peak {fmt_n(peak_app if peak_app is not None else peak)} app connections = {fmt_pct(app)} of the app "
              f"pool ({fmt_n(pool.get('app_pool_capacity'))}); peak {fmt_n(peak)} on the database = {fmt_pct(maxc)} of "
              f"max_connections ({fmt_n(pool.get('max_connections'))})")
    return _gate("db_pool", worst < limit, rounded(worst), limit, rule, files, detail)


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


def not_judged(gid: str) -> dict:
    """The entry shown for a gate left out of this report (post-exam: no load, no faults)."""
    return _gate(gid, None, None, None, NOT_JUDGED, [], NOT_JUDGED)
