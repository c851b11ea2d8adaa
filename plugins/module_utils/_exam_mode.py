# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EXAM_MODE verification by effect: pure verdicts over probe answers and worker log records."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ansible_collections.examday.ops.plugins.module_utils._platform.profile import json_get


def guard_flag_name(name: str, allow_freeze_updates: bool, freeze_flag: str = "FREEZE_UPDATES") -> None:
    """Refuses the student-blocking flag unless it was asked for explicitly."""
    if name.upper() == freeze_flag.upper() and not allow_freeze_updates:
        raise ValueError(f"{name} blocks every student's answers and submits; it is not EXAM_MODE. "
                         "Set allow_freeze_updates=true only if that is really what you want")


def _no_code(_body) -> str | None:
    return None


@dataclass(frozen=True)
class Probe:
    """What "EXAM_MODE is active" looks like at the heavy-job endpoint: the profile's refused
    status and code, where the code sits in the body is the profile's too (code_of)."""
    refused_status: int = 423
    refused_code: str = "EXAM_MODE_ACTIVE"
    streak: int = 8
    code_of: Callable[[object], "str | None"] = _no_code

    def refused(self, status: int, body) -> bool:
        return status == self.refused_status and (not self.refused_code or self.code_of(body) == self.refused_code)


def effect_verdict(samples: list[tuple[int, object]], want_active: bool, probe: Probe) -> tuple[bool, str]:
    """(settled, summary): settled once the last `streak` answers all show the wanted state.
    A streak, not one answer: every process (each with its own flag cache) must agree."""
    tail = samples[-probe.streak:]
    states = [probe.refused(s, b) for s, b in tail]
    settled = len(tail) == probe.streak and all(x == want_active for x in states)
    last = samples[-1] if samples else None
    if last is None:
        return False, "no probe answer"
    code = probe.code_of(last[1])
    return settled, f"last answer HTTP {last[0]}" + (f" {code}" if code else "")


def worker_verdict(records: list[dict], want_active: bool, idle_event: str, run_event: str,
                   event_key: str = "event") -> tuple[bool | None, str]:
    """(verdict, detail) from job-runner log records written after the change, oldest first:
    True when the newest relevant record is the wanted one, False when it is the other one,
    None when the runner has logged neither yet. event_key is a dotted path in the record."""
    def event(record):
        return json_get(record, event_key)

    relevant = [r for r in records if event(r) in (idle_event, run_event)]
    if not relevant:
        return None, f"the job runner logged neither {idle_event} nor {run_event} yet"
    newest = relevant[-1]
    wanted = idle_event if want_active else run_event
    ok = event(newest) == wanted
    return ok, f"newest job-runner record: {event(newest)}" + (
        f" ({newest['reason']})" if newest.get("reason") else "")
