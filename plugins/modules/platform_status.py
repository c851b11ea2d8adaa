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
  description: One entry per check with C(name), C(passed) (true, false, or null when not measured), C(detail), C(evidence).
  returned: always
  type: list
  elements: dict
verdict:
  description: C(passed), and the names of C(failed) and C(not_measured) checks.
  returned: always
  type: dict
containers:
  description: Summaries of the project's containers (no environment).
  returned: always
  type: list
  elements: dict
stats:
  description: CPU and memory of each running container at one instant.
  returned: when stats
  type: list
  elements: dict
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
