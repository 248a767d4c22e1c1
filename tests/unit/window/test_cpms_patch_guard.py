"""The cpms_patch role's guard on the install root, which a restore empties: run by ansible-playbook on
localhost, one inventory host per case, each with its own install root."""

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
- name: The install root guard
  hosts: all
  gather_facts: false
  tasks:
    - name: Check the install root
      ansible.builtin.include_role:
        name: mailops.window.cpms_patch
        tasks_from: check_install_root
"""

# (install root, control program, accepted)
CASES = {
    "default": ("/opt/cpms", "/opt/cpms/bin/cpmsctl", True),
    "deeper": ("/srv/mail/cpms-6", "/srv/mail/cpms-6/bin/cpmsctl", True),
    "opt_slash": ("/opt/", "/opt/cpms/bin/cpmsctl", False),
    "opt": ("/opt", "/opt/cpms/bin/cpmsctl", False),
    "root": ("/", "/opt/cpms/bin/cpmsctl", False),
    "trailing_slash": ("/opt/cpms/", "/opt/cpms/bin/cpmsctl", False),
    "double_slash": ("/opt//cpms", "/opt/cpms/bin/cpmsctl", False),
    "dot_dot": ("/opt/cpms/..", "/opt/cpms/bin/cpmsctl", False),
    "dot": ("/opt/./cpms", "/opt/cpms/bin/cpmsctl", False),
    "relative": ("opt/cpms", "opt/cpms/bin/cpmsctl", False),
    "usr_local": ("/usr/local", "/usr/local/bin/cpmsctl", False),
    "var_lib": ("/var/lib", "/var/lib/cpms/bin/cpmsctl", False),
    "ctl_elsewhere": ("/srv/data", "/opt/cpms/bin/cpmsctl", False),
    "prefix_only": ("/opt/cp", "/opt/cpms/bin/cpmsctl", False),
    "empty": ("", "/opt/cpms/bin/cpmsctl", False),
}


def test_only_a_dedicated_cpms_tree_is_accepted(tmp_path):
    hosts = {name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                    "cpms_patch_install_root": root, "cpms_patch_ctl": ctl}
             for name, (root, ctl, _accepted) in CASES.items()}
    (tmp_path / "inventory.json").write_text(json.dumps({"all": {"hosts": hosts}}), encoding="utf-8")
    (tmp_path / "play.yml").write_text(PLAYBOOK, encoding="utf-8")
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.json"),
                           str(tmp_path / "play.yml")], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    recap = {m.group(1): int(m.group(2)) for m in RECAP.finditer(done.stdout)}
    assert set(recap) == set(CASES), done.stdout + done.stderr
    verdicts = {name: recap[name] == 0 for name in CASES}
    assert verdicts == {name: case[2] for name, case in CASES.items()}, done.stdout
    for root, _ctl, accepted in CASES.values():
        if not accepted:
            assert "cpms_patch_install_root '%s' is not a dedicated CPMS directory" % root in done.stdout
