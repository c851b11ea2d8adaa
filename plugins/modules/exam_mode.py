#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: exam_mode
short_description: Turn the platform's EXAM_MODE on or off and verify it by effect
version_added: 0.1.0
description:
  - Sets EXAM_MODE through one of three mechanisms. C(api) calls the admin endpoint with its
    confirmation phrase; C(flag) upserts the C(system_flags) row with a reason and who set it
    (parameterised SQL); C(env) edits the compose env file (quoted value, backup, diff) and
    recreates only the named services with Compose v2, then confirms the running containers' env.
  - Then proves the effect rather than reading a variable. A heavy-job probe must answer
    HTTP 423 C(EXAM_MODE_ACTIVE) (or stop answering it) I(probe.streak) times in a row, so every
    replica's flag cache has expired. The worker must log its idle (or run) event after the change.
    A mechanism that succeeds without the effect fails the task, naming the missing evidence.
  - Everything is validated before anything changes (URL, admin login, database credentials,
    env file, compose services). Never touches C(FREEZE_UPDATES), which blocks every student,
    unless I(allow_freeze_updates=true).
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.platform_api
  - examday.ops.db
options:
  state:
    description: Whether EXAM_MODE must be on (C(enabled)) or off (C(disabled)).
    type: str
    required: true
    choices: [enabled, disabled]
  mechanism:
    description: How to set it. Only the flag row (directly or through C(api)) takes effect on the real platform.
    type: str
    default: api
    choices: [api, flag, env]
  reason:
    description: Why, recorded by the platform (C(api), C(flag)).
    type: str
    default: exam-day freeze (examday.ops)
  set_by:
    description: Who, recorded in C(updated_by) (C(flag)).
    type: str
    default: examday.ops
  flag_name:
    description: The flag's key.
    type: str
    default: EXAM_MODE
  allow_freeze_updates:
    description: Allow I(flag_name) or I(env.var) to be C(FREEZE_UPDATES).
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
  confirmation_phrases:
    description: The phrases the admin endpoint wants, by direction.
    type: dict
    default: {enable: ENABLE EXAM MODE, disable: DISABLE EXAM MODE}
  compose_project:
    description: Compose project of the platform (worker lookup, C(env) mechanism).
    type: str
    default: exam_platform
  env:
    description: The C(env) mechanism's settings.
    type: dict
    default: {}
    suboptions:
      file:
        description: The env file the services read (edited in place, a timestamped backup beside it).
        type: path
      var:
        description: The variable.
        type: str
        default: EXAM_MODE
      services:
        description: The compose services to recreate (and only those).
        type: list
        elements: str
        default: [backend]
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
  flag_table:
    description: Table of the flags (schema-qualified if needed).
    type: str
    default: system_flags
  flag_value_format:
    description: How the C(value) column stores the flag.
    type: str
    default: jsonb
    choices: [jsonb, boolean, text]
  probe:
    description: The effect probe through the API.
    type: dict
    default: {}
    suboptions:
      path:
        description: Path (with query) of a heavy-job request; use a dry-run form where the platform has one.
        type: str
        default: /v1/admin/jobs/recompute-mastery?dry_run=true
      method:
        description: HTTP method.
        type: str
        default: POST
      auth:
        description: Send the admin token (C(admin)) or nothing (C(none)).
        type: str
        default: admin
        choices: [admin, none]
      refused_status:
        description: Status of a refusal because of EXAM_MODE.
        type: int
        default: 423
      refused_code:
        description: C(code) in the refusal body (empty to accept any).
        type: str
        default: EXAM_MODE_ACTIVE
      streak:
        description: Answers in a row that must agree (covers every replica behind the edge).
        type: int
        default: 8
  worker:
    description: The job runner whose logs must show it idles (on) or runs (off).
    type: dict
    default: {}
    suboptions:
      service:
        description: Its compose service.
        type: str
        default: worker
      container:
        description: Its container, instead of I(service).
        type: str
      idle_event:
        description: The C(event) of its JSON log line when it skips jobs.
        type: str
        default: job_runner_idle
      run_event:
        description: The C(event) of its JSON log line when it runs jobs.
        type: str
        default: job_run
      required:
        description: Fail when the worker evidence is missing.
        type: bool
        default: true
      window:
        description: Seconds of logs to judge when nothing changed.
        type: int
        default: 30
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
  - docker CLI with Compose v2 on the target (C(env) mechanism, worker logs)
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
    admin_email: ops-admin@example.com
    admin_password: "{{ vault_admin_password }}"

- name: EXAM_MODE on by the flag row
  examday.ops.exam_mode:
    state: enabled
    mechanism: flag
    api_url: http://127.0.0.1:18080
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
from ansible_collections.examday.ops.plugins.module_utils._platform_api import (
    PlatformClient, api_argument_spec, urllib_transport)


def argument_spec() -> dict:
    spec = api_argument_spec()
    spec.update(db_argument_spec())
    spec.update(
        state={"type": "str", "required": True, "choices": ["enabled", "disabled"]},
        mechanism={"type": "str", "default": "api", "choices": ["api", "flag", "env"]},
        reason={"type": "str", "default": "exam-day freeze (examday.ops)"},
        set_by={"type": "str", "default": "examday.ops"},
        flag_name={"type": "str", "default": "EXAM_MODE"},
        allow_freeze_updates={"type": "bool", "default": False},
        admin_email={"type": "str"},
        admin_password={"type": "str", "no_log": True},
        admin_token={"type": "str", "no_log": True},
        confirmation_phrases={"type": "dict",
                              "default": {"enable": "ENABLE EXAM MODE", "disable": "DISABLE EXAM MODE"}},
        compose_project={"type": "str", "default": "exam_platform"},
        env={"type": "dict", "default": {}, "options": {
            "file": {"type": "path"},
            "var": {"type": "str", "default": "EXAM_MODE"},
            "services": {"type": "list", "elements": "str", "default": ["backend"]},
            "compose_files": {"type": "list", "elements": "path", "default": []},
            "project_dir": {"type": "path"},
            "env_files": {"type": "list", "elements": "path", "default": []},
            "backup": {"type": "bool", "default": True},
        }},
        flag_table={"type": "str", "default": "system_flags"},
        flag_value_format={"type": "str", "default": "jsonb", "choices": ["jsonb", "boolean", "text"]},
        probe={"type": "dict", "default": {}, "options": {
            "path": {"type": "str", "default": "/v1/admin/jobs/recompute-mastery?dry_run=true"},
            "method": {"type": "str", "default": "POST"},
            "auth": {"type": "str", "default": "admin", "choices": ["admin", "none"]},
            "refused_status": {"type": "int", "default": 423},
            "refused_code": {"type": "str", "default": "EXAM_MODE_ACTIVE"},
            "streak": {"type": "int", "default": 8},
        }},
        worker={"type": "dict", "default": {}, "options": {
            "service": {"type": "str", "default": "worker"},
            "container": {"type": "str"},
            "idle_event": {"type": "str", "default": "job_runner_idle"},
            "run_event": {"type": "str", "default": "job_run"},
            "required": {"type": "bool", "default": True},
            "window": {"type": "int", "default": 30},
        }},
        verify={"type": "bool", "default": True},
        verify_timeout={"type": "float", "default": 60.0},
        poll_interval={"type": "float", "default": 0.5},
    )
    return spec


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    if p["mechanism"] == "flag" and not _db.HAS_PSYCOPG:
        module.fail_json(msg=missing_required_lib("psycopg"))

    runner = module.run_command

    def db_connect(db):
        return _db.connect(runner, db, "examday.ops exam_mode")

    try:
        client = PlatformClient(p["api_url"], urllib_transport(p["validate_certs"]), p["timeout"], p["api_paths"])
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
