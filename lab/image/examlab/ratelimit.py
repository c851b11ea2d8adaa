"""Redis-backed fixed-window rate limits that fail open, as on the real platform.

When Redis is unreachable every limit is bypassed (login, create, answer and submit keep working)
and a warning is logged; a short circuit breaker keeps a dead Redis from adding its connect
timeout to every request."""
from __future__ import annotations

import threading
import time

import redis

from . import logs


class RedisGate:
    def __init__(self, cfg, breaker_seconds: float = 1.0):
        self.client = redis.Redis(
            host=cfg.redis_host, port=cfg.redis_port, socket_connect_timeout=0.3, socket_timeout=0.3,
            retry_on_timeout=False,
        )
        self.breaker_seconds = breaker_seconds
        self._open_until = 0.0
        self._lock = threading.Lock()
        self.fail_open_total = 0

    def available(self) -> bool:
        return time.monotonic() >= self._open_until

    def _trip(self, exc: Exception, what: str, request_id: str | None) -> None:
        with self._lock:
            self._open_until = time.monotonic() + self.breaker_seconds
            self.fail_open_total += 1
        logs.emit("warning", "redis_unavailable_fail_open", what=what, error=type(exc).__name__,
                  request_id=request_id)

    def ping(self, request_id: str | None = None) -> bool:
        if not self.available():
            return False
        try:
            return bool(self.client.ping())
        except redis.RedisError as exc:
            self._trip(exc, "ping", request_id)
            return False

    def allow(self, bucket: str, subject: str, limit: int, window: int = 60,
              request_id: str | None = None) -> tuple[bool, int]:
        """(allowed, retry_after_seconds). Fails open when Redis is unavailable."""
        if limit <= 0 or not self.available():
            return True, 0
        window_no = int(time.time() // window)
        key = f"rl:{bucket}:{subject}:{window_no}"
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, window + 1)
            count = pipe.execute()[0]
        except redis.RedisError as exc:
            self._trip(exc, f"rate_limit:{bucket}", request_id)
            return True, 0
        if count > limit:
            return False, window - int(time.time()) % window
        return True, 0
