"""JSON-lines logging on stdout: one object per line, with the replica's name."""
from __future__ import annotations

import datetime
import json
import socket
import sys
import threading

_lock = threading.Lock()
_HOST = socket.gethostname()
# How records are keyed. The lab keeps these; lab-b (another platform) renames them with configure().
_STYLE = {"keys": {"ts": "ts", "level": "level", "event": "event", "host": "replica"}, "events": {}, "fields": {}}


def configure(keys: dict | None = None, events: dict | None = None, fields: dict | None = None) -> None:
    """Another platform's log keys: `keys` for ts, level, event and host, `events` renames event
    names, `fields` renames the other fields (request_id -> rid ...)."""
    _STYLE["keys"].update(keys or {})
    _STYLE["events"].update(events or {})
    _STYLE["fields"].update(fields or {})


def emit(level: str, event: str, **fields) -> None:
    keys, names = _STYLE["keys"], _STYLE["fields"]
    record = {
        keys["ts"]: datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
        keys["level"]: level,
        keys["event"]: _STYLE["events"].get(event, event),
        keys["host"]: _HOST,
    }
    record.update({names.get(k, k): v for k, v in fields.items() if v is not None})
    line = json.dumps(record, default=str, separators=(",", ":"))
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
