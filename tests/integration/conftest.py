"""Integration fixtures: the lab on the real Docker engine, deployed by the project's own playbook.

Every container touched here belongs to the lab's compose project, which these tests (through
playbooks/lab.yml) started; containers are addressed by id, found by compose labels."""
from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import re
import shutil
import subprocess
import time
import uuid

import docker
import psycopg
import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
API = "http://127.0.0.1:18080"
PROJECT = "exam_platform"
STATE = os.path.join(ROOT, ".lab")
INVENTORY = os.path.join(ROOT, "inventories", "local")
# Copies of the lab (same image, shape and profile; each its own project, ports and state) that the
# suite deploys so that its three workers share the lab's long tests: lab2 runs in a worker of its
# own (xdist group lab-c), lab3 in lab-b's. The inventory of a copy is the local one with its values
# on top (lab_copy_inventory). Three workers keep the two cores about three-quarters busy; more would
# starve the platforms, and a platform starved of CPU is slow for real (docs/design.md 35).
COPIES = {
    "lab2": {"host": "lab2", "project": "exam_platform_a2", "http_port": 18280, "pg_port": 15632, "redis_port": 16579,
             "state_dir": os.path.join(STATE, "a2"), "group": "lab-c"},
    "lab3": {"host": "lab3", "project": "exam_platform_a3", "http_port": 18380, "pg_port": 15732, "redis_port": 16679,
             "state_dir": os.path.join(STATE, "a3"), "group": "lab-b"},
}
GROUPS = {"lab": "lab", "labb": "lab-b", **{name: c["group"] for name, c in COPIES.items()}}  # platform: xdist group
COHORT_DOMAIN = "cohort.examday.invalid"
# Modules that take the platform profile (the `platform` option).
PROFILE_MODULES = ("student_flow", "platform_status", "exam_mode", "background_jobs", "fault", "load",
                   "integrity_check", "metrics_capture", "canary", "platform_profile")


@pytest.hookimpl(tryfirst=True)  # pytest-xdist reads the groups in its own hook, which must run after this one
def pytest_collection_modifyitems(items):
    """Integration tests are marked; with pytest-xdist (`-n 3 --dist loadgroup`, scripts/test.sh) the
    tests of each platform (the lab, its copies, lab-b) run in the worker of its group (GROUPS), in
    order, while the unit tests run wherever a worker is free: the platforms share nothing (projects,
    ports, state). The lab fixtures hold a lock (`exclusive`), so a scheduling that splits a lab's
    tests fails at once."""
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            used = set(getattr(item, "fixturenames", ()))  # every fixture the test needs, directly or not
            labs = [name for name in GROUPS if name in used]
            groups = sorted({GROUPS[name] for name in labs})
            if len(groups) > 1:
                raise pytest.UsageError(f"{item.nodeid} uses {' and '.join(labs)}, of groups {' and '.join(groups)}: "
                                        "one worker cannot hold them all")
            group = groups[0] if groups else None
            if group:  # a test that needs no lab (the tarball, the docs lint) runs wherever a worker is free
                item.add_marker(pytest.mark.xdist_group(group))


class Lab:
    """One copy of the lab: the local inventory's (host lab), or another (COPIES) with its own inventory,
    project, ports and state folder."""

    def __init__(self, host: str = "lab", inventory: str = INVENTORY, api: str = API, project: str = PROJECT,
                 pg_port: int = 15432, state_dir: str = STATE):
        self.host, self.inventory, self.api, self.project = host, inventory, api, project
        self.pg_port, self.state_dir = pg_port, state_dir
        self.ledger = os.path.join(state_dir, "faults")
        self.docker = docker.from_env()
        self._ips = itertools.count(1)
        self._students = itertools.count(1)
        self.http = requests.Session()

    # ------------------------------------------------------------ control
    def playbook(self, playbook: str, *args: str, check: bool = True, env: dict | None = None):
        cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", self.inventory,
               os.path.join(ROOT, "playbooks", playbook), *args]
        # evidence and records go to the working directory's reports/ (PWD): the checkout's here
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                              env={**os.environ, "PWD": ROOT, **(env or {})})
        if check and proc.returncode != 0:
            raise AssertionError(f"{playbook} failed (rc {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
        return proc

    def module(self, name: str, args: dict, *flags: str) -> tuple[int, dict]:
        rc, result, _out = self.module_output(name, args, *flags)
        return rc, result

    def module_output(self, name: str, args: dict, *flags: str) -> tuple[int, dict, str]:
        """Runs examday.ops.<name> ad hoc on the lab host. Arguments may be templates over the local
        inventory (e.g. "{{ examday_admin_password }}"), so no secret is put on a command line.
        Modules that take the platform profile get the inventory's (examday_platform) unless the
        test gives one. Returns (rc, result, stdout); with --diff, stdout carries the printed diff."""
        if name in PROFILE_MODULES and "platform" not in args:
            args = {**args, "platform": "{{ examday_platform }}"}
        oneline = [] if "--diff" in flags else ["-o"]
        cmd = [os.path.join(VENV_BIN, "ansible"), self.host, "-i", self.inventory,
               "-m", f"examday.ops.{name}", "-a", json.dumps(args), *oneline, *flags]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                              env={**os.environ, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})
        m = re.search(rf"^{re.escape(self.host)} \| [A-Z!]+ => ", proc.stdout, flags=re.M)
        if not m:
            raise AssertionError(f"no result from {name}: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
        result, _end = json.JSONDecoder().raw_decode(proc.stdout[m.end():])
        return proc.returncode, result, proc.stdout

    def flag(self, key: str = "EXAM_MODE"):
        rows = self.sql("SELECT value FROM system_flags WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def worker_running(self) -> bool:
        return bool(self.containers("worker"))

    def set_defects(self, *defects: str) -> None:
        self.playbook("lab.yml", "-e", json.dumps({"lab_defects": list(defects)}))
        self.wait_ready()

    def compose(self, *args: str) -> subprocess.CompletedProcess:
        if self.host != "lab":
            raise AssertionError("compose is the lab's own (./examday compose); use the lab playbook on another copy")
        return subprocess.run([os.path.join(ROOT, "examday"), "compose", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=300, check=True)

    def containers(self, service: str, all_states: bool = False) -> list:
        found = self.docker.containers.list(all=all_states, filters={"label": [
            f"com.docker.compose.project={self.project}", f"com.docker.compose.service={service}"]})
        return sorted(found, key=lambda c: c.name)

    def logs_since(self, container, since: float) -> list[dict]:
        out = []
        for line in container.logs(since=int(since), stdout=True, stderr=False).decode().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def wait_healthy(self, service: str, timeout: float = 60) -> None:
        """Every container of a service running and, where it has a healthcheck, healthy."""
        deadline = time.monotonic() + timeout
        states = []
        while time.monotonic() < deadline:
            states = []
            for c in self.containers(service, all_states=True):
                c.reload()
                state = c.attrs["State"]
                states.append((state.get("Status"), (state.get("Health") or {}).get("Status", "healthy")))
            if states and all(s == ("running", "healthy") for s in states):
                return
            time.sleep(0.25)
        raise AssertionError(f"service {service} not running and healthy within {timeout}s: {states}")

    def wait_ready(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.http.get(f"{self.api}/v1/ready", timeout=3).json()
                if last.get("status") == "ok":
                    return last
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.25)
        raise AssertionError(f"lab not ready by body within {timeout}s: {last}")

    # ------------------------------------------------------------ data
    def secret(self, name: str) -> str:
        with open(os.path.join(self.state_dir, "secrets", name), encoding="utf-8") as fh:
            return fh.read().strip()

    def sql(self, query: str, params=None) -> list[tuple]:
        with psycopg.connect(host="127.0.0.1", port=self.pg_port, dbname="exam_platform", user="exam_user",
                             password=self.secret("db_password"), autocommit=True,
                             application_name="examday_tests") as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    # ------------------------------------------------------------ API
    def next_ip(self) -> str:
        """A distinct client address per login (X-Forwarded-For, trusted behind the lab's edge), so
        the per-IP login limit (5/min) does not throttle a cohort; TEST-NET-3 addresses only."""
        n = next(self._ips)
        return f"203.0.113.{n % 250 + 1}" if n < 250 else f"198.51.100.{n % 250 + 1}"

    def next_student(self) -> tuple[str, str]:
        return f"student{next(self._students):05d}@{COHORT_DOMAIN}", self.secret("cohort_password")

    def post(self, path: str, body=None, token: str | None = None, headers: dict | None = None, **kw):
        hdrs = {"Authorization": f"Bearer {token}"} if token else {}
        hdrs.update(headers or {})
        return self.http.post(f"{self.api}{path}", json=body, headers=hdrs, timeout=kw.pop("timeout", 15), **kw)

    def get(self, path: str, token: str | None = None, **kw):
        hdrs = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.get(f"{self.api}{path}", headers=hdrs, timeout=kw.pop("timeout", 15), **kw)

    def login(self, email: str | None = None, password: str | None = None) -> dict:
        if email is None:
            email, password = self.next_student()
        resp = self.post("/v1/auth/login", {"email": email, "password": password},
                         headers={"X-Forwarded-For": self.next_ip()})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def token(self, email: str | None = None, password: str | None = None) -> str:
        return self.login(email, password)["tokens"]["access_token"]

    def admin_token(self) -> str:
        return self.token("admin@lab.examday.invalid", self.secret("admin_password"))

    def new_session(self, token: str, count: int = 5) -> dict:
        resp = self.post("/v1/sessions", {"mode": "EXAM", "year": 2026, "blocks": ["A"], "count": count,
                                          "duration_seconds": 1800}, token)
        assert resp.status_code in (200, 201), resp.text
        return resp.json()

    def questions(self, token: str, session_id: str) -> list[dict]:
        resp = self.get(f"/v1/sessions/{session_id}", token)
        assert resp.status_code == 200, resp.text
        return resp.json()["questions"]

    def submitted_events(self, session_ids: list[str]) -> dict[str, int]:
        rows = self.sql("SELECT session_id::text, count(*) FROM attempt_events WHERE event_type = 'SESSION_SUBMITTED' "
                        "AND session_id = ANY(%s::uuid[]) GROUP BY session_id", (session_ids,))
        counts = dict.fromkeys(session_ids, 0)
        counts.update(dict(rows))
        return counts

    def heavy_job(self, admin: str) -> requests.Response:
        return self.post("/v1/admin/jobs/recompute-mastery?dry_run=true", None, admin)

    @staticmethod
    def key() -> str:
        return uuid.uuid4().hex


@contextlib.contextmanager
def exclusive(name: str):
    """Holds .lab/<name>.lock for as long as a test process uses that lab: a second pytest process (or
    xdist worker) reaching for the same lab fails with one sentence instead of racing the first."""
    os.makedirs(os.path.join(ROOT, ".lab"), exist_ok=True)
    with open(os.path.join(ROOT, ".lab", f"{name}.lock"), "w", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pytest.fail(f"the {name} is in use by another test process: its tests must run in one process "
                        f"(pytest-xdist: --dist loadgroup, which scripts/test.sh uses)", pytrace=False)
        yield
        fcntl.flock(fh, fcntl.LOCK_UN)


def deployed(name: str, make):
    """A lab held for the session (its lock), deployed or reset to a clean state by playbooks/lab.yml;
    `make` builds its helper once the lock is held (a copy's inventory is written then)."""
    with exclusive(name):
        helper = make()
        helper.playbook("lab.yml", "-e", "lab_action=reset")
        helper.wait_ready()
        yield helper
        helper.http.close()


@pytest.fixture(scope="session")
def lab():
    """The lab, deployed (or reset to a clean state) by playbooks/lab.yml."""
    yield from deployed("lab", Lab)


def lab_copy_inventory(copy: dict) -> str:
    """The local inventory, copied with its host renamed and the copy's project, ports and state on
    top (the copy lives in the copy's state folder, rewritten each session)."""
    folder = os.path.join(copy["state_dir"], "inventory")
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(INVENTORY, folder)
    hosts = os.path.join(folder, "hosts.yml")
    with open(hosts, encoding="utf-8") as fh:
        text = fh.read()
    with open(hosts, "w", encoding="utf-8") as fh:
        fh.write(re.sub(r"^(\s+)lab:$", rf"\1{copy['host']}:", text, count=1, flags=re.M))
    state, image_env = copy["state_dir"], os.path.join(STATE, "image.env")
    top = {"examday_repo_root": ROOT, "lab_state_dir": state, "lab_image_env": image_env,
           "lab_project": copy["project"], "lab_http_port": copy["http_port"], "lab_pg_port": copy["pg_port"],
           "lab_redis_port": copy["redis_port"], "examday_compose_project": copy["project"],
           "examday_exam_mode_env": {"file": os.path.join(state, "backend.env"),
                                     "compose_files": [os.path.join(ROOT, "lab", "compose.yaml")],
                                     "env_files": [image_env]},
           "examday_job_state_file": os.path.join(state, "background_jobs.json"),
           "examday_net_tool_image": "{{ lookup('ansible.builtin.ini', 'LAB_IMAGE', type='properties', file='"
                                     + image_env + "') }}"}
    with open(os.path.join(folder, "group_vars", "all", "zz_lab_copy.yml"), "w", encoding="utf-8") as fh:
        json.dump(top, fh)  # JSON is YAML; the last file of group_vars/all wins
    return folder


def copy_helper(name: str) -> Lab:
    """The helper of a copy of the lab (COPIES[name]), with its inventory written."""
    copy = COPIES[name]
    return Lab(copy["host"], lab_copy_inventory(copy), f"http://127.0.0.1:{copy['http_port']}", copy["project"],
               copy["pg_port"], copy["state_dir"])


@pytest.fixture(scope="session")
def lab2():
    """The second copy of the lab; its tests run in a worker of their own (group lab-c)."""
    yield from deployed("lab2", lambda: copy_helper("lab2"))


@pytest.fixture(scope="session")
def lab3():
    """The third copy of the lab; its tests run in the worker of lab-b."""
    yield from deployed("lab3", lambda: copy_helper("lab3"))


def flat(text: str) -> str:
    """Ansible's YAML output wraps long messages: compare them with whitespace made single spaces."""
    return " ".join(text.split())


def lab_image() -> str:
    with open(os.path.join(ROOT, ".lab", "image.env"), encoding="utf-8") as fh:
        return dict(line.strip().split("=", 1) for line in fh if "=" in line)["LAB_IMAGE"]


@pytest.fixture(scope="session")
def loadgen(tmp_path_factory):
    """Two load-generator hosts of the test's own: containers of the lab image (Python, no k6 of its
    own) with the venv's k6 binary mounted, on the host's network (the lab's loopback ports), that
    Ansible reaches through community.docker's docker connection plugin (scripts/setup.sh). Yields
    the inventory that puts them in the group examday_loadgen; they are removed by id at the end."""
    client = docker.from_env()
    started = []
    try:
        for _n in range(2):
            started.append(client.containers.run(
                lab_image(), ["3600"], entrypoint="sleep", detach=True, network_mode="host",
                labels={"examday.test": "loadgen"},
                volumes={os.path.join(VENV_BIN, "k6"): {"bind": "/usr/local/bin/k6", "mode": "ro"}}))
        path = tmp_path_factory.mktemp("loadgen") / "loadgen.yml"
        hosts = {f"gen{i + 1}": {"ansible_connection": "community.docker.docker", "ansible_host": c.id,
                                 "ansible_python_interpreter": "/usr/bin/python3"} for i, c in enumerate(started)}
        path.write_text(json.dumps({"all": {"children": {"examday_loadgen": {"hosts": hosts}}}}), encoding="utf-8")
        yield str(path)
    finally:
        for container in started:
            container.remove(force=True)


@pytest.fixture
def clean_defects(lab):
    """Any test that switches defects on leaves the lab without them."""
    yield lab
    lab.set_defects()


@pytest.fixture
def clean_defects2(lab2):
    """The same for the second copy of the lab."""
    yield lab2
    lab2.set_defects()
