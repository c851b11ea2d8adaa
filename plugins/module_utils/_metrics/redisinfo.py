# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis INFO: read through redis-py, parsed, summarised; a failure as one sentence without the password."""
from __future__ import annotations

import re

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError


def _info_value(text: str):
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    return text


def parse_redis_info(text: str) -> dict:
    """Redis INFO text as {field: value}; keyspace lines (db0:keys=1,expires=0,...) as dicts."""
    out: dict = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, _sep, value = line.partition(":")
        if re.fullmatch(r"db\d+", key) and "=" in value:
            out[key] = {k: _info_value(v) for k, _e, v in (item.partition("=") for item in value.split(","))}
        else:
            out[key] = _info_value(value)
    return out


REDIS_FIELDS = ("redis_version", "uptime_in_seconds", "connected_clients", "blocked_clients", "maxclients",
                "rejected_connections", "total_connections_received", "total_commands_processed",
                "instantaneous_ops_per_sec", "evicted_keys", "expired_keys", "keyspace_hits", "keyspace_misses",
                "used_memory", "used_memory_peak", "maxmemory", "maxmemory_policy", "role")


def redis_summary(info: dict) -> dict:
    out = {"configured": True}
    out.update({k: info.get(k) for k in REDIS_FIELDS})
    out["keyspace"] = {k: v for k, v in info.items() if re.fullmatch(r"db\d+", k)}
    out["keys"] = sum(v.get("keys", 0) for v in out["keyspace"].values() if isinstance(v, dict))
    return out


def redis_failure(host: str, port: int, exc: Exception, password: str | None) -> OpsError:
    """One sentence for a Redis failure, without the password."""
    kind = type(exc).__name__
    detail = " ".join(str(exc).split()) or kind
    if password:
        detail = detail.replace(password, "<redacted>")
    if "Authentication" in kind or any(word in detail for word in ("NOAUTH", "WRONGPASS", "AUTH")):
        return OpsError(f"Redis at {host}:{port} did not accept the configured credentials ({detail.rstrip('.')}).")
    return OpsError(f"cannot read Redis INFO from {host}:{port}: {detail.rstrip('.')}.")


def redis_info_text(host: str, port: int, username: str | None, password: str | None, timeout: float) -> str:
    """INFO from Redis through redis-py, as the server's text. Authenticates explicitly, so a
    configured password that the server does not expect is an error, not silently ignored."""
    import redis  # imported here: only this capture needs it, the module checks it is installed

    client = redis.Redis(host=host, port=port, socket_timeout=timeout, socket_connect_timeout=timeout,
                         single_connection_client=True)
    try:
        client.set_response_callback("INFO", lambda response, **options: response)
        if password:
            client.execute_command("AUTH", *([username] if username else []), password)
        raw = client.execute_command("INFO")
    except redis.RedisError as exc:
        raise redis_failure(host, port, exc, password) from None
    finally:
        client.close()
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def redis_argument_spec() -> dict:
    """The `redis` option of the modules that read Redis (metrics_capture, watch)."""
    return {"redis": {"type": "dict", "default": {}, "options": {
        "host": {"type": "str"},
        "port": {"type": "int", "default": 6379},
        "username": {"type": "str"},
        "password": {"type": "str", "no_log": True},
        "container": {"type": "str"},
        "network": {"type": "str"},
    }}}


def redis_host(runner, redis_opts: dict) -> str:
    """The address of the `redis` option: its host, else its container's address (on its network)."""
    if redis_opts.get("host"):
        return redis_opts["host"]
    rc, out, _err = runner(["docker", "inspect", redis_opts["container"]])
    if rc != 0:
        raise OpsError(f"unknown Redis container {redis_opts['container']}.")
    ip = _docker_cli.container_ip(_docker_cli.parse_json_stream(out)[0], redis_opts.get("network"))
    if not ip:
        raise OpsError(f"the Redis container {redis_opts['container']} has no address.")
    return ip
