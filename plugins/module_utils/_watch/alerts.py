# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alerts of the live watch: one registry of rules, each judging one value of a sample against the
same thresholds the rehearsal's gates use (module_utils._thresholds) and naming the runbook's
matching "Common Issues" steps (seed 002). An alert is raised when its rule is broken in N samples in
a row (a rule may ask for fewer, e.g. a restart is raised at once) and cleared when it holds again
in M samples in a row; a value that was not measured neither raises nor clears. A limit taken from
the thresholds is broken at the limit itself, as the gates judge it (p95 must stay below p95_ms); a
fixed count limit is broken above it (missing backends must stay at 0)."""
from __future__ import annotations

import json

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError

# The runbook's "Common Issues" (seed 002), the steps an on-call engineer takes for each.
RUNBOOK = {
    "High Latency": [
        "Check the database connection pool (connections in pg_stat_activity against the pool).",
        "Check slow queries: slow_sql in the backend logs.",
        "Check container resources: docker stats --no-stream.",
        "If the pool is exhausted, consider a larger pool_size (needs a restart).",
    ],
    "High Error Rate": [
        "Check the backend logs for errors.",
        "Check the edge proxy's logs.",
        "Verify Redis (redis-cli ping).",
        "Check the database (pg_isready).",
    ],
    "Redis Failure": [
        "Expected: rate limiting is bypassed, sign-in still works.",
        "Watch the logs for warnings; Redis recovers by itself.",
        "If it persists, restart Redis.",
    ],
    "Backend Worker Failure": [
        "Expected: the other workers keep serving students.",
        "Watch for recovery; restart the backend if needed.",
    ],
    "Exam Mode Lost": [
        "Background jobs may run again during the exam: turn EXAM_MODE on again (playbooks/freeze.yml).",
        "Find out who or what turned it off (the flag's updated_by, the admin API's audit log).",
    ],
}


class Rule:
    """One alert: the sample's value under `key`, judged against the threshold `threshold` of
    examday_thresholds (broken at or above it) or a fixed count `limit` (broken above it); booleans are
    broken when not true. `raise_after` overrides the watch's N for this rule."""

    def __init__(self, rid: str, name: str, key: str, runbook: str, unit: str = "", threshold: str | None = None,
                 limit: float | None = None, boolean: bool = False, raise_after: int | None = None,
                 detail: str | None = None):
        self.id, self.name, self.key, self.runbook, self.unit = rid, name, key, runbook, unit
        self.detail = detail  # the sample's key (or "errors.<part>") that says why, shown beside the value
        self.threshold, self.limit, self.boolean, self.raise_after = threshold, limit, boolean, raise_after

    def limit_of(self, thresholds: dict):
        if self.boolean:
            return None
        return float(thresholds[self.threshold]) if self.threshold else self.limit

    def broken(self, value, limit) -> bool | None:
        """True when the rule is broken, False when it holds, None when the value was not measured."""
        if value is None:
            return None
        if self.boolean:
            return value is not True
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return value >= limit if self.threshold else value > limit


RULES = [
    Rule("observation", "the platform could not be observed", "observed_ok", "High Error Rate", boolean=True,
         detail="error"),
    Rule("latency_p95", "high latency", "p95_ms", "High Latency", "ms", threshold="p95_ms"),
    Rule("error_rate", "high error rate", "error_rate_pct", "High Error Rate", "%", threshold="error_rate_pct"),
    Rule("db_pool", "database pool nearly full", "db_pool_pct", "High Latency", "%", threshold="db_pool_pct"),
    Rule("health", "health check failing", "health_ok", "High Error Rate", boolean=True, detail="health"),
    Rule("readiness", "readiness check failing", "ready_ok", "High Error Rate", boolean=True, detail="ready"),
    Rule("redis", "Redis unreachable", "redis_ok", "Redis Failure", boolean=True, detail="errors.redis"),
    Rule("backends", "backend instances missing", "backend_missing", "Backend Worker Failure", limit=0),
    Rule("restarts", "containers restarted", "restarts", "Backend Worker Failure", limit=0, raise_after=1,
         detail="restarted"),
    Rule("exam_mode", "EXAM_MODE is off", "exam_mode_on", "Exam Mode Lost", boolean=True, detail="exam_mode_source"),
]
RULES_BY_ID = {rule.id: rule for rule in RULES}


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OpsError(f"watch {name} must be a whole number of samples of 1 or more, got {value!r}.")
    return value


class Tracker:
    """Feeds samples one by one and returns the alerts raised and cleared by each."""

    def __init__(self, thresholds: dict, raise_after: int = 3, clear_after: int = 2, rules: list[str] | None = None):
        self.raise_after = _count("raise_after", raise_after)
        self.clear_after = _count("clear_after", clear_after)
        unknown = [r for r in (rules or []) if r not in RULES_BY_ID]
        if unknown:
            raise OpsError(f"Unknown watch rule {unknown[0]!r}; known rules are {', '.join(RULES_BY_ID)}.")
        self.rules = [RULES_BY_ID[r] for r in rules] if rules else list(RULES)
        self.limits = {rule.id: rule.limit_of(thresholds) for rule in self.rules}
        self.state = {rule.id: {"bad": 0, "good": 0, "active": None, "worst": None, "values": []} for rule in self.rules}

    def active(self) -> list[str]:
        return [rid for rid, st in self.state.items() if st["active"]]

    def feed(self, sample: dict, at: str) -> list[dict]:
        events = []
        for rule in self.rules:
            st, limit = self.state[rule.id], self.limits[rule.id]
            value = sample.get(rule.key)
            broken = rule.broken(value, limit)
            if broken is None:
                continue  # not measured: the streaks stand, the sample's record says it
            if broken:
                st["bad"], st["good"] = st["bad"] + 1, 0
                needed = rule.raise_after or self.raise_after
                st["values"] = (st["values"] + [value])[-needed:]
                if st["active"]:
                    st["worst"] = _worse(rule, st["worst"], value)
                elif st["bad"] >= needed:
                    st["active"] = {"since": at}
                    st["worst"] = _worse(rule, None, *st["values"])
                    events.append(_event("raised", rule, at, value, limit, st, needed, _detail(rule, sample)))
            else:
                st["bad"], st["good"], st["values"] = 0, st["good"] + 1, []
                if st["active"] and st["good"] >= self.clear_after:
                    events.append(_event("cleared", rule, at, value, limit, st, self.clear_after))
                    st["active"], st["worst"] = None, None
        return events


def _worse(rule: Rule, current, *values):
    out = current
    for value in values:
        if rule.boolean:
            out = value
        elif out is None or value > out:
            out = value
    return out


def _detail(rule: Rule, sample: dict):
    if not rule.detail:
        return None
    if rule.detail.startswith("errors."):
        return (sample.get("errors") or {}).get(rule.detail[len("errors."):])
    value = sample.get(rule.detail)
    return ", ".join(str(v) for v in value) if isinstance(value, list) else value


def _event(kind: str, rule: Rule, at: str, value, limit, st: dict, streak: int, detail=None) -> dict:
    event = {"event": kind, "rule": rule.id, "name": rule.name, "at": at, "value": value, "limit": limit,
             "unit": rule.unit, "samples": streak, "runbook": {"section": rule.runbook, "steps": RUNBOOK[rule.runbook]}}
    if detail:
        event["detail"] = detail
    if kind == "cleared":
        event["raised_at"] = st["active"]["since"]
        event["worst"] = st["worst"]
    return event


def value_text(value, unit: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{round(value, 2):g}{' ' if unit == 'ms' else ''}{unit}"
    return str(value)


def line(event: dict) -> str:
    """One line for the operator's terminal and the CI log (no terminal control codes)."""
    rule, unit, n = RULES_BY_ID[event["rule"]], event["unit"], event["samples"]
    detail = f" ({event['detail']})" if event.get("detail") else ""
    raised = event["event"] == "raised"
    if rule.boolean:
        measured = f"{'in' if raised else 'ok again in'} {n} samples in a row{detail if raised else ''}"
    else:
        relation = ("must stay below" if raised else "below") if rule.threshold else \
            ("must stay at most" if raised else "at most")
        measured = (f"{value_text(event['value'], unit)} ({relation} {value_text(event['limit'], unit)}) in {n} "
                    f"samples in a row{detail if raised else ''}")
    if raised:
        steps = " ".join(f"{i}. {s}" for i, s in enumerate(event["runbook"]["steps"], 1))
        return f"ALERT {event['at']} {event['name']}: {measured}. Runbook, {event['runbook']['section']}: {steps}"
    worst = "" if rule.boolean else f", worst {value_text(event['worst'], unit)}"
    return f"CLEARED {event['at']} {event['name']}: {measured} (raised {event['raised_at']}{worst})."


def payload(event: dict, fmt: str = "json", source: str = "") -> bytes:
    """The webhook's body: the event as JSON, or Slack's incoming-webhook shape ({"text": ...})."""
    if fmt == "slack":
        body = {"text": (f"[{source}] " if source else "") + line(event)}
    elif fmt == "json":
        body = {"source": source, **event}
    else:
        raise OpsError(f"watch webhook format must be json or slack, got {fmt!r}.")
    return json.dumps(body, sort_keys=True).encode("utf-8")
