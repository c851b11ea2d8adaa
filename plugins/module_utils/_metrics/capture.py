# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`action: capture`: everything over [since, until] into metrics.json and raw files."""
from __future__ import annotations

import datetime
import json
import os
from typing import Callable

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._metrics.constants import (
    BACKEND_LOG_FILE, BACKEND_STDERR_LOG_FILE, DB_SAMPLES_FILE, EDGE_ERROR_LOG_FILE, EDGE_LOG_FILE, METRICS_FILE,
    NOT_MEASURED, PROMETHEUS_FILE, REDIS_INFO_FILE, STATS_FILE, WORKER_LOG_FILE)
from ansible_collections.examday.ops.plugins.module_utils._metrics.containers import container_series
from ansible_collections.examday.ops.plugins.module_utils._metrics.dbsample import (
    SESSION_QUERIES, db_pool_summary, max_connections_now, run_session_queries)
from ansible_collections.examday.ops.plugins.module_utils._metrics.files import (
    ensure_dir, read_jsonl, safe_filename, write_text)
from ansible_collections.examday.ops.plugins.module_utils._metrics.logscan import BackendScan, EdgeScan, traceability
from ansible_collections.examday.ops.plugins.module_utils._metrics.prometheus import prometheus_capture
from ansible_collections.examday.ops.plugins.module_utils._metrics.redisinfo import parse_redis_info, redis_summary
from ansible_collections.examday.ops.plugins.module_utils._metrics.scrub import scrub
from ansible_collections.examday.ops.plugins.module_utils._metrics.timewin import (
    earliest, in_window, iso, resolve_window, utc_now)


def _logs(runner, container_id: str, name: str, since: datetime.datetime, until: datetime.datetime) -> tuple[str, str]:
    rc, out, err = runner(_docker_cli.logs_argv(container_id, iso(since), iso(until), timestamps=True))
    if rc != 0:
        detail = (err or out).strip().splitlines()
        raise OpsError(f"docker logs of {name} failed: {detail[-1] if detail else f'rc {rc}'}.")
    return out, err


def _names(runner, project: str, service: str) -> list[tuple[str, str]]:
    """(id, name) of a service's containers, stopped ones too (their logs still count)."""
    found = _docker_cli.inspect_containers(runner, project, service, all_states=True)
    return sorted(((c.get("Id", ""), c.get("Name", "").lstrip("/")) for c in found), key=lambda c: c[1])


class Capture:
    """`action: capture`: everything over [since, until] into metrics.json and raw files."""

    def __init__(self, runner, params: dict, db_connect: Callable | None = None, redis_reader: Callable | None = None,
                 transport=None, now: Callable = utc_now, write: bool = True):
        self.runner = runner
        self.p = params
        self.db_connect = db_connect
        self.redis_reader = redis_reader
        self.transport = transport
        self.now = now
        self.write = write
        self.dir = params["output_dir"]
        self.files: dict = {}
        self.notes: dict = {}

    def _write(self, key, name: str, text: str, group: str | None = None) -> None:
        if self.write:
            write_text(os.path.join(self.dir, name), text)
        if group:
            self.files.setdefault(group, {})[key] = name
        else:
            self.files[key] = name

    def run(self) -> dict:
        p = self.p
        stats_all = read_jsonl(os.path.join(self.dir, STATS_FILE))
        db_all = read_jsonl(os.path.join(self.dir, DB_SAMPLES_FILE))
        since, until = resolve_window(p.get("since"), p.get("until"), earliest(stats_all + db_all), self.now())
        if self.write:
            ensure_dir(self.dir)
        for key, name in (("stats", STATS_FILE), ("db_samples", DB_SAMPLES_FILE)):
            if os.path.exists(os.path.join(self.dir, name)):
                self.files[key] = name
        metrics: dict = {"window": {"since": iso(since), "until": iso(until)}}

        # Configured services first: a failure there comes before any raw file is written.
        max_conn, sessions, pending = None, None, []
        if self.db_connect is not None:
            conn = self.db_connect()
            try:
                max_conn = max_connections_now(conn)
                sessions = run_session_queries(conn, p.get("session_queries") or SESSION_QUERIES, since, until)
            finally:
                conn.close()
        metrics["db_pool"] = db_pool_summary(in_window(db_all, since, until), max_conn, p["pool"])
        metrics["sessions"] = sessions if sessions is not None else {"note": NOT_MEASURED + "no database configured"}

        redis = p.get("redis") or {}
        if self.redis_reader is not None and (redis.get("host") or redis.get("container")):
            text = scrub(self.redis_reader())
            pending.append(("redis_info", REDIS_INFO_FILE, text))
            metrics["redis"] = redis_summary(parse_redis_info(text))
        else:
            metrics["redis"] = {"configured": False, "note": NOT_MEASURED + "no Redis host or container configured"}

        if p.get("prometheus_url"):
            section, raw = prometheus_capture(self.transport, p["prometheus_url"], p.get("prometheus_queries"), until,
                                              p.get("timeout", 10.0))
            metrics["prometheus"] = section
            pending.append(("prometheus", PROMETHEUS_FILE, scrub(json.dumps(json_safe(raw), indent=1, sort_keys=True))))
        else:
            metrics["prometheus"] = {"configured": False}
        for key, name, text in pending:
            self._write(key, name, text)

        # Edge first: its request ids are what the backends' logs are searched for.
        edge = EdgeScan(p.get("request_id_samples", 20), p.get("edge_log_fields"))
        if p.get("edge_service"):
            containers = _names(self.runner, p["compose_project"], p["edge_service"])
            if not containers:
                raise OpsError(f"no container of edge service {p['edge_service']} in compose project "
                               f"{p['compose_project']}.")
            access, errors = [], []
            for cid, name in containers:
                out, err = _logs(self.runner, cid, name, since, until)
                out, err = scrub(out), scrub(err)
                edge.add_text(out, name)
                edge.add_text(err, name)
                access.append(out)
                errors.append(err)
            self._write("edge_log", EDGE_LOG_FILE, "".join(access))
            self._write("edge_error_log", EDGE_ERROR_LOG_FILE, "".join(errors))
            metrics["edge_errors"] = edge.summary()
        else:
            metrics["edge_errors"] = {"5xx": None, "upstream_errors": None, "samples": [],
                                      "note": NOT_MEASURED + "no edge_service configured"}
        sampled = edge.sampled_ids()

        backend = BackendScan(sampled, p.get("top", 10))
        found_any = False
        for service in p.get("backend_services") or []:
            containers = _names(self.runner, p["compose_project"], service)
            for cid, name in containers:
                found_any = True
                out, err = _logs(self.runner, cid, name, since, until)
                out = scrub(out)
                backend.add_text(out, name)
                self._write(name, BACKEND_LOG_FILE.format(name=safe_filename(name)), out, "backend_logs")
                del out
                if err.strip():
                    self._write(name, BACKEND_STDERR_LOG_FILE.format(name=safe_filename(name)), scrub(err),
                                "backend_stderr_logs")
        if not found_any:
            raise OpsError(f"no container of backend services {', '.join(p.get('backend_services') or [])} in "
                           f"compose project {p['compose_project']}.")
        if p.get("worker_service"):
            for cid, name in _names(self.runner, p["compose_project"], p["worker_service"]):
                out, err = _logs(self.runner, cid, name, since, until)
                self._write(name, WORKER_LOG_FILE.format(name=safe_filename(name)), scrub(out + err), "worker_logs")

        metrics["traceability"] = traceability(sampled, backend.found)
        if p.get("edge_service"):
            metrics["traceability"]["eligible"] = edge.eligible
        metrics["http_status"] = backend.http_status()
        metrics["slow_sql"] = backend.slow_sql_summary()
        metrics["slow_requests"] = backend.slow_requests_summary()
        metrics["backend_errors"] = {"events": dict(sorted(backend.error_events.items())),
                                     "containers": backend.containers}

        metrics["containers"] = container_series(in_window(stats_all, since, until))
        if not metrics["containers"]:
            self.notes["containers"] = NOT_MEASURED + "no container stats samples in the window (run action=sample during the load)"

        for name in ("db_pool", "traceability", "http_status", "edge_errors", "sessions", "redis"):
            note = metrics[name].get("note") if isinstance(metrics[name], dict) else None
            if note:
                self.notes[name] = note
        self.files["metrics"] = METRICS_FILE
        metrics["files"] = dict(sorted(self.files.items()))
        metrics["notes"] = dict(sorted(self.notes.items()))
        metrics["captured_at"] = iso(self.now())
        metrics = json_safe(metrics)
        if self.write:
            write_text(os.path.join(self.dir, METRICS_FILE), json.dumps(metrics, indent=1, sort_keys=True) + "\n")
        return metrics
