# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mailops.window.window_phase: sets a phase's state explicitly, on the controller."""

from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail

from ansible_collections.mailops.window.plugins.plugin_utils._tracker import (
    PHASE_STATES,
    WindowEventError,
    make_phase_event,
)
from ansible_collections.mailops.window.plugins.plugin_utils._window_action import WindowEventAction

ARGUMENT_SPEC = {
    "phase": {"type": "str"},
    "state": {"type": "str", "required": True, "choices": list(PHASE_STATES)},
    "detail": {"type": "str", "default": ""},
}


class ActionModule(WindowEventAction):
    """Returns a ``window_event`` for the window_report callback; never touches a remote host."""

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        plan = self.declared_plan(task_vars, "window_phase")
        phase = args.get("phase") or self._templar.template(task_vars.get("window_phase"))
        if not phase:
            raise AnsibleActionFail("window_phase: no phase given and the task is in no phase block (window_phase)")
        try:
            event = make_phase_event(plan, phase, args["state"], time.time(), detail=args["detail"],
                                     host=task_vars.get("inventory_hostname"), check_mode=bool(self._task.check_mode))
        except WindowEventError as exc:
            raise AnsibleActionFail("window_phase: %s" % exc)
        result.update(changed=False, window_event=event,
                      msg="window phase %s %s" % (event["phase"], event["state"].replace("_", " ")))
        return result
