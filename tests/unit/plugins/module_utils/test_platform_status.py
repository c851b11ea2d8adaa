from __future__ import annotations

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils import _platform_status as st
from ansible_collections.examday.ops.plugins.module_utils._platform import profile
from ansible_collections.examday.ops.plugins.module_utils._platform.api import ApiResponse
from tests.unit import profiles

LAB = profiles.lab()
HEALTH, READY = LAB["health"], LAB["readiness"]


def resp(status, body):
    return ApiResponse("ready", "GET", status, body, 3.2, "rid-1")


def test_health_and_ready_read_the_body():
    assert st.health_check(resp(200, {"status": "ok"}), None, HEALTH)["passed"] is True
    down = st.ready_check(resp(200, {"status": "down", "checks": {"db": "down", "redis": "ok"}}), None, READY)
    assert (down["passed"], down["detail"]) == (False, "status is 'down', failing: db=down")
    assert down["evidence"]["checks"] == {"db": "down", "redis": "ok"}
    nested = profiles.default()["readiness"]
    got = st.ready_check(resp(503, {"status": "down", "checks": {"db": {"status": "down"}}}), None, nested)
    assert (got["passed"], got["detail"]) == (False, "HTTP 503, failing: db=down")
    unreachable = st.ready_check(None, "cannot reach http://127.0.0.1:9/v1/ready: [Errno 111] Connection refused",
                                 READY)
    assert unreachable["passed"] is False and "Connection refused" in unreachable["detail"]


def test_edge_needs_every_request_to_reach_a_healthy_backend():
    ok = (200, {"status": "ok"})
    assert st.edge_check([ok] * 10, None, HEALTH)["passed"] is True
    got = st.edge_check([ok, (502, "<html>Bad Gateway</html>"), ok], None, HEALTH)
    assert (got["passed"], got["detail"]) == (False, "2 of 3 requests through the edge reached a healthy backend")
    assert got["evidence"]["statuses"] == [200, 502, 200]
    assert st.edge_check([], "cannot reach http://127.0.0.1:9/health", HEALTH)["passed"] is False


def test_db_connections_against_pool_and_max_connections():
    row = {"max_connections": 100, "db_connections": 12, "app_connections": 9, "all_connections": 14}
    capacity = profile.pool_capacity(LAB)  # (10 + 10) x 1 process x 2 replicas
    ok = st.db_connections_check(row, None, capacity, 80)
    assert ok["passed"] is True and ok["evidence"]["app_limit"] == 40
    assert ok["detail"] == ("9 app connections (limit 40), 12 on the database = 12.0% of max_connections 100 "
                            "(limit 80%)")
    crowded = dict(row, db_connections=85)
    assert st.db_connections_check(crowded, None, capacity, 80)["passed"] is False
    exhausted = dict(row, app_connections=40)
    assert st.db_connections_check(exhausted, None, capacity, 80)["passed"] is False
    unmeasured = st.db_connections_check(None, "cannot connect to database exam_platform", capacity, 80)
    assert profile.pool_capacity(profiles.default()) == 100  # PLATFORM.md: one container, 5 workers, 10 + 10
    assert unmeasured["passed"] is None and unmeasured["detail"].startswith("not measured")


def summary(name, service, running=True, health="healthy", cpus=500000000, mem=268435456):
    return {"name": name, "service": service, "status": "running" if running else "exited", "running": running,
            "paused": False, "health": health, "restart_count": 0,
            "limits": {"nano_cpus": cpus, "memory_bytes": mem}}


def test_services_and_limits():
    containers = [summary("exam_platform-backend-1", "backend"), summary("exam_platform_worker", "worker", health=None),
                  summary("exam_platform_redis", "redis", running=False)]
    got = st.services_check(containers, ["backend", "worker", "redis", "traefik"])
    assert got["passed"] is False
    assert got["detail"] == "exam_platform_redis: exited; traefik: no container"
    assert st.services_check(containers[:2], ["backend", "worker"])["passed"] is True
    limits = st.limits_check(containers + [summary("x", "frontend", cpus=0)])
    assert (limits["passed"], limits["detail"]) == (False, "no CPU or memory limit: x")


def test_docker_stats_records_become_numbers():
    # `docker stats --no-stream --no-trunc --format '{{json .}}'` on the lab (Docker 26.1).
    rec = {
        "BlockIO": "0B / 0B",
        "CPUPerc": "0.07%",
        "Container": "exam_platform-backend-1",
        "ID": "985de414a6d11aa9956daabeda9d0c02649bbf6e231d92183d7a240946ff11a1",
        "MemPerc": "3.83%",
        "MemUsage": "19.63MiB / 512MiB",
        "Name": "exam_platform-backend-1",
        "NetIO": "35.4kB / 71.2kB",
        "PIDs": "2",
    }
    (got,) = _docker_cli.parse_stats([rec])
    assert got == {"name": "exam_platform-backend-1", "cpu_pct": 0.07, "mem_bytes": int(19.63 * 1024 ** 2),
                   "mem_limit_bytes": 512 * 1024 ** 2, "mem_pct": 3.83, "pids": 2}
    assert _docker_cli.size_bytes("1.5GB") == 1_500_000_000 and _docker_cli.size_bytes("n/a") is None


def test_verdict_fails_on_unmeasured_checks():
    checks = [st.check("health", True, {}), st.check("db_connections", None, None, "not measured: x")]
    assert st.verdict(checks) == {"passed": False, "failed": [], "not_measured": ["db_connections"]}
    assert st.verdict([st.check("health", True, {})])["passed"] is True
