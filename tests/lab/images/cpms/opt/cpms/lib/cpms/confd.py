"""cpms-confd: the configuration service of a configuration server (TCP 4200, one line per request).

Requests and answers (one line each, ASCII):
  STATUS             -> ACTIVE <me> | STANDBY <me>
  REGISTER <host>    -> OK registered <host>              (active only)
  UNREGISTER <host>  -> OK unregistered <host> | ERR not registered: <host>   (active only)
  LIST               -> OK [<host> ...]   registered MTAs that answer on SMTP; dead ones are dropped
Anything else      -> ERR <reason>
"""

import argparse
import concurrent.futures
import os
import signal
import socket
import socketserver
import sys
import threading

from cpms import common

CPMS_BUILD = "6.7.19"

MAX_LINE = 1024
IDLE_TIMEOUT = 30.0


class Registry:
    """Registered MTAs, persisted in a file (one host per line) so a restart keeps them."""

    def __init__(self, path, smtp_port=common.SMTP_PORT, probe_timeout=1.5, alive=None):
        self.path = path
        self.smtp_port = smtp_port
        self.probe_timeout = probe_timeout
        self._alive = alive or self._smtp_answers
        self._lock = threading.Lock()
        self._hosts = self._load()

    def _load(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise common.CpmsError(f"cannot read registrations {self.path}: {exc}") from None
        hosts = []
        for number, raw in enumerate(text.splitlines(), 1):
            host = raw.strip()
            if not host:
                continue
            if not common.HOST_RE.match(host):
                raise common.CpmsError(f"{self.path}: line {number}: not a host name: {raw!r}")
            if host not in hosts:
                hosts.append(host)
        return hosts

    def _save(self):
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, exist_ok=True)
        tmp = f"{self.path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write("".join(h + "\n" for h in self._hosts))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    def _smtp_answers(self, host):
        return common.port_open(host, self.smtp_port, timeout=self.probe_timeout)

    def hosts(self):
        with self._lock:
            return list(self._hosts)

    def register(self, host):
        with self._lock:
            if host not in self._hosts:
                self._hosts.append(host)
                self._save()

    def unregister(self, host):
        with self._lock:
            if host not in self._hosts:
                return False
            self._hosts.remove(host)
            self._save()
            return True

    def alive(self):
        """Probe every registered MTA (in parallel), drop the dead ones, return the live ones."""
        snapshot = self.hosts()
        if not snapshot:
            return []
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(snapshot))) as pool:
            verdicts = dict(zip(snapshot, pool.map(self._alive, snapshot)))
        dead = [h for h in snapshot if not verdicts[h]]
        with self._lock:
            if dead:
                self._hosts = [h for h in self._hosts if h not in dead]
                self._save()
            # A host registered while probing counts as alive: it is starting.
            return [h for h in self._hosts if verdicts.get(h, True)]


class Service:
    """The protocol, independent of sockets."""

    def __init__(self, me, conf, registry, log=None):
        self.me = me
        self.conf = conf
        self.registry = registry
        self.log = log or (lambda message: None)

    @property
    def active(self):
        return self.me == self.conf.active_config

    def answer(self, line):
        words = line.split()
        if not words:
            return "ERR empty request"
        command, args = words[0], words[1:]
        if command == "STATUS":
            if args:
                return "ERR usage: STATUS"
            return f"{'ACTIVE' if self.active else 'STANDBY'} {self.me}"
        if command == "LIST":
            if args:
                return "ERR usage: LIST"
            if not self.active:
                return f"ERR standby: {self.me} is not the active configuration server ({self.conf.active_config} is)"
            return " ".join(["OK"] + self.registry.alive())
        if command in ("REGISTER", "UNREGISTER"):
            if len(args) != 1:
                return f"ERR usage: {command} <host>"
            host = args[0]
            if not common.HOST_RE.match(host) or len(host) > 253:
                return f"ERR not a host name: {host[:64]!r}"
            if not self.active:
                return f"ERR standby: {self.me} is not the active configuration server ({self.conf.active_config} is)"
            if command == "REGISTER":
                self.registry.register(host)
                self.log(f"registered {host}")
                return f"OK registered {host}"
            if self.registry.unregister(host):
                self.log(f"unregistered {host}")
                return f"OK unregistered {host}"
            return f"ERR not registered: {host}"
        return f"ERR unknown command: {command[:32]}"


class _Handler(socketserver.StreamRequestHandler):
    timeout = IDLE_TIMEOUT

    def handle(self):
        service = self.server.service
        while True:
            try:
                raw = self.rfile.readline(MAX_LINE + 1)
            except (OSError, socket.timeout):
                return
            if not raw:
                return
            if len(raw) > MAX_LINE:
                self._send("ERR line too long")
                return
            try:
                line = raw.decode("ascii").strip()
            except UnicodeDecodeError:
                self._send("ERR not ASCII")
                continue
            try:
                answer = service.answer(line)
            except OSError as exc:
                answer = f"ERR internal: {exc}"
            if not self._send(answer):
                return

    def _send(self, answer):
        try:
            self.wfile.write(answer.encode("ascii", "replace") + b"\n")
            self.wfile.flush()
            return True
        except OSError:
            return False


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address, service):
        self.service = service
        super().__init__(address, _Handler)


def _log(message):
    sys.stderr.write(f"{common.timestamp()} cpms-confd: {message}\n")
    sys.stderr.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="cpms-confd", description="CPMS configuration service")
    parser.add_argument("--listen", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=common.CONFD_PORT)
    parser.add_argument("--state", default=common.Paths().registrations)
    parser.add_argument("--conf", default=common.Paths().cluster_conf)
    parser.add_argument("--hostname", default=None)
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")
    try:
        with open(args.conf, encoding="utf-8") as handle:
            conf = common.parse_cluster_conf(handle.read(), args.conf)
        if conf.role != "config":
            raise common.CpmsError(f"{args.conf}: role is {conf.role}; cpms-confd runs on configuration servers")
        me = args.hostname or socket.gethostname().split(".")[0]
        registry = Registry(args.state)
        server = Server((args.listen, args.port), Service(me, conf, registry, _log))
    except common.CpmsError as exc:
        _log(f"error: {exc}")
        return 1
    except OSError as exc:
        _log(f"error: cannot listen on {args.listen}:{args.port}: {exc.strerror or exc}")
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _log(f"listening on {args.listen}:{server.server_address[1]} as "
         f"{'ACTIVE' if me == conf.active_config else 'STANDBY'} {me}; registered: {' '.join(registry.hosts()) or '-'}")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        _log("stopped")
    return 0
