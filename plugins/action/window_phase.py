# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mailops.window.window_phase: records a phase event on the controller."""

from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.mailops.window.plugins.module_utils._window_phases import (
    PHASE_NAMES,
    PHASE_STATES,
    WindowEventError,
    make_phase_event,
)

ARGUMENT_SPEC = {
    "phase": {"type": "str", "required": True, "choices": list(PHASE_NAMES)},
    "state": {"type": "str", "required": True, "choices": list(PHASE_STATES)},
    "budget_minutes": {"type": "float"},
    "time_scale": {"type": "float", "default": 1.0},
    "detail": {"type": "str", "default": ""},
}


class ActionModule(ActionBase):
    """Returns a ``window_event`` for the window_report callback; never touches a remote host."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            event = make_phase_event(
                args["phase"], args["state"], time.time(),
                time_scale=args["time_scale"], budget_minutes=args.get("budget_minutes"),
                detail=args["detail"], host=task_vars.get("inventory_hostname"),
                check_mode=bool(self._task.check_mode),
            )
        except WindowEventError as exc:
            raise AnsibleActionFail("window_phase: %s" % exc)
        result.update(
            changed=False,
            window_event=event,
            msg="window phase %s %s" % (event["phase"], event["state"].replace("_", " ")),
        )
        return result
