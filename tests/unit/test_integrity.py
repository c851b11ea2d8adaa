"""Unit tests of module_utils/_integrity/: check validation, checks as data written against the
profile's schema, the run in one read-only snapshot (with a fake connection), and reconciliation
of the recorded writes (lost, mismatched, stale overwrites explained, superseded, duplicates)."""
from __future__ import annotations

import datetime
import io
import json

import psycopg
import pytest

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._evidence import acks as _acks
from ansible_collections.examday.ops.plugins.module_utils._integrity import checks as ch
from ansible_collections.examday.ops.plugins.module_utils._integrity import guard
from ansible_collections.examday.ops.plugins.module_utils._integrity import manager as integ
from ansible_collections.examday.ops.plugins.module_utils._integrity import reconcile as rec
from ansible_collections.examday.ops.plugins.module_utils._platform import schema as sch
from tests.unit import profiles

S1 = "0b7c1a52-6e0f-4a43-9d0e-5b6a3f3f1a01"
S2 = "0b7c1a52-6e0f-4a43-9d0e-5b6a3f3f1a02"
S3 = "0b7c1a52-6e0f-4a43-9d0e-5b6a3f3f1a03"
S4 = "0b7c1a52-6e0f-4a43-9d0e-5b6a3f3f1a04"
UTC = datetime.timezone.utc


def one_sentence(msg: str) -> bool:
    return "\n" not in msg and msg.endswith(".") and msg[0].isalpha()


# ------------------------------------------------------------------ static validation
@pytest.mark.parametrize("sql", [
    "SELECT 1",
    "select a.id from session_answers a where a.updated_at > now();",
    "  -- leading comment\nWITH x AS (SELECT id FROM test_sessions) SELECT * FROM x;  -- trailing\n",
    "VALUES (1), (2)",
    "TABLE test_sessions",
    "(SELECT 1) UNION ALL (SELECT 2)",
    "SELECT 'DELETE FROM users; DROP TABLE x' AS s",
    "SELECT 1 /* UPDATE users SET x = 1; */",
    'SELECT "delete", "into" FROM t',
    "SELECT substring(stem FROM 1 FOR 10) FROM questions",
    "SELECT $$ ; DROP TABLE x $$, $tag$ INSERT $tag$",
    "SELECT E'it\\'s; DELETE' AS s",
    "SELECT 'it''s; DELETE'",
    "SELECT currval('x') FROM t WHERE x LIKE 'a%%'",
    "SELECT 1 /* nested /* comment; */ still */",
])
def test_read_only_statements_are_accepted(sql):
    out = guard.validate_select("c", sql)
    assert not out.rstrip().endswith(";") and not out.startswith(" ")


@pytest.mark.parametrize("sql, fragment", [
    ("DELETE FROM session_answers", "starts with DELETE"),
    ("UPDATE test_sessions SET status = 'ACTIVE'", "starts with UPDATE"),
    ("INSERT INTO t VALUES (1)", "starts with INSERT"),
    ("WITH x AS (DELETE FROM session_answers RETURNING *) SELECT count(*) FROM x", "contains DELETE"),
    ("WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT 1", "contains UPDATE"),
    ("with x as (insert into t values (1) returning 1) select 1", "contains INSERT"),
    ("SELECT 1; DROP TABLE users", "more than one statement"),
    ("SELECT 1;;DELETE FROM x;", "more than one statement"),
    ("SELECT * INTO copy_of_answers FROM session_answers", "SELECT ... INTO"),
    ("SELECT * FROM test_sessions FOR UPDATE", "row locks (FOR UPDATE"),
    ("SELECT * FROM test_sessions FOR SHARE", "row locks (FOR SHARE"),
    ("SELECT * FROM test_sessions FOR NO KEY UPDATE", "row locks (FOR NO"),
    ("SELECT * FROM test_sessions FOR KEY SHARE", "row locks (FOR KEY"),
    ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity", "calls pg_terminate_backend()"),
    ("SELECT U&\"pg\\005fterminate_backend\"(pid) FROM pg_stat_activity", "Unicode-escaped name"),
    ("SELECT PG_CANCEL_BACKEND (1)", "calls pg_cancel_backend()"),
    ("SELECT pg_catalog.setval('s', 1)", "calls setval()"),
    ('SELECT "nextval"(\'s\')', "calls nextval()"),
    ("SELECT pg_advisory_xact_lock(1)", "calls pg_advisory_xact_lock()"),
    ("SELECT pg_try_advisory_lock(1)", "calls pg_try_advisory_lock()"),
    ("SELECT * FROM dblink('x', 'DELETE FROM t') AS t(a int)", "calls dblink()"),
    ("SELECT dblink_exec('x', 'y')", "calls dblink_exec()"),
    ("SELECT lo_import('/etc/passwd')", "calls lo_import()"),
    ("SELECT set_config('statement_timeout', '0', true)", "calls set_config()"),
    ("SELECT query_to_xml('DELETE FROM t', true, true, '')", "calls query_to_xml()"),
    ("SELECT pg_read_file('/etc/shadow')", "calls pg_read_file()"),
    ("EXPLAIN ANALYZE DELETE FROM t", "starts with EXPLAIN"),
    ("DO $$ BEGIN DELETE FROM t; END $$", "starts with DO"),
    ("COPY t TO '/tmp/x'", "starts with COPY"),
    ("SET statement_timeout = 0", "starts with SET"),
    ("TRUNCATE attempt_events", "starts with TRUNCATE"),
    ("", "has no statement"),
    (" ; ; ", "has no statement"),
    ("SELECT 'unterminated", "an unterminated string literal"),
    ("SELECT 1 /* open", "an unterminated /* comment"),
    ('SELECT "open', "an unterminated quoted identifier"),
    ("SELECT $x$ open", "an unterminated dollar-quoted string"),
])
def test_data_modifying_or_dangerous_statements_are_refused_in_one_sentence(sql, fragment):
    with pytest.raises(OpsError) as err:
        guard.validate_select("bad_check", sql)
    assert fragment in err.value.msg
    assert err.value.msg.startswith("check bad_check ")
    assert one_sentence(err.value.msg)


LAB = profiles.lab()
SCHEMA = LAB["schema"]
DEFAULT_ORDER = ["orphaned_answers", "duplicate_submits", "missing_answers", "unscored_sessions",
                 "answers_not_in_session", "orphaned_events", "inconsistent_status", "duplicate_mastery_updates"]


def test_the_default_set_and_the_statistics_are_valid_read_only_statements():
    params = ch.query_params(None, None, None, sch.schema_params(SCHEMA))
    checks, unavailable = ch.prepare_checks(ch.merge_checks(None, True), params, SCHEMA)
    assert [c["name"] for c in checks] == DEFAULT_ORDER and unavailable == []
    assert all(c["max"] == 0 and c["description"] for c in checks)
    guard.validate_select("statistics", sch.render(ch.STATISTICS_SQL, SCHEMA))
    specs = rec.prepare(rec.kind_specs(None), SCHEMA)
    assert sorted(specs) == ["answer", "session", "submit"] and not any(s["unavailable"] for s in specs.values())
    # Partially answered submissions are legitimate: no default check compares answer counts with
    # the number of questions (the seeds' false positives).
    for check in checks:
        assert '"total_questions"' not in check["sql"] or check["name"] == "unscored_sessions"
    # statuses and the submit event are parameters, never spelled into the SQL
    assert all("'SUBMITTED'" not in c["sql"] and "'SESSION_SUBMITTED'" not in c["sql"] for c in checks)


def test_the_default_set_runs_on_another_schema_by_its_names_alone():
    other = profiles.with_(profiles.default(), **{
        "schema.sessions": dict(profiles.default()["schema"]["sessions"], table="exam.attempts", id="attempt_id",
                                user_id="learner_id", status="state"),
        "schema.answers": dict(profiles.default()["schema"]["answers"], table="item_responses",
                               session_id="attempt_id", question_id="item_id", selected_index="choice"),
        "schema.statuses": {"active": "OPEN", "submitted": "FINISHED", "expired": "TIMED_OUT"},
    })
    params = ch.query_params(None, None, None, sch.schema_params(other["schema"]))
    checks, _unavailable = ch.prepare_checks(ch.merge_checks(None, True), params, other["schema"])
    orphaned = next(c for c in checks if c["name"] == "orphaned_answers")["sql"]
    assert '"exam"."attempts" s WHERE s."attempt_id" = a."attempt_id"' in orphaned
    assert 'a."item_id" AS question_id' in orphaned
    assert params["status_submitted"] == "FINISHED"


def test_a_check_that_needs_a_missing_table_is_not_measured_and_says_why():
    no_mastery = profiles.with_(SCHEMA, **{"mastery.table": ""})
    params = ch.query_params(None, None, None, sch.schema_params(no_mastery))
    checks, unavailable = ch.prepare_checks(ch.merge_checks(None, True), params, no_mastery)
    assert "duplicate_mastery_updates" not in [c["name"] for c in checks]
    assert unavailable == [{"name": "duplicate_mastery_updates", "description": unavailable[0]["description"],
                            "count": None, "expected": 0, "passed": None, "samples": [],
                            "note": "not measured: examday_platform.schema.mastery.table is empty (the platform has no "
                                    "such table or column)"}]
    with pytest.raises(OpsError, match=r"\{sessions.nope\}, which examday_platform.schema.sessions does not have"):
        sch.render("SELECT {sessions.nope} FROM {sessions}", SCHEMA)
    # braces that do not name the schema are left alone (a user's own SQL)
    assert sch.render("SELECT '{a,b}'::text[] FROM {sessions}", SCHEMA) == """SELECT '{a,b}'::text[] FROM "test_sessions\""""


def test_expired_sessions_with_submitted_at_are_not_inconsistent_where_the_platform_sets_it():
    check = ch.DEFAULT_CHECKS_BY_NAME["inconsistent_status"]["sql"]
    assert "%(expiry_sets_submitted_at)s" in check and "%(status_expired)s" in check
    assert sch.schema_params(profiles.default()["schema"])["expiry_sets_submitted_at"] is True


def test_placeholders_and_parameters():
    assert guard.placeholders("c", "SELECT %(since)s, %(cohort)s, 'a%%'") == {"since", "cohort"}
    with pytest.raises(OpsError, match="write %% for a literal percent sign"):
        guard.placeholders("c", "SELECT 1 WHERE x LIKE 'a%'")
    with pytest.raises(OpsError, match=r"use %\(x\)s"):
        guard.placeholders("c", "SELECT %(x)d")
    params = ch.query_params("2026-11-21T22:10:03Z", None, {"cohort": "r1"})
    assert params["since"] == datetime.datetime(2026, 11, 21, 22, 10, 3, tzinfo=UTC)
    assert params["until"] is None and params["cohort"] == "r1"
    with pytest.raises(OpsError) as err:
        ch.prepare_checks([{"name": "c", "sql": "SELECT %(tag)s", "max": 0, "description": "", "enabled": True}],
                          params, SCHEMA)
    assert err.value.msg == "check c uses %(tag)s but no parameter tag was given (add it to params)."
    with pytest.raises(OpsError, match="not an ISO 8601 timestamp"):
        ch.query_params("yesterday", None, None)
    with pytest.raises(OpsError, match="params may not set since"):
        ch.query_params(None, None, {"since": "x"})
    with pytest.raises(OpsError, match="params may not set status_submitted"):
        ch.query_params(None, None, {"status_submitted": "x"})
    with pytest.raises(OpsError, match="not a valid parameter name"):
        ch.query_params(None, None, {"a b": 1})
    naive = ch.query_params("2026-11-21T22:10:03", None, None)["since"]
    assert naive.tzinfo is not None


# ------------------------------------------------------------------ checks as data
def test_user_checks_add_override_and_disable_by_name():
    checks = ch.merge_checks([
        {"name": "duplicate_submits", "max": 2},
        {"name": "orphaned_events", "enabled": False},
        {"name": "mine", "sql": "SELECT 1 WHERE false", "description": "Mine."},
    ], True)
    by_name = {c["name"]: c for c in checks}
    assert "orphaned_events" not in by_name and len(checks) == 8
    assert by_name["duplicate_submits"]["max"] == 2
    assert by_name["duplicate_submits"]["sql"] == ch.DEFAULT_CHECKS[1]["sql"]
    assert by_name["mine"] == {"name": "mine", "description": "Mine.", "sql": "SELECT 1 WHERE false", "max": 0,
                               "enabled": True}
    assert [c["name"] for c in ch.merge_checks([{"name": "only", "sql": "SELECT 1"}], False)] == ["only"]
    with pytest.raises(OpsError, match="check new has no sql"):
        ch.merge_checks([{"name": "new", "max": 1}], True)
    with pytest.raises(OpsError, match="whole number of rows"):
        ch.merge_checks([{"name": "duplicate_submits", "max": -1}], True)
    with pytest.raises(OpsError, match=r"checks\[0\] has no name"):
        ch.merge_checks([{"name": " "}], True)


def test_check_result_counts_all_rows_and_keeps_samples():
    check = {"name": "c", "description": "d", "max": 1}
    rows = [(3, 1, "s1", 1), (3, 2, "s2", 2)]
    got = ch.check_result(check, [ch.COUNT_COLUMN, "examday_row", "session_id", "n"], rows, 1, 0.01234)
    assert got == {"name": "c", "description": "d", "count": 3, "expected": 1, "passed": False,
                   "samples": [{"session_id": "s1", "n": 1}], "duration_s": 0.012}
    assert ch.check_result(check, [ch.COUNT_COLUMN], [], 5, 0)["passed"] is True
    wrapped = ch.wrap_check("SELECT 1 -- a trailing comment")
    assert "LIMIT" not in wrapped and wrapped.endswith(f"WHERE examday_row <= %({ch.LIMIT_PARAM})s")
    assert "\nSELECT 1 -- a trailing comment\n)" in wrapped


# ------------------------------------------------------------------ the run, with fakes
class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.description = None
        self._rows = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params=None):
        self.conn.executed.append((sql, params))
        result = self.conn.respond(sql, params)
        if isinstance(result, Exception):
            raise result
        columns, rows = result
        self.description = [type("D", (), {"name": c})() for c in columns]
        self._rows = rows

    def fetchall(self):
        return list(self._rows)

    def fetchone(self):
        return self._rows[0] if self._rows else None


class FakeConnection:
    def __init__(self, respond):
        self.respond = respond
        self.executed = []
        self.rolled_back = self.closed = False
        self.autocommit = True
        self.isolation_level = None
        self.read_only = None
        self.prepare_threshold = 5

    def cursor(self):
        return FakeCursor(self)

    def rollback(self):
        self.rolled_back = True

    def close(self):
        self.closed = True


SNAPSHOT_ROW = ("300s", "300s", "repeatable read", "on", datetime.datetime(2026, 11, 21, 22, 10, 3, 412000, tzinfo=UTC),
                "examday.integrity_check", "15.10")
STATS = {"sessions": 10, "submitted_sessions": 8, "active_sessions": 2, "expired_sessions": 0, "answers": 70,
         "events": 90, "submitted_events": 9, "sessions_with_submit_event": 8}
RENDERED = {c["name"]: sch.render(c["sql"], SCHEMA).strip() for c in ch.DEFAULT_CHECKS}
STATISTICS = sch.render(ch.STATISTICS_SQL, SCHEMA)


def responder(violations=None, error=None, stored=None):
    violations = violations or {}

    def respond(sql, params):
        if "set_config('statement_timeout'" in sql:
            return ["a", "b", "c", "d", "e", "f", "g"], [SNAPSHOT_ROW]
        if sql.startswith("SELECT * FROM (SELECT count(*) OVER ()"):
            for name, (exc_or_rows, columns) in violations.items():
                if RENDERED[name] in sql:
                    if isinstance(exc_or_rows, Exception):
                        return exc_or_rows
                    return [ch.COUNT_COLUMN, "examday_row", *columns], exc_or_rows
            return [ch.COUNT_COLUMN, "examday_row", "x"], []
        if sql == STATISTICS:
            return list(STATS), [tuple(STATS.values())]
        if "format_type" in sql:
            return ["t"], [("uuid" if params["column"] in ("id", "session_id") else "bigint",)]
        if "jsonb_to_recordset" in sql and stored is not None:
            return stored(sql, json.loads(params["keys"]))
        if error is not None:
            return error
        return ["x"], []
    return respond


def base_params(**over):
    p = {"checks": [], "default_checks": True, "since": None, "until": None, "params": {}, "sample_rows": 5,
         "statement_timeout": 300, "statistics": True, "acks": [], "batch_size": 5000, "fail_on_violation": False,
         "dest": None, "platform": LAB, "stale_overwrite_fails": True}
    p.update(over)
    return p


def test_run_all_checks_in_one_read_only_snapshot():
    conn = FakeConnection(responder({"duplicate_submits": ([(2, 1, S1, 2)], ["session_id", "submitted_events"])}))
    result = integ.IntegrityCheck(base_params(), lambda: conn).run()
    assert conn.isolation_level == psycopg.IsolationLevel.REPEATABLE_READ and conn.read_only is True
    assert conn.autocommit is False and conn.prepare_threshold is None
    assert conn.rolled_back and conn.closed
    assert conn.executed[0][1] == {"t": "300s"}
    assert result["snapshot"] == {"isolation": "repeatable read", "read_only": True, "taken_at": "2026-11-21T22:10:03.412Z",
                                  "application_name": "examday.integrity_check", "server_version": "15.10",
                                  "statement_timeout_s": 300}
    assert result["passed"] is False and result["failed_checks"] == ["duplicate_submits"]
    dup = next(c for c in result["checks"] if c["name"] == "duplicate_submits")
    assert (dup["count"], dup["expected"], dup["passed"]) == (2, 0, False)
    assert dup["samples"] == [{"session_id": S1, "submitted_events": 2}]
    assert result["statistics"] == STATS
    assert result["msg"] == "7 of 8 integrity checks passed (failing: duplicate_submits)."
    assert "reconciliation" not in result
    # every check got the same named parameters, values only as parameters
    check_params = [p for sql, p in conn.executed if sql.startswith("SELECT * FROM (SELECT count(*) OVER ()")]
    assert len(check_params) == 8
    assert all(p == {"since": None, "until": None, **sch.schema_params(SCHEMA), ch.LIMIT_PARAM: 5}
               for p in check_params)
    json.dumps(result)


def test_bad_input_fails_before_connecting():
    def never():
        raise AssertionError("must not connect")
    for params, fragment in (
        (base_params(checks=[{"name": "evil", "sql": "WITH x AS (DELETE FROM t RETURNING 1) SELECT 1"}]), "not read-only"),
        (base_params(checks=[{"name": "two", "sql": "SELECT 1; DROP TABLE users"}]), "more than one statement"),
        (base_params(since="2026-11-22T00:00:00Z", until="2026-11-21T00:00:00Z"), "since must be earlier"),
        (base_params(sample_rows=-1), "sample_rows"),
        (base_params(acks=["/nonexistent/acks.jsonl"]), "cannot read acks file /nonexistent/acks.jsonl"),
        (base_params(platform=profiles.with_(LAB, reconcile={"answer": {"sql": "DELETE FROM x"}})),
         "check reconcile answer starts with DELETE"),
        (base_params(platform=profiles.with_(LAB, reconcile={"flag": {"key": ["session_id"]}})),
         "examday_platform.reconcile.flag.sql must be a query"),
    ):
        with pytest.raises(OpsError) as err:
            integ.IntegrityCheck(params, never).run()
        assert fragment in err.value.msg and one_sentence(err.value.msg)


def test_a_write_refused_by_the_read_only_transaction_is_one_sentence():
    refused = psycopg.errors.ReadOnlySqlTransaction("cannot execute DELETE in a read-only transaction")
    conn = FakeConnection(responder({"orphaned_events": (refused, [])}))
    with pytest.raises(OpsError) as err:
        integ.IntegrityCheck(base_params(), lambda: conn).run()
    assert err.value.msg == ("check orphaned_events tried to change data and the READ ONLY transaction refused it; "
                             "nothing was changed.")
    assert [c["name"] for c in err.value.details["checks"]] == DEFAULT_ORDER[:5]
    assert conn.rolled_back and conn.closed
    timeout = psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    conn = FakeConnection(responder({"orphaned_answers": (timeout, [])}))
    with pytest.raises(OpsError, match="did not finish within the statement timeout of 300 s"):
        integ.IntegrityCheck(base_params(), lambda: conn).run()
    missing = psycopg.errors.UndefinedColumn('column "nope" does not exist\nLINE 1: ...')
    conn = FakeConnection(responder({"unscored_sessions": (missing, [])}))
    with pytest.raises(OpsError) as err:
        integ.IntegrityCheck(base_params(), lambda: conn).run()
    assert err.value.msg == 'check unscored_sessions failed on the server: column "nope" does not exist.'


def test_a_transaction_that_is_not_read_only_is_refused():
    def respond(sql, params):
        return ["a", "b", "c", "d", "e", "f", "g"], [SNAPSHOT_ROW[:3] + ("off",) + SNAPSHOT_ROW[4:]]
    conn = FakeConnection(respond)
    with pytest.raises(OpsError, match="did not open a REPEATABLE READ, READ ONLY transaction"):
        integ.IntegrityCheck(base_params(), lambda: conn).run()
    assert conn.closed


# ------------------------------------------------------------------ the recorded writes
def ack_lines(*objs):
    return [json.dumps(o) + "\n" for o in objs]


def parse(*objs, source="acks.jsonl"):
    records, ignored = _acks.parse_lines(ack_lines(*objs), source)
    summary = rec.summarize(records)
    summary["ignored"] = ignored
    return summary


def test_records_are_validated_and_ids_are_opaque():
    records, ignored = _acks.parse_lines(ack_lines(
        {"kind": "session", "session_id": S1, "user": "student00007@cohort.examday.invalid", "ts": "2026-11-21T22:10:03.412Z"},
        {"kind": "answer", "session_id": S1, "question_id": 12, "selected_index": 2, "ts": "2026-11-21T22:10:04Z"},
        {"kind": "answer", "session_id": S1, "question_id": "7f3c-uuid", "selected_index": None,
         "ts": "2026-11-21T22:10:05Z"},
        {"kind": "submit", "session_id": S1, "idempotency_key": "k", "ts": "2026-11-21T22:10:09Z", "score_correct": 1},
        {"kind": "login", "ts": "2026-11-21T22:10:09Z"},
    ) + ["\n"], "a.jsonl")
    assert [r["kind"] for r in records] == ["session", "answer", "answer", "submit"] and ignored == 1
    assert records[1]["key"] == (S1, "12") and records[2]["key"] == (S1, "7f3c-uuid")
    assert records[3]["fields"]["score_correct"] == 1 and records[3]["extra"]["idempotency_key"] == "k"
    assert records[1]["source"] == "a.jsonl line 2" and records[1]["outcome"] == "acked"
    for bad, fragment in (
        ("{not json", "acks file a.jsonl line 1 is not valid JSON"),
        ("[1]", "is not a JSON object"),
        (json.dumps({"kind": "session"}), "has no session_id"),
        (json.dumps({"kind": "answer", "session_id": S1}), "has no question_id"),
        (json.dumps({"kind": "answer", "session_id": S1, "question_id": 1, "selected_index": [1]}),
         "selected_index that is not a single value"),
        (json.dumps({"kind": "session", "session_id": S1, "ts": "soon"}), "ts that is not an ISO 8601"),
        (json.dumps({"kind": "session", "session_id": S1, "outcome": "maybe"}), "has outcome 'maybe'"),
    ):
        with pytest.raises(OpsError) as err:
            _acks.parse_lines([bad], "a.jsonl")
        assert fragment in err.value.msg and one_sentence(err.value.msg)


def test_writes_are_ordered_by_when_they_were_sent_then_file_order():
    summary = parse(
        {"kind": "answer", "session_id": S1, "question_id": 1, "selected_index": 3, "sent_at": "2026-11-21T22:10:09Z"},
        {"kind": "answer", "session_id": S1, "question_id": 1, "selected_index": 1, "sent_at": "2026-11-21T22:10:01Z"},
        {"kind": "answer", "session_id": S1, "question_id": 2, "selected_index": 0, "ts": "2026-11-21T22:10:05Z"},
        {"kind": "answer", "session_id": S1, "question_id": 2, "selected_index": 4, "ts": "2026-11-21T22:10:05Z"},
    )
    answers = summary["kinds"]["answer"]
    assert {k: e["acked"][-1]["fields"]["selected_index"] for k, e in answers.items()} == {(S1, "1"): 3, (S1, "2"): 4}
    assert summary["counts"] == {"answer": {"acked": 4, "unknown": 0}}
    assert summary["first_ts"] == datetime.datetime(2026, 11, 21, 22, 10, 1, tzinfo=UTC)


def flows():
    return parse(
        {"kind": "session", "session_id": S1, "user": "a", "ts": "2026-11-21T22:10:00Z"},
        {"kind": "session", "session_id": S2, "user": "b", "ts": "2026-11-21T22:10:00Z"},
        {"kind": "session", "session_id": S3, "user": "c", "ts": "2026-11-21T22:10:00Z"},
        {"kind": "answer", "session_id": S1, "question_id": 1, "selected_index": 2, "ts": "2026-11-21T22:10:01Z"},
        {"kind": "answer", "session_id": S1, "question_id": 2, "selected_index": 0, "ts": "2026-11-21T22:10:02Z"},
        {"kind": "answer", "session_id": S2, "question_id": 1, "selected_index": 4, "ts": "2026-11-21T22:10:02Z"},
        {"kind": "answer", "session_id": S2, "question_id": 2, "selected_index": None, "ts": "2026-11-21T22:10:02Z"},
        {"kind": "submit", "session_id": S1, "idempotency_key": "k1", "ts": "2026-11-21T22:10:05Z", "score_correct": 1},
        {"kind": "submit", "session_id": S2, "idempotency_key": "k2", "ts": "2026-11-21T22:10:05Z", "score_correct": 0},
    )


SPECS = rec.prepare(rec.kind_specs(None), SCHEMA)
TS = datetime.datetime(2026, 11, 21, 22, 10, tzinfo=UTC)


def stored(**over):
    kinds = {
        "session": {(S1,): {"session_id": S1, "user_id": "7", "status": "SUBMITTED", "created_at": TS},
                    (S2,): {"session_id": S2, "user_id": "8", "status": "SUBMITTED", "created_at": TS},
                    (S3,): {"session_id": S3, "user_id": "9", "status": "ACTIVE", "created_at": TS}},
        "answer": {(S1, "1"): {"selected_index": 2}, (S1, "2"): {"selected_index": 0}, (S2, "1"): {"selected_index": 4},
                   (S2, "2"): {"selected_index": None}},
        "submit": {(S1,): {"score_correct": 1, "submitted": True, "submitted_events": 1},
                   (S2,): {"score_correct": 0, "submitted": True, "submitted_events": 1}},
    }
    for kind, rows in over.items():
        kinds[kind] = rows
    return {"kinds": kinds, "user_sessions": [{"session_id": S1, "user_id": "7", "status": "SUBMITTED",
                                               "created_at": TS}],
            "window": (TS, TS + datetime.timedelta(minutes=2))}


def test_reconciliation_of_real_flows_passes():
    got = rec.reconcile(SPECS, flows(), stored(), 5)
    assert got["passed"] is True
    assert got["acknowledged"] == {"session": 3, "answer": 4, "submit": 2}
    assert got["distinct"] == {"session": 3, "answer": 4, "submit": 2}
    assert got["stored"] == {"session": 3, "answer": 4, "submit": 2}
    assert got["matched"] == {"session": 3, "answer": 4, "submit": 2}
    for key in ("lost", "mismatched", "stale_overwrites", "duplicates", "unexpected"):
        assert got[key]["count"] == 0
    assert got["unexpected"]["window"] == ["2026-11-21T22:10:00.000Z", "2026-11-21T22:12:00.000Z"]
    json.dumps(got)


def test_reconciliation_finds_lost_mismatched_duplicate_and_unexpected():
    data = stored(
        session={(S1,): {"session_id": S1, "user_id": "7", "status": "SUBMITTED", "created_at": TS},
                 (S2,): {"session_id": S2, "user_id": "8", "status": "ACTIVE", "created_at": TS}},
        answer={(S1, "1"): {"selected_index": 3}, (S2, "1"): {"selected_index": 4}, (S2, "2"): {"selected_index": None}},
        submit={(S1,): {"score_correct": 2, "submitted": True, "submitted_events": 2},
                (S2,): {"score_correct": None, "submitted": False, "submitted_events": 0}})
    data["user_sessions"].append({"session_id": S4, "user_id": "7", "status": "ACTIVE", "created_at": TS})
    got = rec.reconcile(SPECS, flows(), data, 5)
    assert got["passed"] is False
    assert got["lost"]["count"] == 3
    assert {(x["kind"], x["session_id"]) for x in got["lost"]["samples"]} == {
        ("session", S3), ("answer", S1), ("submit", S2)}
    lost_submit = next(x for x in got["lost"]["samples"] if x["kind"] == "submit")
    assert lost_submit["detail"] == "submitted is False, not True; submitted_events is 0, below 1"
    lost_answer = next(x for x in got["lost"]["samples"] if x["kind"] == "answer")
    assert (lost_answer["question_id"], lost_answer["write"]["source"]) == ("2", "acks.jsonl line 5")
    assert got["mismatched"]["count"] == 2
    assert {(m["kind"], m["acknowledged"], m["stored"], m["explanation"]) for m in got["mismatched"]["samples"]} == {
        ("answer", 2, 3, "unexplained"), ("submit", 1, 2, "unexplained")}
    assert got["duplicates"]["count"] == 1 and got["duplicates"]["sessions"] == 1
    assert got["duplicates"]["samples"][0]["submitted_events"] == 2
    assert got["unexpected"]["count"] == 1 and got["unexpected"]["samples"][0]["session_id"] == S4
    assert got["stored"] == {"session": 2, "answer": 3, "submit": 2}
    assert got["matched"] == {"session": 2, "answer": 2, "submit": 0}
    assert rec.reconcile(SPECS, flows(), data, 1)["lost"]["samples"] == got["lost"]["samples"][:1]


def answer_write(value, sent, outcome="acked", rid=None, **extra):
    return {"kind": "answer", "session_id": S1, "question_id": "q-1", "selected_index": value, "outcome": outcome,
            "sent_at": f"2026-11-30T10:00:{sent:02d}Z", "ts": f"2026-11-30T10:00:{sent + 1:02d}Z",
            "request_id": rid or f"r{sent}", **extra}


def test_a_stale_write_applied_after_the_newer_acknowledged_one_is_named_with_both_requests():
    """The traced case: a revision (2) times out at the client, the student answers 1 (acknowledged),
    the delayed first request reaches the backend later and overwrites it."""
    summary = parse(answer_write(2, 10, "unknown", "stale-rid", error="request timeout", status=0),
                    answer_write(1, 21, rid="newer-rid"))
    data = stored(answer={(S1, "q-1"): {"selected_index": 2}})
    got = rec.reconcile(SPECS, summary, data, 5)
    assert got["passed"] is False and got["mismatched"]["count"] == 0
    (finding,) = got["stale_overwrites"]["samples"]
    assert (finding["acknowledged"], finding["stored"], finding["explanation"]) == (1, 2, "stale_overwrite")
    assert finding["acknowledged_write"]["request_id"] == "newer-rid"
    assert finding["stale_write"] == {"request_id": "stale-rid", "sent_at": "2026-11-30T10:00:10.000Z",
                                      "ts": "2026-11-30T10:00:11.000Z", "status": 0, "source": "acks.jsonl line 1",
                                      "error": "request timeout"}
    assert got["trace_request_ids"] == ["newer-rid", "stale-rid"]
    # whether it fails zero data loss is the inventory's choice
    assert rec.reconcile(SPECS, summary, data, 5, stale_overwrite_fails=False)["passed"] is True


def test_a_later_write_of_unknown_outcome_that_was_applied_is_fine():
    summary = parse(answer_write(1, 10), answer_write(3, 20, "unknown", status=503))
    got = rec.reconcile(SPECS, summary, stored(answer={(S1, "q-1"): {"selected_index": 3}}), 5)
    assert got["passed"] is True and got["superseded"]["count"] == 1
    assert got["unknown_outcome"] == {"count": 1, "stored": 1, "not_stored": 0}


def test_an_older_acknowledged_value_coming_back_is_a_mismatch():
    summary = parse(answer_write(4, 10), answer_write(1, 20))
    got = rec.reconcile(SPECS, summary, stored(answer={(S1, "q-1"): {"selected_index": 4}}), 5)
    assert got["passed"] is False and got["mismatched"]["samples"][0]["explanation"] == "older_acknowledged"


def test_a_users_own_kind_is_reconciled_by_its_query():
    specs = rec.prepare(rec.kind_specs({"mark": {
        "key": ["session_id", "question_id"], "compare": ["marked"],
        "sql": "SELECT m.sid::text AS session_id, m.qid::text AS question_id, m.flag AS marked "
               "FROM jsonb_to_recordset(%(keys)s::jsonb) AS k(session_id text, question_id text) "
               "JOIN marks m ON m.sid::text = k.session_id AND m.qid::text = k.question_id"}}), SCHEMA)
    assert parse({"kind": "mark", "session_id": S1, "question_id": 5})["ignored"] == 1  # unknown by default
    records, _ignored = _acks.parse_lines(ack_lines({"kind": "mark", "session_id": S1, "question_id": 5, "marked": True}),
                                          "a", {k: {"key": s["key"], "compare": s["compare"]} for k, s in specs.items()})
    summary = rec.summarize(records)
    got = rec.reconcile(specs, summary, {"kinds": {"mark": {(S1, "5"): {"marked": False}}}, "user_sessions": [],
                                         "window": None}, 5)
    assert got["mismatched"]["samples"][0]["kind"] == "mark" and got["passed"] is False


def test_fetch_reads_in_batches_of_keys_with_the_columns_own_types():
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(12)]
    summary = parse(*[{"kind": "session", "session_id": s, "ts": "2026-11-21T22:10:00Z"} for s in ids],
                    *[{"kind": "answer", "session_id": s, "question_id": 5, "selected_index": 1,
                       "ts": "2026-11-21T22:10:01Z"} for s in ids],
                    {"kind": "submit", "session_id": ids[0], "ts": "2026-11-21T22:10:02Z"})

    def rows(sql, keys):
        if '"session_answers"' in sql:
            return ["session_id", "question_id", "selected_index"], [(k["session_id"], k["question_id"], 1) for k in keys]
        if "submitted_events" in sql:
            return ["session_id", "score_correct", "submitted", "submitted_events"], [(ids[0], None, False, 0)]
        return ["session_id", "user_id", "status", "created_at"], [(k["session_id"], 7, "ACTIVE", TS) for k in keys]
    conn = FakeConnection(responder(stored=rows))
    with conn.cursor() as cur:
        got = rec.fetch(cur, SPECS, summary, SCHEMA, sch.schema_params(SCHEMA), 5)
    batches = [json.loads(p["keys"]) for sql, p in conn.executed if "jsonb_to_recordset" in sql]
    assert [len(b) for b in batches] == [5, 5, 2, 5, 5, 2, 1]
    casts = [sql for sql, _p in conn.executed if "jsonb_to_recordset" in sql]
    assert "k.session_id::uuid" in casts[0] and "k.question_id::bigint" in casts[3]
    assert len(got["kinds"]["session"]) == 12 and len(got["kinds"]["answer"]) == 12
    result = rec.reconcile(SPECS, summary, got, 5)
    assert result["lost"]["count"] == 1 and result["lost"]["samples"][0]["kind"] == "submit"


def test_a_hundred_thousand_records_are_cheap_to_summarize():
    lines = (json.dumps({"kind": "answer", "session_id": f"00000000-0000-4000-8000-{i // 10:012d}",
                         "question_id": i % 10, "selected_index": i % 5, "ts": "2026-11-21T22:10:01Z"})
             for i in range(100_000))
    records, _ignored = _acks.parse_lines(lines, "big")
    summary = rec.summarize(records)
    assert len(summary["kinds"]["answer"]) == 100_000
    assert [len(b) for b in rec.batches(sorted(summary["kinds"]["answer"]), 5000)][:2] == [5000, 5000]


def test_read_acks_from_files(tmp_path):
    first = tmp_path / "a.jsonl"
    first.write_text("".join(ack_lines({"kind": "session", "session_id": S1, "ts": "2026-11-21T22:10:00Z"})))
    records, _ignored = _acks.read([str(first)])
    assert records[0]["source"] == f"{first} line 1"
    with pytest.raises(OpsError, match="cannot read acks file"):
        _acks.read([str(tmp_path / "missing.jsonl")])
    assert _acks.read(["x"], opener=lambda path, encoding: io.StringIO("")) == ([], 0)


def test_run_with_acks_reconciles_in_the_same_snapshot(tmp_path):
    path = tmp_path / "acks.jsonl"
    path.write_text("".join(ack_lines(
        {"kind": "session", "session_id": S1, "ts": "2026-11-21T22:10:00Z"},
        {"kind": "session", "session_id": S4, "ts": "2026-11-21T22:10:00Z"})))

    def rows(sql, keys):
        return ["session_id", "user_id", "status", "created_at"], [(S1, 7, "ACTIVE", TS)]
    conn = FakeConnection(responder(stored=rows))
    result = integ.IntegrityCheck(base_params(acks=[str(path)]), lambda: conn).run()
    recon = result["reconciliation"]
    assert recon["lost"]["count"] == 1 and recon["lost"]["samples"][0]["session_id"] == S4
    assert result["passed"] is False and result["failed_checks"] == []
    assert result["msg"] == ("8 of 8 integrity checks passed; reconciliation failed (lost 1, mismatched 0, stale "
                             "overwrites 0, duplicates 0).")
    # one connection, one transaction: the snapshot statement comes first, nothing commits
    assert "set_config('statement_timeout'" in conn.executed[0][0]
    assert conn.rolled_back


def test_statistics_can_be_left_out_and_a_broken_connection_is_one_sentence():
    conn = FakeConnection(responder())
    result = integ.IntegrityCheck(base_params(statistics=False), lambda: conn).run()
    assert "statistics" not in result and result["passed"] is True
    assert not any(sql == STATISTICS for sql, _p in conn.executed)

    def refuse(sql, params):
        return psycopg.errors.InsufficientPrivilege("permission denied to set parameter \"lock_timeout\"")
    conn = FakeConnection(refuse)
    with pytest.raises(OpsError) as err:
        integ.IntegrityCheck(base_params(), lambda: conn).run()
    assert err.value.msg == ('opening the read-only snapshot failed on the server: permission denied to set '
                             'parameter "lock_timeout".')
    assert conn.closed

    class Broken(FakeConnection):
        def rollback(self):
            raise psycopg.OperationalError("the connection is lost")
    lost = psycopg.OperationalError("server closed the connection unexpectedly")
    conn = Broken(responder({"orphaned_answers": (lost, [])}))
    with pytest.raises(OpsError) as err:
        integ.IntegrityCheck(base_params(), lambda: conn).run()
    assert err.value.msg == "check orphaned_answers failed on the server: server closed the connection unexpectedly."
    assert conn.closed


def test_table_and_column_names_that_contain_forbidden_words_are_fine():
    for sql in ("SELECT family_id FROM refresh_tokens", "SELECT updated_at, created_at, deleted FROM t",
                "SELECT s.id FROM test_sessions s WHERE s.status = 'SUBMITTED' -- no UPDATE here",
                "SELECT insert_count, merge_rate, intotal FROM stats"):
        guard.validate_select("c", sql)
