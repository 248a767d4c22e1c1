"""More faults of the fake Control Station: cs_rollback_fail (a Control Station rollback that fails
at one of its steps), dm_dead (a data mover that never comes back from a reboot) and dm_no_answer (one
command to a mover that gets no answer from its agent).

Driven in-process as in test_celerra_state.py: jobs run as real detached processes at TIME_SCALE (a
reboot lasts 0.24 s, a rollback 1.8 s) and the tests poll the state with generous deadlines, never
sleeping a fixed time. The last tests run the collection's celerra_upgrade and celerra_mover modules
against this fake (their SSH session replaced by an in-process call of the CLI) to pin down what a
failed rollback and a dead mover look like to them."""

import io
import json
import shlex
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest_celerra import (  # noqa: E402,F401  pylint: disable=unused-import
    TIME_SCALE, cl_cli, cl_jobs, cl_model, cl_reset, cl_store, nas, served, set_scale, wait_cs)

USAGE_START = ("usage: celerra-lab-fault set {cs_upgrade_fail <step 1-5> | cs_rollback_fail <step 1-3> | "
               "dm_panic <server_N> | dm_dead <server_N> | dm_no_answer <command>:<server_N> | hang <command> | "
               "lock_held 1} | "
               "clear [<name>] | list\n")
ROLLBACK_STARTED = "nas_upgrade: control station rollback 5.1.23-2 -> 4.2.16-5 started\n"
SLOTS = {"server_2": 2, "server_3": 3}


def ops(nas, mover):
    return [r["op"] for r in nas.movers[mover].requests]


def cs_status(nas):
    return nas.run("nas_upgrade", "-status")[1].splitlines()[0]


def upgrade_cs(nas):
    """The Control Station on 5.1 (a finished upgrade: 4.2.16-5 is its previous version)."""
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1")[0] == 0
    wait_cs(nas, ("done",))
    nas.wait_jobs()


def fail_upgrade(nas):
    """A CS upgrade that failed at its first step (quick): the station inconsistent, to roll back."""
    assert nas.fault("set", "cs_upgrade_fail", "1") == (0, "")
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1")[0] == 0
    wait_cs(nas, ("failed",))
    nas.wait_jobs()


# ---------------------------------------------------------------- cs_rollback_fail

def test_cs_rollback_fail_fails_the_rollback_at_its_step_and_is_consumed(nas):
    upgrade_cs(nas)
    assert nas.fault("set", "cs_rollback_fail", "2") == (0, "")
    assert nas.fault("list") == (0, "cs_rollback_fail 2\n")
    assert nas.run("nas_upgrade", "-cs", "-rollback") == (0, ROLLBACK_STARTED)
    assert nas.fault("list") == (0, "")  # consumed by the rollback it fails
    wait_cs(nas, ("failed",))
    nas.wait_jobs()
    assert cs_status(nas) == ("component=cs state=failed step=2/3 step_name=reinstall_packages "
                              "from=5.1.23-2 to=4.2.16-5 progress=50")
    line = ("control station software inconsistent (rollback 5.1.23-2 -> 4.2.16-5 failed at step "
            "2/3 reinstall_packages)")
    assert nas.run("nas_version") == (2, "Error 5005: nas_version : %s\n" % line)
    assert nas.run("nas_checkup")[0] == 2
    assert nas.run("server_mount", "server_3", "fs_store1") == (
        2, "Error 5005: server_mount : %s\n" % line)
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1") == (2, "Error 5005: nas_upgrade : %s\n" % line)
    assert nas.run("nas_upgrade", "-dm", "ALL", "-to", "4.2") == (
        2, "Error 5005: nas_upgrade : %s\n" % line)
    assert cl_store.global_lock_free(nas.root)
    assert nas.state()["cs"]["previous"] == "4.2.16-5"  # kept: the rollback can be run again
    # Run again (the fault is gone), the same rollback succeeds.
    assert nas.run("nas_upgrade", "-cs", "-rollback") == (0, ROLLBACK_STARTED)
    wait_cs(nas, ("rolled_back",))
    nas.wait_jobs()
    assert nas.run("nas_version") == (0, "4.2.16-5\n")
    assert cs_status(nas) == ("component=cs state=rolled_back step=3/3 step_name=restart_services "
                              "from=5.1.23-2 to=4.2.16-5 progress=100")
    assert nas.run("nas_upgrade", "-cs", "-rollback") == (
        2, "Error 5011: nas_upgrade : nothing to roll back\n")


@pytest.mark.parametrize("step,name,progress", [(1, "restore_nas_db", 16),
                                                (2, "reinstall_packages", 50),
                                                (3, "restart_services", 83)])
def test_cs_rollback_fail_of_a_failed_upgrade_at_each_step(nas, step, name, progress):
    from ansible_collections.mailops.window.plugins.module_utils import _celerra_parsers as parsers

    fail_upgrade(nas)
    assert nas.fault("set", "cs_rollback_fail", str(step)) == (0, "")
    assert nas.run("nas_upgrade", "-cs", "-rollback") == (0, ROLLBACK_STARTED)
    wait_cs(nas, ("failed",))
    nas.wait_jobs()
    state = nas.state()
    assert state["faults"] == {}
    assert state["cs"]["upgrade"]["step"] == step and state["cs"]["upgrade"]["kind"] == "rollback"
    status = nas.run("nas_upgrade", "-status")[1]
    assert status.splitlines()[0] == (
        "component=cs state=failed step=%d/3 step_name=%s from=5.1.23-2 to=4.2.16-5 progress=%d"
        % (step, name, progress))
    # what the celerra_upgrade module reads from it
    cs = parsers.parse_upgrade_status(status)["cs"]
    assert (cs["state"], cs["step"], cs["steps"], cs["step_name"]) == ("failed", step, 3, name)
    assert nas.run("nas_version") == (2, (
        "Error 5005: nas_version : control station software inconsistent (rollback 5.1.23-2 -> "
        "4.2.16-5 failed at step %d/3 %s)\n" % (step, name)))


def test_cs_rollback_fail_waits_for_a_rollback_that_starts(nas):
    assert nas.fault("set", "cs_rollback_fail", "1") == (0, "")
    # a rollback refused before it starts does not consume it
    assert nas.run("nas_upgrade", "-cs", "-rollback") == (
        2, "Error 5011: nas_upgrade : nothing to roll back\n")
    # nor does an upgrade
    upgrade_cs(nas)
    assert nas.run("nas_version") == (0, "5.1.23-2\n")
    assert nas.fault("set", "lock_held", "1") == (0, "")
    assert nas.run("nas_upgrade", "-cs", "-rollback") == (
        2, "Error 2201: nas_upgrade : unable to acquire lock(s), try later\n")
    assert nas.fault("clear", "lock_held") == (0, "")
    assert nas.fault("list") == (0, "cs_rollback_fail 1\n")
    assert nas.run("nas_upgrade", "-cs", "-rollback") == (0, ROLLBACK_STARTED)
    assert nas.fault("list") == (0, "")
    wait_cs(nas, ("failed",))
    nas.wait_jobs()
    assert cs_status(nas) == ("component=cs state=failed step=1/3 step_name=restore_nas_db "
                              "from=5.1.23-2 to=4.2.16-5 progress=16")


def test_cs_rollback_fail_interrupting_a_running_upgrade(nas):
    assert nas.fault("set", "cs_rollback_fail", "3") == (0, "")
    assert nas.run("nas_upgrade", "-cs", "-to", "5.1")[0] == 0
    nas.wait_for(lambda s: s["cs"]["upgrade"]["step"] >= 2, what="step 2")
    assert nas.run("nas_upgrade", "-cs", "-rollback") == (0, ROLLBACK_STARTED)
    wait_cs(nas, ("failed",))
    nas.wait_jobs()
    assert cs_status(nas) == ("component=cs state=failed step=3/3 step_name=restart_services "
                              "from=5.1.23-2 to=4.2.16-5 progress=83")
    assert nas.run("nas_upgrade", "-cs", "-rollback") == (0, ROLLBACK_STARTED)
    wait_cs(nas, ("rolled_back",))
    nas.wait_jobs()
    assert nas.run("nas_version") == (0, "4.2.16-5\n")


def test_cs_rollback_fail_step_is_checked(nas):
    for bad in ("0", "4", "5", "01", "-1", "1.0", "x", ""):
        assert nas.fault("set", "cs_rollback_fail", bad) == (
            2, "celerra-lab-fault: cs_rollback_fail takes a step number 1-3, not '%s'\n" % bad), bad
    # cs_upgrade_fail keeps its own range
    assert nas.fault("set", "cs_upgrade_fail", "6") == (
        2, "celerra-lab-fault: cs_upgrade_fail takes a step number 1-5, not '6'\n")
    assert nas.fault("set", "cs_upgrade_fail", "5") == (0, "")
    assert nas.fault("set", "cs_rollback_fail") == (2, USAGE_START)
    assert nas.fault() == (2, USAGE_START)
    assert nas.state()["faults"] == {"cs_upgrade_fail": 5}
    assert nas.fault("set", "cs_rollback_fail", "3") == (0, "")
    assert nas.fault("set", "cs_rollback_fail", "1") == (0, "")  # the last one set counts
    assert nas.fault("list") == (0, "cs_upgrade_fail 5\ncs_rollback_fail 1\n")
    assert nas.fault("clear", "cs_rollback_fail") == (0, "")
    assert nas.fault("list") == (0, "cs_upgrade_fail 5\n")


# ---------------------------------------------------------------- dm_dead

def assert_dead(nas, mover):
    """Not ready at reason 0, serving nothing, refusing changes; what every reader shows."""
    slot = SLOTS[mover]
    assert nas.state()["movers"][mover]["boot"]["state"] == "dead"
    assert " 0 - slot_%d reset\n" % slot in nas.run("getreason")[1]
    assert " actual = booting\n" in nas.run("nas_server", "-info", mover)[1]
    assert nas.run("server_version", mover) == (
        2, "%s : Error 2102: data mover not ready (reason 0)\n" % mover)
    not_ready = "Error 2102: %s : data mover not ready (reason 0)\n" % mover
    assert nas.run("server_export", mover, "-list") == (2, not_ready)
    assert nas.run("server_mount", mover) == (2, not_ready)
    before = nas.state()
    assert nas.run("server_export", mover, "-option", "rw=mta1", "/fs_store1") == (2, not_ready)
    assert nas.state() == before
    assert nas.run("nas_checkup")[0] == 2
    harness = nas.movers[mover]
    assert harness.agent.state == "down" and not harness.ganesha.up and served(nas, mover) == []
    assert "apply" not in ops(nas, mover)


def test_dm_dead_reboot_never_completes_until_cleared_and_rebooted(nas):
    set_scale(nas, 0.005)  # reboot 1.2 s: long enough to be refused while it lasts
    assert served(nas, "server_2") == ["/fs_store1", "/fs_store2"]
    assert nas.fault("set", "dm_dead", "server_2") == (0, "")
    assert nas.run("server_cpu", "server_2", "-reboot", "now") == (
        0, "server_2 : reboot in progress\n")
    assert nas.movers["server_2"].agent.state == "down"
    assert " 0 - slot_2 reset\n" in nas.run("getreason")[1]
    assert nas.run("server_cpu", "server_2", "-reboot", "now") == (
        2, "Error 2102: server_2 : data mover not ready (reason 0)\n")
    nas.wait_for(lambda s: s["movers"]["server_2"]["boot"]["state"] == "dead",
                 what="the end of the dead reboot")
    nas.wait_jobs()
    assert_dead(nas, "server_2")
    assert nas.fault("list") == (0, "dm_dead server_2\n")  # not consumed
    # the other mover is unaffected
    assert nas.run("server_export", "server_3", "-list") == (0, "server_3 :\n")
    assert " 5 - slot_3 contacted\n" in nas.run("getreason")[1]
    # a later reboot does not complete either
    assert nas.run("server_cpu", "server_2", "-reboot", "now") == (
        0, "server_2 : reboot in progress\n")
    nas.wait_jobs()
    assert_dead(nas, "server_2")
    assert ops(nas, "server_2") == ["down", "down"]
    # clearing the fault does not revive the mover; its next reboot does
    assert nas.fault("clear", "dm_dead") == (0, "")
    assert nas.fault("list") == (0, "")
    assert_dead(nas, "server_2")
    code, out = nas.run("server_cpu", "server_2", "-reboot", "-monitor", "now")
    assert code == 0 and out.endswith(".done\n"), out
    assert ops(nas, "server_2") == ["down", "down", "down", "apply"]
    assert served(nas, "server_2") == ["/fs_store1", "/fs_store2"]
    assert " 5 - slot_2 contacted\n" in nas.run("getreason")[1]
    assert nas.state()["movers"]["server_2"]["boot"]["dead"] is False
    assert nas.run("nas_checkup")[0] == 0
    nas.wait_jobs()


def test_dm_dead_fails_a_mover_upgrade_after_its_timeout(nas):
    upgrade_cs(nas)
    scale = 0.002  # one mover 3.6 s (install 3.12 s, reboot 0.48 s), the wait for it 1.8 s
    set_scale(nas, scale)
    conf = cl_store.read_conf(nas.root)
    install = cl_store.duration(conf, "dm_upgrade_all") / 2 - cl_store.duration(conf, "reboot")
    wait = cl_store.duration(conf, "dm_reboot_timeout")
    assert nas.fault("set", "dm_dead", "server_2") == (0, "")
    started = time.time()
    assert nas.run("nas_upgrade", "-dm", "ALL", "-to", "5.1") == (
        0, "nas_upgrade: data mover upgrade T4.2.16.5 -> T5.1.23.2 started on server_2 server_3\n")
    waiting = []

    def failed(state):
        mover = state["movers"]["server_2"]
        if mover["boot"]["state"] == "dead" and mover["upgrade"]["state"] == "running":
            waiting.append((nas.run("nas_upgrade", "-status")[1].splitlines()[1],
                            cl_store.global_lock_free(nas.root)))
        return mover["upgrade"]["state"] == "failed"

    nas.wait_for(failed, timeout=60, what="the mover upgrade to fail")
    elapsed = time.time() - started
    nas.wait_jobs()
    # while the dead mover is waited for, the upgrade still runs at its reboot, holding the lock
    assert any(line.startswith("component=server_2 state=running step=2/2 step_name=reboot ")
               and not free for line, free in waiting), waiting
    # it fails only after the install and the whole wait: 26 + 15 = 41 plan minutes
    assert elapsed >= install + wait
    assert elapsed / (60.0 * scale) >= 41
    lines = nas.run("nas_upgrade", "-status")[1].splitlines()
    assert lines[1] == ("component=server_2 state=failed step=2/2 step_name=reboot from=T4.2.16.5 "
                        "to=T5.1.23.2 progress=86")
    assert lines[2] == ("component=server_3 state=idle step=0/0 step_name=- from=T4.2.16.5 "
                        "to=- progress=0")
    assert cl_store.global_lock_free(nas.root)
    assert_dead(nas, "server_2")
    assert ops(nas, "server_2") == ["down"]
    assert ops(nas, "server_3") == []
    assert nas.state()["movers"]["server_2"]["pending_version"] == "T5.1.23.2"
    # a new upgrade is refused while the mover is down
    assert nas.run("nas_upgrade", "-dm", "ALL", "-to", "5.1") == (
        2, "Error 2102: server_2 : data mover not ready (reason 0)\n")
    # cleared, the next reboot completes and boots the installed code
    assert nas.fault("clear", "dm_dead") == (0, "")
    code, out = nas.run("server_cpu", "server_2", "-reboot", "-monitor", "now")
    assert code == 0 and out.endswith(".done\n"), out
    assert "server_2 : Product: EMC Celerra File Server  Version: T5.1.23.2\n" in nas.run(
        "server_version", "ALL")[1]
    assert served(nas, "server_2") == ["/fs_store1", "/fs_store2"]
    nas.wait_jobs()


def test_dm_panic_comes_before_dm_dead(nas):
    assert nas.fault("set", "dm_dead", "server_3") == (0, "")
    assert nas.fault("set", "dm_panic", "server_3") == (0, "")
    code, out = nas.run("server_cpu", "server_3", "-reboot", "-monitor", "now")
    assert (code, out.splitlines()[-1]) == (2, "Error 2102: server_3 : data mover panicked (reason 7)")
    assert nas.fault("list") == (0, "dm_dead server_3\n")  # the panic consumed, dm_dead kept
    nas.wait_jobs()
    assert nas.run("server_cpu", "server_3", "-reboot", "now")[0] == 0
    nas.wait_jobs()
    assert_dead(nas, "server_3")


def test_dm_dead_mover_name_is_checked_and_reset_clears_it(nas):
    for bad in ("server_9", "ALL", "server_", "2", "server_2 ", ""):
        assert nas.fault("set", "dm_dead", bad) == (
            2, "celerra-lab-fault: dm_dead: no such data mover '%s'\n" % bad), bad
    assert nas.fault("set", "dm_dead") == (2, USAGE_START)
    assert nas.state()["faults"] == {}
    assert nas.fault("set", "dm_dead", "server_3") == (0, "")
    assert nas.fault("set", "dm_dead", "server_2") == (0, "")
    assert nas.fault("set", "dm_dead", "server_3") == (0, "")  # once each
    for args in (("lock_held", "1"), ("hang", "nas_fs"), ("dm_panic", "server_2"),
                 ("cs_rollback_fail", "2"), ("cs_upgrade_fail", "4")):
        assert nas.fault("set", *args) == (0, "")
    assert nas.fault("list") == (0, "cs_upgrade_fail 4\ncs_rollback_fail 2\ndm_panic server_2\n"
                                    "dm_dead server_3\ndm_dead server_2\nhang nas_fs\nlock_held 1\n")
    assert nas.fault("clear", "dm_dead") == (0, "")
    assert "dm_dead" not in nas.fault("list")[1]
    assert nas.fault("clear") == (0, "")
    assert nas.fault("list") == (0, "")
    # a dead mover, then a reset: the faults are gone and the mover serves again
    assert nas.fault("set", "dm_dead", "server_2") == (0, "")
    assert nas.fault("set", "cs_rollback_fail", "1") == (0, "")
    assert nas.run("server_cpu", "server_2", "-reboot", "now")[0] == 0
    nas.wait_jobs()
    assert_dead(nas, "server_2")
    out, err = io.StringIO(), io.StringIO()
    assert cl_reset.main([], out=out, err=err) == 0, err.getvalue()
    assert out.getvalue() == ("celerra-lab-reset: starting state written\n"
                              "server_2: serving /fs_store1 /fs_store2\n"
                              "server_3: serving nothing\n")
    assert nas.state() == cl_store.default_state()
    assert nas.fault("list") == (0, "")
    assert served(nas, "server_2") == ["/fs_store1", "/fs_store2"]
    assert " 5 - slot_2 contacted\n" in nas.run("getreason")[1]


def test_sync_leaves_an_interrupted_dead_reboot_down(nas):
    with cl_store.update(nas.root) as state:
        state["faults"]["dm_dead"] = ["server_2"]
        state["movers"]["server_2"]["boot"].update(
            {"state": "rebooting", "started": 0, "duration": 1, "panic": False, "dead": True,
             "job": "reboot-x"})
        state["movers"]["server_2"]["pending_version"] = "T5.1.23.2"
        state["jobs"] = {"reboot-x": {"kind": "reboot", "pid": None, "mover": "server_2"}}
    out, err = io.StringIO(), io.StringIO()
    assert cl_reset.main(["--sync"], out=out, err=err) == 0, err.getvalue()
    assert out.getvalue() == ("server_2: interrupted reboot left down (dm_dead)\n"
                              "server_2: down (reason 0)\n"
                              "server_3: serving nothing\n")
    state = nas.state()
    assert state["jobs"] == {}
    assert state["faults"] == {"dm_dead": ["server_2"]}  # --sync keeps the faults
    assert state["movers"]["server_2"]["pending_version"] == "T5.1.23.2"
    assert_dead(nas, "server_2")


# ---------------------------------------------------------------- what the modules see

class LabSession(object):
    """Stands in for the modules' SSH session: each command line runs the fake's CLI in-process."""

    def __init__(self, **kwargs):
        self.connections = 1
        self.lines = []

    def run(self, command, timeout):
        self.lines.append(command)
        words = shlex.split(command)
        assert words[:2] == ["env", "NAS_DB=/nas"], command
        directory, _sep, name = words[2].rpartition("/")
        assert directory in ("/nas/bin", "/nas/sbin"), command
        out, err = io.StringIO(), io.StringIO()
        code = cl_cli.run(name, words[3:], out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    def drop(self):
        pass

    def close(self):
        pass


@pytest.fixture
def run_module(monkeypatch, capsys):
    pytest.importorskip("ansible")
    from ansible.module_utils import _internal, basic
    from ansible.module_utils.common import warnings as warnings_store
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.mailops.window.plugins.module_utils import _celerra_client as client_mod

    monkeypatch.setattr(client_mod.CelerraClient, "session_class", staticmethod(LabSession))
    monkeypatch.setattr(basic.AnsibleModule, "log", lambda self, msg, log_args=None: None)

    def run(module, args):
        monkeypatch.setattr(_internal, "is_controller", False)
        monkeypatch.setattr(warnings_store, "_global_warnings", {})
        monkeypatch.setattr(warnings_store, "_global_deprecations", {})
        args = dict(args, host="celerra-cs.lab", password="not-a-real-password")
        capsys.readouterr()
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
        # the module's JSON is its last line (the in-process mover agents log to stdout too)
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    return run


def test_celerra_upgrade_rollback_fails_on_a_failed_rollback(nas, run_module):
    from ansible_collections.mailops.window.plugins.modules import celerra_upgrade

    upgrade_cs(nas)
    assert nas.fault("set", "cs_rollback_fail", "2") == (0, "")
    args = {"component": "control_station", "state": "rolled_back", "version": "4.2",
            "timeout": 60, "poll_interval": 0.05}
    result = run_module(celerra_upgrade, args)
    assert result.get("failed"), result
    assert result["msg"] == "control station rollback failed at step 2/3 reinstall_packages"
    assert result["failed_step"] == {"component": "cs", "step": 2, "steps": 3,
                                     "step_name": "reinstall_packages"}
    assert result["status"]["cs"]["state"] == "failed"
    assert result["planned"] == ["env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -rollback"]
    nas.wait_jobs()
    # an upgrade is refused while the station is inconsistent
    result = run_module(celerra_upgrade, {"component": "control_station", "version": "5.1",
                                          "timeout": 60, "poll_interval": 0.05})
    assert result.get("failed") and result["msg"] == (
        "the control station is inconsistent: Error 5005: nas_version : control station software "
        "inconsistent (rollback 5.1.23-2 -> 4.2.16-5 failed at step 2/3 reinstall_packages); roll it "
        "back with state=rolled_back"), result
    # the same task run again rolls back (the fault was consumed)
    result = run_module(celerra_upgrade, args)
    assert not result.get("failed"), result
    assert result["changed"] and result["after"] == {"control_station": "4.2.16-5"}
    nas.wait_jobs()


def test_celerra_upgrade_and_celerra_mover_on_a_dead_mover(nas, run_module):
    from ansible_collections.mailops.window.plugins.modules import celerra_mover, celerra_upgrade

    upgrade_cs(nas)
    assert nas.fault("set", "dm_dead", "server_2") == (0, "")
    result = run_module(celerra_upgrade, {"component": "data_movers", "version": "5.1",
                                          "timeout": 60, "poll_interval": 0.05})
    assert result.get("failed"), result
    assert result["msg"] == "data mover upgrade of server_2 failed at step 2/2 reboot"
    assert result["failed_step"] == {"component": "server_2", "step": 2, "steps": 2,
                                     "step_name": "reboot"}
    assert result["status"]["server_2"]["state"] == "failed"
    assert result["status"]["server_3"]["state"] == "idle"
    nas.wait_jobs()
    # celerra_mover takes reason 0 for a boot in progress: it waits for it and never reboots
    result = run_module(celerra_mover, {"name": "server_2", "timeout": 1, "poll_interval": 0.05})
    assert result.get("failed") and result.get("timed_out"), result
    assert result["msg"] == ("server_2 did not become ready within 1s (boot of server_2 in progress): "
                             "last reason 0 (reset)")
    assert result["rebooted"] is False
    assert ops(nas, "server_2") == ["down"]


def test_dm_no_answer_fails_one_command_on_that_mover_and_changes_nothing(nas):
    for bad in ("server_mount", "server_mount:server_9", "nas_fs:server_2", "server_nope:server_2", ":server_2"):
        code, text = nas.fault("set", "dm_no_answer", bad)
        assert code == 2 and "dm_no_answer" in text, (bad, text)
    assert nas.state()["faults"] == {}
    assert nas.fault("list") == (0, "")
    mounts_before = nas.run("server_mount", "server_2")
    # listings are not changes: they run, and leave the fault armed
    assert nas.run("server_mount", "server_2")[0] == 0 and nas.run("server_export", "server_2", "-list")[0] == 0
    assert nas.fault("set", "dm_no_answer", "server_export:server_2") == (0, "")
    assert nas.run("server_export", "server_2", "-list")[0] == 0 and nas.run("server_mount", "server_2")[0] == 0
    assert nas.fault("list") == (0, "dm_no_answer server_export:server_2\n")
    assert nas.fault("clear", "dm_no_answer") == (0, "")
    assert nas.fault("set", "dm_no_answer", "server_umount:server_2") == (0, "")
    assert nas.fault("set", "dm_no_answer", "server_umount:server_2") == (0, "")
    # the same command on the other mover, and another command on this one, are not touched
    code, text = nas.run("server_umount", "server_3", "-perm", "fs_store1")
    assert "not responding" not in text
    assert nas.run("server_mount", "server_2") == mounts_before
    for remaining in ("dm_no_answer server_umount:server_2\n", ""):
        code, text = nas.run("server_umount", "server_2", "-perm", "fs_store1")
        agent = "%s:%d" % cl_store.mover_address(cl_store.read_conf(nas.root), "server_2")
        assert (code, text) == (2, "Error 2102: server_2 : data mover not responding "
                                   "(%s: Connection refused)\n" % agent)
        assert nas.run("server_mount", "server_2") == mounts_before  # nothing changed
        assert nas.fault("list") == (0, remaining)
    # consumed: the next one runs (and is refused on its merits: fs_store1 is still exported)
    code, text = nas.run("server_umount", "server_2", "-perm", "fs_store1")
    assert "not responding" not in text, text
    assert nas.run("server_export", "server_2", "-unexport", "-perm", "/fs_store1")[0] == 0
    assert nas.run("server_umount", "server_2", "-perm", "fs_store1") == (0, "server_2 : done\n")
