"""Lab management: migrate, seed questions, users, synthetic student cohorts, reset.

Passwords are read from standard input, never from arguments (which `ps` and logs would show).
Every command prints one JSON object."""
from __future__ import annotations

import argparse
import json
import random
import sys

import psycopg2.extras

from . import auth, db
from .config import Config

ATTEMPT_TABLES = ("session_answers", "session_questions", "attempt_events", "user_theme_mastery",
                  "background_jobs", "refresh_tokens", "system_flags", "test_sessions")


def _password() -> str:
    pw = sys.stdin.readline().rstrip("\n")
    if not pw:
        raise SystemExit("examlab manage: a password is required on standard input")
    return pw


def seed_questions(cur, count: int, years: list[int], blocks: list[str]) -> dict:
    cur.execute("SELECT count(*) AS n FROM questions")
    have = cur.fetchone()["n"]
    if have >= count:
        return {"questions": have, "created": 0}
    rng = random.Random(20261121)
    rows = []
    for i in range(have, count):
        year, block = years[i % len(years)], blocks[(i // len(years)) % len(blocks)]
        rows.append((year, block, 1 + i % 12, f"Lab question {i + 1} ({year}/{block})",
                     json.dumps([f"option {c}" for c in "ABCDE"]), rng.randrange(5)))
    psycopg2.extras.execute_values(
        cur, "INSERT INTO questions (year, block, theme_id, stem, options, correct_index) VALUES %s", rows,
        page_size=1000)
    return {"questions": count, "created": len(rows)}


def upsert_users(cur, emails: list[str], password: str, role: str, cohort: str | None, iterations: int) -> dict:
    digest = auth.hash_password(password, iterations)
    rows = psycopg2.extras.execute_values(
        cur,
        "INSERT INTO users (email, password_hash, role, cohort) VALUES %s ON CONFLICT (email) DO UPDATE "
        "SET password_hash = EXCLUDED.password_hash, role = EXCLUDED.role, cohort = EXCLUDED.cohort, "
        "is_active = true, is_verified = true RETURNING (xmax = 0) AS inserted",
        [(e.lower(), digest, role, cohort) for e in emails], page_size=1000, fetch=True,
    )
    inserted = sum(1 for r in rows if r["inserted"])
    return {"users": len(emails), "created": inserted, "updated": len(emails) - inserted}


def cohort_emails(prefix: str, domain: str, count: int, first: int = 1) -> list[str]:
    return [f"{prefix}{i:05d}@{domain}" for i in range(first, first + count)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="examlab manage")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate")
    p = sub.add_parser("seed-questions")
    p.add_argument("--count", type=int, default=1200)
    p.add_argument("--years", default="2024,2025,2026")
    p.add_argument("--blocks", default="A,B,C,D,E,F")
    p = sub.add_parser("user", help="create or update one user; password on stdin")
    p.add_argument("--email", required=True)
    p.add_argument("--role", choices=("student", "admin"), default="student")
    p.add_argument("--unverified", action="store_true")
    p = sub.add_parser("cohort", help="provision N synthetic students sharing one password (stdin)")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--first", type=int, default=1)
    p.add_argument("--tag", required=True)
    p.add_argument("--prefix", default="student")
    p.add_argument("--domain", default="cohort.examday.invalid")
    p = sub.add_parser("cohort-retire", help="mark a cohort's accounts inactive (rows stay for audit)")
    p.add_argument("--tag", required=True)
    p = sub.add_parser("reset", help="remove all attempt data and flags (TRUNCATE: events are append-only)")
    p.add_argument("--users", action="store_true", help="remove users as well")
    args = parser.parse_args(argv)

    cfg = Config.from_env()
    pool = db.Pool(cfg, application_name="exam_manage")
    db.wait_for_db(pool, deadline_s=60)
    db.migrate(pool)
    with pool.transaction() as cur:
        if args.cmd == "migrate":
            out = {"migrated": True}
        elif args.cmd == "seed-questions":
            out = seed_questions(cur, args.count, [int(y) for y in args.years.split(",")], args.blocks.split(","))
        elif args.cmd == "user":
            out = upsert_users(cur, [args.email], _password(), args.role, None, cfg.password_iterations)
            if args.unverified:
                cur.execute("UPDATE users SET is_verified = false WHERE email = %s", (args.email.lower(),))
        elif args.cmd == "cohort":
            if not 1 <= args.count <= 100000:
                raise SystemExit("examlab manage: --count must be 1..100000")
            out = upsert_users(cur, cohort_emails(args.prefix, args.domain, args.count, args.first), _password(),
                               "student", args.tag, cfg.password_iterations)
            out.update(cohort=args.tag, email_pattern=f"{args.prefix}NNNNN@{args.domain}")
        elif args.cmd == "cohort-retire":
            cur.execute("UPDATE users SET is_active = false WHERE cohort = %s AND is_active", (args.tag,))
            out = {"cohort": args.tag, "retired": cur.rowcount}
        else:
            tables = ATTEMPT_TABLES + (("users",) if args.users else ())
            cur.execute("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE")
            out = {"truncated": list(tables)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
