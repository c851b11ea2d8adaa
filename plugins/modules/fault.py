#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: fault
short_description: Inject a fault into an exam platform, restore it, and measure recovery
version_added: 0.2.0
description:
  - Container faults on compose services or named containers (stop then start, restart, kill with a signal, pause
    then unpause, CPU throttle); network faults inside a container's network namespace through a short-lived helper
    container with NET_ADMIN (partition from a peer or a port with iptables, random packet loss with the iptables
    statistic match, bandwidth limit with tbf, delay and jitter with netem where the kernel has it); database faults
    (terminate the app's connections, hold a lock on a table, occupy connections up to a percentage of
    max_connections); a Redis stall (CLIENT PAUSE).
  - Before anything changes, the fault is written to a ledger on the target host (what, prior state, the undo steps,
    deadline) and a detached watchdog process is armed on the host. It undoes the fault at deadline plus I(grace)
    even if the module, the playbook or the controller dies. Database and Redis faults are in addition bounded
    server-side (pg_sleep under statement_timeout, idle_session_timeout, the pause's own timeout).
  - With I(wait=true) the module holds the fault for I(duration) seconds, restores it, then polls C(/health) and
    C(/v1/ready) (judged by their body) every 250 ms or faster until both are healthy, and returns the time that
    took as RV(recovery_seconds).
  - C(state=restored) undoes every active ledger entry; C(state=listed) lists them and, with I(fail_if_active),
    fails while any is active (freeze and rehearsal start with it).
  - Everything is validated before the first change (targets exist and run, parameters, netem available).
    Check mode resolves targets and returns the plan without changing anything.
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.db
  - examday.ops.platform
options:
  state:
    description: Inject a fault, restore active ones, or list them.
    type: str
    default: injected
    choices: [injected, restored, listed]
  fault:
    description: The fault to inject (C(state=injected)).
    type: str
    choices: [stop, restart, kill, pause, cpu, partition, loss, bandwidth, delay, db_terminate, db_lock, db_connections, redis_pause]
  name:
    description:
      - A label for the fault in the ledger and the report. With C(state=restored), restore only the fault of this
        name.
    type: str
  target:
    description: Containers the fault acts on (container and network faults).
    type: dict
    default: {}
    suboptions:
      project:
        description: Compose project.
        type: str
        default: exam_platform
      service:
        description: Compose service.
        type: str
      services:
        description:
          - Compose services, in order. With C(fault=restart) they are restarted in this order and each one's
            containers must be healthy before the next service is restarted (the recovery drill).
        type: list
        elements: str
      role:
        description:
          - A role of the platform profile (C(edge), C(backend), C(frontend), C(db), C(redis), C(worker)) instead of
            I(service); its service is I(platform.services).
        type: str
      roles:
        description: Roles instead of I(services), in order.
        type: list
        elements: str
      container:
        description: A container name or id instead of a service.
        type: str
      pick:
        description: Which of a service's running containers (replicas) to hit.
        type: str
        default: all
        choices: [one, all, random]
  params:
    description:
      - Parameters of the fault. C(kill) takes C(signal) (default SIGKILL); C(stop) and C(restart) C(stop_timeout);
        C(cpu) C(cpus); C(partition) C(peer) (a container or an address/CIDR) and/or C(port); C(loss) C(loss_pct);
        C(bandwidth) C(rate) (for example C(1mbit)); C(delay) C(delay_ms) and C(jitter_ms); C(db_lock) C(table) and
        C(mode) (default EXCLUSIVE); C(db_connections) C(connections_pct); C(db_terminate) C(application_name)
        (a regular expression, default all but examday's own) and C(every) (seconds, default 2); C(redis_pause) C(mode) (ALL or WRITE).
    type: dict
    default: {}
  duration:
    description:
      - Seconds the fault lasts. C(restart) happens at once and is then observed for this long; C(db_terminate)
        is repeated every C(params.every) seconds for this long (0 for once).
    type: float
    default: 30
  grace:
    description: Seconds after the deadline at which the host-side watchdog restores a fault nobody restored.
    type: float
    default: 30
  wait:
    description:
      - Hold the fault for I(duration), restore it and measure recovery. With C(false) the module returns right
        after injecting, and the fault is undone by C(state=restored) or by the watchdog at the deadline plus grace.
    type: bool
    default: true
  ledger_dir:
    description: The fault ledger's directory on the target host.
    type: path
    default: /var/lib/examday/faults
  net_tool_image:
    description: An image with iproute2 and iptables, run with NET_ADMIN in the target's network namespace (network faults).
    type: str
  api_url:
    description:
      - Base URL of the platform API; when given, the time until health and readiness say ok again (judged by
        I(platform.health) and I(platform.readiness)) is measured. What students see is measured by the canary
        (examday.ops.canary).
    type: str
  validate_certs:
    description: Verify TLS certificates when probing recovery.
    type: bool
    default: true
  recovery_timeout:
    description: Seconds to wait for the platform (or, in an ordered restart, each service) to be healthy again.
    type: float
    default: 120
  recovery_interval:
    description: Seconds between recovery probes (at most 0.25).
    type: float
    default: 0.25
  redis:
    description: Redis for C(redis_pause).
    type: dict
    default: {}
    suboptions:
      host:
        description: Host.
        type: str
        default: 127.0.0.1
      port:
        description: Port.
        type: int
        default: 6379
      password:
        description: Password.
        type: str
  fail_if_active:
    description: With C(state=listed), fail while the ledger has active faults.
    type: bool
    default: false
notes:
  - Network faults need the C(iptables) and C(tc) tools in I(net_tool_image); the lab's image has them.
  - Docker cannot remove a C(--cpus) limit once set; a container that had none gets the host's CPU count back.
seealso:
  - module: examday.ops.canary
    description: A canary student measuring what students see while faults are injected.
  - module: examday.ops.platform_status
    description: Read-only status of the running platform, with pass/fail checks.
  - module: examday.ops.report
    description: The GO/NO-GO report from the evidence directory.
  - module: examday.ops.platform_profile
    description: Validate the platform profile (the platform option) and show it with its defaults.
"""

EXAMPLES = r"""
- name: Stop Redis for 60 s during load, then measure recovery
  examday.ops.fault:
    fault: stop
    target: {project: exam_platform, service: redis}
    duration: 60
    ledger_dir: /var/lib/examday/faults
    api_url: https://exam.example.org
  register: redis_stopped

- name: Restart one backend replica and observe the platform for 30 s
  examday.ops.fault:
    name: one backend replica restarted
    fault: restart
    target: {role: backend, pick: one}
    params: {stop_timeout: 10}
    duration: 30
    api_url: http://127.0.0.1:18080
    platform: "{{ examday_platform }}"

- name: The recovery drill - restart everything in order, infrastructure first, each service healthy before the next
  examday.ops.fault:
    name: full restart, infrastructure first (recovery drill)
    fault: restart
    target: {roles: [db, redis, backend, edge]}
    duration: 30
    recovery_timeout: 120
    api_url: http://127.0.0.1:18080
    platform: "{{ examday_platform }}"

- name: Kill the worker with SIGKILL (it is started again when the fault ends)
  examday.ops.fault:
    fault: kill
    target: {service: worker}
    params: {signal: SIGKILL}
    duration: 20

- name: Freeze Redis's process for 15 s (pause, then unpause)
  examday.ops.fault:
    fault: pause
    target: {role: redis}
    duration: 15
    platform: "{{ examday_platform }}"

- name: Throttle every backend replica to a quarter of a CPU for a minute
  examday.ops.fault:
    fault: cpu
    target: {service: backend}
    params: {cpus: 0.25}
    duration: 60

- name: Partition one backend replica from PostgreSQL for 20 s
  examday.ops.fault:
    fault: partition
    target: {service: backend, pick: one}
    params: {peer: exam_platform_postgres}
    duration: 20
    net_tool_image: nicolaka/netshoot:v0.13

- name: One backend replica loses 30 % of its packets for a minute
  examday.ops.fault:
    name: "network: one backend replica loses 30% of its packets"
    fault: loss
    target: {role: backend, pick: one}
    params: {loss_pct: 30}
    duration: 60
    net_tool_image: nicolaka/netshoot:v0.13
    platform: "{{ examday_platform }}"

- name: The edge proxy limited to 1 Mbit/s
  examday.ops.fault:
    fault: bandwidth
    target: {service: traefik}
    params: {rate: 1mbit}
    duration: 30
    net_tool_image: nicolaka/netshoot:v0.13

- name: 200 ms of delay with 50 ms of jitter on one backend replica (needs the kernel's netem)
  examday.ops.fault:
    fault: delay
    target: {service: backend, pick: random}
    params: {delay_ms: 200, jitter_ms: 50}
    duration: 30
    net_tool_image: nicolaka/netshoot:v0.13

- name: Terminate the app's database connections every 2 s for 20 s
  examday.ops.fault:
    name: "database: the app's connections terminated every 2 s"
    fault: db_terminate
    params: {application_name: "^exam_backend", every: 2}
    duration: 20
    db: "{{ examday_db }}"
    api_url: http://127.0.0.1:18080

- name: Hold an EXCLUSIVE lock on the answers table for 10 s
  examday.ops.fault:
    fault: db_lock
    params: {table: session_answers, mode: EXCLUSIVE}
    duration: 10
    db: "{{ examday_db }}"

- name: Occupy connections up to 90 % of max_connections for 30 s
  examday.ops.fault:
    fault: db_connections
    params: {connections_pct: 90}
    duration: 30
    db: "{{ examday_db }}"

- name: Pause Redis's writes for 10 s (CLIENT PAUSE WRITE)
  examday.ops.fault:
    fault: redis_pause
    params: {mode: WRITE}
    duration: 10
    redis: {host: 127.0.0.1, port: 6379, password: "{{ vault_examday_redis_password }}"}

- name: Stop the worker and return at once; it is restored later by state=restored, or by the host's watchdog
  examday.ops.fault:
    name: worker down during the submit spike
    fault: stop
    target: {service: worker}
    duration: 300
    wait: false

- name: Nothing may be left over before the exam (fails while a fault is active)
  examday.ops.fault:
    state: listed
    fail_if_active: true

- name: Whatever happens, undo every active fault
  examday.ops.fault:
    state: restored
"""

RETURN = r"""
name:
  description: The fault's label (I(name), else the fault and its targets).
  returned: state=injected
  type: str
  sample: Redis stopped
fault:
  description: The fault injected (I(fault)).
  returned: state=injected
  type: str
  sample: stop
targets:
  description: Names of the containers hit (empty for database and Redis faults).
  returned: state=injected
  type: list
  elements: str
  sample: [exam_platform_redis]
duration_s:
  description: The fault's duration (I(duration)).
  returned: state=injected
  type: float
  sample: 15.0
planned:
  description: What the fault does, step by step (a database or Redis fault is one step, held by the module).
  returned: state=injected
  type: list
  elements: str
  sample: [stop exam_platform_redis]
ledger_id:
  description: The fault's ledger entry (its id in I(ledger_dir)).
  returned: state=injected, not check mode
  type: str
  sample: 20261130173047-b29adb
injected_at:
  description: UTC time the injection started.
  returned: state=injected, not check mode
  type: str
  sample: "2026-11-30T17:30:47.217Z"
applied_at:
  description: UTC time the fault was in place.
  returned: state=injected with wait
  type: str
  sample: "2026-11-30T17:30:47.472Z"
restored_at:
  description: UTC time the fault was undone.
  returned: state=injected with wait
  type: str
  sample: "2026-11-30T17:31:02.721Z"
instant:
  description: Whether the fault happened at once (a container C(restart)), so that it ends when applied, not when restored.
  returned: state=injected with wait
  type: bool
  sample: false
ended_at:
  description: UTC time the fault ended for students - RV(applied_at) for an instant fault, RV(restored_at) otherwise.
  returned: state=injected with wait
  type: str
  sample: "2026-11-30T17:31:02.721Z"
deadline:
  description: UTC time the fault is due to end; the host's watchdog restores it I(grace) seconds later unless it was restored earlier.
  returned: state=injected with wait=false, not check mode
  type: str
  sample: "2026-11-30T17:31:07.472Z"
restored:
  description:
    - With C(state=injected), whether the fault has been undone (a bool; false with I(wait=false)).
    - With C(state=restored), the names of the faults undone (a list; in check mode, the names that would be).
  returned: state=injected not in check mode, and state=restored
  type: raw
  sample: true
undo:
  description: One result per undo step of the ledger entry (empty for database and Redis faults, which end by themselves).
  returned: state=injected with wait
  type: list
  elements: dict
  contains:
    what:
      description: The step.
      type: str
      sample: start exam_platform_redis
    rc:
      description: Its exit code.
      type: int
      sample: 0
    ok:
      description: Whether it succeeded, or failed only because the thing was already undone.
      type: bool
      sample: true
    note:
      description: When it failed, the last line it printed (starting with C(already undone) when tolerated); else empty.
      type: str
      sample: ""
  sample: [{what: start exam_platform_redis, rc: 0, ok: true, note: ""}]
recovery_seconds:
  description:
    - Seconds from the restore (for an instant fault, from when it was applied) until health and readiness were healthy by
      their body; null when not measured (no I(api_url)) or not healthy within I(recovery_timeout).
  returned: state=injected with wait, and state=restored not in check mode
  type: float
  sample: 0.288
recovered:
  description: Whether the platform was healthy again within I(recovery_timeout); null when not measured (no I(api_url)).
  returned: state=injected with wait
  type: bool
  sample: true
recovery_detail:
  description: The last recovery probe's answer, or why recovery was not measured.
  returned: state=injected with wait, and state=restored not in check mode
  type: str
  sample: ready ok
targets_healthy_after_s:
  description:
    - Seconds, once recovery was measured, until every target ran and was healthy again; null without targets, or when
      they were not healthy within I(recovery_timeout).
  returned: state=injected with wait
  type: float
  sample: 1.952
before:
  description: State, health, restarts and limits of each target before the fault, by container name (empty without targets).
  returned: state=injected, not check mode
  type: dict
  contains:
    <container>:
      description: One target, by its name.
      type: dict
      contains:
        status:
          description: Docker state (C(running), C(exited), C(paused) ...), or C(missing) when the container is gone.
          type: str
        running:
          description: Whether it runs.
          type: bool
        paused:
          description: Whether it is paused.
          type: bool
        health:
          description: Health status, null without a health check.
          type: str
        restart_count:
          description: Restarts counted by Docker.
          type: int
        started_at:
          description: When it last started.
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
    exam_platform_redis: {status: running, running: true, paused: false, health: healthy, restart_count: 0,
                          started_at: "2026-11-30T17:19:09.56198152Z", limits: {memory_bytes: 268435456, nano_cpus: 500000000}}
after:
  description: The same as RV(before), after the restore and the recovery.
  returned: state=injected with wait
  type: dict
  contains:
    <container>:
      description: One target, by its name.
      type: dict
      contains:
        status:
          description: Docker state (C(running), C(exited), C(paused) ...), or C(missing) when the container is gone.
          type: str
        running:
          description: Whether it runs.
          type: bool
        paused:
          description: Whether it is paused.
          type: bool
        health:
          description: Health status, null without a health check.
          type: str
        restart_count:
          description: Restarts counted by Docker.
          type: int
        started_at:
          description: When it last started.
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
    exam_platform_redis: {status: running, running: true, paused: false, health: healthy, restart_count: 0,
                          started_at: "2026-11-30T17:31:02.71653351Z", limits: {memory_bytes: 268435456, nano_cpus: 500000000}}
details:
  description: What the fault did; the keys depend on the fault.
  returned: state=injected, not check mode
  type: dict
  contains:
    applied:
      description: Container and network faults. The steps applied.
      type: list
      elements: str
      sample: [stop exam_platform_redis]
    order:
      description: C(restart) of several services (the recovery drill). The services, in the order they were restarted.
      type: list
      elements: str
      sample: [postgres, redis, backend, traefik]
    services:
      description: C(restart) of several services. Each service's restart, in order.
      type: list
      elements: dict
      sample: [{service: postgres, restart_s: 4.579, healthy_after_s: 2.186}]
      contains:
        service:
          description: The compose service.
          type: str
        restart_s:
          description: Seconds from its restart until its containers were healthy.
          type: float
        healthy_after_s:
          description: Seconds from the end of the restart command until its containers were healthy.
          type: float
    terminated:
      description: C(db_terminate). Connections terminated, over all rounds.
      type: int
      sample: 20
    rounds:
      description: C(db_terminate). Times the connections were terminated (at once, then every C(params.every) seconds).
      type: int
      sample: 3
    application_names:
      description: C(db_terminate). The application names of the connections terminated.
      type: list
      elements: str
      sample: ["exam_backend:1676bf40f860", "exam_backend:67871533fef6"]
    locked:
      description: C(db_lock). The table locked (C(params.table)).
      type: str
      sample: session_answers
    mode:
      description: C(db_lock) and C(redis_pause). The lock mode (C(params.mode)), or the pause's (C(ALL) or C(WRITE)).
      type: str
      sample: EXCLUSIVE
    held_s:
      description: C(db_lock). Seconds the lock was held (I(duration)).
      type: float
      sample: 10.0
    occupied:
      description: C(db_connections). Connections opened and held.
      type: int
    max_connections:
      description: C(db_connections). The server's max_connections.
      type: int
      sample: 100
    in_use_before:
      description: C(db_connections). Client connections in use before.
      type: int
    in_use_pct_during:
      description: C(db_connections). Percentage of max_connections in use while they were held.
      type: float
    paused_ms:
      description: C(redis_pause). Milliseconds of the C(CLIENT PAUSE).
      type: int
      sample: 10000
  sample:
    application_names: ["exam_backend:1676bf40f860", "exam_backend:67871533fef6"]
    rounds: 3
    terminated: 20
restored_ids:
  description: Ledger entries undone by C(state=restored).
  returned: state=restored, not check mode
  type: list
  elements: str
  sample: [20261130173047-b29adb]
active:
  description: The active ledger entries (with I(fail_if_active), also in the failure's result).
  returned: state=listed
  type: list
  elements: dict
  contains:
    id:
      description: The ledger id.
      type: str
      sample: 20261130173047-b29adb
    name:
      description: The fault's label.
      type: str
      sample: Redis stopped
    fault:
      description: The fault.
      type: str
      sample: stop
    targets:
      description: Names of its containers.
      type: list
      elements: str
      sample: [exam_platform_redis]
    injected_at:
      description: UTC time it was recorded in the ledger, just before it was injected.
      type: str
    deadline:
      description: UTC time it is due to end (the watchdog restores it I(grace) seconds later).
      type: str
    last_error:
      description: Why the last restore failed; null when none failed.
      type: str
      sample: null
  sample: []
msg:
  description: What happened (or would, in check mode), in one sentence.
  returned: always
  type: str
  sample: "Redis stopped: injected 2026-11-30T17:30:47.217Z, restored 2026-11-30T17:31:02.721Z, healthy again after 0.29 s"
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.examday.ops.plugins.module_utils import _db, _fault_services
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._fault_manager import FaultManager
from ansible_collections.examday.ops.plugins.module_utils._platform.api import (
    PlatformClient, PlatformUnreachable, urllib_transport)
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve, service
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec

try:
    import redis
    HAS_REDIS = True
except ImportError:
    redis = None
    HAS_REDIS = False


def recovery_probe(params: dict, platform: dict):
    client = PlatformClient(params["api_url"], urllib_transport(params["validate_certs"]), platform, 2.0)

    def probe() -> tuple[bool, str]:
        try:
            ok, detail = client.judge("health", client.health())
            if not ok:
                return False, f"health {detail}"
            ok, detail = client.judge("readiness", client.ready())
            return ok, f"ready {detail}"
        except PlatformUnreachable as exc:
            return False, str(exc)
    return probe


def resolve_roles(target: dict, platform: dict) -> dict:
    """A target given by the profile's roles, as compose services."""
    out = dict(target)
    for key, plural in (("role", False), ("roles", True)):
        roles = target.get(key)
        if not roles:
            continue
        names = []
        for role in (roles if plural else [roles]):
            name = service(platform, role)
            if not name:
                raise OpsError(f"the fault's target role {role!r} has no service in examday_platform.services "
                               f"(known roles: {', '.join(sorted(platform['services']))}).")
            names.append(name)
        if plural:
            out["services"] = names
        else:
            out["service"] = names[0]
    out.pop("role", None)
    out.pop("roles", None)
    return out


def main() -> None:
    spec = {
        "state": {"type": "str", "default": "injected", "choices": ["injected", "restored", "listed"]},
        "fault": {"type": "str", "choices": ["stop", "restart", "kill", "pause", "cpu", "partition", "loss", "bandwidth", "delay",
                                             "db_terminate", "db_lock", "db_connections", "redis_pause"]},
        "name": {"type": "str"},
        "target": {"type": "dict", "default": {}, "options": {
            "project": {"type": "str", "default": "exam_platform"},
            "service": {"type": "str"},
            "services": {"type": "list", "elements": "str"},
            "role": {"type": "str"},
            "roles": {"type": "list", "elements": "str"},
            "container": {"type": "str"},
            "pick": {"type": "str", "default": "all", "choices": ["one", "all", "random"]},
        }},
        "params": {"type": "dict", "default": {}},
        "duration": {"type": "float", "default": 30},
        "grace": {"type": "float", "default": 30},
        "wait": {"type": "bool", "default": True},
        "ledger_dir": {"type": "path", "default": "/var/lib/examday/faults"},
        "net_tool_image": {"type": "str"},
        "api_url": {"type": "str"},
        "validate_certs": {"type": "bool", "default": True},
        "recovery_timeout": {"type": "float", "default": 120},
        "recovery_interval": {"type": "float", "default": 0.25},
        "redis": {"type": "dict", "default": {}, "options": {
            "host": {"type": "str", "default": "127.0.0.1"},
            "port": {"type": "int", "default": 6379},
            "password": {"type": "str", "no_log": True},
        }},
        "fail_if_active": {"type": "bool", "default": False},
    }
    spec.update(_db.db_argument_spec())
    spec.update(platform_argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_if=[("state", "injected", ["fault"])])
    try:
        platform = resolve(module.params["platform"])
        p = dict(module.params, target=resolve_roles(module.params["target"], platform))
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    if not 0 <= p["grace"] <= 3600 or not 0 < p["recovery_timeout"] <= 3600 or not 0 < p["recovery_interval"]:
        module.fail_json(msg="grace must be 0-3600 s, recovery_timeout 1-3600 s and recovery_interval above 0.")
    fault = p["fault"] or ""
    if fault.startswith("db_") and not _db.HAS_PSYCOPG:
        module.fail_json(msg=missing_required_lib("psycopg"))
    if fault == "redis_pause" and not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"))

    def runner(argv):
        return module.run_command(argv)

    def db(flt, params, duration, grace, sleep):
        def connect(app, options):
            return _db.connect(runner, p["db"], app, options)
        try:
            return _fault_services.db_fault(connect, flt, params, duration, grace, sleep)
        except _db.psycopg.Error as exc:
            lines = [x for x in str(exc).strip().splitlines() if x.strip()]
            raise OpsError(f"database fault {flt} failed: {lines[-1] if lines else type(exc).__name__}.") from None

    def redis_fault(flt, params, duration, sleep):
        client = redis.Redis(host=p["redis"]["host"], port=p["redis"]["port"], password=p["redis"]["password"] or None,
                             socket_timeout=duration + 10, socket_connect_timeout=5)
        try:
            client.ping()
        except redis.RedisError as exc:
            raise OpsError(f"cannot reach Redis at {p['redis']['host']}:{p['redis']['port']}: {type(exc).__name__}.") from None
        try:
            return _fault_services.redis_fault(client, flt, params, duration, sleep)
        except redis.RedisError as exc:
            raise OpsError(f"Redis fault {flt} failed: {type(exc).__name__}.") from None

    manager = FaultManager(p, runner, time.time, time.sleep, module.check_mode,
                           probe=recovery_probe(p, platform) if p["api_url"] else None, db=db, redis=redis_fault,
                           host_cpus=os.cpu_count() or 1)
    try:
        result = manager.run_state()
    except OpsError as exc:
        module.fail_json(msg=exc.msg, **json_safe(exc.details))
    module.exit_json(**json_safe(result))


if __name__ == "__main__":
    main()
