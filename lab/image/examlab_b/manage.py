"""lab-b management: seed the item bank, accounts, reset, and the password hash the collection's SQL
cohort method stores (the platform's own format). Passwords come on standard input, never as
arguments. Every command prints one JSON object."""
from __future__ import annotations

import argparse
import json
import os
import random
import sys

import psycopg2.extras

from examlab import auth, db
from examlab_b.config import BConfig

ATTEMPT_TABLES = ("responses", "attempt_items", "attempt_log", "skill_scores", "renew_tokens", "attempts")
PAPERS = ("P-2026-A", "P-2026-B")
SKILLS = ("algebra", "geometry", "reading", "data")


def _password() -> str:
    pw = sys.stdin.readline().rstrip("\n")
    if not pw:
        raise SystemExit("assess manage: a password is required on standard input")
    return pw


def migrate(pool) -> None:
    with open(os.path.join(os.path.dirname(__file__), "schema.sql"), encoding="utf-8") as fh:
        ddl = fh.read()
    with pool.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (db.SCHEMA_LOCK,))
        cur.execute(ddl)


def seed_items(cur, count: int) -> dict:
    cur.execute("SELECT count(*) AS n FROM bank_items")
    have = cur.fetchone()["n"]
    if have >= count:
        return {"items": have, "created": 0}
    rng = random.Random(20261130)
    rows = [(PAPERS[i % len(PAPERS)], SKILLS[i % len(SKILLS)], f"Item {i + 1}", rng.randrange(4))
            for i in range(have, count)]
    psycopg2.extras.execute_values(cur, "INSERT INTO bank_items (paper, skill, prompt, right_choice) VALUES %s", rows,
                                   page_size=1000)
    return {"items": count, "created": len(rows)}


def account(cur, login: str, password: str, kind: str, iterations: int) -> dict:
    cur.execute("INSERT INTO accounts (login, pw_hash, kind) VALUES (%s, %s, %s) ON CONFLICT (login) DO UPDATE "
                "SET pw_hash = EXCLUDED.pw_hash, kind = EXCLUDED.kind, enabled = true RETURNING (xmax = 0) AS inserted",
                (login.lower(), auth.hash_password(password, iterations), kind))
    return {"accounts": 1, "created": int(cur.fetchone()["inserted"])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="assess manage")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate")
    p = sub.add_parser("seed-items")
    p.add_argument("--count", type=int, default=800)
    p = sub.add_parser("account", help="create or update one account; password on stdin")
    p.add_argument("--login", required=True)
    p.add_argument("--kind", choices=("candidate", "operator"), default="candidate")
    sub.add_parser("hash", help="the stored form of the password on stdin (pbkdf2_sha256)")
    sub.add_parser("reset", help="remove all attempt data; the exam lock off")
    args = parser.parse_args(argv)
    cfg = BConfig.from_env()
    if args.cmd == "hash":
        print(json.dumps({"hash": auth.hash_password(_password(), cfg.password_iterations)}))
        return 0
    pool = db.Pool(cfg, application_name="assess_manage")
    db.wait_for_db(pool, deadline_s=60)
    migrate(pool)
    with pool.transaction() as cur:
        if args.cmd == "migrate":
            out = {"migrated": True}
        elif args.cmd == "seed-items":
            out = seed_items(cur, args.count)
        elif args.cmd == "account":
            out = account(cur, args.login, _password(), args.kind, cfg.password_iterations)
        else:
            cur.execute("TRUNCATE " + ", ".join(ATTEMPT_TABLES) + " RESTART IDENTITY CASCADE")
            cur.execute("UPDATE feature_switches SET enabled = false, changed_by = NULL, changed_at = NULL, note = NULL")
            out = {"truncated": list(ATTEMPT_TABLES)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
