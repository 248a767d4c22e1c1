"""Every plan file the collection ships loads as a valid plan, and every phase it has is marked in its playbook."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.mailops.window.plugins.plugin_utils import _plan

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"
PLAN_FILES = sorted((PLAYBOOKS / "plans").glob("*.yml"))


# The window's two orders share playbooks/maintenance.yml; the online plan lacks the phase only the seed's order
# runs (the playbook names it in window_plan's other_order_phases).
PLAYBOOK_OF = {"celerra_cpms": "maintenance.yml", "celerra_cpms_online": "maintenance.yml"}
OTHER_ORDER_PHASES = {"celerra_cpms_online": {"unmount_shares"}}


def with_includes(path, seen=None):
    """The text of a playbook or task file and of the task files it includes by a literal name, recursively."""
    seen = set() if seen is None else seen
    text = path.read_text(encoding="utf-8")
    for name in re.findall(r"include_tasks: ([\w./-]+\.yml)\s*$", text, re.M):
        target = (path.parent / name).resolve()
        if target not in seen:
            seen.add(target)
            text += with_includes(target, seen)
    return text


@pytest.mark.parametrize("plan_file", PLAN_FILES, ids=[p.stem for p in PLAN_FILES])
def test_the_plan_is_valid_and_its_playbook_marks_every_phase(plan_file):
    plan = _plan.load_plan(yaml.safe_load(plan_file.read_text(encoding="utf-8"))["window_plan"])
    assert plan["id"] == plan_file.stem
    playbook = PLAYBOOKS / PLAYBOOK_OF.get(plan["id"], plan_file.name)
    marked = set(re.findall(r"window_phase: ([a-z_]+)\s*$", with_includes(playbook), re.M))
    phases = {phase["id"] for phase in plan["phases"]}
    assert marked - OTHER_ORDER_PHASES.get(plan["id"], set()) == phases


def test_the_other_order_phases_are_those_the_playbook_declares():
    text = (PLAYBOOKS / "maintenance.yml").read_text(encoding="utf-8")
    assert "other_order_phases: \"{{ ['unmount_shares'] if (window_strategy | default('offline')) == 'online' else [] }}\"" in text
