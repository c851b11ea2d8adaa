# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.md: the sections of seed 001's report template, rendered by Jinja2 from a template
(default: files/templates/report.md.j2, embedded as md_template.py; the module's `template` option
names a user's own).

Python builds the data: the template gets `report` (the content of report.json) and `view`, the
values derived for people (gate findings, issue lists, the restart fault, flags read from several
pieces of evidence); the template holds the wording and the layout. The filters below format values
the way every rendering does, and `md` makes evidence text safe inside Markdown."""
from __future__ import annotations

import json
import re
import traceback
from typing import Any

try:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment
except ImportError:
    HAS_JINJA2 = False
    JINJA2_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_JINJA2 = True
    JINJA2_IMPORT_ERROR = None

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._report.fmt import (
    NOT_MEASURED, assessment, fmt_ms, fmt_n, fmt_pct, fmt_s, fmt_time, fmt_value, gate_result,
)
from ansible_collections.examday.ops.plugins.module_utils._report.gates import GATE_REGISTRY
from ansible_collections.examday.ops.plugins.module_utils._report.md_template import TEMPLATE
from ansible_collections.examday.ops.plugins.module_utils._report.values import clip, norm_name, pick_number

DEFAULT_TEMPLATE_NAME = "report.md.j2 (built in)"

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


# -- filters and globals of the template ---------------------------------------------------------

def md(value: Any) -> str:
    """Evidence text inside Markdown: one line, no table-breaking pipes."""
    return clip(value, 400).replace("|", "\\|") if value is not None else NOT_MEASURED


def _g(value: Any) -> str:
    return f"{value:g}"


def _pairs(values: dict) -> str:
    return ", ".join(f"{k} {fmt_n(v)}" for k, v in values.items())


def _mib(value: Any) -> str:
    return NOT_MEASURED if value is None else f"{value / 1048576:.1f} MiB"


def _mib_per_min(value: Any) -> str:
    return NOT_MEASURED if value is None else f"{value / 1048576:+.2f} MiB/min"


def _yes_no(value: Any) -> str:
    return "yes" if value is True else ("no" if value is False else NOT_MEASURED)


def _code(value: Any) -> str:
    return f"`{value}`"


def check_title(check: dict) -> str:
    """An integrity check's title in seed 001's words, else its description or name."""
    for title, names in SEED_CHECKS:
        if norm_name(check["name"]) in names:
            return title
    return check["description"] or check["name"].replace("_", " ").capitalize()


FILTERS = {"time": fmt_time, "md": md, "n": fmt_n, "ms": fmt_ms, "pct": fmt_pct, "seconds": fmt_s, "g": _g, "value": fmt_value,
           "result": gate_result, "pairs": _pairs, "mib": _mib, "mib_per_min": _mib_per_min, "yes_no": _yes_no,
           "code": _code}
GLOBALS = {"not_measured": NOT_MEASURED, "pick": pick_number, "check_title": check_title}


# -- the view: values derived from the report for people -----------------------------------------

def _judged(report: dict) -> dict:
    """Every gate by id; one left out of this report (post-exam: no load, no faults) as not judged."""
    found = {g["id"]: g for g in report["gates"]}
    return {g.id: found.get(g.id) or g.not_judged() for g in GATE_REGISTRY}


def _ux_step_ok(ux: dict | None, step: str) -> bool | None:
    if not ux:
        return None
    statuses = [s["status"] for s in ux["steps"] if s["step"] == step and s["status"] is not None]
    return all(200 <= s < 300 for s in statuses) if statuses else None


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


def _findings(report: dict) -> list[dict]:
    """Failed gates first, then those without evidence, then the passed ones."""
    gates = report["gates"]
    ordered = ([g for g in gates if g["passed"] is False] + [g for g in gates if g["passed"] is None]
               + [g for g in gates if g["passed"] is True])
    prefix = "no evidence: "
    return [{"result": gate_result(g), "name": g["name"],
             "detail": g["detail"][len(prefix):] if g["detail"].startswith(prefix) else g["detail"]} for g in ordered]


def _freeze_view(report: dict) -> dict:
    fr = report["freeze"]
    if not fr:
        return {}
    running = [c["name"] for c in fr["job_containers"] if c["running"] and not c["paused"]]
    jobs_note = (", ".join(f"{c['name']}: {'paused' if c['paused'] else c['status']}" for c in fr["job_containers"])
                 or "no job container found")
    if fr["job_processes"]:
        jobs_note += f"; {fr['job_processes']} job processes paused"
    return {"running": running, "jobs_note": jobs_note}


def _load_issues(report: dict, gates: dict) -> list[str]:
    issues = []
    for s in report["load"]["scenarios"]:
        if s.get("problem"):
            issues.append(f"{s['name']}: {s['problem']}")
        if s.get("thresholds_passed") is False:
            issues.append(f"{s['name']}: k6 thresholds crossed")
    if gates["db_pool"]["passed"] is False:
        issues.append(f"DB pool: {gates['db_pool']['detail']}")
    return issues


def _redis_handled(report: dict) -> bool | None:
    """Whether a Redis fault (by name or target) recovered within budget; None when none was measured."""
    redis_fault = [f for f in report["faults"] or [] if "redis" in (f["name"] + " " + " ".join(f["targets"])).lower()]
    if not redis_fault:
        return None
    flags = [f["window_within_budget"] for f in redis_fault] + [f["within_budget"] for f in redis_fault]
    return False if False in flags else (None if None in flags else True)


def _faults_view(report: dict) -> list[dict]:
    th = report["thresholds"]
    out = []
    for f in report["faults"] or []:
        w = f["window"]
        actual = []
        if w and w.get("requests"):
            actual.append(f"{w['requests']} requests in the window, {w['errors']} failed ({fmt_pct(w['error_rate_pct'])}), "
                          f"p95 {fmt_ms(w.get('p95_ms'))}")
        else:
            actual.append(f"load during the window {NOT_MEASURED}")
        canary = f["canary"]
        if canary:
            first = canary["first_failure"] or {}
            actual.append(f"the canary student failed {canary['failures']} times"
                          + (f", first at {first.get('step') or '?'} ({first.get('error') or first.get('status')})"
                             if first else "")
                          + f"; interrupted {fmt_s(canary['outage_s']) if canary['outage_s'] is not None else 'until the end'}"
                          + f", back {fmt_s(canary['recovery_s']) if canary['recovery_s'] is not None else 'never'} "
                            "after the fault's end")
        else:
            actual.append(f"what students saw {NOT_MEASURED} (no canary tick during the fault)")
        if f["recovery_detail"]:
            actual.append(f"the platform's own recovery probe: {f['recovery_detail']}")
        for when in ("before", "after"):
            if f[when]:
                actual.append(f"{when}: " + ", ".join(f"{k} {v['state'] or '?'}/{v['health'] or 'no health check'}"
                                                      for k, v in f[when].items()))
        issues = []
        if f["error"]:
            issues.append(f"the fault failed: {f['error']}")
        if f["restored"] is False:
            issues.append("the fault was not undone")
        if f["recovered"] is False:
            issues.append("the platform's health and readiness did not say ok again")
        if canary and (canary["recovery_s"] is None or canary["recovery_s"] > th["recovery_seconds"]):
            issues.append(f"students were not back within {th['recovery_seconds']:g} s of the fault's end")
        if canary and (canary["outage_s"] is None or canary["outage_s"] > f["max_outage_s"]):
            issues.append(f"students were interrupted longer than the {f['max_outage_s']:g} s allowed")
        if f["window_within_budget"] is False:
            issues.append(f"error rate during the fault above {th['fault_error_budget_pct']:g} %")
        out.append({"actual": "; ".join(actual), "issues": issues})
    return out


def _integrity_view(report: dict) -> dict:
    integ = report["integrity"]
    if not integ:
        return {"seed_checks": [title for title, _names in SEED_CHECKS],
                "seed_statistics": [title for title, _names in SEED_STATISTICS]}
    issues = []
    covered = set()
    for check in integ["checks"]:
        covered.add(norm_name(check["name"]))
        if check["passed"] is not True:
            sample = f"; e.g. {json.dumps(check['samples'], sort_keys=True)}" if check["samples"] else ""
            issues.append(f"{check['name']}: {fmt_n(check['count'])} rows{sample}")
    rec = integ["reconciliation"]
    for part, words in (("lost", "acknowledged writes lost"), ("mismatched", "acknowledged writes stored with another value"),
                        ("stale_overwrites", "acknowledged writes overwritten by an older request applied later"),
                        ("duplicates", "writes stored twice")):
        if rec[part]["count"]:
            sample = f"; e.g. {json.dumps(rec[part]['samples'][:2], sort_keys=True)}" if rec[part]["samples"] else ""
            issues.append(f"{rec[part]['count']} {words}{sample}")
    stats = integ["statistics"]
    statistics, shown = [], set()
    for title, names in SEED_STATISTICS:
        key = next((n for n in names if n in stats), None)
        shown.add(key)
        statistics.append((title, stats[key] if key else None))
    return {"uncovered": [title for title, names in SEED_CHECKS if not covered.intersection(names)],
            "statistics": statistics, "other_statistics": [(k, v) for k, v in stats.items() if k not in shown],
            "issues": issues}


def _ux_view(report: dict) -> dict:
    ux = report["ux"]
    checks = (ux or {}).get("checks") or {}

    def flag(*names: str) -> bool | None:
        for name in names:
            if name in checks:
                return checks[name]["passed"]
        return None

    def note(name: str) -> str:
        return checks[name]["detail"] if name in checks else ("" if ux else "no ux.json")
    refresh, refresh_note = _load_rate(report, "refresh_continued", "token refreshes during the load kept the session")
    double, double_note = _load_rate(report, "double_submit_same", "double submits during the load got the same answer")
    token = flag("refresh_continues_attempt")
    idempotent = flag("submit_idempotent")
    issues = [note for ok, note in ((refresh, refresh_note), (double, double_note)) if ok is False]
    if ux is None:
        issues.append("ux.json missing: the student flow was not measured")
    else:
        if ux["passed"] is False:
            issues.append(ux["msg"] or "the student flow failed")
        issues += [f"{v['title']}: {v['detail']}" for v in checks.values() if v["passed"] is False]
        slow = [s for s in ux["steps"] if s["status"] is not None and not 200 <= s["status"] < 300]
        issues += [f"step {s['step']} answered HTTP {s['status']}" for s in slow[:5]]
    idem = report["idempotency"]
    idem_note = (f"{idem['pairs'] - idem['differ']} of {idem['pairs']} concurrent double submits during the load "
                 "answered the same") if idem["pairs"] else ""
    load_idem = (idem["differ"] == 0) if idem["pairs"] else None
    return {
        "resume": flag("resume_consistent"), "resume_note": note("resume_consistent"),
        "timer": flag("timer_consistent"), "timer_note": note("timer_consistent"),
        "submit_idempotent": _both(_both(idempotent, double), load_idem),
        "submit_note": "; ".join(n for n in (note("submit_idempotent") if idempotent is not None else "", double_note,
                                             idem_note) if n),
        "token_refresh": _both(token, refresh),
        "token_note": "; ".join(n for n in (note("refresh_continues_attempt") if token is not None else "",
                                            refresh_note) if n),
        "logout": flag("logout_keeps_attempt"), "logout_note": note("logout_keeps_attempt"),
        "issues": issues,
    }


def _observability_view(report: dict, gates: dict) -> dict:
    m = report["metrics"]
    if not m:
        return {}
    sql, status, pool = m["slow_sql"], m["http_status"], m["db_pool"]
    slow_err = pick_number(sql, ("count_300ms", "over_300ms", "error", "errors", "gt_300ms"))
    issues = []
    if gates["audit_logs"]["passed"] is not True:
        issues.append(f"traceability: {gates['audit_logs']['detail']}")
    if slow_err:
        issues.append(f"{fmt_n(slow_err)} very slow queries (>300 ms)")
    return {
        "slow_warn": pick_number(sql, ("count_100ms", "over_100ms", "warn", "warnings", "gt_100ms")),
        "slow_err": slow_err,
        "total_errors": (status.get("4xx") or 0) + (status.get("5xx") or 0) if ("4xx" in status or "5xx" in status)
        else None,
        "peak_pct": max([v for v in (pool.get("pct_of_app_pool"), pool.get("pct_of_max_connections")) if v is not None],
                        default=None),
        "issues": issues,
    }


def _recovery_view(report: dict, gates: dict) -> dict:
    faults = report["faults"] or []
    restarts = [f for f in faults if "restart" in f"{f['fault']} {f['name']}".lower()]
    full = max(restarts, key=lambda f: (("full" in f["name"].lower()) * 100 + len(f["targets"]))) if restarts else None
    drills = [f for f in faults if f["drill"]]
    full = drills[-1] if drills else full
    integrity_ok = [gates["zero_data_loss"]["passed"], gates["no_corrupted_sessions"]["passed"]]
    consistent = True if all(v is True for v in integrity_ok) else (False if False in integrity_ok else None)
    return {"full": full, "consistent": consistent}


def _readiness_view(report: dict, gates: dict) -> dict:
    canary = report["canary"]
    summary = canary["summary"]
    lies = canary["lies"]
    return {"measured": bool(summary.get("ticks")), "lies": lies[:5], "more": max(0, len(lies) - 5),
            "passed": gates["readiness_truth"]["passed"]}


def _appendix_view(report: dict) -> dict:
    files = report["files_present"]
    return {"load_files": [f"load/{n}/{f}" for n, fs in files["load"].items() for f in fs],
            "metrics_files": [f"metrics/{f}" for f in files["metrics"] if "log" not in f],
            "log_files": [f"metrics/{f}" for f in files["metrics"] if "log" in f]}


def markdown_view(report: dict) -> dict:
    """The values the template needs beyond the report itself."""
    gates = _judged(report)
    ux = report["ux"]
    return {
        "assessment": assessment(report),
        "findings": _findings(report),
        "gates": gates,
        "mitigations": {g.id: g.mitigation for g in GATE_REGISTRY},
        "ux_ok": {"sessions": _ux_step_ok(ux, "create_session"), "answer": _ux_step_ok(ux, "answer"),
                  "submit": _ux_step_ok(ux, "submit")},
        "ux_note": "ux.json" if ux else "no ux.json",
        "freeze": _freeze_view(report),
        "load_issues": _load_issues(report, gates),
        "redis_handled": _redis_handled(report),
        "faults": _faults_view(report),
        "integrity": _integrity_view(report),
        "ux": _ux_view(report),
        "observability": _observability_view(report, gates),
        "recovery": _recovery_view(report, gates),
        "readiness": _readiness_view(report, gates),
        "appendix": _appendix_view(report),
    }


# -- rendering -----------------------------------------------------------------------------------

def _clause(exc: Any) -> str:
    """Jinja2's message as part of one sentence: one line, its own sentences joined by semicolons."""
    return re.sub(r"\.\s+(?=\S)", "; ", clip(exc, 300)).rstrip(".")


def read_template(path: str) -> str:
    """A user's template file; a missing or unreadable one is one sentence."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        raise OpsError(f"Template {path} does not exist; give the path of a Jinja2 template for report.md "
                       "or leave template unset for the built-in one.") from None
    except (OSError, ValueError) as exc:
        raise OpsError(f"Template {path} cannot be read: {clip(getattr(exc, 'strerror', None) or exc, 200)}.") from None


def render_with(source: str, name: str, **context) -> str:
    """Markdown from a Jinja2 template source with the report's filters, in a sandbox; `name` in errors."""
    if not HAS_JINJA2:
        raise OpsError("The Markdown report needs the Python library jinja2 where the module runs (the controller).")
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters.update(FILTERS)
    env.globals.update(GLOBALS)
    try:
        compiled = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise OpsError(f"Template {name} is not valid Jinja2: {_clause(exc.message or exc)} (line {exc.lineno}).") from None
    try:
        text = compiled.render(**context)
    except (jinja2.TemplateError, ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as exc:
        line = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"]
        where = f" (line {line[-1]})" if line else ""
        raise OpsError(f"Template {name} failed to render: {_clause(exc)}{where}.") from None
    return text.rstrip() + "\n"


def render_markdown(report: dict, template: str | None = None, name: str = DEFAULT_TEMPLATE_NAME) -> str:
    """report.md from the template source `template` (default: the built-in one), named `name` in errors."""
    return render_with(TEMPLATE if template is None else template, name, report=report, view=markdown_view(report))
