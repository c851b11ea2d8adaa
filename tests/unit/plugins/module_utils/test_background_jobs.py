from __future__ import annotations

import os

from ansible_collections.examday.ops.plugins.module_utils._background_jobs import (
    ledger_after, match_processes, parse_top, plan, proc_stat)

# `docker top <backend> -eo pid,args` on the lab, with a cron-named process started in the container.
TOP = """PID                 COMMAND
8526                /usr/bin/tini -- /usr/local/bin/lab-entrypoint backend
8599                python3 -m examlab.server
13278               /tmp/cron 600
"""


def test_parse_top_and_match_patterns():
    rows = parse_top(TOP)
    assert [r["args"] for r in rows] == ["/usr/bin/tini -- /usr/local/bin/lab-entrypoint backend",
                                         "python3 -m examlab.server", "/tmp/cron 600"]
    found = match_processes(rows, [r"(^|/)crond?( |$)", r"celery .*\b(beat|worker)\b"])
    assert [(r["pid"], r["pattern"]) for r in found] == [(13278, r"(^|/)crond?( |$)")]
    assert match_processes(rows, [r"examlab\.server"])[0]["pid"] == 8599


def test_proc_stat_reads_state_and_start_time_of_a_real_process():
    with open(f"/proc/{os.getpid()}/stat", encoding="utf-8") as fh:
        stat = proc_stat(fh.read())
    assert stat["state"] in "RS" and stat["starttime"] > 0
    # A command name with spaces and parentheses does not shift the fields.
    assert proc_stat("42 (my (odd) name) T 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 rest")["starttime"] == 777


def c(cid, running=True, paused=False):
    return {"id": cid, "name": f"n-{cid}", "running": running, "paused": paused}


def proc(pid, state="S", start=100):
    return {"pid": pid, "starttime": start, "state": state, "args": "cron -f", "container": "backend-1"}


def test_stop_plans_only_what_is_running_and_is_idempotent():
    actions = plan(True, [c("a"), c("b", running=False)], [proc(7), proc(8, state="T")], "stop", None)
    assert [(a["action"], a.get("id") or a.get("pid")) for a in actions] == [("stop", "a"), ("sigstop", 7)]
    assert plan(True, [c("a", running=False)], [proc(7, state="T")], "stop", None) == []
    assert [a["action"] for a in plan(True, [c("a")], [], "pause", None)] == ["pause"]


def test_start_undoes_exactly_the_ledger():
    stopped = plan(True, [c("a")], [proc(7)], "stop", None)
    ledger = ledger_after(None, stopped, True)
    assert ledger == {"containers": [{"id": "a", "name": "n-a", "action": "stop"}],
                      "processes": [{"pid": 7, "starttime": 100, "args": "cron -f", "container": "backend-1"}]}
    # Container "z" was stopped by someone else: not ours to start. Process 7 was restarted (new
    # start time, a recycled pid): not ours to SIGCONT.
    actions = plan(False, [c("a", running=False), c("z", running=False)], [proc(7, state="T", start=999)], "stop",
                   ledger)
    assert [(a["action"], a.get("id")) for a in actions] == [("start", "a")]
    actions = plan(False, [c("a", running=False)], [proc(7, state="T")], "stop", ledger)
    assert [a["action"] for a in actions] == ["start", "sigcont"]
    assert ledger_after(ledger, actions, False) == {"containers": [], "processes": []}


def test_start_without_a_ledger_brings_job_containers_back():
    actions = plan(False, [c("a", running=False), c("b", paused=True), c("d")], [], "stop", None)
    assert [(a["action"], a["id"]) for a in actions] == [("start", "a"), ("unpause", "b")]
