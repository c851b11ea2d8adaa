#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: watch
short_description: The live watch during the exam - one read-only sample per interval, alerts raised and cleared
version_added: 0.3.0
description:
  - C(action=run) watches the platform for a bounded time (I(minutes)), one sample every I(interval) seconds, and
    changes nothing. A sample holds health and readiness judged by body (the profile's rules), p50, p95, the 5xx rate,
    slow requests and slow SQL of the interval from the backends' logs (parsed as the rehearsal's metrics parse them),
    database connections against the app's pool and max_connections, Redis reachable, the containers (backends
    running, restarts since the last sample, CPU and memory) and EXAM_MODE as stored (a read; the heavy-job probe is
    never used, since it would start a job when the mode is off).
  - An alert is raised when its rule is broken in I(raise_after) samples in a row (a restart at once) and cleared
    after I(clear_after) good ones; limits come from the rehearsal's thresholds (I(thresholds)). Each alert names the
    runbook's matching Common Issues steps with the values measured, and is POSTed to I(webhook) when set (JSON, or
    Slack's C({"text"}) shape).
  - Writes to I(output_dir) - C(timeline.jsonl) (a line per sample and per alert, appended), C(watch.json) (the
    record) and C(watch.html) (a page that reloads itself) - rewritten every interval, so whatever ends the watch
    (its bound, the stop file, SIGTERM or Ctrl-C) leaves a complete, valid record. A part of the platform that
    cannot be observed during an outage is recorded as such and the watch goes on.
  - Before the first sample every watched part must answer once (the URL, the compose project's backends, the
    database and Redis credentials); a wrong one fails the task with one sentence, before anything is written.
  - Run through the action plugin of the same name, it runs asynchronously and prints one line per sample and per
    alert while it runs (C(playbooks/watch.yml)). C(action=follow) returns those lines since a byte offset;
    C(action=stop) asks a running watch to end after its sample in progress.
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.platform_api
  - examday.ops.platform
  - examday.ops.db
  - examday.ops.thresholds
options:
  action:
    description: C(run) the watch, C(follow) a running one (read its new lines), or C(stop) it.
    type: str
    choices: [run, follow, stop]
    default: run
  output_dir:
    description: The watch's directory (C(timeline.jsonl), C(watch.json), C(watch.html), C(watch.stop)).
    type: path
    required: true
  minutes:
    description: The watch's bound in minutes; it always ends by itself.
    type: float
    default: 60
  interval:
    description: Seconds from the start of one sample to the start of the next.
    type: float
    default: 15
  raise_after:
    description: Broken samples in a row that raise an alert (a restart is raised at once).
    type: int
    default: 3
  clear_after:
    description: Good samples in a row that clear an active alert.
    type: int
    default: 2
  rules:
    description: The alert rules to judge (default all); see RETURN C(alerts) for their ids.
    type: list
    elements: str
    default: []
  webhook:
    description: URL the alerts are POSTed to (raised and cleared). It is never printed or recorded.
    type: str
  webhook_format:
    description: C(json) (the alert event) or C(slack) (an incoming-webhook C({"text"}) body).
    type: str
    choices: [json, slack]
    default: json
  source:
    description: Names the watched platform in the page, the alerts and the webhook bodies.
    type: str
    default: ""
  compose_project:
    description: The platform's Docker Compose project (its backends' logs and containers).
    type: str
    default: exam_platform
  expected_backends:
    description: Backend containers that must be running (default the profile's C(backend.replicas)).
    type: int
  skip:
    description: Parts not to watch, said in every sample as not measured.
    type: list
    elements: str
    choices: [database, redis, exam_mode, resources]
    default: []
  redis:
    description: Redis to ping with INFO (host, or container on a network); not watched when neither is set.
    type: dict
    default: {}
    suboptions:
      host: {description: Redis host., type: str}
      port: {description: Redis port., type: int, default: 6379}
      username: {description: ACL user., type: str}
      password: {description: Redis password., type: str}
      container: {description: Redis container (its address is used)., type: str}
      network: {description: The container's network to take the address from., type: str}
  admin_email:
    description: Admin account for reading EXAM_MODE through the admin API (profile C(api.calls.exam_mode_get)).
    type: str
  admin_password:
    description: Its password.
    type: str
  admin_token:
    description: An admin token instead of I(admin_email) and I(admin_password).
    type: str
  exam_mode_env_file:
    description: The compose env file EXAM_MODE is read from when the profile's mechanism is C(env).
    type: path
  offset:
    description: With C(action=follow), the byte offset of C(timeline.jsonl) to read from (the last answer's C(offset)).
    type: int
    default: 0
  docker_timeout:
    description: Seconds any one docker command may take.
    type: int
    default: 30
  heartbeat_timeout:
    description:
      - End the watch when no C(action=follow) has touched its heartbeat file (C(watch.followed)) for this many seconds.
        The action plugin sets it (60), so a watch whose controller is gone (Ctrl-C, a lost ssh link) ends by itself;
        unset, only the bound, the stop file or a signal end it.
    type: float
attributes:
  check_mode:
    description: Checks that every watched part answers, says what would be watched, and writes nothing.
    support: full
  diff_mode:
    description: Nothing is edited, so there is nothing to diff.
    support: none
seealso:
  - module: examday.ops.platform_status
    description: One look at the platform's health, readiness and containers.
  - module: examday.ops.metrics_capture
    description: The rehearsal's metrics, parsed from the same logs.
  - module: examday.ops.canary
    description: A canary student who measures what students see.
  - module: examday.ops.report
    description: The rehearsal's report, whose chart style the page shares.
  - module: examday.ops.platform_profile
    description: Validate the platform profile (the platform option) and show it with its defaults.
"""

EXAMPLES = r"""
- name: Watch the exam for three hours, alerts to Slack
  examday.ops.watch:
    output_dir: "{{ playbook_dir }}/reports/watch-prod"
    api_url: "{{ examday_api_url }}"
    platform: "{{ examday_platform }}"
    db: "{{ examday_db }}"
    redis: "{{ examday_redis }}"
    thresholds: "{{ examday_thresholds }}"
    admin_email: "{{ examday_admin_email }}"
    admin_password: "{{ examday_admin_password }}"
    minutes: 180
    webhook: "{{ examday_watch_webhook }}"
    webhook_format: slack

- name: Ask a running watch to stop after its sample in progress
  examday.ops.watch:
    action: stop
    output_dir: "{{ playbook_dir }}/reports/watch-prod"
    api_url: "{{ examday_api_url }}"
"""

RETURN = r"""
record:
  description: The watch's record (C(watch.json)), complete however the watch ended.
  returned: action=run, not in check mode
  type: dict
  contains:
    started_at: {description: When it started (UTC)., type: str, sample: "2026-11-30T08:00:00.12Z"}
    finished_at: {description: When it ended (UTC)., type: str, sample: "2026-11-30T11:00:00.40Z"}
    stopped_by:
      description: C(bound), C(stop file), C(SIGTERM), C(SIGINT), C(not followed for N s ...) or C(error - ...).
      type: str
      sample: bound
    samples: {description: Samples taken., type: int, sample: 720}
    failed_samples: {description: Samples that could not be observed at all., type: int, sample: 0}
    alerts:
      description: Every alert raised and cleared, in order.
      type: list
      elements: dict
      contains:
        event: {description: C(raised) or C(cleared)., type: str, sample: raised}
        rule:
          description: >-
            The rule's id - C(observation), C(latency_p95), C(error_rate), C(db_pool), C(health), C(readiness),
            C(redis), C(backends), C(restarts) or C(exam_mode).
          type: str
          sample: redis
        name: {description: What it means in words., type: str, sample: Redis unreachable}
        at: {description: The sample that raised or cleared it (UTC)., type: str, sample: "2026-11-30T09:12:30.01Z"}
        value: {description: The value measured in that sample., type: raw, sample: false}
        limit: {description: The limit it is judged against (none for a yes/no rule)., type: float, sample: 500.0}
        unit: {description: The value's unit., type: str, sample: ms}
        samples: {description: The samples in a row that raised or cleared it., type: int, sample: 3}
        detail: {description: Why it broke as the sample says it (the failing check for instance)., type: str, sample: "HTTP 503"}
        runbook:
          description: The runbook's Common Issues section and its steps.
          type: dict
          contains:
            section: {description: The section of seed 002's Common Issues., type: str, sample: Redis Failure}
            steps:
              description: Its steps, in order.
              type: list
              elements: str
              sample: ["Expected: rate limiting is bypassed, sign-in still works."]
        raised_at: {description: With C(cleared) when it was raised., type: str, sample: "2026-11-30T09:12:00.01Z"}
        worst: {description: With C(cleared) the worst value while it was active., type: raw, sample: 812.5}
    active: {description: Ids of the alerts still active when it ended., type: list, elements: str, sample: []}
    webhook:
      description: Whether a webhook was set, alerts delivered, and delivery errors (without the URL).
      type: dict
      contains:
        configured: {description: Whether I(webhook) was set., type: bool, sample: true}
        sent: {description: Alerts delivered., type: int, sample: 2}
        errors:
          description: Deliveries that failed.
          type: list
          elements: dict
          contains:
            at: {description: The sample's time., type: str, sample: "2026-11-30T09:12:30.01Z"}
            rule: {description: The alert's rule., type: str, sample: redis}
            error: {description: Why (never the URL)., type: str, sample: "the webhook answered HTTP 500"}
    last_sample:
      description: The last sample (every sample is a line of C(timeline.jsonl)).
      type: dict
      contains:
        at: {description: When it was taken (UTC)., type: str, sample: "2026-11-30T11:00:00.01Z"}
        health_ok: {description: Health judged by body., type: bool, sample: true}
        ready_ok: {description: Readiness judged by body., type: bool, sample: true}
        requests: {description: Requests the backends logged in the interval., type: int, sample: 812}
        p50_ms: {description: Median latency of the interval., type: float, sample: 12.4}
        p95_ms: {description: 95th percentile latency of the interval., type: float, sample: 88.1}
        error_rate_pct: {description: 5xx answers in percent of the interval's requests., type: float, sample: 0.0}
        slow_requests: {description: Requests slower than the slow_request_ms threshold., type: int, sample: 0}
        slow_sql: {description: Statements slower than the slow_sql_ms threshold., type: int, sample: 1}
        db_connections: {description: Connections to the platform's database., type: int, sample: 14}
        db_pool_pct: {description: The larger of app pool and max_connections used in percent., type: float, sample: 35.0}
        redis_ok: {description: Whether Redis answered INFO., type: bool, sample: true}
        backends_running: {description: Backend containers running., type: int, sample: 2}
        restarts: {description: Containers restarted since the previous sample., type: int, sample: 0}
        exam_mode_on: {description: EXAM_MODE as stored., type: bool, sample: true}
        not_measured: {description: What could not be measured by name., type: list, elements: str, sample: []}
        errors:
          description: Why each part that failed could not be observed, by part.
          type: dict
          contains:
            redis: {description: e.g. why Redis did not answer., type: str, sample: "cannot read Redis INFO from 127.0.0.1:6379: Connection refused"}
    pid: {description: The watch's process id (SIGTERM ends it with a valid record)., type: int, sample: 41234}
  sample: {"started_at": "2026-11-30T08:00:00.12Z", "stopped_by": "bound", "samples": 720, "alerts": [], "active": []}
output_dir:
  description: The watch's directory.
  returned: always
  type: str
  sample: /home/ops/reports/watch-prod-20261130_080000
watched:
  description: What is watched (the parts that answered before the watch started).
  returned: action=run
  type: list
  elements: str
  sample: [health, readiness, backend logs, containers, database, redis, exam_mode]
lines:
  description: With C(action=follow), one line per sample and per alert appended since I(offset).
  returned: action=follow
  type: list
  elements: str
  sample: ["WATCH 2026-11-30T08:00:15.01Z health/ready ok/ok, 812 req, p95 88.1 ms, 5xx 0 %, pool 35 %, redis ok, backends 2, restarts 0, exam_mode on"]
offset:
  description: With C(action=follow), the offset to read from next time.
  returned: action=follow
  type: int
  sample: 4096
finished:
  description: With C(action=follow), whether the watch's record says it ended.
  returned: action=follow
  type: bool
  sample: false
msg:
  description: In check mode, what would be watched; with C(action=stop), what was asked.
  returned: check mode, action=stop
  type: str
  sample: "would watch health, readiness, backend logs, containers, database, redis, exam_mode every 15 s for 180 min"
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.examday.ops.plugins.module_utils import _db, _thresholds
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._watch import assemble as watch_module

try:
    import redis  # noqa: F401  pylint: disable=unused-import
    HAS_REDIS = True
except ImportError:
    HAS_REDIS = False


def main() -> None:
    module = AnsibleModule(argument_spec=watch_module.argument_spec(), supports_check_mode=True)
    p = module.params
    out_dir = os.path.abspath(p["output_dir"])
    if p["action"] == "follow":
        module.exit_json(changed=False, output_dir=out_dir, **watch_module.follow(out_dir, p["offset"]))
    if p["action"] == "stop":
        changed = watch_module.stop(out_dir, module.check_mode)
        module.exit_json(changed=changed, output_dir=out_dir, msg="asked the watch to stop" if changed else
                         "no running watch in this directory")
    if "database" not in p["skip"] and not _db.HAS_PSYCOPG:
        module.fail_json(msg=missing_required_lib("psycopg (3)"))
    if (p["redis"].get("host") or p["redis"].get("container")) and "redis" not in p["skip"] and not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"))

    def runner(argv):
        return module.run_command(["timeout", "--kill-after=5", str(p["docker_timeout"]), *argv],
                                  errors="surrogate_then_replace")

    try:
        watch, watched = watch_module.build(p, out_dir, runner, _thresholds.resolve(p["thresholds"]))
        if module.check_mode:
            module.exit_json(changed=False, output_dir=out_dir, watched=watched,
                             msg=f"would watch {', '.join(watched)} every {p['interval']:g} s for {p['minutes']:g} min")
        record = watch.run()
    except OpsError as exc:
        module.fail_json(msg=exc.msg, output_dir=out_dir)
    module.exit_json(changed=False, output_dir=out_dir, watched=watched, record=json_safe(record))


if __name__ == "__main__":
    main()
