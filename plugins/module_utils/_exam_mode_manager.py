# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EXAM_MODE on or off through one mechanism (env, api, flag), verified by effect, every platform
fact from the profile (examday_platform.exam_mode and api.calls.exam_mode_*).

Everything is checked before anything changes: the URL answers, the admin can log in, the
database accepts the credentials, the env file and the compose services exist. Collaborators are
injected (a command runner, the API client, a database connector, clocks), so the logic is
testable without a platform."""
from __future__ import annotations

import os
import shutil
import time
from typing import Callable

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli, _env_file, _flags
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, run_checked
from ansible_collections.examday.ops.plugins.module_utils._exam_mode import (
    Probe, effect_verdict, guard_flag_name, worker_verdict)
from ansible_collections.examday.ops.plugins.module_utils._platform.api import PlatformClient, PlatformUnreachable
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import error_code, relative_path

MECHANISMS = ("env", "api", "flag")

Runner = Callable[[list], "tuple[int, str, str]"]


truthy = _flags.truthy


class ExamModeManager:
    def __init__(self, params: dict, check_mode: bool, runner: Runner, client: PlatformClient,
                 db_connect: Callable[[dict], object] | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 wall: Callable[[], float] = time.time):
        self.p = params
        self.em = client.profile["exam_mode"]
        self.mechanism = params.get("mechanism") or self.em["mechanism"]
        self.check_mode = check_mode
        self.runner = runner
        self.client = client
        self.db_connect = db_connect
        self.clock, self.sleep, self.wall = clock, sleep, wall
        self.token: str | None = params.get("admin_token")
        self.desired = params["state"] == "enabled"
        pr = self.em["probe"]
        self.probe = Probe(pr["refused_status"], pr["refused_code"] or "", pr["streak"],
                           lambda body: error_code(client.profile, body))
        self.jobs = self.em["jobs_evidence"]

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
        return self.mechanism == "api" or (self.p["verify"] and self.em["probe"]["auth"] == "admin")

    @property
    def jobs_required(self) -> bool:
        return self.jobs["kind"] == "log"

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Offline checks of the input, before any connection is made."""
        p, em = self.p, self.em
        if self.mechanism not in MECHANISMS:
            raise OpsError(f"mechanism must be one of {', '.join(MECHANISMS)}.")
        try:
            guard_flag_name(em["flag"]["key"], p["allow_freeze_updates"], em["freeze_flag"])
            if self.mechanism == "env":
                guard_flag_name(em["env"]["var"], p["allow_freeze_updates"], em["freeze_flag"])
        except ValueError as exc:
            raise OpsError(f"{exc}.") from None
        if p["verify_timeout"] <= 0 or p["poll_interval"] <= 0:
            raise OpsError("verify_timeout and poll_interval must be positive.")
        if self.mechanism == "env":
            e = p["env"]
            if not e.get("file"):
                raise OpsError("mechanism env needs env.file, the compose env file to edit.")
            if not os.path.isfile(e["file"]):
                raise OpsError(f"the env file {e['file']} does not exist.")
            if not em["env"]["services"]:
                raise OpsError("mechanism env needs examday_platform.exam_mode.env.services, the compose services "
                               "to recreate.")
            missing = [f for f in e.get("compose_files") or [] if not os.path.isfile(f)]
            if not e.get("compose_files") or missing:
                raise OpsError(f"mechanism env needs existing env.compose_files; missing: {missing or 'none given'}.")
        if self.mechanism == "flag":
            flag = em["flag"]
            if flag["updated_by_column"] and flag["updated_by_type"] != "text" and not flag["updated_by"]:
                raise OpsError("examday_platform.exam_mode.flag.updated_by must be an admin user's id "
                               f"({flag['updated_by_type']}): the flag's {flag['updated_by_column']} column holds a "
                               "user id.")
        if self.mechanism == "api" and not self.client.has("exam_mode_set"):
            raise OpsError("mechanism api needs examday_platform.api.calls.exam_mode_set.path (the admin endpoint).")
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
            token = self.client.value("login", "access_token", resp)
            if not self.client.ok("login", resp) or not token:
                raise OpsError(f"admin login as {p['admin_email']} failed with {resp.describe()}; check admin_email "
                               "and admin_password.")
            self.token = token
        if self.mechanism == "flag":
            self._read_flag()  # proves the credentials and the table
        if self.mechanism == "env":
            services = self._run([*self._compose(), "config", "--services"], "docker compose config").split()
            unknown = [s for s in self.em["env"]["services"] if s not in services]
            if unknown:
                raise OpsError(f"unknown compose service(s) {', '.join(unknown)}; the project has {', '.join(services)}.")

    # ------------------------------------------------------------------ mechanisms: read
    def _read_flag(self):
        conn = self.db_connect(self.p["db"])  # raises OpsError naming the cause
        try:
            return _flags.read_flag(conn, self.em["flag"], self.em["flag"]["key"])
        finally:
            conn.close()

    def _env_state(self) -> dict:
        e, var = self.p["env"], self.em["env"]["var"]
        with open(e["file"], encoding="utf-8") as fh:
            text = fh.read()
        file_value = _env_file.parse(text).get(var)
        running = {}
        for service in self.em["env"]["services"]:
            for c in _docker_cli.inspect_containers(self.runner, self.p["compose_project"], service, all_states=False):
                running[c["Name"].lstrip("/")] = _docker_cli.container_env(c).get(var)
        return {"text": text, "file": None if file_value is None else truthy(file_value), "running": running}

    def current(self) -> dict:
        """The mechanism's own view of EXAM_MODE before any change."""
        m = self.mechanism
        if m == "flag":
            return {"enabled": self._read_flag()}
        if m == "env":
            st = self._env_state()
            return {"enabled": st["file"], "containers": {k: (None if v is None else truthy(v))
                                                          for k, v in st["running"].items()}}
        if self.client.has("exam_mode_get"):
            resp = self.client.call("exam_mode_get", token=self.token)
            if self.client.ok("exam_mode_get", resp):
                stored = self.client.value("exam_mode_get", "stored", resp)
                if stored is not None:  # the row itself, not one process's cached view
                    return {"enabled": truthy(stored), "source": "flag"}
                enabled = self.client.value("exam_mode_get", "enabled", resp)
                if enabled is not None:
                    return {"enabled": truthy(enabled), "source": "api"}
        # No readable state: one probe answer tells what the platform does now.
        probe = self._probe_once()
        return {"enabled": self.probe.refused(probe[0], probe[1]), "source": "probe"}

    def stored_state(self) -> tuple[bool | None, str]:
        """EXAM_MODE as the platform stores it, by reads that change nothing and never probe (the heavy-job
        probe would start a job when the mode is off): the env file and the running containers, the admin
        API's read call (logging in again once when the token expired), else the flag's row. (None, why)
        when none of these can be read."""
        if self.mechanism == "env":
            st = self._env_state()
            running = {k: (None if v is None else truthy(v)) for k, v in st["running"].items()}
            off = sorted(k for k, v in running.items() if v is not True)
            if st["file"] is True and not off:
                return True, "on in the env file and every running container"
            return False, ("off in the env file" if st["file"] is not True else f"off in {', '.join(off)}")
        if self.mechanism == "api" and self.client.has("exam_mode_get"):
            for attempt in (1, 2):
                if not self.token or attempt == 2:
                    if not (self.p.get("admin_email") and self.p.get("admin_password")):
                        return None, "the admin API needs admin_email and admin_password to read EXAM_MODE"
                    resp = self.client.login(self.p["admin_email"], self.p["admin_password"])
                    self.token = self.client.value("login", "access_token", resp)
                    if not self.client.ok("login", resp) or not self.token:
                        return None, f"admin login failed with {resp.describe()}"
                resp = self.client.call("exam_mode_get", token=self.token)
                if resp.status in (401, 403) and attempt == 1:
                    continue
                if not self.client.ok("exam_mode_get", resp):
                    return None, f"the admin API's exam_mode_get answered {resp.describe()}"
                for key in ("stored", "enabled"):
                    value = self.client.value("exam_mode_get", key, resp)
                    if value is not None:
                        return truthy(value), f"the admin API ({key})"
                return None, "the admin API's exam_mode_get answer holds neither stored nor enabled"
        if self.db_connect is None or not (self.p.get("db") or {}).get("name"):
            return None, "no read-only way to read EXAM_MODE (no exam_mode_get call and no database)"
        value = self._read_flag()
        if value is None:
            return None, f"no {self.em['flag']['key']} row in {self.em['flag']['table']}"
        return value, f"the flag row {self.em['flag']['table']}.{self.em['flag']['key']}"

    # ------------------------------------------------------------------ mechanisms: apply
    def apply(self) -> dict:
        m = self.mechanism
        if m == "flag":
            return self._apply_flag()
        if m == "env":
            return self._apply_env()
        return self._apply_api()

    def _apply_flag(self) -> dict:
        flag = self.em["flag"]
        conn = self.db_connect(self.p["db"])
        try:
            _flags.upsert_flag(conn, flag, flag["key"], self.desired, self.p["reason"])
        finally:
            conn.close()
        return {"flag": flag["key"], "value": self.desired}

    def _apply_api(self) -> dict:
        phrase = self.em["confirmation"]["enable" if self.desired else "disable"]
        resp = self.client.call("exam_mode_set", {"enabled": self.desired, "reason": self.p["reason"],
                                                  "confirmation": phrase}, self.token)
        if not self.client.ok("exam_mode_set", resp):
            raise OpsError(f"the admin endpoint refused the change with {resp.describe()}.", steps=[resp.evidence()])
        return {"api": resp.evidence()}

    def _apply_env(self) -> dict:
        e, var = self.p["env"], self.em["env"]["var"]
        st = self._env_state()
        value = "true" if self.desired else "false"
        new, changed = _env_file.set_var(st["text"], var, value)
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
        services = self.em["env"]["services"]
        self._run([*self._compose(), "up", "--detach", "--no-deps", "--wait", *services],
                  f"docker compose up of {', '.join(services)}")
        after = self._env_state()["running"]
        wrong = {k: v for k, v in after.items() if v is None or truthy(v) != self.desired}
        if wrong or not after:
            raise OpsError(f"after compose up, the containers do not run with {var}={value}: "
                           f"{wrong or 'no running container'}.")
        return {"env_file": e["file"], "backup": backup, "containers": sorted(after)}

    # ------------------------------------------------------------------ verification by effect
    def _probe_once(self) -> tuple:
        pr = self.em["probe"]
        token = self.token if pr["auth"] == "admin" else None
        resp = self.client.path_call("exam_mode_probe", pr["method"], pr["path"], token, pr["body"])
        return resp.status, resp.body

    def _jobs_label(self) -> str:
        return f"service {self.jobs['service']}"

    def _jobs_ids(self) -> list:
        return _docker_cli.container_ids(self.runner, self.p["compose_project"], self.jobs["service"], all_states=False)

    def _jobs_records(self, since: float) -> list:
        records = []
        for cid in self._jobs_ids():
            rc, out, err = self.runner(["docker", "logs", "--since", f"{since:.3f}", cid])
            if rc == 0:
                records += _docker_cli.json_log_records(out + "\n" + err)
        return sorted(records, key=lambda r: str(r.get("ts", r.get("docker_ts", ""))))

    def verify(self, since: float) -> dict:
        """Polls the probe and the job runner's logs until both show the wanted state or time runs out."""
        p, jobs = self.p, self.jobs
        deadline = self.clock() + p["verify_timeout"]
        samples: list = []
        probe_ok, probe_detail = False, "no probe answer"
        jobs_ok, jobs_detail = (None, "not required: the platform logs no job-runner evidence "
                                      "(examday_platform.exam_mode.jobs_evidence.kind none)") \
            if not self.jobs_required else (None, "no job-runner record yet")
        started = self.clock()
        while True:
            if not probe_ok:
                try:
                    samples.append(self._probe_once())
                except PlatformUnreachable as exc:
                    samples.append((0, {"error": str(exc)}))
                probe_ok, probe_detail = effect_verdict(samples, self.desired, self.probe)
            if self.jobs_required and jobs_ok is not True:
                if not self._jobs_ids():
                    # Off with no job runner cannot be proven (jobs cannot run); on, it is proven.
                    jobs_ok = True if self.desired else False
                    jobs_detail = ("no job-runner container is running, so no job can run" if self.desired else
                                   f"no running container for the job runner ({self._jobs_label()}); start it "
                                   "(background_jobs state=started)")
                else:
                    jobs_ok, jobs_detail = worker_verdict(self._jobs_records(since), self.desired,
                                                          jobs["idle_event"], jobs["run_event"], jobs["event_key"])
            done = probe_ok and (jobs_ok is True or not self.jobs_required)
            if done or self.clock() >= deadline or (self.jobs_required and jobs_ok is False and not self._jobs_ids()):
                break
            self.sleep(p["poll_interval"])
        pr = self.em["probe"]
        path = relative_path(self.client.profile, pr["path"])
        evidence = {
            "verified": done,
            "seconds": round(self.clock() - started, 1),
            "probe": {"path": path, "answers": len(samples), "settled": probe_ok, "last": probe_detail,
                      "recent": [s for s, _b in samples[-pr["streak"]:]]},
            "worker": {"required": self.jobs_required, "ok": jobs_ok, "last": jobs_detail},
        }
        if not done:
            state = "on" if self.desired else "off"
            missing = []
            if not probe_ok:
                want = f"HTTP {pr['refused_status']} {pr['refused_code']}".strip() if self.desired \
                    else f"not HTTP {pr['refused_status']}"
                missing.append(f"the heavy-job probe {path} never answered {want} "
                               f"{self.probe.streak} times in a row ({probe_detail})")
            if self.jobs_required and jobs_ok is not True:
                want_event = jobs["idle_event"] if self.desired else jobs["run_event"]
                missing.append(f"the job runner never logged {want_event} ({jobs_detail})")
            raise OpsError(f"EXAM_MODE {state} via {self.mechanism} is not verified by effect after "
                           f"{p['verify_timeout']:g} s: " + "; ".join(missing) + ".", evidence=evidence)
        return evidence

    # ------------------------------------------------------------------ the whole run
    def run(self) -> dict:
        self.validate()
        self.connect()
        before = self.current()
        result: dict = {"mechanism": self.mechanism, "state": self.p["state"], "before": before}
        if self.mechanism == "env":
            containers = before.get("containers") or {}
            changed = before["enabled"] is not self.desired or any(v is not self.desired for v in containers.values())
        else:
            changed = before["enabled"] is not self.desired
        result["changed"] = changed
        result["diff"] = {"before": {"exam_mode": before["enabled"]}, "after": {"exam_mode": self.desired}}
        if self.mechanism == "env" and changed:
            # Only the managed variable's lines: the rest of an env file holds secrets.
            var = self.em["env"]["var"]
            old = self._env_state()["text"]
            new = _env_file.set_var(old, var, "true" if self.desired else "false")[0]
            result["diff"] = {"before": _env_file.lines_of(old, var), "after": _env_file.lines_of(new, var),
                              "before_header": f"{self.p['env']['file']} ({var})",
                              "after_header": f"{self.p['env']['file']} ({var})"}
        if self.check_mode:
            verb = "would set" if changed else "already"
            result["msg"] = f"{verb} EXAM_MODE {'on' if self.desired else 'off'} via {self.mechanism}"
            result["verified"] = None
            return result
        since = self.wall()
        if changed:
            result["applied"] = self.apply()
        else:
            # Nothing changed: judge the job runner on what it logged over the last few runs.
            since -= self.jobs["window"]
        if self.p["verify"]:
            result["evidence"] = self.verify(since)
            result["verified"] = True
        else:
            result["verified"] = None
        return result
