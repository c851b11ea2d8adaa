# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection's action plugins share: running a module on the task's host and asking
an async job for its status there, as Ansible's own async_status task would."""
from __future__ import annotations


class ModuleRunner:
    """A mixin for an ActionBase subclass."""

    def _module(self, name: str, args: dict, task_vars: dict) -> dict:
        """Runs module `name` with `args` on the task's host (delegation honoured) and cleans up."""
        try:
            return self._execute_module(module_name=name, module_args=args, task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _job_status(self, jid: str, task_vars: dict) -> dict:
        """async_status of job `jid` on the task's host, in the async folder its shell uses."""
        async_dir = self._remote_expand_user(self.get_shell_option("async_dir", default="~/.ansible_async"))
        return self._module("ansible.legacy.async_status", {"jid": jid, "_async_dir": async_dir}, task_vars)
