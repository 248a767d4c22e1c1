"""The webmail renderer: 6.7.19 inserts a message's HTML as is; the 6.7.19.1 allowlist sanitiser."""

import html
import re
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest

from cpms import render as render_6_7_19

HOSTILE = [
    # script tags, many spellings
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<script/src='//evil.example/x.js'></script>",
    "<script\n>alert(1)</script\n>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    '"><script>alert(1)</script>',
    "<script>alert(1)",
    # event handlers
    "<img src=x onerror=alert(1)>",
    "<body onload=alert(1)>",
    '<p onmouseover="alert(1)">text</p>',
    "<div/onclick=alert(1)>x</div>",
    '<b ONCLICK="alert(1)" title=ok>x</b>',
    '<a href="https://ok.example/" onfocus=alert(1) autofocus>x</a>',
    # dangerous URLs, encoded and spaced
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="java&NewLine;script:alert(1)">x</a>',
    '<a href=" &#14; javascript:alert(1)">x</a>',
    '<a href="java\x00script:alert(1)">x</a>',
    '<a href="\x01\x02javascript:alert(1)">x</a>',
    '<a href="&amp;#106;avascript:alert(1)">x</a>',
    '<a href="&#0000106avascript:alert(1)">x</a>',
    "<a href=javascript:alert(1)>x</a>",
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="DATA:text/html,<script>alert(1)</script>">x</a>',
    # svg and math
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<svg/onload=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">x</math>',
    # frames, objects, forms
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><input type=submit value=go></form>',
    '<button formaction="javascript:alert(1)">x</button>',
    # document-level tricks
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:/">',
    '<link rel=stylesheet href="javascript:alert(1)">',
    # style
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="width:expression(alert(1))">x</div>',
    "<p style=\"background:url('javascript:alert(1)')\">x</p>",
    "<style>@import 'javascript:alert(1)';</style>",
    # nested and broken markup
    "<!--<script>alert(1)</script>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<a href="javascript:alert(1)"<b>x',
    "<xmp><script>alert(1)</script></xmp>",
    "<template><script>alert(1)</script></template>",
    '<title></title><img src=x onerror=alert(1)>',
    "<p <script>alert(1)</script>>",
    '<div><a href="https://ok.example/"><svg><script>alert(1)</script>',
    "<![CDATA[<script>alert(1)</script>]]>",
    "<?xml-stylesheet href='javascript:alert(1)'?>",
]


class Inventory(HTMLParser):
    """Every tag and attribute a browser would see in the sanitiser's output."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.attrs = []
        self.texts = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, name, value) for name, value in attrs)

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.texts.append(data)


def inventory(fragment):
    parser = Inventory()
    parser.feed(fragment)
    parser.close()
    return parser


def assert_harmless(out, sanitiser):
    seen = inventory(out)
    assert set(seen.tags) <= sanitiser.ALLOWED_TAGS, seen.tags
    for tag, name, value in seen.attrs:
        assert not name.startswith("on"), (tag, name)
        assert name not in ("style", "src", "srcdoc", "action", "formaction", "xlink:href", "content"), name
        if name == "href":
            flat = re.sub(r"[\x00-\x20\x7f-\x9f]", "", html.unescape(value)).lower()
            assert flat.startswith(("http:", "https:", "mailto:")) or ":" not in flat.split("/")[0], value
    assert not re.search(r"<\s*/?\s*(script|style|iframe|svg|math|object|embed|meta|base|link|form)", out, re.I)


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_payloads_are_neutralised(cpms_render_patched, payload):
    out = cpms_render_patched.sanitise(payload)
    assert_harmless(out, cpms_render_patched)
    assert "alert(1)" not in "".join(value or "" for dummy_tag, dummy_name, value in inventory(out).attrs)


def test_there_are_enough_hostile_payloads():
    assert len(HOSTILE) >= 25


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_payloads_stay_hostile_in_6_7_19(payload):
    # The original renderer is the hole: the message's HTML reaches the page byte for byte.
    msg = EmailMessage()
    msg["Subject"] = "x"
    msg.set_content(payload, subtype="html")
    assert payload in render_6_7_19.render_body(msg)


def test_harmless_markup_survives(cpms_render_patched):
    source = ('<p title="greeting">Hello <b>bold</b>, <i>it</i>, <strong>s</strong> &amp; <em>e</em>.</p>'
              '<ul><li>one</li><li>two</li></ul>'
              '<p><a href="https://example.com/a?x=1&amp;y=2">web</a> <a href="mailto:u1@lab.example">mail</a>'
              ' <a href="/inbox">in</a> <a href="#top">top</a></p><br><hr>'
              '<table><tr><td colspan="2">cell</td></tr></table>')
    out = cpms_render_patched.sanitise(source)
    assert out == (
        '<p title="greeting">Hello <b>bold</b>, <i>it</i>, <strong>s</strong> &amp; <em>e</em>.</p>'
        '<ul><li>one</li><li>two</li></ul>'
        '<p><a href="https://example.com/a?x=1&amp;y=2" rel="noopener noreferrer nofollow">web</a> '
        '<a href="mailto:u1@lab.example" rel="noopener noreferrer nofollow">mail</a> '
        '<a href="/inbox" rel="noopener noreferrer nofollow">in</a> '
        '<a href="#top" rel="noopener noreferrer nofollow">top</a></p><br><hr>'
        '<table><tr><td colspan="2">cell</td></tr></table>')


@pytest.mark.parametrize("source, expected", [
    ("<p>5 &lt; 6 &amp;&amp; 7 &gt; 3</p>", "<p>5 &lt; 6 &amp;&amp; 7 &gt; 3</p>"),
    ("<font color=red>red</font> <center>mid</center>", "red mid"),
    ("<html><head><title>t</title><style>p{}</style></head><body><p>body</p></body></html>", "<p>body</p>"),
    ("<div><p>unclosed", "<div><p>unclosed</p></div>"),
    ("<b><i>crossed</b></i>", "<b><i>crossed</i></b>"),
    ("stray </div> close", "stray  close"),
    ("<p/>after", "<p></p>after"),
    ('<a href="javascript:alert(1)">keep this text</a>', "<a>keep this text</a>"),
    ("<script>gone</script>kept", "kept"),
    ("<svg><text>inside svg</text></svg>outside", "outside"),
    ('<td colspan="2;x" align="evil">c</td>', "<td>c</td>"),
    ("<ol start=3><li>three</li></ol>", '<ol start="3"><li>three</li></ol>'),
])
def test_text_and_structure(cpms_render_patched, source, expected):
    assert cpms_render_patched.sanitise(source) == expected


@pytest.mark.parametrize("url, safe", [
    ("https://example.com/", True),
    ("HTTP://EXAMPLE.COM/", True),
    ("mailto:a@b", True),
    ("/relative/path?q=a:b", True),
    ("#frag", True),
    ("//example.com/x", True),
    ("javascript:alert(1)", False),
    (" javascript:alert(1)", False),
    ("java\tscript:alert(1)", False),
    ("javascript&#58;alert(1)", False),
    ("&#x26;#x6a;avascript:alert(1)", False),
    ("vbscript:x", False),
    ("data:text/html,x", False),
    ("file:///etc/passwd", False),
    ("ftp://example.com/", False),
    ("foo:bar", False),
])
def test_safe_url(cpms_render_patched, url, safe):
    assert cpms_render_patched.safe_url(url) is safe


def html_message(body, subject="Hello"):
    msg = EmailMessage()
    msg["From"] = "attacker@example.com"
    msg["To"] = "u1@lab.example"
    msg["Subject"] = subject
    msg.set_content("plain alternative")
    msg.add_alternative(body, subtype="html")
    return msg


def test_6_7_19_renders_the_html_part_as_is():
    page = render_6_7_19.render_message(html_message("<p>hi</p><script>alert(1)</script>"), 7)
    assert "<script>alert(1)</script>" in page
    assert render_6_7_19.CPMS_BUILD == "6.7.19"


def test_6_7_19_1_renders_the_html_part_sanitised(cpms_render_patched):
    page = cpms_render_patched.render_message(html_message("<p>hi</p><script>alert(1)</script>"), 7)
    assert "<p>hi</p>" in page and "<script>" not in page and "alert(1)" not in page
    assert cpms_render_patched.CPMS_BUILD == "6.7.19.1"


@pytest.mark.parametrize("module", ["6.7.19", "6.7.19.1"])
def test_headers_and_plain_text_are_escaped(cpms_render_patched, module):
    renderer = render_6_7_19 if module == "6.7.19" else cpms_render_patched
    msg = EmailMessage()
    msg["From"] = "x@example.com"
    msg["Subject"] = "<img src=x onerror=alert(1)>"
    msg.set_content("<script>alert(2)</script>")
    page = renderer.render_message(msg, 3)
    assert "<img" not in page and "<script>alert(2)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<pre>&lt;script&gt;alert(2)&lt;/script&gt;\n</pre>" in page


def test_parse_and_render_raw_message(cpms_render_patched):
    raw = (b"From: a@example.com\r\nTo: u1@lab.example\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           b"<p onclick=x>caf\xc3\xa9</p>\r\n")
    page = cpms_render_patched.render_message(cpms_render_patched.parse(raw), 1)
    assert "<title>café</title>" in page and "<p>café</p>" in page


@pytest.mark.parametrize("module", ["6.7.19", "6.7.19.1"])
def test_inbox_list_escapes_subjects(cpms_render_patched, module):
    renderer = render_6_7_19 if module == "6.7.19" else cpms_render_patched
    page = renderer.render_inbox("u1", [(3, "<b>hi</b> & bye"), (10, "plain")])
    assert '<li><a href="/message/3">&lt;b&gt;hi&lt;/b&gt; &amp; bye</a></li>' in page
    assert '<li><a href="/message/10">plain</a></li>' in page
