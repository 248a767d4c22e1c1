"""End to end: ansible-playbook on localhost with the callback enabled, stopped by a signal in the middle
of a phase (SIGINT as Ctrl-C sends it, SIGTERM as a kill or a cancelled job does, SIGHUP as a lost
terminal does), leaves an incomplete report that says where it stopped; the run after it completes and
links to it, counting the mail downtime from the first run's stop of mail.

"In the middle" is found by polling: the phase's block writes a marker file and then waits for a
release file, and the callback's incomplete report says the phase is open. Nothing here sleeps a fixed
time to get there, and nothing asserts on durations."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from window_helpers import COLLECTIONS_DIR, SECRET, ansible_bin, clean_env, plan_file_text

PLAN = {
    "id": "interrupted",
    "title": "A window stopped half-way",
    "window_minutes": 60,
    "contingency_minutes": 90,
    "downtime": {"from": "stop_mail", "to": "test_mail"},
    "lanes": [{"id": "mail", "team": "Mail"}, {"id": "storage", "team": "Storage"}],
    "objectives": [{"id": "upgraded", "title": "Upgraded"}],
    "phases": [
        {"id": "preflight", "lane": "all", "before_downtime": True, "title": "Preflight"},
        {"id": "stop_mail", "lane": "mail", "budget_minutes": 5, "after": ["preflight"], "title": "Stop mail"},
        {"id": "upgrade", "lane": "storage", "budget_minutes": 30, "after": ["stop_mail"], "title": "Upgrade"},
        {"id": "start_mail", "lane": "mail", "budget_minutes": 5, "after": ["upgrade"], "title": "Start mail"},
        {"id": "test_mail", "lane": "mail", "budget_minutes": 5, "after": ["start_mail"], "title": "Test mail"},
    ],
}

PLAYBOOK = textwrap.dedent("""\
    - name: A window that may be stopped half-way
      hosts: localhost
      gather_facts: false
      vars_files:
        - plans/interrupted.yml
      vars:
        admin_password: "%(secret)s"
      tasks:
        - name: Declare the plan
          mailops.window.window_plan:
            time_scale: 0.001

        - name: Preflight
          vars:
            window_phase: preflight
          block:
            - name: Check
              ansible.builtin.command: "true"
              changed_when: false

        - name: Mail stops
          vars:
            window_phase: stop_mail
          block:
            - name: Stop mail with the password
              ansible.builtin.command:
                argv: [printf, "%%s", "{{ admin_password }}"]
              changed_when: false

        - name: The upgrade
          vars:
            window_phase: upgrade
          block:
            - name: Say the upgrade is under way
              ansible.builtin.file:
                path: "{{ playbook_dir }}/upgrade-under-way"
                state: touch
                mode: "0644"
            - name: Upgrade until released
              ansible.builtin.wait_for:
                path: "{{ playbook_dir }}/release"
                timeout: 600

        - name: Mail starts
          vars:
            window_phase: start_mail
          block:
            - name: Start mail
              ansible.builtin.command: "true"
              changed_when: false

        - name: Mail test
          vars:
            window_phase: test_mail
          block:
            - name: Send a message
              ansible.builtin.command: "true"
              changed_when: false
            - name: Upgraded
              mailops.window.window_objective: {objective: upgraded, status: met}
    """) % {"secret": SECRET}

DEADLINE = 300  # seconds: only ever reached when something is broken


def make_root(root):
    (root / "ansible.cfg").write_text(textwrap.dedent("""\
        [defaults]
        collections_path = %s
        callbacks_enabled = mailops.window.window_report
        inventory = inventory.ini
        retry_files_enabled = False
        [window_report]
        report_dir = reports
        """ % COLLECTIONS_DIR))
    (root / "inventory.ini").write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n"
                                        % sys.executable)
    (root / "plans").mkdir()
    (root / "plans" / "interrupted.yml").write_text(plan_file_text(PLAN))
    (root / "window.yml").write_text(PLAYBOOK)


def wait_until(what, proc, output, condition, seconds=DEADLINE):
    """Poll ``condition`` until it holds; fail, with the run's output, if the run ends first or never gets there."""
    deadline = time.monotonic() + seconds
    while not condition():
        if proc.poll() is not None:
            pytest.fail("the run ended (rc %s) before %s:\n%s" % (proc.returncode, what, output.read_text()))
        if time.monotonic() > deadline:
            pytest.fail("the run never got to %s:\n%s" % (what, output.read_text()))
        time.sleep(0.05)


def latest_report(reports):
    try:
        return json.loads((reports / "latest.json").read_text())
    except (OSError, ValueError):
        return None


def upgrade_open(reports):
    report = latest_report(reports)
    return bool(report) and report.get("complete") is False and (report.get("stopped_at") or {}).get("phase") == "upgrade"


def stems(reports):
    return sorted(set(p.name.rsplit(".", 1)[0] for p in reports.iterdir() if p.name.startswith("window-")))


@pytest.fixture(scope="module", params=["SIGINT", "SIGTERM", "SIGHUP"])
def stopped_and_rerun(request, tmp_path_factory):
    name = request.param
    root = tmp_path_factory.mktemp("window-%s" % name.lower())
    make_root(root)
    reports = root / "reports"
    (root / "tmp").mkdir()
    env = clean_env(ANSIBLE_CONFIG=str(root / "ansible.cfg"), TMPDIR=str(root / "tmp"))  # what a killed module leaves
    output = root / "first.log"
    with open(str(output), "w") as log:
        proc = subprocess.Popen([ansible_bin("ansible-playbook"), "window.yml"], cwd=str(root), env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_until("the upgrade", proc, output, (root / "upgrade-under-way").exists)
        # written when the block's first task is done: right after the marker, a few seconds at the very most
        wait_until("an incomplete report in the upgrade", proc, output, lambda: upgrade_open(reports), seconds=60)
        proc.send_signal(getattr(signal, name))
        proc.wait(timeout=DEADLINE)
    finally:
        (root / "release").touch()  # what a module of the run may still be waiting for ends at once
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    first = {"rc": proc.returncode, "output": output.read_text(), "stems": stems(reports),
             "files": dict((p.name, p.read_text()) for p in reports.iterdir())}
    rerun = subprocess.run([ansible_bin("ansible-playbook"), "window.yml"], cwd=str(root), env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=DEADLINE, check=False)
    return {"name": name, "root": root, "reports": reports, "first": first, "rerun": rerun}


def first_report(run):
    (stem,) = run["first"]["stems"]
    return stem, json.loads(run["first"]["files"][stem + ".json"])


def test_ansible_stops_as_it_always_did(stopped_and_rerun):
    first = stopped_and_rerun["first"]
    expected = {"SIGINT": 99, "SIGTERM": -signal.SIGTERM, "SIGHUP": -signal.SIGHUP}[stopped_and_rerun["name"]]
    assert first["rc"] == expected, first["output"]
    if stopped_and_rerun["name"] == "SIGINT":
        assert "User interrupted execution" in first["output"]
    assert "TASK [Start mail]" not in first["output"]
    assert "internal error" not in first["output"]


def test_the_stopped_run_leaves_an_incomplete_report_of_where_it_stopped(stopped_and_rerun):
    name, first = stopped_and_rerun["name"], stopped_and_rerun["first"]
    stem, report = first_report(stopped_and_rerun)
    assert sorted(first["files"]) == sorted(["latest.json", "latest.md", "latest.html",
                                             stem + ".json", stem + ".md", stem + ".html"])
    assert json.loads(first["files"]["latest.json"]) == report
    assert report["schema"] == "mailops.window.report/3"
    assert report["complete"] is False
    stopped = report["stopped_at"]
    assert (stopped["phase"], stopped["open_phases"], stopped["last_closed_phase"], stopped["reason"]) == (
        "upgrade", ["upgrade"], "stop_mail", name)
    states = dict((p["name"], p["state"]) for p in report["phases"])
    assert states == {"preflight": "finished", "stop_mail": "finished", "upgrade": "unfinished",
                      "start_mail": "not_run", "test_mail": "not_run"}
    down = report["mail_downtime"]
    assert down["started_at"] is not None and down["ended_at"] is None and down["complete"] is False
    assert down["started_at"] == [p for p in report["phases"] if p["name"] == "stop_mail"][0]["started_at"]
    assert report["run"]["id"] and report["run"]["pid"] and report["previous_run"] is None
    banner = "INCOMPLETE: the run stopped during phase upgrade at %s (%s" % (stopped["time"], name)
    assert "**" + banner in first["files"][stem + ".md"]
    assert '<div class="banner incomplete">' + banner in first["files"][stem + ".html"]
    shown = ["window report (incomplete, the run stopped): %s" % (stopped_and_rerun["reports"] / (stem + ext))
             for ext in (".json", ".md", ".html")]
    if name == "SIGHUP":
        assert not any(line in first["output"] for line in shown)  # no terminal to show it on
    else:
        assert all(line in first["output"].splitlines() for line in shown)
    for text in first["files"].values():
        assert SECRET not in text and "printf" not in text


def test_the_next_run_completes_and_links_to_the_stopped_one(stopped_and_rerun):
    rerun, reports = stopped_and_rerun["rerun"], stopped_and_rerun["reports"]
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    stem, first = first_report(stopped_and_rerun)
    report = json.loads((reports / "latest.json").read_text())
    assert report["complete"] is True and report["stopped_at"] is None
    assert report["run"]["id"] != first["run"]["id"]
    previous = report["previous_run"]
    assert previous["report"] == stem + ".json" and previous["path"] == str(reports / (stem + ".json"))
    assert previous["run_id"] == first["run"]["id"] and previous["started_at"] == first["run"]["started_at"]
    assert previous["stopped_at"] == first["stopped_at"]
    assert previous["mail_down"] is True and previous["mail_down_since"] == first["mail_downtime"]["started_at"]
    down = report["mail_downtime"]
    assert down["complete"] is True
    assert down["started_at"] == first["mail_downtime"]["started_at"]
    assert down["carried_from"] == {"run_id": first["run"]["id"], "report": stem + ".json"}
    assert down["real_seconds"] >= first["mail_downtime"]["real_seconds"]
    this_run_stop = [p for p in report["phases"] if p["name"] == "stop_mail"][0]
    assert down["started_at"] < this_run_stop["started_at"]
    assert all(p["state"] == "finished" for p in report["phases"])
    assert ("window report: this run follows run %s (%s.json), which stopped during phase upgrade at %s"
            % (first["run"]["id"], stem, first["stopped_at"]["time"])) in rerun.stdout
    html = (reports / "latest.html").read_text()
    assert '<a href="%s.html">' % stem in html and "banner incomplete" not in html
    markdown = (reports / "latest.md").read_text()
    assert "[%s.md](%s.md)" % (stem, stem) in markdown and "INCOMPLETE" not in markdown
    # the stopped run's report stays as it was; the complete one is one more
    names = sorted(p.name for p in reports.iterdir())
    assert len(names) == 9 and all(stopped_and_rerun["first"]["files"][stem + ext] == (reports / (stem + ext)).read_text()
                                   for ext in (".json", ".md", ".html"))
    for path in reports.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path.name
