"""The phase table, time conversion and event validation."""

from __future__ import annotations

import pytest

from ansible_collections.mailops.window.plugins.module_utils import _window_phases as wp

T0 = 1_700_000_000.0


def test_phase_table_matches_the_plan():
    assert wp.PHASE_NAMES == (
        "preflight", "backup", "stop_mail", "unmount_shares", "patch_cpms", "upgrade_control_station",
        "rollback_control_station", "upgrade_data_movers", "redistribute_shares", "mount_shares",
        "start_mail", "test_mail",
    )
    budgets = dict((p.name, p.budget_minutes) for p in wp.PHASES)
    assert budgets == {
        "preflight": 0, "backup": 0, "stop_mail": 10, "unmount_shares": 5, "patch_cpms": 25,
        "upgrade_control_station": 25, "rollback_control_station": 30, "upgrade_data_movers": 60,
        "redistribute_shares": 5, "mount_shares": 5, "start_mail": 5, "test_mail": 5,
    }
    lanes = dict((p.name, p.lane) for p in wp.PHASES)
    assert lanes["patch_cpms"] == "mail" and lanes["upgrade_control_station"] == "storage"
    assert lanes["preflight"] == "all" and lanes["test_mail"] == "all"
    assert [p.name for p in wp.PHASES if p.kind == "before_downtime"] == ["preflight", "backup"]
    assert [p.name for p in wp.PHASES if p.kind == "contingency"] == ["rollback_control_station"]


def test_every_budgeted_phase_is_on_the_critical_path_or_the_contingency():
    on_path = set(name for step in wp.CRITICAL_PATH for name in step) | set(wp.CONTINGENCY_STEP)
    assert on_path == set(p.name for p in wp.PHASES if p.budget_minutes > 0)


def test_critical_path_is_120_minutes_and_150_with_the_rollback():
    assert wp.planned_critical_path_minutes() == 120
    assert wp.planned_critical_path_minutes(with_contingency=True) == 150
    assert wp.WINDOW_BUDGET_MINUTES == 120 and wp.CONTINGENCY_MINUTES == 150
    # parallel phases count by the longer one
    assert wp.planned_critical_path_minutes({"patch_cpms": 40}) == 135
    assert wp.planned_critical_path_minutes({"upgrade_control_station": 10}) == 120


def test_time_scale_conversion():
    # lab default: one simulated minute lasts 0.6 real seconds
    assert wp.simulated_minutes(0.6, 0.01) == pytest.approx(1.0)
    assert wp.simulated_minutes(36.0, 0.01) == pytest.approx(60.0)
    assert wp.simulated_minutes(120.0, 1.0) == pytest.approx(2.0)
    assert wp.real_seconds_for(60, 0.01) == pytest.approx(36.0)
    with pytest.raises(wp.WindowEventError, match="time_scale must be greater than 0"):
        wp.simulated_minutes(1.0, 0)


def test_whole_rounds_half_up():
    assert [wp.whole(x) for x in (0.49, 0.5, 1.5, 2.5, 56.67)] == [0, 1, 2, 3, 57]


def test_iso_and_file_stamps_are_utc():
    assert wp.iso_utc(0) == "1970-01-01T00:00:00.000Z"
    assert wp.file_stamp(86400 + 3723) == "19700102T010203Z"
    assert wp.iso_utc(None) is None


def test_make_phase_event_defaults_and_override():
    event = wp.make_phase_event("upgrade_data_movers", "started", T0, time_scale=0.01, host="cs")
    assert event == {
        "schema": "mailops.window/1", "kind": "phase", "phase": "upgrade_data_movers", "state": "started",
        "at": T0, "time_scale": 0.01, "budget_minutes": 60.0, "budget_overridden": False, "detail": "",
        "host": "cs", "check_mode": False,
    }
    override = wp.make_phase_event("stop_mail", "started", T0, budget_minutes=12)
    assert override["budget_minutes"] == 12.0 and override["budget_overridden"] is True


@pytest.mark.parametrize("kwargs, message", [
    (dict(phase="upgrade_everything", state="started"), "unknown phase 'upgrade_everything'"),
    (dict(phase="stop_mail", state="done"), "unknown state 'done'"),
    (dict(phase="stop_mail", state="started", time_scale=0), "time_scale must be greater than 0"),
    (dict(phase="stop_mail", state="started", time_scale=-1.0), "time_scale must be greater than 0"),
    (dict(phase="stop_mail", state="started", time_scale="fast"), "time_scale must be a number"),
    (dict(phase="stop_mail", state="started", budget_minutes=-5), "budget_minutes must not be negative"),
    (dict(phase="stop_mail", state="started", budget_minutes=float("nan")), "finite"),
    (dict(phase="stop_mail", state="started", detail=5), "detail must be a string"),
])
def test_make_phase_event_rejects_bad_input(kwargs, message):
    with pytest.raises(wp.WindowEventError, match=message.replace("(", r"\(")):
        wp.make_phase_event(at=T0, **kwargs)


def test_make_objective_event_and_backups():
    sha = "AB" * 32
    event = wp.make_objective_event("celerra_5_1", "rolled_back", T0, detail="CS back on 4.2.16-5",
                                    backups=[{"host": "celerra-cs", "path": "/nas/backup/cs.tar", "sha256": sha}])
    assert event["backups"] == [{"host": "celerra-cs", "path": "/nas/backup/cs.tar", "sha256": sha.lower(),
                                 "version": None}]
    with_version = wp.make_objective_event("cpms_6_7_19_1", "met", T0, backups=[
        {"host": "mta1", "path": "/var/backups/cpms-6.7.19.tar.gz", "sha256": "0" * 64, "version": "6.7.19"}])
    assert with_version["backups"][0]["version"] == "6.7.19"
    assert event["kind"] == "objective" and event["status"] == "rolled_back"


@pytest.mark.parametrize("kwargs, message", [
    (dict(objective="celerra_6", status="met"), "unknown objective 'celerra_6'"),
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
    with pytest.raises(wp.WindowEventError) as info:
        wp.make_objective_event(at=T0, **kwargs)
    assert message in str(info.value)


def test_validate_event_round_trip_and_rejects_foreign_dicts():
    phase = wp.make_phase_event("patch_cpms", "failed", T0, time_scale=0.01, budget_minutes=30, detail="x")
    assert wp.validate_event(phase) == phase
    objective = wp.make_objective_event("mail_tested", "met", T0)
    assert wp.validate_event(objective) == objective
    for bad, message in (
        ("text", "not a dict"),
        ({"kind": "phase"}, "schema"),
        (dict(phase, schema="other/9"), "schema"),
        (dict(phase, kind="task"), "unknown kind"),
        (dict(phase, phase="nope"), "unknown phase"),
        (dict(phase, at="yesterday"), "at must be a number"),
    ):
        with pytest.raises(wp.WindowEventError, match=message):
            wp.validate_event(bad)
