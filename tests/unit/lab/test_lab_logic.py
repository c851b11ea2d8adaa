"""The lab's pure logic: tokens, passwords, validation, flag cache, metrics."""
from __future__ import annotations

import pytest

from examlab import auth, validation
from examlab.config import Config
from examlab.flags import FlagCache
from examlab.metrics import Registry
from examlab.validation import ApiError

SECRET = "unit-test-secret"


def test_access_token_round_trip_and_claims():
    token = auth.access_token(42, "student", SECRET, ttl=900, now=1000)
    claims = auth.jwt_decode(token, SECRET, now=1001)
    assert (claims["sub"], claims["role"], claims["type"], claims["exp"]) == ("42", "student", "access", 1900)


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), "bad signature"),
    (lambda t: "x" + t, "bad signature"),
    (lambda t: "not-a-jwt", "malformed token"),
])
def test_tampered_tokens_are_refused(mutate, message):
    token = auth.access_token(1, "admin", SECRET, ttl=900, now=1000)
    with pytest.raises(auth.AuthError, match=message):
        auth.jwt_decode(mutate(token), SECRET, now=1001)


def test_expired_and_wrong_type_tokens_are_refused():
    token = auth.access_token(1, "student", SECRET, ttl=900, now=1000)
    with pytest.raises(auth.AuthError, match="expired"):
        auth.jwt_decode(token, SECRET, now=1900)
    with pytest.raises(auth.AuthError, match="wrong token type"):
        auth.jwt_decode(token, SECRET, now=1001, expected_type="refresh")
    with pytest.raises(auth.AuthError, match="bad signature"):
        auth.jwt_decode(token, "another-secret", now=1001)


def test_password_hash_verifies_only_the_right_password():
    encoded = auth.hash_password("correct horse", iterations=1000)
    assert auth.verify_password("correct horse", encoded)
    assert not auth.verify_password("wrong", encoded)
    assert not auth.verify_password("correct horse", "md5$whatever")


def test_refresh_tokens_are_stored_as_hashes():
    token, digest = auth.new_refresh_token()
    assert digest == auth.token_hash(token) and token not in digest


def test_session_create_validation_follows_the_platform_limits():
    ok = validation.session_create({"mode": "EXAM", "year": 2026, "blocks": ["B", "A", "A"], "count": 200})
    assert ok == {"mode": "EXAM", "year": 2026, "blocks": ["A", "B"], "count": 200, "duration_seconds": 200 * 90}
    tutor = validation.session_create({"mode": "TUTOR", "year": 2026, "blocks": ["A"], "count": 1})
    assert tutor["duration_seconds"] is None
    for bad in ({"mode": "QUIZ", "year": 2026, "blocks": ["A"], "count": 1},
                {"mode": "EXAM", "year": "2026", "blocks": ["A"], "count": 1},
                {"mode": "EXAM", "year": 2026, "blocks": [], "count": 1},
                {"mode": "EXAM", "year": 2026, "blocks": ["A"], "count": 0},
                {"mode": "EXAM", "year": 2026, "blocks": ["A"], "count": 201},
                {"mode": "EXAM", "year": 2026, "blocks": ["A"], "count": True},
                {"mode": "EXAM", "year": 2026, "blocks": ["A"], "count": 5, "duration_seconds": 59},
                ["not", "an", "object"]):
        with pytest.raises(ApiError) as err:
            validation.session_create(bad)
        assert err.value.status == 422


def test_answer_validation():
    assert validation.answer({"question_id": 3, "selected_index": None})["selected_index"] is None
    for bad in ({"question_id": "3", "selected_index": 1}, {"question_id": 3, "selected_index": 5},
                {"question_id": 3, "selected_index": 1, "marked_for_review": "yes"}):
        with pytest.raises(ApiError):
            validation.answer(bad)


def test_exam_mode_needs_the_exact_confirmation_phrase():
    assert validation.exam_mode({"enabled": True, "reason": "exam", "confirmation_phrase": "ENABLE EXAM MODE"}) \
        == (True, "exam")
    assert validation.exam_mode({"enabled": False, "reason": "done", "confirmation_phrase": "DISABLE EXAM MODE"}) \
        == (False, "done")
    with pytest.raises(ApiError) as err:
        validation.exam_mode({"enabled": True, "reason": "exam", "confirmation_phrase": "enable exam mode"})
    assert (err.value.status, err.value.code) == (400, "CONFIRMATION_REQUIRED")
    with pytest.raises(ApiError):
        validation.exam_mode({"enabled": True, "reason": " ", "confirmation_phrase": "ENABLE EXAM MODE"})


def test_client_ip_trusts_forwarded_for_only_when_configured():
    assert validation.client_ip("172.18.0.6", "203.0.113.9, 172.18.0.1", True) == "203.0.113.9"
    assert validation.client_ip("172.18.0.6", "203.0.113.9", False) == "172.18.0.6"
    assert validation.client_ip("172.18.0.6", None, True) == "172.18.0.6"


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_flag_cache_keeps_values_for_its_ttl_and_falls_back_to_env():
    rows = {}
    loads = []
    clock = Clock()

    def loader():
        loads.append(clock.t)
        return dict(rows)

    cache = FlagCache(Config(flag_cache_seconds=10, exam_mode_env=True), loader, clock)
    assert cache.exam_mode() == (True, "env")          # no row: the env default
    rows["EXAM_MODE"] = False
    clock.t = 9.9
    assert cache.exam_mode() == (True, "env")          # still cached
    clock.t = 10.0
    assert cache.exam_mode() == (False, "flag")        # the row wins once the cache expired
    rows["FREEZE_UPDATES"] = {"enabled": True}
    cache.invalidate()
    assert cache.freeze_updates() is True
    assert loads == [0.0, 10.0, 10.0]


def test_flag_cache_keeps_last_known_flags_when_the_database_fails():
    clock = Clock()
    state = {"fail": False}

    def loader():
        if state["fail"]:
            raise OSError("db down")
        return {"EXAM_MODE": True}

    cache = FlagCache(Config(flag_cache_seconds=1), loader, clock)
    assert cache.exam_mode() == (True, "flag")
    state["fail"], clock.t = True, 5
    assert cache.exam_mode() == (True, "flag")


def test_metrics_histogram_is_cumulative():
    reg = Registry()
    reg.observe("GET", "health", 200, 0.007)
    reg.observe("GET", "health", 200, 0.3)
    text = reg.render({"db_pool_in_use": 3})
    assert 'http_requests_total{method="GET",route="health",status="200"} 2' in text
    assert 'http_request_duration_seconds_bucket{route="health",le="0.01"} 1' in text
    assert 'http_request_duration_seconds_bucket{route="health",le="0.5"} 2' in text
    assert 'http_request_duration_seconds_bucket{route="health",le="+Inf"} 2' in text
    assert "db_pool_in_use 3" in text
