# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values read from evidence, made safe: finite numbers, short one-line text, dicts and lists that
are what they claim to be, and only scalar fields under safe, non-secret-looking keys.

Only chosen fields of each evidence file reach the report, never a whole dictionary of unknown content."""
from __future__ import annotations

import math
import re
from typing import Any, Iterable

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_SECRET_KEY = re.compile(r"pass|secret|token|auth|cookie|dsn|credential|private", re.I)


def norm_name(name: Any) -> str:
    """Lower case, every run of non-alphanumerics as one "_" (how check names are compared)."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


def as_num(value: Any) -> float | None:
    """A finite number, or None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def as_int(value: Any) -> int | None:
    number = as_num(value)
    return int(number) if number is not None else None


def rounded(value: Any, digits: int = 3) -> float | None:
    number = as_num(value)
    return None if number is None else round(number, digits)


def clip(value: Any, limit: int = 300) -> str:
    """One line of at most `limit` characters (an ellipsis marks a cut)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def pick_number(source: Any, keys: Iterable[str]) -> Any:
    """The first of `keys` present in `source` with a number."""
    source = as_dict(source)
    for key in keys:
        if as_num(source.get(key)) is not None:
            return source[key]
    return None


def numeric_fields(source: Any) -> dict:
    """Only the scalar numbers and booleans of a dict, under safe, non-secret-looking keys."""
    out = {}
    for key, value in as_dict(source).items():
        if not isinstance(key, str) or not _SAFE_KEY.match(key) or _SECRET_KEY.search(key):
            continue
        if isinstance(value, bool) or as_num(value) is not None:
            out[key] = value if isinstance(value, bool) else rounded(value)
    return out


def scalar_sample(sample: Any) -> Any:
    """A sample row reduced to short scalar values under safe keys (for lost writes and the like)."""
    if isinstance(sample, dict):
        return {k: (clip(v, 80) if isinstance(v, str) else v) for k, v in sample.items()
                if isinstance(k, str) and _SAFE_KEY.match(k) and not _SECRET_KEY.search(k)
                and (isinstance(v, (str, bool)) or as_num(v) is not None)}
    if isinstance(sample, str):
        return clip(sample, 80)
    return sample if isinstance(sample, bool) or as_num(sample) is not None else None


def count_of(part: Any) -> int | None:
    """`{"count": n}` or a bare number."""
    if isinstance(part, dict):
        return as_int(part.get("count"))
    return as_int(part)
