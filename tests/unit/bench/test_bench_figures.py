"""bench/run.py's figures() on a hand-made report with known numbers, and on a stored report when there is one."""

import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SPEC = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)

# The seed's shape: patch_cpms beside upgrade_control_station, a rollback of the latter.
PLAN = {
    "id": "celerra_cpms",
    "downtime": {"from": "stop_mail", "to": "test_mail"},
    "phases": [
        {"id": "preflight", "before_downtime": True},
        {"id": "stop_mail", "budget_minutes": 10, "after": ["preflight"]},
        {"id": "patch_cpms", "budget_minutes": 25, "after": ["stop_mail"]},
        {"id": "upgrade_control_station", "budget_minutes": 25, "after": ["stop_mail"]},
        {"id": "rollback_control_station", "budget_minutes": 30, "rollback_of": "upgrade_control_station"},
        {"id": "upgrade_data_movers", "budget_minutes": 60, "after": ["upgrade_control_station"]},
        {"id": "test_mail", "budget_minutes": 5, "after": ["upgrade_data_movers", "patch_cpms"]},
    ],
}


def phase(name, real, state="finished", kind="window"):
    return {"name": name, "state": state, "kind": kind, "lane": "mail", "runs": 0 if real is None else 1,
            "real_seconds": real, "minutes": None if real is None else real / 0.6, "budget_minutes": 0}


def report(critical=True, rollback=None):
    """At time scale 0.01 a plan minute is 0.6 s: CS 25 min = 15 s, rollback 30 = 18 s, movers 60 = 36 s."""
    path = ["stop_mail", "upgrade_control_station", "upgrade_data_movers", "test_mail"]
    if rollback is not None:
        path.insert(2, "rollback_control_station")
    return {
        "plan": {"id": "celerra_cpms", "source": PLAN},
        "time_scale": 0.01,
        "window": {"real_seconds": 100.0},
        "critical_path": {"phases": path, "planned_minutes": 100.0} if critical else None,
        "mail_downtime": {"from": "stop_mail", "to": "test_mail", "real_seconds": 100.0, "complete": True,
                          "carried_from": None},
        "phases": [
            phase("preflight", 7.0, kind="before_downtime"),
            phase("stop_mail", 5.0),
            phase("patch_cpms", 12.0),
            phase("upgrade_control_station", 20.0),
            phase("rollback_control_station", rollback, state="not_run" if rollback is None else "finished",
                  kind="contingency"),
            phase("upgrade_data_movers", 50.0),
            phase("test_mail", 4.0),
        ],
    }


def by_id(fig):
    return {p["id"]: p for p in fig["phases"]}


@pytest.mark.parametrize("critical", [True, False], ids=["report_critical_path", "plan_critical_path"])
def test_figures_of_a_hand_made_report(critical):
    fig = bench.figures(report(critical=critical), PLAN)
    assert fig["critical_path_source"] == ("report" if critical else "plan")
    assert fig["critical_path"] == ["stop_mail", "upgrade_control_station", "upgrade_data_movers", "test_mail"]
    assert fig["window_real_seconds"] == 100.0
    assert fig["simulated_plan_minutes"] == 85.0
    assert fig["simulated_seconds"] == pytest.approx(51.0)
    assert fig["overhead_seconds"] == pytest.approx(49.0)
    assert fig["ratio"] == pytest.approx(100.0 / 51.0)
    assert fig["critical_path_phases_real_seconds"] == pytest.approx(79.0)
    assert fig["between_critical_phases_seconds"] == pytest.approx(21.0)
    phases = by_id(fig)
    assert "rollback_control_station" not in phases
    assert phases["preflight"]["role"] == "before_window"
    assert phases["patch_cpms"]["role"] == "parallel"
    assert phases["patch_cpms"]["overhead_seconds"] == 12.0
    assert phases["upgrade_control_station"]["role"] == "critical"
    assert phases["upgrade_control_station"]["simulated_seconds"] == pytest.approx(15.0)
    assert phases["upgrade_control_station"]["overhead_seconds"] == pytest.approx(5.0)
    assert phases["upgrade_data_movers"]["overhead_seconds"] == pytest.approx(14.0)
    assert phases["stop_mail"]["simulated_seconds"] == 0.0
    downtime = fig["mail_downtime"]
    assert downtime["phases"] == ["stop_mail", "patch_cpms", "upgrade_control_station", "upgrade_data_movers",
                                  "test_mail"]
    assert downtime["simulated_plan_minutes"] == 85.0
    assert downtime["overhead_seconds"] == pytest.approx(49.0)
    assert downtime["projected_minutes"] == pytest.approx(85.0 + 49.0 / 60)
    assert downtime["planned_minutes"] == 100.0


@pytest.mark.parametrize("critical", [True, False], ids=["report_critical_path", "plan_critical_path"])
def test_a_rollback_that_ran_counts_on_the_critical_path_and_in_the_downtime(critical):
    fig = bench.figures(report(critical=critical, rollback=25.0), PLAN)
    assert fig["critical_path"] == ["stop_mail", "upgrade_control_station", "rollback_control_station",
                                    "upgrade_data_movers", "test_mail"]
    assert fig["simulated_plan_minutes"] == 115.0
    assert fig["simulated_seconds"] == pytest.approx(69.0)
    assert fig["overhead_seconds"] == pytest.approx(31.0)
    assert by_id(fig)["rollback_control_station"]["overhead_seconds"] == pytest.approx(7.0)
    assert fig["mail_downtime"]["simulated_plan_minutes"] == 115.0
    assert fig["mail_downtime"]["planned_minutes"] == 130.0
    assert fig["mail_downtime"]["projected_minutes"] == pytest.approx(115.0 + 31.0 / 60)


def test_without_a_plan_the_reports_declared_plan_is_used():
    assert bench.figures(report(), None) == bench.figures(report(), PLAN)


def test_an_unknown_plan_simulates_nothing(capsys):
    unknown = report()
    unknown["plan"]["id"] = "no_such_plan"
    fig = bench.figures(unknown, PLAN)
    assert not fig["simulated_table_known"]
    assert fig["simulated_seconds"] == 0.0
    assert fig["ratio"] is None
    assert fig["overhead_seconds"] == 100.0
    bench.print_figures(fig)
    assert "n/a (nothing simulated)" in capsys.readouterr().out


def test_print_figures_marks_the_parallel_phase(capsys):
    bench.print_figures(bench.figures(report(), PLAN))
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.strip().startswith("patch_cpms"))
    assert line.endswith("(parallel, off the critical path)")
    assert "ratio real / simulated: 1.96" in out


def test_budget_warnings_are_found_across_wrapped_lines():
    assert bench.budget_warned("[WARNING]: window phase stop_mail overran its\nbudget: 10.6 of 10 min")
    assert bench.budget_warned("[WARNING]: window: the remaining plan no longer fits in the\ncontingency: ...")
    assert not bench.budget_warned("window phase stop_mail finished: 9 of 10 min")


def test_every_simulated_phase_is_a_phase_of_its_plan():
    for plan_id, table in bench.SIMULATED_PLAN_MINUTES.items():
        plan = bench.load_plan(plan_id)
        if plan is None:
            continue
        assert set(table) <= {p["id"] for p in plan["phases"]}, plan_id


STORED = sorted((ROOT / "reports").glob("window-*.json"))


@pytest.mark.skipif(not STORED, reason="no stored report in reports/")
def test_figures_of_the_newest_stored_report():
    stored = json.loads(STORED[-1].read_text(encoding="utf-8"))
    fig = bench.figures(stored, bench.load_plan(stored["plan"]["id"]))
    assert fig["window_real_seconds"] == pytest.approx(fig["simulated_seconds"] + fig["overhead_seconds"])
    for entry in fig["phases"]:
        assert entry["real_seconds"] == pytest.approx(entry["simulated_seconds"] + entry["overhead_seconds"])
    if fig["mail_downtime"] is not None:
        downtime = fig["mail_downtime"]
        assert downtime["real_seconds"] == pytest.approx(downtime["simulated_seconds"] + downtime["overhead_seconds"])
