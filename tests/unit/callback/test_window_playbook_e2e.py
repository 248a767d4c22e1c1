"""End to end: ansible-playbook with the callback enabled from an ansible.cfg, on a small window whose
plan is a plan file loaded with vars_files and declared with window_plan: phases marked by blocks, one in
the background, a failed and rescued phase with its rollback block, a skipped block, an explicit skip,
objectives, retries, a failed and an unreachable host, and a secret in another task's arguments and
result. Then the plan's check of the playbook's phase markers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.mailops.window.plugins.plugin_utils._render import _cell
from window_helpers import COLLECTIONS_DIR, SECRET, ansible_bin, clean_env, plan_file_text

SHA = "0123456789abcdef" * 4
SCALE = 0.00001

PLAN = {
    "id": "rehearsal",
    "title": "Window rehearsal on {{ inventory_hostname }}",
    "window_minutes": 120,
    "contingency_minutes": 150,
    "downtime": {"from": "stop_mail", "to": "test_mail"},
    "lanes": [{"id": "mail", "team": "TEC DDT", "title": "mail servers"},
              {"id": "storage", "team": "EMC", "title": "Celerra"}],
    "objectives": [
        {"id": "celerra_upgraded", "title": "Upgrade the Celerra microcode"},
        {"id": "cpms_patched", "title": "Patch CPMS"},
        {"id": "mail_tested", "title": "Mail sent and received"},
    ],
    "phases": [
        {"id": "preflight", "lane": "all", "before_downtime": True, "title": "Preflight"},
        {"id": "stop_mail", "lane": "mail", "budget_minutes": 10, "after": ["preflight"], "title": "Stop mail"},
        {"id": "upgrade_control_station", "lane": "storage", "budget_minutes": 25, "after": ["stop_mail"],
         "title": "Upgrade the Control Station"},
        {"id": "rollback_control_station", "lane": "storage", "budget_minutes": 30,
         "rollback_of": "upgrade_control_station", "title": "Roll the Control Station back"},
        {"id": "patch_cpms", "lane": "mail", "budget_minutes": 25, "after": ["stop_mail"], "title": "Patch CPMS"},
        {"id": "redistribute_shares", "lane": "storage", "budget_minutes": 5, "after": ["upgrade_control_station"],
         "title": "Redistribute the shares"},
        {"id": "start_mail", "lane": "mail", "budget_minutes": 5, "after": ["redistribute_shares", "patch_cpms"],
         "title": "Start mail"},
        {"id": "test_mail", "lane": "mail", "budget_minutes": 5, "after": ["start_mail"], "title": "Test mail"},
    ],
}

PLAYBOOK = textwrap.dedent("""\
    - name: Window rehearsal
      hosts: controller
      gather_facts: false
      vars_files:
        - plans/rehearsal.yml
      vars:
        lab_admin_password: "%(secret)s"
      tasks:
        - name: Declare the plan
          mailops.window.window_plan:
            time_scale: %(scale)s

        - name: Preflight
          vars:
            window_phase: preflight
          block:
            - name: Check the versions
              ansible.builtin.command: "true"
              changed_when: false

        - name: Mail stops
          vars:
            window_phase: stop_mail
          block:
            - name: Use the admin password
              ansible.builtin.command:
                argv: [printf, "%%s", "{{ lab_admin_password }}"]
              changed_when: false
            - name: Wait for the third try
              ansible.builtin.command: "true"
              register: probe
              until: probe.attempts >= 3
              retries: 3
              delay: 0
              changed_when: false

        - name: The Control Station upgrade starts, in the background
          vars:
            window_phase: upgrade_control_station
            window_phase_background: true
          block:
            - name: Start the upgrade
              ansible.builtin.command: "true"
              changed_when: false

        - name: CPMS is patched meanwhile
          vars:
            window_phase: patch_cpms
          block:
            - name: Apply the patch
              ansible.builtin.command: "true"
              changed_when: false

        - name: The Control Station upgrade is joined
          vars:
            window_phase: upgrade_control_station
          block:
            - name: Upgrade the Control Station
              ansible.builtin.command: "false"
          rescue:
            - name: Say why the upgrade failed
              mailops.window.window_phase:
                state: failed
                detail: "Error 5005: software inconsistent"
            - name: Roll back
              vars:
                window_phase: rollback_control_station
              block:
                - name: Roll the Control Station back
                  ansible.builtin.command: "true"
                  changed_when: false

        - name: Upgrade rolled back
          mailops.window.window_phase: {phase: upgrade_control_station, state: rolled_back}

        - name: Celerra objective
          mailops.window.window_objective:
            objective: celerra_upgraded
            status: rolled_back
            detail: Control Station back on 4.2.16-5
            backups:
              - {host: celerra-cs, path: /nas/backup/cs-state.tar, sha256: "%(sha)s", version: 4.2.16-5}

        - name: Nothing to redistribute
          vars:
            window_phase: redistribute_shares
          block:
            - name: Redistribute the shares
              ansible.builtin.command: "true"
              when: false

        - name: Mail start
          vars:
            window_phase: start_mail
          block:
            - name: Say why mail is not started
              mailops.window.window_phase:
                state: skipped
                detail: not in this rehearsal

        - name: Mail test
          vars:
            window_phase: test_mail
          block:
            - name: Send a message
              ansible.builtin.command: "true"
              changed_when: false
            - name: Mail objective
              mailops.window.window_objective: {objective: mail_tested, status: met, detail: "SMTP and IMAP answered"}

    - name: Hosts that fail
      hosts: broken
      gather_facts: false
      vars:
        lab_admin_password: "%(secret)s"
      tasks:
        - name: Reach the host
          ansible.builtin.ping:
        - name: Fail with the password in the message
          ansible.builtin.fail:
            msg: "refusing {{ lab_admin_password }}"
    """) % {"secret": SECRET, "sha": SHA, "scale": SCALE}

PROGRESS_RE = re.compile(r"^stop_mail: \d+ of 10 min \(\d+%\), window \d+/120 min, "
                         r"contingency (left|exceeded by) \d+ min$")


def write_config(root):
    (root / "ansible.cfg").write_text(textwrap.dedent("""\
        [defaults]
        collections_path = %s
        callbacks_enabled = mailops.window.window_report
        inventory = inventory.ini
        host_key_checking = False
        retry_files_enabled = False
        [window_report]
        report_dir = reports
        progress_interval = 0
        """ % COLLECTIONS_DIR))
    (root / "plans").mkdir()
    (root / "plans" / "rehearsal.yml").write_text(plan_file_text(PLAN))


def run_playbook(root, name, cwd=None):
    return subprocess.run(
        [ansible_bin("ansible-playbook"), str(root / name)],
        cwd=str(cwd or root), env=clean_env(ANSIBLE_CONFIG=str(root / "ansible.cfg")),
        capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def window_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("window-e2e")
    ssh = shutil.which("ssh")
    (root / "inventory.ini").write_text(textwrap.dedent("""\
        [controller]
        localhost ansible_connection=local ansible_python_interpreter=%(py)s
        [broken]
        doomed ansible_connection=local ansible_python_interpreter=%(py)s
        """ % {"py": sys.executable}) + (
        "ghost ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1 ansible_user=nobody "
        "ansible_ssh_common_args='-o BatchMode=yes -o ConnectTimeout=5'\n" if ssh else ""))
    write_config(root)
    (root / "window.yml").write_text(PLAYBOOK)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    proc = run_playbook(root, "window.yml", cwd=elsewhere)
    return {"root": root, "proc": proc, "ssh": bool(ssh)}


def report_of(window_run):
    return json.loads((window_run["root"] / "reports" / "latest.json").read_text())


def test_run_ends_as_ansible_says_and_prints_the_report_paths(window_run):
    proc = window_run["proc"]
    assert proc.returncode == (4 if window_run["ssh"] else 2), proc.stdout + proc.stderr
    reports = window_run["root"] / "reports"  # relative to ansible.cfg, not to the working directory
    names = sorted(p.name for p in reports.iterdir())
    assert len(names) == 6 and names[:3] == ["latest.html", "latest.json", "latest.md"]
    assert re.match(r"^window-\d{8}T\d{6}Z\.html$", names[3])
    stem = names[3][:-len(".html")]
    assert names[4:] == [stem + ".json", stem + ".md"]
    lines = proc.stdout.splitlines()
    for suffix in (".json", ".md", ".html"):
        assert "window report: %s" % (reports / (stem + suffix)) in lines
        assert (reports / (stem + suffix)).read_text() == (reports / ("latest" + suffix)).read_text()
    assert not (window_run["root"] / "elsewhere" / "reports").exists()
    assert "internal error" not in proc.stdout + proc.stderr
    assert "window_report:" not in proc.stdout + proc.stderr  # no event ignored, no block of an unknown phase


def test_the_plan_is_printed_when_declared(window_run):
    lines = window_run["proc"].stdout.splitlines()
    assert ("window plan rehearsal: Window rehearsal on localhost; window 120 min, contingency 150 min; "
            "time scale 1e-05") in lines
    assert "  stop_mail [mail, 10 min after preflight]: Stop mail" in lines
    assert ("  critical path: stop_mail -> upgrade_control_station -> redistribute_shares -> start_mail -> test_mail "
            "= 50 min (80 min with every rollback)") in lines


def test_progress_lines_follow_the_retries(window_run):
    lines = window_run["proc"].stdout.splitlines()
    assert any(line.startswith("window phase stop_mail started (budget 10 min): Stop mail: window 0/120 min")
               for line in lines)
    retries = [i for i, line in enumerate(lines) if line.startswith("FAILED - RETRYING: [localhost]: Wait for the third try")]
    assert len(retries) == 2
    for index in retries:
        assert any(PROGRESS_RE.match(line) for line in lines[index + 1:index + 3]), lines[index:index + 3]
    assert any(line.startswith("window phase upgrade_control_station failed: ") for line in lines)
    assert any(line.startswith("window phase rollback_control_station started (budget 30 min): Roll the Control "
                               "Station back: ") for line in lines)
    assert "window objective celerra_upgraded: rolled_back (Control Station back on 4.2.16-5)" in lines


def test_json_report(window_run):
    report = report_of(window_run)
    phases = dict((p["name"], p) for p in report["phases"])
    assert dict((n, p["state"]) for n, p in phases.items()) == {
        "preflight": "finished", "stop_mail": "finished", "upgrade_control_station": "rolled_back",
        "rollback_control_station": "finished", "patch_cpms": "finished", "redistribute_shares": "not_run",
        "start_mail": "skipped", "test_mail": "finished",
    }
    assert report["plan"]["id"] == "rehearsal" and report["plan"]["title"] == "Window rehearsal on localhost"
    assert report["plan"]["lanes"] == [{"id": "mail", "team": "TEC DDT", "title": "mail servers"},
                                       {"id": "storage", "team": "EMC", "title": "Celerra"},
                                       {"id": "all", "team": "all", "title": "all"}]
    stop = phases["stop_mail"]
    assert (stop["title"], stop["lane"], stop["kind"]) == ("Stop mail", "mail", "window")
    assert stop["start_offset_minutes"] == 0 and stop["runs"] == 1 and stop["hosts"] == ["localhost"]
    # three commands at a time scale of 1e-5 last far more than 10 simulated minutes
    assert stop["overrun"] is True and stop["minutes"] > 10 and stop["real_seconds"] > 0
    assert stop["minutes"] == pytest.approx(stop["real_seconds"] / SCALE / 60, rel=0.01)
    assert (phases["preflight"]["kind"], phases["preflight"]["lane"]) == ("before_downtime", "all")
    assert phases["preflight"]["overrun"] is False and phases["preflight"]["start_offset_minutes"] < 0
    assert phases["rollback_control_station"]["kind"] == "contingency"
    cs, patch = phases["upgrade_control_station"], phases["patch_cpms"]
    assert cs["details"] == ["Error 5005: software inconsistent"]
    assert cs["failed_tasks"] == ["localhost: Upgrade the Control Station"]
    # the upgrade ran in the background while CPMS was patched: one run around the patch
    assert cs["runs"] == 1 and patch["runs"] == 1
    assert cs["started_at"] < patch["started_at"] and patch["finished_at"] <= cs["finished_at"]
    assert cs["finished_at"] <= phases["rollback_control_station"]["started_at"]
    assert phases["redistribute_shares"]["started_at"] is None and phases["redistribute_shares"]["runs"] == 0
    assert phases["start_mail"]["details"] == ["not in this rehearsal"]
    assert report["time_scale"] == SCALE and report["check_mode"] is False
    assert report["playbooks"] == ["window.yml"]
    assert report["window"]["started_at"] == stop["started_at"]
    assert report["window"]["ended_at"] == phases["test_mail"]["finished_at"]
    assert report["window"]["budget_minutes"] == 120 and report["window"]["contingency_minutes"] == 150
    assert report["critical_path"] == {
        "phases": ["stop_mail", "upgrade_control_station", "rollback_control_station", "redistribute_shares",
                   "start_mail", "test_mail"],
        "planned_minutes": 80, "planned_minutes_without_rollback": 50}
    assert report["mail_downtime"]["from"] == "stop_mail" and report["mail_downtime"]["to"] == "test_mail"
    assert report["mail_downtime"]["complete"] is True
    assert report["mail_downtime"]["started_at"] == stop["started_at"]
    assert report["mail_downtime"]["ended_at"] == phases["test_mail"]["finished_at"]
    assert report["mail_downtime"]["minutes"] >= stop["minutes"]
    assert [(o["name"], o["title"], o["status"]) for o in report["objectives"]] == [
        ("celerra_upgraded", "Upgrade the Celerra microcode", "rolled_back"),
        ("cpms_patched", "Patch CPMS", "not_done"),
        ("mail_tested", "Mail sent and received", "met")]
    assert report["backups"] == [{"host": "celerra-cs", "path": "/nas/backup/cs-state.tar", "sha256": SHA,
                                  "version": "4.2.16-5", "objective": "celerra_upgraded"}]
    hosts = dict((h["host"], h) for h in report["hosts"])
    assert hosts["localhost"]["failures"] == 0 and hosts["localhost"]["rescued"] == 1
    assert hosts["localhost"]["failed_tasks"] == ["Upgrade the Control Station"]
    assert hosts["doomed"]["failures"] == 1
    assert hosts["doomed"]["failed_tasks"] == ["Fail with the password in the message"]
    if window_run["ssh"]:
        assert hosts["ghost"]["unreachable"] == 1
        assert hosts["ghost"]["unreachable_tasks"] == ["Reach the host"]
    # the failures of the second play are outside every phase
    assert all(not p["failed_tasks"] for name, p in phases.items() if name != "upgrade_control_station")
    assert any(w.startswith("window phase stop_mail overran its budget: ") for w in report["warnings"])
    assert any(w.startswith("window: the remaining plan no longer fits in the window: ") for w in report["warnings"])


def test_markdown_report(window_run):
    text = (window_run["root"] / "reports" / "latest.md").read_text()
    lines = text.splitlines()
    phases = dict((p["name"], p) for p in report_of(window_run)["phases"])
    assert lines[0] == "# Maintenance window report: Window rehearsal on localhost"
    assert any(re.match(r"^\| stop_mail \| Stop mail \| mail \| 10 \| [\d.]+ \| [\d.]+ \| finished \| [\d.]+ \| - \|$",
                        line) for line in lines)
    cs = phases["upgrade_control_station"]
    cs_overrun = _cell(cs["overrun_minutes"]) if cs["overrun"] else "-"
    assert any(line.startswith("| upgrade_control_station | Upgrade the Control Station | storage | 25 | ") and
               line.endswith(" | rolled back | %s | Error 5005: software inconsistent |" % cs_overrun)
               for line in lines)
    assert "| redistribute_shares | Redistribute the shares | storage | 5 | - | - | not run | - | - |" in lines
    assert "| celerra_upgraded | Upgrade the Celerra microcode | rolled back | Control Station back on 4.2.16-5 |" in lines
    assert "| celerra-cs | /nas/backup/cs-state.tar | %s | 4.2.16-5 | celerra_upgraded |" % SHA in lines
    assert any(line.startswith("| doomed | ") and "Fail with the password in the message" in line for line in lines)


def test_html_report(window_run):
    page = (window_run["root"] / "reports" / "latest.html").read_text()
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert "Window rehearsal on localhost" in page
    for name in ("stop_mail", "upgrade_control_station", "rollback_control_station", "patch_cpms", "test_mail"):
        assert 'data-phase="%s"' % name in page, name
    assert "<script" not in page


def test_no_secret_reaches_the_reports(window_run):
    proc = window_run["proc"]
    assert SECRET in proc.stdout + proc.stderr  # the secret was there to leak (the fail message shows it)
    for path in (window_run["root"] / "reports").iterdir():
        text = path.read_text()
        assert SECRET not in text, path.name
        assert "printf" not in text and "argv" not in text and "refusing" not in text, path.name


# ----------------------------------------------------------------------------------------------
# the plan checks the playbook's phase markers
# ----------------------------------------------------------------------------------------------

MARKED = textwrap.dedent("""\
    - name: A window whose playbook marks phases its plan does not have
      hosts: localhost
      gather_facts: false
      vars_files:
        - plans/rehearsal.yml
      tasks:
        - name: Declare the plan
          mailops.window.window_plan:
            time_scale: 0.01
            check_markers: %(check)s
            other_order_phases: %(other)s

        - name: A phase of the plan
          vars:
            window_phase: stop_mail
          block:
            - name: Stop
              ansible.builtin.command: "true"

        - name: A phase the plan does not have
          vars:
            window_phase: upgrade_everything
          block:
            - name: Upgrade
              ansible.builtin.command: "true"

        - name: A phase that is only known when the task runs
          vars:
            window_phase: "{{ 'test_' ~ 'mail' }}"
          block:
            - name: Test
              ansible.builtin.command: "true"

        - name: An included file
          ansible.builtin.include_tasks: more.yml

        - name: After the included file
          ansible.builtin.command: "true"
    """)

MORE = textwrap.dedent("""\
    - name: Say something about a phase the plan does not have
      mailops.window.window_phase:
        phase: mount_everything
        state: skipped
    """)


@pytest.fixture(scope="module")
def marked_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("window-markers")
    (root / "inventory.ini").write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n"
                                        % sys.executable)
    write_config(root)
    (root / "more.yml").write_text(MORE)
    (root / "checked.yml").write_text(MARKED % {"check": "true", "other": "[]"})
    (root / "other.yml").write_text(MARKED % {"check": "true", "other": "[upgrade_everything]"})
    (root / "unchecked.yml").write_text(MARKED % {"check": "false", "other": "[]"})
    checked = run_playbook(root, "checked.yml")
    reports_after_checked = (root / "reports").exists()
    other = run_playbook(root, "other.yml")
    unchecked = run_playbook(root, "unchecked.yml")
    return {"root": root, "checked": checked, "other": other, "unchecked": unchecked,
            "reports_after_checked": reports_after_checked}


def flat(text):
    return " ".join(text.split())


def test_the_plan_refuses_a_playbook_that_marks_unknown_phases(marked_runs):
    proc = marked_runs["checked"]
    output = flat(proc.stdout + proc.stderr)
    assert proc.returncode == 2, output
    line = [text.strip() for text in MARKED.splitlines()].index("- name: A phase the plan does not have") + 1
    templated = [text.strip() for text in MARKED.splitlines()].index("- name: A phase that is only known when the task runs") + 1
    assert ("window_plan: the playbook marks phase 'upgrade_everything' (checked.yml line %d), phase "
            "\"{{ 'test_' ~ 'mail' }}\" (checked.yml line %d), phase 'mount_everything' (more.yml line 1), which the "
            "plan rehearsal does not have (a marker is a literal phase id); its phases are: "
            "preflight, stop_mail, upgrade_control_station, rollback_control_station, patch_cpms, "
            "redistribute_shares, start_mail, test_mail" % (line, templated)) in output
    # nothing ran after the declaration failed, and without a plan there is no report
    assert "TASK [Stop]" not in proc.stdout
    assert not marked_runs["reports_after_checked"]
    assert "window report:" not in proc.stdout


def test_a_phase_of_another_order_passes_the_check_and_no_other(marked_runs):
    proc = marked_runs["other"]
    output = flat(proc.stdout + proc.stderr)
    assert proc.returncode == 2, output
    templated = [text.strip() for text in MARKED.splitlines()].index("- name: A phase that is only known when the task runs") + 1
    assert ("window_plan: the playbook marks phase \"{{ 'test_' ~ 'mail' }}\" (other.yml line %d), phase "
            "'mount_everything' (more.yml line 1), which the plan rehearsal does not have" % templated) in output
    assert "upgrade_everything" not in output


def test_without_the_check_a_block_of_an_unknown_phase_is_warned_and_the_window_phase_fails(marked_runs):
    proc = marked_runs["unchecked"]
    output = flat(proc.stdout + proc.stderr)
    assert proc.returncode == 2, output
    assert ("window_report: a block marks phase 'upgrade_everything', which the plan rehearsal does not have"
            in output)
    assert ("window_phase: unknown phase 'mount_everything': the plan rehearsal has preflight, stop_mail, "
            "upgrade_control_station, rollback_control_station, patch_cpms, redistribute_shares, start_mail, "
            "test_mail") in output
    report = json.loads((marked_runs["root"] / "reports" / "latest.json").read_text())
    states = dict((p["name"], p["state"]) for p in report["phases"])
    assert states["stop_mail"] == "finished"
    assert report["hosts"][0]["failed_tasks"] == ["Say something about a phase the plan does not have"]
