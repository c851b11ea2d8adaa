# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The database side of the metrics: pg_stat_activity samples during the load (DbSampler), the DB
pool summary over the window, and the session statistics (one READ ONLY transaction)."""
from __future__ import annotations

import datetime
import re
from typing import Callable, Iterable

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._db import pool_capacity
from ansible_collections.examday.ops.plugins.module_utils._metrics.constants import NOT_MEASURED
from ansible_collections.examday.ops.plugins.module_utils._platform.schema import Unavailable, render

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


# ---------------------------------------------------------------------------------------- sessions

# Written against the platform profile's schema (_integrity.schema renders the names); a query that
# needs a column the profile leaves empty is not measured.
SESSION_QUERIES = {
    "by_status": "SELECT {sessions.status}, count(*) FROM {sessions} "
                 "WHERE {sessions.created_at} >= %(since)s AND {sessions.created_at} <= %(until)s "
                 "GROUP BY {sessions.status} ORDER BY {sessions.status}",
    "created": "SELECT count(*) FROM {sessions} WHERE {sessions.created_at} >= %(since)s "
               "AND {sessions.created_at} <= %(until)s",
    "submitted": "SELECT count(*) FROM {sessions} WHERE {sessions.submitted_at} >= %(since)s "
                 "AND {sessions.submitted_at} <= %(until)s AND {sessions.status} = %(status_submitted)s",
    "answers": "SELECT count(*) FROM {answers} WHERE {answers.answered_at} >= %(since)s "
               "AND {answers.answered_at} <= %(until)s",
    "answers_changed": "SELECT count(*) FROM {answers} "
                       "WHERE {answers.updated_at} >= %(since)s AND {answers.updated_at} <= %(until)s "
                       "AND {answers.changed_count} > 0",
    "submit_events": "SELECT count(*) FROM {events} "
                     "WHERE {events.type} = %(submitted_event)s AND {events.ts} >= %(since)s AND {events.ts} <= %(until)s",
    "active_now": "SELECT count(*) FROM {sessions} WHERE {sessions.status} = %(status_active)s",
}


def session_queries(schema: dict | None, queries: dict | None = None) -> tuple[dict, dict]:
    """(runnable queries rendered for the schema, {name: not-measured sentence})."""
    if schema is None:  # SQL given as it is (no schema names in it)
        return dict(queries or SESSION_QUERIES), {}
    out, skipped = {}, {}
    for name, template in (queries or SESSION_QUERIES).items():
        try:
            out[name] = render(template, schema)
        except Unavailable as exc:
            skipped[name] = f"not measured: examday_platform.{exc.key} is empty"
    return out, skipped


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
                        statement_timeout_ms: int = 15000, params: dict | None = None) -> dict:
    """The session statistics, in one READ ONLY transaction with a statement timeout."""
    out = {}
    with conn.transaction():
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION READ ONLY")
            cur.execute("SELECT set_config('statement_timeout', %s, true)", (str(statement_timeout_ms),))
            for name in sorted(queries):
                try:
                    cur.execute(queries[name], {"since": since, "until": until, **(params or {})})
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
