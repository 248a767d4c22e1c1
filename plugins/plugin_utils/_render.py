# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The window report as Markdown: a pure function of the report dict that the tracker builds.

Controller-only (plugin_utils); the HTML form is in ``_render_html``, which shares the texts that say
where an incomplete report's run stopped and which run a report follows.
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


_STOP_WHY = {
    "SIGINT": "SIGINT: interrupted",
    "SIGTERM": "SIGTERM: terminated",
    "SIGHUP": "SIGHUP: its terminal was lost",
    "exit": "it ended without reaching its play recap",
    "running": "or later: the report was last written then, while the run went on; it may still be running",
}


def where_stopped(stopped):
    """``during phase X at T (why)`` for a ``stopped_at`` of a report (or of its ``previous_run``)."""
    stopped = stopped or {}
    if stopped.get("phase"):
        where = "during phase %s" % stopped["phase"]
        others = [p for p in stopped.get("open_phases") or [] if p != stopped["phase"]]
        if others:
            where += " (also open: %s)" % ", ".join(others)
    elif stopped.get("last_closed_phase"):
        where = "after phase %s" % stopped["last_closed_phase"]
    else:
        where = "before its first phase"
    why = _STOP_WHY.get(stopped.get("reason"))
    return "%s at %s%s" % (where, stopped.get("time") or "an unknown time", " (%s)" % why if why else "")


def incomplete_banner(report):
    """The banner of an incomplete report, or None for a complete one."""
    if report.get("complete", True) is not False:
        return None
    text = "INCOMPLETE: the run stopped %s." % where_stopped(report.get("stopped_at"))
    down = report.get("mail_downtime") or {}
    if down.get("started_at") and not down.get("complete"):
        text += " Mail was down (since %s, %s not finished)." % (down["started_at"], down.get("to"))
    return text


def previous_run_text(report, link=None):
    """What a report says of the run it follows (an earlier run of the plan that stopped before its
    end), or None. ``link``: the previous report's name as it should appear (a Markdown or HTML link)."""
    previous = report.get("previous_run")
    if not previous:
        return None
    text = "This run follows run %s (report %s), which stopped %s." % (
        previous.get("run_id") or "-", link or previous.get("report") or "-", where_stopped(previous.get("stopped_at")))
    down = report.get("mail_downtime") or {}
    if previous.get("mail_down") and down.get("carried_from"):
        text += " Mail was down then; the mail downtime here counts from %s (run %s, report %s)." % (
            down.get("started_at") or "-", down["carried_from"].get("run_id") or "-",
            down["carried_from"].get("report") or "-")
    return text


def sibling(name, extension):
    """The name of the report ``name`` (a ``window-*.json``) in another format."""
    name = str(name or "")
    return (name[:-len(".json")] if name.endswith(".json") else name) + extension


def render_markdown(report):
    """The Markdown form of a report dict."""
    window = report["window"]
    crit = report["critical_path"]
    down = report["mail_downtime"]
    plan = report["plan"]
    lines = ["# Maintenance window report: %s" % _cell(plan["title"]), ""]
    banner = incomplete_banner(report)
    if banner:
        lines += ["**%s**" % _cell(banner), ""]
    previous = report.get("previous_run")
    if previous:
        markdown = sibling(previous.get("report"), ".md")
        lines += [_cell(previous_run_text(report, link="[%s](%s)" % (markdown, markdown.replace(" ", "%20")))), ""]
    if report.get("check_mode"):
        lines += ["**Check mode run**: nothing was changed; durations are those of the rehearsal.", ""]
    downtime = None
    if down["from"] and down["minutes"] is not None:
        downtime = "%s min%s" % (_cell(down["minutes"]), "" if down["complete"] else " so far (%s did not finish)" % down["to"])
        if down.get("carried_from"):
            downtime += ", counted from run %s" % (down["carried_from"].get("run_id") or down["carried_from"].get("report"))
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
