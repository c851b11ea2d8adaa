# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker and docker compose CLIs: argument lists to run, and parsers of what they print.
Modules run these through module.run_command (no Docker SDK needed on the target)."""
from __future__ import annotations

import json
import re
from typing import Iterable, Iterator

from ansible_collections.examday.ops.plugins.module_utils._common import run_checked

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


def compose_argv(project: str, files: list[str], project_dir: str | None = None,
                 env_files: list[str] | None = None, docker: str = "docker") -> list[str]:
    argv = [docker, "compose", "--project-name", project]
    for f in files:
        argv += ["--file", f]
    if project_dir:
        argv += ["--project-directory", project_dir]
    for e in env_files or []:
        argv += ["--env-file", e]
    return argv


def parse_json_stream(output: str) -> list[dict]:
    """`compose ps --format json` printed one array before Compose 2.21 and one object per line
    since; `docker inspect` prints an array. Accepts all of them."""
    text = output.strip()
    if not text:
        return []
    if text.startswith("["):
        data = json.loads(text)
        return data if isinstance(data, list) else [data]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def ps_filter_argv(project: str, service: str | None = None, all_states: bool = True,
                   docker: str = "docker") -> list[str]:
    argv = [docker, "ps", "--no-trunc", "--format", "{{.ID}}", "--filter", f"label={PROJECT_LABEL}={project}"]
    if service:
        argv += ["--filter", f"label={SERVICE_LABEL}={service}"]
    if all_states:
        argv.insert(2, "--all")
    return argv


def container_ids(runner, project: str, service: str | None = None, all_states: bool = True) -> list[str]:
    """Ids of a compose project's (or one service's) containers, through runner(argv) -> (rc, out, err)."""
    what = f"service {service}" if service else f"project {project}"
    out = run_checked(runner, ps_filter_argv(project, service, all_states), f"listing the containers of {what}")
    return [line.strip() for line in out.splitlines() if line.strip()]


def inspect_containers(runner, project: str, service: str | None = None, all_states: bool = True) -> list[dict]:
    """`docker inspect` of those containers (empty when there are none)."""
    ids = container_ids(runner, project, service, all_states)
    return parse_json_stream(run_checked(runner, ["docker", "inspect", *ids], "docker inspect")) if ids else []


def container_env(inspect: dict) -> dict[str, str]:
    env = (inspect.get("Config") or {}).get("Env") or []
    return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)


def container_summary(inspect: dict) -> dict:
    """What a report may show of a container (no environment: it holds secrets)."""
    state = inspect.get("State") or {}
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    host = inspect.get("HostConfig") or {}
    return {
        "id": inspect.get("Id", "")[:12],
        "name": inspect.get("Name", "").lstrip("/"),
        "service": labels.get(SERVICE_LABEL),
        "project": labels.get(PROJECT_LABEL),
        "status": state.get("Status"),
        "running": bool(state.get("Running")),
        "paused": bool(state.get("Paused")),
        "health": (state.get("Health") or {}).get("Status"),
        "restart_count": inspect.get("RestartCount", 0),
        "started_at": state.get("StartedAt"),
        "limits": {"nano_cpus": host.get("NanoCpus") or 0, "memory_bytes": host.get("Memory") or 0},
    }


def container_ip(inspect: dict, network: str | None = None) -> str | None:
    networks = ((inspect.get("NetworkSettings") or {}).get("Networks") or {})
    if network:
        return (networks.get(network) or {}).get("IPAddress") or None
    for name in sorted(networks):
        ip = networks[name].get("IPAddress")
        if ip:
            return ip
    return None


def logs_argv(container: str, since: str | None = None, until: str | None = None, timestamps: bool = False,
              docker: str = "docker") -> list[str]:
    """`docker logs` of one container, optionally over a window (RFC 3339 or Unix timestamps)."""
    argv = [docker, "logs"]
    if timestamps:
        argv.append("--timestamps")
    if since:
        argv += ["--since", since]
    if until:
        argv += ["--until", until]
    return argv + [container]


def split_timestamp(line: str) -> tuple[str | None, str]:
    """A `docker logs --timestamps` line as (RFC 3339 timestamp, the rest); (None, line) without one."""
    if len(line) > 20 and line[4:5] == "-" and line[10:11] == "T":
        stamp, sep, rest = line.partition(" ")
        if sep:
            return stamp, rest
    return None, line


def iter_json_log_records(lines: Iterable[str], ts_key: str | None = None) -> Iterator[dict]:
    """JSON-lines log records, one at a time; other lines (plain text, partial lines) are skipped.
    With ts_key, each line starts with a `docker logs --timestamps` stamp, stored under that key."""
    for line in lines:
        stamp = None
        if ts_key:
            stamp, line = split_timestamp(line)
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            if ts_key:
                record[ts_key] = stamp
            yield record


def json_log_records(text: str, ts_key: str | None = None) -> list[dict]:
    """JSON-lines log records of a whole text (see iter_json_log_records)."""
    return list(iter_json_log_records(text.splitlines(), ts_key))


def stats_argv(containers: list[str], docker: str = "docker") -> list[str]:
    """One `docker stats` snapshot of the given containers, one JSON object per line."""
    return [docker, "stats", "--no-stream", "--no-trunc", "--format", "{{json .}}", *containers]


_SIZE = re.compile(r"^\s*([0-9.]+)\s*([KMGT]?i?B)\s*$", re.I)
_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3,
          "tib": 1024 ** 4}


def size_bytes(text: str) -> int | None:
    m = _SIZE.match(text or "")
    if not m:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _percent(text) -> float | None:
    try:
        return float(str(text or "").strip().rstrip("%"))
    except ValueError:
        return None


def parse_stats(records: list[dict]) -> list[dict]:
    """`docker stats --no-stream --format '{{json .}}'` records as numbers (None where docker printed
    no number, e.g. `--` for a container that is stopping)."""
    out = []
    for r in records:
        used, _sep, limit = (r.get("MemUsage") or "").partition("/")
        out.append({
            "name": r.get("Name"),
            "cpu_pct": _percent(r.get("CPUPerc")),
            "mem_bytes": size_bytes(used),
            "mem_limit_bytes": size_bytes(limit),
            "mem_pct": _percent(r.get("MemPerc")),
            "pids": int(r["PIDs"]) if str(r.get("PIDs", "")).isdigit() else None,
        })
    return out
