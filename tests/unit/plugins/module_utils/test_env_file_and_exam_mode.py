from __future__ import annotations

import pytest

from ansible_collections.examday.ops.plugins.module_utils import _env_file
from ansible_collections.examday.ops.plugins.module_utils._exam_mode import (
    Probe, effect_verdict, guard_flag_name, worker_verdict)
from ansible_collections.examday.ops.plugins.module_utils._platform import profile
from tests.unit import profiles

LAB_ENV = '''# Backend env of the examday.ops lab.
EXAM_MODE="false"
DB_HOST="postgres"
export JWT_SECRET='s3cret'
RATE_LIMIT_LOGIN_PER_IP=5 # per minute
'''


def test_parse_reads_quoted_exported_and_commented_values():
    assert _env_file.parse(LAB_ENV) == {"EXAM_MODE": "false", "DB_HOST": "postgres", "JWT_SECRET": "s3cret",
                                        "RATE_LIMIT_LOGIN_PER_IP": "5"}


def test_set_var_changes_one_line_and_is_idempotent():
    new, changed = _env_file.set_var(LAB_ENV, "EXAM_MODE", "true")
    assert changed
    assert new.splitlines()[1] == 'EXAM_MODE="true"'
    assert [l for i, l in enumerate(new.splitlines()) if i != 1] == [l for i, l in enumerate(LAB_ENV.splitlines()) if i != 1]
    again, changed_again = _env_file.set_var(new, "EXAM_MODE", "true")
    assert (again, changed_again) == (new, False)


def test_set_var_quotes_an_unquoted_value_and_appends_a_missing_one():
    new, changed = _env_file.set_var("EXAM_MODE=true\n", "EXAM_MODE", "true")
    assert (new, changed) == ('EXAM_MODE="true"\n', True)
    new, changed = _env_file.set_var("A=1", "EXAM_MODE", "true")
    assert (new, changed) == ('A=1\nEXAM_MODE="true"\n', True)


def test_lines_of_shows_only_the_managed_variable():
    assert _env_file.lines_of(LAB_ENV, "EXAM_MODE") == 'EXAM_MODE="false"\n'
    assert "s3cret" not in _env_file.lines_of(LAB_ENV, "EXAM_MODE")
    assert _env_file.lines_of("A=1\n", "EXAM_MODE") == ""


def test_freeze_updates_is_refused_unless_asked_for():
    guard_flag_name("EXAM_MODE", False)
    with pytest.raises(ValueError, match="blocks every student"):
        guard_flag_name("freeze_updates", False)
    guard_flag_name("FREEZE_UPDATES", True)


REFUSED = (423, {"code": "EXAM_MODE_ACTIVE", "detail": "heavy jobs are refused while EXAM_MODE is active"})
ALLOWED = (200, {"kind": "recompute-mastery", "would_run": True})


def code_of(body):
    return profile.error_code(profiles.default(), body)


def test_effect_needs_a_full_streak_of_the_wanted_state():
    probe = Probe(streak=3, code_of=code_of)
    assert effect_verdict([ALLOWED, REFUSED, REFUSED], True, probe) == (False, "last answer HTTP 423 EXAM_MODE_ACTIVE")
    assert effect_verdict([ALLOWED, REFUSED, REFUSED, REFUSED], True, probe)[0] is True
    # One replica still serving from its cache breaks the streak.
    assert effect_verdict([REFUSED, ALLOWED, REFUSED], True, probe)[0] is False
    assert effect_verdict([REFUSED, ALLOWED, ALLOWED, ALLOWED], False, probe) == (True, "last answer HTTP 200")
    assert effect_verdict([], True, probe) == (False, "no probe answer")


def test_a_423_for_another_reason_is_not_exam_mode():
    probe = Probe(streak=1, code_of=code_of)
    frozen = (423, {"code": "FREEZE_UPDATES_ACTIVE"})
    assert effect_verdict([frozen], True, probe)[0] is False
    fastapi_style = (423, {"detail": {"code": "EXAM_MODE_ACTIVE"}})
    assert effect_verdict([fastapi_style], True, probe)[0] is True
    # the real platform: error_code, where the profile's first path looks
    real = (423, {"error_code": "EXAM_MODE_ACTIVE", "message": "exam in progress"})
    assert effect_verdict([real], True, probe)[0] is True
    # the code is read only where the profile says it is
    elsewhere = Probe(streak=1, code_of=lambda body: profile.error_code(
        profiles.with_(profiles.default(), **{"api.error_code": ["detail.code"]}), body))
    assert effect_verdict([real], True, elsewhere)[0] is False


def test_worker_verdict_reads_the_newest_relevant_record():
    idle = {"event": "job_runner_idle", "reason": "EXAM_MODE_ACTIVE"}
    run = {"event": "job_run", "exam_mode_active": True}
    other = {"event": "worker_started"}
    assert worker_verdict([other], True, "job_runner_idle", "job_run") == (
        None, "the job runner logged neither job_runner_idle nor job_run yet")
    assert worker_verdict([run, idle], True, "job_runner_idle", "job_run") == (
        True, "newest job-runner record: job_runner_idle (EXAM_MODE_ACTIVE)")
    assert worker_verdict([idle, run], True, "job_runner_idle", "job_run") == (
        False, "newest job-runner record: job_run")
    assert worker_verdict([idle, run, other], False, "job_runner_idle", "job_run")[0] is True
    # another platform's keys: the event is a dotted path of the profile
    nested = [{"job": {"outcome": "skipped"}}, {"job": {"outcome": "done"}}]
    assert worker_verdict(nested, False, "skipped", "done", "job.outcome")[0] is True
