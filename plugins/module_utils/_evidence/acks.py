# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The acks format (load/<scenario>/acks.jsonl): one JSON object per write the load sent and either
got acknowledged (outcome "acked", a 2xx) or whose outcome the client could not know (outcome
"unknown": a timeout, a connection error, a 5xx). k6 scripts print them as console lines
"EXAMDAY_ACK {json}" (files/k6/examday.js writes them); the load module extracts them; the
integrity phase reconciles them. Read, validate and write live here, nowhere else.

    {"kind": "answer", "outcome": "acked", "session_id": "...", "question_id": "..." | 17,
     "selected_index": 2, "version": 1764000000123, "request_id": "...", "sent_at": "...",
     "ts": "...", "status": 200}

Ids are opaque: compared as text, whatever JSON type the platform gave them."""
from __future__ import annotations

import datetime
import json
from typing import IO, Iterable, Iterator

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError

MARKER = "EXAMDAY_ACK "
ACKED = "acked"
UNKNOWN = "unknown"
OUTCOMES = (ACKED, UNKNOWN)
# The kinds the shipped scenarios write, with the fields that identify a write and the fields
# whose last acknowledged value must be stored. User kinds come from examday_platform.reconcile.
DEFAULT_KINDS = {
    "session": {"key": ["session_id"], "compare": []},
    "answer": {"key": ["session_id", "question_id"], "compare": ["selected_index"]},
    "submit": {"key": ["session_id"], "compare": ["score_correct"]},
}
KINDS = tuple(DEFAULT_KINDS)
META_FIELDS = ("kind", "outcome", "ts", "sent_at", "request_id", "status", "error", "version")


def id_text(value) -> str | None:
    """An id or a value as text, the same for "17" and 17 (ids are opaque)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def parse_ts(value, where: str, field: str = "ts"):
    if value in (None, ""):
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        ts = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise OpsError(f"{where} has a {field} that is not an ISO 8601 timestamp.") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=datetime.timezone.utc)
    return ts


def parse_record(obj, where: str, kinds: dict | None = None) -> dict | None:
    """One record, validated and normalized: key fields as text, timestamps parsed. None for a
    kind nobody reconciles (counted as ignored). Raises OpsError naming the line."""
    kinds = kinds or DEFAULT_KINDS
    if not isinstance(obj, dict):
        raise OpsError(f"{where} is not a JSON object.")
    kind = obj.get("kind")
    if kind not in kinds:
        return None
    outcome = obj.get("outcome", ACKED)
    if outcome not in OUTCOMES:
        raise OpsError(f"{where} has outcome {outcome!r}; known: {', '.join(OUTCOMES)}.")
    spec = kinds[kind]
    rec = {"kind": kind, "outcome": outcome, "source": where,
           "ts": parse_ts(obj.get("ts"), where), "sent_at": parse_ts(obj.get("sent_at"), where, "sent_at"),
           "request_id": obj.get("request_id"), "status": obj.get("status"), "error": obj.get("error"),
           "version": obj.get("version"), "fields": {}}
    for field in spec["key"]:
        text = id_text(obj.get(field))
        if text in (None, ""):
            raise OpsError(f"{where} has no {field}.")
        rec["fields"][field] = text
    for field in spec.get("compare", []):
        value = obj.get(field)
        if isinstance(value, (dict, list)):
            raise OpsError(f"{where} has a {field} that is not a single value.")
        rec["fields"][field] = value
    rec["key"] = tuple(rec["fields"][f] for f in spec["key"])
    for field, value in obj.items():  # anything else the script recorded (user, idempotency_key, ...)
        if field not in META_FIELDS and field not in rec["fields"]:
            rec.setdefault("extra", {})[field] = value
    return rec


def parse_lines(lines: Iterable[str], source: str, kinds: dict | None = None) -> tuple[list[dict], int]:
    """(records, ignored lines) of an acks.jsonl; each record knows its origin (file, line)."""
    out, ignored = [], 0
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        where = f"acks file {source} line {number}"
        try:
            obj = json.loads(text)
        except ValueError:
            raise OpsError(f"{where} is not valid JSON.") from None
        rec = parse_record(obj, where, kinds)
        if rec is None:
            ignored += 1
            continue
        rec["source"] = f"{source} line {number}"
        rec["order"] = (source, number)
        out.append(rec)
    return out, ignored


def read(paths: list[str], kinds: dict | None = None, opener=open) -> tuple[list[dict], int]:
    """Every record of the given acks files (every generator, every scenario)."""
    records, ignored = [], 0
    for path in paths:
        try:
            with opener(path, encoding="utf-8") as fh:
                got, skipped = parse_lines(fh, path, kinds)
        except OSError as exc:
            raise OpsError(f"cannot read acks file {path}: {exc.strerror or exc}.") from None
        records.extend(got)
        ignored += skipped
    return records, ignored


# ------------------------------------------------------------------ from k6's console
def _unquote(text: str) -> str:
    try:
        return json.loads(f'"{text}"')
    except ValueError:
        return text.replace('\\"', '"').replace("\\\\", "\\")


def console_payload(line: str, marker: str = MARKER) -> str | None:
    """The JSON text of an acks line in k6's console output (raw log format: the message as is;
    text format: msg="..." with Go escapes); None when the line is not one."""
    pos = line.find(marker)
    if pos < 0:
        return None
    if pos and line.startswith("time="):
        start = line.find('msg="')
        if start < 0:
            return ""
        i, out = start + 5, []
        while i < len(line) and line[i] != '"':
            if line[i] == "\\" and i + 1 < len(line):
                out.append(line[i:i + 2])
                i += 2
                continue
            out.append(line[i])
            i += 1
        message = _unquote("".join(out))
        pos = message.find(marker)
        return message[pos + len(marker):].strip() if pos >= 0 else ""
    return line[pos + len(marker):].strip()


def from_console_line(line: str, marker: str = MARKER):
    """The record (a dict as printed) on one console line: None when the line is not an acks line,
    False when it carries the marker but not a valid record."""
    payload = console_payload(line, marker)
    if payload is None:
        return None
    try:
        obj = json.loads(payload)
    except ValueError:
        return False
    if not isinstance(obj, dict) or not obj.get("kind") or obj.get("outcome", ACKED) not in OUTCOMES:
        return False
    return obj


def extract(console: IO[str], out: IO[str], marker: str = MARKER) -> dict:
    """Streams a k6 console file into acks.jsonl; returns counts per kind and outcome and the
    number of marker lines that were not valid records. Memory stays flat."""
    counts: dict = {}
    malformed = 0
    for line in console:
        obj = from_console_line(line, marker)
        if obj is None:
            continue
        if obj is False:
            malformed += 1
            continue
        entry = counts.setdefault(obj["kind"], dict.fromkeys(OUTCOMES, 0))
        entry[obj.get("outcome", ACKED)] += 1
        out.write(json.dumps(obj, separators=(",", ":")) + "\n")
    return {"counts": counts, "malformed": malformed}


def acked_counts(counts: dict) -> dict:
    """{kind: acknowledged count} of extract()'s counts, the shipped kinds always present."""
    out = dict.fromkeys(KINDS, 0)
    for kind, by_outcome in counts.items():
        out[kind] = by_outcome.get(ACKED, 0)
    return out


def unknown_counts(counts: dict) -> dict:
    return {kind: by_outcome.get(UNKNOWN, 0) for kind, by_outcome in counts.items() if by_outcome.get(UNKNOWN)}


def count_lines(lines: Iterable[str]) -> dict:
    """{kind: {outcome: n}} of an acks.jsonl."""
    counts: dict = {}
    for line in lines:
        line = line.strip()
        if line:
            obj = json.loads(line)
            entry = counts.setdefault(obj.get("kind"), dict.fromkeys(OUTCOMES, 0))
            entry[obj.get("outcome", ACKED)] = entry.get(obj.get("outcome", ACKED), 0) + 1
    return counts


def iter_records(lines: Iterable[str]) -> Iterator[dict]:
    """The raw objects of an acks.jsonl (tests, tools)."""
    for line in lines:
        if line.strip():
            yield json.loads(line)


def double_submits(lines: Iterable[str], sample_rows: int = 20) -> dict:
    """What the concurrent double submits answered, from the submit records' `double` field:
    pairs, and the sessions whose two answers differed (status or body), each counted once."""
    pairs, differ = 0, {}
    for obj in iter_records(lines):
        double = obj.get("double") if obj.get("kind") == "submit" else None
        if not isinstance(double, dict):
            continue
        pairs += 1
        if double.get("same") is False:
            sid = id_text(obj.get("session_id"))
            differ.setdefault(sid, {"session_id": sid, "statuses": double.get("statuses"),
                                    "request_ids": double.get("request_ids"), "ts": obj.get("ts")})
    return {"pairs": pairs, "differ": len(differ), "samples": list(differ.values())[:sample_rows]}
