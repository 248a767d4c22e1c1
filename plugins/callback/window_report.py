# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: window_report
type: aggregate
short_description: Progress, budget warnings and a timed report of the maintenance window
version_added: 0.1.0
description:
  - Follows the maintenance window through the events that the C(mailops.window.window_phase) and
    C(mailops.window.window_objective) actions return, and nothing else.
  - On each phase start and end it prints a line with the phase's time against its budget and the
    time used and left in the window and in the contingency, in plan (simulated) minutes at the
    time scale given by the events.
  - 'While a phase is open it prints a progress line, at most every O(progress_interval) seconds,
    whenever the run reports anything (a task, an C(until) retry, an async poll), for example
    "upgrade_data_movers: 34 of 60 min (57%), window 71/120 min, contingency left 79 min".'
  - It warns when a phase overruns its budget, and when the window's elapsed time plus what the
    critical path still needs no longer fits in the window, or in the contingency.
  - At the end of the run it writes C(window-<UTC timestamp>.json) and C(.md) into O(report_dir),
    copies them to C(latest.json) and C(latest.md), and prints their paths.
  - The report holds the window events, host names, task names and the play recap counts; it never
    holds task arguments or other task results.
  - An error of its own is reported as a warning; it never stops the run.
  - It is an aggregate callback, so it works next to any stdout callback, including the one that
    ansible-runner installs.
requirements:
  - Enable it in the configuration, see the examples.
options:
  report_dir:
    description:
      - Directory the reports are written to; created when missing.
      - A relative path given in C(ansible.cfg) is relative to that file's directory; given in the
        environment or by default, it is relative to the directory the run starts in.
    type: path
    default: ./reports
    env:
      - name: MAILOPS_REPORT_DIR
    ini:
      - section: window_report
        key: report_dir
  progress_interval:
    description:
      - Least number of real seconds between two progress lines while a phase is open. V(0) prints
        one on every event of the run.
    type: float
    default: 10
    env:
      - name: MAILOPS_PROGRESS_INTERVAL
    ini:
      - section: window_report
        key: progress_interval
  window_budget_minutes:
    description:
      - Length of the maintenance window, in plan minutes.
    type: float
    default: 120
    env:
      - name: MAILOPS_WINDOW_BUDGET_MINUTES
    ini:
      - section: window_report
        key: window_budget_minutes
  contingency_minutes:
    description:
      - The most the window may last with its contingency (a Control Station rollback), in plan
        minutes.
    type: float
    default: 150
    env:
      - name: MAILOPS_CONTINGENCY_MINUTES
    ini:
      - section: window_report
        key: contingency_minutes
seealso:
  - module: mailops.window.window_phase
  - module: mailops.window.window_objective
author:
  - mailops maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
# ansible.cfg
# [defaults]
# callbacks_enabled = mailops.window.window_report
#
# [window_report]
# report_dir = reports
# progress_interval = 10

# or, for one run:
# ANSIBLE_CALLBACKS_ENABLED=mailops.window.window_report MAILOPS_REPORT_DIR=/var/tmp/window \
#   ansible-playbook playbooks/maintenance.yml
"""

import functools
import json
import os
import tempfile
import time
import traceback
from collections.abc import Mapping

from ansible.plugins.callback import CallbackBase

from ansible_collections.mailops.window.plugins.module_utils._window_phases import (
    CONTINGENCY_MINUTES,
    WINDOW_BUDGET_MINUTES,
    WindowEventError,
    WindowTracker,
    file_stamp,
    render_markdown,
    validate_event,
)

PHASE_ACTION = "mailops.window.window_phase"
OBJECTIVE_ACTION = "mailops.window.window_objective"
_EVENT_KIND_BY_ACTION = {PHASE_ACTION: "phase", OBJECTIVE_ACTION: "objective"}
_MAX_NAME = 200


def _guarded(func):
    """Run a hook; turn any error of this plugin into one warning per hook, never a failed run."""

    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        try:
            return func(self, *args, **kwargs)
        except Exception as exc:  # pylint: disable=broad-except
            self._internal_error(func.__name__, exc)
            return None

    return wrapper


def _result_data(result):
    data = getattr(result, "result", None)
    if not isinstance(data, Mapping):
        data = getattr(result, "_result", None)
    return data if isinstance(data, Mapping) else {}


def _result_task(result):
    task = getattr(result, "task", None)
    return task if task is not None else getattr(result, "_task", None)


def _result_host_name(result):
    host = getattr(result, "host", None)
    if host is None:
        host = getattr(result, "_host", None)
    if host is None:
        return "?"
    get_name = getattr(host, "get_name", None)
    return str(get_name() if callable(get_name) else host)


def _task_name(task):
    if task is None:
        return "?"
    get_name = getattr(task, "get_name", None)
    name = get_name() if callable(get_name) else getattr(task, "name", None)
    name = str(name or getattr(task, "action", "") or "?")
    return name if len(name) <= _MAX_NAME else name[:_MAX_NAME - 3] + "..."


def _task_action(task):
    if task is None:
        return None
    return getattr(task, "resolved_action", None) or getattr(task, "action", None)


def _write_atomically(path, text):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".window-report-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class CallbackModule(CallbackBase):
    """Window progress, warnings and report from the window_* action events."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "mailops.window.window_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None, options=None):
        super(CallbackModule, self).__init__(display=display, options=options)
        self._clock = time.time
        self._report_dir = "./reports"
        self._progress_interval = 10.0
        self._tracker = None
        # Runs that record no window event (lab housekeeping, ad-hoc plays) get no report.
        self._events_seen = 0
        self._last_progress = None
        self._playbooks = []
        self._run_started_at = None
        self._failed_hooks = set()
        self.report_paths = []

    # -- configuration --------------------------------------------------------------------------

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super(CallbackModule, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._configure()

    @_guarded
    def _configure(self):
        self._report_dir = self.get_option("report_dir") or "./reports"
        interval = float(self.get_option("progress_interval"))
        budget = float(self.get_option("window_budget_minutes"))
        contingency = float(self.get_option("contingency_minutes"))
        if interval < 0:
            self._display.warning("window_report: progress_interval %g is negative, using 0" % interval)
            interval = 0.0
        if budget <= 0:
            self._display.warning("window_report: window_budget_minutes %g must be positive, using %d"
                                  % (budget, WINDOW_BUDGET_MINUTES))
            budget = float(WINDOW_BUDGET_MINUTES)
        if contingency < budget:
            self._display.warning("window_report: contingency_minutes %g is shorter than the window, using %g"
                                  % (contingency, budget))
            contingency = budget
        self._progress_interval = interval
        self._tracker = WindowTracker(window_budget_minutes=budget, contingency_minutes=contingency)

    def _ensure_tracker(self):
        if self._tracker is None:
            self._tracker = WindowTracker(WINDOW_BUDGET_MINUTES, CONTINGENCY_MINUTES)
        return self._tracker

    # -- output ---------------------------------------------------------------------------------

    def _internal_error(self, where, exc):
        if where in self._failed_hooks:
            return
        self._failed_hooks.add(where)
        frames = traceback.extract_tb(exc.__traceback__)
        location = ("%s:%s" % (os.path.basename(frames[-1].filename), frames[-1].lineno)) if frames else "?"
        # The message of the exception stays out of the warning: it could quote task data.
        self._display.warning("window_report: internal error in %s (%s at %s); the run goes on, the window "
                              "report may be incomplete" % (where, type(exc).__name__, location))
        self._display.vvv("window_report: %s: %s" % (type(exc).__name__, exc))

    def _emit(self, notices):
        for notice in notices:
            if notice.level == "warning":
                self._display.warning(notice.text)
            else:
                self._display.display(notice.text)

    def _tick(self):
        tracker = self._ensure_tracker()
        now = self._clock()
        self._emit(tracker.check(now))
        if not tracker.open_phases():
            return
        if self._last_progress is not None and now - self._last_progress < self._progress_interval:
            return
        self._last_progress = now
        for line in tracker.progress_lines(now):
            self._display.display(line)

    # -- events ---------------------------------------------------------------------------------

    def _consume(self, result):
        """Take the window_event out of a result of one of the window_* actions, if there is one."""
        kind = _EVENT_KIND_BY_ACTION.get(_task_action(_result_task(result)))
        if kind is None:
            return
        data = _result_data(result)
        if "window_event" not in data:
            return
        try:
            event = validate_event(data["window_event"])
            if event["kind"] != kind:
                raise WindowEventError("a %s action returned a %s event" % (kind, event["kind"]))
        except WindowEventError as exc:
            self._display.warning("window_report: ignored an event from %s: %s" % (_result_host_name(result), exc))
            return
        notices = self._ensure_tracker().apply(event)
        self._events_seen += 1
        if event["kind"] == "phase":
            self._last_progress = self._clock()
        self._emit(notices)

    @_guarded
    def v2_playbook_on_start(self, playbook):
        if self._run_started_at is None:
            self._run_started_at = self._clock()
        name = getattr(playbook, "_file_name", None)
        if name:
            self._playbooks.append(os.path.basename(str(name)))

    @_guarded
    def v2_playbook_on_task_start(self, task, is_conditional):
        self._tick()

    @_guarded
    def v2_playbook_on_handler_task_start(self, task):
        self._tick()

    @_guarded
    def v2_runner_on_start(self, host, task):
        self._tick()

    @_guarded
    def v2_runner_on_ok(self, result):
        self._consume(result)
        self._tick()

    @_guarded
    def v2_runner_item_on_ok(self, result):
        self._consume(result)
        self._tick()

    @_guarded
    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._ensure_tracker().record_failure(_result_host_name(result), _task_name(_result_task(result)),
                                              ignored=bool(ignore_errors))
        self._tick()

    @_guarded
    def v2_runner_on_unreachable(self, result):
        self._ensure_tracker().record_failure(_result_host_name(result), _task_name(_result_task(result)),
                                              unreachable=True)
        self._tick()

    @_guarded
    def v2_runner_on_skipped(self, result):
        self._tick()

    @_guarded
    def v2_runner_item_on_failed(self, result):
        self._tick()

    @_guarded
    def v2_runner_item_on_skipped(self, result):
        self._tick()

    @_guarded
    def v2_runner_retry(self, result):
        self._tick()

    @_guarded
    def v2_runner_on_async_poll(self, result):
        self._tick()

    @_guarded
    def v2_runner_on_async_ok(self, result):
        self._tick()

    @_guarded
    def v2_runner_on_async_failed(self, result):
        self._tick()

    # -- the report -----------------------------------------------------------------------------

    @_guarded
    def v2_playbook_on_stats(self, stats):
        if not self._events_seen:
            return
        tracker = self._ensure_tracker()
        now = self._clock()
        self._emit(tracker.finalize(now))
        hosts = {}
        for host in sorted(getattr(stats, "processed", {}) or {}):
            summary = stats.summarize(host)
            hosts[host] = dict((key, int(summary.get(key, 0))) for key in
                               ("ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored"))
        report = tracker.report(now, hosts=hosts, playbooks=self._playbooks, run_started_at=self._run_started_at)
        self.report_paths = self._write_report(report, now)
        for path in self.report_paths:
            self._display.display("window report: %s" % path)

    def _write_report(self, report, now):
        directory = os.path.abspath(os.path.expanduser(str(self._report_dir)))
        try:
            os.makedirs(directory, exist_ok=True)
            stem = "window-%s" % file_stamp(now)
            suffix = 1
            while os.path.exists(os.path.join(directory, stem + ".json")) or \
                    os.path.exists(os.path.join(directory, stem + ".md")):
                suffix += 1
                stem = "window-%s-%d" % (file_stamp(now), suffix)
            json_text = json.dumps(report, indent=2) + "\n"
            md_text = render_markdown(report)
            json_path = os.path.join(directory, stem + ".json")
            md_path = os.path.join(directory, stem + ".md")
            _write_atomically(json_path, json_text)
            _write_atomically(md_path, md_text)
            _write_atomically(os.path.join(directory, "latest.json"), json_text)
            _write_atomically(os.path.join(directory, "latest.md"), md_text)
        except OSError as exc:
            self._display.warning("window_report: cannot write the window report into %s: %s"
                                  % (directory, exc.strerror or type(exc).__name__))
            return []
        return [json_path, md_path]
