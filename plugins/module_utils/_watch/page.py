# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""watch.html: the live watch as one self-contained page in the rehearsal report's chart style
(inline SVG, no script, no external resource), rewritten every interval and reloading itself, so it
can be left open in a browser: the state now, the alerts (active first), latency against the p95
limit, the error rate, the pool, the probes, and every alert's window shaded. Every text is escaped."""
from __future__ import annotations

import datetime

from ansible_collections.examday.ops.plugins.module_utils._report.render_html import _CSS, _e, svg_line_chart
from ansible_collections.examday.ops.plugins.module_utils._watch import alerts

MAX_POINTS = 2000  # the newest samples drawn (a 180-minute watch at 5 s intervals)


def epoch(at: str | None) -> float | None:
    if not at:
        return None
    text = at.rstrip("Z")
    try:
        when = datetime.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    frac = float("0" + text[19:]) if text[19:].startswith(".") else 0.0
    return when.replace(tzinfo=datetime.timezone.utc).timestamp() + frac


def _series(samples: list[dict], key: str, scale: float = 1.0) -> list[tuple[float, float]]:
    """(epoch, value) of a sample key; a boolean is drawn as 1 or 0 (times scale, so probes do not hide
    each other); a value not measured leaves a gap."""
    out = []
    for s in samples:
        x, v = epoch(s.get("at")), s.get(key)
        if x is None:
            continue
        if isinstance(v, bool):
            out.append((x, (1.0 if v else 0.0) * scale))
        elif isinstance(v, (int, float)):
            out.append((x, float(v) * scale))
    return out


def windows(events: list[dict], now: float) -> list[dict]:
    """Each alert's raised..cleared window (open ones end now), labelled with its name."""
    out, open_ = [], {}
    for ev in events:
        if ev["event"] == "raised":
            open_[ev["rule"]] = ev
        elif ev["event"] == "cleared" and ev["rule"] in open_:
            start = open_.pop(ev["rule"])
            out.append({"start": epoch(start["at"]), "end": epoch(ev["at"]), "label": start["name"]})
    out += [{"start": epoch(ev["at"]), "end": now, "label": f"{ev['name']} (active)"} for ev in open_.values()]
    return sorted(out, key=lambda w: w["start"] or 0)


def _v(value, unit: str = "") -> str:
    if value is None:
        return "not measured"
    return alerts.value_text(value, unit)


def render(record: dict, samples: list[dict], thresholds: dict) -> str:
    samples = samples[-MAX_POINTS:]
    events = record.get("alerts") or []
    last = record.get("last_sample") or {}
    finished = record.get("finished_at")
    x0 = epoch(samples[0]["at"]) if samples else epoch(record.get("started_at")) or 0.0
    x1 = epoch(samples[-1]["at"]) if samples else x0 + 1
    wins = windows(events, x1)
    state = "finished" if finished else "running"
    active = record.get("active") or []
    status = "ALERT" if active else "OK"
    body = [f"<h1>Live watch: {_e(record.get('source') or 'exam platform')}</h1>",
            f"<p class=\"meta\">{_e(state)}: started {_e(record.get('started_at'))}"
            + (f", finished {_e(finished)} ({_e(record.get('stopped_by'))})" if finished else "")
            + f"; {record.get('samples', 0)} samples every {_e(record.get('interval_s'))} s"
            + f"; last sample {_e(last.get('at') or 'none yet')}</p>",
            f"<p><span class=\"verdict {'NO-GO' if active else 'GO'}\">{status}</span> "
            + (_e("active: " + ", ".join(alerts.RULES_BY_ID[r].name for r in active if r in alerts.RULES_BY_ID))
               if active else "no active alert") + "</p>"]
    body.append("<h2>Now</h2><table><tr><th>value</th><th>last sample</th></tr>" + "".join(
        f"<tr><td>{_e(name)}</td><td>{_e(_v(last.get(key), unit))}"
        + (f" ({_e(last.get(detail))})" if detail and last.get(detail) and last.get(detail) != "ok" else "")
        + "</td></tr>"
        for name, key, unit, detail in (
            ("health", "health_ok", "", "health"), ("readiness", "ready_ok", "", "ready"),
            ("requests in the interval", "requests", "", None), ("p50", "p50_ms", "ms", None),
            ("p95", "p95_ms", "ms", None), ("error rate", "error_rate_pct", "%", None),
            ("slow requests", "slow_requests", "", None), ("slow SQL", "slow_sql", "", None),
            ("DB connections", "db_connections", "", None), ("DB pool used", "db_pool_pct", "%", None),
            ("Redis reachable", "redis_ok", "", None), ("backends running", "backends_running", "", None),
            ("restarts in the interval", "restarts", "", None), ("EXAM_MODE on", "exam_mode_on", "", None)))
        + "</table>")
    if last.get("errors"):
        why = "; ".join(f"{k}: {v}" for k, v in sorted(last["errors"].items()))
        body.append(f"<p>Not observed in the last sample: {_e(why)}</p>")
    body.append("<h2>Alerts</h2>")
    if events:
        body.append("<table><tr><th>at</th><th>event</th><th>alert</th><th>value</th><th>runbook</th></tr>" + "".join(
            f"<tr><td>{_e(ev['at'])}</td><td class=\"{'fail' if ev['event'] == 'raised' else 'pass'}\">"
            f"{_e(ev['event'])}</td><td>{_e(ev['name'])}</td><td>{_e(_v(ev['value'], ev['unit']))}</td>"
            f"<td>{_e(ev['runbook']['section'])}</td></tr>" for ev in reversed(events)) + "</table>")
    else:
        body.append("<p>No alert was raised.</p>")
    if samples:
        lat = [("p95", "#d62728", _series(samples, "p95_ms")), ("p50", "#1f77b4", _series(samples, "p50_ms"))]
        body.append(svg_line_chart("Latency per interval (backend logs)", lat, x0, x1, "ms", wins,
                                   [(f"p95 limit {thresholds['p95_ms']:g} ms", float(thresholds["p95_ms"]))]))
        body.append(svg_line_chart("Error rate per interval (5xx)", [("5xx", "#d62728", _series(samples, "error_rate_pct"))],
                                   x0, x1, "%", wins, [(f"limit {thresholds['error_rate_pct']:g} %",
                                                        float(thresholds["error_rate_pct"]))]))
        body.append(svg_line_chart("Requests per interval", [("requests", "#2ca02c", _series(samples, "requests"))],
                                   x0, x1, "requests", wins))
        body.append(svg_line_chart("Database pool used", [("pool", "#9467bd", _series(samples, "db_pool_pct"))],
                                   x0, x1, "%", wins, [(f"limit {thresholds['db_pool_pct']:g} %",
                                                       float(thresholds["db_pool_pct"]))]))
        probes = [("health (1 = ok)", "#2ca02c", _series(samples, "health_ok")),
                  ("readiness (0.9 = ok)", "#1f77b4", _series(samples, "ready_ok", 0.9)),
                  ("Redis (0.8 = ok)", "#ff7f0e", _series(samples, "redis_ok", 0.8))]
        body.append(svg_line_chart("Probes", probes, x0, x1, "", wins))
        if wins:
            body.append("<ol>" + "".join(f"<li>{_e(w['label'])}</li>" for w in wins) + "</ol>")
    refresh = "" if finished else f"<meta http-equiv=\"refresh\" content=\"{max(5, int(record.get('interval_s') or 15))}\">"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">" + refresh
            + f"<title>{_e(status)}: live watch</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
