#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: new_sessions
short_description: The rollback guard - stop new sessions while running ones go on, proven by effect, and open again
version_added: 0.3.0
description:
  - Seed 002's Rollback Plan - stop accepting new sessions, let the running ones complete, then roll back. The switch
    is the profile's I(platform.rollback.new_sessions_flag), a row of the flag table (I(platform.exam_mode.flag)).
  - A platform without such a switch (the real platform's default, the key is empty) fails with one sentence that says
    so, and nothing is touched.
  - Everything is checked before the switch is touched (the URL, the probe student's login, the database and the flag
    table). Then the flag is set and proven by effect - a probe student's session requests must be refused
    (I(platform.rollback.refused_status) and C(refused_code)) I(platform.rollback.streak) times in a row; any session
    the probe is given before that is submitted at once, so the guard leaves no active session of its own.
  - With C(state=closed) and I(drain_minutes) above 0 it then waits, at most that long, until no session is active
    (counted in the database, I(platform.schema)); sessions still active at the end fail the task with their count.
  - C(state=open) removes the stop and proves that sessions are accepted again.
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.platform_api
  - examday.ops.platform
  - examday.ops.db
options:
  state:
    description: C(closed) stops new sessions; C(open) accepts them again.
    type: str
    required: true
    choices: [closed, open]
  email:
    description: The probe student's e-mail (proof by effect).
    type: str
  password:
    description: Its password.
    type: str
  verify:
    description: Prove the switch by effect.
    type: bool
    default: true
  verify_timeout:
    description: Seconds the proof may take (the platform's flag cache and its rate limits on the probe included).
    type: float
    default: 120
  poll_interval:
    description: Seconds between the probe's requests.
    type: float
    default: 0.5
  drain_minutes:
    description: With C(state=closed), minutes to wait until no session is active (0 - do not wait).
    type: float
    default: 0
  drain_poll:
    description: Seconds between two counts of the active sessions.
    type: float
    default: 15
  reason:
    description: Recorded in the flag row's reason column.
    type: str
    default: rollback guard (examday.ops)
attributes:
  check_mode:
    description: Checks everything, reads the switch and the active sessions, and changes nothing.
    support: full
  diff_mode:
    description: The change is a flag row, reported in C(before) and C(state).
    support: none
seealso:
  - module: examday.ops.exam_mode
    description: EXAM_MODE, the other flag of the exam day.
  - module: examday.ops.platform_profile
    description: Validate the platform profile (the platform option) and show it with its defaults.
"""

EXAMPLES = r"""
- name: Stop new sessions and wait up to an hour for the running ones to complete
  examday.ops.new_sessions:
    state: closed
    drain_minutes: 60
    api_url: "{{ examday_api_url }}"
    platform: "{{ examday_platform }}"
    db: "{{ examday_db }}"
    email: "{{ examday_student_email }}"
    password: "{{ examday_student_password }}"

- name: Accept new sessions again after the rollback
  examday.ops.new_sessions:
    state: open
    api_url: "{{ examday_api_url }}"
    platform: "{{ examday_platform }}"
    db: "{{ examday_db }}"
    email: "{{ examday_student_email }}"
    password: "{{ examday_student_password }}"
"""

RETURN = r"""
state:
  description: The state asked for.
  returned: success
  type: str
  sample: closed
before:
  description: The state found (C(closed) or C(open)).
  returned: success
  type: str
  sample: open
flag:
  description: The flag row's key.
  returned: success
  type: str
  sample: NEW_SESSIONS_CLOSED
active_sessions_before:
  description: Sessions active when the guard started.
  returned: success
  type: int
  sample: 212
verification:
  description: The proof by effect.
  returned: success, unless verify=false or in check mode
  type: dict
  contains:
    verified: {description: Whether the wanted state was shown streak times in a row., type: bool, sample: true}
    answers: {description: The probe's requests., type: int, sample: 23}
    probe_sessions_submitted: {description: Sessions the probe was given and submitted at once., type: int, sample: 2}
  sample: {"verified": true, "answers": 23, "probe_sessions_submitted": 2}
drain:
  description: With C(state=closed) and I(drain_minutes), the wait for the running sessions.
  returned: success, when drain_minutes is above 0
  type: dict
  contains:
    drained: {description: Whether no session was active at the end., type: bool, sample: true}
    active: {description: Sessions active at the end., type: int, sample: 0}
    counts: {description: The last counts along the way., type: list, elements: int, sample: [212, 140, 31, 0]}
  sample: {"drained": true, "active": 0, "counts": [212, 140, 31, 0]}
msg:
  description: What was done (or would be, in check mode).
  returned: always
  type: str
  sample: new sessions closed, no session active
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.examday.ops.plugins.module_utils import _db
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._new_sessions import Guard
from ansible_collections.examday.ops.plugins.module_utils._platform.api import (
    PlatformClient, api_argument_spec, urllib_transport)
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec


def main() -> None:
    spec = api_argument_spec()
    spec.update(platform_argument_spec())
    spec.update(_db.db_argument_spec())
    spec.update(
        state={"type": "str", "required": True, "choices": ["closed", "open"]},
        email={"type": "str"},
        password={"type": "str", "no_log": True},
        verify={"type": "bool", "default": True},
        verify_timeout={"type": "float", "default": 120.0},
        poll_interval={"type": "float", "default": 0.5},
        drain_minutes={"type": "float", "default": 0.0},
        drain_poll={"type": "float", "default": 15.0},
        reason={"type": "str", "default": "rollback guard (examday.ops)"},
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    try:
        platform = resolve(p["platform"])
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    if platform["rollback"]["new_sessions_flag"] and not _db.HAS_PSYCOPG:
        module.fail_json(msg=missing_required_lib("psycopg (3)"))
    client = PlatformClient(p["api_url"], urllib_transport(p["validate_certs"]), platform, p["timeout"])
    guard = Guard(p, client, lambda: _db.connect(module.run_command, p["db"], "examday.ops new_sessions"),
                  module.check_mode)
    try:
        result = guard.run()
    except OpsError as exc:
        module.fail_json(msg=exc.msg, **json_safe(exc.details))
    module.exit_json(**json_safe(result))


if __name__ == "__main__":
    main()
