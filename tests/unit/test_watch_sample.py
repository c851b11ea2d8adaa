"""One sample of the live watch, built from real captured observations of the lab (backend logs,
pg_stat_activity rows), then judged by the alert rules."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.examday.ops.plugins.module_utils._metrics.dbsample import db_sample
from ansible_collections.examday.ops.plugins.module_utils._metrics.logscan import BackendScan
from ansible_collections.examday.ops.plugins.module_utils._thresholds import resolve
from ansible_collections.examday.ops.plugins.module_utils._watch import alerts, sample

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "metrics")
# k6's percentile of the fixture's 833 request durations: i = p x 832, interpolated (p50 at 416, p95 at
# 790.4 between 28.58 and 29.05 ms)
P50_MS, P95_MS = 0.3, pytest.approx(28.768)
POOL = {"pool_size": 5, "max_overflow": 5, "processes": 2}  # the lab: 2 replicas x (5 + 5)


def scan_of(*names: str) -> BackendScan:
    scan = BackendScan(keep_durations=True)
    for name in names:
        with open(os.path.join(FIX, name), encoding="utf-8") as fh:
            scan.add_text(fh.read(), name)
    return scan


def db_of() -> dict:
    with open(os.path.join(FIX, "pg-stat-activity.json"), encoding="utf-8") as fh:
        captured = json.load(fh)
    return db_sample(captured["rows"], captured["db"], r"^exam_backend", "2026-11-21T22:31:30Z")


CONTAINERS = [{"name": "exam_platform-backend-1", "service": "backend", "running": True, "restart_count": 0},
              {"name": "exam_platform-backend-2", "service": "backend", "running": True, "restart_count": 0},
              {"name": "exam_platform_redis", "service": "redis", "running": True, "restart_count": 0}]


def test_a_sample_of_the_lab_from_real_logs_and_pg_stat_activity():
    s = sample.build("2026-11-21T22:31:30Z", health=(True, "ok"), ready=(True, "ok"), scan=scan_of(
        "backend-1.log", "backend-2.log"), db=db_of(), pool=POOL, redis_ok=True, containers=CONTAINERS,
        expected_backends=2, exam_mode_on=True)
    # 833 requests logged by the two replicas, 2 of them 5xx; percentiles as k6 computes them
    assert s["requests"] == 833 and s["error_rate_pct"] == round(100 * 2 / 833, 3)
    assert (s["p50_ms"], s["p95_ms"]) == (P50_MS, P95_MS)  # k6's interpolation over the 833 durations
    assert s["slow_requests"] == 4 and s["slow_sql"] == 5
    assert s["db_connections"] == 8 and s["db_pool_pct"] == 35.0  # 7 of the backends' 20, 8 of 100 in all
    assert s["backends_running"] == 2 and s["backend_missing"] == 0 and s["restarts"] is None
    assert s["not_measured"] == [] and s["observed_ok"] is True
    assert alerts.Tracker(resolve({}), raise_after=1).feed(s, s["at"]) == []


def test_an_outage_sample_raises_and_names_what_was_not_measured():
    before = sample.build("t0", health=(True, "ok"), ready=(True, "ok"), containers=CONTAINERS, expected_backends=2)
    down = [dict(CONTAINERS[0], restart_count=1), dict(CONTAINERS[1], running=False), CONTAINERS[2]]
    s = sample.build("t1", health=(False, "connection refused"), ready=(False, "HTTP 503"), scan=BackendScan(
        keep_durations=True), db={"error": "connection refused"}, redis_ok=None, containers=down,
        expected_backends=2, previous=before)
    assert s["health_ok"] is False and s["ready"] == "HTTP 503"
    assert s["backend_missing"] == 1 and s["restarts"] == 1 and s["database_error"] == "connection refused"
    assert s["not_measured"] == ["database", "redis", "exam_mode", "latency (no request was logged in the interval)"]
    assert s["p95_ms"] is None and s["error_rate_pct"] is None
    raised = {e["rule"] for e in alerts.Tracker(resolve({}), raise_after=1).feed(s, "t1")}
    assert raised == {"health", "readiness", "backends", "restarts"}


def test_a_docker_restart_counts_by_its_new_start_time_though_the_restart_count_stays():
    at = [dict(c, started_at="2026-11-21T22:00:00.1Z") for c in CONTAINERS]
    before = sample.build("t0", health=None, ready=None, containers=at, expected_backends=2)
    again = [dict(at[0], started_at="2026-11-21T22:31:02.5Z"), at[1], at[2]]  # `docker restart`: count 0
    s = sample.build("t1", health=None, ready=None, containers=again, expected_backends=2, previous=before)
    assert s["restarts"] == 1 and s["restarted"] == ["exam_platform-backend-1"]
    same = sample.build("t2", health=None, ready=None, containers=again, expected_backends=2, previous=s)
    assert same["restarts"] == 0 and same["restarted"] == []
    # a platform whose backend service has another name counts its own
    other = [dict(c, service="api") if c["service"] == "backend" else c for c in at]
    assert sample.build("t3", health=None, ready=None, containers=other, expected_backends=2,
                        backend_services=["api"])["backend_missing"] == 0
