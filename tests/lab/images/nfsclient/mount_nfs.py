"""The lab's /sbin/mount.nfs (see docs/lab.md, "The mail servers' NFS mounts").

Run by the shell wrapper `mount.nfs` next to this file as `python3 mount_nfs.py <$0> <args...>`.

The kernel of the lab hosts has no NFS client. This helper is called by util-linux `mount` as

    mount.nfs SPEC DIR [-o OPTS] [-s] [-f] [-n] [-v] [-r] [-w] [-N NS] [-t TYPE]

with SPEC `server:/export`. It asks the named data mover over real NFSv4 (libnfs' `nfs-ls`) whether
the export exists and admits this client, and fails as the real mount.nfs does (exit 32) when not.
Only then does it bind-mount the file system's back-end volume, /celerra/backend/<export>, on DIR
(read-only with `ro`), and record `SPEC DIR OPTS` in /run/nfs-lab/mounts.

Called as `nfs-lab-mounts` (a link to this file), it prints the recorded lines whose DIR is a mount
point now.

Exit codes follow nfs-utils: 0 success, 1 bad usage, 32 mount failure.
"""

import errno
import fcntl
import os
import re
import socket
import subprocess
import sys

PROG = "mount.nfs"
EX_SUCCESS = 0
EX_USAGE = 1
EX_FAIL = 32

BACKEND_ROOT = "/celerra/backend"
RECORD_DIR = "/run/nfs-lab"
RECORD_FILE = RECORD_DIR + "/mounts"
MOUNTINFO = "/proc/self/mountinfo"
NFS_LS = "nfs-ls"
NFS_PORT = 2049
# Seconds to wait for the server before reporting a time-out (the real client waits minutes).
CHECK_TIMEOUT = float(os.environ.get("NFS_LAB_TIMEOUT", "10"))

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")

USAGE = """usage: {prog} remotetarget dir [-rvVwfnsh] [-o nfsoptions]
options:
\t-r\t\tMount file system readonly
\t-v\t\tVerbose
\t-V\t\tPrint version
\t-w\t\tMount file system read-write
\t-f\t\tFake mount, do not actually mount
\t-n\t\tDo not update /etc/mtab
\t-s\t\tTolerate sloppy mount options rather than fail
\t-h\t\tPrint this help
\tnfsoptions\tRefer to mount.nfs(8) or nfs(5)
"""


class MountError(Exception):
    """A failure with the message to print (without the program prefix) and the exit code."""

    def __init__(self, message, code=EX_FAIL):
        super().__init__(message)
        self.message = message
        self.code = code


class Request:
    def __init__(self):
        self.spec = None
        self.server = None
        self.export = None
        self.name = None
        self.dir = None
        self.options = []
        self.fake = False
        self.verbose = False
        self.sloppy = False
        self.no_mtab = False
        self.version = False
        self.help = False

    @property
    def read_only(self):
        mode = "rw"
        for opt in self.options:
            if opt in ("ro", "rw"):
                mode = opt
        return mode == "ro"

    @property
    def option_string(self):
        return ",".join(self.options) if self.options else "defaults"


def parse_args(argv, prog=PROG):
    """Parse the helper's arguments (argv without the program name) into a Request.

    Raises MountError(code=EX_USAGE) on bad usage. Flags may come before or after the two
    positional arguments, as util-linux places them after.
    """
    req = Request()
    positional = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            positional.extend(argv[i + 1:])
            break
        if arg.startswith("-") and len(arg) > 1:
            flags = arg[1:]
            j = 0
            while j < len(flags):
                flag = flags[j]
                if flag in "otN":
                    value = flags[j + 1:]
                    if not value:
                        i += 1
                        if i >= len(argv):
                            raise MountError("option requires an argument -- '%s'\n%s"
                                             % (flag, USAGE.format(prog=prog).rstrip("\n")),
                                             EX_USAGE)
                        value = argv[i]
                    if flag == "o":
                        req.options.extend(o for o in value.split(",") if o)
                    elif flag == "N":
                        raise MountError("network namespaces are not supported in the lab", EX_USAGE)
                    # -t nfs / nfs4 / nfs.subtype: nothing to do.
                    break
                if flag == "r":
                    req.options.append("ro")
                elif flag == "w":
                    req.options.append("rw")
                elif flag == "f":
                    req.fake = True
                elif flag == "n":
                    req.no_mtab = True
                elif flag == "s":
                    req.sloppy = True
                elif flag == "v":
                    req.verbose = True
                elif flag == "V":
                    req.version = True
                elif flag == "h":
                    req.help = True
                else:
                    raise MountError("invalid option -- '%s'\n%s"
                                     % (flag, USAGE.format(prog=prog).rstrip("\n")), EX_USAGE)
                j += 1
        else:
            positional.append(arg)
        i += 1
    if req.help or req.version:
        return req
    if len(positional) != 2:
        raise MountError(USAGE.format(prog=prog).rstrip("\n"), EX_USAGE)
    req.spec, req.dir = positional
    parse_spec(req)
    return req


def parse_spec(req):
    """Split SPEC into server and export; the export must be one level, a file system name."""
    spec = req.spec
    if spec.count(":") != 1 or spec.startswith("["):
        raise MountError("remote share not in 'host:dir' format")
    server, export = spec.split(":", 1)
    if not server or not export.startswith("/"):
        raise MountError("remote share not in 'host:dir' format")
    if not HOST_RE.match(server):
        raise MountError("Failed to resolve server %s: Name or service not known" % server)
    name = export.rstrip("/")[1:] if export != "/" else ""
    if not NAME_RE.match(name):
        raise MountError("mounting %s failed, reason given by server: No such file or directory"
                         % spec)
    req.server = server
    req.export = "/" + name
    req.name = name


def check_dir(path):
    """The mount point must exist and be a directory (nfs-utils' chk_mountpoint, exit 1)."""
    if not os.path.isabs(path):
        path = os.path.abspath(path)
    if not os.path.lexists(path):
        raise MountError("mount point %s does not exist" % path, EX_USAGE)
    if not os.path.isdir(path):
        raise MountError("mount point %s is not a directory" % path, EX_USAGE)
    return os.path.realpath(path)


def probe_server(server, port=NFS_PORT, timeout=None):
    """Resolve the server and open a TCP connection to its NFS port, as the kernel client does
    first. Returns None when the port answers, else the MountError mount.nfs would print."""
    timeout = CHECK_TIMEOUT if timeout is None else timeout
    try:
        infos = socket.getaddrinfo(server, port, socket.AF_INET, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return MountError("Failed to resolve server %s: Name or service not known" % server)
    address = infos[0][4]
    try:
        with socket.create_connection(address, timeout=timeout):
            return None
    except socket.timeout:
        return MountError("Connection timed out")
    except OSError as exc:
        if exc.errno == errno.ECONNREFUSED:
            return MountError("Connection refused")
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return MountError("No route to host")
        if exc.errno == errno.ETIMEDOUT:
            return MountError("Connection timed out")
        return MountError(os.strerror(exc.errno) if exc.errno else str(exc))


def nfs_url(server, export):
    return "nfs://%s%s?version=4" % (server, export)


def run_nfs_ls(server, export, timeout=None):
    """Run nfs-ls against the export; returns (returncode, output) or (None, '') on time-out."""
    timeout = CHECK_TIMEOUT if timeout is None else timeout
    try:
        proc = subprocess.run([NFS_LS, nfs_url(server, export)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, ""
    except FileNotFoundError:
        raise MountError("%s is not installed (libnfs-utils)" % NFS_LS)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


# libnfs 4.0 error texts, as nfs-ls prints them, and what the real mount.nfs says in each case.
# Seen against the lab's movers (nfs-ganesha 4.3, NFSv4):
#   not exported           Failed to mount nfs share : mount_cb: NFS4: (path /fs_x) failed with
#                          NFS4ERR_NOENT(-2)
#   client not admitted    ... failed with NFS4ERR_WRONGSEC(-5)   (see the mover agent)
#   NFS port closed        Failed to mount nfs share : nfs_service failed
#   unknown server         ... Invalid address:celerra-dm9. Can not resolv into IPv4/v6 structure.
# Matched in order, case-insensitively.
ERROR_MAP = [
    (re.compile(r"connection refused|ECONNREFUSED|nfs_service failed", re.I),
     "Connection refused"),
    (re.compile(r"timed out|ETIMEDOUT|timeout", re.I), "Connection timed out"),
    (re.compile(r"no route to host|EHOSTUNREACH|network is unreachable", re.I),
     "No route to host"),
    (re.compile(r"resolv|getaddrinfo|Name or service not known|Temporary failure in name",
                re.I), "RESOLVE"),
    (re.compile(r"NFS4ERR_ACCESS|NFS3ERR_ACCES|EACCES|Permission denied|access denied|"
                r"NFS4ERR_PERM|NFS3ERR_PERM|EPERM|NFS4ERR_WRONGSEC", re.I), "ACCESS"),
    (re.compile(r"NFS4ERR_NOENT|NFS3ERR_NOENT|ENOENT|No such file or directory", re.I), "NOENT"),
]


def map_nfs_ls(returncode, output, spec, server):
    """Turn an nfs-ls result into None (the export answered) or a MountError as mount.nfs words it.

    returncode None means nfs-ls did not answer within the time-out.
    """
    if returncode is None:
        return MountError("Connection timed out")
    if returncode == 0:
        return None
    for pattern, meaning in ERROR_MAP:
        if pattern.search(output):
            if meaning == "RESOLVE":
                return MountError("Failed to resolve server %s: Name or service not known" % server)
            if meaning == "ACCESS":
                return MountError("access denied by server while mounting %s" % spec)
            if meaning == "NOENT":
                return MountError("mounting %s failed, reason given by server: "
                                  "No such file or directory" % spec)
            return MountError(meaning)
    detail = " ".join(output.split()) or "nfs-ls exited %d" % returncode
    return MountError("mounting %s failed: %s" % (spec, detail))


def read_mount_points(mountinfo=None):
    """The set of mount points in this namespace (field 5 of mountinfo, octal escapes decoded)."""
    points = set()
    try:
        with open(mountinfo or MOUNTINFO, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 4:
                    points.add(_unescape(fields[4]))
    except OSError:
        pass
    return points


def _unescape(text):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def record(spec, directory, options, record_file=None):
    """Replace any line for DIR with `SPEC DIR OPTS`, under an exclusive lock."""
    path = record_file or RECORD_FILE
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        lines = [ln for ln in fh.read().splitlines()
                 if ln.strip() and (len(ln.split()) < 2 or ln.split()[1] != directory)]
        lines.append("%s %s %s" % (spec, directory, options))
        fh.seek(0)
        fh.truncate()
        fh.write("\n".join(lines) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def list_mounts(record_file=None, mountinfo=None, out=None):
    """Print the recorded lines whose DIR is a mount point now (nfs-lab-mounts)."""
    out = out or sys.stdout
    points = read_mount_points(mountinfo)
    try:
        with open(record_file or RECORD_FILE, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return EX_SUCCESS
    for line in lines:
        fields = line.split()
        if len(fields) >= 2 and fields[1] in points:
            out.write(line + "\n")
    return EX_SUCCESS


def bind_mount(source, target, read_only, run=subprocess.run):
    proc = run(["mount", "--bind", source, target], stdin=subprocess.DEVNULL,
               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        raise MountError("bind mount of %s on %s failed: %s"
                         % (source, target, proc.stdout.decode("utf-8", "replace").strip()))
    if read_only:
        proc = run(["mount", "-o", "remount,bind,ro", target], stdin=subprocess.DEVNULL,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        if proc.returncode != 0:
            run(["umount", target], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, check=False)
            raise MountError("read-only remount of %s failed: %s"
                             % (target, proc.stdout.decode("utf-8", "replace").strip()))


def do_mount(req, nfs_ls=run_nfs_ls, run=subprocess.run, log=None, probe=probe_server):
    """Check the export over NFS, then bind-mount the back end and record the mount."""
    log = log or (lambda msg: None)
    directory = check_dir(req.dir)
    error = probe(req.server)
    if error is not None:
        raise error
    log("%s: trying %s" % (PROG, nfs_url(req.server, req.export)))
    returncode, output = nfs_ls(req.server, req.export)
    error = map_nfs_ls(returncode, output, req.spec, req.server)
    if error is not None:
        raise error
    source = os.path.join(BACKEND_ROOT, req.name)
    if not os.path.isdir(source):
        raise MountError("mounting %s failed: back-end volume %s is not present on this host"
                         % (req.spec, source))
    if directory in read_mount_points():
        raise MountError("%s is busy or already mounted" % directory)
    if req.fake:
        log("%s: fake mount of %s on %s" % (PROG, req.spec, directory))
        return EX_SUCCESS
    bind_mount(source, directory, req.read_only, run=run)
    record(req.spec, directory, req.option_string)
    log("%s: %s mounted on %s (%s)" % (PROG, req.spec, directory, req.option_string))
    return EX_SUCCESS


def main(argv=None):
    """argv[0] is the name the helper was called by (mount.nfs, mount.nfs4, nfs-lab-mounts)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = os.path.basename(argv[0]) if argv else PROG
    if prog == "nfs-lab-mounts":
        return list_mounts()
    try:
        req = parse_args(argv[1:], prog=prog)
        if req.help:
            sys.stdout.write(USAGE.format(prog=prog))
            return EX_SUCCESS
        if req.version:
            sys.stdout.write("%s: (mailops lab, libnfs check)\n" % prog)
            return EX_SUCCESS
        if os.geteuid() != 0:
            raise MountError("only root can do that", EX_USAGE)
        log = (lambda msg: sys.stderr.write(msg + "\n")) if req.verbose else None
        return do_mount(req, log=log)
    except MountError as exc:
        sys.stderr.write("%s: %s\n" % (prog, exc.message))
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
