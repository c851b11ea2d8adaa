# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backends' and the edge's logs, read one record at a time: status classes, slow SQL, slow
requests, error events, edge errors, and request-id traceability from the edge to the backends."""
from __future__ import annotations

import heapq
import json
import random
import re
from typing import Iterable

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import json_get
from ansible_collections.examday.ops.plugins.module_utils._metrics.constants import (
    DOCKER_TS, NOT_MEASURED, SLOW_REQUEST_MS, SLOW_SQL_MS, STATEMENT_CHARS)


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


# Where a backend log record keeps its values (examday_platform.logs.backend; PLATFORM.md's keys).
BACKEND_LOG = {
    "keys": {"event": "event", "level": "level", "ts": "ts", "request_id": "request_id", "status": "status_code",
             "duration_ms": "total_ms", "method": "method", "path": "path", "route": "route"},
    "request_event": "request",
    "slow_sql": {"event": "slow_sql", "duration_ms": "duration_ms", "statement": "statement"},
    "error_levels": ["error", "critical", "fatal"],
}
TRACE_LIMIT = 10  # records kept per traced request id


class BackendScan:
    """Reads the backends' JSON log records one at a time: status classes, slow SQL, slow requests,
    error events, which of the wanted request ids were seen, and the records of traced request ids.
    Where a record keeps each value is the profile's (`log`, dotted paths)."""

    def __init__(self, wanted_ids: Iterable[str] = (), top_n: int = 10, log: dict | None = None,
                 slow_sql_ms=SLOW_SQL_MS, slow_request_ms=SLOW_REQUEST_MS, trace_ids: Iterable[str] = (),
                 keep_durations: bool = False):
        log = log or BACKEND_LOG
        # every request's duration, for percentiles over a short window (the live watch's interval)
        self.durations: list | None = [] if keep_durations else None
        self.keys = {k: v for k, v in log["keys"].items() if v}
        self.request_event = log.get("request_event") or ""
        self.slow_keys = {k: v for k, v in log["slow_sql"].items() if v}
        self.error_levels = {str(x).lower() for x in log.get("error_levels") or []}
        self.slow_sql_ms, self.slow_request_ms = tuple(slow_sql_ms), tuple(slow_request_ms)
        self.wanted = set(wanted_ids)
        self.trace_ids = set(trace_ids)
        self.traced: dict = {}
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

    def _get(self, record: dict, key: str, keys: dict | None = None):
        path = (keys or self.keys).get(key)
        return json_get(record, path) if path else None

    def add_text(self, text: str, container: str) -> None:
        self.containers.append(container)
        for record in _docker_cli.iter_json_log_records(iter_lines(text), ts_key=DOCKER_TS):
            self.add(record, container)

    def add(self, record: dict, container: str) -> None:
        self.records += 1
        rid = self._get(record, "request_id")
        if rid is not None:
            rid = str(rid)
            if rid in self.wanted:
                self.found.add(rid)
            if rid in self.trace_ids and len(self.traced.setdefault(rid, [])) < TRACE_LIMIT:
                self.traced[rid].append({"container": container, "ts": self._get(record, "ts") or record.get(DOCKER_TS),
                                         "record": record})
        event = self._get(record, "event")
        if self.slow_keys.get("event") and event == self.slow_keys["event"]:
            self._slow_sql(record, container)
        elif (event == self.request_event) if self.request_event else self._get(record, "status") is not None:
            self._request(record, container)
        elif str(self._get(record, "level") or "").lower() in self.error_levels:
            self.error_events[event or "unknown"] = self.error_events.get(event or "unknown", 0) + 1

    def _request(self, record: dict, container: str) -> None:
        self.requests += 1
        code = self._get(record, "status")
        try:
            code = int(code)
        except (TypeError, ValueError):
            code = None
        cls = f"{code // 100}xx" if code is not None and 200 <= code < 600 else "other"
        self.status[cls] += 1
        ms = _number(self._get(record, "duration_ms"))
        if ms is not None and self.durations is not None:
            self.durations.append(ms)
        if ms is None or ms < self.slow_request_ms[0]:
            return
        self.slow_requests[0] += 1
        if ms >= self.slow_request_ms[1]:
            self.slow_requests[1] += 1
        if self.top_requests.wants(ms):
            self.top_requests.add(ms, {
                "total_ms": ms, "method": self._get(record, "method"), "route": self._get(record, "route"),
                "path": self._get(record, "path"), "status_code": code, "request_id": self._get(record, "request_id"),
                "ts": self._get(record, "ts") or record.get(DOCKER_TS), "container": container})

    def _slow_sql(self, record: dict, container: str) -> None:
        ms = _number(self._get(record, "duration_ms", self.slow_keys))
        if ms is None:
            return
        if ms >= self.slow_sql_ms[0]:
            self.slow_sql[0] += 1
        if ms >= self.slow_sql_ms[1]:
            self.slow_sql[1] += 1
        if self.top_sql.wants(ms):
            self.top_sql.add(ms, {
                "duration_ms": ms, "statement": normalize_statement(self._get(record, "statement", self.slow_keys)),
                "request_id": self._get(record, "request_id"), "ts": self._get(record, "ts") or record.get(DOCKER_TS),
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
        return {"count_100ms": self.slow_sql[0], "count_300ms": self.slow_sql[1], "top": self.top_sql.items(),
                "thresholds_ms": list(self.slow_sql_ms)}

    def slow_requests_summary(self) -> dict:
        return {"count_500ms": self.slow_requests[0], "count_1500ms": self.slow_requests[1],
                "top": self.top_requests.items(), "thresholds_ms": list(self.slow_request_ms)}


# --------------------------------------------------------------------------------------- edge logs

EDGE_FIELDS = {"request_id": "request_id", "status": "status_code", "upstream_addr": "upstream_addr",
               "upstream_status": "upstream_status"}
_NGINX_ERROR = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\]")
_ERROR_LEVELS = ("error", "crit", "alert", "emerg", "critical", "fatal", "panic")


class EdgeScan:
    """Reads the edge proxy's logs: JSON access records (field names from `fields`) and error lines
    (nginx's text format, or JSON records with a level). Keeps a uniform sample of the request ids
    that a backend answered (reservoir sampling, fixed seed: the same logs give the same sample)."""

    def __init__(self, sample_size: int = 20, fields: dict | None = None, max_error_samples: int = 10, seed: int = 0,
                 trace_ids: Iterable[str] = ()):
        self.fields = dict(EDGE_FIELDS, **{k: v for k, v in (fields or {}).items() if v})
        self.trace_ids = set(trace_ids)
        self.traced: dict = {}
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
        rid_traced = record.get(f["request_id"])
        if rid_traced is not None and str(rid_traced) in self.trace_ids \
                and len(self.traced.setdefault(str(rid_traced), [])) < TRACE_LIMIT:
            self.traced[str(rid_traced)].append({"ts": (record.get(f["ts"]) if f.get("ts") else None) or stamp,
                                                 "record": record})
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
                          "uri": record.get(f.get("path") or "uri") or record.get("uri") or record.get("RequestPath"),
                          "upstream_status": upstream_status, "ts": record.get(f.get("ts") or "ts") or stamp})
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
