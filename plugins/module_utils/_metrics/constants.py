# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The constants the metrics files share: evidence file names, thresholds, the not-measured prefix.

Defined once here and imported by every writer and reader (the sampler, the capture, the scans)."""
from __future__ import annotations

# Files of the metrics evidence directory (`output_dir`).
STATS_FILE = "stats.jsonl"
DB_SAMPLES_FILE = "db_samples.jsonl"
METRICS_FILE = "metrics.json"
STOP_FILE = "stop"
REDIS_INFO_FILE = "redis-info.txt"
PROMETHEUS_FILE = "prometheus.json"
EDGE_LOG_FILE = "edge.log"
EDGE_ERROR_LOG_FILE = "edge-error.log"
# Per container; `name` is the container's name through files.safe_filename().
BACKEND_LOG_FILE = "backend-{name}.log"
BACKEND_STDERR_LOG_FILE = "backend-{name}.stderr.log"
WORKER_LOG_FILE = "worker-{name}.log"

# The key under which _docker_cli puts `docker logs --timestamps`' own time stamp into a record.
DOCKER_TS = "docker_ts"
# Slow SQL and slow request thresholds (ms): the counts at and above each.
SLOW_SQL_MS = (100.0, 300.0)
SLOW_REQUEST_MS = (500.0, 1500.0)
# A statement in a report is truncated to this many characters.
STATEMENT_CHARS = 200
# Every note of a capture that could not be measured starts so.
NOT_MEASURED = "not measured: "
