# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.html: a self-contained page (inline SVG charts, no script, no external resource): the
verdict and gates, per-second latency, errors and requests with the fault windows shaded and
labelled, recovery time per fault, CPU and memory per container. Every evidence text is escaped."""
from __future__ import annotations

import datetime
import html
import math
from typing import Any, Iterable

from ansible_collections.examday.ops.plugins.module_utils._report.fmt import (
    NOT_MEASURED, assessment, fmt_ms, fmt_n, fmt_pct, fmt_s, fmt_value, gate_result,
)
from ansible_collections.examday.ops.plugins.module_utils._report.values import clip

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
_W, _H, _L, _R, _T, _B = 920, 250, 64, 36, 42, 34  # size, then margins: left, right, top (title + legend), bottom


def _clock(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%H:%M:%S")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _nice_step(value: float, ticks: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) such that `ticks` steps cover `value`."""
    if value <= 0:
        return 0.25
    raw = value / ticks
    exp = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 2.5, 5, 10):
        if raw <= step * exp:
            return step * exp
    return 10 * exp


def _legend(items: list[tuple[str, str]]) -> str:
    parts, x = [], _L
    for name, color in items:
        parts.append(f'<rect x="{x}" y="22" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14}" y="31" class="lg">{_e(name)}</text>')
        x += 24 + 7 * len(name)
    return "".join(parts)


def _downsample(points: list, limit: int = 1500) -> list:
    if len(points) <= limit:
        return points
    step = math.ceil(len(points) / limit)
    return points[::step]


def svg_line_chart(title: str, series: list[tuple[str, str, list]], x0: float, x1: float, unit: str,
                   windows: Iterable[dict] = (), hlines: Iterable[tuple[str, float]] = ()) -> str:
    """Lines over time (epoch seconds) with shaded, labelled windows and dashed reference lines."""
    data = [y for _n, _c, pts in series for _x, y in pts]
    top = max(data, default=0.0)
    # a reference line far above the data would flatten it: such a line is named in the title instead
    off_scale = [label for label, value in hlines if top and value > 2 * top]
    hlines = [(label, value) for label, value in hlines if not top or value <= 2 * top]
    if off_scale:
        title = f"{title} ({', '.join(off_scale)}: above the scale)"
    ys = data + [v for _l, v in hlines]
    step = _nice_step(max(ys, default=1.0) * 1.05)
    y_max = 4 * step
    x1 = max(x1, x0 + 1)
    pw, ph = _W - _L - _R, _H - _T - _B

    def px(x: float) -> float:
        return _L + (min(max(x, x0), x1) - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return _T + ph - min(max(y, 0.0), y_max) / y_max * ph
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
             f'role="img" aria-label="{_e(title)}">',
             f'<text x="{_L}" y="14" class="t">{_e(title)}</text>', _legend([(n, c) for n, c, _p in series])]
    for number, w in enumerate(windows, start=1):
        start, end = w.get("start"), w.get("end") if w.get("end") is not None else x1
        if start is None or end < x0 or start > x1:
            continue
        a, b = px(start), px(end)
        parts.append(f'<rect x="{a:.1f}" y="{_T}" width="{max(b - a, 1):.1f}" height="{ph}" class="win">'
                     f'<title>{_e(w["label"])}</title></rect>')
        parts.append(f'<text x="{a + 2:.1f}" y="{_T + 11}" class="wl">{number}</text>')  # named below the chart
    for i in range(5):
        v = step * i
        parts.append(f'<line x1="{_L}" x2="{_W - _R}" y1="{py(v):.1f}" y2="{py(v):.1f}" class="grid"/>')
        parts.append(f'<text x="{_L - 4}" y="{py(v) + 4:.1f}" class="yl">{_e(_tick(v, step))}</text>')
    for i in range(6):
        x = x0 + (x1 - x0) * i / 5
        parts.append(f'<text x="{px(x):.1f}" y="{_H - _B + 16}" class="xl">{_e(_clock(x))}</text>')
    parts.append(f'<text x="{_W - _R}" y="{_H - 4}" class="yl">UTC; {_e(unit)}</text>')
    for label, value in hlines:
        parts.append(f'<line x1="{_L}" x2="{_W - _R}" y1="{py(value):.1f}" y2="{py(value):.1f}" class="limit"/>'
                     f'<text x="{_W - _R - 2}" y="{py(value) - 3:.1f}" class="yl">{_e(label)}</text>')
    for _name, color, pts in series:
        for run_pts in _runs(_downsample(pts)):
            coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in run_pts)
            if len(run_pts) == 1:
                x, y = run_pts[0]
                parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="1.5" fill="{color}"/>')
            else:
                parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.4"/>')
    parts.append(f'<rect x="{_L}" y="{_T}" width="{pw}" height="{ph}" class="frame"/></svg>')
    return "".join(parts)


def _runs(points: list) -> list[list]:
    """Splits a series where samples are missing (a gap of more than 2.5 usual intervals): no line across gaps."""
    steps = sorted(b[0] - a[0] for a, b in zip(points, points[1:]))
    gap = max(2.0, 2.5 * steps[len(steps) // 2]) if steps else 2.0
    runs: list[list] = []
    for p in points:
        if runs and p[0] - runs[-1][-1][0] <= gap:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def _tick(value: float, step: float) -> str:
    if float(step).is_integer():
        return f"{value:.0f}"
    return f"{value:.1f}" if float(step * 10).is_integer() else f"{value:.2f}"


def svg_bar_chart(title: str, bars: list[tuple[str, float | None]], unit: str, limit: float | None = None) -> str:
    """Horizontal bars (None drawn as "not measured"), with a dashed limit line."""
    row, left = 26, 260
    height = _T + row * max(len(bars), 1) + 24
    top = max([v for _n, v in bars if v is not None] + ([limit] if limit else []), default=1.0)
    x_max = 4 * _nice_step(top * 1.1)
    pw = _W - left - _R - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" viewBox="0 0 {_W} {height}" '
             f'role="img" aria-label="{_e(title)}">', f'<text x="{_L}" y="14" class="t">{_e(title)}</text>']
    for i, (name, value) in enumerate(bars):
        y = _T + i * row
        parts.append(f'<text x="{left - 6}" y="{y + 15}" class="yl">{_e(clip(name, 40))}</text>')
        if value is None:
            parts.append(f'<text x="{left + 4}" y="{y + 15}" class="lg">{NOT_MEASURED}</text>')
            continue
        over = limit is not None and value > limit
        width = max(value / x_max * pw, 1)
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{width:.1f}" height="16" '
                     f'fill="{"#d62728" if over else "#2ca02c"}"><title>{_e(name)}: {value:.2f} {_e(unit)}</title></rect>'
                     f'<text x="{left + width + 4:.1f}" y="{y + 16}" class="lg">{value:.2f} {_e(unit)}</text>')
    if limit is not None:
        x = left + limit / x_max * pw
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_T}" y2="{height - 20}" class="limit"/>'
                     f'<text x="{x:.1f}" y="{height - 6}" class="xl">budget {limit:g} {_e(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{margin-bottom:4px}.meta{color:#555;margin-top:0}
.verdict{display:inline-block;padding:6px 14px;border-radius:4px;color:#fff;font-weight:bold;font-size:1.3em}
.GO{background:#2ca02c}.NO-GO{background:#d62728}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.92em}th,td{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}
.pass{color:#1a7f1a;font-weight:bold}.fail{color:#c00;font-weight:bold}.none{color:#b36b00;font-weight:bold}
svg{display:block;margin:8px 0 18px}svg .t{font-weight:bold;font-size:13px}
svg .yl{font-size:10px;text-anchor:end;fill:#444}svg .xl{font-size:10px;text-anchor:middle;fill:#444}
svg .lg{font-size:11px;fill:#222}svg .wl{font-size:10px;fill:#8a1c1c}
svg .grid{stroke:#e5e5e5}svg .frame{fill:none;stroke:#999}svg .win{fill:#f4b6b6;fill-opacity:.45}
svg .limit{stroke:#d62728;stroke-dasharray:5 4}
"""


def render_html(report: dict, stats: dict | None = None) -> str:
    """A self-contained page: verdict, gates, per-second latency and errors with fault windows, recovery
    times, container CPU and memory. No script, no external resource."""
    stats = stats or {}
    rows = report["timeline"]["per_second"]
    windows = report["load"]["windows"]
    xs = [r["t"] for r in rows] + [r["t"] + 1 for r in rows] + [w["start"] for w in windows if w["start"] is not None]
    xs += [w["end"] for w in windows if w["end"] is not None]
    for entry in stats.values():
        xs += [t for t, _v in entry["cpu"]] + [t for t, _v in entry["mem"]]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    th = report["thresholds"]
    body = [f"<h1>{_e(report['title'])}</h1>",
            f'<p class="meta">{_e(report["date"])} · environment {_e(report["environment"] or "not recorded")} · '
            f'API {_e(report["api_url"] or "not recorded")} · conducted by {_e(report["conducted_by"] or "not recorded")}'
            f'<br>evidence {_e(report["evidence_dir"])}</p>',
            f'<p><span class="verdict {_e(report["verdict"])}">{_e(report["verdict"])}</span> {_e(assessment(report))}</p>',
            "<h2>Hard gates</h2><table><tr><th>gate</th><th>result</th><th>value</th><th>threshold</th>"
            "<th>evidence</th><th>detail</th></tr>"]
    for g in report["gates"]:
        cls = "pass" if g["passed"] is True else ("fail" if g["passed"] is False else "none")
        body.append(f'<tr><td>{_e(g["name"])}</td><td class="{cls}">{_e(gate_result(g))}</td>'
                    f'<td>{_e(fmt_value(g["value"], g["unit"]))}</td><td>{_e(g["rule"])}</td>'
                    f'<td>{_e(", ".join(g["evidence"]))}</td><td>{_e(g["detail"])}</td></tr>')
    body.append("</table>")
    if report["problems"]:
        body.append("<h2>Phases that failed</h2><ul>" + "".join(
            f"<li>{_e(p['phase'])}: {_e(p['error'])}</li>" for p in report["problems"]) + "</ul>")
    body.append("<h2>Load over the run</h2>")
    if rows:
        lat = [(f"p{q}", color, [(r["t"] + 0.5, r[f"p{q}_ms"]) for r in rows if r[f"p{q}_ms"] is not None])
               for q, color in (("50", _PALETTE[0]), ("95", _PALETTE[3]), ("99", _PALETTE[1]))]
        body.append(svg_line_chart("Latency per second (http_req_duration)", lat, x0, x1, "ms", windows,
                                   [(f"p95 limit {th['p95_ms']:g} ms", th["p95_ms"])]))
        err = [("error rate", _PALETTE[1], [(r["t"] + 0.5, r["error_rate_pct"]) for r in rows
                                            if r["error_rate_pct"] is not None])]
        body.append(svg_line_chart("Error rate per second (http_req_failed)", err, x0, x1, "%", windows,
                                   [(f"budget {th['fault_error_budget_pct']:g} %", th["fault_error_budget_pct"]),
                                    (f"limit {th['error_rate_pct']:g} %", th["error_rate_pct"])]))
        rps = [("requests/s", _PALETTE[2], [(r["t"] + 0.5, float(r["requests"])) for r in rows])]
        body.append(svg_line_chart("Requests per second", rps, x0, x1, "req/s", windows))
        if windows:
            body.append("<p>Shaded fault windows: " + "; ".join(f"{i} = {_e(w['label'])}" for i, w in enumerate(windows, start=1))
                        + ".</p>")
    else:
        body.append(f"<p>Per-second load: {NOT_MEASURED} (no raw k6 samples).</p>")
    body.append(_html_scenarios(report))
    body.append("<h2>Faults and recovery</h2>")
    faults = report["faults"]
    if faults:
        body.append(svg_bar_chart("Recovery time per fault (students: the fault's end to the canary's first success)",
                                  [(f["name"], (f["canary"] or {}).get("recovery_s")) for f in faults], "s",
                                  th["recovery_seconds"]))
        body.append("<table><tr><th>fault</th><th>targets</th><th>injected</th><th>restored</th>"
                    "<th>students interrupted</th><th>students back after</th><th>platform said ready after</th>"
                    "<th>requests in window</th><th>errors in window</th></tr>")
        for f in faults:
            w = f["window"] or {}
            c = f["canary"] or {}
            body.append(f"<tr><td>{_e(f['name'])}</td><td>{_e(', '.join(f['targets']))}</td>"
                        f"<td>{_e(f['injected_at'] or NOT_MEASURED)}</td><td>{_e(f['restored_at'] or NOT_MEASURED)}</td>"
                        f"<td>{_e(fmt_s(c.get('outage_s')))}</td><td>{_e(fmt_s(c.get('recovery_s')))}</td>"
                        f"<td>{_e(fmt_s(f['recovery_seconds']))}</td><td>{_e(fmt_n(w.get('requests')))}</td>"
                        f"<td>{_e(fmt_pct(w.get('error_rate_pct')))}</td></tr>")
        body.append("</table>")
    else:
        body.append(f"<p>Faults: {NOT_MEASURED} ({'faults.json missing' if faults is None else 'no fault injected'}).</p>")
    body.append(_html_canary(report, x0, x1, windows))
    body.append(_html_integrity(report))
    body.append(_html_ux(report))
    body.append("<h2>Containers</h2>")
    if stats:
        names = sorted(stats)
        colors = {n: _PALETTE[i % len(_PALETTE)] for i, n in enumerate(names)}
        body.append(svg_line_chart("CPU per container", [(n, colors[n], stats[n]["cpu"]) for n in names], x0, x1, "%",
                                   windows))
        body.append(svg_line_chart("Memory per container", [(n, colors[n], [(t, v / 1048576) for t, v in stats[n]["mem"]])
                                                            for n in names], x0, x1, "MiB", windows))
    else:
        body.append(f"<p>Container samples: {NOT_MEASURED} (no metrics/stats.jsonl).</p>")
    body.append(_html_comparison(report))
    body.append(_html_risks(report))
    body.append("<h2>Sign-off</h2><table><tr><th>role</th><th>name</th><th>date</th></tr>"
                f"<tr><td>Conducted by</td><td>{_e(report['conducted_by'] or '')}</td><td>{_e(report['date'])}</td></tr>"
                "<tr><td>Reviewed by</td><td></td><td></td></tr><tr><td>Approved by</td><td></td><td></td></tr></table>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(report['title'])}: {_e(report['verdict'])}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _html_canary(report: dict, x0: float, x1: float, windows: list) -> str:
    """The canary student's ticks: 1 when the student's calls succeeded (and readiness said ok), 0 when not."""
    points = report["canary"]["timeline"]
    if not points:
        return f"<h2>What students saw</h2><p>The canary student: {NOT_MEASURED} (no canary.jsonl).</p>"
    x0, x1 = min(x0, points[0][0]), max(x1, points[-1][0])
    series = [("student ok", _PALETTE[2], [(t, 1.0 if ok else 0.0) for t, ok, _r in points]),
              ("readiness ok", _PALETTE[0], [(t, 0.9 if ready else 0.1) for t, _ok, ready in points])]
    lies = report["canary"]["lies"]
    text = (f"<p>Readiness said ok while the student failed {len(lies)} times: " + "; ".join(
        f"{_e(_clock(e['start']))} for {_e(fmt_s(e['seconds']))}" for e in lies[:5]) + ".</p>") if lies else \
        "<p>Readiness never said ok while the student failed on the server side.</p>"
    return ("<h2>What students saw</h2>"
            + svg_line_chart("The canary student (1 = ok) and readiness (0.9 = ok)", series, x0, x1, "", windows)
            + text)


def _html_scenarios(report: dict) -> str:
    scenarios = report["load"]["scenarios"]
    if not scenarios:
        return f"<p>Scenarios: {NOT_MEASURED}.</p>"
    out = ["<table><tr><th>scenario</th><th>requests</th><th>errors</th><th>p50</th><th>p95</th><th>p99</th>"
           "<th>p95 outside faults</th><th>errors outside faults</th></tr>"]
    for s in scenarios:
        o = s.get("outside") or {}
        out.append(f"<tr><td>{_e(s['name'])}</td><td>{_e(fmt_n(s.get('requests')))}</td>"
                   f"<td>{_e(fmt_pct(s.get('error_rate_pct')))}</td><td>{_e(fmt_ms(s.get('p50_ms')))}</td>"
                   f"<td>{_e(fmt_ms(s.get('p95_ms')))}</td><td>{_e(fmt_ms(s.get('p99_ms')))}</td>"
                   f"<td>{_e(fmt_ms(o.get('p95_ms')))}</td><td>{_e(fmt_pct(o.get('error_rate_pct')))}</td></tr>")
    out.append("</table>")
    return "".join(out)


def _html_integrity(report: dict) -> str:
    integ = report["integrity"]
    if not integ:
        return f"<h2>Data integrity</h2><p>Integrity: {NOT_MEASURED} (no integrity.json).</p>"
    out = ["<h2>Data integrity</h2><table><tr><th>check</th><th>count</th><th>expected</th><th>result</th>"
           "<th>gate</th></tr>"]
    for c in integ["checks"]:
        cls = "pass" if c["passed"] is True else ("fail" if c["passed"] is False else "none")
        text = "PASS" if c["passed"] is True else ("FAIL" if c["passed"] is False else NOT_MEASURED)
        out.append(f'<tr><td>{_e(c["name"])}</td><td>{_e(fmt_n(c["count"]))}</td><td>{_e(c["expected"])}</td>'
                   f'<td class="{cls}">{text}</td><td>{_e(c["gate"])}</td></tr>')
    out.append("</table>")
    rec = integ["reconciliation"]
    acked = ", ".join(f"{k} {fmt_n(v)}" for k, v in rec["acknowledged"].items()) or NOT_MEASURED
    out.append("<table><tr><th>reconciliation of acknowledged writes</th><th>count</th></tr>"
               f"<tr><td>acknowledged</td><td>{_e(acked)}</td></tr>")
    for part, label in (("lost", "lost"), ("mismatched", "stored with another value"),
                        ("stale_overwrites", "overwritten by an older request applied later"),
                        ("superseded", "replaced by a later write of unknown outcome"),
                        ("duplicates", "stored twice")):
        out.append(f"<tr><td>{label}</td><td>{_e(fmt_n(rec[part]['count']))}</td></tr>")
    idem = report["idempotency"]
    out.append(f"<tr><td>concurrent double submits answered differently</td><td>"
               f"{_e(str(idem['differ']) + ' of ' + str(idem['pairs']) if idem['pairs'] else 'none recorded')}</td></tr>"
               "</table>")
    return "".join(out)


def _html_ux(report: dict) -> str:
    ux = report["ux"]
    if not ux:
        return f"<h2>User experience</h2><p>The student flow: {NOT_MEASURED} (no ux.json).</p>"
    out = ["<h2>User experience</h2><table><tr><th>check</th><th>result</th><th>detail</th></tr>"]
    for check in ux["checks"].values():
        cls = "pass" if check["passed"] is True else ("fail" if check["passed"] is False else "none")
        text = "PASS" if check["passed"] is True else ("FAIL" if check["passed"] is False else NOT_MEASURED)
        out.append(f'<tr><td>{_e(check["title"])}</td><td class="{cls}">{text}</td><td>{_e(check["detail"])}</td></tr>')
    out.append("</table>")
    if ux["msg"]:
        out.append(f"<p>{_e(ux['msg'])}</p>")
    return "".join(out)


def _html_comparison(report: dict) -> str:
    cmp = report.get("comparison") or {}
    if not cmp.get("rows"):
        return f"<h2>Compared with the previous rehearsal</h2><p>{_e(cmp.get('note') or 'not compared')}</p>"
    out = [f"<h2>Compared with the previous rehearsal</h2><p>Previous: {_e(cmp['previous_dir'])} "
           f"({_e(cmp['previous_date'])}, {_e(cmp['previous_verdict'])})</p>"
           "<table><tr><th>figure</th><th>previous</th><th>now</th><th>change</th><th>regression</th></tr>"]
    for r in cmp["rows"]:
        cls = "fail" if r["regression"] else ("pass" if r["regression"] is False else "none")
        change = NOT_MEASURED if r["delta"] is None else f"{r['delta']:+g} {r['unit']}"
        out.append(f"<tr><td>{_e(r['title'])}</td><td>{_e(fmt_value(r['previous'], r['unit']))}</td>"
                   f"<td>{_e(fmt_value(r['current'], r['unit']))}</td><td>{_e(change)}</td>"
                   f'<td class="{cls}">{"REGRESSION" if r["regression"] else ("no" if r["regression"] is False else NOT_MEASURED)}'
                   "</td></tr>")
    return "".join(out) + "</table>"


def _html_risks(report: dict) -> str:
    if not report["risks"]:
        return "<h2>Risk register</h2><p>No weak point observed in this rehearsal's evidence.</p>"
    return ("<h2>Risk register</h2><table><tr><th>risk</th><th>impact</th><th>likelihood</th><th>mitigation</th></tr>"
            + "".join(f"<tr><td>{_e(r['risk'])}</td><td>{_e(r['impact'])}</td><td>{_e(r['likelihood'])}</td>"
                      f"<td>{_e(r['mitigation'])}</td></tr>" for r in report["risks"]) + "</table>")
