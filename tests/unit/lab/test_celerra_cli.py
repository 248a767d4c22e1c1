"""The fake Control Station's CLI against docs/celerra-cli.md: formats, errors, arguments."""

import io
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest_celerra import (  # noqa: E402,F401  pylint: disable=unused-import
    CONTRACT, cl_cli, cl_commands, cl_model, cl_store, contract_block, nas)

CONTRACT_TEXT = CONTRACT.read_text(encoding="utf-8")


def in_contract(line):
    """Every literal sample a test compares with must still be in the contract."""
    assert line.rstrip("\n") in CONTRACT_TEXT, "not in docs/celerra-cli.md: %r" % line
    return line


def unexport_and_umount(nas, mover, fs):
    assert nas.run("server_export", mover, "-unexport", "-perm", "/" + fs)[0] == 0
    assert nas.run("server_umount", mover, "-perm", fs)[0] == 0


# ---------------------------------------------------------------- read formats, byte for byte

def test_nas_version_matches_contract(nas):
    assert nas.run("nas_version") == (0, contract_block("/nas/bin/nas_version`"))


def test_server_version_all_matches_contract(nas):
    assert nas.run("server_version", "ALL") == (0, contract_block("server_version ALL"))
    line = "server_3 : Product: EMC Celerra File Server  Version: T4.2.16.5\n"
    assert nas.run("server_version", "server_3") == (0, in_contract(line))


def test_nas_server_list_and_info_match_contract(nas):
    assert nas.run("nas_server", "-list") == (0, contract_block("/nas/bin/nas_server -list"))
    assert nas.run("nas_server", "-info", "server_2") == (
        0, contract_block("/nas/bin/nas_server -info server_2"))


def test_getreason_matches_contract(nas):
    assert nas.run("getreason") == (0, contract_block("/nas/sbin/getreason"))


def test_nas_fs_list_and_info_match_contract(nas):
    assert nas.run("nas_fs", "-list") == (0, contract_block("/nas/bin/nas_fs -list"))
    assert nas.run("nas_fs", "-info", "fs_store1") == (
        0, contract_block("/nas/bin/nas_fs -info fs_store1"))
    assert nas.run("nas_fs", "-info", "id=25") == nas.run("nas_fs", "-info", "fs_store1")


def test_server_mount_and_export_listings_match_contract(nas):
    unexport_and_umount(nas, "server_2", "fs_store2")
    assert nas.run("server_mount", "server_2") == (
        0, contract_block("/nas/bin/server_mount server_2`"))
    assert nas.run("server_export", "server_2", "-list") == (
        0, contract_block("/nas/bin/server_export server_2 -list"))
    assert nas.run("server_export", "server_2", "-Protocol", "nfs", "-list") == (
        0, contract_block("/nas/bin/server_export server_2 -list"))
    assert nas.run("server_export", "server_3", "-list") == (0, "server_3 :\n")


def test_export_options_print_in_contract_order(nas):
    code, out = nas.run("server_export", "server_2", "-option",
                        "access=mta1,root=mta2,ro=mta2,rw=mta1", "/fs_store1")
    assert (code, out) == (0, "server_2 : done\n")
    listing = nas.run("server_export", "server_2", "-list")[1]
    assert 'export "/fs_store1" rw=mta1 ro=mta2 root=mta2 access=mta1\n' in listing
    assert nas.run("server_export", "server_2", "-option", "ro", "/fs_store1")[0] == 0
    assert 'export "/fs_store1" ro\n' in nas.run("server_export", "server_2", "-list")[1]
    assert nas.run("server_export", "server_2", "/fs_store1")[0] == 0
    assert 'export "/fs_store1"\n' in nas.run("server_export", "server_2", "-list")[1]


def test_listing_all_movers(nas):
    code, out = nas.run("server_mount", "ALL")
    assert code == 0 and out.startswith("server_2 :\n") and "\n\nserver_3 :\n" in out
    code, out = nas.run("server_export", "ALL", "-list")
    assert code == 0 and out.endswith("\n\nserver_3 :\n")


def test_nas_checkup_matches_contract_and_writes_log(nas):
    expected = contract_block("/nas/bin/nas_checkup`").splitlines()
    code, out = nas.run("nas_checkup")
    got = out.splitlines()
    assert code == 0
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected):
        if theirs.startswith("Check Log"):
            assert mine.startswith("Check Log    :  /nas/log/checkup-run.")
            assert len(mine) == len(theirs)
        else:
            assert mine == theirs
    log_name = got[2].rsplit("/", 1)[1]
    assert (Path(nas.root) / "log" / log_name).read_text(encoding="utf-8") == out


def test_nas_upgrade_status_matches_contract_sample(nas):
    """Build the sample's situation in the state and compare the three lines byte for byte."""
    sample = contract_block("/nas/sbin/nas_upgrade -status")
    now = time.time()
    with cl_store.update(nas.root) as state:
        state["cs"]["upgrade"] = {
            "state": "running", "step": 3, "steps": 5, "step_name": "install_packages",
            "from": "4.2.16-5", "to": "5.1.23-2", "started": now - 52.5, "duration": 100.0,
            "step_names": cl_model.CS_UPGRADE_STEPS, "job": None}
        state["movers"]["server_2"]["upgrade"] = {
            "state": "done", "step": 2, "steps": 2, "step_name": "reboot", "from": "T4.2.16.5",
            "to": "T5.1.23.2", "started": now - 100, "duration": 30, "install": 26,
            "job": None}
    code, out = nas.run("nas_upgrade", "-status")
    assert (code, out) == (0, sample)


def test_status_progress_stays_within_the_current_step(nas):
    now = time.time()
    with cl_store.update(nas.root) as state:
        state["cs"]["upgrade"] = {
            "state": "running", "step": 2, "steps": 5, "step_name": "backup_nas_db",
            "from": "4.2.16-5", "to": "5.1.23-2", "started": now - 90.0, "duration": 100.0,
            "step_names": cl_model.CS_UPGRADE_STEPS, "job": None}
    line = nas.run("nas_upgrade", "-status")[1].splitlines()[0]
    # The clock says 90 %, but the job has only reached step 2 (20-39 %).
    assert line.endswith("step=2/5 step_name=backup_nas_db from=4.2.16-5 to=5.1.23-2 progress=39")


def test_idle_status_lines(nas):
    assert nas.run("nas_upgrade", "-status") == (0, (
        "component=cs state=idle step=0/0 step_name=- from=4.2.16-5 to=- progress=0\n"
        "component=server_2 state=idle step=0/0 step_name=- from=T4.2.16.5 to=- progress=0\n"
        "component=server_3 state=idle step=0/0 step_name=- from=T4.2.16.5 to=- progress=0\n"))


def test_nas_server_info_actual_follows_reason(nas):
    cases = [("ready", 0, "online, ready"), ("panicked", 0, "offline, panicked")]
    for boot_state, offset, text in cases:
        with cl_store.update(nas.root) as state:
            state["movers"]["server_3"]["boot"].update({"state": boot_state})
        assert (" actual = %s\n" % text) in nas.run("nas_server", "-info", "server_3")[1]
    now = time.time()
    for frac, text in ((0.1, "booting"), (0.3, "booting"), (0.6, "booting"),
                       (0.9, "online, active")):
        with cl_store.update(nas.root) as state:
            state["movers"]["server_3"]["boot"].update(
                {"state": "rebooting", "started": now - frac * 100, "duration": 100,
                 "panic": False})
        assert (" actual = %s\n" % text) in nas.run("nas_server", "-info", "server_3")[1]


# ---------------------------------------------------------------- errors of the contract's table

CONTRACT_ERRORS = [
    ("Error 2100: server_9 : No such data mover", ("server_mount", "server_9", "fs_store1")),
    ("Error 2211: fs_x : no such file system", ("nas_fs", "-info", "fs_x")),
    ("Error 2212: fs_store1 : file system is mounted on server_2",
     ("server_mount", "server_3", "fs_store1", "/fs_store1")),
    ("Error 2213: server_3 : fs_store1 is not mounted",
     ("server_umount", "server_3", "-perm", "fs_store1")),
    ("Error 2214: server_2 : fs_store1 is exported, unexport first",
     ("server_umount", "server_2", "-perm", "fs_store1")),
    ("Error 2220: server_3 : /fs_store1 : No such file or directory",
     ("server_export", "server_3", "-Protocol", "nfs", "-option", "rw=mta1", "/fs_store1")),
    ("Error 2230: server_export : invalid option 'rx=a'",
     ("server_export", "server_2", "-Protocol", "nfs", "-option", "rx=a", "/fs_store1")),
]


@pytest.mark.parametrize("line,argv", CONTRACT_ERRORS, ids=[e[0][:10] for e in CONTRACT_ERRORS])
def test_contract_error_lines(nas, line, argv):
    before = nas.state()
    assert nas.run(*argv) == (2, in_contract(line) + "\n")
    assert nas.state() == before


def test_error_2100_everywhere(nas):
    for argv in (("nas_server", "-info", "server_9"), ("server_version", "server_9"),
                 ("server_mount", "server_9"), ("server_export", "server_9", "-list"),
                 ("server_umount", "server_9", "-perm", "fs_store1"),
                 ("server_cpu", "server_9", "-reboot", "now"),
                 ("nas_upgrade", "-dm", "server_9", "-to", "4.2")):
        assert nas.run(*argv) == (2, "Error 2100: server_9 : No such data mover\n"), argv


def test_error_2102_mover_not_ready(nas):
    with cl_store.update(nas.root) as state:
        state["movers"]["server_3"]["boot"]["state"] = "panicked"
    line = in_contract("Error 2102: server_3 : data mover not ready (reason 7)") + "\n"
    for argv in (("server_mount", "server_3", "fs_store2", "/fs_store2"),
                 ("server_export", "server_3", "-list"), ("server_mount", "server_3"),
                 ("server_umount", "server_3", "-perm", "fs_store1"),
                 ("server_export", "server_3", "-option", "rw=mta1", "/fs_store1")):
        assert nas.run(*argv) == (2, line), argv
    assert nas.run("server_version", "ALL") == (2, (
        "server_2 : Product: EMC Celerra File Server  Version: T4.2.16.5\n"
        "server_3 : Error 2102: data mover not ready (reason 7)\n"))
    assert " 7 - slot_3 panic\n" in nas.run("getreason")[1]


def test_error_2215_mount_point_in_use(nas):
    unexport_and_umount(nas, "server_2", "fs_store2")
    code, out = nas.run("server_mount", "server_2", "fs_store2", "/fs_store1")
    assert (code, out) == (2, "Error 2215: server_2 : /fs_store1 : mount point in use by "
                              "fs_store1\n")
    code, out = nas.run("server_mount", "server_2", "fs_store2", "/")
    assert code == 2 and out.startswith("Error 2230: server_mount : invalid mount point")
    code, out = nas.run("server_mount", "server_3", "fs_store2", "/fs_store1")
    assert (code, out) == (0, "server_3 : done\n")


def test_error_2221_unexport_not_exported(nas):
    code, out = nas.run("server_export", "server_3", "-unexport", "-perm", "/fs_store1")
    assert (code, out) == (2, "Error 2221: server_3 : /fs_store1 : not exported\n")


def test_root_file_systems_are_not_mounted(nas):
    code, out = nas.run("server_mount", "server_3", "root_fs_1", "/root1")
    assert (code, out) == (2, "Error 2230: server_mount : root_fs_1 is a root file system\n")


def test_mount_again_at_the_same_place_is_done_without_change(nas):
    movers = nas.movers
    code, out = nas.run("server_mount", "server_2", "fs_store1", "/fs_store1")
    assert (code, out) == (0, "server_2 : done\n")
    assert movers["server_2"].requests == []
    code, out = nas.run("server_mount", "server_2", "-option", "ro", "fs_store1", "/fs_store1")
    assert code == 2 and out.startswith("Error 2212: fs_store1 : file system is mounted on "
                                        "server_2 at /fs_store1")


def test_mount_defaults_to_the_file_system_name_and_honours_ro(nas):
    unexport_and_umount(nas, "server_2", "fs_store2")
    assert nas.run("server_mount", "server_3", "-option", "ro", "fs_store2") == (
        0, "server_3 : done\n")
    assert "fs_store2 on /fs_store2 uxfs,perm,ro\n" in nas.run("server_mount", "server_3")[1]
    info = nas.run("nas_fs", "-info", "fs_store2")[1]
    assert "rw_servers=\nro_servers= server_3\n" in info
    assert "26        y    1   0     114       fs_store2           2\n" in nas.run(
        "nas_fs", "-list")[1]


def test_unmounted_file_system_shows_not_in_use(nas):
    unexport_and_umount(nas, "server_2", "fs_store2")
    assert "26        n    1   0     114       fs_store2\n" in nas.run("nas_fs", "-list")[1]
    assert "in_use    = False\n" in nas.run("nas_fs", "-info", "fs_store2")[1]
    code, out = nas.run("server_umount", "server_2", "-perm", "/fs_store2")
    assert (code, out) == (2, "Error 2213: server_2 : /fs_store2 is not mounted\n")


def test_umount_by_mount_point(nas):
    assert nas.run("server_export", "server_2", "-unexport", "-perm", "/fs_store2")[0] == 0
    assert nas.run("server_umount", "server_2", "-perm", "/fs_store2") == (0, "server_2 : done\n")


# ---------------------------------------------------------------- usage errors (2230)

USAGE_CASES = [
    ("nas_version", "-x"),
    ("nas_server",),
    ("nas_server", "-bogus"),
    ("nas_server", "-info"),
    ("nas_fs",),
    ("nas_fs", "-delete", "fs_store1"),
    ("nas_checkup", "-full"),
    ("getreason", "now"),
    ("server_version",),
    ("server_version", "server_2", "server_3"),
    ("server_mount",),
    ("server_mount", "server_2", "-option"),
    ("server_mount", "server_2", "-option", "rw,nolock", "fs_store1"),
    ("server_mount", "server_2", "-Force", "fs_store1"),
    ("server_mount", "server_2", "a", "b", "c"),
    ("server_mount", "ALL", "fs_store1"),
    ("server_umount", "server_2"),
    ("server_umount", "server_2", "-all"),
    ("server_umount", "server_2", "-perm", "fs_store1", "extra"),
    ("server_export",),
    ("server_export", "server_2", "-Protocol", "cifs", "-list"),
    ("server_export", "server_2", "-option"),
    ("server_export", "server_2", "-option", "rw=", "/fs_store1"),
    ("server_export", "server_2", "-option", "root", "/fs_store1"),
    ("server_export", "server_2", "-option", "rw=mta 1", "/fs_store1"),
    ("server_export", "server_2", "-option", "rw=999.1.1.1", "/fs_store1"),
    ("server_export", "server_2", "-option", "anon=0", "/fs_store1"),
    ("server_export", "server_2", "-unexport", "-option", "rw=a", "/fs_store1"),
    ("server_export", "server_2", "-list", "/fs_store1"),
    ("server_export", "server_2", "/fs_store1", "/fs_store2"),
    ("server_export", "ALL", "/fs_store1"),
    ("server_cpu", "server_2"),
    ("server_cpu", "server_2", "-reboot"),
    ("server_cpu", "server_2", "-reboot", "+5"),
    ("server_cpu", "server_2", "-halt", "now"),
    ("server_cpu", "ALL", "-reboot", "now"),
    ("nas_upgrade",),
    ("nas_upgrade", "-cs"),
    ("nas_upgrade", "-cs", "-to"),
    ("nas_upgrade", "-dm", "ALL"),
    ("nas_upgrade", "-cs", "-force", "-to", "5.1"),
]


@pytest.mark.parametrize("argv", USAGE_CASES, ids=[" ".join(a) for a in USAGE_CASES])
def test_usage_errors_are_2230(nas, argv):
    argv = [a for a in argv if a != ""]
    before = nas.state()
    code, out = nas.run(*argv)
    assert code == 2
    assert out.startswith("Error 2230: %s : " % argv[0]), out
    assert out.count("\n") == 1
    assert nas.state() == before


def test_invalid_option_names_the_token(nas):
    assert nas.run("nas_fs", "-bogus") == (2, "Error 2230: nas_fs : invalid option '-bogus'\n")
    assert nas.run("server_cpu", "server_2", "-reboot", "later") == (
        2, "Error 2230: server_cpu : invalid option 'later'\n")


# ---------------------------------------------------------------- environment

def test_refuses_without_nas_db(nas, monkeypatch):
    monkeypatch.delenv("NAS_DB")
    for name in cl_commands.COMMANDS:
        out, err = io.StringIO(), io.StringIO()
        assert cl_cli.run(name, [], out=out, err=err) == 1
        assert out.getvalue() == ""
        assert err.getvalue() == "%s: NAS_DB environment not defined\n" % name


def test_refuses_a_nas_db_without_state(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_DB", str(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    assert cl_cli.run("nas_version", [], out=out, err=err) == 1
    assert "holds no state" in err.getvalue()


def test_thin_executables_run_the_cli(nas):
    import subprocess
    bin_dir = Path(cl_cli.__file__).resolve().parents[2]
    env = dict(os.environ, NAS_DB=nas.root)
    proc = subprocess.run([str(bin_dir / "bin" / "nas_version")], env=env,
                          capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout) == (0, "4.2.16-5\n")
    env.pop("NAS_DB")
    proc = subprocess.run([str(bin_dir / "sbin" / "getreason")], env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr == "getreason: NAS_DB environment not defined\n"
    names = sorted(p.name for p in (bin_dir / "bin").iterdir()) + sorted(
        p.name for p in (bin_dir / "sbin").iterdir())
    assert sorted(names) == sorted(cl_commands.COMMANDS)


def test_hang_fault_sleeps_without_output(nas, monkeypatch):
    assert nas.fault("set", "hang", "nas_fs")[0] == 0
    slept = []
    monkeypatch.setattr(cl_cli.time, "sleep", slept.append)
    out = io.StringIO()
    cl_cli.run("nas_fs", ["-list"], out=_Watch(out, slept), err=io.StringIO())
    assert slept == [3600]
    slept.clear()
    cl_cli.run("nas_version", [], out=io.StringIO(), err=io.StringIO())
    assert slept == []


class _Watch(io.StringIO):
    """Fails the test if anything is written before the hang."""

    def __init__(self, inner, slept):
        super().__init__()
        self.slept = slept

    def write(self, text):
        assert self.slept == [3600], "output before the hang"
        return super().write(text)
