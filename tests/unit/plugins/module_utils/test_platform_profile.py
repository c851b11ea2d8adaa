"""The platform profile: validated with PLATFORM.md's defaults, every bad key named, templates
filled with typed values, paths read from answers, health and readiness judged by rule."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._platform import probes, profile
from tests.unit import profiles

ROOT = profiles.ROOT


def test_defaults_are_the_real_platforms_facts():
    p = profiles.default()
    assert p["api"]["prefix"] == "/v1" and p["readiness"]["rule"] == "nested"
    assert p["api"]["error_code"][0] == "error_code"
    assert p["exam_mode"]["flag"]["value_type"] == "boolean" and p["exam_mode"]["flag"]["updated_by_type"] == "uuid"
    assert p["exam_mode"]["probe"]["path"] == "admin/search/reindex/nightly"
    assert p["exam_mode"]["jobs_evidence"]["kind"] == "none" and p["services"]["worker"] is None
    assert p["schema"]["expiry_sets_submitted_at"] is True
    assert not p["cohort"]["domain"].endswith(".invalid")
    assert profile.call_path(p, "answer", {"session_id": "s-1"}) == "/v1/sessions/s-1/answer"
    assert profile.call_path(p, "health") == "/health"


@pytest.mark.parametrize("given, words", [
    ({"api": {"calls": {"login": {"methd": "GET"}}}}, "platform.api.calls.login.methd"),
    ({"readiness": {"rule": "deep"}}, "value of rule must be one of: flat, nested"),
    ({"api": {"calls": {"answer": {"path": "sessions/{sid}/answer"}}}},
     "examday_platform.api.calls.answer.path uses {sid}, which this call does not know"),
    ({"api": {"calls": {"answer": {"body": {"question_id": {"question_id": None}}}}}},
     'quote the placeholder: "{question_id}"'),
    ({"api": {"calls": {"login": {"body": {"email": "{mail}"}}}}}, "uses {mail}, which is not known here"),
    ({"api": {"calls": {"create_session": {"path": ""}}}}, "is empty, but every platform needs this call"),
    ({"api": {"calls": {"read_session": {"read": {"questions": ""}}}}}, "read.questions is empty"),
    ({"schema": {"sessions": {"table": "test sessions"}}}, "schema.sessions.table is not a SQL table name"),
    ({"backend": {"app_name_pattern": "("}}, "backend.app_name_pattern is not a valid regular expression"),
    ({"cohort": {"domain": "x"}}, "cohort.domain is not a domain name"),
    ({"exam_mode": {"jobs_evidence": {"kind": "log"}}}, "jobs_evidence.service is needed"),
    ({"api": {"error_code": ["a..b"]}}, "api.error_code[0] is not a path"),
    ({"rollback": {"new_sessions_flag": "FREEZE_UPDATES"}},
     "rollback.new_sessions_flag is FREEZE_UPDATES, which is not a switch for new sessions"),
    ({"rollback": {"streak": 0}}, "rollback.streak must be at least 1"),
])
def test_a_bad_or_unknown_key_fails_naming_it(given, words):
    with pytest.raises(OpsError) as err:
        profile.load(given)
    assert words in err.value.msg


def test_the_inventory_profiles_are_valid():
    assert profiles.lab()["readiness"]["rule"] == "flat"


def test_the_doc_fragment_is_generated_from_the_spec():
    got = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_doc_fragments.py"), "--check"],
                         cwd=ROOT, check=False)
    assert got.returncode == 0, "run python3 scripts/gen_doc_fragments.py"


def test_fill_keeps_types_and_interpolates_text():
    template = {"question_id": "{question_id}", "selected_index": "{selected_index}", "note": "v{version}!",
                "list": ["{email}", 1], "fixed": True}
    got = profile.fill(template, {"question_id": "0b5e-uuid", "selected_index": 2, "version": 7, "email": "a@b"})
    assert got == {"question_id": "0b5e-uuid", "selected_index": 2, "note": "v7!", "list": ["a@b", 1], "fixed": True}
    assert profile.fill("{session}", {"session": {"mode": "EXAM"}}) == {"mode": "EXAM"}
    with pytest.raises(OpsError, match=r"uses \{x\}, which has no value here"):
        profile.fill("{x}", {})


@pytest.mark.parametrize("path, want", [
    ("tokens.access_token", "a"), ("items[1].id", 20), ("items[-1].id", 20), ("items[5].id", None),
    ("missing.x", None), ("", {"tokens": {"access_token": "a"}, "items": [{"id": 10}, {"id": 20}]}),
])
def test_json_get(path, want):
    body = {"tokens": {"access_token": "a"}, "items": [{"id": 10}, {"id": 20}]}
    assert profile.json_get(body, path) == want


def test_error_code_follows_the_profiles_paths_in_order():
    p = profiles.default()
    assert profile.error_code(p, {"error_code": "EXAM_MODE_ACTIVE"}) == "EXAM_MODE_ACTIVE"
    assert profile.error_code(p, {"code": "RATE_LIMITED"}) == "RATE_LIMITED"
    assert profile.error_code(p, {"detail": {"code": "X"}}) == "X"
    assert profile.error_code(p, {"detail": "text"}) is None and profile.error_code(p, "html") is None


def test_ids_are_sent_back_as_read_unless_declared():
    p = profiles.default()
    assert profile.coerce_id(p, "0b5e") == "0b5e" and profile.coerce_id(p, 17) == 17
    integer = profiles.with_(p, **{"api.ids": "integer"})
    assert profile.coerce_id(integer, "17") == 17
    with pytest.raises(OpsError, match="not an integer"):
        profile.coerce_id(integer, "0b5e-uuid")


FLAT = profiles.lab()["readiness"]
NESTED = profiles.default()["readiness"]


@pytest.mark.parametrize("rule, status, body, want", [
    (FLAT, 200, {"status": "ok", "checks": {"db": "ok", "redis": "ok"}}, (True, "ok")),
    # The real platform answers 200 with a body that says down: the body decides.
    (FLAT, 200, {"status": "down", "checks": {"db": "down", "redis": "ok"}}, (False, "status is 'down', failing: db=down")),
    (FLAT, 200, {"status": "degraded", "checks": {"db": "ok", "redis": "down"}},
     (False, "status is 'degraded', failing: redis=down")),
    (NESTED, 200, {"status": "ok", "checks": {"db": {"status": "ok"}, "redis": {"status": "ok"}}}, (True, "ok")),
    (NESTED, 503, {"status": "down", "checks": {"db": {"status": "down"}, "redis": {"status": "ok"}}},
     (False, "HTTP 503, failing: db=down")),
    (NESTED, 200, {"status": "ok", "checks": {"db": {"status": "down"}}}, (False, "failing: db=down")),
    (FLAT, 200, "<html>gateway</html>", (False, "HTTP 200 without a JSON object body")),
    (FLAT, 502, None, (False, "HTTP 502")),
])
def test_readiness_by_the_profiles_rule(rule, status, body, want):
    assert probes.verdict(rule, status, body) == want


def test_a_body_that_does_not_fit_the_rule_says_so_instead_of_passing():
    ok, why = probes.verdict(NESTED, 200, {"status": "ok", "checks": {"db": "ok"}})
    assert not ok and "set examday_platform.readiness.rule to flat" in why
    ok, why = probes.verdict(FLAT, 200, {"status": "ok", "checks": {"db": {"status": "ok"}}})
    assert not ok and "set examday_platform.readiness.rule to nested" in why
