# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A client of the exam platform API (PLATFORM.md). Paths are data, so any platform shaped like
it can be driven; the transport is injected, so the logic is testable with recorded responses."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

DEFAULT_PATHS = {
    "health": "/health",
    "ready": "/v1/ready",
    "login": "/v1/auth/login",
    "refresh": "/v1/auth/refresh",
    "logout": "/v1/auth/logout",
    "sessions": "/v1/sessions",
    "session": "/v1/sessions/{session_id}",
    "answer": "/v1/sessions/{session_id}/answer",
    "submit": "/v1/sessions/{session_id}/submit",
    "exam_mode": "/v1/admin/system/exam-mode",
}

# (status, headers, body bytes) = transport(method, url, headers, data, timeout)
Transport = Callable[[str, str, dict, "bytes | None", float], "tuple[int, dict, bytes]"]


def json_request(body: Any, token: str | None) -> tuple[dict, bytes | None]:
    """Headers and body of a JSON API request (bearer token when given)."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers, data


class PlatformUnreachable(Exception):
    """The platform did not answer at all (connection refused, DNS, timeout)."""


def api_argument_spec() -> dict:
    """Options shared by every module that talks to the platform API (doc fragment platform_api)."""
    return {
        "api_url": {"type": "str", "required": True},
        "api_paths": {"type": "dict", "default": {}},
        "timeout": {"type": "float", "default": 10.0},
        "validate_certs": {"type": "bool", "default": True},
    }


@dataclass
class ApiResponse:
    name: str
    method: str
    status: int
    body: Any
    elapsed_ms: float
    request_id: str | None = None
    headers: dict = field(default_factory=dict)

    def ok(self, *codes: int) -> bool:
        return self.status in (codes or (200,))

    def evidence(self) -> dict:
        """What a report may show: never tokens or passwords."""
        return {"step": self.name, "method": self.method, "status": self.status,
                "ms": round(self.elapsed_ms, 1), "request_id": self.request_id,
                "code": self.body.get("code") if isinstance(self.body, dict) else None}


class PlatformClient:
    def __init__(self, base_url: str, transport: Transport, timeout: float = 10.0, paths: dict | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        self.base_url = base_url.rstrip("/")
        self.transport = transport
        self.timeout = timeout
        self.paths = {**DEFAULT_PATHS, **(paths or {})}
        self.clock = clock
        unknown = set(paths or {}) - set(DEFAULT_PATHS)
        if unknown:
            raise ValueError(f"unknown api_paths key(s) {sorted(unknown)}; known: {sorted(DEFAULT_PATHS)}")

    def url(self, name: str, **params) -> str:
        return self.base_url + self.paths[name].format(**params)

    def call(self, name: str, method: str = "GET", body: Any = None, token: str | None = None,
             headers: dict | None = None, **params) -> ApiResponse:
        hdrs, data = json_request(body, token)
        hdrs.update(headers or {})
        t0 = self.clock()
        status, rheaders, raw = self.transport(method, self.url(name, **params), hdrs, data, self.timeout)
        elapsed = (self.clock() - t0) * 1000
        lower = {k.lower(): v for k, v in (rheaders or {}).items()}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")[:500]
        rid = lower.get("x-request-id") or (parsed.get("request_id") if isinstance(parsed, dict) else None)
        return ApiResponse(name, method, status, parsed, elapsed, rid, lower)

    # Convenience calls of the PLATFORM.md API.
    def health(self) -> ApiResponse:
        return self.call("health")

    def ready(self) -> ApiResponse:
        return self.call("ready")

    def login(self, email: str, password: str) -> ApiResponse:
        return self.call("login", "POST", {"email": email, "password": password})

    def login_patiently(self, email: str, password: str, max_wait: float = 65.0,
                        sleep: Callable[[float], None] = time.sleep) -> ApiResponse:
        """Logs in, waiting out the platform's login rate limit (429 + Retry-After) for at most
        max_wait seconds in all, as an operator would, instead of failing an exam-day step."""
        waited = 0.0
        while True:
            resp = self.login(email, password)
            if resp.status != 429 or waited >= max_wait:
                return resp
            try:
                pause = float(resp.headers.get("retry-after", "5"))
            except ValueError:
                pause = 5.0
            pause = max(0.5, min(pause, max_wait - waited))
            sleep(pause)
            waited += pause

    def refresh(self, refresh_token: str) -> ApiResponse:
        return self.call("refresh", "POST", {"refresh_token": refresh_token})

    def logout(self, refresh_token: str) -> ApiResponse:
        return self.call("logout", "POST", {"refresh_token": refresh_token})

    def create_session(self, token: str, spec: dict) -> ApiResponse:
        return self.call("sessions", "POST", spec, token)

    def read_session(self, token: str, session_id: str) -> ApiResponse:
        return self.call("session", "GET", None, token, session_id=session_id)

    def answer(self, token: str, session_id: str, question_id: int, selected_index: int | None,
               marked_for_review: bool | None = None) -> ApiResponse:
        body: dict = {"question_id": question_id, "selected_index": selected_index}
        if marked_for_review is not None:
            body["marked_for_review"] = marked_for_review
        return self.call("answer", "POST", body, token, session_id=session_id)

    def submit(self, token: str, session_id: str, idempotency_key: str | None = None) -> ApiResponse:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self.call("submit", "POST", None, token, headers, session_id=session_id)


HEALTHY_WORDS = ("ok", "up", "healthy")


def body_says_ok(body) -> bool:
    """A health or readiness body whose status says healthy (the code alone proves nothing)."""
    return isinstance(body, dict) and str(body.get("status", "")).lower() in HEALTHY_WORDS


def ready_verdict(resp: ApiResponse) -> tuple[bool, str]:
    """Readiness by body, not by code: the real platform answers 200 with status "down"."""
    body = resp.body if isinstance(resp.body, dict) else {}
    status = body.get("status")
    checks = body.get("checks") or {}
    bad = sorted(k for k, v in checks.items() if str(v).lower() not in HEALTHY_WORDS + ("true",))
    if resp.status != 200:
        return False, f"HTTP {resp.status}"
    if not body_says_ok(body) or bad:
        return False, f"status {status!r}" + (f", failing: {', '.join(bad)}" if bad else "")
    return True, "ok"


def urllib_transport(validate_certs: bool = True) -> Transport:
    """A transport on ansible's open_url (no third-party library needed on the target)."""
    from ansible.module_utils.urls import open_url  # imported here: unit tests run without it
    from urllib.error import HTTPError, URLError
    import socket

    def send(method: str, url: str, headers: dict, data, timeout: float):
        try:
            resp = open_url(url, data=data, headers=headers, method=method, timeout=timeout,
                            validate_certs=validate_certs, follow_redirects="none")
            return resp.status, dict(resp.headers), resp.read()
        except HTTPError as exc:
            return exc.code, dict(exc.headers or {}), exc.read() if exc.fp else b""
        except (URLError, socket.timeout, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PlatformUnreachable(f"cannot reach {url}: {reason}") from exc

    return send
