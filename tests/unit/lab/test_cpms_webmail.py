"""cpms-webmail over HTTP on an ephemeral port, with the IMAP side replaced by an in-memory mailbox."""

import base64
import http.client
import threading

import pytest

from cpms import webmail

MESSAGES = {
    4: (b"From: a@example.com\r\nTo: u1@lab.example\r\nSubject: <b>first</b>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>one</p><script>alert(1)</script>\r\n"),
    9: b"From: b@example.com\r\nSubject: second\r\n\r\nplain body\r\n",
}


class FakeMailbox:
    """Stands in for webmail.Mailbox: user u1 with password pw-one and the two messages above."""

    opened = []
    down = False

    def __init__(self, host, port, user, password):
        if self.down:
            raise webmail.MailboxUnavailable("IMAP 127.0.0.1:143: connection refused")
        if (user, password) != ("u1", "pw-one"):
            raise webmail.AuthFailed()
        FakeMailbox.opened.append((host, port, user))
        self.closed = False

    def subjects(self):
        return [(4, "<b>first</b>"), (9, "second")]

    def message(self, uid):
        return MESSAGES.get(uid)

    def close(self):
        self.closed = True


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(webmail, "Mailbox", FakeMailbox)
    FakeMailbox.opened = []
    FakeMailbox.down = False
    srv = webmail.Server(("127.0.0.1", 0), "127.0.0.1", 14300)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def get(port, path, user=None, password=None, raw_auth=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    headers = {}
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    if raw_auth is not None:
        headers["Authorization"] = raw_auth
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read().decode("utf-8")
    conn.close()
    return resp, body


def test_no_credentials_is_401(server):
    resp, dummy = get(server, "/inbox")
    assert resp.status == 401
    assert resp.getheader("WWW-Authenticate").startswith('Basic realm="CPMS webmail"')
    assert FakeMailbox.opened == []


@pytest.mark.parametrize("auth", ["Basic", "Basic !!!notbase64", "Bearer abc",
                                  "Basic " + base64.b64encode(b"u1").decode(),
                                  "Basic " + base64.b64encode(b":pw-one").decode()])
def test_malformed_credentials_are_401(server, auth):
    resp, dummy = get(server, "/inbox", raw_auth=auth)
    assert resp.status == 401


def test_wrong_password_is_401(server):
    resp, dummy = get(server, "/inbox", "u1", "wrong")
    assert resp.status == 401


def test_inbox_lists_messages_with_escaped_subjects(server):
    resp, body = get(server, "/inbox", "u1", "pw-one")
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/html; charset=utf-8"
    assert '<li><a href="/message/4">&lt;b&gt;first&lt;/b&gt;</a></li>' in body
    assert '<li><a href="/message/9">second</a></li>' in body
    assert FakeMailbox.opened == [("127.0.0.1", 14300, "u1")]


def test_message_page(server):
    resp, body = get(server, "/message/4", "u1", "pw-one")
    assert resp.status == 200
    # The installed renderer is 6.7.19: the HTML part is inserted as is.
    assert "<p>one</p><script>alert(1)</script>" in body
    resp, body = get(server, "/message/9", "u1", "pw-one")
    assert resp.status == 200 and "<pre>plain body\n</pre>" in body


@pytest.mark.parametrize("path", ["/message/5", "/message/abc", "/message/", "/message/4/x", "/nowhere"])
def test_unknown_is_404(server, path):
    resp, dummy = get(server, path, "u1", "pw-one")
    assert resp.status == 404


def test_root_redirects_to_inbox(server):
    resp, dummy = get(server, "/")
    assert resp.status == 302 and resp.getheader("Location") == "/inbox"


def test_mailbox_down_is_503(server):
    FakeMailbox.down = True
    resp, dummy = get(server, "/inbox", "u1", "pw-one")
    assert resp.status == 503


def test_credentials_parser():
    token = base64.b64encode("u1:p:ä".encode()).decode()
    assert webmail.credentials("Basic " + token) == ("u1", "p:ä")
    assert webmail.credentials("basic " + token) == ("u1", "p:ä")
    assert webmail.credentials(None) is None
    assert webmail.credentials("Basic " + "A" * 5000) is None
