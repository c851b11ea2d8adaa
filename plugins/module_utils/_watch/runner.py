# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live watch's loop: one sample per interval until its bound (or SIGTERM/SIGINT), each sample
judged by the alert tracker, every sample and alert appended to the timeline as one JSON line, each
alert printed as one line and POSTed to the optional webhook, and the record rewritten atomically
every interval, so it is complete and valid whenever the watch ends. It only reads the platform:
`observe` gathers what one interval saw; when it fails the sample says so (observed_ok false, which
the "observation" alert judges) and the watch goes on. A signal only sets a flag (the loop sleeps in
short slices and looks at it), and the default handlers come back after the first one, so a second
Ctrl-C ends even a hung observation."""
from __future__ import annotations

import datetime
import json
import os
import signal
import time

from ansible.module_utils.urls import open_url
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe, write_private
from ansible_collections.examday.ops.plugins.module_utils._evidence import names
from ansible_collections.examday.ops.plugins.module_utils._watch import alerts

WEBHOOK_TIMEOUT_S = 5.0
SLICE_S = 0.2  # the longest the loop sleeps before it looks at the stop flag again


def utc_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def post(url: str, body: bytes, timeout: float = WEBHOOK_TIMEOUT_S) -> str | None:
    """POSTs one alert; returns None when delivered, else why not, in one sentence that never holds the
    URL (a webhook URL often carries its token). Whatever goes wrong is the answer, never an exception."""
    try:
        with open_url(url, data=body, method="POST", headers={"Content-Type": "application/json"},
                      timeout=timeout) as resp:
            if 200 <= resp.status < 300:
                return None
            return f"the webhook answered HTTP {resp.status}"
    except Exception as exc:  # pylint: disable=broad-except  # a failed alert delivery never ends the watch
        code = getattr(exc, "code", None)
        if isinstance(code, int):
            return f"the webhook answered HTTP {code}"
        reason = str(getattr(exc, "reason", None) or exc or type(exc).__name__).replace(url, "<webhook>")
        return f"the webhook could not be reached: {reason}"


class Watch:
    def __init__(self, observe, tracker: alerts.Tracker, out_dir: str, interval: float, minutes: float,
                 say, webhook: str = "", webhook_format: str = "json", source: str = "", meta: dict | None = None,
                 stop_file: str | None = None, on_record=None, heartbeat_timeout: float | None = None):
        if not interval > 0:
            raise OpsError(f"watch interval must be above 0 seconds, got {interval!r}.")
        if not minutes > 0:
            raise OpsError(f"watch minutes must be above 0 (the watch always has a bound), got {minutes!r}.")
        if webhook_format not in ("json", "slack"):
            raise OpsError(f"watch webhook format must be json or slack, got {webhook_format!r}.")
        if webhook and not webhook.startswith(("http://", "https://")):
            raise OpsError("watch webhook must be an http:// or https:// URL.")
        self.observe, self.tracker, self.out_dir = observe, tracker, out_dir
        self.interval, self.minutes = float(interval), float(minutes)
        self.webhook, self.webhook_format, self.source, self.say = webhook, webhook_format, source, say
        self.stop_file, self.on_record = stop_file, on_record
        # Run through the action plugin, every follow touches the heartbeat file; when the controller is
        # gone (Ctrl-C ends Ansible's worker at once, an ssh link drops) the watch ends instead of
        # watching, and paging, unfollowed until its bound.
        self.heartbeat = os.path.join(out_dir, names.WATCH_HEARTBEAT) if heartbeat_timeout else None
        self.heartbeat_timeout = heartbeat_timeout
        self.stopping = False
        self.stopped_by = None
        self.previous_handlers: dict = {}
        self.record = {"started_at": utc_iso(), "finished_at": None, "stopped_by": None, "source": source,
                       "interval_s": self.interval, "minutes": self.minutes, "samples": 0, "failed_samples": 0,
                       "alerts": [], "active": [], "webhook": {"configured": bool(webhook), "sent": 0, "errors": []},
                       "last_sample": None, "pid": os.getpid(), **(meta or {})}

    def request_stop(self, reason: str) -> None:
        """Ends the watch after the sample in progress; the record says why."""
        self.stopped_by = self.stopped_by or reason
        self.stopping = True

    def _signal(self, signum, _frame) -> None:
        self.request_stop(signal.Signals(signum).name)
        self._restore_handlers()  # a second signal acts at once

    def _restore_handlers(self) -> None:
        for signum, handler in self.previous_handlers.items():
            signal.signal(signum, handler)
        self.previous_handlers = {}

    def _stop_file_seen(self) -> bool:
        if self.stop_file and os.path.exists(self.stop_file):
            self.request_stop("stop file")
        if self.heartbeat:
            try:
                quiet = time.time() - os.stat(self.heartbeat).st_mtime
            except OSError:
                quiet = 0.0  # not created yet: run() creates it
            if quiet > self.heartbeat_timeout:
                self.request_stop(f"not followed for {quiet:.0f} s (the controller is gone)")
        return self.stopping

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop_file_seen() and (left := end - time.monotonic()) > 0:
            time.sleep(min(SLICE_S, left))

    def _append(self, kind: str, data: dict) -> None:
        line = json.dumps({"kind": kind, **json_safe(data)}, sort_keys=True) + "\n"
        fd = os.open(os.path.join(self.out_dir, names.WATCH_TIMELINE), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))  # one write per line: a reader never sees half a record
        finally:
            os.close(fd)

    def _write_record(self, sample: dict | None = None) -> None:
        self.record["active"] = self.tracker.active()
        write_private(os.path.join(self.out_dir, names.WATCH_RECORD),
                      json.dumps(json_safe(self.record), indent=1, sort_keys=True).encode("utf-8"), names.WATCH_RECORD)
        if self.on_record is not None:  # e.g. the page beside the record, rewritten with it
            self.on_record(self.record, sample)

    def _tick(self, previous: dict | None) -> dict:
        at = utc_iso()
        try:
            sample = self.observe(at, previous)
        except Exception as exc:  # pylint: disable=broad-except  # a failed observation is the sample's
            sample = {"at": at, "observed_ok": False, "error": str(exc) or type(exc).__name__}
            self.record["failed_samples"] += 1
        self.record["samples"] += 1
        self.record["last_sample"] = sample
        self._append("sample", sample)
        for event in self.tracker.feed(sample, at):
            self._append("alert", event)
            self.record["alerts"].append(event)
            self.say(alerts.line(event))
            if self.webhook:
                error = post(self.webhook, alerts.payload(event, self.webhook_format, self.source))
                if error is None:
                    self.record["webhook"]["sent"] += 1
                else:
                    self.record["webhook"]["errors"].append({"at": at, "rule": event["rule"], "error": error})
                    self.say(f"WEBHOOK {at}: {error}")
        self._write_record(sample)
        return sample

    def run(self) -> dict:
        os.makedirs(self.out_dir, exist_ok=True)
        if self.stop_file and os.path.exists(self.stop_file):
            os.unlink(self.stop_file)  # left by an earlier watch: this one has not been asked to stop
        if self.heartbeat:
            touch(self.heartbeat)
        self.previous_handlers = {s: signal.signal(s, self._signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._write_record()
            end = time.monotonic() + self.minutes * 60.0
            previous = None  # the last sample that was observed: restarts are counted against it
            while not self._stop_file_seen() and time.monotonic() < end:
                started = time.monotonic()
                sample = self._tick(previous)
                if sample.get("observed_ok") is not False and sample.get("restart_counts") is not None:
                    previous = sample  # the baseline of restarts: the last sample that saw the containers
                self._sleep(min(self.interval - (time.monotonic() - started), end - time.monotonic()))
        except Exception as exc:  # the record says why the watch ended, then the caller fails with it
            self.request_stop(f"error: {exc}")
            raise
        finally:
            self._restore_handlers()
            self.record["finished_at"] = utc_iso()
            self.record["stopped_by"] = self.stopped_by or "bound"
            self._write_record()
        return self.record


def touch(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    os.utime(path, None)


def follow(out_dir: str, offset: int = 0, max_bytes: int = 1 << 20) -> dict:
    """What the watch in out_dir appended since byte `offset`: one line per sample and per alert (as
    the watch prints them), the offset to ask from next time (only whole lines are consumed), and
    whether its record says it finished. It reads the watch's files and touches only its heartbeat
    (the watch knows it is still followed)."""
    heartbeat = os.path.join(out_dir, names.WATCH_HEARTBEAT)
    if os.path.isdir(out_dir):
        touch(heartbeat)
    from ansible_collections.examday.ops.plugins.module_utils._watch import sample as sample_mod

    path = os.path.join(out_dir, names.WATCH_TIMELINE)
    lines, data = [], b""
    if os.path.exists(path):
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(max_bytes)
    end = data.rfind(b"\n") + 1
    for raw in data[:end].splitlines():
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        kind = item.pop("kind", None)
        if kind == "alert":
            lines.append(alerts.line(item))
        elif kind == "sample":
            lines.append(sample_mod.status_line(item))
    record = {}
    record_path = os.path.join(out_dir, names.WATCH_RECORD)
    if os.path.exists(record_path):
        with open(record_path, encoding="utf-8") as fh:
            record = json.load(fh)
    return {"offset": offset + end, "lines": lines, "finished": bool(record.get("finished_at")),
            "stopped_by": record.get("stopped_by"), "pid": record.get("pid")}
