"""JSON-lines logging on stdout: one object per line, with the replica's name."""
from __future__ import annotations

import datetime
import json
import socket
import sys
import threading

_lock = threading.Lock()
_HOST = socket.gethostname()


def emit(level: str, event: str, **fields) -> None:
    record = {
        "ts": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
        "level": level,
        "event": event,
        "replica": _HOST,
    }
    record.update({k: v for k, v in fields.items() if v is not None})
    line = json.dumps(record, default=str, separators=(",", ":"))
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
