# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the window_plan, window_phase and window_objective actions share: the plan the playbook
declared (the ``window_plan`` variable), and a static look at the playbook's phase markers.

Controller-only (plugin_utils).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

try:  # ansible-core 2.19+: where a loaded YAML node came from (file, line); only used to name the line
    from ansible._internal._datatag._tags import Origin
except ImportError:  # pragma: no cover
    Origin = None

from ansible_collections.mailops.window.plugins.plugin_utils._plan import PlanError, load_plan

PLAN_VARIABLE = "window_plan"
PHASE_VARIABLE = "window_phase"
_INCLUDES = ("include_tasks", "import_tasks", "ansible.builtin.include_tasks", "ansible.builtin.import_tasks")
_MARKERS = ("mailops.window.window_phase",)


class WindowEventAction(ActionBase):
    """Base of the window_* actions: they only build an event on the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def declared_plan(self, task_vars, name):
        """The plan of this run, validated, from the ``window_plan`` variable."""
        if PLAN_VARIABLE not in task_vars:
            raise AnsibleActionFail(
                "%s: no window plan is declared: load the window's plan file (vars_files, defining %s) and mark "
                "it with mailops.window.window_plan at the start of the run" % (name, PLAN_VARIABLE))
        try:
            return load_plan(self._templar.template(task_vars[PLAN_VARIABLE]))
        except PlanError as exc:
            raise AnsibleActionFail("%s: %s" % (name, exc))


def _literal(value):
    return value if isinstance(value, str) and "{{" not in value and "{%" not in value else None


def phase_markers(path, loader, seen=None):
    """Phase ids that a playbook or tasks file marks (block ``vars: {window_phase: ...}`` and
    window_phase tasks with a literal phase), following literal include_tasks / import_tasks files.
    Returns [(phase, file, line)]."""
    seen = set() if seen is None else seen
    path = os.path.realpath(path)
    if path in seen or not os.path.isfile(path):
        return []
    seen.add(path)
    found = []

    def line_of(node):
        origin = Origin.get_tag(node) if Origin is not None else None
        return getattr(origin, "line_num", None)

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, Mapping):
            return
        variables = node.get("vars")
        if isinstance(variables, Mapping) and PHASE_VARIABLE in variables:
            # A marker must be a literal phase id (the callback reads it as written); anything else is
            # returned as is, and is not a phase of any plan.
            found.append((variables[PHASE_VARIABLE], path, line_of(node)))
        for key in _MARKERS:
            args = node.get(key)
            if isinstance(args, Mapping) and _literal(args.get("phase")):
                found.append((args["phase"], path, line_of(node)))
        for key in _INCLUDES:
            target = node.get(key)
            if isinstance(target, Mapping):
                target = target.get("file")
            target = _literal(target)
            if target:
                found.extend(phase_markers(os.path.join(os.path.dirname(path), target), loader, seen))
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            walk(node.get(key))

    walk(loader.load_from_file(path))
    return found


def position(file_name, line):
    return "%s%s" % (os.path.basename(file_name), (" line %s" % line) if line else "")
