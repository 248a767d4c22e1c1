"""The window's filters: per-host outcomes and share mounts."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailops.window.plugins.filter.window import host_values, share_mount

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
