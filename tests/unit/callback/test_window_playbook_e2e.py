"""End to end: ansible-playbook with the callback enabled from an ansible.cfg, on a small window
with a failed phase and its rollback, objectives, retries, a failed and an unreachable host, and a
secret in another task's arguments and result."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.mailops.window.plugins.module_utils._window_phases import _cell
from window_helpers import COLLECTIONS_DIR, SECRET, ansible_bin, clean_env

SHA = "0123456789abcdef" * 4

PLAYBOOK = textwrap.dedent("""\
    - name: Window rehearsal
      hosts: controller
      gather_facts: false
      vars:
        scale: 0.00001
        lab_admin_password: "%(secret)s"
      tasks:
        - name: Preflight starts
          mailops.window.window_phase: {phase: preflight, state: started, time_scale: "{{ scale }}"}
        - name: Preflight ends
          mailops.window.window_phase: {phase: preflight, state: finished, time_scale: "{{ scale }}"}
        - name: Mail stops
          mailops.window.window_phase: {phase: stop_mail, state: started, time_scale: "{{ scale }}"}
        - name: Use the admin password
          ansible.builtin.command:
            argv: [printf, "%%s", "{{ lab_admin_password }}"]
          changed_when: false
        - name: Wait for the third try
          ansible.builtin.command: "true"
          register: probe
          until: probe.attempts >= 3
          retries: 3
          delay: 0
          changed_when: false
        - name: Mail stopped
          mailops.window.window_phase: {phase: stop_mail, state: finished, time_scale: "{{ scale }}"}
        - name: Control Station upgrade
          block:
            - name: Upgrade starts
              mailops.window.window_phase: {phase: upgrade_control_station, state: started, time_scale: "{{ scale }}"}
            - name: Upgrade the Control Station
              ansible.builtin.command: "false"
          rescue:
            - name: Upgrade failed
              mailops.window.window_phase:
                phase: upgrade_control_station
                state: failed
                time_scale: "{{ scale }}"
                detail: "Error 5005: software inconsistent"
            - name: Rollback starts
              mailops.window.window_phase: {phase: rollback_control_station, state: started, time_scale: "{{ scale }}"}
            - name: Rollback ends
              mailops.window.window_phase: {phase: rollback_control_station, state: finished, time_scale: "{{ scale }}"}
            - name: Upgrade rolled back
              mailops.window.window_phase: {phase: upgrade_control_station, state: rolled_back, time_scale: "{{ scale }}"}
        - name: Celerra objective
          mailops.window.window_objective:
            objective: celerra_5_1
            status: rolled_back
            detail: Control Station back on 4.2.16-5
            backups:
              - {host: celerra-cs, path: /nas/backup/cs-state.tar, sha256: "%(sha)s", version: 4.2.16-5}
        - name: Patch skipped
          mailops.window.window_phase:
            phase: patch_cpms
            state: skipped
            time_scale: "{{ scale }}"
            detail: not in this rehearsal
        - name: Mail test starts
          mailops.window.window_phase: {phase: test_mail, state: started, time_scale: "{{ scale }}"}
        - name: Mail test ends
          mailops.window.window_phase: {phase: test_mail, state: finished, time_scale: "{{ scale }}"}
        - name: Mail objective
          mailops.window.window_objective: {objective: mail_tested, status: met, detail: "SMTP and IMAP answered"}

    - name: Hosts that fail
      hosts: broken
      gather_facts: false
      vars:
        lab_admin_password: "%(secret)s"
      tasks:
        - name: Reach the host
          ansible.builtin.ping:
        - name: Fail with the password in the message
          ansible.builtin.fail:
            msg: "refusing {{ lab_admin_password }}"
    """) % {"secret": SECRET, "sha": SHA}

PROGRESS_RE = re.compile(r"^stop_mail: \d+ of 10 min \(\d+%\), window \d+/120 min, "
                         r"contingency (left|exceeded by) \d+ min$")


@pytest.fixture(scope="module")
def window_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("window-e2e")
    ssh = shutil.which("ssh")
    (root / "inventory.ini").write_text(textwrap.dedent("""\
        [controller]
        localhost ansible_connection=local ansible_python_interpreter=%(py)s
        [broken]
        doomed ansible_connection=local ansible_python_interpreter=%(py)s
        """ % {"py": sys.executable}) + (
        "ghost ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1 ansible_user=nobody "
        "ansible_ssh_common_args='-o BatchMode=yes -o ConnectTimeout=5'\n" if ssh else ""))
    (root / "ansible.cfg").write_text(textwrap.dedent("""\
        [defaults]
        collections_path = %s
        callbacks_enabled = mailops.window.window_report
        inventory = inventory.ini
        host_key_checking = False
        retry_files_enabled = False
        [window_report]
        report_dir = reports
        progress_interval = 0
        """ % COLLECTIONS_DIR))
    (root / "window.yml").write_text(PLAYBOOK)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [ansible_bin("ansible-playbook"), str(root / "window.yml")],
        cwd=str(elsewhere), env=clean_env(ANSIBLE_CONFIG=str(root / "ansible.cfg")),
        capture_output=True, text=True, timeout=300, check=False)
    return {"root": root, "proc": proc, "ssh": bool(ssh)}


def report_of(window_run):
    return json.loads((window_run["root"] / "reports" / "latest.json").read_text())


def test_run_ends_as_ansible_says_and_prints_the_report_paths(window_run):
    proc = window_run["proc"]
    assert proc.returncode == (4 if window_run["ssh"] else 2), proc.stdout + proc.stderr
    reports = window_run["root"] / "reports"  # relative to ansible.cfg, not to the working directory
    names = sorted(p.name for p in reports.iterdir())
    assert len(names) == 4 and names[:2] == ["latest.json", "latest.md"]
    assert re.match(r"^window-\d{8}T\d{6}Z\.json$", names[2]) and names[3] == names[2][:-5] + ".md"
    lines = proc.stdout.splitlines()
    assert "window report: %s" % (reports / names[2]) in lines
    assert "window report: %s" % (reports / names[3]) in lines
    assert not (window_run["root"] / "elsewhere" / "reports").exists()
    assert "internal error" not in proc.stdout + proc.stderr


def test_progress_lines_follow_the_retries(window_run):
    lines = window_run["proc"].stdout.splitlines()
    assert any(line.startswith("window phase stop_mail started (budget 10 min): window 0/120 min") for line in lines)
    retries = [i for i, line in enumerate(lines) if line.startswith("FAILED - RETRYING: [localhost]: Wait for the third try")]
    assert len(retries) == 2
    for index in retries:
        assert any(PROGRESS_RE.match(line) for line in lines[index + 1:index + 3]), lines[index:index + 3]
    assert any(line.startswith("window phase upgrade_control_station failed: ") for line in lines)
    assert "window objective celerra_5_1: rolled_back (Control Station back on 4.2.16-5)" in lines


def test_json_report(window_run):
    report = report_of(window_run)
    phases = dict((p["name"], p) for p in report["phases"])
    assert dict((n, p["state"]) for n, p in phases.items()) == {
        "preflight": "finished", "backup": "not_run", "stop_mail": "finished", "unmount_shares": "not_run",
        "patch_cpms": "skipped", "upgrade_control_station": "rolled_back", "rollback_control_station": "finished",
        "upgrade_data_movers": "not_run", "redistribute_shares": "not_run", "mount_shares": "not_run",
        "start_mail": "not_run", "test_mail": "finished",
    }
    stop = phases["stop_mail"]
    # three commands at a time scale of 1e-5 last far more than 10 simulated minutes
    assert stop["overrun"] is True and stop["minutes"] > 10 and stop["real_seconds"] > 0
    assert stop["minutes"] == pytest.approx(stop["real_seconds"] / 0.00001 / 60, rel=0.01)
    assert phases["upgrade_control_station"]["details"] == ["Error 5005: software inconsistent"]
    assert phases["upgrade_control_station"]["failed_tasks"] == ["localhost: Upgrade the Control Station"]
    assert phases["patch_cpms"]["details"] == ["not in this rehearsal"]
    assert phases["preflight"]["kind"] == "before_downtime" and phases["preflight"]["overrun"] is False
    assert report["time_scale"] == 0.00001 and report["check_mode"] is False
    assert report["playbooks"] == ["window.yml"]
    assert report["window"]["started_at"] == stop["started_at"]
    assert report["window"]["ended_at"] == phases["test_mail"]["finished_at"]
    assert report["critical_path"]["planned_minutes"] == 150
    steps = report["critical_path"]["steps"]
    assert steps[2]["phases"] == ["patch_cpms", "upgrade_control_station"]
    # the skipped patch does not stretch its step: the step lasts as long as the Control Station's run
    assert steps[2]["real_seconds"] == pytest.approx(phases["upgrade_control_station"]["real_seconds"], abs=0.002)
    assert steps[3]["phases"] == ["rollback_control_station"]
    assert report["mail_downtime"]["complete"] is True
    assert report["mail_downtime"]["started_at"] == stop["started_at"]
    assert report["mail_downtime"]["ended_at"] == phases["test_mail"]["finished_at"]
    assert report["mail_downtime"]["minutes"] >= stop["minutes"]
    assert dict((o["name"], o["status"]) for o in report["objectives"]) == {
        "celerra_5_1": "rolled_back", "cpms_6_7_19_1": "not_done", "shares_redistributed": "not_done",
        "mail_tested": "met", "webmail_hole_closed": "not_done"}
    assert report["backups"] == [{"host": "celerra-cs", "path": "/nas/backup/cs-state.tar", "sha256": SHA,
                                  "version": "4.2.16-5", "objective": "celerra_5_1"}]
    hosts = dict((h["host"], h) for h in report["hosts"])
    assert hosts["localhost"]["failures"] == 0 and hosts["localhost"]["rescued"] == 1
    assert hosts["doomed"]["failures"] == 1
    assert hosts["doomed"]["failed_tasks"] == ["Fail with the password in the message"]
    if window_run["ssh"]:
        assert hosts["ghost"]["unreachable"] == 1
        assert hosts["ghost"]["unreachable_tasks"] == ["Reach the host"]
    assert any(w.startswith("window phase stop_mail overran its budget: ") for w in report["warnings"])
    assert any(w.startswith("window: the remaining plan no longer fits in the window: ") for w in report["warnings"])


def test_markdown_report(window_run):
    text = (window_run["root"] / "reports" / "latest.md").read_text()
    lines = text.splitlines()
    phases = dict((p["name"], p) for p in report_of(window_run)["phases"])
    assert lines[0] == "# Maintenance window report"
    assert any(re.match(r"^\| stop_mail \| mail \| 10 \| [\d.]+ \| [\d.]+ \| finished \| [\d.]+ \| - \|$", line)
               for line in lines)
    cs_overrun = _cell(phases["upgrade_control_station"]["overrun_minutes"])
    assert any(line.startswith("| upgrade_control_station | storage | 25 | ") and
               line.endswith(" | rolled back | %s | Error 5005: software inconsistent |" % cs_overrun)
               for line in lines)
    assert "| upgrade_data_movers | storage | 60 | - | - | not run | - | - |" in lines
    assert "| celerra_5_1 | rolled back | Control Station back on 4.2.16-5 |" in lines
    assert "| celerra-cs | /nas/backup/cs-state.tar | %s | 4.2.16-5 | celerra_5_1 |" % SHA in lines
    assert any(line.startswith("| doomed | ") and "Fail with the password in the message" in line for line in lines)
    stamped = sorted(p for p in (window_run["root"] / "reports").iterdir() if p.name.endswith(".md"))
    assert stamped[-1].name.startswith("window-") and stamped[-1].read_text() == text


def test_no_secret_reaches_the_reports(window_run):
    proc = window_run["proc"]
    assert SECRET in proc.stdout + proc.stderr  # the secret was there to leak (the fail message shows it)
    for path in (window_run["root"] / "reports").iterdir():
        text = path.read_text()
        assert SECRET not in text, path.name
        assert "printf" not in text and "argv" not in text and "refusing" not in text, path.name
