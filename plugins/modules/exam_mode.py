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
seealso:
  - module: examday.ops.background_jobs
    description: Stop or pause background jobs for the exam and start them again.
  - module: examday.ops.platform_status
    description: Read-only status of the running platform, with pass/fail checks.
  - module: examday.ops.platform_profile
    description: Validate the platform profile (the platform option) and show it with its defaults.
"""

EXAMPLES = r"""
- name: EXAM_MODE on through the admin API (mechanism api), verified by effect
  examday.ops.exam_mode:
    state: enabled
    mechanism: api
    api_url: https://api.example.com
    platform: "{{ examday_platform }}"
    admin_email: ops-admin@example.com
    admin_password: "{{ vault_admin_password }}"
    reason: exam-day freeze, change ticket CHG-1234
  register: exam_mode

- name: EXAM_MODE on by the flag row (mechanism flag), with parameterised SQL
  examday.ops.exam_mode:
    state: enabled
    mechanism: flag
    api_url: http://127.0.0.1:18080
    platform: "{{ examday_platform }}"
    admin_email: admin@lab.examday.invalid
    admin_password: "{{ lab_admin_password }}"
    db: {host: 127.0.0.1, port: 15432, password: "{{ lab_db_password }}"}

- name: EXAM_MODE on through the compose env file (mechanism env); recreates only the profile's services
  examday.ops.exam_mode:
    state: enabled
    mechanism: env
    api_url: https://api.example.com
    platform: "{{ examday_platform }}"
    admin_email: ops-admin@example.com
    admin_password: "{{ vault_admin_password }}"
    compose_project: exam_platform
    env:
      file: /srv/exam_platform/infra/docker/compose/.env
      compose_files: [/srv/exam_platform/infra/docker/compose/docker-compose.prod.yml]
      backup: true
  diff: true

- name: EXAM_MODE off after the exam, with the profile's mechanism, given 90 s to take effect
  examday.ops.exam_mode:
    state: disabled
    api_url: https://api.example.com
    platform: "{{ examday_platform }}"
    admin_token: "{{ admin_token }}"
    verify_timeout: 90

- name: The job runner's own words, from the evidence
  ansible.builtin.debug:
    msg: "{{ exam_mode.evidence.worker.last }} after {{ exam_mode.evidence.seconds }} s"
  when: exam_mode.verified is true
"""

RETURN = r"""
mechanism:
  description: The mechanism used (I(mechanism), else I(platform.exam_mode.mechanism)).
  returned: always
  type: str
  sample: api
state:
  description: The state asked for (I(state)).
  returned: always
  type: str
  sample: enabled
before:
  description: The mechanism's own view of EXAM_MODE before the run.
  returned: always
  type: dict
  contains:
    enabled:
      description:
        - Whether EXAM_MODE was on. For C(flag), the flag row's value (null when there is no row); for C(env), the
          env file's value (null when the variable is not set there).
      type: bool
      sample: false
    source:
      description:
        - C(api) only. Where the value was read - C(flag) (the stored flag, read back through
          I(platform.api.calls.exam_mode_get)), C(api) (the API's answer) or C(probe) (one answer of the heavy-job probe,
          when the platform has no readable state).
      type: str
      sample: flag
    containers:
      description: C(env) only. The running containers of the profile's services and their value of the variable (null when unset).
      type: dict
      sample: {assess_api: false}
      contains:
        <container>:
          description: The container's value, by its name.
          type: bool
  sample: {enabled: false, source: api}
verified:
  description: True when the effect was seen; null in check mode or with I(verify=false). When it is not seen, the task fails.
  returned: always
  type: bool
  sample: true
evidence:
  description: The probe answers and job-runner records that prove the effect (also in the failure's result when it is not proven).
  returned: when I(verify) and not check mode
  type: dict
  contains:
    verified:
      description: Whether both the probe and the job runner showed the wanted state.
      type: bool
      sample: true
    seconds:
      description: Seconds the verification took, until the effect was seen (or I(verify_timeout) ran out).
      type: float
      sample: 13.5
    probe:
      description: The heavy-job probe (I(platform.exam_mode.probe)).
      type: dict
      contains:
        path:
          description: The probe's path, relative to I(api_url).
          type: str
          sample: /v1/admin/jobs/recompute-mastery?dry_run=true
        answers:
          description: Probe requests sent.
          type: int
          sample: 18
        settled:
          description: Whether the last I(platform.exam_mode.probe.streak) answers all showed the wanted state.
          type: bool
          sample: true
        last:
          description: The last answer, as a sentence.
          type: str
          sample: last answer HTTP 423 EXAM_MODE_ACTIVE
        recent:
          description: HTTP statuses of the last answers (at most I(platform.exam_mode.probe.streak); 0 when unreachable).
          type: list
          elements: int
          sample: [423, 423, 423, 423, 423, 423, 423, 423]
    worker:
      description: The job runner's log records (I(platform.exam_mode.jobs_evidence)).
      type: dict
      contains:
        required:
          description: Whether the profile has the job runner log its idle and run events (C(kind=log)).
          type: bool
          sample: true
        ok:
          description: Whether its newest relevant record was the wanted event; null when it logged neither yet or is not required.
          type: bool
          sample: true
        last:
          description: What decided it, as a sentence.
          type: str
          sample: "newest job-runner record: job_runner_idle (EXAM_MODE_ACTIVE)"
  sample:
    verified: true
    seconds: 13.5
    probe: {path: "/v1/admin/jobs/recompute-mastery?dry_run=true", answers: 18, settled: true,
            last: "last answer HTTP 423 EXAM_MODE_ACTIVE", recent: [423, 423, 423, 423, 423, 423, 423, 423]}
    worker: {required: true, ok: true, last: "newest job-runner record: job_runner_idle (EXAM_MODE_ACTIVE)"}
applied:
  description: What was done, by mechanism.
  returned: changed and not check mode
  type: dict
  contains:
    api:
      description: C(api) only. The admin call (I(platform.api.calls.exam_mode_set)) as evidence - no token, no body.
      type: dict
      contains:
        step:
          description: The call's name.
          type: str
          sample: exam_mode_set
        method:
          description: HTTP method.
          type: str
          sample: POST
        status:
          description: HTTP status.
          type: int
          sample: 200
        ms:
          description: Milliseconds the call took.
          type: float
          sample: 10.6
        request_id:
          description: The request id sent in I(platform.api.request_id_header), to find the call in the platform's logs.
          type: str
          sample: 087bc8dec5224f528b19882140563480
        code:
          description: The error code of the answer, null when none.
          type: str
          sample: null
    flag:
      description: C(flag) only. The flag's key (I(platform.exam_mode.flag.key)).
      type: str
      sample: exam_lock
    value:
      description: C(flag) only. The value written.
      type: bool
      sample: true
    env_file:
      description: C(env) only. The env file edited (I(env.file)).
      type: str
      sample: /work/wt-run/.lab/b/api.env
    backup:
      description: C(env) only. The timestamped copy of the env file, null when the file did not change or I(env.backup=false).
      type: str
      sample: /work/wt-run/.lab/b/api.env.20261130184433.bak
    containers:
      description: C(env) only. The recreated containers that now run with the new value.
      type: list
      elements: str
      sample: [assess_api]
  sample:
    api: {step: exam_mode_set, method: POST, status: 200, ms: 10.6, request_id: 087bc8dec5224f528b19882140563480, code: null}
msg:
  description: In check mode, what would be done.
  returned: check mode
  type: str
  sample: would set EXAM_MODE on via api
diff:
  description:
    - With C(--diff), the value before and after. For C(env) when it changes, only the variable's lines of the env file
      (the rest of the file holds secrets).
  returned: with --diff
  type: dict
  contains:
    before:
      description: A dict with C(exam_mode) (true or false); for C(env) when it changes, the variable's lines before (a string).
      type: raw
      sample: {exam_mode: false}
    after:
      description: A dict with C(exam_mode) (true or false); for C(env) when it changes, the variable's lines after (a string).
      type: raw
      sample: {exam_mode: true}
    before_header:
      description: C(env) only, when it changes. The env file and the variable.
      type: str
      sample: /work/wt-run/.lab/b/api.env (EXAM_LOCK)
    after_header:
      description: C(env) only, when it changes. The env file and the variable.
      type: str
      sample: /work/wt-run/.lab/b/api.env (EXAM_LOCK)
  sample: {before: {exam_mode: false}, after: {exam_mode: true}}
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
