#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: canary
short_description: A canary student who measures what students see, next to the load and the faults
version_added: 0.2.0
description:
  - At a fixed short interval (I(interval)), one student does what every student does through the platform
    profile's calls - keeps a token (logs in again when it expires), reads the session, answers a question - and,
    in the same tick, readiness is asked and judged by I(platform.readiness).
  - Every tick is appended to I(output) (JSON lines, mode 0600) as it happens - C(start), C(end), C(ok), the failed
    C(step) with its C(status), C(code) and C(error), C(ready_ok) and C(ready_detail) - so the record is complete
    whenever it is read. The report measures from it each fault's user-visible outage and recovery, and whether
    readiness said ok while students failed.
  - Bounded - ends at I(max_seconds) or as soon as I(stop_file) exists. Meant to run with C(async) and C(poll 0)
    next to the load; it only reads and answers its own session.
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.platform_api
  - examday.ops.platform
options:
  email:
    description: The canary student's e-mail.
    type: str
    required: true
  password:
    description: Its password.
    type: str
    required: true
  output:
    description: The JSON-lines file the ticks are appended to (the evidence directory's C(canary.jsonl)).
    type: path
    required: true
  stop_file:
    description: The canary ends when this file exists.
    type: path
    required: true
  interval:
    description: Seconds from the start of one tick to the start of the next.
    type: float
    default: 0.5
  max_seconds:
    description: Upper bound of the run.
    type: float
    default: 3600
  session:
    description: The session to create (default I(platform.api.session)).
    type: dict
  timeout:
    description: Seconds to wait for each HTTP response (short, so a hung platform is a failed tick, not a long one).
    type: float
    default: 5.0
attributes:
  check_mode:
    description: Logs in and asks readiness once, to prove the account and URL; writes nothing.
    support: full
  diff_mode:
    description: Nothing is edited, so there is nothing to diff.
    support: none
seealso:
  - module: examday.ops.student_flow
    description: One student's whole exam through the API.
  - module: examday.ops.fault
    description: Inject a fault, restore it and measure recovery.
  - module: examday.ops.evidence
    description: Write a role's evidence file, or end a background sampler.
  - module: examday.ops.report
    description: The GO/NO-GO report from the evidence directory.
  - module: examday.ops.platform_profile
    description: Validate the platform profile (the platform option) and show it with its defaults.
"""

EXAMPLES = r"""
- name: The canary student, in the background while the faults are injected
  examday.ops.canary:
    api_url: "{{ examday_api_url }}"
    platform: "{{ examday_platform }}"
    email: "{{ examday_student_email }}"
    password: "{{ examday_student_password }}"
    output: "{{ evidence_dir }}/canary.jsonl"
    stop_file: "{{ evidence_dir }}/canary.stop"
  async: 3700
  poll: 0
  register: canary
"""

RETURN = r"""
ticks:
  description: Ticks recorded (lines appended to I(output)).
  returned: success, not in check mode
  type: int
  sample: 465
failures:
  description: Ticks in which a student call failed (C(ok=false) in I(output)).
  returned: success, not in check mode
  type: int
  sample: 17
seconds:
  description: How long it ran, in seconds (one decimal).
  returned: success, not in check mode
  type: float
  sample: 246.8
stopped_by:
  description: What ended it - C(stop file) (I(stop_file) appeared) or C(deadline) (I(max_seconds) passed).
  returned: success, not in check mode
  type: str
  sample: stop file
msg:
  description: In check mode, who would run the canary and what readiness says now.
  returned: check mode
  type: str
  sample: "would run the canary as student@lab.examday.invalid; readiness now: ok"
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.examday.ops.plugins.module_utils._canary import Canary, run
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._platform.api import (
    PlatformClient, PlatformUnreachable, api_argument_spec, urllib_transport)
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec


def main() -> None:
    spec = api_argument_spec()
    spec.update(platform_argument_spec())
    spec.update(
        email={"type": "str", "required": True},
        password={"type": "str", "required": True, "no_log": True},
        output={"type": "path", "required": True},
        stop_file={"type": "path", "required": True},
        interval={"type": "float", "default": 0.5},
        max_seconds={"type": "float", "default": 3600.0},
        session={"type": "dict"},
    )
    spec["timeout"]["default"] = 5.0
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    if not 0.05 <= p["interval"] <= 60 or not 0 < p["max_seconds"] <= 86400:
        module.fail_json(msg="interval must be 0.05-60 s and max_seconds above 0 and at most a day.")
    if not module.check_mode and not os.path.isdir(os.path.dirname(os.path.abspath(p["output"]))):
        module.fail_json(msg=f"the directory of output {p['output']} does not exist.")
    try:
        client = PlatformClient(p["api_url"], urllib_transport(p["validate_certs"]), resolve(p["platform"]),
                                p["timeout"])
        canary = Canary(client, p["email"], p["password"], p["session"])
        if module.check_mode:
            login = client.login(p["email"], p["password"])
            _ok, detail = client.judge("readiness", client.ready())
            if not client.ok("login", login):
                module.fail_json(msg=f"the canary student {p['email']} cannot log in: {login.describe()}.")
            module.exit_json(changed=False, msg=f"would run the canary as {p['email']}; readiness now: {detail}")
        result = run(canary, p["output"], p["stop_file"], p["interval"], p["max_seconds"])
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    except PlatformUnreachable as exc:
        module.fail_json(msg=f"{exc}.")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
