# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that give a window's plan (playbooks/plans/*.yml) to playbooks and templates.

``window_plan`` validates a plan and returns it normalized, with what follows from its dependencies
(rows, critical path, planned minutes); ``plan_text`` picks one language of a plan text. The plan logic
itself lives in plugin_utils/_plan.py (controller-only): nothing here knows any particular window.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.mailops.window.plugins.plugin_utils._plan import PlanError, load_plan, text


def _plain(value):
    """A deep copy made of plain dicts, lists and strings.

    Reading every value through the container's own accessors makes Ansible resolve the Jinja the plan's
    texts hold (versions, groups) now, while the play's variables are at hand, and leaves nothing lazy in
    the normalized plan.
    """
    if isinstance(value, Mapping):
        return dict((key, _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def window_plan(data):
    """The plan validated and normalized (see plugin_utils/_plan.load_plan); AnsibleFilterError when invalid."""
    try:
        return load_plan(_plain(data))
    except PlanError as exc:
        raise AnsibleFilterError("window_plan: invalid plan: %s" % exc) from exc


def plan_text(value, language="en"):
    """One language of a plan text: a string, or a mapping of language code to string.

    The first language given stands in for a missing one; nothing (null) gives ''.
    """
    if value is not None and not isinstance(value, (str, Mapping)):
        raise AnsibleFilterError("plan_text: expected a string or a mapping of language to string, got %s"
                                 % type(value).__name__)
    if not isinstance(language, str) or not language:
        raise AnsibleFilterError("plan_text: the language must be a language code such as 'es', got %r" % (language,))
    result = text(value, language)
    if not isinstance(result, str):
        raise AnsibleFilterError("plan_text: the %r text is not a string: %r" % (language, result))
    return result


class FilterModule:
    """Filters of a window's plan."""

    def filters(self):
        return {"window_plan": window_plan, "plan_text": plan_text}
