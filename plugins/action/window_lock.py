# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mailops.window.window_lock: runs the module on the host that holds the site lock
(the task's delegate_to) and adds what only the controller knows: who runs it, from where, and whether a
lock left by this controller belongs to a run whose ansible-playbook process is gone."""

from __future__ import annotations

import getpass
import os
import socket

from ansible.plugins.action import ActionBase

from ansible_collections.mailops.window.plugins.plugin_utils._process import pid_alive

MODULE = "mailops.window.window_lock"

# What a task may set; the module's other options (controller, user, pid, stale_run_id) come from here.
ARGUMENT_SPEC = {
    "state": {"type": "str", "choices": ["acquired", "released"], "default": "acquired"},
    "run_id": {"type": "str", "required": True},
    "lock_dir": {"type": "str"},
    "break_lock": {"type": "bool", "default": False},
    "break_run_id": {"type": "str"},
    "playbook": {"type": "str"},
}


def controller_name():
    """This controller, as recorded in the lock."""
    return socket.gethostname()


def controller_user():
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return str(os.getuid())


def run_pid():
    """The ansible-playbook process of this run: action plugins run in a worker forked from it."""
    return os.getppid()


def dead_here(holder, controller):
    """Whether the holder is a run of this controller whose ansible-playbook process no longer exists."""
    pid = holder.get("pid")
    return (not holder.get("damaged") and bool(holder.get("run_id")) and holder.get("controller") == controller
            and isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and not pid_alive(pid))


class ActionModule(ActionBase):
    """Take or release the site lock on the task's host (its delegate_to)."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        module_args = {key: value for key, value in args.items() if value is not None}
        controller = controller_name()
        if args["state"] == "acquired":
            module_args.update(controller=controller, user=controller_user(), pid=run_pid(),
                               playbook=args["playbook"] or self._playbook())
        try:
            outcome = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
            holder = outcome.get("holder") or {}
            if args["state"] == "acquired" and outcome.get("failed") and dead_here(holder, controller):
                # A run of this controller that is gone: take its lock over, if it still holds it.
                outcome = self._execute_module(module_name=MODULE, task_vars=task_vars,
                                               module_args=dict(module_args, stale_run_id=holder["run_id"]))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        result.update(outcome)
        result["changed"] = False
        return result

    def _playbook(self):
        """The file of the playbook the task is in."""
        path = self._task.get_path() or ""
        return os.path.basename(path.rsplit(":", 1)[0]) or "unknown"
