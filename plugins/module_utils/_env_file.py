# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and editing Compose env files (KEY=value lines) without disturbing anything else."""
from __future__ import annotations

import re

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")


def _unquote(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    return raw.split(" #", 1)[0].strip()


def parse(text: str) -> dict[str, str]:
    """The variables an env file sets (the last assignment wins, as in Compose)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if m:
            out[m.group(1)] = _unquote(m.group(2))
    return out


def quote(value: str) -> str:
    """A double-quoted value, so YAML-ish readers never turn "true" into a boolean."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_var(text: str, key: str, value: str) -> tuple[str, bool]:
    """(new text, changed). Rewrites every assignment of key (quoted), or appends one."""
    want = f"{key}={quote(value)}"
    lines = text.splitlines()
    found = False
    changed = False
    for i, line in enumerate(lines):
        m = _LINE.match(line)
        if m and m.group(1) == key and not line.lstrip().startswith("#"):
            found = True
            if _unquote(m.group(2)) != value or line != want:
                lines[i] = want
                changed = True
    if not found:
        lines.append(want)
        changed = True
    new = "\n".join(lines) + "\n"
    return new, changed or new != text


def lines_of(text: str, key: str) -> str:
    """Only the assignments of key: what a diff may show of an env file (the others hold secrets)."""
    out = [line for line in text.splitlines() if (m := _LINE.match(line)) and m.group(1) == key
           and not line.lstrip().startswith("#")]
    return "\n".join(out) + ("\n" if out else "")
