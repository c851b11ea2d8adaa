"""examday.ops.integrity_check against the lab: the default checks after real student flows, planted
defects found by the right check, data-modifying checks refused (statically and by the READ ONLY
transaction) with nothing changed, a wrong password, and reconciliation of acknowledged writes.

Every run is windowed with `since` = the database's clock at the test's start, so data of other
tests (some plant permanent defects: attempt_events is append-only) does not leak in."""
from __future__ import annotations

import datetime
import json
import os
import secrets
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "collections"))

from ansible_collections.examday.ops.plugins.module_utils._integrity import manager as integ  # noqa: E402  pylint: disable=wrong-import-position

DB = {"db": "{{ examday_db }}"}


def db_now(lab) -> str:
    return lab.sql("SELECT now()")[0][0].astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def integrity(lab, **args):
    return lab.module("integrity_check", {**DB, **args})


def by_name(result: dict) -> dict:
    return {c["name"]: c for c in result["checks"]}


def one_sentence(msg: str) -> bool:
    return "\n" not in msg and msg.rstrip().endswith(".")


def student_flow(lab, answer_count: int, submit: bool = True, double_submit: bool = False, acks: list | None = None):
    """A real exam session through the API: create, answer some questions (the first one twice with
    different values), submit. Every 2xx is recorded as an ack (docs/evidence.md)."""
    email, password = lab.next_student()
    token = lab.token(email, password)
    created = lab.post("/v1/sessions", {"mode": "EXAM", "year": 2026, "blocks": ["A"], "count": 6,
                                        "duration_seconds": 1800}, token)
    assert created.status_code in (200, 201), created.text
    sid = created.json()["session_id"]
    record = acks.append if acks is not None else (lambda _line: None)
    record({"kind": "session", "session_id": sid, "user": email, "ts": now_iso()})
    questions = lab.questions(token, sid)
    for n, q in enumerate(questions[:answer_count]):
        for selected in ([(n + 1) % 5, n % 5] if n == 0 else [n % 5]):
            resp = lab.post(f"/v1/sessions/{sid}/answer", {"question_id": q["question_id"], "selected_index": selected},
                            token)
            assert resp.status_code == 200, resp.text
            record({"kind": "answer", "session_id": sid, "question_id": q["question_id"], "selected_index": selected,
                    "ts": now_iso()})
    if submit:
        key = lab.key()
        calls = 2 if double_submit else 1
        with ThreadPoolExecutor(calls) as pool:
            answers = list(pool.map(lambda _i: lab.post(f"/v1/sessions/{sid}/submit", None, token,
                                                        headers={"Idempotency-Key": key}), range(calls)))
        for resp in answers:
            assert resp.status_code == 200, resp.text
            record({"kind": "submit", "session_id": sid, "idempotency_key": key, "ts": now_iso(),
                    "score_correct": resp.json()["score_correct"]})
    return sid, token, questions


def write_acks(path, acks: list) -> str:
    path.write_text("".join(json.dumps(a) + "\n" for a in acks), encoding="utf-8")
    return str(path)


def test_default_checks_pass_on_a_healthy_lab_after_student_flows(lab):
    since = db_now(lab)
    student_flow(lab, answer_count=6)                       # fully answered
    student_flow(lab, answer_count=2)                       # partially answered: legitimate
    student_flow(lab, answer_count=0)                       # submitted without any answer: legitimate
    student_flow(lab, answer_count=3, double_submit=True)   # concurrent double submit, one key
    student_flow(lab, answer_count=1, submit=False)         # still active
    rc, out = integrity(lab, since=since)
    assert rc == 0, out
    assert out["changed"] is False and out["passed"] is True and out["failed_checks"] == []
    assert len(out["checks"]) == 8 and all(c["passed"] and c["count"] == 0 for c in out["checks"])
    assert out["snapshot"]["isolation"] == "repeatable read" and out["snapshot"]["read_only"] is True
    assert out["snapshot"]["application_name"] == "examday.integrity_check"
    stats = out["statistics"]
    assert (stats["sessions"], stats["submitted_sessions"], stats["active_sessions"]) == (5, 4, 1)
    assert stats["answers"] == 6 + 2 + 0 + 3 + 1
    assert stats["submitted_events"] == 4 and stats["sessions_with_submit_event"] == 4
    assert out["window"]["since"] is not None and out["msg"] == "8 of 8 integrity checks passed."
    # check mode runs it too (read-only)
    rc, checked = lab.module("integrity_check", {**DB, "since": since}, "--check")
    assert rc == 0 and checked["passed"] is True


def test_planted_defects_are_found_by_the_right_check_with_a_sample_row(lab):
    since = db_now(lab)
    dup_sid, _token, _q = student_flow(lab, answer_count=2)
    user_id = lab.sql("SELECT user_id FROM test_sessions WHERE id = %s", (dup_sid,))[0][0]
    # A second SESSION_SUBMITTED event (attempt_events is append-only: inserts are allowed).
    lab.sql("INSERT INTO attempt_events (session_id, user_id, event_type, request_id, payload) "
            "VALUES (%s, %s, 'SESSION_SUBMITTED', 'examday-test-planted', '{}')", (dup_sid, user_id))
    foreign_sid, _token, questions = student_flow(lab, answer_count=1, submit=False)
    own = [q["question_id"] for q in questions]
    foreign_q = lab.sql("SELECT min(id) FROM questions WHERE NOT (id = ANY(%s))", (own,))[0][0]
    lab.sql("INSERT INTO session_answers (session_id, question_id, selected_index, is_correct) "
            "VALUES (%s, %s, 0, false)", (foreign_sid, foreign_q))
    try:
        rc, out = integrity(lab, since=since, sample_rows=3)
        assert rc == 0, out                      # a failing check is reported, not a module failure
        checks = by_name(out)
        assert out["passed"] is False
        assert sorted(out["failed_checks"]) == ["answers_not_in_session", "duplicate_submits"]
        dup = checks["duplicate_submits"]
        assert (dup["count"], dup["expected"], dup["passed"]) == (1, 0, False)
        assert dup["samples"] == [{"session_id": dup_sid, "submitted_events": 2}]
        foreign = checks["answers_not_in_session"]
        assert foreign["count"] == 1 and foreign["samples"] == [{"session_id": foreign_sid, "question_id": foreign_q}]
        assert checks["inconsistent_status"]["passed"] and checks["missing_answers"]["passed"]
        # a tolerated maximum, and fail_on_violation
        rc, tolerant = integrity(lab, since=since, checks=[{"name": "duplicate_submits", "max": 1},
                                                           {"name": "answers_not_in_session", "enabled": False}])
        assert rc == 0 and tolerant["passed"] is True and len(tolerant["checks"]) == 7
        rc, strict = integrity(lab, since=since, fail_on_violation=True)
        assert rc != 0 and one_sentence(strict["msg"])
        assert "duplicate_submits" in strict["msg"]
    finally:
        lab.sql("DELETE FROM session_answers WHERE session_id = %s AND question_id = %s", (foreign_sid, foreign_q))


@pytest.mark.parametrize("sql", [
    "DELETE FROM session_answers",
    "WITH x AS (DELETE FROM session_answers RETURNING 1) SELECT count(*) FROM x",
    "SELECT 1; DROP TABLE session_answers",
    "SELECT setval('session_answers_id_seq', 1)",
    "SELECT * FROM test_sessions FOR UPDATE",
])
def test_a_data_modifying_check_fails_in_one_sentence_and_changes_nothing(lab, sql):
    student_flow(lab, answer_count=2)
    before = lab.sql("SELECT (SELECT count(*) FROM session_answers), (SELECT count(*) FROM test_sessions), "
                     "(SELECT last_value FROM session_answers_id_seq)")
    rc, out = integrity(lab, checks=[{"name": "evil", "sql": sql}])
    assert rc != 0
    assert out["msg"].startswith("check evil ") and one_sentence(out["msg"])
    assert lab.sql("SELECT (SELECT count(*) FROM session_answers), (SELECT count(*) FROM test_sessions), "
                   "(SELECT last_value FROM session_answers_id_seq)") == before
    assert lab.sql("SELECT to_regclass('session_answers') IS NOT NULL") == [(True,)]


def test_the_read_only_transaction_refuses_writes_that_get_past_the_validation(lab):
    """The second line of defence, with the module's own snapshot code and no static validation."""
    student_flow(lab, answer_count=2)
    before = lab.sql("SELECT (SELECT count(*) FROM session_answers), (SELECT last_value FROM session_answers_id_seq)")
    for statement in ("WITH x AS (DELETE FROM session_answers RETURNING 1) SELECT count(*) FROM x",
                      "SELECT nextval('session_answers_id_seq')",
                      "INSERT INTO system_flags (key, value) VALUES ('EXAMDAY_TEST', 'true')"):
        with psycopg.connect(host="127.0.0.1", port=15432, dbname="exam_platform", user="exam_user",
                             password=lab.secret("db_password"), application_name=integ.APPLICATION_NAME) as conn:
            snapshot = integ.begin_snapshot(conn, 30)
            assert snapshot["read_only"] is True and snapshot["isolation"] == "repeatable read"
            with conn.cursor() as cur, pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as err:
                cur.execute(statement)
            msg = integ.sql_error_sentence("check bypass", err.value, 30)
            assert msg == "check bypass tried to change data and the READ ONLY transaction refused it; nothing was changed."
            conn.rollback()
    assert lab.sql("SELECT (SELECT count(*) FROM session_answers), (SELECT last_value FROM session_answers_id_seq)") == before
    assert lab.sql("SELECT count(*) FROM system_flags WHERE key = 'EXAMDAY_TEST'") == [(0,)]


def test_a_wrong_password_fails_in_one_sentence_without_the_password(lab):
    wrong = "wrong-" + secrets.token_hex(8)
    rc, out, stdout = lab.module_output("integrity_check", {"db": {"host": "127.0.0.1", "port": 15432, "password": wrong}})
    assert rc != 0
    assert one_sentence(out["msg"]) and "cannot connect to database exam_platform" in out["msg"]
    assert wrong not in stdout


def test_a_missing_parameter_and_a_bad_window_fail_before_connecting(lab):
    rc, out = integrity(lab, checks=[{"name": "by_cohort", "sql": "SELECT id FROM users WHERE cohort = %(cohort)s"}])
    assert rc != 0 and out["msg"] == "check by_cohort uses %(cohort)s but no parameter cohort was given (add it to params)."
    rc, out = integrity(lab, since="yesterday")
    assert rc != 0 and one_sentence(out["msg"]) and "ISO 8601" in out["msg"]
    rc, out = integrity(lab, default_checks=False, params={"cohort": "lab-cohort"},
                        checks=[{"name": "by_cohort", "description": "Cohort accounts that cannot log in.",
                                 "sql": "SELECT id FROM users WHERE cohort = %(cohort)s AND NOT is_verified"}])
    assert rc == 0 and out["passed"] is True and [c["name"] for c in out["checks"]] == ["by_cohort"]


def test_reconciliation_of_acks_from_real_flows(lab, tmp_path):
    since = db_now(lab)
    acks: list = []
    for answer_count in (6, 3, 0):
        student_flow(lab, answer_count=answer_count, acks=acks)
    student_flow(lab, answer_count=2, submit=False, acks=acks)
    acks_file = write_acks(tmp_path / "acks.jsonl", acks)
    rc, out = integrity(lab, since=since, acks=[acks_file])
    assert rc == 0, out
    rec = out["reconciliation"]
    kinds = {k: sum(1 for a in acks if a["kind"] == k) for k in ("session", "answer", "submit")}
    assert rec["acknowledged"] == kinds and rec["passed"] is True and out["passed"] is True
    assert rec["distinct"]["answer"] == 6 + 3 + 0 + 2              # the first question was answered twice
    assert rec["stored"] == rec["matched"] == rec["distinct"]
    assert (rec["lost"]["count"], rec["mismatched"]["count"], rec["duplicates"]["count"]) == (0, 0, 0)
    assert rec["unexpected"]["count"] == 0

    fabricated = str(uuid.uuid4())
    extra = write_acks(tmp_path / "fabricated.jsonl", [{"kind": "session", "session_id": fabricated,
                                                        "user": "nobody@cohort.examday.invalid", "ts": now_iso()}])
    rc, out = integrity(lab, since=since, acks=[acks_file, extra])
    rec = out["reconciliation"]
    assert rc == 0 and out["passed"] is False and rec["passed"] is False
    assert rec["lost"]["count"] == 1
    assert rec["lost"]["samples"][0]["kind"] == "session" and rec["lost"]["samples"][0]["session_id"] == fabricated
    assert "reconciliation failed (lost 1" in out["msg"]


def test_reconciliation_reports_sessions_nobody_acknowledged(lab, tmp_path):
    since = db_now(lab)
    acks: list = []
    student_flow(lab, answer_count=1, acks=acks)
    sid = acks[0]["session_id"]
    email = acks[0]["user"]
    token = lab.token(email, lab.secret("cohort_password"))
    unacked = lab.new_session(token, count=3)["session_id"]      # this response is "lost": never acknowledged
    rc, out = integrity(lab, since=since, acks=[write_acks(tmp_path / "acks.jsonl", acks)])
    rec = out["reconciliation"]
    assert rc == 0 and rec["passed"] is True                      # unexpected is reported, not a failure
    assert rec["unexpected"]["count"] == 1 and rec["unexpected"]["samples"][0]["session_id"] == unacked
    assert sid != unacked
