# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canary: one student who, at a short fixed interval, does what every student does (keeps a
token, reads the session, answers a question) and, in the same tick, asks readiness. Each tick is
one line of canary.jsonl: when it started and ended, whether the student's calls all succeeded,
which step failed and how, and what readiness said meanwhile. The report measures outages and
recoveries from it (what students saw), and whether readiness told the truth.

Bounded: it ends at its deadline, or when the stop file appears; it only reads and answers its own
session."""
from __future__ import annotations

import datetime
import json
import os
import time
from typing import Callable

from ansible_collections.examday.ops.plugins.module_utils._platform.api import (
    ApiResponse, PlatformClient, PlatformUnreachable)


def iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Canary:
    """One student's state across ticks; tick() returns the tick's record."""

    def __init__(self, client: PlatformClient, email: str, password: str, session_spec: dict | None = None,
                 wall: Callable[[], float] = time.time):
        self.client = client
        self.email, self.password = email, password
        self.spec = session_spec
        self.wall = wall
        self.token: str | None = None
        self.session_id = None
        self.questions: list = []
        self.next = 0
        self.version = 0
        self.current = "login"

    # ------------------------------------------------------------------ steps
    def _login(self) -> ApiResponse:
        resp = self.client.login(self.email, self.password)
        token = self.client.value("login", "access_token", resp) if self.client.ok("login", resp) else None
        self.token = token
        return resp

    def _new_session(self) -> ApiResponse:
        resp = self.client.create_session(self.token, self.spec)
        self.session_id = self.client.value("create_session", "session_id", resp) \
            if self.client.ok("create_session", resp) else None
        self.questions, self.next = [], 0
        return resp

    def _closed(self, resp: ApiResponse) -> bool:
        closed = self.client.profile["api"]["closed"]
        return resp.status in closed["status"] or (resp.code is not None and resp.code in closed["codes"])

    def _call(self, fn: Callable[[], ApiResponse]) -> ApiResponse:
        """A student call; an expired token (401) is renewed by a new login once."""
        resp = fn()
        if resp.status == 401:
            login = self._login()
            if not self.token:
                return login
            resp = fn()
        return resp

    def student(self, steps: list) -> tuple[bool, str | None, ApiResponse | None]:
        """(ok, failed step, its answer): token, session, read, answer."""
        self.current = "login"
        if not self.token:
            resp = self._login()
            steps.append(resp.evidence())
            if not self.token:
                return False, "login", resp
        self.current = "create_session"
        if self.session_id is None:
            resp = self._call(self._new_session)
            steps.append(resp.evidence())
            if self.session_id is None:
                return False, "create_session", resp
        self.current = "read_session"
        resp = self._call(lambda: self.client.read_session(self.token, self.session_id))
        steps.append(resp.evidence())
        if not self.client.ok("read_session", resp):
            if self._closed(resp):
                self.session_id = None
            return False, "read_session", resp
        self.questions = self.client.questions(resp) or self.questions
        if not self.questions:
            return False, "read_session", resp
        q = self.questions[self.next % len(self.questions)]
        self.next += 1
        self.version += 1
        choices = self.client.profile["api"]["answer_choices"]
        self.current = "answer"
        resp = self._call(lambda: self.client.answer(self.token, self.session_id, q["question_id"],
                                                     self.next % choices, position=q["position"]))
        steps.append(resp.evidence())
        if self.client.ok("answer", resp):
            return True, None, resp
        if self._closed(resp):  # the canary's own session ended (expiry): a new one next tick
            self.session_id = None
        return False, "answer", resp

    def tick(self) -> dict:
        start = self.wall()
        steps: list = []
        try:
            ready = self.client.ready()
            ready_ok, ready_detail = self.client.judge("readiness", ready)
        except PlatformUnreachable as exc:
            ready_ok, ready_detail = False, str(exc)
        record = {"start": iso(start), "ok": False, "step": None, "status": None, "code": None, "error": None,
                  "ready_ok": ready_ok, "ready_detail": ready_detail[:200], "request_id": None}
        try:
            ok, step, resp = self.student(steps)
            record.update(ok=ok, step=step)
            if resp is not None and not ok:
                record.update(status=resp.status, code=resp.code, request_id=resp.request_id,
                              error=resp.describe()[:200])
        except PlatformUnreachable as exc:
            record.update(ok=False, step=self.current, error=str(exc)[:200], status=0)
        record["end"] = iso(self.wall())
        record["ms"] = round((self.wall() - start) * 1000, 1)
        return record


def run(canary: Canary, out_path: str, stop_path: str, interval: float, max_seconds: float,
        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> dict:
    """Ticks every `interval` seconds until the stop file appears or max_seconds pass; appends each
    tick to out_path (0600) as it happens, so the record is complete whenever it is read."""
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    ticks = failures = 0
    started = clock()
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        while clock() - started < max_seconds and not os.path.exists(stop_path):
            t0 = clock()
            record = canary.tick()
            fh.write(json.dumps(record, separators=(",", ":")) + "\n")
            fh.flush()
            ticks += 1
            failures += not record["ok"]
            rest = interval - (clock() - t0)
            if rest > 0:
                sleep(rest)
    return {"ticks": ticks, "failures": failures, "seconds": round(clock() - started, 1),
            "stopped_by": "stop file" if os.path.exists(stop_path) else "deadline"}
