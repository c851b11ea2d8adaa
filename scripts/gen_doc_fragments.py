# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writes the generated documentation fragments from the one owner of each option's spec:
plugins/doc_fragments/platform.py (the `platform` option, the inventory's examday_platform) from
plugins/module_utils/_platform/spec.py with the descriptions below, and
plugins/doc_fragments/thresholds.py (the `thresholds` option, examday_thresholds) from
plugins/module_utils/_thresholds.py. Run it after changing either; a unit test fails when a
committed fragment differs from what this prints.

    .venv/bin/python scripts/gen_doc_fragments.py            # rewrite the fragments
    .venv/bin/python scripts/gen_doc_fragments.py --check    # exit 1 when one is out of date
"""
from __future__ import annotations

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "collections"))

from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec  # noqa: E402
from ansible_collections.examday.ops.plugins.module_utils import _thresholds  # noqa: E402

FRAGMENTS = os.path.join(ROOT, "plugins", "doc_fragments")

CALL = {
    "method": "HTTP method.",
    "path": "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and "
            "URL-encoded. Empty when the platform has no such call (only for optional calls).",
    "body": "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's type). "
            "Null for no body.",
    "headers": "Extra request headers (values may hold placeholders).",
    "ok": "HTTP statuses that mean success.",
    "read": "Dotted paths of the values read back from the answer (empty when the platform does not return it).",
    "idempotency_header": "Header that carries the idempotency key of a submit (empty: none).",
}
D = {
    "": "The platform profile: every fact the collection uses about the platform it operates (set it once as "
        "the inventory's C(examday_platform); docs/adapt.md explains how to find each value). Defaults are the "
        "real platform's (PLATFORM.md). Secrets never go here (they have options of their own).",
    "name": "A name for the platform, shown in reports.",
    "api": "The HTTP API.",
    "api.prefix": "Path prefix of the API calls whose path is relative.",
    "api.auth": "How the access token is sent.",
    "api.auth.header": "Header name.",
    "api.auth.scheme": "Word before the token (empty for the bare token).",
    "api.ids": "Type of the ids the platform hands out (sessions, questions): C(auto) sends them back as read; "
               "C(string) or C(integer) converts them and refuses an id of another type.",
    "api.request_id_header": "Header of the request id the edge and backends log; the collection sends its own id "
                             "in it and reads the platform's back.",
    "api.error_code": "Paths tried, in order, for the error code in an error body.",
    "api.error_message": "Paths tried, in order, for the human-readable message in an error body.",
    "api.session": "The session creation body, C({session}) in I(api.calls.create_session.body).",
    "api.answer_choices": "How many choices a question has (answers are 0 .. n-1).",
    "api.closed": "Answers to an answer that mean the session is closed (the student starts a new one).",
    "api.closed.status": "HTTP statuses.",
    "api.closed.codes": "Error codes.",
    "api.stale": "Answers to an answer that mean the platform refused a stale write (an older version).",
    "api.stale.status": "HTTP statuses.",
    "api.stale.codes": "Error codes.",
    "api.statuses": "Session status values in API answers.",
    "api.statuses.active": "An open session.",
    "api.statuses.submitted": "A submitted session.",
    "api.calls": "Each call's method, path, body and the values read back.",
    "api.calls.health": "Liveness (judged by I(health)). Placeholders: none.",
    "api.calls.ready": "Readiness (judged by I(readiness)). Placeholders: none.",
    "api.calls.login": "Log in. Placeholders: C({email}), C({password}). Reads C(access_token), C(refresh_token), "
                       "C(user_id).",
    "api.calls.refresh": "Token refresh (optional). Placeholders: C({refresh_token}).",
    "api.calls.logout": "Logout (optional). Placeholders: C({refresh_token}).",
    "api.calls.create_session": "Start an exam session. Placeholders: C({session}) (I(api.session)).",
    "api.calls.read_session": "Read a session with its questions. Placeholders: C({session_id}). Reads the list "
                              "C(questions) and, in each item, C(question_id), C(position), C(has_answer).",
    "api.calls.answer": "Answer a question. Placeholders: C({session_id}), C({question_id}), C({selected_index}), "
                        "C({position}), C({version}) (a number that grows with every write of a student: a "
                        "platform that orders writes refuses an older one).",
    "api.calls.submit": "Submit a session. Placeholders: C({session_id}), C({idempotency_key}).",
    "api.calls.exam_mode_get": "Read EXAM_MODE (optional; empty path when the platform has no such call). Reads "
                               "C(enabled) and C(stored) (the stored flag, when the answer carries it).",
    "api.calls.exam_mode_set": "Set EXAM_MODE (mechanism C(api)). Placeholders: C({enabled}), C({reason}), "
                               "C({confirmation}).",
    "health": "How a health answer is judged by its body.",
    "readiness": "How a readiness answer is judged by its body.",
    "rule": "C(flat) reads C(checks.<name>) as a status word; C(nested) reads C(checks.<name>.status).",
    "status_path": "Path of the overall status word.",
    "checks_path": "Path of the per-dependency checks (empty: none).",
    "ok_words": "Status words that mean healthy (case does not matter).",
    "ok_status": "HTTP statuses a healthy answer has.",
    "exam_mode": "EXAM_MODE: how it is switched and how it is proven by effect.",
    "exam_mode.mechanism": "The switch used: C(api) (I(api.calls.exam_mode_set)), C(flag) (the flag row, "
                           "I(exam_mode.flag)) or C(env) (I(exam_mode.env) and a restart).",
    "exam_mode.cache_seconds": "How long a backend process caches the flag.",
    "exam_mode.confirmation": "Confirmation phrases the admin API wants.",
    "exam_mode.confirmation.enable": "To turn it on.",
    "exam_mode.confirmation.disable": "To turn it off.",
    "exam_mode.flag": "The flag row.",
    "exam_mode.flag.table": "Table (optionally schema-qualified).",
    "exam_mode.flag.key_column": "Column of the flag's name.",
    "exam_mode.flag.key": "The flag's name.",
    "exam_mode.flag.value_column": "Column of the value.",
    "exam_mode.flag.value_type": "SQL type of the value column.",
    "exam_mode.flag.updated_by_column": "Column of who changed it (empty: none).",
    "exam_mode.flag.updated_by_type": "SQL type of that column.",
    "exam_mode.flag.updated_by": "Who changed it: for C(uuid), an admin user's id (required then).",
    "exam_mode.flag.reason_column": "Column of the reason (empty: none).",
    "exam_mode.flag.updated_at_column": "Column of the change time (empty: none).",
    "exam_mode.env": "The environment variable read at start (mechanism C(env)); the env file and compose files "
                     "are options of the exam_mode module.",
    "exam_mode.env.var": "Variable name.",
    "exam_mode.env.services": "Compose services recreated to apply it.",
    "exam_mode.probe": "The request that proves EXAM_MODE by effect: the platform refuses it while EXAM_MODE is on "
                       "(it must never run a job: a dry-run form, or one that fails validation when off).",
    "exam_mode.probe.method": "HTTP method.",
    "exam_mode.probe.path": "Path (relative to I(api.prefix) unless it starts with C(/)).",
    "exam_mode.probe.body": "JSON body (null: none).",
    "exam_mode.probe.auth": "C(admin) sends the admin's token, C(none) nothing.",
    "exam_mode.probe.refused_status": "HTTP status of the refusal.",
    "exam_mode.probe.refused_code": "Error code of the refusal (empty: any).",
    "exam_mode.probe.streak": "Answers in a row that must agree (every backend process caches the flag).",
    "exam_mode.jobs_evidence": "Evidence that the job runner idles: C(log) reads a service's log lines (a worker "
                               "service, or a cron-style runner inside the backend); C(none) when the platform logs "
                               "nothing (the probe is the evidence).",
    "exam_mode.jobs_evidence.kind": "C(log) or C(none).",
    "exam_mode.jobs_evidence.service": "Service whose log shows the job runner.",
    "exam_mode.jobs_evidence.event_key": "Path of the event name in a log record.",
    "exam_mode.jobs_evidence.idle_event": "Event logged when a run is skipped because of EXAM_MODE.",
    "exam_mode.jobs_evidence.run_event": "Event logged when jobs ran.",
    "exam_mode.jobs_evidence.window": "Seconds of log read when nothing changed.",
    "exam_mode.freeze_flag": "The student-blocking sibling flag, never touched unless asked for explicitly.",
    "jobs": "Background jobs turned off by the freeze.",
    "rollback": "The rollback guard (playbooks/rollback_guard.yml): a switch that stops new sessions while the running "
                "ones go on.",
    "rollback.new_sessions_flag": "A key of I(exam_mode.flag.table) (same columns and value type) that, when true, makes "
                                  "the platform refuse new sessions. Empty (the real platform's default): the platform "
                                  "has no such switch, and the guard says so and changes nothing.",
    "rollback.refused_status": "HTTP status of a session creation refused by the switch.",
    "rollback.refused_code": "Its error code (empty: any).",
    "rollback.streak": "Refusals in a row that prove the switch took effect (every backend process caches flags).",
    "jobs.services": "Compose services that only run jobs (stopped or paused).",
    "jobs.container_action": "C(stop) or C(pause) those services.",
    "jobs.scan_services": "Services searched for job processes (paused with SIGSTOP).",
    "jobs.process_patterns": "Regular expressions of job processes' command lines.",
    "services": "Compose service names by role (empty: the platform has no such service).",
    "services.edge": "The edge proxy (Traefik).",
    "services.backend": "The API backend.",
    "services.frontend": "The frontend.",
    "services.db": "PostgreSQL.",
    "services.redis": "Redis.",
    "services.worker": "A job worker service.",
    "backend": "Backend topology and database pools.",
    "backend.replicas": "Containers of the backend service.",
    "backend.processes": "Worker processes in each container (each with its own pool).",
    "backend.pool_size": "Pool size per process.",
    "backend.max_overflow": "Pool overflow per process.",
    "backend.app_name_pattern": "Regular expression of the backends' application_name in pg_stat_activity.",
    "logs": "Where the log records keep their values (JSON keys, dotted paths).",
    "logs.backend": "Backend logs.",
    "logs.backend.keys": "Keys of a backend record.",
    "logs.backend.keys.event": "Event name.",
    "logs.backend.keys.level": "Level.",
    "logs.backend.keys.ts": "Time.",
    "logs.backend.keys.request_id": "Request id.",
    "logs.backend.keys.status": "HTTP status of an access record.",
    "logs.backend.keys.duration_ms": "Request duration in milliseconds.",
    "logs.backend.keys.method": "HTTP method.",
    "logs.backend.keys.path": "Path.",
    "logs.backend.keys.route": "Route name.",
    "logs.backend.request_event": "Event value of access records (empty: every record with a status).",
    "logs.backend.slow_sql": "Slow SQL records.",
    "logs.backend.slow_sql.event": "Event value.",
    "logs.backend.slow_sql.duration_ms": "Key of the duration in milliseconds.",
    "logs.backend.slow_sql.statement": "Key of the statement.",
    "logs.backend.error_levels": "Levels counted as errors.",
    "logs.edge": "Edge access logs (JSON).",
    "logs.edge.keys": "Keys of an edge record.",
    "logs.edge.keys.request_id": "Request id.",
    "logs.edge.keys.status": "Status sent to the client.",
    "logs.edge.keys.upstream_addr": "Backend address.",
    "logs.edge.keys.upstream_status": "Backend status.",
    "logs.edge.keys.path": "Path.",
    "logs.edge.keys.ts": "Time.",
    "schema": "Table and column names used by the integrity checks, reconciliation and statistics (empty: the "
              "platform has no such column; what needs it is not measured).",
    "schema.sessions": "Exam sessions.",
    "schema.statuses": "Session status values stored.",
    "schema.statuses.active": "Open.",
    "schema.statuses.submitted": "Submitted.",
    "schema.statuses.expired": "Expired.",
    "schema.expiry_sets_submitted_at": "Whether an expired session gets submitted_at set (then it is not an "
                                       "inconsistency).",
    "schema.questions": "A session's questions.",
    "schema.answers": "Stored answers (one row per answered question).",
    "schema.events": "Attempt events.",
    "schema.submitted_event": "Event type of a submit.",
    "schema.mastery": "Per-user mastery rows (empty table: the check is skipped).",
    "schema.users": "Users.",
    "reconcile": "Reconciliation of acknowledged writes per ack kind, overriding or adding to the defaults built "
                 "from I(schema): C({kind: {sql, key, compare, require, max}}) (docs/evidence.md).",
    "cohort": "How the synthetic student cohort of a load run is provisioned and retired (its password is an "
              "option of the load module).",
    "cohort.method": "C(sql), C(api), C(command) (inside a service's container) or C(none) (it exists).",
    "cohort.prefix": "E-mail local part before the number.",
    "cohort.domain": "E-mail domain (one the platform's e-mail validation accepts).",
    "cohort.tag": "Tag of the cohort's rows.",
    "cohort.pad": "Digits of the student number.",
    "cohort.sql": "SQL templates (C(%(name)s) parameters).",
    "cohort.sql.provision": "Run once per student (default fits PLATFORM.md's users table).",
    "cohort.sql.retire": "Run once (marks the cohort inactive).",
    "cohort.sql.statement_timeout": "Seconds.",
    "cohort.api": "Admin API requests.",
    "cohort.api.provision_method": "Method.",
    "cohort.api.provision_path": "Path.",
    "cohort.api.provision_body": "Body template.",
    "cohort.api.retire_method": "Method.",
    "cohort.api.retire_path": "Path.",
    "cohort.api.retire_body": "Body template.",
    "cohort.api.ok_status": "Statuses of success.",
    "cohort.api.unchanged_status": "Statuses of 'already so'.",
    "cohort.command": "A command run in a service's container.",
    "cohort.command.service": "Service.",
    "cohort.command.container": "Container (instead of a service).",
    "cohort.command.provision": "argv to provision.",
    "cohort.command.retire": "argv to retire.",
}
SUFFIX = {  # descriptions by last key, for options that repeat (columns, probe rules, calls)
    "table": "Table (optionally schema-qualified).",
}


def describe(path: str) -> str:
    if path in D:
        return D[path]
    last = path.rsplit(".", 1)[-1]
    parent = path.rsplit(".", 1)[0] if "." in path else ""
    if parent.startswith("api.calls.") and parent.count(".") == 2 and last in CALL:
        return CALL[last]
    if parent.startswith("api.calls.") and parent.endswith(".read"):
        return f"Path of C({last}) in the answer."
    if parent in ("health", "readiness") and last in D:
        return D[last]
    if parent.startswith("schema."):
        return SUFFIX.get(last, f"Column C({last}).")
    raise SystemExit(f"no description for {path}")


def scalar(value) -> str:
    return json.dumps(value)


def described(pad: str, text: str, width: int = 150) -> list[str]:
    """`description:` as a double-quoted YAML scalar folded over lines of at most `width` (a line
    break inside it reads as one space)."""
    words, lines, line = scalar(text).split(" "), [], f"{pad}description:"
    for word in words:
        if len(line) + 1 + len(word) > width and line.strip() != "description:":
            lines.append(line)
            line = pad + "  "
        line += ("" if line.endswith("  ") and line.strip() == "" else " ") + word
    lines.append(line)
    return lines


def emit(name: str, spec: dict, path: str, indent: int, out: list) -> None:
    pad = " " * indent
    out.append(f"{pad}{name}:")
    out.extend(described(pad + "  ", describe(path)))
    out.append(f"{pad}  type: {spec['type']}")
    if "elements" in spec:
        out.append(f"{pad}  elements: {spec['elements']}")
    if "choices" in spec:
        out.append(f"{pad}  choices: {scalar(spec['choices'])}")
    if "default" in spec:
        out.append(f"{pad}  default: {scalar(spec['default'])}")
    if spec.get("options"):
        out.append(f"{pad}  suboptions:")
        for sub, subspec in spec["options"].items():
            emit(sub, subspec, f"{path}.{sub}" if path else sub, indent + 4, out)


def fragment(doc: str, source: str, owner: str) -> str:
    return (
        "# Copyright: examday.ops contributors\n"
        "# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)\n"
        f"# Generated by scripts/gen_doc_fragments.py from {source}: do not edit.\n"
        "from __future__ import annotations\n\n\n"
        "class ModuleDocFragment:\n"
        f"    # The spec is {source}:{owner}.\n"
        f'    DOCUMENTATION = r"""\n{doc}"""\n'
    )


def render_platform() -> str:
    spec = platform_argument_spec()["platform"]
    lines = ["options:", "  platform:", *described("    ", describe("")), "    type: dict",
             "    default: {}", "    suboptions:"]
    for name, sub in spec["options"].items():
        emit(name, sub, name, 6, lines)
    return fragment("\n".join(lines) + "\n", "plugins/module_utils/_platform/spec.py", "platform_argument_spec()")


def render_thresholds() -> str:
    spec = _thresholds.threshold_argument_spec()["thresholds"]
    lines = ["options:", "  thresholds:",
             *described("    ", "The thresholds, defined once for everything that judges (set them as the inventory's "
                                "C(examday_thresholds)): the report's gates judge by them and k6's thresholds are derived "
                                "from them. Unset keys keep their defaults (the seeds' targets); an unknown key or a bad "
                                "value fails before anything runs."),
             "    type: dict", "    default: {}", "    suboptions:"]
    for name, sub in spec["options"].items():
        text = _thresholds.SPEC[name][2]
        text += "."
        lines.append(f"      {name}:")
        lines.extend(described("        ", text))
        lines.append(f"        type: {sub['type']}")
        if "elements" in sub:
            lines.append(f"        elements: {sub['elements']}")
        lines.append(f"        default: {scalar(sub['default'])}")
    return fragment("\n".join(lines) + "\n", "plugins/module_utils/_thresholds.py", "threshold_argument_spec()")


def main() -> int:
    stale = []
    for name, text in (("platform.py", render_platform()), ("thresholds.py", render_thresholds())):
        target = os.path.join(FRAGMENTS, name)
        if "--check" in sys.argv:
            with open(target, encoding="utf-8") as fh:
                if fh.read() != text:
                    stale.append(name)
            continue
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(text)
    for name in stale:
        print(f"plugins/doc_fragments/{name} is out of date: run python3 scripts/gen_doc_fragments.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
