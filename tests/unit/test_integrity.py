"""Unit tests of module_utils/_integrity.py: check validation, checks as data, the run in one
read-only snapshot (with a fake connection), acks parsing and reconciliation."""
from __future__ import annotations

import datetime
import io
import json

import psycopg
import pytest

from ansible_collections.examday.ops.plugins.module_utils import _integrity as integ
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError

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
    out = integ.validate_select("c", sql)
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
        integ.validate_select("bad_check", sql)
    assert fragment in err.value.msg
    assert err.value.msg.startswith("check bad_check ")
    assert one_sentence(err.value.msg)


def test_the_default_set_and_the_statistics_are_valid_read_only_statements():
    params = integ.query_params(None, None, None)
    checks = integ.prepare_checks(integ.merge_checks(None, True), params)
    assert [c["name"] for c in checks] == [
        "orphaned_answers", "duplicate_submits", "missing_answers", "unscored_sessions", "answers_not_in_session",
        "orphaned_events", "inconsistent_status", "duplicate_mastery_updates"]
    assert all(c["max"] == 0 and c["description"] for c in checks)
    integ.validate_select("statistics", integ.STATISTICS_SQL)
    for sql in (integ.RECONCILE_SESSIONS_SQL, integ.RECONCILE_ANSWERS_SQL, integ.RECONCILE_SUBMIT_EVENTS_SQL,
                integ.RECONCILE_USER_SESSIONS_SQL):
        integ.validate_select("reconcile", sql)
    # Partially answered submissions are legitimate: no default check compares answer counts with
    # total_questions (the seeds' false positives).
    for check in checks:
        assert "total_questions" not in check["sql"] or check["name"] == "unscored_sessions"


def test_placeholders_and_parameters():
    assert integ.placeholders("c", "SELECT %(since)s, %(cohort)s, 'a%%'") == {"since", "cohort"}
    with pytest.raises(OpsError, match="write %% for a literal percent sign"):
        integ.placeholders("c", "SELECT 1 WHERE x LIKE 'a%'")
    with pytest.raises(OpsError, match=r"use %\(x\)s"):
        integ.placeholders("c", "SELECT %(x)d")
    params = integ.query_params("2026-11-21T22:10:03Z", None, {"cohort": "r1"})
    assert params["since"] == datetime.datetime(2026, 11, 21, 22, 10, 3, tzinfo=UTC)
    assert params["until"] is None and params["cohort"] == "r1"
    with pytest.raises(OpsError) as err:
        integ.prepare_checks([{"name": "c", "sql": "SELECT %(tag)s", "max": 0, "description": "", "enabled": True}],
                             params)
    assert err.value.msg == "check c uses %(tag)s but no parameter tag was given (add it to params)."
    with pytest.raises(OpsError, match="not an ISO 8601 timestamp"):
        integ.query_params("yesterday", None, None)
    with pytest.raises(OpsError, match="params may not set since"):
        integ.query_params(None, None, {"since": "x"})
    with pytest.raises(OpsError, match="not a valid parameter name"):
        integ.query_params(None, None, {"a b": 1})
    naive = integ.query_params("2026-11-21T22:10:03", None, None)["since"]
    assert naive.tzinfo is not None


# ------------------------------------------------------------------ checks as data
def test_user_checks_add_override_and_disable_by_name():
    checks = integ.merge_checks([
        {"name": "duplicate_submits", "max": 2},
        {"name": "orphaned_events", "enabled": False},
        {"name": "mine", "sql": "SELECT 1 WHERE false", "description": "Mine."},
    ], True)
    by_name = {c["name"]: c for c in checks}
    assert "orphaned_events" not in by_name and len(checks) == 8
    assert by_name["duplicate_submits"]["max"] == 2
    assert by_name["duplicate_submits"]["sql"] == integ.DEFAULT_CHECKS[1]["sql"]
    assert by_name["mine"] == {"name": "mine", "description": "Mine.", "sql": "SELECT 1 WHERE false", "max": 0,
                               "enabled": True}
    assert [c["name"] for c in integ.merge_checks([{"name": "only", "sql": "SELECT 1"}], False)] == ["only"]
    with pytest.raises(OpsError, match="check new has no sql"):
        integ.merge_checks([{"name": "new", "max": 1}], True)
    with pytest.raises(OpsError, match="whole number of rows"):
        integ.merge_checks([{"name": "duplicate_submits", "max": -1}], True)
    with pytest.raises(OpsError, match=r"checks\[0\] has no name"):
        integ.merge_checks([{"name": " "}], True)


def test_check_result_counts_all_rows_and_keeps_samples():
    check = {"name": "c", "description": "d", "max": 1}
    rows = [(3, 1, "s1", 1), (3, 2, "s2", 2)]
    got = integ.check_result(check, [integ.COUNT_COLUMN, "examday_row", "session_id", "n"], rows, 1, 0.01234)
    assert got == {"name": "c", "description": "d", "count": 3, "expected": 1, "passed": False,
                   "samples": [{"session_id": "s1", "n": 1}], "duration_s": 0.012}
    assert integ.check_result(check, [integ.COUNT_COLUMN], [], 5, 0)["passed"] is True
    wrapped = integ.wrap_check("SELECT 1 -- a trailing comment")
    assert "LIMIT" not in wrapped and wrapped.endswith(f"WHERE examday_row <= %({integ.LIMIT_PARAM})s")
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


def responder(violations=None, error=None):
    violations = violations or {}

    def respond(sql, params):
        if "set_config('statement_timeout'" in sql:
            return ["a", "b", "c", "d", "e", "f", "g"], [SNAPSHOT_ROW]
        if sql.startswith("SELECT * FROM (SELECT count(*) OVER ()"):
            for name, (exc_or_rows, columns) in violations.items():
                if integ.DEFAULT_CHECKS_BY_NAME[name]["sql"].strip() in sql:
                    if isinstance(exc_or_rows, Exception):
                        return exc_or_rows
                    return [integ.COUNT_COLUMN, "examday_row", *columns], exc_or_rows
            return [integ.COUNT_COLUMN, "examday_row", "x"], []
        if sql == integ.STATISTICS_SQL:
            return list(STATS), [tuple(STATS.values())]
        if error is not None:
            return error
        return ["x"], []
    return respond


def base_params(**over):
    p = {"checks": [], "default_checks": True, "since": None, "until": None, "params": {}, "sample_rows": 5,
         "statement_timeout": 300, "statistics": True, "acks": [], "batch_size": 5000, "fail_on_violation": False,
         "dest": None}
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
    assert all(p == {"since": None, "until": None, integ.LIMIT_PARAM: 5} for p in check_params)
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
    assert [c["name"] for c in err.value.details["checks"]] == [
        "orphaned_answers", "duplicate_submits", "missing_answers", "unscored_sessions", "answers_not_in_session"]
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


# ------------------------------------------------------------------ acks
def ack_lines(*objs):
    return [json.dumps(o) + "\n" for o in objs]


def test_parse_acks():
    lines = ack_lines(
        {"kind": "session", "session_id": S1, "user": "student00007@cohort.examday.invalid", "ts": "2026-11-21T22:10:03.412Z"},
        {"kind": "answer", "session_id": S1, "question_id": 12, "selected_index": 2, "ts": "2026-11-21T22:10:04Z"},
        {"kind": "answer", "session_id": S1, "question_id": 13, "selected_index": None, "ts": "2026-11-21T22:10:05Z"},
        {"kind": "submit", "session_id": S1.upper(), "idempotency_key": "k", "ts": "2026-11-21T22:10:09Z", "score_correct": 1},
        {"kind": "login", "ts": "2026-11-21T22:10:09Z"},
    ) + ["\n"]
    acks = integ.parse_acks(lines, "a.jsonl")
    assert [a["kind"] for a in acks] == ["session", "answer", "answer", "submit", "other"]
    assert acks[3]["session_id"] == S1 and acks[3]["score_correct"] == 1
    assert acks[1]["source"] == "a.jsonl line 2" and acks[2]["selected_index"] is None
    for bad, fragment in (
        ("{not json", "a.jsonl line 1 is not valid JSON"),
        ("[1]", "is not a JSON object"),
        (json.dumps({"kind": "session", "session_id": "nope"}), "session_id that is not a UUID"),
        (json.dumps({"kind": "answer", "session_id": S1, "question_id": "12"}), "no integer question_id"),
        (json.dumps({"kind": "answer", "session_id": S1, "question_id": 1, "selected_index": True}), "neither an integer"),
        (json.dumps({"kind": "session", "session_id": S1, "ts": "soon"}), "ts that is not an ISO 8601"),
    ):
        with pytest.raises(OpsError) as err:
            integ.parse_acks([bad], "a.jsonl")
        assert fragment in err.value.msg and one_sentence(err.value.msg)


def test_the_last_acknowledged_answer_wins_by_time_then_file_order():
    acks = integ.parse_acks(ack_lines(
        {"kind": "answer", "session_id": S1, "question_id": 1, "selected_index": 3, "ts": "2026-11-21T22:10:09Z"},
        {"kind": "answer", "session_id": S1, "question_id": 1, "selected_index": 1, "ts": "2026-11-21T22:10:01Z"},
        {"kind": "answer", "session_id": S1, "question_id": 2, "selected_index": 0, "ts": "2026-11-21T22:10:05Z"},
        {"kind": "answer", "session_id": S1, "question_id": 2, "selected_index": 4, "ts": "2026-11-21T22:10:05Z"},
    ), "a.jsonl")
    summary = integ.summarize_acks(acks)
    assert {k: v["selected_index"] for k, v in summary["answers"].items()} == {(S1, 1): 3, (S1, 2): 4}
    assert summary["counts"] == {"session": 0, "answer": 4, "submit": 0, "other": 0}
    assert summary["first_ts"] == datetime.datetime(2026, 11, 21, 22, 10, 1, tzinfo=UTC)


def flows():
    return integ.summarize_acks(integ.parse_acks(ack_lines(
        {"kind": "session", "session_id": S1, "user": "a", "ts": "2026-11-21T22:10:00Z"},
        {"kind": "session", "session_id": S2, "user": "b", "ts": "2026-11-21T22:10:00Z"},
        {"kind": "session", "session_id": S3, "user": "c", "ts": "2026-11-21T22:10:00Z"},
        {"kind": "answer", "session_id": S1, "question_id": 1, "selected_index": 2, "ts": "2026-11-21T22:10:01Z"},
        {"kind": "answer", "session_id": S1, "question_id": 2, "selected_index": 0, "ts": "2026-11-21T22:10:02Z"},
        {"kind": "answer", "session_id": S2, "question_id": 1, "selected_index": 4, "ts": "2026-11-21T22:10:02Z"},
        {"kind": "answer", "session_id": S2, "question_id": 2, "selected_index": None, "ts": "2026-11-21T22:10:02Z"},
        {"kind": "submit", "session_id": S1, "idempotency_key": "k1", "ts": "2026-11-21T22:10:05Z", "score_correct": 1},
        {"kind": "submit", "session_id": S2, "idempotency_key": "k2", "ts": "2026-11-21T22:10:05Z", "score_correct": 0},
    ), "acks.jsonl"))


def stored(**over):
    ts = datetime.datetime(2026, 11, 21, 22, 10, tzinfo=UTC)
    base = {
        "sessions": {S1: {"user_id": 7, "status": "SUBMITTED", "score_correct": 1, "created_at": ts},
                     S2: {"user_id": 8, "status": "SUBMITTED", "score_correct": 0, "created_at": ts},
                     S3: {"user_id": 9, "status": "ACTIVE", "score_correct": None, "created_at": ts}},
        "submit_events": {S1: 1, S2: 1},
        "answers": {(S1, 1): 2, (S1, 2): 0, (S2, 1): 4, (S2, 2): None},
        "user_sessions": [{"session_id": S1, "user_id": 7, "status": "SUBMITTED", "created_at": ts}],
        "window": (ts, ts + datetime.timedelta(minutes=2)),
    }
    base.update(over)
    return base


def test_reconciliation_of_real_flows_passes():
    got = integ.reconcile(flows(), stored(), 5)
    assert got["passed"] is True
    assert got["acknowledged"] == {"session": 3, "answer": 4, "submit": 2}
    assert got["distinct"] == {"session": 3, "answer": 4, "submit": 2}
    assert got["stored"] == {"session": 3, "answer": 4, "submit": 2}
    assert got["matched"] == {"session": 3, "answer": 4, "submit": 2}
    for key in ("lost", "mismatched", "duplicates", "unexpected"):
        assert got[key]["count"] == 0
    assert got["unexpected"]["window"] == ["2026-11-21T22:10:00.000Z", "2026-11-21T22:12:00.000Z"]
    json.dumps(got)


def test_reconciliation_finds_lost_mismatched_duplicate_and_unexpected():
    ts = datetime.datetime(2026, 11, 21, 22, 10, tzinfo=UTC)
    data = stored(
        sessions={S1: {"user_id": 7, "status": "SUBMITTED", "score_correct": 2, "created_at": ts},
                  S2: {"user_id": 8, "status": "ACTIVE", "score_correct": None, "created_at": ts}},
        submit_events={S1: 2},
        answers={(S1, 1): 3, (S2, 1): 4, (S2, 2): None},
        user_sessions=[{"session_id": S1, "user_id": 7, "status": "SUBMITTED", "created_at": ts},
                       {"session_id": S4, "user_id": 7, "status": "ACTIVE", "created_at": ts}])
    got = integ.reconcile(flows(), data, 5)
    assert got["passed"] is False
    assert got["lost"]["count"] == 3
    assert {(x["kind"], x["session_id"]) for x in got["lost"]["samples"]} == {
        ("session", S3), ("answer", S1), ("submit", S2)}
    lost_answer = next(x for x in got["lost"]["samples"] if x["kind"] == "answer")
    assert (lost_answer["question_id"], lost_answer["selected_index"], lost_answer["ack"]) == (2, 0, "acks.jsonl line 5")
    assert got["mismatched"]["count"] == 2
    assert {(m["kind"], m["acknowledged"], m["stored"]) for m in got["mismatched"]["samples"]} == {
        ("answer", 2, 3), ("submit", 1, 2)}
    assert got["duplicates"] == {"count": 1, "samples": [{"session_id": S1, "submitted_events": 2,
                                                          "ack": "acks.jsonl line 8"}]}
    assert got["unexpected"]["count"] == 1 and got["unexpected"]["samples"][0]["session_id"] == S4
    assert got["stored"] == {"session": 2, "answer": 3, "submit": 1}
    assert got["matched"] == {"session": 2, "answer": 2, "submit": 0}
    assert integ.reconcile(flows(), data, 1)["lost"]["samples"] == got["lost"]["samples"][:1]


def test_fetch_reconciliation_reads_in_batches_of_array_parameters():
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(12)]
    lines = ack_lines(*[{"kind": "session", "session_id": s, "ts": "2026-11-21T22:10:00Z"} for s in ids],
                      *[{"kind": "answer", "session_id": s, "question_id": 5, "selected_index": 1,
                         "ts": "2026-11-21T22:10:01Z"} for s in ids],
                      {"kind": "submit", "session_id": ids[0], "ts": "2026-11-21T22:10:02Z"})
    summary = integ.summarize_acks(integ.parse_acks(lines, "a"))

    def respond(sql, params):
        if sql == integ.RECONCILE_SESSIONS_SQL:
            return ["id", "u", "s", "c", "t"], [(i, 7, "ACTIVE", None, None) for i in params["ids"]]
        if sql == integ.RECONCILE_ANSWERS_SQL:
            return ["s", "q", "v"], [(s, q, 1) for s, q in zip(params["sids"], params["qids"])]
        if sql == integ.RECONCILE_SUBMIT_EVENTS_SQL:
            return ["s", "n"], [(ids[0], 1)]
        return ["s", "u", "st", "t"], []
    conn = FakeConnection(respond)
    with conn.cursor() as cur:
        got = integ.fetch_reconciliation(cur, summary, 5)
    by_sql = {}
    for sql, params in conn.executed:
        by_sql.setdefault(sql, []).append(params)
    assert [len(p["ids"]) for p in by_sql[integ.RECONCILE_SESSIONS_SQL]] == [5, 5, 2]
    assert [len(p["sids"]) for p in by_sql[integ.RECONCILE_ANSWERS_SQL]] == [5, 5, 2]
    users = by_sql[integ.RECONCILE_USER_SESSIONS_SQL]
    assert users == [{"users": [7], "since": datetime.datetime(2026, 11, 21, 22, 9, tzinfo=UTC),
                      "until": datetime.datetime(2026, 11, 21, 22, 11, 2, tzinfo=UTC)}]
    assert len(got["sessions"]) == 12 and len(got["answers"]) == 12
    result = integ.reconcile(summary, got, 5)
    assert result["lost"]["count"] == 1 and result["lost"]["samples"][0]["kind"] == "submit"


def test_a_hundred_thousand_acks_are_cheap_to_summarize():
    lines = (json.dumps({"kind": "answer", "session_id": f"00000000-0000-4000-8000-{i // 10:012d}",
                         "question_id": i % 10, "selected_index": i % 5, "ts": "2026-11-21T22:10:01Z"})
             for i in range(100_000))
    summary = integ.summarize_acks(integ.parse_acks(lines, "big"))
    assert len(summary["answers"]) == 100_000 and len(integ.acked_session_ids(summary)) == 10_000
    assert [len(b) for b in integ.batches(integ.acked_session_ids(summary), 5000)] == [5000, 5000]


def test_read_acks_from_files(tmp_path):
    first = tmp_path / "a.jsonl"
    first.write_text("".join(ack_lines({"kind": "session", "session_id": S1, "ts": "2026-11-21T22:10:00Z"})))
    acks = integ.read_acks([str(first)])
    assert acks[0]["source"] == f"{first} line 1"
    with pytest.raises(OpsError, match="cannot read acks file"):
        integ.read_acks([str(tmp_path / "missing.jsonl")])
    assert integ.read_acks(["x"], opener=lambda path, encoding: io.StringIO("")) == []


def test_run_with_acks_reconciles_in_the_same_snapshot(tmp_path):
    path = tmp_path / "acks.jsonl"
    path.write_text("".join(ack_lines(
        {"kind": "session", "session_id": S1, "ts": "2026-11-21T22:10:00Z"},
        {"kind": "session", "session_id": S4, "ts": "2026-11-21T22:10:00Z"})))
    ts = datetime.datetime(2026, 11, 21, 22, 10, tzinfo=UTC)
    base = responder()

    def respond(sql, params):
        if sql == integ.RECONCILE_SESSIONS_SQL:
            return ["id", "u", "s", "c", "t"], [(S1, 7, "ACTIVE", None, ts)]
        return base(sql, params)
    conn = FakeConnection(respond)
    result = integ.IntegrityCheck(base_params(acks=[str(path)]), lambda: conn).run()
    rec = result["reconciliation"]
    assert rec["lost"]["count"] == 1 and rec["lost"]["samples"][0]["session_id"] == S4
    assert result["passed"] is False and result["failed_checks"] == []
    assert result["msg"] == "8 of 8 integrity checks passed; reconciliation failed (lost 1, mismatched 0, duplicates 0)."
    # one connection, one transaction: the snapshot statement comes first, nothing commits
    assert "set_config('statement_timeout'" in conn.executed[0][0]
    assert conn.rolled_back


def test_statistics_can_be_left_out_and_a_broken_connection_is_one_sentence():
    conn = FakeConnection(responder())
    result = integ.IntegrityCheck(base_params(statistics=False), lambda: conn).run()
    assert "statistics" not in result and result["passed"] is True
    assert not any(sql == integ.STATISTICS_SQL for sql, _p in conn.executed)

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
        integ.validate_select("c", sql)
