"""Shared pieces of the lab's CPMS: paths, cluster.conf, install consistency, mail users, small I/O helpers."""

import datetime
import os
import re
import socket
import time
from dataclasses import dataclass, field

CPMS_BUILD = "6.7.19"

CONFD_PORT = 4200
SMTP_PORT = 25
POP3_PORT = 110
IMAP_PORT = 143
WEBMAIL_PORT = 8080

# Services of each role and the ports each must answer on, in start order.
ROLE_SERVICES = {
    "config": [("confd", (CONFD_PORT,))],
    "mta": [
        ("postfix", (SMTP_PORT,)),
        ("dovecot", (POP3_PORT, IMAP_PORT)),
        ("webmail", (WEBMAIL_PORT,)),
    ],
}

VMAIL_UID = 5000
VMAIL_GID = 5000

HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
VERSION_RE = re.compile(r"^[0-9]+(?:\.[0-9]+){2,3}$")
BUILD_RE = re.compile(r'^[ \t]*(?:#[ \t]*)?CPMS_BUILD[ \t]*=[ \t]*"([^"\n]*)"[ \t]*$', re.MULTILINE)
USER_RE = re.compile(r"^[uv][a-z0-9._-]{0,31}$")


class CpmsError(Exception):
    """An error with the exit code the command must return."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


@dataclass
class Paths:
    home: str = "/opt/cpms"
    log_dir: str = "/var/log/cpms"
    run_dir: str = "/run/cpms"
    state_dir: str = "/var/lib/cpms"
    lab_etc: str = "/etc/cpms-lab"
    mail_base: str = "/var/cpms"
    stores: tuple = field(default=("/var/cpms/store1", "/var/cpms/store2"))

    @property
    def cluster_conf(self):
        return os.path.join(self.home, "etc", "cluster.conf")

    @property
    def version_file(self):
        return os.path.join(self.home, "VERSION")

    @property
    def cpms_log(self):
        return os.path.join(self.log_dir, "cpms.log")

    @property
    def users_file(self):
        return os.path.join(self.lab_etc, "users")

    @property
    def registrations(self):
        return os.path.join(self.state_dir, "registrations")

    @property
    def mailbox_map(self):
        return os.path.join(self.state_dir, "mailboxes")

    @property
    def dovecot_users(self):
        return os.path.join(self.state_dir, "dovecot-users")

    def pidfile(self, service):
        return os.path.join(self.run_dir, service + ".pid")

    def store_for(self, user):
        """The mail store of a user: u* on the first store, v* on the second."""
        return self.stores[0] if user.startswith("u") else self.stores[1]


# ---------------------------------------------------------------- cluster.conf

@dataclass
class ClusterConf:
    role: str
    active_config: str
    config_servers: list


def parse_cluster_conf(text, source="cluster.conf"):
    """Parse key=value lines strictly; raise CpmsError naming the line on anything unexpected."""
    values = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise CpmsError(f"{source}: line {number}: expected key=value, got {raw!r}")
        key, value = (part.strip() for part in line.split("=", 1))
        if key not in ("role", "active_config", "config_servers"):
            raise CpmsError(f"{source}: line {number}: unknown key {key!r}")
        if key in values:
            raise CpmsError(f"{source}: line {number}: {key} given twice")
        values[key] = value
    for key in ("role", "active_config", "config_servers"):
        if key not in values:
            raise CpmsError(f"{source}: missing {key}")
    if values["role"] not in ROLE_SERVICES:
        raise CpmsError(f"{source}: role must be config or mta, got {values['role']!r}")
    servers = [s.strip() for s in values["config_servers"].split(",")]
    if not servers or any(not HOST_RE.match(s) for s in servers):
        raise CpmsError(f"{source}: config_servers must be a comma-separated list of host names, "
                        f"got {values['config_servers']!r}")
    if len(set(servers)) != len(servers):
        raise CpmsError(f"{source}: config_servers names a host twice")
    if values["active_config"] not in servers:
        raise CpmsError(f"{source}: active_config {values['active_config']!r} is not one of config_servers")
    return ClusterConf(values["role"], values["active_config"], servers)


def load_cluster_conf(paths):
    try:
        with open(paths.cluster_conf, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise CpmsError(f"cannot read {paths.cluster_conf}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CpmsError(f"{paths.cluster_conf}: not UTF-8 text") from None
    return parse_cluster_conf(text, paths.cluster_conf)


# ------------------------------------------------------------ install consistency

def installed_files(home):
    """Every file below bin/ and lib/ (relative to home), sorted; byte-code caches are not part of the install."""
    found = []
    for top in ("bin", "lib"):
        base = os.path.join(home, top)
        if not os.path.isdir(base):
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in filenames:
                if name.endswith((".pyc", ".pyo")):
                    continue
                found.append(os.path.relpath(os.path.join(dirpath, name), home))
    return sorted(found)


def file_build(path):
    """The CPMS_BUILD a file carries, or None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            match = BUILD_RE.search(handle.read())
    except OSError:
        return None
    return match.group(1) if match else None


def check_install(home):
    """Return (version, problems): the VERSION file's content and a list of human-readable problems."""
    problems = []
    version = None
    try:
        with open(os.path.join(home, "VERSION"), encoding="utf-8") as handle:
            version = handle.read().strip()
    except (OSError, UnicodeDecodeError):
        problems.append("VERSION is missing or unreadable")
    if version is not None and not VERSION_RE.match(version):
        problems.append(f"VERSION holds {version!r}, not a version")
        version = None
    files = installed_files(home)
    if not files:
        problems.append("no files under bin/ and lib/")
    for rel in files:
        build = file_build(os.path.join(home, rel))
        if build is None:
            problems.append(f"{rel} carries no CPMS_BUILD")
        elif version is not None and build != version:
            problems.append(f"{rel} is build {build}")
    return version, problems


def describe_inconsistency(version, problems):
    head = f"VERSION is {version}" if version else "no valid VERSION"
    return f"install inconsistent: {head}; " + "; ".join(problems)


# ------------------------------------------------------------------- mail users

def parse_users(text, source="users"):
    """Parse `user:password` lines; return a list of (user, password). Users must be u* or v*."""
    users = []
    seen = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if ":" not in line:
            raise CpmsError(f"{source}: line {number}: expected user:password")
        user, password = line.split(":", 1)
        if not USER_RE.match(user):
            raise CpmsError(f"{source}: line {number}: bad user name {user!r} "
                            "(lower case, starting with u for store1 or v for store2)")
        if not password:
            raise CpmsError(f"{source}: line {number}: empty password for {user}")
        if any(c == ":" or c.isspace() or ord(c) < 32 or ord(c) == 127 for c in password):
            raise CpmsError(f"{source}: line {number}: password of {user} holds a colon, blank or control character")
        if user in seen:
            raise CpmsError(f"{source}: line {number}: user {user} listed twice")
        seen.add(user)
        users.append((user, password))
    if not users:
        raise CpmsError(f"{source}: no mail users")
    return users


def mailbox_map_text(users, paths):
    """Postfix virtual_mailbox_maps (texthash): address -> Maildir path relative to virtual_mailbox_base."""
    lines = []
    for user, dummy in users:
        rel = os.path.relpath(os.path.join(paths.store_for(user), user, "Maildir"), paths.mail_base)
        lines.append(f"{user}@lab.example {rel}/")
    return "\n".join(lines) + "\n"


def dovecot_users_text(users, paths):
    """Dovecot passwd-file: user:{PLAIN}password:uid:gid::home."""
    lines = []
    for user, password in users:
        home = os.path.join(paths.store_for(user), user)
        lines.append(f"{user}:{{PLAIN}}{password}:{VMAIL_UID}:{VMAIL_GID}::{home}::")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------- helpers

def timestamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_action(paths, action, result, detail=""):
    """Append one line to cpms.log: timestamp, action, result and detail."""
    detail = " ".join(detail.split())
    line = f"{timestamp()} action={action} result={result}"
    if detail:
        line += f" detail={detail}"
    try:
        os.makedirs(paths.log_dir, exist_ok=True)
        with open(paths.cpms_log, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError as exc:
        raise CpmsError(f"cannot write {paths.cpms_log}: {exc.strerror}") from None


def port_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout, interval=0.1, clock=time.monotonic, pause=time.sleep):
    """Poll predicate until it is true or the deadline passes; return its last value."""
    deadline = clock() + timeout
    while True:
        if predicate():
            return True
        if clock() >= deadline:
            return False
        pause(interval)


def confd_request(host, line, port=CONFD_PORT, timeout=3.0):
    """Send one protocol line to a configuration server and return its one-line answer."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(line.encode("ascii") + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
            if len(data) > 65536:
                raise OSError("answer too long")
    answer = data.decode("utf-8", "replace").strip()
    if not answer:
        raise OSError("empty answer")
    return answer


def _unescape_mountinfo(field_text):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_text)


def mount_points(mountinfo="/proc/self/mountinfo"):
    points = set()
    with open(mountinfo, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) > 4:
                points.add(_unescape_mountinfo(fields[4]))
    return points


def is_mount_point(path, mountinfo="/proc/self/mountinfo"):
    real = os.path.realpath(path)
    try:
        return real in mount_points(mountinfo)
    except OSError:
        return os.path.ismount(real)


def read_pid(pidfile):
    try:
        with open(pidfile, encoding="ascii") as handle:
            text = handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def pid_alive(pid, needle=None):
    """True when the process exists (and is not a zombie); with needle, its command line must contain it."""
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()
    if state and state[0] == "Z":
        return False
    if needle is None:
        return True
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return False
    return needle in cmdline
