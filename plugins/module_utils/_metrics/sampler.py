# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`action: sample`: docker stats and pg_stat_activity samples appended during the load."""
from __future__ import annotations

import os
import time
from typing import Callable

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, run_checked
from ansible_collections.examday.ops.plugins.module_utils._metrics.constants import DB_SAMPLES_FILE, STATS_FILE, STOP_FILE
from ansible_collections.examday.ops.plugins.module_utils._metrics.containers import stats_lines
from ansible_collections.examday.ops.plugins.module_utils._metrics.dbsample import DbSampler
from ansible_collections.examday.ops.plugins.module_utils._metrics.files import append_lines, ensure_dir
from ansible_collections.examday.ops.plugins.module_utils._metrics.timewin import iso, utc_now


class Sampler:
    """`action: sample`: docker stats of the project's running containers and pg_stat_activity counts,
    every `interval` seconds until `duration` has passed or the stop file appears."""

    def __init__(self, runner, project: str, output_dir: str, interval: float, duration: float,
                 db_sampler: DbSampler | None = None, now: Callable = utc_now, monotonic: Callable = time.monotonic,
                 sleep: Callable = time.sleep, write: bool = True, max_errors: int = 20):
        self.runner = runner
        self.project = project
        self.dir = output_dir
        self.interval = interval
        self.duration = duration
        self.db = db_sampler
        self.now = now
        self.monotonic = monotonic
        self.sleep = sleep
        self.write = write
        self.max_errors = max_errors
        self.errors: list = []
        self.error_count = 0
        self.stop_path = os.path.join(output_dir, STOP_FILE)

    def _error(self, ts: str, what: str, msg: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            self.errors.append({"ts": ts, "what": what, "msg": msg})

    def sample_once(self) -> tuple[list[dict], dict | None]:
        """One round: (stats lines, db sample line); failures are recorded, not raised."""
        stats: list = []
        try:
            ids = _docker_cli.container_ids(self.runner, self.project, all_states=False)
            if ids:
                out = run_checked(self.runner, _docker_cli.stats_argv(ids), "docker stats")
                stats = stats_lines(iso(self.now()), out)
        except OpsError as exc:
            self._error(iso(self.now()), "docker stats", exc.msg)
        db = None
        if self.db is not None:
            ts = iso(self.now())
            try:
                db = self.db.sample(ts)
            except OpsError as exc:
                self._error(ts, "db", exc.msg)
                db = {"ts": ts, "kind": "db", "error": exc.msg}
        return stats, db

    def _wait(self, until: float) -> bool:
        """Sleeps until `until` (monotonic); False when the stop file appeared meanwhile."""
        while True:
            if os.path.exists(self.stop_path):
                return False
            left = until - self.monotonic()
            if left <= 0:
                return True
            self.sleep(min(0.25, left))

    def run(self) -> dict:
        started = self.now()
        result = {"started_at": iso(started), "rounds": 0, "stats_samples": 0, "db_samples": 0, "containers": [],
                  "stopped_by": "duration", "removed_stale_stop_file": False}
        if self.write:
            ensure_dir(self.dir)
            if os.path.exists(self.stop_path):
                os.remove(self.stop_path)
                result["removed_stale_stop_file"] = True
        containers: set = set()
        start = self.monotonic()
        deadline = start + self.duration
        try:
            while True:
                if os.path.exists(self.stop_path):
                    result["stopped_by"] = "stop_file"
                    break
                tick = self.monotonic()
                stats, db = self.sample_once()
                result["rounds"] += 1
                result["stats_samples"] += len(stats)
                containers.update(s["container"] for s in stats if s.get("container"))
                if db is not None and "error" not in db:
                    result["db_samples"] += 1
                if self.write:
                    append_lines(os.path.join(self.dir, STATS_FILE), stats)
                    append_lines(os.path.join(self.dir, DB_SAMPLES_FILE), [db] if db else [])
                else:
                    result["sample"] = {"stats": stats, "db": db}
                    break
                if not self._wait(min(tick + self.interval, deadline)):
                    result["stopped_by"] = "stop_file"
                    break
                if self.monotonic() >= deadline:
                    break
        finally:
            if self.db is not None:
                self.db.close()
        result.update(finished_at=iso(self.now()), containers=sorted(containers), errors=self.errors,
                      error_count=self.error_count)
        if self.write:
            result["files"] = {"stats": STATS_FILE, "db_samples": DB_SAMPLES_FILE}
        return result
