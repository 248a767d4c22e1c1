"""The fake Control Station's state machine: ordering rules, the lock, pushes to the movers,
reboots and panics, upgrades and rollbacks, faults and reset. Jobs run as real detached processes
at TIME_SCALE (a reboot lasts 0.24 s, a CS upgrade 1.5 s)."""

import io
import os
import socket
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest_celerra import (  # noqa: E402,F401  pylint: disable=unused-import
    TIME_SCALE, cl_jobs, cl_model, cl_reset, cl_store, nas, served, set_scale, wait_cs)

LOCK_LINE = "Error 2201: server_2 : unable to acquire lock(s), try later\n"

CHANGES = [
    ("server_mount", "server_2", "fs_store1", "/fs_store1"),
    ("server_umount", "server_2", "-perm", "fs_store2"),
    ("server_export", "server_2", "-Protocol", "nfs", "-option", "rw=mta1", "/fs_store1"),
    ("server_export", "server_2", "-unexport", "-perm", "/fs_store1"),
    ("server_cpu", "server_2", "-reboot", "now"),
]


# ---------------------------------------------------------------- the lock

@pytest.mark.parametrize("argv", CHANGES, ids=[a[0] for a in CHANGES])
def test_changes_fail_with_2201_while_another_holds_the_lock(nas, argv):
    fd = cl_store.try_global_lock(nas.root)
    assert fd is not None
    try:
        before = nas.state()
        assert nas.run(*argv) == (2, LOCK_LINE)
        assert nas.state() == before
        assert nas.movers["server_2"].requests == []
        # reads are not locked
        assert nas.run("server_export", "server_2", "-list")[0] == 0
        assert nas.run("nas_version") == (0, "4.2.16-5\n")
    finally:
        os.close(fd)
    code, out = nas.run(*argv)
    assert code == 0 or out == "Error 2214: server_2 : fs_store2 is exported, unexport first\n"


def test_lock_held_fault_blocks_every_change_until_cleared(nas):
    assert nas.fault("set", "lock_held", "1") == (0, "")
    for argv in CHANGES:
        assert nas.run(*argv) == (2, LOCK_LINE), argv
    code, out = nas.run("nas_upgrade", "-cs", "-to", "5.1")
    assert (code, out) == (2, "Error 2201: nas_upgrade : unable to acquire lock(s), try later\n")
    assert nas.fault("clear", "lock_held") == (0, "")
    assert nas.run(*CHANGES[2]) == (0, "server_2 : done\n")


def test_a_change_releases_the_lock(nas):
    assert nas.run(*CHANGES[2])[0] == 0
    assert cl_store.global_lock_free(nas.root)
    assert nas.run("server_export", "server_2", "-option", "bad", "/fs_store1")[0] == 2
    assert cl_store.global_lock_free(nas.root)


# ---------------------------------------------------------------- pushes to the movers

def test_each_change_pushes_the_movers_whole_state(nas):
    assert served(nas, "server_2") == ["/fs_store1", "/fs_store2"]
    assert nas.run("server_export", "server_2", "-unexport", "-perm", "/fs_store1")[0] == 0
    assert served(nas, "server_2") == ["/fs_store2"]
    assert nas.run("server_umount", "server_2", "-perm", "fs_store1")[0] == 0
    assert nas.run("server_mount", "server_3", "fs_store1", "/fs_store1")[0] == 0
    assert served(nas, "server_3") == []
    assert nas.run("server_export", "server_3", "-option", "rw=mta1:mta2,root=mta1",
                   "/fs_store1")[0] == 0
    assert served(nas, "server_3") == ["/fs_store1"]
    last = nas.movers["server_3"].requests[-1]
    assert last["op"] == "apply" and last["mover"] == "server_3"
    assert last["mounts"] == [{"fs": "fs_store1", "path": "/fs_store1", "mode": "rw"}]
    assert last["exports"][0]["options"] == {"rw": ["mta1", "mta2"], "root": ["mta1"]}
    assert "Clients = 10.0.0.11; Access_Type = RW; Squash = No_Root_Squash;" in \
        nas.movers["server_3"].config
    assert "Clients = 10.0.0.12; Access_Type = RW; Squash = Root_Squash;" in \
        nas.movers["server_3"].config


def free_fs_store2(nas):
    assert nas.run("server_export", "server_2", "-unexport", "-perm", "/fs_store2")[0] == 0
    assert nas.run("server_umount", "server_2", "-perm", "fs_store2")[0] == 0


def test_unreachable_agent_fails_the_change_and_keeps_the_state(nas):
    free_fs_store2(nas)
    nas.movers["server_3"].close()
    before = nas.state()
    code, out = nas.run("server_mount", "server_3", "fs_store2", "/fs_store2")
    assert code == 2
    assert out.startswith("Error 2102: server_3 : data mover not responding (127.0.0.1:")
    assert out.count("\n") == 1
    assert nas.state() == before
    assert nas.run("server_cpu", "server_3", "-reboot", "now")[0] == 2
    assert nas.state() == before


def test_agent_refusal_fails_the_change_and_keeps_the_state(nas):
    nas.movers["server_2"].ganesha.fail = True
    before = nas.state()
    code, out = nas.run("server_export", "server_2", "-unexport", "-perm", "/fs_store1")
    assert code == 2
    assert "nfs-ganesha exited with 2" in out
    assert nas.state() == before


def test_agent_refuses_requests_for_another_mover(nas):
    free_fs_store2(nas)
    conf = Path(nas.root) / "state" / "lab.conf"
    text = conf.read_text(encoding="utf-8")
    port3 = nas.movers["server_3"].port
    port2 = nas.movers["server_2"].port
    conf.write_text(text.replace(":%d\n" % port3, ":%d\n" % port2), encoding="utf-8")
    code, out = nas.run("server_mount", "server_3", "fs_store2", "/fs_store2")
    assert code == 2 and "this is server_2, not server_3" in out


def test_agent_client_retries_a_temporary_dns_failure(nas, monkeypatch):
    agent_mod = sys.modules["celerra_lab.agent"]
    real = agent_mod.socket.getaddrinfo
    calls = []

    def flaky(host, *args, **kwargs):
        calls.append(host)
        if len(calls) < 3:
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(agent_mod.socket, "getaddrinfo", flaky)
    assert nas.run(*CHANGES[2]) == (0, "server_2 : done\n")
    assert len(calls) >= 3  # two temporary failures, then the lookup that worked

    def unknown(host, *args, **kwargs):
        calls.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    calls.clear()
    monkeypatch.setattr(agent_mod.socket, "getaddrinfo", unknown)
    code, out = nas.run(*CHANGES[2])
    assert (code, out) == (2, "Error 2102: server_2 : data mover not responding (127.0.0.1:%d: "
                              "Name or service not known)\n" % nas.movers["server_2"].port)
    assert len(calls) == 1


def test_lab_conf_defaults_and_addresses(tmp_path):
    (tmp_path / "state").mkdir()
    conf = cl_store.ensure_conf(str(tmp_path))
    assert conf["time_scale"] == "0.01"
    assert cl_store.mover_address(conf, "server_2") == ("celerra-dm2", 5081)
    assert cl_store.mover_address(conf, "server_3") == ("celerra-dm3", 5081)
    assert cl_store.duration(conf, "cs_upgrade") == pytest.approx(15.0)
    assert cl_store.duration(conf, "cs_rollback") == pytest.approx(18.0)
    assert cl_store.duration(conf, "dm_upgrade_all") == pytest.approx(36.0)
    assert cl_store.duration(conf, "reboot") == pytest.approx(2.4)
    path = tmp_path / "state" / "lab.conf"
    path.write_text("# mine\ntime_scale=1\nmover.server_2=dm-a:6000\n", encoding="utf-8")
    conf = cl_store.ensure_conf(str(tmp_path))
    assert path.read_text(encoding="utf-8") == (
        "# mine\ntime_scale=1\nmover.server_2=dm-a:6000\nmover.server_3=celerra-dm3\n")
    assert cl_store.mover_address(conf, "server_2") == ("dm-a", 6000)
    assert cl_store.duration(conf, "reboot") == pytest.approx(240.0)


# ---------------------------------------------------------------- reboots and panics

def test_reason_walk_of_a_reboot():
    mover = {"boot": {"state": "rebooting", "started": 100.0, "duration": 8.0, "panic": False}}
    codes = [cl_model.mover_reason(mover, 100.0 + t) for t in (0, 1, 2, 3, 4, 5, 6, 7, 8, 20)]
    assert codes == [0, 0, 1, 1, 3, 3, 4, 4, 4, 4]
    mover["boot"]["panic"] = True
    codes = [cl_model.mover_reason(mover, 100.0 + t) for t in (0, 2, 3, 5, 6, 20)]
    assert codes == [0, 0, 1, 1, 1, 1]
    mover["boot"]["state"] = "panicked"
    assert cl_model.mover_reason(mover, 0) == 7
    mover["boot"]["state"] = "ready"
    assert cl_model.mover_reason(mover, 0) == 5


def test_monitored_reboot_walks_the_codes_and_comes_back(nas):
    set_scale(nas, 0.005)  # 1.2 s
    code, out = nas.run("server_cpu", "server_2", "-reboot", "-monitor", "now")
    assert code == 0
    assert out.startswith("server_2 : reboot in progress ") and out.endswith(".done\n")
    codes = [int(c) for c in out[len("server_2 : reboot in progress "):-len(".done\n")].split(".")]
    # Which codes a poll sees depends on when the machine schedules it (the walk itself is checked
    # against the clock in test_reason_walk_of_a_reboot): only their order and range are the contract.
    assert codes and codes == sorted(codes) and set(codes) <= {0, 1, 3, 4}
    ops = [r["op"] for r in nas.movers["server_2"].requests]
    assert ops == ["down", "apply"]
    assert served(nas, "server_2") == ["/fs_store1", "/fs_store2"]
    assert " 5 - slot_2 contacted\n" in nas.run("getreason")[1]
    nas.wait_jobs()


def test_reboot_without_monitor_returns_at_once_and_blocks_changes(nas):
    set_scale(nas, 0.005)
    assert nas.run("server_cpu", "server_3", "-reboot", "now") == (
        0, "server_3 : reboot in progress\n")
    assert nas.movers["server_3"].agent.state == "down"
    code, out = nas.run("server_mount", "server_3", "fs_store1")
    assert code == 2 and out.startswith("Error 2102: server_3 : data mover not ready (reason ")
    code, out = nas.run("server_cpu", "server_3", "-reboot", "now")
    assert code == 2 and out.startswith("Error 2102: server_3 : data mover not ready")
    # the other mover is unaffected
    assert nas.run("server_export", "server_2", "-option", "rw=mta1", "/fs_store1")[0] == 0
    nas.wait_for(lambda s: s["movers"]["server_3"]["boot"]["state"] == "ready", what="reboot")
    assert nas.movers["server_3"].agent.state == "up"
    nas.wait_jobs()


def test_dm_panic_fault_panics_the_next_reboot_only(nas):
    set_scale(nas, 0.005)
    assert nas.fault("set", "dm_panic", "server_2") == (0, "")
    code, out = nas.run("server_cpu", "server_2", "-reboot", "-monitor", "now")
    assert code == 2
    first, second = out.splitlines()
    assert first.startswith("server_2 : reboot in progress 0") and first.endswith(".1.7")
    assert second == "Error 2102: server_2 : data mover panicked (reason 7)"
    assert nas.fault("list") == (0, "")
    assert nas.movers["server_2"].agent.state == "down"
    assert " 7 - slot_2 panic\n" in nas.run("getreason")[1]
    assert " actual = offline, panicked\n" in nas.run("nas_server", "-info", "server_2")[1]
    assert nas.run("nas_checkup")[0] == 2
    # down until rebooted again
    assert nas.run("server_export", "server_2", "-list")[0] == 2
    code, out = nas.run("server_cpu", "server_2", "-reboot", "-monitor", "now")
    assert code == 0 and out.endswith(".done\n")
    assert served(nas, "server_2") == ["/fs_store1", "/fs_store2"]
    nas.wait_jobs()


# ---------------------------------------------------------------- control station upgrade

def test_cs_upgrade_holds_the_lock_walks_the_steps_and_finishes(nas):
    code, out = nas.run("nas_upgrade", "-cs", "-to", "5.1")
    assert (code, out) == (0, "nas_upgrade: control station upgrade 4.2.16-5 -> 5.1.23-2 "
                              "started\n")
    assert not cl_store.global_lock_free(nas.root)
    assert nas.run(*CHANGES[0]) == (2, LOCK_LINE)
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1") == (
        2, "Error 5011: nas_upgrade : an upgrade is already running\n")
    assert nas.run("nas_upgrade", "-dm", "ALL", "-to", "4.2") == (
        2, "Error 5011: nas_upgrade : an upgrade is already running\n")
    code, out = nas.run("nas_version")
    assert code == 2 and out.startswith(
        "Error 5005: nas_version : control station software inconsistent (upgrade 4.2.16-5 -> "
        "5.1.23-2 in progress at step ")
    seen = set()
    while nas.state()["cs"]["upgrade"]["state"] == "running":
        line = nas.run("nas_upgrade", "-status")[1].splitlines()[0]
        seen.add(line.split()[2])
        time.sleep(0.05)
    assert {"step=1/5", "step=3/5", "step=5/5"} <= seen
    assert nas.run("nas_version") == (0, "5.1.23-2\n")
    assert nas.run("nas_upgrade", "-status")[1].splitlines()[0] == (
        "component=cs state=done step=5/5 step_name=restart_services from=4.2.16-5 "
        "to=5.1.23-2 progress=100")
    nas.wait_jobs()
    assert cl_store.global_lock_free(nas.root)
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1") == (0, "nas_upgrade: already at "
                                                              "5.1.23-2\n")
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1.23-2")[0] == 0
    assert nas.run("nas_checkup")[0] == 1  # movers on 4.2: warning


def test_cs_upgrade_fault_fails_at_the_step_and_rollback_restores(nas):
    assert nas.fault("set", "cs_upgrade_fail", "3") == (0, "")
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1")[0] == 0
    assert nas.fault("list") == (0, "")  # consumed
    wait_cs(nas, ("failed",))
    nas.wait_jobs()
    line = ("Error 5005: nas_version : control station software inconsistent (upgrade 4.2.16-5 "
            "-> 5.1.23-2 failed at step 3/5 install_packages)\n")
    assert nas.run("nas_version") == (2, line)
    status = nas.run("nas_upgrade", "-status")[1].splitlines()[0]
    assert status == ("component=cs state=failed step=3/5 step_name=install_packages "
                      "from=4.2.16-5 to=5.1.23-2 progress=50")
    assert nas.run("nas_checkup")[0] == 2
    code, out = nas.run("server_mount", "server_3", "fs_store1")
    assert code == 2 and out.startswith("Error 5005: server_mount : ")
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1")[1].startswith("Error 5005: nas_upgrade")
    assert nas.run("nas_upgrade", "-dm", "ALL", "-to", "4.2")[0] == 2
    assert nas.run("nas_upgrade", "-cs", "-rollback") == (
        0, "nas_upgrade: control station rollback 5.1.23-2 -> 4.2.16-5 started\n")
    assert nas.run(*CHANGES[2]) == (2, LOCK_LINE)
    assert nas.run("nas_version")[1].startswith(
        "Error 5005: nas_version : control station software inconsistent (rollback 5.1.23-2 -> "
        "4.2.16-5 in progress at step ")
    wait_cs(nas, ("rolled_back",))
    nas.wait_jobs()
    assert nas.run("nas_version") == (0, "4.2.16-5\n")
    assert nas.run("nas_upgrade", "-status")[1].splitlines()[0] == (
        "component=cs state=rolled_back step=3/3 step_name=restart_services from=5.1.23-2 "
        "to=4.2.16-5 progress=100")
    assert nas.run("nas_upgrade", "-cs", "-rollback") == (
        2, "Error 5011: nas_upgrade : nothing to roll back\n")
    assert nas.run("nas_checkup")[0] == 0


def test_rollback_of_a_running_upgrade_stops_it(nas):
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1")[0] == 0
    nas.wait_for(lambda s: s["cs"]["upgrade"]["step"] >= 2, what="step 2")
    assert nas.run("nas_upgrade", "-cs", "-rollback")[0] == 0
    assert nas.state()["cs"]["upgrade"]["state"] == "rolling_back"
    assert len(cl_jobs.job_pids(nas.root)) == 1
    wait_cs(nas, ("rolled_back",))
    nas.wait_jobs()
    assert nas.run("nas_version") == (0, "4.2.16-5\n")


def test_rollback_of_a_finished_upgrade(nas):
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1")[0] == 0
    wait_cs(nas, ("done",))
    nas.wait_jobs()
    # A job that has just ended may hold the lock for a moment more (2201, "try later", as on a real
    # Celerra): try again while that is the answer, as the modules do.
    deadline = time.time() + 10
    code, out = nas.run("nas_upgrade", "-cs", "-rollback")
    while code != 0 and out.startswith("Error 2201") and time.time() < deadline:
        time.sleep(0.05)
        code, out = nas.run("nas_upgrade", "-cs", "-rollback")
    assert code == 0, out
    wait_cs(nas, ("rolled_back",))
    nas.wait_jobs()
    assert nas.run("nas_version") == (0, "4.2.16-5\n")


def test_nothing_to_roll_back_and_unknown_versions(nas):
    assert nas.run("nas_upgrade", "-cs", "-rollback") == (
        2, "Error 5011: nas_upgrade : nothing to roll back\n")
    assert nas.run("nas_upgrade", "-cs", "-to", "6.0") == (
        2, "Error 5011: nas_upgrade : version unknown '6.0'\n")
    assert nas.run("nas_upgrade", "-dm", "ALL", "-to", "5.2") == (
        2, "Error 5011: nas_upgrade : version unknown '5.2'\n")
    assert nas.run("nas_upgrade", "-cs", "-to", "4.2") == (
        0, "nas_upgrade: already at 4.2.16-5\n")
    assert nas.run("nas_upgrade", "-dm", "ALL", "-to", "4.2") == (
        0, "nas_upgrade: already at T4.2.16.5\n")
    assert nas.state()["jobs"] == {}


# ---------------------------------------------------------------- data mover upgrade

def test_mover_code_newer_than_the_station_is_refused(nas):
    line = ("Error 5010: nas_upgrade : data mover code T5.1.23.2 is newer than the control "
            "station's 4.2.16-5\n")
    assert nas.run("nas_upgrade", "-dm", "ALL", "-to", "5.1") == (2, line)
    assert nas.run("nas_upgrade", "-dm", "server_2", "-to", "T5.1.23.2") == (2, line)
    assert nas.state()["jobs"] == {}


def upgrade_cs(nas):
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1")[0] == 0
    wait_cs(nas, ("done",))
    nas.wait_jobs()


def test_mover_upgrade_installs_then_reboots_one_after_another(nas):
    upgrade_cs(nas)
    with cl_store.update(nas.root) as state:
        state["movers"]["server_3"]["boot"]["state"] = "panicked"
    assert nas.run("nas_upgrade", "-dm", "ALL", "-to", "5.1") == (
        2, "Error 2102: server_3 : data mover not ready (reason 7)\n")
    with cl_store.update(nas.root) as state:
        state["movers"]["server_3"]["boot"]["state"] = "ready"
    code, out = nas.run("nas_upgrade", "-dm", "ALL", "-to", "5.1")
    assert (code, out) == (0, "nas_upgrade: data mover upgrade T4.2.16.5 -> T5.1.23.2 started "
                              "on server_2 server_3\n")
    assert nas.run(*CHANGES[0]) == (2, LOCK_LINE)
    steps = set()
    down_together = False
    while any(m["upgrade"]["state"] == "running" for m in nas.state()["movers"].values()):
        lines = nas.run("nas_upgrade", "-status")[1].splitlines()
        steps.add((lines[1].split()[2], lines[2].split()[2]))
        reasons = nas.run("getreason")[1]
        if " 5 - slot_2" not in reasons and " 5 - slot_3" not in reasons:
            down_together = True
        time.sleep(0.02)
    nas.wait_jobs()
    assert not down_together
    assert ("step=1/2", "step=0/2") in steps and ("step=2/2", "step=0/2") in steps
    assert ("step=2/2", "step=1/2") in steps or ("step=2/2", "step=2/2") in steps
    assert nas.run("server_version", "ALL") == (0, (
        "server_2 : Product: EMC Celerra File Server  Version: T5.1.23.2\n"
        "server_3 : Product: EMC Celerra File Server  Version: T5.1.23.2\n"))
    lines = nas.run("nas_upgrade", "-status")[1].splitlines()
    assert lines[1] == ("component=server_2 state=done step=2/2 step_name=reboot from=T4.2.16.5 "
                        "to=T5.1.23.2 progress=100")
    assert [r["op"] for r in nas.movers["server_2"].requests] == ["down", "apply"]
    assert served(nas, "server_2") == ["/fs_store1", "/fs_store2"]
    assert nas.run("nas_checkup")[0] == 0
    assert nas.run("nas_upgrade", "-dm", "ALL", "-to", "5.1") == (
        0, "nas_upgrade: already at T5.1.23.2\n")


def test_mover_upgrade_stops_when_a_mover_panics(nas):
    upgrade_cs(nas)
    assert nas.fault("set", "dm_panic", "server_2") == (0, "")
    assert nas.run("nas_upgrade", "-dm", "ALL", "-to", "5.1")[0] == 0
    nas.wait_for(lambda s: s["movers"]["server_2"]["upgrade"]["state"] == "failed",
                 what="failed mover upgrade")
    nas.wait_jobs()
    lines = nas.run("nas_upgrade", "-status")[1].splitlines()
    assert lines[1].startswith("component=server_2 state=failed step=2/2 step_name=reboot "
                               "from=T4.2.16.5 to=T5.1.23.2 progress=")
    assert lines[2] == ("component=server_3 state=idle step=0/0 step_name=- from=T4.2.16.5 "
                        "to=- progress=0")
    assert " 7 - slot_2 panic\n" in nas.run("getreason")[1]
    assert cl_store.global_lock_free(nas.root)
    # the installed code boots at the next reboot
    assert nas.run("server_cpu", "server_2", "-reboot", "-monitor", "now")[0] == 0
    assert "server_2 : Product: EMC Celerra File Server  Version: T5.1.23.2\n" in nas.run(
        "server_version", "ALL")[1]


def test_single_mover_upgrade_and_downgrade_after_rollback(nas):
    upgrade_cs(nas)
    assert nas.run("nas_upgrade", "-dm", "server_3", "-to", "5.1")[0] == 0
    nas.wait_for(lambda s: s["movers"]["server_3"]["upgrade"]["state"] == "done", what="done")
    nas.wait_jobs()
    assert nas.state()["movers"]["server_2"]["version"] == "T4.2.16.5"
    code, out = nas.run("nas_upgrade", "-cs", "-rollback")
    assert code == 0, (out, nas.state())
    wait_cs(nas, ("rolled_back",))
    nas.wait_jobs()
    assert nas.run("nas_checkup")[0] == 1
    assert nas.run("nas_upgrade", "-dm", "ALL", "-to", "4.2") == (
        0, "nas_upgrade: data mover upgrade T5.1.23.2 -> T4.2.16.5 started on server_3\n")
    nas.wait_for(lambda s: s["movers"]["server_3"]["upgrade"]["state"] == "done", what="done")
    nas.wait_jobs()
    assert nas.state()["movers"]["server_3"]["version"] == "T4.2.16.5"


# ---------------------------------------------------------------- faults

def test_fault_tool_set_list_clear_and_validation(nas):
    assert nas.fault("list") == (0, "")
    for args in (("cs_upgrade_fail", "2"), ("dm_panic", "server_3"), ("dm_panic", "server_2"),
                 ("hang", "nas_fs"), ("hang", "server_mount"), ("lock_held", "1")):
        assert nas.fault("set", *args) == (0, "")
    assert nas.fault("list") == (0, "cs_upgrade_fail 2\ndm_panic server_3\ndm_panic server_2\n"
                                    "hang nas_fs\nhang server_mount\nlock_held 1\n")
    assert nas.fault("clear", "hang") == (0, "")
    assert "hang" not in nas.fault("list")[1]
    assert nas.fault("clear") == (0, "")
    assert nas.fault("list") == (0, "")
    bad = [("set", "cs_upgrade_fail", "0"), ("set", "cs_upgrade_fail", "6"),
           ("set", "dm_panic", "server_9"), ("set", "hang", "rm"), ("set", "lock_held", "2"),
           ("set", "bogus", "1"), ("clear", "bogus"), ("set", "lock_held"), ("frob",), ()]
    for args in bad:
        code, out = nas.fault(*args)
        assert code == 2 and out.startswith(("celerra-lab-fault: ", "usage: ")), args
    assert nas.state()["faults"] == {}


def test_fault_tool_is_root_only_in_the_image():
    # git keeps no 0700 mode: the image sets it (the lab scenario proves nasadmin cannot run the tool).
    image = Path(cl_store.__file__).resolve().parents[3]
    sbin = image / "sbin"
    containerfile = (image / "Containerfile").read_text(encoding="utf-8")
    assert "chmod 0700 /usr/local/sbin/celerra-lab-fault /usr/local/sbin/celerra-lab-reset" in containerfile
    assert "chown root:root /usr/local/sbin/celerra-lab-fault /usr/local/sbin/celerra-lab-reset" in containerfile
    for name in ("celerra-lab-fault", "celerra-lab-reset"):
        assert 'if [ "$(id -u)" != 0 ]; then' in (sbin / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------- reset and sync

def test_reset_writes_the_starting_state_keeps_lab_conf_and_stops_jobs(nas):
    conf = Path(nas.root) / "state" / "lab.conf"
    conf.write_text(conf.read_text(encoding="utf-8") + "# kept\n", encoding="utf-8")
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1")[0] == 0
    nas.fault("set", "lock_held", "1")
    nas.run("server_export", "server_2", "-unexport", "-perm", "/fs_store1")
    assert cl_jobs.job_pids(nas.root)
    out, err = io.StringIO(), io.StringIO()
    assert cl_reset.main([], out=out, err=err) == 0
    assert out.getvalue() == ("celerra-lab-reset: starting state written\n"
                              "server_2: serving /fs_store1 /fs_store2\n"
                              "server_3: serving nothing\n")
    assert cl_jobs.job_pids(nas.root) == []
    assert cl_store.global_lock_free(nas.root)
    state = nas.state()
    assert state == cl_store.default_state()
    assert conf.read_text(encoding="utf-8").endswith("# kept\n")
    assert served(nas, "server_2") == ["/fs_store1", "/fs_store2"]
    assert served(nas, "server_3") == []


def test_reset_reports_an_unreachable_mover(nas):
    nas.movers["server_3"].close()
    out, err = io.StringIO(), io.StringIO()
    started = time.time()
    assert cl_reset.main(["--wait", "0.5"], out=out, err=err) == 1
    assert 0.5 <= time.time() - started < 5
    assert "celerra-lab-reset: server_3: agent not reached: 127.0.0.1:" in err.getvalue()


def test_sync_finishes_what_dead_jobs_left(nas):
    with cl_store.update(nas.root) as state:
        state["cs"]["upgrade"].update({"state": "running", "step": 2, "steps": 5,
                                       "step_name": "backup_nas_db", "job": "cs_upgrade-x"})
        state["movers"]["server_3"]["boot"].update(
            {"state": "rebooting", "started": 0, "duration": 1, "job": "reboot-x"})
        state["movers"]["server_3"]["pending_version"] = "T5.1.23.2"
        state["jobs"] = {"cs_upgrade-x": {"kind": "cs_upgrade", "pid": None}}
    nas.movers["server_3"].agent.down()
    out, err = io.StringIO(), io.StringIO()
    assert cl_reset.main(["--sync"], out=out, err=err) == 0, err.getvalue()
    state = nas.state()
    assert state["cs"]["upgrade"]["state"] == "failed"
    assert state["jobs"] == {}
    assert state["movers"]["server_3"]["boot"]["state"] == "ready"
    assert state["movers"]["server_3"]["version"] == "T5.1.23.2"
    assert nas.movers["server_3"].agent.state == "up"
