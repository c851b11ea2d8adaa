# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of examday.ops.integrity_check's default checks against the seeds' integrity SQL.

Starts its OWN throwaway PostgreSQL container (the lab image's postgres role, published on
127.0.0.1 only, named examday_bench_pg_<random>, removed at the end, also on Ctrl-C), loads the
lab's schema, builds a synthetic data set with server-side generate_series INSERTs (full size:
1,000,000 sessions, 12,000,000 session questions, 10,000,000 answers, about 11,850,000 events),
injects a known number of true defects of each kind, VACUUM ANALYZEs, then times the seeds' SQL
and the default set on the same data and compares what each finds.

    .venv/bin/python benchmarks/integrity_bench.py                # full size
    .venv/bin/python benchmarks/integrity_bench.py --scale 0.05   # 50,000 sessions

Not part of the test suite; nothing here asserts a timing."""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time

import psycopg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "collections"))

from ansible_collections.examday.ops.plugins.module_utils import _integrity as integ  # noqa: E402  pylint: disable=wrong-import-position

SCHEMA = os.path.join(ROOT, "lab", "image", "examlab", "schema.sql")
QUESTIONS = 2000
PER_SESSION = 12          # session_questions per session (total_questions)
SESSIONS_PER_USER = 20
LOADED_TABLES = ("test_sessions", "session_questions", "session_answers", "attempt_events", "user_theme_mastery")
BIG_TABLES = ("test_sessions", "session_questions", "session_answers", "attempt_events", "user_theme_mastery", "users",
              "questions")

# ---------------------------------------------------------------------------------------------
# The seeds' verify-data-integrity SQL. The seed documents (000, 001) name the eight checks and
# the summary statistics but do not carry the SQL text; this is the SQL as PLATFORM.md describes
# it (submitted sessions with fewer answers than questions, an answer/question count mismatch,
# more than 5 mastery updates per user/theme in an hour, SUBMITTED without submitted_at), written
# the way the runbook's psql one-liners are: each check as its own statement, psql printing the
# result rows. "rows" = the result is a list of rows (psql prints them all); "count" = one count.
SEEDS_SQL = [
    ("orphaned_answers", "count", """
SELECT COUNT(*) AS orphaned_answers
FROM session_answers sa
LEFT JOIN test_sessions ts ON sa.session_id = ts.id
WHERE ts.id IS NULL"""),
    ("duplicate_submits", "rows", """
SELECT session_id, COUNT(*) AS submit_count
FROM attempt_events
WHERE event_type = 'SESSION_SUBMITTED'
GROUP BY session_id
HAVING COUNT(*) > 1"""),
    ("missing_answers", "rows", """
SELECT ts.id, ts.total_questions, COUNT(sa.id) AS answer_count
FROM test_sessions ts
LEFT JOIN session_answers sa ON sa.session_id = ts.id
WHERE ts.status = 'SUBMITTED'
GROUP BY ts.id, ts.total_questions
HAVING COUNT(sa.id) < ts.total_questions"""),
    ("unscored_sessions", "count", """
SELECT COUNT(*) AS unscored_sessions
FROM test_sessions
WHERE status = 'SUBMITTED' AND (score_correct IS NULL OR score_total IS NULL)"""),
    ("answers_not_in_session", "rows", """
SELECT ts.id,
       (SELECT COUNT(*) FROM session_questions sq WHERE sq.session_id = ts.id) AS question_count,
       (SELECT COUNT(*) FROM session_answers sa WHERE sa.session_id = ts.id) AS answer_count
FROM test_sessions ts
WHERE ts.status = 'SUBMITTED'
  AND (SELECT COUNT(*) FROM session_answers sa WHERE sa.session_id = ts.id)
      <> (SELECT COUNT(*) FROM session_questions sq WHERE sq.session_id = ts.id)"""),
    ("orphaned_events", "count", """
SELECT COUNT(*) AS orphaned_events
FROM attempt_events ae
LEFT JOIN test_sessions ts ON ae.session_id = ts.id
WHERE ts.id IS NULL"""),
    ("inconsistent_status", "count", """
SELECT COUNT(*) AS inconsistent_status
FROM test_sessions
WHERE status = 'SUBMITTED' AND submitted_at IS NULL"""),
    ("duplicate_mastery_updates", "rows", """
SELECT user_id, theme_id, COUNT(*) AS updates
FROM user_theme_mastery
WHERE computed_at > NOW() - INTERVAL '1 hour'
GROUP BY user_id, theme_id
HAVING COUNT(*) > 5"""),
    ("statistics", "rows", """
SELECT 'Total sessions' AS metric, COUNT(*) AS value FROM test_sessions
UNION ALL SELECT 'Submitted sessions', COUNT(*) FROM test_sessions WHERE status = 'SUBMITTED'
UNION ALL SELECT 'Total answers', COUNT(*) FROM session_answers
UNION ALL SELECT 'Total events', COUNT(*) FROM attempt_events
UNION ALL SELECT 'Sessions with submit event', COUNT(DISTINCT session_id) FROM attempt_events
          WHERE event_type = 'SESSION_SUBMITTED'"""),
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# the throwaway server
class BenchServer:
    """A PostgreSQL container of the lab image's postgres role; removed by id in close()."""

    def __init__(self, image: str, memory: str):
        self.image = image
        self.memory = memory
        self.name = f"examday_bench_pg_{secrets.token_hex(4)}"
        self.password = secrets.token_urlsafe(24)
        self.cid: str | None = None
        self.port: int | None = None

    def start(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            env_file = os.path.join(tmp, "pg.env")
            with open(os.open(env_file, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as fh:
                fh.write(f"POSTGRES_PASSWORD={self.password}\nPOSTGRES_USER=exam_user\nPOSTGRES_DB=exam_platform\n")
            proc = subprocess.run(
                ["docker", "run", "-d", "--name", self.name, "--label", "examday.bench=integrity",
                 "--env-file", env_file, "-p", "127.0.0.1::5432", "--shm-size", "1g", "--memory", self.memory,
                 self.image, "postgres"], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"docker run failed: {proc.stderr.strip()}")
        self.cid = proc.stdout.strip()
        out = subprocess.run(["docker", "port", self.cid, "5432/tcp"], capture_output=True, text=True, check=True).stdout
        self.port = int(out.split()[0].rsplit(":", 1)[1])
        log(f"container {self.name} ({self.cid[:12]}) on 127.0.0.1:{self.port}")

    def connect(self, autocommit: bool = True, timeout: float = 90) -> psycopg.Connection:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return psycopg.connect(host="127.0.0.1", port=self.port, dbname="exam_platform", user="exam_user",
                                       password=self.password, autocommit=autocommit, connect_timeout=3,
                                       application_name="examday.integrity_bench")
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def close(self) -> None:
        if self.cid:
            subprocess.run(["docker", "rm", "-f", "-v", self.cid], capture_output=True, check=False)
            log(f"removed container {self.name}")
            self.cid = None


def lab_image() -> str:
    if os.environ.get("LAB_IMAGE"):
        return os.environ["LAB_IMAGE"]
    try:
        with open(os.path.join(ROOT, ".lab", "image.env"), encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("LAB_IMAGE="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    raise SystemExit("no lab image: run ./examday setup first (it writes .lab/image.env), or set LAB_IMAGE.")


# ---------------------------------------------------------------------------------------------
# data
def sizes(scale: float) -> dict:
    sessions = max(200, int(round(1_000_000 * scale)))
    return {"sessions": sessions, "users": max(10, sessions // SESSIONS_PER_USER), "questions": QUESTIONS}


def server_settings(conn) -> None:
    """Bulk-load settings of this throwaway server; query settings stay the lab's (work_mem 4MB,
    shared_buffers 128MB, 2 parallel workers per gather)."""
    for stmt in ("ALTER SYSTEM SET maintenance_work_mem = '1GB'", "ALTER SYSTEM SET max_wal_size = '8GB'",
                 "ALTER SYSTEM SET checkpoint_timeout = '30min'", "ALTER SYSTEM SET synchronous_commit = off",
                 "ALTER SYSTEM SET log_min_duration_statement = -1", "ALTER SYSTEM SET autovacuum = off"):
        conn.execute(stmt)
    conn.execute("SELECT pg_reload_conf()")


def drop_keys(conn) -> list[str]:
    """Drops indexes and constraints of the big tables for the load; returns the statements that
    recreate them exactly as the schema made them (unique/primary keys and indexes, then FKs)."""
    rows = conn.execute("""
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
        FROM pg_constraint c
        WHERE (c.contype IN ('p', 'u') AND c.conrelid::regclass::text = ANY(%(t)s))
           OR (c.contype = 'f' AND (c.conrelid::regclass::text = ANY(%(t)s) OR c.confrelid::regclass::text = ANY(%(t)s)))
        """, {"t": list(LOADED_TABLES)}).fetchall()
    fks = [r for r in rows if r[3] == "f"]
    keys = [r for r in rows if r[3] in ("p", "u")]
    key_names = [r[1] for r in keys]
    idx = conn.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                       "AND tablename = ANY(%s) AND NOT (indexname = ANY(%s))", (list(LOADED_TABLES), key_names)).fetchall()
    for table, name, _def, _t in fks:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for table, name, _def, _t in keys:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for _table, name, _def in idx:
        conn.execute(f'DROP INDEX "{name}"')
    return ([f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, _x in keys] + [d for _t, _n, d in idx]
            + [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, _x in fks])


def timed(conn, what: str, sql: str, params=None) -> float:
    t0 = time.perf_counter()
    cur = conn.execute(sql, params)
    took = time.perf_counter() - t0
    log(f"  {what}: {cur.rowcount if cur.rowcount >= 0 else ''} rows in {took:.1f} s")
    return took


def load(conn, size: dict) -> dict:
    """Synthetic exam data shaped like the platform's: 12 questions per session, 8..12 of them
    answered (partially answered submissions are legitimate), 85% SUBMITTED, 10% ACTIVE, 5%
    EXPIRED, consistent scores and events, mastery computed by the worker's own recompute SQL."""
    n, users = size["sessions"], size["users"]
    p = {"n": n, "users": users, "q": size["questions"], "per": PER_SESSION}
    # Deterministic functions of the session number g and position k (0 < k <= 12):
    #   id = md5('s' || g)::uuid (random order, like uuid4), user = 1 + g % users,
    #   SUBMITTED when g % 20 < 17, ACTIVE when 17 or 18, EXPIRED when 19,
    #   answered positions 1 .. 8 + (g / 20) % 5, question of k = 1 + (g*37 + k*97) % questions,
    #   selected_index = (g + 3k) % 5, correct_index of question q = q % 5.
    qid = "(1 + (g::bigint * 37 + k * 97) %% %(q)s)"
    sel = "((g + 3 * k) %% 5)"
    answered = "(8 + (g / 20) %% 5)"
    t0 = time.perf_counter()
    conn.execute("SET session_replication_role = replica")
    recreate = drop_keys(conn)
    timed(conn, "users", "INSERT INTO users (id, email, password_hash, role, cohort) "
          "SELECT g, 'bench' || g || '@bench.examday.invalid', 'x', 'student', 'bench' "
          "FROM generate_series(1, %(users)s) g", p)
    timed(conn, "questions", "INSERT INTO questions (id, year, block, theme_id, stem, options, correct_index) "
          "SELECT g, 2024 + g %% 3, chr(65 + g %% 6), 1 + g %% 12, 'Bench question ' || g, "
          "'[\"A\", \"B\", \"C\", \"D\", \"E\"]'::jsonb, g %% 5 FROM generate_series(1, %(q)s) g", p)
    timed(conn, "test_sessions", f"""
        INSERT INTO test_sessions (id, user_id, status, mode, year, blocks, total_questions, current_position,
                                   score_correct, score_total, started_at, submitted_at, expires_at, created_at)
        SELECT md5('s' || g)::uuid, 1 + g %% %(users)s,
               CASE WHEN g %% 20 < 17 THEN 'SUBMITTED' WHEN g %% 20 < 19 THEN 'ACTIVE' ELSE 'EXPIRED' END,
               'EXAM', 2026, '{{A}}', %(per)s, {answered},
               CASE WHEN g %% 20 < 17 THEN (SELECT count(*) FROM generate_series(1, {answered}) k
                                            WHERE {sel} = {qid} %% 5) END,
               CASE WHEN g %% 20 < 17 THEN %(per)s END,
               t, CASE WHEN g %% 20 < 17 THEN t + interval '40 minutes' END, t + interval '1 hour', t
        FROM generate_series(1, %(n)s) g,
             LATERAL (SELECT now() - interval '30 days' + g * (interval '30 days' / %(n)s)) AS c(t)""", p)
    timed(conn, "session_questions", f"""
        INSERT INTO session_questions (session_id, position, question_id)
        SELECT md5('s' || g)::uuid, k, {qid} FROM generate_series(1, %(n)s) g, generate_series(1, %(per)s) k""", p)
    timed(conn, "session_answers", f"""
        INSERT INTO session_answers (session_id, question_id, selected_index, is_correct, changed_count,
                                     answered_at, updated_at)
        SELECT md5('s' || g)::uuid, {qid}, {sel}, {sel} = {qid} %% 5, (g + k) %% 3 / 2,
               t + k * interval '1 minute', t + k * interval '1 minute'
        FROM generate_series(1, %(n)s) g,
             LATERAL (SELECT now() - interval '30 days' + g * (interval '30 days' / %(n)s)) AS c(t),
             LATERAL generate_series(1, {answered}) k""", p)
    timed(conn, "attempt_events (started, submitted)", """
        INSERT INTO attempt_events (session_id, user_id, event_type, event_ts, request_id, payload)
        SELECT s.id, s.user_id, e.event_type, e.ts, md5(s.id::text || e.event_type), e.payload
        FROM test_sessions s,
             LATERAL (VALUES ('SESSION_STARTED', s.created_at, '{}'::jsonb),
                             ('SESSION_SUBMITTED', s.submitted_at,
                              jsonb_build_object('idempotency_key', md5('k' || s.id::text)))) AS e(event_type, ts, payload)
        WHERE e.ts IS NOT NULL""")
    timed(conn, "attempt_events (answers saved)", """
        INSERT INTO attempt_events (session_id, user_id, event_type, event_ts, request_id, payload)
        SELECT a.session_id, s.user_id, 'ANSWER_SAVED', a.answered_at, md5(a.id::text),
               jsonb_build_object('question_id', a.question_id, 'selected_index', a.selected_index)
        FROM session_answers a JOIN test_sessions s ON s.id = a.session_id""")
    conn.execute("SET session_replication_role = DEFAULT")
    t_keys = time.perf_counter()
    for stmt in recreate:
        timed(conn, stmt.split(" ON ")[0] if stmt.startswith("CREATE") else stmt.split(" ADD ")[1].split(" (")[0], stmt)
    log(f"  keys and indexes rebuilt in {time.perf_counter() - t_keys:.1f} s")
    timed(conn, "user_theme_mastery (the worker's recompute SQL)", """
        INSERT INTO user_theme_mastery (user_id, theme_id, answered, correct, computed_at)
        SELECT s.user_id, q.theme_id, count(*), count(*) FILTER (WHERE a.is_correct), now() - interval '10 minutes'
        FROM test_sessions s
        JOIN session_answers a ON a.session_id = s.id
        JOIN questions q ON q.id = a.question_id
        WHERE s.status = 'SUBMITTED'
        GROUP BY s.user_id, q.theme_id""")
    return {"load_s": time.perf_counter() - t0}


def inject_defects(conn, k: int) -> dict:
    """k true defects of each kind on distinct sessions; returns the ids each check must find."""
    truth: dict[str, list] = {}
    conn.execute("CREATE TEMP TABLE bench_used (session_id uuid PRIMARY KEY)")

    def pick(where: str, tag: str) -> list:
        rows = conn.execute(f"""
            INSERT INTO bench_used
            SELECT s.id FROM test_sessions s
            WHERE {where} AND NOT EXISTS (SELECT 1 FROM bench_used u WHERE u.session_id = s.id)
            ORDER BY md5(s.id::text || %s) LIMIT %s RETURNING session_id::text""", (tag, k)).fetchall()
        return sorted(r[0] for r in rows)

    full = "s.current_position = s.total_questions"    # the generator answers positions 1..current_position
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")   # FK and append-only triggers off
        rows = conn.execute("""
            INSERT INTO session_answers (session_id, question_id, selected_index, is_correct)
            SELECT md5('orphan-answer' || i)::uuid, i, 0, false FROM generate_series(1, %s) i
            RETURNING session_id::text""", (k,)).fetchall()
        truth["orphaned_answers"] = sorted(r[0] for r in rows)
        ids = pick("s.status = 'SUBMITTED'", "duplicate")
        conn.execute("""
            INSERT INTO attempt_events (session_id, user_id, event_type, event_ts, request_id, payload)
            SELECT s.id, s.user_id, 'SESSION_SUBMITTED', s.submitted_at + interval '40 milliseconds', 'bench-dup', '{}'
            FROM test_sessions s WHERE s.id = ANY(%s::uuid[])""", (ids,))
        truth["duplicate_submits"] = ids
        ids = pick(f"s.status = 'SUBMITTED' AND s.score_correct > 0 AND {full}", "lost")
        conn.execute("""
            DELETE FROM session_answers WHERE id IN (
              SELECT min(a.id) FROM session_answers a WHERE a.session_id = ANY(%s::uuid[]) AND a.is_correct
              GROUP BY a.session_id)""", (ids,))
        truth["missing_answers"] = ids
        ids = pick("s.status = 'SUBMITTED'", "unscored")
        conn.execute("UPDATE test_sessions SET score_correct = NULL WHERE id = ANY(%s::uuid[])", (ids,))
        truth["unscored_sessions"] = ids
        ids = pick(f"s.status = 'SUBMITTED' AND {full}", "foreign")
        conn.execute("""
            INSERT INTO session_answers (session_id, question_id, selected_index, is_correct)
            SELECT s.id, q.id, (q.correct_index + 1) %% 5, false
            FROM test_sessions s
            CROSS JOIN LATERAL (SELECT q.id, q.correct_index FROM questions q
                                WHERE NOT EXISTS (SELECT 1 FROM session_questions sq
                                                  WHERE sq.session_id = s.id AND sq.question_id = q.id)
                                ORDER BY q.id LIMIT 1) q
            WHERE s.id = ANY(%s::uuid[])""", (ids,))
        truth["answers_not_in_session"] = ids
        rows = conn.execute("""
            INSERT INTO attempt_events (session_id, user_id, event_type, event_ts, request_id, payload)
            SELECT md5('orphan-event' || i)::uuid, 1, 'ANSWER_SAVED', now() - interval '1 day', 'bench-orphan', '{}'
            FROM generate_series(1, %s) i RETURNING session_id::text""", (k,)).fetchall()
        truth["orphaned_events"] = sorted(r[0] for r in rows)
        ids = pick("s.status = 'SUBMITTED'", "status")
        conn.execute("UPDATE test_sessions SET status = 'ACTIVE', submitted_at = NULL, score_correct = NULL, "
                     "score_total = NULL WHERE id = ANY(%s::uuid[])", (ids,))
        truth["inconsistent_status"] = ids
        # UNIQUE(user_id, theme_id) makes a duplicate impossible; the bench plays a platform
        # without the constraint (dropped here, in this throwaway database only).
        con = conn.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'user_theme_mastery'::regclass "
                           "AND contype = 'u'").fetchone()
        if con:
            conn.execute(f'ALTER TABLE user_theme_mastery DROP CONSTRAINT "{con[0]}"')
        rows = conn.execute("""
            INSERT INTO user_theme_mastery (user_id, theme_id, answered, correct, computed_at)
            SELECT user_id, theme_id, answered, correct, now() - interval '5 minutes'
            FROM (SELECT * FROM user_theme_mastery ORDER BY user_id, theme_id LIMIT %s) m
            RETURNING user_id || '/' || theme_id""", (k,)).fetchall()
        truth["duplicate_mastery_updates"] = sorted(r[0] for r in rows)
    # Legitimate data the seeds' SQL flags: submitted sessions with unanswered questions.
    partial = conn.execute("""
        SELECT count(*) FROM test_sessions s
        WHERE s.status = 'SUBMITTED' AND NOT EXISTS (SELECT 1 FROM bench_used u WHERE u.session_id = s.id)
          AND (SELECT count(*) FROM session_answers a WHERE a.session_id = s.id) < s.total_questions""").fetchone()[0]
    return {"truth": truth, "partial_submissions": partial}


# ---------------------------------------------------------------------------------------------
# the two sets
def run_seeds(conn) -> dict:
    out = {}
    for name, shape, sql in SEEDS_SQL:
        t0 = time.perf_counter()
        rows = conn.execute(sql).fetchall()          # psql fetches and prints every row
        took = time.perf_counter() - t0
        count = rows[0][0] if shape == "count" else len(rows)
        found = None
        if shape == "rows" and name != "statistics":
            found = {f"{r[0]}/{r[1]}" if name == "duplicate_mastery_updates" else str(r[0]) for r in rows}
        out[name] = {"seconds": took, "count": count, "found": found, "rows": rows if name == "statistics" else None}
    return out


def run_default(conn, sample_rows: int) -> dict:
    """Exactly what the module runs: the default checks, validated, in one REPEATABLE READ, READ ONLY
    snapshot, plus the statistics."""
    checks = integ.prepare_checks(integ.merge_checks(None, True), integ.query_params(None, None, None))
    params = integ.query_params(None, None, None)
    out = {}
    integ.begin_snapshot(conn, 3600)
    try:
        with conn.cursor() as cur:
            for check in checks:
                t0 = time.perf_counter()
                res = integ.run_checks(cur, [check], params, sample_rows, 3600)[0]
                out[check["name"]] = {"seconds": time.perf_counter() - t0, "count": res["count"],
                                      "samples": res["samples"]}
            t0 = time.perf_counter()
            stats = integ.run_statistics(cur, params, 3600)
            out["statistics"] = {"seconds": time.perf_counter() - t0, "count": None, "stats": stats}
    finally:
        conn.rollback()
    return out


def sample_ids(name: str, samples: list) -> list[str]:
    if name == "duplicate_mastery_updates":
        return sorted(f"{s['user_id']}/{s['theme_id']}" for s in samples)
    return sorted({str(s["session_id"]) for s in samples})


def best(runs: list[dict]) -> dict:
    out = {}
    for name in runs[0]:
        out[name] = dict(runs[-1][name], seconds=min(r[name]["seconds"] for r in runs),
                         all_seconds=[round(r[name]["seconds"], 3) for r in runs])
    return out


def report(size: dict, counts: dict, load_info: dict, injected: dict, seeds: dict, default: dict, k: int) -> dict:
    truth, partial = injected["truth"], injected["partial_submissions"]
    all_true = set().union(*truth.values())
    print()
    print(f"rows: {counts['test_sessions']:,} sessions, {counts['session_questions']:,} session questions, "
          f"{counts['session_answers']:,} answers, {counts['attempt_events']:,} events, "
          f"{counts['user_theme_mastery']:,} mastery rows, {counts['users']:,} users; database {counts['db_size']}")
    print(f"load (generate_series INSERTs, keys and indexes, mastery): {load_info['load_s']:.1f} s; "
          f"VACUUM ANALYZE {load_info['vacuum_s']:.1f} s")
    print(f"injected: {k} true defects of each kind; {partial:,} legitimate partially answered submissions")
    print()
    head = f"{'check':26} {'seeds s':>8} {'default s':>9} {'speed-up':>8}  {'seeds':>9} {'default':>7}  what was found"
    print(head)
    print("-" * 120)
    rows = []
    for name, _shape, _sql in SEEDS_SQL:
        s, d = seeds[name], default[name]
        speed = s["seconds"] / d["seconds"] if d["seconds"] else float("inf")
        if name == "statistics":
            verdict = "the same figures" if _stats_agree(s["rows"], d["stats"]) else "FIGURES DIFFER"
            print(f"{name:26} {s['seconds']:8.2f} {d['seconds']:9.2f} {speed:7.1f}x  {'':>9} {'':>7}  {verdict}")
        else:
            exact = d["count"] == len(truth[name]) and sample_ids(name, d["samples"]) == truth[name]
            verdict = ("default: exactly the injected " + str(len(truth[name])) if exact
                       else f"DEFAULT FOUND {d['count']} (injected {len(truth[name])})")
            verdict += "; seeds: " + _seeds_verdict(name, s, set(truth[name]), all_true - set(truth[name]))
            print(f"{name:26} {s['seconds']:8.2f} {d['seconds']:9.2f} {speed:7.1f}x  {s['count']:>9,} {d['count']:>7,}  {verdict}")
        rows.append({"check": name, "seeds_s": round(s["seconds"], 3), "default_s": round(d["seconds"], 3),
                     "seeds_all_s": s["all_seconds"], "default_all_s": d["all_seconds"],
                     "seeds_found": s["count"], "default_found": d["count"], "verdict": verdict})
    total_s = sum(v["seconds"] for v in seeds.values())
    total_d = sum(v["seconds"] for v in default.values())
    print("-" * 120)
    print(f"{'total':26} {total_s:8.2f} {total_d:9.2f} {total_s / total_d:7.1f}x")
    print(f"(best of {len(next(iter(seeds.values()))['all_seconds'])} passes per statement; load average now {_loadavg()})")
    return {"sizes": size, "counts": counts, "load": load_info, "injected_per_kind": k,
            "partial_submissions": partial, "checks": rows, "total_seeds_s": round(total_s, 3),
            "total_default_s": round(total_d, 3), "speedup": round(total_s / total_d, 2)}


def _loadavg() -> str:
    try:
        with open("/proc/loadavg", encoding="utf-8") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "unknown"


def _seeds_verdict(name: str, seeds: dict, mine: set, other_true: set) -> str:
    if seeds["found"] is None:   # a bare count: compare numbers
        if seeds["count"] == len(mine):
            return f"the same {len(mine)}"
        if seeds["count"] == 0:
            return "none" + (" (this condition cannot occur on the platform)" if name == "inconsistent_status" else "")
        return f"{seeds['count']:,} for {len(mine)} injected"
    found = seeds["found"]
    hit = len(found & mine)
    others = found - mine
    legit = len(others - other_true)
    text = f"{hit} of {len(mine)} injected"
    if others:
        text += f" + {len(others):,} other sessions, {legit:,} of them legitimate partially answered submissions (false positives)"
    if name == "duplicate_mastery_updates" and not hit:
        text += " (cannot fire: more than 5 rows per user/theme under UNIQUE(user_id, theme_id))"
    return text


def _stats_agree(seed_rows, stats: dict) -> bool:
    seeds = dict(seed_rows)
    return (seeds.get("Total sessions") == stats["sessions"] and seeds.get("Submitted sessions") == stats["submitted_sessions"]
            and seeds.get("Total answers") == stats["answers"] and seeds.get("Total events") == stats["events"]
            and seeds.get("Sessions with submit event") == stats["sessions_with_submit_event"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (1.0 = 1,000,000 sessions)")
    ap.add_argument("--defects", type=int, default=7, help="true defects injected per kind (default 7)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each set; the best is reported (default 3)")
    ap.add_argument("--image", default=None, help="the lab image (default LAB_IMAGE or .lab/image.env)")
    ap.add_argument("--memory", default="8g", help="memory limit of the container, page cache included (default 8g)")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    ap.add_argument("--keep", default=None, metavar="FILE",
                    help="development: leave the container running and write its connection details to FILE "
                         "(mode 0600); remove it later with docker rm -f <id>")
    args = ap.parse_args(argv)
    if not 0 < args.scale <= 10 or args.defects < 1 or args.repeat < 1:
        ap.error("--scale must be in (0, 10], --defects and --repeat at least 1")
    size = sizes(args.scale)
    server = BenchServer(args.image or lab_image(), args.memory)

    def stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    try:
        server.start()
        with server.connect() as conn:
            server_settings(conn)
            with open(SCHEMA, encoding="utf-8") as fh:
                conn.execute(fh.read())
            log(f"loading {size['sessions']:,} sessions ({size['users']:,} users, {size['questions']:,} questions)")
            load_info = load(conn, size)
            injected = inject_defects(conn, args.defects)
            t0 = time.perf_counter()
            conn.execute("VACUUM ANALYZE")
            load_info["vacuum_s"] = time.perf_counter() - t0
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in BIG_TABLES}
            counts["db_size"] = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
            log(f"loaded; running both sets (warm-up pass first); load average {_loadavg()}, {os.cpu_count()} CPUs")
            run_seeds(conn)
            with server.connect(autocommit=False) as tx:
                run_default(tx, 100)
            seeds_runs, default_runs = [], []
            for i in range(args.repeat):
                log(f"timed pass {i + 1} of {args.repeat}")
                seeds_runs.append(run_seeds(conn))
                with server.connect(autocommit=False) as tx:
                    default_runs.append(run_default(tx, 100))
            figures = report(size, counts, load_info, injected, best(seeds_runs), best(default_runs), args.defects)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(figures, fh, indent=2, default=str)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if args.keep and server.cid:
            with open(os.open(args.keep, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as fh:
                json.dump({"id": server.cid, "name": server.name, "port": server.port, "password": server.password}, fh)
            log(f"kept container {server.name}; details in {args.keep}")
        else:
            server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
