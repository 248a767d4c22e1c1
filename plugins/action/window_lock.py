# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side lock of a maintenance window (see plugins/modules/window_lock.py)."""

from __future__ import annotations

import datetime
import errno
import json
import os
import socket

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "state": {"type": "str", "choices": ["acquired", "released"], "default": "acquired"},
    "run_id": {"type": "str", "required": True},
    "break_lock": {"type": "bool", "default": False},
}


def pid_alive(pid):
    """Whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_lock(path):
    """The lock's record, or None when there is no lock file. A damaged file reads as an empty record."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def is_stale(record, host):
    """A lock is stale when it was taken on this controller by a process that no longer exists."""
    pid = record.get("pid")
    return record.get("host") == host and isinstance(pid, int) and not pid_alive(pid)


def create_lock(path, record):
    """Create the lock file atomically; False when it exists already."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            return False
        raise
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    return True


def acquire(path, record, break_lock=False):
    """Take the lock. Returns (took_over_record_or_None). Raises ValueError naming the holder."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    if create_lock(path, record):
        return None
    held = read_lock(path)
    if held is None:  # released between our two looks
        if create_lock(path, record):
            return None
        held = read_lock(path) or {}
    if held.get("run_id") == record["run_id"]:
        return None
    if not (break_lock or is_stale(held, record["host"])):
        raise ValueError(
            "another maintenance window holds the lock %s: run %s, ansible-playbook pid %s on %s, started %s. "
            "Wait for it to end; if it is dead on another controller, rerun with window_lock_break=true."
            % (path, held.get("run_id", "?"), held.get("pid", "?"), held.get("host", "?"), held.get("started", "?"))
        )
    os.unlink(path)
    if not create_lock(path, record):
        raise ValueError("lost the race for the lock %s to another run" % path)
    return held


def release(path, run_id):
    """Remove the lock if this run holds it. Returns whether it was removed."""
    held = read_lock(path)
    if held is None:
        return False
    if held.get("run_id") != run_id:
        raise ValueError(
            "lock %s is held by run %s, not by this run %s; leaving it" % (path, held.get("run_id", "?"), run_id)
        )
    os.unlink(path)
    return True


class ActionModule(ActionBase):
    """Take or release the window lock on the controller."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        path = os.path.expanduser(args["path"])
        result["changed"] = False
        try:
            if args["state"] == "acquired":
                record = {
                    "run_id": args["run_id"],
                    "host": socket.gethostname(),
                    # Action plugins run in a worker forked from ansible-playbook: its parent is the run.
                    "pid": os.getppid(),
                    "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                }
                took_over = acquire(path, record, args["break_lock"])
                result["lock"] = read_lock(path) or {}
                if took_over is not None:
                    result["took_over"] = took_over
                    self._display.warning(
                        "took over the window lock %s left by run %s (pid %s no longer runs): resuming"
                        % (path, took_over.get("run_id", "?"), took_over.get("pid", "?"))
                    )
            else:
                result["released"] = release(path, args["run_id"])
                result["lock"] = {}
        except (ValueError, OSError) as exc:
            raise AnsibleActionFail("window_lock: %s" % exc) from exc
        return result
