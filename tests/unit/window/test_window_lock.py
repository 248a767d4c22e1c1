"""The window lock: atomic, refuses a live holder, takes over a dead one, releases only its own."""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.mailops.window.plugins.action import window_lock as wl


def record(run_id, pid, host="ops1"):
    return {"run_id": run_id, "host": host, "pid": pid, "started": "2026-01-10T05:00:00+00:00"}


@pytest.fixture
def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_acquire_creates_the_lock_with_the_record(tmp_path):
    path = str(tmp_path / "sub" / "window.lock")
    assert wl.acquire(path, record("run-a", os.getpid())) is None
    assert json.loads(open(path, encoding="utf-8").read())["run_id"] == "run-a"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_a_live_holder_is_refused_and_named(tmp_path):
    path = str(tmp_path / "window.lock")
    wl.acquire(path, record("run-a", os.getpid()))
    with pytest.raises(ValueError, match=r"run run-a, ansible-playbook pid %d on ops1" % os.getpid()):
        wl.acquire(path, record("run-b", 1))
    assert wl.read_lock(path)["run_id"] == "run-a"


def test_a_dead_holder_on_this_controller_is_taken_over(tmp_path, dead_pid):
    path = str(tmp_path / "window.lock")
    wl.acquire(path, record("run-a", dead_pid))
    took = wl.acquire(path, record("run-b", os.getpid()))
    assert took["run_id"] == "run-a"
    assert wl.read_lock(path)["run_id"] == "run-b"


def test_a_holder_on_another_controller_is_not_judged_stale(tmp_path, dead_pid):
    path = str(tmp_path / "window.lock")
    wl.acquire(path, record("run-a", dead_pid, host="ops2"))
    with pytest.raises(ValueError, match="on ops2"):
        wl.acquire(path, record("run-b", os.getpid(), host="ops1"))
    assert wl.acquire(path, record("run-b", os.getpid(), host="ops1"), break_lock=True)["host"] == "ops2"


def test_a_damaged_lock_file_is_refused_not_ignored(tmp_path):
    path = tmp_path / "window.lock"
    path.write_text("not json")
    with pytest.raises(ValueError, match="holds the lock"):
        wl.acquire(str(path), record("run-b", os.getpid()))


def test_the_same_run_may_take_its_own_lock_again(tmp_path):
    path = str(tmp_path / "window.lock")
    wl.acquire(path, record("run-a", os.getpid()))
    assert wl.acquire(path, record("run-a", os.getpid())) is None


def test_release_only_by_the_holder(tmp_path):
    path = str(tmp_path / "window.lock")
    wl.acquire(path, record("run-a", os.getpid()))
    with pytest.raises(ValueError, match="held by run run-a"):
        wl.release(path, "run-b")
    assert wl.release(path, "run-a") is True
    assert not os.path.exists(path)
    assert wl.release(path, "run-a") is False
