#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: background_jobs
short_description: Stop background jobs for the exam and start them again after
version_added: 0.1.0
description:
  - Finds background-job activity of a Compose project, as the platform profile describes it
    (I(platform.jobs)). Job containers are found by compose service; job processes inside other
    containers (a cron-style runner inside the backend) are found by command-line patterns.
  - C(stopped) stops (or pauses) the job containers and sends SIGSTOP to the matched processes.
    A state file on the host records exactly what was done. C(started) undoes exactly that (only
    the same processes, checked by pid and start time). With no record, it starts the job
    containers that are not running.
  - Idempotent. Runs on the Docker host (it signals host PIDs), as root.
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.platform
options:
  state:
    description: Jobs off (C(stopped)) or back on (C(started)).
    type: str
    required: true
    choices: [stopped, started]
  compose_project:
    description: The platform's compose project.
    type: str
    default: exam_platform
  state_file:
    description: Where the record of what was stopped is kept.
    type: path
    default: /var/lib/examday/background_jobs.json
  stop_timeout:
    description: Seconds C(docker stop) waits before killing a job container.
    type: int
    default: 30
requirements:
  - docker CLI on the target
attributes:
  check_mode:
    description: Reports what was found and what would be done; does nothing.
    support: full
  diff_mode:
    description: Not supported; the actions are returned instead.
    support: none
seealso:
  - module: examday.ops.exam_mode
    description: Turn EXAM_MODE on or off, verified by effect.
  - module: examday.ops.platform_status
    description: Read-only status of the running platform, with pass/fail checks.
  - module: examday.ops.platform_profile
    description: Validate the platform profile (the platform option) and show it with its defaults.
"""

EXAMPLES = r"""
- name: Background jobs off for the exam
  examday.ops.background_jobs:
    state: stopped
    compose_project: exam_platform
    platform: "{{ examday_platform }}"

- name: Background jobs back on
  examday.ops.background_jobs:
    state: started
    compose_project: exam_platform
    platform: "{{ examday_platform }}"
"""

RETURN = r"""
found:
  description: What was found before acting - the job containers, the containers scanned for job processes, and the matched processes.
  returned: always
  type: dict
  contains:
    containers:
      description: Summaries of the job containers (I(platform.jobs.services)); no environment.
      type: list
      elements: dict
      contains:
        id:
          description: Short container id.
          type: str
          sample: 0cf12472c22f
        name:
          description: Container name.
          type: str
          sample: exam_platform_worker
        service:
          description: Compose service.
          type: str
          sample: worker
        project:
          description: Compose project.
          type: str
          sample: exam_platform
        status:
          description: Docker state (C(running), C(paused), C(exited) ...).
          type: str
          sample: running
        running:
          description: Whether it runs (a paused container runs too).
          type: bool
          sample: true
        paused:
          description: Whether it is paused.
          type: bool
          sample: false
        health:
          description: Health status, null for a container without a health check.
          type: str
          sample: healthy
        restart_count:
          description: Restarts counted by Docker.
          type: int
          sample: 0
        started_at:
          description: When it last started (Docker's RFC 3339 time).
          type: str
          sample: "2026-11-30T17:25:51.006668657Z"
        limits:
          description: CPU and memory limits (0 when none).
          type: dict
          contains:
            nano_cpus:
              description: CPU limit in billionths of a CPU.
              type: int
              sample: 500000000
            memory_bytes:
              description: Memory limit in bytes.
              type: int
              sample: 268435456
    scanned:
      description: Running containers of I(platform.jobs.scan_services) whose processes were matched.
      type: list
      elements: str
      sample: [exam_platform-backend-2, exam_platform-backend-1]
    processes:
      description: Processes matched by I(platform.jobs.process_patterns) (host pids).
      type: list
      elements: dict
      sample:
        - {args: "/usr/bin/python3 -m examlab_b.cron", container: assess_api, pattern: "python[0-9.]* -m examlab_b\\.cron",
           pid: 12848, starttime: 747209, state: S}
      contains:
        pid:
          description: Process id on the host.
          type: int
        args:
          description: Its command line.
          type: str
        pattern:
          description: The pattern that matched it.
          type: str
        container:
          description: The container it runs in.
          type: str
        state:
          description: Its state letter from C(/proc/<pid>/stat) (C(T) when stopped).
          type: str
        starttime:
          description: Its start time in clock ticks since boot (with I(pid), identifies the process).
          type: int
  sample:
    containers:
      - {id: 0cf12472c22f, name: exam_platform_worker, service: worker, project: exam_platform, status: running, running: true,
         paused: false, health: null, restart_count: 0, started_at: "2026-11-30T17:25:51.006668657Z",
         limits: {memory_bytes: 268435456, nano_cpus: 500000000}}
    scanned: [exam_platform-backend-2, exam_platform-backend-1]
    processes: []
actions:
  description:
    - What was done (or would be, in check mode), in order - job containers stopped or paused (C(stop), C(pause))
      and started or unpaused (C(start), C(unpause)), job processes stopped (C(sigstop)) and continued (C(sigcont)).
      Empty when the jobs were already as wanted.
  returned: always
  type: list
  elements: dict
  contains:
    action:
      description: C(stop), C(pause), C(start), C(unpause), C(sigstop) or C(sigcont).
      type: str
      sample: stop
    id:
      description: Short id of the container (container actions).
      type: str
      sample: 0cf12472c22f
    name:
      description: Name of the container (container actions).
      type: str
      sample: exam_platform_worker
    pid:
      description: Host pid of the process (process actions).
      type: int
      sample: 12848
    starttime:
      description: Start time of the process in clock ticks since boot (process actions).
      type: int
      sample: 747209
    args:
      description: Command line of the process (process actions).
      type: str
      sample: /usr/bin/python3 -m examlab_b.cron
    container:
      description: The container the process runs in (process actions).
      type: str
      sample: assess_api
  sample:
    - {action: stop, id: 0cf12472c22f, name: exam_platform_worker}
after:
  description: The same discovery as RV(found), after acting.
  returned: changed and not check mode
  type: dict
  contains:
    containers:
      description: Summaries of the job containers, with the same keys as in RV(found.containers).
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
          description: Docker state.
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
          description: CPU (C(nano_cpus)) and memory (C(memory_bytes)) limits.
          type: dict
          contains:
            nano_cpus:
              description: CPU limit in billionths of a CPU.
              type: int
            memory_bytes:
              description: Memory limit in bytes.
              type: int
    scanned:
      description: Containers scanned for job processes.
      type: list
      elements: str
    processes:
      description: Matched processes, with the same keys as in RV(found.processes).
      type: list
      elements: dict
      contains:
        pid:
          description: Process id on the host.
          type: int
        args:
          description: Its command line.
          type: str
        pattern:
          description: The pattern that matched it.
          type: str
        container:
          description: The container it runs in.
          type: str
        state:
          description: Its state letter (C(T) when stopped).
          type: str
        starttime:
          description: Its start time in clock ticks since boot.
          type: int
  sample:
    containers:
      - {id: 0cf12472c22f, name: exam_platform_worker, service: worker, project: exam_platform, status: exited, running: false,
         paused: false, health: null, restart_count: 0, started_at: "2026-11-30T17:25:51.006668657Z",
         limits: {memory_bytes: 268435456, nano_cpus: 500000000}}
    scanned: [exam_platform-backend-2, exam_platform-backend-1]
    processes: []
"""

import json
import os
import signal

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.examday.ops.plugins.module_utils._background_jobs import BackgroundJobsManager
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **platform_argument_spec(),
            "state": {"type": "str", "required": True, "choices": ["stopped", "started"]},
            "compose_project": {"type": "str", "default": "exam_platform"},
            "state_file": {"type": "path", "default": "/var/lib/examday/background_jobs.json"},
            "stop_timeout": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    try:
        jobs = resolve(module.params["platform"])["jobs"]
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    params = dict(module.params, services=jobs["services"], scan_services=jobs["scan_services"],
                  process_patterns=jobs["process_patterns"], container_action=jobs["container_action"])
    path = module.params["state_file"]

    def read_stat(pid: int):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
                return fh.read()
        except OSError:
            return None

    def send_signal(pid: int, name: str) -> None:
        os.kill(pid, getattr(signal, name))

    def load_ledger():
        try:
            with open(path, encoding="utf-8") as fh:
                return json.load(fh)
        except FileNotFoundError:
            return None
        except ValueError:
            module.fail_json(msg=f"the state file {path} is not valid JSON; inspect it, then remove it.")

    def save_ledger(data) -> None:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, path)

    try:
        result = BackgroundJobsManager(params, module.check_mode, module.run_command, read_stat, send_signal,
                                       load_ledger, save_ledger).run()
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    except OSError as exc:  # e.g. not allowed to signal a process: run as root on the Docker host
        module.fail_json(msg=f"background_jobs could not signal a job process: {exc}.")
    module.exit_json(**json_safe(result))


if __name__ == "__main__":
    main()
