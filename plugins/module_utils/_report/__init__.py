# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The GO/NO-GO report: reads one evidence directory (docs/evidence.md), decides the hard gates and
renders the report as Markdown (the seed template's sections, from a Jinja2 template), JSON, JUnit
XML and a self-contained HTML page with inline SVG charts. One concern per file:

    values.py       evidence values made safe (numbers, short text, whitelisted fields)
    fmt.py          formatting shared by the model and the renderings
    evidence.py     the evidence file names and load_evidence (the only reader)
    thresholds.py   defaults and resolve_thresholds
    analysis.py     fault windows and per-scenario load numbers (analyse_load)
    gates.py        the gate registry, evaluate_gates, verdict
    model.py        build_report: the content of report.json
    render_md.py    report.md from md_template.py (generated from files/templates/report.md.j2)
    render_junit.py report.xml
    render_html.py  report.html
    runner.py       make_report, write_files, run (what the module calls)

Missing evidence for a gate gives `passed=None` with "no evidence: ...", which counts as failed:
never a silent pass. New code imports from the submodules; the names below are re-exported for
callers of the former single-file module (tests, benchmarks)."""
from __future__ import annotations

from ansible_collections.examday.ops.plugins.module_utils._report.gates import (
    GATE_IDS, GATE_REGISTRY, GATES, evaluate_gates, verdict,
)
from ansible_collections.examday.ops.plugins.module_utils._report.model import DEFAULT_TITLE, build_report
from ansible_collections.examday.ops.plugins.module_utils._report.runner import make_report, run, write_files
from ansible_collections.examday.ops.plugins.module_utils._report.thresholds import (
    DATA_LOSS_CHECKS, DEFAULT_THRESHOLDS, resolve_thresholds,
)

__all__ = ["DATA_LOSS_CHECKS", "DEFAULT_THRESHOLDS", "DEFAULT_TITLE", "GATES", "GATE_IDS", "GATE_REGISTRY",
           "build_report", "evaluate_gates", "make_report", "resolve_thresholds", "run", "verdict", "write_files"]
