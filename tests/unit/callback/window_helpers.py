"""Helpers shared by the window report tests: paths, the child environment, the test secret."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
COLLECTIONS_DIR = REPO_ROOT / "collections"

SECRET = "Hunter2-never-in-a-report-7f3a9c"


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
