"""Unit tests of the progress lines of a running load (_load/progress.py, _k6_samples.LiveSamples,
the ticks of manager.run_process), on the real raw samples of two generators that ran one scenario
against the lab together (tests/unit/fixtures/k6_generators/), fed as k6 writes them: a few KiB at a time."""
from __future__ import annotations

import gzip
import json
import os
import stat
import sys
import time

import pytest

from ansible_collections.examday.ops.plugins.module_utils._evidence import names
from ansible_collections.examday.ops.plugins.module_utils._k6_samples import K6Samples, LiveSamples
from ansible_collections.examday.ops.plugins.module_utils._k6_samples import hist_percentile, percentile
from ansible_collections.examday.ops.plugins.module_utils._load import progress as prog
from ansible_collections.examday.ops.plugins.module_utils._load.manager import run_process
from tests.unit.test_load_generators import _durations

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "k6_generators")
GENS = ("gen1", "gen2")


def _raw(gen: str) -> str:
    return os.path.join(FIX, gen, names.LOAD_RAW)


def _last_vus(path: str) -> int:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line)["data"]["value"] for line in fh if line.startswith('{"metric":"vus","type":"Point"')][-1]


def _grow(src: str, dest: str, step: int):
    """Appends src to dest `step` bytes at a time, as k6 flushes its gzip stream; yields after each."""
    data = open(src, "rb").read()
    with open(dest, "wb") as out:
        for i in range(0, len(data), step):
            out.write(data[i:i + step])
            out.flush()
            yield


@pytest.mark.parametrize("step", [50, 997, 7000, 1 << 20])
def test_the_live_reader_counts_a_growing_stream_exactly(tmp_path, step):
    dest = str(tmp_path / names.LOAD_RAW)
    live = LiveSamples(dest)
    assert live.read() == 0 and live.requests == 0  # not written yet
    seen = []
    grower = _grow(_raw("gen1"), dest, step)
    for _step in grower:
        live.read()
        seen.append(live.requests)
    assert seen == sorted(seen) and (len(set(seen)) > 1 or step == 1 << 20)  # it grew as it was read
    full = K6Samples()
    full.feed_file(_raw("gen1"))
    exact = full.summary()
    assert (live.requests, live.errors, live.durations) == (exact["requests"], exact["errors"], exact["durations"])
    assert live.vus == _last_vus(_raw("gen1"))
    assert live.rate() is not None and live.rate() > 0
    p95 = hist_percentile(live.hist, 0.95)
    assert p95 == pytest.approx(exact["p95_ms"], rel=0.006)  # one 0.5 % bin


def test_the_live_reader_takes_a_large_backlog_a_bounded_piece_at_a_time(tmp_path):
    live = LiveSamples(_raw("gen1"))
    live.BLOCK, live.TEXT = 512, 4096  # the whole file in one read(), through many small pieces
    sizes = []
    count = live._count
    live._count = lambda chunk: (sizes.append(len(chunk)), count(chunk))
    live.read()
    full = K6Samples()
    full.feed_file(_raw("gen1"))
    assert live.requests == full.summary()["requests"] > 0
    assert len(sizes) > 100 and max(sizes) <= 4096 + 1000  # a piece of text plus the line it cut


def _read_in_two(path, data: bytes, cut: int) -> LiveSamples:
    """A LiveSamples that read `data` as k6 would have written it: `cut` bytes, then the rest."""
    path.write_bytes(data[:cut])
    live = LiveSamples(str(path))
    live.read()
    with open(path, "ab") as fh:
        fh.write(data[cut:])
    live.read()
    return live


def test_the_live_reader_reads_a_plain_stream_and_a_second_gzip_member(tmp_path):
    with gzip.open(_raw("gen2"), "rb") as fh:
        text = fh.read()
    half = text.index(b"\n", len(text) // 2) + 1
    live = _read_in_two(tmp_path / "raw.json", text, half)
    full = K6Samples()
    full.feed_file(_raw("gen2"))
    assert live.requests == full.summary()["requests"]
    members = gzip.compress(text[:half]) + gzip.compress(text[half:])
    boundary = len(gzip.compress(text[:half]))
    for cut in (boundary - 3, boundary, boundary + 1, boundary + 10):  # reads that end around the members' boundary
        two = _read_in_two(tmp_path / f"members{cut}.json.gz", members, cut)
        assert two.requests == live.requests and two.hist == live.hist, cut


def test_a_writer_rewrites_its_progress_through_the_run_and_never_raises(tmp_path):
    out = tmp_path / "gen1"
    out.mkdir()
    clock = iter(range(1000, 2000, 5))
    writer = prog.ProgressWriter(str(out), "submit", "gen1", 45.0, "2026-12-01T09:00:03Z", clock=lambda: next(clock))
    writer.waiting()
    first = prog.read((out / prog.FILE).read_text())
    assert first["state"] == "waiting" and first["requests"] == 0 and first["start_at"] == "2026-12-01T09:00:03Z"
    assert set(first) == set(prog.KEYS) and stat.S_IMODE((out / prog.FILE).stat().st_mode) == 0o600
    ticks = 0
    for _step in _grow(_raw("gen1"), str(out / names.LOAD_RAW), 4000):
        writer.running()
        ticks += 1
    writer.ending()
    writer.done(True)
    last = prog.read((out / prog.FILE).read_text())
    assert last["state"] == "done" and last["ok"] is True and last["elapsed_s"] > 0 and ticks > 2
    full = K6Samples()
    full.feed_file(_raw("gen1"))
    assert last["requests"] == full.summary()["requests"] > 0
    assert writer.error is None and not (out / (prog.FILE + ".tmp")).exists()
    # a corrupt stream and a folder that is gone are kept as the first error, never raised
    (out / names.LOAD_RAW).write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    broken = prog.ProgressWriter(str(out), "submit", "gen1", 45.0, None)
    broken.running()
    assert broken.error and "error" in broken.error.lower()
    gone = prog.ProgressWriter(str(tmp_path / "no" / "such"), "submit", "gen1", 45.0, None)
    gone.done(False)
    assert gone.error.startswith("FileNotFoundError")


def test_a_foreign_or_older_file_is_not_progress():
    assert prog.read("not json") is None
    assert prog.read(json.dumps({"version": 0, "state": "done"})) is None
    assert prog.read(json.dumps({"version": prog.VERSION, "state": "done"})) is None  # keys missing


def _progress_of(tmp_path, gen: str) -> dict:
    out = tmp_path / gen
    out.mkdir()
    writer = prog.ProgressWriter(str(out), "submit", gen, 45.0, None, clock=time.time)
    for _step in _grow(_raw(gen), str(out / names.LOAD_RAW), 20000):
        writer.running()
    writer.ending()
    return writer.snapshot("ending")


def test_the_merged_line_sums_the_generators_and_takes_p95_over_their_union(tmp_path):
    parts = [_progress_of(tmp_path, g) for g in GENS]
    merged = prog.merge(parts)
    union = sorted(_durations(_raw("gen1")) + _durations(_raw("gen2")))
    exact = percentile(union, 0.95)
    assert merged["requests"] == parts[0]["requests"] + parts[1]["requests"] == len(union)
    assert merged["p95_ms"] == pytest.approx(exact, rel=0.006)
    assert merged["vus"] == parts[0]["vus"] + parts[1]["vus"]
    text = prog.line("submit (2 load generators)", merged)
    assert text.startswith("submit (2 load generators): ended after ")
    assert f"p95 {merged['p95_ms']:.1f} ms" in text and f"of {len(union):,} requests)" in text
    assert "\x1b" not in text and "\n" not in text


def _p(gen, state="running", requests=10, errors=1, updated=None, vus=5):
    return {"version": prog.VERSION, "scenario": "answers", "generator": gen, "state": state, "ok": None,
            "start_at": "2026-12-01T09:00:03Z", "started": 1.0, "updated": time.time() if updated is None else updated,
            "elapsed_s": 40.0, "planned_s": 161.0, "vus": vus, "requests": requests, "errors": errors, "rps": 2.5,
            "hist": {"1000": requests - 1, "1200": 1}}


def test_following_generators_ends_only_when_every_one_has_ended():
    follow = prog.Follow("answers", ["gen1", "gen2"])
    assert follow.line() == "answers (2 load generators): no progress yet"
    follow.seen("gen1", _p("gen1", state="waiting", requests=0, errors=0, vus=None), 100.0)
    follow.job("gen2", False)
    assert follow.line() == ("answers (2 load generators): waiting for the common start at 2026-12-01T09:00:03Z; "
                             "gen2: no progress yet")
    follow.seen("gen1", _p("gen1", updated=1.0), 110.0)
    follow.seen("gen2", _p("gen2", requests=30, errors=0, updated=1.0), 110.0)
    line = follow.line()
    assert line.startswith("answers (2 load generators): 40 s of 161 s, 10 VUs, 5.0 req/s, p95 ")
    assert line.endswith("errors 2.50 % (1 of 40 requests)") and not follow.done
    assert follow.line("gen2").startswith("answers on gen2: 40 s of 161 s, 5 VUs, 2.5 req/s")
    follow.seen("gen1", _p("gen1", state="done", vus=1, updated=2.0), 120.0)
    assert not follow.done
    # while gen2 runs, the generator that ended no longer adds its VUs and rate; its requests stay counted
    assert follow.line().startswith("answers (2 load generators): 40 s of 161 s, 5 VUs, 2.5 req/s")
    # gen2 stops rewriting its progress: stale by the controller's own clock (never the generator's),
    # so its job is asked, and has finished
    follow.seen("gen2", _p("gen2", requests=30, errors=0, updated=1.0), 110.0 + prog.STALE_S)
    assert not follow.stale("gen2", 110.0 + prog.STALE_S)
    assert follow.stale("gen2", 111.0 + prog.STALE_S) and not follow.stale("gen1", 121.0)
    follow.job("gen2", True, "failed")
    assert follow.done and "gen2: its load has ended (failed)" in follow.line()


def test_rounds_are_whole_until_every_generator_is_expected_to_end_within_one():
    """A round lasts the interval, until every generator still followed may end within one (planned
    less elapsed, counted on the controller's clock from when that progress was first seen, less the
    WRITE_EVERY_S its progress may be old), or is ending: then END_ROUND_S, so the end (often before
    the planned bound) shows within seconds."""
    follow = prog.Follow("answers", ["gen1", "gen2"])
    assert follow.round_s(10.0, 100.0) == 10.0  # nothing known yet
    follow.seen("gen1", {**_p("gen1", state="waiting"), "elapsed_s": None}, 100.0)
    follow.seen("gen2", {**_p("gen2", updated=1.0), "elapsed_s": 155.0}, 100.0)
    assert follow.round_s(10.0, 100.0) == 10.0  # gen1 waits for its start: a whole round
    follow.seen("gen1", {**_p("gen1", updated=2.0), "elapsed_s": 120.0}, 101.0)
    assert follow.round_s(10.0, 101.0) == 10.0  # gen1 has 41 s left
    follow.seen("gen1", {**_p("gen1", updated=3.0), "elapsed_s": 140.0}, 102.0)
    assert follow.round_s(10.0, 102.0) == 10.0  # 21 s left as seen at 102
    # a progress may be WRITE_EVERY_S old: short rounds once 10 s + 5 s are left (gen2 is past its end)
    assert follow.round_s(10.0, 102.0 + 20.5 - 10.0 - prog.WRITE_EVERY_S) == 10.0
    assert follow.round_s(10.0, 102.0 + 21.0 - 10.0 - prog.WRITE_EVERY_S) == prog.END_ROUND_S
    assert follow.round_s(1.0, 113.0) == 1.0  # never longer than the interval
    follow.seen("gen1", _p("gen1", state="ending", updated=4.0), 114.0)
    follow.seen("gen2", _p("gen2", state="done", updated=4.0), 114.0)
    assert follow.round_s(10.0, 114.0) == prog.END_ROUND_S  # ending: its evidence is being collected
    follow.seen("gen1", _p("gen1", state="done", updated=5.0), 116.0)
    assert follow.done


def test_an_unreachable_generator_is_named_and_given_up_after_some_rounds():
    follow = prog.Follow("submit", ["localhost"])
    follow.seen("localhost", _p("localhost", state="done"), 1.0)
    assert follow.done and follow.line().startswith("submit: ended after 40 s, 5 VUs")
    other = prog.Follow("submit", ["gen1"])
    for _round in range(prog.UNREACHABLE_ROUNDS):
        assert not other.done
        other.lost("gen1", "ssh: connect to host gen1 port 22: No route to host")
    assert other.done and other.line() == ("submit: no progress yet; gen1: progress not read "
                                           "(ssh: connect to host gen1 port 22: No route to host)")
    other.seen("gen1", _p("gen1"), 2.0)  # back, and still running: followed again, named no more
    assert not other.done and other.unreachable["gen1"] == 0 and "not read" not in other.line()


def test_the_process_is_ticked_while_it_runs_and_stopped_at_its_bound(tmp_path):
    flag = tmp_path / "ticked"
    ticks = []

    def tick():  # the child ends once it sees the second tick's file: no timing is assumed
        ticks.append(1)
        if len(ticks) == 2:
            flag.touch()

    waits = ("import os, time\nfor _ in range(3000):\n    if os.path.exists(%r): break\n    time.sleep(0.01)"
             % str(flag))
    rc, timed_out = run_process([sys.executable, "-c", waits], dict(os.environ), 60, str(tmp_path / "o"),
                                str(tmp_path / "e"), on_tick=tick, tick_s=0.05)
    assert (rc, timed_out) == (0, False) and len(ticks) >= 2 and flag.exists()
    rc, timed_out = run_process([sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ), 0.3,
                                str(tmp_path / "o"), str(tmp_path / "e"), grace_s=10, on_tick=lambda: None,
                                tick_s=0.05)
    assert timed_out and rc != 0  # SIGINT at the bound, as k6 gets it
