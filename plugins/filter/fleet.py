# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the fleet's follow-the-sun rollout (docs/fleet.md).

``fleet_regions`` gives the regions of the inventory as the fleet_schedule module takes them. The regions are the
child groups of ``fleet_regions``. A play sees groups only as lists of hosts (``groups``), not which group is whose
child, so the filter reads the inventory's sources again for that; the region variables come from ``hostvars``
(every host of a region has its group's variables), so they are the values the play itself sees.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader

PARENT = "fleet_regions"
REGION_VARIABLES = (
    ("name", "fleet_region_name"),
    ("tz", "fleet_region_tz"),
    ("window", "fleet_region_window"),
    ("canary", "fleet_region_canary"),
    ("max_unavailable", "fleet_region_max_unavailable"),
)


def _plain(value):
    """A deep copy made of plain dicts, lists and scalars (any Jinja in the inventory's values resolved now)."""
    if isinstance(value, Mapping):
        return dict((str(key), _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def _same(value):
    return json.dumps(value, sort_keys=True, default=str)


def child_groups(sources, parent=PARENT):
    """[(group, [hosts])] of the child groups of ``parent``, in the inventory's order, read from ``sources``."""
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, (list, tuple)) or not sources:
        raise AnsibleFilterError("fleet_regions: expected the inventory's sources (ansible_inventory_sources), got %r"
                                 % (sources,))
    inventory = InventoryManager(loader=DataLoader(), sources=[str(source) for source in sources])
    group = inventory.groups.get(parent)
    if group is None:
        raise AnsibleFilterError("fleet_regions: the inventory (%s) has no group %s; its child groups are the regions "
                                 "(docs/fleet.md)" % (", ".join(str(s) for s in sources), parent))
    if not group.child_groups:
        raise AnsibleFilterError("fleet_regions: the inventory group %s has no child groups; they are the regions "
                                 "(docs/fleet.md)" % parent)
    return [(child.name, [host.name for host in child.get_hosts()]) for child in group.child_groups]


def fleet_regions(sources, hostvars, parent=PARENT):
    """The regions of the inventory: one mapping per child group of ``parent``, as fleet_schedule's ``regions``.

    A region's variables are read from its hosts; hosts of the region that disagree on one (a host variable
    overriding the group's) fail, naming them. Hosts that are in another region too are left out of that check:
    fleet_schedule refuses them, naming both regions.
    """
    groups = child_groups(sources, parent)
    owners = {}
    for group, hosts in groups:
        for host in hosts:
            owners[host] = owners.get(host, 0) + 1
    regions = []
    for group, hosts in groups:
        region = {"group": group, "hosts": list(hosts)}
        readers = [host for host in hosts if owners[host] == 1] or list(hosts)
        for key, variable in REGION_VARIABLES:
            values = []
            for host in readers:
                try:
                    known = host in hostvars and variable in hostvars[host]
                    value = _plain(hostvars[host][variable]) if known else None
                except (KeyError, TypeError):
                    value = None
                values.append((host, value))
            distinct = dict((_same(value), value) for dummy, value in values)
            if len(distinct) > 1:
                raise AnsibleFilterError(
                    "fleet_regions: the hosts of region %s disagree on %s: %s; a region's variables belong to its "
                    "group (group_vars/%s.yml), not to its hosts"
                    % (group, variable, ", ".join("%s has %r" % (host, value) for host, value in values), group))
            if values and values[0][1] is not None:
                region[key] = values[0][1]
        regions.append(region)
    return regions


class FilterModule:
    """Filters of the fleet's rollout."""

    def filters(self):
        return {"fleet_regions": fleet_regions}
