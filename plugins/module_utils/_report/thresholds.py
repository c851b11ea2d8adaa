# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gates' limits are the one threshold source's (_thresholds.py): the same numbers k6's
thresholds are derived from."""
from __future__ import annotations

from ansible_collections.examday.ops.plugins.module_utils._thresholds import (
    DATA_LOSS_CHECKS, DEFAULTS as DEFAULT_THRESHOLDS, resolve as resolve_thresholds)

__all__ = ["DATA_LOSS_CHECKS", "DEFAULT_THRESHOLDS", "resolve_thresholds"]
