"""The mail_check role, run by ansible-playbook against fake MTAs, and the modules' documentation."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.mailops.window.plugins.modules import mail_roundtrip, webmail_xss_probe

from .conftest import PASSWORDS, REPO
from .sanitiser import sanitise

BIN = Path(sys.executable).parent
PLAYBOOK = """
- name: Mail checks
  hosts: cpms_mta
  gather_facts: false
  roles:
    - role: mailops.window.mail_check
      vars:
        mail_check_user: u1
        mail_check_password: "{{ lookup('ansible.builtin.env', 'MAIL_CHECK_TEST_PASSWORD') }}"
        mail_check_domain: lab.example
        mail_check_timeout: 10
        mail_check_poll_interval: 0.05
"""
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def ansible_env():
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "MAIL_CHECK_TEST_PASSWORD": PASSWORDS["u1"],
    })
    return env


def run_role(tmp_path, mtas_by_name, *extra):
    inventory = {"all": {"children": {"cpms_mta": {"hosts": {
        name: {
            # Port 1 on the loopback: any SSH connection to an MTA would fail the run.
            "ansible_host": "127.0.0.1", "ansible_port": 1,
            "mail_smtp_port": mta.smtp.port, "mail_pop3_port": mta.pop3.port,
            "mail_imap_port": mta.imap.port, "mail_webmail_port": mta.webmail.port,
        } for name, mta in mtas_by_name.items()}}}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory), encoding="utf-8")
    (tmp_path / "play.yml").write_text(PLAYBOOK, encoding="utf-8")
    command = [str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.json"), str(tmp_path / "play.yml")]
    done = subprocess.run(command + list(extra), cwd=REPO, env=ansible_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    recap = {m.group(1): tuple(int(x) for x in m.group(2, 3, 4, 5)) for m in RECAP.finditer(done.stdout)}
    return done, recap


needs_ansible = pytest.mark.skipif(not (BIN / "ansible-playbook").exists(), reason="ansible-playbook not installed")


@needs_ansible
def test_role_passes_on_a_healthy_patched_cluster(store, mtas, tmp_path):
    cluster = {"mta1": mtas("mta1", store, renderer=sanitise), "mta2": mtas("mta2", store, renderer=sanitise)}
    done, recap = run_role(tmp_path, cluster)
    assert done.returncode == 0, done.stdout + done.stderr
    # ok, changed, unreachable, failed: nothing changed, nothing connected to the MTAs over SSH.
    assert recap["mta1"][1:] == (0, 0, 0) and recap["mta2"][1:] == (0, 0, 0)
    assert "mta1 -> mta2: sent through 127.0.0.1:%d, read back over POP3 127.0.0.1:%d" % (
        cluster["mta1"].smtp.port, cluster["mta2"].pop3.port) in done.stdout
    assert "mta2 -> mta1: sent through 127.0.0.1:%d" % cluster["mta2"].smtp.port in done.stdout
    assert "none of 55 payload(s) would run script on http://127.0.0.1:%d" % cluster["mta1"].webmail.port \
        in done.stdout
    # Round robin: each MTA took one round-trip message; every MTA's own webmail is probed too.
    assert "none of 55 payload(s) would run script on http://127.0.0.1:%d" % cluster["mta2"].webmail.port in done.stdout
    assert cluster["mta2"].smtp.connections == 2 and cluster["mta1"].smtp.connections == 2
    assert cluster["mta1"].pop3.connections >= 1 and cluster["mta2"].pop3.connections >= 1
    assert cluster["mta1"].webmail.connections == cluster["mta2"].webmail.connections > 0
    assert store.all("u1") == []
    assert PASSWORDS["u1"] not in done.stdout + done.stderr


@needs_ansible
def test_role_reports_every_broken_check_then_fails(store, mtas, tmp_path):
    cluster = {"mta1": mtas("mta1", store), "mta2": mtas("mta2", store)}
    cluster["mta2"].pop3.stop()
    done, recap = run_role(tmp_path, cluster)
    assert done.returncode == 2
    assert recap["mta1"][3] == 1
    failure = re.search(r"Mail checks failed: (.*)", done.stdout).group(1)
    # The broken hop, with its MTA pair and endpoint; the healthy pair is not listed.
    assert "mta1 -> mta2: pop3 connect failed on 127.0.0.1:%d" % cluster["mta2"].pop3.port in failure
    assert "mta2 -> mta1" not in failure
    # The webmail check still ran, and the unpatched webmail fails it.
    assert "webmail of mta1: cross-site scripting check failed (expected closed): 55 of 55" in failure
    assert PASSWORDS["u1"] not in done.stdout + done.stderr


@needs_ansible
def test_role_in_check_mode_sends_nothing(store, mtas, tmp_path):
    cluster = {"mta1": mtas("mta1", store), "mta2": mtas("mta2", store)}
    done, recap = run_role(tmp_path, cluster, "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert recap["mta1"][1:] == (0, 0, 0)
    assert "check mode: would deliver 55 payload(s)" in done.stdout
    for mta in cluster.values():
        assert (mta.smtp.connections, mta.pop3.connections, mta.imap.connections, mta.webmail.connections) == \
            (0, 0, 0, 0)


@needs_ansible
@pytest.mark.parametrize("module", [mail_roundtrip, webmail_xss_probe], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_ansible_doc_renders_and_matches_the_argument_spec(module):
    name = "mailops.window." + module.__name__.rsplit(".", 1)[-1]
    text = subprocess.run([str(BIN / "ansible-doc"), name], cwd=REPO, env=ansible_env(), capture_output=True,
                          text=True, timeout=120, check=False)
    assert text.returncode == 0, text.stderr
    assert name in text.stdout and "check_mode" in text.stdout
    as_json = subprocess.run([str(BIN / "ansible-doc"), "--json", name], cwd=REPO, env=ansible_env(),
                             capture_output=True, text=True, timeout=120, check=False)
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)[name]["doc"]
    spec = module.argument_spec()
    assert set(doc["options"]) == set(spec)
    for option, rule in spec.items():
        documented = doc["options"][option]
        assert documented["type"] == rule["type"], option
        assert documented.get("default") == rule.get("default"), option
        assert bool(documented.get("required")) == bool(rule.get("required")), option
        assert documented.get("choices") == rule.get("choices"), option
