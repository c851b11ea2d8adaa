#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: lessons_learned
short_description: The post-exam lessons-learned record, pre-filled from the day's records
version_added: 0.3.0
description:
  - Writes seed 002's Lessons Learned template (date, issues encountered, resolution, prevention, runbook updates) as
    Markdown, pre-filled from the records of I(date) in I(reports_dir) - preflight, freeze and unfreeze verdicts, the
    live watch's alerts (raised, cleared, the worst value, the runbook section), emergency restarts (each step, the
    students' outage, the verdict), recovery verifications and the post-exam report.
  - What only the team knows (why it happened, what it decides) is left as marked blanks; nothing is invented. A record
    that cannot be read is listed as such.
  - Never replaces an existing record (the team may have filled it in) unless I(force) is set.
  - Runs where the records are, normally the controller (C(delegate_to=localhost)).
author: examday.ops developers (@examday)
options:
  reports_dir:
    description: The directory the day's records were written to (the playbooks' C(reports/)).
    type: path
    required: true
  date:
    description: The exam day, C(YYYY-MM-DD) (UTC, as the records are named); default today.
    type: str
  host:
    description: Only this inventory host's records (default every host's).
    type: str
  dest:
    description: The record's path (default C(lessons-learned-<date>.md) in I(reports_dir), C(lessons-learned-<date>-<host>.md) with I(host)).
    type: path
  force:
    description: Replace an existing record.
    type: bool
    default: false
attributes:
  check_mode:
    description: Reads the records and says what the record would hold; writes nothing.
    support: full
  diff_mode:
    description: Nothing is edited, so there is nothing to diff.
    support: none
seealso:
  - module: examday.ops.watch
    description: The live watch whose alerts the record lists.
  - module: examday.ops.report
    description: The reports and records whose verdicts it lists.
"""

EXAMPLES = r"""
- name: The lessons-learned record of today's exam, for the team to complete
  examday.ops.lessons_learned:
    reports_dir: "{{ lookup('ansible.builtin.env', 'PWD') }}/reports"
  delegate_to: localhost

- name: The record of a given day for one host, replacing a draft
  examday.ops.lessons_learned:
    reports_dir: /srv/examday/reports
    date: "2026-06-01"
    host: exam-prod-1
    force: true
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: The record's path.
  returned: always
  type: str
  sample: /home/ops/reports/lessons-learned-2026-06-01.md
records:
  description: The day's records it read, in time order.
  returned: always
  type: list
  elements: dict
  contains:
    at: {description: The record's time (UTC)., type: str, sample: "09:42:10"}
    what: {description: Which record., type: str, sample: emergency restart}
    host: {description: The inventory host., type: str, sample: exam-prod-1}
    outcome: {description: Its verdict or summary in a few words., type: str, sample: GO}
  sample: [{"at": "09:42:10", "what": "emergency restart", "host": "exam-prod-1", "outcome": "GO"}]
issues:
  description: The issues it pre-filled (failed checks and gates, phases that failed, watch alerts).
  returned: always
  type: list
  elements: str
  sample: ["09:31:15.02Z live watch alert: Redis unreachable, no (cannot read Redis INFO from 10.0.0.5:6379)"]
resolutions:
  description: What the records say was resolved, and how.
  returned: always
  type: list
  elements: str
  sample: ["Redis unreachable: cleared at 2026-06-01T09:33:45.01Z (worst no)."]
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.examday.ops.plugins.module_utils import _lessons
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._evidence import names


def main() -> None:
    module = AnsibleModule(argument_spec={
        "reports_dir": {"type": "path", "required": True},
        "date": {"type": "str"},
        "host": {"type": "str"},
        "dest": {"type": "path"},
        "force": {"type": "bool", "default": False},
    }, supports_check_mode=True)
    p = module.params
    date = p["date"] or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    dest = p["dest"] or os.path.join(p["reports_dir"], names.LESSONS.format(date=date, host=f"-{p['host']}" if p["host"] else ""))
    try:
        model = _lessons.day_model(p["reports_dir"], date, p["host"])
        _lessons.write(model, dest, p["force"], module.check_mode)
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    records = [{k: e.get(k) for k in ("at", "what", "host", "outcome")} for e in model["entries"]]
    module.exit_json(changed=True, path=dest, records=json_safe(records), issues=model["issues"],
                     resolutions=model["resolutions"])


if __name__ == "__main__":
    main()
