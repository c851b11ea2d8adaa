"""The lab's background-job worker: runs queued heavy jobs and a scheduled mastery recompute,
and idles (logging that it does) while EXAM_MODE is active."""
from __future__ import annotations

import signal
import sys
import threading
import time

from . import db, logs
from .config import Config
from .flags import FlagCache, load_flags

RECOMPUTE_SQL = """
INSERT INTO user_theme_mastery (user_id, theme_id, answered, correct, computed_at)
SELECT s.user_id, q.theme_id, count(*), count(*) FILTER (WHERE a.is_correct), now()
FROM test_sessions s
JOIN session_answers a ON a.session_id = s.id
JOIN questions q ON q.id = a.question_id
WHERE s.status = 'SUBMITTED'
  AND s.user_id IN (SELECT user_id FROM test_sessions WHERE status = 'SUBMITTED' AND submitted_at >= %s)
GROUP BY s.user_id, q.theme_id
ON CONFLICT (user_id, theme_id) DO UPDATE
  SET answered = EXCLUDED.answered, correct = EXCLUDED.correct, computed_at = now()
"""


class Worker:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.pool = db.Pool(cfg, application_name="exam_worker")
        self.flags = FlagCache(cfg, lambda: load_flags(self.pool))
        self.since = "-infinity"

    def recompute(self, since) -> int:
        with self.pool.transaction() as cur:
            db.execute(cur, RECOMPUTE_SQL, (since,), self.cfg)
            return cur.rowcount

    def run_queued(self) -> list:
        done = []
        while True:
            with self.pool.transaction() as cur:
                cur.execute(
                    "UPDATE background_jobs SET status = 'RUNNING', started_at = now() WHERE id = ("
                    "SELECT id FROM background_jobs WHERE status = 'QUEUED' ORDER BY id "
                    "FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id, kind")
                job = cur.fetchone()
            if job is None:
                return done
            rows = self.recompute("-infinity") if job["kind"] == "recompute-mastery" else 0
            with self.pool.transaction() as cur:
                cur.execute("UPDATE background_jobs SET status = 'DONE', finished_at = now(), "
                            "result = jsonb_build_object('rows', %s) WHERE id = %s", (rows, job["id"]))
            done.append(job["kind"])

    def tick(self) -> None:
        active, source = self.flags.exam_mode()
        if active and not self.cfg.defect_worker_ignores_exam_mode:
            with self.pool.transaction() as cur:
                cur.execute("SELECT count(*) AS n FROM background_jobs WHERE status = 'QUEUED'")
                pending = cur.fetchone()["n"]
            logs.emit("info", "job_runner_idle", reason="EXAM_MODE_ACTIVE", source=source, pending_jobs=pending)
            return
        with self.pool.transaction() as cur:
            cur.execute("SELECT now() AS t")
            started = cur.fetchone()["t"]
        jobs = self.run_queued()
        rows = self.recompute(self.since)
        self.since = started
        logs.emit("info", "job_run", job="recompute_mastery", rows=rows, queued_jobs_run=jobs,
                  exam_mode_active=active)


def main() -> int:
    cfg = Config.from_env()
    if not cfg.db_password:
        print("examlab worker: missing required setting DB_PASSWORD", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker = Worker(cfg)
    db.wait_for_db(worker.pool)
    db.migrate(worker.pool)
    logs.emit("info", "worker_started", interval_seconds=cfg.worker_interval,
              ignores_exam_mode=cfg.defect_worker_ignores_exam_mode)
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            worker.tick()
        except Exception as exc:  # a failed tick is logged; the worker keeps going
            logs.emit("error", "job_failed", error=repr(exc)[:300])
        stop.wait(max(0.0, cfg.worker_interval - (time.monotonic() - t0)))
    logs.emit("info", "worker_stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
