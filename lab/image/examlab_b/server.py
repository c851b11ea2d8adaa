"""lab-b's backend container: one container, several worker processes on one listening socket (like
gunicorn's prefork), each with its own database pool and its own exam-lock cache, and the job runner
as a cron-style process inside the same container (`python3 -m examlab_b.cron`); no worker service.

Logs are JSON lines keyed unlike the lab's: @timestamp, severity, msg, rid, http_status, latency_ms."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import psycopg2

from examlab import db, logs
from examlab_b.app import App, Problem, Request
from examlab_b.config import BConfig

PORT = 8000
LOG_KEYS = {"ts": "@timestamp", "level": "severity", "event": "msg", "host": "node"}
LOG_EVENTS = {"slow_sql": "db.slow", "request": "http.access", "db_waiting": "db.waiting",
              "redis_unavailable_fail_open": "cache.fail_open"}
LOG_FIELDS = {"request_id": "rid", "duration_ms": "sql_ms", "statement": "sql", "status_code": "http_status",
              "total_ms": "latency_ms", "method": "verb", "path": "uri"}


def setup_logs() -> None:
    logs.configure(LOG_KEYS, LOG_EVENTS, LOG_FIELDS)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, sock: socket.socket, app: App):
        super().__init__(("0.0.0.0", PORT), Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.app = app


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "assess"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - access logs are JSON
        return

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise Problem(400, "BAD_JSON", "the body is not JSON") from None

    def _dispatch(self):
        app: App = self.server.app  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        rid = self.headers.get("X-Correlation-ID") or uuid.uuid4().hex
        path = urlsplit(self.path).path
        status, body, headers, route, account = 500, None, {}, "unmatched", None
        try:
            try:
                handler, role, route, params = app.route(self.command, path)
                forwarded = (self.headers.get("X-Forwarded-For") or "").split(",")[0].strip()
                req = Request(self.command, path, {k.lower(): v for k, v in self.headers.items()},
                              self._body() if self.command in ("POST", "PUT") else None, rid,
                              forwarded or self.client_address[0], params)
                if role:
                    app.authenticate(req, role)
                    account = req.account["id"]
                status, body = handler(req)
            except Problem as exc:
                status, headers = exc.status, exc.headers
                body = {"error_code": exc.code, "message": exc.message, "correlation_id": rid}
            except db.PoolTimeout:
                status, body = 503, {"error_code": "POOL_EXHAUSTED", "message": "no database connection free",
                                     "correlation_id": rid}
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                logs.emit("error", "db.unreachable", error=str(exc).strip().splitlines()[0][:200], request_id=rid)
                status, body = 503, {"error_code": "STORE_UNAVAILABLE", "message": "the database cannot be reached",
                                     "correlation_id": rid}
            except Exception as exc:  # noqa: BLE001 - answer 500 and log, never crash
                logs.emit("error", "unhandled", error=repr(exc)[:300], request_id=rid,
                          trace=traceback.format_exc(limit=4)[-1500:])
                status, body = 500, {"error_code": "INTERNAL", "message": "internal error", "correlation_id": rid}
            self._respond(status, body, headers, rid)
        finally:
            logs.emit("info", "request", request_id=rid, method=self.command, path=path, route=route,
                      status_code=status, total_ms=round((time.perf_counter() - t0) * 1000, 2), account=account,
                      pid=os.getpid())

    def _respond(self, status, body, headers, rid):
        payload = b"" if body is None else json.dumps(body, default=str).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Correlation-ID", rid)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)


def _exit_now(_signum, _frame) -> None:
    os._exit(0)  # a worker process ends at once; the master waits for it


def serve(sock: socket.socket, cfg: BConfig) -> None:
    """One worker process: its own pool and lock cache, threads per request."""
    server = Server(sock, App(cfg))
    signal.signal(signal.SIGTERM, _exit_now)
    logs.emit("info", "worker.started", pid=os.getpid())
    server.serve_forever(poll_interval=0.2)


def main() -> int:
    setup_logs()
    cfg = BConfig.from_env()
    if not cfg.db_password or not cfg.token_secret:
        print("assess: ASSESS_DB_PASSWORD and ASSESS_TOKEN_SECRET are required", file=sys.stderr)
        return 2
    boot = App(cfg)
    db.wait_for_db(boot.pool)
    with open(os.path.join(os.path.dirname(__file__), "schema.sql"), encoding="utf-8") as fh:
        ddl = fh.read()
    with boot.pool.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (db.SCHEMA_LOCK,))
        cur.execute(ddl)
    del boot
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", PORT))
    sock.listen(1024)
    children: dict[int, str] = {}

    def spawn_worker() -> None:
        pid = os.fork()
        if pid == 0:
            try:
                serve(sock, cfg)
            finally:
                os._exit(0)
        children[pid] = "web"

    def spawn_cron() -> None:
        proc = subprocess.Popen([sys.executable, "-m", "examlab_b.cron"])
        children[proc.pid] = "cron"

    stopping = {"now": False}

    def stop(signum, _frame):
        stopping["now"] = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _worker in range(cfg.processes):
        spawn_worker()
    spawn_cron()
    logs.emit("info", "api.started", port=PORT, processes=cfg.processes, pool=cfg.db_pool_size,
              overflow=cfg.db_max_overflow, exam_lock_env=cfg.exam_lock_env,
              defects=[n for n in ("defect_lost_response", "defect_racy_finish") if getattr(cfg, n)])
    while children:
        try:
            pid, _status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        kind = children.pop(pid, None)
        if stopping["now"] or kind is None:
            continue
        logs.emit("error", "child.exited", pid=pid, kind=kind)
        time.sleep(0.5)
        spawn_worker() if kind == "web" else spawn_cron()
    logs.emit("info", "api.stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
