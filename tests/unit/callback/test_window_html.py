"""The HTML window report: a WindowTracker is driven through a fabricated window on a fabricated clock
(minute numbers are simulated minutes since T0), and the page rendered from its report is read back."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from ansible_collections.mailops.window.plugins.plugin_utils import _plan
from ansible_collections.mailops.window.plugins.plugin_utils import _tracker as tr
from ansible_collections.mailops.window.plugins.plugin_utils._render_html import planned_starts, render_html

PLAN_FILE = Path(__file__).resolve().parents[3] / "playbooks" / "plans" / "celerra_cpms.yml"
T0 = 1_700_000_000.0
SCALE = 0.01
SHA = "ab" * 32
XSS = "<script>alert('x')</script> the upgrade stalled"


def load_plan():
    raw = yaml.safe_load(PLAN_FILE.read_text(encoding="utf-8"))["window_plan"]
    return _plan.load_plan(raw)


def at(minute):
    return T0 + tr.real_seconds_for(minute, SCALE)


def build_report(check_mode=False):
    """A window that goes wrong in several ways: patch_cpms overruns, the Control Station upgrade fails and
    is rolled back (the data movers and the redistribution are skipped), and the mail test fails."""
    plan = load_plan()
    tracker = tr.WindowTracker(plan, time_scale=SCALE)

    def phase(name, state, minute, detail=""):
        tracker.apply(tr.make_phase_event(plan, name, state, at(minute), detail=detail, check_mode=check_mode))

    def objective(name, status, minute, detail="", backups=None):
        tracker.apply(tr.make_objective_event(plan, name, status, at(minute), detail=detail, backups=backups, check_mode=check_mode))

    phase("preflight", "started", -30)
    phase("preflight", "finished", -22)
    phase("backup", "started", -22)
    phase("backup", "finished", -6)
    objective("cpms_patched", "met", -6, detail="backups taken",
              backups=[{"host": "mta1", "path": "/var/backups/cpms-6.7.19.tar", "sha256": SHA, "version": "6.7.19"}])
    # stop_mail through its phase block's tasks, as the callback sees them
    tracker.task_started("stop_mail", at(0))
    tracker.task_ran("stop_mail", host="mta1")
    tracker.task_started(None, at(9))
    phase("unmount_shares", "started", 9)
    phase("unmount_shares", "finished", 15)
    phase("patch_cpms", "started", 15)
    phase("upgrade_control_station", "started", 15)
    tracker.record_failure("cs0", "Upgrade the <b>Control Station</b>", phase="upgrade_control_station")
    phase("upgrade_control_station", "failed", 36, detail=XSS)
    phase("rollback_control_station", "started", 36)
    phase("patch_cpms", "finished", 43)
    phase("rollback_control_station", "finished", 60)
    phase("upgrade_control_station", "rolled_back", 60, detail="back on 4.2")
    phase("upgrade_data_movers", "skipped", 60, detail="the Control Station was rolled back")
    phase("redistribute_shares", "skipped", 60)
    phase("mount_shares", "started", 60)
    phase("mount_shares", "finished", 66)
    phase("start_mail", "started", 66)
    phase("start_mail", "finished", 72)
    phase("test_mail", "started", 72)
    tracker.record_failure("mta2", "Send a message through mta2", phase="test_mail")
    phase("test_mail", "failed", 79)
    objective("celerra_upgraded", "rolled_back", 60, detail="Control Station back on 4.2")
    objective("mail_tested", "failed", 79, detail="mta2 did not deliver")
    objective("webmail_hole_closed", "met", 79)
    tracker.finalize(at(80))
    return tracker.report(at(80), run_started_at=at(-31))


class Svg(HTMLParser):
    """The timeline's lanes and bars, as the parser sees the page."""

    def __init__(self):
        super().__init__()
        self.lanes, self.actual, self.planned, self.limits, self.phases, self.scripts = [], {}, {}, [], [], 0
        self._phase = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "script":
            self.scripts += 1
        if tag == "g" and "lane" in classes:
            self.lanes.append(attrs["data-lane"])
        if tag == "g" and "phase" in classes:
            self._phase = attrs["data-phase"]
            self.phases.append((attrs["data-phase"], attrs["data-state"]))
        if tag == "g" and "limit" in classes:
            self.limits.append(classes[1])
        if tag == "rect" and "bar" in classes:
            kind = self.actual if "actual" in classes else self.planned
            kind[self._phase] = (classes, float(attrs["x"]), float(attrs["width"]))


@pytest.fixture(scope="module")
def report():
    return build_report()


@pytest.fixture(scope="module")
def page(report):
    return render_html(report)


@pytest.fixture(scope="module")
def svg(page):
    parser = Svg()
    parser.feed(page)
    return parser


def test_one_timeline_row_per_lane_in_plan_order(report, svg):
    assert [lane["id"] for lane in report["plan"]["lanes"]] == ["mail", "storage", "all"]
    assert svg.lanes == ["mail", "storage", "all"]


def test_a_bar_per_phase_that_ran_and_a_planned_bar_per_window_phase(report, svg):
    ran = [p["name"] for p in report["phases"] if p["state"] not in ("not_run", "skipped")]
    drawn = [name for name, (classes, dummy_x, dummy_w) in svg.actual.items() if "state-skipped" not in classes]
    assert sorted(drawn) == sorted(ran) and len(ran) == 10
    window = [p["name"] for p in report["phases"] if p["kind"] != "before_downtime"]
    assert sorted(svg.planned) == sorted(window)
    assert svg.actual["patch_cpms"][0][1:] == ["actual", "state-overrun"]
    assert svg.actual["stop_mail"][0][1:] == ["actual", "state-finished"]
    assert svg.actual["upgrade_control_station"][0][1:] == ["actual", "state-rolled_back"]


def test_skipped_phases_are_hatched_and_not_run_phases_only_planned():
    report = build_report()
    report["phases"][-1]["state"], report["phases"][-1]["start_offset_minutes"] = "not_run", None
    parser = Svg()
    parser.feed(render_html(report))
    assert parser.actual["upgrade_data_movers"][0][1:] == ["actual", "state-skipped"]
    assert "test_mail" not in parser.actual and "test_mail" in parser.planned


def test_failed_phase_is_marked_failed(page, svg):
    assert dict(svg.phases)["test_mail"] == "failed"
    assert svg.actual["test_mail"][0][1:] == ["actual", "state-failed"]
    assert re.search(r'<td class="state-failed"><span class="badge" style="background:#d64541">failed</span>', page)
    assert "failed: mta2: Send a message through mta2" in page
    assert '<td class="status-failed"><span class="badge" style="background:#d64541">failed</span>' in page


def test_window_and_contingency_lines(svg, page):
    assert svg.limits == ["window-budget", "contingency", "window-end"]
    assert ">window 120 min</text>" in page and ">contingency 150 min</text>" in page and ">ended at 79 min</text>" in page


def test_bars_sit_on_the_minutes_axis(svg):
    # stop_mail (0..9) and unmount_shares (9..15): the second starts where the first ends
    dummy, x0, w0 = svg.actual["stop_mail"]
    dummy, x1, w1 = svg.actual["unmount_shares"]
    assert x1 == pytest.approx(x0 + w0, abs=0.2)
    assert w1 / w0 == pytest.approx(6 / 9.0, rel=0.05)
    # before the downtime: left of minute 0
    assert svg.actual["backup"][1] + svg.actual["backup"][2] < x0


def test_planned_starts_follow_the_longest_path_of_budgets(report):
    starts = planned_starts(report["phases"])
    assert starts["preflight"] is None and starts["backup"] is None
    assert starts["stop_mail"] == 0 and starts["unmount_shares"] == 10
    assert starts["patch_cpms"] == starts["upgrade_control_station"] == 15
    assert starts["rollback_control_station"] == 40  # right after the phase it rolls back
    source_form = [dict(p, after=[]) if p["rollback_of"] else p for p in report["phases"]]  # the plan's own form: no after
    assert planned_starts(source_form)["rollback_control_station"] == 40
    assert starts["upgrade_data_movers"] == 40  # a rollback delays nothing in the plan
    assert starts["mount_shares"] == 105  # after redistribute_shares (100 + 5) and patch_cpms (15 + 25)
    budgets = dict((p["name"], p["budget_minutes"]) for p in report["phases"])
    assert max(s + budgets[n] for n, s in starts.items() if s is not None and n != "rollback_control_station") \
        == load_plan()["planned_minutes"] == 120


def test_markup_in_details_and_task_names_is_escaped(page):
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; the upgrade stalled" in page
    assert "<b>Control Station</b>" not in page and "&lt;b&gt;Control Station&lt;/b&gt;" in page
    parser = Svg()
    parser.feed(page)
    assert parser.scripts == 0


def test_nothing_is_fetched_from_anywhere(page):
    lowered = page.lower()
    for needle in ("http://", "https://", "src=", "href=", "@import", "<link", "<img", "<iframe", "<object", "//"):
        assert needle not in lowered, needle
    assert re.findall(r"url\(([^)]*)\)", page) and set(re.findall(r"url\(([^)]*)\)", page)) == {"#hatch"}


def test_summary_objectives_backups_and_warnings(report, page):
    assert "<h1>Celerra microcode upgrade and security patch of the mail service</h1>" in page
    assert report["window"]["minutes"] == 79 and report["window"]["within_budget"] is True
    assert "within the window" in page
    assert '<td class="status-rolled_back">' in page and '<td class="status-not_done">' in page
    assert "/var/backups/cpms-6.7.19.tar" in page and SHA in page
    assert "Check mode" not in page
    assert report["warnings"] and all(("<li>%s</li>" % html.escape(w)) in page for w in report["warnings"])


def test_check_mode_banner():
    assert "Check mode (dry run)" in render_html(build_report(check_mode=True))


def test_over_the_contingency_is_said():
    report = build_report()
    report["window"].update(minutes=170.0, within_budget=False, within_contingency=False)
    assert "over the contingency" in render_html(report)


def test_rendering_is_pure(report):
    before = repr(report)
    assert render_html(report) == render_html(report)
    assert repr(report) == before


def test_a_window_that_never_started_shows_the_plan_only():
    tracker = tr.WindowTracker(load_plan(), time_scale=SCALE)
    report = tracker.report(at(0))
    assert report["window"]["minutes"] is None
    parser = Svg()
    page = render_html(report)
    parser.feed(page)
    assert parser.lanes == ["mail", "storage", "all"] and not parser.actual
    assert len(parser.planned) == 10 and parser.limits == ["window-budget", "contingency"]
    assert "window not started" in page
