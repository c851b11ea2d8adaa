# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL connections for modules: by host/port, or by a container's address on its network."""
from __future__ import annotations

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError

try:
    import psycopg
    HAS_PSYCOPG = True
except ImportError:
    psycopg = None
    HAS_PSYCOPG = False


def db_argument_spec() -> dict:
    """The `db` option (doc fragment examday.ops.db)."""
    return {"db": {"type": "dict", "default": {}, "options": {
        "host": {"type": "str"},
        "port": {"type": "int", "default": 5432},
        "name": {"type": "str", "default": "exam_platform"},
        "user": {"type": "str", "default": "exam_user"},
        "password": {"type": "str", "no_log": True},
        "container": {"type": "str"},
        "network": {"type": "str"},
        "connect_timeout": {"type": "int", "default": 5},
    }}}


def pool_argument_spec() -> dict:
    """The `pool` option (doc fragment examday.ops.db.pool): the app's connection pool."""
    return {"pool": {"type": "dict", "default": {}, "options": {
        "pool_size": {"type": "int", "default": 10},
        "max_overflow": {"type": "int", "default": 10},
        "processes": {"type": "int", "default": 1},
    }}}


def pool_capacity(pool: dict) -> int:
    """Connections the app may hold at most: (pool_size + max_overflow) x processes."""
    return (pool["pool_size"] + pool["max_overflow"]) * pool["processes"]


def resolve_host(runner, db: dict) -> str:
    if db.get("host"):
        return db["host"]
    if db.get("container"):
        rc, out, _err = runner(["docker", "inspect", db["container"]])
        if rc != 0:
            raise OpsError(f"unknown database container {db['container']}.")
        ip = _docker_cli.container_ip(_docker_cli.parse_json_stream(out)[0], db.get("network"))
        if not ip:
            raise OpsError(f"the database container {db['container']} has no address"
                           + (f" on network {db['network']}" if db.get("network") else "") + ".")
        return ip
    return "127.0.0.1"


def connect(runner, db: dict, application_name: str, options: str | None = None):
    """A psycopg connection; a failure becomes one sentence naming the cause (no password)."""
    host = resolve_host(runner, db)
    try:
        return psycopg.connect(host=host, port=db["port"], dbname=db["name"], user=db["user"],
                               password=db.get("password") or "", connect_timeout=db["connect_timeout"],
                               application_name=application_name, **({"options": options} if options else {}))
    except psycopg.Error as exc:
        lines = [line for line in str(exc).strip().splitlines() if line.strip()]
        raise OpsError(f"cannot connect to database {db['name']} on {host}:{db['port']} as {db['user']}: "
                       f"{lines[-1] if lines else type(exc).__name__}.") from None
