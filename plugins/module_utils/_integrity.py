# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data-integrity checks and reconciliation of acknowledged writes (module integrity_check).

Checks are data: a name, a description, SQL that selects the failing rows (one row per violation)
and the expected maximum number of such rows. Every statement is validated statically as a single
read-only query before anything runs; the checks then run in one REPEATABLE READ, READ ONLY
transaction (one snapshot) with a statement timeout, which is the second line of defence.
Values reach the server only as driver parameters."""
from __future__ import annotations

import datetime
import json
import re
import time
import uuid

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe

try:
    import psycopg
    DB_ERRORS: tuple = (psycopg.Error,)
except ImportError:
    psycopg = None
    DB_ERRORS = ()

APPLICATION_NAME = "examday.integrity_check"
COUNT_COLUMN = "examday_violations"
LIMIT_PARAM = "examday_sample_limit"
RESERVED_PARAMS = (LIMIT_PARAM,)
WINDOW_SLACK = datetime.timedelta(seconds=60)

# Sessions created in the window [since, until); either end may be NULL (open). With a NULL end
# the condition folds away when PostgreSQL plans the statement with its parameter values.
_IN_WINDOW = ("(%(since)s::timestamptz IS NULL OR s.created_at >= %(since)s::timestamptz) "
              "AND (%(until)s::timestamptz IS NULL OR s.created_at < %(until)s::timestamptz)")
_NO_WINDOW = "(%(since)s::timestamptz IS NULL AND %(until)s::timestamptz IS NULL)"
# Where the best plan differs with and without a window, a check is two UNION ALL branches, one
# guarded by _NO_WINDOW and one by NOT _NO_WINDOW: PostgreSQL drops the branch whose guard is
# false at planning time, so each run gets a plan of its own (one pass over a big table without a
# window; index lookups from the window's sessions with one).

# The default set, for the platform's schema (PLATFORM.md). Each SQL selects the failing rows.
# Where it can, a check selects only columns of an index it scans (index-only scans of the
# (session_id, ...) indexes the schema has), so the heaps of the big tables are not read.
DEFAULT_CHECKS: list[dict] = [
    {
        "name": "orphaned_answers",
        "description": "Answers whose session does not exist.",
        "max": 0,
        "sql": """
SELECT a.session_id, a.question_id
FROM session_answers a
WHERE NOT EXISTS (SELECT 1 FROM test_sessions s WHERE s.id = a.session_id)
""",
    },
    {
        "name": "duplicate_submits",
        "description": "Sessions with more than one SESSION_SUBMITTED event (a double submit that was not idempotent).",
        "max": 0,
        "sql": f"""
SELECT e.session_id, count(*) AS submitted_events
FROM attempt_events e
WHERE {_NO_WINDOW} AND e.event_type = 'SESSION_SUBMITTED'
GROUP BY e.session_id
HAVING count(*) > 1
UNION ALL
SELECT e.session_id, count(*) AS submitted_events
FROM test_sessions s
JOIN attempt_events e ON e.session_id = s.id AND e.event_type = 'SESSION_SUBMITTED'
WHERE NOT {_NO_WINDOW} AND {_IN_WINDOW}
GROUP BY e.session_id
HAVING count(*) > 1
""",
    },
    {
        "name": "missing_answers",
        "description": ("Submitted sessions whose stored correct answers do not add up to their score_correct "
                        "(answers lost or changed after the submit); unanswered questions are legitimate."),
        "max": 0,
        "sql": f"""
SELECT s.id AS session_id, s.score_correct, coalesce(c.stored_correct, 0) AS stored_correct
FROM test_sessions s
LEFT JOIN (SELECT a.session_id, count(*) AS stored_correct
           FROM session_answers a WHERE a.is_correct GROUP BY a.session_id) c ON c.session_id = s.id
WHERE {_NO_WINDOW}
  AND s.status = 'SUBMITTED' AND s.score_correct IS NOT NULL
  AND s.score_correct <> coalesce(c.stored_correct, 0)
UNION ALL
SELECT s.id AS session_id, s.score_correct, c.stored_correct
FROM test_sessions s
CROSS JOIN LATERAL (SELECT count(*) AS stored_correct FROM session_answers a
                    WHERE a.session_id = s.id AND a.is_correct) c
WHERE NOT {_NO_WINDOW} AND {_IN_WINDOW}
  AND s.status = 'SUBMITTED' AND s.score_correct IS NOT NULL
  AND s.score_correct <> c.stored_correct
""",
    },
    {
        "name": "unscored_sessions",
        "description": ("Submitted sessions without a valid score (score_correct or score_total missing, "
                        "score_total different from total_questions, or score_correct outside 0..score_total)."),
        "max": 0,
        "sql": f"""
SELECT s.id AS session_id, s.total_questions, s.score_correct, s.score_total
FROM test_sessions s
WHERE s.status = 'SUBMITTED'
  AND (s.score_correct IS NULL OR s.score_total IS NULL OR s.score_total <> s.total_questions
       OR s.score_correct < 0 OR s.score_correct > s.score_total)
  AND {_IN_WINDOW}
""",
    },
    {
        "name": "answers_not_in_session",
        "description": ("Answers to a question that is not one of the session's own questions "
                        "(answers whose session does not exist are orphaned_answers)."),
        "max": 0,
        "sql": f"""
SELECT a.session_id, a.question_id
FROM session_answers a
JOIN test_sessions s ON s.id = a.session_id
WHERE NOT EXISTS (SELECT 1 FROM session_questions sq
                  WHERE sq.session_id = a.session_id AND sq.question_id = a.question_id)
  AND {_IN_WINDOW}
""",
    },
    {
        "name": "orphaned_events",
        "description": "Attempt events whose session does not exist (windowed by the event's own time).",
        "max": 0,
        "sql": """
SELECT e.session_id, e.event_type
FROM attempt_events e
WHERE NOT EXISTS (SELECT 1 FROM test_sessions s WHERE s.id = e.session_id)
  AND (%(since)s::timestamptz IS NULL OR e.event_ts >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR e.event_ts < %(until)s::timestamptz)
""",
    },
    {
        "name": "inconsistent_status",
        "description": ("Sessions whose status disagrees with their SESSION_SUBMITTED event or their timestamps "
                        "(SUBMITTED without the event, the event without SUBMITTED, submitted_at on a session "
                        "that is not SUBMITTED, or submitted before it started)."),
        "max": 0,
        "sql": f"""
SELECT s.id AS session_id, s.status, s.started_at, s.submitted_at, (sub.session_id IS NOT NULL) AS has_submitted_event
FROM test_sessions s
LEFT JOIN (SELECT DISTINCT e.session_id FROM attempt_events e WHERE e.event_type = 'SESSION_SUBMITTED') sub
       ON sub.session_id = s.id
WHERE {_NO_WINDOW}
  AND ((s.status = 'SUBMITTED') <> (sub.session_id IS NOT NULL)
       OR (s.status <> 'SUBMITTED' AND s.submitted_at IS NOT NULL)
       OR s.submitted_at < s.started_at)
UNION ALL
SELECT s.id AS session_id, s.status, s.started_at, s.submitted_at, sub.has_submitted_event
FROM test_sessions s
CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM attempt_events e
                                   WHERE e.session_id = s.id AND e.event_type = 'SESSION_SUBMITTED')
                    AS has_submitted_event) sub
WHERE NOT {_NO_WINDOW} AND {_IN_WINDOW}
  AND ((s.status = 'SUBMITTED') <> sub.has_submitted_event
       OR (s.status <> 'SUBMITTED' AND s.submitted_at IS NOT NULL)
       OR s.submitted_at < s.started_at)
""",
    },
    {
        "name": "duplicate_mastery_updates",
        "description": ("More than one mastery row for one (user_id, theme_id); UNIQUE(user_id, theme_id) "
                        "forbids it, so a hit means the constraint is missing or was bypassed."),
        "max": 0,
        "sql": """
SELECT m.user_id, m.theme_id, count(*) AS mastery_rows
FROM user_theme_mastery m
GROUP BY m.user_id, m.theme_id
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
             count(*) FILTER (WHERE s.status = 'SUBMITTED') AS submitted_sessions,
             count(*) FILTER (WHERE s.status = 'ACTIVE') AS active_sessions,
             count(*) FILTER (WHERE s.status = 'EXPIRED') AS expired_sessions
      FROM test_sessions s WHERE {_IN_WINDOW}) st,
     (SELECT count(*) AS answers
      FROM (SELECT 1 FROM session_answers a WHERE {_NO_WINDOW}
            UNION ALL
            SELECT 1 FROM test_sessions s JOIN session_answers a ON a.session_id = s.id
            WHERE NOT {_NO_WINDOW} AND {_IN_WINDOW}) x) an,
     (SELECT count(*) AS events, count(*) FILTER (WHERE x.event_type = 'SESSION_SUBMITTED') AS submitted_events
      FROM (SELECT e.event_type FROM attempt_events e WHERE {_NO_WINDOW}
            UNION ALL
            SELECT e.event_type FROM test_sessions s JOIN attempt_events e ON e.session_id = s.id
            WHERE NOT {_NO_WINDOW} AND {_IN_WINDOW}) x) ev,
     (SELECT count(*) AS sessions_with_submit_event
      FROM (SELECT DISTINCT e.session_id FROM attempt_events e
            WHERE {_NO_WINDOW} AND e.event_type = 'SESSION_SUBMITTED'
            UNION ALL
            SELECT s.id FROM test_sessions s
            WHERE NOT {_NO_WINDOW} AND {_IN_WINDOW}
              AND EXISTS (SELECT 1 FROM attempt_events e
                          WHERE e.session_id = s.id AND e.event_type = 'SESSION_SUBMITTED')) x) sw
"""

# Reconciliation reads (platform schema); ids always as array parameters.
RECONCILE_SESSIONS_SQL = """
SELECT s.id::text AS session_id, s.user_id, s.status, s.score_correct, s.created_at
FROM test_sessions s WHERE s.id = ANY(%(ids)s::uuid[])
"""
RECONCILE_SUBMIT_EVENTS_SQL = """
SELECT e.session_id::text AS session_id, count(*) AS submitted_events
FROM attempt_events e
WHERE e.session_id = ANY(%(ids)s::uuid[]) AND e.event_type = 'SESSION_SUBMITTED'
GROUP BY e.session_id
"""
RECONCILE_ANSWERS_SQL = """
SELECT a.session_id::text AS session_id, a.question_id, a.selected_index
FROM unnest(%(sids)s::uuid[], %(qids)s::bigint[]) AS k(session_id, question_id)
JOIN session_answers a ON a.session_id = k.session_id AND a.question_id = k.question_id
"""
RECONCILE_USER_SESSIONS_SQL = """
SELECT s.id::text AS session_id, s.user_id, s.status, s.created_at
FROM test_sessions s
WHERE s.user_id = ANY(%(users)s) AND s.created_at >= %(since)s::timestamptz AND s.created_at < %(until)s::timestamptz
"""


# ------------------------------------------------------------------ checks as data
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


# ------------------------------------------------------------------ static validation
_WORD = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_NUMBER = re.compile(r"[0-9._]+(?:[eE][+-]?[0-9]+)?")
_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\)(?P<kind>.)|(?P<other>.)|$)", re.S)

STATEMENT_STARTS = ("select", "with", "values", "table")
# Words that make a query data-modifying (a CTE may INSERT, UPDATE, DELETE or MERGE), a
# table-writing SELECT ... INTO, or DDL; other commands cannot be nested in a query and are caught
# by the first-word and single-statement rules.
FORBIDDEN_WORDS = frozenset((
    "insert", "update", "delete", "merge", "into", "truncate", "drop", "alter", "create", "grant", "revoke",
    "copy"))
LOCKING_AFTER_FOR = frozenset(("update", "share", "no", "key"))
DANGEROUS_FUNCTIONS = frozenset((
    "pg_terminate_backend", "pg_cancel_backend", "setval", "nextval", "set_config", "pg_reload_conf",
    "pg_rotate_logfile", "pg_switch_wal", "pg_create_restore_point", "pg_promote", "pg_notify",
    "pg_read_file", "pg_read_binary_file", "pg_stat_file", "query_to_xml", "query_to_xmlschema",
    "query_to_xml_and_xmlschema", "cursor_to_xml", "cursor_to_xmlschema", "ts_stat", "pg_logical_emit_message",
    "pg_log_backend_memory_contexts", "pg_import_system_collations", "pg_backup_start", "pg_backup_stop",
    "pg_start_backup", "pg_stop_backup", "pg_wal_replay_pause", "pg_wal_replay_resume", "pg_sleep",
    "pg_sleep_for", "pg_sleep_until"))
DANGEROUS_PREFIXES = ("pg_advisory", "pg_try_advisory", "dblink", "lo_", "pg_ls_", "pg_file_", "pg_stat_reset",
                      "pg_replication_", "pg_create_", "pg_drop_", "pg_copy_")


def tokenize(sql: str) -> list[tuple[str, str, int, int]]:
    """PostgreSQL's lexical structure, enough to find words outside strings, quoted identifiers and
    comments: (kind, value, start, end) with kind word (lower-cased), ident (quoted identifier),
    string, number or op. Raises ValueError for an unterminated string, identifier or comment."""
    tokens: list[tuple[str, str, int, int]] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        start = i
        if ch.isspace():
            i += 1
            continue
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if sql.startswith("/*", i):
            i = _comment_end(sql, i)
            continue
        if ch == "'":
            prev = tokens[-1] if tokens else None
            escapes = prev is not None and prev[0] == "word" and prev[1] == "e" and prev[3] == i
            i = _string_end(sql, i, escapes)
            tokens.append(("string", "", start, i))
        elif ch == '"':
            value, i = _quoted_identifier(sql, i)
            tokens.append(("ident", value, start, i))
        elif ch == "$" and _DOLLAR_TAG.match(sql, i):
            tag = _DOLLAR_TAG.match(sql, i).group(0)
            end = sql.find(tag, i + len(tag))
            if end < 0:
                raise ValueError("an unterminated dollar-quoted string")
            i = end + len(tag)
            tokens.append(("string", "", start, i))
        elif _WORD.match(sql, i):
            word = _WORD.match(sql, i).group(0)
            i += len(word)
            tokens.append(("word", word.lower(), start, i))
        elif ch.isdigit() or (ch == "." and i + 1 < n and sql[i + 1].isdigit()):
            i = _NUMBER.match(sql, i).end()
            tokens.append(("number", sql[start:i], start, i))
        else:
            i += 1
            tokens.append(("op", ch, start, i))
    return tokens


def _comment_end(sql: str, i: int) -> int:
    depth, i, n = 1, i + 2, len(sql)
    while depth and i < n:
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    if depth:
        raise ValueError("an unterminated /* comment")
    return i


def _string_end(sql: str, i: int, escapes: bool) -> int:
    j = i + 1
    while j < len(sql):
        c = sql[j]
        if escapes and c == "\\":
            j += 2
            continue
        if c == "'":
            if sql.startswith("''", j):
                j += 2
                continue
            return j + 1
        j += 1
    raise ValueError("an unterminated string literal")


def _quoted_identifier(sql: str, i: int) -> tuple[str, int]:
    j, parts = i + 1, []
    while True:
        k = sql.find('"', j)
        if k < 0:
            raise ValueError("an unterminated quoted identifier")
        parts.append(sql[j:k])
        if sql.startswith('""', k):
            parts.append('"')
            j = k + 2
            continue
        return "".join(parts), k + 1


def validate_select(name: str, sql: str) -> str:
    """Returns the statement without trailing semicolons and comments when it is one read-only
    query (SELECT, WITH ... SELECT, VALUES or TABLE) with no data-modifying part, locking clause,
    INTO or call of a known dangerous function; otherwise raises OpsError with one sentence."""
    rule = "a check must be one SELECT, WITH ... SELECT, VALUES or TABLE statement"
    try:
        tokens = tokenize(sql)
    except ValueError as exc:
        raise OpsError(f"check {name} is not a complete statement: it has {exc}.") from None
    while tokens and tokens[-1][:2] == ("op", ";"):
        tokens.pop()
    if not tokens:
        raise OpsError(f"check {name} has no statement ({rule}).")
    if any(t[:2] == ("op", ";") for t in tokens):
        raise OpsError(f"check {name} has more than one statement ({rule}).")
    first = next((t for t in tokens if t[:2] != ("op", "(")), ("op", "", 0, 0))
    if first[0] != "word" or first[1] not in STATEMENT_STARTS:
        raise OpsError(f"check {name} starts with {first[1].upper() or 'nothing'} ({rule}).")
    for index, (kind, value, _start, end) in enumerate(tokens):
        following = tokens[index + 1][:2] if index + 1 < len(tokens) else ("", "")
        if kind == "word" and value == "u" and following == ("op", "&") and tokens[index + 1][2] == end:
            # U&"..." spells identifiers with escapes, which would hide a function's name from this check
            raise OpsError(f"check {name} uses a Unicode-escaped name (U&...), which a check must not.")
        if kind == "word" and value in FORBIDDEN_WORDS:
            what = "SELECT ... INTO" if value == "into" else value.upper()
            raise OpsError(f"check {name} is not read-only: it contains {what} ({rule}, without data-modifying parts).")
        if kind == "word" and value == "for" and following[0] == "word" and following[1] in LOCKING_AFTER_FOR:
            raise OpsError(f"check {name} takes row locks (FOR {following[1].upper()} ...), which a read-only check must not.")
        if kind in ("word", "ident") and following == ("op", "(") and _dangerous(value):
            raise OpsError(f"check {name} calls {value}(), which is not allowed in a read-only check.")
    return sql[tokens[0][2]:tokens[-1][3]]


def _dangerous(function: str) -> bool:
    lowered = function.lower()
    return lowered in DANGEROUS_FUNCTIONS or lowered.startswith(DANGEROUS_PREFIXES)


def placeholders(name: str, sql: str) -> set[str]:
    """The %(name)s parameters a statement uses; a bare % must be written %% (psycopg's rule)."""
    used = set()
    for m in _PLACEHOLDER.finditer(sql):
        if m.group("name") is not None:
            if m.group("kind") not in ("s", "b", "t"):
                raise OpsError(f"check {name} has a placeholder %({m.group('name')}){m.group('kind')}; use %({m.group('name')})s.")
            used.add(m.group("name"))
        elif m.group("other") != "%":
            raise OpsError(f"check {name} has a % that is not a placeholder; write %% for a literal percent sign.")
    return used


def prepare_checks(checks: list[dict], params: dict) -> list[dict]:
    """Validates every check (statement and parameters) before anything runs."""
    prepared = []
    seen = set()
    for check in checks:
        if check["name"] in seen:
            raise OpsError(f"check {check['name']} is declared twice.")
        seen.add(check["name"])
        sql = validate_select(check["name"], check["sql"])
        missing = sorted(placeholders(check["name"], sql) - set(params) - set(RESERVED_PARAMS))
        if missing:
            raise OpsError(f"check {check['name']} uses %({missing[0]})s but no parameter {missing[0]} was given (add it to params).")
        prepared.append(dict(check, sql=sql))
    return prepared


def query_params(since, until, extra: dict | None) -> dict:
    """Named driver parameters for every statement: since, until and the user's params."""
    params = {"since": normalize_timestamp("since", since), "until": normalize_timestamp("until", until)}
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


# ------------------------------------------------------------------ running in one snapshot
def sql_error_sentence(what: str, exc: Exception, timeout_s: int) -> str:
    """One sentence for a server error while running `what` (a check, statistics, reconciliation)."""
    state = getattr(exc, "sqlstate", None)
    if state == "25006":
        return f"{what} tried to change data and the READ ONLY transaction refused it; nothing was changed."
    if state == "57014":
        return f"{what} did not finish within the statement timeout of {timeout_s} s (raise statement_timeout or narrow the window with since)."
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"{what} failed on the server: {primary.rstrip('.')}."


def begin_snapshot(conn, timeout_s: int) -> dict:
    """Opens the REPEATABLE READ, READ ONLY transaction with statement and lock timeouts; returns
    what the server says about it (proof, for the evidence)."""
    conn.autocommit = False
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    conn.prepare_threshold = None
    with conn.cursor() as cur:
        cur.execute("SELECT set_config('statement_timeout', %(t)s, true), set_config('lock_timeout', %(t)s, true), "
                    "current_setting('transaction_isolation'), current_setting('transaction_read_only'), "
                    "now(), current_setting('application_name'), current_setting('server_version')",
                    {"t": f"{int(timeout_s)}s"})
        row = cur.fetchone()
    snapshot = {"isolation": row[2], "read_only": row[3] == "on", "taken_at": utc_iso(row[4]),
                "application_name": row[5], "server_version": row[6], "statement_timeout_s": int(timeout_s)}
    if snapshot["isolation"] != "repeatable read" or not snapshot["read_only"]:
        raise OpsError("the server did not open a REPEATABLE READ, READ ONLY transaction; nothing was run.")
    return snapshot


def run_checks(cur, checks: list[dict], params: dict, sample_rows: int, timeout_s: int, clock=time.monotonic) -> list[dict]:
    """Runs prepared (validated) checks on a cursor inside the snapshot."""
    results = []
    for check in checks:
        started = clock()
        try:
            cur.execute(wrap_check(check["sql"]), dict(params, **{LIMIT_PARAM: max(1, sample_rows)}))
            rows = cur.fetchall()
        except DB_ERRORS as exc:
            raise OpsError(sql_error_sentence(f"check {check['name']}", exc, timeout_s), checks=results) from None
        columns = [d.name for d in cur.description]
        results.append(check_result(check, columns, rows, sample_rows, clock() - started))
    return results


def run_statistics(cur, params: dict, timeout_s: int) -> dict:
    try:
        cur.execute(STATISTICS_SQL, params)
        row = cur.fetchone()
    except DB_ERRORS as exc:
        raise OpsError(sql_error_sentence("the summary statistics", exc, timeout_s)) from None
    return json_safe(dict(zip([d.name for d in cur.description], row)))


def utc_iso(value) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


# ------------------------------------------------------------------ acknowledged writes
ACK_KINDS = ("session", "answer", "submit")


def parse_acks(lines, source: str) -> list[dict]:
    """acks.jsonl lines (docs/evidence.md) -> normalized acks with their origin; unknown kinds are
    kept as kind 'other'. Raises OpsError naming the file and line for anything malformed."""
    acks = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        where = f"{source} line {number}"
        try:
            obj = json.loads(text)
        except ValueError:
            raise OpsError(f"acks file {where} is not valid JSON.") from None
        if not isinstance(obj, dict):
            raise OpsError(f"acks file {where} is not a JSON object.")
        kind = obj.get("kind")
        if kind not in ACK_KINDS:
            acks.append({"kind": "other", "source": where})
            continue
        ack = {"kind": kind, "session_id": _uuid(obj.get("session_id"), where), "ts": _ack_ts(obj.get("ts"), where),
               "source": where, "order": (source, number)}
        if kind == "session":
            ack["user"] = obj.get("user")
        elif kind == "answer":
            qid = obj.get("question_id")
            if not isinstance(qid, int) or isinstance(qid, bool):
                raise OpsError(f"acks file {where} has no integer question_id.")
            sel = obj.get("selected_index")
            if sel is not None and (not isinstance(sel, int) or isinstance(sel, bool)):
                raise OpsError(f"acks file {where} has a selected_index that is neither an integer nor null.")
            ack.update(question_id=qid, selected_index=sel)
        else:
            ack.update(idempotency_key=obj.get("idempotency_key"), score_correct=obj.get("score_correct"))
        acks.append(ack)
    return acks


def _uuid(value, where: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise OpsError(f"acks file {where} has a session_id that is not a UUID.") from None


def _ack_ts(value, where: str):
    if value in (None, ""):
        return None
    try:
        return normalize_timestamp("ts", value)
    except OpsError:
        raise OpsError(f"acks file {where} has a ts that is not an ISO 8601 timestamp.") from None


def summarize_acks(acks: list[dict]) -> dict:
    """What must be in the database: acknowledged sessions, the last acknowledged selected_index per
    (session_id, question_id) (by ts, then file order), acknowledged submits."""
    counts = {kind: 0 for kind in ACK_KINDS}
    counts["other"] = 0
    sessions: dict[str, dict] = {}
    submits: dict[str, dict] = {}
    answers: dict[tuple, dict] = {}
    stamps = []
    for ack in acks:
        counts[ack["kind"]] += 1
        if ack["kind"] == "other":
            continue
        if ack.get("ts") is not None:
            stamps.append(ack["ts"])
        if ack["kind"] == "session":
            sessions.setdefault(ack["session_id"], ack)
        elif ack["kind"] == "submit":
            submits.setdefault(ack["session_id"], ack)
        else:
            key = (ack["session_id"], ack["question_id"])
            if key not in answers or _ack_sort_key(ack) >= _ack_sort_key(answers[key]):
                answers[key] = ack
    return {"counts": counts, "sessions": sessions, "answers": answers, "submits": submits,
            "first_ts": min(stamps) if stamps else None, "last_ts": max(stamps) if stamps else None}


def _ack_sort_key(ack: dict):
    ts = ack.get("ts") or datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
    return (ts, ack["order"])


def acked_session_ids(summary: dict) -> list[str]:
    ids = set(summary["sessions"]) | set(summary["submits"]) | {sid for sid, _qid in summary["answers"]}
    return sorted(ids)


def batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def unexpected_window(summary: dict, since, until) -> tuple | None:
    """Where to look for sessions nobody acknowledged: since/until, else the acks' own time span
    widened by WINDOW_SLACK on both sides (clocks of client and server differ a little)."""
    start = since or (summary["first_ts"] - WINDOW_SLACK if summary["first_ts"] else None)
    end = until or (summary["last_ts"] + WINDOW_SLACK if summary["last_ts"] else None)
    if start is None or end is None:
        return None
    return start, end


def fetch_reconciliation(cur, summary: dict, batch_size: int, since=None, until=None) -> dict:
    """Reads, in batches of array parameters, what the database holds for the acknowledged writes."""
    ids = acked_session_ids(summary)
    stored_sessions: dict[str, dict] = {}
    for chunk in batches(ids, batch_size):
        cur.execute(RECONCILE_SESSIONS_SQL, {"ids": chunk})
        for row in cur.fetchall():
            stored_sessions[row[0]] = {"user_id": row[1], "status": row[2], "score_correct": row[3], "created_at": row[4]}
    submit_events: dict[str, int] = {}
    for chunk in batches(sorted(summary["submits"]), batch_size):
        cur.execute(RECONCILE_SUBMIT_EVENTS_SQL, {"ids": chunk})
        submit_events.update({row[0]: int(row[1]) for row in cur.fetchall()})
    stored_answers: dict[tuple, object] = {}
    for chunk in batches(sorted(summary["answers"]), batch_size):
        cur.execute(RECONCILE_ANSWERS_SQL, {"sids": [k[0] for k in chunk], "qids": [k[1] for k in chunk]})
        stored_answers.update({(row[0], int(row[1])): row[2] for row in cur.fetchall()})
    user_sessions: list[dict] = []
    window = unexpected_window(summary, since, until)
    users = sorted({s["user_id"] for s in stored_sessions.values() if s["user_id"] is not None}, key=str)
    if window and users:
        for chunk in batches(users, batch_size):
            cur.execute(RECONCILE_USER_SESSIONS_SQL, {"users": chunk, "since": window[0], "until": window[1]})
            user_sessions.extend({"session_id": row[0], "user_id": row[1], "status": row[2], "created_at": row[3]}
                                 for row in cur.fetchall())
    return {"sessions": stored_sessions, "submit_events": submit_events, "answers": stored_answers,
            "user_sessions": user_sessions, "window": window}


def reconcile(summary: dict, stored: dict, sample_rows: int) -> dict:
    """Pure: acknowledged writes against what is stored. Lost = acknowledged but absent (session
    missing, answer row missing, submit not SUBMITTED or without its event); mismatched = stored
    value differs from the last acknowledged one; duplicates = more than one SESSION_SUBMITTED for
    an acknowledged submit; unexpected = sessions of the same users in the window that nobody
    acknowledged (reported, not a failure)."""
    lost, mismatched, duplicates = [], [], []
    sessions = stored["sessions"]
    for sid in sorted(summary["sessions"]):
        if sid not in sessions:
            lost.append({"kind": "session", "session_id": sid, "ack": summary["sessions"][sid]["source"]})
    matched_answers = 0
    for key in sorted(summary["answers"]):
        ack = summary["answers"][key]
        if key not in stored["answers"]:
            lost.append({"kind": "answer", "session_id": key[0], "question_id": key[1],
                         "selected_index": ack["selected_index"], "ack": ack["source"]})
        elif stored["answers"][key] != ack["selected_index"]:
            mismatched.append({"kind": "answer", "session_id": key[0], "question_id": key[1],
                               "acknowledged": ack["selected_index"], "stored": stored["answers"][key],
                               "ack": ack["source"]})
        else:
            matched_answers += 1
    submitted, matched_submits = 0, 0
    for sid in sorted(summary["submits"]):
        ack = summary["submits"][sid]
        row = sessions.get(sid)
        events = stored["submit_events"].get(sid, 0)
        if row is None or row["status"] != "SUBMITTED" or events == 0:
            lost.append({"kind": "submit", "session_id": sid, "status": row["status"] if row else None,
                         "submitted_events": events, "ack": ack["source"]})
            continue
        submitted += 1
        ok = True
        if events > 1:
            duplicates.append({"session_id": sid, "submitted_events": events, "ack": ack["source"]})
            ok = False
        if ack.get("score_correct") is not None and row["score_correct"] != ack["score_correct"]:
            mismatched.append({"kind": "submit", "session_id": sid, "acknowledged": ack["score_correct"],
                               "stored": row["score_correct"], "ack": ack["source"]})
            ok = False
        matched_submits += ok
    acked = set(acked_session_ids(summary))
    unexpected = [dict(s) for s in stored["user_sessions"] if s["session_id"] not in acked]
    window = stored.get("window")
    result = {
        "acknowledged": {kind: summary["counts"][kind] for kind in ACK_KINDS},
        "ignored_lines": summary["counts"]["other"],
        "distinct": {"session": len(summary["sessions"]), "answer": len(summary["answers"]),
                     "submit": len(summary["submits"])},
        "stored": {"session": sum(1 for sid in summary["sessions"] if sid in sessions),
                   "answer": sum(1 for key in summary["answers"] if key in stored["answers"]),
                   "submit": submitted},
        "matched": {"session": sum(1 for sid in summary["sessions"] if sid in sessions),
                    "answer": matched_answers, "submit": matched_submits},
        "lost": {"count": len(lost), "samples": lost[:sample_rows]},
        "mismatched": {"count": len(mismatched), "samples": mismatched[:sample_rows]},
        "duplicates": {"count": len(duplicates), "samples": duplicates[:sample_rows]},
        "unexpected": {"count": len(unexpected), "samples": unexpected[:sample_rows],
                       "window": [utc_iso(window[0]), utc_iso(window[1])] if window else None},
    }
    result["passed"] = not (lost or mismatched or duplicates)
    return json_safe(result)


def read_acks(paths: list[str], opener=open) -> list[dict]:
    acks = []
    for path in paths:
        try:
            with opener(path, encoding="utf-8") as fh:
                acks.extend(parse_acks(fh, path))
        except OSError as exc:
            raise OpsError(f"cannot read acks file {path}: {exc.strerror or exc}.") from None
    return acks


# ------------------------------------------------------------------ the whole run
def verdict(checks: list[dict], reconciliation: dict | None) -> dict:
    failed = [c["name"] for c in checks if not c["passed"]]
    passed = not failed and (reconciliation is None or reconciliation["passed"])
    return {"passed": passed, "failed_checks": failed}


def summary_message(checks: list[dict], reconciliation: dict | None) -> str:
    failed = [c["name"] for c in checks if not c["passed"]]
    text = f"{len(checks) - len(failed)} of {len(checks)} integrity checks passed"
    if failed:
        text += " (failing: " + ", ".join(failed) + ")"
    if reconciliation is not None:
        if reconciliation["passed"]:
            text += "; reconciliation passed"
        else:
            text += (f"; reconciliation failed (lost {reconciliation['lost']['count']}, mismatched "
                     f"{reconciliation['mismatched']['count']}, duplicates {reconciliation['duplicates']['count']})")
    return text + "."


class IntegrityCheck:
    """The module's manager: validate everything, connect, run all in one read-only snapshot."""

    def __init__(self, params: dict, connect, opener=open):
        self.p = params
        self.connect = connect
        self.opener = opener

    def plan(self) -> tuple[list[dict], dict, dict | None]:
        p = self.p
        if p["sample_rows"] < 0:
            raise OpsError("sample_rows must be 0 or more.")
        if p["statement_timeout"] < 1:
            raise OpsError("statement_timeout must be at least 1 second.")
        if p["batch_size"] < 1:
            raise OpsError("batch_size must be at least 1.")
        params = query_params(p.get("since"), p.get("until"), p.get("params"))
        if params["since"] and params["until"] and params["since"] >= params["until"]:
            raise OpsError("since must be earlier than until.")
        checks = prepare_checks(merge_checks(p.get("checks"), p["default_checks"]), params)
        if p["statistics"]:
            validate_select("statistics", STATISTICS_SQL)
        summary = summarize_acks(read_acks(p["acks"], self.opener)) if p.get("acks") else None
        return checks, params, summary

    def run(self) -> dict:
        checks, params, summary = self.plan()
        timeout = self.p["statement_timeout"]
        conn = self.connect()
        try:
            try:
                snapshot = begin_snapshot(conn, timeout)
            except DB_ERRORS as exc:
                raise OpsError(sql_error_sentence("opening the read-only snapshot", exc, timeout)) from None
            with conn.cursor() as cur:
                results = run_checks(cur, checks, params, self.p["sample_rows"], timeout)
                statistics = run_statistics(cur, params, timeout) if self.p["statistics"] else None
                reconciliation = None
                if summary is not None:
                    try:
                        stored = fetch_reconciliation(cur, summary, self.p["batch_size"], params["since"], params["until"])
                    except DB_ERRORS as exc:
                        raise OpsError(sql_error_sentence("the reconciliation", exc, timeout), checks=results) from None
                    reconciliation = reconcile(summary, stored, self.p["sample_rows"])
        finally:
            try:
                conn.rollback()
            except DB_ERRORS:
                pass                  # a broken connection: the error that broke it is reported
            finally:
                conn.close()
        out = verdict(results, reconciliation)
        result = {"changed": False, "passed": out["passed"], "failed_checks": out["failed_checks"],
                  "checks": results, "snapshot": snapshot,
                  "window": {"since": utc_iso(params["since"]), "until": utc_iso(params["until"])},
                  "msg": summary_message(results, reconciliation)}
        if statistics is not None:
            result["statistics"] = statistics
        if reconciliation is not None:
            result["reconciliation"] = reconciliation
        return json_safe(result)
