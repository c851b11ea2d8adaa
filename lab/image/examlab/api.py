"""The lab's HTTP API (PLATFORM.md): handlers take a Request and return (status, body)."""
from __future__ import annotations

import datetime
import json
import random
import re
import time
import uuid
from dataclasses import dataclass, field

import psycopg2

from . import auth, db, logs, validation
from .flags import EXAM_MODE, FlagCache, load_flags
from .metrics import Registry
from .ratelimit import RedisGate
from .validation import ApiError


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: object
    client_ip: str
    request_id: str
    query: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    user: dict | None = None


def _iso(value):
    return value.isoformat() if isinstance(value, (datetime.datetime, datetime.date)) else value


class App:
    def __init__(self, cfg):
        self.cfg = cfg
        self.pool = db.Pool(cfg, application_name=f"exam_backend:{cfg.replica}")
        self.redis = RedisGate(cfg)
        self.flags = FlagCache(cfg, lambda: load_flags(self.pool))
        self.metrics = Registry()
        self.routes = [
            ("GET", r"/health", self.health, None, "health"),
            ("GET", r"/v1/health", self.health, None, "health"),
            ("GET", r"/v1/ready", self.ready, None, "ready"),
            ("GET", r"/metrics", self.prometheus, None, "metrics"),
            ("POST", r"/v1/auth/login", self.login, None, "login"),
            ("POST", r"/v1/auth/refresh", self.refresh, None, "refresh"),
            ("POST", r"/v1/auth/logout", self.logout, None, "logout"),
            ("POST", r"/v1/sessions", self.create_session, "student", "session_create"),
            ("GET", r"/v1/sessions/(?P<sid>[0-9a-fA-F-]{36})", self.read_session, "student", "session_read"),
            ("POST", r"/v1/sessions/(?P<sid>[0-9a-fA-F-]{36})/answer", self.answer, "student", "answer"),
            ("POST", r"/v1/sessions/(?P<sid>[0-9a-fA-F-]{36})/submit", self.submit, "student", "submit"),
            ("GET", r"/v1/admin/system/exam-mode", self.get_exam_mode, "admin", "exam_mode_get"),
            ("POST", r"/v1/admin/system/exam-mode", self.set_exam_mode, "admin", "exam_mode_set"),
            ("GET", r"/v1/admin/system/flags", self.list_flags, "admin", "flags"),
            ("POST", r"/v1/admin/jobs/(?P<kind>[a-z-]+)", self.heavy_job, "admin", "heavy_job"),
        ]
        self._compiled = [(m, re.compile(p + r"\Z"), h, a, name) for m, p, h, a, name in self.routes]

    # ---------------------------------------------------------------- routing
    def route(self, method: str, path: str):
        """(handler, auth, route_name, params) or raises ApiError 404/405."""
        allowed = False
        for m, rx, handler, need, name in self._compiled:
            match = rx.match(path)
            if match:
                if m == method:
                    return handler, need, name, match.groupdict()
                allowed = True
        if allowed:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed on {path}")
        raise ApiError(404, "NOT_FOUND", f"no route for {path}")

    def authenticate(self, req: Request, need: str) -> None:
        header = req.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise ApiError(401, "NOT_AUTHENTICATED", "a Bearer access token is required")
        try:
            claims = auth.jwt_decode(header[7:].strip(), self.cfg.jwt_secret)
        except auth.AuthError as exc:
            raise ApiError(401, "INVALID_TOKEN", str(exc)) from None
        if need == "admin" and claims.get("role") != "admin":
            raise ApiError(403, "FORBIDDEN", "admin role required")
        req.user = {"id": int(claims["sub"]), "role": claims.get("role")}

    def limit(self, req: Request, bucket: str, subject: str, per_minute: int) -> None:
        ok, retry_after = self.redis.allow(bucket, subject, per_minute, request_id=req.request_id)
        if not ok:
            raise ApiError(429, "RATE_LIMITED", f"too many {bucket} requests; retry later",
                           {"Retry-After": str(max(retry_after, 1))})

    def exam_mode_active(self) -> bool:
        return self.flags.exam_mode()[0]

    def refuse_if_frozen(self) -> None:
        if self.flags.freeze_updates():
            raise ApiError(423, "FREEZE_UPDATES_ACTIVE", "updates are frozen by the FREEZE_UPDATES flag")

    # ---------------------------------------------------------------- health
    def health(self, req):
        return 200, {"status": "ok"}

    def ready(self, req):
        checks = {"db": "ok", "redis": "ok"}
        try:
            with self.pool.transaction(timeout=2) as cur:
                cur.execute("SELECT 1")
        except Exception:
            checks["db"] = "down"
        if not self.redis.ping(req.request_id):
            checks["redis"] = "down"
        status = "ok" if checks["db"] == "ok" and checks["redis"] == "ok" else (
            "down" if checks["db"] == "down" else "degraded")
        if self.cfg.defect_ready_lies:
            # DEFECT (opt-in): readiness says ok whatever its dependencies say.
            checks, status = {"db": "ok", "redis": "ok"}, "ok"
        # Like the real platform: HTTP 200 whatever the body says.
        return 200, {"status": status, "checks": checks, "request_id": req.request_id}

    def prometheus(self, req):
        active = self.flags.exam_mode()[0]
        gauges = {
            "db_pool_in_use": self.pool.in_use,
            "db_pool_peak_in_use": self.pool.peak_in_use,
            "db_pool_size": self.pool.size,
            "db_pool_max_overflow": self.pool.max_overflow,
            "redis_fail_open_total": self.redis.fail_open_total,
            "exam_mode_active": int(active),
        }
        return 200, self.metrics.render(gauges)

    # ---------------------------------------------------------------- auth
    def _issue_tokens(self, cur, user_id: int, role: str, family_id) -> dict:
        refresh, digest = auth.new_refresh_token()
        cur.execute(
            "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) "
            "VALUES (%s, %s, %s, now() + make_interval(secs => %s))",
            (user_id, family_id, digest, self.cfg.refresh_token_ttl),
        )
        return {
            "access_token": auth.access_token(user_id, role, self.cfg.jwt_secret, self.cfg.access_token_ttl),
            "refresh_token": refresh,
            "token_type": "bearer",
        }

    def login(self, req):
        email, password = validation.login(req.body)
        self.limit(req, "login_ip", req.client_ip, self.cfg.login_per_ip)
        self.limit(req, "login_email", email, self.cfg.login_per_email)
        with self.pool.transaction() as cur:
            cur.execute("SELECT id, email, password_hash, role, is_verified, is_active FROM users WHERE email = %s",
                        (email,))
            user = cur.fetchone()
            if user is None or not auth.verify_password(password, user["password_hash"]):
                raise ApiError(401, "INVALID_CREDENTIALS", "email or password is wrong")
            if not user["is_verified"] or not user["is_active"]:
                raise ApiError(403, "USER_NOT_VERIFIED", "this account is not verified or not active")
            tokens = self._issue_tokens(cur, user["id"], user["role"], uuid.uuid4())
        return 200, {"user": {"id": user["id"], "email": user["email"], "role": user["role"]},
                     "tokens": tokens, "mfa_required": False}

    def refresh(self, req):
        token = validation.refresh_token(req.body)
        self.limit(req, "refresh_ip", req.client_ip, self.cfg.refresh_per_ip)
        with self.pool.transaction() as cur:
            cur.execute(
                "SELECT r.id, r.user_id, r.family_id, r.used_at, r.revoked_at, r.expires_at < now() AS expired, "
                "u.role FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE r.token_hash = %s FOR UPDATE OF r",
                (auth.token_hash(token),),
            )
            row = cur.fetchone()
            if row is None or row["revoked_at"] is not None or row["expired"]:
                raise ApiError(401, "INVALID_REFRESH_TOKEN", "refresh token is unknown, revoked or expired")
            if row["used_at"] is not None:
                cur.execute("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = %s AND revoked_at IS NULL",
                            (row["family_id"],))
                logs.emit("warning", "refresh_token_reuse", user_id=row["user_id"], request_id=req.request_id)
                cur.connection.commit()
                raise ApiError(401, "REFRESH_TOKEN_REUSED", "refresh token reuse detected; the session family is revoked")
            cur.execute("UPDATE refresh_tokens SET used_at = now() WHERE id = %s", (row["id"],))
            tokens = self._issue_tokens(cur, row["user_id"], row["role"], row["family_id"])
        return 200, {"tokens": tokens}

    def logout(self, req):
        token = validation.refresh_token(req.body)
        with self.pool.transaction() as cur:
            cur.execute(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND family_id = "
                "(SELECT family_id FROM refresh_tokens WHERE token_hash = %s)",
                (auth.token_hash(token),),
            )
        return 200, {"status": "logged_out"}

    # ---------------------------------------------------------------- sessions
    @staticmethod
    def _progress(cur, sid, current_position: int) -> dict:
        cur.execute(
            "SELECT count(*) FILTER (WHERE selected_index IS NOT NULL) AS answered, "
            "count(*) FILTER (WHERE marked_for_review) AS marked FROM session_answers WHERE session_id = %s",
            (sid,),
        )
        row = cur.fetchone()
        return {"answered_count": row["answered"], "marked_for_review_count": row["marked"],
                "current_position": current_position}

    @staticmethod
    def _session_view(s: dict) -> dict:
        return {
            "session_id": str(s["id"]), "status": s["status"], "mode": s["mode"],
            "total_questions": s["total_questions"], "started_at": _iso(s["started_at"]),
            "expires_at": _iso(s["expires_at"]), "submitted_at": _iso(s["submitted_at"]),
            "exam_mode_at_start": s["exam_mode_at_start"],
        }

    def create_session(self, req):
        spec = validation.session_create(req.body)
        if self.flags.new_sessions_closed():
            raise ApiError(423, "NEW_SESSIONS_CLOSED", "new sessions are closed (the rollback guard)")
        self.limit(req, "session_create", str(req.user["id"]), self.cfg.session_create_per_user)
        sid = uuid.uuid4()
        with self.pool.transaction() as cur:
            db.execute(cur, "SELECT id FROM questions WHERE year = %s AND block = ANY(%s) ORDER BY random() LIMIT %s",
                       (spec["year"], spec["blocks"], spec["count"]), self.cfg, req.request_id)
            qids = [r["id"] for r in cur.fetchall()]
            if len(qids) < spec["count"]:
                raise ApiError(422, "NOT_ENOUGH_QUESTIONS",
                               f"only {len(qids)} questions match year {spec['year']} and blocks {spec['blocks']}")
            db.execute(
                cur,
                "INSERT INTO test_sessions (id, user_id, mode, year, blocks, total_questions, expires_at, "
                "exam_mode_at_start) VALUES (%s, %s, %s, %s, %s, %s, "
                "CASE WHEN %s::int IS NULL THEN NULL ELSE now() + make_interval(secs => %s::int) END, %s) "
                "RETURNING *",
                (sid, req.user["id"], spec["mode"], spec["year"], spec["blocks"], spec["count"],
                 spec["duration_seconds"], spec["duration_seconds"], self.exam_mode_active()),
                self.cfg, req.request_id,
            )
            session = cur.fetchone()
            psycopg2.extras.execute_values(
                cur, "INSERT INTO session_questions (session_id, position, question_id) VALUES %s",
                [(sid, pos, qid) for pos, qid in enumerate(qids, start=1)],
            )
            cur.execute("INSERT INTO attempt_events (session_id, user_id, event_type, request_id) "
                        "VALUES (%s, %s, 'SESSION_STARTED', %s)", (sid, req.user["id"], req.request_id))
        body = self._session_view(session)
        body["progress"] = {"answered_count": 0, "marked_for_review_count": 0, "current_position": 1}
        return 201, body

    def _owned_session(self, cur, req, lock: str = ""):
        db.execute(cur, "SELECT *, (expires_at IS NOT NULL AND now() > expires_at) AS expired "
                   f"FROM test_sessions WHERE id = %s {lock}", (req.params["sid"],), self.cfg, req.request_id)
        session = cur.fetchone()
        if session is None or session["user_id"] != req.user["id"]:
            raise ApiError(404, "SESSION_NOT_FOUND", "no such session for this user")
        return session

    def read_session(self, req):
        with self.pool.transaction() as cur:
            s = self._owned_session(cur, req)
            cur.execute(
                "SELECT sq.position, sq.question_id, a.selected_index, coalesce(a.marked_for_review, false) AS marked "
                "FROM session_questions sq LEFT JOIN session_answers a "
                "ON a.session_id = sq.session_id AND a.question_id = sq.question_id "
                "WHERE sq.session_id = %s ORDER BY sq.position",
                (s["id"],),
            )
            rows = cur.fetchall()
            progress = self._progress(cur, s["id"], s["current_position"])
            current = next((r for r in rows if r["position"] == s["current_position"]), rows[0] if rows else None)
            current_q = None
            if current is not None:
                cur.execute("SELECT id, stem, options FROM questions WHERE id = %s", (current["question_id"],))
                q = cur.fetchone()
                current_q = {"position": current["position"], "question_id": q["id"], "stem": q["stem"],
                             "options": q["options"], "selected_index": current["selected_index"],
                             "marked_for_review": current["marked"]}
        questions = [{"position": r["position"], "question_id": r["question_id"],
                      "has_answer": r["selected_index"] is not None, "marked_for_review": r["marked"]} for r in rows]
        return 200, {"session": self._session_view(s), "progress": progress, "questions": questions,
                     "current_question": current_q}

    def _hold(self, req) -> None:
        """DEFECT (opt-in, slow_answers): one answer in `slow_answer_every` (chosen by its request
        id) is held before it is applied, longer than a client waits: the client gives up, answers
        again, and the held write arrives after the newer one."""
        every = max(1, self.cfg.slow_answer_every)
        if self.cfg.defect_slow_answers and int(uuid.uuid5(uuid.NAMESPACE_OID, req.request_id).hex, 16) % every == 0:
            logs.emit("warning", "answer_held", seconds=self.cfg.slow_answer_seconds, request_id=req.request_id)
            time.sleep(self.cfg.slow_answer_seconds)

    def answer(self, req):
        spec = validation.answer(req.body)
        self.refuse_if_frozen()
        if self.cfg.defect_answers_lost_without_redis and not self.redis.ping(req.request_id):
            # DEFECT (opt-in): answers are "buffered" in Redis; without Redis they are acknowledged
            # and silently dropped.
            return 200, {"answer": {"id": random.randint(10**9, 2 * 10**9), "question_id": spec["question_id"],
                                    "selected_index": spec["selected_index"], "is_correct": None,
                                    "changed_count": 0, "marked_for_review": bool(spec["marked_for_review"])},
                         "progress": {"answered_count": None, "marked_for_review_count": None,
                                      "current_position": None}}
        self._hold(req)
        # Writes are ordered by the client's version: an older write than the stored one is refused
        # (409), so a request the client gave up on cannot overwrite a newer acknowledged answer.
        # DEFECT (opt-in, unordered_writes): the last write to arrive wins, whatever its version.
        ordered = spec["client_version"] is not None and not self.cfg.defect_unordered_writes
        with self.pool.transaction() as cur:
            s = self._owned_session(cur, req, "FOR SHARE")
            if s["status"] != "ACTIVE":
                raise ApiError(400, "SESSION_CLOSED", f"session is {s['status']}")
            if s["expired"]:
                raise ApiError(400, "SESSION_CLOSED", "session has expired")
            cur.execute(
                "SELECT sq.position, q.correct_index, q.theme_id FROM session_questions sq "
                "JOIN questions q ON q.id = sq.question_id WHERE sq.session_id = %s AND sq.question_id = %s",
                (s["id"], spec["question_id"]),
            )
            q = cur.fetchone()
            if q is None:
                raise ApiError(400, "QUESTION_NOT_IN_SESSION", "this question is not part of the session")
            is_correct = None if spec["selected_index"] is None else spec["selected_index"] == q["correct_index"]
            db.execute(
                cur,
                "INSERT INTO session_answers AS a (session_id, question_id, selected_index, is_correct, marked_for_review, "
                "client_version) VALUES (%s, %s, %s, %s, coalesce(%s, false), %s) "
                "ON CONFLICT (session_id, question_id) DO UPDATE SET "
                "changed_count = a.changed_count + CASE WHEN a.selected_index IS DISTINCT FROM EXCLUDED.selected_index "
                "THEN 1 ELSE 0 END, selected_index = EXCLUDED.selected_index, is_correct = EXCLUDED.is_correct, "
                "marked_for_review = coalesce(%s, a.marked_for_review), updated_at = now(), "
                "client_version = coalesce(EXCLUDED.client_version, a.client_version) "
                "WHERE NOT %s OR a.client_version IS NULL OR EXCLUDED.client_version > a.client_version "
                "RETURNING id, question_id, selected_index, is_correct, changed_count, marked_for_review, updated_at",
                (s["id"], spec["question_id"], spec["selected_index"], is_correct, spec["marked_for_review"],
                 spec["client_version"], spec["marked_for_review"], ordered),
                self.cfg, req.request_id,
            )
            answer = cur.fetchone()
            if answer is None:
                logs.emit("warning", "stale_write_refused", session_id=str(s["id"]), question_id=spec["question_id"],
                          client_version=spec["client_version"], request_id=req.request_id)
                raise ApiError(409, "STALE_WRITE", "a newer answer to this question is already stored")
            position = min(q["position"] + 1, s["total_questions"])
            cur.execute("UPDATE test_sessions SET current_position = %s WHERE id = %s", (position, s["id"]))
            cur.execute(
                "INSERT INTO attempt_events (session_id, user_id, event_type, request_id, payload) "
                "VALUES (%s, %s, 'ANSWER_SAVED', %s, %s)",
                (s["id"], req.user["id"], req.request_id,
                 json.dumps({"question_id": spec["question_id"], "selected_index": spec["selected_index"],
                             "client_version": spec["client_version"]})),
            )
            progress = self._progress(cur, s["id"], position)
        answer["updated_at"] = _iso(answer["updated_at"])
        return 200, {"answer": answer, "progress": progress}

    @staticmethod
    def _submit_view(s: dict) -> dict:
        total = s["score_total"] or 0
        return {"session_id": str(s["id"]), "status": s["status"], "score_correct": s["score_correct"],
                "score_total": s["score_total"],
                "score_pct": round(100.0 * (s["score_correct"] or 0) / total, 2) if total else 0.0,
                "submitted_at": _iso(s["submitted_at"])}

    def submit(self, req):
        self.refuse_if_frozen()
        self.limit(req, "submit", str(req.user["id"]), self.cfg.submit_per_user)
        key = req.headers.get("idempotency-key")
        racy = self.cfg.defect_nonidempotent_submit
        with self.pool.transaction() as cur:
            # The row lock is what makes concurrent double submits safe; the defect drops it.
            s = self._owned_session(cur, req, "" if racy else "FOR UPDATE")
            if s["status"] == "SUBMITTED":
                return 200, self._submit_view(s)
            if racy:
                time.sleep(random.uniform(0.03, 0.08))
            cur.execute("SELECT count(*) FILTER (WHERE is_correct) AS correct FROM session_answers WHERE session_id = %s",
                        (s["id"],))
            correct = cur.fetchone()["correct"]
            # Racy, each request submits on its own: the later one stamps its own time, so the two
            # answers differ (as on the real platform) and the session gets two submit events.
            stamp = "now()" if racy else "coalesce(submitted_at, now())"
            db.execute(
                cur,
                f"UPDATE test_sessions SET status = 'SUBMITTED', submitted_at = {stamp}, "
                "score_correct = %s, score_total = total_questions, idempotency_key = coalesce(idempotency_key, %s) "
                "WHERE id = %s RETURNING *",
                (correct, key, s["id"]), self.cfg, req.request_id,
            )
            s = cur.fetchone()
            cur.execute(
                "INSERT INTO attempt_events (session_id, user_id, event_type, request_id, payload) "
                "VALUES (%s, %s, 'SESSION_SUBMITTED', %s, %s)",
                (s["id"], req.user["id"], req.request_id, json.dumps({"idempotency_key": key})),
            )
        return 200, self._submit_view(s)

    # ---------------------------------------------------------------- admin
    def _flag_row(self, cur, key: str):
        cur.execute("SELECT key, value, updated_at, updated_by, reason FROM system_flags WHERE key = %s", (key,))
        row = cur.fetchone()
        if row:
            row["updated_at"] = _iso(row["updated_at"])
        return row

    def get_exam_mode(self, req):
        active, source = self.flags.exam_mode()
        with self.pool.transaction() as cur:
            row = self._flag_row(cur, EXAM_MODE)
        return 200, {"enabled": active, "source": source, "flag": row,
                     "cache_seconds": self.cfg.flag_cache_seconds}

    def set_exam_mode(self, req):
        enabled, reason = validation.exam_mode(req.body)
        with self.pool.transaction() as cur:
            cur.execute("SELECT email FROM users WHERE id = %s", (req.user["id"],))
            who = (cur.fetchone() or {}).get("email", f"user:{req.user['id']}")
            cur.execute(
                "INSERT INTO system_flags (key, value, updated_at, updated_by, reason) "
                "VALUES (%s, to_jsonb(%s::boolean), now(), %s, %s) ON CONFLICT (key) DO UPDATE SET "
                "value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by, reason = EXCLUDED.reason",
                (EXAM_MODE, enabled, who, reason),
            )
            row = self._flag_row(cur, EXAM_MODE)
        self.flags.invalidate()
        logs.emit("warning", "exam_mode_changed", enabled=enabled, updated_by=who, reason=reason,
                  request_id=req.request_id)
        return 200, {"key": EXAM_MODE, "enabled": enabled, **row}

    def list_flags(self, req):
        with self.pool.transaction() as cur:
            cur.execute("SELECT key, value, updated_at, updated_by, reason FROM system_flags ORDER BY key")
            rows = [{**r, "updated_at": _iso(r["updated_at"])} for r in cur.fetchall()]
        return 200, {"flags": rows}

    def heavy_job(self, req):
        kind = req.params["kind"]
        if kind not in validation.HEAVY_JOB_KINDS:
            raise ApiError(404, "UNKNOWN_JOB", f"unknown job kind {kind}")
        if self.exam_mode_active():
            raise ApiError(423, "EXAM_MODE_ACTIVE", "heavy jobs are refused while EXAM_MODE is active")
        if str(req.query.get("dry_run", "")).lower() in ("1", "true", "yes"):
            return 200, {"kind": kind, "would_run": True}
        with self.pool.transaction() as cur:
            cur.execute("INSERT INTO background_jobs (kind, requested_by) VALUES (%s, %s) RETURNING id",
                        (kind, str(req.user["id"])))
            job_id = cur.fetchone()["id"]
        return 202, {"job_id": job_id, "kind": kind, "status": "QUEUED"}
