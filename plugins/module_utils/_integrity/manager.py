# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The integrity_check module's manager: validate everything (checks rendered for the profile's
schema and refused unless read-only, reconciliation queries, acks files), connect, and run it all
in one REPEATABLE READ, READ ONLY transaction (one snapshot) with a statement timeout, which is the
second line of defence. Values reach the server only as driver parameters."""
from __future__ import annotations

import datetime
import time

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._evidence import acks as _acks
from ansible_collections.examday.ops.plugins.module_utils._integrity import reconcile as _rec
from ansible_collections.examday.ops.plugins.module_utils._integrity.checks import (
    LIMIT_PARAM, STATISTICS_SQL, check_result, merge_checks, prepare_checks, query_params, wrap_check)
from ansible_collections.examday.ops.plugins.module_utils._integrity.guard import validate_select
from ansible_collections.examday.ops.plugins.module_utils._platform.schema import Unavailable, render, schema_params

try:
    import psycopg
    DB_ERRORS: tuple = (psycopg.Error,)
except ImportError:
    psycopg = None
    DB_ERRORS = ()

APPLICATION_NAME = "examday.integrity_check"


# ------------------------------------------------------------------ running in one snapshot
def sql_error_sentence(what: str, exc: Exception, timeout_s: int) -> str:
    """One sentence for a server error while running `what` (a check, statistics, reconciliation)."""
    state = getattr(exc, "sqlstate", None)
    if state == "25006":
        return f"{what} tried to change data and the READ ONLY transaction refused it; nothing was changed."
    if state == "57014":
        return f"{what} did not finish within the statement timeout of {timeout_s} s (raise statement_timeout or narrow the window with since)."
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"{what} failed on the server: {primary.rstrip('.')}."


def begin_snapshot(conn, timeout_s: int) -> dict:
    """Opens the REPEATABLE READ, READ ONLY transaction with statement and lock timeouts; returns
    what the server says about it (proof, for the evidence)."""
    conn.autocommit = False
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    conn.prepare_threshold = None
    with conn.cursor() as cur:
        cur.execute("SELECT set_config('statement_timeout', %(t)s, true), set_config('lock_timeout', %(t)s, true), "
                    "current_setting('transaction_isolation'), current_setting('transaction_read_only'), "
                    "now(), current_setting('application_name'), current_setting('server_version')",
                    {"t": f"{int(timeout_s)}s"})
        row = cur.fetchone()
    snapshot = {"isolation": row[2], "read_only": row[3] == "on", "taken_at": utc_iso(row[4]),
                "application_name": row[5], "server_version": row[6], "statement_timeout_s": int(timeout_s)}
    if snapshot["isolation"] != "repeatable read" or not snapshot["read_only"]:
        raise OpsError("the server did not open a REPEATABLE READ, READ ONLY transaction; nothing was run.")
    return snapshot


def run_checks(cur, checks: list[dict], params: dict, sample_rows: int, timeout_s: int, clock=time.monotonic) -> list[dict]:
    """Runs prepared (validated) checks on a cursor inside the snapshot."""
    results = []
    for check in checks:
        started = clock()
        try:
            cur.execute(wrap_check(check["sql"]), dict(params, **{LIMIT_PARAM: max(1, sample_rows)}))
            rows = cur.fetchall()
        except DB_ERRORS as exc:
            raise OpsError(sql_error_sentence(f"check {check['name']}", exc, timeout_s), checks=results) from None
        columns = [d.name for d in cur.description]
        results.append(check_result(check, columns, rows, sample_rows, clock() - started))
    return results


def run_statistics(cur, params: dict, timeout_s: int, schema: dict) -> dict:
    try:
        sql = render(STATISTICS_SQL, schema)
    except Unavailable as exc:
        return {"note": f"not measured: examday_platform.{exc.key} is empty"}
    try:
        cur.execute(sql, params)
        row = cur.fetchone()
    except DB_ERRORS as exc:
        raise OpsError(sql_error_sentence("the summary statistics", exc, timeout_s)) from None
    return json_safe(dict(zip([d.name for d in cur.description], row)))


def utc_iso(value) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


# ------------------------------------------------------------------ the whole run
def verdict(checks: list[dict], reconciliation: dict | None) -> dict:
    failed = [c["name"] for c in checks if c["passed"] is False]
    passed = not failed and (reconciliation is None or reconciliation["passed"])
    return {"passed": passed, "failed_checks": failed}


def summary_message(checks: list[dict], reconciliation: dict | None) -> str:
    failed = [c["name"] for c in checks if c["passed"] is False]
    ran = [c for c in checks if c["passed"] is not None]
    text = f"{len(ran) - len(failed)} of {len(ran)} integrity checks passed"
    if failed:
        text += " (failing: " + ", ".join(failed) + ")"
    skipped = [c["name"] for c in checks if c["passed"] is None]
    if skipped:
        text += f"; not measured: {', '.join(skipped)}"
    if reconciliation is not None:
        if reconciliation["passed"]:
            text += "; reconciliation passed"
        else:
            text += (f"; reconciliation failed (lost {reconciliation['lost']['count']}, mismatched "
                     f"{reconciliation['mismatched']['count']}, stale overwrites "
                     f"{reconciliation['stale_overwrites']['count']}, duplicates {reconciliation['duplicates']['count']})")
    return text + "."


class IntegrityCheck:
    """The module's manager: validate everything, connect, run all in one read-only snapshot."""

    def __init__(self, params: dict, connect, opener=open):
        self.p = params
        self.schema = params["platform"]["schema"]
        self.connect = connect
        self.opener = opener

    def plan(self) -> tuple[list[dict], list[dict], dict, dict | None, dict]:
        p = self.p
        if p["sample_rows"] < 0:
            raise OpsError("sample_rows must be 0 or more.")
        if p["statement_timeout"] < 1:
            raise OpsError("statement_timeout must be at least 1 second.")
        if p["batch_size"] < 1:
            raise OpsError("batch_size must be at least 1.")
        params = query_params(p.get("since"), p.get("until"), p.get("params"), schema_params(self.schema))
        if params["since"] and params["until"] and params["since"] >= params["until"]:
            raise OpsError("since must be earlier than until.")
        checks, unavailable = prepare_checks(merge_checks(p.get("checks"), p["default_checks"]), params, self.schema)
        if p["statistics"]:
            try:
                validate_select("statistics", render(STATISTICS_SQL, self.schema))
            except Unavailable:
                pass
        specs = _rec.prepare(_rec.kind_specs(p["platform"].get("reconcile")), self.schema)
        summary = None
        if p.get("acks"):
            records, ignored = _acks.read(p["acks"], {k: {"key": s["key"], "compare": s["compare"]}
                                                      for k, s in specs.items()}, self.opener)
            summary = _rec.summarize(records)
            summary["ignored"] = ignored
        return checks, unavailable, params, summary, specs

    def run(self) -> dict:
        checks, unavailable, params, summary, specs = self.plan()
        timeout = self.p["statement_timeout"]
        conn = self.connect()
        try:
            try:
                snapshot = begin_snapshot(conn, timeout)
            except DB_ERRORS as exc:
                raise OpsError(sql_error_sentence("opening the read-only snapshot", exc, timeout)) from None
            with conn.cursor() as cur:
                results = run_checks(cur, checks, params, self.p["sample_rows"], timeout) + unavailable
                statistics = run_statistics(cur, params, timeout, self.schema) if self.p["statistics"] else None
                reconciliation = None
                if summary is not None:
                    try:
                        stored = _rec.fetch(cur, specs, summary, self.schema, params, self.p["batch_size"],
                                            params["since"], params["until"])
                    except DB_ERRORS as exc:
                        raise OpsError(sql_error_sentence("the reconciliation", exc, timeout), checks=results) from None
                    reconciliation = _rec.reconcile(specs, summary, stored, self.p["sample_rows"],
                                                    self.p["stale_overwrite_fails"])
        finally:
            try:
                conn.rollback()
            except DB_ERRORS:
                pass                  # a broken connection: the error that broke it is reported
            finally:
                conn.close()
        out = verdict(results, reconciliation)
        result = {"changed": False, "passed": out["passed"], "failed_checks": out["failed_checks"],
                  "checks": results, "snapshot": snapshot,
                  "window": {"since": utc_iso(params["since"]), "until": utc_iso(params["until"])},
                  "msg": summary_message(results, reconciliation)}
        if statistics is not None:
            result["statistics"] = statistics
        if reconciliation is not None:
            result["reconciliation"] = reconciliation
        return json_safe(result)
