# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: duration_seconds (a k6-style duration such as 30s, 5m, 1h30m or a number, in seconds)."""
from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._load.plan import parse_duration


def duration_seconds(value) -> float:
    try:
        return parse_duration(value, "duration", allow_zero=True)
    except OpsError as exc:
        raise AnsibleFilterError(exc.msg) from None


class FilterModule:
    def filters(self):
        return {"duration_seconds": duration_seconds}
