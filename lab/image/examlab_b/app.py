"""lab-b's HTTP API, under /api/v2: handlers take a Request and return (status, body[, headers]).

Shaped unlike the lab on purpose (docs/lab-b.md): UUID ids, other paths and field names, an
X-Api-Token header, X-Correlation-ID, `error_code` bodies, nested readiness answering 503, an
exam lock (boolean switch row, admin API, env var) whose guard runs before input validation."""
from __future__ import annotations

import datetime
import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

from examlab import auth, db, logs
from examlab.ratelimit import RedisGate

PREFIX = "/api/v2"
UUID_RX = r"[0-9a-fA-F-]{36}"
CONFIRM = {True: "I CONFIRM EXAM LOCK", False: "I CONFIRM EXAM UNLOCK"}
LOCK_SWITCH = "exam_lock"


class Problem(Exception):
    """An error answer: {"error_code", "message"}."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: object
    rid: str
    ip: str
    params: dict = field(default_factory=dict)
    account: dict | None = None


def iso(value):
    return value.isoformat() if isinstance(value, (datetime.datetime, datetime.date)) else value


def need(body, key: str, kind, check=None):
    if not isinstance(body, dict) or key not in body:
        raise Problem(422, "VALIDATION_FAILED", f"field {key} is required")
    value = body[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool or (check and not check(value)):
        raise Problem(422, "VALIDATION_FAILED", f"field {key} is invalid")
    return value


class LockCache:
    """The exam lock as one process sees it: the env var, or the switch row, read at most every
    `seconds` (each of the container's processes has its own cache)."""

    def __init__(self, cfg, pool):
        self.cfg, self.pool = cfg, pool
        self._at, self._row = 0.0, False
        self._lock = threading.Lock()

    def locked(self) -> tuple[bool, str]:
        if self.cfg.exam_lock_env:
            return True, "env"
        with self._lock:
            if time.monotonic() - self._at > self.cfg.lock_cache_seconds:
                with self.pool.transaction(timeout=3) as cur:
                    cur.execute("SELECT enabled FROM feature_switches WHERE name = %s", (LOCK_SWITCH,))
                    row = cur.fetchone()
                self._row, self._at = bool(row and row["enabled"]), time.monotonic()
            return self._row, "switch"


class App:
    def __init__(self, cfg):
        self.cfg = cfg
        self.pool = db.Pool(cfg, application_name=f"assess_api:{cfg.host}")
        self.cache = RedisGate(cfg)
        self.lock = LockCache(cfg, self.pool)
        self._responses = 0
        self._count_lock = threading.Lock()
        p = PREFIX
        self.routes = [
            ("GET", r"/healthz", self.healthz, None, "healthz"),
            ("GET", p + r"/readyz", self.readyz, None, "readyz"),
            ("POST", p + r"/auth/token", self.token, None, "auth.token"),
            ("POST", p + r"/auth/renew", self.renew, None, "auth.renew"),
            ("POST", p + r"/auth/revoke", self.revoke, None, "auth.revoke"),
            ("POST", p + r"/attempts", self.open_attempt, "candidate", "attempt.open"),
            ("GET", p + rf"/attempts/(?P<aid>{UUID_RX})", self.read_attempt, "candidate", "attempt.read"),
            ("PUT", p + rf"/attempts/(?P<aid>{UUID_RX})/items/(?P<item>{UUID_RX})", self.respond, "candidate",
             "attempt.respond"),
            ("POST", p + rf"/attempts/(?P<aid>{UUID_RX})/finish", self.finish, "candidate", "attempt.finish"),
            ("GET", p + r"/ops/exam-lock", self.get_lock, "operator", "ops.lock.get"),
            ("PUT", p + r"/ops/exam-lock", self.set_lock, "operator", "ops.lock.set"),
            ("POST", p + r"/ops/reports/rebuild", self.rebuild_reports, "operator", "ops.reports"),
        ]
        self._compiled = [(m, re.compile(rx + r"\Z"), h, a, n) for m, rx, h, a, n in self.routes]

    # ------------------------------------------------------------------ routing and auth
    def route(self, method: str, path: str):
        allowed = False
        for m, rx, handler, role, name in self._compiled:
            match = rx.match(path)
            if match:
                if m == method:
                    return handler, role, name, match.groupdict()
                allowed = True
        if allowed:
            raise Problem(405, "METHOD_NOT_ALLOWED", f"{method} not allowed here")
        raise Problem(404, "NO_SUCH_ROUTE", f"nothing at {path}")

    def authenticate(self, req: Request, role: str) -> None:
        token = req.headers.get("x-api-token", "").strip()
        if not token:
            raise Problem(401, "TOKEN_MISSING", "an X-Api-Token header is required")
        try:
            claims = auth.jwt_decode(token, self.cfg.token_secret)
        except auth.AuthError as exc:
            raise Problem(401, "TOKEN_REJECTED", str(exc)) from None
        if role == "operator" and claims.get("role") != "operator":
            raise Problem(403, "OPERATORS_ONLY", "this needs an operator account")
        req.account = {"id": claims["sub"], "kind": claims.get("role")}

    # ------------------------------------------------------------------ health
    def healthz(self, req):
        return 200, {"state": "up"}

    def readyz(self, req):
        checks = {"database": {"status": "pass"}, "cache": {"status": "pass"}}
        try:
            with self.pool.transaction(timeout=2) as cur:
                cur.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["database"] = {"status": "fail", "output": type(exc).__name__}
        if not self.cache.ping(req.rid):
            checks["cache"] = {"status": "fail", "output": "no answer"}
        ok = all(c["status"] == "pass" for c in checks.values())
        return (200 if ok else 503), {"status": "pass" if ok else "fail", "checks": checks}

    # ------------------------------------------------------------------ auth
    def _tokens(self, cur, account: dict) -> dict:
        renew, digest = auth.new_refresh_token()
        cur.execute("INSERT INTO renew_tokens (hash, account_id, expires) VALUES (%s, %s, now() + %s * interval '1 second')",
                    (digest, account["id"], self.cfg.renew_ttl))
        token = auth.jwt_encode({"sub": str(account["id"]), "role": account["kind"], "type": "access",
                                 "exp": int(time.time()) + self.cfg.token_ttl, "jti": uuid.uuid4().hex},
                                self.cfg.token_secret)
        return {"token": token, "renew": renew, "account": {"id": str(account["id"]), "kind": account["kind"]}}

    def token(self, req):
        login = need(req.body, "login", str)
        secret = need(req.body, "secret", str)
        ok, retry = self.cache.allow("token", req.ip, self.cfg.login_per_minute, request_id=req.rid)
        if not ok:
            raise Problem(429, "TOO_MANY_REQUESTS", "slow down", {"Retry-After": str(max(retry, 1))})
        with self.pool.transaction() as cur:
            cur.execute("SELECT id, pw_hash, kind, enabled FROM accounts WHERE login = %s", (login.strip().lower(),))
            account = cur.fetchone()
            if not account or not account["enabled"] or not auth.verify_password(secret, account["pw_hash"]):
                raise Problem(401, "BAD_CREDENTIALS", "login or secret is wrong")
            return 200, {"data": self._tokens(cur, account)}

    def renew(self, req):
        renew = need(req.body, "renew", str)
        with self.pool.transaction() as cur:
            cur.execute("UPDATE renew_tokens SET revoked = true WHERE hash = %s AND NOT revoked AND expires > now() "
                        "RETURNING account_id", (auth.token_hash(renew),))
            row = cur.fetchone()
            if not row:
                raise Problem(401, "RENEW_REJECTED", "renew token unknown, used or expired")
            cur.execute("SELECT id, kind FROM accounts WHERE id = %s AND enabled", (row["account_id"],))
            account = cur.fetchone()
            if not account:
                raise Problem(401, "RENEW_REJECTED", "account disabled")
            return 200, {"data": self._tokens(cur, account)}

    def revoke(self, req):
        renew = need(req.body, "renew", str)
        with self.pool.transaction() as cur:
            cur.execute("UPDATE renew_tokens SET revoked = true WHERE hash = %s", (auth.token_hash(renew),))
        return 204, None

    # ------------------------------------------------------------------ attempts
    def _attempt(self, cur, req, lock: str = ""):
        cur.execute(f"SELECT * FROM attempts WHERE id = %s AND candidate = %s {lock}", (req.params["aid"], req.account["id"]))
        row = cur.fetchone()
        if not row:
            raise Problem(404, "NO_SUCH_ATTEMPT", "attempt not found")
        if row["state"] == "OPEN" and row["deadline"] <= datetime.datetime.now(datetime.timezone.utc):
            cur.execute("UPDATE attempts SET state = 'TIMEOUT', closed = deadline WHERE id = %s AND state = 'OPEN' "
                        "RETURNING *", (row["id"],))
            row = cur.fetchone() or row
        return row

    def _view(self, cur, row) -> dict:
        cur.execute("SELECT ai.item_id, ai.ord, (r.item_id IS NOT NULL) AS done FROM attempt_items ai "
                    "LEFT JOIN responses r ON r.attempt_id = ai.attempt_id AND r.item_id = ai.item_id "
                    "WHERE ai.attempt_id = %s ORDER BY ai.ord", (row["id"],))
        items = [{"item": str(r["item_id"]), "ord": r["ord"], "done": r["done"]} for r in cur.fetchall()]
        return {"id": str(row["id"]), "state": row["state"], "paper": row["paper"], "opened": iso(row["opened"]),
                "deadline": iso(row["deadline"]), "closed": iso(row["closed"]), "points": row["points"],
                "answered": sum(1 for i in items if i["done"]), "items": items}

    def open_attempt(self, req):
        paper = need(req.body, "paper", str)
        count = need(req.body, "items", int, lambda v: 1 <= v <= 40)
        minutes = need(req.body, "minutes", int, lambda v: 1 <= v <= 240)
        with self.pool.transaction() as cur:
            db.execute(cur, "SELECT id FROM bank_items WHERE paper = %s ORDER BY random() LIMIT %s", (paper, count),
                       self.cfg, req.rid)
            picked = [r["id"] for r in cur.fetchall()]
            if len(picked) < count:
                raise Problem(422, "VALIDATION_FAILED", f"paper {paper} has {len(picked)} items, not {count}")
            cur.execute("INSERT INTO attempts (candidate, paper, deadline, max_points, item_count) "
                        "VALUES (%s, %s, now() + %s * interval '1 minute', %s, %s) RETURNING *",
                        (req.account["id"], paper, minutes, count, count))
            row = cur.fetchone()
            for ord_, item in enumerate(picked, start=1):
                cur.execute("INSERT INTO attempt_items (attempt_id, item_id, ord) VALUES (%s, %s, %s)", (row["id"], item, ord_))
            cur.execute("INSERT INTO attempt_log (attempt_id, actor, kind, rid) VALUES (%s, %s, 'OPENED', %s)",
                        (row["id"], req.account["id"], req.rid))
            return 201, {"data": {"attempt": self._view(cur, row)}}

    def read_attempt(self, req):
        with self.pool.transaction() as cur:
            return 200, {"data": {"attempt": self._view(cur, self._attempt(cur, req))}}

    def _closed(self, row) -> None:
        if row["state"] != "OPEN":
            raise Problem(410, "ATTEMPT_CLOSED" if row["state"] == "DONE" else "ATTEMPT_TIMED_OUT",
                          f"attempt is {row['state']}")

    def respond(self, req):
        choice = need(req.body, "choice", int, lambda v: 0 <= v <= 3)
        seq = need(req.body, "seq", int, lambda v: v >= 0)
        with self.pool.transaction() as cur:
            row = self._attempt(cur, req)
            self._closed(row)
            cur.execute("SELECT b.right_choice FROM attempt_items ai JOIN bank_items b ON b.id = ai.item_id "
                        "WHERE ai.attempt_id = %s AND ai.item_id = %s", (row["id"], req.params["item"]))
            item = cur.fetchone()
            if not item:
                raise Problem(404, "ITEM_NOT_IN_ATTEMPT", "this item is not part of the attempt")
            with self._count_lock:
                self._responses += 1
                lost = self.cfg.defect_lost_response and self._responses % self.cfg.lost_response_every == 0
            if not lost:
                # Ordered writes: an older seq than the stored one is refused, never applied.
                db.execute(cur,
                           "INSERT INTO responses (attempt_id, item_id, choice, scored, seq) VALUES (%s, %s, %s, %s, %s) "
                           "ON CONFLICT (attempt_id, item_id) DO UPDATE SET choice = EXCLUDED.choice, "
                           "scored = EXCLUDED.scored, seq = EXCLUDED.seq, edits = responses.edits + 1, last_at = now() "
                           "WHERE responses.seq <= EXCLUDED.seq RETURNING seq",
                           (row["id"], req.params["item"], choice, choice == item["right_choice"], seq), self.cfg, req.rid)
                if cur.fetchone() is None:
                    raise Problem(409, "OUT_OF_ORDER", "a newer response to this item is already stored")
            else:  # DEFECT (opt-in lost_response): acknowledged, never stored
                logs.emit("warning", "response_dropped", request_id=req.rid)
            cur.execute("SELECT count(*) AS n FROM responses WHERE attempt_id = %s", (row["id"],))
            answered = cur.fetchone()["n"] + (1 if lost else 0)
            return 200, {"data": {"answered": answered, "of": row["item_count"]}}

    def finish(self, req):
        token = req.headers.get("idempotency-token")
        racy = self.cfg.defect_racy_finish
        with self.pool.transaction() as cur:
            row = self._attempt(cur, req, "" if racy else "FOR UPDATE")
            if row["state"] == "DONE":
                return 200, {"data": {"attempt": self._view(cur, row)}}
            self._closed(row)
            if racy:
                time.sleep(random.uniform(0.03, 0.08))
            cur.execute("SELECT count(*) FILTER (WHERE scored) AS points FROM responses WHERE attempt_id = %s", (row["id"],))
            points = cur.fetchone()["points"]
            stamp = "now()" if racy else "coalesce(closed, now())"
            cur.execute(f"UPDATE attempts SET state = 'DONE', closed = {stamp}, points = %s, "
                        "finish_token = coalesce(finish_token, %s) WHERE id = %s RETURNING *", (points, token, row["id"]))
            row = cur.fetchone()
            cur.execute("INSERT INTO attempt_log (attempt_id, actor, kind, rid, detail) VALUES (%s, %s, 'FINISHED', %s, %s)",
                        (row["id"], req.account["id"], req.rid, json.dumps({"token": token})))
            return 200, {"data": {"attempt": self._view(cur, row)}}

    # ------------------------------------------------------------------ operations
    def _lock_view(self, cur) -> dict:
        cur.execute("SELECT name, enabled, changed_by, changed_at, note FROM feature_switches WHERE name = %s", (LOCK_SWITCH,))
        switch = cur.fetchone() or {}
        locked, source = self.lock.locked()
        return {"locked": locked, "source": source,
                "switch": {k: (str(v) if isinstance(v, uuid.UUID) else iso(v)) for k, v in switch.items()}}

    def get_lock(self, req):
        with self.pool.transaction() as cur:
            return 200, {"data": self._lock_view(cur)}

    def set_lock(self, req):
        locked = need(req.body, "locked", bool)
        if (req.body or {}).get("confirm") != CONFIRM[locked]:
            raise Problem(422, "CONFIRMATION_MISMATCH", f"confirm must be exactly {CONFIRM[locked]!r}")
        note = (req.body or {}).get("note")
        with self.pool.transaction() as cur:
            cur.execute("UPDATE feature_switches SET enabled = %s, changed_by = %s, changed_at = now(), note = %s "
                        "WHERE name = %s", (locked, req.account["id"], note, LOCK_SWITCH))
            logs.emit("warning", "exam_lock_changed", locked=locked, by=req.account["id"], request_id=req.rid)
            return 200, {"data": self._lock_view(cur)}

    def rebuild_reports(self, req):
        # The guard runs before anything else, input validation included (a probe needs no valid body).
        if self.lock.locked()[0]:
            raise Problem(503, "EXAM_LOCK_ON", "report rebuilds wait until the exam lock is off")
        scope = need(req.body, "scope", str)
        logs.emit("info", "reports_rebuilt", scope=scope, request_id=req.rid)
        return 202, {"data": {"queued": scope}}
