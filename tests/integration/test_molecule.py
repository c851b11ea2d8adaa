"""The Molecule scenarios on the lab, in the lab's worker (the lab is theirs while they run):
molecule/lab (the lab role: syntax, converge, idempotence, verify) and molecule/default (the freeze
role: converge, idempotence with changed=0, verify by effect, unfreeze in cleanup). They run here,
not before pytest, so that the other workers' long rehearsals do not wait for them."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.integration.conftest import ROOT, VENV_BIN


@pytest.mark.parametrize("scenario", ["lab", "default"])
def test_molecule_scenario(lab, scenario):
    proc = subprocess.run([os.path.join(VENV_BIN, "molecule"), "test", "-s", scenario], cwd=ROOT, capture_output=True,
                          text=True, timeout=900, check=False,
                          env={**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"molecule test -s {scenario} failed (rc {proc.returncode}):\n{output[-6000:]}"
    assert "idempotence] Executed: Successful" in output and "verify] Executed: Successful" in output, output[-3000:]
    assert lab.flag() in (None, False, "false") and lab.worker_running()  # left as found: unfrozen, jobs back
