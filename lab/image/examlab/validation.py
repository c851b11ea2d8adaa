"""Request body validation for the lab API: pure functions that raise ApiError."""
from __future__ import annotations

from typing import Any

EXAM_MODE_ENABLE_PHRASE = "ENABLE EXAM MODE"
EXAM_MODE_DISABLE_PHRASE = "DISABLE EXAM MODE"
HEAVY_JOB_KINDS = ("recompute-mastery", "import-questions", "reindex", "export-results", "broadcast")


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> dict:
        return {"code": self.code, "detail": self.detail}


def _invalid(detail: str) -> ApiError:
    return ApiError(422, "VALIDATION_ERROR", detail)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def require_object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise _invalid("request body must be a JSON object")
    return body


def login(body: Any) -> tuple[str, str]:
    body = require_object(body)
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or "@" not in email or not isinstance(password, str) or not password:
        raise _invalid("email and password are required")
    return email.strip().lower(), password


def refresh_token(body: Any) -> str:
    body = require_object(body)
    token = body.get("refresh_token")
    if not isinstance(token, str) or not token:
        raise _invalid("refresh_token is required")
    return token


def session_create(body: Any) -> dict:
    body = require_object(body)
    mode = body.get("mode")
    if mode not in ("TUTOR", "EXAM"):
        raise _invalid("mode must be TUTOR or EXAM")
    year = body.get("year")
    if not _is_int(year):
        raise _invalid("year must be an integer")
    blocks = body.get("blocks")
    if not isinstance(blocks, list) or not blocks or not all(isinstance(b, str) and b for b in blocks):
        raise _invalid("blocks must be a non-empty list of block codes")
    count = body.get("count")
    if not _is_int(count) or not 1 <= count <= 200:
        raise _invalid("count must be an integer from 1 to 200")
    duration = body.get("duration_seconds")
    if duration is not None and (not _is_int(duration) or duration < 60):
        raise _invalid("duration_seconds must be an integer of at least 60")
    if duration is None and mode == "EXAM":
        duration = count * 90
    return {"mode": mode, "year": year, "blocks": sorted(set(blocks)), "count": count, "duration_seconds": duration}


def answer(body: Any) -> dict:
    body = require_object(body)
    question_id = body.get("question_id")
    if not _is_int(question_id):
        raise _invalid("question_id must be an integer")
    selected = body.get("selected_index")
    if selected is not None and (not _is_int(selected) or not 0 <= selected <= 4):
        raise _invalid("selected_index must be 0..4 or null")
    marked = body.get("marked_for_review")
    if marked is not None and not isinstance(marked, bool):
        raise _invalid("marked_for_review must be a boolean")
    version = body.get("client_version")
    if version is not None and (not _is_int(version) or version < 0):
        raise _invalid("client_version must be a non-negative integer")
    return {"question_id": question_id, "selected_index": selected, "marked_for_review": marked,
            "client_version": version}


def exam_mode(body: Any) -> tuple[bool, str]:
    body = require_object(body)
    enabled, reason, phrase = body.get("enabled"), body.get("reason"), body.get("confirmation_phrase")
    if not isinstance(enabled, bool):
        raise _invalid("enabled must be a boolean")
    if not isinstance(reason, str) or not reason.strip():
        raise _invalid("reason is required")
    want = EXAM_MODE_ENABLE_PHRASE if enabled else EXAM_MODE_DISABLE_PHRASE
    if phrase != want:
        raise ApiError(400, "CONFIRMATION_REQUIRED", f"confirmation_phrase must be exactly '{want}'")
    return enabled, reason.strip()


def client_ip(peer: str, forwarded_for: str | None, trust_forwarded_for: bool) -> str:
    """The client address for rate limiting: the left-most X-Forwarded-For entry behind a trusted edge."""
    if trust_forwarded_for and forwarded_for:
        first = forwarded_for.split(",")[0].strip()
        if first:
            return first
    return peer
