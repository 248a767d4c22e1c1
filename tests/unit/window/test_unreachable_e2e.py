"""A host lost during the window must not take the hosts that check it out of the play.

Ansible marks a host unreachable, and drops it from the play's rescue and always, when a task it delegates
to another host cannot reach that host. The cpms_service role checks the other side of the cluster that
way before it starts an MTA or stops the configuration server. These tests run the role with
ansible-playbook: the host under test runs locally, the host it checks is an SSH host on a closed port.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
PLAYBOOK = """
- name: Change CPMS's state, then do what the window's always does
  hosts: all
  gather_facts: false
  tasks:
    - name: Change the state in cluster order
      block:
        - name: Run the role
          ansible.builtin.include_role:
            name: mailops.window.cpms_service
      always:
        - name: The window's always
          ansible.builtin.debug:
            msg: "{{ inventory_hostname }} is still in the play"
"""
# The fake cpmsctl: `status` exits with $FAKE_STATUS (0 running, 3 stopped); every call is recorded.
CPMSCTL = """#!/bin/sh
echo "$1" >> '%(calls)s'
case "$1" in
  status) exit %(status)d ;;
  *) exit 0 ;;
esac
"""


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(tmp_path, target, local, lost, status, state):
    calls = tmp_path / "calls"
    ctl = tmp_path / "cpmsctl"
    ctl.write_text(CPMSCTL % {"calls": calls, "status": status}, encoding="utf-8")
    ctl.chmod(0o755)
    local_vars = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    lost_vars = {"ansible_host": "127.0.0.1", "ansible_port": closed_port(), "ansible_user": "root"}
    groups = {"cpms_mta": {}, "cpms_config_active": {}}
    groups[local[0]] = {"hosts": {local[1]: local_vars}}
    groups[lost[0]] = {"hosts": {lost[1]: lost_vars}}
    inventory = {"all": {"children": groups,
                         "vars": {"cpms_service_ctl": str(ctl), "cpms_service_state": state}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory), encoding="utf-8")
    (tmp_path / "play.yml").write_text(PLAYBOOK, encoding="utf-8")
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.json"),
                           str(tmp_path / "play.yml"), "--limit", target], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=180, check=False)
    recap = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in RECAP.finditer(done.stdout)}
    recorded = calls.read_text(encoding="utf-8").split() if calls.exists() else []
    return done, recap, recorded


def test_an_mta_stays_in_the_play_when_the_configuration_server_does_not_answer(tmp_path):
    done, recap, calls = run(tmp_path, target="mta1", local=("cpms_mta", "mta1"),
                             lost=("cpms_config_active", "mailconf2"), status=3, state="started")
    output = done.stdout + done.stderr
    assert done.returncode == 2, output  # a failed host, not an unreachable one (4)
    assert recap == {"mta1": (0, 1)}, output
    assert "Not starting CPMS on mta1: no active configuration server runs" in done.stdout, output
    assert "not answering: mailconf2" in done.stdout, output
    assert "mta1 is still in the play" in done.stdout, output
    assert "start" not in calls, calls


def test_the_configuration_server_is_left_running_when_an_mta_does_not_answer(tmp_path):
    done, recap, calls = run(tmp_path, target="mailconf2", local=("cpms_config_active", "mailconf2"),
                             lost=("cpms_mta", "mta2"), status=0, state="stopped")
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert recap == {"mailconf2": (0, 1)}, output
    assert "MTA(s) mta2 still run or do not answer" in done.stdout, output
    assert "mailconf2 is still in the play" in done.stdout, output
    assert "stop" not in calls, calls
