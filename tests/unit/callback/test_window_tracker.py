"""WindowTracker: phases inferred from their blocks' tasks and set by events, progress, overrun and
window-fit warnings, downtime and the report, on the seed plan (or a small plan), from fabricated
events on a fabricated clock (minute numbers are simulated minutes since T0)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.mailops.window.plugins.plugin_utils import _tracker as tr
from ansible_collections.mailops.window.plugins.plugin_utils._plan import source_form
from window_helpers import SCALE, SEED_CRITICAL_PATH, STOP_MAIL_TITLE, at, seed_plan, small_plan

PLAN = seed_plan()


def new_tracker(plan=None):
    return tr.WindowTracker(plan or PLAN, time_scale=SCALE)


def phase(tracker, name, state, minute, **kwargs):
    return tracker.apply(tr.make_phase_event(tracker.plan, name, state, at(minute), **kwargs))


def objective(tracker, name, status, minute, **kwargs):
    return tracker.apply(tr.make_objective_event(tracker.plan, name, status, at(minute), **kwargs))


def block(tracker, name, minute, host="localhost", background=False):
    """A phase block is entered at ``minute`` and its first task runs on ``host``."""
    notices = tracker.task_started(name, at(minute), background=background)
    return notices + tracker.task_ran(name, host)


def warnings_of(notices):
    return [n.text for n in notices if n.level == "warning"]


def infos_of(notices):
    return [n.text for n in notices if n.level == "info"]


def state_of(tracker, name):
    return tracker.phases[name].state


def run_plan_on_time(tracker):
    """Every phase of the plan exactly on budget, row by row: the window ends at minute 120."""
    budgets = dict((p["id"], p["budget_minutes"]) for p in tracker.plan["phases"])
    notices = []
    notices += phase(tracker, "preflight", "started", -30)
    notices += phase(tracker, "preflight", "finished", -20)
    notices += phase(tracker, "backup", "started", -20)
    notices += phase(tracker, "backup", "finished", -5)
    minute = 0
    for row in tracker.plan["rows"]:
        for name in row["phases"]:
            notices += phase(tracker, name, "started", minute)
        for name in row["phases"]:
            notices += phase(tracker, name, "finished", minute + budgets[name])
        minute += row["minutes"]
    notices += phase(tracker, "rollback_control_station", "skipped", 40, detail="upgrade went well")
    return notices, minute


# ----------------------------------------------------------------------------------------------
# lines and warnings
# ----------------------------------------------------------------------------------------------

def test_progress_line_has_the_documented_form():
    tracker = new_tracker()
    phase(tracker, "stop_mail", "started", 0)
    phase(tracker, "stop_mail", "finished", 10)
    phase(tracker, "unmount_shares", "started", 10)
    phase(tracker, "unmount_shares", "finished", 15)
    phase(tracker, "patch_cpms", "started", 15)
    phase(tracker, "upgrade_control_station", "started", 15)
    phase(tracker, "patch_cpms", "finished", 37)
    phase(tracker, "upgrade_control_station", "finished", 37)
    phase(tracker, "upgrade_data_movers", "started", 37)
    assert tracker.progress_lines(at(71)) == [
        "upgrade_data_movers: 34 of 60 min (57%), window 71/120 min, contingency left 79 min"]


def test_start_and_finish_lines_show_budget_title_and_window():
    tracker = new_tracker()
    started = phase(tracker, "stop_mail", "started", 0)
    assert infos_of(started) == [
        "window phase stop_mail started (budget 10 min): %s: window 0/120 min, contingency left 150 min"
        % STOP_MAIL_TITLE]
    finished = phase(tracker, "stop_mail", "finished", 8)
    assert infos_of(finished) == [
        "window phase stop_mail finished: 8 of 10 min (80%), window 8/120 min, contingency left 142 min"]
    assert warnings_of(started + finished) == []


def test_plan_lines_describe_the_plan():
    lines = new_tracker().plan_lines()
    assert lines[0] == ("window plan celerra_cpms: Celerra microcode upgrade and security patch of the mail service; "
                        "window 120 min, contingency 150 min; time scale 0.01")
    assert lines[1] == "  preflight [all, before downtime]: Preflight: versions, patch checksum, Celerra health, window lock"
    assert "  unmount_shares [mail, 5 min after stop_mail]: Unmount the Celerra shares on the mail servers" in lines
    assert ("  mount_shares [mail, 5 min after redistribute_shares, patch_cpms]: Mount the Celerra shares on the "
            "mail servers") in lines
    assert ("  rollback_control_station [storage, 30 min, only if upgrade_control_station fails]: Roll the Control "
            "Station back to version {{ celerra_version_current }}") in lines
    assert lines[-1] == ("  critical path: stop_mail -> unmount_shares -> upgrade_control_station -> upgrade_data_movers "
                         "-> redistribute_shares -> mount_shares -> start_mail -> test_mail = 120 min "
                         "(150 min with every rollback)")
    assert len(lines) == 1 + 12 + 1


def test_plan_lines_in_the_plan_language():
    lines = tr.WindowTracker(small_plan(language="es"), time_scale=1).plan_lines()
    assert lines[0] == "window plan small: Una ventana chica; window 60 min, contingency 90 min; time scale 1"
    assert lines[-1] == "  critical path: stop -> upgrade -> start -> check = 35 min (50 min with every rollback)"


def test_before_downtime_phases_have_no_budget_and_do_not_start_the_window():
    tracker = new_tracker()
    notices = phase(tracker, "preflight", "started", 0)
    assert infos_of(notices) == ["window phase preflight started (before downtime, no budget): Preflight: versions, "
                                 "patch checksum, Celerra health, window lock: "
                                 "window not started (budget 120 min, contingency 150 min)"]
    assert tracker.progress_lines(at(500)) == [
        "preflight: 500 min (before downtime), window not started (budget 120 min, contingency 150 min)"]
    assert warnings_of(tracker.check(at(500))) == []
    assert tracker.window_start is None
    phase(tracker, "preflight", "finished", 500)
    phase(tracker, "stop_mail", "started", 510)
    assert tracker.window_start == at(510)


def test_overrun_is_warned_once_when_it_happens():
    tracker = new_tracker()
    phase(tracker, "stop_mail", "started", 0)
    assert warnings_of(tracker.check(at(10))) == []  # exactly on budget is no overrun
    first = warnings_of(tracker.check(at(10.5)))
    assert "window phase stop_mail overran its budget: 10.5 of 10 min" in first
    assert not any("overran" in w for w in warnings_of(tracker.check(at(12))))
    finished = phase(tracker, "stop_mail", "finished", 14)
    assert not any("overran" in w for w in warnings_of(finished))
    assert [w for w in tracker.warnings if "overran" in w] == ["window phase stop_mail overran its budget: 10.5 of 10 min"]


def test_overrun_found_at_finish_when_no_event_came_in_between():
    tracker = new_tracker()
    phase(tracker, "unmount_shares", "started", 0)
    finished = phase(tracker, "unmount_shares", "finished", 9)
    assert "window phase unmount_shares overran its budget: 9 of 5 min" in warnings_of(finished)


def test_window_fit_warning_when_the_critical_path_has_no_slack_left():
    tracker = new_tracker()
    phase(tracker, "stop_mail", "started", 0)
    # minute 9: 9 elapsed + 1 left of stop_mail + 110 of the rest = 120: still fits
    assert tracker.remaining_plan(at(9))[0] == pytest.approx(111)
    assert tracker.remaining_plan(at(9))[1] == SEED_CRITICAL_PATH
    assert warnings_of(tracker.check(at(9))) == []
    late = warnings_of(tracker.check(at(11)))
    # the longest path of what is left: patch_cpms runs beside the Control Station, it is not on it
    assert late == [
        "window phase stop_mail overran its budget: 11 of 10 min",
        "window: the remaining plan no longer fits in the window: 11 min elapsed + 110 min planned "
        "(unmount_shares, upgrade_control_station, upgrade_data_movers, redistribute_shares, mount_shares, "
        "start_mail, test_mail) = 121 > 120 min"]
    # once only
    assert not any("no longer fits in the window" in w for w in warnings_of(tracker.check(at(20))))
    # the contingency goes at minute 40 + 110 > 150
    assert warnings_of(tracker.check(at(40))) == []
    contingency = warnings_of(tracker.check(at(41)))
    assert contingency == [
        "window: the remaining plan no longer fits in the contingency: 41 min elapsed + 110 min planned "
        "(unmount_shares, upgrade_control_station, upgrade_data_movers, redistribute_shares, mount_shares, "
        "start_mail, test_mail) = 151 > 150 min"]
    assert [w for w in tracker.warnings if w.startswith("window: ")] == late[1:] + contingency


def test_parallel_phases_count_once_by_the_longest():
    tracker = new_tracker()
    for name, start, end in (("stop_mail", 0, 10), ("unmount_shares", 10, 15)):
        phase(tracker, name, "started", start)
        phase(tracker, name, "finished", end)
    phase(tracker, "patch_cpms", "started", 15)
    phase(tracker, "upgrade_control_station", "started", 15)
    assert tracker.progress_lines(at(25)) == [
        "patch_cpms: 10 of 25 min (40%), window 25/120 min, contingency left 125 min",
        "upgrade_control_station: 10 of 25 min (40%), window 25/120 min, contingency left 125 min",
    ]
    phase(tracker, "patch_cpms", "finished", 35)
    remaining, names = tracker.remaining_plan(at(35))
    assert remaining == pytest.approx(5 + 60 + 5 + 5 + 5 + 5)
    assert names[0] == "upgrade_control_station" and "patch_cpms" not in names
    assert warnings_of(tracker.check(at(40))) == []
    late = warnings_of(tracker.check(at(45)))
    assert "window phase upgrade_control_station overran its budget: 30 of 25 min" in late
    assert any("no longer fits in the window: 45 min elapsed + 80 min planned" in w for w in late)


def test_remaining_plan_is_the_longest_path_of_what_is_left():
    tracker = new_tracker()
    for name, start, end in (("stop_mail", 0, 10), ("unmount_shares", 10, 15)):
        phase(tracker, name, "started", start)
        phase(tracker, name, "finished", end)
    phase(tracker, "upgrade_control_station", "started", 15)
    phase(tracker, "upgrade_control_station", "finished", 40)
    phase(tracker, "upgrade_data_movers", "started", 40)
    # patch_cpms has not started: 25 min of it are left, less than the movers' 60, off the path
    remaining, names = tracker.remaining_plan(at(40))
    assert remaining == pytest.approx(60 + 5 + 5 + 5 + 5)
    assert names == ["upgrade_data_movers", "redistribute_shares", "mount_shares", "start_mail", "test_mail"]
    # at minute 90 the movers have 10 min left: patch_cpms (25, not started) now leads to mount_shares
    remaining, names = tracker.remaining_plan(at(90))
    assert remaining == pytest.approx(25 + 5 + 5 + 5)
    assert names == ["patch_cpms", "mount_shares", "start_mail", "test_mail"]
    assert any("no longer fits in the window: 90 min elapsed + 40 min planned (patch_cpms, mount_shares, "
               "start_mail, test_mail) = 130 > 120 min" in w for w in warnings_of(tracker.check(at(90))))


def test_rollback_joins_the_critical_path_once_started():
    tracker = new_tracker()
    phase(tracker, "stop_mail", "started", 0)
    phase(tracker, "stop_mail", "finished", 10)
    phase(tracker, "unmount_shares", "started", 10)
    phase(tracker, "unmount_shares", "finished", 15)
    phase(tracker, "upgrade_control_station", "started", 15)
    phase(tracker, "patch_cpms", "started", 15)
    phase(tracker, "patch_cpms", "finished", 40)
    failed = phase(tracker, "upgrade_control_station", "failed", 40, detail="Error 5005")
    assert infos_of(failed)[0].startswith("window phase upgrade_control_station failed: 25 of 25 min (100%)")
    assert tracker.remaining_plan(at(40))[0] == pytest.approx(80)
    assert tracker.planned_minutes() == 120
    notices = phase(tracker, "rollback_control_station", "started", 40)
    assert tracker.planned_minutes() == 150
    # 40 + 30 + 80 = 150: over the window, within the contingency
    assert tracker.remaining_plan(at(40)) == (pytest.approx(110), [
        "rollback_control_station", "upgrade_data_movers", "redistribute_shares", "mount_shares", "start_mail",
        "test_mail"])
    assert any("no longer fits in the window: 40 min elapsed + 110 min planned" in w for w in warnings_of(notices))
    assert not any("contingency" in w for w in warnings_of(notices))
    phase(tracker, "rollback_control_station", "finished", 70)
    phase(tracker, "upgrade_control_station", "rolled_back", 70)
    report = tracker.report(at(71))
    states = dict((p["name"], p["state"]) for p in report["phases"])
    assert states["upgrade_control_station"] == "rolled_back"
    assert states["rollback_control_station"] == "finished"
    assert report["critical_path"]["planned_minutes"] == 150
    assert report["critical_path"]["planned_minutes_without_rollback"] == 120
    assert report["critical_path"]["phases"] == [
        "stop_mail", "unmount_shares", "upgrade_control_station", "rollback_control_station", "upgrade_data_movers",
        "redistribute_shares", "mount_shares", "start_mail", "test_mail"]


def test_a_long_rollback_can_move_the_critical_path():
    plan = small_plan()
    tracker = new_tracker(plan)
    phase(tracker, "stop", "started", 0)
    phase(tracker, "stop", "finished", 5)
    phase(tracker, "tidy", "started", 5)
    phase(tracker, "upgrade", "started", 5)
    phase(tracker, "upgrade", "failed", 10)
    # tidy (5 of 10 left) is longer than what is left of the failed upgrade (nothing)
    assert tracker.remaining_plan(at(10)) == (pytest.approx(5 + 5 + 5), ["tidy", "start", "check"])
    phase(tracker, "restore", "started", 10)
    assert tracker.remaining_plan(at(10)) == (pytest.approx(15 + 5 + 5), ["restore", "start", "check"])


def test_closed_phase_state_rules():
    tracker = new_tracker()
    phase(tracker, "patch_cpms", "started", 0)
    phase(tracker, "patch_cpms", "failed", 5)
    phase(tracker, "patch_cpms", "finished", 6)
    assert state_of(tracker, "patch_cpms") == "failed"  # a finish never hides a failure
    phase(tracker, "patch_cpms", "rolled_back", 7)
    assert state_of(tracker, "patch_cpms") == "rolled_back"
    assert tracker.phases["patch_cpms"].runs == [[at(0), at(5)]]  # the verdicts did not move the end


def test_duplicate_start_from_another_host_is_merged():
    tracker = new_tracker()
    first = phase(tracker, "stop_mail", "started", 0, host="mta1")
    again = phase(tracker, "stop_mail", "started", 1, host="mta2")
    assert infos_of(first) and infos_of(again) == []
    assert tracker.phases["stop_mail"].runs == [[at(0), None]]
    assert tracker.phases["stop_mail"].hosts == ["mta1", "mta2"]


def test_restarted_phase_adds_up_its_runs():
    tracker = new_tracker()
    phase(tracker, "mount_shares", "started", 0)
    phase(tracker, "mount_shares", "failed", 2)
    phase(tracker, "mount_shares", "started", 10)
    phase(tracker, "mount_shares", "finished", 13)
    rec = tracker.phases["mount_shares"]
    assert rec.state == "finished" and len(rec.runs) == 2
    assert rec.minutes(at(20), SCALE) == pytest.approx(5)


def test_skipped_without_start_has_no_duration_and_does_not_open_the_window():
    tracker = new_tracker()
    notices = phase(tracker, "rollback_control_station", "skipped", 3, detail="not needed")
    assert infos_of(notices)[0].startswith("window phase rollback_control_station skipped: 0 of 30 min (0%)")
    assert tracker.window_start is None
    report = tracker.report(at(4))
    rollback = [p for p in report["phases"] if p["name"] == "rollback_control_station"][0]
    assert rollback["state"] == "skipped" and rollback["minutes"] == 0 and rollback["details"] == ["not needed"]
    # a skipped rollback did not run: it adds nothing to the critical path
    assert report["critical_path"]["planned_minutes"] == 120
    assert "rollback_control_station" not in report["critical_path"]["phases"]
    assert tracker.remaining_plan(at(4))[0] == pytest.approx(120)
    assert report["window"]["started_at"] is None


def test_a_phase_left_in_the_background_is_unfinished_at_the_end():
    tracker = new_tracker()
    block(tracker, "upgrade_data_movers", 0, background=True)
    tracker.task_started(None, at(1))
    notices = tracker.finalize(at(20))
    assert warnings_of(notices) == [
        "window phase upgrade_data_movers was still open when the run ended: 20 of 60 min (33%)"]
    assert tracker.open_phases() == []
    assert tracker.report(at(21))["phases"][7]["state"] == "unfinished"


def test_the_last_block_is_finished_at_the_end_and_an_interrupt_leaves_it_unfinished():
    tracker = new_tracker()
    block(tracker, "test_mail", 0)
    assert infos_of(tracker.finalize(at(4))) == [
        "window phase test_mail finished: 4 of 5 min (80%), window 4/120 min, contingency left 146 min"]
    assert state_of(tracker, "test_mail") == "finished"

    interrupted = new_tracker()
    block(interrupted, "test_mail", 0)
    phase(interrupted, "upgrade_data_movers", "started", 1)
    notices = interrupted.interrupt(at(4))
    assert warnings_of(notices) == [
        "window phase test_mail was still open when the run ended: 4 of 5 min (80%)",
        "window phase upgrade_data_movers was still open when the run ended: 3 of 60 min (5%)"]
    assert state_of(interrupted, "test_mail") == state_of(interrupted, "upgrade_data_movers") == "unfinished"


def test_contingency_exceeded_is_shown():
    tracker = new_tracker(seed_plan(window_minutes=60, contingency_minutes=90))
    phase(tracker, "upgrade_data_movers", "started", 0)
    assert tracker.progress_lines(at(100)) == [
        "upgrade_data_movers: 100 of 60 min (167%), window 100/60 min, contingency exceeded by 10 min"]


def test_a_plan_too_long_for_its_window_is_warned_from_the_start():
    tracker = new_tracker(seed_plan(window_minutes=100, contingency_minutes=140))
    assert tracker.warnings == [
        "plan: the critical path (stop_mail -> unmount_shares -> upgrade_control_station -> upgrade_data_movers -> "
        "redistribute_shares -> mount_shares -> start_mail -> test_mail) takes 120 min, more than the window's 100",
        "plan: with its rollbacks the plan takes 150 min, more than the contingency's 140",
    ]
    assert tracker.report(at(0))["warnings"] == tracker.warnings


# ----------------------------------------------------------------------------------------------
# phases inferred from their blocks
# ----------------------------------------------------------------------------------------------

def test_a_phase_starts_at_its_block_entry_when_a_task_runs():
    tracker = new_tracker()
    assert infos_of(tracker.task_started("stop_mail", at(0))) == []
    assert state_of(tracker, "stop_mail") == "not_run" and tracker.open_phases() == []
    # the block's first task was skipped on mta1, the second one runs at minute 2
    assert tracker.task_started("stop_mail", at(1)) == []
    started = tracker.task_ran("stop_mail", "mta1")
    assert infos_of(started) == [
        "window phase stop_mail started (budget 10 min): %s: window 0/120 min, contingency left 150 min"
        % STOP_MAIL_TITLE]
    assert tracker.phases["stop_mail"].runs == [[at(0), None]] and tracker.window_start == at(0)
    assert tracker.task_ran("stop_mail", "mta2") == []  # already open
    assert tracker.phases["stop_mail"].hosts == ["mta1", "mta2"]
    # leaving the block closes it, finished
    left = tracker.task_started("unmount_shares", at(9))
    assert infos_of(left) == [
        "window phase stop_mail finished: 9 of 10 min (90%), window 9/120 min, contingency left 141 min"]
    assert tracker.phases["stop_mail"].runs == [[at(0), at(9)]]
    assert state_of(tracker, "unmount_shares") == "not_run"


def test_a_block_whose_tasks_are_all_skipped_never_starts_its_phase():
    tracker = new_tracker()
    block(tracker, "upgrade_control_station", 0)
    tracker.task_started("upgrade_data_movers", at(25))  # every task of the block is skipped
    tracker.task_started("upgrade_data_movers", at(26))
    tracker.task_started("redistribute_shares", at(27))
    tracker.task_ran("upgrade_data_movers", "cs")  # a late result of the block does not start it either
    tracker.task_started(None, at(28))
    rec = tracker.phases["upgrade_data_movers"]
    assert rec.state == "not_run" and rec.runs == []
    assert state_of(tracker, "redistribute_shares") == "not_run"
    assert state_of(tracker, "upgrade_control_station") == "finished"
    report = tracker.report(at(30))
    movers = [p for p in report["phases"] if p["name"] == "upgrade_data_movers"][0]
    assert movers["started_at"] is None and movers["minutes"] is None and movers["runs"] == 0


def test_leaving_a_block_where_a_task_failed_closes_the_phase_failed():
    tracker = new_tracker()
    block(tracker, "unmount_shares", 0, host="mta1")
    tracker.record_failure("mta1", "Unmount the store", phase="unmount_shares")
    tracker.task_ran("unmount_shares", "mta1")
    tracker.task_started("unmount_shares", at(2))  # a rescue task of the same block
    tracker.task_ran("unmount_shares", "mta1")
    assert tracker.phases["unmount_shares"].is_open
    left = tracker.task_started(None, at(4))
    assert infos_of(left) == [
        "window phase unmount_shares failed: 4 of 5 min (80%), window 4/120 min, contingency left 146 min"]
    assert state_of(tracker, "unmount_shares") == "failed"
    assert tracker.phases["unmount_shares"].failed_tasks == ["mta1: Unmount the store"]
    # an ignored failure does not fail the phase
    block(tracker, "patch_cpms", 5, host="mta1")
    tracker.record_failure("mta1", "Check a port", phase="patch_cpms", ignored=True)
    tracker.task_started(None, at(8))
    assert state_of(tracker, "patch_cpms") == "finished" and tracker.phases["patch_cpms"].failed_tasks == []


def test_a_failure_of_the_first_task_that_runs_fails_the_phase():
    """The order the callback reports a failed task in: the failure, then the task ran."""
    tracker = new_tracker()
    tracker.task_started("stop_mail", at(0))
    tracker.record_failure("mta1", "Stop CPMS", phase="stop_mail")
    tracker.task_ran("stop_mail", "mta1")
    tracker.task_started(None, at(3))
    assert tracker.phases["stop_mail"].failed_tasks == ["mta1: Stop CPMS"]
    assert state_of(tracker, "stop_mail") == "failed"


def test_background_phases_stay_open_across_another_phase_until_their_join_block_is_left():
    tracker = new_tracker()
    block(tracker, "unmount_shares", 10)
    block(tracker, "upgrade_control_station", 15, host="cs", background=True)
    started = block(tracker, "patch_cpms", 16, host="mta1")
    assert state_of(tracker, "unmount_shares") == "finished"
    assert tracker.phases["upgrade_control_station"].is_open
    assert infos_of(started)[0].startswith("window phase patch_cpms started (budget 25 min)")
    assert [rec.name for rec in tracker.open_phases()] == ["upgrade_control_station", "patch_cpms"]
    assert tracker.progress_lines(at(30)) == [
        "upgrade_control_station: 15 of 25 min (60%), window 20/120 min, contingency left 130 min",
        "patch_cpms: 14 of 25 min (56%), window 20/120 min, contingency left 130 min"]
    # the join block: patch_cpms ends, the Control Station goes on, in the same run
    joined = tracker.task_started("upgrade_control_station", at(38))
    assert infos_of(joined) == [
        "window phase patch_cpms finished: 22 of 25 min (88%), window 28/120 min, contingency left 122 min"]
    tracker.task_ran("upgrade_control_station", "cs")
    assert tracker.phases["upgrade_control_station"].runs == [[at(15), None]]
    # a task outside any phase block does not end it while it is in the background ...
    tracker2 = new_tracker()
    block(tracker2, "upgrade_control_station", 15, background=True)
    tracker2.task_started(None, at(16))
    assert tracker2.phases["upgrade_control_station"].is_open
    # ... and leaving the join block does
    left = tracker.task_started("upgrade_data_movers", at(40))
    assert infos_of(left) == ["window phase upgrade_control_station finished: 25 of 25 min (100%), "
                              "window 30/120 min, contingency left 120 min"]
    assert tracker.phases["upgrade_control_station"].runs == [[at(15), at(40)]]
    assert tracker.open_phases() == []


def test_a_failure_in_the_background_fails_the_phase_when_its_join_block_is_left():
    tracker = new_tracker()
    block(tracker, "upgrade_control_station", 15, host="cs", background=True)
    block(tracker, "patch_cpms", 16, host="mta1")
    tracker.task_started("upgrade_control_station", at(38))
    tracker.task_ran("upgrade_control_station", "cs")
    tracker.record_failure("cs", "Wait for the upgrade", phase="upgrade_control_station")
    tracker.task_started(None, at(40))
    assert state_of(tracker, "patch_cpms") == "finished"
    assert state_of(tracker, "upgrade_control_station") == "failed"


def test_an_explicit_skipped_or_failed_state_is_not_overridden_by_inference():
    tracker = new_tracker()
    # data movers: the block's first task says the phase is skipped; later tasks of the block run
    block(tracker, "upgrade_data_movers", 40, host="cs")
    phase(tracker, "upgrade_data_movers", "skipped", 40, detail="the Control Station was rolled back")
    tracker.task_started("upgrade_data_movers", at(41))
    assert tracker.task_ran("upgrade_data_movers", "cs") == []
    tracker.task_started("redistribute_shares", at(42))
    assert state_of(tracker, "upgrade_data_movers") == "skipped"
    assert tracker.phases["upgrade_data_movers"].runs == [[at(40), at(40)]]
    # mail test: every task succeeded, but the rescue-less check says it failed
    block(tracker, "test_mail", 50, host="mta1")
    phase(tracker, "test_mail", "failed", 53, detail="mta2 did not deliver")
    tracker.task_started("test_mail", at(54))
    tracker.task_ran("test_mail", "mta1")
    tracker.task_started(None, at(55))
    finals = tracker.finalize(at(56))
    assert state_of(tracker, "test_mail") == "failed"
    assert tracker.phases["test_mail"].runs == [[at(50), at(53)]]
    assert state_of(tracker, "upgrade_data_movers") == "skipped"
    assert finals == []


def test_an_explicit_failure_stays_after_a_nested_rollback_block():
    """Rescue of the Control Station's block: say it failed, roll back in a nested block, then one more
    task of the Control Station's block."""
    tracker = new_tracker()
    block(tracker, "upgrade_control_station", 15, host="cs")
    tracker.record_failure("cs", "Upgrade the Control Station", phase="upgrade_control_station")
    tracker.task_started("upgrade_control_station", at(30))
    tracker.task_ran("upgrade_control_station", "cs")
    phase(tracker, "upgrade_control_station", "failed", 30, detail="Error 5005")
    block(tracker, "rollback_control_station", 31, host="cs")
    tracker.task_started("upgrade_control_station", at(50))
    tracker.task_ran("upgrade_control_station", "cs")
    tracker.task_started(None, at(51))
    assert state_of(tracker, "rollback_control_station") == "finished"
    assert state_of(tracker, "upgrade_control_station") == "failed"
    assert tracker.phases["upgrade_control_station"].runs == [[at(15), at(30)]]


def test_a_rolled_back_verdict_after_the_rollback_block():
    tracker = new_tracker()
    block(tracker, "upgrade_control_station", 15, host="cs")
    tracker.task_ran("upgrade_control_station", "cs")
    tracker.record_failure("cs", "Upgrade the Control Station", phase="upgrade_control_station")
    tracker.task_started("upgrade_control_station", at(30))
    phase(tracker, "upgrade_control_station", "failed", 30, detail="Error 5005")
    block(tracker, "rollback_control_station", 31, host="cs")
    tracker.task_started(None, at(61))  # the verdict comes from a task outside both blocks
    assert state_of(tracker, "rollback_control_station") == "finished"
    phase(tracker, "upgrade_control_station", "rolled_back", 61)
    assert state_of(tracker, "upgrade_control_station") == "rolled_back"
    assert tracker.phases["upgrade_control_station"].runs == [[at(15), at(30)]]
    assert tracker.phases["rollback_control_station"].runs == [[at(31), at(61)]]
    assert tracker.planned_minutes() == 150


def test_an_explicit_start_in_a_block_is_the_same_run():
    tracker = new_tracker()
    tracker.task_started("stop_mail", at(0))
    tracker.task_ran("stop_mail", "localhost")
    assert phase(tracker, "stop_mail", "started", 0.5) == []
    tracker.task_started(None, at(8))
    assert tracker.phases["stop_mail"].runs == [[at(0), at(8)]] and state_of(tracker, "stop_mail") == "finished"


def test_a_phase_entered_again_gets_another_run():
    tracker = new_tracker()
    block(tracker, "mount_shares", 0)
    tracker.task_started("start_mail", at(2))
    block(tracker, "mount_shares", 10)
    tracker.task_started(None, at(13))
    rec = tracker.phases["mount_shares"]
    assert rec.state == "finished" and rec.runs == [[at(0), at(2)], [at(10), at(13)]]
    assert rec.minutes(at(20), SCALE) == pytest.approx(5)


def test_a_block_of_an_unknown_phase_is_an_error_naming_it():
    tracker = new_tracker()
    with pytest.raises(tr.WindowEventError) as info:
        tracker.task_started("upgrade_everything", at(0))
    assert str(info.value) == "a block marks phase 'upgrade_everything', which the plan celerra_cpms does not have"
    assert tracker.task_ran("upgrade_everything", "localhost") == []
    assert tracker.task_ran(None, "localhost") == []


# ----------------------------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------------------------

def test_plan_on_time_gives_a_clean_report():
    tracker = new_tracker()
    notices, end_minute = run_plan_on_time(tracker)
    assert end_minute == 120
    assert warnings_of(notices) == []
    objective(tracker, "mail_tested", "met", 120, detail="SMTP, POP3, IMAP and webmail answered")
    objective(tracker, "celerra_upgraded", "failed", 100, detail="first try")
    objective(tracker, "celerra_upgraded", "met", 101, detail="5.1.23-2",
              backups=[{"host": "celerra-cs", "path": "/nas/backup/cs-4.2.tar", "sha256": "0" * 64}])
    objective(tracker, "cpms_patched", "met", 110,
              backups=[{"host": "mta1", "path": "/var/backups/cpms.tgz", "sha256": "1" * 64},
                       {"host": "mta2", "path": "/var/backups/cpms.tgz", "sha256": "2" * 64}])
    objective(tracker, "cpms_patched", "met", 111,
              backups=[{"host": "mta1", "path": "/var/backups/cpms.tgz", "sha256": "3" * 64, "version": "6.7.19"}])
    assert warnings_of(tracker.finalize(at(121))) == []
    report = tracker.report(at(121), hosts={"localhost": {"ok": 30, "changed": 0, "failures": 0,
                                                          "unreachable": 0, "skipped": 0, "rescued": 0,
                                                          "ignored": 0}},
                            playbooks=["maintenance.yml"], run_started_at=at(-31))
    json.dumps(report)  # JSON-ready
    assert report["schema"] == "mailops.window.report/3"
    assert report["complete"] is True and report["stopped_at"] is None and report["previous_run"] is None
    assert report["window"]["started_at"] == tr.iso_utc(at(0))
    assert report["window"]["ended_at"] == tr.iso_utc(at(120))
    assert report["window"]["minutes"] == pytest.approx(120)
    assert report["window"]["within_budget"] is True and report["window"]["within_contingency"] is True
    assert report["window"]["budget_minutes"] == 120 and report["window"]["contingency_minutes"] == 150
    assert report["run"] == {"id": None, "pid": None, "controller": None,
                             "started_at": tr.iso_utc(at(-31)), "ended_at": tr.iso_utc(at(121))}
    assert report["generated_at"] == tr.iso_utc(at(121))
    assert report["time_scale"] == SCALE and report["check_mode"] is False
    assert report["playbooks"] == ["maintenance.yml"]
    assert report["critical_path"]["planned_minutes"] == 120  # the rollback was skipped
    assert report["critical_path"]["phases"] == SEED_CRITICAL_PATH
    assert report["mail_downtime"]["complete"] is True
    assert report["mail_downtime"]["minutes"] == pytest.approx(120)
    assert report["mail_downtime"]["ended_at"] == tr.iso_utc(at(120))
    movers = [p for p in report["phases"] if p["name"] == "upgrade_data_movers"][0]
    assert movers["minutes"] == pytest.approx(60) and movers["real_seconds"] == pytest.approx(36)
    assert movers["overrun"] is False and movers["state"] == "finished"
    assert movers["start_offset_minutes"] == pytest.approx(40)
    assert [o["status"] for o in report["objectives"]] == ["met", "met", "not_done", "met", "not_done"]
    assert report["objectives"][2]["detail"] == "no result was recorded"
    assert report["objectives"][0]["detail"] == "5.1.23-2"
    assert report["backups"] == [
        {"host": "celerra-cs", "path": "/nas/backup/cs-4.2.tar", "sha256": "0" * 64, "version": None,
         "objective": "celerra_upgraded"},
        {"host": "mta2", "path": "/var/backups/cpms.tgz", "sha256": "2" * 64, "version": None,
         "objective": "cpms_patched"},
        {"host": "mta1", "path": "/var/backups/cpms.tgz", "sha256": "3" * 64, "version": "6.7.19",
         "objective": "cpms_patched"},
    ]
    assert report["warnings"] == []


def test_report_structure_names_the_plan_its_lanes_phases_and_objectives():
    tracker = new_tracker()
    phase(tracker, "preflight", "started", -10)
    phase(tracker, "preflight", "finished", -8)
    block(tracker, "stop_mail", 0, host="mta1")
    block(tracker, "unmount_shares", 12, host="mta1")
    objective(tracker, "shares_redistributed", "failed", 15, detail="unmount failed")
    report = tracker.report(at(16))
    assert report["plan"]["id"] == "celerra_cpms"
    assert report["plan"]["title"] == "Celerra microcode upgrade and security patch of the mail service"
    assert report["plan"]["lanes"] == [
        {"id": "mail", "team": "TEC DDT", "title": "mail servers"},
        {"id": "storage", "team": "EMC", "title": "Celerra"},
        {"id": "all", "team": "all", "title": "all"}]
    assert report["plan"]["source"] == source_form(PLAN)
    phases = dict((p["name"], p) for p in report["phases"])
    assert list(phases) == [p["id"] for p in PLAN["phases"]]
    assert sorted(phases["stop_mail"]) == sorted([
        "name", "title", "lane", "kind", "after", "rollback_of", "budget_minutes", "state", "started_at",
        "finished_at", "start_offset_minutes", "runs", "real_seconds", "minutes", "overrun", "overrun_minutes",
        "details", "hosts", "failed_tasks"])
    assert phases["stop_mail"]["title"] == STOP_MAIL_TITLE
    assert (phases["stop_mail"]["lane"], phases["stop_mail"]["kind"]) == ("mail", "window")
    assert (phases["preflight"]["lane"], phases["preflight"]["kind"]) == ("all", "before_downtime")
    assert phases["rollback_control_station"]["kind"] == "contingency"
    assert phases["rollback_control_station"]["rollback_of"] == "upgrade_control_station"
    assert phases["rollback_control_station"]["after"] == ["upgrade_control_station"]
    assert phases["mount_shares"]["after"] == ["redistribute_shares", "patch_cpms"]
    assert phases["stop_mail"]["start_offset_minutes"] == 0
    assert phases["unmount_shares"]["start_offset_minutes"] == pytest.approx(12)
    assert phases["preflight"]["start_offset_minutes"] == pytest.approx(-10)
    assert phases["patch_cpms"]["start_offset_minutes"] is None
    assert phases["stop_mail"]["state"] == "finished" and phases["stop_mail"]["hosts"] == ["mta1"]
    assert phases["stop_mail"]["overrun"] is True and phases["stop_mail"]["overrun_minutes"] == pytest.approx(2)
    assert phases["unmount_shares"]["state"] == "open"
    assert phases["unmount_shares"]["minutes"] == pytest.approx(4) and phases["unmount_shares"]["finished_at"] is None
    assert [(o["name"], o["title"]) for o in report["objectives"]] == [
        ("celerra_upgraded", "Upgrade the Celerra microcode to version {{ celerra_version_target }}"),
        ("cpms_patched", "Apply the security patch to CPMS {{ cpms_version_current }}"),
        ("shares_redistributed", "Redistribute the shares among the data movers"),
        ("mail_tested", "Mail sent and received through every MTA"),
        ("webmail_hole_closed", "The webmail cross-site-scripting hole is closed")]
    assert report["objectives"][2] == {"name": "shares_redistributed", "title": "Redistribute the shares among the "
                                       "data movers", "status": "failed", "detail": "unmount failed",
                                       "reported": True, "reported_at": tr.iso_utc(at(15))}
    assert report["mail_downtime"] == {
        "from": "stop_mail", "to": "test_mail", "started_at": tr.iso_utc(at(0)), "ended_at": None,
        "real_seconds": pytest.approx(9.6), "minutes": pytest.approx(16), "complete": False, "carried_from": None}


def test_report_in_the_plan_language_and_without_an_all_lane():
    plan = small_plan(language="es")
    plan["phases"][0]["lane"] = plan["phases"][-1]["lane"] = "app"
    report = tr.WindowTracker(plan, time_scale=1).report(at(0))
    assert report["plan"]["title"] == "Una ventana chica"
    assert report["plan"]["lanes"] == [{"id": "app", "team": "Applications", "title": ""},
                                       {"id": "db", "team": "Databases", "title": "servidores de bases de datos"}]
    assert [o["title"] for o in report["objectives"]] == ["The database runs the new version", "La aplicación responde"]


def test_mail_downtime_follows_the_plan_downtime_span():
    tracker = new_tracker(small_plan())
    phase(tracker, "prepare", "started", -5)
    phase(tracker, "prepare", "finished", -1)
    block(tracker, "stop", 0)
    block(tracker, "upgrade", 5)
    block(tracker, "start", 25)
    block(tracker, "check", 30)
    tracker.task_started(None, at(34))
    report = tracker.report(at(40))
    assert report["mail_downtime"] == {
        "from": "stop", "to": "check", "started_at": tr.iso_utc(at(0)), "ended_at": tr.iso_utc(at(34)),
        "real_seconds": pytest.approx(34 * 0.6), "minutes": pytest.approx(34), "complete": True,
        "carried_from": None}
    assert report["window"]["minutes"] == pytest.approx(34)
    # a plan without a downtime span reports none
    no_span = new_tracker(small_plan(downtime=None))
    block(no_span, "stop", 0)
    assert no_span.report(at(3))["mail_downtime"] == {
        "from": None, "to": None, "started_at": None, "ended_at": None, "real_seconds": None, "minutes": None,
        "complete": False, "carried_from": None}


def test_mail_downtime_is_open_when_test_mail_did_not_finish():
    tracker = new_tracker()
    phase(tracker, "stop_mail", "started", 5)
    phase(tracker, "stop_mail", "finished", 15)
    phase(tracker, "test_mail", "started", 100)
    phase(tracker, "test_mail", "failed", 104)
    report = tracker.report(at(110))
    assert report["mail_downtime"]["complete"] is False
    assert report["mail_downtime"]["ended_at"] is None
    assert report["mail_downtime"]["minutes"] == pytest.approx(105)  # so far, to the end of the run
    assert report["window"]["minutes"] == pytest.approx(99)
    assert report["window"]["within_budget"] is True


def test_failures_are_kept_per_host_and_charged_to_open_phases():
    tracker = new_tracker()
    phase(tracker, "unmount_shares", "started", 0)
    tracker.record_failure("mta1", "Unmount the mail store")
    tracker.record_failure("mta1", "Unmount the mail store")
    tracker.record_failure("mta2", "Check a port", ignored=True)
    phase(tracker, "unmount_shares", "failed", 3)
    tracker.record_failure("celerra-cs", "Gather facts", unreachable=True)
    report = tracker.report(at(4), hosts={"mta1": {"ok": 3, "failures": 1}, "mta2": {"ok": 4, "ignored": 1}})
    unmount = [p for p in report["phases"] if p["name"] == "unmount_shares"][0]
    assert unmount["failed_tasks"] == ["mta1: Unmount the mail store"]
    rows = dict((h["host"], h) for h in report["hosts"])
    assert sorted(rows) == ["celerra-cs", "mta1", "mta2"]
    assert rows["mta1"]["failures"] == 1 and rows["mta1"]["failed_tasks"] == ["Unmount the mail store"]
    assert rows["mta2"]["failures"] == 0 and rows["mta2"]["ignored_failed_tasks"] == ["Check a port"]
    assert rows["celerra-cs"]["unreachable"] == 1 and rows["celerra-cs"]["unreachable_tasks"] == ["Gather facts"]


def test_a_failure_is_charged_to_its_block_phase_only():
    tracker = new_tracker()
    block(tracker, "upgrade_control_station", 15, host="cs", background=True)
    block(tracker, "patch_cpms", 16, host="mta1")
    tracker.record_failure("mta1", "Apply the patch", phase="patch_cpms")
    assert tracker.phases["patch_cpms"].failed_tasks == ["mta1: Apply the patch"]
    assert tracker.phases["upgrade_control_station"].failed_tasks == []
    tracker.record_failure("mta2", "Outside any block")  # no phase: every open phase
    assert tracker.phases["upgrade_control_station"].failed_tasks == ["mta2: Outside any block"]


def test_check_mode_events_mark_the_report():
    tracker = new_tracker()
    phase(tracker, "stop_mail", "started", 0, check_mode=True)
    assert tracker.report(at(1))["check_mode"] is True
