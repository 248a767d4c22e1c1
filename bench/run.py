"""Benchmarks against the running lab (numbers for notes, never assertions).

1. celerra_info: SSH connections, CLI commands (round trips) and wall time of one full gather,
   repeated; and of the smallest gather the preflight uses.
2. The whole window from the lab's starting state (one run of playbooks/maintenance.yml), read from the
   window's own report (``figures()`` computes, ``print_figures()`` prints):
   - the window's real seconds (first phase after the backup to the last phase's end);
   - the simulated seconds of the lab fakes' work on the critical path: the fakes simulate durations
     only for the Celerra jobs (SIMULATED_PLAN_MINUTES below, at the run's time scale);
   - the overhead (real minus simulated) and the ratio real / simulated;
   - per phase: real seconds, simulated seconds and overhead; a phase off the critical path (one that
     runs in a parallel lane, such as patch_cpms next to upgrade_control_station) is marked so, and the
     phases before the window (preflight, backup) too;
   - the mail downtime: its real seconds, its overhead (real minus the simulated seconds of the phases
     inside it) and the projected downtime at a real site (that overhead plus the simulated plan
     minutes at time scale 1), next to the plan's planned downtime.
3. A second run of the window right after (a re-run with nothing to do): its seconds, and whether its
   output has a budget warning.
4. The dry run (`ansible-playbook ... playbooks/maintenance.yml --check`) after that: its seconds.

Usage: make bench   (brings the lab up first; resets it before the window run)
  BENCH_REPEAT=N         celerra_info gathers per subset (default 5)
  BENCH_STRATEGY=online  adds `-e window_strategy=online` to the window's runs (both runs and the dry run)

The figures of a stored report, without the lab:
  python -c 'import runpy, json; b = runpy.run_path("bench/run.py"); r = json.load(open("reports/latest.json"));
             b["print_figures"](b["figures"](r, b["load_plan"](r["plan"]["id"])))'
"""

import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
# The window report callback stays enabled (an empty ANSIBLE_CALLBACKS_ENABLED is an error in current
# ansible-core); it writes nothing for a run that declares no window plan.
# `ansible` (ad hoc) uses the stdout callback only with ANSIBLE_LOAD_CALLBACK_PLUGINS set.
ENV = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
           ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
STRATEGY = os.environ.get("BENCH_STRATEGY", "")

# Plan minutes of the work the lab's fakes simulate, per plan id, then per phase id: only the Celerra
# jobs a phase waits for take simulated time (plan minutes x 60 x time_scale seconds,
# docs/celerra-cli.md, "Durations" and "Data mover upgrade"). CPMS work (stop, start, patch), NFS mounts
# and share moves are not simulated: they take real time only, so their phases are not listed (0).
# - Control Station upgrade 25 min; its rollback 30 min (counted only when the rollback ran).
# - Data movers: 60 min for all of them, one at a time (60 / number of movers each: install 26 min and
#   reboot 4 min with the lab's two movers).
# - A `server_cpu` reboot of one mover: 4 min.
SIMULATED_PLAN_MINUTES = {
    "celerra_cpms": {
        "upgrade_control_station": 25,
        "rollback_control_station": 30,
        "upgrade_data_movers": 60,
    },
    # The plan of the online strategy (window_strategy=online): the same Celerra jobs (the movers' 60
    # minutes are the fake's, whatever the phase's budget); its rollback is the same 30-minute job.
    "celerra_cpms_online": {
        "upgrade_control_station": 25,
        "rollback_control_station": 30,
        "upgrade_data_movers": 60,
    },
    # reboot_mover: one `server_cpu` reboot.
    "mover_service": {
        "reboot_mover": 4,
    },
    # restore_mail's storage phase waits for whatever the state holds (the rest of a running upgrade, a
    # rollback, mover reboots): no fixed figure, so 0 here and the overhead it shows is an upper bound.
    "restore_mail": {},
    # CPMS only: nothing simulated.
    "cpms_patch_rolling": {},
}

# The warnings the window prints when it goes over budget (plugins/plugin_utils/_tracker.py, given through
# the window_report callback as `[WARNING]: ...`): a phase past its budget, and a remaining plan that no
# longer fits in the window or the contingency.
BUDGET_WARNINGS = ("overran its budget", "the remaining plan no longer fits in the")

# Phase states whose work did not happen.
NOT_RUN_STATES = ("not_run", "skipped")


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


def load_plan(plan_id):
    """The window_plan dict of playbooks/plans/<plan_id>.yml (its texts untemplated), or None without that file."""
    path = ROOT / "playbooks" / "plans" / ("%s.yml" % plan_id)
    if not path.is_file():
        return None
    return yaml.safe_load(path.read_text(encoding="utf-8"))["window_plan"]


def _ran(phase):
    """Whether a report's phase did its work (a phase that ran records its real seconds)."""
    return phase.get("real_seconds") is not None and phase.get("state") not in NOT_RUN_STATES


def _longest_path(nodes, preds, weight):
    """The heaviest path through `nodes` (ids in plan order) along `preds` (id -> ids it waits for).

    Returns (weight, [ids in order]); on a tie the earlier node in plan order wins.
    """
    best = {}

    def visit(node):
        if node not in best:
            total, path = 0.0, []
            for pred in preds.get(node, ()):
                if pred in nodes:
                    candidate = visit(pred)
                    if candidate[0] > total or not path:
                        total, path = candidate
            best[node] = (total + weight(node), path + [node])
        return best[node]

    result = (0.0, [])
    for node in nodes:
        candidate = visit(node)
        if candidate[0] > result[0] or not result[1]:
            result = candidate
    return result


def figures(report, plan=None):
    """The bench's figures of one window report (a dict), with the plan's window_plan dict.

    Without a plan, the plan as declared in the report (report["plan"]["source"]) is used. Returns a dict;
    seconds are real seconds at the run's time scale unless the name says otherwise.
    """
    if plan is None:
        plan = report["plan"]["source"]
    plan_id = report["plan"]["id"]
    scale = float(report["time_scale"])
    known = plan_id in SIMULATED_PLAN_MINUTES
    table = SIMULATED_PLAN_MINUTES.get(plan_id, {})
    by_name = {phase["name"]: phase for phase in report["phases"]}
    plan_phases = plan["phases"]
    order = [phase["id"] for phase in plan_phases]
    before = {phase["id"] for phase in plan_phases if phase.get("before_downtime")}
    rollback_of = {phase["id"]: phase["rollback_of"] for phase in plan_phases if phase.get("rollback_of")}
    preds = {phase["id"]: list(phase.get("after") or []) for phase in plan_phases}

    def ran(phase_id):
        return phase_id in by_name and _ran(by_name[phase_id])

    def sim_minutes(phase_id):
        return float(table.get(phase_id, 0)) if ran(phase_id) else 0.0

    def with_rollbacks(phase_id, minutes):
        """A phase's minutes plus those of its rollbacks that ran (a rollback extends the phase it rolls back)."""
        return minutes(phase_id) + sum(minutes(rb) for rb, target in rollback_of.items() if target == phase_id and ran(rb))

    def budget(phase_id):
        return float(next(p for p in plan_phases if p["id"] == phase_id).get("budget_minutes") or 0)

    def insert_rollbacks(path):
        out = []
        for phase_id in path:
            out.append(phase_id)
            out.extend(rb for rb in order if rollback_of.get(rb) == phase_id and ran(rb))
        return out

    # The critical path: the report's when it has one, else the longest path of budgets through `after:`.
    window_nodes = [p for p in order if p not in before and p not in rollback_of]
    critical = (report.get("critical_path") or {}).get("phases")
    if critical:
        critical_source = "report"
    else:
        critical_source = "plan"
        critical = insert_rollbacks(_longest_path(window_nodes, preds, lambda p: with_rollbacks(p, budget))[1])
    critical_set = set(critical)

    real = float(report["window"]["real_seconds"])
    sim_min = sum(sim_minutes(p) for p in critical)
    sim_sec = sim_min * 60 * scale
    critical_real = sum(float(by_name[p]["real_seconds"]) for p in critical if p in by_name and by_name[p].get("real_seconds") is not None)

    phases = []
    for phase in report["phases"]:
        if phase.get("real_seconds") is None:
            continue
        name = phase["name"]
        if name in before or phase.get("kind") == "before_downtime":
            role = "before_window"
        elif name in critical_set:
            role = "critical"
        else:
            role = "parallel"
        minutes = sim_minutes(name)
        seconds = minutes * 60 * scale
        phases.append({
            "id": name,
            "lane": phase.get("lane"),
            "state": phase.get("state"),
            "runs": phase.get("runs"),
            "role": role,
            "real_seconds": float(phase["real_seconds"]),
            "minutes": phase.get("minutes"),
            "budget_minutes": phase.get("budget_minutes"),
            "simulated_plan_minutes": minutes,
            "simulated_seconds": seconds,
            "overhead_seconds": float(phase["real_seconds"]) - seconds,
        })

    fig = {
        "plan_id": plan_id,
        "time_scale": scale,
        "simulated_table_known": known,
        "window_real_seconds": real,
        "critical_path": list(critical),
        "critical_path_source": critical_source,
        "critical_path_planned_minutes": (report.get("critical_path") or {}).get("planned_minutes"),
        "simulated_plan_minutes": sim_min,
        "simulated_seconds": sim_sec,
        "overhead_seconds": real - sim_sec,
        "ratio": real / sim_sec if sim_sec else None,
        "critical_path_phases_real_seconds": critical_real,
        "between_critical_phases_seconds": real - critical_real,
        "phases": phases,
        "mail_downtime": None,
    }

    downtime = report.get("mail_downtime")
    span = plan.get("downtime") or {}
    if downtime and downtime.get("real_seconds") is not None and span.get("from") and span.get("to"):
        start, end = span["from"], span["to"]
        succ = {}
        for phase_id, waits_for in preds.items():
            for pred in waits_for:
                succ.setdefault(pred, []).append(phase_id)

        def reach(origin, edges):
            seen, todo = {origin}, [origin]
            while todo:
                for nxt in edges.get(todo.pop(), ()):
                    if nxt not in seen and nxt not in rollback_of:
                        seen.add(nxt)
                        todo.append(nxt)
            return seen

        inside = reach(start, succ) & reach(end, preds)
        inside_nodes = [p for p in order if p in inside]
        # The simulated work the downtime waits for: the heaviest simulated path from its first phase to its
        # last (the sum of the simulated phases inside it, as no two of them run side by side in these plans).
        dt_sim_min = _longest_path(inside_nodes, preds, lambda p: with_rollbacks(p, sim_minutes))[0]
        dt_sim_sec = dt_sim_min * 60 * scale
        dt_real = float(downtime["real_seconds"])
        dt_overhead = dt_real - dt_sim_sec
        planned = _longest_path(inside_nodes, preds, lambda p: with_rollbacks(p, budget))[0]
        fig["mail_downtime"] = {
            "from": start,
            "to": end,
            "phases": insert_rollbacks(inside_nodes),
            "real_seconds": dt_real,
            "complete": downtime.get("complete"),
            "carried_from": downtime.get("carried_from"),
            "simulated_plan_minutes": dt_sim_min,
            "simulated_seconds": dt_sim_sec,
            "overhead_seconds": dt_overhead,
            "projected_minutes": (dt_overhead + dt_sim_min * 60) / 60,
            "planned_minutes": planned,
        }
    return fig


def print_figures(fig):
    """Print figures() as lines for notes."""
    scale = fig["time_scale"]
    print("window %s (time scale %s): %.1f s real" % (fig["plan_id"], scale, fig["window_real_seconds"]))
    if not fig["simulated_table_known"]:
        print("  (no simulated durations are known for plan %s: everything counts as overhead)" % fig["plan_id"])
    print("  critical path (%s): %s" % ("from the report" if fig["critical_path_source"] == "report"
                                        else "from the plan's after: graph", " -> ".join(fig["critical_path"])))
    if fig["critical_path_planned_minutes"] is not None:
        print("  critical path planned: %.0f plan min = %.1f s at this scale"
              % (fig["critical_path_planned_minutes"], fig["critical_path_planned_minutes"] * 60 * scale))
    print("  simulated (the fakes' Celerra jobs on the critical path): %.0f plan min = %.1f s"
          % (fig["simulated_plan_minutes"], fig["simulated_seconds"]))
    print("  overhead (real - simulated): %.1f s" % fig["overhead_seconds"])
    print("  ratio real / simulated: %s" % ("%.2f" % fig["ratio"] if fig["ratio"] is not None else "n/a (nothing simulated)"))
    between = fig["between_critical_phases_seconds"]
    print("  critical path's phases: %.1f s real; between them (outside any critical phase): %.1f s"
          % (fig["critical_path_phases_real_seconds"], between if abs(between) >= 0.05 else 0.0))
    print("  per phase:                  state        real s   sim s  overhead s   plan min (budget)")
    marks = {"critical": "", "parallel": "  (parallel, off the critical path)", "before_window": "  (before the window)"}
    for phase in fig["phases"]:
        budget = phase["budget_minutes"]
        print("    %-26s %-11s %7.1f %7.1f %11.1f %8s (%s)%s"
              % (phase["id"], phase["state"], phase["real_seconds"], phase["simulated_seconds"],
                 phase["overhead_seconds"], "%.1f" % phase["minutes"] if phase["minutes"] is not None else "-",
                 "%g" % budget if budget is not None else "-", marks[phase["role"]]))
    downtime = fig["mail_downtime"]
    if downtime is None:
        print("  mail downtime: none (the plan declares none, or the report has none)")
        return
    notes = []
    if not downtime["complete"]:
        notes.append("incomplete")
    if downtime["carried_from"]:
        notes.append("counted from stopped run %s" % downtime["carried_from"].get("run_id"))
    print("  mail downtime (%s start to %s end): %.1f s real%s; simulated %.0f plan min = %.1f s; overhead %.1f s"
          % (downtime["from"], downtime["to"], downtime["real_seconds"], " (%s)" % ", ".join(notes) if notes else "",
             downtime["simulated_plan_minutes"], downtime["simulated_seconds"], downtime["overhead_seconds"]))
    print("  projected mail downtime at a real site (overhead + %.0f simulated plan min at scale 1): %.1f min; "
          "planned: %.0f min" % (downtime["simulated_plan_minutes"], downtime["projected_minutes"], downtime["planned_minutes"]))


def budget_warned(text):
    """Whether a run's output holds a budget warning (whitespace folded: Ansible wraps long warnings)."""
    flat = " ".join(text.split())
    return any(warning in flat for warning in BUDGET_WARNINGS)


def bench_window():
    reset, seconds = run(["make", "--no-print-directory", "lab-reset"], env=dict(os.environ))
    if reset.returncode != 0:
        sys.exit("lab-reset failed:\n" + reset.stdout[-2000:] + reset.stderr[-2000:])
    print("lab reset: %.1f s" % seconds)
    reports = tempfile.mkdtemp(prefix="mailops-bench-")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), MAILOPS_REPORT_DIR=reports)
    window = [str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/maintenance.yml"]
    if STRATEGY:
        window += ["-e", "window_strategy=%s" % STRATEGY]
        print("window strategy: %s" % STRATEGY)
    proc, seconds = run(window, env=env)
    if proc.returncode != 0:
        sys.exit("the window failed:\n" + proc.stdout[-3000:])
    report = json.loads(pathlib.Path(reports, "latest.json").read_text(encoding="utf-8"))
    print("window run (ansible-playbook, preflight to report): %.1f s" % seconds)
    print_figures(figures(report, load_plan(report["plan"]["id"])))

    # Warnings go to stderr: both streams are searched.
    proc, seconds = run(window, env=env)
    print("second window run (nothing left to do): %.1f s%s; budget warning in its output: %s"
          % (seconds, "" if proc.returncode == 0 else " (failed, exit %d)" % proc.returncode,
             "yes" if budget_warned(proc.stdout + "\n" + proc.stderr) else "no"))

    proc, seconds = run(window + ["--check"], env=env)
    print("dry run (ansible-playbook --check): %.1f s%s"
          % (seconds, "" if proc.returncode == 0 else " (failed, exit %d)" % proc.returncode))


if __name__ == "__main__":
    bench_info()
    bench_window()
