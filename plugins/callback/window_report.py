# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: window_report
type: aggregate
short_description: Progress, budget warnings and a timed report of the maintenance window
version_added: 0.1.0
description:
  - Follows the maintenance window against its plan. The plan comes from the C(mailops.window.window_plan)
    action at the start of the run (the window's plan file); a run that declares no plan gets no report.
  - 'Phases are blocks of the playbook marked with the variable C(window_phase: <id>): a phase starts when
    the first task of its block runs on some host, and ends when a task outside its block starts; it has
    failed when a task in it failed (rescued or not). C(window_phase_background: true) on a block keeps
    its phase open after the block, for work left running asynchronously and joined by a later block of
    the same phase. The C(mailops.window.window_phase) action sets a state explicitly, with a detail.'
  - On each phase start and end it prints a line with the phase's time against its budget and the
    time used and left in the window and in the contingency, in plan (simulated) minutes at the
    time scale the plan was declared with.
  - 'While a phase is open it prints a progress line, at most every O(progress_interval) seconds,
    whenever the run reports anything (a task, an C(until) retry, an async poll), for example
    "upgrade_data_movers: 34 of 60 min (57%), window 71/120 min, contingency left 79 min".'
  - It warns when a phase overruns its budget, and when the window's elapsed time plus what the
    critical path (the longest path of what is left, through the plan's C(after) dependencies) still
    needs no longer fits in the window, or in the contingency.
  - At the end of the run it writes C(window-<UTC timestamp>.json), C(.md) and C(.html) into
    O(report_dir), copies them to C(latest.json), C(latest.md) and C(latest.html), and prints their paths.
  - 'While the run goes on it keeps an incomplete report there (C("complete": false), with C(stopped_at):
    the phase and time it had reached), rewritten after each phase start or end and each objective, so a
    run that dies leaves a record of where it stopped. On SIGINT (Ctrl-C), SIGTERM and SIGHUP (a lost
    terminal) it writes the incomplete report, then lets the signal do what it did before (Ansible stops as
    it always does); a run that ends without its play recap writes it at exit. The complete report of the
    end replaces the incomplete one.'
  - When the last report in O(report_dir) of the same plan is incomplete, the new run's report links to it
    (C(previous_run)); when that run stopped with mail down, the mail downtime counts from that run's
    start of it.
  - Under ansible-runner (and so under AWX or an automation controller), whose execution environment does not
    keep the controller's disk, it also writes them into the run's artifacts directory, in
    C(<artifacts>/window_report/) (ansible-runner gives that directory in C(AWX_ISOLATED_DATA_DIR)).
  - The report holds the plan, the window events, host names, task names and the play recap counts; it
    never holds task arguments or other task results.
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
seealso:
  - module: mailops.window.window_plan
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

import atexit
import functools
import json
import os
import re
import signal
import socket
import tempfile
import threading
import time
import traceback
import weakref
from collections.abc import Mapping

from ansible.plugins.callback import CallbackBase

from ansible_collections.mailops.window.plugins.plugin_utils._plan import load_plan
from ansible_collections.mailops.window.plugins.plugin_utils._process import pid_alive
from ansible_collections.mailops.window.plugins.plugin_utils._render import render_markdown, where_stopped
from ansible_collections.mailops.window.plugins.plugin_utils._render_html import render_html
from ansible_collections.mailops.window.plugins.plugin_utils._tracker import (
    READABLE_REPORT_SCHEMAS,
    WindowEventError,
    WindowTracker,
    file_stamp,
    validate_event,
)

PLAN_ACTION = "mailops.window.window_plan"
PHASE_ACTION = "mailops.window.window_phase"
OBJECTIVE_ACTION = "mailops.window.window_objective"
_EVENT_KIND_BY_ACTION = {PLAN_ACTION: "plan", PHASE_ACTION: "phase", OBJECTIVE_ACTION: "objective"}
PHASE_VARIABLE = "window_phase"
BACKGROUND_VARIABLE = "window_phase_background"
# ansible-runner (and so AWX) gives the run's artifacts directory to the playbook's callbacks in this variable.
RUNNER_ARTIFACTS_ENV = "AWX_ISOLATED_DATA_DIR"
RUNNER_SUBDIR = "window_report"
_MAX_NAME = 200
# The signals that stop a run: Ctrl-C, a kill (or a job cancelled under AWX), a lost terminal.
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
# The temporary files of report writes under way (a signal that kills the run may interrupt one).
_IN_FLIGHT = set()
_REPORT_NAME_RE = re.compile(r"^window-(\d{8}T\d{6}Z)(?:-(\d+))?\.json$")
# Seconds a signal handler waits for a hook running in another thread before it writes anyway.
_LOCK_WAIT = 5.0
# The callbacks whose run has not written its final report: written at exit, if the process gets there.
_UNFINISHED = weakref.WeakSet()
_EXIT_HOOK = []


def _guarded(func):
    """Run a hook; turn any error of this plugin into one warning per hook, never a failed run."""

    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        with self._lock:
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


def _task_phase(task):
    """The phase block a task is in: (phase id or None, background), from the nearest block (or
    include) up the task's parents that sets ``window_phase``."""
    node = task
    while node is not None:
        variables = getattr(node, "vars", None)
        if isinstance(variables, Mapping) and isinstance(variables.get(PHASE_VARIABLE), str):
            background = variables.get(BACKGROUND_VARIABLE, False)
            return variables[PHASE_VARIABLE], background is True or str(background).lower() in ("true", "yes", "1")
        node = getattr(node, "_parent", None)
    return None, False


def _write_atomically(path, text):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".window-report-", dir=directory)
    _IN_FLIGHT.add(tmp)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o640)  # the report names hosts and paths: not for every local user
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        _IN_FLIGHT.discard(tmp)


def _drop_in_flight():
    """Remove the temporary files of writes a signal interrupted: the process is about to die by that signal,
    and those writes will neither finish nor clean up."""
    for tmp in list(_IN_FLIGHT):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        _IN_FLIGHT.discard(tmp)


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
        # The hooks run one at a time; a signal handler waits for one running in another thread.
        self._lock = threading.RLock()
        self._run_id = None
        self._written_revision = None  # the tracker's revision when the report was last written
        self._final_revision = None  # ... and when the complete report was
        self._stop_revision = None  # ... and when a stopped run's report was (signal or exit)
        self._finishing = False
        self._stems = {}  # directory: (stamp, stem) of this run's incomplete report
        self._unwritable = set()  # directories warned about
        self._previous_handlers = {}  # signal number: the handler before ours
        self._armed = False  # our handlers are installed

    # -- configuration --------------------------------------------------------------------------

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super(CallbackModule, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._configure()

    @_guarded
    def _configure(self):
        self._report_dir = self.get_option("report_dir") or "./reports"
        interval = float(self.get_option("progress_interval"))
        if interval < 0:
            self._display.warning("window_report: progress_interval %g is negative, using 0" % interval)
            interval = 0.0
        self._progress_interval = interval

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
        tracker = self._tracker
        if tracker is None:
            return
        self._keep_report()
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
        task = _result_task(result)
        if self._tracker is not None:
            phase, dummy = _task_phase(task)
            self._phase_ran(phase, _result_host_name(result))
        kind = _EVENT_KIND_BY_ACTION.get(_task_action(task))
        if kind is None:
            return
        data = _result_data(result)
        if "window_event" not in data:
            return
        try:
            event = validate_event(data["window_event"], self._tracker.plan if self._tracker else None)
            if event["kind"] != kind:
                raise WindowEventError("a %s action returned a %s event" % (kind, event["kind"]))
        except WindowEventError as exc:
            self._display.warning("window_report: ignored an event from %s: %s" % (_result_host_name(result), exc))
            return
        self._events_seen += 1
        if kind == "plan":
            self._declare(event)
            return
        notices = self._tracker.apply(event)
        if event["kind"] == "phase":
            self._last_progress = self._clock()
        self._emit(notices)

    def _declare(self, event):
        if self._tracker is not None:
            if self._tracker.plan["id"] == event["plan"]["id"]:
                return  # the same plan declared again (another play or host)
            self._display.warning("window_report: a second plan (%s) was declared in this run; the report follows %s"
                                  % (event["plan"]["id"], self._tracker.plan["id"]))
            return
        self._tracker = WindowTracker(load_plan(event["plan"]), event["time_scale"])
        if event["check_mode"]:
            self._tracker.check_mode = True
        self._run_id = "%s-%d" % (file_stamp(self._run_started_at or self._clock()), os.getpid())
        for line in self._tracker.plan_lines():
            self._display.display(line)
        if not event["check_mode"]:
            self._follow_previous_run()

    def _follow_previous_run(self):
        """Link this run to the last report of its plan in report_dir when that run stopped before its end."""
        found = _last_report_of(_absolute(self._report_dir), self._tracker.plan["id"])
        if found is None or _still_running(found[2]):
            return
        name, path, report = found
        if not self._tracker.link_previous(report, name, path):
            return
        previous = self._tracker.previous_run
        line = "window report: this run follows run %s (%s), which stopped %s" % (
            previous["run_id"] or "?", name, where_stopped(previous["stopped_at"]))
        if previous["mail_down"]:
            line += "; mail has been down since %s: the mail downtime counts from then" % previous["mail_down_since"]
        self._display.display(line)

    def _phase_failure(self, result, unreachable=False, ignored=False):
        if self._tracker is None:
            return
        task = _result_task(result)
        phase, dummy = _task_phase(task)
        if not ignored:
            self._phase_ran(phase, _result_host_name(result))  # first: a failure then belongs to the run
        self._tracker.record_failure(_result_host_name(result), _task_name(task),
                                     phase=phase, unreachable=unreachable, ignored=ignored)

    def _phase_ran(self, phase, host):
        notices = self._tracker.task_ran(phase, host)
        if notices:
            self._last_progress = self._clock()  # the start line says as much as a progress line
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
        if self._tracker is not None:
            phase, background = _task_phase(task)
            try:
                self._emit(self._tracker.task_started(phase, self._clock(), background=background))
            except WindowEventError as exc:
                self._display.warning("window_report: %s" % exc)
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
        self._phase_failure(result, ignored=bool(ignore_errors))
        self._tick()

    @_guarded
    def v2_runner_on_unreachable(self, result):
        # A delegated task with ignore_unreachable (a check of another host) keeps its host in the play:
        # it neither fails the phase nor makes that host unreachable.
        task = _result_task(result)
        ignored = bool(getattr(task, "ignore_unreachable", False) and getattr(task, "delegate_to", None))
        self._phase_failure(result, unreachable=not ignored, ignored=ignored)
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
        if not self._events_seen or self._tracker is None:
            return
        tracker = self._tracker
        self._finishing = True  # a signal from now on leaves the report to this hook
        try:
            now = self._clock()
            self._emit(tracker.finalize(now))
            hosts = {}
            for host in sorted(getattr(stats, "processed", {}) or {}):
                summary = stats.summarize(host)
                hosts[host] = dict((key, int(summary.get(key, 0))) for key in
                                   ("ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored"))
            report = tracker.report(now, hosts=hosts, playbooks=self._playbooks, run_started_at=self._run_started_at,
                                    run=self._run_fields())
            self.report_paths = self._write_report(report, now, final=True)
            self._written_revision = self._final_revision = tracker.revision
            for path in self.report_paths:
                self._display.display("window report: %s" % path)
        finally:
            self._finishing = False
            self._disarm()

    # -- the incomplete report: while the run goes on, and when it is stopped ----------------------

    def _run_fields(self):
        return {"id": self._run_id, "pid": os.getpid(), "controller": _hostname()}

    def _keep_report(self):
        """After a phase started or ended (or an event): write the incomplete report, once per change."""
        if self._finishing or self._tracker.revision == self._final_revision:
            return
        self._arm()
        if self._tracker.revision != self._written_revision:
            self._write_incomplete("running")

    def _write_incomplete(self, reason):
        now = self._clock()
        report = self._tracker.report(now, playbooks=self._playbooks, run_started_at=self._run_started_at,
                                      run=self._run_fields(), stopped=reason)
        self._written_revision = self._tracker.revision  # also when it cannot be written: one try per change
        return self._write_report(report, now, final=False)

    def _stopped(self, reason, show=True):
        """The run is stopping (a signal, or the process exits without its play recap): write the
        incomplete report, unless the report already says all this run did."""
        tracker = self._tracker
        if tracker is None or self._finishing or tracker.revision in (self._final_revision, self._stop_revision):
            return
        locked = self._lock.acquire(timeout=_LOCK_WAIT)  # a hook in another thread ends first
        try:
            paths = self._write_incomplete(reason)
            self._stop_revision = tracker.revision
        finally:
            if locked:
                self._lock.release()
        if show:
            for path in paths:
                self._display.display("window report (incomplete, the run stopped): %s" % path)

    def _on_signal(self, signum, frame):
        """Write the incomplete report, then do what the signal did before this plugin was loaded."""
        previous = self._previous_handlers.get(signum, signal.SIG_DFL)
        try:
            name = signal.Signals(signum).name
            self._stopped(name if name in STOP_SIGNALS else "exit", show=name != "SIGHUP")  # no terminal after SIGHUP
        except Exception:  # pylint: disable=broad-except
            pass  # nothing may keep the signal from stopping the run
        if callable(previous):
            return previous(signum, frame)
        if previous != signal.SIG_IGN:
            _drop_in_flight()
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        return None

    def _on_exit(self):
        self._stopped("exit")

    def _arm(self):
        """Catch the signals that stop a run (in the main thread, where Python runs signal handlers), and
        the exit of a run that never reaches its play recap. A signal ignored (nohup) stays ignored."""
        if self not in _UNFINISHED:
            _UNFINISHED.add(self)
            if not _EXIT_HOOK:
                atexit.register(_at_exit)
                _EXIT_HOOK.append(_at_exit)
        if self._armed or threading.current_thread() is not threading.main_thread():
            return
        self._armed = True
        self._previous_handlers = {}
        for name in STOP_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            previous = signal.getsignal(signum)
            if previous is None or previous == signal.SIG_IGN:
                continue  # ignored, or set outside Python: left as it is
            signal.signal(signum, self._on_signal)
            self._previous_handlers[signum] = previous

    def _disarm(self):
        """Give the signals back to the handlers they had, where ours is still the one installed."""
        _UNFINISHED.discard(self)
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, previous in self._previous_handlers.items():
            if signal.getsignal(signum) == self._on_signal:
                signal.signal(signum, previous)
        self._armed = False  # the previous handlers are kept: a handler that chains to ours still reaches them

    # -- writing ----------------------------------------------------------------------------------

    def _write_report(self, report, now, final):
        """Write the report into report_dir and, under ansible-runner (AWX), into the run's artifacts."""
        bodies = ((".json", json.dumps(report, indent=2) + "\n"), (".md", render_markdown(report)),
                  (".html", render_html(report)))
        directories = [_absolute(self._report_dir)]
        artifacts = os.environ.get(RUNNER_ARTIFACTS_ENV)
        if artifacts:
            directories.append(os.path.join(os.path.abspath(artifacts), RUNNER_SUBDIR))
        paths = []
        for directory in directories:
            try:
                paths.extend(self._write_into(directory, bodies, now, final))
            except OSError as exc:
                if directory not in self._unwritable:
                    self._unwritable.add(directory)
                    self._display.warning("window_report: cannot write the window report into %s: %s"
                                          % (directory, exc.strerror or type(exc).__name__))
        return paths

    def _write_into(self, directory, bodies, now, final):
        """window-<stamp>.<ext> and latest.<ext> for each (ext, text) of ``bodies``. The incomplete report
        keeps the name it got when first written; the complete one is named by the end of the run (as
        it always was) and replaces it."""
        os.makedirs(directory, mode=0o750, exist_ok=True)
        stamp = file_stamp(now)
        current = self._stems.get(directory)
        if current is not None and (not final or current[0] == stamp):
            stem = current[1]
        else:
            stem = _free_stem(directory, stamp, bodies)
        paths = []
        for extension, body in bodies:
            paths.append(os.path.join(directory, stem + extension))
            _write_atomically(paths[-1], body)
            _write_atomically(os.path.join(directory, "latest" + extension), body)
        if not final:
            self._stems[directory] = current or (stamp, stem)
            return paths
        self._stems.pop(directory, None)
        if current is not None and current[1] != stem:
            for extension, dummy in bodies:
                try:
                    os.unlink(os.path.join(directory, current[1] + extension))
                except FileNotFoundError:
                    pass
        return paths


def _at_exit():
    """The process exits: runs that never reached their play recap write their incomplete report."""
    for callback in list(_UNFINISHED):
        try:
            callback._on_exit()
        except Exception:  # pylint: disable=broad-except
            pass


def _absolute(directory):
    return os.path.abspath(os.path.expanduser(str(directory)))


def _hostname():
    try:
        return socket.gethostname()
    except OSError:
        return None


def _free_stem(directory, stamp, bodies):
    """window-<stamp>, numbered (-2, -3 ...) when a file of that name exists."""
    stem = "window-%s" % stamp
    number = 1
    while any(os.path.exists(os.path.join(directory, stem + extension)) for extension, dummy in bodies):
        number += 1
        stem = "window-%s-%d" % (stamp, number)
    return stem


def _last_report_of(directory, plan_id):
    """(name, path, report) of the newest window-*.json report of ``plan_id`` in ``directory`` that is
    not a dry run's, or None. Newest by the time in the name (a run's incomplete report is named by its
    start, a complete one by its end)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    found = []
    for name in names:
        match = _REPORT_NAME_RE.match(name)
        if match:
            found.append((match.group(1), int(match.group(2) or 1), name))
    for dummy_stamp, dummy_number, name in sorted(found, reverse=True):
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8") as handle:
                report = json.load(handle)
        except (OSError, ValueError):
            continue
        if not isinstance(report, dict) or report.get("schema") not in READABLE_REPORT_SCHEMAS:
            continue
        plan = report.get("plan")
        if not isinstance(plan, dict) or plan.get("id") != plan_id or report.get("check_mode"):
            continue
        return name, path, report
    return None


def _still_running(report):
    """Whether the run of an incomplete report is still going on (a run overlapping this one, on this
    controller), not stopped."""
    stopped, run = report.get("stopped_at"), report.get("run")
    if not isinstance(stopped, dict) or stopped.get("reason") != "running" or not isinstance(run, dict):
        return False
    pid = run.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    if run.get("controller") != _hostname():
        return False
    return pid_alive(pid)
