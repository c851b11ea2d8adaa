# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One sample of the live watch, from what was observed in one interval: health and readiness
judged by body (the profile's rules), the backends' log records of the interval (latency
percentiles as k6 computes them, 5xx rate, slow requests and slow SQL), one database sample against
the pool, Redis, the containers (running backends, restarts since the previous sample) and
EXAM_MODE's state read without changing it. The keys are the ones alerts.RULES judge; a value that
could not be measured is None and its reason is in `not_measured`."""
from __future__ import annotations

from ansible_collections.examday.ops.plugins.module_utils._k6_samples import percentile
from ansible_collections.examday.ops.plugins.module_utils._metrics.dbsample import db_pool_summary


def _latency(scan) -> dict:
    if scan is None:
        return {"requests": None, "p50_ms": None, "p95_ms": None, "error_rate_pct": None, "slow_requests": None,
                "slow_sql": None}
    durations = sorted(scan.durations or [])
    status = scan.http_status()
    return {"requests": scan.requests,
            "p50_ms": percentile(durations, 0.50), "p95_ms": percentile(durations, 0.95),
            "error_rate_pct": status["error_rate_pct"],
            "slow_requests": scan.slow_requests[0], "slow_sql": scan.slow_sql[0]}


def _pool_pct(db: dict | None, pool: dict | None) -> float | None:
    if not db or "error" in db:
        return None
    summary = db_pool_summary([db], db.get("max_connections"), pool or {})
    values = [v for v in (summary["pct_of_app_pool"], summary["pct_of_max_connections"]) if v is not None]
    return max(values) if values else None


def build(at: str, *, health: tuple | None, ready: tuple | None, scan=None, db: dict | None = None,
          pool: dict | None = None, redis_ok: bool | None = None, containers: list | None = None,
          expected_backends: int | None = None, previous: dict | None = None,
          exam_mode_on: bool | None = None, backend_services: tuple | list = ("backend",)) -> dict:
    """The sample at `at`. health/ready: (ok, detail) as probes.verdict gives them, None when not asked;
    scan: a BackendScan(keep_durations=True) fed with the interval's records; db: a dbsample.db_sample
    record (or {"error": ...}); containers: _docker_cli.container_summary()s (service, running,
    restart_count, started_at); previous: the previous sample that was observed: `restarts` counts the
    containers restarted since, by their restart count (the restart policy) or a new start time (a
    `docker restart` or a recreate, which leave the count alone)."""
    out = {"at": at, "observed_ok": True, "health_ok": None, "health": None, "ready_ok": None, "ready": None}
    for key, probe in (("health", health), ("ready", ready)):
        if probe is not None:
            out[f"{key}_ok"], out[key] = bool(probe[0]), probe[1]
    out.update(_latency(scan))
    out["db_connections"] = (db or {}).get("connections") if db and "error" not in db else None
    out["db_pool_pct"] = _pool_pct(db, pool)
    out["redis_ok"] = redis_ok
    out.update(_containers(containers, expected_backends, previous, backend_services))
    out["exam_mode_on"] = exam_mode_on
    reasons = {"health": health is None, "readiness": ready is None, "backend logs": scan is None,
               "database": out["db_pool_pct"] is None, "redis": redis_ok is None, "containers": containers is None,
               "exam_mode": exam_mode_on is None}
    out["not_measured"] = [name for name, missing in reasons.items() if missing]
    if scan is not None and not scan.requests:
        out["not_measured"].append("latency (no request was logged in the interval)")
    if db and "error" in db:
        out["database_error"] = db["error"]
    return out


def _containers(containers: list | None, expected_backends: int | None, previous: dict | None,
                backend_services=("backend",)) -> dict:
    if containers is None:
        return {"backends_running": None, "backend_missing": None, "restart_counts": None, "started": None,
                "restarts": None, "restarted": None}
    running = [c for c in containers if c.get("service") in backend_services and c.get("running")]
    counts = {c["name"]: int(c.get("restart_count") or 0) for c in containers if c.get("name")}
    started = {c["name"]: c.get("started_at") for c in containers if c.get("name")}
    before_counts, before_started = (previous or {}).get("restart_counts"), (previous or {}).get("started")
    restarts = restarted = None
    if isinstance(before_counts, dict):
        restarted = sorted(name for name, n in counts.items() if name in before_counts and (
            n > before_counts[name] or (isinstance(before_started, dict) and before_started.get(name)
                                        and started.get(name) != before_started[name])))
        restarts = len(restarted)
    missing = max(0, expected_backends - len(running)) if expected_backends is not None else None
    return {"backends_running": len(running), "backend_missing": missing, "restart_counts": counts,
            "started": started, "restarts": restarts, "restarted": restarted}


def status_line(sample: dict) -> str:
    """One line per sample for the operator's terminal and the CI log: what it saw, in the order the
    runbook asks, and what could not be observed."""
    def v(key, unit=""):
        value = sample.get(key)
        if value is None:
            return "?"
        if isinstance(value, float):
            return f"{round(value, 1):g}{unit}"
        return f"{value}{unit}"
    if sample.get("observed_ok") is False:
        return f"WATCH {sample.get('at')} not observed: {sample.get('error')}"
    probes = "/".join("ok" if sample.get(k) else ("?" if sample.get(k) is None else "FAIL")
                      for k in ("health_ok", "ready_ok"))
    parts = [f"health/ready {probes}", f"{v('requests')} req", f"p95 {v('p95_ms', ' ms')}",
             f"5xx {v('error_rate_pct', ' %')}", f"pool {v('db_pool_pct', ' %')}",
             f"redis {'ok' if sample.get('redis_ok') else ('?' if sample.get('redis_ok') is None else 'DOWN')}",
             f"backends {v('backends_running')}", f"restarts {v('restarts')}",
             f"exam_mode {'on' if sample.get('exam_mode_on') else ('?' if sample.get('exam_mode_on') is None else 'OFF')}"]
    errors = sample.get("errors") or {}
    tail = ("; not observed: " + "; ".join(f"{k}: {e}" for k, e in sorted(errors.items()))) if errors else ""
    return f"WATCH {sample.get('at')} " + ", ".join(parts) + tail
