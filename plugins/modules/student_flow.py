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
seealso:
  - module: examday.ops.canary
    description: A canary student measuring what students see while faults are injected.
  - module: examday.ops.evidence
    description: Write a role's evidence file, or end a background sampler.
  - module: examday.ops.platform_profile
    description: Validate the platform profile (the platform option) and show it with its defaults.
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
  description: The session created (null when creating it failed).
  returned: when the flow ran (not in check mode), also in the result of a failed flow
  type: str
  sample: 9b2a466f-2077-43ae-8a59-5281fd46c31b
answered:
  description: Answers the platform acknowledged.
  returned: when the questions were answered (not in check mode), also in the result of a failed flow
  type: int
  sample: 10
checks:
  description:
    - Each check's verdict, by name. A failed check fails the task, with this evidence in its result.
  returned: when the flow ran (not in check mode), also in the result of a failed flow
  type: dict
  contains:
    resume_consistent:
      description: After a reload the session shows exactly the acknowledged answers.
      type: dict
      contains:
        passed:
          description: Whether it passed; null when the platform cannot show it (the profile reads no such value).
          type: bool
        detail:
          description: What was seen, or why it was not measured.
          type: str
    timer_consistent:
      description: With I(experience_checks). The expiry is the same after a reload, and the session lasts what was asked for.
      type: dict
      contains:
        passed:
          description: Whether it passed; null when the platform cannot show it (the profile reads no such value).
          type: bool
        detail:
          description: What was seen, or why it was not measured.
          type: str
    refresh_continues_attempt:
      description: With I(experience_checks). After a token refresh the attempt goes on with the same progress.
      type: dict
      contains:
        passed:
          description: Whether it passed; null when the platform cannot show it (the profile reads no such value).
          type: bool
        detail:
          description: What was seen, or why it was not measured.
          type: str
    logout_keeps_attempt:
      description: With I(experience_checks). After a logout and a new login the attempt keeps its progress.
      type: dict
      contains:
        passed:
          description: Whether it passed; null when the platform cannot show it (the profile reads no such value).
          type: bool
        detail:
          description: What was seen, or why it was not measured.
          type: str
    submit_idempotent:
      description: With I(double_submit). Two concurrent submits with one idempotency key answered the same.
      type: dict
      contains:
        passed:
          description: Whether it passed; null when the platform cannot show it (the profile reads no such value).
          type: bool
        detail:
          description: What was seen, or why it was not measured.
          type: str
    submitted:
      description: The submit succeeded and the session is submitted.
      type: dict
      contains:
        passed:
          description: Whether it passed; null when the platform cannot show it (the profile reads no such value).
          type: bool
        detail:
          description: What was seen, or why it was not measured.
          type: str
  sample:
    resume_consistent: {passed: true, detail: "after a reload 10 answered questions, 10 were acknowledged"}
    timer_consistent: {passed: true, detail: "expires 2026-11-30T19:46:05.358275+00:00, the same after a reload"}
    refresh_continues_attempt: {passed: true, detail: after a token refresh the attempt went on with the same progress}
    logout_keeps_attempt: {passed: true, detail: after logout and a new login the attempt was there with the same progress}
    submit_idempotent: {passed: true, detail: both submits answered the same}
    submitted: {passed: true, detail: "submit answered HTTP 200, status SUBMITTED"}
submit:
  description: What the submit answered (read by I(platform.api.calls.submit.read)).
  returned: when the flow submitted (not in check mode)
  type: dict
  contains:
    http_status:
      description: HTTP status.
      type: int
    status:
      description: The session's status in the answer, null when the profile reads none.
      type: str
    score:
      description: The score in the answer, null when the profile reads none.
      type: raw
  sample: {http_status: 200, status: SUBMITTED, score: 2}
steps:
  description: Every HTTP call, in order (no token, no password); in check mode only the health call.
  returned: always
  type: list
  elements: dict
  contains:
    step:
      description: The call (C(login), C(create_session), C(read_session), C(answer), C(refresh), C(logout), C(submit), C(health)).
      type: str
    method:
      description: HTTP method.
      type: str
    status:
      description: HTTP status.
      type: int
    ms:
      description: Milliseconds it took.
      type: float
    request_id:
      description: The request id sent (I(platform.api.request_id_header)), to find the call in the platform's logs.
      type: str
    code:
      description: The error code of the answer, null when none.
      type: str
  sample:
    - {step: login, method: POST, status: 200, ms: 18.7, request_id: b88837272c0f4a58811a5ff5d38a127a, code: null}
    - {step: create_session, method: POST, status: 201, ms: 10.4, request_id: 7ed0f96091ad40a5b6a1cb42ced5f3a4, code: null}
    - {step: read_session, method: GET, status: 200, ms: 8.6, request_id: fb36466422d14a5ba692c11ecf6aef18, code: null}
    - {step: answer, method: POST, status: 200, ms: 9.1, request_id: 5be0fa23d2424001b0bd6ea1d95a70da, code: null}
    - {step: submit, method: POST, status: 200, ms: 19.6, request_id: eac408914653443db135172b4c8eb73e, code: null}
    - {step: submit, method: POST, status: 200, ms: 16.7, request_id: 249cd07894f540a6aaaed4b8b569c0cf, code: null}
msg:
  description: In check mode, what would be done.
  returned: check mode
  type: str
  sample: would create and submit one session as student@lab.examday.invalid
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
