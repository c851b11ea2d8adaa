# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and writing the metrics evidence files: 0700 directory, 0600 files, JSON lines.

The file names themselves are in constants.py."""
from __future__ import annotations

import json
import os
import re

from ansible_collections.examday.ops.plugins.module_utils._common import json_safe


def read_jsonl(path: str) -> list[dict]:
    """A samples file; unparsable lines (a line being written while we read) are skipped."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
    return out


def ensure_dir(path: str) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)


def write_text(path: str, text: str) -> None:
    """A file of the evidence directory (mode 0600), replaced whole."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
        fh.write(text)


def append_lines(path: str, records: list[dict]) -> None:
    if not records:
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(json_safe(r), sort_keys=True) + "\n" for r in records))


def safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip("._") or "container"
