# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide whether an HTML document would run script in a browser.

Pure analysis, no I/O. The document is tokenised with the standard library's
``html.parser`` adjusted towards the HTML5 tokeniser where the difference matters for
cross-site scripting (comment endings, raw text elements, SVG/MathML foreign content,
self-closing flags on non-void elements, first-attribute-wins). Each construct that
would run script, or run it after one click, is reported as a :class:`Finding`:

* ``script-element``: any ``<script>`` element (HTML or SVG);
* ``event-handler``: an ``on*`` attribute with a value;
* ``dangerous-url``: a ``javascript:``/``vbscript:`` URL, or a ``data:`` URL of a type
  that can carry script, in a URL-bearing attribute, after HTML entity decoding and
  removal of whitespace and control characters (as browsers' URL parsers do);
* ``srcdoc``: an ``<iframe srcdoc>`` whose document would itself run script;
* ``meta-refresh``: a ``<meta http-equiv=refresh>`` whose target is such a URL;
* ``css``: ``expression()``, ``url(javascript:...)``, ``behavior`` or ``-moz-binding`` in a
  ``style`` attribute or ``<style>`` element, after CSS comment and escape decoding.
"""

from __future__ import absolute_import, division, print_function

import re
from html.parser import HTMLParser

__metaclass__ = type  # pylint: disable=invalid-name

SCRIPT_SCHEMES = ("javascript:", "vbscript:", "livescript:", "mocha:")

# data: URL media types whose content a browser may execute as a document or a script.
SCRIPTABLE_DATA_TYPES = frozenset((
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "text/ecmascript",
    "application/ecmascript",
    "text/vbscript",
))

# Attributes whose value is a URL that a browser loads, embeds, submits to or navigates to.
URL_ATTRIBUTES = frozenset((
    "href", "xlink:href", "src", "action", "formaction", "data", "background", "poster",
    "lowsrc", "dynsrc", "codebase", "classid", "cite", "longdesc", "usemap", "profile",
    "manifest", "icon", "archive", "xml:base", "folder", "ping", "datasrc",
))

# Attributes of SVG animation elements that can write a URL into another attribute.
ANIMATION_ELEMENTS = frozenset(("animate", "set", "animatemotion", "animatetransform", "animatecolor"))
ANIMATION_VALUE_ATTRIBUTES = frozenset(("to", "from", "by", "values"))

# Places where a data:image/* URL is only ever decoded as a picture (never scripted).
IMAGE_CONTEXTS = frozenset((
    ("img", "src"), ("img", "lowsrc"), ("img", "dynsrc"), ("image", "href"), ("image", "xlink:href"),
    ("input", "src"), ("video", "poster"), ("feimage", "href"), ("feimage", "xlink:href"),
))

# HTML elements whose content is text up to their own end tag (RAWTEXT, RCDATA, PLAINTEXT).
TEXT_ONLY_ELEMENTS = frozenset((
    "script", "style", "noscript", "xmp", "iframe", "noembed", "noframes", "textarea", "title",
    "plaintext",
))

VOID_ELEMENTS = frozenset((
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "param", "keygen", "basefont", "bgsound", "frame",
))

# Start tags that end SVG/MathML foreign content and are parsed as HTML again.
FOREIGN_BREAKOUT = frozenset((
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
    "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing",
    "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong", "strike",
    "sub", "sup", "table", "tt", "u", "ul", "var",
))

# Elements inside foreign content whose children are parsed as HTML.
INTEGRATION_POINTS = {
    "svg": frozenset(("foreignobject", "desc", "title")),
    "math": frozenset(("mi", "mo", "mn", "ms", "mtext")),
}

_EVENT_HANDLER = re.compile(r"^on[a-z0-9_-]+$")
# C0 controls, space, DEL and the C1 controls: removed before a URL's scheme is judged.
_URL_JUNK = re.compile("[\x00-\x20\x7f-\x9f]+")
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.S)
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\r\n\f]?|(.))", re.S)
_CSS_RULES = (
    (re.compile(r"expression\("), "CSS expression()"),
    (re.compile(r"url\(['\"]?(?:javascript|vbscript|livescript):"), "CSS url() with a script URL"),
    (re.compile(r"@import['\"](?:javascript|vbscript|livescript):"), "CSS @import of a script URL"),
    (re.compile(r"(?:^|[;{])behaviou?r:"), "CSS behavior property"),
    (re.compile(r"-moz-binding:"), "CSS -moz-binding property"),
)
_REFRESH_URL = re.compile(r"^[\s\d.]*[;,]?\s*(?:url\s*=\s*)?(['\"]?)(.*)$", re.I | re.S)
_SNIPPET = 80
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _snippet(text):
    """A short, printable excerpt: controls and line breaks shown as escapes."""
    text = _CONTROL.sub(lambda m: "\\x%02x" % ord(m.group(0)), text if text is not None else "")
    return text if len(text) <= _SNIPPET else text[:_SNIPPET - 3] + "..."


class Finding:
    """One construct that would run script."""

    __slots__ = ("kind", "tag", "attribute", "detail", "offset")

    def __init__(self, kind, tag, attribute, detail, offset=0):
        self.kind = kind
        self.tag = tag
        self.attribute = attribute
        self.detail = detail
        self.offset = offset

    def describe(self):
        where = "<%s%s>" % (self.tag, " " + self.attribute if self.attribute else "")
        return "%s %s: %s" % (self.kind, where, self.detail)

    def signature(self):
        """What identifies the construct regardless of where it sits in a page."""
        return (self.kind, self.tag, self.attribute, self.detail)

    def as_dict(self):
        return {
            "kind": self.kind,
            "tag": self.tag,
            "attribute": self.attribute,
            "detail": self.detail,
            "offset": self.offset,
        }

    def __repr__(self):
        return "Finding(%r @%d)" % (self.describe(), self.offset)


def normalise_url(value):
    """What a browser's URL parser sees of a scheme: no whitespace or controls, lower case."""
    return _URL_JUNK.sub("", value or "").lower()


def dangerous_url(value, tag="", attribute=""):
    """Return why the (entity-decoded) URL would run script, or None."""
    url = normalise_url(value)
    for scheme in SCRIPT_SCHEMES:
        if url.startswith(scheme):
            return "%s URL %s" % (scheme[:-1], _snippet(value))
    if url.startswith("data:"):
        media_type = re.split(r"[;,]", url[5:], maxsplit=1)[0]
        if media_type in SCRIPTABLE_DATA_TYPES:
            if media_type.startswith("image/") and (tag, attribute) in IMAGE_CONTEXTS:
                return None
            return "data: URL of type %s" % media_type
    return None


def decode_css(css):
    """CSS text as the CSS tokeniser reads it: comments and escapes resolved, no whitespace."""
    text = _CSS_COMMENT.sub("", css or "")

    def unescape(match):
        if match.group(1):
            code = int(match.group(1), 16)
            if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                return "\ufffd"
            return chr(code)
        return match.group(2)

    text = _CSS_ESCAPE.sub(unescape, text)
    return _URL_JUNK.sub("", text).lower()


def dangerous_css(css):
    """Return why the style sheet or declaration list would run script, or None."""
    decoded = decode_css(css)
    for pattern, reason in _CSS_RULES:
        if pattern.search(decoded):
            return reason
    return None


def refresh_target(content):
    """The URL of a ``<meta http-equiv=refresh content=...>`` value, or None."""
    match = _REFRESH_URL.match(content or "")
    if not match:
        return None
    quote, url = match.group(1), match.group(2).strip()
    if quote and quote in url:
        url = url[:url.index(quote)]
    return url or None


class _Analyser(HTMLParser):
    """Tokenise a document and collect findings (see the module docstring)."""

    def __init__(self, depth=0, markers=()):
        super().__init__(convert_charrefs=True)
        self.findings = []
        self.marks = {}
        self._markers = [m for m in markers if m]
        self._depth = depth
        self._line_starts = [0]
        # Open elements that switch the parsing namespace: (tag, namespace of their children).
        self._namespaces = []

    # -- positions -------------------------------------------------------------------
    def analyse(self, document):
        starts = [0]
        for index, char in enumerate(document):
            if char == "\n":
                starts.append(index + 1)
        self._line_starts = starts
        self.feed(document)
        self.close()
        return self.findings

    def _offset(self):
        line, column = self.getpos()
        if line - 1 < len(self._line_starts):
            return self._line_starts[line - 1] + column
        return self._line_starts[-1] + column

    def _add(self, kind, tag, attribute, detail):
        self.findings.append(Finding(kind, tag, attribute, detail, self._offset()))

    # -- namespaces ------------------------------------------------------------------
    def _namespace(self):
        return self._namespaces[-1][1] if self._namespaces else "html"

    def _enter(self, tag, attrs):
        """Update the namespace stack for a start tag; return the namespace the tag lives in."""
        namespace = self._namespace()
        if namespace != "html":
            if tag in FOREIGN_BREAKOUT or (tag == "font" and any(a in ("color", "face", "size") for a in attrs)):
                while self._namespaces and self._namespaces[-1][1] != "html":
                    self._namespaces.pop()
                namespace = self._namespace()
        if namespace == "html":
            if tag in ("svg", "math"):
                self._namespaces.append((tag, tag))
                return tag
            return "html"
        if tag in INTEGRATION_POINTS.get(namespace, ()):
            self._namespaces.append((tag, "html"))
        elif tag == "annotation-xml" and namespace == "math" and \
                (attrs.get("encoding") or "").strip().lower() in ("text/html", "application/xhtml+xml"):
            self._namespaces.append((tag, "html"))
        elif tag in ("svg", "math"):
            self._namespaces.append((tag, tag))
        return namespace

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs, self_closing=False)

    def handle_startendtag(self, tag, attrs):
        self._start(tag, attrs, self_closing=True)

    def _start(self, tag, attr_list, self_closing):
        attrs = {}
        for name, value in attr_list:
            attrs.setdefault(name, value if value is not None else "")
        namespace = self._enter(tag, attrs)
        self._check_element(tag, attrs)
        if namespace == "html":
            # A trailing slash means nothing on a non-void HTML element: it stays open.
            if tag in TEXT_ONLY_ELEMENTS:
                self.set_cdata_mode(tag)
        elif self_closing and self._namespaces and self._namespaces[-1][0] == tag:
            self._namespaces.pop()

    def handle_endtag(self, tag):
        for index in range(len(self._namespaces) - 1, -1, -1):
            if self._namespaces[index][0] == tag:
                del self._namespaces[index:]
                break

    def set_cdata_mode(self, elem, *args, **kwargs):
        # In SVG and MathML, <script> and <style> hold markup, not raw text.
        if self._namespace() != "html":
            return
        super().set_cdata_mode(elem, *args, **kwargs)

    # -- comments: end as the HTML5 tokeniser ends them --------------------------------
    def parse_comment(self, i, report=True):
        rawdata = self.rawdata
        if rawdata.startswith("<!-->", i):
            end, body = i + 5, ""
        elif rawdata.startswith("<!--->", i):
            end, body = i + 6, ""
        else:
            match = re.compile(r"--!?>").search(rawdata, i + 4)
            if not match:
                return -1
            end, body = match.end(), rawdata[i + 4:match.start()]
        if report:
            self.handle_comment(body)
        return end

    # -- content -------------------------------------------------------------------
    def handle_data(self, data):
        for index, marker in enumerate(self._markers):
            # A marker counts once it is seen as text, and only after the markers before it.
            if marker not in self.marks and marker in data and all(m in self.marks for m in self._markers[:index]):
                self.marks[marker] = self._offset() + data.index(marker)
        if self.cdata_elem == "style":
            reason = dangerous_css(data)
            if reason:
                self._add("css", "style", None, "%s in %s" % (reason, _snippet(data)))

    def _check_element(self, tag, attrs):
        if tag == "script":
            source = attrs.get("src") or attrs.get("href") or attrs.get("xlink:href")
            self._add("script-element", tag, None,
                      "external script %s" % _snippet(source) if source else "inline script")
        for name, value in attrs.items():
            if _EVENT_HANDLER.match(name) and value.strip():
                self._add("event-handler", tag, name, _snippet(value))
            elif name in URL_ATTRIBUTES:
                reason = dangerous_url(value, tag, name)
                if reason:
                    self._add("dangerous-url", tag, name, reason)
            elif name == "style":
                reason = dangerous_css(value)
                if reason:
                    self._add("css", tag, name, "%s in %s" % (reason, _snippet(value)))
        if tag in ANIMATION_ELEMENTS:
            for name in ANIMATION_VALUE_ATTRIBUTES:
                for value in (attrs.get(name) or "").split(";"):
                    reason = dangerous_url(value, tag, name)
                    if reason:
                        self._add("dangerous-url", tag, name, "animates to a " + reason)
        if tag == "iframe" and "srcdoc" in attrs and self._depth < 4:
            inner = _Analyser(self._depth + 1).analyse(attrs["srcdoc"])
            if inner:
                self._add("srcdoc", tag, "srcdoc", "document runs script: " + inner[0].describe())
        if tag == "meta" and (attrs.get("http-equiv") or "").strip().lower() == "refresh":
            target = refresh_target(attrs.get("content"))
            reason = dangerous_url(target, tag, "content") if target else None
            if reason:
                self._add("meta-refresh", tag, "content", "refresh to a " + reason)


def analyse(document):
    """All findings of an HTML document or fragment, in document order."""
    return _Analyser().analyse(document or "")


def is_executable(document):
    return bool(analyse(document))


def analyse_between(document, begin, end):
    """Findings located between the ``begin`` marker and the ``end`` marker.

    Markers count only where they appear as text (not inside a tag or an attribute), and
    ``end`` only after ``begin``. Returns ``(findings, window_found)``. Without the begin
    marker every finding is returned and ``window_found`` is False; without the end marker
    the window runs to the end of the document, so a payload that swallowed the end marker
    (into an attribute, say) stays inside.
    """
    analyser = _Analyser(markers=(begin, end))
    findings = analyser.analyse(document or "")
    if begin not in analyser.marks:
        return findings, False
    start = analyser.marks[begin]
    stop = analyser.marks.get(end, len(document))
    return [f for f in findings if start <= f.offset < stop], True
