#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: student_flow
short_description: Run one student's whole exam through the platform API and return the evidence
version_added: 0.1.0
description:
  - Logs a student in, creates a session, reads it, answers questions, reads it again to prove the
    progress survives a refresh, and submits (by default twice at the same time with one
    idempotency key, which must give the same answer). Every call is the platform profile's
    (I(platform.api.calls)).
  - Each check gets a verdict (C(true), C(false), or C(null) when the platform cannot show it, with the
    reason). A failed check does not stop the flow where it can go on; the task fails naming every
    failed check, with all the evidence. Passwords and tokens never appear in the result.
  - In check mode only the health call is made (to prove the URL answers); nothing is created.
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.platform_api
  - examday.ops.platform
options:
  email:
    description: The student's e-mail.
    type: str
    required: true
  password:
    description: The student's password.
    type: str
    required: true
  session:
    description: The session to create (default I(platform.api.session)).
    type: dict
  answer_count:
    description: How many questions to answer, in order. Default is all of them.
    type: int
  double_submit:
    description: Submit twice concurrently with one idempotency key and require identical answers.
    type: bool
    default: true
  experience_checks:
    description:
      - Before the submit, check what a student experiences - the timer is consistent across a reload, a token
        refresh does not interrupt the attempt, and after a logout and a new login the attempt keeps its progress.
    type: bool
    default: true
attributes:
  check_mode:
    description: Only the health call is made; no session is created.
    support: full
  diff_mode:
    description: Nothing is edited, so there is nothing to diff.
    support: none
"""

EXAMPLES = r"""
- name: A student completes an exam session through the edge proxy
  examday.ops.student_flow:
    api_url: http://127.0.0.1:18080
    platform: "{{ examday_platform }}"
    email: student@lab.examday.invalid
    password: "{{ student_password }}"
  register: flow
"""

RETURN = r"""
session_id:
  description: The created session.
  returned: success
  type: str
answered:
  description: Number of answers acknowledged.
  returned: success
  type: int
checks:
  description:
    - C(resume_consistent), C(submit_idempotent), C(submitted), and with I(experience_checks)
      C(timer_consistent), C(refresh_continues_attempt), C(logout_keeps_attempt); each C({passed, detail}).
  returned: always
  type: dict
submit:
  description: Status and score from the submit answer.
  returned: success
  type: dict
steps:
  description: Each HTTP step with status, milliseconds and request id.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._platform.api import (
    PlatformClient, PlatformUnreachable, api_argument_spec, urllib_transport)
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec
from ansible_collections.examday.ops.plugins.module_utils._student_flow import FlowFailed, run_student_flow


def main() -> None:
    spec = api_argument_spec()
    spec.update(platform_argument_spec())
    spec.update(
        email={"type": "str", "required": True},
        password={"type": "str", "required": True, "no_log": True},
        session={"type": "dict"},
        answer_count={"type": "int"},
        double_submit={"type": "bool", "default": True},
        experience_checks={"type": "bool", "default": True},
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    if p["answer_count"] is not None and p["answer_count"] < 0:
        module.fail_json(msg="answer_count must be 0 or more.")
    try:
        client = PlatformClient(p["api_url"], urllib_transport(p["validate_certs"]), resolve(p["platform"]),
                                p["timeout"])
        if module.check_mode:
            health = client.health()
            module.exit_json(changed=False, steps=[health.evidence()],
                             msg=f"would create and submit one session as {p['email']}")
        evidence = run_student_flow(client, p["email"], p["password"], p["session"], p["answer_count"],
                                    p["double_submit"], p["experience_checks"])
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    except PlatformUnreachable as exc:
        module.fail_json(msg=f"{exc}.")
    except FlowFailed as exc:
        module.fail_json(msg=f"Student flow failed: {exc}.", **exc.evidence)
    module.exit_json(changed=True, **evidence)


if __name__ == "__main__":
    main()
