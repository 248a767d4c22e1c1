#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
---
module: fleet_schedule
short_description: Schedule a worldwide mail fleet's rollout region by region, following the sun
version_added: "0.2.0"
description:
  - Computes when each region of a fleet of mail servers (MTAs) is maintained, so that the servers are never all
    out of service at once. It runs on the controller (C(delegate_to=localhost)) and changes no managed host; the
    playbook C(playbooks/fleet_schedule.yml) builds its O(regions) from the inventory (see C(docs/fleet.md)).
  - The canary region goes first, at its first local window that starts at or after O(start). Every other region
    goes at its first local window that starts at or after the canary's end plus O(soak_minutes), and at or after
    the end of the region before it, so regions run one after another and never overlap. Among them the order is
    the order in which those windows start (earliest first, ties by name), which follows the night around the
    world. A region whose window that night starts before the previous region ends is pushed to a later night,
    with a note saying why.
  - A region's hosts go in batches of O(regions[].max_unavailable) percent of them (at least one host); a batch
    takes O(host_minutes), so a region takes the number of batches times O(host_minutes), from the start of its
    window. A region whose window that night is too short for that fails the task, naming the region, its hosts,
    the minutes it needs and the minutes its window gives, and what to change.
  - Local times are the IANA time zone's (Python's C(zoneinfo)). A window's length is measured in UTC, so a
    daylight-saving change inside it counts (a 01:00-05:00 window is 180 min long on a spring-forward night) and
    is noted; a local time skipped when the clocks go forward becomes the first valid local time after it, and
    one that happens twice when they go back is the first of the two, each with a note.
  - Also fails, with a message naming what is at fault, on a host in two regions, no canary or two, an unknown
    time zone, a window time that is not C(HH:MM), and a region without hosts.
  - With O(dest), writes C(schedule.json) (RV(schedule)), C(schedule.txt) (RV(table)) and, per region, an RFC 5545
    calendar C(<group>.ics) with one event for the region's whole slot and one per batch, in UTC, to be sent to
    the region's people ahead of the night. The same schedule gives the same files, byte for byte; only files
    whose content differs are written, and the task reports C(changed) when one was.
requirements:
  - icalendar (only with O(dest); the calendar files)
  - tzdata, where the system has no time zone database in C(/usr/share/zoneinfo)
options:
  regions:
    description:
      - The regions of the fleet, each a mapping. The filter P(mailops.window.fleet_regions#filter) builds this list
        from the inventory's group C(fleet_regions).
    type: list
    elements: dict
    required: true
    suboptions:
      group:
        description: The region's inventory group; it names the region's calendar file, C(<group>.ics).
        type: str
        required: true
      name:
        description: The region's name for people, such as V(Australia). Defaults to O(regions[].group).
        type: str
      tz:
        description: The region's IANA time zone, such as V(Australia/Sydney). Required.
        type: str
      window:
        description:
          - The region's nightly maintenance window, in local time. Required.
          - An O(regions[].window.end) earlier than O(regions[].window.start) is on the next day, so V(23:00) to
            V(05:00) is a six-hour window over midnight.
        type: dict
        suboptions:
          start:
            description: When the window opens, V(HH:MM). Quote it in YAML, unquoted V(23:00) reads as a number.
            type: raw
          end:
            description: When the window closes, V(HH:MM).
            type: raw
      canary:
        description: Whether this region is the canary that goes first. Exactly one region is the canary.
        type: bool
        default: false
      hosts:
        description: The region's hosts, in the order they go. Required, at least one.
        type: list
        elements: str
        default: []
      max_unavailable:
        description:
          - The percentage of the region's hosts that may be out of service at once (a batch), V(1) to V(100),
            also given as V(50%). Rounded down, at least one host.
        type: raw
        default: 50
  host_minutes:
    description: How long one batch of hosts takes, patch and checks, in minutes.
    type: int
    default: 30
  soak_minutes:
    description: How long the other regions wait after the canary's end, in minutes.
    type: int
    default: 240
  start:
    description:
      - When the rollout may start, in UTC - an ISO 8601 date (its midnight, such as V(2026-12-05)) or date and time
        (V(2026-12-05T06:00Z); a time without an offset is UTC, one with an offset is converted).
      - Defaults to the next whole minute.
    type: str
  dest:
    description:
      - A directory on the controller to write C(schedule.json), C(schedule.txt) and one C(<group>.ics) per region
        into; created when missing. A relative path is relative to the directory the module runs in, which for a
        task on the controller is the playbook's directory; C(playbooks/fleet_schedule.yml) passes an absolute path.
      - Not written in check mode; RV(changed_files) says what would change.
      - Calendar files of regions no longer in O(regions) are left as they are.
    type: path
  contact:
    description: Who the calendar events name to contact, in their C(CONTACT) and C(DESCRIPTION).
    type: str
    default: the rollout's central oversight
attributes:
  check_mode:
    support: full
    description: Computes the schedule and reports which files would change; writes nothing.
  diff_mode:
    support: none
    description: No diff.
  platform:
    platforms: posix
    support: full
    description: Runs on the controller (C(delegate_to=localhost)).
notes:
  - The calendar events' C(DTSTAMP) is the rollout's start and their C(UID) comes from the region's group and the
    event's start, so that a schedule computed again gives the same files and calendar programs update the events
    they already have rather than adding new ones.
seealso:
  - module: mailops.window.window_plan
author:
  - mailops maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Schedule the fleet's rollout and write its files
  mailops.window.fleet_schedule:
    regions:
      - group: region_au
        name: Australia
        tz: Australia/Sydney
        window: {start: "01:00", end: "05:00"}
        canary: true
        hosts: [mta1.au.example.invalid, mta2.au.example.invalid]
      - group: region_europe
        name: Europe
        tz: Europe/London
        window: {start: "23:00", end: "05:00"}
        max_unavailable: 25
        hosts: "{{ groups['region_europe'] }}"
    host_minutes: 30
    soak_minutes: 240
    start: "2026-12-05"
    dest: reports/fleet
  delegate_to: localhost
  run_once: true
  register: fleet

- name: From the inventory's group fleet_regions
  mailops.window.fleet_schedule:
    regions: "{{ ansible_inventory_sources | mailops.window.fleet_regions(hostvars) }}"
    start: "{{ fleet_start }}"
  delegate_to: localhost
  run_once: true
  register: fleet

- name: Show it
  ansible.builtin.debug:
    msg: "{{ fleet.table }}"
"""

RETURN = r"""
schedule:
  description:
    - The schedule, as written to C(schedule.json). Date and times are ISO 8601 texts; UTC ones end in C(+00:00),
      local ones carry their offset.
  returned: success
  type: dict
  contains:
    start:
      description: The rollout's start (UTC).
      type: str
      sample: "2026-12-05T00:00:00+00:00"
    end:
      description: When the last region ends (UTC).
      type: str
      sample: "2026-12-06T18:00:00+00:00"
    host_minutes:
      description: The minutes of one batch.
      type: int
      sample: 30
    soak_minutes:
      description: The canary's soak, in minutes.
      type: int
      sample: 240
    soak_until:
      description: The canary's end plus the soak (UTC); no other region starts before.
      type: str
      sample: "2026-12-05T19:00:00+00:00"
    hosts:
      description: How many hosts the fleet has.
      type: int
      sample: 8
    regions:
      description: The regions in the order they go.
      type: list
      elements: dict
      contains:
        order:
          description: The region's place in the rollout, from 1 (the canary).
          type: int
          sample: 1
        name:
          description: The region's name.
          type: str
          sample: Australia
        group:
          description: The region's inventory group.
          type: str
          sample: region_au
        tz:
          description: The region's time zone.
          type: str
          sample: Australia/Sydney
        canary:
          description: Whether the region is the canary.
          type: bool
        hosts:
          description: The region's hosts.
          type: list
          elements: str
        max_unavailable:
          description: The percentage of its hosts that may be out of service at once.
          type: int
          sample: 50
        batch_size:
          description: The hosts of a batch (the last may have fewer).
          type: int
          sample: 1
        batches:
          description: The batches in order, each a list of hosts.
          type: list
          elements: list
          sample: [[mta1.au.example.invalid], [mta2.au.example.invalid]]
        batch_times:
          description: Each batch with its C(batch) number, C(hosts), C(start), C(end) (UTC), C(local_start) and C(local_end).
          type: list
          elements: dict
        minutes:
          description: How long the region takes.
          type: int
          sample: 60
        start:
          description: The region's start (UTC).
          type: str
          sample: "2026-12-05T14:00:00+00:00"
        end:
          description: The region's end (UTC).
          type: str
          sample: "2026-12-05T15:00:00+00:00"
        local_start:
          description: The region's start in its local time, with the UTC offset.
          type: str
          sample: "2026-12-06T01:00:00+11:00"
        local_end:
          description: The region's end in its local time, with the UTC offset.
          type: str
          sample: "2026-12-06T02:00:00+11:00"
        zone:
          description: The zone's abbreviation at the start (or its offset, where the zone has no abbreviation).
          type: str
          sample: AEDT
        window:
          description:
            - The region's window that night - C(start) and C(end) as configured (C(HH:MM)), C(night) (the local date
              it starts), C(local_start), C(local_end), C(utc_start), C(utc_end), C(minutes) (its real length) and
              C(nominal_minutes) (its length on the clock, which differs across a daylight-saving change).
          type: dict
        spare_minutes:
          description: The minutes of the window left after the region's batches.
          type: int
          sample: 180
        notes:
          description: What people should know - the canary's soak, a daylight-saving change, a time moved or
            taken at its first occurrence, a region pushed to a later night and why.
          type: list
          elements: str
table:
  description: The schedule as a plain text table for people, as written to C(schedule.txt).
  returned: success
  type: str
files:
  description: The files of O(dest), written or left as they were (absolute paths).
  returned: success
  type: list
  elements: str
  sample: [/srv/reports/fleet/schedule.json, /srv/reports/fleet/schedule.txt, /srv/reports/fleet/region_au.ics]
changed_files:
  description: The files of O(dest) whose content changed (in check mode, would change).
  returned: success
  type: list
  elements: str
msg:
  description: A one-line summary.
  returned: always
  type: str
  sample: "8 hosts in 4 regions: Australia first at 2026-12-05 14:00 UTC, the last region ends 2026-12-06 18:00 UTC"
"""

import datetime
import json
import os
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mailops.window.plugins.module_utils._fleet_schedule import (
    DEFAULT_CONTACT,
    DEFAULT_HOST_MINUTES,
    DEFAULT_MAX_UNAVAILABLE,
    DEFAULT_SOAK_MINUTES,
    ScheduleError,
    as_dict,
    as_icalendar,
    as_table,
    build_schedule,
)


def argument_spec():
    return dict(
        regions=dict(type="list", elements="dict", required=True, options=dict(
            group=dict(type="str", required=True),
            name=dict(type="str"),
            tz=dict(type="str"),
            window=dict(type="dict", options=dict(start=dict(type="raw"), end=dict(type="raw"))),
            canary=dict(type="bool", default=False),
            hosts=dict(type="list", elements="str", default=[]),
            max_unavailable=dict(type="raw", default=DEFAULT_MAX_UNAVAILABLE),
        )),
        host_minutes=dict(type="int", default=DEFAULT_HOST_MINUTES),
        soak_minutes=dict(type="int", default=DEFAULT_SOAK_MINUTES),
        start=dict(type="str"),
        dest=dict(type="path"),
        contact=dict(type="str", default=DEFAULT_CONTACT),
    )


def icalendar_missing():
    """The traceback of importing icalendar when it is not installed, else None (imported only when needed)."""
    try:
        import icalendar  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    except ImportError:
        return traceback.format_exc()
    return None


def next_minute():
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    return now + datetime.timedelta(minutes=1)


def contents(schedule, data, table, contact):
    """File name -> bytes of what goes into the destination directory."""
    files = {
        "schedule.json": (json.dumps(data, indent=2) + "\n").encode("utf-8"),
        "schedule.txt": table.encode("utf-8"),
    }
    for slot in schedule.slots:
        files["%s.ics" % slot.region.group] = as_icalendar(schedule, slot, contact=contact)
    return files


def differs(path, data):
    try:
        with open(path, "rb") as handle:
            return handle.read() != data
    except FileNotFoundError:
        return True


def write(directory, name, data):
    """Write a file whole: a temporary file beside it, renamed over it (readable by all, like a report)."""
    fd, temporary = tempfile.mkstemp(prefix=".%s." % name, dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, os.path.join(directory, name))
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        schedule = build_schedule(params["regions"], params["host_minutes"], params["soak_minutes"],
                                  params["start"] or next_minute())
    except ScheduleError as exc:
        module.fail_json(msg="fleet_schedule: %s" % exc)
    data = as_dict(schedule)
    table = as_table(schedule)
    first = schedule.slots[0]
    result = dict(
        changed=False, schedule=data, table=table, files=[], changed_files=[],
        msg="%d hosts in %d regions: %s first at %s UTC, the last region ends %s UTC"
            % (data["hosts"], len(schedule.slots), first.region.name, first.start.strftime("%Y-%m-%d %H:%M"),
               schedule.end.strftime("%Y-%m-%d %H:%M")))
    if params["dest"]:
        error = icalendar_missing()
        if error:
            module.fail_json(msg=missing_required_lib("icalendar"), exception=error)
        directory = os.path.abspath(params["dest"])
        files = contents(schedule, data, table, params["contact"])
        paths = dict((name, os.path.join(directory, name)) for name in files)
        stale = [name for name in sorted(files) if differs(paths[name], files[name])]
        if stale and not module.check_mode:
            try:
                os.makedirs(directory, exist_ok=True)
                for name in stale:
                    write(directory, name, files[name])
            except OSError as exc:
                module.fail_json(msg="fleet_schedule: cannot write %s: %s" % (directory, exc),
                                 schedule=data, table=table)
        result.update(changed=bool(stale), files=[paths[name] for name in sorted(files)],
                      changed_files=[paths[name] for name in stale])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
