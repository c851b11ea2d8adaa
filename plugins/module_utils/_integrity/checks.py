# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integrity checks as data: a name, a description, SQL that selects the failing rows (one row per
violation) and the expected maximum number of such rows. The default set is written against the
platform profile's schema (schema.py renders the names), so another schema needs no code: only
the profile's names. docs/integrity.md says what was wrong in each of the seeds' checks."""
from __future__ import annotations

import datetime
import re

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._integrity.guard import placeholders, validate_select
from ansible_collections.examday.ops.plugins.module_utils._platform.schema import SCHEMA_PARAMS, Unavailable, render

COUNT_COLUMN = "examday_violations"
LIMIT_PARAM = "examday_sample_limit"
RESERVED_PARAMS = (LIMIT_PARAM,) + SCHEMA_PARAMS

# Sessions created in the window [since, until); either end may be NULL (open). With a NULL end
# the condition folds away when PostgreSQL plans the statement with its parameter values.
_IN_WINDOW = ("(%(since)s::timestamptz IS NULL OR s.{sessions.created_at} >= %(since)s::timestamptz) "
              "AND (%(until)s::timestamptz IS NULL OR s.{sessions.created_at} < %(until)s::timestamptz)")
_NO_WINDOW = "(%(since)s::timestamptz IS NULL AND %(until)s::timestamptz IS NULL)"
# Where the best plan differs with and without a window, a check is two UNION ALL branches, one
# guarded by _NO_WINDOW and one by NOT _NO_WINDOW: PostgreSQL drops the branch whose guard is
# false at planning time, so each run gets a plan of its own (one pass over a big table without a
# window; index lookups from the window's sessions with one).

# A session that is not submitted may still carry submitted_at when the platform sets it on expiry.
_STRAY_SUBMITTED_AT = ("(s.{sessions.status} <> %(status_submitted)s AND s.{sessions.submitted_at} IS NOT NULL "
                       "AND NOT (%(expiry_sets_submitted_at)s AND s.{sessions.status} = %(status_expired)s))")

DEFAULT_CHECKS: list[dict] = [
    {
        "name": "orphaned_answers",
        "description": "Answers whose session does not exist.",
        "max": 0,
        "sql": """
SELECT a.{answers.session_id} AS session_id, a.{answers.question_id} AS question_id
FROM {answers} a
WHERE NOT EXISTS (SELECT 1 FROM {sessions} s WHERE s.{sessions.id} = a.{answers.session_id})
""",
    },
    {
        "name": "duplicate_submits",
        "description": "Sessions with more than one submit event (a double submit that was not idempotent).",
        "max": 0,
        "sql": f"""
SELECT e.{{events.session_id}} AS session_id, count(*) AS submitted_events
FROM {{events}} e
WHERE {_NO_WINDOW} AND e.{{events.type}} = %(submitted_event)s
GROUP BY e.{{events.session_id}}
HAVING count(*) > 1
UNION ALL
SELECT e.{{events.session_id}} AS session_id, count(*) AS submitted_events
FROM {{sessions}} s
JOIN {{events}} e ON e.{{events.session_id}} = s.{{sessions.id}} AND e.{{events.type}} = %(submitted_event)s
WHERE NOT {_NO_WINDOW} AND {_IN_WINDOW}
GROUP BY e.{{events.session_id}}
HAVING count(*) > 1
""",
    },
    {
        "name": "missing_answers",
        "description": ("Submitted sessions whose stored correct answers do not add up to their score "
                        "(answers lost or changed after the submit); unanswered questions are legitimate."),
        "max": 0,
        "sql": f"""
SELECT s.{{sessions.id}} AS session_id, s.{{sessions.score_correct}} AS score_correct,
       coalesce(c.stored_correct, 0) AS stored_correct
FROM {{sessions}} s
LEFT JOIN (SELECT a.{{answers.session_id}} AS session_id, count(*) AS stored_correct
           FROM {{answers}} a WHERE a.{{answers.is_correct}} GROUP BY a.{{answers.session_id}}) c
       ON c.session_id = s.{{sessions.id}}
WHERE {_NO_WINDOW}
  AND s.{{sessions.status}} = %(status_submitted)s AND s.{{sessions.score_correct}} IS NOT NULL
  AND s.{{sessions.score_correct}} <> coalesce(c.stored_correct, 0)
UNION ALL
SELECT s.{{sessions.id}} AS session_id, s.{{sessions.score_correct}} AS score_correct, c.stored_correct
FROM {{sessions}} s
CROSS JOIN LATERAL (SELECT count(*) AS stored_correct FROM {{answers}} a
                    WHERE a.{{answers.session_id}} = s.{{sessions.id}} AND a.{{answers.is_correct}}) c
WHERE NOT {_NO_WINDOW} AND {_IN_WINDOW}
  AND s.{{sessions.status}} = %(status_submitted)s AND s.{{sessions.score_correct}} IS NOT NULL
  AND s.{{sessions.score_correct}} <> c.stored_correct
""",
    },
    {
        "name": "unscored_sessions",
        "description": ("Submitted sessions without a valid score (score missing, score total different from "
                        "the number of questions, or the score outside 0..total)."),
        "max": 0,
        "sql": f"""
SELECT s.{{sessions.id}} AS session_id, s.{{sessions.total_questions}} AS total_questions,
       s.{{sessions.score_correct}} AS score_correct, s.{{sessions.score_total}} AS score_total
FROM {{sessions}} s
WHERE s.{{sessions.status}} = %(status_submitted)s
  AND (s.{{sessions.score_correct}} IS NULL OR s.{{sessions.score_total}} IS NULL
       OR s.{{sessions.score_total}} <> s.{{sessions.total_questions}}
       OR s.{{sessions.score_correct}} < 0 OR s.{{sessions.score_correct}} > s.{{sessions.score_total}})
  AND {_IN_WINDOW}
""",
    },
    {
        "name": "answers_not_in_session",
        "description": ("Answers to a question that is not one of the session's own questions "
                        "(answers whose session does not exist are orphaned_answers)."),
        "max": 0,
        "sql": f"""
SELECT a.{{answers.session_id}} AS session_id, a.{{answers.question_id}} AS question_id
FROM {{answers}} a
JOIN {{sessions}} s ON s.{{sessions.id}} = a.{{answers.session_id}}
WHERE NOT EXISTS (SELECT 1 FROM {{questions}} sq
                  WHERE sq.{{questions.session_id}} = a.{{answers.session_id}}
                    AND sq.{{questions.question_id}} = a.{{answers.question_id}})
  AND {_IN_WINDOW}
""",
    },
    {
        "name": "orphaned_events",
        "description": "Attempt events whose session does not exist (windowed by the event's own time).",
        "max": 0,
        "sql": """
SELECT e.{events.session_id} AS session_id, e.{events.type} AS event_type
FROM {events} e
WHERE NOT EXISTS (SELECT 1 FROM {sessions} s WHERE s.{sessions.id} = e.{events.session_id})
  AND (%(since)s::timestamptz IS NULL OR e.{events.ts} >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR e.{events.ts} < %(until)s::timestamptz)
""",
    },
    {
        "name": "inconsistent_status",
        "description": ("Sessions whose status disagrees with their submit event or their timestamps "
                        "(submitted without the event, the event without submitted, submitted_at on a session "
                        "that is not submitted unless the platform sets it on expiry, or submitted before it "
                        "started)."),
        "max": 0,
        "sql": f"""
SELECT s.{{sessions.id}} AS session_id, s.{{sessions.status}} AS status, s.{{sessions.started_at}} AS started_at,
       s.{{sessions.submitted_at}} AS submitted_at, (sub.session_id IS NOT NULL) AS has_submitted_event
FROM {{sessions}} s
LEFT JOIN (SELECT DISTINCT e.{{events.session_id}} AS session_id FROM {{events}} e
           WHERE e.{{events.type}} = %(submitted_event)s) sub
       ON sub.session_id = s.{{sessions.id}}
WHERE {_NO_WINDOW}
  AND ((s.{{sessions.status}} = %(status_submitted)s) <> (sub.session_id IS NOT NULL)
       OR {_STRAY_SUBMITTED_AT}
       OR s.{{sessions.submitted_at}} < s.{{sessions.started_at}})
UNION ALL
SELECT s.{{sessions.id}} AS session_id, s.{{sessions.status}} AS status, s.{{sessions.started_at}} AS started_at,
       s.{{sessions.submitted_at}} AS submitted_at, sub.has_submitted_event
FROM {{sessions}} s
CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM {{events}} e
                                   WHERE e.{{events.session_id}} = s.{{sessions.id}}
                                     AND e.{{events.type}} = %(submitted_event)s) AS has_submitted_event) sub
WHERE NOT {_NO_WINDOW} AND {_IN_WINDOW}
  AND ((s.{{sessions.status}} = %(status_submitted)s) <> sub.has_submitted_event
       OR {_STRAY_SUBMITTED_AT}
       OR s.{{sessions.submitted_at}} < s.{{sessions.started_at}})
""",
    },
    {
        "name": "duplicate_mastery_updates",
        "description": ("More than one mastery row for one (user, theme); a UNIQUE(user, theme) constraint "
                        "forbids it, so a hit means the constraint is missing or was bypassed."),
        "max": 0,
        "sql": """
SELECT m.{mastery.user_id} AS user_id, m.{mastery.theme_id} AS theme_id, count(*) AS mastery_rows
FROM {mastery} m
GROUP BY m.{mastery.user_id}, m.{mastery.theme_id}
HAVING count(*) > 1
""",
    },
]

DEFAULT_CHECKS_BY_NAME = {check["name"]: check for check in DEFAULT_CHECKS}

# Counts in parallel scans (index-only where an index covers them); sessions with a submit event
# as DISTINCT over the (session_id, event_type) index in its order, without a sort. With a window,
# answers and events are those of the sessions created in it.
STATISTICS_SQL = f"""
SELECT st.sessions, st.submitted_sessions, st.active_sessions, st.expired_sessions, an.answers,
       ev.events, ev.submitted_events, sw.sessions_with_submit_event
FROM (SELECT count(*) AS sessions,
             count(*) FILTER (WHERE s.{{sessions.status}} = %(status_submitted)s) AS submitted_sessions,
             count(*) FILTER (WHERE s.{{sessions.status}} = %(status_active)s) AS active_sessions,
             count(*) FILTER (WHERE s.{{sessions.status}} = %(status_expired)s) AS expired_sessions
      FROM {{sessions}} s WHERE {_IN_WINDOW}) st,
     (SELECT count(*) AS answers
      FROM (SELECT 1 FROM {{answers}} a WHERE {_NO_WINDOW}
            UNION ALL
            SELECT 1 FROM {{sessions}} s JOIN {{answers}} a ON a.{{answers.session_id}} = s.{{sessions.id}}
            WHERE NOT {_NO_WINDOW} AND {_IN_WINDOW}) x) an,
     (SELECT count(*) AS events, count(*) FILTER (WHERE x.event_type = %(submitted_event)s) AS submitted_events
      FROM (SELECT e.{{events.type}} AS event_type FROM {{events}} e WHERE {_NO_WINDOW}
            UNION ALL
            SELECT e.{{events.type}} AS event_type FROM {{sessions}} s
            JOIN {{events}} e ON e.{{events.session_id}} = s.{{sessions.id}}
            WHERE NOT {_NO_WINDOW} AND {_IN_WINDOW}) x) ev,
     (SELECT count(*) AS sessions_with_submit_event
      FROM (SELECT DISTINCT e.{{events.session_id}} FROM {{events}} e
            WHERE {_NO_WINDOW} AND e.{{events.type}} = %(submitted_event)s
            UNION ALL
            SELECT s.{{sessions.id}} FROM {{sessions}} s
            WHERE NOT {_NO_WINDOW} AND {_IN_WINDOW}
              AND EXISTS (SELECT 1 FROM {{events}} e
                          WHERE e.{{events.session_id}} = s.{{sessions.id}}
                            AND e.{{events.type}} = %(submitted_event)s)) x) sw
"""


def merge_checks(user_checks: list[dict] | None, default_checks: bool) -> list[dict]:
    """The checks to run: the default set (when wanted), then user checks adding or overriding by
    name (only the fields given override); `enabled: false` drops a check."""
    merged: dict[str, dict] = {}
    if default_checks:
        for check in DEFAULT_CHECKS:
            merged[check["name"]] = {"name": check["name"], "description": check["description"],
                                     "sql": check["sql"], "max": check["max"], "enabled": True}
    for index, given in enumerate(user_checks or []):
        name = (given.get("name") or "").strip()
        if not name:
            raise OpsError(f"checks[{index}] has no name.")
        base = merged.get(name, {"name": name, "description": "", "sql": None, "max": 0, "enabled": True})
        for key in ("description", "sql", "max", "enabled"):
            if given.get(key) is not None:
                base[key] = given[key]
        merged[name] = base
    out = []
    for check in merged.values():
        if not check["enabled"]:
            continue
        if not check["sql"] or not str(check["sql"]).strip():
            raise OpsError(f"check {check['name']} has no sql (a new check needs sql; only a default check can be overridden without it).")
        if not isinstance(check["max"], int) or isinstance(check["max"], bool) or check["max"] < 0:
            raise OpsError(f"check {check['name']} has max {check['max']!r}; it must be a whole number of rows, 0 or more.")
        out.append(check)
    return out


def prepare_checks(checks: list[dict], params: dict, schema: dict) -> tuple[list[dict], list[dict]]:
    """(runnable checks, unavailable checks): every check rendered for the profile's schema and
    validated (statement and parameters) before anything runs. A check that needs a table or
    column the platform does not have is not measured, with the reason (not a failure)."""
    prepared, unavailable = [], []
    seen = set()
    for check in checks:
        if check["name"] in seen:
            raise OpsError(f"check {check['name']} is declared twice.")
        seen.add(check["name"])
        try:
            rendered = render(check["sql"], schema)
        except Unavailable as exc:
            unavailable.append({"name": check["name"], "description": check["description"], "count": None,
                                "expected": check["max"], "passed": None, "samples": [],
                                "note": f"not measured: examday_platform.{exc.key} is empty (the platform has no "
                                        f"such table or column)"})
            continue
        sql = validate_select(check["name"], rendered)
        missing = sorted(placeholders(check["name"], sql) - set(params) - set(RESERVED_PARAMS))
        if missing:
            raise OpsError(f"check {check['name']} uses %({missing[0]})s but no parameter {missing[0]} was given (add it to params).")
        prepared.append(dict(check, sql=sql))
    return prepared, unavailable


def query_params(since, until, extra: dict | None, schema_values: dict | None = None) -> dict:
    """Named driver parameters for every statement: since, until, the schema's values and the
    user's params."""
    params = {"since": normalize_timestamp("since", since), "until": normalize_timestamp("until", until)}
    params.update(schema_values or {})
    for key, value in (extra or {}).items():
        if key in RESERVED_PARAMS or key in ("since", "until"):
            raise OpsError(f"params may not set {key}; use the option of that name.")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(key)):
            raise OpsError(f"params key {key!r} is not a valid parameter name (letters, digits, underscore).")
        params[str(key)] = value
    return params


def normalize_timestamp(what: str, value):
    """An ISO 8601 timestamp (a Z suffix is UTC) as a timezone-aware datetime, or None."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        parsed = value
    else:
        try:
            parsed = datetime.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise OpsError(f"{what} {value!r} is not an ISO 8601 timestamp (for example 2026-11-21T22:10:03Z).") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def wrap_check(sql: str) -> str:
    """One execution gives the number of failing rows and the first samples. No LIMIT: a LIMIT
    would make the planner choose fast-start plans, while the count needs every row."""
    return (f"SELECT * FROM (SELECT count(*) OVER () AS {COUNT_COLUMN}, row_number() OVER () AS examday_row, "
            f"examday_check.* FROM (\n{sql}\n) AS examday_check) AS examday_counted "
            f"WHERE examday_row <= %({LIMIT_PARAM})s")


def check_result(check: dict, columns: list[str], rows: list, sample_rows: int, duration_s: float) -> dict:
    """Pure: a check's result from the wrapped query's rows (the total count, the row number, then
    the check's own columns)."""
    count = int(rows[0][0]) if rows else 0
    samples = [dict(zip(columns[2:], row[2:])) for row in rows[:sample_rows]]
    return {"name": check["name"], "description": check["description"], "count": count, "expected": check["max"],
            "passed": count <= check["max"], "samples": json_safe(samples), "duration_s": round(duration_s, 3)}
