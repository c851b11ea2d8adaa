#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: integrity_check
short_description: Data-integrity checks and reconciliation of acknowledged writes, in one read-only snapshot
version_added: 0.1.0
description:
  - Runs named integrity checks against the platform's PostgreSQL database. A check is data - a
    name, a description, SQL that selects the failing rows (one row per violation) and the expected
    maximum number of such rows. SQL may name the platform profile's schema (C({sessions}) is the
    sessions table, C({sessions.id}) its id column, I(platform.schema)), so the default set runs on
    any schema the profile names. The default set covers orphaned answers,
    duplicate submits, missing answers, unscored sessions, answers to questions that are not the
    session's own, orphaned events, inconsistent status and duplicate mastery rows - plus summary
    statistics. Partially answered submissions are legitimate and never counted.
  - Every statement is validated before anything runs; only a single SELECT, WITH ... SELECT,
    VALUES or TABLE statement is accepted, without data-modifying parts, SELECT ... INTO, row locks
    or calls of functions that act on the server (for example C(pg_terminate_backend), C(setval),
    C(pg_advisory_lock), C(dblink), C(lo_import)). All checks then run in one REPEATABLE READ,
    READ ONLY transaction (one consistent snapshot) with a statement timeout and the
    application_name C(examday.integrity_check); the READ ONLY transaction is the second line of
    defence. Values reach the server only as driver parameters.
  - With I(acks), reconciles the writes the load recorded (C(acks.jsonl) files of the load module,
    every scenario and generator) with what is stored, in the same snapshot, reading keys in batches.
    Each ack kind is reconciled by a query of the profile (I(platform.reconcile)); ids are compared as
    text, whatever their type. A stored value that differs from the last acknowledged one is
    explained where the recorded writes explain it (a stale write the client gave up on, applied
    after the newer one, is named with both requests).
  - A check or reconciliation kind that needs a table or column the profile leaves empty is
    reported as not measured (C(passed=null)) with the reason.
  - A failing check is reported with C(passed=false); the module itself fails only on bad input,
    a check that cannot run, a connection error, or with I(fail_on_violation).
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.db
  - examday.ops.platform
options:
  checks:
    description:
      - Checks to add, or to override by name (only the keys given override a default check).
      - The SQL selects the failing rows. Named parameters are written like %(cohort)s (psycopg's style)
        and come from I(params), I(since) and I(until); a literal percent sign is written %%.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The check's name; a default check of the same name is overridden.
        type: str
        required: true
      sql:
        description: One read-only statement selecting the failing rows (needed for a new check).
        type: str
      max:
        description: Expected maximum number of failing rows (default 0).
        type: int
      description:
        description: What a failing row means.
        type: str
      enabled:
        description: Set to C(false) to leave the check out.
        type: bool
  default_checks:
    description: Start from the default set for the platform's schema.
    type: bool
    default: true
  since:
    description:
      - Only sessions created at or after this UTC ISO 8601 timestamp (for example C(2026-11-21T21:00:00Z)).
        Events without a session are windowed by their own time. Orphaned answers are always searched everywhere.
      - Available to every check as the parameter since (NULL when not set).
    type: str
  until:
    description: Only sessions created before this UTC ISO 8601 timestamp; available to every check as the parameter until.
    type: str
  params:
    description: Further named values for the checks' SQL (for example a cohort tag), passed as driver parameters.
    type: dict
    default: {}
  sample_rows:
    description: Failing rows returned per check (and samples per reconciliation finding).
    type: int
    default: 5
  statement_timeout:
    description: Seconds each statement may take (also the lock timeout).
    type: int
    default: 300
  statistics:
    description: Also return the summary statistics.
    type: bool
    default: true
  acks:
    description: Paths of C(acks.jsonl) files on the target whose acknowledged writes must all be stored.
    type: list
    elements: path
    default: []
  batch_size:
    description: Ids per array parameter when reconciling.
    type: int
    default: 5000
  stale_overwrite_fails:
    description:
      - Whether a stale overwrite (a write the client gave up on, applied after a newer acknowledged one) fails
        the reconciliation (the student's last acknowledged answer is not what is stored).
    type: bool
    default: true
  fail_on_violation:
    description: Fail the task when a check or the reconciliation does not pass.
    type: bool
    default: false
  dest:
    description:
      - Also write the result as JSON to this file on the target (mode 0600), for example the evidence
        directory's C(integrity.json). Not written in check mode. Writing it is not a change.
    type: path
requirements:
  - psycopg 3 on the target
  - docker CLI on the target when the database is found through I(db.container)
attributes:
  check_mode:
    description: Read-only, so it runs in check mode too (the I(dest) file is not written).
    support: full
  diff_mode:
    description: Nothing changes, nothing to diff.
    support: none
seealso:
  - module: examday.ops.load
    description: Run a k6 load scenario and keep its evidence (the acknowledged writes among it).
  - module: examday.ops.report
    description: The GO/NO-GO report from the evidence directory.
  - module: examday.ops.metrics_capture
    description: Sample during the load and capture the metrics after it.
  - module: examday.ops.platform_profile
    description: Validate the platform profile (the platform option) and show it with its defaults.
"""

EXAMPLES = r"""
- name: Integrity of the rehearsal's data, with the acknowledged writes of the load
  examday.ops.integrity_check:
    db: "{{ examday_db }}"
    platform: "{{ examday_platform }}"
    since: "{{ rehearsal_started_at }}"
    acks:
      - "{{ evidence_dir }}/load/answers/acks.jsonl"
      - "{{ evidence_dir }}/load/submit/acks.jsonl"
    dest: "{{ evidence_dir }}/integrity.json"
  register: integrity

- name: Default checks plus one of our own, one default switched off, one tolerated
  examday.ops.integrity_check:
    db: {container: exam_platform_postgres, network: exam_platform_default, password: "{{ db_password }}"}
    params: {cohort: rehearsal-2026-11}
    checks:
      - name: cohort_sessions_without_answers
        description: Submitted sessions of the rehearsal cohort with no answer at all.
        sql: >-
          SELECT s.{sessions.id} FROM {sessions} s JOIN users u ON u.id = s.{sessions.user_id}
          WHERE u.cohort = %(cohort)s AND s.{sessions.status} = %(status_submitted)s
          AND NOT EXISTS (SELECT 1 FROM {answers} a WHERE a.{answers.session_id} = s.{sessions.id})
      - name: duplicate_mastery_updates
        enabled: false
      - name: orphaned_events
        max: 3
    fail_on_violation: true
"""

RETURN = r"""
passed:
  description: True when every check passed (a check not measured does not count) and, with I(acks), the reconciliation passed.
  returned: always
  type: bool
  sample: false
failed_checks:
  description: Names of the checks that failed (C(passed=false)).
  returned: always
  type: list
  elements: str
  sample: [duplicate_submits]
checks:
  description: One entry per check, in order; checks the profile cannot measure come last.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The check's name.
      type: str
      sample: duplicate_submits
    description:
      description: What a failing row means.
      type: str
      sample: Sessions with more than one submit event (a double submit that was not idempotent).
    count:
      description: Failing rows; null when not measured.
      type: int
      sample: 20
    expected:
      description: The most failing rows allowed (I(checks[].max), default 0).
      type: int
      sample: 0
    passed:
      description: Whether I(count) is at most I(expected); null when not measured.
      type: bool
      sample: false
    samples:
      description: Up to I(sample_rows) failing rows, each a dict of the check's own columns.
      type: list
      elements: dict
      sample: [{session_id: c8529cce-b153-4530-b211-86748a56e419, submitted_events: 2}]
      contains:
        <column>:
          description: A column the check's SQL selects, by its name.
          type: raw
    duration_s:
      description: Seconds the check's statement took (measured checks only).
      type: float
      sample: 0.001
    note:
      description: Checks not measured only. Why (C(not measured - examday_platform.<key> is empty ...)).
      type: str
  sample:
    - {name: duplicate_submits, description: Sessions with more than one submit event (a double submit that was not idempotent).,
       count: 20, expected: 0, passed: false, duration_s: 0.001,
       samples: [{session_id: c8529cce-b153-4530-b211-86748a56e419, submitted_events: 2},
                 {session_id: ed34c2d4-a804-4389-89f5-300c2808583c, submitted_events: 2}]}
statistics:
  description: Summary statistics in the same snapshot and window; only C(note) when the profile's schema cannot give them.
  returned: when I(statistics)
  type: dict
  contains:
    sessions:
      description: Sessions created in the window.
      type: int
    submitted_sessions:
      description: Of those, sessions with the submitted status.
      type: int
    active_sessions:
      description: Of those, sessions with the active status.
      type: int
    expired_sessions:
      description: Of those, sessions with the expired status.
      type: int
    answers:
      description: Answers of those sessions (all answers when the window is open).
      type: int
    events:
      description: Events of those sessions (events without a session, by their own time).
      type: int
    submitted_events:
      description: Of those events, submit events (I(platform.schema.submitted_event)).
      type: int
    sessions_with_submit_event:
      description: Sessions with at least one submit event.
      type: int
    note:
      description: Why the statistics were not measured (instead of all the above).
      type: str
  sample: {sessions: 60, submitted_sessions: 39, active_sessions: 21, expired_sessions: 0, answers: 217, events: 493,
           submitted_events: 59, sessions_with_submit_event: 39}
reconciliation:
  description:
    - The acknowledged writes of I(acks) against what is stored. Counts by kind are keyed by the write's kind (C(session),
      C(answer), C(submit) and the profile's own kinds); each finding list holds at most I(sample_rows) samples.
  returned: when I(acks)
  type: dict
  contains:
    acknowledged:
      description: Acknowledged write records, by kind.
      type: dict
      contains:
        <kind>:
          description: Records of the kind.
          type: int
    unknown_writes:
      description: Write records whose outcome the client did not know (time-outs, connection errors, 5xx), by kind.
      type: dict
      contains:
        <kind>:
          description: Records of the kind.
          type: int
    ignored_lines:
      description: Lines of the I(acks) files that were not write records.
      type: int
    distinct:
      description: Distinct keys acknowledged at least once, by kind.
      type: dict
      contains:
        <kind>:
          description: Keys of the kind.
          type: int
    stored:
      description: Of those keys, the ones found stored, by kind.
      type: dict
      contains:
        <kind>:
          description: Keys of the kind.
          type: int
    matched:
      description: Of those keys, the ones stored as last acknowledged, by kind.
      type: dict
      contains:
        <kind>:
          description: Keys of the kind.
          type: int
    lost:
      description: Acknowledged writes not stored, or not in the state the kind requires.
      type: dict
      contains:
        count:
          description: How many.
          type: int
        samples:
          description: Some of them.
          type: list
          elements: dict
          contains:
            kind:
              description: The write's kind (C(session), C(answer), C(submit), or a kind of I(platform.reconcile)).
              type: str
            session_id:
              description: The session (a key field of the default kinds; a kind of the profile names its own key fields).
              type: str
            question_id:
              description: The question (key field of C(answer)).
              type: str
            detail:
              description: C(not stored), or what the stored row lacks.
              type: str
            write:
              description: The last acknowledged write.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
    mismatched:
      description: Stored values that are not the last acknowledged one, and that no write of unknown outcome explains.
      type: dict
      contains:
        count:
          description: How many.
          type: int
        samples:
          description: Some of them.
          type: list
          elements: dict
          contains:
            kind:
              description: The write's kind (C(session), C(answer), C(submit), or a kind of I(platform.reconcile)).
              type: str
            session_id:
              description: The session (a key field of the default kinds; a kind of the profile names its own key fields).
              type: str
            question_id:
              description: The question (key field of C(answer)).
              type: str
            field:
              description: The compared field (for C(answer), C(selected_index); for C(submit), C(score_correct)).
              type: str
            acknowledged:
              description: The value of the last acknowledged write.
              type: raw
            stored:
              description: The value stored.
              type: raw
            explanation:
              description: C(older_acknowledged), C(stale_overwrite), C(superseded) or C(unexplained).
              type: str
            acknowledged_write:
              description: The last acknowledged write.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
            older_write:
              description: C(older_acknowledged). The earlier acknowledged write whose value came back.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
            stale_write:
              description: C(stale_overwrite). The earlier write the client gave up on, applied after the acknowledged one.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
            by:
              description: C(superseded). The later write of unknown outcome whose value is stored.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
    stale_overwrites:
      description: Stored values of an earlier write the client gave up on, applied after a newer acknowledged one.
      type: dict
      contains:
        count:
          description: How many.
          type: int
        fails:
          description: Whether they fail the reconciliation (I(stale_overwrite_fails)).
          type: bool
        samples:
          description: Some of them.
          type: list
          elements: dict
          contains:
            kind:
              description: The write's kind (C(session), C(answer), C(submit), or a kind of I(platform.reconcile)).
              type: str
            session_id:
              description: The session (a key field of the default kinds; a kind of the profile names its own key fields).
              type: str
            question_id:
              description: The question (key field of C(answer)).
              type: str
            field:
              description: The compared field (for C(answer), C(selected_index); for C(submit), C(score_correct)).
              type: str
            acknowledged:
              description: The value of the last acknowledged write.
              type: raw
            stored:
              description: The value stored.
              type: raw
            explanation:
              description: C(older_acknowledged), C(stale_overwrite), C(superseded) or C(unexplained).
              type: str
            acknowledged_write:
              description: The last acknowledged write.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
            older_write:
              description: C(older_acknowledged). The earlier acknowledged write whose value came back.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
            stale_write:
              description: C(stale_overwrite). The earlier write the client gave up on, applied after the acknowledged one.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
            by:
              description: C(superseded). The later write of unknown outcome whose value is stored.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
    superseded:
      description: Stored values of a later write of unknown outcome (the student's last action; they do not fail it).
      type: dict
      contains:
        count:
          description: How many.
          type: int
        samples:
          description: Some of them.
          type: list
          elements: dict
          contains:
            kind:
              description: The write's kind (C(session), C(answer), C(submit), or a kind of I(platform.reconcile)).
              type: str
            session_id:
              description: The session (a key field of the default kinds; a kind of the profile names its own key fields).
              type: str
            question_id:
              description: The question (key field of C(answer)).
              type: str
            field:
              description: The compared field (for C(answer), C(selected_index); for C(submit), C(score_correct)).
              type: str
            acknowledged:
              description: The value of the last acknowledged write.
              type: raw
            stored:
              description: The value stored.
              type: raw
            explanation:
              description: C(older_acknowledged), C(stale_overwrite), C(superseded) or C(unexplained).
              type: str
            acknowledged_write:
              description: The last acknowledged write.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
            older_write:
              description: C(older_acknowledged). The earlier acknowledged write whose value came back.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
            stale_write:
              description: C(stale_overwrite). The earlier write the client gave up on, applied after the acknowledged one.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
            by:
              description: C(superseded). The later write of unknown outcome whose value is stored.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
    duplicates:
      description: Stored rows above the kind's maximum (for C(submit), more than one submit event for a session).
      type: dict
      contains:
        count:
          description: How many.
          type: int
        sessions:
          description: Distinct sessions among them.
          type: int
        samples:
          description: Some of them.
          type: list
          elements: dict
          contains:
            kind:
              description: The write's kind (C(session), C(answer), C(submit), or a kind of I(platform.reconcile)).
              type: str
            session_id:
              description: The session (a key field of the default kinds; a kind of the profile names its own key fields).
              type: str
            question_id:
              description: The question (key field of C(answer)).
              type: str
            submitted_events:
              description: C(submit). The submit events stored (a kind's other maximum fields appear by their names).
              type: int
            write:
              description: The last acknowledged write.
              type: dict
              contains:
                request_id:
                  description: The request id the load sent with the write (look it up in the logs).
                  type: str
                sent_at:
                  description: UTC time the write was sent.
                  type: str
                ts:
                  description: UTC time its answer came (or the client gave up).
                  type: str
                status:
                  description: HTTP status of its answer (0 when none came).
                  type: int
                source:
                  description: The C(acks.jsonl) file and line it was recorded on.
                  type: str
                error:
                  description: Why the client does not know its outcome (only when it does not).
                  type: str
                platform_request_id:
                  description: The request id the platform answered with, when it differs from the load's (only when recorded).
                  type: str
    unknown_outcome:
      description: Writes of unknown outcome, and how many of their keys are stored.
      type: dict
      contains:
        count:
          description: Writes of unknown outcome.
          type: int
        stored:
          description: Of those, writes whose key is stored.
          type: int
        not_stored:
          description: Of those, writes whose key is not stored.
          type: int
    unexpected:
      description: Sessions of the load's students, created in the window, that no write acknowledged (they do not fail it).
      type: dict
      contains:
        count:
          description: How many.
          type: int
        samples:
          description: Some of them.
          type: list
          elements: dict
          contains:
            session_id:
              description: The session.
              type: str
            user_id:
              description: Its student.
              type: str
            status:
              description: Its status.
              type: str
            created_at:
              description: When it was created.
              type: str
        window:
          description: The window searched (UTC), I(since) and I(until) or the records' own time span widened by 60 s; null when unknown.
          type: list
          elements: str
    not_reconciled:
      description: Kinds not reconciled because the profile's schema lacks what their query needs, with the reason.
      type: dict
      contains:
        <kind>:
          description: Why (C(not reconciled - examday_platform.<key> is empty)).
          type: str
    trace_request_ids:
      description: Request ids of the sampled mismatches and stale overwrites, to look up in the logs (metrics_capture I(trace_request_ids)).
      type: list
      elements: str
    passed:
      description: True without lost, mismatched or duplicate writes, and without stale overwrites when they fail it.
      type: bool
  sample:
    acknowledged: {answer: 321, session: 59, submit: 39}
    unknown_writes: {answer: 0, session: 0, submit: 0}
    ignored_lines: 0
    distinct: {answer: 297, session: 59, submit: 39}
    stored: {answer: 207, session: 59, submit: 39}
    matched: {answer: 200, session: 59, submit: 19}
    lost:
      count: 90
      samples:
        - {kind: answer, session_id: 20d0c630-2731-4fe4-a975-f472fbda9531, question_id: "471", detail: not stored,
           write: {request_id: 2a33a8c030374c1ec050885558d756a7, sent_at: "2026-11-30T17:49:31.538Z", ts: "2026-11-30T17:49:31.539Z",
                   status: 200, source: /work/wt-run/reports/rehearsal-lab-20261130_174823/load/answers/acks.jsonl line 134}}
    mismatched:
      count: 7
      samples:
        - kind: answer
          session_id: 301837d9-fa05-410d-85c9-0cc2867a7554
          question_id: "2001"
          field: selected_index
          acknowledged: 2
          stored: 3
          explanation: older_acknowledged
          acknowledged_write: {request_id: 0784c14a41e8c926467035810c68c027, sent_at: "2026-11-30T17:49:23.597Z",
                               ts: "2026-11-30T17:49:23.598Z", status: 200,
                               source: /work/wt-run/reports/rehearsal-lab-20261130_174823/load/answers/acks.jsonl line 46}
          older_write: {request_id: 72c12d89d0be5c63f0854a8e09562510, sent_at: "2026-11-30T17:49:22.178Z", ts: "2026-11-30T17:49:22.181Z",
                        status: 200, source: /work/wt-run/reports/rehearsal-lab-20261130_174823/load/answers/acks.jsonl line 33}
    stale_overwrites: {count: 0, fails: true, samples: []}
    superseded: {count: 0, samples: []}
    duplicates:
      count: 20
      sessions: 20
      samples:
        - {kind: submit, session_id: 1c2aa53b-be6e-4724-a38a-cfbb11324d59, submitted_events: 2,
           write: {request_id: ba7f78a6c30bab1175b3e361e2a75392, sent_at: "2026-11-30T17:49:53.295Z", ts: "2026-11-30T17:49:53.373Z",
                   status: 200, source: /work/wt-run/reports/rehearsal-lab-20261130_174823/load/submit/acks.jsonl line 5}}
    unknown_outcome: {count: 0, stored: 0, not_stored: 0}
    unexpected: {count: 0, samples: [], window: ["2026-11-30T17:48:23.000Z", "2026-11-30T17:51:10.844Z"]}
    not_reconciled: {}
    trace_request_ids: [0784c14a41e8c926467035810c68c027, 187317042352bd70984dc4e99a38cb86]
    passed: false
snapshot:
  description: The one transaction every check, the statistics and the reconciliation ran in, as the server reported it.
  returned: always
  type: dict
  contains:
    isolation:
      description: Its isolation level.
      type: str
      sample: repeatable read
    read_only:
      description: Whether it was read-only.
      type: bool
      sample: true
    taken_at:
      description: The server's time at its start (UTC).
      type: str
      sample: "2026-11-30T17:50:27.914Z"
    application_name:
      description: The application name it ran under.
      type: str
      sample: examday.integrity_check
    server_version:
      description: PostgreSQL's version.
      type: str
      sample: 15.18 (Debian 15.18-0+deb12u1)
    statement_timeout_s:
      description: The statement (and lock) timeout, in seconds (I(statement_timeout)).
      type: int
      sample: 300
  sample: {isolation: repeatable read, read_only: true, taken_at: "2026-11-30T17:50:27.914Z", application_name: examday.integrity_check,
           server_version: 15.18 (Debian 15.18-0+deb12u1), statement_timeout_s: 300}
window:
  description: The window applied.
  returned: always
  type: dict
  contains:
    since:
      description: I(since) as applied (UTC), null when open.
      type: str
    until:
      description: I(until) as applied (UTC), null when open.
      type: str
  sample: {since: "2026-11-30T17:48:23.000Z", until: null}
msg:
  description: The outcome in one sentence.
  returned: always
  type: str
  sample: 7 of 7 integrity checks passed; reconciliation failed (lost 90, mismatched 7, stale overwrites 0, duplicates 20).
dest:
  description: The file the result was written to (I(dest)).
  returned: when I(dest) was written (not in check mode)
  type: str
  sample: /work/wt-run/reports/rehearsal-lab-20261130_174823/integrity.json
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.examday.ops.plugins.module_utils import _db
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe, write_private
from ansible_collections.examday.ops.plugins.module_utils._integrity.manager import APPLICATION_NAME, IntegrityCheck
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec


def argument_spec() -> dict:
    spec = _db.db_argument_spec()
    spec.update(platform_argument_spec())
    spec.update(
        checks={"type": "list", "elements": "dict", "default": [], "options": {
            "name": {"type": "str", "required": True},
            "sql": {"type": "str"},
            "max": {"type": "int"},
            "description": {"type": "str"},
            "enabled": {"type": "bool"},
        }},
        default_checks={"type": "bool", "default": True},
        since={"type": "str"},
        until={"type": "str"},
        params={"type": "dict", "default": {}},
        sample_rows={"type": "int", "default": 5},
        statement_timeout={"type": "int", "default": 300},
        statistics={"type": "bool", "default": True},
        acks={"type": "list", "elements": "path", "default": []},
        batch_size={"type": "int", "default": 5000},
        stale_overwrite_fails={"type": "bool", "default": True},
        fail_on_violation={"type": "bool", "default": False},
        dest={"type": "path"},
    )
    return spec


def write_evidence(path: str, result: dict) -> None:
    """The result as JSON, mode 0600, replaced atomically."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OpsError(f"the directory of dest {path} does not exist.")
    write_private(path, (json.dumps(result, indent=2, sort_keys=True) + "\n").encode("utf-8"), f"dest {path}")


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    if not _db.HAS_PSYCOPG:
        module.fail_json(msg=missing_required_lib("psycopg"))

    def connect():
        return _db.connect(module.run_command, p["db"], APPLICATION_NAME)

    try:
        resolve(p["platform"])
        result = IntegrityCheck(p, connect).run()
        if p["dest"] and not module.check_mode:
            write_evidence(p["dest"], {k: v for k, v in result.items() if k not in ("changed", "msg")})
            result["dest"] = p["dest"]
    except OpsError as exc:
        module.fail_json(msg=exc.msg, **json_safe(exc.details))
    if p["fail_on_violation"] and not result["passed"]:
        module.fail_json(**dict(result, msg=f"integrity check did not pass: {result['msg']}"))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
