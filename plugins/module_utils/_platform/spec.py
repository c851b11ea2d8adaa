# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform profile's argument spec: every fact the collection uses about the platform it
operates, with the real platform's values (PLATFORM.md) as defaults. The module option `platform`
of every module that talks to the platform is this spec (doc fragment examday.ops.platform), so
Ansible itself validates it and names an unknown or mistyped key with its full path.

Templates: request bodies, paths and cohort templates use `{name}` placeholders. A string that is
exactly `{name}` is replaced by the value with its JSON type (a number stays a number); `{name}`
inside a longer string is replaced by its text. Values are read back from JSON answers by dotted
paths (`tokens.access_token`, `items[0].id`); an empty path means "this platform has no such
value"."""
from __future__ import annotations

import copy

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _opt(type_: str = "str", default=None, **extra) -> dict:
    out: dict = {"type": type_}
    if default is not None:
        out["default"] = default
    out.update(extra)
    return out


def _group(**options) -> dict:
    return {"type": "dict", "apply_defaults": True, "options": options}


def _strs(*values: str) -> dict:
    return _opt("list", list(values), elements="str")


def _ints(*values: int) -> dict:
    return _opt("list", list(values), elements="int")


# Option names Ansible's sanity test takes for secrets; here they are names of paths and columns.
NOT_SECRETS = {"access_token", "refresh_token", "key", "key_column", "event_key", "keys"}


def _reads(**paths: str) -> dict:
    """Dotted paths of values read back; a call that reads nothing has an empty mapping."""
    if not paths:
        return _opt("dict", {})
    return _group(**{name: _opt("str", path, **({"no_log": False} if name in NOT_SECRETS else {}))
                     for name, path in paths.items()})


def _call(method: str, path: str, body=None, reads: dict | None = None, ok: tuple = (200,), **extra) -> dict:
    options = {
        "method": _opt("str", method, choices=METHODS),
        "path": _opt("str", path),
        "body": _opt("raw", body),
        "headers": _opt("dict", {}),
        "ok": _ints(*ok),
        "read": _reads(**(reads or {})),
    }
    options.update(extra)
    return _group(**options)


def _keys(**paths: str) -> dict:
    spec = _reads(**paths)
    spec["no_log"] = False
    return spec


TOKENS = {"access_token": "tokens.access_token", "refresh_token": "tokens.refresh_token"}

API = _group(
    prefix=_opt("str", "/v1"),
    auth=_group(header=_opt("str", "Authorization"), scheme=_opt("str", "Bearer")),
    ids=_opt("str", "auto", choices=["auto", "string", "integer"]),
    request_id_header=_opt("str", "X-Request-ID"),
    error_code=_strs("error_code", "code", "detail.code"),
    error_message=_strs("message", "detail", "detail.message"),
    session=_opt("dict", {"mode": "EXAM", "year": 1, "blocks": ["A"], "count": 10, "duration_seconds": 1800}),
    answer_choices=_opt("int", 5),
    closed=_group(status=_ints(400, 404), codes=_strs("SESSION_CLOSED", "SESSION_EXPIRED", "SESSION_NOT_ACTIVE")),
    stale=_group(status=_ints(409), codes=_strs("STALE_WRITE")),
    statuses=_group(active=_opt("str", "ACTIVE"), submitted=_opt("str", "SUBMITTED")),
    calls=_group(
        health=_call("GET", "/health"),
        ready=_call("GET", "ready"),
        login=_call("POST", "auth/login", {"email": "{email}", "password": "{password}"},
                    dict(TOKENS, user_id="user.id")),
        refresh=_call("POST", "auth/refresh", {"refresh_token": "{refresh_token}"}, TOKENS),
        logout=_call("POST", "auth/logout", {"refresh_token": "{refresh_token}"}),
        create_session=_call("POST", "sessions", "{session}",
                             {"session_id": "session_id", "status": "status", "started_at": "started_at",
                              "expires_at": "expires_at"}, ok=(200, 201)),
        read_session=_call("GET", "sessions/{session_id}", None,
                           {"questions": "questions", "question_id": "question_id", "position": "position",
                            "has_answer": "has_answer", "answered_count": "progress.answered_count",
                            "status": "session.status", "expires_at": "session.expires_at"}),
        answer=_call("POST", "sessions/{session_id}/answer",
                     {"question_id": "{question_id}", "selected_index": "{selected_index}"},
                     {"answered_count": "progress.answered_count"}),
        submit=_call("POST", "sessions/{session_id}/submit", None,
                     {"status": "status", "score": "score_correct"},
                     idempotency_header=_opt("str", "Idempotency-Key")),
        exam_mode_get=_call("GET", "", None, {"enabled": "enabled", "stored": ""}),
        exam_mode_set=_call("POST", "admin/system/exam-mode",
                            {"enabled": "{enabled}", "reason": "{reason}", "confirmation_phrase": "{confirmation}"}),
    ),
)

PROBE_RULE = {"rule": _opt("str", "flat", choices=["flat", "nested"]), "status_path": _opt("str", "status"),
              "checks_path": _opt("str", "checks"), "ok_words": _strs("ok", "up", "healthy", "pass"),
              "ok_status": _ints(200)}


def _probe(rule: str) -> dict:
    options = copy.deepcopy(PROBE_RULE)
    options["rule"]["default"] = rule
    return _group(**options)


EXAM_MODE = _group(
    mechanism=_opt("str", "api", choices=["api", "flag", "env"]),
    cache_seconds=_opt("float", 10.0),
    confirmation=_group(enable=_opt("str", "ENABLE EXAM MODE"), disable=_opt("str", "DISABLE EXAM MODE")),
    flag=_group(
        table=_opt("str", "system_flags"), key_column=_opt("str", "key", no_log=False),
        key=_opt("str", "EXAM_MODE", no_log=False),
        value_column=_opt("str", "value"),
        value_type=_opt("str", "boolean", choices=["boolean", "jsonb", "text", "integer"]),
        updated_by_column=_opt("str", "updated_by"),
        updated_by_type=_opt("str", "uuid", choices=["uuid", "text", "integer"]),
        updated_by=_opt("str"),
        reason_column=_opt("str", "reason"), updated_at_column=_opt("str", "updated_at")),
    env=_group(var=_opt("str", "EXAM_MODE"), services=_strs("backend")),
    probe=_group(
        method=_opt("str", "POST", choices=METHODS), path=_opt("str", "admin/search/reindex/nightly"),
        body=_opt("raw"), auth=_opt("str", "admin", choices=["admin", "none"]),
        refused_status=_opt("int", 423), refused_code=_opt("str", "EXAM_MODE_ACTIVE"), streak=_opt("int", 8)),
    jobs_evidence=_group(
        kind=_opt("str", "none", choices=["none", "log"]), service=_opt("str"), event_key=_opt("str", "event", no_log=False),
        idle_event=_opt("str", "job_runner_idle"), run_event=_opt("str", "job_run"),
        window=_opt("float", 30.0)),
    freeze_flag=_opt("str", "FREEZE_UPDATES"),
)

JOBS = _group(
    services=_strs(),
    container_action=_opt("str", "stop", choices=["stop", "pause"]),
    scan_services=_strs("backend"),
    process_patterns=_strs(r"python[0-9.]* -m app\.jobs\.run", r"(^|/)crond?( |$)", r"celery .*\b(beat|worker)\b",
                           r"\brq worker\b"),
)

SERVICES = _group(edge=_opt("str", "traefik"), backend=_opt("str", "backend"), frontend=_opt("str", "frontend"),
                  db=_opt("str", "postgres"), redis=_opt("str", "redis"), worker=_opt("str"))

BACKEND = _group(replicas=_opt("int", 1), processes=_opt("int", 5), pool_size=_opt("int", 10),
                 max_overflow=_opt("int", 10), app_name_pattern=_opt("str", ".*"))

LOGS = _group(
    backend=_group(
        keys=_keys(event="event", level="level", ts="ts", request_id="request_id", status="status_code",
                   duration_ms="total_ms", method="method", path="path", route="route"),
        request_event=_opt("str", "request"),
        slow_sql=_reads(event="slow_sql", duration_ms="duration_ms", statement="statement"),
        error_levels=_strs("error", "critical", "fatal")),
    edge=_group(
        keys=_keys(request_id="request_X-Request-Id", status="DownstreamStatus", upstream_addr="ServiceAddr",
                   upstream_status="OriginStatus", path="RequestPath", ts="time")),
)


def _columns(**columns: str) -> dict:
    return _group(**{name: _opt("str", column) for name, column in columns.items()})


SCHEMA = _group(
    sessions=_columns(table="test_sessions", id="id", user_id="user_id", status="status", created_at="created_at",
                      started_at="started_at", submitted_at="submitted_at", expires_at="expires_at",
                      score_correct="score_correct", score_total="score_total", total_questions="total_questions"),
    statuses=_group(active=_opt("str", "ACTIVE"), submitted=_opt("str", "SUBMITTED"), expired=_opt("str", "EXPIRED")),
    expiry_sets_submitted_at=_opt("bool", True),
    questions=_columns(table="session_questions", session_id="session_id", question_id="question_id",
                       position="position"),
    answers=_columns(table="session_answers", session_id="session_id", question_id="question_id",
                     selected_index="selected_index", is_correct="is_correct", changed_count="changed_count",
                     answered_at="", updated_at=""),
    events=_columns(table="attempt_events", session_id="session_id", type="event_type", ts="event_ts"),
    submitted_event=_opt("str", "SESSION_SUBMITTED"),
    mastery=_columns(table="user_theme_mastery", user_id="user_id", theme_id="theme_id"),
    users=_columns(table="users", id="id", email="email", active="is_active"),
)

COHORT = _group(
    method=_opt("str", "sql", choices=["sql", "api", "command", "none"]),
    prefix=_opt("str", "load"), domain=_opt("str", "cohort.example.com"), tag=_opt("str", "examday-load"),
    pad=_opt("int", 5),
    sql=_group(provision=_opt("str"), retire=_opt("str"), statement_timeout=_opt("int", 60)),
    api=_group(provision_method=_opt("str", "POST", choices=METHODS), provision_path=_opt("str"),
               provision_body=_opt("raw"), retire_method=_opt("str", "DELETE", choices=METHODS),
               retire_path=_opt("str"), retire_body=_opt("raw"), ok_status=_ints(200, 201, 202, 204),
               unchanged_status=_ints(409)),
    command=_group(service=_opt("str"), container=_opt("str"), provision=_opt("list", elements="str"),
                   retire=_opt("list", elements="str")),
)

# The rollback guard (seed 002's Rollback Plan): a switch that stops new sessions while running ones
# go on. The real platform has none (PLATFORM.md): empty, and the guard says so and changes nothing.
ROLLBACK = _group(
    new_sessions_flag=_opt("str", "", no_log=False),
    refused_status=_opt("int", 423), refused_code=_opt("str", ""), streak=_opt("int", 8),
)

PLATFORM_OPTIONS = {
    "name": _opt("str", "exam platform"),
    "api": API,
    "health": _probe("flat"),
    "readiness": _probe("nested"),
    "exam_mode": EXAM_MODE,
    "jobs": JOBS,
    "services": SERVICES,
    "backend": BACKEND,
    "logs": LOGS,
    "schema": SCHEMA,
    "reconcile": _opt("dict", {}),
    "cohort": COHORT,
    "rollback": ROLLBACK,
}


def platform_argument_spec() -> dict:
    """The `platform` option (doc fragment examday.ops.platform), a fresh copy per call."""
    return {"platform": {"type": "dict", "default": {}, "apply_defaults": True,
                         "options": copy.deepcopy(PLATFORM_OPTIONS)}}
