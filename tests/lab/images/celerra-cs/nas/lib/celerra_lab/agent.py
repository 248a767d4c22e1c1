"""Client of the data movers' agents.

Protocol (the lab's own; the real Celerra uses its private internal network): TCP, by default port
5081, one request per connection. The client sends one JSON object on one line; the agent answers
one JSON object on one line and closes.

  {"op": "apply", "mover": "server_2", "mounts": [{"fs": "fs_store1", "path": "/fs_store1",
   "mode": "rw"}], "exports": [{"path": "/fs_store1", "fs": "fs_store1",
   "options": {"rw": ["mta1", "mta2"], "root": ["mta1"], "access": ["mta1", "mta2"]}}]}
      serve exactly these exports (nfs-ganesha is (re)started and answers NFS before the reply)
  {"op": "down", "mover": "server_2"}
      stop serving (the mover reboots or has panicked): nfs-ganesha is stopped
  {"op": "status", "mover": "server_2"}
      report what is served

Answers: {"ok": true, "mover": "server_2", "state": "up"|"down"|"unconfigured",
"exports": ["/fs_store1", ...]} or {"ok": false, "error": "<text>"}. An agent refuses requests
for another mover's name, so a mis-wired lab.conf fails loudly.
"""

import json
import socket
import time

from . import store

CONNECT_TIMEOUT = 5.0
# A name lookup that fails temporarily (podman's DNS while a container restarts) is tried again.
DNS_RETRY = 10.0
# An apply waits for nfs-ganesha to restart and answer; leave it time.
REPLY_TIMEOUT = 60.0


class AgentError(Exception):
    """The agent could not be reached or refused the request."""


def request(conf, mover, payload, timeout=REPLY_TIMEOUT):
    address = store.mover_address(conf, mover)
    if address is None:
        raise AgentError("no agent address for %s in lab.conf" % mover)
    host, port = address
    data = (json.dumps(dict(payload, mover=mover)) + "\n").encode("utf-8")
    deadline = time.time() + DNS_RETRY
    while True:
        try:
            infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
            break
        except socket.gaierror as exc:
            if exc.errno != socket.EAI_AGAIN or time.time() >= deadline:
                raise AgentError("%s:%d: %s" % (host, port, exc.strerror or exc)) from None
            time.sleep(0.2)
    try:
        with socket.create_connection(infos[0][4], timeout=CONNECT_TIMEOUT) as sock:
            sock.settimeout(timeout)
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if chunk.endswith(b"\n"):
                    break
    except socket.timeout:
        raise AgentError("%s:%d: timed out" % (host, port)) from None
    except OSError as exc:
        raise AgentError("%s:%d: %s" % (host, port, exc.strerror or exc)) from None
    text = b"".join(chunks).decode("utf-8", "replace").strip()
    if not text:
        raise AgentError("%s:%d: empty answer" % (host, port))
    try:
        answer = json.loads(text)
    except ValueError:
        raise AgentError("%s:%d: bad answer %r" % (host, port, text[:200])) from None
    if not answer.get("ok"):
        raise AgentError("%s:%d: %s" % (host, port, answer.get("error", "refused")))
    return answer


def apply(conf, mover_name, served):
    return request(conf, mover_name, {"op": "apply", "mounts": served["mounts"],
                                      "exports": served["exports"]})


def down(conf, mover_name):
    return request(conf, mover_name, {"op": "down"}, timeout=30.0)


def status(conf, mover_name):
    return request(conf, mover_name, {"op": "status"}, timeout=10.0)
