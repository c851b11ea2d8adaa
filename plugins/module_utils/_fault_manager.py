# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""examday.ops.fault: validate, record in the ledger, arm the watchdog, inject, hold, restore,
measure recovery. Everything external is injected (runner, clock, sleep, probe, db, redis, spawn),
so the order of operations is unit-testable."""
from __future__ import annotations

import math
import random
import subprocess

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli, _fault_plan as plan_mod
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._fault_ledger import (
    ACTIVE, Ledger, daemonize, iso, new_id, run_steps, watch)


def subprocess_runner(argv: list) -> tuple[int, str, str]:
    """What the watchdog uses once the module is gone (bounded: 120 s per command)."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, "", str(exc)


def wait_recovered(probe, clock, sleep, timeout: float, interval: float = 0.25) -> tuple[float | None, str]:
    """Polls probe() -> (healthy, detail) every `interval` s (at most 0.25) until healthy or timeout.
    Returns (seconds until healthy or None, last detail)."""
    interval = min(interval, 0.25)
    start = clock()
    detail = "not probed"
    while True:
        healthy, detail = probe()
        elapsed = clock() - start
        if healthy:
            return round(elapsed, 3), detail
        if elapsed >= timeout:
            return None, detail
        sleep(max(0.0, min(interval, timeout - elapsed)))


def pick_targets(containers: list[dict], pick: str, chooser=random.choice) -> list[dict]:
    containers = sorted(containers, key=lambda c: c["name"])
    if pick == "one":
        return containers[:1]
    if pick == "random":
        return [chooser(containers)] if containers else []
    return containers


class FaultManager:
    def __init__(self, params: dict, runner, clock, sleep, check_mode: bool = False, probe=None,
                 db=None, redis=None, spawn=daemonize, host_cpus: int = 1):
        self.p = params
        self.run = runner
        self.clock = clock
        self.sleep = sleep
        self.check_mode = check_mode
        self.probe = probe
        self.db = db            # db(fault, params, duration, grace, sleep) -> dict (in-process DB faults)
        self.redis = redis      # redis(fault, params, duration, sleep) -> dict
        self.spawn = spawn
        self.host_cpus = host_cpus
        self.ledger = Ledger(params["ledger_dir"])

    # ------------------------------------------------------------ targets
    def snapshot(self, targets: list[dict]) -> dict:
        """What the targets look like now (state, health, limits; no environment)."""
        if not targets:
            return {}
        rc, out, _err = self.run(["docker", "inspect", *[t["id"] for t in targets]])
        found = {}
        if rc == 0:
            for c in _docker_cli.parse_json_stream(out):
                s = _docker_cli.container_summary(c)
                found[s["name"]] = {k: s[k] for k in ("status", "running", "paused", "health", "restart_count", "started_at", "limits")}
        return {t["name"]: found.get(t["name"], {"status": "missing"}) for t in targets}

    def resolve_targets(self) -> list[dict]:
        fault = self.p["fault"]
        if plan_mod.kind_of(fault) in ("db", "redis"):
            return []
        target = self.p["target"] or {}
        if target.get("container"):
            rc, out, _err = self.run(["docker", "inspect", target["container"]])
            if rc != 0:
                raise OpsError(f"unknown container {target['container']}.")
            found = _docker_cli.parse_json_stream(out)
        else:
            services = target.get("services") or ([target["service"]] if target.get("service") else [])
            if not services:
                raise OpsError(f"fault {fault} needs target.container or target.service(s).")
            found = []
            for service in services:
                inspected = _docker_cli.inspect_containers(self.run, target["project"], service, all_states=False)
                if not inspected:
                    raise OpsError(f"no running container of service {service} in compose project {target['project']}.")
                found += pick_targets([_docker_cli.container_summary(c) | {"_raw": c} for c in inspected],
                                      target.get("pick") or "all")
            found = [c["_raw"] for c in found]
        targets = []
        for c in found:
            s = _docker_cli.container_summary(c)
            if not s["running"] and fault != "restart":
                raise OpsError(f"container {s['name']} is {s['status']}, not running, so fault {fault} cannot be injected.")
            targets.append({"id": c.get("Id"), "name": s["name"], "service": s["service"], "limits": s["limits"]})
        return targets

    def _peer_ips(self, peer: str) -> list[str]:
        rc, out, _err = self.run(["docker", "inspect", peer])
        if rc != 0:
            return []
        ips = []
        for c in _docker_cli.parse_json_stream(out):
            for net in ((c.get("NetworkSettings") or {}).get("Networks") or {}).values():
                if net.get("IPAddress"):
                    ips.append(net["IPAddress"])
        return ips

    # ------------------------------------------------------------ plan
    def build_plan(self, fault_id: str, params: dict, targets: list[dict]) -> dict:
        fault = self.p["fault"]
        kind = plan_mod.kind_of(fault)
        if kind == "container":
            return plan_mod.container_plan(fault, params, targets, self.host_cpus)
        if kind == "network":
            image = self.p.get("net_tool_image")
            if not image:
                raise OpsError(f"fault {fault} needs net_tool_image, an image with iproute2 and iptables.")
            if fault == "delay":
                rc, out, err = self.run(plan_mod.netem_probe_argv(image))
                if rc != 0:
                    text = (err or out).strip()
                    if "unknown" in text.lower() or "no such file" in text.lower():
                        raise OpsError("this host's kernel has no netem queueing discipline (sch_netem), so delay and jitter "
                                       "cannot be injected; nothing was changed (loss and bandwidth faults work without it).")
                    raise OpsError(f"cannot test for netem with image {image}: {text.splitlines()[-1] if text else f'rc {rc}'}.")
            peers = plan_mod.peer_addresses(params.get("peer"), self._peer_ips) if fault == "partition" else []
            return plan_mod.network_plan(fault, params, targets, fault_id, image, peers)
        return {"apply": [], "undo": []}

    def _check_overlap(self, targets: list[dict]) -> None:
        names = {t["name"] for t in targets}
        for entry in self.ledger.active():
            busy = names & {t["name"] for t in entry.get("targets", [])}
            if busy or (not targets and not entry.get("targets") and entry.get("kind") == plan_mod.kind_of(self.p["fault"])):
                raise OpsError(f"fault {entry['name']} ({entry['id']}) is still active on "
                               f"{', '.join(sorted(busy)) or entry.get('kind')}; restore it first (state=restored).")

    # ------------------------------------------------------------ inject
    def inject(self) -> dict:
        p = self.p
        fault = p["fault"]
        kind = plan_mod.kind_of(fault)
        params = plan_mod.validate(fault, p["params"] or {}, p["duration"], p["wait"])
        targets = self.resolve_targets()
        label = p["name"] or f"{fault} {', '.join(t['name'] for t in targets) or kind}"
        now = self.clock()
        fault_id = new_id(now)
        plan = self.build_plan(fault_id, params, targets)
        result = {"name": label, "fault": fault, "targets": [t["name"] for t in targets], "duration_s": p["duration"],
                  "planned": plan_mod.describe(plan) or [f"{fault} ({kind}, held by the module)"]}
        if self.check_mode:
            self.ledger_for_check(targets)
            return {"changed": True, **result, "msg": f"would inject {label} for {p['duration']:g} s"}
        self._check_overlap(targets)
        before = self.snapshot(targets)
        instant = fault in plan_mod.INSTANT_FAULTS
        # The deadline covers applying too (a stop of N replicas, a first pull of the tool image);
        # it is moved to injected + duration once the fault is in place.
        deadline = now + p["duration"] + 60 * max(1, len(targets)) + 5
        entry = {"id": fault_id, "name": label, "fault": fault, "kind": kind, "status": ACTIVE,
                 "targets": [{"id": t["id"], "name": t["name"]} for t in targets],
                 "params": {k: v for k, v in params.items() if "password" not in k},
                 "undo": plan["undo"], "injected_at": now, "deadline": deadline, "grace": p["grace"],
                 "self_limiting": kind in ("db", "redis"), "prior": before}
        with self.ledger.locked():
            self.ledger.write(entry)
        pid = self.spawn(lambda: watch(Ledger(p["ledger_dir"]), fault_id, subprocess_runner))
        self.ledger.update(fault_id, watchdog_pid=pid)
        injected_at = self.clock()  # the fault window starts as the fault starts (a stop's shutdown is in it)
        details, recovery, detail = {}, None, "not measured"
        try:
            if kind in ("container", "network"):
                # Applied under the ledger lock: the watchdog cannot undo a half-applied fault, and
                # whatever it does afterwards sees the fault as it really is.
                with self.ledger.locked():
                    details = self._apply(fault, kind, params, plan, targets)
                    applied_at = self.clock()
                    entry = self.ledger.read(fault_id)
                    if entry.get("status") == ACTIVE:
                        entry["deadline"] = applied_at + p["duration"] + (30 if instant else 5)
                        self.ledger.write(entry)
            else:
                applied_at = injected_at
                details = self._apply(fault, kind, params, plan, targets)
        except OpsError as exc:
            restored = self.ledger.restore(fault_id, self.run, "module (injection failed)", self.clock)
            raise OpsError(f"{exc.msg[:-1] if exc.msg.endswith('.') else exc.msg}; the fault was "
                           + ("undone." if restored.get("status") != ACTIVE else f"NOT fully undone: {restored.get('last_error')}.")) from None
        if not p["wait"]:
            deadline = self.ledger.read(fault_id)["deadline"]
            return {"changed": True, **result, "ledger_id": fault_id, "injected_at": iso(injected_at), "restored": False,
                    "deadline": iso(deadline), "before": before, "details": details,
                    "msg": f"injected {label}; the host restores it at {iso(deadline + p['grace'])} unless restored earlier"}
        if instant and kind == "container":
            # A restart is over when it returns: recovery is timed from there, within the observation.
            recovery, detail = self._recovery()
        if kind in ("container", "network"):  # held (a restart: observed) for its duration
            self.sleep(max(0.0, applied_at + p["duration"] - self.clock()))
        entry = self.ledger.restore(fault_id, self.run, "module", self.clock)
        restored_at = entry.get("restored_at") or self.clock()
        if not (instant and kind == "container"):
            recovery, detail = self._recovery()
        targets_healthy = self._wait_containers_healthy(targets) if targets else None
        after = self.snapshot(targets)
        # A fault's end, for what students see afterwards: an instant fault (a restart) ends when it
        # is done, a held one when it is undone.
        out = {"changed": True, **result, "ledger_id": fault_id, "injected_at": iso(injected_at),
               "applied_at": iso(applied_at), "restored_at": iso(restored_at),
               "instant": bool(instant and kind == "container"),
               "ended_at": iso(applied_at if instant and kind == "container" else restored_at),
               "restored": entry.get("status") != ACTIVE, "undo": entry.get("undo_results", []),
               "recovery_seconds": recovery, "recovered": recovery is not None if self.probe else None,
               "recovery_detail": detail, "targets_healthy_after_s": targets_healthy,
               "before": before, "after": after, "details": details}
        if entry.get("status") == ACTIVE:
            raise OpsError(f"fault {label} could not be undone: {entry.get('last_error')}; it stays in the ledger "
                           f"and the host retries at {iso(entry['deadline'] + p['grace'])}.", **out)
        out["msg"] = (f"{label}: injected {out['injected_at']}, restored {out['restored_at']}, "
                      + (f"healthy again after {recovery:.2f} s" if recovery is not None else
                         ("NOT healthy again within the recovery timeout" if self.probe else "recovery not measured")))
        return out

    def ledger_for_check(self, targets: list[dict]) -> None:
        """Check mode still refuses what the real run would refuse."""
        if self.ledger.entries():
            self._check_overlap(targets)

    def _apply(self, fault: str, kind: str, params: dict, plan: dict, targets: list[dict]) -> dict:
        if kind == "db":
            return self.db(fault, params, self.p["duration"], self.p["grace"], self.sleep)
        if kind == "redis":
            return self.redis(fault, params, self.p["duration"], self.sleep)
        if fault == "restart" and len({t["service"] for t in targets}) > 1:
            return self._ordered_restart(plan, targets)
        results = run_steps(plan["apply"], self.run)
        bad = [r for r in results if not r["ok"]]
        if bad:
            raise OpsError(f"{bad[0]['what']} failed: {bad[0]['note'] or 'rc ' + str(bad[0]['rc'])}.")
        return {"applied": [r["what"] for r in results]}

    def _ordered_restart(self, plan: dict, targets: list[dict]) -> dict:
        """The recovery drill: services restarted in the given order (infrastructure first), each
        one's containers healthy again before the next service is touched."""
        order = []
        for t in targets:
            if t["service"] not in order:
                order.append(t["service"])
        timings = []
        for service in order:
            steps = [s for s, t in zip(plan["apply"], targets) if t["service"] == service]
            started = self.clock()
            results = run_steps(steps, self.run)
            bad = [r for r in results if not r["ok"]]
            if bad:
                raise OpsError(f"{bad[0]['what']} failed: {bad[0]['note']}.")
            group = [t for t in targets if t["service"] == service]
            healthy_after = self._wait_containers_healthy(group)
            timings.append({"service": service, "healthy_after_s": healthy_after, "restart_s": round(self.clock() - started, 3)})
            if healthy_after is None:
                raise OpsError(f"service {service} was not healthy within {self.p['recovery_timeout']:g} s after its restart, "
                               "so the later services were not restarted.")
        return {"order": order, "services": timings}

    def _wait_containers_healthy(self, group: list[dict]) -> float | None:
        def probe():
            snap = self.snapshot(group)
            bad = [n for n, s in snap.items() if not s.get("running") or s.get("health") not in (None, "healthy")]
            return not bad, ", ".join(bad)
        seconds, _detail = wait_recovered(probe, self.clock, self.sleep, self.p["recovery_timeout"], 0.25)
        return seconds

    def _recovery(self) -> tuple[float | None, str]:
        if not self.probe:
            return None, "no api_url given"
        return wait_recovered(self.probe, self.clock, self.sleep, self.p["recovery_timeout"], self.p["recovery_interval"])

    # ------------------------------------------------------------ restore / list
    def restore_all(self) -> dict:
        entries = [e for e in self.ledger.active() if not self.p["name"] or e["name"] == self.p["name"]]
        if self.check_mode:
            return {"changed": bool(entries), "restored": [e["name"] for e in entries],
                    "msg": f"would restore {len(entries)} active fault(s)"}
        done, failed = [], []
        for e in entries:
            after = self.ledger.restore(e["id"], self.run, "state=restored", self.clock)
            (failed if after.get("status") == ACTIVE else done).append(after)
        recovery, detail = self._recovery() if entries else (None, "nothing was restored")
        out = {"changed": bool(done), "restored": [e["name"] for e in done], "restored_ids": [e["id"] for e in done],
               "recovery_seconds": recovery, "recovery_detail": detail}
        if failed:
            raise OpsError(f"{len(failed)} fault(s) could not be undone: "
                           + "; ".join(f"{e['name']}: {e.get('last_error')}" for e in failed) + ".", **out)
        out["msg"] = f"restored {len(done)} active fault(s)" if done else "no active fault in the ledger"
        return out

    def listed(self) -> dict:
        active = self.ledger.active()
        summary = [{"id": e["id"], "name": e["name"], "fault": e["fault"], "targets": [t["name"] for t in e.get("targets", [])],
                    "injected_at": iso(e["injected_at"]), "deadline": iso(e["deadline"]), "last_error": e.get("last_error")}
                   for e in active]
        if active and self.p["fail_if_active"]:
            raise OpsError(f"{len(active)} fault(s) are still active on this host ({', '.join(e['name'] for e in active)}); "
                           "restore them first with examday.ops.fault state=restored.", active=summary)
        return {"changed": False, "active": summary,
                "msg": f"{len(active)} active fault(s)" if active else "no active fault in the ledger"}

    def run_state(self) -> dict:
        state = self.p["state"]
        if state == "injected":
            return self.inject()
        if state == "restored":
            return self.restore_all()
        return self.listed()


def connections_to_occupy(pct: float, max_connections: int, reserved: int, current: int) -> int:
    """Connections to open so that pct % of max_connections are in use, never taking the slots
    reserved for superusers nor the last free one (an operator must still be able to get in)."""
    wanted = math.ceil(max_connections * pct / 100.0) - current
    ceiling = max_connections - reserved - current - 1
    return max(0, min(wanted, ceiling))
