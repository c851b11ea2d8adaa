# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The constants the metrics files share: evidence file names (from the contract), thresholds, the not-measured prefix.

Defined once here and imported by every writer and reader (the sampler, the capture, the scans)."""
from __future__ import annotations

from ansible_collections.examday.ops.plugins.module_utils._evidence import names

# Files of the metrics evidence directory (`output_dir`): the evidence contract's (_evidence/names.py).
STATS_FILE = names.STATS
DB_SAMPLES_FILE = names.DB_SAMPLES
METRICS_FILE = names.METRICS
STOP_FILE = names.STOP
REDIS_INFO_FILE = names.REDIS_INFO
PROMETHEUS_FILE = names.PROMETHEUS
EDGE_LOG_FILE = names.EDGE_LOG
EDGE_ERROR_LOG_FILE = names.EDGE_ERROR_LOG
# Per container; `name` is the container's name through files.safe_filename().
BACKEND_LOG_FILE = names.BACKEND_LOG
BACKEND_STDERR_LOG_FILE = names.BACKEND_STDERR_LOG
WORKER_LOG_FILE = names.WORKER_LOG

# The key under which _docker_cli puts `docker logs --timestamps`' own time stamp into a record.
DOCKER_TS = "docker_ts"
# Slow SQL and slow request thresholds (ms): the counts at and above each.
SLOW_SQL_MS = (100.0, 300.0)
SLOW_REQUEST_MS = (500.0, 1500.0)
# A statement in a report is truncated to this many characters.
STATEMENT_CHARS = 200
# Every note of a capture that could not be measured starts so.
NOT_MEASURED = "not measured: "
