"""cpms-webmail: read the mailbox over IMAP from the local Dovecot and show it as HTML (HTTP 8080).

GET /inbox          list of <li><a href="/message/UID">SUBJECT</a></li>
GET /message/UID    the message, rendered by cpms.render
HTTP Basic authentication with the mail user's credentials, checked by logging in to IMAP.
"""

import argparse
import base64
import binascii
import imaplib
import re
import signal
import sys
from email import policy
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from cpms import common, render

CPMS_BUILD = "6.7.19"

REALM = "CPMS webmail"
IMAP_TIMEOUT = 10.0
_MESSAGE_PATH = re.compile(r"^/message/([0-9]{1,10})$")
_UID_IN_FETCH = re.compile(rb"\bUID ([0-9]+)\b")


class AuthFailed(Exception):
    pass


class MailboxUnavailable(Exception):
    pass


def credentials(header_value):
    """(user, password) from an Authorization: Basic header, or None."""
    if not header_value or len(header_value) > 4096:
        return None
    scheme, dummy, token = header_value.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or not user or not password:
        return None
    return user, password


class Mailbox:
    """One authenticated, read-only IMAP session on INBOX."""

    def __init__(self, host, port, user, password):
        try:
            self.imap = imaplib.IMAP4(host, port, timeout=IMAP_TIMEOUT)
        except OSError as exc:
            raise MailboxUnavailable(f"IMAP {host}:{port}: {exc}") from None
        try:
            self.imap.login(user, password)
        except (imaplib.IMAP4.error, UnicodeEncodeError):
            self.close()
            raise AuthFailed() from None
        except OSError as exc:
            self.close()
            raise MailboxUnavailable(f"IMAP login: {exc}") from None
        typ, dummy = self.imap.select("INBOX", readonly=True)
        if typ != "OK":
            self.close()
            raise MailboxUnavailable("cannot open INBOX")

    def close(self):
        try:
            self.imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def uids(self):
        typ, data = self.imap.uid("SEARCH", None, "ALL")
        if typ != "OK":
            raise MailboxUnavailable("UID SEARCH failed")
        return [int(x) for x in b" ".join(d for d in data if d).split()]

    def subjects(self):
        uids = self.uids()
        if not uids:
            return []
        typ, data = self.imap.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        if typ != "OK":
            raise MailboxUnavailable("UID FETCH failed")
        entries = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            match = _UID_IN_FETCH.search(item[0])
            if not match:
                continue
            headers = BytesHeaderParser(policy=policy.default).parsebytes(item[1])
            entries.append((int(match.group(1)), render.header(headers, "Subject") or "(no subject)"))
        return sorted(entries)

    def message(self, uid):
        typ, data = self.imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
        if typ != "OK":
            raise MailboxUnavailable("UID FETCH failed")
        for item in data:
            if not isinstance(item, tuple):
                continue
            match = _UID_IN_FETCH.search(item[0])
            if match and int(match.group(1)) == uid:
                return item[1]
        return None


class Handler(BaseHTTPRequestHandler):
    server_version = "cpms-webmail"
    sys_version = ""

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/":
            self._send(302, "", {"Location": "/inbox"})
            return
        match = _MESSAGE_PATH.match(path)
        if path != "/inbox" and not match:
            self._send(404, render.page("Not found", "<p>Not found</p>"))
            return
        creds = credentials(self.headers.get("Authorization"))
        if creds is None:
            self._unauthorised()
            return
        try:
            mailbox = Mailbox(self.server.imap_host, self.server.imap_port, *creds)
        except AuthFailed:
            self._unauthorised()
            return
        except MailboxUnavailable as exc:
            self.log_message("mailbox unavailable: %s", exc)
            self._send(503, render.page("Unavailable", "<p>The mail store is not available.</p>"))
            return
        try:
            if match is None:
                self._send(200, render.render_inbox(creds[0], mailbox.subjects()))
                return
            uid = int(match.group(1))
            raw = mailbox.message(uid)
            if raw is None:
                self._send(404, render.page("Not found", f"<p>No message {uid}.</p>"))
                return
            self._send(200, render.render_message(render.parse(raw), uid))
        except (MailboxUnavailable, imaplib.IMAP4.error, OSError) as exc:
            self.log_message("IMAP failed: %s", exc)
            self._send(503, render.page("Unavailable", "<p>The mail store is not available.</p>"))
        finally:
            mailbox.close()

    def _unauthorised(self):
        self._send(401, render.page("Authentication required", "<p>Log in with your mail account.</p>"),
                   {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'})

    def _send(self, code, body, headers=None):
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{common.timestamp()} cpms-webmail: {self.address_string()} {fmt % args}\n")
        sys.stderr.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, imap_host, imap_port):
        self.imap_host = imap_host
        self.imap_port = imap_port
        super().__init__(address, Handler)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="cpms-webmail", description="CPMS webmail")
    parser.add_argument("--listen", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=common.WEBMAIL_PORT)
    parser.add_argument("--imap-host", default="127.0.0.1")
    parser.add_argument("--imap-port", type=int, default=common.IMAP_PORT)
    args = parser.parse_args(argv)
    for name in ("port", "imap_port"):
        if not 0 <= getattr(args, name) <= 65535:
            parser.error(f"--{name.replace('_', '-')} must be 0..65535")
    try:
        server = Server((args.listen, args.port), args.imap_host, args.imap_port)
    except OSError as exc:
        sys.stderr.write(f"{common.timestamp()} cpms-webmail: error: cannot listen on "
                         f"{args.listen}:{args.port}: {exc.strerror or exc}\n")
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.stderr.write(f"{common.timestamp()} cpms-webmail: build {render.CPMS_BUILD} listening on "
                     f"{args.listen}:{server.server_address[1]}, IMAP {args.imap_host}:{args.imap_port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0
