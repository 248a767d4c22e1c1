#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
---
module: webmail_xss_probe
short_description: Prove whether a webmail renders cross-site scripting payloads so that they would run
version_added: 0.1.0
description:
  - Delivers one HTML message per payload over SMTP to O(recipient), plus one harmless control
    message, waits until the webmail at O(webmail_url) lists them (C(GET /inbox), HTTP Basic
    authentication as O(user)), fetches each one (C(GET /message/UID)) and decides whether the page
    the webmail rendered would run script.
  - The decision is an analysis of the rendered HTML (Python's C(html.parser), adjusted to the HTML5
    tokeniser where it matters), looking for script elements, C(on*) event handler attributes,
    C(javascript:)/C(vbscript:) URLs and script-capable C(data:) URLs in URL attributes (after entity
    decoding and removal of whitespace and control characters), C(iframe srcdoc) documents that run
    script, C(meta refresh) to such URLs, SVG animation of links to such URLs, and CSS
    C(expression()), C(url(javascript:...)), C(behavior) and C(-moz-binding).
  - Each payload is framed by unique text markers and only findings between them count, so the
    webmail's own page scripts do not. When a renderer drops the markers, the whole page is compared
    with the control message's page instead.
  - With O(expect=closed) the module fails when any payload would run, or when the result is
    inconclusive (a payload or the control message was not shown); with O(expect=open) it fails when
    none would run; with O(expect=report) it only reports. A broken hop fails in every mode, naming
    it and its C(host:port) in RV(failed_hop) and RV(endpoint), one of C(smtp connect), C(smtp starttls),
    C(smtp auth), C(smtp send) (a refused session; a single refused message only marks that payload
    undelivered), C(webmail connect), C(webmail auth) (HTTP 401 or 403), C(webmail inbox) (any other
    error status of C(/inbox)).
  - The probe messages are deleted afterwards over IMAP unless O(delete_after=false).
  - The module talks to the servers over the network from where it runs; delegate it to the controller.
author:
  - mailops maintainers (!UNKNOWN)
options:
  smtp_host:
    description: Address of the MTA that delivers the probe messages.
    type: str
    required: true
  smtp_port:
    description: SMTP port of O(smtp_host).
    type: int
    default: 25
  imap_host:
    description:
      - Address of the IMAP server used to delete the probe messages afterwards.
      - Defaults to O(smtp_host).
    type: str
  imap_port:
    description: IMAP port of O(imap_host).
    type: int
    default: 143
  webmail_url:
    description: Base URL of the webmail, for example V(http://mta1.example.org:8080).
    type: str
    required: true
  user:
    description: Mailbox user name for the webmail and IMAP (and SMTP when O(smtp_auth=true)).
    type: str
    required: true
  password:
    description: Password of O(user).
    type: str
    required: true
  recipient:
    description: Address the probe messages are sent to; its mailbox must be the one O(user) reads.
    type: str
    required: true
  sender:
    description:
      - Envelope and header sender of the probe messages.
      - Defaults to C(mail-check@) followed by the domain of O(recipient).
    type: str
  payloads:
    description:
      - The payloads to deliver. Mutually exclusive with O(payloads_file); one of them is required.
      - The role M(mailops.window.mail_check) passes the corpus it ships in C(files/xss_payloads.yml).
    type: list
    elements: dict
    suboptions:
      id:
        description: Unique name of the payload (letters, digits, C(.), C(_), C(-)).
        type: str
        required: true
      vector:
        description: The class of attack, for example V(event-handler) or V(javascript-url).
        type: str
        default: unspecified
      html:
        description: The HTML sent as the message's C(text/html) body.
        type: str
        required: true
      description:
        description: Free text, not used by the module.
        type: str
  payloads_file:
    description:
      - Path, where the module runs, of a YAML file holding a list of payloads, or a mapping whose
        C(payloads) key holds it. Needs PyYAML.
    type: path
  expect:
    description:
      - V(closed) fails when any payload would run script, or when the result is inconclusive.
      - V(open) fails when no payload would run script (to prove the probe detects the hole).
      - V(report) never fails on the verdict.
    type: str
    choices: [closed, open, report]
    default: closed
  timeout:
    description: Seconds to wait, in all, for the webmail to list the delivered messages.
    type: float
    default: 60
  poll_interval:
    description:
      - The longest wait, in seconds, between two looks at the inbox while waiting.
      - The first wait is a quarter of a second (or this, when shorter); each wait then doubles up to this.
    type: float
    default: 2
  connect_timeout:
    description: Seconds allowed for each network operation.
    type: float
    default: 10
  delete_after:
    description: Delete the probe messages over IMAP afterwards.
    type: bool
    default: true
  starttls:
    description: Require STARTTLS for SMTP and IMAP.
    type: bool
    default: false
  smtp_auth:
    description: Authenticate to the SMTP server as O(user) before sending.
    type: bool
    default: false
  validate_certs:
    description: Verify certificates (STARTTLS, and the webmail when O(webmail_url) is C(https)).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of the certificate authorities to trust for an C(https) O(webmail_url), for a site CA;
        the system's store otherwise.
    type: path
    version_added: 0.2.0
  use_proxy:
    description:
      - Reach the webmail through the proxy the environment names (C(https_proxy), C(http_proxy),
        C(no_proxy)); false connects directly.
    type: bool
    default: true
    version_added: 0.2.0
attributes:
  check_mode:
    support: full
    description: In check mode nothing is sent or fetched; the module reports what it would test.
  diff_mode:
    support: none
    description: No diff.
  platform:
    platforms: posix
    support: full
    description: Runs wherever it is executed, normally the controller.
requirements:
  - PyYAML, only for O(payloads_file).
seealso:
  - module: mailops.window.mail_roundtrip
"""

EXAMPLES = r"""
- name: The hole must be closed after the patch
  mailops.window.webmail_xss_probe:
    smtp_host: mta1.example.org
    imap_host: mta1.example.org
    webmail_url: http://mta1.example.org:8080
    user: probe1
    password: "{{ probe_password }}"
    recipient: probe1@example.org
    payloads: "{{ lookup('ansible.builtin.file', 'xss_payloads.yml') | ansible.builtin.from_yaml }}"
    expect: closed
  delegate_to: localhost
  no_log: true
  register: xss

- name: Show which payloads would run, never fail on the verdict
  mailops.window.webmail_xss_probe:
    smtp_host: 127.0.0.1
    smtp_port: 2531
    imap_port: 2731
    webmail_url: http://127.0.0.1:2831
    user: u1
    password: "{{ lab_password }}"
    recipient: u1@lab.example
    payloads:
      - id: img-onerror
        vector: event-handler
        html: <img src=x onerror=alert(1)>
    expect: report
  delegate_to: localhost
"""

RETURN = r"""
token:
  description: The token all probe messages of this run carried (header C(X-Mail-Check-Token) and subject).
  returned: always
  type: str
vulnerable:
  description: Whether at least one payload would run script.
  returned: success, and failure on the verdict
  type: bool
executable:
  description: The ids of the payloads that would run script.
  returned: success, and failure on the verdict
  type: list
  elements: str
inconclusive:
  description: Why the verdict cannot be trusted (messages not shown, control not shown); empty when it can.
  returned: success, and failure on the verdict
  type: list
  elements: str
results:
  description: One entry per payload, in the order given.
  returned: success, and failure on the verdict
  type: list
  elements: dict
  contains:
    id:
      description: The payload's id.
      type: str
    vector:
      description: The payload's vector class.
      type: str
    delivered:
      description: Whether the SMTP server accepted the message.
      type: bool
    rendered:
      description: Whether the webmail listed and rendered it.
      type: bool
    executable:
      description: Whether the rendered page would run script because of it.
      type: bool
    evidence:
      description: What was found (or why nothing could be judged).
      type: list
      elements: str
    uid:
      description: The webmail's id of the message, when listed.
      type: str
  sample:
    - id: img-onerror
      vector: event-handler
      delivered: true
      rendered: true
      executable: true
      evidence: ["event-handler <img onerror>: alert(1)"]
      uid: "17"
summary:
  description: Counts of payloads total, delivered, rendered and executable.
  returned: success, and failure on the verdict
  type: dict
  sample: {"total": 40, "delivered": 40, "rendered": 40, "executable": 0}
control:
  description: The harmless control message, rendered or not, and whether its markers were shown.
  returned: success, and failure on the verdict
  type: dict
deleted:
  description: Whether the probe messages were removed again.
  returned: success, and failure on the verdict
  type: bool
timings:
  description: Seconds for sending, waiting for the inbox listing, fetching, deleting, and in total.
  returned: always
  type: dict
failed_hop:
  description: The hop that broke (V(smtp connect), V(webmail auth), ...); absent on a verdict failure.
  returned: failure on a hop
  type: str
endpoint:
  description: The C(host:port) of the failed hop.
  returned: failure on a hop
  type: str
"""

import re
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mailops.window.plugins.module_utils._mail_probe import (
    TOKEN_HEADER,
    ImapMailbox,
    ProbeError,
    build_message,
    endpoint,
    http_get,
    new_token,
    parse_inbox,
    poll,
    smtp_send,
    tls_context,
)
from ansible_collections.mailops.window.plugins.module_utils._xss_analysis import (
    analyse,
    analyse_between,
)

try:
    import yaml
except ImportError:
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None

PAYLOAD_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
CONTROL_HTML = ('<p>This is the control message of the webmail check.</p>\n'
                '<p><b>Bold text</b>, <a href="https://www.example.org/">a link</a> and '
                '<img src="https://www.example.org/logo.png" alt="an image">.</p>')


def argument_spec():
    return dict(
        smtp_host=dict(type="str", required=True),
        smtp_port=dict(type="int", default=25),
        imap_host=dict(type="str"),
        imap_port=dict(type="int", default=143),
        webmail_url=dict(type="str", required=True),
        user=dict(type="str", required=True),
        password=dict(type="str", required=True, no_log=True),
        recipient=dict(type="str", required=True),
        sender=dict(type="str"),
        payloads=dict(type="list", elements="dict", options=dict(
            id=dict(type="str", required=True),
            vector=dict(type="str", default="unspecified"),
            html=dict(type="str", required=True),
            description=dict(type="str"),
        )),
        payloads_file=dict(type="path"),
        expect=dict(type="str", choices=["closed", "open", "report"], default="closed"),
        timeout=dict(type="float", default=60),
        poll_interval=dict(type="float", default=2),
        connect_timeout=dict(type="float", default=10),
        delete_after=dict(type="bool", default=True),
        starttls=dict(type="bool", default=False),
        smtp_auth=dict(type="bool", default=False),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        use_proxy=dict(type="bool", default=True),
    )


def load_payloads(module):
    """The payload list from the options, validated: [{id, vector, html}]."""
    params = module.params
    if params["payloads"] is not None:
        raw = params["payloads"]
    else:
        if not HAS_YAML:
            module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
        try:
            with open(params["payloads_file"], "rb") as handle:
                raw = yaml.safe_load(handle)
        except (OSError, yaml.YAMLError) as exc:
            module.fail_json(msg="cannot read payloads_file %s: %s" % (params["payloads_file"], exc))
        if isinstance(raw, dict):
            raw = raw.get("payloads")
        if not isinstance(raw, list):
            module.fail_json(msg="payloads_file %s holds no list of payloads" % params["payloads_file"])
    payloads, seen = [], set()
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("html"), str):
            module.fail_json(msg="payload #%d needs an id and an html string" % (index + 1))
        if not PAYLOAD_ID.match(item["id"]):
            module.fail_json(msg="payload id %r may only hold letters, digits, '.', '_' and '-'" % item["id"])
        if item["id"] in seen:
            module.fail_json(msg="payload id %s is used twice" % item["id"])
        seen.add(item["id"])
        payloads.append({"id": item["id"], "vector": str(item.get("vector") or "unspecified"), "html": item["html"]})
    if not payloads:
        module.fail_json(msg="no payloads to probe with")
    return payloads


class XssProbe:
    """Deliver, wait for the listing, fetch, judge, clean up."""

    def __init__(self, params, payloads, token):
        self.p = params
        self.token = token
        self.tls = tls_context(params["validate_certs"]) if params["starttls"] else None
        self.base = params["webmail_url"].rstrip("/") + "/"
        # Entry 0 is the control message; entries 1.. are the payloads.
        self.entries = [{"id": "control", "vector": "control", "html": CONTROL_HTML}] + payloads
        for number, entry in enumerate(self.entries):
            entry["number"] = number
            entry["begin"] = "XSSPROBE-BEGIN-%s-%d" % (token, number)
            entry["end"] = "XSSPROBE-END-%s-%d" % (token, number)
            entry["subject"] = "mail_check xss %s p%d %s" % (token, number, entry["id"])
            entry["delivered"] = False
            entry["rendered"] = False
            entry["executable"] = False
            entry["evidence"] = []
            entry["uid"] = None
        self.timings = {}
        self.subject_pattern = re.compile(re.escape(token) + r" p(\d+)\b")

    def deliver(self):
        p = self.p
        messages = []
        for entry in self.entries:
            body = "<p>%s</p>\n%s\n<p>%s</p>\n" % (entry["begin"], entry["html"], entry["end"])
            messages.append(build_message(p["sender"], p["recipient"], entry["subject"], body, self.token,
                                          subtype="html", extra_headers={"X-Mail-Check-Payload": entry["id"]}))
        auth = (p["user"], p["password"]) if p["smtp_auth"] else None
        result = smtp_send(p["smtp_host"], p["smtp_port"], p["sender"], p["recipient"], messages,
                           p["connect_timeout"], tls=self.tls, auth=auth, tolerate_rejects=True)
        for number, entry in enumerate(self.entries):
            if number in result["rejected"]:
                entry["evidence"].append("refused by the SMTP server: %s" % result["rejected"][number])
            else:
                entry["delivered"] = True

    def get(self, path_or_url, hop):
        url = path_or_url if "://" in path_or_url else self.base + path_or_url.lstrip("/")
        status, text = http_get(url, self.p["user"], self.p["password"], self.p["connect_timeout"],
                                validate_certs=self.p["validate_certs"], ca_path=self.p["ca_path"],
                                use_proxy=self.p["use_proxy"])
        if status in (401, 403):
            raise ProbeError("webmail auth", _where(url), "HTTP %d for %s" % (status, _path(url)))
        if status != 200 and hop == "webmail inbox":
            raise ProbeError(hop, _where(url), "HTTP %d for %s" % (status, _path(url)))
        return status, text, url

    def wait_for_listing(self):
        wanted = {e["number"] for e in self.entries if e["delivered"]}
        listed = {}

        def look():
            dummy_status, page, url = self.get("inbox", "webmail inbox")
            for uid, subject, message_url in parse_inbox(page, url):
                match = self.subject_pattern.search(subject)
                if match and int(match.group(1)) in wanted:
                    listed[int(match.group(1))] = (uid, message_url)
            return wanted.issubset(listed)

        dummy_result, looks = poll(look, self.p["timeout"], self.p["poll_interval"])
        self.timings["inbox_looks"] = looks
        for entry in self.entries:
            if entry["number"] in listed:
                entry["uid"], entry["url"] = listed[entry["number"]]
            elif entry["delivered"]:
                entry["evidence"].append("not listed in /inbox within %ss" % self.p["timeout"])

    def fetch_and_judge(self):
        pages = {}
        for entry in self.entries:
            if entry["uid"] is None:
                continue
            status, page, dummy_url = self.get(entry["url"], "webmail message")
            if status != 200:
                entry["evidence"].append("GET /message/%s answered HTTP %d" % (entry["uid"], status))
                continue
            entry["rendered"] = True
            pages[entry["number"]] = page
        control = self.entries[0]
        baseline = set()
        if control["rendered"]:
            page = pages[0]
            baseline = {f.signature() for f in analyse(page)}
            inside, window = analyse_between(page, control["begin"], control["end"])
            control["window"] = window
            control["evidence"] = [f.describe() for f in inside] if window else \
                ["the control message's text is not shown on its page"]
            control["executable"] = bool(inside) if window else False
        for entry in self.entries[1:]:
            if not entry["rendered"]:
                continue
            findings, window = analyse_between(pages[entry["number"]], entry["begin"], entry["end"])
            if not window:
                findings = [f for f in findings if f.signature() not in baseline]
                entry["evidence"].append("markers not shown; whole page compared with the control page")
            entry["executable"] = bool(findings)
            entry["evidence"].extend(f.describe() for f in findings)
            if not findings:
                entry["evidence"].append("nothing on the rendered page would run script")

    def delete(self):
        p = self.p
        try:
            with ImapMailbox(p["imap_host"], p["imap_port"], p["user"], p["password"], p["connect_timeout"],
                             self.tls, writable=True) as box:
                uids = box.search_header(TOKEN_HEADER, self.token)
                box.delete(uids)
        except ProbeError as exc:
            return "probe messages (token %s) were not deleted: %s" % (self.token, exc)
        return None

    def verdict(self):
        control = self.entries[0]
        payloads = self.entries[1:]
        executable = [e["id"] for e in payloads if e["executable"]]
        inconclusive = []
        if not control["rendered"]:
            inconclusive.append("the control message was not shown: %s" % "; ".join(control["evidence"] or ["no reason"]))
        elif not control.get("window"):
            inconclusive.append("the webmail does not show the control message's text")
        elif control["executable"]:
            inconclusive.append("the harmless control message was judged executable: %s" % "; ".join(control["evidence"]))
        unseen = [e["id"] for e in payloads if not e["rendered"]]
        if unseen:
            inconclusive.append("%d payload(s) not rendered: %s" % (len(unseen), ", ".join(unseen)))
        results = [{
            "id": e["id"], "vector": e["vector"], "delivered": e["delivered"], "rendered": e["rendered"],
            "executable": e["executable"], "evidence": e["evidence"], "uid": e["uid"],
        } for e in payloads]
        summary = {
            "total": len(payloads),
            "delivered": sum(1 for e in payloads if e["delivered"]),
            "rendered": sum(1 for e in payloads if e["rendered"]),
            "executable": len(executable),
        }
        control_report = {"rendered": control["rendered"], "markers_shown": bool(control.get("window")),
                          "evidence": control["evidence"]}
        return executable, inconclusive, results, summary, control_report


def _where(url):
    match = re.match(r"^[a-z]+://([^/?#]+)", url, re.I)
    return match.group(1) if match else url


def _path(url):
    match = re.match(r"^[a-z]+://[^/?#]+(.*)$", url, re.I)
    return (match.group(1) if match else url) or "/"


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("payloads", "payloads_file")],
        required_one_of=[("payloads", "payloads_file")],
        supports_check_mode=True,
    )
    p = dict(module.params)
    p["imap_host"] = p["imap_host"] or p["smtp_host"]
    if not p["sender"]:
        p["sender"] = "mail-check@%s" % (p["recipient"].rpartition("@")[2] or "localhost")
    if not re.match(r"^https?://[^/?#]+", p["webmail_url"], re.I):
        module.fail_json(msg="webmail_url must be an http:// or https:// URL, got %s" % p["webmail_url"])
    for name in ("timeout", "poll_interval", "connect_timeout"):
        if p[name] < 0 or (name != "timeout" and p[name] == 0):
            module.fail_json(msg="%s must be positive, got %s" % (name, p[name]))
    payloads = load_payloads(module)
    token = new_token("xss")
    route = {"smtp": endpoint(p["smtp_host"], p["smtp_port"]), "imap": endpoint(p["imap_host"], p["imap_port"]),
             "webmail": p["webmail_url"]}
    if module.check_mode:
        module.exit_json(
            changed=False, token=token, route=route, timings={}, vulnerable=False, executable=[], inconclusive=[],
            results=[{"id": x["id"], "vector": x["vector"], "delivered": False, "rendered": False, "executable": False,
                      "evidence": ["check mode: not sent"], "uid": None} for x in payloads],
            summary={"total": len(payloads), "delivered": 0, "rendered": 0, "executable": 0},
            control={}, deleted=False, expect=p["expect"],
            msg="check mode: would deliver %d payload(s) through %s and judge them on %s (expect %s)"
                % (len(payloads), route["smtp"], p["webmail_url"], p["expect"]))

    probe = XssProbe(p, payloads, token)
    started = time.monotonic()
    failure, warning = None, None
    try:
        probe.deliver()
        probe.timings["send"] = round(time.monotonic() - started, 3)
        mark = time.monotonic()
        probe.wait_for_listing()
        probe.timings["listing"] = round(time.monotonic() - mark, 3)
        mark = time.monotonic()
        probe.fetch_and_judge()
        probe.timings["fetch"] = round(time.monotonic() - mark, 3)
    except ProbeError as exc:
        failure = exc
    if p["delete_after"] and any(e["delivered"] for e in probe.entries):
        mark = time.monotonic()
        warning = probe.delete()
        probe.timings["delete"] = round(time.monotonic() - mark, 3)
    probe.timings["total"] = round(time.monotonic() - started, 3)
    if warning:
        module.warn(warning)
    if failure is not None:
        module.fail_json(msg=str(failure), failed_hop=failure.hop, endpoint=failure.endpoint, token=token,
                         route=route, timings=probe.timings)

    executable, inconclusive, results, summary, control = probe.verdict()
    deleted = bool(p["delete_after"]) and warning is None
    report = dict(changed=not deleted, token=token, route=route, timings=probe.timings, vulnerable=bool(executable),
                  executable=executable, inconclusive=inconclusive, results=results, summary=summary,
                  control=control, deleted=deleted, expect=p["expect"])
    verdict = ("%d of %d payload(s) would run script on %s: %s"
               % (len(executable), summary["total"], p["webmail_url"], ", ".join(executable))
               if executable else
               "none of %d payload(s) would run script on %s (%d rendered)"
               % (summary["total"], p["webmail_url"], summary["rendered"]))
    if p["expect"] == "closed" and (executable or inconclusive):
        reasons = ([verdict] if executable else []) + inconclusive
        module.fail_json(msg="cross-site scripting check failed (expected closed): " + "; ".join(reasons), **report)
    if p["expect"] == "open" and not executable:
        module.fail_json(msg="expected the hole to be open but " + verdict + (
            "; " + "; ".join(inconclusive) if inconclusive else ""), **report)
    module.exit_json(msg=verdict + ("; inconclusive: " + "; ".join(inconclusive) if inconclusive else ""), **report)


if __name__ == "__main__":
    main()
