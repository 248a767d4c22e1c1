"""cpms-confd: the line protocol, registrations that survive a restart, liveness over real sockets."""

import socket
import threading

import pytest

from cpms import common, confd

CONF = common.parse_cluster_conf("role=config\nactive_config=mailconf2\nconfig_servers=mailconf1,mailconf2\n")


def always(verdict):
    return lambda host: verdict


@pytest.fixture
def state(tmp_path):
    return str(tmp_path / "registrations")


def service(state, me="mailconf2", alive=None):
    return confd.Service(me, CONF, confd.Registry(state, alive=alive or always(True)))


@pytest.fixture
def smtp_listener():
    """A listening socket on 127.0.0.1 standing in for a live MTA's SMTP port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def running_server(state):
    servers = []

    def start(svc):
        server = confd.Server(("127.0.0.1", 0), svc)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server.server_address[1]

    def stop():
        server, thread = servers.pop()
        server.shutdown()
        server.server_close()
        thread.join(5)

    yield start, stop
    while servers:
        stop()


# ------------------------------------------------------------------ protocol

def test_status_active_and_standby(state):
    assert service(state).answer("STATUS") == "ACTIVE mailconf2"
    assert service(state, me="mailconf1").answer("STATUS") == "STANDBY mailconf1"


def test_register_unregister_list(state):
    svc = service(state)
    assert svc.answer("LIST") == "OK"
    assert svc.answer("REGISTER mta1") == "OK registered mta1"
    assert svc.answer("REGISTER mta2") == "OK registered mta2"
    assert svc.answer("REGISTER mta1") == "OK registered mta1"
    assert svc.answer("LIST") == "OK mta1 mta2"
    assert svc.answer("UNREGISTER mta1") == "OK unregistered mta1"
    assert svc.answer("UNREGISTER mta1") == "ERR not registered: mta1"
    assert svc.answer("LIST") == "OK mta2"


@pytest.mark.parametrize("line, answer", [
    ("", "ERR empty request"),
    ("status", "ERR unknown command: status"),
    ("HELO mta1", "ERR unknown command: HELO"),
    ("STATUS now", "ERR usage: STATUS"),
    ("LIST all", "ERR usage: LIST"),
    ("REGISTER", "ERR usage: REGISTER <host>"),
    ("REGISTER a b", "ERR usage: REGISTER <host>"),
    ("UNREGISTER", "ERR usage: UNREGISTER <host>"),
    ("REGISTER -mta1", "ERR not a host name: '-mta1'"),
    ("REGISTER mta1;reboot", "ERR not a host name: 'mta1;reboot'"),
    ("REGISTER ../etc", "ERR not a host name: '../etc'"),
])
def test_bad_requests(state, line, answer):
    svc = service(state)
    assert svc.answer(line) == answer
    assert svc.registry.hosts() == []


def test_standby_refuses_registrations_and_list(state):
    svc = service(state, me="mailconf1")
    for line in ("REGISTER mta1", "UNREGISTER mta1", "LIST"):
        answer = svc.answer(line)
        assert answer.startswith("ERR standby: mailconf1 is not the active configuration server (mailconf2 is)")
    assert svc.registry.hosts() == []


# ------------------------------------------------------------- persistence

def test_registrations_survive_a_restart(state):
    svc = service(state)
    svc.answer("REGISTER mta1")
    svc.answer("REGISTER mta2")
    svc.answer("UNREGISTER mta1")
    again = service(state)
    assert again.registry.hosts() == ["mta2"]
    with open(state, encoding="utf-8") as handle:
        assert handle.read() == "mta2\n"


def test_corrupt_registrations_file_is_refused(state):
    with open(state, "w", encoding="utf-8") as handle:
        handle.write("mta1\nrm -rf /\n")
    with pytest.raises(common.CpmsError) as caught:
        confd.Registry(state)
    assert "line 2" in str(caught.value)


# ---------------------------------------------------------------- liveness

def test_list_drops_dead_mtas_and_forgets_them(state):
    svc = service(state, alive=lambda host: host != "mta2")
    for host in ("mta1", "mta2", "mta3"):
        svc.answer(f"REGISTER {host}")
    assert svc.answer("LIST") == "OK mta1 mta3"
    assert service(state).registry.hosts() == ["mta1", "mta3"]


def test_liveness_is_an_smtp_connection(state, smtp_listener):
    # 127.0.0.1 has the listener; nothing listens on 127.0.0.2 at that port.
    registry = confd.Registry(state, smtp_port=smtp_listener, probe_timeout=1.0)
    svc = confd.Service("mailconf2", CONF, registry)
    svc.answer("REGISTER 127.0.0.1")
    svc.answer("REGISTER 127.0.0.2")
    assert svc.answer("LIST") == "OK 127.0.0.1"
    assert registry.hosts() == ["127.0.0.1"]


# ------------------------------------------------------------ over TCP

def test_protocol_over_tcp(state, running_server, smtp_listener):
    start, dummy = running_server
    registry = confd.Registry(state, smtp_port=smtp_listener, probe_timeout=1.0)
    port = start(confd.Service("mailconf2", CONF, registry))
    assert common.confd_request("127.0.0.1", "STATUS", port=port) == "ACTIVE mailconf2"
    assert common.confd_request("127.0.0.1", "REGISTER 127.0.0.1", port=port) == "OK registered 127.0.0.1"
    assert common.confd_request("127.0.0.1", "LIST", port=port) == "OK 127.0.0.1"
    # Several requests on one connection, answered in order.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"STATUS\nBOGUS\nLIST\n")
        data = b""
        while data.count(b"\n") < 3:
            chunk = sock.recv(4096)
            assert chunk
            data += chunk
    assert data.decode().splitlines() == ["ACTIVE mailconf2", "ERR unknown command: BOGUS", "OK 127.0.0.1"]


def test_over_long_and_binary_lines(state, running_server):
    start, dummy = running_server
    port = start(service(state))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"\xff\xfe\n")
        assert sock.recv(100) == b"ERR not ASCII\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"REGISTER " + b"a" * 2000 + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(100)
            if not chunk:
                break
            reply += chunk
        assert reply == b"ERR line too long\n"


def test_restarted_server_keeps_registrations(state, running_server):
    start, stop = running_server
    port = start(service(state))
    assert common.confd_request("127.0.0.1", "REGISTER mta1", port=port) == "OK registered mta1"
    stop()
    with pytest.raises(OSError):
        common.confd_request("127.0.0.1", "STATUS", port=port, timeout=1)
    port = start(service(state))
    assert common.confd_request("127.0.0.1", "LIST", port=port) == "OK mta1"


def test_confd_main_refuses_an_mta(tmp_path, capsys):
    conf = tmp_path / "cluster.conf"
    conf.write_text("role=mta\nactive_config=mailconf2\nconfig_servers=mailconf1,mailconf2\n")
    code = confd.main(["--conf", str(conf), "--state", str(tmp_path / "r"), "--port", "0"])
    assert code == 1
    assert "runs on configuration servers" in capsys.readouterr().err


def test_confd_main_reports_a_busy_port(tmp_path, capsys, smtp_listener):
    conf = tmp_path / "cluster.conf"
    conf.write_text("role=config\nactive_config=mailconf2\nconfig_servers=mailconf1,mailconf2\n")
    code = confd.main(["--conf", str(conf), "--state", str(tmp_path / "r"), "--listen", "127.0.0.1",
                       "--port", str(smtp_listener)])
    assert code == 1
    assert "cannot listen" in capsys.readouterr().err
