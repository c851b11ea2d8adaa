# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Background jobs off for the exam and on again after: job containers (by compose service) are
stopped or paused, job processes inside other containers (by pattern) get SIGSTOP, and a state
file remembers exactly what was done so that "started" undoes that and nothing else."""
from __future__ import annotations

import re

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, run_checked


def parse_top(output: str) -> list[dict]:
    """`docker top <id> -eo pid,args` output (a header line, then PID and the command line)."""
    rows = []
    for line in output.splitlines()[1:]:
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and parts[0].isdigit():
            rows.append({"pid": int(parts[0]), "args": parts[1]})
    return rows


def match_processes(rows: list[dict], patterns: list[str]) -> list[dict]:
    compiled = [re.compile(p) for p in patterns]
    return [dict(r, pattern=rx.pattern) for r in rows for rx in compiled if rx.search(r["args"])][:1000]


def proc_stat(text: str) -> dict:
    """State letter and start time (clock ticks since boot) from /proc/<pid>/stat."""
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    rest = text[text.rindex(")") + 2:].split()
    return {"state": rest[0], "starttime": int(rest[19])}


def plan(want_stopped: bool, containers: list[dict], processes: list[dict], container_action: str,
         ledger: dict | None) -> list[dict]:
    """The actions that bring jobs to the wanted state. containers: summaries (id, name, running,
    paused); processes: matched rows with host pid, starttime and state."""
    actions: list[dict] = []
    if want_stopped:
        for c in containers:
            if container_action == "pause" and c["running"] and not c["paused"]:
                actions.append({"action": "pause", "id": c["id"], "name": c["name"]})
            elif container_action == "stop" and c["running"]:
                actions.append({"action": "stop", "id": c["id"], "name": c["name"]})
        for p in processes:
            if p.get("state") != "T":
                actions.append({"action": "sigstop", "pid": p["pid"], "starttime": p["starttime"],
                                "args": p["args"], "container": p["container"]})
        return actions
    ledger = ledger or {}
    by_id = {c["id"]: c for c in containers}
    for entry in ledger.get("containers", []):
        c = by_id.get(entry["id"])
        if c is None:
            continue
        if entry["action"] == "pause" and c["paused"]:
            actions.append({"action": "unpause", "id": c["id"], "name": c["name"]})
        elif entry["action"] == "stop" and not c["running"]:
            actions.append({"action": "start", "id": c["id"], "name": c["name"]})
    if not ledger:
        # Nothing recorded (first run, or the ledger was lost): bring the job containers back.
        for c in containers:
            if c["paused"]:
                actions.append({"action": "unpause", "id": c["id"], "name": c["name"]})
            elif not c["running"]:
                actions.append({"action": "start", "id": c["id"], "name": c["name"]})
    live = {(p["pid"], p["starttime"]): p for p in processes}
    for entry in ledger.get("processes", []):
        p = live.get((entry["pid"], entry["starttime"]))
        if p is not None and p.get("state") == "T":
            actions.append({"action": "sigcont", "pid": p["pid"], "starttime": p["starttime"], "args": p["args"],
                            "container": p["container"]})
    return actions


def ledger_after(ledger: dict | None, done: list[dict], want_stopped: bool) -> dict:
    """The state file's content after the actions: what examday stopped and must undo."""
    if not want_stopped:
        return {"containers": [], "processes": []}
    ledger = {"containers": list((ledger or {}).get("containers", [])),
              "processes": list((ledger or {}).get("processes", []))}
    known = {c["id"] for c in ledger["containers"]}
    for a in done:
        if a["action"] in ("stop", "pause") and a["id"] not in known:
            ledger["containers"].append({"id": a["id"], "name": a["name"], "action": a["action"]})
        elif a["action"] == "sigstop":
            ledger["processes"].append({k: a[k] for k in ("pid", "starttime", "args", "container")})
    return ledger


class BackgroundJobsManager:
    """Discovers, plans and acts. Collaborators: runner(argv) -> (rc, out, err); read_stat(pid) ->
    /proc/<pid>/stat text or None; send_signal(pid, name); load_ledger() / save_ledger(dict)."""

    def __init__(self, params: dict, check_mode: bool, runner, read_stat, send_signal, load_ledger, save_ledger):
        self.p = params
        self.check_mode = check_mode
        self.runner = runner
        self.read_stat = read_stat
        self.send_signal = send_signal
        self.load_ledger = load_ledger
        self.save_ledger = save_ledger

    def _run(self, argv: list, what: str) -> str:
        return run_checked(self.runner, argv, what)

    def _service_containers(self, service: str) -> list[dict]:
        return [_docker_cli.container_summary(c)
                for c in _docker_cli.inspect_containers(self.runner, self.p["compose_project"], service)]

    def discover(self) -> dict:
        jobs, scanned, processes = [], [], []
        for service in self.p["services"]:
            found = self._service_containers(service)
            if not found:
                raise OpsError(f"no container of service {service} in compose project "
                               f"{self.p['compose_project']}; check services and compose_project.")
            jobs += found
        for service in self.p["scan_services"]:
            found = self._service_containers(service)
            if not found:
                raise OpsError(f"no container of service {service} to scan in compose project "
                               f"{self.p['compose_project']}.")
            for c in found:
                if not c["running"]:
                    continue
                scanned.append(c["name"])
                rows = parse_top(self._run(["docker", "top", c["id"], "-eo", "pid,args"], f"docker top {c['name']}"))
                for row in match_processes(rows, self.p["process_patterns"]):
                    stat = self.read_stat(row["pid"])
                    if stat is None:
                        continue
                    processes.append(dict(row, container=c["name"], **proc_stat(stat)))
        return {"containers": jobs, "scanned": scanned, "processes": processes}

    def _act(self, a: dict) -> None:
        if a["action"] in ("stop", "start", "pause", "unpause"):
            argv = ["docker", a["action"], a["id"]]
            if a["action"] == "stop":
                argv[2:2] = ["--time", str(self.p["stop_timeout"])]
            self._run(argv, f"docker {a['action']} {a['name']}")
            return
        stat = self.read_stat(a["pid"])
        # The same process (pid and start time), never a recycled pid.
        if stat is not None and proc_stat(stat)["starttime"] == a["starttime"]:
            self.send_signal(a["pid"], "SIGSTOP" if a["action"] == "sigstop" else "SIGCONT")

    def run(self) -> dict:
        for pattern in self.p["process_patterns"]:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise OpsError(f"process pattern {pattern!r} is not a valid regular expression ({exc}).") from None
        want_stopped = self.p["state"] == "stopped"
        before = self.discover()
        ledger = self.load_ledger()
        actions = plan(want_stopped, before["containers"], before["processes"], self.p["container_action"], ledger)
        result = {"changed": bool(actions), "actions": actions, "found": before}
        if self.check_mode or not actions:
            return result
        for a in actions:
            self._act(a)
        self.save_ledger(ledger_after(ledger, actions, want_stopped))
        result["after"] = self.discover()
        return result
