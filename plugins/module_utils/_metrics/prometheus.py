# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus: instant queries at the end of the window against thresholds, and the alerts it reports."""
from __future__ import annotations

import datetime
import json
import math
from urllib.parse import urlencode

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._metrics.constants import NOT_MEASURED
from ansible_collections.examday.ops.plugins.module_utils._metrics.scrub import scrub
from ansible_collections.examday.ops.plugins.module_utils._metrics.timewin import iso
from ansible_collections.examday.ops.plugins.module_utils._platform.api import PlatformUnreachable


# Seed 003's alert rules, as expressions over the platform's metrics (the lab's /metrics names):
# HighErrorRate (5xx > 0.5 % for 5 min), HighLatencyP95 (p95 > 300 ms for 10 min), HighAuthFailureRate
# (login failures > 1 %). WebSocketBackpressure has no counterpart (the platform has no WebSockets).
# The DB pool query is seed 000's "pool < 80 %".
PROMETHEUS_QUERIES = {
    "error_rate_5xx_pct": '100 * sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
    "latency_p95_seconds": "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "auth_failure_rate_pct": '100 * sum(rate(http_requests_total{route="login",status=~"4.."}[5m])) '
                             '/ sum(rate(http_requests_total{route="login"}[5m]))',
    "db_pool_in_use_pct": "100 * sum(db_pool_in_use) / sum(db_pool_size + db_pool_max_overflow)",
}
PROMETHEUS_THRESHOLDS = {"error_rate_5xx_pct": 0.5, "latency_p95_seconds": 0.3, "auth_failure_rate_pct": 1.0,
                         "db_pool_in_use_pct": 80.0}


def query_specs(queries: dict | None) -> dict:
    """{name: {"expr", "threshold"}} from the option: a name maps to an expression or {expr, threshold}."""
    if not queries:
        return {n: {"expr": e, "threshold": PROMETHEUS_THRESHOLDS.get(n)} for n, e in PROMETHEUS_QUERIES.items()}
    out = {}
    for name, spec in queries.items():
        if isinstance(spec, dict):
            if not spec.get("expr"):
                raise OpsError(f"prometheus_queries.{name} needs an expr.")
            threshold = spec.get("threshold")
            out[name] = {"expr": str(spec["expr"]), "threshold": None if threshold is None else float(threshold)}
        else:
            out[name] = {"expr": str(spec), "threshold": PROMETHEUS_THRESHOLDS.get(name)}
    return out


def _finite(value) -> float | None:
    """A sample value as a finite float; None for a missing, non-numeric, NaN or infinite one."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def prometheus_get(transport, base_url: str, path: str, params: dict, timeout: float) -> dict:
    """GET an API path; an unreachable server, a non-JSON or failed answer is one sentence."""
    url = base_url.rstrip("/") + path + ("?" + urlencode(params) if params else "")
    where = scrub(base_url)
    try:
        status, _headers, body = transport("GET", url, {"Accept": "application/json"}, None, timeout)
    except PlatformUnreachable as exc:
        reason = str(exc).partition(": ")[2] or str(exc)
        raise OpsError(f"Prometheus at {where} is unreachable: {reason.rstrip('.')}.") from None
    try:
        data = json.loads(body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    except ValueError:
        raise OpsError(f"Prometheus at {where} answered {path} with HTTP {status} and no JSON; is it a Prometheus URL?") from None
    if not isinstance(data, dict) or data.get("status") != "success":
        error = data.get("error") if isinstance(data, dict) else None
        raise OpsError(f"Prometheus at {where} refused {path} (HTTP {status}): {error or 'no success status'}.")
    return data.get("data") or {}


def query_result(spec: dict, data: dict) -> dict:
    """An instant query's answer: each series' value, the single value when there is one series, and
    whether it is above the threshold."""
    kind, result = data.get("resultType"), data.get("result")
    series = []
    if kind == "vector":
        series = [{"metric": r.get("metric", {}), "value": _finite((r.get("value") or [None, None])[1])}
                  for r in result or []]
    elif kind == "scalar" and result:
        series = [{"metric": {}, "value": _finite(result[1])}]
    values = [s["value"] for s in series if s["value"] is not None]
    value = series[0]["value"] if len(series) == 1 else None
    threshold = spec.get("threshold")
    above = None
    if threshold is not None and values:
        above = max(values) > threshold
    out = {"expr": spec["expr"], "value": value, "series": series, "threshold": threshold,
           "above_threshold": above}
    if not values:
        out["note"] = NOT_MEASURED + "the query returned no value"
    return out


def firing_alerts(data: dict) -> tuple[list, list]:
    """(/api/v1/alerts' firing alerts, pending ones), as name, severity, since, value, labels."""
    firing, pending = [], []
    for alert in data.get("alerts") or []:
        labels = alert.get("labels") or {}
        entry = {"name": labels.get("alertname"), "severity": labels.get("severity"), "state": alert.get("state"),
                 "active_at": alert.get("activeAt"), "value": alert.get("value"), "labels": labels,
                 "summary": (alert.get("annotations") or {}).get("summary")}
        if alert.get("state") == "firing":
            firing.append(entry)
        elif alert.get("state") == "pending":
            pending.append(entry)
    return firing, pending


def prometheus_capture(transport, base_url: str, queries: dict | None, at: datetime.datetime,
                       timeout: float) -> tuple[dict, dict]:
    """(metrics section, raw answers) for a configured Prometheus: the queries at the end of the window
    and the alerts it reports now."""
    specs = query_specs(queries)
    raw: dict = {"queries": {}}
    results = {}
    ts = f"{at.timestamp():.3f}"
    for name in sorted(specs):
        data = prometheus_get(transport, base_url, "/api/v1/query", {"query": specs[name]["expr"], "time": ts}, timeout)
        raw["queries"][name] = data
        results[name] = query_result(specs[name], data)
    alerts = prometheus_get(transport, base_url, "/api/v1/alerts", {}, timeout)
    raw["alerts"] = alerts
    firing, pending = firing_alerts(alerts)
    return {"configured": True, "url": scrub(base_url), "at": iso(at), "queries": results, "firing_alerts": firing,
            "pending_alerts": pending}, raw
