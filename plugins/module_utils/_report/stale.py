# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stale overwrite explained in one sentence: both requests and when they were sent, when the logs
saw the stale one, and the fault window it fell in. `inp` is the gates' GateInput (ev, load)."""
from __future__ import annotations

from typing import Any

from ansible_collections.examday.ops.plugins.module_utils._k6_samples import parse_iso
from ansible_collections.examday.ops.plugins.module_utils._report.fmt import fmt_time
from ansible_collections.examday.ops.plugins.module_utils._report.values import as_dict, as_list, clip


def _window_of(inp: Any, when: float | None) -> str | None:
    if when is None:
        return None
    for window in inp.load.get("windows") or []:
        end = window.get("end")
        if window["start"] <= when and (end is None or when <= end):
            return window["label"]
    return None


def _traced_at(inp: Any, rid: str | None, where: str) -> float | None:
    """When a request's records were logged (metrics' traced section): the latest, the time its
    effect was done (a backend logs an access record when it answers)."""
    traced = as_dict(as_dict(as_dict(inp.ev["metrics"]).get("traced")).get(rid)) if rid else {}
    stamps = []
    for item in as_list(traced.get(where)):
        stamp = parse_iso(as_dict(item).get("ts"))  # the record's time by the profile's log keys
        if stamp is not None:
            stamps.append(stamp)
    return max(stamps) if stamps else None


def explain_stale(finding: Any, inp: Any) -> str:
    """One stale overwrite as a sentence: both requests, their times, the logs' times, the fault window."""
    f = as_dict(finding)
    stale, acked = as_dict(f.get("stale_write")), as_dict(f.get("acknowledged_write"))
    logged = _traced_at(inp, stale.get("request_id"), "backend")
    edge = _traced_at(inp, stale.get("request_id"), "edge")
    sent = parse_iso(stale.get("sent_at"))
    window = _window_of(inp, logged or sent)
    text = (f"{clip(f.get('kind'), 20)} {clip(f.get('session_id'), 40)}/{clip(f.get('question_id'), 40)}: request "
            f"{clip(stale.get('request_id'), 40)} sent {fmt_time(sent) if sent else '?'} "
            f"({clip(stale.get('error') or 'no answer', 60)}) stored {f.get('stored')!r} after request "
            f"{clip(acked.get('request_id'), 40)} sent {fmt_time(parse_iso(acked.get('sent_at'))) if acked.get('sent_at') else '?'} "
            f"had been acknowledged with {f.get('acknowledged')!r}")
    if logged is not None:
        text += f"; the backend logged the stale request at {fmt_time(logged)}"
    if edge is not None:
        text += f", the edge at {fmt_time(edge)}"
    if window:
        text += f", during the fault {window}"
    return text
