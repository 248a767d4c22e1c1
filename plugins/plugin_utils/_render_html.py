# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The window report as one self-contained HTML page, with a timeline of the window.

Controller-only (plugin_utils). :func:`render_html` takes the dict that ``WindowTracker.report`` builds
(or the report JSON read back) and returns the page: a summary, a timeline with one row per lane (each
phase's planned bar under its actual bar, the window budget and the contingency as vertical lines), and
the phase, objective and backup tables and the warnings. Inline CSS and SVG only: no script, no fonts,
images or style sheets fetched from anywhere, so the file can be mailed or archived as it is. Every text
of the report is escaped (details and task names come from hosts and may hold markup).
"""

from __future__ import annotations

import html
import math

from ansible_collections.mailops.window.plugins.plugin_utils._render import incomplete_banner, previous_run_text, sibling

STATE_COLOURS = {"finished": "#2e9e4f", "overrun": "#f0a020", "failed": "#d64541", "rolled_back": "#7d3c98",
                 "unfinished": "#b57edc", "skipped": "url(#hatch)"}
LEGEND = (("planned", "planned (budget)"), ("finished", "finished"), ("overrun", "finished over budget"),
          ("failed", "failed"), ("rolled_back", "rolled back"), ("unfinished", "unfinished (still open at the end)"),
          ("skipped", "skipped"))
STATUS_COLOURS = {"met": "#2e9e4f", "rolled_back": "#7d3c98", "not_done": "#8a8f98", "failed": "#d64541"}

WIDTH, LABEL_W, RIGHT_PAD, TOP, TRACK_H, LANE_PAD, AXIS_H = 1320, 190, 30, 40, 40, 6, 34
CHAR_PX = 6.4  # width of a character of the 11px bar labels, to keep labels from overlapping

CSS = """
body{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;color:#1d2430;margin:24px;background:#fff;font-size:14px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d5dae1;padding-bottom:4px}
.sub{color:#5a6472;margin-bottom:12px}.banner{background:#fff3cd;border:1px solid #e0b84c;padding:8px 12px;margin:10px 0;font-weight:bold}
.banner.incomplete{background:#fde2e1;border-color:#d64541;color:#7a1712}.banner.previous-run{background:#eef3fb;border-color:#7f8fa6;font-weight:normal}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #d5dae1;border-radius:6px;padding:10px 14px;min-width:230px;flex:1}
.card .k{color:#5a6472;font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .v{font-size:24px;font-weight:bold;margin:2px 0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:bold;white-space:nowrap}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e3e7ec;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f8}td.n{text-align:right;white-space:nowrap}td.nw,td[class^=state-]{white-space:nowrap}
code,.mono{font-family:"DejaVu Sans Mono",monospace;font-size:12px}
.muted{color:#6b7480;font-size:12px}.fail{color:#b3261e}.legend{display:flex;gap:16px;flex-wrap:wrap;margin:6px 0 0 190px;font-size:12px}
.sw{display:inline-block;width:22px;height:11px;margin-right:5px;vertical-align:-1px;border:1px solid #4a5260}
svg .phase text{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}ul.warn li{color:#7a4b00;margin:3px 0}
svg text{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif}
"""


def _e(value):
    return html.escape("" if value is None else str(value), quote=True)


def _num(value):
    """Minutes for people: one decimal at most; a dash when unknown."""
    if value is None:
        return "\u2014"
    text = "%.1f" % value
    return text[:-2] if text.endswith(".0") else text


def planned_starts(phases):
    """{phase name: planned start, in minutes from the window's start}: the longest path of budgets through
    ``after`` (phases before the downtime and rollbacks do not delay anything); a rollback is planned right
    after the phase it rolls back. Phases before the downtime get None."""
    by_name = dict((p["name"], p) for p in phases)
    starts = {}

    def start(name, trail=()):
        if name not in starts:
            phase = by_name[name]
            if phase["kind"] == "before_downtime":
                starts[name] = None
            elif phase.get("rollback_of") in by_name and phase["rollback_of"] not in trail:
                target = by_name[phase["rollback_of"]]
                starts[name] = (start(target["name"], trail + (name,)) or 0.0) + float(target["budget_minutes"] or 0)
            else:
                ends = [start(d, trail + (name,)) + float(by_name[d]["budget_minutes"] or 0) for d in phase.get("after", [])
                        if d in by_name and d not in trail and by_name[d]["kind"] == "window"]
                starts[name] = max(ends) if ends else 0.0
        return starts[name]

    for phase in phases:
        start(phase["name"])
    return starts


def _paint(phase):
    if phase["state"] == "finished" and phase.get("overrun"):
        return "overrun"
    return phase["state"]


def _lanes(report):
    lanes = [dict(lane) for lane in report["plan"].get("lanes", [])]
    known = set(lane["id"] for lane in lanes)
    for phase in report["phases"]:
        if phase["lane"] not in known:
            known.add(phase["lane"])
            lanes.append({"id": phase["lane"], "team": phase["lane"], "title": ""})
    return lanes


def _items(report):
    """What the timeline draws per phase: its planned (start, end), its actual (start, end) when it ran."""
    planned = planned_starts(report["phases"])
    items = []
    for p in report["phases"]:
        offset = p.get("start_offset_minutes")
        ran = p["state"] not in ("not_run", "skipped") and offset is not None
        actual = (offset, offset + (p.get("minutes") or 0.0)) if ran else None
        if p["kind"] == "before_downtime":
            if actual:
                items.append({"phase": p, "planned": None, "actual": actual})
            continue
        start = planned[p["name"]]
        items.append({"phase": p, "planned": (start, start + float(p["budget_minutes"] or 0)), "actual": actual})
    return items


def _timeline(report):
    window, items = report["window"], _items(report)
    spans = [i["planned"] for i in items if i["planned"]] + [i["actual"] for i in items if i["actual"]]
    low = max(-float(window["budget_minutes"]), min([0.0] + [s[0] for s in spans]))  # long preflights are cut at the left edge
    high = max([window["contingency_minutes"], window["budget_minutes"], window.get("minutes") or 0] + [s[1] for s in spans])
    step = next((s for s in (5, 10, 15, 20, 30, 60, 120, 240, 480, 960, 1920) if (high - low) * 1.03 / s <= 16), 3840)
    first, last = -step * math.ceil(-low / step), step * (int(high * 1.03 / step) + 1)
    plot_w = WIDTH - LABEL_W - RIGHT_PAD
    while (window["contingency_minutes"] - first) * plot_w / float(last - first) + 150 > plot_w + RIGHT_PAD:
        last += step  # room right of the contingency line for its label
    per_min = plot_w / float(last - first)

    def x(minute):
        return LABEL_W + (max(minute, first) - first) * per_min

    def rect(cls, interval, top, height, fill, extra=""):
        return '<rect class="bar %s" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"%s/>' % (
            cls, x(interval[0]), top, max(3.0, x(interval[1]) - x(interval[0])), height, fill, extra)

    out, y = [], TOP
    for index, lane in enumerate(_lanes(report)):
        tracks, placed = [], []
        for item in sorted((i for i in items if i["phase"]["lane"] == lane["id"]), key=lambda i: (i["planned"] or i["actual"])[0]):
            p = item["phase"]
            label = p["name"] if not item["actual"] else "%s %s%s min" % (
                p["name"], _num(p["minutes"]), "" if item["planned"] is None else "/" + _num(p["budget_minutes"]))
            both = [s for s in (item["planned"], item["actual"]) if s]
            begin = max(first, min(s[0] for s in both))
            end = max([s[1] for s in both] + [begin + (len(label) * CHAR_PX + 12) / per_min])
            track = next((t for t, busy in enumerate(tracks) if busy <= begin), len(tracks))
            tracks[track:track + 1] = [end]
            placed.append((track, item, label, begin))
        height = max(1, len(tracks)) * TRACK_H + 2 * LANE_PAD
        out.append('<g class="lane" data-lane="%s"><rect x="0" y="%d" width="%d" height="%d" fill="%s" fill-opacity="0.25"/>' % (
            _e(lane["id"]), y, WIDTH, height, "#c8d3e1" if index % 2 == 0 else "none"))
        out.append('<text x="10" y="%d" font-size="14" font-weight="bold">%s</text><text x="10" y="%d" font-size="12" fill="#5a6472">%s</text>'
                   % (y + 22, _e(lane.get("team") or lane["id"]), y + 38, _e("all lanes" if lane["id"] == "all" else lane.get("title"))))
        for track, item, label, begin in placed:
            p, top = item["phase"], y + LANE_PAD + track * TRACK_H
            tip = "%s (%s): %s" % (p["title"], p["name"], p["state"].replace("_", " "))
            if item["planned"]:
                tip += "; budget %s min, planned from minute %s" % (_num(p["budget_minutes"]), _num(item["planned"][0]))
            if item["actual"]:
                tip += "; took %s min from minute %s" % (_num(p["minutes"]), _num(p["start_offset_minutes"]))
            out.append('<g class="phase" data-phase="%s" data-state="%s"><title>%s</title>' % (_e(p["name"]), _e(p["state"]), _e(tip)))
            out.append('<text x="%.1f" y="%d" font-size="11">%s</text>' % (x(begin), top + 11, _e(label)))
            if item["actual"]:
                out.append(rect("actual state-%s" % _e(_paint(p)), item["actual"], top + 15, 12, STATE_COLOURS.get(_paint(p), "#8a8f98"), ' rx="2"'))
            elif p["state"] == "skipped":
                out.append(rect("actual state-skipped", item["planned"], top + 15, 12, "url(#hatch)", ' rx="2" stroke="#8a8f98"'))
            if item["planned"]:
                out.append(rect("planned", item["planned"], top + 29, 6, "#c9d3e0", ' stroke="#7f8fa6" stroke-width="0.8"'))
            out.append("</g>")
        out.append("</g>")
        y += height
    bottom = y
    grid = ['<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/><text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#5a6472">%d</text>'
            % (x(m), TOP, x(m), bottom + 4, "#9aa5b4" if m == 0 else "#e3e7ec", x(m), bottom + 17, m) for m in range(first, last + 1, step)]
    if first < 0:
        grid.insert(0, '<rect class="before-downtime" x="%d" y="%d" width="%.1f" height="%d" fill="#e9ecf1" opacity="0.6"/>'
                       '<text x="%.1f" y="%d" font-size="12" text-anchor="middle" fill="#5a6472">before the downtime</text>'
                    % (LABEL_W, TOP, x(0) - LABEL_W, bottom - TOP, (LABEL_W + x(0)) / 2.0, 32))
    marks, ended = [], window.get("minutes")
    # the end's label goes beside its line, on the side where it crosses neither the window's line nor the contingency's
    end_anchor = "end" if ended is None or ended <= window["budget_minutes"] or (
        ended < window["contingency_minutes"] and (window["contingency_minutes"] - ended) * per_min < 120) else "start"
    for cls, minute, colour, text, anchor, ty in (
            ("window-budget", window["budget_minutes"], "#1f4e8c", "window %s min" % _num(window["budget_minutes"]), "end", 14),
            ("contingency", window["contingency_minutes"], "#b03a2e", "contingency %s min" % _num(window["contingency_minutes"]), "start", 14),
            ("window-end", ended, "#1d2430", "ended at %s min" % _num(ended), end_anchor, 30)):
        if minute is not None:
            marks.append('<g class="limit %s"><line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>'
                         '<text x="%.1f" y="%d" font-size="12" font-weight="bold" fill="%s" text-anchor="%s">%s</text></g>'
                         % (cls, x(minute), ty - 11, x(minute), bottom, colour, "2 3" if cls == "window-end" else "6 4",
                            x(minute) + (-5 if anchor == "end" else 5), ty, colour, anchor, _e(text)))
    height = bottom + AXIS_H
    return ('<svg class="timeline" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="timeline of the window">'
            '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
            '<rect width="6" height="6" fill="#eceef1"/><line x1="0" y1="0" x2="0" y2="6" stroke="#8a8f98" stroke-width="2"/></pattern></defs>'
            '%s%s%s<text x="%.1f" y="%d" font-size="12" text-anchor="middle" fill="#5a6472">minutes from the start of the window</text></svg>'
            % (WIDTH, height, WIDTH, height, "".join(grid), "".join(marks), "".join(out), LABEL_W + plot_w / 2.0, bottom + 31))


def _legend():
    swatch = {"planned": "background:#c9d3e0;height:6px", "skipped": "background:repeating-linear-gradient(45deg,#eceef1 0 3px,#8a8f98 3px 5px)"}
    items = ['<span><span class="sw" style="%s"></span>%s</span>' % (swatch.get(key, "background:%s" % STATE_COLOURS.get(key)), _e(text))
             for key, text in LEGEND]
    return '<div class="legend">%s</div>' % "".join(items)


def _badge(text, colour):
    return '<span class="badge" style="background:%s">%s</span>' % (colour, _e(text))


def _table(headers, rows, empty):
    if not rows:
        return '<p class="muted">%s</p>' % _e(empty)
    head = "".join("<th>%s</th>" % _e(h) for h in headers)
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (head, "".join("<tr>%s</tr>" % "".join(r) for r in rows))


def _summary(report):
    window, down, crit = report["window"], report.get("mail_downtime") or {}, report.get("critical_path") or {}
    if window.get("minutes") is None:
        verdict = _badge("window not started", "#8a8f98")
    elif window.get("within_budget"):
        verdict = _badge("within the window", STATE_COLOURS["finished"])
    elif window.get("within_contingency"):
        verdict = _badge("over the window, within the contingency", STATE_COLOURS["overrun"])
    else:
        verdict = _badge("over the contingency", STATE_COLOURS["failed"])
    if down.get("minutes") is None:
        down_note = "no downtime taken"
    elif down.get("complete"):
        down_note = "from %s to the end of %s" % (down.get("from"), down.get("to"))
    elif report.get("complete", True) is False:
        down_note = "mail was not back (%s not finished) when the run stopped" % down.get("to")
    else:
        down_note = "mail was not back (%s not finished) when the run ended" % down.get("to")
    if down.get("minutes") is not None and down.get("carried_from"):
        down_note += "; counted from run %s, which took mail down" % (
            down["carried_from"].get("run_id") or down["carried_from"].get("report"))
    counts = {}
    for objective in report.get("objectives", []):
        counts[objective["status"]] = counts.get(objective["status"], 0) + 1
    met = "%d of %d" % (counts.get("met", 0), len(report.get("objectives", [])))
    others = ", ".join("%d %s" % (n, s.replace("_", " ")) for s, n in sorted(counts.items()) if s != "met") or "all met"
    window_body = "budget %s min, contingency %s min<br>%s" % (
        _e(_num(window["budget_minutes"])), _e(_num(window["contingency_minutes"])), verdict)
    cards = (("Window", "%s min" % _num(window.get("minutes")), window_body),
             ("Mail downtime", "%s min" % _num(down.get("minutes")), _e(down_note)),
             ("Critical path (planned)", "%s min" % _num(crit.get("planned_minutes")),
              '<span class="muted">%s</span>' % _e(" \u2192 ".join(crit.get("phases", [])))),
             ("Objectives met", met, _e(others)))
    return '<div class="cards">%s</div>' % "".join(
        '<div class="card"><div class="k">%s</div><div class="v">%s</div><div>%s</div></div>' % (_e(k), _e(v), body) for k, v, body in cards)


def render_html(report):
    """The report (``WindowTracker.report``'s dict) as a self-contained HTML document."""
    plan = report["plan"]
    planned = planned_starts(report["phases"])
    lanes = dict((lane["id"], lane.get("team") or lane["id"]) for lane in _lanes(report))
    phase_rows = []
    for p in report["phases"]:
        state = _badge(p["state"].replace("_", " "), STATE_COLOURS.get(_paint(p), "#8a8f98").replace("url(#hatch)", "#8a8f98"))
        if p.get("overrun"):
            state += ' <span class="muted">+%s min</span>' % _e(_num(p.get("overrun_minutes")))
        notes = "".join("<div>%s</div>" % _e(d) for d in p.get("details", []))
        notes += "".join('<div class="fail">failed: %s</div>' % _e(t) for t in p.get("failed_tasks", []))
        if p.get("hosts"):
            notes += '<div class="muted">hosts: %s</div>' % _e(", ".join(p["hosts"]))
        before = p["kind"] == "before_downtime"
        phase_rows.append(['<td>%s<div class="muted"><code>%s</code></div></td>' % (_e(p["title"]), _e(p["name"])),
                           '<td class="nw">%s</td>' % _e(lanes.get(p["lane"], p["lane"])),
                           '<td class="n">%s</td>' % ("before downtime" if before else _e(_num(planned.get(p["name"])))),
                           '<td class="n">%s</td>' % ("\u2014" if before else _e(_num(p["budget_minutes"]))),
                           '<td class="n">%s</td>' % _e(_num(p.get("start_offset_minutes"))),
                           '<td class="n">%s</td>' % _e(_num(p.get("minutes"))),
                           '<td class="state-%s">%s</td>' % (_e(p["state"]), state), "<td>%s</td>" % notes])
    objective_rows = [["<td>%s<div class=\"muted\"><code>%s</code></div></td>" % (_e(o["title"]), _e(o["name"])),
                       '<td class="status-%s">%s</td>' % (_e(o["status"]), _badge(o["status"].replace("_", " "), STATUS_COLOURS.get(o["status"], "#8a8f98"))),
                       "<td>%s</td>" % _e(o.get("detail"))] for o in report.get("objectives", [])]
    backup_rows = [["<td>%s</td>" % _e(b["host"]), "<td><code>%s</code></td>" % _e(b["path"]), "<td>%s</td>" % _e(b.get("version") or "\u2014"),
                    '<td class="mono">%s</td>' % _e(b["sha256"]), "<td>%s</td>" % _e(b.get("objective"))] for b in report.get("backups", [])]
    warnings = "".join("<li>%s</li>" % _e(w) for w in report.get("warnings", []))
    run = report.get("run") or {}
    banner = incomplete_banner(report)
    previous = report.get("previous_run") or {}
    if previous:
        page = sibling(previous.get("report"), ".html")
        marker = "\x00link\x00"  # the text is escaped, then the link put in its place
        follows = _e(previous_run_text(report, link=marker)).replace(
            _e(marker), '<a href="%s">%s</a>' % (_e(page), _e(page)))
    body = [
        "<h1>%s</h1>" % _e(plan.get("title")),
        '<div class="sub">plan <code>%s</code> &middot; run %s to %s &middot; time scale %s &middot; window started %s</div>' % (
            _e(plan.get("id")), _e(run.get("started_at") or "\u2014"), _e(run.get("ended_at") or "\u2014"), _e(report.get("time_scale")),
            _e(report["window"].get("started_at") or "\u2014")),
        '<div class="banner incomplete">%s</div>' % _e(banner) if banner else "",
        '<div class="banner previous-run">%s</div>' % follows if previous else "",
        '<div class="banner check-mode">Check mode (dry run): this is the plan as it would run; nothing was changed.</div>'
        if report.get("check_mode") else "",
        _summary(report), "<h2>Timeline</h2>", _timeline(report), _legend(),
        '<p class="muted">Each phase: its actual run (coloured) above its planned slot (grey: the longest path of budgets through its '
        "dependencies from the window's start; a rollback right after the phase it rolls back). Phases before the downtime have no "
        'budget: only their actual run is drawn, left of minute 0.</p>',
        "<h2>Phases</h2>", _table(("Phase", "Lane", "Planned start", "Budget", "Started", "Actual", "State", "Details"), phase_rows, "No phases."),
        "<h2>Objectives</h2>", _table(("Objective", "Status", "Detail"), objective_rows, "No objectives."),
        "<h2>Backups</h2>", _table(("Host", "Path", "Version", "SHA-256", "Objective"), backup_rows, "No backups recorded."),
        "<h2>Warnings</h2>", '<ul class="warn">%s</ul>' % warnings if warnings else '<p class="muted">No warnings.</p>',
    ]
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>%s</title><style>%s</style></head>\n<body>%s</body></html>\n'
            % (_e("Window report: %s" % plan.get("title")), CSS, "\n".join(b for b in body if b)))
