# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EXAM_MODE verification by effect: pure verdicts over probe answers and worker log records."""
from __future__ import annotations

from dataclasses import dataclass

GUARDED_FLAGS = ("FREEZE_UPDATES",)


def guard_flag_name(name: str, allow_freeze_updates: bool) -> None:
    """Refuses the student-blocking flag unless it was asked for explicitly."""
    if name.upper() in GUARDED_FLAGS and not allow_freeze_updates:
        raise ValueError(f"{name} blocks every student's answers and submits; it is not EXAM_MODE. "
                         "Set allow_freeze_updates=true only if that is really what you want")


@dataclass(frozen=True)
class Probe:
    """What "EXAM_MODE is active" looks like at the heavy-job endpoint."""
    refused_status: int = 423
    refused_code: str = "EXAM_MODE_ACTIVE"
    streak: int = 8

    def refused(self, status: int, body) -> bool:
        code = body.get("code") if isinstance(body, dict) else None
        if isinstance(body, dict) and code is None and isinstance(body.get("detail"), dict):
            code = body["detail"].get("code")
        return status == self.refused_status and (not self.refused_code or code == self.refused_code)


def effect_verdict(samples: list[tuple[int, object]], want_active: bool, probe: Probe) -> tuple[bool, str]:
    """(settled, summary): settled once the last `streak` answers all show the wanted state.
    A streak, not one answer: every replica (each with its own flag cache) must agree."""
    tail = samples[-probe.streak:]
    states = [probe.refused(s, b) for s, b in tail]
    settled = len(tail) == probe.streak and all(x == want_active for x in states)
    last = samples[-1] if samples else None
    if last is None:
        return False, "no probe answer"
    code = last[1].get("code") if isinstance(last[1], dict) else None
    return settled, f"last answer HTTP {last[0]}" + (f" {code}" if code else "")


def worker_verdict(records: list[dict], want_active: bool, idle_event: str, run_event: str,
                   event_key: str = "event") -> tuple[bool | None, str]:
    """(verdict, detail) from worker log records written after the change, oldest first:
    True when the newest relevant record is the wanted one, False when it is the other one,
    None when the worker has logged neither yet."""
    relevant = [r for r in records if r.get(event_key) in (idle_event, run_event)]
    if not relevant:
        return None, f"the worker logged neither {idle_event} nor {run_event} yet"
    newest = relevant[-1]
    wanted = idle_event if want_active else run_event
    ok = newest.get(event_key) == wanted
    return ok, f"newest worker record: {newest.get(event_key)}" + (
        f" ({newest['reason']})" if newest.get("reason") else "")
