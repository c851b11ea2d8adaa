# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nine captures of a rehearsal (seed 000's capture-metrics) over a time window.

Pure functions turn what was gathered (docker stats and logs, pg_stat_activity rows, Redis INFO
text, Prometheus answers) into the `metrics.json` sections; `Sampler` and `Capture` gather through
injected collaborators (a command runner, a database connector, a Redis reader, an HTTP transport),
so that unit tests run them on recorded real outputs without a daemon."""
from __future__ import annotations

import datetime
import heapq
import json
import math
import os
import random
import re
import time
from typing import Callable, Iterable
from urllib.parse import urlencode

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe, run_checked
from ansible_collections.examday.ops.plugins.module_utils._db import pool_capacity
from ansible_collections.examday.ops.plugins.module_utils._platform_api import PlatformUnreachable

UTC = datetime.timezone.utc
STATS_FILE = "stats.jsonl"
DB_SAMPLES_FILE = "db_samples.jsonl"
METRICS_FILE = "metrics.json"
STOP_FILE = "stop"
DOCKER_TS = "docker_ts"
SLOW_SQL_MS = (100.0, 300.0)
SLOW_REQUEST_MS = (500.0, 1500.0)
STATEMENT_CHARS = 200
NOT_MEASURED = "not measured: "

# -------------------------------------------------------------------------------------------- time


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def iso(dt: datetime.datetime) -> str:
    """UTC ISO 8601 with milliseconds and a Z, as the evidence contract wants."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


_TS = re.compile(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


def parse_ts(text) -> datetime.datetime | None:
    """An ISO 8601 / RFC 3339 timestamp (docker's nanoseconds too) as an aware datetime; None if it is not one.
    A timestamp without an offset is taken as UTC."""
    m = _TS.match(str(text or "").strip())
    if not m:
        return None
    frac = (m.group(2) or "")[:7]
    zone = m.group(3) or "+00:00"
    zone = "+00:00" if zone == "Z" else zone
    try:
        dt = datetime.datetime.fromisoformat(m.group(1).replace(" ", "T") + frac + zone)
    except ValueError:
        return None
    return dt.astimezone(UTC)


def resolve_window(since: str | None, until: str | None, earliest_sample: datetime.datetime | None,
                   now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """[since, until]: until defaults to now, since to the earliest sample, else one hour before until."""
    end = now
    if until:
        end = parse_ts(until)
        if end is None:
            raise OpsError(f"until {until!r} is not an ISO 8601 timestamp.")
    if since:
        start = parse_ts(since)
        if start is None:
            raise OpsError(f"since {since!r} is not an ISO 8601 timestamp.")
    else:
        start = earliest_sample if earliest_sample and earliest_sample < end else end - datetime.timedelta(hours=1)
    if start >= end:
        raise OpsError(f"the window is empty: since {iso(start)} is not before until {iso(end)}.")
    return start, end


# ------------------------------------------------------------------------------------------ scrub

# Lowercase words that any secret pattern below needs; lines without one are not searched further.
_SECRET_WORDS = ("authoriz", "bearer", "eyj", "token", "passw", "pwd", "secret", "api_key", "apikey", "cookie", "://")
_SECRETS = (
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?[^\s\"',;{}\[\]]+"),
     r"\1<redacted>"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer <redacted>"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "<redacted-jwt>"),
    (re.compile(r"(?i)\b([\w-]*(?:token|password|passwd|pwd|secret|api_?key|cookie)[\w-]*)([\"']?\s*[:=]\s*[\"']?)"
                r"(?!<redacted)[^\"'\s&,;{}\[\]]+"), r"\1\2<redacted>"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/@:]+:)[^\s/@]+@"), r"\1<redacted>@"),
)
_SCRUB_CHUNK = 1 << 20


def _hinted(text: str) -> bool:
    low = text.lower()
    return any(word in low for word in _SECRET_WORDS)


def _scrub_line(line: str) -> str:
    for pattern, repl in _SECRETS:
        line = pattern.sub(repl, line)
    return line


def scrub(text: str) -> str:
    """Defensive: Authorization headers, bearer tokens, JWTs, password=/token=/secret= values and
    passwords in URLs become <redacted>. The platform's logs should hold none of them, so the text is
    checked a chunk at a time for the words these need, and only lines with one are searched; an
    unchanged text is returned as it is (no copy)."""
    if not text:
        return text
    changes: list = []
    pos, size = 0, len(text)
    while pos < size:
        end = text.find("\n", min(pos + _SCRUB_CHUNK, size))
        end = size if end < 0 else end + 1
        chunk = text[pos:end]
        if _hinted(chunk):
            lines = chunk.splitlines(keepends=True)
            cleaned = "".join(_scrub_line(line) if _hinted(line) else line for line in lines)
            if cleaned != chunk:
                changes.append((pos, end, cleaned))
        pos = end
    if not changes:
        return text
    out, last = [], 0
    for start, end, cleaned in changes:
        out += [text[last:start], cleaned]
        last = end
    out.append(text[last:])
    return "".join(out)


def iter_lines(text: str):
    """The lines of a text without copying it whole (str.splitlines or StringIO would)."""
    pos, size = 0, len(text)
    while pos < size:
        end = text.find("\n", pos)
        if end < 0:
            yield text[pos:]
            return
        yield text[pos:end]
        pos = end + 1


def safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip("._") or "container"


# ---------------------------------------------------------------------------------- samples files


def stats_lines(ts: str, stats_output: str) -> list[dict]:
    """`docker stats --no-stream --format '{{json .}}'` output as stats.jsonl lines."""
    out = []
    for s in _docker_cli.parse_stats(_docker_cli.parse_json_stream(stats_output)):
        out.append({"ts": ts, "container": s["name"], "cpu_pct": s["cpu_pct"], "mem_bytes": s["mem_bytes"],
                    "mem_limit_bytes": s["mem_limit_bytes"], "pids": s["pids"]})
    return out


DB_SAMPLE_SQL = """
SELECT s.setting::int AS max_connections, a.datname, a.application_name, a.state, a.n
FROM pg_settings s
LEFT JOIN (
    SELECT coalesce(datname, '') AS datname, coalesce(application_name, '') AS application_name,
           coalesce(state, '') AS state, count(*) AS n
    FROM pg_stat_activity
    WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
    GROUP BY 1, 2, 3
) a ON true
WHERE s.name = 'max_connections'
"""


def db_sample(rows: Iterable, db_name: str, app_re: str, ts: str) -> dict:
    """One db_samples.jsonl line from DB_SAMPLE_SQL's rows (max_connections, datname, application_name,
    state, n): connections to the platform's database (by application and state), to the whole server,
    and those of the app (application_name matching app_re)."""
    app = re.compile(app_re)
    rec = {"ts": ts, "kind": "db", "connections": 0, "all_connections": 0, "app_connections": 0,
           "max_connections": None, "by_application": {}, "by_state": {}}
    for max_connections, datname, application_name, state, n in rows:
        rec["max_connections"] = int(max_connections)
        if n is None:
            continue
        n = int(n)
        rec["all_connections"] += n
        if datname != db_name:
            continue
        rec["connections"] += n
        rec["by_application"][application_name] = rec["by_application"].get(application_name, 0) + n
        rec["by_state"][state or "unknown"] = rec["by_state"].get(state or "unknown", 0) + n
        if app.search(application_name):
            rec["app_connections"] += n
    return rec


def read_jsonl(path: str) -> list[dict]:
    """A samples file; unparsable lines (a line being written while we read) are skipped."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
    return out


def in_window(records: list[dict], since: datetime.datetime, until: datetime.datetime) -> list[dict]:
    out = []
    for r in records:
        ts = parse_ts(r.get("ts"))
        if ts is not None and since <= ts <= until:
            out.append(r)
    return out


def earliest(records: Iterable[dict]) -> datetime.datetime | None:
    stamps = [t for t in (parse_ts(r.get("ts")) for r in records) if t is not None]
    return min(stamps) if stamps else None


# ------------------------------------------------------------------------------ db pool, containers


def db_pool_summary(samples: list[dict], max_connections_now: int | None, pool: dict) -> dict:
    """Peak connections during the window, against max_connections and the app's pool capacity."""
    good = [s for s in samples if "error" not in s and s.get("max_connections")]
    capacity = pool_capacity(pool)
    out = {"peak_connections": None, "peak_all_connections": None, "peak_app_connections": None, "peak_at": None,
           "max_connections": max_connections_now, "pct_of_max_connections": None, "app_pool_capacity": capacity,
           "pct_of_app_pool": None, "samples": len(good), "sample_errors": len(samples) - len(good)}
    if not good:
        out["note"] = NOT_MEASURED + "no database samples in the window (run action=sample during the load)"
        return out
    peak = max(good, key=lambda s: s["connections"])
    max_connections = max(s["max_connections"] for s in good)
    out.update(peak_connections=peak["connections"], peak_at=peak["ts"], max_connections=max_connections,
               peak_all_connections=max(s.get("all_connections", 0) for s in good),
               peak_app_connections=max(s.get("app_connections", 0) for s in good),
               pct_of_max_connections=round(100.0 * peak["connections"] / max_connections, 1))
    if capacity:
        out["pct_of_app_pool"] = round(100.0 * out["peak_app_connections"] / capacity, 1)
    return out


def slope_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, per minute; None with fewer than two distinct times."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _y in points) / n
    my = sum(y for _x, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _y in points)
    if sxx == 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in points)
    return round(60.0 * sxy / sxx, 3)


def container_series(samples: list[dict]) -> dict:
    """Per container: the CPU and memory series over the window, maxima, and the memory slope
    (bytes per minute, least squares), so a leak shows as a slope rather than one snapshot."""
    by_name: dict = {}
    for s in sorted(samples, key=lambda r: parse_ts(r.get("ts")) or datetime.datetime.min.replace(tzinfo=UTC)):
        if s.get("container"):
            by_name.setdefault(s["container"], []).append(s)
    out = {}
    for name in sorted(by_name):
        rows = by_name[name]
        t0 = parse_ts(rows[0]["ts"])
        cpu = [r.get("cpu_pct") for r in rows]
        mem = [r.get("mem_bytes") for r in rows]
        points = [((parse_ts(r["ts"]) - t0).total_seconds(), r["mem_bytes"]) for r in rows
                  if r.get("mem_bytes") is not None]
        cpu_known = [c for c in cpu if c is not None]
        mem_known = [m for m in mem if m is not None]
        limits = [r.get("mem_limit_bytes") for r in rows if r.get("mem_limit_bytes")]
        entry = {"ts": [r["ts"] for r in rows], "cpu_pct": cpu, "mem_bytes": mem, "samples": len(rows),
                 "cpu_max_pct": max(cpu_known) if cpu_known else None,
                 "mem_max_bytes": max(mem_known) if mem_known else None,
                 "mem_limit_bytes": limits[-1] if limits else None,
                 "mem_slope_bytes_per_min": slope_per_minute(points)}
        if entry["mem_slope_bytes_per_min"] is None:
            entry["note"] = NOT_MEASURED + "a memory slope needs two samples or more"
        out[name] = entry
    return out


# ------------------------------------------------------------------------------------ backend logs

_SQL_STRING = re.compile(r"'(?:[^']|'')*'")
_SQL_NUMBER = re.compile(r"(?<![\w$.%])-?\d+(?:\.\d+)?\b")


def normalize_statement(text, limit: int = STATEMENT_CHARS) -> str:
    """A statement for a report: whitespace folded, literal values replaced by ?, truncated. Values are
    never shown (the lab logs placeholders; a platform logging literals must not leak them)."""
    statement = " ".join(str(text or "").split())
    statement = _SQL_NUMBER.sub("?", _SQL_STRING.sub("?", statement))
    return statement if len(statement) <= limit else statement[:limit - 3] + "..."


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class TopN:
    """The n largest entries by a value, without keeping the rest."""

    def __init__(self, n: int):
        self.n = max(0, n)
        self._heap: list = []
        self._seq = 0

    def wants(self, value: float) -> bool:
        return len(self._heap) < self.n or (self.n > 0 and value > self._heap[0][0])

    def add(self, value: float, entry: dict) -> None:
        if not self.wants(value):
            return
        self._seq += 1
        item = (value, -self._seq, entry)
        if len(self._heap) < self.n:
            heapq.heappush(self._heap, item)
        else:
            heapq.heapreplace(self._heap, item)

    def items(self) -> list[dict]:
        return [entry for _v, _s, entry in sorted(self._heap, key=lambda i: (-i[0], -i[1]))]


class BackendScan:
    """Reads the backends' JSON log records one at a time: status classes, slow SQL, slow requests,
    error events, and which of the wanted request ids were seen."""

    def __init__(self, wanted_ids: Iterable[str] = (), top_n: int = 10):
        self.wanted = set(wanted_ids)
        self.found: set = set()
        self.status = {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, "other": 0}
        self.requests = 0
        self.records = 0
        self.slow_sql = [0, 0]
        self.slow_requests = [0, 0]
        self.top_sql = TopN(top_n)
        self.top_requests = TopN(top_n)
        self.error_events: dict = {}
        self.containers: list = []

    def add_text(self, text: str, container: str) -> None:
        self.containers.append(container)
        for record in _docker_cli.iter_json_log_records(iter_lines(text), ts_key=DOCKER_TS):
            self.add(record, container)

    def add(self, record: dict, container: str) -> None:
        self.records += 1
        rid = record.get("request_id")
        if rid is not None and rid in self.wanted:
            self.found.add(rid)
        event = record.get("event")
        if event == "request":
            self._request(record, container)
        elif event == "slow_sql":
            self._slow_sql(record, container)
        elif record.get("level") in ("error", "critical", "fatal"):
            self.error_events[event or "unknown"] = self.error_events.get(event or "unknown", 0) + 1

    def _request(self, record: dict, container: str) -> None:
        self.requests += 1
        code = record.get("status_code")
        try:
            code = int(code)
        except (TypeError, ValueError):
            code = None
        cls = f"{code // 100}xx" if code is not None and 200 <= code < 600 else "other"
        self.status[cls] += 1
        ms = _number(record.get("total_ms"))
        if ms is None or ms < SLOW_REQUEST_MS[0]:
            return
        self.slow_requests[0] += 1
        if ms >= SLOW_REQUEST_MS[1]:
            self.slow_requests[1] += 1
        if self.top_requests.wants(ms):
            self.top_requests.add(ms, {
                "total_ms": ms, "method": record.get("method"), "route": record.get("route"),
                "path": record.get("path"), "status_code": code, "request_id": record.get("request_id"),
                "ts": record.get("ts") or record.get(DOCKER_TS), "container": container})

    def _slow_sql(self, record: dict, container: str) -> None:
        ms = _number(record.get("duration_ms"))
        if ms is None:
            return
        if ms >= SLOW_SQL_MS[0]:
            self.slow_sql[0] += 1
        if ms >= SLOW_SQL_MS[1]:
            self.slow_sql[1] += 1
        if self.top_sql.wants(ms):
            self.top_sql.add(ms, {
                "duration_ms": ms, "statement": normalize_statement(record.get("statement")),
                "request_id": record.get("request_id"), "ts": record.get("ts") or record.get(DOCKER_TS),
                "container": container})

    def http_status(self) -> dict:
        out = {k: self.status[k] for k in ("2xx", "3xx", "4xx", "5xx")}
        out.update(other=self.status["other"], total=self.requests, source="backend logs", error_rate_pct=None,
                   client_error_rate_pct=None)
        if self.requests:
            out["error_rate_pct"] = round(100.0 * self.status["5xx"] / self.requests, 3)
            out["client_error_rate_pct"] = round(100.0 * self.status["4xx"] / self.requests, 3)
        else:
            out["note"] = NOT_MEASURED + "no request was logged by the backends in the window"
        return out

    def slow_sql_summary(self) -> dict:
        return {"count_100ms": self.slow_sql[0], "count_300ms": self.slow_sql[1], "top": self.top_sql.items()}

    def slow_requests_summary(self) -> dict:
        return {"count_500ms": self.slow_requests[0], "count_1500ms": self.slow_requests[1],
                "top": self.top_requests.items()}


# --------------------------------------------------------------------------------------- edge logs

EDGE_FIELDS = {"request_id": "request_id", "status": "status_code", "upstream_addr": "upstream_addr",
               "upstream_status": "upstream_status"}
_NGINX_ERROR = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\]")
_ERROR_LEVELS = ("error", "crit", "alert", "emerg", "critical", "fatal", "panic")


class EdgeScan:
    """Reads the edge proxy's logs: JSON access records (field names from `fields`) and error lines
    (nginx's text format, or JSON records with a level). Keeps a uniform sample of the request ids
    that a backend answered (reservoir sampling, fixed seed: the same logs give the same sample)."""

    def __init__(self, sample_size: int = 20, fields: dict | None = None, max_error_samples: int = 10, seed: int = 0):
        self.fields = dict(EDGE_FIELDS, **{k: v for k, v in (fields or {}).items() if v})
        self.sample_size = max(0, sample_size)
        self._rng = random.Random(seed)
        self._reservoir: list = []
        self.eligible = 0
        self.requests = 0
        self.status = {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, "other": 0}
        self.retried = 0
        self.upstream_errors = 0
        self.error_lines = 0
        self.samples: list = []
        self.max_error_samples = max_error_samples
        self.containers: list = []

    def add_text(self, text: str, container: str) -> None:
        if container not in self.containers:
            self.containers.append(container)
        for line in iter_lines(text):
            stamp, rest = _docker_cli.split_timestamp(line)
            body = rest.strip()
            if not body:
                continue
            if body.startswith("{"):
                try:
                    record = json.loads(body)
                except ValueError:
                    record = None
                if isinstance(record, dict):
                    self.add_record(record, stamp)
                    continue
            self.add_error_line(body, stamp)

    def add_record(self, record: dict, stamp: str | None = None) -> None:
        f = self.fields
        status = record.get(f["status"])
        if status is None:
            if str(record.get("level") or "").lower() in _ERROR_LEVELS:
                text = json.dumps(record, sort_keys=True)
                self._error(text, stamp, "upstream" in text.lower())
            return
        try:
            status = int(status)
        except (TypeError, ValueError):
            status = 0
        self.requests += 1
        cls = f"{status // 100}xx" if 200 <= status < 600 else "other"
        self.status[cls] += 1
        upstream_status = str(record.get(f["upstream_status"]) or "")
        if "," in upstream_status or ":" in upstream_status:
            self.retried += 1
        if status >= 500:
            self._sample({"kind": "5xx", "status_code": status, "request_id": record.get(f["request_id"]),
                          "uri": record.get("uri") or record.get("RequestPath"), "upstream_status": upstream_status,
                          "ts": record.get("ts") or stamp})
        rid = record.get(f["request_id"])
        if rid and self._reached_backend(record, upstream_status):
            self._offer(str(rid))

    def _reached_backend(self, record: dict, upstream_status: str) -> bool:
        """The edge passed the request to a backend that answered: an upstream address, and (when the
        log has upstream statuses) one that is not the proxy's own 502/504 for a backend it could not
        reach. Only such requests can be expected in a backend's log."""
        if not str(record.get(self.fields["upstream_addr"]) or "").strip("- "):
            return False
        if self.fields["upstream_status"] not in record:
            return True
        codes = [c.strip() for c in re.split(r"[,:]", upstream_status)]
        return any(c.isdigit() and c not in ("502", "504") for c in codes)

    def add_error_line(self, line: str, stamp: str | None = None) -> None:
        m = _NGINX_ERROR.match(line)
        if m and m.group(1).lower() in _ERROR_LEVELS:
            self._error(line, stamp, "upstream" in line)

    def _error(self, text: str, stamp: str | None, upstream: bool) -> None:
        self.error_lines += 1
        if upstream:
            self.upstream_errors += 1
        self._sample({"kind": "upstream_error" if upstream else "error", "line": text[:500], "ts": stamp})

    def _sample(self, entry: dict) -> None:
        if len(self.samples) < self.max_error_samples:
            self.samples.append(entry)

    def _offer(self, rid: str) -> None:
        self.eligible += 1
        if len(self._reservoir) < self.sample_size:
            self._reservoir.append((self.eligible, rid))
            return
        j = self._rng.randrange(self.eligible)
        if j < self.sample_size:
            self._reservoir[j] = (self.eligible, rid)

    def sampled_ids(self) -> list[str]:
        """The sample, in log order, without repeats."""
        seen, out = set(), []
        for _n, rid in sorted(self._reservoir):
            if rid not in seen:
                seen.add(rid)
                out.append(rid)
        return out

    def summary(self) -> dict:
        out = {"5xx": self.status["5xx"], "upstream_errors": self.upstream_errors, "error_lines": self.error_lines,
               "retried": self.retried, "requests": self.requests, "status": dict(self.status),
               "error_rate_pct": round(100.0 * self.status["5xx"] / self.requests, 3) if self.requests else None,
               "samples": self.samples, "containers": self.containers}
        if not self.requests:
            out["note"] = NOT_MEASURED + "no request was logged by the edge in the window"
        return out


def traceability(sampled: list[str], found: set) -> dict:
    """How many request ids seen at the edge were found in some backend's logs."""
    missing = [rid for rid in sampled if rid not in found]
    out = {"sampled": len(sampled), "found": len(sampled) - len(missing), "pct": None, "samples": list(sampled),
           "missing": missing}
    if sampled:
        out["pct"] = round(100.0 * out["found"] / len(sampled), 1)
    else:
        out["note"] = NOT_MEASURED + "no request id passed through the edge to a backend in the window"
    return out


# ------------------------------------------------------------------------------------------- redis


def _info_value(text: str):
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    return text


def parse_redis_info(text: str) -> dict:
    """Redis INFO text as {field: value}; keyspace lines (db0:keys=1,expires=0,...) as dicts."""
    out: dict = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, _sep, value = line.partition(":")
        if re.fullmatch(r"db\d+", key) and "=" in value:
            out[key] = {k: _info_value(v) for k, _e, v in (item.partition("=") for item in value.split(","))}
        else:
            out[key] = _info_value(value)
    return out


REDIS_FIELDS = ("redis_version", "uptime_in_seconds", "connected_clients", "blocked_clients", "maxclients",
                "rejected_connections", "total_connections_received", "total_commands_processed",
                "instantaneous_ops_per_sec", "evicted_keys", "expired_keys", "keyspace_hits", "keyspace_misses",
                "used_memory", "used_memory_peak", "maxmemory", "maxmemory_policy", "role")


def redis_summary(info: dict) -> dict:
    out = {"configured": True}
    out.update({k: info.get(k) for k in REDIS_FIELDS})
    out["keyspace"] = {k: v for k, v in info.items() if re.fullmatch(r"db\d+", k)}
    out["keys"] = sum(v.get("keys", 0) for v in out["keyspace"].values() if isinstance(v, dict))
    return out


def redis_failure(host: str, port: int, exc: Exception, password: str | None) -> OpsError:
    """One sentence for a Redis failure, without the password."""
    kind = type(exc).__name__
    detail = " ".join(str(exc).split()) or kind
    if password:
        detail = detail.replace(password, "<redacted>")
    if "Authentication" in kind or any(word in detail for word in ("NOAUTH", "WRONGPASS", "AUTH")):
        return OpsError(f"Redis at {host}:{port} did not accept the configured credentials ({detail.rstrip('.')}).")
    return OpsError(f"cannot read Redis INFO from {host}:{port}: {detail.rstrip('.')}.")


def redis_info_text(host: str, port: int, username: str | None, password: str | None, timeout: float) -> str:
    """INFO from Redis through redis-py, as the server's text. Authenticates explicitly, so a
    configured password that the server does not expect is an error, not silently ignored."""
    import redis  # imported here: only this capture needs it, the module checks it is installed

    client = redis.Redis(host=host, port=port, socket_timeout=timeout, socket_connect_timeout=timeout,
                         single_connection_client=True)
    try:
        client.set_response_callback("INFO", lambda response, **options: response)
        if password:
            client.execute_command("AUTH", *([username] if username else []), password)
        raw = client.execute_command("INFO")
    except redis.RedisError as exc:
        raise redis_failure(host, port, exc, password) from None
    finally:
        client.close()
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


# ---------------------------------------------------------------------------------------- sessions

SESSION_QUERIES = {
    "by_status": "SELECT status, count(*) FROM test_sessions "
                 "WHERE created_at >= %(since)s AND created_at <= %(until)s GROUP BY status ORDER BY status",
    "created": "SELECT count(*) FROM test_sessions WHERE created_at >= %(since)s AND created_at <= %(until)s",
    "submitted": "SELECT count(*) FROM test_sessions WHERE submitted_at >= %(since)s AND submitted_at <= %(until)s",
    "answers": "SELECT count(*) FROM session_answers WHERE answered_at >= %(since)s AND answered_at <= %(until)s",
    "answers_changed": "SELECT count(*) FROM session_answers "
                       "WHERE updated_at >= %(since)s AND updated_at <= %(until)s AND changed_count > 0",
    "submit_events": "SELECT count(*) FROM attempt_events "
                     "WHERE event_type = 'SESSION_SUBMITTED' AND event_ts >= %(since)s AND event_ts <= %(until)s",
    "active_now": "SELECT count(*) FROM test_sessions WHERE status = 'ACTIVE'",
}


def shape_rows(rows: list[tuple]):
    """A query's answer for the report: one value as a scalar, (key, value) rows as a dict, else a list."""
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0]
    if rows and all(len(r) == 2 for r in rows):
        return {str(k): v for k, v in rows}
    if not rows:
        return {}
    return [list(r) for r in rows]


def run_session_queries(conn, queries: dict, since: datetime.datetime, until: datetime.datetime,
                        statement_timeout_ms: int = 15000) -> dict:
    """The session statistics, in one READ ONLY transaction with a statement timeout."""
    out = {}
    with conn.transaction():
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION READ ONLY")
            cur.execute("SELECT set_config('statement_timeout', %s, true)", (str(statement_timeout_ms),))
            for name in sorted(queries):
                try:
                    cur.execute(queries[name], {"since": since, "until": until})
                    out[name] = shape_rows(cur.fetchall() if cur.description else [])
                except Exception as exc:  # a driver error becomes one sentence naming the query
                    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    raise OpsError(f"session query {name} failed: {first.rstrip('.')}.") from None
    return out


def max_connections_now(conn) -> int | None:
    with conn.cursor() as cur:
        cur.execute("SELECT setting::int FROM pg_settings WHERE name = 'max_connections'")
        row = cur.fetchone()
    conn.rollback()
    return row[0] if row else None


# -------------------------------------------------------------------------------------- prometheus

# Seed 003's alert rules, as expressions over the platform's metrics (the lab's /metrics names):
# HighErrorRate (5xx > 0.5 % for 5 min), HighLatencyP95 (p95 > 300 ms for 10 min), HighAuthFailureRate
# (login failures > 1 %). WebSocketBackpressure has no counterpart (the platform has no WebSockets).
# The DB pool query is seed 000's "pool < 80 %".
PROMETHEUS_QUERIES = {
    "error_rate_5xx_pct": '100 * sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
    "latency_p95_seconds": "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "auth_failure_rate_pct": '100 * sum(rate(http_requests_total{route="login",status=~"4.."}[5m])) '
                             '/ sum(rate(http_requests_total{route="login"}[5m]))',
    "db_pool_in_use_pct": "100 * sum(db_pool_in_use) / sum(db_pool_size + db_pool_max_overflow)",
}
PROMETHEUS_THRESHOLDS = {"error_rate_5xx_pct": 0.5, "latency_p95_seconds": 0.3, "auth_failure_rate_pct": 1.0,
                         "db_pool_in_use_pct": 80.0}


def query_specs(queries: dict | None) -> dict:
    """{name: {"expr", "threshold"}} from the option: a name maps to an expression or {expr, threshold}."""
    if not queries:
        return {n: {"expr": e, "threshold": PROMETHEUS_THRESHOLDS.get(n)} for n, e in PROMETHEUS_QUERIES.items()}
    out = {}
    for name, spec in queries.items():
        if isinstance(spec, dict):
            if not spec.get("expr"):
                raise OpsError(f"prometheus_queries.{name} needs an expr.")
            threshold = spec.get("threshold")
            out[name] = {"expr": str(spec["expr"]), "threshold": None if threshold is None else float(threshold)}
        else:
            out[name] = {"expr": str(spec), "threshold": PROMETHEUS_THRESHOLDS.get(name)}
    return out


def _finite(value) -> float | None:
    number = _number(value)
    return number if number is not None and math.isfinite(number) else None


def prometheus_get(transport, base_url: str, path: str, params: dict, timeout: float) -> dict:
    """GET an API path; an unreachable server, a non-JSON or failed answer is one sentence."""
    url = base_url.rstrip("/") + path + ("?" + urlencode(params) if params else "")
    where = scrub(base_url)
    try:
        status, _headers, body = transport("GET", url, {"Accept": "application/json"}, None, timeout)
    except PlatformUnreachable as exc:
        reason = str(exc).partition(": ")[2] or str(exc)
        raise OpsError(f"Prometheus at {where} is unreachable: {reason.rstrip('.')}.") from None
    try:
        data = json.loads(body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    except ValueError:
        raise OpsError(f"Prometheus at {where} answered {path} with HTTP {status} and no JSON; is it a Prometheus URL?") from None
    if not isinstance(data, dict) or data.get("status") != "success":
        error = data.get("error") if isinstance(data, dict) else None
        raise OpsError(f"Prometheus at {where} refused {path} (HTTP {status}): {error or 'no success status'}.")
    return data.get("data") or {}


def query_result(spec: dict, data: dict) -> dict:
    """An instant query's answer: each series' value, the single value when there is one series, and
    whether it is above the threshold."""
    kind, result = data.get("resultType"), data.get("result")
    series = []
    if kind == "vector":
        series = [{"metric": r.get("metric", {}), "value": _finite((r.get("value") or [None, None])[1])}
                  for r in result or []]
    elif kind == "scalar" and result:
        series = [{"metric": {}, "value": _finite(result[1])}]
    values = [s["value"] for s in series if s["value"] is not None]
    value = series[0]["value"] if len(series) == 1 else None
    threshold = spec.get("threshold")
    above = None
    if threshold is not None and values:
        above = max(values) > threshold
    out = {"expr": spec["expr"], "value": value, "series": series, "threshold": threshold,
           "above_threshold": above}
    if not values:
        out["note"] = NOT_MEASURED + "the query returned no value"
    return out


def firing_alerts(data: dict) -> tuple[list, list]:
    """(/api/v1/alerts' firing alerts, pending ones), as name, severity, since, value, labels."""
    firing, pending = [], []
    for alert in data.get("alerts") or []:
        labels = alert.get("labels") or {}
        entry = {"name": labels.get("alertname"), "severity": labels.get("severity"), "state": alert.get("state"),
                 "active_at": alert.get("activeAt"), "value": alert.get("value"), "labels": labels,
                 "summary": (alert.get("annotations") or {}).get("summary")}
        if alert.get("state") == "firing":
            firing.append(entry)
        elif alert.get("state") == "pending":
            pending.append(entry)
    return firing, pending


def prometheus_capture(transport, base_url: str, queries: dict | None, at: datetime.datetime,
                       timeout: float) -> tuple[dict, dict]:
    """(metrics section, raw answers) for a configured Prometheus: the queries at the end of the window
    and the alerts it reports now."""
    specs = query_specs(queries)
    raw: dict = {"queries": {}}
    results = {}
    ts = f"{at.timestamp():.3f}"
    for name in sorted(specs):
        data = prometheus_get(transport, base_url, "/api/v1/query", {"query": specs[name]["expr"], "time": ts}, timeout)
        raw["queries"][name] = data
        results[name] = query_result(specs[name], data)
    alerts = prometheus_get(transport, base_url, "/api/v1/alerts", {}, timeout)
    raw["alerts"] = alerts
    firing, pending = firing_alerts(alerts)
    return {"configured": True, "url": scrub(base_url), "at": iso(at), "queries": results, "firing_alerts": firing,
            "pending_alerts": pending}, raw


# ----------------------------------------------------------------------------------------- writing


def ensure_dir(path: str) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)


def write_text(path: str, text: str) -> None:
    """A file of the evidence directory (mode 0600), replaced whole."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
        fh.write(text)


def append_lines(path: str, records: list[dict]) -> None:
    if not records:
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(json_safe(r), sort_keys=True) + "\n" for r in records))


# ---------------------------------------------------------------------------------------- sampling


class DbSampler:
    """pg_stat_activity counts on one kept connection (reopened after an error)."""

    def __init__(self, connect: Callable, db_name: str, app_re: str):
        self.connect = connect
        self.db_name = db_name
        self.app_re = app_re
        self.conn = None

    def sample(self, ts: str) -> dict:
        try:
            if self.conn is None:
                self.conn = self.connect()
                self.conn.autocommit = True
                self.conn.execute("SET statement_timeout = 5000")
                self.conn.execute("SET default_transaction_read_only = on")
            rows = self.conn.execute(DB_SAMPLE_SQL).fetchall()
        except OpsError:
            raise
        except Exception as exc:  # the database may be down during a fault: recorded, retried next time
            self.close()
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise OpsError(f"pg_stat_activity sample failed: {first.rstrip('.')}.") from None
        return db_sample(rows, self.db_name, self.app_re, ts)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # closing a broken connection may fail too; it is gone either way
                pass
            self.conn = None


class Sampler:
    """`action: sample`: docker stats of the project's running containers and pg_stat_activity counts,
    every `interval` seconds until `duration` has passed or the stop file appears."""

    def __init__(self, runner, project: str, output_dir: str, interval: float, duration: float,
                 db_sampler: DbSampler | None = None, now: Callable = utc_now, monotonic: Callable = time.monotonic,
                 sleep: Callable = time.sleep, write: bool = True, max_errors: int = 20):
        self.runner = runner
        self.project = project
        self.dir = output_dir
        self.interval = interval
        self.duration = duration
        self.db = db_sampler
        self.now = now
        self.monotonic = monotonic
        self.sleep = sleep
        self.write = write
        self.max_errors = max_errors
        self.errors: list = []
        self.error_count = 0
        self.stop_path = os.path.join(output_dir, STOP_FILE)

    def _error(self, ts: str, what: str, msg: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            self.errors.append({"ts": ts, "what": what, "msg": msg})

    def sample_once(self) -> tuple[list[dict], dict | None]:
        """One round: (stats lines, db sample line); failures are recorded, not raised."""
        stats: list = []
        try:
            ids = _docker_cli.container_ids(self.runner, self.project, all_states=False)
            if ids:
                out = run_checked(self.runner, _docker_cli.stats_argv(ids), "docker stats")
                stats = stats_lines(iso(self.now()), out)
        except OpsError as exc:
            self._error(iso(self.now()), "docker stats", exc.msg)
        db = None
        if self.db is not None:
            ts = iso(self.now())
            try:
                db = self.db.sample(ts)
            except OpsError as exc:
                self._error(ts, "db", exc.msg)
                db = {"ts": ts, "kind": "db", "error": exc.msg}
        return stats, db

    def _wait(self, until: float) -> bool:
        """Sleeps until `until` (monotonic); False when the stop file appeared meanwhile."""
        while True:
            if os.path.exists(self.stop_path):
                return False
            left = until - self.monotonic()
            if left <= 0:
                return True
            self.sleep(min(0.25, left))

    def run(self) -> dict:
        started = self.now()
        result = {"started_at": iso(started), "rounds": 0, "stats_samples": 0, "db_samples": 0, "containers": [],
                  "stopped_by": "duration", "removed_stale_stop_file": False}
        if self.write:
            ensure_dir(self.dir)
            if os.path.exists(self.stop_path):
                os.remove(self.stop_path)
                result["removed_stale_stop_file"] = True
        containers: set = set()
        start = self.monotonic()
        deadline = start + self.duration
        try:
            while True:
                if os.path.exists(self.stop_path):
                    result["stopped_by"] = "stop_file"
                    break
                tick = self.monotonic()
                stats, db = self.sample_once()
                result["rounds"] += 1
                result["stats_samples"] += len(stats)
                containers.update(s["container"] for s in stats if s.get("container"))
                if db is not None and "error" not in db:
                    result["db_samples"] += 1
                if self.write:
                    append_lines(os.path.join(self.dir, STATS_FILE), stats)
                    append_lines(os.path.join(self.dir, DB_SAMPLES_FILE), [db] if db else [])
                else:
                    result["sample"] = {"stats": stats, "db": db}
                    break
                if not self._wait(min(tick + self.interval, deadline)):
                    result["stopped_by"] = "stop_file"
                    break
                if self.monotonic() >= deadline:
                    break
        finally:
            if self.db is not None:
                self.db.close()
        result.update(finished_at=iso(self.now()), containers=sorted(containers), errors=self.errors,
                      error_count=self.error_count)
        if self.write:
            result["files"] = {"stats": STATS_FILE, "db_samples": DB_SAMPLES_FILE}
        return result


# ----------------------------------------------------------------------------------------- capture


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
            pending.append(("redis_info", "redis-info.txt", text))
            metrics["redis"] = redis_summary(parse_redis_info(text))
        else:
            metrics["redis"] = {"configured": False, "note": NOT_MEASURED + "no Redis host or container configured"}

        if p.get("prometheus_url"):
            section, raw = prometheus_capture(self.transport, p["prometheus_url"], p.get("prometheus_queries"), until,
                                              p.get("timeout", 10.0))
            metrics["prometheus"] = section
            pending.append(("prometheus", "prometheus.json", scrub(json.dumps(json_safe(raw), indent=1, sort_keys=True))))
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
            self._write("edge_log", "edge.log", "".join(access))
            self._write("edge_error_log", "edge-error.log", "".join(errors))
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
                self._write(name, f"backend-{safe_filename(name)}.log", out, "backend_logs")
                del out
                if err.strip():
                    self._write(name, f"backend-{safe_filename(name)}.stderr.log", scrub(err), "backend_stderr_logs")
        if not found_any:
            raise OpsError(f"no container of backend services {', '.join(p.get('backend_services') or [])} in "
                           f"compose project {p['compose_project']}.")
        if p.get("worker_service"):
            for cid, name in _names(self.runner, p["compose_project"], p["worker_service"]):
                out, err = _logs(self.runner, cid, name, since, until)
                self._write(name, f"worker-{safe_filename(name)}.log", scrub(out + err), "worker_logs")

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
