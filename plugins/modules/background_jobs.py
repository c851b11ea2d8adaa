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
  description: Job containers (summaries), scanned containers and matched processes before acting.
  returned: always
  type: dict
actions:
  description: What was done (or would be, in check mode).
  returned: always
  type: list
  elements: dict
after:
  description: The same discovery after acting.
  returned: changed and not check mode
  type: dict
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
