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


GROUP = "group/examday.ops.platform"


def sets_profile(play) -> bool:
    """A play whose module_defaults give every member of the platform group the profile."""
    return isinstance(play, dict) and "platform" in ((play.get("module_defaults") or {}).get(GROUP) or {})


def covered_task_files() -> set:
    """playbooks/tasks/*.yml included only from plays that set the profile with module_defaults."""
    covered, seen = set(), {}
    for path in glob.glob(os.path.join(ROOT, "playbooks", "*.yml")):
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        plays = yaml.safe_load(text) or []
        for name in os.listdir(os.path.join(ROOT, "playbooks", "tasks")):
            if f"tasks/{name}" in text:
                seen.setdefault(name, []).append(all(sets_profile(p) for p in plays))
    for name, flags in seen.items():
        if all(flags):
            covered.add(os.path.join("playbooks", "tasks", name))
    return covered


def profile_calls():
    files = glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")) + \
        glob.glob(os.path.join(ROOT, "playbooks", "*.yml")) + glob.glob(os.path.join(ROOT, "playbooks", "tasks", "*.yml")) + \
        glob.glob(os.path.join(ROOT, "molecule", "*", "*.yml"))
    covered = covered_task_files()
    for path in sorted(files):
        rel = os.path.relpath(path, ROOT)
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        plays = doc if isinstance(doc, list) else []
        for play in plays if rel.startswith("playbooks/") and not rel.startswith("playbooks/tasks/") else [doc]:
            by_default = sets_profile(play) or rel in covered
            for task in tasks(play):
                for module in PROFILE_MODULES:
                    args = task.get(f"examday.ops.{module}")
                    if args is not None and (args or {}).get("action") != "follow":  # follow reads progress files only
                        yield rel, task.get("name"), module, (dict(args or {}, platform="(module_defaults)")
                                                              if by_default else args)


def test_every_call_of_a_profile_module_passes_the_profile():
    calls = list(profile_calls())
    assert len(calls) > 30
    missing = [(path, name, module) for path, name, module, args in calls
               if not isinstance(args, dict) or "platform" not in args]
    assert not missing, f"these tasks do not pass platform: {missing}"
