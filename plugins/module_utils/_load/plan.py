# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load runs with k6: validating a scenario and profile, building the k6 options and command,
reading k6's --summary-export into the rehearsal's result shape, and extracting acknowledged
writes from k6's console output. Pure functions, unit-tested on outputs of real k6 runs."""
from __future__ import annotations

import ipaddress
import json
import math
import re
import zlib
from typing import IO
from urllib.parse import urlsplit

from ansible_collections.examday.ops.plugins.module_utils import _thresholds
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._evidence import acks as _acks
from ansible_collections.examday.ops.plugins.module_utils._platform.profile import call_path

PASSWORD_ENV = "EXAMDAY_COHORT_PASSWORD"
LIBRARY = "examday.js"  # written next to every script, shipped and user's alike
MAX_USER_SCRIPT_DIR = 5 * 1024 * 1024

# scenario -> k6 script under files/k6/, exported function, whether it is an exam scenario
SCENARIOS = {
    "sessions": ("exam.js", "sessions", True),
    "answers": ("exam.js", "answers", True),
    "submit": ("exam.js", "submit", True),
    "smoke": ("generic.js", "hit", False),
    "stress": ("generic.js", "hit", False),
    "soak": ("generic.js", "hit", False),
}

# Profile defaults per scenario: CI-sized for the exam scenarios (docs/load.md has the seeds'
# full values), the seeds' shapes for the generic profiles (seed 004: smoke 1 VU 30 s; stress a
# ramp; soak a long plateau).
PROFILE_DEFAULTS = {
    "sessions": {"vus": 20, "duration": "30s", "ramp_up": "5s", "think_time": 1.0, "pace": 6.5},
    "answers": {"vus": 20, "duration": "60s", "ramp_up": "5s", "think_time": 2.0, "pace": 0.0},
    "submit": {"vus": 20, "duration": "30s", "ramp_up": "5s", "think_time": 1.0, "pace": 13.0},
    "smoke": {"vus": 1, "duration": "30s", "think_time": 1.0},
    "stress": {"vus": 100, "duration": "5m", "ramp_up": "2m", "ramp_down": "1m", "think_time": 1.0},
    "soak": {"vus": 50, "duration": "2h", "ramp_up": "2m", "ramp_down": "2m", "think_time": 1.0},
}
PROFILE_KEYS = ("vus", "duration", "rate", "ramp_up", "ramp_down", "max_vus", "think_time", "pace", "graceful_stop")

# Bounds: a load run is bounded in every dimension.
MAX_VUS = 5000
MAX_RATE = 10000.0
MAX_DURATION_S = 4 * 3600
MAX_RAMP_S = 3600
MAX_THINK_S = 600
MAX_GRACEFUL_S = 600
MAX_COHORT = 100000

TREND_STATS = ["avg", "min", "med", "max", "p(50)", "p(90)", "p(95)", "p(99)"]

BUILTIN_METRICS = {
    "http_req_duration": "trend", "http_req_blocked": "trend", "http_req_connecting": "trend",
    "http_req_tls_handshaking": "trend", "http_req_sending": "trend", "http_req_waiting": "trend",
    "http_req_receiving": "trend", "iteration_duration": "trend", "group_duration": "trend",
    "http_req_failed": "rate", "checks": "rate",
    "http_reqs": "counter", "iterations": "counter", "data_sent": "counter", "data_received": "counter",
    "dropped_iterations": "counter",
    "vus": "gauge", "vus_max": "gauge",
}
EXAM_METRICS = {
    "examday_logins": "counter", "examday_login_failures": "counter", "examday_token_refreshes": "counter",
    "examday_rate_limited": "counter", "examday_acks": "counter", "examday_unknown_writes": "counter",
    "examday_stale_refused": "counter",
    "examday_refresh_continued": "rate", "examday_double_submit_same": "rate",
}
AGGREGATIONS = {"trend": ("avg", "min", "max", "med", "p"), "rate": ("rate",), "counter": ("count", "rate"),
                "gauge": ("value",)}

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_METRIC_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\{([^{}]*)\})?$")
_EXPRESSION = re.compile(r"^\s*(avg|min|max|med|count|rate|value|p\(\s*([^)]*?)\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(\S+)\s*$")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TAG = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_PREFIX = re.compile(r"^[A-Za-z0-9._+-]{1,40}$")
_DOMAIN = re.compile(r"^(?=.{1,200}$)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


# ---------------------------------------------------------------------------------------- values
def parse_duration(value, what: str, allow_zero: bool = False, maximum: float | None = None) -> float:
    """Seconds from a k6-style duration (30s, 5m, 1h30m, 500ms) or a number of seconds."""
    seconds = None
    if isinstance(value, bool):
        seconds = None
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            seconds = float(text)
        elif text and re.fullmatch(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h))+", text):
            unit = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
            seconds = sum(float(n) * unit[u] for n, u in _DURATION_PART.findall(text))
    if seconds is None and isinstance(value, str) and value.strip().startswith("-"):
        seconds = -1.0
    if seconds is None or not math.isfinite(seconds):
        raise OpsError(f"{what} must be a duration such as 30s, 5m or 1h30m, not {value!r}.")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise OpsError(f"{what} must be {'0 or more' if allow_zero else 'more than 0'}, not {value!r}.")
    if maximum is not None and seconds > maximum:
        raise OpsError(f"{what} is {k6_duration(seconds)}, more than the bound of {k6_duration(maximum)}.")
    return seconds


def k6_duration(seconds: float) -> str:
    """A duration as k6 reads it: whole seconds as 90s, anything finer in ms."""
    if abs(seconds - round(seconds)) < 1e-9:
        return f"{int(round(seconds))}s"
    return f"{int(round(seconds * 1000))}ms"


def _number(value, what: str, minimum: float, maximum: float, integer: bool = False, allow_min: bool = True):
    if isinstance(value, bool) or value is None:
        raise OpsError(f"{what} must be a number, not {value!r}.")
    try:
        num = float(value)
    except (TypeError, ValueError):
        raise OpsError(f"{what} must be a number, not {value!r}.") from None
    if not math.isfinite(num):
        raise OpsError(f"{what} must be a finite number, not {value!r}.")
    if integer and num != int(num):
        raise OpsError(f"{what} must be a whole number, not {value!r}.")
    if num < minimum or (num == minimum and not allow_min) or num > maximum:
        low = f"{'at least' if allow_min else 'more than'} {minimum:g}"
        raise OpsError(f"{what} must be {low} and at most {maximum:g}, not {value!r}.")
    return int(num) if integer else num


def rate_units(rate: float) -> tuple[int, str]:
    """k6's arrival rate is a whole number per time unit: 20/s is 20 per 1s, 2.5/s is 150 per 60s."""
    for unit in (1, 60, 3600):
        scaled = rate * unit
        if scaled >= 1 and abs(scaled - round(scaled)) < 1e-6:
            return int(round(scaled)), f"{unit}s"
    return max(1, int(round(rate * 3600))), "3600s"


# ---------------------------------------------------------------------------------------- profile
def resolve_profile(scenario: str, given: dict | None) -> dict:
    """The scenario's defaults overlaid with the given profile, validated and bounded."""
    given = {k: v for k, v in (given or {}).items() if v is not None}
    unknown = sorted(set(given) - set(PROFILE_KEYS))
    if unknown:
        raise OpsError(f"unknown profile key(s) {', '.join(unknown)}; known: {', '.join(PROFILE_KEYS)}.")
    merged = {**PROFILE_DEFAULTS[scenario], **given}
    out = {"vus": _number(merged.get("vus"), "profile.vus", 1, MAX_VUS, integer=True)}
    out["duration_s"] = parse_duration(merged.get("duration"), "profile.duration", maximum=MAX_DURATION_S)
    out["ramp_up_s"] = parse_duration(merged.get("ramp_up", 0), "profile.ramp_up", True, MAX_RAMP_S)
    out["ramp_down_s"] = parse_duration(merged.get("ramp_down", 0), "profile.ramp_down", True, MAX_RAMP_S)
    out["graceful_stop_s"] = parse_duration(merged.get("graceful_stop", "10s"), "profile.graceful_stop", True,
                                            MAX_GRACEFUL_S)
    out["think_time_s"] = _number(merged.get("think_time", 0), "profile.think_time", 0, MAX_THINK_S)
    out["pace_s"] = _number(merged.get("pace", 0), "profile.pace", 0, MAX_THINK_S)
    rate = merged.get("rate")
    out["rate"] = None if rate is None else _number(rate, "profile.rate", 0, MAX_RATE, allow_min=False)
    max_vus = merged.get("max_vus")
    if max_vus is not None and out["rate"] is None:
        raise OpsError("profile.max_vus applies to arrival-rate profiles only; set profile.rate as well.")
    out["max_vus"] = out["vus"] if max_vus is None else _number(max_vus, "profile.max_vus", 1, MAX_VUS, integer=True)
    if out["max_vus"] < out["vus"]:
        raise OpsError(f"profile.max_vus ({out['max_vus']}) must not be less than profile.vus ({out['vus']}).")
    return out


def executor(name: str, exec_fn: str, profile: dict) -> dict:
    """The k6 scenario for a profile: arrival-rate executors when a rate is given (open model),
    else ramping or constant VUs (closed model)."""
    graceful = k6_duration(profile["graceful_stop_s"])
    dur = k6_duration(profile["duration_s"])
    ramp, down = profile["ramp_up_s"], profile["ramp_down_s"]
    common = {"exec": exec_fn, "gracefulStop": graceful, "tags": {"examday_run": name}}
    if profile["rate"] is not None:
        per, unit = rate_units(profile["rate"])
        vus = {"preAllocatedVUs": profile["vus"], "maxVUs": profile["max_vus"]}
        if ramp or down:
            stages = ([{"target": per, "duration": k6_duration(ramp)}] if ramp else []) + \
                [{"target": per, "duration": dur}] + ([{"target": 0, "duration": k6_duration(down)}] if down else [])
            return {"executor": "ramping-arrival-rate", "startRate": 0 if ramp else per, "timeUnit": unit,
                    "stages": stages, **vus, **common}
        return {"executor": "constant-arrival-rate", "rate": per, "timeUnit": unit, "duration": dur, **vus, **common}
    if ramp or down:
        stages = ([{"target": profile["vus"], "duration": k6_duration(ramp)}] if ramp else []) + \
            [{"target": profile["vus"], "duration": dur}] + ([{"target": 0, "duration": k6_duration(down)}] if down else [])
        return {"executor": "ramping-vus", "startVUs": 0 if ramp else profile["vus"], "stages": stages,
                "gracefulRampDown": graceful, **common}
    return {"executor": "constant-vus", "vus": profile["vus"], "duration": dur, **common}


def expected_seconds(profile: dict) -> float:
    """How long k6 runs at most by itself: ramps, plateau and the graceful stop."""
    return profile["ramp_up_s"] + profile["duration_s"] + profile["ramp_down_s"] + profile["graceful_stop_s"]


# ---------------------------------------------------------------------------------------- thresholds
def _metric_types(exam: bool) -> dict:
    return {**BUILTIN_METRICS, **(EXAM_METRICS if exam else {})}


def validate_thresholds(thresholds, exam: bool) -> dict:
    """k6 thresholds ({metric: [expression | {threshold, abortOnFail, delayAbortEval}]}) checked
    before anything runs: known metric, aggregation fitting its type, a number on the right."""
    if thresholds is None:
        return {}
    if not isinstance(thresholds, dict):
        raise OpsError("thresholds must be a mapping of metric name to a list of expressions such as p(95)<500.")
    known = _metric_types(exam)
    out: dict = {}
    for key, exprs in thresholds.items():
        m = _METRIC_KEY.match(str(key))
        if not m:
            raise OpsError(f"threshold metric {key!r} is not a metric name (optionally with {{tag:value}}).")
        metric, tags = m.group(1), m.group(2)
        if metric not in known:
            raise OpsError(f"threshold metric {metric!r} is not a k6 or scenario metric; known: {', '.join(sorted(known))}.")
        if tags is not None and not all(":" in t and t.split(":", 1)[0].strip() for t in tags.split(",")):
            raise OpsError(f"threshold metric {key!r} must write tags as {{name:value,...}}.")
        items = exprs if isinstance(exprs, list) else [exprs]
        if not items:
            raise OpsError(f"threshold metric {key!r} has no expression.")
        normalized = []
        for item in items:
            if isinstance(item, dict):
                extra = sorted(set(item) - {"threshold", "abortOnFail", "delayAbortEval"})
                if extra or "threshold" not in item:
                    raise OpsError(f"a threshold object on {key!r} needs 'threshold' and may have 'abortOnFail' and "
                                   f"'delayAbortEval' only.")
                _check_expression(str(item["threshold"]), key, known[metric])
                entry = {"threshold": str(item["threshold"]).strip(), "abortOnFail": bool(item.get("abortOnFail", False))}
                if item.get("delayAbortEval") is not None:
                    entry["delayAbortEval"] = k6_duration(parse_duration(item["delayAbortEval"],
                                                                         f"delayAbortEval on {key}", True))
                normalized.append(entry)
            elif isinstance(item, str):
                _check_expression(item, key, known[metric])
                normalized.append(item.strip())
            else:
                raise OpsError(f"threshold {item!r} on {key!r} must be a string such as p(95)<500.")
        out[str(key)] = normalized
    return out


def _check_expression(expr: str, key: str, mtype: str) -> None:
    m = _EXPRESSION.match(expr)
    if not m:
        raise OpsError(f"threshold {expr!r} on {key!r} is not an expression such as p(95)<500 or rate<0.01.")
    agg, pct, _op, rhs = m.groups()
    try:
        value = float(rhs)
    except ValueError:
        raise OpsError(f"threshold {expr!r} on {key!r} must compare with a number, not {rhs!r}.") from None
    if not math.isfinite(value) or value < 0:
        raise OpsError(f"threshold {expr!r} on {key!r} must compare with a number of 0 or more.")
    method = "p" if agg.startswith("p(") else agg
    if method not in AGGREGATIONS[mtype]:
        allowed = ", ".join("p(N)" if a == "p" else a for a in AGGREGATIONS[mtype])
        raise OpsError(f"threshold {expr!r} on {key!r} uses {method}, which a {mtype} metric does not have "
                       f"(use {allowed}).")
    if method == "p":
        try:
            p = float(pct)
        except ValueError:
            raise OpsError(f"threshold {expr!r} on {key!r} needs a percentile number in p(...).") from None
        if not 0 < p <= 100:
            raise OpsError(f"threshold {expr!r} on {key!r} needs a percentile above 0 and at most 100.")
    if mtype == "rate" and value > 1:
        raise OpsError(f"threshold {expr!r} on {key!r} compares a rate, which is a fraction from 0 to 1.")


# ---------------------------------------------------------------------------------------- targets
def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str, allow_remote: bool) -> str:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OpsError(f"{what} must be an http:// or https:// URL, not {url!r}.")
    if not allow_remote and not is_loopback(url):
        raise OpsError(f"{what} {url} is not a loopback address; set allow_remote to true to load a remote platform.")
    return url


def ip_offset(prefix: str, domain: str) -> int:
    """Where a cohort's X-Forwarded-For addresses start among the 762 documentation addresses, so
    cohorts with other prefixes use other addresses (the login limit is per address)."""
    return zlib.crc32(f"{prefix}@{domain}".encode()) % 762


# ---------------------------------------------------------------------------------------- plan
def scenario_script(p: dict) -> tuple[str, str, bool, str | None]:
    """(script name, exported function, exam scenario?, user script path) of a run: a shipped
    scenario, or the user's own script (which imports examday.js like the shipped ones)."""
    scenario = p.get("scenario")
    user = p.get("script")
    if user:
        if not str(user).endswith(".js"):
            raise OpsError(f"script must be a k6 JavaScript file (.js), not {user!r}.")
        exec_fn = p.get("exec") or scenario
        if not exec_fn or not re.match(r"^[A-Za-z_$][A-Za-z0-9_$]{0,63}$", str(exec_fn)):
            raise OpsError(f"exec {exec_fn!r} must name the function the script exports.")
        exam = p.get("exam", True) is not False
        return str(user).rsplit("/", 1)[-1], str(exec_fn), exam, str(user)
    if scenario not in SCENARIOS:
        raise OpsError(f"scenario must be one of {', '.join(SCENARIOS)} (or give a script of your own), "
                       f"not {scenario!r}.")
    script, exec_fn, exam = SCENARIOS[scenario]
    return script, exec_fn, exam, None


def api_config(platform: dict) -> dict:
    """What the k6 library needs of the platform profile (no secret in it)."""
    api = platform["api"]
    keys = ("prefix", "auth", "ids", "request_id_header", "error_code", "session", "answer_choices", "closed",
            "stale", "statuses", "calls")
    return {k: api[k] for k in keys}


def build_plan(p: dict, run_id: str) -> dict:
    """Everything a run needs, validated: k6 options, the script's config, bounds and timings.
    p holds the module's parameters (p["platform"] the resolved profile). Raises OpsError with
    one sentence."""
    scenario = p.get("scenario")
    script, exec_fn, exam, user_script = scenario_script(p)
    name = p.get("name") or scenario
    if not name or not _NAME.match(name):
        raise OpsError(f"name {name!r} must be 1-64 letters, digits, '_' or '-'.")
    profile = resolve_profile(scenario if scenario in PROFILE_DEFAULTS else "answers", p.get("profile"))
    limits = _thresholds.resolve(p.get("thresholds"))
    thresholds = validate_thresholds(_thresholds.k6_thresholds(limits, exam, p.get("k6_thresholds")), exam)
    api_url = check_url(str(p.get("api_url") or "").rstrip("/"), "api_url", bool(p.get("allow_remote")))
    timeout = _number(p.get("timeout", 10.0), "timeout", 0, 600, allow_min=False)
    options = {
        "scenarios": {name: executor(name, exec_fn, profile)},
        "thresholds": thresholds,
        "summaryTrendStats": TREND_STATS,
        "insecureSkipTLSVerify": not p.get("validate_certs", True),
        "userAgent": "examday.ops-load (k6)",
        "discardResponseBodies": not exam,
    }
    config: dict = {"open_model": profile["rate"] is not None, "think_time": profile["think_time_s"],
                    "pace": profile["pace_s"], "timeout": k6_duration(timeout), "run_id": run_id}
    platform = p["platform"]
    if exam:
        cohort = resolve_cohort(platform["cohort"], p.get("cohort") or {}, profile["max_vus"])
        refresh = parse_duration(p.get("token_refresh_after", 600), "token_refresh_after", True, 14 * 60)
        config.update({
            "api_url": api_url, "api": api_config(platform), "max_vus": profile["max_vus"],
            "ack_marker": _acks.MARKER,
            "cohort": {"prefix": cohort["prefix"], "domain": cohort["domain"], "count": cohort["count"],
                       "pad": cohort["pad"], "first": cohort["first"]},
            "ip_offset": ip_offset(cohort["prefix"], cohort["domain"]),
            "refresh_after_s": refresh, "max_login_wait": 10,
            "answers_before_submit": _number(p.get("answers_before_submit", 3), "answers_before_submit", 0, 200,
                                             integer=True),
            "double_submit": bool(p.get("double_submit", True)),
            "revise_ratio": _number(p.get("revise_ratio", 0.1), "revise_ratio", 0, 1),
        })
        target = api_url + call_path(platform, "health")
    else:
        cohort = None
        target = _generic_target(api_url, p.get("target") or call_path(platform, "health"),
                                 bool(p.get("allow_remote")))
        method = str(p.get("method") or "GET").upper()
        if method not in _HTTP_METHODS:
            raise OpsError(f"method must be one of {', '.join(_HTTP_METHODS)}, not {method!r}.")
        expect = p.get("expect_status") or [200]
        for code in expect:
            _number(code, "expect_status", 100, 599, integer=True)
        config.update({"url": target, "method": method, "expect_status": [int(c) for c in expect],
                       "headers": p.get("headers") or {}, "body": p.get("body"), "name": urlsplit(target).path or "/"})
    margin = _number(p.get("timeout_margin", 60), "timeout_margin", 0, 3600)
    runtime = expected_seconds(profile)
    return {
        "scenario": scenario, "name": name, "exam": exam, "exec": exec_fn,
        "script": script, "user_script": user_script, "options": options, "config": config,
        "profile": profile, "cohort": cohort, "target": target, "api_url": api_url, "limits": limits,
        "expected_s": runtime, "hard_timeout_s": runtime + margin, "run_id": run_id,
    }


def _generic_target(api_url: str, target: str, allow_remote: bool) -> str:
    if re.match(r"^[a-z][a-z0-9+.-]*://", target, flags=re.I):
        return check_url(target, "target", allow_remote)
    if not target.startswith("/"):
        raise OpsError(f"target must be a path starting with / or a full URL, not {target!r}.")
    return api_url + target


def resolve_cohort(recipe: dict, given: dict, max_vus: int | None) -> dict:
    """The cohort of a run (no secret): the platform's recipe (method, prefix, domain, tag) and the
    run's count (default one student per VU), first index and retire_after."""
    method = recipe.get("method") or "sql"
    count = given.get("count")
    if count is None:
        if max_vus is None:
            raise OpsError("cohort.count is needed when no scenario sets the number of students.")
        count = max_vus
    count = _number(count, "cohort.count", 1, MAX_COHORT, integer=True)
    first = _number(given.get("first", 1), "cohort.first", 1, MAX_COHORT, integer=True)
    tag, prefix = recipe.get("tag") or "examday-load", recipe.get("prefix") or "load"
    domain = recipe.get("domain") or "cohort.example.com"
    if not _TAG.match(tag):
        raise OpsError(f"examday_platform.cohort.tag {tag!r} must be 1-64 letters, digits, '.', '_' or '-'.")
    if not _PREFIX.match(prefix):
        raise OpsError(f"examday_platform.cohort.prefix {prefix!r} must be 1-40 letters, digits, '.', '_', '+' or '-'.")
    if not _DOMAIN.match(domain):
        raise OpsError(f"examday_platform.cohort.domain {domain!r} is not a domain name.")
    return {"method": method, "count": count, "first": first, "tag": tag, "prefix": prefix, "domain": domain,
            "pad": int(recipe.get("pad") or 5), "retire_after": bool(given.get("retire_after", True))}


def cohort_emails(cohort: dict) -> list[str]:
    """The cohort's e-mails: prefix + the student number padded to `pad` digits, from `first`."""
    pad = cohort.get("pad", 5)
    first = cohort.get("first", 1)
    return [f"{cohort['prefix']}{i:0{pad}d}@{cohort['domain']}" for i in range(first, first + cohort["count"])]


def k6_argv(k6: str, script_path: str, paths: dict) -> list[str]:
    """The k6 command line. No secret and no request detail in it: the script's config
    (EXAMDAY_CONFIG) and the password are in the process environment."""
    return [k6, "run", "--quiet", "--no-color", "--no-usage-report", "--address", "", "--log-format", "raw",
            "--config", paths["config"], "--summary-export", paths["summary"], "--out", f"json={paths['raw']}",
            "--console-output", paths["console"], script_path]


def inspect_argv(k6: str, script_path: str, config_path: str) -> list[str]:
    """k6 inspect: parses the script and the options (exec function, executor, thresholds)
    without sending anything."""
    return [k6, "inspect", "--execution-requirements", "--include-system-env-vars", "--no-color", "--address", "",
            "--config", config_path, script_path]


def config_env(plan: dict) -> dict:
    return {"EXAMDAY_CONFIG": json.dumps(plan["config"], separators=(",", ":"))}


def shown_config(config: dict) -> dict:
    """The script's config as a result may show it: header values masked (they may carry a token)."""
    out = dict(config)
    if out.get("headers"):
        out["headers"] = dict.fromkeys(out["headers"], "<masked>")
    return out


# ---------------------------------------------------------------------------------------- k6 output
K6_EXIT_CODES = {
    99: "thresholds failed", 100: "setup timed out", 101: "teardown timed out", 102: "timed out",
    103: "engine error", 104: "invalid configuration", 105: "aborted by a signal", 106: "cannot start the REST API",
    107: "script exception", 108: "script aborted the test", 109: "k6 panicked", 110: "marked as failed",
}


def k6_error_line(stderr: str, stdout: str = "") -> str:
    """The most telling line of what k6 printed when it failed (its last error message)."""
    lines = [ln.strip() for ln in (stderr or "").splitlines() + (stdout or "").splitlines() if ln.strip()]
    for line in reversed(lines):
        m = re.search(r'level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"', line)
        if m:
            parts = [part.strip().lstrip("-").strip() for part in _unquote(m.group(1)).splitlines() if part.strip()]
            return " ".join(parts).rstrip(".")[:500]
    for line in reversed(lines):
        if re.search(r"error|invalid|failed|not found|cannot", line, flags=re.I):
            return line[:300].rstrip(".")
    return lines[-1][:300].rstrip(".") if lines else ""


def _unquote(text: str) -> str:
    try:
        return json.loads(f'"{text}"')
    except ValueError:
        return text.replace('\\"', '"').replace("\\\\", "\\")


def _round(value, digits: int = 3):
    return None if value is None else round(float(value), digits)


def summary_thresholds(summary: dict) -> dict:
    """{"metric{expression}": passed}. In --summary-export a threshold's value is true when it
    FAILED (k6's legacy summary), so it is inverted here."""
    out = {}
    for metric, values in sorted((summary.get("metrics") or {}).items()):
        for expr, failed in sorted(((values or {}).get("thresholds") or {}).items()):
            out[f"{metric}{{{expr}}}"] = not failed
    return out


def summary_checks(summary: dict) -> dict:
    """Per-check passes and fails, from the root group and nested groups."""
    out: dict = {}

    def walk(group: dict) -> None:
        for name, chk in (group.get("checks") or {}).items():
            entry = out.setdefault(chk.get("name", name), {"passes": 0, "fails": 0})
            entry["passes"] += int(chk.get("passes", 0))
            entry["fails"] += int(chk.get("fails", 0))
        for sub in (group.get("groups") or {}).values():
            walk(sub)

    walk(summary.get("root_group") or {})
    return out


def result_from_summary(summary: dict, name: str, started_at: str, finished_at: str, duration_s: float,
                        acks: dict | None = None, files: dict | None = None) -> dict:
    """The load result (docs/evidence.md) from k6's --summary-export."""
    metrics = summary.get("metrics") or {}

    def metric(key: str) -> dict:
        return metrics.get(key) or {}

    duration = metric("http_req_duration")
    checks = metric("checks")
    thresholds = summary_thresholds(summary)
    result = {
        "scenario": name,
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_s": round(duration_s, 1),
        "http_reqs": int(metric("http_reqs").get("count", 0)),
        "rps": _round(metric("http_reqs").get("rate", 0.0), 1),
        "p50_ms": _round(duration.get("p(50)", duration.get("med"))),
        "p95_ms": _round(duration.get("p(95)")),
        "p99_ms": _round(duration.get("p(99)")),
        "max_ms": _round(duration.get("max")),
        "error_rate": _round(metric("http_req_failed").get("value", 0.0), 5),
        "checks": {"passes": int(checks.get("passes", 0)), "fails": int(checks.get("fails", 0))},
        "thresholds": thresholds,
        "thresholds_passed": all(thresholds.values()),
        "dropped_iterations": int(metric("dropped_iterations").get("count", 0)),
        "vus_max": int(metric("vus_max").get("max", metric("vus_max").get("value", 0))),
        "iterations": int(metric("iterations").get("count", 0)),
        "checks_by_name": summary_checks(summary),
        "acks": _acks.acked_counts(acks or {}),
        "unknown_writes": _acks.unknown_counts(acks or {}),
        "files": files or {},
    }
    exam = {
        "token_refreshes": int(metric("examday_token_refreshes").get("count", 0)),
        "logins": int(metric("examday_logins").get("count", 0)),
        "login_failures": int(metric("examday_login_failures").get("count", 0)),
        "rate_limited": int(metric("examday_rate_limited").get("count", 0)),
        "unknown_writes": int(metric("examday_unknown_writes").get("count", 0)),
        "stale_refused": int(metric("examday_stale_refused").get("count", 0)),
    }
    for key, label in (("examday_refresh_continued", "refresh_continued"),
                       ("examday_double_submit_same", "double_submit_same")):
        m = metric(key)
        exam[label] = {"passes": int(m.get("passes", 0)), "fails": int(m.get("fails", 0))}
    if any(k in metrics for k in EXAM_METRICS):
        result["exam"] = exam
    return result


def contains_secret(fh: IO[bytes], secret: str, chunk: int = 1 << 20) -> bool:
    """Whether a secret occurs in a (binary) stream, read in chunks with an overlap."""
    needle = secret.encode()
    if not needle:
        return False
    tail = b""
    while True:
        block = fh.read(chunk)
        if not block:
            return False
        window = tail + block
        if needle in window:
            return True
        tail = window[-(len(needle) - 1):] if len(needle) > 1 else b""
