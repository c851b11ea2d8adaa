# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a fault does and how it is undone, as data: validation and the command plans.

A plan is {"apply": [step], "undo": [step]}; a step is {"argv": [...], "what": "...", "tolerate":
[stderr fragments meaning "already undone"]}. Undo steps are written to the fault ledger on the
target host, so the host-side watchdog can run them without the controller. Database and Redis
faults are held in-process by the module and are bounded server-side (pg_sleep, idle timeouts,
CLIENT PAUSE's own timeout), so they end by themselves even if everything else dies."""
from __future__ import annotations

import hashlib
import ipaddress
import re
import shlex

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError

CONTAINER_FAULTS = ("stop", "restart", "kill", "pause", "cpu")
NETWORK_FAULTS = ("partition", "loss", "bandwidth", "delay")
DB_FAULTS = ("db_terminate", "db_lock", "db_connections")
REDIS_FAULTS = ("redis_pause",)
FAULTS = CONTAINER_FAULTS + NETWORK_FAULTS + DB_FAULTS + REDIS_FAULTS

# Faults that happen at once: `duration` is how long they are observed afterwards (a restart) or
# repeated (db_terminate, every params.every seconds), so the fault window holds traffic.
INSTANT_FAULTS = ("restart", "db_terminate")

SIGNALS = ("SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
LOCK_MODES = ("ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE",
              "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE")
RATE_RE = re.compile(r"^[0-9]+(\.[0-9]+)?(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$")
GONE = ("No such container", "is not running")


def kind_of(fault: str) -> str:
    for kind, names in (("container", CONTAINER_FAULTS), ("network", NETWORK_FAULTS), ("db", DB_FAULTS),
                        ("redis", REDIS_FAULTS)):
        if fault in names:
            return kind
    raise OpsError(f"unknown fault {fault!r}; choose one of {', '.join(FAULTS)}.")


def _number(params: dict, key: str, low: float, high: float, fault: str, required: bool = True):
    value = params.get(key)
    if value is None:
        if required:
            raise OpsError(f"fault {fault} needs params.{key}.")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OpsError(f"params.{key} of fault {fault} must be a number, not {value!r}.") from None
    if not low <= number <= high:
        raise OpsError(f"params.{key} of fault {fault} must be between {low:g} and {high:g}, not {value!r}.")
    return number


def validate(fault: str, params: dict, duration: float, wait: bool) -> dict:
    """Checks a fault's parameters before anything is touched; returns them normalised."""
    kind = kind_of(fault)
    low = 0 if fault in INSTANT_FAULTS else 1  # an instantaneous fault's duration is the time it is observed
    if not low <= duration <= 3600:
        raise OpsError(f"duration of fault {fault} must be between {low} and 3600 seconds, not {duration!r}.")
    if kind in ("db", "redis") and not wait:
        raise OpsError(f"fault {fault} is held by the module for its duration, so it needs wait=true.")
    out = dict(params)
    if fault == "kill":
        sig = str(params.get("signal") or "SIGKILL").upper()
        sig = sig if sig.startswith("SIG") else "SIG" + sig
        if sig not in SIGNALS:
            raise OpsError(f"params.signal must be one of {', '.join(SIGNALS)}, not {params.get('signal')!r}.")
        out["signal"] = sig
    elif fault == "restart":
        out["stop_timeout"] = int(_number(params, "stop_timeout", 0, 300, fault, required=False) or 10)
    elif fault == "stop":
        out["stop_timeout"] = int(_number(params, "stop_timeout", 0, 300, fault, required=False) or 10)
    elif fault == "cpu":
        out["cpus"] = _number(params, "cpus", 0.01, 1024, fault)
    elif fault == "partition":
        if not params.get("peer") and not params.get("port"):
            raise OpsError("fault partition needs params.peer (a container or an address) or params.port.")
        if params.get("port") is not None:
            out["port"] = int(_number(params, "port", 1, 65535, fault))
    elif fault == "loss":
        out["loss_pct"] = _number(params, "loss_pct", 0.1, 100, fault)
    elif fault == "bandwidth":
        rate = str(params.get("rate") or "").lower()
        if not RATE_RE.match(rate):
            raise OpsError(f"params.rate of fault bandwidth must look like 1mbit or 512kbit, not {params.get('rate')!r}.")
        out["rate"] = rate
    elif fault == "delay":
        out["delay_ms"] = int(_number(params, "delay_ms", 1, 60000, fault))
        out["jitter_ms"] = int(_number(params, "jitter_ms", 0, 60000, fault, required=False) or 0)
    elif fault == "db_lock":
        table = str(params.get("table") or "")
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$", table):
            raise OpsError(f"fault db_lock needs params.table, a table name, not {params.get('table')!r}.")
        mode = str(params.get("mode") or "EXCLUSIVE").upper()
        if mode not in LOCK_MODES:
            raise OpsError(f"params.mode of fault db_lock must be one of {', '.join(LOCK_MODES)}, not {params.get('mode')!r}.")
        out.update(table=table, mode=mode)
    elif fault == "db_connections":
        out["connections_pct"] = _number(params, "connections_pct", 1, 100, fault)
    elif fault == "db_terminate":
        pattern = params.get("application_name") or ".*"
        try:
            re.compile(pattern)
        except re.error:
            raise OpsError(f"params.application_name of fault db_terminate is not a valid regular expression: {pattern!r}.") from None
        out["application_name"] = pattern
        out["every"] = _number(params, "every", 0.5, 3600, fault, required=False) or 2.0
    elif fault == "redis_pause":
        mode = str(params.get("mode") or "ALL").upper()
        if mode not in ("ALL", "WRITE"):
            raise OpsError(f"params.mode of fault redis_pause must be ALL or WRITE, not {params.get('mode')!r}.")
        out["mode"] = mode
    return out


def step(argv: list, what: str, tolerate: tuple = ()) -> dict:
    return {"argv": [str(a) for a in argv], "what": what, "tolerate": list(tolerate)}


def container_plan(fault: str, params: dict, targets: list[dict], host_cpus: int) -> dict:
    """Plans for faults on containers. targets: container summaries (id, name, limits)."""
    apply, undo = [], []
    for t in targets:
        cid, name = t["id"], t["name"]
        if fault == "stop":
            apply.append(step(["docker", "stop", "-t", params["stop_timeout"], cid], f"stop {name}"))
            undo.append(step(["docker", "start", cid], f"start {name}"))
        elif fault == "restart":
            apply.append(step(["docker", "restart", "-t", params["stop_timeout"], cid], f"restart {name}"))
            undo.append(step(["docker", "start", cid], f"make sure {name} runs"))
        elif fault == "kill":
            apply.append(step(["docker", "kill", "--signal", params["signal"], cid], f"kill {name} with {params['signal']}",
                              tolerate=("is not running",)))
            undo.append(step(["docker", "start", cid], f"start {name}"))
        elif fault == "pause":
            apply.append(step(["docker", "pause", cid], f"pause {name}"))
            undo.append(step(["docker", "unpause", cid], f"unpause {name}", tolerate=("is not paused",)))
        elif fault == "cpu":
            prior = (t.get("limits") or {}).get("nano_cpus") or 0
            apply.append(step(["docker", "update", "--cpus", f"{params['cpus']:g}", cid], f"throttle {name} to {params['cpus']:g} CPUs"))
            restore = f"{prior / 1e9:g}" if prior else str(host_cpus)
            undo.append(step(["docker", "update", "--cpus", restore, cid],
                             f"give {name} back {restore} CPUs" + ("" if prior else " (it had no limit; Docker cannot remove one)")))
    for s in undo:
        s["tolerate"] = sorted(set(s["tolerate"]) | {"No such container"})
    return {"apply": apply, "undo": undo}


def chain_names(fault_id: str) -> tuple[str, str]:
    """Chains of this fault only (a hash of its whole id, so two faults never share one)."""
    short = hashlib.sha256(fault_id.encode()).hexdigest()[:10]
    return f"EXD-{short}-I", f"EXD-{short}-O"


def _peer_rules(params: dict, peer_ips: list[str]) -> tuple[list[str], list[str]]:
    """iptables match fragments for the inbound and outbound chains of a partition."""
    inbound, outbound = [], []
    port = params.get("port")
    if peer_ips:
        for ip in peer_ips:
            inbound.append(f"-s {ip}" + (f" -p tcp --sport {port}" if port else ""))
            outbound.append(f"-d {ip}" + (f" -p tcp --dport {port}" if port else ""))
    elif port:
        inbound += [f"-p tcp --sport {port}", f"-p tcp --dport {port}"]
        outbound += [f"-p tcp --dport {port}", f"-p tcp --sport {port}"]
    return inbound, outbound


def network_scripts(fault: str, params: dict, fault_id: str, peer_ips: list[str]) -> tuple[str, str]:
    """Shell scripts run inside the target's network namespace (a helper container that joins
    it with NET_ADMIN): (apply, undo). The undo script is idempotent and verifies its result."""
    cin, cout = chain_names(fault_id)
    ifaces = "$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -v '^lo$')"
    if fault in ("partition", "loss"):
        if fault == "partition":
            rin, rout = _peer_rules(params, peer_ips)
        else:
            prob = f"{params['loss_pct'] / 100:.4f}"
            rin = [f"! -i lo -m statistic --mode random --probability {prob}"]
            rout = [f"! -o lo -m statistic --mode random --probability {prob}"]
        lines = ["set -e", f"iptables -N {cin}", f"iptables -N {cout}"]
        lines += [f"iptables -A {cin} {r} -j DROP" for r in rin]
        lines += [f"iptables -A {cout} {r} -j DROP" for r in rout]
        lines += [f"iptables -I INPUT 1 -j {cin}", f"iptables -I OUTPUT 1 -j {cout}"]
        undo = [f"while iptables -D INPUT -j {cin} 2>/dev/null; do :; done",
                f"while iptables -D OUTPUT -j {cout} 2>/dev/null; do :; done",
                f"iptables -F {cin} 2>/dev/null || true", f"iptables -X {cin} 2>/dev/null || true",
                f"iptables -F {cout} 2>/dev/null || true", f"iptables -X {cout} 2>/dev/null || true",
                f"if iptables -S | grep -q -- 'EXD-{cin[4:-2]}'; then echo 'rules still present' >&2; exit 1; fi"]
        return "\n".join(lines), "\n".join(undo)
    if fault == "bandwidth":
        qdisc = f"tbf rate {params['rate']} burst 32kbit latency 400ms"
    else:
        qdisc = f"netem delay {params['delay_ms']}ms" + (f" {params['jitter_ms']}ms distribution normal" if params["jitter_ms"] else "")
    kind = qdisc.split()[0]
    apply = ["set -e", f"for i in {ifaces}; do",
             "  if tc qdisc show dev $i root | grep -qE '(tbf|netem)'; then echo \"$i already has a tbf/netem qdisc\" >&2; exit 3; fi",
             "done", f"for i in {ifaces}; do tc qdisc add dev $i root {qdisc}; done"]
    undo = [f"for i in {ifaces}; do",
            f"  if tc qdisc show dev $i root | grep -q '{kind}'; then tc qdisc del dev $i root; fi", "done",
            f"for i in {ifaces}; do if tc qdisc show dev $i root | grep -q '{kind}'; then echo \"$i still has {kind}\" >&2; exit 1; fi; done"]
    return "\n".join(apply), "\n".join(undo)


def netns_argv(target_id: str, image: str, script: str) -> list[str]:
    """A short-lived helper container in the target's network namespace, with NET_ADMIN only."""
    return ["docker", "run", "--rm", "--network", f"container:{target_id}", "--cap-drop", "ALL",
            "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW", "--label", "examday.ops.fault-helper=true",
            "--entrypoint", "sh", image, "-c", script]


def netem_probe_argv(image: str) -> list[str]:
    """Tries netem in a throwaway namespace of its own: touches nothing else."""
    return ["docker", "run", "--rm", "--network", "none", "--cap-drop", "ALL", "--cap-add", "NET_ADMIN",
            "--entrypoint", "sh", image, "-c", "tc qdisc add dev lo root netem delay 1ms && tc qdisc del dev lo root"]


def network_plan(fault: str, params: dict, targets: list[dict], fault_id: str, image: str, peer_ips: list[str]) -> dict:
    apply_script, undo_script = network_scripts(fault, params, fault_id, peer_ips)
    apply, undo = [], []
    for t in targets:
        apply.append(step(netns_argv(t["id"], image, apply_script), f"{fault} on {t['name']}"))
        undo.append(step(netns_argv(t["id"], image, undo_script), f"remove {fault} from {t['name']}",
                         tolerate=("No such container", "is not running", "cannot join network")))
    return {"apply": apply, "undo": undo}


def peer_addresses(peer: str | None, resolve) -> list[str]:
    """A peer given as an address/CIDR is used as is; otherwise it names a container, resolved by
    resolve(name) -> [ip...]."""
    if not peer:
        return []
    try:
        return [str(ipaddress.ip_network(peer, strict=False))]
    except ValueError:
        pass
    ips = resolve(peer)
    if not ips:
        raise OpsError(f"the partition peer {peer} is neither an address nor a container with an address.")
    return ips


def describe(plan: dict) -> list[str]:
    return [s["what"] for s in plan["apply"]]


def printable(argv: list) -> str:
    """A command line for logs (scripts shortened)."""
    return " ".join(shlex.quote(a) if len(a) < 80 else "'<script>'" for a in argv)
