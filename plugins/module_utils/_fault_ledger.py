# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault ledger on the target host, and the host-side watchdog that restores a fault at its
deadline plus grace even when the controller, the playbook or the module is gone.

One JSON file per fault in the ledger directory, written atomically; every status change and every
restore happens under an exclusive flock on the directory's lock file, so the module and the
watchdog never undo the same fault twice at once. An entry stays "active" until its undo steps have
all succeeded: a fault that could not be undone keeps blocking freeze and rehearsal."""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import secrets
import time

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError

ACTIVE = "active"
RESTORED = "restored"


def iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_id(now: float) -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + "-" + secrets.token_hex(3)


def run_steps(steps: list[dict], runner) -> list[dict]:
    """Runs undo/apply steps; a step is ok when it succeeds or fails only with a tolerated message
    (the thing was already undone). Returns one result per step (no output beyond one line)."""
    results = []
    for s in steps:
        rc, out, err = runner(s["argv"])
        text = f"{err}\n{out}"
        tolerated = rc != 0 and any(frag in text for frag in s.get("tolerate", []))
        line = next((x for x in reversed((err or out).strip().splitlines()) if x.strip()), "")
        results.append({"what": s["what"], "rc": rc, "ok": rc == 0 or tolerated,
                        "note": ("already undone: " + line) if tolerated else (line if rc else "")})
    return results


class Ledger:
    def __init__(self, path: str):
        self.path = path

    def ensure(self) -> None:
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise OpsError(f"cannot create the fault ledger {self.path}: {exc.strerror}.") from None
        if not os.access(self.path, os.W_OK):
            raise OpsError(f"the fault ledger {self.path} is not writable.")

    @contextlib.contextmanager
    def locked(self):
        self.ensure()
        fd = os.open(os.path.join(self.path, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _file(self, fault_id: str) -> str:
        return os.path.join(self.path, f"{fault_id}.json")

    def write(self, entry: dict) -> None:
        tmp = self._file(entry["id"]) + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(entry, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._file(entry["id"]))

    def read(self, fault_id: str) -> dict:
        with open(self._file(fault_id), encoding="utf-8") as fh:
            return json.load(fh)

    def entries(self) -> list[dict]:
        if not os.path.isdir(self.path):
            return []
        out = []
        for name in sorted(os.listdir(self.path)):
            if name.endswith(".json"):
                try:
                    out.append(self.read(name[:-5]))
                except (OSError, ValueError):
                    continue
        return out

    def update(self, fault_id: str, **fields) -> dict:
        """Re-reads the entry under the lock and sets fields (never writes back a stale copy)."""
        with self.locked():
            entry = self.read(fault_id)
            entry.update(fields)
            self.write(entry)
            return entry

    def active(self) -> list[dict]:
        return [e for e in self.entries() if e.get("status") == ACTIVE]

    def restore(self, fault_id: str, runner, by: str, now, only_if_due: bool = False) -> dict:
        """Undoes one entry if it is still active (with only_if_due: and past its deadline plus
        grace, read under the lock, since the module moves the deadline once the fault is in place);
        returns the entry as it is afterwards."""
        with self.locked():
            entry = self.read(fault_id)
            if entry.get("status") != ACTIVE or (only_if_due and now() < entry["deadline"] + entry["grace"]):
                return entry
            results = run_steps(entry.get("undo", []), runner)
            entry["undo_results"] = results
            if all(r["ok"] for r in results):
                entry.update(status=RESTORED, restored_by=by, restored_at=now())
            else:
                entry["last_error"] = "; ".join(f"{r['what']}: {r['note']}" for r in results if not r["ok"])
            self.write(entry)
            return entry


def watch(ledger: Ledger, fault_id: str, runner, clock=time.time, sleep=time.sleep, poll: float = 1.0) -> dict:
    """The watchdog's loop: waits until the fault is no longer active (the module restored it) or
    its deadline plus grace has passed, then restores it. Bounded by the deadline; retries a failed
    restore a few times, 5 s apart."""
    while True:  # bounded: the deadline only moves once, when the fault is in place
        entry = ledger.read(fault_id)
        if entry.get("status") != ACTIVE:
            return entry
        limit = entry["deadline"] + entry["grace"]
        if clock() >= limit:
            break
        sleep(min(poll, max(0.0, limit - clock())))
    for attempt in range(5):
        entry = ledger.restore(fault_id, runner, "watchdog", clock, only_if_due=True)
        if entry.get("status") != ACTIVE:
            return entry
        if clock() < entry["deadline"] + entry["grace"]:  # moved meanwhile: wait for the new deadline
            return watch(ledger, fault_id, runner, clock, sleep, poll)
        if attempt < 4:
            sleep(5)
    return entry


def daemonize(work) -> int | None:
    """Runs work() in a detached grandchild (own session, stdio on /dev/null), so it outlives the
    module, ansible and the controller's connection. Returns the grandchild's pid in the parent."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_fd)
        with os.fdopen(read_fd) as fh:
            grandchild = fh.read().strip()
        os.waitpid(pid, 0)
        return int(grandchild) if grandchild.isdigit() else None
    # child
    os.close(read_fd)
    os.setsid()
    pid2 = os.fork()
    if pid2:
        os.write(write_fd, str(pid2).encode())
        os._exit(0)  # pylint: disable=protected-access
    os.close(write_fd)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    try:
        work()
    finally:
        os._exit(0)  # pylint: disable=protected-access
    return None
