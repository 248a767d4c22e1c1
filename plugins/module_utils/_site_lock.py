# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site lock of a maintenance window: one lock file in a directory of the host that holds it.

Taken, taken over and released so that two runs can never both hold it:

- The lock file (``<dir>/lock``) is never written in place. A run writes its whole record (run id,
  controller, user, pid, playbook, start time) to a temporary file in the same directory, then
  hard-links that file to ``lock``: the link fails with EEXIST when the lock is held, and the lock is
  never seen empty or half written.
- A lock known to be dead (its run id named by the caller, who decided it was dead) is taken over by
  renaming it aside to a unique name, checking that the renamed file is the record that was meant (its
  run id, or for a damaged record its inode), and only then linking the new record. The rename is
  atomic: of several runs taking over the same dead lock, exactly one moves it aside and links its own;
  the others find the winner's record and lose, naming it. A record renamed aside by mistake is linked
  back.
- A release renames the lock aside the same way and removes it only when it is this run's record.
- Every change happens under an exclusive ``flock`` on ``<dir>/.guard`` (every run takes the lock on
  this one host), held for the few milliseconds of the change and dropped by the kernel if the process
  dies; so a check and the change that follows it can never interleave with another run's.

Records taken over or broken are kept in ``<dir>/broken/`` for the record.
"""

from __future__ import absolute_import, division, print_function

import contextlib
import datetime
import errno
import fcntl
import json
import os
import socket
import stat
import tempfile
import time

__metaclass__ = type

LOCK_NAME = "lock"
GUARD_NAME = ".guard"
BROKEN_DIR = "broken"
TEMP_PREFIX = ".take-"
SCHEMA = "mailops.window.lock/1"
GUARD_TIMEOUT = 30.0
TEMP_MAX_AGE = 3600.0


class LockError(Exception):
    """The lock cannot be used (its directory, an I/O error, a lost race while restoring)."""


class LockHeld(LockError):
    """Another run holds the lock. ``holder`` is what the lock holds (see :func:`read_lock`)."""

    def __init__(self, message, holder):
        super().__init__(message)
        self.holder = holder


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def utc_text(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def lock_path(lock_dir):
    return os.path.join(lock_dir, LOCK_NAME)


def make_record(run_id, controller, user, pid, playbook, now=None):
    """The record a run writes into the lock."""
    return {
        "schema": SCHEMA,
        "run_id": run_id,
        "controller": controller,
        "user": user,
        "pid": pid,
        "playbook": playbook,
        "started": utc_text(now or utc_now()),
        "lock_host": socket.gethostname(),
    }


def _parse(text):
    """(record, None) for a usable record, (None, reason) for a damaged one."""
    if not text.strip():
        return None, "empty"
    try:
        record = json.loads(text)
    except ValueError:
        return None, "not JSON"
    if not isinstance(record, dict):
        return None, "not a JSON object"
    if not isinstance(record.get("run_id"), str) or not record["run_id"]:
        return None, "no run id"
    return record, None


def _read_file(path):
    """What a lock file holds: a dict with the record's fields, plus ``mtime`` and ``inode``; ``damaged``
    (the reason) when it holds no usable record. None when there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        data = handle.read(65536)
    record, damaged = _parse(data.decode("utf-8", "replace"))
    held = dict(record or {})
    held["mtime"] = utc_text(datetime.datetime.fromtimestamp(info.st_mtime, datetime.timezone.utc))
    held["inode"] = [info.st_dev, info.st_ino]
    if damaged:
        held["damaged"] = damaged
    return held


def read_lock(lock_dir):
    """What the lock holds now (see :func:`_read_file`), or None when it is free."""
    return _read_file(lock_path(lock_dir))


def public(held):
    """A holder as returned to the caller: the record's fields, without the bookkeeping."""
    if held is None:
        return {}
    return dict((key, value) for key, value in held.items() if key != "inode")


def _age(started, now=None):
    try:
        then = datetime.datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return ""
    minutes = int(((now or utc_now()) - then).total_seconds() // 60)
    if minutes < 0:
        return ""
    if minutes < 120:
        return " (%d min ago)" % minutes
    return " (%d h %02d min ago)" % (minutes // 60, minutes % 60)


def describe(held):
    """Who holds the lock and since when, in one phrase."""
    if held.get("damaged"):
        return "a damaged record (%s) last written %s%s" % (held["damaged"], held.get("mtime", "?"),
                                                            _age(held.get("mtime")))
    return "run %s (%s@%s, ansible-playbook pid %s, playbook %s) since %s%s" % (
        held.get("run_id", "?"), held.get("user", "?"), held.get("controller", held.get("host", "?")),
        held.get("pid", "?"), held.get("playbook", "?"), held.get("started", "?"), _age(held.get("started")))


def held_message(lock_dir, held):
    """The refusal: who holds the lock, since when, and what to do."""
    path = lock_path(lock_dir)
    if held.get("damaged"):
        return ("the window lock %s on %s is held by %s: an older version or a crash left it. Another "
                "maintenance window may hold it; if none runs, break it with break_lock=true "
                "(playbooks: -e window_lock_break=true)." % (path, socket.gethostname(), describe(held)))
    return ("another maintenance window holds the lock %s on %s: %s. Wait for it to end. If that run is dead "
            "(killed, or its controller is gone), break the lock naming it: break_lock=true break_run_id=%s "
            "(playbooks: -e window_lock_break=true -e window_lock_break_run_id=%s)."
            % (path, socket.gethostname(), describe(held), held.get("run_id", "?"), held.get("run_id", "?")))


def prepare_dir(lock_dir):
    """Create the lock's directory (mode 0700) if needed; refuse one anybody may write to."""
    if not os.path.isabs(lock_dir):
        raise LockError("lock_dir must be an absolute path, got %r" % lock_dir)
    try:
        os.makedirs(lock_dir, 0o700)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise LockError("cannot create the lock directory %s: %s" % (lock_dir, exc)) from exc
    info = os.lstat(lock_dir)
    if not stat.S_ISDIR(info.st_mode):
        raise LockError("the lock directory %s is not a directory (a symbolic link is refused)" % lock_dir)
    if info.st_mode & 0o002:
        raise LockError("the lock directory %s may be written by anybody (mode %o): use a directory of its own"
                        % (lock_dir, stat.S_IMODE(info.st_mode)))


@contextlib.contextmanager
def guard(lock_dir, timeout=GUARD_TIMEOUT):
    """Serialise the changes to the lock on this host (an exclusive flock, dropped if the process dies)."""
    fd = os.open(os.path.join(lock_dir, GUARD_NAME), os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if time.monotonic() >= deadline:
                    raise LockError("the lock's guard %s stayed busy for %d s"
                                    % (os.path.join(lock_dir, GUARD_NAME), timeout))
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _no_guard():
    yield


def _fsync_dir(lock_dir):
    try:
        fd = os.open(lock_dir, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_temp(lock_dir, record):
    """A temporary file in the lock's directory holding the whole record, synced to disk."""
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=lock_dir)
    written = False
    try:
        os.fchmod(fd, 0o600)
        data = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
        os.fsync(fd)
        written = True
    finally:
        os.close(fd)
        if not written:
            os.unlink(temp)
    return temp


def _forget_old_temps(lock_dir, now=None):
    """Remove temporary files a crashed run left behind (older than an hour); they were never the lock."""
    now = now or time.time()
    for name in os.listdir(lock_dir):
        if name.startswith(TEMP_PREFIX):
            path = os.path.join(lock_dir, name)
            try:
                if now - os.lstat(path).st_mtime > TEMP_MAX_AGE:
                    os.unlink(path)
            except OSError:
                pass


def _aside_name(lock_dir, held, why):
    broken = os.path.join(lock_dir, BROKEN_DIR)
    try:
        os.mkdir(broken, 0o700)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise
    label = held.get("run_id") or "damaged"
    label = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)[:80]
    fd, path = tempfile.mkstemp(prefix="%s.%s.%s." % (utc_now().strftime("%Y%m%dT%H%M%SZ"), why, label), dir=broken)
    os.close(fd)
    return path


def _same(expected, found):
    """Whether the file renamed aside is the record that was meant."""
    if found is None:
        return False
    if expected.get("damaged"):
        return found.get("inode") == expected.get("inode")
    return not found.get("damaged") and found.get("run_id") == expected.get("run_id")


def _move_aside(lock_dir, expected, why):
    """Rename the lock aside if (and only if) it is ``expected``. Returns (aside_path, found): aside_path is
    None when the lock was not the expected record (then ``found`` is what it holds, left in place)."""
    path = lock_path(lock_dir)
    aside = _aside_name(lock_dir, expected, why)
    try:
        os.rename(path, aside)  # atomic: of several runs, one gets this file
    except OSError as exc:
        os.unlink(aside)
        if exc.errno == errno.ENOENT:
            return None, None
        raise
    found = _read_file(aside)
    if _same(expected, found):
        return aside, found
    # Not the record meant: put it back where it was.
    try:
        os.link(aside, path)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise LockError("renamed aside the lock record %s (%s) by mistake and cannot put it back: %s now "
                            "holds %s" % (aside, describe(found), path, describe(read_lock(lock_dir) or {})))
        raise
    os.unlink(aside)
    return None, found


def acquire(lock_dir, record, expected=None, check_mode=False):
    """Take the lock for ``record``.

    ``expected`` is a holder (as :func:`read_lock` returns it) the caller knows may be replaced: a dead run
    of this controller, or one the operator breaks; it is taken over only while the lock still holds it.

    Returns a dict: ``acquired`` (True when this call linked the record, or would in check mode),
    ``already`` (this run held it already), ``took_over`` (the holder replaced, or None) and ``lock`` (what
    the lock holds now). Raises :class:`LockHeld` naming the holder when another run holds it.
    """
    if check_mode:  # reads only: creates nothing, not even the directory
        return _acquire_check(lock_dir, record, expected)
    prepare_dir(lock_dir)
    with guard(lock_dir):
        _forget_old_temps(lock_dir)
        temp = _write_temp(lock_dir, record)
        try:
            return _acquire(lock_dir, record, expected, temp)
        finally:
            os.unlink(temp)


def _acquire_check(lock_dir, record, expected):
    held = read_lock(lock_dir)
    if held is None:
        return {"acquired": True, "already": False, "took_over": None, "lock": record}
    if not held.get("damaged") and held["run_id"] == record["run_id"]:
        return {"acquired": False, "already": True, "took_over": None, "lock": held}
    if expected is not None and _same(expected, held):
        return {"acquired": True, "already": False, "took_over": held, "lock": record}
    raise LockHeld(held_message(lock_dir, held), held)


def _acquire(lock_dir, record, expected, temp):
    path = lock_path(lock_dir)
    for dummy in range(20):
        try:
            os.link(temp, path)  # atomic: fails when the lock exists; the record is whole when it appears
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
        else:
            _fsync_dir(lock_dir)
            return {"acquired": True, "already": False, "took_over": None, "lock": read_lock(lock_dir)}
        held = read_lock(lock_dir)
        if held is None:
            continue  # released between the link and the look: try again
        if not held.get("damaged") and held["run_id"] == record["run_id"]:
            return {"acquired": False, "already": True, "took_over": None, "lock": held}
        if expected is None or not _same(expected, held):
            raise LockHeld(held_message(lock_dir, held), held)
        aside, found = _move_aside(lock_dir, held, "taken-over")
        if aside is None:
            if found is None:
                continue  # gone meanwhile: try to take it plainly
            raise LockHeld(held_message(lock_dir, found), found)
        try:
            os.link(temp, path)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
            won = read_lock(lock_dir) or {}
            raise LockHeld(held_message(lock_dir, won), won)
        _fsync_dir(lock_dir)
        return {"acquired": True, "already": False, "took_over": found, "lock": read_lock(lock_dir),
                "kept_aside": aside}
    raise LockError("the lock %s kept changing; try again" % path)


def release(lock_dir, run_id, check_mode=False):
    """Remove the lock if this run holds it. Returns (released, holder_before): released is False when
    there was no lock. Raises :class:`LockHeld` when another run (or a damaged record) holds it."""
    if not os.path.isdir(lock_dir):
        return False, None
    with _no_guard() if check_mode else guard(lock_dir):
        held = read_lock(lock_dir)
        if held is None:
            return False, None
        if held.get("damaged") or held["run_id"] != run_id:
            raise LockHeld("the window lock %s on %s is held by %s, not by this run %s: leaving it"
                           % (lock_path(lock_dir), socket.gethostname(), describe(held), run_id), held)
        if check_mode:
            return True, held
        aside, found = _move_aside(lock_dir, held, "released")
        if aside is None:
            if found is None:
                return False, None
            raise LockHeld("the window lock %s on %s is held by %s, not by this run %s: leaving it"
                           % (lock_path(lock_dir), socket.gethostname(), describe(found), run_id), found)
        os.unlink(aside)
        _fsync_dir(lock_dir)
        return True, held
