"""The window_report callback fed with fake runner results, an injected clock and a recording
display: event intake, progress throttling, warnings, the written report, and its safety."""

from __future__ import annotations

import importlib
import json
import os

import pytest

from ansible_collections.mailops.window.plugins.module_utils import _window_phases as wp
from window_helpers import SECRET

PLUGIN_MODULE = "ansible_collections.mailops.window.plugins.callback.window_report"

T0 = 1_700_000_000.0
SCALE = 0.01


def at(minute):
    return T0 + wp.real_seconds_for(minute, SCALE)


class RecordingDisplay(object):
    verbosity = 0

    def __init__(self):
        self.lines = []
        self.warnings = []
        self.debug = []

    def display(self, msg, *args, **kwargs):
        self.lines.append(msg)

    def warning(self, msg, *args, **kwargs):
        self.warnings.append(msg)

    def vvv(self, msg, *args, **kwargs):
        self.debug.append(msg)


class FakeClock(object):
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class FakeHost(object):
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


class FakeTask(object):
    def __init__(self, action, name=None, args=None):
        self.resolved_action = action
        self.action = action
        self.name = name
        self.args = args or {}

    def get_name(self):
        return self.name or self.action


class FakeResult(object):
    """Shaped like ansible-core 2.19's CallbackTaskResult (result, task, host)."""

    def __init__(self, host, task, data):
        self.host = FakeHost(host)
        self.task = task
        self.result = data


class ExplodingResult(object):
    @property
    def task(self):
        raise RuntimeError("boom " + SECRET)


class FakeStats(object):
    def __init__(self, summaries):
        self.processed = dict((host, 1) for host in summaries)
        self._summaries = summaries

    def summarize(self, host):
        return self._summaries[host]


def phase_result(name, state, minute, host="localhost", **kwargs):
    event = wp.make_phase_event(name, state, at(minute), time_scale=SCALE, host=host, **kwargs)
    return FakeResult(host, FakeTask("mailops.window.window_phase", args={"phase": name, "state": state}),
                      {"changed": False, "window_event": event, "msg": "window phase"})


def objective_result(name, status, minute, **kwargs):
    event = wp.make_objective_event(name, status, at(minute), **kwargs)
    return FakeResult("localhost", FakeTask("mailops.window.window_objective"),
                      {"changed": False, "window_event": event})


def new_callback():
    """The plugin as the plugin loader sets it up: its options registered from its DOCUMENTATION."""
    import yaml
    from ansible import constants as C

    module = importlib.import_module(PLUGIN_MODULE)
    if not C.config.has_configuration_definition("callback", PLUGIN_MODULE):
        options = yaml.safe_load(module.DOCUMENTATION)["options"]
        C.config.initialize_plugin_configuration_definitions("callback", PLUGIN_MODULE, options)
    callback = module.CallbackModule(display=RecordingDisplay())
    callback._load_name = PLUGIN_MODULE
    return callback


@pytest.fixture
def make_callback(tmp_path, monkeypatch, controller_side):
    for name in ("MAILOPS_REPORT_DIR", "MAILOPS_PROGRESS_INTERVAL", "MAILOPS_WINDOW_BUDGET_MINUTES",
                 "MAILOPS_CONTINGENCY_MINUTES"):
        monkeypatch.delenv(name, raising=False)

    def factory(**direct):
        callback = new_callback()
        display = callback._display
        direct.setdefault("report_dir", str(tmp_path / "reports"))
        callback.set_options(direct=direct)
        callback._clock = FakeClock(at(-1))
        return callback, display, callback._clock

    return factory


def test_plugin_identity(controller_side):
    callback = new_callback()
    assert callback.CALLBACK_TYPE == "aggregate"
    assert callback.CALLBACK_NEEDS_ENABLED is True
    assert callback.plugin_type == "callback"


def test_options_defaults_and_environment(make_callback, monkeypatch, tmp_path):
    callback, dummy_display, dummy_clock = make_callback()
    assert callback.get_option("progress_interval") == 10
    assert callback.get_option("window_budget_minutes") == 120
    assert callback.get_option("contingency_minutes") == 150
    monkeypatch.setenv("MAILOPS_REPORT_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("MAILOPS_PROGRESS_INTERVAL", "2.5")
    monkeypatch.setenv("MAILOPS_WINDOW_BUDGET_MINUTES", "90")
    monkeypatch.setenv("MAILOPS_CONTINGENCY_MINUTES", "100")
    other = new_callback()
    other.set_options()
    assert other._report_dir == str(tmp_path / "from-env")
    assert other._progress_interval == 2.5
    assert other._tracker.window_budget_minutes == 90 and other._tracker.contingency_minutes == 100


def test_bad_option_values_are_corrected_with_a_warning(make_callback):
    callback, display, dummy_clock = make_callback(progress_interval=-1, window_budget_minutes=100, contingency_minutes=50)
    assert callback._progress_interval == 0
    assert callback._tracker.contingency_minutes == 100
    assert any("progress_interval -1 is negative" in w for w in display.warnings)
    assert any("contingency_minutes 50 is shorter than the window" in w for w in display.warnings)


def test_phase_events_print_start_finish_and_throttled_progress(make_callback):
    callback, display, clock = make_callback(progress_interval=6)  # 6 s = 10 simulated minutes
    clock.now = at(0)
    callback.v2_runner_on_ok(phase_result("upgrade_data_movers", "started", 0))
    assert display.lines == ["window phase upgrade_data_movers started (budget 60 min): window 0/120 min, "
                             "contingency left 150 min"]
    display.lines.clear()
    clock.now = at(5)
    callback.v2_runner_retry(FakeResult("celerra-cs", FakeTask("ansible.builtin.command"), {}))
    assert display.lines == []  # 3 s after the start line: too soon
    clock.now = at(10)
    callback.v2_runner_retry(FakeResult("celerra-cs", FakeTask("ansible.builtin.command"), {}))
    assert display.lines == ["upgrade_data_movers: 10 of 60 min (17%), window 10/120 min, contingency left 140 min"]
    clock.now = at(15)
    callback.v2_runner_on_async_poll(FakeResult("celerra-cs", FakeTask("ansible.builtin.command"), {}))
    assert len(display.lines) == 1
    clock.now = at(34)
    callback.v2_runner_on_async_poll(FakeResult("celerra-cs", FakeTask("ansible.builtin.command"), {}))
    assert display.lines[-1] == "upgrade_data_movers: 34 of 60 min (57%), window 34/120 min, contingency left 116 min"
    for hook in ("v2_runner_on_start", "v2_playbook_on_task_start"):
        clock.now += 6
        getattr(callback, hook)(FakeHost("celerra-cs"), FakeTask("ansible.builtin.command"))
    assert len(display.lines) == 4
    clock.now = at(58)
    callback.v2_runner_on_ok(phase_result("upgrade_data_movers", "finished", 58))
    assert display.lines[-1] == ("window phase upgrade_data_movers finished: 58 of 60 min (97%), "
                                 "window 58/120 min, contingency left 92 min")
    clock.now = at(200)
    callback.v2_runner_retry(FakeResult("celerra-cs", FakeTask("ansible.builtin.command"), {}))
    assert display.lines[-1].startswith("window phase upgrade_data_movers finished")  # nothing open: no progress
    # the rest of the plan (60 min) no longer fits after 200 min
    assert display.warnings == [
        "window: the remaining plan no longer fits in the window: 200 min elapsed + 60 min planned (stop_mail, "
        "unmount_shares, patch_cpms, upgrade_control_station, redistribute_shares, mount_shares, start_mail, "
        "test_mail) = 260 > 120 min",
        "window: the remaining plan no longer fits in the contingency: 200 min elapsed + 60 min planned (stop_mail, "
        "unmount_shares, patch_cpms, upgrade_control_station, redistribute_shares, mount_shares, start_mail, "
        "test_mail) = 260 > 150 min",
    ]


def test_overrun_and_fit_warnings_come_from_runner_events(make_callback):
    callback, display, clock = make_callback(progress_interval=0)
    clock.now = at(0)
    callback.v2_runner_on_ok(phase_result("stop_mail", "started", 0))
    clock.now = at(12)
    callback.v2_runner_retry(FakeResult("mta1", FakeTask("ansible.builtin.command"), {}))
    assert display.warnings[0] == "window phase stop_mail overran its budget: 12 of 10 min"
    assert display.warnings[1].startswith("window: the remaining plan no longer fits in the window: 12 min elapsed")
    clock.now = at(13)
    callback.v2_runner_retry(FakeResult("mta1", FakeTask("ansible.builtin.command"), {}))
    assert len(display.warnings) == 2


def test_only_the_window_actions_feed_events(make_callback):
    callback, display, clock = make_callback()
    event = wp.make_phase_event("stop_mail", "started", at(0), time_scale=SCALE)
    clock.now = at(0)
    callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("ansible.builtin.debug"), {"window_event": event}))
    callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("ansible.builtin.set_fact"),
                                        {"ansible_facts": {"window_event": event}}))
    assert callback._tracker.phases["stop_mail"].state == "not_run"
    assert display.lines == [] and display.warnings == []


def test_a_bad_event_from_a_window_action_is_ignored_with_a_warning(make_callback):
    callback, display, dummy_clock = make_callback()
    bad = wp.make_phase_event("stop_mail", "started", at(0))
    bad["phase"] = "drop_tables"
    callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("mailops.window.window_phase"), {"window_event": bad}))
    swapped = wp.make_objective_event("mail_tested", "met", at(0))
    callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("mailops.window.window_phase"), {"window_event": swapped}))
    assert display.warnings[0] == ("window_report: ignored an event from localhost: unknown phase 'drop_tables'; "
                                   "the phases are: " + ", ".join(wp.PHASE_NAMES))
    assert display.warnings[1] == "window_report: ignored an event from localhost: a phase action returned a objective event"
    assert all(rec.state == "not_run" for rec in callback._tracker.phases.values())


def test_loop_items_feed_events_once(make_callback):
    callback, dummy_display, clock = make_callback()
    item = phase_result("stop_mail", "started", 0)
    clock.now = at(1)
    callback.v2_runner_item_on_ok(item)
    callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("mailops.window.window_phase"),
                                        {"results": [item.result], "changed": False}))
    assert callback._tracker.phases["stop_mail"].runs == [[at(0), None]]


def test_own_errors_become_one_warning_per_hook_and_never_raise(make_callback):
    callback, display, dummy_clock = make_callback()
    for dummy in range(3):
        callback.v2_runner_on_ok(ExplodingResult())
        callback.v2_runner_on_failed(ExplodingResult(), ignore_errors=False)
    assert len(display.warnings) == 2
    assert display.warnings[0].startswith("window_report: internal error in v2_runner_on_ok (RuntimeError at ")
    assert "the run goes on" in display.warnings[0]
    assert not any(SECRET in w for w in display.warnings)


def test_report_is_written_with_latest_copies_and_no_task_data(make_callback, tmp_path):
    callback, display, clock = make_callback(progress_interval=0)
    secret_args = {"password": SECRET, "cmd": "login --password " + SECRET}

    class Playbook(object):
        _file_name = "/somewhere/playbooks/maintenance.yml"

    clock.now = at(-5)
    callback.v2_playbook_on_start(Playbook())
    callback.v2_runner_on_ok(phase_result("stop_mail", "started", 0))
    clock.now = at(3)
    callback.v2_runner_on_ok(FakeResult("mta1", FakeTask("ansible.builtin.command", "Log in", secret_args),
                                        {"stdout": SECRET, "cmd": secret_args["cmd"], "invocation": secret_args}))
    callback.v2_runner_on_failed(FakeResult("mta1", FakeTask("ansible.builtin.command", "Stop CPMS", secret_args),
                                            {"msg": "failed with " + SECRET, "stderr": SECRET}))
    callback.v2_runner_on_unreachable(FakeResult("mta2", FakeTask("ansible.builtin.ping", "Reach mta2"),
                                                 {"msg": "ssh: " + SECRET}))
    callback.v2_runner_on_ok(phase_result("stop_mail", "failed", 8, detail="mta1 refused to stop"))
    callback.v2_runner_on_ok(objective_result(
        "cpms_6_7_19_1", "not_done", 8, detail="mail stop failed",
        backups=[{"host": "mta1", "path": "/var/backups/mailops/cpms-mta1.tar.gz", "sha256": "c" * 64}]))
    clock.now = at(9)
    callback.v2_playbook_on_stats(FakeStats({
        "mta1": {"ok": 2, "changed": 0, "failures": 1, "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0},
        "mta2": {"ok": 0, "changed": 0, "failures": 0, "unreachable": 1, "skipped": 0, "rescued": 0, "ignored": 0},
    }))
    directory = tmp_path / "reports"
    stamp = wp.file_stamp(at(9))
    assert sorted(os.listdir(str(directory))) == sorted([
        "latest.json", "latest.md", "window-%s.json" % stamp, "window-%s.md" % stamp])
    assert display.lines[-2:] == ["window report: %s" % (directory / ("window-%s.json" % stamp)),
                                  "window report: %s" % (directory / ("window-%s.md" % stamp))]
    for name in os.listdir(str(directory)):
        text = (directory / name).read_text()
        assert SECRET not in text, name
        assert "login --password" not in text and "invocation" not in text
    report = json.loads((directory / "latest.json").read_text())
    assert report == json.loads((directory / ("window-%s.json" % stamp)).read_text())
    assert report["playbooks"] == ["maintenance.yml"]
    assert report["run"]["started_at"] == wp.iso_utc(at(-5))
    stop = [p for p in report["phases"] if p["name"] == "stop_mail"][0]
    assert stop["state"] == "failed" and stop["details"] == ["mta1 refused to stop"]
    assert stop["failed_tasks"] == ["mta1: Stop CPMS", "mta2: Reach mta2"]
    hosts = dict((h["host"], h) for h in report["hosts"])
    assert hosts["mta1"]["failures"] == 1 and hosts["mta1"]["failed_tasks"] == ["Stop CPMS"]
    assert hosts["mta2"]["unreachable"] == 1 and hosts["mta2"]["unreachable_tasks"] == ["Reach mta2"]
    assert report["backups"][0]["path"] == "/var/backups/mailops/cpms-mta1.tar.gz"
    assert (directory / "latest.md").read_text() == wp.render_markdown(report)

    # a second run in the same second does not overwrite the first
    again, dummy_display, again_clock = make_callback()
    again_clock.now = at(9)
    again.v2_runner_on_ok(phase_result("preflight", "started", 9))
    again.v2_playbook_on_stats(FakeStats({}))
    assert (directory / ("window-%s-2.json" % stamp)).exists()
    assert json.loads((directory / "latest.json").read_text())["phases"][2]["state"] == "not_run"


def test_a_run_without_window_events_writes_no_report(make_callback, tmp_path):
    callback, display, dummy_clock = make_callback(report_dir=str(tmp_path / "reports"))
    callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("ansible.builtin.command", "Lab housekeeping"), {}))
    callback.v2_playbook_on_stats(FakeStats({"localhost": {"ok": 1}}))
    assert callback.report_paths == []
    assert not (tmp_path / "reports").exists()
    assert not any(line.startswith("window report:") for line in display.lines)


def test_unwritable_report_dir_is_a_warning(make_callback, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    callback, display, dummy_clock = make_callback(report_dir=str(blocker / "reports"))
    callback.v2_runner_on_ok(phase_result("preflight", "started", 0))
    callback.v2_runner_on_ok(phase_result("preflight", "finished", 0))
    callback.v2_playbook_on_stats(FakeStats({}))
    assert callback.report_paths == []
    assert len(display.warnings) == 1
    assert display.warnings[0].startswith("window_report: cannot write the window report into %s" % (blocker / "reports"))
