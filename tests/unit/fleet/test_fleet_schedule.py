"""The fleet's follow-the-sun rollout schedule: the rules (module_utils/_fleet_schedule.py), its outputs (JSON,
table, calendars read back with icalendar), the fleet_regions filter, and playbooks/fleet_schedule.yml through
ansible-playbook on localhost with a throwaway inventory (check mode, a failing schedule, a missing library)."""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.mailops.window.plugins.filter.fleet import fleet_regions
from ansible_collections.mailops.window.plugins.module_utils._fleet_schedule import (
    ScheduleError,
    as_dict,
    as_icalendar,
    as_table,
    build_schedule,
)
from ansible_collections.mailops.window.plugins.modules import fleet_schedule as fleet_module

icalendar = pytest.importorskip("icalendar")

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "docs" / "examples" / "fleet"
PLAYBOOK = REPO / "playbooks" / "fleet_schedule.yml"
BIN = Path(sys.executable).parent
UTC = datetime.timezone.utc
NIGHT = {"start": "01:00", "end": "05:00"}


def utc(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def region(group, tz, hosts, canary=False, window=None, **more):
    return dict({"group": group, "name": group.split("_", 1)[-1].capitalize(), "tz": tz, "canary": canary,
                 "window": dict(window or NIGHT), "hosts": ["%s.%s.example.invalid" % (host, group) for host in hosts]
                 if isinstance(hosts, list) else ["mta%d.%s.example.invalid" % (i + 1, group) for i in range(hosts)]},
                **more)


def example_regions():
    """The example fleet of docs/examples/fleet: four regions of two MTAs, 01:00-05:00 local, Australia the canary."""
    return [
        region("region_au", "Australia/Sydney", 2, canary=True, name="Australia"),
        region("region_asia", "Asia/Singapore", 2, name="Asia"),
        region("region_europe", "Europe/London", 2, name="Europe"),
        region("region_americas", "America/Mexico_City", 2, name="Americas"),
    ]


def europe_alone(start, window=None, tz="Europe/London"):
    """Europe as the only region (so the canary), from ``start``."""
    return build_schedule([region("region_europe", tz, 2, canary=True, window=window)], 30, 240, start)


# --- Order, batches, soak, overlaps ------------------------------------------------------------------------------

def test_the_canary_goes_first_then_the_others_follow_the_night_westwards():
    schedule = build_schedule(example_regions(), 30, 240, "2026-12-05")
    assert [s.region.name for s in schedule.slots] == ["Australia", "Europe", "Americas", "Asia"]
    assert [s.order for s in schedule.slots] == [1, 2, 3, 4]
    # Each at 01:00 local: Sydney is UTC+11 in December (daylight saving), London UTC, Mexico City UTC-6, Singapore UTC+8.
    assert [(s.start, s.end) for s in schedule.slots] == [
        (utc(2026, 12, 5, 14), utc(2026, 12, 5, 15)),
        (utc(2026, 12, 6, 1), utc(2026, 12, 6, 2)),
        (utc(2026, 12, 6, 7), utc(2026, 12, 6, 8)),
        (utc(2026, 12, 6, 17), utc(2026, 12, 6, 18)),
    ]
    assert [s.local_start.strftime("%Y-%m-%d %H:%M %Z") for s in schedule.slots] == [
        "2026-12-06 01:00 AEDT", "2026-12-06 01:00 GMT", "2026-12-06 01:00 CST", "2026-12-07 01:00 +08"]
    assert [s.spare_minutes for s in schedule.slots] == [180] * 4


def test_the_canary_takes_its_first_window_starting_at_or_after_the_start():
    # 14:00 UTC on the 5th is Sydney's 01:00 of the 6th: a start at that minute takes it, a minute later the next night.
    assert build_schedule(example_regions(), 30, 240, "2026-12-05T14:00Z").slots[0].start == utc(2026, 12, 5, 14)
    assert build_schedule(example_regions(), 30, 240, "2026-12-05T14:01Z").slots[0].start == utc(2026, 12, 6, 14)
    # A start with an offset is converted to UTC: 01:00+11:00 is 14:00 UTC the day before.
    assert build_schedule(example_regions(), 30, 240, "2026-12-06T01:00+11:00").slots[0].start == utc(2026, 12, 5, 14)


@pytest.mark.parametrize("hosts, percent, batches", [
    (5, 40, [2, 2, 1]),        # 40% of 5 is 2 hosts a batch; the last batch has the rest
    (3, 10, [1, 1, 1]),        # 10% of 3 rounds down to 0: at least one host a batch
    (4, 100, [4]),             # all at once
    (4, "50%", [2, 2]),        # a percentage may carry its sign
    (4, None, [2, 2]),         # the default is 50
])
def test_batches_follow_max_unavailable(hosts, percent, batches):
    regions = [region("region_eu", "Europe/London", hosts, canary=True, max_unavailable=percent)]
    slot = build_schedule(regions, 20, 0, "2026-12-05").slots[0]
    assert [len(batch) for batch, dummy, dummy2 in slot.batches] == batches
    assert [host for batch, dummy, dummy2 in slot.batches for host in batch] == slot.region.hosts
    assert slot.minutes == 20 * len(batches)
    assert [(begin - slot.start, end - begin) for dummy, begin, end in slot.batches] == [
        (datetime.timedelta(minutes=20 * i), datetime.timedelta(minutes=20)) for i in range(len(batches))]


def test_no_other_region_starts_before_the_canary_has_soaked():
    schedule = build_schedule(example_regions(), 30, 240, "2026-12-05")
    canary = schedule.slots[0]
    assert schedule.soak_until == canary.end + datetime.timedelta(minutes=240) == utc(2026, 12, 5, 19)
    assert all(slot.start >= schedule.soak_until for slot in schedule.slots[1:])
    # Singapore's night of the 6th (17:00-21:00 UTC on the 5th) begins inside the soak: Asia waits a day, and goes last.
    assert schedule.slots[-1].region.name == "Asia" and schedule.slots[-1].start == utc(2026, 12, 6, 17)
    assert schedule.slots[-1].notes == ["waits for the canary's soak: its window starting 2026-12-06 01:00 UTC+08:00 "
                                        "begins before 2026-12-05 19:00 UTC, the canary's end plus 240 min"]
    assert [s.notes for s in schedule.slots[1:3]] == [[], []]   # Europe's and the Americas' nights came after it
    # Without the soak, Asia takes that night and comes right after the canary.
    quick = build_schedule(example_regions(), 30, 0, "2026-12-05")
    assert [s.region.name for s in quick.slots] == ["Australia", "Asia", "Europe", "Americas"]
    assert quick.slots[1].start == utc(2026, 12, 5, 17)


def test_a_long_soak_moves_everyone_but_the_canary_to_a_later_night():
    schedule = build_schedule(example_regions(), 30, 3 * 24 * 60, "2026-12-05")
    assert all(slot.start >= utc(2026, 12, 8, 15) for slot in schedule.slots[1:])
    assert [s.region.name for s in schedule.slots] == ["Australia", "Asia", "Europe", "Americas"]


FLEETS = [
    example_regions(),
    [region("region_nz", "Pacific/Auckland", 3, canary=True, max_unavailable=34),
     region("region_in", "Asia/Kolkata", 6, window={"start": "22:30", "end": "04:30"}),
     region("region_de", "Europe/Berlin", 4, window={"start": "23:00", "end": "03:00"}),
     region("region_uk", "Europe/London", 4, window={"start": "00:00", "end": "04:00"}),
     region("region_br", "America/Sao_Paulo", 5, max_unavailable=20, window={"start": "00:00", "end": "05:00"}),
     region("region_us", "America/Los_Angeles", 8, max_unavailable=25)],
    # Four regions in one time zone with the same window: one a night.
    [region("region_%s" % name, "Europe/Paris", 2, canary=name == "a") for name in "abcd"],
]


@pytest.mark.parametrize("fleet", FLEETS, ids=["example", "six-zones", "one-zone"])
@pytest.mark.parametrize("start", ["2026-12-05", "2027-03-27T09:30Z", "2027-10-30"])
def test_regions_never_overlap_and_stay_inside_their_windows(fleet, start):
    schedule = build_schedule(fleet, 30, 240, start)
    assert sorted(s.region.group for s in schedule.slots) == sorted(r["group"] for r in fleet)
    assert schedule.slots[0].region.canary
    for previous, slot in zip(schedule.slots, schedule.slots[1:]):
        assert slot.start >= previous.end, (previous.region.group, slot.region.group)
        assert slot.start >= schedule.soak_until
    for slot in schedule.slots:
        assert slot.window.start <= slot.start < slot.end <= slot.window.end
        assert slot.batches[0][1] == slot.start and slot.batches[-1][2] == slot.end


def test_a_region_whose_window_would_overlap_the_previous_one_is_pushed_to_its_next_night():
    fleet = [region("region_uk", "Europe/London", 2, canary=True, name="United Kingdom"),
             region("region_pt", "Europe/Lisbon", 2, name="Portugal"),     # the same hours as London
             region("region_ie", "Europe/Dublin", 2, name="Ireland")]       # and again
    schedule = build_schedule(fleet, 30, 0, "2026-12-05")
    # Ties go by name: Ireland before Portugal; each waits for the night after the one before it.
    assert [(s.region.name, s.start) for s in schedule.slots] == [
        ("United Kingdom", utc(2026, 12, 5, 1)), ("Ireland", utc(2026, 12, 6, 1)), ("Portugal", utc(2026, 12, 7, 1))]
    ireland, portugal = schedule.slots[1].notes, schedule.slots[2].notes
    assert ireland == ["pushed from the window starting 2026-12-05 01:00 GMT to the one starting 2026-12-06 01:00 GMT: "
                       "it would begin before the previous region, United Kingdom, ends at 2026-12-05 02:00 UTC; "
                       "regions go one after another"]
    assert "pushed from the window starting 2026-12-06 01:00 WET to the one starting 2026-12-07 01:00 WET" in portugal[0]
    assert "previous region, Ireland, ends at 2026-12-06 02:00 UTC" in portugal[0]
    assert not [n for n in schedule.slots[0].notes if n.startswith("pushed")]


# --- Errors -------------------------------------------------------------------------------------------------------

def test_a_window_too_short_for_its_region_fails_naming_it_and_what_to_change():
    fleet = example_regions()
    fleet[2] = region("region_europe", "Europe/London", 6, name="Europe", max_unavailable=20,
                      window={"start": "02:00", "end": "04:00"})
    with pytest.raises(ScheduleError) as caught:
        build_schedule(fleet, 30, 240, "2026-12-05")
    message = str(caught.value)
    assert message.startswith("region Europe (region_europe) does not fit its window: 6 hosts in 6 batches of up to 1 ")
    assert "take 6 x 30 = 180 min" in message
    assert "its window 02:00-04:00 Europe/London gives 120 min on the night starting 2026-12-06" in message
    assert "raise fleet_region_max_unavailable, widen fleet_region_window, or split the region" in message
    # Half of them at once fits: 2 batches of 3.
    fleet[2]["max_unavailable"] = 50
    assert build_schedule(fleet, 30, 240, "2026-12-05").slots[1].minutes == 60


def test_the_canary_too_is_checked_against_its_window():
    with pytest.raises(ScheduleError, match=r"^region Au \(region_au\) does not fit its window: 3 hosts .* 90 min, .* "
                                            r"gives 60 min"):
        build_schedule([region("region_au", "Australia/Sydney", 3, canary=True, max_unavailable=1,
                               window={"start": "23:30", "end": "00:30"})], 30, 0, "2026-12-05")


@pytest.mark.parametrize("canaries, expected", [
    ((True, True, False), r"^two canary regions, Au \(region_au\) and Asia \(region_asia\): exactly one region may be "
                          r"the canary$"),
    ((True, True, True), r"^3 canary regions, Au \(region_au\), Asia \(region_asia\) and Eu \(region_eu\)"),
    ((False, False, False), r"^no canary region: set fleet_region_canary: true on exactly one region"),
])
def test_exactly_one_canary(canaries, expected):
    fleet = [region(group, tz, 1, canary=flag) for (group, tz), flag in
             zip([("region_au", "Australia/Sydney"), ("region_asia", "Asia/Tokyo"), ("region_eu", "Europe/Rome")],
                 canaries)]
    with pytest.raises(ScheduleError, match=expected):
        build_schedule(fleet, 30, 240, "2026-12-05")


def test_a_host_in_two_regions_fails_naming_the_host_and_both_regions():
    fleet = example_regions()
    fleet[3]["hosts"].append("mta1.region_europe.example.invalid")
    with pytest.raises(ScheduleError) as caught:
        build_schedule(fleet, 30, 240, "2026-12-05")
    assert str(caught.value) == ("host mta1.region_europe.example.invalid is in two regions, Europe (region_europe) and "
                                 "Americas (region_americas): a host belongs to one region only; take it out of all "
                                 "but one of those groups")


@pytest.mark.parametrize("change, expected", [
    ({"tz": "Europe/Londn"}, r"^region Europe \(region_europe\): unknown time zone 'Europe/Londn' \(fleet_region_tz"),
    ({"tz": "../../etc/passwd"}, r"^region Europe \(region_europe\): unknown time zone '\.\./\.\./etc/passwd'"),
    ({"tz": None}, r"^region Europe \(region_europe\) has no time zone \(fleet_region_tz"),
    ({"window": {"start": "25:00", "end": "05:00"}},
     r"^region Europe \(region_europe\): window start '25:00' is not a time HH:MM between 00:00 and 23:59 "
     r"\(fleet_region_window\.start\)$"),
    ({"window": {"start": "01:00", "end": "5h"}}, r"^region Europe \(region_europe\): window end '5h' is not a time"),
    # An unquoted 23:00 in YAML 1.1 is the base-60 number 1380.
    ({"window": {"start": 1380, "end": "05:00"}},
     r"^region Europe \(region_europe\): window start 1380 is not a time HH:MM \(fleet_region_window\.start\); quote "
     r"the time: unquoted, YAML reads 23:00 as the base-60 number 1380$"),
    ({"window": {"start": "03:00", "end": "03:00"}}, r"its window starts and ends at 03:00"),
    ({"window": None}, r"^region Europe \(region_europe\) has no window \(fleet_region_window"),
    ({"hosts": []}, r"^region Europe \(region_europe\) has no hosts: put its MTAs in the group, or take the group out "
                    r"of fleet_regions$"),
    ({"max_unavailable": 0}, r"fleet_region_max_unavailable 0 is not a percentage from 1 to 100"),
    ({"max_unavailable": "half"}, r"fleet_region_max_unavailable 'half' is not a percentage"),
    ({"canary": "maybe"}, r"^region Europe \(region_europe\): fleet_region_canary must be true or false"),
    ({"timezone": "Europe/London"}, r"^region Europe \(region_europe\): unknown key 'timezone'"),
])
def test_a_bad_region_fails_naming_it_and_the_value(change, expected):
    fleet = example_regions()
    fleet[2].update(change)
    with pytest.raises(ScheduleError, match=expected):
        build_schedule(fleet, 30, 240, "2026-12-05")


@pytest.mark.parametrize("args, expected", [
    ((30, 240, "05/12/2026"), r"^start '05/12/2026' is not an ISO 8601 date"),
    ((0, 240, "2026-12-05"), r"^fleet_host_minutes \(one batch\) must be at least 1 minutes, got 0$"),
    ((30, -1, "2026-12-05"), r"^fleet_canary_soak_minutes must be at least 0 minutes, got -1$"),
    ((30, 240, None), r"^no start"),
])
def test_bad_numbers_and_starts_fail(args, expected):
    with pytest.raises(ScheduleError, match=expected):
        build_schedule(example_regions(), *args)


def test_no_regions_and_a_group_given_twice_fail():
    with pytest.raises(ScheduleError, match="^no regions to schedule"):
        build_schedule([], 30, 240, "2026-12-05")
    fleet = example_regions() + [region("region_asia", "Asia/Tokyo", ["other"])]
    with pytest.raises(ScheduleError, match="^region group region_asia is given twice$"):
        build_schedule(fleet, 30, 240, "2026-12-05")


# --- Daylight saving -----------------------------------------------------------------------------------------------

def test_spring_forward_the_window_is_an_hour_shorter_and_starts_at_the_first_valid_time():
    # Europe/London, Sunday 28 March 2027: at 01:00 GMT the clocks go to 02:00 BST; 01:00-01:59 does not exist.
    slot = europe_alone("2027-03-27T12:00Z").slots[0]
    window = slot.window
    assert window.day == datetime.date(2027, 3, 28)
    assert (window.start, window.end) == (utc(2027, 3, 28, 1), utc(2027, 3, 28, 4))
    assert (window.minutes, window.nominal_minutes) == (180, 240)
    assert slot.start == utc(2027, 3, 28, 1) and slot.local_start.strftime("%H:%M %Z") == "02:00 BST"
    assert slot.spare_minutes == 120
    assert slot.notes[1:] == [
        "01:00 does not exist on 2027-03-28 in Europe/London (the clocks go forward): the window starts at 02:00 BST, "
        "the first valid local time",
        "daylight-saving change in this window: 180 min instead of 240"]


def test_spring_forward_inside_a_window_that_starts_before_the_change():
    slot = europe_alone("2027-03-27T12:00Z", window={"start": "00:00", "end": "04:00"}).slots[0]
    assert (slot.window.start, slot.window.end) == (utc(2027, 3, 28, 0), utc(2027, 3, 28, 3))
    assert slot.notes[1:] == ["daylight-saving change in this window: 180 min instead of 240"]


def test_fall_back_an_ambiguous_start_is_the_first_and_the_window_an_hour_longer():
    # Europe/London, Sunday 31 October 2027: at 02:00 BST the clocks go back to 01:00 GMT; 01:00-01:59 happens twice.
    slot = europe_alone("2027-10-30T12:00Z").slots[0]
    assert (slot.window.start, slot.window.end) == (utc(2027, 10, 31, 0), utc(2027, 10, 31, 5))
    assert (slot.window.minutes, slot.window.nominal_minutes) == (300, 240)
    assert slot.local_start.strftime("%H:%M %Z") == "01:00 BST"
    assert slot.local_end.strftime("%H:%M %Z") == "01:00 GMT"     # an hour of work across the change: 01:00 to 01:00
    assert slot.notes[1:] == [
        "01:00 happens twice on 2027-10-31 in Europe/London (the clocks go back): the window starts at the first, "
        "01:00 BST (UTC+01:00)",
        "daylight-saving change in this window: 300 min instead of 240"]


def test_the_same_window_on_2026s_change_nights():
    spring = europe_alone("2026-03-28T12:00Z").slots[0].window
    autumn = europe_alone("2026-10-24T12:00Z").slots[0].window
    assert (spring.day, spring.minutes) == (datetime.date(2026, 3, 29), 180)
    assert (autumn.day, autumn.minutes) == (datetime.date(2026, 10, 25), 300)
    ordinary = europe_alone("2026-03-21T12:00Z").slots[0].window
    assert (ordinary.minutes, ordinary.notes) == (240, [])


def test_a_start_inside_the_gap_moves_to_the_end_of_the_gap_not_an_hour_on():
    # America/New_York, 8 March 2026: 02:00 EST jumps to 03:00 EDT. 02:30 does not exist: the window starts at 03:00.
    schedule = build_schedule([region("region_us", "America/New_York", 2, canary=True,
                                      window={"start": "02:30", "end": "06:00"})], 30, 0, "2026-03-07T12:00Z")
    slot = schedule.slots[0]
    assert slot.start == utc(2026, 3, 8, 7) and slot.local_start.strftime("%H:%M %Z") == "03:00 EDT"
    assert slot.window.minutes == 180 and slot.window.nominal_minutes == 210
    assert slot.notes[1] == ("02:30 does not exist on 2026-03-08 in America/New_York (the clocks go forward): the "
                             "window starts at 03:00 EDT, the first valid local time")


def test_a_spring_forward_night_can_make_a_window_too_short():
    fleet = [region("region_europe", "Europe/London", 8, canary=True, name="Europe", max_unavailable=25)]
    assert build_schedule(fleet, 60, 0, "2027-03-20T12:00Z").slots[0].spare_minutes == 0   # 4 batches, 240 min
    with pytest.raises(ScheduleError, match=r"takes? 4 x 60 = 240 min, and its window 01:00-05:00 Europe/London gives "
                                            r"180 min on the night starting 2027-03-28"):
        build_schedule(fleet, 60, 0, "2027-03-27T12:00Z")


# --- Outputs ------------------------------------------------------------------------------------------------------

def test_as_dict_is_json_and_its_times_read_back_to_the_schedule():
    schedule = build_schedule(example_regions(), 30, 240, "2026-12-05")
    data = as_dict(schedule)
    assert json.loads(json.dumps(data)) == data
    assert data["start"] == "2026-12-05T00:00:00+00:00" and data["soak_until"] == "2026-12-05T19:00:00+00:00"
    assert data["end"] == "2026-12-06T18:00:00+00:00" and data["hosts"] == 8
    for slot, entry in zip(schedule.slots, data["regions"]):
        assert datetime.datetime.fromisoformat(entry["start"]) == slot.start
        assert datetime.datetime.fromisoformat(entry["end"]) == slot.end
        assert datetime.datetime.fromisoformat(entry["local_start"]) == slot.start
        assert entry["batches"] == [list(hosts) for hosts, dummy, dummy2 in slot.batches]
        assert [datetime.datetime.fromisoformat(b["start"]) for b in entry["batch_times"]] == [
            begin for dummy, begin, dummy2 in slot.batches]
    australia = data["regions"][0]
    assert australia["local_start"] == "2026-12-06T01:00:00+11:00" and australia["zone"] == "AEDT"
    assert australia["window"] == {
        "start": "01:00", "end": "05:00", "night": "2026-12-06", "local_start": "2026-12-06T01:00:00+11:00",
        "local_end": "2026-12-06T05:00:00+11:00", "utc_start": "2026-12-05T14:00:00+00:00",
        "utc_end": "2026-12-05T18:00:00+00:00", "minutes": 240, "nominal_minutes": 240}
    assert (australia["spare_minutes"], australia["canary"], australia["batch_size"]) == (180, True, 1)
    assert data["regions"][3]["zone"] == "UTC+08:00"   # Singapore's zone has no abbreviation, only its offset


def test_as_table_lists_the_regions_in_order_with_their_notes():
    text = as_table(build_schedule(example_regions(), 30, 240, "2026-12-05"))
    lines = text.splitlines()
    assert lines[0] == ("Rollout of 8 hosts in 4 regions from 2026-12-05 00:00 UTC: a batch takes 30 min, the canary "
                        "soaks 240 min.")
    assert re.match(r"^#\s+region\s+hosts\s+batches\s+UTC\s+local\s+window \(local\)\s+spare$", lines[2])
    rows = [line for line in lines if re.match(r"^\d ", line)]
    assert [row.split()[1] for row in rows] == ["Australia", "Europe", "Americas", "Asia"]
    assert re.split(r"\s{2,}", rows[0]) == ["1", "Australia (canary)", "2", "2 x 1", "2026-12-05 14:00 - 15:00",
                                            "2026-12-06 01:00 - 02:00 AEDT (UTC+11:00)", "01:00-05:00, 240 min",
                                            "180 min"]
    assert "2026-12-07 01:00 - 02:00 UTC+08:00" in rows[3]
    assert lines[lines.index(rows[0]) + 1].strip() == ("note: canary: the other regions start at 2026-12-05 19:00 UTC "
                                                       "or later, its end plus 240 min of soak")
    assert lines[-1] == "The last region ends 2026-12-06 18:00 UTC."


def test_a_slot_across_the_change_shows_both_zone_abbreviations():
    text = as_table(europe_alone("2027-10-30T12:00Z"))
    assert "2027-10-31 01:00 BST - 01:00 GMT" in text


def events(data):
    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


def test_the_calendar_has_an_event_per_batch_and_one_for_the_region_in_utc():
    schedule = build_schedule(example_regions(), 30, 240, "2026-12-05")
    data = as_icalendar(schedule, "region_europe")
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    calendar = icalendar.Calendar.from_ical(data)
    assert str(calendar["version"]) == "2.0" and "mailops.window" in str(calendar["prodid"])
    found = events(data)
    assert len(found) == 1 + 2
    whole, first, second = found
    assert [(e.decoded("dtstart"), e.decoded("dtend")) for e in found] == [
        (utc(2026, 12, 6, 1), utc(2026, 12, 6, 2)), (utc(2026, 12, 6, 1), utc(2026, 12, 6, 1, 30)),
        (utc(2026, 12, 6, 1, 30), utc(2026, 12, 6, 2))]
    assert all(e.decoded("dtstart").utcoffset() == datetime.timedelta(0) for e in found)
    assert b"DTSTART:20261206T010000Z\r\n" in data
    assert str(whole["summary"]) == ("Mail maintenance, Europe: 2 servers out of service in turn "
                                     "(mta1.region_europe.example.invalid, mta2.region_europe.example.invalid)")
    assert str(first["summary"]) == ("Mail maintenance, Europe, batch 1 of 2: mta1.region_europe.example.invalid out "
                                     "of service")
    description = str(whole["description"])
    assert "Hosts (2): mta1.region_europe.example.invalid, mta2.region_europe.example.invalid." in description
    assert "  1. 2026-12-06 01:00 - 01:30 GMT (UTC+00:00): mta1.region_europe.example.invalid" in description
    assert "  2. 2026-12-06 01:30 - 02:00 GMT (UTC+00:00): mta2.region_europe.example.invalid" in description
    assert "Contact: the rollout's central oversight." in description
    assert str(second["contact"]) == "the rollout's central oversight"
    assert [str(e["uid"]) for e in found] == [
        "region_europe-20261206T010000Z-region@fleet.mailops.window",
        "region_europe-20261206T010000Z-batch1@fleet.mailops.window",
        "region_europe-20261206T013000Z-batch2@fleet.mailops.window"]


def test_the_calendar_is_the_same_bytes_and_uids_when_computed_again():
    first = as_icalendar(build_schedule(example_regions(), 30, 240, "2026-12-05"), "region_au")
    again = as_icalendar(build_schedule(example_regions(), 30, 240, "2026-12-05"), "Australia")
    assert first == again
    later = as_icalendar(build_schedule(example_regions(), 30, 240, "2026-12-06"), "region_au")
    uids = [str(e["uid"]) for e in events(later)]
    assert len(set(uids)) == len(uids) == 3
    assert not set(uids) & set(str(e["uid"]) for e in events(first))   # another night, other events


def test_the_calendar_names_the_contact_given_and_refuses_an_unknown_region():
    schedule = build_schedule(example_regions(), 30, 240, "2026-12-05")
    found = events(as_icalendar(schedule, "region_asia", contact="the NOC, +1 555 0100"))
    assert {str(e["contact"]) for e in found} == {"the NOC, +1 555 0100"}
    with pytest.raises(ScheduleError, match="no region 'region_mars' in the schedule"):
        as_icalendar(schedule, "region_mars")


# --- The fleet_regions filter -----------------------------------------------------------------------------------

def example_hostvars():
    """hostvars of the example inventory as a play sees them: each host with its region's and all's variables."""
    common = yaml.safe_load((EXAMPLE / "group_vars" / "all.yml").read_text(encoding="utf-8"))
    inventory = yaml.safe_load((EXAMPLE / "hosts.yml").read_text(encoding="utf-8"))
    hostvars = {}
    for group, body in inventory["all"]["children"]["fleet_regions"]["children"].items():
        own = yaml.safe_load((EXAMPLE / "group_vars" / ("%s.yml" % group)).read_text(encoding="utf-8"))
        for host in body["hosts"]:
            hostvars[host] = dict(common, **own)
    return hostvars


def test_fleet_regions_reads_the_child_groups_and_their_variables():
    regions = fleet_regions([str(EXAMPLE / "hosts.yml")], example_hostvars())
    assert [r["group"] for r in regions] == ["region_au", "region_asia", "region_europe", "region_americas"]
    assert regions[0] == {"group": "region_au", "hosts": ["mta1.au.example.invalid", "mta2.au.example.invalid"],
                          "name": "Australia", "tz": "Australia/Sydney", "window": {"start": "01:00", "end": "05:00"},
                          "canary": True, "max_unavailable": 50}
    schedule = build_schedule(regions, 30, 240, "2026-12-05")
    assert [s.region.group for s in schedule.slots] == ["region_au", "region_europe", "region_americas", "region_asia"]


def test_fleet_regions_refuses_hosts_of_one_region_that_disagree():
    hostvars = example_hostvars()
    hostvars["mta2.eu.example.invalid"] = dict(hostvars["mta2.eu.example.invalid"], fleet_region_tz="Europe/Paris")
    with pytest.raises(AnsibleFilterError, match=r"the hosts of region region_europe disagree on fleet_region_tz: "
                                                 r"mta1\.eu\.example\.invalid has 'Europe/London', "
                                                 r"mta2\.eu\.example\.invalid has 'Europe/Paris'"):
        fleet_regions([str(EXAMPLE / "hosts.yml")], hostvars)


def test_fleet_regions_needs_the_parent_group(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    mta:\n      hosts:\n        mta1.example.invalid:\n", encoding="utf-8")
    with pytest.raises(AnsibleFilterError, match="has no group fleet_regions"):
        fleet_regions([str(inventory)], {})


# --- The module's documentation ------------------------------------------------------------------------------------

def ansible_env(root):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MAILOPS_", "PYTHONPATH")))
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    config = root / "ansible.cfg"
    config.write_text(textwrap.dedent("""\
        [defaults]
        collections_path = %s
        retry_files_enabled = False
        """ % (REPO / "collections")), encoding="utf-8")
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_LOCAL_TEMP=str(root / "tmp"), ANSIBLE_HOME=str(root / "home"))
    return env


def test_ansible_doc_renders_the_module_and_matches_its_argument_spec(tmp_path):
    name = "mailops.window.fleet_schedule"
    proc = subprocess.run([str(BIN / "ansible-doc"), "--json", "-t", "module", name], cwd=tmp_path,
                          env=ansible_env(tmp_path), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)[name]["doc"]
    spec = fleet_module.argument_spec()
    assert set(doc["options"]) == set(spec)
    for option, rule in spec.items():
        assert doc["options"][option]["type"] == rule["type"], option
        assert doc["options"][option].get("default") == rule.get("default"), option
    assert set(doc["options"]["regions"]["suboptions"]) == set(spec["regions"]["options"])
    proc = subprocess.run([str(BIN / "ansible-doc"), "-t", "filter", "mailops.window.fleet_regions"], cwd=tmp_path,
                          env=ansible_env(tmp_path), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and "ansible_inventory_sources" in proc.stdout, proc.stderr


# --- playbooks/fleet_schedule.yml through ansible-playbook ---------------------------------------------------------

class Site:
    """A throwaway copy of the example inventory in tmp_path, and runs of the playbook against it."""

    def __init__(self, root):
        self.root = root
        self.inventory = root / "inventory"
        shutil.copytree(EXAMPLE, self.inventory, ignore=shutil.ignore_patterns("calendars"))
        self.out = root / "out"
        self.env = ansible_env(root)

    def region_vars(self, group, **values):
        path = self.inventory / "group_vars" / ("%s.yml" % group)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data.update(values)
        path.write_text(yaml.safe_dump(data), encoding="utf-8")

    def run(self, *args, env=None, start="2026-12-05"):
        extra = ["-e", "fleet_start=%s" % start] if start else []
        return subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(self.inventory / "hosts.yml"), str(PLAYBOOK),
             "-e", "fleet_schedule_dir=%s" % self.out] + extra + list(args),
            cwd=self.root, env=dict(self.env, **(env or {})), capture_output=True, text=True, timeout=300, check=False)


def recap(proc):
    match = re.search(r"^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout,
                      re.M)
    assert match, proc.stdout + proc.stderr
    return tuple(int(n) for n in match.groups())


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path)


def test_the_playbook_writes_the_schedule_and_a_calendar_per_region_and_a_rerun_changes_nothing(site):
    done = site.run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert recap(done) == (4, 1, 0, 0)
    assert sorted(p.name for p in site.out.iterdir()) == [
        "region_americas.ics", "region_asia.ics", "region_au.ics", "region_europe.ics", "schedule.json",
        "schedule.txt"]
    data = json.loads((site.out / "schedule.json").read_text(encoding="utf-8"))
    # The example's soak (120 min) lets Asia's night follow the canary's: the seed's order.
    assert [r["group"] for r in data["regions"]] == ["region_au", "region_asia", "region_europe", "region_americas"]
    assert data == as_dict(build_schedule(example_regions_of(site), 30, 120, "2026-12-05"))
    table = (site.out / "schedule.txt").read_text(encoding="utf-8")
    assert "1  Australia (canary)" in table and "1  Australia (canary)" in done.stdout
    assert len(events((site.out / "region_au.ics").read_bytes())) == 3
    again = site.run()
    assert again.returncode == 0 and recap(again) == (4, 0, 0, 0), again.stdout


def example_regions_of(site):
    """The regions of the site's inventory, as the filter gives them (the playbook's input)."""
    hostvars = {}
    inventory = yaml.safe_load((site.inventory / "hosts.yml").read_text(encoding="utf-8"))
    common = yaml.safe_load((site.inventory / "group_vars" / "all.yml").read_text(encoding="utf-8"))
    for group, body in inventory["all"]["children"]["fleet_regions"]["children"].items():
        own = yaml.safe_load((site.inventory / "group_vars" / ("%s.yml" % group)).read_text(encoding="utf-8"))
        hostvars.update((host, dict(common, **own)) for host in body["hosts"])
    return fleet_regions([str(site.inventory / "hosts.yml")], hostvars)


def test_the_start_and_the_contact_may_come_from_the_inventory(site):
    # Unquoted in YAML, the start is a date, not a text.
    common = site.inventory / "group_vars" / "all.yml"
    common.write_text(common.read_text(encoding="utf-8") + "fleet_start: 2027-03-27\nfleet_contact: the NOC\n",
                      encoding="utf-8")
    done = site.run(start=None)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((site.out / "schedule.json").read_text(encoding="utf-8"))
    assert data["start"] == "2027-03-27T00:00:00+00:00"
    europe = [r for r in data["regions"] if r["group"] == "region_europe"][0]
    assert europe["start"] == "2027-03-28T01:00:00+00:00" and europe["window"]["minutes"] == 180
    assert "daylight-saving change in this window: 180 min instead of 240" in europe["notes"]
    assert {str(e["contact"]) for e in events((site.out / "region_europe.ics").read_bytes())} == {"the NOC"}


def test_check_mode_writes_nothing_and_says_what_would_change(site):
    done = site.run("--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert recap(done) == (4, 1, 0, 0)
    assert not site.out.exists()
    assert "schedule.json" in done.stdout and "2  Asia" in done.stdout


def test_a_schedule_that_cannot_be_kept_fails_the_run_naming_the_region(site):
    site.region_vars("region_asia", fleet_region_window={"start": "01:00", "end": "01:30"})
    done = site.run()
    assert done.returncode != 0
    assert recap(done)[3] == 1
    assert ("fleet_schedule: region Asia (region_asia) does not fit its window: 2 hosts in 2 batches of up to 1 "
            in done.stdout), done.stdout
    assert not site.out.exists()


def test_a_host_in_two_regions_fails_the_run_naming_both(site):
    hosts = site.inventory / "hosts.yml"
    hosts.write_text(hosts.read_text(encoding="utf-8").replace(
        "            mta2.americas.example.invalid:\n",
        "            mta2.americas.example.invalid:\n            mta1.eu.example.invalid:\n"), encoding="utf-8")
    done = site.run()
    assert done.returncode != 0
    assert ("host mta1.eu.example.invalid is in two regions, Europe (region_europe) and Americas (region_americas)"
            in done.stdout), done.stdout


def test_without_icalendar_the_run_fails_saying_which_library_is_missing(site, tmp_path):
    shadow = tmp_path / "shadow" / "icalendar"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named icalendar (hidden for the test)')\n",
                                        encoding="utf-8")
    done = site.run(env={"PYTHONPATH": str(shadow.parent)})
    assert done.returncode != 0
    assert "Failed to import the required Python library (icalendar)" in done.stdout, done.stdout
    assert not site.out.exists()


def test_the_example_calendars_in_the_docs_are_what_the_playbook_writes(site):
    done = site.run()
    assert done.returncode == 0, done.stdout + done.stderr
    committed = EXAMPLE / "calendars"
    names = sorted(p.name for p in committed.iterdir())
    assert names == sorted(p.name for p in site.out.iterdir())
    for name in names:
        assert (committed / name).read_bytes() == (site.out / name).read_bytes(), name
