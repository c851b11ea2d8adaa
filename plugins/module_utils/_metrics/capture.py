# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`action: capture`: everything over [since, until] into metrics.json and raw files.

`Capture` gathers the inputs that the registered captures need (registry.INPUTS, one gatherer each
here), then runs every capture of the registry once and writes what they produced."""
from __future__ import annotations

import datetime
import json
import os
from typing import Any, Callable

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._metrics.constants import (
    BACKEND_LOG_FILE, BACKEND_STDERR_LOG_FILE, DB_SAMPLES_FILE, EDGE_ERROR_LOG_FILE, EDGE_LOG_FILE, METRICS_FILE,
    NOT_MEASURED, PROMETHEUS_FILE, REDIS_INFO_FILE, SLOW_REQUEST_MS, SLOW_SQL_MS, STATS_FILE, WORKER_LOG_FILE)
from ansible_collections.examday.ops.plugins.module_utils._metrics.dbsample import (
    max_connections_now, run_session_queries, session_queries)
from ansible_collections.examday.ops.plugins.module_utils._metrics.files import (
    ensure_dir, read_jsonl, safe_filename, write_text)
from ansible_collections.examday.ops.plugins.module_utils._metrics.logscan import BackendScan, EdgeScan
from ansible_collections.examday.ops.plugins.module_utils._metrics.prometheus import prometheus_capture
from ansible_collections.examday.ops.plugins.module_utils._metrics.redisinfo import parse_redis_info
from ansible_collections.examday.ops.plugins.module_utils._metrics.registry import (
    CAPTURES, INPUTS, KINDS, LOGS, SERVICE, CaptureEntry, Context, needed_inputs)
from ansible_collections.examday.ops.plugins.module_utils._metrics.scrub import scrub
from ansible_collections.examday.ops.plugins.module_utils._metrics.timewin import (
    earliest, in_window, iso, resolve_window, utc_now)
from ansible_collections.examday.ops.plugins.module_utils._platform.schema import schema_params


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


class Unmeasured:
    """Logs that could not be read (no docker access to a service here): the captures that need them
    say "not measured" with the reason instead of failing the whole step."""

    def __init__(self, reason: str):
        self.reason = reason.rstrip(".")


class Capture:
    """`action: capture`: everything over [since, until] into metrics.json and raw files.

    `captures` is the registry to run (registry.CAPTURES unless a test gives another)."""

    def __init__(self, runner, params: dict, db_connect: Callable | None = None, redis_reader: Callable | None = None,
                 transport=None, now: Callable = utc_now, write: bool = True,
                 captures: tuple[CaptureEntry, ...] = CAPTURES):
        self.runner = runner
        self.p = params
        self.db_connect = db_connect
        self.redis_reader = redis_reader
        self.transport = transport
        self.now = now
        self.write = write
        self.captures = tuple(captures)
        self.dir = params["output_dir"]
        self.files: dict = {}
        self.notes: dict = {}
        self._samples: dict = {}
        self._pending: list = []
        self._gatherers: dict[str, Callable] = {
            "db_samples": self._db_samples, "stats": self._stats, "database": self._database,
            "redis": self._redis, "prometheus": self._prometheus, "edge_logs": self._edge_logs,
            "backend_logs": self._backend_logs,
        }

    def _write(self, key, name: str, text: str, group: str | None = None) -> None:
        if self.write:
            write_text(os.path.join(self.dir, name), text)
        if group:
            self.files.setdefault(group, {})[key] = name
        else:
            self.files[key] = name

    def run(self) -> dict:
        p = self.p
        off = set(p.get("captures_off") or ())
        unknown = sorted(off - {entry.key for entry in self.captures})
        if unknown:
            raise OpsError(f"unknown capture {unknown[0]!r} to turn off; known: "
                           f"{', '.join(entry.key for entry in self.captures)}.")
        needed = needed_inputs([entry for entry in self.captures if entry.key not in off])
        stats_all = read_jsonl(os.path.join(self.dir, STATS_FILE))
        db_all = read_jsonl(os.path.join(self.dir, DB_SAMPLES_FILE))
        self._samples = {"stats": stats_all, "db_samples": db_all}
        since, until = resolve_window(p.get("since"), p.get("until"), earliest(stats_all + db_all), self.now())
        if self.write:
            ensure_dir(self.dir)
        for key, name in (("stats", STATS_FILE), ("db_samples", DB_SAMPLES_FILE)):
            if os.path.exists(os.path.join(self.dir, name)):
                self.files[key] = name
        metrics: dict = {"window": {"since": iso(since), "until": iso(until)}}

        inputs = self._gather(needed, since, until)
        for entry in self.captures:
            missing = [inputs[name] for name in entry.needs if isinstance(inputs.get(name), Unmeasured)]
            if entry.key in off:
                section = {"note": NOT_MEASURED + "turned off in this inventory"}
            elif missing:
                section = {"note": NOT_MEASURED + missing[0].reason}
            else:
                section = entry.produce(Context(p, since, until, {name: inputs[name] for name in entry.needs}))
            metrics[entry.key] = section
            note = entry.note(section)
            if note:
                self.notes[entry.key] = note

        self.files["metrics"] = METRICS_FILE
        metrics["files"] = dict(sorted(self.files.items()))
        metrics["notes"] = dict(sorted(self.notes.items()))
        metrics["captured_at"] = iso(self.now())
        metrics = json_safe(metrics)
        if self.write:
            write_text(os.path.join(self.dir, METRICS_FILE), json.dumps(metrics, indent=1, sort_keys=True) + "\n")
        return metrics

    # ------------------------------------------------------------------------------------ inputs

    def _gather(self, needed: set, since: datetime.datetime, until: datetime.datetime) -> dict[str, Any]:
        """The needed inputs, in the order of INPUTS kind by kind. The services' raw files are written
        only after every configured service answered, so a failed one leaves no raw file behind."""
        values: dict = {}
        for kind in KINDS:
            for item in INPUTS:
                if item.kind == kind and item.name in needed:
                    if item.kind != LOGS:  # a configured service must answer: its failure is the step's
                        values[item.name] = self._gatherers[item.name](since, until, values)
                        continue
                    try:  # logs need docker access to a service, which an inventory may not have
                        values[item.name] = self._gatherers[item.name](since, until, values)
                    except OpsError as exc:
                        values[item.name] = Unmeasured(exc.msg)
            if kind == SERVICE:
                for key, name, text in self._pending:
                    self._write(key, name, text)
                self._pending = []
        return values

    def _db_samples(self, since: datetime.datetime, until: datetime.datetime, values: dict) -> list[dict]:
        return in_window(self._samples["db_samples"], since, until)

    def _stats(self, since: datetime.datetime, until: datetime.datetime, values: dict) -> list[dict]:
        return in_window(self._samples["stats"], since, until)

    def _database(self, since: datetime.datetime, until: datetime.datetime, values: dict) -> dict | None:
        if self.db_connect is None:
            return None
        schema = self.p.get("schema")
        queries, skipped = session_queries(schema, self.p.get("session_queries"))
        conn = self.db_connect()
        try:
            max_conn = max_connections_now(conn)
            sessions = run_session_queries(conn, queries, since, until,
                                           params=schema_params(schema) if schema else None)
        finally:
            conn.close()
        sessions.update(skipped)
        return {"max_connections": max_conn, "sessions": sessions}

    def _redis(self, since: datetime.datetime, until: datetime.datetime, values: dict) -> dict | None:
        redis = self.p.get("redis") or {}
        if self.redis_reader is None or not (redis.get("host") or redis.get("container")):
            return None
        text = scrub(self.redis_reader())
        self._pending.append(("redis_info", REDIS_INFO_FILE, text))
        return parse_redis_info(text)

    def _prometheus(self, since: datetime.datetime, until: datetime.datetime, values: dict) -> dict | None:
        p = self.p
        if not p.get("prometheus_url"):
            return None
        section, raw = prometheus_capture(self.transport, p["prometheus_url"], p.get("prometheus_queries"), until,
                                          p.get("timeout", 10.0))
        self._pending.append(("prometheus", PROMETHEUS_FILE,
                              scrub(json.dumps(json_safe(raw), indent=1, sort_keys=True))))
        return section

    def _edge_logs(self, since: datetime.datetime, until: datetime.datetime, values: dict) -> EdgeScan | None:
        """The edge's logs first: its request ids are what the backends' logs are searched for."""
        p = self.p
        if not p.get("edge_service"):
            return None
        edge = EdgeScan(p.get("request_id_samples", 20), p.get("edge_log_fields"),
                        trace_ids=p.get("trace_request_ids") or ())
        containers = _names(self.runner, p["compose_project"], p["edge_service"])
        if not containers:
            raise OpsError(f"no container of edge service {p['edge_service']} in compose project "
                           f"{p['compose_project']}.")
        access, errors = [], []
        for cid, cname in containers:
            out, err = _logs(self.runner, cid, cname, since, until)
            out, err = scrub(out), scrub(err)
            edge.add_text(out, cname)
            edge.add_text(err, cname)
            access.append(out)
            errors.append(err)
        self._write("edge_log", EDGE_LOG_FILE, "".join(access))
        self._write("edge_error_log", EDGE_ERROR_LOG_FILE, "".join(errors))
        return edge

    def _backend_logs(self, since: datetime.datetime, until: datetime.datetime, values: dict) -> BackendScan:
        """The backends' logs, searched for the request ids sampled at the edge; the worker's logs are
        kept beside them as raw files."""
        p = self.p
        edge = values.get("edge_logs")
        edge = None if isinstance(edge, Unmeasured) else edge
        backend = BackendScan(edge.sampled_ids() if edge is not None else [], p.get("top", 10), p.get("backend_log"),
                              p.get("slow_sql_ms") or SLOW_SQL_MS, p.get("slow_request_ms") or SLOW_REQUEST_MS,
                              trace_ids=p.get("trace_request_ids") or ())
        found_any = False
        for service in p.get("backend_services") or []:
            containers = _names(self.runner, p["compose_project"], service)
            for cid, cname in containers:
                found_any = True
                out, err = _logs(self.runner, cid, cname, since, until)
                out = scrub(out)
                backend.add_text(out, cname)
                self._write(cname, BACKEND_LOG_FILE.format(name=safe_filename(cname)), out, "backend_logs")
                del out
                if err.strip():
                    self._write(cname, BACKEND_STDERR_LOG_FILE.format(name=safe_filename(cname)), scrub(err),
                                "backend_stderr_logs")
        if not found_any:
            raise OpsError(f"no container of backend services {', '.join(p.get('backend_services') or [])} in "
                           f"compose project {p['compose_project']}.")
        if p.get("worker_service"):
            for cid, cname in _names(self.runner, p["compose_project"], p["worker_service"]):
                out, err = _logs(self.runner, cid, cname, since, until)
                self._write(cname, WORKER_LOG_FILE.format(name=safe_filename(cname)), scrub(out + err), "worker_logs")
        return backend
