#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: metrics_capture
short_description: The rehearsal's nine metric captures, sampled during the load and collected after it
version_added: 0.1.0
description:
  - C(action=sample) samples C(docker stats) of the compose project's running containers and the
    C(pg_stat_activity) connection counts every I(interval) seconds, appending to C(stats.jsonl) and
    C(db_samples.jsonl) in I(output_dir), so that the peak DB usage and the CPU and memory series are
    measured during the load, not in a snapshot after it. Meant for C(async) with C(poll=0). It stops by
    itself after I(duration) seconds, or earlier when a file C(stop) appears in I(output_dir). A failed
    sample (a container restarting, the database down during a fault) is recorded and sampling goes on.
  - C(action=capture) collects everything over the window [I(since), I(until)] into C(metrics.json)
    plus raw files, reading the services, log keys, pools and schema of the platform profile
    (I(platform)). DB pool usage (peak of the samples against max_connections and against the app's
    pools, (pool_size + max_overflow) x processes x replicas), slow SQL and slow requests and status classes from the backends' JSON logs,
    the edge proxy's 5xx and upstream errors, Redis INFO, the CPU and memory series per container with a
    least-squares memory slope, session statistics (SQL, read-only transaction), request ids seen at the
    edge checked against the backends' logs (traceability), and Prometheus queries and firing alerts when
    I(prometheus_url) is set.
  - A capture that could not be measured is C(null) with a note (also listed under C(notes)), never a zero.
    Statements are shown with literal values replaced; raw files are scrubbed of Authorization headers,
    bearer tokens, JWTs and password or token values before they are written.
  - Evidence files are records, not changes, so the module reports C(changed=false).
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.db
  - examday.ops.platform
  - examday.ops.thresholds
options:
  action:
    description: C(sample) during the load, C(capture) after it.
    type: str
    required: true
    choices: [sample, capture]
  output_dir:
    description: The evidence directory for metrics (created with mode 0700; files are 0600).
    type: path
    required: true
  compose_project:
    description: The platform's compose project (containers are found by its label).
    type: str
    default: exam_platform
  captures_off:
    description:
      - Captures this inventory turns off (for example C(edge_errors) where the edge's logs are not reachable); each
        is reported as not measured. A capture whose input cannot be gathered here (no docker access to a service,
        no connection) is also reported as not measured, with the reason, instead of failing the step.
    type: list
    elements: str
    default: []
  trace_request_ids:
    description:
      - Request ids whose edge and backend log records are kept in the C(traced) section (the reconciliation's
        stale and acknowledged writes), so the report shows them as the logs do.
    type: list
    elements: str
    default: []
  redis:
    description: Redis whose INFO to capture; nothing is captured when neither I(host) nor I(container) is set.
    type: dict
    default: {}
    suboptions:
      host:
        description: Host; when empty, the address of I(container) on its Docker network.
        type: str
      port:
        description: Port.
        type: int
        default: 6379
      username:
        description: ACL user name (Redis 6 and later), with I(password).
        type: str
      password:
        description: Password; sent with AUTH, so a password the server does not expect is an error.
        type: str
      container:
        description: Redis container whose address to use when I(host) is empty.
        type: str
      network:
        description: Docker network of I(container) (default the first one it has).
        type: str
  since:
    description: Start of the window (ISO 8601); default the earliest sample in I(output_dir), else one hour before I(until).
    type: str
  until:
    description: End of the window (ISO 8601); default now.
    type: str
  interval:
    description: Seconds between samples. One C(docker stats) snapshot itself takes about 2 seconds.
    type: float
    default: 2
  duration:
    description: Seconds to sample for (required with C(action=sample)).
    type: float
  request_id_samples:
    description: How many request ids seen at the edge to look for in the backends' logs.
    type: int
    default: 20
  top:
    description: How many of the slowest statements and requests to list.
    type: int
    default: 10
  session_queries:
    description:
      - Session statistics as name and SQL, with the named parameters since and until in psycopg's pyformat
        style, and the profile's schema names (C({sessions}), C({sessions.status})); one value is returned as a
        scalar, two-column rows as a dict. Default sessions by status, created, submitted, answers, changed answers,
        submit events, active now.
    type: dict
  prometheus_url:
    description: Prometheus base URL; when set, it must answer, else the module fails.
    type: str
  prometheus_queries:
    description:
      - Instant queries at the end of the window, as name and PromQL expression, or name and a dict with
        C(expr) and C(threshold). Default seed 003's alert rules (5xx rate above 0.5 %, p95 above 300 ms,
        login failures above 1 %) and the DB pool in use (above 80 %).
    type: dict
  validate_certs:
    description: Verify the TLS certificate of I(prometheus_url).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for Prometheus and Redis.
    type: float
    default: 10
  docker_timeout:
    description: Seconds after which one docker command is abandoned.
    type: int
    default: 120
requirements:
  - docker CLI on the target
  - psycopg 3 on the target
  - redis-py on the target when I(redis) is set
attributes:
  check_mode:
    description: C(sample) takes one sample and returns it, C(capture) returns the metrics; neither writes a file.
    support: full
  diff_mode:
    description: Nothing on the platform changes, nothing to diff.
    support: none
"""

EXAMPLES = r"""
- name: Sample containers and DB connections during the load (ends by itself, or by the stop file)
  examday.ops.metrics_capture:
    action: sample
    output_dir: "{{ evidence_dir }}/metrics"
    interval: 2
    duration: 1800
    db: "{{ examday_db }}"
    platform: "{{ examday_platform }}"
  async: 1900
  poll: 0
  register: sampler

- name: End the sampling
  examday.ops.evidence:
    dir: "{{ evidence_dir }}"
    action: stop
    kind: metrics

- name: Capture the nine metrics over the load window
  examday.ops.metrics_capture:
    action: capture
    output_dir: "{{ evidence_dir }}/metrics"
    db: "{{ examday_db }}"
    platform: "{{ examday_platform }}"
    thresholds: "{{ examday_thresholds }}"
    redis: {host: 127.0.0.1, port: 16379}
  register: metrics
"""

RETURN = r"""
action:
  description: The action run.
  returned: always
  type: str
output_dir:
  description: The evidence directory.
  returned: always
  type: str
started_at:
  description: When sampling started (UTC ISO 8601).
  returned: action=sample
  type: str
finished_at:
  description: When sampling ended.
  returned: action=sample
  type: str
rounds:
  description: Sampling rounds (one docker stats snapshot and one DB sample each).
  returned: action=sample
  type: int
stats_samples:
  description: Lines written to C(stats.jsonl) (one per container per round).
  returned: action=sample
  type: int
db_samples:
  description: Successful DB samples written to C(db_samples.jsonl).
  returned: action=sample
  type: int
stopped_by:
  description: C(duration) or C(stop_file).
  returned: action=sample
  type: str
errors:
  description: The first failed samples (C(ts), C(what), C(msg)); C(error_count) counts all.
  returned: action=sample
  type: list
  elements: dict
sample:
  description: In check mode, the one sample taken (C(stats), C(db)).
  returned: action=sample in check mode
  type: dict
metrics:
  description:
    - The content of C(metrics.json) with C(window), C(db_pool), C(traceability), C(http_status), C(slow_sql),
      C(slow_requests), C(redis), C(containers), C(edge_errors), C(sessions), C(prometheus), C(backend_errors),
      C(files), C(notes) (one sentence per capture that was not measured) and C(captured_at).
  returned: action=capture
  type: dict
metrics_path:
  description: Path of C(metrics.json) (not written in check mode).
  returned: action=capture
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.examday.ops.plugins.module_utils import _db, _docker_cli, _thresholds
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._metrics.capture import Capture
from ansible_collections.examday.ops.plugins.module_utils._metrics.constants import METRICS_FILE
from ansible_collections.examday.ops.plugins.module_utils._metrics.dbsample import DbSampler
from ansible_collections.examday.ops.plugins.module_utils._metrics.redisinfo import redis_info_text
from ansible_collections.examday.ops.plugins.module_utils._metrics.sampler import Sampler
from ansible_collections.examday.ops.plugins.module_utils._platform.api import urllib_transport
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec

try:
    import redis  # noqa: F401  pylint: disable=unused-import
    HAS_REDIS = True
except ImportError:
    HAS_REDIS = False


def argument_spec() -> dict:
    spec = dict(
        action={"type": "str", "required": True, "choices": ["sample", "capture"]},
        output_dir={"type": "path", "required": True},
        compose_project={"type": "str", "default": "exam_platform"},
        captures_off={"type": "list", "elements": "str", "default": []},
        trace_request_ids={"type": "list", "elements": "str", "default": []},
        redis={"type": "dict", "default": {}, "options": {
            "host": {"type": "str"},
            "port": {"type": "int", "default": 6379},
            "username": {"type": "str"},
            "password": {"type": "str", "no_log": True},
            "container": {"type": "str"},
            "network": {"type": "str"},
        }},
        since={"type": "str"},
        until={"type": "str"},
        interval={"type": "float", "default": 2.0},
        duration={"type": "float"},
        request_id_samples={"type": "int", "default": 20},
        top={"type": "int", "default": 10},
        session_queries={"type": "dict"},
        prometheus_url={"type": "str"},
        prometheus_queries={"type": "dict"},
        validate_certs={"type": "bool", "default": True},
        timeout={"type": "float", "default": 10.0},
        docker_timeout={"type": "int", "default": 120},
    )
    spec.update(_db.db_argument_spec())
    spec.update(platform_argument_spec())
    spec.update(_thresholds.threshold_argument_spec())
    return spec


def profile_params(p: dict) -> dict:
    """The capture's settings from the platform profile and the thresholds."""
    platform = resolve(p["platform"])
    th = _thresholds.resolve(p["thresholds"])
    services, backend, jobs = platform["services"], platform["backend"], platform["exam_mode"]["jobs_evidence"]
    worker = services.get("worker") or (jobs["service"] if jobs["kind"] == "log" else None)
    return dict(
        p,
        backend_services=[services["backend"]] if services.get("backend") else [],
        edge_service=services.get("edge") or None,
        worker_service=worker if worker and worker != services.get("backend") else None,
        edge_log_fields={k: v for k, v in platform["logs"]["edge"]["keys"].items() if v},
        backend_log=platform["logs"]["backend"],
        app_name_pattern=backend["app_name_pattern"],
        pool={"pool_size": backend["pool_size"], "max_overflow": backend["max_overflow"],
              "processes": backend["processes"] * backend["replicas"]},
        schema=platform["schema"],
        slow_sql_ms=th["slow_sql_ms"], slow_request_ms=th["slow_request_ms"],
    )


def redis_host(runner, redis_opts: dict) -> str:
    if redis_opts.get("host"):
        return redis_opts["host"]
    rc, out, _err = runner(["docker", "inspect", redis_opts["container"]])
    if rc != 0:
        raise OpsError(f"unknown Redis container {redis_opts['container']}.")
    ip = _docker_cli.container_ip(_docker_cli.parse_json_stream(out)[0], redis_opts.get("network"))
    if not ip:
        raise OpsError(f"the Redis container {redis_opts['container']} has no address.")
    return ip


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("action", "sample", ["duration"])])
    try:
        p = profile_params(module.params)
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    if p["interval"] <= 0 or (p["duration"] is not None and p["duration"] <= 0):
        module.fail_json(msg="interval and duration must be above 0 seconds.")
    if p["request_id_samples"] < 0 or p["top"] < 0 or p["docker_timeout"] <= 0:
        module.fail_json(msg="request_id_samples and top must not be negative, docker_timeout must be above 0.")
    if not _db.HAS_PSYCOPG:
        module.fail_json(msg=missing_required_lib("psycopg (3)"))
    if p["action"] == "capture" and (p["redis"].get("host") or p["redis"].get("container")) and not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"))

    def runner(argv):
        return module.run_command(["timeout", "--kill-after=5", str(p["docker_timeout"]), *argv],
                                  errors="surrogate_then_replace")

    def connect():
        return _db.connect(runner, p["db"], "examday.ops metrics_capture")

    output_dir = os.path.abspath(p["output_dir"])
    params = dict(p, output_dir=output_dir)
    write = not module.check_mode
    try:
        if p["action"] == "sample":
            sampler = Sampler(runner, p["compose_project"], output_dir, p["interval"], p["duration"],
                              DbSampler(connect, p["db"]["name"], p["app_name_pattern"]), write=write)
            result = sampler.run()
            module.exit_json(changed=False, action="sample", output_dir=output_dir, **json_safe(result))

        def redis_reader():
            r = p["redis"]
            return redis_info_text(redis_host(runner, r), r["port"], r.get("username"), r.get("password"),
                                   p["timeout"])

        capture = Capture(runner, params, db_connect=connect, redis_reader=redis_reader,
                          transport=urllib_transport(p["validate_certs"]), write=write)
        metrics = capture.run()
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(changed=False, action="capture", output_dir=output_dir, metrics=metrics,
                     metrics_path=os.path.join(output_dir, METRICS_FILE))


if __name__ == "__main__":
    main()
