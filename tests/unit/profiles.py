"""Platform profiles for unit tests: the defaults (PLATFORM.md), the lab's inventory profile and
lab-b's, resolved exactly as the modules resolve them."""
from __future__ import annotations

import copy
import os

import yaml

from ansible_collections.examday.ops.plugins.module_utils._platform import profile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def inventory_profile(inventory: str) -> dict:
    """examday_platform as an inventory writes it (before defaults)."""
    path = os.path.join(ROOT, "inventories", inventory, "group_vars", "all", "profile.yml")
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["examday_platform"]


def default() -> dict:
    return profile.load({})


def lab() -> dict:
    return profile.load(copy.deepcopy(inventory_profile("local")))


def with_(base: dict, **changes) -> dict:
    """A resolved profile with dotted-path changes, e.g. with_(lab(), **{"readiness.rule": "nested"})."""
    out = copy.deepcopy(base)
    for dotted, value in changes.items():
        node = out
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    return out
