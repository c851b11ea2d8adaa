# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollback guard (seed 002's Rollback Plan): stop new sessions while the running ones go on,
proven by effect, wait (bounded) until no session is active, and open again. The switch is the
profile's `rollback.new_sessions_flag`, a row of the flag table; a platform without one (the real
platform's default) is told so in one sentence before anything is touched.

Proof by effect: a probe student asks for a new session until `rollback.streak` answers in a row
are refused (closed) or accepted (open); an answer that is neither (a rate limit, waited out; an
error) neither counts nor breaks the streak. Every session the probe was given is submitted at once
(the platform's submit limit waited out), so the guard leaves no active session of its own. Collaborators are injected (the API client, a
database connector, clocks)."""
from __future__ import annotations

import time
import uuid
from typing import Callable

from ansible_collections.examday.ops.plugins.module_utils import _flags
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._platform.api import PlatformClient, PlatformUnreachable
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import error_code
from ansible_collections.examday.ops.plugins.module_utils._platform.schema import Unavailable, render

ACTIVE_SQL = "SELECT count(*) FROM {sessions} WHERE {sessions.status} = %s"


def no_switch_sentence(profile: dict) -> str:
    return (f"{profile.get('name') or 'This platform'} has no switch that stops new sessions "
            "(examday_platform.rollback.new_sessions_flag is empty), so the rollback guard changed nothing.")


class Guard:
    def __init__(self, params: dict, client: PlatformClient, db_connect: Callable[[], object], check_mode: bool = False,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.p, self.client, self.db_connect, self.check_mode = params, client, db_connect, check_mode
        self.clock, self.sleep = clock, sleep
        self.profile = client.profile
        self.rb, self.flag = self.profile["rollback"], self.profile["exam_mode"]["flag"]
        self.token: str | None = None
        self.probe_sessions: list = []
        self.unsubmitted: list = []  # sessions the probe was given but could not submit (they stay active)

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        if not self.rb["new_sessions_flag"]:
            raise OpsError(no_switch_sentence(self.profile))
        p = self.p
        if p["verify_timeout"] <= 0 or p["poll_interval"] <= 0 or p["drain_poll"] <= 0 or p["drain_minutes"] < 0:
            raise OpsError("verify_timeout, poll_interval and drain_poll must be above 0, drain_minutes 0 or more.")
        if p["verify"] and not (p.get("email") and p.get("password")):
            raise OpsError("email and password (the probe student) are required to prove the switch by effect.")
        try:
            self.active_sql = render(ACTIVE_SQL, self.profile["schema"])
        except Unavailable as exc:
            raise OpsError(f"counting active sessions needs examday_platform.{exc}.") from None

    def connect(self) -> None:
        """Everything the run needs answers before the switch is touched."""
        try:
            self.client.health()
        except PlatformUnreachable as exc:
            raise OpsError(f"{exc}.") from None
        self.state()  # the database, the table and the credentials
        if self.p["verify"]:
            resp = self.client.login_patiently(self.p["email"], self.p["password"], sleep=self.sleep)
            self.token = self.client.value("login", "access_token", resp)
            if not self.client.ok("login", resp) or not self.token:
                raise OpsError(f"the probe student's login as {self.p['email']} failed with {resp.describe()}; check "
                               "email and password.")

    # ------------------------------------------------------------------ the database
    def _db(self, fn):
        conn = self.db_connect()
        try:
            return fn(conn)
        finally:
            conn.close()

    def state(self) -> bool:
        """Whether new sessions are closed now (no row: open)."""
        return self._db(lambda conn: _flags.read_flag(conn, self.flag, self.rb["new_sessions_flag"])) is True

    def active_sessions(self) -> int:
        status = self.profile["schema"]["statuses"]["active"]

        def count(conn):
            try:
                with conn.cursor() as cur:
                    cur.execute(self.active_sql, (status,))
                    n = cur.fetchone()[0]
                conn.rollback()
            except Exception as exc:
                raise OpsError(f"counting active sessions failed: {str(exc).strip().splitlines()[0]}.") from None
            return int(n)
        return self._db(count)

    def _set(self, closed: bool) -> None:
        self._db(lambda conn: _flags.upsert_flag(conn, self.flag, self.rb["new_sessions_flag"], closed, self.p["reason"]))

    # ------------------------------------------------------------------ proof by effect
    def _refused(self, resp) -> bool:
        code = self.rb["refused_code"]
        return resp.status == self.rb["refused_status"] and (not code or error_code(self.profile, resp.body) == code)

    def _retry_after(self, resp, deadline: float) -> bool:
        """Waits out a rate limit (429, Retry-After) within the deadline; False when no time is left."""
        try:
            pause = float(resp.headers.get("retry-after", "1"))
        except (TypeError, ValueError):
            pause = 1.0
        left = deadline - self.clock()
        if left <= 0:
            return False
        self.sleep(max(0.2, min(pause, left)))
        return True

    def _submit(self, sid, deadline: float) -> bool:
        """Submits a session the probe was given; a rate limit is waited out (the platform limits submits
        per student), anything else that is not a success is an answer."""
        key = uuid.uuid4().hex  # one key: a retried submit is the same submit
        while True:
            try:
                done = self.client.submit(self.token, sid, key)
            except PlatformUnreachable:
                return False
            if self.client.ok("submit", done):
                return True
            if done.status != 429 or not self._retry_after(done, deadline):
                return False

    def _probe_once(self, deadline: float) -> bool | None:
        """True refused, False a session was given (and submitted at once), None no answer either way
        (a rate limit, waited out; an error)."""
        try:
            resp = self.client.create_session(self.token)
        except PlatformUnreachable:
            return None
        if self._refused(resp):
            return True
        if self.client.ok("create_session", resp):
            sid = self.client.value("create_session", "session_id", resp)
            if sid is None:
                self.unsubmitted.append("a session whose id the answer did not carry")
            elif self._submit(sid, deadline + 30.0):
                self.probe_sessions.append(str(sid))
            else:
                self.unsubmitted.append(str(sid))
            return False
        if resp.status == 429:
            self._retry_after(resp, deadline)
        return None

    def verify(self, closed: bool) -> dict:
        """Waits until `streak` answers in a row show the wanted state, within verify_timeout."""
        want, streak, answers = closed, 0, []
        deadline = self.clock() + self.p["verify_timeout"]
        while True:
            got = self._probe_once(deadline)
            answers.append(got)
            if got is not None:  # no answer either way (a rate limit, an error) neither counts nor breaks the streak
                streak = streak + 1 if got is want else 0
            if self.unsubmitted:
                raise OpsError(f"the probe was given session(s) it could not submit ({', '.join(self.unsubmitted[:5])}); "
                               "they stay active for its student: submit them before counting on the drain.",
                               probe_sessions_submitted=self.probe_sessions, unsubmitted=self.unsubmitted)
            if streak >= self.rb["streak"]:
                return {"verified": True, "answers": len(answers), "probe_sessions_submitted": len(self.probe_sessions)}
            if self.clock() >= deadline:
                word = "refused" if closed else "accepted"
                raise OpsError(f"new sessions {'closed' if closed else 'open'} is not verified by effect after "
                               f"{self.p['verify_timeout']:g} s: the probe's session requests were never {word} "
                               f"{self.rb['streak']} times in a row (last answers: {answers[-5:]}).",
                               probe_sessions_submitted=self.probe_sessions)
            self.sleep(self.p["poll_interval"])

    # ------------------------------------------------------------------ the run
    def drain(self, say: Callable[[str], None] = lambda _l: None) -> dict:
        """Waits until no session is active, at most drain_minutes; the counts along the way."""
        deadline = self.clock() + self.p["drain_minutes"] * 60.0
        counts = []
        while True:
            n = self.active_sessions()
            counts.append(n)
            if n == 0:
                return {"drained": True, "active": 0, "counts": counts[-20:]}
            if self.clock() >= deadline:
                return {"drained": False, "active": n, "counts": counts[-20:]}
            say(f"{n} sessions still active")
            self.sleep(max(0.1, min(self.p["drain_poll"], deadline - self.clock())))

    def run(self) -> dict:
        self.validate()
        self.connect()
        want_closed = self.p["state"] == "closed"
        before = self.state()
        changed = before != want_closed
        out = {"state": self.p["state"], "before": "closed" if before else "open", "changed": changed,
               "flag": self.rb["new_sessions_flag"], "active_sessions_before": self.active_sessions()}
        if self.check_mode:
            out["msg"] = (f"would {'close' if want_closed else 'open'} new sessions" if changed
                          else f"new sessions are already {self.p['state']}")
            return out
        if changed:
            self._set(want_closed)
        if self.p["verify"]:
            out["verification"] = self.verify(want_closed)
        if want_closed and self.p["drain_minutes"] > 0:
            out["drain"] = self.drain()
            if not out["drain"]["drained"]:
                raise OpsError(f"new sessions are closed, but {out['drain']['active']} sessions were still active after "
                               f"{self.p['drain_minutes']:g} minutes; wait longer (drain_minutes) before the rollback.",
                               **out)
        out["msg"] = f"new sessions {self.p['state']}" + (
            ", no session active" if want_closed and out.get("drain", {}).get("drained") else "")
        return out
