# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of examday.ops.load. Every action runs the module as Ansible's normal action does
(async included), except `action: follow`, which shows a running load's progress: the task loops
over (round, generator) pairs with the generator as delegate_to, and each item reads that
generator's progress.json (slurp, on its own connection, so remote generators work as local ones).
One worker process runs all the items of a loop, so the rounds' state is kept here between items:
on a round's first generator the plugin waits for the round's time (shorter when every generator is
expected to end within it: progress.Follow.round_s), on its last it returns the line
merged over every generator and whether all have ended (the task's loop_control.break_when). A
generator whose progress is missing or stale is asked through its async job. Nothing here changes
anything, and a generator that cannot be read is named in the line, never a failed task."""
from __future__ import annotations

import base64
import os
import time

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.examday.ops.plugins.module_utils._evidence import names
from ansible_collections.examday.ops.plugins.module_utils._load import progress as _progress
from ansible_collections.examday.ops.plugins.plugin_utils.async_job import ModuleRunner

JOB_END_POLLS = 20      # a generator whose progress says done: its job is asked up to 20 times,
JOB_END_EVERY_S = 0.25  # 0.25 s apart (plus each async_status run), until it has finished
# scenario -> (its Follow, when its current round started): the rounds of one follow task
_FOLLOWS: dict[str, tuple[_progress.Follow, float]] = {}


class ActionModule(ModuleRunner, ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        if self._task.args.get("action") != "follow":
            wrap_async = self._task.async_val and not self._connection.has_native_async
            result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return result
        if self._task.async_val:
            return dict(result, failed=True, msg="load action=follow runs in the play: give it no async.")
        try:
            result.update(self._follow(dict(self._task.args), task_vars or {}))
        except (TypeError, ValueError) as exc:
            result.update(failed=True, msg=f"load follow: {exc}")
        return result

    def _follow(self, args: dict, task_vars: dict) -> dict:
        scenario, gen = str(args.get("scenario") or ""), str(args.get("generator") or "")
        gens = [str(g) for g in args.get("generators") or [gen]]
        if not scenario or gen not in gens:
            raise ValueError(f"scenario and a generator of generators are needed (got {scenario!r}, {gen!r}).")
        interval = float(args.get("interval") or _progress.INTERVAL_S)
        index, rnd = gens.index(gen), int(args.get("round") or 0)
        follow, round_start = _FOLLOWS.get(scenario, (None, 0.0))
        if follow is None or (rnd == 0 and index == 0) or follow.generators != gens:
            follow, round_start = _progress.Follow(scenario, gens), time.monotonic()
        elif index == 0:  # the previous round's length, decided by what it read (shorter near the end)
            time.sleep(max(0.0, round_start + follow.round_s(interval, round_start) - time.monotonic()))
            round_start = time.monotonic()
        _FOLLOWS[scenario] = (follow, round_start)
        if gen not in follow.ended:  # one that ended keeps its last progress: not read again
            self._read(follow, gen, args, task_vars)
        last = index == len(gens) - 1
        return {"changed": False, "generator": gen, "round": rnd, "done": last and follow.done,
                "line": follow.line() if last else follow.line(gen)}

    def _read(self, follow: _progress.Follow, gen: str, args: dict, task_vars: dict) -> None:
        path = os.path.join(str(args.get("evidence_dir") or "."), names.LOAD_DIR, follow.scenario, gen,
                            _progress.FILE)
        try:
            res = self._module("ansible.legacy.slurp", {"src": path}, task_vars)
            if res.get("unreachable"):
                follow.lost(gen, str(res.get("msg") or "unreachable"))
                return
            if not res.get("failed"):
                data = _progress.read(base64.b64decode(res.get("content") or "").decode("utf-8", "replace"))
                if data is not None:
                    follow.seen(gen, data, time.monotonic())
                    if data["state"] == "done" and args.get("jid"):
                        self._job_end(follow, gen, str(args["jid"]), task_vars)
            if follow.stale(gen, time.monotonic()) and gen not in follow.ended:
                jid = args.get("jid")
                if not jid:
                    follow.job(gen, True, "it never started")
                    return
                status = self._job_status(str(jid), task_vars)
                if status.get("unreachable"):
                    follow.lost(gen, str(status.get("msg") or "unreachable"))
                else:
                    follow.job(gen, bool(status.get("finished")) or bool(status.get("failed")),
                               "failed" if status.get("failed") else "")
        except AnsibleError as exc:  # the connection failed: say so in the line, keep following the others
            follow.lost(gen, str(exc).splitlines()[0][:200])

    def _job_end(self, follow: _progress.Follow, gen: str, jid: str, task_vars: dict) -> None:
        """Its progress says done: the module is returning. Waits (a few seconds at most) until its job
        has finished too, so the wait that follows the follow finds it ended and prints no retry."""
        for _attempt in range(JOB_END_POLLS):
            status = self._job_status(jid, task_vars)
            if status.get("finished") or status.get("failed") or status.get("unreachable"):
                return
            time.sleep(JOB_END_EVERY_S)
        follow.ended.discard(gen)  # not yet: the next round asks again
