# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole report, as the module runs it: thresholds, evidence, load analysis, gates, the report
content, its four renderings, and the files written into the evidence directory (mode 0600, only
those that differ, none in check mode). Everything but `write_files` is a pure function of the
evidence files, the thresholds and the template."""
from __future__ import annotations

import json
import os

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, write_private
from ansible_collections.examday.ops.plugins.module_utils._report.compare import (
    AUTO, attach, compare, find_previous, read_report,
)
from ansible_collections.examday.ops.plugins.module_utils._report.analysis import analyse_load
from ansible_collections.examday.ops.plugins.module_utils._report.evidence import load_evidence
from ansible_collections.examday.ops.plugins.module_utils._report.gates import evaluate_gates, what_students_saw
from ansible_collections.examday.ops.plugins.module_utils._report.model import build_report, stats_series
from ansible_collections.examday.ops.plugins.module_utils._report.render_html import render_html
from ansible_collections.examday.ops.plugins.module_utils._report.render_junit import render_junit
from ansible_collections.examday.ops.plugins.module_utils._report.md_template import RECORD_TEMPLATE, TEMPLATE
from ansible_collections.examday.ops.plugins.module_utils._report.render_md import read_template, render_markdown
from ansible_collections.examday.ops.plugins.module_utils._report.thresholds import resolve_thresholds

# The built-in report.md templates (source, name in errors): the rehearsal's sections (post-exam too), or
# the exam-day record's (verify_recovery, emergency_restart: the verdict and what failed first).
LAYOUTS = {"rehearsal": (TEMPLATE, "report.md.j2 (built in)"), "record": (RECORD_TEMPLATE, "record.md.j2 (built in)")}

REPORT_MD, REPORT_JSON, REPORT_XML, REPORT_HTML = "report.md", "report.json", "report.xml", "report.html"


def write_files(directory: str, contents: dict[str, str], check_mode: bool) -> tuple[list[str], bool]:
    """Writes each file (mode 0600, atomically) whose content or mode differs; returns (paths, changed)."""
    changed, paths = False, []
    for name, text in contents.items():
        path = os.path.join(directory, name)
        data = text.encode("utf-8")
        try:
            with open(path, "rb") as fh:
                same = fh.read() == data and (os.stat(path).st_mode & 0o777) == 0o600
        except OSError:
            same = False
        changed = changed or not same
        if check_mode:
            continue
        if not same:
            write_private(path, data, path)
        paths.append(path)
    return paths, changed


def make_report(evidence_dir: str, thresholds: dict | None = None, meta: dict | None = None,
                gates: list[str] | None = None, require_reconciliation: bool = True,
                template: str | None = None, previous: str | None = None, layout: str = "rehearsal") -> dict:
    """Everything but writing: the report content and the four renderings. `template` is the path of
    a Jinja2 template for report.md (default: the built-in one of `layout`, rehearsal or record); `previous`
    the evidence directory of the rehearsal to compare with, or "auto" for the newest one of the same
    environment next to it."""
    if layout not in LAYOUTS:
        raise OpsError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}.")
    th = resolve_thresholds(thresholds)
    template_source = read_template(template) if template else None
    ev = load_evidence(evidence_dir)
    load = analyse_load(ev)
    seen = what_students_saw(ev, th)
    gates = evaluate_gates(ev, load, th, gates, require_reconciliation, seen)
    report = build_report(ev, load, gates, th, meta or {}, seen)
    _compare(report, evidence_dir, previous, th)
    if template:
        markdown = render_markdown(report, template_source, template)
    else:
        markdown = render_markdown(report, LAYOUTS[layout][0], LAYOUTS[layout][1])
    return {
        "report": report,
        "contents": {
            REPORT_MD: markdown,
            REPORT_JSON: json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
            REPORT_XML: render_junit(report),
            REPORT_HTML: render_html(report, stats_series(ev)),
        },
    }


def _compare(report: dict, evidence_dir: str, previous: str | None, th: dict) -> None:
    if not previous:
        attach(report, None, "not compared (no previous rehearsal given)")
        return
    if previous == AUTO:
        found = find_previous(evidence_dir, report.get("environment"), report["run"]["started_at"], report["run"]["host"],
                              report["run"].get("playbook"))
        if not found:
            attach(report, None, "not compared: no earlier rehearsal of this environment and host next to this one")
            return
        previous = found
    if os.path.realpath(previous) == os.path.realpath(evidence_dir):
        raise OpsError(f"previous {previous} is this rehearsal's own evidence directory; give an earlier one.")
    attach(report, compare(report, read_report(previous), previous, th["regression_pct"]))


def run(evidence_dir: str, thresholds: dict | None, meta: dict, check_mode: bool,
        gates: list[str] | None = None, require_reconciliation: bool = True, template: str | None = None,
        previous: str | None = None, layout: str = "rehearsal") -> dict:
    """The module's work: the verdict, the gates, and the files written (none in check mode)."""
    made = make_report(evidence_dir, thresholds, meta, gates, require_reconciliation, template, previous, layout)
    report = made["report"]
    files, changed = write_files(evidence_dir, made["contents"], check_mode)
    return {"changed": changed, "verdict": report["verdict"], "gates": report["gates"],
            "failed_gates": report["failed_gates"], "files": files, "thresholds": report["thresholds"],
            "problems": report["problems"], "comparison": report["comparison"]}
