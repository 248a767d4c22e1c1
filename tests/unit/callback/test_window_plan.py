"""The window's plan as data (plugin_utils._plan): the seed plan, what follows from its dependencies,
and validation errors that name the field at fault."""

from __future__ import annotations

import pytest

from ansible_collections.mailops.window.plugins.plugin_utils import _plan
from window_helpers import SEED_CRITICAL_PATH, SEED_OBJECTIVES, SEED_PHASES, seed_plan, small_plan, small_raw_plan


def test_seed_plan_phases_budgets_lanes_and_kinds():
    plan = seed_plan()
    assert plan["schema"] == "mailops.window.plan/1"
    assert plan["id"] == "celerra_cpms" and plan["language"] == "en"
    assert plan["window_minutes"] == 120 and plan["contingency_minutes"] == 150
    assert tuple(p["id"] for p in plan["phases"]) == SEED_PHASES
    budgets = dict((p["id"], p["budget_minutes"]) for p in plan["phases"])
    assert budgets == {
        "preflight": 0, "backup": 0, "stop_mail": 10, "unmount_shares": 5, "patch_cpms": 25,
        "upgrade_control_station": 25, "rollback_control_station": 30, "upgrade_data_movers": 60,
        "redistribute_shares": 5, "mount_shares": 5, "start_mail": 5, "test_mail": 5,
    }
    lanes = dict((p["id"], p["lane"]) for p in plan["phases"])
    assert lanes["patch_cpms"] == "mail" and lanes["upgrade_control_station"] == "storage"
    assert lanes["preflight"] == "all" and lanes["test_mail"] == "mail"
    assert [lane["id"] for lane in plan["lanes"]] == ["mail", "storage"]
    assert [p["id"] for p in plan["phases"] if p["before_downtime"]] == ["preflight", "backup"]
    assert [p["id"] for p in plan["phases"] if p["rollback_of"]] == ["rollback_control_station"]
    assert _plan.rollbacks_of(plan) == {"upgrade_control_station": ["rollback_control_station"]}
    assert tuple(o["id"] for o in plan["objectives"]) == SEED_OBJECTIVES
    assert plan["downtime"] == {"from": "stop_mail", "to": "test_mail"}
    assert plan["warnings"] == []


def test_seed_critical_path_is_the_longest_path_120_minutes_and_150_with_the_rollback():
    plan = seed_plan()
    assert plan["critical_path"] == SEED_CRITICAL_PATH
    assert plan["planned_minutes"] == 120
    assert plan["planned_minutes_with_contingency"] == 150


def test_seed_rows_are_the_phases_at_the_same_depth():
    rows = seed_plan()["rows"]
    assert len(rows) == 8
    assert [row["minutes"] for row in rows] == [10, 5, 25, 60, 5, 5, 5, 5]
    assert rows[2]["phases"] == ["patch_cpms", "upgrade_control_station"]
    assert [row["phases"] for row in rows] == [
        ["stop_mail"], ["unmount_shares"], ["patch_cpms", "upgrade_control_station"], ["upgrade_data_movers"],
        ["redistribute_shares"], ["mount_shares"], ["start_mail"], ["test_mail"]]


def test_every_budgeted_phase_is_in_a_row_or_a_rollback():
    plan = seed_plan()
    in_rows = set(name for row in plan["rows"] for name in row["phases"])
    assert in_rows | set(_plan.rollbacks_of(plan)["upgrade_control_station"]) == set(
        p["id"] for p in plan["phases"] if p["budget_minutes"] > 0)


def test_longest_path_follows_the_dependencies_not_the_rows():
    plan = seed_plan()
    budgets = dict((p["id"], p["budget_minutes"]) for p in plan["phases"])
    # patch_cpms has slack (the data movers take longer): 40 minutes change nothing ...
    assert _plan.longest_path(plan, dict(budgets, patch_cpms=40)) == (SEED_CRITICAL_PATH, 120)
    # ... 100 minutes put it on the critical path
    assert _plan.longest_path(plan, dict(budgets, patch_cpms=100)) == (
        ["stop_mail", "unmount_shares", "patch_cpms", "mount_shares", "start_mail", "test_mail"], 130)
    # a shorter Control Station shortens the window: nothing else is as long
    assert _plan.longest_path(plan, dict(budgets, upgrade_control_station=10))[1] == 105
    # a rollback is not a node of the graph: its minutes count only through the phase it rolls back
    assert _plan.longest_path(plan, dict(budgets, rollback_control_station=500))[1] == 120
    assert _plan.longest_path(plan, dict(budgets, upgrade_control_station=55))[1] == 150


def test_small_plan_with_parallel_lanes():
    plan = small_plan()
    assert plan["critical_path"] == ["stop", "upgrade", "start", "check"]
    assert plan["planned_minutes"] == 35 and plan["planned_minutes_with_contingency"] == 50
    assert plan["rows"] == [{"phases": ["stop"], "minutes": 5}, {"phases": ["upgrade", "tidy"], "minutes": 20},
                            {"phases": ["start"], "minutes": 5}, {"phases": ["check"], "minutes": 5}]
    restore = _plan.phase_by_id(plan)["restore"]
    assert restore["after"] == ["upgrade"]  # a rollback waits for what it rolls back
    assert plan["order"].index("restore") > plan["order"].index("upgrade")
    assert plan["warnings"] == []


def test_texts_in_one_language():
    plan = small_plan()
    assert _plan.text(plan["title"]) == "A small window"
    assert _plan.text(plan["title"], "es") == "Una ventana chica"
    assert _plan.text(plan["title"], "fr") == "A small window"  # the first given
    assert _plan.text(_plan.phase_by_id(plan)["stop"]["title"], "es") == "Stop the application"
    assert _plan.text(None) == ""


def test_source_form_loads_back_to_the_same_plan():
    for plan in (seed_plan(), small_plan()):
        source = _plan.source_form(plan)
        assert "critical_path" not in source and "rows" not in source and "schema" not in source
        assert _plan.load_plan(source) == plan
    assert _plan.source_form(small_plan())["phases"][3]["after"] == []  # the rollback's own after: stays implicit


def test_a_plan_longer_than_its_window_loads_with_warnings():
    plan = small_plan(window_minutes=30, contingency_minutes=40)
    assert plan["warnings"] == [
        "the critical path (stop -> upgrade -> start -> check) takes 35 min, more than the window's 30",
        "with its rollbacks the plan takes 50 min, more than the contingency's 40",
    ]


def phases_with(index, **changes):
    raw = small_raw_plan()
    raw["phases"][index].update(changes)
    return raw


def without(key, **changes):
    raw = small_raw_plan(**changes)
    del raw[key]
    return raw


BAD_PLANS = [
    ("unknown_after", phases_with(5, after=["upgrade", "tidy_up"]),
     "window_plan.phases[5] (start).after: unknown phase 'tidy_up'; the phases are: prepare, stop, upgrade, "
     "restore, tidy, start, check"),
    ("negative_budget", phases_with(2, budget_minutes=-20),
     "window_plan.phases[2] (upgrade).budget_minutes must not be negative, got -20"),
    ("text_budget", phases_with(2, budget_minutes="twenty"),
     "window_plan.phases[2] (upgrade).budget_minutes must be a number of minutes, got 'twenty'"),
    ("nan_budget", phases_with(2, budget_minutes=float("nan")),
     "window_plan.phases[2] (upgrade).budget_minutes must be a finite number"),
    ("duplicate_phase", phases_with(4, id="upgrade"), "window_plan.phases[4].id: duplicate id 'upgrade'"),
    ("duplicate_lane", small_raw_plan(lanes=[{"id": "app", "team": "A"}, {"id": "app", "team": "B"}]),
     "window_plan.lanes[1].id: duplicate id 'app'"),
    ("duplicate_objective", small_raw_plan(objectives=[{"id": "x", "title": "X"}, {"id": "x", "title": "Y"}]),
     "window_plan.objectives[1].id: duplicate id 'x'"),
    ("unknown_lane", phases_with(4, lane="network"),
     "window_plan.phases[4] (tidy).lane: unknown lane 'network'; the lanes are: app, db, all"),
    ("rollback_of_unknown", phases_with(3, rollback_of="upgrade_db"),
     "window_plan.phases[3] (restore).rollback_of: unknown phase 'upgrade_db'"),
    ("rollback_of_rollback", small_raw_plan(phases=small_raw_plan()["phases"] + [
        {"id": "again", "lane": "db", "title": "Again", "rollback_of": "restore"}]),
     "window_plan.phases[7] (again).rollback_of: 'restore' is itself a rollback"),
    ("waits_for_a_rollback", phases_with(6, after=["start", "restore"]),
     "window_plan.phases (check).after: 'restore' is a rollback; only the phase it rolls back can be waited for"),
    ("waits_for_itself", phases_with(6, after=["check"]),
     "window_plan.phases[6] (check).after: a phase cannot wait for itself"),
    ("unknown_phase_key", phases_with(2, budget=20),
     "window_plan.phases[2] has unknown keys: budget (allowed: id, title, lane, budget_minutes, after, "
     "rollback_of, before_downtime, note)"),
    ("unknown_top_key", small_raw_plan(budget_minutes=120), "window_plan has unknown keys: budget_minutes"),
    ("unknown_lane_key", small_raw_plan(lanes=[{"id": "app", "team": "A", "colour": "red"}]),
     "window_plan.lanes[0] has unknown keys: colour (allowed: id, team, title)"),
    ("contingency_shorter", small_raw_plan(window_minutes=120, contingency_minutes=90),
     "window_plan.contingency_minutes (90) must not be shorter than window_minutes (120)"),
    ("zero_window", small_raw_plan(window_minutes=0, contingency_minutes=10),
     "window_plan.window_minutes must be greater than 0"),
    ("missing_phases", without("phases"), "window_plan.phases is required"),
    ("empty_phases", small_raw_plan(phases=[]), "window_plan.phases must not be empty"),
    ("missing_title", without("title"), "window_plan.title is required"),
    ("missing_phase_title", phases_with(1, title=""), "window_plan.phases[1] (stop).title is required"),
    ("bad_id", small_raw_plan(id="Small Window"),
     "window_plan.id must be an identifier (lower case, digits, '_'), got 'Small Window'"),
    ("lane_all_reserved", small_raw_plan(lanes=[{"id": "all", "team": "Everyone"}]),
     "window_plan.lanes[0].id: 'all' is reserved"),
    ("lane_without_team", small_raw_plan(lanes=[{"id": "app"}, {"id": "db", "team": "D"}]),
     "window_plan.lanes[0].team is required"),
    ("rollback_before_downtime", phases_with(3, before_downtime=True),
     "window_plan.phases[3] (restore): a rollback cannot be before the downtime"),
    ("downtime_unknown", small_raw_plan(downtime={"from": "stop", "to": "verify"}),
     "window_plan.downtime.to: unknown phase 'verify'"),
    ("downtime_shape", small_raw_plan(downtime={"from": "stop"}),
     "window_plan.downtime must be a mapping with from and to (phase ids)"),
    ("after_not_a_list", phases_with(5, after={"upgrade": True}),
     "window_plan.phases[5] (start).after must be a list of phase ids"),
    ("title_not_text", phases_with(1, title=["Stop"]),
     "window_plan.phases[1] (stop).title must be a string or a mapping of language to string, got list"),
    ("not_a_mapping", ["stop", "start"], "window_plan must be a mapping, got list"),
]


@pytest.mark.parametrize("raw, message", [case[1:] for case in BAD_PLANS], ids=[case[0] for case in BAD_PLANS])
def test_a_bad_plan_is_refused_naming_the_field(raw, message):
    with pytest.raises(_plan.PlanError) as info:
        _plan.load_plan(raw)
    assert message in str(info.value)


def test_a_cycle_is_refused_listing_it():
    raw = small_raw_plan()
    phases = dict((p["id"], p) for p in raw["phases"])
    phases["stop"]["after"] = ["prepare", "check"]  # stop -> upgrade -> start -> check -> stop
    with pytest.raises(_plan.PlanError) as info:
        _plan.load_plan(raw)
    message = str(info.value)
    assert message == "window_plan.phases: the after: dependencies form a cycle: stop -> check -> start -> upgrade -> stop"
    # each phase of the cycle waits for the one after it
    cycle = message.rsplit(": ", 1)[1].split(" -> ")
    for later, earlier in zip(cycle, cycle[1:]):
        assert earlier in phases[later]["after"], (later, earlier)


def test_a_cycle_of_three_is_named_in_order():
    raw = small_raw_plan(phases=[
        {"id": "a", "lane": "app", "budget_minutes": 1, "after": ["c"], "title": "A"},
        {"id": "b", "lane": "app", "budget_minutes": 1, "after": ["a"], "title": "B"},
        {"id": "c", "lane": "app", "budget_minutes": 1, "after": ["b"], "title": "C"},
    ], downtime=None)
    with pytest.raises(_plan.PlanError, match=r"^window_plan\.phases: the after: dependencies form a cycle: "
                                              r"a -> c -> b -> a$"):
        _plan.load_plan(raw)


def test_numbers_given_as_text_and_after_as_one_id_are_accepted():
    raw = phases_with(2, budget_minutes="20", after="stop")
    plan = _plan.load_plan(raw)
    upgrade = _plan.phase_by_id(plan)["upgrade"]
    assert upgrade["budget_minutes"] == 20.0 and upgrade["after"] == ["stop"]
