# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of examday.ops.watch: `action: run` starts the module asynchronously on the host
(as `async`/`poll: 0` would) and, while it runs, asks it for its new lines (`action: follow`) every
few seconds and prints them, one line per sample and per alert, without terminal control codes, so
an operator and a CI log both see the watch live instead of one result hours later. When the play is
interrupted the watch is asked to stop (its stop file) where the worker still can; where it cannot
(Ctrl-C ends Ansible's worker at once) the watch ends by itself once no follow has touched its
heartbeat for HEARTBEAT_S, and its record stays valid. Everything else (check mode, follow, stop)
runs the module as any module runs."""
from __future__ import annotations

import time

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.examday.ops.plugins.plugin_utils.async_job import ModuleRunner

display = Display()

MODULE = "examday.ops.watch"
FOLLOW_EVERY_S = 5.0   # how often the lines are fetched (at most; a shorter interval is followed at its pace)
GRACE_S = 300          # the async limit beyond the watch's own bound, for its last sample and record
HEARTBEAT_S = 60       # a watch not followed this long ends (Ctrl-C ends Ansible's worker before it can say so)


class ActionModule(ModuleRunner, ActionBase):
    _supports_check_mode = True
    _supports_async = False  # the plugin runs the watch asynchronously itself

    @staticmethod
    def _say(host: str, lines: list) -> None:
        for line in lines:
            display.display(f"{host}: {line}")

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = dict(self._task.args)
        if args.get("action", "run") != "run" or self._task.check_mode:
            result.update(self._module(MODULE, args, task_vars))
            return result
        try:
            minutes, interval = float(args.get("minutes", 60)), float(args.get("interval", 15))
        except (TypeError, ValueError):
            return dict(result, failed=True, msg="watch minutes and interval must be numbers.")
        if minutes <= 0 or interval <= 0:
            return dict(result, failed=True, msg="watch minutes and interval must be above 0.")
        limit = int(minutes * 60 + GRACE_S)
        self._task.async_val = limit
        try:
            started = self._execute_module(module_name=MODULE, module_args=dict(args, heartbeat_timeout=HEARTBEAT_S),
                                           task_vars=task_vars,
                                           wrap_async=not self._connection.has_native_async)
        finally:
            self._task.async_val = 0
        if started.get("failed") or not started.get("ansible_job_id"):
            return dict(result, **started)
        jid = started["ansible_job_id"]
        follow_args = dict(args, action="follow", offset=0)
        every = min(FOLLOW_EVERY_S, interval)
        deadline = time.monotonic() + limit + 60
        try:
            while True:
                time.sleep(every)
                status = self._job_status(jid, task_vars)
                lines = self._module(MODULE, follow_args, task_vars)
                if not lines.get("failed"):
                    self._say(task_vars.get("inventory_hostname", "watch"), lines.get("lines") or [])
                    follow_args["offset"] = lines.get("offset", follow_args["offset"])
                if status.get("finished") or status.get("failed"):
                    break
                if time.monotonic() > deadline:
                    raise AnsibleError(f"the watch (job {jid}) did not end within its bound of {limit} s.")
        except BaseException:
            # interrupted (Ctrl-C) or broken: ask the watch to end after its sample, then let it go
            try:
                self._module(MODULE, dict(args, action="stop"), task_vars)
            except Exception:  # pylint: disable=broad-except  # best effort: the watch ends at its bound anyway
                display.warning(f"could not ask the watch (job {jid}) to stop; it ends at its bound.")
            raise
        for key in ("ansible_job_id", "started", "finished", "results_file", "stdout", "stderr", "stdout_lines",
                    "stderr_lines", "erased"):
            status.pop(key, None)
        status.pop("invocation", None)
        result.update(status)
        result["changed"] = False
        return result
