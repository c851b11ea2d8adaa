"""PostgreSQL access for the lab: a bounded pool (pool_size + max_overflow, like SQLAlchemy's
QueuePool), timed statements that log slow SQL, and migrations."""
from __future__ import annotations

import contextlib
import os
import threading
import time

import psycopg2
import psycopg2.extras

from . import logs

psycopg2.extras.register_uuid()
SCHEMA_LOCK = 874_201  # advisory lock id that serialises migrations between replicas


class PoolTimeout(Exception):
    """No connection became free within the pool timeout."""


class Pool:
    def __init__(self, cfg, application_name: str):
        self.cfg = cfg
        self.application_name = application_name
        self.size = cfg.db_pool_size
        self.max_overflow = cfg.db_max_overflow
        self._slots = threading.BoundedSemaphore(self.size + self.max_overflow)
        self._idle: list = []
        self._lock = threading.Lock()
        self.in_use = 0
        self.peak_in_use = 0

    def _connect(self):
        c = self.cfg
        return psycopg2.connect(
            host=c.db_host, port=c.db_port, dbname=c.db_name, user=c.db_user, password=c.db_password,
            application_name=self.application_name, connect_timeout=3,
        )

    def _checkout(self):
        with self._lock:
            self.in_use += 1
            self.peak_in_use = max(self.peak_in_use, self.in_use)
            conn = self._idle.pop() if self._idle else None
        if conn is not None and not conn.closed and not self._alive(conn):
            conn.close()  # terminated server-side (restart, failover, pg_terminate_backend)
        if conn is None or conn.closed:
            try:
                conn = self._connect()
            except Exception:
                self._checkin(None)
                raise
        return conn

    @staticmethod
    def _alive(conn) -> bool:
        """Pre-ping of a pooled connection before reuse (as SQLAlchemy's pool_pre_ping=True)."""
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            conn.rollback()
            return True
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            return False

    def _checkin(self, conn) -> None:
        with self._lock:
            self.in_use -= 1
            if conn is not None and not conn.closed and len(self._idle) < self.size:
                self._idle.append(conn)
                conn = None
        if conn is not None and not conn.closed:
            conn.close()
        self._slots.release()

    @contextlib.contextmanager
    def connection(self, timeout: float | None = None):
        if not self._slots.acquire(timeout=self.cfg.db_pool_timeout if timeout is None else timeout):
            raise PoolTimeout("database pool exhausted")
        conn = self._checkout()
        keep = True
        try:
            yield conn
            if conn.status != psycopg2.extensions.STATUS_READY:
                conn.rollback()
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            keep = False
            raise
        except Exception:
            try:
                conn.rollback()
            except psycopg2.Error:
                keep = False
            raise
        finally:
            if not keep:
                conn.close()
            self._checkin(conn)

    @contextlib.contextmanager
    def transaction(self, timeout: float | None = None):
        """A cursor in one transaction: committed on success, rolled back on any error."""
        with self.connection(timeout) as conn:
            cur = conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
            try:
                yield cur
                conn.commit()
            except BaseException:
                if not conn.closed:
                    conn.rollback()
                raise
            finally:
                cur.close()


def execute(cur, sql: str, params=None, cfg=None, request_id: str | None = None):
    """Runs one statement and logs it as slow_sql when it took longer than the thresholds."""
    t0 = time.perf_counter()
    cur.execute(sql, params)
    ms = (time.perf_counter() - t0) * 1000
    if cfg is not None and ms >= cfg.slow_sql_warn_ms:
        logs.emit(
            "error" if ms >= cfg.slow_sql_error_ms else "warning", "slow_sql",
            duration_ms=round(ms, 1), statement=" ".join(sql.split())[:200], request_id=request_id,
        )
    return cur


def migrate(pool: Pool) -> None:
    with open(os.path.join(os.path.dirname(__file__), "schema.sql"), encoding="utf-8") as fh:
        ddl = fh.read()
    with pool.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        cur.execute(ddl)


def wait_for_db(pool: Pool, deadline_s: float = 120.0) -> None:
    end = time.monotonic() + deadline_s
    while True:
        try:
            with pool.transaction(timeout=5) as cur:
                cur.execute("SELECT 1")
            return
        except (psycopg2.OperationalError, PoolTimeout) as exc:
            if time.monotonic() > end:
                raise
            logs.emit("warning", "db_waiting", error=str(exc).strip().splitlines()[0][:200])
            time.sleep(1)
