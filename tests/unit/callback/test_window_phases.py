"""Time conversion, formatting, and the window's events (plan, phase, objective) and their validation
against the declared plan."""

from __future__ import annotations

import pytest

from ansible_collections.mailops.window.plugins.plugin_utils import _plan
from ansible_collections.mailops.window.plugins.plugin_utils import _tracker as tr
from window_helpers import SEED_OBJECTIVES, SEED_PHASES, T0, seed_plan, seed_raw_plan, small_plan, small_raw_plan

PLAN = seed_plan()


def test_time_scale_conversion():
    # lab default: one simulated minute lasts 0.6 real seconds
    assert tr.simulated_minutes(0.6, 0.01) == pytest.approx(1.0)
    assert tr.simulated_minutes(36.0, 0.01) == pytest.approx(60.0)
    assert tr.simulated_minutes(120.0, 1.0) == pytest.approx(2.0)
    assert tr.real_seconds_for(60, 0.01) == pytest.approx(36.0)
    with pytest.raises(tr.WindowEventError, match="time_scale must be greater than 0"):
        tr.simulated_minutes(1.0, 0)
    with pytest.raises(tr.WindowEventError, match="time_scale must be greater than 0"):
        tr.real_seconds_for(1.0, -1)


def test_whole_rounds_half_up():
    assert [tr.whole(x) for x in (0.49, 0.5, 1.5, 2.5, 56.67)] == [0, 1, 2, 3, 57]
    assert [tr.fmt_minutes_tenths(x) for x in (10.5, 10.0, 9.04, 121)] == ["10.5", "10", "9", "121"]


def test_iso_and_file_stamps_are_utc():
    assert tr.iso_utc(0) == "1970-01-01T00:00:00.000Z"
    assert tr.file_stamp(86400 + 3723) == "19700102T010203Z"
    assert tr.iso_utc(None) is None


def test_make_plan_event_carries_the_plan_in_its_source_form():
    event = tr.make_plan_event(seed_raw_plan(), T0, time_scale=0.01, host="localhost")
    assert sorted(event) == ["at", "check_mode", "host", "kind", "plan", "schema", "time_scale"]
    assert event["schema"] == "mailops.window/2" and event["kind"] == "plan"
    assert event["at"] == T0 and event["time_scale"] == 0.01
    assert event["host"] == "localhost" and event["check_mode"] is False
    assert event["plan"] == _plan.source_form(PLAN)
    assert _plan.load_plan(event["plan"]) == PLAN
    # a normalized plan gives the same event
    assert tr.make_plan_event(PLAN, T0, time_scale=0.01, host="localhost") == event
    assert tr.make_plan_event(PLAN, T0)["time_scale"] == 1.0
    assert tr.make_plan_event(PLAN, T0, check_mode=True)["check_mode"] is True


@pytest.mark.parametrize("kwargs, message", [
    (dict(time_scale=0), "time_scale must be greater than 0, got 0.0"),
    (dict(time_scale=-1.0), "time_scale must be greater than 0, got -1.0"),
    (dict(time_scale="fast"), "time_scale must be a number, got 'fast'"),
    (dict(time_scale=float("inf")), "time_scale must be a finite number"),
    (dict(at="now"), "at must be a number, got 'now'"),
    (dict(raw=small_raw_plan(window_minutes=-5)), "window_plan.window_minutes must not be negative, got -5"),
])
def test_make_plan_event_rejects_bad_input(kwargs, message):
    raw = kwargs.pop("raw", None) or small_raw_plan()
    kwargs.setdefault("at", T0)
    with pytest.raises(tr.WindowEventError) as info:
        tr.make_plan_event(raw, **kwargs)
    assert message in str(info.value)


def test_make_phase_event_defaults():
    event = tr.make_phase_event(PLAN, "upgrade_data_movers", "started", T0, host="cs")
    assert event == {
        "schema": "mailops.window/2", "kind": "phase", "phase": "upgrade_data_movers", "state": "started",
        "at": T0, "detail": "", "host": "cs", "check_mode": False,
    }
    other = tr.make_phase_event(PLAN, "rollback_control_station", "skipped", T0 + 1, detail="not needed",
                                check_mode=True)
    assert other["detail"] == "not needed" and other["host"] is None and other["check_mode"] is True
    assert tr.make_phase_event(PLAN, "stop_mail", "finished", T0, detail=None)["detail"] == ""


@pytest.mark.parametrize("kwargs, message", [
    (dict(phase="upgrade_everything", state="started"),
     "unknown phase 'upgrade_everything': the plan celerra_cpms has " + ", ".join(SEED_PHASES)),
    (dict(phase="stop_mail", state="done"),
     "unknown state 'done' for phase stop_mail; the states are: started, finished, failed, skipped, rolled_back"),
    (dict(phase="stop_mail", state="started", detail=5), "detail must be a string, got int"),
    (dict(phase="stop_mail", state="started", at="yesterday"), "at must be a number, got 'yesterday'"),
    (dict(phase="stop_mail", state="started", at=float("nan")), "at must be a finite number"),
    (dict(phase="stop_mail", state="started", host=7), "host must be a string"),
])
def test_make_phase_event_rejects_bad_input(kwargs, message):
    kwargs.setdefault("at", T0)
    with pytest.raises(tr.WindowEventError) as info:
        tr.make_phase_event(PLAN, **kwargs)
    assert message in str(info.value)


def test_phases_and_objectives_are_those_of_the_plan():
    small = small_plan()
    assert tr.make_phase_event(small, "tidy", "started", T0)["phase"] == "tidy"
    with pytest.raises(tr.WindowEventError, match="unknown phase 'stop_mail': the plan small has prepare, stop, "
                                                  "upgrade, restore, tidy, start, check"):
        tr.make_phase_event(small, "stop_mail", "started", T0)
    with pytest.raises(tr.WindowEventError, match="unknown objective 'mail_tested': the plan small has "
                                                  "db_upgraded, app_checked"):
        tr.make_objective_event(small, "mail_tested", "met", T0)
    no_objectives = small_plan(objectives=[])
    with pytest.raises(tr.WindowEventError, match="unknown objective 'db_upgraded': the plan small has none"):
        tr.make_objective_event(no_objectives, "db_upgraded", "met", T0)


def test_make_objective_event_and_backups():
    sha = "AB" * 32
    event = tr.make_objective_event(PLAN, "celerra_upgraded", "rolled_back", T0, detail="CS back on 4.2.16-5",
                                    backups=[{"host": "celerra-cs", "path": "/nas/backup/cs.tar", "sha256": sha}])
    assert event["backups"] == [{"host": "celerra-cs", "path": "/nas/backup/cs.tar", "sha256": sha.lower(),
                                 "version": None}]
    with_version = tr.make_objective_event(PLAN, "cpms_patched", "met", T0, backups=[
        {"host": "mta1", "path": "/var/backups/cpms-6.7.19.tar.gz", "sha256": "0" * 64, "version": "6.7.19"}])
    assert with_version["backups"][0]["version"] == "6.7.19"
    assert event["kind"] == "objective" and event["status"] == "rolled_back"
    assert event["schema"] == "mailops.window/2" and event["detail"] == "CS back on 4.2.16-5"


@pytest.mark.parametrize("kwargs, message", [
    (dict(objective="celerra_6", status="met"),
     "unknown objective 'celerra_6': the plan celerra_cpms has " + ", ".join(SEED_OBJECTIVES)),
    (dict(objective="mail_tested", status="ok"), "unknown status 'ok'"),
    (dict(objective="mail_tested", status="met", backups=["/tmp/x"]), "backups[0] must be a dict"),
    (dict(objective="mail_tested", status="met", backups=[{"host": "a", "path": "/b"}]), "backups[0] is missing: sha256"),
    (dict(objective="mail_tested", status="met", backups=[{"host": "a", "path": "b", "sha256": "0" * 64}]),
     "backups[0].path must be an absolute path"),
    (dict(objective="mail_tested", status="met", backups=[{"host": "a", "path": "/b", "sha256": "xyz"}]),
     "backups[0].sha256 must be 64 hexadecimal digits"),
    (dict(objective="mail_tested", status="met", backups=[{"host": "a", "path": "/b", "sha256": "0" * 64, "pw": 1}]),
     "unknown keys: pw"),
])
def test_make_objective_event_rejects_bad_input(kwargs, message):
    with pytest.raises(tr.WindowEventError) as info:
        tr.make_objective_event(PLAN, at=T0, **kwargs)
    assert message in str(info.value)


def test_validate_event_round_trip_and_rejects_foreign_dicts():
    phase = tr.make_phase_event(PLAN, "patch_cpms", "failed", T0, detail="x")
    assert tr.validate_event(phase, PLAN) == phase
    objective = tr.make_objective_event(PLAN, "mail_tested", "met", T0)
    assert tr.validate_event(objective, PLAN) == objective
    declared = tr.make_plan_event(PLAN, T0, time_scale=0.01)
    assert tr.validate_event(declared) == declared
    assert tr.validate_event(declared, small_plan()) == declared  # a plan event needs no plan before it
    for bad, message in (
        ("text", "not a dict"),
        ({"kind": "phase"}, "schema"),
        (dict(phase, schema="mailops.window/1"), "schema 'mailops.window/1', expected 'mailops.window/2'"),
        (dict(phase, kind="task"), "unknown kind 'task'"),
        (dict(phase, phase="nope"), "unknown phase 'nope'"),
        (dict(phase, at="yesterday"), "at must be a number"),
        (dict(declared, plan="celerra_cpms"), "a plan event carries no plan"),
        (dict(declared, time_scale=0), "time_scale must be greater than 0"),
    ):
        with pytest.raises(tr.WindowEventError, match=message):
            tr.validate_event(bad, PLAN)
    # a phase of another plan
    with pytest.raises(tr.WindowEventError, match="unknown phase 'patch_cpms': the plan small has"):
        tr.validate_event(phase, small_plan())


@pytest.mark.parametrize("kind", ["phase", "objective"])
def test_events_before_a_plan_are_refused(kind):
    event = (tr.make_phase_event(PLAN, "stop_mail", "started", T0) if kind == "phase"
             else tr.make_objective_event(PLAN, "mail_tested", "met", T0))
    with pytest.raises(tr.WindowEventError) as info:
        tr.validate_event(event, None)
    assert str(info.value) == ("a %s event came before the window's plan was declared "
                               "(mailops.window.window_plan)" % kind)
