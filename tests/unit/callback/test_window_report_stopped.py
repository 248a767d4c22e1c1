"""The window_report callback keeps an incomplete report while the run goes on and writes it when the run
is stopped (SIGINT, SIGTERM, SIGHUP, or an exit without the play recap), and the next run of the plan
links to it. Fake tasks and results on a fabricated clock, as in test_window_report_callback; the
signals are real, sent to this process, with a recording handler in place of Ansible's so that the
test process goes on."""

from __future__ import annotations

import importlib
import json
import os
import signal
import stat
import subprocess
import sys

import pytest

from ansible_collections.mailops.window.plugins.plugin_utils import _tracker as tr
from test_window_report_callback import (  # noqa: F401  pylint: disable=unused-import
    FakeStats,
    Playbook,
    Run,
    command,
    make_callback,
    objective_result,
    phase_block,
    phase_result,
)
from window_helpers import SECRET, at

PLUGIN_MODULE = "ansible_collections.mailops.window.plugins.callback.window_report"


def plugin():
    return importlib.import_module(PLUGIN_MODULE)


def read(directory, name="latest.json"):
    return json.loads((directory / name).read_text())


def listing(directory):
    return sorted(p.name for p in directory.iterdir())


class Recorder(object):
    """A signal handler standing for Ansible's: records, and lets the test process go on."""

    def __init__(self):
        self.calls = []

    def __call__(self, signum, frame):
        self.calls.append(signum)


@pytest.fixture
def recorder():
    handler = Recorder()
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), handler)
    return handler  # the autouse fixture of conftest puts the test process's handlers back


def start_window(make_callback, clock_minute=-5, **options):
    """A callback whose run declared the seed plan at minute -4 and is inside stop_mail from minute 0."""
    callback, display, clock = make_callback(progress_interval=0, **options)
    driver = Run(callback, clock)
    clock.now = at(clock_minute)
    callback.v2_playbook_on_start(Playbook())
    driver.declare(-4)
    driver.task(0, command("Stop CPMS", parent=phase_block("stop_mail"), args={"password": SECRET}), hosts=("mta1",),
                data={"stdout": SECRET})
    return callback, display, clock, driver


# ----------------------------------------------------------------------------------------------
# while the run goes on
# ----------------------------------------------------------------------------------------------

def test_the_incomplete_report_is_written_from_the_declaration_and_after_each_phase_event(make_callback, tmp_path,
                                                                                          monkeypatch):
    writes = []
    original = plugin()._write_atomically

    def recording_write(path, text):
        writes.append(os.path.basename(path))
        return original(path, text)

    monkeypatch.setattr(plugin(), "_write_atomically", recording_write)
    callback, display, clock = make_callback(progress_interval=0)
    driver = Run(callback, clock)
    driver.declare(-4)
    reports = tmp_path / "reports"
    stem = "window-%s" % tr.file_stamp(at(-4))
    assert listing(reports) == sorted(["latest.html", "latest.json", "latest.md",
                                       stem + ".html", stem + ".json", stem + ".md"])
    assert len(writes) == 6
    report = read(reports)
    assert report["complete"] is False and report["stopped_at"]["phase"] is None
    assert report["stopped_at"]["reason"] == "running"
    assert read(reports, stem + ".json") == report

    stop = phase_block("stop_mail")
    driver.task(0, command("Stop CPMS", parent=stop), hosts=("mta1",))
    assert len(writes) == 12  # the phase started: one more report, under the same name
    assert read(reports)["stopped_at"]["phase"] == "stop_mail"
    assert read(reports)["phases"][2]["state"] == "unfinished"
    driver.task(3, command("Stop more", parent=stop), hosts=("mta1", "mta2"))
    driver.task(4, command("Stop again", parent=stop), hosts=("mta1",), outcome="failed")
    assert len(writes) == 12  # tasks inside a phase write nothing
    driver.task(8, command("Unmount", parent=phase_block("unmount_shares")), hosts=("mta1",))
    assert len(writes) == 24  # the block entered closed stop_mail (failed); the next task started unmount_shares
    report = read(reports)
    assert report["phases"][2]["state"] == "failed" and report["stopped_at"]["phase"] == "unmount_shares"
    driver.result(9, objective_result("cpms_patched", "not_done", 9))
    assert len(writes) == 36  # the objective's task closed unmount_shares, then its event came
    assert listing(reports) == sorted(["latest.html", "latest.json", "latest.md",
                                       stem + ".html", stem + ".json", stem + ".md"])
    for name in listing(reports):
        assert stat.S_IMODE(os.stat(str(reports / name)).st_mode) == 0o640, name
    assert display.warnings == []


def test_the_complete_report_replaces_the_incomplete_one(make_callback, tmp_path):
    callback, display, clock, driver = start_window(make_callback)
    reports = tmp_path / "reports"
    incomplete = "window-%s" % tr.file_stamp(at(-4))
    assert (reports / (incomplete + ".json")).exists()
    driver.task(10, command("Outside"))
    clock.now = at(12)
    callback.v2_playbook_on_stats(FakeStats({"mta1": {"ok": 1}}))
    final = "window-%s" % tr.file_stamp(at(12))
    assert final != incomplete
    assert listing(reports) == sorted(["latest.html", "latest.json", "latest.md",
                                       final + ".html", final + ".json", final + ".md"])
    report = read(reports)
    assert report["complete"] is True and report["stopped_at"] is None and report == read(reports, final + ".json")
    assert report["run"]["id"] == "%s-%d" % (tr.file_stamp(at(-5)), os.getpid())
    assert report["run"]["pid"] == os.getpid() and report["run"]["controller"]
    for name in listing(reports):
        assert SECRET not in (reports / name).read_text(), name
        assert stat.S_IMODE(os.stat(str(reports / name)).st_mode) == 0o640, name
    assert display.lines[-3:] == ["window report: %s" % (reports / (final + ext)) for ext in (".json", ".md", ".html")]


def test_a_run_that_ends_within_the_second_it_began_keeps_one_name(make_callback, tmp_path):
    callback, display, clock = make_callback()
    driver = Run(callback, clock)
    driver.declare(0)
    clock.now = at(0)
    callback.v2_playbook_on_stats(FakeStats({}))
    stem = "window-%s" % tr.file_stamp(at(0))
    assert listing(tmp_path / "reports") == sorted(["latest.html", "latest.json", "latest.md",
                                                    stem + ".html", stem + ".json", stem + ".md"])
    assert read(tmp_path / "reports")["complete"] is True


def test_an_unwritable_report_dir_is_warned_once(make_callback, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    callback, display, clock, driver = start_window(make_callback, report_dir=str(blocker / "reports"))
    driver.task(8, command("Unmount", parent=phase_block("unmount_shares")), hosts=("mta1",))
    callback.v2_playbook_on_stats(FakeStats({}))
    assert len(display.warnings) == 1 and "cannot write the window report" in display.warnings[0]


def test_under_ansible_runner_the_artifacts_get_the_incomplete_report_too(make_callback, tmp_path, monkeypatch):
    monkeypatch.setenv("AWX_ISOLATED_DATA_DIR", str(tmp_path / "artifacts"))
    start_window(make_callback)
    assert read(tmp_path / "artifacts" / "window_report")["stopped_at"]["phase"] == "stop_mail"


# ----------------------------------------------------------------------------------------------
# signals and exit
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_writes_the_incomplete_report_then_goes_to_the_handler_before(make_callback, tmp_path, recorder, name):
    signum = getattr(signal, name)
    callback, display, clock, driver = start_window(make_callback)
    assert signal.getsignal(signum) == callback._on_signal
    clock.now = at(7)
    os.kill(os.getpid(), signum)
    assert recorder.calls == [signum]
    report = read(tmp_path / "reports")
    assert report["complete"] is False
    assert report["stopped_at"] == {"phase": "stop_mail", "open_phases": ["stop_mail"], "last_closed_phase": None,
                                    "time": tr.iso_utc(at(7)), "reason": name}
    assert report["mail_downtime"]["started_at"] == tr.iso_utc(at(0)) and report["mail_downtime"]["complete"] is False
    assert report["phases"][2]["state"] == "unfinished"
    stem = "window-%s" % tr.file_stamp(at(-4))
    assert read(tmp_path / "reports", stem + ".json") == report
    text = (tmp_path / "reports" / "latest.md").read_text()
    assert "**INCOMPLETE: the run stopped during phase stop_mail at %s (%s" % (tr.iso_utc(at(7)), name) in text
    assert "INCOMPLETE: the run stopped during phase stop_mail" in (tmp_path / "reports" / "latest.html").read_text()
    shown = [line for line in display.lines if line.startswith("window report (incomplete")]
    if name == "SIGHUP":
        assert shown == []  # the terminal is gone
    else:
        assert shown == ["window report (incomplete, the run stopped): %s" % (tmp_path / "reports" / (stem + ext))
                         for ext in (".json", ".md", ".html")]
    # the end of the run puts the handler back
    callback.v2_playbook_on_stats(FakeStats({}))
    assert signal.getsignal(signum) is recorder


def test_a_signal_chains_to_the_default_action(make_callback, tmp_path):
    """With no handler before (the default action), the signal does what it always did: here, a SIGHUP
    ends a child process that declared a plan, after writing its report."""
    script = tmp_path / "child.py"
    script.write_text("""
import os, signal, sys
sys.path[:0] = %(paths)r
import test_window_report_callback as t
from window_helpers import at
signal.signal(signal.SIGHUP, signal.SIG_DFL)
callback = t.new_callback()
callback.set_options(direct={"report_dir": %(reports)r, "progress_interval": 0})
callback._clock = t.FakeClock(at(-2))
driver = t.Run(callback, callback._clock)
driver.declare(-1)
driver.task(0, t.command("Stop", parent=t.phase_block("stop_mail")))
os.kill(os.getpid(), signal.SIGHUP)
print("still running")
""" % {"paths": [os.path.dirname(__file__), os.path.join(os.path.dirname(__file__), "..", "..", "..", "collections")],
       "reports": str(tmp_path / "reports")})
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == -signal.SIGHUP, proc.stdout + proc.stderr
    assert "still running" not in proc.stdout
    report = read(tmp_path / "reports")
    assert report["stopped_at"]["reason"] == "SIGHUP" and report["stopped_at"]["phase"] == "stop_mail"


def test_an_ignored_signal_stays_ignored(make_callback, recorder):
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    callback, display, clock, driver = start_window(make_callback)
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) == callback._on_signal
    callback.v2_playbook_on_stats(FakeStats({}))
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN and signal.getsignal(signal.SIGTERM) is recorder


def test_a_handler_installed_after_ours_is_left_alone(make_callback, recorder):
    callback, display, clock, driver = start_window(make_callback)
    later = Recorder()
    signal.signal(signal.SIGTERM, later)
    callback.v2_playbook_on_stats(FakeStats({}))
    assert signal.getsignal(signal.SIGTERM) is later
    assert signal.getsignal(signal.SIGINT) is recorder


def test_an_exit_without_the_play_recap_writes_the_incomplete_report(make_callback, tmp_path):
    callback, display, clock, driver = start_window(make_callback)
    assert callback in plugin()._UNFINISHED
    clock.now = at(5)
    plugin()._at_exit()
    report = read(tmp_path / "reports")
    assert report["complete"] is False and report["stopped_at"]["reason"] == "exit"
    assert report["stopped_at"]["time"] == tr.iso_utc(at(5))


def test_after_a_signal_the_exit_keeps_the_signal_report(make_callback, tmp_path, recorder):
    callback, display, clock, driver = start_window(make_callback)
    clock.now = at(6)
    os.kill(os.getpid(), signal.SIGINT)
    clock.now = at(7)
    plugin()._at_exit()
    assert read(tmp_path / "reports")["stopped_at"]["reason"] == "SIGINT"
    assert read(tmp_path / "reports")["stopped_at"]["time"] == tr.iso_utc(at(6))


def test_after_the_play_recap_neither_a_signal_nor_the_exit_writes(make_callback, tmp_path, recorder):
    callback, display, clock, driver = start_window(make_callback)
    clock.now = at(9)
    callback.v2_playbook_on_stats(FakeStats({}))
    before = dict((name, (tmp_path / "reports" / name).read_text()) for name in listing(tmp_path / "reports"))
    assert callback not in plugin()._UNFINISHED
    callback._on_signal(signal.SIGTERM, None)  # called by a handler that chains to ours
    assert recorder.calls == [signal.SIGTERM]  # ... goes on to the handler before ours
    plugin()._at_exit()
    callback._on_exit()
    assert dict((name, (tmp_path / "reports" / name).read_text()) for name in listing(tmp_path / "reports")) == before
    assert read(tmp_path / "reports")["complete"] is True


def test_a_run_without_a_plan_takes_no_signal(make_callback, recorder):
    callback, display, clock = make_callback()
    Run(callback, clock).task(0, command("Housekeeping", parent=phase_block("stop_mail")))
    assert signal.getsignal(signal.SIGINT) is recorder and callback not in plugin()._UNFINISHED


# ----------------------------------------------------------------------------------------------
# the next run
# ----------------------------------------------------------------------------------------------

def stopped_first_run(make_callback, recorder, tmp_path):
    """A first run of the seed plan stopped by SIGTERM during unmount_shares, mail down since minute 0."""
    callback, display, clock, driver = start_window(make_callback)
    driver.task(10, command("Unmount", parent=phase_block("unmount_shares")), hosts=("mta1",))
    clock.now = at(12)
    os.kill(os.getpid(), signal.SIGTERM)
    callback._disarm()  # the first run's process is gone
    name = "window-%s.json" % tr.file_stamp(at(-4))
    return name, read(tmp_path / "reports", name)


def test_the_next_run_links_to_the_stopped_one_and_counts_the_downtime_from_it(make_callback, tmp_path, recorder):
    name, first = stopped_first_run(make_callback, recorder, tmp_path)
    assert first["stopped_at"]["phase"] == "unmount_shares" and first["stopped_at"]["reason"] == "SIGTERM"
    callback, display, clock = make_callback(progress_interval=0)
    driver = Run(callback, clock)
    driver.declare(200)
    assert display.lines[-1] == (
        "window report: this run follows run %s (%s), which stopped during phase unmount_shares at %s (SIGTERM: "
        "terminated); mail has been down since %s: the mail downtime counts from then"
        % (first["run"]["id"], name, tr.iso_utc(at(12)), tr.iso_utc(at(0))))
    for minute, phase in ((201, "unmount_shares"), (205, "start_mail"), (210, "test_mail")):
        driver.task(minute, command("Work", parent=phase_block(phase)), hosts=("mta1",))
    driver.task(215, command("Outside"))
    clock.now = at(216)
    callback.v2_playbook_on_stats(FakeStats({}))
    report = read(tmp_path / "reports")
    assert report["complete"] is True
    assert report["previous_run"] == {
        "report": name, "path": str(tmp_path / "reports" / name), "run_id": first["run"]["id"],
        "started_at": first["run"]["started_at"], "stopped_at": first["stopped_at"],
        "mail_down": True, "mail_down_since": tr.iso_utc(at(0))}
    down = report["mail_downtime"]
    assert down["started_at"] == first["mail_downtime"]["started_at"] == tr.iso_utc(at(0))
    assert down["ended_at"] == tr.iso_utc(at(215)) and down["complete"] is True
    assert down["minutes"] == pytest.approx(215)
    assert down["carried_from"] == {"run_id": first["run"]["id"], "report": name}
    # the first run's report stays, as it was
    assert read(tmp_path / "reports", name) == first
    assert "window-%s.html" % tr.file_stamp(at(-4)) in (tmp_path / "reports" / "latest.html").read_text()


def test_a_later_run_after_the_complete_rerun_links_to_nothing(make_callback, tmp_path, recorder):
    stopped_first_run(make_callback, recorder, tmp_path)
    rerun, display, clock = make_callback()
    Run(rerun, clock).declare(200)
    clock.now = at(201)
    rerun.v2_playbook_on_stats(FakeStats({}))
    later, display, clock = make_callback()
    Run(later, clock).declare(300)
    assert not any("follows run" in line for line in display.lines)
    assert later._tracker.previous_run is None


def test_a_dry_run_neither_links_nor_is_linked(make_callback, tmp_path, recorder):
    name, first = stopped_first_run(make_callback, recorder, tmp_path)
    dry, display, clock = make_callback()
    Run(dry, clock).declare(200, check_mode=True)
    assert dry._tracker.previous_run is None
    clock.now = at(201)
    dry.v2_playbook_on_stats(FakeStats({}))
    real, display, clock = make_callback()
    Run(real, clock).declare(300)
    assert real._tracker.previous_run["report"] == name


def test_another_plan_in_between_does_not_hide_the_stopped_run(make_callback, tmp_path, recorder):
    from window_helpers import small_raw_plan

    name, first = stopped_first_run(make_callback, recorder, tmp_path)
    other, display, clock = make_callback()
    Run(other, clock).declare(100, raw=small_raw_plan())
    clock.now = at(101)
    other.v2_playbook_on_stats(FakeStats({}))
    rerun, display, clock = make_callback()
    Run(rerun, clock).declare(300)
    assert rerun._tracker.previous_run["report"] == name


def test_a_run_still_going_on_is_not_taken_for_a_stopped_one(make_callback, tmp_path):
    """An overlapping run (refused by the window lock) must not link to the run that holds it: the report
    of a run going on (its last record says "running") whose process still runs on this controller."""
    start_window(make_callback)
    path = tmp_path / "reports" / ("window-%s.json" % tr.file_stamp(at(-4)))
    report = json.loads(path.read_text())
    assert report["stopped_at"]["reason"] == "running"

    def declare_with_pid(pid, minute):
        report["run"]["pid"] = pid
        path.write_text(json.dumps(report))
        callback, display, clock = make_callback()
        Run(callback, clock).declare(minute)
        for directory, (dummy_stamp, stem) in callback._stems.items():  # its own report goes: the next looks again
            for extension in (".json", ".md", ".html"):
                os.unlink(os.path.join(directory, stem + extension))
        return callback._tracker.previous_run

    assert declare_with_pid(os.getppid(), 3) is None  # a live process: the run goes on
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    previous = declare_with_pid(int(dead.stdout), 400)  # its process is gone: it stopped
    assert previous["stopped_at"]["reason"] == "running" and previous["mail_down"] is True
    report["run"]["controller"] = "another-controller"
    assert declare_with_pid(os.getppid(), 500) is not None  # a process of another controller says nothing


def test_unreadable_and_foreign_files_in_the_report_dir_are_skipped(make_callback, tmp_path, recorder):
    name, first = stopped_first_run(make_callback, recorder, tmp_path)
    reports = tmp_path / "reports"
    (reports / "window-29991231T235959Z.json").write_text("{not json")
    (reports / "window-29991231T235958Z.json").write_text("[1, 2]")
    (reports / "window-29991231T235957Z-2.json").write_text(json.dumps({"schema": "something/1"}))
    (reports / "notes.json").write_text(json.dumps(first))
    rerun, display, clock = make_callback()
    Run(rerun, clock).declare(300)
    assert rerun._tracker.previous_run["report"] == name


def test_reports_are_ordered_by_the_time_and_number_in_their_names(tmp_path, controller_side):
    module = plugin()
    for name, stop in (("window-20260101T000000Z.json", "first"), ("window-20260101T000000Z-2.json", "second"),
                       ("window-20260101T000000Z-10.json", "tenth")):
        (tmp_path / name).write_text(json.dumps({"schema": "mailops.window.report/3", "plan": {"id": "p"},
                                                 "stopped_at": {"phase": stop}}))
    assert module._last_report_of(str(tmp_path), "p")[0] == "window-20260101T000000Z-10.json"
    assert module._last_report_of(str(tmp_path), "q") is None
    assert module._last_report_of(str(tmp_path / "missing"), "p") is None
