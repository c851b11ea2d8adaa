"""./examday rehearse's exit code: GO, NO-GO and a broken run differ."""
from __future__ import annotations

import importlib.util
import json
import os
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("verdict_exit", os.path.join(ROOT, "scripts", "verdict_exit.py"))
ve = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ve)


def report(tmp_path, name: str, verdict: str) -> None:
    os.makedirs(tmp_path / name)
    (tmp_path / name / "report.json").write_text(json.dumps({"verdict": verdict}))


def test_go_no_go_and_broken_differ(tmp_path):
    started = time.time() - 1
    assert ve.verdict_exit(2, started, str(tmp_path)) == ve.BROKEN  # refused before any report
    report(tmp_path, "rehearsal-lab-1", "NO-GO")
    assert ve.verdict_exit(2, started, str(tmp_path)) == ve.NO_GO
    report(tmp_path, "rehearsal-lab-2", "GO")
    os.utime(tmp_path / "rehearsal-lab-2" / "report.json", (time.time() + 5, time.time() + 5))
    assert ve.verdict_exit(0, started, str(tmp_path)) == ve.GO
    assert ve.verdict_exit(2, started, str(tmp_path)) == ve.NO_GO  # GO gates but a problem failed the play


def test_an_older_report_does_not_count(tmp_path):
    report(tmp_path, "rehearsal-lab-old", "GO")
    assert ve.verdict_exit(2, time.time() + 10, str(tmp_path)) == ve.BROKEN
