# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A maintenance window's plan, as data: validation, and what follows from the dependencies.

Controller-only (plugin_utils): the ``window_plan`` action validates a plan with :func:`load_plan`, the
``window_report`` callback follows the window with it, the ``window_plan`` filter gives it to templates
(the work plan document). No phase, budget or objective of any particular window is written here: a
window's plan is a YAML document (see ``playbooks/plans/``), and everything that talks about the window
reads it.

A text of the plan (a title, a justification) is either a string or a mapping of language code to
string; :func:`text` picks one language.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

PLAN_SCHEMA = "mailops.window.plan/1"
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
LANE_ALL = "all"

_TOP_KEYS = {
    "id": "required", "title": "required", "language": "optional", "window_minutes": "required",
    "contingency_minutes": "required", "lanes": "required", "objectives": "optional", "phases": "required",
    "downtime": "optional", "document": "optional",
}
_PHASE_KEYS = ("id", "title", "lane", "budget_minutes", "after", "rollback_of", "before_downtime", "note")
_LANE_KEYS = ("id", "team", "title")
_OBJECTIVE_KEYS = ("id", "title", "justification", "current", "final")


class PlanError(ValueError):
    """The plan is not valid; the message names the field."""


# ----------------------------------------------------------------------------------------------
# texts
# ----------------------------------------------------------------------------------------------

def text(value, language="en"):
    """One language of a plan text (the first given when that language is missing); '' for none."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        if language in value:
            return value[language]
        return next(iter(value.values()), "")
    return value


def _text_field(value, where, required=True):
    if value is None or value == "" or value == {}:
        if required:
            raise PlanError("%s is required" % where)
        return None
    if isinstance(value, str):
        return {"": value.strip()}
    if isinstance(value, Mapping):
        clean = {}
        for lang, item in value.items():
            if not isinstance(lang, str) or not isinstance(item, str):
                raise PlanError("%s must map language codes to strings" % where)
            clean[lang] = item.strip()
        return clean
    raise PlanError("%s must be a string or a mapping of language to string, got %s" % (where, type(value).__name__))


def _plain_text(value):
    """A normalized text back in its simplest form: a string when it has no language."""
    if value is None:
        return None
    if set(value) == {""}:
        return value[""]
    return dict(value)


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------

def _minutes(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise PlanError("%s must be a number of minutes, got %r" % (where, value))
        else:
            raise PlanError("%s must be a number of minutes, got %r" % (where, value))
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise PlanError("%s must be a finite number, got %r" % (where, value))
    if value < 0:
        raise PlanError("%s must not be negative, got %g" % (where, value))
    return value


def _ident(value, where):
    if not isinstance(value, str) or not ID_RE.match(value):
        raise PlanError("%s must be an identifier (lower case, digits, '_'), got %r" % (where, value))
    return value


def _unknown_keys(item, allowed, where):
    unknown = sorted(str(k) for k in item if k not in allowed)
    if unknown:
        raise PlanError("%s has unknown keys: %s (allowed: %s)" % (where, ", ".join(unknown), ", ".join(allowed)))


def _list_of_mappings(value, where, required=True):
    if value is None:
        if required:
            raise PlanError("%s is required" % where)
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise PlanError("%s must be a list of mappings" % where)
    if required and not value:
        raise PlanError("%s must not be empty" % where)
    return value


def _check_unique(items, where):
    seen = set()
    for index, item in enumerate(items):
        if item["id"] in seen:
            raise PlanError("%s[%d].id: duplicate id %r" % (where, index, item["id"]))
        seen.add(item["id"])


def load_plan(data):
    """Validate a plan (the parsed YAML mapping) and return it normalized, with what follows from it:
    ``critical_path``, ``planned_minutes``, ``planned_minutes_with_contingency``, ``rows`` and
    ``warnings``. Raises PlanError naming the field at fault."""
    if not isinstance(data, Mapping):
        raise PlanError("window_plan must be a mapping, got %s" % type(data).__name__)
    _unknown_keys(data, list(_TOP_KEYS), "window_plan")
    for key, need in _TOP_KEYS.items():
        if need == "required" and key not in data:
            raise PlanError("window_plan.%s is required" % key)

    plan = {
        "schema": PLAN_SCHEMA,
        "id": _ident(data["id"], "window_plan.id"),
        "title": _text_field(data["title"], "window_plan.title"),
        "language": data.get("language") or "en",
        "window_minutes": _minutes(data["window_minutes"], "window_plan.window_minutes"),
        "contingency_minutes": _minutes(data["contingency_minutes"], "window_plan.contingency_minutes"),
    }
    if not isinstance(plan["language"], str):
        raise PlanError("window_plan.language must be a language code such as en")
    if plan["window_minutes"] <= 0:
        raise PlanError("window_plan.window_minutes must be greater than 0")
    if plan["contingency_minutes"] < plan["window_minutes"]:
        raise PlanError("window_plan.contingency_minutes (%g) must not be shorter than window_minutes (%g)"
                        % (plan["contingency_minutes"], plan["window_minutes"]))

    lanes = []
    for index, raw in enumerate(_list_of_mappings(data["lanes"], "window_plan.lanes")):
        where = "window_plan.lanes[%d]" % index
        _unknown_keys(raw, _LANE_KEYS, where)
        lane_id = _ident(raw.get("id"), where + ".id")
        if lane_id == LANE_ALL:
            raise PlanError("%s.id: %r is reserved (a phase of every lane)" % (where, LANE_ALL))
        lanes.append({"id": lane_id, "team": _text_field(raw.get("team"), where + ".team"),
                      "title": _text_field(raw.get("title"), where + ".title", required=False)})
    _check_unique(lanes, "window_plan.lanes")
    lane_ids = [lane["id"] for lane in lanes]

    objectives = []
    for index, raw in enumerate(_list_of_mappings(data.get("objectives"), "window_plan.objectives", required=False)):
        where = "window_plan.objectives[%d]" % index
        _unknown_keys(raw, _OBJECTIVE_KEYS, where)
        objective = {"id": _ident(raw.get("id"), where + ".id"),
                     "title": _text_field(raw.get("title"), where + ".title")}
        for key in ("justification", "current", "final"):
            objective[key] = _text_field(raw.get(key), "%s.%s" % (where, key), required=False)
        objectives.append(objective)
    _check_unique(objectives, "window_plan.objectives")

    phases = []
    for index, raw in enumerate(_list_of_mappings(data["phases"], "window_plan.phases")):
        where = "window_plan.phases[%d]" % index
        _unknown_keys(raw, _PHASE_KEYS, where)
        phase_id = _ident(raw.get("id"), where + ".id")
        where = "window_plan.phases[%d] (%s)" % (index, phase_id)
        lane = raw.get("lane")
        if lane != LANE_ALL and lane not in lane_ids:
            raise PlanError("%s.lane: unknown lane %r; the lanes are: %s" % (where, lane, ", ".join(lane_ids + [LANE_ALL])))
        after = raw.get("after") or []
        if isinstance(after, str):
            after = [after]
        if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
            raise PlanError("%s.after must be a list of phase ids" % where)
        before = raw.get("before_downtime", False)
        if not isinstance(before, bool):
            raise PlanError("%s.before_downtime must be true or false" % where)
        rollback_of = raw.get("rollback_of")
        if rollback_of is not None and not isinstance(rollback_of, str):
            raise PlanError("%s.rollback_of must be a phase id" % where)
        phases.append({
            "id": phase_id,
            "title": _text_field(raw.get("title"), where + ".title"),
            "lane": lane,
            "budget_minutes": _minutes(raw.get("budget_minutes", 0), where + ".budget_minutes"),
            "after": list(after),
            "rollback_of": rollback_of,
            "before_downtime": before,
            "note": _text_field(raw.get("note"), where + ".note", required=False),
        })
    _check_unique(phases, "window_plan.phases")
    by_id = dict((p["id"], p) for p in phases)
    for index, phase in enumerate(phases):
        where = "window_plan.phases[%d] (%s)" % (index, phase["id"])
        for dep in phase["after"]:
            if dep not in by_id:
                raise PlanError("%s.after: unknown phase %r; the phases are: %s" % (where, dep, ", ".join(by_id)))
            if dep == phase["id"]:
                raise PlanError("%s.after: a phase cannot wait for itself" % where)
        target = phase["rollback_of"]
        if target is not None:
            if target not in by_id:
                raise PlanError("%s.rollback_of: unknown phase %r" % (where, target))
            if by_id[target]["rollback_of"] is not None:
                raise PlanError("%s.rollback_of: %r is itself a rollback" % (where, target))
            if phase["before_downtime"]:
                raise PlanError("%s: a rollback cannot be before the downtime" % where)
            if target not in phase["after"]:
                phase["after"].append(target)
    order = _topological_order(phases)
    for phase in phases:
        for dep in phase["after"]:
            if by_id[dep]["rollback_of"] is not None:
                raise PlanError("window_plan.phases (%s).after: %r is a rollback; only the phase it rolls back "
                                "can be waited for" % (phase["id"], dep))

    downtime = data.get("downtime")
    if downtime is not None:
        if not isinstance(downtime, Mapping) or set(downtime) != {"from", "to"}:
            raise PlanError("window_plan.downtime must be a mapping with from and to (phase ids)")
        for key in ("from", "to"):
            if downtime[key] not in by_id:
                raise PlanError("window_plan.downtime.%s: unknown phase %r" % (key, downtime[key]))
        downtime = {"from": downtime["from"], "to": downtime["to"]}

    document = data.get("document") or {}
    if not isinstance(document, Mapping):
        raise PlanError("window_plan.document must be a mapping")

    plan.update(lanes=lanes, objectives=objectives, phases=phases, downtime=downtime, document=dict(document))
    plan["order"] = order
    path, minutes = longest_path(plan, dict((p["id"], p["budget_minutes"]) for p in phases))
    plan["critical_path"] = path
    plan["planned_minutes"] = minutes
    plan["planned_minutes_with_contingency"] = planned_with_contingency(plan)
    plan["rows"] = rows(plan)
    warnings = []
    if minutes > plan["window_minutes"] + 1e-9:
        warnings.append("the critical path (%s) takes %g min, more than the window's %g"
                        % (" -> ".join(path), minutes, plan["window_minutes"]))
    if plan["planned_minutes_with_contingency"] > plan["contingency_minutes"] + 1e-9:
        warnings.append("with its rollbacks the plan takes %g min, more than the contingency's %g"
                        % (plan["planned_minutes_with_contingency"], plan["contingency_minutes"]))
    plan["warnings"] = warnings
    return plan


def _topological_order(phases):
    """Phase ids so that each comes after what it waits for (plan order among equals); a cycle is an error."""
    by_id = dict((p["id"], p) for p in phases)
    state = {}
    order = []

    def visit(phase_id, trail):
        if state.get(phase_id) == "done":
            return
        if state.get(phase_id) == "visiting":
            cycle = trail[trail.index(phase_id):] + [phase_id]
            raise PlanError("window_plan.phases: the after: dependencies form a cycle: %s" % " -> ".join(cycle))
        state[phase_id] = "visiting"
        for dep in by_id[phase_id]["after"]:
            visit(dep, trail + [phase_id])
        state[phase_id] = "done"
        order.append(phase_id)

    for phase in phases:
        visit(phase["id"], [])
    return order


# ----------------------------------------------------------------------------------------------
# what follows from the dependencies
# ----------------------------------------------------------------------------------------------

def phase_by_id(plan):
    return dict((p["id"], p) for p in plan["phases"])


def in_window(phase):
    """Phases of the window proper: not before the downtime, not a rollback (those are contingency)."""
    return not phase["before_downtime"] and phase["rollback_of"] is None


def rollbacks_of(plan):
    """{target phase id: [rollback phase ids]}."""
    found = {}
    for phase in plan["phases"]:
        if phase["rollback_of"]:
            found.setdefault(phase["rollback_of"], []).append(phase["id"])
    return found


def longest_path(plan, weights):
    """The longest path through the window's phases, each weighing ``weights[id]`` minutes (a rollback
    is not a node: add its minutes to the phase it rolls back). Returns (ids, minutes)."""
    by_id = phase_by_id(plan)
    best = {}
    for phase_id in plan["order"]:
        phase = by_id[phase_id]
        if not in_window(phase):
            continue
        prior = [best[d] for d in phase["after"] if d in best]
        base = max(prior, key=lambda item: item[1]) if prior else ([], 0.0)
        best[phase_id] = (base[0] + [phase_id], base[1] + max(0.0, float(weights.get(phase_id, 0.0))))
    if not best:
        return [], 0.0
    ids, minutes = max(best.values(), key=lambda item: item[1])
    return list(ids), minutes


def planned_with_contingency(plan):
    """The critical path's minutes when every phase that has a rollback needs it."""
    weights = dict((p["id"], p["budget_minutes"]) for p in plan["phases"])
    by_id = phase_by_id(plan)
    for target, backs in rollbacks_of(plan).items():
        weights[target] = weights[target] + max(by_id[b]["budget_minutes"] for b in backs)
    return longest_path(plan, weights)[1]


def rows(plan):
    """The work plan's rows: the window's phases grouped by depth in the dependency graph (phases on one
    row run in parallel). Each row: {"phases": [ids], "minutes": the longest budget}."""
    by_id = phase_by_id(plan)
    depth = {}
    for phase_id in plan["order"]:
        phase = by_id[phase_id]
        if not in_window(phase):
            continue
        prior = [depth[d] for d in phase["after"] if d in depth]
        depth[phase_id] = (max(prior) + 1) if prior else 0
    grouped = {}
    for phase in plan["phases"]:
        if phase["id"] in depth:
            grouped.setdefault(depth[phase["id"]], []).append(phase["id"])
    return [{"phases": grouped[level], "minutes": max(by_id[i]["budget_minutes"] for i in grouped[level])}
            for level in sorted(grouped)]


def source_form(plan):
    """A normalized plan back in the form :func:`load_plan` takes (texts without a language as plain
    strings, nothing derived): what travels in events, and what reports keep."""
    def texts(item, keys):
        out = dict(item)
        for key in keys:
            if key in out:
                out[key] = _plain_text(out[key])
        return out

    result = dict((key, plan[key]) for key in _TOP_KEYS if key in plan)
    result["title"] = _plain_text(plan["title"])
    result["lanes"] = [texts(lane, ("team", "title")) for lane in plan["lanes"]]
    result["objectives"] = [texts(o, ("title", "justification", "current", "final")) for o in plan["objectives"]]
    result["phases"] = [texts(p, ("title", "note")) for p in plan["phases"]]
    for phase in result["phases"]:
        if phase["rollback_of"] and phase["rollback_of"] in phase["after"]:
            phase["after"] = [a for a in phase["after"] if a != phase["rollback_of"]]
    return result
