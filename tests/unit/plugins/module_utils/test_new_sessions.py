"""The rollback guard with injected fakes: a platform without a switch is told so and untouched; the
switch is proven by effect through the lab's flag cache (sessions the probe was given are submitted
at once); the drain waits for the running sessions and fails, bounded, with their count."""
from __future__ import annotations

import json

import pytest

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._new_sessions import Guard
from ansible_collections.examday.ops.plugins.module_utils._platform.api import PlatformClient
from tests.unit import profiles


def params(**over):
    p = {"state": "closed", "email": "student@lab.examday.invalid", "password": "pw", "verify": True,
         "verify_timeout": 30.0, "poll_interval": 0.5, "drain_minutes": 0.0, "drain_poll": 15.0, "reason": "test"}
    p.update(over)
    return p


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


class Platform:
    """The lab's behaviour: the flag row, cached for `cache` seconds by the backends; active sessions
    counted from `active` (one value per count)."""

    def __init__(self, clock, cache=10.0, active=(0,)):
        self.clock, self.cache = clock, cache
        self.flag, self.flag_at = None, None
        self.active = list(active)
        self.created, self.submitted, self.writes, self.connections = [], [], [], 0
        self.submit_fails = False
        self.submit_limited = 0  # 429 answers to the next submits (the platform's per-student submit limit)
        self.create_limited = 0

    # -- the database
    def connect(self):
        self.connections += 1
        return Conn(self)

    # -- the API
    def transport(self, method, url, headers, data, timeout):
        if url.endswith("/health"):
            return 200, {}, b'{"status": "ok"}'
        if url.endswith("/v1/auth/login"):
            return 200, {}, json.dumps({"tokens": {"access_token": "t"}}).encode()
        if url.endswith("/v1/sessions") and method == "POST":
            if self.create_limited:
                self.create_limited -= 1
                return 429, {"retry-after": "5"}, b'{"error_code": "RATE_LIMITED"}'
            closed = self.flag is True and self.clock() - self.flag_at >= self.cache
            if closed:
                return 423, {}, json.dumps({"error_code": "NEW_SESSIONS_CLOSED"}).encode()
            sid = f"s{len(self.created) + 1}"
            self.created.append(sid)
            return 201, {}, json.dumps({"session_id": sid, "status": "ACTIVE"}).encode()
        if url.endswith("/submit"):
            if self.submit_fails:
                return 503, {}, b'{"error_code": "DB_UNAVAILABLE"}'
            if self.submit_limited:
                self.submit_limited -= 1
                return 429, {"retry-after": "7"}, b'{"error_code": "RATE_LIMITED"}'
            self.submitted.append(url.rsplit("/", 2)[-2])
            return 200, {}, b'{"status": "SUBMITTED"}'
        raise AssertionError(f"unexpected {method} {url}")


class Conn:
    def __init__(self, platform):
        self.platform, self.row = platform, None

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, query, args):
        if len(args) == 1 and args[0] == "NEW_SESSIONS_CLOSED":  # the flag read
            self.row = None if self.platform.flag is None else (self.platform.flag,)
        elif len(args) == 1:  # the count of active sessions
            self.row = (self.platform.active.pop(0) if len(self.platform.active) > 1 else self.platform.active[0],)
        else:  # the upsert: key, value, updated_by, reason
            self.platform.flag, self.platform.flag_at = args[1], self.platform.clock()
            self.platform.writes.append(tuple(args[:2]))

    def fetchone(self):
        return self.row

    def commit(self):
        pass

    rollback = close = commit


def guard(platform, clock, profile=None, check_mode=False, **over):
    client = PlatformClient("http://lab.invalid", platform.transport, profile or profiles.lab())
    return Guard(params(**over), client, platform.connect, check_mode, clock=clock, sleep=clock.sleep)


def test_a_platform_without_a_switch_is_told_so_and_nothing_is_touched():
    clock = Clock()
    platform = Platform(clock)
    with pytest.raises(OpsError) as err:
        guard(platform, clock, profiles.default()).run()
    assert err.value.msg == ("exam platform has no switch that stops new sessions (examday_platform.rollback."
                             "new_sessions_flag is empty), so the rollback guard changed nothing.")
    assert platform.connections == 0 and platform.created == [] and platform.writes == []


def test_closed_is_proven_by_effect_through_the_flag_cache_and_leaves_no_session_of_its_own():
    clock = Clock()
    platform = Platform(clock, active=(3, 3, 1, 0))
    result = guard(platform, clock, drain_minutes=5, drain_poll=15).run()
    assert platform.writes == [("NEW_SESSIONS_CLOSED", True)] and result["changed"] and result["before"] == "open"
    # until the backends' 10 s cache expired the probe was given sessions: each was submitted at once
    assert platform.created and platform.submitted == platform.created
    assert result["verification"]["verified"] and result["verification"]["probe_sessions_submitted"] == len(platform.created)
    assert result["drain"] == {"drained": True, "active": 0, "counts": [3, 1, 0]}
    assert result["msg"] == "new sessions closed, no session active"
    assert result["active_sessions_before"] == 3
    # the second run finds it closed: nothing is written, the effect is proven again
    again = guard(platform, clock).run()
    assert not again["changed"] and len(platform.writes) == 1 and again["verification"]["verified"]


def test_a_switch_without_effect_and_a_drain_that_does_not_end_fail_with_one_sentence():
    clock = Clock()
    platform = Platform(clock, cache=1e9)  # the platform ignores the flag
    with pytest.raises(OpsError, match=r"^new sessions closed is not verified by effect after 30 s: the probe's session "
                                       r"requests were never refused 8 times in a row"):
        guard(platform, clock).run()
    assert platform.submitted == platform.created  # what the probe was given was submitted all the same

    clock = Clock()
    platform = Platform(clock, active=(5, 4, 4))
    with pytest.raises(OpsError) as err:
        guard(platform, clock, drain_minutes=1, drain_poll=15).run()
    assert err.value.msg == ("new sessions are closed, but 4 sessions were still active after 1 minutes; wait longer "
                             "(drain_minutes) before the rollback.")
    assert err.value.details["drain"]["counts"][-1] == 4


def test_open_again_and_check_mode():
    clock = Clock()
    platform = Platform(clock)
    platform.flag, platform.flag_at = True, -100.0
    would = guard(platform, clock, check_mode=True, state="open").run()
    assert would["msg"] == "would open new sessions" and platform.writes == [] and platform.created == []
    result = guard(platform, clock, state="open").run()
    assert platform.writes == [("NEW_SESSIONS_CLOSED", False)] and result["verification"]["verified"]
    assert len(platform.created) == 8 and platform.submitted == platform.created  # 8 accepted in a row, all submitted
    with pytest.raises(OpsError, match="email and password \\(the probe student\\) are required"):
        guard(platform, clock, email=None).run()


def test_a_probe_session_that_cannot_be_submitted_is_named_not_left_behind_silently():
    clock = Clock()
    platform = Platform(clock)
    platform.submit_fails = True
    with pytest.raises(OpsError) as err:
        guard(platform, clock).run()
    assert err.value.msg == ("the probe was given session(s) it could not submit (s1); they stay active for its student: "
                             "submit them before counting on the drain.")
    assert err.value.details["unsubmitted"] == ["s1"]


def test_the_platforms_rate_limits_are_waited_out_not_taken_for_an_answer():
    """The lab limits session creation and submits per student (10 a minute): a 429 is waited out
    (Retry-After), neither counts nor breaks the streak, and a rate-limited submit is retried."""
    clock = Clock()
    platform = Platform(clock)
    platform.flag, platform.flag_at = True, -100.0
    platform.submit_limited, platform.create_limited = 3, 4
    result = guard(platform, clock, state="open", verify_timeout=120.0).run()
    assert result["verification"]["verified"] and len(platform.created) == 8
    assert platform.submitted == platform.created  # the first submit waited out three 429s
    assert clock.t >= 3 * 7 + 4 * 5  # the Retry-After pauses, on the fake clock
