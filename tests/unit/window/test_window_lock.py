"""The site lock (module_utils/_site_lock.py): taken atomically with the whole record, refused naming the
holder and since when, taken over only while the lock still holds the record meant, released only by its
run, damaged records reported, check mode changing nothing; and real races between processes, where
exactly one wins."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import stat

import pytest

from ansible_collections.mailops.window.plugins.action import window_lock as action
from ansible_collections.mailops.window.plugins.module_utils import _site_lock as sl

RACERS = 8
ROUNDS = 25


def record(run_id, pid=4242, controller="ops1", user="ana"):
    return sl.make_record(run_id, controller, user, pid, "maintenance.yml")


def lock_text(lock_dir):
    return (lock_dir / "lock").read_text(encoding="utf-8")


def test_take_links_the_whole_record_and_leaves_no_temporary_file(tmp_path):
    lock_dir = tmp_path / "site"
    outcome = sl.acquire(str(lock_dir), record("run-a"))
    assert outcome["acquired"] is True and outcome["already"] is False and outcome["took_over"] is None
    held = json.loads(lock_text(lock_dir))
    assert held["run_id"] == "run-a" and held["controller"] == "ops1" and held["user"] == "ana"
    assert held["pid"] == 4242 and held["playbook"] == "maintenance.yml"
    assert held["started"].endswith("Z") and held["lock_host"] == socket.gethostname()
    assert stat.S_IMODE(os.stat(lock_dir / "lock").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(lock_dir).st_mode) == 0o700
    assert sorted(os.listdir(lock_dir)) == [".guard", "lock"]


def test_a_holder_is_refused_naming_who_and_since_when(tmp_path):
    lock_dir = str(tmp_path)
    sl.acquire(lock_dir, record("run-a", pid=77, controller="jump2", user="luis"))
    with pytest.raises(sl.LockHeld) as caught:
        sl.acquire(lock_dir, record("run-b"))
    message = str(caught.value)
    assert message.startswith("another maintenance window holds the lock %s/lock on %s: run run-a "
                              "(luis@jump2, ansible-playbook pid 77, playbook maintenance.yml) since 20"
                              % (lock_dir, socket.gethostname()))
    assert "(0 min ago)" in message and "break_run_id=run-a" in message
    assert caught.value.holder["run_id"] == "run-a"
    assert sl.read_lock(lock_dir)["run_id"] == "run-a"


def test_the_same_run_takes_its_own_lock_again_without_change(tmp_path):
    lock_dir = str(tmp_path)
    sl.acquire(lock_dir, record("run-a"))
    before = lock_text(tmp_path)
    outcome = sl.acquire(lock_dir, record("run-a", pid=1))
    assert outcome["acquired"] is False and outcome["already"] is True
    assert lock_text(tmp_path) == before


def test_a_dead_run_is_taken_over_only_while_it_still_holds_the_lock(tmp_path):
    lock_dir = str(tmp_path)
    sl.acquire(lock_dir, record("run-dead"))
    outcome = sl.acquire(lock_dir, record("run-b"), expected={"run_id": "run-dead"})
    assert outcome["took_over"]["run_id"] == "run-dead"
    assert sl.read_lock(lock_dir)["run_id"] == "run-b"
    kept = os.listdir(tmp_path / "broken")
    assert len(kept) == 1 and ".taken-over.run-dead." in kept[0]
    assert json.loads((tmp_path / "broken" / kept[0]).read_text())["run_id"] == "run-dead"
    # Another re-run that also found run-dead's lock loses to run-b, and says so.
    with pytest.raises(sl.LockHeld, match=r"holds the lock .*: run run-b "):
        sl.acquire(lock_dir, record("run-c"), expected={"run_id": "run-dead"})
    assert sl.read_lock(lock_dir)["run_id"] == "run-b"


def test_a_free_lock_is_taken_plainly_even_when_a_dead_run_was_expected(tmp_path):
    outcome = sl.acquire(str(tmp_path), record("run-b"), expected={"run_id": "run-gone"})
    assert outcome["acquired"] is True and outcome["took_over"] is None


@pytest.mark.parametrize("content, reason", [("", "empty"), ("{\"run_id\": ", "not JSON"),
                                             ("[1]", "not a JSON object"), ("{\"pid\": 3}", "no run id")])
def test_a_damaged_record_is_reported_with_its_time_and_only_broken_on_request(tmp_path, content, reason):
    lock_dir = str(tmp_path)
    (tmp_path / "lock").write_text(content)
    os.utime(tmp_path / "lock", (1_700_000_000, 1_700_000_000))
    with pytest.raises(sl.LockHeld) as caught:
        sl.acquire(lock_dir, record("run-b"))
    assert ("is held by a damaged record (%s) last written 2023-11-14T22:13:20Z" % reason) in str(caught.value)
    assert "break_lock=true" in str(caught.value)
    held = caught.value.holder
    assert held["damaged"] == reason and held["mtime"] == "2023-11-14T22:13:20Z"
    # A damaged record is identified by its file: breaking it replaces that file only.
    outcome = sl.acquire(lock_dir, record("run-b"), expected=held)
    assert outcome["took_over"]["damaged"] == reason
    assert sl.read_lock(lock_dir)["run_id"] == "run-b"


def test_a_damaged_record_written_again_meanwhile_is_not_broken(tmp_path):
    (tmp_path / "lock").write_text("")
    seen = sl.read_lock(str(tmp_path))
    os.rename(tmp_path / "lock", tmp_path / "first")  # kept, so its inode is not reused
    (tmp_path / "lock").write_text("")  # another file now, though as empty
    assert sl.read_lock(str(tmp_path))["inode"] != seen["inode"]
    with pytest.raises(sl.LockHeld, match="damaged record"):
        sl.acquire(str(tmp_path), record("run-b"), expected=seen)


def test_release_only_by_its_run(tmp_path):
    lock_dir = str(tmp_path)
    sl.acquire(lock_dir, record("run-a"))
    with pytest.raises(sl.LockHeld, match="is held by run run-a .* not by this run run-b: leaving it"):
        sl.release(lock_dir, "run-b")
    assert sl.read_lock(lock_dir)["run_id"] == "run-a"
    assert sl.release(lock_dir, "run-a")[0] is True
    assert not os.path.exists(tmp_path / "lock")
    assert sl.release(lock_dir, "run-a") == (False, None)
    assert sl.release(str(tmp_path / "never-made"), "run-a") == (False, None)
    assert os.listdir(tmp_path / "broken") == []


def test_check_mode_takes_breaks_and_removes_nothing(tmp_path):
    fresh = tmp_path / "fresh"
    outcome = sl.acquire(str(fresh), record("run-a"), check_mode=True)
    assert outcome["acquired"] is True and not fresh.exists()

    lock_dir = str(tmp_path)
    sl.acquire(lock_dir, record("run-dead"))
    before = lock_text(tmp_path)
    with pytest.raises(sl.LockHeld, match="run run-dead"):
        sl.acquire(lock_dir, record("run-b"), check_mode=True)
    outcome = sl.acquire(lock_dir, record("run-b"), expected={"run_id": "run-dead"}, check_mode=True)
    assert outcome["took_over"]["run_id"] == "run-dead"
    assert sl.release(lock_dir, "run-dead", check_mode=True)[0] is True
    assert lock_text(tmp_path) == before and not (tmp_path / "broken").exists()


def test_a_directory_anybody_may_write_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(sl.LockError, match="may be written by anybody"):
        sl.acquire(str(shared), record("run-a"))
    with pytest.raises(sl.LockError, match="absolute path"):
        sl.acquire("relative/dir", record("run-a"))


def test_temporary_files_of_crashed_runs_are_cleaned_and_never_read_as_the_lock(tmp_path):
    old = tmp_path / (sl.TEMP_PREFIX + "crashed")
    old.write_text("")
    os.utime(old, (1_700_000_000, 1_700_000_000))
    sl.acquire(str(tmp_path), record("run-a"))
    assert not old.exists()
    assert sl.read_lock(str(tmp_path))["run_id"] == "run-a"


def test_the_controller_judges_only_its_own_runs_dead(monkeypatch):
    monkeypatch.setattr(action, "pid_alive", lambda pid: pid == 999)
    assert action.dead_here({"run_id": "r", "controller": "ops1", "pid": 123}, "ops1") is True
    assert action.dead_here({"run_id": "r", "controller": "ops1", "pid": 999}, "ops1") is False
    assert action.dead_here({"run_id": "r", "controller": "ops2", "pid": 123}, "ops1") is False
    assert action.dead_here({"run_id": "r", "controller": "ops1"}, "ops1") is False
    assert action.dead_here({"damaged": "empty", "controller": "ops1", "pid": 123}, "ops1") is False


# Real races: several processes started together on the same lock; exactly one may win.

def _racer(lock_dir, run_id, expected, barrier, results):
    barrier.wait()
    try:
        outcome = sl.acquire(lock_dir, record(run_id, pid=os.getpid()), expected=expected)
    except sl.LockHeld as exc:
        results.put((run_id, "lost", str(exc)))
    except Exception as exc:  # reported, so the test shows it
        results.put((run_id, "error", repr(exc)))
    else:
        results.put((run_id, "won" if outcome["acquired"] else "already", ""))


def race(lock_dir, expected):
    """Start RACERS processes taking the lock at the same instant; their outcomes."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(RACERS)
    results = context.Queue()
    procs = [context.Process(target=_racer, args=(lock_dir, "run-%d" % n, expected, barrier, results))
             for n in range(RACERS)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=60) for dummy in procs]
    for proc in procs:
        proc.join(timeout=60)
    return outcomes


def check_one_winner(lock_dir, outcomes):
    winners = [run for run, what, dummy in outcomes if what == "won"]
    assert len(winners) == 1, outcomes
    assert [what for dummy, what, dummy in outcomes].count("lost") == RACERS - 1, outcomes
    assert sl.read_lock(lock_dir)["run_id"] == winners[0]
    for dummy, what, message in outcomes:
        if what == "lost":
            assert "another maintenance window holds the lock" in message
            assert "run %s (" % winners[0] in message, message


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_racing_re_runs_taking_over_the_same_dead_lock_exactly_one_wins(tmp_path, round_):
    lock_dir = str(tmp_path)
    sl.acquire(lock_dir, record("run-dead"))
    check_one_winner(lock_dir, race(lock_dir, {"run_id": "run-dead"}))
    assert len(os.listdir(tmp_path / "broken")) == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_racing_runs_on_a_free_lock_exactly_one_wins(tmp_path, round_):
    lock_dir = str(tmp_path / "site")
    check_one_winner(lock_dir, race(lock_dir, None))
