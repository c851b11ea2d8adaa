# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only evidence about a running platform, and pass/fail checks over it.

Gathering (HTTP, SQL, docker CLI) is done by the caller's collaborators; the checks are pure
functions of what was gathered, so they are unit-tested on recorded real values."""
from __future__ import annotations

from ansible_collections.examday.ops.plugins.module_utils._platform import probes
from ansible_collections.examday.ops.plugins.module_utils._platform.api import ApiResponse

CONNECTIONS_SQL = """
SELECT (SELECT setting::int FROM pg_settings WHERE name = 'max_connections') AS max_connections,
       count(*) FILTER (WHERE datname = %(db)s) AS db_connections,
       count(*) FILTER (WHERE datname = %(db)s AND application_name ~ %(app_re)s) AS app_connections,
       count(*) AS all_connections
FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'
"""


def check(name: str, passed: bool | None, evidence, detail: str = "") -> dict:
    """One check: passed True/False, or None when it could not be measured (never a silent pass)."""
    return {"name": name, "passed": passed, "detail": detail, "evidence": evidence}


def health_check(resp: ApiResponse | None, error: str | None, rule: dict) -> dict:
    """Health by the profile's rule (examday_platform.health): the body, not only the code."""
    if resp is None:
        return check("health", False, None, error or "no answer")
    ok, why = probes.verdict(rule, resp.status, resp.body)
    body = resp.body if isinstance(resp.body, dict) else {}
    return check("health", ok, {**resp.evidence(), "body_status": body.get("status")}, why)


def ready_check(resp: ApiResponse | None, error: str | None, rule: dict) -> dict:
    """Readiness by the profile's rule (examday_platform.readiness: flat or nested checks)."""
    if resp is None:
        return check("ready", False, None, error or "no answer")
    ok, why = probes.verdict(rule, resp.status, resp.body)
    body = resp.body if isinstance(resp.body, dict) else {}
    return check("ready", ok, {**resp.evidence(), "body_status": body.get("status"), "checks": body.get("checks")}, why)


def edge_check(answers: list[tuple[int, object]], error: str | None, rule: dict) -> dict:
    """Requests through the edge proxy (round-robin over the replicas) must all reach a healthy backend."""
    if error:
        return check("edge", False, None, error)
    codes = [status for status, _body in answers]
    healthy = [probes.verdict(rule, status, body)[0] for status, body in answers]
    ok = bool(answers) and all(healthy)
    return check("edge", ok, {"requests": len(answers), "statuses": codes},
                 f"{sum(healthy)} of {len(answers)} requests through the edge reached a healthy backend")


def db_connections_check(row: dict | None, error: str | None, app_limit: int, max_connections_pct: float) -> dict:
    """The app's connections must stay below its pools' capacity ((pool_size + max_overflow) x
    processes x replicas), and all connections to the database below max_connections_pct % of
    max_connections."""
    if row is None:
        return check("db_connections", None, None, f"not measured: {error}")
    pct = 100.0 * row["db_connections"] / row["max_connections"] if row["max_connections"] else 100.0
    ok = row["app_connections"] < app_limit and pct < max_connections_pct
    evidence = dict(row, app_limit=app_limit, pct_of_max_connections=round(pct, 1),
                    max_connections_pct=max_connections_pct)
    return check("db_connections", ok, evidence,
                 f"{row['app_connections']} app connections (limit {app_limit}), "
                 f"{row['db_connections']} on the database = {pct:.1f}% of max_connections {row['max_connections']} "
                 f"(limit {max_connections_pct:g}%)")


def services_check(summaries: list[dict], expected: list[str]) -> dict:
    """Every expected service has a running container, and none reports unhealthy."""
    by_service: dict = {}
    for s in summaries:
        by_service.setdefault(s["service"], []).append(s)
    problems = []
    for service in expected:
        containers = by_service.get(service, [])
        if not containers:
            problems.append(f"{service}: no container")
        for c in containers:
            if not c["running"] or c["paused"]:
                problems.append(f"{c['name']}: {c['status']}")
            elif c["health"] not in (None, "healthy"):
                problems.append(f"{c['name']}: {c['health']}")
    checked = [s for s in summaries if s["service"] in expected]
    evidence = [{k: s[k] for k in ("name", "service", "status", "health", "restart_count")} for s in summaries]
    return check("services", not problems, evidence,
                 "; ".join(problems) or f"{len(checked)} containers of {len(expected)} services running and healthy")


def limits_check(summaries: list[dict]) -> dict:
    unlimited = [s["name"] for s in summaries if not s["limits"]["nano_cpus"] or not s["limits"]["memory_bytes"]]
    evidence = {s["name"]: s["limits"] for s in summaries}
    return check("resource_limits", not unlimited, evidence,
                 f"no CPU or memory limit: {', '.join(unlimited)}" if unlimited else "every container has limits")


def verdict(checks: list[dict]) -> dict:
    failed = [c["name"] for c in checks if c["passed"] is False]
    unmeasured = [c["name"] for c in checks if c["passed"] is None]
    return {"passed": not failed and not unmeasured, "failed": failed, "not_measured": unmeasured}
