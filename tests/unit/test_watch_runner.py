"""The live watch's loop: samples and alerts in the timeline, alerts printed and POSTed to a real
local HTTP receiver, a failed observation recorded without stopping the watch, the bound, and a
SIGTERM that leaves a complete, valid record."""
from __future__ import annotations

import http.server
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._evidence import names
from ansible_collections.examday.ops.plugins.module_utils._thresholds import resolve
from ansible_collections.examday.ops.plugins.module_utils._watch import alerts, runner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEALTHY = {"observed_ok": True, "health_ok": True, "ready_ok": True, "error_rate_pct": 0.0, "p95_ms": 80.0}
DOWN = {"observed_ok": True, "health_ok": False, "ready_ok": False, "error_rate_pct": None, "p95_ms": None}


def scripted(watch_box: list, samples: list, seen: list | None = None):
    """observe() answering the given samples in order (an exception is raised), then ending the watch;
    `seen` collects the previous sample each call was given."""
    queue = list(samples)

    def observe(at, previous):
        if seen is not None:
            seen.append(previous)
        item = queue.pop(0)
        if not queue:
            watch_box[0].request_stop("script ended")
        if isinstance(item, Exception):
            raise item
        return {"at": at, **item}
    return observe


def read_timeline(directory) -> list[dict]:
    with open(os.path.join(directory, names.WATCH_TIMELINE), encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def read_record(directory) -> dict:
    with open(os.path.join(directory, names.WATCH_RECORD), encoding="utf-8") as fh:
        return json.load(fh)


class Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        Receiver.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args):
        pass


@pytest.fixture
def receiver():
    Receiver.bodies = []
    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", Receiver.bodies
    server.shutdown()
    server.server_close()


def test_an_outage_is_alerted_posted_recorded_and_cleared(tmp_path, receiver):
    url, bodies = receiver
    said, box = [], []
    samples = [HEALTHY, DOWN, DOWN, RuntimeError("connection refused"), DOWN, HEALTHY, HEALTHY, HEALTHY]
    watch = runner.Watch(scripted(box, samples), alerts.Tracker(resolve({}), raise_after=2, clear_after=2),
                         str(tmp_path), interval=0.01, minutes=10, webhook=url, webhook_format="slack",
                         source="lab", say=said.append)
    box.append(watch)
    record = watch.run()
    assert record["stopped_by"] == "script ended"
    timeline = read_timeline(tmp_path)
    kinds = [t["kind"] for t in timeline]
    assert kinds.count("sample") == 8 and kinds.count("alert") == 4
    failed = [t for t in timeline if t["kind"] == "sample" and "error" in t]
    assert len(failed) == 1 and failed[0]["error"] == "connection refused" and failed[0]["observed_ok"] is False
    events = [(t["event"], t["rule"]) for t in timeline if t["kind"] == "alert"]
    assert events == [("raised", "health"), ("raised", "readiness"), ("cleared", "health"), ("cleared", "readiness")]
    assert [s.split(" ")[0] for s in said] == ["ALERT", "ALERT", "CLEARED", "CLEARED"]
    assert len(bodies) == 4 and all(list(b) == ["text"] and b["text"].startswith("[lab] ") for b in bodies)
    on_disk = read_record(tmp_path)
    assert on_disk == json.loads(json.dumps(record))
    assert on_disk["samples"] == 8 and on_disk["failed_samples"] == 1 and on_disk["active"] == []
    assert on_disk["webhook"] == {"configured": True, "sent": 4, "errors": []} and on_disk["finished_at"]
    assert oct(os.stat(tmp_path / names.WATCH_RECORD).st_mode & 0o777) == "0o600"


def garbage_server():
    """A local server that answers every connection with a line that is not HTTP."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve():
        while True:
            try:
                conn, _addr = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"not http at all\r\n\r\n")
    threading.Thread(target=serve, daemon=True).start()
    return server


@pytest.mark.parametrize("kind", ["refused", "garbage"])
def test_a_failing_webhook_is_recorded_and_the_watch_goes_on(tmp_path, kind):
    with socket.socket() as bound:  # bound but not listening: connections are refused, and the port stays ours
        bound.bind(("127.0.0.1", 0))
        server = garbage_server() if kind == "garbage" else None
        port = (server or bound).getsockname()[1]
        url = f"http://127.0.0.1:{port}/services/T000/B000/secret-token"
        said, box = [], []
        try:
            watch = runner.Watch(scripted(box, [DOWN, DOWN, DOWN]), alerts.Tracker(resolve({}), raise_after=1),
                                 str(tmp_path), interval=0.01, minutes=10, webhook=url, say=said.append)
            box.append(watch)
            record = watch.run()
        finally:
            if server:
                server.close()
    assert record["samples"] == 3 and record["webhook"]["sent"] == 0 and record["stopped_by"] == "script ended"
    assert [e["rule"] for e in record["webhook"]["errors"]] == ["health", "readiness"]
    assert all(e["error"].startswith("the webhook could not be reached") for e in record["webhook"]["errors"])
    assert any(s.startswith("WEBHOOK ") for s in said) and sorted(record["active"]) == ["health", "readiness"]
    written = json.dumps(read_record(tmp_path)) + json.dumps(read_timeline(tmp_path)) + "".join(said)
    assert "secret-token" not in written


def test_restarts_are_counted_against_the_last_sample_that_saw_the_containers(tmp_path):
    seen, box = [], []
    saw = dict(HEALTHY, restart_counts={"backend-1": 0}, started={"backend-1": "t0"})
    blind = dict(HEALTHY, restart_counts=None, started=None)  # docker inspect timed out in that interval
    watch = runner.Watch(scripted(box, [saw, RuntimeError("docker: timeout"), blind, dict(saw)], seen),
                         alerts.Tracker(resolve({})), str(tmp_path), interval=0.01, minutes=10, say=lambda _s: None)
    box.append(watch)
    watch.run()
    # neither a failed observation nor one without the containers replaces the baseline of restarts
    assert seen[0] is None and seen[1]["restart_counts"] == {"backend-1": 0} and seen[2] is seen[1]
    assert seen[3] is seen[1]


def test_a_watch_nobody_follows_any_more_ends_by_itself(tmp_path):
    watch = runner.Watch(lambda at, _p: {"at": at, **HEALTHY}, alerts.Tracker(resolve({})), str(tmp_path),
                         interval=0.05, minutes=10, say=lambda _s: None, heartbeat_timeout=0.5)
    record = watch.run()  # nothing follows: the heartbeat run() created goes stale after 0.5 s
    assert record["stopped_by"].startswith("not followed for ") and record["stopped_by"].endswith("(the controller is gone)")
    assert record["finished_at"] and os.stat(tmp_path / "watch.followed").st_mode & 0o777 == 0o600
    followed = runner.follow(str(tmp_path))  # a follow touches the heartbeat and reads the lines
    assert followed["finished"] and followed["lines"] and time.time() - os.stat(tmp_path / "watch.followed").st_mtime < 5


def test_an_error_in_the_loop_is_the_records_reason_to_stop(tmp_path):
    def say(_line):
        raise OSError("terminal gone")
    watch = runner.Watch(lambda at, _p: {"at": at, "observed_ok": False}, alerts.Tracker(resolve({}), raise_after=1),
                         str(tmp_path), interval=0.01, minutes=10, say=say)
    with pytest.raises(OSError):
        watch.run()
    record = read_record(tmp_path)
    assert record["stopped_by"] == "error: terminal gone" and record["finished_at"]


def test_the_watch_stops_at_its_bound(tmp_path):
    watch = runner.Watch(lambda at, _p: {"at": at, **HEALTHY}, alerts.Tracker(resolve({})), str(tmp_path),
                         interval=0.05, minutes=0.005, say=lambda _s: None)  # 0.3 s
    record = watch.run()
    assert record["stopped_by"] == "bound" and record["samples"] >= 1
    assert len(read_timeline(tmp_path)) == record["samples"]


@pytest.mark.parametrize("kwargs, words", [
    ({"interval": 0}, "interval must be above 0"),
    ({"minutes": 0}, "the watch always has a bound"),
    ({"webhook_format": "xml"}, "must be json or slack"),
    ({"webhook": "ftp://x"}, "must be an http:// or https:// URL"),
])
def test_bad_settings_are_one_sentence(tmp_path, kwargs, words):
    args = {"interval": 1, "minutes": 1, **kwargs}
    with pytest.raises(OpsError, match=words):
        runner.Watch(lambda at, _p: {}, alerts.Tracker(resolve({})), str(tmp_path), say=print, **args)
    assert not os.listdir(tmp_path)


WATCH_SCRIPT = """
import sys
from ansible_collections.examday.ops.plugins.module_utils._thresholds import resolve
from ansible_collections.examday.ops.plugins.module_utils._watch import alerts, runner
w = runner.Watch(lambda at, _p: {"at": at, "health_ok": False}, alerts.Tracker(resolve({}), raise_after=1),
                 sys.argv[1], interval=0.05, minutes=5, say=lambda s: print(s, flush=True))
w.run()
"""


def test_sigterm_leaves_a_complete_valid_record(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "collections")}
    proc = subprocess.Popen([sys.executable, "-c", WATCH_SCRIPT, str(tmp_path)], env=env, stdout=subprocess.PIPE,
                            text=True)
    try:
        ready, _w, _x = select.select([proc.stdout], [], [], 60)
        assert ready and proc.stdout.readline().startswith("ALERT ")  # it is running and has raised its alert
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    record = read_record(tmp_path)
    assert record["stopped_by"] == "SIGTERM" and record["finished_at"] and record["active"] == ["health"]
    assert oct(os.stat(tmp_path / names.WATCH_TIMELINE).st_mode & 0o777) == "0o600"
    assert record["samples"] == len(read_timeline(tmp_path)) - 1  # every sample, and the one alert
