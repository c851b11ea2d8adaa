"""Passwords, HS256 JWTs and refresh tokens: pure functions, standard library only."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid


class AuthError(Exception):
    """A token or credential that must be refused."""


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, iterations: int = 10000, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${_b64e(salt)}${_b64e(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        algo, iterations, salt, digest = encoded.split("$")
    except ValueError:
        return False
    if algo != "pbkdf2_sha256":
        return False
    got = hashlib.pbkdf2_hmac("sha256", password.encode(), _b64d(salt), int(iterations))
    return hmac.compare_digest(got, _b64d(digest))


def jwt_encode(claims: dict, secret: str) -> str:
    header = _b64e(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64e(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64e(sig)}"


def jwt_decode(token: str, secret: str, now: float | None = None, expected_type: str = "access") -> dict:
    try:
        header, body, sig = token.split(".")
        want = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(want, _b64d(sig)):
            raise AuthError("bad signature")
        if json.loads(_b64d(header)).get("alg") != "HS256":
            raise AuthError("unsupported algorithm")
        claims = json.loads(_b64d(body))
    except AuthError:
        raise
    except Exception as exc:  # malformed token of any kind
        raise AuthError("malformed token") from exc
    if claims.get("type") != expected_type:
        raise AuthError("wrong token type")
    if float(claims.get("exp", 0)) <= (time.time() if now is None else now):
        raise AuthError("token expired")
    return claims


def access_token(user_id: int, role: str, secret: str, ttl: int, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    return jwt_encode(
        {"sub": str(user_id), "role": role, "type": "access", "iat": issued, "exp": issued + ttl,
         "jti": uuid.uuid4().hex},
        secret,
    )


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the hash that is stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
