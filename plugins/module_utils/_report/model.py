# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's content (report.json), from which every rendering is made: the run, the verdict and
gates, and one section per kind of evidence (freeze, load, faults, integrity, metrics, user
experience), the per-second timeline and the risk register. Only chosen fields of each evidence
file are copied (numbers, states, names), never a whole dictionary of unknown content."""
from __future__ import annotations

from typing import Any

from ansible_collections.examday.ops.plugins.module_utils._common import json_safe
from ansible_collections.examday.ops.plugins.module_utils._k6_samples import parse_iso
from ansible_collections.examday.ops.plugins.module_utils._evidence.names import UX_CHECKS, UX_TITLES
from ansible_collections.examday.ops.plugins.module_utils._report.canary import fault_end, timeline
from ansible_collections.examday.ops.plugins.module_utils._report.evidence import present_files, run_problems
from ansible_collections.examday.ops.plugins.module_utils._report.fmt import NOT_MEASURED, fmt_time
from ansible_collections.examday.ops.plugins.module_utils._report.gates import (
    _double_submits, gate_by_id, verdict,
)
from ansible_collections.examday.ops.plugins.module_utils._report.values import (
    as_dict, as_int, as_list, as_num, clip, count_of, norm_name, numeric_fields, rounded, scalar_sample,
)

DEFAULT_TITLE = "Exam-Day Rehearsal Report"


def build_report(ev: dict, load: dict, gates: list[dict], th: dict, meta: dict, seen: dict | None = None) -> dict:
    """The report's whole content (the JSON file); Markdown, JUnit and HTML are renderings of it.
    `seen` is what the canary saw (gates.what_students_saw)."""
    seen = seen or {"ticks": [], "faults": [], "lies": [], "summary": {"ticks": 0}}
    run = as_dict(ev["run"])
    started = parse_iso(run.get("started_at")) or load.get("first_ts")
    finished = parse_iso(run.get("finished_at")) or load.get("last_ts")
    scenarios = [load["scenarios"][n] for n in load["scenarios"]]
    report: dict[str, Any] = {
        "title": meta.get("title") or DEFAULT_TITLE,
        "date": fmt_time(started)[:10] if started else NOT_MEASURED,
        "environment": meta.get("environment") or (clip(run["environment"], 40) if run.get("environment") else None),
        "api_url": meta.get("api_url"),
        "conducted_by": meta.get("conducted_by"),
        "evidence_dir": ev["dir"],
        "run": {"playbook": clip(run.get("playbook"), 80) if run.get("playbook") else None,
                "host": clip(run.get("host"), 80) if run.get("host") else None,
                "profile": clip(run.get("profile"), 40) if run.get("profile") else None,
                "started_at": fmt_time(started) if started else None,
                "finished_at": fmt_time(finished) if finished else None},
        "verdict": verdict(gates),
        "gates": gates,
        "failed_gates": [g["name"] for g in gates if g["passed"] is not True],
        "thresholds": th,
        "problems": run_problems(ev),
        "evidence_problems": dict(ev["problems"]),
        "canary": {"summary": seen["summary"], "lies": seen["lies"], "timeline": timeline(seen["ticks"])},
        "idempotency": _idempotency(ev),
        "freeze": _freeze_section(ev),
        "load": {"scenarios": scenarios, "overall": load["merged"], "windows": load["windows"]},
        "faults": _fault_section(ev, load, th, seen["faults"]) if isinstance(ev["faults"], list) else None,
        "integrity": _integrity_section(ev, th),
        "metrics": _metrics_section(ev),
        "ux": _ux_section(ev),
        "timeline": {"per_second": [{k: rounded(v) if k != "t" else v for k, v in row.items()} for row in load["per_second"]]},
        "files_present": present_files(ev),
    }
    report["risks"] = _risks(gates, report)
    return json_safe(report)


def _freeze_section(ev: dict) -> dict | None:
    record = ev["freeze"]
    if not isinstance(record, dict):
        return None
    em = as_dict(record.get("exam_mode"))
    evidence = as_dict(em.get("evidence"))
    probe, worker = as_dict(evidence.get("probe")), as_dict(evidence.get("worker"))
    record_jobs = as_dict(record.get("background_jobs"))
    jobs = as_dict(record_jobs.get("after")) or as_dict(record_jobs.get("found"))  # the state after the freeze
    checks = {clip(c.get("name"), 40): {"passed": c.get("passed") if isinstance(c.get("passed"), bool) else None,
                                        "detail": clip(c.get("detail", ""), 200)}
              for c in as_list(as_dict(record.get("status_after")).get("checks")) if isinstance(c, dict) and c.get("name")}
    containers = [{"name": clip(c.get("name"), 80), "running": c.get("running") is True,
                   "paused": c.get("paused") is True, "status": clip(c.get("status", ""), 20)}
                  for c in as_list(jobs.get("containers")) if isinstance(c, dict)]
    verdict_ = as_dict(record.get("verdict"))
    return {
        "file": ev["freeze_file"],
        "started": record.get("started") if isinstance(record.get("started"), str) else None,
        "finished": record.get("finished") if isinstance(record.get("finished"), str) else None,
        "passed": verdict_.get("passed") if isinstance(verdict_.get("passed"), bool) else None,
        "reasons": [clip(r, 300) for r in as_list(verdict_.get("reasons")) if isinstance(r, str)],
        "exam_mode": {
            "state": clip(em.get("state"), 20) if em.get("state") else None,
            "mechanism": clip(em.get("mechanism"), 20) if em.get("mechanism") else None,
            "verified": em.get("verified") is True,
            "seconds": rounded(evidence.get("seconds")),
            "probe": {"answers": as_int(probe.get("answers")), "settled": probe.get("settled") is True,
                      "last": clip(probe.get("last"), 200) if probe.get("last") else None,
                      "statuses": [s for s in as_list(probe.get("recent")) if as_int(s) is not None][:20]} if probe else None,
            "worker": {"ok": worker.get("ok") is True,
                       "last": clip(worker.get("last"), 200) if worker.get("last") else None} if worker else None,
        },
        "job_containers": containers,
        "job_processes": len(as_list(jobs.get("processes"))),
        "checks_after": checks,
    }


def _idempotency(ev: dict) -> dict:
    pairs, differ, samples, _files = _double_submits(ev)
    return {"pairs": pairs, "differ": differ, "samples": samples[:5]}


def _fault_section(ev: dict, load: dict, th: dict, seen: list) -> list[dict]:
    faults = as_list(ev["faults"])
    windows = iter(as_list(as_dict(load.get("merged")).get("windows")))  # one per fault with an injected_at
    out = []
    for i, fault in enumerate(faults):
        fault = as_dict(fault)
        start, end = parse_iso(fault.get("injected_at")), parse_iso(fault.get("restored_at"))
        window = next(windows, None) if start is not None else None
        seconds = as_num(fault.get("recovery_seconds"))
        states = {}
        for when in ("before", "after"):
            states[when] = {clip(k, 80): {"state": clip(as_dict(v).get("state") or as_dict(v).get("status") or "", 20) or None,
                                          "health": clip(as_dict(v).get("health") or "", 20) or None}
                            for k, v in as_dict(fault.get(when)).items()}
        effect = seen[i] if i < len(seen) and seen[i] else None
        ended, applied = fault_end(fault), parse_iso(fault.get("applied_at"))
        max_outage = as_num(fault.get("max_outage_s"))
        canary = None
        if effect and effect["measured"]:
            canary = {"outage_s": effect["outage_s"], "recovery_s": effect["recovery_s"],
                      "failures": effect["failures"], "first_failure": effect["first_failure"]}
        out.append({
            "name": clip(fault.get("name") or f"fault {i + 1}", 80),
            "canary": canary,
            "max_outage_s": max_outage if max_outage is not None else th["outage_seconds"],
            "ended_at": fmt_time(ended) if ended is not None else None,
            "restart_s": rounded(applied - start) if fault.get("instant") and applied is not None and start is not None
            else None,
            "drill": fault.get("drill") is True,
            "error": clip(fault["error"], 300) if isinstance(fault.get("error"), str) else None,
            "fault": clip(fault.get("fault"), 40) if fault.get("fault") else None,
            "targets": [clip(t, 80) for t in as_list(fault.get("targets")) if isinstance(t, str)],
            "injected_at": fault.get("injected_at") if start is not None else None,
            "restored_at": fault.get("restored_at") if end is not None else None,
            "duration_s": rounded(fault.get("duration_s")),
            "outage_s": rounded(end - start) if start is not None and end is not None else None,
            "restored": fault.get("restored") if isinstance(fault.get("restored"), bool) else None,
            "recovered": fault.get("recovered") if isinstance(fault.get("recovered"), bool) else None,
            "recovery_seconds": rounded(seconds),
            "recovery_detail": clip(fault["recovery_detail"], 200) if isinstance(fault.get("recovery_detail"), str) else None,
            "within_budget": (canary["recovery_s"] is not None and canary["recovery_s"] <= th["recovery_seconds"]
                              and canary["outage_s"] is not None
                              and canary["outage_s"] <= (max_outage if max_outage is not None else th["outage_seconds"]))
            if canary else None,
            "window": window,
            "window_within_budget": (window["error_rate_pct"] <= th["fault_error_budget_pct"])
            if window and window.get("requests") else None,
            "before": states["before"], "after": states["after"],
            # an ordered restart's steps (the recovery drill, the emergency restart)
            "services": [{"service": clip(as_dict(x).get("service"), 80), "restart_s": rounded(as_dict(x).get("restart_s")),
                          "healthy_after_s": rounded(as_dict(x).get("healthy_after_s"))}
                         for x in as_list(as_dict(fault.get("details")).get("services"))],
        })
    return out


def _integrity_section(ev: dict, th: dict) -> dict | None:
    integrity = ev["integrity"]
    if not isinstance(integrity, dict):
        return None
    loss_names = set(th["data_loss_checks"])
    checks = [{"name": clip(c.get("name"), 80), "description": clip(c.get("description") or "", 200),
               "count": as_int(c.get("count")), "expected": as_int(c.get("expected")) if as_int(c.get("expected")) is not None else 0,
               "passed": c.get("passed") if isinstance(c.get("passed"), bool) else None,
               "gate": "zero_data_loss" if norm_name(c.get("name")) in loss_names else "no_corrupted_sessions",
               "samples": [scalar_sample(s) for s in as_list(c.get("samples"))[:3]]}
              for c in as_list(integrity.get("checks")) if isinstance(c, dict) and c.get("name")]
    recon = as_dict(integrity.get("reconciliation"))
    reconciliation = {
        "passed": recon.get("passed") if isinstance(recon.get("passed"), bool) else None,
        "acknowledged": numeric_fields(recon.get("acknowledged")),
    }
    reconciliation["unknown_writes"] = numeric_fields(recon.get("unknown_writes"))
    reconciliation["unknown_outcome"] = numeric_fields(recon.get("unknown_outcome"))
    for part in ("lost", "mismatched", "stale_overwrites", "superseded", "duplicates", "unexpected"):
        reconciliation[part] = {"count": count_of(recon.get(part)),
                                "samples": [_finding(s) for s in as_list(as_dict(recon.get(part)).get("samples"))[:5]]}
    return {"passed": integrity.get("passed") if isinstance(integrity.get("passed"), bool) else None,
            "checks": checks, "statistics": numeric_fields(integrity.get("statistics")),
            "reconciliation": reconciliation}


def _finding(sample: Any) -> dict:
    """A reconciliation finding's scalars, and the requests it names (request ids and times only)."""
    out = scalar_sample(sample)
    for key in ("write", "acknowledged_write", "stale_write", "older_write", "by"):
        part = as_dict(as_dict(sample).get(key))
        if part:
            out[key] = {k: clip(part.get(k), 120) for k in ("request_id", "sent_at", "ts", "status", "error")
                        if part.get(k) is not None}
    return out


def _metrics_section(ev: dict) -> dict | None:
    metrics = ev["metrics"]
    if not isinstance(metrics, dict):
        return None
    containers = {}
    for name, c in as_dict(metrics.get("containers")).items():
        c = as_dict(c)
        cpu = [v for v in as_list(c.get("cpu_pct")) if as_num(v) is not None]
        mem = [v for v in as_list(c.get("mem_bytes")) if as_num(v) is not None]
        containers[clip(name, 80)] = {"cpu_pct_max": rounded(max(cpu)) if cpu else None,
                                      "cpu_pct_avg": rounded(sum(cpu) / len(cpu)) if cpu else None,
                                      "mem_bytes_max": as_int(max(mem)) if mem else None,
                                      "mem_slope_bytes_per_min": rounded(c.get("mem_slope_bytes_per_min")),
                                      "samples": as_int(c.get("samples"))}
    prometheus = as_dict(metrics.get("prometheus"))
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
        # the logs' errors of the window: the backends' error records by event, a few of the edge's error lines
        "backend_error_events": {clip(k, 80): as_int(v) for k, v in
                                 as_dict(as_dict(metrics.get("backend_errors")).get("events")).items()},
        "edge_error_samples": [{"ts": clip(as_dict(x).get("ts"), 40), "kind": clip(as_dict(x).get("kind"), 40),
                                "line": clip(as_dict(x).get("line"), 300)}
                               for x in as_list(as_dict(metrics.get("edge_errors")).get("samples"))[:5]],
    }


def _ux_section(ev: dict) -> dict | None:
    ux = ev["ux"]
    if not isinstance(ux, dict):
        return None
    steps = [{"step": clip(s.get("step"), 40), "status": as_int(s.get("status")), "ms": rounded(s.get("ms"))}
             for s in as_list(ux.get("steps")) if isinstance(s, dict) and s.get("step")]
    checks = {}
    for name in UX_CHECKS:
        value = as_dict(ux.get("checks")).get(name)
        if isinstance(value, bool):  # evidence of an older collection
            value = {"passed": value, "detail": ""}
        value = as_dict(value)
        if value:
            checks[name] = {"passed": value.get("passed") if isinstance(value.get("passed"), bool) else None,
                            "detail": clip(value.get("detail") or "", 200), "title": UX_TITLES[name]}
    passed = ux.get("passed")
    if not isinstance(passed, bool):
        passed = None if not checks else (not ux.get("failed") and all(c["passed"] is not False for c in checks.values()))
    return {"passed": passed, "checks": checks, "steps": steps,
            "msg": clip(ux["msg"], 300) if isinstance(ux.get("msg"), str) else None}


def stats_series(ev: dict) -> dict:
    """stats.jsonl as per-container time series of CPU % and memory bytes."""
    series: dict[str, dict[str, list]] = {}
    for row in ev["stats"] or []:
        t = parse_iso(row.get("ts"))
        name = row.get("container")
        if t is None or not isinstance(name, str):
            continue
        entry = series.setdefault(clip(name, 80), {"cpu": [], "mem": [], "limit": None})
        if as_num(row.get("cpu_pct")) is not None:
            entry["cpu"].append((t, float(row["cpu_pct"])))
        if as_num(row.get("mem_bytes")) is not None:
            entry["mem"].append((t, float(row["mem_bytes"])))
        if as_num(row.get("mem_limit_bytes")):
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
                          "mitigation": gate_by_id(g["id"]).mitigation if g["passed"] is False else
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
        for gen in scen.get("generators") or []:
            if gen["saturated"]:
                risks.append({"risk": f"load generator {gen['name']} was saturated in scenario {scen['name']} "
                                      f"({gen['why']}): its latencies include its own queueing",
                              "impact": "Medium", "likelihood": "High",
                              "mitigation": "Add load generators or give them more cores (docs/load.md); rehearse "
                                            "the scenario again.", "gate": None})
    metrics = report.get("metrics") or {}
    for name, c in (metrics.get("containers") or {}).items():
        slope = c.get("mem_slope_bytes_per_min")
        if slope is not None and slope > 1024 * 1024:
            risks.append({"risk": f"memory of {name} grew by {slope / 1048576:.1f} MiB/min during the run",
                          "impact": "Medium", "likelihood": "Medium",
                          "mitigation": "Run a soak test on that service and look for a leak before a long exam.",
                          "gate": None})
    return risks
