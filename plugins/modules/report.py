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
      - The gates that decide GO/NO-GO, by id (default all of the rehearsal's). A post-exam report, with no load and
        no faults, uses C(run_complete), C(zero_data_loss), C(no_corrupted_sessions), C(audit_logs) and C(db_pool).
      - C(platform_status) (health and readiness by body, the edge, the services and the DB connections, from
        C(status.json)) is judged only when listed - the records after an incident list it.
    type: list
    elements: str
    choices: [run_complete, zero_data_loss, no_corrupted_sessions, idempotent_submits, latency_p95, error_rate,
              fault_error_budget, recovery, readiness_truth, audit_logs, exam_mode, user_experience, db_pool,
              platform_status]
  previous:
    description:
      - The evidence directory of an earlier rehearsal to compare with (its C(report.json) is read), or C(auto) for
        the newest directory next to I(evidence_dir) whose report is of the same playbook, environment and host and
        started earlier (a rehearsal is compared with a rehearsal).
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
  layout:
    description:
      - The built-in template of C(report.md) when I(template) is not given - C(rehearsal) (the seed report's
        sections, also post-exam) or C(record) (an exam-day record after an incident - the verdict and what failed
        first, the restart's steps, session continuity, integrity, the logs' errors, next steps).
    type: str
    choices: [rehearsal, record]
    default: rehearsal
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
seealso:
  - module: examday.ops.evidence
    description: Write a role's evidence file, or end a background sampler.
  - module: examday.ops.load
    description: Run a k6 load scenario and keep its evidence (the acknowledged writes among it).
  - module: examday.ops.integrity_check
    description: Data-integrity checks and reconciliation of the load's acknowledged writes.
  - module: examday.ops.metrics_capture
    description: Sample during the load and capture the metrics after it.
  - module: examday.ops.fault
    description: Inject a fault, restore it and measure recovery.
  - module: examday.ops.canary
    description: A canary student measuring what students see while faults are injected.
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
  description: One entry per hard gate (I(gates)), in the report's order.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The gate's id (one of the choices of I(gates)).
      type: str
      sample: zero_data_loss
    name:
      description: The gate's name, as the report shows it.
      type: str
      sample: zero data loss
    passed:
      description: Whether it passed; null when its evidence is missing, which counts as failed.
      type: bool
      sample: false
    value:
      description: What was measured (a number, or a bool), null without evidence.
      type: raw
      sample: 50
    threshold:
      description: The limit it is judged against (a number, or a bool).
      type: raw
      sample: 0
    unit:
      description: The unit of I(value) and I(threshold) (empty for a bool).
      type: str
      sample: writes
    rule:
      description: The rule, in one sentence.
      type: str
      sample: "0 acknowledged writes lost or changed (a stale overwrite counts: True); data-loss checks pass"
    evidence:
      description: The evidence files it read, relative to I(evidence_dir).
      type: list
      elements: str
      sample: [integrity.json, metrics/metrics.json]
    detail:
      description: What decided it.
      type: str
      sample: "48 of 800 acknowledged writes lost; 2 stored with another value; checks passed: orphaned_answers, missing_answers"
  sample:
    - {id: run_complete, name: every phase ran to its end, passed: true, value: 0, threshold: 0, unit: problems,
       rule: no phase of the run failed or crashed, evidence: [run.json], detail: every phase ran to its end}
    - {id: latency_p95, name: p95 latency outside fault windows, passed: true, value: 10.038, threshold: 500.0, unit: ms,
       rule: p95 < 500 ms in every scenario, detail: sessions p95 7.9 ms; answers p95 10.0 ms; submit p95 7.7 ms,
       evidence: [load/sessions/raw.json.gz, load/answers/raw.json.gz, load/submit/raw.json.gz, faults.json]}
    - {id: exam_mode, name: EXAM_MODE verified by effect, passed: true, value: true, threshold: true, unit: "",
       rule: heavy jobs refused and the job runner idle (verified by effect during the freeze),
       evidence: [freeze-lab-20261130_191635.json],
       detail: "verified by effect: mechanism api; probe: last answer HTTP 423 EXAM_MODE_ACTIVE (19 answers); job runner:
                newest job-runner record: job_runner_idle (EXAM_MODE_ACTIVE); in 9.50 s"}
failed_gates:
  description: Names (not ids) of the gates that did not pass, failed or without evidence.
  returned: always
  type: list
  elements: str
  sample: [zero data loss, no corrupted sessions, idempotent submits, user experience]
files:
  description: Paths of the report files - C(report.md), C(report.json), C(report.xml), C(report.html) (empty in check mode).
  returned: always
  type: list
  elements: str
  sample: [/work/wt-run/reports/rehearsal-lab-20261130_191629/report.md, /work/wt-run/reports/rehearsal-lab-20261130_191629/report.json,
           /work/wt-run/reports/rehearsal-lab-20261130_191629/report.xml, /work/wt-run/reports/rehearsal-lab-20261130_191629/report.html]
thresholds:
  description: The thresholds applied (I(thresholds) over the defaults); the same keys as the option, described there.
  returned: always
  type: dict
  contains:
    p95_ms:
      description: "Limit (ms) of the p95 latency outside fault windows in every scenario, and k6's http_req_duration
        p(95)."
      type: float
    p99_ms:
      description: "Limit (ms) of k6's http_req_duration p(99)."
      type: float
    error_rate_pct:
      description: "Limit (%) of failed requests outside fault windows in every scenario, and k6's http_req_failed."
      type: float
    checks_pass_pct:
      description: "Least share (%) of k6 checks that pass in the exam scenarios."
      type: float
    fault_error_budget_pct:
      description: "Most failed requests (%) allowed inside each fault window."
      type: float
    recovery_seconds:
      description: "Most seconds from a fault's end to the canary student's first complete success."
      type: float
    outage_seconds:
      description: "Longest outage (s) the canary student may see during a fault (a fault may set its own max_outage_s)."
      type: float
    readiness_lie_seconds:
      description: "Longest time (s) readiness may say ok while the canary student fails on the server side."
      type: float
    db_pool_pct:
      description: "Limit (%) of peak DB connections against the backends' pool capacity and max_connections."
      type: float
    traceability_min_pct:
      description: "Least share (%) of sampled request ids found in the logs."
      type: float
    loadgen_cpu_pct:
      description: "CPU use (%) of a load generator's cores over a scenario above which it counts as saturated: its
        latencies include its own queueing."
      type: float
    loadgen_start_spread_s:
      description: "Most seconds between the first and the last load generator's start of a scenario; more means less
        concurrency than planned."
      type: float
    regression_pct:
      description: "Worsening (%) against the previous rehearsal flagged as a regression."
      type: float
    stale_overwrite_fails:
      description: "Whether a stale write applied after a newer acknowledged one fails zero data loss (the student's last
        acknowledged answer is not stored)."
      type: bool
    slow_sql_ms:
      description: "Slow SQL in the backend logs, [warn, error] in ms."
      type: list
      elements: float
    slow_request_ms:
      description: "Slow requests in the backend logs, [warn, error] in ms."
      type: list
      elements: float
    data_loss_checks:
      description: "Integrity checks that count towards zero data loss (the others towards no corrupted sessions),
        compared in lower case with non-alphanumerics as _."
      type: list
      elements: str
  sample: {p95_ms: 500.0, p99_ms: 1000.0, error_rate_pct: 1.0, checks_pass_pct: 99.0, fault_error_budget_pct: 20.0,
           recovery_seconds: 30.0, outage_seconds: 60.0, readiness_lie_seconds: 5.0, db_pool_pct: 80.0, traceability_min_pct: 100.0,
           loadgen_cpu_pct: 85.0, loadgen_start_spread_s: 5.0,
           regression_pct: 20.0, stale_overwrite_fails: true, slow_sql_ms: [100.0, 300.0], slow_request_ms: [500.0, 1500.0],
           data_loss_checks: [orphaned_answers, orphan_answers, missing_answers, lost_answers]}
problems:
  description: The phases of the run that failed (C(problems) of C(run.json)).
  returned: always
  type: list
  elements: dict
  contains:
    phase:
      description: The phase.
      type: str
      sample: integrity
    error:
      description: What went wrong.
      type: str
      sample: "check typo failed on the server: relation \"no_such_table\" does not exist."
  sample: [{phase: integrity, error: "check typo failed on the server: relation \"no_such_table\" does not exist."}]
comparison:
  description: The comparison with the previous rehearsal (I(previous)); without one, C(note) says why and C(rows) is empty.
  returned: always
  type: dict
  contains:
    previous_dir:
      description: The previous rehearsal's evidence directory, null when none was compared.
      type: str
    previous_date:
      description: Its date.
      type: str
    previous_verdict:
      description: Its verdict.
      type: str
    regression_pct:
      description: The threshold C(regression_pct) applied.
      type: float
    note:
      description: Only when nothing was compared - why.
      type: str
    rows:
      description: One per figure both reports measured.
      type: list
      elements: dict
      contains:
        key:
          description: The figure (C(p95_ms), C(error_rate_pct), C(fault_error_rate_pct), C(recovery_s), C(outage_s), C(db_pool_pct)).
          type: str
        title:
          description: Its title in the report.
          type: str
        unit:
          description: Its unit.
          type: str
        previous:
          description: The previous value, null when not measured.
          type: float
        current:
          description: This rehearsal's value, null when not measured.
          type: float
        delta:
          description: I(current) minus I(previous), null without both.
          type: float
        delta_pct:
          description: The delta in percent of I(previous), null when that is 0.
          type: float
        regression:
          description: Whether it is worse by more than C(regression_pct) (and than a floor by unit); null without both values.
          type: bool
    regressions:
      description: Keys of the figures that regressed.
      type: list
      elements: str
  sample:
    previous_dir: /work/wt-run/reports/rehearsal-lab-20261130_191124
    previous_date: "2026-11-30"
    previous_verdict: GO
    regression_pct: 20.0
    rows:
      - {key: p95_ms, title: p95 latency outside fault windows, unit: ms, previous: 9.254, current: 10.038, delta: 0.784,
         delta_pct: 8.472, regression: false}
      - {key: outage_s, title: longest outage seen by students, unit: s, previous: 0.531, current: 10.49, delta: 9.959,
         delta_pct: 1875.518, regression: true}
    regressions: [outage_s]
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
            "layout": {"type": "str", "choices": ["rehearsal", "record"], "default": "rehearsal"},
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
                     p["template"], p["previous"], p["layout"])
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(**json_safe(result))


if __name__ == "__main__":
    main()
