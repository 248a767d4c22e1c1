"""Agent of a lab data mover: serves over real NFSv4 (nfs-ganesha) exactly what the Control
Station says is mounted and exported on this mover (docs/lab.md, "The Celerra").

Environment: DM_NAME (server_2, server_3; required), DM_AGENT_PORT (5081), DM_EXPORT_ROOT
(/exports: the back-end volumes, /exports/<fs>).

Protocol (TCP, one request per connection; one JSON object per line each way; the Control
Station's side is nas/lib/celerra_lab/agent.py in the celerra-cs image):

  {"op": "apply", "mover": "server_2", "mounts": [{"fs", "path", "mode"}...],
   "exports": [{"path", "fs", "options": {"rw": [hosts], "ro": [hosts] | true,
                "root": [hosts], "access": [hosts]}}...]}
      write the ganesha configuration for exactly these exports, (re)start nfs-ganesha and
      answer once port 2049 accepts connections
  {"op": "down", "mover": "server_2"}     stop nfs-ganesha (the mover reboots or panicked)
  {"op": "status", "mover": "server_2"}   report

Answers: {"ok": true, "mover": ..., "state": "up"|"down"|"unconfigured", "exports": [paths]} or
{"ok": false, "error": "..."}. A request naming another mover is refused.

Export access: clients are restricted to the export's host lists (access= when given, else the
union of rw=, ro= and root=; no list at all admits everyone). Host names are resolved to IPv4
addresses with the container's DNS when the configuration is written, and again every
RESOLVE_INTERVAL seconds (a client container that starts or restarts later gets its new address).
ganesha hides an export from a client without access (NFS4ERR_NOENT, "not exported"); to make a
refused client see "access denied" as on a real server, clients outside the lists fall into a
catch-all block that demands Kerberos, which no lab client has (NFS4ERR_WRONGSEC).
"""

import json
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$")
IPV4_RE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$")
NFS_PORT = 2049
RESOLVE_INTERVAL = 3.0
START_TIMEOUT = 30.0
MAX_REQUEST = 1 << 20

CORE = ("NFS_CORE_PARAM { Protocols = 4; NFS_Port = %d; Enable_NLM = false; "
        "Enable_RQUOTA = false; Enable_UDP = false; }\n"
        "NFSV4 { Graceless = true; }\n"
        "EXPORT_DEFAULTS { Access_Type = None; }\n")


class AgentError(Exception):
    pass


def log(text):
    sys.stdout.write("%s dm-agent: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), text))
    sys.stdout.flush()


def resolve_host(host):
    """IPv4 addresses of a client name (an IPv4 literal is itself); [] when it does not resolve."""
    if IPV4_RE.match(host):
        return [host]
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    seen = []
    for info in infos:
        addr = info[4][0]
        if addr not in seen:
            seen.append(addr)
    return seen


def _hosts(value):
    return list(value) if isinstance(value, list) else []


def client_rules(options, mount_mode):
    """[(host or '*', access 'RW'|'RO', squash)] for one export, in list order."""
    rw = options.get("rw")
    ro = options.get("ro")
    root = _hosts(options.get("root"))
    if "access" in options:
        allowed = _hosts(options["access"])
    else:
        allowed = []
        for key in ("rw", "ro", "root"):
            for host in _hosts(options.get(key)):
                if host not in allowed:
                    allowed.append(host)
        if not allowed:
            allowed = ["*"]

    def access(host):
        if mount_mode == "ro":
            return "RO"
        if isinstance(rw, list) and host in rw:
            return "RW"
        if ro is True or (isinstance(ro, list) and host in ro):
            return "RO"
        if isinstance(rw, list):
            return "RO"
        return "RW"

    return [(host, access(host), "No_Root_Squash" if host in root else "Root_Squash")
            for host in allowed]


def render_config(exports, mounts, export_root, resolve=resolve_host, port=NFS_PORT):
    """The ganesha configuration serving exactly these exports."""
    modes = {m["path"]: m for m in mounts}
    out = ["# Written by the lab's data mover agent; every apply replaces it.\n", CORE % port]
    for export_id, export in enumerate(exports, start=1):
        mount = modes[export["path"]]
        options = export.get("options") or {}
        out.append("EXPORT {\n")
        out.append("    Export_Id = %d;\n" % export_id)
        out.append("    Path = %s/%s;\n" % (export_root, mount["fs"]))
        out.append("    Pseudo = %s;\n" % export["path"])
        out.append("    Access_Type = None;\n")
        out.append("    Squash = Root_Squash;\n")
        out.append("    Protocols = 4;\n")
        out.append("    Transports = TCP;\n")
        out.append("    FSAL { Name = VFS; }\n")
        groups = []
        seen = set()
        restricted = False
        for host, access, squash in client_rules(options, mount["mode"]):
            if host == "*":
                addrs = ["*"]
            else:
                restricted = True
                addrs = [host] if IPV4_RE.match(host) else resolve(host)
                if not addrs:
                    out.append("    # %s: does not resolve, not admitted\n" % host)
                    continue
            addrs = [a for a in addrs if a not in seen]
            seen.update(addrs)
            if not addrs:
                continue
            for group in groups:
                if group[0] == access and group[1] == squash:
                    group[2].extend(addrs)
                    break
            else:
                groups.append((access, squash, list(addrs)))
        for access, squash, addrs in groups:
            out.append("    CLIENT { Clients = %s; Access_Type = %s; Squash = %s; }\n"
                       % (", ".join(addrs), access, squash))
        if restricted:
            out.append("    # everyone else: refused (\"access denied\", see the agent)\n")
            out.append("    CLIENT { Clients = *; Access_Type = MDONLY_RO; SecType = krb5; }\n")
        out.append("}\n")
    return "".join(out)


def validate(request, export_root, require_mount=True):
    """Check an apply request; returns (mounts, exports) normalised."""
    mounts = request.get("mounts")
    exports = request.get("exports")
    if not isinstance(mounts, list) or not isinstance(exports, list):
        raise AgentError("apply needs 'mounts' and 'exports' lists")
    by_path = {}
    for mount in mounts:
        fs, path, mode = mount.get("fs"), mount.get("path"), mount.get("mode", "rw")
        if not isinstance(fs, str) or not NAME_RE.match(fs):
            raise AgentError("bad file system name %r" % (fs,))
        if not isinstance(path, str) or not path.startswith("/") or not NAME_RE.match(path[1:]):
            raise AgentError("bad mount point %r" % (path,))
        if mode not in ("rw", "ro"):
            raise AgentError("bad mount mode %r" % (mode,))
        if path in by_path:
            raise AgentError("mount point %s used twice" % path)
        backend = os.path.join(export_root, fs)
        if not os.path.isdir(backend):
            raise AgentError("file system %s has no back-end volume on this mover (%s missing)"
                             % (fs, backend))
        if require_mount and not os.path.ismount(backend):
            raise AgentError("back end %s is not a mounted volume" % backend)
        by_path[path] = {"fs": fs, "path": path, "mode": mode}
    clean = []
    for export in exports:
        path = export.get("path")
        if path not in by_path:
            raise AgentError("export %r is not a mount point on this mover" % (path,))
        options = export.get("options") or {}
        if not isinstance(options, dict):
            raise AgentError("bad options for %s" % path)
        for key, value in options.items():
            if key not in ("rw", "ro", "root", "access"):
                raise AgentError("bad export option %r" % key)
            if value is True and key in ("rw", "ro"):
                continue
            if not isinstance(value, list) or not all(
                    isinstance(h, str) and HOST_RE.match(h) for h in value):
                raise AgentError("bad host list for %s=%r" % (key, value))
        clean.append({"path": path, "fs": by_path[path]["fs"], "options": options})
    return list(by_path.values()), clean


class Ganesha:
    """One nfs-ganesha process run in the foreground (-F) as the agent's child."""

    def __init__(self, conf_path, log_path, binary="ganesha.nfsd", port=NFS_PORT):
        self.conf_path = conf_path
        self.log_path = log_path
        self.binary = binary
        self.port = port
        self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _port_open(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def start(self, timeout=START_TIMEOUT):
        os.makedirs("/var/run/ganesha", exist_ok=True)
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self.proc = subprocess.Popen(
            [self.binary, "-F", "-L", self.log_path, "-f", self.conf_path,
             "-p", "/var/run/ganesha/ganesha.pid"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AgentError("nfs-ganesha exited with %d: %s"
                                 % (self.proc.returncode, self.log_tail()))
            if self._port_open():
                return
            time.sleep(0.05)
        self.stop()
        raise AgentError("nfs-ganesha did not answer on port %d within %.0f s"
                         % (self.port, timeout))

    def stop(self, timeout=10.0):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        deadline = time.time() + timeout
        while self._port_open() and time.time() < deadline:
            time.sleep(0.05)

    def log_tail(self, lines=5):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                keep = [ln.strip() for ln in fh if "CRIT" in ln or "FATAL" in ln or "MAJ" in ln]
            return " | ".join(keep[-lines:]) or "no log"
        except OSError:
            return "no log"


class Agent:
    def __init__(self, name, export_root="/exports", conf_path="/etc/ganesha/celerra-lab.conf",
                 state_path="/var/lib/celerra-dm/desired.json", ganesha=None,
                 resolve=resolve_host, require_mount=True):
        self.name = name
        self.export_root = export_root
        self.conf_path = conf_path
        self.state_path = state_path
        self.ganesha = ganesha or Ganesha(conf_path, "/var/log/ganesha/ganesha.log")
        self.resolve = resolve
        self.require_mount = require_mount
        self.lock = threading.Lock()
        self.state = "unconfigured"
        self.mounts = []
        self.exports = []
        self.config = None

    # -- persistence: a restarted mover container serves what it served before
    def save(self):
        os.makedirs(os.path.dirname(self.state_path), exist_ok=True)
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"state": self.state, "mounts": self.mounts, "exports": self.exports}, fh)
        os.replace(tmp, self.state_path)

    def restore(self):
        try:
            with open(self.state_path, encoding="utf-8") as fh:
                saved = json.load(fh)
        except (OSError, ValueError):
            return
        if saved.get("state") == "up":
            try:
                self.apply({"mounts": saved.get("mounts", []), "exports": saved.get("exports", [])})
                log("restored %d export(s)" % len(self.exports))
            except AgentError as exc:
                log("could not restore the last configuration: %s" % exc)
        elif saved.get("state") == "down":
            self.state = "down"

    def _write_config(self, text):
        os.makedirs(os.path.dirname(self.conf_path), exist_ok=True)
        tmp = self.conf_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, self.conf_path)

    def _serve(self, text):
        """Run ganesha with this configuration (restart only when it changed or is stopped)."""
        if text == self.config and self.ganesha.running():
            return
        self.ganesha.stop()
        self._write_config(text)
        self.ganesha.start()
        self.config = text

    def apply(self, request):
        mounts, exports = validate(request, self.export_root, self.require_mount)
        text = render_config(exports, mounts, self.export_root, self.resolve,
                             self.ganesha.port)
        previous = (self.state, self.mounts, self.exports, self.config)
        try:
            self._serve(text)
        except AgentError:
            state, old_mounts, old_exports, old_config = previous
            if state == "up" and old_config is not None:
                try:
                    self.ganesha.stop()
                    self._write_config(old_config)
                    self.ganesha.start()
                except AgentError as exc:
                    log("could not restore the previous configuration: %s" % exc)
            raise
        self.state, self.mounts, self.exports = "up", mounts, exports
        self.save()
        log("serving %s" % (" ".join(e["path"] for e in exports) or "no export"))

    def down(self):
        self.ganesha.stop()
        self.state = "down"
        self.config = None
        self.save()
        log("down: nfs-ganesha stopped")

    def refresh(self):
        """Re-resolve client names; restart ganesha when an address changed."""
        with self.lock:
            if self.state != "up":
                return
            text = render_config(self.exports, self.mounts, self.export_root, self.resolve,
                                 self.ganesha.port)
            if text != self.config:
                log("client addresses changed, restarting nfs-ganesha")
                try:
                    self._serve(text)
                except AgentError as exc:
                    log("restart failed: %s" % exc)

    def handle(self, request):
        if not isinstance(request, dict):
            return {"ok": False, "error": "request is not a JSON object"}
        if request.get("mover") != self.name:
            return {"ok": False, "error": "this is %s, not %s" % (self.name,
                                                                  request.get("mover"))}
        op = request.get("op")
        with self.lock:
            try:
                if op == "apply":
                    self.apply(request)
                elif op == "down":
                    self.down()
                elif op != "status":
                    return {"ok": False, "error": "unknown op %r" % (op,)}
            except AgentError as exc:
                return {"ok": False, "error": str(exc)}
            return {"ok": True, "mover": self.name, "state": self.state,
                    "ganesha": self.ganesha.running(),
                    "exports": [e["path"] for e in self.exports] if self.state == "up" else []}


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline(MAX_REQUEST)
        try:
            request = json.loads(line.decode("utf-8"))
        except ValueError:
            answer = {"ok": False, "error": "bad request"}
        else:
            answer = self.server.agent.handle(request)
        self.wfile.write((json.dumps(answer) + "\n").encode("utf-8"))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(agent, host="0.0.0.0", port=5081):
    server = Server((host, port), Handler)
    server.agent = agent
    return server


def main():
    name = os.environ.get("DM_NAME", "")
    if not re.match(r"^server_[0-9]+$", name):
        sys.stderr.write("dm-agent: DM_NAME must be set to the mover's name (server_2, ...)\n")
        return 2
    port = int(os.environ.get("DM_AGENT_PORT", "5081"))
    agent = Agent(name, export_root=os.environ.get("DM_EXPORT_ROOT", "/exports"))
    server = serve(agent, port=port)

    def stop(signum, frame):
        agent.ganesha.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    agent.restore()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log("%s listening on port %d" % (name, port))
    while True:
        time.sleep(RESOLVE_INTERVAL)
        agent.refresh()


if __name__ == "__main__":
    sys.exit(main())
