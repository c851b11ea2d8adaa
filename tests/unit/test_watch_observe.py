"""The live watch's observer, fed real captured outputs of the lab (docker inspect of the compose
project, docker stats, the backends' logs, pg_stat_activity), and what it records when parts of the
platform are down; the page and the lines an operator follows."""
from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._metrics.dbsample import db_sample
from ansible_collections.examday.ops.plugins.module_utils._platform.api import PlatformClient, PlatformUnreachable
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve as resolve_given, validate_types
from ansible_collections.examday.ops.plugins.module_utils._thresholds import resolve
from ansible_collections.examday.ops.plugins.module_utils._watch import alerts, page, runner
from ansible_collections.examday.ops.plugins.module_utils._watch.observe import Observer

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
LAB_PROFILE = {"readiness": {"rule": "flat"}, "backend": {"replicas": 2, "processes": 1}}


def resolve_profile(given: dict) -> dict:
    return resolve_given(validate_types(given))


def fixture(*parts: str) -> str:
    with open(os.path.join(HERE, *parts), encoding="utf-8") as fh:
        return fh.read()


INSPECT = json.loads(fixture("docker", "inspect_lab.json"))
STATS = json.loads(fixture("metrics", "docker-stats.json"))[0]["output"]
LOGS = {"exam_platform-backend-1": fixture("metrics", "backend-1.log"),
        "exam_platform-backend-2": fixture("metrics", "backend-2.log")}


class Docker:
    """Answers the docker commands the observer runs with the lab's captured outputs."""

    def __init__(self, inspect=None, logs_fail: bool = False):
        self.inspect = INSPECT if inspect is None else inspect
        self.logs_fail = logs_fail
        self.calls: list = []

    def __call__(self, argv):
        self.calls.append(argv)
        by_id = {c["Id"]: c for c in self.inspect}
        if argv[:2] == ["docker", "ps"]:
            return 0, "".join(c["Id"] + "\n" for c in self.inspect), ""
        if argv[:2] == ["docker", "inspect"]:
            return 0, json.dumps([by_id[i] for i in argv[2:]]), ""
        if argv[:2] == ["docker", "logs"]:
            if self.logs_fail:
                return 1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
            name = next(c["Name"].lstrip("/") for c in self.inspect if c["Id"][:12] == argv[-1][:12])
            return 0, LOGS[name], ""
        if argv[:2] == ["docker", "stats"]:
            return 0, STATS, ""
        raise AssertionError(argv)


class Transport:
    def __init__(self, ready_body=None, down: bool = False):
        self.ready_body = ready_body or {"status": "ok", "checks": {"db": "ok", "redis": "ok"}}
        self.down = down

    def __call__(self, method, url, headers, data, timeout):
        if self.down:
            raise PlatformUnreachable(f"cannot reach {url}: [Errno 111] Connection refused")
        body = {"status": "ok"} if url.endswith("health") else self.ready_body
        return 200 if body["status"] == "ok" else 503, {}, json.dumps(body).encode()


class Db:
    def __init__(self, fail: bool = False):
        self.fail = fail

    def sample(self, ts):
        if self.fail:
            raise OpsError("pg_stat_activity sample failed: connection refused.")
        captured = json.loads(fixture("metrics", "pg-stat-activity.json"))
        return db_sample(captured["rows"], captured["db"], r"^exam_backend", ts)


def client(transport) -> PlatformClient:
    return PlatformClient("http://127.0.0.1:18080", transport, resolve_profile(LAB_PROFILE), 5.0)


def observer(docker=None, transport=None, db=None, redis=lambda: {"redis_version": "7.2"}, exam=lambda: (True, "api")):
    return Observer(client(transport or Transport()), docker or Docker(), "exam_platform", ["backend"],
                    resolve_profile(LAB_PROFILE)["logs"]["backend"], resolve({}), 2, db or Db(),
                    {"pool_size": 5, "max_overflow": 5, "processes": 2}, redis, exam)


def test_a_sample_of_the_lab_from_its_captured_outputs():
    docker = Docker()
    obs = observer(docker)
    s = obs("2026-11-21T22:31:30.000Z", None)
    assert s["health_ok"] and s["ready_ok"] and s["redis_ok"] is True and s["exam_mode_on"] is True
    assert s["requests"] == 833 and s["backends_running"] == 2 and s["backend_missing"] == 0
    assert s["db_pool_pct"] == 35.0 and s["restarts"] is None  # nothing to compare with yet
    assert s["resources"]["exam_platform_postgres"]["cpu_pct"] == 3.23
    assert "errors" not in s and s["not_measured"] == []
    # the logs of the interval: the first from 15 s before, the next from where this one ended
    logs = [a for a in docker.calls if a[:2] == ["docker", "logs"]]
    assert logs[0][4] == "2026-11-21T22:31:15.000Z" and logs[0][6] == "2026-11-21T22:31:29.000Z"
    nxt = obs("2026-11-21T22:31:45.000Z", s)
    assert [a for a in docker.calls if a[:2] == ["docker", "logs"]][-1][4] == "2026-11-21T22:31:29.000Z"
    assert nxt["restarts"] == 0
    assert alerts.Tracker(resolve({}), raise_after=1).feed(nxt, nxt["at"]) == []


def test_an_outage_is_recorded_part_by_part_and_the_watch_goes_on():
    def redis_down():
        raise OpsError("cannot read Redis INFO from 127.0.0.1:16379: Error 111 connecting. Connection refused.")
    stopped = copy.deepcopy(INSPECT)
    stopped[0]["State"].update(Running=False, Status="exited")
    obs = observer(Docker(stopped, logs_fail=True), Transport(down=True), Db(fail=True), redis_down,
                   lambda: (None, "admin login failed with no answer"))
    s = obs("2026-11-21T22:32:00.000Z", None)
    assert s["health_ok"] is False and s["health"].startswith("no answer (cannot reach http://127.0.0.1:18080/")
    assert s["redis_ok"] is False and s["exam_mode_on"] is None and s["backend_missing"] == 1
    assert set(s["errors"]) == {"backend logs", "database", "redis", "exam_mode"}
    assert s["errors"]["backend logs"].startswith("docker logs of exam_platform-backend-1 failed: Cannot connect")
    raised = {e["rule"] for e in alerts.Tracker(resolve({}), raise_after=1).feed(s, s["at"])}
    assert raised == {"health", "readiness", "redis", "backends"}  # unmeasured values raise nothing


def test_the_check_before_the_watch_names_what_cannot_answer():
    assert observer().check() == ["health", "readiness", "backend logs", "containers", "database", "redis", "exam_mode"]
    with pytest.raises(OpsError, match=r"^cannot reach http://127.0.0.1:18080/.*Connection refused\.$"):
        observer(transport=Transport(down=True)).check()
    others = [c for c in INSPECT if c["Config"]["Labels"]["com.docker.compose.service"] != "backend"]
    with pytest.raises(OpsError, match=r"no container of backend service\(s\) backend in compose project exam_platform"):
        observer(Docker(others)).check()
    with pytest.raises(OpsError, match="connection refused"):
        observer(db=Db(fail=True)).check()
    unreadable = observer(exam=lambda: (None, "no read-only way to read EXAM_MODE"))
    assert unreadable.check()[-1] == "not exam_mode: no read-only way to read EXAM_MODE"


def test_the_page_and_the_followed_lines_of_a_watch(tmp_path):
    obs = observer()
    samples = iter([obs("2026-11-21T22:31:30.000Z", None), obs("2026-11-21T22:31:45.000Z", None)])
    down = {"at": "2026-11-21T22:32:00.000Z", "observed_ok": True, "health_ok": True, "ready_ok": False,
            "ready": "status is 'degraded'", "redis_ok": False, "errors": {"redis": "Connection refused"}}
    feed = [next(samples), dict(down), dict(down, at="2026-11-21T22:32:15.000Z"), next(samples)]
    feed[-1]["at"] = "2026-11-21T22:32:30.000Z"
    pages, box = [], []

    def observe(_at, _previous):  # the four samples, then the watch is asked to end (no clock involved)
        item = feed.pop(0)
        if not feed:
            box[0].request_stop("script ended")
        return item
    watch = runner.Watch(observe, alerts.Tracker(resolve({}), 2, 1), str(tmp_path), 0.01, 10, say=lambda _l: None,
                         source="lab <prod>",
                         on_record=lambda rec, s: pages.append(page.render(rec, [x for x in [s] if x], resolve({}))))
    box.append(watch)
    watch.run()
    followed = runner.follow(str(tmp_path))
    assert followed["finished"] and followed["stopped_by"] == "script ended"
    assert len([line for line in followed["lines"] if line.startswith("WATCH ")]) == 4
    kinds = [line.split()[0] for line in followed["lines"]]
    assert kinds[:3] == ["WATCH", "WATCH", "WATCH"] and "ALERT" in kinds
    assert any(line.startswith("WATCH 2026-11-21T22:32:00.000Z health/ready ok/FAIL") and "redis DOWN" in line
               and "not observed: redis: Connection refused" in line for line in followed["lines"])
    # nothing new after the end; a half-written last line is left for the next follow
    assert runner.follow(str(tmp_path), followed["offset"])["lines"] == []
    with open(tmp_path / "timeline.jsonl", "ab") as fh:
        fh.write(b'{"kind": "sample", "at": "x"')
    assert runner.follow(str(tmp_path), followed["offset"])["offset"] == followed["offset"]
    html = pages[-1]
    assert "lab &lt;prod&gt;" in html and "<prod>" not in html  # escaped
    assert "Redis unreachable" in html and 'http-equiv="refresh"' not in html
    assert 'http-equiv="refresh"' in pages[0]  # reloads itself while the watch runs


def test_alert_windows_on_the_page_end_at_their_clearing_or_now():
    events = [{"event": "raised", "rule": "redis", "name": "Redis unreachable", "at": "2026-11-21T22:32:15Z"},
              {"event": "cleared", "rule": "redis", "name": "Redis unreachable", "at": "2026-11-21T22:33:00Z"},
              {"event": "raised", "rule": "health", "name": "health check failing", "at": "2026-11-21T22:34:00Z"}]
    wins = page.windows(events, page.epoch("2026-11-21T22:35:00Z"))
    expected = [("Redis unreachable", 45.0), ("health check failing (active)", 60.0)]
    assert [(w["label"], w["end"] - w["start"]) for w in wins] == expected
