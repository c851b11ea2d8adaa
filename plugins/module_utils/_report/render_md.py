# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.md: the sections of seed 001's report template, every field filled from the report; what
was not measured says so."""
from __future__ import annotations

import json
from typing import Any

from ansible_collections.examday.ops.plugins.module_utils._report.fmt import (
    NOT_MEASURED, assessment, fmt_ms, fmt_n, fmt_pct, fmt_s, fmt_value, gate_result,
)
from ansible_collections.examday.ops.plugins.module_utils._report.gates import gate_by_id
from ansible_collections.examday.ops.plugins.module_utils._report.values import clip, norm_name, pick_number

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


def _box(flag: Any) -> str:
    return "[x]" if flag is True else "[ ]"


def _item(text: str, flag: Any, note: str = "") -> str:
    """A checkbox line; unknown (None) says "not measured" instead of pretending either way."""
    if flag is None:
        return f"- [ ] {text} ({NOT_MEASURED}{': ' + note if note else ''})"
    return f"- {_box(flag)} {text}" + (f" ({note})" if note else "")


def _md(value: Any) -> str:
    """Evidence text inside Markdown: one line, no table-breaking pipes."""
    return clip(value, 400).replace("|", "\\|") if value is not None else NOT_MEASURED


def _findings(report: dict) -> list[str]:
    gates = report["gates"]
    ordered = ([g for g in gates if g["passed"] is False] + [g for g in gates if g["passed"] is None]
               + [g for g in gates if g["passed"] is True])
    return [f"{gate_result(g)} — {g['name']}: {_strip_no_evidence(g['detail'])}" for g in ordered]


def _strip_no_evidence(detail: str) -> str:
    return detail[len("no evidence: "):] if detail.startswith("no evidence: ") else detail


def _issues(items: list[str]) -> list[str]:
    if not items:
        return ["**Issues Found**: none"]
    return ["**Issues Found**:"] + [f"- {_md(i)}" for i in items]


def _gate_by_id(report: dict, gid: str) -> dict:
    found = [g for g in report["gates"] if g["id"] == gid]
    # a gate left out of this report (post-exam: no load, no faults) is shown as not judged
    return found[0] if found else gate_by_id(gid).not_judged()


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
             f"**Overall Assessment**: {_md(assessment(report))}", "", "**Key Findings**:"]
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
              f"- Connection failures: {fmt_n(pick_number(redis, ('connection_failures', 'rejected_connections', 'connection_errors')))}",
              f"- Reconnect attempts: {fmt_n(pick_number(redis, ('reconnects', 'reconnect_attempts', 'redis_reconnects')))}",
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
        if norm_name(check["name"]) in names:
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
        covered.add(norm_name(check["name"]))
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
    slow_warn = pick_number(sql, ("count_100ms", "over_100ms", "warn", "warnings", "gt_100ms"))
    slow_err = pick_number(sql, ("count_300ms", "over_300ms", "error", "errors", "gt_300ms"))
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
              f"- Average usage: {fmt_pct(pick_number(pool, ('avg_pct_of_app_pool', 'avg_pct', 'average_pct')))}", "",
              f"**Redis Reconnects**: {fmt_n(pick_number(redis, ('reconnects', 'reconnect_attempts', 'redis_reconnects')))}", "",
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
        lines.append(f"- {_box(g['passed'])} **{g['name']}** ({_md(g['rule'])}): {gate_result(g)}, {_md(g['detail'])}")
    lines += ["", "| gate | result | value | threshold | evidence |", "|---|---|---|---|---|"]
    for g in report["gates"]:
        lines.append(f"| {g['name']} | {gate_result(g)} | {_md(fmt_value(g['value'], g['unit']))} | "
                     f"{_md(fmt_value(g['threshold'], g['unit']))} | {_md(', '.join(g['evidence']))} |")
    blockers = [g for g in report["gates"] if g["passed"] is not True]
    lines += ["", "### Blockers", ""]
    lines += [f"- {g['name']}: {_md(g['detail'])}" for g in blockers] or ["None."]
    go = report["verdict"] == "GO"
    lines += ["", "### Decision", "",
              f"**Status**: {_box(go)} GO  {_box(not go)} NO-GO", "",
              f"**Rationale**: {_md(assessment(report))} Thresholds: "
              + ", ".join(f"{k} {v:g}" for k, v in report["thresholds"].items() if isinstance(v, (int, float))) + ".", "",
              "**Conditions**: " + ("none beyond the rehearsed configuration: exam day must run the same versions, "
                                    "limits and inventory." if go else
                                    "fix every blocker and rehearse again; GO needs every hard gate passed on new "
                                    "evidence."), "", "---", ""]
    return lines


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
