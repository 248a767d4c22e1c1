# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The window report as Markdown: a pure function of the report dict that the tracker builds.

Controller-only (plugin_utils); the HTML form is in ``_render_html``.
"""

from __future__ import annotations


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = ("%.2f" % value).rstrip("0").rstrip(".")
        return text or "0"
    text = str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ") or "-"


def _table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for dummy in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return lines


def render_markdown(report):
    """The Markdown form of a report dict."""
    window = report["window"]
    crit = report["critical_path"]
    down = report["mail_downtime"]
    plan = report["plan"]
    lines = ["# Maintenance window report: %s" % _cell(plan["title"]), ""]
    if report.get("check_mode"):
        lines += ["**Check mode run**: nothing was changed; durations are those of the rehearsal.", ""]
    downtime = None
    if down["from"] and down["minutes"] is not None:
        downtime = "%s min%s" % (_cell(down["minutes"]), "" if down["complete"] else " so far (%s did not finish)" % down["to"])
    lines += _table(["item", "value"], [
        ("plan", plan["id"]),
        ("playbooks", ", ".join(report["playbooks"]) or None),
        ("run", "%s to %s" % (report["run"]["started_at"] or "-", report["run"]["ended_at"])),
        ("window", "%s to %s" % (window["started_at"] or "-", window["ended_at"] or "-")),
        ("window duration", None if window["minutes"] is None else "%s min of %s (contingency %s)" % (
            _cell(window["minutes"]), _cell(window["budget_minutes"]), _cell(window["contingency_minutes"]))),
        ("within budget / contingency", None if window["within_budget"] is None else "%s / %s" % (
            _cell(window["within_budget"]), _cell(window["within_contingency"]))),
        ("critical path", "%s: %s min planned" % (" -> ".join(crit["phases"]) or "-", _cell(crit["planned_minutes"]))),
        ("mail downtime", downtime),
        ("time scale", "%g (simulated seconds = real seconds / time scale)" % report["time_scale"]),
    ])
    lines += ["", "## Phases", ""]
    lines += _table(["phase", "title", "lane", "budget min", "actual min", "real s", "state", "overrun min", "detail"], [
        (p["name"], p["title"], p["lane"], p["budget_minutes"] if p["kind"] != "before_downtime" else "before downtime",
         p["minutes"], p["real_seconds"], p["state"].replace("_", " "),
         p["overrun_minutes"] if p["overrun"] else None, "; ".join(p["details"]) or None)
        for p in report["phases"]])
    lines += ["", "## Objectives", ""]
    if report["objectives"]:
        lines += _table(["objective", "title", "status", "detail"],
                        [(o["name"], o["title"], o["status"].replace("_", " "), o["detail"]) for o in report["objectives"]])
    else:
        lines.append("The plan declares no objective.")
    lines += ["", "## Backups", ""]
    if report["backups"]:
        lines += _table(["host", "path", "sha256", "version", "objective"],
                        [(b["host"], b["path"], b["sha256"], b.get("version"), b["objective"])
                         for b in report["backups"]])
    else:
        lines.append("No backup was recorded.")
    lines += ["", "## Hosts", ""]
    if report["hosts"]:
        lines += _table(["host", "ok", "changed", "failures", "unreachable", "ignored", "failed tasks",
                         "unreachable tasks", "ignored failures"], [
            (h["host"], h["ok"], h["changed"], h["failures"], h["unreachable"], h["ignored"],
             "; ".join(h["failed_tasks"]) or None, "; ".join(h["unreachable_tasks"]) or None,
             "; ".join(h["ignored_failed_tasks"]) or None)
            for h in report["hosts"]])
    else:
        lines.append("No host was recorded.")
    lines += ["", "## Warnings", ""]
    if report["warnings"]:
        lines += ["- " + _cell(w) for w in report["warnings"]]
    else:
        lines.append("None.")
    lines.append("")
    return "\n".join(lines)
