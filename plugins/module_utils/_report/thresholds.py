# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hard gates' limits: defaults (the module's documented defaults; a unit test holds them
equal) overlaid with the inventory's values, validated into one-sentence errors."""
from __future__ import annotations

from typing import Any

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._report.values import as_num, norm_name

# Names of integrity checks that count towards "zero data loss"; every other check counts towards
# "no corrupted sessions". Compared after normalisation (lower case, non-alphanumerics to "_").
DATA_LOSS_CHECKS = ["orphaned_answers", "orphan_answers", "missing_answers", "lost_answers"]

DEFAULT_THRESHOLDS: dict[str, Any] = {
    "p95_ms": 500.0,
    "error_rate_pct": 1.0,
    "fault_error_budget_pct": 20.0,
    "recovery_seconds": 30.0,
    "db_pool_pct": 80.0,
    "traceability_min_pct": 100.0,
    "data_loss_checks": DATA_LOSS_CHECKS,
}
_PCT_THRESHOLDS = ("error_rate_pct", "fault_error_budget_pct", "db_pool_pct", "traceability_min_pct")


def resolve_thresholds(given: dict | None) -> dict:
    """Defaults overlaid with the given values; a bad value raises OpsError (one sentence)."""
    out = dict(DEFAULT_THRESHOLDS)
    for key, value in (given or {}).items():
        if value is None:
            continue
        if key not in DEFAULT_THRESHOLDS:
            raise OpsError(f"Unknown threshold {key!r}; known thresholds are {', '.join(sorted(DEFAULT_THRESHOLDS))}.")
        out[key] = value
    for key, value in out.items():
        if key == "data_loss_checks":
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise OpsError("Threshold data_loss_checks must be a list of integrity check names.")
            out[key] = [norm_name(v) for v in value]
            continue
        number = as_num(value)
        if number is None:
            raise OpsError(f"Threshold {key} must be a number, got {value!r}.")
        if number < 0:
            raise OpsError(f"Threshold {key} must not be negative, got {number:g}.")
        if key in _PCT_THRESHOLDS and number > 100:
            raise OpsError(f"Threshold {key} is a percentage and must be at most 100, got {number:g}.")
        if key in ("p95_ms", "recovery_seconds") and number == 0:
            raise OpsError(f"Threshold {key} must be above 0.")
        out[key] = number
    return out
