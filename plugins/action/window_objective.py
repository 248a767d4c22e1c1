# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mailops.window.window_objective: records an objective's outcome on the controller."""

from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail

from ansible_collections.mailops.window.plugins.plugin_utils._tracker import (
    OBJECTIVE_STATUSES,
    WindowEventError,
    make_objective_event,
)
from ansible_collections.mailops.window.plugins.plugin_utils._window_action import WindowEventAction

ARGUMENT_SPEC = {
    "objective": {"type": "str", "required": True},
    "status": {"type": "str", "required": True, "choices": list(OBJECTIVE_STATUSES)},
    "detail": {"type": "str", "default": ""},
    "backups": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "host": {"type": "str", "required": True},
            "path": {"type": "str", "required": True},
            "sha256": {"type": "str", "required": True},
            "version": {"type": "str"},
        },
    },
}


class ActionModule(WindowEventAction):
    """Returns a ``window_event`` for the window_report callback; never touches a remote host."""

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        plan = self.declared_plan(task_vars, "window_objective")
        try:
            event = make_objective_event(
                plan, args["objective"], args["status"], time.time(),
                detail=args["detail"], backups=args["backups"],
                host=task_vars.get("inventory_hostname"), check_mode=bool(self._task.check_mode),
            )
        except WindowEventError as exc:
            raise AnsibleActionFail("window_objective: %s" % exc)
        result.update(changed=False, window_event=event,
                      msg="window objective %s: %s" % (event["objective"], event["status"].replace("_", " ")),
                      # Custom stats (like set_stats): AWX keeps them as the job's artifacts, a workflow passes
                      # them on; every objective of the run ends up under window_objectives.
                      ansible_stats={"data": {"window_objectives": {event["objective"]: event["status"]}},
                                     "per_host": False, "aggregate": True})
        return result
