#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: platform_profile
short_description: Validate the platform profile and the thresholds, and show them with their defaults
version_added: 0.2.0
description:
  - Validates the inventory's platform profile (C(examday_platform), every fact the collection uses about the
    platform - API calls and the paths of the values read back, readiness rule, error codes, EXAM_MODE
    mechanisms and proof, services by role, log keys, schema names, cohort) and the thresholds
    (C(examday_thresholds)), and returns both with every default filled in.
  - An unknown or mistyped key, a wrong type, a template placeholder a call does not know, a bad path or
    SQL name fails with one sentence naming the key (C(examday_platform.api.calls.login.path) ...).
  - Changes nothing and contacts nothing; the roles run it first, before any other step.
author: examday.ops developers (@examday)
extends_documentation_fragment:
  - examday.ops.platform
  - examday.ops.thresholds
attributes:
  check_mode:
    description: Validates only, so it runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing changes, nothing to diff.
    support: none
seealso:
  - module: examday.ops.platform_status
    description: Read-only status of the running platform, with pass/fail checks.
  - module: examday.ops.background_jobs
    description: Stop or pause background jobs for the exam and start them again.
  - module: examday.ops.canary
    description: A canary student measuring what students see while faults are injected.
  - module: examday.ops.exam_mode
    description: Turn EXAM_MODE on or off, verified by effect.
  - module: examday.ops.fault
    description: Inject a fault, restore it and measure recovery.
  - module: examday.ops.integrity_check
    description: Data-integrity checks and reconciliation of the load's acknowledged writes.
  - module: examday.ops.load
    description: Run a k6 load scenario and keep its evidence (the acknowledged writes among it).
  - module: examday.ops.metrics_capture
    description: Sample during the load and capture the metrics after it.
  - module: examday.ops.student_flow
    description: One student's whole exam through the API.
  - module: examday.ops.new_sessions
    description: The rollback guard (stop new sessions while running ones go on).
  - module: examday.ops.watch
    description: The live watch during the exam.
"""

EXAMPLES = r"""
- name: The profile and thresholds are valid (fails naming the key otherwise)
  examday.ops.platform_profile:
    platform: "{{ examday_platform }}"
    thresholds: "{{ examday_thresholds | default({}) }}"
  register: profile

- name: Where the readiness rule comes from
  ansible.builtin.debug:
    msg: "readiness is judged {{ profile.platform.readiness.rule }} at {{ profile.platform.api.calls.ready.path }}"
"""

RETURN = r"""
platform:
  description:
    - The profile (I(platform)) with every default filled in, the value the other modules use - the same keys as the option
      I(platform), each described there. No secret is part of it.
    - The sample is part of the lab's profile (C(inventories/local)).
  returned: success
  type: dict
  contains:
    name:
      description: "A name for the platform, shown in reports."
      type: str
    api:
      description: "The HTTP API."
      type: dict
      contains:
        prefix:
          description: "Path prefix of the API calls whose path is relative."
          type: str
        auth:
          description: "How the access token is sent."
          type: dict
          contains:
            header:
              description: "Header name."
              type: str
            scheme:
              description: "Word before the token (empty for the bare token)."
              type: str
        ids:
          description: "Type of the ids the platform hands out (sessions, questions): C(auto) sends them back as read; C(string) or
            C(integer) converts them and refuses an id of another type."
          type: str
        request_id_header:
          description: "Header of the request id the edge and backends log; the collection sends its own id in it and reads the
            platform's back."
          type: str
        error_code:
          description: "Paths tried, in order, for the error code in an error body."
          type: list
          elements: str
        error_message:
          description: "Paths tried, in order, for the human-readable message in an error body."
          type: list
          elements: str
        session:
          description: "The session creation body, C({session}) in I(api.calls.create_session.body)."
          type: dict
          contains:
            <field>:
              description: "A field of the session creation body, by its name."
              type: raw
        answer_choices:
          description: "How many choices a question has (answers are 0 .. n-1)."
          type: int
        closed:
          description: "Answers to an answer that mean the session is closed (the student starts a new one)."
          type: dict
          contains:
            status:
              description: "HTTP statuses."
              type: list
              elements: int
            codes:
              description: "Error codes."
              type: list
              elements: str
        stale:
          description: "Answers to an answer that mean the platform refused a stale write (an older version)."
          type: dict
          contains:
            status:
              description: "HTTP statuses."
              type: list
              elements: int
            codes:
              description: "Error codes."
              type: list
              elements: str
        statuses:
          description: "Session status values in API answers."
          type: dict
          contains:
            active:
              description: "An open session."
              type: str
            submitted:
              description: "A submitted session."
              type: str
        calls:
          description: "Each call's method, path, body and the values read back."
          type: dict
          contains:
            health:
              description: "Liveness (judged by I(health)). Placeholders: none."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's
                    type). Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    <value>:
                      description: "Path of a value in the answer, by the value's name."
                      type: str
            ready:
              description: "Readiness (judged by I(readiness)). Placeholders: none."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's
                    type). Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    <value>:
                      description: "Path of a value in the answer, by the value's name."
                      type: str
            login:
              description: "Log in. Placeholders: C({email}), C({password}). Reads C(access_token), C(refresh_token), C(user_id)."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's
                    type). Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    access_token:
                      description: "Path of C(access_token) in the answer."
                      type: str
                    refresh_token:
                      description: "Path of C(refresh_token) in the answer."
                      type: str
                    user_id:
                      description: "Path of C(user_id) in the answer."
                      type: str
            refresh:
              description: "Token refresh (optional). Placeholders: C({refresh_token})."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's
                    type). Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    access_token:
                      description: "Path of C(access_token) in the answer."
                      type: str
                    refresh_token:
                      description: "Path of C(refresh_token) in the answer."
                      type: str
            logout:
              description: "Logout (optional). Placeholders: C({refresh_token})."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's
                    type). Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    <value>:
                      description: "Path of a value in the answer, by the value's name."
                      type: str
            create_session:
              description: "Start an exam session. Placeholders: C({session}) (I(api.session))."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's
                    type). Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    session_id:
                      description: "Path of C(session_id) in the answer."
                      type: str
                    status:
                      description: "Path of C(status) in the answer."
                      type: str
                    started_at:
                      description: "Path of C(started_at) in the answer."
                      type: str
                    expires_at:
                      description: "Path of C(expires_at) in the answer."
                      type: str
            read_session:
              description: "Read a session with its questions. Placeholders: C({session_id}). Reads the list C(questions) and, in each
                item, C(question_id), C(position), C(has_answer)."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's
                    type). Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    questions:
                      description: "Path of C(questions) in the answer."
                      type: str
                    question_id:
                      description: "Path of C(question_id) in the answer."
                      type: str
                    position:
                      description: "Path of C(position) in the answer."
                      type: str
                    has_answer:
                      description: "Path of C(has_answer) in the answer."
                      type: str
                    answered_count:
                      description: "Path of C(answered_count) in the answer."
                      type: str
                    status:
                      description: "Path of C(status) in the answer."
                      type: str
                    expires_at:
                      description: "Path of C(expires_at) in the answer."
                      type: str
            answer:
              description: "Answer a question. Placeholders: C({session_id}), C({question_id}), C({selected_index}), C({position}),
                C({version}) (a number that grows with every write of a student: a platform that orders writes refuses an older one)."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's
                    type). Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    answered_count:
                      description: "Path of C(answered_count) in the answer."
                      type: str
            submit:
              description: "Submit a session. Placeholders: C({session_id}), C({idempotency_key})."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's
                    type). Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    status:
                      description: "Path of C(status) in the answer."
                      type: str
                    score:
                      description: "Path of C(score) in the answer."
                      type: str
                idempotency_header:
                  description: "Header that carries the idempotency key of a submit (empty: none)."
                  type: str
            exam_mode_get:
              description: "Read EXAM_MODE (optional; empty path when the platform has no such call). Reads C(enabled) and C(stored)
                (the stored flag, when the answer carries it)."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's
                    type). Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    enabled:
                      description: "Path of C(enabled) in the answer."
                      type: str
                    stored:
                      description: "Path of C(stored) in the answer."
                      type: str
            exam_mode_set:
              description: "Set EXAM_MODE (mechanism C(api)). Placeholders: C({enabled}), C({reason}), C({confirmation})."
              type: dict
              contains:
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path; relative to I(api.prefix) unless it starts with C(/). C({name}) placeholders are filled and
                    URL-encoded. Empty when the platform has no such call (only for optional calls)."
                  type: str
                body:
                  description: "JSON body template (C({name}) placeholders; a string that is exactly C({name}) keeps the value's
                    type). Null for no body."
                  type: raw
                headers:
                  description: "Extra request headers (values may hold placeholders)."
                  type: dict
                  contains:
                    <header>:
                      description: "A header's value, by its name (may hold placeholders)."
                      type: str
                ok:
                  description: "HTTP statuses that mean success."
                  type: list
                  elements: int
                read:
                  description: "Dotted paths of the values read back from the answer (empty when the platform does not return it)."
                  type: dict
                  contains:
                    <value>:
                      description: "Path of a value in the answer, by the value's name."
                      type: str
    health:
      description: "How a health answer is judged by its body."
      type: dict
      contains:
        rule:
          description: "C(flat) reads C(checks.<name>) as a status word; C(nested) reads C(checks.<name>.status)."
          type: str
        status_path:
          description: "Path of the overall status word."
          type: str
        checks_path:
          description: "Path of the per-dependency checks (empty: none)."
          type: str
        ok_words:
          description: "Status words that mean healthy (case does not matter)."
          type: list
          elements: str
        ok_status:
          description: "HTTP statuses a healthy answer has."
          type: list
          elements: int
    readiness:
      description: "How a readiness answer is judged by its body."
      type: dict
      contains:
        rule:
          description: "C(flat) reads C(checks.<name>) as a status word; C(nested) reads C(checks.<name>.status)."
          type: str
        status_path:
          description: "Path of the overall status word."
          type: str
        checks_path:
          description: "Path of the per-dependency checks (empty: none)."
          type: str
        ok_words:
          description: "Status words that mean healthy (case does not matter)."
          type: list
          elements: str
        ok_status:
          description: "HTTP statuses a healthy answer has."
          type: list
          elements: int
    exam_mode:
      description: "EXAM_MODE: how it is switched and how it is proven by effect."
      type: dict
      contains:
        mechanism:
          description: "The switch used: C(api) (I(api.calls.exam_mode_set)), C(flag) (the flag row, I(exam_mode.flag)) or C(env)
            (I(exam_mode.env) and a restart)."
          type: str
        cache_seconds:
          description: "How long a backend process caches the flag."
          type: float
        confirmation:
          description: "Confirmation phrases the admin API wants."
          type: dict
          contains:
            enable:
              description: "To turn it on."
              type: str
            disable:
              description: "To turn it off."
              type: str
        flag:
          description: "The flag row."
          type: dict
          contains:
            table:
              description: "Table (optionally schema-qualified)."
              type: str
            key_column:
              description: "Column of the flag's name."
              type: str
            key:
              description: "The flag's name."
              type: str
            value_column:
              description: "Column of the value."
              type: str
            value_type:
              description: "SQL type of the value column."
              type: str
            updated_by_column:
              description: "Column of who changed it (empty: none)."
              type: str
            updated_by_type:
              description: "SQL type of that column."
              type: str
            updated_by:
              description: "Who changed it: for C(uuid), an admin user's id (required then)."
              type: str
            reason_column:
              description: "Column of the reason (empty: none)."
              type: str
            updated_at_column:
              description: "Column of the change time (empty: none)."
              type: str
        env:
          description: "The environment variable read at start (mechanism C(env)); the env file and compose files are options of the
            exam_mode module."
          type: dict
          contains:
            var:
              description: "Variable name."
              type: str
            services:
              description: "Compose services recreated to apply it."
              type: list
              elements: str
        probe:
          description: "The request that proves EXAM_MODE by effect: the platform refuses it while EXAM_MODE is on (it must never run
            a job: a dry-run form, or one that fails validation when off)."
          type: dict
          contains:
            method:
              description: "HTTP method."
              type: str
            path:
              description: "Path (relative to I(api.prefix) unless it starts with C(/))."
              type: str
            body:
              description: "JSON body (null: none)."
              type: raw
            auth:
              description: "C(admin) sends the admin's token, C(none) nothing."
              type: str
            refused_status:
              description: "HTTP status of the refusal."
              type: int
            refused_code:
              description: "Error code of the refusal (empty: any)."
              type: str
            streak:
              description: "Answers in a row that must agree (every backend process caches the flag)."
              type: int
        jobs_evidence:
          description: "Evidence that the job runner idles: C(log) reads a service's log lines (a worker service, or a cron-style
            runner inside the backend); C(none) when the platform logs nothing (the probe is the evidence)."
          type: dict
          contains:
            kind:
              description: "C(log) or C(none)."
              type: str
            service:
              description: "Service whose log shows the job runner."
              type: str
            event_key:
              description: "Path of the event name in a log record."
              type: str
            idle_event:
              description: "Event logged when a run is skipped because of EXAM_MODE."
              type: str
            run_event:
              description: "Event logged when jobs ran."
              type: str
            window:
              description: "Seconds of log read when nothing changed."
              type: float
        freeze_flag:
          description: "The student-blocking sibling flag, never touched unless asked for explicitly."
          type: str
    jobs:
      description: "Background jobs turned off by the freeze."
      type: dict
      contains:
        services:
          description: "Compose services that only run jobs (stopped or paused)."
          type: list
          elements: str
        container_action:
          description: "C(stop) or C(pause) those services."
          type: str
        scan_services:
          description: "Services searched for job processes (paused with SIGSTOP)."
          type: list
          elements: str
        process_patterns:
          description: "Regular expressions of job processes' command lines."
          type: list
          elements: str
    services:
      description: "Compose service names by role (empty: the platform has no such service)."
      type: dict
      contains:
        edge:
          description: "The edge proxy (Traefik)."
          type: str
        backend:
          description: "The API backend."
          type: str
        frontend:
          description: "The frontend."
          type: str
        db:
          description: "PostgreSQL."
          type: str
        redis:
          description: "Redis."
          type: str
        worker:
          description: "A job worker service."
          type: str
    backend:
      description: "Backend topology and database pools."
      type: dict
      contains:
        replicas:
          description: "Containers of the backend service."
          type: int
        processes:
          description: "Worker processes in each container (each with its own pool)."
          type: int
        pool_size:
          description: "Pool size per process."
          type: int
        max_overflow:
          description: "Pool overflow per process."
          type: int
        app_name_pattern:
          description: "Regular expression of the backends' application_name in pg_stat_activity."
          type: str
    logs:
      description: "Where the log records keep their values (JSON keys, dotted paths)."
      type: dict
      contains:
        backend:
          description: "Backend logs."
          type: dict
          contains:
            keys:
              description: "Keys of a backend record."
              type: dict
              contains:
                event:
                  description: "Event name."
                  type: str
                level:
                  description: "Level."
                  type: str
                ts:
                  description: "Time."
                  type: str
                request_id:
                  description: "Request id."
                  type: str
                status:
                  description: "HTTP status of an access record."
                  type: str
                duration_ms:
                  description: "Request duration in milliseconds."
                  type: str
                method:
                  description: "HTTP method."
                  type: str
                path:
                  description: "Path."
                  type: str
                route:
                  description: "Route name."
                  type: str
            request_event:
              description: "Event value of access records (empty: every record with a status)."
              type: str
            slow_sql:
              description: "Slow SQL records."
              type: dict
              contains:
                event:
                  description: "Event value."
                  type: str
                duration_ms:
                  description: "Key of the duration in milliseconds."
                  type: str
                statement:
                  description: "Key of the statement."
                  type: str
            error_levels:
              description: "Levels counted as errors."
              type: list
              elements: str
        edge:
          description: "Edge access logs (JSON)."
          type: dict
          contains:
            keys:
              description: "Keys of an edge record."
              type: dict
              contains:
                request_id:
                  description: "Request id."
                  type: str
                status:
                  description: "Status sent to the client."
                  type: str
                upstream_addr:
                  description: "Backend address."
                  type: str
                upstream_status:
                  description: "Backend status."
                  type: str
                path:
                  description: "Path."
                  type: str
                ts:
                  description: "Time."
                  type: str
    schema:
      description: "Table and column names used by the integrity checks, reconciliation and statistics (empty: the platform has no
        such column; what needs it is not measured)."
      type: dict
      contains:
        sessions:
          description: "Exam sessions."
          type: dict
          contains:
            table:
              description: "Table (optionally schema-qualified)."
              type: str
            id:
              description: "Column C(id)."
              type: str
            user_id:
              description: "Column C(user_id)."
              type: str
            status:
              description: "Column C(status)."
              type: str
            created_at:
              description: "Column C(created_at)."
              type: str
            started_at:
              description: "Column C(started_at)."
              type: str
            submitted_at:
              description: "Column C(submitted_at)."
              type: str
            expires_at:
              description: "Column C(expires_at)."
              type: str
            score_correct:
              description: "Column C(score_correct)."
              type: str
            score_total:
              description: "Column C(score_total)."
              type: str
            total_questions:
              description: "Column C(total_questions)."
              type: str
        statuses:
          description: "Session status values stored."
          type: dict
          contains:
            active:
              description: "Open."
              type: str
            submitted:
              description: "Submitted."
              type: str
            expired:
              description: "Expired."
              type: str
        expiry_sets_submitted_at:
          description: "Whether an expired session gets submitted_at set (then it is not an inconsistency)."
          type: bool
        questions:
          description: "A session's questions."
          type: dict
          contains:
            table:
              description: "Table (optionally schema-qualified)."
              type: str
            session_id:
              description: "Column C(session_id)."
              type: str
            question_id:
              description: "Column C(question_id)."
              type: str
            position:
              description: "Column C(position)."
              type: str
        answers:
          description: "Stored answers (one row per answered question)."
          type: dict
          contains:
            table:
              description: "Table (optionally schema-qualified)."
              type: str
            session_id:
              description: "Column C(session_id)."
              type: str
            question_id:
              description: "Column C(question_id)."
              type: str
            selected_index:
              description: "Column C(selected_index)."
              type: str
            is_correct:
              description: "Column C(is_correct)."
              type: str
            changed_count:
              description: "Column C(changed_count)."
              type: str
            answered_at:
              description: "Column C(answered_at)."
              type: str
            updated_at:
              description: "Column C(updated_at)."
              type: str
        events:
          description: "Attempt events."
          type: dict
          contains:
            table:
              description: "Table (optionally schema-qualified)."
              type: str
            session_id:
              description: "Column C(session_id)."
              type: str
            type:
              description: "Column C(type)."
              type: str
            ts:
              description: "Column C(ts)."
              type: str
        submitted_event:
          description: "Event type of a submit."
          type: str
        mastery:
          description: "Per-user mastery rows (empty table: the check is skipped)."
          type: dict
          contains:
            table:
              description: "Table (optionally schema-qualified)."
              type: str
            user_id:
              description: "Column C(user_id)."
              type: str
            theme_id:
              description: "Column C(theme_id)."
              type: str
        users:
          description: "Users."
          type: dict
          contains:
            table:
              description: "Table (optionally schema-qualified)."
              type: str
            id:
              description: "Column C(id)."
              type: str
            email:
              description: "Column C(email)."
              type: str
            active:
              description: "Column C(active)."
              type: str
    reconcile:
      description: "Reconciliation of acknowledged writes per ack kind, overriding or adding to the defaults built from I(schema):
        C({kind: {sql, key, compare, require, max}}) (docs/evidence.md)."
      type: dict
      contains:
        <kind>:
          description: "One ack kind as given, by its name (only the keys given; the rest are the defaults)."
          type: dict
          contains:
            key:
              description: "Fields that identify a write."
              type: list
              elements: str
            compare:
              description: "Fields whose last acknowledged value must be stored."
              type: list
              elements: str
            require:
              description: "What a stored row must show, field to value."
              type: dict
              contains:
                <field>:
                  description: "The value, by the field's name."
                  type: raw
            min:
              description: "Least values of stored fields."
              type: dict
              contains:
                <field>:
                  description: "The value, by the field's name."
                  type: raw
            max:
              description: "Greatest values of stored fields (above: a duplicate)."
              type: dict
              contains:
                <field>:
                  description: "The value, by the field's name."
                  type: raw
            sql:
              description: "The read-only query of the kind."
              type: str
    cohort:
      description: "How the synthetic student cohort of a load run is provisioned and retired (its password is an option of the load
        module)."
      type: dict
      contains:
        method:
          description: "C(sql), C(api), C(command) (inside a service's container) or C(none) (it exists)."
          type: str
        prefix:
          description: "E-mail local part before the number."
          type: str
        domain:
          description: "E-mail domain (one the platform's e-mail validation accepts)."
          type: str
        tag:
          description: "Tag of the cohort's rows."
          type: str
        pad:
          description: "Digits of the student number."
          type: int
        sql:
          description: "SQL templates (C(%(name)s) parameters)."
          type: dict
          contains:
            provision:
              description: "Run once per student (default fits PLATFORM.md's users table)."
              type: str
            retire:
              description: "Run once (marks the cohort inactive)."
              type: str
            statement_timeout:
              description: "Seconds."
              type: int
        api:
          description: "Admin API requests."
          type: dict
          contains:
            provision_method:
              description: "Method."
              type: str
            provision_path:
              description: "Path."
              type: str
            provision_body:
              description: "Body template."
              type: raw
            retire_method:
              description: "Method."
              type: str
            retire_path:
              description: "Path."
              type: str
            retire_body:
              description: "Body template."
              type: raw
            ok_status:
              description: "Statuses of success."
              type: list
              elements: int
            unchanged_status:
              description: "Statuses of 'already so'."
              type: list
              elements: int
        command:
          description: "A command run in a service's container."
          type: dict
          contains:
            service:
              description: "Service."
              type: str
            container:
              description: "Container (instead of a service)."
              type: str
            provision:
              description: "argv to provision."
              type: list
              elements: str
            retire:
              description: "argv to retire."
              type: list
              elements: str
    rollback:
      description: "The rollback guard: a switch that stops new sessions while the running ones go on."
      type: dict
      contains:
        new_sessions_flag:
          description: "A key of the flag table that makes the platform refuse new sessions; empty when it has none."
          type: str
        refused_status:
          description: "HTTP status of a refused session creation."
          type: int
        refused_code:
          description: "Its error code (empty - any)."
          type: str
        streak:
          description: "Refusals in a row that prove the switch took effect."
          type: int
  sample:
    name: the lab (reference platform 1)
    readiness: {rule: flat, status_path: status, checks_path: checks, ok_words: [ok, up, healthy, pass], ok_status: [200]}
    services: {edge: traefik, backend: backend, frontend: "", db: postgres, redis: redis, worker: worker}
    backend: {replicas: 2, processes: 1, pool_size: 10, max_overflow: 10, app_name_pattern: "^exam_backend"}
    exam_mode:
      mechanism: api
      cache_seconds: 10.0
      confirmation: {enable: ENABLE EXAM MODE, disable: DISABLE EXAM MODE}
      flag: {table: system_flags, key_column: key, key: EXAM_MODE, value_column: value, value_type: jsonb,
             updated_by_column: updated_by, updated_by_type: text, updated_by: examday.ops, reason_column: reason,
             updated_at_column: updated_at}
      env: {var: EXAM_MODE, services: [backend, worker]}
      probe: {method: POST, path: "admin/jobs/recompute-mastery?dry_run=true", body: null, auth: admin, refused_status: 423,
              refused_code: EXAM_MODE_ACTIVE, streak: 8}
      jobs_evidence: {kind: log, service: worker, event_key: event, idle_event: job_runner_idle, run_event: job_run, window: 30.0}
      freeze_flag: FREEZE_UPDATES
thresholds:
  description: The thresholds (I(thresholds)) with every default filled in; the same keys as the option, described there.
  returned: success
  type: dict
  contains:
    p95_ms:
      description: "Limit (ms) of the p95 latency outside fault windows in every scenario, and k6's http_req_duration
        p(95)."
      type: float
    p99_ms:
      description: "Limit (ms) of k6's http_req_duration p(99)."
      type: float
    error_rate_pct:
      description: "Limit (%) of failed requests outside fault windows in every scenario, and k6's http_req_failed."
      type: float
    checks_pass_pct:
      description: "Least share (%) of k6 checks that pass in the exam scenarios."
      type: float
    fault_error_budget_pct:
      description: "Most failed requests (%) allowed inside each fault window."
      type: float
    recovery_seconds:
      description: "Most seconds from a fault's end to the canary student's first complete success."
      type: float
    outage_seconds:
      description: "Longest outage (s) the canary student may see during a fault (a fault may set its own max_outage_s)."
      type: float
    readiness_lie_seconds:
      description: "Longest time (s) readiness may say ok while the canary student fails on the server side."
      type: float
    db_pool_pct:
      description: "Limit (%) of peak DB connections against the backends' pool capacity and max_connections."
      type: float
    traceability_min_pct:
      description: "Least share (%) of sampled request ids found in the logs."
      type: float
    loadgen_cpu_pct:
      description: "CPU use (%) of a load generator's cores over a scenario above which it counts as saturated: its
        latencies include its own queueing."
      type: float
    loadgen_start_spread_s:
      description: "Most seconds between the first and the last load generator's start of a scenario; more means less
        concurrency than planned."
      type: float
    regression_pct:
      description: "Worsening (%) against the previous rehearsal flagged as a regression."
      type: float
    stale_overwrite_fails:
      description: "Whether a stale write applied after a newer acknowledged one fails zero data loss (the student's last
        acknowledged answer is not stored)."
      type: bool
    slow_sql_ms:
      description: "Slow SQL in the backend logs, [warn, error] in ms."
      type: list
      elements: float
    slow_request_ms:
      description: "Slow requests in the backend logs, [warn, error] in ms."
      type: list
      elements: float
    data_loss_checks:
      description: "Integrity checks that count towards zero data loss (the others towards no corrupted sessions),
        compared in lower case with non-alphanumerics as _."
      type: list
      elements: str
  sample: {p95_ms: 500.0, p99_ms: 1000.0, error_rate_pct: 1.0, checks_pass_pct: 99.0, fault_error_budget_pct: 20.0,
           recovery_seconds: 30.0, outage_seconds: 60.0, readiness_lie_seconds: 5.0, db_pool_pct: 80.0, traceability_min_pct: 100.0,
           loadgen_cpu_pct: 85.0, loadgen_start_spread_s: 5.0,
           regression_pct: 20.0, stale_overwrite_fails: true, slow_sql_ms: [100.0, 300.0], slow_request_ms: [500.0, 1500.0],
           data_loss_checks: [orphaned_answers, orphan_answers, missing_answers, lost_answers]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.examday.ops.plugins.module_utils import _thresholds
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec


def main() -> None:
    spec = platform_argument_spec()
    spec.update(_thresholds.threshold_argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        platform = resolve(module.params["platform"])
        thresholds = _thresholds.resolve(module.params["thresholds"])
    except OpsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(changed=False, platform=json_safe(platform), thresholds=json_safe(thresholds))


if __name__ == "__main__":
    main()
