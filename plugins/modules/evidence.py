#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: evidence
short_description: Write a role's evidence file, or end a background sampler, by the evidence contract
version_added: 0.2.0
description:
  - The evidence directory's files have one owner of their names and keys (docs/evidence.md). Roles write
    theirs through this module, by kind - C(run) (C(run.json), with the run's C(problems)), C(faults)
    (C(faults.json)), C(ux) (C(ux.json), from a student_flow result) and C(status) (C(status.json), from a
    platform_status result) - and each is checked against the
    contract before it is written (an unknown key, a problem without its phase or error, C(passed) that
    disagrees with the checks fail with one sentence).
  - C(stop) creates the stop file of a background sampler (C(metrics), C(canary)).
  - Files are mode 0600, replaced atomically. Writing evidence is not a change to the platform.
author: examday.ops developers (@examday)
options:
  dir:
    description: The evidence directory.
    type: path
    required: true
  action:
    description: C(write) a file of I(kind), or C(stop) the sampler I(kind).
    type: str
    default: write
    choices: [write, stop]
  kind:
    description: C(run), C(faults), C(ux) or C(status) to write; C(metrics) or C(canary) to stop.
    type: str
    required: true
    choices: [run, faults, ux, status, metrics, canary]
  data:
    description: What to write (for C(ux), the registered result of examday.ops.student_flow).
    type: raw
attributes:
  check_mode:
    description: Checks the data against the contract and writes nothing.
    support: full
  diff_mode:
    description: Evidence is not platform state.
    support: none
seealso:
  - module: examday.ops.report
    description: The GO/NO-GO report from the evidence directory.
  - module: examday.ops.student_flow
    description: One student's whole exam through the API.
  - module: examday.ops.canary
    description: A canary student measuring what students see while faults are injected.
  - module: examday.ops.metrics_capture
    description: Sample during the load and capture the metrics after it.
"""

EXAMPLES = r"""
- name: Keep the user-experience evidence (passed only when every check passed)
  examday.ops.evidence:
    dir: "{{ evidence_dir }}"
    kind: ux
    data: "{{ ux_result }}"

- name: End the canary
  examday.ops.evidence:
    dir: "{{ evidence_dir }}"
    action: stop
    kind: canary
"""

RETURN = r"""
path:
  description:
    - The file written (C(action=write)) - C(run.json), C(faults.json) or C(ux.json) in I(dir) - or the stop file
      created (C(action=stop)) - C(metrics/stop) or C(canary.stop).
  returned: success and not check mode
  type: str
  sample: /work/wt-run/reports/rehearsal-lab-20261130_191124/ux.json
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._evidence import write as ev


def main() -> None:
    module = AnsibleModule(argument_spec={
        "dir": {"type": "path", "required": True},
        "action": {"type": "str", "default": "write", "choices": ["write", "stop"]},
        "kind": {"type": "str", "required": True, "choices": ["run", "faults", "ux", "status", "metrics", "canary"]},
        "data": {"type": "raw"},
    }, supports_check_mode=True)
    p = module.params
    try:
        if p["action"] == "stop":
            if module.check_mode:
                module.exit_json(changed=False)
            module.exit_json(changed=False, path=ev.stop(p["dir"], p["kind"]))
        data = ev.ux_record(p["data"] or {}) if p["kind"] == "ux" else p["data"]
        ev.check(p["kind"], data)
        if module.check_mode:
            module.exit_json(changed=False)
        module.exit_json(changed=False, path=ev.write(p["dir"], p["kind"], data))
    except OpsError as exc:
        module.fail_json(msg=exc.msg)


if __name__ == "__main__":
    main()
