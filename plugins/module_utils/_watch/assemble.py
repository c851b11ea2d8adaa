# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watch module's options and the watch assembled from them: the platform client, the kept
read-only database connection, Redis INFO, the EXAM_MODE reader (never the heavy-job probe), the
observer checked once, the tracker, and the page rewritten with the record. Validation happens here,
before anything is written."""
from __future__ import annotations

import json
import os

from ansible_collections.examday.ops.plugins.module_utils import _db, _thresholds
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, write_private
from ansible_collections.examday.ops.plugins.module_utils._evidence import names
from ansible_collections.examday.ops.plugins.module_utils._exam_mode_manager import ExamModeManager
from ansible_collections.examday.ops.plugins.module_utils._metrics.dbsample import DbSampler
from ansible_collections.examday.ops.plugins.module_utils._metrics.redisinfo import (
    parse_redis_info, redis_argument_spec, redis_host, redis_info_text)
from ansible_collections.examday.ops.plugins.module_utils._platform.api import (
    PlatformClient, api_argument_spec, urllib_transport)
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import resolve
from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec
from ansible_collections.examday.ops.plugins.module_utils._watch import alerts, page, runner
from ansible_collections.examday.ops.plugins.module_utils._watch.observe import Observer

follow = runner.follow
SKIPPABLE = ["database", "redis", "exam_mode", "resources"]


def argument_spec() -> dict:
    spec = api_argument_spec()
    spec.update(platform_argument_spec())
    spec.update(_db.db_argument_spec())
    spec.update(_thresholds.threshold_argument_spec())
    spec.update(redis_argument_spec())
    spec.update(
        action={"type": "str", "choices": ["run", "follow", "stop"], "default": "run"},
        output_dir={"type": "path", "required": True},
        minutes={"type": "float", "default": 60.0},
        interval={"type": "float", "default": 15.0},
        raise_after={"type": "int", "default": 3},
        clear_after={"type": "int", "default": 2},
        rules={"type": "list", "elements": "str", "default": []},
        webhook={"type": "str", "no_log": True},
        webhook_format={"type": "str", "choices": ["json", "slack"], "default": "json"},
        source={"type": "str", "default": ""},
        compose_project={"type": "str", "default": "exam_platform"},
        expected_backends={"type": "int"},
        skip={"type": "list", "elements": "str", "choices": SKIPPABLE, "default": []},
        admin_email={"type": "str"},
        admin_password={"type": "str", "no_log": True},
        admin_token={"type": "str", "no_log": True},
        exam_mode_env_file={"type": "path"},
        offset={"type": "int", "default": 0},
        heartbeat_timeout={"type": "float"},
        docker_timeout={"type": "int", "default": 30},
    )
    return spec


def stop(out_dir: str, check_mode: bool = False) -> bool:
    """Creates the stop file of a running watch; False when none runs there (no record, or finished)."""
    record_path = os.path.join(out_dir, names.WATCH_RECORD)
    if not os.path.exists(record_path):
        return False
    with open(record_path, encoding="utf-8") as fh:
        if json.load(fh).get("finished_at"):
            return False
    if not check_mode:
        write_private(os.path.join(out_dir, names.WATCH_STOP), b"stop\n", names.WATCH_STOP)
    return True


def _exam_mode_reader(p: dict, platform: dict, runner_fn, client: PlatformClient):
    mechanism = platform["exam_mode"]["mechanism"]
    if mechanism == "env" and not p["exam_mode_env_file"]:
        raise OpsError("the profile's EXAM_MODE mechanism is env: exam_mode_env_file (the compose env file) is "
                       "required to read it, or skip exam_mode.")
    if mechanism == "env" and not os.path.isfile(p["exam_mode_env_file"]):
        raise OpsError(f"the env file {p['exam_mode_env_file']} does not exist (exam_mode_env_file).")
    params = {"mechanism": mechanism, "state": "enabled", "admin_token": p["admin_token"],
              "admin_email": p["admin_email"], "admin_password": p["admin_password"],
              "db": p["db"] if "database" not in p["skip"] else {}, "env": {"file": p["exam_mode_env_file"]},
              "compose_project": p["compose_project"]}

    def db_connect(db):
        return _db.connect(runner_fn, db, "examday.ops watch exam_mode")
    manager = ExamModeManager(params, True, runner_fn, client, db_connect if params["db"] else None)
    return manager.stored_state


def build(p: dict, out_dir: str, runner_fn, thresholds: dict, transport=None):
    """(the Watch, what it watches), after every option is validated and every part answered once."""
    platform = resolve(p["platform"])
    if os.path.exists(os.path.join(out_dir, names.WATCH_RECORD)):
        raise OpsError(f"{out_dir} already holds a watch's record; give each watch its own output_dir.")
    if p["expected_backends"] is not None and p["expected_backends"] < 0:
        raise OpsError("expected_backends must not be negative.")
    if p["docker_timeout"] <= 0:
        raise OpsError("docker_timeout must be above 0 seconds.")
    if p["heartbeat_timeout"] is not None and p["heartbeat_timeout"] <= 0:
        raise OpsError("heartbeat_timeout must be above 0 seconds.")
    tracker = alerts.Tracker(thresholds, p["raise_after"], p["clear_after"], p["rules"] or None)
    services, backend = platform["services"], platform["backend"]
    if not services.get("backend"):
        raise OpsError("the platform profile names no backend service (examday_platform.services.backend).")
    client = PlatformClient(p["api_url"], transport or urllib_transport(p["validate_certs"]), platform, p["timeout"])
    db_sampler = None
    if "database" not in p["skip"]:
        db_sampler = DbSampler(lambda: _db.connect(runner_fn, p["db"], "examday.ops watch"), p["db"]["name"],
                               backend["app_name_pattern"])
    r = p["redis"]

    def read_redis():
        return parse_redis_info(redis_info_text(redis_host(runner_fn, r), r["port"], r.get("username"),
                                                r.get("password"), min(p["timeout"], 5.0)))
    redis_info = read_redis if "redis" not in p["skip"] and (r.get("host") or r.get("container")) else None
    exam_mode = None if "exam_mode" in p["skip"] else _exam_mode_reader(p, platform, runner_fn, client)
    pool = {"pool_size": backend["pool_size"], "max_overflow": backend["max_overflow"],
            "processes": backend["processes"] * backend["replicas"]}
    observer = Observer(client, runner_fn, p["compose_project"], [services["backend"]], platform["logs"]["backend"],
                        thresholds, p["expected_backends"] if p["expected_backends"] is not None else backend["replicas"],
                        db_sampler, pool, redis_info, exam_mode, stats="resources" not in p["skip"])
    samples: list = []

    def on_record(record: dict, sample: dict | None) -> None:
        if sample is not None:
            samples.append(sample)
            del samples[:-page.MAX_POINTS]
        write_private(os.path.join(out_dir, names.WATCH_PAGE), page.render(record, samples, thresholds).encode("utf-8"),
                      names.WATCH_PAGE)

    # the Watch validates interval, minutes, the webhook and its format before the platform is asked
    watch = runner.Watch(observer, tracker, out_dir, p["interval"], p["minutes"], say=lambda _line: None,
                         webhook=p["webhook"] or "", webhook_format=p["webhook_format"],
                         source=p["source"] or platform.get("name") or "", stop_file=os.path.join(out_dir, names.WATCH_STOP),
                         on_record=on_record, meta={"thresholds": thresholds, "compose_project": p["compose_project"]},
                         heartbeat_timeout=p["heartbeat_timeout"])
    try:
        watched = observer.check()
    except OpsError:
        raise
    except Exception as exc:  # pylint: disable=broad-except  # whatever cannot answer is one sentence
        raise OpsError(f"the watch cannot start: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}.") from None
    if db_sampler is not None:
        db_sampler.close()  # the watch opens its own when it starts
    return watch, watched
