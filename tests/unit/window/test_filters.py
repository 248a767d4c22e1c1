"""The window's filters: per-host outcomes and share mounts."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailops.window.plugins.filter.window import (
    host_values, movers_by_load, share_mount, shares_misplaced, shares_off)

HOSTVARS = {
    "mta1": {"window_problems": ["CPMS is 6.5", "disk full"]},
    "mta2": {"window_problems": []},
    "mailconf2": {},
}


def test_host_values_one_line_per_value_and_missing_hosts_named():
    assert host_values(["mta1", "mta2", "mailconf2"], HOSTVARS, "window_problems", missing="did not answer") == [
        "mta1: CPMS is 6.5",
        "mta1: disk full",
        "mailconf2: did not answer",
    ]


def test_host_values_leaves_out_hosts_without_the_variable_by_default():
    assert host_values(["mta2", "mailconf2"], {"mta2": {"x": "boom"}, "mailconf2": {}}, "x") == ["mta2: boom"]


LAYOUT = {"filesystem": "fs_store2", "mover": "server_3", "path": "/var/cpms/store2"}
ADDRESSES = {"server_2": "celerra-dm2", "server_3": "celerra-dm3"}


def test_share_mount_follows_the_actual_placement():
    assert share_mount(LAYOUT, {"fs_store2": "server_2"}, ADDRESSES)["server"] == "celerra-dm2"


def test_share_mount_uses_the_plan_when_the_placement_is_unknown():
    mount = share_mount(LAYOUT, {}, ADDRESSES)
    assert mount == {"filesystem": "fs_store2", "path": "/var/cpms/store2", "server": "celerra-dm3"}


def test_share_mount_refuses_a_mover_without_address():
    with pytest.raises(AnsibleFilterError, match="server_3"):
        share_mount(LAYOUT, {}, {"server_2": "celerra-dm2"})


def test_off_plan_names_moved_and_unmounted_file_systems():
    from ansible_collections.mailops.window.plugins.filter.window import off_plan

    layout = [
        {"filesystem": "fs_store1", "mover": "server_2"},
        {"filesystem": "fs_store2", "mover": "server_3"},
        {"filesystem": "fs_store3", "mover": "server_3"},
    ]
    placement = {"fs_store1": "server_2", "fs_store2": "server_2", "fs_store3": None}
    assert off_plan(layout, placement) == ["fs_store2 on server_2 (planned server_3)", "fs_store3 not mounted (planned server_3)"]
    assert off_plan(layout[:1], placement) == []


TWO = [{"filesystem": "fs_store1", "mover": "server_2", "path": "/var/cpms/store1"},
       {"filesystem": "fs_store2", "mover": "server_3", "path": "/var/cpms/store2"}]


def test_shares_off_sends_each_share_to_its_planned_mover_or_the_first_other_ready_one():
    placement = {"fs_store1": "server_2", "fs_store2": "server_2"}
    moves = shares_off(TWO, placement, "server_2", ["server_3", "server_2", "server_4"])
    # fs_store1's planned mover is the one going down: the first other ready mover by name takes it.
    assert moves == [dict(TWO[0], mover="server_3"), dict(TWO[1], mover="server_3")]
    placement = {"fs_store1": "server_3", "fs_store2": "server_3"}
    assert shares_off(TWO, placement, "server_3", ["server_2", "server_3"]) == [
        dict(TWO[0], mover="server_2"), dict(TWO[1], mover="server_2")]
    assert shares_off(TWO, placement, "server_2", ["server_2", "server_3"]) == []


def test_shares_off_refuses_when_no_other_mover_is_ready():
    with pytest.raises(AnsibleFilterError, match="no other ready data mover to take fs_store1 off server_2 "
                                                 r"\(ready: server_2\)"):
        shares_off(TWO, {"fs_store1": "server_2"}, "server_2", ["server_2"])


def test_shares_misplaced_lists_shares_off_plan_whose_planned_mover_is_ready():
    assert shares_misplaced(TWO, {"fs_store1": "server_2", "fs_store2": "server_3"}, ["server_2", "server_3"]) == []
    assert shares_misplaced(TWO, {"fs_store1": "server_3", "fs_store2": "server_3"}, ["server_2", "server_3"]) == [TWO[0]]
    # fs_store1 on no mover: moved to its planned one; fs_store2's planned mover not ready: left where it is.
    assert shares_misplaced(TWO, {"fs_store2": "server_2"}, ["server_2"]) == [TWO[0]]
    assert shares_misplaced(TWO, {"fs_store2": "server_2"}, ["server_2", "server_3"]) == TWO


def test_movers_by_load_puts_the_emptiest_mover_first():
    placement = {"fs_store1": "server_2", "fs_store2": "server_2", "fs_log": "server_4"}
    assert movers_by_load(["server_2", "server_3", "server_4"], placement) == ["server_3", "server_4", "server_2"]
    assert movers_by_load(["server_3", "server_2"], {}) == ["server_2", "server_3"]
