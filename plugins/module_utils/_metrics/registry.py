# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The captures of `action: capture`, one entry each: the seeds' nine (DB pool, slow SQL, slow requests,
status codes, Redis, container CPU/memory, edge errors, sessions, request-id traceability), Prometheus,
and the backends' error events.

An entry holds the key of its section in metrics.json, its name, the inputs it needs, and the function
that turns those inputs into its section. Inputs are gathered once per run by `capture.Capture`, in the
order of INPUTS: the sample files, then the configured services (a failure there comes before any raw
file is written), then the logs. A section that could not be measured carries a sentence starting with
NOT_MEASURED (by default its own `note`), which Capture also lists under `notes`.

Adding a capture is one entry in CAPTURES; it needs a new input (and its gatherer in capture.py) only
when it reads something that no input gathers yet."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.examday.ops.plugins.module_utils._metrics.constants import NOT_MEASURED
from ansible_collections.examday.ops.plugins.module_utils._metrics.containers import container_series
from ansible_collections.examday.ops.plugins.module_utils._metrics.dbsample import db_pool_summary
from ansible_collections.examday.ops.plugins.module_utils._metrics.logscan import traceability
from ansible_collections.examday.ops.plugins.module_utils._metrics.redisinfo import redis_summary

# metrics.json keys that Capture writes itself; no capture may use one.
RESERVED_KEYS = ("window", "files", "notes", "captured_at")

# Kinds of input, in the order they are gathered.
SAMPLES, SERVICE, LOGS = "samples", "service", "logs"
KINDS = (SAMPLES, SERVICE, LOGS)


@dataclass(frozen=True)
class Input:
    """Something captures read, gathered once per run (capture.Capture has one gatherer per name)."""

    name: str
    kind: str
    what: str
    needs: tuple[str, ...] = ()


INPUTS: tuple[Input, ...] = (
    Input("db_samples", SAMPLES, "the db_samples.jsonl lines in the window"),
    Input("stats", SAMPLES, "the stats.jsonl lines in the window"),
    Input("database", SERVICE, "max_connections now and the session statistics, over one connection; "
                               "None without a database"),
    Input("redis", SERVICE, "Redis INFO as a dict (raw file redis-info.txt); None when no Redis is configured"),
    Input("prometheus", SERVICE, "the queries at the window's end and the alerts (raw file prometheus.json); "
                                 "None without prometheus_url"),
    Input("edge_logs", LOGS, "the edge's logs read by an EdgeScan (raw files edge.log, edge-error.log); "
                             "None without edge_service"),
    Input("backend_logs", LOGS, "the backends' logs read by a BackendScan that looks for the request ids sampled "
                                "at the edge (raw files backend-*.log, and the worker's logs as worker-*.log)",
          needs=("edge_logs",)),
)
INPUT_NAMES = tuple(i.name for i in INPUTS)


@dataclass(frozen=True)
class Context:
    """What a capture's function gets: the module's options, the window, and the inputs it declared."""

    params: dict
    since: datetime.datetime
    until: datetime.datetime
    inputs: dict


def section_note(section: Any) -> str | None:
    """The not-measured sentence of a section: its own `note`."""
    return section.get("note") if isinstance(section, dict) else None


@dataclass(frozen=True)
class CaptureEntry:
    """One capture: its section `key` in metrics.json, its `name`, the `needs` (names in INPUTS), the
    function `produce` from a Context to the section, and `note`, the section's not-measured sentence
    or None."""

    key: str
    name: str
    needs: tuple[str, ...]
    produce: Callable[[Context], Any]
    note: Callable[[Any], str | None] = section_note


def needed_inputs(captures: tuple[CaptureEntry, ...] | list[CaptureEntry]) -> set[str]:
    """The inputs the captures need, with the inputs those inputs need."""
    known = {i.name: i for i in INPUTS}
    wanted = [name for entry in captures for name in entry.needs]
    needed: set = set()
    while wanted:
        name = wanted.pop()
        if name not in known:
            raise ValueError(f"unknown metrics input {name!r}; inputs are {', '.join(INPUT_NAMES)}")
        if name not in needed:
            needed.add(name)
            wanted.extend(known[name].needs)
    return needed


# ------------------------------------------------------------------------------------ the captures


def _db_pool(c: Context) -> dict:
    database = c.inputs["database"]
    return db_pool_summary(c.inputs["db_samples"], database["max_connections"] if database else None,
                           c.params["pool"])


def _sessions(c: Context):
    database = c.inputs["database"]
    if database is None:
        return {"note": NOT_MEASURED + "no database configured"}
    return database["sessions"]


def _redis(c: Context) -> dict:
    info = c.inputs["redis"]
    if info is None:
        return {"configured": False, "note": NOT_MEASURED + "no Redis host or container configured"}
    return redis_summary(info)


def _prometheus(c: Context) -> dict:
    section = c.inputs["prometheus"]
    return section if section is not None else {"configured": False}


def _edge_errors(c: Context) -> dict:
    edge = c.inputs["edge_logs"]
    if edge is None:
        return {"5xx": None, "upstream_errors": None, "samples": [], "note": NOT_MEASURED + "no edge_service configured"}
    return edge.summary()


def _traceability(c: Context) -> dict:
    edge, backend = c.inputs["edge_logs"], c.inputs["backend_logs"]
    out = traceability(edge.sampled_ids() if edge is not None else [], backend.found)
    if edge is not None:
        out["eligible"] = edge.eligible
    return out


def _http_status(c: Context) -> dict:
    return c.inputs["backend_logs"].http_status()


def _slow_sql(c: Context) -> dict:
    return c.inputs["backend_logs"].slow_sql_summary()


def _slow_requests(c: Context) -> dict:
    return c.inputs["backend_logs"].slow_requests_summary()


def _backend_errors(c: Context) -> dict:
    backend = c.inputs["backend_logs"]
    return {"events": dict(sorted(backend.error_events.items())), "containers": backend.containers}


def _traced(c: Context) -> dict:
    """The edge and backend log records of the requests the reconciliation asked about (a stale
    write and the acknowledged one it overwrote), as the logs show them."""
    wanted = list(c.params.get("trace_request_ids") or [])
    edge, backend = c.inputs["edge_logs"], c.inputs["backend_logs"]
    return {rid: {"edge": (edge.traced.get(rid, []) if edge is not None else []),
                  "backend": backend.traced.get(rid, [])} for rid in wanted}


def _containers(c: Context) -> dict:
    return container_series(c.inputs["stats"])


def _containers_note(section: dict) -> str | None:
    # The section maps container names to series, so its note cannot live inside it.
    return None if section else NOT_MEASURED + "no container stats samples in the window (run action=sample during the load)"


CAPTURES: tuple[CaptureEntry, ...] = (
    CaptureEntry("db_pool", "DB pool", ("db_samples", "database"), _db_pool),
    CaptureEntry("sessions", "sessions", ("database",), _sessions),
    CaptureEntry("redis", "Redis", ("redis",), _redis),
    CaptureEntry("prometheus", "Prometheus", ("prometheus",), _prometheus),
    CaptureEntry("edge_errors", "edge errors", ("edge_logs",), _edge_errors),
    CaptureEntry("traceability", "request-id traceability", ("edge_logs", "backend_logs"), _traceability),
    CaptureEntry("http_status", "status codes", ("backend_logs",), _http_status),
    CaptureEntry("slow_sql", "slow SQL", ("backend_logs",), _slow_sql),
    CaptureEntry("slow_requests", "slow requests", ("backend_logs",), _slow_requests),
    CaptureEntry("backend_errors", "backend error events", ("backend_logs",), _backend_errors),
    CaptureEntry("containers", "container CPU/memory", ("stats",), _containers, _containers_note),
    CaptureEntry("traced", "traced requests", ("edge_logs", "backend_logs"), _traced, lambda section: None),
)
