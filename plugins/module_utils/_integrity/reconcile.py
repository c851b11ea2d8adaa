# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reconciliation of the writes a load recorded (acks.jsonl of every scenario and generator) with
what the database stores, in the integrity snapshot.

Each ack kind is data (examday_platform.reconcile overrides or adds to the defaults below): the
fields that identify a write (`key`), the fields whose last acknowledged value must be stored
(`compare`), what a stored row must show (`require`, `min`, `max`) and one read-only query. The
query gets the keys as JSON (%(keys)s, a list of objects of key fields as text) and returns one row
per stored key, with columns named after the key and the other fields.

Findings:
- lost: acknowledged, absent (or not in the required state);
- mismatched: the stored value is not the last acknowledged one, and no write explains it;
- stale overwrites: the stored value is that of an earlier write whose outcome the client did not
  know (it timed out), applied after a newer acknowledged write: named with both requests;
- superseded: the stored value is a later write whose outcome the client did not know (fine: the
  student's last action);
- duplicates: a stored field above its maximum (more than one submit event for a session)."""
from __future__ import annotations

import datetime
import json

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._evidence import acks as _acks
from ansible_collections.examday.ops.plugins.module_utils._integrity.guard import validate_select
from ansible_collections.examday.ops.plugins.module_utils._platform.schema import (
    Unavailable, column_types, references, render)

WINDOW_SLACK = datetime.timedelta(seconds=60)
SPEC_KEYS = ("key", "compare", "require", "min", "max", "sql")

SESSION_SQL = """
SELECT s.{sessions.id}::text AS session_id, s.{sessions.user_id}::text AS user_id,
       s.{sessions.status} AS status, s.{sessions.created_at} AS created_at
FROM jsonb_to_recordset(%(keys)s::jsonb) AS k(session_id text)
JOIN {sessions} s ON s.{sessions.id} = k.session_id::{type:sessions.id}
"""
ANSWER_SQL = """
SELECT a.{answers.session_id}::text AS session_id, a.{answers.question_id}::text AS question_id,
       a.{answers.selected_index} AS selected_index
FROM jsonb_to_recordset(%(keys)s::jsonb) AS k(session_id text, question_id text)
JOIN {answers} a ON a.{answers.session_id} = k.session_id::{type:answers.session_id}
                AND a.{answers.question_id} = k.question_id::{type:answers.question_id}
"""
SUBMIT_SQL = """
SELECT s.{sessions.id}::text AS session_id, s.{sessions.score_correct} AS score_correct,
       (s.{sessions.status} = %(status_submitted)s) AS submitted,
       (SELECT count(*) FROM {events} e
        WHERE e.{events.session_id} = s.{sessions.id} AND e.{events.type} = %(submitted_event)s) AS submitted_events
FROM jsonb_to_recordset(%(keys)s::jsonb) AS k(session_id text)
JOIN {sessions} s ON s.{sessions.id} = k.session_id::{type:sessions.id}
"""
USER_SESSIONS_SQL = """
SELECT s.{sessions.id}::text AS session_id, s.{sessions.user_id}::text AS user_id, s.{sessions.status} AS status,
       s.{sessions.created_at} AS created_at
FROM {sessions} s
WHERE s.{sessions.user_id}::text = ANY(%(users)s::text[])
  AND s.{sessions.created_at} >= %(since)s::timestamptz AND s.{sessions.created_at} < %(until)s::timestamptz
"""

DEFAULT_SPECS = {
    "session": {"key": ["session_id"], "compare": [], "require": {}, "min": {}, "max": {}, "sql": SESSION_SQL},
    "answer": {"key": ["session_id", "question_id"], "compare": ["selected_index"], "require": {}, "min": {},
               "max": {}, "sql": ANSWER_SQL},
    "submit": {"key": ["session_id"], "compare": ["score_correct"], "require": {"submitted": True},
               "min": {"submitted_events": 1}, "max": {"submitted_events": 1}, "sql": SUBMIT_SQL},
}


def kind_specs(given: dict | None) -> dict:
    """The default kinds with the profile's overrides (by kind, only the keys given) and additions."""
    specs = {kind: dict(spec) for kind, spec in DEFAULT_SPECS.items()}
    for kind, spec in (given or {}).items():
        where = f"examday_platform.reconcile.{kind}"
        if not isinstance(spec, dict):
            raise OpsError(f"{where} must be a mapping with {', '.join(SPEC_KEYS)}.")
        unknown = sorted(set(spec) - set(SPEC_KEYS))
        if unknown:
            raise OpsError(f"{where} has unknown key {unknown[0]!r}; known: {', '.join(SPEC_KEYS)}.")
        base = specs.get(kind, {"key": None, "compare": [], "require": {}, "min": {}, "max": {}, "sql": None})
        base.update({k: v for k, v in spec.items() if v is not None})
        if not isinstance(base["key"], list) or not base["key"] or not all(isinstance(f, str) for f in base["key"]):
            raise OpsError(f"{where}.key must be a list of the fields that identify a write.")
        if not isinstance(base["compare"], list) or not all(isinstance(f, str) for f in base["compare"]):
            raise OpsError(f"{where}.compare must be a list of field names.")
        for part in ("require", "min", "max"):
            if not isinstance(base[part], dict):
                raise OpsError(f"{where}.{part} must be a mapping of field to value.")
        if not isinstance(base["sql"], str) or not base["sql"].strip():
            raise OpsError(f"{where}.sql must be a query (a new kind needs one).")
        specs[kind] = base
    return specs


def prepare(specs: dict, schema: dict) -> dict:
    """Validates every kind's query (read-only, rendered for the schema) before anything runs; a
    kind whose query needs what the platform does not have is marked unavailable."""
    out = {}
    for kind, spec in specs.items():
        try:
            rendered = render(spec["sql"], schema, {ref[:2]: "text" for ref in references(spec["sql"], schema)
                                                    if ref[2]})
        except Unavailable as exc:
            out[kind] = dict(spec, unavailable=f"examday_platform.{exc.key} is empty")
            continue
        validate_select(f"reconcile {kind}", rendered)
        out[kind] = dict(spec, unavailable=None)
    return out


# ------------------------------------------------------------------ the writes recorded
def _when(rec: dict):
    stamp = rec.get("sent_at") or rec.get("ts") or datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
    return (stamp, rec["order"])


def summarize(records: list[dict]) -> dict:
    """{kind: {key: {"acked": [...], "unknown": [...]}}} in the order the client sent them, plus
    counts and the time span of the records."""
    by_kind: dict = {}
    counts: dict = {}
    stamps = []
    for rec in records:
        entry = by_kind.setdefault(rec["kind"], {}).setdefault(rec["key"], {"acked": [], "unknown": []})
        entry["acked" if rec["outcome"] == _acks.ACKED else "unknown"].append(rec)
        c = counts.setdefault(rec["kind"], {"acked": 0, "unknown": 0})
        c["acked" if rec["outcome"] == _acks.ACKED else "unknown"] += 1
        for stamp in (rec.get("ts"), rec.get("sent_at")):
            if stamp is not None:
                stamps.append(stamp)
    for keys in by_kind.values():
        for entry in keys.values():
            entry["acked"].sort(key=_when)
            entry["unknown"].sort(key=_when)
    return {"kinds": by_kind, "counts": counts, "first_ts": min(stamps) if stamps else None,
            "last_ts": max(stamps) if stamps else None}


def unexpected_window(summary: dict, since, until) -> tuple | None:
    """Where to look for sessions nobody acknowledged: since/until, else the records' own time span
    widened by WINDOW_SLACK on both sides (clocks of client and server differ a little)."""
    start = since or (summary["first_ts"] - WINDOW_SLACK if summary["first_ts"] else None)
    end = until or (summary["last_ts"] + WINDOW_SLACK if summary["last_ts"] else None)
    if start is None or end is None:
        return None
    return start, end


def batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def fetch(cur, specs: dict, summary: dict, schema: dict, params: dict, batch_size: int,
          since=None, until=None) -> dict:
    """Reads, in batches of keys, what the database stores for every recorded write."""
    stored: dict = {}
    for kind, keys in summary["kinds"].items():
        spec = specs.get(kind)
        if spec is None or spec["unavailable"]:
            continue
        sql = render(spec["sql"], schema, column_types(cur, schema, references(spec["sql"], schema)))
        rows: dict = {}
        for chunk in batches(sorted(keys), batch_size):
            payload = json.dumps([dict(zip(spec["key"], key)) for key in chunk])
            cur.execute(sql, dict(params, keys=payload))
            columns = [d.name for d in cur.description]
            for row in cur.fetchall():
                record = dict(zip(columns, row))
                missing = [f for f in spec["key"] if f not in record]
                if missing:
                    raise OpsError(f"the reconcile query of {kind} returns no column {missing[0]} (its key).")
                rows[tuple(_acks.id_text(record[f]) for f in spec["key"])] = record
        stored[kind] = rows
    user_sessions: list = []
    window = unexpected_window(summary, since, until)
    users = sorted({str(r["user_id"]) for r in stored.get("session", {}).values() if r.get("user_id") is not None})
    if window and users:
        try:
            sql = render(USER_SESSIONS_SQL, schema)
        except Unavailable:
            sql = None
        for chunk in (batches(users, batch_size) if sql else []):
            cur.execute(sql, dict(params, users=chunk, since=window[0], until=window[1]))
            columns = [d.name for d in cur.description]
            user_sessions.extend(dict(zip(columns, row)) for row in cur.fetchall())
    return {"kinds": stored, "user_sessions": user_sessions, "window": window}


# ------------------------------------------------------------------ judging
def _same(a, b) -> bool:
    return _acks.id_text(a) == _acks.id_text(b)


def _write(rec: dict) -> dict:
    out = {"request_id": rec.get("request_id"), "sent_at": _iso(rec.get("sent_at")), "ts": _iso(rec.get("ts")),
           "status": rec.get("status"), "source": rec["source"]}
    if rec.get("error"):
        out["error"] = rec["error"]
    if (rec.get("extra") or {}).get("platform_request_id"):
        out["platform_request_id"] = rec["extra"]["platform_request_id"]
    return out


def _iso(value) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def explain(entry: dict, field: str, stored_value) -> tuple[str, dict]:
    """Why the stored value differs from the last acknowledged one: (class, detail) with class
    superseded (a later write of unknown outcome: fine), stale_overwrite (an earlier write the
    client gave up on, applied after the newer acknowledged one), older_acknowledged (an earlier
    acknowledged value came back) or unexplained."""
    last = entry["acked"][-1]
    later = [u for u in entry["unknown"] if _same(u["fields"].get(field), stored_value) and _when(u) > _when(last)]
    if later:
        return "superseded", {"by": _write(later[-1])}
    stale = [u for u in entry["unknown"] if _same(u["fields"].get(field), stored_value) and _when(u) < _when(last)]
    if stale:
        return "stale_overwrite", {"acknowledged_write": _write(last), "stale_write": _write(stale[-1])}
    older = [a for a in entry["acked"][:-1] if _same(a["fields"].get(field), stored_value)]
    if older:
        return "older_acknowledged", {"acknowledged_write": _write(last), "older_write": _write(older[-1])}
    return "unexplained", {"acknowledged_write": _write(last)}


def reconcile(specs: dict, summary: dict, stored: dict, sample_rows: int, stale_overwrite_fails: bool = True) -> dict:
    """Pure: the recorded writes against what is stored."""
    lost, mismatched, stale, superseded, duplicates = [], [], [], [], []
    counts = {"acknowledged": {}, "unknown": {}, "distinct": {}, "stored": {}, "matched": {}}
    unknown_outcome = {"count": 0, "stored": 0, "not_stored": 0}
    unavailable = {}
    for kind, keys in sorted(summary["kinds"].items()):
        spec = specs.get(kind)
        if spec is None:
            continue
        c = summary["counts"].get(kind, {})
        counts["acknowledged"][kind] = c.get("acked", 0)
        counts["unknown"][kind] = c.get("unknown", 0)
        if spec["unavailable"]:
            unavailable[kind] = f"not reconciled: {spec['unavailable']}"
            continue
        rows = stored["kinds"].get(kind, {})
        acked_keys = [k for k, e in keys.items() if e["acked"]]
        counts["distinct"][kind] = len(acked_keys)
        counts["stored"][kind] = sum(1 for k in acked_keys if k in rows)
        matched = 0
        for key in sorted(acked_keys):
            entry, row = keys[key], rows.get(key)
            ident = dict(zip(spec["key"], key))
            last = entry["acked"][-1]
            if row is None:
                lost.append({"kind": kind, **ident, "detail": "not stored", "write": _write(last)})
                continue
            short = [f"{f} is {row.get(f)!r}, not {v!r}" for f, v in spec["require"].items() if not _same(row.get(f), v)]
            short += [f"{f} is {row.get(f)}, below {v}" for f, v in spec["min"].items()
                      if row.get(f) is not None and row.get(f) < v]
            if short:
                lost.append({"kind": kind, **ident, "detail": "; ".join(short), "write": _write(last)})
                continue
            ok = True
            over = {f: row.get(f) for f, v in spec["max"].items() if row.get(f) is not None and row.get(f) > v}
            if over:
                duplicates.append({"kind": kind, **ident, **over, "write": _write(last)})
                ok = False
            for field in spec["compare"]:
                want = last["fields"].get(field)
                if want is None or field not in row or _same(row[field], want):
                    continue
                cls, detail = explain(entry, field, row[field])
                finding = {"kind": kind, **ident, "field": field, "acknowledged": want, "stored": row[field],
                           "explanation": cls, **detail}
                if cls == "superseded":
                    superseded.append(finding)
                    continue
                ok = False
                (stale if cls == "stale_overwrite" else mismatched).append(finding)
            matched += ok
        counts["matched"][kind] = matched
        for key, entry in keys.items():
            for rec in entry["unknown"]:
                unknown_outcome["count"] += 1
                unknown_outcome["stored" if key in rows else "not_stored"] += 1
    acked_sessions = {k[0] for k, e in summary["kinds"].get("session", {}).items() if e["acked"]}
    acked_sessions |= {k[0] for kind, keys in summary["kinds"].items() for k, e in keys.items()
                       if e["acked"] and specs.get(kind) and specs[kind]["key"][0] == "session_id"}
    unexpected = [dict(s) for s in stored["user_sessions"] if _acks.id_text(s["session_id"]) not in acked_sessions]
    window = stored.get("window")
    duplicate_sessions = sorted({d.get("session_id") for d in duplicates if d.get("session_id")})
    result = {
        "acknowledged": counts["acknowledged"],
        "unknown_writes": counts["unknown"],
        "ignored_lines": summary.get("ignored", 0),
        "distinct": counts["distinct"],
        "stored": counts["stored"],
        "matched": counts["matched"],
        "lost": {"count": len(lost), "samples": lost[:sample_rows]},
        "mismatched": {"count": len(mismatched), "samples": mismatched[:sample_rows]},
        "stale_overwrites": {"count": len(stale), "samples": stale[:sample_rows], "fails": stale_overwrite_fails},
        "superseded": {"count": len(superseded), "samples": superseded[:sample_rows]},
        "duplicates": {"count": len(duplicates), "sessions": len(duplicate_sessions),
                       "samples": duplicates[:sample_rows]},
        "unknown_outcome": unknown_outcome,
        "unexpected": {"count": len(unexpected), "samples": unexpected[:sample_rows],
                       "window": [_iso(window[0]), _iso(window[1])] if window else None},
        "not_reconciled": unavailable,
        "trace_request_ids": sorted({w["request_id"] for f in stale[:sample_rows] + mismatched[:sample_rows]
                                     for w in (f.get("acknowledged_write"), f.get("stale_write"), f.get("older_write"))
                                     if w and w.get("request_id")}),
    }
    result["passed"] = not (lost or mismatched or duplicates or (stale and stale_overwrite_fails))
    return json_safe(result)
