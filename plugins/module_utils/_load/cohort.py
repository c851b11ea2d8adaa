# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The synthetic student cohort of a load run: provisioned before the load, retired (marked
inactive, rows kept for audit) after, by the platform profile's recipe (examday_platform.cohort):

- sql: SQL templates with %(name)s parameters, for platforms where a precomputed password hash
  can be given; the default fits PLATFORM.md's users table;
- api: one admin API request per student (and per student, or once, to retire);
- command: an argv run inside a platform container (docker exec), the password on stdin (the
  lab's `python3 -m examlab.manage cohort|cohort-retire`);
- none: the cohort already exists.

The password is never put on a command line, in a result or in a file."""
from __future__ import annotations

from typing import Callable

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._load.plan import cohort_emails
from ansible_collections.examday.ops.plugins.module_utils._platform.api import PlatformClient, PlatformUnreachable
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import fill, relative_path

# PLATFORM.md's users table: full_name, role, is_active, email_verified, onboarding_completed, no
# cohort column (retired by e-mail pattern). Updates only rows that differ, so a second
# provisioning changes nothing.
DEFAULT_SQL = {
    "provision": (
        "INSERT INTO users (email, password_hash, full_name, role, is_active, email_verified, onboarding_completed) "
        "VALUES (%(email)s, %(password_hash)s, %(full_name)s, 'student', true, true, true) "
        "ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, is_active = true, "
        "email_verified = true "
        "WHERE users.password_hash IS DISTINCT FROM EXCLUDED.password_hash OR NOT users.is_active "
        "OR NOT users.email_verified"),
    "retire": "UPDATE users SET is_active = false WHERE email LIKE %(email_like)s AND is_active",
}
DEFAULT_API_BODY = {"email": "{email}", "password": "{password}", "role": "student"}


def _last_json(out: str) -> dict | None:
    import json

    for line in reversed((out or "").strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "********") if secret else text


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CohortManager:
    """Provision / retire one cohort. Collaborators are injected:
    runner(argv, data=None) -> (rc, out, err); db_connect() -> a psycopg connection;
    transport(method, url, headers, data, timeout) -> (status, headers, body bytes)."""

    def __init__(self, cohort: dict, platform: dict, password: str | None, password_hash: str | None = None,
                 check_mode: bool = False, runner: Callable | None = None, db_connect: Callable | None = None,
                 transport: Callable | None = None, api_url: str = "", admin: dict | None = None,
                 compose_project: str | None = None, timeout: float = 10.0):
        self.cohort = cohort
        self.platform = platform
        self.recipe = platform["cohort"]
        self.password = password
        self.password_hash = password_hash
        self.check_mode = check_mode
        self.runner = runner
        self.db_connect = db_connect
        self.transport = transport
        self.api_url = api_url.rstrip("/")
        self.admin = admin or {}
        self.compose_project = compose_project
        self.timeout = timeout

    # ------------------------------------------------------------------ public
    def describe(self) -> dict:
        c = self.cohort
        return {"method": c["method"], "tag": c["tag"], "count": c["count"], "first": c["first"],
                "retire_after": c["retire_after"],
                "email_pattern": f"{c['prefix']}{'N' * c['pad']}@{c['domain']}"}

    def validate(self, action: str) -> None:
        """Checks the method's settings before anything runs (one sentence on error)."""
        method = self.cohort["method"]
        if action == "provision" and method != "none" and not self.password:
            raise OpsError("the cohort password is needed to provision the cohort.")
        if method == "command":
            cmd = self._command()
            if not isinstance(cmd[action], list) or not cmd[action]:
                raise OpsError(f"examday_platform.cohort.command.{action} must be a non-empty list of arguments.")
            fill([str(a) for a in cmd[action]], self._values(), f"examday_platform.cohort.command.{action}")
            if not cmd["container"] and not (self.compose_project and cmd["service"]):
                raise OpsError("examday_platform.cohort.command needs a container, or a service of the compose "
                               "project.")
        elif method == "sql":
            if action == "provision" and not self.password_hash:
                raise OpsError("the cohort's password hash (cohort password_hash: the password hashed the way the "
                               "platform stores it) is needed to provision by SQL.")
            if self.db_connect is None:
                raise OpsError("provisioning the cohort by SQL needs the db option.")
        elif method == "api":
            if not self.admin.get("email") or not self.admin.get("password"):
                raise OpsError("the cohort's api method needs the admin's e-mail and password (admin option).")
            if not self.recipe["api"][f"{action}_path"]:
                raise OpsError(f"examday_platform.cohort.api.{action}_path (the platform's admin endpoint) is needed "
                               f"to {action} by API.")

    def provision(self) -> dict:
        return self._act("provision")

    def retire(self) -> dict:
        return self._act("retire")

    # ------------------------------------------------------------------ internals
    def _act(self, action: str) -> dict:
        self.validate(action)
        method = self.cohort["method"]
        out = {"action": action, "changed": False}
        if method == "none":
            out["detail"] = "the cohort is managed outside this module"
            return out
        runners = {"command": self._command_run, "sql": self._sql_run, "api": self._api_run}
        out.update(runners[method](action))
        return out

    def _values(self, **extra) -> dict:
        c = self.cohort
        return {"count": c["count"], "first": c["first"], "tag": c["tag"], "prefix": c["prefix"],
                "domain": c["domain"], **extra}

    def _command(self) -> dict:
        cmd = dict(self.recipe["command"])
        cmd["service"] = cmd.get("service") or self.platform["services"]["backend"]
        return cmd

    # command ---------------------------------------------------------------
    def _containers(self, cmd: dict) -> list[str]:
        if cmd["container"]:
            return [cmd["container"]]
        argv = _docker_cli.ps_filter_argv(self.compose_project, cmd["service"], all_states=False)
        rc, out, err = self.runner(argv + ["--filter", "status=running"])
        if rc != 0:
            detail = (err or out).strip().splitlines()
            raise OpsError(f"listing the containers of service {cmd['service']} failed: "
                           f"{detail[-1] if detail else f'rc {rc}'}.")
        ids = [line.strip() for line in out.splitlines() if line.strip()]
        if not ids:
            raise OpsError(f"no running container of service {cmd['service']} in project {self.compose_project} "
                           "to run the cohort command in.")
        return ids

    def _command_run(self, action: str) -> dict:
        cmd = self._command()
        argv = [str(a) for a in fill([str(a) for a in cmd[action]], self._values(),
                                     f"examday_platform.cohort.command.{action}")]
        containers = self._containers(cmd)
        if self.check_mode:
            return {"changed": True, "command": argv, "container": containers[0][:12],
                    "detail": "check mode: the command was not run"}
        data = self.password if action == "provision" else None
        last = ""
        for cid in containers:  # a replica that is paused or restarting right now: try the next one
            rc, out, err = self.runner(["docker", "exec", "-i", cid, *argv], data=data)
            if rc == 0:
                parsed = _last_json(out) or {}
                if action == "provision":
                    changed = bool(parsed.get("changed", parsed.get("created", 1)))
                else:
                    changed = bool(parsed.get("changed", parsed.get("retired", 1)))
                return {"changed": changed, "command": argv, "container": cid[:12], "output": parsed}
            lines = _scrub((err or out).strip(), self.password).splitlines()
            last = lines[-1] if lines else f"rc {rc}"
        raise OpsError(f"the cohort {action} command failed in {cmd['service'] or cmd['container']}: {last}.")

    # sql -------------------------------------------------------------------
    def _sql_run(self, action: str) -> dict:
        sql = self.recipe["sql"]
        template = sql[action] or DEFAULT_SQL[action]
        c = self.cohort
        common = {**self._values(), "password_hash": self.password_hash,
                  "email_like": f"{like_escape(c['prefix'])}%@{like_escape(c['domain'])}"}
        per_user = "%(email)s" in template or "%(index)s" in template or "%(full_name)s" in template
        if per_user:
            rows = [{**common, "email": email, "index": i, "full_name": f"Rehearsal student {i}"}
                    for i, email in enumerate(cohort_emails(c), start=c["first"])]
        else:
            rows = [common]
        conn = self.db_connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT set_config('statement_timeout', %s, true)", (f"{int(sql['statement_timeout'])}s",))
                cur.executemany(template, rows)
                affected = max(cur.rowcount, 0)
            if self.check_mode:
                conn.rollback()
            else:
                conn.commit()
        except Exception as exc:  # a driver error becomes one sentence; the transaction is rolled back
            conn.rollback()
            lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
            raise OpsError(f"the cohort {action} SQL failed: {lines[0] if lines else type(exc).__name__}.") from None
        finally:
            conn.close()
        return {"changed": affected > 0, "rows": affected}

    # api -------------------------------------------------------------------
    def _api_run(self, action: str) -> dict:
        api = self.recipe["api"]
        if self.check_mode:
            return {"changed": True, "requests": self.cohort["count"], "detail": "check mode: no request was sent"}
        client = PlatformClient(self.api_url, self.transport, self.platform, self.timeout)
        try:
            login = client.login_patiently(self.admin["email"], self.admin["password"])
        except PlatformUnreachable as exc:
            raise OpsError(f"{exc}.") from None
        token = client.value("login", "access_token", login)
        if not client.ok("login", login) or not token:
            raise OpsError(f"the admin login for the cohort {action} answered {login.describe()}.")
        path_t, method = api[f"{action}_path"], api[f"{action}_method"]
        body_t = api[f"{action}_body"] if api[f"{action}_body"] is not None else (
            DEFAULT_API_BODY if action == "provision" else None)
        per_user = action == "provision" or any(f in repr([path_t, body_t]) for f in ("{email}", "{index}"))
        c = self.cohort
        targets = list(enumerate(cohort_emails(c), start=c["first"])) if per_user else [(None, None)]
        ok, unchanged = set(api["ok_status"]), set(api["unchanged_status"])
        done = same = 0
        for index, email in targets:
            values = self._values(email=email or "", index=index or 0)
            if action == "provision":
                values["password"] = self.password
            path = relative_path(self.platform, str(fill(path_t, values, f"examday_platform.cohort.api.{action}_path")))
            body = fill(body_t, values, f"examday_platform.cohort.api.{action}_body")
            url = path if path.startswith(("http://", "https://")) else self.api_url + path
            try:
                resp = client.send(f"cohort_{action}", method, url, body, token)
            except PlatformUnreachable as exc:
                raise OpsError(f"{exc}.") from None
            if resp.status in unchanged:
                same += 1
            elif resp.status in ok:
                done += 1
            else:
                who = f" for {email}" if email else ""
                raise OpsError(f"the cohort {action} request{who} answered {resp.describe()} "
                               f"after {done + same} of {len(targets)}.")
        return {"changed": done > 0, "requests": len(targets), "done": done, "unchanged": same}
