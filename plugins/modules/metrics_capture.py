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
seealso:
  - module: examday.ops.report
    description: The GO/NO-GO report from the evidence directory.
  - module: examday.ops.evidence
    description: Write a role's evidence file, or end a background sampler.
  - module: examday.ops.integrity_check
    description: Data-integrity checks and reconciliation of the load's acknowledged writes.
  - module: examday.ops.load
    description: Run a k6 load scenario and keep its evidence (the acknowledged writes among it).
  - module: examday.ops.platform_profile
    description: Validate the platform profile (the platform option) and show it with its defaults.
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
  description: The action run (I(action)).
  returned: always
  type: str
  sample: sample
output_dir:
  description: The evidence directory (I(output_dir)), absolute.
  returned: always
  type: str
  sample: /work/wt-run/reports/rehearsal-lab-20261130_191124/metrics
started_at:
  description: UTC time sampling started.
  returned: action=sample
  type: str
  sample: "2026-11-30T19:11:54.663Z"
finished_at:
  description: UTC time sampling ended.
  returned: action=sample
  type: str
  sample: "2026-11-30T19:16:02.012Z"
rounds:
  description: Sampling rounds (one C(docker stats) snapshot and one database sample each).
  returned: action=sample
  type: int
  sample: 121
stats_samples:
  description: Lines written to C(stats.jsonl) (one per running container per round).
  returned: action=sample
  type: int
  sample: 598
db_samples:
  description: Successful database samples written to C(db_samples.jsonl) (a failed one is written with its error, and not counted).
  returned: action=sample
  type: int
  sample: 120
containers:
  description: The containers sampled at least once.
  returned: action=sample
  type: list
  elements: str
  sample: [exam_platform-backend-1, exam_platform-backend-2, exam_platform_postgres, exam_platform_redis, exam_platform_traefik]
stopped_by:
  description: C(duration) (I(duration) passed) or C(stop_file) (the file C(stop) appeared in I(output_dir)).
  returned: action=sample
  type: str
  sample: stop_file
removed_stale_stop_file:
  description: Whether a C(stop) file left by an earlier run was removed before sampling.
  returned: action=sample
  type: bool
  sample: false
errors:
  description: The first 20 failed samples (sampling went on).
  returned: action=sample
  type: list
  elements: dict
  contains:
    ts:
      description: UTC time of the sample.
      type: str
    what:
      description: C(docker stats) or C(db).
      type: str
    msg:
      description: What failed, in one sentence.
      type: str
  sample:
    - {ts: "2026-11-30T19:13:57.630Z", what: db,
       msg: "pg_stat_activity sample failed: consuming input failed: server closed the connection unexpectedly."}
error_count:
  description: Failed samples, all of them.
  returned: action=sample
  type: int
  sample: 1
files:
  description: The sample files, relative to I(output_dir).
  returned: action=sample, not check mode
  type: dict
  contains:
    stats:
      description: The container samples.
      type: str
    db_samples:
      description: The database samples.
      type: str
  sample: {stats: stats.jsonl, db_samples: db_samples.jsonl}
sample:
  description: In check mode, the one sample taken (nothing is written).
  returned: action=sample in check mode
  type: dict
  contains:
    stats:
      description: One line of C(stats.jsonl) per running container.
      type: list
      elements: dict
      contains:
        ts:
          description: UTC time of the sample.
          type: str
        container:
          description: Container name.
          type: str
        cpu_pct:
          description: CPU use in percent of one CPU (null when docker printed none).
          type: float
        mem_bytes:
          description: Memory used.
          type: int
        mem_limit_bytes:
          description: Memory limit.
          type: int
        pids:
          description: Processes.
          type: int
    db:
      description: The line of C(db_samples.jsonl) (with only C(ts), C(kind) and C(error) when it failed); null without a database.
      type: dict
      contains:
        ts:
          description: UTC time of the sample.
          type: str
        kind:
          description: C(db).
          type: str
        connections:
          description: Client connections to the platform's database.
          type: int
        all_connections:
          description: Client connections to the server.
          type: int
        app_connections:
          description: Connections of the backends (I(platform.backend.app_name_pattern)).
          type: int
        max_connections:
          description: The server's max_connections.
          type: int
        by_application:
          description: Connections by application_name.
          type: dict
          contains:
            <application_name>:
              description: Connections of the application.
              type: int
        by_state:
          description: Connections by state.
          type: dict
          contains:
            <state>:
              description: Connections in the state.
              type: int
        error:
          description: Why the sample failed.
          type: str
  sample:
    stats:
      - {ts: "2026-11-30T19:11:54.665Z", container: exam_platform_traefik, cpu_pct: 2.52, mem_bytes: 6459228, mem_limit_bytes: 134217728,
         pids: 4}
      - {ts: "2026-11-30T19:11:54.665Z", container: exam_platform-backend-1, cpu_pct: 10.95, mem_bytes: 20856176,
         mem_limit_bytes: 536870912, pids: 2}
    db: {ts: "2026-11-30T19:11:54.665Z", kind: db, connections: 4, all_connections: 4, app_connections: 4, max_connections: 100,
         by_application: {"exam_backend:427107565dc0": 2, "exam_backend:a1178731c455": 2}, by_state: {idle: 4}}
metrics:
  description:
    - The content of C(metrics.json), one section per capture. A capture that could not be measured (or is in I(captures_off))
      has a C(note) saying why, and is listed under C(notes); its figures are null, never zero.
  returned: action=capture
  type: dict
  contains:
    window:
      description: The window captured.
      type: dict
      contains:
        since:
          description: Its start (UTC).
          type: str
        until:
          description: Its end (UTC).
          type: str
    db_pool:
      description: Peak database connections of the samples in the window, against max_connections and the backends' pools.
      type: dict
      contains:
        peak_connections:
          description: Most client connections to the platform's database in one sample.
          type: int
        peak_all_connections:
          description: Most client connections to the server.
          type: int
        peak_app_connections:
          description: Most connections of the backends.
          type: int
        peak_at:
          description: When the peak was sampled.
          type: str
        max_connections:
          description: The server's max_connections.
          type: int
        pct_of_max_connections:
          description: The peak in percent of max_connections.
          type: float
        app_pool_capacity:
          description: The backends' pools, (pool_size + max_overflow) x processes x replicas (I(platform.backend)).
          type: int
        pct_of_app_pool:
          description: The backends' peak in percent of their pools.
          type: float
        samples:
          description: Samples in the window.
          type: int
        sample_errors:
          description: Failed samples in the window.
          type: int
        note:
          description: Only when the section was not measured - why (C(not measured - ...)); the section may then hold nothing else.
          type: str
    sessions:
      description:
        - Session statistics of the window, by query name (I(session_queries)); a value is a scalar (one value), a dict
          (two-column rows) or a list of rows. A default query the profile's schema cannot run has the sentence why instead.
      type: dict
      contains:
        by_status:
          description: Sessions by status.
          type: raw
        created:
          description: Sessions created.
          type: raw
        submitted:
          description: Sessions submitted.
          type: raw
        answers:
          description: Answers given.
          type: raw
        answers_changed:
          description: Answers changed at least once.
          type: raw
        submit_events:
          description: Submit events.
          type: raw
        active_now:
          description: Sessions active now.
          type: raw
        <query>:
          description: A query of I(session_queries), by its name.
          type: raw
    redis:
      description: Redis INFO at the end of the window (I(redis)).
      type: dict
      contains:
        configured:
          description: Whether Redis was configured (I(redis.host) or I(redis.container)).
          type: bool
        redis_version:
          description: Version.
          type: str
        uptime_in_seconds:
          description: Uptime (a restart shows here).
          type: int
        connected_clients:
          description: Clients connected.
          type: int
        blocked_clients:
          description: Clients blocked.
          type: int
        maxclients:
          description: Most clients allowed.
          type: int
        rejected_connections:
          description: Connections refused (maxclients reached).
          type: int
        total_connections_received:
          description: Connections since the start.
          type: int
        total_commands_processed:
          description: Commands since the start.
          type: int
        instantaneous_ops_per_sec:
          description: Operations per second now.
          type: int
        evicted_keys:
          description: Keys evicted (memory limit reached).
          type: int
        expired_keys:
          description: Keys expired.
          type: int
        keyspace_hits:
          description: Lookups that found their key.
          type: int
        keyspace_misses:
          description: Lookups that did not.
          type: int
        used_memory:
          description: Memory used, in bytes.
          type: int
        used_memory_peak:
          description: Peak memory used, in bytes.
          type: int
        maxmemory:
          description: Memory limit (0 - none).
          type: int
        maxmemory_policy:
          description: What happens at the limit.
          type: str
        role:
          description: C(master) or C(slave).
          type: str
        keyspace:
          description: Keys by database.
          type: dict
          contains:
            <db>:
              description: One database (C(db0) ...).
              type: dict
              contains:
                keys:
                  description: Keys.
                  type: int
                expires:
                  description: Keys with an expiry.
                  type: int
                avg_ttl:
                  description: Their mean time to live, in milliseconds.
                  type: int
        keys:
          description: Keys in all databases.
          type: int
        note:
          description: Only when the section was not measured - why (C(not measured - ...)); the section may then hold nothing else.
          type: str
    prometheus:
      description: Instant queries at the end of the window, and the alerts (I(prometheus_url)); only C(configured=false) without it.
      type: dict
      contains:
        configured:
          description: Whether I(prometheus_url) was set.
          type: bool
        url:
          description: The Prometheus base URL (credentials removed).
          type: str
        at:
          description: The time queried (the window's end).
          type: str
        queries:
          description: Each query's result, by its name (I(prometheus_queries)).
          type: dict
          contains:
            <query>:
              description: One query.
              type: dict
              contains:
                expr:
                  description: The PromQL expression.
                  type: str
                value:
                  description: The value when the result has exactly one series, else null.
                  type: float
                series:
                  description: Every series of the result.
                  type: list
                  elements: dict
                  contains:
                    metric:
                      description: The series' labels.
                      type: dict
                      contains:
                        <label>:
                          description: A label's value.
                          type: str
                    value:
                      description: Its value.
                      type: float
                threshold:
                  description: The alerting threshold, null when none.
                  type: float
                above_threshold:
                  description: Whether the highest series' value is above it (null without a value or a threshold).
                  type: bool
                note:
                  description: Only when the section was not measured - why (C(not measured - ...)); the section may then hold nothing else.
                  type: str
        firing_alerts:
          description: Alerts firing now.
          type: list
          elements: dict
          contains:
            name:
              description: C(alertname).
              type: str
            severity:
              description: C(severity) label.
              type: str
            state:
              description: C(firing).
              type: str
            active_at:
              description: When it became active.
              type: str
            value:
              description: Its value, as Prometheus gives it.
              type: str
            labels:
              description: Its labels.
              type: dict
              contains:
                <label>:
                  description: A label's value.
                  type: str
            summary:
              description: Its C(summary) annotation.
              type: str
        pending_alerts:
          description: Alerts pending now, with the same keys as RV(metrics.prometheus.firing_alerts).
          type: list
          elements: dict
          contains:
            name:
              description: C(alertname).
              type: str
            severity:
              description: C(severity) label.
              type: str
            state:
              description: C(pending).
              type: str
            active_at:
              description: When it became active.
              type: str
            value:
              description: Its value.
              type: str
            labels:
              description: Its labels.
              type: dict
              contains:
                <label>:
                  description: A label's value.
                  type: str
            summary:
              description: Its C(summary) annotation.
              type: str
    edge_errors:
      description: The edge proxy's access and error logs in the window.
      type: dict
      contains:
        5xx:
          description: Answers with a 5xx status.
          type: int
        upstream_errors:
          description: Error-log lines about an upstream (a backend) failing.
          type: int
        error_lines:
          description: Error-log lines.
          type: int
        retried:
          description: Requests whose upstream status names more than one backend (the edge retried on another).
          type: int
        requests:
          description: Requests logged.
          type: int
        status:
          description: Requests by status class.
          type: dict
          contains:
            2xx:
              description: Successes.
              type: int
            3xx:
              description: Redirects.
              type: int
            4xx:
              description: Client errors.
              type: int
            5xx:
              description: Server errors.
              type: int
            other:
              description: Statuses outside 200-599, or none logged.
              type: int
        error_rate_pct:
          description: 5xx in percent of the requests, null without requests.
          type: float
        samples:
          description: The first errors - a 5xx answer (C(kind=5xx)) or an error-log line (C(kind) C(upstream_error) or C(error)).
          type: list
          elements: dict
          contains:
            kind:
              description: C(5xx), C(upstream_error) or C(error).
              type: str
            status_code:
              description: C(5xx). The status sent to the client.
              type: int
            request_id:
              description: C(5xx). The request id.
              type: str
            uri:
              description: C(5xx). The path.
              type: str
            upstream_status:
              description: C(5xx). The backend's status.
              type: str
            line:
              description: Error-log lines. The line (at most 500 characters).
              type: str
            ts:
              description: When it was logged.
              type: str
        containers:
          description: The edge's containers read.
          type: list
          elements: str
        note:
          description: Only when the section was not measured - why (C(not measured - ...)); the section may then hold nothing else.
          type: str
    traceability:
      description: Request ids sampled at the edge, looked for in the backends' logs (I(request_id_samples)).
      type: dict
      contains:
        sampled:
          description: Request ids sampled.
          type: int
        found:
          description: Of those, found in a backend's logs.
          type: int
        pct:
          description: Found in percent of the sampled, null without a sample.
          type: float
        samples:
          description: The request ids sampled.
          type: list
          elements: str
        missing:
          description: The ones not found.
          type: list
          elements: str
        eligible:
          description: Requests at the edge that could be sampled.
          type: int
        note:
          description: Only when the section was not measured - why (C(not measured - ...)); the section may then hold nothing else.
          type: str
    http_status:
      description: Requests by status class, from the backends' access records.
      type: dict
      contains:
        2xx:
          description: Successes.
          type: int
        3xx:
          description: Redirects.
          type: int
        4xx:
          description: Client errors.
          type: int
        5xx:
          description: Server errors.
          type: int
        other:
          description: Statuses outside 200-599, or none logged.
          type: int
        total:
          description: Requests.
          type: int
        source:
          description: C(backend logs).
          type: str
        error_rate_pct:
          description: 5xx in percent, null without requests.
          type: float
        client_error_rate_pct:
          description: 4xx in percent, null without requests.
          type: float
        note:
          description: Only when the section was not measured - why (C(not measured - ...)); the section may then hold nothing else.
          type: str
    slow_sql:
      description: Slow statements in the backends' logs (I(thresholds.slow_sql_ms)).
      type: dict
      contains:
        count_100ms:
          description: Statements slower than the first threshold (the key's name is fixed, whatever the threshold).
          type: int
        count_300ms:
          description: Statements slower than the second threshold (the key's name is fixed, whatever the threshold).
          type: int
        thresholds_ms:
          description: The two thresholds, in milliseconds.
          type: list
          elements: float
        top:
          description: The slowest statements (I(top)), literal values replaced.
          type: list
          elements: dict
          contains:
            duration_ms:
              description: Milliseconds.
              type: float
            statement:
              description: The statement, shortened.
              type: str
            request_id:
              description: The request it ran for.
              type: str
            ts:
              description: When it was logged.
              type: str
            container:
              description: The backend container.
              type: str
    slow_requests:
      description: Slow requests in the backends' logs (I(thresholds.slow_request_ms)).
      type: dict
      contains:
        count_500ms:
          description: Requests slower than the first threshold (the key's name is fixed, whatever the threshold).
          type: int
        count_1500ms:
          description: Requests slower than the second threshold (the key's name is fixed, whatever the threshold).
          type: int
        thresholds_ms:
          description: The two thresholds, in milliseconds.
          type: list
          elements: float
        top:
          description: The slowest requests (I(top)).
          type: list
          elements: dict
          contains:
            total_ms:
              description: Milliseconds.
              type: float
            method:
              description: HTTP method.
              type: str
            route:
              description: Route name.
              type: str
            path:
              description: Path.
              type: str
            status_code:
              description: HTTP status.
              type: int
            request_id:
              description: Request id.
              type: str
            ts:
              description: When it was logged.
              type: str
            container:
              description: The backend container.
              type: str
    backend_errors:
      description: Error records of the backends (I(platform.logs.backend.error_levels)).
      type: dict
      contains:
        events:
          description: Error records by event name.
          type: dict
          contains:
            <event>:
              description: Records of the event.
              type: int
        containers:
          description: The backend containers read.
          type: list
          elements: str
    containers:
      description: CPU and memory series of each container in the window, by its name (from C(stats.jsonl)).
      type: dict
      contains:
        <container>:
          description: One container.
          type: dict
          contains:
            ts:
              description: Times of the samples.
              type: list
              elements: str
            cpu_pct:
              description: CPU use in percent, one per sample.
              type: list
              elements: float
            mem_bytes:
              description: Memory used, one per sample.
              type: list
              elements: int
            samples:
              description: Samples.
              type: int
            cpu_max_pct:
              description: The highest CPU use.
              type: float
            mem_max_bytes:
              description: The most memory used.
              type: int
            mem_limit_bytes:
              description: The memory limit.
              type: int
            mem_slope_bytes_per_min:
              description: Least-squares slope of the memory used (a leak grows steadily).
              type: float
    traced:
      description: The edge and backend log records of each request id of I(trace_request_ids), by request id.
      type: dict
      contains:
        <request_id>:
          description: One request.
          type: dict
          contains:
            edge:
              description: The edge's records of it.
              type: list
              elements: dict
              contains:
                ts:
                  description: When it was logged.
                  type: str
                record:
                  description: The record, as logged (scrubbed of secrets).
                  type: dict
                  contains:
                    <key>:
                      description: A key of the record.
                      type: raw
            backend:
              description: The backends' records of it.
              type: list
              elements: dict
              contains:
                container:
                  description: The backend container.
                  type: str
                ts:
                  description: When it was logged.
                  type: str
                record:
                  description: The record, as logged (scrubbed of secrets).
                  type: dict
                  contains:
                    <key>:
                      description: A key of the record.
                      type: raw
    files:
      description: The raw files written, relative to I(output_dir).
      type: dict
      contains:
        stats:
          description: Container samples.
          type: str
        db_samples:
          description: Database samples.
          type: str
        metrics:
          description: C(metrics.json).
          type: str
        edge_log:
          description: The edge's access log.
          type: str
        edge_error_log:
          description: The edge's error log.
          type: str
        backend_logs:
          description: Each backend container's log, by container.
          type: dict
          contains:
            <container>:
              description: The file.
              type: str
        backend_stderr_logs:
          description: Each backend container's standard error, when it printed any.
          type: dict
          contains:
            <container>:
              description: The file.
              type: str
        worker_logs:
          description: Each worker container's log.
          type: dict
          contains:
            <container>:
              description: The file.
              type: str
        redis_info:
          description: Redis INFO.
          type: str
        prometheus:
          description: Prometheus's answers.
          type: str
    notes:
      description: One sentence per capture that was not measured, by the capture's key.
      type: dict
      contains:
        <capture>:
          description: Why it was not measured.
          type: str
    captured_at:
      description: When the capture ended (UTC).
      type: str
  sample:
    window: {since: "2026-11-30T19:11:24.000Z", until: "2026-11-30T19:16:04.235Z"}
    db_pool: {peak_connections: 15, peak_all_connections: 15, peak_app_connections: 15, peak_at: "2026-11-30T19:13:35.825Z",
              max_connections: 100, pct_of_max_connections: 15.0, app_pool_capacity: 40, pct_of_app_pool: 37.5, samples: 120,
              sample_errors: 1}
    sessions: {by_status: {ACTIVE: 131, SUBMITTED: 169}, created: 300, submitted: 169, answers: 1395, answers_changed: 90,
               submit_events: 169, active_now: 558}
    http_status: {2xx: 4060, 3xx: 0, 4xx: 25, 5xx: 4, other: 0, total: 4089, source: backend logs, error_rate_pct: 0.098,
                  client_error_rate_pct: 0.611}
    edge_errors:
      5xx: 7
      upstream_errors: 21
      error_lines: 21
      retried: 18
      requests: 3822
      status: {2xx: 3786, 3xx: 0, 4xx: 29, 5xx: 7, other: 0}
      error_rate_pct: 0.183
      samples:
        - {kind: 5xx, status_code: 502, request_id: d51adbfc36abeeaa6b0f16bd0ad55c63, upstream_status: "502",
           uri: /v1/sessions/2aeb10ce-4635-4b9f-a719-953ee6eaea82/answer, ts: "2026-11-30T19:13:08+00:00"}
      containers: [exam_platform_traefik]
    slow_requests:
      count_500ms: 33
      count_1500ms: 29
      thresholds_ms: [500.0, 1500.0]
      top:
        - {total_ms: 12671.57, method: POST, route: submit, path: /v1/sessions/2aeb10ce-4635-4b9f-a719-953ee6eaea82/submit,
           status_code: 200, request_id: 3d29e4c8d144a6e6d28d19991f049d18, ts: "2026-11-30T19:13:37.375+00:00",
           container: exam_platform-backend-1}
    backend_errors: {events: {db_unavailable: 4}, containers: [exam_platform-backend-1, exam_platform-backend-2]}
    traceability: {sampled: 20, found: 20, pct: 100.0, missing: [], eligible: 3815,
                   samples: [6094f8bb18776b8c8d9ab17ccfa0f410, 7f89244925b64008ad89bbc3d82c83b1]}
    prometheus: {configured: false}
    traced: {}
    notes: {}
    captured_at: "2026-11-30T19:16:04.783Z"
metrics_path:
  description: Path of C(metrics.json) (not written in check mode).
  returned: action=capture
  type: str
  sample: /work/wt-run/reports/rehearsal-lab-20261130_191124/metrics/metrics.json
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.examday.ops.plugins.module_utils import _db, _thresholds
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._metrics.capture import Capture
from ansible_collections.examday.ops.plugins.module_utils._metrics.constants import METRICS_FILE
from ansible_collections.examday.ops.plugins.module_utils._metrics.dbsample import DbSampler
from ansible_collections.examday.ops.plugins.module_utils._metrics.redisinfo import redis_argument_spec, redis_host, redis_info_text
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
    spec.update(redis_argument_spec())
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
