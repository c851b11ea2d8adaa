# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What students saw, from the canary's ticks (canary.jsonl): per fault the user-visible outage (from
the canary's first failure to its next complete success; 0 when it never failed) and the recovery
(from the fault's end to the canary's first complete success), and the times readiness said ok while
the canary failed on the server side (readiness that lies). Pure functions of the ticks.

Readiness lies only where the evidence shows it: the platform itself answered the student with a
5xx (a timeout or an unreachable address may be the network between, which readiness cannot see),
in at least MIN_LIE_TICKS ticks in a row, each of which asked readiness and got ok. One failed
request is a transient error (the error-rate gates count it), not a readiness that lies."""
from __future__ import annotations

from typing import Any

from ansible_collections.examday.ops.plugins.module_utils._k6_samples import parse_iso
from ansible_collections.examday.ops.plugins.module_utils._report.values import as_dict, as_int, as_list, clip, rounded

SAMPLE_KEYS = ("step", "status", "code", "error", "request_id", "ready_detail")
MIN_LIE_TICKS = 2


def read_ticks(rows: Any) -> list[dict]:
    """The ticks as epochs, oldest first (a tick without a start is dropped)."""
    out = []
    for row in as_list(rows):
        row = as_dict(row)
        start, end = parse_iso(row.get("start")), parse_iso(row.get("end"))
        if start is None:
            continue
        status = as_int(row.get("status"))
        out.append({"start": start, "end": end if end is not None else start, "ok": row.get("ok") is True,
                    "ready_ok": row.get("ready_ok") is True, "status": status,
                    "server_side": row.get("ok") is not True and status is not None and status >= 500,
                    **{k: clip(row.get(k), 200) if isinstance(row.get(k), str) else row.get(k)
                       for k in SAMPLE_KEYS if k != "status"}})
    out.sort(key=lambda t: t["start"])
    return out


def _sample(tick: dict) -> dict:
    return {"at": tick["start"], **{k: tick.get(k) for k in SAMPLE_KEYS}}


def fault_effect(ticks: list[dict], start: float, end: float, settle: float, until: float | None = None) -> dict:
    """A fault's effect on the canary: outage_s (first failure in [start, end + settle], never past
    `until` (the next fault's start), to the next complete success; 0 when it never failed),
    recovery_s (the fault's end to the first complete success; 0 when the canary was fine at the end
    and stayed fine), None where the evidence does not reach far enough (no success after the
    failure, no tick after the end)."""
    horizon = end + settle if until is None else min(end + settle, max(end, until))
    covering = [t for t in ticks if t["end"] >= start and t["start"] < horizon]
    if not covering:
        return {"measured": False, "outage_s": None, "recovery_s": None, "failures": 0, "first_failure": None}
    failures = [t for t in covering if not t["ok"] and t["start"] >= start - 1.0]
    first = failures[0] if failures else None
    outage = 0.0
    if first is not None:
        after = next((t for t in ticks if t["ok"] and t["start"] > first["start"]), None)
        outage = rounded(after["end"] - first["start"]) if after else None
    before_end = [t for t in ticks if t["end"] <= end]
    later = [t for t in ticks if t["start"] >= end]
    first_ok = next((t for t in later if t["ok"]), None)
    failed_after = any(not t["ok"] for t in later if first_ok is None or t["start"] < first_ok["start"])
    if first_ok is None:
        recovery = None
    elif (not before_end or before_end[-1]["ok"]) and not failed_after:
        recovery = 0.0
    else:
        recovery = rounded(max(0.0, first_ok["end"] - end))
    return {"measured": True, "outage_s": outage, "recovery_s": recovery, "failures": len(failures),
            "first_failure": _sample(first) if first else None,
            "back_at": first_ok["end"] if first_ok else None}


def readiness_lies(ticks: list[dict]) -> list[dict]:
    """Runs of at least MIN_LIE_TICKS consecutive ticks in which the platform answered the canary with a
    5xx while readiness, asked in the same tick, said ok: [{start, end, seconds, ticks, samples}]."""
    episodes, current = [], []
    for tick in ticks + [None]:
        lying = tick is not None and tick["server_side"] and tick["ready_ok"]
        if lying:
            current.append(tick)
            continue
        if len(current) >= MIN_LIE_TICKS:
            episodes.append({"start": current[0]["start"], "end": current[-1]["end"],
                             "seconds": rounded(current[-1]["end"] - current[0]["start"]), "ticks": len(current),
                             "samples": [_sample(t) for t in current[:3]]})
        current = []
    return episodes


def summary(ticks: list[dict]) -> dict:
    """The canary's run as the report shows it."""
    if not ticks:
        return {"ticks": 0}
    failures = [t for t in ticks if not t["ok"]]
    gaps = [b["start"] - a["start"] for a, b in zip(ticks, ticks[1:])]
    return {"ticks": len(ticks), "failures": len(failures), "first": ticks[0]["start"], "last": ticks[-1]["end"],
            "interval_s": rounded(sorted(gaps)[len(gaps) // 2]) if gaps else None,
            "ready_not_ok": sum(1 for t in ticks if not t["ready_ok"]),
            "failed_steps": {s: sum(1 for t in failures if t.get("step") == s)
                             for s in sorted({t.get("step") or "?" for t in failures})}}


def timeline(ticks: list[dict], limit: int = 3000) -> list[list]:
    """[t, ok, ready_ok] per tick for the report's chart (at most `limit` points, evenly taken)."""
    step = max(1, -(-len(ticks) // limit))
    return [[rounded(t["start"]), t["ok"], t["ready_ok"]] for t in ticks[::step]]


def fault_end(fault: dict) -> float | None:
    """When a fault ended for students: an instant one (a restart) when it was done, a held one when it
    was undone (older evidence: restored_at)."""
    return parse_iso(fault.get("ended_at")) or parse_iso(fault.get("restored_at"))


def what_students_saw(ev: dict, th: dict) -> dict:
    """Per fault (in faults.json order) the canary's outage and recovery; readiness that lied."""
    ticks = read_ticks(ev.get("canary"))
    faults = []
    listed = [as_dict(f) for f in as_list(ev["faults"])]
    starts = [parse_iso(f.get("injected_at")) for f in listed]
    for i, fault in enumerate(listed):
        start, end = starts[i], fault_end(fault)
        if start is None or end is None or not ticks:
            faults.append(None)
            continue
        later = [s for s in starts[i + 1:] if s is not None and s >= start]
        faults.append(fault_effect(ticks, start, end, th["recovery_seconds"], min(later) if later else None))
    return {"ticks": ticks, "faults": faults, "lies": readiness_lies(ticks), "summary": summary(ticks)}
