# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built-in Jinja2 templates of report.md, embedded (modules reach their host without files/).

GENERATED from files/templates/report.md.j2, record.md.j2 and lessons.md.j2 by files/templates/embed.py:
edit the .j2 files, then run it."""
from __future__ import annotations

TEMPLATE = r'''{#
  examday.ops report.md: the rehearsal report, section by section after seed 001's template.

  Context: report (the content of report.json), view (values derived for people by
  plugins/module_utils/_report/render_md.py: findings, per-gate lookup view.gates.<id>, issue lists,
  flags), not_measured. Filters: md (evidence text: one line, pipes escaped, None reads "not
  measured"), n, ms, pct, seconds (a number with its unit, or "not measured"), g (a threshold),
  value(unit) (a gate's value), result (PASS, FAIL, NO EVIDENCE), pairs ("key n, key n"), mib,
  mib_per_min, yes_no, code. Globals: pick(dict, keys), check_title(check).
  Rendered with trim_blocks and lstrip_blocks; undefined names are errors; the text is stripped at
  its end and ends with one newline. A copy of this file, edited, can be given as the module's
  `template` option.
#}
{% macro box(flag) %}{{ '[x]' if flag is true else '[ ]' }}{% endmacro %}
{% macro pair(flag, yes='Yes', no='No') %}
{{ box(flag) }} {{ yes }}  {{ '[x]' if flag is false else '[ ]' }} {{ no }}
{%- endmacro %}
{% macro item(text, flag, note='') %}
{% if flag is none %}
- [ ] {{ text }} ({{ not_measured }}{{ ': ' ~ note if note else '' }})
{%- else %}
- {{ box(flag) }} {{ text }}{{ ' (' ~ note ~ ')' if note else '' }}
{%- endif %}
{% endmacro %}
{% macro issues(items) %}
{% if items %}
**Issues Found**:
{%- for i in items %}

- {{ i | md }}
{%- endfor %}
{% else %}
**Issues Found**: none
{%- endif %}
{% endmacro %}
{% set run = report.run %}
# {{ report.title | md }}

**Date**: {{ report.date }}
**Environment**: {{ (report.environment or 'not recorded') | md }}
**API URL**: {{ (report.api_url or 'not recorded') | md }}
**Conducted By**: {{ (report.conducted_by or 'not recorded') | md }}
**Run**: {{ (run.playbook or 'playbook not recorded') | md }} on {{ (run.host or 'host not recorded') | md
}}, profile {{ (run.profile or 'not recorded') | md }}, {{ run.started_at or not_measured }} to {{
run.finished_at or not_measured }}
**Evidence**: `{{ report.evidence_dir }}`

---

## Executive Summary

**Status**: {{ box(report.verdict == 'GO') }} GO  {{ box(report.verdict == 'NO-GO') }} NO-GO

**Overall Assessment**: {{ view.assessment | md }}

**Key Findings**:
{% for f in view.findings %}
- {{ (f.result ~ ' — ' ~ f.name ~ ': ' ~ f.detail) | md }}
{% endfor %}
{% if report.problems %}

**Phases that failed** (their evidence is missing or incomplete, so the gates that need it cannot pass):
{% for p in report.problems %}
- {{ p.phase | md }}: {{ p.error | md }}
{% endfor %}
{% endif %}
{% if report.evidence_problems %}

**Unreadable evidence**:
{% for file, problem in report.evidence_problems.items() %}
- `{{ file }}`: {{ problem | md }}
{% endfor %}
{% endif %}

---

## Phase 1: Pre-Exam Freeze

### EXAM_MODE Verification

{% set fr = report.freeze %}
{% if not fr %}
**EXAM_MODE Status**: {{ not_measured }} (no freeze-*.json in the evidence)

**Background Jobs**:
{{ item('No cron jobs running', none) }}
{{ item('No scheduled tasks active', none) }}
{{ item('Heavy analytics disabled', none) }}

**Critical Endpoints**:
{{ item('`/health` accessible', none) }}
{{ item('`/v1/ready` accessible', none) }}
{% else %}
{% set em = fr.exam_mode %}
{% set probe = em.probe or {} %}
{% set worker = em.worker or {} %}
**EXAM_MODE Status**: {{ (em.state or not_measured) | md }} ({{
'verified by effect in ' ~ em.seconds | seconds if em.verified else 'NOT verified by effect' }}; mechanism {{
(em.mechanism or not_measured) | md }}; record `{{ fr.file }}`)

{% if probe %}
Probe: {{ probe.get('answers') | n }} answers, last: {{ probe.get('last') | md }}; statuses {{
(probe.get('statuses') or []) | join(', ') or not_measured }}

{% endif %}
**Background Jobs**:
{{ item('No cron jobs running', not view.freeze.running, view.freeze.jobs_note) }}
{{ item('No scheduled tasks active', worker.get('ok') if worker else none,
        worker.get('last') | md if worker else 'no job-runner evidence') }}
{{ item('Heavy analytics disabled', (probe.get('settled') is true and em.verified) if probe else none,
        'heavy-job probe refused' if probe and em.verified else 'heavy-job probe') }}

**Critical Endpoints**:
{% for label, name in [('`/health` accessible', 'health'), ('`/v1/ready` accessible', 'ready')] %}
{% set check = fr.checks_after.get(name) %}
{{ item(label, check.passed if check else none, check.detail | md if check else 'not checked') }}
{% endfor %}
{% endif %}
{{ item('Session creation works', view.ux_ok.sessions, view.ux_note) }}
{{ item('Answer submission works', view.ux_ok.answer, view.ux_note) }}

{% if fr %}
{{ issues(fr.reasons or (['the freeze verdict did not pass'] if fr.passed is false else [])) }}
{% else %}
{{ issues(['no freeze record: EXAM_MODE and background jobs were not verified']) }}
{% endif %}

---

## Phase 2: Load Generation

### Test Parameters

{% set scenarios = report.load.scenarios %}
{% if not scenarios %}
- **Concurrent Users**: {{ not_measured }}
- **Duration**: {{ not_measured }}
- **Test Type**: {{ not_measured }} (no load/<scenario>/ in the evidence)
{% else %}
- **Concurrent Users**: {% for s in scenarios %}{{ s.name }} {{ s.get('vus_max') | n }} VUs{{
', ' if not loop.last else '' }}{% endfor +%}
- **Duration**: {% for s in scenarios %}{{ s.name }} {{ s.get('duration_s') | seconds }}{{
', ' if not loop.last else '' }}{% endfor +%}
- **Test Type**: {{ scenarios | map(attribute='title') | join(' / ') }}
{% endif %}

### Results

{% for s in scenarios %}
**{{ s.title | md }}** (scenario `{{ s.name | md }}`, from {{
{'raw': 'raw k6 samples', 'result': 'result.json (no raw samples)'}.get(s.source, 'no numbers') }}):
- Total requests: {{ s.get('requests') | n }}
- Success rate: {{ s.get('success_rate_pct') | pct }}
- p50 latency: {{ s.get('p50_ms') | ms }}
- p95 latency: {{ s.get('p95_ms') | ms }}
- p99 latency: {{ s.get('p99_ms') | ms }}
- Errors: {{ s.get('errors') | n }} ({{ s.get('error_rate_pct') | pct }})
{% set out, inn = s.get('outside'), s.get('inside') %}
{% if out %}
- Outside fault windows: p95 {{ out.get('p95_ms') | ms }}, errors {{ out.get('errors') | n }} of {{
out.get('requests') | n }} ({{ out.get('error_rate_pct') | pct }})
{% else %}
- Outside fault windows: {{ not_measured }}
{% endif %}
{% if inn and inn.get('requests') %}
- Inside fault windows: p95 {{ inn.get('p95_ms') | ms }}, errors {{ inn.get('errors') | n }} of {{
inn.get('requests') | n }} ({{ inn.get('error_rate_pct') | pct }})
{% endif %}
{% if s.get('thresholds_passed') is not none %}
- k6 thresholds: {{ 'passed' if s.thresholds_passed else 'crossed' }}
{% endif %}
{% if s.get('dropped_iterations') is not none %}
- Dropped iterations: {{ s.dropped_iterations }}
{% endif %}
{% if s.get('acks') %}
- Acknowledged writes: {{ s.acks | pairs }}
{% endif %}
{% if s.get('generators') %}
- Load generators ({{ s.generators | length }}, started within {{ s.get('start_spread_s') | seconds }}):
{% for g in s.generators %}
  - `{{ g.name | md }}` segment {{ g.segment | md }}: {{ g.http_reqs | n }} requests, own p95 {{ g.p95_ms | ms }}, CPU {{
g.cpu_pct | pct }} of {{ g.cores | n }} core(s), k6 memory {{ g.k6_peak_rss_mib | n }} MiB, dropped iterations {{
g.dropped_iterations | n }}{{
' **saturated** (' ~ (g.why | md) ~ ')' if g.saturated else '' }}
{% endfor %}
{% endif %}

{% endfor %}
{% set metrics = report.metrics or {} %}
{% set pool = metrics.get('db_pool') or {} %}
{% set pct_app = pool.get('pct_of_app_pool') %}
### Database Connection Pool

- Peak connections: {{ pool.get('peak_connections') | n }}
- Pool size: {{ pool.get('pool_size', pool.get('app_pool_capacity')) | n }}{{
' (app pool capacity: pool_size + max_overflow per process)'
if 'pool_size' not in pool and pool.get('app_pool_capacity') is not none else '' }}
- Max overflow: {{ pool.get('max_overflow') | n }}
- max_connections: {{ pool.get('max_connections') | n }} (peak {{ pool.get('pct_of_max_connections') | pct }})
- Pool exhaustion: {% if pct_app is not none %}{{ pair(pct_app >= 100) }} (peak {{ pct_app | pct }} of the app pool)
{%- else %}{{ pair(none) }} ({{ not_measured }}){% endif +%}

{% set redis = metrics.get('redis') or {} %}
### Redis Status

- Connection failures: {{ pick(redis, ['connection_failures', 'rejected_connections', 'connection_errors']) | n }}
- Reconnect attempts: {{ pick(redis, ['reconnects', 'reconnect_attempts', 'redis_reconnects']) | n }}
- Degradation handled: {% if view.redis_handled is not none %}{{ pair(view.redis_handled)
}} (Redis fault recovered and within the error budget)
{%- else %}{{ pair(none) }} ({{ not_measured }}: no Redis fault measured){% endif +%}

{{ issues(view.load_issues) }}

---

## Phase 3: Failure Injection

{% set th = report.thresholds %}
{% if report.faults is none %}
No fault was measured: faults.json is missing ({{ not_measured }}).

{{ issues(['no failure injection evidence']) }}

{% elif not report.faults %}
faults.json lists no fault: failure handling was not exercised.

{{ issues(['no fault injected']) }}

{% else %}
{% for f in report.faults %}
{% set w = f.window %}
### {{ 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[loop.index0] if loop.index0 < 26 else loop.index }}) {{ f.name | md }}

**Scenario**: {{ (f.fault or 'fault') | md }} on {{ (f.targets | join(', ') or 'no target recorded') | md }} for {{
f.duration_s | seconds }} (injected {{ f.injected_at | md }}, restored {{ f.restored_at | md }})

**Expected Behavior**:
{{ item('Target restored after the fault', f.restored, f.error | md if f.error else '') }}
{{ item('Students (the canary) interrupted at most ' ~ f.max_outage_s | g ~ ' s',
        (f.canary.outage_s is not none and f.canary.outage_s <= f.max_outage_s) if f.canary else none,
        ('interrupted ' ~ (f.canary.outage_s | seconds if f.canary.outage_s is not none else 'until the end'))
        if f.canary else 'no canary tick during the fault') }}
{{ item('Students back within ' ~ th.recovery_seconds | g ~ ' s of the fault\'s end', f.within_budget,
        ('back after ' ~ (f.canary.recovery_s | seconds if f.canary.recovery_s is not none else 'never'))
        if f.canary else 'no canary tick after the fault') }}
{{ item('Requests during the fault within the error budget (' ~ th.fault_error_budget_pct | g ~ ' %)',
        f.window_within_budget,
        w.errors ~ ' of ' ~ w.requests ~ ' failed' if w and w.get('requests') else 'no request during the window') }}

**Actual Behavior**: {{ view.faults[loop.index0].actual | md }}

**Recovery Time**: {{ (f.canary.recovery_s if f.canary else none) | seconds }} (students, from the fault's end to the
canary's first complete success); the platform said ready after {{ f.recovery_seconds | seconds }}{{
' (never said ready)' if f.recovered is false else '' }}

{{ issues(view.faults[loop.index0].issues) }}

{% endfor %}
{% endif %}
---

## Phase 4: Data Integrity Verification

### Verification Results

{% set integ = report.integrity %}
{% if not integ %}
{% for title in view.integrity.seed_checks %}
**{{ title }}**: {{ not_measured }} (Expected: 0)
{% endfor %}

### Summary Statistics

{% for title in view.integrity.seed_statistics %}
- {{ title }}: {{ not_measured }}
{% endfor %}

{{ issues(['integrity.json missing: data integrity not verified']) }}
{% else %}
{% for check in integ.checks %}
**{{ check_title(check) | md }}** (`{{ check.name | md }}`): {{ check.count | n }} (Expected: {{ check.expected }}){{
'' if check.passed is true else (' FAILED' if check.passed is false else ' (no verdict)') }}

{% endfor %}
{% for title in view.integrity.uncovered %}
**{{ title }}**: {{ not_measured }} (no such check in integrity.json) (Expected: 0)

{% endfor %}
{% set rec = integ.reconciliation %}
### Reconciliation with acknowledged writes

- Acknowledged: {{ rec.acknowledged | pairs or not_measured }}
- Lost: {{ rec.lost.count | n }} (Expected: 0)
- Stored with another value: {{ rec.mismatched.count | n }} (Expected: 0)
- Overwritten by an older request applied later (stale overwrite): {{ rec.stale_overwrites.count | n }} (Expected: 0)
- Replaced by a later write whose outcome the client did not know: {{ rec.superseded.count | n }}
- Writes with an unknown outcome (timed out, no answer): {{ rec.unknown_outcome | pairs or rec.unknown_writes | pairs or 0 }}
- Stored twice: {{ rec.duplicates.count | n }} (Expected: 0)
- Stored without an acknowledgement: {{ rec.unexpected.count | n }}
- Reconciliation: {{ 'passed' if rec.passed else ('failed' if rec.passed is false else not_measured) }}
{% set idem = report.idempotency %}
- Concurrent double submits during the load: {{ (idem.pairs ~ ', ' ~ idem.differ ~ ' answered differently')
  if idem.pairs else 'none recorded' }}

### Summary Statistics

{% for title, value in view.integrity.statistics %}
- {{ title }}: {{ value | n }}
{% endfor %}
{% for key, value in view.integrity.other_statistics %}
- {{ key.replace('_', ' ').capitalize() }}: {{ value if value is boolean else value | n }}
{% endfor %}

{{ issues(view.integrity.issues) }}
{% endif %}

---

## Phase 5: User Experience Validation

API-level checks by `examday.ops.student_flow` (ux.json) and the load scripts; what a browser shows is not measured here.

### Frontend Checks

{% set ux = view.ux %}
{{ item('No spinner hangs', none, 'browser not driven') }}
{{ item('Graceful error messages on retries', none, 'browser not driven') }}
{{ item('Resume works after refresh', ux.resume, ux.resume_note | md if ux.resume_note else '') }}
{{ item('Timer behaves correctly', ux.timer, ux.timer_note | md if ux.timer_note else '') }}
{{ item('Submit is idempotent (same answer twice, one submit)', ux.submit_idempotent, ux.submit_note) }}

### Auth Checks

{{ item('Token refresh does not interrupt session', ux.token_refresh, ux.token_note) }}
{{ item('Logout does not delete active attempt state', ux.logout, ux.logout_note | md if ux.logout_note else '') }}

{{ issues(ux.issues) }}

---

## Phase 6: Observability Review

### Metrics Captured

{% set overall = report.load.overall or {} %}
**Request Duration** (all k6 samples of the run, merged):
- p50: {{ overall.get('p50_ms') | ms }}
- p95: {{ overall.get('p95_ms') | ms }}
- p99: {{ overall.get('p99_ms') | ms }}

{% set m = report.metrics %}
{% if not m %}
**Database Query Duration**:
- Slow queries (>100ms): {{ not_measured }}
- Very slow queries (>300ms): {{ not_measured }}

**Error Rates**:
- Total errors: {{ overall.get('errors') | n }} (k6)
- 5xx errors: {{ not_measured }}
- Error rate: {{ overall.get('error_rate_pct') | pct }} (k6)

**Database Pool Usage**:
- Peak usage: {{ not_measured }}
- Average usage: {{ not_measured }}

**Redis Reconnects**: {{ not_measured }}

**Request ID Traceability**: {{ pair(none) }} ({{ not_measured }})

{{ issues(['metrics/metrics.json missing: observability not captured']) }}
{% else %}
{% set o = view.observability %}
{% set trace = view.gates.audit_logs %}
**Database Query Duration**:
- Slow queries (>100ms): {{ o.slow_warn | n }}
- Very slow queries (>300ms): {{ o.slow_err | n }}

**Slow Requests** (backend log): {{ m.slow_requests | pairs or not_measured }}

**Error Rates** (backend log):
- Total errors: {{ o.total_errors | n }} (4xx + 5xx)
- 5xx errors: {{ m.http_status.get('5xx') | n }}
- Error rate: {{ m.http_status.get('error_rate_pct') | pct }}

**Database Pool Usage**:
- Peak usage: {{ o.peak_pct | pct }}
- Average usage: {{ pick(m.db_pool, ['avg_pct_of_app_pool', 'avg_pct', 'average_pct']) | pct }}

**Redis Reconnects**: {{ pick(m.redis, ['reconnects', 'reconnect_attempts', 'redis_reconnects']) | n }}

**Request ID Traceability**: {{ pair(trace.passed) }}{{ '' if trace.passed is not none else ' (' ~ not_measured ~ ')'
}} ({{ m.traceability.get('found') | n }} of {{ m.traceability.get('sampled') | n }} sampled request ids found)

{% if m.edge_errors %}
**Edge proxy**: {{ m.edge_errors | pairs }}

{% endif %}
{% if m.sessions %}
**Sessions**: {{ m.sessions | pairs }}

{% endif %}
{% set rd = view.readiness %}
**Readiness against what students saw** (the canary asked readiness in each of its {{ report.canary.summary.ticks | n
}} ticks): {% if not rd.measured %}{{ not_measured }} (no canary.jsonl)
{%- elif not rd.lies %}readiness never said ok while the canary failed on the server side
{%- else %}readiness said ok while students failed {{ rd.lies | length + rd.more }} times:{% endif +%}
{% for e in rd.lies %}
- {{ e.start | time }} to {{ e.end | time }} ({{ e.seconds | seconds }}, {{ e.ticks }} ticks): {{
((e.samples[0].step or '?') ~ ' failed, ' ~ (e.samples[0].error or e.samples[0].status) ~ ', request ' ~
e.samples[0].request_id) | md if e.samples else '' }}
{% endfor %}

**Prometheus**: {% if m.prometheus is none or m.prometheus.get('configured') is false %}not configured
{%- else %}{% for key, value in m.prometheus.items() %}{{ key }} {{ value }}{{ ', ' if not loop.last else '' }}
{%- else %}configured{% endfor %}{% endif +%}

{% if m.containers %}
**Containers**:

| container | CPU max | CPU avg | memory max | memory slope |
|---|---|---|---|---|
{% for name, c in m.containers.items() %}
| {{ name | md }} | {{ c.cpu_pct_max | pct }} | {{ c.cpu_pct_avg | pct }} | {{ c.mem_bytes_max | mib }} | {{
c.mem_slope_bytes_per_min | mib_per_min }} |
{% endfor %}

{% endif %}
{{ issues(o.issues) }}
{% endif %}

---

## Phase 7: Recovery Drill

### Full Backend Restart

{% set full = view.recovery.full %}
{% if full %}
Fault: {{ full.name | md }} ({{ (full.targets | join(', ') or 'no target recorded') | md }})

**Restart Time**: {{ (full.restart_s if full.restart_s is not none else full.outage_s) | seconds }} (from the first
stop to the last service started)

**Recovery Time**: {{ (full.canary.recovery_s if full.canary else none) | seconds }} (students: from the end of the
restart to the canary's first complete success); students interrupted {{
(full.canary.outage_s if full.canary else none) | seconds }}; the platform said ready after {{
full.recovery_seconds | seconds }}

{% else %}
**Restart Time**: {{ not_measured }} (no restart among the faults)

**Recovery Time**: {{ not_measured }}

{% endif %}
**Services Restored**:
{{ item('Health and ready endpoints', full.recovered if full else none,
        (full.recovery_detail or '') | md if full else 'no restart measured') }}
{{ item('Students served again (canary)', (full.canary.recovery_s is not none) if full and full.canary else none,
        'the canary student answered again' if full and full.canary else 'no canary tick after the restart') }}
{{ item('Session creation', view.ux_ok.sessions, view.ux_note) }}
{{ item('Answer submission', view.ux_ok.answer, view.ux_note) }}
{{ item('Session submit', view.ux_ok.submit, view.ux_note) }}

**Data Consistency**: {{ pair(view.recovery.consistent, 'Verified', 'Issues found') }}{{
'' if view.recovery.consistent is not none else ' (' ~ not_measured ~ ')' }}

{% if report.faults %}
### Recovery per fault

| fault | undone | students interrupted | students back after its end | platform said ready after | within budget |
|---|---|---|---|---|---|
{% for f in report.faults %}
| {{ f.name | md }} | {{ f.restored | yes_no }} | {{ (f.canary.outage_s if f.canary else none) | seconds }} (at most {{
f.max_outage_s | g }} s) | {{ (f.canary.recovery_s if f.canary else none) | seconds }} | {{ f.recovery_seconds | seconds
}} | {{ f.within_budget | yes_no }} (budget {{ th.recovery_seconds | g }} s) |
{% endfor %}

{% endif %}
{{ issues([] if view.gates.recovery.passed is true else [view.gates.recovery.detail]) }}

---

## Risk Register

### Observed Weak Points

{% if not report.risks %}
No weak point observed in this rehearsal's evidence.

{% endif %}
{% for r in report.risks %}
{{ loop.index }}. **Risk**: {{ r.risk | md }}
   - **Impact**: {{ r.impact }}
   - **Likelihood**: {{ r.likelihood }}
   - **Mitigation**: {{ r.mitigation | md }}

{% endfor %}
### Mitigation Plan

{% for r in report.risks %}
{{ loop.index }}. {{ r.mitigation | md }}
{% else %}
Nothing to mitigate.
{% endfor %}

### Compared with the previous rehearsal

{% set cmp = report.comparison %}
{% if not cmp.rows %}
{{ (cmp.note or 'not compared') | md }}

{% else %}
Previous: `{{ cmp.previous_dir }}` ({{ cmp.previous_date | md }}, {{ cmp.previous_verdict | md }}); a figure worse by
more than {{ cmp.regression_pct | g }} % is a regression.

| figure | previous | now | change | regression |
|---|---|---|---|---|
{% for r in cmp.rows %}
| {{ r.title }} | {{ r.previous | value(r.unit) }} | {{ r.current | value(r.unit) }} | {{
(('+' if r.delta > 0 else '') ~ r.delta | g ~ ' ' ~ r.unit) if r.delta is not none else not_measured }}{{
(' (' ~ ('+' if r.delta_pct > 0 else '') ~ r.delta_pct | g ~ ' %)') if r.delta_pct is not none else '' }} | {{
'REGRESSION' if r.regression else ('no' if r.regression is false else not_measured) }} |
{% endfor %}

{% endif %}
---

## GO/NO-GO Decision

### Hard Gates

{% for g in report.gates %}
- {{ box(g.passed) }} **{{ g.name }}** ({{ g.rule | md }}): {{ g | result }}, {{ g.detail | md }}
{% endfor %}

| gate | result | value | threshold | evidence |
|---|---|---|---|---|
{% for g in report.gates %}
| {{ g.name }} | {{ g | result }} | {{ g.value | value(g.unit) | md }} | {{ g.threshold | value(g.unit) | md }} | {{
g.evidence | join(', ') | md }} |
{% endfor %}

### Blockers

{% for g in report.gates if g.passed is not true %}
- {{ g.name }}: {{ g.detail | md }}
{% else %}
None.
{% endfor %}

### Decision

{% set go = report.verdict == 'GO' %}
**Status**: {{ box(go) }} GO  {{ box(not go) }} NO-GO

**Rationale**: {{ view.assessment | md }} Thresholds: {% for key, value in th.items() if value is number %}{{ key }} {{
value | g }}{{ ', ' if not loop.last else '' }}{% endfor %}.

**Conditions**: {{ 'none beyond the rehearsed configuration: exam day must run the same versions, limits and inventory.'
                   if go else 'fix every blocker and rehearse again; GO needs every hard gate passed on new evidence.' }}

---

## Sign-Off

**Conducted By**: {{ (report.conducted_by or '_________________') | md }}  **Date**: {{ report.date }}

**Reviewed By**: _________________  **Date**: _______________

**Approved By**: _________________  **Date**: _______________

---

## Appendices

Paths relative to `{{ report.evidence_dir }}`.

### A) Load Test Scripts

{% set appendix = view.appendix %}
{{ 'k6 outputs: ' ~ appendix.load_files | map('code') | join(', ') if appendix.load_files
   else not_measured ~ ' (no load/ evidence)' }}

### B) Failure Injection Logs

{{ '`faults.json`' if report.files_present['faults.json'] else not_measured ~ ' (no faults.json)' }}

### C) Data Integrity SQL Results

{{ '`integrity.json`' if report.files_present['integrity.json'] else not_measured ~ ' (no integrity.json)' }}

### D) Observability Metrics

{{ appendix.metrics_files | map('code') | join(', ') if appendix.metrics_files
   else not_measured ~ ' (no metrics/ evidence)' }}

### E) System Logs

{{ appendix.log_files | map('code') | join(', ') or not_measured ~ ' (no log capture in metrics/)' }}{{
'; freeze record `' ~ report.files_present.freeze ~ '`' if report.files_present.freeze else '' }}
'''
RECORD_TEMPLATE = r'''{#- The built-in template of the exam-day records (verify_recovery, emergency_restart): the verdict
    and what failed first, then the evidence an on-call engineer reads after an incident. -#}
{% macro box(v) %}{{ '[x]' if v is true else '[ ]' }}{% endmacro %}
# {{ report.title }}

**Verdict**: **{{ report.verdict }}**{% if report.failed_gates %}: {{ report.failed_gates | join(', ') }}{% endif %}


**Date**: {{ report.date }}
**Environment**: {{ report.environment }}
**API URL**: {{ report.api_url }}
**Run**: {{ (report.run.playbook or 'not recorded') | md }} on {{ (report.run.host or 'not recorded') | md
}}, window {{ report.run.started_at or not_measured }} to {{ report.run.finished_at or not_measured }}
**Evidence**: `{{ report.evidence_dir }}`

## What failed

{% for g in report.gates if g.passed is not true %}
- **{{ g.name }}**: {{ g.detail | md }}
{% endfor %}
{% for p in report.problems %}
- **{{ p.phase }}** did not run to its end: {{ p.error | md }}
{% endfor %}
{% if report.verdict == 'GO' and not report.problems %}
Nothing: every gate passed.
{% endif %}

## Gates

| gate | result | value | rule | detail |
|---|---|---|---|---|
{% for g in report.gates %}
| {{ g.name }} | {{ g | result }} | {{ g.value | value(g.unit) | md }} | {{ g.rule | md }} | {{ g.detail | md }} |
{% endfor %}

{% if report.faults %}
## The restart

{% for f in report.faults %}
- **{{ f.name | md }}**: from {{ f.injected_at or not_measured }} to {{ f.ended_at or not_measured }}{% if f.error %}, failed: {{ f.error | md }}{% endif %}

{% for s in f.services %}
  - {{ s.service }}: restarted in {{ s.restart_s | seconds }}, healthy after {{ s.healthy_after_s | seconds }}
{% endfor %}
{% endfor %}
{% set recovery = view.gates.recovery %}
- **What students saw** (the canary): {{ recovery.detail | md }}

{% endif %}
## Session continuity (one student)

{% if report.ux %}
| check | result | detail |
|---|---|---|
{% for name, c in report.ux.checks.items() %}
| {{ name }} | {{ 'PASS' if c.passed is true else ('FAIL' if c.passed is false else 'not measured') }} | {{ c.detail | md }} |
{% endfor %}
{% else %}
{{ not_measured }} (no ux.json)
{% endif %}

## Data integrity

{% if report.integrity and report.integrity.checks %}
| check | result | count |
|---|---|---|
{% for c in report.integrity.checks %}
| {{ c.name | md }} | {{ 'PASS' if c.passed is true else ('FAIL' if c.passed is false else 'not measured') }} | {{ c.count | n }} |
{% endfor %}
{% else %}
{{ not_measured }} (no integrity.json)
{% endif %}

## The logs since the incident

{% set m = report.metrics %}
{% if m %}
- Requests logged by the backends: {{ m.http_status.total | n }}, 5xx {{ m.http_status['5xx'] | n }} ({{ m.http_status.error_rate_pct | pct }})
- Error records of the backends: {% for k, v in m.backend_error_events.items() %}{{ k | md }} {{ v }}{{ ', ' if not loop.last }}{% else %}none{% endfor %}

- The edge: {{ m.edge_errors.requests | n }} requests, 5xx {{ m.edge_errors['5xx'] | n }}, upstream errors {{
m.edge_errors.upstream_errors | n }}, error lines {{ m.edge_errors.error_lines | n }}
{% for x in m.edge_error_samples %}
  - `{{ x.ts }}` {{ x.kind }}: `{{ x.line | md }}`
{% endfor %}
- Request ids traceable: {{ view.gates.audit_logs.detail | md }}
- DB pool: {{ view.gates.db_pool.detail | md }}
{% else %}
{{ not_measured }} (no metrics/metrics.json)
{% endif %}

## Next steps

{% for g in report.gates if g.passed is not true %}
- {{ g.name }}: {{ view.mitigations[g.id] | md }}
{% else %}
- Keep watching (playbooks/watch.yml) and note the incident in the day's lessons learned.
{% endfor %}
'''
LESSONS_TEMPLATE = r'''{#- The post-exam lessons-learned record (seed 002's template), pre-filled from the day's records;
    what only people know is left as marked blanks. -#}
# Lessons Learned: {{ m.date }}{% if m.host %} ({{ m.host | md }}){% endif %}


- **Date**: {{ m.date }}
- **Issues Encountered**:
{% for issue in m.issues %}
  - {{ issue | md }}
{% else %}
  - None recorded by the day's records.
{% endfor %}
- **Resolution**:
{% for r in m.resolutions %}
  - {{ r | md }}
{% else %}
  - Nothing needed resolving.
{% endfor %}
  - {{ to_fill }}
- **Prevention**:
{% for gid in m.failed_gates %}
  - {{ gid }}: {{ mitigations[gid] | default('') | md }}
{% endfor %}
{% for section in m.runbook_sections %}
  - {{ section | md }}: see the runbook's Common Issues steps the alert named.
{% endfor %}
  - {{ to_fill }}
- **Runbook Updates**:
{% for section in m.runbook_sections %}
  - Did "{{ section | md }}" in Common Issues match what was done?
{% endfor %}
  - {{ to_fill }}

## The day's records

| time (UTC) | record | host | outcome |
|---|---|---|---|
{% for e in m.entries %}
| {{ e.at }} | {{ e.what }} | {{ e.host | md }} | {{ e.outcome | md }} |
{% else %}
| | no record of this day in {{ m.reports_dir | md }} | | |
{% endfor %}

{% if m.alerts %}
## The live watch's alerts

| raised | cleared | alert | worst | runbook |
|---|---|---|---|---|
{% for a in m.alerts %}
| {{ a.raised_at }} | {{ a.cleared_at or 'still active' }} | {{ a.name | md }} | {{ a.worst | md }} {{ a.unit }} | {{ a.runbook | md }} |
{% endfor %}
{% endif %}
'''
