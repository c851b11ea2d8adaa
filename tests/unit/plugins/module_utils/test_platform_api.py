from __future__ import annotations

import pytest

from ansible_collections.examday.ops.plugins.module_utils._platform_api import (
    ApiResponse, PlatformClient, ready_verdict)
from tests.unit.replay import Replay, load


def test_client_parses_recorded_ready_and_login():
    flow = load("lab_student_flow.json")
    client = PlatformClient("http://lab.invalid/", Replay(flow[:2]))
    ready = client.ready()
    assert ready.status == 200 and ready.body["checks"] == {"db": "ok", "redis": "ok"}
    assert ready.request_id == flow[0]["headers"]["X-Request-ID"]
    login = client.login("student@lab.examday.invalid", "pw")
    assert login.body["tokens"]["token_type"] == "bearer"
    assert login.evidence() == {"step": "login", "method": "POST", "status": 200, "ms": login.evidence()["ms"],
                                "request_id": flow[1]["headers"]["X-Request-ID"], "code": None}


def test_evidence_never_carries_the_body():
    resp = ApiResponse("login", "POST", 200, {"tokens": {"access_token": "secret-token"}}, 1.0, "rid")
    assert "secret-token" not in repr(resp.evidence())


def test_paths_are_data_and_unknown_names_are_refused():
    replay = Replay([{"method": "GET", "path": "/api/healthz", "status": 200, "headers": {}, "body": "{}"}])
    client = PlatformClient("http://x.invalid", replay, paths={"health": "/api/healthz"})
    assert client.health().status == 200
    with pytest.raises(ValueError, match="unknown api_paths key"):
        PlatformClient("http://x.invalid", replay, paths={"helth": "/h"})


def _ready(status: int, body) -> ApiResponse:
    return ApiResponse("ready", "GET", status, body, 1.0)


@pytest.mark.parametrize("resp, ok, why", [
    (_ready(200, {"status": "ok", "checks": {"db": "ok", "redis": "ok"}}), True, "ok"),
    # The real platform answers 200 with a body that says down: the body decides.
    (_ready(200, {"status": "down", "checks": {"db": "down", "redis": "ok"}}), False, "status 'down', failing: db"),
    (_ready(200, {"status": "degraded", "checks": {"db": "ok", "redis": "down"}}), False,
     "status 'degraded', failing: redis"),
    (_ready(503, {"status": "ok"}), False, "HTTP 503"),
    (_ready(200, "<html>gateway</html>"), False, "status None"),
])
def test_ready_verdict_reads_the_body(resp, ok, why):
    assert ready_verdict(resp) == (ok, why)
