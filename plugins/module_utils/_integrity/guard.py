# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read-only guard: a check (or a reconciliation query) is accepted only as one read-only
query, refused statically before anything runs; the READ ONLY transaction is the second line of
defence."""
from __future__ import annotations

import re

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError

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
