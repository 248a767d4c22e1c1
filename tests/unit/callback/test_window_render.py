"""Markdown rendering of the window report."""

from __future__ import annotations

from ansible_collections.mailops.window.plugins.plugin_utils import _tracker as tr
from ansible_collections.mailops.window.plugins.plugin_utils._render import _cell, render_markdown
from window_helpers import SCALE, T0, at, seed_plan, small_plan

PLAN = seed_plan()


def apply(tracker, *events):
    for event in events:
        tracker.apply(event)


def sample_report():
    tracker = tr.WindowTracker(PLAN, time_scale=SCALE)
    apply(
        tracker,
        tr.make_phase_event(PLAN, "preflight", "started", at(-10)),
        tr.make_phase_event(PLAN, "preflight", "finished", at(-8)),
    )
    # stop_mail through its block, as the callback sees it; its detail from an explicit event
    tracker.task_started("stop_mail", at(0))
    tracker.task_ran("stop_mail", "mta1")
    apply(tracker, tr.make_phase_event(PLAN, "stop_mail", "finished", at(12), detail="mta1 | mta2\nthen confs"))
    apply(
        tracker,
        tr.make_phase_event(PLAN, "unmount_shares", "started", at(12)),
        tr.make_phase_event(PLAN, "unmount_shares", "failed", at(15), detail="store1 busy"),
        tr.make_objective_event(PLAN, "shares_redistributed", "failed", at(15), detail="unmount failed"),
        tr.make_objective_event(PLAN, "cpms_patched", "not_done", at(15),
                                backups=[{"host": "mta1", "path": "/var/backups/c.tgz", "sha256": "f" * 64}]),
    )
    tracker.record_failure("mta1", "Unmount | the store")
    tracker.finalize(at(16))
    return tracker.report(at(16), hosts={"mta1": {"ok": 5, "changed": 2, "failures": 1}},
                          playbooks=["maintenance.yml"], run_started_at=at(-11))


def test_markdown_has_every_section_and_row():
    report = sample_report()
    text = render_markdown(report)
    lines = text.splitlines()
    assert lines[0] == "# Maintenance window report: Celerra microcode upgrade and security patch of the mail service"
    for heading in ("## Phases", "## Objectives", "## Backups", "## Hosts", "## Warnings"):
        assert heading in lines
    assert "| plan | celerra_cpms |" in lines
    assert "| playbooks | maintenance.yml |" in lines
    assert "| run | %s to %s |" % (tr.iso_utc(at(-11)), tr.iso_utc(at(16))) in lines
    assert "| window | %s to %s |" % (tr.iso_utc(at(0)), tr.iso_utc(at(15))) in lines
    assert ("| preflight | Preflight: versions, patch checksum, Celerra health, window lock | all | before downtime "
            "| 2 | 1.2 | finished | - | - |") in lines
    assert ("| stop_mail | Stop mail on the MTAs, then on the active configuration server "
            "({{ groups['cpms_config_active'] \\| join(', ') }}) | mail | 10 | 12 | 7.2 | finished | 2 "
            "| mta1 \\| mta2 then confs |") in lines
    assert "| unmount_shares | Unmount the Celerra shares on the mail servers | mail | 5 | 3 | 1.8 | failed | - | store1 busy |" in lines
    assert "| upgrade_data_movers | Apply the microcode to the data movers | storage | 60 | - | - | not run | - | - |" in lines
    assert ("| rollback_control_station | Roll the Control Station back to version {{ celerra_version_current }} "
            "| storage | 30 | - | - | not run | - | - |") in lines
    assert "| shares_redistributed | Redistribute the shares among the data movers | failed | unmount failed |" in lines
    assert ("| webmail_hole_closed | The webmail cross-site-scripting hole is closed | not done "
            "| no result was recorded |") in lines
    assert "| cpms_patched | Apply the security patch to CPMS {{ cpms_version_current }} | not done | - |" in lines
    assert "| mta1 | /var/backups/c.tgz | %s | - | cpms_patched |" % ("f" * 64) in lines
    assert "| mta1 | 5 | 2 | 1 | 0 | 0 | Unmount \\| the store | - | - |" in lines
    assert "- window phase stop_mail overran its budget: 12 of 10 min" in lines
    assert ("- window: the remaining plan no longer fits in the window: 12 min elapsed + 110 min planned "
            "(unmount_shares, upgrade_control_station, upgrade_data_movers, redistribute_shares, mount_shares, "
            "start_mail, test_mail) = 122 > 120 min") in lines
    assert "| mail downtime | 16 min so far (test_mail did not finish) |" in lines
    assert ("| critical path | stop_mail -> unmount_shares -> upgrade_control_station -> upgrade_data_movers -> "
            "redistribute_shares -> mount_shares -> start_mail -> test_mail: 120 min planned |") in lines
    assert "| window duration | 15 min of 120 (contingency 150) |" in lines
    assert "| within budget / contingency | yes / yes |" in lines
    assert "| time scale | 0.01 (simulated seconds = real seconds / time scale) |" in lines
    assert "Check mode" not in text
    # every phase and objective of the plan has its row, in plan order
    phase_rows = [line.split(" | ")[0][2:] for line in lines[lines.index("## Phases") + 4:] if line.startswith("| ")]
    assert phase_rows[:len(PLAN["phases"])] == [p["id"] for p in PLAN["phases"]]
    # every table row has as many cells as its header
    for index, line in enumerate(lines):
        if line.startswith("|---"):
            width = lines[index - 1].count(" | ")
            row = index + 1
            while row < len(lines) and lines[row].startswith("| "):
                assert lines[row].replace("\\|", "").count(" | ") == width, lines[row]
                row += 1


def test_markdown_of_an_empty_run_and_check_mode():
    tracker = tr.WindowTracker(PLAN, time_scale=SCALE)
    tracker.check_mode = True
    report = tracker.report(T0)
    text = render_markdown(report)
    assert "**Check mode run**" in text
    assert "No backup was recorded." in text and "No host was recorded." in text
    assert "| window | - to - |" in text
    assert "| window duration | - |" in text and "| mail downtime | - |" in text
    assert text.endswith("None.\n")


def test_markdown_of_a_plan_without_objectives_or_downtime():
    tracker = tr.WindowTracker(small_plan(objectives=[], downtime=None), time_scale=1)
    text = render_markdown(tracker.report(T0))
    assert text.splitlines()[0] == "# Maintenance window report: A small window"
    assert "The plan declares no objective." in text
    assert "| mail downtime | - |" in text
    assert "| critical path | stop -> upgrade -> start -> check: 35 min planned |" in text


def test_cells():
    assert [_cell(v) for v in (None, True, False, 2.50, 0.0, 12.345, 7, "", "a|b", "a\\b", "x\r\ny")] == [
        "-", "yes", "no", "2.5", "0", "12.35", "7", "-", "a\\|b", "a\\\\b", "x  y"]
