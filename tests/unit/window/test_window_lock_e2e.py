"""The window_lock action and module through ansible-playbook, on localhost (connection local) with the lock in
a temporary directory: the task delegated to the lock's host, as the playbooks do; the record naming this
controller, user and ansible-playbook process; a killed run's lock taken over by the next run of the same
controller; a run of another controller refused and broken only when named; check mode; the release; the
documentation; and ansible-playbook runs racing for the same dead lock, of which exactly one wins."""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ansible_collections.mailops.window.plugins.module_utils import _site_lock as sl

REPO_ROOT = Path(__file__).resolve().parents[3]
COLLECTIONS_DIR = REPO_ROOT / "collections"
HOLD_SECONDS = 8


def ansible_bin(name):
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def child_env(root):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MAILOPS_")))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(ANSIBLE_CONFIG=str(root / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return env


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


class Site:
    """A temporary project: an inventory of localhost and a `site` host (both local), and the lock's directory."""

    def __init__(self, root):
        self.root = root
        self.lock_dir = root / "site-lock"
        (root / "ansible.cfg").write_text(textwrap.dedent("""\
            [defaults]
            collections_path = %s
            retry_files_enabled = False
            """ % COLLECTIONS_DIR))
        (root / "inventory.ini").write_text(
            "localhost ansible_connection=local ansible_python_interpreter=%s\n"
            "site ansible_connection=local ansible_python_interpreter=%s\n" % (sys.executable, sys.executable))

    def playbook(self, name, lock_args, hold=0, release=False, check_mode=False):
        """A playbook taking (or releasing) the lock on `site`, saving the result in <name>.json."""
        args = dict({"run_id": name, "lock_dir": str(self.lock_dir)}, **lock_args)
        tasks = [{"name": "Lock", "mailops.window.window_lock": args, "delegate_to": "site", "run_once": True,
                  "register": "lock", "ignore_errors": True, "check_mode": check_mode},
                 {"name": "Save", "ansible.builtin.copy": {"content": "{{ lock | to_json }}",
                                                           "dest": str(self.root / (name + ".json")), "mode": "0600"}}]
        if hold:
            tasks.append({"name": "Hold it", "ansible.builtin.command": {"argv": ["sleep", str(hold)]},
                          "changed_when": False})
        if release:
            tasks.append({"name": "Release", "mailops.window.window_lock": {
                "run_id": name, "lock_dir": str(self.lock_dir), "state": "released"},
                "delegate_to": "site", "run_once": True, "when": "lock is not failed"})
        path = self.root / (name + ".yml")
        path.write_text(json.dumps([{"name": "Lock", "hosts": "localhost", "gather_facts": False,
                                     "tasks": tasks}], indent=1))
        return path

    def start(self, name, lock_args=None, **options):
        path = self.playbook(name, lock_args or {}, **options)
        return subprocess.Popen([ansible_bin("ansible-playbook"), "-i", str(self.root / "inventory.ini"), str(path)],
                                cwd=str(self.root), env=child_env(self.root), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def run(self, name, lock_args=None, **options):
        """Run the playbook; (the lock task's result, the run's output, its pid)."""
        proc = self.start(name, lock_args, **options)
        output = proc.communicate(timeout=300)[0]
        assert proc.returncode == 0, output
        return self.result(name), output, proc.pid

    def result(self, name):
        return json.loads((self.root / (name + ".json")).read_text())

    def hold(self, run_id, pid, controller):
        """Put a lock of another run in place."""
        sl.acquire(str(self.lock_dir), sl.make_record(run_id, controller, "luis", pid, "maintenance.yml"))


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path)


def test_the_lock_names_this_controller_user_and_run_and_a_killed_run_is_taken_over(site):
    first, dummy, first_pid = site.run("run-1")
    assert first.get("failed") is not True and first["changed"] is False and first["acquired"] is True
    held = sl.read_lock(str(site.lock_dir))
    assert held["run_id"] == "run-1" and held["pid"] == first_pid
    assert held["controller"] == socket.gethostname() and held["user"] == getpass.getuser()
    assert held["playbook"] == "run-1.yml" and first["lock"]["run_id"] == "run-1"
    assert first["lock_file"] == str(site.lock_dir / "lock")

    # run-1's ansible-playbook has ended without releasing, like a killed run: the next run resumes.
    second, output, second_pid = site.run("run-2")
    assert second.get("failed") is not True and second["changed"] is False
    assert second["took_over"]["run_id"] == "run-1"
    assert "took over the window lock %s" % (site.lock_dir / "lock") in output
    assert "its ansible-playbook process no longer runs on its controller" in output
    assert sl.read_lock(str(site.lock_dir))["pid"] == second_pid


def test_a_live_run_is_refused_naming_it(site):
    site.hold("run-live", os.getpid(), socket.gethostname())
    result, dummy, dummy = site.run("run-3")
    assert result["failed"] is True and result["changed"] is False
    assert ("another maintenance window holds the lock %s on %s: run run-live (luis@%s, ansible-playbook pid %d, "
            "playbook maintenance.yml) since " % (site.lock_dir / "lock", socket.gethostname(), socket.gethostname(),
                                                  os.getpid())) in result["msg"]
    assert result["holder"]["run_id"] == "run-live"
    assert sl.read_lock(str(site.lock_dir))["run_id"] == "run-live"


def test_a_run_of_another_controller_is_broken_only_when_named(site):
    site.hold("run-far", dead_pid(), "jump2")
    refused, dummy, dummy = site.run("run-4")
    assert refused["failed"] is True and "run run-far (luis@jump2" in refused["msg"]

    unnamed, dummy, dummy = site.run("run-5", {"break_lock": True})
    assert unnamed["failed"] is True
    assert "break_lock=true needs the run id of the lock to break in break_run_id" in unnamed["msg"]
    assert "-e window_lock_break_run_id=run-far" in unnamed["msg"]

    wrong, dummy, dummy = site.run("run-6", {"break_lock": True, "break_run_id": "run-other"})
    assert wrong["failed"] is True and wrong["msg"].startswith("window_lock: break_run_id run-other does not hold")
    assert sl.read_lock(str(site.lock_dir))["run_id"] == "run-far"

    broken, output, dummy = site.run("run-7", {"break_lock": True, "break_run_id": "run-far"})
    assert broken.get("failed") is not True and broken["took_over"]["run_id"] == "run-far"
    assert "broken on request (break_lock)" in output
    assert sl.read_lock(str(site.lock_dir))["run_id"] == "run-7"


def test_a_damaged_lock_is_broken_with_break_lock_alone(site):
    site.lock_dir.mkdir(mode=0o700)
    (site.lock_dir / "lock").write_text("")
    refused, dummy, dummy = site.run("run-8")
    assert refused["failed"] is True and "is held by a damaged record (empty) last written " in refused["msg"]
    assert refused["holder"]["damaged"] == "empty"
    broken, dummy, dummy = site.run("run-9", {"break_lock": True})
    assert broken.get("failed") is not True and broken["took_over"]["damaged"] == "empty"
    assert sl.read_lock(str(site.lock_dir))["run_id"] == "run-9"


def test_check_mode_reports_and_takes_nothing(site):
    free, dummy, dummy = site.run("run-c1", check_mode=True)
    assert free.get("failed") is not True and free["acquired"] is True
    assert "is free; a run would take it" in free["msg"] and not site.lock_dir.exists()

    site.hold("run-live", os.getpid(), socket.gethostname())
    before = (site.lock_dir / "lock").read_text()
    held, dummy, dummy = site.run("run-c2", check_mode=True)
    assert held["failed"] is True and "run run-live (" in held["msg"]
    released, dummy, dummy = site.run("run-live", {"state": "released"}, check_mode=True)
    assert released["released"] is True and released["msg"].startswith("would release")
    assert (site.lock_dir / "lock").read_text() == before


def test_release_only_by_its_run(site):
    site.hold("run-a", os.getpid(), socket.gethostname())
    other, dummy, dummy = site.run("run-b", {"state": "released"})
    assert other["failed"] is True and "not by this run run-b: leaving it" in other["msg"]
    mine, dummy, dummy = site.run("run-a", {"state": "released"})
    assert mine.get("failed") is not True and mine["released"] is True and mine["changed"] is False
    assert not (site.lock_dir / "lock").exists()
    again, dummy, dummy = site.run("run-a", {"state": "released"})
    assert again["released"] is False


def test_only_the_documented_options_are_taken(site):
    result, dummy, dummy = site.run("run-x", {"pid": 1})
    assert result["failed"] is True and "Unsupported parameters" in result["msg"]


def test_the_documentation_parses():
    proc = subprocess.run([ansible_bin("ansible-doc"), "--json", "-t", "module", "mailops.window.window_lock"],
                          env=child_env(REPO_ROOT), cwd=str(REPO_ROOT), capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["mailops.window.window_lock"]["doc"]
    options = doc["options"]
    assert sorted(options) == ["break_lock", "break_run_id", "controller", "lock_dir", "pid", "playbook",
                               "run_id", "stale_run_id", "state", "user"]
    for name in ("lock_dir", "break_run_id", "playbook", "controller", "user", "pid", "stale_run_id"):
        assert options[name]["version_added"] == "0.2.0", name
    assert options["lock_dir"]["default"] == "/var/lib/mailops-window"


@pytest.mark.parametrize("round_", range(2))
def test_racing_ansible_playbook_runs_taking_over_a_dead_lock_exactly_one_wins(site, round_):
    site.hold("run-dead", dead_pid(), socket.gethostname())
    names = ["race-%d" % n for n in range(4)]
    procs = [site.start(name, hold=HOLD_SECONDS, release=True) for name in names]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    results = dict((name, site.result(name)) for name in names)
    winners = [name for name, result in results.items() if not result.get("failed")]
    assert len(winners) == 1, results
    for name, result in results.items():
        if name != winners[0]:
            assert "another maintenance window holds the lock" in result["msg"]
            assert "run %s (" % winners[0] in result["msg"], result["msg"]
    assert results[winners[0]]["took_over"]["run_id"] == "run-dead"
    assert not (site.lock_dir / "lock").exists()  # the winner released it at its end
