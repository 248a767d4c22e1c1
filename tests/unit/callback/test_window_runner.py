"""The callback under ansible-runner (which replaces the stdout callback), in check mode, with the
window's plan loaded from a plan file and declared with window_plan."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest

from window_helpers import COLLECTIONS_DIR, plan_file_text

ansible_runner = pytest.importorskip("ansible_runner")

PLAN = {
    "id": "runner",
    "title": "Data movers under ansible-runner",
    "window_minutes": 120,
    "contingency_minutes": 150,
    "downtime": {"from": "stop_mail", "to": "start_mail"},
    "lanes": [{"id": "mail", "team": "TEC DDT"}, {"id": "storage", "team": "EMC"}],
    "objectives": [
        {"id": "celerra_upgraded", "title": "Upgrade the Celerra microcode"},
        {"id": "shares_redistributed", "title": "Redistribute the shares"},
        {"id": "mail_tested", "title": "Mail sent and received"},
    ],
    "phases": [
        {"id": "stop_mail", "lane": "mail", "budget_minutes": 10, "title": "Stop mail"},
        {"id": "upgrade_data_movers", "lane": "storage", "budget_minutes": 60, "after": ["stop_mail"],
         "title": "Apply the microcode to the data movers"},
        {"id": "start_mail", "lane": "mail", "budget_minutes": 5, "after": ["upgrade_data_movers"],
         "title": "Start mail"},
    ],
}

PLAYBOOK = textwrap.dedent("""\
    - name: Window under ansible-runner
      hosts: all
      gather_facts: false
      vars_files:
        - plans/runner.yml
      tasks:
        - name: Declare the plan
          mailops.window.window_plan:
            time_scale: 0.01
          run_once: true

        - name: Movers
          vars:
            window_phase: upgrade_data_movers
          block:
            - name: Poll
              ansible.builtin.command: "true"
              register: poll
              until: poll.attempts >= 2
              retries: 2
              delay: 0
              changed_when: false
              check_mode: false

        - name: Objectives
          mailops.window.window_objective:
            objective: "{{ item.key }}"
            status: "{{ item.value }}"
            detail: rehearsal
          loop: "{{ {'celerra_upgraded': 'met', 'mail_tested': 'not_done'} | dict2items }}"
    """)


def test_report_under_ansible_runner(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("ANSIBLE_", "MAILOPS_")):
            monkeypatch.delenv(name)
    # ansible-runner starts ansible-playbook from PATH: the one next to this Python
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    private = tmp_path / "runner"
    (private / "project" / "plans").mkdir(parents=True)
    (private / "inventory").mkdir()
    (private / "project" / "window.yml").write_text(PLAYBOOK)
    (private / "project" / "plans" / "runner.yml").write_text(plan_file_text(PLAN))
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
    assert "window plan runner: Data movers under ansible-runner; window 120 min, contingency 150 min; time scale 0.01" in stdout
    assert ("window phase upgrade_data_movers started (budget 60 min): Apply the microcode to the data movers: "
            "window 0/120 min") in stdout
    assert "FAILED - RETRYING" in stdout
    # progress while polling
    assert re.search(r"^upgrade_data_movers: \d+ of 60 min \(\d+%\), window \d+/120 min, contingency left \d+ min\r?$",
                     stdout, re.MULTILINE), stdout
    assert re.search(r"^window phase upgrade_data_movers finished: \d+ of 60 min", stdout, re.MULTILINE), stdout
    assert "window objective celerra_upgraded: met (rehearsal)" in stdout
    assert "window report: %s" % (reports / "latest.json") not in stdout
    assert "window report: %s" % reports in stdout
    assert "window_report:" not in stdout and "internal error" not in stdout
    report = json.loads((reports / "latest.json").read_text())
    assert report["plan"]["id"] == "runner"
    movers = [p for p in report["phases"] if p["name"] == "upgrade_data_movers"][0]
    assert movers["state"] == "finished" and movers["runs"] == 1 and movers["overrun"] is False
    assert movers["hosts"] == ["localhost"] and movers["start_offset_minutes"] == 0
    assert report["check_mode"] is True and report["time_scale"] == 0.01
    assert report["objectives"][0] == {"name": "celerra_upgraded", "title": "Upgrade the Celerra microcode",
                                       "status": "met", "detail": "rehearsal",
                                       "reported": True, "reported_at": report["objectives"][0]["reported_at"]}
    assert report["objectives"][1]["status"] == "not_done" and report["objectives"][1]["reported"] is False
    assert report["objectives"][2]["status"] == "not_done" and report["objectives"][2]["reported"] is True
    assert report["hosts"][0]["host"] == "localhost" and report["hosts"][0]["failures"] == 0
    assert report["mail_downtime"]["started_at"] is None
    md = (reports / "latest.md").read_text()
    assert "**Check mode run**" in md
    assert "| upgrade_data_movers | Apply the microcode to the data movers | storage | 60 | " in md
    assert (reports / "latest.html").is_file()
    # ansible-runner (AWX) keeps the report among the run's artifacts, and the summary as its stats
    artifacts = Path(run.config.artifact_dir) / "window_report"
    assert json.loads((artifacts / "latest.json").read_text()) == report
    assert sorted(path.suffix for path in artifacts.glob("window-*")) == [".html", ".json", ".md"]
    assert "window report: %s" % artifacts in stdout
    stats = [event["event_data"] for event in run.events if event.get("event") == "playbook_on_stats"]
    assert stats and stats[0]["artifact_data"] == {
        "window_plan": "runner", "window_objectives": {"celerra_upgraded": "met", "mail_tested": "not_done"}}
