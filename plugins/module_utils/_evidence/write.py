# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing the evidence files roles produce (run.json, faults.json, ux.json) and the stop files of
background samplers, by kind: the file names are names.py's, and what is written is checked
against the contract first, so a reader never meets a file it does not know."""
from __future__ import annotations

import json
import os

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe, write_private
from ansible_collections.examday.ops.plugins.module_utils._evidence import names

RUN_KEYS = ("playbook", "host", "environment", "profile", "api_url", "platform", "started_at", "finished_at",
            "thresholds", "faults_planned", "problems", "generators", "previous")


def check(kind: str, data) -> None:
    """The contract of each role-written kind; raises OpsError naming what does not fit."""
    if kind not in names.ROLE_WRITTEN:
        raise OpsError(f"unknown evidence kind {kind!r}; known: {', '.join(sorted(names.ROLE_WRITTEN))}.")
    if kind == "run":
        if not isinstance(data, dict):
            raise OpsError("run evidence must be a mapping.")
        unknown = sorted(set(data) - set(RUN_KEYS))
        if unknown:
            raise OpsError(f"run evidence has unknown key {unknown[0]!r}; known: {', '.join(RUN_KEYS)}.")
        for i, problem in enumerate(data.get("problems") or []):
            if not isinstance(problem, dict) or set(problem) != set(names.PROBLEM_KEYS):
                raise OpsError(f"run evidence problem {i} must have exactly {', '.join(names.PROBLEM_KEYS)}.")
    elif kind == "faults":
        if not isinstance(data, list) or not all(isinstance(f, dict) for f in data):
            raise OpsError("faults evidence must be a list of fault results.")
    elif kind == "status":
        if not isinstance(data, dict):
            raise OpsError("status evidence must be a mapping (platform_status's result).")
        for i, check_ in enumerate(data.get("checks") or []):
            if not isinstance(check_, dict) or not {"name", "passed", "detail"} <= set(check_):
                raise OpsError(f"status evidence check {i} must have name, passed and detail.")
    elif kind == "ux":
        if not isinstance(data, dict):
            raise OpsError("ux evidence must be a mapping.")
        checks = data.get("checks") or {}
        unknown = sorted(set(checks) - set(names.UX_CHECKS))
        if unknown:
            raise OpsError(f"ux evidence has unknown check {unknown[0]!r}; known: {', '.join(names.UX_CHECKS)}.")
        for name, value in checks.items():
            if not isinstance(value, dict) or "passed" not in value:
                raise OpsError(f"ux evidence check {name} must be {{passed, detail}}.")
        passed = data.get("passed")
        should = not data.get("failed") and all(v["passed"] is not False for v in checks.values()) and bool(checks)
        if passed is not should:
            raise OpsError(f"ux evidence says passed={passed!r} but its checks say {should}.")


def write(directory: str, kind: str, data) -> str:
    check(kind, data)
    if not os.path.isdir(directory):
        raise OpsError(f"the evidence directory {directory} does not exist.")
    path = os.path.join(directory, names.ROLE_WRITTEN[kind])
    write_private(path, (json.dumps(json_safe(data), indent=1, sort_keys=True) + "\n").encode(), path)
    return path


def stop(directory: str, sampler: str) -> str:
    if sampler not in names.STOP_FILES:
        raise OpsError(f"unknown sampler {sampler!r}; known: {', '.join(sorted(names.STOP_FILES))}.")
    path = os.path.join(directory, names.STOP_FILES[sampler])
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    write_private(path, b"stop\n", path)
    return path


def ux_record(result: dict) -> dict:
    """ux.json from a student_flow result (success or failure): passed only when the flow ran and
    no check failed."""
    record = {k: v for k, v in result.items() if k not in ("invocation", "changed", "_ansible_no_log")}
    checks = record.get("checks") or {}
    record["checks"] = checks
    record["failed"] = bool(result.get("failed"))
    record["passed"] = not record["failed"] and bool(checks) and all(
        (v or {}).get("passed") is not False for v in checks.values())
    return record
