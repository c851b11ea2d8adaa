#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: report
short_description: The GO/NO-GO rehearsal report from one evidence directory
version_added: 0.1.0
description:
  - Reads one rehearsal evidence directory (the contract in C(docs/evidence.md)), decides the hard
    gates and writes C(report.md) (the sections of the seed report template, rendered from a Jinja2
    template that I(template) can replace), C(report.json) (the
    same content for machines), C(report.xml) (JUnit, one test case per hard gate, suite
    C(examday.rehearsal)) and C(report.html) (self-contained, inline SVG charts) into that directory,
    each with mode 0600.
  - "Hard gates: every phase ran to its end (C(run.json) problems), zero data loss (stale overwrites included),
    no corrupted sessions, idempotent submits (double submits answered the same, one submit event), p95 latency
    and error rate outside the fault windows, the error budget inside them, recovery as students saw it (the
    canary's outage and recovery per fault), readiness telling the truth, request-id traceability (logs sufficient
    for audit), EXAM_MODE verified by effect, user experience (the student flow's checks), DB pool usage. See
    C(docs/report.md)."
  - A gate without its evidence file has C(passed=null) and counts as failed (NO-GO); it is never a
    silent pass.
  - Does not fail on a NO-GO verdict (the playbook decides); fails only on bad input.
  - Runs where the evidence is, normally the controller (C(delegate_to=localhost)).
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.thresholds
options:
  evidence_dir:
    description: The evidence directory to read; the report files are written into it.
    type: path
    required: true
  title:
    description: The report's title.
    type: str
    default: Exam-Day Rehearsal Report
  environment:
    description: The environment rehearsed (default the C(environment) of C(run.json)).
    type: str
  api_url:
    description: The API URL rehearsed, shown in the report.
    type: str
  conducted_by:
    description: Who conducted the rehearsal, shown in the report and the sign-off.
    type: str
  gates:
    description:
      - The gates that decide GO/NO-GO, by id (default all of them). A post-exam report, with no load and no faults,
        uses C(run_complete), C(zero_data_loss), C(no_corrupted_sessions), C(audit_logs) and C(db_pool).
    type: list
    elements: str
    choices: [run_complete, zero_data_loss, no_corrupted_sessions, idempotent_submits, latency_p95, error_rate,
              fault_error_budget, recovery, readiness_truth, audit_logs, exam_mode, user_experience, db_pool]
  previous:
    description:
      - The evidence directory of an earlier rehearsal to compare with (its C(report.json) is read), or C(auto) for
        the newest directory next to I(evidence_dir) whose report is of the same environment and started earlier.
      - The report then shows the deltas of p95 and error rate outside the fault windows, the worst error rate
        inside them, the students' slowest recovery and longest outage, and the DB pool peak; a figure worse by more
        than the threshold C(regression_pct) (and by more than 10 ms, 0.5 % or 1 s) is flagged as a regression in the
        risk register. Regressions do not change the verdict.
      - Unset, nothing is compared.
    type: str
  require_reconciliation:
    description:
      - The zero-data-loss gate needs acknowledged writes reconciled (a rehearsal's load recorded them). With C(false)
        (after a real exam, where there is no such record) the data-loss checks alone decide it.
    type: bool
    default: true
  template:
    description:
      - Path of a Jinja2 template for C(report.md) on the host where the module runs (normally the controller).
        Default the built-in template, C(files/templates/report.md.j2) in the collection; a copy of it is the
        place to start.
      - The template gets C(report) (the content of C(report.json)) and C(view) (values derived for people); the
        filters and the rest are described in C(docs/report.md). C(report.json), C(report.xml) and C(report.html)
        do not depend on it.
      - A missing or invalid template fails the module with one sentence, before anything is written.
    type: path
requirements:
  - jinja2 (where the module runs)
attributes:
  check_mode:
    description: Computes the verdict and gates; writes nothing.
    support: full
  diff_mode:
    description: Report files are records, not configuration; nothing to diff.
    support: none
"""

EXAMPLES = r"""
- name: GO/NO-GO report from the rehearsal's evidence
  examday.ops.report:
    evidence_dir: "{{ rehearsal_evidence_dir }}"
    thresholds: "{{ examday_thresholds | default({}) }}"
    environment: staging
    api_url: https://api-staging.example.com
    conducted_by: exam-ops on-call
  delegate_to: localhost
  register: report

- name: The same report with the team's own Markdown layout
  examday.ops.report:
    evidence_dir: "{{ rehearsal_evidence_dir }}"
    template: "{{ playbook_dir }}/templates/our_report.md.j2"
  delegate_to: localhost

- name: The playbook decides what a NO-GO means
  ansible.builtin.fail:
    msg: "NO-GO: {{ report.failed_gates | join(', ') }}"
  when: report.verdict != 'GO'
"""

RETURN = r"""
verdict:
  description: C(GO) when every hard gate passed, otherwise C(NO-GO).
  returned: always
  type: str
  sample: NO-GO
gates:
  description:
    - One entry per hard gate with C(id), C(name), C(passed) (true, false, or null when its evidence
      is missing, which counts as failed), C(value), C(threshold), C(rule), C(evidence) (file names
      relative to the evidence directory) and C(detail).
  returned: always
  type: list
  elements: dict
failed_gates:
  description: Names of the gates that did not pass (failed or without evidence).
  returned: always
  type: list
  elements: str
files:
  description: Paths of the report files written (empty in check mode).
  returned: always
  type: list
  elements: str
thresholds:
  description: The thresholds applied (defaults merged with the given ones).
  returned: always
  type: dict
  sample: {"p95_ms": 500.0, "error_rate_pct": 1.0, "recovery_seconds": 30.0}
problems:
  description: The phases of the run that failed (C(run.json) C(problems)), each C({phase, error}).
  returned: always
  type: list
  elements: dict
  sample: [{"phase": "integrity", "error": "the database refused the password"}]
comparison:
  description: The comparison with the previous rehearsal (I(previous)); C(rows) empty and C(note) set when none.
  returned: always
  type: dict
  contains:
    previous_dir:
      description: The previous rehearsal's evidence directory, or null.
      type: str
    rows:
      description: One per figure, C({key, title, unit, previous, current, delta, delta_pct, regression}).
      type: list
      elements: dict
    regressions:
      description: Keys of the figures that regressed.
      type: list
      elements: str
  sample: {"previous_dir": "reports/rehearsal-lab-20261129T101500", "regressions": ["p95_ms"], "rows": []}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._report.gates import GATE_IDS
from ansible_collections.examday.ops.plugins.module_utils._report.model import DEFAULT_TITLE
from ansible_collections.examday.ops.plugins.module_utils._report.render_md import HAS_JINJA2, JINJA2_IMPORT_ERROR
from ansible_collections.examday.ops.plugins.module_utils._report.runner import run
from ansible_collections.examday.ops.plugins.module_utils._thresholds import threshold_argument_spec


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **threshold_argument_spec(),
            "evidence_dir": {"type": "path", "required": True},
            "title": {"type": "str", "default": DEFAULT_TITLE},
            "environment": {"type": "str"},
            "api_url": {"type": "str"},
            "conducted_by": {"type": "str"},
            "gates": {"type": "list", "elements": "str", "choices": list(GATE_IDS)},
            "require_reconciliation": {"type": "bool", "default": True},
            "template": {"type": "path"},
            "previous": {"type": "str"},
        },
        supports_check_mode=True,
    )
    if not HAS_JINJA2:
        module.fail_json(msg=missing_required_lib("jinja2"), exception=JINJA2_IMPORT_ERROR)
    p = module.params
    meta = {k: p[k] for k in ("title", "environment", "api_url", "conducted_by")}
    try:
        result = run(p["evidence_dir"], p["thresholds"], meta, module.check_mode, p["gates"], p["require_reconciliation"],
                     p["template"], p["previous"])
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(**json_safe(result))


if __name__ == "__main__":
    main()
