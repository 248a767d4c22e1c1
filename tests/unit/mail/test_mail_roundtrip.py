"""mailops.window.mail_roundtrip against fake MTAs sharing one mail store."""

import poplib
import smtplib
import socket

import pytest

from ansible_collections.mailops.window.plugins.modules import mail_roundtrip

from .conftest import PASSWORDS
from .fakemail import MailStore, closed_port


def roundtrip_args(via, reader, **overrides):
    args = {
        "smtp_host": "127.0.0.1", "smtp_port": via.smtp.port,
        "pop3_host": "127.0.0.1", "pop3_port": reader.pop3.port,
        "imap_port": reader.imap.port,
        "user": "u1", "password": PASSWORDS["u1"], "recipient": "u1@lab.example",
        "timeout": 5, "poll_interval": 0.01, "connect_timeout": 5,
    }
    args.update(overrides)
    return args


def assert_secret_hidden(result):
    for password in PASSWORDS.values():
        assert password not in result["raw_output"]


def test_sends_through_one_mta_and_reads_through_the_other(store, mtas, run_module):
    mta1, mta2 = mtas("mta1", store), mtas("mta2", store)
    result = run_module(mail_roundtrip, roundtrip_args(mta1, mta2))
    assert result["rc"] == 0, result["msg"]
    assert result["changed"] is False and result["deleted"] is True
    assert set(result["timings"]) == {"smtp", "pop3", "imap", "delete", "total"}
    assert result["route"] == {"smtp": "127.0.0.1:%d" % mta1.smtp.port, "pop3": "127.0.0.1:%d" % mta2.pop3.port,
                               "imap": "127.0.0.1:%d" % mta2.imap.port}
    # The message went in through mta1 only and was read through mta2 only.
    assert any(line.lower().startswith("mail from:<mail-check@lab.example>") for line in mta1.smtp.log)
    assert mta2.smtp.connections == 0 and mta1.pop3.connections == 0 and mta1.imap.connections == 0
    assert any(line.startswith("TOP ") for line in mta2.pop3.log)
    assert any("UID SEARCH HEADER X-Mail-Check-Token %s" % result["token"] in line for line in mta2.imap.log)
    assert store.all("u1") == []
    assert_secret_hidden(result)


def test_polls_until_a_late_message_arrives(mtas, run_module):
    late_store = MailStore(PASSWORDS, hidden_looks=3)
    mta1, mta2 = mtas("mta1", late_store), mtas("mta2", late_store)
    result = run_module(mail_roundtrip, roundtrip_args(mta1, mta2))
    assert result["rc"] == 0, result["msg"]
    # Three looks saw nothing, the fourth found it; IMAP then saw it at once.
    assert result["polls"] == {"pop3": 4, "imap": 1}
    assert mta2.pop3.connections == 4  # the clean-up goes over IMAP
    assert late_store.all("u1") == []


def test_gives_up_after_the_timeout_naming_the_pop3_hop(mtas, run_module):
    never = MailStore(PASSWORDS, hidden_looks=10 ** 6)
    mta1, mta2 = mtas("mta1", never), mtas("mta2", never)
    result = run_module(mail_roundtrip, roundtrip_args(mta1, mta2, timeout=0.3, poll_interval=0.05))
    assert result["rc"] == 1
    assert result["failed_hop"] == "pop3 not found"
    assert result["endpoint"] == "127.0.0.1:%d" % mta2.pop3.port
    assert "did not arrive within 0.3s" in result["msg"]
    assert 2 <= result["polls"]["pop3"] <= 12


def test_smtp_connect_failure_names_host_and_port(store, mtas, run_module):
    mta2 = mtas("mta2", store)
    port = closed_port()
    result = run_module(mail_roundtrip, roundtrip_args(mta2, mta2, smtp_port=port))
    assert result["rc"] == 1
    assert result["failed_hop"] == "smtp connect"
    assert result["msg"].startswith("smtp connect failed on 127.0.0.1:%d: " % port)
    assert "Connection refused" in result["msg"] or "ConnectionRefused" in result["msg"]
    assert mta2.pop3.connections == 0


def test_unknown_recipient_fails_the_smtp_send_hop(store, mtas, run_module):
    mta1 = mtas("mta1", store)
    result = run_module(mail_roundtrip, roundtrip_args(mta1, mta1, recipient="nobody@lab.example"))
    assert result["rc"] == 1
    assert result["failed_hop"] == "smtp send"
    assert "550 5.1.1" in result["msg"] and "nobody@lab.example" in result["msg"]


def test_smtp_auth_hop(store, mtas, run_module):
    mta1 = mtas("mta1", store, smtp_auth=True)
    ok = run_module(mail_roundtrip, roundtrip_args(mta1, mta1, smtp_auth=True))
    assert ok["rc"] == 0, ok["msg"]
    assert any(line.upper().startswith("AUTH PLAIN ") for line in mta1.smtp.log)
    # Without authenticating, the server refuses the sender: that is the send hop.
    refused = run_module(mail_roundtrip, roundtrip_args(mta1, mta1))
    assert refused["failed_hop"] == "smtp send" and "530 5.7.0" in refused["msg"]


def test_wrong_password_fails_smtp_auth_without_showing_it(store, mtas, run_module):
    mta1 = mtas("mta1", store, smtp_auth=True)
    result = run_module(mail_roundtrip, roundtrip_args(mta1, mta1, smtp_auth=True, password=PASSWORDS["v1"]))
    assert result["failed_hop"] == "smtp auth"
    assert "535 5.7.8" in result["msg"]
    assert_secret_hidden(result)


def test_pop3_login_failure(store, mtas, run_module):
    mta1, mta2 = mtas("mta1", store), mtas("mta2", store)
    result = run_module(mail_roundtrip, roundtrip_args(mta1, mta2, password="wrong-password"))
    assert result["rc"] == 1
    assert result["failed_hop"] == "pop3 login"
    assert result["endpoint"] == "127.0.0.1:%d" % mta2.pop3.port
    assert "Authentication failed" in result["msg"]
    assert mta2.imap.connections == 0


def test_pop3_down_fails_the_pop3_connect_hop(store, mtas, run_module):
    mta1, mta2 = mtas("mta1", store), mtas("mta2", store)
    mta2.pop3.stop()
    result = run_module(mail_roundtrip, roundtrip_args(mta1, mta2))
    assert result["failed_hop"] == "pop3 connect"
    assert "127.0.0.1:%d" % mta2.pop3.port in result["msg"]


def test_imap_down_fails_the_imap_connect_hop_and_cleans_up_over_pop3(store, mtas, run_module):
    mta1, mta2 = mtas("mta1", store), mtas("mta2", store)
    mta2.imap.stop()
    result = run_module(mail_roundtrip, roundtrip_args(mta1, mta2))
    assert result["rc"] == 1
    assert result["failed_hop"] == "imap connect"
    assert result["endpoint"] == "127.0.0.1:%d" % mta2.imap.port
    assert any(line.startswith("DELE ") for line in mta2.pop3.log)
    assert store.all("u1") == []
    assert "delete" in result["timings"]


def test_message_missing_over_imap_fails_the_imap_not_found_hop(store, mtas, run_module):
    mta1 = mtas("mta1", store)
    elsewhere = mtas("other", MailStore(PASSWORDS))
    args = roundtrip_args(mta1, mta1, imap_port=elsewhere.imap.port, timeout=0.2, poll_interval=0.05)
    result = run_module(mail_roundtrip, args)
    assert result["failed_hop"] == "imap not found"
    assert "already seen over POP3" in result["msg"]
    assert store.all("u1") == []  # found over POP3, so deleted over POP3


def test_imap_login_failure(store, mtas, run_module):
    mta1 = mtas("mta1", store)
    stranger = MailStore({"u1": "another-password"})
    elsewhere = mtas("other", stranger)
    result = run_module(mail_roundtrip, roundtrip_args(mta1, mta1, imap_port=elsewhere.imap.port))
    assert result["failed_hop"] == "imap login"
    assert "AUTHENTICATIONFAILED" in result["msg"]


def test_keeps_the_message_when_told(store, mtas, run_module):
    mta1 = mtas("mta1", store)
    result = run_module(mail_roundtrip, roundtrip_args(mta1, mta1, delete_after=False))
    assert result["rc"] == 0
    assert result["deleted"] is False and result["changed"] is True
    kept = store.all("u1")
    assert len(kept) == 1 and kept[0].header("X-Mail-Check-Token") == result["token"]


def test_check_mode_touches_nothing(store, mtas, run_module):
    mta1, mta2 = mtas("mta1", store), mtas("mta2", store)
    result = run_module(mail_roundtrip, roundtrip_args(mta1, mta2), check_mode=True)
    assert result["rc"] == 0 and result["changed"] is False
    assert result["msg"].startswith("check mode: would send a probe to u1@lab.example through SMTP 127.0.0.1:")
    for mta in (mta1, mta2):
        assert (mta.smtp.connections, mta.pop3.connections, mta.imap.connections) == (0, 0, 0)
    assert store.all("u1") == []


def test_rejects_a_non_positive_poll_interval(store, mtas, run_module):
    mta1 = mtas("mta1", store)
    result = run_module(mail_roundtrip, roundtrip_args(mta1, mta1, poll_interval=0))
    assert result["rc"] == 1 and "poll_interval must be positive" in result["msg"]
    assert mta1.smtp.connections == 0


# -- the fakes are strict -----------------------------------------------------------------

def test_fake_smtp_refuses_commands_out_of_order(store, mtas):
    mta1 = mtas("mta1", store)
    with smtplib.SMTP("127.0.0.1", mta1.smtp.port, local_hostname="tester", timeout=5) as client:
        assert client.docmd("MAIL", "FROM:<a@lab.example>")[0] == 503  # before EHLO
        client.ehlo()
        assert client.docmd("RCPT", "TO:<u1@lab.example>")[0] == 503  # before MAIL
        assert client.docmd("DATA")[0] == 503
        assert client.docmd("MAIL", "FROM:<a@lab.example>")[0] == 250
        assert client.docmd("RCPT", "TO:<u1@elsewhere.example>")[0] == 550
        assert client.docmd("DATA")[0] == 503  # no accepted recipient


def test_fake_pop3_and_imap_refuse_work_before_login(store, mtas):
    mta1 = mtas("mta1", store)
    pop = poplib.POP3("127.0.0.1", mta1.pop3.port, timeout=5)
    with pytest.raises(poplib.error_proto, match="AUTHORIZATION"):
        pop.stat()
    with pytest.raises(poplib.error_proto, match="No username"):
        pop.pass_(PASSWORDS["u1"])
    pop.quit()
    # imaplib checks the state itself, so talk to the fake directly.
    with socket.create_connection(("127.0.0.1", mta1.imap.port), timeout=5) as sock:
        replies = sock.makefile("rb")
        assert replies.readline().startswith(b"* OK")
        sock.sendall(b"a1 SELECT INBOX\r\n")
        assert replies.readline() == b"a1 BAD Error in IMAP command SELECT: Not logged in.\r\n"
        sock.sendall(b"a2 LOGIN u1 \"%s\"\r\n" % PASSWORDS["u1"].encode())
        assert replies.readline().startswith(b"a2 OK")
        sock.sendall(b"a3 UID SEARCH ALL\r\n")
        assert b"No mailbox selected" in replies.readline()
        sock.sendall(b"a4 EXAMINE INBOX\r\n")
        while not (line := replies.readline()).startswith(b"a4 "):
            pass
        assert b"READ-ONLY" in line
        sock.sendall(b"a5 UID STORE 1 +FLAGS (\\Deleted)\r\n")
        assert replies.readline() == b"a5 NO Mailbox is read-only.\r\n"
