"""The lab's /sbin/mount.nfs: arguments, the NFS check and its error mapping, the bind mount."""

import io
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest_celerra import MOUNT_NFS, load_file  # noqa: E402

mnfs = load_file("lab_mount_nfs", MOUNT_NFS)

SPEC = "celerra-dm2:/fs_store1"

# What nfs-ls (libnfs 4.0) printed against the lab's movers, and what mount.nfs must say.
NFS_LS_CASES = [
    (254, "Failed to mount nfs share : mount_cb: NFS4: (path /fs_store1) failed with "
          "NFS4ERR_NOENT(-2)\n",
     "mounting celerra-dm2:/fs_store1 failed, reason given by server: No such file or directory"),
    (222, "Failed to mount nfs share : mount_cb: NFS4: (path /fs_store1) failed with "
          "NFS4ERR_WRONGSEC(-5)\n",
     "access denied by server while mounting celerra-dm2:/fs_store1"),
    (1, "Failed to mount nfs share : mount_cb: NFS4: (path /fs_store1) failed with "
        "NFS4ERR_ACCESS(-13)\n",
     "access denied by server while mounting celerra-dm2:/fs_store1"),
    (251, "Failed to mount nfs share : nfs_service failed\n", "Connection refused"),
    (255, "Failed to mount nfs share : nfs_mount_async failed. Failed to start connection. "
          "Failed to start connection. Invalid address:celerra-dm2. Can not resolv into "
          "IPv4/v6 structure.\n",
     "Failed to resolve server celerra-dm2: Name or service not known"),
    (1, "Failed to mount nfs share : connect: Connection timed out\n", "Connection timed out"),
    (None, "", "Connection timed out"),
    (3, "something new\n", "mounting celerra-dm2:/fs_store1 failed: something new"),
]


@pytest.mark.parametrize("rc,output,message", NFS_LS_CASES)
def test_nfs_ls_results_map_to_mount_nfs_messages(rc, output, message):
    error = mnfs.map_nfs_ls(rc, output, SPEC, "celerra-dm2")
    assert error.message == message
    assert error.code == 32


def test_a_listing_means_the_export_answered():
    assert mnfs.map_nfs_ls(0, "-rw-r--r--  1 65534 65534  6 hello.txt\n", SPEC,
                           "celerra-dm2") is None
    assert mnfs.map_nfs_ls(0, "", SPEC, "celerra-dm2") is None


# ---------------------------------------------------------------- arguments

def test_parse_args_as_util_linux_calls_it():
    req = mnfs.parse_args([SPEC, "/var/cpms/store1", "-o", "rw,vers=4,_netdev"])
    assert (req.server, req.export, req.name, req.dir) == (
        "celerra-dm2", "/fs_store1", "fs_store1", "/var/cpms/store1")
    assert req.options == ["rw", "vers=4", "_netdev"] and not req.read_only
    req = mnfs.parse_args(["-sfnv", "-o", "ro", SPEC, "/mnt", "-t", "nfs"])
    assert req.sloppy and req.fake and req.no_mtab and req.verbose and req.read_only
    assert mnfs.parse_args([SPEC, "/mnt", "-oro,noatime", "-w"]).read_only is False
    assert mnfs.parse_args([SPEC, "/mnt", "-r"]).option_string == "ro"
    assert mnfs.parse_args([SPEC + "/", "/mnt"]).export == "/fs_store1"
    assert mnfs.parse_args([SPEC, "/mnt"]).option_string == "defaults"


@pytest.mark.parametrize("argv,message", [
    ([], "usage: mount.nfs remotetarget dir"),
    ([SPEC], "usage: mount.nfs remotetarget dir"),
    ([SPEC, "/mnt", "/other"], "usage: mount.nfs remotetarget dir"),
    ([SPEC, "/mnt", "-x"], "invalid option -- 'x'"),
    ([SPEC, "/mnt", "-o"], "option requires an argument -- 'o'"),
    ([SPEC, "/mnt", "-N", "/proc/1/ns/net"], "network namespaces are not supported"),
])
def test_bad_usage_exits_1(argv, message, capsys):
    assert mnfs.main(["mount.nfs"] + argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("mount.nfs: ") and message in err


@pytest.mark.parametrize("spec,message", [
    ("celerra-dm2", "remote share not in 'host:dir' format"),
    ("celerra-dm2:fs_store1", "remote share not in 'host:dir' format"),
    (":/fs_store1", "remote share not in 'host:dir' format"),
    ("a:b:/c", "remote share not in 'host:dir' format"),
    ("bad_host!:/fs_store1", "Failed to resolve server bad_host!: Name or service not known"),
    ("celerra-dm2:/a/b",
     "mounting celerra-dm2:/a/b failed, reason given by server: No such file or directory"),
    ("celerra-dm2:/",
     "mounting celerra-dm2:/ failed, reason given by server: No such file or directory"),
])
def test_bad_spec_fails_like_mount_nfs(spec, message, capsys, monkeypatch):
    monkeypatch.setattr(mnfs.os, "geteuid", lambda: 0)
    assert mnfs.main(["mount.nfs", spec, "/tmp"]) == 32
    assert capsys.readouterr().err == "mount.nfs: %s\n" % message


def test_help_and_version(capsys):
    assert mnfs.main(["mount.nfs", "-h"]) == 0
    assert capsys.readouterr().out.startswith("usage: mount.nfs remotetarget dir")
    assert mnfs.main(["mount.nfs4", "-V"]) == 0
    assert capsys.readouterr().out.startswith("mount.nfs4: ")


def test_only_root_mounts(capsys, monkeypatch):
    monkeypatch.setattr(mnfs.os, "geteuid", lambda: 1000)
    assert mnfs.main(["mount.nfs", SPEC, "/tmp"]) == 1
    assert capsys.readouterr().err == "mount.nfs: only root can do that\n"


def test_mount_point_must_exist_and_be_a_directory(tmp_path):
    with pytest.raises(mnfs.MountError) as exc:
        mnfs.check_dir(str(tmp_path / "nope"))
    assert (exc.value.code, exc.value.message) == (
        1, "mount point %s does not exist" % (tmp_path / "nope"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(mnfs.MountError) as exc:
        mnfs.check_dir(str(tmp_path / "file"))
    assert exc.value.message.endswith("is not a directory") and exc.value.code == 1


# ---------------------------------------------------------------- the server probe

def test_probe_refused_open_and_unresolvable(monkeypatch):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert mnfs.probe_server("127.0.0.1", port=port, timeout=2) is None
    assert mnfs.probe_server("127.0.0.1", port=port, timeout=2).message == "Connection refused"

    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(mnfs.socket, "getaddrinfo", no_dns)
    assert mnfs.probe_server("celerra-dm9").message == (
        "Failed to resolve server celerra-dm9: Name or service not known")


def test_probe_timeout(monkeypatch):
    def slow(*args, **kwargs):
        raise socket.timeout("timed out")

    monkeypatch.setattr(mnfs.socket, "create_connection", slow)
    assert mnfs.probe_server("127.0.0.1", port=1, timeout=0.1).message == "Connection timed out"


def test_nfs_ls_is_called_with_the_v4_url_and_a_timeout(tmp_path, monkeypatch):
    fake = tmp_path / "nfs-ls"
    fake.write_text("#!/bin/sh\necho \"$@\"\n[ \"$1\" = slow ] && sleep 5\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setattr(mnfs, "NFS_LS", str(fake))
    assert mnfs.run_nfs_ls("celerra-dm2", "/fs_store1") == (
        0, "nfs://celerra-dm2/fs_store1?version=4\n")
    monkeypatch.setattr(mnfs, "nfs_url", lambda server, export: "slow")
    assert mnfs.run_nfs_ls("x", "/y", timeout=0.3) == (None, "")


# ---------------------------------------------------------------- mounting

class Env:
    def __init__(self, tmp_path, monkeypatch):
        self.backend = tmp_path / "backend"
        (self.backend / "fs_store1").mkdir(parents=True)
        self.record = tmp_path / "run" / "mounts"
        self.mountinfo = tmp_path / "mountinfo"
        self.mountinfo.write_text("22 1 0:21 / / rw - overlay overlay rw\n")
        self.target = tmp_path / "store1"
        self.target.mkdir()
        self.calls = []
        monkeypatch.setattr(mnfs, "BACKEND_ROOT", str(self.backend))
        monkeypatch.setattr(mnfs, "RECORD_FILE", str(self.record))
        monkeypatch.setattr(mnfs, "MOUNTINFO", str(self.mountinfo))

    def run(self, argv, **kwargs):
        self.calls.append(argv)
        if argv[:2] == ["mount", "--bind"]:
            with open(self.mountinfo, "a") as fh:
                fh.write("99 22 0:50 /x %s rw - ext4 /dev/vda rw\n" % argv[3])
        return subprocess.CompletedProcess(argv, 0, b"", b"")


def answer(rc, output=""):
    return lambda server, export: (rc, output)


def test_mount_checks_then_binds_then_records(tmp_path, monkeypatch):
    env = Env(tmp_path, monkeypatch)
    req = mnfs.parse_args([SPEC, str(env.target), "-o", "rw,hard"])
    assert mnfs.do_mount(req, nfs_ls=answer(0), run=env.run, probe=lambda s: None) == 0
    assert env.calls == [["mount", "--bind", str(env.backend / "fs_store1"), str(env.target)]]
    assert env.record.read_text() == "%s %s rw,hard\n" % (SPEC, env.target)
    out = io.StringIO()
    mnfs.list_mounts(out=out)
    assert out.getvalue() == "%s %s rw,hard\n" % (SPEC, env.target)
    # mounting again on the same directory is refused
    with pytest.raises(mnfs.MountError) as exc:
        mnfs.do_mount(req, nfs_ls=answer(0), run=env.run, probe=lambda s: None)
    assert exc.value.message == "%s is busy or already mounted" % env.target


def test_read_only_mount_is_remounted_ro(tmp_path, monkeypatch):
    env = Env(tmp_path, monkeypatch)
    req = mnfs.parse_args(["celerra-dm3:/fs_store1", str(env.target), "-o", "ro"])
    mnfs.do_mount(req, nfs_ls=answer(0), run=env.run, probe=lambda s: None)
    assert env.calls[1] == ["mount", "-o", "remount,bind,ro", str(env.target)]
    assert env.record.read_text() == "celerra-dm3:/fs_store1 %s ro\n" % env.target


@pytest.mark.parametrize("rc,output,message", NFS_LS_CASES[:5])
def test_a_failed_check_mounts_nothing(tmp_path, monkeypatch, rc, output, message):
    env = Env(tmp_path, monkeypatch)
    req = mnfs.parse_args([SPEC, str(env.target)])
    with pytest.raises(mnfs.MountError) as exc:
        mnfs.do_mount(req, nfs_ls=answer(rc, output), run=env.run, probe=lambda s: None)
    assert exc.value.message == message and exc.value.code == 32
    assert env.calls == [] and not env.record.exists()


def test_a_failed_probe_skips_nfs_ls(tmp_path, monkeypatch):
    env = Env(tmp_path, monkeypatch)
    req = mnfs.parse_args([SPEC, str(env.target)])

    def never(server, export):
        raise AssertionError("nfs-ls must not run")

    with pytest.raises(mnfs.MountError) as exc:
        mnfs.do_mount(req, nfs_ls=never, run=env.run,
                      probe=lambda s: mnfs.MountError("Connection refused"))
    assert exc.value.message == "Connection refused" and env.calls == []


def test_missing_back_end_fails_clearly(tmp_path, monkeypatch):
    env = Env(tmp_path, monkeypatch)
    req = mnfs.parse_args(["celerra-dm2:/fs_store2", str(env.target)])
    with pytest.raises(mnfs.MountError) as exc:
        mnfs.do_mount(req, nfs_ls=answer(0), run=env.run, probe=lambda s: None)
    assert exc.value.message == (
        "mounting celerra-dm2:/fs_store2 failed: back-end volume %s is not present on this host"
        % (env.backend / "fs_store2"))
    assert env.calls == []


def test_fake_mount_checks_but_does_not_mount(tmp_path, monkeypatch):
    env = Env(tmp_path, monkeypatch)
    req = mnfs.parse_args([SPEC, str(env.target), "-f"])
    assert mnfs.do_mount(req, nfs_ls=answer(0), run=env.run, probe=lambda s: None) == 0
    assert env.calls == [] and not env.record.exists()
    with pytest.raises(mnfs.MountError):
        mnfs.do_mount(req, nfs_ls=answer(251, "nfs_service failed"), run=env.run,
                      probe=lambda s: None)


def test_record_replaces_the_line_of_the_same_directory_and_list_filters(tmp_path):
    record = tmp_path / "mounts"
    mnfs.record("celerra-dm2:/fs_store1", "/var/cpms/store1", "rw", record_file=str(record))
    mnfs.record("celerra-dm2:/fs_store2", "/var/cpms/store2", "rw", record_file=str(record))
    mnfs.record("celerra-dm3:/fs_store1", "/var/cpms/store1", "rw", record_file=str(record))
    assert record.read_text() == ("celerra-dm2:/fs_store2 /var/cpms/store2 rw\n"
                                  "celerra-dm3:/fs_store1 /var/cpms/store1 rw\n")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("1 0 0:1 / / rw - overlay overlay rw\n"
                         "2 1 0:2 / /var/cpms/store1 rw - ext4 /dev/vda rw\n")
    out = io.StringIO()
    mnfs.list_mounts(record_file=str(record), mountinfo=str(mountinfo), out=out)
    assert out.getvalue() == "celerra-dm3:/fs_store1 /var/cpms/store1 rw\n"


def test_mount_points_with_spaces_are_decoded(tmp_path):
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("2 1 0:2 / /mnt/with\\040space rw - ext4 /dev/vda rw\n")
    assert "/mnt/with space" in mnfs.read_mount_points(str(mountinfo))


def test_called_as_nfs_lab_mounts_lists(tmp_path, monkeypatch, capsys):
    record = tmp_path / "mounts"
    record.write_text("celerra-dm2:/fs_store1 / rw\ncelerra-dm2:/fs_store2 /nowhere rw\n")
    monkeypatch.setattr(mnfs, "RECORD_FILE", str(record))
    assert mnfs.main(["/usr/local/sbin/nfs-lab-mounts"]) == 0
    assert capsys.readouterr().out == "celerra-dm2:/fs_store1 / rw\n"


def test_the_shell_wrapper_runs_the_module_under_any_name(tmp_path):
    wrapper = MOUNT_NFS.with_name("mount.nfs")
    proc = subprocess.run([str(wrapper), "-h"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: mount.nfs remotetarget dir")
    link = tmp_path / "mount.nfs4"
    link.symlink_to(wrapper)
    proc = subprocess.run([str(link), "-V"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("mount.nfs4: ")
    proc = subprocess.run([str(link), "celerra-dm2"], capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("mount.nfs4: usage: mount.nfs4 ")
