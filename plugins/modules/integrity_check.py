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
  description: True when every check passed and, with I(acks), the reconciliation passed.
  returned: always
  type: bool
failed_checks:
  description: Names of the checks that did not pass.
  returned: always
  type: list
  elements: str
checks:
  description:
    - One entry per check with C(name), C(description), C(count) (failing rows), C(expected) (the maximum),
      C(passed), C(samples) (up to I(sample_rows) failing rows as dicts) and C(duration_s).
  returned: always
  type: list
  elements: dict
statistics:
  description:
    - Summary statistics in the same snapshot - C(sessions), C(submitted_sessions), C(active_sessions),
      C(expired_sessions), C(answers), C(events), C(submitted_events), C(sessions_with_submit_event).
  returned: when statistics
  type: dict
reconciliation:
  description:
    - C(acknowledged) and C(unknown_writes) (records per kind), C(ignored_lines), C(distinct), C(stored) and
      C(matched) counts per kind; C(lost), C(mismatched), C(stale_overwrites), C(superseded), C(duplicates) and
      C(unexpected), each with C(count) and C(samples); C(unknown_outcome); C(not_reconciled) kinds;
      C(trace_request_ids) (requests to look up in the logs); C(passed).
  returned: when acks
  type: dict
snapshot:
  description: The transaction the checks ran in - C(isolation), C(read_only), C(taken_at), C(application_name),
    C(server_version), C(statement_timeout_s).
  returned: always
  type: dict
window:
  description: C(since) and C(until) as applied (UTC, null when open).
  returned: always
  type: dict
dest:
  description: The file the result was written to.
  returned: when dest was written
  type: str
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
