# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the platform profile: validation beyond types (templates, paths, identifiers, patterns),
templates filled with typed values, values read from JSON answers by dotted paths, and the error
code of an error body. Pure functions, shared by the API client, the k6 configuration, the
integrity checks and every module that takes the `platform` option."""
from __future__ import annotations

import re
from urllib.parse import quote

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec

# Placeholders a call's path and body may use (user_id is known after the login).
CALL_FIELDS = {
    "health": (), "ready": (),
    "login": ("email", "password"),
    "refresh": ("refresh_token",),
    "logout": ("refresh_token",),
    "create_session": ("session",),
    "read_session": ("session_id",),
    "answer": ("session_id", "question_id", "selected_index", "version", "position"),
    "submit": ("session_id", "idempotency_key"),
    "exam_mode_get": (),
    "exam_mode_set": ("enabled", "reason", "confirmation"),
}
# Calls a platform may not have (an empty path says so).
OPTIONAL_CALLS = ("exam_mode_get", "logout", "refresh")
# What each call must be able to read back for the student flows to work.
REQUIRED_READS = {
    "login": ("access_token",),
    "create_session": ("session_id",),
    "read_session": ("questions", "question_id"),
}

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PATH_PART = re.compile(r"^([A-Za-z0-9_\-$@]+)(\[(-?\d+)\])?$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")


# ------------------------------------------------------------------------------------ validation
def validate_types(given) -> dict:
    """Validates a profile as Ansible would (types, choices, unknown keys) and applies the
    defaults; for callers outside a module (tests, tools). Raises OpsError naming the key."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # only outside modules

    result = ArgumentSpecValidator(platform_argument_spec()).validate({"platform": given or {}})
    if result.error_messages:
        raise OpsError(f"examday_platform is not valid: {result.error_messages[0]}.")
    return result.validated_parameters["platform"]


def resolve(profile: dict) -> dict:
    """The checks Ansible's types cannot make, on a profile whose types were validated: every
    template's placeholders, every path's syntax, SQL identifiers, patterns. Returns the profile;
    raises OpsError with one sentence naming the key (examday_platform.<path>)."""
    api = profile["api"]
    if not api["prefix"].startswith("/") and api["prefix"] != "":
        _bad("api.prefix", f"must start with / (or be empty), not {api['prefix']!r}")
    _header("api.auth.header", api["auth"]["header"])
    _header("api.request_id_header", api["request_id_header"])
    if api["answer_choices"] < 2:
        _bad("api.answer_choices", "must be at least 2")
    for i, path in enumerate(api["error_code"]):
        check_path(f"api.error_code[{i}]", path)
    for name, call in api["calls"].items():
        where = f"api.calls.{name}"
        if not call["path"]:
            if name in OPTIONAL_CALLS:
                continue
            _bad(f"{where}.path", "is empty, but every platform needs this call")
        fields = set(CALL_FIELDS[name]) | {"user_id"}
        for field in _PLACEHOLDER.findall(call["path"]):
            if field not in fields:
                _bad(f"{where}.path", f"uses {{{field}}}, which this call does not know (known: "
                                      f"{', '.join('{' + f + '}' for f in sorted(fields))})")
        template_fields(f"{where}.body", call["body"], fields)
        for key, value in call["headers"].items():
            _header(f"{where}.headers", key)
            template_fields(f"{where}.headers.{key}", value, fields)
        for key, path in call["read"].items():
            if path:
                check_path(f"{where}.read.{key}", path)
        for key in REQUIRED_READS.get(name, ()):
            if not call["read"].get(key):
                _bad(f"{where}.read.{key}", "is empty, but the student flows need it")
        if name == "submit" and call.get("idempotency_header"):
            _header(f"{where}.idempotency_header", call["idempotency_header"])
    for name in ("health", "readiness"):
        for key in ("status_path", "checks_path"):
            if profile[name][key]:
                check_path(f"{name}.{key}", profile[name][key])
    rb = profile["rollback"]
    if rb["streak"] < 1:
        _bad("rollback.streak", "must be at least 1")
    taken = (profile["exam_mode"]["flag"]["key"], profile["exam_mode"]["freeze_flag"])
    if rb["new_sessions_flag"] and rb["new_sessions_flag"] in taken:
        _bad("rollback.new_sessions_flag", f"is {rb['new_sessions_flag']}, which is not a switch for new sessions")
    em = profile["exam_mode"]
    if em["probe"]["streak"] < 1:
        _bad("exam_mode.probe.streak", "must be at least 1")
    if not em["probe"]["path"]:
        _bad("exam_mode.probe.path", "is empty: EXAM_MODE is proven by a request the platform refuses while it is on")
    for key in ("table", "key_column", "value_column", "updated_by_column", "reason_column", "updated_at_column"):
        if em["flag"][key]:
            identifier(f"exam_mode.flag.{key}", em["flag"][key], qualified=key == "table")
    if em["jobs_evidence"]["kind"] == "log" and not em["jobs_evidence"]["service"]:
        _bad("exam_mode.jobs_evidence.service", "is needed when kind is log (the service whose log shows the jobs)")
    for i, pattern in enumerate(profile["jobs"]["process_patterns"]):
        _regex(f"jobs.process_patterns[{i}]", pattern)
    backend = profile["backend"]
    _regex("backend.app_name_pattern", backend["app_name_pattern"])
    for key in ("replicas", "processes", "pool_size"):
        if backend[key] < 1:
            _bad(f"backend.{key}", "must be at least 1")
    if backend["max_overflow"] < 0:
        _bad("backend.max_overflow", "must be 0 or more")
    for part in ("backend", "edge"):
        for key, path in profile["logs"][part]["keys"].items():
            if path:
                check_path(f"logs.{part}.keys.{key}", path)
    schema = profile["schema"]
    for table, columns in schema.items():
        if not isinstance(columns, dict) or table == "statuses":
            continue
        for key, name in columns.items():
            if name:
                identifier(f"schema.{table}.{key}", name, qualified=key == "table")
    cohort = profile["cohort"]
    if not re.match(r"^[A-Za-z0-9._+-]{1,40}$", cohort["prefix"]):
        _bad("cohort.prefix", "must be 1-40 letters, digits, '.', '_', '+' or '-'")
    if not re.match(r"^(?=.{1,200}$)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", cohort["domain"]):
        _bad("cohort.domain", f"is not a domain name: {cohort['domain']!r}")
    if not 1 <= cohort["pad"] <= 9:
        _bad("cohort.pad", "must be from 1 to 9")
    return profile


def load(given) -> dict:
    """validate_types + resolve: a whole profile from inventory data (outside a module)."""
    return resolve(validate_types(given))


def _bad(key: str, what: str) -> None:
    raise OpsError(f"examday_platform.{key} {what}.")


def _header(key: str, name: str) -> None:
    if not _HEADER.match(str(name or "")):
        _bad(key, f"is not an HTTP header name: {name!r}")


def _regex(key: str, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        _bad(key, f"is not a valid regular expression ({exc})")


def identifier(key: str, name: str, qualified: bool = False) -> None:
    parts = name.split(".") if qualified else [name]
    if len(parts) > 2 or not all(_IDENT.match(p) for p in parts):
        _bad(key, f"is not a SQL {'table' if qualified else 'column'} name: {name!r}")


def check_path(key: str, path: str) -> None:
    """A dotted path into JSON: names with an optional [index]."""
    if path in ("", "$"):
        return
    for part in path.split("."):
        if not _PATH_PART.match(part):
            _bad(key, f"is not a path such as tokens.access_token or items[0].id: {path!r}")


def template_fields(key: str, template, known: set) -> set:
    """The placeholders a template uses, each checked against the known ones. Also catches the
    YAML trap: an unquoted {name} is a mapping {name: null}, not a placeholder."""
    used: set = set()
    if isinstance(template, str):
        used = set(_PLACEHOLDER.findall(template))
    elif isinstance(template, dict):
        if len(template) == 1 and next(iter(template.values())) is None:
            name = next(iter(template))
            _bad(key, f"holds a mapping {{{name}: null}}; quote the placeholder: \"{{{name}}}\"")
        for sub, value in template.items():
            used |= template_fields(f"{key}.{sub}", value, known)
    elif isinstance(template, list):
        for i, value in enumerate(template):
            used |= template_fields(f"{key}[{i}]", value, known)
    unknown = sorted(used - set(known))
    if unknown:
        _bad(key, f"uses {{{unknown[0]}}}, which is not known here (known: "
                  f"{', '.join('{' + f + '}' for f in sorted(known))})")
    return used


# ------------------------------------------------------------------------------------ templates
def fill(template, values: dict, where: str = "template"):
    """The template with its placeholders filled: a string that is exactly {name} becomes the
    value itself (typed), {name} inside text becomes its text; lists and mappings recursively."""
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return _value(whole.group(1), values, where)
        return _PLACEHOLDER.sub(lambda m: _text(_value(m.group(1), values, where)), template)
    if isinstance(template, list):
        return [fill(t, values, where) for t in template]
    if isinstance(template, dict):
        return {k: fill(v, values, where) for k, v in template.items()}
    return template


def _value(name: str, values: dict, where: str):
    if name not in values:
        raise OpsError(f"{where} uses {{{name}}}, which has no value here.")
    return values[name]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def call_path(profile: dict, name: str, values: dict | None = None) -> str:
    """A call's path with the API prefix (a path that starts with / is absolute) and its
    {placeholders} URL-encoded."""
    path = profile["api"]["calls"][name]["path"]
    if not path:
        raise OpsError(f"examday_platform.api.calls.{name}.path is empty: this platform has no such call.")
    full = path if path.startswith("/") else profile["api"]["prefix"].rstrip("/") + "/" + path
    return _PLACEHOLDER.sub(lambda m: quote(_text(_value(m.group(1), values or {}, f"the path of {name}")),
                                            safe=""), full)


def relative_path(profile: dict, path: str) -> str:
    """A path given in the profile (like the EXAM_MODE probe's) with the API prefix applied."""
    if not path or path.startswith("/") or "://" in path:
        return path
    return profile["api"]["prefix"].rstrip("/") + "/" + path


# ------------------------------------------------------------------------------------ JSON paths
_MISSING = object()


def json_get(obj, path: str, default=None):
    """The value at a dotted path (`a.b[0].c`); default when any step is missing; the whole
    object for an empty path or $."""
    if path in ("", "$"):
        return obj
    cur = obj
    for part in path.split("."):
        m = _PATH_PART.match(part)
        if not m:
            return default
        if not isinstance(cur, dict) or m.group(1) not in cur:
            return default
        cur = cur[m.group(1)]
        if m.group(2):
            if not isinstance(cur, list):
                return default
            try:
                cur = cur[int(m.group(3))]
            except IndexError:
                return default
    return cur


def read(call: dict, key: str, body, default=None):
    """A value a call's answer carries, by the profile's path for it; default when the profile
    has no path for it or the answer does not carry it."""
    path = (call.get("read") or {}).get(key)
    if not path:
        return default
    return json_get(body, path, default)


def error_code(profile: dict, body) -> str | None:
    """The error code of an error body, from the first of the profile's paths that has one."""
    if not isinstance(body, dict):
        return None
    for path in profile["api"]["error_code"]:
        value = json_get(body, path)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def error_message(profile: dict, body) -> str | None:
    if isinstance(body, str):
        return body[:200] or None
    if not isinstance(body, dict):
        return None
    for path in profile["api"]["error_message"]:
        value = json_get(body, path)
        if isinstance(value, str) and value:
            return value[:200]
    return None


def coerce_id(profile: dict, value, what: str = "id"):
    """An id as the platform wants it back: as read (auto), or as the declared type."""
    kind = profile["api"]["ids"]
    if value is None or kind == "auto":
        return value
    if kind == "string":
        return str(value)
    if isinstance(value, bool):
        raise OpsError(f"the platform answered a boolean {what}; examday_platform.api.ids says integer.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise OpsError(f"the platform answered {what} {value!r}, which is not an integer, but "
                       f"examday_platform.api.ids says integer; set it to string or auto.") from None


def auth_headers(profile: dict, token: str | None) -> dict:
    if not token:
        return {}
    auth = profile["api"]["auth"]
    return {auth["header"]: f"{auth['scheme']} {token}".strip()}


def pool_capacity(profile: dict) -> int:
    """Connections the backends may open in all: (pool + overflow) x processes x replicas."""
    b = profile["backend"]
    return (b["pool_size"] + b["max_overflow"]) * b["processes"] * b["replicas"]


def service(profile: dict, role: str) -> str | None:
    """The compose service that plays a role (edge, backend, frontend, db, redis, worker)."""
    return (profile.get("services") or {}).get(role) or None
