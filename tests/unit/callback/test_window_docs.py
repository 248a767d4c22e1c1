"""ansible-doc renders the callback's and the window_plan, window_phase and window_objective actions'
documentation."""

from __future__ import annotations

import subprocess

import pytest

from window_helpers import REPO_ROOT, ansible_bin, clean_env


@pytest.mark.parametrize("args, expected", [
    pytest.param(["-t", "callback", "mailops.window.window_report"],
                 ["CALLBACK mailops.window.window_report", "MAILOPS_REPORT_DIR", "MAILOPS_PROGRESS_INTERVAL",
                  "section: window_report", "progress_interval", "report_dir", "mailops.window.window_plan",
                  "window_phase_background"],
                 id="window_report"),
    pytest.param(["mailops.window.window_plan"],
                 ["MODULE mailops.window.window_plan", "time_scale", "check_markers", "window_event", "plan_lines",
                  "critical_path", "planned_minutes"],
                 id="window_plan"),
    pytest.param(["mailops.window.window_phase"],
                 ["MODULE mailops.window.window_phase", "rolled_back", "detail", "window_event"],
                 id="window_phase"),
    pytest.param(["mailops.window.window_objective"],
                 ["MODULE mailops.window.window_objective", "celerra_upgraded", "sha256", "window_event"],
                 id="window_objective"),
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
    assert "time_scale" not in proc.stdout or args == ["mailops.window.window_plan"], \
        "time_scale is an option of window_plan only"
