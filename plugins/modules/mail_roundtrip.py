#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
---
module: mail_roundtrip
short_description: Send a probe message through one MTA and read it back over POP3 and IMAP through another
version_added: 0.1.0
description:
  - Sends one message carrying a unique token to O(recipient) over SMTP through O(smtp_host), then
    polls O(pop3_host) over POP3 and O(imap_host) over IMAP until the message shows up there or
    O(timeout) runs out. With a mail store shared by several MTAs, reading through a different MTA
    than the one that accepted the message proves the whole path.
  - A failure names the hop that broke and the C(host:port) it talked to, in RV(failed_hop),
    RV(endpoint) and the message, for example C(pop3 login failed on 127.0.0.1:2631).
  - Hops, in order, are C(smtp connect), C(smtp starttls), C(smtp auth), C(smtp send),
    C(pop3 connect), C(pop3 starttls), C(pop3 login), C(pop3 read), C(pop3 not found),
    C(imap connect), C(imap starttls), C(imap login), C(imap select), C(imap search), C(imap not found).
  - The module talks to the servers over the network from where it runs; delegate it to the controller.
  - The probe message is deleted afterwards (over IMAP, or over POP3 when IMAP failed) unless
    O(delete_after=false). A failed deletion is a warning, not a failure.
author:
  - mailops maintainers (!UNKNOWN)
options:
  smtp_host:
    description: Address of the MTA to submit the probe message to.
    type: str
    required: true
  smtp_port:
    description: SMTP port of O(smtp_host).
    type: int
    default: 25
  pop3_host:
    description: Address of the server to read the message back from over POP3.
    type: str
    required: true
  pop3_port:
    description: POP3 port of O(pop3_host).
    type: int
    default: 110
  imap_host:
    description:
      - Address of the server to read the message back from over IMAP.
      - Defaults to O(pop3_host).
    type: str
  imap_port:
    description: IMAP port of O(imap_host).
    type: int
    default: 143
  user:
    description: Mailbox user name for POP3 and IMAP (and SMTP when O(smtp_auth=true)).
    type: str
    required: true
  password:
    description: Password of O(user).
    type: str
    required: true
  recipient:
    description: Address the probe message is sent to; its mailbox must be the one O(user) reads.
    type: str
    required: true
  sender:
    description:
      - Envelope and header sender of the probe message.
      - Defaults to C(mail-check@) followed by the domain of O(recipient).
    type: str
  timeout:
    description: Seconds to wait, in all, for the message to appear over POP3 and then IMAP.
    type: float
    default: 60
  poll_interval:
    description:
      - The longest wait, in seconds, between two looks into the mailbox while waiting.
      - The first wait is a quarter of a second (or this, when shorter); each wait then doubles up to this.
    type: float
    default: 2
  connect_timeout:
    description: Seconds allowed for each network operation (connect, command, reply).
    type: float
    default: 10
  delete_after:
    description: Delete the probe message once it has been read back.
    type: bool
    default: true
  starttls:
    description: Require STARTTLS (SMTP, IMAP) and STLS (POP3) before anything else is sent.
    type: bool
    default: false
  smtp_auth:
    description: Authenticate to the SMTP server as O(user) before sending.
    type: bool
    default: false
  validate_certs:
    description: Verify the servers' certificates when O(starttls=true).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: In check mode nothing is sent or read; the module reports what it would test.
  diff_mode:
    support: none
    description: No diff.
  platform:
    platforms: posix
    support: full
    description: Runs wherever it is executed, normally the controller.
notes:
  - The probe message carries its token in an C(X-Mail-Check-Token) header and in its subject.
seealso:
  - module: mailops.window.webmail_xss_probe
"""

EXAMPLES = r"""
- name: Send through mta1, read back through mta2
  mailops.window.mail_roundtrip:
    smtp_host: mta1.example.org
    pop3_host: mta2.example.org
    user: probe1
    password: "{{ probe_password }}"
    recipient: probe1@example.org
    timeout: 120
  delegate_to: localhost
  no_log: true
  register: roundtrip

- name: Lab ports published on the loopback address
  mailops.window.mail_roundtrip:
    smtp_host: 127.0.0.1
    smtp_port: 2531
    pop3_host: 127.0.0.1
    pop3_port: 2632
    imap_port: 2732
    user: u1
    password: "{{ lab_password }}"
    recipient: u1@lab.example
  delegate_to: localhost
"""

RETURN = r"""
token:
  description: The unique token the probe message carried.
  returned: always
  type: str
  sample: mc-1732390000-4f2a9c1be07d
timings:
  description:
    - Seconds per hop. V(smtp) is connecting and sending, V(pop3) runs from the end of sending until
      the message was found over POP3 (delivery included), V(imap) until it was found over IMAP
      afterwards, V(delete) the clean-up, V(total) all of it.
  returned: success or failure after the start
  type: dict
  sample: {"smtp": 0.05, "pop3": 1.2, "imap": 0.02, "delete": 0.01, "total": 1.3}
polls:
  description: How many times each mailbox was looked into.
  returned: success
  type: dict
  sample: {"pop3": 3, "imap": 1}
route:
  description: The endpoints tested, as C(host:port).
  returned: always
  type: dict
  sample: {"smtp": "127.0.0.1:2531", "pop3": "127.0.0.1:2632", "imap": "127.0.0.1:2732"}
deleted:
  description: Whether the probe message was removed again.
  returned: success
  type: bool
failed_hop:
  description: The hop that broke, for example V(smtp connect) or V(imap not found).
  returned: failure
  type: str
  sample: pop3 login
endpoint:
  description: The C(host:port) of the failed hop.
  returned: failure
  type: str
  sample: 127.0.0.1:2631
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailops.window.plugins.module_utils._mail_probe import (
    TOKEN_HEADER,
    ImapMailbox,
    Pop3Mailbox,
    ProbeError,
    build_message,
    endpoint,
    new_token,
    poll,
    smtp_send,
    tls_context,
)


def argument_spec():
    return dict(
        smtp_host=dict(type="str", required=True),
        smtp_port=dict(type="int", default=25),
        pop3_host=dict(type="str", required=True),
        pop3_port=dict(type="int", default=110),
        imap_host=dict(type="str"),
        imap_port=dict(type="int", default=143),
        user=dict(type="str", required=True),
        password=dict(type="str", required=True, no_log=True),
        recipient=dict(type="str", required=True),
        sender=dict(type="str"),
        timeout=dict(type="float", default=60),
        poll_interval=dict(type="float", default=2),
        connect_timeout=dict(type="float", default=10),
        delete_after=dict(type="bool", default=True),
        starttls=dict(type="bool", default=False),
        smtp_auth=dict(type="bool", default=False),
        validate_certs=dict(type="bool", default=True),
    )


class Roundtrip:
    """The probe: send, find over POP3, find over IMAP, clean up."""

    def __init__(self, params, token):
        self.p = params
        self.token = token
        self.tls = tls_context(params["validate_certs"]) if params["starttls"] else None
        self.timings = {}
        self.polls = {}
        self.pop3_found = False
        self.imap_uids = []

    def pop3(self):
        p = self.p
        return Pop3Mailbox(p["pop3_host"], p["pop3_port"], p["user"], p["password"], p["connect_timeout"], self.tls)

    def imap(self, writable=False):
        p = self.p
        return ImapMailbox(p["imap_host"], p["imap_port"], p["user"], p["password"], p["connect_timeout"],
                           self.tls, writable=writable)

    def run(self):
        p = self.p
        started = time.monotonic()
        subject = "mail_check round trip %s" % self.token
        body = ("Probe message of the mail round trip check.\n"
                "Sent through %s, to be read back through %s (POP3) and %s (IMAP).\n"
                "Token: %s\n" % (endpoint(p["smtp_host"], p["smtp_port"]), endpoint(p["pop3_host"], p["pop3_port"]),
                                 endpoint(p["imap_host"], p["imap_port"]), self.token))
        raw = build_message(p["sender"], p["recipient"], subject, body, self.token)
        auth = (p["user"], p["password"]) if p["smtp_auth"] else None
        smtp_send(p["smtp_host"], p["smtp_port"], p["sender"], p["recipient"], [raw], p["connect_timeout"],
                  tls=self.tls, auth=auth)
        sent = time.monotonic()
        self.timings["smtp"] = round(sent - started, 3)

        seen = set()

        def look_pop3():
            with self.pop3() as box:
                return box.find(self.token, seen)

        found, self.polls["pop3"] = poll(look_pop3, p["timeout"], p["poll_interval"])
        if not found:
            raise ProbeError("pop3 not found", endpoint(p["pop3_host"], p["pop3_port"]),
                             "message %s did not arrive within %ss (%d looks)"
                             % (self.token, p["timeout"], self.polls["pop3"]))
        self.pop3_found = True
        popped = time.monotonic()
        self.timings["pop3"] = round(popped - sent, 3)

        def look_imap():
            with self.imap() as box:
                return box.search_header(TOKEN_HEADER, self.token)

        remaining = p["timeout"] - (popped - sent)
        self.imap_uids, self.polls["imap"] = poll(look_imap, remaining, p["poll_interval"])
        if not self.imap_uids:
            raise ProbeError("imap not found", endpoint(p["imap_host"], p["imap_port"]),
                             "message %s, already seen over POP3, not found over IMAP within %ss (%d looks)"
                             % (self.token, p["timeout"], self.polls["imap"]))
        self.timings["imap"] = round(time.monotonic() - popped, 3)

    def clean_up(self):
        """Delete the probe message; returns a warning text or None."""
        started = time.monotonic()
        try:
            if self.imap_uids:
                with self.imap(writable=True) as box:
                    box.delete(self.imap_uids)
            elif self.pop3_found:
                with self.pop3() as box:
                    box.delete(box.find(self.token))
            else:
                return None
        except ProbeError as exc:
            return "probe message %s was not deleted: %s" % (self.token, exc)
        finally:
            self.timings["delete"] = round(time.monotonic() - started, 3)
        return None


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = dict(module.params)
    p["imap_host"] = p["imap_host"] or p["pop3_host"]
    if not p["sender"]:
        p["sender"] = "mail-check@%s" % (p["recipient"].rpartition("@")[2] or "localhost")
    for name in ("timeout", "poll_interval", "connect_timeout"):
        if p[name] < 0 or (name != "timeout" and p[name] == 0):
            module.fail_json(msg="%s must be positive, got %s" % (name, p[name]))
    token = new_token()
    route = {
        "smtp": endpoint(p["smtp_host"], p["smtp_port"]),
        "pop3": endpoint(p["pop3_host"], p["pop3_port"]),
        "imap": endpoint(p["imap_host"], p["imap_port"]),
    }
    if module.check_mode:
        module.exit_json(
            changed=False, token=token, route=route, timings={}, polls={}, deleted=False,
            msg="check mode: would send a probe to %s through SMTP %s and read it back over POP3 %s and IMAP %s"
                % (p["recipient"], route["smtp"], route["pop3"], route["imap"]))

    probe = Roundtrip(p, token)
    started = time.monotonic()
    failure = None
    try:
        probe.run()
    except ProbeError as exc:
        failure = exc
    warning = probe.clean_up() if p["delete_after"] else None
    probe.timings["total"] = round(time.monotonic() - started, 3)
    if warning:
        module.warn(warning)
    if failure is not None:
        module.fail_json(msg=str(failure), failed_hop=failure.hop, endpoint=failure.endpoint, token=token,
                         route=route, timings=probe.timings, polls=probe.polls)
    deleted = p["delete_after"] and warning is None
    module.exit_json(
        changed=not deleted, token=token, route=route, timings=probe.timings, polls=probe.polls, deleted=deleted,
        msg="sent through %s, read back over POP3 %s and IMAP %s in %ss"
            % (route["smtp"], route["pop3"], route["imap"], probe.timings["total"]))


if __name__ == "__main__":
    main()
