# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQL written against the platform profile's schema (examday_platform.schema): `{sessions}` is the
sessions table, `{sessions.id}` its id column, `{type:sessions.id}` that column's SQL type (read
from the catalog, for casts of ids given as text). Identifiers are quoted; a column the profile
leaves empty makes the statement unavailable (its check is not measured, and says why)."""
from __future__ import annotations

import re

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError

_REF = re.compile(r"\{(type:)?([a-z_]+)(?:\.([a-z_]+))?\}")
_TYPE = re.compile(r"^[a-z0-9 _(),\[\]\"]{1,80}$")
SCHEMA_PARAMS = ("status_active", "status_submitted", "status_expired", "submitted_event", "expiry_sets_submitted_at")


def schema_params(schema: dict) -> dict:
    """Values the default SQL reads as parameters (never spelled into the statement)."""
    st = schema["statuses"]
    return {"status_active": st["active"], "status_submitted": st["submitted"], "status_expired": st["expired"],
            "submitted_event": schema["submitted_event"],
            "expiry_sets_submitted_at": bool(schema["expiry_sets_submitted_at"])}


class Unavailable(Exception):
    """The statement needs a table or column the profile says the platform does not have."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_table(name: str) -> str:
    return ".".join(quote_ident(part) for part in name.split("."))


def references(template: str, schema: dict) -> set[tuple[str, str | None, bool]]:
    """The (table, column, is_type) references of a template that name the schema."""
    return {(m.group(2), m.group(3), bool(m.group(1))) for m in _REF.finditer(template)
            if isinstance(schema.get(m.group(2)), dict) and "table" in schema[m.group(2)]}


def render(template: str, schema: dict, types: dict | None = None) -> str:
    """The statement with the schema's quoted names (and column types) in place of references.
    Braces that do not name a schema table are left as they are (a user's own SQL)."""
    def sub(m):
        is_type, table, column = m.groups()
        entry = schema.get(table)
        if not isinstance(entry, dict) or "table" not in entry:
            return m.group(0)
        if column is None:
            if not entry["table"]:
                raise Unavailable(f"schema.{table}.table")
            return quote_table(entry["table"])
        if column not in entry or column == "table":
            raise OpsError(f"the SQL refers to {{{table}.{column}}}, which examday_platform.schema.{table} does not have "
                           f"(it has {', '.join(sorted(k for k in entry if k != 'table'))}).")
        if not entry[column]:
            raise Unavailable(f"schema.{table}.{column}")
        if is_type:
            if types is None or (table, column) not in types:
                raise OpsError(f"the type of {{{table}.{column}}} was not read from the database.")
            return types[(table, column)]
        return quote_ident(entry[column])
    return _REF.sub(sub, template)


COLUMN_TYPE_SQL = """
SELECT format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
WHERE a.attrelid = to_regclass(%(table)s) AND a.attname = %(column)s AND a.attnum > 0 AND NOT a.attisdropped
"""


def column_types(cur, schema: dict, refs: set) -> dict:
    """{(table, column): SQL type} of the referenced columns, from the catalog (same snapshot)."""
    out = {}
    for table, column, is_type in sorted(refs, key=str):
        if not is_type:
            continue
        entry = schema[table]
        if not entry["table"] or not entry.get(column):
            raise Unavailable(f"schema.{table}.{column if entry['table'] else 'table'}")
        cur.execute(COLUMN_TYPE_SQL, {"table": quote_table(entry["table"]), "column": entry[column]})
        row = cur.fetchone()
        if not row or not row[0]:
            raise OpsError(f"the database has no column {entry['table']}.{entry[column]} "
                           f"(examday_platform.schema.{table}.{column}).")
        if not _TYPE.match(row[0]):
            raise OpsError(f"the column {entry['table']}.{entry[column]} has a type this tool does not cast to: {row[0]}.")
        out[(table, column)] = row[0]
    return out
