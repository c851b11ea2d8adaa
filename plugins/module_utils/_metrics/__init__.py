# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nine captures of a rehearsal (seed 000's capture-metrics) over a time window.

Pure functions turn what was gathered (docker stats and logs, pg_stat_activity rows, Redis INFO
text, Prometheus answers) into the `metrics.json` sections; `Sampler` and `Capture` gather through
injected collaborators (a command runner, a database connector, a Redis reader, an HTTP transport),
so that unit tests run them on recorded real outputs without a daemon.

One concern per file: constants (file names, thresholds), timewin, scrub, files, logscan,
dbsample, containers, redisinfo, prometheus, sampler, registry (the captures), capture. New code
imports those submodules by their full path; the names below are re-exported for the unit tests
that predate the split."""
from __future__ import annotations

from ansible_collections.examday.ops.plugins.module_utils._metrics.capture import Capture
from ansible_collections.examday.ops.plugins.module_utils._metrics.constants import (
    DB_SAMPLES_FILE, METRICS_FILE, NOT_MEASURED, STATEMENT_CHARS, STATS_FILE, STOP_FILE)
from ansible_collections.examday.ops.plugins.module_utils._metrics.containers import (
    container_series, slope_per_minute, stats_lines)
from ansible_collections.examday.ops.plugins.module_utils._metrics.dbsample import (
    DB_SAMPLE_SQL, SESSION_QUERIES, DbSampler, db_pool_summary, db_sample, run_session_queries, shape_rows)
from ansible_collections.examday.ops.plugins.module_utils._metrics.files import append_lines, read_jsonl
from ansible_collections.examday.ops.plugins.module_utils._metrics.logscan import (
    EDGE_FIELDS, BackendScan, EdgeScan, TopN, iter_lines, normalize_statement, traceability)
from ansible_collections.examday.ops.plugins.module_utils._metrics.prometheus import (
    PROMETHEUS_QUERIES, prometheus_capture, prometheus_get, query_result, query_specs)
from ansible_collections.examday.ops.plugins.module_utils._metrics.redisinfo import (
    REDIS_FIELDS, parse_redis_info, redis_failure, redis_info_text, redis_summary)
from ansible_collections.examday.ops.plugins.module_utils._metrics.sampler import Sampler
from ansible_collections.examday.ops.plugins.module_utils._metrics.scrub import scrub
from ansible_collections.examday.ops.plugins.module_utils._metrics.timewin import (
    iso, parse_ts, resolve_window, utc_now)

__all__ = [
    "BackendScan", "Capture", "DB_SAMPLES_FILE", "DB_SAMPLE_SQL", "DbSampler", "EDGE_FIELDS", "EdgeScan",
    "METRICS_FILE", "NOT_MEASURED", "PROMETHEUS_QUERIES", "REDIS_FIELDS", "SESSION_QUERIES", "STATEMENT_CHARS",
    "STATS_FILE", "STOP_FILE", "Sampler", "TopN", "append_lines", "container_series", "db_pool_summary", "db_sample",
    "iso", "iter_lines", "normalize_statement", "parse_redis_info", "parse_ts", "prometheus_capture",
    "prometheus_get", "query_result", "query_specs", "read_jsonl", "redis_failure", "redis_info_text",
    "redis_summary", "resolve_window", "run_session_queries", "scrub", "shape_rows", "slope_per_minute",
    "stats_lines", "traceability", "utc_now",
]
