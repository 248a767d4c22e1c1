"""Markdown rendering of the window report."""

from __future__ import annotations

from ansible_collections.mailops.window.plugins.module_utils import _window_phases as wp

T0 = 1_700_000_000.0
SCALE = 0.01


def at(minute):
    return T0 + wp.real_seconds_for(minute, SCALE)


def apply(tracker, *events):
    for event in events:
        tracker.apply(event)


def sample_report():
    tracker = wp.WindowTracker()
    apply(
        tracker,
        wp.make_phase_event("preflight", "started", at(-10), time_scale=SCALE),
        wp.make_phase_event("preflight", "finished", at(-8), time_scale=SCALE),
        wp.make_phase_event("stop_mail", "started", at(0), time_scale=SCALE),
        wp.make_phase_event("stop_mail", "finished", at(12), time_scale=SCALE, detail="mta1 | mta2\nthen confs"),
        wp.make_phase_event("unmount_shares", "started", at(12), time_scale=SCALE),
        wp.make_phase_event("unmount_shares", "failed", at(15), time_scale=SCALE, detail="store1 busy"),
        wp.make_objective_event("shares_redistributed", "failed", at(15), detail="unmount failed"),
        wp.make_objective_event("cpms_6_7_19_1", "not_done", at(15),
                                backups=[{"host": "mta1", "path": "/var/backups/c.tgz", "sha256": "f" * 64}]),
    )
    tracker.record_failure("mta1", "Unmount | the store")
    tracker.finalize(at(16))
    return tracker.report(at(16), hosts={"mta1": {"ok": 5, "changed": 2, "failures": 1}},
                          playbooks=["maintenance.yml"], run_started_at=at(-11))


def test_markdown_has_every_section_and_row():
    text = wp.render_markdown(sample_report())
    lines = text.splitlines()
    assert lines[0] == "# Maintenance window report"
    for heading in ("## Phases", "## Critical path", "## Objectives", "## Backups", "## Hosts", "## Warnings"):
        assert heading in lines
    assert "| preflight | all | before downtime | 2 | 1.2 | finished | - | - |" in lines
    assert "| stop_mail | mail | 10 | 12 | 7.2 | finished | 2 | mta1 \\| mta2 then confs |" in lines
    assert "| unmount_shares | mail | 5 | 3 | 1.8 | failed | - | store1 busy |" in lines
    assert "| upgrade_data_movers | storage | 60 | - | - | not run | - | - |" in lines
    assert "| 3 | patch_cpms + upgrade_control_station | 25 | - | - |" in lines
    assert "| shares_redistributed | failed | unmount failed |" in lines
    assert "| webmail_hole_closed | not done | no result was recorded |" in lines
    assert "| mta1 | /var/backups/c.tgz | %s | - | cpms_6_7_19_1 |" % ("f" * 64) in lines
    assert "| mta1 | 5 | 2 | 1 | 0 | 0 | Unmount \\| the store | - | - |" in lines
    assert "- window phase stop_mail overran its budget: 12 of 10 min" in lines
    assert "| mail downtime | 16 min so far (test_mail did not finish) |" in lines
    assert "| critical path | 15 min (planned 120) |" in lines
    assert "| window duration | 15 min of 120 (contingency 150) |" in lines
    assert "Check mode" not in text
    # every table row has as many cells as its header
    for index, line in enumerate(lines):
        if line.startswith("|---"):
            width = lines[index - 1].count(" | ")
            row = index + 1
            while row < len(lines) and lines[row].startswith("| "):
                assert lines[row].replace("\\|", "").count(" | ") == width, lines[row]
                row += 1


def test_markdown_of_an_empty_run_and_check_mode():
    tracker = wp.WindowTracker()
    tracker.check_mode = True
    report = tracker.report(T0)
    text = wp.render_markdown(report)
    assert "**Check mode run**" in text
    assert "No backup was recorded." in text and "No host was recorded." in text
    assert "| window | - to - |" in text
    assert text.endswith("None.\n")
