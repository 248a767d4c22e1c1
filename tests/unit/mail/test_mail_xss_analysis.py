"""The HTML analysis of plugins/module_utils/_xss_analysis.py."""

from pathlib import Path

import pytest
import yaml

from ansible_collections.mailops.window.plugins.module_utils import _xss_analysis as xss

from .sanitiser import sanitise

CORPUS_FILE = Path(__file__).resolve().parents[3] / "roles" / "mail_check" / "files" / "xss_payloads.yml"
CORPUS = yaml.safe_load(CORPUS_FILE.read_text(encoding="utf-8"))["payloads"]
CORPUS_IDS = [p["id"] for p in CORPUS]

HARMLESS = [
    '<p>Hello <b>bold</b> and <i>italic</i> and <strong>strong</strong>.</p>',
    '<a href="https://www.example.org/path?q=1&amp;r=2">a link</a>',
    '<a href="http://www.example.org/">plain http</a> <a href="/inbox">relative</a> <a href="#top">anchor</a>',
    '<a href="mailto:someone@example.org">mail me</a>',
    '<img src="https://www.example.org/logo.png" alt="logo" width="20">',
    '<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline picture">',
    '<img src="data:image/svg+xml;base64,PHN2Zy8+" alt="an svg picture is not scripted">',
    '<table><tr><td style="color: red; font-weight: bold">cell</td></tr></table>',
    '<p>Type javascript:alert(1) into nothing; onerror=alert(1) is only text.</p>',
    '&lt;script&gt;alert(1)&lt;/script&gt; shown as text',
    '<a title="javascript:alert(1)" href="https://example.org/">title text is not a URL</a>',
    '<!-- <script>alert(1)</script> <img src=x onerror=alert(1)> -->',
    '<textarea><script>alert(1)</script><img src=x onerror=alert(1)></textarea>',
    '<title><script>alert(1)</script></title>',
    '<xmp><img src=x onerror=alert(1)></xmp>',
    '<iframe srcdoc="&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;"></iframe>',
    '<iframe srcdoc="<p>just <b>text</b></p>"></iframe>',
    '<svg width="10" height="10"><circle cx="5" cy="5" r="4" fill="red"/></svg>',
    '<svg><style>&lt;img src=x onerror=alert(1)&gt;</style></svg>',
    '<meta http-equiv="refresh" content="30; url=https://www.example.org/">',
    '<div style="background: url(https://www.example.org/bg.png)">x</div>',
    '<img src=x onerror="" onerror=alert(1)>',
    '<a href="javascript%3Aalert(1)">percent-encoded colon is no scheme</a>',
    '<a href="data:,alert(1)">text/plain data</a>',
    '<pre>&lt;img src=x onerror=alert(1)&gt;</pre>',
]

ENCODED = [
    ('<a href="&#x6a;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3a;alert(1)">x</a>', "dangerous-url"),
    ('<a href="&#0000106&#0000097vascript:alert(1)">x</a>', "dangerous-url"),
    ('<a href="java&Tab;script&colon;alert(1)">x</a>', "dangerous-url"),
    ('<a href="java&NewLine;script:alert(1)">x</a>', "dangerous-url"),
    ('<a href="JAVASCRIPT:alert(1)">x</a>', "dangerous-url"),
    ('<a href="jAvAsCrIpT:alert(1)">x</a>', "dangerous-url"),
    ('<a href="\x01\x02javascript:alert(1)">x</a>', "dangerous-url"),
    ('<a href="j\x00avascript:alert(1)">x</a>', "dangerous-url"),
    ('<a href="  java script : alert(1)">x</a>', "dangerous-url"),
    ('<a href="java\r\nscript:alert(1)">x</a>', "dangerous-url"),
    ('<iframe src="DATA:TEXT/HTML,&#60;script&#62;alert(1)&#60;/script&#62;"></iframe>', "dangerous-url"),
    ('<object data="data:application/xhtml+xml;base64,AAAA"></object>', "dangerous-url"),
    ('<IMG SRC=x OnErRoR=alert(1)>', "event-handler"),
    ('<img src=x\nonerror\n=\nalert(1)>', "event-handler"),
    ('<sCrIpT>alert(1)</ScRiPt>', "script-element"),
    ('<div style="x:\\65\\78\\70\\72\\65\\73\\73\\69\\6f\\6e(alert(1))">x</div>', "css"),
    ('<div style="background:u\\72l(&quot;jav&#x61;script:alert(1)&quot;)">x</div>', "css"),
    ('<div style="behavior: url(x.htc)">x</div>', "css"),
    ('<meta http-equiv="refresh" content="0;JaVaScRiPt:alert(1)">', "meta-refresh"),
    ('<iframe srcdoc="&lt;img src=x o&#110;error=alert(1)&gt;"></iframe>', "srcdoc"),
    ('<svg><set attributeName="xlink:href" to="&#106;avascript:alert(1)"/></svg>', "dangerous-url"),
    ('<svg><animate attributeName="href" values="https://ok.example/;javascript:alert(1)"/></svg>', "dangerous-url"),
]


@pytest.mark.parametrize("payload", CORPUS, ids=CORPUS_IDS)
def test_every_corpus_payload_inserted_raw_is_executable(payload):
    findings = xss.analyse(payload["html"])
    assert findings, "payload %s was not detected" % payload["id"]
    # The same payload inside a page stays detected.
    page = "<html><body><div class=body>%s</div></body></html>" % payload["html"]
    assert xss.is_executable(page)


def test_the_corpus_is_broad():
    vectors = {p["vector"] for p in CORPUS}
    assert len(CORPUS) >= 24
    assert len(set(CORPUS_IDS)) == len(CORPUS_IDS)
    for wanted in ("script-tag", "event-handler", "javascript-url", "data-url", "iframe-srcdoc", "meta-refresh",
                   "base-href", "svg", "svg-animation", "math", "css", "form", "object", "embed", "broken-markup"):
        assert wanted in vectors


@pytest.mark.parametrize("markup", HARMLESS)
def test_harmless_html_is_not_executable(markup):
    assert xss.analyse(markup) == []


@pytest.mark.parametrize("markup,kind", ENCODED)
def test_encoded_variants_are_detected(markup, kind):
    kinds = [f.kind for f in xss.analyse(markup)]
    assert kind in kinds, kinds


@pytest.mark.parametrize("payload", CORPUS, ids=CORPUS_IDS)
def test_an_allowlist_sanitiser_closes_every_payload(payload):
    cleaned = sanitise(payload["html"])
    assert xss.analyse(cleaned) == [], cleaned


def test_the_sanitiser_keeps_harmless_markup():
    kept = sanitise('<p><b>bold</b> <a href="https://example.org/" onclick="x()">link</a></p>')
    assert kept == '<p><b>bold</b> <a href="https://example.org/">link</a></p>'
    assert xss.analyse(kept) == []


def test_findings_describe_what_and_where():
    (finding,) = xss.analyse('<p>x</p>\n<img src=x onerror="alert(document.domain)">')
    assert finding.kind == "event-handler" and finding.tag == "img" and finding.attribute == "onerror"
    assert finding.describe() == "event-handler <img onerror>: alert(document.domain)"
    assert finding.offset == len("<p>x</p>\n")


def test_control_characters_are_shown_escaped_in_evidence():
    (finding,) = xss.analyse('<a href="jav&#x09;ascript:alert(1)">x</a>')
    assert "jav\\x09ascript:alert(1)" in finding.detail


def test_window_counts_only_findings_between_the_markers():
    page = ('<script src="/app.js"></script><body onload="start()">'
            '<p>BEGIN-1</p><img src=x onerror=alert(1)><p>END-1</p><script>late()</script>')
    inside, found = xss.analyse_between(page, "BEGIN-1", "END-1")
    assert found is True
    assert [f.describe() for f in inside] == ["event-handler <img onerror>: alert(1)"]
    clean = page.replace("<img src=x onerror=alert(1)>", "<b>fine</b>")
    assert xss.analyse_between(clean, "BEGIN-1", "END-1") == ([], True)


def test_window_without_end_marker_runs_to_the_end():
    page = '<p>BEGIN-2</p><img src="x<p>END-2</p>"><script>alert(1)</script>'
    inside, found = xss.analyse_between(page, "BEGIN-2", "END-2")
    assert found and [f.kind for f in inside] == ["script-element"]


def test_markers_count_only_as_text():
    page = '<a title="BEGIN-4"></a><script>before()</script><p>BEGIN-4</p><b>ok</b><p>END-4</p><script>after()</script>'
    assert xss.analyse_between(page, "BEGIN-4", "END-4") == ([], True)
    quoted = '<img alt="BEGIN-5"><script>a()</script>'
    assert xss.analyse_between(quoted, "BEGIN-5", "END-5")[1] is False


def test_window_without_begin_marker_reports_everything():
    findings, found = xss.analyse_between("<script>a()</script>", "BEGIN-3", "END-3")
    assert found is False and len(findings) == 1


@pytest.mark.parametrize("value,tag,attribute,expected", [
    ("javascript:x", "a", "href", "javascript URL javascript:x"),
    (" \tVBScript:x", "a", "href", "vbscript URL  \\x09VBScript:x"),
    ("data:text/html,x", "iframe", "src", "data: URL of type text/html"),
    ("data:image/svg+xml,<svg/>", "embed", "src", "data: URL of type image/svg+xml"),
    ("data:image/svg+xml,<svg/>", "img", "src", None),
    ("data:text/plain,x", "iframe", "src", None),
    ("https://example.org/javascript:x", "a", "href", None),
    ("", "a", "href", None),
])
def test_dangerous_url(value, tag, attribute, expected):
    assert xss.dangerous_url(value, tag, attribute) == expected


@pytest.mark.parametrize("content,expected", [
    ("0;url=javascript:alert(1)", "javascript:alert(1)"),
    ("5; URL='https://example.org/'", "https://example.org/"),
    ('0, url="data:text/html,x" ', "data:text/html,x"),
    ("3", None),
])
def test_refresh_target(content, expected):
    assert xss.refresh_target(content) == expected
