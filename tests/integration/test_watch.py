"""The live watch against the lab: Redis stopped while it watches raises the alert (printed live,
POSTed to a receiver this test starts) and clears it when Redis returns, the timeline shows the
outage, and SIGTERM to the watch leaves a complete, valid record. It changes nothing."""
from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import threading
import time

from tests.integration.conftest import ROOT, VENV_BIN
from tests.integration.test_redis import redis_stopped


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook on loopback that keeps every POSTed body."""

    def __init__(self):
        self.bodies: list = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (the stdlib's name)
                length = int(self.headers.get("Content-Length") or 0)
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/hooks/T0KEN-secret"


def wait_for(what: str, check, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} within {timeout:g} s")


def timeline(watch_dir: str) -> list[dict]:
    path = os.path.join(watch_dir, "timeline.jsonl")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines()]


def alert(watch_dir: str, event: str, rule: str):
    return next((e for e in timeline(watch_dir) if e["kind"] == "alert" and e["event"] == event and e["rule"] == rule),
                None)


def test_watch_raises_and_clears_a_redis_outage_live_and_sigterm_leaves_a_valid_record(lab, tmp_path):
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    reports, out = tmp_path / "reports", tmp_path / "watch.out"
    flag_before = lab.flag()
    with open(out, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(  # noqa: S603  (our own venv's ansible-playbook)
            [os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventories", "local"),
             os.path.join(ROOT, "playbooks", "watch.yml"), "-e", "watch_minutes=5", "-e", "watch_interval=2",
             "-e", "watch_raise_after=2", "-e", "watch_clear_after=2", "-e", f"watch_webhook={receiver.url}",
             "-e", f"examday_reports_dir={reports}"],
            cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PWD": ROOT})
    try:
        watch_dir = wait_for("the watch's directory", lambda: next(
            (str(p) for p in reports.glob("watch-lab-*")), None) if reports.exists() else None, 60)
        record_path = os.path.join(watch_dir, "watch.json")
        wait_for("three samples of the healthy lab", lambda: sum(
            1 for e in timeline(watch_dir) if e["kind"] == "sample") >= 3, 60)
        healthy = [e for e in timeline(watch_dir) if e["kind"] == "sample"][-1]
        assert healthy["health_ok"] and healthy["ready_ok"] and healthy["redis_ok"] is True
        assert healthy["backends_running"] == 2 and healthy["db_connections"] > 0 and healthy["requests"] is not None

        with redis_stopped(lab):
            raised = wait_for("the Redis alert", lambda: alert(watch_dir, "raised", "redis"), 40)
            # printed live, while the watch still runs
            wait_for("the alert's line in the playbook's output", lambda: "Redis unreachable: in 2 samples in a row"
                     in out.read_text(encoding="utf-8"), 20)
            assert proc.poll() is None
        cleared = wait_for("the Redis alert cleared", lambda: alert(watch_dir, "cleared", "redis"), 60)

        assert raised["runbook"]["section"] == "Redis Failure" and "Connection refused" in raised["detail"]
        assert cleared["raised_at"] == raised["at"]
        samples = [e for e in timeline(watch_dir) if e["kind"] == "sample"]
        outage = [s for s in samples if s["redis_ok"] is False]  # the timeline shows the outage
        assert len(outage) >= 2 and outage[1]["at"] == raised["at"] and outage[-1]["at"] < cleared["at"]
        assert all("redis" in s["errors"] for s in outage)
        assert samples[-1]["redis_ok"] is True and samples[-1]["at"] >= cleared["at"]

        # the webhook received both, as JSON with the runbook's steps
        hooks = [b for b in receiver.bodies if b["rule"] == "redis"]
        assert [h["event"] for h in hooks] == ["raised", "cleared"]
        assert hooks[0]["runbook"]["steps"][0].startswith("Expected: rate limiting is bypassed")

        with open(record_path, encoding="utf-8") as fh:
            pid = json.load(fh)["pid"]
        os.kill(pid, signal.SIGTERM)  # the watch's own process (this test started the playbook)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        receiver.shutdown()

    with open(record_path, encoding="utf-8") as fh:
        record = json.load(fh)
    assert record["stopped_by"] == "SIGTERM" and record["finished_at"] and record["samples"] == len(timeline(watch_dir))\
        - len([e for e in timeline(watch_dir) if e["kind"] == "alert"])
    assert "redis" not in record["active"] and record["webhook"]["sent"] >= 2 and record["webhook"]["errors"] == []
    page = open(os.path.join(watch_dir, "watch.html"), encoding="utf-8").read()
    assert "Redis unreachable" in page and "<svg" in page and 'http-equiv="refresh"' not in page  # finished
    output = out.read_text(encoding="utf-8")
    assert "watch SIGTERM after" in output
    # the webhook's URL (its token) appears nowhere, and the watch changed nothing
    for text in (output, json.dumps(record), page, open(os.path.join(watch_dir, "timeline.jsonl")).read()):
        assert "T0KEN-secret" not in text
    assert lab.flag() == flag_before
    assert sorted(os.listdir(watch_dir)) == ["timeline.jsonl", "watch.followed", "watch.html", "watch.json"]
