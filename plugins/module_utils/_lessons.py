# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The post-exam lessons-learned record (seed 002's template: date, issues encountered, resolution,
prevention, runbook updates), pre-filled from the day's records in the reports directory: the
preflight and freeze verdicts, the live watch's alerts (raised, cleared, worst value), the emergency
restarts (steps, the students' outage, verdict), the recovery verifications and the post-exam report.
What only people know (why, and what the team decides) is left as marked blanks, never invented.
Pure functions over the files; a record that cannot be read is listed as such, not skipped."""
from __future__ import annotations

import datetime
import json
import os
import re

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, write_private
from ansible_collections.examday.ops.plugins.module_utils._evidence import names

TO_FILL = "_(to be filled in by the team)_"
_TS = re.compile(r"-(\d{8}_\d{6})(\.json)?$")


def _when(ts: str) -> str:
    return datetime.datetime.strptime(ts, "%Y%m%d_%H%M%S").strftime("%H:%M:%S")


def find_records(reports_dir: str, date: str, host: str | None = None) -> list[dict]:
    """The day's records ({kind, host, ts, at, path}) in time order; `date` is YYYY-MM-DD (UTC)."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\d", date or ""):
        raise OpsError(f"date must be YYYY-MM-DD, not {date!r}.")
    if not os.path.isdir(reports_dir):
        raise OpsError(f"the reports directory {reports_dir} does not exist.")
    day = date.replace("-", "")
    out = []
    for name in sorted(os.listdir(reports_dir)):
        for kind, (prefix, shape) in names.DAY_RECORDS.items():
            if not name.startswith(prefix):
                continue
            m = _TS.search(name)
            path = os.path.join(reports_dir, name)
            if not m or not m.group(1).startswith(day) or (shape == "file") != name.endswith(".json"):
                continue
            if shape == "dir" and not os.path.isdir(path):
                continue
            rec_host = name[len(prefix):m.start()]
            if host and rec_host != host:
                continue
            out.append({"kind": kind, "host": rec_host, "ts": m.group(1), "at": _when(m.group(1)), "path": path})
    return sorted(out, key=lambda r: (r["ts"], r["kind"]))


def _read(path: str):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh), None
    except FileNotFoundError:
        return None, f"{os.path.basename(path)} is missing"
    except (OSError, ValueError) as exc:
        return None, f"{os.path.basename(path)} cannot be read ({exc})"


def _report_entry(rec: dict, what: str) -> dict:
    data, problem = _read(os.path.join(rec["path"], names.REPORT_JSON))
    if problem:
        return dict(rec, what=what, verdict=None, problem=problem, issues=[f"{what} left no verdict: {problem}"])
    failed = [g for g in data.get("gates") or [] if g.get("passed") is not True]
    issues = [f"{what}: {g.get('name')} - {g.get('detail')}" for g in failed]
    issues += [f"{what}: the phase {p.get('phase')} failed - {p.get('error')}" for p in data.get("problems") or []]
    entry = dict(rec, what=what, verdict=data.get("verdict"), issues=issues, failed=[g.get("id") for g in failed])
    faults = [f for f in data.get("faults") or [] if isinstance(f, dict)]
    if rec["kind"] == "emergency_restart" and faults:
        f = faults[0]
        steps = ", ".join(f"{s.get('service')} {s.get('restart_s')} s" for s in f.get("services") or [])
        canary = f.get("canary") or {}
        entry["restart"] = {"steps": steps or "not recorded", "outage_s": canary.get("outage_s"),
                            "recovery_s": canary.get("recovery_s"), "error": f.get("error")}
    return entry


def _watch_entry(rec: dict) -> dict:
    data, problem = _read(os.path.join(rec["path"], names.WATCH_RECORD))
    if problem:
        return dict(rec, what="live watch", problem=problem, alerts=[], issues=[f"a live watch left no record: {problem}"])
    alerts, open_ = [], {}
    for ev in data.get("alerts") or []:
        if ev.get("event") == "raised":
            open_[ev.get("rule")] = {"name": ev.get("name"), "rule": ev.get("rule"), "raised_at": ev.get("at"),
                                     "value": ev.get("value"), "unit": ev.get("unit") or "", "detail": ev.get("detail"),
                                     "runbook": (ev.get("runbook") or {}).get("section"), "cleared_at": None,
                                     "worst": ev.get("value")}
        elif ev.get("event") == "cleared" and ev.get("rule") in open_:
            done = open_.pop(ev.get("rule"))
            done.update(cleared_at=ev.get("at"), worst=ev.get("worst"))
            alerts.append(done)
    alerts += list(open_.values())
    alerts.sort(key=lambda a: a["raised_at"] or "")
    return dict(rec, what="live watch", alerts=alerts, samples=data.get("samples"), stopped_by=data.get("stopped_by"),
                failed_samples=data.get("failed_samples"), issues=[])


def _file_entry(rec: dict) -> dict:
    data, problem = _read(rec["path"])
    what = {"preflight": "preflight", "freeze": "freeze", "unfreeze": "unfreeze",
            "rollback_guard": "rollback guard"}[rec["kind"]]
    if problem:
        return dict(rec, what=what, passed=None, issues=[f"the {what} record cannot be read: {problem}"])
    if rec["kind"] == "rollback_guard":
        failed = data.get("failed") is True
        return dict(rec, what=what, passed=not failed, guard=data.get("msg"),
                    issues=[f"the rollback guard failed: {data.get('msg')}"] if failed else [])
    verdict = data.get("verdict") if isinstance(data.get("verdict"), dict) else {}
    passed = data.get("passed") if rec["kind"] == "preflight" else verdict.get("passed")
    reasons = verdict.get("reasons") or []
    if rec["kind"] == "preflight":
        reasons = [f"{c.get('name')}: {c.get('detail')}" for c in data.get("checks") or []
                   if isinstance(c, dict) and c.get("passed") is False]
    issues = [f"{what}: {r}" for r in reasons] if passed is not True else []
    return dict(rec, what=what, passed=passed, issues=issues)


WHAT = {"emergency_restart": "emergency restart", "verify_recovery": "recovery verification", "post_exam": "post-exam"}


def day_model(reports_dir: str, date: str, host: str | None = None) -> dict:
    """Everything the record says, from the day's records."""
    entries = []
    for rec in find_records(reports_dir, date, host):
        if rec["kind"] == "watch":
            entries.append(_watch_entry(rec))
        elif rec["kind"] in WHAT:
            entries.append(_report_entry(rec, WHAT[rec["kind"]]))
        else:
            entries.append(_file_entry(rec))
    for e in entries:
        e["outcome"] = _outcome(e)
    alerts = [dict(a, watch_at=e["at"]) for e in entries if e["kind"] == "watch" for a in e["alerts"]]
    issues = [f"{e['at']} {i}" for e in entries for i in e["issues"]]
    issues += [f"{a['raised_at']} live watch alert: {a['name']}, {_value(a['value'], a['unit'])}"
               + (f" ({a['detail']})" if a.get("detail") else "") for a in alerts]
    resolutions = []
    for a in alerts:
        if a["cleared_at"]:
            resolutions.append(f"{a['name']}: cleared at {a['cleared_at']} (worst {_value(a['worst'], a['unit'])}).")
        else:
            resolutions.append(f"{a['name']}: still active when the watch ended.")
    for e in entries:
        if e["kind"] == "emergency_restart" and e.get("restart"):
            r = e["restart"]
            resolutions.append(f"Emergency restart at {e['at']} ({r['steps']}): the students' outage "
                               f"{_value(r['outage_s'], 's')}, back {_value(r['recovery_s'], 's')} after it; "
                               f"verdict {e['verdict']}.")
        elif e["kind"] == "rollback_guard" and e.get("passed"):
            resolutions.append(f"Rollback guard at {e['at']}: {e.get('guard')}.")
        elif e["kind"] == "verify_recovery":
            resolutions.append(f"Recovery verified at {e['at']}: {e['verdict']}"
                               + (f" (failed: {', '.join(e['failed'])})" if e.get("failed") else "") + ".")
    sections = sorted({a["runbook"] for a in alerts if a.get("runbook")})
    return {"date": date, "host": host, "reports_dir": reports_dir, "entries": entries, "alerts": alerts,
            "issues": issues, "resolutions": resolutions, "runbook_sections": sections,
            "failed_gates": sorted({g for e in entries for g in e.get("failed") or []})}


def _outcome(e: dict) -> str:
    if e.get("problem"):
        return f"no verdict ({e['problem']})"
    if e["kind"] == "watch":
        return f"{len(e['alerts'])} alerts in {e.get('samples')} samples, ended by {e.get('stopped_by')}"
    if "verdict" in e:
        return (e["verdict"] or "no verdict") + (f": {', '.join(e['failed'])} failed" if e.get("failed") else "")
    return {True: "passed", False: "failed"}.get(e.get("passed"), "no verdict")


def render(model: dict) -> str:
    """The record's Markdown from the built-in template (files/templates/lessons.md.j2, embedded)."""
    from ansible_collections.examday.ops.plugins.module_utils._report.gates import GATE_REGISTRY
    from ansible_collections.examday.ops.plugins.module_utils._report.md_template import LESSONS_TEMPLATE
    from ansible_collections.examday.ops.plugins.module_utils._report.render_md import render_with

    return render_with(LESSONS_TEMPLATE, "lessons.md.j2 (built in)", m=model, to_fill=TO_FILL,
                       mitigations={g.id: g.mitigation for g in GATE_REGISTRY})


def _value(value, unit: str) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{round(value, 2):g}{' ' if unit in ('ms', 's') else ''}{unit}"
    return str(value)


def write(model: dict, dest: str, force: bool = False, check_mode: bool = False) -> bool:
    """Writes the record; an existing one (which the team may have filled in) only with force.
    Returns whether it was (or would be) written."""
    if os.path.exists(dest) and not force:
        raise OpsError(f"{dest} exists (the team may have filled it in); set force to replace it.")
    if not check_mode:
        write_private(dest, render(model).encode("utf-8"), os.path.basename(dest))
    return True
