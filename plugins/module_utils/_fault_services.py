# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Database and Redis faults, held by the module for their duration and bounded server-side, so
that a dead controller cannot leave them behind: the lock holder runs pg_sleep(duration) under a
statement_timeout; occupied connections carry idle_session_timeout; CLIENT PAUSE has its own
timeout. Identifiers through psycopg.sql, values as parameters."""
from __future__ import annotations

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._fault_manager import connections_to_occupy

APP_NAME = "examday.fault"


def _bounded(seconds: float) -> str:
    ms = int(seconds * 1000)
    return f"-c statement_timeout={ms} -c idle_in_transaction_session_timeout={ms} -c idle_session_timeout={ms} -c lock_timeout=5000"


def db_fault(connect, fault: str, params: dict, duration: float, grace: float, sleep) -> dict:
    """connect(application_name, options) -> psycopg connection (autocommit off)."""
    from psycopg import sql, errors  # pylint: disable=import-outside-toplevel
    bound = duration + grace
    if fault == "db_terminate":
        terminated, names, rounds = 0, set(), 0
        with connect(APP_NAME, None) as conn:
            conn.autocommit = True
            elapsed = 0.0
            while True:  # at once, then every params.every s for the duration (bounded)
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid), application_name FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                    "AND application_name !~ '^examday' AND application_name ~ %s", (params["application_name"],)).fetchall()
                rounds += 1
                terminated += sum(1 for r in rows if r[0])
                names |= {r[1] for r in rows}
                if elapsed + params["every"] > duration:
                    break
                sleep(params["every"])
                elapsed += params["every"]
        return {"terminated": terminated, "rounds": rounds, "application_names": sorted(names)}
    if fault == "db_lock":
        schema, _dot, table = params["table"].rpartition(".")
        ident = sql.Identifier(schema, table) if schema else sql.Identifier(table)
        conn = connect(APP_NAME, _bounded(bound))
        try:
            try:
                conn.execute(sql.SQL("LOCK TABLE {} IN {} MODE").format(ident, sql.SQL(params["mode"])))
            except errors.UndefinedTable:
                raise OpsError(f"table {params['table']} does not exist, so it cannot be locked.") from None
            except errors.LockNotAvailable:
                raise OpsError(f"table {params['table']} could not be locked within 5 s (someone else holds a lock).") from None
            conn.execute("SELECT pg_sleep(%s)", (float(duration),))
        finally:
            conn.rollback()
            conn.close()
        return {"locked": params["table"], "mode": params["mode"], "held_s": duration}
    if fault == "db_connections":
        with connect(APP_NAME, None) as conn:
            max_c, reserved, current, version = conn.execute(
                "SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int, "
                "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), "
                "current_setting('server_version_num')::int").fetchone()
        if version < 140000:
            raise OpsError("fault db_connections needs PostgreSQL 14 or later (idle_session_timeout bounds it server-side).")
        count = connections_to_occupy(params["connections_pct"], max_c, reserved, current)
        held = []
        try:
            for _i in range(count):
                held.append(connect(APP_NAME, _bounded(bound)))
            for c in held:
                c.commit()
            sleep(duration)
        finally:
            for c in held:
                c.close()
        return {"occupied": len(held), "max_connections": max_c, "in_use_before": current,
                "in_use_pct_during": round(100.0 * (current + len(held)) / max_c, 1)}
    raise OpsError(f"unknown database fault {fault}.")


def redis_fault(client, fault: str, params: dict, duration: float, sleep) -> dict:
    """client: a redis.Redis. CLIENT PAUSE ends by itself after its timeout; UNPAUSE ends it on time."""
    if fault != "redis_pause":
        raise OpsError(f"unknown Redis fault {fault}.")
    client.execute_command("CLIENT", "PAUSE", int(duration * 1000), params["mode"])
    try:
        sleep(duration)
    finally:
        try:
            client.execute_command("CLIENT", "UNPAUSE")
        except Exception:  # pylint: disable=broad-exception-caught
            pass  # Redis < 6.2 has no UNPAUSE; the pause ends by its own timeout, which is now
    return {"paused_ms": int(duration * 1000), "mode": params["mode"]}
