# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the live watch observes in one interval, only by reads: health and readiness through the
platform client (judged by body), the backends' log records since the previous sample (`docker logs
--since/--until`, parsed as the rehearsal's metrics parse them), one pg_stat_activity sample on a
kept read-only connection, Redis INFO, the compose project's containers (inspect and one `docker
stats` snapshot) and EXAM_MODE as stored. Each part that fails is `None` in the sample with its
reason in `errors`, so an outage is recorded, never the end of the watch; `check()` runs every part
once before the watch starts and fails on the first that cannot answer (a wrong URL, password or
project), before anything is watched."""
from __future__ import annotations

import datetime

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._metrics.logscan import BackendScan
from ansible_collections.examday.ops.plugins.module_utils._platform.api import PlatformUnreachable
from ansible_collections.examday.ops.plugins.module_utils._watch import sample as build_sample

LOG_SLACK_S = 1.0  # a log record written just before `until` may reach docker's log a moment later


def _parse(at: str) -> datetime.datetime:
    return datetime.datetime.strptime(at.rstrip("Z")[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=float("0" + at.rstrip("Z")[19:] or 0))


def _iso(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0].rstrip(".")


class Observer:
    """Call it with (at, previous sample) for one sample. Collaborators are injected:
    client (PlatformClient), runner (argv -> rc, out, err), db_sampler (DbSampler or None), redis_info
    (() -> dict of parsed INFO, or None when Redis is not watched), exam_mode (() -> (on, how), or None)."""

    def __init__(self, client, runner, project: str, backend_services: list[str], backend_log: dict,
                 thresholds: dict, expected_backends: int | None = None, db_sampler=None, pool: dict | None = None,
                 redis_info=None, exam_mode=None, stats: bool = True, first_since: str | None = None):
        self.client, self.runner, self.project = client, runner, project
        self.backend_services, self.backend_log, self.thresholds = list(backend_services), backend_log, thresholds
        self.expected_backends, self.db_sampler, self.pool = expected_backends, db_sampler, pool or {}
        self.redis_info, self.exam_mode, self.stats = redis_info, exam_mode, stats
        self.first_since = first_since
        self.since: str | None = None

    # ------------------------------------------------------------------ the parts
    def _probe(self, kind: str):
        try:
            resp = self.client.health() if kind == "health" else self.client.ready()
        except PlatformUnreachable as exc:
            return False, f"no answer ({_first_line(exc)})"
        return self.client.judge("health" if kind == "health" else "readiness", resp)

    def _containers(self) -> list[dict]:
        return [_docker_cli.container_summary(c) for c in
                _docker_cli.inspect_containers(self.runner, self.project, None, all_states=True)]

    def _scan(self, since: str, until: str, containers: list[dict]) -> BackendScan:
        scan = BackendScan((), 5, self.backend_log, self.thresholds["slow_sql_ms"], self.thresholds["slow_request_ms"],
                           keep_durations=True)
        wanted = [c for c in containers if c.get("service") in self.backend_services]
        if not wanted:
            raise OpsError(f"no container of backend service(s) {', '.join(self.backend_services)} in compose "
                           f"project {self.project}")
        for c in wanted:
            rc, out, err = self.runner(_docker_cli.logs_argv(c["id"], since, until, timestamps=True))
            if rc != 0:
                detail = (err or out).strip().splitlines()
                raise OpsError(f"docker logs of {c['name']} failed: {detail[-1] if detail else f'rc {rc}'}")
            scan.add_text(out, c["name"])
        return scan

    def _resources(self, containers: list[dict]) -> dict:
        running = [c["name"] for c in containers if c.get("running")]
        if not running:
            return {}
        rc, out, err = self.runner(_docker_cli.stats_argv(running))
        if rc != 0:
            detail = (err or out).strip().splitlines()
            raise OpsError(f"docker stats failed: {detail[-1] if detail else f'rc {rc}'}")
        return {s["name"]: {k: s[k] for k in ("cpu_pct", "mem_bytes", "mem_pct")}
                for s in _docker_cli.parse_stats(_docker_cli.parse_json_stream(out)) if s.get("name")}

    # ------------------------------------------------------------------ one sample
    def __call__(self, at: str, previous: dict | None) -> dict:
        errors: dict = {}

        def part(name: str, fn):
            try:
                return fn()
            except Exception as exc:  # pylint: disable=broad-except  # one part down is recorded, not fatal
                errors[name] = _first_line(exc)
                return None

        now = _parse(at)
        since = self.since or self.first_since or _iso(now - datetime.timedelta(seconds=15))
        until = _iso(now - datetime.timedelta(seconds=LOG_SLACK_S))
        health = self._probe("health")
        ready = self._probe("ready")
        containers = part("containers", self._containers)
        scan = part("backend logs", lambda: self._scan(since, until, containers)) if containers is not None else None
        if scan is not None:
            self.since = until  # the next interval's logs start where these ended
        resources = part("resources", lambda: self._resources(containers)) if self.stats and containers else None
        db = part("database", lambda: self.db_sampler.sample(at)) if self.db_sampler is not None else None
        info = part("redis", self.redis_info) if self.redis_info is not None else None
        exam = part("exam_mode", self.exam_mode) if self.exam_mode is not None else None
        if self.redis_info is None:
            redis_ok = None
        else:
            redis_ok = info is not None
        out = build_sample.build(
            at, health=health, ready=ready, scan=scan, db=db, pool=self.pool, redis_ok=redis_ok,
            containers=containers, expected_backends=self.expected_backends, previous=previous,
            exam_mode_on=None if exam is None else exam[0], backend_services=self.backend_services)
        out["window"] = {"since": since, "until": until}
        out["resources"] = resources
        if exam is not None:
            out["exam_mode_source"] = exam[1]
        if exam is not None and exam[0] is None:
            errors["exam_mode"] = exam[1]
        if errors:
            out["errors"] = errors
        return out

    def check(self) -> list[str]:
        """Every watched part answers once, before the watch starts; raises OpsError naming the first
        that does not. Returns what will be watched."""
        try:
            self.client.health()
        except PlatformUnreachable as exc:
            raise OpsError(f"{_first_line(exc)}.") from None
        containers = self._containers()
        if not [c for c in containers if c.get("service") in self.backend_services]:
            raise OpsError(f"no container of backend service(s) {', '.join(self.backend_services)} in compose project "
                           f"{self.project}; check compose_project and the profile's services.")
        watched = ["health", "readiness", "backend logs", "containers"]
        if self.db_sampler is not None:
            self.db_sampler.sample(_iso(datetime.datetime.now(datetime.timezone.utc)))
            watched.append("database")
        if self.redis_info is not None:
            self.redis_info()
            watched.append("redis")
        if self.exam_mode is not None:
            on, how = self.exam_mode()
            watched.append("exam_mode" if on is not None else f"not exam_mode: {how}")
        return watched
