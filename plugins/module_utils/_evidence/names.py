# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every file of an evidence directory and the keys its readers rely on (docs/evidence.md).
Writers (modules, and roles through the evidence module) and readers (the report) import these
names; tests/unit/test_evidence_contract.py holds them together."""
from __future__ import annotations

# ------------------------------------------------------------------ files of a run
RUN = "run.json"                 # {playbook, host, environment, profile, started_at, finished_at, problems: [...]}
FAULTS = "faults.json"           # [fault results], in injection order
INTEGRITY = "integrity.json"     # the integrity_check result
UX = "ux.json"                   # the user-experience checks (student_flow)
STATUS = "status.json"           # platform_status's {checks, verdict}: health, readiness, edge, services, DB
CANARY = "canary.jsonl"          # the canary student's ticks
CANARY_STOP = "canary.stop"      # ends the canary
PREVIOUS = "previous.json"       # what the report compared with
REPORT_MD = "report.md"
REPORT_JSON = "report.json"
REPORT_XML = "report.xml"
REPORT_HTML = "report.html"
REPORT_FILES = (REPORT_MD, REPORT_JSON, REPORT_XML, REPORT_HTML)
SMOKE_FLOW = "smoke-flow.json"   # playbooks/smoke.yml's student flow (read by no report)
FREEZE_PREFIX = "freeze-"        # freeze-<host>-<time>.json (the freeze role's record)
UNFREEZE_PREFIX = "unfreeze-"
# The day's records in the reports directory, by kind: <prefix><host>-<YYYYMMDD_HHMMSS>, a directory
# (its report.json, or watch.json) or a .json file. The lessons-learned record reads them all.
DAY_RECORDS = {
    "preflight": ("preflight-", "file"), "freeze": (FREEZE_PREFIX, "file"), "watch": ("watch-", "dir"),
    "emergency_restart": ("emergency_restart-", "dir"), "verify_recovery": ("verify_recovery-", "dir"),
    "post_exam": ("post_exam-", "dir"), "unfreeze": (UNFREEZE_PREFIX, "file"),
    "rollback_guard": ("rollback_guard-", "file"),
}
LESSONS = "lessons-learned-{date}{host}.md"  # in the reports directory, per exam day (and host: "-<host>")

METRICS_DIR = "metrics"
METRICS = "metrics.json"         # in METRICS_DIR
STATS = "stats.jsonl"            # in METRICS_DIR
DB_SAMPLES = "db_samples.jsonl"  # in METRICS_DIR
STOP = "stop"                    # in METRICS_DIR (and next to the canary): ends a background sampler
REDIS_INFO = "redis-info.txt"    # in METRICS_DIR: the raw captures the report lists as appendices
PROMETHEUS = "prometheus.json"
EDGE_LOG = "edge.log"
EDGE_ERROR_LOG = "edge-error.log"
BACKEND_LOG = "backend-{name}.log"          # per container
BACKEND_STDERR_LOG = "backend-{name}.stderr.log"
WORKER_LOG = "worker-{name}.log"

# A live watch's directory (watch-<host>-<time>/): one line per sample and per alert, and the record
# rewritten every interval, valid whenever the watch is stopped.
WATCH_TIMELINE = "timeline.jsonl"  # {"kind": "sample", ...sample} | {"kind": "alert", ...event}
WATCH_RECORD = "watch.json"        # {started_at, finished_at, stopped_by, samples, alerts, active, ...}
WATCH_PAGE = "watch.html"          # the page rewritten with the record (reloads itself while running)
WATCH_STOP = "watch.stop"          # ends the watch after the sample in progress
WATCH_HEARTBEAT = "watch.followed"  # touched by every follow: a watch nobody follows any more ends

LOAD_DIR = "load"                # load/<scenario>/...
LOAD_SUMMARY = "summary.json"
LOAD_RAW = "raw.json.gz"
LOAD_RAW_PLAIN = "raw.json"      # the same stream uncompressed (older runs, hand-made evidence)
LOAD_ACKS = "acks.jsonl"
LOAD_RESULT = "result.json"
LOAD_PROGRESS = "progress.json"  # what a running generator has done so far (rewritten every 5 s)
LOAD_FILES = {"summary": LOAD_SUMMARY, "raw": LOAD_RAW, "acks": LOAD_ACKS, "result": LOAD_RESULT}

# Files a role writes through the evidence module (kind -> file name), and the stop files it
# creates to end a background sampler.
ROLE_WRITTEN = {"run": RUN, "faults": FAULTS, "ux": UX, "status": STATUS}
STOP_FILES = {"metrics": f"{METRICS_DIR}/{STOP}", "canary": CANARY_STOP}

# ------------------------------------------------------------------ keys
# run.json: a phase that failed or crashed, with its error sentence.
PROBLEM_KEYS = ("phase", "error")
# ux.json: the user-experience checks, each {"passed": true|false|null, "detail": "..."}.
UX_CHECKS = ("resume_consistent", "timer_consistent", "refresh_continues_attempt", "logout_keeps_attempt",
             "submit_idempotent", "submitted")
UX_TITLES = {
    "resume_consistent": "Resume works after refresh (same answers and progress)",
    "timer_consistent": "Timer behaves correctly (expiry kept across a reload)",
    "refresh_continues_attempt": "Token refresh does not interrupt session",
    "logout_keeps_attempt": "Logout does not delete active attempt state",
    "submit_idempotent": "Double submit answered the same",
    "submitted": "Session submit works",
}
# canary.jsonl: one record per tick.
CANARY_KEYS = ("start", "end", "ok", "step", "status", "code", "error", "ready_ok", "ready_detail", "request_id")


def load_dir(scenario: str) -> str:
    return f"{LOAD_DIR}/{scenario}"


def load_file(scenario: str, kind: str) -> str:
    return f"{LOAD_DIR}/{scenario}/{LOAD_FILES[kind]}"


def metrics_file(name: str) -> str:
    return f"{METRICS_DIR}/{name}"
