# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The window's events and the tracker that follows a window against its plan.

Controller-only (plugin_utils). The ``window_plan``, ``window_phase`` and ``window_objective`` actions
build their events here; the ``window_report`` callback feeds those events, and the tasks it sees start,
run and fail inside phase blocks, to a :class:`WindowTracker`, which says what to print and warn and
builds the report. Nothing here reads a clock: every time is passed in (epoch seconds).

Time: the lab runs faster than real time; the plan's declaration carries ``time_scale`` once per run:
``simulated_seconds = real_seconds / time_scale``. Budgets are in plan (simulated) minutes.

A phase is marked in a playbook by a block variable, ``window_phase: <id>``: the phase starts when the
first task of such a block runs on some host, and ends when a task outside it starts (or the run
ends); it has failed when a task in it failed. ``window_phase_background: true`` keeps the phase open
after its block (work left running asynchronously, joined by a later block of the same phase). The
``window_phase`` action sets a state explicitly (with a detail), which no inference overrides.

A report is ``complete`` when it was built at the end of the run; the callback also builds incomplete
ones while the run goes on and when it is stopped (:meth:`WindowTracker.report` with ``stopped``), which
say where the run was. A run of the same plan after one that stopped with mail down is linked to it
(:meth:`WindowTracker.link_previous`) and counts the mail downtime from that run's start of it.
"""

from __future__ import annotations

import copy
import datetime
import math
import re
from collections import namedtuple

from ansible_collections.mailops.window.plugins.plugin_utils._plan import (
    LANE_ALL,
    PlanError,
    load_plan,
    longest_path,
    rollbacks_of,
    source_form,
    text,
)

EVENT_SCHEMA = "mailops.window/2"
REPORT_SCHEMA = "mailops.window.report/3"
# Reports of these schemas are read back to link a run to the one before it.
READABLE_REPORT_SCHEMAS = ("mailops.window.report/2", REPORT_SCHEMA)
# Why an incomplete report was written: the run was going on (the last record before it stopped, or a
# report read while it runs), a signal stopped it, or the process ended without its play recap.
STOP_REASONS = ("running", "SIGINT", "SIGTERM", "SIGHUP", "exit")

PHASE_STATES = ("started", "finished", "failed", "skipped", "rolled_back")
TERMINAL_STATES = PHASE_STATES[1:]
REPORT_PHASE_STATES = TERMINAL_STATES + ("not_run", "unfinished")
OBJECTIVE_STATUSES = ("met", "rolled_back", "not_done", "failed")

_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_EPSILON = 1e-9
# Overruns and plan overflows smaller than this (3 simulated seconds) are not warned.
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
    return "%d" % whole(value)


def fmt_minutes_tenths(value):
    text_ = "%.1f" % value
    return text_[:-2] if text_.endswith(".0") else text_


def iso_utc(epoch):
    if epoch is None:
        return None
    stamp = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso_utc(value):
    """Epoch seconds of an ISO 8601 time as :func:`iso_utc` writes it; None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = datetime.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp()


def _text_or_none(value):
    return value if isinstance(value, str) and value else None


def file_stamp(epoch):
    stamp = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return stamp.strftime("%Y%m%dT%H%M%SZ")


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


def make_plan_event(plan, at, time_scale=1.0, host=None, check_mode=False):
    """Validate a plan (raw or normalized) and build the event that declares it for this run."""
    try:
        normalized = load_plan(plan if "schema" not in plan else source_form(plan))
    except PlanError as exc:
        raise WindowEventError(str(exc))
    time_scale = _number(time_scale, "time_scale")
    if time_scale <= 0:
        raise WindowEventError("time_scale must be greater than 0, got %r" % (time_scale,))
    return {
        "schema": EVENT_SCHEMA,
        "kind": "plan",
        "plan": source_form(normalized),
        "at": _number(at, "at"),
        "time_scale": time_scale,
        "host": host if host is None else _text(host, "host"),
        "check_mode": bool(check_mode),
    }


def _known(value, plan, key, what):
    ids = [item["id"] for item in plan[key]]
    if value not in ids:
        raise WindowEventError("unknown %s %r: the plan %s has %s" % (what, value, plan["id"], ", ".join(ids) or "none"))


def make_phase_event(plan, phase, state, at, detail="", host=None, check_mode=False):
    """Build (and validate against the plan) the event that ``window_phase`` returns."""
    _known(phase, plan, "phases", "phase")
    if state not in PHASE_STATES:
        raise WindowEventError("unknown state %r for phase %s; the states are: %s"
                               % (state, phase, ", ".join(PHASE_STATES)))
    return {
        "schema": EVENT_SCHEMA,
        "kind": "phase",
        "phase": phase,
        "state": state,
        "at": _number(at, "at"),
        "detail": _text(detail if detail is not None else "", "detail"),
        "host": host if host is None else _text(host, "host"),
        "check_mode": bool(check_mode),
    }


def _clean_backups(backups):
    clean = []
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
        b_path = _text(backup["path"], where + ".path", allow_empty=False)
        if not b_path.startswith("/"):
            raise WindowEventError("%s.path must be an absolute path, got %r" % (where, b_path))
        sha = _text(backup["sha256"], where + ".sha256")
        if not _SHA256_RE.match(sha):
            raise WindowEventError("%s.sha256 must be 64 hexadecimal digits" % where)
        version = backup.get("version")
        if version is not None:
            version = _text(version, where + ".version")
        clean.append({"host": _text(backup["host"], where + ".host", allow_empty=False), "path": b_path,
                      "sha256": sha.lower(), "version": version or None})
    return clean


def make_objective_event(plan, objective, status, at, detail="", backups=None, host=None, check_mode=False):
    """Build (and validate against the plan) the event that ``window_objective`` returns."""
    _known(objective, plan, "objectives", "objective")
    if status not in OBJECTIVE_STATUSES:
        raise WindowEventError("unknown status %r for objective %s; the statuses are: %s"
                               % (status, objective, ", ".join(OBJECTIVE_STATUSES)))
    return {
        "schema": EVENT_SCHEMA,
        "kind": "objective",
        "objective": objective,
        "status": status,
        "at": _number(at, "at"),
        "detail": _text(detail if detail is not None else "", "detail"),
        "backups": _clean_backups(backups),
        "host": host if host is None else _text(host, "host"),
        "check_mode": bool(check_mode),
    }


def validate_event(event, plan=None):
    """Check an event received by the callback against the declared plan (None before one is);
    return a clean copy or raise WindowEventError."""
    if not isinstance(event, dict):
        raise WindowEventError("window_event is not a dict")
    if event.get("schema") != EVENT_SCHEMA:
        raise WindowEventError("window_event has schema %r, expected %r" % (event.get("schema"), EVENT_SCHEMA))
    kind = event.get("kind")
    if kind == "plan":
        if not isinstance(event.get("plan"), dict):
            raise WindowEventError("a plan event carries no plan")
        return make_plan_event(event["plan"], event.get("at"), time_scale=event.get("time_scale", 1.0),
                               host=event.get("host"), check_mode=event.get("check_mode", False))
    if kind not in ("phase", "objective"):
        raise WindowEventError("window_event has unknown kind %r" % (kind,))
    if plan is None:
        raise WindowEventError("a %s event came before the window's plan was declared (mailops.window.window_plan)" % kind)
    if kind == "phase":
        return make_phase_event(plan, event.get("phase"), event.get("state"), event.get("at"),
                                detail=event.get("detail", ""), host=event.get("host"),
                                check_mode=event.get("check_mode", False))
    return make_objective_event(plan, event.get("objective"), event.get("status"), event.get("at"),
                                detail=event.get("detail", ""), backups=event.get("backups"),
                                host=event.get("host"), check_mode=event.get("check_mode", False))


# ----------------------------------------------------------------------------------------------
# the tracker
# ----------------------------------------------------------------------------------------------

Notice = namedtuple("Notice", ["level", "text"])  # level: "info" or "warning"


class PhaseRecord(object):
    """What is known of one phase: its runs (real start/end times), state and details."""

    def __init__(self, spec):
        self.spec = spec
        self.budget_minutes = float(spec["budget_minutes"])
        self.state = "not_run"
        self.runs = []  # [start, end]; end None while open
        self.details = []
        self.hosts = []
        self.failed_tasks = []
        self.task_failed = False  # a task of the phase failed (rescued or not) in the current run
        self.failed_before_start = False
        self.explicit = False  # the current run's state was set by a window_phase action
        self.explicit_hold = False  # closed explicitly: not reopened until the run leaves every phase block
        self.background = False
        self.pending_since = None  # a task of the phase started; the phase starts when one runs
        self.overrun_warned = False

    @property
    def name(self):
        return self.spec["id"]

    @property
    def kind(self):
        if self.spec["before_downtime"]:
            return "before_downtime"
        return "contingency" if self.spec["rollback_of"] else "window"

    @property
    def is_open(self):
        return bool(self.runs) and self.runs[-1][1] is None

    @property
    def started_at(self):
        return self.runs[0][0] if self.runs else None

    def real_seconds(self, now):
        return sum(max(0.0, (now if end is None else end) - start) for start, end in self.runs)

    def minutes(self, now, scale):
        return simulated_minutes(self.real_seconds(now), scale)

    def budgeted(self):
        return self.budget_minutes > 0

    def overrun_minutes(self, now, scale):
        if not self.budgeted() or not self.runs:
            return 0.0
        over = self.minutes(now, scale) - self.budget_minutes
        return over if over > TOLERANCE_MINUTES else 0.0


class WindowTracker(object):
    """Follows the window from its plan, the phase blocks' tasks and the window_* events."""

    def __init__(self, plan, time_scale=1.0):
        self.plan = plan
        self.language = plan.get("language") or "en"
        self.time_scale = float(time_scale)
        self.window_budget_minutes = plan["window_minutes"]
        self.contingency_minutes = plan["contingency_minutes"]
        self.phases = dict((spec["id"], PhaseRecord(spec)) for spec in plan["phases"])
        self.objectives = {}
        self.backups = []
        self.check_mode = False
        self.window_start = None
        self.warnings = list("plan: %s" % w for w in plan.get("warnings", []))
        self.host_failures = {}
        self._fit_warned = set()
        self._open_order = []
        self._current = None  # the phase of the last task that started
        self._last_closed = None  # the phase closed last
        # Grows on every phase start or end and every event: the callback writes the report when it changed.
        self.revision = 0
        # The run before this one, when it stopped before its end (see link_previous).
        self.previous_run = None
        self._carried_down_since = None
        self._carried_from = None

    # -- events from the actions -----------------------------------------------------------------

    def apply(self, event):
        """Apply a validated phase or objective event; return the notices it causes."""
        if event.get("check_mode"):
            self.check_mode = True
        self.revision += 1
        if event["kind"] == "phase":
            notices = self._apply_phase(event)
        else:
            notices = self._apply_objective(event)
        return notices + self.check(event["at"])

    def _apply_phase(self, event):
        rec = self.phases[event["phase"]]
        if event["host"] and event["host"] not in rec.hosts:
            rec.hosts.append(event["host"])
        if event["detail"] and event["detail"] not in rec.details:
            rec.details.append(event["detail"])
        if event["state"] == "started":
            if rec.is_open:
                return []
            rec.explicit = True
            return self._start(rec, event["at"])
        return self._close(rec, event["state"], event["at"], explicit=True)

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

    # -- what the callback sees of the phase blocks -----------------------------------------------

    def task_started(self, phase, at, background=False):
        """A task started; ``phase`` is the phase block it is in (None outside any). Closes the
        phases whose block has ended, and remembers when this phase's block was entered."""
        unknown_name = phase
        unknown = phase is not None and phase not in self.phases
        if unknown:
            phase = None
        notices = []
        for rec in list(self.open_phases()):
            if rec.name != phase and not rec.background:
                notices.extend(self._close(rec, "failed" if rec.task_failed else "finished", at))
        for rec in self.phases.values():
            if rec.name != phase:
                rec.pending_since = None
            if phase is None:
                # Outside every phase block: a phase closed explicitly may be entered anew (next batch).
                rec.explicit_hold = False
        if phase is not None:
            rec = self.phases[phase]
            if rec.is_open:
                rec.background = bool(background)
            elif self._current != phase and rec.pending_since is None and not rec.explicit_hold:
                # Entered anew. A phase closed explicitly stays closed while its block goes on, also
                # after a block of another phase nested in it (a rollback in its rescue).
                rec.pending_since = at
                rec.failed_before_start = False
                rec.background = bool(background)
        self._current = phase
        if unknown:
            raise WindowEventError("a block marks phase %r, which the plan %s does not have"
                                   % (unknown_name, self.plan["id"]))
        return notices + self.check(at)

    def task_ran(self, phase, host=None):
        """A task of ``phase`` ran on a host (not skipped): the phase starts, at its block's entry."""
        if phase is None or phase not in self.phases:
            return []
        rec = self.phases[phase]
        if host and host not in rec.hosts:
            rec.hosts.append(host)
        if rec.is_open or rec.pending_since is None:
            return []
        at = rec.pending_since
        rec.pending_since = None
        rec.explicit = False
        return self._start(rec, at)

    def record_failure(self, host, task_name, phase=None, unreachable=False, ignored=False):
        """A task failed (or a host was unreachable): keep host and task names only."""
        entry = self.host_failures.setdefault(host, {"failed": [], "unreachable": [], "ignored": []})
        key = "unreachable" if unreachable else ("ignored" if ignored else "failed")
        if task_name not in entry[key]:
            entry[key].append(task_name)
        if ignored:
            return
        label = "%s: %s" % (host, task_name)
        targets = [self.phases[phase]] if phase in self.phases else self.open_phases()
        for rec in targets:
            if rec.is_open:
                rec.task_failed = True
            else:
                rec.failed_before_start = True  # its first task failed: the phase starts failing
            if label not in rec.failed_tasks:
                rec.failed_tasks.append(label)

    # -- opening and closing ---------------------------------------------------------------------

    def _start(self, rec, at):
        self.revision += 1
        rec.runs.append([at, None])
        rec.state = "open"
        rec.task_failed = rec.failed_before_start
        rec.failed_before_start = False
        if rec.name in self._open_order:
            self._open_order.remove(rec.name)
        self._open_order.append(rec.name)
        if rec.kind != "before_downtime" and (self.window_start is None or at < self.window_start):
            self.window_start = at
        if rec.budgeted():
            head = "window phase %s started (budget %s min)" % (rec.name, fmt_minutes(rec.budget_minutes))
        else:
            head = "window phase %s started (%s)" % (
                rec.name, "before downtime, no budget" if rec.kind == "before_downtime" else "no budget")
        return [Notice("info", "%s: %s: %s" % (head, text(rec.spec["title"], self.language), self.window_status(at)))]

    def _close(self, rec, state, at, explicit=False):
        self.revision += 1
        rec.background = False
        rec.pending_since = None
        if explicit:
            rec.explicit_hold = True
        if rec.is_open:
            rec.runs[-1][1] = max(at, rec.runs[-1][0])
            rec.state = state
            rec.explicit = explicit
            if rec.name in self._open_order:
                self._open_order.remove(rec.name)
            self._last_closed = rec.name
        elif not rec.runs:
            rec.runs.append([at, at])  # closed without a start: no duration known
            rec.state = state
            rec.explicit = explicit
            self._last_closed = rec.name
            if rec.kind != "before_downtime" and state != "skipped" and \
                    (self.window_start is None or at < self.window_start):
                self.window_start = at
        else:
            # Closed already: a later explicit verdict wins (rolled_back after failed), except that a
            # plain "finished" never hides a failure.
            if explicit and not (state == "finished" and rec.state == "failed"):
                rec.state = state
                rec.explicit = True
            return []
        if state == "finished" and rec.task_failed:
            rec.state = "failed"
        notices = [Notice("info", "window phase %s %s: %s, %s" % (
            rec.name, rec.state.replace("_", " "), self.phase_usage(rec, at), self.window_status(at)))]
        notices.extend(self._overrun_notice(rec, at))
        return notices

    # -- derived values ------------------------------------------------------------------------

    def open_phases(self):
        return [self.phases[name] for name in self._open_order]

    def window_elapsed_minutes(self, now):
        if self.window_start is None:
            return 0.0
        return simulated_minutes(max(0.0, now - self.window_start), self.time_scale)

    def _weights(self, minutes_of):
        """Per window phase, the minutes ``minutes_of(record)`` says, plus its rollback's once that ran."""
        weights = dict((name, minutes_of(rec)) for name, rec in self.phases.items())
        for target, backs in rollbacks_of(self.plan).items():
            extra = [weights[b] for b in backs if self._ran(b)]
            if extra:
                weights[target] += max(extra)
        return weights

    def _ran(self, name):
        """Whether a phase ran (a skipped one did not)."""
        rec = self.phases[name]
        return bool(rec.runs) and rec.state != "skipped"

    def phase_remaining_minutes(self, rec, now):
        if rec.state == "not_run":
            return rec.budget_minutes
        if rec.is_open:
            return max(0.0, rec.budget_minutes - rec.minutes(now, self.time_scale))
        return 0.0

    def remaining_plan(self, now):
        """Minutes the critical path still needs (longest path of what is left) and its phases."""
        weights = self._weights(lambda rec: self.phase_remaining_minutes(rec, now))
        path, total = longest_path(self.plan, weights)
        names = []
        for name in path:
            names.extend(b for b in rollbacks_of(self.plan).get(name, [])
                         if self._ran(b) and self.phase_remaining_minutes(self.phases[b], now) > 0)
            if self.phase_remaining_minutes(self.phases[name], now) > 0:
                names.append(name)
        return total, names

    def planned_minutes(self):
        return longest_path(self.plan, self._weights(lambda rec: rec.budget_minutes))[1]

    def phase_usage(self, rec, now):
        used = rec.minutes(now, self.time_scale)
        if not rec.budgeted():
            return "%s min (%s)" % (fmt_minutes(used), "before downtime" if rec.kind == "before_downtime" else "no budget")
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

    def plan_lines(self):
        """The plan as people read it: one line per phase, the critical path and the budgets."""
        lines = ["window plan %s: %s; window %s min, contingency %s min; time scale %g" % (
            self.plan["id"], text(self.plan["title"], self.language), fmt_minutes(self.window_budget_minutes),
            fmt_minutes(self.contingency_minutes), self.time_scale)]
        for spec in self.plan["phases"]:
            if spec["before_downtime"]:
                budget = "before downtime"
            elif spec["rollback_of"]:
                budget = "%s min, only if %s fails" % (fmt_minutes(spec["budget_minutes"]), spec["rollback_of"])
            else:
                budget = "%s min" % fmt_minutes(spec["budget_minutes"])
            after = (" after %s" % ", ".join(spec["after"])) if spec["after"] and not spec["rollback_of"] else ""
            lines.append("  %s [%s, %s%s]: %s" % (spec["id"], spec["lane"], budget, after,
                                                  text(spec["title"], self.language)))
        lines.append("  critical path: %s = %s min (%s min with every rollback)" % (
            " -> ".join(self.plan["critical_path"]), fmt_minutes(self.plan["planned_minutes"]),
            fmt_minutes(self.plan["planned_minutes_with_contingency"])))
        return lines

    # -- warnings -----------------------------------------------------------------------------

    def _warn(self, text_):
        self.warnings.append(text_)
        return Notice("warning", text_)

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
        """Warnings due at ``now``: overruns of open phases, and the remaining plan no longer fitting in
        the window or in the contingency. Each is given once."""
        notices = []
        for rec in self.open_phases():
            notices.extend(self._overrun_notice(rec, now))
        if self.window_start is None:
            return notices
        elapsed = self.window_elapsed_minutes(now)
        remaining, names = self.remaining_plan(now)
        projected = elapsed + remaining
        for key, limit in (("window", self.window_budget_minutes), ("contingency", self.contingency_minutes)):
            if key in self._fit_warned or projected <= limit + TOLERANCE_MINUTES:
                continue
            self._fit_warned.add(key)
            notices.append(self._warn(
                "window: the remaining plan no longer fits in the %s: %s min elapsed + %s min planned "
                "(%s) = %s > %s min" % (key, fmt_minutes_tenths(elapsed), fmt_minutes_tenths(remaining),
                                        ", ".join(names) if names else "nothing left",
                                        fmt_minutes_tenths(projected), fmt_minutes_tenths(limit))))
        return notices

    # -- end of run -----------------------------------------------------------------------------

    def finalize(self, now):
        """Close what is still open when the run ends: a phase whose block was the last one finishes;
        one left in the background was never joined (``unfinished``)."""
        notices = []
        for rec in self.open_phases():
            if rec.background:
                notices.extend(self._overrun_notice(rec, now))
                rec.runs[-1][1] = max(now, rec.runs[-1][0])
                rec.state = "unfinished"
                self._open_order.remove(rec.name)
                self._last_closed = rec.name
                self.revision += 1
                notices.append(self._warn("window phase %s was still open when the run ended: %s" % (
                    rec.name, self.phase_usage(rec, now))))
            else:
                notices.extend(self._close(rec, "failed" if rec.task_failed else "finished", now))
        return notices

    def interrupt(self, now):
        """The run ends abnormally: every open phase is ``unfinished``."""
        for rec in self.open_phases():
            rec.background = True
        return self.finalize(now)

    # -- a run that stops before its end, and the run after it ----------------------------------

    def _pending(self):
        """The phase whose block the run is in while its first task runs (not started yet), or None."""
        rec = self.phases.get(self._current) if self._current else None
        if rec is not None and not rec.is_open and rec.pending_since is not None:
            return rec
        return None

    def stop_point(self, now, reason="running"):
        """Where the run is at ``now``, for a report written before its end: ``phase`` (the block a task
        of which was running when it stopped, else the phase started last of those open), every open
        phase, the phase closed last, the time and the ``reason`` (one of STOP_REASONS)."""
        if reason not in STOP_REASONS:
            raise WindowEventError("unknown stop reason %r; the reasons are: %s" % (reason, ", ".join(STOP_REASONS)))
        open_names = [rec.name for rec in self.open_phases()]
        pending = self._pending()
        if pending is not None:
            open_names.append(pending.name)
        return {"phase": open_names[-1] if open_names else None, "open_phases": open_names,
                "last_closed_phase": self._last_closed, "time": iso_utc(now), "reason": reason}

    def link_previous(self, report, name, path=None):
        """Link this run to the report of the run before it, read back from its JSON file ``name``.

        Only a report of the same plan, not of a dry run, that is incomplete (its run stopped before
        its end) is linked: it becomes this report's ``previous_run``. When that run had taken mail
        down and not brought it back, this run's mail downtime counts from that run's start of it (or
        from where that run's own downtime was counted from). Returns whether it was linked."""
        if not isinstance(report, dict) or report.get("schema") not in READABLE_REPORT_SCHEMAS:
            return False
        plan = report.get("plan")
        if not isinstance(plan, dict) or plan.get("id") != self.plan["id"]:
            return False
        if report.get("complete", True) is not False or report.get("check_mode"):
            return False
        run, stopped, down = (report.get(key) if isinstance(report.get(key), dict) else {}
                              for key in ("run", "stopped_at", "mail_downtime"))
        down_since = parse_iso_utc(down.get("started_at"))
        mail_down = down_since is not None and down.get("complete") is not True
        open_phases = stopped.get("open_phases")
        self.previous_run = {
            "report": str(name),
            "path": None if path is None else str(path),
            "run_id": _text_or_none(run.get("id")),
            "started_at": iso_utc(parse_iso_utc(run.get("started_at"))),
            "stopped_at": {
                "phase": _text_or_none(stopped.get("phase")),
                "open_phases": [str(p) for p in open_phases] if isinstance(open_phases, list) else [],
                "last_closed_phase": _text_or_none(stopped.get("last_closed_phase")),
                "time": iso_utc(parse_iso_utc(stopped.get("time") or run.get("ended_at"))),
                "reason": stopped.get("reason") if stopped.get("reason") in STOP_REASONS else None,
            },
            "mail_down": mail_down,
            "mail_down_since": iso_utc(down_since) if mail_down else None,
        }
        if mail_down:
            self._carried_down_since = down_since
            carried = down.get("carried_from")
            if isinstance(carried, dict) and isinstance(carried.get("report"), str):
                self._carried_from = {"run_id": _text_or_none(carried.get("run_id")), "report": carried["report"]}
            else:
                self._carried_from = {"run_id": self.previous_run["run_id"], "report": self.previous_run["report"]}
        self.revision += 1
        return True

    @staticmethod
    def _within(minutes, limit):
        return None if minutes is None else minutes <= limit + TOLERANCE_MINUTES

    def report(self, now, hosts=None, playbooks=None, run_started_at=None, run=None, stopped=None):
        """The report as a JSON-ready dict (no task arguments or results: the plan, the window's
        events, and host and task names).

        ``run``: more fields of the report's ``run`` (its ``id``, ``pid``, ``controller``). ``stopped``:
        None for the report of a run that reached its end (``complete``); otherwise the run has not
        (yet) ended and this is why the report is written (one of STOP_REASONS): the report is
        ``incomplete``, says where the run stopped (``stopped_at``), shows open phases as
        ``unfinished`` and the phase whose block a task was running in as started at the block's entry.
        Nothing of the tracker changes: the run may go on."""
        if stopped is None:
            return self._report(now, hosts, playbooks, run_started_at, run, None)
        stop_point = self.stop_point(now, stopped)
        memo = {id(self.plan): self.plan}
        memo.update((id(spec), spec) for spec in self.plan["phases"])
        view = copy.deepcopy(self, memo)
        pending = view._pending()
        if pending is not None:
            view._start(pending, pending.pending_since)
        return view._report(now, hosts, playbooks, run_started_at, run, stop_point)

    def _report(self, now, hosts, playbooks, run_started_at, run, stop_point):
        scale = self.time_scale

        def minutes(seconds):
            return None if seconds is None else round(simulated_minutes(seconds, scale), 2)

        phases = []
        window_end = None
        for spec in self.plan["phases"]:
            rec = self.phases[spec["id"]]
            seconds = rec.real_seconds(now) if rec.runs else None
            overrun = rec.overrun_minutes(now, scale)
            if rec.runs and rec.kind != "before_downtime" and rec.state != "skipped":
                end = rec.runs[-1][1] if rec.runs[-1][1] is not None else now
                window_end = end if window_end is None else max(window_end, end)
            phases.append({
                "name": spec["id"],
                "title": text(spec["title"], self.language),
                "lane": spec["lane"],
                "kind": rec.kind,
                "after": list(spec["after"]),
                "rollback_of": spec["rollback_of"],
                "budget_minutes": rec.budget_minutes,
                "state": "unfinished" if rec.is_open and stop_point is not None else rec.state,
                "started_at": iso_utc(rec.started_at),
                "finished_at": iso_utc(rec.runs[-1][1]) if rec.runs else None,
                "start_offset_minutes": None if rec.started_at is None or self.window_start is None
                else round(simulated_minutes(rec.started_at - self.window_start, scale), 2),
                "runs": len(rec.runs),
                "real_seconds": None if seconds is None else round(seconds, 3),
                "minutes": minutes(seconds),
                "overrun": overrun > _EPSILON,
                "overrun_minutes": round(overrun, 2),
                "details": list(rec.details),
                "hosts": list(rec.hosts),
                "failed_tasks": list(rec.failed_tasks),
            })

        window_seconds = None
        if self.window_start is not None and window_end is not None:
            window_seconds = max(0.0, window_end - self.window_start)
        window_minutes = minutes(window_seconds)

        downtime = {"from": None, "to": None, "started_at": None, "ended_at": None, "real_seconds": None,
                    "minutes": None, "complete": False, "carried_from": None}
        span = self.plan.get("downtime")
        if span:
            downtime.update({"from": span["from"], "to": span["to"]})
            down_rec, up_rec = self.phases[span["from"]], self.phases[span["to"]]
            down_start = down_rec.runs[0][0] if down_rec.runs else None
            if self._carried_down_since is not None:
                # mail went down in an earlier run that stopped before bringing it back
                down_start = self._carried_down_since
                downtime["carried_from"] = dict(self._carried_from)
            if down_start is not None:
                complete = up_rec.state == "finished" and bool(up_rec.runs) and up_rec.runs[-1][1] is not None
                down_end = up_rec.runs[-1][1] if complete else now
                downtime.update({
                    "started_at": iso_utc(down_start),
                    "ended_at": iso_utc(down_end) if complete else None,
                    "real_seconds": round(max(0.0, down_end - down_start), 3),
                    "minutes": minutes(max(0.0, down_end - down_start)),
                    "complete": complete,
                })

        objectives = []
        for spec in self.plan["objectives"]:
            got = self.objectives.get(spec["id"])
            row = {"name": spec["id"], "title": text(spec["title"], self.language)}
            if got is None:
                row.update(status="not_done", detail="no result was recorded", reported=False, reported_at=None)
            else:
                row.update(status=got["status"], detail=got["detail"], reported=True, reported_at=iso_utc(got["at"]))
            objectives.append(row)

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

        run_fields = {"id": None, "pid": None, "controller": None}
        run_fields.update((key, value) for key, value in (run or {}).items() if key in run_fields)
        run_fields.update(started_at=iso_utc(run_started_at), ended_at=iso_utc(now))

        path, planned = longest_path(self.plan, self._weights(lambda rec: rec.budget_minutes))
        actual_path = []
        for name in path:
            actual_path.append(name)
            actual_path.extend(b for b in rollbacks_of(self.plan).get(name, []) if self._ran(b))
        return {
            "schema": REPORT_SCHEMA,
            "complete": stop_point is None,
            "stopped_at": stop_point,
            "previous_run": copy.deepcopy(self.previous_run),
            "generated_at": iso_utc(now),
            "plan": {"id": self.plan["id"], "title": text(self.plan["title"], self.language),
                     "lanes": [{"id": lane["id"], "team": text(lane["team"], self.language),
                                "title": text(lane["title"], self.language)} for lane in self.plan["lanes"]]
                     + ([{"id": LANE_ALL, "team": "all", "title": "all"}]
                        if any(p["lane"] == LANE_ALL for p in self.plan["phases"]) else []),
                     "source": source_form(self.plan)},
            "playbooks": list(playbooks or []),
            "check_mode": self.check_mode,
            "time_scale": scale,
            "run": run_fields,
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
                "phases": actual_path,
                "planned_minutes": planned,
                "planned_minutes_without_rollback": self.plan["planned_minutes"],
            },
            "mail_downtime": downtime,
            "phases": phases,
            "objectives": objectives,
            "backups": [dict(b) for b in self.backups],
            "hosts": host_rows,
            "warnings": list(self.warnings),
        }
