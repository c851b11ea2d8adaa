# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a hard gate is and how it is registered (gates.py holds the rehearsal's, gates_incident.py
the opt-in ones of the exam-day records); registration order is the report order."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

NOT_JUDGED = "not judged in this report"


class GateInput(NamedTuple):
    """What every gate function is given: the evidence, the load analysis, the thresholds, and what
    the canary saw (per fault, and readiness that lied)."""
    ev: dict
    load: dict
    th: dict
    require_reconciliation: bool = True
    seen: dict | None = None


@dataclass(frozen=True)
class Gate:
    """One hard gate. `rule` is formatted with the resolved thresholds (`{p95_ms:g}`)."""
    id: str
    name: str
    unit: str
    rule: str
    mitigation: str
    evaluate: Callable[[Gate, GateInput], dict]
    opt_in: bool = False  # judged only when a report asks for it (not one of the rehearsal's gates)

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


def hard_gate(gid: str, name: str, unit: str, rule: str, mitigation: str, opt_in: bool = False) -> Callable:
    """Registers the decorated function as the gate's judge, in report order. An opt-in gate is judged
    only where a report lists it (`gates`), e.g. the platform's health after an incident."""
    def register(func: Callable[[Gate, GateInput], dict]) -> Callable[[Gate, GateInput], dict]:
        if any(g.id == gid for g in _REGISTERED):
            raise ValueError(f"gate {gid} registered twice")
        _REGISTERED.append(Gate(gid, name, unit, rule, mitigation, func, opt_in))
        return func
    return register


def _missing(ev: dict, rel: str) -> str:
    problem = ev["problems"].get(rel)
    return f"no evidence: {rel} {problem}" if problem else f"no evidence: {rel} missing"
