"""The suite's per-scenario timing: read off molecule's own announcements."""

import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = importlib.util.spec_from_file_location("molecule_times", os.path.join(HERE, "..", "..", "molecule_times.py"))
molecule_times = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(molecule_times)


class Ticks:
    """A clock that moves 10 s each time it is read."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 10.0
        return self.now


def announce(scenario, action):
    return "\x1b[36mINFO    \x1b[0m \x1b[32m%s\x1b[0m \u279c \x1b[33m%s\x1b[0m: \x1b[36mExecuting\x1b[0m\n" % (scenario, action)


def test_each_action_counts_for_its_scenario_until_the_next_one():
    lines = [
        "Found config file\n",
        announce("default", "create"),
        "TASK [x]\n",
        announce("window", "converge"),
        announce("window", "verify"),
        announce("default", "destroy"),
        "Molecule executed 2 scenarios\n",
    ]
    seen = []
    seconds, total = molecule_times.scenario_seconds(lines, clock=Ticks(), echo=seen.append)
    assert seen == lines  # every line passes through, unchanged
    # Clock reads: start 10, create 20, converge 30, verify 40, destroy 50, end 60.
    assert seconds == {"default": 20.0, "window": 20.0}
    assert total == 50.0


def test_output_without_announcements_counts_no_scenario():
    seconds, total = molecule_times.scenario_seconds(["no molecule here\n"], clock=Ticks())
    assert seconds == {}
    assert total == 10.0


def test_the_summary_lists_the_longest_first():
    text = molecule_times.summary({"lab": 5.0, "window": 95.25, "fault_x": 20.0}, 130.0)
    rows = text.splitlines()
    assert rows[1].split() == ["95.2", "window"]
    assert rows[2].split() == ["20.0", "fault_x"]
    assert rows[3].split() == ["5.0", "lab"]
    assert rows[4].split()[:3] == ["130.0", "in", "all"]
