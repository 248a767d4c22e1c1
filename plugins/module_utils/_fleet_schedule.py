# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A follow-the-sun rollout schedule for a worldwide fleet of mail servers, one region after another.

The fleet's MTAs are grouped in regions, each with its time zone and its nightly maintenance window in local
time. The servers are never all taken out at once:

- The canary region goes first, at its first window that starts at or after the rollout's start.
- Every other region goes at its first window that starts at or after the canary's end plus the soak time,
  and at or after the end of the region before it: regions run one after another and never overlap. Among
  them the order is the order in which those windows start (earliest first, ties by name), so the rollout
  follows the night around the world.
- Within a region, the hosts go in batches of ``max_unavailable`` percent of them (at least one); a batch
  takes ``host_minutes``. A region whose window that night is too short for its batches is an error.
- Local times are resolved with ``zoneinfo``. A window's length is measured in UTC, so a daylight-saving
  change inside it shows (a 01:00-05:00 window is 3 h long on a spring-forward night); a local time that
  does not exist (skipped when the clocks go forward) becomes the first valid local time after it; one that
  happens twice (when they go back) is the first of the two. Each of these is noted in the schedule.

Pure Python on purpose (no Ansible import): the fleet_schedule module uses it, the tests drive it directly.
The calendar output imports the ``icalendar`` library only when it is asked for.
"""

from __future__ import absolute_import, division, print_function

import datetime
import re
import zoneinfo

__metaclass__ = type

UTC = datetime.timezone.utc
DEFAULT_HOST_MINUTES = 30
DEFAULT_SOAK_MINUTES = 240
DEFAULT_MAX_UNAVAILABLE = 50
DEFAULT_CONTACT = "the rollout's central oversight"
REGION_KEYS = ("name", "group", "tz", "window", "canary", "hosts", "max_unavailable")
UID_DOMAIN = "fleet.mailops.window"
PRODID = "-//mailops.window//fleet_schedule//EN"

_HHMM = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
_PERCENT = re.compile(r"^\s*([0-9]+)\s*%?\s*$")


class ScheduleError(Exception):
    """The fleet cannot be scheduled as given; the message says why and what to change, for people."""


# --- Input ---------------------------------------------------------------------------------------------------

class Region:
    """One region, validated: its name, group, zone, window (local times), canary flag, hosts and batches."""

    def __init__(self, name, group, tz, zone, start, end, canary, hosts, max_unavailable):
        self.name = name
        self.group = group
        self.tz = tz
        self.zone = zone
        self.start = start
        self.end = end
        self.canary = canary
        self.hosts = hosts
        self.max_unavailable = max_unavailable
        self.batch_size = max(1, len(hosts) * max_unavailable // 100)
        self.batches = [hosts[i:i + self.batch_size] for i in range(0, len(hosts), self.batch_size)]

    @property
    def label(self):
        return label(self.name, self.group)

    @property
    def window_text(self):
        return "%s-%s" % (self.start.strftime("%H:%M"), self.end.strftime("%H:%M"))


def label(name, group):
    """How messages name a region: 'Australia (region_au)', or the group alone when it is its name."""
    return group if not name or name == group else "%s (%s)" % (name, group)


def parse_start(value):
    """The rollout's start as an aware UTC datetime, from a date, a datetime or an ISO 8601 text.

    A date is its midnight UTC; a date and time without an offset is UTC; one with an offset is converted.
    """
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time(0, 0))
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
                moment = datetime.datetime.combine(datetime.date.fromisoformat(text), datetime.time(0, 0))
            else:
                moment = datetime.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            raise ScheduleError("start %r is not an ISO 8601 date or date and time in UTC, such as 2026-12-05 or "
                                "2026-12-05T06:00Z" % (value,))
    else:
        raise ScheduleError("start %r is not an ISO 8601 date or date and time in UTC, such as 2026-12-05 or "
                            "2026-12-05T06:00Z" % (value,))
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _local_time(region_label, which, value):
    """A window's start or end, 'HH:MM', as a datetime.time; ScheduleError naming the region and the value."""
    where = "fleet_region_window.%s" % which
    if isinstance(value, bool) or value is None:
        raise ScheduleError("region %s: its window has no %s time (%s, 'HH:MM' in local time)"
                            % (region_label, which, where))
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        hint = ""
        if 0 <= number < 24 * 60:
            hint = ("; quote the time: unquoted, YAML reads %d:%02d as the base-60 number %d"
                    % (number // 60, number % 60, number))
        raise ScheduleError("region %s: window %s %r is not a time HH:MM (%s)%s"
                            % (region_label, which, value, where, hint))
    match = _HHMM.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ScheduleError("region %s: window %s %r is not a time HH:MM between 00:00 and 23:59 (%s)"
                            % (region_label, which, value, where))
    return datetime.time(int(match.group(1)), int(match.group(2)))


def _zone(region_label, tz):
    if tz is None or (isinstance(tz, str) and not tz.strip()):
        raise ScheduleError("region %s has no time zone (fleet_region_tz, an IANA name such as Australia/Sydney)"
                            % region_label)
    if not isinstance(tz, str):
        raise ScheduleError("region %s: time zone %r is not a name (fleet_region_tz, an IANA name such as "
                            "Australia/Sydney)" % (region_label, tz))
    try:
        return zoneinfo.ZoneInfo(tz.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError("region %s: unknown time zone %r (fleet_region_tz, an IANA name such as "
                            "Europe/London; the tzdata package provides them where the system has none)"
                            % (region_label, tz))


def _max_unavailable(region_label, value):
    if value is None:
        return DEFAULT_MAX_UNAVAILABLE
    match = None if isinstance(value, bool) else _PERCENT.match(str(value))
    number = int(match.group(1)) if match else None
    if number is None or not 1 <= number <= 100:
        raise ScheduleError("region %s: fleet_region_max_unavailable %r is not a percentage from 1 to 100"
                            % (region_label, value))
    return number


def parse_region(index, raw):
    """One region from its mapping (keys: group, name, tz, window {start, end}, canary, hosts, max_unavailable)."""
    if not isinstance(raw, dict):
        raise ScheduleError("regions[%d] is not a mapping: %r" % (index, raw))
    group = raw.get("group")
    if not isinstance(group, str) or not group.strip():
        raise ScheduleError("regions[%d] has no group (the inventory group of the region, such as region_au)"
                            % index)
    group = group.strip()
    name = raw.get("name")
    name = name.strip() if isinstance(name, str) and name.strip() else group
    where = label(name, group)
    unknown = sorted(str(key) for key in raw if key not in REGION_KEYS)
    if unknown:
        raise ScheduleError("region %s: unknown key %s (the keys are %s)"
                            % (where, ", ".join(repr(key) for key in unknown), ", ".join(REGION_KEYS)))
    hosts = raw.get("hosts") or []
    if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)):
        raise ScheduleError("region %s: hosts must be a list of host names, got %r" % (where, hosts))
    seen = []
    for host in hosts:
        if not isinstance(host, str) or not host.strip():
            raise ScheduleError("region %s: %r is not a host name" % (where, host))
        if host.strip() not in seen:
            seen.append(host.strip())
    if not seen:
        raise ScheduleError("region %s has no hosts: put its MTAs in the group, or take the group out of "
                            "fleet_regions" % where)
    zone = _zone(where, raw.get("tz"))
    window = raw.get("window")
    if not isinstance(window, dict):
        raise ScheduleError("region %s has no window (fleet_region_window: {start: 'HH:MM', end: 'HH:MM'} in "
                            "local time), got %r" % (where, window))
    start = _local_time(where, "start", window.get("start"))
    end = _local_time(where, "end", window.get("end"))
    if start == end:
        raise ScheduleError("region %s: its window starts and ends at %s (fleet_region_window): it leaves no time "
                            "to work in" % (where, start.strftime("%H:%M")))
    canary = raw.get("canary", False)
    if canary is None:
        canary = False
    if not isinstance(canary, bool):
        raise ScheduleError("region %s: fleet_region_canary must be true or false, got %r" % (where, canary))
    return Region(name, group, raw["tz"].strip(), zone, start, end, canary, seen,
                  _max_unavailable(where, raw.get("max_unavailable")))


def parse_regions(raw_regions):
    """The regions validated together: one group each, no host in two regions, exactly one canary."""
    if not isinstance(raw_regions, (list, tuple)) or not raw_regions:
        raise ScheduleError("no regions to schedule: the inventory group fleet_regions needs the regions as its "
                            "child groups")
    regions = [parse_region(index, raw) for index, raw in enumerate(raw_regions)]
    by_group = {}
    for region in regions:
        if region.group in by_group:
            raise ScheduleError("region group %s is given twice" % region.group)
        by_group[region.group] = region
    where = {}
    for region in regions:
        for host in region.hosts:
            where.setdefault(host, []).append(region)
    for host, in_regions in where.items():
        if len(in_regions) > 1:
            names = [r.label for r in in_regions]
            raise ScheduleError("host %s is in %s regions, %s and %s: a host belongs to one region only; take it "
                                "out of all but one of those groups"
                                % (host, "two" if len(names) == 2 else len(names), ", ".join(names[:-1]), names[-1]))
    canaries = [r for r in regions if r.canary]
    if not canaries:
        raise ScheduleError("no canary region: set fleet_region_canary: true on exactly one region, the small one "
                            "that goes first")
    if len(canaries) > 1:
        names = [r.label for r in canaries]
        raise ScheduleError("%s canary regions, %s and %s: exactly one region may be the canary"
                            % ("two" if len(names) == 2 else len(names), ", ".join(names[:-1]), names[-1]))
    return regions


def _minutes(value, what, least):
    """A whole number of minutes, at least ``least``."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.match(r"^\s*[0-9]+\s*$", value):
        number = int(value)
    if number is None:
        raise ScheduleError("%s must be a whole number of minutes, got %r" % (what, value))
    if number < least:
        raise ScheduleError("%s must be at least %d minutes, got %d" % (what, least, number))
    return number


# --- Local time ----------------------------------------------------------------------------------------------

def _valid(naive, zone):
    """Whether a local wall time exists in the zone (a time in a spring-forward gap does not)."""
    aware = naive.replace(tzinfo=zone, fold=0)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def _first_valid(naive, zone):
    """The first valid local time at or after ``naive``, which lies in a gap: the instant the clocks jumped."""
    before = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)    # the offset after the jump: earlier in UTC
    after = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)     # the offset before the jump: later in UTC
    offset = after.astimezone(zone).utcoffset()
    low, high = 0, int((after - before).total_seconds())
    while low < high:   # the first second whose offset is the one after the jump
        middle = (low + high) // 2
        if (before + datetime.timedelta(seconds=middle)).astimezone(zone).utcoffset() == offset:
            high = middle
        else:
            low = middle + 1
    return (before + datetime.timedelta(seconds=low)).astimezone(zone)


def localize(naive, zone):
    """(aware local datetime, kind): kind is None, 'gap' (moved to the first valid time) or 'fold' (the first)."""
    first = naive.replace(tzinfo=zone, fold=0)
    if first.utcoffset() == naive.replace(tzinfo=zone, fold=1).utcoffset():
        return first, None
    if _valid(naive, zone):
        return first, "fold"
    return _first_valid(naive, zone), "gap"


def zone_text(moment):
    """'AEDT (UTC+11:00)', or 'UTC+08:00' for a zone whose abbreviation is only its offset."""
    offset = moment.utcoffset()
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    utc = "UTC%s%02d:%02d" % (sign, hours, rest // 60)
    name = moment.tzname() or ""
    return "%s (%s)" % (name, utc) if name and name[0].isalpha() and name != "UTC" else utc


def _abbr(moment):
    name = moment.tzname() or ""
    return name if name and name[0].isalpha() else zone_text(moment)


class Window:
    """A region's window on one night: where it starts and ends in UTC, its real and nominal length, notes."""

    def __init__(self, region, day):
        self.region = region
        self.day = day
        zone = region.zone
        naive_start = datetime.datetime.combine(day, region.start)
        naive_end = datetime.datetime.combine(day + datetime.timedelta(days=1 if region.end < region.start else 0),
                                              region.end)
        self.nominal_minutes = int((naive_end - naive_start).total_seconds() // 60)
        self.notes = []
        local_start, kind = localize(naive_start, zone)
        self._note(kind, "start", naive_start, local_start)
        local_end, kind = localize(naive_end, zone)
        self._note(kind, "end", naive_end, local_end)
        self.local_start = local_start
        self.local_end = local_end
        self.start = local_start.astimezone(UTC)
        self.end = local_end.astimezone(UTC)
        self.minutes = int((self.end - self.start).total_seconds() // 60)
        if self.minutes != self.nominal_minutes:
            self.notes.append("daylight-saving change in this window: %d min instead of %d"
                              % (self.minutes, self.nominal_minutes))

    def _note(self, kind, which, naive, local):
        zone = self.region.tz
        if kind == "gap":
            self.notes.append("%s does not exist on %s in %s (the clocks go forward): the window %ss at %s %s, the "
                              "first valid local time" % (naive.strftime("%H:%M"), naive.date().isoformat(), zone,
                                                          which, local.strftime("%H:%M"), _abbr(local)))
        elif kind == "fold":
            self.notes.append("%s happens twice on %s in %s (the clocks go back): the window %ss at the first, %s %s"
                              % (naive.strftime("%H:%M"), naive.date().isoformat(), zone, which,
                                 local.strftime("%H:%M"), zone_text(local)))


def first_window(region, not_before):
    """The region's first window that starts at or after ``not_before`` (aware)."""
    day = not_before.astimezone(region.zone).date() - datetime.timedelta(days=1)
    for dummy in range(4):
        window = Window(region, day)
        if window.start >= not_before:
            return window
        day += datetime.timedelta(days=1)
    raise ScheduleError("region %s: no window starts within three days after %s" % (region.label, _utc(not_before)))


# --- The schedule --------------------------------------------------------------------------------------------

class Slot:
    """A region's place in the schedule: its order, window, batches (hosts, UTC start and end) and notes."""

    def __init__(self, order, region, window, host_minutes, notes):
        self.order = order
        self.region = region
        self.window = window
        self.minutes = len(region.batches) * host_minutes
        if self.minutes > window.minutes:
            raise ScheduleError(
                "region %s does not fit its window: %d hosts in %d batches of up to %d (fleet_region_max_unavailable "
                "%d%%) take %d x %d = %d min, and its window %s %s gives %d min on the night starting %s; raise "
                "fleet_region_max_unavailable, widen fleet_region_window, or split the region"
                % (region.label, len(region.hosts), len(region.batches), region.batch_size, region.max_unavailable,
                   len(region.batches), host_minutes, self.minutes, region.window_text, region.tz, window.minutes,
                   window.day.isoformat()))
        self.start = window.start
        self.end = window.start + datetime.timedelta(minutes=self.minutes)
        self.local_start = self.start.astimezone(region.zone)
        self.local_end = self.end.astimezone(region.zone)
        self.spare_minutes = window.minutes - self.minutes
        self.batches = []
        for index, hosts in enumerate(region.batches):
            begin = self.start + datetime.timedelta(minutes=index * host_minutes)
            self.batches.append((hosts, begin, begin + datetime.timedelta(minutes=host_minutes)))
        self.notes = list(notes) + window.notes


class Schedule:
    """The whole rollout: its inputs, the canary's soak and the slots in order."""

    def __init__(self, start, host_minutes, soak_minutes, soak_until, slots):
        self.start = start
        self.host_minutes = host_minutes
        self.soak_minutes = soak_minutes
        self.soak_until = soak_until
        self.slots = slots

    @property
    def end(self):
        return max(slot.end for slot in self.slots)

    def slot(self, region):
        """The slot of a region, by its group or its name (or the slot itself)."""
        if isinstance(region, Slot):
            return region
        for slot in self.slots:
            if region in (slot.region.group, slot.region.name):
                return slot
        raise ScheduleError("no region %r in the schedule (its regions: %s)"
                            % (region, ", ".join(s.region.group for s in self.slots)))


def build_schedule(regions, host_minutes=DEFAULT_HOST_MINUTES, soak_minutes=DEFAULT_SOAK_MINUTES, start=None):
    """The rollout schedule of ``regions`` (mappings, see :func:`parse_region`) from ``start`` (UTC).

    Raises ScheduleError with a message for people when the regions or the numbers do not allow one.
    """
    host_minutes = _minutes(host_minutes, "fleet_host_minutes (one batch)", 1)
    soak_minutes = _minutes(soak_minutes, "fleet_canary_soak_minutes", 0)
    if start is None:
        raise ScheduleError("no start: give the date (UTC) the rollout may start from, such as 2026-12-05")
    start = parse_start(start)
    parsed = parse_regions(regions)
    canary = [r for r in parsed if r.canary][0]
    first = Slot(1, canary, first_window(canary, start), host_minutes, [])
    soak_until = first.end + datetime.timedelta(minutes=soak_minutes)
    first.notes.insert(0, "canary: the other regions start at %s or later, its end plus %d min of soak"
                       % (_utc(soak_until), soak_minutes))
    slots = [first]
    remaining = [r for r in parsed if r is not canary]
    while remaining:
        previous = slots[-1]
        bound = max(soak_until, previous.end)
        window, region = min(((first_window(r, bound), r) for r in remaining),
                             key=lambda pair: (pair[0].start, pair[1].name, pair[1].group))
        notes = []
        before = Window(region, window.day - datetime.timedelta(days=1))
        # The night before, when the rollout had begun by then, was not taken: say why. It began in the canary's soak
        # (unless it would overlap the canary itself, right before), or before the previous region's end.
        if before.start >= first.start:
            if before.start < soak_until and not (previous is first and before.start < first.end):
                notes.append("waits for the canary's soak: its window starting %s begins before %s, the canary's end "
                             "plus %d min" % (_local(before.local_start), _utc(soak_until), soak_minutes))
            else:
                notes.append("pushed from the window starting %s to the one starting %s: it would begin before the "
                             "previous region, %s, ends at %s; regions go one after another"
                             % (_local(before.local_start), _local(window.local_start), previous.region.name,
                                _utc(previous.end)))
        slots.append(Slot(len(slots) + 1, region, window, host_minutes, notes))
        remaining.remove(region)
    return Schedule(start, host_minutes, soak_minutes, soak_until, slots)


# --- Output --------------------------------------------------------------------------------------------------

def _iso(moment):
    return moment.isoformat()


def _local(moment):
    return "%s %s" % (moment.strftime("%Y-%m-%d %H:%M"), _abbr(moment))


def _utc(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _span(start, end, with_zone=False):
    """'2026-12-05 14:00 - 15:00' (the end's date only when it differs), with the zone after when asked."""
    text = start.strftime("%Y-%m-%d %H:%M")
    same_zone = start.utcoffset() == end.utcoffset()
    if with_zone and not same_zone:
        text += " " + _abbr(start)
    text += " - " + end.strftime("%H:%M" if end.date() == start.date() else "%Y-%m-%d %H:%M")
    if with_zone:
        text += " " + (zone_text(end) if same_zone else _abbr(end))
    return text


def as_dict(schedule):
    """The schedule as plain JSON-able data; datetimes as ISO 8601 texts (UTC ones with +00:00)."""
    regions = []
    for slot in schedule.slots:
        region, window = slot.region, slot.window
        regions.append({
            "order": slot.order,
            "name": region.name,
            "group": region.group,
            "tz": region.tz,
            "canary": region.canary,
            "hosts": list(region.hosts),
            "max_unavailable": region.max_unavailable,
            "batch_size": region.batch_size,
            "batches": [list(hosts) for hosts, dummy, dummy2 in slot.batches],
            "batch_times": [{"batch": index + 1, "hosts": list(hosts), "start": _iso(begin), "end": _iso(end),
                             "local_start": _iso(begin.astimezone(region.zone)),
                             "local_end": _iso(end.astimezone(region.zone))}
                            for index, (hosts, begin, end) in enumerate(slot.batches)],
            "minutes": slot.minutes,
            "start": _iso(slot.start),
            "end": _iso(slot.end),
            "local_start": _iso(slot.local_start),
            "local_end": _iso(slot.local_end),
            "zone": _abbr(slot.local_start),
            "window": {
                "start": region.start.strftime("%H:%M"),
                "end": region.end.strftime("%H:%M"),
                "night": window.day.isoformat(),
                "local_start": _iso(window.local_start),
                "local_end": _iso(window.local_end),
                "utc_start": _iso(window.start),
                "utc_end": _iso(window.end),
                "minutes": window.minutes,
                "nominal_minutes": window.nominal_minutes,
            },
            "spare_minutes": slot.spare_minutes,
            "notes": list(slot.notes),
        })
    return {
        "start": _iso(schedule.start),
        "end": _iso(schedule.end),
        "host_minutes": schedule.host_minutes,
        "soak_minutes": schedule.soak_minutes,
        "soak_until": _iso(schedule.soak_until),
        "hosts": sum(len(slot.region.hosts) for slot in schedule.slots),
        "regions": regions,
    }


def as_table(schedule):
    """The schedule as a plain text table for people: one row per region in order, its notes below it."""
    header = ["#", "region", "hosts", "batches", "UTC", "local", "window (local)", "spare"]
    rows = []
    for slot in schedule.slots:
        region = slot.region
        rows.append(([str(slot.order), region.name + (" (canary)" if region.canary else ""), str(len(region.hosts)),
                      "%d x %d" % (len(slot.batches), region.batch_size), _span(slot.start, slot.end),
                      _span(slot.local_start, slot.local_end, with_zone=True),
                      "%s, %d min" % (region.window_text, slot.window.minutes), "%d min" % slot.spare_minutes],
                     slot.notes))
    widths = [max(len(cells[i]) for cells in [header] + [r[0] for r in rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    lines = ["Rollout of %d hosts in %d regions from %s: a batch takes %d min, the canary soaks %d min."
             % (sum(len(s.region.hosts) for s in schedule.slots), len(schedule.slots), _utc(schedule.start),
                schedule.host_minutes, schedule.soak_minutes), "", line(header),
             line(["-" * width for width in widths])]
    indent = " " * (widths[0] + 2)
    for cells, notes in rows:
        lines.append(line(cells))
        lines.extend(indent + "note: " + note for note in notes)
    lines.extend(["", "The last region ends %s." % _utc(schedule.end)])
    return "\n".join(lines) + "\n"


def _uid(group, moment, part):
    return "%s-%s-%s@%s" % (group, moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"), part, UID_DOMAIN)


def as_icalendar(schedule, region, contact=DEFAULT_CONTACT, stamp=None):
    """An RFC 5545 calendar (bytes) of one region's slot: one event for the whole slot and one per batch.

    Times are in UTC. The UIDs come from the region's group and the start of each event, so the same schedule
    gives the same events; DTSTAMP is the schedule's start unless ``stamp`` is given, so the same schedule gives
    the same bytes. Needs the icalendar library (imported here, on first use).
    """
    import icalendar  # pylint: disable=import-outside-toplevel

    slot = schedule.slot(region)
    region = slot.region
    stamp = (stamp or schedule.start).astimezone(UTC)
    zone = region.zone
    count = len(slot.batches)
    hosts = ", ".join(region.hosts)
    batch_lines = ["  %d. %s: %s" % (index + 1, _span(begin.astimezone(zone), end.astimezone(zone), with_zone=True),
                                     ", ".join(batch_hosts))
                   for index, (batch_hosts, begin, end) in enumerate(slot.batches)]
    role = "the canary region, first of the rollout" if region.canary else "region %d of %d of the rollout" % (
        slot.order, len(schedule.slots))
    description = "\n".join(
        ["Maintenance of the mail servers of %s (%s), %s." % (region.name, region.group, role),
         "Local time: %s. UTC: %s." % (_span(slot.local_start, slot.local_end, with_zone=True),
                                       _span(slot.start, slot.end)),
         "Hosts (%d): %s." % (len(region.hosts), hosts),
         "Batches (%d, up to %d host%s out of service at a time, %d min each):"
         % (count, region.batch_size, "" if region.batch_size == 1 else "s", schedule.host_minutes)]
        + batch_lines
        + ["The servers of a batch are out of service while it runs; the others carry the mail.",
           "Contact: %s." % contact]
        + ["Note: %s." % note for note in slot.notes])

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Mail maintenance: %s" % region.name)

    def event(uid, summary, begin, end, text):
        item = icalendar.Event()
        item.add("uid", uid)
        item.add("dtstamp", stamp)
        item.add("dtstart", begin.astimezone(UTC))
        item.add("dtend", end.astimezone(UTC))
        item.add("summary", summary)
        item.add("description", text)
        item.add("contact", contact)
        item.add("categories", ["Maintenance"])
        item.add("transp", "OPAQUE")
        calendar.add_component(item)

    event(_uid(region.group, slot.start, "region"),
          "Mail maintenance, %s: %d server%s out of service in turn (%s)"
          % (region.name, len(region.hosts), "" if len(region.hosts) == 1 else "s", hosts),
          slot.start, slot.end, description)
    for index, (batch_hosts, begin, end) in enumerate(slot.batches):
        event(_uid(region.group, begin, "batch%d" % (index + 1)),
              "Mail maintenance, %s, batch %d of %d: %s out of service"
              % (region.name, index + 1, count, ", ".join(batch_hosts)),
              begin, end,
              "\n".join(["Batch %d of %d of the maintenance of the mail servers of %s (%s)."
                         % (index + 1, count, region.name, region.group),
                         "Local time: %s. UTC: %s." % (_span(begin.astimezone(zone), end.astimezone(zone), True),
                                                       _span(begin, end)),
                         "Out of service: %s." % ", ".join(batch_hosts),
                         "The region's other servers carry the mail meanwhile.",
                         "Contact: %s." % contact]))
    return calendar.to_ical()
