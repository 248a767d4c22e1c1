"""Every plan file the collection ships loads as a valid plan, and every phase it has is marked in its playbook."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.mailops.window.plugins.plugin_utils import _plan

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"
PLAN_FILES = sorted((PLAYBOOKS / "plans").glob("*.yml"))


@pytest.mark.parametrize("plan_file", PLAN_FILES, ids=[p.stem for p in PLAN_FILES])
def test_the_plan_is_valid_and_its_playbook_marks_every_phase(plan_file):
    plan = _plan.load_plan(yaml.safe_load(plan_file.read_text(encoding="utf-8"))["window_plan"])
    assert plan["id"] == plan_file.stem
    playbook = PLAYBOOKS / ("maintenance.yml" if plan["id"] == "celerra_cpms" else plan_file.name)
    text = playbook.read_text(encoding="utf-8")
    for task_file in (PLAYBOOKS / "tasks").glob("*.yml"):
        text += task_file.read_text(encoding="utf-8")
    marked = set(re.findall(r"window_phase: ([a-z_]+)\s*$", text, re.M))
    phases = {phase["id"] for phase in plan["phases"]}
    assert marked == phases
