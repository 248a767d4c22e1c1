# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SMTP, POP3, IMAP and webmail helpers shared by the mail probe modules.

Every network failure is raised as :class:`ProbeError`, which names the hop that broke
(``smtp connect``, ``pop3 login``, ``imap not found``, ...) and the ``host:port`` it
talked to. Nothing here prints or returns a password.
"""

from __future__ import absolute_import, division, print_function

import email.policy
import http.client
import email.utils
import imaplib
import poplib
import re
import secrets
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from html.parser import HTMLParser
from urllib.error import HTTPError, URLError
from urllib.parse import urljoin

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

__metaclass__ = type  # pylint: disable=invalid-name

TOKEN_HEADER = "X-Mail-Check-Token"
_MAX_SMTP_LINE = 998


class ProbeError(Exception):
    """A hop of a mail probe failed."""

    def __init__(self, hop, endpoint, detail):
        super().__init__("%s failed on %s: %s" % (hop, endpoint, detail))
        self.hop = hop
        self.endpoint = endpoint
        self.detail = detail


def endpoint(host, port):
    host = str(host)
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    return "%s:%s" % (host, port)


def describe(exc):
    """A one-line description of a network or protocol exception."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return "%s %s" % (exc.smtp_code, " ".join(text.split()))
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = []
        for rcpt, (code, text) in exc.recipients.items():
            text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
            parts.append("%s refused: %s %s" % (rcpt, code, text))
        return "; ".join(parts)
    args = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in exc.args]
    text = " ".join(" ".join(args).split())
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


def new_token(prefix="mc"):
    return "%s-%d-%s" % (prefix, int(time.time()), secrets.token_hex(6))


def tls_context(validate_certs=True):
    context = ssl.create_default_context()
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


# The first wait of a poll: a message usually arrives within a fraction of a second; waiting a whole
# poll interval before the second look would cost that interval on every check.
FIRST_WAIT = 0.25


def poll(check, timeout, interval, clock=time.monotonic, sleep=time.sleep):
    """Call ``check`` until it returns something true or ``timeout`` seconds have passed.

    Always calls it at least once. The waits between calls start at ``FIRST_WAIT`` (or ``interval`` when
    that is shorter) and double up to ``interval``. Returns ``(result, attempts)``; result is the last
    (false) value on timeout.
    """
    deadline = clock() + max(0.0, timeout)
    attempts = 0
    wait = min(FIRST_WAIT, interval)
    while True:
        attempts += 1
        result = check()
        if result:
            return result, attempts
        remaining = deadline - clock()
        if remaining <= 0:
            return result, attempts
        sleep(min(wait, remaining))
        wait = min(wait * 2, interval)


def build_message(sender, recipient, subject, body, token, subtype="plain", extra_headers=None):
    """An RFC 5322 message (bytes, CRLF) carrying ``token`` in the X-Mail-Check-Token header."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(localtime=True)
    domain = recipient.rpartition("@")[2] or "localhost"
    message["Message-ID"] = email.utils.make_msgid(idstring=token, domain=domain)
    message[TOKEN_HEADER] = token
    for name, value in (extra_headers or {}).items():
        message[name] = value
    if any(ord(char) > 127 for char in body):
        cte = "8bit"
    elif any(len(line) > _MAX_SMTP_LINE - 2 for line in body.splitlines()):
        cte = "quoted-printable"
    else:
        cte = "7bit"
    message.set_content(body, subtype=subtype, charset="utf-8", cte=cte)
    return message.as_bytes()


def smtp_send(host, port, sender, recipient, messages, timeout, tls=None, auth=None, tolerate_rejects=False):
    """Deliver ``messages`` (bytes) to ``recipient`` in one SMTP session.

    ``tls``: an SSL context to require STARTTLS with; ``auth``: ``(user, password)``.
    With ``tolerate_rejects``, a message the server refuses (sender, recipient or content)
    is recorded and the next one is tried; otherwise the first refusal raises.
    Returns ``{"connect": s, "send": s, "rejected": {index: reason}}``.
    """
    where = endpoint(host, port)
    started = time.monotonic()
    try:
        client = smtplib.SMTP(host, int(port), local_hostname=socket.gethostname() or "localhost", timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise ProbeError("smtp connect", where, describe(exc))
    connected = time.monotonic()
    try:
        try:
            client.ehlo_or_helo_if_needed()
        except (OSError, smtplib.SMTPException) as exc:
            raise ProbeError("smtp connect", where, describe(exc))
        if tls is not None:
            try:
                client.starttls(context=tls)
                client.ehlo()
            except (OSError, smtplib.SMTPException, ValueError) as exc:
                raise ProbeError("smtp starttls", where, describe(exc))
        if auth:
            try:
                client.login(auth[0], auth[1])
            except (OSError, smtplib.SMTPException) as exc:
                raise ProbeError("smtp auth", where, describe(exc))
        rejected = {}
        for index, raw in enumerate(messages):
            try:
                refused = client.sendmail(sender, [recipient], raw)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                if not tolerate_rejects:
                    raise ProbeError("smtp send", where, describe(exc))
                rejected[index] = describe(exc)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                raise ProbeError("smtp send", where, describe(exc))
            if refused:
                raise ProbeError("smtp send", where, "; ".join("%s refused" % r for r in refused))
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    done = time.monotonic()
    return {"connect": round(connected - started, 3), "send": round(done - connected, 3), "rejected": rejected}


# -- POP3 -------------------------------------------------------------------------------

class Pop3Mailbox:
    """One POP3 session (a snapshot of the mailbox, as POP3 servers give)."""

    def __init__(self, host, port, user, password, timeout, tls=None):
        self.where = endpoint(host, port)
        try:
            self.client = poplib.POP3(host, int(port), timeout=timeout)
        except (OSError, poplib.error_proto) as exc:
            raise ProbeError("pop3 connect", self.where, describe(exc))
        try:
            if tls is not None:
                try:
                    self.client.stls(context=tls)
                except (OSError, poplib.error_proto, ssl.SSLError) as exc:
                    raise ProbeError("pop3 starttls", self.where, describe(exc))
            try:
                self.client.user(user)
                self.client.pass_(password)
            except (OSError, poplib.error_proto) as exc:
                raise ProbeError("pop3 login", self.where, describe(exc))
        except ProbeError:
            self.client.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.quit(commit=exc_info[0] is None)

    def quit(self, commit=True):
        """End the session; POP3 commits deletions only on a clean QUIT."""
        try:
            if commit:
                self.client.quit()
            else:
                self.client.close()
        except (OSError, poplib.error_proto):
            self.client.close()

    def find(self, token, seen=None):
        """Message numbers whose token header equals ``token``, newest first.

        ``seen``: a set of UIDLs already known not to match, updated in place, so a poll
        does not read the same headers twice.
        """
        seen = seen if seen is not None else set()
        try:
            listing = self.client.uidl()[1]
            found = []
            for line in reversed(listing):
                number, dummy_sep, uidl = line.decode("ascii", "replace").partition(" ")
                if uidl in seen:
                    continue
                headers = b"\r\n".join(self.client.top(int(number), 0)[1])
                parsed = BytesHeaderParser().parsebytes(headers)
                if (parsed.get(TOKEN_HEADER) or "").strip() == token:
                    found.append(int(number))
                else:
                    seen.add(uidl)
            return found
        except (OSError, poplib.error_proto, ValueError) as exc:
            raise ProbeError("pop3 read", self.where, describe(exc))

    def delete(self, numbers):
        try:
            for number in numbers:
                self.client.dele(number)
        except (OSError, poplib.error_proto) as exc:
            raise ProbeError("pop3 delete", self.where, describe(exc))


# -- IMAP -------------------------------------------------------------------------------

_SAFE_ATOM = re.compile(r"^[A-Za-z0-9._+@-]+$")


def _imap_string(value):
    if _SAFE_ATOM.match(value):
        return value
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


class ImapMailbox:
    """One IMAP session with INBOX selected (read-only unless ``writable``)."""

    def __init__(self, host, port, user, password, timeout, tls=None, writable=False, mailbox="INBOX"):
        self.where = endpoint(host, port)
        try:
            self.client = imaplib.IMAP4(host, int(port), timeout=timeout)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ProbeError("imap connect", self.where, describe(exc))
        try:
            if tls is not None:
                try:
                    self.client.starttls(ssl_context=tls)
                except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
                    raise ProbeError("imap starttls", self.where, describe(exc))
            try:
                typ, data = self.client.login(user, password)
            except (OSError, imaplib.IMAP4.error) as exc:
                raise ProbeError("imap login", self.where, describe(exc))
            if typ != "OK":
                raise ProbeError("imap login", self.where, _imap_text(data))
            try:
                typ, data = self.client.select(mailbox, readonly=not writable)
            except (OSError, imaplib.IMAP4.error) as exc:
                raise ProbeError("imap select", self.where, describe(exc))
            if typ != "OK":
                raise ProbeError("imap select", self.where, _imap_text(data))
        except ProbeError:
            self._shutdown()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.logout()

    def _shutdown(self):
        try:
            self.client.shutdown()
        except OSError:
            pass

    def logout(self):
        try:
            self.client.logout()
        except (OSError, imaplib.IMAP4.error):
            self._shutdown()

    def search_header(self, name, value):
        """UIDs (strings) of the messages whose header ``name`` contains ``value``."""
        try:
            typ, data = self.client.uid("SEARCH", "HEADER", _imap_string(name), _imap_string(value))
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ProbeError("imap search", self.where, describe(exc))
        if typ != "OK":
            raise ProbeError("imap search", self.where, _imap_text(data))
        uids = []
        for chunk in data:
            if chunk:
                uids.extend(chunk.decode("ascii", "replace").split())
        return uids

    def delete(self, uids):
        """Flag ``uids`` deleted and expunge exactly them (UIDPLUS) or the mailbox."""
        if not uids:
            return
        uid_set = ",".join(uids)
        try:
            typ, data = self.client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
            if typ != "OK":
                raise ProbeError("imap delete", self.where, _imap_text(data))
            if "UIDPLUS" in self.client.capabilities:
                typ, data = self.client.uid("EXPUNGE", uid_set)
            else:
                typ, data = self.client.expunge()
            if typ != "OK":
                raise ProbeError("imap delete", self.where, _imap_text(data))
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ProbeError("imap delete", self.where, describe(exc))


def _imap_text(data):
    parts = []
    for item in data or ():
        if isinstance(item, bytes):
            parts.append(item.decode("utf-8", "replace"))
        elif item is not None:
            parts.append(str(item))
    return " ".join(parts) or "no response text"


# -- webmail ----------------------------------------------------------------------------

def http_get(url, user, password, timeout, validate_certs=True, ca_path=None, use_proxy=True):
    """GET ``url`` with HTTP Basic authentication; returns ``(status, text)``.

    Through ansible.module_utils.urls: the environment's proxies (unless ``use_proxy`` is false),
    ``ca_path`` for a site CA, certificate checks unless ``validate_certs`` is false; no .netrc.
    Connection failures raise ProbeError("webmail connect"); HTTP errors are returned
    with their status so that callers decide which hop failed.
    """
    try:
        response = open_url(url, headers={"Accept": "text/html"}, url_username=user, url_password=password,
                            force_basic_auth=True, timeout=timeout, validate_certs=validate_certs,
                            ca_path=ca_path, use_proxy=use_proxy, use_netrc=False,
                            http_agent="mailops.window-webmail-probe")
    except HTTPError as exc:
        body = exc.read() if exc.fp is not None else b""
        return exc.code, body.decode("utf-8", "replace")
    except (URLError, OSError, http.client.HTTPException, UrlsConnectionError) as exc:
        reason = exc.reason if isinstance(exc, URLError) else exc
        raise ProbeError("webmail connect", _url_endpoint(url),
                         describe(reason) if isinstance(reason, Exception) else str(reason))
    with response:
        charset = response.headers.get_content_charset() or "utf-8"
        try:
            return response.getcode(), response.read().decode(charset, "replace")
        except (OSError, LookupError, http.client.HTTPException) as exc:
            raise ProbeError("webmail connect", _url_endpoint(url), describe(exc))


def _url_endpoint(url):
    match = re.match(r"^[a-z]+://([^/]+)", url, re.I)
    return match.group(1) if match else url


class _LinkCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._current = [dict(attrs).get("href") or "", []]

    def handle_endtag(self, tag):
        if tag == "a" and self._current is not None:
            self.links.append((self._current[0], "".join(self._current[1])))
            self._current = None

    def handle_data(self, data):
        if self._current is not None:
            self._current[1].append(data)


_MESSAGE_HREF = re.compile(r"(?:^|/)message/([A-Za-z0-9_.-]+)/?$")


def parse_inbox(page, base_url):
    """``[(uid, subject, absolute message URL)]`` of the inbox page's message links."""
    collector = _LinkCollector()
    collector.feed(page)
    collector.close()
    entries = []
    for href, text in collector.links:
        match = _MESSAGE_HREF.search(href.split("?", 1)[0].split("#", 1)[0])
        if match:
            entries.append((match.group(1), " ".join(text.split()), urljoin(base_url, href)))
    return entries
