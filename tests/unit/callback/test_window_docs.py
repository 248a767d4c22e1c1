"""ansible-doc renders the callback and both action plugins' documentation."""

from __future__ import annotations

import subprocess

import pytest

from window_helpers import REPO_ROOT, ansible_bin, clean_env


@pytest.mark.parametrize("args, expected", [
    (["-t", "callback", "mailops.window.window_report"],
     ["CALLBACK mailops.window.window_report", "MAILOPS_REPORT_DIR", "section: window_report", "progress_interval",
      "window_budget_minutes", "contingency_minutes"]),
    (["mailops.window.window_phase"],
     ["MODULE mailops.window.window_phase", "rollback_control_station", "time_scale", "window_event"]),
    (["mailops.window.window_objective"],
     ["MODULE mailops.window.window_objective", "webmail_hole_closed", "sha256", "window_event"]),
])
def test_ansible_doc_renders(args, expected):
    proc = subprocess.run([ansible_bin("ansible-doc")] + args, cwd=str(REPO_ROOT),
                          env=clean_env(ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg")),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    complaints = [line for line in proc.stderr.splitlines()
                  if ("WARNING" in line or "ERROR" in line) and "window" in line]
    assert complaints == [], proc.stderr
    for text in expected:
        assert text in proc.stdout, text
