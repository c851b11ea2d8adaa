# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The 24-hour checklist's checks (runbook "Pre-Exam Checklist"): pure verdicts over gathered facts.

Each check is {name, item, passed, configured, detail, evidence}: passed is True, False, or None
(configured but not measured); configured=False says the inventory does not ask for it."""
from __future__ import annotations

import datetime


def result(name: str, item: str, passed, detail: str, evidence=None, configured: bool = True) -> dict:
    return {"name": name, "item": item, "passed": passed, "configured": configured, "detail": detail,
            "evidence": evidence}


def not_configured(name: str, what: str) -> dict:
    return result(name, "-", None, f"not configured: set {what} in the inventory to check it", configured=False)


def backup_check(item: str, newest: tuple[str, float] | None, now: float, max_age_hours: float) -> dict:
    """newest: (path, mtime) of the newest backup found, or None."""
    if newest is None:
        return result("backup", item, False, f"no backup found at {item}")
    age_h = (now - newest[1]) / 3600.0
    ok = age_h < max_age_hours
    return result("backup", item, ok, f"newest {newest[0]} is {age_h:.1f} h old (limit {max_age_hours:g} h)",
                  {"path": newest[0], "age_hours": round(age_h, 2)})


def tls_check(item: str, not_after: datetime.datetime | None, error: str | None, now: datetime.datetime,
              min_days: float, verify_error: str | None = None) -> dict:
    if not_after is None:
        return result("tls", item, False, f"no certificate: {error}")
    days = (not_after - now).total_seconds() / 86400.0
    ok = days > min_days and verify_error is None
    detail = f"expires {not_after.isoformat()} ({days:.1f} days left, limit {min_days:g})"
    if verify_error:
        detail += f"; does not verify: {verify_error}"
    return result("tls", item, ok, detail, {"not_after": not_after.isoformat(), "days_left": round(days, 1)})


def dns_check(name: str, got: list[str] | None, error: str | None, expected: list[str]) -> dict:
    if got is None:
        return result("dns", name, False, f"does not resolve: {error}")
    missing = sorted(set(expected) - set(got))
    ok = not missing if expected else bool(got)
    detail = f"resolves to {', '.join(sorted(set(got)))}" + (f"; expected {', '.join(missing)} missing" if missing else "")
    return result("dns", name, ok, detail, {"addresses": sorted(set(got)), "expected": expected})


def disk_check(path: str, total: int | None, free: int | None, error: str | None, min_free_pct: float,
               min_free_gb: float) -> dict:
    if total is None:
        return result("disk", path, False, f"cannot measure: {error}")
    pct = 100.0 * free / total if total else 0.0
    gb = free / 1e9
    ok = pct >= min_free_pct and gb >= min_free_gb
    return result("disk", path, ok, f"{gb:.1f} GB free ({pct:.1f}%; limits {min_free_gb:g} GB, {min_free_pct:g}%)",
                  {"free_bytes": free, "total_bytes": total, "free_pct": round(pct, 1)})


def rate_limit_check(container: str, env: dict, keys: list[str]) -> dict:
    """The limits must be configured: every key present with a positive number (only these keys are read)."""
    values = {k: env.get(k) for k in keys}
    bad = [k for k, v in values.items() if v is None or not str(v).strip('"').isdigit() or int(str(v).strip('"')) <= 0]
    return result("rate_limits", container, not bad,
                  f"missing or not positive: {', '.join(bad)}" if bad else ", ".join(f"{k}={v}" for k, v in values.items()),
                  values)


def http_check(name: str, url: str, status: int | None, error: str | None, expect: list[int]) -> dict:
    if status is None:
        return result("observability", name, False, f"{url} unreachable: {error}")
    ok = status in expect
    return result("observability", name, ok, f"{url} answered HTTP {status}", {"url": url, "status": status})


def verdict(checks: list[dict]) -> dict:
    return {
        "passed": not [c for c in checks if c["configured"] and c["passed"] is not True],
        "failed": [f"{c['name']}:{c['item']}" for c in checks if c["passed"] is False],
        "not_measured": [f"{c['name']}:{c['item']}" for c in checks if c["configured"] and c["passed"] is None],
        "not_configured": [c["name"] for c in checks if not c["configured"]],
    }
