"""Benchmarks against the running lab (numbers for notes, never assertions).

1. celerra_info: SSH connections, CLI commands (round trips) and wall time of one full gather,
   repeated; and of the smallest gather the preflight uses.
2. The whole window from the lab's starting state: wall time, the plan's critical path at the same
   time scale (the ratio is the automation's overhead), and the mail downtime (first MTA stopped to the
   mail test passed), read from the window's own report.

Usage: make bench   (brings the lab up first; resets it before the window run)
"""

import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
# The window report callback stays enabled (an empty ANSIBLE_CALLBACKS_ENABLED is an error in current
# ansible-core); it writes nothing for a run that declares no window plan.
ENV = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json")
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))


def run(argv, env=None):
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, env=env or ENV, capture_output=True, text=True, check=False)
    return proc, time.monotonic() - start


def celerra_info(subset):
    """One celerra_info call through ansible; returns (seconds inside the module run, commands, connections)."""
    args = "gather_subset=%s host={{ celerra_cs_host }} port={{ celerra_cs_port }} username={{ celerra_cs_username }} " \
           "password={{ celerra_cs_password }} known_hosts={{ celerra_cs_known_hosts }}" % ",".join(subset)
    proc, seconds = run([str(BIN / "ansible"), "-i", "inventories/lab", "celerra", "-m",
                         "mailops.window.celerra_info", "-a", args])
    if proc.returncode != 0:
        sys.exit("celerra_info failed: %s" % (proc.stdout[-2000:] + proc.stderr[-2000:]))
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["celerra-cs"]
    return seconds, len(result.get("commands", [])), result.get("connections")


def bench_info():
    for subset in (["all"], ["versions", "movers", "upgrade", "checkup"]):
        runs = [celerra_info(subset) for dummy in range(REPEAT)]
        times = [r[0] for r in runs]
        print("celerra_info gather_subset=%s: %d commands over %s SSH connection(s); ansible wall time "
              "median %.2f s (min %.2f, max %.2f, n=%d)"
              % (",".join(subset), runs[0][1], runs[0][2], statistics.median(times), min(times), max(times), len(runs)))


def bench_window():
    reset, seconds = run(["make", "--no-print-directory", "lab-reset"], env=dict(os.environ))
    if reset.returncode != 0:
        sys.exit("lab-reset failed:\n" + reset.stdout[-2000:] + reset.stderr[-2000:])
    print("lab reset: %.1f s" % seconds)
    reports = tempfile.mkdtemp(prefix="mailops-bench-")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), MAILOPS_REPORT_DIR=reports)
    proc, seconds = run([str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/maintenance.yml"], env=env)
    if proc.returncode != 0:
        sys.exit("the window failed:\n" + proc.stdout[-3000:])
    report = json.loads(pathlib.Path(reports, "latest.json").read_text())
    scale = report["time_scale"]
    planned = report["critical_path"]["planned_minutes"]
    planned_seconds = planned * 60 * scale
    window = report["window"]["real_seconds"]
    downtime = report["mail_downtime"]
    print("window run (ansible-playbook, preflight to report): %.1f s" % seconds)
    print("window (first phase after backup to the end): %.1f s real; plan's critical path %.0f min = %.1f s at "
          "time scale %s; overhead ratio %.2f" % (window, planned, planned_seconds, scale, window / planned_seconds))
    print("mail downtime (stop_mail start to test_mail end): %.1f s real = %.0f plan minutes at this scale"
          % (downtime["real_seconds"], downtime["minutes"]))
    for phase in report["phases"]:
        if phase["real_seconds"] is not None:
            print("  %-26s %-9s %6.1f s real  %6.1f of %5.1f plan min"
                  % (phase["name"], phase["state"], phase["real_seconds"], phase["minutes"], phase["budget_minutes"]))


if __name__ == "__main__":
    bench_info()
    bench_window()
