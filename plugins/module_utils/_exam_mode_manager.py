# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EXAM_MODE on or off through one mechanism (env, api, flag), verified by effect.

Everything is checked before anything changes: the URL answers, the admin can log in, the
database accepts the credentials, the env file and the compose services exist. Collaborators are
injected (a command runner, the API client, a database connector, clocks), so the logic is
testable without a platform."""
from __future__ import annotations

import json
import os
import shutil
import time
from typing import Callable

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli, _env_file
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, run_checked
from ansible_collections.examday.ops.plugins.module_utils._exam_mode import (
    Probe, effect_verdict, guard_flag_name, worker_verdict)
from ansible_collections.examday.ops.plugins.module_utils._platform_api import (
    PlatformClient, PlatformUnreachable)

MECHANISMS = ("env", "api", "flag")
VALUE_FORMATS = {
    "jsonb": ("to_jsonb(%s::boolean)", lambda v: v),
    "boolean": ("%s::boolean", lambda v: v),
    "text": ("%s::text", lambda v: "true" if v else "false"),
}

Runner = Callable[[list], "tuple[int, str, str]"]


def truthy(value) -> bool:
    if isinstance(value, dict):
        value = value.get("enabled")
    if isinstance(value, str):
        return value.strip().strip('"').lower() in ("1", "true", "yes", "on")
    return bool(value)


class ExamModeManager:
    def __init__(self, params: dict, check_mode: bool, runner: Runner, client: PlatformClient,
                 db_connect: Callable[[dict], object] | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 wall: Callable[[], float] = time.time):
        self.p = params
        self.check_mode = check_mode
        self.runner = runner
        self.client = client
        self.db_connect = db_connect
        self.clock, self.sleep, self.wall = clock, sleep, wall
        self.token: str | None = params.get("admin_token")
        self.desired = params["state"] == "enabled"
        self.probe = Probe(params["probe"]["refused_status"], params["probe"]["refused_code"] or "",
                           params["probe"]["streak"])

    # ------------------------------------------------------------------ helpers
    def _run(self, argv: list, what: str) -> str:
        return run_checked(self.runner, argv, what)

    def _compose(self) -> list:
        e = self.p["env"]
        return _docker_cli.compose_argv(self.p["compose_project"], e["compose_files"], e.get("project_dir"),
                                        e.get("env_files"))

    @property
    def needs_admin(self) -> bool:
        """The admin API is the mechanism, or the effect probe calls an admin endpoint."""
        return self.p["mechanism"] == "api" or (self.p["verify"] and self.p["probe"]["auth"] == "admin")

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Offline checks of the input, before any connection is made."""
        p = self.p
        if p["mechanism"] not in MECHANISMS:
            raise OpsError(f"mechanism must be one of {', '.join(MECHANISMS)}.")
        try:
            guard_flag_name(p["flag_name"], p["allow_freeze_updates"])
            if p["mechanism"] == "env":
                guard_flag_name(p["env"]["var"], p["allow_freeze_updates"])
        except ValueError as exc:
            raise OpsError(f"{exc}.") from None
        if p["verify_timeout"] <= 0 or p["poll_interval"] <= 0 or p["probe"]["streak"] < 1:
            raise OpsError("verify_timeout and poll_interval must be positive and probe.streak at least 1.")
        if p["mechanism"] == "env":
            e = p["env"]
            if not e.get("file"):
                raise OpsError("mechanism env needs env.file, the compose env file to edit.")
            if not os.path.isfile(e["file"]):
                raise OpsError(f"the env file {e['file']} does not exist.")
            if not e.get("services"):
                raise OpsError("mechanism env needs env.services, the compose services to recreate.")
            missing = [f for f in e.get("compose_files") or [] if not os.path.isfile(f)]
            if not e.get("compose_files") or missing:
                raise OpsError(f"mechanism env needs existing env.compose_files; missing: {missing or 'none given'}.")
        if p["mechanism"] == "flag" and p["flag_value_format"] not in VALUE_FORMATS:
            raise OpsError(f"flag_value_format must be one of {', '.join(VALUE_FORMATS)}.")
        if self.needs_admin and not self.token and not (p.get("admin_email") and p.get("admin_password")):
            raise OpsError("admin_token, or admin_email and admin_password, are required for the admin API "
                           "and the heavy-job probe.")

    def connect(self) -> None:
        """Online checks: everything this run will need answers, before anything changes."""
        p = self.p
        try:
            health = self.client.health()
        except PlatformUnreachable as exc:
            raise OpsError(f"{exc}.") from None
        if health.status >= 500:
            raise OpsError(f"the platform at {self.client.base_url} answers HTTP {health.status} on its health path.")
        if self.needs_admin and not self.token:
            resp = self.client.login_patiently(p["admin_email"], p["admin_password"], sleep=self.sleep)
            if resp.status != 200:
                code = resp.body.get("code") if isinstance(resp.body, dict) else None
                raise OpsError(f"admin login as {p['admin_email']} failed with HTTP {resp.status}"
                               + (f" {code}" if code else "") + "; check admin_email and admin_password.")
            self.token = resp.body["tokens"]["access_token"]
        if p["mechanism"] == "flag":
            self._read_flag()  # proves the credentials and the table
        if p["mechanism"] == "env":
            services = self._run([*self._compose(), "config", "--services"], "docker compose config").split()
            unknown = [s for s in p["env"]["services"] if s not in services]
            if unknown:
                raise OpsError(f"unknown compose service(s) {', '.join(unknown)}; the project has {', '.join(services)}.")

    # ------------------------------------------------------------------ mechanisms: read
    def _read_flag(self):
        p, db = self.p, self.p["db"]
        conn = self.db_connect(db)  # raises OpsError naming the cause
        try:
            with conn.cursor() as cur:
                cur.execute(self._sql("SELECT value FROM {table} WHERE key = %s"), (p["flag_name"],))
                row = cur.fetchone()
            conn.rollback()
        except Exception as exc:
            raise OpsError(f"cannot read {p['flag_table']}.{p['flag_name']}: {str(exc).strip().splitlines()[0]}.") from None
        finally:
            conn.close()
        return None if row is None else truthy(row[0])

    def _sql(self, template: str):
        from psycopg import sql  # the flag mechanism needs psycopg; the module reports it if missing
        table = sql.Identifier(*self.p["flag_table"].split("."))
        return sql.SQL(template).format(table=table)

    def _env_state(self) -> dict:
        e = self.p["env"]
        with open(e["file"], encoding="utf-8") as fh:
            text = fh.read()
        file_value = _env_file.parse(text).get(e["var"])
        running = {}
        for service in e["services"]:
            for c in _docker_cli.inspect_containers(self.runner, self.p["compose_project"], service, all_states=False):
                running[c["Name"].lstrip("/")] = _docker_cli.container_env(c).get(e["var"])
        return {"text": text, "file": None if file_value is None else truthy(file_value), "running": running}

    def current(self) -> dict:
        """The mechanism's own view of EXAM_MODE before any change."""
        m = self.p["mechanism"]
        if m == "flag":
            return {"enabled": self._read_flag()}
        if m == "env":
            st = self._env_state()
            return {"enabled": st["file"], "containers": {k: (None if v is None else truthy(v))
                                                          for k, v in st["running"].items()}}
        resp = self.client.call("exam_mode", "GET", None, self.token)
        if resp.status == 200 and isinstance(resp.body, dict) and "enabled" in resp.body:
            row = resp.body.get("flag")
            if isinstance(row, dict) and "value" in row:  # the row itself, not one replica's cached view
                return {"enabled": truthy(row["value"]), "source": "flag"}
            return {"enabled": bool(resp.body["enabled"]), "source": resp.body.get("source")}
        # No readable state endpoint: one probe answer tells what the platform does now.
        probe = self._probe_once()
        return {"enabled": self.probe.refused(probe[0], probe[1]), "source": "probe"}

    # ------------------------------------------------------------------ mechanisms: apply
    def apply(self) -> dict:
        m = self.p["mechanism"]
        if m == "flag":
            return self._apply_flag()
        if m == "env":
            return self._apply_env()
        return self._apply_api()

    def _apply_flag(self) -> dict:
        p = self.p
        expr, encode = VALUE_FORMATS[p["flag_value_format"]]
        conn = self.db_connect(p["db"])
        try:
            with conn.cursor() as cur:
                cur.execute(self._sql(
                    "INSERT INTO {table} (key, value, updated_at, updated_by, reason) VALUES (%s, " + expr
                    + ", now(), %s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
                    "updated_at = now(), updated_by = EXCLUDED.updated_by, reason = EXCLUDED.reason"),
                    (p["flag_name"], encode(self.desired), p["set_by"], p["reason"]))
            conn.commit()
        finally:
            conn.close()
        return {"flag": p["flag_name"], "value": self.desired}

    def _apply_api(self) -> dict:
        p = self.p
        phrase = p["confirmation_phrases"]["enable" if self.desired else "disable"]
        resp = self.client.call("exam_mode", "POST", {"enabled": self.desired, "reason": p["reason"],
                                                      "confirmation_phrase": phrase}, self.token)
        if resp.status != 200:
            code = resp.body.get("code") if isinstance(resp.body, dict) else None
            raise OpsError(f"the admin endpoint refused the change with HTTP {resp.status}"
                           + (f" {code}" if code else "") + ".", steps=[resp.evidence()])
        return {"api": resp.evidence()}

    def _apply_env(self) -> dict:
        e = self.p["env"]
        st = self._env_state()
        value = "true" if self.desired else "false"
        new, changed = _env_file.set_var(st["text"], e["var"], value)
        backup = None
        if changed:
            if e.get("backup", True):
                backup = f"{e['file']}.{time.strftime('%Y%m%d%H%M%S', time.gmtime(self.wall()))}.bak"
                shutil.copy2(e["file"], backup)
            tmp = e["file"] + ".examday.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(new)
            shutil.copymode(e["file"], tmp)
            os.replace(tmp, e["file"])
        self._run([*self._compose(), "up", "--detach", "--no-deps", "--wait", *e["services"]],
                  f"docker compose up of {', '.join(e['services'])}")
        after = self._env_state()["running"]
        wrong = {k: v for k, v in after.items() if v is None or truthy(v) != self.desired}
        if wrong or not after:
            raise OpsError(f"after compose up, the containers do not run with {e['var']}={value}: "
                           f"{wrong or 'no running container'}.")
        return {"env_file": e["file"], "backup": backup, "containers": sorted(after)}

    # ------------------------------------------------------------------ verification by effect
    def _probe_once(self) -> tuple:
        pr = self.p["probe"]
        token = self.token if pr["auth"] == "admin" else None
        hdrs = {"Authorization": f"Bearer {token}"} if token else {}
        status, _headers, raw = self.client.transport(pr["method"], self.client.base_url + pr["path"], hdrs, None,
                                                      self.client.timeout)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        return status, body

    def _worker_label(self) -> str:
        w = self.p["worker"]
        return f"container {w['container']}" if w.get("container") else f"service {w['service']}"

    def _worker_ids(self) -> list:
        w = self.p["worker"]
        if w.get("container"):
            return [w["container"]]
        if not w.get("service"):
            return []
        return _docker_cli.container_ids(self.runner, self.p["compose_project"], w["service"], all_states=False)

    def _worker_records(self, since: float) -> list:
        records = []
        for cid in self._worker_ids():
            rc, out, err = self.runner(["docker", "logs", "--since", f"{since:.3f}", cid])
            if rc == 0:
                records += _docker_cli.json_log_records(out + "\n" + err)
        return sorted(records, key=lambda r: str(r.get("ts", "")))

    def verify(self, since: float) -> dict:
        """Polls the probe and the worker's logs until both show the wanted state or time runs out."""
        p, w = self.p, self.p["worker"]
        deadline = self.clock() + p["verify_timeout"]
        samples: list = []
        probe_ok, probe_detail = False, "no probe answer"
        worker_ok, worker_detail = (None, "not required") if not w["required"] else (None, "no worker record yet")
        started = self.clock()
        while True:
            if not probe_ok:
                samples.append(self._probe_once())
                probe_ok, probe_detail = effect_verdict(samples, self.desired, self.probe)
            if w["required"] and worker_ok is not True:
                if not self._worker_ids():
                    # Off with no job runner cannot be proven (jobs cannot run); on, it is proven.
                    worker_ok = True if self.desired else False
                    worker_detail = ("no worker container is running, so no job can run" if self.desired else
                                     f"no running container for the worker ({self._worker_label()}); start it "
                                     "(background_jobs state=started) or set worker.required=false")
                else:
                    worker_ok, worker_detail = worker_verdict(self._worker_records(since), self.desired,
                                                              w["idle_event"], w["run_event"])
            done = probe_ok and (worker_ok is True or not w["required"])
            if done or self.clock() >= deadline or (w["required"] and worker_ok is False and not self._worker_ids()):
                break
            self.sleep(p["poll_interval"])
        evidence = {
            "verified": done,
            "seconds": round(self.clock() - started, 1),
            "probe": {"path": p["probe"]["path"], "answers": len(samples), "settled": probe_ok, "last": probe_detail,
                      "recent": [s for s, _b in samples[-p["probe"]["streak"]:]]},
            "worker": {"required": w["required"], "ok": worker_ok, "last": worker_detail},
        }
        if not done:
            state = "on" if self.desired else "off"
            missing = []
            if not probe_ok:
                want = f"HTTP {p['probe']['refused_status']} {p['probe']['refused_code']}" if self.desired \
                    else f"not HTTP {p['probe']['refused_status']}"
                missing.append(f"the heavy-job probe {p['probe']['path']} never answered {want} "
                               f"{self.probe.streak} times in a row ({probe_detail})")
            if w["required"] and worker_ok is not True:
                want_event = w["idle_event"] if self.desired else w["run_event"]
                missing.append(f"the worker never logged {want_event} ({worker_detail})")
            raise OpsError(f"EXAM_MODE {state} via {p['mechanism']} is not verified by effect after "
                           f"{p['verify_timeout']:g} s: " + "; ".join(missing) + ".", evidence=evidence)
        return evidence

    # ------------------------------------------------------------------ the whole run
    def run(self) -> dict:
        self.validate()
        self.connect()
        before = self.current()
        result: dict = {"mechanism": self.p["mechanism"], "state": self.p["state"], "before": before}
        if self.p["mechanism"] == "env":
            containers = before.get("containers") or {}
            changed = before["enabled"] is not self.desired or any(v is not self.desired for v in containers.values())
        else:
            changed = before["enabled"] is not self.desired
        result["changed"] = changed
        result["diff"] = {"before": {"exam_mode": before["enabled"]}, "after": {"exam_mode": self.desired}}
        if self.p["mechanism"] == "env" and changed:
            # Only the managed variable's lines: the rest of an env file holds secrets.
            var = self.p["env"]["var"]
            old = self._env_state()["text"]
            new = _env_file.set_var(old, var, "true" if self.desired else "false")[0]
            result["diff"] = {"before": _env_file.lines_of(old, var), "after": _env_file.lines_of(new, var),
                              "before_header": f"{self.p['env']['file']} ({var})",
                              "after_header": f"{self.p['env']['file']} ({var})"}
        if self.check_mode:
            verb = "would set" if changed else "already"
            result["msg"] = f"{verb} EXAM_MODE {'on' if self.desired else 'off'} via {self.p['mechanism']}"
            result["verified"] = None
            return result
        since = self.wall()
        if changed:
            result["applied"] = self.apply()
        else:
            # Nothing changed: judge the worker on what it logged over the last few ticks.
            since -= self.p["worker"]["window"]
        if self.p["verify"]:
            result["evidence"] = self.verify(since)
            result["verified"] = True
        else:
            result["verified"] = None
        return result
