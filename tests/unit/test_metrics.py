"""metrics_capture's logic on real lab outputs (tests/unit/fixtures/metrics/, re-recorded with
capture_lab_metrics.py there) and on injected fakes for the daemon-facing parts."""
from __future__ import annotations

import datetime
import json
import os
import stat

import pytest

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils import _metrics as mx
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._platform.api import PlatformUnreachable

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "metrics")
UTC = datetime.timezone.utc

# Real lines from the lab, recorded during a fault run (they do not occur in a quiet lab's logs).
REAL_SLOW_SQL = ('2026-11-21T22:08:03.943512345Z {"ts":"2026-11-21T22:08:03.943+00:00","level":"error","event":"slow_sql",'
                 '"replica":"49ad428bd6eb","duration_ms":600.8,"statement":"SELECT *, (expires_at IS NOT NULL AND now() > '
                 'expires_at) AS expired FROM test_sessions WHERE id = %s FOR SHARE",'
                 '"request_id":"c6e07962b6022a944e7632312d6ccdfb"}\n')
REAL_SLOW_REQUEST = ('2026-11-21T22:08:03.950612345Z {"ts":"2026-11-21T22:08:03.950+00:00","level":"warning","event":"request",'
                     '"replica":"49ad428bd6eb","request_id":"c6e07962b6022a944e7632312d6ccdfb","method":"POST",'
                     '"path":"/v1/sessions/ce57f137-8019-4a0a-ac4d-35accced1812/answer","route":"answer","status_code":200,'
                     '"total_ms":607.79,"user_id":19,"client_ip":"172.20.0.1"}\n')
REAL_NGINX_ERRORS = (
    '2026-11-21T22:08:34.100000000Z 2026/11/21 22:08:34 [warn] 8#8: *295 upstream server temporarily disabled while '
    'connecting to upstream, client: 172.20.0.1, server: , request: "GET /v1/health HTTP/1.1", upstream: '
    '"http://172.20.0.6:8000/v1/health", host: "127.0.0.1:18080"\n'
    '2026-11-21T22:08:34.100000001Z 2026/11/21 22:08:34 [error] 8#8: *295 upstream timed out (110: Connection timed out) '
    'while connecting to upstream, client: 172.20.0.1, server: , request: "GET /v1/health HTTP/1.1", upstream: '
    '"http://172.20.0.6:8000/v1/health", host: "127.0.0.1:18080"\n')


def fixture(name: str) -> str:
    with open(os.path.join(FIX, name), encoding="utf-8") as fh:
        return fh.read()


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(fixture("manifest.json"))


def sent_ids(manifest) -> list[str]:
    return manifest["sent"]["health"] + [manifest["sent"]["not_found"], manifest["sent"]["login_refused"]]


def ts(text: str) -> datetime.datetime:
    return mx.parse_ts(text)


# ----------------------------------------------------------------------------------- backend logs


def test_backend_logs_give_status_classes_and_find_the_ids_sent_through_the_edge(manifest):
    scan = mx.BackendScan(sent_ids(manifest) + ["never-sent"])
    scan.add_text(fixture("backend-1.log"), "exam_platform-backend-1")
    scan.add_text(fixture("backend-2.log"), "exam_platform-backend-2")
    status = scan.http_status()
    assert status["total"] == status["2xx"] + status["3xx"] + status["4xx"] + status["5xx"] + status["other"]
    assert status["4xx"] >= 2 and status["2xx"] >= 6  # the 404, the refused login, the health checks
    assert status["error_rate_pct"] == round(100.0 * status["5xx"] / status["total"], 3)
    assert scan.found == set(sent_ids(manifest))


def test_slow_sql_and_slow_requests_from_real_records_with_thresholds_and_top():
    scan = mx.BackendScan(top_n=2)
    faster_sql = REAL_SLOW_SQL.replace('"duration_ms":600.8', '"duration_ms":150.0').replace('"level":"error"', '"level":"warning"')
    slowest = REAL_SLOW_REQUEST.replace('"total_ms":607.79', '"total_ms":2100.5')
    scan.add_text(REAL_SLOW_SQL + faster_sql + REAL_SLOW_REQUEST + slowest, "b1")
    assert scan.slow_sql_summary()["count_100ms"] == 2 and scan.slow_sql_summary()["count_300ms"] == 1
    top_sql = scan.slow_sql_summary()["top"]
    assert [t["duration_ms"] for t in top_sql] == [600.8, 150.0]
    assert top_sql[0]["statement"].startswith("SELECT *, (expires_at IS NOT NULL AND now() > expires_at)")
    assert top_sql[0]["request_id"] == "c6e07962b6022a944e7632312d6ccdfb" and top_sql[0]["container"] == "b1"
    slow = scan.slow_requests_summary()
    assert (slow["count_500ms"], slow["count_1500ms"]) == (2, 1)
    assert [t["total_ms"] for t in slow["top"]] == [2100.5, 607.79] and slow["top"][1]["route"] == "answer"


def fixture_records(*names: str) -> list[dict]:
    return [r for name in names for r in _docker_cli.json_log_records(fixture(name), ts_key="docker_ts")]


def test_the_recorded_fault_traces_are_counted(manifest):
    # The fixtures were recorded after a fault run (database and Redis restarts): they hold slow SQL,
    # slow requests, db_unavailable errors and nginx upstream errors. Expected values come from the
    # records themselves.
    records = fixture_records("backend-1.log", "backend-2.log")
    sql_ms = [r["duration_ms"] for r in records if r.get("event") == "slow_sql"]
    req_ms = [r["total_ms"] for r in records if r.get("event") == "request"]
    assert sql_ms and max(req_ms) >= 500, "re-record the fixtures after a fault run (see capture_lab_metrics.py)"
    scan = mx.BackendScan(top_n=3)
    scan.add_text(fixture("backend-1.log"), "b1")
    scan.add_text(fixture("backend-2.log"), "b2")
    assert scan.slow_sql_summary()["count_100ms"] == len([m for m in sql_ms if m >= 100])
    assert scan.slow_sql_summary()["count_300ms"] == len([m for m in sql_ms if m >= 300])
    assert [t["duration_ms"] for t in scan.slow_sql_summary()["top"]] == sorted(sql_ms, reverse=True)[:3]
    assert scan.slow_requests_summary()["count_500ms"] == len([m for m in req_ms if m >= 500])
    assert scan.slow_requests_summary()["count_1500ms"] == len([m for m in req_ms if m >= 1500])
    errors = [r["event"] for r in records if r.get("level") == "error" and r.get("event") not in ("request", "slow_sql")]
    assert scan.error_events == {e: errors.count(e) for e in set(errors)}
    for top in scan.slow_sql_summary()["top"]:
        assert "%s" in top["statement"] or "?" in top["statement"] or "$" in top["statement"]
    edge = mx.EdgeScan()
    edge.add_text(fixture("edge-error.log"), "edge")
    error_lines = [line for line in fixture("edge-error.log").splitlines() if "[error]" in line]
    assert edge.summary()["upstream_errors"] == len([line for line in error_lines if "upstream" in line]) >= 1


def test_statements_never_show_literal_values_and_are_truncated():
    sql = "SELECT * FROM users WHERE email = 'alice@example.org' AND id = 42 AND x = $1 AND y = %s LIMIT 10"
    assert mx.normalize_statement(sql) == "SELECT * FROM users WHERE email = ? AND id = ? AND x = $1 AND y = %s LIMIT ?"
    assert mx.normalize_statement("SELECT 'it''s'") == "SELECT ?"
    long = mx.normalize_statement("SELECT " + ", ".join(f"col_{n}" for n in range(200)))
    assert len(long) == mx.STATEMENT_CHARS and long.endswith("...")


def test_top_keeps_only_the_largest_without_the_rest():
    top = mx.TopN(3)
    for v in [5, 1, 9, 7, 3, 9]:
        top.add(v, {"v": v})
    assert [e["v"] for e in top.items()] == [9, 9, 7]
    assert mx.TopN(0).items() == [] and not mx.TopN(0).wants(1)


# -------------------------------------------------------------------------------------- edge logs


def test_edge_log_counts_statuses_and_samples_ids_that_reached_a_backend(manifest):
    edge = mx.EdgeScan(sample_size=1000)
    edge.add_text(fixture("edge.log"), "exam_platform_traefik")
    edge.add_text(fixture("edge-error.log"), "exam_platform_traefik")
    summary = edge.summary()
    assert summary["requests"] == len(fixture("edge.log").splitlines())
    assert summary["status"]["4xx"] >= 2 and summary["containers"] == ["exam_platform_traefik"]
    assert set(sent_ids(manifest)) <= set(edge.sampled_ids())
    backend = mx.BackendScan(edge.sampled_ids())
    backend.add_text(fixture("backend-1.log"), "b1")
    backend.add_text(fixture("backend-2.log"), "b2")
    trace = mx.traceability(edge.sampled_ids(), backend.found)
    assert not set(sent_ids(manifest)) & set(trace["missing"])
    assert trace["pct"] == round(100.0 * trace["found"] / trace["sampled"], 1)


def test_request_id_sample_is_uniform_bounded_deterministic_and_in_log_order():
    lines = "".join(json.dumps({"request_id": f"r{n:04d}", "status_code": 200, "upstream_addr": "10.0.0.2:8000"}) + "\n"
                    for n in range(1000))
    first, second = mx.EdgeScan(sample_size=20), mx.EdgeScan(sample_size=20)
    first.add_text(lines, "edge")
    second.add_text(lines, "edge")
    ids = first.sampled_ids()
    assert ids == second.sampled_ids() and len(ids) == 20 and ids == sorted(ids)
    assert ids[0] >= "r0000" and ids[-1] >= "r0500"  # drawn from the whole log, not its start
    assert first.eligible == 1000


def test_requests_that_never_reached_a_backend_are_not_sampled_and_5xx_are_counted():
    edge = mx.EdgeScan(sample_size=10)
    edge.add_record({"request_id": "a", "status_code": 502, "upstream_addr": "", "upstream_status": ""})
    edge.add_record({"request_id": "b", "status_code": 200, "upstream_addr": "10.0.0.2:8000, 10.0.0.3:8000",
                     "upstream_status": "502, 200"})
    # nginx's own 504 after a connect timeout on both replicas: no backend saw it.
    edge.add_record({"request_id": "c", "status_code": 504, "upstream_addr": "10.0.0.2:8000, 10.0.0.3:8000",
                     "upstream_status": "504, 504"})
    edge.add_record({"request_id": "d", "status_code": 503, "upstream_addr": "10.0.0.2:8000", "upstream_status": "503"})
    assert edge.sampled_ids() == ["b", "d"]
    s = edge.summary()
    assert (s["5xx"], s["retried"], s["requests"]) == (3, 2, 4) and s["error_rate_pct"] == 75.0
    assert s["samples"][0]["kind"] == "5xx" and s["samples"][0]["request_id"] == "a"


def test_nginx_error_log_counts_upstream_errors_not_warnings():
    edge = mx.EdgeScan()
    edge.add_text(REAL_NGINX_ERRORS, "exam_platform_traefik")
    s = edge.summary()
    assert (s["upstream_errors"], s["error_lines"], s["requests"]) == (1, 1, 0)
    assert s["samples"][0]["kind"] == "upstream_error" and "upstream timed out" in s["samples"][0]["line"]
    assert s["note"].startswith("not measured")


def test_edge_field_names_are_configurable_for_a_traefik_json_access_log():
    edge = mx.EdgeScan(fields={"request_id": "request_X-Request-Id", "status": "DownstreamStatus",
                               "upstream_addr": "ServiceAddr", "upstream_status": "OriginStatus"})
    edge.add_record({"request_X-Request-Id": "t1", "DownstreamStatus": 503, "ServiceAddr": "10.0.0.5:8000",
                     "OriginStatus": 503, "RequestPath": "/v1/ready"})
    edge.add_record({"level": "error", "msg": "upstream connect error", "time": "2026-11-21T22:00:00Z"})
    s = edge.summary()
    assert (s["5xx"], s["upstream_errors"]) == (1, 1) and edge.sampled_ids() == ["t1"]
    assert s["samples"][0]["uri"] == "/v1/ready"


def test_traceability_without_samples_is_not_measured():
    t = mx.traceability([], set())
    assert t["pct"] is None and t["note"].startswith("not measured")
    assert mx.traceability(["a", "b"], {"a"}) == {"sampled": 2, "found": 1, "pct": 50.0, "samples": ["a", "b"],
                                                  "missing": ["b"]}


# ------------------------------------------------------------------------------------------- scrub


@pytest.mark.parametrize("line, secret", [
    ('{"headers": {"Authorization": "Bearer abc.def-123"}}', "abc.def-123"),
    ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    ("sent bearer Zm9vYmFyYmF6 upstream", "Zm9vYmFyYmF6"),
    ('token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl in a message', "eyJzdWIiOiIxIn0"),
    ("GET /reset?token=s3cr3t-t0ken&x=1", "s3cr3t-t0ken"),
    ('{"password": "hunter2hunter2", "email": "a@b"}', "hunter2hunter2"),
    ('{"refresh_token":"rt-secret-value"}', "rt-secret-value"),
    ("connecting to postgresql://exam_user:pgpass123@db:5432/exam", "pgpass123"),
    ("DB_PASSWORD=changeme-now", "changeme-now"),
    ("client_secret: abcdef0123", "abcdef0123"),
])
def test_scrub_removes_secrets(line, secret):
    cleaned = mx.scrub(line)
    assert secret not in cleaned and "<redacted" in cleaned


def test_scrub_leaves_the_real_logs_and_harmless_words_alone():
    for name in ("backend-1.log", "backend-2.log", "edge.log", "redis-info.txt"):
        assert mx.scrub(fixture(name)) == fixture(name)
    harmless = '{"event":"db_unavailable","error":"password authentication failed for user"} "tokens":{"a":1}'
    assert mx.scrub(harmless) == harmless
    # A redacted JSON value stays a valid JSON line.
    assert json.loads(mx.scrub('{"password":"x1","token_type":"bearer"}'))["password"] == "<redacted>"


# ------------------------------------------------------------------------------ stats, db samples


def stats_fixture() -> list[dict]:
    out = []
    for snap in json.loads(fixture("docker-stats.json")):
        out += mx.stats_lines(snap["ts"], snap["output"])
    return out


def test_docker_stats_snapshots_become_series_per_container():
    lines = stats_fixture()
    names = {line["container"] for line in lines}
    assert {"exam_platform_postgres", "exam_platform_traefik"} <= names
    assert all(line["mem_bytes"] > 0 and line["mem_limit_bytes"] > 0 and line["cpu_pct"] is not None for line in lines)
    series = mx.container_series(lines)
    assert set(series) == names
    for entry in series.values():
        assert entry["samples"] == 3 and len(entry["cpu_pct"]) == len(entry["mem_bytes"]) == len(entry["ts"]) == 3
        assert entry["mem_max_bytes"] == max(entry["mem_bytes"]) and entry["cpu_max_pct"] == max(entry["cpu_pct"])
        assert isinstance(entry["mem_slope_bytes_per_min"], float)


def test_memory_slope_is_least_squares_per_minute():
    t0 = datetime.datetime(2026, 11, 21, 22, 0, tzinfo=UTC)
    rows = [{"ts": mx.iso(t0 + datetime.timedelta(seconds=30 * n)), "container": "leaky", "cpu_pct": 1.0,
             "mem_bytes": 100_000_000 + 500_000 * n + (40_000 if n % 2 else -40_000)} for n in range(20)]
    rows.append({"ts": mx.iso(t0), "container": "single", "cpu_pct": None, "mem_bytes": None})
    series = mx.container_series(rows)
    assert series["leaky"]["mem_slope_bytes_per_min"] == pytest.approx(1_000_000, rel=0.02)
    assert series["single"]["mem_slope_bytes_per_min"] is None and series["single"]["note"].startswith("not measured")
    assert series["single"]["cpu_max_pct"] is None
    assert mx.slope_per_minute([(0, 1), (0, 2)]) is None


def test_docker_stats_without_numbers_are_none_not_zero():
    (got,) = _docker_cli.parse_stats([{"Name": "x", "CPUPerc": "--", "MemUsage": "-- / --", "MemPerc": "--", "PIDs": "--"}])
    assert got == {"name": "x", "cpu_pct": None, "mem_bytes": None, "mem_limit_bytes": None, "mem_pct": None, "pids": None}


def test_pg_stat_activity_rows_become_a_db_sample():
    data = json.loads(fixture("pg-stat-activity.json"))
    sample = mx.db_sample(data["rows"], data["db"], "^exam_backend", "2026-11-21T22:15:00.000Z")
    assert sample["kind"] == "db" and sample["max_connections"] == 100
    assert sample["connections"] == sum(r[4] for r in data["rows"] if r[1] == "exam_platform")
    assert sample["app_connections"] == sum(r[4] for r in data["rows"] if r[2].startswith("exam_backend"))
    assert sum(sample["by_application"].values()) == sum(sample["by_state"].values()) == sample["connections"]
    # No client connection at all: one row with NULLs from the LEFT JOIN.
    empty = mx.db_sample([(100, None, None, None, None)], "exam_platform", ".*", "t")
    assert (empty["connections"], empty["max_connections"]) == (0, 100)


def test_db_pool_peak_against_max_connections_and_the_app_pool():
    pool = {"pool_size": 10, "max_overflow": 10, "processes": 2}
    samples = [{"ts": "a", "kind": "db", "connections": c, "all_connections": c + 1, "app_connections": c - 1,
                "max_connections": 100} for c in (3, 31, 12)]
    samples.append({"ts": "b", "kind": "db", "error": "pg_stat_activity sample failed: connection refused."})
    s = mx.db_pool_summary(samples, 100, pool)
    assert (s["peak_connections"], s["pct_of_max_connections"], s["app_pool_capacity"]) == (31, 31.0, 40)
    assert (s["peak_app_connections"], s["pct_of_app_pool"], s["samples"], s["sample_errors"]) == (30, 75.0, 3, 1)
    missing = mx.db_pool_summary([], 100, pool)
    assert missing["peak_connections"] is None and missing["pct_of_max_connections"] is None
    assert missing["max_connections"] == 100 and missing["note"].startswith("not measured")


# ------------------------------------------------------------------------------------------ redis


def test_redis_info_text_from_the_lab():
    info = mx.parse_redis_info(fixture("redis-info.txt"))
    assert isinstance(info["connected_clients"], int) and isinstance(info["rejected_connections"], int)
    assert info["redis_version"].count(".") == 2
    summary = mx.redis_summary(info)
    assert summary["configured"] is True and set(mx.REDIS_FIELDS) <= set(summary)
    assert all(isinstance(v, dict) and "keys" in v for v in summary["keyspace"].values())
    assert summary["keys"] == sum(v["keys"] for v in summary["keyspace"].values())
    extra = mx.parse_redis_info("# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\ndb2:keys=4,expires=0,avg_ttl=0\r\n")
    assert mx.redis_summary(extra)["keys"] == 7 and extra["db0"] == {"keys": 3, "expires": 1, "avg_ttl": 0}


def test_redis_failures_are_one_sentence_without_the_password():
    class AuthenticationError(Exception):
        pass

    err = mx.redis_failure("127.0.0.1", 16379, AuthenticationError(
        "AUTH <password> called without any password configured for the default user."), "pw-123456")
    assert err.msg.startswith("Redis at 127.0.0.1:16379 did not accept the configured credentials")
    leaked = mx.redis_failure("h", 1, ConnectionError("WRONGPASS for pw-123456"), "pw-123456")
    assert "pw-123456" not in leaked.msg and leaked.msg.count(".") >= 1
    refused = mx.redis_failure("h", 1, ConnectionError("Error 111 connecting to h:1. Connection refused."), None)
    assert refused.msg == "cannot read Redis INFO from h:1: Error 111 connecting to h:1. Connection refused."


# ---------------------------------------------------------------------------------------- window


def test_window_defaults_and_bad_input():
    now = ts("2026-11-21T23:00:00Z")
    assert mx.resolve_window(None, None, None, now) == (ts("2026-11-21T22:00:00Z"), now)
    assert mx.resolve_window(None, None, ts("2026-11-21T22:40:00Z"), now)[0] == ts("2026-11-21T22:40:00Z")
    assert mx.resolve_window("2026-11-21T22:30:00+01:00", "2026-11-21T22:50:00Z", None, now)[0] == ts("2026-11-21T21:30:00Z")
    with pytest.raises(OpsError, match="since 'yesterday' is not an ISO 8601 timestamp"):
        mx.resolve_window("yesterday", None, None, now)
    with pytest.raises(OpsError, match="the window is empty"):
        mx.resolve_window("2026-11-21T23:30:00Z", None, None, now)
    assert mx.parse_ts("2026-11-21T22:10:32.536123654Z") == datetime.datetime(2026, 11, 21, 22, 10, 32, 536123, tzinfo=UTC)
    assert mx.iso(ts("2026-11-21T22:10:32.536123654Z")) == "2026-11-21T22:10:32.536Z"
    assert mx.parse_ts("nonsense") is None and mx.parse_ts(None) is None


# -------------------------------------------------------------------------------------- sessions


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.description = None
        self._rows = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params=None):
        self.conn.executed.append((sql, params))
        if "fail" in sql:
            raise RuntimeError('relation "nope" does not exist\nLINE 1: ...')
        answer = self.conn.answers.get(sql.split()[0] if sql.startswith("SET") else sql)
        self.description = [("c",)] if answer is not None else None
        self._rows = answer or []

    def fetchall(self):
        return list(self._rows)

    def fetchone(self):
        return self._rows[0] if self._rows else None


class FakeConn:
    def __init__(self, answers: dict):
        self.answers = answers
        self.executed: list = []
        self.closed = False
        self.in_transaction = False

    def cursor(self):
        return FakeCursor(self)

    def transaction(self):
        conn = self

        class Tx:
            def __enter__(self):
                conn.in_transaction = True

            def __exit__(self, *exc):
                conn.in_transaction = False
                return False

        return Tx()

    def rollback(self):
        pass

    def close(self):
        self.closed = True


MAX_CONN_SQL = "SELECT setting::int FROM pg_settings WHERE name = 'max_connections'"


SESSION_COUNTS = {"created": 10, "submitted": 7, "answers": 55, "answers_changed": 4, "submit_events": 7, "active_now": 3}


def session_answers() -> dict:
    answers = {MAX_CONN_SQL: [(100,)], mx.SESSION_QUERIES["by_status"]: [("ACTIVE", 3), ("SUBMITTED", 7)]}
    answers.update({mx.SESSION_QUERIES[k]: [(n,)] for k, n in SESSION_COUNTS.items()})
    return answers


def test_session_queries_run_read_only_with_a_statement_timeout_and_shape_rows():
    conn = FakeConn(session_answers())
    since, until = ts("2026-11-21T22:00:00Z"), ts("2026-11-21T23:00:00Z")
    got = mx.run_session_queries(conn, mx.SESSION_QUERIES, since, until)
    assert got == {"by_status": {"ACTIVE": 3, "SUBMITTED": 7}, "created": 10, "submitted": 7, "answers": 55,
                   "answers_changed": 4, "submit_events": 7, "active_now": 3}
    assert conn.executed[0][0] == "SET TRANSACTION READ ONLY" and "statement_timeout" in conn.executed[1][0]
    assert conn.executed[2][1] == {"since": since, "until": until}
    with pytest.raises(OpsError, match=r'^session query bad failed: relation "nope" does not exist\.$'):
        mx.run_session_queries(FakeConn({}), {"bad": "SELECT fail"}, since, until)
    assert mx.shape_rows([]) == {} and mx.shape_rows([(1, 2, 3)]) == [[1, 2, 3]]


# ------------------------------------------------------------------------------------ prometheus


def prom_transport(answers: dict, calls: list):
    def send(method, url, headers, data, timeout):
        calls.append(url)
        for path, body in answers.items():
            if path in url:
                return 200, {}, json.dumps(body).encode()
        return 404, {}, b"404 page not found"
    return send


def test_prometheus_queries_at_the_end_of_the_window_and_firing_alerts():
    vector = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1795298400.0, "0.72"]}]}}
    alerts = {"status": "success", "data": {"alerts": [
        {"labels": {"alertname": "HighErrorRate", "severity": "critical"}, "annotations": {"summary": "5xx"},
         "state": "firing", "activeAt": "2026-11-21T22:01:00Z", "value": "7.2e-01"},
        {"labels": {"alertname": "HighLatencyP95"}, "state": "pending", "activeAt": "2026-11-21T22:05:00Z"}]}}
    calls: list = []
    section, raw = mx.prometheus_capture(prom_transport({"/api/v1/query": vector, "/api/v1/alerts": alerts}, calls),
                                         "http://prom:9090/", None, ts("2026-11-21T23:00:00Z"), 5)
    assert set(section["queries"]) == set(mx.PROMETHEUS_QUERIES)
    err = section["queries"]["error_rate_5xx_pct"]
    assert (err["value"], err["threshold"], err["above_threshold"]) == (0.72, 0.5, True)
    assert section["queries"]["db_pool_in_use_pct"]["above_threshold"] is False
    assert [a["name"] for a in section["firing_alerts"]] == ["HighErrorRate"]
    assert [a["name"] for a in section["pending_alerts"]] == ["HighLatencyP95"]
    assert all("time=1795302000.000" in c for c in calls if "/query" in c) and raw["alerts"] == alerts["data"]


def test_prometheus_empty_or_nan_results_are_not_measured_and_custom_queries_take_thresholds():
    spec = mx.query_specs({"up": "up", "custom": {"expr": "x", "threshold": 2}})
    assert spec == {"up": {"expr": "up", "threshold": None}, "custom": {"expr": "x", "threshold": 2.0}}
    nan = mx.query_result(spec["custom"], {"resultType": "vector", "result": [{"metric": {}, "value": [0, "NaN"]}]})
    assert nan["value"] is None and nan["above_threshold"] is None and nan["note"].startswith("not measured")
    scalar = mx.query_result(spec["custom"], {"resultType": "scalar", "result": [0, "3"]})
    assert (scalar["value"], scalar["above_threshold"]) == (3.0, True)
    with pytest.raises(OpsError, match="needs an expr"):
        mx.query_specs({"bad": {"threshold": 1}})


def test_prometheus_failures_are_one_sentence():
    def unreachable(method, url, headers, data, timeout):
        raise PlatformUnreachable(f"cannot reach {url}: [Errno 111] Connection refused")

    with pytest.raises(OpsError) as exc:
        mx.prometheus_capture(unreachable, "http://user:pw-secret@127.0.0.1:9", None, ts("2026-11-21T23:00:00Z"), 1)
    assert exc.value.msg == "Prometheus at http://user:<redacted>@127.0.0.1:9 is unreachable: [Errno 111] Connection refused."
    with pytest.raises(OpsError, match="no JSON; is it a Prometheus URL"):
        mx.prometheus_get(prom_transport({}, []), "http://127.0.0.1:18080", "/api/v1/alerts", {}, 1)
    bad = {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}
    with pytest.raises(OpsError, match=r"refused /api/v1/query \(HTTP 200\): parse error at char 3\.$"):
        mx.prometheus_get(prom_transport({"/api/v1/query": bad}, []), "http://p", "/api/v1/query", {"query": "1+"}, 1)


# ------------------------------------------------------------------------------ sampler, capture

PROJECT_LABEL = "label=com.docker.compose.project=exam_platform"


class FakeDocker:
    """Answers the docker CLI calls of the sampler and the capture from the recorded fixtures."""

    def __init__(self, logs: dict | None = None, services: dict | None = None, stats_fail: int = 0):
        self.services = services or {
            "traefik": [("e1", "exam_platform_traefik")],
            "backend": [("b1", "exam_platform-backend-1"), ("b2", "exam_platform-backend-2")],
            "worker": [("w1", "exam_platform_worker")],
        }
        self.logs = logs if logs is not None else {
            "e1": (fixture("edge.log"), fixture("edge-error.log")),
            "b1": (fixture("backend-1.log"), ""), "b2": (fixture("backend-2.log"), ""),
            "w1": ('{"level":"info","event":"job_run"}\n', ""),
        }
        self.snapshots = [s["output"] for s in json.loads(fixture("docker-stats.json"))]
        self.stats_fail = stats_fail
        self.calls: list = []

    def __call__(self, argv):
        self.calls.append(argv)
        if argv[:2] == ["docker", "ps"]:
            service = next((a.split("=", 2)[2] for a in argv if a.startswith("label=com.docker.compose.service=")), None)
            if service:
                return 0, "".join(cid + "\n" for cid, _n in self.services.get(service, [])), ""
            return 0, "".join(cid + "\n" for group in self.services.values() for cid, _n in group), ""
        if argv[:2] == ["docker", "inspect"]:
            by_id = {cid: name for group in self.services.values() for cid, name in group}
            return 0, json.dumps([{"Id": cid, "Name": "/" + by_id[cid]} for cid in argv[2:]]), ""
        if argv[:2] == ["docker", "logs"]:
            assert argv[2] == "--timestamps" and argv[3] == "--since" and argv[5] == "--until"
            out, err = self.logs[argv[-1]]
            return 0, out, err
        if argv[:2] == ["docker", "stats"]:
            if self.stats_fail:
                self.stats_fail -= 1
                return 1, "", "Error response from daemon: No such container: b1"
            return 0, self.snapshots[len([c for c in self.calls if c[:2] == ["docker", "stats"]]) % 3], ""
        raise AssertionError(argv)


class FakeClock:
    def __init__(self, start: datetime.datetime):
        self.t = 0.0
        self.start = start

    def monotonic(self):
        return self.t

    def sleep(self, s):
        self.t += s

    def now(self):
        return self.start + datetime.timedelta(seconds=self.t)


class FakeDbSampler:
    def __init__(self, fail_at: tuple = ()):
        self.n = 0
        self.fail_at = fail_at
        self.closed = False

    def sample(self, when):
        self.n += 1
        if self.n in self.fail_at:
            raise OpsError("pg_stat_activity sample failed: server closed the connection unexpectedly.")
        data = json.loads(fixture("pg-stat-activity.json"))
        rows = [r[:4] + [r[4] + self.n] for r in data["rows"]]
        return mx.db_sample(rows, data["db"], "^exam_backend", when)

    def close(self):
        self.closed = True


def test_sampler_samples_until_the_duration_and_keeps_going_after_failed_samples(tmp_path):
    clock = FakeClock(ts("2026-11-21T22:00:00Z"))
    docker, db = FakeDocker(stats_fail=1), FakeDbSampler(fail_at=(2,))
    out = str(tmp_path / "metrics")
    result = mx.Sampler(docker, "exam_platform", out, 2.0, 10.0, db, now=clock.now, monotonic=clock.monotonic,
                        sleep=clock.sleep).run()
    assert result["stopped_by"] == "duration" and result["rounds"] == 5 and db.closed
    assert result["error_count"] == 2 and {e["what"] for e in result["errors"]} == {"docker stats", "db"}
    stats = mx.read_jsonl(os.path.join(out, mx.STATS_FILE))
    dbs = mx.read_jsonl(os.path.join(out, mx.DB_SAMPLES_FILE))
    per_container = {}
    for line in stats:
        per_container[line["container"]] = per_container.get(line["container"], 0) + 1
    assert set(per_container.values()) == {4} and result["stats_samples"] == len(stats)
    assert len(dbs) == 5 and sum("error" in d for d in dbs) == 1 and result["db_samples"] == 4
    assert set(dbs[0]) >= {"ts", "kind", "connections", "max_connections"}
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(out, mx.STATS_FILE)).st_mode) == 0o600
    assert any(a[:2] == ["docker", "ps"] and PROJECT_LABEL in a and "--all" not in a for a in docker.calls)


def test_sampler_stops_early_when_the_stop_file_appears_and_removes_a_stale_one(tmp_path):
    out = tmp_path / "metrics"
    out.mkdir()
    (out / mx.STOP_FILE).write_text("")  # left over by an earlier run
    clock = FakeClock(ts("2026-11-21T22:00:00Z"))

    def sleep(s):
        clock.sleep(s)
        if clock.t >= 5:
            (out / mx.STOP_FILE).write_text("")

    result = mx.Sampler(FakeDocker(), "exam_platform", str(out), 1.0, 3600.0, FakeDbSampler(), now=clock.now,
                        monotonic=clock.monotonic, sleep=sleep).run()
    assert result["removed_stale_stop_file"] is True and result["stopped_by"] == "stop_file"
    assert result["rounds"] == 5 and clock.t < 6


def test_sampler_in_check_mode_takes_one_sample_and_writes_nothing(tmp_path):
    out = str(tmp_path / "metrics")
    result = mx.Sampler(FakeDocker(), "exam_platform", out, 1.0, 60.0, FakeDbSampler(), write=False).run()
    assert result["rounds"] == 1 and result["sample"]["db"]["kind"] == "db" and result["sample"]["stats"]
    assert not os.path.exists(out) and "files" not in result


def capture_params(out: str, **extra) -> dict:
    params = {"output_dir": out, "compose_project": "exam_platform", "backend_services": ["backend"],
              "edge_service": "traefik", "worker_service": "worker", "edge_log_fields": {},
              "pool": {"pool_size": 10, "max_overflow": 10, "processes": 2}, "redis": {"host": "127.0.0.1"},
              "request_id_samples": 1000, "top": 10, "prometheus_url": None, "timeout": 5.0,
              "since": None, "until": None}
    params.update(extra)
    return params


METRICS_KEYS = {"window", "db_pool", "traceability", "http_status", "slow_sql", "slow_requests", "redis", "containers",
                "edge_errors", "sessions", "prometheus", "files"}


def run_capture(tmp_path, manifest, write=True, **extra):
    out = str(tmp_path / "metrics")
    until = ts(manifest["window"]["until"])
    if write:
        os.makedirs(out, mode=0o700, exist_ok=True)
        lines = [dict(line, ts=mx.iso(until - datetime.timedelta(seconds=60 - 10 * n)))
                 for n, snap in enumerate(json.loads(fixture("docker-stats.json")))
                 for line in mx.stats_lines(snap["ts"], snap["output"])]
        mx.append_lines(os.path.join(out, mx.STATS_FILE), lines)
        db = FakeDbSampler()
        mx.append_lines(os.path.join(out, mx.DB_SAMPLES_FILE),
                        [db.sample(mx.iso(until - datetime.timedelta(seconds=50 - 10 * n))) for n in range(3)])
    conn = FakeConn(session_answers())
    docker = FakeDocker(**extra.pop("docker", {}))
    capture = mx.Capture(docker, capture_params(out, **extra), db_connect=lambda: conn,
                         redis_reader=lambda: fixture("redis-info.txt"), now=lambda: until, write=write)
    return capture.run(), out, docker, conn


def test_capture_writes_metrics_json_with_every_key_and_raw_files(tmp_path, manifest):
    metrics, out, docker, conn = run_capture(tmp_path, manifest)
    assert METRICS_KEYS <= set(metrics)
    with open(os.path.join(out, mx.METRICS_FILE), encoding="utf-8") as fh:
        assert json.load(fh) == metrics
    assert metrics["window"] == {"since": mx.iso(ts(manifest["window"]["until"]) - datetime.timedelta(seconds=60)),
                                 "until": manifest["window"]["until"]}
    assert metrics["traceability"]["pct"] == 100.0 and set(sent_ids(manifest)) <= set(metrics["traceability"]["samples"])
    assert metrics["http_status"]["4xx"] >= 2
    rows = json.loads(fixture("pg-stat-activity.json"))["rows"]
    peak = sum(r[4] + 3 for r in rows if r[1] == "exam_platform")  # FakeDbSampler's third sample is the largest
    assert metrics["db_pool"]["peak_connections"] == peak and metrics["db_pool"]["app_pool_capacity"] == 40
    assert metrics["db_pool"]["pct_of_max_connections"] == round(100.0 * peak / rows[0][0], 1) and metrics["db_pool"]["samples"] == 3
    assert metrics["sessions"]["by_status"] == {"ACTIVE": 3, "SUBMITTED": 7} and conn.closed
    assert metrics["redis"]["configured"] is True and metrics["prometheus"] == {"configured": False}
    assert all(c["samples"] == 3 for c in metrics["containers"].values())
    files = metrics["files"]
    assert files["backend_logs"] == {"exam_platform-backend-1": "backend-exam_platform-backend-1.log",
                                     "exam_platform-backend-2": "backend-exam_platform-backend-2.log"}
    assert files["edge_log"] == "edge.log" and files["redis_info"] == "redis-info.txt" and files["stats"] == "stats.jsonl"
    for name in os.listdir(out):
        assert stat.S_IMODE(os.stat(os.path.join(out, name)).st_mode) == 0o600, name
    with open(os.path.join(out, "edge.log"), encoding="utf-8") as fh:
        assert fh.read() == fixture("edge.log")
    assert metrics["notes"] == {}
    logs = [a for a in docker.calls if a[:2] == ["docker", "logs"]]
    assert {a[4] for a in logs} == {metrics["window"]["since"]} and {a[6] for a in logs} == {metrics["window"]["until"]}


def test_capture_scrubs_raw_files_before_writing(tmp_path, manifest):
    leaky = ('2026-11-21T22:15:00.000000000Z {"level":"error","event":"unhandled_exception","request_id":"x",'
             '"error":"Authorization: Bearer abc.def.ghi","dsn":"postgresql://exam_user:pw-in-dsn@db/exam"}\n')
    logs = {"e1": ("", ""), "b1": (leaky, "Traceback: password=hunter2hunter2\n"), "b2": ("", ""), "w1": ("", "")}
    metrics, out, _docker, _conn = run_capture(tmp_path, manifest, docker={"logs": logs})
    text = ""
    for name in os.listdir(out):
        with open(os.path.join(out, name), encoding="utf-8") as fh:
            text += fh.read()
    assert "abc.def.ghi" not in text and "pw-in-dsn" not in text and "hunter2hunter2" not in text
    assert metrics["backend_errors"]["events"] == {"unhandled_exception": 1}
    assert metrics["files"]["backend_stderr_logs"] == {"exam_platform-backend-1": "backend-exam_platform-backend-1.stderr.log"}


def test_capture_without_samples_or_edge_reports_not_measured_instead_of_zeros(tmp_path, manifest):
    metrics, out, _docker, _conn = run_capture(tmp_path, manifest, write=False, edge_service="", redis={})
    assert metrics["db_pool"]["peak_connections"] is None and metrics["db_pool"]["max_connections"] == 100
    assert metrics["containers"] == {} and metrics["edge_errors"]["5xx"] is None
    assert metrics["traceability"]["pct"] is None and metrics["redis"]["configured"] is False
    assert set(metrics["notes"]) == {"containers", "db_pool", "traceability", "edge_errors", "redis"}
    assert all(n.startswith("not measured: ") for n in metrics["notes"].values())
    assert not os.path.exists(out)  # check mode writes nothing
    assert metrics["window"]["since"] == mx.iso(ts(manifest["window"]["until"]) - datetime.timedelta(hours=1))


def test_logs_that_cannot_be_read_here_are_not_measured_and_say_why(tmp_path, manifest):
    """No docker access to a service: its captures are not measured (with the reason), the rest are."""
    metrics = run_capture(tmp_path, manifest, backend_services=["api"])[0]
    reason = "not measured: no container of backend services api in compose project exam_platform"
    for key in ("http_status", "slow_sql", "slow_requests", "traceability", "backend_errors"):
        assert metrics[key] == {"note": reason} and metrics["notes"][key] == reason
    assert metrics["db_pool"]["peak_connections"] is not None and "db_pool" not in metrics["notes"]
    metrics = run_capture(tmp_path, manifest, write=False, edge_service="proxy")[0]
    assert metrics["edge_errors"]["note"].startswith("not measured: no container of edge service proxy")
    assert metrics["http_status"]["total"] > 0  # the backends' logs were still read


def test_captures_turned_off_in_the_inventory_say_so(tmp_path, manifest):
    metrics = run_capture(tmp_path, manifest, write=False, captures_off=["redis", "edge_errors"])[0]
    assert metrics["redis"] == {"note": "not measured: turned off in this inventory"}
    assert metrics["notes"]["edge_errors"] == "not measured: turned off in this inventory"
    with pytest.raises(OpsError, match="unknown capture 'nope' to turn off"):
        run_capture(tmp_path, manifest, write=False, captures_off=["nope"])


def test_capture_with_prometheus_reads_queries_and_alerts(tmp_path, manifest):
    vector = {"status": "success", "data": {"resultType": "vector", "result": []}}
    alerts = {"status": "success", "data": {"alerts": []}}
    out = str(tmp_path / "metrics")
    capture = mx.Capture(FakeDocker(), capture_params(out, prometheus_url="http://prom:9090"),
                         db_connect=lambda: FakeConn(session_answers()), redis_reader=lambda: fixture("redis-info.txt"),
                         transport=prom_transport({"/api/v1/query": vector, "/api/v1/alerts": alerts}, []),
                         now=lambda: ts(manifest["window"]["until"]))
    metrics = capture.run()
    assert metrics["prometheus"]["configured"] is True and metrics["prometheus"]["firing_alerts"] == []
    assert metrics["files"]["prometheus"] == "prometheus.json" and os.path.exists(os.path.join(out, "prometheus.json"))


def test_scrub_finds_a_secret_deep_in_a_large_text_and_returns_a_clean_text_uncopied():
    clean = fixture("backend-1.log") * 400  # several scrub chunks
    assert mx.scrub(clean) is clean
    middle = len(clean) // 2
    cut = clean.index("\n", middle) + 1
    leaky = clean[:cut] + "Authorization: Bearer deep-secret-value\n" + clean[cut:]
    cleaned = mx.scrub(leaky)
    assert "deep-secret-value" not in cleaned and len(cleaned.splitlines()) == len(leaky.splitlines())
    assert cleaned.replace("Authorization: <redacted>\n", "") == clean


def test_iter_lines_splits_like_splitlines_on_newlines():
    cases = {"": [], "a": ["a"], "a\n": ["a"], "a\nb": ["a", "b"], "a\n\nb\n": ["a", "", "b"]}
    for text, lines in cases.items():
        assert list(mx.iter_lines(text)) == lines == text.splitlines()


def test_a_failing_prometheus_fails_before_any_raw_file_is_written(tmp_path, manifest):
    def unreachable(method, url, headers, data, timeout):
        raise PlatformUnreachable(f"cannot reach {url}: timed out")

    out = str(tmp_path / "metrics")
    capture = mx.Capture(FakeDocker(), capture_params(out, prometheus_url="http://prom:9090"),
                         db_connect=lambda: FakeConn(session_answers()), redis_reader=lambda: fixture("redis-info.txt"),
                         transport=unreachable, now=lambda: ts(manifest["window"]["until"]))
    with pytest.raises(OpsError, match=r"^Prometheus at http://prom:9090 is unreachable: timed out\.$"):
        capture.run()
    assert os.listdir(out) == []
