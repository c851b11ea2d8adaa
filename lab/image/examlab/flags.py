"""System flags (EXAM_MODE, FREEZE_UPDATES, NEW_SESSIONS_CLOSED) with the per-process cache the real
platform has. NEW_SESSIONS_CLOSED is the lab's own: the real platform has no switch that stops new
sessions, the lab has one so the rollback guard can be proven on it.

EXAM_MODE comes from the system_flags row when it exists; without a row, the EXAM_MODE
environment variable read at start is the default (the lab's "env" mechanism)."""
from __future__ import annotations

import threading
import time

EXAM_MODE = "EXAM_MODE"
FREEZE_UPDATES = "FREEZE_UPDATES"
NEW_SESSIONS_CLOSED = "NEW_SESSIONS_CLOSED"


def truthy(value) -> bool:
    if isinstance(value, dict):
        value = value.get("enabled")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class FlagCache:
    def __init__(self, cfg, loader, clock=time.monotonic):
        """loader() returns {key: value} of all system_flags rows."""
        self.cfg = cfg
        self.loader = loader
        self.clock = clock
        self._rows: dict = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def _fresh_rows(self) -> dict:
        with self._lock:
            if self.clock() - self._loaded_at >= self.cfg.flag_cache_seconds:
                try:
                    self._rows = self.loader()
                    self._loaded_at = self.clock()
                except Exception:  # database trouble: keep the last known flags
                    pass
            return self._rows

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")

    def exam_mode(self) -> tuple[bool, str]:
        """(active, source) where source is 'flag' or 'env'."""
        rows = self._fresh_rows()
        if EXAM_MODE in rows:
            return truthy(rows[EXAM_MODE]), "flag"
        return self.cfg.exam_mode_env, "env"

    def freeze_updates(self) -> bool:
        return truthy(self._fresh_rows().get(FREEZE_UPDATES, False))

    def new_sessions_closed(self) -> bool:
        return truthy(self._fresh_rows().get(NEW_SESSIONS_CLOSED, False))


def load_flags(pool) -> dict:
    with pool.transaction(timeout=2) as cur:
        cur.execute("SELECT key, value FROM system_flags")
        return {row["key"]: row["value"] for row in cur.fetchall()}
