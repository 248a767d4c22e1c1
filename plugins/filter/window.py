# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the maintenance window's playbooks use to gather per-host outcomes and build share lists."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def host_values(hosts, hostvars, name, missing=None):
    """'host: value' for every host that has the variable (a list value gives one line per element).

    With ``missing``, a host without the variable contributes 'host: <missing>'.
    """
    lines = []
    for host in hosts:
        values = hostvars[host]
        if name not in values:
            if missing is not None:
                lines.append("%s: %s" % (host, missing))
            continue
        value = values[name]
        for item in value if isinstance(value, (list, tuple)) else [value]:
            lines.append("%s: %s" % (host, item))
    return lines


def share_mount(entry, placement, addresses):
    """A share of the layout as the nfs_shares role takes it (filesystem, path, server), from the mover that holds it now.

    ``placement`` maps file system -> mover as the Celerra reports it (or is empty before it is known);
    the planned mover of ``entry`` stands in for a file system with no placement.
    """
    try:
        filesystem = entry["filesystem"]
        mover = (placement or {}).get(filesystem) or entry["mover"]
        path = entry["path"]
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("share_mount: layout entry %r lacks %s" % (entry, exc)) from exc
    if mover not in addresses:
        raise AnsibleFilterError("share_mount: no address for data mover %s in celerra_mover_addresses" % mover)
    return {"filesystem": filesystem, "path": path, "server": addresses[mover]}


def off_plan(layout, placement):
    """The layout entries not placed as planned: 'fs on <mover> (planned <mover>)' or 'fs not mounted'."""
    lines = []
    for entry in layout:
        actual = (placement or {}).get(entry["filesystem"])
        if actual is None:
            lines.append("%s not mounted (planned %s)" % (entry["filesystem"], entry["mover"]))
        elif actual != entry["mover"]:
            lines.append("%s on %s (planned %s)" % (entry["filesystem"], actual, entry["mover"]))
    return lines


def shares_off(layout, placement, mover, ready):
    """The layout entries on ``mover`` now, each given the mover to move to before ``mover`` goes down.

    That is its planned mover when it is ready and not ``mover``, else the first other ready mover (by name).
    """
    others = sorted(m for m in (ready or []) if m != mover)
    moves = []
    for entry in layout:
        if (placement or {}).get(entry["filesystem"]) != mover:
            continue
        if not others:
            raise AnsibleFilterError(
                "shares_off: no other ready data mover to take %s off %s (ready: %s)"
                % (entry["filesystem"], mover, ", ".join(sorted(ready or [])) or "none"))
        target = entry["mover"] if entry["mover"] in others else others[0]
        moves.append(dict(entry, mover=target))
    return moves


def shares_misplaced(layout, placement, ready):
    """The layout entries not on their planned mover (or on none) whose planned mover is ready."""
    return [entry for entry in layout
            if entry["mover"] in (ready or []) and (placement or {}).get(entry["filesystem"]) != entry["mover"]]


def movers_by_load(movers, placement):
    """The movers ordered by how many file systems ``placement`` puts on each, fewest first, then by name."""
    load = {}
    for mover in (placement or {}).values():
        load[mover] = load.get(mover, 0) + 1
    return sorted(movers or [], key=lambda mover: (load.get(mover, 0), mover))


class FilterModule:
    """Filters of the maintenance window."""

    def filters(self):
        return {"host_values": host_values, "share_mount": share_mount, "off_plan": off_plan,
                "shares_off": shares_off, "shares_misplaced": shares_misplaced, "movers_by_load": movers_by_load}
