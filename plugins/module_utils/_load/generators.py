# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One scenario over N load generators: k6's own execution segments split it (every generator runs
the same script and options, `--execution-segment i/N:(i+1)/N` of the sequence 0,1/N,..,1; k6 keeps
VU ids unique across the segments, so the cohort, student = VU id, is split with no student twice),
and the generators' results are merged into the scenario's result exactly: counts are summed and
the percentiles are computed over the union of every generator's raw samples (never averaged).

Per generator, what makes its figures trustworthy is evidence too: the CPU k6 used over the run,
dropped iterations and k6's warnings. A generator whose CPU use passes `loadgen_cpu_pct` of its
cores is saturated (its latencies include its own queueing); one that failed or never started
fails the scenario, it never shrinks it."""
from __future__ import annotations

import datetime
import itertools
import os
import re
from contextlib import ExitStack
from fractions import Fraction
from typing import Callable, Iterable

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._evidence import acks as _acks
from ansible_collections.examday.ops.plugins.module_utils._evidence import names
from ansible_collections.examday.ops.plugins.module_utils._k6_samples import K6Samples, parse_iso

MAX_GENERATORS = 64
MAX_START_WAIT_S = 600.0  # a common start further away than this is a mistake, not a plan
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_SUM_KEYS = ("http_reqs", "iterations", "dropped_iterations", "vus_max")


def generator_name(name: str) -> str:
    """A generator's name as a folder name of the evidence (its inventory name)."""
    text = str(name or "")
    if not _NAME.match(text):
        raise OpsError(f"generator {text!r} must be 1-63 letters, digits, '.', '_' or '-' (its inventory name).")
    return text


def segments(count: int) -> tuple[str, list[str]]:
    """(sequence, segments) splitting a scenario into `count` equal execution segments."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_GENERATORS:
        raise OpsError(f"the number of load generators must be 1 to {MAX_GENERATORS}, not {count!r}.")
    cuts = [Fraction(i, count) for i in range(count + 1)]
    text = ["0" if c == 0 else "1" if c == 1 else f"{c.numerator}/{c.denominator}" for c in cuts]
    return ",".join(text), [f"{text[i]}:{text[i + 1]}" for i in range(count)]


def segment_argv(index: int, count: int) -> list[str]:
    """k6's options for generator `index` (0-based) of `count`; none for a single generator."""
    if count == 1:
        return []
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        raise OpsError(f"generator index must be 0 to {count - 1}, not {index!r}.")
    sequence, parts = segments(count)
    return ["--execution-segment", parts[index], "--execution-segment-sequence", sequence]


def start_delay(start_at: str | None, now: datetime.datetime) -> float:
    """Seconds to wait for the common start time (0 when none or already passed)."""
    if not start_at:
        return 0.0
    ts = parse_iso(start_at)
    if ts is None:
        raise OpsError(f"start_at {start_at!r} is not an ISO 8601 time.")
    delay = ts - now.timestamp()
    if delay > MAX_START_WAIT_S:
        raise OpsError(f"start_at {start_at} is {delay:.0f}s away; at most {MAX_START_WAIT_S:.0f}s is allowed.")
    return max(0.0, delay)


def health(result: dict, cpu_s: float | None, elapsed_s: float, cores: int, stderr: str, cpu_limit_pct: float,
           late_s: float | None = None) -> dict:
    """A generator's own health over its run: CPU (share of its cores, the average over the run),
    dropped iterations, k6's warnings (with --quiet, everything k6 prints on its standard error, e.g.
    "Insufficient VUs, reached 40 active VUs and cannot initialize more"), how late it started
    after the common start, and whether it was saturated."""
    cpu_pct = None
    if cpu_s is not None and elapsed_s > 0 and cores > 0:
        cpu_pct = round(100.0 * cpu_s / elapsed_s / cores, 1)
    warnings = [ln.strip()[:300] for ln in (stderr or "").splitlines() if ln.strip()]
    dropped = int(result.get("dropped_iterations") or 0)
    reasons = []
    if cpu_pct is not None and cpu_pct > cpu_limit_pct:
        reasons.append(f"k6 used {cpu_pct:g} % of its {cores} core(s) (limit {cpu_limit_pct:g} %)")
    return {"cpu_s": None if cpu_s is None else round(cpu_s, 2), "cpu_pct": cpu_pct, "cores": cores,
            "cpu_limit_pct": cpu_limit_pct, "dropped_iterations": dropped, "warnings": warnings[-10:],
            "late_s": None if late_s is None else round(max(0.0, late_s), 3),
            "saturated": bool(reasons), "why": "; ".join(reasons)}


def scenario_generators(scenario_dir: str) -> list[str]:
    """The generator folders of a scenario's evidence (load/<scenario>/<generator>/ with a result
    or raw samples), sorted."""
    if not os.path.isdir(scenario_dir):
        return []
    out = []
    for name in sorted(os.listdir(scenario_dir)):
        sub = os.path.join(scenario_dir, name)
        if os.path.isdir(sub) and any(os.path.isfile(os.path.join(sub, f))
                                      for f in (names.LOAD_RESULT, names.LOAD_RAW, names.LOAD_RAW_PLAIN)):
            out.append(name)
    return out


def _raw_file(folder: str) -> str | None:
    """A folder's raw sample file (gzip, else plain), or None."""
    for name in (names.LOAD_RAW, names.LOAD_RAW_PLAIN):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def raw_files(scenario_dir: str) -> list[str]:
    """Every raw sample file of a scenario: its own (one generator, or an older run), else each
    generator's."""
    own = _raw_file(scenario_dir)
    if own:
        return [own]
    return [p for p in (_raw_file(os.path.join(scenario_dir, g)) for g in scenario_generators(scenario_dir)) if p]


def _sum_nested(items: Iterable[dict]) -> dict:
    out: dict = {}
    for item in items:
        for key, value in (item or {}).items():
            if isinstance(value, dict):
                out[key] = _sum_nested([out.get(key) or {}, value])
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                out[key] = out.get(key, 0) + value
    return out


def merge(scenario: str, results: dict, expected: list[str], raws: dict, acks_paths: list[str],
          spread_limit_s: float, opener: Callable = open) -> dict:
    """The scenario's result over its generators (docs/evidence.md). results: {generator: its
    result.json (None when it has none)}; raws: {generator: its raw sample file}; expected: the
    generators that were to run. Raises OpsError naming every generator that failed, never started
    or left fewer raw samples than requests (its figures would describe less load than was
    planned). A start spread above spread_limit_s is returned as a problem of the run."""
    missing = [g for g in expected if not isinstance(results.get(g), dict)]
    if missing:
        raise OpsError(f"the {scenario} load is incomplete: no result from load generator(s) "
                       f"{', '.join(missing)}; its figures would describe less load than was planned.")
    no_raw = [g for g in expected if not raws.get(g)]
    if no_raw:
        raise OpsError(f"the {scenario} load is incomplete: no raw samples from load generator(s) "
                       f"{', '.join(no_raw)}; its percentiles would describe part of the load.")
    ordered = [results[g] for g in expected]
    samples = K6Samples()
    short = []
    for gen in expected:
        samples.feed_file(raws[gen], gen)
        got = samples.requests(gen)
        if got != int(results[gen].get("http_reqs") or 0):
            short.append(f"{gen} ({got} of {int(results[gen].get('http_reqs') or 0)} requests)")
    if short:
        raise OpsError(f"the {scenario} load's raw samples do not hold every request: {', '.join(short)}; "
                       f"its percentiles would describe part of the load.")
    summary = samples.summary() if samples.groups else None
    starts = [parse_iso(r.get("started_at")) for r in ordered]
    ends = [parse_iso(r.get("finished_at")) for r in ordered]
    starts_ok = [s for s in starts if s is not None]
    ends_ok = [e for e in ends if e is not None]
    first = min(starts_ok) if starts_ok else None
    last = max(ends_ok) if ends_ok else None
    merged = {key: sum(int(r.get(key) or 0) for r in ordered) for key in _SUM_KEYS}
    span = (last - first) if first is not None and last is not None else None
    thresholds: dict = {}
    for r in ordered:
        for key, ok in (r.get("thresholds") or {}).items():
            thresholds[key] = bool(thresholds.get(key, True) and ok)
    out = {
        "scenario": scenario,
        "started_at": min((r["started_at"] for r in ordered if r.get("started_at")), default=None),
        "finished_at": max((r["finished_at"] for r in ordered if r.get("finished_at")), default=None),
        "duration_s": round(span, 1) if span is not None else None,
        **merged,
        "rps": round(merged["http_reqs"] / span, 1) if span else None,
        "checks": _sum_nested(r.get("checks") for r in ordered),
        "thresholds": thresholds,
        "thresholds_passed": all(thresholds.values()),
        "acks": _sum_nested(r.get("acks") for r in ordered),
        "unknown_writes": _sum_nested(r.get("unknown_writes") for r in ordered),
    }
    if summary is not None:
        requests = summary["requests"]
        out.update({"p50_ms": summary["p50_ms"], "p95_ms": summary["p95_ms"], "p99_ms": summary["p99_ms"],
                    "error_rate": round(summary["errors"] / requests, 5) if requests else 0.0,
                    "raw_requests": requests})
    else:  # no raw samples: the figures are not known (a percentile of percentiles is no percentile)
        out.update({"p50_ms": None, "p95_ms": None, "p99_ms": None, "error_rate": None, "raw_requests": 0})
    out["max_ms"] = max((r["max_ms"] for r in ordered if isinstance(r.get("max_ms"), (int, float))), default=None)
    exams = [r["exam"] for r in ordered if isinstance(r.get("exam"), dict)]
    if exams:
        out["exam"] = _sum_nested(exams)
    if any("double_submits" in r for r in ordered):
        with ExitStack() as stack:  # streamed: every generator's acks, one after the other
            files = [stack.enter_context(opener(path, encoding="utf-8")) for path in acks_paths]
            out["double_submits"] = _acks.double_submits(itertools.chain.from_iterable(files))
    gens = {}
    for name, r in zip(expected, ordered):
        h = dict(r.get("generator") or {})
        gens[name] = {"started_at": r.get("started_at"), "finished_at": r.get("finished_at"),
                      "http_reqs": int(r.get("http_reqs") or 0), "p95_ms": r.get("p95_ms"),
                      "segment": h.get("segment"), "cpu_pct": h.get("cpu_pct"), "cores": h.get("cores"),
                      "k6_peak_rss_mib": h.get("k6_peak_rss_mib"),
                      "dropped_iterations": int(r.get("dropped_iterations") or 0),
                      "warnings": h.get("warnings") or [], "late_s": h.get("late_s"),
                      "saturated": bool(h.get("saturated")),
                      "why": h.get("why") or "", "k6_rc": (r.get("k6") or {}).get("rc")}
    out["generators"] = gens
    out["start_spread_s"] = round(max(starts_ok) - min(starts_ok), 3) if len(starts_ok) == len(ordered) else None
    out["start_spread_limit_s"] = spread_limit_s
    out["saturated"] = [g for g, h in gens.items() if h["saturated"]]
    out["problems"] = []
    if out["start_spread_s"] is not None and out["start_spread_s"] > spread_limit_s:
        late = sorted(gens, key=lambda g: gens[g]["started_at"] or "")[-1]
        out["problems"].append(f"the load generators started {out['start_spread_s']:g} s apart (limit "
                               f"loadgen_start_spread_s {spread_limit_s:g} s; {late} last): the scenario ran with "
                               f"less concurrency than planned")
    out["files"] = {g: {k: f"{names.LOAD_DIR}/{scenario}/{g}/{v}" for k, v in names.LOAD_FILES.items()}
                    for g in expected}
    return out
