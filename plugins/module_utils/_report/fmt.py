# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Formatting shared by the report model and its renderings (Markdown, JUnit, HTML): numbers with
their unit, times, gate results and the one-sentence assessment. A value that is not a number
reads "not measured", never a made-up zero."""
from __future__ import annotations

import datetime
import math
from typing import Any

from ansible_collections.examday.ops.plugins.module_utils._report.values import as_num

NOT_MEASURED = "not measured"


def fmt_ms(value: Any) -> str:
    return NOT_MEASURED if as_num(value) is None else f"{value:.1f} ms"


def fmt_pct(value: Any) -> str:
    return NOT_MEASURED if as_num(value) is None else f"{value:.2f} %"


def fmt_s(value: Any) -> str:
    return NOT_MEASURED if as_num(value) is None else f"{value:.2f} s"


def fmt_n(value: Any) -> str:
    if as_num(value) is None:
        return NOT_MEASURED
    return f"{int(value)}" if float(value).is_integer() else f"{value:.2f}"


def fmt_time(epoch: float | None) -> str:
    if epoch is None or not math.isfinite(epoch):
        return NOT_MEASURED
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_value(value: Any, unit: str = "") -> str:
    if value is None:
        return NOT_MEASURED
    if isinstance(value, bool):
        return "verified" if value else "not verified"
    if as_num(value) is None:
        return str(value)
    return f"{fmt_n(value)} {unit}".rstrip()


def gate_result(g: dict) -> str:
    return "PASS" if g["passed"] is True else ("FAIL" if g["passed"] is False else "NO EVIDENCE")


def assessment(report: dict) -> str:
    gates = report["gates"]
    failed = [g["name"] for g in gates if g["passed"] is False]
    missing = [g["name"] for g in gates if g["passed"] is None]
    if report["verdict"] == "GO":
        return f"GO: all {len(gates)} hard gates passed on the evidence of this rehearsal."
    parts = []
    if failed:
        parts.append(f"{len(failed)} of {len(gates)} hard gates failed ({', '.join(failed)})")
    if missing:
        parts.append(f"{len(missing)} of {len(gates)} had no evidence ({', '.join(missing)})")
    return "NO-GO: " + " and ".join(parts) + "."
