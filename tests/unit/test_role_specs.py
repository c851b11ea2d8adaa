"""Every variable a role's defaults define is in its argument spec (so `ansible-doc -t role` lists
everything a user may set), and the spec names no variable the role does not have."""
from __future__ import annotations

import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Secrets the role requires from the inventory (no default on purpose).
REQUIRED_WITHOUT_DEFAULT = {"lab": {"lab_admin_password", "lab_cohort_password", "lab_db_password", "lab_jwt_secret",
                                    "lab_student_password"}}


@pytest.mark.parametrize("role", sorted(os.listdir(os.path.join(ROOT, "roles"))))
def test_the_argument_spec_lists_every_default(role):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml"), encoding="utf-8") as fh:
        defaults = set(yaml.safe_load(fh) or {})
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as fh:
        specs = yaml.safe_load(fh)["argument_specs"]
    options = set()
    for entry in specs.values():
        options |= set(entry.get("options", {}))
        assert all(o.get("description") for o in entry.get("options", {}).values())
    assert sorted(defaults - options) == [], "defaults missing from the argument spec"
    assert sorted(options - defaults - REQUIRED_WITHOUT_DEFAULT.get(role, set())) == [], "spec options the role lacks"
