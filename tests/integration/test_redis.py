"""Redis-backed rate limits that fail open: with Redis stopped, students keep working."""
from __future__ import annotations

import contextlib
import time


@contextlib.contextmanager
def redis_stopped(lab):
    """Redis stopped for the block; afterwards, the state the next test needs: the container
    healthy, readiness ok, and the rate limiter enforcing again on every backend process (a
    process keeps failing open until its breaker closes and its connection is back)."""
    (redis,) = lab.containers("redis")
    redis.stop(timeout=5)
    try:
        yield
    finally:
        redis.start()
        lab.wait_healthy("redis")
        lab.wait_ready()
        wait_limiter_enforcing(lab)


def wait_limiter_enforcing(lab, timeout: float = 30.0) -> None:
    """Login attempts from one address until every backend refuses them with 429 several times in
    a row (round robin reaches each replica), within timeout; a fresh address each round."""
    deadline = time.monotonic() + timeout
    rounds = 0
    while time.monotonic() < deadline:
        rounds += 1
        ip, email = f"192.0.2.{200 + rounds % 50}", f"limiter-probe-{rounds}@cohort.examday.invalid"
        codes = [lab.post("/v1/auth/login", {"email": email, "password": "wrong-password"},
                          headers={"X-Forwarded-For": ip}).status_code for _attempt in range(12)]
        if codes[-6:] == [429] * 6:
            return
        time.sleep(0.5)
    raise AssertionError(f"the login rate limiter did not enforce again within {timeout:g} s after Redis returned")


def wait_redis_down_in_ready(lab, timeout=10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = lab.get("/v1/ready")
        body = resp.json()
        if body["checks"]["redis"] == "down":
            return {"status_code": resp.status_code, **body}
        time.sleep(0.2)
    raise AssertionError("ready never reported redis down")


def test_login_answer_submit_work_with_redis_stopped_and_ready_says_so_by_body(lab):
    email, password = lab.next_student()
    with redis_stopped(lab):
        ready = wait_redis_down_in_ready(lab)
        # Like the real platform: HTTP 200, and only the body says something is wrong.
        assert ready["status_code"] == 200
        assert ready["status"] == "degraded" and ready["checks"] == {"db": "ok", "redis": "down"}
        token = lab.token(email, password)
        sid = lab.new_session(token, count=3)["session_id"]
        q = lab.questions(token, sid)
        for item in q:
            resp = lab.post(f"/v1/sessions/{sid}/answer", {"question_id": item["question_id"], "selected_index": 1},
                            token)
            assert resp.status_code == 200, resp.text
        submitted = lab.post(f"/v1/sessions/{sid}/submit", None, token)
        assert submitted.status_code == 200 and submitted.json()["status"] == "SUBMITTED"
    # Nothing acknowledged while Redis was down was lost.
    assert lab.sql("SELECT count(*) FROM session_answers WHERE session_id = %s", (sid,)) == [(3,)]
    assert lab.submitted_events([sid]) == {sid: 1}
    warnings = [r for c in lab.containers("backend") for r in lab.logs_since(c, time.time() - 120)
                if r.get("event") == "redis_unavailable_fail_open"]
    assert warnings, "the backends log that they fail open"


def _burst(lab, ip: str, email: str, n: int = 12) -> list[int]:
    return [lab.post("/v1/auth/login", {"email": email, "password": "wrong-password"},
                     headers={"X-Forwarded-For": ip}).status_code for _attempt in range(n)]


def test_login_rate_limit_applies_with_redis_and_fails_open_without(lab):
    # The state this test needs, whatever ran before: Redis back and every process enforcing.
    lab.wait_healthy("redis")
    wait_limiter_enforcing(lab)
    # 12 attempts within a second or two cover at most two one-minute windows, so a 5/min limit
    # must refuse some of them, whatever the clock.
    codes = _burst(lab, "192.0.2.10", "nobody-1@cohort.examday.invalid")
    assert 429 in codes and set(codes) <= {401, 429}
    with redis_stopped(lab):
        wait_redis_down_in_ready(lab)
        codes = _burst(lab, "192.0.2.11", "nobody-2@cohort.examday.invalid")
    assert codes == [401] * 12
