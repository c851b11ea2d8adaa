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
      - C(merge) writes C(load/<name>/result.json) over the folders of the load generators listed in
        I(generators) (C(load/<name>/<generator>/)), on the host that holds them all (the controller); counts
        summed, percentiles and error rate over the union of their raw samples, each generator's health. It
        fails, naming them, when a generator left no result.
      - C(follow) is carried out by the collection's action plugin on the controller, one loop item per round
        and generator (see the examples). It reads the generator's C(load/<name>/<generator>/progress.json),
        which a running load rewrites every 5 s (elapsed and planned seconds, VUs, requests per second,
        requests, errors and a 0.5 % latency histogram so far), and returns a line to print, one per
        generator and, on the round's last generator, one merged over all of them (p95 from the summed
        histograms, never an average). It changes nothing; a generator it cannot read is named in the line.
    type: str
    default: run
    choices: [run, provision, retire, merge, follow]
  generator:
    description:
      - This run is one load generator of several (its inventory name); it writes C(load/<name>/<generator>/)
        and adds its health (CPU over the run, dropped iterations, k6 warnings) to its result.
      - The cohort is neither provisioned nor retired by a generator's run; the play does that once.
    type: str
  generator_index:
    description: This generator's place (0-based) among I(generator_count); its k6 execution segment.
    type: int
    default: 0
  generator_count:
    description:
      - How many generators run the scenario; each runs the same script and options with
        C(--execution-segment index/count:(index+1)/count) of the sequence C(0,1/count,...,1).
      - k6 keeps VU ids unique across segments, so no two generators log in the same student.
    type: int
    default: 1
  start_at:
    description:
      - The common start time (ISO 8601, at most 600 s away) the generator waits for before it starts k6, so
        the generators start together; the real start is recorded (C(started_at)).
    type: str
  generators:
    description: With C(action=merge) or C(action=follow), the generators that were to run the scenario.
    type: list
    elements: str
  round:
    description: With C(action=follow), the round (0-based); each round after the first starts I(interval) after the one before.
    type: int
    default: 0
  jid:
    description: With C(action=follow), the generator's async job id, asked when its progress is missing or stale.
    type: str
  interval:
    description: With C(action=follow), seconds between rounds.
    type: float
    default: 10
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
seealso:
  - module: examday.ops.integrity_check
    description: Data-integrity checks and reconciliation of the load's acknowledged writes.
  - module: examday.ops.report
    description: The GO/NO-GO report from the evidence directory.
  - module: examday.ops.metrics_capture
    description: Sample during the load and capture the metrics after it.
  - module: examday.ops.fault
    description: Inject a fault, restore it and measure recovery.
  - module: examday.ops.platform_profile
    description: Validate the platform profile (the platform option) and show it with its defaults.
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

- name: One tenth of the answers scenario, as generator 3 of 10, starting with the others
  examday.ops.load:
    scenario: answers
    api_url: "{{ examday_api_url }}"
    evidence_dir: /var/tmp/examday-evidence
    platform: "{{ examday_platform }}"
    cohort: {password: "{{ examday_cohort_password }}"}
    generator: "{{ inventory_hostname }}"
    generator_index: 2
    generator_count: 10
    start_at: "2026-12-01T09:00:00Z"

- name: The scenario's result over its generators' folders, fetched back to the controller
  examday.ops.load:
    action: merge
    scenario: answers
    evidence_dir: "{{ evidence_dir }}"
    generators: "{{ groups['examday_loadgen'] }}"
  delegate_to: localhost

- name: Follow it while it runs, a line every 10 s merged over the generators, until every one has ended
  examday.ops.load:
    action: follow
    scenario: answers
    evidence_dir: /var/tmp/examday-evidence
    generator: "{{ item.1 }}"
    generators: "{{ groups['examday_loadgen'] }}"
    round: "{{ item.0 }}"
    jid: "{{ jobs[item.1] }}"
  delegate_to: "{{ item.1 }}"
  loop: "{{ range(200) | product(groups['examday_loadgen']) | list }}"
  loop_control:
    label: "{{ progress.line | default(item.1) }}"
    break_when: progress.done | default(false)
  register: progress

- name: Smoke-test any HTTP endpoint for 30 s
  examday.ops.load:
    scenario: smoke
    api_url: http://127.0.0.1:18080
    target: /health
    evidence_dir: /tmp/evidence
"""

RETURN = r"""
scenario:
  description: The run's name (I(name), else I(scenario)).
  returned: action=run
  type: str
  sample: answers
started_at:
  description: UTC time k6 started.
  returned: action=run, not check mode
  type: str
  sample: "2026-11-30T19:12:35.145Z"
finished_at:
  description: UTC time k6 ended.
  returned: action=run, not check mode
  type: str
  sample: "2026-11-30T19:15:08.885Z"
duration_s:
  description: Seconds k6 ran.
  returned: action=run, not check mode
  type: float
  sample: 153.7
http_reqs:
  description: Requests sent (k6 C(http_reqs)).
  returned: action=run, not check mode
  type: int
  sample: 1700
rps:
  description: Requests per second.
  returned: action=run, not check mode
  type: float
  sample: 11.1
p50_ms:
  description: Median request duration in milliseconds (k6 C(http_req_duration)).
  returned: action=run, not check mode
  type: float
  sample: 4.081
p95_ms:
  description: 95th percentile of the request duration in milliseconds.
  returned: action=run, not check mode
  type: float
  sample: 12.473
p99_ms:
  description: 99th percentile of the request duration in milliseconds.
  returned: action=run, not check mode
  type: float
  sample: 3926.211
max_ms:
  description: Longest request in milliseconds.
  returned: action=run, not check mode
  type: float
  sample: 10001.037
error_rate:
  description: Share (0 to 1) of failed requests (k6 C(http_req_failed)).
  returned: action=run, not check mode
  type: float
  sample: 0.00941
checks:
  description: Passes and fails of all k6 checks (RV(checks_by_name) has them per check).
  returned: action=run, not check mode
  type: dict
  contains:
    passes:
      description: Checks that passed.
      type: int
    fails:
      description: Checks that failed.
      type: int
  sample: {passes: 1684, fails: 16}
checks_by_name:
  description: Passes and fails per k6 check, by the check's name.
  returned: action=run, not check mode
  type: dict
  contains:
    <check>:
      description: One check, by its name.
      type: dict
      contains:
        passes:
          description: Checks that passed.
          type: int
        fails:
          description: Checks that failed.
          type: int
  sample:
    login ok: {passes: 20, fails: 0}
    session created: {passes: 128, fails: 4}
    session readable: {passes: 128, fails: 0}
    answer saved: {passes: 1300, fails: 10}
    submit ok: {passes: 108, fails: 2}
thresholds:
  description: Every k6 threshold, as C(metric{expression}), and whether it passed.
  returned: action=run, not check mode
  type: dict
  contains:
    <metric{expression}>:
      description: Whether the threshold passed.
      type: bool
  sample:
    checks{rate>0.99}: true
    examday_double_submit_same{rate==1}: true
    examday_refresh_continued{rate==1}: true
    http_req_duration{p(95)<500}: true
    http_req_duration{p(99)<1000}: false
    http_req_failed{rate<0.01}: true
thresholds_passed:
  description: Whether every threshold passed (k6 exits with 99 when one did not; the task fails only with I(fail_on_thresholds)).
  returned: action=run, not check mode
  type: bool
  sample: false
dropped_iterations:
  description: Iterations an arrival-rate executor could not start (no free VU).
  returned: action=run, not check mode
  type: int
  sample: 0
vus_max:
  description: Most VUs.
  returned: action=run, not check mode
  type: int
  sample: 20
iterations:
  description: Iterations completed.
  returned: action=run, not check mode
  type: int
  sample: 1424
acks:
  description: Writes the platform acknowledged, by kind, as written to C(acks.jsonl) (C(session), C(answer) and C(submit) always present).
  returned: action=run, not check mode
  type: dict
  contains:
    <kind>:
      description: Acknowledged writes of the kind.
      type: int
  sample: {session: 128, answer: 1300, submit: 108}
unknown_writes:
  description: Writes whose outcome the client could not know (time-outs, connection errors, 5xx), by kind; kinds without any are left out.
  returned: action=run, not check mode
  type: dict
  contains:
    <kind>:
      description: Writes of the kind with an unknown outcome.
      type: int
  sample: {answer: 10, submit: 2}
files:
  description: The run's evidence files, relative to I(evidence_dir) (C(result.json) is next to them).
  returned: action=run, not check mode
  type: dict
  contains:
    summary:
      description: k6's C(--summary-export).
      type: str
    raw:
      description: k6's C(--out json), gzipped.
      type: str
    acks:
      description: The acknowledged writes, one JSON record a line.
      type: str
  sample: {summary: load/answers/summary.json, raw: load/answers/raw.json.gz, acks: load/answers/acks.jsonl}
exam:
  description: The exam scripts' own counters and rates.
  returned: action=run of an exam scenario, not check mode
  type: dict
  contains:
    token_refreshes:
      description: Access tokens refreshed.
      type: int
    logins:
      description: Logins.
      type: int
    login_failures:
      description: Logins that failed.
      type: int
    rate_limited:
      description: Answers with HTTP 429.
      type: int
    unknown_writes:
      description: Writes whose outcome the client could not know.
      type: int
    stale_refused:
      description: Writes the platform refused as stale (I(platform.api.stale)).
      type: int
    refresh_continued:
      description: Whether the attempt went on after a token refresh.
      type: dict
      contains:
        passes:
          description: Checks that passed.
          type: int
        fails:
          description: Checks that failed.
          type: int
    double_submit_same:
      description: Whether the two concurrent submits of a session answered the same.
      type: dict
      contains:
        passes:
          description: Checks that passed.
          type: int
        fails:
          description: Checks that failed.
          type: int
  sample:
    token_refreshes: 0
    logins: 20
    login_failures: 0
    rate_limited: 0
    unknown_writes: 12
    stale_refused: 0
    refresh_continued: {passes: 0, fails: 0}
    double_submit_same: {passes: 0, fails: 0}
double_submits:
  description: The concurrent double submits recorded in C(acks.jsonl) (only the C(submit) scenario makes them).
  returned: action=run of an exam scenario, not check mode
  type: dict
  contains:
    pairs:
      description: Double submits.
      type: int
    differ:
      description: Sessions whose two submits answered differently (status or body).
      type: int
    samples:
      description: Up to 20 of those sessions.
      type: list
      elements: dict
      contains:
        session_id:
          description: The session.
          type: str
        statuses:
          description: HTTP statuses of the two answers.
          type: list
          elements: int
        request_ids:
          description: Request ids of the two submits.
          type: list
          elements: str
        ts:
          description: When it was recorded.
          type: str
  sample:
    pairs: 20
    differ: 20
    samples:
      - {session_id: f0cf1ecc-7b7e-488a-ad94-13d21e9682b7, statuses: [200, 200], ts: "2026-11-30T17:55:59.333Z",
         request_ids: [993008f842c7875f847900212dac093e, 34e6f6dccfbb0a49f95514c4198169ab]}
generator:
  description: This run as one load generator (I(generator) set), with its health over the run (check mode returns
    the first five keys only).
  returned: action=run with I(generator)
  type: dict
  contains:
    name:
      description: The generator (its folder under C(load/<name>/)).
      type: str
    index:
      description: Its place among I(generator_count), 0-based.
      type: int
    count:
      description: I(generator_count).
      type: int
    segment:
      description: Its k6 execution segment.
      type: str
    start_at:
      description: The common start time it waited for (I(start_at)), or null.
      type: str
    cpu_s:
      description: CPU seconds k6 used (user and system).
      type: float
    cpu_pct:
      description: That CPU as a share (%) of the generator's cores over the run.
      type: float
    cores:
      description: The cores the generator may use.
      type: int
    cpu_limit_pct:
      description: The threshold C(loadgen_cpu_pct).
      type: float
    late_s:
      description: Seconds k6 started after I(start_at) (it was launched after that time); null without I(start_at).
      type: float
    k6_peak_rss_mib:
      description: The most memory (MiB, resident) k6 used on the generator.
      type: float
    dropped_iterations:
      description: Iterations k6 could not start in time (an arrival-rate scenario short of VUs).
      type: int
    warnings:
      description: The last 10 lines k6 printed on its standard error (with C(--quiet), its warnings and errors).
      type: list
      elements: str
    saturated:
      description: Whether its CPU use passed C(loadgen_cpu_pct) (its latencies include its own queueing).
      type: bool
    why:
      description: Why it counts as saturated (empty when it does not).
      type: str
  sample: {name: gen1, index: 0, count: 2, segment: "0:1/2", start_at: "2026-12-01T03:40:00.000Z", cpu_s: 9.8,
           cpu_pct: 12.1, cores: 2, cpu_limit_pct: 85.0, k6_peak_rss_mib: 182.4, dropped_iterations: 0, warnings: [],
           late_s: 0.0, saturated: false, why: ""}
generators:
  description: With C(action=merge), each generator's share and health, by generator name (the sample is one of them).
  returned: action=merge
  type: dict
  contains:
    started_at:
      description: When it really started k6.
      type: str
    finished_at:
      description: When k6 ended.
      type: str
    http_reqs:
      description: Its requests.
      type: int
    p95_ms:
      description: Its own p95 (for comparison only; the scenario's p95 is over all samples).
      type: float
    segment:
      description: Its k6 execution segment.
      type: str
    cpu_pct:
      description: CPU (% of its cores) k6 used over the run.
      type: float
    cores:
      description: Its cores.
      type: int
    k6_peak_rss_mib:
      description: The most memory (MiB) k6 used on it.
      type: float
    dropped_iterations:
      description: Its dropped iterations.
      type: int
    warnings:
      description: k6's warnings on it.
      type: list
      elements: str
    late_s:
      description: Seconds it started after the common start time.
      type: float
    saturated:
      description: Whether it was saturated.
      type: bool
    why:
      description: Why it counts as saturated.
      type: str
    k6_rc:
      description: k6's exit code on it.
      type: int
  sample: {started_at: "2026-12-01T03:40:00.002Z", finished_at: "2026-12-01T03:41:02.310Z", http_reqs: 5120,
           p95_ms: 41.2, segment: "0:1/2", cpu_pct: 12.1, cores: 2, k6_peak_rss_mib: 182.4, dropped_iterations: 0, warnings: [],
           late_s: 0.0, saturated: false, why: "", k6_rc: 0}
start_spread_s:
  description: With C(action=merge), seconds between the first and the last generator's real start.
  returned: action=merge
  type: float
  sample: 0.412
saturated:
  description: With C(action=merge), the generators that were saturated (a finding of the report).
  returned: action=merge
  type: list
  elements: str
  sample: []
start_spread_limit_s:
  description: With C(action=merge), the threshold C(loadgen_start_spread_s) the spread was judged by.
  returned: action=merge
  type: float
  sample: 5.0
problems:
  description: With C(action=merge), problems of the run the merge found (generators that started further apart than
    C(loadgen_start_spread_s)); the rehearsal records them.
  returned: action=merge
  type: list
  elements: str
  sample: []
raw_requests:
  description: With C(action=merge), the requests in the generators' raw samples (equal to I(http_reqs), or the merge
    fails).
  returned: action=merge
  type: int
  sample: 10240
k6:
  description: How k6 ended.
  returned: action=run, not check mode
  type: dict
  contains:
    rc:
      description: k6's exit code (0, or 99 when a threshold failed; 105 when the module interrupted it).
      type: int
    exit_reason:
      description: The exit code's meaning (C(ok), C(thresholds failed) ...).
      type: str
    timed_out:
      description: Whether the module interrupted k6 at I(timeout_margin) past its expected end.
      type: bool
    stderr_tail:
      description: The last 10 lines k6 printed on its standard error (the cohort password masked).
      type: list
      elements: str
  sample: {rc: 99, exit_reason: thresholds failed, timed_out: false,
           stderr_tail: [Request Failed, "thresholds on metrics 'http_req_duration' have been crossed"]}
evidence_path:
  description: The absolute directory of the run's evidence (C(load/<name>) in I(evidence_dir)).
  returned: action=run
  type: str
  sample: /work/wt-run/reports/rehearsal-lab-20261130_191124/load/answers
target:
  description: The URL proven to answer before the load; for generic profiles, also the URL loaded.
  returned: action=run
  type: str
  sample: http://127.0.0.1:18080/health
run_id:
  description: The run's id, in the script's config and the k6 tags.
  returned: action=run
  type: str
  sample: cb27fee02e
command:
  description: The k6 command line (it holds no secret).
  returned: action=run
  type: list
  elements: str
  sample: [/work/main/.venv/bin/k6, run, --quiet, --no-color, --no-usage-report, --address, "", --log-format, raw,
           --config, /tmp/examday-load-ky0ud5tt/k6-options.json,
           --summary-export, /work/wt-run/reports/rehearsal-lab-20261130_191124/load/answers/summary.json,
           --out, "json=/work/wt-run/reports/rehearsal-lab-20261130_191124/load/answers/raw.json.gz",
           --console-output, /tmp/examday-load-ky0ud5tt/console.log, /tmp/examday-load-ky0ud5tt/scripts/exam.js]
config:
  description: The settings the script gets (header values masked); the keys depend on exam or generic scenario.
  returned: action=run
  type: dict
  contains:
    open_model:
      description: Whether an arrival-rate executor runs it (I(profile.rate) set).
      type: bool
    think_time:
      description: Mean seconds a VU waits between iterations.
      type: float
    pace:
      description: Least seconds per iteration of one VU.
      type: float
    timeout:
      description: Each request's timeout (a k6 duration).
      type: str
    run_id:
      description: The run's id.
      type: str
    api_url:
      description: Exam scenarios. The API's base URL (I(api_url)).
      type: str
    api:
      description: Exam scenarios. What the script needs of I(platform.api) (every key but C(error_message)).
      type: dict
      contains:
        prefix:
          description: "Path prefix of the API calls whose path is relative."
          type: str
        auth:
          description: "How the access token is sent."
          type: dict
          contains:
            header:
              description: "Header name."
              type: str
            scheme:
              description: "Word before the token (empty for the bare token)."
              type: str
        ids:
          description: "Type of the ids the platform hands out (sessions, questions): C(auto) sends them back as read; C(string) or
            C(integer) converts them and refuses an id of another type."
          type: str
        request_id_header:
          description: "Header of the request id the edge and backends log; the collection sends its own id in it and reads the platform's
            back."
          type: str
        error_code:
          description: "Paths tried, in order, for the error code in an error body."
          type: list
          elements: str
        session:
          description: "The session creation body, C({session}) in I(api.calls.create_session.body)."
          type: dict
          contains:
            <field>:
              description: "A field of the session creation body, by its name."
              type: raw
        answer_choices:
          description: "How many choices a question has (answers are 0 .. n-1)."
          type: int
        closed:
          description: "Answers to an answer that mean the session is closed (the student starts a new one)."
          type: dict
          contains:
            status:
              description: "HTTP statuses."
              type: list
              elements: int
            codes:
              description: "Error codes."
              type: list
              elements: str
        stale:
          description: "Answers to an answer that mean the platform refused a stale write (an older version)."
          type: dict
          contains:
            status:
              description: "HTTP statuses."
              type: list
              elements: int
            codes:
              description: "Error codes."
              type: list
              elements: str
        statuses:
          description: "Session status values in API answers."
          type: dict
          contains:
            active:
              description: "An open session."
              type: str
            submitted:
              description: "A submitted session."
              type: str
        calls:
          description: "Each call's method, path, body and the values read back."
          type: dict
          contains:
            health:
              description: "Liveness (judged by I(health)). Placeholders: none."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's type).
                    Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    <value>:
                      description: "Path of a value in the answer, by the value's name."
                      type: str
            ready:
              description: "Readiness (judged by I(readiness)). Placeholders: none."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's type).
                    Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    <value>:
                      description: "Path of a value in the answer, by the value's name."
                      type: str
            login:
              description: "Log in. Placeholders: C({email}), C({password}). Reads C(access_token), C(refresh_token), C(user_id)."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's type).
                    Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    access_token:
                      description: "Path of C(access_token) in the answer."
                      type: str
                    refresh_token:
                      description: "Path of C(refresh_token) in the answer."
                      type: str
                    user_id:
                      description: "Path of C(user_id) in the answer."
                      type: str
            refresh:
              description: "Token refresh (optional). Placeholders: C({refresh_token})."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's type).
                    Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    access_token:
                      description: "Path of C(access_token) in the answer."
                      type: str
                    refresh_token:
                      description: "Path of C(refresh_token) in the answer."
                      type: str
            logout:
              description: "Logout (optional). Placeholders: C({refresh_token})."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's type).
                    Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    <value>:
                      description: "Path of a value in the answer, by the value's name."
                      type: str
            create_session:
              description: "Start an exam session. Placeholders: C({session}) (I(api.session))."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's type).
                    Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    session_id:
                      description: "Path of C(session_id) in the answer."
                      type: str
                    status:
                      description: "Path of C(status) in the answer."
                      type: str
                    started_at:
                      description: "Path of C(started_at) in the answer."
                      type: str
                    expires_at:
                      description: "Path of C(expires_at) in the answer."
                      type: str
            read_session:
              description: "Read a session with its questions. Placeholders: C({session_id}). Reads the list C(questions) and, in each
                item, C(question_id), C(position), C(has_answer)."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's type).
                    Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    questions:
                      description: "Path of C(questions) in the answer."
                      type: str
                    question_id:
                      description: "Path of C(question_id) in the answer."
                      type: str
                    position:
                      description: "Path of C(position) in the answer."
                      type: str
                    has_answer:
                      description: "Path of C(has_answer) in the answer."
                      type: str
                    answered_count:
                      description: "Path of C(answered_count) in the answer."
                      type: str
                    status:
                      description: "Path of C(status) in the answer."
                      type: str
                    expires_at:
                      description: "Path of C(expires_at) in the answer."
                      type: str
            answer:
              description: "Answer a question. Placeholders: C({session_id}), C({question_id}), C({selected_index}), C({position}),
                C({version}) (a number that grows with every write of a student: a platform that orders writes refuses an older one)."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's type).
                    Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    answered_count:
                      description: "Path of C(answered_count) in the answer."
                      type: str
            submit:
              description: "Submit a session. Placeholders: C({session_id}), C({idempotency_key})."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's type).
                    Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    status:
                      description: "Path of C(status) in the answer."
                      type: str
                    score:
                      description: "Path of C(score) in the answer."
                      type: str
                idempotency_header:
                  description: "Header that carries the idempotency key of a submit (empty: none)."
                  type: str
            exam_mode_get:
              description: "Read EXAM_MODE (optional; empty path when the platform has no such call). Reads C(enabled) and C(stored) (the
                stored flag, when the answer carries it)."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's type).
                    Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    enabled:
                      description: "Path of C(enabled) in the answer."
                      type: str
                    stored:
                      description: "Path of C(stored) in the answer."
                      type: str
            exam_mode_set:
              description: "Set EXAM_MODE (mechanism C(api)). Placeholders: C({enabled}), C({reason}), C({confirmation})."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's type).
                    Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    <value>:
                      description: "Path of a value in the answer, by the value's name."
                      type: str
    max_vus:
      description: Exam scenarios. Most VUs.
      type: int
    ack_marker:
      description: Exam scenarios. The prefix of the console lines that record writes.
      type: str
    cohort:
      description: Exam scenarios. The students' e-mails - C(<prefix><number>@<domain>), the number C(pad) digits, from C(first).
      type: dict
      contains:
        prefix:
          description: E-mail local part before the number.
          type: str
        domain:
          description: E-mail domain.
          type: str
        count:
          description: Students.
          type: int
        pad:
          description: Digits of the number.
          type: int
        first:
          description: Number of the first student.
          type: int
    ip_offset:
      description: Exam scenarios. Where the cohort's client addresses start (each student logs in from an address of its own).
      type: int
    refresh_after_s:
      description: Exam scenarios. Age in seconds after which a token is refreshed (I(token_refresh_after)).
      type: float
    max_login_wait:
      description: Exam scenarios. Most seconds a login waits when rate-limited.
      type: int
    answers_before_submit:
      description: Exam scenarios. I(answers_before_submit).
      type: int
    double_submit:
      description: Exam scenarios. I(double_submit).
      type: bool
    revise_ratio:
      description: Exam scenarios. I(revise_ratio).
      type: float
    url:
      description: Generic profiles. The URL loaded.
      type: str
    method:
      description: Generic profiles. I(method).
      type: str
    expect_status:
      description: Generic profiles. I(expect_status).
      type: list
      elements: int
    headers:
      description: Generic profiles. I(headers), each value C(<masked>).
      type: dict
      contains:
        <header>:
          description: C(<masked>), by the header's name.
          type: str
    body:
      description: Generic profiles. I(body).
      type: raw
    name:
      description: Generic profiles. The path of the URL, the requests' name tag.
      type: str
  sample:
    open_model: false
    think_time: 2.0
    pace: 0.0
    timeout: 10s
    run_id: cb27fee02e
    api_url: http://127.0.0.1:18080
    max_vus: 20
    ack_marker: "EXAMDAY_ACK "
    cohort: {prefix: load, domain: cohort.examday.invalid, count: 20, pad: 5, first: 1}
    ip_offset: 613
    refresh_after_s: 600.0
    max_login_wait: 10
    answers_before_submit: 3
    double_submit: true
    revise_ratio: 0.1
profile:
  description: The resolved load shape (I(profile) over the scenario's defaults), durations in seconds.
  returned: action=run
  type: dict
  contains:
    vus:
      description: VUs, or pre-allocated VUs (with a rate).
      type: int
    duration_s:
      description: Plateau duration.
      type: float
    ramp_up_s:
      description: Ramp up.
      type: float
    ramp_down_s:
      description: Ramp down.
      type: float
    graceful_stop_s:
      description: How long running iterations may finish after the end.
      type: float
    think_time_s:
      description: Mean seconds between iterations of a VU.
      type: float
    pace_s:
      description: Least seconds per iteration of a VU.
      type: float
    rate:
      description: Iterations per second (arrival-rate executors), null for the closed model.
      type: float
    max_vus:
      description: Most VUs.
      type: int
  sample: {vus: 20, duration_s: 146.0, ramp_up_s: 5.0, ramp_down_s: 0.0, graceful_stop_s: 10.0, think_time_s: 2.0, pace_s: 0.0,
           rate: null, max_vus: 20}
executor:
  description: The k6 scenario as run, by its name (k6's C(scenarios) option); the keys depend on the executor.
  returned: action=run
  type: dict
  contains:
    <name>:
      description: The scenario.
      type: dict
      contains:
        executor:
          description: C(constant-vus), C(ramping-vus), C(constant-arrival-rate) or C(ramping-arrival-rate).
          type: str
        exec:
          description: The script's function.
          type: str
        gracefulStop:
          description: k6's graceful stop.
          type: str
        tags:
          description: Tags of every request.
          type: dict
          contains:
            examday_run:
              description: The run's name.
              type: str
        startVUs:
          description: C(ramping-vus). VUs at the start.
          type: int
        gracefulRampDown:
          description: C(ramping-vus). k6's graceful ramp-down.
          type: str
        vus:
          description: C(constant-vus). VUs.
          type: int
        duration:
          description: Constant executors. Duration.
          type: str
        startRate:
          description: C(ramping-arrival-rate). Rate at the start.
          type: int
        rate:
          description: C(constant-arrival-rate). Iterations per I(timeUnit).
          type: int
        timeUnit:
          description: Arrival-rate executors. The rate's time unit.
          type: str
        preAllocatedVUs:
          description: Arrival-rate executors. VUs allocated before the start.
          type: int
        maxVUs:
          description: Arrival-rate executors. Most VUs.
          type: int
        stages:
          description: Ramping executors. Target and duration of each stage.
          type: list
          elements: dict
          contains:
            target:
              description: VUs, or the rate, at the stage's end.
              type: int
            duration:
              description: The stage's duration.
              type: str
  sample:
    answers: {executor: ramping-vus, startVUs: 0, stages: [{target: 20, duration: 5s}, {target: 20, duration: 146s}],
              gracefulRampDown: 10s, exec: answers, gracefulStop: 10s, tags: {examday_run: answers}}
thresholds_given:
  description: The k6 thresholds of the run - derived from I(thresholds), plus I(k6_thresholds) - by metric.
  returned: action=run
  type: dict
  contains:
    <metric>:
      description: Expressions, or dicts with C(threshold), C(abortOnFail) and C(delayAbortEval).
      type: list
      elements: raw
  sample:
    http_req_duration: ["p(95)<500", "p(99)<1000"]
    http_req_failed: ["rate<0.01"]
    checks: ["rate>0.99"]
    examday_double_submit_same: ["rate==1"]
    examday_refresh_continued: ["rate==1"]
expected_s:
  description: Seconds k6 runs by itself (ramps, plateau, graceful stop).
  returned: action=run
  type: float
  sample: 161.0
hard_timeout_s:
  description: RV(expected_s) plus I(timeout_margin); past it the module interrupts k6.
  returned: action=run
  type: float
  sample: 221.0
cohort:
  description:
    - The cohort, and what provisioning and retiring did. With C(action=run), RV(cohort.provisioned) and RV(cohort.retired);
      with C(action=provision) or C(action=retire), the outcome under that action's name.
  returned: exam scenarios, and action=provision or retire
  type: dict
  contains:
    method:
      description: How it is provisioned and retired (I(platform.cohort.method)).
      type: str
      sample: command
    tag:
      description: The cohort's tag (I(platform.cohort.tag)).
      type: str
      sample: examday-load
    count:
      description: Students in the cohort.
      type: int
      sample: 20
    first:
      description: Number of the first student.
      type: int
      sample: 1
    retire_after:
      description: Whether the cohort is retired after the load (I(cohort.retire_after)).
      type: bool
      sample: false
    email_pattern:
      description: The students' e-mail, C(N) standing for each digit of the student's number.
      type: str
      sample: loadNNNNN@cohort.examday.invalid
    provisioned:
      description: C(action=run). What provisioning did (null with method C(none)).
      type: dict
      contains:
        action:
          description: C(provision) or C(retire).
          type: str
        changed:
          description: Whether the platform's users changed.
          type: bool
        detail:
          description: Method C(none) (the cohort is managed outside), or check mode (what was not done).
          type: str
        command:
          description: Method C(command). The command run in the container (no password; it goes to its standard input).
          type: list
          elements: str
        container:
          description: Method C(command). The short id of the container it ran in.
          type: str
        output:
          description: Method C(command). The last JSON object the command printed.
          type: dict
          contains:
            <key>:
              description: What the command reported, by its own keys.
              type: raw
        rows:
          description: Method C(sql). Rows the SQL affected.
          type: int
        requests:
          description: Method C(api). Requests sent (or that would be, in check mode).
          type: int
        done:
          description: Method C(api). Requests that succeeded (I(platform.cohort.api.ok_status)).
          type: int
        unchanged:
          description: Method C(api). Requests answered "already so" (I(platform.cohort.api.unchanged_status)).
          type: int
        error:
          description: Only when retiring after a load failed; why (the load's result is kept, a warning says so).
          type: str
    retired:
      description: C(action=run). What retiring did (null without I(cohort.retire_after)).
      type: dict
      contains:
        action:
          description: C(provision) or C(retire).
          type: str
        changed:
          description: Whether the platform's users changed.
          type: bool
        detail:
          description: Method C(none) (the cohort is managed outside), or check mode (what was not done).
          type: str
        command:
          description: Method C(command). The command run in the container (no password; it goes to its standard input).
          type: list
          elements: str
        container:
          description: Method C(command). The short id of the container it ran in.
          type: str
        output:
          description: Method C(command). The last JSON object the command printed.
          type: dict
          contains:
            <key>:
              description: What the command reported, by its own keys.
              type: raw
        rows:
          description: Method C(sql). Rows the SQL affected.
          type: int
        requests:
          description: Method C(api). Requests sent (or that would be, in check mode).
          type: int
        done:
          description: Method C(api). Requests that succeeded (I(platform.cohort.api.ok_status)).
          type: int
        unchanged:
          description: Method C(api). Requests answered "already so" (I(platform.cohort.api.unchanged_status)).
          type: int
        error:
          description: Only when retiring after a load failed; why (the load's result is kept, a warning says so).
          type: str
    provision:
      description: C(action=provision). What it did.
      type: dict
      contains:
        action:
          description: C(provision) or C(retire).
          type: str
        changed:
          description: Whether the platform's users changed.
          type: bool
        detail:
          description: Method C(none) (the cohort is managed outside), or check mode (what was not done).
          type: str
        command:
          description: Method C(command). The command run in the container (no password; it goes to its standard input).
          type: list
          elements: str
        container:
          description: Method C(command). The short id of the container it ran in.
          type: str
        output:
          description: Method C(command). The last JSON object the command printed.
          type: dict
          contains:
            <key>:
              description: What the command reported, by its own keys.
              type: raw
        rows:
          description: Method C(sql). Rows the SQL affected.
          type: int
        requests:
          description: Method C(api). Requests sent (or that would be, in check mode).
          type: int
        done:
          description: Method C(api). Requests that succeeded (I(platform.cohort.api.ok_status)).
          type: int
        unchanged:
          description: Method C(api). Requests answered "already so" (I(platform.cohort.api.unchanged_status)).
          type: int
        error:
          description: Only when retiring after a load failed; why (the load's result is kept, a warning says so).
          type: str
    retire:
      description: C(action=retire). What it did.
      type: dict
      contains:
        action:
          description: C(provision) or C(retire).
          type: str
        changed:
          description: Whether the platform's users changed.
          type: bool
        detail:
          description: Method C(none) (the cohort is managed outside), or check mode (what was not done).
          type: str
        command:
          description: Method C(command). The command run in the container (no password; it goes to its standard input).
          type: list
          elements: str
        container:
          description: Method C(command). The short id of the container it ran in.
          type: str
        output:
          description: Method C(command). The last JSON object the command printed.
          type: dict
          contains:
            <key>:
              description: What the command reported, by its own keys.
              type: raw
        rows:
          description: Method C(sql). Rows the SQL affected.
          type: int
        requests:
          description: Method C(api). Requests sent (or that would be, in check mode).
          type: int
        done:
          description: Method C(api). Requests that succeeded (I(platform.cohort.api.ok_status)).
          type: int
        unchanged:
          description: Method C(api). Requests answered "already so" (I(platform.cohort.api.unchanged_status)).
          type: int
        error:
          description: Only when retiring after a load failed; why (the load's result is kept, a warning says so).
          type: str
  sample:
    method: command
    tag: examday-load
    count: 20
    first: 1
    retire_after: false
    email_pattern: loadNNNNN@cohort.examday.invalid
    provisioned:
      action: provision
      changed: false
      command: [python3, -m, examlab.manage, cohort, --count, "20", --first, "1", --tag, examday-load, --prefix, load,
                --domain, cohort.examday.invalid]
      container: 427107565dc0
      output: {users: 20, created: 0, updated: 20, cohort: examday-load, email_pattern: loadNNNNN@cohort.examday.invalid}
    retired: null
action:
  description: The action (C(provision) or C(retire)).
  returned: action=provision or retire
  type: str
  sample: provision
line:
  description: What the load has done so far, on this generator or (the round's last generator) over all of them.
  returned: action=follow
  type: str
  sample: "answers (2 load generators): 40 s of 65 s, 40 VUs, 31.5 req/s, p95 7.8 ms, errors 0.00 % (0 of 1,262 requests)"
done:
  description: Whether every generator's load has ended (only ever true on the round's last generator).
  returned: action=follow
  type: bool
  sample: false
msg:
  description: In check mode, what would run.
  returned: action=run in check mode
  type: str
  sample: would run k6 answers for about 161s against http://127.0.0.1:18080/health
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
        action={"type": "str", "default": "run", "choices": ["run", "provision", "retire", "merge", "follow"]},
        round={"type": "int", "default": 0},
        jid={"type": "str"},
        interval={"type": "float", "default": 10},
        generator={"type": "str"},
        generator_index={"type": "int", "default": 0},
        generator_count={"type": "int", "default": 1},
        start_at={"type": "str"},
        generators={"type": "list", "elements": "str"},
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
