#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: load
short_description: Run a k6 load scenario against the exam platform and keep its evidence
version_added: 0.1.0
description:
  - Runs the real k6 binary on the collection's scenarios. Exam scenarios (PLATFORM.md API, a provisioned
    cohort of synthetic students, one student per VU by default) are C(sessions) (session burst),
    C(answers) (steady answers with think time; a student sometimes changes an earlier answer) and
    C(submit) (submit spike; each session is submitted twice at the same instant with one
    C(Idempotency-Key), and both answers must be the same). Generic profiles for any HTTP endpoint
    are C(smoke), C(stress) and C(soak).
  - A profile with a C(rate) uses an arrival-rate executor (open model); without one, ramping or
    constant VUs (closed model).
  - Writes C(load/<name>/summary.json) (k6 C(--summary-export)), C(raw.json.gz) (k6 C(--out json)),
    C(acks.jsonl) (every write the platform acknowledged with a 2xx, as session, answer or submit
    records) and C(result.json) (the returned result) under I(evidence_dir), mode 0600.
  - Thresholds that fail (k6 exit 99) are a result, not a module failure, unless I(fail_on_thresholds).
    A k6 crash, a script or option error, or a target that does not answer before the load fails the
    task with one sentence.
  - Options are validated before anything runs (an invalid threshold such as C(p(95)<abc), a negative
    duration or rate, a non-loopback target without I(allow_remote)); then C(k6 inspect) checks the
    script and options, and C(GET) of the target proves it answers. Only then is the cohort
    provisioned and the load sent.
  - It stops by itself, as k6 ends at the profile's duration (plus the graceful stop); past that plus
    I(timeout_margin) the module interrupts k6 (its process only), keeping its results. Meant to run
    with C(async) and C(poll 0) so faults can be injected meanwhile.
  - The cohort password reaches k6 only through its environment; it is never on a command line, in a
    result or in an evidence file (the module checks the files).
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.platform_api
  - examday.ops.platform
  - examday.ops.db
  - examday.ops.thresholds
options:
  action:
    description:
      - C(run) provisions the cohort (exam scenarios), runs the load and retires the cohort when
        I(cohort.retire_after).
      - C(provision) and C(retire) manage the cohort only, for playbooks that provision once before several
        scenarios (with I(cohort.retire_after=false)) and retire it in an C(always) block.
    type: str
    default: run
    choices: [run, provision, retire]
  scenario:
    description:
      - The scenario to run. Needed for C(action=run). The shipped ones are C(sessions), C(answers), C(submit)
        (exam) and C(smoke), C(stress), C(soak) (generic); any other name needs I(script).
    type: str
  name:
    description: Name of the run's evidence directory C(load/<name>) and of the k6 scenario. Default is I(scenario).
    type: str
  evidence_dir:
    description: The rehearsal's evidence directory; the run writes C(load/<name>/) in it.
    type: path
  profile:
    description:
      - Load shape. Keys left out take the scenario's defaults (CI-sized for exam scenarios, see docs/load.md).
      - Durations are k6 durations (C(30s), C(5m), C(1h30m)) or seconds.
    type: dict
    default: {}
    suboptions:
      vus:
        description: VUs (closed model), or pre-allocated VUs (with I(rate)).
        type: int
      duration:
        description: Plateau duration.
        type: raw
      rate:
        description: Iterations per second; selects an arrival-rate executor.
        type: float
      ramp_up:
        description: Ramp from 0 to I(vus) (or to I(rate)) before the plateau.
        type: raw
      ramp_down:
        description: Ramp down to 0 after the plateau.
        type: raw
      max_vus:
        description: Most VUs an arrival-rate executor may use (default I(vus)).
        type: int
      think_time:
        description: Mean seconds a VU waits between iterations (uniform from half to one and a half times); closed model only.
        type: float
      pace:
        description:
          - Least seconds per iteration of one VU (closed model), so that one student stays under the platform's
            per-user limits (session create and submit 10/min). Defaults are 6.5 (sessions) and 13 (submit).
        type: float
      graceful_stop:
        description: How long running iterations may finish after the end (k6 C(gracefulStop)). Default C(10s).
        type: raw
  k6_thresholds:
    description:
      - Extra k6 thresholds, metric (optionally with C({tag:value})) to a list of expressions or of
        C({threshold, abortOnFail, delayAbortEval}), added to the derived ones. Exam scenarios also have
        C(examday_token_refreshes), C(examday_rate_limited), C(examday_logins), C(examday_login_failures),
        C(examday_acks), C(examday_unknown_writes), C(examday_stale_refused) (counters).
    type: dict
    default: {}
  fail_on_thresholds:
    description: Fail the task when a threshold failed (the evidence is written first).
    type: bool
    default: false
  script:
    description:
      - A k6 script of your own (a C(.js) file) instead of the shipped scenario; its folder is copied next to
        the collection's k6 library C(examday.js), which the script imports (C(import * as examday from
        './examday.js')) for the profile's calls, the cohort's students and the record of writes
        (docs/load.md). The folder may hold at most 5 MiB.
    type: path
  exec:
    description: The function I(script) exports for the scenario (default I(scenario)).
    type: str
  exam:
    description: Whether I(script) is an exam scenario (a cohort, the record of writes); default true.
    type: bool
    default: true
  answers_before_submit:
    description: Questions answered before the submit in the C(submit) scenario.
    type: int
    default: 3
  double_submit:
    description: In the C(submit) scenario, submit twice at the same instant with one idempotency key.
    type: bool
    default: true
  revise_ratio:
    description: In the C(answers) scenario, the share of answers that change an earlier answer.
    type: float
    default: 0.1
  token_refresh_after:
    description:
      - Age after which a student's access token is refreshed (the platform's tokens live 15 minutes), in the
        middle of the attempt; C(0) refreshes only when the platform answers 401. At most 14 minutes.
    type: raw
    default: 600
  target:
    description: For generic profiles, the path under I(api_url) or a full URL to load (default the health call's path).
    type: str
  method:
    description: For generic profiles, the HTTP method.
    type: str
    default: GET
  expect_status:
    description: For generic profiles, the statuses that count as success (others count in C(http_req_failed)).
    type: list
    elements: int
    default: [200]
  headers:
    description: For generic profiles, request headers (secret; values are masked in the returned config and the invocation).
    type: dict
    default: {}
  body:
    description: For generic profiles, the request body (a string, or data sent as JSON).
    type: raw
  cohort:
    description:
      - The synthetic students of exam scenarios, C(<prefix><number>@<domain>) from I(first) to I(first)+I(count)-1;
        how they are provisioned and retired is the platform profile's (I(platform.cohort)).
    type: dict
    default: {}
    suboptions:
      count:
        description: Students. Default is the profile's most VUs (one student per VU).
        type: int
      first:
        description: Number of the first student (generators of one run take disjoint ranges).
        type: int
        default: 1
      password:
        description: The students' shared password. Needed for exam scenarios and for provisioning.
        type: str
      password_hash:
        description: The password hashed as the platform stores it (the C(sql) method).
        type: str
      retire_after:
        description: With C(action=run), retire the cohort after the load (also when the load failed).
        type: bool
        default: true
  admin:
    description: The admin who provisions by API (the C(api) method).
    type: dict
    default: {}
    suboptions:
      email:
        description: E-mail.
        type: str
      password:
        description: Password.
        type: str
  compose_project:
    description: The compose project whose service runs the C(command) method.
    type: str
  allow_remote:
    description: Allow a target that is not a loopback address (a staging rehearsal sets it from inventory).
    type: bool
    default: false
  k6_path:
    description: The k6 binary. Default is C(k6) next to the module's Python interpreter (the C(k6) Python package), else on C(PATH).
    type: path
  timeout_margin:
    description: Seconds past the profile's expected end after which the module interrupts k6.
    type: int
    default: 60
requirements:
  - k6 (the C(k6) Python package carries the binary)
  - docker CLI on the target for C(cohort.method=command)
  - psycopg 3 for C(cohort.method=sql)
attributes:
  check_mode:
    description: Validates, runs C(k6 inspect) and C(GET) of the target; provisions nothing, sends no load, writes no file.
    support: full
  diff_mode:
    description: Nothing is edited, so there is nothing to diff.
    support: none
"""

EXAMPLES = r"""
- name: Answers under load for a minute, while faults are injected (collect with async_status)
  examday.ops.load:
    scenario: answers
    api_url: "{{ examday_api_url }}"
    evidence_dir: "{{ evidence_dir }}"
    profile: "{{ examday_load_profiles[examday_load_profile].answers }}"
    platform: "{{ examday_platform }}"
    thresholds: "{{ examday_thresholds }}"
    cohort: {password: "{{ examday_cohort_password }}", password_hash: "{{ examday_cohort_password_hash }}"}
    db: "{{ examday_db }}"
  async: 300
  poll: 0
  register: answers_job

- name: Wait for the load to end
  ansible.builtin.async_status:
    jid: "{{ answers_job.ansible_job_id }}"
  register: answers
  until: answers.finished
  retries: 60
  delay: 5

- name: Smoke-test any HTTP endpoint for 30 s
  examday.ops.load:
    scenario: smoke
    api_url: http://127.0.0.1:18080
    target: /health
    evidence_dir: /tmp/evidence
"""

RETURN = r"""
scenario:
  description: The run's name (I(name) or I(scenario)).
  returned: always
  type: str
started_at:
  description: UTC start of k6.
  returned: success
  type: str
finished_at:
  description: UTC end of k6.
  returned: success
  type: str
duration_s:
  description: Seconds k6 ran.
  returned: success
  type: float
http_reqs:
  description: Requests sent.
  returned: success
  type: int
rps:
  description: Requests per second.
  returned: success
  type: float
p50_ms:
  description: Median request duration (ms); also C(p95_ms), C(p99_ms), C(max_ms).
  returned: success
  type: float
error_rate:
  description: Share of failed requests (k6 C(http_req_failed)).
  returned: success
  type: float
checks:
  description: C(passes) and C(fails) of all checks; C(checks_by_name) has them per check.
  returned: success
  type: dict
thresholds:
  description: C(metric{expression}) to true when it passed.
  returned: success
  type: dict
thresholds_passed:
  description: Whether every threshold passed.
  returned: success
  type: bool
dropped_iterations:
  description: Iterations an arrival-rate executor could not start (no free VU).
  returned: success
  type: int
vus_max:
  description: Most VUs.
  returned: success
  type: int
acks:
  description: Acknowledged writes by kind (C(session), C(answer), C(submit)), as written to acks.jsonl.
  returned: success
  type: dict
unknown_writes:
  description: Writes whose outcome the client could not know (timeouts, connection errors, 5xx) by kind.
  returned: success
  type: dict
double_submits:
  description:
    - Submit scenario. C(pairs) double submits, C(differ) sessions whose two answers differed (status or body),
      C(samples) of them with both request ids.
  returned: success and exam scenario
  type: dict
exam:
  description:
    - Exam scenarios only. C(token_refreshes), C(logins), C(login_failures), C(rate_limited) (429 answers),
      C(refresh_continued) and C(double_submit_same) (passes and fails).
  returned: success and exam scenario
  type: dict
files:
  description: The evidence files, relative to I(evidence_dir).
  returned: success
  type: dict
evidence_path:
  description: The absolute directory of the run's evidence.
  returned: success or check mode
  type: str
cohort:
  description: The cohort (method, tag, count, e-mail pattern) and what provisioning and retiring did.
  returned: exam scenarios and cohort actions
  type: dict
k6:
  description: C(rc), C(exit_reason), C(timed_out), C(stderr_tail).
  returned: success
  type: dict
command:
  description: The k6 command line (it holds no secret).
  returned: success or check mode
  type: list
  elements: str
config:
  description: The script's settings (header values masked).
  returned: success or check mode
  type: dict
profile:
  description: The resolved profile, durations in seconds.
  returned: success or check mode
  type: dict
executor:
  description: The k6 scenario as run.
  returned: success or check mode
  type: dict
expected_s:
  description: Seconds k6 runs by itself (ramps, plateau, graceful stop); C(hard_timeout_s) adds I(timeout_margin).
  returned: success or check mode
  type: float
"""

import os
import sys

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.examday.ops.plugins.module_utils import _db, _thresholds
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._load.manager import LoadManager
from ansible_collections.examday.ops.plugins.module_utils._platform.api import api_argument_spec, urllib_transport
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec


def argument_spec() -> dict:
    spec = api_argument_spec()
    spec.update(platform_argument_spec())
    spec.update(_db.db_argument_spec())
    spec.update(_thresholds.threshold_argument_spec())
    spec.update(
        action={"type": "str", "default": "run", "choices": ["run", "provision", "retire"]},
        scenario={"type": "str"},
        name={"type": "str"},
        evidence_dir={"type": "path"},
        profile={"type": "dict", "default": {}, "options": {
            "vus": {"type": "int"}, "duration": {"type": "raw"}, "rate": {"type": "float"},
            "ramp_up": {"type": "raw"}, "ramp_down": {"type": "raw"}, "max_vus": {"type": "int"},
            "think_time": {"type": "float"}, "pace": {"type": "float"}, "graceful_stop": {"type": "raw"}}},
        k6_thresholds={"type": "dict", "default": {}},
        fail_on_thresholds={"type": "bool", "default": False},
        script={"type": "path"},
        exec={"type": "str"},
        exam={"type": "bool", "default": True},
        answers_before_submit={"type": "int", "default": 3},
        double_submit={"type": "bool", "default": True},
        revise_ratio={"type": "float", "default": 0.1},
        token_refresh_after={"type": "raw", "default": 600, "no_log": False},
        target={"type": "str"},
        method={"type": "str", "default": "GET"},
        expect_status={"type": "list", "elements": "int", "default": [200]},
        headers={"type": "dict", "default": {}, "no_log": True},
        body={"type": "raw"},
        cohort={"type": "dict", "default": {}, "options": {
            "count": {"type": "int"},
            "first": {"type": "int", "default": 1},
            "password": {"type": "str", "no_log": True},
            "password_hash": {"type": "str", "no_log": True},
            "retire_after": {"type": "bool", "default": True},
        }},
        admin={"type": "dict", "default": {}, "options": {
            "email": {"type": "str"},
            "password": {"type": "str", "no_log": True},
        }},
        compose_project={"type": "str"},
        allow_remote={"type": "bool", "default": False},
        k6_path={"type": "path"},
        timeout_margin={"type": "int", "default": 60},
    )
    return spec


def find_k6(module: AnsibleModule) -> str | None:
    if module.params["k6_path"]:
        return module.params["k6_path"]
    beside = os.path.join(os.path.dirname(sys.executable), "k6")
    if os.access(beside, os.X_OK):
        return beside
    return module.get_bin_path("k6")


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    try:
        resolve(p["platform"])
    except OpsError as exc:
        module.fail_json(msg=exc.msg)

    def run_cmd(argv, data=None, env=None):
        return module.run_command(argv, data=data, environ_update=env or {})

    transport = urllib_transport(p["validate_certs"])

    def probe(url: str, timeout: float) -> int:
        return transport("GET", url, {"Accept": "application/json"}, None, timeout)[0]

    def db_connect():
        if not _db.HAS_PSYCOPG:
            raise OpsError(missing_required_lib("psycopg (3)"))
        return _db.connect(module.run_command, p["db"], "examday_load")

    manager = LoadManager(p, module.check_mode, find_k6(module), run_cmd, probe, db_connect=db_connect,
                          transport=transport)
    try:
        result = manager.run()
    except OpsError as exc:
        for warning in manager.warnings:
            module.warn(warning)
        module.fail_json(msg=exc.msg, **json_safe(exc.details))
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**json_safe(result))


if __name__ == "__main__":
    main()
