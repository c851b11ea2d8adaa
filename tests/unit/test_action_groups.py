"""The action groups of meta/runtime.yml: every member takes every option its group stands for, so
`module_defaults: {group/examday.ops.<group>: {...}}` never meets "Unsupported parameters"."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = {"platform": {"platform"}, "platform_api": {"api_url", "timeout", "validate_certs"}, "db": {"db"},
          "thresholds": {"thresholds"}, "compose": {"compose_project"}}


def test_every_member_of_a_group_takes_the_group_options():
    with open(os.path.join(ROOT, "meta", "runtime.yml"), encoding="utf-8") as fh:
        groups = yaml.safe_load(fh)["action_groups"]
    assert set(groups) == set(SHARED)
    members = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py"))
    doc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "-j",
                          *[f"examday.ops.{m}" for m in members]], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=300).stdout
    options = {name.rsplit(".", 1)[1]: set(entry["doc"]["options"]) for name, entry in json.loads(doc).items()}
    for group, mods in groups.items():
        for mod in mods:
            assert SHARED[group] <= options[mod], f"{mod} lacks {SHARED[group] - options[mod]} of group {group}"
    # and every module that takes a group's options is in that group
    for group, opts in SHARED.items():
        takers = {m for m, o in options.items() if opts <= o}
        assert takers <= set(groups[group]), f"{sorted(takers - set(groups[group]))} take {opts} but are not in {group}"
