# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading one evidence directory (docs/evidence.md): the file names the report knows, and
`load_evidence`, the only function of the report that reads evidence. A file that is absent stays
None; a file that cannot be read stays None and is named in `problems`, so the gates that need it
say "no evidence: <file> unreadable (...)" instead of passing."""
from __future__ import annotations

import json
import os
from typing import Any

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._evidence import names
from ansible_collections.examday.ops.plugins.module_utils._load.generators import raw_files, scenario_generators
from ansible_collections.examday.ops.plugins.module_utils._report.values import clip

# File names relative to the evidence directory: the evidence contract's (_evidence/names.py).
RUN_JSON = names.RUN
FAULTS_JSON = names.FAULTS
INTEGRITY_JSON = names.INTEGRITY
UX_JSON = names.UX
STATUS_JSON = names.STATUS
CANARY_JSONL = names.CANARY
METRICS_DIR = names.METRICS_DIR
METRICS_JSON = names.metrics_file(names.METRICS)
STATS_JSONL = names.metrics_file(names.STATS)
LOAD_DIR = names.LOAD_DIR  # load/<scenario>/ per scenario
RESULT_JSON = names.LOAD_RESULT  # inside load/<scenario>/
RAW_JSON_GZ = names.LOAD_RAW  # inside load/<scenario>/: k6 --out json, gzip or plain
ACKS_JSONL = names.LOAD_ACKS  # inside load/<scenario>/
RAW_FILES = (RAW_JSON_GZ, names.LOAD_RAW_PLAIN)
FREEZE_PREFIX, FREEZE_SUFFIX = names.FREEZE_PREFIX, ".json"  # freeze-<host>-<sortable time>.json
FREEZE_GLOB = f"{FREEZE_PREFIX}*{FREEZE_SUFFIX}"
TOP_FILES = (RUN_JSON, FAULTS_JSON, INTEGRITY_JSON, UX_JSON, CANARY_JSONL)  # listed as present or not


def _read_json(path: str) -> tuple[Any, str | None]:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh), None
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        return None, f"unreadable ({clip(exc, 120)})"


def _read_jsonl(path: str) -> tuple[list | None, str | None]:
    if not os.path.exists(path):
        return None, None
    rows, bad = [], 0
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    bad += 1
                    continue
                if isinstance(row, dict):
                    rows.append(row)
    except OSError as exc:
        return None, f"unreadable ({clip(exc, 120)})"
    return rows, (f"{bad} unreadable lines skipped" if bad else None)


def load_evidence(evidence_dir: str) -> dict:
    """Reads every file of the evidence contract that is present; absent files stay None."""
    if not os.path.isdir(evidence_dir):
        raise OpsError(f"Evidence directory {evidence_dir} does not exist or is not a directory.")
    ev: dict[str, Any] = {"dir": evidence_dir, "problems": {}}

    def get(rel: str) -> Any:
        data, problem = _read_json(os.path.join(evidence_dir, rel))
        if problem:
            ev["problems"][rel] = problem
        return data

    ev["run"] = get(RUN_JSON)
    ev["faults"] = get(FAULTS_JSON)
    ev["integrity"] = get(INTEGRITY_JSON)
    ev["metrics"] = get(METRICS_JSON)
    ev["ux"] = get(UX_JSON)
    ev["status"] = get(STATUS_JSON) if os.path.exists(os.path.join(evidence_dir, STATUS_JSON)) else None
    for key, rel in (("stats", STATS_JSONL), ("canary", CANARY_JSONL)):
        rows, problem = _read_jsonl(os.path.join(evidence_dir, rel))
        if problem:
            ev["problems"][rel] = problem
        ev[key] = rows
    freezes = sorted(n for n in os.listdir(evidence_dir) if n.startswith(FREEZE_PREFIX) and n.endswith(FREEZE_SUFFIX))
    ev["freeze"], ev["freeze_file"] = None, None
    for name in reversed(freezes):  # the newest freeze (names end with a sortable time)
        record = get(name)
        if isinstance(record, dict) and record.get("direction", "freeze") == "freeze":
            ev["freeze"], ev["freeze_file"] = record, name
            break
    ev["load"] = {}
    load_dir = os.path.join(evidence_dir, LOAD_DIR)
    if os.path.isdir(load_dir):
        for name in sorted(os.listdir(load_dir)):
            sdir = os.path.join(load_dir, name)
            if not os.path.isdir(sdir):
                continue
            raw = raw_files(sdir)  # its own, or every load generator's (load/<scenario>/<generator>/)
            gens = scenario_generators(sdir)
            acks = [p for p in [os.path.join(sdir, ACKS_JSONL)] + [os.path.join(sdir, g, ACKS_JSONL) for g in gens]
                    if os.path.isfile(p)]
            files = sorted(f for f in os.listdir(sdir) if os.path.isfile(os.path.join(sdir, f)))
            files += sorted(f"{g}/{f}" for g in gens for f in os.listdir(os.path.join(sdir, g))
                            if os.path.isfile(os.path.join(sdir, g, f)))
            entry = {"result": get(f"{LOAD_DIR}/{name}/{RESULT_JSON}"), "raw": raw, "acks": acks, "files": files}
            if gens and entry["result"] is None:  # a generator failed: its siblings' part is not the scenario
                entry["raw"] = []
                entry["problem"] = (f"not merged over its load generators ({', '.join(gens)}): one failed or never "
                                    f"started (run.json names it)")
            if entry["result"] is not None or raw or gens:
                ev["load"][name] = entry
    metrics_dir = os.path.join(evidence_dir, METRICS_DIR)
    ev["metrics_files"] = sorted(os.listdir(metrics_dir)) if os.path.isdir(metrics_dir) else []
    return ev


def present_files(ev: dict) -> dict:
    """Which evidence files the directory holds (the report's appendices list them)."""
    out: dict[str, Any] = {}
    for rel in TOP_FILES:
        out[rel] = os.path.isfile(os.path.join(ev["dir"], rel))
    out["freeze"] = ev["freeze_file"]
    out["load"] = {n: e["files"] for n, e in ev["load"].items()}
    out["metrics"] = ev["metrics_files"]
    return out


def run_problems(ev: dict) -> list[dict]:
    """The phases that failed or crashed during the run (run.json `problems`: {phase, error}); a
    problem that is not in that shape is kept with its text, never dropped."""
    run = ev.get("run") if isinstance(ev.get("run"), dict) else {}
    out = []
    for item in run.get("problems") or []:
        if isinstance(item, dict):
            out.append({"phase": clip(item.get("phase") or "a phase", 80), "error": clip(item.get("error") or "failed", 400)})
        else:
            out.append({"phase": "run", "error": clip(item, 400)})
    return out
