# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A client of the platform's API driven by the profile: each call's method, path, body template
and the paths of the values read back are profile data, so any platform can be driven without
code. The transport is injected, so the logic is testable with recorded responses."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.examday.ops.plugins.module_utils._platform import probes
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import (
    auth_headers, call_path, error_code, error_message, fill, read, relative_path)

# (status, headers, body bytes) = transport(method, url, headers, data, timeout)
Transport = Callable[[str, str, dict, "bytes | None", float], "tuple[int, dict, bytes]"]

_NO_BODY = object()


class PlatformUnreachable(Exception):
    """The platform did not answer at all (connection refused, DNS, timeout)."""


def json_request(body: Any, token: str | None, profile: dict | None = None) -> tuple[dict, bytes | None]:
    """Headers and body of a JSON API request (the profile's auth header when a token is given)."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers.update(auth_headers(profile, token) if profile else {"Authorization": f"Bearer {token}"})
    return headers, data


def api_argument_spec() -> dict:
    """Options shared by every module that talks to the platform API (doc fragment platform_api)."""
    return {
        "api_url": {"type": "str", "required": True},
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
    code: str | None = None
    message: str | None = None
    sent_at: float = 0.0

    def ok(self, *codes: int) -> bool:
        return self.status in (codes or (200,))

    def evidence(self) -> dict:
        """What a report may show: never tokens or passwords."""
        return {"step": self.name, "method": self.method, "status": self.status,
                "ms": round(self.elapsed_ms, 1), "request_id": self.request_id, "code": self.code}

    def describe(self) -> str:
        """'HTTP 423 EXAM_MODE_ACTIVE (message)' for sentences."""
        text = f"HTTP {self.status}" + (f" {self.code}" if self.code else "")
        return text + (f" ({self.message})" if self.message and self.message != self.code else "")


class PlatformClient:
    def __init__(self, base_url: str, transport: Transport, profile: dict, timeout: float = 10.0,
                 clock: Callable[[], float] = time.perf_counter, wall: Callable[[], float] = time.time):
        self.base_url = base_url.rstrip("/")
        self.transport = transport
        self.profile = profile
        self.timeout = timeout
        self.clock = clock
        self.wall = wall
        self._version = 0

    def calls(self) -> dict:
        return self.profile["api"]["calls"]

    def has(self, name: str) -> bool:
        return bool(self.calls()[name]["path"])

    def url(self, name: str, values: dict | None = None) -> str:
        return self.base_url + call_path(self.profile, name, values)

    def send(self, name: str, method: str, url: str, body: Any = None, token: str | None = None,
             headers: dict | None = None) -> ApiResponse:
        """One request; a request id of ours goes in the profile's request-id header, so the
        platform's logs can be searched for it."""
        hdrs, data = json_request(body, token, self.profile)
        rid = uuid.uuid4().hex
        hdrs[self.profile["api"]["request_id_header"]] = rid
        hdrs.update(headers or {})
        sent = self.wall()
        t0 = self.clock()
        status, rheaders, raw = self.transport(method, url, hdrs, data, self.timeout)
        elapsed = (self.clock() - t0) * 1000
        lower = {k.lower(): v for k, v in (rheaders or {}).items()}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")[:500]
        rid = lower.get(self.profile["api"]["request_id_header"].lower()) or rid
        return ApiResponse(name, method, status, parsed, elapsed, rid, lower, error_code(self.profile, parsed),
                           error_message(self.profile, parsed), sent)

    def call(self, name: str, values: dict | None = None, token: str | None = None, headers: dict | None = None,
             body: Any = _NO_BODY) -> ApiResponse:
        """A call of the profile: its path and body template filled with values."""
        call = self.calls()[name]
        values = values or {}
        if body is _NO_BODY:
            body = None if call["body"] is None else fill(call["body"], values, f"examday_platform.api.calls.{name}.body")
        extra = {k: str(fill(v, values, f"examday_platform.api.calls.{name}.headers")) for k, v in call["headers"].items()}
        extra.update(headers or {})
        return self.send(name, call["method"], self.url(name, values), body, token, extra)

    def value(self, name: str, key: str, resp: ApiResponse, default=None):
        """A value the profile reads from this call's answer."""
        return read(self.calls()[name], key, resp.body, default)

    def ok(self, name: str, resp: ApiResponse) -> bool:
        return resp.status in self.calls()[name]["ok"]

    def path_call(self, name: str, method: str, path: str, token: str | None = None, body: Any = None) -> ApiResponse:
        """A request to a path given elsewhere in the profile (the EXAM_MODE probe)."""
        return self.send(name, method, self.base_url + relative_path(self.profile, path), body, token)

    # ------------------------------------------------------------------ probes
    def health(self) -> ApiResponse:
        return self.call("health")

    def ready(self) -> ApiResponse:
        return self.call("ready")

    def judge(self, kind: str, resp: ApiResponse | None) -> tuple[bool, str]:
        """(ok, detail) of a health ('health') or readiness ('readiness') answer by the profile's rule."""
        if resp is None:
            return False, "no answer"
        return probes.verdict(self.profile[kind], resp.status, resp.body)

    # ------------------------------------------------------------------ student calls
    def login(self, email: str, password: str) -> ApiResponse:
        return self.call("login", {"email": email, "password": password})

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

    def tokens(self, name: str, resp: ApiResponse) -> dict:
        return {"access_token": self.value(name, "access_token", resp),
                "refresh_token": self.value(name, "refresh_token", resp)}

    def refresh(self, refresh_token: str) -> ApiResponse:
        return self.call("refresh", {"refresh_token": refresh_token})

    def logout(self, refresh_token: str) -> ApiResponse:
        return self.call("logout", {"refresh_token": refresh_token})

    def create_session(self, token: str, spec: dict | None = None) -> ApiResponse:
        return self.call("create_session", {"session": spec if spec is not None else self.profile["api"]["session"]},
                         token)

    def read_session(self, token: str, session_id) -> ApiResponse:
        return self.call("read_session", {"session_id": session_id}, token)

    def questions(self, resp: ApiResponse) -> list[dict]:
        """[{question_id, position, has_answer}] of a read_session answer, by the profile's paths."""
        call = self.calls()["read_session"]
        items = read(call, "questions", resp.body, [])
        if not isinstance(items, list):
            return []
        out = []
        for i, item in enumerate(items, start=1):
            position = read(call, "position", item, i)
            out.append({"question_id": read(call, "question_id", item), "position": position,
                        "has_answer": read(call, "has_answer", item)})
        return out

    def next_version(self) -> int:
        """A number that grows with every write of this client (a platform that orders writes
        refuses an older one); microseconds of the wall clock, never the same twice."""
        self._version = max(self._version + 1, int(self.wall() * 1_000_000))
        return self._version

    def answer(self, token: str, session_id, question_id, selected_index, version: int | None = None,
               position=None) -> ApiResponse:
        values = {"session_id": session_id, "question_id": question_id, "selected_index": selected_index,
                  "version": version if version is not None else self.next_version(), "position": position}
        return self.call("answer", values, token)

    def submit(self, token: str, session_id, idempotency_key: str | None = None) -> ApiResponse:
        call = self.calls()["submit"]
        header = call.get("idempotency_header")
        headers = {header: idempotency_key} if header and idempotency_key else None
        return self.call("submit", {"session_id": session_id, "idempotency_key": idempotency_key or ""}, token, headers)


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
