"""The collection as a user gets it: the tarball holds only the collection, installs into a collections
path, and its playbooks, called by FQCN from a directory outside the checkout, freeze, unfreeze and
smoke the lab, writing their records into that working directory, never into the install directory.
The documentation lint and the execution environment's build context pass too."""
from __future__ import annotations

import glob
import os
import subprocess
import tarfile

import yaml

from tests.integration.conftest import ROOT, VENV_BIN

FORBIDDEN = (".venv", ".venv-sanity", ".lab", ".ansible", ".ci", ".pytest_cache", "reports", "collections", "build",
             "tests/output")
REQUIRED = ("MANIFEST.json", "FILES.json", "COPYING", "README.md", "meta/runtime.yml", "meta/execution-environment.yml",
            "requirements-runtime.txt", "bindep.txt", "plugins/modules/report.py", "roles/rehearsal/tasks/main.yml",
            "playbooks/freeze.yml", "playbooks/rehearsal.yml", "files/k6/examday.js")


def run(argv: list[str], cwd: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 0, f"{' '.join(argv[:3])} failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    return proc


def build(tmp_path) -> str:
    out = tmp_path / "build"
    run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), ROOT], ROOT)
    (tarball,) = glob.glob(str(out / "examday-ops-*.tar.gz"))
    return tarball


def test_the_tarball_holds_only_the_collection(tmp_path):
    tarball = build(tmp_path)
    with tarfile.open(tarball) as tar:
        names = [m.name for m in tar.getmembers()]
    junk = [n for n in names if any(n == f or n.startswith(f + "/") for f in FORBIDDEN) or "__pycache__" in n
            or n.endswith((".pyc", ".tar.gz"))]
    assert not junk, junk
    assert set(REQUIRED) <= set(names), set(REQUIRED) - set(names)
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as fh:
        galaxy = yaml.safe_load(fh)
    assert os.path.basename(tarball) == f"examday-ops-{galaxy['version']}.tar.gz"


def test_installed_playbooks_run_by_fqcn_from_outside_the_checkout(lab, tmp_path):
    tarball = build(tmp_path)
    collections = tmp_path / "collections"
    work = tmp_path / "work"
    work.mkdir()
    # Only the temporary collections path counts, as on a machine where nothing was installed: a copy in
    # ~/.ansible/collections (molecule leaves one there) must neither stop the install nor be the one run.
    env = {"ANSIBLE_COLLECTIONS_PATH": str(collections), "PWD": str(work), "ANSIBLE_CONFIG": "",
           "EXAMDAY_REPO_ROOT": ROOT}  # the lab's secrets and image live in the checkout's .lab/
    run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "install", "-p", str(collections), tarball],
        str(work), env)
    installed = collections / "ansible_collections" / "examday" / "ops"
    assert (installed / "MANIFEST.json").exists()
    inventory = os.path.join(ROOT, "inventories", "local")
    playbook = os.path.join(VENV_BIN, "ansible-playbook")
    listed = run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "list", "examday.ops", "--format", "yaml"],
                 str(work), env)
    assert list(yaml.safe_load(listed.stdout)) == [str(collections / "ansible_collections")], listed.stdout
    for name in ("examday.ops.freeze", "examday.ops.unfreeze", "examday.ops.smoke"):
        run([playbook, "-i", inventory, name], str(work), env)
    records = sorted(os.path.basename(p) for p in glob.glob(str(work / "reports" / "*.json")))
    assert any(r.startswith("freeze-lab-") for r in records) and any(r.startswith("unfreeze-lab-") for r in records)
    assert not (installed / "reports").exists() and not glob.glob(str(installed / "**" / "freeze-*"), recursive=True)
    assert lab.flag() in (None, False, "false") and lab.worker_running()


def test_docs_lint_and_the_execution_environment_context(tmp_path):
    tree = tmp_path / "ansible_collections" / "examday"
    tree.mkdir(parents=True)
    os.symlink(ROOT, tree / "ops")
    env = {"PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    run([os.path.join(VENV_BIN, "antsibull-docs"), "lint-collection-docs", "--plugin-docs", "."], str(tree / "ops"), env)
    run([os.path.join(VENV_BIN, "antsibull-changelog"), "lint"], ROOT, env)  # the fragments CHANGELOG.md is made from
    # the execution environment: the build context from the definition, with this collection's tarball in it
    work = tmp_path / "ee"
    work.mkdir()
    for name in ("execution-environment.yml", "requirements-runtime.txt", "bindep.txt"):
        os.symlink(os.path.join(ROOT, name), work / name)
    out = work / "build"
    run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), ROOT], ROOT)
    context = tmp_path / "context"
    run([os.path.join(VENV_BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "--context",
         str(context)], str(work), env)
    dockerfile = (context / "Dockerfile").read_text()
    assert "ansible-galaxy collection install /tmp/examday-collections/examday-ops-*.tar.gz" in dockerfile
    assert glob.glob(str(context / "_build" / "collections" / "examday-ops-*.tar.gz"))
    assert "psycopg" in (context / "_build" / "requirements.txt").read_text()
