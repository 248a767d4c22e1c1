"""Render mail messages as HTML pages for the webmail.

Build 6.7.19.1 passes a message's text/html part through an allowlist sanitiser: only a small set of
harmless tags and attributes survives, the contents of active or invisible elements are dropped, and
links keep only http, https and mailto targets. Text is always kept (escaped).
"""

import html
import re
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser

CPMS_BUILD = "6.7.19.1"

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body>
{body}
</body></html>
"""

# Tags that may stay (without them, their text stays).
ALLOWED_TAGS = frozenset("""
a abbr b blockquote br code del div em h1 h2 h3 h4 h5 h6 hr i ins li ol p pre q s small span strong sub sup
table tbody td tfoot th thead tr u ul
""".split())
VOID_TAGS = frozenset({"br", "hr"})
# Tags whose whole content goes with them. (Void elements such as base, meta, link, embed, img or
# input have no content: they are simply not allowed.)
DROP_CONTENT_TAGS = frozenset("""
script style iframe object applet svg math form template noscript noembed noframes frameset
title textarea select xmp plaintext listing
""".split())

GLOBAL_ATTRS = frozenset({"title", "lang", "dir"})
TAG_ATTRS = {
    "a": frozenset({"href"}),
    "td": frozenset({"colspan", "rowspan", "align"}),
    "th": frozenset({"colspan", "rowspan", "align"}),
    "ol": frozenset({"start"}),
    "p": frozenset({"align"}),
    "div": frozenset({"align"}),
}
URL_ATTRS = frozenset({"href"})
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})

_NUMBER = re.compile(r"^[0-9]{1,3}$")
_LANG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")
_ATTR_VALUES = {
    "colspan": _NUMBER.match,
    "rowspan": _NUMBER.match,
    "start": _NUMBER.match,
    "align": lambda v: v.lower() in ("left", "right", "center", "justify"),
    "dir": lambda v: v.lower() in ("ltr", "rtl", "auto"),
    "lang": _LANG.match,
}
# Everything a browser ignores or strips inside a URL: C0 controls, space, DEL, C1 controls, Unicode blanks.
_URL_IGNORED = re.compile("[\x00-\x20\x7f-\x9f\u00a0\u1680\u180e\u2000-\u200f\u2028\u2029\u202f\u205f\u3000\ufeff]")
_SCHEME = re.compile(r"^([^/?#]*?):")


def safe_url(value):
    """True when the URL is relative or its scheme is http, https or mailto."""
    text = value
    for dummy in range(8):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    else:
        return False
    text = _URL_IGNORED.sub("", text)
    match = _SCHEME.match(text)
    if match is None:
        return True
    return match.group(1).lower() in SAFE_SCHEMES


class _Sanitiser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.open = []       # allowed elements open in the output
        self.dropping = []   # drop-content elements we are inside

    # -- tags
    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs, self_closing=False)

    def handle_startendtag(self, tag, attrs):
        self._start(tag, attrs, self_closing=True)

    def _start(self, tag, attrs, self_closing):
        if tag in DROP_CONTENT_TAGS:
            # A browser ignores the slash of <script/>: what follows is still its content.
            self.dropping.append(tag)
            return
        if self.dropping or tag not in ALLOWED_TAGS:
            return
        self.out.append(f"<{tag}{self._attrs(tag, attrs)}>")
        if tag in VOID_TAGS:
            return
        if self_closing:
            self.out.append(f"</{tag}>")
        else:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if self.dropping:
            if tag in self.dropping:
                while self.dropping.pop() != tag:
                    pass
            return
        if tag in self.open:
            while True:
                closed = self.open.pop()
                self.out.append(f"</{closed}>")
                if closed == tag:
                    break

    def _attrs(self, tag, attrs):
        allowed = GLOBAL_ATTRS | TAG_ATTRS.get(tag, frozenset())
        kept = {}
        for name, value in attrs:
            if name in kept or name not in allowed or name.startswith("on") or value is None:
                continue
            if name in URL_ATTRS and not safe_url(value):
                continue
            check = _ATTR_VALUES.get(name)
            if check is not None and not check(value):
                continue
            kept[name] = value
        text = "".join(f' {name}="{html.escape(value, quote=True)}"' for name, value in kept.items())
        if tag == "a" and "href" in kept:
            text += ' rel="noopener noreferrer nofollow"'
        return text

    # -- everything else
    def handle_data(self, data):
        if not self.dropping:
            self.out.append(html.escape(data, quote=False))

    def handle_comment(self, data):
        pass

    def handle_decl(self, decl):
        pass

    def handle_pi(self, data):
        pass

    def unknown_decl(self, data):
        pass

    def result(self):
        self.close()
        while self.open:
            self.out.append(f"</{self.open.pop()}>")
        return "".join(self.out)


def sanitise(fragment):
    """Return a safe HTML fragment with the text of the input."""
    parser = _Sanitiser()
    parser.feed(fragment)
    return parser.result()


def page(title, body):
    return PAGE.format(title=html.escape(title), body=body)


def parse(raw):
    """Parse a raw RFC 5322 message (bytes)."""
    return BytesParser(policy=policy.default).parsebytes(raw)


def header(msg, name):
    try:
        value = msg.get(name)
    except (ValueError, LookupError, IndexError):
        return ""
    return "" if value is None else " ".join(str(value).split())


def clean_html(fragment):
    """The message's HTML goes through the allowlist sanitiser."""
    return sanitise(fragment)


def _content(part):
    try:
        return part.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


def render_body(msg):
    part = msg.get_body(preferencelist=("html", "plain"))
    if part is None:
        return "<p><em>(this message has no text to show)</em></p>"
    content = _content(part)
    if not isinstance(content, str):
        return "<p><em>(this message has no text to show)</em></p>"
    if part.get_content_type() == "text/html":
        return clean_html(content)
    return "<pre>" + html.escape(content.replace("\r\n", "\n")) + "</pre>"


def render_message(msg, uid):
    rows = "".join(
        f"<tr><th>{name}</th><td>{html.escape(header(msg, name))}</td></tr>"
        for name in ("From", "To", "Date", "Subject"))
    body = (f'<p><a href="/inbox">Inbox</a> &middot; message {int(uid)}</p>\n'
            f'<table class="headers">{rows}</table>\n'
            f'<div class="body">\n{render_body(msg)}\n</div>')
    return page(header(msg, "Subject") or "(no subject)", body)


def render_inbox(user, entries):
    """entries: (uid, subject) pairs, oldest first."""
    items = "\n".join(f'<li><a href="/message/{int(uid)}">{html.escape(subject)}</a></li>' for uid, subject in entries)
    body = f"<h1>Inbox of {html.escape(user)}</h1>\n<ul>\n{items}\n</ul>"
    return page(f"Inbox of {user}", body)
