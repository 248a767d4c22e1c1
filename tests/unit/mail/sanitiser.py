"""A small allowlist HTML sanitiser, as a patched webmail would use (test code, not shipped).

Keeps a few formatting elements, ``href``/``src`` only with http(s) URLs, ``alt``/``title``;
drops every other element (keeping its text, except inside script/style/template) and every
other attribute; escapes all text and attribute values.
"""

import html
import re
from html.parser import HTMLParser

ALLOWED_TAGS = frozenset((
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "i", "img", "li", "ol", "p",
    "pre", "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
))
VOID = frozenset(("br", "img"))
ALLOWED_ATTRIBUTES = {"a": ("href", "title"), "img": ("src", "alt", "title")}
URL_ATTRIBUTES = ("href", "src")
DROP_CONTENT = frozenset(("script", "style", "template"))


def safe_url(value):
    squeezed = re.sub(r"[\x00-\x20\x7f-\x9f]", "", value or "").lower()
    return squeezed.startswith(("http://", "https://"))


class _Sanitiser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.dropping = 0

    def handle_starttag(self, tag, attrs):
        if tag in DROP_CONTENT:
            self.dropping += 1
            return
        if self.dropping or tag not in ALLOWED_TAGS:
            return
        kept = []
        for name, value in attrs:
            if name not in ALLOWED_ATTRIBUTES.get(tag, ("title",)):
                continue
            if name in URL_ATTRIBUTES and not safe_url(value):
                continue
            kept.append(' %s="%s"' % (name, html.escape(value or "", quote=True)))
        self.out.append("<%s%s>" % (tag, "".join(kept)))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in DROP_CONTENT:
            self.dropping -= 1

    def handle_endtag(self, tag):
        if tag in DROP_CONTENT:
            self.dropping = max(0, self.dropping - 1)
        elif not self.dropping and tag in ALLOWED_TAGS and tag not in VOID:
            self.out.append("</%s>" % tag)

    def handle_data(self, data):
        if not self.dropping:
            self.out.append(html.escape(data, quote=False))


def sanitise(markup):
    parser = _Sanitiser()
    parser.feed(markup)
    parser.close()
    return "".join(parser.out)
