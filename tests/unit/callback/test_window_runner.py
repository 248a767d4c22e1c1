"""The callback under ansible-runner (which replaces the stdout callback), in check mode."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest

from window_helpers import COLLECTIONS_DIR

ansible_runner = pytest.importorskip("ansible_runner")

PLAYBOOK = textwrap.dedent("""\
    - name: Window under ansible-runner
      hosts: all
      gather_facts: false
      tasks:
        - name: Movers start
          mailops.window.window_phase: {phase: upgrade_data_movers, state: started, time_scale: 0.01}
        - name: Poll
          ansible.builtin.command: "true"
          register: poll
          until: poll.attempts >= 2
          retries: 2
          delay: 0
          changed_when: false
          check_mode: false
        - name: Movers end
          mailops.window.window_phase: {phase: upgrade_data_movers, state: finished, time_scale: 0.01}
        - name: Objectives
          mailops.window.window_objective:
            objective: "{{ item.key }}"
            status: "{{ item.value }}"
            detail: rehearsal
          loop: "{{ {'celerra_5_1': 'met', 'mail_tested': 'not_done'} | dict2items }}"
    """)


def test_report_under_ansible_runner(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("ANSIBLE_", "MAILOPS_")):
            monkeypatch.delenv(name)
    # ansible-runner starts ansible-playbook from PATH: the one next to this Python
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    private = tmp_path / "runner"
    (private / "project").mkdir(parents=True)
    (private / "inventory").mkdir()
    (private / "project" / "window.yml").write_text(PLAYBOOK)
    (private / "inventory" / "hosts").write_text(
        "localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    (tmp_path / "ansible.cfg").write_text("[defaults]\nretry_files_enabled = False\n")
    reports = tmp_path / "reports"
    run = ansible_runner.run(
        private_data_dir=str(private), playbook="window.yml", quiet=True, cmdline="--check",
        envvars={
            "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"),
            "ANSIBLE_CALLBACKS_ENABLED": "mailops.window.window_report",
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_DIR),
            "MAILOPS_REPORT_DIR": str(reports),
            "MAILOPS_PROGRESS_INTERVAL": "0",
        })
    stdout = run.stdout.read()
    assert run.status == "successful" and run.rc == 0, stdout
    assert "window phase upgrade_data_movers started (budget 60 min): window 0/120 min" in stdout
    assert "FAILED - RETRYING" in stdout
    # progress while polling
    assert re.search(r"^upgrade_data_movers: \d+ of 60 min \(\d+%\), window \d+/120 min, contingency left \d+ min\r?$",
                     stdout, re.MULTILINE), stdout
    assert "window report: %s" % (reports / "latest.json") not in stdout
    assert "window report: %s" % reports in stdout
    report = json.loads((reports / "latest.json").read_text())
    movers = [p for p in report["phases"] if p["name"] == "upgrade_data_movers"][0]
    assert movers["state"] == "finished" and movers["runs"] == 1 and movers["overrun"] is False
    assert report["check_mode"] is True and report["time_scale"] == 0.01
    assert report["objectives"][0] == {"name": "celerra_5_1", "status": "met", "detail": "rehearsal",
                                       "reported": True, "reported_at": report["objectives"][0]["reported_at"]}
    assert report["objectives"][3]["status"] == "not_done" and report["objectives"][3]["reported"] is True
    assert report["hosts"][0]["host"] == "localhost" and report["hosts"][0]["failures"] == 0
    assert report["mail_downtime"]["started_at"] is None
    md = (reports / "latest.md").read_text()
    assert "**Check mode run**" in md and "| upgrade_data_movers | storage | 60 | " in md
