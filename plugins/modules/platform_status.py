#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: platform_status
short_description: Read-only evidence about a running exam platform, with pass/fail checks
version_added: 0.1.0
description:
  - Gathers what an operator checks before and during an exam. Health and readiness are judged by
    their body by the platform profile's rules (I(platform.health), I(platform.readiness)), not by
    their code. A burst of requests through the edge proxy must all
    reach a healthy backend (its routes to every replica work). Database connections are compared with the app's pools
    (I(platform.backend) - pool_size + max_overflow per process, processes x replicas) and with max_connections. Also the compose project's
    containers (state, health, restarts, CPU and memory limits) and a C(docker stats) snapshot.
  - Changes nothing. A check that could not be measured says so (C(passed=null)) and fails the
    verdict; it is never a silent pass. Without a usable docker CLI on the target the container
    checks are C(not measured) (with the reason) instead of failing the task.
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.platform_api
  - examday.ops.platform
  - examday.ops.db
options:
  compose_project:
    description: The platform's compose project.
    type: str
    default: exam_platform
  expected_services:
    description: Services that must have running, healthy containers (default all the project has).
    type: list
    elements: str
    default: []
  checks:
    description: Which checks to run.
    type: list
    elements: str
    default: [health, ready, edge, db_connections, services, resource_limits]
    choices: [health, ready, edge, db_connections, services, resource_limits]
  edge_requests:
    description: Health requests sent through the edge (I(api_url)) for the C(edge) check; all must reach a healthy backend.
    type: int
    default: 10
  max_connections_pct:
    description: Connections to the database must stay below this percentage of max_connections.
    type: float
    default: 80
  stats:
    description: Take a C(docker stats) snapshot of the running containers.
    type: bool
    default: true
requirements:
  - docker CLI on the target
  - psycopg 3 on the target (db_connections)
attributes:
  check_mode:
    description: Read-only, so it runs in check mode too.
    support: full
  diff_mode:
    description: Nothing changes, nothing to diff.
    support: none
seealso:
  - module: examday.ops.preflight_checks
    description: The pre-exam checklist (backups, TLS, DNS, disk, rate limits, observability).
  - module: examday.ops.exam_mode
    description: Turn EXAM_MODE on or off, verified by effect.
  - module: examday.ops.platform_profile
    description: Validate the platform profile (the platform option) and show it with its defaults.
"""

EXAMPLES = r"""
- name: What the platform looks like now
  examday.ops.platform_status:
    api_url: http://127.0.0.1:18080
    platform: "{{ examday_platform }}"
    compose_project: exam_platform
    db: {host: 127.0.0.1, port: 15432, password: "{{ lab_db_password }}"}
  register: status
"""

RETURN = r"""
checks:
  description: One entry per check of I(checks), in the order C(health), C(ready), C(edge), C(services), C(resource_limits), C(db_connections).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The check (C(health), C(ready), C(edge), C(services), C(resource_limits) or C(db_connections)).
      type: str
      sample: db_connections
    passed:
      description: Whether it passed; null when it could not be measured (which fails the verdict).
      type: bool
      sample: true
    detail:
      description: The outcome in one sentence.
      type: str
      sample: 4 app connections (limit 40), 5 on the database = 5.0% of max_connections 100 (limit 80%)
    evidence:
      description:
        - What it was judged on; null when there was no answer.
        - C(health) and C(ready) - the call (C(step), C(method), C(status), C(ms), C(request_id), C(code)) and the body's
          C(body_status) (C(ready) also its C(checks)).
        - C(edge) - C(requests) and their C(statuses).
        - C(services) - a list of the containers' C(name), C(service), C(status), C(health) and C(restart_count).
        - C(resource_limits) - each container's C(limits) by its name.
        - C(db_connections) - C(max_connections), C(db_connections), C(app_connections), C(all_connections), C(app_limit)
          (the pools' capacity), C(pct_of_max_connections) and C(max_connections_pct).
      type: raw
      sample: {all_connections: 5, app_connections: 4, app_limit: 40, db_connections: 5, max_connections: 100,
               max_connections_pct: 80.0, pct_of_max_connections: 5.0}
  sample:
    - {name: health, passed: true, detail: ok, evidence: {step: health, method: GET, status: 200, ms: 9.2,
       request_id: a01518f641c24780b178197058498cbb, code: null, body_status: ok}}
    - {name: ready, passed: true, detail: ok, evidence: {step: ready, method: GET, status: 200, ms: 7.6,
       request_id: ff2a6de0f2514c34833e9d934053d96d, code: null, body_status: ok, checks: {db: ok, redis: ok}}}
    - {name: edge, passed: true, detail: 10 of 10 requests through the edge reached a healthy backend,
       evidence: {requests: 10, statuses: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]}}
    - {name: db_connections, passed: true,
       detail: "4 app connections (limit 40), 5 on the database = 5.0% of max_connections 100 (limit 80%)",
       evidence: {all_connections: 5, app_connections: 4, app_limit: 40, db_connections: 5, max_connections: 100,
                  max_connections_pct: 80.0, pct_of_max_connections: 5.0}}
verdict:
  description: The verdict over the checks.
  returned: always
  type: dict
  contains:
    passed:
      description: True when no check failed and every check was measured.
      type: bool
    failed:
      description: Names of the checks that failed.
      type: list
      elements: str
    not_measured:
      description: Names of the checks that could not be measured.
      type: list
      elements: str
  sample: {passed: true, failed: [], not_measured: []}
containers:
  description: Summaries of the compose project's containers, stopped ones too (no environment); empty without a usable docker CLI.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Short container id.
      type: str
    name:
      description: Container name.
      type: str
    service:
      description: Compose service.
      type: str
    project:
      description: Compose project.
      type: str
    status:
      description: Docker state (C(running), C(paused), C(exited) ...).
      type: str
    running:
      description: Whether it runs (a paused container runs too).
      type: bool
    paused:
      description: Whether it is paused.
      type: bool
    health:
      description: Health status, null for a container without a health check.
      type: str
    restart_count:
      description: Restarts counted by Docker.
      type: int
    started_at:
      description: When it last started (Docker's RFC 3339 time).
      type: str
    limits:
      description: CPU and memory limits (0 when none).
      type: dict
      contains:
        nano_cpus:
          description: CPU limit in billionths of a CPU.
          type: int
        memory_bytes:
          description: Memory limit in bytes.
          type: int
  sample:
    - {id: 9fa59bcc80e2, name: exam_platform_traefik, service: traefik, project: exam_platform, status: running, running: true,
       paused: false, health: healthy, restart_count: 0, started_at: "2026-11-30T19:09:04.520756998Z",
       limits: {memory_bytes: 134217728, nano_cpus: 500000000}}
stats:
  description: One C(docker stats) snapshot of the running containers (null where docker printed no number).
  returned: when I(stats) and a container runs
  type: list
  elements: dict
  contains:
    name:
      description: Container name.
      type: str
    cpu_pct:
      description: CPU use in percent of one CPU.
      type: float
    mem_bytes:
      description: Memory used.
      type: int
    mem_limit_bytes:
      description: Memory limit.
      type: int
    mem_pct:
      description: Memory used in percent of the limit.
      type: float
    pids:
      description: Processes.
      type: int
  sample:
    - {name: exam_platform_traefik, cpu_pct: 1.99, mem_bytes: 6263144, mem_limit_bytes: 134217728, mem_pct: 4.67, pids: 4}
    - {name: exam_platform_worker, cpu_pct: 0.0, mem_bytes: 11565793, mem_limit_bytes: 268435456, mem_pct: 4.31, pids: 2}
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.examday.ops.plugins.module_utils import _db, _docker_cli
from ansible_collections.examday.ops.plugins.module_utils import _platform_status as st
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe, run_checked
from ansible_collections.examday.ops.plugins.module_utils._platform.api import (
    PlatformClient, PlatformUnreachable, api_argument_spec, urllib_transport)
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import pool_capacity, resolve
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec


CHECKS = ("health", "ready", "edge", "db_connections", "services", "resource_limits")


def main() -> None:
    spec = api_argument_spec()
    spec.update(platform_argument_spec())
    spec.update(_db.db_argument_spec())
    spec.update(
        compose_project={"type": "str", "default": "exam_platform"},
        expected_services={"type": "list", "elements": "str", "default": []},
        checks={"type": "list", "elements": "str", "default": list(CHECKS), "choices": list(CHECKS)},
        edge_requests={"type": "int", "default": 10},
        max_connections_pct={"type": "float", "default": 80.0},
        stats={"type": "bool", "default": True},
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    want = set(p["checks"])
    if not 0 < p["max_connections_pct"] <= 100:
        module.fail_json(msg="max_connections_pct must be above 0 and at most 100.")
    if "db_connections" in want and not _db.HAS_PSYCOPG:
        module.fail_json(msg="db_connections needs the psycopg (3) Python library on the target.")

    runner = module.run_command
    checks, out = [], {}
    try:
        platform = resolve(p["platform"])
        client = PlatformClient(p["api_url"], urllib_transport(p["validate_certs"]), platform, p["timeout"])
        for name, call, judge, rule in (("health", client.health, st.health_check, platform["health"]),
                                        ("ready", client.ready, st.ready_check, platform["readiness"])):
            if name in want:
                try:
                    checks.append(judge(call(), None, rule))
                except PlatformUnreachable as exc:
                    checks.append(judge(None, str(exc), rule))
        if "edge" in want:
            answers, error = [], None
            try:
                for _attempt in range(max(1, p["edge_requests"])):
                    r = client.health()
                    answers.append((r.status, r.body))
            except PlatformUnreachable as exc:
                error = str(exc)
            checks.append(st.edge_check(answers, error, platform["health"]))
        docker_error, out["containers"] = None, []
        if not module.get_bin_path("docker"):
            docker_error = "there is no docker CLI on this host"
        else:
            try:
                out["containers"] = [_docker_cli.container_summary(c)
                                     for c in _docker_cli.inspect_containers(runner, p["compose_project"])]
            except OpsError as exc:  # no access to the engine here: those checks are not measured
                docker_error = exc.msg
        if "services" in want:
            expected = p["expected_services"] or sorted({c["service"] for c in out["containers"] if c["service"]})
            if docker_error:
                checks.append(st.check("services", None, [], f"not measured: {docker_error}"))
            elif not expected:
                checks.append(st.check("services", False, [], f"no container in compose project {p['compose_project']}"))
            else:
                checks.append(st.services_check(out["containers"], expected))
        if "resource_limits" in want:
            checks.append(st.check("resource_limits", None, {}, f"not measured: {docker_error}") if docker_error
                          else st.limits_check(out["containers"]))
        if "db_connections" in want:
            try:
                conn = _db.connect(runner, p["db"], "examday.ops platform_status")
                try:
                    with conn.cursor() as cur:
                        cur.execute(st.CONNECTIONS_SQL, {"db": p["db"]["name"],
                                                         "app_re": platform["backend"]["app_name_pattern"]})
                        cols = [d.name for d in cur.description]
                        row = dict(zip(cols, cur.fetchone()))
                    conn.rollback()
                finally:
                    conn.close()
                checks.append(st.db_connections_check(row, None, pool_capacity(platform), p["max_connections_pct"]))
            except OpsError as exc:
                checks.append(st.db_connections_check(None, exc.msg, pool_capacity(platform), p["max_connections_pct"]))
        running = [c["id"] for c in out["containers"] if c["running"]]
        if p["stats"] and running:
            raw = run_checked(runner, _docker_cli.stats_argv(running), "docker stats")
            out["stats"] = _docker_cli.parse_stats(_docker_cli.parse_json_stream(raw))
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, checks=json_safe(checks), verdict=st.verdict(checks), **json_safe(out))


if __name__ == "__main__":
    main()
