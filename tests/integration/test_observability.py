"""JSON logs, request-id traceability from the edge to a backend, /metrics, slow_sql warnings."""
from __future__ import annotations

import threading
import time
import uuid

import psycopg


def backend_records(lab, since: float) -> list[dict]:
    return [r for c in lab.containers("backend") for r in lab.logs_since(c, since)]


def test_request_logs_are_json_and_an_edge_request_id_is_found_in_backend_logs(lab):
    since = time.time() - 1
    resp = lab.get("/v1/ready")
    rid = resp.headers["X-Request-ID"]
    assert resp.json()["request_id"] == rid
    (edge,) = lab.containers("traefik")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        edge_lines = [r for r in lab.logs_since(edge, since) if r.get("request_id") == rid]
        backend_lines = [r for r in backend_records(lab, since) if r.get("request_id") == rid]
        if edge_lines and backend_lines:
            break
        time.sleep(0.2)
    assert edge_lines and edge_lines[0]["status_code"] == 200 and edge_lines[0]["upstream_addr"]
    (line,) = backend_lines
    assert line["event"] == "request" and line["status_code"] == 200 and line["route"] == "ready"
    assert isinstance(line["total_ms"], float)


def test_a_client_request_id_is_kept_end_to_end(lab):
    rid = f"examday-{uuid.uuid4().hex}"
    since = time.time() - 1
    assert lab.http.get(f"{lab.api}/health", headers={"X-Request-ID": rid}, timeout=5).headers["X-Request-ID"] == rid
    time.sleep(0.5)
    assert [r["path"] for r in backend_records(lab, since) if r.get("request_id") == rid] == ["/health"]


def test_metrics_are_prometheus_text(lab):
    lab.get("/v1/health")
    body = lab.get("/metrics").text
    assert "# TYPE http_requests_total counter" in body
    assert 'http_requests_total{method="GET",route="health",status="200"}' in body
    assert "db_pool_size 10" in body and "db_pool_max_overflow 10" in body
    # Each replica counts its own requests; the compose health check calls /health on every replica.
    assert 'http_request_duration_seconds_bucket{route="health",le="+Inf"}' in body
    assert "exam_mode_active 0" in body


def test_a_statement_slowed_by_a_lock_is_logged_as_slow_sql_with_its_request_id(lab):
    token = lab.token()
    sid = lab.new_session(token, count=2)["session_id"]
    q = lab.questions(token, sid)[0]
    since = time.time() - 1
    holder = psycopg.connect(host="127.0.0.1", port=15432, dbname="exam_platform", user="exam_user",
                             password=lab.secret("db_password"), application_name="examday_tests_lock")
    try:
        holder.execute("SELECT 1 FROM test_sessions WHERE id = %s FOR UPDATE", (sid,))
        result = {}
        t = threading.Thread(target=lambda: result.update(resp=lab.post(
            f"/v1/sessions/{sid}/answer", {"question_id": q["question_id"], "selected_index": 0}, token)))
        t.start()
        time.sleep(0.6)
        holder.rollback()
        t.join()
    finally:
        holder.close()
    resp = result["resp"]
    assert resp.status_code == 200
    rid = resp.headers["X-Request-ID"]
    time.sleep(0.5)
    records = [r for r in backend_records(lab, since) if r.get("request_id") == rid]
    slow = [r for r in records if r["event"] == "slow_sql"]
    assert slow and slow[0]["level"] == "error" and slow[0]["duration_ms"] >= 300
    assert "test_sessions" in slow[0]["statement"]
    (request,) = [r for r in records if r["event"] == "request"]
    assert request["level"] == "warning" and request["total_ms"] >= 500
