"""lab-b's job runner: a cron-style process inside the backend container (no worker service). Every
few seconds it runs the skill-score job, unless the exam lock is on, when it logs that it skipped."""
from __future__ import annotations

import signal
import sys
import time

from examlab import db, logs
from examlab_b.app import LockCache
from examlab_b.config import BConfig
from examlab_b.server import setup_logs


def run_once(pool, cfg, lock: LockCache) -> None:
    locked, source = lock.locked()
    if locked:
        logs.emit("info", "cron.skip", job="skill_scores", reason="EXAM_LOCK", source=source)
        return
    with pool.transaction() as cur:
        db.execute(cur,
                   "INSERT INTO skill_scores (candidate, skill, score) "
                   "SELECT a.candidate, b.skill, avg(r.scored::int) FROM attempts a "
                   "JOIN responses r ON r.attempt_id = a.id JOIN bank_items b ON b.id = r.item_id "
                   "WHERE a.state = 'DONE' GROUP BY a.candidate, b.skill "
                   "ON CONFLICT (candidate, skill) DO UPDATE SET score = EXCLUDED.score", None, cfg)
        rows = cur.rowcount
    logs.emit("info", "cron.ran", job="skill_scores", rows=rows)


def main() -> int:
    setup_logs()
    cfg = BConfig.from_env()
    pool = db.Pool(cfg, application_name=f"assess_cron:{cfg.host}")
    lock = LockCache(cfg, pool)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        started = time.monotonic()
        try:
            run_once(pool, cfg, lock)
        except Exception as exc:  # noqa: BLE001 - a failed run is logged, the next one tries again
            logs.emit("error", "cron.failed", error=repr(exc)[:200])
        time.sleep(max(0.5, cfg.cron_every - (time.monotonic() - started)))


if __name__ == "__main__":
    sys.exit(main())
