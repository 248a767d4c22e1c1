"""cpmsctl: start, stop and inspect the CPMS services of this host.

Exit codes: 0 ok (status: running), 1 other error, 2 usage, 3 stopped (status), 4 inconsistent install,
5 no active configuration server, 6 MTAs still registered and alive, 7 mail store not mounted.
"""

import grp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from cpms import common

CPMS_BUILD = "6.7.19"

USAGE = """usage: cpmsctl COMMAND
commands:
  start     start the CPMS services of this host's role
  stop      stop them (the active configuration server refuses while MTAs run)
  status    print whether CPMS runs (exit 0 running, 3 stopped, 1 partly running)
  version   print the installed version (exit 4 when the install is inconsistent)
  check     print ok when every service of the role answers on its port
"""

COMMANDS = ("start", "stop", "status", "version", "check")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 3
EXIT_INCONSISTENT, EXIT_NO_CONFIG, EXIT_MTAS_ALIVE, EXIT_NOT_MOUNTED = 4, 5, 6, 7


class System:
    """Everything cpmsctl does to the host. The unit tests replace it with a fake."""

    PIDFILES = {
        "postfix": ("/var/spool/postfix/pid/master.pid", "master"),
        "dovecot": ("/run/dovecot/master.pid", "dovecot"),
    }

    def __init__(self, paths):
        self.paths = paths

    # -- facts
    def euid(self):
        return os.geteuid()

    def hostname(self):
        return socket.gethostname().split(".")[0]

    def is_mount_point(self, path):
        return common.is_mount_point(path)

    def read_users(self):
        try:
            with open(self.paths.users_file, encoding="utf-8") as handle:
                return handle.read()
        except OSError as exc:
            raise common.CpmsError(f"cannot read mail users {self.paths.users_file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise common.CpmsError(f"{self.paths.users_file}: not UTF-8 text") from None

    def confd(self, host, line):
        return common.confd_request(host, line)

    def port_open(self, port):
        return common.port_open("127.0.0.1", port, timeout=0.5)

    def _pid(self, service):
        if service in self.PIDFILES:
            pidfile, needle = self.PIDFILES[service]
        else:
            pidfile, needle = self.paths.pidfile(service), "cpms." + service
        return common.read_pid(pidfile), needle

    def running(self, service):
        pid, needle = self._pid(service)
        return common.pid_alive(pid, needle)

    def clock(self):
        return time.monotonic()

    def pause(self, seconds):
        time.sleep(seconds)

    # -- actions
    def _run(self, argv):
        # Output goes to a file, not a pipe: the daemons these commands leave behind inherit it, and a pipe
        # would never see its end.
        with tempfile.TemporaryFile() as output:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                  start_new_session=True, check=False)
            if proc.returncode != 0:
                output.seek(0)
                text = " ".join(output.read().decode("utf-8", "replace").split())[-300:]
                raise common.CpmsError(f"{argv[0]} {' '.join(argv[1:])} failed (exit {proc.returncode}): {text}")

    def _write(self, path, text, mode, gid=None):
        tmp = f"{path}.tmp{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        if gid is not None:
            os.chown(tmp, 0, gid)
        os.replace(tmp, path)

    def prepare_mail(self, users, myhostname):
        """Write Postfix's mailbox map and Dovecot's user file, create each user's Maildir on its store."""
        os.makedirs(self.paths.state_dir, exist_ok=True)
        self._write(self.paths.mailbox_map, common.mailbox_map_text(users, self.paths), 0o644)
        self._write(self.paths.dovecot_users, common.dovecot_users_text(users, self.paths), 0o640,
                    gid=grp.getgrnam("dovecot").gr_gid)
        for user, dummy in users:
            home = os.path.join(self.paths.store_for(user), user)
            for sub in ("", "Maildir", "Maildir/cur", "Maildir/new", "Maildir/tmp"):
                path = os.path.join(home, sub) if sub else home
                if not os.path.isdir(path):
                    os.mkdir(path, 0o700)
                    os.chown(path, common.VMAIL_UID, common.VMAIL_GID)
        self._run(["postconf", "-e", f"myhostname={myhostname}"])

    def _spawn(self, service):
        os.makedirs(self.paths.run_dir, exist_ok=True)
        os.makedirs(self.paths.log_dir, exist_ok=True)
        program = os.path.join(self.paths.home, "bin", "cpms-" + service)
        with open(os.path.join(self.paths.log_dir, service + ".log"), "ab") as log:
            proc = subprocess.Popen([program], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, close_fds=True)
        self._write(self.paths.pidfile(service), f"{proc.pid}\n", 0o644)

    def start(self, service):
        if service == "postfix":
            self._run(["postfix", "start"])
        elif service == "dovecot":
            self._run(["dovecot"])
        else:
            self._spawn(service)

    def stop(self, service):
        if service == "postfix":
            self._run(["postfix", "stop"])
            return
        pid, dummy = self._pid(service)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def forget(self, service):
        """Remove the pid file of a stopped cpms daemon."""
        if service not in self.PIDFILES:
            try:
                os.unlink(self.paths.pidfile(service))
            except FileNotFoundError:
                pass


class Ctl:
    def __init__(self, paths=None, system=None, out=None, err=None, timeout=30.0, interval=0.1):
        self.paths = paths or common.Paths()
        self.system = system or System(self.paths)
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.timeout = timeout
        self.interval = interval

    # -- plumbing
    def say(self, text):
        self.out.write(text + "\n")

    def complain(self, text):
        self.err.write(f"cpmsctl: {text}\n")

    def wait(self, predicate):
        return common.wait_until(predicate, self.timeout, self.interval, self.system.clock, self.system.pause)

    def run(self, argv):
        if len(argv) == 1 and argv[0] in ("-h", "--help", "help"):
            self.out.write(USAGE)
            return EXIT_OK
        if len(argv) != 1 or argv[0] not in COMMANDS:
            what = "no command given" if not argv else (
                f"unknown command {argv[0]!r}" if argv[0] not in COMMANDS else
                f"{argv[0]} takes no arguments, got {' '.join(argv[1:])!r}")
            self.complain(what)
            self.err.write(USAGE)
            self._log("usage", "error", EXIT_USAGE, what)
            return EXIT_USAGE
        command = argv[0]
        if self.system.euid() != 0:
            self.complain("must be run as root")
            return EXIT_ERROR
        try:
            code, result, detail = getattr(self, "cmd_" + command)()
        except common.CpmsError as exc:
            self.complain(str(exc))
            code, result, detail = exc.code, "error", str(exc)
        except OSError as exc:
            self.complain(f"{command} failed: {exc}")
            code, result, detail = EXIT_ERROR, "error", str(exc)
        self._log(command, result, code, detail)
        return code

    def _log(self, action, result, code, detail):
        try:
            common.log_action(self.paths, action, result, f"exit={code} {detail}".strip())
        except common.CpmsError as exc:
            self.complain(f"warning: {exc}")

    def conf(self):
        return common.load_cluster_conf(self.paths)

    def consistent_version(self):
        version, problems = common.check_install(self.paths.home)
        if problems:
            raise common.CpmsError(common.describe_inconsistency(version, problems), EXIT_INCONSISTENT)
        return version

    def services(self, conf):
        return common.ROLE_SERVICES[conf.role]

    def find_active(self, conf):
        """Ask the configuration servers (active_config first) until one answers ACTIVE."""
        order = [conf.active_config] + [h for h in conf.config_servers if h != conf.active_config]
        tried = []
        for host in order:
            try:
                answer = self.system.confd(host, "STATUS")
            except (OSError, UnicodeError) as exc:
                tried.append(f"{host} ({getattr(exc, 'strerror', None) or exc})")
                continue
            words = answer.split()
            if len(words) == 2 and words[0] == "ACTIVE":
                return host
            tried.append(f"{host} (answered {answer[:60]!r})")
        raise common.CpmsError("no active configuration server answers; tried " + ", ".join(tried), EXIT_NO_CONFIG)

    # -- commands: each returns (exit code, log result, log detail)
    def cmd_status(self):
        conf = self.conf()
        version, problems = common.check_install(self.paths.home)
        shown = "inconsistent" if problems else version
        names = [name for name, dummy in self.services(conf)]
        down = [name for name in names if not self.system.running(name)]
        if not down:
            self.say(f"cpms: running (role={conf.role}, version={shown})")
            return EXIT_OK, "running", ""
        if len(down) == len(names):
            self.say(f"cpms: stopped (role={conf.role}, version={shown})")
            return EXIT_STOPPED, "stopped", ""
        self.say(f"cpms: degraded (role={conf.role}, version={shown}, down={','.join(down)})")
        return EXIT_ERROR, "degraded", "down=" + ",".join(down)

    def cmd_version(self):
        version = self.consistent_version()
        self.say(version)
        return EXIT_OK, "ok", f"version={version}"

    def cmd_check(self):
        conf = self.conf()
        silent = [f"{name} (port {port})" for name, ports in self.services(conf)
                  for port in ports if not self.system.port_open(port)]
        if silent:
            raise common.CpmsError("check failed: not answering: " + ", ".join(silent), EXIT_ERROR)
        self.say("ok")
        return EXIT_OK, "ok", ""

    def cmd_start(self):
        conf = self.conf()
        version = self.consistent_version()
        services = self.services(conf)
        pending = [(name, ports) for name, ports in services if not self.system.running(name)]
        if not pending:
            self.say(f"cpms: already running (role={conf.role}, version={version})")
            return EXIT_OK, "ok", "already running"
        me = self.system.hostname()
        detail = ""
        if conf.role == "mta":
            for store in self.paths.stores:
                if not self.system.is_mount_point(store):
                    raise common.CpmsError(
                        f"{store} is not a mount point: mount the mail store first "
                        "(mail is never written to this host's own disk)", EXIT_NOT_MOUNTED)
            users = common.parse_users(self.system.read_users(), self.paths.users_file)
            active = self.find_active(conf)
            try:
                answer = self.system.confd(active, f"REGISTER {me}")
            except OSError as exc:
                raise common.CpmsError(f"cannot register with {active}: {exc}", EXIT_NO_CONFIG) from None
            if answer != f"OK registered {me}":
                raise common.CpmsError(f"{active} refused to register {me}: {answer}", EXIT_NO_CONFIG)
            self.system.prepare_mail(users, f"{me}.lab.example")
            detail = f"registered with {active}"
        for name, dummy in pending:
            self.system.start(name)
        ports = [(name, port) for name, ports in services for port in ports]
        self.wait(lambda: all(self.system.port_open(port) for dummy, port in ports))
        silent = [f"{name} (port {port})" for name, port in ports if not self.system.port_open(port)]
        if silent:
            raise common.CpmsError(f"started, but not answering after {self.timeout:g}s: " + ", ".join(silent))
        extra = f", {detail}" if detail else ""
        self.say(f"cpms: started (role={conf.role}, version={version}{extra})")
        return EXIT_OK, "ok", detail

    def cmd_stop(self):
        conf = self.conf()
        services = self.services(conf)
        me = self.system.hostname()
        running = [name for name, dummy in services if self.system.running(name)]
        if conf.role == "config" and running and me == conf.active_config:
            try:
                answer = self.system.confd("127.0.0.1", "LIST")
            except OSError as exc:
                raise common.CpmsError(f"cannot ask the local configuration service for its MTAs: {exc}") from None
            words = answer.split()
            if not words or words[0] != "OK":
                raise common.CpmsError(f"the local configuration service answered {answer[:80]!r} to LIST")
            if len(words) > 1:
                raise common.CpmsError(
                    f"refusing to stop the active configuration server {me}: MTAs still registered and alive: "
                    + ", ".join(words[1:]) + " (stop them first)", EXIT_MTAS_ALIVE)
        for name in reversed(running):
            self.system.stop(name)
        ports = [(name, port) for name, ports in services for port in ports]

        def all_down():
            return (not any(self.system.running(name) for name, dummy in services)
                    and not any(self.system.port_open(port) for dummy, port in ports))

        self.wait(all_down)
        still = [name for name, dummy in services if self.system.running(name)]
        still += [f"{name} (port {port})" for name, port in ports if self.system.port_open(port)]
        if still:
            raise common.CpmsError(f"still running after {self.timeout:g}s: " + ", ".join(still))
        for name, dummy in services:
            self.system.forget(name)
        detail = "" if running else "already stopped"
        if conf.role == "mta":
            try:
                active = self.find_active(conf)
                answer = self.system.confd(active, f"UNREGISTER {me}")
                if answer not in (f"OK unregistered {me}", f"ERR not registered: {me}"):
                    raise common.CpmsError(f"{active} answered {answer[:80]!r}")
                detail = (detail + f" unregistered from {active}").strip()
            except (common.CpmsError, OSError) as exc:
                self.complain(f"warning: could not unregister {me}: {exc}")
                detail = (detail + " not unregistered").strip()
        self.say(f"cpms: {'already ' if not running else ''}stopped (role={conf.role})")
        return EXIT_OK, "ok", detail


def main(argv=None):
    return Ctl().run(sys.argv[1:] if argv is None else argv)
