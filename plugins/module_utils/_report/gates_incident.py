# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Opt-in gates of the exam-day records (verify_recovery, emergency_restart): judged only where a
report lists them, never in a rehearsal's default set."""
from __future__ import annotations

from ansible_collections.examday.ops.plugins.module_utils._report.evidence import STATUS_JSON
from ansible_collections.examday.ops.plugins.module_utils._report.gate_base import Gate, GateInput, _missing, hard_gate
from ansible_collections.examday.ops.plugins.module_utils._report.values import as_list, clip


@hard_gate("platform_status", "platform healthy by body", "checks",
           rule="health and readiness by body, the edge, the services and the DB connections all pass",
           mitigation="Follow the runbook's Emergency Procedures for the failing check, then verify again.",
           opt_in=True)
def _platform_status(gate: Gate, inp: GateInput) -> dict:
    ev = inp.ev
    rule, files = gate.rule_text(inp.th), [STATUS_JSON]
    status = ev.get("status")
    if not isinstance(status, dict):
        return gate.result(None, None, 0, rule, files, _missing(ev, STATUS_JSON))
    checks = [c for c in as_list(status.get("checks")) if isinstance(c, dict) and c.get("name")]
    if not checks:
        return gate.result(None, None, 0, rule, files,
                           f"no evidence: {STATUS_JSON} has no checks ({clip(status.get('msg') or 'no message', 200)})")
    failed = [c for c in checks if c.get("passed") is False]
    unmeasured = [c for c in checks if c.get("passed") is None]
    parts = [f"{clip(c['name'], 30)}: {clip(c.get('detail'), 160)}" for c in failed]
    parts += [f"{clip(c['name'], 30)} not measured ({clip(c.get('detail'), 120)})" for c in unmeasured]
    detail = f"{len(checks) - len(failed) - len(unmeasured)} of {len(checks)} checks passed" + (
        "; " + "; ".join(parts) if parts else "")
    passed = False if failed else (None if unmeasured else True)
    return gate.result(passed, len(failed), 0, rule, files, detail if passed is not None else "no evidence: " + detail)
