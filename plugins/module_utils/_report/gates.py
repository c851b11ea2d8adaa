# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hard gates, as a registry: each gate is one `@hard_gate(...)` block holding everything about
it (id, name, unit, rule, mitigation) above the function that judges it. Registration order is the
report order. Adding a gate is that one block; the module's `gates` choices and docs/report.md list
the ids for people (a unit test holds the module's choices equal to the registry).

A gate is `passed: True`, `False`, or `None` when its evidence is missing or unreadable (detail
"no evidence: ..."), which counts as failed: never a silent pass."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._report.evidence import (
    FAULTS_JSON, FREEZE_GLOB, INTEGRITY_JSON, LOAD_DIR, METRICS_JSON, RAW_JSON_GZ, RESULT_JSON,
)
from ansible_collections.examday.ops.plugins.module_utils._report.fmt import NOT_MEASURED, fmt_ms, fmt_n, fmt_pct, fmt_s
from ansible_collections.examday.ops.plugins.module_utils._report.values import (
    as_dict, as_int, as_list, as_num, clip, count_of, norm_name, numeric_fields, rounded, scalar_sample,
)

NOT_JUDGED = "not judged in this report"


class GateInput(NamedTuple):
    """What every gate function is given: the evidence, the load analysis and the thresholds."""
    ev: dict
    load: dict
    th: dict
    require_reconciliation: bool = True


@dataclass(frozen=True)
class Gate:
    """One hard gate. `rule` is formatted with the resolved thresholds (`{p95_ms:g}`)."""
    id: str
    name: str
    unit: str
    rule: str
    mitigation: str
    evaluate: Callable[[Gate, GateInput], dict]

    def rule_text(self, th: dict) -> str:
        return self.rule.format(**th)

    def result(self, passed: bool | None, value: Any, threshold: Any, rule: str, evidence: list[str],
               detail: str) -> dict:
        """The gate's entry in the report (and the module's `gates` result)."""
        return {"id": self.id, "name": self.name, "passed": passed, "value": value, "threshold": threshold,
                "unit": self.unit, "rule": rule, "evidence": evidence, "detail": detail}

    def not_judged(self) -> dict:
        """The entry shown for a gate left out of this report (post-exam: no load, no faults)."""
        return self.result(None, None, None, NOT_JUDGED, [], NOT_JUDGED)


_REGISTERED: list[Gate] = []


def hard_gate(gid: str, name: str, unit: str, rule: str, mitigation: str) -> Callable:
    """Registers the decorated function as the gate's judge, in report order."""
    def register(func: Callable[[Gate, GateInput], dict]) -> Callable[[Gate, GateInput], dict]:
        if any(g.id == gid for g in _REGISTERED):
            raise ValueError(f"gate {gid} registered twice")
        _REGISTERED.append(Gate(gid, name, unit, rule, mitigation, func))
        return func
    return register


# -- helpers -------------------------------------------------------------------------------------

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


def _load_gate(gate: Gate, inp: GateInput, measure: Callable[[dict], tuple[float | None, str]], limit: float) -> dict:
    """A gate over every scenario's numbers outside the fault windows; the worst scenario is the value."""
    ev, load, rule = inp.ev, inp.load, gate.rule_text(inp.th)
    files = [f"{LOAD_DIR}/{n}/{RAW_JSON_GZ if s['source'] == 'raw' else RESULT_JSON}" for n, s in load["scenarios"].items()]
    if isinstance(ev["faults"], list):
        files.append(FAULTS_JSON)
    if not load["scenarios"]:
        return gate.result(None, None, limit, rule, [f"{LOAD_DIR}/"],
                           f"no evidence: {LOAD_DIR}/<scenario>/{RAW_JSON_GZ} missing")
    results, worst, unmeasured = [], None, []
    for name, scen in load["scenarios"].items():
        outside = scen.get("outside")
        value, text = measure(outside) if outside else (None, "")
        if value is None:
            reason = scen.get("problem") or ("no request outside the fault windows" if outside else
                                             f"{RAW_JSON_GZ} missing and {RESULT_JSON} spans a fault window"
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
    return gate.result(passed, rounded(worst), limit, rule, files, detail)


# -- the gates, in report order ------------------------------------------------------------------

@hard_gate("zero_data_loss", "zero data loss", "writes",
           rule="0 acknowledged writes lost or changed; data-loss checks pass",
           mitigation="Find why acknowledged writes are missing (transactions committed after the 2xx, "
                      "retries on another replica); fix and rehearse again before the exam.")
def _zero_data_loss(gate: Gate, inp: GateInput) -> dict:
    ev, th = inp.ev, inp.th
    rule, files = gate.rule_text(th), [INTEGRITY_JSON]
    integrity = ev["integrity"]
    if not isinstance(integrity, dict):
        return gate.result(None, None, 0, rule, files, _missing(ev, INTEGRITY_JSON))
    recon = integrity.get("reconciliation")
    loss_checks, _other = _integrity_parts(ev, th)
    failed = _failed_checks(loss_checks)
    if not isinstance(recon, dict) and inp.require_reconciliation:
        return gate.result(None, None, 0, rule, files, f"no evidence: {INTEGRITY_JSON} has no reconciliation")
    recon = as_dict(recon)
    acked = sum(v for v in numeric_fields(recon.get("acknowledged")).values() if not isinstance(v, bool))
    lost, mismatched = count_of(recon.get("lost")), count_of(recon.get("mismatched"))
    if acked == 0 and not inp.require_reconciliation:
        # After a real exam there is no record of acknowledged writes: the data-loss checks decide.
        checks_rule = "data-loss checks pass"
        if not loss_checks:
            return gate.result(None, None, 0, checks_rule, files,
                               f"no evidence: {INTEGRITY_JSON} has none of the data-loss checks")
        value = sum(as_int(c.get("count")) or 0 for c in failed)
        detail = ("no record of acknowledged writes (no load ran), judged on the data-loss checks: "
                  + ("failed " + ", ".join(_check_label(c) for c in failed) if failed
                     else "passed " + ", ".join(clip(c["name"], 60) for c in loss_checks)))
        return gate.result(not failed, value, 0, checks_rule, files, detail)
    if acked == 0:
        return gate.result(None, None, 0, rule, files, f"no evidence: {INTEGRITY_JSON} reconciled no acknowledged write")
    if lost is None or mismatched is None:
        return gate.result(None, None, 0, rule, files,
                           f"no evidence: {INTEGRITY_JSON} does not count lost and mismatched writes")
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
    return gate.result(passed, value, 0, rule, files, "; ".join(parts))


@hard_gate("no_corrupted_sessions", "no corrupted sessions", "rows",
           rule="every corruption check passes; 0 duplicate writes",
           mitigation="Fix the failing integrity checks at their cause (row locks or unique constraints "
                      "for submits, scoring on submit); repair the affected rows.")
def _no_corrupted_sessions(gate: Gate, inp: GateInput) -> dict:
    ev = inp.ev
    rule, files = gate.rule_text(inp.th), [INTEGRITY_JSON]
    integrity = ev["integrity"]
    if not isinstance(integrity, dict):
        return gate.result(None, None, 0, rule, files, _missing(ev, INTEGRITY_JSON))
    _loss, checks = _integrity_parts(ev, inp.th)
    duplicates = count_of(as_dict(integrity.get("reconciliation")).get("duplicates"))
    if not checks:
        return gate.result(None, None, 0, rule, files, f"no evidence: {INTEGRITY_JSON} has no corruption checks")
    failed = _failed_checks(checks)
    value = sum(as_int(c.get("count")) or 0 for c in failed) + (duplicates or 0)
    passed = not failed and not duplicates
    if failed:
        detail = "checks failed: " + ", ".join(_check_label(c) for c in failed)
    else:
        detail = f"{len(checks)} checks passed"
    if duplicates:
        detail += f"; {duplicates} writes stored twice"
    return gate.result(passed, value, 0, rule, files, detail)


@hard_gate("latency_p95", "p95 latency outside fault windows", "ms",
           rule="p95 < {p95_ms:g} ms in every scenario",
           mitigation="Profile the slow endpoints (slow SQL, pool waits), add capacity or indexes; rehearse at the "
                      "same load again.")
def _latency(gate: Gate, inp: GateInput) -> dict:
    def measure(part: dict) -> tuple[float | None, str]:
        p95 = as_num(part.get("p95_ms"))
        return p95, f"p95 {fmt_ms(p95)}"
    return _load_gate(gate, inp, measure, inp.th["p95_ms"])


@hard_gate("error_rate", "error rate outside fault windows", "%",
           rule="errors < {error_rate_pct:g} % in every scenario",
           mitigation="Read the failing requests' status codes and request ids in the backend logs; fix the cause.")
def _error_rate(gate: Gate, inp: GateInput) -> dict:
    def measure(part: dict) -> tuple[float | None, str]:
        rate = as_num(part.get("error_rate_pct")) if part.get("requests") else None
        return rate, f"{fmt_n(part.get('errors'))} of {fmt_n(part.get('requests'))} failed ({fmt_pct(rate)})"
    return _load_gate(gate, inp, measure, inp.th["error_rate_pct"])


@hard_gate("fault_error_budget", "error budget inside fault windows", "%",
           rule="errors <= {fault_error_budget_pct:g} % inside each fault window",
           mitigation="Make the platform degrade gracefully during that fault (retries on idempotent calls, "
                      "fail-open dependencies, health-aware routing).")
def _fault_error_budget(gate: Gate, inp: GateInput) -> dict:
    ev, load = inp.ev, inp.load
    limit, rule = inp.th["fault_error_budget_pct"], gate.rule_text(inp.th)
    files = [FAULTS_JSON] + [f"{LOAD_DIR}/{n}/{RAW_JSON_GZ}" for n, s in load["scenarios"].items() if s["source"] == "raw"]
    faults = ev["faults"]
    if not isinstance(faults, list):
        return gate.result(None, None, limit, rule, files, _missing(ev, FAULTS_JSON))
    if not faults:
        return gate.result(None, None, limit, rule, files, f"no evidence: {FAULTS_JSON} lists no fault")
    if not load["merged"]:
        return gate.result(None, None, limit, rule, files, f"no evidence: {LOAD_DIR}/<scenario>/{RAW_JSON_GZ} missing")
    windows = load["merged"]["windows"]
    if len(windows) < len(faults):
        return gate.result(None, None, limit, rule, files,
                           f"no evidence: {len(faults) - len(windows)} faults in {FAULTS_JSON} have no injected_at")
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
    return gate.result(passed, rounded(worst), limit, rule, files, "; ".join(parts))


@hard_gate("recovery", "recovery within budget", "s",
           rule="every fault restored and healthy again within {recovery_seconds:g} s",
           mitigation="Shorten recovery (health checks, restart policies, start order); document the manual steps.")
def _recovery(gate: Gate, inp: GateInput) -> dict:
    ev = inp.ev
    budget = inp.th["recovery_seconds"]
    rule, files = gate.rule_text(inp.th), [FAULTS_JSON]
    faults = ev["faults"]
    if not isinstance(faults, list):
        return gate.result(None, None, budget, rule, files, _missing(ev, FAULTS_JSON))
    if not faults:
        return gate.result(None, None, budget, rule, files, f"no evidence: {FAULTS_JSON} lists no fault")
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
    return gate.result(passed, rounded(worst), budget, rule, files,
                       detail if passed is not None else "no evidence: " + detail)


@hard_gate("audit_logs", "logs sufficient for audit", "%",
           rule="request ids traceable in the logs for >= {traceability_min_pct:g} % of sampled requests",
           mitigation="Make every request log its request id end to end (edge, backend) and keep logs for the audit.")
def _audit_logs(gate: Gate, inp: GateInput) -> dict:
    ev = inp.ev
    limit = inp.th["traceability_min_pct"]
    rule, files = gate.rule_text(inp.th), [METRICS_JSON]
    metrics = ev["metrics"]
    if not isinstance(metrics, dict):
        return gate.result(None, None, limit, rule, files, _missing(ev, METRICS_JSON))
    trace = as_dict(metrics.get("traceability"))
    sampled, found = as_int(trace.get("sampled")), as_int(trace.get("found"))
    pct = as_num(trace.get("pct"))
    if pct is None and sampled and found is not None:
        pct = 100.0 * found / sampled
    if not sampled or pct is None:
        return gate.result(None, None, limit, rule, files, f"no evidence: {METRICS_JSON} sampled no request id")
    detail = f"{fmt_n(found)} of {sampled} sampled request ids found in the logs ({fmt_pct(pct)})"
    return gate.result(pct >= limit, rounded(pct), limit, rule, files, detail)


@hard_gate("exam_mode", "EXAM_MODE verified by effect", "",
           rule="heavy jobs refused and the job runner idle (verified by effect during the freeze)",
           mitigation="Run the freeze again and do not start the exam until EXAM_MODE is verified by effect.")
def _exam_mode(gate: Gate, inp: GateInput) -> dict:
    ev = inp.ev
    rule = gate.rule_text(inp.th)
    record = ev["freeze"]
    if not isinstance(record, dict):
        return gate.result(None, None, True, rule, [FREEZE_GLOB], f"no evidence: {FREEZE_GLOB} missing")
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
    return gate.result(verified, verified, True, rule, files, detail)


@hard_gate("db_pool", "DB pool below limit", "%",
           rule="peak connections < {db_pool_pct:g} % of the app pool and of max_connections",
           mitigation="Raise max_connections or lower per-process pools; check for connection leaks.")
def _db_pool(gate: Gate, inp: GateInput) -> dict:
    ev = inp.ev
    limit = inp.th["db_pool_pct"]
    rule, files = gate.rule_text(inp.th), [METRICS_JSON]
    metrics = ev["metrics"]
    if not isinstance(metrics, dict):
        return gate.result(None, None, limit, rule, files, _missing(ev, METRICS_JSON))
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
        return gate.result(None, None, limit, rule, files, f"no evidence: {METRICS_JSON} has no db_pool usage")
    worst = max(measured)
    detail = (f"peak {fmt_n(peak_app if peak_app is not None else peak)} app connections = {fmt_pct(app)} of the app "
              f"pool ({fmt_n(pool.get('app_pool_capacity'))}); peak {fmt_n(peak)} on the database = {fmt_pct(maxc)} of "
              f"max_connections ({fmt_n(pool.get('max_connections'))})")
    return gate.result(worst < limit, rounded(worst), limit, rule, files, detail)


# -- the registry and its use --------------------------------------------------------------------

GATE_REGISTRY: tuple[Gate, ...] = tuple(_REGISTERED)
GATE_IDS: tuple[str, ...] = tuple(g.id for g in GATE_REGISTRY)
GATES: tuple[tuple[str, str], ...] = tuple((g.id, g.name) for g in GATE_REGISTRY)  # (id, name) in report order
_BY_ID = {g.id: g for g in GATE_REGISTRY}


def gate_by_id(gid: str) -> Gate:
    return _BY_ID[gid]


def evaluate_gates(ev: dict, load: dict, th: dict, only: list[str] | None = None,
                   require_reconciliation: bool = True) -> list[dict]:
    """The hard gates, in report order; `only` keeps the listed gate ids (a post-exam report has no
    load and no faults, so it judges integrity, audit logs and the DB pool only)."""
    unknown = sorted(set(only or []) - set(GATE_IDS))
    if unknown:
        raise OpsError(f"unknown gate {unknown[0]!r}; the gates are {', '.join(GATE_IDS)}.")
    inp = GateInput(ev, load, th, require_reconciliation)
    return [g.evaluate(g, inp) for g in GATE_REGISTRY if not only or g.id in only]


def verdict(gates: list[dict]) -> str:
    return "GO" if gates and all(g["passed"] is True for g in gates) else "NO-GO"
