"""Helpers shared by the window report tests: paths, the seed plan, a small plan, a fabricated clock,
the child environment and the test secret."""

from __future__ import annotations

import copy
import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
COLLECTIONS_DIR = REPO_ROOT / "collections"
SEED_PLAN_FILE = REPO_ROOT / "playbooks" / "plans" / "celerra_cpms.yml"

SECRET = "Hunter2-never-in-a-report-7f3a9c"

# A fabricated clock: minute numbers are plan (simulated) minutes since T0 at the lab's time scale.
T0 = 1_700_000_000.0
SCALE = 0.01  # one simulated minute is 0.6 real seconds

SEED_PHASES = (
    "preflight", "backup", "stop_mail", "unmount_shares", "patch_cpms", "upgrade_control_station",
    "rollback_control_station", "upgrade_data_movers", "redistribute_shares", "mount_shares",
    "start_mail", "test_mail",
)
SEED_OBJECTIVES = ("celerra_upgraded", "cpms_patched", "shares_redistributed", "mail_tested", "webmail_hole_closed")
SEED_CRITICAL_PATH = ["stop_mail", "unmount_shares", "upgrade_control_station", "upgrade_data_movers",
                      "redistribute_shares", "mount_shares", "start_mail", "test_mail"]
# The seed plan's texts are loaded with yaml only, so their Jinja stays as written.
STOP_MAIL_TITLE = ("Stop mail on the MTAs, then on the active configuration server "
                   "({{ groups['cpms_config_active'] | join(', ') }})")


def at(minute, scale=SCALE):
    """The epoch time of a simulated minute of the fabricated clock."""
    return T0 + minute * 60.0 * scale


def seed_raw_plan():
    """The seed's plan (playbooks/plans/celerra_cpms.yml) as the YAML mapping, a fresh copy each call."""
    return yaml.safe_load(SEED_PLAN_FILE.read_text(encoding="utf-8"))["window_plan"]


def seed_plan(**changes):
    """The seed's plan, validated (with top-level ``changes`` applied first)."""
    from ansible_collections.mailops.window.plugins.plugin_utils._plan import load_plan

    raw = seed_raw_plan()
    raw.update(changes)
    return load_plan(raw)


SMALL_PLAN = {
    "id": "small",
    "title": {"en": "A small window", "es": "Una ventana chica"},
    "window_minutes": 60,
    "contingency_minutes": 90,
    "downtime": {"from": "stop", "to": "check"},
    "lanes": [
        {"id": "app", "team": "Applications"},
        {"id": "db", "team": "Databases", "title": {"en": "database servers", "es": "servidores de bases de datos"}},
    ],
    "objectives": [
        {"id": "db_upgraded", "title": "The database runs the new version"},
        {"id": "app_checked", "title": {"en": "The application answers", "es": "La aplicación responde"}},
    ],
    "phases": [
        {"id": "prepare", "lane": "all", "before_downtime": True, "title": "Prepare"},
        {"id": "stop", "lane": "app", "budget_minutes": 5, "after": ["prepare"], "title": "Stop the application"},
        {"id": "upgrade", "lane": "db", "budget_minutes": 20, "after": ["stop"], "title": "Upgrade the database"},
        {"id": "restore", "lane": "db", "budget_minutes": 15, "rollback_of": "upgrade",
         "title": "Restore the database"},
        {"id": "tidy", "lane": "app", "budget_minutes": 10, "after": ["stop"], "title": "Tidy the application"},
        {"id": "start", "lane": "app", "budget_minutes": 5, "after": ["upgrade", "tidy"], "title": "Start it"},
        {"id": "check", "lane": "all", "budget_minutes": 5, "after": ["start"], "title": "Check it"},
    ],
}


def small_raw_plan(**changes):
    """A small plan (critical path stop -> upgrade -> start -> check = 35 min, 50 with the restore)."""
    raw = copy.deepcopy(SMALL_PLAN)
    raw.update(changes)
    return raw


def small_plan(**changes):
    from ansible_collections.mailops.window.plugins.plugin_utils._plan import load_plan

    return load_plan(small_raw_plan(**changes))


def plan_file_text(raw, variable="window_plan"):
    """A plan file as playbooks/plans/ has them: the plan as one variable."""
    return textwrap.dedent("""\
        ---
        # written by the test
        """) + yaml.safe_dump({variable: raw}, sort_keys=False, allow_unicode=True)


def ansible_bin(name):
    """An ansible command of the Python running the tests (its venv), else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail("%s is not installed next to %s nor on PATH" % (name, sys.executable))
    return found


def clean_env(**extra):
    """The environment for a child ansible run: no inherited ANSIBLE_* or MAILOPS_* settings."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MAILOPS_")))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env.update(extra)
    return env
