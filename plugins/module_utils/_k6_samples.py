# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streaming reader of k6's raw sample stream (`k6 run --out json=FILE[.gz]`).

Only two metrics matter to the report: `http_req_duration` (latency, ms) and `http_req_failed`
(one point per request, value 1 when k6 counted it as failed). A file is read in 1 MiB blocks, and
in each block one regular expression finds every point of those two metrics written in k6's own
layout, at C speed, so the many other metrics' lines cost no Python work at all. A block where the
two names occur more often than that finds points (a metric's definition line, another layout, a
name inside a tag) is read line by line instead, decoding the JSON of the lines that name them;
both readers give the same result (tests/unit/test_k6_samples.py). benchmarks/loadgen_bench.py
measures it.

Memory: samples are kept per (group, second) as `array('d')` durations (8 bytes per duration,
no Python object per sample) plus request and error counters (durations inside a window are also
kept per window, for its own percentiles), and per group a sparse log
histogram (0.5 % wide bins) that lets the overall percentiles be found exactly without sorting
everything at once: the histogram names the bin that holds the wanted rank, and only that bin's
values are gathered (by bisection in each second's sorted array) and sorted.

Percentiles follow k6 (and numpy's default): sorted values, rank i = p * (n - 1), linear
interpolation between the two neighbours. Times are seconds since the epoch (floats, UTC).
A sample is inside a window when start <= time <= end.
"""
from __future__ import annotations

import bisect
import datetime
import gzip
import itertools
import json
import math
import re
import zlib
from array import array
from typing import IO, Iterable, Iterator, Sequence

DURATION = "http_req_duration"
FAILED = "http_req_failed"
_DURATION_B = b'"http_req_duration"'
_FAILED_B = b'"http_req_failed"'
_BINS_PER_E = 200  # bin width exp(1/200): 0.5 %
_ZERO_BIN = -(10 ** 9)
_DECODER = json.JSONDecoder()
# Fast path for k6's own layout ({"metric":..,"type":"Point","data":{"time":..,"value":..,"tags":..}}):
# time and value read by one regular expression; any other layout goes through the JSON decoder.
_FAST = {DURATION: b'{"metric":"http_req_duration","type":"Point","data":{"time":"',
         FAILED: b'{"metric":"http_req_failed","type":"Point","data":{"time":"'}
_TIME_VALUE = re.compile(rb'"time":"([^"]+)","value":(-?[0-9][0-9.eE+\-]*)[,}]')
# The same layout found in a whole block at once (C speed, no Python work for the other metrics' lines).
# Anchored on the newline before the line (not `^` with re.M, which tries every byte): the literal
# prefix lets the engine jump from candidate to candidate. Blocks are read with a newline in front.
_BLOCK = re.compile(rb'\n\{"metric":"http_req_(duration|failed)","type":"Point","data":\{"time":"'
                    rb'([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})",'
                    rb'"value":(-?[0-9][0-9.eE+\-]*)[,}]')  # durations <= 0 (k6 reports 0 for requests that never connected)
# The gauge k6 writes once a second: the VUs running.
_VUS = re.compile(rb'\n\{"metric":"vus","type":"Point","data":\{"time":"[^"]*","value":([0-9]+)[,}.]')
PERCENTILES = (("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99))


def _bin(value: float) -> int:
    return math.floor(math.log(value) * _BINS_PER_E) if value > 0 else _ZERO_BIN


def _bin_range(key: int) -> tuple[float, float]:
    """Bounds wide enough to hold every value of bin `key` (one bin of slack on each side)."""
    if key == _ZERO_BIN:
        return -math.inf, 0.0
    return math.exp((key - 1) / _BINS_PER_E), math.exp((key + 2) / _BINS_PER_E)


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """k6's percentile of already sorted values: linear interpolation at i = p * (n - 1)."""
    n = len(sorted_values)
    if n == 0:
        return None
    i = p * (n - 1)
    lo = int(i)
    if lo + 1 >= n:
        return float(sorted_values[n - 1])
    return float(sorted_values[lo] + (sorted_values[lo + 1] - sorted_values[lo]) * (i - lo))


class TimeParser:
    """RFC 3339 (Go's time.Time JSON: nanoseconds, `Z` or `+hh:mm`) to epoch seconds, cached per second."""

    def __init__(self) -> None:
        self._cache: dict[str, float] = {}
        self._bcache: dict[bytes, float] = {}

    def __call__(self, text: str) -> float:
        if text.endswith("Z"):
            end, zone = len(text) - 1, "+00:00"
        else:
            end = len(text) - 6
            zone = text[end:]
        key = text[:19] + zone
        base = self._cache.get(key)
        if base is None:
            try:
                base = datetime.datetime.fromisoformat(key).timestamp()
            except ValueError:
                raise ValueError(f"unreadable time {text!r}") from None
            if len(self._cache) > 100000:
                self._cache.clear()
            self._cache[key] = base
        frac = text[19:end]
        return base + float(frac) if frac else base

    def second_base(self, raw: bytes) -> float:
        """Epoch seconds of the whole second of an ASCII time (bytes), cached per second and zone."""
        zulu = raw.endswith(b"Z")
        key = raw[:19] + (b"Z" if zulu else raw[-6:])
        base = self._bcache.get(key)
        if base is None:
            base = self(key[:19].decode("ascii") + ("Z" if zulu else key[19:].decode("ascii")))
            if len(self._bcache) > 100000:
                self._bcache.clear()
            self._bcache[key] = base
        return base

    def from_bytes(self, raw: bytes) -> float:
        """The same as calling it with text, for ASCII bytes (the block reader's matches)."""
        base = self.second_base(raw)
        frac = raw[19:-1] if raw.endswith(b"Z") else raw[19:-6]
        return base + float(frac) if frac else base


def parse_iso(text) -> float | None:
    """An ISO 8601 time (as in the evidence files) as epoch seconds; None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


class _Bucket:
    __slots__ = ("out", "inn", "req_out", "err_out", "req_in", "err_in", "sorted")

    def __init__(self) -> None:
        self.out = array("d")
        self.inn = array("d")
        self.req_out = self.err_out = self.req_in = self.err_in = 0
        self.sorted = True


def _rate(errors: int, requests: int) -> float | None:
    return 100.0 * errors / requests if requests else None


def _lines(fh: IO[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """Lines of a binary stream, read in 1 MiB blocks (much cheaper than readline per line)."""
    rest = b""
    while True:
        block = fh.read(size)
        if not block:
            break
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def _open(path: str) -> IO[bytes]:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


class K6Samples:
    """Accumulates k6 samples of one or more files; each file may be fed under a group name (a scenario).

    windows: (start, end, label) in epoch seconds; samples in any window count as "inside".
    tags: only samples whose tags carry every one of these values (e.g. {"scenario": "answers"}).
    """

    def __init__(self, windows: Iterable[Sequence] = (), tags: dict | None = None) -> None:
        self.windows = [(float(w[0]), float(w[1]), str(w[2]) if len(w) > 2 else f"window {i + 1}")
                        for i, w in enumerate(windows)]
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._hist: dict[tuple[str, bool], dict[int, int]] = {}
        self._window_counts: dict[str, list[list[int]]] = {}
        self._window_values: dict[str, list[array]] = {}  # durations inside each window (a small share)
        self._groups: dict[str, dict] = {}
        self._time = TimeParser()
        self._second: tuple = (None, None, 0.0)  # the block reader's last second: (head, zone, epoch)
        self.lines = 0
        self.points = 0
        self.skipped_lines = 0

    # -- feeding -------------------------------------------------------------------------------

    def feed_file(self, path: str, group: str = "") -> None:
        """Reads a k6 JSON output file, gzip or plain (decided by its first bytes, not its name)."""
        with _open(path) as fh:
            if self.tags:  # a tag filter needs every line's tags: the line reader
                self.feed_lines(_lines(fh), group)
            else:
                self._consume(self._points_from_blocks(fh), group)

    def feed_lines(self, lines: Iterable[bytes | str], group: str = "") -> None:
        """Feeds lines (bytes, or str as in tests) of k6's JSON output under a group name."""
        it = iter(lines)
        head = next(it, None)
        if head is None:
            return
        it = itertools.chain((head,), it)
        if isinstance(head, str):
            it = (line.encode("utf-8") for line in it)
        self._consume((self._points_from_lines(it, count=True),), group)

    def _points_from_blocks(self, fh: IO[bytes], size: int = 1 << 20) -> Iterator[list[tuple[bool, float, float]]]:
        """Per block, the (is a duration, time, value) of a stream read in blocks (see `_chunk_points`)."""
        rest = b"\n"  # every chunk starts with the newline that ends the line before it
        done = False
        while not done:
            block = fh.read(size)
            if block:
                buf = rest + block
                cut = buf.rfind(b"\n")
                chunk, rest = buf[:cut], buf[cut:]
            else:
                chunk, rest, done = rest, b"", True
            if len(chunk) > 1:
                yield self._chunk_points(chunk)

    def _chunk_points(self, chunk: bytes) -> list[tuple[bool, float, float]]:
        """The (is a duration, time, value) of a chunk of whole lines that starts with a newline: the
        points of k6's own layout are found by one regular expression; a chunk where that finds fewer
        points than the two metrics' names occur (a definition line, another layout, a name in a tag)
        is read line by line."""
        self.lines += chunk.count(b"\n")
        matches = _BLOCK.findall(chunk)
        if len(matches) != chunk.count(_DURATION_B) + chunk.count(_FAILED_B):
            return list(self._points_from_lines(iter(chunk[1:].split(b"\n")), count=False))
        second_base = self._time.second_base
        last_head, last_zone, base = self._second
        batch = []
        add = batch.append
        for kind, head, frac, zone, raw_value in matches:
            try:
                if head != last_head or zone != last_zone:  # a new second; else the same base as before
                    base, last_head, last_zone = second_base(head + zone), head, zone
                add((kind == b"duration", base + float(frac) if frac else base, float(raw_value)))
            except (ValueError, UnicodeDecodeError):
                self.skipped_lines += 1
        self._second = (last_head, last_zone, base)
        return batch

    def _points_from_lines(self, lines: Iterator[bytes], count: bool) -> Iterator[tuple[bool, float, float]]:
        """(is a duration, time, value) of the lines that hold a point of the two metrics (and, with a tag
        filter, the wanted tags); an unreadable one is counted as skipped."""
        tags_wanted = list(self.tags.items())
        fast = not tags_wanted  # a tag filter needs the tags: full decode
        parse_time = self._time
        decode = _DECODER.decode
        n_lines = 0
        for line in lines:
            n_lines += 1
            if _DURATION_B in line:
                want = DURATION
            elif _FAILED_B in line:
                want = FAILED
            else:
                continue
            m = _TIME_VALUE.search(line) if fast and line.startswith(_FAST[want]) else None
            try:
                if m is not None:
                    t = parse_time(m.group(1).decode("ascii"))
                    value = float(m.group(2))
                else:
                    obj = decode(line.decode("utf-8"))
                    if obj.get("type") != "Point" or obj.get("metric") != want:
                        continue  # the metric's definition line, or the name appeared only in a tag
                    data = obj["data"]
                    t = parse_time(data["time"])
                    value = float(data["value"])
                    if tags_wanted:
                        tags = data.get("tags") or {}
                        if any(tags.get(k) != v for k, v in tags_wanted):
                            continue
            except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
                self.skipped_lines += 1  # e.g. the last line of a k6 that was killed mid-write
                continue
            yield want == DURATION, t, value
        if count:
            self.lines += n_lines

    def _consume(self, batches: Iterable[Iterable[tuple[bool, float, float]]], group: str) -> None:
        # The hot loop: a few million points, so attributes are bound to locals and counters written back at the end.
        info = self._groups.setdefault(group, {"first": None, "last": None, "points": 0})
        wcounts = self._window_counts.setdefault(group, [[0, 0] for _w in self.windows])
        wvalues = self._window_values.setdefault(group, [array("d") for _w in self.windows])
        windows = [(i, start, end) for i, (start, end, _label) in enumerate(self.windows)]
        w_lo = min((w[1] for w in windows), default=math.inf)
        w_hi = max((w[2] for w in windows), default=-math.inf)
        buckets = self._buckets
        hist_out = self._hist.setdefault((group, False), {})
        hist_in = self._hist.setdefault((group, True), {})
        first, last = info["first"], info["last"]
        first = math.inf if first is None else first
        last = -math.inf if last is None else last
        floor, log, new_bucket = math.floor, math.log, _Bucket
        n = 0
        last_sec, bucket = None, None
        for is_duration, t, value in itertools.chain.from_iterable(batches):
            n += 1
            if t < first:
                first = t
            if t > last:
                last = t
            inside = False
            if w_lo <= t <= w_hi:
                for i, start, end in windows:
                    if start <= t <= end:
                        inside = True
                        if is_duration:
                            wvalues[i].append(value)
                        else:
                            wcounts[i][0] += 1
                            wcounts[i][1] += value >= 0.5
            sec = floor(t)
            if sec != last_sec:  # points come in time order: the bucket changes once a second
                key = (group, sec)
                bucket = buckets.get(key)
                if bucket is None:
                    bucket = buckets[key] = new_bucket()
                last_sec = sec
            if is_duration:
                bucket.sorted = False
                if inside:
                    bucket.inn.append(value)
                    hist = hist_in
                else:
                    bucket.out.append(value)
                    hist = hist_out
                b = floor(log(value) * _BINS_PER_E) if value > 0 else _ZERO_BIN
                hist[b] = hist.get(b, 0) + 1
            elif inside:
                bucket.req_in += 1
                bucket.err_in += value >= 0.5
            else:
                bucket.req_out += 1
                bucket.err_out += value >= 0.5
        self.points += n
        info["points"] += n
        info["first"] = first if n or info["first"] is not None else None
        info["last"] = last if n or info["last"] is not None else None

    # -- results -------------------------------------------------------------------------------

    @property
    def groups(self) -> list[str]:
        return sorted(self._groups)

    def _selected(self, group: str | None) -> Iterator[tuple[int, _Bucket]]:
        """The group's buckets (all, for None), their durations sorted."""
        for sec, bucket in self._selected_unsorted(group):
            if not bucket.sorted:
                bucket.out = array("d", sorted(bucket.out))
                bucket.inn = array("d", sorted(bucket.inn))
                bucket.sorted = True
            yield sec, bucket

    def per_second(self, group: str | None = None) -> list[dict]:
        """One entry per second that has samples: requests, errors, error rate, p50/p95/p99/max of durations."""
        merged: dict[int, list] = {}
        for sec, b in self._selected(group):
            m = merged.setdefault(sec, [[], 0, 0])
            m[0].append(b.out)
            m[0].append(b.inn)
            m[1] += b.req_out + b.req_in
            m[2] += b.err_out + b.err_in
        rows = []
        for sec in sorted(merged):
            arrays, requests, errors = merged[sec]
            values = sorted(v for a in arrays for v in a)
            row = {"t": sec, "requests": requests, "errors": errors, "error_rate_pct": _rate(errors, requests),
                   "durations": len(values)}
            for name, p in PERCENTILES:
                row[name] = _round(percentile(values, p))
            row["max_ms"] = _round(values[-1]) if values else None
            rows.append(row)
        return rows

    def _kth(self, arrays: list[array], hist: dict[int, int], k: int) -> float:
        """The k-th smallest (0-based) of the values in `arrays` (each sorted), found through `hist`."""
        seen = 0
        for key in sorted(hist):
            count = hist[key]
            if seen + count > k:
                lo, hi = _bin_range(key)
                found = []
                for a in arrays:
                    i, j = bisect.bisect_left(a, lo), bisect.bisect_right(a, hi)
                    found.extend(v for v in a[i:j] if _bin(v) == key)
                found.sort()
                return found[k - seen]
            seen += count
        raise IndexError(k)

    def _percentiles(self, arrays: list[array], hist: dict[int, int]) -> dict:
        n = sum(hist.values())
        out: dict = {"durations": n}
        for name, p in PERCENTILES:
            if n == 0:
                out[name] = None
                continue
            i = p * (n - 1)
            lo = int(i)
            low = self._kth(arrays, hist, lo)
            high = self._kth(arrays, hist, lo + 1) if lo + 1 < n and i > lo else low
            out[name] = _round(low + (high - low) * (i - lo))
        out["max_ms"] = _round(max((a[-1] for a in arrays if len(a)), default=None))
        return out

    def requests(self, group: str | None = None) -> int:
        """How many requests (http_req_failed points) a group (or all) holds, without its percentiles."""
        return sum(b.req_out + b.req_in for _sec, b in self._selected_unsorted(group))

    def _selected_unsorted(self, group: str | None) -> Iterator[tuple[int, _Bucket]]:
        for (g, sec), bucket in self._buckets.items():
            if group is None or g == group:
                yield sec, bucket

    def summary(self, group: str | None = None) -> dict:
        """Totals of one group (or all): everything, outside the windows, inside them, and per window."""
        groups = [group] if group is not None else list(self._groups)
        arrays_out, arrays_in = [], []
        counts = {"req_out": 0, "err_out": 0, "req_in": 0, "err_in": 0}
        for _sec, b in self._selected(group):
            arrays_out.append(b.out)
            arrays_in.append(b.inn)
            for name in counts:
                counts[name] += getattr(b, name)
        hist_out: dict[int, int] = {}
        hist_in: dict[int, int] = {}
        for g in groups:
            for key, n in self._hist.get((g, False), {}).items():
                hist_out[key] = hist_out.get(key, 0) + n
            for key, n in self._hist.get((g, True), {}).items():
                hist_in[key] = hist_in.get(key, 0) + n
        hist_all = dict(hist_out)
        for key, n in hist_in.items():
            hist_all[key] = hist_all.get(key, 0) + n
        requests = counts["req_out"] + counts["req_in"]
        errors = counts["err_out"] + counts["err_in"]
        firsts = [self._groups[g]["first"] for g in groups if g in self._groups and self._groups[g]["first"] is not None]
        lasts = [self._groups[g]["last"] for g in groups if g in self._groups and self._groups[g]["last"] is not None]
        windows = []
        for i, (start, end, label) in enumerate(self.windows):
            req = sum(self._window_counts[g][i][0] for g in groups if g in self._window_counts)
            err = sum(self._window_counts[g][i][1] for g in groups if g in self._window_counts)
            values = sorted(v for g in groups if g in self._window_values for v in self._window_values[g][i])
            windows.append({"label": label, "start": start, "end": end, "requests": req, "errors": err,
                            "error_rate_pct": _rate(err, req), "durations": len(values),
                            **{name: _round(percentile(values, p)) for name, p in PERCENTILES}})
        return {
            "requests": requests, "errors": errors, "error_rate_pct": _rate(errors, requests),
            **self._percentiles(arrays_out + arrays_in, hist_all),
            "outside": {"requests": counts["req_out"], "errors": counts["err_out"],
                        "error_rate_pct": _rate(counts["err_out"], counts["req_out"]),
                        **self._percentiles(arrays_out, hist_out)},
            "inside": {"requests": counts["req_in"], "errors": counts["err_in"],
                       "error_rate_pct": _rate(counts["err_in"], counts["req_in"]),
                       **self._percentiles(arrays_in, hist_in)},
            "windows": windows,
            "first_ts": min(firsts) if firsts else None,
            "last_ts": max(lasts) if lasts else None,
        }


def hist_percentile(hist: dict, p: float) -> float | None:
    """The p-th percentile of a log histogram ({bin: count}, as LiveSamples.hist; keys may be strings
    as in JSON), to within one bin (0.5 %): the middle of the bin that holds rank p * (n - 1)."""
    bins = sorted((int(k), int(n)) for k, n in hist.items() if int(n) > 0)
    total = sum(n for _k, n in bins)
    if not total:
        return None
    rank = p * (total - 1)
    seen = 0
    for key, n in bins:
        seen += n
        if seen > rank:
            return 0.0 if key == _ZERO_BIN else math.exp((key + 0.5) / _BINS_PER_E)
    return math.exp((bins[-1][0] + 0.5) / _BINS_PER_E)


class LiveSamples:
    """What a running k6 has written so far to its raw sample stream, read incrementally: each
    `read()` decompresses only the bytes appended since the last one (gzip members as k6 flushes
    them; a plain file as is) and counts requests, errors, durations in a log histogram (0.5 % bins,
    for percentiles to within 0.5 %), requests per second of their own time, and the last VUs gauge.
    Memory stays bounded (a few MiB of text at a time, the histogram and the last minute's
    per-second counts) whatever the run's length; the evidence's exact figures come from K6Samples
    after the run."""

    KEEP_SECONDS = 60
    BLOCK = 1 << 20   # compressed bytes read at a time
    TEXT = 4 << 20    # most text decompressed at a time

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0
        self._gzip: bool | None = None
        self._z = None
        self._rest = b"\n"
        self._parser = K6Samples()
        self.requests = self.errors = self.durations = 0
        self.hist: dict[int, int] = {}
        self.per_second: dict[int, int] = {}
        self.vus: int | None = None
        self.first: float | None = None
        self.last: float | None = None

    def read(self) -> int:
        """Reads everything appended since the last call, 1 MiB of the file and at most 4 MiB of text
        at a time (so memory stays bounded however much k6 wrote meanwhile); returns the offset
        reached (0 while the file is not there yet)."""
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            return 0
        with fh:
            fh.seek(self.offset)
            while True:
                data = fh.read(self.BLOCK)
                if self._gzip is None:
                    if len(data) < 2:
                        break  # not enough to tell gzip from plain yet: read again from the same offset
                    self._gzip = data[:2] == b"\x1f\x8b"
                if not data:
                    break
                self.offset += len(data)
                if self._gzip:
                    self._inflate(data)
                else:
                    self._text(data)
        return self.offset

    def _inflate(self, data: bytes) -> None:
        while data:
            if self._z is None:
                self._z = zlib.decompressobj(31)
            self._text(self._z.decompress(data, self.TEXT))
            if self._z.eof:
                data = self._z.unused_data  # the next gzip member, if any
                self._z = None
            else:
                data = self._z.unconsumed_tail

    def _text(self, text: bytes) -> None:
        buf = self._rest + text
        cut = buf.rfind(b"\n")
        if cut < 0:
            self._rest = buf
            return
        chunk, self._rest = buf[:cut], buf[cut:]
        if len(chunk) > 1:
            self._count(chunk)

    def _count(self, chunk: bytes) -> None:
        hist, per_second = self.hist, self.per_second
        floor, log = math.floor, math.log
        last = self.last if self.last is not None else -math.inf
        first = self.first if self.first is not None else math.inf
        for is_duration, t, value in self._parser._chunk_points(chunk):
            if t > last:
                last = t
            if t < first:
                first = t
            if is_duration:
                b = floor(log(value) * _BINS_PER_E) if value > 0 else _ZERO_BIN
                hist[b] = hist.get(b, 0) + 1
                self.durations += 1
            else:
                self.requests += 1
                self.errors += value >= 0.5
                sec = floor(t)
                per_second[sec] = per_second.get(sec, 0) + 1
        vus = _VUS.findall(chunk)
        if vus:
            self.vus = int(vus[-1])
        if last != -math.inf:
            self.first, self.last = first, last
            for sec in [s for s in per_second if s < last - self.KEEP_SECONDS]:
                del per_second[sec]

    def rate(self, seconds: int = 10) -> float | None:
        """Requests per second over the last `seconds` whole seconds before the newest sample's."""
        if self.last is None or self.first is None:
            return None
        newest = math.floor(self.last)
        oldest = max(newest - seconds, math.floor(self.first))
        if newest <= oldest:  # less than a whole second so far
            return None
        return sum(self.per_second.get(s, 0) for s in range(oldest, newest)) / float(newest - oldest)


def _round(value: float | None) -> float | None:
    """Full precision (the report rounds for display); k6's own numbers can be compared exactly."""
    return None if value is None else float(value)


def summarize_file(path: str, windows: Iterable[Sequence] = (), tags: dict | None = None) -> dict:
    """One file in, its summary and per-second rows out (what the benchmark times)."""
    samples = K6Samples(windows, tags)
    samples.feed_file(path)
    return {"summary": samples.summary(), "per_second": samples.per_second(), "lines": samples.lines,
            "points": samples.points, "skipped_lines": samples.skipped_lines}
