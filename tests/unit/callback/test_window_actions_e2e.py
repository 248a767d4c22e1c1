"""The window_phase and window_objective actions through ansible-playbook: clear failures on bad
input, the event on good input, check mode, and no change reported."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from window_helpers import COLLECTIONS_DIR, ansible_bin, clean_env

SHA = "ab" * 32

CASES = {
    # name: (module, args, expected failure message or None)
    "bad_phase": ("window_phase", {"phase": "upgrade_everything", "state": "started"},
                  "value of phase must be one of: preflight, backup, stop_mail, unmount_shares, patch_cpms, "
                  "upgrade_control_station, rollback_control_station, upgrade_data_movers, redistribute_shares, "
                  "mount_shares, start_mail, test_mail, got: upgrade_everything"),
    "bad_state": ("window_phase", {"phase": "stop_mail", "state": "done"},
                  "value of state must be one of: started, finished, failed, skipped, rolled_back, got: done"),
    "missing_state": ("window_phase", {"phase": "stop_mail"}, "missing required arguments: state"),
    "unknown_arg": ("window_phase", {"phase": "stop_mail", "state": "started", "host": "x"},
                    "module: host. Supported parameters include: budget_minutes, detail, phase, state, time_scale"),
    "zero_scale": ("window_phase", {"phase": "stop_mail", "state": "started", "time_scale": 0},
                   "window_phase: time_scale must be greater than 0, got 0.0"),
    "text_scale": ("window_phase", {"phase": "stop_mail", "state": "started", "time_scale": "fast"},
                   "argument 'time_scale' is of type str and we were unable to convert to float"),
    "negative_budget": ("window_phase", {"phase": "stop_mail", "state": "started", "budget_minutes": -1},
                        "window_phase: budget_minutes must not be negative, got -1.0"),
    "bad_objective": ("window_objective", {"objective": "celerra_6", "status": "met"},
                      "value of objective must be one of: celerra_5_1, cpms_6_7_19_1, shares_redistributed, "
                      "mail_tested, webmail_hole_closed, got: celerra_6"),
    "bad_status": ("window_objective", {"objective": "mail_tested", "status": "ok"},
                   "value of status must be one of: met, rolled_back, not_done, failed, got: ok"),
    "backup_no_sha": ("window_objective", {"objective": "mail_tested", "status": "met",
                                           "backups": [{"host": "mta1", "path": "/b.tgz"}]},
                      "missing required arguments: sha256 found in backups"),
    "backup_relative": ("window_objective", {"objective": "mail_tested", "status": "met",
                                             "backups": [{"host": "mta1", "path": "b.tgz", "sha256": SHA}]},
                        "window_objective: backups[0].path must be an absolute path, got 'b.tgz'"),
    "backup_bad_sha": ("window_objective", {"objective": "mail_tested", "status": "met",
                                            "backups": [{"host": "mta1", "path": "/b.tgz", "sha256": "abc"}]},
                       "window_objective: backups[0].sha256 must be 64 hexadecimal digits"),
    "good_phase": ("window_phase", {"phase": "upgrade_data_movers", "state": "started", "time_scale": "0.01",
                                    "budget_minutes": 70, "detail": "two movers"}, None),
    "good_objective": ("window_objective", {"objective": "celerra_5_1", "status": "met", "detail": "5.1.23-2",
                                            "backups": [{"host": "celerra-cs", "path": "/nas/b.tar", "sha256": SHA.upper(),
                                                        "version": "4.2.16-5"}]},
                       None),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("window-actions")
    out = root / "results.json"
    tasks = []
    for name, (module, args, dummy_expected) in CASES.items():
        tasks.append({"name": name, "mailops.window." + module: args, "register": name, "ignore_errors": True})
    tasks.append({"name": "good_phase_checked", "mailops.window.window_phase": {"phase": "backup", "state": "finished"},
                  "register": "good_phase_checked", "check_mode": True})
    names = list(CASES) + ["good_phase_checked"]
    tasks.append({"name": "Save the results", "ansible.builtin.copy": {
        "content": "{{ {%s} | to_json }}" % ", ".join("'%s': %s" % (n, n) for n in names),
        "dest": str(out), "mode": "0600"}})
    play = [{"name": "Actions", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    (root / "actions.yml").write_text(json.dumps(play, indent=1))
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


@pytest.mark.parametrize("name", [n for n, case in CASES.items() if case[2] is not None])
def test_bad_input_fails_clearly(results, name):
    result = results[name]
    assert result["failed"] is True
    assert CASES[name][2] in result["msg"], result["msg"]
    assert "window_event" not in result


def test_good_phase_returns_its_event_unchanged(results):
    result = results["good_phase"]
    assert result.get("failed", False) is False and result["changed"] is False
    assert result["msg"] == "window phase upgrade_data_movers started"
    event = result["window_event"]
    assert event["schema"] == "mailops.window/1" and event["kind"] == "phase"
    assert event["phase"] == "upgrade_data_movers" and event["state"] == "started"
    assert event["time_scale"] == 0.01 and event["budget_minutes"] == 70 and event["budget_overridden"] is True
    assert event["detail"] == "two movers" and event["host"] == "localhost" and event["check_mode"] is False
    assert isinstance(event["at"], float) and event["at"] > 1_600_000_000


def test_good_objective_returns_its_event(results):
    event = results["good_objective"]["window_event"]
    assert results["good_objective"]["changed"] is False
    assert event["kind"] == "objective" and event["objective"] == "celerra_5_1" and event["status"] == "met"
    assert event["backups"] == [{"host": "celerra-cs", "path": "/nas/b.tar", "sha256": SHA, "version": "4.2.16-5"}]


def test_check_mode_records_the_same_event(results):
    result = results["good_phase_checked"]
    assert result.get("failed", False) is False and result.get("skipped", False) is False
    assert result["window_event"]["check_mode"] is True
    assert result["window_event"]["phase"] == "backup" and result["window_event"]["budget_minutes"] == 0
