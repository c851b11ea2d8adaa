"""Every task of the roles and playbooks that calls a module taking the platform profile passes it:
a module left on its defaults would judge the lab by the real platform's facts."""
from __future__ import annotations

import glob
import os

import yaml

from tests.unit.profiles import ROOT

PROFILE_MODULES = ("student_flow", "platform_status", "exam_mode", "background_jobs", "fault", "load",
                   "integrity_check", "metrics_capture", "canary", "platform_profile")


def tasks(node):
    """Every task dict in a task list or play, blocks and handlers included."""
    if isinstance(node, list):
        for item in node:
            yield from tasks(item)
    elif isinstance(node, dict):
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            if key in node:
                yield from tasks(node[key])
        yield node


def profile_calls():
    files = glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")) + \
        glob.glob(os.path.join(ROOT, "playbooks", "*.yml")) + glob.glob(os.path.join(ROOT, "molecule", "*", "*.yml"))
    for path in sorted(files):
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        for task in tasks(doc):
            for module in PROFILE_MODULES:
                args = task.get(f"examday.ops.{module}")
                if args is not None:
                    yield os.path.relpath(path, ROOT), task.get("name"), module, args


def test_every_call_of_a_profile_module_passes_the_profile():
    calls = list(profile_calls())
    assert len(calls) > 30
    missing = [(path, name, module) for path, name, module, args in calls
               if not isinstance(args, dict) or "platform" not in args]
    assert not missing, f"these tasks do not pass platform: {missing}"
