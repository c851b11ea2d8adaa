"""Settings from the environment. Defaults are the real platform's values (PLATFORM.md)."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field


def env_bool(name: str, default: bool = False, environ=None) -> bool:
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().strip('"').strip("'").lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int, environ=None) -> int:
    environ = os.environ if environ is None else environ
    raw = environ.get(name, "").strip().strip('"')
    return int(raw) if raw else default


def env_float(name: str, default: float, environ=None) -> float:
    environ = os.environ if environ is None else environ
    raw = environ.get(name, "").strip().strip('"')
    return float(raw) if raw else default


@dataclass(frozen=True)
class Config:
    db_host: str = "postgres"
    db_port: int = 5432
    db_name: str = "exam_platform"
    db_user: str = "exam_user"
    db_password: str = field(default="", repr=False)
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_pool_timeout: float = 30.0
    redis_host: str = "redis"
    redis_port: int = 6379
    jwt_secret: str = field(default="", repr=False)
    access_token_ttl: int = 900
    refresh_token_ttl: int = 7 * 24 * 3600
    exam_mode_env: bool = False
    flag_cache_seconds: float = 10.0
    login_per_ip: int = 5
    login_per_email: int = 10
    refresh_per_ip: int = 30
    session_create_per_user: int = 10
    submit_per_user: int = 10
    trust_forwarded_for: bool = True
    slow_sql_warn_ms: float = 100.0
    slow_sql_error_ms: float = 300.0
    slow_request_warn_ms: float = 500.0
    slow_request_error_ms: float = 1500.0
    worker_interval: float = 5.0
    password_iterations: int = 10000
    # Opt-in defects, off by default: each makes one rehearsal gate fail on purpose.
    defect_nonidempotent_submit: bool = False
    defect_answers_lost_without_redis: bool = False
    defect_worker_ignores_exam_mode: bool = False
    defect_unordered_writes: bool = False
    defect_slow_answers: bool = False
    defect_ready_lies: bool = False
    slow_answer_every: int = 40
    slow_answer_seconds: float = 12.0
    replica: str = field(default_factory=socket.gethostname)

    @classmethod
    def from_env(cls, environ=None) -> "Config":
        e = os.environ if environ is None else environ
        return cls(
            db_host=e.get("DB_HOST", "postgres"),
            db_port=env_int("DB_PORT", 5432, e),
            db_name=e.get("DB_NAME", "exam_platform"),
            db_user=e.get("DB_USER", "exam_user"),
            db_password=e.get("DB_PASSWORD", ""),
            db_pool_size=env_int("DB_POOL_SIZE", 10, e),
            db_max_overflow=env_int("DB_MAX_OVERFLOW", 10, e),
            db_pool_timeout=env_float("DB_POOL_TIMEOUT", 30.0, e),
            redis_host=e.get("REDIS_HOST", "redis"),
            redis_port=env_int("REDIS_PORT", 6379, e),
            jwt_secret=e.get("JWT_SECRET", ""),
            access_token_ttl=env_int("ACCESS_TOKEN_TTL_SECONDS", 900, e),
            refresh_token_ttl=env_int("REFRESH_TOKEN_TTL_SECONDS", 7 * 24 * 3600, e),
            exam_mode_env=env_bool("EXAM_MODE", False, e),
            flag_cache_seconds=env_float("FLAG_CACHE_SECONDS", 10.0, e),
            login_per_ip=env_int("RATE_LIMIT_LOGIN_PER_IP", 5, e),
            login_per_email=env_int("RATE_LIMIT_LOGIN_PER_EMAIL", 10, e),
            refresh_per_ip=env_int("RATE_LIMIT_REFRESH_PER_IP", 30, e),
            session_create_per_user=env_int("RATE_LIMIT_SESSION_CREATE_PER_USER", 10, e),
            submit_per_user=env_int("RATE_LIMIT_SUBMIT_PER_USER", 10, e),
            trust_forwarded_for=env_bool("TRUST_FORWARDED_FOR", True, e),
            worker_interval=env_float("WORKER_INTERVAL_SECONDS", 5.0, e),
            password_iterations=env_int("PASSWORD_ITERATIONS", 10000, e),
            defect_nonidempotent_submit=env_bool("LAB_DEFECT_NONIDEMPOTENT_SUBMIT", False, e),
            defect_answers_lost_without_redis=env_bool("LAB_DEFECT_ANSWERS_LOST_WITHOUT_REDIS", False, e),
            defect_worker_ignores_exam_mode=env_bool("LAB_DEFECT_WORKER_IGNORES_EXAM_MODE", False, e),
            defect_unordered_writes=env_bool("LAB_DEFECT_UNORDERED_WRITES", False, e),
            defect_slow_answers=env_bool("LAB_DEFECT_SLOW_ANSWERS", False, e),
            defect_ready_lies=env_bool("LAB_DEFECT_READY_LIES", False, e),
            slow_answer_every=env_int("LAB_SLOW_ANSWER_EVERY", 40, e),
            slow_answer_seconds=env_float("LAB_SLOW_ANSWER_SECONDS", 12.0, e),
        )
