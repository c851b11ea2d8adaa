#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: exam_mode
short_description: Turn the platform's EXAM_MODE on or off and verify it by effect
version_added: 0.1.0
description:
  - Sets EXAM_MODE through one of three mechanisms (the platform profile's I(platform.exam_mode)).
    C(api) calls the admin endpoint (I(platform.api.calls.exam_mode_set)) with its confirmation
    phrase; C(flag) upserts the flag row (table, columns and their types from
    I(platform.exam_mode.flag)) with a reason and who set it (parameterised SQL); C(env) edits the
    compose env file (quoted value, backup, diff) and recreates only the profile's services with
    Compose v2, then confirms the running containers' env.
  - Then proves the effect rather than reading a variable. The profile's heavy-job probe must be
    refused (its status and error code) I(platform.exam_mode.probe.streak) times in a row (or stop
    being refused), so every backend process's flag cache has expired. Where the platform logs its
    job runner (I(platform.exam_mode.jobs_evidence)), the runner must log its idle (or run) event
    after the change. A mechanism that succeeds without the effect fails the task, naming the
    missing evidence.
  - Everything is validated before anything changes (URL, admin login, database credentials,
    env file, compose services). Never touches the student-blocking flag
    (I(platform.exam_mode.freeze_flag), C(FREEZE_UPDATES)) unless I(allow_freeze_updates=true).
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.platform_api
  - examday.ops.platform
  - examday.ops.db
options:
  state:
    description: Whether EXAM_MODE must be on (C(enabled)) or off (C(disabled)).
    type: str
    required: true
    choices: [enabled, disabled]
  mechanism:
    description: How to set it; default I(platform.exam_mode.mechanism).
    type: str
    choices: [api, flag, env]
  reason:
    description: Why, recorded by the platform (C(api), C(flag)).
    type: str
    default: exam-day freeze (examday.ops)
  allow_freeze_updates:
    description: Allow the flag or variable to be the student-blocking one.
    type: bool
    default: false
  admin_email:
    description: Admin account for the admin API and the heavy-job probe (unless I(admin_token)).
    type: str
  admin_password:
    description: Its password.
    type: str
  admin_token:
    description: An admin access token to use instead of logging in.
    type: str
  compose_project:
    description: Compose project of the platform (job-runner logs, C(env) mechanism).
    type: str
    default: exam_platform
  env:
    description: Where the C(env) mechanism edits (the variable and services are the profile's).
    type: dict
    default: {}
    suboptions:
      file:
        description: The env file the services read (edited in place, a timestamped backup beside it).
        type: path
      compose_files:
        description: The project's compose files.
        type: list
        elements: path
        default: []
      project_dir:
        description: Compose project directory.
        type: path
      env_files:
        description: Files passed as C(--env-file) for compose interpolation.
        type: list
        elements: path
        default: []
      backup:
        description: Keep a timestamped copy of the env file before editing it.
        type: bool
        default: true
  verify:
    description: Verify by effect.
    type: bool
    default: true
  verify_timeout:
    description: Seconds to wait for the effect (more than the platform's flag cache, about 10 s).
    type: float
    default: 60
  poll_interval:
    description: Seconds between probe answers.
    type: float
    default: 0.5
requirements:
  - docker CLI with Compose v2 on the target (C(env) mechanism, job-runner logs)
  - psycopg 3 on the target (C(flag) mechanism)
attributes:
  check_mode:
    description: Reads the current state and reports what would change; changes nothing, verifies nothing.
    support: full
  diff_mode:
    description: The env file's lines (C(env)) or the flag's value before and after.
    support: full
"""

EXAMPLES = r"""
- name: EXAM_MODE on through the admin API, verified by effect
  examday.ops.exam_mode:
    state: enabled
    api_url: https://api.example.com
    platform: "{{ examday_platform }}"
    admin_email: ops-admin@example.com
    admin_password: "{{ vault_admin_password }}"

- name: EXAM_MODE on by the flag row
  examday.ops.exam_mode:
    state: enabled
    mechanism: flag
    api_url: http://127.0.0.1:18080
    platform: "{{ examday_platform }}"
    admin_email: admin@lab.examday.invalid
    admin_password: "{{ lab_admin_password }}"
    db: {host: 127.0.0.1, port: 15432, password: "{{ lab_db_password }}"}
"""

RETURN = r"""
before:
  description: The mechanism's view before the run (C(enabled), and for C(env) the running containers' values).
  returned: always
  type: dict
verified:
  description: True when the effect was seen; null in check mode or with verify=false.
  returned: always
  type: bool
evidence:
  description: Probe answers and worker records that prove the effect.
  returned: when verified
  type: dict
applied:
  description: What was done (flag value, API step, env file and backup, recreated containers).
  returned: changed
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.examday.ops.plugins.module_utils import _db
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._db import db_argument_spec
from ansible_collections.examday.ops.plugins.module_utils._exam_mode_manager import ExamModeManager
from ansible_collections.examday.ops.plugins.module_utils._platform.api import (
    PlatformClient, api_argument_spec, urllib_transport)
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec


def argument_spec() -> dict:
    spec = api_argument_spec()
    spec.update(platform_argument_spec())
    spec.update(db_argument_spec())
    spec.update(
        state={"type": "str", "required": True, "choices": ["enabled", "disabled"]},
        mechanism={"type": "str", "choices": ["api", "flag", "env"]},
        reason={"type": "str", "default": "exam-day freeze (examday.ops)"},
        allow_freeze_updates={"type": "bool", "default": False},
        admin_email={"type": "str"},
        admin_password={"type": "str", "no_log": True},
        admin_token={"type": "str", "no_log": True},
        compose_project={"type": "str", "default": "exam_platform"},
        env={"type": "dict", "default": {}, "options": {
            "file": {"type": "path"},
            "compose_files": {"type": "list", "elements": "path", "default": []},
            "project_dir": {"type": "path"},
            "env_files": {"type": "list", "elements": "path", "default": []},
            "backup": {"type": "bool", "default": True},
        }},
        verify={"type": "bool", "default": True},
        verify_timeout={"type": "float", "default": 60.0},
        poll_interval={"type": "float", "default": 0.5},
    )
    return spec


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    try:
        platform = resolve(p["platform"])
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    if (p["mechanism"] or platform["exam_mode"]["mechanism"]) == "flag" and not _db.HAS_PSYCOPG:
        module.fail_json(msg=missing_required_lib("psycopg"))

    runner = module.run_command

    def db_connect(db):
        return _db.connect(runner, db, "examday.ops exam_mode")

    try:
        client = PlatformClient(p["api_url"], urllib_transport(p["validate_certs"]), platform, p["timeout"])
        result = ExamModeManager(p, module.check_mode, runner, client, db_connect).run()
    except OpsError as exc:
        module.fail_json(msg=exc.msg, **json_safe(exc.details))
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**json_safe(result))


if __name__ == "__main__":
    main()
