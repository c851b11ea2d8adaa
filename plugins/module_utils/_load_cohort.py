# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The synthetic student cohort of a load run: provisioned before the load, retired (marked
inactive, rows kept for audit) after, by a per-platform method from inventory:

- command: an argv run inside a platform container (docker exec), the password on stdin; the
  default is the lab's `python3 -m examlab.manage cohort|cohort-retire`;
- sql: SQL templates with parameters, for platforms where a precomputed password hash can be given;
- api: one admin API request per student (and per student, or once, to retire);
- none: the cohort already exists.

The password is never put on a command line, in a result or in a file."""
from __future__ import annotations

import json
import string
from typing import Callable

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._load import cohort_emails
from ansible_collections.examday.ops.plugins.module_utils._platform_api import json_request

DEFAULT_COMMAND = {
    "compose_project": "exam_platform",
    "service": "backend",
    "container": None,
    "provision": ["python3", "-m", "examlab.manage", "cohort", "--count", "{count}", "--tag", "{tag}",
                  "--prefix", "{prefix}", "--domain", "{domain}"],
    "retire": ["python3", "-m", "examlab.manage", "cohort-retire", "--tag", "{tag}"],
}

# Fits the lab's schema (PLATFORM.md's users with role, cohort, is_active, is_verified). Updates
# only rows that differ, so a second provisioning changes nothing.
DEFAULT_SQL = {
    "provision": (
        "INSERT INTO users (email, password_hash, role, cohort, is_active, is_verified) "
        "VALUES (%(email)s, %(password_hash)s, 'student', %(tag)s, true, true) "
        "ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, cohort = EXCLUDED.cohort, "
        "is_active = true, is_verified = true "
        "WHERE users.password_hash IS DISTINCT FROM EXCLUDED.password_hash OR users.cohort IS DISTINCT FROM "
        "EXCLUDED.cohort OR NOT users.is_active OR NOT users.is_verified"),
    "retire": "UPDATE users SET is_active = false WHERE cohort = %(tag)s AND is_active",
}

DEFAULT_API = {
    "provision_method": "POST", "provision_path": None,
    "provision_body": {"email": "{email}", "password": "{password}", "role": "student", "cohort": "{tag}"},
    "retire_method": "DELETE", "retire_path": None, "retire_body": None,
    "ok_status": [200, 201, 202, 204], "unchanged_status": [409],
}

FIELDS = ("count", "tag", "prefix", "domain", "email", "index", "password")


class _Fields(dict):
    def __init__(self, values: dict, where: str):
        super().__init__(values)
        self.where = where

    def __missing__(self, key):
        known = ", ".join("{" + k + "}" for k in sorted(self))
        raise OpsError(f"unknown placeholder {{{key}}} in {self.where}; known here: {known}.")


def fill(template, values: dict, where: str):
    """Fills {placeholders} in a string, or in every string of a list or mapping."""
    if isinstance(template, str):
        try:
            return string.Formatter().vformat(template, (), _Fields(values, where))
        except (ValueError, IndexError) as exc:
            raise OpsError(f"the template in {where} is not valid: {exc}.") from None
    if isinstance(template, list):
        return [fill(t, values, where) for t in template]
    if isinstance(template, dict):
        return {k: fill(v, values, where) for k, v in template.items()}
    return template


def _last_json(out: str) -> dict | None:
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


class CohortManager:
    """Provision / retire one cohort. Collaborators are injected:
    runner(argv, data=None) -> (rc, out, err); db_connect() -> a psycopg connection;
    transport(method, url, headers, data, timeout) -> (status, headers, body bytes)."""

    def __init__(self, cohort: dict, options: dict, password: str | None, check_mode: bool = False,
                 runner: Callable | None = None, db_connect: Callable | None = None,
                 transport: Callable | None = None, api_url: str = "", login_path: str = "/v1/auth/login",
                 timeout: float = 10.0):
        self.cohort = cohort
        self.options = options or {}
        self.password = password
        self.check_mode = check_mode
        self.runner = runner
        self.db_connect = db_connect
        self.transport = transport
        self.api_url = api_url.rstrip("/")
        self.login_path = login_path
        self.timeout = timeout

    # ------------------------------------------------------------------ public
    def describe(self) -> dict:
        c = self.cohort
        return {"method": c["method"], "tag": c["tag"], "count": c["count"], "retire_after": c["retire_after"],
                "email_pattern": f"{c['prefix']}NNNNN@{c['domain']}"}

    def validate(self, action: str) -> None:
        """Checks the method's settings before anything runs (one sentence on error)."""
        method = self.cohort["method"]
        if action == "provision" and method != "none" and not self.password:
            raise OpsError("cohort.password is needed to provision the cohort.")
        if method == "command":
            cmd = self._command()
            for key in ("provision", "retire"):
                if not isinstance(cmd[key], list) or not cmd[key] or not all(isinstance(a, (str, int)) for a in cmd[key]):
                    raise OpsError(f"cohort.command.{key} must be a non-empty list of arguments.")
                fill([str(a) for a in cmd[key]], self._values(), f"cohort.command.{key}")
            if not cmd["container"] and not (cmd["compose_project"] and cmd["service"]):
                raise OpsError("cohort.command needs a container, or a compose_project and a service.")
        elif method == "sql":
            sql = self._sql_settings()
            if action == "provision" and not sql["password_hash"]:
                raise OpsError("cohort.sql.password_hash (the password's precomputed hash) is needed to provision "
                               "by SQL.")
        elif method == "api":
            api = self._api_settings()
            if not api["admin_email"] or not api["admin_password"]:
                raise OpsError("cohort.api needs admin_email and admin_password to call the admin endpoint.")
            if not api[f"{action}_path"]:
                raise OpsError(f"cohort.api.{action}_path (the platform's admin endpoint) is needed to {action} by API.")

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
        return {"count": c["count"], "tag": c["tag"], "prefix": c["prefix"], "domain": c["domain"], **extra}

    def _command(self) -> dict:
        given = {k: v for k, v in (self.options.get("command") or {}).items() if v is not None}
        return {**DEFAULT_COMMAND, **given}

    def _sql_settings(self) -> dict:
        given = {k: v for k, v in (self.options.get("sql") or {}).items() if v is not None}
        return {"password_hash": None, "statement_timeout": 60, **DEFAULT_SQL, **given}

    def _api_settings(self) -> dict:
        given = {k: v for k, v in (self.options.get("api") or {}).items() if v is not None}
        return {"admin_email": None, "admin_password": None, **DEFAULT_API, **given}

    # command ---------------------------------------------------------------
    def _containers(self, cmd: dict) -> list[str]:
        if cmd["container"]:
            return [cmd["container"]]
        argv = _docker_cli.ps_filter_argv(cmd["compose_project"], cmd["service"], all_states=False)
        rc, out, err = self.runner(argv + ["--filter", "status=running"])
        if rc != 0:
            detail = (err or out).strip().splitlines()
            raise OpsError(f"listing the containers of service {cmd['service']} failed: "
                           f"{detail[-1] if detail else f'rc {rc}'}.")
        ids = [line.strip() for line in out.splitlines() if line.strip()]
        if not ids:
            raise OpsError(f"no running container of service {cmd['service']} in project {cmd['compose_project']} "
                           "to run the cohort command in.")
        return ids

    def _command_run(self, action: str) -> dict:
        cmd = self._command()
        argv = fill([str(a) for a in cmd[action]], self._values(), f"cohort.command.{action}")
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
        sql = self._sql_settings()
        template = sql[action]
        rows = []
        per_user = "%(email)s" in template or "%(index)s" in template
        if per_user:
            for i, email in enumerate(cohort_emails(self.cohort), start=1):
                rows.append({**self._values(), "email": email, "index": i, "password_hash": sql["password_hash"]})
        else:
            rows.append({**self._values(), "password_hash": sql["password_hash"]})
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
    def _request(self, method: str, path: str, body, token: str | None) -> tuple[int, object]:
        url = path if path.startswith(("http://", "https://")) else self.api_url + path
        headers, data = json_request(body, token)
        status, _headers, raw = self.transport(method, url, headers, data, self.timeout)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return status, parsed

    def _api_run(self, action: str) -> dict:
        api = self._api_settings()
        if self.check_mode:
            return {"changed": True, "requests": self.cohort["count"], "detail": "check mode: no request was sent"}
        credentials = {"email": api["admin_email"], "password": api["admin_password"]}
        status, body = self._request("POST", self.login_path, credentials, None)
        token = (((body or {}).get("tokens") or {}).get("access_token")) if isinstance(body, dict) else None
        if status != 200 or not token:
            raise OpsError(f"the admin login for the cohort {action} answered HTTP {status}.")
        path_t, body_t, method = api[f"{action}_path"], api[f"{action}_body"], api[f"{action}_method"].upper()
        per_user = action == "provision" or any(f in json.dumps([path_t, body_t]) for f in ("{email}", "{index}"))
        targets = list(enumerate(cohort_emails(self.cohort), start=1)) if per_user else [(None, None)]
        ok, unchanged = set(api["ok_status"]), set(api["unchanged_status"])
        done = same = 0
        for index, email in targets:
            values = self._values(email=email or "", index=index or 0)
            if action == "provision":
                values["password"] = self.password
            status, _body = self._request(method, fill(path_t, values, f"cohort.api.{action}_path"),
                                          fill(body_t, values, f"cohort.api.{action}_body"), token)
            if status in unchanged:
                same += 1
            elif status in ok:
                done += 1
            else:
                who = f" for {email}" if email else ""
                raise OpsError(f"the cohort {action} request{who} answered HTTP {status} "
                               f"after {done + same} of {len(targets)}.")
        return {"changed": done > 0, "requests": len(targets), "done": done, "unchanged": same}
