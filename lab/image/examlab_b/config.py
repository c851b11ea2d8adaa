"""lab-b's settings from the environment (names of its own: it is another platform)."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from examlab.config import env_bool, env_float, env_int


@dataclass(frozen=True)
class BConfig:
    # examlab.db.Pool and examlab.db.execute read these names.
    db_host: str = "db"
    db_port: int = 5432
    db_name: str = "assess"
    db_user: str = "assess_app"
    db_password: str = field(default="", repr=False)
    db_pool_size: int = 4
    db_max_overflow: int = 2
    db_pool_timeout: float = 10.0
    slow_sql_warn_ms: float = 100.0
    slow_sql_error_ms: float = 300.0
    redis_host: str = "cache"
    redis_port: int = 6379
    # lab-b's own.
    token_secret: str = field(default="", repr=False)
    token_ttl: int = 600
    renew_ttl: int = 24 * 3600
    exam_lock_env: bool = False
    lock_cache_seconds: float = 5.0
    processes: int = 3
    cron_every: float = 4.0
    login_per_minute: int = 30
    password_iterations: int = 10000
    # Opt-in defects, off by default.
    defect_lost_response: bool = False   # one response in 12 acknowledged and not stored
    defect_racy_finish: bool = False     # finish without its row lock: a double finish finishes twice
    lost_response_every: int = 12
    host: str = field(default_factory=socket.gethostname)

    @classmethod
    def from_env(cls, environ=None) -> "BConfig":
        e = os.environ if environ is None else environ
        return cls(
            db_host=e.get("ASSESS_DB_HOST", "db"),
            db_port=env_int("ASSESS_DB_PORT", 5432, e),
            db_name=e.get("ASSESS_DB_NAME", "assess"),
            db_user=e.get("ASSESS_DB_USER", "assess_app"),
            db_password=e.get("ASSESS_DB_PASSWORD", ""),
            db_pool_size=env_int("ASSESS_POOL_SIZE", 4, e),
            db_max_overflow=env_int("ASSESS_POOL_OVERFLOW", 2, e),
            redis_host=e.get("ASSESS_CACHE_HOST", "cache"),
            token_secret=e.get("ASSESS_TOKEN_SECRET", ""),
            exam_lock_env=env_bool("EXAM_LOCK", False, e),
            lock_cache_seconds=env_float("ASSESS_LOCK_CACHE_SECONDS", 5.0, e),
            processes=env_int("WEB_CONCURRENCY", 3, e),
            cron_every=env_float("ASSESS_CRON_EVERY_SECONDS", 4.0, e),
            login_per_minute=env_int("ASSESS_LOGIN_PER_MINUTE", 30, e),
            defect_lost_response=env_bool("LABB_DEFECT_LOST_RESPONSE", False, e),
            defect_racy_finish=env_bool("LABB_DEFECT_RACY_FINISH", False, e),
        )
