# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance window's phase table and the pure logic of its report.

Private to this collection (the leading underscore): the ``window_phase`` and ``window_objective``
action plugins build their events with it, and the ``window_report`` callback feeds those events to
a :class:`WindowTracker`. Nothing here reads a clock: every time is passed in (epoch seconds), so the
logic is tested with fabricated events and an injected clock.

Time: the lab runs faster than real time. ``time_scale`` relates the two clocks:
``simulated_seconds = real_seconds / time_scale`` (1.0 on a real site; the lab's 0.01 makes one
simulated minute last 0.6 real seconds). Budgets are in simulated (plan) minutes.
"""

from __future__ import annotations

import datetime
import math
import re
from collections import namedtuple

EVENT_SCHEMA = "mailops.window/1"
REPORT_SCHEMA = "mailops.window.report/1"

# kind: "before_downtime" (budget 0, not part of the window), "critical" (on the plan's critical
# path), "contingency" (only run when the Control Station upgrade has to be rolled back).
PhaseSpec = namedtuple("PhaseSpec", ["name", "budget_minutes", "lane", "kind"])

PHASES = (
    PhaseSpec("preflight", 0, "all", "before_downtime"),
    PhaseSpec("backup", 0, "mail", "before_downtime"),
    PhaseSpec("stop_mail", 10, "mail", "critical"),
    PhaseSpec("unmount_shares", 5, "mail", "critical"),
    PhaseSpec("patch_cpms", 25, "mail", "critical"),
    PhaseSpec("upgrade_control_station", 25, "storage", "critical"),
    PhaseSpec("rollback_control_station", 30, "storage", "contingency"),
    PhaseSpec("upgrade_data_movers", 60, "storage", "critical"),
    PhaseSpec("redistribute_shares", 5, "storage", "critical"),
    PhaseSpec("mount_shares", 5, "mail", "critical"),
    PhaseSpec("start_mail", 5, "mail", "critical"),
    PhaseSpec("test_mail", 5, "all", "critical"),
)
PHASE_BY_NAME = dict((p.name, p) for p in PHASES)
PHASE_NAMES = tuple(p.name for p in PHASES)

# The plan's critical path as ordered steps; the phases of one step run in parallel.
CRITICAL_PATH = (
    ("stop_mail",),
    ("unmount_shares",),
    ("patch_cpms", "upgrade_control_station"),
    ("upgrade_data_movers",),
    ("redistribute_shares",),
    ("mount_shares",),
    ("start_mail",),
    ("test_mail",),
)
# The rollback joins the critical path, right after the step it undoes, once it has started.
CONTINGENCY_STEP = ("rollback_control_station",)
CONTINGENCY_AFTER_STEP = 2

WINDOW_BUDGET_MINUTES = 120
CONTINGENCY_MINUTES = 150

PHASE_STATES = ("started", "finished", "failed", "skipped", "rolled_back")
TERMINAL_STATES = PHASE_STATES[1:]
# States a phase can have in the report: the terminal ones, plus "not_run" (no event at all) and
# "unfinished" (started, and the run ended before the phase was closed).
REPORT_PHASE_STATES = TERMINAL_STATES + ("not_run", "unfinished")

OBJECTIVES = ("celerra_5_1", "cpms_6_7_19_1", "shares_redistributed", "mail_tested", "webmail_hole_closed")
OBJECTIVE_STATUSES = ("met", "rolled_back", "not_done", "failed")

DOWNTIME_START_PHASE = "stop_mail"
DOWNTIME_END_PHASE = "test_mail"

_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_EPSILON = 1e-9
# Overruns and plan overflows smaller than this (3 simulated seconds) are not warned: clocks and
# float arithmetic are not that exact.
TOLERANCE_MINUTES = 0.05


class WindowEventError(ValueError):
    """An event (or the arguments meant to build one) is not valid."""


# ----------------------------------------------------------------------------------------------
# time and formatting
# ----------------------------------------------------------------------------------------------

def simulated_minutes(real_seconds, time_scale):
    """Simulated minutes that ``real_seconds`` stand for at ``time_scale``."""
    if time_scale <= 0:
        raise WindowEventError("time_scale must be greater than 0, got %r" % (time_scale,))
    return real_seconds / time_scale / 60.0


def real_seconds_for(minutes, time_scale):
    """Real seconds that ``minutes`` simulated minutes last at ``time_scale``."""
    if time_scale <= 0:
        raise WindowEventError("time_scale must be greater than 0, got %r" % (time_scale,))
    return minutes * 60.0 * time_scale


def whole(value):
    """Round half up to a whole number (for display)."""
    return int(math.floor(value + 0.5))


def fmt_minutes(value):
    """Minutes for display: a whole number."""
    return "%d" % whole(value)


def fmt_minutes_tenths(value):
    """Minutes for warnings: one decimal, none when it is 0 (10.5, 11)."""
    text = "%.1f" % value
    return text[:-2] if text.endswith(".0") else text


def iso_utc(epoch):
    """An epoch time as an ISO 8601 UTC string, or None."""
    if epoch is None:
        return None
    stamp = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def file_stamp(epoch):
    """An epoch time as a file-name-safe UTC stamp: 20250102T030405Z."""
    stamp = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return stamp.strftime("%Y%m%dT%H%M%SZ")


def planned_critical_path_minutes(budgets=None, with_contingency=False):
    """Planned length of the critical path: the sum over its steps of the longest budget."""
    budgets = budgets or {}
    steps = list(CRITICAL_PATH)
    if with_contingency:
        steps.insert(CONTINGENCY_AFTER_STEP + 1, CONTINGENCY_STEP)
    total = 0.0
    for step in steps:
        total += max(budgets.get(name, PHASE_BY_NAME[name].budget_minutes) for name in step)
    return total


# ----------------------------------------------------------------------------------------------
# events
# ----------------------------------------------------------------------------------------------

def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WindowEventError("%s must be a number, got %r" % (what, value))
    if math.isnan(value) or math.isinf(value):
        raise WindowEventError("%s must be a finite number, got %r" % (what, value))
    return float(value)


def _text(value, what, allow_empty=True):
    if not isinstance(value, str):
        raise WindowEventError("%s must be a string, got %s" % (what, type(value).__name__))
    if not allow_empty and not value.strip():
        raise WindowEventError("%s must not be empty" % what)
    return value


def make_phase_event(phase, state, at, time_scale=1.0, budget_minutes=None, detail="", host=None, check_mode=False):
    """Build (and validate) the event that ``window_phase`` returns as ``window_event``."""
    if phase not in PHASE_BY_NAME:
        raise WindowEventError("unknown phase %r; the phases are: %s" % (phase, ", ".join(PHASE_NAMES)))
    if state not in PHASE_STATES:
        raise WindowEventError("unknown state %r for phase %s; the states are: %s"
                               % (state, phase, ", ".join(PHASE_STATES)))
    time_scale = _number(time_scale, "time_scale")
    if time_scale <= 0:
        raise WindowEventError("time_scale must be greater than 0, got %r" % (time_scale,))
    if budget_minutes is not None:
        budget_minutes = _number(budget_minutes, "budget_minutes")
        if budget_minutes < 0:
            raise WindowEventError("budget_minutes must not be negative, got %r" % (budget_minutes,))
    return {
        "schema": EVENT_SCHEMA,
        "kind": "phase",
        "phase": phase,
        "state": state,
        "at": _number(at, "at"),
        "time_scale": time_scale,
        "budget_minutes": budget_minutes if budget_minutes is not None else float(PHASE_BY_NAME[phase].budget_minutes),
        "budget_overridden": budget_minutes is not None,
        "detail": _text(detail if detail is not None else "", "detail"),
        "host": host if host is None else _text(host, "host"),
        "check_mode": bool(check_mode),
    }


def make_objective_event(objective, status, at, detail="", backups=None, host=None, check_mode=False):
    """Build (and validate) the event that ``window_objective`` returns as ``window_event``."""
    if objective not in OBJECTIVES:
        raise WindowEventError("unknown objective %r; the objectives are: %s" % (objective, ", ".join(OBJECTIVES)))
    if status not in OBJECTIVE_STATUSES:
        raise WindowEventError("unknown status %r for objective %s; the statuses are: %s"
                               % (status, objective, ", ".join(OBJECTIVE_STATUSES)))
    clean_backups = []
    for index, backup in enumerate(backups or []):
        where = "backups[%d]" % index
        if not isinstance(backup, dict):
            raise WindowEventError("%s must be a dict with host, path and sha256" % where)
        unknown = sorted(set(backup) - set(("host", "path", "sha256", "version")))
        if unknown:
            raise WindowEventError("%s has unknown keys: %s (allowed: host, path, sha256, version)"
                                   % (where, ", ".join(unknown)))
        missing = [key for key in ("host", "path", "sha256") if backup.get(key) in (None, "")]
        if missing:
            raise WindowEventError("%s is missing: %s" % (where, ", ".join(missing)))
        b_host = _text(backup["host"], where + ".host", allow_empty=False)
        b_path = _text(backup["path"], where + ".path", allow_empty=False)
        if not b_path.startswith("/"):
            raise WindowEventError("%s.path must be an absolute path, got %r" % (where, b_path))
        sha = _text(backup["sha256"], where + ".sha256")
        if not _SHA256_RE.match(sha):
            raise WindowEventError("%s.sha256 must be 64 hexadecimal digits" % where)
        version = backup.get("version")
        if version is not None:
            version = _text(version, where + ".version")
        clean_backups.append({"host": b_host, "path": b_path, "sha256": sha.lower(), "version": version or None})
    return {
        "schema": EVENT_SCHEMA,
        "kind": "objective",
        "objective": objective,
        "status": status,
        "at": _number(at, "at"),
        "detail": _text(detail if detail is not None else "", "detail"),
        "backups": clean_backups,
        "host": host if host is None else _text(host, "host"),
        "check_mode": bool(check_mode),
    }


def validate_event(event):
    """Check an event received by the callback; return a clean copy or raise WindowEventError."""
    if not isinstance(event, dict):
        raise WindowEventError("window_event is not a dict")
    if event.get("schema") != EVENT_SCHEMA:
        raise WindowEventError("window_event has schema %r, expected %r" % (event.get("schema"), EVENT_SCHEMA))
    kind = event.get("kind")
    if kind == "phase":
        budget = event.get("budget_minutes") if event.get("budget_overridden") else None
        return make_phase_event(event.get("phase"), event.get("state"), event.get("at"),
                                time_scale=event.get("time_scale", 1.0), budget_minutes=budget,
                                detail=event.get("detail", ""), host=event.get("host"),
                                check_mode=event.get("check_mode", False))
    if kind == "objective":
        return make_objective_event(event.get("objective"), event.get("status"), event.get("at"),
                                    detail=event.get("detail", ""), backups=event.get("backups"),
                                    host=event.get("host"), check_mode=event.get("check_mode", False))
    raise WindowEventError("window_event has unknown kind %r" % (kind,))


# ----------------------------------------------------------------------------------------------
# the tracker
# ----------------------------------------------------------------------------------------------

Notice = namedtuple("Notice", ["level", "text"])  # level: "info" or "warning"


class PhaseRecord(object):
    """What is known of one phase: its runs (real start/end times), state and details."""

    def __init__(self, spec):
        self.spec = spec
        self.budget_minutes = float(spec.budget_minutes)
        self.state = "not_run"
        self.runs = []  # [start, end]; end None while open
        self.time_scale = None
        self.details = []
        self.hosts = []
        self.failed_tasks = []
        self.overrun_warned = False

    @property
    def name(self):
        return self.spec.name

    @property
    def is_open(self):
        return bool(self.runs) and self.runs[-1][1] is None

    @property
    def started_at(self):
        return self.runs[0][0] if self.runs else None

    @property
    def finished_at(self):
        if not self.runs or self.runs[-1][1] is None:
            return None
        return self.runs[-1][1]

    def real_seconds(self, now):
        total = 0.0
        for start, end in self.runs:
            total += max(0.0, (now if end is None else end) - start)
        return total

    def minutes(self, now, default_scale):
        return simulated_minutes(self.real_seconds(now), self.time_scale or default_scale)

    def budgeted(self):
        return self.budget_minutes > 0

    def overrun_minutes(self, now, default_scale):
        if not self.budgeted() or not self.runs:
            return 0.0
        over = self.minutes(now, default_scale) - self.budget_minutes
        return over if over > TOLERANCE_MINUTES else 0.0


class WindowTracker(object):
    """Follows the window from phase and objective events; says what to print and warn."""

    def __init__(self, window_budget_minutes=WINDOW_BUDGET_MINUTES, contingency_minutes=CONTINGENCY_MINUTES):
        self.window_budget_minutes = float(window_budget_minutes)
        self.contingency_minutes = float(contingency_minutes)
        self.phases = dict((spec.name, PhaseRecord(spec)) for spec in PHASES)
        self.objectives = {}
        self.backups = []
        self.time_scale = 1.0
        self.time_scales_seen = []
        self.check_mode = False
        self.window_start = None
        self.first_event_at = None
        self.warnings = []
        self.host_failures = {}  # host -> {"failed": [task names], "unreachable": [task names]}
        self._fit_warned = set()
        self._open_order = []

    # -- events ---------------------------------------------------------------------------------

    def apply(self, event):
        """Apply a validated event; return the notices it causes."""
        at = event["at"]
        if self.first_event_at is None or at < self.first_event_at:
            self.first_event_at = at
        if event.get("check_mode"):
            self.check_mode = True
        if event["kind"] == "phase":
            notices = self._apply_phase(event)
        else:
            notices = self._apply_objective(event)
        return notices + self.check(at)

    def _apply_phase(self, event):
        rec = self.phases[event["phase"]]
        state = event["state"]
        at = event["at"]
        scale = event["time_scale"]
        if scale not in self.time_scales_seen:
            self.time_scales_seen.append(scale)
        self.time_scale = scale
        if event["host"] and event["host"] not in rec.hosts:
            rec.hosts.append(event["host"])
        if event["detail"] and event["detail"] not in rec.details:
            rec.details.append(event["detail"])
        if state == "started":
            if rec.is_open:
                return []  # the same start reported again (another host of the play)
            rec.runs.append([at, None])
            rec.state = "open"
            rec.time_scale = scale
            rec.budget_minutes = event["budget_minutes"]
            if rec.name in self._open_order:
                self._open_order.remove(rec.name)
            self._open_order.append(rec.name)
            if rec.spec.kind != "before_downtime" and (self.window_start is None or at < self.window_start):
                self.window_start = at
            if rec.budgeted():
                head = "window phase %s started (budget %s min)" % (rec.name, fmt_minutes(rec.budget_minutes))
            else:
                head = "window phase %s started (before downtime, no budget)" % rec.name
            return [Notice("info", "%s: %s" % (head, self.window_status(at)))]

        # a terminal state
        if event["budget_overridden"]:
            rec.budget_minutes = event["budget_minutes"]
        if rec.time_scale is None:
            rec.time_scale = scale
        if rec.is_open:
            rec.runs[-1][1] = max(at, rec.runs[-1][0])
            rec.state = state
            if rec.name in self._open_order:
                self._open_order.remove(rec.name)
        elif not rec.runs:
            rec.runs.append([at, at])  # closed without a start event: no duration known
            rec.state = state
            if rec.spec.kind != "before_downtime" and state != "skipped" and \
                    (self.window_start is None or at < self.window_start):
                self.window_start = at
        else:
            # Closed already: a later verdict (rolled_back after failed, or another host's) wins,
            # except that a plain "finished" never hides a failure; a retried phase is started again.
            if not (state == "finished" and rec.state == "failed"):
                rec.state = state
            return []
        notices = [Notice("info", "window phase %s %s: %s, %s" % (
            rec.name, state.replace("_", " "), self.phase_usage(rec, at), self.window_status(at)))]
        notices.extend(self._overrun_notice(rec, at))
        return notices

    def _apply_objective(self, event):
        name = event["objective"]
        self.objectives[name] = {"status": event["status"], "detail": event["detail"], "at": event["at"],
                                 "host": event["host"]}
        for backup in event["backups"]:
            entry = dict(backup, objective=name)
            self.backups = [b for b in self.backups if (b["host"], b["path"]) != (backup["host"], backup["path"])]
            self.backups.append(entry)
        return [Notice("info", "window objective %s: %s%s" % (
            name, event["status"], (" (%s)" % event["detail"]) if event["detail"] else ""))]

    def record_failure(self, host, task_name, unreachable=False, ignored=False):
        """A task failed (or a host was unreachable): keep host and task names only."""
        entry = self.host_failures.setdefault(host, {"failed": [], "unreachable": [], "ignored": []})
        key = "unreachable" if unreachable else ("ignored" if ignored else "failed")
        if task_name not in entry[key]:
            entry[key].append(task_name)
        if not ignored:
            for name in self._open_order:
                rec = self.phases[name]
                label = "%s: %s" % (host, task_name)
                if label not in rec.failed_tasks:
                    rec.failed_tasks.append(label)

    # -- derived values ------------------------------------------------------------------------

    def open_phases(self):
        return [self.phases[name] for name in self._open_order]

    def window_elapsed_minutes(self, now):
        if self.window_start is None:
            return 0.0
        return simulated_minutes(max(0.0, now - self.window_start), self.time_scale)

    def critical_steps(self):
        steps = list(CRITICAL_PATH)
        if self.phases[CONTINGENCY_STEP[0]].runs:
            steps.insert(CONTINGENCY_AFTER_STEP + 1, CONTINGENCY_STEP)
        return steps

    def phase_remaining_minutes(self, rec, now):
        if rec.state == "not_run":
            return rec.budget_minutes
        if rec.is_open:
            return max(0.0, rec.budget_minutes - rec.minutes(now, self.time_scale))
        return 0.0

    def remaining_plan(self, now):
        """Minutes the critical path still needs (budgets of phases not started, the rest of open
        ones; parallel phases count once, by the longest) and the phases that make it up."""
        total = 0.0
        names = []
        for step in self.critical_steps():
            parts = [(self.phase_remaining_minutes(self.phases[name], now), name) for name in step]
            longest = max(minutes for minutes, dummy in parts)
            total += longest
            names.extend(name for minutes, name in parts if minutes > 0)
        return total, names

    def phase_usage(self, rec, now):
        used = rec.minutes(now, self.time_scale)
        if not rec.budgeted():
            return "%s min (before downtime)" % fmt_minutes(used)
        return "%s of %s min (%d%%)" % (fmt_minutes(used), fmt_minutes(rec.budget_minutes),
                                        whole(100.0 * used / rec.budget_minutes))

    def window_status(self, now):
        if self.window_start is None:
            return "window not started (budget %s min, contingency %s min)" % (
                fmt_minutes(self.window_budget_minutes), fmt_minutes(self.contingency_minutes))
        elapsed = self.window_elapsed_minutes(now)
        left = self.contingency_minutes - elapsed
        if left >= 0:
            contingency = "contingency left %s min" % fmt_minutes(left)
        else:
            contingency = "contingency exceeded by %s min" % fmt_minutes(-left)
        return "window %s/%s min, %s" % (fmt_minutes(elapsed), fmt_minutes(self.window_budget_minutes), contingency)

    def progress_lines(self, now):
        """One line per open phase, e.g.
        ``upgrade_data_movers: 34 of 60 min (57%), window 71/120 min, contingency left 79 min``."""
        status = self.window_status(now)
        return ["%s: %s, %s" % (rec.name, self.phase_usage(rec, now), status) for rec in self.open_phases()]

    # -- warnings -----------------------------------------------------------------------------

    def _warn(self, text):
        self.warnings.append(text)
        return Notice("warning", text)

    def _overrun_notice(self, rec, now):
        if rec.overrun_warned or not rec.budgeted():
            return []
        used = rec.minutes(now, self.time_scale)
        if used <= rec.budget_minutes + TOLERANCE_MINUTES:
            return []
        rec.overrun_warned = True
        return [self._warn("window phase %s overran its budget: %s of %s min" % (
            rec.name, fmt_minutes_tenths(used), fmt_minutes_tenths(rec.budget_minutes)))]

    def check(self, now):
        """Warnings due at ``now``: overruns of open phases, and the remaining plan no longer
        fitting in the window or in the contingency. Each is given once."""
        notices = []
        for rec in self.open_phases():
            notices.extend(self._overrun_notice(rec, now))
        if self.window_start is None:
            return notices
        elapsed = self.window_elapsed_minutes(now)
        remaining, names = self.remaining_plan(now)
        projected = elapsed + remaining
        for key, limit, label in (("window", self.window_budget_minutes, "window"),
                                  ("contingency", self.contingency_minutes, "contingency")):
            if key in self._fit_warned or projected <= limit + TOLERANCE_MINUTES:
                continue
            self._fit_warned.add(key)
            notices.append(self._warn(
                "window: the remaining plan no longer fits in the %s: %s min elapsed + %s min planned "
                "(%s) = %s > %s min" % (label, fmt_minutes_tenths(elapsed), fmt_minutes_tenths(remaining),
                                        ", ".join(names) if names else "nothing left",
                                        fmt_minutes_tenths(projected), fmt_minutes_tenths(limit))))
        return notices

    # -- end of run -----------------------------------------------------------------------------

    def finalize(self, now):
        """Close the phases still open when the run ends (state ``unfinished``)."""
        notices = []
        for rec in self.open_phases():
            notices.extend(self._overrun_notice(rec, now))
            rec.runs[-1][1] = max(now, rec.runs[-1][0])
            rec.state = "unfinished"
            notices.append(self._warn("window phase %s was still open when the run ended: %s" % (
                rec.name, self.phase_usage(rec, now))))
        self._open_order = []
        if len(self.time_scales_seen) > 1:
            notices.append(self._warn("window: events used several time scales (%s); the report uses %s"
                                      % (", ".join("%g" % s for s in self.time_scales_seen), "%g" % self.time_scale)))
        return notices

    @staticmethod
    def _within(minutes, limit):
        return None if minutes is None else minutes <= limit + TOLERANCE_MINUTES

    def report(self, now, hosts=None, playbooks=None, run_started_at=None):
        """The report as a JSON-ready dict (no task arguments or results: only the window events,
        and host and task names)."""
        scale = self.time_scale

        def minutes(seconds):
            return None if seconds is None else round(simulated_minutes(seconds, scale), 2)

        phases = []
        window_end = None
        for spec in PHASES:
            rec = self.phases[spec.name]
            seconds = rec.real_seconds(now) if rec.runs else None
            used = rec.minutes(now, scale) if rec.runs else None
            overrun = rec.overrun_minutes(now, scale)
            if rec.runs and spec.kind != "before_downtime" and rec.state != "skipped":
                end = rec.runs[-1][1] if rec.runs[-1][1] is not None else now
                window_end = end if window_end is None else max(window_end, end)
            phases.append({
                "name": spec.name,
                "lane": spec.lane,
                "kind": spec.kind,
                "budget_minutes": rec.budget_minutes,
                "state": rec.state,
                "started_at": iso_utc(rec.started_at),
                "finished_at": iso_utc(rec.runs[-1][1]) if rec.runs else None,
                "runs": len(rec.runs),
                "real_seconds": None if seconds is None else round(seconds, 3),
                "minutes": None if used is None else round(used, 2),
                "overrun": overrun > _EPSILON,
                "overrun_minutes": round(overrun, 2),
                "time_scale": rec.time_scale,
                "details": list(rec.details),
                "hosts": list(rec.hosts),
                "failed_tasks": list(rec.failed_tasks),
            })

        steps = []
        actual_total = 0.0
        for step in self.critical_steps():
            recs = [self.phases[name] for name in step
                    if self.phases[name].runs and self.phases[name].state != "skipped"]
            span = None
            if recs:
                start = min(r.runs[0][0] for r in recs)
                end = max(now if r.runs[-1][1] is None else r.runs[-1][1] for r in recs)
                span = max(0.0, end - start)
                actual_total += span
            steps.append({
                "phases": list(step),
                "planned_minutes": max(self.phases[name].budget_minutes for name in step),
                "real_seconds": None if span is None else round(span, 3),
                "minutes": minutes(span),
            })

        window_seconds = None
        if self.window_start is not None and window_end is not None:
            window_seconds = max(0.0, window_end - self.window_start)
        window_minutes = minutes(window_seconds)

        down_rec = self.phases[DOWNTIME_START_PHASE]
        up_rec = self.phases[DOWNTIME_END_PHASE]
        downtime = {"started_at": None, "ended_at": None, "real_seconds": None, "minutes": None, "complete": False}
        if down_rec.runs:
            down_start = down_rec.runs[0][0]
            complete = up_rec.state == "finished" and up_rec.runs[-1][1] is not None
            down_end = up_rec.runs[-1][1] if complete else now
            downtime = {
                "started_at": iso_utc(down_start),
                "ended_at": iso_utc(down_end) if complete else None,
                "real_seconds": round(max(0.0, down_end - down_start), 3),
                "minutes": minutes(max(0.0, down_end - down_start)),
                "complete": complete,
            }

        objectives = []
        for name in OBJECTIVES:
            got = self.objectives.get(name)
            if got is None:
                objectives.append({"name": name, "status": "not_done", "detail": "no result was recorded",
                                   "reported": False, "reported_at": None})
            else:
                objectives.append({"name": name, "status": got["status"], "detail": got["detail"],
                                   "reported": True, "reported_at": iso_utc(got["at"])})

        host_rows = []
        hosts = hosts or {}
        for host in sorted(set(hosts) | set(self.host_failures)):
            counts = hosts.get(host, {})
            names = self.host_failures.get(host, {"failed": [], "unreachable": [], "ignored": []})
            host_rows.append({
                "host": host,
                "ok": counts.get("ok", 0),
                "changed": counts.get("changed", 0),
                "failures": counts.get("failures", len(names["failed"])),
                "unreachable": counts.get("unreachable", len(names["unreachable"])),
                "skipped": counts.get("skipped", 0),
                "rescued": counts.get("rescued", 0),
                "ignored": counts.get("ignored", 0),
                "failed_tasks": list(names["failed"]),
                "unreachable_tasks": list(names["unreachable"]),
                "ignored_failed_tasks": list(names["ignored"]),
            })

        planned = planned_critical_path_minutes(
            dict((name, rec.budget_minutes) for name, rec in self.phases.items()),
            with_contingency=bool(self.phases[CONTINGENCY_STEP[0]].runs))
        return {
            "schema": REPORT_SCHEMA,
            "generated_at": iso_utc(now),
            "playbooks": list(playbooks or []),
            "check_mode": self.check_mode,
            "time_scale": scale,
            "run": {
                "started_at": iso_utc(run_started_at if run_started_at is not None else self.first_event_at),
                "ended_at": iso_utc(now),
            },
            "window": {
                "started_at": iso_utc(self.window_start),
                "ended_at": iso_utc(window_end) if window_seconds is not None else None,
                "real_seconds": None if window_seconds is None else round(window_seconds, 3),
                "minutes": window_minutes,
                "budget_minutes": self.window_budget_minutes,
                "contingency_minutes": self.contingency_minutes,
                "within_budget": self._within(window_minutes, self.window_budget_minutes),
                "within_contingency": self._within(window_minutes, self.contingency_minutes),
            },
            "critical_path": {
                "planned_minutes": planned,
                "real_seconds": round(actual_total, 3),
                "minutes": minutes(actual_total),
                "steps": steps,
            },
            "mail_downtime": downtime,
            "phases": phases,
            "objectives": objectives,
            "backups": [dict(b) for b in self.backups],
            "hosts": host_rows,
            "warnings": list(self.warnings),
        }


# ----------------------------------------------------------------------------------------------
# Markdown
# ----------------------------------------------------------------------------------------------

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
    lines = ["# Maintenance window report", ""]
    if report.get("check_mode"):
        lines += ["**Check mode run**: nothing was changed; durations are those of the rehearsal.", ""]
    lines += _table(["item", "value"], [
        ("playbooks", ", ".join(report["playbooks"]) or None),
        ("run", "%s to %s" % (report["run"]["started_at"] or "-", report["run"]["ended_at"])),
        ("window", "%s to %s" % (window["started_at"] or "-", window["ended_at"] or "-")),
        ("window duration", None if window["minutes"] is None else "%s min of %s (contingency %s)" % (
            _cell(window["minutes"]), _cell(window["budget_minutes"]), _cell(window["contingency_minutes"]))),
        ("within budget / contingency", None if window["within_budget"] is None else "%s / %s" % (
            _cell(window["within_budget"]), _cell(window["within_contingency"]))),
        ("critical path", "%s min (planned %s)" % (_cell(crit["minutes"]), _cell(crit["planned_minutes"]))),
        ("mail downtime", None if down["minutes"] is None else "%s min%s" % (
            _cell(down["minutes"]), "" if down["complete"] else " so far (test_mail did not finish)")),
        ("time scale", "%g (simulated seconds = real seconds / time scale)" % report["time_scale"]),
    ])
    lines += ["", "## Phases", ""]
    lines += _table(["phase", "lane", "budget min", "actual min", "real s", "state", "overrun min", "detail"], [
        (p["name"], p["lane"], p["budget_minutes"] if p["kind"] != "before_downtime" else "before downtime",
         p["minutes"], p["real_seconds"], p["state"].replace("_", " "),
         p["overrun_minutes"] if p["overrun"] else None, "; ".join(p["details"]) or None)
        for p in report["phases"]])
    lines += ["", "## Critical path", ""]
    lines += _table(["step", "phases", "planned min", "actual min", "real s"], [
        (index + 1, " + ".join(step["phases"]), step["planned_minutes"], step["minutes"], step["real_seconds"])
        for index, step in enumerate(crit["steps"])])
    lines += ["", "## Objectives", ""]
    lines += _table(["objective", "status", "detail"],
                    [(o["name"], o["status"].replace("_", " "), o["detail"]) for o in report["objectives"]])
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
