"""The window_plan, window_phase and window_objective actions through ansible-playbook: clear failures on
bad input (checked against the plan the playbook loads), the event on good input, check mode, and no
change reported."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from window_helpers import COLLECTIONS_DIR, ansible_bin, clean_env, plan_file_text, small_raw_plan

SHA = "ab" * 32
PHASES = "prepare, stop, upgrade, restore, tidy, start, check"
NO_PLAN = ("no window plan is declared: load the window's plan file (vars_files, defining window_plan) and mark "
           "it with mailops.window.window_plan at the start of the run")


def e2e_plan():
    raw = small_raw_plan(id="e2e")
    raw["title"] = {"en": "E2E window on {{ inventory_hostname }}", "es": "Ventana E2E"}
    return raw


BROKEN_PLAN = dict(small_raw_plan(), phases=[
    {"id": "a", "lane": "app", "budget_minutes": 5, "title": "A"},
    {"id": "b", "lane": "app", "budget_minutes": 5, "after": ["z"], "title": "B"},
], downtime=None)

CASES = {
    # name: (module, args, expected failure message or None)
    "bad_phase": ("window_phase", {"phase": "upgrade_everything", "state": "started"},
                  "window_phase: unknown phase 'upgrade_everything': the plan e2e has " + PHASES),
    "bad_state": ("window_phase", {"phase": "stop", "state": "done"},
                  "value of state must be one of: started, finished, failed, skipped, rolled_back, got: done"),
    "missing_state": ("window_phase", {"phase": "stop"}, "missing required arguments: state"),
    "removed_time_scale": ("window_phase", {"phase": "stop", "state": "started", "time_scale": 0.01},
                           "module: time_scale. Supported parameters include: detail, phase, state"),
    "removed_budget": ("window_phase", {"phase": "stop", "state": "started", "budget_minutes": 12},
                       "module: budget_minutes. Supported parameters include: detail, phase, state"),
    "no_phase": ("window_phase", {"state": "started"},
                 "window_phase: no phase given and the task is in no phase block (window_phase)"),
    "bad_objective": ("window_objective", {"objective": "celerra_6", "status": "met"},
                      "window_objective: unknown objective 'celerra_6': the plan e2e has db_upgraded, app_checked"),
    "bad_status": ("window_objective", {"objective": "db_upgraded", "status": "ok"},
                   "value of status must be one of: met, rolled_back, not_done, failed, got: ok"),
    "backup_no_sha": ("window_objective", {"objective": "db_upgraded", "status": "met",
                                           "backups": [{"host": "mta1", "path": "/b.tgz"}]},
                      "missing required arguments: sha256 found in backups"),
    "backup_relative": ("window_objective", {"objective": "db_upgraded", "status": "met",
                                             "backups": [{"host": "mta1", "path": "b.tgz", "sha256": SHA}]},
                        "window_objective: backups[0].path must be an absolute path, got 'b.tgz'"),
    "backup_bad_sha": ("window_objective", {"objective": "db_upgraded", "status": "met",
                                            "backups": [{"host": "mta1", "path": "/b.tgz", "sha256": "abc"}]},
                       "window_objective: backups[0].sha256 must be 64 hexadecimal digits"),
    "plan_invalid": ("window_plan", {"plan": BROKEN_PLAN, "check_markers": False},
                     "window_plan: window_plan.phases[1] (b).after: unknown phase 'z'; the phases are: a, b"),
    "plan_zero_scale": ("window_plan", {"time_scale": 0, "check_markers": False},
                        "window_plan: time_scale must be greater than 0, got 0.0"),
    "plan_text_scale": ("window_plan", {"time_scale": "fast", "check_markers": False},
                        "argument 'time_scale' is of type str and we were unable to convert to float"),
    "good_plan": ("window_plan", {"time_scale": "0.01", "check_markers": False}, None),
    "good_phase": ("window_phase", {"phase": "upgrade", "state": "failed", "detail": "two hosts"}, None),
    "good_objective": ("window_objective", {"objective": "db_upgraded", "status": "met", "detail": "5.1.23-2",
                                            "backups": [{"host": "db1", "path": "/nas/b.tar", "sha256": SHA.upper(),
                                                        "version": "4.2.16-5"}]},
                       None),
}

# Cases of the second play, which loads no plan.
NO_PLAN_CASES = {
    "no_plan_phase": ("window_phase", {"phase": "stop", "state": "started"}, "window_phase: " + NO_PLAN),
    "no_plan_objective": ("window_objective", {"objective": "db_upgraded", "status": "met"},
                          "window_objective: " + NO_PLAN),
    "no_plan_declared": ("window_plan", {"check_markers": False}, "window_plan: " + NO_PLAN),
    "bad_plan_variable": ("window_phase", {"phase": "stop", "state": "started"},
                          "window_phase: window_plan.contingency_minutes (10) must not be shorter than "
                          "window_minutes (60)"),
}


def task(name, module, args, **extra):
    entry = {"name": name, "mailops.window." + module: args, "register": name, "ignore_errors": True}
    entry.update(extra)
    return entry


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("window-actions")
    out = root / "results.json"
    (root / "plans").mkdir()
    (root / "plans" / "e2e.yml").write_text(plan_file_text(e2e_plan()))
    tasks = [task(name, *case[:2]) for name, case in CASES.items()]
    tasks.append({"name": "A phase block", "vars": {"window_phase": "stop"}, "block": [
        task("phase_from_block", "window_phase", {"state": "skipped", "detail": "nothing to stop"}),
        task("phase_from_block_checked", "window_phase", {"state": "finished"}, check_mode=True),
        task("phase_unknown_templated", "window_phase", {"phase": "{{ 'stop' ~ '_mail' }}", "state": "started"}),
    ]})
    tasks.append(task("good_plan_checked", "window_plan", {"check_markers": False}, check_mode=True))
    no_plan_tasks = [task(name, *case[:2]) for name, case in NO_PLAN_CASES.items()]
    no_plan_tasks[-1]["vars"] = {"window_plan": small_raw_plan(contingency_minutes=10)}
    names = list(CASES) + ["phase_from_block", "phase_from_block_checked", "phase_unknown_templated",
                           "good_plan_checked"] + list(NO_PLAN_CASES)
    no_plan_tasks.append({"name": "Save the results", "ansible.builtin.copy": {
        "content": "{{ {%s} | to_json }}" % ", ".join("'%s': %s" % (n, n) for n in names),
        "dest": str(out), "mode": "0600"}})
    plays = [
        {"name": "Actions", "hosts": "localhost", "gather_facts": False, "vars_files": ["plans/e2e.yml"],
         "tasks": tasks},
        {"name": "Actions without a plan", "hosts": "localhost", "gather_facts": False, "tasks": no_plan_tasks},
    ]
    (root / "actions.yml").write_text(json.dumps(plays, indent=1))
    (root / "ansible.cfg").write_text(textwrap.dedent("""\
        [defaults]
        collections_path = %s
        retry_files_enabled = False
        """ % COLLECTIONS_DIR))
    (root / "inventory.ini").write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n"
                                        % sys.executable)
    proc = subprocess.run([ansible_bin("ansible-playbook"), "-i", str(root / "inventory.ini"), str(root / "actions.yml")],
                          cwd=str(root), env=clean_env(ANSIBLE_CONFIG=str(root / "ansible.cfg")),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


ALL_CASES = dict(CASES, **NO_PLAN_CASES)


@pytest.mark.parametrize("name", [n for n, case in ALL_CASES.items() if case[2] is not None])
def test_bad_input_fails_clearly(results, name):
    result = results[name]
    assert result["failed"] is True
    assert ALL_CASES[name][2] in result["msg"], result["msg"]
    assert "window_event" not in result


def test_an_unknown_templated_phase_fails_naming_it_and_the_plan_phases(results):
    result = results["phase_unknown_templated"]
    assert result["failed"] is True
    assert result["msg"] == "window_phase: unknown phase 'stop_mail': the plan e2e has " + PHASES


def test_good_plan_returns_its_event_with_the_texts_templated(results):
    result = results["good_plan"]
    assert result.get("failed", False) is False and result["changed"] is False
    assert result["msg"] == "window plan e2e declared: 7 phases, critical path 35 min"
    assert result["critical_path"] == ["stop", "upgrade", "start", "check"]
    assert result["planned_minutes"] == 35
    assert result["plan_lines"][0] == ("window plan e2e: E2E window on localhost; window 60 min, contingency 90 min; "
                                       "time scale 0.01")
    assert result["plan_lines"][-1] == "  critical path: stop -> upgrade -> start -> check = 35 min (50 min with every rollback)"
    event = result["window_event"]
    assert event["schema"] == "mailops.window/2" and event["kind"] == "plan"
    assert event["time_scale"] == 0.01 and event["host"] == "localhost" and event["check_mode"] is False
    assert isinstance(event["at"], float)
    assert event["plan"]["id"] == "e2e"
    assert event["plan"]["title"] == {"en": "E2E window on localhost", "es": "Ventana E2E"}
    assert [p["id"] for p in event["plan"]["phases"]] == PHASES.split(", ")


def test_good_phase_returns_its_event_unchanged(results):
    result = results["good_phase"]
    assert result.get("failed", False) is False and result["changed"] is False
    assert result["msg"] == "window phase upgrade failed"
    event = result["window_event"]
    assert sorted(event) == ["at", "check_mode", "detail", "host", "kind", "phase", "schema", "state"]
    assert event["schema"] == "mailops.window/2" and event["kind"] == "phase"
    assert event["phase"] == "upgrade" and event["state"] == "failed"
    assert event["detail"] == "two hosts" and event["host"] == "localhost" and event["check_mode"] is False
    assert isinstance(event["at"], float)


def test_the_phase_defaults_to_the_block(results):
    result = results["phase_from_block"]
    assert result.get("failed", False) is False and result["changed"] is False
    assert result["msg"] == "window phase stop skipped"
    assert result["window_event"]["phase"] == "stop" and result["window_event"]["detail"] == "nothing to stop"


def test_good_objective_returns_its_event(results):
    event = results["good_objective"]["window_event"]
    assert results["good_objective"]["changed"] is False
    assert results["good_objective"]["msg"] == "window objective db_upgraded: met"
    assert event["kind"] == "objective" and event["objective"] == "db_upgraded" and event["status"] == "met"
    assert event["backups"] == [{"host": "db1", "path": "/nas/b.tar", "sha256": SHA, "version": "4.2.16-5"}]


def test_check_mode_records_the_same_event(results):
    result = results["phase_from_block_checked"]
    assert result.get("failed", False) is False and result.get("skipped", False) is False
    assert result["window_event"]["check_mode"] is True
    assert result["window_event"]["phase"] == "stop" and result["window_event"]["state"] == "finished"
    declared = results["good_plan_checked"]
    assert declared.get("failed", False) is False and declared.get("skipped", False) is False
    assert declared["window_event"]["check_mode"] is True and declared["window_event"]["time_scale"] == 1.0
