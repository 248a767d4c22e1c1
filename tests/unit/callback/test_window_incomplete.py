"""The incomplete report of a run that has not reached its end (stopped, or still going on), and the
link from the next run of the same plan: WindowTracker on the small plan (downtime from ``stop`` to
``check``) and on the seed plan, on a fabricated clock (minute numbers are simulated minutes since T0),
and the Markdown and HTML forms of such reports."""

from __future__ import annotations

import json

import pytest

from ansible_collections.mailops.window.plugins.plugin_utils import _tracker as tr
from ansible_collections.mailops.window.plugins.plugin_utils._render import render_markdown
from ansible_collections.mailops.window.plugins.plugin_utils._render_html import render_html
from window_helpers import SCALE, at, seed_plan, small_plan

SMALL = small_plan()


def new_tracker(plan=None):
    return tr.WindowTracker(plan or SMALL, time_scale=SCALE)


def block(tracker, name, minute, host="localhost"):
    """A phase block is entered at ``minute`` and its first task runs on ``host``."""
    tracker.task_started(name, at(minute))
    tracker.task_ran(name, host)


def first_run(stop_minute=12, reason="SIGINT"):
    """A run of the small plan stopped during ``upgrade`` (mail down since minute 0): its incomplete
    report, read back as the next run reads it."""
    tracker = new_tracker()
    tracker.apply(tr.make_phase_event(SMALL, "prepare", "started", at(-5)))
    tracker.apply(tr.make_phase_event(SMALL, "prepare", "finished", at(-1)))
    block(tracker, "stop", 0)
    block(tracker, "upgrade", 5)
    report = tracker.report(at(stop_minute), run_started_at=at(-6), stopped=reason,
                            run={"id": "first-run", "pid": 4242, "controller": "ctl"})
    return json.loads(json.dumps(report))


def phases_of(report):
    return dict((p["name"], p) for p in report["phases"])


# ----------------------------------------------------------------------------------------------
# the incomplete report
# ----------------------------------------------------------------------------------------------

def test_an_incomplete_report_says_where_the_run_stopped_and_changes_nothing():
    tracker = new_tracker()
    block(tracker, "stop", 0)
    block(tracker, "upgrade", 5)
    revision = tracker.revision
    report = tracker.report(at(12), run_started_at=at(-1), stopped="SIGINT",
                            run={"id": "r1", "pid": 7, "controller": "ctl", "ignored": "x"})
    json.dumps(report)
    assert report["schema"] == "mailops.window.report/3"
    assert report["complete"] is False
    assert report["stopped_at"] == {"phase": "upgrade", "open_phases": ["upgrade"], "last_closed_phase": "stop",
                                    "time": tr.iso_utc(at(12)), "reason": "SIGINT"}
    assert report["run"] == {"id": "r1", "pid": 7, "controller": "ctl", "started_at": tr.iso_utc(at(-1)),
                             "ended_at": tr.iso_utc(at(12))}
    phases = phases_of(report)
    assert phases["stop"]["state"] == "finished"
    assert phases["upgrade"]["state"] == "unfinished" and phases["upgrade"]["finished_at"] is None
    assert phases["upgrade"]["minutes"] == pytest.approx(7)
    assert phases["start"]["state"] == "not_run"
    down = report["mail_downtime"]
    assert (down["complete"], down["ended_at"], down["carried_from"]) == (False, None, None)
    assert down["started_at"] == tr.iso_utc(at(0)) and down["minutes"] == pytest.approx(12)
    assert report["previous_run"] is None
    # the tracker is as it was: the run goes on, and its end is reported as always
    assert tracker.revision == revision and tracker.phases["upgrade"].is_open
    block(tracker, "start", 25)
    block(tracker, "check", 30)
    tracker.finalize(at(34))
    final = tracker.report(at(34))
    assert final["complete"] is True and final["stopped_at"] is None
    assert phases_of(final)["upgrade"]["state"] == "finished"
    assert final["mail_downtime"]["complete"] is True


def test_a_run_stopped_while_the_first_task_of_a_block_runs_stopped_in_that_phase():
    tracker = new_tracker()
    block(tracker, "stop", 0)
    tracker.task_started("upgrade", at(5))  # a long first task: the phase starts when it is done
    report = tracker.report(at(9), stopped="SIGTERM")
    assert report["stopped_at"]["phase"] == "upgrade" and report["stopped_at"]["last_closed_phase"] == "stop"
    upgrade = phases_of(report)["upgrade"]
    assert upgrade["state"] == "unfinished" and upgrade["started_at"] == tr.iso_utc(at(5))
    assert upgrade["minutes"] == pytest.approx(4)
    assert tracker.phases["upgrade"].state == "not_run" and tracker.phases["upgrade"].runs == []


def test_a_run_stopped_in_its_first_block_of_the_downtime_has_mail_down_from_the_block_entry():
    tracker = new_tracker()
    tracker.task_started("stop", at(0))
    report = tracker.report(at(2), stopped="SIGHUP")
    assert report["mail_downtime"]["started_at"] == tr.iso_utc(at(0))
    assert report["window"]["started_at"] == tr.iso_utc(at(0))
    assert tracker.window_start is None


def test_stop_point_between_phases_before_any_and_with_a_background_phase():
    tracker = tr.WindowTracker(seed_plan(), time_scale=SCALE)
    assert tracker.stop_point(at(0)) == {"phase": None, "open_phases": [], "last_closed_phase": None,
                                         "time": tr.iso_utc(at(0)), "reason": "running"}
    block(tracker, "stop_mail", 0)
    tracker.task_started(None, at(10))
    assert tracker.stop_point(at(11), "exit")["phase"] is None
    assert tracker.stop_point(at(11), "exit")["last_closed_phase"] == "stop_mail"
    tracker.task_started("upgrade_control_station", at(20), background=True)
    tracker.task_ran("upgrade_control_station", "cs")
    block(tracker, "patch_cpms", 21)
    point = tracker.stop_point(at(30), "SIGINT")
    assert point["phase"] == "patch_cpms" and point["open_phases"] == ["upgrade_control_station", "patch_cpms"]
    with pytest.raises(tr.WindowEventError, match="unknown stop reason"):
        tracker.stop_point(at(30), "SIGKILL")


def test_every_phase_start_end_and_event_changes_the_revision():
    tracker = new_tracker()
    seen = [tracker.revision]

    def changed():
        seen.append(tracker.revision)
        return seen[-1] != seen[-2]

    tracker.task_started("stop", at(0))
    assert not changed()  # entered, not started yet
    tracker.task_ran("stop", "h")
    assert changed()
    tracker.task_ran("stop", "h")
    tracker.check(at(1))
    tracker.progress_lines(at(1))
    assert not changed()
    tracker.task_started("upgrade", at(5))
    assert changed()  # stop ended
    tracker.apply(tr.make_objective_event(SMALL, "db_upgraded", "met", at(6)))
    assert changed()
    tracker.apply(tr.make_phase_event(SMALL, "upgrade", "failed", at(7)))
    assert changed()


# ----------------------------------------------------------------------------------------------
# the next run links to a run that stopped
# ----------------------------------------------------------------------------------------------

def test_the_next_run_links_to_a_stopped_run_and_counts_the_downtime_from_its_start():
    previous = first_run()
    tracker = new_tracker()
    assert tracker.link_previous(previous, "window-20231114T221320Z.json", "/srv/reports/window-20231114T221320Z.json")
    assert tracker.previous_run == {
        "report": "window-20231114T221320Z.json", "path": "/srv/reports/window-20231114T221320Z.json",
        "run_id": "first-run", "started_at": tr.iso_utc(at(-6)),
        "stopped_at": {"phase": "upgrade", "open_phases": ["upgrade"], "last_closed_phase": "stop",
                       "time": tr.iso_utc(at(12)), "reason": "SIGINT"},
        "mail_down": True, "mail_down_since": tr.iso_utc(at(0))}
    # the re-run starts 100 minutes later, stops nothing (mail is down), upgrades, starts, checks
    block(tracker, "upgrade", 100)
    while_running = tracker.report(at(110), stopped="running")
    assert while_running["mail_downtime"]["started_at"] == tr.iso_utc(at(0))
    assert while_running["mail_downtime"]["minutes"] == pytest.approx(110)
    assert while_running["mail_downtime"]["complete"] is False
    block(tracker, "start", 120)
    block(tracker, "check", 125)
    tracker.finalize(at(130))
    report = tracker.report(at(130))
    assert report["complete"] is True
    assert report["previous_run"] == tracker.previous_run
    down = report["mail_downtime"]
    assert down["started_at"] == tr.iso_utc(at(0)) and down["ended_at"] == tr.iso_utc(at(130))
    assert down["complete"] is True and down["minutes"] == pytest.approx(130)
    assert down["real_seconds"] == pytest.approx(130 * 60 * SCALE)
    assert down["carried_from"] == {"run_id": "first-run", "report": "window-20231114T221320Z.json"}
    # the window itself is this run's
    assert report["window"]["started_at"] == tr.iso_utc(at(100))


def test_a_chain_of_stopped_runs_counts_from_the_first():
    second = new_tracker()
    assert second.link_previous(first_run(), "window-1.json")
    block(second, "stop", 50)
    block(second, "upgrade", 51)
    second_report = json.loads(json.dumps(second.report(at(60), stopped="SIGTERM", run={"id": "second-run"})))
    assert second_report["mail_downtime"]["started_at"] == tr.iso_utc(at(0))
    third = new_tracker()
    assert third.link_previous(second_report, "window-2.json")
    assert third.previous_run["run_id"] == "second-run" and third.previous_run["stopped_at"]["reason"] == "SIGTERM"
    block(third, "check", 200)
    third.finalize(at(201))
    down = third.report(at(201))["mail_downtime"]
    assert down["carried_from"] == {"run_id": "first-run", "report": "window-1.json"}
    assert down["started_at"] == tr.iso_utc(at(0)) and down["minutes"] == pytest.approx(201)


def test_a_run_stopped_before_mail_went_down_is_linked_without_carrying_a_downtime():
    tracker = new_tracker()
    tracker.apply(tr.make_phase_event(SMALL, "prepare", "started", at(-5)))
    stopped = json.loads(json.dumps(tracker.report(at(-3), stopped="SIGINT", run={"id": "early"})))
    assert stopped["stopped_at"]["phase"] == "prepare"
    rerun = new_tracker()
    assert rerun.link_previous(stopped, "window-early.json")
    assert rerun.previous_run["mail_down"] is False and rerun.previous_run["mail_down_since"] is None
    block(rerun, "stop", 10)
    down = rerun.report(at(12))["mail_downtime"]
    assert down["started_at"] == tr.iso_utc(at(10)) and down["carried_from"] is None


@pytest.mark.parametrize("change, why", [
    (lambda r: r.update(complete=True, stopped_at=None), "complete"),
    (lambda r: r.pop("complete"), "a report/2 (always written at the end)"),
    (lambda r: r["plan"].update(id="other"), "another plan"),
    (lambda r: r.update(check_mode=True), "a dry run"),
    (lambda r: r.update(schema="mailops.window.report/9"), "an unknown schema"),
])
def test_what_is_not_linked(change, why):
    previous = first_run()
    change(previous)
    tracker = new_tracker()
    assert tracker.link_previous(previous, "window-x.json") is False, why
    assert tracker.previous_run is None
    block(tracker, "stop", 50)
    report = tracker.report(at(55))
    assert report["previous_run"] is None and report["mail_downtime"]["started_at"] == tr.iso_utc(at(50))


def test_a_damaged_previous_report_is_linked_with_what_it_says():
    previous = first_run()
    previous.update(stopped_at="garbage", run=None)
    previous["mail_downtime"]["carried_from"] = "garbage"
    tracker = new_tracker()
    assert tracker.link_previous(previous, "window-x.json")
    assert tracker.previous_run["run_id"] is None
    assert tracker.previous_run["stopped_at"] == {"phase": None, "open_phases": [], "last_closed_phase": None,
                                                  "time": None, "reason": None}
    assert tracker.report(at(20))["mail_downtime"]["carried_from"] == {"run_id": None, "report": "window-x.json"}


def test_iso_times_read_back():
    assert tr.parse_iso_utc(tr.iso_utc(at(3))) == pytest.approx(at(3))
    assert tr.parse_iso_utc("2026-11-30T20:38:09+00:00") == tr.parse_iso_utc("2026-11-30T20:38:09.000Z")
    assert tr.parse_iso_utc("2026-11-30T20:38:09") == tr.parse_iso_utc("2026-11-30T20:38:09Z")
    for bad in (None, "", "yesterday", 12):
        assert tr.parse_iso_utc(bad) is None


# ----------------------------------------------------------------------------------------------
# the Markdown and HTML forms
# ----------------------------------------------------------------------------------------------

def test_markdown_and_html_of_an_incomplete_report_carry_the_banner():
    report = first_run()
    when = tr.iso_utc(at(12))
    banner = ("INCOMPLETE: the run stopped during phase upgrade at %s (SIGINT: interrupted). Mail was down "
              "(since %s, check not finished)." % (when, tr.iso_utc(at(0))))
    lines = render_markdown(report).splitlines()
    assert lines[2] == "**%s**" % banner
    assert "| mail downtime | 12 min so far (check did not finish) |" in lines
    page = render_html(report)
    assert '<div class="banner incomplete">%s</div>' % banner in page
    assert "mail was not back (check not finished) when the run stopped" in page
    assert 'data-phase="upgrade" data-state="unfinished"' in page


@pytest.mark.parametrize("reason, text", [
    ("SIGTERM", "(SIGTERM: terminated)"),
    ("SIGHUP", "(SIGHUP: its terminal was lost)"),
    ("exit", "(it ended without reaching its play recap)"),
    ("running", "(or later: the report was last written then, while the run went on; it may still be running)"),
])
def test_the_banner_says_why(reason, text):
    assert text in render_markdown(first_run(reason=reason)).splitlines()[2]


def test_the_banner_between_phases_and_before_the_first():
    tracker = new_tracker()
    assert "the run stopped before its first phase at" in render_markdown(tracker.report(at(0), stopped="exit"))
    block(tracker, "stop", 0)
    tracker.task_started(None, at(3))
    assert "the run stopped after phase stop at" in render_markdown(tracker.report(at(4), stopped="exit"))


def test_markdown_and_html_of_a_rerun_link_to_the_stopped_run():
    tracker = new_tracker()
    tracker.link_previous(first_run(), "window-20231114T221320Z.json", "/srv/r/window-20231114T221320Z.json")
    block(tracker, "check", 100)
    tracker.finalize(at(101))
    report = tracker.report(at(101))
    text = render_markdown(report)
    assert "INCOMPLETE" not in text
    assert ("This run follows run first-run (report [window-20231114T221320Z.md](window-20231114T221320Z.md)), "
            "which stopped during phase upgrade at %s (SIGINT: interrupted). Mail was down then; the mail downtime "
            "here counts from %s (run first-run, report window-20231114T221320Z.json)."
            % (tr.iso_utc(at(12)), tr.iso_utc(at(0)))) in text.splitlines()
    assert "| mail downtime | 101 min, counted from run first-run |" in text.splitlines()
    page = render_html(report)
    assert ('This run follows run first-run (report <a href="window-20231114T221320Z.html">'
            'window-20231114T221320Z.html</a>), which stopped during phase upgrade') in page
    assert "from stop to the end of check; counted from run first-run, which took mail down" in page
    assert "banner incomplete" not in page


def test_texts_of_a_previous_report_are_escaped_in_html():
    previous = first_run()
    previous["run"]["id"] = "<b>x</b>"
    tracker = new_tracker()
    tracker.link_previous(previous, 'window-"><script>.json')
    page = render_html(tracker.report(at(20), stopped="running"))
    assert "<script>" not in page and "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_a_complete_report_renders_as_before():
    tracker = new_tracker()
    block(tracker, "stop", 0)
    block(tracker, "check", 10)
    tracker.finalize(at(12))
    report = tracker.report(at(12))
    text = render_markdown(report)
    assert "INCOMPLETE" not in text and "follows run" not in text
    assert text.splitlines()[2] == "| item | value |"
    page = render_html(report)
    assert 'class="banner incomplete"' not in page and 'class="banner previous-run"' not in page
    # a report/2 read back (no complete, stopped_at, previous_run) renders as a complete one
    for key in ("complete", "stopped_at", "previous_run"):
        report.pop(key)
    report["mail_downtime"].pop("carried_from")
    assert render_markdown(report) == text
