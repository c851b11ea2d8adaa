# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.xml: JUnit for CI, suite `examday.rehearsal`, one <testcase> per hard gate, with a
<failure> (type gate_failed or no_evidence) when the gate did not pass."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from ansible_collections.examday.ops.plugins.module_utils._report.fmt import fmt_value

SUITE_NAME = "examday.rehearsal"
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: Any) -> str:
    return _XML_BAD.sub("?", str(value))


def render_junit(report: dict) -> str:
    """One <testcase> per hard gate; a failure element (with the detail) when failed or without evidence."""
    gates = report["gates"]
    failures = sum(1 for g in gates if g["passed"] is not True)
    attrs = {"name": SUITE_NAME, "tests": str(len(gates)), "failures": str(failures), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", attrs)
    suite_attrs = dict(attrs, hostname=_xml_text(report["run"]["host"] or "unknown"))
    if report["run"]["started_at"]:
        suite_attrs["timestamp"] = report["run"]["started_at"]
    suite = ET.SubElement(root, "testsuite", suite_attrs)
    props = ET.SubElement(suite, "properties")
    for name, value in (("verdict", report["verdict"]), ("environment", report["environment"] or ""),
                        ("evidence_dir", report["evidence_dir"])):
        ET.SubElement(props, "property", {"name": name, "value": _xml_text(value)})
    for g in gates:
        case = ET.SubElement(suite, "testcase", {"classname": f"{SUITE_NAME}.gates", "name": _xml_text(g["name"]),
                                                 "time": "0"})
        if g["passed"] is not True:
            kind = "gate_failed" if g["passed"] is False else "no_evidence"
            failure = ET.SubElement(case, "failure", {"type": kind, "message": _xml_text(g["detail"])})
            failure.text = _xml_text(f"{g['rule']}\nvalue: {fmt_value(g['value'], g['unit'])}; threshold: {fmt_value(g['threshold'], g['unit'])}\n"
                                     f"evidence: {', '.join(g['evidence'])}\n{g['detail']}")
        out = ET.SubElement(case, "system-out")
        out.text = _xml_text(f"value: {fmt_value(g['value'], g['unit'])}; threshold: {fmt_value(g['threshold'], g['unit'])}; "
                             f"evidence: {', '.join(g['evidence'])}; {g['detail']}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
