"""The lab backend process: a threaded HTTP/1.1 server around api.App, JSON access logs,
graceful drain on SIGTERM (in-flight requests finish, like uvicorn's shutdown)."""
from __future__ import annotations

import json
import signal
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import psycopg2

from . import db, logs, validation
from .api import App, Request
from .config import Config
from .validation import ApiError

PORT = 8000


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address, app: App):
        super().__init__(address, Handler)
        self.app = app
        self.active = 0
        self.active_lock = threading.Lock()
        self.draining = False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "examlab"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - access logs are JSON, written below
        return

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(422, "VALIDATION_ERROR", "request body is not valid JSON") from None

    def _dispatch(self):
        server: Server = self.server  # type: ignore[assignment]
        app = server.app
        with server.active_lock:
            server.active += 1
        t0 = time.perf_counter()
        request_id = self.headers.get("X-Request-ID") or uuid.uuid4().hex
        url = urlsplit(self.path)
        route_name = "unmatched"
        req = None
        headers: dict = {}
        status = 500
        try:
            try:
                handler, need, route_name, params = app.route(self.command, url.path)
                req = Request(
                    method=self.command, path=url.path, request_id=request_id, params=params,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self._read_body() if self.command == "POST" else None,
                    query=dict(parse_qsl(url.query)),
                    client_ip=validation.client_ip(self.client_address[0], self.headers.get("X-Forwarded-For"),
                                                   app.cfg.trust_forwarded_for),
                )
                if need:
                    app.authenticate(req, need)
                status, body = handler(req)
            except ApiError as exc:
                status, body, headers = exc.status, {**exc.body(), "request_id": request_id}, exc.headers
            except db.PoolTimeout:
                status, body = 503, {"code": "DB_POOL_EXHAUSTED", "detail": "database pool exhausted",
                                     "request_id": request_id}
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                logs.emit("error", "db_unavailable", error=str(exc).strip().splitlines()[0][:200],
                          request_id=request_id)
                status, body = 503, {"code": "DB_UNAVAILABLE", "detail": "database unavailable",
                                     "request_id": request_id}
            except Exception as exc:  # the platform answers 500 and logs, it does not crash
                logs.emit("error", "unhandled_exception", error=repr(exc)[:300], request_id=request_id,
                          trace=traceback.format_exc(limit=4)[-1500:])
                status, body = 500, {"code": "INTERNAL_ERROR", "detail": "internal error", "request_id": request_id}
            self._respond(status, body, headers, request_id, server.draining)
        finally:
            total_ms = (time.perf_counter() - t0) * 1000
            cfg = app.cfg
            level = "info"
            if total_ms >= cfg.slow_request_error_ms:
                level = "error"
            elif total_ms >= cfg.slow_request_warn_ms:
                level = "warning"
            logs.emit(level, "request", request_id=request_id, method=self.command, path=url.path,
                      route=route_name, status_code=status, total_ms=round(total_ms, 2),
                      user_id=(req.user or {}).get("id") if req else None,
                      client_ip=req.client_ip if req else self.client_address[0])
            app.metrics.observe(self.command, route_name, status, total_ms / 1000)
            with server.active_lock:
                server.active -= 1

    def _respond(self, status, body, headers, request_id, closing):
        if isinstance(body, str):
            payload, ctype = body.encode(), "text/plain; version=0.0.4"
        else:
            payload, ctype = json.dumps(body, default=str).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Request-ID", request_id)
        for k, v in headers.items():
            self.send_header(k, v)
        if closing:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)


def main() -> int:
    cfg = Config.from_env()
    missing = [n for n, v in (("DB_PASSWORD", cfg.db_password), ("JWT_SECRET", cfg.jwt_secret)) if not v]
    if missing:
        print(f"examlab: missing required setting(s): {', '.join(missing)}", file=sys.stderr)
        return 2
    app = App(cfg)
    db.wait_for_db(app.pool)
    db.migrate(app.pool)
    server = Server(("0.0.0.0", PORT), app)

    def drain(signum, frame):
        if server.draining:
            return
        server.draining = True
        logs.emit("warning", "shutdown_requested", signal=signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, drain)
    signal.signal(signal.SIGINT, drain)
    logs.emit("info", "backend_started", port=PORT, pool_size=cfg.db_pool_size, max_overflow=cfg.db_max_overflow,
              flag_cache_seconds=cfg.flag_cache_seconds, exam_mode_env=cfg.exam_mode_env,
              defects=[n for n in ("defect_nonidempotent_submit", "defect_answers_lost_without_redis",
                                   "defect_unordered_writes", "defect_slow_answers", "defect_ready_lies")
                       if getattr(cfg, n)])
    server.serve_forever(poll_interval=0.2)
    deadline = time.monotonic() + 10
    while server.active and time.monotonic() < deadline:
        time.sleep(0.05)
    logs.emit("info", "backend_stopped", in_flight_left=server.active)
    return 0


if __name__ == "__main__":
    sys.exit(main())
