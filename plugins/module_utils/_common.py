# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the managers behind the modules."""
from __future__ import annotations

import datetime
import decimal
import os
import tempfile
import uuid


class OpsError(Exception):
    """A failure to report as one clear sentence (fail_json msg), with optional result fields."""

    def __init__(self, msg: str, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


def json_safe(value):
    """Results must be JSON-safe: Decimal, datetime, timedelta, UUID, bytes, sets converted."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def run_checked(runner, argv: list, what: str) -> str:
    """Runs a command through runner(argv) -> (rc, out, err); a failure becomes one sentence."""
    rc, out, err = runner(argv)
    if rc != 0:
        detail = (err or out).strip().splitlines()
        raise OpsError(f"{what} failed: {detail[-1] if detail else f'rc {rc}'}.")
    return out


def write_private(path: str, data: bytes, what: str = "") -> None:
    """Writes evidence: mode 0600, replaced atomically (a reader never sees half a file)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise OpsError(f"cannot write {what or path}: {exc.strerror or exc}.") from None
