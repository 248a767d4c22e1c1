"""WindowTracker: progress, overrun and window-fit warnings, downtime and the report, from
fabricated events on a fabricated clock (minute numbers are simulated minutes since T0)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.mailops.window.plugins.module_utils import _window_phases as wp

T0 = 1_700_000_000.0
SCALE = 0.01  # the lab's: one simulated minute is 0.6 real seconds


def at(minute, scale=SCALE):
    return T0 + wp.real_seconds_for(minute, scale)


def phase(tracker, name, state, minute, scale=SCALE, **kwargs):
    return tracker.apply(wp.make_phase_event(name, state, at(minute, scale), time_scale=scale, **kwargs))


def objective(tracker, name, status, minute, **kwargs):
    return tracker.apply(wp.make_objective_event(name, status, at(minute), **kwargs))


def warnings_of(notices):
    return [n.text for n in notices if n.level == "warning"]


def infos_of(notices):
    return [n.text for n in notices if n.level == "info"]


def run_plan_on_time(tracker):
    """Every phase of the plan exactly on budget: the window ends at minute 120."""
    notices = []
    notices += phase(tracker, "preflight", "started", -30)
    notices += phase(tracker, "preflight", "finished", -20)
    notices += phase(tracker, "backup", "started", -20)
    notices += phase(tracker, "backup", "finished", -5)
    minute = 0
    for step in wp.CRITICAL_PATH:
        for name in step:
            notices += phase(tracker, name, "started", minute)
        longest = max(wp.PHASE_BY_NAME[name].budget_minutes for name in step)
        for name in step:
            notices += phase(tracker, name, "finished", minute + wp.PHASE_BY_NAME[name].budget_minutes)
        minute += longest
    notices += phase(tracker, "rollback_control_station", "skipped", 40, detail="upgrade went well")
    return notices, minute


def test_progress_line_has_the_documented_form():
    tracker = wp.WindowTracker()
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


def test_start_and_finish_lines_show_budget_and_window():
    tracker = wp.WindowTracker()
    started = phase(tracker, "stop_mail", "started", 0)
    assert infos_of(started) == [
        "window phase stop_mail started (budget 10 min): window 0/120 min, contingency left 150 min"]
    finished = phase(tracker, "stop_mail", "finished", 8)
    assert infos_of(finished) == [
        "window phase stop_mail finished: 8 of 10 min (80%), window 8/120 min, contingency left 142 min"]
    assert warnings_of(started + finished) == []


def test_before_downtime_phases_have_no_budget_and_do_not_start_the_window():
    tracker = wp.WindowTracker()
    notices = phase(tracker, "preflight", "started", 0)
    assert infos_of(notices) == ["window phase preflight started (before downtime, no budget): "
                                 "window not started (budget 120 min, contingency 150 min)"]
    assert tracker.progress_lines(at(500)) == [
        "preflight: 500 min (before downtime), window not started (budget 120 min, contingency 150 min)"]
    assert warnings_of(tracker.check(at(500))) == []
    assert tracker.window_start is None
    phase(tracker, "preflight", "finished", 500)
    phase(tracker, "stop_mail", "started", 510)
    assert tracker.window_start == at(510)


def test_overrun_is_warned_once_when_it_happens():
    tracker = wp.WindowTracker()
    phase(tracker, "stop_mail", "started", 0)
    assert warnings_of(tracker.check(at(10))) == []  # exactly on budget is no overrun
    first = warnings_of(tracker.check(at(10.5)))
    assert "window phase stop_mail overran its budget: 10.5 of 10 min" in first
    assert not any("overran" in w for w in warnings_of(tracker.check(at(12))))
    finished = phase(tracker, "stop_mail", "finished", 14)
    assert not any("overran" in w for w in warnings_of(finished))
    assert [w for w in tracker.warnings if "overran" in w] == ["window phase stop_mail overran its budget: 10.5 of 10 min"]


def test_overrun_found_at_finish_when_no_event_came_in_between():
    tracker = wp.WindowTracker()
    phase(tracker, "unmount_shares", "started", 0)
    finished = phase(tracker, "unmount_shares", "finished", 9)
    assert "window phase unmount_shares overran its budget: 9 of 5 min" in warnings_of(finished)


def test_budget_override_is_used_for_overrun_and_plan():
    tracker = wp.WindowTracker()
    phase(tracker, "stop_mail", "started", 0, budget_minutes=20)
    assert not any("overran" in w for w in warnings_of(tracker.check(at(15))))
    assert tracker.progress_lines(at(15))[0].startswith("stop_mail: 15 of 20 min (75%)")
    report = tracker.report(at(16))
    assert report["critical_path"]["planned_minutes"] == 130


def test_window_fit_warning_when_the_critical_path_has_no_slack_left():
    tracker = wp.WindowTracker()
    phase(tracker, "stop_mail", "started", 0)
    # minute 9: 9 elapsed + 1 left of stop_mail + 110 of the rest = 120: still fits
    assert tracker.remaining_plan(at(9))[0] == pytest.approx(111)
    assert warnings_of(tracker.check(at(9))) == []
    late = warnings_of(tracker.check(at(11)))
    assert ("window: the remaining plan no longer fits in the window: 11 min elapsed + 110 min planned "
            "(unmount_shares, patch_cpms, upgrade_control_station, upgrade_data_movers, redistribute_shares, "
            "mount_shares, start_mail, test_mail) = 121 > 120 min") in late
    assert not any("contingency" in w for w in late)
    # once only
    assert not any("no longer fits in the window" in w for w in warnings_of(tracker.check(at(20))))
    # the contingency goes at minute 40 + 110 > 150
    assert warnings_of(tracker.check(at(40))) == []
    contingency = warnings_of(tracker.check(at(41)))
    assert any(w.startswith("window: the remaining plan no longer fits in the contingency: 41 min elapsed + "
                            "110 min planned") and w.endswith("= 151 > 150 min") for w in contingency)


def test_parallel_phases_count_once_by_the_longest():
    tracker = wp.WindowTracker()
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


def test_rollback_joins_the_critical_path_once_started():
    tracker = wp.WindowTracker()
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
    notices = phase(tracker, "rollback_control_station", "started", 40)
    # 40 + 30 + 80 = 150: over the window, within the contingency
    assert any("no longer fits in the window: 40 min elapsed + 110 min planned" in w for w in warnings_of(notices))
    assert not any("contingency" in w for w in warnings_of(notices))
    phase(tracker, "rollback_control_station", "finished", 70)
    phase(tracker, "upgrade_control_station", "rolled_back", 70)
    report = tracker.report(at(71))
    states = dict((p["name"], p["state"]) for p in report["phases"])
    assert states["upgrade_control_station"] == "rolled_back"
    assert states["rollback_control_station"] == "finished"
    assert report["critical_path"]["planned_minutes"] == 150
    assert [s["phases"] for s in report["critical_path"]["steps"]][2:4] == [
        ["patch_cpms", "upgrade_control_station"], ["rollback_control_station"]]


def test_closed_phase_state_rules():
    tracker = wp.WindowTracker()
    phase(tracker, "patch_cpms", "started", 0)
    phase(tracker, "patch_cpms", "failed", 5)
    phase(tracker, "patch_cpms", "finished", 6)
    assert tracker.phases["patch_cpms"].state == "failed"  # a finish never hides a failure
    phase(tracker, "patch_cpms", "rolled_back", 7)
    assert tracker.phases["patch_cpms"].state == "rolled_back"
    assert tracker.phases["patch_cpms"].runs == [[at(0), at(5)]]  # the verdicts did not move the end


def test_duplicate_start_from_another_host_is_merged():
    tracker = wp.WindowTracker()
    first = phase(tracker, "stop_mail", "started", 0, host="mta1")
    again = phase(tracker, "stop_mail", "started", 1, host="mta2")
    assert infos_of(first) and infos_of(again) == []
    assert tracker.phases["stop_mail"].runs == [[at(0), None]]
    assert tracker.phases["stop_mail"].hosts == ["mta1", "mta2"]


def test_restarted_phase_adds_up_its_runs():
    tracker = wp.WindowTracker()
    phase(tracker, "mount_shares", "started", 0)
    phase(tracker, "mount_shares", "failed", 2)
    phase(tracker, "mount_shares", "started", 10)
    phase(tracker, "mount_shares", "finished", 13)
    rec = tracker.phases["mount_shares"]
    assert rec.state == "finished" and len(rec.runs) == 2
    assert rec.minutes(at(20), SCALE) == pytest.approx(5)


def test_skipped_without_start_has_no_duration_and_does_not_open_the_window():
    tracker = wp.WindowTracker()
    notices = phase(tracker, "rollback_control_station", "skipped", 3, detail="not needed")
    assert infos_of(notices)[0].startswith("window phase rollback_control_station skipped: 0 of 30 min (0%)")
    assert tracker.window_start is None
    report = tracker.report(at(4))
    rollback = [p for p in report["phases"] if p["name"] == "rollback_control_station"][0]
    assert rollback["state"] == "skipped" and rollback["minutes"] == 0 and rollback["details"] == ["not needed"]
    assert report["critical_path"]["planned_minutes"] == 150  # it ran, as a skip, so it is in the plan
    assert report["window"]["started_at"] is None


def test_unfinished_phase_is_closed_and_warned_at_the_end():
    tracker = wp.WindowTracker()
    phase(tracker, "upgrade_data_movers", "started", 0)
    notices = tracker.finalize(at(20))
    assert warnings_of(notices) == [
        "window phase upgrade_data_movers was still open when the run ended: 20 of 60 min (33%)"]
    assert tracker.open_phases() == []
    assert tracker.report(at(21))["phases"][7]["state"] == "unfinished"


def test_several_time_scales_are_warned():
    tracker = wp.WindowTracker()
    phase(tracker, "stop_mail", "started", 0, scale=0.01)
    phase(tracker, "stop_mail", "finished", 10, scale=1.0)
    assert any("several time scales (0.01, 1)" in w for w in warnings_of(tracker.finalize(at(20))))


def test_plan_on_time_gives_a_clean_report():
    tracker = wp.WindowTracker()
    notices, end_minute = run_plan_on_time(tracker)
    assert end_minute == 120
    assert warnings_of(notices) == []
    objective(tracker, "mail_tested", "met", 120, detail="SMTP, POP3, IMAP and webmail answered")
    objective(tracker, "celerra_5_1", "failed", 100, detail="first try")
    objective(tracker, "celerra_5_1", "met", 101, detail="5.1.23-2",
              backups=[{"host": "celerra-cs", "path": "/nas/backup/cs-4.2.tar", "sha256": "0" * 64}])
    objective(tracker, "cpms_6_7_19_1", "met", 110,
              backups=[{"host": "mta1", "path": "/var/backups/cpms.tgz", "sha256": "1" * 64},
                       {"host": "mta2", "path": "/var/backups/cpms.tgz", "sha256": "2" * 64}])
    objective(tracker, "cpms_6_7_19_1", "met", 111,
              backups=[{"host": "mta1", "path": "/var/backups/cpms.tgz", "sha256": "3" * 64, "version": "6.7.19"}])
    assert warnings_of(tracker.finalize(at(121))) == []
    report = tracker.report(at(121), hosts={"localhost": {"ok": 30, "changed": 0, "failures": 0,
                                                          "unreachable": 0, "skipped": 0, "rescued": 0,
                                                          "ignored": 0}},
                            playbooks=["maintenance.yml"], run_started_at=at(-31))
    json.dumps(report)  # JSON-ready
    assert report["window"]["started_at"] == wp.iso_utc(at(0))
    assert report["window"]["ended_at"] == wp.iso_utc(at(120))
    assert report["window"]["minutes"] == pytest.approx(120)
    assert report["window"]["within_budget"] is True
    assert report["run"]["started_at"] == wp.iso_utc(at(-31))
    assert report["critical_path"]["planned_minutes"] == 150  # the rollback was marked (skipped)
    assert report["critical_path"]["minutes"] == pytest.approx(120)
    assert report["mail_downtime"]["complete"] is True
    assert report["mail_downtime"]["minutes"] == pytest.approx(120)
    assert report["mail_downtime"]["ended_at"] == wp.iso_utc(at(120))
    movers = [p for p in report["phases"] if p["name"] == "upgrade_data_movers"][0]
    assert movers["minutes"] == pytest.approx(60) and movers["real_seconds"] == pytest.approx(36)
    assert movers["overrun"] is False and movers["state"] == "finished"
    assert [o["status"] for o in report["objectives"]] == ["met", "met", "not_done", "met", "not_done"]
    assert report["objectives"][2]["detail"] == "no result was recorded"
    assert report["objectives"][0]["detail"] == "5.1.23-2"
    assert report["backups"] == [
        {"host": "celerra-cs", "path": "/nas/backup/cs-4.2.tar", "sha256": "0" * 64, "version": None,
         "objective": "celerra_5_1"},
        {"host": "mta2", "path": "/var/backups/cpms.tgz", "sha256": "2" * 64, "version": None,
         "objective": "cpms_6_7_19_1"},
        {"host": "mta1", "path": "/var/backups/cpms.tgz", "sha256": "3" * 64, "version": "6.7.19",
         "objective": "cpms_6_7_19_1"},
    ]
    assert report["warnings"] == []


def test_mail_downtime_is_open_when_test_mail_did_not_finish():
    tracker = wp.WindowTracker()
    phase(tracker, "stop_mail", "started", 5)
    phase(tracker, "stop_mail", "finished", 15)
    phase(tracker, "test_mail", "started", 100)
    phase(tracker, "test_mail", "failed", 104)
    report = tracker.report(at(110))
    assert report["mail_downtime"]["complete"] is False
    assert report["mail_downtime"]["ended_at"] is None
    assert report["mail_downtime"]["minutes"] == pytest.approx(105)  # so far, to the end of the run
    assert report["window"]["minutes"] == pytest.approx(99)


def test_failures_are_kept_per_host_and_charged_to_open_phases():
    tracker = wp.WindowTracker()
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


def test_contingency_exceeded_is_shown():
    tracker = wp.WindowTracker(window_budget_minutes=60, contingency_minutes=90)
    phase(tracker, "upgrade_data_movers", "started", 0)
    assert tracker.progress_lines(at(100)) == [
        "upgrade_data_movers: 100 of 60 min (167%), window 100/60 min, contingency exceeded by 10 min"]
