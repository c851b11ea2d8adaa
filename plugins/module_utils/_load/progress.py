# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress while the load runs: each load generator's module rewrites load/<scenario>/<generator>/
progress.json every 5 s from what k6 has written so far to its raw sample stream (read
incrementally, _k6_samples.LiveSamples), and the play follows every generator (the `load` action
plugin, `action: follow`) and prints one line per round merged over the generators: elapsed of
planned seconds, VUs, requests per second, p95 and errors so far. p95 comes from the sum of the
generators' log histograms, so it is the merged p95 to within one bin (0.5 %), never an average of
p95s. Progress is for people watching; the evidence's exact figures are computed after the run.

This module owns the file's format (its keys and states); writers and readers import it."""
from __future__ import annotations

import json
import os
import time
from typing import Callable

from ansible_collections.examday.ops.plugins.module_utils._evidence import names
from ansible_collections.examday.ops.plugins.module_utils._k6_samples import LiveSamples, hist_percentile

FILE = names.LOAD_PROGRESS
VERSION = 1
INTERVAL_S = 10.0           # how often the play prints a line (role: rehearsal_progress_interval)
WRITE_EVERY_S = 5.0         # how often a running generator rewrites its progress (a line is at most this old)
STALE_S = 45.0              # progress older than this: the run stopped writing it (ask its job instead)
UNREACHABLE_ROUNDS = 3      # a generator unreachable this many rounds in a row is no longer followed
END_ROUND_S = 2.0           # near every generator's planned end, rounds this short: the end is seen within seconds
STATES = ("waiting", "running", "ending", "done")
KEYS = ("version", "scenario", "generator", "state", "ok", "start_at", "started", "updated", "elapsed_s",
        "planned_s", "vus", "requests", "errors", "rps", "hist")


class ProgressWriter:
    """Rewrites one generator's progress.json (atomically, mode 0600). Writing progress never fails
    the load: the first error is kept in `error` (the module turns it into a warning)."""

    def __init__(self, out_dir: str, scenario: str, generator: str, planned_s: float, start_at: str | None,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = os.path.join(out_dir, FILE)
        self.live = LiveSamples(os.path.join(out_dir, names.LOAD_RAW))
        self.scenario, self.generator = scenario, generator
        self.planned_s, self.start_at = float(planned_s), start_at
        self.clock = clock
        self.started: float | None = None
        self.error: str | None = None

    def waiting(self) -> None:
        self._write("waiting")

    def running(self) -> None:
        """k6 runs: reads what it wrote since the last call (also called once as k6 starts)."""
        if self.started is None:
            self.started = self.clock()
        self._read()
        self._write("running")

    def ending(self) -> None:
        """k6 ended; its evidence is being collected."""
        self._read()
        self._write("ending")

    def _read(self) -> None:
        try:
            self.live.read()
        except Exception as exc:  # pylint: disable=broad-except  # zlib.error, OSError...: never end the load
            self.error = self.error or f"{type(exc).__name__}: {exc}"

    def done(self, ok: bool) -> None:
        self._write("done", ok)

    def snapshot(self, state: str, ok: bool | None = None) -> dict:
        now = self.clock()
        live = self.live
        return {"version": VERSION, "scenario": self.scenario, "generator": self.generator, "state": state,
                "ok": ok, "start_at": self.start_at, "started": self.started, "updated": now,
                "elapsed_s": round(now - self.started, 1) if self.started is not None else None,
                "planned_s": self.planned_s, "vus": live.vus, "requests": live.requests, "errors": live.errors,
                "rps": live.rate(), "hist": {str(k): n for k, n in live.hist.items()}}

    def _write(self, state: str, ok: bool | None = None) -> None:
        tmp = self.path + ".tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.snapshot(state, ok), fh, separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError as exc:
            self.error = self.error or f"{type(exc).__name__}: {exc}"


def read(text: str) -> dict | None:
    """A progress.json's content, or None when it is not one (an older or foreign file)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION or data.get("state") not in STATES \
            or any(k not in data for k in KEYS):
        return None
    return data


def merge(progress: list[dict]) -> dict:
    """The generators' progress as one: counts, VUs and rates summed, the longest elapsed, p95 and
    the error rate over all of them."""
    hist: dict[str, int] = {}
    for p in progress:
        for key, n in (p.get("hist") or {}).items():
            hist[key] = hist.get(key, 0) + int(n)
    requests = sum(int(p.get("requests") or 0) for p in progress)
    errors = sum(int(p.get("errors") or 0) for p in progress)
    # VUs and the rate are now's: while some generator runs, those that ended no longer add theirs
    now = [p for p in progress if p.get("state") == "running"] or progress
    vus = [p["vus"] for p in now if p.get("vus") is not None]
    rates = [p["rps"] for p in now if p.get("rps") is not None]
    elapsed = [p["elapsed_s"] for p in progress if p.get("elapsed_s") is not None]
    return {"states": sorted({p.get("state") for p in progress}),
            "elapsed_s": max(elapsed) if elapsed else None,
            "planned_s": max((float(p.get("planned_s") or 0) for p in progress), default=None),
            "vus": sum(vus) if vus else None, "rps": sum(rates) if rates else None,
            "requests": requests, "errors": errors,
            "error_rate_pct": 100.0 * errors / requests if requests else None,
            "p95_ms": hist_percentile(hist, 0.95),
            "start_at": min((p["start_at"] for p in progress if p.get("start_at")), default=None)}


def _num(value: float | None, unit: str, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}{unit}"


def line(label: str, merged: dict, notes: list[str] = ()) -> str:
    """One line: `label: 40 s of 65 s, 200 VUs, 118 req/s, p95 45.2 ms, errors 0.00 % (0 of 4,711)`."""
    states = merged["states"]
    if states == ["waiting"]:
        at = merged.get("start_at")
        text = f"{label}: waiting for the common start{f' at {at}' if at else ''}"
    else:
        done = all(s in ("ending", "done") for s in states) and states
        head = (f"ended after {_num(merged['elapsed_s'], ' s')}" if done else
                f"{_num(merged['elapsed_s'], ' s')} of {_num(merged['planned_s'], ' s')}")
        vus = merged["vus"]
        vus_text = "" if vus is None else f", {vus:,} VU{'' if vus == 1 else 's'}"
        if not merged["requests"]:
            text = f"{label}: {head}{vus_text}, no request yet"
        else:
            text = (f"{label}: {head}{vus_text}, {_num(merged['rps'], ' req/s', 1)}, "
                    f"p95 {_num(merged['p95_ms'], ' ms', 1)}, errors {_num(merged['error_rate_pct'], ' %', 2)} "
                    f"({merged['errors']:,} of {merged['requests']:,} requests)")
    return "; ".join([text, *notes])


class Follow:
    """The play's view of one scenario's generators over the rounds of a follow: the latest progress
    of each, who could not be read and why, and whether every generator has ended (its progress says
    done, or its job has finished, or it never started, or it stayed unreachable)."""

    def __init__(self, scenario: str, generators: list[str]) -> None:
        self.scenario = scenario
        self.generators = list(generators)
        self.progress: dict[str, dict] = {}
        self.notes: dict[str, str] = {}
        self.unreachable: dict[str, int] = {}
        self.ended: set[str] = set()
        self._changed: dict[str, tuple] = {}  # gen -> (its last `updated`, when it changed, our monotonic clock)

    def seen(self, gen: str, progress: dict, now: float) -> None:
        """Its progress as read at `now` (the controller's monotonic clock: never compared with the
        generator's own clock)."""
        self.progress[gen] = progress
        self.unreachable[gen] = 0
        self.notes.pop(gen, None)
        if self._changed.get(gen, (None,))[0] != progress.get("updated"):
            self._changed[gen] = (progress.get("updated"), now)
        if progress.get("state") == "done":
            self.ended.add(gen)
        else:  # back after it was given up as unreachable: followed again
            self.ended.discard(gen)

    def stale(self, gen: str, now: float) -> bool:
        """Whether the job itself must be asked: no progress yet, or none rewritten for STALE_S (by the
        controller's monotonic clock `now`)."""
        changed = self._changed.get(gen)
        return gen not in self.progress or changed is None or now - changed[1] > STALE_S

    def job(self, gen: str, finished: bool, msg: str = "") -> None:
        """What the generator's job said when its progress was missing or stale."""
        if finished:
            self.ended.add(gen)
            self.notes[gen] = f"{gen}: its load has ended{f' ({msg})' if msg else ''}"
        elif gen not in self.progress:
            self.notes[gen] = f"{gen}: no progress yet"

    def lost(self, gen: str, reason: str) -> None:
        self.unreachable[gen] = self.unreachable.get(gen, 0) + 1
        self.notes[gen] = f"{gen}: progress not read ({reason})"
        if self.unreachable[gen] >= UNREACHABLE_ROUNDS:
            self.ended.add(gen)

    @property
    def done(self) -> bool:
        return all(g in self.ended for g in self.generators)

    def round_s(self, interval: float, now: float) -> float:
        """How long the round that starts at `now` (the controller's monotonic clock) lasts: `interval`,
        or END_ROUND_S once every generator still followed may end within one interval (by its latest
        progress: planned less elapsed seconds, counted from when that progress was first seen, less
        the WRITE_EVERY_S it may be old), or is past its planned end, or is ending; so the end, which
        k6 often reaches before its planned bound, is printed within seconds rather than an interval
        later. A generator whose progress is unknown or waiting for its start keeps rounds whole."""
        for gen in self.generators:
            if gen in self.ended:
                continue
            p = self.progress.get(gen)
            if not p or p.get("state") not in ("running", "ending") or p.get("elapsed_s") is None \
                    or not p.get("planned_s") or gen not in self._changed:
                return interval
            left = float(p["planned_s"]) - float(p["elapsed_s"]) - (now - self._changed[gen][1])
            if p["state"] == "running" and left > interval + WRITE_EVERY_S:  # the progress may be that old
                return interval
        return min(interval, END_ROUND_S)

    def line(self, gen: str | None = None) -> str:
        """The merged line of every generator (gen None), or one generator's own."""
        if gen is not None:
            p = self.progress.get(gen)
            return line(f"{self.scenario} on {gen}", merge([p])) if p else self.notes.get(gen, f"{gen}: no progress yet")
        seen = [self.progress[g] for g in self.generators if g in self.progress]
        label = self.scenario if len(self.generators) == 1 else f"{self.scenario} ({len(self.generators)} load generators)"
        notes = [self.notes[g] for g in self.generators if g in self.notes]
        if not seen:
            return "; ".join([f"{label}: no progress yet", *notes])
        return line(label, merge(seen), notes)
