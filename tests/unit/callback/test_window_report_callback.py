"""The window_report callback fed with fake runner results of fake tasks (in fake phase blocks: a
``_parent`` chain with ``vars``), an injected clock and a recording display: the plan declaration,
phases inferred from their blocks, explicit events, progress throttling, warnings, the written report,
and its safety."""

from __future__ import annotations

import importlib
import json
import os

import pytest

from ansible_collections.mailops.window.plugins.plugin_utils import _tracker as tr
from ansible_collections.mailops.window.plugins.plugin_utils._render import render_markdown
from ansible_collections.mailops.window.plugins.plugin_utils._render_html import render_html
from window_helpers import SCALE, SECRET, SEED_PHASES, STOP_MAIL_TITLE, at, seed_plan, seed_raw_plan, small_raw_plan

PLUGIN_MODULE = "ansible_collections.mailops.window.plugins.callback.window_report"
PLAN = seed_plan()


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


class FakeBlock(object):
    """A block of a play: its ``vars`` (where ``window_phase`` marks a phase) and its parent."""

    def __init__(self, variables=None, parent=None):
        self.vars = dict(variables or {})
        self._parent = parent


def phase_block(phase, parent=None, background=None):
    variables = {"window_phase": phase, "unrelated": "{{ something }}"}
    if background is not None:
        variables["window_phase_background"] = background
    return FakeBlock(variables, parent)


class FakeTask(object):
    def __init__(self, action, name=None, args=None, parent=None, variables=None):
        self.resolved_action = action
        self.action = action
        self.name = name
        self.args = args or {}
        self.vars = dict(variables or {})
        self._parent = parent if parent is not None else FakeBlock()

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


class Playbook(object):
    _file_name = "/somewhere/playbooks/maintenance.yml"


def command(name="Run a command", parent=None, args=None):
    return FakeTask("ansible.builtin.command", name, args, parent=parent)


def plan_result(raw=None, minute=-1, host="localhost", check_mode=False):
    event = tr.make_plan_event(raw or seed_raw_plan(), at(minute), time_scale=SCALE, host=host, check_mode=check_mode)
    return FakeResult(host, FakeTask("mailops.window.window_plan", "Declare the plan"),
                      {"changed": False, "window_event": event, "msg": "window plan declared"})


def phase_result(name, state, minute, host="localhost", parent=None, **kwargs):
    event = tr.make_phase_event(PLAN, name, state, at(minute), host=host, **kwargs)
    task = FakeTask("mailops.window.window_phase", "Say what happened", args={"state": state}, parent=parent)
    return FakeResult(host, task, {"changed": False, "window_event": event, "msg": "window phase"})


def objective_result(name, status, minute, **kwargs):
    event = tr.make_objective_event(PLAN, name, status, at(minute), **kwargs)
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


class Run(object):
    """Drives a callback the way ansible-playbook does, task by task, on the fabricated clock."""

    def __init__(self, callback, clock):
        self.callback = callback
        self.clock = clock

    def task(self, minute, task, hosts=("localhost",), outcome="ok", data=None):
        self.clock.now = at(minute)
        self.callback.v2_playbook_on_task_start(task, False)
        for host in hosts:
            self.callback.v2_runner_on_start(FakeHost(host), task)
            result = FakeResult(host, task, dict(data or {}))
            if outcome == "ok":
                self.callback.v2_runner_on_ok(result)
            elif outcome == "failed":
                self.callback.v2_runner_on_failed(result, ignore_errors=False)
            elif outcome == "ignored":
                self.callback.v2_runner_on_failed(result, ignore_errors=True)
            elif outcome == "unreachable":
                self.callback.v2_runner_on_unreachable(result)
            else:
                self.callback.v2_runner_on_skipped(result)

    def result(self, minute, result):
        """A window action's task: its start, then its result (with its event)."""
        self.clock.now = at(minute)
        self.callback.v2_playbook_on_task_start(result.task, False)
        self.callback.v2_runner_on_ok(result)

    def declare(self, minute=-1, **kwargs):
        self.result(minute, plan_result(minute=minute, **kwargs))


@pytest.fixture
def make_callback(tmp_path, monkeypatch, controller_side):
    for name in ("MAILOPS_REPORT_DIR", "MAILOPS_PROGRESS_INTERVAL"):
        monkeypatch.delenv(name, raising=False)

    def factory(**direct):
        callback = new_callback()
        display = callback._display
        direct.setdefault("report_dir", str(tmp_path / "reports"))
        callback.set_options(direct=direct)
        callback._clock = FakeClock(at(-2))
        return callback, display, callback._clock

    return factory


@pytest.fixture
def run(make_callback):
    """A callback with progress on every event, and its plan declared at minute -1."""
    callback, display, clock = make_callback(progress_interval=0)
    driver = Run(callback, clock)
    driver.declare()
    display.lines.clear()
    return driver, display


def test_plugin_identity(controller_side):
    callback = new_callback()
    assert callback.CALLBACK_TYPE == "aggregate"
    assert callback.CALLBACK_NEEDS_ENABLED is True
    assert callback.CALLBACK_NAME == "mailops.window.window_report"
    assert callback.plugin_type == "callback"


def test_options_defaults_and_environment(make_callback, monkeypatch, tmp_path):
    callback, dummy_display, dummy_clock = make_callback()
    assert callback.get_option("progress_interval") == 10
    assert callback._progress_interval == 10.0
    assert callback._tracker is None  # no plan until the run declares one
    monkeypatch.setenv("MAILOPS_REPORT_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("MAILOPS_PROGRESS_INTERVAL", "2.5")
    other = new_callback()
    other.set_options()
    assert other._report_dir == str(tmp_path / "from-env")
    assert other._progress_interval == 2.5


def test_bad_option_values_are_corrected_with_a_warning(make_callback):
    callback, display, dummy_clock = make_callback(progress_interval=-1)
    assert callback._progress_interval == 0
    assert display.warnings == ["window_report: progress_interval -1 is negative, using 0"]


def test_the_plan_declaration_creates_the_tracker_and_prints_the_plan(make_callback):
    callback, display, clock = make_callback()
    Run(callback, clock).declare(check_mode=True)
    assert callback._tracker is not None and callback._tracker.plan == PLAN
    assert callback._tracker.time_scale == SCALE and callback._tracker.check_mode is True
    assert display.lines == tr.WindowTracker(PLAN, SCALE).plan_lines()
    assert display.lines[0] == ("window plan celerra_cpms: Celerra microcode upgrade and security patch of the mail "
                                "service; window 120 min, contingency 150 min; time scale 0.01")
    assert display.warnings == []


def test_the_same_plan_again_is_quiet_and_a_second_plan_is_warned(run):
    driver, display = run
    tracker = driver.callback._tracker
    driver.declare(minute=0, host="mta1")  # another host or play declares the same plan
    assert driver.callback._tracker is tracker and display.lines == [] and display.warnings == []
    driver.result(1, plan_result(raw=small_raw_plan(), minute=1))
    assert display.warnings == ["window_report: a second plan (small) was declared in this run; "
                                "the report follows celerra_cpms"]
    assert driver.callback._tracker is tracker and tracker.plan["id"] == "celerra_cpms"


def test_events_before_the_plan_are_ignored_with_a_warning(make_callback):
    callback, display, clock = make_callback()
    driver = Run(callback, clock)
    driver.task(-5, command(parent=phase_block("preflight")))  # no plan: no phase either
    driver.result(-4, phase_result("preflight", "finished", -4))
    driver.result(-4, objective_result("mail_tested", "met", -4))
    assert display.warnings == [
        "window_report: ignored an event from localhost: a phase event came before the window's plan was declared "
        "(mailops.window.window_plan)",
        "window_report: ignored an event from localhost: a objective event came before the window's plan was "
        "declared (mailops.window.window_plan)",
    ]
    assert callback._tracker is None and display.lines == []
    driver.declare(-3)
    assert all(rec.state == "not_run" for rec in callback._tracker.phases.values())
    assert callback._tracker.objectives == {}


def test_phases_follow_their_blocks(run):
    driver, display = run
    stop = phase_block("stop_mail")
    unmount = phase_block("unmount_shares")
    driver.task(0, command("Stop CPMS", parent=stop), hosts=("mta1", "mta2"))
    assert display.lines[0] == ("window phase stop_mail started (budget 10 min): %s: window 0/120 min, "
                                "contingency left 150 min" % STOP_MAIL_TITLE)
    driver.task(4, command("Stop the configuration server", parent=FakeBlock({}, stop)), hosts=("mailconf2",))
    driver.task(8, command("Unmount the store", parent=unmount), hosts=("mta1",))
    assert ("window phase stop_mail finished: 8 of 10 min (80%), window 8/120 min, contingency left 142 min"
            in display.lines)
    tracker = driver.callback._tracker
    assert tracker.phases["stop_mail"].runs == [[at(0), at(8)]]
    assert tracker.phases["stop_mail"].hosts == ["mta1", "mta2", "mailconf2"]
    assert [rec.name for rec in tracker.open_phases()] == ["unmount_shares"]
    driver.task(12, command("Outside any phase"))
    assert tracker.phases["unmount_shares"].state == "finished" and tracker.open_phases() == []
    assert display.warnings == []


def test_a_block_whose_tasks_are_all_skipped_never_starts_its_phase(run):
    driver, display = run
    movers = phase_block("upgrade_data_movers")
    driver.task(40, command("Upgrade the data movers", parent=movers), hosts=("cs",), outcome="skipped")
    driver.task(41, command("Check the data movers", parent=movers), hosts=("cs",), outcome="skipped")
    driver.task(42, command("Redistribute", parent=phase_block("redistribute_shares")), hosts=("cs",),
                outcome="skipped")
    driver.task(43, command("Outside any phase"))
    tracker = driver.callback._tracker
    assert tracker.phases["upgrade_data_movers"].state == "not_run" and tracker.phases["upgrade_data_movers"].runs == []
    assert tracker.phases["redistribute_shares"].state == "not_run"
    assert not any(line.startswith("window phase") for line in display.lines)
    assert tracker.window_start is None


def test_a_failed_task_fails_its_phase_when_the_block_is_left(run):
    driver, display = run
    unmount = phase_block("unmount_shares")
    driver.task(10, command("Look at the mounts", parent=unmount), hosts=("mta1",))
    driver.task(11, command("Unmount the store", parent=unmount), hosts=("mta1",), outcome="failed")
    driver.task(12, command("Check a port", parent=unmount), hosts=("mta1",), outcome="ignored")
    driver.task(13, command("Outside any phase"))
    tracker = driver.callback._tracker
    assert tracker.phases["unmount_shares"].state == "failed"
    assert tracker.phases["unmount_shares"].failed_tasks == ["mta1: Unmount the store"]
    assert ("window phase unmount_shares failed: 3 of 5 min (60%), window 3/120 min, contingency left 147 min"
            in display.lines)


def test_a_failure_of_the_first_task_of_a_block_fails_its_phase(run):
    driver, display = run
    stop = phase_block("stop_mail")
    driver.task(0, command("Stop CPMS", parent=stop), hosts=("mta1",), outcome="failed")
    driver.task(1, command("Remember the failure", parent=stop), hosts=("mta1",))  # the block's rescue
    driver.task(2, command("Outside any phase"))
    tracker = driver.callback._tracker
    assert tracker.phases["stop_mail"].failed_tasks == ["mta1: Stop CPMS"]
    assert tracker.phases["stop_mail"].state == "failed"


def test_a_failed_and_rescued_phase_with_its_rollback_block(run):
    driver, display = run
    upgrade = phase_block("upgrade_control_station")
    driver.task(15, command("Start the upgrade", parent=upgrade), hosts=("cs",))
    driver.task(30, command("Wait for the upgrade", parent=upgrade), hosts=("cs",), outcome="failed")
    driver.result(31, phase_result("upgrade_control_station", "failed", 31, parent=upgrade,
                                   detail="Error 5005: software inconsistent"))
    rollback = phase_block("rollback_control_station", parent=upgrade)  # nested in the rescue
    driver.task(32, command("Roll the Control Station back", parent=rollback), hosts=("cs",))
    driver.task(40, FakeTask("ansible.builtin.set_fact", "Remember the rollback", parent=FakeBlock({}, rollback)),
                hosts=("cs",))
    driver.result(62, phase_result("upgrade_control_station", "rolled_back", 62))
    driver.task(63, command("Outside any phase"))
    tracker = driver.callback._tracker
    ucs, back = tracker.phases["upgrade_control_station"], tracker.phases["rollback_control_station"]
    assert ucs.state == "rolled_back" and ucs.runs == [[at(15), at(31)]]
    assert ucs.details == ["Error 5005: software inconsistent"]
    assert ucs.failed_tasks == ["cs: Wait for the upgrade"]
    assert back.state == "finished" and back.runs == [[at(32), at(62)]]
    assert ("window phase upgrade_control_station failed: 16 of 25 min (64%), window 16/120 min, "
            "contingency left 134 min") in display.lines
    assert any(line.startswith("window phase rollback_control_station started (budget 30 min): Roll the Control "
                               "Station back to version {{ celerra_version_current }}: window 17/120 min")
               for line in display.lines)
    assert tracker.planned_minutes() == 150


def test_background_phase_stays_open_until_its_join_block_is_left(run):
    driver, display = run
    driver.task(15, command("Start the upgrade", parent=phase_block("upgrade_control_station", background=True)),
                hosts=("cs",))
    driver.task(16, command("Apply the patch", parent=phase_block("patch_cpms")), hosts=("mta1", "mta2"))
    tracker = driver.callback._tracker
    assert [rec.name for rec in tracker.open_phases()] == ["upgrade_control_station", "patch_cpms"]
    assert display.lines[-2:] == [
        "upgrade_control_station: 1 of 25 min (4%), window 1/120 min, contingency left 149 min",
        "patch_cpms: 0 of 25 min (0%), window 1/120 min, contingency left 149 min"]
    driver.task(38, command("Wait for the upgrade", parent=phase_block("upgrade_control_station")), hosts=("cs",))
    assert tracker.phases["patch_cpms"].state == "finished" and tracker.phases["patch_cpms"].runs == [[at(16), at(38)]]
    assert tracker.phases["upgrade_control_station"].is_open
    driver.task(40, command("Upgrade the movers", parent=phase_block("upgrade_data_movers")), hosts=("cs",))
    assert tracker.phases["upgrade_control_station"].runs == [[at(15), at(40)]]
    assert tracker.phases["upgrade_control_station"].state == "finished"


@pytest.mark.parametrize("flag, background", [(True, True), ("yes", True), ("True", True), (False, False),
                                              ("no", False)])
def test_the_background_flag(run, flag, background):
    driver, dummy_display = run
    driver.task(15, command("Start", parent=phase_block("upgrade_control_station", background=flag)), hosts=("cs",))
    driver.task(16, command("Outside any phase"))
    assert driver.callback._tracker.phases["upgrade_control_station"].is_open is background


def test_the_nearest_phase_block_wins_and_task_vars_count(run):
    driver, dummy_display = run
    outer = phase_block("upgrade_control_station")
    # an include_role task marked by its own vars, inside another phase's block
    role_task = FakeTask("ansible.builtin.command", "A task of the role",
                         parent=FakeBlock({}, FakeTask("ansible.builtin.include_role", "Roll back", parent=outer,
                                                       variables={"window_phase": "rollback_control_station"})))
    driver.task(20, role_task, hosts=("cs",))
    tracker = driver.callback._tracker
    assert tracker.phases["rollback_control_station"].is_open
    assert tracker.phases["upgrade_control_station"].state == "not_run"


def test_an_explicit_skip_in_a_block_is_kept(run):
    driver, display = run
    movers = phase_block("upgrade_data_movers")
    driver.result(40, phase_result("upgrade_data_movers", "skipped", 40, parent=movers,
                                   detail="the Control Station was rolled back"))
    driver.task(41, command("Upgrade the data movers", parent=movers), hosts=("cs",), outcome="skipped")
    driver.task(42, command("Check the movers", parent=movers), hosts=("cs",))
    driver.task(43, command("Outside any phase"))
    rec = driver.callback._tracker.phases["upgrade_data_movers"]
    assert rec.state == "skipped" and rec.details == ["the Control Station was rolled back"]
    assert rec.runs == [[at(40), at(40)]]


def test_a_block_of_an_unknown_phase_is_warned(run):
    driver, display = run
    driver.task(5, command("Do something", parent=phase_block("upgrade_everything")), hosts=("mta1",))
    assert display.warnings == ["window_report: a block marks phase 'upgrade_everything', which the plan "
                                "celerra_cpms does not have"]
    assert all(rec.state == "not_run" for rec in driver.callback._tracker.phases.values())


def test_start_finish_and_throttled_progress(make_callback):
    callback, display, clock = make_callback(progress_interval=6)  # 6 s = 10 simulated minutes
    driver = Run(callback, clock)
    driver.declare()
    display.lines.clear()
    movers = phase_block("upgrade_data_movers")
    driver.result(0, phase_result("upgrade_data_movers", "started", 0, parent=movers))
    assert display.lines == ["window phase upgrade_data_movers started (budget 60 min): Apply the microcode to the "
                             "data movers: window 0/120 min, contingency left 150 min"]
    display.lines.clear()
    clock.now = at(5)
    callback.v2_runner_retry(FakeResult("celerra-cs", command(parent=movers), {}))
    assert display.lines == []  # 3 s after the start line: too soon
    clock.now = at(10)
    callback.v2_runner_retry(FakeResult("celerra-cs", command(parent=movers), {}))
    assert display.lines == ["upgrade_data_movers: 10 of 60 min (17%), window 10/120 min, contingency left 140 min"]
    clock.now = at(15)
    callback.v2_runner_on_async_poll(FakeResult("celerra-cs", command(parent=movers), {}))
    assert len(display.lines) == 1
    clock.now = at(34)
    callback.v2_runner_on_async_poll(FakeResult("celerra-cs", command(parent=movers), {}))
    assert display.lines[-1] == "upgrade_data_movers: 34 of 60 min (57%), window 34/120 min, contingency left 116 min"
    clock.now += 6
    callback.v2_runner_on_start(FakeHost("celerra-cs"), command(parent=movers))
    clock.now += 6
    callback.v2_playbook_on_task_start(command(parent=movers), False)
    assert len(display.lines) == 4
    clock.now = at(58)
    callback.v2_runner_on_ok(phase_result("upgrade_data_movers", "finished", 58, parent=movers))
    assert display.lines[-1] == ("window phase upgrade_data_movers finished: 58 of 60 min (97%), "
                                 "window 58/120 min, contingency left 92 min")
    clock.now = at(200)
    callback.v2_runner_retry(FakeResult("celerra-cs", command(), {}))
    assert display.lines[-1].startswith("window phase upgrade_data_movers finished")  # nothing open: no progress
    # the rest of the plan no longer fits after 200 min: the longest path of what is left is 60 min
    left = ("stop_mail, unmount_shares, upgrade_control_station, redistribute_shares, mount_shares, start_mail, "
            "test_mail")
    assert display.warnings == [
        "window: the remaining plan no longer fits in the window: 200 min elapsed + 60 min planned (%s) = 260 > 120 min"
        % left,
        "window: the remaining plan no longer fits in the contingency: 200 min elapsed + 60 min planned (%s) = "
        "260 > 150 min" % left,
    ]


def test_an_inferred_start_restarts_the_progress_interval(make_callback):
    callback, display, clock = make_callback(progress_interval=6)
    driver = Run(callback, clock)
    driver.declare()
    display.lines.clear()
    movers = phase_block("upgrade_data_movers")
    driver.task(0, command("Upgrade the movers", parent=movers), hosts=("cs",))
    assert display.lines == ["window phase upgrade_data_movers started (budget 60 min): Apply the microcode to the "
                             "data movers: window 0/120 min, contingency left 150 min"]


def test_progress_follows_retries_inside_an_inferred_phase(make_callback):
    callback, display, clock = make_callback(progress_interval=6)
    driver = Run(callback, clock)
    driver.declare()
    movers = phase_block("upgrade_data_movers")
    driver.task(0, command("Upgrade the movers", parent=movers), hosts=("cs",))
    display.lines.clear()
    for minute in (5, 10, 15, 20):
        clock.now = at(minute)
        callback.v2_runner_retry(FakeResult("cs", command("Wait for the movers", parent=movers), {}))
    progress = [line for line in display.lines if line.startswith("upgrade_data_movers: ")]
    assert progress == [
        "upgrade_data_movers: 10 of 60 min (17%), window 10/120 min, contingency left 140 min",
        "upgrade_data_movers: 20 of 60 min (33%), window 20/120 min, contingency left 130 min"]


def test_overrun_and_fit_warnings_come_from_runner_events(run):
    driver, display = run
    stop = phase_block("stop_mail")
    driver.task(0, command("Stop CPMS", parent=stop), hosts=("mta1",))
    driver.clock.now = at(12)
    driver.callback.v2_runner_retry(FakeResult("mta1", command(parent=stop), {}))
    assert display.warnings[0] == "window phase stop_mail overran its budget: 12 of 10 min"
    assert display.warnings[1].startswith("window: the remaining plan no longer fits in the window: 12 min elapsed")
    driver.clock.now = at(13)
    driver.callback.v2_runner_retry(FakeResult("mta1", command(parent=stop), {}))
    assert len(display.warnings) == 2


def test_only_the_window_actions_feed_events(run):
    driver, display = run
    event = tr.make_phase_event(PLAN, "stop_mail", "started", at(0))
    driver.clock.now = at(0)
    driver.callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("ansible.builtin.debug"), {"window_event": event}))
    driver.callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("ansible.builtin.set_fact"),
                                               {"ansible_facts": {"window_event": event}}))
    plan_event = tr.make_plan_event(small_raw_plan(), at(0))
    driver.callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("ansible.builtin.debug"),
                                               {"window_event": plan_event}))
    assert driver.callback._tracker.phases["stop_mail"].state == "not_run"
    assert driver.callback._tracker.plan["id"] == "celerra_cpms"
    assert display.lines == [] and display.warnings == []


def test_a_bad_event_from_a_window_action_is_ignored_with_a_warning(run):
    driver, display = run
    bad = tr.make_phase_event(PLAN, "stop_mail", "started", at(0))
    bad["phase"] = "drop_tables"
    callback = driver.callback
    callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("mailops.window.window_phase"), {"window_event": bad}))
    swapped = tr.make_objective_event(PLAN, "mail_tested", "met", at(0))
    callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("mailops.window.window_phase"), {"window_event": swapped}))
    old = dict(tr.make_phase_event(PLAN, "stop_mail", "started", at(0)), schema="mailops.window/1")
    callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("mailops.window.window_phase"), {"window_event": old}))
    assert display.warnings == [
        "window_report: ignored an event from localhost: unknown phase 'drop_tables': the plan celerra_cpms has "
        + ", ".join(SEED_PHASES),
        "window_report: ignored an event from localhost: a phase action returned a objective event",
        "window_report: ignored an event from localhost: window_event has schema 'mailops.window/1', expected "
        "'mailops.window/2'",
    ]
    assert all(rec.state == "not_run" for rec in callback._tracker.phases.values())


def test_loop_items_feed_events_once(run):
    driver, dummy_display = run
    item = phase_result("stop_mail", "started", 0)
    driver.clock.now = at(1)
    driver.callback.v2_runner_item_on_ok(item)
    driver.callback.v2_runner_on_ok(FakeResult("localhost", FakeTask("mailops.window.window_phase"),
                                               {"results": [item.result], "changed": False}))
    assert driver.callback._tracker.phases["stop_mail"].runs == [[at(0), None]]


def test_objective_events_are_shown(run):
    driver, display = run
    driver.result(5, objective_result("celerra_upgraded", "met", 5, detail="5.1.23-2"))
    assert display.lines == ["window objective celerra_upgraded: met (5.1.23-2)"]
    assert driver.callback._tracker.objectives["celerra_upgraded"]["status"] == "met"


def test_own_errors_become_one_warning_per_hook_and_never_raise(run):
    driver, display = run
    for dummy in range(3):
        driver.callback.v2_runner_on_ok(ExplodingResult())
        driver.callback.v2_runner_on_failed(ExplodingResult(), ignore_errors=False)
    assert len(display.warnings) == 2
    assert display.warnings[0].startswith("window_report: internal error in v2_runner_on_ok (RuntimeError at ")
    assert display.warnings[1].startswith("window_report: internal error in v2_runner_on_failed (RuntimeError at ")
    assert "the run goes on" in display.warnings[0]
    assert not any(SECRET in w for w in display.warnings)


def test_report_is_written_with_latest_copies_and_no_task_data(make_callback, tmp_path):
    callback, display, clock = make_callback(progress_interval=0)
    driver = Run(callback, clock)
    secret_args = {"password": SECRET, "cmd": "login --password " + SECRET}

    clock.now = at(-5)
    callback.v2_playbook_on_start(Playbook())
    driver.declare(-4)
    stop = phase_block("stop_mail")
    driver.task(0, command("Log in", parent=stop, args=secret_args), hosts=("mta1",),
                data={"stdout": SECRET, "cmd": secret_args["cmd"], "invocation": secret_args})
    driver.task(3, command("Stop CPMS", parent=stop, args=secret_args), hosts=("mta1",), outcome="failed",
                data={"msg": "failed with " + SECRET, "stderr": SECRET})
    driver.task(3, FakeTask("ansible.builtin.ping", "Reach mta2", parent=stop), hosts=("mta2",),
                outcome="unreachable", data={"msg": "ssh: " + SECRET})
    driver.result(8, phase_result("stop_mail", "failed", 8, parent=stop, detail="mta1 refused to stop"))
    driver.result(8, objective_result(
        "cpms_patched", "not_done", 8, detail="mail stop failed",
        backups=[{"host": "mta1", "path": "/var/backups/mailops/cpms-mta1.tar.gz", "sha256": "c" * 64}]))
    clock.now = at(9)
    callback.v2_playbook_on_stats(FakeStats({
        "mta1": {"ok": 2, "changed": 0, "failures": 1, "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0},
        "mta2": {"ok": 0, "changed": 0, "failures": 0, "unreachable": 1, "skipped": 0, "rescued": 0, "ignored": 0},
    }))
    directory = tmp_path / "reports"
    stamp = tr.file_stamp(at(9))
    stems = ["window-%s" % stamp + suffix for suffix in (".json", ".md", ".html")]
    assert sorted(os.listdir(str(directory))) == sorted(["latest.json", "latest.md", "latest.html"] + stems)
    assert callback.report_paths == [str(directory / name) for name in stems]
    assert display.lines[-3:] == ["window report: %s" % (directory / name) for name in stems]
    for name in os.listdir(str(directory)):
        text = (directory / name).read_text()
        assert SECRET not in text, name
        assert "login --password" not in text and "invocation" not in text, name
    report = json.loads((directory / "latest.json").read_text())
    assert report == json.loads((directory / ("window-%s.json" % stamp)).read_text())
    assert report["schema"] == "mailops.window.report/3"
    assert report["complete"] is True and report["stopped_at"] is None and report["previous_run"] is None
    assert report["plan"]["id"] == "celerra_cpms"
    assert report["playbooks"] == ["maintenance.yml"]
    assert report["run"]["started_at"] == tr.iso_utc(at(-5))
    assert report["generated_at"] == tr.iso_utc(at(9))
    stop_row = [p for p in report["phases"] if p["name"] == "stop_mail"][0]
    assert stop_row["state"] == "failed" and stop_row["details"] == ["mta1 refused to stop"]
    assert stop_row["failed_tasks"] == ["mta1: Stop CPMS", "mta2: Reach mta2"]
    assert stop_row["started_at"] == tr.iso_utc(at(0)) and stop_row["finished_at"] == tr.iso_utc(at(8))
    hosts = dict((h["host"], h) for h in report["hosts"])
    assert hosts["mta1"]["failures"] == 1 and hosts["mta1"]["failed_tasks"] == ["Stop CPMS"]
    assert hosts["mta2"]["unreachable"] == 1 and hosts["mta2"]["unreachable_tasks"] == ["Reach mta2"]
    assert report["backups"][0]["path"] == "/var/backups/mailops/cpms-mta1.tar.gz"
    assert (directory / "latest.md").read_text() == render_markdown(report)
    assert (directory / ("window-%s.md" % stamp)).read_text() == render_markdown(report)
    assert (directory / "latest.html").read_text() == render_html(report)
    assert (directory / ("window-%s.html" % stamp)).read_text() == render_html(report)

    # a second run in the same second does not overwrite the first
    again, dummy_display, again_clock = make_callback()
    again_driver = Run(again, again_clock)
    again_driver.declare(8)
    again_driver.result(9, phase_result("preflight", "started", 9))
    again.v2_playbook_on_stats(FakeStats({}))
    for suffix in (".json", ".md", ".html"):
        assert (directory / ("window-%s-2%s" % (stamp, suffix))).exists()
    assert json.loads((directory / "latest.json").read_text())["phases"][2]["state"] == "not_run"
    assert json.loads((directory / ("window-%s.json" % stamp)).read_text()) == report


def test_a_run_without_a_plan_writes_no_report(make_callback, tmp_path):
    callback, display, clock = make_callback(report_dir=str(tmp_path / "reports"))
    driver = Run(callback, clock)
    driver.task(0, command("Lab housekeeping", parent=phase_block("stop_mail")))
    driver.result(1, phase_result("stop_mail", "finished", 1))
    callback.v2_playbook_on_stats(FakeStats({"localhost": {"ok": 1}}))
    assert callback.report_paths == []
    assert not (tmp_path / "reports").exists()
    assert not any(line.startswith("window report:") for line in display.lines)


def test_a_run_with_only_a_plan_writes_a_report(make_callback, tmp_path):
    callback, display, clock = make_callback(report_dir=str(tmp_path / "reports"))
    Run(callback, clock).declare()
    callback.v2_playbook_on_stats(FakeStats({}))
    assert len(callback.report_paths) == 3
    report = json.loads((tmp_path / "reports" / "latest.json").read_text())
    assert all(p["state"] == "not_run" for p in report["phases"])
    assert report["window"]["started_at"] is None


def test_a_phase_open_at_the_end_is_closed_in_the_report(make_callback, tmp_path):
    callback, display, clock = make_callback(progress_interval=0)
    driver = Run(callback, clock)
    driver.declare()
    driver.task(0, command("Start the upgrade", parent=phase_block("upgrade_control_station", background="true")),
                hosts=("cs",))
    driver.task(1, command("Test mail", parent=phase_block("test_mail")), hosts=("mta1",))
    clock.now = at(4)
    callback.v2_playbook_on_stats(FakeStats({}))
    report = json.loads((tmp_path / "reports" / "latest.json").read_text())
    states = dict((p["name"], p["state"]) for p in report["phases"])
    assert states["test_mail"] == "finished" and states["upgrade_control_station"] == "unfinished"
    assert ("window phase upgrade_control_station was still open when the run ended: 4 of 25 min (16%)"
            in display.warnings)


def test_unwritable_report_dir_is_a_warning(make_callback, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    callback, display, clock = make_callback(report_dir=str(blocker / "reports"))
    driver = Run(callback, clock)
    driver.declare()
    driver.result(0, phase_result("preflight", "started", 0))
    driver.result(0, phase_result("preflight", "finished", 0))
    callback.v2_playbook_on_stats(FakeStats({}))
    assert callback.report_paths == []
    assert len(display.warnings) == 1
    assert display.warnings[0].startswith("window_report: cannot write the window report into %s" % (blocker / "reports"))
