# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A platform's flag rows (the profile's exam_mode.flag: table, columns, value type): read one, or
write one as an upsert, on a connection the caller owns. EXAM_MODE's flag mechanism and the rollback
guard's switch for new sessions share it."""
from __future__ import annotations

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError

# How a boolean is written to the flag's value column, by its SQL type.
VALUE_FORMATS = {
    "jsonb": ("to_jsonb(%s::boolean)", lambda v: v),
    "boolean": ("%s::boolean", lambda v: v),
    "text": ("%s::text", lambda v: "true" if v else "false"),
    "integer": ("%s::integer", lambda v: 1 if v else 0),
}
UPDATED_BY_CASTS = {"uuid": "%s::uuid", "text": "%s::text", "integer": "%s::integer"}


def truthy(value) -> bool:
    if isinstance(value, dict):
        value = value.get("enabled")
    if isinstance(value, str):
        return value.strip().strip('"').lower() in ("1", "true", "yes", "on")
    return bool(value)


def flag_sql(flag: dict, template: str, **columns):
    from psycopg import sql  # the flag mechanisms need psycopg; the modules report it if missing
    names = {k: sql.Identifier(flag[f"{k}_column"]) for k in ("key", "value")}
    names.update({k: sql.Identifier(v) for k, v in columns.items()})
    return sql.SQL(template).format(table=sql.Identifier(*flag["table"].split(".")), **names)


def read_flag(conn, flag: dict, key: str) -> bool | None:
    """The flag `key` as a boolean; None when it has no row."""
    try:
        with conn.cursor() as cur:
            cur.execute(flag_sql(flag, "SELECT {value} FROM {table} WHERE {key} = %s"), (key,))
            row = cur.fetchone()
        conn.rollback()
    except Exception as exc:
        raise OpsError(f"cannot read {flag['table']}.{key}: {str(exc).strip().splitlines()[0]}.") from None
    return None if row is None else truthy(row[0])


def upsert_flag(conn, flag: dict, key: str, value: bool, reason: str) -> None:
    """Sets the flag `key` to `value` (the row is created when missing), with who and why where the
    table has those columns; a driver error becomes one sentence."""
    expr, encode = VALUE_FORMATS[flag["value_type"]]
    cols, values, args = ["{key}", "{value}"], ["%s", expr], [key, encode(value)]
    sets = ["{value} = EXCLUDED.{value}"]
    extra = {}
    for part, cast, given in (("updated_at", "now()", None),
                              ("updated_by", UPDATED_BY_CASTS[flag["updated_by_type"]], flag["updated_by"] or "examday.ops"),
                              ("reason", "%s", reason)):
        column = flag[f"{part}_column"]
        if not column:
            continue
        extra[part] = column
        cols.append("{" + part + "}")
        values.append(cast)
        sets.append("{%s} = EXCLUDED.{%s}" % (part, part))
        if given is not None:
            args.append(given)
    template = (f"INSERT INTO {{table}} ({', '.join(cols)}) VALUES ({', '.join(values)}) "
                f"ON CONFLICT ({{key}}) DO UPDATE SET {', '.join(sets)}")
    try:
        with conn.cursor() as cur:
            cur.execute(flag_sql(flag, template, **extra), args)
        conn.commit()
    except Exception as exc:  # a driver error becomes one sentence (type mismatch, constraint)
        conn.rollback()
        raise OpsError(f"setting {flag['table']}.{key} failed: {str(exc).strip().splitlines()[0]}; "
                       "check examday_platform.exam_mode.flag (value_type, updated_by_type).") from None
