# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live watch's loop: one sample per interval until its bound (or SIGTERM/SIGINT), each sample
judged by the alert tracker, every sample and alert appended to the timeline as one JSON line, each
alert printed as one line and POSTed to the optional webhook, and the record rewritten atomically
every interval, so it is complete and valid whenever the watch ends. It only reads the platform:
`observe` gathers what one interval saw; when it fails (the platform is down) the failure is the
sample's, and the watch goes on."""
from __future__ import annotations

import datetime
import json
import os
import signal
import threading
import time
import urllib.error

from ansible.module_utils.urls import open_url
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe, write_private
from ansible_collections.examday.ops.plugins.module_utils._evidence import names
from ansible_collections.examday.ops.plugins.module_utils._watch import alerts

WEBHOOK_TIMEOUT_S = 5.0


def utc_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def post(url: str, body: bytes, timeout: float = WEBHOOK_TIMEOUT_S) -> str | None:
    """POSTs one alert; returns None when delivered, else why not (one sentence, never the URL's secrets)."""
    try:
        with open_url(url, data=body, method="POST", headers={"Content-Type": "application/json"},
                      timeout=timeout) as resp:
            if 200 <= resp.status < 300:
                return None
            return f"the webhook answered HTTP {resp.status}"
    except urllib.error.HTTPError as exc:
        return f"the webhook answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"the webhook could not be reached: {getattr(exc, 'reason', exc)}"


class Watch:
    def __init__(self, observe, tracker: alerts.Tracker, out_dir: str, interval: float, minutes: float,
                 say, webhook: str = "", webhook_format: str = "json", source: str = "", meta: dict | None = None):
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
        self.stop = threading.Event()
        self.stopped_by = None
        self.record = {"started_at": utc_iso(), "finished_at": None, "stopped_by": None, "source": source,
                       "interval_s": self.interval, "minutes": self.minutes, "samples": 0, "failed_samples": 0,
                       "alerts": [], "active": [], "webhook": {"configured": bool(webhook), "sent": 0, "errors": []},
                       "last_sample": None, **(meta or {})}

    def request_stop(self, reason: str) -> None:
        """Ends the watch after the sample in progress; the record says why."""
        self.stopped_by = reason
        self.stop.set()

    def _signal(self, signum, _frame) -> None:
        self.request_stop(signal.Signals(signum).name)

    def _append(self, kind: str, data: dict) -> None:
        line = json.dumps({"kind": kind, **json_safe(data)}, sort_keys=True)
        with open(os.path.join(self.out_dir, names.WATCH_TIMELINE), "a", encoding="utf-8") as fh:
            fh.write(line + "\n")  # one write per line: a reader never sees half a record

    def _write_record(self) -> None:
        self.record["active"] = self.tracker.active()
        write_private(os.path.join(self.out_dir, names.WATCH_RECORD),
                      json.dumps(json_safe(self.record), indent=1, sort_keys=True).encode("utf-8"), names.WATCH_RECORD)

    def _tick(self, previous: dict | None) -> dict:
        at = utc_iso()
        try:
            sample = self.observe(at, previous)
        except Exception as exc:  # pylint: disable=broad-except  # a failed observation is the sample's
            sample = {"at": at, "error": str(exc) or type(exc).__name__}
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
        self._write_record()
        return sample

    def run(self) -> dict:
        os.makedirs(self.out_dir, exist_ok=True)
        previous_handlers = {s: signal.signal(s, self._signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._write_record()
            end = time.monotonic() + self.minutes * 60.0
            previous = None
            while not self.stop.is_set() and time.monotonic() < end:
                started = time.monotonic()
                previous = self._tick(previous)
                self.stop.wait(max(0.0, min(self.interval - (time.monotonic() - started), end - time.monotonic())))
        finally:
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
            self.record["finished_at"] = utc_iso()
            self.record["stopped_by"] = self.stopped_by or "bound"
            self._write_record()
        return self.record
