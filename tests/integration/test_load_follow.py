"""The load action plugin's `action: follow` run by the real ansible-playbook, with no lab: three
load-generator hosts as Ansible reaches them (two on the local connection, one over SSH to a port
where nothing listens), each with the progress.json a running load would write, one of them
rewritten by the test while the play follows. The loop prints each generator's line and the merged
one per round, gives up the unreachable generator after its rounds, and ends (break_when) as soon
as every generator has ended, long before its bound."""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import time

from ansible_collections.examday.ops.plugins.module_utils._evidence import names
from ansible_collections.examday.ops.plugins.module_utils._load import progress as prog
from tests.integration.conftest import ROOT, VENV_BIN

SCENARIO = "answers"
ROUNDS = 60


def _write(evidence, gen: str, state: str, requests: int, errors: int = 0) -> None:
    folder = evidence / names.LOAD_DIR / SCENARIO / gen
    folder.mkdir(parents=True, exist_ok=True)
    data = {"version": prog.VERSION, "scenario": SCENARIO, "generator": gen, "state": state, "ok": None,
            "start_at": None, "started": time.time() - 30, "updated": time.time(), "elapsed_s": 30.0,
            "planned_s": 60.0, "vus": 10, "requests": requests, "errors": errors, "rps": 4.0,
            "hist": {"1000": requests}}  # every duration in one bin: exp(1000.5/200) ms
    tmp = folder / (prog.FILE + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, folder / prog.FILE)


def test_follow_prints_merged_lines_gives_up_an_unreachable_generator_and_ends_when_all_have(tmp_path):
    evidence = tmp_path / "evidence"
    _write(evidence, "gen1", "done", 100, 2)
    _write(evidence, "gen2", "running", 50)
    inventory = {"all": {"children": {"examday_loadgen": {"hosts": {
        "gen1": {"ansible_connection": "local", "ansible_python_interpreter": os.path.join(VENV_BIN, "python")},
        "gen2": {"ansible_connection": "local", "ansible_python_interpreter": os.path.join(VENV_BIN, "python")},
        "gen3": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 9,
                 "ansible_ssh_common_args": "-o ConnectTimeout=3 -o StrictHostKeyChecking=no"}}}}}}
    (tmp_path / "hosts.json").write_text(json.dumps(inventory), encoding="utf-8")
    book = [{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "Follow",
        "examday.ops.load": {"action": "follow", "scenario": SCENARIO, "evidence_dir": str(evidence),
                             "generator": "{{ item.1 }}", "generators": ["gen1", "gen2", "gen3"],
                             "round": "{{ item.0 }}", "jid": "j{{ item.1 }}.1", "interval": 1},
        "delegate_to": "{{ item.1 }}",
        "loop": f"{{{{ range({ROUNDS}) | product(['gen1', 'gen2', 'gen3']) | list }}}}",
        "loop_control": {"label": "{{ progress.line | default(item.1) }}", "break_when": "progress.done | default(false)"},
        "register": "progress", "ignore_unreachable": True}, {
        "name": "Count", "ansible.builtin.debug": {"msg": "items {{ progress.results | length }}"}}]}]
    (tmp_path / "book.yml").write_text(json.dumps(book), encoding="utf-8")

    # gen2 moves on once the play has printed a merged line with its first progress, and ends once
    # it has printed one with its second: driven by what the play printed, not by timing
    steps = [(" of 150 requests)", lambda: _write(evidence, "gen2", "running", 80, 1)),
             (" of 180 requests)", lambda: _write(evidence, "gen2", "done", 120, 1))]
    lines = []
    with subprocess.Popen([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(tmp_path / "hosts.json"),
                           str(tmp_path / "book.yml")], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}) as proc:
        try:
            for line in proc.stdout:
                lines.append(line)
                if steps and "(3 load generators)" in line and steps[0][0] in line:
                    steps.pop(0)[1]()
            proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
    out = "".join(lines)
    assert proc.returncode == 0 and not steps, out[-3000:]
    merged = re.findall(r"=> \(item=(answers \(3 load generators\): .*)\)$", out, flags=re.M)
    # while gen2 runs, gen1 (ended) adds its requests but no longer its VUs or rate
    assert merged[0].startswith("answers (3 load generators): 30 s of 60 s, 10 VUs, 4.0 req/s, p95 ")
    counts = [int(re.search(r" of ([0-9,]+) requests\)", line).group(1).replace(",", "")) for line in merged]
    assert counts == sorted(counts) and {150, 180, 220} <= set(counts), counts
    # the end: every count summed (100 + 120 requests, 2 + 1 errors), gen3 named, the loop stopped early
    p95 = f"p95 {math.exp(1000.5 / 200):.1f} ms"
    assert merged[-1].startswith(f"answers (3 load generators): ended after 30 s, 20 VUs, 8.0 req/s, {p95}, "
                                 f"errors 1.36 % (3 of 220 requests); gen3: progress not read ("), merged[-1]
    assert re.search(r"=> \(item=answers on gen1: ended after 30 s", out)
    items = int(re.search(r'"?msg"?: "?items (\d+)', out).group(1))
    assert items % 3 == 0 and 3 * prog.UNREACHABLE_ROUNDS <= items < 3 * ROUNDS // 2, items
    assert "\x1b" not in out
