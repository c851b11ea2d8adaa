#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: platform_profile
short_description: Validate the platform profile and the thresholds, and show them with their defaults
version_added: 0.2.0
description:
  - Validates the inventory's platform profile (C(examday_platform), every fact the collection uses about the
    platform - API calls and the paths of the values read back, readiness rule, error codes, EXAM_MODE
    mechanisms and proof, services by role, log keys, schema names, cohort) and the thresholds
    (C(examday_thresholds)), and returns both with every default filled in.
  - An unknown or mistyped key, a wrong type, a template placeholder a call does not know, a bad path or
    SQL name fails with one sentence naming the key (C(examday_platform.api.calls.login.path) ...).
  - Changes nothing and contacts nothing; the roles run it first, before any other step.
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.platform
  - examday.ops.thresholds
attributes:
  check_mode:
    description: Validates only, so it runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing changes, nothing to diff.
    support: none
seealso:
  - module: examday.ops.platform_status
"""

EXAMPLES = r"""
- name: The profile and thresholds are valid (fails naming the key otherwise)
  examday.ops.platform_profile:
    platform: "{{ examday_platform }}"
    thresholds: "{{ examday_thresholds | default({}) }}"
  register: profile

- name: Where the readiness rule comes from
  ansible.builtin.debug:
    msg: "readiness is judged {{ profile.platform.readiness.rule }} at {{ profile.platform.api.calls.ready.path }}"
"""

RETURN = r"""
platform:
  description: The profile with every default filled in (no secret is part of it).
  returned: success
  type: dict
  sample: {"name": "the lab", "api": {"prefix": "/v1"}, "readiness": {"rule": "flat"}}
thresholds:
  description: The thresholds with every default filled in.
  returned: success
  type: dict
  sample: {"p95_ms": 500.0, "error_rate_pct": 1.0, "recovery_seconds": 30.0}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.examday.ops.plugins.module_utils import _thresholds
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec


def main() -> None:
    spec = platform_argument_spec()
    spec.update(_thresholds.threshold_argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        platform = resolve(module.params["platform"])
        thresholds = _thresholds.resolve(module.params["thresholds"])
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(changed=False, platform=json_safe(platform), thresholds=json_safe(thresholds))


if __name__ == "__main__":
    main()
