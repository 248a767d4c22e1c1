"""Small, strict mail servers for the probe modules' tests.

One :class:`MailStore` (the shared mail store of the Celerra) is served by any number of
:class:`FakeMta` instances, each with an SMTP, a POP3, an IMAP and a webmail server bound to
127.0.0.1 on ephemeral ports. The servers follow the protocols closely enough for smtplib,
poplib, imaplib and urllib, and refuse what a real server refuses: commands out of order,
unknown recipients, wrong passwords, commands before login, writes to a read-only mailbox.

A message can be made to arrive late: with ``hidden_looks=N`` it stays invisible to the
next N looks into the mailbox (a POP3 login, an IMAP SELECT, a webmail inbox page).
"""

import base64
import binascii
import email
import email.policy
import html
import http.server
import re
import socket
import socketserver
import threading

DOMAIN = "lab.example"


class Message:
    def __init__(self, uid, raw, hidden):
        self.uid = uid
        self.raw = raw
        self.hidden = hidden
        self.flags = set()

    @property
    def parsed(self):
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    def header(self, name):
        return str(self.parsed.get(name) or "")


class MailStore:
    """Mailboxes by user; thread safe."""

    def __init__(self, users, domain=DOMAIN, hidden_looks=0):
        self.users = dict(users)
        self.domain = domain
        self.hidden_looks = hidden_looks
        self.lock = threading.RLock()
        self.boxes = {user: [] for user in self.users}
        self.next_uid = {user: 1 for user in self.users}
        self.looks = {user: 0 for user in self.users}

    def check(self, user, password):
        return user in self.users and self.users[user] == password

    def local_user(self, address):
        local, dummy, domain = address.strip().strip("<>").rpartition("@")
        if domain.lower() != self.domain or local not in self.users:
            return None
        return local

    def deliver(self, user, raw):
        with self.lock:
            uid = self.next_uid[user]
            self.next_uid[user] += 1
            self.boxes[user].append(Message(uid, raw, self.hidden_looks))
            return uid

    def look(self, user):
        """The visible messages now (a snapshot list); counts as one look."""
        with self.lock:
            self.looks[user] += 1
            visible = []
            for message in self.boxes[user]:
                if message.hidden > 0:
                    message.hidden -= 1
                else:
                    visible.append(message)
            return visible

    def remove(self, user, uids):
        with self.lock:
            uids = set(uids)
            self.boxes[user] = [m for m in self.boxes[user] if m.uid not in uids]

    def all(self, user):
        with self.lock:
            return list(self.boxes[user])


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler, store, **options):
        super().__init__(("127.0.0.1", 0), handler)
        self.store = store
        self.options = options
        self.log = []
        self.connections = 0
        self._thread = None

    @property
    def port(self):
        return self.server_address[1]

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()


class _LineHandler(socketserver.StreamRequestHandler):
    timeout = 10
    disable_nagle_algorithm = True

    def send(self, line):
        self.wfile.write(line.encode("utf-8") + b"\r\n")

    def lines(self):
        while True:
            try:
                raw = self.rfile.readline(65536)
            except (OSError, socket.timeout):
                return
            if not raw:
                return
            line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
            self.server.log.append(line)
            yield line


# -- SMTP -------------------------------------------------------------------------------

class SmtpHandler(_LineHandler):
    def handle(self):
        self.server.connections += 1
        store, options = self.server.store, self.server.options
        helo, authed, sender, rcpts = False, False, None, []
        self.send("220 fake-mta ESMTP")
        lines = self.lines()
        for line in lines:
            verb, dummy, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                helo, sender, rcpts = True, None, []
                self.send("250-fake-mta")
                if options.get("auth"):
                    self.send("250-AUTH PLAIN")
                self.send("250 8BITMIME")
            elif verb == "HELO":
                helo, sender, rcpts = True, None, []
                self.send("250 fake-mta")
            elif verb == "AUTH":
                mechanism, dummy, initial = arg.partition(" ")
                if not helo or not options.get("auth") or authed:
                    self.send("503 5.5.1 Error: authentication not enabled or already done")
                elif mechanism.upper() != "PLAIN":
                    self.send("504 5.5.4 Unsupported authentication mechanism")
                else:
                    try:
                        authzid, user, password = base64.b64decode(initial, validate=True).decode("utf-8").split("\0")
                    except (ValueError, binascii.Error):
                        self.send("501 5.5.2 Cannot decode response")
                        continue
                    if store.check(user, password):
                        authed = True
                        self.send("235 2.7.0 Authentication successful")
                    else:
                        self.send("535 5.7.8 Error: authentication failed")
            elif verb == "MAIL":
                if not helo:
                    self.send("503 5.5.1 Error: send HELO/EHLO first")
                elif sender is not None:
                    self.send("503 5.5.1 Error: nested MAIL command")
                elif options.get("auth") and not authed:
                    self.send("530 5.7.0 Authentication required")
                elif not arg.upper().startswith("FROM:"):
                    self.send("501 5.5.4 Syntax: MAIL FROM:<address>")
                else:
                    sender = arg[5:].split()[0] if arg[5:].split() else "<>"
                    self.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                if sender is None:
                    self.send("503 5.5.1 Error: need MAIL command")
                elif not arg.upper().startswith("TO:"):
                    self.send("501 5.5.4 Syntax: RCPT TO:<address>")
                else:
                    address = arg[3:].strip()
                    user = store.local_user(address)
                    if user is None:
                        self.send("550 5.1.1 %s: Recipient address rejected: User unknown" % address)
                    else:
                        rcpts.append(user)
                        self.send("250 2.1.5 Ok")
            elif verb == "DATA":
                if not rcpts:
                    self.send("503 5.5.1 Error: need RCPT command")
                    continue
                self.send("354 End data with <CR><LF>.<CR><LF>")
                body = []
                for data_line in lines:
                    if data_line == ".":
                        break
                    body.append(data_line[1:] if data_line.startswith(".") else data_line)
                else:
                    return
                raw = ("\r\n".join(body) + "\r\n").encode("utf-8")
                reject = options.get("reject")
                if reject is not None and reject(raw):
                    self.send("554 5.7.1 Error: message content rejected")
                else:
                    for user in rcpts:
                        store.deliver(user, raw)
                    self.send("250 2.0.0 Ok: queued")
                sender, rcpts = None, []
            elif verb == "RSET":
                sender, rcpts = None, []
                self.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 Error: command not recognized")


# -- POP3 -------------------------------------------------------------------------------

class Pop3Handler(_LineHandler):
    def handle(self):
        self.server.connections += 1
        store = self.server.store
        user, box, deleted = None, None, set()
        self.send("+OK fake POP3 ready.")
        for line in self.lines():
            verb, dummy, arg = line.partition(" ")
            verb = verb.upper()
            args = arg.split()
            if verb == "QUIT":
                if box is not None and deleted:
                    store.remove(user, [box[n - 1].uid for n in deleted])
                self.send("+OK Logging out.")
                return
            if verb == "CAPA":
                self._multi("+OK", ["USER", "UIDL", "TOP"])
            elif box is None:
                if verb == "USER" and len(args) == 1:
                    user = args[0]
                    self.send("+OK")
                elif verb == "PASS":
                    if user is None:
                        self.send("-ERR No username given.")
                    elif store.check(user, arg):
                        box = store.look(user)
                        self.send("+OK Logged in.")
                    else:
                        user = None
                        self.send("-ERR [AUTH] Authentication failed.")
                else:
                    self.send("-ERR Unknown AUTHORIZATION state command")
            elif verb in ("STAT", "LIST", "UIDL", "TOP", "RETR", "DELE") and not self._valid(verb, args, box, deleted):
                continue
            elif verb == "STAT":
                live = [m for n, m in enumerate(box, 1) if n not in deleted]
                self.send("+OK %d %d" % (len(live), sum(len(m.raw) for m in live)))
            elif verb in ("LIST", "UIDL"):
                def value(message):
                    return str(len(message.raw)) if verb == "LIST" else "uid%d" % message.uid
                if args:
                    number = int(args[0])
                    self.send("+OK %d %s" % (number, value(box[number - 1])))
                else:
                    self._multi("+OK", ["%d %s" % (n, value(m)) for n, m in enumerate(box, 1) if n not in deleted])
            elif verb in ("TOP", "RETR"):
                raw = box[int(args[0]) - 1].raw.decode("utf-8", "replace")
                head, dummy, body = raw.partition("\r\n\r\n")
                lines = head.split("\r\n") + [""]
                body_lines = body.split("\r\n")
                lines += body_lines[:int(args[1])] if verb == "TOP" else body_lines
                self._multi("+OK", lines)
            elif verb == "DELE":
                deleted.add(int(args[0]))
                self.send("+OK Marked to be deleted.")
            elif verb == "RSET":
                deleted.clear()
                self.send("+OK")
            elif verb == "NOOP":
                self.send("+OK")
            else:
                self.send("-ERR Unknown command: %s" % verb)

    def _valid(self, verb, args, box, deleted):
        wanted = {"STAT": (0,), "LIST": (0, 1), "UIDL": (0, 1), "TOP": (2,), "RETR": (1,), "DELE": (1,)}[verb]
        if len(args) not in wanted or not all(a.isdigit() for a in args):
            self.send("-ERR Invalid arguments for %s" % verb)
            return False
        if args and not 1 <= int(args[0]) <= len(box) or args and int(args[0]) in deleted:
            self.send("-ERR There's no message %s." % args[0])
            return False
        return True

    def _multi(self, first, lines):
        self.send(first)
        for line in lines:
            self.send("." + line if line.startswith(".") else line)
        self.send(".")


# -- IMAP -------------------------------------------------------------------------------

_IMAP_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(\([^)]*\))|([^\s()"]+))')


def imap_args(text):
    args, position = [], 0
    while position < len(text):
        match = _IMAP_TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ValueError("bad arguments")
        if match.group(1) is not None:
            args.append(re.sub(r"\\(.)", r"\1", match.group(1)))
        else:
            args.append(match.group(2) or match.group(3))
        position = match.end()
        while position < len(text) and text[position] == " ":
            position += 1
    return args


def uid_set(text, known):
    """Expand an IMAP sequence set of UIDs against the known ones."""
    result = set()
    top = max(known) if known else 0
    for part in text.split(","):
        low, dummy, high = part.partition(":")
        low = top if low == "*" else int(low)
        high = low if not high else (top if high == "*" else int(high))
        result.update(u for u in known if min(low, high) <= u <= max(low, high))
    return result


class ImapHandler(_LineHandler):
    def handle(self):
        self.server.connections += 1
        store = self.server.store
        user, box, writable = None, None, False
        self.send("* OK [CAPABILITY IMAP4rev1 UIDPLUS] fake IMAP ready.")
        for line in self.lines():
            tag, dummy, rest = line.partition(" ")
            command, dummy, arg = rest.partition(" ")
            command = command.upper()
            try:
                args = imap_args(arg)
            except ValueError:
                self.send("%s BAD Error in IMAP command: bad arguments" % tag)
                continue
            if not tag or not command:
                self.send("* BAD Error in IMAP command received by server.")
            elif command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 UIDPLUS")
                self.send("%s OK Capability completed." % tag)
            elif command == "NOOP":
                self.send("%s OK NOOP completed." % tag)
            elif command == "LOGOUT":
                self.send("* BYE Logging out")
                self.send("%s OK Logout completed." % tag)
                return
            elif command == "LOGIN":
                if user is not None:
                    self.send("%s BAD Already logged in." % tag)
                elif len(args) != 2:
                    self.send("%s BAD Error in IMAP command LOGIN: Invalid arguments." % tag)
                elif store.check(args[0], args[1]):
                    user = args[0]
                    self.send("%s OK Logged in" % tag)
                else:
                    self.send("%s NO [AUTHENTICATIONFAILED] Authentication failed." % tag)
            elif user is None:
                self.send("%s BAD Error in IMAP command %s: Not logged in." % (tag, command))
            elif command in ("SELECT", "EXAMINE"):
                if len(args) != 1 or args[0].upper() != "INBOX":
                    box = None
                    self.send("%s NO [NONEXISTENT] Mailbox doesn't exist: %s" % (tag, arg))
                    continue
                box, writable = store.look(user), command == "SELECT"
                self.send("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
                self.send("* %d EXISTS" % len(box))
                self.send("* OK [UIDVALIDITY 1] UIDs valid")
                self.send("* OK [UIDNEXT %d] Predicted next UID" % store.next_uid[user])
                self.send("%s OK [%s] Select completed." % (tag, "READ-WRITE" if writable else "READ-ONLY"))
            elif box is None:
                self.send("%s BAD Error in IMAP command %s: No mailbox selected." % (tag, command))
            elif command == "UID" and args and args[0].upper() == "SEARCH":
                try:
                    uids = self._search(box, args[1:])
                except ValueError as exc:
                    self.send("%s BAD Error in IMAP command UID SEARCH: %s" % (tag, exc))
                    continue
                self.send("* SEARCH" + "".join(" %d" % u for u in uids))
                self.send("%s OK Search completed." % tag)
            elif command == "UID" and args and args[0].upper() == "STORE":
                if not writable:
                    self.send("%s NO Mailbox is read-only." % tag)
                elif len(args) != 4 or args[2].upper() not in ("+FLAGS", "+FLAGS.SILENT"):
                    self.send("%s BAD Error in IMAP command UID STORE: Invalid arguments." % tag)
                else:
                    chosen = uid_set(args[1], [m.uid for m in box])
                    flags = args[3].strip("()").split()
                    for message in box:
                        if message.uid in chosen:
                            message.flags.update(flags)
                            if not args[2].upper().endswith(".SILENT"):
                                self.send("* %d FETCH (UID %d FLAGS (%s))" % (
                                    box.index(message) + 1, message.uid, " ".join(sorted(message.flags))))
                    self.send("%s OK Store completed." % tag)
            elif command == "EXPUNGE" or (command == "UID" and args and args[0].upper() == "EXPUNGE"):
                if not writable:
                    self.send("%s NO Mailbox is read-only." % tag)
                    continue
                chosen = uid_set(args[1], [m.uid for m in box]) if command == "UID" else {m.uid for m in box}
                gone = [m for m in box if m.uid in chosen and "\\Deleted" in m.flags]
                for message in gone:
                    self.send("* %d EXPUNGE" % (box.index(message) + 1))
                    box.remove(message)
                store.remove(user, [m.uid for m in gone])
                self.send("%s OK Expunge completed." % tag)
            else:
                self.send("%s BAD Error in IMAP command %s: Unknown command." % (tag, command))

    @staticmethod
    def _search(box, criteria):
        matches = list(box)
        index = 0
        while index < len(criteria):
            key = criteria[index].upper()
            if key == "ALL":
                index += 1
            elif key == "HEADER" and len(criteria) >= index + 3:
                name, value = criteria[index + 1], criteria[index + 2].lower()
                matches = [m for m in matches if value in m.header(name).lower()]
                index += 3
            elif key == "SUBJECT" and len(criteria) >= index + 2:
                value = criteria[index + 1].lower()
                matches = [m for m in matches if value in m.header("Subject").lower()]
                index += 2
            else:
                raise ValueError("Unknown search key %s" % criteria[index])
        return [m.uid for m in matches]


# -- webmail ----------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head><title>%(title)s</title><script src="/static/webmail.js"></script></head>
<body onload="webmail.start()"><h1>%(title)s</h1>
%(content)s
</body></html>
"""


class WebmailHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        self.server.log.append(format % args)

    def _user(self):
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, dummy, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, binascii.Error):
            return None
        return user if self.server.store.check(user, password) else None

    def _reply(self, status, body, extra=None):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # pylint: disable=invalid-name
        self.server.connections += 1
        user = self._user()
        if user is None:
            self._reply(401, "<p>authentication required</p>", {"WWW-Authenticate": 'Basic realm="webmail"'})
            return
        store = self.server.store
        if self.path == "/inbox":
            items = "".join('<li><a href="/message/%d">%s</a></li>\n' % (m.uid, html.escape(m.header("Subject")))
                            for m in store.look(user))
            self._reply(200, PAGE % {"title": "Inbox", "content": "<ul>\n%s</ul>" % items})
            return
        match = re.match(r"^/message/(\d+)$", self.path)
        found = [m for m in store.all(user) if match and m.uid == int(match.group(1)) and m.hidden == 0]
        if not found:
            self._reply(404, PAGE % {"title": "Not found", "content": "<p>no such message</p>"})
            return
        message = found[0].parsed
        part = message.get_body(preferencelist=("html", "plain"))
        content = part.get_content() if part is not None else ""
        if part is not None and part.get_content_subtype() == "plain":
            content = "<pre>%s</pre>" % html.escape(content)
        rendered = self.server.options["renderer"](content)
        self._reply(200, PAGE % {"title": html.escape(str(message["Subject"])),
                                 "content": '<div class="body">%s</div>' % rendered})


class _WebmailServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, store, renderer):
        super().__init__(("127.0.0.1", 0), WebmailHandler)
        self.store = store
        self.options = {"renderer": renderer}
        self.log = []
        self.connections = 0
        self._thread = None

    port = _Server.port
    start = _Server.start
    stop = _Server.stop


def identity(content):
    return content


class FakeMta:
    """One mail server of the cluster: SMTP, POP3, IMAP and webmail on one store."""

    def __init__(self, name, store, renderer=identity, smtp_auth=False, reject=None):
        self.name = name
        self.store = store
        self.smtp = _Server(SmtpHandler, store, auth=smtp_auth, reject=reject).start()
        self.pop3 = _Server(Pop3Handler, store).start()
        self.imap = _Server(ImapHandler, store).start()
        self.webmail = _WebmailServer(store, renderer).start()

    @property
    def ports(self):
        return {"smtp": self.smtp.port, "pop3": self.pop3.port, "imap": self.imap.port, "webmail": self.webmail.port}

    def stop(self):
        for server in (self.smtp, self.pop3, self.imap, self.webmail):
            server.stop()


def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
