# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret scrubbing of log text before it is written as a raw evidence file."""
from __future__ import annotations

import re

# Lowercase words that any secret pattern below needs; lines without one are not searched further.
_SECRET_WORDS = ("authoriz", "bearer", "eyj", "token", "passw", "pwd", "secret", "api_key", "apikey", "cookie", "://")
_SECRETS = (
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?[^\s\"',;{}\[\]]+"),
     r"\1<redacted>"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer <redacted>"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "<redacted-jwt>"),
    (re.compile(r"(?i)\b([\w-]*(?:token|password|passwd|pwd|secret|api_?key|cookie)[\w-]*)([\"']?\s*[:=]\s*[\"']?)"
                r"(?!<redacted)[^\"'\s&,;{}\[\]]+"), r"\1\2<redacted>"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/@:]+:)[^\s/@]+@"), r"\1<redacted>@"),
)
_SCRUB_CHUNK = 1 << 20


def _hinted(text: str) -> bool:
    low = text.lower()
    return any(word in low for word in _SECRET_WORDS)


def _scrub_line(line: str) -> str:
    for pattern, repl in _SECRETS:
        line = pattern.sub(repl, line)
    return line


def scrub(text: str) -> str:
    """Defensive: Authorization headers, bearer tokens, JWTs, password=/token=/secret= values and
    passwords in URLs become <redacted>. The platform's logs should hold none of them, so the text is
    checked a chunk at a time for the words these need, and only lines with one are searched; an
    unchanged text is returned as it is (no copy)."""
    if not text:
        return text
    changes: list = []
    pos, size = 0, len(text)
    while pos < size:
        end = text.find("\n", min(pos + _SCRUB_CHUNK, size))
        end = size if end < 0 else end + 1
        chunk = text[pos:end]
        if _hinted(chunk):
            lines = chunk.splitlines(keepends=True)
            cleaned = "".join(_scrub_line(line) if _hinted(line) else line for line in lines)
            if cleaned != chunk:
                changes.append((pos, end, cleaned))
        pos = end
    if not changes:
        return text
    out, last = [], 0
    for start, end, cleaned in changes:
        out += [text[last:start], cleaned]
        last = end
    out.append(text[last:])
    return "".join(out)
