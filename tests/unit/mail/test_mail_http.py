"""The webmail probe's HTTP client (ansible.module_utils.urls): Basic authentication, the environment's
proxy, a site CA for https, and the hop named when the certificate is not trusted."""

import base64
import datetime
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.mailops.window.plugins.module_utils import _mail_probe


class Recorder(BaseHTTPRequestHandler):
    """Answers every GET with 200 and its own name; records the request line and headers."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        self.server.seen.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                 "user_agent": self.headers.get("User-Agent")})
        body = ("served by %s" % self.server.name).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


def serve(name, tls=None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.name, server.seen = name, []
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers():
    started = []

    def make(name, tls=None):
        server = serve(name, tls)
        started.append(server)
        return server

    yield make
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def test_basic_authentication_is_sent_without_a_challenge(servers, no_proxy_env):
    webmail = servers("webmail")
    status, text = _mail_probe.http_get("http://127.0.0.1:%d/inbox" % webmail.server_port, "u1", "p:w", 5)
    assert (status, text) == (200, "served by webmail")
    assert webmail.seen == [{"path": "/inbox", "authorization": basic("u1", "p:w"),
                             "user_agent": "mailops.window-webmail-probe"}]


def test_the_environment_proxy_is_used_unless_told_not_to(servers, no_proxy_env):
    webmail, proxy = servers("webmail"), servers("proxy")
    url = "http://127.0.0.1:%d/inbox" % webmail.server_port
    no_proxy_env.setenv("http_proxy", "http://127.0.0.1:%d" % proxy.server_port)

    assert _mail_probe.http_get(url, "u1", "pw", 5) == (200, "served by proxy")
    # A proxy sees the absolute URL, and the credentials go to the webmail through it.
    assert proxy.seen == [{"path": url, "authorization": basic("u1", "pw"),
                           "user_agent": "mailops.window-webmail-probe"}]
    assert webmail.seen == []

    assert _mail_probe.http_get(url, "u1", "pw", 5, use_proxy=False) == (200, "served by webmail")
    assert len(proxy.seen) == 1 and [s["path"] for s in webmail.seen] == ["/inbox"]


def site_ca(tmp_path):
    """A self-signed certificate for 127.0.0.1: (server TLS context, path of the CA file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lab webmail")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "ca.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_file), str(key_file))
    return context, str(cert_file)


def test_https_with_a_site_ca(servers, no_proxy_env, tmp_path):
    context, ca_file = site_ca(tmp_path)
    webmail = servers("tls webmail", tls=context)
    url = "https://127.0.0.1:%d/inbox" % webmail.server_port

    assert _mail_probe.http_get(url, "u1", "pw", 5, ca_path=ca_file) == (200, "served by tls webmail")

    with pytest.raises(_mail_probe.ProbeError) as error:
        _mail_probe.http_get(url, "u1", "pw", 5)
    assert error.value.hop == "webmail connect"
    assert error.value.endpoint == "127.0.0.1:%d" % webmail.server_port
    assert "certificate" in error.value.detail.lower()
    # Refused before any request: the credentials never reached an untrusted server.
    assert len(webmail.seen) == 1

    assert _mail_probe.http_get(url, "u1", "pw", 5, validate_certs=False) == (200, "served by tls webmail")
