"""metrics_capture on the lab: sampling during requests, the capture after them, and its failures."""
from __future__ import annotations

import concurrent.futures
import json
import os
import stat
import time
import uuid

import pytest

from tests.integration.conftest import ROOT

METRICS_KEYS = {"window", "db_pool", "traceability", "http_status", "slow_sql", "slow_requests", "redis", "containers",
                "edge_errors", "sessions", "prometheus", "files"}
DB = "{{ examday_db }}"


def sample_args(out: str, **extra) -> dict:
    return {"action": "sample", "output_dir": out, "interval": 1, "duration": 10, "db": DB, **extra}


def capture_args(out: str, **extra) -> dict:
    return {"action": "capture", "output_dir": out, "db": DB,
            "redis": {"host": "127.0.0.1", "port": "{{ lab_redis_port }}"}, **extra}


def lab_secrets(lab) -> list[str]:
    return [lab.secret(name) for name in os.listdir(os.path.join(ROOT, ".lab", "secrets"))]


def wait_for_first_sample(out: str) -> None:
    """Sampling has started once the first line is written (ansible takes a moment to start the module)."""
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(out, "stats.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.2)


def one_sentence(msg: str) -> bool:
    return msg.endswith(".") and "\n" not in msg and "Traceback" not in msg


@pytest.fixture(scope="module")
def sampled(lab, tmp_path_factory):
    """Samples for 10 s at 1 s while requests with fresh ids go through the edge (one a 404), then captures."""
    out = str(tmp_path_factory.mktemp("evidence") / "metrics")
    run = uuid.uuid4().hex[:8]
    ids = {"ok": [f"it-{run}-ok-{n}" for n in range(12)], "not_found": f"it-{run}-404", "ready": f"it-{run}-ready"}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        job = pool.submit(lab.module, "metrics_capture", sample_args(out))
        wait_for_first_sample(out)
        token = lab.token()  # a login: backends use their DB pools
        for rid in ids["ok"]:
            assert lab.http.get(f"{lab.api}/v1/health", headers={"X-Request-ID": rid}, timeout=10).status_code == 200
            time.sleep(0.2)
        assert lab.http.get(f"{lab.api}/v1/ready", headers={"X-Request-ID": ids["ready"]}, timeout=10).status_code == 200
        assert lab.http.get(f"{lab.api}/v1/no-such-thing", headers={"X-Request-ID": ids["not_found"]},
                            timeout=10).status_code == 404
        assert lab.new_session(token, count=3)["session_id"]
        rc, sample = job.result(timeout=120)
    assert rc == 0, sample
    time.sleep(1)  # the last log lines are written after the responses
    rc, capture = lab.module("metrics_capture", capture_args(out, since=sample["started_at"],
                                                             request_id_samples=100000))
    assert rc == 0, capture
    return {"out": out, "ids": ids, "sample": sample, "capture": capture, "metrics": capture["metrics"]}


def test_sampling_writes_series_per_container_and_db_samples(sampled, lab):
    sample, out = sampled["sample"], sampled["out"]
    assert sample["stopped_by"] == "duration" and sample["rounds"] >= 3
    with open(os.path.join(out, "stats.jsonl"), encoding="utf-8") as fh:
        stats = [json.loads(line) for line in fh]
    per_container: dict = {}
    for line in stats:
        assert set(line) >= {"ts", "container", "cpu_pct", "mem_bytes", "mem_limit_bytes"}
        per_container[line["container"]] = per_container.get(line["container"], 0) + 1
    running = {c.name for c in lab.docker.containers.list(filters={"label": "com.docker.compose.project=exam_platform"})}
    assert running <= set(per_container) and min(per_container.values()) >= 3, per_container
    with open(os.path.join(out, "db_samples.jsonl"), encoding="utf-8") as fh:
        db = [json.loads(line) for line in fh]
    good = [d for d in db if "error" not in d]
    assert len(good) >= 3 and all(d["kind"] == "db" and d["max_connections"] > 0 for d in good)
    assert max(d["connections"] for d in good) >= 1


def test_capture_traces_the_edge_ids_to_the_backends_and_counts_the_404(sampled):
    m, ids = sampled["metrics"], sampled["ids"]
    assert METRICS_KEYS <= set(m)
    mine = set(ids["ok"]) | {ids["not_found"], ids["ready"]}
    trace = m["traceability"]
    assert mine <= set(trace["samples"]) and not mine & set(trace["missing"]), trace
    assert trace["pct"] == round(100.0 * trace["found"] / trace["sampled"], 1)
    assert m["http_status"]["4xx"] >= 1 and m["http_status"]["total"] >= len(mine)
    assert m["edge_errors"]["status"]["4xx"] >= 1
    found_404 = []
    for name in m["files"]["backend_logs"].values():
        with open(os.path.join(sampled["out"], name), encoding="utf-8") as fh:
            found_404 += [line for line in fh if ids["not_found"] in line and '"status_code":404' in line]
    assert len(found_404) == 1


def test_capture_measures_pool_containers_redis_sessions_and_writes_only_clean_0600_files(sampled, lab):
    m, out = sampled["metrics"], sampled["out"]
    pool = m["db_pool"]
    assert pool["samples"] >= 3 and pool["peak_connections"] >= 1 and pool["app_pool_capacity"] == 40
    assert pool["pct_of_max_connections"] == round(100.0 * pool["peak_connections"] / pool["max_connections"], 1)
    backends = [name for name in m["containers"] if "backend" in name]
    assert len(backends) == 2
    for name in backends:
        c = m["containers"][name]
        assert c["samples"] >= 3 and isinstance(c["mem_slope_bytes_per_min"], float) and c["mem_max_bytes"] > 0
    assert m["redis"]["configured"] is True and isinstance(m["redis"]["connected_clients"], int)
    assert m["sessions"]["created"] >= 1 and "by_status" in m["sessions"]
    assert m["prometheus"] == {"configured": False}
    assert "db_pool" not in m["notes"] and "traceability" not in m["notes"]
    secrets = lab_secrets(lab)
    names = os.listdir(out)
    assert {"metrics.json", "edge.log", "edge-error.log", "redis-info.txt", "stats.jsonl", "db_samples.jsonl"} <= set(names)
    for name in names:
        path = os.path.join(out, name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, name
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        assert not [s for s in secrets if s in text], name
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o700


def test_sampling_ends_early_on_the_stop_file(lab, tmp_path):
    out = str(tmp_path / "metrics")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        job = pool.submit(lab.module, "metrics_capture", sample_args(out, duration=300))
        wait_for_first_sample(out)
        with open(os.path.join(out, "stop"), "w", encoding="utf-8"):
            pass
        rc, result = job.result(timeout=120)
    assert rc == 0 and result["stopped_by"] == "stop_file" and result["rounds"] >= 1


def test_check_mode_writes_nothing(lab, tmp_path):
    out = str(tmp_path / "metrics")
    rc, result = lab.module("metrics_capture", sample_args(out), "--check")
    assert rc == 0 and result["rounds"] == 1 and result["sample"]["db"]["kind"] == "db"
    rc, result = lab.module("metrics_capture", capture_args(out), "--check")
    assert rc == 0 and METRICS_KEYS <= set(result["metrics"])
    assert not os.path.exists(out)


def test_a_wrong_redis_password_fails_with_one_sentence_without_it(lab, tmp_path):
    password = f"wrong-{uuid.uuid4().hex}"
    redis = {"host": "127.0.0.1", "port": "{{ lab_redis_port }}", "password": password}
    out = str(tmp_path / "metrics")
    rc, result, stdout = lab.module_output("metrics_capture", capture_args(out, redis=redis))
    assert rc != 0 and one_sentence(result["msg"]), result
    assert result["msg"].startswith("Redis at 127.0.0.1:16379 did not accept the configured credentials")
    assert password not in stdout
    assert not os.path.exists(out) or not os.listdir(out)  # failed before any raw file was written


def test_an_unreachable_prometheus_fails_with_one_sentence(lab, tmp_path):
    out = str(tmp_path / "metrics")
    rc, result = lab.module("metrics_capture", capture_args(out, prometheus_url="http://127.0.0.1:9"))
    assert rc != 0 and one_sentence(result["msg"]), result
    assert result["msg"].startswith("Prometheus at http://127.0.0.1:9 is unreachable")
    assert not os.path.exists(out) or not os.listdir(out)
