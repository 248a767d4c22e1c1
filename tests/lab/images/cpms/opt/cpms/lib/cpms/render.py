"""Render mail messages as HTML pages for the webmail.

Build 6.7.19 inserts a message's text/html part into the page as it is.
"""

import html
from email import policy
from email.parser import BytesParser

CPMS_BUILD = "6.7.19"

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body>
{body}
</body></html>
"""


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
    """The message's HTML goes into the page unchanged."""
    return fragment


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
