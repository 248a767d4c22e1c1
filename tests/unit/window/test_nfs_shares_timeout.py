"""A command on a hard NFS mount to a dead data mover hangs: the nfs_shares role's commands are bounded by
nfs_shares_command_timeout. Run by ansible-playbook on localhost with a `mountpoint` that never returns
first on PATH (as a stat on such a mount does)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=\d+\s+unreachable=\d+\s+failed=(\d+)", re.M)
PLAYBOOK = """
- name: Unmount a share whose server is gone
  hosts: all
  gather_facts: false
  tasks:
    - name: Unmount
      ansible.builtin.include_role:
        name: mailops.window.nfs_shares
        tasks_from: unmount_one
      vars:
        nfs_shares_share: {filesystem: fs_store1, path: "{{ share_path }}", server: celerra-dm3}
        nfs_shares_command_timeout: 2
"""


def test_a_hanging_mountpoint_fails_its_task_instead_of_hanging_the_window(tmp_path):
    shims = tmp_path / "bin"
    shims.mkdir()
    started = tmp_path / "mountpoint-started"
    hang = shims / "mountpoint"
    # Records that it ran, then blocks until killed (or 60 s pass, so nothing is left behind for long).
    hang.write_text("#!/bin/sh\ntouch '%s'\nexec sleep 60\n" % started, encoding="utf-8")
    hang.chmod(0o755)
    inventory = {"all": {"hosts": {"mta1": {"ansible_connection": "local",
                                            "ansible_python_interpreter": sys.executable,
                                            "share_path": str(tmp_path / "store1")}}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory), encoding="utf-8")
    (tmp_path / "play.yml").write_text(PLAYBOOK, encoding="utf-8")
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH="%s:%s" % (shims, os.environ["PATH"]))
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.json"),
                           str(tmp_path / "play.yml")], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    output = done.stdout + done.stderr
    assert started.exists(), output  # the hanging command was the one run
    assert done.returncode == 2, output
    assert {m.group(1): int(m.group(2)) for m in RECAP.finditer(done.stdout)} == {"mta1": 1}, output
    assert "Check whether the share is mounted at %s" % (tmp_path / "store1") in done.stdout
    assert re.search(r"timed out after 2 second|expected time frame \(2\)", output, re.I), output
