"""mailops.window.webmail_xss_probe against a fake MTA whose webmail renders with a chosen renderer."""

import re

import pytest

from ansible_collections.mailops.window.plugins.modules import webmail_xss_probe

from .conftest import PASSWORDS
from .fakemail import MailStore, closed_port
from .sanitiser import sanitise
from .test_mail_xss_analysis import CORPUS, CORPUS_FILE, CORPUS_IDS


def probe_args(mta, **overrides):
    args = {
        "smtp_host": "127.0.0.1", "smtp_port": mta.smtp.port, "imap_port": mta.imap.port,
        "webmail_url": "http://127.0.0.1:%d" % mta.webmail.port,
        "user": "u1", "password": PASSWORDS["u1"], "recipient": "u1@lab.example",
        "payloads": CORPUS, "timeout": 5, "poll_interval": 0.01, "connect_timeout": 5,
    }
    args.update(overrides)
    return args


def strip_markers(content):
    return re.sub(r"XSSPROBE-(?:BEGIN|END)-[A-Za-z0-9-]+", "", content)


def test_sanitised_webmail_is_closed(store, mtas, run_module):
    mta = mtas("mta1", store, renderer=sanitise)
    result = run_module(webmail_xss_probe, probe_args(mta))
    assert result["rc"] == 0, result["msg"]
    assert result["vulnerable"] is False and result["executable"] == [] and result["inconclusive"] == []
    assert result["summary"] == {"total": len(CORPUS), "delivered": len(CORPUS), "rendered": len(CORPUS),
                                 "executable": 0}
    assert [r["id"] for r in result["results"]] == CORPUS_IDS
    assert all(r["evidence"] == ["nothing on the rendered page would run script"] for r in result["results"])
    # The webmail's own page script and body onload are outside the message: not counted.
    assert result["control"] == {"rendered": True, "markers_shown": True, "evidence": []}
    assert result["changed"] is False and result["deleted"] is True
    assert store.all("u1") == []
    assert PASSWORDS["u1"] not in result["raw_output"]


def test_raw_webmail_fails_when_expected_closed_and_lists_every_payload(store, mtas, run_module):
    mta = mtas("mta1", store)
    result = run_module(webmail_xss_probe, probe_args(mta))
    assert result["rc"] == 1
    assert result["vulnerable"] is True
    assert result["executable"] == CORPUS_IDS
    assert result["msg"].startswith("cross-site scripting check failed (expected closed): %d of %d payload(s)"
                                    % (len(CORPUS), len(CORPUS)))
    for payload_id in CORPUS_IDS:
        assert payload_id in result["msg"]
    by_id = {r["id"]: r for r in result["results"]}
    assert by_id["img-onerror"]["evidence"] == ["event-handler <img onerror>: alert(1)"]
    assert by_id["img-onerror"]["delivered"] and by_id["img-onerror"]["rendered"]
    assert "failed_hop" not in result
    assert store.all("u1") == []  # cleaned up even though the check failed


def test_expect_open_passes_on_the_raw_webmail_and_fails_on_the_sanitised_one(store, mtas, run_module):
    raw = mtas("raw", store)
    assert run_module(webmail_xss_probe, probe_args(raw, expect="open"))["rc"] == 0
    patched = mtas("patched", MailStore(PASSWORDS), renderer=sanitise)
    result = run_module(webmail_xss_probe, probe_args(patched, expect="open", payloads=CORPUS[:8]))
    assert result["rc"] == 1
    assert result["msg"].startswith("expected the hole to be open but none of 8 payload(s) would run")


def test_report_never_fails_on_the_verdict(store, mtas, run_module):
    mta = mtas("mta1", store)
    result = run_module(webmail_xss_probe, probe_args(mta, expect="report", payloads=CORPUS[:8]))
    assert result["rc"] == 0
    assert result["vulnerable"] is True and result["summary"]["executable"] == 8


def test_markerless_renderer_falls_back_to_comparing_with_the_control_page(store, mtas, run_module):
    mta = mtas("mta1", store, renderer=strip_markers)
    result = run_module(webmail_xss_probe, probe_args(mta, expect="report"))
    assert result["rc"] == 0
    assert result["executable"] == CORPUS_IDS
    for entry in result["results"]:
        assert entry["evidence"][0] == "markers not shown; whole page compared with the control page"
        # Only the payload's own constructs, never the page's script or body onload.
        assert not any("/static/webmail.js" in e or "webmail.start" in e for e in entry["evidence"])
    assert result["inconclusive"] == ["the webmail does not show the control message's text"]
    closed = run_module(webmail_xss_probe, probe_args(mta, expect="closed", payloads=[CORPUS[0]]))
    assert closed["rc"] == 1 and "does not show the control message's text" in closed["msg"]


def test_a_blank_renderer_is_inconclusive_not_closed(store, mtas, run_module):
    mta = mtas("mta1", store, renderer=lambda content: "")
    result = run_module(webmail_xss_probe, probe_args(mta, payloads=CORPUS[:3]))
    assert result["rc"] == 1
    assert result["vulnerable"] is False
    assert "the webmail does not show the control message's text" in result["msg"]


def test_waits_for_the_inbox_to_list_late_messages(mtas, run_module):
    late = MailStore(PASSWORDS, hidden_looks=3)
    mta = mtas("mta1", late, renderer=sanitise)
    result = run_module(webmail_xss_probe, probe_args(mta, payloads=CORPUS[:5]))
    assert result["rc"] == 0, result["msg"]
    assert result["timings"]["inbox_looks"] == 4
    assert result["summary"]["rendered"] == 5


def test_messages_never_listed_make_closed_inconclusive(mtas, run_module):
    never = MailStore(PASSWORDS, hidden_looks=10 ** 6)
    mta = mtas("mta1", never, renderer=sanitise)
    result = run_module(webmail_xss_probe, probe_args(mta, payloads=CORPUS[:2], timeout=0.2, poll_interval=0.05))
    assert result["rc"] == 1
    assert "2 payload(s) not rendered: %s, %s" % (CORPUS[0]["id"], CORPUS[1]["id"]) in result["msg"]
    assert result["results"][0]["evidence"] == ["not listed in /inbox within 0.2s"]
    assert result["results"][0]["delivered"] is True and result["results"][0]["rendered"] is False


def test_a_content_filter_refusing_one_payload(store, mtas, run_module):
    mta = mtas("mta1", store, renderer=sanitise, reject=lambda raw: b"vbscript:" in raw)
    result = run_module(webmail_xss_probe, probe_args(mta))
    by_id = {r["id"]: r for r in result["results"]}
    refused = by_id["a-vbscript"]
    assert refused["delivered"] is False and refused["rendered"] is False
    assert refused["evidence"] == ["refused by the SMTP server: 554 5.7.1 Error: message content rejected"]
    assert result["rc"] == 1 and "1 payload(s) not rendered: a-vbscript" in result["msg"]
    assert result["summary"]["delivered"] == len(CORPUS) - 1
    report = run_module(webmail_xss_probe, probe_args(mta, expect="report", payloads=CORPUS[20:25]))
    assert report["rc"] == 0 and report["vulnerable"] is False


def test_wrong_webmail_credentials_fail_the_webmail_auth_hop(store, mtas, run_module):
    mta = mtas("mta1", store, renderer=sanitise)
    other = MailStore({"u1": "not-the-same"})
    webmail_elsewhere = mtas("other", other)
    args = probe_args(mta, webmail_url="http://127.0.0.1:%d/" % webmail_elsewhere.webmail.port)
    result = run_module(webmail_xss_probe, args)
    assert result["rc"] == 1
    assert result["failed_hop"] == "webmail auth"
    assert result["endpoint"] == "127.0.0.1:%d" % webmail_elsewhere.webmail.port
    assert "HTTP 401 for /inbox" in result["msg"]
    assert store.all("u1") == []  # delivered messages are still deleted over IMAP


def test_webmail_down_fails_the_webmail_connect_hop(store, mtas, run_module):
    mta = mtas("mta1", store)
    port = closed_port()
    result = run_module(webmail_xss_probe, probe_args(mta, webmail_url="http://127.0.0.1:%d" % port))
    assert result["failed_hop"] == "webmail connect"
    assert "127.0.0.1:%d" % port in result["msg"]


def test_smtp_down_fails_before_anything_else(store, mtas, run_module):
    mta = mtas("mta1", store)
    result = run_module(webmail_xss_probe, probe_args(mta, smtp_port=closed_port()))
    assert result["failed_hop"] == "smtp connect"
    assert mta.webmail.connections == 0 and mta.imap.connections == 0


def test_failed_clean_up_is_a_warning(store, mtas, run_module):
    mta = mtas("mta1", store, renderer=sanitise)
    result = run_module(webmail_xss_probe, probe_args(mta, payloads=CORPUS[:2], imap_port=closed_port()))
    assert result["rc"] == 0
    assert result["deleted"] is False and result["changed"] is True
    assert "were not deleted: imap connect failed on 127.0.0.1:" in result["raw_output"], result["warnings"]
    assert len(store.all("u1")) == 3


def test_keeps_the_messages_when_told(store, mtas, run_module):
    mta = mtas("mta1", store, renderer=sanitise)
    result = run_module(webmail_xss_probe, probe_args(mta, payloads=CORPUS[:2], delete_after=False))
    assert result["rc"] == 0 and result["deleted"] is False
    assert mta.imap.connections == 0
    assert [m.header("X-Mail-Check-Payload") for m in store.all("u1")] == ["control", CORPUS[0]["id"], CORPUS[1]["id"]]


def test_check_mode_sends_nothing(store, mtas, run_module):
    mta = mtas("mta1", store)
    result = run_module(webmail_xss_probe, probe_args(mta), check_mode=True)
    assert result["rc"] == 0 and result["changed"] is False
    assert result["msg"].startswith("check mode: would deliver %d payload(s)" % len(CORPUS))
    assert (mta.smtp.connections, mta.imap.connections, mta.webmail.connections) == (0, 0, 0)


def test_payloads_file(store, mtas, run_module, tmp_path):
    mta = mtas("mta1", store, renderer=sanitise)
    args = probe_args(mta, payloads_file=str(CORPUS_FILE))
    del args["payloads"]
    result = run_module(webmail_xss_probe, args)
    assert result["rc"] == 0, result["msg"]
    assert result["summary"]["total"] == len(CORPUS)
    flat = tmp_path / "payloads.yml"
    flat.write_text("- id: only-one\n  html: <svg onload=alert(1)>\n", encoding="utf-8")
    args["payloads_file"] = str(flat)
    args["expect"] = "report"
    single = run_module(webmail_xss_probe, args)
    assert single["summary"]["total"] == 1 and single["results"][0]["vector"] == "unspecified"


@pytest.mark.parametrize("payloads,message", [
    ([{"id": "a b", "html": "<b>"}], "may only hold letters"),
    ([{"id": "x", "html": "<b>"}, {"id": "x", "html": "<i>"}], "is used twice"),
    ([], "no payloads to probe with"),
])
def test_invalid_payloads_are_refused(store, mtas, run_module, payloads, message):
    mta = mtas("mta1", store)
    result = run_module(webmail_xss_probe, probe_args(mta, payloads=payloads))
    assert result["rc"] == 1 and message in result["msg"]
    assert mta.smtp.connections == 0


def test_payloads_and_payloads_file_are_exclusive(store, mtas, run_module):
    mta = mtas("mta1", store)
    result = run_module(webmail_xss_probe, probe_args(mta, payloads_file=str(CORPUS_FILE)))
    assert result["rc"] == 1 and "mutually exclusive" in result["msg"]
