# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time stamps and the capture window: parsing, the evidence format, samples within [since, until]."""
from __future__ import annotations

import datetime
import re
from typing import Iterable

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError

UTC = datetime.timezone.utc


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def iso(dt: datetime.datetime) -> str:
    """UTC ISO 8601 with milliseconds and a Z, as the evidence contract wants."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


_TS = re.compile(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


def parse_ts(text) -> datetime.datetime | None:
    """An ISO 8601 / RFC 3339 timestamp (docker's nanoseconds too) as an aware datetime; None if it is not one.
    A timestamp without an offset is taken as UTC."""
    m = _TS.match(str(text or "").strip())
    if not m:
        return None
    frac = (m.group(2) or "")[:7]
    zone = m.group(3) or "+00:00"
    zone = "+00:00" if zone == "Z" else zone
    try:
        dt = datetime.datetime.fromisoformat(m.group(1).replace(" ", "T") + frac + zone)
    except ValueError:
        return None
    return dt.astimezone(UTC)


def resolve_window(since: str | None, until: str | None, earliest_sample: datetime.datetime | None,
                   now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """[since, until]: until defaults to now, since to the earliest sample, else one hour before until."""
    end = now
    if until:
        end = parse_ts(until)
        if end is None:
            raise OpsError(f"until {until!r} is not an ISO 8601 timestamp.")
    if since:
        start = parse_ts(since)
        if start is None:
            raise OpsError(f"since {since!r} is not an ISO 8601 timestamp.")
    else:
        start = earliest_sample if earliest_sample and earliest_sample < end else end - datetime.timedelta(hours=1)
    if start >= end:
        raise OpsError(f"the window is empty: since {iso(start)} is not before until {iso(end)}.")
    return start, end


def in_window(records: list[dict], since: datetime.datetime, until: datetime.datetime) -> list[dict]:
    out = []
    for r in records:
        ts = parse_ts(r.get("ts"))
        if ts is not None and since <= ts <= until:
            out.append(r)
    return out


def earliest(records: Iterable[dict]) -> datetime.datetime | None:
    stamps = [t for t in (parse_ts(r.get("ts")) for r in records) if t is not None]
    return min(stamps) if stamps else None
