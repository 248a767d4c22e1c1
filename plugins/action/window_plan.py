# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mailops.window.window_plan: declares the window's plan for this run."""

from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail

from ansible_collections.mailops.window.plugins.plugin_utils._tracker import (
    WindowEventError,
    WindowTracker,
    make_plan_event,
)
from ansible_collections.mailops.window.plugins.plugin_utils._window_action import (
    PLAN_VARIABLE,
    WindowEventAction,
    phase_markers,
    position,
)

ARGUMENT_SPEC = {
    "plan": {"type": "dict"},
    "time_scale": {"type": "float", "default": 1.0},
    "check_markers": {"type": "bool", "default": True},
    "other_order_phases": {"type": "list", "elements": "str", "default": []},
}


class ActionModule(WindowEventAction):
    """Validates the plan, checks the playbook's phase markers against it, returns a ``window_event``."""

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args.get("plan") is not None:
            task_vars = dict(task_vars)
            task_vars[PLAN_VARIABLE] = args["plan"]
        plan = self.declared_plan(task_vars, "window_plan")
        try:
            event = make_plan_event(plan, time.time(), time_scale=args["time_scale"],
                                    host=task_vars.get("inventory_hostname"), check_mode=bool(self._task.check_mode))
        except WindowEventError as exc:
            raise AnsibleActionFail("window_plan: %s" % exc)
        if args["check_markers"]:
            self._check_markers(plan, args["other_order_phases"])
        lines = WindowTracker(plan, args["time_scale"]).plan_lines()
        result.update(changed=False, window_event=event, plan_lines=lines,
                      critical_path=plan["critical_path"], planned_minutes=plan["planned_minutes"],
                      msg="window plan %s declared: %d phases, critical path %g min"
                      % (plan["id"], len(plan["phases"]), plan["planned_minutes"]),
                      ansible_stats={"data": {"window_plan": plan["id"]}, "per_host": False, "aggregate": True})
        return result

    def _check_markers(self, plan, other_order_phases=()):
        """Every phase the playbook marks must be one of the plan's (or of another order's), before anything runs."""
        where = (self._task.get_path() or "").rsplit(":", 1)[0]
        if not where:
            return
        known = set(p["id"] for p in plan["phases"]) | set(other_order_phases)
        unknown = [(phase, file_name, line) for phase, file_name, line in phase_markers(where, self._loader)
                   if not isinstance(phase, str) or phase not in known]
        if unknown:
            raise AnsibleActionFail(
                "window_plan: the playbook marks %s, which the plan %s does not have (a marker is a literal phase "
                "id); its phases are: %s"
                % (", ".join("phase %r (%s)" % (phase, position(file_name, line)) for phase, file_name, line in unknown),
                   plan["id"], ", ".join(p["id"] for p in plan["phases"])))
