from __future__ import annotations

import json

from ansible_collections.examday.ops.plugins.module_utils._platform.api import ApiResponse, PlatformClient
from tests.unit import profiles
from tests.unit.replay import Replay, load


def test_client_parses_recorded_ready_and_login_by_the_profile():
    flow = load("lab_student_flow.json")
    client = PlatformClient("http://lab.invalid/", Replay(flow[:2]), profiles.lab())
    ready = client.ready()
    assert ready.status == 200 and ready.body["checks"] == {"db": "ok", "redis": "ok"}
    assert client.judge("readiness", ready) == (True, "ok")
    assert ready.request_id == flow[0]["headers"]["X-Request-ID"]
    login = client.login("student@lab.examday.invalid", "pw")
    assert client.tokens("login", login)["access_token"].startswith("<redacted")
    assert login.evidence() == {"step": "login", "method": "POST", "status": 200, "ms": login.evidence()["ms"],
                                "request_id": flow[1]["headers"]["X-Request-ID"], "code": None}


def test_every_request_carries_a_request_id_of_ours():
    flow = load("lab_student_flow.json")
    replay = Replay(flow[:1])
    PlatformClient("http://lab.invalid", replay, profiles.lab()).ready()
    assert len(replay.sent[0]["headers"]["X-Request-ID"]) == 32


def test_evidence_never_carries_the_body():
    resp = ApiResponse("login", "POST", 200, {"tokens": {"access_token": "secret-token"}}, 1.0, "rid")
    assert "secret-token" not in repr(resp.evidence())


def test_calls_paths_bodies_and_reads_are_profile_data():
    """Another platform: another prefix, field names, a question id in the path, tokens elsewhere."""
    other = profiles.with_(profiles.default(), **{
        "api.prefix": "/api/v2",
        "api.calls.login.path": "auth/token",
        "api.calls.login.body": {"username": "{email}", "secret": "{password}"},
        "api.calls.login.read.access_token": "data.access",
        "api.calls.answer.method": "PUT",
        "api.calls.answer.path": "attempts/{session_id}/responses/{question_id}",
        "api.calls.answer.body": {"choice": "{selected_index}", "seq": "{version}"},
        "api.calls.health.path": "/healthz",
    })
    exchanges = [
        {"method": "GET", "path": "/healthz", "status": 200, "headers": {}, "body": "{}"},
        {"method": "POST", "path": "/api/v2/auth/token", "status": 200, "headers": {},
         "body": json.dumps({"data": {"access": "tok"}})},
        {"method": "PUT", "path": "/api/v2/attempts/a%2Fb/responses/q-1", "status": 200, "headers": {}, "body": "{}"},
    ]
    replay = Replay(exchanges)
    client = PlatformClient("http://x.invalid", replay, other)
    client.health()
    login = client.login("s@x", "pw")
    assert client.value("login", "access_token", login) == "tok"
    client.answer("tok", "a/b", "q-1", 3, version=17)
    assert replay.sent[1]["body"] == {"username": "s@x", "secret": "pw"}
    assert replay.sent[2]["body"] == {"choice": 3, "seq": 17}          # typed, not "3"
    assert replay.sent[2]["headers"]["Authorization"] == "Bearer tok"


def test_the_error_code_is_read_where_the_profile_says():
    client = PlatformClient("http://x.invalid", None, profiles.default())
    exchanges = [{"method": "POST", "path": "/v1/admin/search/reindex/nightly", "status": 423, "headers": {},
                  "body": json.dumps({"error_code": "EXAM_MODE_ACTIVE", "message": "exam in progress"})}]
    client.transport = Replay(exchanges)
    got = client.path_call("probe", "POST", "admin/search/reindex/nightly")
    assert (got.code, got.describe()) == ("EXAM_MODE_ACTIVE", "HTTP 423 EXAM_MODE_ACTIVE (exam in progress)")
