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


class FilterModule:
    """Filters of the maintenance window."""

    def filters(self):
        return {"host_values": host_values, "share_mount": share_mount, "off_plan": off_plan}
