# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health and readiness judged by the body, by the profile's rule: `flat` reads
{"status": "ok", "checks": {"db": "ok"}}, `nested` reads {"status": "ok", "checks": {"db":
{"status": "ok"}}}. The HTTP code alone proves nothing (the real platform answers 200 with
"down"), and a body that does not fit the rule says so instead of passing."""
from __future__ import annotations

from ansible_collections.examday.ops.plugins.module_utils._platform.profile import json_get


def _word(value) -> str:
    if value is True:
        return "true"
    return str(value).strip().lower()


def verdict(rule: dict, status: int | None, body) -> tuple[bool, str]:
    """(ok, detail) of one health or readiness answer under a probe rule of the profile."""
    if status is None:
        return False, "no answer"
    ok_words = {w.lower() for w in rule["ok_words"]} | {"true"}
    if status not in rule["ok_status"]:
        failing = _failing(rule, body, ok_words)[0] if isinstance(body, dict) else []
        return False, f"HTTP {status}" + (f", failing: {', '.join(failing)}" if failing else "")
    if not isinstance(body, dict):
        return False, f"HTTP {status} without a JSON object body"
    top = json_get(body, rule["status_path"]) if rule["status_path"] else None
    failing, mismatch = _failing(rule, body, ok_words)
    if mismatch:
        return False, mismatch
    if rule["status_path"] and top is None:
        return False, (f"HTTP {status} but the body has no status at {rule['status_path']!r} (its keys: "
                       f"{', '.join(sorted(body)) or 'none'}); set the profile's status_path")
    if rule["status_path"] and _word(top) not in ok_words:
        return False, f"{rule['status_path']} is {top!r}" + (f", failing: {', '.join(failing)}" if failing else "")
    if failing:
        return False, f"failing: {', '.join(failing)}"
    return True, "ok"


def _failing(rule: dict, body: dict, ok_words: set) -> tuple[list, str]:
    """(failing check names, a sentence when the body does not fit the rule)."""
    if not rule["checks_path"]:
        return [], ""
    checks = json_get(body, rule["checks_path"])
    if checks is None:
        return [], ""
    if not isinstance(checks, dict):
        return [], f"{rule['checks_path']} is not an object"
    failing = []
    for name, value in sorted(checks.items()):
        if rule["rule"] == "nested":
            if not isinstance(value, dict):
                return [], (f"{rule['checks_path']}.{name} is {value!r}, but the profile's readiness rule is nested "
                            f"(an object with a status); set examday_platform.readiness.rule to flat")
            state = value.get("status")
        else:
            if isinstance(value, dict):
                return [], (f"{rule['checks_path']}.{name} is an object, but the profile's readiness rule is flat; "
                            f"set examday_platform.readiness.rule to nested")
            state = value
        if _word(state) not in ok_words:
            failing.append(f"{name}={state}")
    return failing, ""
