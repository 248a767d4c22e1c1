"""cpmsctl: argument handling, state decisions, install consistency, cluster.conf and mail users."""

import io
import pathlib
import shutil

import pytest

from cpms import common, ctl

CPMS_IMAGE = pathlib.Path(__file__).resolve().parents[2] / "lab" / "images" / "cpms"
CPMS_TREE = CPMS_IMAGE / "opt" / "cpms"

PORTS = {name: ports for role in common.ROLE_SERVICES.values() for name, ports in role}


class FakeSystem:
    """The host as cpmsctl sees it: services, ports, mounts and configuration servers, all in memory."""

    def __init__(self, host="mta1"):
        self.uid = 0
        self.host = host
        self.mounted = {"/var/cpms/store1", "/var/cpms/store2"}
        self.users_text = "u1:pw-one\nu2:pw-two\nv1:pw-three\n"
        # configuration server -> its STATUS answer; absent means connection refused
        self.configs = {"mailconf2": "ACTIVE mailconf2", "mailconf1": "STANDBY mailconf1"}
        self.registered = {"mailconf2": [], "mailconf1": []}
        self.alive_mtas = []          # what the local confd's LIST reports
        self.running_set = set()
        self.listening = set()
        self.deaf = set()             # services that start but never answer
        self.stubborn = set()         # services that ignore stop
        self.events = []
        self.prepared = None
        self.now = 0.0
        self.pauses = 0

    def euid(self):
        return self.uid

    def hostname(self):
        return self.host

    def is_mount_point(self, path):
        return path in self.mounted

    def read_users(self):
        return self.users_text

    def confd(self, host, line):
        self.events.append(("confd", host, line))
        if host == "127.0.0.1":
            if line == "LIST":
                return " ".join(["OK"] + self.alive_mtas)
            raise AssertionError(line)
        if host not in self.configs:
            raise ConnectionRefusedError(111, "Connection refused")
        status = self.configs[host]
        if line == "STATUS":
            return status
        command, name = line.split()
        if not status.startswith("ACTIVE"):
            return f"ERR standby: {host} is not the active configuration server"
        if command == "REGISTER":
            self.registered[host].append(name)
            return f"OK registered {name}"
        if command == "UNREGISTER":
            if name in self.registered[host]:
                self.registered[host].remove(name)
                return f"OK unregistered {name}"
            return f"ERR not registered: {name}"
        raise AssertionError(line)

    def port_open(self, port):
        return port in self.listening

    def running(self, service):
        return service in self.running_set

    def clock(self):
        return self.now

    def pause(self, seconds):
        self.pauses += 1
        self.now += seconds

    def prepare_mail(self, users, myhostname):
        self.events.append(("prepare", myhostname))
        self.prepared = (users, myhostname)

    def start(self, service):
        self.events.append(("start", service))
        self.running_set.add(service)
        if service not in self.deaf:
            self.listening |= set(PORTS[service])

    def stop(self, service):
        self.events.append(("stop", service))
        if service not in self.stubborn:
            self.running_set.discard(service)
            self.listening -= set(PORTS[service])

    def forget(self, service):
        self.events.append(("forget", service))

    def run_all(self, role):
        for name, ports in common.ROLE_SERVICES[role]:
            self.running_set.add(name)
            self.listening |= set(ports)


@pytest.fixture
def paths(tmp_path):
    home = tmp_path / "opt" / "cpms"
    shutil.copytree(CPMS_TREE, home, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (home / "etc").mkdir(exist_ok=True)
    return common.Paths(home=str(home), log_dir=str(tmp_path / "log"), run_dir=str(tmp_path / "run"),
                        state_dir=str(tmp_path / "state"), lab_etc=str(tmp_path / "lab"))


def write_conf(paths, role):
    with open(paths.cluster_conf, "w", encoding="utf-8") as handle:
        handle.write(f"role={role}\nactive_config=mailconf2\nconfig_servers=mailconf1,mailconf2\n")


class Run:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err


def cpmsctl(paths, system, *argv, timeout=5.0):
    out, err = io.StringIO(), io.StringIO()
    code = ctl.Ctl(paths, system, out, err, timeout=timeout, interval=0.1).run(list(argv))
    return Run(code, out.getvalue(), err.getvalue())


def log_lines(paths):
    try:
        with open(paths.cpms_log, encoding="utf-8") as handle:
            return handle.read().splitlines()
    except FileNotFoundError:
        return []


def set_build(paths, rel, build):
    path = f"{paths.home}/{rel}"
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    new = common.BUILD_RE.sub(f'CPMS_BUILD = "{build}"', text, count=1)
    assert new != text
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(new)


# ------------------------------------------------------------------ arguments

@pytest.mark.parametrize("argv", [[], ["bogus"], ["start", "now"], ["status", "--force"], ["Start"], ["version", ""]])
def test_bad_arguments_print_usage_and_exit_2(paths, argv):
    write_conf(paths, "mta")
    system = FakeSystem()
    run = cpmsctl(paths, system, *argv)
    assert run.code == 2
    assert "usage: cpmsctl" in run.err
    assert run.out == ""
    assert system.events == []
    assert len(log_lines(paths)) == 1 and "action=usage result=error" in log_lines(paths)[0]


def test_help_goes_to_stdout(paths):
    run = cpmsctl(paths, FakeSystem(), "--help")
    assert run.code == 0 and "usage: cpmsctl" in run.out and run.err == ""


def test_non_root_is_refused(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    system.uid = 1000
    run = cpmsctl(paths, system, "start")
    assert run.code == 1 and "must be run as root" in run.err
    assert system.events == []


def test_missing_cluster_conf_is_a_clear_error(paths):
    run = cpmsctl(paths, FakeSystem(), "status")
    assert run.code == 1
    assert "cluster.conf" in run.err


def test_every_action_logs_one_line(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    for argv in (["status"], ["version"], ["check"], ["start"], ["check"], ["stop"], ["nonsense"]):
        cpmsctl(paths, system, *argv)
    lines = log_lines(paths)
    assert len(lines) == 7
    actions = [line.split()[1] for line in lines]
    assert actions == ["action=status", "action=version", "action=check", "action=start", "action=check",
                       "action=stop", "action=usage"]
    assert all(line[:4].isdigit() and line[19] == "Z" for line in lines)
    assert "result=ok" in lines[3] and "exit=0" in lines[3]


# --------------------------------------------------------------------- status

def test_status_stopped_running_degraded(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    run = cpmsctl(paths, system, "status")
    assert (run.code, run.out) == (3, "cpms: stopped (role=mta, version=6.7.19)\n")
    system.run_all("mta")
    run = cpmsctl(paths, system, "status")
    assert (run.code, run.out) == (0, "cpms: running (role=mta, version=6.7.19)\n")
    system.running_set.discard("dovecot")
    run = cpmsctl(paths, system, "status")
    assert run.code == 1 and "degraded" in run.out and "down=dovecot" in run.out


def test_status_of_a_configuration_server(paths):
    write_conf(paths, "config")
    system = FakeSystem("mailconf2")
    assert cpmsctl(paths, system, "status").out == "cpms: stopped (role=config, version=6.7.19)\n"
    system.run_all("config")
    assert cpmsctl(paths, system, "status").code == 0


def test_status_shows_an_inconsistent_install(paths):
    write_conf(paths, "mta")
    set_build(paths, "lib/cpms/render.py", "6.7.19.1")
    run = cpmsctl(paths, FakeSystem(), "status")
    assert run.code == 3 and "version=inconsistent" in run.out


# -------------------------------------------------------------------- version

def test_version_of_the_pristine_tree(paths):
    write_conf(paths, "mta")
    run = cpmsctl(paths, FakeSystem(), "version")
    assert (run.code, run.out) == (0, "6.7.19\n")


def test_source_tree_is_consistent():
    assert common.check_install(str(CPMS_TREE)) == ("6.7.19", [])


@pytest.mark.parametrize("rel", ["bin/cpmsctl", "lib/cpms/render.py", "lib/cpms/__init__.py"])
def test_version_names_the_mismatched_file(paths, rel):
    write_conf(paths, "mta")
    set_build(paths, rel, "6.7.19.1")
    run = cpmsctl(paths, FakeSystem(), "version")
    assert run.code == 4
    assert run.out == ""
    assert run.err.startswith("cpmsctl: install inconsistent: ")
    assert f"{rel} is build 6.7.19.1" in run.err


def test_version_after_half_a_patch_names_every_new_file(paths):
    write_conf(paths, "mta")
    for rel in ("bin/cpms-confd", "bin/cpmsctl"):
        set_build(paths, rel, "6.7.19.1")
    run = cpmsctl(paths, FakeSystem(), "version")
    assert run.code == 4
    assert "bin/cpms-confd is build 6.7.19.1" in run.err and "bin/cpmsctl is build 6.7.19.1" in run.err
    assert "render.py" not in run.err


def test_version_when_the_version_file_moved_on_alone(paths):
    write_conf(paths, "mta")
    with open(paths.version_file, "w", encoding="utf-8") as handle:
        handle.write("6.7.19.1\n")
    run = cpmsctl(paths, FakeSystem(), "version")
    assert run.code == 4 and "VERSION is 6.7.19.1" in run.err and "bin/cpmsctl is build 6.7.19" in run.err


def test_shell_comment_marker_counts(paths, tmp_path):
    script = f"{paths.home}/bin/helper.sh"
    with open(script, "w", encoding="utf-8") as handle:
        handle.write('#!/bin/sh\n# CPMS_BUILD = "6.7.19"\necho hi\n')
    assert common.check_install(paths.home) == ("6.7.19", [])
    with open(script, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\necho no marker\n")
    version, problems = common.check_install(paths.home)
    assert problems == ["bin/helper.sh carries no CPMS_BUILD"]


@pytest.mark.parametrize("content", ["", "six\n", "6.7\n", "6.7.19; rm -rf /\n"])
def test_bad_version_file(paths, content):
    with open(paths.version_file, "w", encoding="utf-8") as handle:
        handle.write(content)
    version, problems = common.check_install(paths.home)
    assert version is None and problems


def test_byte_code_caches_are_not_part_of_the_install(paths):
    cache = f"{paths.home}/lib/cpms/__pycache__"
    shutil.os.makedirs(cache)
    with open(f"{cache}/render.cpython-311.pyc", "wb") as handle:
        handle.write(b"\0junk")
    assert common.check_install(paths.home) == ("6.7.19", [])


# ---------------------------------------------------------------- start (MTA)

def test_mta_start_registers_then_starts_in_order(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    run = cpmsctl(paths, system, "start")
    assert run.code == 0, run.err
    assert run.out == "cpms: started (role=mta, version=6.7.19, registered with mailconf2)\n"
    assert system.registered["mailconf2"] == ["mta1"]
    kinds = [e for e in system.events if e[0] in ("start", "prepare") or e[2:] == ("REGISTER mta1",)]
    assert kinds == [("confd", "mailconf2", "REGISTER mta1"), ("prepare", "mta1.lab.example"),
                     ("start", "postfix"), ("start", "dovecot"), ("start", "webmail")]
    assert [u for u, dummy in system.prepared[0]] == ["u1", "u2", "v1"]


def test_mta_start_refused_without_an_active_configuration_server(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    system.configs = {"mailconf1": "STANDBY mailconf1"}
    run = cpmsctl(paths, system, "start")
    assert run.code == 5
    assert "no active configuration server" in run.err
    assert "mailconf2 (Connection refused)" in run.err and "mailconf1 (answered 'STANDBY mailconf1')" in run.err
    assert not [e for e in system.events if e[0] in ("start", "prepare")]
    assert not any("REGISTER" in e[-1] for e in system.events)


def test_mta_start_refused_when_no_configuration_server_answers(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    system.configs = {}
    run = cpmsctl(paths, system, "start")
    assert run.code == 5 and "mailconf2" in run.err and "mailconf1" in run.err
    assert system.running_set == set()


def test_mta_start_uses_whichever_server_says_active(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    system.configs = {"mailconf1": "ACTIVE mailconf1"}
    run = cpmsctl(paths, system, "start")
    assert run.code == 0 and system.registered["mailconf1"] == ["mta1"]


@pytest.mark.parametrize("missing", ["/var/cpms/store1", "/var/cpms/store2"])
def test_mta_start_refused_when_a_store_is_not_mounted(paths, missing):
    write_conf(paths, "mta")
    system = FakeSystem()
    system.mounted.discard(missing)
    run = cpmsctl(paths, system, "start")
    assert run.code == 7
    assert f"{missing} is not a mount point" in run.err
    assert system.events == []


def test_start_refused_on_an_inconsistent_install_before_anything_else(paths):
    write_conf(paths, "mta")
    set_build(paths, "lib/cpms/render.py", "6.7.19.1")
    system = FakeSystem()
    system.mounted = set()
    system.configs = {}
    run = cpmsctl(paths, system, "start")
    assert run.code == 4 and "install inconsistent" in run.err and "lib/cpms/render.py" in run.err
    assert system.events == []


@pytest.mark.parametrize("users, message", [
    ("", "no mail users"),
    ("u1\n", "expected user:password"),
    ("x1:pw\n", "bad user name"),
    ("u1:\n", "empty password"),
    ("u1:a b\n", "blank or control"),
    ("u1:pw\nu1:pw2\n", "listed twice"),
])
def test_mta_start_refused_on_bad_mail_users(paths, users, message):
    write_conf(paths, "mta")
    system = FakeSystem()
    system.users_text = users
    run = cpmsctl(paths, system, "start")
    assert run.code == 1 and message in run.err
    assert not [e for e in system.events if e[0] == "start"]


def test_mta_start_names_the_service_that_does_not_come_up(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    system.deaf = {"dovecot"}
    run = cpmsctl(paths, system, "start", timeout=3.0)
    assert run.code == 1
    assert "dovecot (port 110)" in run.err and "dovecot (port 143)" in run.err
    assert "postfix" not in run.err and "webmail" not in run.err
    # It polled until the deadline instead of sleeping once.
    assert system.now >= 3.0 and system.pauses >= 30


def test_start_when_already_running_changes_nothing(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    system.run_all("mta")
    run = cpmsctl(paths, system, "start")
    assert run.code == 0 and "already running" in run.out
    assert system.events == []


def test_start_completes_a_partly_running_mta(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    system.run_all("mta")
    system.running_set.discard("webmail")
    system.listening.discard(8080)
    run = cpmsctl(paths, system, "start")
    assert run.code == 0
    assert [e for e in system.events if e[0] == "start"] == [("start", "webmail")]


# ------------------------------------------------------- start (config server)

def test_config_server_start(paths):
    write_conf(paths, "config")
    system = FakeSystem("mailconf2")
    run = cpmsctl(paths, system, "start")
    assert run.code == 0 and run.out.startswith("cpms: started (role=config")
    assert [e for e in system.events if e[0] == "start"] == [("start", "confd")]
    assert not [e for e in system.events if e[0] == "confd"]


def test_config_server_start_fails_when_confd_does_not_listen(paths):
    write_conf(paths, "config")
    system = FakeSystem("mailconf2")
    system.deaf = {"confd"}
    run = cpmsctl(paths, system, "start", timeout=1.0)
    assert run.code == 1 and "confd (port 4200)" in run.err


# ----------------------------------------------------------------------- stop

def test_active_config_stop_refused_while_mtas_are_alive(paths):
    write_conf(paths, "config")
    system = FakeSystem("mailconf2")
    system.run_all("config")
    system.alive_mtas = ["mta1", "mta2"]
    run = cpmsctl(paths, system, "stop")
    assert run.code == 6
    assert "mta1, mta2" in run.err and "mailconf2" in run.err
    assert "confd" in system.running_set
    assert not [e for e in system.events if e[0] == "stop"]


def test_active_config_stop_when_no_mta_is_alive(paths):
    write_conf(paths, "config")
    system = FakeSystem("mailconf2")
    system.run_all("config")
    run = cpmsctl(paths, system, "stop")
    assert run.code == 0 and run.out == "cpms: stopped (role=config)\n"
    assert system.running_set == set() and system.listening == set()
    assert ("confd", "127.0.0.1", "LIST") in system.events


def test_standby_config_stop_does_not_ask_for_mtas(paths):
    write_conf(paths, "config")
    system = FakeSystem("mailconf1")
    system.run_all("config")
    system.alive_mtas = ["mta1"]
    run = cpmsctl(paths, system, "stop")
    assert run.code == 0
    assert not [e for e in system.events if e[0] == "confd"]


def test_stop_when_already_stopped(paths):
    write_conf(paths, "config")
    system = FakeSystem("mailconf2")
    run = cpmsctl(paths, system, "stop")
    assert run.code == 0 and "already stopped" in run.out


def test_mta_stop_stops_in_reverse_order_and_unregisters(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    assert cpmsctl(paths, system, "start").code == 0
    system.events.clear()
    run = cpmsctl(paths, system, "stop")
    assert run.code == 0, run.err
    stops = [e for e in system.events if e[0] == "stop"]
    assert stops == [("stop", "webmail"), ("stop", "dovecot"), ("stop", "postfix")]
    assert system.registered["mailconf2"] == []
    assert system.events[-1] == ("confd", "mailconf2", "UNREGISTER mta1")
    assert system.listening == set()


def test_mta_stop_with_the_configuration_server_down_still_stops(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    system.run_all("mta")
    system.configs = {}
    run = cpmsctl(paths, system, "stop")
    assert run.code == 0
    assert "warning: could not unregister mta1" in run.err
    assert system.running_set == set()


def test_mta_stop_names_what_does_not_stop(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    system.run_all("mta")
    system.stubborn = {"postfix"}
    run = cpmsctl(paths, system, "stop", timeout=2.0)
    assert run.code == 1
    assert "postfix" in run.err and "dovecot" not in run.err
    assert system.now >= 2.0
    assert not [e for e in system.events if e[0] == "confd"]


# ---------------------------------------------------------------------- check

def test_check(paths):
    write_conf(paths, "mta")
    system = FakeSystem()
    run = cpmsctl(paths, system, "check")
    assert run.code == 1 and "postfix (port 25)" in run.err and "webmail (port 8080)" in run.err
    system.run_all("mta")
    run = cpmsctl(paths, system, "check")
    assert (run.code, run.out) == (0, "ok\n")
    system.listening.discard(143)
    run = cpmsctl(paths, system, "check")
    assert run.code == 1 and "dovecot (port 143)" in run.err and "port 110" not in run.err


# --------------------------------------------------------------- cluster.conf

def test_cluster_conf_parses():
    conf = common.parse_cluster_conf("# c\nrole=mta\nactive_config = mailconf2\nconfig_servers=mailconf1, mailconf2\n")
    assert (conf.role, conf.active_config, conf.config_servers) == ("mta", "mailconf2", ["mailconf1", "mailconf2"])


@pytest.mark.parametrize("text, message", [
    ("role=mta\nactive_config=mailconf2\n", "missing config_servers"),
    ("role=relay\nactive_config=a\nconfig_servers=a\n", "role must be config or mta"),
    ("role=mta\nactive_config=c\nconfig_servers=a,b\n", "is not one of config_servers"),
    ("role=mta\nactive_config=a\nconfig_servers=a\ncolour=blue\n", "unknown key"),
    ("role=mta\nrole=config\nactive_config=a\nconfig_servers=a\n", "given twice"),
    ("role mta\n", "expected key=value"),
    ("role=mta\nactive_config=a\nconfig_servers=a,,b\n", "comma-separated"),
    ("role=mta\nactive_config=a\nconfig_servers=a;rm -rf /\n", "comma-separated"),
    ("role=mta\nactive_config=a\nconfig_servers=a,a\n", "twice"),
])
def test_cluster_conf_rejects(text, message):
    with pytest.raises(common.CpmsError) as caught:
        common.parse_cluster_conf(text)
    assert message in str(caught.value)


# --------------------------------------------------------------- mail helpers

def test_mail_maps():
    paths = common.Paths()
    users = common.parse_users("u1:a\n# comment\n\nv10:b\n")
    assert common.mailbox_map_text(users, paths) == (
        "u1@lab.example store1/u1/Maildir/\nv10@lab.example store2/v10/Maildir/\n")
    assert common.dovecot_users_text(users, paths) == (
        "u1:{PLAIN}a:5000:5000::/var/cpms/store1/u1::\nv10:{PLAIN}b:5000:5000::/var/cpms/store2/v10::\n")


def test_mount_points_from_mountinfo(tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text(
        "22 1 0:21 / / rw - overlay overlay rw\n"
        "30 22 8:1 /vol /var/cpms/store1 rw - ext4 /dev/sda1 rw\n"
        "31 22 8:1 /vol2 /var/cpms/my\\040store rw - ext4 /dev/sda1 rw\n")
    assert common.is_mount_point("/var/cpms/store1", str(info))
    assert common.is_mount_point("/var/cpms/my store", str(info))
    assert not common.is_mount_point("/var/cpms/store2", str(info))
    assert not common.is_mount_point("/var/cpms", str(info))


def test_wait_until_polls_to_a_deadline():
    now = [0.0]
    calls = []

    def predicate():
        calls.append(now[0])
        return now[0] >= 0.5

    assert common.wait_until(predicate, 2.0, 0.1, clock=lambda: now[0],
                             pause=lambda s: now.__setitem__(0, now[0] + s))
    assert 5 <= len(calls) <= 7
    now[0] = 0.0
    assert not common.wait_until(lambda: False, 1.0, 0.25, clock=lambda: now[0],
                                 pause=lambda s: now.__setitem__(0, now[0] + s))
    assert now[0] >= 1.0


def test_log_line_format(paths):
    common.log_action(paths, "start", "ok", "exit=0  registered\nwith  mailconf2")
    (line,) = log_lines(paths)
    stamp, action, result, detail = line.split(" ", 3)
    assert len(stamp) == 20 and stamp.endswith("Z")
    assert (action, result, detail) == ("action=start", "result=ok", "detail=exit=0 registered with mailconf2")
