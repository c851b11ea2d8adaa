"""ExamModeManager with injected fakes: the flag mechanism "succeeds" but the effect never comes."""
from __future__ import annotations

import json

import pytest

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._exam_mode_manager import ExamModeManager
from ansible_collections.examday.ops.plugins.module_utils._platform.api import PlatformClient
from tests.unit import profiles


def params(**over):
    p = {
        "state": "enabled", "mechanism": "flag", "reason": "test",
        "allow_freeze_updates": False, "admin_email": "admin@lab.examday.invalid", "admin_password": "pw",
        "admin_token": None, "compose_project": "exam_platform",
        "env": {"file": None, "compose_files": [], "project_dir": None, "env_files": [], "backup": True},
        "db": {"host": "db.invalid", "port": 5432, "name": "exam_platform", "user": "exam_user", "password": "x",
               "container": None, "network": None, "connect_timeout": 5},
        "verify": True, "verify_timeout": 10.0, "poll_interval": 1.0,
    }
    p.update(over)
    return p


def lab(**changes):
    """The lab's profile with a probe streak of 3."""
    return profiles.with_(profiles.lab(), **{"exam_mode.probe.streak": 3, **changes})


class FakeDb:
    """A psycopg-like connection whose flag row the manager reads and writes."""
    def __init__(self):
        self.value = None
        self.statements = []

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, query, params):
        self.statements.append((query, params))
        if len(params) == 4:  # the upsert: key, value, updated_by, reason
            self.value = params[1]

    def fetchone(self):
        return None if self.value is None else (self.value,)

    def commit(self):
        pass

    rollback = close = commit


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


def transport(method, url, headers, data, timeout):
    if url.endswith("/health"):
        return 200, {}, b'{"status": "ok"}'
    if url.endswith("/v1/auth/login"):
        return 200, {}, json.dumps({"tokens": {"access_token": "t"}}).encode()
    # The platform ignores the flag: heavy jobs are still accepted.
    return 200, {}, b'{"kind": "recompute-mastery", "would_run": true}'


def runner(argv):
    if argv[:2] == ["docker", "ps"]:
        return 0, "abc123\n", ""
    if argv[:2] == ["docker", "logs"]:
        return 0, json.dumps({"ts": "2026-11-21T20:00:00Z", "event": "job_run", "exam_mode_active": True}) + "\n", ""
    raise AssertionError(f"unexpected command {argv}")


def test_a_mechanism_without_effect_fails_naming_the_missing_evidence():
    db, clock = FakeDb(), Clock()
    manager = ExamModeManager(params(), False, runner, PlatformClient("http://lab.invalid", transport, lab()),
                              lambda _db: db, clock=clock, sleep=clock.sleep, wall=lambda: 1_800_000_000.0)
    with pytest.raises(OpsError) as err:
        manager.run()
    assert db.value is True  # the flag was set...
    msg = err.value.msg
    assert msg.startswith("EXAM_MODE on via flag is not verified by effect after 10 s: ")
    assert "the heavy-job probe /v1/admin/jobs/recompute-mastery?dry_run=true never answered HTTP 423 " \
           "EXAM_MODE_ACTIVE 3 times in a row (last answer HTTP 200)" in msg
    assert "the job runner never logged job_runner_idle (newest job-runner record: job_run)" in msg
    evidence = err.value.details["evidence"]
    assert evidence["verified"] is False and evidence["probe"]["recent"] == [200, 200, 200]
    assert clock.t >= 10.0  # waited the whole timeout on the fake clock, not in real time


def test_check_mode_reads_and_reports_without_writing():
    db, clock = FakeDb(), Clock()
    result = ExamModeManager(params(), True, runner, PlatformClient("http://lab.invalid", transport, lab()),
                             lambda _db: db, clock=clock, sleep=clock.sleep).run()
    assert result["changed"] is True and result["msg"] == "would set EXAM_MODE on via flag"
    assert db.value is None and all(len(p) == 1 for _q, p in db.statements)  # only the SELECT ran


def test_freeze_updates_is_refused_before_any_connection():
    def no_transport(*args):
        raise AssertionError("no request may be sent")

    with pytest.raises(OpsError, match="blocks every student"):
        ExamModeManager(params(), False, runner,
                        PlatformClient("http://x.invalid", no_transport, lab(**{"exam_mode.flag.key": "FREEZE_UPDATES"})),
                        lambda _db: FakeDb()).run()


def test_a_uuid_updated_by_needs_a_user_id_before_any_connection():
    def no_transport(*args):
        raise AssertionError("no request may be sent")

    with pytest.raises(OpsError, match="updated_by must be an admin user's id"):
        ExamModeManager(params(), False, runner, PlatformClient("http://x.invalid", no_transport, profiles.default()),
                        lambda _db: FakeDb()).run()


def test_the_flag_row_is_written_with_the_profiles_types_and_columns():
    db, clock = FakeDb(), Clock()
    uuid_admin = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    platform = profiles.with_(profiles.default(), **{"exam_mode.flag.updated_by": uuid_admin,
                                                     "exam_mode.probe.streak": 3})

    def refusing(method, url, headers, data, timeout):
        if url.endswith("/health"):
            return 200, {}, b'{"status": "ok"}'
        if url.endswith("/v1/auth/login"):
            return 200, {}, json.dumps({"tokens": {"access_token": "t"}}).encode()
        return 423, {}, json.dumps({"error_code": "EXAM_MODE_ACTIVE"}).encode()

    result = ExamModeManager(params(), False, runner, PlatformClient("http://x.invalid", refusing, platform),
                             lambda _db: db, clock=clock, sleep=clock.sleep).run()
    assert result["verified"] is True and result["evidence"]["worker"]["required"] is False
    upsert = next(q for q, p in db.statements if len(p) == 4)
    text = repr(upsert)
    assert "%s::boolean" in text and "%s::uuid" in text and "to_jsonb" not in text
    assert [p for _q, p in db.statements if len(p) == 4][0] == ["EXAM_MODE", True, uuid_admin, "test"]


def test_the_watch_reads_exam_mode_as_stored_and_never_probes():
    """stored_state: the admin API's read call (logging in again once when the token expired), else
    the flag row; the heavy-job probe, which would start a job when the mode is off, is never sent."""
    sent = []
    answers = {"expired": True}

    def api(method, url, headers, data, timeout):
        sent.append(url)
        if url.endswith("/v1/auth/login"):
            return 200, {}, json.dumps({"tokens": {"access_token": "t"}}).encode()
        if url.endswith("/admin/system/exam-mode"):
            if answers.pop("expired", False):
                return 401, {}, b'{"error_code": "TOKEN_EXPIRED"}'
            return 200, {}, json.dumps({"enabled": True, "flag": {"value": False}}).encode()
        raise AssertionError(f"the watch may not call {url}")

    profile = lab()
    manager = ExamModeManager(params(mechanism="api", admin_token="old"), True, runner,
                              PlatformClient("http://lab.invalid", api, profile), None)
    assert manager.stored_state() == (False, "the admin API (stored)")  # the row, not one process's cache
    assert [u.rsplit("/", 1)[-1] for u in sent] == ["exam-mode", "login", "exam-mode"]
    assert not any("jobs" in u for u in sent)

    no_read = profiles.with_(profile, **{"api.calls.exam_mode_get.path": ""})
    db = FakeDb()
    db.value = True
    manager = ExamModeManager(params(mechanism="api"), True, runner, PlatformClient("http://lab.invalid", api, no_read),
                              lambda _db: db)
    assert manager.stored_state() == (True, "the flag row system_flags.EXAM_MODE")
    db.value = None
    assert manager.stored_state() == (None, "no EXAM_MODE row in system_flags")
    manager = ExamModeManager(params(mechanism="api"), True, runner, PlatformClient("http://lab.invalid", api, no_read),
                              None)
    assert manager.stored_state()[0] is None and not any("jobs" in u for u in sent)
