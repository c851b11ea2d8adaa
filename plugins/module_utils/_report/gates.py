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
from typing import Callable

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._report.canary import what_students_saw
from ansible_collections.examday.ops.plugins.module_utils._report.gate_base import (  # noqa: F401  (re-exported)
    _REGISTERED, Gate, GateInput, _missing, hard_gate,
)
from ansible_collections.examday.ops.plugins.module_utils._report.stale import explain_stale
from ansible_collections.examday.ops.plugins.module_utils._report.evidence import (
    CANARY_JSONL, FAULTS_JSON, FREEZE_GLOB, INTEGRITY_JSON, LOAD_DIR, METRICS_JSON, RAW_JSON_GZ,
    RESULT_JSON, RUN_JSON, UX_JSON, run_problems,
)
from ansible_collections.examday.ops.plugins.module_utils._report.fmt import (
    NOT_MEASURED, fmt_ms, fmt_n, fmt_pct, fmt_s, fmt_time,
)
from ansible_collections.examday.ops.plugins.module_utils._report.values import (
    as_dict, as_int, as_list, as_num, clip, count_of, norm_name, numeric_fields, rounded, scalar_sample,
)


# -- helpers -------------------------------------------------------------------------------------

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
    files = [f for n, s in load["scenarios"].items()
             for f in ((s.get("raw_files") or []) if s["source"] == "raw" else [f"{LOAD_DIR}/{n}/{RESULT_JSON}"])]
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

@hard_gate("run_complete", "every phase ran to its end", "problems",
           rule="no phase of the run failed or crashed",
           mitigation="Read each failed phase's error; fix it (or its input) and run again: the gates that lost their "
                      "evidence cannot be judged until it runs.")
def _run_complete(gate: Gate, inp: GateInput) -> dict:
    ev = inp.ev
    rule = gate.rule_text(inp.th)
    if not isinstance(ev["run"], dict):
        return gate.result(None, None, 0, rule, [RUN_JSON], _missing(ev, RUN_JSON))
    problems = run_problems(ev)
    if not problems:
        return gate.result(True, 0, 0, rule, [RUN_JSON], "every phase ran to its end")
    return gate.result(False, len(problems), 0, rule, [RUN_JSON],
                       "; ".join(f"{p['phase']}: {p['error']}" for p in problems))


@hard_gate("zero_data_loss", "zero data loss", "writes",
           rule="0 acknowledged writes lost or changed (a stale overwrite counts: {stale_overwrite_fails}); data-loss "
                "checks pass",
           mitigation="Find why acknowledged writes are missing (transactions committed after the 2xx, "
                      "retries on another replica); fix and rehearse again before the exam.")
def _zero_data_loss(gate: Gate, inp: GateInput) -> dict:
    ev, th = inp.ev, inp.th
    rule, files = gate.rule_text(th), [INTEGRITY_JSON]
    if as_dict(ev["metrics"]).get("traced"):
        files.append(METRICS_JSON)
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
    stale = as_dict(recon.get("stale_overwrites"))
    stale_n = count_of(stale) or 0
    stale_fails = th["stale_overwrite_fails"]
    value = lost + mismatched + (stale_n if stale_fails else 0) + sum(as_int(c.get("count")) or 0 for c in failed)
    # duplicates also fail the reconciliation; they belong to "no corrupted sessions" and "idempotent submits"
    unexplained = recon.get("passed") is not True and not count_of(recon.get("duplicates")) and not stale_n
    passed = lost == 0 and mismatched == 0 and not (stale_n and stale_fails) and not failed and not unexplained
    parts = [f"{lost} of {int(acked)} acknowledged writes lost", f"{mismatched} stored with another value"]
    if stale_n:
        parts.append(f"{stale_n} overwritten by a stale write applied after the newer acknowledged one"
                     + ("" if stale_fails else " (allowed by stale_overwrite_fails: false)"))
        parts.extend(explain_stale(s_, inp) for s_ in as_list(stale.get("samples"))[:2])
    superseded = count_of(recon.get("superseded")) or 0
    if superseded:
        parts.append(f"{superseded} replaced by a later write whose outcome the client did not know (the student's "
                     "last action, fine)")
    if failed:
        parts.append("checks failed: " + ", ".join(_check_label(c) for c in failed))
    elif loss_checks:
        parts.append("checks passed: " + ", ".join(clip(c["name"], 60) for c in loss_checks))
    if unexplained and lost == 0 and mismatched == 0:
        parts.append("reconciliation did not pass")
    samples = [scalar_sample(s_) for s_ in as_list(as_dict(recon.get("lost")).get("samples"))[:3]]
    if lost and samples:
        parts.append("lost e.g. " + json.dumps(samples, sort_keys=True))
    msamples = [as_dict(m) for m in as_list(as_dict(recon.get("mismatched")).get("samples"))[:2]]
    for m in msamples:
        parts.append(f"{clip(m.get('kind'), 20)} {clip(m.get('session_id'), 40)}/{clip(m.get('question_id'), 40)}: "
                     f"acknowledged {m.get('acknowledged')!r}, stored {m.get('stored')!r} "
                     f"({clip(m.get('explanation') or 'unexplained', 40)})")
    return gate.result(passed, value, 0, rule, files, "; ".join(parts))


@hard_gate("no_corrupted_sessions", "no corrupted sessions", "sessions",
           rule="every corruption check passes",
           mitigation="Fix the failing integrity checks at their cause (row locks or unique constraints "
                      "for submits, scoring on submit); repair the affected rows.")
def _no_corrupted_sessions(gate: Gate, inp: GateInput) -> dict:
    ev = inp.ev
    rule, files = gate.rule_text(inp.th), [INTEGRITY_JSON]
    integrity = ev["integrity"]
    if not isinstance(integrity, dict):
        return gate.result(None, None, 0, rule, files, _missing(ev, INTEGRITY_JSON))
    _loss, checks = _integrity_parts(ev, inp.th)
    if not checks:
        return gate.result(None, None, 0, rule, files, f"no evidence: {INTEGRITY_JSON} has no corruption checks")
    failed = [c for c in checks if c.get("passed") is False]
    unmeasured = [c for c in checks if c.get("passed") is None]
    # Each check counts the sessions (or rows) it flags; one session may fail several checks, so the
    # value is the largest single count, never a sum that counts a session twice.
    value = max([as_int(c.get("count")) or 0 for c in failed] or [0])
    if failed:
        detail = "checks failed: " + ", ".join(_check_label(c) for c in failed)
    else:
        detail = f"{len(checks) - len(unmeasured)} checks passed"
    if unmeasured:
        detail += "; not measured: " + ", ".join(
            f"{clip(c['name'], 60)} ({clip(c.get('note') or 'no result', 120)})" for c in unmeasured)
    return gate.result(not failed, value, 0, rule, files, detail)


def _double_submits(ev: dict) -> tuple[int, int, list, list]:
    """(pairs, sessions answered differently, samples, files) over every scenario's load evidence."""
    pairs = differ = 0
    samples, files = [], []
    for name, entry in ev["load"].items():
        result = as_dict(entry.get("result"))
        ds = as_dict(result.get("double_submits"))
        if ds:
            pairs += as_int(ds.get("pairs")) or 0
            differ += as_int(ds.get("differ")) or 0
            samples += [scalar_sample(x) for x in as_list(ds.get("samples"))[:3]]
            files.append(f"{LOAD_DIR}/{name}/{RESULT_JSON}")
    return pairs, differ, samples, files


@hard_gate("idempotent_submits", "idempotent submits", "sessions",
           rule="every concurrent double submit answered the same, and no session has two submit events",
           mitigation="Make the submit idempotent under concurrency (a row lock or a unique constraint on the submit "
                      "event, the idempotency key stored with the first answer and replayed).")
def _idempotent_submits(gate: Gate, inp: GateInput) -> dict:
    ev = inp.ev
    rule = gate.rule_text(inp.th)
    pairs, differ, samples, files = _double_submits(ev)
    integrity = as_dict(ev["integrity"])
    dup_check = next((c for c in as_list(integrity.get("checks"))
                      if isinstance(c, dict) and norm_name(c.get("name")) == "duplicate_submits"), None)
    recon_dups = as_dict(as_dict(integrity.get("reconciliation")).get("duplicates"))
    db_sessions = None
    if dup_check is not None and dup_check.get("passed") is not None:
        db_sessions = as_int(dup_check.get("count")) or 0
        files.append(INTEGRITY_JSON)
    if recon_dups:
        sessions = as_int(recon_dups.get("sessions"))
        if sessions is None:
            sessions = as_int(recon_dups.get("count"))
        db_sessions = max(db_sessions or 0, sessions or 0)
        if INTEGRITY_JSON not in files:
            files.append(INTEGRITY_JSON)
    if not pairs and db_sessions is None:
        return gate.result(None, None, 0, rule, files or [f"{LOAD_DIR}/submit/{RESULT_JSON}", INTEGRITY_JSON],
                           "no evidence: no double submit was recorded by the load and the database checks did not run")
    parts = []
    if pairs:
        parts.append(f"{differ} of {pairs} double submits answered differently")
        if differ and samples:
            parts.append("e.g. " + json.dumps(samples[:2], sort_keys=True))
    else:
        parts.append("no double submit was recorded by the load")
    if db_sessions is not None:
        parts.append(f"{db_sessions} sessions with more than one submit event")
    else:
        parts.append("database duplicate check not run")
    value = max(differ, db_sessions or 0)
    return gate.result(value == 0, value, 0, rule, files, "; ".join(parts))


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
    files = [FAULTS_JSON] + [f for s in load["scenarios"].values() if s["source"] == "raw" for f in s["raw_files"]]
    faults = ev["faults"]
    if not isinstance(faults, list):
        return gate.result(None, None, limit, rule, files, _missing(ev, FAULTS_JSON))
    if not faults and not as_list(as_dict(ev["run"]).get("faults_planned")):
        return gate.result(True, 0, limit, rule, files, "no fault was planned (an empty fault schedule)")
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
           rule="every fault undone; students (the canary) back within {recovery_seconds:g} s of its end, and "
                "interrupted at most {outage_seconds:g} s (a fault may allow less)",
           mitigation="Shorten recovery (health checks, restart policies, start order, retries on idempotent calls, "
                      "fail-open dependencies); document the manual steps.")
def _recovery(gate: Gate, inp: GateInput) -> dict:
    ev, th = inp.ev, inp.th
    budget = th["recovery_seconds"]
    rule, files = gate.rule_text(th), [FAULTS_JSON, CANARY_JSONL]
    faults = ev["faults"]
    if not isinstance(faults, list):
        return gate.result(None, None, budget, rule, files, _missing(ev, FAULTS_JSON))
    planned = [clip(n, 80) for n in as_list(as_dict(ev["run"]).get("faults_planned")) if isinstance(n, str)]
    if not faults and not planned:
        return gate.result(True, 0, budget, rule, files, "no fault was planned (an empty fault schedule)")
    if not ev.get("canary"):
        return gate.result(None, None, budget, rule, files,
                           _missing(ev, CANARY_JSONL) + ": what students saw during the faults was not measured")
    seen = (inp.seen or {}).get("faults") or []
    parts, worst, failed, unmeasured = [], None, False, False
    for i, fault in enumerate(faults):
        fault = as_dict(fault)
        name = clip(fault.get("name") or f"fault {i + 1}", 80)
        effect = seen[i] if i < len(seen) else None
        if fault.get("error"):
            failed = True
            parts.append(f"{name}: the fault failed ({clip(fault['error'], 160)})")
            continue
        if fault.get("restored") is not True:
            failed = True
            parts.append(f"{name}: not undone")
            continue
        if not effect or not effect["measured"]:
            unmeasured = True
            parts.append(f"{name}: the canary has no tick during it")
            continue
        max_outage = as_num(fault.get("max_outage_s"))
        max_outage = th["outage_seconds"] if max_outage is None else max_outage
        recovery, outage = effect["recovery_s"], effect["outage_s"]
        if recovery is not None:
            worst = recovery if worst is None else max(worst, recovery)
        text = (f"{name}: outage {fmt_s(outage) if outage is not None else 'not over'}, back "
                f"{fmt_s(recovery) if recovery is not None else 'never'} after its end")
        if recovery is None or recovery > budget:
            failed = True
            text += f" (budget {budget:g} s)"
        if outage is None or outage > max_outage:
            failed = True
            text += f" (at most {max_outage:g} s allowed)"
        if effect.get("first_failure"):
            ff = effect["first_failure"]
            text += f"; first failure {clip(ff.get('step'), 30)} {clip(ff.get('error') or ff.get('status'), 80)}"
        platform_said = as_num(fault.get("recovery_seconds"))
        if platform_said is not None:
            text += f"; the platform said ready after {fmt_s(platform_said)}"
        parts.append(text)
    recorded = {clip(as_dict(f).get("name"), 80) for f in faults}
    for name in planned:
        if name not in recorded:  # the fault's task failed: its result never reached faults.json
            failed = True
            parts.append(f"{name}: planned but no result recorded")
    passed = False if failed else (None if unmeasured else True)
    detail = "; ".join(parts)
    return gate.result(passed, rounded(worst), budget, rule, files,
                       detail if passed is not None else "no evidence: " + detail)


@hard_gate("readiness_truth", "readiness tells the truth", "s",
           rule="readiness never said ok for more than {readiness_lie_seconds:g} s while the platform answered students "
                "with 5xx (2 canary ticks in a row at least)",
           mitigation="Make readiness check what students need (the database, Redis where it is not fail-open, the "
                      "pool) and answer a failing status, so the edge and the operators stop trusting a broken backend.")
def _readiness_truth(gate: Gate, inp: GateInput) -> dict:
    ev, th = inp.ev, inp.th
    limit = th["readiness_lie_seconds"]
    rule, files = gate.rule_text(th), [CANARY_JSONL]
    if not ev.get("canary"):
        return gate.result(None, None, limit, rule, files, _missing(ev, CANARY_JSONL))
    seen = inp.seen or {}
    lies = seen.get("lies") or []
    summary = seen.get("summary") or {}
    if not lies:
        return gate.result(True, 0, limit, rule, files,
                           f"readiness never said ok in two ticks in a row in which the platform answered the canary with a 5xx "
                           f"({fmt_n(summary.get('ticks'))} ticks, {fmt_n(summary.get('failures'))} failed)")
    worst = max(e["seconds"] or 0 for e in lies)
    parts = []
    for e in sorted(lies, key=lambda x: -(x["seconds"] or 0))[:3]:
        sample = e["samples"][0] if e["samples"] else {}
        parts.append(f"{fmt_time(e['start'])} to {fmt_time(e['end'])} ({fmt_s(e['seconds'])}, {e['ticks']} ticks): "
                     f"the canary's {clip(sample.get('step'), 30)} failed ({clip(sample.get('error'), 80)}, request "
                     f"{clip(sample.get('request_id'), 40)}) while readiness said {clip(sample.get('ready_detail'), 40)}")
    return gate.result(worst <= limit, rounded(worst), limit, rule, files,
                       f"{len(lies)} times readiness said ok while students failed; " + "; ".join(parts))


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


@hard_gate("user_experience", "user experience", "checks",
           rule="resume, timer, token refresh, logout and double submit behave for a student (not measured where the "
                "platform has no such call)",
           mitigation="Fix the failing step for students (the check names it), then run the user-experience flow again.")
def _user_experience(gate: Gate, inp: GateInput) -> dict:
    ev = inp.ev
    rule, files = gate.rule_text(inp.th), [UX_JSON]
    ux = ev["ux"]
    if not isinstance(ux, dict):
        return gate.result(None, None, 0, rule, files, _missing(ev, UX_JSON))
    checks = {k: as_dict(v) for k, v in as_dict(ux.get("checks")).items()}
    if not checks:
        return gate.result(None, None, 0, rule, files,
                           f"no evidence: the flow did not reach the checks ({clip(ux.get('msg') or 'no message', 200)})")
    failed = {k: v for k, v in checks.items() if v.get("passed") is False}
    unmeasured = {k: v for k, v in checks.items() if v.get("passed") is None}
    parts = [f"{clip(k, 40)}: {clip(v.get('detail'), 160)}" for k, v in failed.items()]
    parts += [f"{clip(k, 40)} {clip(v.get('detail'), 120)}" for k, v in unmeasured.items()]
    passed_n = sum(1 for v in checks.values() if v.get("passed") is True)
    detail = f"{passed_n} of {len(checks)} checks passed" + ("; " + "; ".join(parts) if parts else "")
    if ux.get("failed") and not failed:
        failed = {"flow": {}}
        detail += f"; the flow failed: {clip(ux.get('msg'), 200)}"
    return gate.result(not failed, len(failed), 0, rule, files, detail)


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


# The opt-in gates of the exam-day records (after an incident), registered after the rehearsal's.
import ansible_collections.examday.ops.plugins.module_utils._report.gates_incident  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

# -- the registry and its use --------------------------------------------------------------------

GATE_REGISTRY: tuple[Gate, ...] = tuple(_REGISTERED)
GATE_IDS: tuple[str, ...] = tuple(g.id for g in GATE_REGISTRY)
GATES: tuple[tuple[str, str], ...] = tuple((g.id, g.name) for g in GATE_REGISTRY)  # (id, name) in report order
_BY_ID = {g.id: g for g in GATE_REGISTRY}


def gate_by_id(gid: str) -> Gate:
    return _BY_ID[gid]


def evaluate_gates(ev: dict, load: dict, th: dict, only: list[str] | None = None,
                   require_reconciliation: bool = True, seen: dict | None = None) -> list[dict]:
    """The hard gates, in report order; `only` keeps the listed gate ids (a post-exam report has no
    load and no faults, so it judges integrity, audit logs and the DB pool only). `seen` is
    what_students_saw(ev, th), computed here when not given."""
    unknown = sorted(set(only or []) - set(GATE_IDS))
    if unknown:
        raise OpsError(f"unknown gate {unknown[0]!r}; the gates are {', '.join(GATE_IDS)}.")
    inp = GateInput(ev, load, th, require_reconciliation, seen if seen is not None else what_students_saw(ev, th))
    return [g.evaluate(g, inp) for g in GATE_REGISTRY if (g.id in only if only else not g.opt_in)]


def verdict(gates: list[dict]) -> str:
    return "GO" if gates and all(g["passed"] is True for g in gates) else "NO-GO"
